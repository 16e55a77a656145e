/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_text.c - the index of ids to positions (cli_idx, out_util.c) that the text format finds
 * its held sessions with and the Zeek writer its open sessions: random puts, gets and deletes
 * against a model through the table's growth, and the text format's held sessions
 * (tools/ftpinspect/out_text.c, compiled into this test to reach its static functions), with
 * session ids chosen so that their home slots collide in runs that wrap around the end of the
 * table at every size up to 4,096 slots: every removal has entries after it to move back. The
 * session line itself is covered by the golden tests.
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

/* ids whose home slots fall in the 6 slots around the end of a table of 4,096 slots, so of
 * every smaller one too (a home is the top bits of id times the golden ratio) */
#define POOL 1500
static uint64_t pool[POOL];

static void make_pool(void)
{
	size_t n = 0;
	for (uint64_t id = 1; n < POOL; id++) {
		uint64_t h = (id * 0x9e3779b97f4a7c15ull) >> 52;
		if (h >= 4093 || h <= 2)
			pool[n++] = id;
	}
}

/* cli_idx alone: 200,000 operations over 3,000 ids (half of them colliding) against a model. */
static void run_idx(void)
{
	static size_t model[3000]; /* position + 1, 0: absent */
	static uint64_t ids[3000];
	struct cli_idx x = {0};
	size_t n = 0, pos;

	for (size_t i = 0; i < 3000; i++)
		ids[i] = i < POOL ? pool[i] : next_rand();
	memset(model, 0, sizeof model);
	for (int r = 0; r < 200000; r++) {
		size_t k = (size_t)(next_rand() % 3000);
		int op = (int)(next_rand() % 3);
		if (op == 0) {
			size_t at = (size_t)(next_rand() % 100000);
			CHECK(cli_idx_put(&x, ids[k], at) == 0);
			n += model[k] == 0;
			model[k] = at + 1;
		} else if (op == 1) {
			cli_idx_del(&x, ids[k]);
			n -= model[k] != 0;
			model[k] = 0;
		}
		CHECK(x.n == n);
		int got = cli_idx_get(&x, ids[k], &pos);
		CHECK(got == (model[k] != 0) && (!got || pos + 1 == model[k]));
		if (r % 4999 == 0)
			for (size_t i = 0; i < 3000; i++) {
				got = cli_idx_get(&x, ids[i], &pos);
				CHECK(got == (model[i] != 0) && (!got || pos + 1 == model[i]));
			}
	}
	cli_idx_free(&x);
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
	run_idx();
	run(t, 200000);
	/* the index empties with the held sessions */
	while (t->n > 0)
		drop_pending(t, &t->p[t->n - 1]);
	if (t->idx.n != 0)
		failed = 1;
	cli_idx_free(&t->idx);
	free(t);
	printf("%s\n", failed ? "FAIL" : "ok: id index and held sessions against their models");
	return failed;
}
