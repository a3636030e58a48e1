/* Unit tests for the per-message arena. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/arena.h"

static int destructor_calls;
static void count_destructor(void *p)
{
	(void)p;
	destructor_calls++;
}

static void arena_allocations_are_aligned_and_distinct(void **state)
{
	vigil_arena *a = vigil_arena_new();
	char *p = vigil_arena_alloc(a, 3);
	char *q = vigil_arena_alloc(a, 5);
	assert_non_null(p);
	assert_non_null(q);
	assert_true(p != q);
	assert_int_equal((uintptr_t)q % 16, 0);
	vigil_arena_free(a);
}

static void arena_serves_allocations_larger_than_a_block(void **state)
{
	vigil_arena *a = vigil_arena_new();
	char *small = vigil_arena_alloc(a, 10);
	char *big = vigil_arena_alloc(a, 1u << 20);
	assert_non_null(big);
	memset(big, 0xab, 1u << 20);
	char *after = vigil_arena_alloc(a, 10);
	assert_non_null(after);
	memset(small, 1, 10);
	memset(after, 2, 10);
	assert_int_equal((unsigned char)big[(1u << 20) - 1], 0xab);
	vigil_arena_free(a);
}

static void arena_runs_destructors_once_on_free(void **state)
{
	vigil_arena *a = vigil_arena_new();
	destructor_calls = 0;
	assert_int_equal(vigil_arena_defer(a, count_destructor, NULL), 0);
	assert_int_equal(vigil_arena_defer(a, count_destructor, NULL), 0);
	assert_int_equal(destructor_calls, 0);
	vigil_arena_free(a);
	assert_int_equal(destructor_calls, 2);
}

static void arena_strings_copy_and_format(void **state)
{
	vigil_arena *a = vigil_arena_new();
	assert_null(vigil_arena_strdup(a, NULL));
	assert_string_equal(vigil_arena_strndup(a, "abcdef", 3), "abc");
	assert_string_equal(vigil_arena_printf(a, "%d-%s", 42, "x"), "42-x");
	vigil_arena_free(a);
}

static void arena_calloc_rejects_overflow(void **state)
{
	vigil_arena *a = vigil_arena_new();
	assert_null(vigil_arena_calloc(a, SIZE_MAX / 2, 4));
	int *z = vigil_arena_calloc(a, 100, sizeof(int));
	for (int i = 0; i < 100; i++)
		assert_int_equal(z[i], 0);
	vigil_arena_free(a);
}

static void arena_vec_grows_and_keeps_contents(void **state)
{
	vigil_arena *a = vigil_arena_new();
	VIGIL_VEC(int) v = {0};
	for (int i = 0; i < 1000; i++) {
		int *slot = VIGIL_VEC_PUSH(a, &v);
		assert_non_null(slot);
		*slot = i;
	}
	assert_int_equal(v.len, 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(v.items[i], i);
	vigil_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(arena_allocations_are_aligned_and_distinct),
		cmocka_unit_test(arena_serves_allocations_larger_than_a_block),
		cmocka_unit_test(arena_runs_destructors_once_on_free),
		cmocka_unit_test(arena_strings_copy_and_format),
		cmocka_unit_test(arena_calloc_rejects_overflow),
		cmocka_unit_test(arena_vec_grows_and_keeps_contents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
