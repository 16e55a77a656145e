/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - ftpinspect's driver: builds the engine from the options, reads every input in order
 * (files, or one live interface) through capture.c, feeds each packet to the engine, routes the
 * engine's events to the chosen output format, the --summary collector and the -w annotations,
 * and maps what happened to the exit status (0 ok, 1 runtime error, 2 usage, 3 --fail-on).
 * Signals stop the read loop; the engine is always flushed so nothing already seen is lost.
 * On live capture it also keeps the engine's clock going on a quiet link, flushes the output
 * after each batch, has drops.c watch the capture's drop counters, and reopens output files on
 * SIGHUP. A
 * closed output pipe ends the run quietly with status 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_FAIL_ON = 3 };

struct run {
	struct app *a;
	ftpi_engine *e;
	const struct cli_opts *o;
	struct cap *cap;
	struct workers *wk; /* --workers N > 1: engines on threads (e is NULL) */
	uint64_t fed;	      /* packets fed so far (for -c) */
	uint64_t first_ts_us; /* capture time of the first packet (for --duration on files) */
	int have_first;
	int done; /* -c or --duration reached */
	int linktype_warned[8];
	int write_failed;
	int out_closed; /* the reader of standard output went away: stop quietly */
	int out_failed; /* another write error on the event output */
	uint64_t truncated_inputs; /* savefiles that ended inside a record */

	/* Progress line. */
	int progress;
	const char *input_name;
	struct timespec t_start, t_last;
	int progress_shown;
};


/* Standard output's buffer when capture files write events to a file or a pipe: stdio's own is
 * the block size (4 KiB), a write() per 4 KiB of events (10,301 for the 42 MB of JSON of the
 * 2,000-in-flight corpus; 161 with this one). Live captures keep stdio's, -l and -U theirs. */
static char out_buf[256 << 10];

/*
 * The engines at the end of the run, once flushed: the process ends right after, and its memory
 * goes back whole. Freeing it object by object costs more than many a small capture's whole
 * analysis (nDPI's module alone is ~14 M instructions to take apart, and 100,000s of flows and
 * sessions at scale), so the engines stay, reachable from here as LeakSanitizer and valgrind
 * expect of memory kept to the end. Sanitizer builds free them (FTPI_CLI_FREE_AT_EXIT), so the
 * leak checker still sees every path give back what it took.
 */
#ifndef FTPI_CLI_FREE_AT_EXIT
/* volatile: stores to statics never read would otherwise be dropped */
static ftpi_engine *volatile kept_engine;
static struct workers *volatile kept_workers;
#endif

static void release_engines(struct run *r)
{
#ifdef FTPI_CLI_FREE_AT_EXIT
	ftpi_engine_free(r->e);
	workers_free(r->wk);
#else
	kept_engine = r->e;
	kept_workers = r->wk;
#endif
	r->e = NULL;
	r->wk = NULL;
}

int app_on_reopen(struct app *a, const char *name, app_reopen_fn fn, void *arg)
{
	if (a->n_reopen >= APP_MAX_REOPEN)
		return -1;
	a->reopen[a->n_reopen].fn = fn;
	a->reopen[a->n_reopen].arg = arg;
	a->reopen[a->n_reopen].name = name;
	a->n_reopen++;
	return 0;
}

static void reopen_all(struct app *a)
{
	char err[256];

	for (size_t i = 0; i < a->n_reopen; i++) {
		err[0] = '\0';
		if (a->reopen[i].fn(a, a->reopen[i].arg, err, sizeof err) != 0)
			fprintf(stderr, "ftpinspect: %s: cannot reopen: %s\n", a->reopen[i].name,
				err);
	}
}

static int reopen_pcapng(struct app *a, void *arg, char *err, size_t errlen)
{
	return pcapng_reopen(a->pcapng, (const char *)arg, err, errlen);
}

static int on_event(void *user, const struct ftpi_event *ev)
{
	struct app *a = user;
	struct ftpi_event amended;
	char msg[CLI_TEXT_MAX];

	if (a->drops != NULL) {
		drop_watch_expect(a->drops, ev);
		ev = drop_watch_amend(a->drops, ev, &amended, msg, sizeof msg);
	}
	if (ev->type == FTPI_EV_FINDING && ev->u.finding.severity > a->max_sev)
		a->max_sev = ev->u.finding.severity;
	if (a->sum != NULL)
		summary_event(a->sum, ev);
	if (a->pcapng != NULL)
		annot_event(&a->annot, &a->pc, a->frame, ev);
	a->data_mime = ev->type == FTPI_EV_DATA && a->ftype != NULL
			       ? filetype_mime(a->ftype, ev->u.data.head)
			       : NULL;
	/* The Zeek logs and the report have their own files (not sorted by --sort). */
	zeek_logs_event(a->zlogs, ev, a->data_mime);
	report_event(a->report, ev);
	if (a->sorted != NULL)
		return sort_event(a, ev);
	a->out->event(a, ev);
	return 0;
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void progress(struct run *r, int final)
{
	struct timespec now;
	long long pos, size;
	double t, rate;

	if (!r->progress || r->cap == NULL)
		return;
	if (final) {
		if (r->progress_shown)
			fputs("\r\033[K", stderr);
		r->progress_shown = 0;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed(&r->t_last, &now) < 0.25)
		return;
	r->t_last = now;
	pos = cap_file_pos(r->cap);
	size = cap_file_size(r->cap);
	if (pos < 0 || size <= 0)
		return;
	t = elapsed(&r->t_start, &now);
	rate = t > 0 ? (double)pos / t / 1e6 : 0;
	fprintf(stderr, "\r\033[Kftpinspect: %s: %.1f / %.1f MB (%d%%) %.1f MB/s", r->input_name,
		(double)pos / 1e6, (double)size / 1e6, (int)(pos * 100 / size), rate);
	r->progress_shown = 1;
}

/* Whether fd is a pipe or socket whose reader has gone (poll reports POLLERR/POLLHUP). */
static int reader_gone(int fd)
{
	struct pollfd pfd = {fd, 0, 0};
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP)) != 0;
}

/* -w failed (full disk): said once; the run stops and exits 1. `-w - | head -c N` stops
 * quietly instead, as with a closed event pipe. */
static void write_failed(struct run *r)
{
	if (r->write_failed || r->out_closed)
		return;
	r->done = 1;
	if (strcmp(r->o->write_file, "-") == 0 && reader_gone(1)) {
		r->out_closed = 1;
		return;
	}
	fprintf(stderr, "ftpinspect: %s: write error: %s\n",
		strcmp(r->o->write_file, "-") == 0 ? "(stdout)" : r->o->write_file,
		strerror(pcapng_errno(r->a->pcapng)));
	r->write_failed = 1;
	r->done = 1;
}

/* Checks the event output after a batch. A reader that went away (`| head -1`) stops the run
 * quietly; another error stops it with status 1. */
static void check_output(struct run *r, int flush)
{
	FILE *f = r->a->fp;

	if (r->out_closed || r->out_failed)
		return;
	if (flush)
		fflush(f);
	if (!ferror(f))
		return;
	if (reader_gone(fileno(f)))
		r->out_closed = 1;
	else
		r->out_failed = 1;
	r->done = 1;
}

static void on_packet(void *user, const struct ftpi_packet *pkt)
{
	struct run *r = user;
	struct app *a = r->a;
	int rc;

	if (r->done)
		return;
	if (!r->have_first) {
		r->have_first = 1;
		r->first_ts_us = pkt->ts_us;
	}
	if (r->o->duration_s > 0 && !cap_is_live(r->cap) &&
	    pkt->ts_us >= r->first_ts_us + r->o->duration_s * 1000000u) {
		r->done = 1;
		return;
	}
	a->frame++;
	if (a->pcapng != NULL)
		annot_begin(&a->annot, &a->pc, pkt);
	if (pkt->ts_us > a->last_ts_us)
		a->last_ts_us = pkt->ts_us;
	if (r->wk != NULL) {
		workers_feed(r->wk, pkt);
		rc = ftpi_linktype_supported(pkt->linktype) ? FTPI_OK : FTPI_E_LINKTYPE;
	} else {
		rc = ftpi_engine_feed(r->e, pkt);
	}
	if (rc == FTPI_E_LINKTYPE) {
		int slot = pkt->linktype >= 0 && pkt->linktype < 8 ? pkt->linktype : 7;
		if (!r->linktype_warned[slot]) {
			fprintf(stderr,
				"ftpinspect: %s: link type %d is not supported; packets skipped\n",
				r->input_name, pkt->linktype);
			r->linktype_warned[slot] = 1;
		}
	}
	if (a->pcapng != NULL && !r->write_failed && annot_write(a->pcapng, pkt, &a->pc) != 0)
		write_failed(r);
	if (r->o->packet_buffered) {
		fflush(a->fp);
		if (a->pcapng != NULL && !r->write_failed && pcapng_flush(a->pcapng) != 0)
			write_failed(r);
	}
	r->fed++;
	if (r->o->count > 0 && r->fed >= r->o->count)
		r->done = 1;
}

/* The capture's counters as tcpdump prints them at the end. */
static void print_cap_stats(const struct cap_stats *cs)
{
	fprintf(stderr,
		"ftpinspect: %llu packets received by filter, %llu dropped by kernel, %llu dropped "
		"by interface\n",
		(unsigned long long)cs->received, (unsigned long long)cs->dropped,
		(unsigned long long)cs->ifdropped);
}

/* -w: opens the pcapng output and registers it for SIGHUP. 0, or -1 (said on stderr). */
static int open_write(struct app *a, const struct cli_opts *o)
{
	char err[256];

	if (o->write_file == NULL)
		return 0;
	a->pcapng = pcapng_open(o->write_file, err, sizeof err);
	if (a->pcapng == NULL) {
		fprintf(stderr, "ftpinspect: -w %s: %s\n", o->write_file, err);
		return -1;
	}
	app_on_reopen(a, o->write_file, reopen_pcapng, (void *)o->write_file);
	return 0;
}

static int reopen_zeek(struct app *a, void *arg, char *err, size_t errlen)
{
	(void)arg;
	return zeek_logs_reopen(a->zlogs, err, errlen);
}

/* --log-dir: opens the Zeek logs and registers them for SIGHUP. 0, or -1 (said on stderr). */
static int open_log_dir(struct app *a, const struct cli_opts *o)
{
	char err[256];

	if (o->log_dir == NULL)
		return 0;
	a->zlogs = zeek_logs_open_dir(o, o->log_dir, err, sizeof err);
	if (a->zlogs == NULL) {
		fprintf(stderr, "ftpinspect: --log-dir %s: %s\n", o->log_dir, err);
		return -1;
	}
	app_on_reopen(a, o->log_dir, reopen_zeek, NULL);
	return 0;
}

static void print_stats_stderr(struct run *r)
{
	struct ftpi_stats st;
	struct cap_stats cs;

	memset(&st, 0, sizeof st);
	if (r->e == NULL)
		goto capture; /* workers: their counters are theirs until they are done */
	ftpi_engine_stats(r->e, &st, sizeof st);
	fprintf(stderr,
		"ftpinspect: %llu packets, %llu flows, %llu sessions, %llu data connections, "
		"%llu findings\n",
		(unsigned long long)st.packets, (unsigned long long)st.flows_created,
		(unsigned long long)st.sessions_created, (unsigned long long)st.data_connections,
		(unsigned long long)st.findings);
capture:
	if (r->cap != NULL && cap_is_live(r->cap) && cap_get_stats(r->cap, &cs) == 0)
		print_cap_stats(&cs);
}

/* A file option that cannot be read, or holds nothing, is a usage error naming the path: a
 * trust store that silently loads nothing would turn every certificate finding off. */
static int check_readable(const char *flag, const char *path, int want_dir)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | (want_dir ? O_DIRECTORY : 0));
	if (fd < 0 || fstat(fd, &sb) != 0) {
		fprintf(stderr, "ftpinspect: %s %s: cannot read: %s\n", flag, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (!want_dir && S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "ftpinspect: %s %s: is a directory\n", flag, path);
		return -1;
	}
	if (!want_dir && S_ISREG(sb.st_mode) && sb.st_size == 0) {
		fprintf(stderr, "ftpinspect: %s %s: empty file\n", flag, path);
		return -1;
	}
	return 0;
}

static int check_files(const struct cli_opts *o)
{
	for (size_t i = 0; i < o->n_inputs; i++)
		if (strcmp(o->inputs[i], "-") != 0 && check_readable("-r", o->inputs[i], 0) != 0)
			return -1;
	if (o->ca_file != NULL && check_readable("--ca-file", o->ca_file, 0) != 0)
		return -1;
	if (o->ca_dir != NULL && check_readable("--ca-dir", o->ca_dir, 1) != 0)
		return -1;
	return 0;
}

static int build_engine(struct run *r, struct app *a, const struct cli_opts *o, int *exit_code)
{
	struct ftpi_config cfg;
	char field[128];
	int status = 0;

	cli_engine_config(o, &cfg);
	a->user_mask = 0;
	if (o->verbose)
		a->user_mask |= FTPI_EVMASK_COMMANDS | FTPI_EVMASK_EXPECT | FTPI_EVMASK_ANOMALY;
	if (o->flows)
		a->user_mask |= FTPI_EVMASK_FLOWS;
	cfg.event_mask = a->user_mask;
	if (o->format == CLI_FMT_ZEEK || o->log_dir != NULL)
		cfg.event_mask |= FTPI_EVMASK_COMMANDS | FTPI_EVMASK_EXPECT;
	if (o->write_file != NULL || o->iface != NULL)
		cfg.event_mask |= FTPI_EVMASK_EXPECT; /* -w annotations; live: drop windows */
	cfg.on_event = on_event;
	cfg.user = a;
	{
		char err[400];
		if (cli_share_open(a, o, &cfg, err, sizeof err) != 0) {
			fprintf(stderr, "ftpinspect: %s\n", err);
			*exit_code = EXIT_USAGE;
			return -1;
		}
	}

	field[0] = '\0';
	status = ftpi_config_validate(&cfg, field, sizeof field);
	if (status == FTPI_E_INVAL &&
	    (strcmp(field, "ca_file") == 0 || strcmp(field, "ca_dir") == 0)) {
		int is_file = field[3] == 'f';
		fprintf(stderr, "ftpinspect: %s %s: holds no readable certificate\n",
			is_file ? "--ca-file" : "--ca-dir", is_file ? o->ca_file : o->ca_dir);
		*exit_code = EXIT_USAGE;
		return -1;
	}
	if (status != FTPI_OK) {
		fprintf(stderr, "ftpinspect: invalid setting%s%s: %s\n", field[0] ? " " : "", field,
			ftpi_strerror(status));
		*exit_code = EXIT_USAGE;
		return -1;
	}
	if (o->workers > 1) {
		char err[256];
		r->wk = workers_new(&cfg, o->workers, o->iface != NULL, err, sizeof err);
		if (r->wk == NULL) {
			fprintf(stderr, "ftpinspect: %s\n", err);
			*exit_code = EXIT_RUNTIME;
			return -1;
		}
		return 0;
	}
	r->e = ftpi_engine_new(&cfg, &status);
	if (r->e == NULL) {
		fprintf(stderr, "ftpinspect: cannot create the engine: %s%s\n",
			ftpi_strerror(status),
			status == FTPI_E_NOMEM ? CLI_CAPS_NOMEM : "");
		*exit_code = EXIT_RUNTIME;
		return -1;
	}
	return 0;
}

/* The engine's clock follows the wall clock on live capture once the kernel has nothing more
 * (a batch that did not fill up), so idle expiry fires on a quiet link. It lags by the read
 * timeout: the block the kernel is still filling may hold packets up to that old. With --share
 * the clock is also what the sensor tells the others it has decided up to, so it lags by half a
 * second more: the kernel's block timer fires late by a few ms, more on a loaded host, and a
 * packet seen after the clock passed it would be decided twice (here and by another sensor
 * that took the clock's word). */
static void advance_live(struct run *r)
{
	struct timespec t;
	uint64_t now_us;

	clock_gettime(CLOCK_REALTIME, &t);
	now_us = (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u -
		 CAP_READ_TIMEOUT_MS * 1000u - (r->o->share_url ? 500000u : 0u);

	if (now_us > r->a->last_ts_us) {
		r->a->last_ts_us = now_us;
		ftpi_engine_advance(r->e, now_us);
	}
}

/* Reads one opened capture until EOF, error, a signal or a limit. 0, 1 on a read error, or 2
 * when a savefile ends inside a record (a file still being written, or cut short). */
static int read_capture(struct run *r)
{
	const struct cli_opts *o = r->o;
	struct timespec live_start, now;
	int live = cap_is_live(r->cap);
	int n, res;

	clock_gettime(CLOCK_MONOTONIC, &r->t_start);
	r->t_last = r->t_start;
	live_start = r->t_start;
	cap_signals_current(r->cap);
	while (!r->done && !cap_stop_requested()) {
		int max = 256;
		if (o->count > 0 && o->count - r->fed < (uint64_t)max)
			max = (int)(o->count - r->fed);
		res = cap_dispatch(r->cap, max, on_packet, r, &n);
		progress(r, 0);
		if (r->a->share != NULL || r->a->events != NULL)
			cli_share_check(r->a);
		if (cap_take_usr1())
			print_stats_stderr(r);
		if (cap_take_hup())
			reopen_all(r->a);
		if (live)
			zeek_logs_flush(r->a->zlogs);
		check_output(r, live);
		if (res == CAP_EOF)
			break;
		if (res == CAP_ERROR) {
			progress(r, 1);
			cap_signals_current(NULL);
			return !live && strncmp(cap_error(r->cap), "truncated", 9) == 0 ? 2 : 1;
		}
		if (!live)
			continue;
		if (res == CAP_DOWN)
			fprintf(stderr,
				"ftpinspect: %s: the interface went down; waiting for it to come "
				"back\n",
				r->input_name);
		else if (res == CAP_UP)
			fprintf(stderr, "ftpinspect: %s: the interface is up again\n",
				r->input_name);
		if (r->a->drops != NULL)
			drop_watch_sample(r->a->drops, r->cap, 0);
		if (n < max)
			advance_live(r);
		if (o->duration_s > 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (elapsed(&live_start, &now) >= (double)o->duration_s)
				break;
		}
	}
	if (live && cap_stop_requested() && !r->done) {
		/* SIGINT/SIGTERM: what the kernel already holds is analysed too. */
		uint64_t got;
		cap_drain(r->cap, CAP_READ_TIMEOUT_MS + 200, on_packet, r, &got);
	}
	if (live && r->a->drops != NULL)
		drop_watch_sample(r->a->drops, r->cap, 1);
	progress(r, 1);
	cap_signals_current(NULL);
	return 0;
}

/* End of input: every engine flushed (workers: drained first). */
static void flush_engines(struct run *r)
{
	if (r->wk != NULL)
		workers_finish(r->wk);
	else
		ftpi_engine_flush(r->e);
}

/* Live with --workers: N sockets of one fanout group, one engine each. */
static int run_live_workers(struct run *r, const struct cli_opts *o)
{
	char err[512];
	if (workers_open_live(r->wk, o->iface, o->snaplen, o->buffer_kib, err, sizeof err) != 0) {
		fprintf(stderr, "ftpinspect: %s: %s\n", o->iface, err);
		return EXIT_RUNTIME;
	}
	if (o->drop_user != NULL && cli_drop_privileges(o->drop_user) != 0)
		return EXIT_RUNTIME;
	if (o->filter != NULL && workers_set_filter(r->wk, o->filter, err, sizeof err) != 0) {
		fprintf(stderr, "ftpinspect: %s: bad filter '%s': %s\n", o->iface, o->filter, err);
		return EXIT_USAGE;
	}
	fprintf(stderr,
		"ftpinspect: listening on %s, link type %d, snapshot length %u, %u workers\n",
		o->iface, workers_cap_linktype(r->wk), o->snaplen, o->workers);
	if (workers_run_live(r->wk, o->duration_s, err, sizeof err) != 0) {
		fflush(r->a->fp);
		fprintf(stderr, "ftpinspect: %s: %s\n", o->iface, err);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* The output formats: one file each, one line here. */
static const struct {
	int format;
	const struct out_ops *ops;
} formats[] = {
	{CLI_FMT_TEXT, &out_text_ops},
	{CLI_FMT_JSON, &out_json_ops},
	{CLI_FMT_ZEEK, &out_zeek_ops},
};

static const struct out_ops *cli_format(int format)
{
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (formats[i].format == format)
			return formats[i].ops;
	return &out_text_ops;
}

/* Live capture that dropped packets: a capture_loss finding (the engine cannot see drops). */
static void report_capture_loss(struct app *a, const struct cap_stats *cs)
{
	struct ftpi_event ev;
	char msg[256], evid[128];

	if (drop_watch_loss_event(cs, a->last_ts_us, &ev, msg, sizeof msg, evid, sizeof evid) == 0)
		return;
	if (ev.u.finding.severity > a->max_sev)
		a->max_sev = ev.u.finding.severity;
	a->out->event(a, &ev);
	zeek_logs_event(a->zlogs, &ev, NULL);
	report_event(a->report, &ev);
}

static int no_color_env(void)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	return (nc != NULL && *nc != '\0') || (term != NULL && strcmp(term, "dumb") == 0);
}

int main(int argc, char **argv)
{
	struct cli_opts o;
	struct app a;
	struct run r;
	struct drop_watch *drops = NULL;
	char err[512];
	int exit_code = EXIT_OK, pr;
	int is_root_live;

	pr = cli_opts_parse(&o, argc, argv);
	if (pr != CLI_PARSE_OK) {
		cli_opts_free(&o);
		return pr == CLI_PARSE_EXIT0 ? EXIT_OK : EXIT_USAGE;
	}
	if (o.list_ifaces) {
		int rc = cap_list_interfaces(stdout, err, sizeof err);
		if (rc != 0)
			fprintf(stderr, "ftpinspect: -D: %s\n", err);
		cli_opts_free(&o);
		return rc == 0 && fflush(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
	}
	if (o.filter != NULL && cap_check_filter(o.filter, o.snaplen, err, sizeof err) != 0) {
		fprintf(stderr, "ftpinspect: bad filter '%s': %s\n", o.filter, err);
		cli_opts_free(&o);
		return EXIT_USAGE;
	}
	if (check_files(&o) != 0) {
		cli_opts_free(&o);
		return EXIT_USAGE;
	}
	if (o.drop_user != NULL && getpwnam(o.drop_user) == NULL) {
		fprintf(stderr, "ftpinspect: -Z %s: no such user\n", o.drop_user);
		cli_opts_free(&o);
		return EXIT_USAGE;
	}
	is_root_live = o.iface != NULL && geteuid() == 0;
	if (is_root_live && o.drop_user == NULL && !o.allow_root) {
		fprintf(stderr,
			"ftpinspect: refusing to capture on %s as root: give -Z USER to drop "
			"privileges once the interface is open, or --allow-root\n",
			o.iface);
		cli_opts_free(&o);
		return EXIT_USAGE;
	}

	memset(&a, 0, sizeof a);
	memset(&r, 0, sizeof r);
	a.o = &o;
	/* -w -: the pcapng owns standard output; the events go to standard error. */
	a.fp = o.write_file != NULL && strcmp(o.write_file, "-") == 0 ? stderr : stdout;
	if (o.line_buffered)
		setvbuf(a.fp, NULL, _IOLBF, BUFSIZ);
	else if (a.fp == stdout && o.iface == NULL && !o.packet_buffered && !isatty(fileno(stdout)))
		setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
	a.max_sev = -1;
	a.out = cli_format(o.format);
	a.color = o.format == CLI_FMT_TEXT &&
		  (o.color == CLI_COLOR_ALWAYS ||
		   (o.color == CLI_COLOR_AUTO && isatty(fileno(a.fp)) && !no_color_env()));
	r.a = &a;
	r.o = &o;
	if (o.iface != NULL) {
		drops = drop_watch_new();
		if (drops == NULL) {
			fputs("ftpinspect: out of memory\n", stderr);
			cli_opts_free(&o);
			return EXIT_RUNTIME;
		}
		a.drops = drops;
	}
	if (o.file_hashes != 0 && (a.ftype = filetype_open(err, sizeof err)) == NULL) {
		fprintf(stderr, "ftpinspect: --file-hashes: %s\n", err);
		drop_watch_free(drops);
		cli_opts_free(&o);
		return EXIT_RUNTIME;
	}
	if (o.report != NULL) {
		a.report = report_new(o.report, o.pasv_min, o.pasv_max);
		if (a.report == NULL) {
			fputs("ftpinspect: out of memory\n", stderr);
			filetype_close(a.ftype);
			drop_watch_free(drops);
			cli_opts_free(&o);
			return EXIT_RUNTIME;
		}
	}
	if (o.summary) {
		a.sum = summary_new();
		if (a.sum == NULL) {
			fputs("ftpinspect: out of memory\n", stderr);
			report_free(a.report);
			filetype_close(a.ftype);
			drop_watch_free(drops);
			cli_opts_free(&o);
			return EXIT_RUNTIME;
		}
	}
	if (build_engine(&r, &a, &o, &exit_code) != 0) {
		cli_share_close(&a);
		cli_share_free(&a);
		drop_watch_free(drops);
		summary_free(a.sum);
		report_free(a.report);
		filetype_close(a.ftype);
		cli_opts_free(&o);
		return exit_code;
	}
	cap_signals_install();

	if (a.out->begin != NULL && a.out->begin(&a) != 0) {
		exit_code = EXIT_RUNTIME;
		goto out;
	}

	if (o.sort) {
		a.sorted = sort_new();
		if (a.sorted == NULL) {
			fputs("ftpinspect: out of memory\n", stderr);
			exit_code = EXIT_RUNTIME;
			goto out;
		}
	}
	if (o.iface != NULL && r.wk != NULL) {
		exit_code = run_live_workers(&r, &o);
		goto finish;
	}
	if (r.wk != NULL && workers_start(r.wk, err, sizeof err) != 0) {
		fprintf(stderr, "ftpinspect: %s\n", err);
		exit_code = EXIT_RUNTIME;
		goto finish;
	}
	if (o.iface != NULL) {
		r.input_name = o.iface;
		r.cap = cap_open_live(o.iface, o.snaplen, o.buffer_kib, o.immediate, err,
				      sizeof err);
		if (r.cap == NULL) {
			fprintf(stderr, "ftpinspect: %s: %s\n", o.iface, err);
			exit_code = EXIT_RUNTIME;
			goto finish;
		}
		if (o.drop_user != NULL && cli_drop_privileges(o.drop_user) != 0) {
			exit_code = EXIT_RUNTIME;
			goto finish;
		}
		if (o.filter != NULL && cap_set_filter(r.cap, o.filter, err, sizeof err) != 0) {
			fprintf(stderr, "ftpinspect: %s: bad filter '%s': %s\n", o.iface, o.filter,
				err);
			exit_code = EXIT_USAGE;
			goto finish;
		}
		if (open_write(&a, &o) != 0 || open_log_dir(&a, &o) != 0) {
			exit_code = EXIT_USAGE;
			goto finish;
		}
		if (!o.quiet)
			fprintf(stderr,
				"ftpinspect: listening on %s, link type %d, snapshot length %u\n",
				o.iface, cap_linktype(r.cap), o.snaplen);
		if (read_capture(&r) == 1) {
			/* What was seen is written first, then the error. */
			snprintf(err, sizeof err, "%s", cap_error(r.cap));
			flush_engines(&r);
			fflush(a.fp);
			fprintf(stderr, "ftpinspect: %s: %s\n", o.iface, err);
			exit_code = EXIT_RUNTIME;
		}
		goto finish;
	}

	/* read ahead with a core to spare: one engine, or the reading thread and N workers */
	cap_set_read_ahead(o.no_read_ahead ? 0 : o.workers > 1 ? o.workers + 1 : 1);
	for (size_t i = 0; i < o.n_inputs && !r.done && !cap_stop_requested(); i++) {
		const char *path = o.inputs[i];
		int rc;
		r.input_name = strcmp(path, "-") == 0 ? "(stdin)" : path;
		r.cap = cap_open_file(path, err, sizeof err);
		if (r.cap == NULL) {
			fprintf(stderr, "ftpinspect: %s: %s\n", r.input_name, err);
			exit_code = EXIT_RUNTIME;
			break;
		}
		if (i == 0 && o.drop_user != NULL && cli_drop_privileges(o.drop_user) != 0) {
			exit_code = EXIT_RUNTIME;
			break;
		}
		if (i == 0 && (open_write(&a, &o) != 0 || open_log_dir(&a, &o) != 0)) {
			exit_code = EXIT_USAGE;
			break;
		}
		if (a.pcapng != NULL)
			pcapng_set_input(a.pcapng, path);
		if (o.filter != NULL && cap_set_filter(r.cap, o.filter, err, sizeof err) != 0) {
			fprintf(stderr, "ftpinspect: %s: bad filter '%s': %s\n", r.input_name,
				o.filter, err);
			exit_code = EXIT_USAGE;
			break;
		}
		r.progress = !o.no_progress && !o.quiet && isatty(2) && cap_file_size(r.cap) > 0;
		rc = read_capture(&r);
		if (rc == 2) {
			/* A file still being written (or cut inside a record): read to its last
			 * whole packet, then a note, not an error. */
			r.truncated_inputs++;
			fprintf(stderr,
				"ftpinspect: %s: note: the file ends inside a packet record (still "
				"being written, or cut short); read up to its last whole packet\n",
				r.input_name);
		} else if (rc != 0) {
			/* Keep what was read: the engine is flushed below, then the error. */
			snprintf(err, sizeof err, "%s", cap_error(r.cap));
			cap_close(r.cap);
			r.cap = NULL;
			flush_engines(&r);
			fflush(a.fp);
			fprintf(stderr, "ftpinspect: %s: %s\n", r.input_name, err);
			exit_code = EXIT_RUNTIME;
			break;
		}
		cap_close(r.cap);
		r.cap = NULL;
	}

finish:
	flush_engines(&r);
	sort_write(&a);
	ftpi_share_flush(a.share, 5000000);
	cli_share_check(&a);
	{
		struct cap_stats cs;
		int have_cs = r.wk != NULL ? o.iface != NULL && workers_cap_stats(r.wk, &cs) == 0
					  : r.cap != NULL && cap_get_stats(r.cap, &cs) == 0;
		if (have_cs)
			report_capture_loss(&a, &cs);
		if (o.stats && a.out->stats != NULL) {
			struct ftpi_stats st;
			memset(&st, 0, sizeof st);
			if (o.workers_auto) {
				unsigned cores = cli_cores();
				fprintf(stderr, "ftpinspect: --workers auto: %u %s on %u %s\n",
					o.workers, o.workers == 1 ? "engine" : "workers", cores,
					cores == 1 ? "core" : "cores");
			}
			if (r.wk != NULL) {
				workers_stats(r.wk, &st);
				workers_report(r.wk, stderr);
			} else {
				ftpi_engine_stats(r.e, &st, sizeof st);
			}
			a.out->stats(&a, &st, have_cs ? &cs : NULL);
		}
		if (a.sum != NULL && a.out->summary != NULL)
			a.out->summary(&a);
		if (have_cs && (!o.quiet || cs.dropped + cs.ifdropped > 0))
			print_cap_stats(&cs);
		if (r.truncated_inputs > 0 && o.stats)
			fprintf(stderr, "ftpinspect: %llu input(s) ended inside a packet record\n",
				(unsigned long long)r.truncated_inputs);
	}
	if (a.out->end != NULL)
		a.out->end(&a);
	if (a.report != NULL && report_write(a.report, err, sizeof err) != 0) {
		fprintf(stderr, "ftpinspect: --report %s: %s\n", o.report, err);
		if (exit_code == EXIT_OK)
			exit_code = EXIT_RUNTIME;
	}
out:
	if (zeek_logs_close(a.zlogs) != 0) {
		fprintf(stderr, "ftpinspect: --log-dir %s: write error\n", o.log_dir);
		if (exit_code == EXIT_OK)
			exit_code = EXIT_RUNTIME;
	}
	a.zlogs = NULL;
	check_output(&r, 1);
	if (r.out_failed) {
		fprintf(stderr, "ftpinspect: write error on %s\n",
			a.fp == stdout ? "standard output" : "standard error");
		if (exit_code == EXIT_OK)
			exit_code = EXIT_RUNTIME;
	}
	if (a.pcapng != NULL && !r.write_failed && pcapng_flush(a.pcapng) != 0)
		write_failed(&r);
	if (pcapng_close(a.pcapng) != 0 && !r.write_failed && !r.out_closed) {
		fprintf(stderr, "ftpinspect: %s: write error\n", o.write_file);
		r.write_failed = 1;
	}
	a.pcapng = NULL;
	if (r.write_failed && exit_code == EXIT_OK)
		exit_code = EXIT_RUNTIME;
	cli_share_close(&a);
	cap_close(r.cap);
	release_engines(&r);
	cli_share_free(&a);
	sort_write(&a); /* nothing left when the run got this far; frees it otherwise */
	summary_free(a.sum);
	report_free(a.report);
	filetype_close(a.ftype);
	drop_watch_free(drops);
	cli_opts_free(&o);
	if (exit_code == EXIT_OK && o.fail_on >= 0 && a.max_sev >= o.fail_on)
		exit_code = EXIT_FAIL_ON;
	return exit_code;
}
