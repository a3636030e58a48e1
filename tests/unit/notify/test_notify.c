/*
 * Unit tests for src/lib/notify: templates (placeholders checked with
 * FILE:LINE, the header block, escapes) and the message builder on
 * hand-written campaign documents (RFC 5322 shape, encodings, opened or
 * not, nothing of the tracker in clear, header injection, wrapping).
 * Sending is tested against a real Postfix in tests/e2e/cli_notify.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "notify/notify.h"
#include "testutil.h"
#include "vigil/vigil.h"
#include "vigil_limits.h"

#define FROM "Security team <security@parliament.example>"

/* One campaign: two targets, marie opened (exact), paul did not; the lure's
 * subject carries a URL on the tracker host and a right-to-left override;
 * marie's opens are listed out of order, with a probable one before. */
static const char campaign[] =
	"{\"id\": 7, \"uuid\": \"5b0c1f0e-1111-4222-8333-944455556666\","
	" \"name\": \"px.track-a.example / lequotidien-press.example\","
	" \"trackers\": {\"hosts\": [\"px.track-a.example\"],"
	"   \"url_templates\": [\"http://px.track-a.example/o/{t}.gif\"]},"
	" \"impersonates\": [\"Le Quotidien\"],"
	" \"messages\": ["
	"  {\"message_id\": \"a1@lequotidien-press.example\", \"date\": \"2021-01-12T08:14:01Z\","
	"   \"from\": \"anna.keller@lequotidien-press.example\","
	"   \"from_name\": \"Anna Keller | Le Quotidien\","
	"   \"subject\": \"Votre avis \\u2013 see http://px.track-a.example/o/x.gif \\u202etxt.exe\","
	"   \"recipients\": [\"marie.martin@parliament.example\"],"
	"   \"tracker_urls\": [\"http://px.track-a.example/o/d7796aa.gif\"]},"
	"  {\"message_id\": \"a2@lequotidien-press.example\", \"date\": \"2021-01-13T09:00:00Z\","
	"   \"from\": \"anna.keller@lequotidien-press.example\", \"from_name\": null,"
	"   \"subject\": \"Relance\","
	"   \"recipients\": [\"marie.martin@parliament.example\", \"paul.weber@parliament.example\","
	"     \"ines.costa@parliament.example\"],"
	"   \"tracker_urls\": [\"http://px.track-a.example/o/e8807bb.gif\"]}],"
	" \"targets\": ["
	"  {\"address\": \"marie.martin@parliament.example\", \"name\": \"Marie Martin\","
	"   \"messages\": 2, \"first_received\": \"2021-01-12T08:14:01Z\", \"opened\": true,"
	"   \"first_open\": \"2021-01-12T13:34:17Z\", \"opens\": 2, \"notified\": null},"
	"  {\"address\": \"paul.weber@parliament.example\","
	"   \"name\": \"Paul\\r\\nBcc: victim@example.org\","
	"   \"messages\": 1, \"first_received\": \"2021-01-13T09:00:00Z\", \"opened\": false,"
	"   \"first_open\": null, \"opens\": 0, \"notified\": null},"
	"  {\"address\": \"ines.costa@parliament.example\", \"name\": null,"
	"   \"messages\": 1, \"first_received\": \"2021-01-13T09:00:00Z\", \"opened\": true,"
	"   \"first_open\": \"2021-01-14T07:00:00Z\", \"opens\": 1, \"notified\": null}],"
	" \"opens\": ["
	"  {\"recipient\": \"ines.costa@parliament.example\", \"time\": \"2021-01-14T07:00:00Z\","
	"   \"client_ip\": \"10.0.0.7\", \"confidence\": \"probable\", \"kind\": \"http\"},"
	"  {\"recipient\": \"marie.martin@parliament.example\", \"time\": \"2021-01-12T12:00:00Z\","
	"   \"client_ip\": \"10.0.0.5\", \"confidence\": \"probable\", \"kind\": \"dns\"},"
	"  {\"recipient\": \"marie.martin@parliament.example\", \"time\": \"2021-01-12T15:00:00Z\","
	"   \"client_ip\": \"10.0.0.99\", \"confidence\": \"exact\"},"
	"  {\"recipient\": \"marie.martin@parliament.example\", \"time\": \"2021-01-12T13:34:17Z\","
	"   \"client_ip\": \"10.20.3.225\", \"confidence\": \"exact\"}]}";

/* The text with each run of white space as one space. Caller frees. */
static char *flat(const char *s)
{
	GString *g = g_string_new(NULL);
	for (; *s; s++)
		if (!g_ascii_isspace(*s))
			g_string_append_c(g, *s);
		else if (g->len && g->str[g->len - 1] != ' ')
			g_string_append_c(g, ' ');
	return g_string_free(g, FALSE);
}

static char *write_temp(const char *text)
{
	char *path = g_strdup("/tmp/vigil-notify-test-XXXXXX");
	int fd = g_mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int load_text(vigil_notify_template **t, const char *text, char *err, size_t size)
{
	char *path = write_temp(text);
	int rc = vigil_notify_template_load(t, path, err, size);
	g_unlink(path);
	g_free(path);
	return rc;
}

static vigil_notification *build(const char *address, vigil_notify_template *t, int *rc_out)
{
	vigil_notify_options opt = {.from = FROM, .now = 1700000000};
	vigil_notification *n = NULL;
	char err[512];
	int rc = vigil_notify_build(&n, t, campaign, address, &opt, err, sizeof(err));
	if (rc_out)
		*rc_out = rc;
	else if (rc)
		fail_msg("build: %s", err);
	return n;
}

static void template_unknown_placeholder_is_refused_with_file_line(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	char err[512];
	char *path = write_temp("# comment\nSubject: Hello {name}\n\nDear {name},\n\n{recieved}\n");
	assert_int_equal(vigil_notify_template_load(&t, path, err, sizeof(err)), VIGIL_ECONFIG);
	assert_null(t);
	char *want = g_strdup_printf("%s:6: unknown placeholder {recieved}", path);
	assert_non_null(strstr(err, want));
	g_free(want);
	g_unlink(path);
	g_free(path);
	/* in the Subject, with its own line number */
	assert_int_equal(load_text(&t, "Subject: {subjet}\n\nbody\n", err, sizeof(err)), VIGIL_ECONFIG);
	assert_non_null(strstr(err, ":1: unknown placeholder {subjet}"));
	/* case matters: {Name} is not {name} */
	assert_int_equal(load_text(&t, "Subject: x\n\n{Name}\n", err, sizeof(err)), VIGIL_ECONFIG);
}

static void template_needs_a_subject_line_and_a_body(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(load_text(&t, "Dear {name},\n", err, sizeof(err)), VIGIL_ECONFIG);
	assert_non_null(strstr(err, ":1: a template starts with"));
	assert_int_equal(load_text(&t, "Subject: x\nReply-To: a@b.example\n\nbody\n", err,
				 sizeof(err)), VIGIL_ECONFIG);
	assert_non_null(strstr(err, ":2: only a Subject: line"));
	assert_int_equal(load_text(&t, "Subject: x\n\n\n\n", err, sizeof(err)), VIGIL_ECONFIG);
	assert_int_equal(load_text(&t, "Subject: x\n", err, sizeof(err)), VIGIL_ECONFIG);
	assert_int_equal(load_text(&t, "Subject: x\n\n\xff\xfe body\n", err, sizeof(err)),
		VIGIL_ECONFIG);
	assert_non_null(strstr(err, "not UTF-8"));
	assert_int_equal(vigil_notify_template_load(&t, "/nonexistent/t.txt", err, sizeof(err)),
		VIGIL_EIO);
}

static void template_over_the_size_limit_is_refused(void **state)
{
	(void)state;
	GString *g = g_string_new("Subject: x\n\n");
	while (g->len <= VIGIL_MAX_TEMPLATE_BYTES)
		g_string_append(g, "a line of text that goes on\n");
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(load_text(&t, g->str, err, sizeof(err)), VIGIL_ECONFIG);
	g_string_truncate(g, VIGIL_MAX_TEMPLATE_BYTES - 1);
	assert_int_equal(load_text(&t, g->str, err, sizeof(err)), 0);
	vigil_notify_template_free(t);
	g_string_free(g, TRUE);
}

static void template_braces_escape_and_crlf(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(load_text(&t,
				 "Subject: For {name}\r\n\r\nDear {name}, {{name}} stays; { not} and {} too.\r\n",
				 err, sizeof(err)),
		0);
	vigil_notification *n = build("paul.weber@parliament.example", t, NULL);
	assert_string_equal(n->body, "Dear Paul Bcc: victim@example[.]org, {name}} stays; { not} and {} too.\n");
	vigil_notification_free(n);
	vigil_notify_template_free(t);
}

static void default_template_loads(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(vigil_notify_template_load(&t, NULL, err, sizeof(err)), 0);
	vigil_notify_template_free(t);
}

static void message_is_rfc5322_with_crlf_and_utf8(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	assert_int_equal(vigil_notify_template_load(&t, NULL, NULL, 0), 0);
	vigil_notification *n = build("marie.martin@parliament.example", t, NULL);
	const char *raw = n->raw;
	assert_int_equal(strlen(raw), n->raw_len);
	for (size_t i = 0; i < n->raw_len; i++) {
		if (raw[i] == '\n')
			assert_true(i > 0 && raw[i - 1] == '\r'); /* no bare LF */
		assert_true((unsigned char)raw[i] < 0x80);     /* encoded: 7-bit clean */
	}
	assert_true(g_str_has_prefix(raw, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(strstr(raw, "From: Security team <security@parliament.example>\r\n"));
	assert_non_null(strstr(raw, "To: Marie Martin <marie.martin@parliament.example>\r\n"));
	assert_non_null(strstr(raw, "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(raw, "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(raw, "Content-Transfer-Encoding: quoted-printable\r\n"));
	assert_non_null(strstr(raw, "Auto-Submitted: auto-generated\r\n"));
	char *mid = g_strdup_printf("Message-Id: <%s>\r\n", n->message_id);
	assert_non_null(strstr(raw, mid));
	g_free(mid);
	assert_true(g_str_has_suffix(n->message_id, "@parliament.example"));
	assert_non_null(strstr(raw, "\r\n\r\n")); /* headers end */
	/* the same target gets the same Message-ID; another one another */
	vigil_notification *again = build("marie.martin@parliament.example", t, NULL);
	vigil_notification *paul = build("paul.weber@parliament.example", t, NULL);
	assert_string_equal(n->message_id, again->message_id);
	assert_string_not_equal(n->message_id, paul->message_id);
	vigil_notification_free(again);
	vigil_notification_free(paul);
	vigil_notification_free(n);
	vigil_notify_template_free(t);
}

static void non_ascii_subject_is_rfc2047_encoded(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(load_text(&t, "Subject: Avis de sécurité: {subject}\n\nBonjour {name}.\n",
				 err, sizeof(err)), 0);
	vigil_notification *n = build("marie.martin@parliament.example", t, NULL);
	/* GMime encodes the words that need it (RFC 2047 allows it) */
	assert_non_null(strstr(n->raw, "Subject: Avis de =?UTF-8?B?c8OpY3VyaXTDqTog"));
	assert_non_null(strstr(n->subject, "Avis de sécurité: Votre avis – see hxxp://"));
	/* short ASCII body: 7bit, as it is */
	assert_non_null(strstr(n->raw, "Content-Transfer-Encoding: 7bit\r\n"));
	assert_non_null(strstr(n->raw, "\r\n\r\nBonjour Marie Martin.\r\n"));
	vigil_notification_free(n);
	vigil_notify_template_free(t);
}

static void tracker_never_in_clear(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	assert_int_equal(vigil_notify_template_load(&t, NULL, NULL, 0), 0);
	vigil_notification *n = build("marie.martin@parliament.example", t, NULL);
	char *low = g_ascii_strdown(n->raw, -1);
	assert_null(strstr(low, "px.track-a.example"));
	assert_null(strstr(low, "http://"));
	assert_null(strstr(low, "d7796aa"));
	g_free(low);
	/* the subject's URL defanged, the override shown, the host in words */
	assert_non_null(strstr(n->body, "hxxp://px[.]track-a[.]example/o/x[.]gif"));
	assert_non_null(strstr(n->body, "[U+202E]txt[.]exe"));
	assert_non_null(strstr(n->body, "px[.]track-a[.]example, whose address carries a code"));
	assert_null(strstr(n->body, "\xe2\x80\xae")); /* U+202E itself */
	vigil_notification_free(n);
	vigil_notify_template_free(t);
	/* a template that names the host is refused */
	char err[512];
	assert_int_equal(load_text(&t, "Subject: x\n\nBlock PX.track-a.example now, {name}.\n", err,
				 sizeof(err)), 0);
	int rc;
	assert_null(build("marie.martin@parliament.example", t, &rc));
	assert_int_equal(rc, VIGIL_ECONFIG);
	vigil_notify_template_free(t);
	vigil_notify_template_free(NULL);
}

static void opened_or_not_in_words(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(load_text(&t,
				 "Subject: x\n\n{opened}|{first_open}|{open_address}|{messages}\n"
				 "{opened_sentence}\n{more_messages}\n",
				 err, sizeof(err)), 0);
	vigil_notification *m = build("marie.martin@parliament.example", t, NULL);
	/* the earliest exact open: not the first listed, nor an earlier probable one */
	assert_true(g_str_has_prefix(m->body,
		"yes|Tuesday 12 January 2021 at 13:34 UTC|10.20.3.225|2\nYes. Its hidden image was "
		"fetched on Tuesday 12 January 2021 at 13:34 UTC,\nfrom the network address "
		"10.20.3.225: "));
	char *f = flat(m->body);
	assert_non_null(strstr(f, "It was fetched 2 times in all."));
	assert_non_null(strstr(m->body, "You received 2 messages of this campaign in all:\n"
					"  - Tuesday 12 January 2021 at 08:14 UTC, from Anna Keller"));
	assert_non_null(strstr(f, "- Wednesday 13 January 2021 at 09:00 UTC, from "
				  "anna.keller[@]lequotidien-press[.]example: Relance"));
	g_free(f);
	vigil_notification *p = build("paul.weber@parliament.example", t, NULL);
	assert_true(g_str_has_prefix(p->body, "no|||1\nWe found no sign that it was opened"));
	/* opened, but only through the client address: said as probable */
	vigil_notification *i = build("ines.costa@parliament.example", t, NULL);
	assert_true(g_str_has_prefix(i->body, "yes|Thursday 14 January 2021 at 07:00 UTC|10.0.0.7|1\n"
					      "Probably. The campaign's tracker was contacted"));
	vigil_notification_free(i);
	vigil_notification_free(m);
	vigil_notification_free(p);
	vigil_notify_template_free(t);
}

static void without_a_name_the_address_as_it_is(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(load_text(&t, "Subject: x\n\nDear {name},\n", err, sizeof(err)), 0);
	vigil_notification *n = build("ines.costa@parliament.example", t, NULL);
	assert_string_equal(n->body, "Dear ines.costa@parliament.example,\n");
	assert_null(n->to_name);
	assert_non_null(strstr(n->raw, "\r\nTo: ines.costa@parliament.example\r\n"));
	vigil_notification_free(n);
	vigil_notify_template_free(t);
}

static void header_injection_through_a_name_is_harmless(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(load_text(&t, "Subject: For {name}\n\n{name}\n", err, sizeof(err)), 0);
	vigil_notification *n = build("paul.weber@parliament.example", t, NULL);
	/* no line of the headers starts with Bcc: the CR LF became spaces */
	assert_null(strstr(n->raw, "\r\nBcc:"));
	assert_null(strstr(n->subject, "\n"));
	assert_non_null(strstr(n->subject, "Paul Bcc: victim@example[.]org"));
	vigil_notification_free(n);
	vigil_notify_template_free(t);
}

static void long_lines_are_wrapped_with_a_hanging_indent(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(load_text(&t,
				 "Subject: x\n\n  - {opened_sentence}\n  Subject:  {subject} {subject} {subject}\n"
				 "Signature line one\nline two\n",
				 err, sizeof(err)), 0);
	vigil_notification *n = build("paul.weber@parliament.example", t, NULL);
	gchar **lines = g_strsplit(n->body, "\n", -1);
	for (gchar **l = lines; *l; l++)
		assert_true(g_utf8_strlen(*l, -1) <= 76);
	assert_true(g_str_has_prefix(lines[0], "  - We found no sign"));
	assert_true(g_str_has_prefix(lines[1], "    ")); /* under the item's text */
	g_strfreev(lines);
	assert_non_null(strstr(n->body, "\nSignature line one\nline two\n")); /* not joined */
	assert_non_null(strstr(n->body, "  Subject:  Relance Relance Relance\n"));
	vigil_notification_free(n);
	vigil_notify_template_free(t);
}

static void long_attacker_text_is_cut(void **state)
{
	(void)state;
	GString *doc = g_string_new("{\"id\": 1, \"messages\": [{\"subject\": \"");
	for (int i = 0; i < 5000; i++)
		g_string_append(doc, "\\u00e9"); /* é */
	g_string_append(doc, "\", \"recipients\": [\"a@b.example\"]}],"
			     " \"targets\": [{\"address\": \"a@b.example\", \"name\": \" \\r\\n \"}]}");
	vigil_notify_template *t = NULL;
	char err[512];
	assert_int_equal(load_text(&t, "Subject: x\n\n{name}|{subject}\n", err, sizeof(err)), 0);
	vigil_notify_options opt = {.from = FROM, .now = 0};
	vigil_notification *n = NULL;
	assert_int_equal(vigil_notify_build(&n, t, doc->str, "a@b.example", &opt, err, sizeof(err)), 0);
	/* a name of only white space is no name; the subject stops at 200 */
	char *f = g_strchomp(flat(n->body));
	assert_true(g_str_has_prefix(f, "a@b.example|"));
	assert_int_equal(g_utf8_strlen(strchr(f, '|') + 1, -1), VIGIL_NOTIFY_MAX_SHOWN + 3);
	assert_true(g_str_has_suffix(f, "\xc3\xa9..."));
	assert_null(n->to_name);
	g_free(f);
	vigil_notification_free(n);
	vigil_notify_template_free(t);
	g_string_free(doc, TRUE);
}

static void bad_arguments(void **state)
{
	(void)state;
	vigil_notify_template *t = NULL;
	assert_int_equal(vigil_notify_template_load(&t, NULL, NULL, 0), 0);
	int rc;
	assert_null(build("nobody@parliament.example", t, &rc));
	assert_int_equal(rc, VIGIL_EINVAL);
	vigil_notify_options opt = {.from = "not an address", .now = 0};
	vigil_notification *n = NULL;
	char err[256];
	assert_int_equal(vigil_notify_build(&n, t, campaign, "paul.weber@parliament.example", &opt, err,
				 sizeof(err)), VIGIL_EINVAL);
	assert_non_null(strstr(err, "--from"));
	opt.from = FROM;
	assert_int_equal(vigil_notify_build(&n, t, "[1, 2]", "paul.weber@parliament.example", &opt, err,
				 sizeof(err)), VIGIL_EPARSE);
	assert_int_equal(vigil_notify_build(&n, t, "{", "paul.weber@parliament.example", &opt, err,
				 sizeof(err)), VIGIL_EPARSE);
	assert_null(n);
	/* an array holding one document is fine */
	char *arr = g_strdup_printf("[%s]", campaign);
	assert_int_equal(vigil_notify_build(&n, t, arr, "paul.weber@parliament.example", &opt, err,
				 sizeof(err)), 0);
	g_free(arr);
	vigil_notification_free(n);
	vigil_notification_free(NULL);
	vigil_notify_template_free(t);
}

static void addresses_smtp_can_carry(void **state)
{
	(void)state;
	assert_true(notify__address_ok("a.b@c.example"));
	assert_false(notify__address_ok("a b@c.example"));
	assert_false(notify__address_ok("a@b@c.example"));
	assert_false(notify__address_ok("@c.example"));
	assert_false(notify__address_ok("a@"));
	assert_false(notify__address_ok("a@c.example>\r\nRCPT TO:<x@y.example"));
	assert_false(notify__address_ok("léa@c.example")); /* would need SMTPUTF8 */
	assert_false(notify__address_ok(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(template_unknown_placeholder_is_refused_with_file_line),
		cmocka_unit_test(template_needs_a_subject_line_and_a_body),
		cmocka_unit_test(template_over_the_size_limit_is_refused),
		cmocka_unit_test(template_braces_escape_and_crlf),
		cmocka_unit_test(default_template_loads),
		cmocka_unit_test(message_is_rfc5322_with_crlf_and_utf8),
		cmocka_unit_test(non_ascii_subject_is_rfc2047_encoded),
		cmocka_unit_test(tracker_never_in_clear),
		cmocka_unit_test(opened_or_not_in_words),
		cmocka_unit_test(without_a_name_the_address_as_it_is),
		cmocka_unit_test(header_injection_through_a_name_is_harmless),
		cmocka_unit_test(long_lines_are_wrapped_with_a_hanging_indent),
		cmocka_unit_test(long_attacker_text_is_cut),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(addresses_smtp_can_carry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
