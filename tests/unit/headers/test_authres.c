/*
 * Unit tests for Authentication-Results parsing: real fields from Gmail,
 * Microsoft, Postfix milters (OpenDKIM, OpenDMARC, spf), SpamAssassin's test
 * suite and ARC, then RFC 8601 forms, deviations, junk and the result cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "extract/extract.h"
#include "vigil_limits.h"

typedef struct fixture {
	vigil_arena *a;
	vigil_auth_vec v;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->a = vigil_arena_new();
	*state = f;
	return f->a ? 0 : -1;
}

static int teardown(void **state)
{
	fixture *f = *state;
	vigil_arena_free(f->a);
	free(f);
	return 0;
}

static size_t parse(fixture *f, const char *value, int header_index)
{
	assert_int_equal(authres__parse(&f->v, f->a, value, header_index, 0), 0);
	return f->v.len;
}

static void field_equal(const char *got, const char *expected)
{
	if (expected) {
		assert_non_null(got);
		assert_string_equal(got, expected);
	} else {
		assert_null(got);
	}
}

/* Checks result i: authserv-id, method, result, reason. */
static const vigil_auth_result *expect_result(fixture *f, size_t i, const char *authserv_id,
	const char *method, const char *result, const char *reason)
{
	assert_true(i < f->v.len);
	const vigil_auth_result *r = &f->v.items[i];
	field_equal(r->authserv_id, authserv_id);
	field_equal(r->method, method);
	field_equal(r->result, result);
	field_equal(r->reason, reason);
	return r;
}

/* Checks the properties of a result, given as name, value, ..., NULL. */
static void expect_props(const vigil_auth_result *r, ...)
{
	va_list ap;
	va_start(ap, r);
	size_t i = 0;
	for (;;) {
		const char *name = va_arg(ap, const char *);
		if (!name)
			break;
		const char *value = va_arg(ap, const char *);
		assert_true(i < r->n_props);
		assert_string_equal(r->props[i].name, name);
		assert_string_equal(r->props[i].value, value);
		i++;
	}
	va_end(ap);
	assert_int_equal(r->n_props, i);
}

static void authres_gmail_four_results_with_comments(void **state)
{
	fixture *f = *state;
	assert_int_equal(parse(f, "mx.google.com;\r\n"
				  "       dkim=pass header.i=@hotmail.com header.s=selector1 "
				  "header.b=g8fzLget;\r\n"
				  "       arc=pass (i=1);\r\n"
				  "       spf=pass (google.com: domain of phishing@pot designates 40.92.40.56 as "
				  "permitted sender) smtp.mailfrom=phishing@pot;\r\n"
				  "       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=hotmail.com",
				 0),
		4);
	expect_props(expect_result(f, 0, "mx.google.com", "dkim", "pass", NULL), "header.i",
		"@hotmail.com", "header.s", "selector1", "header.b", "g8fzLget", NULL);
	expect_props(expect_result(f, 1, "mx.google.com", "arc", "pass", NULL), NULL);
	expect_props(expect_result(f, 2, "mx.google.com", "spf", "pass", NULL), "smtp.mailfrom",
		"phishing@pot", NULL);
	expect_props(expect_result(f, 3, "mx.google.com", "dmarc", "pass", NULL), "header.from",
		"hotmail.com", NULL);
	assert_int_equal(f->v.items[3].instance, 0);
}

static void authres_microsoft_without_authserv_id(void **state)
{
	fixture *f = *state;
	assert_int_equal(parse(f, "spf=pass (sender IP is 209.85.221.48)\r\n"
				  " smtp.mailfrom=gmail.com; dkim=pass (signature was verified)\r\n"
				  " header.d=gmail.com;dmarc=pass action=none header.from=gmail.com;compauth=pass\r\n"
				  " reason=100",
				 0),
		4);
	expect_props(expect_result(f, 0, NULL, "spf", "pass", NULL), "smtp.mailfrom", "gmail.com",
		NULL);
	expect_props(expect_result(f, 1, NULL, "dkim", "pass", NULL), "header.d", "gmail.com", NULL);
	/* Microsoft's bare "action=" is a property, not a new method. */
	expect_props(expect_result(f, 2, NULL, "dmarc", "pass", NULL), "action", "none",
		"header.from", "gmail.com", NULL);
	expect_props(expect_result(f, 3, NULL, "compauth", "pass", "100"), NULL);
}

static void authres_microsoft_trailing_semicolon_and_empty_value(void **state)
{
	fixture *f = *state;
	assert_int_equal(parse(f, "spf=none (sender IP is 103.139.193.205)\r\n"
				  " smtp.helo=ip103-139-193-205.cloudhost.web.id; dkim=none (message not signed)\r\n"
				  " header.d=none;dmarc=none action=none header.from=;",
				 0),
		3);
	expect_props(expect_result(f, 0, NULL, "spf", "none", NULL), "smtp.helo",
		"ip103-139-193-205.cloudhost.web.id", NULL);
	expect_props(expect_result(f, 1, NULL, "dkim", "none", NULL), "header.d", "none", NULL);
	expect_props(expect_result(f, 2, NULL, "dmarc", "none", NULL), "action", "none",
		"header.from", "", NULL);
}

static void authres_postfix_milters_one_field_each(void **state)
{
	/* Proton's MX: OpenDKIM, OpenDMARC, an SPF policy daemon and ARC each
	 * add their own field; header_index says which one. */
	fixture *f = *state;
	parse(f, "mailin037.protonmail.ch; dkim=pass (2048-bit key)\r\n"
		 " header.d=improvmx-mails.com header.i=@improvmx-mails.com header.b=\"cKqFMLZu\";\r\n"
		 " dkim=fail reason=\"signature verification failed\" (1024-bit key)\r\n"
		 " header.d=pokerheatnews.com header.i=@pokerheatnews.com header.b=\"cvgoKwa3\"",
		0);
	parse(f, "mailin022.protonmail.ch; dmarc=pass (p=none dis=none) header.from=gmail.com", 1);
	parse(f, "mailin012.protonmail.ch; spf=pass smtp.mailfrom=gmail.com", 2);
	assert_int_equal(parse(f, "mailin014.protonmail.ch; arc=none smtp.remote-ip=209.85.219.48", 3),
		5);
	const vigil_auth_result *r = expect_result(f, 0, "mailin037.protonmail.ch", "dkim", "pass", NULL);
	expect_props(r, "header.d", "improvmx-mails.com", "header.i", "@improvmx-mails.com",
		"header.b", "cKqFMLZu", NULL);
	r = expect_result(f, 1, "mailin037.protonmail.ch", "dkim", "fail",
		"signature verification failed");
	expect_props(r, "header.d", "pokerheatnews.com", "header.i", "@pokerheatnews.com", "header.b",
		"cvgoKwa3", NULL);
	assert_int_equal(r->header_index, 0);
	r = expect_result(f, 2, "mailin022.protonmail.ch", "dmarc", "pass", NULL);
	expect_props(r, "header.from", "gmail.com", NULL);
	assert_int_equal(r->header_index, 1);
	r = expect_result(f, 3, "mailin012.protonmail.ch", "spf", "pass", NULL);
	assert_int_equal(r->header_index, 2);
	r = expect_result(f, 4, "mailin014.protonmail.ch", "arc", "none", NULL);
	expect_props(r, "smtp.remote-ip", "209.85.219.48", NULL);
	assert_int_equal(r->header_index, 3);
}

static void authres_synthetic_relay_pass_for_lookalike_domain(void **state)
{
	fixture *f = *state;
	assert_int_equal(parse(f, "mx1.senate.example; spf=pass\r\n"
				  " smtp.mailfrom=emma.dupont@nytimes-news.com; dkim=pass\r\n"
				  " header.d=nytimes-news.com; dmarc=pass header.from=nytimes-news.com",
				 0),
		3);
	expect_props(expect_result(f, 0, "mx1.senate.example", "spf", "pass", NULL), "smtp.mailfrom",
		"emma.dupont@nytimes-news.com", NULL);
	expect_props(expect_result(f, 1, "mx1.senate.example", "dkim", "pass", NULL), "header.d",
		"nytimes-news.com", NULL);
	expect_props(expect_result(f, 2, "mx1.senate.example", "dmarc", "pass", NULL), "header.from",
		"nytimes-news.com", NULL);
}

static void authres_none_adds_nothing(void **state)
{
	fixture *f = *state;
	/* RFC 8601, appendix B.2 and B.3 */
	assert_int_equal(parse(f, "example.org; none", 0), 0);
	assert_int_equal(parse(f, "example.org 1; none", 1), 0);
	assert_int_equal(parse(f, "example.com; none (no checks were run)", 2), 0);
}

static void authres_rfc8601_version_and_method_version(void **state)
{
	fixture *f = *state;
	/* RFC 8601 B.4 style, with a method version ("dkim/1") */
	assert_int_equal(parse(f, "example.com 1;\r\n"
				  "          spf=pass smtp.mailfrom=example.net;\r\n"
				  "          dkim/1=pass header.d=example.net",
				 0),
		2);
	expect_result(f, 0, "example.com", "spf", "pass", NULL);
	expect_props(expect_result(f, 1, "example.com", "dkim", "pass", NULL), "header.d",
		"example.net", NULL);
}

static void authres_quoted_strings_are_unquoted(void **state)
{
	fixture *f = *state;
	/* SpamAssassin's t/data/nice: a quoted local part with escapes */
	assert_int_equal(parse(f, "authrestest6int; dkim=fail (2048-bit key; unprotected)\r\n"
				  " header.d=gmail.com header.i=\" foo bar \\\"xyz\\\"@gmail.com\"\r\n"
				  " header.b=SI+iqkld;",
				 0),
		1);
	expect_props(expect_result(f, 0, "authrestest6int", "dkim", "fail", NULL), "header.d",
		"gmail.com", "header.i", " foo bar \"xyz\"@gmail.com", "header.b", "SI+iqkld", NULL);
}

static void authres_comments_everywhere(void **state)
{
	fixture *f = *state;
	/* SpamAssassin: a comment between "reason" and "=", parentheses and
	 * punctuation inside the quoted reason */
	assert_int_equal(parse(f, "authrestest4int 2; spf=fail reason (BAH) = \"just some (<>.%&! "
				  "reason\" smtp.mailfrom=dogma.slashnull.org",
				 0),
		1);
	expect_props(expect_result(f, 0, "authrestest4int", "spf", "fail", "just some (<>.%&! reason"),
		"smtp.mailfrom", "dogma.slashnull.org", NULL);
	/* a ";" inside a comment does not end the result; a property before
	 * any method has nothing to belong to */
	assert_int_equal(parse(f, "sa-test.spamassassin.org; header.From=test@sa-test.spamassassin.org;"
				  " dkim=pass ( message from spamassassin.org verified; );",
				 1),
		2);
	expect_props(expect_result(f, 1, "sa-test.spamassassin.org", "dkim", "pass", NULL), NULL);
	/* and comments in every gap the grammar has */
	assert_int_equal(parse(f, "(a) mx.example (b) 1 (c) ; (d) SPF (e) = (f) Pass (g) "
				  "smtp.MailFrom (h) = (i) a@b.example (j) ; (k (nested)) dkim=pass",
				 2),
		4);
	expect_props(expect_result(f, 2, "mx.example", "spf", "pass", NULL), "smtp.mailfrom",
		"a@b.example", NULL);
	expect_result(f, 3, "mx.example", "dkim", "pass", NULL);
}

static void authres_reason_with_parentheses_and_policy_comment(void **state)
{
	fixture *f = *state;
	assert_int_equal(parse(f, "mail.highsecure.ru; dmarc=fail reason=\"SPF not aligned (relaxed), "
				  "DKIM not aligned (relaxed)\" header.from=outlook.com (policy=none); spf=pass "
				  "(mail.highsecure.ru: domain of owner-freebsd-test@freebsd.org designates "
				  "96.47.72.81 as permitted sender) smtp.mailfrom=owner-freebsd-test@freebsd.org",
				 0),
		2);
	expect_props(expect_result(f, 0, "mail.highsecure.ru", "dmarc", "fail",
			     "SPF not aligned (relaxed), DKIM not aligned (relaxed)"),
		"header.from", "outlook.com", NULL);
	expect_props(expect_result(f, 1, "mail.highsecure.ru", "spf", "pass", NULL), "smtp.mailfrom",
		"owner-freebsd-test@freebsd.org", NULL);
}

static void authres_values_keep_equals_signs_and_case(void **state)
{
	fixture *f = *state;
	assert_int_equal(parse(f, "mx.google.com; dkim=pass header.i=@srs1.zonevs.eu; spf=pass "
				  "(google.com: best guess record for domain of "
				  "srs0=63fc=v7=kreata.ee=andris@srs1.zonevs.eu designates 217.146.68.191 as "
				  "permitted sender) smtp.mailfrom=SRS0=63fc=V7=kreata.ee=andris@srs1.zonevs.eu; "
				  "dmarc=fail (p=NONE dis=NONE) header.from=kreata.ee",
				 0),
		3);
	expect_props(expect_result(f, 1, "mx.google.com", "spf", "pass", NULL), "smtp.mailfrom",
		"SRS0=63fc=V7=kreata.ee=andris@srs1.zonevs.eu", NULL);
	expect_result(f, 2, "mx.google.com", "dmarc", "fail", NULL);
}

static void authres_missing_semicolon_between_results(void **state)
{
	fixture *f = *state;
	assert_int_equal(parse(f, "fmail.merida.gob.mx; dkim=pass header.i=@amazonses.com dkim=pass "
				  "header.i=@voicemailbox.online; dmarc=pass header.from=voicemailbox.online",
				 0),
		3);
	expect_props(expect_result(f, 0, "fmail.merida.gob.mx", "dkim", "pass", NULL), "header.i",
		"@amazonses.com", NULL);
	expect_props(expect_result(f, 1, "fmail.merida.gob.mx", "dkim", "pass", NULL), "header.i",
		"@voicemailbox.online", NULL);
	expect_result(f, 2, "fmail.merida.gob.mx", "dmarc", "pass", NULL);
}

static void authres_arc_instance_is_exposed(void **state)
{
	fixture *f = *state;
	assert_int_equal(parse(f, "i=2; mx.microsoft.com 1; spf=pass (sender ip is 40.107.22.117)\r\n"
				  " smtp.rcpttodomain=hotmail.com smtp.mailfrom=lovedale.edu.za; dmarc=permerror\r\n"
				  " action=none header.from=lovedale.edu.za; dkim=fail (signature did not verify)\r\n"
				  " header.d=lovedale200.onmicrosoft.com; arc=fail (48)",
				 0),
		4);
	const vigil_auth_result *r = expect_result(f, 0, "mx.microsoft.com", "spf", "pass", NULL);
	expect_props(r, "smtp.rcpttodomain", "hotmail.com", "smtp.mailfrom", "lovedale.edu.za", NULL);
	assert_int_equal(r->instance, 2);
	expect_props(expect_result(f, 1, "mx.microsoft.com", "dmarc", "permerror", NULL), "action",
		"none", "header.from", "lovedale.edu.za", NULL);
	expect_result(f, 2, "mx.microsoft.com", "dkim", "fail", NULL);
	r = expect_result(f, 3, "mx.microsoft.com", "arc", "fail", NULL);
	assert_int_equal(r->instance, 2);
}

static void authres_x_methods_and_upper_case(void **state)
{
	fixture *f = *state;
	assert_int_equal(parse(f, "MX.Example.ORG; SPF=Pass smtp.MailFrom=Bob@Example.ORG "
				  "x-tls=pass version=TLSv1.3; X-Custom=NEUTRAL policy.Foo=Bar",
				 7),
		3);
	/* authserv-id and values as written, names lower case */
	expect_props(expect_result(f, 0, "MX.Example.ORG", "spf", "pass", NULL), "smtp.mailfrom",
		"Bob@Example.ORG", NULL);
	expect_props(expect_result(f, 1, "MX.Example.ORG", "x-tls", "pass", NULL), "version",
		"TLSv1.3", NULL);
	const vigil_auth_result *r = expect_result(f, 2, "MX.Example.ORG", "x-custom", "neutral", NULL);
	expect_props(r, "policy.foo", "Bar", NULL);
	assert_int_equal(r->header_index, 7);
}

static void authres_nested_flag_is_copied(void **state)
{
	fixture *f = *state;
	assert_int_equal(authres__parse(&f->v, f->a, "a.example; spf=pass", 3, 2), 0);
	assert_int_equal(f->v.len, 1);
	assert_int_equal(f->v.items[0].nested, 2);
	assert_int_equal(f->v.items[0].header_index, 3);
}

static void authres_garbage_gives_nothing_or_partial(void **state)
{
	fixture *f = *state;
	static const char *const junk[] = {
		"", " ", ";", ";;;;", "=", "==;==", "/", "(", ")", "\"", "\"unterminated",
		"(unterminated comment; spf=pass", "a.example; =pass", "a.example; spf=", "i=", "i=1",
		"i=1;", "i=x; spf=pass", "\\", "a.example; spf=pass reason=", "a.example; spf/=/pass",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		size_t before = f->v.len;
		assert_int_equal(authres__parse(&f->v, f->a, junk[i], 0, 0), 0);
		for (size_t j = before; j < f->v.len; j++) {
			assert_non_null(f->v.items[j].method);
			assert_non_null(f->v.items[j].result);
			assert_true(f->v.items[j].result[0] != '\0');
		}
	}
	/* NULL is tolerated too */
	assert_int_equal(authres__parse(&f->v, f->a, NULL, 0, 0), 0);
	/* a comment that never closes hides what follows, nothing more */
	size_t before = f->v.len;
	assert_int_equal(authres__parse(&f->v, f->a, "a.example; spf=pass (x; dkim=pass", 0, 0), 0);
	assert_int_equal(f->v.len, before + 1);
	assert_string_equal(f->v.items[before].method, "spf");
}

static void authres_results_stop_at_the_limit(void **state)
{
	fixture *f = *state;
	size_t n = (size_t)VIGIL_MAX_AUTH_RESULTS + 50;
	char *s = malloc(n * 7 + 16);
	assert_non_null(s);
	strcpy(s, "a.example;");
	size_t o = strlen(s);
	for (size_t i = 0; i < n; i++) {
		memcpy(s + o, " spf=ok", 7);
		o += 7;
	}
	s[o] = '\0';
	assert_int_equal(authres__parse(&f->v, f->a, s, 0, 0), 0);
	assert_int_equal(f->v.len, VIGIL_MAX_AUTH_RESULTS);
	/* one below the limit, in a fresh vector: all kept */
	vigil_auth_vec v = {0};
	s[strlen("a.example;") + (VIGIL_MAX_AUTH_RESULTS - 1) * 7] = '\0';
	assert_int_equal(authres__parse(&v, f->a, s, 0, 0), 0);
	assert_int_equal(v.len, VIGIL_MAX_AUTH_RESULTS - 1);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(authres_gmail_four_results_with_comments, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_microsoft_without_authserv_id, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_microsoft_trailing_semicolon_and_empty_value, setup,
			teardown),
		cmocka_unit_test_setup_teardown(authres_postfix_milters_one_field_each, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_synthetic_relay_pass_for_lookalike_domain, setup,
			teardown),
		cmocka_unit_test_setup_teardown(authres_none_adds_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_rfc8601_version_and_method_version, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_quoted_strings_are_unquoted, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_comments_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_reason_with_parentheses_and_policy_comment, setup,
			teardown),
		cmocka_unit_test_setup_teardown(authres_values_keep_equals_signs_and_case, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_missing_semicolon_between_results, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_arc_instance_is_exposed, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_x_methods_and_upper_case, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_nested_flag_is_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_garbage_gives_nothing_or_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(authres_results_stop_at_the_limit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
