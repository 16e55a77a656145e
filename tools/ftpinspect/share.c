/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * share.c - --share, --sensor, --share-wait and --events-to: the Redis store the engine shares
 * with other sensors, and the Redis stream every JSON line also goes to (standard output is
 * teed: the stream gets exactly stdout's lines). Warnings name the URL without its password,
 * once per URL; the counters go to --stats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The stream's copy of standard output, line by line (fopencookie: every writer of a->fp). */
struct tee {
	FILE *out;
	ftpi_share_stream *s;
	char *line;
	size_t len, cap;
};

static ssize_t tee_write(void *cookie, const char *buf, size_t n)
{
	struct tee *t = cookie;
	if (fwrite(buf, 1, n, t->out) != n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			ftpi_share_stream_add(t->s, t->line, t->len);
			t->len = 0;
			continue;
		}
		if (t->len == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 4096;
			char *p = nc <= (1u << 24) ? realloc(t->line, nc) : NULL;
			if (p == NULL)
				continue; /* a line over 16 MiB: cut (never happens with our events) */
			t->line = p;
			t->cap = nc;
		}
		t->line[t->len++] = buf[i];
	}
	return (ssize_t)n;
}

static int tee_close(void *cookie)
{
	struct tee *t = cookie;
	if (t->len)
		ftpi_share_stream_add(t->s, t->line, t->len);
	int rc = fflush(t->out);
	free(t->line);
	free(t);
	return rc;
}

/* Whether the string can be shown to people: the URL without its password. */
static void display(const char *url, char *buf, size_t n)
{
	ftpi_share_url_display(url, buf, n);
}

static void default_sensor(char *buf, size_t n)
{
	char h[256];
	size_t k = 0;
	if (gethostname(h, sizeof h) != 0)
		h[0] = 0;
	h[sizeof h - 1] = 0;
	for (const char *p = h; *p && k + 1 < n && k < 48; p++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
			buf[k++] = *p;
	if (k == 0)
		k = (size_t)snprintf(buf, n, "sensor");
	buf[k] = 0;
}

int cli_share_open(struct app *a, const struct cli_opts *o, struct ftpi_config *cfg, char *err,
		   size_t n)
{
	char disp[300];
	int st;
	if (o->share_url != NULL) {
		struct ftpi_share_config sc;
		display(o->share_url, disp, sizeof disp);
		ftpi_share_config_init(&sc);
		sc.url = o->share_url;
		default_sensor(a->sensor, sizeof a->sensor);
		if (o->sensor)
			snprintf(a->sensor, sizeof a->sensor, "%s", o->sensor);
		sc.sensor = a->sensor;
		if (o->share_wait_set)
			sc.wait_us = o->share_wait_ms * 1000u;
		sc.timeout_expect = cfg->timeout_expect;
		/* with --workers, the workers' in-process store too (workers.c takes it) */
		unsigned engines = o->workers > 1 ? o->workers : 1;
		a->share = ftpi_expect_store_new_shared(
			&sc, engines > 1 ? cfg->max_expectations : 0, engines,
			engines > 1 && o->iface ? CLI_WORKERS_LIVE_WAIT_US : 0, &st);
		if (a->share == NULL) {
			snprintf(err, n, "--share %s: %s", disp,
				 st == FTPI_E_UNSUPPORTED
					 ? "not available (built without hiredis)"
				 : st == FTPI_E_INVAL
					 ? "expected redis://[USER:PASS@]HOST:PORT[/DB] or rediss://"
					   "...[?ssl_ca_certs=FILE&...] (docs/sensors.md)"
						      : ftpi_strerror(st));
			return -1;
		}
		cfg->expect_store = a->share;
		cfg->engine_index = 0;
	}
	if (o->events_to != NULL) {
		display(o->events_to, disp, sizeof disp);
		if (o->format != CLI_FMT_JSON) {
			snprintf(err, n, "--events-to needs --format json");
			return -1;
		}
		a->events = ftpi_share_stream_new(o->events_to, o->events_maxlen, 0, 0, &st);
		if (a->events == NULL) {
			snprintf(err, n, "--events-to %s: %s", disp,
				 st == FTPI_E_UNSUPPORTED ? "not available (built without hiredis)"
				 : st == FTPI_E_INVAL
					 ? "expected redis[s]://[USER:PASS@]HOST:PORT/STREAM[?...]"
							  : ftpi_strerror(st));
			return -1;
		}
		struct tee *t = calloc(1, sizeof *t);
		cookie_io_functions_t io = {NULL, tee_write, NULL, tee_close};
		FILE *f = t ? fopencookie(t, "w", io) : NULL;
		if (f == NULL) {
			free(t);
			snprintf(err, n, "out of memory");
			return -1;
		}
		t->out = a->fp;
		t->s = a->events;
		if (o->line_buffered)
			setvbuf(f, NULL, _IOLBF, BUFSIZ);
		a->fp_real = a->fp;
		a->fp = f;
	}
	return 0;
}

/* One warning per URL, the first time something failed. */
void cli_share_check(struct app *a)
{
	struct ftpi_share_stats s;
	char e[400];
	if (a->share && !a->share_warned &&
	    ftpi_share_stats_get(a->share, &s, sizeof s, NULL, 0) == FTPI_OK && s.errors &&
	    ftpi_share_stats_get(a->share, &s, sizeof s, e, sizeof e) == FTPI_OK) {
		a->share_warned = 1;
		fprintf(stderr,
			"ftpinspect: warning: --share %s; inspection goes on locally, losses are "
			"counted (share_* in --stats)\n",
			e);
	}
	if (a->events && !a->events_warned &&
	    ftpi_share_stream_stats(a->events, &s, sizeof s, e, sizeof e) == FTPI_OK &&
	    (s.errors || s.stream_dropped)) {
		a->events_warned = 1;
		fprintf(stderr,
			"ftpinspect: warning: --events-to %s; events that could not be sent are "
			"counted (events_* in --stats)\n",
			e[0] ? e : "queue full");
	}
}

/* The counters, as name/value pairs for the stats writers; n filled. */
size_t cli_share_counters(struct app *a, const char *names[16], uint64_t values[16])
{
	struct ftpi_share_stats s;
	size_t k = 0;
	if (a->share && ftpi_share_stats_get(a->share, &s, sizeof s, NULL, 0) == FTPI_OK) {
		const char *nm[] = {"share_connected",	     "share_errors",
				    "share_reconnects",	     "share_published",
				    "share_lookups",	     "share_claims",
				    "share_claim_lost",	     "share_pending_dropped",
				    "share_queue_full",	     "share_withheld",
				    "share_remote_claimed"};
		uint64_t v[] = {s.connected,	   s.errors,	 s.reconnects,
				s.published,	   s.lookups,	 s.claims,
				s.claim_lost,	   s.pending_dropped, s.queue_full,
				s.withheld,	   s.remote_claimed};
		for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
			names[k] = nm[i];
			values[k++] = v[i];
		}
	}
	if (a->events && ftpi_share_stream_stats(a->events, &s, sizeof s, NULL, 0) == FTPI_OK) {
		names[k] = "events_sent";
		values[k++] = s.stream_events;
		names[k] = "events_dropped";
		values[k++] = s.stream_dropped;
		names[k] = "events_errors";
		values[k++] = s.errors;
	}
	return k;
}

/* Before the stats: the stream gets what was written so far (bounded wait). */
void cli_share_drain(struct app *a)
{
	if (a->events == NULL)
		return;
	fflush(a->fp);
	ftpi_share_stream_drain(a->events, 5000000);
}

void cli_share_close(struct app *a)
{
	if (a->events != NULL) {
		fflush(a->fp);
		ftpi_share_stream_drain(a->events, 5000000);
		cli_share_check(a);
		fclose(a->fp); /* the tee: flushes the real output, which stays open */
		a->fp = a->fp_real;
		ftpi_share_stream_free(a->events);
		a->events = NULL;
	}
	cli_share_check(a);
}

/* After every engine of the store is gone. */
void cli_share_free(struct app *a)
{
	ftpi_expect_store_free(a->share);
	a->share = NULL;
}
