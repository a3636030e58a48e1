/*
 * Feeds and the indicator set: STIX 2.1 bundles and JSON Lines, MISP events
 * and feed folders, free text; normalisation, dedup, all-or-nothing loading.
 * The files under tests/data/intel cover every format on their own; the
 * CERT corpus under /work/shared is checked when it is there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>
#include <unistd.h>

#include "intel/intel_private.h"
#include "testutil.h"

typedef struct warnings {
	size_t n;
	char text[16384];
} warnings;

static void on_warn(void *ud, const char *msg)
{
	warnings *w = ud;
	w->n++;
	size_t used = strlen(w->text);
	snprintf(w->text + used, sizeof(w->text) - used, "%s\n", msg);
}

static const vigil_indicator *find(const vigil_intel_set *s, vigil_ioc_type t, const char *v)
{
	for (size_t i = 0; i < s->items.len; i++)
		if (s->items.items[i].type == t && strcmp(s->items.items[i].value, v) == 0)
			return &s->items.items[i];
	return NULL;
}

static size_t count_type(const vigil_intel_set *s, vigil_ioc_type t)
{
	size_t n = 0;
	for (size_t i = 0; i < s->items.len; i++)
		n += s->items.items[i].type == t;
	return n;
}

/* Loads a file of tests/data/intel; asserts the result code. */
static vigil_intel_set *load(const char *rel, vigil_feed_format fmt, int want, warnings *w,
	size_t *skipped, char *err, size_t err_size)
{
	vigil_intel_set *s = intel__set_new();
	assert_non_null(s);
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path(rel));
	size_t sk = 0;
	char e[512];
	int rc = intel__load_feed(s, path, fmt, w ? on_warn : NULL, w, &sk, err ? err : e,
		err ? err_size : sizeof(e));
	if (rc != want)
		fail_msg("%s: rc %d, want %d: %s", rel, rc, want, err ? err : e);
	if (skipped)
		*skipped = sk;
	return s;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- STIX ------------------------------------------------------------ */

static void stix_bundle_domain_url_ip_hash_email(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/stix-bundle.json", VIGIL_FEED_AUTO, 0, NULL,
		NULL, NULL, 0);
	assert_int_equal(s->items.len, 12);
	const vigil_indicator *d = find(s, VIGIL_IOC_DOMAIN, "img.news-cdn-analytics.com");
	assert_non_null(d);
	assert_string_equal(d->source_id, "indicator--d1");
	assert_string_equal(d->name, "Tracking host");
	assert_string_equal(d->labels, "recon,malicious-activity");
	assert_non_null(strstr(d->source, "tests/data/intel/stix-bundle.json"));
	assert_non_null(find(s, VIGIL_IOC_URL, "http://evil.example.com/track?id=1"));
	assert_non_null(find(s, VIGIL_IOC_IPV4, "198.51.100.7"));
	assert_non_null(find(s, VIGIL_IOC_IPV4, "203.0.113.0/24"));
	assert_non_null(find(s, VIGIL_IOC_IPV6, "2001:db8::1"));
	assert_non_null(find(s, VIGIL_IOC_EMAIL, "claire.lefebvre@ft.co"));
	/* \' in a pattern string is a quote; from_ref.value is an address. */
	assert_non_null(find(s, VIGIL_IOC_EMAIL, "o'brien@phish.example.org"));
	assert_int_equal(count_type(s, VIGIL_IOC_MD5), 2);
	assert_int_equal(count_type(s, VIGIL_IOC_SHA1), 1);
	assert_int_equal(count_type(s, VIGIL_IOC_SHA256), 1);
	intel__set_free(s);
}

static void stix_or_joined_comparisons(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/stix-bundle.json", VIGIL_FEED_STIX, 0, NULL,
		NULL, NULL, 0);
	/* [a] OR [b] OR [c]: three indicators with one id. */
	size_t n = 0;
	for (size_t i = 0; i < s->items.len; i++)
		n += strcmp(s->items.items[i].source_id, "indicator--i1") == 0;
	assert_int_equal(n, 3);
	/* [a OR b OR c OR d] in one bracket, quoted and bare hash names. */
	n = 0;
	for (size_t i = 0; i < s->items.len; i++)
		n += strcmp(s->items.items[i].source_id, "indicator--h1") == 0;
	assert_int_equal(n, 4);
	assert_non_null(find(s, VIGIL_IOC_MD5, "8f0fcb5a80b2bca62d79f0d1cbdc93fb"));
	assert_non_null(find(s, VIGIL_IOC_MD5, "16e9c238c6a77ebbb3c5b75ba78e6584"));
	intel__set_free(s);
}

static void stix_and_expression_is_skipped_with_warning(void **state)
{
	(void)state;
	warnings w = {0};
	size_t skipped = 0;
	vigil_intel_set *s = load("tests/data/intel/stix-bundle.json", VIGIL_FEED_AUTO, 0, &w,
		&skipped, NULL, 0);
	assert_null(find(s, VIGIL_IOC_DOMAIN, "and.example.com"));
	assert_null(find(s, VIGIL_IOC_URL, "http://and.example.com/"));
	assert_non_null(strstr(w.text, "indicator--and1: an AND expression is not supported"));
	/* In [a] OR ([b] AND [c]) OR [d != x] OR [process:...], only a stands
	 * alone; each other branch is named. */
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "kept.example.net"));
	assert_null(find(s, VIGIL_IOC_DOMAIN, "dropped.example.net"));
	assert_null(find(s, VIGIL_IOC_IPV4, "192.0.2.9"));
	assert_null(find(s, VIGIL_IOC_DOMAIN, "neq.example.net"));
	assert_non_null(strstr(w.text, "indicator--mix1: an operator other than '='"));
	assert_non_null(strstr(w.text, "indicator--mix1: an object path vigil cannot match"));
	assert_non_null(strstr(w.text, "indicator--sigma1: pattern_type 'sigma'"));
	assert_int_equal(skipped, 5);
	assert_int_equal(w.n, 5);
	intel__set_free(s);
}

/* ISSUBSET on an address is "in this network", an address indicator with a
 * CIDR value; IN (...) is an OR of equalities. NOT IN, ISSUPERSET, ISSUBSET
 * on anything but addresses and lists holding a non-string are skipped,
 * each named. */
static void stix_issubset_networks_and_in_lists(void **state)
{
	(void)state;
	warnings w = {0};
	size_t skipped = 0;
	vigil_intel_set *s = load("tests/data/intel/stix-operators.json", VIGIL_FEED_AUTO, 0, &w,
		&skipped, NULL, 0);
	assert_non_null(find(s, VIGIL_IOC_IPV4, "203.0.113.0/24"));
	assert_non_null(find(s, VIGIL_IOC_IPV6, "2001:db8:5::/48"));
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "in-one.example.com"));
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "in-two.example.org"));
	assert_non_null(find(s, VIGIL_IOC_EMAIL, "desk@in-three.example.net"));
	assert_null(find(s, VIGIL_IOC_DOMAIN, "notin.example.com"));
	assert_null(find(s, VIGIL_IOC_URL, "http://inbin.example.com/"));
	assert_null(find(s, VIGIL_IOC_IPV4, "198.51.100.7"));
	assert_null(find(s, VIGIL_IOC_DOMAIN, "sub.example.com"));
	assert_int_equal(s->items.len, 5);
	assert_non_null(strstr(w.text, "indicator--notin1: an operator other than '='"));
	assert_non_null(strstr(w.text, "indicator--inbin1: a value that is not a plain string"));
	assert_non_null(strstr(w.text, "indicator--superset1: an operator other than '='"));
	assert_int_equal(skipped, 4); /* one per unsupported branch: superset1 has two */
	intel__set_free(s);
}

static void stix_jsonl_objects(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/stix-objects.jsonl", VIGIL_FEED_AUTO, 0, NULL,
		NULL, NULL, 0);
	assert_int_equal(s->items.len, 2);
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "jsonl-one.example.com"));
	const vigil_indicator *ip = find(s, VIGIL_IOC_IPV4, "198.51.100.20");
	assert_non_null(ip);
	assert_string_equal(ip->actor, "Lure 2021"); /* a campaign, by relationship */
	intel__set_free(s);
}

static void stix_validity_kept(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/stix-bundle.json", VIGIL_FEED_AUTO, 0, NULL,
		NULL, NULL, 0);
	const vigil_indicator *d = find(s, VIGIL_IOC_DOMAIN, "img.news-cdn-analytics.com");
	assert_int_equal(d->valid_from, 1609459200);  /* 2021-01-01T00:00:00Z */
	assert_int_equal(d->valid_until, 1656585000); /* 2022-06-30T12:30:00.500+02:00 */
	const vigil_indicator *u = find(s, VIGIL_IOC_URL, "http://evil.example.com/track?id=1");
	assert_true(u->valid_until == VIGIL_NO_TIME);
	int64_t t;
	assert_int_equal(intel__rfc3339("2021-13-01T00:00:00Z", &t), -1);
	assert_int_equal(intel__rfc3339("yesterday", &t), -1);
	intel__set_free(s);
}

static void stix_actor_from_relationship(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/stix-bundle.json", VIGIL_FEED_AUTO, 0, NULL,
		NULL, NULL, 0);
	const vigil_indicator *d = find(s, VIGIL_IOC_DOMAIN, "img.news-cdn-analytics.com");
	/* threat-actor and intrusion-set, the repeated relationship once. */
	assert_string_equal(d->actor, "APT Test, Set One");
	assert_null(find(s, VIGIL_IOC_URL, "http://evil.example.com/track?id=1")->actor);
	intel__set_free(s);
}

static void stix_malformed_json_imports_nothing(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/stix-bundle.json", VIGIL_FEED_AUTO, 0, NULL,
		NULL, NULL, 0);
	size_t before = s->items.len;
	char err[512];
	const char *bad[] = {"tests/data/intel/stix-malformed.json",
		"tests/data/intel/stix-bad-pattern.json"};
	const char *want[] = {"stix-malformed.json:3: invalid JSON",
		"stix-bad-pattern.json: indicator--unterminated: bad pattern: unterminated string"};
	for (int i = 0; i < 2; i++) {
		int rc = intel__load_feed(s, test_path(bad[i]), VIGIL_FEED_AUTO, NULL, NULL, NULL, err,
			sizeof(err));
		assert_int_equal(rc, VIGIL_EPARSE);
		assert_non_null(strstr(err, want[i]));
		assert_int_equal(s->items.len, before);
		assert_null(find(s, VIGIL_IOC_DOMAIN, "never-imported.example.com"));
	}
	intel__set_free(s);
}

/* Writes `text` to a temporary file; returns its path (static buffer). */
static const char *temp_file(const char *text, size_t len)
{
	static char path[256];
	snprintf(path, sizeof(path), "/tmp/vigil-test-feeds-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void stix_hostile_patterns_are_refused_not_crashed(void **state)
{
	(void)state;
	const char *cases[] = {
		"{\"type\":\"indicator\",\"id\":\"indicator--x\",\"pattern\":\"[url:value = 'a' OR\"}",
		"{\"type\":\"indicator\",\"id\":\"indicator--x\",\"pattern\":\"[[[[\"}",
		"{\"type\":\"indicator\",\"id\":\"indicator--x\",\"pattern\":\"\"}",
		"{\"type\":\"indicator\",\"id\":\"indicator--x\",\"pattern\":\"[a:b = 'x'] ]\"}",
		"{\"type\":\"indicator\",\"id\":\"indicator--x\"}",
		"{\"type\":\"indicator\",\"id\":\"indicator--x\",\"pattern\":\"[domain-name:value = 'a.example.com']\",\"valid_from\":\"soon\"}",
		"{\"type\":\"bundle\",\"id\":\"bundle--x\"}",
		"{\"type\":\"bundle\",\"objects\":[1]}",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = temp_file(cases[i], strlen(cases[i]));
		vigil_intel_set *s = intel__set_new();
		char err[512];
		int rc = intel__load_feed(s, p, VIGIL_FEED_AUTO, NULL, NULL, NULL, err, sizeof(err));
		unlink(p);
		if (rc != VIGIL_EPARSE)
			fail_msg("case %zu: rc %d (%s)", i, rc, err);
		assert_int_equal(s->items.len, 0);
		intel__set_free(s);
	}
	/* Brackets nested past the limit: refused, the stack untouched. */
	size_t depth = 100000;
	char *deep = malloc(depth * 2 + 200);
	size_t n = (size_t)sprintf(deep, "{\"type\":\"indicator\",\"id\":\"indicator--d\",\"pattern\":\"");
	for (size_t i = 0; i < depth; i++)
		deep[n++] = '(';
	n += (size_t)sprintf(deep + n, "\"}");
	const char *p = temp_file(deep, n);
	free(deep);
	vigil_intel_set *s = intel__set_new();
	char err[512];
	assert_int_equal(intel__load_feed(s, p, VIGIL_FEED_STIX, NULL, NULL, NULL, err, sizeof(err)),
		VIGIL_EPARSE);
	assert_non_null(strstr(err, "nested too deep"));
	unlink(p);
	intel__set_free(s);
}

static void stix_100k_indicator_bundle_loads(void **state)
{
	(void)state;
	enum { N = 100000 };
	size_t cap = (size_t)N * 260 + 256, n = 0;
	char *b = malloc(cap);
	assert_non_null(b);
	n += (size_t)sprintf(b + n, "{\"type\":\"bundle\",\"id\":\"bundle--big\",\"objects\":[\n");
	for (int i = 0; i < N; i++) {
		const char *pat;
		char v[80];
		switch (i % 4) {
		case 0:
			pat = "domain-name:value";
			snprintf(v, sizeof(v), "host%d.example%d.com", i, i % 97);
			break;
		case 1:
			pat = "ipv4-addr:value";
			snprintf(v, sizeof(v), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
			break;
		case 2:
			pat = "url:value";
			snprintf(v, sizeof(v), "http://h%d.example.org/p/%d", i % 1000, i);
			break;
		default:
			pat = "file:hashes.'SHA-256'";
			snprintf(v, sizeof(v), "%064x", i);
		}
		n += (size_t)sprintf(b + n,
			"%s{\"type\":\"indicator\",\"spec_version\":\"2.1\",\"id\":\"indicator--%08d\","
			"\"pattern\":\"[%s = '%s']\",\"pattern_type\":\"stix\","
			"\"valid_from\":\"2021-01-01T00:00:00Z\",\"name\":\"bulk\"}\n",
			i ? "," : "", i, pat, v);
	}
	n += (size_t)sprintf(b + n, "]}\n");
	const char *p = temp_file(b, n);
	free(b);
	vigil_intel_set *s = intel__set_new();
	char err[512];
	double t0 = now();
	int rc = intel__load_feed(s, p, VIGIL_FEED_AUTO, NULL, NULL, NULL, err, sizeof(err));
	double t1 = now();
	unlink(p);
	assert_int_equal(rc, 0);
	assert_int_equal(s->items.len, N);
	print_message("100,000 STIX indicators (%zu bytes) loaded in %.3f s\n", n, t1 - t0);
	intel__set_free(s);
}

/* A bundle of 40,000 indicators (over 4 MB) is read on two threads, each
 * half of its objects into a set of its own: the result is that of one pass
 * in order. `bad` puts a pattern error (1) or broken JSON (2) at object
 * `bad_at`. */
static char *split_bundle(int bad, int bad_at, size_t *len)
{
	enum { N = 40000 };
	size_t cap = (size_t)N * 200 + 256, n = 0;
	char *b = malloc(cap);
	assert_non_null(b);
	n += (size_t)sprintf(b + n, "{\"type\":\"bundle\",\"id\":\"bundle--split\",\"objects\":[\n");
	for (int i = 0; i < N; i++) {
		/* object 30000 repeats object 10 (the first half's): kept once,
		 * with the first one's name */
		int v = i == 30000 ? 10 : i;
		const char *extra = i % 5000 == 7 ? ",\"revoked\":true" : "";
		if (bad == 2 && i == bad_at) {
			n += (size_t)sprintf(b + n, ",{\"type\":\"indicator\",\"id\":}\n");
			continue;
		}
		n += (size_t)sprintf(b + n,
			"%s{\"type\":\"indicator\",\"id\":\"indicator--%08d\",\"pattern\":\"[%s = 'h%d.split.example']\","
			"\"pattern_type\":\"stix\",\"name\":\"n%d\"%s}\n",
			i ? "," : "", i, bad == 1 && i == bad_at ? "domain-name:value AND" : "domain-name:value",
			v, i, extra);
	}
	n += (size_t)sprintf(b + n, "]}\n");
	*len = n;
	return b;
}

/* Loads split_bundle(bad, 35000): refused with `want` in the error, and
 * nothing of it loaded. */
static void refused_split_bundle(int bad, const char *want)
{
	size_t n;
	char *b = split_bundle(bad, 35000, &n);
	const char *p = temp_file(b, n);
	free(b);
	vigil_intel_set *s = intel__set_new();
	char err[512];
	int rc = intel__load_feed(s, p, VIGIL_FEED_AUTO, NULL, NULL, NULL, err, sizeof(err));
	unlink(p);
	assert_int_equal(rc, VIGIL_EPARSE);
	if (!strstr(err, want))
		fail_msg("error: %s", err);
	assert_int_equal(s->items.len, 0);
	intel__set_free(s);
}

static void stix_large_bundle_read_on_two_threads_as_in_one_pass(void **state)
{
	(void)state;
	size_t n;
	char *b = split_bundle(0, 0, &n);
	assert_true(n > (4u << 20));
	const char *p = temp_file(b, n);
	free(b);
	vigil_intel_set *s = intel__set_new();
	warnings w = {0};
	size_t skipped = 0;
	char err[512];
	int rc = intel__load_feed(s, p, VIGIL_FEED_AUTO, on_warn, &w, &skipped, err, sizeof(err));
	unlink(p);
	assert_int_equal(rc, 0);
	/* 40,000 objects, 8 revoked (i % 5000 == 7), one repeat */
	assert_int_equal(s->items.len, 40000 - 8 - 1);
	assert_int_equal(skipped, 8);
	assert_int_equal(w.n, 8);
	/* in object order, first half then second */
	char expect[64];
	size_t k = 0;
	for (int i = 0; i < 40000; i++) {
		if (i % 5000 == 7 || i == 30000)
			continue;
		snprintf(expect, sizeof(expect), "h%d.split.example", i);
		assert_string_equal(s->items.items[k].value, expect);
		k++;
	}
	const vigil_indicator *ten = find(s, VIGIL_IOC_DOMAIN, "h10.split.example");
	assert_string_equal(ten->name, "n10");
	const char *at = w.text;
	for (int i = 7; i < 40000; i += 5000) {
		snprintf(expect, sizeof(expect), "indicator--%08d: revoked", i);
		const char *hit = strstr(at, expect);
		if (!hit)
			fail_msg("warning %s missing or out of order in:\n%s", expect, w.text);
		at = hit;
	}
	intel__set_free(s);

	/* An error in the second half: the first error in object order,
	 * with its id or line, and nothing loaded. */
	refused_split_bundle(1, "indicator--00035000: bad pattern");
	refused_split_bundle(2, ":35002:"); /* object i is on line i + 2 */
}

/* ---- MISP ------------------------------------------------------------- */

static void misp_event_attributes_and_objects(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/misp-event.json", VIGIL_FEED_AUTO, 0, NULL,
		NULL, NULL, 0);
	assert_int_equal(s->items.len, 10);
	const vigil_indicator *d = find(s, VIGIL_IOC_DOMAIN, "login-newsroom.example.com");
	assert_non_null(d);
	assert_string_equal(d->source_id, "a0000000-0000-4000-8000-000000000001");
	assert_string_equal(d->name, "Phishing wave against newsrooms");
	assert_string_equal(d->actor, "APT31");
	assert_string_equal(d->labels, "tlp:white,misp-galaxy:threat-actor=\"APT31\",phishing");
	assert_int_equal(d->valid_from, 1626775200); /* first_seen */
	/* Object attributes: md5, sha1, url. */
	assert_non_null(find(s, VIGIL_IOC_MD5, "244595a997af4bb8bac5efaee34805ff"));
	assert_non_null(find(s, VIGIL_IOC_SHA1, "ff693988afa9ee34be78057ac51bad77691aa552"));
	assert_non_null(find(s, VIGIL_IOC_URL, "https://login-newsroom.example.com/sso?u=1"));
	const vigil_indicator *e = find(s, VIGIL_IOC_EMAIL, "press@newsroom-mail.example.net");
	assert_string_equal(e->name, "Phishing wave against newsrooms - sender of the lure");
	/* to_ids false: kept, and said so. */
	const vigil_indicator *v6 = find(s, VIGIL_IOC_IPV6, "2001:db8::44");
	assert_non_null(v6);
	assert_non_null(strstr(v6->labels, "to_ids=false"));
	assert_null(find(s, VIGIL_IOC_DOMAIN, "deleted.example.com"));
	intel__set_free(s);
}

static void misp_ip_port_and_filename_hash(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/misp-event.json", VIGIL_FEED_MISP, 0, NULL,
		NULL, NULL, 0);
	assert_non_null(find(s, VIGIL_IOC_IPV4, "198.51.100.44"));
	assert_non_null(find(s, VIGIL_IOC_SHA256,
		"71d30d6cf37d5d0fcb2e9a9061fde20f62683a6be91e52abc5f665e5ec021cf3"));
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "relay.example.org"));
	assert_non_null(find(s, VIGIL_IOC_IPV4, "203.0.113.5"));
	for (size_t i = 0; i < s->items.len; i++)
		assert_null(strstr(s->items.items[i].value, "invoice"));
	intel__set_free(s);
}

static void misp_feed_folder_with_manifest(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/misp-feed", VIGIL_FEED_AUTO, 0, NULL, NULL,
		NULL, 0);
	assert_int_equal(s->items.len, 4);
	const vigil_indicator *d = find(s, VIGIL_IOC_DOMAIN, "feed-one.example.com");
	assert_non_null(d);
	assert_string_equal(d->name, "Feed event one");
	assert_non_null(strstr(d->source, "e0000000-0000-4000-8000-000000000001.json"));
	assert_non_null(find(s, VIGIL_IOC_EMAIL, "target@feed-two.example.org"));
	assert_non_null(find(s, VIGIL_IOC_URL, "http://feed-two.example.org/x.php"));
	intel__set_free(s);
	/* A folder without a manifest is refused. */
	char err[512];
	s = load("tests/data/intel", VIGIL_FEED_AUTO, VIGIL_EIO, NULL, NULL, err, sizeof(err));
	assert_non_null(strstr(err, "manifest.json"));
	intel__set_free(s);
}

static void misp_unknown_type_skipped(void **state)
{
	(void)state;
	warnings w = {0};
	size_t skipped = 0;
	vigil_intel_set *s = load("tests/data/intel/misp-event.json", VIGIL_FEED_AUTO, 0, &w,
		&skipped, NULL, 0);
	assert_int_equal(skipped, 2);
	assert_non_null(strstr(w.text, "a0000000-0000-4000-8000-000000000007: type 'regkey'"));
	assert_non_null(strstr(w.text, "b0000000-0000-4000-8000-000000000003: type 'size-in-bytes'"));
	intel__set_free(s);
}

/* ---- free text -------------------------------------------------------- */

static void freetext_refangs_and_extracts(void **state)
{
	(void)state;
	/* AUTO reads a non-JSON file as text. */
	vigil_intel_set *s = load("tests/data/intel/report.md", VIGIL_FEED_AUTO, 0, NULL, NULL,
		NULL, 0);
	const vigil_indicator *u = find(s, VIGIL_IOC_URL, "https://login-portal.example.com/auth?next=%2F");
	assert_non_null(u);
	assert_string_equal(u->source_id, "line 3");
	assert_non_null(find(s, VIGIL_IOC_URL, "ftp://files.example.com/drop"));
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "cdn-metrics.example.org"));
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "img.tracker.example.net"));
	assert_non_null(find(s, VIGIL_IOC_EMAIL, "press-office@example-mail.com"));
	assert_non_null(find(s, VIGIL_IOC_EMAIL, "jane@example-mail.com"));
	assert_non_null(find(s, VIGIL_IOC_IPV4, "198.51.100.23"));
	assert_non_null(find(s, VIGIL_IOC_IPV4, "203.0.113.0/24"));
	assert_non_null(find(s, VIGIL_IOC_IPV6, "2001:db8:85a3::8a2e:370:7334"));
	assert_non_null(find(s, VIGIL_IOC_MD5, "5f31452fdbfa4b01437fd553198ab563"));
	assert_non_null(find(s, VIGIL_IOC_SHA1, "ca0996634789f7039edc67a60de4498d66a63d9f"));
	assert_non_null(find(s, VIGIL_IOC_SHA256,
		"c1f02f8bc3c391e576c9cda626a9eb81c4b2fe063cc80de592d9ce999478eeaa"));
	/* No junk: versions, dates, times, short hex, UUIDs, 999.x. */
	assert_int_equal(count_type(s, VIGIL_IOC_IPV4), 2);
	assert_int_equal(count_type(s, VIGIL_IOC_IPV6), 1);
	assert_int_equal(count_type(s, VIGIL_IOC_MD5) + count_type(s, VIGIL_IOC_SHA1) +
		count_type(s, VIGIL_IOC_SHA256), 3);
	assert_int_equal(s->items.len, 14);
	intel__set_free(s);
}

static void freetext_keeps_only_real_suffixes(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/report.md", VIGIL_FEED_FREETEXT, 0, NULL, NULL,
		NULL, 0);
	/* .zip and .co.uk are real; a file name is not a host. */
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "www.example.zip"));
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "mail.example.co.uk"));
	const char *not_domains[] = {"invoice.zip", "report.pdf", "readme.md", "image.png",
		"run.sh", "setup.exe", "node.js", "example.invalidtld", "event.date", "event.uuid"};
	for (size_t i = 0; i < sizeof(not_domains) / sizeof(not_domains[0]); i++)
		if (find(s, VIGIL_IOC_DOMAIN, not_domains[i]))
			fail_msg("%s taken for a domain", not_domains[i]);
	assert_int_equal(count_type(s, VIGIL_IOC_DOMAIN), 4);
	intel__set_free(s);
}

static void freetext_certfr_csv_gives_161_addresses(void **state)
{
	(void)state;
	const char *path = "/work/shared/corpus/intel/certfr-2021-ioc-003/CERTFR-2021-IOC-003-IOC.csv";
	if (access(path, R_OK) != 0) {
		print_message("SKIP-LIKE PASS: %s not found; the CERT-FR check needs the shared corpus\n",
			path);
		return;
	}
	vigil_intel_set *s = intel__set_new();
	char err[512];
	assert_int_equal(intel__load_feed(s, path, VIGIL_FEED_FREETEXT, NULL, NULL, NULL, err,
				 sizeof(err)), 0);
	assert_int_equal(count_type(s, VIGIL_IOC_IPV4), 161);
	assert_int_equal(s->items.len, 161); /* nothing else: no dates, uuids, field names */
	assert_non_null(find(s, VIGIL_IOC_IPV4, "105.154.12.165"));
	intel__set_free(s);

	/* Hashes, one a line, "hash;comment - URL": the grep count is 18 lines,
	 * one hash twice, so 17 distinct; plus the report's URL. */
	path = "/work/shared/corpus/intel/signature-base-bronze-vinewood/hash-iocs.bronze-vinewood.txt";
	if (access(path, R_OK) != 0)
		return;
	s = intel__set_new();
	assert_int_equal(intel__load_feed(s, path, VIGIL_FEED_AUTO, NULL, NULL, NULL, err,
				 sizeof(err)), 0);
	assert_int_equal(count_type(s, VIGIL_IOC_MD5) + count_type(s, VIGIL_IOC_SHA1) +
		count_type(s, VIGIL_IOC_SHA256), 17);
	assert_int_equal(count_type(s, VIGIL_IOC_URL), 1);
	intel__set_free(s);
}

static void freetext_100k_lines_loads(void **state)
{
	(void)state;
	enum { N = 100000 };
	size_t cap = (size_t)N * 96, n = 0;
	char *b = malloc(cap);
	assert_non_null(b);
	for (int i = 0; i < N; i++) {
		switch (i % 4) {
		case 0:
			n += (size_t)sprintf(b + n, "%d,host%d[.]example%d[.]com,domain\n", i, i, i % 97);
			break;
		case 1:
			n += (size_t)sprintf(b + n, "%d,11.%d.%d.%d,ip-dst\n", i, (i >> 16) & 255,
				(i >> 8) & 255, i & 255);
			break;
		case 2:
			n += (size_t)sprintf(b + n, "%d,hxxp://h%d.example.org/p/%d,url\n", i, i % 1000, i);
			break;
		default:
			n += (size_t)sprintf(b + n, "%d,%064x,sha256\n", i, i);
		}
	}
	const char *p = temp_file(b, n);
	free(b);
	vigil_intel_set *s = intel__set_new();
	char err[512];
	double t0 = now();
	int rc = intel__load_feed(s, p, VIGIL_FEED_FREETEXT, NULL, NULL, NULL, err, sizeof(err));
	double t1 = now();
	unlink(p);
	assert_int_equal(rc, 0);
	assert_int_equal(s->items.len, N);
	print_message("100,000 free-text lines (%zu bytes) loaded in %.3f s\n", n, t1 - t0);
	intel__set_free(s);
}

/* ---- the set ------------------------------------------------------------ */

static int add(vigil_intel_set *s, vigil_ioc_type t, const char *v, const char **why)
{
	vigil_indicator ind = {.type = t, .value = v, .source = "test", .source_id = "x",
		.valid_from = VIGIL_NO_TIME, .valid_until = VIGIL_NO_TIME};
	return intel__set_add(s, &ind, why);
}

static void set_normalises_and_dedups(void **state)
{
	(void)state;
	vigil_intel_set *s = intel__set_new();
	const char *why;
	const struct {
		vigil_ioc_type type;
		const char *in, *out;
		vigil_ioc_type out_type;
	} cases[] = {
		{VIGIL_IOC_DOMAIN, " WWW.Example.COM. ", "www.example.com", VIGIL_IOC_DOMAIN},
		{VIGIL_IOC_DOMAIN, "*.wild.example.com", "wild.example.com", VIGIL_IOC_DOMAIN},
		{VIGIL_IOC_DOMAIN, "b\xC3\xBC" "cher.example", "xn--bcher-kva.example", VIGIL_IOC_DOMAIN},
		{VIGIL_IOC_URL, "HTTPS://Evil.Example.com/A B", "https://evil.example.com/A%20B", VIGIL_IOC_URL},
		{VIGIL_IOC_URL, "evil.example.com/gate.php", "http://evil.example.com/gate.php", VIGIL_IOC_URL},
		{VIGIL_IOC_EMAIL, "mailto:Alice@Example.ORG", "alice@example.org", VIGIL_IOC_EMAIL},
		{VIGIL_IOC_IPV4, "192.0.2.1/24", "192.0.2.0/24", VIGIL_IOC_IPV4},
		{VIGIL_IOC_IPV4, "198.51.100.9/32", "198.51.100.9", VIGIL_IOC_IPV4},
		{VIGIL_IOC_IPV4, "2001:DB8:0:0::7", "2001:db8::7", VIGIL_IOC_IPV6},
		{VIGIL_IOC_IPV6, "::ffff:198.51.100.10", "198.51.100.10", VIGIL_IOC_IPV4},
		{VIGIL_IOC_MD5, "8F0FCB5A80B2BCA62D79F0D1CBDC93FB", "8f0fcb5a80b2bca62d79f0d1cbdc93fb", VIGIL_IOC_MD5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (add(s, cases[i].type, cases[i].in, &why) != 0)
			fail_msg("'%s' refused: %s", cases[i].in, why);
		const vigil_indicator *e = &s->items.items[s->items.len - 1];
		assert_string_equal(e->value, cases[i].out);
		assert_int_equal(e->type, cases[i].out_type);
	}
	size_t n = s->items.len;
	assert_int_equal(n, sizeof(cases) / sizeof(cases[0]));
	/* The same indicator written otherwise is kept once. */
	assert_int_equal(add(s, VIGIL_IOC_DOMAIN, "www.example.com", &why), 0);
	assert_int_equal(add(s, VIGIL_IOC_IPV4, "192.0.2.77/24", &why), 0);
	assert_int_equal(add(s, VIGIL_IOC_EMAIL, "ALICE@example.org", &why), 0);
	assert_int_equal(s->items.len, n);
	/* Another source is another indicator. */
	vigil_indicator other = {.type = VIGIL_IOC_DOMAIN, .value = "www.example.com",
		.source = "other", .valid_from = VIGIL_NO_TIME, .valid_until = VIGIL_NO_TIME};
	assert_int_equal(intel__set_add(s, &other, &why), 0);
	assert_int_equal(s->items.len, n + 1);
	assert_string_equal(intel__type_name(VIGIL_IOC_SHA256), "sha256");
	intel__set_free(s);
}

static void set_rejects_invalid_values(void **state)
{
	(void)state;
	vigil_intel_set *s = intel__set_new();
	const struct {
		vigil_ioc_type type;
		const char *in;
	} bad[] = {
		{VIGIL_IOC_DOMAIN, ""},
		{VIGIL_IOC_DOMAIN, "localhost"},
		{VIGIL_IOC_DOMAIN, "com"},
		{VIGIL_IOC_DOMAIN, "co.uk"},
		{VIGIL_IOC_DOMAIN, "exa mple.com"},
		{VIGIL_IOC_DOMAIN, "evil.com/path"},
		{VIGIL_IOC_DOMAIN, "1.2.3.4"},
		{VIGIL_IOC_URL, "http://"},
		{VIGIL_IOC_URL, "not a url at all"},
		{VIGIL_IOC_EMAIL, "no-at-sign.example.com"},
		{VIGIL_IOC_EMAIL, "@example.com"},
		{VIGIL_IOC_EMAIL, "a@b"},
		{VIGIL_IOC_IPV4, "999.1.1.1"},
		{VIGIL_IOC_IPV4, "010.0.0.1"},
		{VIGIL_IOC_IPV4, "10.1"},
		{VIGIL_IOC_IPV4, "0.0.0.0/0"},
		{VIGIL_IOC_IPV4, "127.0.0.1"},
		{VIGIL_IOC_IPV4, "192.0.2.0/33"},
		{VIGIL_IOC_IPV6, "2001:db8::g"},
		{VIGIL_IOC_MD5, "8f0fcb5a80b2bca62d79f0d1cbdc93f"},
		{VIGIL_IOC_SHA1, "8f0fcb5a80b2bca62d79f0d1cbdc93fb"},
		{VIGIL_IOC_SHA256, "zz0fcb5a80b2bca62d79f0d1cbdc93fbzz0fcb5a80b2bca62d79f0d1cbdc93fb"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		if (add(s, bad[i].type, bad[i].in, &why) != VIGIL_EPARSE)
			fail_msg("'%s' accepted as %s", bad[i].in, intel__type_name(bad[i].type));
		assert_non_null(why);
	}
	assert_int_equal(s->items.len, 0);
	intel__set_free(s);
}

static void load_appends_to_a_filled_set_once(void **state)
{
	(void)state;
	vigil_intel_set *s = load("tests/data/intel/stix-bundle.json", VIGIL_FEED_AUTO, 0, NULL,
		NULL, NULL, 0);
	size_t n = s->items.len;
	char err[512];
	/* The same file again adds nothing; another adds its own. */
	assert_int_equal(intel__load_feed(s, test_path("tests/data/intel/stix-bundle.json"),
				 VIGIL_FEED_AUTO, NULL, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(s->items.len, n);
	assert_int_equal(intel__load_feed(s, test_path("tests/data/intel/misp-event.json"),
				 VIGIL_FEED_AUTO, NULL, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(s->items.len, n + 10);
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "img.news-cdn-analytics.com"));
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "login-newsroom.example.com"));
	/* Missing files are an I/O error naming the path. */
	assert_int_equal(intel__load_feed(s, "/nonexistent/feed.json", VIGIL_FEED_AUTO, NULL, NULL,
				 NULL, err, sizeof(err)), VIGIL_EIO);
	assert_non_null(strstr(err, "/nonexistent/feed.json"));
	intel__set_free(s);
}

static void stix_bundle_streams_whatever_the_key_order(void **state)
{
	(void)state;
	/* "objects" before "type", strings with quotes and brackets, nesting:
	 * the bundle is read object by object, not as one tree. */
	vigil_intel_set *s = load("tests/data/intel/stix-objects-first.json", VIGIL_FEED_AUTO, 0,
		NULL, NULL, NULL, 0);
	assert_int_equal(s->items.len, 2);
	assert_non_null(find(s, VIGIL_IOC_DOMAIN, "stream-one.example.org"));
	assert_non_null(find(s, VIGIL_IOC_IPV4, "192.0.2.99"));
	intel__set_free(s);
}

static void stix_bundle_with_a_broken_object_is_refused_with_its_line(void **state)
{
	(void)state;
	char err[512];
	vigil_intel_set *s = load("tests/data/intel/stix-broken-object.json", VIGIL_FEED_AUTO,
		VIGIL_EPARSE, NULL, NULL, err, sizeof(err));
	assert_int_equal(s->items.len, 0); /* nothing of it */
	assert_non_null(strstr(err, "stix-broken-object.json:4"));
	intel__set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stix_bundle_domain_url_ip_hash_email),
		cmocka_unit_test(stix_bundle_streams_whatever_the_key_order),
		cmocka_unit_test(stix_bundle_with_a_broken_object_is_refused_with_its_line),
		cmocka_unit_test(stix_or_joined_comparisons),
		cmocka_unit_test(stix_and_expression_is_skipped_with_warning),
		cmocka_unit_test(stix_issubset_networks_and_in_lists),
		cmocka_unit_test(stix_jsonl_objects),
		cmocka_unit_test(stix_validity_kept),
		cmocka_unit_test(stix_actor_from_relationship),
		cmocka_unit_test(stix_malformed_json_imports_nothing),
		cmocka_unit_test(stix_hostile_patterns_are_refused_not_crashed),
		cmocka_unit_test(stix_100k_indicator_bundle_loads),
		cmocka_unit_test(stix_large_bundle_read_on_two_threads_as_in_one_pass),
		cmocka_unit_test(misp_event_attributes_and_objects),
		cmocka_unit_test(misp_ip_port_and_filename_hash),
		cmocka_unit_test(misp_feed_folder_with_manifest),
		cmocka_unit_test(misp_unknown_type_skipped),
		cmocka_unit_test(freetext_refangs_and_extracts),
		cmocka_unit_test(freetext_keeps_only_real_suffixes),
		cmocka_unit_test(freetext_certfr_csv_gives_161_addresses),
		cmocka_unit_test(freetext_100k_lines_loads),
		cmocka_unit_test(set_normalises_and_dedups),
		cmocka_unit_test(set_rejects_invalid_values),
		cmocka_unit_test(load_appends_to_a_filled_set_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
