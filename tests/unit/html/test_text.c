/* text.c: URLs in plain-text bodies and in List-Unsubscribe-like headers. */
#include "common.h"

static void text(fixture *f, const char *s)
{
	assert_int_equal(text__extract(f->msg, f->env->sc, s, strlen(s), 2, 0), 0);
}

static void text_urls_trim_trailing_punctuation(void **state)
{
	fixture *f = *state;
	text(f, "See https://example.com/a. Or (https://example.org/b), "
		"https://en.wikipedia.org/wiki/Foo_(bar)! and \"http://x.example/q?a=1\";");
	assert_int_equal(f->msg->urls.len, 4);
	assert_true(has_url(f, "https://example.com/a"));
	assert_true(has_url(f, "https://example.org/b"));
	assert_true(has_url(f, "https://en.wikipedia.org/wiki/Foo_(bar)"));
	assert_true(has_url(f, "http://x.example/q?a=1"));
	const vigil_url *u = url_raw(f, "https://example.com/a");
	assert_int_equal(u->origin, VIGIL_URL_TEXT);
	assert_string_equal(u->element, "text");
	assert_null(u->attribute);
	assert_int_equal(u->part, 2);
}

static void text_www_host_without_scheme(void **state)
{
	fixture *f = *state;
	text(f, "Visit www.Example.com/offers, or WWW.other.example. Not swww.x.com nor www.");
	assert_int_equal(f->msg->urls.len, 2);
	assert_string_equal(url_raw(f, "www.Example.com/offers")->host, "www.example.com");
	assert_string_equal(url_raw(f, "WWW.other.example")->url, "http://www.other.example/");
}

static void text_angle_brackets_and_schemes(void **state)
{
	fixture *f = *state;
	text(f, "<https://example.com/a b> ftp://files.example.net/x xhttp://no.example "
		"hxxp://defanged.example mailto:x@y.z http://www.dup.example/");
	assert_true(has_url(f, "https://example.com/a"));
	assert_true(has_url(f, "ftp://files.example.net/x"));
	assert_true(has_url(f, "http://www.dup.example/"));
	assert_int_equal(f->msg->urls.len, 3);
}

static void text_bare_scheme_is_not_a_url(void **state)
{
	fixture *f = *state;
	text(f, "the prefix http:// alone, and https://");
	assert_int_equal(f->msg->urls.len, 0);
}

static void header_list_unsubscribe_yields_each_url(void **state)
{
	fixture *f = *state;
	assert_int_equal(header__extract_urls(f->msg, f->env->sc, "List-Unsubscribe",
				 "<mailto:unsub-123@lists.example.com?subject=unsubscribe>, "
				 " < https://lists.example.com/u/abc123 >",
				 0),
		0);
	assert_int_equal(f->msg->urls.len, 2);
	const vigil_url *u = &f->msg->urls.items[0];
	assert_string_equal(u->scheme, "mailto");
	assert_string_equal(u->host, "lists.example.com");
	assert_int_equal(u->origin, VIGIL_URL_HEADER);
	assert_string_equal(u->element, "List-Unsubscribe");
	u = &f->msg->urls.items[1];
	assert_string_equal(u->url, "https://lists.example.com/u/abc123");
	assert_null(u->attribute);
}

static void text_is_linear_on_hostile_input(void **state)
{
	fixture *f = *state;
	size_t n = 4 << 20;
	char *s = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = "w.:/)"[i % 5];
	s[n] = '\0';
	text(f, s);
	memset(s, ')', n);
	memcpy(s, "http://x.example/", 17);
	text(f, s);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(text_urls_trim_trailing_punctuation),
		T(text_www_host_without_scheme),
		T(text_angle_brackets_and_schemes),
		T(text_bare_scheme_is_not_a_url),
		T(header_list_unsubscribe_yields_each_url),
		T(text_is_linear_on_hostile_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
