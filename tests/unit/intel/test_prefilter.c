/* Unit tests for the hunt prefilter (intel/prefilter.c): which decoded parts
 * it lets a hunt skip. A part that may hold a URL on an indicator must never
 * be skipped (1); a part that cannot must be (0), or the prefilter saves
 * nothing. tests/e2e/hunt_prefilter.py checks the same edges end to end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "intel/intel.h"
#include "testutil.h"

typedef struct fixture {
	vigil_intel_set *set;
	vigil_intel_matcher *m; /* owns the prefilter, lends it the IP ranges */
	const vigil_intel_prefilter *pf;
	vigil_intel_prefilter_scratch *s;
} fixture;

static void add(vigil_intel_set *s, vigil_ioc_type t, const char *value)
{
	vigil_indicator i = {.type = t, .value = value, .source = "feed",
		.valid_from = VIGIL_NO_TIME, .valid_until = VIGIL_NO_TIME};
	const char *why = NULL;
	assert_int_equal(intel__set_add(s, &i, &why), 0);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->set = intel__set_new();
	assert_non_null(f->set);
	add(f->set, VIGIL_IOC_DOMAIN, "evil-host.com");
	add(f->set, VIGIL_IOC_DOMAIN, "xn--e1afmkfd.xn--p1ai"); /* пример.рф */
	add(f->set, VIGIL_IOC_URL, "https://t.co/AbCdEf9");
	add(f->set, VIGIL_IOC_EMAIL, "ceo@mail.bad-corp.net");
	*state = f;
	return 0;
}

static void compile(fixture *f)
{
	char err[256];
	vigil_intel_prefilter *pf = NULL;
	assert_int_equal(intel__compile(&f->m, f->set, err, sizeof(err)), 0);
	assert_int_equal(intel__prefilter_compile(&pf, f->set, err, sizeof(err)), 0);
	assert_non_null(pf);
	intel__matcher_set_prefilter(f->m, pf);
	f->pf = intel__matcher_prefilter(f->m);
}

static int setup_plain(void **state)
{
	setup(state);
	compile(*state);
	return 0;
}

/* The same indicators and an IPv4 range: addresses in URLs count. */
static int setup_ip(void **state)
{
	setup(state);
	add(((fixture *)*state)->set, VIGIL_IOC_IPV4, "192.0.2.0/24");
	compile(*state);
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	intel__prefilter_scratch_free(f->s);
	intel__matcher_free(f->m);
	intel__set_free(f->set);
	free(f);
	return 0;
}

static int part(fixture *f, const char *text, bool html)
{
	return intel__prefilter_part(f->pf, &f->s, text, strlen(text), html);
}

static void prefilter_skips_parts_without_any_indicator_host(void **state)
{
	fixture *f = *state;
	assert_int_equal(part(f, "<p>Hello <a href=\"https://www.example.org/a?b=1&amp;c=2\">"
		"there</a>&nbsp;&mdash; caf\xc3\xa9 &eacute; bye.</p>", true), 0);
	assert_int_equal(part(f, "Plain text, https://www.example.org/x and a@b.example.net.",
		false), 0);
	/* A host that only ends like an indicator, or is longer. */
	assert_int_equal(part(f, "<a href=\"https://notevil-host.com/\">", true), 0);
	assert_int_equal(part(f, "<a href=\"https://evil-host.com.example.org/\">", true), 0);
	/* The URL indicator's host without its path. */
	assert_int_equal(part(f, "<a href=\"https://t.co/Other1\">", true), 0);
	/* An address without indicators on addresses. */
	assert_int_equal(part(f, "<a href=\"http://192.0.2.7/\">", true), 0);
}

static void prefilter_keeps_parts_naming_an_indicator_host(void **state)
{
	fixture *f = *state;
	assert_int_equal(part(f, "<a href=\"https://evil-host.com/x\">", true), 1);
	assert_int_equal(part(f, "<a href=\"https://cdn.EVIL-HOST.COM/x\">", true), 1);
	assert_int_equal(part(f, "see http://evil-host.com.", false), 1);
	assert_int_equal(part(f, "<a href=\"https://t.co/AbCdEf9\">", true), 1);
	assert_int_equal(part(f, "<a href=\"mailto:ceo@mail.bad-corp.net\">", true), 1);
	/* The U-label of an A-label indicator, and a mix of both. */
	assert_int_equal(part(f, "https://\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80."
		"\xd1\x80\xd1\x84/", false), 1);
	assert_int_equal(part(f, "https://\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80."
		"xn--p1ai/", false), 1);
}

static void prefilter_keeps_parts_that_may_hide_a_host(void **state)
{
	fixture *f = *state;
	/* Character references and percent escapes that decode to host
	 * characters. */
	assert_int_equal(part(f, "<a href=\"https://evil-host&#46;com/\">", true), 1);
	assert_int_equal(part(f, "<a href=\"https://evil-host&period;com/\">", true), 1);
	assert_int_equal(part(f, "<a href=\"https://evil-host%2Ecom/\">", true), 1);
	/* A CSS escape, a line break inside an href. */
	assert_int_equal(part(f, "<div style=\"background:url(http://evil-h\\6fst.com)\">", true),
		1);
	assert_int_equal(part(f, "<a href=\"https://evil-\nhost.com/\">", true), 1);
	/* What IDNA maps to ASCII or deletes: fullwidth letters, a soft hyphen. */
	assert_int_equal(part(f, "<a href=\"https://\xef\xbd\x85vil-host.com/\">", true), 1);
	assert_int_equal(part(f, "<a href=\"https://evil-ho\xc2\xadst.com/\">", true), 1);
	/* Upper-case Cyrillic maps onto the IDN indicator's U-label. */
	assert_int_equal(part(f, "https://\xd0\x9f\xd0\xa0\xd0\x98\xd0\x9c\xd0\x95\xd0\xa0."
		"\xd1\x80\xd1\x84/", false), 1);
	/* In plain text nothing is decoded but percent escapes. */
	assert_int_equal(part(f, "evil-host&#46;com", false), 0);
}

static void prefilter_keeps_parts_with_addresses_in_a_range(void **state)
{
	fixture *f = *state;
	assert_int_equal(part(f, "<a href=\"http://192.0.2.7/\">", true), 1);
	assert_int_equal(part(f, "http://3221225991/x", false), 1);  /* 192.0.2.7 */
	assert_int_equal(part(f, "http://192.0.2.010/x", false), 1); /* octal */
	assert_int_equal(part(f, "<a href=\"http://u@192.0.2.9/\">", true), 1);
	assert_int_equal(part(f, "<a href=\"https:192.0.2.9/\">", true), 1);
	assert_int_equal(part(f, "<a href=\"mailto:x@[192.0.2.9]\">", true), 1);
	/* Outside the range, in a path, in a data: URI, a font query. */
	assert_int_equal(part(f, "<a href=\"http://198.51.100.7/\">", true), 0);
	assert_int_equal(part(f, "<img src=\"https://cdn.example.org/img/logo@2x.png\">", true), 0);
	assert_int_equal(part(f, "<img src=\"data:image/png;base64,AAAA///8AAA\">", true), 0);
	assert_int_equal(part(f, "<link href=\"https://fonts.example.org/css2?family=Sans:wght@400\">",
		true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(prefilter_skips_parts_without_any_indicator_host,
			setup_plain, teardown),
		cmocka_unit_test_setup_teardown(prefilter_keeps_parts_naming_an_indicator_host,
			setup_plain, teardown),
		cmocka_unit_test_setup_teardown(prefilter_keeps_parts_that_may_hide_a_host,
			setup_plain, teardown),
		cmocka_unit_test_setup_teardown(prefilter_keeps_parts_with_addresses_in_a_range,
			setup_ip, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
