/* Unit tests for the judge (judge.c), findings (finding.c) and the auth,
 * relay and phish detectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>

#include "detect/detect.h"
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

static const vigil_finding *find(const vigil_message *m, const char *id)
{
	for (size_t i = 0; i < m->findings.len; i++)
		if (strcmp(m->findings.items[i].id, id) == 0)
			return &m->findings.items[i];
	return NULL;
}

static void add(vigil_message *m, const char *id, vigil_finding_class cls, int score)
{
	assert_int_equal(finding__add(m, env->ctx->cfg, "test", id, cls, score, "url", id,
		"because %s", id), 0);
}

static void judge_no_findings_is_clean(void **state)
{
	vigil_message *m = test_message_new();
	judge__verdict(m, env->ctx->cfg);
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN);
	assert_int_equal(m->score, 0);
	vigil_message_free(m);
}

static void judge_tracking_alone_is_tracking(void **state)
{
	vigil_message *m = test_message_new();
	add(m, "t.pixel", VIGIL_CLASS_TRACKING, 30);
	add(m, "i.info", VIGIL_CLASS_INFO, 5);
	judge__verdict(m, env->ctx->cfg);
	assert_int_equal(m->verdict, VIGIL_VERDICT_TRACKING);
	assert_int_equal(m->score, 35);
	vigil_message_free(m);
}

static void judge_deception_below_threshold_stays_clean(void **state)
{
	vigil_message *m = test_message_new();
	add(m, "d.weak", VIGIL_CLASS_DECEPTION, env->ctx->cfg->deception_threshold - 1);
	judge__verdict(m, env->ctx->cfg);
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN);
	vigil_message_free(m);
}

static void judge_deception_at_threshold_is_suspicious(void **state)
{
	vigil_message *m = test_message_new();
	add(m, "d.a", VIGIL_CLASS_DECEPTION, env->ctx->cfg->deception_threshold - 10);
	add(m, "d.b", VIGIL_CLASS_DECEPTION, 10); /* weak signals add up */
	judge__verdict(m, env->ctx->cfg);
	assert_int_equal(m->verdict, VIGIL_VERDICT_SUSPICIOUS);
	vigil_message_free(m);
}

static void judge_token_plus_deception_is_recon(void **state)
{
	vigil_message *m = test_message_new();
	add(m, "k.token", VIGIL_CLASS_TOKEN, 40);
	add(m, "d.lookalike", VIGIL_CLASS_DECEPTION, 60);
	judge__verdict(m, env->ctx->cfg);
	assert_int_equal(m->verdict, VIGIL_VERDICT_RECON);
	vigil_message_free(m);
}

static void judge_malicious_wins(void **state)
{
	vigil_message *m = test_message_new();
	add(m, "t.pixel", VIGIL_CLASS_TRACKING, 30);
	add(m, "d.lookalike", VIGIL_CLASS_DECEPTION, 60);
	add(m, "intel.hit", VIGIL_CLASS_MALICIOUS, env->ctx->cfg->malicious_threshold);
	judge__verdict(m, env->ctx->cfg);
	assert_int_equal(m->verdict, VIGIL_VERDICT_MALICIOUS);
	vigil_message_free(m);
}

static void finding_same_id_and_value_is_recorded_once(void **state)
{
	vigil_message *m = test_message_new();
	add(m, "t.pixel", VIGIL_CLASS_TRACKING, 30);
	add(m, "t.pixel", VIGIL_CLASS_TRACKING, 30);
	assert_int_equal(m->findings.len, 1);
	assert_string_equal(m->findings.items[0].reason, "because t.pixel");
	assert_string_equal(m->findings.items[0].value, "t.pixel");
	vigil_message_free(m);
}

static void auth_failures_are_deception_and_pass_is_silent(void **state)
{
	vigil_message *m = test_scan(env,
		"Authentication-Results: mx.parliament.example; spf=fail smtp.mailfrom=x@bank.example;\n"
		" dkim=fail header.d=bank.example; dmarc=fail header.from=bank.example\n"
		"Authentication-Results: other.example; spf=pass smtp.mailfrom=x@bank.example\n"
		"From: Bank <x@bank.example>\n\nhi\n");
	assert_non_null(find(m, "auth.spf-fail"));
	assert_non_null(find(m, "auth.dkim-fail"));
	const vigil_finding *d = find(m, "auth.dmarc-fail");
	assert_non_null(d);
	assert_int_equal(d->cls, VIGIL_CLASS_DECEPTION);
	assert_string_equal(d->value, "bank.example");
	assert_int_equal(m->verdict, VIGIL_VERDICT_SUSPICIOUS); /* 20 + 20 + 30 */
	vigil_message_free(m);

	m = test_scan(env,
		"Authentication-Results: mx.parliament.example; spf=pass smtp.mailfrom=a.example;\n"
		" dkim=pass header.d=a.example; dmarc=pass header.from=a.example\n"
		"From: <x@a.example>\n\nhi\n");
	assert_int_equal(m->findings.len, 0);
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN);
	vigil_message_free(m);
}

static void auth_only_the_topmost_field_counts(void **state)
{
	/* A lower field (written by another host, or forged by the sender)
	 * saying fail does not count against a pass recorded by our MTA. */
	vigil_message *m = test_scan(env,
		"Authentication-Results: mx.parliament.example; dmarc=pass header.from=a.example\n"
		"Authentication-Results: forged.example; dmarc=fail header.from=a.example\n"
		"From: <x@a.example>\n\nhi\n");
	assert_null(find(m, "auth.dmarc-fail"));
	vigil_message_free(m);
}

static void auth_softfail_weighs_less_than_fail(void **state)
{
	vigil_message *m = test_scan(env,
		"Authentication-Results: mx.example; spf=softfail smtp.mailfrom=a.example\n"
		"From: <x@a.example>\n\nhi\n");
	const vigil_finding *f = find(m, "auth.spf-softfail");
	assert_non_null(f);
	assert_true(f->score < 20);
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN);
	vigil_message_free(m);
}

static void auth_unaligned_dkim_is_information(void **state)
{
	vigil_message *m = test_scan(env,
		"Authentication-Results: mx.example; dkim=pass header.d=esp-mailer.example\n"
		"From: News <news@outlet.example>\n\nhi\n");
	const vigil_finding *f = find(m, "auth.dkim-unaligned");
	assert_non_null(f);
	assert_int_equal(f->cls, VIGIL_CLASS_INFO);
	vigil_message_free(m);

	/* A sub-domain of the From domain signing is aligned (relaxed). */
	m = test_scan(env,
		"Authentication-Results: mx.example; dkim=pass header.d=mail.outlet.example\n"
		"From: News <news@outlet.example>\n\nhi\n");
	assert_null(find(m, "auth.dkim-unaligned"));
	vigil_message_free(m);
}

static void relay_hop_on_list_is_deception(void **state)
{
	vigil_ctx *ctx = NULL;
	vigil_scanner *sc = NULL;
	assert_int_equal(vigil_ctx_new(&ctx), 0);
	assert_int_equal(vigil_ctx_load_list(ctx, VIGIL_LIST_RELAYS,
		test_path("data/samples/relays.txt")), 0);
	assert_int_equal(vigil_ctx_ready(ctx), 0);
	assert_int_equal(vigil_scanner_new(&sc, ctx), 0);
	const char *text =
		"Received: from a.example (a.example [198.51.100.1]) by mx.example; Mon, 4 Jan 2021 10:00:00 +0000\n"
		"Received: from router (router [192.0.2.77]) by a.example; Mon, 4 Jan 2021 09:59:00 +0000\n"
		"Received: from v6 (v6 [IPv6:2001:db8:77::5]) by a.example; Mon, 4 Jan 2021 09:58:00 +0000\n"
		"From: x@a.example\n\nhi\n";
	vigil_raw_message raw = {.data = text, .len = strlen(text), .path = "t", .offset = -1};
	vigil_message *m = NULL;
	assert_int_equal(vigil_scan(&m, sc, &raw), 0);
	size_t n = 0;
	for (size_t i = 0; i < m->findings.len; i++)
		if (strcmp(m->findings.items[i].id, "relay.listed-hop") == 0) {
			n++;
			assert_int_equal(m->findings.items[i].cls, VIGIL_CLASS_DECEPTION);
		}
	assert_int_equal(n, 2); /* 192.0.2.77 and 2001:db8:77::5, not 198.51.100.1 */
	assert_int_equal(m->verdict, VIGIL_VERDICT_SUSPICIOUS);
	vigil_message_free(m);
	vigil_scanner_free(sc);
	vigil_ctx_free(ctx);
}


static void phish_executable_attachment_is_malicious(void **state)
{
	/* An ELF program declared as a PDF: libmagic reads the content, not the
	 * label. */
	vigil_message *m = test_scan(env,
		"From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n"
		"--B\nContent-Type: text/plain\n\ninvoice attached\n"
		"--B\nContent-Type: application/pdf\n"
		"Content-Disposition: attachment; filename=\"invoice.pdf\"\n"
		"Content-Transfer-Encoding: base64\n\n"
		"f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAAeABAAAAAAABAAAAAAAAAAAAAAAAAAAAAAAAAAEAAOAABAEAA\n"
		"AAAAAAEAAAAFAAAAAAAAAAAAAAAAAEAAAAAAAAAAQAAAAAAAgAAAAAAAAACAAAAAAAAAAAAQAAAAAAAA\n"
		"kJCQkJCQkJA=\n"
		"--B--\n");
	const vigil_finding *f = find(m, "phish.executable-attachment");
	assert_non_null(f);
	assert_int_equal(f->cls, VIGIL_CLASS_MALICIOUS);
	assert_int_equal(m->verdict, VIGIL_VERDICT_MALICIOUS);
	vigil_message_free(m);
}

static void phish_double_extension_name_is_deception(void **state)
{
	vigil_message *m = test_scan(env,
		"From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n"
		"--B\nContent-Type: application/octet-stream\n"
		"Content-Disposition: attachment; filename=\"scan_0042.pdf.js\"\n\n"
		"var x = 1;\n"
		"--B--\n");
	assert_non_null(find(m, "phish.executable-attachment")); /* .js runs on a double-click */
	assert_non_null(find(m, "phish.double-extension"));
	vigil_message_free(m);

	m = test_scan(env,
		"From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n"
		"--B\nContent-Type: application/pdf\n"
		"Content-Disposition: attachment; filename=\"report.2021.pdf\"\n\n"
		"%PDF-1.4\n"
		"--B--\n");
	assert_null(find(m, "phish.executable-attachment"));
	assert_null(find(m, "phish.double-extension"));
	vigil_message_free(m);
}

static void phish_form_in_attached_page_weighs_more_than_in_body(void **state)
{
	vigil_message *m = test_scan(env,
		"From: a@example.org\nContent-Type: multipart/mixed; boundary=B\n\n"
		"--B\nContent-Type: text/plain\n\nsee the page\n"
		"--B\nContent-Type: text/html\nContent-Disposition: attachment; filename=login.html\n\n"
		"<form action=\"https://collect.example.net/p.php\"><input type=password></form>\n"
		"--B--\n");
	const vigil_finding *f = find(m, "phish.form-in-attachment");
	assert_non_null(f);
	assert_int_equal(f->score, 40);
	vigil_message_free(m);

	/* Ten sign-up forms in a newsletter weigh as one. */
	GString *html = g_string_new("From: news@example.org\nContent-Type: text/html\n\n");
	for (int i = 0; i < 10; i++)
		g_string_append_printf(html, "<form action=\"https://list.example.org/s%d\"></form>", i);
	m = test_scan(env, html->str);
	g_string_free(html, TRUE);
	size_t n = 0;
	for (size_t i = 0; i < m->findings.len; i++)
		n += strncmp(m->findings.items[i].id, "phish.form", 10) == 0;
	assert_int_equal(n, 1);
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN);
	vigil_message_free(m);
}

static void phish_link_to_bare_ip_is_deception(void **state)
{
	vigil_message *m = test_scan(env,
		"From: a@example.org\nContent-Type: text/html\n\n"
		"<a href=\"http://203.0.113.9/login\">Your account</a>"
		"<a href=\"http://203.0.113.9/help\">Help</a>");
	const vigil_finding *f = find(m, "phish.ip-link");
	assert_non_null(f);
	assert_int_equal(m->findings.len, 1);
	vigil_message_free(m);
}

static void phish_display_name_showing_other_address(void **state)
{
	vigil_message *m = test_scan(env,
		"From: \"service@paypal.com\" <notice@account-check.example>\n\nhi\n");
	assert_non_null(find(m, "phish.display-name-address"));
	vigil_message_free(m);

	m = test_scan(env, "From: \"jane@example.org\" <jane@mail.example.org>\n\nhi\n");
	assert_null(find(m, "phish.display-name-address"));
	vigil_message_free(m);
}

static void judge_recipient_token_lowers_the_bar_for_lies_about_the_sender(void **state)
{
	vigil_message *m = test_message_new();
	add(m, "token.recipient-in-url", VIGIL_CLASS_TOKEN, 40);
	add(m, "impersonation.freemail-person", VIGIL_CLASS_DECEPTION,
		env->ctx->cfg->token_deception_threshold);
	judge__verdict(m, env->ctx->cfg);
	assert_int_equal(m->verdict, VIGIL_VERDICT_RECON);
	vigil_message_free(m);

	/* Newsletters encode subscribers and send replies or clicks elsewhere:
	 * that is not a lie about who writes. */
	m = test_message_new();
	add(m, "token.recipient-in-url", VIGIL_CLASS_TOKEN, 40);
	add(m, "impersonation.reply-to-diverges", VIGIL_CLASS_DECEPTION, 20);
	add(m, "impersonation.link-text-mismatch", VIGIL_CLASS_DECEPTION, 25);
	judge__verdict(m, env->ctx->cfg);
	assert_int_equal(m->verdict, VIGIL_VERDICT_TRACKING);
	vigil_message_free(m);

	/* A hidden pixel alone is not a recipient token. */
	m = test_message_new();
	add(m, "tracker.hidden-image", VIGIL_CLASS_TRACKING, 30);
	add(m, "impersonation.freemail-person", VIGIL_CLASS_DECEPTION, 15);
	judge__verdict(m, env->ctx->cfg);
	assert_int_equal(m->verdict, VIGIL_VERDICT_TRACKING);
	vigil_message_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(judge_no_findings_is_clean),
		cmocka_unit_test(judge_tracking_alone_is_tracking),
		cmocka_unit_test(judge_deception_below_threshold_stays_clean),
		cmocka_unit_test(judge_deception_at_threshold_is_suspicious),
		cmocka_unit_test(judge_token_plus_deception_is_recon),
		cmocka_unit_test(judge_malicious_wins),
		cmocka_unit_test(judge_recipient_token_lowers_the_bar_for_lies_about_the_sender),
		cmocka_unit_test(finding_same_id_and_value_is_recorded_once),
		cmocka_unit_test(auth_failures_are_deception_and_pass_is_silent),
		cmocka_unit_test(auth_only_the_topmost_field_counts),
		cmocka_unit_test(auth_softfail_weighs_less_than_fail),
		cmocka_unit_test(auth_unaligned_dkim_is_information),
		cmocka_unit_test(relay_hop_on_list_is_deception),
		cmocka_unit_test(phish_executable_attachment_is_malicious),
		cmocka_unit_test(phish_double_extension_name_is_deception),
		cmocka_unit_test(phish_form_in_attached_page_weighs_more_than_in_body),
		cmocka_unit_test(phish_link_to_bare_ip_is_deception),
		cmocka_unit_test(phish_display_name_showing_other_address),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
