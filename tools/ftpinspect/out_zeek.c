/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * out_zeek.c - `--format zeek`: an ftp.log in Zeek's TSV log format (the #separator, #fields and
 * #types header lines, `-` for unset and `(empty)` for empty fields), so existing Zeek tooling
 * (zeek-cut, SIEM parsers) reads it. Like Zeek's base/protocols/ftp, one row per command/reply
 * pair for the commands Zeek logs by default (FTP::logged_commands: APPE DELE RETR STOR STOU
 * ACCT PORT PASV EPRT EPSV); the other commands still take their place in the per-session
 * command queue so replies pair up. The engine's COMMAND, REPLY and EXPECT events are enabled
 * for this format internally. Findings are not written here (use --format json for them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define Z_MAX_SESSIONS 4096
#define Z_QUEUE	       16
#define Z_ARG_MAX      512
#define Z_USER_MAX     Z_ARG_MAX

struct z_dc {
	int set;
	int passive;
	struct ftpi_addr orig, resp;
	uint16_t resp_p;
};

struct z_cmd {
	uint64_t ts_us;
	uint64_t frame;
	char verb[16];
	char arg[Z_ARG_MAX];
	int logged;
	int has_size;
	uint64_t size;
};

struct z_row {
	struct z_cmd cmd;
	unsigned code;
	char msg[Z_ARG_MAX];
	struct z_dc dc;
};

struct z_sess {
	uint64_t id;
	struct ftpi_endpoint client, server;
	char user[Z_USER_MAX];
	char password[Z_USER_MAX];
	int has_password;
	struct z_cmd q[Z_QUEUE];
	size_t head, n;
	struct z_row held; /* a data-channel row waiting for its EXPECT event */
	int has_held;
	struct z_dc last_dc; /* an EXPECT seen before its reply */
	uint64_t last_dc_frame;
};

struct z_state {
	struct z_sess *s[Z_MAX_SESSIONS];
	size_t n;
};

static const char *const logged_commands[] = {"APPE", "DELE", "RETR", "STOR", "STOU",
					      "ACCT", "PORT", "PASV", "EPRT", "EPSV"};

static int is_logged(const char *verb)
{
	for (size_t i = 0; i < sizeof logged_commands / sizeof logged_commands[0]; i++)
		if (strcmp(verb, logged_commands[i]) == 0)
			return 1;
	return 0;
}

static int is_dc_verb(const char *verb)
{
	return strcmp(verb, "PASV") == 0 || strcmp(verb, "EPSV") == 0 ||
	       strcmp(verb, "PORT") == 0 || strcmp(verb, "EPRT") == 0;
}

static void uid(char *buf, size_t buflen, uint64_t id)
{
	static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	char tmp[16];
	size_t n = 0;

	do {
		tmp[n++] = b62[id % 62];
		id /= 62;
	} while (id > 0 && n < sizeof tmp);
	if (buflen < n + 2)
		return;
	buf[0] = 'C';
	for (size_t i = 0; i < n; i++)
		buf[1 + i] = tmp[n - 1 - i];
	buf[n + 1] = '\0';
}

static void now_stamp(char *buf, size_t buflen)
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, buflen, "%Y-%m-%d-%H-%M-%S", &tm) == 0)
		snprintf(buf, buflen, "-");
}

static int zeek_begin(struct app *a)
{
	char stamp[32];

	a->fmt = calloc(1, sizeof(struct z_state));
	if (a->fmt == NULL) {
		fputs("ftpinspect: out of memory\n", stderr);
		return -1;
	}
	now_stamp(stamp, sizeof stamp);
	fprintf(a->fp,
		"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
		"#path\tftp\n#open\t%s\n",
		stamp);
	fputs("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tuser\tpassword\t"
	      "command\targ\tmime_type\tfile_size\treply_code\treply_msg\tdata_channel.passive\t"
	      "data_channel.orig_h\tdata_channel.resp_h\tdata_channel.resp_p\tfuid\n",
	      a->fp);
	fputs("#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\t"
	      "string\tcount\tcount\tstring\tbool\taddr\taddr\tport\tstring\n",
	      a->fp);
	return 0;
}

static const char *field(const char *s)
{
	return s[0] ? s : "(empty)";
}

static void write_row(struct app *a, const struct z_sess *s, const struct z_row *r, int has_reply)
{
	char ts[40], u[24], ch[64], sh[64], oh[64], rh[64];

	uid(u, sizeof u, s->id);
	ftpi_addr_format(&s->client.addr, ch, sizeof ch);
	ftpi_addr_format(&s->server.addr, sh, sizeof sh);
	fprintf(a->fp, "%s\t%s\t%s\t%u\t%s\t%u\t%s\t%s\t%s\t%s\t-\t",
		cli_time(ts, sizeof ts, r->cmd.ts_us), u, ch, s->client.port, sh, s->server.port,
		s->user[0] ? s->user : "<unknown>", s->has_password ? field(s->password) : "-",
		r->cmd.verb, r->cmd.arg[0] ? r->cmd.arg : "-");
	if (r->cmd.has_size)
		fprintf(a->fp, "%llu\t", (unsigned long long)r->cmd.size);
	else
		fputs("-\t", a->fp);
	if (has_reply)
		fprintf(a->fp, "%u\t%s\t", r->code, field(r->msg));
	else
		fputs("-\t-\t", a->fp);
	if (r->dc.set) {
		ftpi_addr_format(&r->dc.orig, oh, sizeof oh);
		ftpi_addr_format(&r->dc.resp, rh, sizeof rh);
		fprintf(a->fp, "%s\t%s\t%s\t%u\t-\n", r->dc.passive ? "T" : "F", oh, rh,
			r->dc.resp_p);
	} else {
		fputs("-\t-\t-\t-\t-\n", a->fp);
	}
}

static void flush_held(struct app *a, struct z_sess *s)
{
	if (s->has_held) {
		write_row(a, s, &s->held, 1);
		s->has_held = 0;
	}
}

static struct z_sess *find(struct z_state *z, const struct ftpi_event *ev, int create)
{
	struct z_sess *s;

	for (size_t i = 0; i < z->n; i++)
		if (z->s[i]->id == ev->session_id)
			return z->s[i];
	if (!create || z->n >= Z_MAX_SESSIONS)
		return NULL;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->id = ev->session_id;
	s->client = ev->client;
	s->server = ev->server;
	z->s[z->n++] = s;
	return s;
}

static void end_session(struct app *a, struct z_state *z, struct z_sess *s)
{
	flush_held(a, s);
	/* Commands never answered: logged without a reply, as Zeek does at connection end. */
	for (; s->n > 0; s->n--, s->head = (s->head + 1) % Z_QUEUE) {
		struct z_row r;
		memset(&r, 0, sizeof r);
		r.cmd = s->q[s->head];
		if (r.cmd.logged)
			write_row(a, s, &r, 0);
	}
	for (size_t i = 0; i < z->n; i++) {
		if (z->s[i] == s) {
			z->s[i] = z->s[--z->n];
			break;
		}
	}
	free(s);
}

/* "(1048576 bytes)" in a 150 reply: the file size, bounded parse. */
static int parse_size(const char *text, uint64_t *out)
{
	const char *p = strchr(text, '(');
	uint64_t v = 0;
	int digits = 0;

	if (p == NULL)
		return -1;
	for (p++; *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (digits == 0 || strncmp(p, " bytes)", 7) != 0)
		return -1;
	*out = v;
	return 0;
}

static void on_command(struct app *a, struct z_sess *s, const struct ftpi_event *ev)
{
	struct z_cmd *c;

	flush_held(a, s);
	if (s->n == Z_QUEUE) {
		/* Queue full (pipelining without replies): the oldest goes out unanswered. */
		struct z_row r;
		memset(&r, 0, sizeof r);
		r.cmd = s->q[s->head];
		if (r.cmd.logged)
			write_row(a, s, &r, 0);
		s->head = (s->head + 1) % Z_QUEUE;
		s->n--;
	}
	c = &s->q[(s->head + s->n) % Z_QUEUE];
	memset(c, 0, sizeof *c);
	c->ts_us = ev->ts_us;
	c->frame = ev->frame;
	cli_esc(c->verb, sizeof c->verb, ev->u.command.verb);
	cli_esc(c->arg, sizeof c->arg, ev->u.command.arg);
	c->logged = is_logged(c->verb);
	s->n++;
	if (strcmp(c->verb, "USER") == 0) {
		snprintf(s->user, sizeof s->user, "%s", c->arg);
	} else if (strcmp(c->verb, "PASS") == 0) {
		s->has_password = 1;
		snprintf(s->password, sizeof s->password, "%s",
			 a->o->show_passwords ? c->arg : "<hidden>");
		if (!a->o->show_passwords)
			snprintf(c->arg, sizeof c->arg, "<hidden>");
	}
}

static void on_reply(struct app *a, struct z_sess *s, const struct ftpi_event *ev)
{
	struct z_row r;
	unsigned code = ev->u.reply.code;

	flush_held(a, s);
	if (s->n == 0)
		return; /* greeting or unsolicited reply */
	if (code < 200) {
		struct z_cmd *c = &s->q[s->head];
		char text[Z_ARG_MAX];
		cli_esc(text, sizeof text, ev->u.reply.text);
		if (strcmp(c->verb, "RETR") == 0 && parse_size(text, &c->size) == 0)
			c->has_size = 1;
		return;
	}
	memset(&r, 0, sizeof r);
	r.cmd = s->q[s->head];
	s->head = (s->head + 1) % Z_QUEUE;
	s->n--;
	if (!r.cmd.logged)
		return;
	r.code = code;
	cli_esc(r.msg, sizeof r.msg, ev->u.reply.text);
	if (is_dc_verb(r.cmd.verb) && code < 300) {
		/* PORT/EPRT: the expectation came with the command; PASV/EPSV: with this reply,
		 * before it or (held below) after it. */
		if (s->last_dc.set && s->last_dc_frame >= r.cmd.frame) {
			r.dc = s->last_dc;
			s->last_dc.set = 0;
		} else {
			s->held = r;
			s->has_held = 1;
			return;
		}
	}
	write_row(a, s, &r, 1);
}

static void on_expect(struct app *a, struct z_sess *s, const struct ftpi_event *ev)
{
	const struct ftpi_expect_info *x = &ev->u.expect;
	struct z_dc dc;

	(void)a;
	memset(&dc, 0, sizeof dc);
	dc.set = 1;
	dc.passive = !x->active;
	dc.orig = x->active ? s->server.addr : s->client.addr;
	dc.resp = x->target.addr;
	dc.resp_p = x->target.port;
	if (s->has_held && !s->held.dc.set) {
		s->held.dc = dc;
		flush_held(a, s);
		return;
	}
	s->last_dc = dc;
	s->last_dc_frame = ev->frame;
}

static void zeek_event(struct app *a, const struct ftpi_event *ev)
{
	struct z_state *z = a->fmt;
	struct z_sess *s;

	switch (ev->type) {
	case FTPI_EV_COMMAND:
	case FTPI_EV_REPLY:
	case FTPI_EV_EXPECT:
		if (ev->session_id == 0)
			return;
		s = find(z, ev, 1);
		if (s == NULL)
			return;
		if (ev->type == FTPI_EV_COMMAND)
			on_command(a, s, ev);
		else if (ev->type == FTPI_EV_REPLY)
			on_reply(a, s, ev);
		else
			on_expect(a, s, ev);
		break;
	case FTPI_EV_SESSION_END:
		s = find(z, ev, 0);
		if (s != NULL)
			end_session(a, z, s);
		break;
	default:
		break;
	}
}

static void zeek_stats(struct app *a, const struct ftpi_stats *st, const struct cap_stats *cs)
{
	/* The log stays pure ftp.log: statistics go to stderr. */
	FILE *keep = a->fp;
	a->fp = stderr;
	out_text_ops.stats(a, st, cs);
	a->fp = keep;
}

static void zeek_summary(struct app *a)
{
	summary_print_text(a->sum, stderr, 0);
}

static void zeek_end(struct app *a)
{
	struct z_state *z = a->fmt;
	char stamp[32];

	if (z != NULL) {
		while (z->n > 0)
			end_session(a, z, z->s[z->n - 1]);
		free(z);
		a->fmt = NULL;
	}
	now_stamp(stamp, sizeof stamp);
	fprintf(a->fp, "#close\t%s\n", stamp);
}

const struct out_ops out_zeek_ops = {zeek_begin, zeek_event, zeek_stats, zeek_summary, zeek_end};
