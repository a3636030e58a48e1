/* Unit tests for the token detector (token.c): the recipient's address in a
 * URL under each encoding, tokens unique per recipient across messages, and
 * the bounded index behind them. Messages go through the whole pipeline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "detect/detect.h"
#include "detect/token.h"
#include "testutil.h"

#define MARIE "jean~paul.dupont@parliament.example"

static test_env *env;
/* Messages go through a correlator too, as in the scan pipeline: it sees
 * them in order and adds the cross-message findings. */
static vigil_correlator *corr;

static int setup(void **state)
{
	(void)state;
	env = test_env_new();
	if (vigil_correlator_new(&corr, env->ctx) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vigil_correlator_free(corr);
	test_env_free(env);
	return 0;
}

/* A message with the To field `to` and, unless NULL, the Delivered-To
 * field `delivered`, whose HTML body is `html`; scanned and correlated. */
static vigil_message *scan_msg(const char *to, const char *delivered, const char *html)
{
	char *text = g_strdup_printf("From: Anna Keller <anna.keller@press.example.org>\r\n"
				     "To: %s\r\n"
				     "%s%s%s"
				     "Subject: A question for an article\r\n"
				     "MIME-Version: 1.0\r\n"
				     "Content-Type: text/html; charset=utf-8\r\n\r\n"
				     "<html><body><p>Dear member,</p>%s</body></html>\r\n",
		to, delivered ? "Delivered-To: " : "", delivered ? delivered : "",
		delivered ? "\r\n" : "", html);
	vigil_message *m = test_scan(env, text);
	g_free(text);
	if (vigil_correlate(corr, m) < 0)
		abort();
	return m;
}

/* A message delivered to `to` whose HTML body is `html`. */
static vigil_message *scan_to(const char *to, const char *html)
{
	char *field = g_strdup_printf("<%s>", to);
	vigil_message *m = scan_msg(field, to, html);
	g_free(field);
	return m;
}

/* One image at `url` delivered to `to`. */
static vigil_message *scan_img(const char *to, const char *url)
{
	char *html = g_strdup_printf("<img src=\"%s\" width=\"1\" height=\"1\">", url);
	vigil_message *m = scan_to(to, html);
	g_free(html);
	return m;
}

static const vigil_finding *find(const vigil_message *m, const char *id)
{
	for (size_t i = 0; i < m->findings.len; i++)
		if (strcmp(m->findings.items[i].id, id) == 0)
			return &m->findings.items[i];
	return NULL;
}

/* Asserts that an image at `url` sent to MARIE yields token.recipient-in-url
 * whose reason names `encoding`. */
static void expect_recipient(const char *url, const char *encoding)
{
	vigil_message *m = scan_img(MARIE, url);
	const vigil_finding *f = find(m, "token.recipient-in-url");
	if (!f)
		fail_msg("no token.recipient-in-url for %s", url);
	assert_int_equal(f->cls, VIGIL_CLASS_TOKEN);
	assert_int_equal(f->score, 40);
	assert_string_equal(f->artifact, "url");
	if (!strstr(f->reason, encoding))
		fail_msg("'%s' does not say %s", f->reason, encoding);
	assert_non_null(strstr(f->reason, MARIE));
	vigil_message_free(m);
}

static void expect_none(const char *to, const char *url)
{
	vigil_message *m = scan_img(to, url);
	if (find(m, "token.recipient-in-url") || find(m, "token.local-part-in-url"))
		fail_msg("unexpected recipient token in %s", url);
	vigil_message_free(m);
}

static void token_plain_address_in_query(void **state)
{
	(void)state;
	expect_recipient("https://t.example.net/p.gif?u=" MARIE "&amp;c=7", "plain text in a query value");
	expect_recipient("https://t.example.net/p.gif?u=Jean~Paul.Dupont@Parliament.Example", "plain text");
	expect_recipient("https://t.example.net/o/" MARIE "/p.gif", "plain text in a path segment");
}

static void token_percent_encoded_address(void **state)
{
	(void)state;
	expect_recipient("https://t.example.net/p.gif?u=jean%7Epaul.dupont%40parliament.example", "plain text");
	/* encoded twice */
	expect_recipient("https://t.example.net/p.gif?u=jean%257Epaul.dupont%2540parliament.example",
		"plain text");
	/* a '+' in the address, as %2B */
	vigil_message *m = scan_img("marie+press@parliament.example",
		"https://t.example.net/p.gif?u=marie%2Bpress%40parliament.example");
	assert_non_null(find(m, "token.recipient-in-url"));
	vigil_message_free(m);
}

static void token_base64_and_base64url_at_any_alignment(void **state)
{
	(void)state;
	static const char *const prefixes[] = {"", "x", "xy"};
	for (size_t i = 0; i < 3; i++) {
		char *blob = g_strdup_printf("%s%s|1", prefixes[i], MARIE);
		gchar *b64 = g_base64_encode((const guchar *)blob, strlen(blob));
		char *url = g_strdup_printf("https://t.example.net/px.png?id=%s", b64);
		expect_recipient(url, "base64");
		g_free(url);
		/* base64url: '-' and '_' for '+' and '/', no padding */
		for (char *p = b64; *p; p++)
			*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
		*strchrnul(b64, '=') = '\0';
		url = g_strdup_printf("https://t.example.net/v/%s.gif", b64);
		expect_recipient(url, "base64");
		g_free(url);
		g_free(b64);
		g_free(blob);
	}
	/* Alignment 1 of this address has a '+' in standard base64: the
	 * URL-safe form says so. */
	expect_recipient("https://t.example.net/v/eGplYW5-cGF1bC5kdXBvbnRAcGFybGlhbWVudC5leGFtcGxlfDE",
		"base64url");
}

static void token_base32(void **state)
{
	(void)state;
	/* base32 of MARIE: upper with padding, lower without, and of "x" + MARIE */
	expect_recipient("https://t.example.net/b.gif?k=NJSWC3T6OBQXK3BOMR2XA33OORAHAYLSNRUWC3LFNZ2C4ZLYMFWXA3DF",
		"base32");
	expect_recipient("https://t.example.net/b.gif?k=njswc3t6obqxk3bomr2xa33oorahaylsnruwc3lfnz2c4zlymfwxa3df",
		"base32");
	expect_recipient("https://t.example.net/b/PBVGKYLOPZYGC5LMFZSHK4DPNZ2EA4DBOJWGSYLNMVXHILTFPBQW24DMMU======",
		"base32");
}

static void token_hex(void **state)
{
	(void)state;
	char hex[2 * sizeof(MARIE) + 1], upper[sizeof(hex)];
	for (size_t i = 0; i < strlen(MARIE); i++) {
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)MARIE[i]);
		snprintf(upper + 2 * i, 3, "%02X", (unsigned char)MARIE[i]);
	}
	char *url = g_strdup_printf("https://t.example.net/h/%s.png", hex);
	expect_recipient(url, "hex");
	g_free(url);
	url = g_strdup_printf("https://t.example.net/h.png?x=00%s00", upper);
	expect_recipient(url, "hex");
	g_free(url);
}

static void token_md5_sha1_sha256_and_16_char_prefix(void **state)
{
	(void)state;
	const char *lower = MARIE;
	gchar *md5 = g_compute_checksum_for_string(G_CHECKSUM_MD5, lower, -1);
	gchar *sha1 = g_compute_checksum_for_string(G_CHECKSUM_SHA1, lower, -1);
	gchar *sha256 = g_compute_checksum_for_string(G_CHECKSUM_SHA256, lower, -1);
	char *url = g_strdup_printf("https://img.example.net/open/%s.gif", md5);
	expect_recipient(url, "MD5");
	g_free(url);
	gchar *up = g_ascii_strup(sha1, -1);
	url = g_strdup_printf("https://img.example.net/i.gif?h=%s", up);
	expect_recipient(url, "SHA-1");
	g_free(url);
	g_free(up);
	url = g_strdup_printf("https://img.example.net/i.gif?h=%.16s", sha256);
	expect_recipient(url, "SHA-256");
	g_free(url);
	/* 15 characters are not enough to tell */
	url = g_strdup_printf("https://img.example.net/i.gif?h=%.15s", sha256);
	expect_none(MARIE, url);
	g_free(url);
	/* The hash of the address as written counts once lower-cased. */
	vigil_message *m = scan_img("Jean~Paul.Dupont@Parliament.Example",
		"https://img.example.net/open/c48a20c96ef0054e561c778347de32a9.gif");
	assert_non_null(find(m, "token.recipient-in-url"));
	vigil_message_free(m);
	g_free(md5);
	g_free(sha1);
	g_free(sha256);
}

static void token_lightly_disguised_address(void **state)
{
	(void)state;
	expect_recipient("https://t.example.net/i.gif?u=wrna~cnhy.qhcbag@cneyvnzrag.rknzcyr", "ROT13");
	expect_recipient("https://t.example.net/i.gif?u=elpmaxe.tnemailrap@tnopud.luap~naej", "reversed");
	expect_recipient("https://t.example.net/i.gif?u=jean~paul.dupont(at)parliament.example",
		"'@' written otherwise");
	expect_recipient("https://t.example.net/u/jean~paul.dupont/parliament.example/i.gif",
		"'@' written otherwise");
	/* echo address | md5sum */
	gchar *nl = g_strdup_printf("%s\n", MARIE);
	gchar *md5 = g_compute_checksum_for_string(G_CHECKSUM_MD5, nl, -1);
	char *url = g_strdup_printf("https://t.example.net/i.gif?h=%s", md5);
	expect_recipient(url, "newline");
	g_free(url);
	g_free(md5);
	g_free(nl);
	/* the raw SHA-256 digest in base64url */
	guint8 digest[32];
	gsize dlen = sizeof(digest);
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(ck, (const guchar *)MARIE, -1);
	g_checksum_get_digest(ck, digest, &dlen);
	g_checksum_free(ck);
	gchar *b64 = g_base64_encode(digest, dlen);
	for (char *p = b64; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	url = g_strdup_printf("https://t.example.net/i/%s", b64);
	expect_recipient(url, "SHA-256 hash in base64");
	g_free(url);
	g_free(b64);
}

static void token_in_subdomain_label(void **state)
{
	(void)state;
	expect_recipient("https://njswc3t6obqxk3bomr2xa33oorahaylsnruwc3lfnz2c4zlymfwxa3df.t.example.net/i.gif",
		"a sub-domain label");
	/* hex split over two labels */
	char hex[2 * sizeof(MARIE) + 1];
	for (size_t i = 0; i < strlen(MARIE); i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)MARIE[i]);
	char *url = g_strdup_printf("https://%.30s.%s.t.example.net/i.gif", hex, hex + 30);
	expect_recipient(url, "split");
	g_free(url);
}

static void token_local_part_alone_counts_lower(void **state)
{
	(void)state;
	/* base64 of "jean~paul.dupont" */
	vigil_message *m = scan_img(MARIE, "https://t.example.net/i.gif?u=amVhbn5wYXVsLmR1cG9udA");
	const vigil_finding *f = find(m, "token.local-part-in-url");
	assert_non_null(f);
	assert_int_equal(f->cls, VIGIL_CLASS_TOKEN);
	assert_true(f->score < 40);
	assert_null(find(m, "token.recipient-in-url"));
	vigil_message_free(m);
	/* role addresses name a desk, not a person */
	expect_none("contact@parliament.example", "https://t.example.net/contact/i.gif?u=Y29udGFjdA");
}

static void token_other_recipient_is_not_matched(void **state)
{
	(void)state;
	expect_none(MARIE, "https://t.example.net/p.gif?u=lucas.marchand@parliament.example");
	expect_none(MARIE, "https://t.example.net/px.png?id=bHVjYXMubWFyY2hhbmRAcGFybGlhbWVudC5leGFtcGxl");
	/* The recipient's own organisation may name them (webmail, intranet). */
	expect_none(MARIE, "https://intranet.parliament.example/profile?u=" MARIE);
	/* A mailto: link is no request, and a header URL is not shown. */
	vigil_message *m = scan_to(MARIE, "<a href=\"mailto:" MARIE "\">me</a>");
	assert_null(find(m, "token.recipient-in-url"));
	vigil_message_free(m);
}

static void token_unique_per_recipient_across_messages(void **state)
{
	(void)state;
	static const struct {
		const char *to, *token;
	} sent[] = {
		{"adrien.keller@parliament.example", "LENOg6W1uC5XHo"},
		{"alice.roussel@parliament.example", "ZJ2rT6ws2pDP3z"},
		{"claire.marchand@senate.example", "KH3omEzxV2Iq3E"},
	};
	for (size_t i = 0; i < 3; i++) {
		char *url = g_strdup_printf("http://cdn.ft-reader.example/a/%s/logo%zu.jpg", sent[i].token,
			40 + i);
		vigil_message *m = scan_img(sent[i].to, url);
		const vigil_finding *f = find(m, "token.unique-per-recipient");
		if (i == 0) {
			/* The first message of a campaign has nothing to compare with. */
			assert_null(f);
		} else {
			assert_non_null(f);
			assert_int_equal(f->cls, VIGIL_CLASS_TOKEN);
			assert_int_equal(f->score, 40);
			assert_non_null(strstr(f->reason, sent[i].token));
		}
		/* Hidden, with an identifier: a tracker of its own. */
		assert_non_null(find(m, "token.opaque-in-hidden-image"));
		vigil_message_free(m);
		g_free(url);
	}
}

static void token_same_token_for_all_recipients_is_not_a_token(void **state)
{
	(void)state;
	static const char *const to[] = {"adrien.keller@parliament.example",
		"alice.roussel@parliament.example", "claire.marchand@senate.example",
		"david.dupont@senate.example"};
	for (size_t i = 0; i < 4; i++) {
		/* The campaign id is the same for everyone; for the last recipient
		 * it changes (the next issue), which must not look like a token
		 * once the template is known to carry shared ids. */
		const char *id = i < 3 ? "c7Hq2x9LmZ" : "d8Jr3y0MnA";
		char *url = g_strdup_printf("<img src=\"https://img.news.example/banner.png?campaign=%s\" "
					    "width=\"600\" height=\"200\">", id);
		vigil_message *m = scan_to(to[i], url);
		assert_null(find(m, "token.unique-per-recipient"));
		vigil_message_free(m);
		g_free(url);
	}
}

/* A message to `to` (one or more addresses, comma-separated) with no
 * Delivered-To, whose HTML body is `html`. */
static vigil_message *scan_to_all(const char *to, const char *html)
{
	return scan_msg(to, NULL, html);
}

/* The reason of the first finding `id` of a message sent to `to` with an
 * image at `url`, copied (g_free), or NULL. */
static char *reason_for(const char *to, const char *url, const char *id)
{
	char *html = g_strdup_printf("<img src=\"%s\" width=\"1\" height=\"1\">", url);
	vigil_message *m = scan_to_all(to, html);
	g_free(html);
	const vigil_finding *f = find(m, id);
	char *r = f ? g_strdup(f->reason) : NULL;
	vigil_message_free(m);
	return r;
}

static void token_cached_needles_give_the_same_findings(void **state)
{
	(void)state;
	static const struct {
		const char *url, *id;
	} urls[] = {
		{"https://t.example.net/px.png?id=amVhbn5wYXVsLmR1cG9udEBwYXJsaWFtZW50LmV4YW1wbGU",
			"token.recipient-in-url"},
		{"https://t.example.net/i.gif?u=jean~paul.dupont(at)parliament.example",
			"token.recipient-in-url"},
		{"https://t.example.net/i.gif?u=amVhbn5wYXVsLmR1cG9udA", "token.local-part-in-url"},
		{"https://img.example.net/open/c48a20c96ef0054e561c778347de32a9.gif",
			"token.recipient-in-url"},
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(*urls); i++) {
		/* First seen alone, then again (from the cache) second of two
		 * recipients, then first of two: the needles carry the index of
		 * the recipient in each message, so the reason names MARIE. */
		char *first = reason_for(MARIE, urls[i].url, urls[i].id);
		assert_non_null(first);
		assert_non_null(strstr(first, MARIE));
		char *again = reason_for("<lucas.marchand@parliament.example>, <" MARIE ">", urls[i].url,
			urls[i].id);
		char *third = reason_for("<" MARIE ">, <lucas.marchand@parliament.example>", urls[i].url,
			urls[i].id);
		assert_non_null(again);
		assert_non_null(third);
		assert_string_equal(first, again);
		assert_string_equal(first, third);
		g_free(first);
		g_free(again);
		g_free(third);
	}
}

static void token_cache_emptied_when_full_still_finds(void **state)
{
	(void)state;
	/* More distinct recipients than the cache keeps, each with a URL to
	 * look in: the cache empties and refills between messages. */
	char *before = reason_for(MARIE, "https://t.example.net/p.gif?u=" MARIE, "token.recipient-in-url");
	assert_non_null(before);
	for (int i = 0; i < 300; i++) {
		char *to = g_strdup_printf("reader%03d.someone@parliament.example", i);
		char *url = g_strdup_printf("https://t.example.net/p.gif?u=%s", to);
		char *r = reason_for(to, url, "token.recipient-in-url");
		if (!r || !strstr(r, to))
			fail_msg("no finding naming %s", to);
		g_free(r);
		g_free(url);
		g_free(to);
	}
	char *after = reason_for(MARIE, "https://t.example.net/p.gif?u=" MARIE, "token.recipient-in-url");
	assert_non_null(after);
	assert_string_equal(before, after);
	g_free(before);
	g_free(after);
}

static void token_message_without_urls_builds_no_needles(void **state)
{
	(void)state;
	vigil_message *m = scan_to(MARIE, "<p>No link here; write to " MARIE ".</p>");
	assert_null(find(m, "token.recipient-in-url"));
	assert_null(find(m, "token.local-part-in-url"));
	vigil_message_free(m);
	/* Only a mailto: link, which is no request: still nothing to build. */
	m = scan_to(MARIE, "<a href=\"mailto:" MARIE "\">me</a>");
	assert_null(find(m, "token.recipient-in-url"));
	vigil_message_free(m);
	assert_null(env->sc->token_cache);
	/* The next message with a URL finds the address as before. */
	expect_recipient("https://t.example.net/p.gif?u=" MARIE, "plain text");
	assert_non_null(env->sc->token_cache);
}

static void token_index_is_bounded(void **state)
{
	(void)state;
	enum { CAP = 1000 };
	token_index *ix = token__index_new(CAP);
	assert_non_null(ix);
	int others = 0;
	for (uint64_t k = 1; k <= 5 * CAP; k++) {
		assert_int_equal(token__index_observe(&others, ix, token__hash(&k, sizeof(k), 0), k, k), 0);
		assert_true(token__index_len(ix) <= CAP);
		/* Template 1 is used all along: the least recently used go first. */
		uint64_t one = 1;
		assert_int_equal(token__index_observe(&others, ix, token__hash(&one, sizeof(one), 0),
					 one, one), 0);
	}
	assert_int_equal(token__index_len(ix), CAP);
	uint64_t first = 2, last = 5 * CAP, one = 1;
	assert_false(token__index_contains(ix, token__hash(&first, sizeof(first), 0)));
	assert_true(token__index_contains(ix, token__hash(&last, sizeof(last), 0)));
	assert_true(token__index_contains(ix, token__hash(&one, sizeof(one), 0)));
	/* An evicted template starts again from nothing. */
	assert_int_equal(token__index_observe(&others, ix, token__hash(&first, sizeof(first), 0), 9, 9), 0);
	assert_int_equal(others, 0);
	token__index_free(ix);
	token__index_free(NULL);
}

static void token_index_counts_recipients_and_shared_tokens(void **state)
{
	(void)state;
	token_index *ix = token__index_new(16);
	int others = -2;
	assert_int_equal(token__index_observe(&others, ix, 7, 100, 1), 0);
	assert_int_equal(others, 0);
	assert_int_equal(token__index_observe(&others, ix, 7, 101, 2), 0);
	assert_int_equal(others, 1);
	assert_int_equal(token__index_observe(&others, ix, 7, 101, 2), 0); /* again */
	assert_int_equal(others, 1);
	assert_int_equal(token__index_observe(&others, ix, 7, 102, 3), 0);
	assert_int_equal(others, 2);
	assert_int_equal(token__index_observe(&others, ix, 7, 100, 4), 0); /* 1's token */
	assert_int_equal(others, -1);
	assert_int_equal(token__index_observe(&others, ix, 7, 103, 5), 0);
	assert_int_equal(others, -1); /* shared for good */
	token__index_free(ix);
}

static void token_shape_tells_identifiers_from_words(void **state)
{
	(void)state;
	static const char *const yes[] = {"LENOg6W1uC5XHo", "2da80873131e8a4138e12bfc89bf37e0",
		"YWRyaWVuLnNjaG1pZHQxOEBzZW5hdGUuZXhhbXBsZQ==", "4c9f695d-06ef-4713-bfc2-f3279d6af0e3",
		"aa-gBae-hU-_tfD2LsnEUuZc5Hbw9RR", "431a011c0d", "ZJ2rT6ws2pDP3z.gif"};
	static const char *const no[] = {"newsletter2021", "logo62.jpg", "article_6065_823448",
		"20210104", "2021-01-04", "unsubscribe", "HelloWorld", "v2", "index.html",
		"utm_campaign", "ABC12345XYZ"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++)
		if (!token__shaped(yes[i], strlen(yes[i])))
			fail_msg("'%s' should look like a token", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++)
		if (token__shaped(no[i], strlen(no[i])))
			fail_msg("'%s' should not look like a token", no[i]);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(token_plain_address_in_query),
		T(token_percent_encoded_address),
		T(token_base64_and_base64url_at_any_alignment),
		T(token_base32),
		T(token_hex),
		T(token_md5_sha1_sha256_and_16_char_prefix),
		T(token_lightly_disguised_address),
		T(token_in_subdomain_label),
		T(token_local_part_alone_counts_lower),
		T(token_other_recipient_is_not_matched),
		T(token_unique_per_recipient_across_messages),
		T(token_same_token_for_all_recipients_is_not_a_token),
		T(token_cached_needles_give_the_same_findings),
		T(token_cache_emptied_when_full_still_finds),
		T(token_message_without_urls_builds_no_needles),
		T(token_index_is_bounded),
		T(token_index_counts_recipients_and_shared_tokens),
		T(token_shape_tells_identifiers_from_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
