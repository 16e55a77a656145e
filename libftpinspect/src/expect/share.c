/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * share.c - Redis for a shared expectation store and for the event stream (share.h). One I/O
 * thread per object owns a hiredis connection and runs synchronous, pipelined calls; engines
 * talk to it through a bounded request ring and their own answer rings, so nothing on the packet
 * path waits. Key layout (docs/sensors.md): an expectation is the hash
 * ftpi:{TAG}:exp:PORT:SENSOR:SID:SEQ with a TTL, indexed in the set ftpi:{TAG}:idx:PORT, where TAG
 * is the responder's /24 (IPv4) or /64 (IPv6) prefix, so a Redis Cluster keeps a server's keys
 * (and a load balancer's nodes) in one slot; its claim is the hash KEY:claim, taken with HSETNX.
 * A failure drops the connection; the thread reconnects with backoff (100 ms doubling to 5 s) and
 * answers "error" meanwhile, so engines decide locally. Allocation: fixed rings at creation, and
 * stream lines under a byte cap. Without hiredis only the stubs at the end are built.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "share.h"

#include "fit.h"

uint64_t ftpi__share_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* URL: redis://[USER:PASS@]HOST:PORT[/DB or /STREAM]; rediss:// for TLS, whose query may name
 * its files and checks with redis-py's names: ?ssl_ca_certs=FILE&ssl_certfile=FILE&
 * ssl_keyfile=FILE&ssl_cert_reqs=required|optional|none&ssl_check_hostname=true|false (values
 * percent-decoded). Without ssl_ca_certs the system's CA store verifies the server. */
struct sh_url {
	int tls, verify, check_host;
	char user[64], pass[128], host[128], path[128];
	char ca[256], cert[256], key[256];
	int port;
};

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* A query value [p, e) percent-decoded into out (n bytes): 0, or -1 when malformed or long. */
static int qval(const char *p, const char *e, char *out, size_t n)
{
	size_t k = 0;
	for (; p < e; p++) {
		int c = (unsigned char)*p;
		if (c == '%') {
			if (e - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0)
				return -1;
			c = hexval(p[1]) * 16 + hexval(p[2]);
			p += 2;
		}
		if (c == 0 || k + 1 >= n)
			return -1;
		out[k++] = (char)c;
	}
	out[k] = 0;
	return 0;
}

static int qbool(const char *v)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		return 1;
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		return 0;
	return -1;
}

/* The TLS settings of a rediss:// query [q, e); an unknown name, or any on redis://, is an error. */
static int url_query(const char *q, const char *e, struct sh_url *u)
{
	while (q < e) {
		const char *amp = memchr(q, '&', (size_t)(e - q)), *end = amp ? amp : e;
		const char *eq = memchr(q, '=', (size_t)(end - q));
		char name[32], v[256];
		if (eq == NULL || (size_t)(eq - q) >= sizeof name || !u->tls)
			return -1;
		memcpy(name, q, (size_t)(eq - q));
		name[eq - q] = 0;
		if (qval(eq + 1, end, v, sizeof v) != 0)
			return -1;
		if (!strcmp(name, "ssl_ca_certs"))
			memcpy(u->ca, v, sizeof v);
		else if (!strcmp(name, "ssl_certfile"))
			memcpy(u->cert, v, sizeof v);
		else if (!strcmp(name, "ssl_keyfile"))
			memcpy(u->key, v, sizeof v);
		else if (!strcmp(name, "ssl_cert_reqs") && (!strcmp(v, "required") || !strcmp(v, "optional")))
			u->verify = 1;
		else if (!strcmp(name, "ssl_cert_reqs") && !strcmp(v, "none"))
			u->verify = 0;
		else if (!strcmp(name, "ssl_check_hostname") && qbool(v) >= 0)
			u->check_host = qbool(v);
		else
			return -1;
		q = amp ? amp + 1 : e;
	}
	return 0;
}

static int url_parse(const char *url, struct sh_url *u)
{
	const char *p, *at, *colon, *slash, *qm, *end;
	memset(u, 0, sizeof *u);
	u->port = 6379;
	u->verify = u->check_host = 1;
	if (url == NULL)
		return -1;
	if (strncmp(url, "redis://", 8) == 0) {
		p = url + 8;
	} else if (strncmp(url, "rediss://", 9) == 0) {
		p = url + 9;
		u->tls = 1;
	} else {
		return -1;
	}
	qm = strchr(p, '?'); /* the query may hold paths with slashes */
	end = qm ? qm : p + strlen(p);
	slash = memchr(p, '/', (size_t)(end - p));
	if (slash == NULL)
		slash = end;
	at = memchr(p, '@', (size_t)(slash - p));
	if (at != NULL) {
		const char *c = memchr(p, ':', (size_t)(at - p));
		size_t ul = c ? (size_t)(c - p) : (size_t)(at - p);
		if (ul >= sizeof u->user)
			return -1;
		memcpy(u->user, p, ul);
		if (c) {
			size_t pl = (size_t)(at - c - 1);
			if (pl >= sizeof u->pass)
				return -1;
			memcpy(u->pass, c + 1, pl);
		}
		p = at + 1;
	}
	colon = memchr(p, ':', (size_t)(slash - p));
	const char *hend = colon ? colon : slash;
	if (hend == p || (size_t)(hend - p) >= sizeof u->host)
		return -1;
	memcpy(u->host, p, (size_t)(hend - p));
	if (colon) {
		long v = 0;
		const char *q = colon + 1;
		if (q == slash)
			return -1;
		for (; q < slash; q++) {
			if (*q < '0' || *q > '9' || (v = v * 10 + (*q - '0')) > 65535)
				return -1;
		}
		if (v == 0)
			return -1;
		u->port = (int)v;
	}
	if (slash < end) {
		if ((size_t)(end - slash - 1) >= sizeof u->path)
			return -1;
		memcpy(u->path, slash + 1, (size_t)(end - slash - 1));
	}
	return qm ? url_query(qm + 1, qm + strlen(qm), u) : 0;
}

size_t ftpi_share_url_display(const char *url, char *buf, size_t n)
{
	struct sh_url u;
	int k;
	if (buf == NULL || n == 0)
		return 0;
	if (url_parse(url, &u) != 0)
		k = snprintf(buf, n, "(invalid redis URL)");
	else
		k = snprintf(buf, n, "%s://%s%s%s:%d%s%s", u.tls ? "rediss" : "redis", u.user,
			     u.user[0] ? "@" : "", u.host, u.port, u.path[0] ? "/" : "", u.path);
	return k < 0 ? 0 : FTPI__MIN((size_t)k, n - 1);
}

void ftpi_share_config_init(struct ftpi_share_config *sc)
{
	if (sc == NULL)
		return;
	memset(sc, 0, sizeof *sc);
	sc->size = sizeof *sc;
	sc->wait_us = 3000000;
	sc->max_pending = 4096;
	sc->queue_len = 16384;
	sc->timeout_expect = 120000000;
	sc->io_timeout_us = 500000;
}

static int sensor_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= FTPI__SH_SENSOR)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

#ifdef FTPI_WITH_REDIS
#include <hiredis/hiredis.h>

#include "rconn.h"

enum { R_NONE = 0, R_PUB, R_UPD, R_LOOKUP, R_CHECK, R_XFER, R_NOTE, R_XADD };

struct req {
	uint8_t type;
	uint16_t me;
	uint32_t ticket;
	uint32_t seq; /* PUB, UPD: the entry's sequence number (unique in this share) */
	char key[FTPI__SH_KEY];
	char field[16];
	struct ftpi__sx_pub p;      /* PUB */
	struct ftpi_xfer x;         /* PUB, UPD */
	uint8_t has_x, matched;
	uint64_t firm_us, gone_us;  /* UPD */
	struct ftpi_endpoint cli, srv; /* LOOKUP */
	uint64_t now_us, max_age_us;    /* LOOKUP; CHECK: now_us = when the expectation ended */
	uint8_t final;                  /* LOOKUP, CHECK: decide now, whatever others' progress */
	char *line;                 /* XADD */
	size_t len;
};

struct aring {
	pthread_mutex_t lock;
	struct ftpi__sh_answer *a;
	uint32_t head, n;
	_Atomic uint32_t outstanding; /* requests sent whose answer was not taken */
	_Atomic uint32_t ready;       /* answers waiting in the ring */
};

struct ftpi__share {
	struct sh_url url;
	char disp[300];
	char sensor[FTPI__SH_SENSOR];
	uint64_t wait_us, timeout_expect, io_timeout_us, stream_maxlen;
	uint32_t max_pending, qcap;
	unsigned engines;
	struct req *q;
	struct req *batch; /* the I/O thread's (BATCH) */
	uint32_t qhead, qn;
	size_t qbytes, qbytes_cap;
	int busy; /* the thread is working on a request taken from the ring */
	int kick; /* an engine waits for what is queued: send it now */
	uint64_t first_at; /* wall clock the ring last became non-empty */
	pthread_mutex_t lock;
	pthread_cond_t cv, idle;
	int stop;
	pthread_t thr;
	int started;
	struct aring *ar;
	_Atomic uint64_t *progress; /* per engine: everything before it is decided */
	uint64_t wm_sent, wm_sent_at;
	uint64_t prog_read_at;         /* wall clock the progress hash was last read */
	_Atomic uint32_t others;       /* other sensors in it then */
	_Atomic uint64_t watch_until;  /* engines hold "alone" answers until then (share_watch) */
	struct ftpi__rconn *c;
	char *ob;         /* the pipeline being written (OB_CAP bytes), handed to hiredis at once */
	size_t obn;
	char pub_sha[41], lookup_sha[41]; /* the scripts, loaded at each connect */
	uint64_t next_try_us, backoff_us;
	int ever_connected;
	char last_error[400];
	_Atomic uint32_t seq;
	_Atomic uint64_t connected, errors, reconnects, published, lookups, claims, claim_lost,
		pending_dropped, queue_full, withheld, remote_claimed, stream_events, stream_dropped;
};

static void set_error(struct ftpi__share *sh, const char *what, const char *detail)
{
	atomic_fetch_add(&sh->errors, 1);
	pthread_mutex_lock(&sh->lock);
	snprintf(sh->last_error, sizeof sh->last_error, "%.200s: %.20s%s%.150s", sh->disp, what,
		 detail ? ": " : "", detail ? detail : "");
	pthread_mutex_unlock(&sh->lock);
}

static void drop_conn(struct ftpi__share *sh)
{
	if (sh->c)
		ftpi__rconn_free(sh->c);
	sh->c = NULL;
	atomic_store(&sh->connected, 0);
	sh->backoff_us = sh->backoff_us ? FTPI__MIN(sh->backoff_us * 2, 5000000u) : 100000u;
	sh->next_try_us = ftpi__share_now() + sh->backoff_us;
}

/* A reply that is an error (or none) drops the connection. */
static int reply_bad(struct ftpi__share *sh, redisReply *r, const char *what)
{
	if (r == NULL) {
		set_error(sh, what, sh->c && ftpi__rconn_error(sh->c)[0] ? ftpi__rconn_error(sh->c) : "no reply");
		if (sh->c) /* (a pipeline's later replies find it dropped already) */
			drop_conn(sh);
		return 1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		set_error(sh, what, r->str);
		freeReplyObject(r);
		drop_conn(sh);
		return 1;
	}
	return 0;
}

/* KEYS: the index; ARGV: the connection's time, the expectations' lifetime (µs of capture
 * time). Only entries that may be the connection's come back, at most 32: not announced after it,
 * not let go before it, not expired (entries gone from Redis leave the index). An entry of
 * another prefix (a NAT, a balancer's other /24, a bounce) is in another hash slot: only its key
 * comes back, and the I/O thread reads it apart (lookup_entries), so that the script touches one
 * slot (Redis Cluster). The sensors' progress is read before, once per batch. */
static const char *LOOKUP_LUA =
	"local now, life, out = tonumber(ARGV[1]), tonumber(ARGV[2]), {} "
	"local pre = string.match(KEYS[1], '^[^}]*}') "
	"for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do "
	"  if string.sub(k, 1, #pre) ~= pre then "
	"    if #out < 32 then out[#out + 1] = {k} end "
	"  else "
	"  local m = redis.call('HMGET', k, 'created_us', 'gone_us', 'firm_us') "
	"  if not m[1] then redis.call('SREM', KEYS[1], k) "
	"  else "
	"    local c, g, f = tonumber(m[1]), tonumber(m[2] or '0'), tonumber(m[3] or '0') "
	"    local t0 = (f > 0) and f or c "
	"    if c <= now and (g == 0 or g >= now) and (now <= t0 or now - t0 < life) "
	"       and #out < 32 then "
	"      out[#out + 1] = {k, redis.call('EXISTS', k .. ':claim'), redis.call('HGETALL', k)} "
	"    end "
	"  end "
	"  end "
	"end "
	"return out";

/* A publication in one call: KEYS the entry and its indexes of the same slot; ARGV the TTL, then
 * the entry's fields and values. */
static const char *PUB_LUA =
	"redis.call('HSET', KEYS[1], unpack(ARGV, 2)) "
	"redis.call('EXPIRE', KEYS[1], ARGV[1]) "
	"for i = 2, #KEYS do "
	"  redis.call('SADD', KEYS[i], KEYS[1]) "
	"  redis.call('EXPIRE', KEYS[i], ARGV[1]) "
	"end "
	"return 1";

static int ensure_conn(struct ftpi__share *sh)
{
	if (sh->c)
		return 0;
	if (ftpi__share_now() < sh->next_try_us)
		return -1;
	if (sh->ever_connected || sh->next_try_us)
		atomic_fetch_add(&sh->reconnects, 1);
	struct ftpi__rconn_opts o = {sh->url.host, sh->url.port, sh->url.tls, sh->url.ca,
				     sh->url.cert, sh->url.key, sh->url.verify, sh->url.check_host,
				     sh->io_timeout_us};
	char why[200];
	sh->c = ftpi__rconn_open(&o, why, sizeof why);
	if (sh->c == NULL) {
		set_error(sh, "connect", why);
		drop_conn(sh);
		return -1;
	}
	redisReply *r;
	if (sh->url.pass[0]) {
		if (sh->url.user[0])
			r = ftpi__rconn_command(sh->c, "AUTH %s %s", sh->url.user, sh->url.pass);
		else
			r = ftpi__rconn_command(sh->c, "AUTH %s", sh->url.pass);
		if (reply_bad(sh, r, "AUTH"))
			return -1;
		freeReplyObject(r);
	}
	if (sh->stream_maxlen == 0 && sh->url.path[0]) {
		r = ftpi__rconn_command(sh->c, "SELECT %s", sh->url.path);
		if (reply_bad(sh, r, "SELECT"))
			return -1;
		freeReplyObject(r);
	}
	r = ftpi__rconn_command(sh->c, "PING");
	if (reply_bad(sh, r, "PING"))
		return -1;
	freeReplyObject(r);
	if (sh->stream_maxlen == 0) { /* the scripts, called by their SHA1 from now on */
		const char *src[2] = {PUB_LUA, LOOKUP_LUA};
		char *sha[2] = {sh->pub_sha, sh->lookup_sha};
		for (int i = 0; i < 2; i++) {
			r = ftpi__rconn_command(sh->c, "SCRIPT LOAD %s", src[i]);
			if (reply_bad(sh, r, "SCRIPT LOAD"))
				return -1;
			if (r->type != REDIS_REPLY_STRING || r->len != 40) {
				freeReplyObject(r);
				set_error(sh, "SCRIPT LOAD", "unexpected reply");
				drop_conn(sh);
				return -1;
			}
			memcpy(sha[i], r->str, 40);
			sha[i][40] = 0;
			freeReplyObject(r);
		}
	}
	sh->ever_connected = 1;
	sh->backoff_us = 0;
	atomic_store(&sh->connected, 1);
	return 0;
}

/* ---- keys and values ---- */

/* The hash tag of an address (buf: 64 bytes): its /24 or /64, written by hand (snprintf was a
 * tenth of what --share cost the packet path); its length. */
static size_t tag_of(const struct ftpi_addr *a, char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char *o = buf;
	if (a->family == 6) {
		for (int i = 0; i < 8; i++) {
			*o++ = hex[a->ip[i] >> 4];
			*o++ = hex[a->ip[i] & 15];
			if (i & 1)
				*o++ = ':';
		}
		memcpy(o, ":/64", 5);
		return (size_t)(o - buf) + 4;
	}
	struct ftpi_addr net = *a;
	net.ip[3] = 0;
	size_t n = ftpi_addr_format(&net, buf, 48);
	memcpy(buf + n, "/24", 4);
	return n + 3;
}

static void addr_text(const struct ftpi_addr *a, char *buf, size_t n)
{
	if (a->family == 0)
		snprintf(buf, n, "-");
	else
		ftpi_addr_format(a, buf, n);
}

static int addr_parse(const char *s, size_t len, struct ftpi_addr *a)
{
	char t[64];
	memset(a, 0, sizeof *a);
	if (len == 0 || len >= sizeof t)
		return -1;
	memcpy(t, s, len);
	t[len] = 0;
	if (strcmp(t, "-") == 0)
		return 0;
	if (inet_pton(AF_INET, t, a->ip) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, t, a->ip) == 1) {
		a->family = 6;
		return 0;
	}
	return -1;
}

static uint64_t num(const char *s, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v;
}

static uint64_t ttl_s(const struct ftpi__share *sh)
{
	return (sh->timeout_expect + 2 * sh->wait_us) / 1000000u + 10u;
}

/* v in decimal at b (24 bytes), NUL-terminated; its length. Two digits per division (the
 * capture times of an entry have 16 digits: one division per digit was 2% of a --share run). */
static size_t u64_text(char *b, uint64_t v)
{
	static const char d2[] = "00010203040506070809101112131415161718192021222324252627282930313233"
				 "34353637383940414243444546474849505152535455565758596061626364656667"
				 "6869707172737475767778798081828384858687888990919293949596979899";
	char t[24], *e = t + sizeof t, *o = e;
	while (v >= 100) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		o -= 2;
		memcpy(o, d2 + 2 * r, 2);
	}
	if (v >= 10) {
		o -= 2;
		memcpy(o, d2 + 2 * v, 2);
	} else {
		*--o = (char)('0' + v);
	}
	size_t n = (size_t)(e - o);
	memcpy(b, o, n);
	b[n] = 0;
	return n;
}

/* An entry's fields that no update changes, in one value (field "e"): the words, separated by one
 * space, "1" (the format), sid, sensor, control client, its port, control server, its port, target,
 * port, NAT reached address ("-": none), announce (enum), command (PASV, EPRT, ...), active,
 * bounce, tls, frame, deadline_us (capture time). Addresses in text; readable with redis-cli. */
#define ENTRY_PACK 400

static char *pack_u64(char *o, uint64_t v)
{
	o += u64_text(o, v);
	*o++ = ' ';
	return o;
}

static char *pack_addr(char *o, const struct ftpi_addr *a)
{
	if (a->family == 0)
		*o++ = '-';
	else
		o += ftpi_addr_format(a, o, 64);
	*o++ = ' ';
	return o;
}

/* The packed value of p at o (ENTRY_PACK bytes); its length. */
static size_t entry_pack(const struct ftpi__share *sh, const struct ftpi__sx_pub *p, char *o)
{
	char *b = o;
	const char *cmd = ftpi_announce_name(p->announce);
	size_t n = strlen(sh->sensor), cl = cmd ? FTPI__MIN(strlen(cmd), 16) : 0;
	*o++ = '1';
	*o++ = ' ';
	o = pack_u64(o, p->session_id);
	memcpy(o, sh->sensor, n);
	o += n;
	*o++ = ' ';
	o = pack_addr(o, &p->scli.addr);
	o = pack_u64(o, p->scli.port);
	o = pack_addr(o, &p->ssrv.addr);
	o = pack_u64(o, p->ssrv.port);
	o = pack_addr(o, &p->target.addr);
	o = pack_u64(o, p->target.port);
	if (p->has_reached)
		o = pack_addr(o, &p->reached);
	else
		o = pack_addr(o, &(struct ftpi_addr){0});
	o = pack_u64(o, p->announce);
	if (cl == 0)
		*o++ = '-';
	memcpy(o, cmd ? cmd : "", cl);
	o += cl;
	*o++ = ' ';
	o = pack_u64(o, p->active);
	o = pack_u64(o, p->bounce);
	o = pack_u64(o, p->tls_session);
	o = pack_u64(o, p->frame);
	o += u64_text(o, (p->firm ? p->firm_us : p->created_us) + sh->timeout_expect);
	return (size_t)(o - b);
}

/* A packed value (entry_pack) into a->p and a->sensor; words it does not know are ignored. */
static void entry_unpack(const char *s, size_t len, struct ftpi__sh_answer *a)
{
	if (len < 2 || s[0] != '1' || s[1] != ' ')
		return;
	const char *v = s + 2, *end = s + len;
	for (unsigned w = 0;; w++) {
		const char *sp = memchr(v, ' ', (size_t)(end - v));
		size_t l = (size_t)((sp ? sp : end) - v);
		switch (w) {
		case 0: a->p.session_id = num(v, l); break;
		case 1: snprintf(a->sensor, sizeof a->sensor, "%.*s", (int)FTPI__MIN(l, 48), v); break;
		case 2: addr_parse(v, l, &a->p.scli.addr); break;
		case 3: a->p.scli.port = (uint16_t)num(v, l); break;
		case 4: addr_parse(v, l, &a->p.ssrv.addr); break;
		case 5: a->p.ssrv.port = (uint16_t)num(v, l); break;
		case 6: addr_parse(v, l, &a->p.target.addr); break;
		case 7: a->p.target.port = (uint16_t)num(v, l); break;
		case 8:
			a->p.has_reached = addr_parse(v, l, &a->p.reached) == 0 &&
					   a->p.reached.family != 0;
			break;
		case 9: a->p.announce = (uint8_t)num(v, l); break;
		case 11: a->p.active = (uint8_t)num(v, l); break;
		case 12: a->p.bounce = (uint8_t)num(v, l); break;
		case 13: a->p.tls_session = (uint8_t)num(v, l); break;
		case 14: a->p.frame = num(v, l); break;
		default: break; /* 10: the command's name; 15: the deadline (for readers) */
		}
		if (sp == NULL)
			break;
		v = sp + 1;
	}
}

/* A flat field/value array (HGETALL) into an expectation. */
static void parse_entry(const redisReply *h, struct ftpi__sh_answer *a, int *matched,
			uint64_t *gone_us)
{
	memset(&a->p, 0, sizeof a->p);
	memset(&a->x, 0, sizeof a->x);
	*matched = 0;
	*gone_us = 0;
	a->sensor[0] = 0;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const redisReply *k = h->element[i], *v = h->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		const char *f = k->str, *s = v->str;
		size_t l = (size_t)v->len;
#define F(name) (strcmp(f, name) == 0)
		if (F("e"))
			entry_unpack(s, l, a);
		else if (F("sid"))
			a->p.session_id = num(s, l);
		else if (F("sensor"))
			snprintf(a->sensor, sizeof a->sensor, "%.*s", (int)FTPI__MIN(l, 48), s);
		else if (F("ctl_client"))
			addr_parse(s, l, &a->p.scli.addr);
		else if (F("ctl_client_port"))
			a->p.scli.port = (uint16_t)num(s, l);
		else if (F("ctl_server"))
			addr_parse(s, l, &a->p.ssrv.addr);
		else if (F("ctl_server_port"))
			a->p.ssrv.port = (uint16_t)num(s, l);
		else if (F("target"))
			addr_parse(s, l, &a->p.target.addr);
		else if (F("port"))
			a->p.target.port = (uint16_t)num(s, l);
		else if (F("reached"))
			a->p.has_reached = addr_parse(s, l, &a->p.reached) == 0 &&
					   a->p.reached.family != 0;
		else if (F("announce"))
			a->p.announce = (uint8_t)num(s, l);
		else if (F("active"))
			a->p.active = (uint8_t)num(s, l);
		else if (F("firm"))
			a->p.firm = (uint8_t)num(s, l);
		else if (F("bounce"))
			a->p.bounce = (uint8_t)num(s, l);
		else if (F("tls"))
			a->p.tls_session = (uint8_t)num(s, l);
		else if (F("created_us"))
			a->p.created_us = num(s, l);
		else if (F("firm_us"))
			a->p.firm_us = num(s, l);
		else if (F("frame"))
			a->p.frame = num(s, l);
		else if (F("matched"))
			*matched = (int)num(s, l);
		else if (F("gone_us"))
			*gone_us = num(s, l);
		else if (F("xverb"))
			a->x.verb = (uint8_t)num(s, l);
		else if (F("xstate"))
			a->x.state = (uint8_t)num(s, l);
		else if (F("xstatus"))
			a->x.status = (uint8_t)num(s, l);
		else if (F("file")) {
			a->x.file_len = (uint16_t)FTPI__MIN(l, sizeof a->x.file);
			memcpy(a->x.file, s, a->x.file_len);
		}
#undef F
	}
}

static void xfer_args(const struct ftpi_xfer *x, const char **av, size_t *al, int *ac,
		      char nb[3][24])
{
	const char *f[] = {"xverb", "xstate", "xstatus"};
	const unsigned v[] = {x->verb, x->state, x->status};
	for (int i = 0; i < 3; i++) {
		av[*ac] = f[i];
		al[(*ac)++] = strlen(f[i]);
		av[*ac] = nb[i];
		al[(*ac)++] = u64_text(nb[i], v[i]);
	}
	av[*ac] = "file";
	al[(*ac)++] = 4;
	av[*ac] = x->file;
	al[(*ac)++] = x->file_len;
}

/* ftpi:{TAG}:idx:PORT (buf: FTPI__SH_KEY bytes), by hand. */
static void idx_key(char *buf, const char *tag, size_t tl, uint16_t port)
{
	memcpy(buf, "ftpi:{", 6);
	memcpy(buf + 6, tag, tl);
	memcpy(buf + 6 + tl, "}:idx:", 6);
	u64_text(buf + 12 + tl, port);
}

/* ---- the pipeline's bytes ----
 * Commands are written here in the Redis protocol (RESP: "*argc", then "$len" and the bytes of
 * each argument) into one buffer, handed to hiredis whole (ob_send): hiredis's own formatter
 * went through sdscatfmt for every argument, about 15,000 instructions a command, which was
 * half of what --share cost. A full buffer is handed over early; the byte stream is the same. */
#define OB_CAP (256u << 10)

static void ob_send(struct ftpi__share *sh)
{
	if (sh->obn && sh->c)
		ftpi__rconn_append(sh->c, sh->ob, sh->obn);
	sh->obn = 0;
}

/* "*N" or "$N" and CRLF at o (at most 24 bytes); past them. */
static char *ob_len(char *o, char c, size_t v)
{
	*o++ = c;
	if (v < 10) {
		*o++ = (char)('0' + v);
	} else if (v < 100) {
		*o++ = (char)('0' + v / 10);
		*o++ = (char)('0' + v % 10);
	} else {
		o += u64_text(o, v);
	}
	*o++ = '\r';
	*o++ = '\n';
	return o;
}

static void ob_argv(struct ftpi__share *sh, int ac, const char **av, const size_t *al)
{
	size_t need = 24;
	for (int i = 0; i < ac; i++)
		need += al[i] + 26;
	if (sh->obn + need > OB_CAP)
		ob_send(sh);
	if (need > OB_CAP) { /* (longer than the buffer: hiredis formats it) */
		if (sh->c)
			ftpi__rconn_append_argv(sh->c, ac, av, al);
		return;
	}
	char *o = ob_len(sh->ob + sh->obn, '*', (size_t)ac);
	for (int i = 0; i < ac; i++) {
		o = ob_len(o, '$', al[i]);
		memcpy(o, av[i], al[i]);
		o += al[i];
		*o++ = '\r';
		*o++ = '\n';
	}
	sh->obn = (size_t)(o - sh->ob);
}

/* A command of up to six words (NULL ends them). */
static void ob_cmd(struct ftpi__share *sh, const char *a0, const char *a1, const char *a2,
		   const char *a3, const char *a4, const char *a5)
{
	const char *av[6] = {a0, a1, a2, a3, a4, a5};
	size_t al[6];
	int ac = 0;
	while (ac < 6 && av[ac]) {
		al[ac] = strlen(av[ac]);
		ac++;
	}
	ob_argv(sh, ac, av, al);
}

static void app4(struct ftpi__share *sh, const char *c, const char *a, const char *b,
		 const char *d)
{
	ob_cmd(sh, c, a, b, d, NULL, NULL);
}

static void app3(struct ftpi__share *sh, const char *c, const char *a, const char *b)
{
	app4(sh, c, a, b, NULL);
}

/* An update's fields (also a publication's, when updates of the same batch were folded in). */
static void upd_args(const struct req *q, const char **av, size_t *al, int *ac, char b[2][24])
{
	if (q->firm_us) {
		u64_text(b[0], q->firm_us);
		av[*ac] = "firm";
		al[(*ac)++] = 4;
		av[*ac] = "1";
		al[(*ac)++] = 1;
		av[*ac] = "firm_us";
		al[(*ac)++] = 7;
		av[*ac] = b[0];
		al[(*ac)++] = strlen(b[0]);
	}
	if (q->matched) {
		av[*ac] = "matched";
		al[(*ac)++] = 7;
		av[*ac] = "1";
		al[(*ac)++] = 1;
	}
	if (q->gone_us) {
		u64_text(b[1], q->gone_us);
		av[*ac] = "gone_us";
		al[(*ac)++] = 7;
		av[*ac] = b[1];
		al[(*ac)++] = strlen(b[1]);
	}
}

static int app_pub(struct ftpi__share *sh, const struct req *q)
{
	const struct ftpi__sx_pub *p = &q->p;
	char b[2][24], nb[3][24], ub[2][24], pk[ENTRY_PACK];
	const char *av[40];
	size_t al[40];
	int ac = 0, k = 0;
#define KV(name, v)                                                                                \
	do {                                                                                       \
		av[ac] = name;                                                                     \
		al[ac++] = sizeof name - 1;                                                        \
		av[ac] = b[k];                                                                     \
		al[ac++] = u64_text(b[k++], (v));                                                  \
	} while (0)
	/* indexed under the target's prefix, and where else the connection may go: the indexes
	 * in the entry's own slot are the script's keys, the others are written apart (a script
	 * touches one hash slot: Redis Cluster) */
	struct ftpi_addr where[3];
	int nw = 0;
	where[nw++] = p->target.addr;
	if (!p->active && p->has_reached)
		where[nw++] = p->reached;
	if (!p->active && !ftpi__addr_eq(&p->ssrv.addr, &p->target.addr))
		where[nw++] = p->ssrv.addr;
	if (p->active && p->bounce)
		where[nw++] = p->scli.addr;
	char tags[3][64], idx[3][FTPI__SH_KEY], tt[24], nk[4];
	int local[3];
	size_t tl[3];
	int nlocal = 0;
	for (int i = 0; i < nw; i++) {
		tl[i] = tag_of(&where[i], tags[i]);
		local[i] = i == 0; /* the entry's own prefix (and slot), another one, or -1: a repeat */
		for (int j = 0; j < i; j++)
			if (tl[i] == tl[j] && memcmp(tags[i], tags[j], tl[i]) == 0)
				local[i] = -1;
		idx_key(idx[i], tags[i], tl[i], p->target.port);
		nlocal += local[i] == 1;
	}
	u64_text(tt, ttl_s(sh));
	u64_text(nk, (uint64_t)nlocal + 1);
	av[ac] = "EVALSHA";
	al[ac++] = 7;
	av[ac] = sh->pub_sha;
	al[ac++] = 40;
	av[ac] = nk;
	al[ac++] = strlen(nk);
	av[ac] = q->key;
	al[ac++] = strlen(q->key);
	for (int i = 0; i < nw; i++)
		if (local[i] == 1) {
			av[ac] = idx[i];
			al[ac++] = strlen(idx[i]);
		}
	av[ac] = tt;
	al[ac++] = strlen(tt);
	/* the fields nobody updates, packed in one value (entry_pack): one argument instead of 34,
	 * each of which cost a length header, a copy and a field of the hash in Redis */
	av[ac] = "e";
	al[ac++] = 1;
	av[ac] = pk;
	al[ac++] = entry_pack(sh, p, pk);
	KV("created_us", p->created_us); /* (read by the lookup script) */
	if (p->firm) {
		av[ac] = "firm";
		al[ac++] = 4;
		av[ac] = "1";
		al[ac++] = 1;
		KV("firm_us", p->firm_us);
	}
#undef KV
	if (q->has_x)
		xfer_args(&q->x, av, al, &ac, nb);
	upd_args(q, av, al, &ac, ub); /* updates folded in (fold_updates) */
	int n = 1;
	ob_argv(sh, ac, av, al);
	for (int i = 0; i < nw; i++) {
		if (local[i] != 0)
			continue;
		app3(sh, "SADD", idx[i], q->key);
		app3(sh, "EXPIRE", idx[i], tt);
		n += 2;
	}
	return n;
}

static int app_upd(struct ftpi__share *sh, const struct req *q)
{
	char b[2][24], nb[3][24];
	const char *av[24];
	size_t al[24];
	int ac = 0;
	av[ac] = "HSET";
	al[ac++] = 4;
	av[ac] = q->key;
	al[ac++] = strlen(q->key);
	upd_args(q, av, al, &ac, b);
	if (q->has_x)
		xfer_args(&q->x, av, al, &ac, nb);
	if (ac == 2)
		return 0;
	ob_argv(sh, ac, av, al);
	return 1;
}

/* The sensor's progress for the others: every publication and decision before T is in Redis.
 * Called with the lock held and the queue empty (so whatever the engines queued before they
 * stored their progress has been sent). */
static uint64_t progress_min(struct ftpi__share *sh)
{
	uint64_t t = UINT64_MAX;
	for (unsigned i = 0; i < sh->engines; i++) {
		uint64_t v = atomic_load_explicit(&sh->progress[i], memory_order_acquire);
		if (v < t)
			t = v;
	}
	return t;
}

static void write_wm(struct ftpi__share *sh, uint64_t t)
{
	uint64_t now = ftpi__share_now();
	if (sh->stream_maxlen || t == sh->wm_sent || (now - sh->wm_sent_at < 20000 && t != UINT64_MAX))
		return;
	if (ensure_conn(sh) != 0)
		return;
	redisReply *r = ftpi__rconn_command(sh->c, "HSET ftpi:{wm}:progress %s %llu", sh->sensor,
				     (unsigned long long)t);
	if (reply_bad(sh, r, "progress"))
		return;
	freeReplyObject(r);
	r = ftpi__rconn_command(sh->c, "EXPIRE ftpi:{wm}:progress %llu", (unsigned long long)ttl_s(sh));
	if (reply_bad(sh, r, "progress"))
		return;
	freeReplyObject(r);
	sh->wm_sent = t;
	sh->wm_sent_at = now;
}

/* Not decidable yet (from a flat HGETALL of the progress hash): 1 when another sensor has not
 * decided everything before t, 2 when no other sensor is known (one may start later: the wait
 * decides), 0 when every other sensor is past t. */
static int others_behind(const struct ftpi__share *sh, const redisReply *w, uint64_t t)
{
	int others = 0;
	if (w == NULL || w->type != REDIS_REPLY_ARRAY)
		return 1;
	for (size_t i = 0; i + 1 < w->elements; i += 2) {
		const redisReply *k = w->element[i], *v = w->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
		    strcmp(k->str, sh->sensor) == 0)
			continue;
		others++;
		if (num(v->str, (size_t)v->len) < t)
			return 1;
	}
	return others == 0 ? 2 : 0;
}

/* A progress hash just read (NULL: the read failed): how many other sensors it names, kept for
 * the engines (ftpi__share_others). */
static void note_others(struct ftpi__share *sh, const redisReply *w)
{
	uint32_t n = 0;
	sh->prog_read_at = ftpi__share_now();
	if (w == NULL || w->type != REDIS_REPLY_ARRAY)
		return;
	for (size_t i = 0; i + 1 < w->elements; i += 2) {
		const redisReply *k = w->element[i];
		n += k->type == REDIS_REPLY_STRING && strcmp(k->str, sh->sensor) != 0;
	}
	atomic_store_explicit(&sh->others, n, memory_order_release);
}

/* While an engine holds "alone" answers: the progress hash every 20 ms (idle I/O thread). */
static void watch_others(struct ftpi__share *sh)
{
	uint64_t now = ftpi__share_now();
	if (sh->stream_maxlen || now >= atomic_load(&sh->watch_until) ||
	    now - sh->prog_read_at < 20000 || ensure_conn(sh) != 0)
		return;
	redisReply *r = ftpi__rconn_command(sh->c, "HGETALL ftpi:{wm}:progress");
	if (reply_bad(sh, r, "progress"))
		return;
	note_others(sh, r);
	freeReplyObject(r);
}

static void answer(struct ftpi__share *sh, unsigned me, const struct ftpi__sh_answer *a)
{
	struct aring *r = &sh->ar[me];
	pthread_mutex_lock(&r->lock);
	if (FTPI__ALWAYS(r->n < sh->max_pending)) {
		r->a[(r->head + r->n) % sh->max_pending] = *a;
		r->n++;
		atomic_fetch_add(&r->ready, 1);
	}
	pthread_mutex_unlock(&r->lock);
}

struct cand {
	int score;
	uint64_t created;
	size_t i;
	struct ftpi__fit fit;
};

static void append_lookup(struct ftpi__share *sh, const struct req *q)
{
	char tag[64], idx[FTPI__SH_KEY];
	idx_key(idx, tag, tag_of(&q->srv.addr, tag), q->srv.port);
	char now[24], life[24];
	u64_text(now, q->now_us);
	u64_text(life, q->max_age_us);
	atomic_fetch_add(&sh->lookups, 1);
	ob_cmd(sh, "EVALSHA", sh->lookup_sha, "1", idx, now, life);
}

/* An entry a lookup may take: its key, whether it is claimed, its fields (flat HGETALL). */
struct ent {
	const char *key;
	int claimed;
	const redisReply *h;
};

/* The script's reply (r) as entries; an entry of another slot (only its key came back) is read
 * here, with HGETALL and EXISTS of its claim (one key each), its replies kept in own[] for the
 * caller to free. The count of entries; -1 when the connection failed. */
static int lookup_entries(struct ftpi__share *sh, const redisReply *r, struct ent *es,
			  redisReply **own, size_t max)
{
	size_t n = 0, nf = 0;
	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements && n < max; i++) {
		const redisReply *e = r->element[i];
		if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 ||
		    e->element[0]->type != REDIS_REPLY_STRING)
			continue;
		es[n].key = e->element[0]->str;
		es[n].h = NULL;
		es[n].claimed = 0;
		if (e->elements == 3 && e->element[2]->type == REDIS_REPLY_ARRAY) {
			es[n].claimed = e->element[1]->type == REDIS_REPLY_INTEGER &&
					e->element[1]->integer;
			es[n++].h = e->element[2];
		} else if (e->elements == 1 && sh->c) {
			char ck[FTPI__SH_KEY + 8];
			snprintf(ck, sizeof ck, "%s:claim", es[n].key);
			app3(sh, "HGETALL", es[n].key, NULL);
			app3(sh, "EXISTS", ck, NULL);
			n++;
			nf++;
		}
	}
	ob_send(sh);
	for (size_t i = 0, k = 0; i < n && nf; i++) {
		if (es[i].h)
			continue;
		for (int j = 0; j < 2; j++) {
			redisReply *x = NULL;
			if (sh->c == NULL || ftpi__rconn_get_reply(sh->c, &x) != 0)
				x = NULL;
			if (reply_bad(sh, x, "lookup"))
				return -1;
			own[k++] = x;
		}
		es[i].h = own[k - 2];
		es[i].claimed = own[k - 1]->type == REDIS_REPLY_INTEGER && own[k - 1]->integer;
	}
	return (int)n;
}

/* The entries of a lookup's reply (r) that could be the connection's expectation, best first
 * (score, then the newest): at most max of them in cs; their count. */
static size_t lookup_candidates(const struct ftpi__share *sh, const struct req *q,
				const struct ent *es, size_t ne, struct cand *cs, size_t max)
{
	size_t nc = 0;
	struct ftpi__sh_answer t;
	for (size_t i = 0; i < ne && nc < max; i++) {
		if (es[i].h->type != REDIS_REPLY_ARRAY || es[i].h->elements == 0)
			continue; /* (expired) */
		int matched;
		uint64_t gone_us;
		parse_entry(es[i].h, &t, &matched, &gone_us);
		/* ours: the engine's table has it (gone only means "no more updates": a sensor far
		 * ahead in its capture may let go before another reaches the connection) */
		if (strcmp(t.sensor, sh->sensor) == 0 || t.p.target.port != q->srv.port)
			continue;
		/* announced after the connection came, or let go (replaced, session over) before:
		 * not its expectation (capture time, as one sensor would see it) */
		if (t.p.created_us > q->now_us || (gone_us && gone_us < q->now_us))
			continue;
		uint64_t t0 = t.p.firm ? t.p.firm_us : t.p.created_us;
		if (q->now_us > t0 && q->now_us - t0 >= q->max_age_us)
			continue;
		struct ftpi__fit_view v = {&t.p.target, &t.p.scli, &t.p.ssrv, t.p.active,
					   t.p.bounce, t.p.has_reached};
		struct ftpi__fit f = ftpi__fit_conn(&v, &q->cli, &q->srv);
		if (f.score < 0)
			continue;
		f.score += (es[i].claimed || matched ? 0 : 4) + (t.p.firm ? 2 : 0);
		cs[nc].score = f.score;
		cs[nc].created = t.p.created_us;
		cs[nc].i = i;
		cs[nc++].fit = f;
	}
	/* best first: score, then the newest */
	for (size_t i = 1; i < nc; i++)
		for (size_t j = i; j > 0 && (cs[j].score > cs[j - 1].score ||
					     (cs[j].score == cs[j - 1].score &&
					      cs[j].created > cs[j - 1].created));
		     j--) {
			struct cand tmp = cs[j];
			cs[j] = cs[j - 1];
			cs[j - 1] = tmp;
		}
	return nc;
}

/* The lookup's answer from its EVAL reply (top, freed here; NULL: the call failed): the best
 * entry, claimed. */
static void lookup_reply(struct ftpi__share *sh, const struct req *q, struct ftpi__sh_answer *a,
			 const redisReply *prog, redisReply *top)
{
	struct ent es[64];
	redisReply *own[128];
	memset(own, 0, sizeof own);
	if (reply_bad(sh, top, "lookup")) {
		a->result = FTPI__SHA_ERROR;
		return;
	}
	int ne = top->type == REDIS_REPLY_ARRAY ? lookup_entries(sh, top, es, own, 64) : -1;
	if (ne < 0) {
		for (size_t i = 0; i < 128 && own[i]; i++)
			freeReplyObject(own[i]);
		freeReplyObject(top);
		a->result = FTPI__SHA_ERROR;
		return;
	}
	/* a sensor not this far yet may still publish this connection's expectation */
	int behind = others_behind(sh, prog, q->now_us);
	struct cand cs[16];
	size_t nc = lookup_candidates(sh, q, es, (size_t)ne, cs, sizeof cs / sizeof *cs);
	a->result = FTPI__SHA_NONE;
	if (behind && !q->final) {
		a->alone = behind == 2;
		goto done; /* not yet: asked again */
	}
	a->decided = 1;
	if (nc && sh->c == NULL) { /* an earlier lookup of the batch lost the connection */
		a->result = FTPI__SHA_ERROR;
		a->decided = 0;
		goto done;
	}
	for (size_t k = 0; k < nc && k < 4; k++) {
		const struct ent *e = &es[cs[k].i];
		const char *key = e->key;
		char ck[FTPI__SH_KEY + 8];
		snprintf(ck, sizeof ck, "%s:claim", key);
		redisReply *w = ftpi__rconn_command(sh->c, "HSETNX %s by %s", ck, sh->sensor);
		if (reply_bad(sh, w, "claim")) {
			a->result = FTPI__SHA_ERROR;
			break;
		}
		int won = w->type == REDIS_REPLY_INTEGER && w->integer == 1;
		freeReplyObject(w);
		if (!won) {
			atomic_fetch_add(&sh->claim_lost, 1);
			continue;
		}
		int matched;
		uint64_t gone_us;
		parse_entry(e->h, a, &matched, &gone_us);
		snprintf(a->key, sizeof a->key, "%s", key);
		memset(&a->c, 0, sizeof a->c);
		a->c.cli = q->cli;
		a->c.srv = q->srv;
		a->c.cli_bad = (uint8_t)cs[k].fit.cli_bad;
		a->c.srv_bad = (uint8_t)cs[k].fit.srv_bad;
		a->c.nat = (uint8_t)cs[k].fit.nat;
		a->c.n = 1;
		char cip[64], sip[64];
		addr_text(&q->cli.addr, cip, sizeof cip);
		addr_text(&q->srv.addr, sip, sizeof sip);
		ftpi__rconn_appendf(sh->c,
				   "HSET %s client %s client_port %u server %s server_port %u "
				   "cli_bad %u srv_bad %u nat %u",
				   ck, cip, q->cli.port, sip, q->srv.port, a->c.cli_bad, a->c.srv_bad,
				   a->c.nat);
		ftpi__rconn_appendf(sh->c, "EXPIRE %s %llu", ck, (unsigned long long)ttl_s(sh));
		for (int i = 0; i < 2; i++) {
			redisReply *x = NULL;
			if (ftpi__rconn_get_reply(sh->c, &x) != 0)
				x = NULL;
			if (reply_bad(sh, x, "claim"))
				break;
			freeReplyObject(x);
		}
		atomic_fetch_add(&sh->claims, 1);
		a->result = FTPI__SHA_FOUND;
		break;
	}
done: /* the claim's failures never free the lookup's replies */
	for (size_t i = 0; i < 128 && own[i]; i++)
		freeReplyObject(own[i]);
	freeReplyObject(top);
}

/* The fields of a claim hash (flat HGETALL reply r) into the answer: who claimed, and what.
 * Returns whether it is a "missing" verdict rather than a claim. */
static int claim_fields(struct ftpi__sh_answer *a, const redisReply *r)
{
	int missing = 0;
	a->result = FTPI__SHA_FOUND;
	memset(&a->c, 0, sizeof a->c);
	a->c.n = 1;
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const char *f = r->element[i]->str, *s = r->element[i + 1]->str;
		size_t l = (size_t)r->element[i + 1]->len;
		if (f == NULL || s == NULL)
			continue;
		if (strcmp(f, "client") == 0)
			addr_parse(s, l, &a->c.cli.addr);
		else if (strcmp(f, "server") == 0)
			addr_parse(s, l, &a->c.srv.addr);
		else if (strcmp(f, "client_port") == 0)
			a->c.cli.port = (uint16_t)num(s, l);
		else if (strcmp(f, "server_port") == 0)
			a->c.srv.port = (uint16_t)num(s, l);
		else if (strcmp(f, "cli_bad") == 0)
			a->c.cli_bad = (uint8_t)num(s, l);
		else if (strcmp(f, "srv_bad") == 0)
			a->c.srv_bad = (uint8_t)num(s, l);
		else if (strcmp(f, "nat") == 0)
			a->c.nat = (uint8_t)num(s, l);
		else if (strcmp(f, "answered") == 0)
			a->c.answered = (uint8_t)num(s, l);
		else if (strcmp(f, "clear") == 0)
			a->c.clear = (uint8_t)num(s, l);
		else if (strcmp(f, "by") == 0)
			snprintf(a->sensor, sizeof a->sensor, "%.*s", (int)FTPI__MIN(l, 48), s);
		else if (strcmp(f, "missing") == 0)
			missing = 1;
	}
	return missing;
}

/* The owner's "missing" verdict is taken the way a claimant takes an entry: HSETNX of the claim
 * key, by this sensor, with `missing 1`. Whoever sets it first decides, so a claimant whose SYN
 * was seen late (a live sensor behind its own progress, a host under load) loses its claim
 * instead of reporting the connection beside the owner's data_connection_missing. Lost: the
 * claim is read again and answered as found. 0: taken; -1: the call failed. */
static int take_verdict(struct ftpi__share *sh, const char *ck, struct ftpi__sh_answer *a)
{
	redisReply *w = ftpi__rconn_command(sh->c, "HSETNX %s by %s", ck, sh->sensor);
	if (reply_bad(sh, w, "verdict"))
		return -1;
	int won = w->type == REDIS_REPLY_INTEGER && w->integer == 1;
	freeReplyObject(w);
	if (won) {
		ftpi__rconn_appendf(sh->c, "HSET %s missing 1", ck);
		ftpi__rconn_appendf(sh->c, "EXPIRE %s %llu", ck, (unsigned long long)ttl_s(sh));
		for (int i = 0; i < 2; i++) {
			redisReply *x = NULL;
			if (sh->c == NULL || ftpi__rconn_get_reply(sh->c, &x) != 0)
				x = NULL;
			if (reply_bad(sh, x, "verdict"))
				return -1;
			freeReplyObject(x);
		}
		return 0;
	}
	redisReply *r = ftpi__rconn_command(sh->c, "HGETALL %s", ck);
	if (reply_bad(sh, r, "verdict"))
		return -1;
	if (r->type == REDIS_REPLY_ARRAY)
		claim_fields(a, r);
	freeReplyObject(r);
	return 0;
}

/* A claim check from its reply (r, freed here; NULL: the call failed) and the batch's progress
 * hash (prog), read before the claim, so a claimant past t had claimed by then. A decided check
 * that finds no claim takes the verdict (take_verdict). */
static void check_reply(struct ftpi__share *sh, const struct req *q, struct ftpi__sh_answer *a,
			const redisReply *prog, redisReply *r)
{
	int behind = others_behind(sh, prog, q->now_us);
	a->decided = q->final || !behind;
	a->alone = !a->decided && behind == 2;
	if (reply_bad(sh, r, "check")) {
		a->result = FTPI__SHA_ERROR;
		return;
	}
	a->result = FTPI__SHA_NONE;
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && claim_fields(a, r) &&
	    strcmp(a->sensor, sh->sensor) == 0) {
		a->result = FTPI__SHA_NONE; /* our own verdict, taken by an earlier ask */
		a->decided = 1;
		freeReplyObject(r);
		return;
	}
	freeReplyObject(r);
	if (a->decided && a->result == FTPI__SHA_NONE && sh->c != NULL) {
		char ck[FTPI__SH_KEY + 8];
		snprintf(ck, sizeof ck, "%s:claim", q->key);
		if (take_verdict(sh, ck, a) != 0)
			a->result = FTPI__SHA_ERROR;
	}
}

static void xfer_reply(struct ftpi__share *sh, struct ftpi__sh_answer *a, redisReply *r)
{
	if (reply_bad(sh, r, "transfer")) {
		a->result = FTPI__SHA_ERROR;
		return;
	}
	int matched;
	uint64_t gone_us;
	a->result = FTPI__SHA_FOUND;
	parse_entry(r, a, &matched, &gone_us);
	a->gone = gone_us != 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		a->gone = 1; /* expired: nothing more will come */
	freeReplyObject(r);
}

static int app_note(struct ftpi__share *sh, const struct req *q)
{
	char ck[FTPI__SH_KEY + 8];
	snprintf(ck, sizeof ck, "%s:claim", q->key);
	app4(sh, "HSET", ck, q->field, "1");
	return 1;
}

static int app_xadd(struct ftpi__share *sh, const struct req *q)
{
	const char *av[8];
	size_t al[8];
	char ml[24];
	snprintf(ml, sizeof ml, "%llu", (unsigned long long)sh->stream_maxlen);
	av[0] = "XADD";
	av[1] = sh->url.path;
	av[2] = "MAXLEN";
	av[3] = "~";
	av[4] = ml;
	av[5] = "*";
	av[6] = "event";
	av[7] = q->line;
	for (int i = 0; i < 7; i++)
		al[i] = strlen(av[i]);
	al[7] = q->len;
	ob_argv(sh, 8, av, al);
	return 1;
}

#define WAKE_AT 256 /* queued writes that wake the I/O thread (else its 20 ms timeout does) */
#define BATCH 512 /* requests taken from the ring at once: their writes go in one pipeline */
#define BATCH_WAIT 20000u /* µs the oldest queued request waits for a batch to fill */

static void answer_init(struct ftpi__sh_answer *a, const struct req *q)
{
	memset(a, 0, sizeof *a);
	a->ticket = q->ticket;
	a->kind = q->type == R_LOOKUP  ? FTPI__SH_LOOKUP
		  : q->type == R_CHECK ? FTPI__SH_CHECK
				       : FTPI__SH_XFER;
	a->result = FTPI__SHA_ERROR;
}

static int is_read(const struct req *q)
{
	return q->type == R_LOOKUP || q->type == R_CHECK || q->type == R_XFER;
}

/* An update into a publication or update of the same entry (the later value of a field wins, as
 * two HSETs would leave it). */
static void merge_upd(struct req *t, uint64_t firm_us, int matched, const struct ftpi_xfer *x,
		      uint64_t gone_us)
{
	if (firm_us)
		t->firm_us = firm_us;
	t->matched |= (uint8_t)matched;
	if (gone_us)
		t->gone_us = gone_us;
	if (x) {
		t->x = *x;
		t->has_x = 1;
	}
}

/* Updates of an entry published or updated earlier in the same batch go into that request's
 * HSET (the later value of a field wins, as two HSETs would leave it): one command instead of
 * two. Only our own entries are written here, and no read of the batch reads them, so nothing
 * observes the difference. */
static void fold_updates(struct req *b, uint32_t nb)
{
	int16_t tab[2 * BATCH];
	uint32_t h[BATCH];
	memset(tab, 0xff, sizeof tab);
	for (uint32_t i = 0; i < nb; i++) {
		struct req *q = &b[i];
		if (q->type != R_PUB && q->type != R_UPD)
			continue;
		uint32_t v = 2166136261u;
		for (const char *c = q->key; *c; c++)
			v = (v ^ (uint8_t)*c) * 16777619u;
		h[i] = v;
		uint32_t k = v % (2 * BATCH);
		while (tab[k] >= 0 && (h[tab[k]] != v || strcmp(b[tab[k]].key, q->key) != 0))
			k = (k + 1) % (2 * BATCH);
		if (tab[k] < 0 || q->type == R_PUB) {
			tab[k] = (int16_t)i;
			continue;
		}
		merge_upd(&b[tab[k]], q->firm_us, q->matched, q->has_x ? &q->x : NULL, q->gone_us);
		q->type = R_NONE;
	}
}

/* A batch in one pipeline, one round trip: every request's commands are sent in order (Redis
 * runs them in that order, so a read sees the writes queued before it), then every reply is
 * read; the writes' replies are checked and freed, the reads' are kept and answered after, when
 * a lookup's claim can be a call of its own. A failed reply drops the connection: what was not
 * confirmed is counted as lost. */
static void run_batch(struct ftpi__share *sh, struct req *b, uint32_t nb)
{
	uint8_t ncmd[BATCH];
	redisReply *rep[BATCH], *prog = NULL;
	struct ftpi__sh_answer a;
	char ck[FTPI__SH_KEY + 8];
	int up = ensure_conn(sh) == 0;
	uint32_t prog_i = UINT32_MAX; /* the request before which the progress hash is read */
	fold_updates(b, nb);
	for (uint32_t i = 0; i < nb; i++) {
		const struct req *q = &b[i];
		int n = 0;
		if (!up) {
			ncmd[i] = 0;
			continue;
		}
		if (prog_i == UINT32_MAX && (q->type == R_LOOKUP || q->type == R_CHECK)) {
			/* once per batch, before every read that decides by it */
			app3(sh, "HGETALL", "ftpi:{wm}:progress", NULL);
			prog_i = i;
		}
		switch (q->type) {
		case R_NONE: break;
		case R_PUB: n = app_pub(sh, q); break;
		case R_UPD: n = app_upd(sh, q); break;
		case R_NOTE: n = app_note(sh, q); break;
		case R_XADD: n = app_xadd(sh, q); break;
		case R_LOOKUP:
			append_lookup(sh, q);
			n = 1;
			break;
		case R_CHECK:
			snprintf(ck, sizeof ck, "%s:claim", q->key);
			app3(sh, "HGETALL", ck, NULL);
			n = 1;
			break;
		default: /* R_XFER */
			app3(sh, "HGETALL", q->key, NULL);
			n = 1;
			break;
		}
		ncmd[i] = (uint8_t)n;
	}
	ob_send(sh);
	uint32_t k = 0;
	for (uint32_t i = 0; i < nb; i++) {
		const struct req *q = &b[i];
		int rd = is_read(q), ok = 1;
		if (i == prog_i) {
			if (sh->c == NULL || ftpi__rconn_get_reply(sh->c, &prog) != 0)
				prog = NULL;
			if (reply_bad(sh, prog, "progress"))
				prog = NULL;
			note_others(sh, prog);
		}
		if (q->type == R_NONE)
			continue;
		if (!rd && (!up || sh->c == NULL)) { /* not sent, or lost with the connection */
			atomic_fetch_add(q->type == R_XADD ? &sh->stream_dropped : &sh->errors, 1);
			continue;
		}
		for (unsigned j = 0; j < ncmd[i]; j++) {
			redisReply *r = NULL;
			if (sh->c == NULL || ftpi__rconn_get_reply(sh->c, &r) != 0)
				r = NULL;
			if (rd)
				rep[k++] = r;
			else if (ok && reply_bad(sh, r, q->type == R_XADD ? "XADD" : "publish"))
				ok = 0;
			else if (r)
				freeReplyObject(r);
		}
		if (!rd && !ok && q->type == R_XADD)
			atomic_fetch_add(&sh->stream_dropped, 1);
		else if (!rd && ok && q->type == R_XADD)
			atomic_fetch_add(&sh->stream_events, 1);
		else if (!rd && ok && q->type == R_PUB)
			atomic_fetch_add(&sh->published, 1);
	}
	k = 0;
	for (uint32_t i = 0; i < nb; i++) {
		const struct req *q = &b[i];
		if (!is_read(q))
			continue;
		answer_init(&a, q);
		if (!up) {
			atomic_fetch_add(&sh->errors, 1); /* not sent: Redis unreachable */
		} else if (q->type == R_LOOKUP) {
			lookup_reply(sh, q, &a, prog, rep[k++]);
		} else if (q->type == R_CHECK) {
			check_reply(sh, q, &a, prog, rep[k++]);
		} else {
			xfer_reply(sh, &a, rep[k++]);
		}
		answer(sh, q->me, &a);
	}
	if (prog)
		freeReplyObject(prog);
}

/* The thread takes a batch once it is worth a round trip (WAKE_AT requests), when the oldest
 * queued request has waited BATCH_WAIT, or when an engine waits for nothing else (kick). Taking
 * what had come while the last batch was out made batches of the size of a round trip (290
 * batches on the bench corpus), each a write, a read and two context switches. With the lock. */
static int batch_due(const struct ftpi__share *sh)
{
	return sh->qn >= WAKE_AT || (sh->qn && (sh->kick || ftpi__share_now() - sh->first_at >=
								   BATCH_WAIT));
}

static void *io_main(void *arg)
{
	struct ftpi__share *sh = arg;
	pthread_mutex_lock(&sh->lock);
	for (;;) {
		while (!sh->stop && !batch_due(sh)) {
			struct timespec ts;
			if (sh->qn == 0 && sh->progress) {
				uint64_t t = progress_min(sh);
				pthread_mutex_unlock(&sh->lock);
				write_wm(sh, t);
				watch_others(sh);
				pthread_mutex_lock(&sh->lock);
				if (sh->stop || batch_due(sh))
					break;
			}
			uint64_t now = ftpi__share_now();
			uint64_t wait = sh->qn ? sh->first_at + BATCH_WAIT - FTPI__MIN(now, sh->first_at +
										  BATCH_WAIT)
					       : BATCH_WAIT;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)(wait * 1000);
			while (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&sh->cv, &sh->lock, &ts);
		}
		if (sh->qn == 0 && sh->stop)
			break;
		uint32_t nb = 0;
		size_t bytes = 0;
		while (sh->qn && nb < BATCH) {
			sh->batch[nb] = sh->q[sh->qhead];
			bytes += sh->batch[nb++].len;
			sh->qhead = (sh->qhead + 1) % sh->qcap;
			sh->qn--;
		}
		/* every request queued before the engines stored their progress is in this batch:
		 * once it is sent, that progress holds (written at most every 20 ms, as when idle;
		 * a ring kept busy by retries waiting for a batch never ran empty long enough) */
		uint64_t wm = sh->qn == 0 && sh->progress ? progress_min(sh) : 0;
		if (sh->qn == 0) {
			sh->kick = 0;
			/* an empty ring starts over at its first slot: the ring (queue_len requests of
			 * 672 bytes, 11 MB by default) is touched only as deep as it ever fills, not
			 * page after page as requests go round it (page faults were 5% of a run) */
			sh->qhead = 0;
		}
		sh->busy = 1;
		pthread_mutex_unlock(&sh->lock);
		run_batch(sh, sh->batch, nb);
		if (wm && sh->c) /* (not after a lost connection: what it dropped is not in) */
			write_wm(sh, wm);
		for (uint32_t i = 0; i < nb; i++)
			free(sh->batch[i].line);
		pthread_mutex_lock(&sh->lock);
		sh->qbytes -= bytes;
		sh->busy = 0;
		if (sh->qn == 0)
			pthread_cond_broadcast(&sh->idle);
	}
	pthread_mutex_unlock(&sh->lock);
	return NULL;
}

/* Queues a request; -1 when the ring is full. */
static int push(struct ftpi__share *sh, const struct req *q)
{
	int ok = 0;
	pthread_mutex_lock(&sh->lock);
	if (sh->qn < sh->qcap) {
		sh->q[(sh->qhead + sh->qn) % sh->qcap] = *q;
		if (sh->qn == 0)
			sh->first_at = ftpi__share_now();
		/* The thread waits only on an empty ring, at most 20 ms, and is woken only once
		 * there are enough requests for a batch worth a round trip: waking it for each
		 * request with an answer made batches of a few requests, each a write and a read on
		 * the socket and two context switches (2,000 batches on the bench corpus, most of
		 * what --share cost). An answer is then up to 20 ms late (wall time): engines hold
		 * what waits for it (pending flows count as usual), and the end of input kicks the
		 * thread (ftpi__share_kick). */
		if (++sh->qn == WAKE_AT)
			pthread_cond_signal(&sh->cv);
		ok = 1;
	}
	pthread_mutex_unlock(&sh->lock);
	if (!ok)
		atomic_fetch_add(&sh->queue_full, 1);
	return ok ? 0 : -1;
}

/* An answered request: refused when engine me already waits for max_pending answers. */
static int push_answered(struct ftpi__share *sh, unsigned me, struct req *q)
{
	struct aring *r = &sh->ar[me];
	uint32_t o = atomic_fetch_add(&r->outstanding, 1);
	if (o >= sh->max_pending || push(sh, q) != 0) {
		atomic_fetch_sub(&r->outstanding, 1);
		return -1;
	}
	return 0;
}

struct ftpi__share *ftpi__share_new(const struct ftpi_share_config *sc, unsigned engines,
				    uint64_t stream_maxlen, size_t queue_bytes, int *status)
{
	struct ftpi__share *sh;
	*status = FTPI_OK;
	if (sc == NULL || sc->size != sizeof *sc || engines == 0) {
		*status = sc && sc->size != sizeof *sc ? FTPI_E_ABI : FTPI_E_INVAL;
		return NULL;
	}
	sh = calloc(1, sizeof *sh);
	if (sh == NULL) {
		*status = FTPI_E_NOMEM;
		return NULL;
	}
	if (url_parse(sc->url, &sh->url) != 0 || (stream_maxlen == 0 && !sensor_ok(sc->sensor)) ||
	    (stream_maxlen && sh->url.path[0] == 0) || sc->max_pending == 0 ||
	    sc->queue_len == 0 || sc->queue_len > (1u << 22) || sc->max_pending > (1u << 20)) {
		free(sh);
		*status = FTPI_E_INVAL;
		return NULL;
	}
	if (stream_maxlen == 0 && sh->url.path[0]) {
		for (const char *p = sh->url.path; *p; p++)
			if (*p < '0' || *p > '9') {
				free(sh);
				*status = FTPI_E_INVAL;
				return NULL;
			}
	}
	ftpi_share_url_display(sc->url, sh->disp, sizeof sh->disp);
	if (stream_maxlen == 0)
		snprintf(sh->sensor, sizeof sh->sensor, "%s", sc->sensor);
	sh->wait_us = sc->wait_us;
	sh->timeout_expect = sc->timeout_expect;
	sh->io_timeout_us = sc->io_timeout_us ? sc->io_timeout_us : 500000;
	sh->stream_maxlen = stream_maxlen;
	sh->qbytes_cap = queue_bytes ? queue_bytes : 16u << 20;
	sh->max_pending = sc->max_pending;
	sh->qcap = sc->queue_len;
	sh->engines = engines;
	sh->q = calloc(sh->qcap, sizeof *sh->q);
	sh->ar = calloc(engines, sizeof *sh->ar);
	sh->batch = calloc(BATCH, sizeof *sh->batch);
	sh->ob = malloc(OB_CAP);
	if (sh->batch == NULL || sh->ob == NULL)
		goto nomem;
	if (stream_maxlen == 0)
		sh->progress = calloc(engines, sizeof *sh->progress);
	if (sh->q == NULL || sh->ar == NULL || (stream_maxlen == 0 && sh->progress == NULL))
		goto nomem;
	for (unsigned i = 0; i < engines && stream_maxlen == 0; i++) {
		sh->ar[i].a = calloc(sh->max_pending, sizeof *sh->ar[i].a);
		if (sh->ar[i].a == NULL)
			goto nomem;
	}
	for (unsigned i = 0; i < engines; i++)
		pthread_mutex_init(&sh->ar[i].lock, NULL);
	pthread_mutex_init(&sh->lock, NULL);
	pthread_cond_init(&sh->cv, NULL);
	pthread_cond_init(&sh->idle, NULL);
	/* The I/O thread takes no signal of the process (the host's SIGINT handler runs on its
	 * own threads) and a write to a Redis that went away is an EPIPE, not a SIGPIPE. */
	sigset_t all, old_mask;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old_mask);
	int made = pthread_create(&sh->thr, NULL, io_main, sh);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	if (made != 0) {
		ftpi__share_free(sh);
		*status = FTPI_E_NOMEM;
		return NULL;
	}
	sh->started = 1;
	return sh;
nomem:
	if (sh->ar)
		for (unsigned i = 0; i < engines; i++)
			free(sh->ar[i].a);
	free(sh->ar);
	free(sh->batch);
	free(sh->ob);
	free((void *)sh->progress);
	free(sh->q);
	free(sh);
	*status = FTPI_E_NOMEM;
	return NULL;
}

void ftpi__share_free(struct ftpi__share *sh)
{
	if (sh == NULL)
		return;
	if (sh->started) {
		pthread_mutex_lock(&sh->lock);
		sh->stop = 1;
		pthread_cond_signal(&sh->cv);
		pthread_mutex_unlock(&sh->lock);
		pthread_join(sh->thr, NULL);
	}
	for (uint32_t i = 0; i < sh->qn; i++)
		free(sh->q[(sh->qhead + i) % sh->qcap].line);
	if (sh->c)
		ftpi__rconn_free(sh->c);
	for (unsigned i = 0; i < sh->engines; i++) {
		free(sh->ar[i].a);
		pthread_mutex_destroy(&sh->ar[i].lock);
	}
	pthread_mutex_destroy(&sh->lock);
	pthread_cond_destroy(&sh->cv);
	pthread_cond_destroy(&sh->idle);
	free((void *)sh->progress);
	free(sh->batch);
	free(sh->ob);
	free(sh->ar);
	free(sh->q);
	free(sh);
}

void ftpi__share_stats(struct ftpi__share *sh, struct ftpi_share_stats *s, char *err, size_t n)
{
	s->connected = atomic_load(&sh->connected);
	s->errors = atomic_load(&sh->errors);
	s->reconnects = atomic_load(&sh->reconnects);
	s->published = atomic_load(&sh->published);
	s->lookups = atomic_load(&sh->lookups);
	s->claims = atomic_load(&sh->claims);
	s->claim_lost = atomic_load(&sh->claim_lost);
	s->pending_dropped = atomic_load(&sh->pending_dropped);
	s->queue_full = atomic_load(&sh->queue_full);
	s->withheld = atomic_load(&sh->withheld);
	s->remote_claimed = atomic_load(&sh->remote_claimed);
	s->stream_events = atomic_load(&sh->stream_events);
	s->stream_dropped = atomic_load(&sh->stream_dropped);
	if (err && n) {
		pthread_mutex_lock(&sh->lock);
		snprintf(err, n, "%s", sh->last_error);
		pthread_mutex_unlock(&sh->lock);
	}
}

uint64_t ftpi__share_wait_us(const struct ftpi__share *sh)
{
	return sh->wait_us;
}

uint32_t ftpi__share_max_pending(const struct ftpi__share *sh)
{
	return sh->max_pending;
}

void ftpi__share_count_dropped(struct ftpi__share *sh)
{
	atomic_fetch_add(&sh->pending_dropped, 1);
}

void ftpi__share_count_withheld(struct ftpi__share *sh, int claimed)
{
	atomic_fetch_add(claimed ? &sh->remote_claimed : &sh->withheld, 1);
}

void ftpi__share_key(const struct ftpi__share *sh, const struct ftpi_endpoint *target,
		     uint64_t sid, uint32_t seq, char key[FTPI__SH_KEY])
{
	/* ftpi:{TAG}:exp:PORT:SENSOR:SID:SEQ, by hand (on the packet path): at most 6 + 48 + 5 +
	 * 5 + 48 + 20 + 10 + 6 bytes, under FTPI__SH_KEY */
	char *o = key;
	memcpy(o, "ftpi:{", 6);
	o += 6;
	o += tag_of(&target->addr, o);
	memcpy(o, "}:exp:", 6);
	o += 6;
	o += u64_text(o, target->port);
	*o++ = ':';
	size_t n = strlen(sh->sensor);
	memcpy(o, sh->sensor, n);
	o += n;
	*o++ = ':';
	o += u64_text(o, sid);
	*o++ = ':';
	u64_text(o, seq);
}

uint32_t ftpi__share_publish(struct ftpi__share *sh, const struct ftpi__sx_pub *p,
			     const struct ftpi_xfer *x)
{
	struct req q;
	memset(&q, 0, sizeof q);
	q.type = R_PUB;
	q.p = *p;
	uint32_t seq = atomic_fetch_add(&sh->seq, 1) + 1;
	if (seq == 0)
		seq = atomic_fetch_add(&sh->seq, 1) + 1;
	ftpi__share_key(sh, &p->target, p->session_id, seq, q.key);
	q.seq = seq;
	if (x && x->state) {
		q.x = *x;
		q.has_x = 1;
	}
	return push(sh, &q) == 0 ? seq : 0;
}

/* A key of ours into a request (snprintf was most of an update's cost). */
static void key_copy(char *dst, const char *key)
{
	size_t n = strnlen(key, FTPI__SH_KEY - 1);
	memcpy(dst, key, n);
	dst[n] = 0;
}

#define FOLD_BACK 32 /* queued requests an update looks back over for its entry's */

void ftpi__share_update(struct ftpi__share *sh, const struct ftpi_endpoint *target, uint64_t sid,
			uint32_t seq, uint64_t firm_us, int matched, const struct ftpi_xfer *x,
			uint64_t gone_us)
{
	struct req q;
	/* Into the entry's publication or last update while it is still queued (the thread has
	 * not taken it): most updates follow their publication closely (firm, transfer, matched,
	 * let go), and each request costs a copy into the ring, a slot and a command. Only our own
	 * entries are written so, and the thread sends them in order: nothing observes the
	 * difference but the time an update reaches Redis (sooner). */
	pthread_mutex_lock(&sh->lock);
	for (uint32_t i = 0; i < sh->qn && i < FOLD_BACK; i++) {
		struct req *t = &sh->q[(sh->qhead + sh->qn - 1 - i) % sh->qcap];
		if ((t->type == R_PUB || t->type == R_UPD) && t->seq == seq) {
			merge_upd(t, firm_us, matched, x, gone_us);
			pthread_mutex_unlock(&sh->lock);
			return;
		}
	}
	pthread_mutex_unlock(&sh->lock);
	memset(&q, 0, sizeof q);
	q.type = R_UPD;
	q.seq = seq;
	ftpi__share_key(sh, target, sid, seq, q.key);
	q.firm_us = firm_us;
	q.matched = (uint8_t)matched;
	q.gone_us = gone_us;
	if (x) {
		q.x = *x;
		q.has_x = 1;
	}
	push(sh, &q);
}

void ftpi__share_progress(struct ftpi__share *sh, unsigned me, uint64_t t)
{
	atomic_store_explicit(&sh->progress[me], t, memory_order_release);
}

int ftpi__share_check(struct ftpi__share *sh, unsigned me, uint32_t ticket, const char *key,
		      uint64_t t, int final)
{
	struct req q;
	memset(&q, 0, sizeof q);
	q.type = R_CHECK;
	q.now_us = t;
	q.final = (uint8_t)final;
	q.me = (uint16_t)me;
	q.ticket = ticket;
	key_copy(q.key, key);
	return push_answered(sh, me, &q);
}

int ftpi__share_lookup(struct ftpi__share *sh, unsigned me, uint32_t ticket,
		       const struct ftpi_endpoint *cli, const struct ftpi_endpoint *srv,
		       uint64_t now_us, uint64_t max_age_us, int final)
{
	struct req q;
	memset(&q, 0, sizeof q);
	q.final = (uint8_t)final;
	q.type = R_LOOKUP;
	q.me = (uint16_t)me;
	q.ticket = ticket;
	q.cli = *cli;
	q.srv = *srv;
	q.now_us = now_us;
	q.max_age_us = max_age_us;
	return push_answered(sh, me, &q);
}

int ftpi__share_xfer(struct ftpi__share *sh, unsigned me, uint32_t ticket, const char *key)
{
	struct req q;
	memset(&q, 0, sizeof q);
	q.type = R_XFER;
	q.me = (uint16_t)me;
	q.ticket = ticket;
	key_copy(q.key, key);
	return push_answered(sh, me, &q);
}

void ftpi__share_note(struct ftpi__share *sh, const char *key, const char *field)
{
	struct req q;
	memset(&q, 0, sizeof q);
	q.type = R_NOTE;
	key_copy(q.key, key);
	snprintf(q.field, sizeof q.field, "%s", field);
	push(sh, &q);
}

int ftpi__share_poll(struct ftpi__share *sh, unsigned me, struct ftpi__sh_answer *a)
{
	struct aring *r = &sh->ar[me];
	int got = 0;
	if (atomic_load_explicit(&r->ready, memory_order_acquire) == 0)
		return 0;
	pthread_mutex_lock(&r->lock);
	if (r->n) {
		*a = r->a[r->head];
		r->head = (r->head + 1) % sh->max_pending;
		if (--r->n == 0)
			r->head = 0; /* (as the request ring: touched only as deep as it fills) */
		atomic_fetch_sub(&r->ready, 1);
		got = 1;
	}
	pthread_mutex_unlock(&r->lock);
	if (got)
		atomic_fetch_sub(&r->outstanding, 1);
	return got;
}

uint32_t ftpi__share_outstanding(struct ftpi__share *sh, unsigned me)
{
	return atomic_load_explicit(&sh->ar[me].outstanding, memory_order_relaxed);
}

int ftpi__share_ready(struct ftpi__share *sh, unsigned me)
{
	return atomic_load_explicit(&sh->ar[me].ready, memory_order_acquire) != 0;
}

void ftpi__share_add_line(struct ftpi__share *sh, const char *line, size_t len)
{
	struct req q;
	int ok = 0;
	memset(&q, 0, sizeof q);
	q.type = R_XADD;
	pthread_mutex_lock(&sh->lock);
	if (sh->qn < sh->qcap && sh->qbytes + len <= sh->qbytes_cap) {
		q.line = malloc(len ? len : 1);
		if (q.line) {
			memcpy(q.line, line, len);
			q.len = len;
			sh->qbytes += len;
			sh->q[(sh->qhead + sh->qn) % sh->qcap] = q;
			if (sh->qn++ == 0) {
				sh->first_at = ftpi__share_now();
				pthread_cond_signal(&sh->cv);
			}
			ok = 1;
		}
	}
	pthread_mutex_unlock(&sh->lock);
	if (!ok)
		atomic_fetch_add(&sh->stream_dropped, 1);
}

uint32_t ftpi__share_others(struct ftpi__share *sh)
{
	return atomic_load_explicit(&sh->others, memory_order_acquire);
}

void ftpi__share_watch(struct ftpi__share *sh, uint64_t until)
{
	uint64_t v = atomic_load(&sh->watch_until);
	while (v < until && !atomic_compare_exchange_weak(&sh->watch_until, &v, until))
		;
}

void ftpi__share_kick(struct ftpi__share *sh)
{
	pthread_mutex_lock(&sh->lock);
	if (sh->qn) {
		sh->kick = 1;
		pthread_cond_signal(&sh->cv);
	}
	pthread_mutex_unlock(&sh->lock);
}

void ftpi__share_drain(struct ftpi__share *sh, uint64_t wait_us)
{
	uint64_t end = ftpi__share_now() + wait_us;
	pthread_mutex_lock(&sh->lock);
	sh->kick = 1; /* what is queued goes now */
	pthread_cond_signal(&sh->cv);
	while ((sh->qn || sh->busy) && ftpi__share_now() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&sh->idle, &sh->lock, &ts);
	}
	pthread_mutex_unlock(&sh->lock);
}

#else /* !FTPI_WITH_REDIS: the library builds without hiredis; nothing can be shared */

struct ftpi__share *ftpi__share_new(const struct ftpi_share_config *sc, unsigned engines,
				    uint64_t stream_maxlen, size_t queue_bytes, int *status)
{
	(void)sc;
	(void)engines;
	(void)stream_maxlen;
	(void)queue_bytes;
	(void)sensor_ok;
	*status = FTPI_E_UNSUPPORTED;
	return NULL;
}

void ftpi__share_free(struct ftpi__share *sh)
{
	(void)sh;
}

void ftpi__share_stats(struct ftpi__share *sh, struct ftpi_share_stats *out, char *err, size_t n)
{
	(void)sh;
	memset(out, 0, sizeof *out);
	if (err && n)
		err[0] = 0;
}
uint64_t ftpi__share_wait_us(const struct ftpi__share *sh)
{
	(void)sh;
	return 0;
}
uint32_t ftpi__share_max_pending(const struct ftpi__share *sh)
{
	(void)sh;
	return 0;
}
void ftpi__share_count_dropped(struct ftpi__share *sh)
{
	(void)sh;
}
void ftpi__share_count_withheld(struct ftpi__share *sh, int claimed)
{
	(void)sh;
	(void)claimed;
}
uint32_t ftpi__share_publish(struct ftpi__share *sh, const struct ftpi__sx_pub *p,
			     const struct ftpi_xfer *x)
{
	(void)sh;
	(void)p;
	(void)x;
	return 0;
}
void ftpi__share_key(const struct ftpi__share *sh, const struct ftpi_endpoint *target,
		     uint64_t sid, uint32_t seq, char key[FTPI__SH_KEY])
{
	(void)sh;
	(void)target;
	(void)sid;
	(void)seq;
	key[0] = 0;
}
void ftpi__share_update(struct ftpi__share *sh, const struct ftpi_endpoint *target, uint64_t sid,
			uint32_t seq, uint64_t firm_us, int matched, const struct ftpi_xfer *x,
			uint64_t gone_us)
{
	(void)sh;
	(void)target;
	(void)sid;
	(void)seq;
	(void)firm_us;
	(void)matched;
	(void)x;
	(void)gone_us;
}
void ftpi__share_progress(struct ftpi__share *sh, unsigned me, uint64_t t)
{
	(void)sh;
	(void)me;
	(void)t;
}
int ftpi__share_check(struct ftpi__share *sh, unsigned me, uint32_t ticket, const char *key,
		      uint64_t t, int final)
{
	(void)sh;
	(void)me;
	(void)ticket;
	(void)key;
	(void)t;
	(void)final;
	return -1;
}
int ftpi__share_lookup(struct ftpi__share *sh, unsigned me, uint32_t ticket,
		       const struct ftpi_endpoint *cli, const struct ftpi_endpoint *srv,
		       uint64_t now_us, uint64_t max_age_us, int final)
{
	(void)final;
	(void)sh;
	(void)me;
	(void)ticket;
	(void)cli;
	(void)srv;
	(void)now_us;
	(void)max_age_us;
	return -1;
}
int ftpi__share_xfer(struct ftpi__share *sh, unsigned me, uint32_t ticket, const char *key)
{
	return ftpi__share_check(sh, me, ticket, key, 0, 0);
}
void ftpi__share_note(struct ftpi__share *sh, const char *key, const char *field)
{
	(void)sh;
	(void)key;
	(void)field;
}
int ftpi__share_poll(struct ftpi__share *sh, unsigned me, struct ftpi__sh_answer *a)
{
	(void)sh;
	(void)me;
	(void)a;
	return 0;
}
uint32_t ftpi__share_outstanding(struct ftpi__share *sh, unsigned me)
{
	(void)sh;
	(void)me;
	return 0;
}
int ftpi__share_ready(struct ftpi__share *sh, unsigned me)
{
	(void)sh;
	(void)me;
	return 0;
}
void ftpi__share_add_line(struct ftpi__share *sh, const char *line, size_t len)
{
	(void)sh;
	(void)line;
	(void)len;
}
uint32_t ftpi__share_others(struct ftpi__share *sh)
{
	(void)sh;
	return 0;
}
void ftpi__share_watch(struct ftpi__share *sh, uint64_t until)
{
	(void)sh;
	(void)until;
}
void ftpi__share_kick(struct ftpi__share *sh)
{
	(void)sh;
}
void ftpi__share_drain(struct ftpi__share *sh, uint64_t wait_us)
{
	(void)sh;
	(void)wait_us;
}
#endif

/* ---- the public stream writer ---- */

struct ftpi_share_stream {
	struct ftpi__share *sh;
};

ftpi_share_stream *ftpi_share_stream_new(const char *url, uint64_t maxlen, size_t queue_bytes,
					 uint64_t io_timeout_us, int *status)
{
	struct ftpi_share_config sc;
	int st;
	ftpi_share_config_init(&sc);
	sc.url = url;
	sc.io_timeout_us = io_timeout_us;
	struct ftpi_share_stream *s = calloc(1, sizeof *s);
	if (s == NULL) {
		if (status)
			*status = FTPI_E_NOMEM;
		return NULL;
	}
	s->sh = ftpi__share_new(&sc, 1, maxlen ? maxlen : 100000, queue_bytes, &st);
	if (status)
		*status = st;
	if (s->sh == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void ftpi_share_stream_add(ftpi_share_stream *s, const char *line, size_t len)
{
	if (s)
		ftpi__share_add_line(s->sh, line, len);
}

void ftpi_share_stream_drain(ftpi_share_stream *s, uint64_t wait_us)
{
	if (s)
		ftpi__share_drain(s->sh, wait_us);
}

int ftpi_share_stream_stats(ftpi_share_stream *s, struct ftpi_share_stats *out, size_t out_size,
			    char *last_error, size_t n)
{
	struct ftpi_share_stats t;
	if (s == NULL || out == NULL)
		return FTPI_E_INVAL;
	ftpi__share_stats(s->sh, &t, last_error, n);
	memcpy(out, &t, FTPI__MIN(out_size, sizeof t));
	return FTPI_OK;
}

void ftpi_share_stream_free(ftpi_share_stream *s)
{
	if (s == NULL)
		return;
	ftpi__share_free(s->sh);
	free(s);
}
