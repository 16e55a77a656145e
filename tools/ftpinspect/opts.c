/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * opts.c - command line (getopt_long) and config file parsing for ftpinspect. Every number is
 * read with a strict bounded parser (no atoi/sscanf/strtol on user text); every error names the
 * flag, or the config file and line, and the bad value, and is a usage error (exit 2). The
 * config file is read with libinih: `key = value` lines whose keys are the long options'
 * names, `[sections]` to group them (their names are free), `#` and `;` comments.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include "cli.h"
#include "opts.h"

#define CLI_STR2(x) #x
#define CLI_STR(x)  CLI_STR2(x)

#ifndef FTPI_DEFAULT_CONFIG
#define FTPI_DEFAULT_CONFIG "/etc/ftpinspect/ftpinspect.conf"
#endif

enum {
	OPT_FORMAT = 256,
	OPT_DURATION,
	OPT_ALLOW_ROOT,
	OPT_FLOWS,
	OPT_STATS,
	OPT_SUMMARY,
	OPT_CONFIG,
	OPT_PASSIVE_RANGE,
	OPT_ALLOW_CLIENT,
	OPT_ALLOW_SERVER,
	OPT_BRUTE_FORCE,
	OPT_SHOW_PASSWORDS,
	OPT_CA_FILE,
	OPT_SERVER_NAME,
	OPT_CTRL_PORT,
	OPT_NO_NDPI,
	OPT_VERIFY_CHECKSUMS,
	OPT_FAIL_ON,
	OPT_COLOR,
	OPT_NO_PROGRESS,
	OPT_NO_READ_AHEAD,
	OPT_IMMEDIATE,
	OPT_WORKERS,
	OPT_SORT,
	OPT_LOG_DIR,
	OPT_ZEEK_COMMANDS,
	OPT_REPORT,
	OPT_FILE_HASHES,
	OPT_CA_DIR,
	OPT_MAX_LINE,
	OPT_MAX_PENDING,
	OPT_MAX_USER,
	OPT_MAX_ARG,
	OPT_MAX_REPLY,
	OPT_MAX_FLOWS,
	OPT_MAX_SESSIONS,
	OPT_MAX_EXPECTATIONS,
	OPT_MEM_CAP,
	OPT_SHARE,
	OPT_SENSOR,
	OPT_SHARE_WAIT,
	OPT_EVENTS_TO,
	OPT_EVENTS_MAXLEN
};

static const struct option long_opts[] = {
	{"read", required_argument, NULL, 'r'},
	{"interface", required_argument, NULL, 'i'},
	{"snaplen", required_argument, NULL, 's'},
	{"buffer-size", required_argument, NULL, 'B'},
	{"count", required_argument, NULL, 'c'},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"user", required_argument, NULL, 'Z'},
	{"allow-root", no_argument, NULL, OPT_ALLOW_ROOT},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"verbose", no_argument, NULL, 'v'},
	{"flows", no_argument, NULL, OPT_FLOWS},
	{"stats", no_argument, NULL, OPT_STATS},
	{"write", required_argument, NULL, 'w'},
	{"summary", no_argument, NULL, OPT_SUMMARY},
	{"config", required_argument, NULL, OPT_CONFIG},
	{"passive-range", required_argument, NULL, OPT_PASSIVE_RANGE},
	{"allow-client", required_argument, NULL, OPT_ALLOW_CLIENT},
	{"allow-server", required_argument, NULL, OPT_ALLOW_SERVER},
	{"brute-force", required_argument, NULL, OPT_BRUTE_FORCE},
	{"show-passwords", no_argument, NULL, OPT_SHOW_PASSWORDS},
	{"ca-file", required_argument, NULL, OPT_CA_FILE},
	{"ca-dir", required_argument, NULL, OPT_CA_DIR},
	{"max-line-length", required_argument, NULL, OPT_MAX_LINE},
	{"max-pending-commands", required_argument, NULL, OPT_MAX_PENDING},
	{"max-user-length", required_argument, NULL, OPT_MAX_USER},
	{"max-arg-length", required_argument, NULL, OPT_MAX_ARG},
	{"max-reply-length", required_argument, NULL, OPT_MAX_REPLY},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"max-sessions", required_argument, NULL, OPT_MAX_SESSIONS},
	{"max-expectations", required_argument, NULL, OPT_MAX_EXPECTATIONS},
	{"mem-cap", required_argument, NULL, OPT_MEM_CAP},
	{"server-name", required_argument, NULL, OPT_SERVER_NAME},
	{"ctrl-port", required_argument, NULL, OPT_CTRL_PORT},
	{"no-ndpi", no_argument, NULL, OPT_NO_NDPI},
	{"verify-checksums", no_argument, NULL, OPT_VERIFY_CHECKSUMS},
	{"fail-on", required_argument, NULL, OPT_FAIL_ON},
	{"color", required_argument, NULL, OPT_COLOR},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"no-read-ahead", no_argument, NULL, OPT_NO_READ_AHEAD},
	{"immediate", no_argument, NULL, OPT_IMMEDIATE},
	{"immediate-mode", no_argument, NULL, OPT_IMMEDIATE},
	{"list-interfaces", no_argument, NULL, 'D'},
	{"log-dir", required_argument, NULL, OPT_LOG_DIR},
	{"zeek-commands", required_argument, NULL, OPT_ZEEK_COMMANDS},
	{"report", required_argument, NULL, OPT_REPORT},
	{"file-hashes", optional_argument, NULL, OPT_FILE_HASHES},
	{"quiet", no_argument, NULL, 'q'},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"sort", no_argument, NULL, OPT_SORT},
	{"share", required_argument, NULL, OPT_SHARE},
	{"sensor", required_argument, NULL, OPT_SENSOR},
	{"share-wait", required_argument, NULL, OPT_SHARE_WAIT},
	{"events-to", required_argument, NULL, OPT_EVENTS_TO},
	{"events-maxlen", required_argument, NULL, OPT_EVENTS_MAXLEN},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0}};

void cli_usage(FILE *f)
{
	fputs("Usage: ftpinspect [options] [-r FILE]... [BPF filter words]\n"
	      "       ftpinspect [options] -i IFACE [BPF filter words]\n"
	      "Security review of FTP and FTPS traffic: sessions, data connections, findings.\n"
	      "\n"
	      "Input:\n"
	      "  -r FILE, --read FILE    read a pcap or pcapng file; repeatable (read in order);\n"
	      "                          '-' reads standard input; .gz files are read too; a file\n"
	      "                          still being written is read up to its last whole packet\n"
	      "  -i IFACE, --interface IFACE\n"
	      "                          capture live from IFACE (promiscuous; the kernel hands\n"
	      "                          packets over in blocks, at the latest after 1 s)\n"
	      "  --immediate, --immediate-mode\n"
	      "                          live: deliver packet by packet (lower latency, more CPU;\n"
	      "                          drops packets on a busy link)\n"
	      "  -D, --list-interfaces   list the interfaces that can be captured on, and exit\n"
	      "  -s SNAPLEN, --snaplen SNAPLEN\n"
	      "                          bytes captured per packet (live; default and 0: 262144)\n"
	      "  -B KiB, --buffer-size KiB\n"
	      "                          kernel capture buffer size in KiB (live; default "
	      CLI_STR(CAP_DEFAULT_BUFFER_KIB) " = 64 MiB)\n"
	      "  -c COUNT, --count COUNT stop after COUNT packets\n"
	      "  -G SECONDS, --duration SECONDS\n"
	      "                          stop after SECONDS (live: wall clock, also on a quiet\n"
	      "                          link; files: capture time)\n"
	      "  -Z USER, --user USER    drop privileges to USER once the interface is open\n"
	      "  --workers N|auto        N engines on N threads (default 1); files: one reader,\n"
	      "                          one queue per worker; live: an AF_PACKET fanout group\n"
	      "                          of N sockets. auto: live, one per core the process may\n"
	      "                          use (taskset, cpusets); files, one engine (faster)\n"
	      "  --no-read-ahead         read capture files on the analysing thread only (by\n"
	      "                          default a regular file is read ahead on a thread of its\n"
	      "                          own when there is a core to spare)\n"
	      "  --share redis://[USER:PASS@]HOST:PORT[/DB]\n"
	      "                          share expectations with other sensors through Redis\n"
	      "                          (docs/sensors.md): a data connection whose control\n"
	      "                          connection another sensor saw is reported here, with\n"
	      "                          control_sensor; the URL is never shown with its password\n"
	      "  --sensor NAME           this sensor's name in Redis (default: the host name;\n"
	      "                          letters, digits, '.', '_', '-')\n"
	      "  --share-wait SECONDS|MSms\n"
	      "                          how long an unexplained connection waits for another\n"
	      "                          sensor's expectation, and a missing-data verdict for a\n"
	      "                          claim (capture and wall time; default 3)\n"
	      "  --allow-root            keep running as root on a live interface\n"
	      "  -n                      accepted for tcpdump users: names are never resolved\n"
	      "  FILTER                  trailing words form a BPF filter (as in tcpdump), "
	      "applied\n"
	      "                          to live captures and files\n"
	      "\n"
	      "Output:\n"
	      "  --format text|json|zeek text for people (default), JSON lines (docs/events.md),\n"
	      "                          or a Zeek ftp.log TSV\n"
	      "  -v, --verbose           also show command, reply, expect and anomaly events\n"
	      "  --flows                 a 'flow' line per TCP flow\n"
	      "  --stats                 final statistics (every engine counter; capture\n"
	      "                          received/dropped for live)\n"
	      "  -w OUT.pcapng, --write OUT.pcapng\n"
	      "                          write every input packet to OUT.pcapng, with a comment "
	      "on\n"
	      "                          each packet that raised a finding or announced/opened a\n"
	      "                          data connection; SIGHUP reopens it (log rotation).\n"
	      "                          -w - writes the pcapng to standard output, and the\n"
	      "                          events then go to standard error\n"
	      "  -l                      line-buffered output (each event written at once)\n"
	      "  -U                      packet-buffered output: events and -w flushed after\n"
	      "                          each packet (live capture flushes after each batch\n"
	      "                          anyway)\n"
	      "  -q, --quiet             no 'listening on' line, progress line or final packet\n"
	      "                          counts on stderr (drops are still reported)\n"
	      "  --log-dir DIR           also write Zeek logs into DIR (created when missing):\n"
	      "                          ftp.log and notice.log (one row per finding); SIGHUP\n"
	      "                          reopens them\n"
	      "  --zeek-commands LIST    commands ftp.log rows are written for, comma-separated\n"
	      "                          (Zeek's FTP::logged_commands; default APPE,DELE,RETR,\n"
	      "                          STOR,STOU,ACCT,PORT,PASV,EPRT,EPSV; <init>: the\n"
	      "                          greeting)\n"
	      "  --report FILE.html      at the end, a self-contained HTML report (no scripts,\n"
	      "                          inline SVG charts): per server sessions, logins,\n"
	      "                          findings, passive ports, firewall rule, certificates;\n"
	      "                          a timeline\n"
	      "  --file-hashes, --file-hashes=LIST\n"
	      "                          hash each clear-text data connection's payload as it\n"
	      "                          streams (LIST: md5,sha1,sha256; default sha256) and\n"
	      "                          type it from its first bytes (libmagic): data events\n"
	      "                          get sha256 and mime_type, --log-dir a files.log\n"
	      "  --events-to redis://[USER:PASS@]HOST:PORT/STREAM\n"
	      "                          also append every JSON event to a Redis stream (XADD,\n"
	      "                          MAXLEN ~ --events-maxlen, default 100000), as stdout's\n"
	      "                          JSON lines\n"
	      "  --summary               per-server review with recommendations at the end\n"
	      "  --color auto|always|never\n"
	      "                          colour text output (auto: when stdout is a terminal and\n"
	      "                          neither NO_COLOR is set nor TERM=dumb)\n"
	      "  --no-progress           no progress line on stderr when reading files\n"
	      "  --sort                  write events in capture-time order (held until the end;\n"
	      "                          the order between sessions is otherwise free with\n"
	      "                          --workers)\n"
	      "\n"
	      "Config file: --config FILE, else /etc/ftpinspect/ftpinspect.conf when present\n"
	      "($FTPINSPECT_CONFIG names another; empty: none): INI 'key = value' lines, keys\n"
	      "named like the long options (yes/no for flags), [sections] free; flags override\n"
	      "the file.\n"
	      "  --config FILE           read settings from FILE\n"
	      "\n"
	      "Policy:\n"
	      "  --passive-range LO-HI   the agreed passive port range, e.g. 50000-50100\n"
	      "  --allow-client CIDR     allowed client network; repeatable\n"
	      "  --allow-server CIDR     allowed server network; repeatable\n"
	      "  --brute-force N/SECONDS failed logins from one client within SECONDS (e.g. "
	      "5/300)\n"
	      "  --show-passwords        show passwords instead of *** (off by default)\n"
	      "  --ca-file FILE          PEM CA bundle for certificate checks (must hold a\n"
	      "                          certificate: exit 2 otherwise)\n"
	      "  --ca-dir DIR            directory of PEM CA certificates (same rule)\n"
	      "  --max-line-length N     control line cap in bytes, 64..1048576 (default 4096);\n"
	      "                          longer lines are reported as overlong\n"
	      "  --max-pending-commands N\n"
	      "                          commands waiting for replies per session, 1..256\n"
	      "                          (default 16)\n"
	      "  --max-user-length N     user name kept per session, 1..128 (default 128)\n"
	      "  --max-arg-length N      command argument kept (file names), 1..256 (default 256)\n"
	      "  --max-reply-length N    reply text kept, 16..512 (default 512)\n"
	      "  --max-flows N           TCP flows held at once, 1024..16777216 (default 65536);\n"
	      "                          the least recently used is evicted beyond\n"
	      "  --max-sessions N        FTP sessions at once, 1..16777216 (default 16384)\n"
	      "  --max-expectations N    announced data connections held, 1..16777216\n"
	      "                          (default 65536)\n"
	      "  --mem-cap MIB           memory of the inspection, 16..1048576 MiB (default 512);\n"
	      "                          these four apply to each worker\n"
	      "  --server-name NAME      name the server certificate must carry without SNI\n"
	      "  --ctrl-port PORT        also treat PORT as an FTP control port; repeatable\n"
	      "  --no-ndpi               do not classify flows with nDPI\n"
	      "  --verify-checksums      drop packets with bad IP/TCP checksums (counted anyway)\n"
	      "  --fail-on info|low|medium|high\n"
	      "                          exit 3 when a finding at or above this severity was seen\n"
	      "\n"
	      "  -h, --help              this help\n"
	      "  -V, --version           program and library versions\n"
	      "\n"
	      "Signals: SIGINT/SIGTERM stop (live: what the kernel holds is read first), SIGUSR1\n"
	      "prints statistics, SIGHUP reopens output files. A closed output pipe ends the run\n"
	      "quietly with status 0.\n"
	      "Exit status: 0 ok, 1 runtime error, 2 usage error, 3 --fail-on threshold reached.\n",
	      f);
}

unsigned cli_cores(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 4096 ? 4096 : (unsigned)n;
}

unsigned cli_workers_for(unsigned cores, int live, int writes)
{
	unsigned n = live && !writes ? cores : 1;
	return n < 1 ? 1 : n > CLI_MAX_WORKERS ? CLI_MAX_WORKERS : n;
}

int cli_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_port(const char *s, uint16_t *out)
{
	uint64_t v;
	if (cli_parse_u64(s, 65535, &v) != 0 || v == 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* Splits "A<sep>B" into two bounded numbers. */
static int parse_pair(const char *s, char sep, uint64_t max1, uint64_t max2, uint64_t *a,
		      uint64_t *b)
{
	char tmp[64];
	const char *p = strchr(s, sep);
	size_t n;

	if (p == NULL)
		return -1;
	n = (size_t)(p - s);
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (cli_parse_u64(tmp, max1, a) != 0 || cli_parse_u64(p + 1, max2, b) != 0)
		return -1;
	return 0;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (d == NULL) {
		fputs("ftpinspect: out of memory\n", stderr);
		exit(1);
	}
	return d;
}

/* Applies one policy key (val NULL: a flag from the command line). On error writes a reason
 * into err and returns -1. */
/* The numeric limits, in enum cli_key order from CLI_K_MAX_LINE: allowed range. */
static const struct {
	uint32_t lo, hi;
} limits[] = {{64, 1048576}, {1, 256}, {1, 128}, {1, 256}, {16, 512},
	      {1024, 16777216}, {1, 16777216}, {1, 16777216}, {16, 1048576}};

static int apply_key(struct cli_opts *o, int key, const char *val, char *err, size_t errlen)
{
	uint64_t a, b;
	int flag;

	switch (key) {
	case CLI_K_PASSIVE_RANGE:
		if (parse_pair(val, '-', 65535, 65535, &a, &b) != 0 || a == 0 || b < a) {
			snprintf(err, errlen,
				 "bad value '%s': expected LO-HI, 1 <= LO <= HI <= 65535", val);
			return -1;
		}
		o->pasv_min = (uint16_t)a;
		o->pasv_max = (uint16_t)b;
		return 0;
	case CLI_K_ALLOW_CLIENT:
	case CLI_K_ALLOW_SERVER: {
		struct ftpi_cidr *list =
			key == CLI_K_ALLOW_CLIENT ? o->allow_clients : o->allow_servers;
		size_t *n = key == CLI_K_ALLOW_CLIENT ? &o->n_allow_clients : &o->n_allow_servers;
		if (*n >= CLI_MAX_CIDRS) {
			snprintf(err, errlen, "too many networks (at most %d)", CLI_MAX_CIDRS);
			return -1;
		}
		if (ftpi_cidr_parse(&list[*n], val) != FTPI_OK) {
			snprintf(err, errlen, "bad network '%s': expected ADDRESS[/PREFIX]", val);
			return -1;
		}
		(*n)++;
		return 0;
	}
	case CLI_K_BRUTE_FORCE:
		if (parse_pair(val, '/', 1000000, 31536000, &a, &b) != 0 || a == 0 || b == 0) {
			snprintf(err, errlen,
				 "bad value '%s': expected N/SECONDS (e.g. 5/300), both positive",
				 val);
			return -1;
		}
		o->bf_threshold = (uint32_t)a;
		o->bf_window_s = b;
		return 0;
	case CLI_K_SHOW_PASSWORDS:
	case CLI_K_NO_NDPI:
	case CLI_K_VERIFY_CHECKSUMS:
		if (val == NULL) {
			flag = 1;
		} else if (parse_bool(val, &flag) != 0) {
			snprintf(err, errlen, "bad value '%s': expected yes or no", val);
			return -1;
		}
		if (key == CLI_K_SHOW_PASSWORDS)
			o->show_passwords = flag;
		else if (key == CLI_K_NO_NDPI)
			o->no_ndpi = flag;
		else
			o->verify_checksums = flag;
		return 0;
	case CLI_K_MAX_LINE:
	case CLI_K_MAX_PENDING:
	case CLI_K_MAX_USER:
	case CLI_K_MAX_ARG:
	case CLI_K_MAX_REPLY:
	case CLI_K_MAX_FLOWS:
	case CLI_K_MAX_SESSIONS:
	case CLI_K_MAX_EXPECTATIONS:
	case CLI_K_MEM_CAP: {
		uint32_t lo = limits[key - CLI_K_MAX_LINE].lo, hi = limits[key - CLI_K_MAX_LINE].hi;
		if (cli_parse_u64(val, hi, &a) != 0 || a < lo) {
			snprintf(err, errlen, "bad value '%s': expected %u..%u", val, lo, hi);
			return -1;
		}
		o->limit[key - CLI_K_MAX_LINE] = (uint32_t)a;
		return 0;
	}
	case CLI_K_CA_FILE:
	case CLI_K_CA_DIR:
	case CLI_K_SERVER_NAME: {
		char **dst = key == CLI_K_CA_FILE  ? &o->ca_file
			     : key == CLI_K_CA_DIR ? &o->ca_dir
						   : &o->server_name;
		if (*val == '\0') {
			snprintf(err, errlen, "empty value");
			return -1;
		}
		free(*dst);
		*dst = xstrdup(val);
		return 0;
	}
	case CLI_K_FAIL_ON: {
		int s = ftpi_severity_from_name(val);
		if (s < 0) {
			snprintf(err, errlen,
				 "bad severity '%s': expected info, low, medium or high", val);
			return -1;
		}
		o->fail_on = s;
		return 0;
	}
	case CLI_K_CTRL_PORT:
		if (o->n_ctrl_ports >= CLI_MAX_CTRL_PORTS) {
			snprintf(err, errlen, "too many control ports (at most %d)",
				 CLI_MAX_CTRL_PORTS);
			return -1;
		}
		if (parse_port(val, &o->ctrl_ports[o->n_ctrl_ports]) != 0) {
			snprintf(err, errlen, "bad port '%s': expected 1-65535", val);
			return -1;
		}
		o->n_ctrl_ports++;
		return 0;
	}
	snprintf(err, errlen, "unknown key");
	return -1;
}

static char *trim(char *s)
{
	char *e;
	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* The option of each policy key, in enum cli_key order. */
static const int key_opts[CLI_K__COUNT] = {
	OPT_PASSIVE_RANGE, OPT_ALLOW_CLIENT, OPT_ALLOW_SERVER, OPT_BRUTE_FORCE,
	OPT_SHOW_PASSWORDS, OPT_CA_FILE, OPT_SERVER_NAME, OPT_FAIL_ON,
	OPT_CTRL_PORT, OPT_NO_NDPI, OPT_VERIFY_CHECKSUMS, OPT_CA_DIR,
	OPT_MAX_LINE, OPT_MAX_PENDING, OPT_MAX_USER, OPT_MAX_ARG, OPT_MAX_REPLY,
	OPT_MAX_FLOWS, OPT_MAX_SESSIONS, OPT_MAX_EXPECTATIONS, OPT_MEM_CAP};

#define OPT_SLOTS 512
static size_t opt_slot(int c)
{
	return (size_t)c % OPT_SLOTS;
}

/* What a bad value of option c should have been. */
static const char *opt_expect(int c)
{
	switch (c) {
	case 's':
		return "expected 0..262144 (0: 262144)";
	case 'B':
		return "expected a size in KiB, 1..4194303";
	case 'c':
		return "expected a positive packet count";
	case 'G':
	case OPT_DURATION:
		return "expected a positive number of seconds";
	case 'Z':
		return "expected a user name";
	case OPT_FORMAT:
		return "expected text, json or zeek";
	case OPT_COLOR:
		return "expected auto, always or never";
	case OPT_WORKERS:
		return "expected 1..64 or auto";
	case OPT_SENSOR:
		return "expected 1..48 letters, digits, '.', '_' or '-'";
	case OPT_SHARE_WAIT:
		return "expected seconds (0..3600) or milliseconds (NNNms)";
	case OPT_EVENTS_MAXLEN:
		return "expected a positive number of entries";
	case OPT_LOG_DIR:
		return "expected a directory";
	case OPT_REPORT:
		return "expected a file name";
	case OPT_FILE_HASHES:
		return "expected md5, sha1, sha256, comma-separated (yes/no in the config file)";
	case OPT_ZEEK_COMMANDS:
		return "expected VERB[,VERB]... (letters or <init>; at most " CLI_STR(
			CLI_MAX_ZEEK_CMDS) ")";
	default:
		return "invalid";
	}
}

/* "-s" or "--snaplen": the option as the user wrote it (short form when it has one). */
static const char *opt_name(int c, char *buf, size_t buflen)
{
	if (c > 0 && c < 256) {
		snprintf(buf, buflen, "-%c", c);
		return buf;
	}
	for (const struct option *lo = long_opts; lo->name != NULL; lo++) {
		if (lo->val == c) {
			snprintf(buf, buflen, "--%s", lo->name);
			return buf;
		}
	}
	snprintf(buf, buflen, "?");
	return buf;
}

/* --file-hashes[=LIST]: none given = sha256; the config file may say yes (sha256) or no. */
static int parse_hashes(const char *val, int from_file, unsigned *out)
{
	static const char *const names[] = {"md5", "sha1", "sha256"};
	static const unsigned bits[] = {FTPI_HASH_MD5, FTPI_HASH_SHA1, FTPI_HASH_SHA256};
	const char *p = val;
	int on;

	if (val == NULL) {
		*out = FTPI_HASH_SHA256;
		return 0;
	}
	if (from_file && parse_bool(val, &on) == 0) {
		*out = on ? FTPI_HASH_SHA256 : 0;
		return 0;
	}
	*out = 0;
	while (*p) {
		size_t n = strcspn(p, ","), i;
		for (i = 0; i < 3; i++)
			if (strlen(names[i]) == n && strncasecmp(p, names[i], n) == 0)
				break;
		if (i == 3)
			return -1;
		*out |= bits[i];
		p += n;
		if (*p == ',')
			p++;
	}
	return *out != 0 ? 0 : -1;
}

/* --zeek-commands: comma-separated verbs (letters only, upper-cased), or Zeek's "<init>" (the
 * server's greeting). 0 or -1. */
static int parse_zeek_commands(struct cli_opts *o, const char *val)
{
	const char *p = val;

	o->n_zeek_commands = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		char *dst;
		if (n == 0 || n >= sizeof o->zeek_commands[0] ||
		    o->n_zeek_commands >= CLI_MAX_ZEEK_CMDS)
			return -1;
		dst = o->zeek_commands[o->n_zeek_commands++];
		int init = n == 6 && strncmp(p, "<init>", 6) == 0;
		for (size_t i = 0; i < n; i++) {
			char ch = p[i];
			if (ch >= 'a' && ch <= 'z' && !init)
				ch = (char)(ch - 'a' + 'A');
			else if ((ch < 'A' || ch > 'Z') && !init)
				return -1;
			dst[i] = ch;
		}
		dst[n] = '\0';
		p += n;
		if (*p == ',')
			p++;
	}
	return o->n_zeek_commands > 0 ? 0 : -1;
}

/* Keeps a config file's string for the run (options point at argv or at these). */
static const char *keep(struct cli_opts *o, const char *val, int from_file)
{
	char *d;

	if (!from_file)
		return val;
	if (o->n_owned >= CLI_MAX_OWNED) {
		fputs("ftpinspect: too many config file strings\n", stderr);
		exit(2);
	}
	d = xstrdup(val);
	o->owned[o->n_owned++] = d;
	return d;
}

/* A flag (no value) from the command line is on; from the config file it is yes or no. */
static int flag_value(const char *val, int *on, char *err, size_t errlen)
{
	if (val == NULL) {
		*on = 1;
		return 0;
	}
	if (parse_bool(val, on) != 0) {
		snprintf(err, errlen, "bad value '%s': expected yes or no", val);
		return -1;
	}
	return 0;
}

static int enum_value(const char *val, const char *const *names, size_t n, int *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(val, names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return -1;
}

/* Applies one option (getopt code c) with its value (NULL: a flag from the command line).
 * from_file: the value comes from the config file (strings are copied). 0, or -1 with the
 * reason in err. */
static int apply_opt(struct cli_opts *o, int c, const char *val, int from_file, char *err,
		     size_t errlen)
{
	static const char *const formats[] = {"text", "json", "zeek"};
	static const char *const colors[] = {"auto", "always", "never"};
	uint64_t v;
	int on, e;

	switch (c) {
	case 'r':
		if (o->n_inputs >= CLI_MAX_INPUTS) {
			snprintf(err, errlen, "too many files (at most %d)", CLI_MAX_INPUTS);
			return -1;
		}
		o->inputs[o->n_inputs++] = keep(o, val, from_file);
		return 0;
	case 'i':
		o->iface = keep(o, val, from_file);
		return 0;
	case 's':
		if (cli_parse_u64(val, 262144, &v) != 0)
			break;
		o->snaplen = v == 0 ? 262144 : (uint32_t)v;
		return 0;
	case 'B':
		if (cli_parse_u64(val, 4194303, &v) != 0 || v == 0)
			break;
		o->buffer_kib = (uint32_t)v;
		return 0;
	case 'c':
		if (cli_parse_u64(val, UINT64_MAX, &v) != 0 || v == 0)
			break;
		o->count = v;
		return 0;
	case 'G':
	case OPT_DURATION:
		if (cli_parse_u64(val, 315360000, &v) != 0 || v == 0)
			break;
		o->duration_s = v;
		return 0;
	case 'Z':
		if (*val == '\0')
			break;
		o->drop_user = keep(o, val, from_file);
		return 0;
	case 'w':
		o->write_file = keep(o, val, from_file);
		return 0;
	case OPT_FORMAT:
		if (enum_value(val, formats, 3, &o->format) != 0)
			break;
		return 0;
	case OPT_COLOR:
		if (enum_value(val, colors, 3, &o->color) != 0)
			break;
		return 0;
	case OPT_LOG_DIR:
		if (*val == '\0')
			break;
		o->log_dir = keep(o, val, from_file);
		return 0;
	case OPT_ZEEK_COMMANDS:
		if (parse_zeek_commands(o, val) != 0)
			break;
		return 0;
	case OPT_WORKERS:
		if (strcmp(val, "auto") == 0) { /* resolved once -r/-i/-w are known */
			o->workers_auto = 1;
			o->workers = 1;
			return 0;
		}
		if (cli_parse_u64(val, CLI_MAX_WORKERS, &v) != 0 || v == 0)
			break;
		o->workers = (unsigned)v;
		o->workers_auto = 0;
		return 0;
	case OPT_FILE_HASHES:
		if (parse_hashes(val, from_file, &o->file_hashes) != 0)
			break;
		return 0;
	case OPT_REPORT:
		if (*val == '\0')
			break;
		o->report = keep(o, val, from_file);
		return 0;
	case OPT_SHARE: /* checked when the store is made: an error must not echo a password */
		o->share_url = keep(o, val, from_file);
		return 0;
	case OPT_EVENTS_TO:
		o->events_to = keep(o, val, from_file);
		return 0;
	case OPT_SENSOR: {
		size_t n = strlen(val);
		if (n == 0 || n > 48 || strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "0123456789._-") != n)
			break;
		o->sensor = keep(o, val, from_file);
		return 0;
	}
	case OPT_SHARE_WAIT: {
		size_t n = strlen(val);
		char num[24];
		int ms = n > 2 && strcmp(val + n - 2, "ms") == 0;
		if (ms)
			n -= 2;
		if (n == 0 || n >= sizeof num)
			break;
		memcpy(num, val, n);
		num[n] = 0;
		if (cli_parse_u64(num, ms ? 3600000 : 3600, &v) != 0)
			break;
		o->share_wait_ms = ms ? v : v * 1000;
		o->share_wait_set = 1;
		return 0;
	}
	case OPT_EVENTS_MAXLEN:
		if (cli_parse_u64(val, UINT32_MAX, &v) != 0 || v == 0)
			break;
		o->events_maxlen = v;
		return 0;
	case 'v':
	case 'q':
	case OPT_SORT:
	case OPT_ALLOW_ROOT:
	case OPT_FLOWS:
	case OPT_STATS:
	case OPT_SUMMARY:
	case OPT_NO_PROGRESS:
	case OPT_NO_READ_AHEAD:
	case OPT_IMMEDIATE: {
		int *dst = c == 'v'		  ? &o->verbose
			   : c == 'q'		  ? &o->quiet
			   : c == OPT_SORT	  ? &o->sort
			   : c == OPT_ALLOW_ROOT  ? &o->allow_root
			   : c == OPT_FLOWS	  ? &o->flows
			   : c == OPT_STATS	  ? &o->stats
			   : c == OPT_SUMMARY	  ? &o->summary
			   : c == OPT_NO_PROGRESS ? &o->no_progress
			   : c == OPT_NO_READ_AHEAD ? &o->no_read_ahead
						  : &o->immediate;
		if (flag_value(val, &on, err, errlen) != 0)
			return -1;
		*dst = on;
		return 0;
	}
	default:
		for (e = 0; e < CLI_K__COUNT; e++)
			if (key_opts[e] == c)
				return apply_key(o, e, val, err, errlen);
		snprintf(err, errlen, "not a setting");
		return -1;
	}
	snprintf(err, errlen, "bad value '%s': %s", val, opt_expect(c));
	return -1;
}

/* ---- the config file, read with libinih ----------------------------------------------------- */
struct cfg_read {
	FILE *f;
	struct cli_opts *o;
	const unsigned char *given; /* options given on the command line */
	unsigned long lineno;
	unsigned long err_line;	   /* first error's line, 0 none */
	unsigned long keys;	   /* settings read */
	char err[320];		   /* its message */
	int long_line;
};

/* The config file's options: every long option but these. */
static int cfg_excluded(const char *name)
{
	static const char *const no[] = {"config", "help", "version", "list-interfaces"};
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		if (strcmp(name, no[i]) == 0)
			return 1;
	return 0;
}

__attribute__((format(printf, 2, 3))) static void cfg_error(struct cfg_read *c, const char *fmt,
								...)
{
	va_list ap;

	if (c->err_line != 0)
		return;
	c->err_line = c->lineno;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
}

/* inih's reader: one line at a time, with what inih does not do itself: blanks at the start
 * do not continue the previous value, `#` after a blank starts a comment, and an over-long
 * line is an error rather than two lines. */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_read *c = stream;
	char line[4096], *p;
	size_t n;

	if (fgets(line, sizeof line, c->f) == NULL)
		return NULL;
	c->lineno++;
	n = strlen(line);
	if ((n > 0 && line[n - 1] != '\n' && !feof(c->f)) || n + 1 > (size_t)num) {
		int ch;
		if (n > 0 && line[n - 1] != '\n')
			while ((ch = fgetc(c->f)) != EOF && ch != '\n')
				;
		cfg_error(c, "line too long (at most %d bytes)", num - 2);
		snprintf(str, (size_t)num, "\n");
		return str;
	}
	for (p = line; *p; p++) {
		if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	p = trim(line);
	/* A line inih rejects ("key" without "=") is reported here, with the expected form. */
	if (*p != '\0' && *p != ';' && *p != '[' && strpbrk(p, "=:") == NULL)
		cfg_error(c, "expected 'key = value' or '[section]', got '%s'", p);
	snprintf(str, (size_t)num, "%s\n", p);
	return str;
}

/* inih's handler: sections only group keys; each key is a long option's name. */
static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_read *c = user;
	const struct option *lo;
	char err[256];

	(void)section;
	for (lo = long_opts; lo->name != NULL; lo++)
		if (strcmp(lo->name, name) == 0 && !cfg_excluded(name))
			break;
	if (lo->name == NULL) {
		cfg_error(c, "unknown key '%s'", name);
		return 0;
	}
	if (*value == '\0') {
		cfg_error(c, "%s: missing value", name);
		return 0;
	}
	/* The command line wins; for inputs, any -r/-i there replaces the file's inputs. */
	if (c->given[opt_slot(lo->val)] ||
	    ((lo->val == 'r' || lo->val == 'i') && (c->given[opt_slot('r')] || c->given[opt_slot('i')])))
		return 1;
	c->keys++;
	if (apply_opt(c->o, lo->val, value, 1, err, sizeof err) != 0) {
		cfg_error(c, "%s: %s", name, err);
		return 0;
	}
	return 1;
}

static int load_config(struct cli_opts *o, const char *path, const unsigned char *given)
{
	struct cfg_read c;
	int rc;

	memset(&c, 0, sizeof c);
	c.o = o;
	c.given = given;
	c.f = fopen(path, "r");
	if (c.f == NULL) {
		fprintf(stderr, "ftpinspect: %s: cannot read config file: %s\n", path,
			strerror(errno));
		return -1;
	}
	rc = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
	if (ferror(c.f)) {
		fprintf(stderr, "ftpinspect: %s: read error\n", path);
		fclose(c.f);
		return -1;
	}
	fclose(c.f);
	if (rc == 0 && c.err_line == 0 && c.keys == 0) {
		fprintf(stderr, "ftpinspect: %s: config file holds no setting\n", path);
		return -1;
	}
	if (rc == 0 && c.err_line == 0)
		return 0;
	if (c.err_line == 0 || (rc > 0 && (unsigned long)rc < c.err_line)) {
		/* inih's own syntax error (an unclosed section header, say). */
		fprintf(stderr, "ftpinspect: %s:%d: syntax error: expected 'key = value' or "
				"'[section]'\n", path, rc);
		return -1;
	}
	fprintf(stderr, "ftpinspect: %s:%lu: %s\n", path, c.err_line, c.err);
	return -1;
}

static void version(void)
{
	printf("ftpinspect %s (libftpinspect %s)\n", FTPI_VERSION_STRING, ftpi_version_string());
}

/* The config file read without --config: $FTPINSPECT_CONFIG (empty: none), else the default
 * path when it exists. NULL: none. */
static const char *default_config(void)
{
	const char *env = getenv("FTPINSPECT_CONFIG");

	if (env != NULL)
		return *env ? env : NULL;
	return access(FTPI_DEFAULT_CONFIG, F_OK) == 0 ? FTPI_DEFAULT_CONFIG : NULL;
}

static void defaults(struct cli_opts *o)
{
	memset(o, 0, sizeof *o);
	o->snaplen = 262144;
	o->fail_on = -1;
	o->workers = 1;
}

int cli_opts_load_file(struct cli_opts *o, const char *path, const char **used)
{
	static const unsigned char none[OPT_SLOTS];

	defaults(o);
	*used = path != NULL ? path : default_config();
	return *used != NULL && load_config(o, *used, none) != 0 ? -1 : 0;
}

void cli_engine_config(const struct cli_opts *o, struct ftpi_config *cfg)
{
	static uint16_t ports[CLI_MAX_CTRL_PORTS + 2];
	size_t np = 0;

	ftpi_config_init(cfg);
	cfg->pasv_min = o->pasv_min;
	cfg->pasv_max = o->pasv_max;
	cfg->allow_clients = o->allow_clients;
	cfg->n_allow_clients = o->n_allow_clients;
	cfg->allow_servers = o->allow_servers;
	cfg->n_allow_servers = o->n_allow_servers;
	if (o->bf_threshold > 0) {
		cfg->brute_force_threshold = o->bf_threshold;
		cfg->brute_force_window = o->bf_window_s * 1000000u;
	}
	cfg->redact_credentials = !o->show_passwords;
	cfg->ca_file = o->ca_file;
	cfg->ca_dir = o->ca_dir;
	cfg->server_name = o->server_name;
	uint32_t *lim[] = {&cfg->max_line_len, &cfg->max_pending_commands, &cfg->max_user_len,
			   &cfg->max_arg_len, &cfg->max_reply_len, &cfg->max_flows,
			   &cfg->max_sessions, &cfg->max_expectations}; /* enum cli_key order */
	for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++)
		if (o->limit[i])
			*lim[i] = o->limit[i];
	if (o->limit[CLI_K_MEM_CAP - CLI_K_MAX_LINE])
		cfg->mem_cap = (size_t)o->limit[CLI_K_MEM_CAP - CLI_K_MAX_LINE] << 20;
	if (o->n_ctrl_ports > 0) {
		ports[np++] = 21;
		ports[np++] = 990;
		for (size_t i = 0; i < o->n_ctrl_ports; i++)
			ports[np++] = o->ctrl_ports[i];
		cfg->control_ports = ports;
		cfg->n_control_ports = np;
	}
	if (o->no_ndpi)
		cfg->use_ndpi = 0;
	cfg->verify_checksums = o->verify_checksums;
	cfg->file_hashes = o->file_hashes;
	if (getrandom(cfg->hash_seed, sizeof cfg->hash_seed, GRND_NONBLOCK) !=
	    sizeof cfg->hash_seed)
		cfg->hash_seed[0] ^= (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

int cli_opts_parse(struct cli_opts *o, int argc, char **argv)
{
	static unsigned char given[OPT_SLOTS];
	const char *config;
	char err[256], name[64];
	int c;

	defaults(o);
	memset(given, 0, sizeof given);
	opterr = 0;

	while ((c = getopt_long(argc, argv, ":r:i:s:B:c:G:Z:w:vhVnDlUq", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_CONFIG:
			o->config_file = optarg;
			continue;
		case 'n':
			continue; /* names are never resolved */
		case 'D':
			o->list_ifaces = 1;
			continue;
		case 'l':
			o->line_buffered = 1;
			continue;
		case 'U':
			o->packet_buffered = 1;
			continue;
		case 'h':
			cli_usage(stdout);
			return CLI_PARSE_EXIT0;
		case 'V':
			version();
			return CLI_PARSE_EXIT0;
		case ':':
			if (optopt >= 256 || optopt == 0)
				fprintf(stderr, "ftpinspect: %s: missing value\n",
					argv[optind - 1]);
			else
				fprintf(stderr, "ftpinspect: -%c: missing value\n", optopt);
			fputs("Try 'ftpinspect --help'.\n", stderr);
			return CLI_PARSE_USAGE;
		case '?':
			if (optopt != 0 && optopt < 256)
				fprintf(stderr, "ftpinspect: unknown option -%c\n", optopt);
			else
				fprintf(stderr, "ftpinspect: unknown option %s\n",
					argv[optind - 1]);
			fputs("Try 'ftpinspect --help'.\n", stderr);
			return CLI_PARSE_USAGE;
		default:
			given[opt_slot(c)] = 1;
			if (apply_opt(o, c, optarg, 0, err, sizeof err) != 0) {
				fprintf(stderr, "ftpinspect: %s: %s\n", opt_name(c, name, sizeof name),
					err);
				return CLI_PARSE_USAGE;
			}
		}
	}

	/* Trailing words: the BPF filter. */
	if (optind < argc) {
		size_t len = 1;
		for (int i = optind; i < argc; i++)
			len += strlen(argv[i]) + 1;
		o->filter = malloc(len);
		if (o->filter == NULL) {
			fputs("ftpinspect: out of memory\n", stderr);
			return CLI_PARSE_USAGE;
		}
		o->filter[0] = '\0';
		for (int i = optind; i < argc; i++) {
			if (i > optind)
				strcat(o->filter, " ");
			strcat(o->filter, argv[i]);
		}
	}

	config = o->config_file != NULL ? o->config_file : default_config();
	if (config != NULL && load_config(o, config, given) != 0)
		return CLI_PARSE_USAGE;

	if (o->list_ifaces)
		return CLI_PARSE_OK;
	if (o->workers_auto)
		o->workers = cli_workers_for(cli_cores(), o->iface != NULL, o->write_file != NULL);
	if (o->n_inputs == 0 && o->iface == NULL) {
		fputs("ftpinspect: nothing to read: give -r FILE or -i IFACE (see --help)\n",
		      stderr);
		return CLI_PARSE_USAGE;
	}
	if (o->n_inputs > 0 && o->iface != NULL) {
		fputs("ftpinspect: -r and -i cannot be combined\n", stderr);
		return CLI_PARSE_USAGE;
	}
	size_t n_stdin = 0;
	for (size_t i = 0; i < o->n_inputs; i++)
		n_stdin += strcmp(o->inputs[i], "-") == 0;
	if (n_stdin > 1) {
		fputs("ftpinspect: -r -: standard input can be read only once\n", stderr);
		return CLI_PARSE_USAGE;
	}
	if (o->workers > 1 && o->write_file != NULL) {
		fputs("ftpinspect: -w annotates packets in input order: it needs --workers 1\n",
		      stderr);
		return CLI_PARSE_USAGE;
	}
	return CLI_PARSE_OK;
}

void cli_opts_free(struct cli_opts *o)
{
	for (size_t i = 0; i < o->n_owned; i++)
		free(o->owned[i]);
	o->n_owned = 0;
	free(o->filter);
	free(o->ca_file);
	free(o->ca_dir);
	free(o->server_name);
	o->filter = o->ca_file = o->ca_dir = o->server_name = NULL;
}
