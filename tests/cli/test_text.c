/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_text.c - the text format's index of sessions whose data connection lines are held
 * (tools/ftpinspect/out_text.c, compiled into this test to reach its static functions): random
 * finds, creations and drops against a model, with session ids chosen so that their home slots
 * collide, in runs that wrap around the end of the table, so that every removal has entries
 * after it to move back. The session line itself is covered by the golden tests.
 */
#include "../../tools/ftpinspect/out_text.c"

/* out_text.c's summary and statistics call these; this test never does. */
void summary_print_text(struct summary *s, FILE *f, int color)
{
	(void)s;
	(void)f;
	(void)color;
}

size_t cli_share_counters(struct app *a, const char *names[16], uint64_t values[16])
{
	(void)a;
	(void)names;
	(void)values;
	return 0;
}

static int failed;

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c);                    \
			failed = 1;                                                                \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ids whose home slots fall in the 12 slots around the table's end (a wrapping run) */
#define POOL 1500
static uint64_t pool[POOL];

static void make_pool(void)
{
	size_t n = 0;
	for (uint64_t id = 1; n < POOL; id++) {
		size_t h = index_home(id);
		if (h >= TXT_INDEX_SLOTS - 6 || h < 6)
			pool[n++] = id;
	}
}

static void run(struct text_state *t, int rounds)
{
	static unsigned char live[POOL];
	size_t n_live = 0;

	memset(live, 0, sizeof live);
	for (int r = 0; r < rounds; r++) {
		size_t k = (size_t)(next_rand() % POOL);
		int op = (int)(next_rand() % 3);
		struct pending *p = find_pending(t, pool[k], op == 0);
		if (op == 0) { /* find or create */
			if (live[k] || n_live < TXT_MAX_PENDING_SESSIONS) {
				CHECK(p != NULL && p->session == pool[k]);
				if (!live[k]) {
					live[k] = 1;
					n_live++;
				}
			} else {
				CHECK(p == NULL); /* full */
			}
		} else if (op == 1) { /* find */
			CHECK(live[k] ? p != NULL && p->session == pool[k] : p == NULL);
		} else if (live[k]) { /* drop */
			CHECK(p != NULL && p->session == pool[k]);
			drop_pending(t, p);
			live[k] = 0;
			n_live--;
		}
		CHECK(t->n == n_live);
		if (r % 997 == 0) /* every live id still found, at its own entry */
			for (size_t i = 0; i < POOL; i++) {
				p = find_pending(t, pool[i], 0);
				CHECK(live[i] ? p != NULL && p->session == pool[i] : p == NULL);
			}
	}
}

int main(void)
{
	struct text_state *t = calloc(1, sizeof *t);
	if (t == NULL)
		return 1;
	make_pool();
	run(t, 200000);
	/* the index empties with the held sessions */
	while (t->n > 0)
		drop_pending(t, &t->p[t->n - 1]);
	for (size_t i = 0; i < TXT_INDEX_SLOTS; i++)
		if (t->index[i] != 0)
			failed = 1;
	free(t);
	printf("%s\n", failed ? "FAIL" : "ok: held-session index against its model");
	return failed;
}
