/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_cli_opts.c - the ftpinspect command line and config file parsers (tools/ftpinspect/opts.c).
 * Input: NUL-separated arguments (argv[1..]), then, after an empty argument ("\0\0"), the text
 * of a config file that is passed with --config (through a memfd, so no file is read from the
 * disk; arguments that would name another config file are dropped). Checks: the parser returns
 * one of its three results, every list stays within its array, the passive range is ordered,
 * and what it allocated is freed (LeakSanitizer). The parser's messages go to /dev/null while it
 * runs (set FTPI_FUZZ_VERBOSE=1 to see them); replay a crash with fuzz_cli_opts_replay.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string.h>
#include "opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int cfd = -1, quiet = -1, devnull = -1;
	char *argv[MAX_ARGS + 4], cfg_path[64];
	int argc = 1, rc, saved[2] = {-1, -1};
	struct cli_opts o;

	if (quiet < 0) {
		quiet = getenv("FTPI_FUZZ_VERBOSE") == NULL;
		devnull = open("/dev/null", O_WRONLY);
		cfd = memfd_create("ftpi-fuzz-config", 0);
	}
	if (cfd < 0)
		return 0;
	char *buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	argv[0] = (char *)"ftpinspect";
	size_t i = 0;
	while (i < size && argc < MAX_ARGS) {
		char *a = buf + i;
		size_t n = strlen(a);
		i += n + 1;
		if (n == 0)
			break; /* "\0\0": the config file follows */
		if (strncmp(a, "--con", 5) == 0)
			continue;
		argv[argc++] = a;
	}
	size_t cfg_len = i < size ? size - i : 0;
	if (ftruncate(cfd, 0) != 0 || (cfg_len && pwrite(cfd, buf + i, cfg_len, 0) < 0)) {
		free(buf);
		return 0;
	}
	if (cfg_len > 0) {
		snprintf(cfg_path, sizeof cfg_path, "--config=/proc/self/fd/%d", cfd);
		argv[argc++] = cfg_path;
	}
	argv[argc] = NULL;

	if (quiet && devnull >= 0) {
		fflush(stdout);
		fflush(stderr);
		saved[0] = dup(1);
		saved[1] = dup(2);
		dup2(devnull, 1);
		dup2(devnull, 2);
	}
	optind = 0; /* glibc: a full reset of getopt's state */
	rc = cli_opts_parse(&o, argc, argv);
	if (saved[0] >= 0) {
		fflush(stdout);
		fflush(stderr);
		dup2(saved[0], 1);
		dup2(saved[1], 2);
		close(saved[0]);
		close(saved[1]);
	}
	if (rc != CLI_PARSE_OK && rc != CLI_PARSE_EXIT0 && rc != CLI_PARSE_USAGE)
		abort();
	if (o.n_inputs > CLI_MAX_INPUTS || o.n_allow_clients > CLI_MAX_CIDRS ||
	    o.n_allow_servers > CLI_MAX_CIDRS || o.n_ctrl_ports > CLI_MAX_CTRL_PORTS)
		abort();
	if (rc == CLI_PARSE_OK) {
		if (o.pasv_min > o.pasv_max || o.format < CLI_FMT_TEXT || o.format > CLI_FMT_ZEEK)
			abort();
		if (o.filter != NULL)
			(void)strlen(o.filter);
	}
	cli_opts_free(&o);
	free(buf);
	return 0;
}
