/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main.c - ftpinspect's driver: builds the engine from the options, reads every input in order
 * (files, or one live interface) through capture.c, feeds each packet to the engine, routes the
 * engine's events to the chosen output format, the --summary collector and the -w annotations,
 * and maps what happened to the exit status (0 ok, 1 runtime error, 2 usage, 3 --fail-on).
 * Signals stop the read loop; the engine is always flushed so nothing already seen is lost.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
	uint64_t fed;	      /* packets fed so far (for -c) */
	uint64_t first_ts_us; /* capture time of the first packet (for --duration on files) */
	int have_first;
	int done; /* -c or --duration reached */
	int linktype_warned[8];
	int write_failed;

	/* Progress line. */
	int progress;
	const char *input_name;
	struct timespec t_start, t_last;
	int progress_shown;
};


static int on_event(void *user, const struct ftpi_event *ev)
{
	struct app *a = user;

	if (ev->type == FTPI_EV_FINDING && ev->u.finding.severity > a->max_sev)
		a->max_sev = ev->u.finding.severity;
	if (a->sum != NULL)
		summary_event(a->sum, ev);
	if (a->pcapng != NULL)
		annot_event(&a->annot, &a->pc, a->frame, ev);
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
	rc = ftpi_engine_feed(r->e, pkt);
	if (rc == FTPI_E_LINKTYPE) {
		int slot = pkt->linktype >= 0 && pkt->linktype < 8 ? pkt->linktype : 7;
		if (!r->linktype_warned[slot]) {
			fprintf(stderr,
				"ftpinspect: %s: link type %d is not supported; packets skipped\n",
				r->input_name, pkt->linktype);
			r->linktype_warned[slot] = 1;
		}
	}
	if (a->pcapng != NULL && !r->write_failed &&
	    annot_write(a->pcapng, pkt, &a->pc) != 0) {
		fprintf(stderr, "ftpinspect: %s: write error: %s\n", r->o->write_file,
			strerror(errno));
		r->write_failed = 1;
	}
	r->fed++;
	if (r->o->count > 0 && r->fed >= r->o->count)
		r->done = 1;
}

static void print_stats_stderr(struct run *r)
{
	struct ftpi_stats st;
	struct cap_stats cs;

	memset(&st, 0, sizeof st);
	ftpi_engine_stats(r->e, &st, sizeof st);
	fprintf(stderr,
		"ftpinspect: %llu packets, %llu flows, %llu sessions, %llu data connections, "
		"%llu findings\n",
		(unsigned long long)st.packets, (unsigned long long)st.flows_created,
		(unsigned long long)st.sessions_created, (unsigned long long)st.data_connections,
		(unsigned long long)st.findings);
	if (r->cap != NULL && cap_is_live(r->cap) && cap_get_stats(r->cap, &cs) == 0)
		fprintf(stderr,
			"ftpinspect: %llu packets received by filter, %llu dropped by kernel, "
			"%llu dropped by interface\n",
			(unsigned long long)cs.received, (unsigned long long)cs.dropped,
			(unsigned long long)cs.ifdropped);
}

static int build_engine(struct run *r, struct app *a, const struct cli_opts *o, int *exit_code)
{
	static uint16_t ports[CLI_MAX_CTRL_PORTS + 2];
	struct ftpi_config cfg;
	char field[128];
	int status = 0;
	size_t np = 0;

	ftpi_config_init(&cfg);
	cfg.pasv_min = o->pasv_min;
	cfg.pasv_max = o->pasv_max;
	cfg.allow_clients = o->allow_clients;
	cfg.n_allow_clients = o->n_allow_clients;
	cfg.allow_servers = o->allow_servers;
	cfg.n_allow_servers = o->n_allow_servers;
	if (o->bf_threshold > 0) {
		cfg.brute_force_threshold = o->bf_threshold;
		cfg.brute_force_window = o->bf_window_s * 1000000u;
	}
	cfg.redact_credentials = !o->show_passwords;
	cfg.ca_file = o->ca_file;
	cfg.server_name = o->server_name;
	if (o->n_ctrl_ports > 0) {
		ports[np++] = 21;
		ports[np++] = 990;
		for (size_t i = 0; i < o->n_ctrl_ports; i++)
			ports[np++] = o->ctrl_ports[i];
		cfg.control_ports = ports;
		cfg.n_control_ports = np;
	}
	if (o->no_ndpi)
		cfg.use_ndpi = 0;
	cfg.verify_checksums = o->verify_checksums;
	if (getrandom(cfg.hash_seed, sizeof cfg.hash_seed, GRND_NONBLOCK) != sizeof cfg.hash_seed)
		cfg.hash_seed[0] ^= (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	a->user_mask = 0;
	if (o->verbose)
		a->user_mask |= FTPI_EVMASK_COMMANDS | FTPI_EVMASK_EXPECT | FTPI_EVMASK_ANOMALY;
	if (o->flows)
		a->user_mask |= FTPI_EVMASK_FLOWS;
	cfg.event_mask = a->user_mask;
	if (o->format == CLI_FMT_ZEEK)
		cfg.event_mask |= FTPI_EVMASK_COMMANDS | FTPI_EVMASK_EXPECT;
	if (o->write_file != NULL)
		cfg.event_mask |= FTPI_EVMASK_EXPECT;
	cfg.on_event = on_event;
	cfg.user = a;

	field[0] = '\0';
	status = ftpi_config_validate(&cfg, field, sizeof field);
	if (status != FTPI_OK) {
		fprintf(stderr, "ftpinspect: invalid setting%s%s: %s\n", field[0] ? " " : "", field,
			ftpi_strerror(status));
		*exit_code = EXIT_USAGE;
		return -1;
	}
	r->e = ftpi_engine_new(&cfg, &status);
	if (r->e == NULL) {
		fprintf(stderr, "ftpinspect: cannot create the engine: %s\n",
			ftpi_strerror(status));
		*exit_code = EXIT_RUNTIME;
		return -1;
	}
	return 0;
}

/* Reads one opened capture until EOF, error, a signal or a limit. 0, or 1 on a read error. */
static int read_capture(struct run *r)
{
	const struct cli_opts *o = r->o;
	struct timespec live_start, now;
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
		if (cap_take_usr1())
			print_stats_stderr(r);
		if (res == CAP_EOF)
			break;
		if (res == CAP_ERROR) {
			progress(r, 1);
			cap_signals_current(NULL);
			return 1;
		}
		if (cap_is_live(r->cap)) {
			if (res == CAP_IDLE) {
				struct timespec wall;
				clock_gettime(CLOCK_REALTIME, &wall);
				uint64_t now_us = (uint64_t)wall.tv_sec * 1000000u +
						  (uint64_t)wall.tv_nsec / 1000u;
				if (now_us > r->a->last_ts_us) {
					r->a->last_ts_us = now_us;
					ftpi_engine_advance(r->e, now_us);
				}
			}
			if (o->duration_s > 0) {
				clock_gettime(CLOCK_MONOTONIC, &now);
				if (elapsed(&live_start, &now) >= (double)o->duration_s)
					break;
			}
		}
	}
	progress(r, 1);
	cap_signals_current(NULL);
	return 0;
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

int main(int argc, char **argv)
{
	struct cli_opts o;
	struct app a;
	struct run r;
	char err[512];
	int exit_code = EXIT_OK, pr;
	int is_root_live;

	pr = cli_opts_parse(&o, argc, argv);
	if (pr != CLI_PARSE_OK) {
		cli_opts_free(&o);
		return pr == CLI_PARSE_EXIT0 ? EXIT_OK : EXIT_USAGE;
	}
	if (o.filter != NULL && cap_check_filter(o.filter, o.snaplen, err, sizeof err) != 0) {
		fprintf(stderr, "ftpinspect: bad filter '%s': %s\n", o.filter, err);
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
	a.fp = stdout;
	a.max_sev = -1;
	a.out = cli_format(o.format);
	a.color = o.format == CLI_FMT_TEXT &&
		  (o.color == CLI_COLOR_ALWAYS || (o.color == CLI_COLOR_AUTO && isatty(1)));
	r.a = &a;
	r.o = &o;
	if (o.summary) {
		a.sum = summary_new();
		if (a.sum == NULL) {
			fputs("ftpinspect: out of memory\n", stderr);
			cli_opts_free(&o);
			return EXIT_RUNTIME;
		}
	}
	if (build_engine(&r, &a, &o, &exit_code) != 0) {
		summary_free(a.sum);
		cli_opts_free(&o);
		return exit_code;
	}
	cap_signals_install();

	if (a.out->begin != NULL && a.out->begin(&a) != 0) {
		exit_code = EXIT_RUNTIME;
		goto out;
	}

	if (o.iface != NULL) {
		r.input_name = o.iface;
		r.cap = cap_open_live(o.iface, o.snaplen, o.buffer_kib, err, sizeof err);
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
		if (o.write_file != NULL) {
			a.pcapng = pcapng_open(o.write_file, err, sizeof err);
			if (a.pcapng == NULL) {
				fprintf(stderr, "ftpinspect: %s: %s\n", o.write_file, err);
				exit_code = EXIT_RUNTIME;
				goto finish;
			}
		}
		fprintf(stderr, "ftpinspect: listening on %s, link type %d, snapshot length %u\n",
			o.iface, cap_linktype(r.cap), o.snaplen);
		if (read_capture(&r) != 0) {
			/* What was seen is written first, then the error. */
			snprintf(err, sizeof err, "%s", cap_error(r.cap));
			ftpi_engine_flush(r.e);
			fflush(a.fp);
			fprintf(stderr, "ftpinspect: %s: %s\n", o.iface, err);
			exit_code = EXIT_RUNTIME;
		}
		goto finish;
	}

	for (size_t i = 0; i < o.n_inputs && !r.done && !cap_stop_requested(); i++) {
		const char *path = o.inputs[i];
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
		if (i == 0 && o.write_file != NULL) {
			a.pcapng = pcapng_open(o.write_file, err, sizeof err);
			if (a.pcapng == NULL) {
				fprintf(stderr, "ftpinspect: %s: %s\n", o.write_file, err);
				exit_code = EXIT_RUNTIME;
				break;
			}
		}
		if (a.pcapng != NULL)
			pcapng_set_input(a.pcapng, path);
		if (o.filter != NULL && cap_set_filter(r.cap, o.filter, err, sizeof err) != 0) {
			fprintf(stderr, "ftpinspect: %s: bad filter '%s': %s\n", r.input_name,
				o.filter, err);
			exit_code = EXIT_USAGE;
			break;
		}
		r.progress = !o.no_progress && isatty(2) && cap_file_size(r.cap) > 0;
		if (read_capture(&r) != 0) {
			/* Keep what was read: the engine is flushed below, then the error. */
			snprintf(err, sizeof err, "%s", cap_error(r.cap));
			cap_close(r.cap);
			r.cap = NULL;
			ftpi_engine_flush(r.e);
			fflush(a.fp);
			fprintf(stderr, "ftpinspect: %s: %s\n", r.input_name, err);
			exit_code = EXIT_RUNTIME;
			break;
		}
		cap_close(r.cap);
		r.cap = NULL;
	}

finish:
	ftpi_engine_flush(r.e);
	if (o.stats && a.out->stats != NULL) {
		struct ftpi_stats st;
		struct cap_stats cs;
		int have_cs = r.cap != NULL && cap_get_stats(r.cap, &cs) == 0;
		memset(&st, 0, sizeof st);
		ftpi_engine_stats(r.e, &st, sizeof st);
		a.out->stats(&a, &st, have_cs ? &cs : NULL);
	}
	if (a.sum != NULL && a.out->summary != NULL)
		a.out->summary(&a);
	if (r.cap != NULL && cap_is_live(r.cap)) {
		struct cap_stats cs;
		if (cap_get_stats(r.cap, &cs) == 0)
			fprintf(stderr,
				"ftpinspect: %llu packets received by filter, %llu dropped by "
				"kernel, "
				"%llu dropped by interface\n",
				(unsigned long long)cs.received, (unsigned long long)cs.dropped,
				(unsigned long long)cs.ifdropped);
	}
	if (a.out->end != NULL)
		a.out->end(&a);
out:
	if (fflush(a.fp) != 0 || ferror(a.fp)) {
		fprintf(stderr, "ftpinspect: write error on standard output\n");
		if (exit_code == EXIT_OK)
			exit_code = EXIT_RUNTIME;
	}
	if (pcapng_close(a.pcapng) != 0 || r.write_failed) {
		if (!r.write_failed)
			fprintf(stderr, "ftpinspect: %s: write error\n", o.write_file);
		if (exit_code == EXIT_OK)
			exit_code = EXIT_RUNTIME;
	}
	cap_close(r.cap);
	ftpi_engine_free(r.e);
	summary_free(a.sum);
	cli_opts_free(&o);
	if (exit_code == EXIT_OK && o.fail_on >= 0 && a.max_sev >= o.fail_on)
		exit_code = EXIT_FAIL_ON;
	return exit_code;
}
