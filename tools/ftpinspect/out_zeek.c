/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * out_zeek.c - Zeek logs in Zeek's TSV log format (the #separator, #fields and #types header
 * lines, `-` for unset and `(empty)` for empty fields, real #open/#close times), so existing
 * Zeek tooling (zeek-cut, SIEM parsers, Zeek users' scripts) reads them:
 *
 *   ftp.log     as Zeek's base/protocols/ftp writes it: one row per command/reply pair for the
 *               logged commands (FTP::logged_commands, --zeek-commands), file arguments as
 *               ftp://host/dir/file with the working directory followed through CWD, CDUP and
 *               PWD, and one row for a session that logged in but ran no logged command
 *               (FTP::log_at_least_one_command). Other commands still take their place in the
 *               per-session command queue so replies pair up. As in Zeek, a pair is written
 *               when the next command comes (or at once when more commands wait, or at the
 *               session's end), and with --file-hashes the file of the session's latest data
 *               connection fills the row: mime_type on the next row only (Zeek deletes it after
 *               each pair), fuid, the same as files.log's, on every row from there on (Zeek
 *               keeps it in the session's record).
 *   notice.log  (--log-dir) one row per finding, note FTPInspect::<kind>.
 *   files.log   (--log-dir with --file-hashes) one row per data connection that carried
 *               payload: its digests and content type, fuid random per run.
 *
 * `--format zeek` writes ftp.log to standard output; `--log-dir DIR` writes DIR/ftp.log and
 * DIR/notice.log beside any --format, reopened on SIGHUP. Connection uids are random per run
 * (Zeek's "C..." form) and the same in every log. Every wire string is escaped with
 * ftpi_escape() (no tab, newline or control byte reaches a row); passwords are "<hidden>"
 * unless --show-passwords.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define Z_MAX_SESSIONS 65536 /* open at once; each holds about 9 KB while open */
#define Z_QUEUE	       16 /* commands waiting for their replies, at most */
#define Z_QUEUE_START  2  /* the queue's first size: doubled as commands are pipelined */
#define Z_ARG_MAX      512
#define Z_USER_MAX     Z_ARG_MAX
#define Z_URL_MAX      (Z_ARG_MAX * 2 + 80)
#define Z_MAX_LOGGED   64

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
	char url[Z_URL_MAX]; /* the arg column: the argument, or the ftp:// URL of a file */
};

struct z_sess {
	uint64_t id;
	struct ftpi_endpoint client, server;
	char user[Z_USER_MAX];
	int has_user;
	char password[Z_USER_MAX];
	int has_password;
	char cwd[Z_ARG_MAX];
	struct z_cmd *q; /* a ring of qcap entries, grown up to Z_QUEUE */
	size_t qcap, head, n;
	struct z_row held; /* a data-channel row waiting for its EXPECT event */
	int has_held;
	struct z_row done; /* the last pair, written when the next command comes */
	int has_done, done_replied;
	char fuid[24];     /* the latest file of this session's data connections ("" none) */
	char mime[128];    /* its content type, until the next pair is written ("" none) */
	struct z_dc last_dc; /* an EXPECT seen before its reply */
	uint64_t last_dc_frame;
	int logged_seen;     /* a row was written for this session */
	int greeted;         /* a command or reply was seen (Zeek's "<init>": the first reply) */
	struct z_row last;   /* the last command/reply pair, for log_at_least_one_command */
	int has_last, last_replied;
};

struct z_log {
	FILE *f;
	char *path; /* NULL: a stream the caller owns (standard output) */
	const char *name, *fields, *types;
};

struct zeek_logs {
	int show_passwords;
	unsigned file_hashes;
	struct z_log ftp, notice, files;
	char logged[Z_MAX_LOGGED][16];
	size_t n_logged;
	struct z_sess **s; /* the open sessions (grown by doubling up to Z_MAX_SESSIONS) */
	size_t n, cap;
	struct cli_idx idx;     /* session id -> its place in s */
	struct cli_idx refused; /* open sessions refused at Z_MAX_SESSIONS */
	uint64_t unlogged;      /* sessions that ended refused: no rows */
};

static const char ftp_fields[] =
	"ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tuser\tpassword\tcommand\targ\t"
	"mime_type\tfile_size\treply_code\treply_msg\tdata_channel.passive\tdata_channel.orig_h\t"
	"data_channel.resp_h\tdata_channel.resp_p\tfuid";
static const char ftp_types[] = "time\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\t"
				"string\tstring\tcount\tcount\tstring\tbool\taddr\taddr\tport\t"
				"string";
static const char notice_fields[] =
	"ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tfuid\tfile_mime_type\tfile_desc\t"
	"proto\tnote\tmsg\tsub\tsrc\tdst\tp\tn\tpeer_descr\tactions\temail_dest\tsuppress_for";
static const char notice_types[] = "time\tstring\taddr\tport\taddr\tport\tstring\tstring\t"
				   "string\tenum\tenum\tstring\tstring\taddr\taddr\tport\tcount\t"
				   "string\tset[enum]\tset[string]\tinterval";

static const char files_fields[] =
	"ts\tfuid\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tsource\tdepth\tanalyzers\t"
	"mime_type\tfilename\tduration\tlocal_orig\tis_orig\tseen_bytes\ttotal_bytes\t"
	"missing_bytes\toverflow_bytes\ttimedout\tparent_fuid\tmd5\tsha1\tsha256\textracted\t"
	"extracted_cutoff\textracted_size";
static const char files_types[] = "time\tstring\tstring\taddr\tport\taddr\tport\tstring\tcount\t"
				  "set[string]\tstring\tstring\tinterval\tbool\tbool\tcount\t"
				  "count\tcount\tcount\tbool\tstring\tstring\tstring\tstring\t"
				  "string\tbool\tcount";

/* Zeek's FTP::logged_commands. */
static const char *const default_logged[] = {"APPE", "DELE", "RETR", "STOR", "STOU",
					     "ACCT", "PORT", "PASV", "EPRT", "EPSV"};
/* Zeek's file_cmds: their argument is logged as an ftp:// URL. */
static const char *const file_cmds[] = {"APPE", "CWD", "DELE", "MKD",  "RETR", "RMD", "RNFR",
					"RNTO", "STOR", "STOU", "REST", "SIZE", "MDTM"};

static int in_list(const char *verb, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(verb, list[i]) == 0)
			return 1;
	return 0;
}

static int is_logged(const struct zeek_logs *z, const char *verb)
{
	for (size_t i = 0; i < z->n_logged; i++)
		if (strcmp(verb, z->logged[i]) == 0)
			return 1;
	return 0;
}

static int is_dc_verb(const char *verb)
{
	return strcmp(verb, "PASV") == 0 || strcmp(verb, "EPSV") == 0 ||
	       strcmp(verb, "PORT") == 0 || strcmp(verb, "EPRT") == 0;
}

/* ---- uids: "C" and 96 random-looking bits in base 62, one key per run ------------------- */
static uint64_t uid_key[2];

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void uid_init(void)
{
	if (uid_key[0] != 0 || uid_key[1] != 0)
		return;
	if (getrandom(uid_key, sizeof uid_key, GRND_NONBLOCK) != (ssize_t)sizeof uid_key) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		uid_key[0] = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32));
		uid_key[1] = mix64((uint64_t)ts.tv_sec ^ uid_key[0]);
	}
	uid_key[0] |= 1; /* never both zero: initialised */
}

static void b62(char *out, uint64_t v, int digits)
{
	static const char a[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	for (int i = digits - 1; i >= 0; i--) {
		out[i] = a[v % 62];
		v /= 62;
	}
}

const char *zeek_uid(char *buf, size_t buflen, uint64_t session_id)
{
	uint64_t hi, lo;

	if (buflen < 19) {
		if (buflen > 0)
			buf[0] = '\0';
		return buf;
	}
	if (session_id == 0) {
		snprintf(buf, buflen, "-");
		return buf;
	}
	uid_init();
	hi = mix64(session_id ^ uid_key[0]);
	lo = mix64(hi ^ uid_key[1]) >> 32;
	buf[0] = 'C';
	b62(buf + 1, hi, 11);
	b62(buf + 12, lo, 6);
	buf[18] = '\0';
	return buf;
}

/* A data connection's own uid (Zeek gives ftp-data connections theirs), and a file's fuid. */
static const char *zeek_id(char *buf, size_t buflen, char prefix, uint64_t id, uint64_t salt)
{
	uint64_t hi, lo;

	if (buflen < 19) {
		if (buflen > 0)
			buf[0] = '\0';
		return buf;
	}
	uid_init();
	hi = mix64(id ^ uid_key[0] ^ salt);
	lo = mix64(hi ^ uid_key[1]) >> 32;
	buf[0] = prefix;
	b62(buf + 1, hi, 11);
	b62(buf + 12, lo, 6);
	buf[18] = '\0';
	return buf;
}

/* ---- log files -------------------------------------------------------------------------- */
static void now_stamp(char *buf, size_t buflen)
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(buf, buflen, "%Y-%m-%d-%H-%M-%S", &tm) == 0)
		snprintf(buf, buflen, "-");
}

static void log_header(struct z_log *l)
{
	char stamp[32];

	now_stamp(stamp, sizeof stamp);
	fprintf(l->f,
		"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
		"#path\t%s\n#open\t%s\n#fields\t%s\n#types\t%s\n",
		l->name, stamp, l->fields, l->types);
}

static void log_close_line(struct z_log *l)
{
	char stamp[32];

	now_stamp(stamp, sizeof stamp);
	fprintf(l->f, "#close\t%s\n", stamp);
}

static int log_open(struct z_log *l, const char *dir, const char *mode, char *err, size_t errlen)
{
	size_t n = strlen(dir) + strlen(l->name) + 6;
	char *path = l->path;

	if (path == NULL) {
		path = malloc(n);
		if (path == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		snprintf(path, n, "%s/%s.log", dir, l->name);
	}
	l->f = fopen(path, mode);
	if (l->f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (l->path == NULL)
			free(path);
		return -1;
	}
	l->path = path;
	log_header(l);
	return 0;
}

/* 0, or -1 on a write error. */
static int log_finish(struct z_log *l)
{
	int rc = 0;

	if (l->f == NULL)
		return 0;
	log_close_line(l);
	if (l->path != NULL) {
		rc = fclose(l->f) == 0 ? 0 : -1;
	} else {
		rc = fflush(l->f) == 0 ? 0 : -1;
	}
	l->f = NULL;
	return rc;
}

/* ---- ftp.log rows ----------------------------------------------------------------------- */
static const char *field(const char *s)
{
	return s[0] ? s : "(empty)";
}

/* Zeek's compress_path: "dir/.." pairs collapse, empty components go; "." stays. */
static void compress_path(char *out, size_t outlen, const char *in)
{
	const char *comp[128];
	size_t clen[128], n = 0, used = 0;
	int abs = in[0] == '/', trail;
	const char *p = in;

	trail = in[0] != '\0' && in[strlen(in) - 1] == '/';
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.' && n > 0 &&
		    !(clen[n - 1] == 2 && comp[n - 1][0] == '.' && comp[n - 1][1] == '.')) {
			n--;
		} else if (len == 2 && p[0] == '.' && p[1] == '.' && abs && n == 0) {
			/* above the root: stays at the root */
		} else if (len == 1 && p[0] == '.' && (abs || n > 0) && e != NULL) {
			/* "/./" is "/" (Zeek keeps a leading "./" and a last "/.") */
		} else if (len > 0 && n < 128) {
			comp[n] = p;
			clen[n++] = len;
		}
		p += len;
		if (*p == '/')
			p++;
	}
	if (outlen == 0)
		return;
	out[0] = '\0';
	if (abs && outlen > 1) {
		out[used++] = '/';
		out[used] = '\0';
	}
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + used, outlen - used, "%s%.*s", i ? "/" : "", (int)clen[i],
				 comp[i]);
		if (w < 0 || (size_t)w >= outlen - used)
			return;
		used += (size_t)w;
	}
	if (trail && n > 0 && used + 1 < outlen) {
		out[used++] = '/';
		out[used] = '\0';
	}
}

/* Zeek's build_path_compressed(dir, file). */
static void build_path(char *out, size_t outlen, const char *dir, const char *file)
{
	char tmp[Z_URL_MAX];
	size_t dl = strlen(dir);

	if (file[0] == '/' || dir[0] == '\0')
		snprintf(tmp, sizeof tmp, "%s", file);
	else if (file[0] == '\0') /* no file: the directory itself, as Zeek writes it */
		snprintf(tmp, sizeof tmp, "%s", dir);
	else
		snprintf(tmp, sizeof tmp, "%s%s%s", dir, dl > 0 && dir[dl - 1] == '/' ? "" : "/",
			 file);
	compress_path(out, outlen, tmp);
}

/* Zeek's build_url_ftp: ftp://<server address in URI form><absolute path>. */
static void build_url(char *out, size_t outlen, const struct z_sess *s, const char *arg)
{
	char path[Z_URL_MAX], host[64];

	build_path(path, sizeof path, s->cwd, arg);
	cli_addr_format(&s->server.addr, host, sizeof host);
	int w = snprintf(out, outlen, "ftp://%s%s%s%s%s", s->server.addr.family == 6 ? "[" : "",
			 host, s->server.addr.family == 6 ? "]" : "", path[0] == '/' ? "" : "/", path);
	if (w < 0 || (size_t)w >= outlen) /* cut: Zeek caps arg at 4096 bytes too */
		out[outlen - 1] = '\0';
}

/* Zeek's extract_path: the first quoted absolute path of a 257 reply, else the first bare one. */
static void extract_path(char *out, size_t outlen, const char *msg)
{
	const char *q = strchr(msg, '"'), *e;

	out[0] = '\0';
	if (q != NULL && q[1] == '/' && (e = strchr(q + 1, '"')) != NULL) {
		snprintf(out, outlen, "%.*s", (int)(e - q - 1), q + 1);
		return;
	}
	q = strchr(msg, '/');
	if (q == NULL)
		return;
	e = q + strcspn(q, "\" ");
	snprintf(out, outlen, "%.*s", (int)(e - q), q);
}

static void write_row(struct zeek_logs *z, struct z_sess *s, const struct z_row *r,
		      int has_reply)
{
	FILE *f = z->ftp.f;
	char ts[40], u[24], ch[64], sh[64], oh[64], rh[64], url[Z_URL_MAX];
	const char *arg = r->cmd.arg;

	if (f == NULL)
		return;
	/* As in Zeek, a file command without an argument names the working directory. */
	if (in_list(r->cmd.verb, file_cmds, sizeof file_cmds / sizeof *file_cmds)) {
		build_url(url, sizeof url, s, arg);
		arg = url;
	}
	zeek_uid(u, sizeof u, s->id);
	cli_addr_format(&s->client.addr, ch, sizeof ch);
	cli_addr_format(&s->server.addr, sh, sizeof sh);
	fprintf(f, "%s\t%s\t%s\t%u\t%s\t%u\t%s\t%s\t%s\t%s\t%s\t",
		cli_time(ts, sizeof ts, r->cmd.ts_us), u, ch, s->client.port, sh, s->server.port,
		s->has_user ? field(s->user) : "<unknown>", s->has_password ? field(s->password) : "-",
		field(r->cmd.verb), arg[0] ? arg : "-", s->mime[0] ? s->mime : "-");
	if (r->cmd.has_size)
		fprintf(f, "%llu\t", (unsigned long long)r->cmd.size);
	else
		fputs("-\t", f);
	if (has_reply)
		fprintf(f, "%u\t%s\t", r->code, field(r->msg));
	else
		fputs("-\t-\t", f);
	if (r->dc.set) {
		cli_addr_format(&r->dc.orig, oh, sizeof oh);
		cli_addr_format(&r->dc.resp, rh, sizeof rh);
		fprintf(f, "%s\t%s\t%s\t%u\t", r->dc.passive ? "T" : "F", oh, rh, r->dc.resp_p);
	} else {
		fputs("-\t-\t-\t-\t", f);
	}
	fprintf(f, "%s\n", s->fuid[0] ? s->fuid : "-");
	s->logged_seen = 1;
}

/* Zeek's ftp_message: a pair goes out (written when its command is logged, remembered either
 * way), and the content type, which belongs to one transfer, is forgotten. */
static void pair_out(struct zeek_logs *z, struct z_sess *s, const struct z_row *r, int has_reply)
{
	s->last = *r;
	s->has_last = 1;
	s->last_replied = has_reply;
	if (r->cmd.logged)
		write_row(z, s, r, has_reply);
	s->mime[0] = '\0';
}

static void flush_done(struct zeek_logs *z, struct z_sess *s)
{
	if (s->has_done) {
		s->has_done = 0;
		pair_out(z, s, &s->done, s->done_replied);
	}
}

/* A command/reply pair is done. Zeek writes it when the next command comes, so that what the
 * transfer's data connection showed (the file's fuid and type) is in it; at once when more
 * commands wait for their replies. */
static void pair_done(struct zeek_logs *z, struct z_sess *s, const struct z_row *r,
		      int has_reply)
{
	flush_done(z, s);
	if (s->n > 0) {
		pair_out(z, s, r, has_reply);
		return;
	}
	s->done = *r;
	s->done_replied = has_reply;
	s->has_done = 1;
}

static void flush_held(struct zeek_logs *z, struct z_sess *s)
{
	if (s->has_held) {
		pair_done(z, s, &s->held, 1);
		s->has_held = 0;
	}
}

/* The session's state, found through the index (thousands may be open at once); with create, a
 * new one, unless Z_MAX_SESSIONS are open (the session is then remembered as refused and
 * counted when it ends). */
static struct z_sess *find(struct zeek_logs *z, const struct ftpi_event *ev, int create)
{
	struct z_sess *s;
	size_t at;

	if (cli_idx_get(&z->idx, ev->session_id, &at))
		return z->s[at];
	if (!create)
		return NULL;
	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 256;
		struct z_sess **ns = cap <= Z_MAX_SESSIONS ? realloc(z->s, cap * sizeof *ns) : NULL;
		if (ns == NULL) {
			if (!cli_idx_get(&z->refused, ev->session_id, &at))
				(void)cli_idx_put(&z->refused, ev->session_id, 0);
			return NULL;
		}
		z->s = ns;
		z->cap = cap;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->qcap = Z_QUEUE_START;
	s->q = calloc(s->qcap, sizeof *s->q);
	if (s->q == NULL || cli_idx_put(&z->idx, ev->session_id, z->n) != 0) {
		free(s->q);
		free(s);
		return NULL;
	}
	s->id = ev->session_id;
	s->client = ev->client;
	s->server = ev->server;
	snprintf(s->cwd, sizeof s->cwd, ".");
	z->s[z->n++] = s;
	return s;
}

static void end_session(struct zeek_logs *z, struct z_sess *s)
{
	flush_held(z, s);
	flush_done(z, s);
	/* Commands never answered: logged without a reply, as Zeek does at connection end. */
	for (; s->n > 0; s->n--, s->head = (s->head + 1) % s->qcap) {
		struct z_row r;
		memset(&r, 0, sizeof r);
		r.cmd = s->q[s->head];
		pair_out(z, s, &r, 0);
	}
	/* FTP::log_at_least_one_command: a session that got as far as USER but ran no logged
	 * command still gets one row, its last command. */
	if (s->has_user && !s->logged_seen && s->has_last)
		write_row(z, s, &s->last, s->last_replied);
	size_t at;
	if (cli_idx_get(&z->idx, s->id, &at)) {
		cli_idx_del(&z->idx, s->id);
		z->s[at] = z->s[--z->n];
		if (at < z->n)
			(void)cli_idx_put(&z->idx, z->s[at]->id, at); /* present: moved, never grows */
	}
	free(s->q);
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

static void on_command(struct zeek_logs *z, struct z_sess *s, const struct ftpi_event *ev)
{
	struct z_cmd *c;

	flush_held(z, s);
	flush_done(z, s);
	s->greeted = 1;
	if (s->n == s->qcap && s->qcap < Z_QUEUE) {
		/* pipelined commands: the queue doubles, oldest first (kept as it is without the
		 * memory for it) */
		struct z_cmd *nq = malloc(2 * s->qcap * sizeof *nq);
		if (nq != NULL) {
			for (size_t k = 0; k < s->n; k++)
				nq[k] = s->q[(s->head + k) % s->qcap];
			free(s->q);
			s->q = nq;
			s->qcap *= 2;
			s->head = 0;
		}
	}
	if (s->n == s->qcap) {
		/* Queue full (pipelining without replies): the oldest goes out unanswered. */
		struct z_row r;
		memset(&r, 0, sizeof r);
		r.cmd = s->q[s->head];
		pair_out(z, s, &r, 0);
		s->head = (s->head + 1) % s->qcap;
		s->n--;
	}
	c = &s->q[(s->head + s->n) % s->qcap];
	memset(c, 0, sizeof *c);
	c->ts_us = ev->ts_us;
	c->frame = ev->frame;
	cli_esc(c->verb, sizeof c->verb, ev->u.command.verb);
	cli_esc(c->arg, sizeof c->arg, ev->u.command.arg);
	c->logged = is_logged(z, c->verb);
	s->n++;
	if (strcmp(c->verb, "USER") == 0) {
		snprintf(s->user, sizeof s->user, "%s", c->arg);
		s->has_user = 1;
	} else if (strcmp(c->verb, "PASS") == 0) {
		s->has_password = 1;
		snprintf(s->password, sizeof s->password, "%s",
			 z->show_passwords ? c->arg : "<hidden>");
		if (!z->show_passwords)
			snprintf(c->arg, sizeof c->arg, "<hidden>");
	}
}

/* Zeek's directory_cmds: the working directory follows successful CWD, CDUP and PWD. */
static void follow_cwd(struct z_sess *s, const struct z_cmd *c, unsigned code, const char *msg)
{
	char tmp[Z_ARG_MAX];

	if (strcmp(c->verb, "CWD") == 0 && code == 250) {
		build_path(tmp, sizeof tmp, s->cwd, c->arg);
	} else if (strcmp(c->verb, "CDUP") == 0 && (code == 200 || code == 250)) {
		build_path(tmp, sizeof tmp, s->cwd, "/..");
	} else if ((strcmp(c->verb, "PWD") == 0 || strcmp(c->verb, "XPWD") == 0) && code == 257) {
		extract_path(tmp, sizeof tmp, msg);
	} else {
		return;
	}
	snprintf(s->cwd, sizeof s->cwd, "%s", tmp);
}

/* The last line of a reply's text: Zeek's reply_msg of a multi-line reply is its final line. */
static struct ftpi_span last_line(struct ftpi_span t)
{
	for (size_t i = t.len; i > 0; i--) {
		if (t.ptr[i - 1] == '\n') {
			t.ptr += i;
			t.len -= i;
			break;
		}
	}
	return t;
}

static void on_reply(struct zeek_logs *z, struct z_sess *s, const struct ftpi_event *ev)
{
	struct z_row r;
	unsigned code = ev->u.reply.code;

	flush_held(z, s);
	if (s->n == 0 && !s->greeted && code >= 200) {
		/* Zeek pairs the session's first reply, the greeting, with a "<init>" command. */
		struct z_cmd *c = &s->q[s->head];
		memset(c, 0, sizeof *c);
		c->ts_us = ev->ts_us;
		c->frame = ev->frame;
		snprintf(c->verb, sizeof c->verb, "<init>");
		c->logged = is_logged(z, c->verb);
		s->n = 1;
	}
	s->greeted = 1;
	if (s->n == 0) {
		/* Unsolicited: as in Zeek, which writes a pair with the session's latest reply,
		 * it replaces the reply of the pair still waiting to be written. */
		if (s->has_done && code >= 200) {
			s->done.code = code;
			cli_esc(s->done.msg, sizeof s->done.msg, last_line(ev->u.reply.text));
		}
		return;
	}
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
	s->head = (s->head + 1) % s->qcap;
	s->n--;
	r.code = code;
	cli_esc(r.msg, sizeof r.msg, last_line(ev->u.reply.text));
	/* As in Zeek, the directory follows the reply before the row is written. */
	follow_cwd(s, &r.cmd, code, r.msg);
	if (r.cmd.logged && is_dc_verb(r.cmd.verb) && code < 300) {
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
	pair_done(z, s, &r, 1);
}

static void on_expect(struct zeek_logs *z, struct z_sess *s, const struct ftpi_event *ev)
{
	const struct ftpi_expect_info *x = &ev->u.expect;
	struct z_dc dc;

	memset(&dc, 0, sizeof dc);
	dc.set = 1;
	dc.passive = !x->active;
	dc.orig = x->active ? s->server.addr : s->client.addr;
	dc.resp = x->target.addr;
	dc.resp_p = x->target.port;
	if (s->has_held && !s->held.dc.set) {
		s->held.dc = dc;
		flush_held(z, s);
		return;
	}
	s->last_dc = dc;
	s->last_dc_frame = ev->frame;
}

/* ---- notice.log ------------------------------------------------------------------------- */
static void write_notice(struct zeek_logs *z, const struct ftpi_event *ev)
{
	const struct ftpi_finding_info *fi = &ev->u.finding;
	FILE *f = z->notice.f;
	char ts[40], u[24], ch[64], sh[64], msg[CLI_TEXT_MAX * 2], ev_txt[CLI_TEXT_MAX * 2];
	const char *kind = ftpi_finding_name(fi->kind), *sev = ftpi_severity_name(fi->severity);
	int has_c = ev->client.addr.family != 0, has_s = ev->server.addr.family != 0;

	if (f == NULL)
		return;
	cli_addr_format(&ev->client.addr, ch, sizeof ch);
	cli_addr_format(&ev->server.addr, sh, sizeof sh);
	cli_safe(msg, sizeof msg, fi->message);
	cli_safe(ev_txt, sizeof ev_txt, fi->evidence);
	fprintf(f, "%s\t%s\t", cli_time(ts, sizeof ts, ev->ts_us),
		zeek_uid(u, sizeof u, ev->session_id));
	if (has_c && has_s)
		fprintf(f, "%s\t%u\t%s\t%u\t", ch, ev->client.port, sh, ev->server.port);
	else
		fputs("-\t-\t-\t-\t", f);
	fprintf(f, "-\t-\t-\ttcp\tFTPInspect::%s\t%s\tseverity %s; %s\t%s\t%s\t", kind ? kind : "unknown",
		field(msg), sev ? sev : "-", ev_txt, has_c ? ch : "-", has_s ? sh : "-");
	if (has_s && ev->server.port != 0)
		fprintf(f, "%u\t", ev->server.port);
	else
		fputs("-\t", f);
	fputs("-\t-\tNotice::ACTION_LOG\t(empty)\t3600.000000\n", f);
}

/* ---- files.log ------------------------------------------------------------------------- */
/* A data connection is a file of files.log: hashed, clear text, with payload. */
static int is_file(const struct zeek_logs *z, const struct ftpi_data_info *d)
{
	return z->file_hashes != 0 && !d->tls && d->hash_dir >= 0 && d->hashed_bytes > 0;
}

static const char *file_id(char *buf, size_t buflen, const struct ftpi_event *ev)
{
	return zeek_id(buf, buflen, 'F', ev->stream_id, 0x46696c65ULL);
}

/* Zeek's file_over_new_connection and file_sniff: the session's record takes the file's fuid
 * and content type. */
static void session_file(struct zeek_logs *z, const struct ftpi_event *ev, const char *mime)
{
	struct z_sess *s = ev->session_id != 0 ? find(z, ev, 0) : NULL;

	if (s == NULL || !is_file(z, &ev->u.data))
		return;
	file_id(s->fuid, sizeof s->fuid, ev);
	snprintf(s->mime, sizeof s->mime, "%s", mime != NULL ? mime : ""); /* escaped already */
}

static void write_file(struct zeek_logs *z, const struct ftpi_event *ev, const char *mime)
{
	const struct ftpi_data_info *d = &ev->u.data;
	FILE *f = z->files.f;
	char ts[40], fu[24], u[24], ch[64], sh[64], name[Z_ARG_MAX], hex[80], an[32];
	const uint8_t *dig[3] = {d->md5, d->sha1, d->sha256};
	static const size_t dlen[3] = {16, 20, 32};
	static const unsigned bit[3] = {FTPI_HASH_MD5, FTPI_HASH_SHA1, FTPI_HASH_SHA256};
	static const char *const aname[3] = {"MD5", "SHA1", "SHA256"};
	size_t n = 0;

	if (f == NULL || !is_file(z, d))
		return;
	cli_addr_format(&ev->client.addr, ch, sizeof ch);
	cli_addr_format(&ev->server.addr, sh, sizeof sh);
	cli_esc(name, sizeof name, d->file);
	an[0] = '\0';
	for (int i = 0; i < 3; i++)
		if (z->file_hashes & bit[i])
			n += (size_t)snprintf(an + n, sizeof an - n, "%s%s", n ? "," : "", aname[i]);
	fprintf(f, "%s\t%s\t%s\t%s\t%u\t%s\t%u\tFTP_DATA\t0\t%s\t%s\t%s\t",
		cli_time(ts, sizeof ts, d->start_us ? d->start_us : ev->ts_us),
		file_id(fu, sizeof fu, ev),
		zeek_id(u, sizeof u, 'C', ev->stream_id, 0x44617461ULL), ch, ev->client.port, sh,
		ev->server.port, an[0] ? an : "(empty)", mime ? mime : "-",
		name[0] ? name : "-");
	if (d->end_us >= d->start_us && d->start_us != 0)
		fprintf(f, "%.6f\t", (double)(d->end_us - d->start_us) / 1e6);
	else
		fputs("-\t", f);
	fprintf(f, "-\t%s\t%llu\t-\t%s\t0\tF\t-", d->hash_dir == 0 ? "T" : "F",
		(unsigned long long)d->hashed_bytes, d->hashes ? "0" : "-");
	for (int i = 0; i < 3; i++)
		fprintf(f, "\t%s", (d->hashes & bit[i]) ? cli_hex(hex, sizeof hex, dig[i], dlen[i]) : "-");
	fputs("\t-\t-\t-\n", f);
}

/* ---- the logs --------------------------------------------------------------------------- */
static struct zeek_logs *logs_new(const struct cli_opts *o)
{
	struct zeek_logs *z = calloc(1, sizeof *z);

	if (z == NULL)
		return NULL;
	z->show_passwords = o->show_passwords;
	z->ftp = (struct z_log){NULL, NULL, "ftp", ftp_fields, ftp_types};
	z->notice = (struct z_log){NULL, NULL, "notice", notice_fields, notice_types};
	z->files = (struct z_log){NULL, NULL, "files", files_fields, files_types};
	z->file_hashes = o->file_hashes;
	if (o->n_zeek_commands > 0) {
		for (size_t i = 0; i < o->n_zeek_commands && i < Z_MAX_LOGGED; i++)
			snprintf(z->logged[z->n_logged++], sizeof z->logged[0], "%s",
				 o->zeek_commands[i]);
	} else {
		for (size_t i = 0; i < sizeof default_logged / sizeof *default_logged; i++)
			snprintf(z->logged[z->n_logged++], sizeof z->logged[0], "%s",
				 default_logged[i]);
	}
	uid_init();
	return z;
}

struct zeek_logs *zeek_logs_open_stream(const struct cli_opts *o, FILE *ftp)
{
	struct zeek_logs *z = logs_new(o);

	if (z == NULL)
		return NULL;
	z->ftp.f = ftp;
	log_header(&z->ftp);
	return z;
}

/* mkdir -p: the missing folders of path, 0755. 0, or -1 with errno. */
static int make_dirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof buf) {
		errno = n == 0 ? ENOENT : ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

struct zeek_logs *zeek_logs_open_dir(const struct cli_opts *o, const char *dir, char *err,
				     size_t errlen)
{
	struct zeek_logs *z;
	struct stat st;

	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || make_dirs(dir) != 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			return NULL;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "not a directory");
		return NULL;
	}
	z = logs_new(o);
	if (z == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (log_open(&z->ftp, dir, "w", err, errlen) != 0 ||
	    log_open(&z->notice, dir, "w", err, errlen) != 0 ||
	    (o->file_hashes != 0 && log_open(&z->files, dir, "w", err, errlen) != 0)) {
		zeek_logs_close(z);
		return NULL;
	}
	return z;
}

void zeek_logs_event(struct zeek_logs *z, const struct ftpi_event *ev, const char *mime)
{
	struct z_sess *s;

	if (z == NULL)
		return;
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
			on_command(z, s, ev);
		else if (ev->type == FTPI_EV_REPLY)
			on_reply(z, s, ev);
		else
			on_expect(z, s, ev);
		break;
	case FTPI_EV_SESSION_END: {
		size_t at;
		s = find(z, ev, 0);
		if (s != NULL) {
			end_session(z, s);
		} else if (cli_idx_get(&z->refused, ev->session_id, &at)) {
			cli_idx_del(&z->refused, ev->session_id);
			z->unlogged++;
		}
		break;
	}
	case FTPI_EV_FINDING:
		write_notice(z, ev);
		break;
	case FTPI_EV_DATA:
		session_file(z, ev, mime);
		write_file(z, ev, mime);
		break;
	default:
		break;
	}
}

int zeek_logs_flush(struct zeek_logs *z)
{
	int rc = 0;

	if (z == NULL)
		return 0;
	if (z->ftp.f != NULL && fflush(z->ftp.f) != 0)
		rc = -1;
	if (z->notice.f != NULL && fflush(z->notice.f) != 0)
		rc = -1;
	if (z->files.f != NULL && fflush(z->files.f) != 0)
		rc = -1;
	return rc;
}

int zeek_logs_reopen(struct zeek_logs *z, char *err, size_t errlen)
{
	struct z_log *logs[] = {&z->ftp, &z->notice, &z->files};
	int rc = 0;

	for (size_t i = 0; i < sizeof logs / sizeof *logs; i++) {
		struct z_log *l = logs[i];
		if (l->path == NULL || l->f == NULL)
			continue;
		log_finish(l);
		/* Appending: a file that was not moved away keeps its rows. */
		if (log_open(l, "", "a", err, errlen) != 0)
			rc = -1;
	}
	return rc;
}

int zeek_logs_close(struct zeek_logs *z)
{
	int rc = 0;

	if (z == NULL)
		return 0;
	while (z->n > 0)
		end_session(z, z->s[z->n - 1]);
	z->unlogged += z->refused.n;
	if (z->unlogged)
		fprintf(stderr,
			"ftpinspect: Zeek logs: %llu sessions have no ftp.log rows: more than %d "
			"were open at once\n",
			(unsigned long long)z->unlogged, Z_MAX_SESSIONS);
	if (log_finish(&z->ftp) != 0 || log_finish(&z->notice) != 0 || log_finish(&z->files) != 0)
		rc = -1;
	free(z->s);
	cli_idx_free(&z->idx);
	cli_idx_free(&z->refused);
	free(z->ftp.path);
	free(z->notice.path);
	free(z->files.path);
	free(z);
	return rc;
}

/* ---- --format zeek: ftp.log on standard output ------------------------------------------ */
static int zeek_begin(struct app *a)
{
	a->fmt = zeek_logs_open_stream(a->o, a->fp);
	if (a->fmt == NULL) {
		fputs("ftpinspect: out of memory\n", stderr);
		return -1;
	}
	return 0;
}

static void zeek_event(struct app *a, const struct ftpi_event *ev)
{
	if (ev->type != FTPI_EV_FINDING) /* findings: notice.log with --log-dir */
		zeek_logs_event(a->fmt, ev, a->data_mime);
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
	zeek_logs_close(a->fmt);
	a->fmt = NULL;
}

const struct out_ops out_zeek_ops = {zeek_begin, zeek_event, zeek_stats, zeek_summary, zeek_end};
