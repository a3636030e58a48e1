/* Unit tests for campaigns: the traits a message gives (keys, templates,
 * lure hash) and the grouping rules over items, edge by edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "campaign/campaign.h"
#include "testutil.h"

static test_env *env;
static GHashTable *freemail;

static int setup(void **state)
{
	(void)state;
	env = test_env_new();
	/* A free-mail list of one, as data/freemail.txt would give. */
	freemail = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(freemail, (char *)"gmail.com", (char *)"free");
	env->ctx->cfg->freemail = freemail;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	env->ctx->cfg->freemail = NULL;
	g_hash_table_destroy(freemail);
	test_env_free(env);
	return 0;
}

static const char LURE[] =
	"I am writing a piece on the committee's vote on the new surveillance law and "
	"would value your view before publication. Our readers want to understand why the "
	"amendment was withdrawn at the last minute and what the parliament intends to do "
	"about the oversight body. Could you answer three short questions by Friday? I "
	"attach the draft of the article so that you can check the quotes attributed to "
	"your office.";

/* A recon-shaped message to `to` (name `name`) from `from`, with a hidden
 * image at `img` and the lure text. */
static vigil_message *scan_lure(const char *from, const char *to, const char *name,
	const char *img, const char *lure)
{
	char *text = g_strdup_printf("From: %s\r\n"
				     "To: %s <%s>\r\n"
				     "Subject: Your view on the vote\r\n"
				     "X-Mailer: Lure Mailer 2.1\r\n"
				     "MIME-Version: 1.0\r\n"
				     "Content-Type: text/html; charset=utf-8\r\n\r\n"
				     "<html><body><p>Dear %s,</p><p>%s</p>"
				     "<img src=\"%s\" width=\"1\" height=\"1\"></body></html>\r\n",
		from, name, to, name, lure, img);
	vigil_message *m = test_scan(env, text);
	g_free(text);
	return m;
}

static bool has_key(const campaign_traits *t, const char *key)
{
	for (size_t i = 0; i < t->n_keys; i++)
		if (strcmp(t->keys[i], key) == 0)
			return true;
	return false;
}

static void campaign_traits_template_token_host_and_domain_keys(void **state)
{
	(void)state;
	vigil_message *m = scan_lure("Anna <anna@press-news.example.net>",
		"marie.martin@parliament.example", "Marie Martin",
		"http://img.cdn-stats.example.com/open/3f9a1c0b7d2e4f6a8b9c0d1e2f3a4b5c.gif", LURE);
	campaign_traits t;
	assert_int_equal(campaign__traits(&t, m), 0);
	assert_int_equal(t.n_urls, 1);
	assert_string_equal(t.urls[0].host, "img.cdn-stats.example.com");
	assert_non_null(t.urls[0].tmpl);
	assert_non_null(strstr(t.urls[0].tmpl, "{t}"));
	assert_string_equal(t.urls[0].token, "3f9a1c0b7d2e4f6a8b9c0d1e2f3a4b5c.gif");
	assert_false(t.urls[0].known);
	assert_true(has_key(&t, "h:img.cdn-stats.example.com"));
	assert_true(has_key(&t, "d:example.net"));
	assert_string_equal(t.sender_domain, "example.net");
	assert_string_equal(t.x_mailer, "Lure Mailer 2.1");
	assert_true(t.lure_words >= CAMPAIGN_LURE_MIN_WORDS);
	assert_non_null(strstr(t.excerpt, "surveillance law"));
	vigil_message_free(m);
}

static void campaign_traits_freemail_sender_keys_on_address_not_domain(void **state)
{
	(void)state;
	vigil_message *m = scan_lure("Le Monde <Lemonde.Redaction@gmail.com>",
		"marie.martin@parliament.example", "Marie Martin",
		"http://px.example.org/p.png?id=bWFyaWUubWFydGluQHBhcmxpYW1lbnQuZXhhbXBsZQ", LURE);
	campaign_traits t;
	assert_int_equal(campaign__traits(&t, m), 0);
	assert_false(has_key(&t, "d:gmail.com"));
	assert_true(has_key(&t, "a:lemonde.redaction@gmail.com"));
	vigil_message_free(m);
}

static void campaign_traits_link_host_is_no_key_its_template_is(void **state)
{
	(void)state;
	char *text = g_strdup_printf(
		"From: Anna <anna@press-news.example.net>\r\n"
		"To: Marie Martin <marie.martin@parliament.example>\r\n"
		"Subject: Read this\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/html; charset=utf-8\r\n\r\n"
		"<p>%s</p><a href=\"https://www.search.example/amp/landing.example/"
		"bWFyaWUubWFydGluQHBhcmxpYW1lbnQuZXhhbXBsZQ\">the article</a>\r\n",
		LURE);
	vigil_message *m = test_scan(env, text);
	g_free(text);
	campaign_traits t;
	assert_int_equal(campaign__traits(&t, m), 0);
	assert_int_equal(t.n_urls, 1);
	assert_false(t.urls[0].fetched);
	/* a redirector's host serves everyone; the template with its token does not */
	assert_false(has_key(&t, "h:www.search.example"));
	assert_true(has_key(&t, "t:https://www.search.example/amp/landing.example/{t}"));
	vigil_message_free(m);
}

static void campaign_excerpt_is_capped_on_a_character_boundary(void **state)
{
	(void)state;
	GString *lure = g_string_new("");
	for (int i = 0; i < 500; i++)
		g_string_append(lure, i % 7 ? "\xc3\xa9" : " "); /* é */
	vigil_message *m = scan_lure("x@press.example.net", "marie.martin@parliament.example",
		"Marie Martin", "http://t.example.com/o/AbC123dEf456gHi789.gif", lure->str);
	g_string_free(lure, TRUE);
	campaign_traits t;
	assert_int_equal(campaign__traits(&t, m), 0);
	assert_non_null(t.excerpt);
	assert_true(strlen(t.excerpt) <= 600);
	assert_true(g_utf8_validate(t.excerpt, -1, NULL));
	vigil_message_free(m);
}

static void campaign_lure_hash_ignores_names_and_tokens(void **state)
{
	(void)state;
	vigil_message *a = scan_lure("x@press.example.net", "marie.martin@parliament.example",
		"Marie Martin", "http://t.example.com/o/AbC123dEf456gHi789.gif", LURE);
	vigil_message *b = scan_lure("x@press.example.net", "paul.weber@parliament.example",
		"Paul Weber", "http://t.example.com/o/ZyX987wVu654tSr321.gif", LURE);
	vigil_message *c = scan_lure("x@press.example.net", "paul.weber@parliament.example",
		"Paul Weber", "http://t.example.com/o/ZyX987wVu654tSr321.gif",
		"The quarterly newsletter of the association brings news from our members, a "
		"calendar of the spring meetings, photographs from the annual dinner, the "
		"treasurer's report and a call for volunteers who would like to help organise the "
		"summer fair in the town hall gardens next year with music and games.");
	campaign_traits ta, tb, tc;
	assert_int_equal(campaign__traits(&ta, a), 0);
	assert_int_equal(campaign__traits(&tb, b), 0);
	assert_int_equal(campaign__traits(&tc, c), 0);
	assert_int_equal(ta.lure_hash, tb.lure_hash);
	assert_true(__builtin_popcountll(ta.lure_hash ^ tc.lure_hash) >
		CAMPAIGN_LURE_MAX_DISTANCE);
	vigil_message_free(a);
	vigil_message_free(b);
	vigil_message_free(c);
}

/* ---- clustering --------------------------------------------------------- */

#define ITEM(id, v, camp, ...)                                                              \
	{                                                                                   \
		.message = id, .verdict = VIGIL_VERDICT_##v, .campaign = camp,              \
		.keys = (const char *[]){__VA_ARGS__},                                      \
		.n_keys = sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)      \
	}

static void campaign_cluster_groups_recon_by_shared_tracker(void **state)
{
	(void)state;
	campaign_item items[] = {
		ITEM(1, RECON, 0, "h:t.evil.example", "d:evil-news.example"),
		ITEM(2, RECON, 0, "h:t.evil.example", "d:other-news.example"),
		ITEM(3, RECON, 0, "h:t.other.example", "d:third.example"),
	};
	long g[3];
	size_t n;
	assert_int_equal(campaign__cluster(g, &n, items, 3), 0);
	assert_int_equal(n, 2);
	assert_int_equal(g[0], 0);
	assert_int_equal(g[1], 0);
	assert_int_equal(g[2], 1);
}

static void campaign_cluster_tracking_only_group_is_no_campaign(void **state)
{
	(void)state;
	/* a newsletter series: tracking, the same tracker, no seed */
	campaign_item items[] = {
		ITEM(1, TRACKING, 0, "h:click.news.example", "d:news.example"),
		ITEM(2, TRACKING, 0, "h:click.news.example", "d:news.example"),
		ITEM(3, SUSPICIOUS, 0, "d:news.example"),
	};
	long g[3];
	size_t n;
	assert_int_equal(campaign__cluster(g, &n, items, 3), 0);
	assert_int_equal(n, 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(g[i], -1);
}

static void campaign_cluster_newsletter_never_joins_through_sender_domain(void **state)
{
	(void)state;
	/* recon spoofing a real outlet's domain; the outlet's own newsletter
	 * shares the domain, not the tracker */
	campaign_item items[] = {
		ITEM(1, RECON, 0, "h:px.attacker.example", "d:outlet.example"),
		ITEM(2, TRACKING, 0, "h:click.outlet.example", "d:outlet.example"),
		ITEM(3, TRACKING, 0, "h:px.attacker.example", "d:outlet.example"),
	};
	long g[3];
	size_t n;
	assert_int_equal(campaign__cluster(g, &n, items, 3), 0);
	assert_int_equal(n, 1);
	assert_int_equal(g[0], 0);
	assert_int_equal(g[1], -1);
	assert_int_equal(g[2], 0); /* the same tracker: a recon message judged lower */
}

static void campaign_cluster_suspicious_joins_by_domain_and_lure(void **state)
{
	(void)state;
	campaign_item items[] = {
		ITEM(1, RECON, 0, "h:px.attacker.example", "d:lookalike.example"),
		ITEM(2, SUSPICIOUS, 0, "d:lookalike.example"),
		ITEM(3, SUSPICIOUS, 0, "a:someone@freemail.example"),
		ITEM(4, SUSPICIOUS, 0, "a:else@freemail.example"),
	};
	items[0].lure_hash = items[2].lure_hash = 0x0123456789abcdefULL;
	items[3].lure_hash = 0x0123456789abcdefULL ^ 0xf0f0f0f0f0f0f0f0ULL; /* far */
	for (int i = 0; i < 4; i++)
		items[i].lure_words = CAMPAIGN_LURE_MIN_WORDS;
	items[2].lure_hash ^= 0x7; /* three bits off: the same lure */
	long g[4];
	size_t n;
	assert_int_equal(campaign__cluster(g, &n, items, 4), 0);
	assert_int_equal(n, 1);
	assert_int_equal(g[1], 0);
	assert_int_equal(g[2], 0);
	assert_int_equal(g[3], -1);
}

static void campaign_cluster_short_lures_are_not_compared(void **state)
{
	(void)state;
	campaign_item items[] = {
		ITEM(1, RECON, 0, "h:a.example"),
		ITEM(2, SUSPICIOUS, 0, "h:b.example"),
	};
	items[0].lure_hash = items[1].lure_hash = 42;
	items[0].lure_words = items[1].lure_words = CAMPAIGN_LURE_MIN_WORDS - 1;
	long g[2];
	size_t n;
	assert_int_equal(campaign__cluster(g, &n, items, 2), 0);
	assert_int_equal(g[1], -1);
}

static void campaign_cluster_existing_campaigns_seed_and_merge(void **state)
{
	(void)state;
	/* two known campaigns, then a message carrying both their trackers */
	campaign_item items[] = {
		ITEM(10, TRACKING, 7, "h:one.example"),
		ITEM(11, TRACKING, 9, "h:two.example"),
		ITEM(12, SUSPICIOUS, 0, "h:one.example", "h:two.example"),
	};
	long g[3];
	size_t n;
	assert_int_equal(campaign__cluster(g, &n, items, 3), 0);
	assert_int_equal(n, 1);
	assert_int_equal(g[0], g[1]);
	assert_int_equal(g[1], g[2]);
}

static void campaign_cluster_empty_input(void **state)
{
	(void)state;
	size_t n = 99;
	assert_int_equal(campaign__cluster(NULL, &n, NULL, 0), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(campaign_traits_template_token_host_and_domain_keys),
		cmocka_unit_test(campaign_traits_freemail_sender_keys_on_address_not_domain),
		cmocka_unit_test(campaign_traits_link_host_is_no_key_its_template_is),
		cmocka_unit_test(campaign_excerpt_is_capped_on_a_character_boundary),
		cmocka_unit_test(campaign_lure_hash_ignores_names_and_tokens),
		cmocka_unit_test(campaign_cluster_groups_recon_by_shared_tracker),
		cmocka_unit_test(campaign_cluster_tracking_only_group_is_no_campaign),
		cmocka_unit_test(campaign_cluster_newsletter_never_joins_through_sender_domain),
		cmocka_unit_test(campaign_cluster_suspicious_joins_by_domain_and_lure),
		cmocka_unit_test(campaign_cluster_short_lures_are_not_compared),
		cmocka_unit_test(campaign_cluster_existing_campaigns_seed_and_merge),
		cmocka_unit_test(campaign_cluster_empty_input),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
