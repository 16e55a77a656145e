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
 *
 * This file is what engines call: the rings, requests queued and answers taken, the object's
 * life and stats, the stubs and the public stream writer. The rest of the Redis side:
 * share_int.h (the object and its requests, private to these files), share_url.c (the URL and
 * the clock), share_wire.c (keys, values, the pipeline's bytes), share_io.c (the I/O thread),
 * rconn.c (the connection, TCP or TLS).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "share_int.h"

#ifdef FTPI_WITH_REDIS
#include "rconn.h"

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
		if (++sh->qn == FTPI__SH_WAKE_AT)
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
	if (ftpi__sh_url_parse(sc->url, &sh->url) != 0 ||
	    (stream_maxlen == 0 && !ftpi__sh_sensor_ok(sc->sensor)) ||
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
	sh->batch = calloc(FTPI__SH_BATCH, sizeof *sh->batch);
	sh->ob = malloc(FTPI__SH_OB_CAP);
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
	int made = pthread_create(&sh->thr, NULL, ftpi__sh_io_main, sh);
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
	o += ftpi__sh_tag_of(&target->addr, o);
	memcpy(o, "}:exp:", 6);
	o += 6;
	o += ftpi__sh_u64_text(o, target->port);
	*o++ = ':';
	size_t n = strlen(sh->sensor);
	memcpy(o, sh->sensor, n);
	o += n;
	*o++ = ':';
	o += ftpi__sh_u64_text(o, sid);
	*o++ = ':';
	ftpi__sh_u64_text(o, seq);
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
			ftpi__sh_merge_upd(t, firm_us, matched, x, gone_us);
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
