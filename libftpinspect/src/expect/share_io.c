/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * share_io.c - the Redis side's I/O thread (share.c): the connection (made, authenticated and
 * dropped with backoff; its scripts loaded), the sensors' progress (watermarks) written and
 * read, and a batch of queued requests sent in one pipeline, whose replies become answers:
 * lookups and their claims, claim checks and the owner's "missing" verdict, transfers. Engines
 * never call in here; they queue requests and take answers (share.c). Built with hiredis only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "share_int.h"

#include "fit.h"
#include "rconn.h"

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

/* The owner's "missing" verdict in one call: KEYS the claim key; ARGV the sensor, the TTL. 1 when
 * taken; else the claim that was there first (HGETALL). */
static const char *VERDICT_LUA =
	"if redis.call('HSETNX', KEYS[1], 'by', ARGV[1]) == 1 then "
	"  redis.call('HSET', KEYS[1], 'missing', '1') "
	"  redis.call('EXPIRE', KEYS[1], ARGV[2]) "
	"  return 1 "
	"end "
	"return redis.call('HGETALL', KEYS[1])";

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
		const char *src[3] = {PUB_LUA, LOOKUP_LUA, VERDICT_LUA};
		char *sha[3] = {sh->pub_sha, sh->lookup_sha, sh->verdict_sha};
		for (int i = 0; i < 3; i++) {
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
	r = ftpi__rconn_command(sh->c, "EXPIRE ftpi:{wm}:progress %llu",
				(unsigned long long)ftpi__sh_ttl_s(sh));
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
		if (ftpi__sh_num(v->str, (size_t)v->len) < t)
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
	ftpi__sh_idx_key(idx, tag, ftpi__sh_tag_of(&q->srv.addr, tag), q->srv.port);
	char now[24], life[24];
	ftpi__sh_u64_text(now, q->now_us);
	ftpi__sh_u64_text(life, q->max_age_us);
	atomic_fetch_add(&sh->lookups, 1);
	ftpi__sh_ob_cmd(sh, "EVALSHA", sh->lookup_sha, "1", idx, now, life);
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
			ftpi__sh_app3(sh, "HGETALL", es[n].key, NULL);
			ftpi__sh_app3(sh, "EXISTS", ck, NULL);
			n++;
			nf++;
		}
	}
	ftpi__sh_ob_send(sh);
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
		ftpi__sh_parse_entry(es[i].h, &t, &matched, &gone_us);
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
		ftpi__sh_parse_entry(e->h, a, &matched, &gone_us);
		snprintf(a->key, sizeof a->key, "%s", key);
		memset(&a->c, 0, sizeof a->c);
		a->c.cli = q->cli;
		a->c.srv = q->srv;
		a->c.cli_bad = (uint8_t)cs[k].fit.cli_bad;
		a->c.srv_bad = (uint8_t)cs[k].fit.srv_bad;
		a->c.nat = (uint8_t)cs[k].fit.nat;
		a->c.n = 1;
		char cip[64], sip[64];
		ftpi__sh_addr_text(&q->cli.addr, cip, sizeof cip);
		ftpi__sh_addr_text(&q->srv.addr, sip, sizeof sip);
		ftpi__rconn_appendf(sh->c,
				   "HSET %s client %s client_port %u server %s server_port %u "
				   "cli_bad %u srv_bad %u nat %u",
				   ck, cip, q->cli.port, sip, q->srv.port, a->c.cli_bad, a->c.srv_bad,
				   a->c.nat);
		ftpi__rconn_appendf(sh->c, "EXPIRE %s %llu", ck,
				    (unsigned long long)ftpi__sh_ttl_s(sh));
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
			ftpi__sh_addr_parse(s, l, &a->c.cli.addr);
		else if (strcmp(f, "server") == 0)
			ftpi__sh_addr_parse(s, l, &a->c.srv.addr);
		else if (strcmp(f, "client_port") == 0)
			a->c.cli.port = (uint16_t)ftpi__sh_num(s, l);
		else if (strcmp(f, "server_port") == 0)
			a->c.srv.port = (uint16_t)ftpi__sh_num(s, l);
		else if (strcmp(f, "cli_bad") == 0)
			a->c.cli_bad = (uint8_t)ftpi__sh_num(s, l);
		else if (strcmp(f, "srv_bad") == 0)
			a->c.srv_bad = (uint8_t)ftpi__sh_num(s, l);
		else if (strcmp(f, "nat") == 0)
			a->c.nat = (uint8_t)ftpi__sh_num(s, l);
		else if (strcmp(f, "answered") == 0)
			a->c.answered = (uint8_t)ftpi__sh_num(s, l);
		else if (strcmp(f, "clear") == 0)
			a->c.clear = (uint8_t)ftpi__sh_num(s, l);
		else if (strcmp(f, "by") == 0)
			snprintf(a->sensor, sizeof a->sensor, "%.*s", (int)FTPI__MIN(l, 48), s);
		else if (strcmp(f, "missing") == 0)
			missing = 1;
	}
	return missing;
}

/* A claim hash read back (r): found, or none when it is this sensor's own missing-data verdict
 * (taken by an earlier ask); returns whether it is that verdict. */
static int read_claim(const struct ftpi__share *sh, struct ftpi__sh_answer *a,
		      const redisReply *r)
{
	a->result = FTPI__SHA_NONE;
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 || !claim_fields(a, r) ||
	    strcmp(a->sensor, sh->sensor) != 0)
		return 0;
	a->result = FTPI__SHA_NONE;
	return 1;
}

/* A claim check from its reply (r, freed here; NULL: the call failed) and the batch's progress
 * hash (prog), read before the claim, so a claimant past t had claimed by then. Returns 1 when
 * the check is decided and found no claim: the owner then takes its verdict (verdicts). */
static int check_reply(struct ftpi__share *sh, const struct req *q, struct ftpi__sh_answer *a,
		       const redisReply *prog, redisReply *r)
{
	int behind = others_behind(sh, prog, q->now_us);
	a->decided = q->final || !behind;
	a->alone = !a->decided && behind == 2;
	if (reply_bad(sh, r, "check")) {
		a->result = FTPI__SHA_ERROR;
		return 0;
	}
	int own = read_claim(sh, a, r);
	freeReplyObject(r);
	if (own) {
		a->decided = 1;
		return 0;
	}
	return a->decided && a->result == FTPI__SHA_NONE && sh->c != NULL;
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
	ftpi__sh_parse_entry(r, a, &matched, &gone_us);
	a->gone = gone_us != 0;
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 0)
		a->gone = 1; /* expired: nothing more will come */
	freeReplyObject(r);
}

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
void ftpi__sh_merge_upd(struct req *t, uint64_t firm_us, int matched,
			const struct ftpi_xfer *x, uint64_t gone_us)
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
	int16_t tab[2 * FTPI__SH_BATCH];
	uint32_t h[FTPI__SH_BATCH];
	memset(tab, 0xff, sizeof tab);
	for (uint32_t i = 0; i < nb; i++) {
		struct req *q = &b[i];
		if (q->type != R_PUB && q->type != R_UPD)
			continue;
		uint32_t v = 2166136261u;
		for (const char *c = q->key; *c; c++)
			v = (v ^ (uint8_t)*c) * 16777619u;
		h[i] = v;
		uint32_t k = v % (2 * FTPI__SH_BATCH);
		while (tab[k] >= 0 && (h[tab[k]] != v || strcmp(b[tab[k]].key, q->key) != 0))
			k = (k + 1) % (2 * FTPI__SH_BATCH);
		if (tab[k] < 0 || q->type == R_PUB) {
			tab[k] = (int16_t)i;
			continue;
		}
		ftpi__sh_merge_upd(&b[tab[k]], q->firm_us, q->matched, q->has_x ? &q->x : NULL,
				   q->gone_us);
		q->type = R_NONE;
	}
}

/* The owner's "missing" verdicts of a batch (the checks b[vq[0..nv)] decided without a claim),
 * taken the way a claimant takes an entry: HSETNX of the claim key, by this sensor, with
 * `missing 1` (VERDICT_LUA), all in one pipeline. Whoever sets it first decides, so a claimant
 * whose SYN was seen late (a live sensor behind its own progress, a host under load) loses its
 * claim instead of reporting the connection beside the owner's data_connection_missing; a
 * verdict that finds a claim is answered as found. */
static void verdicts(struct ftpi__share *sh, const struct req *b, const uint32_t *vq, uint32_t nv)
{
	char ck[FTPI__SH_KEY + 8], ttl[24];
	struct ftpi__sh_answer a;
	ttl[ftpi__sh_u64_text(ttl, ftpi__sh_ttl_s(sh))] = 0;
	for (uint32_t i = 0; i < nv; i++) {
		snprintf(ck, sizeof ck, "%s:claim", b[vq[i]].key);
		ftpi__sh_ob_cmd(sh, "EVALSHA", sh->verdict_sha, "1", ck, sh->sensor, ttl);
	}
	ftpi__sh_ob_send(sh);
	for (uint32_t i = 0; i < nv; i++) {
		const struct req *q = &b[vq[i]];
		redisReply *r = NULL;
		answer_init(&a, q);
		a.decided = 1;
		if (sh->c == NULL || ftpi__rconn_get_reply(sh->c, &r) != 0)
			r = NULL;
		if (reply_bad(sh, r, "verdict")) {
			a.result = FTPI__SHA_ERROR;
		} else {
			read_claim(sh, &a, r);
			freeReplyObject(r);
		}
		answer(sh, q->me, &a);
	}
}

/* A batch in one pipeline, one round trip: every request's commands are sent in order (Redis
 * runs them in that order, so a read sees the writes queued before it), then every reply is
 * read; the writes' replies are checked and freed, the reads' are kept and answered after, when
 * a lookup's claim can be a call of its own. A failed reply drops the connection: what was not
 * confirmed is counted as lost. */
static void run_batch(struct ftpi__share *sh, struct req *b, uint32_t nb)
{
	uint8_t ncmd[FTPI__SH_BATCH];
	redisReply *rep[FTPI__SH_BATCH], *prog = NULL;
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
			ftpi__sh_app3(sh, "HGETALL", "ftpi:{wm}:progress", NULL);
			prog_i = i;
		}
		switch (q->type) {
		case R_NONE: break;
		case R_PUB: n = ftpi__sh_app_pub(sh, q); break;
		case R_UPD: n = ftpi__sh_app_upd(sh, q); break;
		case R_NOTE: n = ftpi__sh_app_note(sh, q); break;
		case R_XADD: n = ftpi__sh_app_xadd(sh, q); break;
		case R_LOOKUP:
			append_lookup(sh, q);
			n = 1;
			break;
		case R_CHECK:
			snprintf(ck, sizeof ck, "%s:claim", q->key);
			ftpi__sh_app3(sh, "HGETALL", ck, NULL);
			n = 1;
			break;
		default: /* R_XFER */
			ftpi__sh_app3(sh, "HGETALL", q->key, NULL);
			n = 1;
			break;
		}
		ncmd[i] = (uint8_t)n;
	}
	ftpi__sh_ob_send(sh);
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
	uint32_t vq[FTPI__SH_BATCH], nv = 0;
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
			if (check_reply(sh, q, &a, prog, rep[k++])) {
				vq[nv++] = i; /* answered with its verdict, below */
				continue;
			}
		} else {
			xfer_reply(sh, &a, rep[k++]);
		}
		answer(sh, q->me, &a);
	}
	if (nv)
		verdicts(sh, b, vq, nv);
	if (prog)
		freeReplyObject(prog);
}

/* The thread takes a batch once it is worth a round trip (FTPI__SH_WAKE_AT requests), when the
 * oldest queued request has waited FTPI__SH_BATCH_WAIT, or when an engine waits for nothing
 * else (kick). Taking what had come while the last batch was out made batches of the size of a
 * round trip (290 batches on the bench corpus), each a write, a read and two context switches.
 * With the lock. */
static int batch_due(const struct ftpi__share *sh)
{
	return sh->qn >= FTPI__SH_WAKE_AT || (sh->qn && (sh->kick || ftpi__share_now() - sh->first_at >=
								   FTPI__SH_BATCH_WAIT));
}

void *ftpi__sh_io_main(void *arg)
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
			uint64_t wait = sh->qn ? sh->first_at + FTPI__SH_BATCH_WAIT - FTPI__MIN(now, sh->first_at +
										  FTPI__SH_BATCH_WAIT)
					       : FTPI__SH_BATCH_WAIT;
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
		while (sh->qn && nb < FTPI__SH_BATCH) {
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
