/* Unit tests for the impersonation detector (impersonation.c) and its
 * helpers (names.c, lookalike.c): claims in names, look-alike and homograph
 * domains, Reply-To, link text. The configuration is built by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "detect/detect.h"
#include "detect/names.h"
#include "testutil.h"

#include <idn2.h>

static test_env *env;
static GHashTable *freemail, *trackers;

static const struct {
	vigil_protected_kind kind;
	const char *name, *where;
} protected_list[] = {
	{VIGIL_PROTECTED_OUTLET, "Le Monde", "lemonde.fr"},
	{VIGIL_PROTECTED_OUTLET, "The Guardian", "theguardian.com"},
	{VIGIL_PROTECTED_OUTLET, "The New York Times", "nytimes.com"},
	{VIGIL_PROTECTED_OUTLET, "Le Figaro", "lefigaro.fr"},
	{VIGIL_PROTECTED_OUTLET, "Financial Times", "ft.com"},
	{VIGIL_PROTECTED_OUTLET, "Reuters", "reuters.com"},
	{VIGIL_PROTECTED_OUTLET, "Libération", "liberation.fr"},
	{VIGIL_PROTECTED_OUTLET, "BBC News", "bbc.co.uk"},
	{VIGIL_PROTECTED_OUTLET, "Der Spiegel", "spiegel.de"},
	{VIGIL_PROTECTED_OUTLET, "Politico Europe", "politico.eu"},
	{VIGIL_PROTECTED_PERSON, "Mathieu Keller", "mkeller@lemonde.fr"},
	{VIGIL_PROTECTED_PERSON, "Hannah Roussel", "hroussel@politico.eu"},
	{VIGIL_PROTECTED_PERSON, "Lucas Marchand", "lmarchand@liberation.fr"},
};

static int setup(void **state)
{
	env = test_env_new();
	vigil_config *cfg = env->ctx->cfg;
	vigil_arena *a = cfg->arena;
	size_t n = sizeof(protected_list) / sizeof(*protected_list);
	cfg->protected_ids = vigil_arena_calloc(a, n, sizeof(*cfg->protected_ids));
	for (size_t i = 0; i < n; i++) {
		vigil_protected *p = &cfg->protected_ids[i];
		p->kind = protected_list[i].kind;
		p->name = protected_list[i].name;
		if (p->kind == VIGIL_PROTECTED_OUTLET) {
			p->domain = protected_list[i].where;
		} else {
			p->address = protected_list[i].where;
			p->domain = strchr(p->address, '@') + 1;
		}
	}
	cfg->n_protected = n;
	static const char *own[] = {"parliament.example", "senate.example"};
	cfg->own_domains = own;
	cfg->n_own_domains = 2;
	/* Ours, not the configuration's: taken back before it is freed. */
	freemail = g_hash_table_new(g_str_hash, g_str_equal);
	static const char *fm[] = {"gmail.com", "yahoo.com", "outlook.com", "gmx.de", "proton.me"};
	for (size_t i = 0; i < sizeof(fm) / sizeof(*fm); i++)
		g_hash_table_insert(freemail, (char *)fm[i], (char *)"free");
	cfg->freemail = freemail;
	trackers = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(trackers, (char *)"list-manage.com", (char *)"mailchimp");
	cfg->tracker_hosts = trackers;
	return 0;
}

static int teardown(void **state)
{
	env->ctx->cfg->freemail = NULL;
	env->ctx->cfg->tracker_hosts = NULL;
	g_hash_table_destroy(freemail);
	g_hash_table_destroy(trackers);
	test_env_free(env);
	return 0;
}

/* A message with the given header lines (each ending in \r\n) and body. */
static vigil_message *scan(const char *headers, const char *html)
{
	char buf[8192];
	snprintf(buf, sizeof(buf),
		"%sTo: Alice Fischer <alice.fischer0@senate.example>\r\n"
		"Subject: A question for an article\r\n"
		"Date: Mon, 15 Feb 2021 09:00:00 +0000\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: %s; charset=utf-8\r\n\r\n%s\r\n",
		headers, html ? "text/html" : "text/plain", html ? html : "Hello, a question.");
	return test_scan(env, buf);
}

static const vigil_finding *find(const vigil_message *m, const char *id)
{
	for (size_t i = 0; i < m->findings.len; i++)
		if (strcmp(m->findings.items[i].id, id) == 0)
			return &m->findings.items[i];
	return NULL;
}

static size_t count_imp(const vigil_message *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->findings.len; i++)
		if (strcmp(m->findings.items[i].detector, "impersonation") == 0)
			n++;
	return n;
}

static int imp_score(const vigil_message *m)
{
	int n = 0;
	for (size_t i = 0; i < m->findings.len; i++)
		if (strcmp(m->findings.items[i].detector, "impersonation") == 0)
			n += m->findings.items[i].score;
	return n;
}

static void print_findings(const vigil_message *m)
{
	for (size_t i = 0; i < m->findings.len; i++)
		print_message("  %s %d %s\n", m->findings.items[i].id, m->findings.items[i].score,
			m->findings.items[i].reason);
}

/* Expects finding `id` (NULL: no impersonation finding at all). */
static void expect(const char *headers, const char *html, const char *id)
{
	vigil_message *m = scan(headers, html);
	if (id ? !find(m, id) : count_imp(m) != 0) {
		print_message("%s: expected %s\n", headers, id ? id : "nothing");
		print_findings(m);
	}
	if (id)
		assert_non_null(find(m, id));
	else
		assert_int_equal(count_imp(m), 0);
	vigil_message_free(m);
}

static void expect_from(const char *from, const char *id)
{
	char h[1024];
	snprintf(h, sizeof(h), "From: %s\r\n", from);
	expect(h, NULL, id);
}

/* The From domain given, with an ordinary display name. */
static void expect_domain(const char *domain, const char *id)
{
	char h[1024];
	snprintf(h, sizeof(h), "From: Claire Dupont <claire@%s>\r\n", domain);
	expect(h, NULL, id);
}

/* ---- primitives ---------------------------------------------------------- */

static void imp_names_fold_accents_case_and_separators(void **state)
{
	vigil_arena *a = vigil_arena_new();
	const char *w[NAMES_MAX_TOKENS];
	int n = names__tokens(w, NAMES_MAX_TOKENS, a, "LÉ  MÖNDE - Œuvre|Straße", false);
	assert_int_equal(n, 4);
	assert_string_equal(w[0], "le");
	assert_string_equal(w[1], "monde");
	assert_string_equal(w[2], "oeuvre");
	assert_string_equal(w[3], "strasse");
	n = names__tokens(w, NAMES_MAX_TOKENS, a, "lemonde2021.moreau", true);
	assert_int_equal(n, 2);
	assert_string_equal(w[0], "lemonde");
	assert_string_equal(w[1], "moreau");
	/* Invalid UTF-8 separates words instead of joining them. */
	n = names__tokens(w, NAMES_MAX_TOKENS, a, "le\xff" "monde", false);
	assert_int_equal(n, 2);
	vigil_arena_free(a);
}

static void imp_fold_distance_and_deletes(void **state)
{
	char f[64];
	lookalike__fold(f, sizeof(f), "lernonde", 8);
	assert_string_equal(f, "lemonde");
	lookalike__fold(f, sizeof(f), "nyt1mes", 7);
	char g[64];
	lookalike__fold(g, sizeof(g), "nytimes", 7);
	assert_string_equal(f, g);
	lookalike__fold(f, sizeof(f), "le-monnde", 9);
	assert_string_equal(f, "lemonde");
	assert_int_equal(lookalike__distance("reuters", 7, "reutres", 7, 2), 1); /* swap */
	assert_int_equal(lookalike__distance("reuters", 7, "reuter", 6, 2), 1);
	assert_int_equal(lookalike__distance("reuters", 7, "rauterz", 7, 2), 2);
	assert_int_equal(lookalike__distance("reuters", 7, "abcdefg", 7, 2), 3);
}

/* ---- names --------------------------------------------------------------- */

static void imp_display_name_claims_outlet_from_other_domain(void **state)
{
	expect_from("Emma Dupont | The New York Times <emma.dupont@press-desk.example.com>",
		"impersonation.display-name");
	expect_from("The Guardian (Adrien Laurent) <adrien@press-desk.example.com>",
		"impersonation.display-name");
	expect_from("Le Monde - Lucas Moreau <lucas@press-desk.example.com>",
		"impersonation.display-name");
	expect_from("NYTimes Desk <desk@press-desk.example.com>", "impersonation.display-name");
	expect_from("\"newsletter@lemonde.fr\" <x@press-desk.example.com>",
		"impersonation.display-name");
}

static void imp_real_journalist_from_outlet_domain_is_clean(void **state)
{
	expect_from("Lucas Marchand | Liberation <lmarchand@liberation.fr>", NULL);
	expect_from("Mathieu Keller | Le Monde <mkeller@lemonde.fr>", NULL);
	expect_from("Le Monde <newsletter@lemonde.fr>", NULL);
	expect_from("BBC News <newsletter@bbc.co.uk>", NULL);
	/* Another journalist of the same outlet, not on the list. */
	expect_from("Claire Petit | Le Monde <cpetit@lemonde.fr>", NULL);
}

static void imp_subdomain_of_outlet_is_legitimate(void **state)
{
	expect_from("Le Monde <news@nl.lemonde.fr>", NULL);
	expect("From: The New York Times <nytdirect@email.nytimes.com>\r\n",
		"<a href=\"https://www.nytimes.com/2021/02/15/world/x.html\">www.nytimes.com</a>"
		"<img src=\"https://static01.nyt.com/a.png\">", NULL);
}

static void imp_freemail_local_part_names_outlet(void **state)
{
	expect_from("Lucas Moreau <lemonde.moreau@gmail.com>", "impersonation.freemail-outlet");
	expect_from("Lucas Moreau <lemondepress@gmail.com>", "impersonation.freemail-outlet");
	/* Both the name and the address claim it: one finding, the specific one. */
	vigil_message *m = scan("From: Le Monde - Lucas Moreau <lemonde.moreau@gmail.com>\r\n", NULL);
	assert_non_null(find(m, "impersonation.freemail-outlet"));
	assert_null(find(m, "impersonation.display-name"));
	assert_int_equal(imp_score(m), 50);
	vigil_message_free(m);
}

static void imp_short_outlet_name_needs_word_boundary(void **state)
{
	expect_from("Draft Review Team <drafts@press-desk.example.com>", NULL);
	expect_from("Softly Spoken <soft@press-desk.example.com>", NULL);
	expect_from("Claire Lefebvre | FT <claire@press-desk.example.com>",
		"impersonation.display-name");
	/* Never in an address: "ft" hides in too many local parts. */
	expect_from("Claire Lefebvre <claire.ft@press-desk.example.com>", NULL);
	expect_from("Jo <bbc.fan@press-desk.example.com>", NULL);
}

static void imp_accents_and_case_in_names(void **state)
{
	expect_from("LIBÉRATION - service presse <presse@press-desk.example.com>",
		"impersonation.display-name");
	expect_from("Libe\xcc\x81ration <presse@press-desk.example.com>", /* combining accent */
		"impersonation.display-name");
	expect_from("lé mönde <x@press-desk.example.com>", "impersonation.display-name");
	expect_from("THE  GUARDIAN <x@press-desk.example.com>", "impersonation.display-name");
	expect_from("Ｌｅ Ｍｏｎｄｅ <x@press-desk.example.com>", "impersonation.display-name");
}

static void imp_person_name_alone_is_weak(void **state)
{
	/* A namesake of a protected journalist writing from free-mail: noted,
	 * but not enough for a verdict on its own. */
	vigil_message *m = scan("From: Hannah Roussel <hannah.roussel39@gmail.com>\r\n", NULL);
	const vigil_finding *f = find(m, "impersonation.freemail-person");
	assert_non_null(f);
	assert_true(f->score < env->ctx->cfg->deception_threshold);
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN);
	vigil_message_free(m);
	expect_from("KELLER Mathieu <mk@press-desk.example.com>", "impersonation.display-name-person");
	/* Two words that only begin like the name are not the name. */
	expect_from("Mathieu Kellerman <mk@press-desk.example.com>", NULL);
}

static void imp_constituents_and_internal_mail_are_clean(void **state)
{
	expect_from("Pierre Moreau <pierre.moreau51@gmail.com>", NULL);
	expect_from("Sophie Fontaine <sophie.fontaine52@gmx.de>", NULL);
	expect_from("Revue de presse - Le Monde <presse@parliament.example>", NULL);
	expect("From: Service IT <it@senate.example>\r\n"
		"Reply-To: helpdesk@parliament.example\r\n", NULL, NULL);
}

static void imp_dkim_signed_by_outlet_is_legitimate(void **state)
{
	expect("From: The Guardian <news@guardian-mailer.example.com>\r\n",
		NULL, "impersonation.display-name");
	/* Placed after the headers the helper adds, the topmost field is ours. */
	expect("Authentication-Results: mx1.senate.example; dkim=pass header.d=theguardian.com\r\n"
		"From: The Guardian <news@guardian-mailer.example.com>\r\n", NULL, NULL);
}

/* ---- domains ------------------------------------------------------------- */

static void imp_lookalike_added_word(void **state)
{
	expect_domain("nytimes-news.com", "impersonation.lookalike-domain");
	expect_domain("lemonde-info.fr", "impersonation.lookalike-domain");
	expect_domain("news-lemonde.com", "impersonation.lookalike-domain");
	expect_domain("lemondenews.com", "impersonation.lookalike-domain");
	expect_domain("mail.the-reuters-desk.net", "impersonation.lookalike-domain");
}

static void imp_lookalike_edit_distance_and_swaps(void **state)
{
	expect_domain("reutres.com", "impersonation.lookalike-domain");
	expect_domain("reuter.com", "impersonation.lookalike-domain");
	expect_domain("spiegle.de", "impersonation.lookalike-domain");
	expect_domain("theguardain.com", "impersonation.lookalike-domain");
	expect_domain("thegaurdain.com", "impersonation.lookalike-domain"); /* two swaps, long name */
	expect_domain("lefigar0.fr", "impersonation.lookalike-domain");
	expect_domain("lemonnde.fr", "impersonation.lookalike-domain");
	/* Far enough to be another name. */
	expect_domain("figures.fr", NULL);
	expect_domain("example.org", NULL);
}

/* Answers are remembered per scanner (impersonation.c's memo): asked again,
 * and after the memo filled up and was emptied, they stay the same. */
static void imp_lookalike_answers_stay_the_same_when_remembered(void **state)
{
	for (int round = 0; round < 3; round++) {
		expect_domain("reutres.com", "impersonation.lookalike-domain");
		expect_domain("lemonde.fr.example.net", "impersonation.lookalike-domain");
		expect_domain("example.org", NULL);
	}
	char d[64];
	for (int i = 0; i < 4200; i++) { /* more hosts than the memo keeps (4096) */
		snprintf(d, sizeof(d), "host%d.example.net", i);
		expect_domain(d, NULL);
	}
	expect_domain("reutres.com", "impersonation.lookalike-domain");
	expect_domain("example.org", NULL);
}

static void imp_lookalike_rn_m(void **state)
{
	expect_domain("lernonde.fr", "impersonation.lookalike-domain");
	expect_domain("nytirnes.com", "impersonation.lookalike-domain");
	expect_domain("po1itico.eu", "impersonation.lookalike-domain");
}

static void imp_lookalike_other_tld(void **state)
{
	expect_domain("lemonde.com", "impersonation.lookalike-domain");
	expect_domain("ft.co", "impersonation.lookalike-domain");
	expect_domain("bbc.com", "impersonation.lookalike-domain");
	expect_domain("nytimes.co.uk", "impersonation.lookalike-domain");
}

static void imp_lookalike_short_label_only_exact_other_tld(void **state)
{
	expect_domain("fx.com", NULL);
	expect_domain("ftt.com", NULL);
	expect_domain("aft.com", NULL);
	expect_domain("bbcc.com", NULL);
	expect_domain("bbc-travel.com", NULL);
}

static void imp_protected_domain_as_subdomain(void **state)
{
	expect_domain("lemonde.fr.example.net", "impersonation.lookalike-domain");
	expect_domain("www.ft.com.secure-login.example", "impersonation.lookalike-domain");
	/* glued on with a hyphen: the registrable domain is fr-news.example */
	expect_domain("lemonde.fr-news.example", "impersonation.lookalike-domain");
	expect("From: Claire Dupont <claire@press-desk.example.com>\r\n",
		"<a href=\"https://theguardian.com.article-view.example/2021/x\">read</a>",
		"impersonation.lookalike-link");
}

static void imp_own_domain_lookalike(void **state)
{
	expect_domain("parliament-mail.com", "impersonation.lookalike-domain");
	expect_domain("senate-example.org", "impersonation.lookalike-domain");
	expect_domain("parliarnent.example", "impersonation.lookalike-domain");
	/* The own domains themselves, and each other, are never look-alikes. */
	expect_domain("senate.example", NULL);
}

static void imp_lookalike_in_reply_to_and_links(void **state)
{
	expect("From: Claire Dupont <claire@press-desk.example.com>\r\n"
		"Reply-To: claire@lemonde-redaction.fr\r\n", NULL, "impersonation.lookalike-domain");
	vigil_message *m = scan("From: Claire Dupont <claire@press-desk.example.com>\r\n",
		"<p>See <a href=\"https://www.nytimes-article.com/a\">the article</a>"
		"<a href=\"https://www.nytimes-article.com/b\">again</a></p>");
	const vigil_finding *f = find(m, "impersonation.lookalike-link");
	assert_non_null(f);
	assert_true(f->score < 50); /* citing a site is weaker than sending from it */
	assert_int_equal(count_imp(m), 1); /* one host, one finding */
	vigil_message_free(m);
	/* The outlet's own mail may use its other domains. */
	expect("From: Le Monde <newsletter@lemonde.fr>\r\n"
		"Return-Path: <bounce@lemonde-mail.fr>\r\n",
		"<a href=\"https://abo.lemonde-services.fr/x\">Abonnez-vous</a>", NULL);
}

/* A Cyrillic "е" (U+0435) in place of the Latin "e" of lemonde.fr. */
static void imp_homograph_cyrillic_a_label(void **state)
{
	char *ascii = NULL;
	assert_int_equal(idn2_to_ascii_8z("l\xd0\xb5monde.fr", &ascii, 0), IDN2_OK);
	assert_non_null(strstr(ascii, "xn--"));
	char from[256];
	snprintf(from, sizeof(from), "Le Monde <redaction@%s>", ascii);
	vigil_message *m = scan(vigil_arena_printf(env->ctx->cfg->arena, "From: %s\r\n", from), NULL);
	assert_non_null(find(m, "impersonation.homograph"));
	assert_true(find(m, "impersonation.homograph")->score >= 70);
	assert_null(find(m, "impersonation.lookalike-domain"));
	vigil_message_free(m);
	idn2_free(ascii);

	/* Homograph with an added word, in a link. */
	assert_int_equal(idn2_to_ascii_8z("nyt\xd1\x96mes-news.com", &ascii, 0), IDN2_OK);
	char html[512];
	snprintf(html, sizeof(html), "<a href=\"https://%s/article\">read</a>", ascii);
	expect("From: Claire Dupont <claire@press-desk.example.com>\r\n", html,
		"impersonation.homograph");
	idn2_free(ascii);
}

static void imp_mixed_script_label(void **state)
{
	char *ascii = NULL;
	/* "pаypal" with a Cyrillic а: not a protected name, but mixed scripts. */
	assert_int_equal(idn2_to_ascii_8z("p\xd0\xb0ypal-secure.com", &ascii, 0), IDN2_OK);
	char h[256];
	snprintf(h, sizeof(h), "From: Service <x@%s>\r\n", ascii);
	expect(h, NULL, "impersonation.mixed-script");
	idn2_free(ascii);
	/* A single-script IDN is ordinary. */
	assert_int_equal(idn2_to_ascii_8z("b\xc3\xbc" "cher.de", &ascii, 0), IDN2_OK);
	snprintf(h, sizeof(h), "From: Buch <x@%s>\r\n", ascii);
	expect(h, NULL, NULL);
	idn2_free(ascii);
}

/* ---- Reply-To and links ---------------------------------------------------- */

static void imp_reply_to_diverges(void **state)
{
	vigil_message *m = scan("From: Claire Dupont <claire@press-desk.example.com>\r\n"
		"Reply-To: claire.dupont.press@gmail.com\r\n", NULL);
	const vigil_finding *f = find(m, "impersonation.reply-to-diverges");
	assert_non_null(f);
	assert_non_null(strstr(f->reason, "free-mail"));
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN); /* weak on its own */
	vigil_message_free(m);
	expect("From: Claire Dupont <claire@press-desk.example.com>\r\n"
		"Reply-To: claire@www.press-desk.example.com\r\n", NULL, NULL);
	/* A mailing list's Reply-To. */
	expect("From: Claire Dupont <claire@press-desk.example.com>\r\n"
		"Reply-To: discuss@lists.example.org\r\n"
		"List-Unsubscribe: <mailto:leave@lists.example.org>\r\n", NULL, NULL);
}

static void imp_link_text_names_protected_outlet_goes_elsewhere(void **state)
{
	vigil_message *m = scan("From: Claire Dupont <claire.dupont@gmail.com>\r\n",
		"<a href=\"http://read.article-view.example.net/r?id=1\">www.lemonde.fr/article</a>"
		"<a href=\"http://read.article-view.example.net/r?id=2\">https://www.lemonde.fr/b</a>");
	const vigil_finding *f = find(m, "impersonation.link-text-protected");
	assert_non_null(f);
	assert_true(f->score >= 50);
	assert_non_null(strstr(f->reason, "Le Monde"));
	vigil_message_free(m);
}

/* Own domains often are not public suffixes (.example here, .local or .corp
 * on intranets): link text naming one is still read as that host. Other
 * names outside the list stay words. */
static void imp_link_text_names_own_domain_outside_public_suffixes(void **state)
{
	vigil_message *m = scan("From: IT Service <it@helpdesk-portal.example.net>\r\n",
		"<a href=\"https://login.helpdesk-portal.example.net/p\">intranet.parliament.example/login</a>");
	const vigil_finding *f = find(m, "impersonation.link-text-protected");
	assert_non_null(f);
	assert_non_null(strstr(f->reason, "intranet.parliament.example (your organisation)"));
	vigil_message_free(m);
	/* Its own mail linking to its own hosts, and names nobody protects. */
	expect("From: Claire Dupont <claire@parliament.example>\r\n",
		"<a href=\"https://intranet.parliament.example/x\">parliament.example/x</a>", NULL);
	expect("From: Claire Dupont <claire@press-desk.example.com>\r\n",
		"<a href=\"https://one.example.net/\">portal.corp</a>"
		"<a href=\"https://one.example.net/\">minutes.docx</a>", NULL);
}

static void imp_newsletter_click_tracking_is_not_protected_mismatch(void **state)
{
	expect("From: Le Monde <newsletter@lemonde.fr>\r\n",
		"<a href=\"https://click.esp-mailer.example.com/c/abc123\">www.lemonde.fr</a>", NULL);
	/* An ordinary sender linking its own site through a known tracker. */
	expect("From: Shop <news@shop.example.com>\r\n",
		"<a href=\"https://shop.us1.list-manage.com/track/click?u=1\">www.shop-blog.example.org</a>",
		NULL);
	/* A link-protection service carries the address along. */
	expect("From: Claire Dupont <claire@senate.example>\r\n",
		"<a href=\"https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.lemonde.fr"
		"%2Fa&amp;data=1\">www.lemonde.fr/a</a>", NULL);
}

static void imp_link_text_mismatch_counts_once(void **state)
{
	vigil_message *m = scan("From: Claire Dupont <claire@press-desk.example.com>\r\n",
		"<a href=\"http://one.example.net/\">www.bank.example.org</a>"
		"<a href=\"http://two.example.net/\">www.other.example.org</a>"
		"<a href=\"http://three.example.net/\">www.third.example.org</a>");
	const vigil_finding *f = find(m, "impersonation.link-text-mismatch");
	assert_non_null(f);
	assert_non_null(strstr(f->reason, "3 links"));
	assert_int_equal(imp_score(m), f->score);
	vigil_message_free(m);
}

static void imp_no_config_means_no_identity_findings(void **state)
{
	/* A fresh context with no lists: nothing to impersonate. */
	test_env *e = test_env_new();
	const char *text = "From: Le Monde <x@lemonde-info.fr>\r\nTo: a@b.example\r\n"
			   "Subject: s\r\n\r\nbody\r\n";
	vigil_message *m = test_scan(e, text);
	assert_int_equal(count_imp(m), 0);
	vigil_message_free(m);
	test_env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(imp_names_fold_accents_case_and_separators),
		cmocka_unit_test(imp_fold_distance_and_deletes),
		cmocka_unit_test(imp_display_name_claims_outlet_from_other_domain),
		cmocka_unit_test(imp_real_journalist_from_outlet_domain_is_clean),
		cmocka_unit_test(imp_subdomain_of_outlet_is_legitimate),
		cmocka_unit_test(imp_freemail_local_part_names_outlet),
		cmocka_unit_test(imp_short_outlet_name_needs_word_boundary),
		cmocka_unit_test(imp_accents_and_case_in_names),
		cmocka_unit_test(imp_person_name_alone_is_weak),
		cmocka_unit_test(imp_constituents_and_internal_mail_are_clean),
		cmocka_unit_test(imp_dkim_signed_by_outlet_is_legitimate),
		cmocka_unit_test(imp_lookalike_added_word),
		cmocka_unit_test(imp_lookalike_edit_distance_and_swaps),
		cmocka_unit_test(imp_lookalike_answers_stay_the_same_when_remembered),
		cmocka_unit_test(imp_lookalike_rn_m),
		cmocka_unit_test(imp_lookalike_other_tld),
		cmocka_unit_test(imp_lookalike_short_label_only_exact_other_tld),
		cmocka_unit_test(imp_protected_domain_as_subdomain),
		cmocka_unit_test(imp_own_domain_lookalike),
		cmocka_unit_test(imp_lookalike_in_reply_to_and_links),
		cmocka_unit_test(imp_homograph_cyrillic_a_label),
		cmocka_unit_test(imp_mixed_script_label),
		cmocka_unit_test(imp_reply_to_diverges),
		cmocka_unit_test(imp_link_text_names_protected_outlet_goes_elsewhere),
		cmocka_unit_test(imp_link_text_names_own_domain_outside_public_suffixes),
		cmocka_unit_test(imp_newsletter_click_tracking_is_not_protected_mismatch),
		cmocka_unit_test(imp_link_text_mismatch_counts_once),
		cmocka_unit_test(imp_no_config_means_no_identity_findings),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
