/*
 * A message's campaign traits: its tracker URLs with their templates and
 * tokens, its sender infrastructure, the grouping keys made of them, and a
 * similarity hash and excerpt of its lure. Reads the message model and the
 * findings; decides nothing about groups (cluster.c does).
 */
#include <libpsl.h>
#include <string.h>

#include "campaign/campaign.h"
#include "config/config.h"
#include "detect/token.h"
#include "detect/tracker.h"
#include "scanner.h"

#define TEMPLATE_MAX 2048
#define TOKEN_MAX 512
/* Words of a body read for the lure hash: a lure is said in its first
 * paragraphs, and a long newsletter must not cost more. */
#define LURE_MAX_WORDS 4000
/* Bytes of visible text kept as the campaign's sample of the lure. */
#define EXCERPT_BYTES 600
/* Recipient name parts removed from the lure ("Dear Marie Martin"). */
#define NAME_PARTS_MAX 32

static bool is_tracking(const vigil_finding *f)
{
	return (f->cls == VIGIL_CLASS_TRACKING || f->cls == VIGIL_CLASS_TOKEN) && f->artifact &&
		strcmp(f->artifact, "url") == 0 && f->value;
}

static int add_key(campaign_traits *t, vigil_arena *a, size_t *cap, const char *prefix,
	const char *v1, const char *v2)
{
	const char *k = v2 ? vigil_arena_printf(a, "%s%s|%s", prefix, v1, v2)
			   : vigil_arena_printf(a, "%s%s", prefix, v1);
	if (!k)
		return VIGIL_ENOMEM;
	for (size_t i = 0; i < t->n_keys; i++)
		if (strcmp(t->keys[i], k) == 0)
			return 0;
	if (t->n_keys == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		const char **nk = vigil_arena_alloc(a, ncap * sizeof(*nk));
		if (!nk)
			return VIGIL_ENOMEM;
		if (t->n_keys)
			memcpy(nk, t->keys, t->n_keys * sizeof(*nk));
		t->keys = nk;
		*cap = ncap;
	}
	t->keys[t->n_keys++] = k;
	return 0;
}

/* The URLs that tracking and token findings point at, once each. */
static int collect_urls(campaign_traits *t, const vigil_message *msg)
{
	vigil_arena *a = msg->arena;
	size_t n = 0;
	for (size_t i = 0; i < msg->findings.len; i++)
		n += is_tracking(&msg->findings.items[i]);
	if (!n)
		return 0;
	t->urls = vigil_arena_calloc(a, n, sizeof(*t->urls));
	if (!t->urls)
		return VIGIL_ENOMEM;
	for (size_t i = 0; i < msg->urls.len; i++) {
		const vigil_url *u = &msg->urls.items[i];
		const char *value = u->url ? u->url : u->raw;
		if (!value || !u->host)
			continue;
		bool tracked = false, known = false;
		for (size_t j = 0; j < msg->findings.len; j++) {
			const vigil_finding *f = &msg->findings.items[j];
			if (is_tracking(f) && strcmp(f->value, value) == 0) {
				tracked = true;
				known |= f->id && strcmp(f->id, "tracker.known-host") == 0;
			}
		}
		if (!tracked)
			continue;
		bool dup = false;
		for (size_t j = 0; j < t->n_urls && !dup; j++)
			dup = strcmp(t->urls[j].url, value) == 0;
		if (dup || t->n_urls == n)
			continue;
		campaign_url *cu = &t->urls[t->n_urls++];
		cu->url = value;
		cu->host = u->host;
		cu->known = known;
		cu->fetched = tracker__is_fetched(u);
		char tmpl[TEMPLATE_MAX], tok[TOKEN_MAX];
		if (token__url_template(tmpl, sizeof(tmpl), tok, sizeof(tok), u)) {
			if (!(cu->tmpl = vigil_arena_strdup(a, tmpl)) ||
				!(cu->token = vigil_arena_strdup(a, tok)))
				return VIGIL_ENOMEM;
		}
	}
	return 0;
}

/* ---- the lure --------------------------------------------------------- */

typedef struct lure {
	const char *names[NAME_PARTS_MAX]; /* lower case */
	size_t name_len[NAME_PARTS_MAX];
	size_t n_names;
	int counts[64];
	uint64_t prev; /* hash of the previous kept word, 0 at the start */
	int words;
	char excerpt[EXCERPT_BYTES + 8];
	size_t ex_len;
	bool ex_space;
} lure;

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static bool word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c >= 0x80;
}

static void add_name_parts(lure *l, vigil_arena *a, const char *s)
{
	if (!s)
		return;
	for (const char *p = s; *p && l->n_names < NAME_PARTS_MAX;) {
		while (*p && !word_byte((unsigned char)*p))
			p++;
		const char *w = p;
		while (*p && word_byte((unsigned char)*p))
			p++;
		size_t n = (size_t)(p - w);
		if (n < 3)
			continue;
		char *c = vigil_arena_strndup(a, w, n);
		if (!c)
			return; /* fewer names removed: a weaker hash, not an error */
		for (size_t i = 0; i < n; i++)
			c[i] = (char)lower((unsigned char)c[i]);
		l->names[l->n_names] = c;
		l->name_len[l->n_names++] = n;
	}
}

static void add_recipients(lure *l, vigil_arena *a, const vigil_mailbox_vec *v)
{
	for (size_t i = 0; i < v->len; i++) {
		add_name_parts(l, a, v->items[i].name);
		const char *addr = v->items[i].address;
		const char *at = addr ? strchr(addr, '@') : NULL;
		if (at) {
			char *local = vigil_arena_strndup(a, addr, (size_t)(at - addr));
			add_name_parts(l, a, local);
		}
	}
}

static void excerpt_put(lure *l, const char *s, size_t n)
{
	if (l->ex_len >= EXCERPT_BYTES)
		return;
	for (size_t i = 0; i < n && l->ex_len < EXCERPT_BYTES; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			l->ex_space = l->ex_len > 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			continue;
		if (l->ex_space) {
			l->excerpt[l->ex_len++] = ' ';
			l->ex_space = false;
			if (l->ex_len >= EXCERPT_BYTES)
				break;
		}
		l->excerpt[l->ex_len++] = (char)c;
	}
}

/* A word of the lure: names, numbers and token-shaped strings say who it was
 * for and when, not what it says, and are left out. Word pairs go into a
 * simhash, so the hash follows the text's wording and order. */
static void lure_word(lure *l, const char *w, size_t n)
{
	if (n < 3 || n > 40 || l->words >= LURE_MAX_WORDS)
		return;
	char buf[41];
	for (size_t i = 0; i < n; i++) {
		if (w[i] >= '0' && w[i] <= '9')
			return;
		buf[i] = (char)lower((unsigned char)w[i]);
	}
	if (token__shaped(w, n))
		return;
	for (size_t i = 0; i < l->n_names; i++)
		if (l->name_len[i] == n && memcmp(l->names[i], buf, n) == 0)
			return;
	uint64_t h = token__hash(buf, n, 7);
	if (l->prev) {
		uint64_t pair = token__hash(&(uint64_t[]){l->prev, h}, 2 * sizeof(uint64_t), 11);
		for (int b = 0; b < 64; b++)
			l->counts[b] += (pair >> b) & 1 ? 1 : -1;
	}
	l->prev = h;
	l->words++;
}

/* Skips an HTML element or comment starting at s[i] == '<'; returns the
 * index after it. <style> and <script> lose their content too. */
static size_t skip_markup(const char *s, size_t n, size_t i)
{
	static const char *const raw_text[] = {"style", "script", "title"};
	for (size_t k = 0; k < sizeof(raw_text) / sizeof(raw_text[0]); k++) {
		size_t tl = strlen(raw_text[k]);
		if (i + 1 + tl < n && strncasecmp(s + i + 1, raw_text[k], tl) == 0 &&
			!word_byte((unsigned char)s[i + 1 + tl])) {
			char close[16];
			snprintf(close, sizeof(close), "</%s", raw_text[k]);
			const char *e = strcasestr(s + i, close);
			if (!e)
				return n;
			i = (size_t)(e - s);
			break;
		}
	}
	if (i + 3 < n && memcmp(s + i, "<!--", 4) == 0) {
		const char *e = strstr(s + i + 4, "-->");
		return e ? (size_t)(e - s) + 3 : n;
	}
	const char *e = memchr(s + i, '>', n - i);
	return e ? (size_t)(e - s) + 1 : n;
}

static void lure_text(lure *l, const char *s, size_t n, bool html)
{
	size_t i = 0;
	while (i < n && l->words < LURE_MAX_WORDS) {
		unsigned char c = (unsigned char)s[i];
		if (html && c == '<' && i + 1 < n &&
			(word_byte((unsigned char)s[i + 1]) || s[i + 1] == '/' || s[i + 1] == '!')) {
			i = skip_markup(s, n, i);
			excerpt_put(l, " ", 1);
			continue;
		}
		if (html && c == '&') {
			/* An entity is a separator; the common ones keep the excerpt
			 * readable. */
			size_t j = i + 1;
			while (j < n && j - i < 10 && s[j] != ';' && word_byte((unsigned char)s[j]))
				j++;
			if (j < n && s[j] == ';') {
				const char *rep = " ";
				if (strncmp(s + i, "&amp;", 5) == 0)
					rep = "&";
				else if (strncmp(s + i, "&quot;", 6) == 0)
					rep = "\"";
				else if (strncmp(s + i, "&#39;", 5) == 0 || strncmp(s + i, "&rsquo;", 7) == 0)
					rep = "'";
				excerpt_put(l, rep, strlen(rep));
				i = j + 1;
				continue;
			}
		}
		if (!word_byte(c)) {
			excerpt_put(l, s + i, 1);
			i++;
			continue;
		}
		size_t w = i;
		while (i < n && word_byte((unsigned char)s[i]))
			i++;
		excerpt_put(l, s + w, i - w);
		lure_word(l, s + w, i - w);
	}
}

static int lure_of(campaign_traits *t, const vigil_message *msg)
{
	const vigil_body *plain = NULL, *html = NULL;
	for (size_t i = 0; i < msg->bodies.len; i++) {
		const vigil_body *b = &msg->bodies.items[i];
		if (b->nested || !b->text || !b->len || !b->content_type)
			continue;
		if (!plain && strcmp(b->content_type, "text/plain") == 0)
			plain = b;
		if (!html && strcmp(b->content_type, "text/html") == 0)
			html = b;
	}
	const vigil_body *b = plain ? plain : html;
	if (!b)
		return 0;
	lure *l = vigil_arena_calloc(msg->arena, 1, sizeof(*l));
	if (!l)
		return VIGIL_ENOMEM;
	add_recipients(l, msg->arena, &msg->to);
	add_recipients(l, msg->arena, &msg->cc);
	add_recipients(l, msg->arena, &msg->delivered_to);
	lure_text(l, b->text, b->len, b == html);
	uint64_t h = 0;
	for (int i = 0; i < 64; i++)
		if (l->counts[i] > 0)
			h |= (uint64_t)1 << i;
	t->lure_hash = h;
	t->lure_words = l->words;
	/* The cap may have cut a character: drop its first bytes. */
	size_t n = l->ex_len;
	if (n) {
		size_t j = n - 1;
		while (j && ((unsigned char)l->excerpt[j] & 0xC0) == 0x80)
			j--;
		unsigned char lead = (unsigned char)l->excerpt[j];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (j + need > n)
			n = j;
	}
	if (n && !(t->excerpt = vigil_arena_strndup(msg->arena, l->excerpt, n)))
		return VIGIL_ENOMEM;
	return 0;
}

/* ---- keys ------------------------------------------------------------- */

static bool is_freemail(const vigil_ctx *ctx, const char *domain)
{
	return ctx && ctx->cfg->freemail && g_hash_table_contains(ctx->cfg->freemail, domain);
}

int campaign__traits(campaign_traits *out, const vigil_message *msg)
{
	memset(out, 0, sizeof(*out));
	vigil_arena *a = msg->arena;
	const vigil_ctx *ctx = msg->ctx;
	int rc;
	if (msg->from.domain && ctx && ctx->psl) {
		const char *d = psl_registrable_domain(ctx->psl, msg->from.domain);
		out->sender_domain = d ? d : msg->from.domain;
	} else {
		out->sender_domain = msg->from.domain;
	}
	out->x_mailer = msg->x_mailer ? msg->x_mailer : msg->user_agent;
	if ((rc = collect_urls(out, msg)) || (rc = lure_of(out, msg)))
		return rc;

	size_t cap = 0;
	const char *sd = out->sender_domain;
	bool freemail = sd && is_freemail(ctx, sd);
	out->sender_freemail = freemail;
	bool own = sd && ctx && config__is_own_domain(ctx->cfg, sd);
	for (size_t i = 0; i < out->n_urls; i++) {
		const campaign_url *u = &out->urls[i];
		/* A tracking service's host and URL shape are shared by all its
		 * customers: only the template together with the sender says one
		 * sender. An unlisted host that the message makes the reader's
		 * client fetch on opening is the sender's own tracker; a link's
		 * host (a redirector, a search engine, a file host) says less,
		 * and only its template with the token counts. */
		if (!u->known && u->fetched && (rc = add_key(out, a, &cap, "h:", u->host, NULL)))
			return rc;
		if (u->tmpl && (rc = add_key(out, a, &cap, "t:", u->tmpl, u->known ? sd : NULL)))
			return rc;
	}
	if (sd && !freemail && !own && (rc = add_key(out, a, &cap, "d:", sd, NULL)))
		return rc;
	if (sd && freemail && msg->from.address) {
		char *addr = vigil_arena_strdup(a, msg->from.address);
		if (!addr)
			return VIGIL_ENOMEM;
		for (char *p = addr; *p; p++)
			*p = (char)lower((unsigned char)*p);
		if ((rc = add_key(out, a, &cap, "a:", addr, NULL)))
			return rc;
	}
	return 0;
}
