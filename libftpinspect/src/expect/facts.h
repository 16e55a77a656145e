/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * facts.h - what one engine learns from all of a server's or a client's sessions, shared by the
 * engines of one expectation store: the passive ports a server's 227/229 replies named (the
 * range inference links an encrypted session's data connections with) and the failed logins of
 * a client address (brute_force). A host spreads packets by host pair, so one server's sessions
 * from several clients, or one client's sessions with several servers, land on several engines;
 * alone, each would learn from its share only.
 *
 * Each fact is kept with its capture time, so that an engine deciding at time t reads what one
 * engine would have learned from the packets before t, whatever the other engines have already
 * processed beyond t. What no engine can ask about any more (older than every attached engine's
 * watermark) is folded into a base. Bounded: fixed sets of records, allocated with the store.
 */
#ifndef FTPI_FACTS_H
#define FTPI_FACTS_H

#include "session.h"

struct ftpi__facts;

/* Created and freed with the store (store.c). NULL when out of memory. */
struct ftpi__facts *ftpi__facts_new(void);
void ftpi__facts_free(struct ftpi__facts *fx);

/* The store's facts (ftpi__store_facts) and its lowest watermark (ftpi__store_low_wm) are passed
 * in: this file does not call the store. */

/* Facts are ordered by capture time, then by frame (packets of one time, in capture order when
 * the host numbers packets across engines). */

/* A session with server srv read a passive reply naming port, at capture time ts in frame. */
void ftpi__facts_pasv(struct ftpi__facts *fx, uint64_t low, const struct ftpi_endpoint *srv,
		      uint16_t port, uint64_t ts, uint64_t frame);
/* The ports server srv's passive replies named before (t, frame), across every engine (the
 * caller waits first: ftpi__store_wait_port). 0 when none; else *lo and *hi. */
int ftpi__facts_pasv_range(struct ftpi__facts *fx, const struct ftpi_endpoint *srv, uint64_t t,
			   uint64_t frame, uint16_t *lo, uint16_t *hi);

/* A failed login from addr at ts in frame (the caller waited until every other engine has
 * processed the packets before it: ftpi__store_wait_at). Counts it among every engine's
 * failures from addr with the rules of one engine (window, threshold); returns 1 when this
 * failure raises brute_force, with *count the failures in the window. */
int ftpi__facts_login_failed(struct ftpi__facts *fx, uint64_t low, const struct ftpi_addr *addr,
			     uint64_t ts, uint64_t frame, uint64_t window, uint32_t threshold,
			     uint32_t *count);

#endif /* FTPI_FACTS_H */
