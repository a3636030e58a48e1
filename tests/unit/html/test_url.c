/* url.c: normalisation with libcurl, IDNA, PSL; hosts named in link text. */
#include "common.h"
#include "extract/html_internal.h"
#include "vigil_limits.h"

static void url_idn_host_has_a_and_u_labels(void **state)
{
	fixture *f = *state;
	const vigil_url *u = add_raw(f, "https://пример.рф/путь");
	assert_string_equal(u->host, "xn--e1afmkfd.xn--p1ai");
	assert_string_equal(u->host_unicode, "пример.рф");
	assert_string_equal(u->domain, "xn--e1afmkfd.xn--p1ai");
	assert_string_equal(u->url, "https://xn--e1afmkfd.xn--p1ai/%d0%bf%d1%83%d1%82%d1%8c");
	u = add_raw(f, "https://XN--80AK6AA92E.com/");
	assert_string_equal(u->host, "xn--80ak6aa92e.com");
	assert_string_equal(u->host_unicode, "аррӏе.com");
}

static void url_userinfo_trick_uses_real_host(void **state)
{
	fixture *f = *state;
	const vigil_url *u = add_raw(f, "https://www.bank.com@evil.example/login");
	assert_string_equal(u->host, "evil.example");
	assert_string_equal(u->path, "/login");
}

static void url_registrable_domain_uses_psl(void **state)
{
	fixture *f = *state;
	const vigil_url *u = add_raw(f, "HTTP://A.B.Example.CO.UK/x?y=1#z");
	assert_string_equal(u->scheme, "http");
	assert_string_equal(u->host, "a.b.example.co.uk");
	assert_string_equal(u->domain, "example.co.uk");
	assert_string_equal(u->query, "y=1");
	assert_string_equal(u->fragment, "z");
	assert_string_equal(u->url, "http://a.b.example.co.uk/x?y=1#z");
}

static void url_ip_literal_has_no_domain(void **state)
{
	fixture *f = *state;
	const vigil_url *u = add_raw(f, "http://0x7f.1/pixel.gif");
	assert_string_equal(u->host, "127.0.0.1");
	assert_null(u->domain);
	u = add_raw(f, "http://2130706433/");
	assert_string_equal(u->host, "127.0.0.1");
	u = add_raw(f, "http://[2001:DB8::1]/");
	assert_string_equal(u->host, "[2001:db8::1]");
	assert_null(u->domain);
}

static void url_mailto_host_is_address_domain(void **state)
{
	fixture *f = *state;
	const vigil_url *u = add_raw(f, "MAILTO:ceo%40Evil.Example?subject=hi");
	assert_string_equal(u->scheme, "mailto");
	assert_string_equal(u->host, "evil.example");
	assert_string_equal(u->domain, "evil.example");
	assert_string_equal(u->path, "ceo%40Evil.Example");
	assert_string_equal(u->query, "subject=hi");
	assert_non_null(u->url);
}

static void url_opaque_schemes_have_no_host(void **state)
{
	fixture *f = *state;
	const vigil_url *u = add_raw(f, "cid:logo@example.com");
	assert_string_equal(u->scheme, "cid");
	assert_null(u->host);
	u = add_raw(f, "tel:+33123456789");
	assert_string_equal(u->scheme, "tel");
	assert_string_equal(u->path, "+33123456789");
}

static void url_data_uri_keeps_no_payload(void **state)
{
	fixture *f = *state;
	char big[400] = "data:image/gif;base64,";
	memset(big + strlen(big), 'A', 300);
	const vigil_url *u = add_raw(f, big);
	assert_string_equal(u->scheme, "data");
	assert_null(u->host);
	assert_null(u->url);
	assert_true(strlen(u->raw) <= 64 + 3);
}

static void url_browser_leniency_backslash_relative_whitespace(void **state)
{
	fixture *f = *state;
	const vigil_url *u = add_raw(f, "https:\\\\evil.example\\a\\b?q=\\");
	assert_string_equal(u->host, "evil.example");
	assert_string_equal(u->path, "/a/b");
	u = add_raw(f, "//cdn.example.net/p.gif");
	assert_string_equal(u->scheme, "https");
	assert_string_equal(u->host, "cdn.example.net");
	u = add_raw(f, " \tht\ntps://ex\r\nample.org/ ");
	assert_string_equal(u->raw, "https://example.org/");
	assert_string_equal(u->host, "example.org");
	u = add_raw(f, "www.Example.com/x");
	assert_string_equal(u->url, "http://www.example.com/x");
	u = add_raw(f, "https://ex%61mple.com/");
	assert_string_equal(u->host, "example.com");
}

static void url_unparseable_is_kept_with_what_was_found(void **state)
{
	fixture *f = *state;
	const vigil_url *u = add_raw(f, "https://tracker.example:99999/x");
	assert_null(u->url);
	assert_string_equal(u->scheme, "https");
	assert_string_equal(u->host, "tracker.example");
	u = add_raw(f, "images/logo.png");
	assert_null(u->url);
	assert_null(u->host);
	assert_string_equal(u->raw, "images/logo.png");
}

static void url_over_limit_marks_partial(void **state)
{
	fixture *f = *state;
	for (int i = 0; i < VIGIL_MAX_URLS; i++)
		add_raw(f, "https://example.com/");
	assert_false(f->msg->partial);
	vigil_url u = {.raw = "https://example.com/last"};
	assert_int_equal(url__add(f->msg, f->env->sc, &u), 0);
	assert_true(f->msg->partial);
	assert_int_equal(f->msg->urls.len, VIGIL_MAX_URLS);
}

static void url_longer_than_cap_is_cut_and_marks_partial(void **state)
{
	fixture *f = *state;
	size_t n = VIGIL_MAX_URL_BYTES + 100;
	char *s = malloc(n + 1);
	memcpy(s, "https://example.com/", 20);
	memset(s + 20, 'a', n - 20);
	s[n] = '\0';
	const vigil_url *u = add_raw(f, s);
	assert_int_equal(strlen(u->raw), VIGIL_MAX_URL_BYTES);
	assert_string_equal(u->host, "example.com");
	assert_true(f->msg->partial);
	free(s);
	/* exactly at the cap: whole, not partial */
	vigil_message_free(f->msg);
	f->msg = test_message_new();
	s = malloc(VIGIL_MAX_URL_BYTES + 1);
	memcpy(s, "https://example.com/", 20);
	memset(s + 20, 'a', VIGIL_MAX_URL_BYTES - 20);
	s[VIGIL_MAX_URL_BYTES] = '\0';
	u = add_raw(f, s);
	assert_int_equal(strlen(u->raw), VIGIL_MAX_URL_BYTES);
	assert_false(f->msg->partial);
	free(s);
}

static void host_in_text_finds_hosts(void **state)
{
	fixture *f = *state;
	vigil_arena *a = f->msg->arena;
	assert_string_equal(url__host_in_text(a, "www.MyBank.com"), "www.mybank.com");
	assert_string_equal(url__host_in_text(a, " https://login.example.org/x "), "login.example.org");
	assert_string_equal(url__host_in_text(a, "example.com"), "example.com");
	assert_string_equal(url__host_in_text(a, "(paypal.com)."), "paypal.com");
	assert_string_equal(url__host_in_text(a, "Log in at www.bank.com now"), "www.bank.com");
	assert_string_equal(url__host_in_text(a, "пример.рф"), "xn--e1afmkfd.xn--p1ai");
	assert_string_equal(url__host_in_text(a, "support@bank.co.uk"), "bank.co.uk");
}

static void host_in_text_rejects_ordinary_words(void **state)
{
	fixture *f = *state;
	vigil_arena *a = f->msg->arena;
	const char *words[] = {"Click here", "Read more", "v1.2", "e.g.", "i.e.", "", "...",
		"co.uk", "Note: see below", "report.pdf", "3.14", "Go to example.com today", NULL};
	for (int i = 0; words[i]; i++)
		if (url__host_in_text(a, words[i]))
			fail_msg("\"%s\" taken for a host", words[i]);
	assert_null(url__host_in_text(a, NULL));
}

/* Hosts are normalised once per message and remembered (url.c's memo): many
 * hosts (more than its slots, so some share one) and repeats of each must
 * each come out as if normalised alone. */
static void url_hosts_remembered_per_message_stay_their_own(void **state)
{
	fixture *f = *state;
	char raw[128], host[64], domain[64];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++) {
			snprintf(raw, sizeof(raw), "https://W%d.Site%d.co.uk/p?i=%d", i % 3, i, round);
			const vigil_url *u = add_raw(f, raw);
			snprintf(host, sizeof(host), "w%d.site%d.co.uk", i % 3, i);
			snprintf(domain, sizeof(domain), "site%d.co.uk", i);
			assert_string_equal(u->host, host);
			assert_string_equal(u->domain, domain);
		}
		const vigil_url *u = add_raw(f, "https://xn--e1afmkfd.xn--p1ai/");
		assert_string_equal(u->host_unicode, "пример.рф");
		u = add_raw(f, "https://пример.рф/");
		assert_string_equal(u->host, "xn--e1afmkfd.xn--p1ai");
	}
}

/* Parsed URLs remembered per message: the same string gives the same parts
 * every time (its context stays its own), and a relative one is resolved
 * against each base it comes with, never against a remembered one. */
static void url_parses_remembered_per_message_stay_their_own(void **state)
{
	fixture *f = *state;
	char raw[128], want[160];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 200; i++) {
			snprintf(raw, sizeof(raw), "HTTPS://News%d.Example.COM/a/../p%d?q=%d#f", i % 7, i,
				i % 5);
			vigil_url u = {.raw = raw, .origin = VIGIL_URL_HTML, .element = round ? "img" : "a",
				.width = round, .height = -1, .hidden = round == 2 ? VIGIL_HIDDEN_DISPLAY : 0};
			assert_int_equal(url__add(f->msg, f->env->sc, &u), 0);
			const vigil_url *got = &f->msg->urls.items[f->msg->urls.len - 1];
			snprintf(want, sizeof(want), "https://news%d.example.com/p%d?q=%d#f", i % 7, i, i % 5);
			assert_string_equal(got->url, want);
			assert_string_equal(got->raw, raw);
			assert_string_equal(got->element, round ? "img" : "a");
			assert_int_equal(got->width, round);
			assert_int_equal(got->hidden, round == 2 ? VIGIL_HIDDEN_DISPLAY : 0);
			snprintf(want, sizeof(want), "/p%d", i);
			assert_string_equal(got->path, want);
		}
		static const char *const bases[] = {"https://a.example/x/", "https://b.example/y/z",
			"https://a.example/x/"};
		for (int b = 0; b < 3; b++) {
			vigil_url u = {.raw = "img/p.gif", .origin = VIGIL_URL_HTML, .element = "img",
				.width = -1, .height = -1};
			assert_int_equal(url__add_base(f->msg, f->env->sc, &u, bases[b]), 0);
			const vigil_url *got = &f->msg->urls.items[f->msg->urls.len - 1];
			assert_string_equal(got->url, b == 1 ? "https://b.example/y/img/p.gif"
							     : "https://a.example/x/img/p.gif");
			assert_string_equal(got->host, b == 1 ? "b.example" : "a.example");
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(url_idn_host_has_a_and_u_labels),
		T(url_userinfo_trick_uses_real_host),
		T(url_registrable_domain_uses_psl),
		T(url_ip_literal_has_no_domain),
		T(url_mailto_host_is_address_domain),
		T(url_opaque_schemes_have_no_host),
		T(url_data_uri_keeps_no_payload),
		T(url_browser_leniency_backslash_relative_whitespace),
		T(url_unparseable_is_kept_with_what_was_found),
		T(url_over_limit_marks_partial),
		T(url_longer_than_cap_is_cut_and_marks_partial),
		T(host_in_text_finds_hosts),
		T(host_in_text_rejects_ordinary_words),
		T(url_hosts_remembered_per_message_stay_their_own),
		T(url_parses_remembered_per_message_stay_their_own),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
