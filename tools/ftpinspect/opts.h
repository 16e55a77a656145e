/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * opts.h - the ftpinspect command line and config file, parsed into one struct cli_opts. This
 * unit only parses and validates text; it opens no capture and knows nothing of libpcap. Flags
 * given on the command line override the same keys in the config file (for repeatable keys the
 * command line's list replaces the file's).
 */
#ifndef FTPINSPECT_OPTS_H
#define FTPINSPECT_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ftpinspect.h"

#define CLI_MAX_INPUTS	   256
#define CLI_MAX_CIDRS	   64
#define CLI_MAX_CTRL_PORTS 32
#define CLI_MAX_WORKERS	   64
#define CLI_MAX_ZEEK_CMDS  64
#define CLI_MAX_OWNED	   (CLI_MAX_INPUTS + 64)

enum cli_format { CLI_FMT_TEXT = 0, CLI_FMT_JSON, CLI_FMT_ZEEK };
enum cli_color { CLI_COLOR_AUTO = 0, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

/* The policy keys (the other settings are plain options; all may come from the config file). */
enum cli_key {
	CLI_K_PASSIVE_RANGE = 0,
	CLI_K_ALLOW_CLIENT,
	CLI_K_ALLOW_SERVER,
	CLI_K_BRUTE_FORCE,
	CLI_K_SHOW_PASSWORDS,
	CLI_K_CA_FILE,
	CLI_K_SERVER_NAME,
	CLI_K_FAIL_ON,
	CLI_K_CTRL_PORT,
	CLI_K_NO_NDPI,
	CLI_K_VERIFY_CHECKSUMS,
	CLI_K_CA_DIR,
	CLI_K_MAX_LINE,
	CLI_K_MAX_PENDING,
	CLI_K_MAX_USER,
	CLI_K_MAX_ARG,
	CLI_K_MAX_REPLY,
	CLI_K_MAX_FLOWS,
	CLI_K_MAX_SESSIONS,
	CLI_K_MAX_EXPECTATIONS,
	CLI_K_MEM_CAP,
	CLI_K__COUNT
};

struct cli_opts {
	const char *inputs[CLI_MAX_INPUTS]; /* -r, in order; "-" = stdin */
	size_t n_inputs;
	const char *iface;     /* -i */
	uint32_t snaplen;      /* -s (default and -s 0: 262144) */
	uint32_t buffer_kib;   /* -B (0 = CAP_DEFAULT_BUFFER_KIB) */
	uint64_t count;	       /* -c (0 = no limit) */
	uint64_t duration_s;   /* -G / --duration (0 = no limit) */
	const char *drop_user; /* -Z */
	int allow_root;
	char *filter; /* trailing words joined by spaces; malloc'd or NULL */
	int format;   /* enum cli_format */
	int verbose;
	int flows;
	int stats;
	const char *write_file; /* -w; "-" = standard output (events then go to stderr) */
	int summary;
	const char *config_file;
	int color; /* enum cli_color */
	int no_progress;
	int no_read_ahead; /* --no-read-ahead */
	int immediate;	     /* --immediate: libpcap immediate mode (packet by packet) */
	int list_ifaces;     /* -D */
	int line_buffered;   /* -l */
	int packet_buffered; /* -U */
	int quiet;	     /* -q */
	unsigned workers; /* --workers (default 1; auto: resolved by cli_workers_for) */
	int workers_auto; /* --workers auto */
	int sort;	  /* --sort */
	const char *log_dir; /* --log-dir: Zeek ftp.log and notice.log there */
	const char *report;  /* --report FILE.html */
	unsigned file_hashes; /* --file-hashes: FTPI_HASH_* bits */
	const char *share_url; /* --share redis://... (may hold a password: never print it) */
	const char *sensor;    /* --sensor (NULL: the host name) */
	uint64_t share_wait_ms; /* --share-wait */
	int share_wait_set;
	const char *events_to; /* --events-to redis://.../STREAM */
	uint64_t events_maxlen; /* --events-maxlen (0: 100000) */
	char zeek_commands[CLI_MAX_ZEEK_CMDS][16]; /* --zeek-commands; none: Zeek's default set */
	size_t n_zeek_commands;

	/* Policy, settable from the config file too. */
	uint16_t pasv_min, pasv_max;
	struct ftpi_cidr allow_clients[CLI_MAX_CIDRS];
	size_t n_allow_clients;
	struct ftpi_cidr allow_servers[CLI_MAX_CIDRS];
	size_t n_allow_servers;
	uint32_t bf_threshold; /* 0 = library default */
	uint64_t bf_window_s;
	int show_passwords;
	char *ca_file;	   /* malloc'd */
	char *ca_dir;	   /* malloc'd */
	/* Limits, indexed by enum cli_key - CLI_K_MAX_LINE (0 = the library's default):
	 * line length, pending commands, user, argument and reply lengths; flows, sessions and
	 * expectations held at once, and the memory cap in MiB (each engine, each worker). */
	uint32_t limit[CLI_K__COUNT - CLI_K_MAX_LINE];
	char *server_name; /* malloc'd */
	int fail_on;	   /* enum ftpi_severity, or -1 */
	uint16_t ctrl_ports[CLI_MAX_CTRL_PORTS];
	size_t n_ctrl_ports;
	int no_ndpi;
	int verify_checksums;

	/* Strings from the config file that options point at (freed by cli_opts_free). */
	char *owned[CLI_MAX_OWNED];
	size_t n_owned;
};

enum cli_parse_result { CLI_PARSE_OK = 0, CLI_PARSE_EXIT0, CLI_PARSE_USAGE };

/* Parses argv into *o (zeroed and defaulted first), then the config file if --config was given.
 * Prints its own error messages on stderr. CLI_PARSE_EXIT0 after --help/--version. */
int cli_opts_parse(struct cli_opts *o, int argc, char **argv);

/* For programs that share the tool's config file (the extcap): *o defaulted, then the settings
 * of path, or with path NULL of the file the tool reads without --config ($FTPINSPECT_CONFIG,
 * else /etc/ftpinspect/ftpinspect.conf when present). *used = the file read, or NULL. 0, or -1
 * after the error (file and line) was printed on stderr. Free with cli_opts_free. */
int cli_opts_load_file(struct cli_opts *o, const char *path, const char **used);

/* The engine settings the options give (policy, caps, CA, hashes, a random hash seed); the
 * caller adds event_mask, on_event and user. Points into *o, which must outlive the engine. */
void cli_engine_config(const struct cli_opts *o, struct ftpi_config *cfg);

/* Frees what cli_opts_parse allocated. */
void cli_opts_free(struct cli_opts *o);

/* The --help text. */
void cli_usage(FILE *f);

/* The cores this process may run on (its CPU affinity mask, as taskset and cgroup cpusets set
 * it; the online cores when that cannot be read), at least 1. */
unsigned cli_cores(void);

/* What --workers auto means on cores cores: live (live != 0), one engine per core, each reading
 * its own socket of the fanout group; files, and with -w (writes != 0), a single engine, whose
 * file a second core reads ahead: on every corpus measured (bench/analysis.md, "Per-core cost,
 * eighth round"), N workers over a file took longer than one engine, since they decide each new
 * connection in step with one another. At most CLI_MAX_WORKERS. */
unsigned cli_workers_for(unsigned cores, int live, int writes);

/* Strict unsigned decimal: digits only, no sign or spaces, value <= max. 0 on success. */
int cli_parse_u64(const char *s, uint64_t max, uint64_t *out);

#endif /* FTPINSPECT_OPTS_H */
