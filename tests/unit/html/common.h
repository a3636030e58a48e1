/*
 * Helpers for the body-extractor tests: one message and one scanner per
 * test, and lookups of the URLs found.
 */
#ifndef VIGIL_TEST_HTML_COMMON_H
#define VIGIL_TEST_HTML_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "extract/extract.h"
#include "testutil.h"

typedef struct fixture {
	test_env *env;
	vigil_message *msg;
} fixture;

static inline int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->env = test_env_new();
	f->msg = test_message_new();
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	fixture *f = *state;
	vigil_message_free(f->msg);
	test_env_free(f->env);
	free(f);
	return 0;
}

static inline void html(fixture *f, const char *s)
{
	assert_int_equal(html__extract(f->msg, f->env->sc, s, strlen(s), 1, 0), 0);
}

/* The first URL whose raw form is `raw`, or fails the test. */
static inline const vigil_url *url_raw(fixture *f, const char *raw)
{
	for (size_t i = 0; i < f->msg->urls.len; i++)
		if (strcmp(f->msg->urls.items[i].raw, raw) == 0)
			return &f->msg->urls.items[i];
	fail_msg("no URL %s among %zu", raw, f->msg->urls.len);
	return NULL;
}

static inline bool has_url(fixture *f, const char *raw)
{
	for (size_t i = 0; i < f->msg->urls.len; i++)
		if (strcmp(f->msg->urls.items[i].raw, raw) == 0)
			return true;
	return false;
}

/* url__add() of one raw URL; returns the URL added. */
static inline const vigil_url *add_raw(fixture *f, const char *raw)
{
	vigil_url u = {.raw = raw, .origin = VIGIL_URL_HTML, .element = "a", .width = -1,
		.height = -1};
	assert_int_equal(url__add(f->msg, f->env->sc, &u), 0);
	return &f->msg->urls.items[f->msg->urls.len - 1];
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

#endif
