/*
 * The shared synthetic corpus through the log reader: logs/proxy.log is read
 * whole (every line an event, none malformed), and every open listed in
 * logs/opens.jsonl is there as an event with its URL, client and time.
 * Matching opens to campaigns is not tested here (that is `vigil logs`).
 * Skips (77) when ../shared/corpus is absent, fails then when CI=true.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vigil/vigil.h"

static char proxy[4096], opens[4096];

typedef struct seen {
	char *url, *ip;
	int64_t time;
} seen;

/* "2021-01-14T12:47:33+00:00" (what opens.jsonl writes) in UTC seconds. */
static int64_t iso_utc(const char *s)
{
	struct tm tm = {0};
	int oh = 0, om = 0;
	char sign = '+';
	int n = sscanf(s, "%d-%d-%dT%d:%d:%d%c%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		&tm.tm_hour, &tm.tm_min, &tm.tm_sec, &sign, &oh, &om);
	assert_true(n == 6 || n == 7 || n == 9);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	int64_t off = n == 9 ? (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60) : 0;
	return (int64_t)timegm(&tm) - off; /* timegm: UTC whatever TZ says */
}

static void proxy_log_read_whole_with_every_open(void **state)
{
	/* Lines in the file, counted by hand. */
	FILE *f = fopen(proxy, "rb");
	assert_non_null(f);
	uint64_t lines = 0;
	int c, last = '\n';
	while ((c = getc(f)) != EOF) {
		lines += c == '\n';
		last = c;
	}
	lines += last != '\n';
	fclose(f);

	vigil_log_reader *r = NULL;
	vigil_log_event e;
	assert_int_equal(vigil_log_open(&r, proxy, VIGIL_LOG_AUTO), 0);
	assert_int_equal(vigil_log_detected(r), VIGIL_LOG_SQUID);
	size_t n = 0, cap = 4096;
	seen *all = calloc(cap, sizeof(*all));
	int rc;
	while ((rc = vigil_log_next(r, &e)) == 0) {
		if (n == cap) {
			cap *= 2;
			all = realloc(all, cap * sizeof(*all));
			assert_non_null(all);
		}
		assert_int_equal(e.kind, VIGIL_LOG_EVENT_HTTP);
		assert_non_null(e.url);
		assert_non_null(e.host);
		assert_non_null(e.client_ip);
		assert_int_equal(e.line, n + 1);
		all[n].url = strdup(e.url);
		all[n].ip = strdup(e.client_ip);
		all[n].time = e.time;
		n++;
	}
	assert_int_equal(rc, VIGIL_EDONE);
	assert_int_equal(vigil_log_malformed(r), 0);
	assert_int_equal(n, lines);
	assert_int_equal(vigil_log_lines(r), lines);
	vigil_log_free(r);

	json_error_t jerr;
	FILE *jf = fopen(opens, "r");
	assert_non_null(jf);
	char buf[8192];
	size_t found = 0, total = 0;
	while (fgets(buf, sizeof(buf), jf)) {
		if (buf[strspn(buf, " \t\r\n")] == '\0')
			continue;
		json_t *o = json_loads(buf, 0, &jerr);
		assert_non_null(o);
		const char *url = json_string_value(json_object_get(o, "url"));
		const char *ip = json_string_value(json_object_get(o, "client_ip"));
		const char *t = json_string_value(json_object_get(o, "time"));
		assert_true(url && ip && t);
		int64_t when = iso_utc(t);
		total++;
		size_t i;
		for (i = 0; i < n; i++)
			if (!strcmp(all[i].url, url) && !strcmp(all[i].ip, ip) && all[i].time == when)
				break;
		if (i == n)
			print_error("open not found: %s %s %s\n", t, ip, url);
		found += i < n;
		json_decref(o);
	}
	fclose(jf);
	assert_true(total > 0);
	assert_int_equal(found, total);
	for (size_t i = 0; i < n; i++) {
		free(all[i].url);
		free(all[i].ip);
	}
	free(all);
}

int main(void)
{
	const char *root = getenv("VIGIL_SOURCE_ROOT");
	snprintf(proxy, sizeof(proxy), "%s/../shared/corpus/synthetic/logs/proxy.log",
		root ? root : ".");
	snprintf(opens, sizeof(opens), "%s/../shared/corpus/synthetic/logs/opens.jsonl",
		root ? root : ".");
	if (access(proxy, R_OK) != 0 || access(opens, R_OK) != 0) {
		printf("corpus absent: %s not found; the log corpus test did not run.\n", proxy);
		const char *ci = getenv("CI");
		return ci && !strcmp(ci, "true") ? 1 : 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(proxy_log_read_whole_with_every_open),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
