/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * harness.h - the unit-test harness: typed asserts that print both values (libuv task.h style)
 * and a table-driven main. Each tests/unit/test_<module>.c is one executable and one CTest test;
 * `test_<module> NAME` runs a single case.
 */
#ifndef FTPI_TEST_HARNESS_H
#define FTPI_TEST_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ftpi_test {
	const char *name;
	void (*fn)(void);
};

extern int ftpi_test_failed;
int ftpi_test_failed;

#define FAIL_AT(...)                                                                               \
	do {                                                                                       \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                    \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fprintf(stderr, "\n");                                                             \
		ftpi_test_failed = 1;                                                              \
		return;                                                                            \
	} while (0)

#define ASSERT_TRUE(x)                                                                             \
	do {                                                                                       \
		if (!(x))                                                                          \
			FAIL_AT("ASSERT_TRUE(%s) failed", #x);                                     \
	} while (0)

#define ASSERT_INT_OP(a, op, b)                                                                    \
	do {                                                                                       \
		int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                      \
		if (!(a_ op b_))                                                                   \
			FAIL_AT("%s %s %s: %" PRId64 " vs %" PRId64, #a, #op, #b, a_, b_);         \
	} while (0)
#define ASSERT_EQ(a, b) ASSERT_INT_OP(a, ==, b)
#define ASSERT_NE(a, b) ASSERT_INT_OP(a, !=, b)
#define ASSERT_LT(a, b) ASSERT_INT_OP(a, <, b)
#define ASSERT_LE(a, b) ASSERT_INT_OP(a, <=, b)
#define ASSERT_GT(a, b) ASSERT_INT_OP(a, >, b)
#define ASSERT_GE(a, b) ASSERT_INT_OP(a, >=, b)

#define ASSERT_STR_EQ(a, b)                                                                        \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                               \
			FAIL_AT("%s == %s: \"%s\" vs \"%s\"", #a, #b, a_ ? a_ : "(null)",          \
				b_ ? b_ : "(null)");                                               \
	} while (0)

/* Compares a (ptr,len) span with a C string. */
#define ASSERT_SPAN_EQ(span, str)                                                                  \
	do {                                                                                       \
		const char *s_ = (str);                                                            \
		size_t l_ = strlen(s_);                                                            \
		if ((span).len != l_ || ((span).len && memcmp((span).ptr, s_, l_) != 0))           \
			FAIL_AT("%s == \"%s\": got \"%.*s\"", #span, s_, (int)(span).len,          \
				(span).ptr ? (span).ptr : "");                                     \
	} while (0)

#define FTPI_TEST_MAIN(table)                                                                      \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		int failures = 0, ran = 0;                                                         \
		for (size_t i_ = 0; i_ < sizeof(table) / sizeof((table)[0]); i_++) {               \
			if (argc > 1 && strcmp(argv[1], (table)[i_].name) != 0)                    \
				continue;                                                          \
			ftpi_test_failed = 0;                                                      \
			(table)[i_].fn();                                                          \
			ran++;                                                                     \
			printf("%s %s\n", ftpi_test_failed ? "FAIL" : "ok  ", (table)[i_].name);   \
			failures += ftpi_test_failed;                                              \
		}                                                                                  \
		if (ran == 0) {                                                                    \
			fprintf(stderr, "no test named %s\n", argc > 1 ? argv[1] : "?");           \
			return 1;                                                                  \
		}                                                                                  \
		printf("%d/%d passed\n", ran - failures, ran);                                     \
		return failures ? 1 : 0;                                                           \
	}

#endif
