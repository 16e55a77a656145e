/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * share_wire.c - the bytes the Redis side writes and reads (share.c): keys and their hash tags,
 * addresses and numbers in text, an entry's packed value and its fields read back, and the
 * pipeline's commands written in the Redis protocol (RESP) into one buffer handed to the
 * connection whole. Only the I/O thread calls these, but for the keys (ftpi__share_key); no
 * reply is read and no connection is made here (share_io.c). Built with hiredis only.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "share_int.h"

#include "rconn.h"

/* ---- keys and values ---- */

/* The hash tag of an address (buf: 64 bytes): its /24 or /64, written by hand (snprintf was a
 * tenth of what --share cost the packet path); its length. */
size_t ftpi__sh_tag_of(const struct ftpi_addr *a, char *buf)
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

void ftpi__sh_addr_text(const struct ftpi_addr *a, char *buf, size_t n)
{
	if (a->family == 0)
		snprintf(buf, n, "-");
	else
		ftpi_addr_format(a, buf, n);
}

int ftpi__sh_addr_parse(const char *s, size_t len, struct ftpi_addr *a)
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

uint64_t ftpi__sh_num(const char *s, size_t len)
{
	uint64_t v = 0;
	for (size_t i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	return v;
}

uint64_t ftpi__sh_ttl_s(const struct ftpi__share *sh)
{
	return (sh->timeout_expect + 2 * sh->wait_us) / 1000000u + 10u;
}

/* v in decimal at b (24 bytes), NUL-terminated; its length. Two digits per division (the
 * capture times of an entry have 16 digits: one division per digit was 2% of a --share run). */
size_t ftpi__sh_u64_text(char *b, uint64_t v)
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
	o += ftpi__sh_u64_text(o, v);
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
	o += ftpi__sh_u64_text(o, (p->firm ? p->firm_us : p->created_us) + sh->timeout_expect);
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
		case 0: a->p.session_id = ftpi__sh_num(v, l); break;
		case 1: snprintf(a->sensor, sizeof a->sensor, "%.*s", (int)FTPI__MIN(l, 48), v); break;
		case 2: ftpi__sh_addr_parse(v, l, &a->p.scli.addr); break;
		case 3: a->p.scli.port = (uint16_t)ftpi__sh_num(v, l); break;
		case 4: ftpi__sh_addr_parse(v, l, &a->p.ssrv.addr); break;
		case 5: a->p.ssrv.port = (uint16_t)ftpi__sh_num(v, l); break;
		case 6: ftpi__sh_addr_parse(v, l, &a->p.target.addr); break;
		case 7: a->p.target.port = (uint16_t)ftpi__sh_num(v, l); break;
		case 8:
			a->p.has_reached = ftpi__sh_addr_parse(v, l, &a->p.reached) == 0 &&
					   a->p.reached.family != 0;
			break;
		case 9: a->p.announce = (uint8_t)ftpi__sh_num(v, l); break;
		case 11: a->p.active = (uint8_t)ftpi__sh_num(v, l); break;
		case 12: a->p.bounce = (uint8_t)ftpi__sh_num(v, l); break;
		case 13: a->p.tls_session = (uint8_t)ftpi__sh_num(v, l); break;
		case 14: a->p.frame = ftpi__sh_num(v, l); break;
		default: break; /* 10: the command's name; 15: the deadline (for readers) */
		}
		if (sp == NULL)
			break;
		v = sp + 1;
	}
}

/* A flat field/value array (HGETALL) into an expectation. */
void ftpi__sh_parse_entry(const redisReply *h, struct ftpi__sh_answer *a, int *matched,
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
			a->p.session_id = ftpi__sh_num(s, l);
		else if (F("sensor"))
			snprintf(a->sensor, sizeof a->sensor, "%.*s", (int)FTPI__MIN(l, 48), s);
		else if (F("ctl_client"))
			ftpi__sh_addr_parse(s, l, &a->p.scli.addr);
		else if (F("ctl_client_port"))
			a->p.scli.port = (uint16_t)ftpi__sh_num(s, l);
		else if (F("ctl_server"))
			ftpi__sh_addr_parse(s, l, &a->p.ssrv.addr);
		else if (F("ctl_server_port"))
			a->p.ssrv.port = (uint16_t)ftpi__sh_num(s, l);
		else if (F("target"))
			ftpi__sh_addr_parse(s, l, &a->p.target.addr);
		else if (F("port"))
			a->p.target.port = (uint16_t)ftpi__sh_num(s, l);
		else if (F("reached"))
			a->p.has_reached = ftpi__sh_addr_parse(s, l, &a->p.reached) == 0 &&
					   a->p.reached.family != 0;
		else if (F("announce"))
			a->p.announce = (uint8_t)ftpi__sh_num(s, l);
		else if (F("active"))
			a->p.active = (uint8_t)ftpi__sh_num(s, l);
		else if (F("firm"))
			a->p.firm = (uint8_t)ftpi__sh_num(s, l);
		else if (F("bounce"))
			a->p.bounce = (uint8_t)ftpi__sh_num(s, l);
		else if (F("tls"))
			a->p.tls_session = (uint8_t)ftpi__sh_num(s, l);
		else if (F("created_us"))
			a->p.created_us = ftpi__sh_num(s, l);
		else if (F("firm_us"))
			a->p.firm_us = ftpi__sh_num(s, l);
		else if (F("frame"))
			a->p.frame = ftpi__sh_num(s, l);
		else if (F("matched"))
			*matched = (int)ftpi__sh_num(s, l);
		else if (F("gone_us"))
			*gone_us = ftpi__sh_num(s, l);
		else if (F("xverb"))
			a->x.verb = (uint8_t)ftpi__sh_num(s, l);
		else if (F("xstate"))
			a->x.state = (uint8_t)ftpi__sh_num(s, l);
		else if (F("xstatus"))
			a->x.status = (uint8_t)ftpi__sh_num(s, l);
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
		al[(*ac)++] = ftpi__sh_u64_text(nb[i], v[i]);
	}
	av[*ac] = "file";
	al[(*ac)++] = 4;
	av[*ac] = x->file;
	al[(*ac)++] = x->file_len;
}

/* ftpi:{TAG}:idx:PORT (buf: FTPI__SH_KEY bytes), by hand. */
void ftpi__sh_idx_key(char *buf, const char *tag, size_t tl, uint16_t port)
{
	memcpy(buf, "ftpi:{", 6);
	memcpy(buf + 6, tag, tl);
	memcpy(buf + 6 + tl, "}:idx:", 6);
	ftpi__sh_u64_text(buf + 12 + tl, port);
}

/* ---- the pipeline's bytes ----
 * Commands are written here in the Redis protocol (RESP: "*argc", then "$len" and the bytes of
 * each argument) into one buffer, handed to hiredis whole (ftpi__sh_ob_send): hiredis's own
 * formatter went through sdscatfmt for every argument, about 15,000 instructions a command,
 * which was half of what --share cost. A full buffer is handed over early; the byte stream is
 * the same. The buffer's size: FTPI__SH_OB_CAP (share_int.h). */

void ftpi__sh_ob_send(struct ftpi__share *sh)
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
		o += ftpi__sh_u64_text(o, v);
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
	if (sh->obn + need > FTPI__SH_OB_CAP)
		ftpi__sh_ob_send(sh);
	if (need > FTPI__SH_OB_CAP) { /* (longer than the buffer: hiredis formats it) */
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
void ftpi__sh_ob_cmd(struct ftpi__share *sh, const char *a0, const char *a1, const char *a2,
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
	ftpi__sh_ob_cmd(sh, c, a, b, d, NULL, NULL);
}

void ftpi__sh_app3(struct ftpi__share *sh, const char *c, const char *a, const char *b)
{
	app4(sh, c, a, b, NULL);
}

/* An update's fields (also a publication's, when updates of the same batch were folded in). */
static void upd_args(const struct req *q, const char **av, size_t *al, int *ac, char b[2][24])
{
	if (q->firm_us) {
		ftpi__sh_u64_text(b[0], q->firm_us);
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
		ftpi__sh_u64_text(b[1], q->gone_us);
		av[*ac] = "gone_us";
		al[(*ac)++] = 7;
		av[*ac] = b[1];
		al[(*ac)++] = strlen(b[1]);
	}
}

int ftpi__sh_app_pub(struct ftpi__share *sh, const struct req *q)
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
		al[ac++] = ftpi__sh_u64_text(b[k++], (v));                                         \
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
		tl[i] = ftpi__sh_tag_of(&where[i], tags[i]);
		local[i] = i == 0; /* the entry's own prefix (and slot), another one, or -1: a repeat */
		for (int j = 0; j < i; j++)
			if (tl[i] == tl[j] && memcmp(tags[i], tags[j], tl[i]) == 0)
				local[i] = -1;
		ftpi__sh_idx_key(idx[i], tags[i], tl[i], p->target.port);
		nlocal += local[i] == 1;
	}
	ftpi__sh_u64_text(tt, ftpi__sh_ttl_s(sh));
	ftpi__sh_u64_text(nk, (uint64_t)nlocal + 1);
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
		ftpi__sh_app3(sh, "SADD", idx[i], q->key);
		ftpi__sh_app3(sh, "EXPIRE", idx[i], tt);
		n += 2;
	}
	return n;
}

int ftpi__sh_app_upd(struct ftpi__share *sh, const struct req *q)
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

int ftpi__sh_app_note(struct ftpi__share *sh, const struct req *q)
{
	char ck[FTPI__SH_KEY + 8];
	snprintf(ck, sizeof ck, "%s:claim", q->key);
	app4(sh, "HSET", ck, q->field, "1");
	return 1;
}

int ftpi__sh_app_xadd(struct ftpi__share *sh, const struct req *q)
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
