/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * store.c - the expectation store shared by engines on different threads (store.h): a fixed
 * array of entries, a chained hash on the target port with one mutex per stripe of buckets (a
 * claim is a few compares under one stripe lock), a free list, and one capture-time watermark per
 * engine. It is not on the per-packet path: engines touch it when a session announces or a
 * transfer changes, and for new connections their own table does not explain. Allocation happens
 * once, at creation, bounded by max_entries and max_engines; the store never prints and never
 * grows.
 *
 * Waiting for another engine's clock is what keeps results those of one engine, and what costs.
 * Two per-engine facts let an engine skip most waits: a "quiet" clock (its host looked ahead in
 * its queue, ftpi_engine_lookahead: it publishes nothing new from packets before that time) and,
 * when the host dispatches packets through the store (ftpi_expect_store_dispatch), the time of
 * the last connection start handed to it per server port (hashed): an engine whose connection
 * starts to a port are all processed cannot claim an entry for that port any more.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "store.h"

#include "facts.h"
#include "share.h"

#define STRIPES 64
#define NIL UINT32_MAX
#define SYN_SLOTS 1024 /* per engine: last connection start handed to it, by server port hash */
/* Yields before a wait sleeps: most waits end within them, while a sleep (20 us asked, about 70
 * us with the default timer slack) outlasts the wait. With 64, two workers with a core each spent
 * most of their time asleep (ftpi_workers_bench --workers 2, mix500: 0.37 s, 0.51 s of the two
 * workers' time waiting; with 1,024: 0.21 s, 0.18 s; c2000 0.83 -> 0.46 s; bench/results.md,
 * "Per-core cost, eighth round"). With more threads than cores the yields give the core away
 * but still cost CPU time (ftpinspect --workers 2 on two cores, beside its reader: c2000 faster,
 * mix500 and c48 10-15% slower). */
#define WAIT_YIELDS 1024

struct sentry {
	uint32_t next; /* bucket chain */
	uint32_t gen;
	uint8_t used, owner_live, owner_hold, has_xfer, matched, ended;
	uint64_t ended_us, ended_frame; /* the owner's session end (ended) */
	uint16_t owner;
	uint32_t claims_live;    /* claims not released */
	uint64_t claimants;      /* bit j: engine j claimed it (engines >= 63 share bit 63) */
	struct ftpi__sx_pub p;
	struct ftpi__sx_claim c;
	struct ftpi_xfer xfer;
};

struct ftpi_expect_store {
	uint32_t max_entries, nbuckets;
	unsigned max_engines;
	uint64_t max_wait_ns;
	struct sentry *e;
	uint32_t *bucket;
	pthread_mutex_t stripe[STRIPES];
	pthread_mutex_t free_lock;
	uint32_t free_head, in_use, high_water;
	uint32_t fresh; /* entries from here on were never used (their pages never touched) */
	_Atomic uint64_t *wm;
	_Atomic uint64_t *wmf;      /* per engine: every packet numbered below it is processed */
	_Atomic int frames_global;  /* the host numbers packets across engines */
	_Atomic uint64_t *quiet;    /* per engine: it publishes nothing new from packets before */
	_Atomic uint64_t *last_syn; /* per engine, SYN_SLOTS: see ftpi_expect_store_dispatch */
	_Atomic int syns_known;     /* the host dispatches through the store */
	_Atomic int *attached;
	_Atomic uint64_t published, claimed, lookups, full, waits, wait_timeouts, wait_ns, quick;
	struct ftpi__share *share; /* Redis (ftpi_expect_store_new_shared), or NULL */
	struct ftpi__facts *facts; /* per-server and per-client facts (facts.h) */
};

static uint32_t bucket_of(const struct ftpi_expect_store *st, uint16_t port)
{
	return ((uint32_t)port * 2654435761u >> 8) & (st->nbuckets - 1);
}

static pthread_mutex_t *lock_of(struct ftpi_expect_store *st, uint32_t b)
{
	return &st->stripe[b % STRIPES];
}

ftpi_expect_store *ftpi_expect_store_new(uint32_t max_entries, unsigned max_engines,
					 uint64_t max_wait_us, int *status)
{
	struct ftpi_expect_store *st;
	if (status)
		*status = FTPI_OK;
	if (max_entries == 0)
		max_entries = 65536;
	if (max_engines == 0 || max_engines > 1024 || max_entries > (1u << 24)) {
		if (status)
			*status = FTPI_E_INVAL;
		return NULL;
	}
	st = calloc(1, sizeof *st);
	if (st == NULL)
		goto nomem;
	st->max_entries = max_entries;
	st->max_engines = max_engines;
	st->max_wait_ns = max_wait_us * 1000u;
	st->nbuckets = 64;
	while (st->nbuckets < max_entries / 2)
		st->nbuckets <<= 1;
	st->e = calloc(max_entries, sizeof *st->e);
	st->bucket = malloc(st->nbuckets * sizeof *st->bucket);
	st->wm = calloc(max_engines, sizeof *st->wm);
	st->wmf = calloc(max_engines, sizeof *st->wmf);
	st->quiet = calloc(max_engines, sizeof *st->quiet);
	st->last_syn = calloc((size_t)max_engines * SYN_SLOTS, sizeof *st->last_syn);
	st->attached = calloc(max_engines, sizeof *st->attached);
	st->facts = ftpi__facts_new();
	if (!st->e || !st->bucket || !st->wm || !st->wmf || !st->quiet || !st->last_syn || !st->attached ||
	    !st->facts) {
		ftpi_expect_store_free(st);
		goto nomem;
	}
	for (uint32_t i = 0; i < st->nbuckets; i++)
		st->bucket[i] = NIL;
	st->free_head = NIL; /* freed entries; new ones come from `fresh` */
	for (int i = 0; i < STRIPES; i++)
		pthread_mutex_init(&st->stripe[i], NULL);
	pthread_mutex_init(&st->free_lock, NULL);
	return st;
nomem:
	if (status)
		*status = FTPI_E_NOMEM;
	return NULL;
}

ftpi_expect_store *ftpi_expect_store_new_shared(const struct ftpi_share_config *sc,
						uint32_t max_entries, unsigned max_engines,
						uint64_t max_wait_us, int *status)
{
	int st_status;
	struct ftpi_expect_store *st = ftpi_expect_store_new(max_entries, max_engines, max_wait_us,
							     &st_status);
	if (st == NULL) {
		if (status)
			*status = st_status;
		return NULL;
	}
	st->share = ftpi__share_new(sc, max_engines, 0, 0, &st_status);
	if (status)
		*status = st_status;
	if (st->share == NULL) {
		ftpi_expect_store_free(st);
		return NULL;
	}
	return st;
}

int ftpi_share_stats_get(ftpi_expect_store *st, struct ftpi_share_stats *out, size_t out_size,
			 char *last_error, size_t n)
{
	struct ftpi_share_stats s;
	if (st == NULL || out == NULL || st->share == NULL)
		return FTPI_E_INVAL;
	ftpi__share_stats(st->share, &s, last_error, n);
	memcpy(out, &s, FTPI__MIN(out_size, sizeof s));
	return FTPI_OK;
}

void ftpi_share_flush(ftpi_expect_store *st, uint64_t wait_us)
{
	if (st && st->share)
		ftpi__share_drain(st->share, wait_us);
}

struct ftpi__share *ftpi__store_share(const struct ftpi_expect_store *st)
{
	return st ? st->share : NULL;
}

void ftpi_expect_store_free(ftpi_expect_store *st)
{
	if (st == NULL)
		return;
	ftpi__share_free(st->share);
	if (st->e && st->bucket && st->wm && st->wmf && st->quiet && st->last_syn && st->attached) {
		for (int i = 0; i < STRIPES; i++)
			pthread_mutex_destroy(&st->stripe[i]);
		pthread_mutex_destroy(&st->free_lock);
	}
	ftpi__facts_free(st->facts);
	free(st->e);
	free(st->bucket);
	free((void *)st->wm);
	free((void *)st->wmf);
	free((void *)st->quiet);
	free((void *)st->last_syn);
	free((void *)st->attached);
	free(st);
}

static void raise_clock(_Atomic uint64_t *c, uint64_t t)
{
	uint64_t cur = atomic_load_explicit(c, memory_order_relaxed);
	while (cur < t && !atomic_compare_exchange_weak_explicit(c, &cur, t, memory_order_release,
								 memory_order_relaxed))
		;
}

static void raise_wm(struct ftpi_expect_store *st, unsigned me, uint64_t t)
{
	raise_clock(&st->wm[me], t);
}

void ftpi_expect_store_idle(ftpi_expect_store *st, unsigned engine_index, uint64_t until_us)
{
	if (st && engine_index < st->max_engines)
		raise_wm(st, engine_index, until_us);
}

void ftpi_expect_store_idle_frame(ftpi_expect_store *st, unsigned engine_index, uint64_t until_us,
				  uint64_t frame)
{
	if (st == NULL || engine_index >= st->max_engines)
		return;
	if (!atomic_load_explicit(&st->frames_global, memory_order_relaxed))
		atomic_store(&st->frames_global, 1);
	raise_clock(&st->wmf[engine_index], frame); /* before the time: read after it */
	raise_wm(st, engine_index, until_us);
}

void ftpi_expect_store_done(ftpi_expect_store *st, unsigned engine_index)
{
	ftpi_expect_store_idle(st, engine_index, UINT64_MAX);
}

int ftpi_expect_store_stats(ftpi_expect_store *st, struct ftpi_expect_store_stats *out,
			    size_t out_size)
{
	struct ftpi_expect_store_stats s;
	if (st == NULL || out == NULL)
		return FTPI_E_INVAL;
	s.published = atomic_load(&st->published);
	s.claimed = atomic_load(&st->claimed);
	s.lookups = atomic_load(&st->lookups);
	s.full = atomic_load(&st->full);
	s.waits = atomic_load(&st->waits);
	s.wait_timeouts = atomic_load(&st->wait_timeouts);
	s.wait_ns = atomic_load(&st->wait_ns);
	s.quick = atomic_load(&st->quick);
	pthread_mutex_lock(&st->free_lock);
	s.in_use = st->in_use;
	s.high_water = st->high_water;
	pthread_mutex_unlock(&st->free_lock);
	memcpy(out, &s, FTPI__MIN(out_size, sizeof s));
	return FTPI_OK;
}

unsigned ftpi__store_engines(const struct ftpi_expect_store *st)
{
	return st->max_engines;
}

int ftpi__store_attach(struct ftpi_expect_store *st, unsigned me)
{
	int no = 0;
	if (me >= st->max_engines)
		return FTPI_E_INVAL;
	atomic_store(&st->wm[me], 0);
	atomic_store(&st->wmf[me], 0);
	atomic_store(&st->quiet[me], 0);
	if (!atomic_compare_exchange_strong(&st->attached[me], &no, 1))
		return FTPI_E_INVAL;
	return FTPI_OK;
}

void ftpi__store_detach(struct ftpi_expect_store *st, unsigned me)
{
	atomic_store(&st->wm[me], UINT64_MAX);
	atomic_store(&st->attached[me], 0);
}

struct ftpi__facts *ftpi__store_facts(const struct ftpi_expect_store *st)
{
	return st ? st->facts : NULL;
}

uint64_t ftpi__store_low_wm(struct ftpi_expect_store *st)
{
	uint64_t low = UINT64_MAX;
	for (unsigned j = 0; j < st->max_engines; j++) {
		uint64_t wm = atomic_load_explicit(&st->wm[j], memory_order_acquire);
		if (atomic_load_explicit(&st->attached[j], memory_order_acquire) && wm < low)
			low = wm;
	}
	return low;
}

void ftpi__store_mark(struct ftpi_expect_store *st, unsigned me, uint64_t t, uint64_t frame)
{
	raise_clock(&st->wmf[me], frame); /* before the time: a reader that sees t sees it */
	raise_wm(st, me, t);
}

void ftpi__store_quiet(struct ftpi_expect_store *st, unsigned me, uint64_t until)
{
	raise_clock(&st->quiet[me], until);
}

static _Atomic uint64_t *syn_slot(struct ftpi_expect_store *st, unsigned j, uint16_t port)
{
	return &st->last_syn[(size_t)j * SYN_SLOTS +
			     (((uint32_t)port * 2654435761u >> 16) & (SYN_SLOTS - 1))];
}

void ftpi__store_note_start(struct ftpi_expect_store *st, unsigned engine, uint16_t port,
			    uint64_t ts_us)
{
	if (!atomic_load_explicit(&st->syns_known, memory_order_relaxed))
		atomic_store(&st->syns_known, 1);
	if (port && engine < st->max_engines)
		raise_clock(syn_slot(st, engine, port), ts_us);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One step of a wait that began at t0: a yield, later a short sleep; 1 when the store's bound
 * on waits has passed (looked at every 64 yields and after every sleep). */
static int wait_step(struct ftpi_expect_store *st, unsigned spin, uint64_t t0)
{
	if (spin < WAIT_YIELDS) {
		sched_yield();
		if (spin % 64 != 63)
			return 0;
	} else {
		struct timespec ts = {0, 20000};
		nanosleep(&ts, NULL);
	}
	if (st->max_wait_ns && mono_ns() - t0 > st->max_wait_ns) {
		atomic_fetch_add(&st->wait_timeouts, 1);
		return 1;
	}
	return 0;
}

/* What another engine must have done for this one to decide. */
enum settle { SETTLE_PAST, SETTLE_PORT, SETTLE_CLAIMS };

static int holds_port(struct ftpi_expect_store *st, unsigned j, uint16_t port);
static int claimed_by(struct ftpi_expect_store *st, ftpi__sref r, unsigned j);

/* Engine j is settled at t: it has processed every packet before t, or
 * - SETTLE_PORT (a new connection to port): it publishes nothing new from packets up to t (its
 *   quiet clock, read before its entries, so that an entry published before the clock moved is
 *   seen) and holds no entry for the port (whose state could still change);
 * - SETTLE_CLAIMS (the claims on entry r, to port): every connection start to the port handed
 *   to it was processed, and it has not claimed r (its claim could still change). */
static int settled(struct ftpi_expect_store *st, unsigned j, int what, uint16_t port,
		   ftpi__sref r, uint64_t t, uint64_t f)
{
	uint64_t wm = atomic_load_explicit(&st->wm[j], memory_order_acquire);
	if (wm > t || !atomic_load_explicit(&st->attached[j], memory_order_acquire))
		return 1;
	/* at t itself: its packets of that time before frame f too, when frames are global */
	if (wm == t && (f == 0 || !atomic_load_explicit(&st->frames_global, memory_order_relaxed) ||
			atomic_load_explicit(&st->wmf[j], memory_order_acquire) >= f))
		return 1;
	if (what == SETTLE_PORT)
		return atomic_load_explicit(&st->quiet[j], memory_order_acquire) > t &&
		       !holds_port(st, j, port);
	if (what == SETTLE_CLAIMS)
		return atomic_load_explicit(&st->syns_known, memory_order_acquire) &&
		       atomic_load_explicit(syn_slot(st, j, port), memory_order_acquire) < wm &&
		       !claimed_by(st, r, j);
	return 0;
}

static int all_settled(struct ftpi_expect_store *st, unsigned me, int what, uint16_t port,
		       ftpi__sref r, uint64_t t, uint64_t f)
{
	for (unsigned j = 0; j < st->max_engines; j++)
		if (j != me && !settled(st, j, what, port, r, t, f))
			return 0;
	return 1;
}

static void wait_settled(struct ftpi_expect_store *st, unsigned me, int what, uint16_t port,
			 ftpi__sref r, uint64_t t, uint64_t f)
{
	if (all_settled(st, me, what, port, r, t, f)) {
		if (what != SETTLE_PAST)
			atomic_fetch_add_explicit(&st->quick, 1, memory_order_relaxed);
		return;
	}
	uint64_t t0 = mono_ns();
	atomic_fetch_add(&st->waits, 1);
	for (unsigned spin = 0; !all_settled(st, me, what, port, r, t, f); spin++)
		if (wait_step(st, spin, t0))
			break;
	atomic_fetch_add(&st->wait_ns, mono_ns() - t0);
}

void ftpi__store_wait(struct ftpi_expect_store *st, unsigned me, uint64_t t)
{
	wait_settled(st, me, SETTLE_PAST, 0, 0, t, 0);
}

void ftpi__store_wait_at(struct ftpi_expect_store *st, unsigned me, uint64_t t, uint64_t frame)
{
	wait_settled(st, me, SETTLE_PAST, 0, 0, t, frame);
}

void ftpi__store_wait_port(struct ftpi_expect_store *st, unsigned me, uint16_t port, uint64_t t,
			   uint64_t frame)
{
	wait_settled(st, me, SETTLE_PORT, port, 0, t, frame);
}

void ftpi__store_wait_claims(struct ftpi_expect_store *st, unsigned me, ftpi__sref r,
			     uint16_t port, uint64_t t)
{
	wait_settled(st, me, SETTLE_CLAIMS, port, r, t, 0);
}

/* ---- entries ---- */

/* Engine j holds a live entry for port. */
static int holds_port(struct ftpi_expect_store *st, unsigned j, uint16_t port)
{
	uint32_t b = bucket_of(st, port);
	pthread_mutex_t *l = lock_of(st, b);
	int found = 0;
	pthread_mutex_lock(l);
	for (uint32_t i = st->bucket[b]; i != NIL && !found; i = st->e[i].next)
		found = st->e[i].p.target.port == port && st->e[i].owner == j && st->e[i].owner_live;
	pthread_mutex_unlock(l);
	return found;
}

static struct sentry *deref(struct ftpi_expect_store *st, ftpi__sref r)
{
	uint32_t idx = (uint32_t)r;
	if (idx == 0 || idx > st->max_entries)
		return NULL;
	struct sentry *e = &st->e[idx - 1];
	return e;
}

/* Unlinks and frees an entry nobody holds; the caller holds its stripe lock. */
static void entry_free_locked(struct ftpi_expect_store *st, struct sentry *e)
{
	uint32_t idx = (uint32_t)(e - st->e);
	uint32_t *pp = &st->bucket[bucket_of(st, e->p.target.port)];
	while (*pp != NIL && *pp != idx)
		pp = &st->e[*pp].next;
	if (*pp == idx)
		*pp = e->next;
	e->used = 0;
	e->gen++;
	pthread_mutex_lock(&st->free_lock);
	e->next = st->free_head;
	st->free_head = idx;
	st->in_use--;
	pthread_mutex_unlock(&st->free_lock);
}

ftpi__sref ftpi__store_publish(struct ftpi_expect_store *st, unsigned me,
			       const struct ftpi__sx_pub *p)
{
	uint32_t idx;
	pthread_mutex_lock(&st->free_lock);
	idx = st->free_head;
	if (idx != NIL)
		st->free_head = st->e[idx].next;
	else if (st->fresh < st->max_entries)
		idx = st->fresh++;
	if (idx != NIL && ++st->in_use > st->high_water)
		st->high_water = st->in_use;
	pthread_mutex_unlock(&st->free_lock);
	if (idx == NIL) {
		atomic_fetch_add(&st->full, 1);
		return 0;
	}
	uint32_t b = bucket_of(st, p->target.port);
	pthread_mutex_t *l = lock_of(st, b);
	pthread_mutex_lock(l);
	struct sentry *e = &st->e[idx];
	uint32_t gen = e->gen;
	memset(e, 0, sizeof *e);
	e->gen = gen;
	e->used = 1;
	e->owner_live = 1;
	e->owner_hold = 1;
	e->owner = (uint16_t)me;
	e->p = *p;
	e->next = st->bucket[b];
	st->bucket[b] = idx;
	pthread_mutex_unlock(l);
	atomic_fetch_add(&st->published, 1);
	return ((uint64_t)gen << 32) | (idx + 1);
}

/* Locks the entry's stripe; NULL (unlocked) when the reference is stale. */
static struct sentry *lock_ref(struct ftpi_expect_store *st, ftpi__sref r, pthread_mutex_t **l)
{
	struct sentry *e = deref(st, r);
	if (e == NULL)
		return NULL;
	/* the holder's reference keeps the entry's port fixed */
	*l = lock_of(st, bucket_of(st, e->p.target.port));
	pthread_mutex_lock(*l);
	if (!e->used || e->gen != (uint32_t)(r >> 32)) {
		pthread_mutex_unlock(*l);
		return NULL;
	}
	return e;
}

void ftpi__store_firm(struct ftpi_expect_store *st, ftpi__sref r, uint64_t firm_us)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	e->p.firm = 1;
	e->p.firm_us = firm_us;
	pthread_mutex_unlock(l);
}

void ftpi__store_xfer(struct ftpi_expect_store *st, ftpi__sref r, const struct ftpi_xfer *x)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	e->xfer = *x;
	e->has_xfer = 1;
	pthread_mutex_unlock(l);
}

void ftpi__store_matched(struct ftpi_expect_store *st, ftpi__sref r)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	e->matched = 1;
	pthread_mutex_unlock(l);
}

uint32_t ftpi__store_claims(struct ftpi_expect_store *st, ftpi__sref r, struct ftpi__sx_claim *c)
{
	pthread_mutex_t *l;
	uint32_t n = 0;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return 0;
	n = e->c.n;
	if (n)
		*c = e->c;
	pthread_mutex_unlock(l);
	return n;
}

void ftpi__store_owner_release(struct ftpi_expect_store *st, ftpi__sref r)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	e->owner_live = 0;
	e->owner_hold = 0;
	if (!e->claims_live)
		entry_free_locked(st, e);
	pthread_mutex_unlock(l);
}

void ftpi__store_owner_retire(struct ftpi_expect_store *st, ftpi__sref r)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	e->owner_live = 0;
	pthread_mutex_unlock(l);
}

void ftpi__store_session_end(struct ftpi_expect_store *st, ftpi__sref r, uint64_t us,
			     uint64_t frame)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	e->ended = 1;
	e->ended_us = us;
	e->ended_frame = frame;
	pthread_mutex_unlock(l);
}

int ftpi__store_ended(struct ftpi_expect_store *st, ftpi__sref r, uint64_t *us, uint64_t *frame)
{
	pthread_mutex_t *l;
	int ended;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return 0;
	ended = e->ended;
	*us = e->ended_us;
	*frame = e->ended_frame;
	pthread_mutex_unlock(l);
	return ended;
}


ftpi__sref ftpi__store_claim(struct ftpi_expect_store *st, unsigned me, uint16_t port,
			     uint64_t now_us, uint64_t max_age_us, ftpi__sx_fit fit, void *arg,
			     struct ftpi__sx_pub *p, struct ftpi__sx_claim *c)
{
	return ftpi__store_claim_above(st, me, port, now_us, max_age_us, fit, arg, -1, 0, p, c);
}

ftpi__sref ftpi__store_claim_above(struct ftpi_expect_store *st, unsigned me, uint16_t port,
				   uint64_t now_us, uint64_t max_age_us, ftpi__sx_fit fit,
				   void *arg, int min_score, uint64_t min_created,
				   struct ftpi__sx_pub *p, struct ftpi__sx_claim *c)
{
	uint32_t b = bucket_of(st, port);
	pthread_mutex_t *l = lock_of(st, b);
	struct sentry *best = NULL;
	struct ftpi__sx_claim bc, tc;
	int bs = -1;

	atomic_fetch_add_explicit(&st->lookups, 1, memory_order_relaxed);
	pthread_mutex_lock(l);
	for (uint32_t i = st->bucket[b]; i != NIL; i = st->e[i].next) {
		struct sentry *e = &st->e[i];
		if (e->p.target.port != port || e->owner == me || !e->owner_live)
			continue;
		if (e->p.created_us > now_us)
			continue; /* announced after this connection came (its owner is ahead) */
		uint64_t t0 = e->p.firm ? e->p.firm_us : e->p.created_us;
		if (now_us > t0 && now_us - t0 >= max_age_us)
			continue; /* the owner expires it at its next tick */
		memset(&tc, 0, sizeof tc);
		int sc = fit(arg, &e->p, &tc);
		if (sc < 0)
			continue;
		if (e->c.n == 0 && !e->matched)
			sc += 4; /* an unmatched one first, as the engine's own table does */
		if (sc > bs || (sc == bs && e->p.created_us >= best->p.created_us)) {
			best = e;
			bs = sc;
			bc = tc;
		}
	}
	ftpi__sref r = 0;
	if (best && (bs < min_score || (bs == min_score && best->p.created_us < min_created)))
		best = NULL; /* the engine's own expectation ranks higher */
	/* every connection that fits claims, as one engine's table matches them all: the first
	 * claim's fields stay, the others are counted */
	if (best) {
		struct ftpi__sx_claim *ec = &best->c;
		if (ec->n == 0) {
			*ec = bc;
			ec->n_answered = ec->n_never = 0;
			ec->answered = ec->clear = 0;
		}
		ec->n++;
		ec->n_bad += bc.cli_bad || bc.srv_bad;
		ec->n_node += !best->p.active && bc.srv_bad;
		best->claims_live++;
		best->claimants |= 1ull << (me < 63 ? me : 63);
		*p = best->p;
		*c = bc;
		c->n = ec->n;
		r = ((uint64_t)best->gen << 32) | ((uint32_t)(best - st->e) + 1);
	}
	pthread_mutex_unlock(l);
	if (r)
		atomic_fetch_add(&st->claimed, 1);
	return r;
}

static int claimed_by(struct ftpi_expect_store *st, ftpi__sref r, unsigned j)
{
	pthread_mutex_t *l;
	int by;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return 0;
	by = (e->claimants >> (j < 63 ? j : 63)) & 1;
	pthread_mutex_unlock(l);
	return by;
}

void ftpi__store_note_clear(struct ftpi_expect_store *st, ftpi__sref r, uint64_t us,
			    uint64_t frame)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	if (!e->c.clear || us < e->c.clear_us ||
	    (us == e->c.clear_us && frame < e->c.clear_frame)) {
		e->c.clear_us = us;
		e->c.clear_frame = frame;
	}
	e->c.clear = 1;
	pthread_mutex_unlock(l);
}

void ftpi__store_note_never(struct ftpi_expect_store *st, ftpi__sref r)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	e->c.n_never++;
	pthread_mutex_unlock(l);
}

void ftpi__store_note_answered(struct ftpi_expect_store *st, ftpi__sref r)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	e->c.answered = 1;
	e->c.n_answered++;
	pthread_mutex_unlock(l);
}

int ftpi__store_read_xfer(struct ftpi_expect_store *st, ftpi__sref r, struct ftpi_xfer *x)
{
	pthread_mutex_t *l;
	int gone;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return 1;
	if (e->has_xfer)
		*x = e->xfer;
	else
		x->state = 0;
	gone = !e->owner_live;
	pthread_mutex_unlock(l);
	return gone;
}

void ftpi__store_claim_release(struct ftpi_expect_store *st, ftpi__sref r)
{
	pthread_mutex_t *l;
	struct sentry *e = lock_ref(st, r, &l);
	if (e == NULL)
		return;
	if (e->claims_live)
		e->claims_live--;
	if (!e->owner_hold && !e->claims_live)
		entry_free_locked(st, e);
	pthread_mutex_unlock(l);
}
