/* css.c: declarations, url() references and lengths. */
#include "common.h"
#include "extract/css.h"

typedef struct collected {
	char items[16][256];
	int n;
} collected;

static void on_url(void *ud, const char *u, size_t n)
{
	collected *c = ud;
	if (c->n < 16)
		snprintf(c->items[c->n++], 256, "%.*s", (int)n, u);
}

static void on_decl(void *ud, const char *p, size_t pn, const char *v, size_t vn)
{
	collected *c = ud;
	if (c->n < 16)
		snprintf(c->items[c->n++], 256, "%.*s=%.*s", (int)pn, p, (int)vn, v);
}

static collected urls(const char *css)
{
	collected c = {.n = 0};
	css__urls(css, strlen(css), on_url, &c);
	return c;
}

static void css_url_with_escapes_and_quotes(void **state)
{
	collected c = urls("a{background:url( \"https://x.example/a\\\"b.gif\" )}"
			   "b{background-image:URL(https://x.example/\\41 B.png)}"
			   "c{background:url('it''s')} d{content:\"url(not-a-url)\"}"
			   "e{background:image-set(\"https://x.example/1x.png\" 1x, url(h2.png) 2x)}");
	assert_int_equal(c.n, 5);
	assert_string_equal(c.items[0], "https://x.example/a\"b.gif");
	assert_string_equal(c.items[1], "https://x.example/AB.png");
	assert_string_equal(c.items[2], "it");
	assert_string_equal(c.items[3], "https://x.example/1x.png");
	assert_string_equal(c.items[4], "h2.png");
}

static void css_import_forms(void **state)
{
	collected c = urls("@import \"https://a.example/s.css\"; @IMPORT url(https://b.example/t.css) screen;"
			   " /* url(https://commented.example/) */");
	assert_int_equal(c.n, 2);
	assert_string_equal(c.items[0], "https://a.example/s.css");
	assert_string_equal(c.items[1], "https://b.example/t.css");
}

static void css_unterminated_comment_is_safe(void **state)
{
	const char *cases[] = {"a{b:url(x)} /* never closed url(y)", "url(", "url(\"abc",
		"@import", "\\", "a{b:url(x\\", "'", "/*", "image-set(\"", NULL};
	for (int i = 0; cases[i]; i++) {
		/* exact-length copies so ASan sees any read past the end */
		size_t n = strlen(cases[i]);
		char *s = malloc(n ? n : 1);
		memcpy(s, cases[i], n);
		collected c = {.n = 0};
		css__urls(s, n, on_url, &c);
		css__declarations(s, n, on_decl, &c);
		css__length_px(s, n);
		free(s);
	}
	collected c = urls("a{b:url(x)} /* never closed url(y)");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.items[0], "x");
}

static void css_declarations_lowercase_trim_strip_important(void **state)
{
	const char *s = " DISPLAY : none !important ;width:1px;;/*c*/Height:/**/0 ;"
			"background:url(a;b.gif);disp\\6c ay:non\\65;bogus";
	collected c = {.n = 0};
	css__declarations(s, strlen(s), on_decl, &c);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.items[0], "display=none");
	assert_string_equal(c.items[1], "width=1px");
	assert_string_equal(c.items[2], "height=0");
	assert_string_equal(c.items[3], "background=url(a;b.gif)");
	assert_string_equal(c.items[4], "display=none");
}

static int px(const char *s)
{
	return css__length_px(s, strlen(s));
}

static void css_length_units(void **state)
{
	assert_int_equal(px("0"), 0);
	assert_int_equal(px("1px"), 1);
	assert_int_equal(px(" 2 "), 2);
	assert_int_equal(px("0.5pt"), 1);
	assert_int_equal(px("0em"), 0);
	assert_int_equal(px("1em"), 16);
	assert_int_equal(px("1in"), 96);
	assert_int_equal(px("1PX"), 1);
	assert_int_equal(px("-9999px"), -9999);
	assert_int_equal(px("0%"), 0);
	assert_int_equal(px("50%"), -1);
	assert_int_equal(px("auto"), -1);
	assert_int_equal(px("calc(1px + 1px)"), -1);
	assert_int_equal(px("1px !important"), 1);
	assert_int_equal(px("1e1px"), 10);
	assert_int_equal(px("1xyz"), -1);
	assert_int_equal(px(""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(css_url_with_escapes_and_quotes),
		cmocka_unit_test(css_import_forms),
		cmocka_unit_test(css_unterminated_comment_is_safe),
		cmocka_unit_test(css_declarations_lowercase_trim_strip_important),
		cmocka_unit_test(css_length_units),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
