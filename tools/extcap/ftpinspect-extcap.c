/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ftpinspect-extcap.c - a Wireshark extcap (doc/extcap.adoc in Wireshark's sources): Wireshark
 * lists one "ftpinspect" capture interface per real interface; capturing on one captures the
 * real interface with libpcap, runs the ftpinspect engine over each packet as it arrives and
 * writes pcapng to Wireshark's fifo, the findings, announcements and data connections as packet
 * comments (the same comments as ftpinspect -w: annotate.c, pcapng_out.c), one packet at a time.
 *
 * The extcap protocol, as Wireshark calls it:
 *   --extcap-interfaces                       list the interfaces (and the extcap's version)
 *   --extcap-dlts --extcap-interface IF       the link type of IF
 *   --extcap-config --extcap-interface IF     the options the capture dialog shows
 *   --capture --extcap-interface IF --fifo PATH [--extcap-capture-filter BPF]
 *             [--filter BPF] [--ca-file FILE] [-Z USER] [--config FILE]
 * Wireshark stops a capture with SIGTERM (or by closing the fifo).
 *
 * A capture reads the config file ftpinspect reads (opts.c): --config FILE, else
 * $FTPINSPECT_CONFIG, else /etc/ftpinspect/ftpinspect.conf when present. Its policy, caps and
 * review settings (passive-range, allow-client, ca-file, max-line-length, ...) shape the engine
 * as they do the tool's, and user (-Z), allow-root, snaplen and buffer-size the capture; the
 * output settings (format, log-dir, write, ...) are the tool's alone. What the capture dialog
 * gives wins over the file.
 */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h> /* pcap_findalldevs only: capturing is capture.c's */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define IF_PREFIX "ftpinspect-"
#define SNAPLEN	  262144u

struct extcap_opts {
	int interfaces, dlts, config, capture, allow_root;
	const char *iface; /* the extcap interface: IF_PREFIX + the real one */
	const char *fifo;
	const char *filter; /* --extcap-capture-filter or --filter */
	const char *ca_file;
	const char *drop_user;
	const char *config_file; /* --config; NULL: the tool's default */
	struct cli_opts file;	 /* the config file's settings */
};

/* The state of a capture, for the callbacks. */
struct run {
	ftpi_engine *e;
	struct pcapng_out *w;
	struct annot annot;
	struct annot_comments pc;
	uint64_t frame, last_ts_us;
	int write_failed;
};

static const char *real_interface(const char *iface)
{
	size_t n = sizeof IF_PREFIX - 1;
	return (iface && strncmp(iface, IF_PREFIX, n) == 0 && iface[n]) ? iface + n : NULL;
}

/* Names, displays and tooltips are ours or interface names: no brace may reach the output. */
static const char *braces_out(char *buf, size_t len, const char *s)
{
	size_t i = 0;
	for (; s && *s && i + 1 < len; s++)
		buf[i++] = (*s == '{' || *s == '}' || (unsigned char)*s < 0x20) ? '_' : *s;
	buf[i] = '\0';
	return buf;
}

static int list_interfaces(void)
{
	char ebuf[PCAP_ERRBUF_SIZE], name[256], desc[256];
	pcap_if_t *all = NULL;

	printf("extcap {version=%s}{display=ftpinspect: FTP/FTPS review while capturing}\n",
	       FTPI_VERSION_STRING);
	if (pcap_findalldevs(&all, ebuf) != 0) {
		fprintf(stderr, "ftpinspect-extcap: cannot list interfaces: %s\n", ebuf);
		return 0; /* no interfaces is an answer too */
	}
	for (pcap_if_t *d = all; d; d = d->next) {
		/* Interfaces that carry IP traffic only: no USB, D-Bus, netfilter queues... */
		if (strncmp(d->name, "usbmon", 6) == 0 || strncmp(d->name, "dbus", 4) == 0 ||
		    strncmp(d->name, "nf", 2) == 0 || strncmp(d->name, "bluetooth", 9) == 0 ||
		    strncmp(d->name, IF_PREFIX, sizeof IF_PREFIX - 1) == 0)
			continue;
		braces_out(name, sizeof name, d->name);
		printf("interface {value=" IF_PREFIX "%s}{display=ftpinspect: %s%s%s}\n", name,
		       name, d->description ? " - " : "",
		       d->description ? braces_out(desc, sizeof desc, d->description) : "");
	}
	pcap_freealldevs(all);
	return 0;
}

static int list_dlts(const struct extcap_opts *o)
{
	const char *real = real_interface(o->iface);
	char err[PCAP_ERRBUF_SIZE + 64];
	int dlt = DLT_EN10MB;

	if (real == NULL) {
		fprintf(stderr, "ftpinspect-extcap: --extcap-dlts: unknown interface %s\n",
			o->iface ? o->iface : "(none)");
		return 1;
	}
	/* The real interface's link type when it can be opened now; Ethernet otherwise (the
	 * pcapng stream names the real one in its interface block anyway). */
	struct cap *c = cap_open_live(real, 128, 0, 0, err, sizeof err);
	if (c != NULL) {
		dlt = cap_linktype(c);
		cap_close(c);
	}
	const char *dname = pcap_datalink_val_to_name(dlt);
	const char *ddesc = pcap_datalink_val_to_description(dlt);
	printf("dlt {number=%d}{name=%s}{display=%s}\n", dlt, dname ? dname : "UNKNOWN",
	       ddesc ? ddesc : "unknown");
	return 0;
}

static int list_config(void)
{
	puts("arg {number=0}{call=--filter}{display=Capture filter (BPF)}{type=string}"
	     "{tooltip=A libpcap filter as for tcpdump, e.g. tcp port 21 or tcp portrange "
	     "50000-50100; Wireshark's own capture filter applies too}{group=Capture}");
	puts("arg {number=1}{call=--ca-file}{display=CA bundle (PEM)}{type=fileselect}"
	     "{mustexist=true}{tooltip=Server certificates are checked against it; empty: the "
	     "system's CA bundle}{group=Review}");
	puts("arg {number=2}{call=--drop-user}{display=Run as user (-Z)}{type=string}"
	     "{tooltip=When started as root: the user to become once the interface is open}"
	     "{group=Capture}");
	puts("arg {number=3}{call=--config}{display=Config file}{type=fileselect}"
	     "{mustexist=true}{tooltip=ftpinspect's config file (policy, CA, caps); empty: "
	     "$FTPINSPECT_CONFIG or /etc/ftpinspect/ftpinspect.conf when present}{group=Review}");
	return 0;
}

static int on_event(void *user, const struct ftpi_event *ev)
{
	struct run *r = user;

	annot_event(&r->annot, &r->pc, r->frame, ev);
	return 0;
}

static void on_packet(void *user, const struct ftpi_packet *pkt)
{
	struct run *r = user;

	if (r->write_failed)
		return;
	r->frame++;
	annot_begin(&r->annot, &r->pc, pkt);
	if (pkt->ts_us > r->last_ts_us)
		r->last_ts_us = pkt->ts_us;
	(void)ftpi_engine_feed(r->e, pkt); /* malformed packets are counted, never an error */
	/* Each packet reaches Wireshark at once: annotate, write, flush. */
	if (annot_write(r->w, pkt, &r->pc) != 0 || pcapng_flush(r->w) != 0)
		r->write_failed = 1;
}

static ftpi_engine *make_engine(const struct extcap_opts *o, struct run *r)
{
	struct ftpi_config cfg;
	char field[128] = "";
	int status = 0;

	cli_engine_config(&o->file, &cfg); /* the config file's settings, as the tool's */
	cfg.ca_file = o->ca_file;
	cfg.event_mask = FTPI_EVMASK_EXPECT;
	cfg.on_event = on_event;
	cfg.user = r;
	status = ftpi_config_validate(&cfg, field, sizeof field);
	if (status == FTPI_OK) {
		ftpi_engine *e = ftpi_engine_new(&cfg, &status);
		if (e != NULL)
			return e;
	}
	fprintf(stderr, "ftpinspect-extcap: cannot create the engine%s%s: %s\n",
		field[0] ? ", setting " : "", field, ftpi_strerror(status));
	return NULL;
}

static int run_capture(const struct extcap_opts *o)
{
	const char *real = real_interface(o->iface);
	char err[PCAP_ERRBUF_SIZE + 256];
	struct run r;
	struct cap *c = NULL;
	int rc = 1, n;

	memset(&r, 0, sizeof r);
	if (real == NULL || o->fifo == NULL) {
		fprintf(stderr, "ftpinspect-extcap: --capture needs --extcap-interface " IF_PREFIX
				"NAME and --fifo PATH\n");
		return 2;
	}
	if (geteuid() == 0 && o->drop_user == NULL && !o->allow_root && !o->file.allow_root) {
		fprintf(stderr, "ftpinspect-extcap: refusing to capture as root: set \"Run as "
				"user\" (--drop-user USER) or pass --allow-root\n");
		return 2;
	}
	if (o->drop_user != NULL && getpwnam(o->drop_user) == NULL) {
		fprintf(stderr, "ftpinspect-extcap: -Z %s: no such user\n", o->drop_user);
		return 2;
	}
	if (o->ca_file != NULL && access(o->ca_file, R_OK) != 0) {
		fprintf(stderr, "ftpinspect-extcap: CA file %s: %s\n", o->ca_file, strerror(errno));
		return 2;
	}
	if (o->filter != NULL && cap_check_filter(o->filter, SNAPLEN, err, sizeof err) != 0) {
		fprintf(stderr, "ftpinspect-extcap: bad filter '%s': %s\n", o->filter, err);
		return 2;
	}
	r.e = make_engine(o, &r);
	if (r.e == NULL)
		return 1;
	cap_signals_install();
	signal(SIGPIPE, SIG_IGN); /* Wireshark closing the fifo ends the capture via EPIPE */
	/* immediate: Wireshark shows packets as they come */
	c = cap_open_live(real, o->file.snaplen ? o->file.snaplen : SNAPLEN, o->file.buffer_kib, 1,
			  err, sizeof err);
	if (c == NULL) {
		fprintf(stderr, "ftpinspect-extcap: %s: %s\n", real, err);
		goto out;
	}
	if (o->drop_user != NULL && cli_drop_privileges(o->drop_user) != 0)
		goto out;
	if (o->filter != NULL && cap_set_filter(c, o->filter, err, sizeof err) != 0) {
		fprintf(stderr, "ftpinspect-extcap: %s: bad filter '%s': %s\n", real, o->filter,
			err);
		goto out;
	}
	r.w = pcapng_open(o->fifo, err, sizeof err);
	if (r.w == NULL || pcapng_flush(r.w) != 0) {
		fprintf(stderr, "ftpinspect-extcap: %s: %s\n", o->fifo, r.w ? "write error" : err);
		goto out;
	}
	cap_signals_current(c);
	rc = 0;
	while (!cap_stop_requested() && !r.write_failed) {
		int res = cap_dispatch(c, 64, on_packet, &r, &n);
		if (res == CAP_ERROR) {
			fprintf(stderr, "ftpinspect-extcap: %s: %s\n", real, cap_error(c));
			rc = 1;
			break;
		}
		if (res == CAP_EOF)
			break;
		if (res == CAP_IDLE) {
			/* Let timeouts fire on a quiet link (their findings have no packet to go on
			 * and are not written). */
			struct timespec now;
			clock_gettime(CLOCK_REALTIME, &now);
			uint64_t us = (uint64_t)now.tv_sec * 1000000u +
				      (uint64_t)now.tv_nsec / 1000u;
			if (us > r.last_ts_us) {
				r.last_ts_us = us;
				ftpi_engine_advance(r.e, us);
			}
		}
	}
	cap_signals_current(NULL);
	/* A closed fifo (EPIPE) is how Wireshark may stop us: not an error. */
	if (r.write_failed && errno != EPIPE) {
		fprintf(stderr, "ftpinspect-extcap: %s: write error: %s\n", o->fifo,
			strerror(errno));
		rc = 1;
	}
out:
	ftpi_engine_flush(r.e);
	if (pcapng_close(r.w) != 0 && rc == 0 && !r.write_failed)
		rc = 1;
	cap_close(c);
	ftpi_engine_free(r.e);
	return rc;
}

static void usage(FILE *f)
{
	fputs("usage: ftpinspect-extcap --extcap-interfaces\n"
	      "       ftpinspect-extcap --extcap-dlts --extcap-interface " IF_PREFIX "IF\n"
	      "       ftpinspect-extcap --extcap-config --extcap-interface " IF_PREFIX "IF\n"
	      "       ftpinspect-extcap --capture --extcap-interface " IF_PREFIX "IF --fifo PATH\n"
	      "           [--extcap-capture-filter BPF | --filter BPF] [--ca-file FILE]\n"
	      "           [-Z USER | --drop-user USER] [--allow-root] [--config FILE]\n"
	      "A capture reads ftpinspect's config file: --config FILE, else $FTPINSPECT_CONFIG,\n"
	      "else /etc/ftpinspect/ftpinspect.conf when present.\n"
	      "A Wireshark extcap: install it into Wireshark's extcap folder\n"
	      "(tshark -G folders).\n",
	      f);
}

enum {
	OPT_INTERFACES = 256,
	OPT_VERSION,
	OPT_INTERFACE,
	OPT_DLTS,
	OPT_CONFIG,
	OPT_CAPTURE,
	OPT_FIFO,
	OPT_CAPTURE_FILTER,
	OPT_FILTER,
	OPT_CA_FILE,
	OPT_ALLOW_ROOT,
	OPT_CONFIG_FILE,
	OPT_IGNORED,
	OPT_IGNORED_ARG
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "extcap-interfaces", no_argument, NULL, OPT_INTERFACES },
		{ "extcap-version", optional_argument, NULL, OPT_VERSION },
		{ "extcap-interface", required_argument, NULL, OPT_INTERFACE },
		{ "extcap-dlts", no_argument, NULL, OPT_DLTS },
		{ "extcap-config", no_argument, NULL, OPT_CONFIG },
		{ "capture", no_argument, NULL, OPT_CAPTURE },
		{ "fifo", required_argument, NULL, OPT_FIFO },
		{ "extcap-capture-filter", required_argument, NULL, OPT_CAPTURE_FILTER },
		{ "filter", required_argument, NULL, OPT_FILTER },
		{ "ca-file", required_argument, NULL, OPT_CA_FILE },
		{ "drop-user", required_argument, NULL, 'Z' },
		{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
		{ "config", required_argument, NULL, OPT_CONFIG_FILE },
		{ "debug", no_argument, NULL, OPT_IGNORED },
		{ "debug-file", required_argument, NULL, OPT_IGNORED_ARG },
		{ "extcap-reload-option", required_argument, NULL, OPT_IGNORED_ARG },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct extcap_opts o;
	const char *capture_filter = NULL, *filter = NULL;
	int c;

	memset(&o, 0, sizeof o);
	while ((c = getopt_long(argc, argv, "Z:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_INTERFACES:
			o.interfaces = 1;
			break;
		case OPT_INTERFACE:
			o.iface = optarg;
			break;
		case OPT_DLTS:
			o.dlts = 1;
			break;
		case OPT_CONFIG:
			o.config = 1;
			break;
		case OPT_CAPTURE:
			o.capture = 1;
			break;
		case OPT_FIFO:
			o.fifo = optarg;
			break;
		case OPT_CAPTURE_FILTER:
			capture_filter = *optarg ? optarg : NULL;
			break;
		case OPT_FILTER:
			filter = *optarg ? optarg : NULL;
			break;
		case OPT_CA_FILE:
			o.ca_file = *optarg ? optarg : NULL;
			break;
		case 'Z':
			o.drop_user = *optarg ? optarg : NULL;
			break;
		case OPT_ALLOW_ROOT:
			o.allow_root = 1;
			break;
		case OPT_CONFIG_FILE:
			o.config_file = *optarg ? optarg : NULL;
			break;
		case OPT_VERSION:
		case OPT_IGNORED:
		case OPT_IGNORED_ARG:
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* Both filters given (Wireshark's capture filter and ours): both must match. */
	char both[4096];
	if (capture_filter && filter) {
		snprintf(both, sizeof both, "(%s) and (%s)", capture_filter, filter);
		o.filter = both;
	} else {
		o.filter = capture_filter ? capture_filter : filter;
	}
	if (o.interfaces)
		return list_interfaces();
	if (o.dlts)
		return list_dlts(&o);
	if (o.config)
		return list_config();
	if (o.capture) {
		const char *used;
		if (cli_opts_load_file(&o.file, o.config_file, &used) != 0)
			return 2;
		if (o.ca_file == NULL) /* the dialog's settings win over the file's */
			o.ca_file = o.file.ca_file;
		if (o.drop_user == NULL)
			o.drop_user = o.file.drop_user;
		int rc = run_capture(&o);
		cli_opts_free(&o.file);
		return rc;
	}
	usage(stderr);
	return 2;
}
