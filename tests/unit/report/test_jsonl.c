/* Unit tests for the JSON Lines sink (jsonl.c): the line through a FILE
 * (vigil_message_write) and into a buffer (vigil_message_render) are the
 * same bytes, strings that are not valid UTF-8 still give valid JSON, and a
 * line far larger than the first buffer still renders whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <jansson.h>

#include "testutil.h"

/* The line through vigil_message_write() into a memory stream. */
static char *write_line(const vigil_message *m, size_t *len)
{
	char *text = NULL;
	FILE *mem = open_memstream(&text, len);
	assert_non_null(mem);
	assert_int_equal(vigil_message_write(m, VIGIL_FORMAT_JSONL, mem), 0);
	assert_int_equal(fclose(mem), 0);
	return text;
}

/* Renders m both ways, checks they agree and end in one newline, and
 * returns the parsed object (the caller decrefs). */
static json_t *render_both(const vigil_message *m, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0;
	assert_int_equal(vigil_message_render(&buf, &len, m, VIGIL_FORMAT_JSONL), 0);
	assert_non_null(buf);
	size_t wlen = 0;
	char *w = write_line(m, &wlen);
	assert_int_equal(len, wlen);
	assert_memory_equal(buf, w, len);
	free(w);
	assert_true(len > 1);
	assert_int_equal(buf[len - 1], '\n');
	assert_null(memchr(buf, '\n', len - 1));
	json_error_t err;
	json_t *o = json_loadb(buf, len, 0, &err);
	assert_non_null(o);
	free(buf);
	if (out_len)
		*out_len = len;
	return o;
}

static void jsonl_invalid_utf8_becomes_valid_json(void **state)
{
	(void)state;
	vigil_message *m = test_message_new();
	/* invalid, valid non-ASCII, and ASCII that must be escaped */
	m->subject = vigil_arena_strdup(m->arena, "bad \xff\xfe byte");
	m->message_id = vigil_arena_strdup(m->arena, "<gr\xc3\xbc\xc3\x9f" "e@example.org>");
	m->x_mailer = vigil_arena_strdup(m->arena, "quote \" back \\ tab \t nul-less \x01");
	json_t *o = render_both(m, NULL);

	char *valid = g_utf8_make_valid(m->subject, -1);
	assert_string_equal(json_string_value(json_object_get(o, "subject")), valid);
	g_free(valid);
	assert_string_equal(json_string_value(json_object_get(o, "message_id")), m->message_id);
	assert_string_equal(json_string_value(json_object_get(o, "x_mailer")), m->x_mailer);
	assert_true(json_is_null(json_object_get(o, "user_agent")));
	json_decref(o);
	vigil_message_free(m);
}

static void jsonl_large_message_renders_whole(void **state)
{
	(void)state;
	vigil_message *m = test_message_new();
	/* 4000 URLs of about 300 bytes: a line of several MB, many times the
	 * first buffer, grown while jansson writes into it. */
	enum { N = 4000 };
	char path[256];
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	for (int i = 0; i < N; i++) {
		vigil_url *u = VIGIL_VEC_PUSH(m->arena, &m->urls);
		assert_non_null(u);
		u->url = vigil_arena_printf(m->arena, "https://host%d.example/%s?i=%d", i, path, i);
		u->raw = u->url;
		u->host = vigil_arena_printf(m->arena, "host%d.example", i);
		u->width = u->height = -1;
		u->part = i;
	}
	size_t len = 0;
	json_t *o = render_both(m, &len);
	assert_true(len > (size_t)N * 600);
	json_t *urls = json_object_get(o, "urls");
	assert_int_equal(json_array_size(urls), N);
	json_t *last = json_array_get(urls, N - 1);
	assert_string_equal(json_string_value(json_object_get(last, "url")), m->urls.items[N - 1].url);
	assert_int_equal(json_integer_value(json_object_get(last, "part")), N - 1);
	json_decref(o);
	vigil_message_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jsonl_invalid_utf8_becomes_valid_json),
		cmocka_unit_test(jsonl_large_message_renders_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
