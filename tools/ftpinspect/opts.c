/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * opts.c - command line (getopt_long) and config file parsing for ftpinspect. Every number is
 * read with a strict bounded parser (no atoi/sscanf/strtol on user text); every error names the
 * flag, or the config file and line, and the bad value, and is a usage error (exit 2). The
 * config file holds `key = value` lines named like the long options, with `#` comments.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "opts.h"

#define CLI_STR2(x) #x
#define CLI_STR(x)  CLI_STR2(x)

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
	OPT_IMMEDIATE,
	OPT_WORKERS,
	OPT_SORT,
	OPT_LOG_DIR,
	OPT_ZEEK_COMMANDS
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
	{"server-name", required_argument, NULL, OPT_SERVER_NAME},
	{"ctrl-port", required_argument, NULL, OPT_CTRL_PORT},
	{"no-ndpi", no_argument, NULL, OPT_NO_NDPI},
	{"verify-checksums", no_argument, NULL, OPT_VERIFY_CHECKSUMS},
	{"fail-on", required_argument, NULL, OPT_FAIL_ON},
	{"color", required_argument, NULL, OPT_COLOR},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"immediate", no_argument, NULL, OPT_IMMEDIATE},
	{"immediate-mode", no_argument, NULL, OPT_IMMEDIATE},
	{"list-interfaces", no_argument, NULL, 'D'},
	{"log-dir", required_argument, NULL, OPT_LOG_DIR},
	{"zeek-commands", required_argument, NULL, OPT_ZEEK_COMMANDS},
	{"quiet", no_argument, NULL, 'q'},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"sort", no_argument, NULL, OPT_SORT},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0}};

/* Config file keys, in enum cli_key order. */
static const char *const key_names[CLI_K__COUNT] = {
	"passive-range",  "allow-client", "allow-server",    "brute-force",
	"show-passwords", "ca-file",	  "server-name",     "fail-on",
	"ctrl-port",	  "no-ndpi",	  "verify-checksums"};

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
	      "  --workers N|auto        N engines on N threads (default 1; auto = cores); files:\n"
	      "                          one reader, one queue per worker; live: an AF_PACKET\n"
	      "                          fanout group of N sockets\n"
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
	      "                          STOR,STOU,ACCT,PORT,PASV,EPRT,EPSV)\n"
	      "  --summary               per-server review with recommendations at the end\n"
	      "  --color auto|always|never\n"
	      "                          colour text output (auto: when stdout is a terminal and\n"
	      "                          neither NO_COLOR is set nor TERM=dumb)\n"
	      "  --no-progress           no progress line on stderr when reading files\n"
	      "  --sort                  write events in capture-time order (held until the end;\n"
	      "                          the order between sessions is otherwise free with\n"
	      "                          --workers)\n"
	      "\n"
	      "Policy (also from --config FILE, 'key = value' lines; flags override the file):\n"
	      "  --config FILE           read policy settings from FILE\n"
	      "  --passive-range LO-HI   the agreed passive port range, e.g. 50000-50100\n"
	      "  --allow-client CIDR     allowed client network; repeatable\n"
	      "  --allow-server CIDR     allowed server network; repeatable\n"
	      "  --brute-force N/SECONDS failed logins from one client within SECONDS (e.g. "
	      "5/300)\n"
	      "  --show-passwords        show passwords instead of *** (off by default)\n"
	      "  --ca-file FILE          PEM CA bundle for certificate checks\n"
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

/* Applies one policy key. from_file: skipped when the command line set the key. On error writes
 * a reason into err and returns -1. */
static int apply_key(struct cli_opts *o, int key, const char *val, int from_file, char *err,
		     size_t errlen)
{
	uint64_t a, b;
	int flag;

	if (from_file && (o->set_by_flag & (1u << key)))
		return 0;
	if (!from_file)
		o->set_by_flag |= 1u << key;

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
	case CLI_K_CA_FILE:
	case CLI_K_SERVER_NAME: {
		char **dst = key == CLI_K_CA_FILE ? &o->ca_file : &o->server_name;
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

static int load_config(struct cli_opts *o, const char *path)
{
	char line[4096], err[256];
	unsigned long lineno = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		fprintf(stderr, "ftpinspect: %s: cannot read config file: %s\n", path,
			strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f) != NULL) {
		char *p, *eq, *key, *val;
		int k;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			fprintf(stderr, "ftpinspect: %s:%lu: line too long (at most %zu bytes)\n",
				path, lineno, sizeof line - 2);
			fclose(f);
			return -1;
		}
		/* A comment starts with '#' at the line start or after blanks. */
		for (p = line; *p; p++) {
			if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
				*p = '\0';
				break;
			}
		}
		p = trim(line);
		if (*p == '\0')
			continue;
		eq = strchr(p, '=');
		if (eq == NULL) {
			fprintf(stderr, "ftpinspect: %s:%lu: expected 'key = value', got '%s'\n",
				path, lineno, p);
			fclose(f);
			return -1;
		}
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		for (k = 0; k < CLI_K__COUNT; k++)
			if (strcmp(key, key_names[k]) == 0)
				break;
		if (k == CLI_K__COUNT) {
			fprintf(stderr, "ftpinspect: %s:%lu: unknown key '%s'\n", path, lineno,
				key);
			fclose(f);
			return -1;
		}
		if (*val == '\0') {
			fprintf(stderr, "ftpinspect: %s:%lu: %s: missing value\n", path, lineno,
				key);
			fclose(f);
			return -1;
		}
		if (apply_key(o, k, val, 1, err, sizeof err) != 0) {
			fprintf(stderr, "ftpinspect: %s:%lu: %s: %s\n", path, lineno, key, err);
			fclose(f);
			return -1;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "ftpinspect: %s: read error\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int bad_value(const char *flag, const char *val, const char *why)
{
	fprintf(stderr, "ftpinspect: %s: bad value '%s': %s\n", flag, val, why);
	return CLI_PARSE_USAGE;
}

static int flag_key(struct cli_opts *o, const char *flag, int key, const char *val)
{
	char err[256];
	if (apply_key(o, key, val, 0, err, sizeof err) != 0) {
		fprintf(stderr, "ftpinspect: %s: %s\n", flag, err);
		return CLI_PARSE_USAGE;
	}
	return CLI_PARSE_OK;
}

/* --zeek-commands: comma-separated verbs (letters only, upper-cased). */
static int parse_zeek_commands(struct cli_opts *o, const char *val)
{
	const char *p = val;

	o->n_zeek_commands = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		char *dst;
		if (n == 0 || n >= sizeof o->zeek_commands[0] || o->n_zeek_commands >= CLI_MAX_ZEEK_CMDS)
			return bad_value("--zeek-commands", val,
					 "expected VERB[,VERB]... (at most " CLI_STR(CLI_MAX_ZEEK_CMDS) ")");
		dst = o->zeek_commands[o->n_zeek_commands++];
		for (size_t i = 0; i < n; i++) {
			char c = p[i];
			if (c >= 'a' && c <= 'z')
				c = (char)(c - 'a' + 'A');
			if (c < 'A' || c > 'Z')
				return bad_value("--zeek-commands", val,
						 "commands are letters, separated by commas");
			dst[i] = c;
		}
		dst[n] = '\0';
		p += n;
		if (*p == ',')
			p++;
	}
	if (o->n_zeek_commands == 0)
		return bad_value("--zeek-commands", val, "expected VERB[,VERB]...");
	return CLI_PARSE_OK;
}

static void version(void)
{
	printf("ftpinspect %s (libftpinspect %s)\n", FTPI_VERSION_STRING, ftpi_version_string());
}

int cli_opts_parse(struct cli_opts *o, int argc, char **argv)
{
	uint64_t v;
	int c, r;

	memset(o, 0, sizeof *o);
	o->snaplen = 262144;
	o->fail_on = -1;
	o->workers = 1;
	opterr = 0;

	while ((c = getopt_long(argc, argv, ":r:i:s:B:c:G:Z:w:vhVnDlUq", long_opts, NULL)) != -1) {
		r = CLI_PARSE_OK;
		switch (c) {
		case 'r':
			if (o->n_inputs >= CLI_MAX_INPUTS) {
				fprintf(stderr, "ftpinspect: -r: too many files (at most %d)\n",
					CLI_MAX_INPUTS);
				return CLI_PARSE_USAGE;
			}
			o->inputs[o->n_inputs++] = optarg;
			break;
		case 'i':
			o->iface = optarg;
			break;
		case 's':
			if (cli_parse_u64(optarg, 262144, &v) != 0)
				return bad_value("-s", optarg, "expected 0..262144 (0: 262144)");
			o->snaplen = v == 0 ? 262144 : (uint32_t)v;
			break;
		case 'B':
			if (cli_parse_u64(optarg, 4194303, &v) != 0 || v == 0)
				return bad_value("-B", optarg,
						 "expected a size in KiB, 1..4194303");
			o->buffer_kib = (uint32_t)v;
			break;
		case 'c':
			if (cli_parse_u64(optarg, UINT64_MAX, &v) != 0 || v == 0)
				return bad_value("-c", optarg, "expected a positive packet count");
			o->count = v;
			break;
		case 'G':
		case OPT_DURATION:
			if (cli_parse_u64(optarg, 315360000, &v) != 0 || v == 0)
				return bad_value(c == 'G' ? "-G" : "--duration", optarg,
						 "expected a positive number of seconds");
			o->duration_s = v;
			break;
		case 'Z':
			if (*optarg == '\0')
				return bad_value("-Z", optarg, "expected a user name");
			o->drop_user = optarg;
			break;
		case OPT_ALLOW_ROOT:
			o->allow_root = 1;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") == 0)
				o->format = CLI_FMT_TEXT;
			else if (strcmp(optarg, "json") == 0)
				o->format = CLI_FMT_JSON;
			else if (strcmp(optarg, "zeek") == 0)
				o->format = CLI_FMT_ZEEK;
			else
				return bad_value("--format", optarg, "expected text, json or zeek");
			break;
		case 'v':
			o->verbose = 1;
			break;
		case OPT_FLOWS:
			o->flows = 1;
			break;
		case OPT_STATS:
			o->stats = 1;
			break;
		case 'w':
			o->write_file = optarg;
			break;
		case OPT_SUMMARY:
			o->summary = 1;
			break;
		case OPT_CONFIG:
			o->config_file = optarg;
			break;
		case OPT_PASSIVE_RANGE:
			r = flag_key(o, "--passive-range", CLI_K_PASSIVE_RANGE, optarg);
			break;
		case OPT_ALLOW_CLIENT:
			r = flag_key(o, "--allow-client", CLI_K_ALLOW_CLIENT, optarg);
			break;
		case OPT_ALLOW_SERVER:
			r = flag_key(o, "--allow-server", CLI_K_ALLOW_SERVER, optarg);
			break;
		case OPT_BRUTE_FORCE:
			r = flag_key(o, "--brute-force", CLI_K_BRUTE_FORCE, optarg);
			break;
		case OPT_SHOW_PASSWORDS:
			r = flag_key(o, "--show-passwords", CLI_K_SHOW_PASSWORDS, NULL);
			break;
		case OPT_CA_FILE:
			r = flag_key(o, "--ca-file", CLI_K_CA_FILE, optarg);
			break;
		case OPT_SERVER_NAME:
			r = flag_key(o, "--server-name", CLI_K_SERVER_NAME, optarg);
			break;
		case OPT_CTRL_PORT:
			r = flag_key(o, "--ctrl-port", CLI_K_CTRL_PORT, optarg);
			break;
		case OPT_NO_NDPI:
			r = flag_key(o, "--no-ndpi", CLI_K_NO_NDPI, NULL);
			break;
		case OPT_VERIFY_CHECKSUMS:
			r = flag_key(o, "--verify-checksums", CLI_K_VERIFY_CHECKSUMS, NULL);
			break;
		case OPT_FAIL_ON:
			r = flag_key(o, "--fail-on", CLI_K_FAIL_ON, optarg);
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "auto") == 0)
				o->color = CLI_COLOR_AUTO;
			else if (strcmp(optarg, "always") == 0)
				o->color = CLI_COLOR_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				o->color = CLI_COLOR_NEVER;
			else
				return bad_value("--color", optarg,
						 "expected auto, always or never");
			break;
		case OPT_LOG_DIR:
			if (*optarg == '\0')
				return bad_value("--log-dir", optarg, "expected a directory");
			o->log_dir = optarg;
			break;
		case OPT_ZEEK_COMMANDS:
			r = parse_zeek_commands(o, optarg);
			break;
		case OPT_NO_PROGRESS:
			o->no_progress = 1;
			break;
		case OPT_IMMEDIATE:
			o->immediate = 1;
			break;
		case 'n':
			break; /* names are never resolved */
		case 'D':
			o->list_ifaces = 1;
			break;
		case 'l':
			o->line_buffered = 1;
			break;
		case 'U':
			o->packet_buffered = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case OPT_WORKERS:
			if (strcmp(optarg, "auto") == 0) {
				long n = sysconf(_SC_NPROCESSORS_ONLN);
				o->workers = n < 1 ? 1 : n > CLI_MAX_WORKERS ? CLI_MAX_WORKERS : (unsigned)n;
			} else if (cli_parse_u64(optarg, CLI_MAX_WORKERS, &v) != 0 || v == 0) {
				return bad_value("--workers", optarg, "expected 1..64 or auto");
			} else {
				o->workers = (unsigned)v;
			}
			break;
		case OPT_SORT:
			o->sort = 1;
			break;
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
		default:
			if (optopt != 0 && optopt < 256)
				fprintf(stderr, "ftpinspect: unknown option -%c\n", optopt);
			else
				fprintf(stderr, "ftpinspect: unknown option %s\n",
					argv[optind - 1]);
			fputs("Try 'ftpinspect --help'.\n", stderr);
			return CLI_PARSE_USAGE;
		}
		if (r != CLI_PARSE_OK)
			return r;
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

	if (o->config_file != NULL && load_config(o, o->config_file) != 0)
		return CLI_PARSE_USAGE;

	if (o->list_ifaces)
		return CLI_PARSE_OK;
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
	free(o->filter);
	free(o->ca_file);
	free(o->server_name);
	o->filter = o->ca_file = o->server_name = NULL;
}
