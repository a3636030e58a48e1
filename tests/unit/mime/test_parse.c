/* Unit tests for the MIME walk (mime/parse.c): decoding, charsets, nesting,
 * attachments and every limit on both sides of its edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>

#include "vigil_limits.h"
#include "testutil.h"

static test_env *env;

static int setup(void **state)
{
	env = test_env_new();
	return 0;
}

static int teardown(void **state)
{
	test_env_free(env);
	return 0;
}

static bool has_reason(const vigil_message *m, const char *needle)
{
	for (size_t i = 0; i < m->partial_reasons.len; i++)
		if (strstr(m->partial_reasons.items[i], needle))
			return true;
	return false;
}

static void mime_identity_fields_are_extracted(void **state)
{
	vigil_message *m = test_scan(env,
		"Return-Path: <bounce@Mail.Example.NET>\r\n"
		"From: \"Le Monde\" <redaction@LeMonde-Info.example>\r\n"
		"Sender: agent@sender.example\r\n"
		"Reply-To: Desk <desk@other.example>, second@third.example\r\n"
		"To: Marie Martin <marie@parliament.example>, group: a@g.example, b@g.example;\r\n"
		"Cc: cc@parliament.example\r\n"
		"Delivered-To: marie@parliament.example\r\n"
		"Message-ID: <abc.123@Mailer.Example.ORG>\r\n"
		"Date: Mon, 4 Jan 2021 09:51:25 +0100\r\n"
		"Subject: Interview request\r\n"
		"X-Mailer: PHPMailer 6.1\r\n"
		"User-Agent: Thunderbird\r\n"
		"\r\n"
		"Hello\r\n");
	assert_string_equal(m->from.name, "Le Monde");
	assert_string_equal(m->from.address, "redaction@LeMonde-Info.example");
	assert_string_equal(m->from.domain, "lemonde-info.example");
	assert_int_equal(m->from_count, 1);
	assert_string_equal(m->sender.address, "agent@sender.example");
	assert_int_equal(m->reply_to.len, 2);
	assert_string_equal(m->reply_to.items[0].name, "Desk");
	assert_string_equal(m->reply_to.items[1].domain, "third.example");
	assert_string_equal(m->return_path.address, "bounce@Mail.Example.NET");
	assert_string_equal(m->return_path.domain, "mail.example.net");
	assert_int_equal(m->to.len, 3); /* the group's members are flattened */
	assert_string_equal(m->to.items[2].address, "b@g.example");
	assert_int_equal(m->cc.len, 1);
	assert_int_equal(m->delivered_to.len, 1);
	assert_string_equal(m->message_id, "abc.123@Mailer.Example.ORG");
	assert_string_equal(m->message_id_domain, "mailer.example.org");
	assert_int_equal(m->date_time, 1609750285); /* 08:51:25 UTC */
	assert_string_equal(m->subject, "Interview request");
	assert_string_equal(m->x_mailer, "PHPMailer 6.1");
	assert_string_equal(m->user_agent, "Thunderbird");
	assert_false(m->partial);
	vigil_message_free(m);
}

static void mime_rfc2047_headers_are_decoded(void **state)
{
	vigil_message *m = test_scan(env,
		"From: =?UTF-8?B?TGUgTW9uZGUgw6lkaXRpb24=?= <a@example.org>\n"
		"Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?= and =?utf-8?q?na=C3=AFve?=\n"
		"\n"
		"x\n");
	assert_string_equal(m->from.name, "Le Monde \xc3\xa9" "dition");
	assert_string_equal(m->subject, "Caf\xc3\xa9 cr\xc3\xa8me and na\xc3\xafve");
	vigil_message_free(m);
}

static void mime_idn_sender_domain_becomes_a_label(void **state)
{
	vigil_message *m = test_scan(env,
		"From: x@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.example\n\nbody\n");
	assert_non_null(m->from.domain);
	assert_string_equal(m->from.domain, "xn--e1afmkfd.example");
	vigil_message_free(m);
}

static void mime_declared_charset_is_converted_to_utf8(void **state)
{
	vigil_message *m = test_scan(env,
		"From: a@example.org\n"
		"Content-Type: text/plain; charset=iso-8859-1\n"
		"Content-Transfer-Encoding: quoted-printable\n"
		"\n"
		"Caf=E9 d=E9j=E0 vu\n");
	assert_int_equal(m->bodies.len, 1);
	assert_string_equal(m->bodies.items[0].text, "Caf\xc3\xa9 d\xc3\xa9j\xc3\xa0 vu\n");
	assert_string_equal(m->bodies.items[0].charset, "iso-8859-1");
	vigil_message_free(m);
}

static void mime_undeclared_8bit_falls_back_to_windows_1252(void **state)
{
	/* Latin-1 bytes with no charset: invalid UTF-8, so the fallback decodes. */
	vigil_message *m = test_scan(env,
		"From: a@example.org\n"
		"Content-Type: text/plain\n"
		"\n"
		"Caf\xe9 \x80 10\n");
	assert_int_equal(m->bodies.len, 1);
	assert_true(g_utf8_validate(m->bodies.items[0].text, -1, NULL));
	assert_non_null(strstr(m->bodies.items[0].text, "Caf\xc3\xa9"));
	assert_non_null(strstr(m->bodies.items[0].text, "\xe2\x82\xac")); /* euro sign */
	vigil_message_free(m);
}

static void mime_unknown_charset_still_yields_utf8(void **state)
{
	vigil_message *m = test_scan(env,
		"From: a@example.org\n"
		"Content-Type: text/plain; charset=x-no-such-charset\n"
		"\n"
		"plain ascii and \xff\xfe bytes\n");
	assert_int_equal(m->bodies.len, 1);
	assert_true(g_utf8_validate(m->bodies.items[0].text, -1, NULL));
	assert_non_null(strstr(m->bodies.items[0].text, "plain ascii"));
	vigil_message_free(m);
}

/* Converters stay open per scanner (mime/parse.c): one left in a shifted
 * state by a part that fails inside Japanese (an invalid byte after the
 * switch to JIS) must start the next part from ASCII, and more charsets
 * than it keeps open must each still convert. */
static void mime_kept_converters_start_clean_and_rotate(void **state)
{
	vigil_message *m = test_scan(env,
		"From: a@example.org\n"
		"Content-Type: multipart/mixed; boundary=b\n"
		"\n"
		"--b\n"
		"Content-Type: text/plain; charset=iso-2022-jp\n"
		"\n"
		"\x1b$BF|K\\\x80\x80\n"
		"--b\n"
		"Content-Type: text/plain; charset=iso-2022-jp\n"
		"\n"
		"hello!\n"
		"--b--\n");
	assert_int_equal(m->bodies.len, 2);
	assert_true(g_utf8_validate(m->bodies.items[0].text, -1, NULL));
	/* read on in JIS, "hello!" would be three kanji */
	assert_string_equal(m->bodies.items[1].text, "hello!");
	vigil_message_free(m);

	static const struct {
		const char *charset, *in, *out;
	} cases[] = {
		{"iso-8859-1", "caf\xe9", "caf\xc3\xa9"},
		{"iso-8859-2", "\xb3\xf3" "d\xbc", "\xc5\x82\xc3\xb3" "d\xc5\xba"},
		{"iso-8859-5", "\xbc\xd8\xe0", "\xd0\x9c\xd0\xb8\xd1\x80"},
		{"iso-8859-7", "\xe1\xe2", "\xce\xb1\xce\xb2"},
		{"iso-8859-15", "\xa4", "\xe2\x82\xac"},
		{"windows-1250", "\x8a", "\xc5\xa0"},
		{"windows-1251", "\xcc\xe8\xf0", "\xd0\x9c\xd0\xb8\xd1\x80"},
		{"windows-1252", "\x80", "\xe2\x82\xac"},
		{"koi8-r", "\xed\xc9\xd2", "\xd0\x9c\xd0\xb8\xd1\x80"},
		{"iso-8859-1", "na\xefve", "na\xc3\xafve"},
	};
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			char *raw = g_strdup_printf("From: a@example.org\n"
				"Content-Type: text/plain; charset=%s\n\n%s", cases[i].charset, cases[i].in);
			m = test_scan(env, raw);
			g_free(raw);
			assert_int_equal(m->bodies.len, 1);
			if (strcmp(m->bodies.items[0].text, cases[i].out) != 0)
				fail_msg("%s: got \"%s\"", cases[i].charset, m->bodies.items[0].text);
			vigil_message_free(m);
		}
}

static void mime_base64_html_body_is_decoded(void **state)
{
	/* "<p>Hello</p>" */
	vigil_message *m = test_scan(env,
		"From: a@example.org\n"
		"Content-Type: text/html; charset=utf-8\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"PHA+SGVsbG88L3A+\n");
	assert_int_equal(m->bodies.len, 1);
	assert_string_equal(m->bodies.items[0].content_type, "text/html");
	assert_string_equal(m->bodies.items[0].text, "<p>Hello</p>");
	vigil_message_free(m);
}

static void mime_attachment_is_hashed_sniffed_and_named(void **state)
{
	/* The content is a PDF header, declared as an image, named in RFC 2231. */
	vigil_message *m = test_scan(env,
		"From: a@example.org\n"
		"MIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=B\n"
		"\n"
		"--B\n"
		"Content-Type: text/plain\n"
		"\n"
		"see attached\n"
		"--B\n"
		"Content-Type: image/png\n"
		"Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\n"
		"Content-Transfer-Encoding: base64\n"
		"\n"
		"JVBERi0xLjQKJcOkw7zDtsOfCg==\n"
		"--B--\n");
	assert_int_equal(m->attachments.len, 1);
	const vigil_attachment *at = &m->attachments.items[0];
	assert_string_equal(at->filename, "r\xc3\xa9sum\xc3\xa9.pdf");
	assert_string_equal(at->declared_type, "image/png");
	assert_string_equal(at->sniffed_type, "application/pdf");
	assert_string_equal(at->disposition, "attachment");
	assert_int_equal(at->size, 19);
	/* printf '%%PDF-1.4\n%%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f\n' | sha256sum */
	char expect[65];
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(c, (const guchar *)"%PDF-1.4\n%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f\n", 19);
	g_strlcpy(expect, g_checksum_get_string(c), sizeof(expect));
	g_checksum_free(c);
	assert_string_equal(at->sha256, expect);
	assert_int_equal(strlen(at->md5), 32);
	assert_int_equal(strlen(at->sha1), 40);
	assert_int_equal(m->bodies.len, 1);
	vigil_message_free(m);
}

/* The message's SHA-256, of its bytes as given, unless the context was told
 * no one will read it. */
static void mime_message_digest_is_of_the_raw_bytes_and_can_be_turned_off(void **state)
{
	const char *text = "From: a@example.org\nSubject: digest\n\nbody\n";
	char expect[65];
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(c, (const guchar *)text, (gssize)strlen(text));
	g_strlcpy(expect, g_checksum_get_string(c), sizeof(expect));
	g_checksum_free(c);

	vigil_message *m = test_scan(env, text);
	assert_string_equal(m->sha256, expect);
	vigil_message_free(m);

	vigil_ctx_set_message_digest(env->ctx, false);
	m = test_scan(env, text);
	assert_string_equal(m->sha256, "");
	assert_string_equal(m->from.address, "a@example.org"); /* scanned all the same */
	vigil_message_free(m);

	vigil_ctx_set_message_digest(env->ctx, true);
	m = test_scan(env, text);
	assert_string_equal(m->sha256, expect);
	vigil_message_free(m);
}

static void mime_nested_rfc822_artifacts_are_marked_nested(void **state)
{
	vigil_message *m = test_scan(env,
		"From: forwarder@example.org\n"
		"Subject: Fwd: look\n"
		"Content-Type: multipart/mixed; boundary=OUT\n"
		"\n"
		"--OUT\n"
		"Content-Type: text/plain\n"
		"\n"
		"see below\n"
		"--OUT\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"Received: from evil.example (evil.example [192.0.2.7]) by mx.example.org; Mon, 4 Jan 2021 10:00:00 +0000\n"
		"From: \"Reporter\" <reporter@outlet.example>\n"
		"Subject: Inner\n"
		"Message-ID: <inner@outlet.example>\n"
		"Content-Type: text/plain\n"
		"\n"
		"inner body\n"
		"--OUT--\n");
	assert_string_equal(m->from.address, "forwarder@example.org");
	assert_int_equal(m->nested.len, 1);
	assert_int_equal(m->nested.items[0].depth, 1);
	assert_string_equal(m->nested.items[0].from.address, "reporter@outlet.example");
	assert_string_equal(m->nested.items[0].subject, "Inner");
	assert_string_equal(m->nested.items[0].message_id, "inner@outlet.example");
	assert_int_equal(m->bodies.len, 2);
	assert_int_equal(m->bodies.items[0].nested, 0);
	assert_int_equal(m->bodies.items[1].nested, 1);
	assert_int_equal(m->received.len, 1);
	assert_int_equal(m->received.items[0].nested, 1);
	vigil_message_free(m);
}

/* A message whose body is `levels` multiparts nested in one another. */
static char *nested_multiparts(int levels)
{
	GString *s = g_string_new("From: a@example.org\n");
	for (int i = 0; i < levels; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	g_string_append(s, "Content-Type: text/plain\n\nleaf\n");
	for (int i = levels - 1; i >= 0; i--)
		g_string_append_printf(s, "--b%d--\n", i);
	return g_string_free(s, FALSE);
}

static void mime_nesting_at_depth_limit_is_complete(void **state)
{
	char *text = nested_multiparts(VIGIL_MAX_MIME_DEPTH);
	vigil_message *m = test_scan(env, text);
	assert_false(has_reason(m, "nesting deeper"));
	assert_int_equal(m->bodies.len, 1);
	vigil_message_free(m);
	g_free(text);
}

static void mime_nesting_past_depth_limit_is_partial(void **state)
{
	char *text = nested_multiparts(VIGIL_MAX_MIME_DEPTH + 1);
	vigil_message *m = test_scan(env, text);
	assert_true(m->partial);
	assert_true(has_reason(m, "nesting"));
	assert_int_equal(m->bodies.len, 0);
	vigil_message_free(m);
	g_free(text);
}

/* A multipart with `n` leaf parts (n + 1 parts in all with the container). */
static char *many_parts(int n)
{
	GString *s = g_string_new("From: a@example.org\nContent-Type: multipart/mixed; boundary=P\n\n");
	for (int i = 0; i < n; i++)
		g_string_append_printf(s, "--P\nContent-Type: application/octet-stream\n\n%d\n", i);
	g_string_append(s, "--P--\n");
	return g_string_free(s, FALSE);
}

static void mime_part_count_at_limit_is_complete(void **state)
{
	char *text = many_parts(VIGIL_MAX_MIME_PARTS - 1);
	vigil_message *m = test_scan(env, text);
	assert_false(m->partial);
	assert_int_equal(m->n_parts, VIGIL_MAX_MIME_PARTS);
	assert_int_equal(m->attachments.len, VIGIL_MAX_MIME_PARTS - 1);
	vigil_message_free(m);
	g_free(text);
}

static void mime_part_count_past_limit_is_partial(void **state)
{
	char *text = many_parts(VIGIL_MAX_MIME_PARTS);
	vigil_message *m = test_scan(env, text);
	assert_true(m->partial);
	assert_true(has_reason(m, "MIME parts"));
	assert_int_equal(m->n_parts, VIGIL_MAX_MIME_PARTS);
	vigil_message_free(m);
	g_free(text);
}

static char *big_headers(size_t header_bytes)
{
	GString *s = g_string_new("From: a@example.org\n");
	while (s->len + 40 < header_bytes)
		g_string_append(s, "X-Filler: 0123456789012345678901234\n");
	while (s->len < header_bytes - 1)
		g_string_append_c(s, 'X');
	g_string_truncate(s, header_bytes - 1);
	/* replace the X run by a valid last field ending in a newline */
	g_string_append_c(s, '\n');
	g_string_append(s, "\nbody http://after.example/\n");
	return g_string_free(s, FALSE);
}

static void mime_header_block_at_limit_is_complete(void **state)
{
	char *text = big_headers(VIGIL_MAX_HEADER_BYTES);
	vigil_message *m = test_scan(env, text);
	assert_false(has_reason(m, "header block"));
	assert_string_equal(m->from.address, "a@example.org");
	vigil_message_free(m);
	g_free(text);
}

static void mime_header_block_past_limit_is_cut_and_partial(void **state)
{
	char *text = big_headers(VIGIL_MAX_HEADER_BYTES + 4096);
	vigil_message *m = test_scan(env, text);
	assert_true(has_reason(m, "header block"));
	assert_string_equal(m->from.address, "a@example.org");
	assert_int_equal(m->bodies.len, 1); /* the body survives the cut */
	vigil_message_free(m);
	g_free(text);
}

static void mime_truncated_source_message_is_partial(void **state)
{
	const char *text = "From: a@example.org\n\nbody\n";
	vigil_raw_message raw = {.data = text, .len = strlen(text), .path = "x", .offset = 42,
		.truncated = true};
	vigil_message *m = NULL;
	assert_int_equal(vigil_scan(&m, env->sc, &raw), 0);
	assert_true(has_reason(m, "larger than"));
	assert_int_equal(m->offset, 42);
	assert_string_equal(m->path, "x");
	vigil_message_free(m);
}

static void mime_garbage_is_partial_not_an_error(void **state)
{
	static const char *inputs[] = {
		"", "\n", "\r\n\r\n", "no colon here at all", "\x00\x01\x02",
		"Content-Type: multipart/mixed\n\n--\n--\n",
		"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\n----\n",
		"From: <<<@@@>>>\nTo: ,,,,\nDate: yesterday\n\n",
		"Content-Transfer-Encoding: base64\n\n!!!!****====\n",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		vigil_message *m = test_scan(env, inputs[i]);
		assert_non_null(m);
		vigil_message_free(m);
	}
}

static void mime_date_is_parsed_and_bad_date_is_none(void **state)
{
	vigil_message *m = test_scan(env, "Date: not a date\nFrom: a@b.example\n\nx\n");
	assert_int_equal(m->date_time, VIGIL_NO_TIME);
	assert_string_equal(m->date, "not a date");
	vigil_message_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mime_identity_fields_are_extracted),
		cmocka_unit_test(mime_rfc2047_headers_are_decoded),
		cmocka_unit_test(mime_idn_sender_domain_becomes_a_label),
		cmocka_unit_test(mime_declared_charset_is_converted_to_utf8),
		cmocka_unit_test(mime_undeclared_8bit_falls_back_to_windows_1252),
		cmocka_unit_test(mime_unknown_charset_still_yields_utf8),
		cmocka_unit_test(mime_kept_converters_start_clean_and_rotate),
		cmocka_unit_test(mime_base64_html_body_is_decoded),
		cmocka_unit_test(mime_attachment_is_hashed_sniffed_and_named),
		cmocka_unit_test(mime_nested_rfc822_artifacts_are_marked_nested),
		cmocka_unit_test(mime_nesting_at_depth_limit_is_complete),
		cmocka_unit_test(mime_nesting_past_depth_limit_is_partial),
		cmocka_unit_test(mime_part_count_at_limit_is_complete),
		cmocka_unit_test(mime_part_count_past_limit_is_partial),
		cmocka_unit_test(mime_header_block_at_limit_is_complete),
		cmocka_unit_test(mime_header_block_past_limit_is_cut_and_partial),
		cmocka_unit_test(mime_truncated_source_message_is_partial),
		cmocka_unit_test(mime_garbage_is_partial_not_an_error),
		cmocka_unit_test(mime_date_is_parsed_and_bad_date_is_none),
		cmocka_unit_test(mime_message_digest_is_of_the_raw_bytes_and_can_be_turned_off),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
