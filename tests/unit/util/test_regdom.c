/* Unit tests for regdom__lookup(): the memo of registrable domains must
 * answer exactly what libpsl answers, for any domain, however often asked
 * and whatever else was asked in between. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpsl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner.h"

/* Answers compared as offsets into the domain: same pointer semantics. */
static void check_same(struct regdom_memo **memo, const psl_ctx_t *psl, const char *d)
{
	const char *want = psl_registrable_domain(psl, d);
	const char *got = regdom__lookup(memo, psl, d);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_int_equal(got - d, want - d);
}

static void memo_answers_what_libpsl_answers(void **state)
{
	(void)state;
	const psl_ctx_t *psl = psl_builtin();
	struct regdom_memo *memo = NULL;
	static const char *const fixed[] = {
		"example.com", "a.b.example.co.uk", "co.uk", "com", "localhost", "",
		"xn--80ak6aa92e.com", "www.bbc.co.uk", "s3.amazonaws.com",
		"bucket.s3.amazonaws.com", "192.0.2.1",
		/* longer than a memo key: looked up every time */
		"a-very-long-label-that-goes-on.and-another-long-label-here.example.org",
	};
	/* Each asked three times, around thousands of others that evict it
	 * (the memo is direct-mapped: collisions must replace, not confuse). */
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			check_same(&memo, psl, fixed[i]);
		char d[96];
		for (int i = 0; i < 20000; i++) {
			snprintf(d, sizeof(d), "h%d.d%d.%s", i, i % 977,
				i % 3 == 0 ? "co.uk" : i % 3 == 1 ? "com" : "example.net");
			check_same(&memo, psl, d);
		}
	}
	assert_non_null(memo);
	free(memo);
}

static void no_memo_still_answers(void **state)
{
	(void)state;
	const psl_ctx_t *psl = psl_builtin();
	const char *d = "mail.example.org";
	const char *r = regdom__lookup(NULL, psl, d);
	assert_non_null(r);
	assert_string_equal(r, "example.org");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memo_answers_what_libpsl_answers),
		cmocka_unit_test(no_memo_still_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
