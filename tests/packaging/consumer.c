/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * consumer.c - a program outside the project that uses an installed libftpinspect, the way an
 * integrator would: it only sees <ftpinspect.h> and links through find_package(ftpinspect) or
 * pkg-config (tests/packaging/). It checks that the header and the linked library agree on the
 * version, and runs one clear-text login through the stream entry point, which must give a
 * plaintext_auth finding. Exit 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include <ftpinspect.h>

struct seen {
	int plaintext_auth;
	int sessions;
};

static int on_event(void *user, const struct ftpi_event *ev)
{
	struct seen *s = user;

	if (ev->type == FTPI_EV_FINDING && ev->u.finding.kind == FTPI_FINDING_PLAINTEXT_AUTH)
		s->plaintext_auth++;
	if (ev->type == FTPI_EV_SESSION_END)
		s->sessions++;
	return 0;
}

static int send_line(ftpi_engine *e, uint64_t id, int dir, uint64_t ts, const char *line)
{
	return ftpi_stream_data(e, id, dir, ts, (const uint8_t *)line, strlen(line));
}

int main(void)
{
	static const char *const script[][2] = {
		{"s", "220 test server\r\n"}, {"c", "USER alice\r\n"},
		{"s", "331 password please\r\n"}, {"c", "PASS not-a-real-secret\r\n"},
		{"s", "230 logged in\r\n"}, {"c", "QUIT\r\n"}, {"s", "221 bye\r\n"},
	};
	struct ftpi_endpoint cli = {{4, {192, 0, 2, 10}}, 40000};
	struct ftpi_endpoint srv = {{4, {192, 0, 2, 21}}, 21};
	struct ftpi_config cfg;
	struct ftpi_stats st;
	struct seen seen = {0, 0};
	uint64_t id = 0, ts = 1700000000000000ull;
	int status = 0;
	ftpi_engine *e;

	if (ftpi_version() != FTPI_VERSION_NUM ||
	    strcmp(ftpi_version_string(), FTPI_VERSION_STRING) != 0) {
		fprintf(stderr, "header %s, library %s\n", FTPI_VERSION_STRING,
			ftpi_version_string());
		return 1;
	}
	ftpi_config_init(&cfg);
	cfg.on_event = on_event;
	cfg.user = &seen;
	e = ftpi_engine_new(&cfg, &status);
	if (e == NULL) {
		fprintf(stderr, "ftpi_engine_new: %s\n", ftpi_strerror(status));
		return 1;
	}
	if (ftpi_stream_open(e, &cli, &srv, ts, &id) != FTPI_OK)
		return 1;
	for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) {
		int dir = script[i][0][0] == 'c' ? FTPI_DIR_TO_SERVER : FTPI_DIR_TO_CLIENT;
		if (send_line(e, id, dir, ts += 1000, script[i][1]) != FTPI_OK)
			return 1;
	}
	if (ftpi_stream_close(e, id, ts + 1000) != FTPI_OK || ftpi_engine_flush(e) != FTPI_OK)
		return 1;
	if (ftpi_engine_stats(e, &st, sizeof st) != FTPI_OK)
		return 1;
	ftpi_engine_free(e);
	printf("libftpinspect %s: %d session, %d %s finding, %llu commands\n",
	       ftpi_version_string(), seen.sessions, seen.plaintext_auth,
	       ftpi_finding_name(FTPI_FINDING_PLAINTEXT_AUTH),
	       (unsigned long long)st.ftp_commands);
	return seen.sessions == 1 && seen.plaintext_auth == 1 && st.ftp_commands == 3 ? 0 : 1;
}
