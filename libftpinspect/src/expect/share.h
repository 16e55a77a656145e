/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * share.h - the Redis side of a shared expectation store (ftpi_expect_store_new_shared) and the
 * event stream writer (ftpi_share_stream): one I/O thread per object owns the hiredis
 * connection; engines only push requests into a bounded queue and take answers from their own
 * bounded answer ring, so the packet path never waits on the network. Not a stage of its own: the
 * expect stage uses it; it knows sessions only through copies (store.h's ftpi__sx_pub).
 */
#ifndef FTPI_SHARE_H
#define FTPI_SHARE_H

#include "store.h"

#define FTPI__SH_KEY 160   /* a Redis key of ours, NUL included */
#define FTPI__SH_SENSOR 49 /* a sensor name, NUL included */

struct ftpi__share;

enum { FTPI__SH_LOOKUP = 1, FTPI__SH_CHECK, FTPI__SH_XFER };
enum { FTPI__SHA_NONE = 0, FTPI__SHA_FOUND, FTPI__SHA_ERROR };

/* An answer to a LOOKUP (the entry claimed), a CHECK (the claim on an entry of ours) or an XFER
 * (the owner's latest transfer for a claimed entry). */
struct ftpi__sh_answer {
	uint32_t ticket;
	uint8_t kind, result, gone;
	uint8_t decided; /* NONE that is final: every other sensor had decided up to its time */
	uint8_t alone;   /* NONE not decided because no other sensor is known (progress hash) */
	struct ftpi__sx_pub p;
	struct ftpi__sx_claim c;
	struct ftpi_xfer x;
	char key[FTPI__SH_KEY];
	char sensor[FTPI__SH_SENSOR];
};

/* stream_maxlen > 0: a stream writer (the URL's path is the stream), else a store's share. */
struct ftpi__share *ftpi__share_new(const struct ftpi_share_config *sc, unsigned engines,
				    uint64_t stream_maxlen, size_t queue_bytes, int *status);
void ftpi__share_free(struct ftpi__share *sh);
void ftpi__share_stats(struct ftpi__share *sh, struct ftpi_share_stats *out, char *err, size_t n);
uint64_t ftpi__share_wait_us(const struct ftpi__share *sh);
uint32_t ftpi__share_max_pending(const struct ftpi__share *sh);
/* Wall clock for the share's deadlines (monotonic, microseconds). */
uint64_t ftpi__share_now(void);
/* Counts into the share's stats from the engine side. */
void ftpi__share_count_dropped(struct ftpi__share *sh);
void ftpi__share_count_withheld(struct ftpi__share *sh, int claimed);

/* Owner side. Publishes an expectation (its transfer so far in x, may be NULL); returns its
 * sequence number (> 0) for ftpi__share_key, 0 when the queue is full (not published). */
uint32_t ftpi__share_publish(struct ftpi__share *sh, const struct ftpi__sx_pub *p,
			     const struct ftpi_xfer *x);
/* The key of an entry of ours. */
void ftpi__share_key(const struct ftpi__share *sh, const struct ftpi_endpoint *target,
		     uint64_t sid, uint32_t seq, char key[FTPI__SH_KEY]);
/* Updates the entry of ours that ftpi__share_publish numbered seq (its key: target, sid, seq):
 * firm_us (0 = unchanged), matched, the transfer (NULL = unchanged), gone_us (capture time the
 * owner let go of it: replaced, session over; 0 = still held). */
void ftpi__share_update(struct ftpi__share *sh, const struct ftpi_endpoint *target, uint64_t sid,
			uint32_t seq, uint64_t firm_us, int matched, const struct ftpi_xfer *x,
			uint64_t gone_us);
/* Asks whether an entry of ours, let go at capture time t, was claimed (answer CHECK; decided
 * when every other sensor has decided everything before t, or final). -1 when refused. */
int ftpi__share_check(struct ftpi__share *sh, unsigned me, uint32_t ticket, const char *key,
		      uint64_t t, int final);
/* Engine me has decided everything before t (its capture time, held back by connections still
 * looked up): other sensors wait for this before deciding from Redis. */
void ftpi__share_progress(struct ftpi__share *sh, unsigned me, uint64_t t);

/* Claimant side: the best entry of another sensor for the connection cli -> srv (seen first at
 * now_us), claimed atomically (answer LOOKUP); NONE not decided while another sensor has not
 * reached now_us, unless final. -1 when refused (queue or answer ring full). */
int ftpi__share_lookup(struct ftpi__share *sh, unsigned me, uint32_t ticket,
		       const struct ftpi_endpoint *cli, const struct ftpi_endpoint *srv,
		       uint64_t now_us, uint64_t max_age_us, int final);
/* The owner's transfer for a claimed entry (answer XFER). */
int ftpi__share_xfer(struct ftpi__share *sh, unsigned me, uint32_t ticket, const char *key);
/* Notes on our claim: "answered" (SYN-ACK seen) or "clear" (first payload not TLS). */
void ftpi__share_note(struct ftpi__share *sh, const char *key, const char *field);

/* Other sensors seen in the progress hash when the I/O thread last read it. */
uint32_t ftpi__share_others(struct ftpi__share *sh);
/* An engine holds questions answered "alone" until wall clock `until`: the I/O thread reads the
 * progress hash every 20 ms until then, so that a sensor that starts is seen (share_others). */
void ftpi__share_watch(struct ftpi__share *sh, uint64_t until);

/* Wakes the I/O thread for what is queued (it otherwise waits for a batch's worth or 20 ms):
 * for an engine that has nothing left to do but wait for answers. */
void ftpi__share_kick(struct ftpi__share *sh);
/* Takes one answer for engine me; 1 when *a was filled. */
int ftpi__share_poll(struct ftpi__share *sh, unsigned me, struct ftpi__sh_answer *a);
/* Whether answers wait for engine me (one atomic load). */
int ftpi__share_ready(struct ftpi__share *sh, unsigned me);
/* Requests of engine me whose answers have not been taken yet. */
uint32_t ftpi__share_outstanding(struct ftpi__share *sh, unsigned me);

/* Stream writer. */
void ftpi__share_add_line(struct ftpi__share *sh, const char *line, size_t len);
void ftpi__share_drain(struct ftpi__share *sh, uint64_t wait_us);

#endif /* FTPI_SHARE_H */
