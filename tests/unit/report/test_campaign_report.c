/*
 * vigil_report_write(): refusing documents that are not campaign documents
 * (with a detail that names the field), writing the same bytes for the same
 * input, failing a write as VIGIL_EIO, and the helpers the writers share
 * (UUIDv5 against Python's uuid module, times, defanging). The formats'
 * content is checked by check_reports.py and the HTML in Chromium.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "report/campaign_report.h"
#include "vigil/vigil.h"

#define NOW 1795338000 /* 2026-11-22T09:00:00Z */

static char *fixture(const char *name)
{
	const char *root = getenv("VIGIL_SOURCE_ROOT");
	char *path = g_strdup_printf("%s/tests/unit/report/fixtures/%s", root ? root : ".", name);
	char *text = NULL;
	gboolean ok = g_file_get_contents(path, &text, NULL, NULL);
	g_free(path);
	assert_true(ok);
	return text;
}

/* Writes a report into memory; returns vigil_report_write's code. */
static int write_mem(vigil_report_format fmt, const char *json, int64_t now,
	const vigil_report_options *opt, char **out, char *err, size_t errsize)
{
	size_t len = 0;
	FILE *fp = open_memstream(out, &len);
	assert_non_null(fp);
	int rc = vigil_report_write(fp, fmt, json, now, opt, err, errsize);
	fclose(fp);
	return rc;
}

static void expect_parse_error(const char *json, const char *detail)
{
	char *out = NULL, err[256];
	int rc = write_mem(VIGIL_REPORT_STIX, json, NOW, NULL, &out, err, sizeof(err));
	assert_int_equal(rc, VIGIL_EPARSE);
	if (!strstr(err, detail))
		fail_msg("error \"%s\" does not say \"%s\"", err, detail);
	free(out);
}

static void report_refuses_what_is_not_campaign_documents(void **state)
{
	(void)state;
	expect_parse_error("[", "line 1");
	expect_parse_error("{\"id\": 1}", "not a JSON array");
	expect_parse_error("[1]", "campaign [0]: not an object");
	expect_parse_error("[{\"name\": \"x\"}]", "campaign [0]: id: missing");
	expect_parse_error("[{\"id\": 4, \"messages\": {}}]", "campaign 4: messages: not a list");
	expect_parse_error("[{\"id\": 4, \"messages\": [{\"date\": \"yesterday\"}]}]",
		"campaign 4: messages[0].date: not an ISO 8601 time");
	expect_parse_error("[{\"id\": 4, \"targets\": [{\"name\": \"A\"}]}]",
		"campaign 4: targets[0].address: missing");
	expect_parse_error("[{\"id\": 4, \"targets\": [{\"address\": \"\"}]}]",
		"campaign 4: targets[0].address: empty");
	expect_parse_error("[{\"id\": 4, \"senders\": {\"addresses\": [1]}}]",
		"campaign 4: senders.addresses[0]: not a string");
	expect_parse_error("[{\"id\": 4, \"first_seen\": \"2021-02-30T00:00:00Z\"}]",
		"campaign 4: first_seen: not an ISO 8601 time");
	expect_parse_error("[{\"id\": 4, \"id\": 5}]", "duplicate");
}

static void report_refuses_bad_arguments(void **state)
{
	(void)state;
	char *out = NULL, err[128];
	assert_int_equal(write_mem((vigil_report_format)9, "[]", NOW, NULL, &out, err, sizeof(err)),
		VIGIL_EINVAL);
	free(out);
	out = NULL;
	vigil_report_options opt = {.tlp = (vigil_report_tlp)7};
	assert_int_equal(write_mem(VIGIL_REPORT_MISP, "[]", NOW, &opt, &out, err, sizeof(err)),
		VIGIL_EINVAL);
	free(out);
	assert_int_equal(vigil_report_write(stdout, VIGIL_REPORT_CSV, NULL, NOW, NULL, NULL, 0),
		VIGIL_EINVAL);
}

/* The same documents and time give the same bytes; another time changes
 * the report's time but not the ids of what it reports. */
static void report_same_input_gives_same_bytes_and_ids(void **state)
{
	(void)state;
	char *json = fixture("campaign-recon.json");
	for (int f = VIGIL_REPORT_STIX; f <= VIGIL_REPORT_HTML; f++) {
		char *a = NULL, *b = NULL, err[256];
		assert_int_equal(write_mem((vigil_report_format)f, json, NOW, NULL, &a, err, sizeof(err)), 0);
		assert_int_equal(write_mem((vigil_report_format)f, json, NOW, NULL, &b, err, sizeof(err)), 0);
		assert_true(strlen(a) > 200);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	char *a = NULL, *b = NULL, err[256];
	assert_int_equal(write_mem(VIGIL_REPORT_STIX, json, NOW, NULL, &a, err, sizeof(err)), 0);
	assert_int_equal(write_mem(VIGIL_REPORT_STIX, json, NOW + 86400, NULL, &b, err, sizeof(err)), 0);
	assert_string_not_equal(a, b);
	/* The campaign keeps the store's uuid; an indicator's id is its pattern's. */
	assert_non_null(strstr(a, "\"campaign--5b0c1f0e-8a1d-4e36-9d55-3f0c2a7b9e11\""));
	char u[37], id[64];
	report__uuid5_of(u, "indicator", "[domain-name:value = 'img.news-cdn-analytics.com']", NULL);
	snprintf(id, sizeof(id), "\"indicator--%s\"", u);
	assert_non_null(strstr(a, id));
	assert_non_null(strstr(b, id));
	free(a);
	free(b);
	g_free(json);
}

/* /dev/full accepts the open and fails every write. */
static void report_write_failure_is_eio(void **state)
{
	(void)state;
	char *json = fixture("campaign-recon.json");
	for (int f = VIGIL_REPORT_STIX; f <= VIGIL_REPORT_HTML; f++) {
		FILE *fp = fopen("/dev/full", "w");
		if (!fp)
			skip();
		char err[128];
		assert_int_equal(vigil_report_write(fp, (vigil_report_format)f, json, NOW, NULL, err,
					 sizeof(err)),
			VIGIL_EIO);
		assert_non_null(strstr(err, "writing the report"));
		fclose(fp);
	}
	g_free(json);
}

/* The known answers come from Python: uuid.uuid5(UUID("082110f4-..."), name). */
static void report_uuid5_matches_rfc4122(void **state)
{
	(void)state;
	char u[37];
	report__uuid5(u, "abc");
	assert_string_equal(u, "5b9c9195-121c-5a94-9f50-57065b4e569b");
	report__uuid5_of(u, "indicator", "[domain-name:value = 'x']", NULL);
	assert_string_equal(u, "ad97fd07-fbd4-5136-9b21-1b7b88f91419");
	assert_true(report__is_uuid(u));
	assert_false(report__is_uuid("5b9c9195-121c-5a94-9f50-57065b4e569"));
	assert_false(report__is_uuid("5b9c9195x121c-5a94-9f50-57065b4e569b"));
}

static void report_times_parse_and_print(void **state)
{
	(void)state;
	int64_t t;
	assert_int_equal(report__parse_time("2021-01-14T08:02:11Z", &t), 0);
	assert_int_equal(t, 1610611331);
	assert_int_equal(report__parse_time("2021-01-14T10:02:11.250+02:00", &t), 0);
	assert_int_equal(t, 1610611331);
	assert_int_equal(report__parse_time("2021-01-14T08:02:11", &t), -1);
	assert_int_equal(report__parse_time("2021-13-14T08:02:11Z", &t), -1);
	assert_int_equal(report__parse_time("2021-02-29T00:00:00Z", &t), -1);
	assert_int_equal(report__parse_time("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(report__parse_time("2021-01-14T08:02:11Zjunk", &t), -1);
	char buf[32];
	report__stix_time(1610611331, buf, sizeof(buf));
	assert_string_equal(buf, "2021-01-14T08:02:11.000Z");
	report__iso(REPORT_NO_TIME, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* A bogus Date of year 1 still gives an RFC 3339 time (four digits). */
	assert_int_equal(report__parse_time("0001-01-01T00:00:00Z", &t), 0);
	report__stix_time(t, buf, sizeof(buf));
	assert_string_equal(buf, "0001-01-01T00:00:00.000Z");
}

static void report_defang_breaks_hosts_and_schemes(void **state)
{
	(void)state;
	struct {
		const char *in, *out, *text;
	} cases[] = {
		{"http://img.x.com/open/a.gif", "hxxp://img[.]x[.]com/open/a.gif",
			"hxxp://img.x.com/open/a.gif"},
		{"HTTPS://a.b/c?d=e.f", "HXXPS://a[.]b/c?d=e.f", "HXXPS://a.b/c?d=e.f"},
		{"redaction@lemonde-info.fr", "redaction[@]lemonde-info[.]fr", "redaction@lemonde-info.fr"},
		{"lemonde.moreau@gmail.com", "lemonde.moreau[@]gmail[.]com", "lemonde.moreau@gmail.com"},
		{"203.0.113.7", "203[.]0[.]113[.]7", "203.0.113.7"},
		{"see ftp://f.example/x and http://a.example", NULL,
			"see fxp://f.example/x and hxxp://a.example"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		if (cases[i].out) {
			char *d = report__defang(cases[i].in);
			assert_string_equal(d, cases[i].out);
			g_free(d);
		}
		char *t = report__defang_text(cases[i].in);
		assert_string_equal(t, cases[i].text);
		g_free(t);
	}
	assert_true(report__is_ipv4("198.51.100.0/24"));
	assert_false(report__is_ipv4("198.51.100"));
	assert_false(report__is_ipv4("1.2.3.4.5"));
	assert_true(report__is_ipv6("2001:db8::25"));
	assert_false(report__is_ipv6("img.example"));
}

/* An empty list of campaigns is a report with nothing in it, not an error. */
static void report_of_no_campaigns_is_valid(void **state)
{
	(void)state;
	for (int f = VIGIL_REPORT_STIX; f <= VIGIL_REPORT_HTML; f++) {
		char *out = NULL, err[128];
		assert_int_equal(write_mem((vigil_report_format)f, "[]", NOW, NULL, &out, err, sizeof(err)),
			0);
		assert_true(strlen(out) > 0);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(report_refuses_what_is_not_campaign_documents),
		cmocka_unit_test(report_refuses_bad_arguments),
		cmocka_unit_test(report_same_input_gives_same_bytes_and_ids),
		cmocka_unit_test(report_write_failure_is_eio),
		cmocka_unit_test(report_uuid5_matches_rfc4122),
		cmocka_unit_test(report_times_parse_and_print),
		cmocka_unit_test(report_defang_breaks_hosts_and_schemes),
		cmocka_unit_test(report_of_no_campaigns_is_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
