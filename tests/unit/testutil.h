/*
 * Helpers shared by the unit tests: reading test data and scanning a message
 * given as a string. Include after <cmocka.h>.
 */
#ifndef VIGIL_TESTUTIL_H
#define VIGIL_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "scanner.h"
#include "vigil/vigil.h"

/* Path of a file under the source tree (tests/..., data/...), static buffer. */
static inline const char *test_path(const char *rel)
{
	static char buf[4096];
	const char *root = getenv("VIGIL_SOURCE_ROOT");
	snprintf(buf, sizeof(buf), "%s/%s", root ? root : ".", rel);
	return buf;
}

/* Whole file, NUL-terminated, or NULL. Caller frees. */
static inline char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	}
	return buf;
}

typedef struct test_env {
	vigil_ctx *ctx;
	vigil_scanner *sc;
} test_env;

static inline test_env *test_env_new(void)
{
	test_env *e = calloc(1, sizeof(*e));
	if (!e || vigil_ctx_new(&e->ctx) != 0 || vigil_scanner_new(&e->sc, e->ctx) != 0)
		abort();
	return e;
}

static inline void test_env_free(test_env *e)
{
	if (!e)
		return;
	vigil_scanner_free(e->sc);
	vigil_ctx_free(e->ctx);
	free(e);
}

/* Scans a message given as text; aborts on error (tests expect success). */
static inline vigil_message *test_scan(test_env *e, const char *text)
{
	vigil_raw_message raw = {.data = text, .len = strlen(text), .path = "test", .offset = -1};
	vigil_message *msg = NULL;
	if (vigil_scan(&msg, e->sc, &raw) != 0)
		abort();
	return msg;
}

/* A bare message with its own arena, for testing extractors alone. */
static inline vigil_message *test_message_new(void)
{
	vigil_arena *a = vigil_arena_new();
	vigil_message *m = vigil_arena_calloc(a, 1, sizeof(*m));
	m->arena = a;
	m->offset = -1;
	m->date_time = VIGIL_NO_TIME;
	return m;
}

#endif /* VIGIL_TESTUTIL_H */
