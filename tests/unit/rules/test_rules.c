/* Unit tests for YARA rules (rules/rules.c): rule files and directories are
 * compiled once, run on decoded bodies and attachments, and each match is a
 * malicious finding with the rule's namespace and tags. Messages go through
 * the whole pipeline; rule files are in tests/data/rules/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "detect/detect.h"
#include "rules/rules.h"
#include "testutil.h"

/* The marker of attachment.yar travels base64-encoded in this attachment;
 * the credential form of html.yara quoted-printable ("=3D") in the body. */
#define MARKER "VIGIL-TEST-DROPPER-7f3a"

static const char *const msg_attachment =
	"From: Accounts <billing@supplier.example>\r\n"
	"To: Marie Martin <marie.martin@parliament.example>\r\n"
	"Subject: Invoice 2021-0113\r\n"
	"Message-ID: <inv-0113@supplier.example>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	"\r\n"
	"--b1\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"Please find the invoice attached.\r\n"
	"--b1\r\n"
	"Content-Type: application/pdf; name=\"invoice.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"JVBERi0xLjQKMSAwIG9iaiA8PCAvVHlwZSAvQ2F0YWxvZyA+PiBlbmRvYmoKJSBWSUdJTC1URVNU\r\n"
	"LURST1BQRVItN2YzYQoAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkq\r\n"
	"KywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJj\r\n"
	"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlJWWl5iZmpuc\r\n"
	"nZ6foKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr/AwcLDxMXGx8jJysvMzc7P0NHS09TV\r\n"
	"1tfY2drb3N3e3+Dh4uPk5ebn6Onq6+zt7u/w8fLz9PX29/j5+vv8/f7/CiUlRU9GCg==\r\n"
	"--b1--\r\n";

static const char *const msg_html =
	"From: IT Service Desk <it@parliament-secure.example>\r\n"
	"To: Marie Martin <marie.martin@parliament.example>\r\n"
	"Subject: Your mailbox is full\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"<html><body><p>Sign in to keep your mail.</p>\r\n"
	"<form action=3D\"https://login.parliament-secure.example/owa\" method=3D\"post\">=\r\n"
	"<input name=3D\"password\" type=3D\"password\"></form></body></html>\r\n";

static const char *const msg_clean =
	"From: Paul Durand <paul.durand@parliament.example>\r\n"
	"To: Marie Martin <marie.martin@parliament.example>\r\n"
	"Subject: Lunch\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"\r\n"
	"Lunch at noon? The form is on your desk.\r\n";

/* A context with the given rule paths loaded and compiled, and a scanner.
 * Fails the test when they do not compile. */
static test_env *env_with_rules(const char *const *rel, size_t n)
{
	test_env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(vigil_ctx_new(&e->ctx), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(vigil_ctx_load_rules(e->ctx, test_path(rel[i])), 0);
	int rc = vigil_ctx_ready(e->ctx);
	if (rc)
		fail_msg("rules did not compile: %s", vigil_ctx_error(e->ctx));
	assert_int_equal(vigil_scanner_new(&e->sc, e->ctx), 0);
	return e;
}

static test_env *env_with_rule(const char *rel)
{
	return env_with_rules(&rel, 1);
}

/* The finding `id`, or NULL. */
static const vigil_finding *find(const vigil_message *m, const char *id)
{
	for (size_t i = 0; i < m->findings.len; i++)
		if (strcmp(m->findings.items[i].id, id) == 0)
			return &m->findings.items[i];
	return NULL;
}

static size_t count_detector(const vigil_message *m, const char *detector)
{
	size_t n = 0;
	for (size_t i = 0; i < m->findings.len; i++)
		n += strcmp(m->findings.items[i].detector, detector) == 0;
	return n;
}

static bool has_partial_reason(const vigil_message *m, const char *part)
{
	for (size_t i = 0; i < m->partial_reasons.len; i++)
		if (strstr(m->partial_reasons.items[i], part))
			return true;
	return false;
}

static void rules_match_decoded_attachment(void **state)
{
	(void)state;
	/* Raw-byte YARA could not see it: the marker is only in the decoded
	 * attachment. */
	assert_null(strstr(msg_attachment, MARKER));
	test_env *e = env_with_rule("tests/data/rules/attachment.yar");
	vigil_message *m = test_scan(e, msg_attachment);
	const vigil_finding *f = find(m, "rules.attachment.invoice-dropper");
	assert_non_null(f);
	assert_string_equal(f->detector, "rules");
	assert_string_equal(f->artifact, "attachment");
	assert_non_null(strstr(f->reason, "attachment \"invoice.pdf\""));
	assert_false(m->partial);
	vigil_message_free(m);
	test_env_free(e);
}

static void rules_match_html_body(void **state)
{
	(void)state;
	assert_null(strstr(msg_html, "<form action=\"https://login."));
	test_env *e = env_with_rule("tests/data/rules/html.yara");
	vigil_message *m = test_scan(e, msg_html);
	const vigil_finding *f = find(m, "rules.html.credential-form");
	assert_non_null(f);
	assert_string_equal(f->artifact, "body");
	assert_string_equal(f->value, "html:Credential_Form [phish]");
	assert_non_null(strstr(f->reason, "HTML body (part 0)"));
	vigil_message_free(m);
	test_env_free(e);
}

static void rules_tags_and_namespace_in_finding(void **state)
{
	(void)state;
	test_env *e = env_with_rule("tests/data/rules/attachment.yar");
	vigil_message *m = test_scan(e, msg_attachment);
	const vigil_finding *f = find(m, "rules.attachment.invoice-dropper");
	assert_non_null(f);
	/* The namespace is the file name; the rule keeps its spelling in the
	 * value, the id is lower-cased for weights. */
	assert_string_equal(f->value, "attachment:Invoice_Dropper [maldoc,apt31]");
	assert_non_null(strstr(f->reason, "YARA rule attachment:Invoice_Dropper"));
	assert_non_null(strstr(f->reason, "tags: maldoc, apt31"));
	assert_int_equal(f->cls, VIGIL_CLASS_MALICIOUS);
	assert_int_equal(f->score, 100);
	vigil_message_free(m);
	test_env_free(e);
}

static void rules_bad_file_is_refused_with_compiler_message(void **state)
{
	(void)state;
	vigil_ctx *ctx;
	assert_int_equal(vigil_ctx_new(&ctx), 0);
	assert_int_equal(vigil_ctx_load_rules(ctx, test_path("tests/data/rules/bad/syntax.yar")), 0);
	assert_int_equal(vigil_ctx_ready(ctx), VIGIL_ECONFIG);
	/* The error comes first, as FILE:LINE: and YARA's own words (the line
	 * is where YARA's parser noticed: the end of the condition). */
	const char *err = vigil_ctx_error(ctx);
	const char *file = strstr(err, "tests/data/rules/bad/syntax.yar:");
	assert_non_null(file);
	assert_ptr_equal(strchr(err, '\n') ? strchr(err, '\n') : err + strlen(err),
		strchr(file, '\n') ? strchr(file, '\n') : file + strlen(file));
	unsigned line = 0;
	char rest[256] = "";
	assert_int_equal(sscanf(strchr(file, ':') + 1, "%u: %255[^\n]", &line, rest), 2);
	assert_true(line >= 7 && line <= 9);
	assert_non_null(strstr(rest, "\"$b\""));
	/* Its warning (a one-byte string is slow) follows on a line of its own. */
	assert_non_null(strchr(err, '\n'));
	assert_non_null(strstr(strchr(err, '\n'), "/tests/data/rules/bad/syntax.yar:6: warning: "));
	vigil_ctx_free(ctx);
}

static void rules_missing_path_is_refused(void **state)
{
	(void)state;
	vigil_ctx *ctx;
	assert_int_equal(vigil_ctx_new(&ctx), 0);
	assert_int_equal(vigil_ctx_load_rules(ctx, test_path("tests/data/rules/none.yar")),
		VIGIL_EIO);
	assert_non_null(strstr(vigil_ctx_error(ctx), "none.yar: cannot read"));
	/* The failed load left nothing behind: the context is usable. */
	assert_int_equal(vigil_ctx_ready(ctx), 0);
	vigil_ctx_free(ctx);
}

static void rules_compiled_file_is_refused(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-rules-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/compiled.yar", dir);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fwrite("YARA\x14\x00\x00\x00", 1, 8, f);
	fclose(f);
	vigil_rules *r = NULL;
	const char *paths[] = {path};
	char err[512];
	assert_int_equal(rules__compile(&r, paths, 1, err, sizeof(err)), VIGIL_ECONFIG);
	assert_null(r);
	assert_non_null(strstr(err, "compiled YARA rules are not accepted"));
	unlink(path);
	rmdir(dir);
}

static void rules_empty_directory_is_refused(void **state)
{
	(void)state;
	char dir[] = "/tmp/vigil-rules-XXXXXX";
	assert_non_null(mkdtemp(dir));
	vigil_rules *r = NULL;
	const char *paths[] = {dir};
	char err[512];
	assert_int_equal(rules__compile(&r, paths, 1, err, sizeof(err)), VIGIL_ECONFIG);
	assert_non_null(strstr(err, "no *.yar or *.yara rule file"));
	rmdir(dir);
}

static void rules_directory_loads_every_rule_file(void **state)
{
	(void)state;
	/* The folder holds attachment.yar, html.yara, notes.txt (not rules:
	 * would not compile) and bad/ and slow/ (not entered: bad/ would not
	 * compile either). */
	test_env *e = env_with_rule("tests/data/rules");
	vigil_message *m = test_scan(e, msg_attachment);
	assert_non_null(find(m, "rules.attachment.invoice-dropper"));
	assert_null(find(m, "rules.html.credential-form"));
	vigil_message_free(m);
	m = test_scan(e, msg_html);
	assert_non_null(find(m, "rules.html.credential-form"));
	assert_null(find(m, "rules.attachment.invoice-dropper"));
	vigil_message_free(m);
	test_env_free(e);
}

static void rules_same_file_name_gets_own_namespace(void **state)
{
	(void)state;
	/* Given twice, the file compiles into "attachment" and "attachment-2":
	 * the same rule name in two files never collides. */
	const char *rel[] = {"tests/data/rules/attachment.yar", "tests/data/rules/attachment.yar"};
	test_env *e = env_with_rules(rel, 2);
	vigil_message *m = test_scan(e, msg_attachment);
	assert_non_null(find(m, "rules.attachment.invoice-dropper"));
	assert_non_null(find(m, "rules.attachment-2.invoice-dropper"));
	vigil_message_free(m);
	test_env_free(e);
}

static void rules_no_match_no_finding(void **state)
{
	(void)state;
	test_env *e = env_with_rule("tests/data/rules");
	vigil_message *m = test_scan(e, msg_clean);
	assert_int_equal(count_detector(m, "rules"), 0);
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN);
	assert_false(m->partial);
	vigil_message_free(m);
	test_env_free(e);
}

static void rules_verdict_is_malicious(void **state)
{
	(void)state;
	test_env *e = env_with_rule("tests/data/rules/attachment.yar");
	vigil_message *m = test_scan(e, msg_attachment);
	assert_int_equal(m->verdict, VIGIL_VERDICT_MALICIOUS);
	assert_true(m->score >= 100);
	vigil_message_free(m);
	test_env_free(e);
}

static void rules_from_config_file_relative_to_it(void **state)
{
	(void)state;
	vigil_ctx *ctx;
	vigil_scanner *sc;
	assert_int_equal(vigil_ctx_new(&ctx), 0);
	if (vigil_ctx_load_config(ctx, test_path("tests/data/rules/rules.conf")) != 0)
		fail_msg("%s", vigil_ctx_error(ctx));
	assert_int_equal(vigil_ctx_ready(ctx), 0);
	assert_int_equal(vigil_scanner_new(&sc, ctx), 0);
	test_env e = {.ctx = ctx, .sc = sc};
	vigil_message *m = test_scan(&e, msg_attachment);
	assert_non_null(find(m, "rules.attachment.invoice-dropper"));
	vigil_message_free(m);
	vigil_scanner_free(sc);
	vigil_ctx_free(ctx);
}

static void rules_config_missing_path_is_refused_at_its_line(void **state)
{
	(void)state;
	vigil_ctx *ctx;
	assert_int_equal(vigil_ctx_new(&ctx), 0);
	assert_int_equal(vigil_ctx_load_config(ctx, test_path("tests/data/rules/missing.conf")),
		VIGIL_EIO);
	const char *err = vigil_ctx_error(ctx);
	assert_non_null(strstr(err, "missing.conf:3: [rules] paths: "));
	assert_non_null(strstr(err, "no-such-rules.yar: no such file or directory"));
	vigil_ctx_free(ctx);
}

static void rules_without_rules_nothing_runs(void **state)
{
	(void)state;
	test_env *e = test_env_new();
	assert_int_equal(vigil_ctx_ready(e->ctx), 0);
	vigil_message *m = test_scan(e, msg_attachment);
	assert_int_equal(count_detector(m, "rules"), 0);
	assert_null(e->sc->rules_scanner);
	vigil_message_free(m);
	test_env_free(e);
}

/* Threads share one compiled set, each with its own scanner. */
static void *scan_in_thread(void *arg)
{
	const vigil_ctx *ctx = arg;
	vigil_scanner *sc;
	if (vigil_scanner_new(&sc, ctx) != 0)
		return (void *)1;
	test_env e = {.ctx = (vigil_ctx *)ctx, .sc = sc};
	uintptr_t bad = 0;
	for (int i = 0; i < 20; i++) {
		vigil_message *m = test_scan(&e, i % 2 ? msg_attachment : msg_html);
		bad += !find(m, i % 2 ? "rules.attachment.invoice-dropper" : "rules.html.credential-form");
		vigil_message_free(m);
	}
	vigil_scanner_free(sc);
	return (void *)bad;
}

static void rules_threads_share_one_compiled_set(void **state)
{
	(void)state;
	test_env *e = env_with_rule("tests/data/rules");
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, scan_in_thread, e->ctx), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	test_env_free(e);
}

static void rules_timeout_marks_message_partial(void **state)
{
	(void)state;
	/* A quadratic rule over a 48 KiB attachment (two base64 parts) would run
	 * for hours: the budget stops it, the message is partial, and the
	 * second attachment is not scanned at all. */
	test_env *e = env_with_rule("tests/data/rules/slow/quadratic.yar");
	GString *s = g_string_new("From: a@example.org\r\nTo: b@example.org\r\nSubject: slow\r\n"
				  "MIME-Version: 1.0\r\n"
				  "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n");
	for (int part = 0; part < 2; part++) {
		g_string_append(s, "--b\r\nContent-Type: application/octet-stream\r\n"
				   "Content-Disposition: attachment; filename=\"blob.bin\"\r\n"
				   "Content-Transfer-Encoding: base64\r\n\r\n");
		for (int line = 0; line < 420; line++)
			g_string_append(s, "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n");
	}
	g_string_append(s, "--b--\r\n");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	vigil_message *m = test_scan(e, s->str);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(m->partial);
	assert_true(has_partial_reason(m, "YARA rules timed out"));
	assert_int_equal(count_detector(m, "rules"), 0);
	/* One budget for the whole message, not one per attachment. */
	assert_true(took < RULES_MESSAGE_TIMEOUT_SECONDS + 5);
	vigil_message_free(m);
	/* The next message gets a budget of its own. */
	m = test_scan(e, msg_clean);
	assert_false(m->partial);
	vigil_message_free(m);
	/* Also when its first scanned part comes after the slow message's
	 * last one (it was once told from the last message by its address and
	 * part numbers, and a message allocated where the last one was freed,
	 * first leaf at part 3, found the budget spent). */
	vigil_message_free(test_scan(e, s->str));
	m = test_scan(e, "From: a@example.org\r\nSubject: nested\r\nMIME-Version: 1.0\r\n"
			 "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n"
			 "--x\r\nContent-Type: multipart/alternative; boundary=\"y\"\r\n\r\n"
			 "--y\r\nContent-Type: multipart/related; boundary=\"z\"\r\n\r\n"
			 "--z\r\nContent-Type: text/plain\r\n\r\nhello\r\n--z--\r\n--y--\r\n--x--\r\n");
	assert_false(has_partial_reason(m, "YARA rules stopped"));
	assert_false(m->partial);
	vigil_message_free(m);
	g_string_free(s, TRUE);
	test_env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_match_decoded_attachment),
		cmocka_unit_test(rules_match_html_body),
		cmocka_unit_test(rules_tags_and_namespace_in_finding),
		cmocka_unit_test(rules_bad_file_is_refused_with_compiler_message),
		cmocka_unit_test(rules_missing_path_is_refused),
		cmocka_unit_test(rules_compiled_file_is_refused),
		cmocka_unit_test(rules_empty_directory_is_refused),
		cmocka_unit_test(rules_directory_loads_every_rule_file),
		cmocka_unit_test(rules_same_file_name_gets_own_namespace),
		cmocka_unit_test(rules_no_match_no_finding),
		cmocka_unit_test(rules_verdict_is_malicious),
		cmocka_unit_test(rules_from_config_file_relative_to_it),
		cmocka_unit_test(rules_config_missing_path_is_refused_at_its_line),
		cmocka_unit_test(rules_without_rules_nothing_runs),
		cmocka_unit_test(rules_threads_share_one_compiled_set),
		cmocka_unit_test(rules_timeout_marks_message_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
