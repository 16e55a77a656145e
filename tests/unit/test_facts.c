/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_facts.c - the per-server and per-client facts engines of one store share
 * (expect/facts.c), alone and under threads: facts of one capture time are ordered by frame, and
 * engines on threads that wait as the expect stage does (ftpi__store_wait_at) reach the answers
 * one engine reaches walking the same facts in capture order. CI runs these under
 * ThreadSanitizer too.
 */
#include <pthread.h>

#include "harness.h"
#include "facts.h"
#include "store.h"

static struct ftpi_addr addr4(uint8_t last)
{
	struct ftpi_addr a;
	memset(&a, 0, sizeof a);
	a.family = 4;
	a.ip[0] = 10;
	a.ip[3] = last;
	return a;
}

/* Failures at one capture time from several engines count in frame order (one engine's order),
 * whichever engine recorded its failure first. */
static void test_tie_by_frame(void)
{
	struct ftpi__facts *fx = ftpi__facts_new();
	struct ftpi_addr a = addr4(1);
	uint32_t n = 0;
	ASSERT_TRUE(fx != NULL);
	/* frame 30 recorded first: alone, one failure */
	ASSERT_EQ(ftpi__facts_login_failed(fx, 0, &a, 1000, 30, 60000000, 2, &n), 0);
	ASSERT_EQ(n, 1);
	/* frame 10, same time: before frame 30 in the capture, the first of the window */
	ASSERT_EQ(ftpi__facts_login_failed(fx, 0, &a, 1000, 10, 60000000, 2, &n), 0);
	ASSERT_EQ(n, 1);
	/* frame 20: frame 10 is before it (another engine's, same time), 30 is not: it raises */
	ASSERT_EQ(ftpi__facts_login_failed(fx, 0, &a, 1000, 20, 60000000, 2, &n), 1);
	ASSERT_EQ(n, 2);

	/* passive ports: what was named at the same time in a lower frame is before */
	struct ftpi_endpoint srv = {addr4(2), 21};
	uint16_t lo = 0, hi = 0;
	ftpi__facts_pasv(fx, 0, &srv, 50010, 2000, 41);
	ftpi__facts_pasv(fx, 0, &srv, 50001, 2000, 43);
	ASSERT_EQ(ftpi__facts_pasv_range(fx, &srv, 2000, 41, &lo, &hi), 0);
	ASSERT_EQ(ftpi__facts_pasv_range(fx, &srv, 2000, 42, &lo, &hi), 1);
	ASSERT_EQ(lo, 50010);
	ASSERT_EQ(hi, 50010);
	ASSERT_EQ(ftpi__facts_pasv_range(fx, &srv, 2000, 44, &lo, &hi), 1);
	ASSERT_EQ(lo, 50001);
	ASSERT_EQ(hi, 50010);
	ftpi__facts_free(fx);
}

/* ---- engines on threads ---- */

#define N_ENG 3
#define N_EV 600
#define WINDOW 5 /* capture-time units of the brute-force window */
#define THRESHOLD 4

/* Event i: capture time i / 3 (three share each time), frame i + 1, on engine eng_of(i). Even
 * events: a passive reply naming a port; odd ones: a failed login, and a look at the range. */
static unsigned eng_of(unsigned i)
{
	return (i * 2654435761u >> 7) % N_ENG;
}

static uint64_t ts_of(unsigned i)
{
	return 100 + i / 3;
}

static uint16_t port_of(unsigned i)
{
	return (uint16_t)(30000 + (i * 7919u) % 1000);
}

struct eng_run {
	ftpi_expect_store *st;
	unsigned me;
	uint8_t raised[N_EV];
	uint32_t count[N_EV];
	uint16_t lo[N_EV], hi[N_EV];
	uint8_t has[N_EV];
};

static const struct ftpi_endpoint g_srv = {{4, {10, 0, 0, 9}}, 21};

static void *engine_thread(void *arg)
{
	struct eng_run *r = arg;
	struct ftpi_addr cli = addr4(7);
	struct ftpi__facts *fx = ftpi__store_facts(r->st);
	ftpi_expect_store_idle_frame(r->st, r->me, 0, 0); /* frames are global */
	for (unsigned i = 0; i < N_EV; i++) {
		if (eng_of(i) != r->me)
			continue;
		uint64_t ts = ts_of(i), frame = i + 1;
		ftpi__store_mark(r->st, r->me, ts, frame);
		if (i % 2 == 0) {
			ftpi__facts_pasv(fx, ftpi__store_low_wm(r->st), &g_srv, port_of(i), ts, frame);
			continue;
		}
		ftpi__store_wait_at(r->st, r->me, ts, frame);
		r->has[i] = (uint8_t)ftpi__facts_pasv_range(fx, &g_srv, ts, frame, &r->lo[i],
							    &r->hi[i]);
		r->raised[i] = (uint8_t)ftpi__facts_login_failed(fx, ftpi__store_low_wm(r->st),
								 &cli, ts, frame, WINDOW,
								 THRESHOLD, &r->count[i]);
	}
	ftpi_expect_store_done(r->st, r->me);
	return NULL;
}

/* Engines on threads, each with its share of the events, give one engine's answers. */
static void test_threads_one_engine(void)
{
	static struct eng_run runs[N_ENG];
	pthread_t th[N_ENG];
	ftpi_expect_store *st = ftpi_expect_store_new(64, N_ENG, 0, NULL);
	ASSERT_TRUE(st != NULL);
	for (unsigned e = 0; e < N_ENG; e++) {
		memset(&runs[e], 0, sizeof runs[e]);
		runs[e].st = st;
		runs[e].me = e;
		ASSERT_EQ(ftpi__store_attach(st, e), FTPI_OK);
	}
	for (unsigned e = 0; e < N_ENG; e++)
		pthread_create(&th[e], NULL, engine_thread, &runs[e]);
	for (unsigned e = 0; e < N_ENG; e++)
		pthread_join(th[e], NULL);

	/* one engine: the events in capture order (bruteforce.c's window rules) */
	uint64_t win = 0;
	uint32_t count = 0, raised_total = 0, mismatches = 0;
	int started = 0, raised = 0, any = 0;
	uint16_t lo = 0, hi = 0;
	for (unsigned i = 0; i < N_EV; i++) {
		const struct eng_run *r = &runs[eng_of(i)];
		if (i % 2 == 0) {
			lo = !any || port_of(i) < lo ? port_of(i) : lo;
			hi = !any || port_of(i) > hi ? port_of(i) : hi;
			any = 1;
			continue;
		}
		mismatches += r->has[i] != any || r->lo[i] != lo || r->hi[i] != hi;
		if (!started || ts_of(i) - win > WINDOW) {
			started = 1;
			win = ts_of(i);
			count = 0;
			raised = 0;
		}
		count++;
		int now = count >= THRESHOLD && !raised;
		raised |= now;
		raised_total += (uint32_t)now;
		mismatches += r->raised[i] != now || r->count[i] != count;
	}
	ASSERT_EQ(mismatches, 0);
	ASSERT_GT(raised_total, 10);
	struct ftpi_expect_store_stats ss;
	ftpi_expect_store_stats(st, &ss, sizeof ss);
	ASSERT_EQ(ss.wait_timeouts, 0);
	for (unsigned e = 0; e < N_ENG; e++)
		ftpi__store_detach(st, e);
	ftpi_expect_store_free(st);
}

static const struct ftpi_test tests[] = {
	{"tie_by_frame", test_tie_by_frame},
	{"threads_one_engine", test_threads_one_engine},
};

FTPI_TEST_MAIN(tests)
