/* Unit tests for the intel matcher (intel/match.c) and the intel detector
 * (detect/intel.c). Sets are built by hand with values already normalised,
 * so these tests depend on the matcher alone, not on feed parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "detect/detect.h"
#include "intel/intel.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

static vigil_intel_set *set_new(void)
{
	vigil_intel_set *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->arena = vigil_arena_new();
	assert_non_null(s->arena);
	return s;
}

static void set_free(vigil_intel_set *s)
{
	vigil_arena_free(s->arena);
	free(s);
}

static vigil_indicator *add_ioc(vigil_intel_set *s, vigil_ioc_type t, const char *value,
	const char *source_id)
{
	vigil_indicator *i = VIGIL_VEC_PUSH(s->arena, &s->items);
	assert_non_null(i);
	i->type = t;
	i->value = vigil_arena_strdup(s->arena, value);
	i->source = "feeds/cert.json";
	i->source_id = source_id ? vigil_arena_strdup(s->arena, source_id) : NULL;
	i->valid_from = VIGIL_NO_TIME;
	i->valid_until = VIGIL_NO_TIME;
	return i;
}

static vigil_intel_matcher *compile(const vigil_intel_set *s)
{
	vigil_intel_matcher *m = NULL;
	char err[256];
	int rc = intel__compile(&m, s, err, sizeof(err));
	if (rc)
		print_error("intel__compile: %d %s\n", rc, err);
	assert_int_equal(rc, 0);
	assert_non_null(m);
	return m;
}

/* What the hit callback saw, as "artifact|indicator value|artifact value". */
typedef struct hits {
	char lines[64][600];
	size_t n;
} hits;

static int collect(void *ud, const vigil_indicator *ind, const char *artifact, const char *value)
{
	hits *h = ud;
	if (h->n < 64)
		snprintf(h->lines[h->n++], sizeof(h->lines[0]), "%s|%s|%s", artifact, ind->value, value);
	return 0;
}

static bool has(const hits *h, const char *line)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->lines[i], line) == 0)
			return true;
	return false;
}

static void dump(const hits *h)
{
	for (size_t i = 0; i < h->n; i++)
		print_message("  hit %s\n", h->lines[i]);
}

static hits run(const vigil_intel_matcher *m, const vigil_message *msg, bool validity)
{
	hits h = {.n = 0};
	vigil_intel_scratch *s = NULL;
	assert_int_equal(intel__scratch_new(&s, m), 0);
	assert_int_equal(intel__match_message(m, s, msg, validity, collect, &h), 0);
	intel__scratch_free(s);
	return h;
}

static void add_url(vigil_message *msg, const char *url, const char *scheme, const char *host)
{
	vigil_url *u = VIGIL_VEC_PUSH(msg->arena, &msg->urls);
	assert_non_null(u);
	u->raw = u->url = url;
	u->scheme = scheme;
	u->host = host;
	u->origin = VIGIL_URL_HTML;
}

static void add_received(vigil_message *msg, const char *ip, const char *from_host,
	const char *rdns)
{
	vigil_received *r = VIGIL_VEC_PUSH(msg->arena, &msg->received);
	assert_non_null(r);
	r->ip = ip;
	r->from_host = r->helo = from_host;
	r->rdns = rdns;
	r->time = VIGIL_NO_TIME;
}

static void add_body(vigil_message *msg, const char *text)
{
	vigil_body *b = VIGIL_VEC_PUSH(msg->arena, &msg->bodies);
	assert_non_null(b);
	b->content_type = "text/plain";
	b->text = text;
	b->len = strlen(text);
}

/* ---- matching ----------------------------------------------------------- */

static void match_domain_and_subdomains_not_lookalikes(void **state)
{
	vigil_intel_set *s = set_new();
	add_ioc(s, VIGIL_IOC_DOMAIN, "x.com", "indicator--d1");
	vigil_intel_matcher *m = compile(s);

	vigil_message *msg = test_message_new();
	add_url(msg, "https://x.com/", "https", "x.com");
	add_url(msg, "https://a.b.x.com/p", "https", "a.b.x.com");
	add_url(msg, "https://notx.com/", "https", "notx.com");
	add_url(msg, "https://x.com.evil.net/", "https", "x.com.evil.net");
	add_url(msg, "https://x.co/", "https", "x.co");
	msg->from = (vigil_mailbox){.address = "Boss@Mail.X.com", .domain = "mail.x.com"};
	msg->reply_to.items = NULL;
	msg->return_path = (vigil_mailbox){.address = "b@notx.com", .domain = "notx.com"};
	msg->message_id_domain = "smtp.x.com";
	add_received(msg, "192.0.2.9", "HELO.X.COM.", "rdns.elsewhere.net");
	add_received(msg, "192.0.2.10", "x.com.evil.net", NULL);

	hits h = run(m, msg, true);
	dump(&h);
	assert_true(has(&h, "url|x.com|https://x.com/"));
	assert_true(has(&h, "url|x.com|https://a.b.x.com/p"));
	assert_true(has(&h, "from|x.com|Boss@Mail.X.com"));
	assert_true(has(&h, "message_id|x.com|smtp.x.com"));
	assert_true(has(&h, "received|x.com|HELO.X.COM."));
	assert_int_equal(h.n, 5); /* not notx.com, x.com.evil.net, x.co */

	vigil_message_free(msg);
	intel__matcher_free(m);
	set_free(s);
}

static void match_url_exact_and_prefix(void **state)
{
	vigil_intel_set *s = set_new();
	add_ioc(s, VIGIL_IOC_URL, "http://a.com/x", "u1");
	add_ioc(s, VIGIL_IOC_URL, "https://b.com/kit/", "u2");
	add_ioc(s, VIGIL_IOC_URL, "http://c.com/dl.php?id=", "u3");
	add_ioc(s, VIGIL_IOC_URL, "ftp://d.com/f", "u4");
	vigil_intel_matcher *m = compile(s);

	vigil_message *msg = test_message_new();
	add_url(msg, "http://a.com/x", "http", "a.com");            /* exact */
	add_url(msg, "https://a.com/x?victim=1", "https", "a.com"); /* http = https, '?' */
	add_url(msg, "http://a.com/x/y", "http", "a.com");          /* '/' */
	add_url(msg, "http://a.com/xyz", "http", "a.com");          /* not a boundary */
	add_url(msg, "http://a.com/X", "http", "a.com");            /* paths keep case */
	add_url(msg, "https://b.com/kit/login.html", "https", "b.com");
	add_url(msg, "https://b.com/kit", "https", "b.com");        /* shorter than the indicator */
	add_url(msg, "http://c.com/dl.php?id=42", "http", "c.com");
	add_url(msg, "ftp://d.com/f", "ftp", "d.com");
	add_url(msg, "sftp://d.com/f", "sftp", "d.com");

	hits h = run(m, msg, true);
	dump(&h);
	assert_true(has(&h, "url|http://a.com/x|http://a.com/x"));
	assert_true(has(&h, "url|http://a.com/x|https://a.com/x?victim=1"));
	assert_true(has(&h, "url|http://a.com/x|http://a.com/x/y"));
	assert_true(has(&h, "url|https://b.com/kit/|https://b.com/kit/login.html"));
	assert_true(has(&h, "url|http://c.com/dl.php?id=|http://c.com/dl.php?id=42"));
	assert_true(has(&h, "url|ftp://d.com/f|ftp://d.com/f"));
	assert_int_equal(h.n, 6);

	vigil_message_free(msg);
	intel__matcher_free(m);
	set_free(s);
}

static void match_email_case_insensitive(void **state)
{
	vigil_intel_set *s = set_new();
	add_ioc(s, VIGIL_IOC_EMAIL, "ceo@evil.example", "e1");
	add_ioc(s, VIGIL_IOC_EMAIL, "ops@bad.example", "e2");
	vigil_intel_matcher *m = compile(s);

	vigil_message *msg = test_message_new();
	msg->from = (vigil_mailbox){.address = "CEO@Evil.Example", .domain = "evil.example"};
	msg->sender = (vigil_mailbox){.address = "xceo@evil.example", .domain = "evil.example"};
	vigil_mailbox *rt = VIGIL_VEC_PUSH(msg->arena, &msg->reply_to);
	*rt = (vigil_mailbox){.address = "ceo@evil.example", .domain = "evil.example"};
	msg->return_path = (vigil_mailbox){.address = "ceo@evil.example.org", .domain = "evil.example.org"};
	vigil_mailbox *to = VIGIL_VEC_PUSH(msg->arena, &msg->to);
	*to = (vigil_mailbox){.address = "ops@bad.example", .domain = "bad.example"};
	vigil_url *u = VIGIL_VEC_PUSH(msg->arena, &msg->urls);
	u->raw = u->url = "mailto:x@y.example,Ops%40Bad.Example?subject=hi";
	u->scheme = "mailto";
	u->path = "x@y.example,Ops%40Bad.Example";
	u->host = "y.example";

	hits h = run(m, msg, true);
	dump(&h);
	assert_true(has(&h, "from|ceo@evil.example|CEO@Evil.Example"));
	assert_true(has(&h, "reply_to|ceo@evil.example|ceo@evil.example"));
	assert_true(has(&h, "url|ops@bad.example|mailto:x@y.example,Ops%40Bad.Example?subject=hi"));
	assert_int_equal(h.n, 3); /* not the recipient, nor longer addresses */

	vigil_message_free(msg);
	intel__matcher_free(m);
	set_free(s);
}

static void match_ipv4_cidr_on_received_hops(void **state)
{
	vigil_intel_set *s = set_new();
	add_ioc(s, VIGIL_IOC_IPV4, "203.0.113.0/24", "net");
	add_ioc(s, VIGIL_IOC_IPV4, "203.0.113.7", "host");
	add_ioc(s, VIGIL_IOC_IPV4, "198.51.100.1", "single");
	vigil_intel_matcher *m = compile(s);

	vigil_message *msg = test_message_new();
	add_received(msg, "10.0.0.1", "mx.local", NULL);
	add_received(msg, "203.0.113.50", "relay.example", NULL);
	add_received(msg, "203.0.113.7", "router.example", NULL);
	add_received(msg, "198.51.100.2", "other.example", NULL);
	add_received(msg, "::ffff:198.51.100.1", "mapped.example", NULL);

	hits h = run(m, msg, true);
	dump(&h);
	assert_true(has(&h, "received|203.0.113.0/24|203.0.113.50"));
	/* the most specific range names the hop */
	assert_true(has(&h, "received|203.0.113.7|203.0.113.7"));
	assert_true(has(&h, "received|198.51.100.1|::ffff:198.51.100.1"));
	assert_int_equal(h.n, 3);

	vigil_message_free(msg);
	intel__matcher_free(m);
	set_free(s);
}

static void match_ipv6_and_url_ip_literal(void **state)
{
	vigil_intel_set *s = set_new();
	add_ioc(s, VIGIL_IOC_IPV6, "2001:db8:bad::/48", "v6net");
	add_ioc(s, VIGIL_IOC_IPV4, "192.0.2.66", "v4");
	vigil_intel_matcher *m = compile(s);

	vigil_message *msg = test_message_new();
	add_received(msg, "2001:db8:bad:1::25", "v6.example", NULL);
	add_received(msg, "2001:db8:bae::1", "v6b.example", NULL);
	add_url(msg, "http://[2001:db8:bad::80]/x", "http", "[2001:db8:bad::80]");
	add_url(msg, "http://192.0.2.66/payload", "http", "192.0.2.66");
	add_url(msg, "http://192.0.2.67/payload", "http", "192.0.2.67");

	hits h = run(m, msg, true);
	dump(&h);
	assert_true(has(&h, "received|2001:db8:bad::/48|2001:db8:bad:1::25"));
	assert_true(has(&h, "url|2001:db8:bad::/48|http://[2001:db8:bad::80]/x"));
	assert_true(has(&h, "url|192.0.2.66|http://192.0.2.66/payload"));
	assert_int_equal(h.n, 3);

	vigil_message_free(msg);
	intel__matcher_free(m);
	set_free(s);
}

static void match_attachment_hashes(void **state)
{
	static const char md5[] = "44d88612fea8a8f36de82e1278abb02f";
	static const char sha1[] = "3395856ce81f2b7382dee72602f798b642f14140";
	static const char sha256[] = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
	vigil_intel_set *s = set_new();
	add_ioc(s, VIGIL_IOC_MD5, md5, "h1");
	add_ioc(s, VIGIL_IOC_SHA256, sha256, "h3");
	vigil_intel_matcher *m = compile(s);

	vigil_message *msg = test_message_new();
	vigil_attachment *a = VIGIL_VEC_PUSH(msg->arena, &msg->attachments);
	memcpy(a->md5, md5, sizeof(md5));
	memcpy(a->sha1, sha1, sizeof(sha1));
	memcpy(a->sha256, "0000000000000000000000000000000000000000000000000000000000000000", 65);
	vigil_attachment *b = VIGIL_VEC_PUSH(msg->arena, &msg->attachments);
	memcpy(b->sha256, sha256, sizeof(sha256)); /* md5/sha1 empty: not computed */

	hits h = run(m, msg, true);
	dump(&h);
	char line[200];
	snprintf(line, sizeof(line), "attachment|%s|%s", md5, md5);
	assert_true(has(&h, line));
	snprintf(line, sizeof(line), "attachment|%s|%s", sha256, sha256);
	assert_true(has(&h, line));
	assert_int_equal(h.n, 2);

	vigil_message_free(msg);
	intel__matcher_free(m);
	set_free(s);
}

static void match_validity_window(void **state)
{
	vigil_intel_set *s = set_new();
	vigil_indicator *i = add_ioc(s, VIGIL_IOC_DOMAIN, "window.example", "w");
	i->valid_from = 1700000000;  /* 2023-11-14 */
	i->valid_until = 1710000000; /* 2024-03-09 */
	vigil_indicator *open = add_ioc(s, VIGIL_IOC_DOMAIN, "window.example", "open-ended");
	open->source = "feeds/other.json";
	open->valid_from = 1705000000;
	vigil_intel_matcher *m = compile(s);

	vigil_message *msg = test_message_new();
	add_url(msg, "https://window.example/", "https", "window.example");
	struct {
		int64_t t;
		bool validity;
		size_t n;
	} cases[] = {
		{1690000000, true, 0},    /* before both */
		{1700000000, true, 1},    /* first second of the window: inclusive */
		{1706000000, true, 2},    /* inside both */
		{1710000000, true, 2},    /* last second: inclusive */
		{1710000001, true, 1},    /* after the first: the open-ended one alone */
		{VIGIL_NO_TIME, true, 2}, /* no date: report */
		{1690000000, false, 2},   /* validity not asked for */
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(*cases); k++) {
		msg->date_time = cases[k].t;
		hits h = run(m, msg, cases[k].validity);
		if (h.n != cases[k].n)
			print_error("case %zu: %zu hits\n", k, h.n);
		assert_int_equal(h.n, cases[k].n);
	}

	vigil_message_free(msg);
	intel__matcher_free(m);
	set_free(s);
}

static void match_indicator_in_body_text(void **state)
{
	static const char sha1[] = "3395856ce81f2b7382dee72602f798b642f14140";
	vigil_intel_set *s = set_new();
	add_ioc(s, VIGIL_IOC_DOMAIN, "x.com", "d");
	add_ioc(s, VIGIL_IOC_DOMAIN, "parsed.example", "p");
	add_ioc(s, VIGIL_IOC_URL, "http://kit.example/login", "u");
	add_ioc(s, VIGIL_IOC_EMAIL, "drop@mailbox.example", "e");
	add_ioc(s, VIGIL_IOC_SHA1, sha1, "h");
	add_ioc(s, VIGIL_IOC_DOMAIN, "never.example", "n");
	vigil_intel_matcher *m = compile(s);

	vigil_message *msg = test_message_new();
	add_url(msg, "https://parsed.example/", "https", "parsed.example");
	/* Look-alikes first: a first candidate that fails must not hide a good one. */
	add_body(msg, "See notx.com and x.com.evil.net, then go to Portal.X.COM. Or\n"
		"paste hxxps://kit.example/login?u=you (not http://kit.example/loginx).\n"
		"Write to DROP@mailbox.example; file 3395856CE81F2B7382DEE72602F798B642F14140.\n"
		"Also parsed.example again, and xnever.example, 03395856ce81f2b7382dee72602f798b642f14140.");
	msg->subject = "Re: x.com";

	hits h = run(m, msg, true);
	dump(&h);
	assert_true(has(&h, "url|parsed.example|https://parsed.example/"));
	assert_true(has(&h, "subject|x.com|x.com"));
	assert_true(has(&h, "body|http://kit.example/login|hxxps://kit.example/login?u=you"));
	assert_true(has(&h, "body|drop@mailbox.example|DROP@mailbox.example"));
	char line[200];
	snprintf(line, sizeof(line), "body|%s|3395856CE81F2B7382DEE72602F798B642F14140", sha1);
	assert_true(has(&h, line));
	/* x.com was reported from the subject, parsed.example from the URL:
	 * each indicator once, however often the text repeats it. */
	assert_int_equal(h.n, 5);

	/* With only the body, the first good domain occurrence is the evidence. */
	msg->subject = NULL;
	h = run(m, msg, true);
	assert_true(has(&h, "body|x.com|Portal.X.COM"));

	vigil_message_free(msg);
	intel__matcher_free(m);
	set_free(s);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A message with some of everything; `k` picks which indicators it hits. */
static vigil_message *scale_message(size_t k)
{
	vigil_message *msg = test_message_new();
	vigil_arena *a = msg->arena;
	msg->from = (vigil_mailbox){.address = vigil_arena_printf(a, "user%zu@mail%zu.example", k, k),
		.domain = vigil_arena_printf(a, "mail%zu.example", k)};
	msg->message_id_domain = "mx.clean.example";
	add_received(msg, vigil_arena_printf(a, "10.%zu.%zu.9", (k >> 8) & 255, k & 255),
		"relay.clean.example", NULL);
	add_received(msg, "192.0.2.1", "mx.clean.example", NULL);
	for (int i = 0; i < 20; i++)
		add_url(msg, vigil_arena_printf(a, "https://www.clean%d.example/path/%d?x=%d", i, i, i),
			"https", vigil_arena_printf(a, "www.clean%d.example", i));
	add_url(msg, vigil_arena_printf(a, "https://site%zu.example/kit/%zu/login", k, k), "https",
		vigil_arena_printf(a, "site%zu.example", k));
	vigil_attachment *at = VIGIL_VEC_PUSH(a, &msg->attachments);
	snprintf(at->sha256, sizeof(at->sha256), "%064zx", k);
	memcpy(at->md5, "00000000000000000000000000000001", 33);
	/* ~40 KB of ordinary text around one indicator in the middle. */
	size_t cap = 48 * 1024;
	char *body = vigil_arena_alloc(a, cap);
	size_t n = 0;
	for (int i = 0; n + 200 < cap; i++) {
		if (i == 100)
			n += (size_t)snprintf(body + n, cap - n, "Send the file to drop%zu@box.example now. ", k);
		n += (size_t)snprintf(body + n, cap - n,
			"Dear customer, your account %d at www.bank.example needs review; see "
			"https://www.bank.example/help/%d for details.\n", i, i);
	}
	add_body(msg, body);
	return msg;
}

/* n indicators, 1/5 of each kind: domain, URL, address, IPv4 /24, hash. */
static vigil_intel_set *scale_set(size_t n)
{
	vigil_intel_set *s = set_new();
	for (size_t i = 0; i < n; i++) {
		size_t k = i / 5;
		char v[128];
		vigil_ioc_type t = VIGIL_IOC_DOMAIN;
		switch (i % 5) {
		case 0: snprintf(v, sizeof(v), "mail%zu.example", k); t = VIGIL_IOC_DOMAIN; break;
		case 1: snprintf(v, sizeof(v), "https://site%zu.example/kit/%zu/", k, k); t = VIGIL_IOC_URL; break;
		case 2: snprintf(v, sizeof(v), "drop%zu@box.example", k); t = VIGIL_IOC_EMAIL; break;
		case 3: snprintf(v, sizeof(v), "10.%zu.%zu.0/24", (k >> 8) & 255, k & 255); t = VIGIL_IOC_IPV4; break;
		case 4: snprintf(v, sizeof(v), "%064zx", k); t = VIGIL_IOC_SHA256; break;
		}
		add_ioc(s, t, v, NULL);
	}
	return s;
}

/* Median of `reps` timings of matching `msg`, in microseconds. */
static double time_match(const vigil_intel_matcher *m, const vigil_message *msg, int reps)
{
	vigil_intel_scratch *sc = NULL;
	assert_int_equal(intel__scratch_new(&sc, m), 0);
	double t[64];
	for (int r = 0; r < reps && r < 64; r++) {
		hits h = {.n = 0};
		double t0 = now();
		assert_int_equal(intel__match_message(m, sc, msg, true, collect, &h), 0);
		t[r] = (now() - t0) * 1e6;
	}
	intel__scratch_free(sc);
	for (int i = 1; i < reps; i++)
		for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
			double x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	return t[reps / 2];
}

static void match_100k_indicators(void **state)
{
	const size_t n = 100000;
	vigil_intel_set *big = scale_set(n);
	double t0 = now();
	vigil_intel_matcher *m = compile(big);
	double compile_s = now() - t0;
	assert_int_equal(intel__matcher_count(m), n);

	/* Correctness at scale: each kind of indicator k = 12345 hits, once. */
	const size_t k = 12345;
	vigil_message *msg = scale_message(k);
	hits h = run(m, msg, true);
	dump(&h);
	assert_true(has(&h, "from|mail12345.example|user12345@mail12345.example"));
	assert_true(has(&h, "url|https://site12345.example/kit/12345/|"
		"https://site12345.example/kit/12345/login"));
	assert_true(has(&h, "body|drop12345@box.example|drop12345@box.example"));
	assert_true(has(&h, "received|10.48.57.0/24|10.48.57.9"));
	char line[200];
	snprintf(line, sizeof(line), "attachment|%064zx|%064zx", k, k);
	assert_true(has(&h, line));
	assert_int_equal(h.n, 5);

	/* A message no indicator names gets no hit (k past the set). */
	vigil_message *clean = scale_message(n);
	hits hc = run(m, clean, true);
	dump(&hc);
	assert_int_equal(hc.n, 0);

	/* Cost per message with 100k indicators against 10: printed, not
	 * asserted (shared CI machines are noisy). */
	vigil_intel_set *small = scale_set(10);
	t0 = now();
	vigil_intel_matcher *m10 = compile(small);
	double compile10_s = now() - t0;
	double us10 = time_match(m10, clean, 31), us100k = time_match(m, clean, 31);
	double us10b = time_match(m10, clean, 31), us100kb = time_match(m, clean, 31);
	print_message("compile: 10 indicators %.3f s, %zu indicators %.3f s\n", compile10_s, n,
		compile_s);
	print_message("match (~40 KB body, 22 URLs), median us: 10 -> %.1f / %.1f, 100k -> %.1f / %.1f\n",
		us10, us10b, us100k, us100kb);

	vigil_message_free(msg);
	vigil_message_free(clean);
	intel__matcher_free(m10);
	intel__matcher_free(m);
	set_free(small);
	set_free(big);
}

static void match_scratch_serves_a_later_matcher(void **state)
{
	/* An empty set compiles; a scratch made for one matcher serves another. */
	vigil_intel_set *empty = set_new();
	vigil_intel_matcher *m0 = compile(empty);
	assert_int_equal(intel__matcher_count(m0), 0);
	vigil_intel_set *s = set_new();
	add_ioc(s, VIGIL_IOC_DOMAIN, "x.com", "d");
	vigil_intel_matcher *m = compile(s);

	vigil_message *msg = test_message_new();
	add_body(msg, "go to x.com");
	vigil_intel_scratch *sc = NULL;
	assert_int_equal(intel__scratch_new(&sc, m0), 0);
	hits h = {.n = 0};
	assert_int_equal(intel__match_message(m0, sc, msg, true, collect, &h), 0);
	assert_int_equal(h.n, 0);
	assert_int_equal(intel__match_message(m, sc, msg, true, collect, &h), 0);
	assert_int_equal(h.n, 1);
	intel__scratch_free(sc);

	vigil_message_free(msg);
	intel__matcher_free(m);
	intel__matcher_free(m0);
	set_free(s);
	set_free(empty);
}

/* ---- the detector, through the whole pipeline --------------------------- */

static void detect_intel_hit_makes_message_malicious(void **state)
{
	test_env *e = test_env_new();
	vigil_intel_set *s = set_new();
	vigil_indicator *i = add_ioc(s, VIGIL_IOC_DOMAIN, "phish-kit.example",
		"indicator--4f1a2b3c-0000-4000-8000-000000000001");
	i->source = "feeds/cert-fr.json";
	i->actor = "APT-TEST";
	e->ctx->intel = compile(s);

	static const char clean_text[] =
		"From: Alice <alice@good.example>\r\n"
		"To: bob@org.example\r\n"
		"Subject: lunch\r\n"
		"Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
		"Message-ID: <1@good.example>\r\n"
		"\r\n"
		"See you at noon.\r\n";
	vigil_message *clean = test_scan(e, clean_text);
	assert_int_equal(clean->verdict, VIGIL_VERDICT_CLEAN);
	vigil_message_free(clean);

	static const char text[] =
		"From: IT desk <it@org.example>\r\n"
		"To: bob@org.example\r\n"
		"Subject: password expiry\r\n"
		"Date: Tue, 05 Mar 2024 10:00:00 +0000\r\n"
		"Message-ID: <2@org.example>\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: text/html; charset=utf-8\r\n"
		"\r\n"
		"<p>Renew it <a href=\"https://login.phish-kit.example/renew\">here</a>.</p>\r\n";
	vigil_message *msg = test_scan(e, text);
	const vigil_finding *f = NULL;
	for (size_t k = 0; k < msg->findings.len; k++)
		if (strcmp(msg->findings.items[k].id, "intel.domain") == 0)
			f = &msg->findings.items[k];
	assert_non_null(f);
	print_message("reason: %s\n", f->reason);
	assert_string_equal(f->detector, "intel");
	assert_int_equal(f->cls, VIGIL_CLASS_MALICIOUS);
	assert_int_equal(f->score, 100);
	assert_string_equal(f->artifact, "url");
	assert_string_equal(f->value, "https://login.phish-kit.example/renew");
	assert_non_null(strstr(f->reason, "phish-kit.example"));
	assert_non_null(strstr(f->reason, "feeds/cert-fr.json"));
	assert_non_null(strstr(f->reason, "indicator--4f1a2b3c-0000-4000-8000-000000000001"));
	assert_non_null(strstr(f->reason, "APT-TEST"));
	assert_int_equal(msg->verdict, VIGIL_VERDICT_MALICIOUS);
	vigil_message_free(msg);

	test_env_free(e); /* frees ctx->intel and the scanner's scratch */
	set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(match_domain_and_subdomains_not_lookalikes),
		cmocka_unit_test(match_url_exact_and_prefix),
		cmocka_unit_test(match_email_case_insensitive),
		cmocka_unit_test(match_ipv4_cidr_on_received_hops),
		cmocka_unit_test(match_ipv6_and_url_ip_literal),
		cmocka_unit_test(match_attachment_hashes),
		cmocka_unit_test(match_validity_window),
		cmocka_unit_test(match_indicator_in_body_text),
		cmocka_unit_test(match_100k_indicators),
		cmocka_unit_test(match_scratch_serves_a_later_matcher),
		cmocka_unit_test(detect_intel_hit_makes_message_malicious),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
