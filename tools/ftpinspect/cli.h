/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cli.h - what the units of the ftpinspect tool share: the run state (struct app), the capture
 * interface (capture.c, the only unit that includes <pcap.h>), the output formats (out_text.c,
 * out_json.c, out_zeek.c), the pcapng writer, capture-loss tracking (drops.c) and the
 * per-server summary. The library is reached only through <ftpinspect.h>.
 */
#ifndef FTPINSPECT_CLI_H
#define FTPINSPECT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ftpinspect.h"
#include "opts.h"

/* Bounded sizes for escaped wire text. */
#define CLI_TEXT_MAX 2048

/* ---- capture.c ------------------------------------------------------------------------------ */
struct cap;

struct cap_stats {
	int valid;
	uint64_t received, dropped, ifdropped;
};

/* CAP_DOWN: the live interface went down (still exists); reading goes on and gives CAP_UP with
 * the first packets after it is up again. */
enum cap_result { CAP_PACKETS = 0, CAP_IDLE, CAP_EOF, CAP_BREAK, CAP_ERROR, CAP_DOWN, CAP_UP };

/* Live read timeout: the kernel hands over a block of packets at the latest after this, and the
 * read loop wakes at least this often on a quiet link. */
#define CAP_READ_TIMEOUT_MS 1000
/* Default kernel capture buffer (-B), chosen from bench/live.sh. */
#define CAP_DEFAULT_BUFFER_KIB 65536

typedef void (*cap_handler)(void *user, const struct ftpi_packet *pkt);

/* Checks the filter's syntax on a dead Ethernet handle: 0, or -1 with a reason in err. */
int cap_check_filter(const char *filter, uint32_t snaplen, char *err, size_t errlen);
/* Regular savefiles opened from now on are read ahead on a thread of their own when the process
 * may run on more cores than busy_threads (the threads that analyse and dispatch: 1 by default);
 * 0 = never (--no-read-ahead). */
void cap_set_read_ahead(unsigned busy_threads);
/* Opens a savefile ("-" = stdin). NULL with a reason in err. */
struct cap *cap_open_file(const char *path, char *err, size_t errlen);
/* Opens and activates a live interface. NULL with a reason in err. */
struct cap *cap_open_live(const char *iface, uint32_t snaplen, uint32_t buffer_kib, int immediate,
			  char *err, size_t errlen);
/* Compiles and installs a BPF filter: 0, or -1 with a reason in err. */
int cap_set_filter(struct cap *c, const char *filter, char *err, size_t errlen);
/* Reads up to max packets (live: waits at most CAP_READ_TIMEOUT_MS and returns CAP_IDLE when
 * nothing came). */
int cap_dispatch(struct cap *c, int max, cap_handler fn, void *user, int *n_read);
/* Live, after a stop request: reads what the kernel still holds, waiting at most max_ms for the
 * block being filled. 0, or -1 on a read error. */
int cap_drain(struct cap *c, int max_ms, cap_handler fn, void *user, uint64_t *n_read);
/* -D: lists the capture interfaces as tcpdump does. 0, or -1 with a reason in err. */
int cap_list_interfaces(FILE *f, char *err, size_t errlen);
const char *cap_error(struct cap *c);
int cap_get_stats(struct cap *c, struct cap_stats *out);
int cap_is_live(const struct cap *c);
int cap_linktype(const struct cap *c);
/* Savefile position and size in bytes; -1 when unknown (pipe, live). */
long long cap_file_pos(struct cap *c);
long long cap_file_size(struct cap *c);
void cap_close(struct cap *c);

/* SIGINT/SIGTERM set the stop flag, SIGUSR1 the stats flag, SIGHUP the reopen flag; each breaks
 * the current read. SIGPIPE is ignored (a closed pipe is an EPIPE write error). */
void cap_signals_install(void);
void cap_signals_current(struct cap *c);
int cap_stop_requested(void);
/* Sets the stop flag, as SIGINT does (workers.c: -G, a worker's read error). */
void cap_request_stop(void);
/* The capture socket (live; workers.c joins it to a fanout group). */
int cap_fd(const struct cap *c);
/* Wakes a reader blocked in cap_dispatch() on another thread. */
void cap_breakloop(struct cap *c);
/* Reads return at once (CAP_IDLE when nothing is there): the caller polls cap_fd(). */
int cap_set_nonblock(struct cap *c);
int cap_take_usr1(void);
/* SIGHUP: reopen output files (log rotation). */
int cap_take_hup(void);
const char *cap_lib_version(void);

/* ---- workers.c: --workers N ----------------------------------------------------------------- */
/* Live: how long a worker waits for a late one (a worker starved of CPU on a loaded host; 100 ms
 * was seen to pass under load); also the --share store's. */
#define CLI_WORKERS_LIVE_WAIT_US 500000
struct app;
struct sorted;
struct workers;
/* N engines from *base (its on_event/user receive every event, serialised), one store. */
/* fanout.c: the classic-BPF fanout program giving hash(unordered IP pair) % n; the count of
 * instructions written to out, 0 when more than max are needed. */
struct sock_filter;
#define FANOUT_PROG_MAX 128
size_t fanout_prog_build(unsigned n, struct sock_filter *out, size_t max);
struct workers *workers_new(const struct ftpi_config *base, unsigned n, int live, char *err,
			    size_t errlen);
void workers_free(struct workers *w);
/* Files: start the worker threads, hand them packets (the reading thread), then drain. */
int workers_start(struct workers *w, char *err, size_t errlen);
void workers_feed(struct workers *w, const struct ftpi_packet *pkt);
/* Drains every worker, flushes every engine, writes the merged server summaries. */
void workers_finish(struct workers *w);
/* Live: N sockets in one AF_PACKET fanout group, spread by host pair (PACKET_FANOUT_CBPF; by
 * connection, PACKET_FANOUT_HASH, with a warning on stderr when the kernel refuses the program,
 * or when FTPI_WORKERS_SHARD=conn); filter; run until stopped. */
int workers_open_live(struct workers *w, const char *iface, uint32_t snaplen,
		      uint32_t buffer_kib, char *err, size_t errlen);
int workers_set_filter(struct workers *w, const char *filter, char *err, size_t errlen);
int workers_cap_linktype(const struct workers *w);
int workers_run_live(struct workers *w, uint64_t duration_s, char *err, size_t errlen);
void workers_live_packet(void *user, const struct ftpi_packet *pkt);
/* --sort: holds an event's output (written by a->out) until sort_write() writes them all in
 * capture-time order (ties: by text, so the order is the same with any worker count). */
struct sorted *sort_new(void);
int sort_event(struct app *a, const struct ftpi_event *ev);
void sort_write(struct app *a);
/* Every engine's counters summed; every socket's capture counters summed. */
void workers_stats(const struct workers *w, struct ftpi_stats *sum);
/* One line on stderr (--stats): the store's and the reader's counters. */
void workers_report(const struct workers *w, FILE *f);
int workers_cap_stats(const struct workers *w, struct cap_stats *sum);

/* ---- pcapng_out.c --------------------------------------------------------------------------- */
struct pcapng_out;
/* Opens path ("-": standard output); the SHB is written with the first packet (or the flush).
 * NULL with a reason in err. */
struct pcapng_out *pcapng_open(const char *path, char *err, size_t errlen);
/* The file the next packets come from: when it is a pcapng file, its comments are kept (its
 * section comments when nothing was written yet, each packet's before ours). NULL or "-": none. */
void pcapng_set_input(struct pcapng_out *w, const char *path);
/* Log rotation: opens path anew (a new section), then closes the old file. On failure the old
 * file stays in use when it could not be replaced; -1 with a reason in err. No-op on stdout. */
int pcapng_reopen(struct pcapng_out *w, const char *path, char *err, size_t errlen);
int pcapng_errno(const struct pcapng_out *w);
/* Writes one packet with up to n comments (each NUL-terminated). 0 or -1 (pcapng_errno). */
int pcapng_write(struct pcapng_out *w, const struct ftpi_packet *pkt, const char *const *comments,
		 size_t n);
/* Writes what is buffered (the SHB at least): 0, or -1 once any write failed (pcapng_errno). */
int pcapng_flush(struct pcapng_out *w);
/* Flushes and closes; 0 or -1 on a write error. NULL is a no-op. */
int pcapng_close(struct pcapng_out *w);

/* ---- annotate.c: the packet that opens an announced data connection (for -w) ------------- */
#define ANNOT_MAX 256

struct annot_exp {
	uint64_t session;
	struct ftpi_endpoint target, reached;
	int has_reached, active, by;
	uint64_t ts_us;
};

struct annot {
	struct annot_exp e[ANNOT_MAX];
	size_t n;
};

#define APP_MAX_COMMENTS 8
#define APP_COMMENT_MAX	 512

/* The comments of the packet being fed. */
struct annot_comments {
	char text[APP_MAX_COMMENTS][APP_COMMENT_MAX];
	size_t n;
};

/* Starts a packet: its comments are reset, with "data connection opened" when it is a TCP SYN
 * to a remembered target (which is then forgotten). */
void annot_begin(struct annot *t, struct annot_comments *pc, const struct ftpi_packet *pkt);
/* An engine event while the engine's frame `frame` is fed: a comment when it belongs on that
 * packet (finding, announcement, data connection ended); EXPECT targets are remembered. */
void annot_event(struct annot *t, struct annot_comments *pc, uint64_t frame,
		 const struct ftpi_event *ev);
/* Writes the packet with its comments: pcapng_write's result. */
int annot_write(struct pcapng_out *w, const struct ftpi_packet *pkt,
		const struct annot_comments *pc);

/* ---- privs.c -------------------------------------------------------------------------------- */
/* -Z: becomes USER (from root) for good and checks it; 0, or -1 with a message on stderr. */
int cli_drop_privileges(const char *user);

/* ---- drops.c: capture loss on live capture ---------------------------------------------- */
struct drop_watch *drop_watch_new(void);
void drop_watch_free(struct drop_watch *w);
/* Samples the capture's drop counters (at most every 100 ms unless force). */
void drop_watch_sample(struct drop_watch *w, struct cap *c, int force);
/* Remembers an EXPECT event's time (the start of a data connection's window). */
void drop_watch_expect(struct drop_watch *w, const struct ftpi_event *ev);
/* A data_connection_missing finding whose window overlaps drops: a copy of ev whose message
 * (written into msg) names the drops as a possible cause. Any other event: ev itself. */
const struct ftpi_event *drop_watch_amend(const struct drop_watch *w, const struct ftpi_event *ev,
					  struct ftpi_event *copy, char *msg, size_t msglen);
/* The capture_loss finding for the end of a run: 1 and *ev (spans in msg and evid), or 0 when
 * nothing was dropped. */
int drop_watch_loss_event(const struct cap_stats *cs, uint64_t ts_us, struct ftpi_event *ev,
			  char *msg, size_t msglen, char *evid, size_t evidlen);

/* ---- the run state -------------------------------------------------------------------------- */
struct summary;
struct app;
struct drop_watch;

/* An output file reopened on SIGHUP (log rotation): -w today, any later file output too.
 * 0, or -1 with a reason in err (the run goes on). */
typedef int (*app_reopen_fn)(struct app *a, void *arg, char *err, size_t errlen);
#define APP_MAX_REOPEN 8

struct out_ops {
	int (*begin)(struct app *a);
	void (*event)(struct app *a, const struct ftpi_event *ev);
	/* Final statistics; cs may be NULL (files). */
	void (*stats)(struct app *a, const struct ftpi_stats *st, const struct cap_stats *cs);
	void (*summary)(struct app *a);
	void (*end)(struct app *a);
};

struct app {
	const struct cli_opts *o;
	const struct out_ops *out;
	FILE *fp;	     /* stdout */
	int color;	     /* colour escape sequences on */
	void *fmt;	     /* per-format state */
	struct summary *sum; /* --summary, or NULL */
	uint64_t frame;	     /* packets fed to the engine so far (the engine's frame number) */
	uint64_t last_ts_us; /* capture time of the last packet */
	int max_sev;	     /* highest severity of a finding emitted, -1 none */
	uint32_t user_mask;  /* optional events the user asked to see (FTPI_EVMASK_*) */

	/* -w: comments collected for the packet being fed. */
	struct pcapng_out *pcapng;
	struct annot_comments pc;
	struct annot annot;

	/* SIGHUP: output files to reopen, in registration order. */
	struct {
		app_reopen_fn fn;
		void *arg;
		const char *name;
	} reopen[APP_MAX_REOPEN];
	size_t n_reopen;

	/* --log-dir: the Zeek logs, or NULL. */
	struct zeek_logs *zlogs;
	/* --report: the HTML report's tables, or NULL. */
	struct report *report;
	/* --file-hashes: libmagic, and the type of the data event being handled (or NULL). */
	struct filetype *ftype;
	const char *data_mime;

	/* Live: when the capture dropped packets (main.c), or NULL. */
	struct drop_watch *drops;
	struct sorted *sorted; /* --sort: events held until the end */

	/* --share / --events-to (share.c), or NULL. */
	ftpi_expect_store *share;
	ftpi_share_stream *events;
	FILE *fp_real; /* stdout under the --events-to tee */
	char sensor[64];
	int share_warned, events_warned;
};

/* share.c: --share, --sensor, --share-wait, --events-to. 0, or -1 with the reason in err. */
int cli_share_open(struct app *a, const struct cli_opts *o, struct ftpi_config *cfg, char *err,
		   size_t n);
void cli_share_check(struct app *a);
size_t cli_share_counters(struct app *a, const char *names[16], uint64_t values[16]);
void cli_share_drain(struct app *a);
void cli_share_close(struct app *a);
void cli_share_free(struct app *a);

/* Registers an output file for SIGHUP reopening. 0, or -1 when the table is full. */
int app_on_reopen(struct app *a, const char *name, app_reopen_fn fn, void *arg);

/* Whether an optional event type is shown to the user (vs. enabled for internal use only;
 * out_util.c). */
int app_wants(const struct app *a, int ev_type);

/* The formats: one file each (out_<name>.c), registered in main.c's table. */
extern const struct out_ops out_text_ops;
extern const struct out_ops out_json_ops;
extern const struct out_ops out_zeek_ops;

/* ---- out_zeek.c: Zeek logs ------------------------------------------------------------------ */
struct zeek_logs;
/* ftp.log written to f (--format zeek; f stays open). NULL when out of memory. */
struct zeek_logs *zeek_logs_open_stream(const struct cli_opts *o, FILE *f);
/* --log-dir: DIR/ftp.log and DIR/notice.log (DIR is created when missing). NULL with a reason. */
struct zeek_logs *zeek_logs_open_dir(const struct cli_opts *o, const char *dir, char *err,
				     size_t errlen);
/* mime: the content type of a data event (--file-hashes), or NULL. */
void zeek_logs_event(struct zeek_logs *z, const struct ftpi_event *ev, const char *mime);
/* SIGHUP: each file gets its #close line and is opened anew (appending) with a new header. */
int zeek_logs_reopen(struct zeek_logs *z, char *err, size_t errlen);
int zeek_logs_flush(struct zeek_logs *z);
/* Ends the open sessions' rows, writes #close lines, closes the files: 0 or -1 (write error). */
int zeek_logs_close(struct zeek_logs *z);
/* The Zeek connection uid of a session ("C" + 17 base-62 digits, random per run; "-" for 0). */
const char *zeek_uid(char *buf, size_t buflen, uint64_t session_id);

/* ---- filetype.c: --file-hashes, content types with libmagic --------------------------------- */
struct filetype;
struct filetype *filetype_open(char *err, size_t errlen);
/* The MIME type of content starting with head ("text/plain"), or NULL. Valid until the next
 * call. */
const char *filetype_mime(struct filetype *t, struct ftpi_span head);
void filetype_close(struct filetype *t);
/* Lower-case hex of n bytes into buf (2n + 1 bytes). */
const char *cli_hex(char *buf, size_t buflen, const uint8_t *p, size_t n);

/* ---- out_report.c: --report FILE.html ------------------------------------------------------- */
struct report;
/* NULL when out of memory. The agreed passive range (0, 0: none) colours the histogram. */
struct report *report_new(const char *path, uint16_t pasv_min, uint16_t pasv_max);
void report_event(struct report *r, const struct ftpi_event *ev);
/* Writes the page: 0, or -1 with a reason in err. */
int report_write(struct report *r, char *err, size_t errlen);
void report_free(struct report *r);

/* ---- out_util.c: helpers shared by the formats ------------------------------------------- */
/* Escapes a wire span into buf (always NUL-terminated). */
const char *cli_esc(char *buf, size_t buflen, struct ftpi_span s);
/* Text the library already escaped (finding message/evidence): copied when printable ASCII,
 * escaped otherwise. */
const char *cli_safe(char *buf, size_t buflen, struct ftpi_span s);
/* "10.0.0.1:21" or "[fd00::1]:21". */
const char *cli_endpoint(char *buf, size_t buflen, const struct ftpi_endpoint *ep);
/* ftpi_addr_format, the IPv6 text of recent addresses remembered (per thread). */
size_t cli_addr_format(const struct ftpi_addr *a, char *buf, size_t buflen);

/* An index of ids (session ids) to positions in an array the caller keeps: open addressing,
 * at most half full (it doubles, from 64 slots), removal by backward shift. Zeroed = empty. */
struct cli_idx {
	struct cli_idx_slot {
		uint64_t id;
		uint32_t pos1; /* position + 1; 0: an empty slot */
	} *slot;
	unsigned bits; /* 1 << bits slots */
	size_t n;
};
/* 1 and *pos when id is in the index. */
int cli_idx_get(const struct cli_idx *x, uint64_t id, size_t *pos);
/* Adds id at pos, or moves it there; -1 when the table cannot grow (no memory). */
int cli_idx_put(struct cli_idx *x, uint64_t id, size_t pos);
void cli_idx_del(struct cli_idx *x, uint64_t id);
void cli_idx_free(struct cli_idx *x);
/* The decimal digits of v, at least width of them (zero-padded), written at the end of d; *start
 * is where they begin; returns their count. No printf: it runs several times per event. */
#define CLI_DIGITS_MAX 24
size_t cli_digits(char d[CLI_DIGITS_MAX], uint64_t v, int width, const char **start);
/* Append s, or v in decimal (at least width digits), at buf[len] as snprintf would: what fits of
 * it within buflen - 1 bytes, always NUL-terminated; the new length. */
size_t cli_put_str(char *buf, size_t buflen, size_t len, const char *s);
size_t cli_put_u64(char *buf, size_t buflen, size_t len, unsigned long long v, int width);
/* Epoch seconds with 6 decimals. */
const char *cli_time(char *buf, size_t buflen, uint64_t us);
/* "2024-05-01 10:00:00.123456" UTC. */
const char *cli_time_human(char *buf, size_t buflen, uint64_t us);
/* A short recommendation for a server event (json "recommendation"). */
const char *cli_server_recommendation(char *buf, size_t buflen, const struct ftpi_event *ev);

/* ---- jsonw.c: event lines written straight into a reused buffer ---------------------------- */
struct cli_jw {
	char *buf;
	size_t len, cap;
	int oom;
	int in_array; /* 1 in an empty array, >1 after its first element */
};

/* Starts the line {"event":event,"ts":ts_us; every call below appends one member. */
void cli_jw_begin(struct cli_jw *w, const char *event, uint64_t ts_us);
/* Closes the line and writes it to f with one fwrite. */
void cli_jw_end(struct cli_jw *w, FILE *f);
void cli_jw_free(struct cli_jw *w);
/* Plain text in the same buffer: empty it, append a string or a decimal, write it out. */
void cli_jw_reset(struct cli_jw *w);
void cli_jw_puts(struct cli_jw *w, const char *s);
void cli_jw_putu(struct cli_jw *w, uint64_t v);
void cli_jw_write(struct cli_jw *w, FILE *f);
/* "k":"s" (escaped as JSON), or "k":null when s is NULL. s must be text, not wire bytes. */
void cli_jw_str(struct cli_jw *w, const char *k, const char *s);
void cli_jw_null(struct cli_jw *w, const char *k);
void cli_jw_int(struct cli_jw *w, const char *k, int64_t v);
void cli_jw_bool(struct cli_jw *w, const char *k, int v);
/* Epoch seconds with exactly 6 decimals. */
void cli_jw_time(struct cli_jw *w, const char *k, uint64_t us);
/* The span through cli_esc(); null when it is empty and null_if_empty. */
void cli_jw_span(struct cli_jw *w, const char *k, struct ftpi_span s, int null_if_empty);
/* The span through cli_safe() (library text that is escaped already). */
void cli_jw_safe(struct cli_jw *w, const char *k, struct ftpi_span s);
/* {"ip":..,"port":..} */
void cli_jw_endpoint(struct cli_jw *w, const char *k, const struct ftpi_endpoint *ep);
/* "k":["s1","s2",...] */
void cli_jw_array_begin(struct cli_jw *w, const char *k);
void cli_jw_array_str(struct cli_jw *w, const char *s);
void cli_jw_array_end(struct cli_jw *w);

/* ---- out_util.c: JSON lines with jansson (stats, summary: once per run) ------------------- */
#include <jansson.h>

/* {"ip": .., "port": ..} */
json_t *cli_json_endpoint(const struct ftpi_endpoint *ep);
/* The time as Suricata's EVE writes it: local time with microseconds and the numeric offset
 * ("2024-05-01T10:00:00.123456+0000"); NULL when it cannot be formatted. */
const char *cli_eve_time(char *buf, size_t buflen, uint64_t us);
/* obj["timestamp"] = that time (null when it cannot be formatted). */
void cli_json_timestamp(json_t *obj, uint64_t us);
/* Community ID v1 (seed 0) of a connection: "1:" + base64(SHA-1), or NULL when the endpoints
 * cannot make one (unset, mixed families). The last ids are kept (CLI_CID_MEMO of them):
 * output goes through one thread at a time. */
#define CLI_CID_MEMO 8192u
const char *cli_community_id(char *buf, size_t buflen, const struct ftpi_endpoint *client,
			     const struct ftpi_endpoint *server, uint8_t proto);
/* What an engine that cannot be made for want of memory adds to its error: the tables sized by
 * the capacities do not fit in the memory cap. */
#define CLI_CAPS_NOMEM                                                                             \
	" (the tables for --max-flows, --max-sessions and --max-expectations do not fit in "       \
	"--mem-cap)"
/* Writes {"event":event,"ts":ts, ...obj} as one line and releases obj. */
void cli_json_emit(FILE *f, const char *event, uint64_t ts_us, json_t *obj);

/* ---- summary.c ------------------------------------------------------------------------------ */
struct summary *summary_new(void);
void summary_event(struct summary *s, const struct ftpi_event *ev);
void summary_print_text(struct summary *s, FILE *f, int color);
/* Writes {"event":"summary","ts":..,"servers":[...]} as one line. */
void summary_print_json(struct summary *s, FILE *f, uint64_t ts_us);
void summary_free(struct summary *s);

#endif /* FTPINSPECT_CLI_H */
