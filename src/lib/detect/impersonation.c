/*
 * The impersonation detector: mail that borrows the identity of a protected
 * outlet or person, or of the organisation itself. Display names and local
 * parts that name a protected identity from another domain, look-alike and
 * homograph domains (sender fields and links), replies diverted to another
 * domain, link text that names one host while the link goes to another.
 * It does not judge authentication results (auth.c) nor trackers.
 *
 * Cost. Everything derived from the configuration (normalised names, domain
 * labels, their folded forms and deletion variants, uspoof skeletons) is
 * built once per scanner and kept in hash tables. Per message, each name is
 * cut into at most NAMES_MAX_TOKENS words and each host into its labels; the
 * checks are hash lookups whose number depends on those lengths only (a few
 * hundred per host at most), not on the number of protected entries.
 */
#include <stdlib.h>
#include <string.h>
#include <unicode/uspoof.h>

#include "detect/detect.h"
#include "detect/names.h"
#include "extract/extract.h"

/* After glib (through detect.h): idn2.h defines G_GNUC_DEPRECATED only when
 * glib has not. */
#include <idn2.h>

/* ---- per-configuration tables ------------------------------------------ */

/* A registrable domain that must not be imitated: a protected outlet's or
 * person's, or one of the organisation's own. */
typedef struct imp_target {
	const char *domain; /* registrable, lower-case A-label: "lemonde.fr" */
	const char *label;  /* its first label: "lemonde" */
	const char *suffix; /* the rest: "fr" */
	const char *folded; /* lookalike__fold(label) */
	size_t folded_len;
	const char *owner;  /* who it belongs to, for reasons: "Le Monde" */
} imp_target;

/* A normalised name that claims a protected identity. */
typedef struct imp_claim {
	const vigil_protected *id;
	bool partial;    /* may match inside a longer word ("lemondepress") */
	bool short_name; /* 3 letters or fewer: a whole display-name word only */
} imp_claim;

typedef struct imp_list {
	const void *item;
	struct imp_list *next;
} imp_list;

struct imp_cache {
	const vigil_config *cfg; /* the configuration these tables were built from */
	vigil_arena *arena;
	GHashTable *claims;    /* concatenated words of a name -> imp_list of imp_claim */
	size_t claim_max;      /* longest key of claims, bytes */
	GHashTable *targets;   /* registrable domain -> imp_target */
	GHashTable *by_label;  /* label -> imp_list of imp_target */
	GHashTable *by_folded; /* folded label (4+ letters) -> imp_list of imp_target */
	GHashTable *by_delete; /* deletion variant of a folded label (5+) -> imp_list */
	GHashTable *by_skeleton; /* lower-cased uspoof skeleton of a domain -> imp_target */
	size_t folded_min, folded_max; /* lengths of the labels in by_delete */
	USpoofChecker *spoof;
	/* lookalike() of the hosts this scanner has seen: host (g_malloc'd)
	 * -> lk_hit (g_malloc'd; a miss has no target). Mail from one sender
	 * links the same hosts message after message, and the checks cost
	 * dozens of table look-ups per host. Emptied when it reaches
	 * LOOKALIKE_MEMO_MAX hosts. */
	GHashTable *lookalike_memo;
};

#define LOOKALIKE_MEMO_MAX 4096

/* Shortest folded label that an added word or a near spelling may imitate:
 * with 4 letters or fewer, one letter off or a word added matches a great
 * many unrelated names ("zeit" ~ "seit", "bbc" ~ "abc"). */
#define IMP_NEAR_MIN 5
/* Shortest folded label compared for equality after folding ("nytlmes"). */
#define IMP_FOLD_MIN 4
/* Shortest name that may match inside a longer word ("lemondepress"). */
#define IMP_PARTIAL_MIN 6
/* Words joined when looking a name up ("the new york times" is 4). */
#define IMP_MAX_NAME_WORDS 8
/* Longest host looked at: DNS caps names at 253 bytes. */
#define IMP_MAX_HOST 253

/* An impersonation finding that names who is imitated (`who`, a protected
 * outlet or person: campaigns list them). As finding__add(). */
static int claim(vigil_message *msg, const vigil_config *cfg, const char *who, const char *id,
	vigil_finding_class cls, int score, const char *artifact, const char *value,
	const char *fmt, ...) __attribute__((format(printf, 9, 10)));
static int claim(vigil_message *msg, const vigil_config *cfg, const char *who, const char *id,
	vigil_finding_class cls, int score, const char *artifact, const char *value,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = finding__vadd(msg, cfg, "impersonation", id, cls, score, artifact, value, who,
		fmt, ap);
	va_end(ap);
	return rc;
}

/* Edit distance allowed for a folded label of `len` letters: one for
 * ordinary names, two once the name is long enough that two changes still
 * leave it recognisable (and rarely make another real word). */
static int near_distance(size_t len)
{
	return len >= 9 ? 2 : len >= IMP_NEAR_MIN ? 1 : 0;
}

static void destroy_table(void *t)
{
	g_hash_table_destroy(t);
}

static void close_spoof(void *p)
{
	uspoof_close(p);
}

/* A hash table whose keys and values live in the cache's arena. NULL when
 * out of memory. */
static GHashTable *new_table(vigil_arena *a)
{
	GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);
	if (!t || vigil_arena_defer(a, destroy_table, t) != 0)
		return NULL;
	return t;
}

/* Prepends `item` to the list under `key`, unless it heads it already (the
 * variants of one label come one after another). Returns 0 or -1. */
static int list_add(vigil_arena *a, GHashTable *t, const char *key, size_t klen, const void *item)
{
	char buf[256];
	if (klen >= sizeof(buf))
		return 0;
	memcpy(buf, key, klen);
	buf[klen] = '\0';
	gpointer okey = NULL, oval = NULL;
	bool found = g_hash_table_lookup_extended(t, buf, &okey, &oval);
	imp_list *head = oval;
	if (head && head->item == item)
		return 0;
	imp_list *l = vigil_arena_alloc(a, sizeof(*l));
	char *k = found ? okey : vigil_arena_strndup(a, key, klen);
	if (!l || !k)
		return -1;
	l->item = item;
	l->next = head;
	g_hash_table_insert(t, k, l);
	return 0;
}

/* The registrable domain, or the domain itself when it has none. sc NULL
 * while the tables are built (no memo yet to keep). */
static const char *registrable(vigil_scanner *sc, const psl_ctx_t *psl, const char *domain)
{
	if (!domain || !*domain)
		return NULL;
	const char *r = scanner__registrable(sc, psl, domain);
	return r ? r : domain;
}

/* Lower-cased uspoof skeleton of a UTF-8 string into `out`; false when ICU
 * cannot make one or it does not fit. */
static bool skeleton(const USpoofChecker *sp, const char *s, char *out, size_t size)
{
	UErrorCode st = U_ZERO_ERROR;
	int32_t n = uspoof_getSkeletonUTF8(sp, 0, s, -1, out, (int32_t)size, &st);
	if (U_FAILURE(st) || n < 0 || (size_t)n >= size)
		return false;
	for (int32_t i = 0; i < n; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return true;
}

typedef struct delete_ctx {
	struct imp_cache *c;
	const imp_target *t;
} delete_ctx;

static int index_variant(const char *v, size_t n, void *u)
{
	delete_ctx *d = u;
	return list_add(d->c->arena, d->c->by_delete, v, n, d->t);
}

/* Adds one domain to the tables. Returns 0 or -1 when out of memory. */
static int add_target(struct imp_cache *c, const psl_ctx_t *psl, const char *domain,
	const char *owner)
{
	const char *ascii = domain__to_ascii(c->arena, domain);
	if (!ascii)
		return 0; /* not a domain name: nothing to imitate */
	const char *reg = registrable(NULL, psl, ascii);
	if (g_hash_table_contains(c->targets, reg))
		return 0;
	const char *dot = strchr(reg, '.');
	if (!dot)
		return 0;
	imp_target *t = vigil_arena_calloc(c->arena, 1, sizeof(*t));
	if (!t)
		return -1;
	t->domain = vigil_arena_strdup(c->arena, reg);
	t->label = vigil_arena_strndup(c->arena, reg, (size_t)(dot - reg));
	t->suffix = vigil_arena_strdup(c->arena, dot + 1);
	t->owner = owner;
	char f[128];
	t->folded_len = lookalike__fold(f, sizeof(f), t->label, strlen(t->label));
	t->folded = vigil_arena_strdup(c->arena, f);
	if (!t->domain || !t->label || !t->suffix || !t->folded)
		return -1;
	g_hash_table_insert(c->targets, (char *)t->domain, t);
	if (list_add(c->arena, c->by_label, t->label, strlen(t->label), t) != 0)
		return -1;
	/* Labels of three letters or fewer are imitated only by the same label
	 * under another suffix, or as a sub-domain: anything looser matches
	 * every short name. */
	if (strlen(t->label) > 3 && t->folded_len >= IMP_FOLD_MIN &&
		list_add(c->arena, c->by_folded, t->folded, t->folded_len, t) != 0)
		return -1;
	if (strlen(t->label) > 3 && t->folded_len >= IMP_NEAR_MIN && t->folded_len < 64) {
		delete_ctx d = {c, t};
		/* Only as many deletions as the distance allowed for this label:
		 * the index is most of the tables' memory. */
		if (lookalike__deletes(t->folded, t->folded_len, near_distance(t->folded_len),
			index_variant, &d) != 0)
			return -1;
		if (c->folded_min == 0 || t->folded_len < c->folded_min)
			c->folded_min = t->folded_len;
		if (t->folded_len > c->folded_max)
			c->folded_max = t->folded_len;
	}
	char *uni = NULL;
	char sk[512];
	if (idn2_to_unicode_8z8z(t->domain, &uni, 0) == IDN2_OK &&
		skeleton(c->spoof, uni, sk, sizeof(sk))) {
		char *k = vigil_arena_strdup(c->arena, sk);
		if (!k) {
			idn2_free(uni);
			return -1;
		}
		g_hash_table_insert(c->by_skeleton, k, t);
	}
	idn2_free(uni);
	return 0;
}

static bool is_article(const char *w)
{
	static const char *const articles[] = {
		"the", "a", "an", "le", "la", "les", "l", "der", "die", "das", "el", "los", "las",
		"il", "lo", "gli", "de", "het", "o", "os", "as",
	};
	for (size_t i = 0; i < sizeof(articles) / sizeof(*articles); i++)
		if (strcmp(w, articles[i]) == 0)
			return true;
	return false;
}

/* Adds the words w[0..n) joined as a claim of `id`. Returns 0 or -1. */
static int add_claim(struct imp_cache *c, const vigil_protected *id, const char *const *w,
	size_t n, bool outlet)
{
	char key[256];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(w[i]);
		if (k + l >= sizeof(key))
			return 0;
		memcpy(key + k, w[i], l);
		k += l;
	}
	if (k < 2)
		return 0;
	imp_claim *cl = vigil_arena_calloc(c->arena, 1, sizeof(*cl));
	if (!cl)
		return -1;
	cl->id = id;
	cl->short_name = k <= 3;
	cl->partial = outlet && k >= IMP_PARTIAL_MIN;
	if (k > c->claim_max)
		c->claim_max = k;
	return list_add(c->arena, c->claims, key, k, cl);
}

/* The names under which a protected identity may be claimed. An outlet: its
 * name ("the new york times"), without a leading article when two words or
 * more remain ("new york times", not "guardian"), its initials when
 * they are three letters or are its domain's label ("nyt", "ft"), and its
 * domain's label ("nytimes", "bbc"). A person: first and last name, in
 * either order ("keller mathieu", as French lists write it). */
static int add_claims(struct imp_cache *c, const psl_ctx_t *psl, const vigil_protected *id)
{
	const char *w[NAMES_MAX_TOKENS];
	int n = names__tokens(w, NAMES_MAX_TOKENS, c->arena, id->name, false);
	if (n < 0)
		return -1;
	if (id->kind == VIGIL_PROTECTED_PERSON) {
		/* One word is a first name or a surname alone: far too common. */
		if (n < 2)
			return 0;
		const char *rev[NAMES_MAX_TOKENS];
		rev[0] = w[n - 1];
		for (int i = 0; i + 1 < n; i++)
			rev[i + 1] = w[i];
		if (add_claim(c, id, w, (size_t)n, false) != 0 ||
			add_claim(c, id, rev, (size_t)n, false) != 0)
			return -1;
		return 0;
	}

	if (n > 0 && add_claim(c, id, w, (size_t)n, true) != 0)
		return -1;
	size_t skip = n >= 2 && is_article(w[0]) ? 1 : 0;
	size_t rest = (size_t)n - skip;
	/* "Guardian" alone is a common word (feed gateways, insurers, a
	 * hundred products): the article goes only when two words remain. */
	if (skip && rest >= 2 && add_claim(c, id, w + skip, rest, true) != 0)
		return -1;

	const char *label = NULL;
	if (id->domain) {
		const char *ascii = domain__to_ascii(c->arena, id->domain);
		const char *reg = ascii ? registrable(NULL, psl, ascii) : NULL;
		const char *dot = reg ? strchr(reg, '.') : NULL;
		if (dot && dot > reg) {
			/* "le-monde" is claimed as "lemonde": names have no hyphens. */
			char buf[64];
			size_t k = 0;
			for (const char *p = reg; p < dot && k + 1 < sizeof(buf); p++)
				if (*p != '-')
					buf[k++] = *p;
			buf[k] = '\0';
			label = vigil_arena_strdup(c->arena, buf);
			if (!label)
				return -1;
		}
	}
	char initials[NAMES_MAX_TOKENS + 1];
	size_t ni = 0;
	for (size_t i = skip; i < (size_t)n && rest >= 2; i++)
		initials[ni++] = w[i][0];
	initials[ni] = '\0';
	bool initials_are_label = label && ni > 0 && strcmp(initials, label) == 0;
	if ((ni >= 3 || initials_are_label) && ni >= 2) {
		const char *iw[1] = {initials};
		if (add_claim(c, id, iw, 1, true) != 0)
			return -1;
	}
	if (label && (strlen(label) >= 3 || initials_are_label)) {
		const char *lw[1] = {label};
		if (add_claim(c, id, lw, 1, true) != 0)
			return -1;
	}
	return 0;
}

void impersonation__cache_free(struct imp_cache *c)
{
	if (c)
		vigil_arena_free(c->arena); /* the cache lives in its own arena */
}

/* Builds the tables for `cfg`. Returns 0, VIGIL_ENOMEM or VIGIL_EINTERNAL
 * (ICU could not open a spoof checker). */
static int cache_build(struct imp_cache **out, const vigil_config *cfg, const psl_ctx_t *psl)
{
	*out = NULL;
	vigil_arena *a = vigil_arena_new();
	if (!a)
		return VIGIL_ENOMEM;
	struct imp_cache *c = vigil_arena_calloc(a, 1, sizeof(*c));
	if (!c) {
		vigil_arena_free(a);
		return VIGIL_ENOMEM;
	}
	c->arena = a;
	c->cfg = cfg;
	c->lookalike_memo = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (vigil_arena_defer(a, destroy_table, c->lookalike_memo) != 0) {
		g_hash_table_destroy(c->lookalike_memo);
		vigil_arena_free(a);
		return VIGIL_ENOMEM;
	}
	if (!(c->claims = new_table(a)) || !(c->targets = new_table(a)) ||
		!(c->by_label = new_table(a)) || !(c->by_folded = new_table(a)) ||
		!(c->by_delete = new_table(a)) || !(c->by_skeleton = new_table(a))) {
		vigil_arena_free(a);
		return VIGIL_ENOMEM;
	}
	UErrorCode st = U_ZERO_ERROR;
	c->spoof = uspoof_open(&st);
	if (U_FAILURE(st) || !c->spoof || vigil_arena_defer(a, close_spoof, c->spoof) != 0) {
		vigil_arena_free(a);
		return U_FAILURE(st) ? VIGIL_EINTERNAL : VIGIL_ENOMEM;
	}
	/* Moderately restrictive: Latin with one other script that cannot be
	 * mistaken for it (Han, Arabic, ...), never Latin with Cyrillic or Greek. */
	uspoof_setChecks(c->spoof, USPOOF_RESTRICTION_LEVEL | USPOOF_INVISIBLE | USPOOF_MIXED_NUMBERS,
		&st);
	uspoof_setRestrictionLevel(c->spoof, USPOOF_MODERATELY_RESTRICTIVE);
	if (U_FAILURE(st)) {
		vigil_arena_free(a);
		return VIGIL_EINTERNAL;
	}

	int rc = 0;
	for (size_t i = 0; rc == 0 && i < cfg->n_protected; i++) {
		const vigil_protected *id = &cfg->protected_ids[i];
		const char *domain = id->domain;
		if (!domain && id->address && strrchr(id->address, '@'))
			domain = strrchr(id->address, '@') + 1;
		if (domain)
			rc = add_target(c, psl, domain, id->name ? id->name : domain);
		if (rc == 0 && id->name)
			rc = add_claims(c, psl, id);
	}
	for (size_t i = 0; rc == 0 && i < cfg->n_own_domains; i++)
		rc = add_target(c, psl, cfg->own_domains[i], "your organisation");
	if (rc != 0) {
		vigil_arena_free(a);
		return VIGIL_ENOMEM;
	}
	*out = c;
	return 0;
}

/* ---- one message --------------------------------------------------------- */

#define IMP_MAX_SIGNERS 8

typedef struct imp_scan {
	vigil_message *msg;
	const vigil_config *cfg;
	const struct imp_cache *c;
	vigil_scanner *sc;
	const psl_ctx_t *psl;
	const char *from_reg; /* registrable domain of From, NULL when none */
	/* registrable domains of passing DKIM signatures recorded by the topmost
	 * Authentication-Results field (our MTA's; lower ones the sender wrote) */
	const char *signers[IMP_MAX_SIGNERS];
	size_t n_signers;
} imp_scan;

static bool same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* A domain of the organisation or of a protected identity. */
static bool trusted(const imp_scan *s, const char *reg)
{
	return reg && (g_hash_table_contains(s->c->targets, reg) ||
		config__is_own_domain(s->cfg, reg));
}

static bool signed_by(const imp_scan *s, const char *reg)
{
	for (size_t i = 0; i < s->n_signers; i++)
		if (same(s->signers[i], reg))
			return true;
	return false;
}

static bool is_freemail(const imp_scan *s, const char *domain, const char *reg)
{
	GHashTable *f = s->cfg->freemail;
	return f && ((domain && g_hash_table_contains(f, domain)) ||
		(reg && g_hash_table_contains(f, reg)));
}

static void collect_signers(imp_scan *s)
{
	const vigil_message *msg = s->msg;
	int top = -1;
	for (size_t i = 0; i < msg->auth.len; i++) {
		const vigil_auth_result *r = &msg->auth.items[i];
		if (!r->nested && !r->instance && (top < 0 || r->header_index < top))
			top = r->header_index;
	}
	for (size_t i = 0; i < msg->auth.len && s->n_signers < IMP_MAX_SIGNERS; i++) {
		const vigil_auth_result *r = &msg->auth.items[i];
		if (r->nested || r->instance || r->header_index != top || !same(r->method, "dkim") ||
			!same(r->result, "pass"))
			continue;
		for (size_t j = 0; j < r->n_props; j++)
			if (same(r->props[j].name, "header.d") && r->props[j].value) {
				const char *d = domain__to_ascii(msg->arena, r->props[j].value);
				if (d)
					s->signers[s->n_signers++] = registrable(s->sc, s->psl, d);
				break;
			}
	}
}

/* ---- names ----------------------------------------------------------------- */

typedef struct imp_name_match {
	const vigil_protected *outlet;
	const vigil_protected *person;
} imp_name_match;

static void note_claims(imp_name_match *m, const imp_list *l, bool single_word, bool local_part, bool inside_word)
{
	for (; l; l = l->next) {
		const imp_claim *cl = l->item;
		/* "FT" and "BBC": a display-name word of their own, never part of
		 * an address ("ft" in "soft.ware") or of a longer word ("draft"). */
		if (cl->short_name && (local_part || !single_word || inside_word))
			continue;
		if (inside_word && !cl->partial)
			continue;
		if (cl->id->kind == VIGIL_PROTECTED_OUTLET) {
			if (!m->outlet)
				m->outlet = cl->id;
		} else if (!m->person) {
			m->person = cl->id;
		}
	}
}

/* Looks for protected names in a display name or a local part: runs of
 * whole words joined ("le" "monde" and "lemonde" both give "lemonde"), and
 * for outlets with long names, a word that begins or ends with the name
 * ("lemondepress"). Word boundaries come from names__tokens(), so a name
 * never matches inside another word except in that last case. Returns 0 or
 * -1 when out of memory. */
static int match_names(imp_name_match *m, const imp_scan *s, const char *text, bool local_part)
{
	const char *w[NAMES_MAX_TOKENS];
	int n = names__tokens(w, NAMES_MAX_TOKENS, s->msg->arena, text, local_part);
	if (n < 0)
		return -1;
	GHashTable *claims = s->c->claims;
	size_t max = s->c->claim_max;
	char key[256];
	for (int i = 0; i < n; i++) {
		size_t k = 0;
		for (int j = i; j < n && j < i + IMP_MAX_NAME_WORDS; j++) {
			size_t l = strlen(w[j]);
			if (k + l > max || k + l >= sizeof(key))
				break;
			memcpy(key + k, w[j], l);
			k += l;
			key[k] = '\0';
			note_claims(m, g_hash_table_lookup(claims, key), j == i, local_part, false);
		}
		/* Inside one word: prefixes and suffixes of at least
		 * IMP_PARTIAL_MIN bytes. */
		size_t l = strlen(w[i]);
		if (l <= IMP_PARTIAL_MIN || l >= sizeof(key))
			continue;
		for (size_t len = IMP_PARTIAL_MIN; len < l && len <= max; len++) {
			memcpy(key, w[i], len);
			key[len] = '\0';
			note_claims(m, g_hash_table_lookup(claims, key), true, local_part, true);
			memcpy(key, w[i] + l - len, len + 1);
			note_claims(m, g_hash_table_lookup(claims, key), true, local_part, true);
		}
	}
	return 0;
}

/* A protected or own domain written in the display name ("lemonde.fr",
 * "news@lemonde.fr"), or NULL. */
static const imp_target *domain_in_name(const imp_scan *s, const char *name)
{
	size_t n = strnlen(name, NAMES_MAX_INPUT);
	for (size_t i = 0; i < n;) {
		while (i < n && (name[i] == ' ' || name[i] == '\t'))
			i++;
		size_t j = i;
		bool dot = false;
		for (; j < n && name[j] != ' ' && name[j] != '\t'; j++)
			if (name[j] == '.')
				dot = true;
		if (dot && j - i < 256) {
			char word[256];
			memcpy(word, name + i, j - i);
			word[j - i] = '\0';
			char *p = strrchr(word, '@');
			p = p ? p + 1 : word;
			while (*p && strchr("<([{\"'", *p))
				p++;
			size_t pl = strlen(p);
			while (pl && strchr(">)]}\"'.,;:!?", p[pl - 1]))
				p[--pl] = '\0';
			const char *ascii = pl ? domain__to_ascii(s->msg->arena, p) : NULL;
			const char *reg = ascii ? registrable(s->sc, s->psl, ascii) : NULL;
			const imp_target *t = reg ? g_hash_table_lookup(s->c->targets, reg) : NULL;
			if (t)
				return t;
		}
		i = j;
	}
	return NULL;
}

static const char *kind_word(const vigil_protected *id)
{
	return id->kind == VIGIL_PROTECTED_OUTLET ? "outlet" : "person";
}

/* The From display name and local part against the protected names. */
static int check_claims(const imp_scan *s)
{
	vigil_message *msg = s->msg;
	const vigil_mailbox *from = &msg->from;
	if (!from->address || !from->domain || !s->from_reg)
		return 0;
	/* Mail from a protected or own domain is what it says, or a forgery of
	 * that very domain, which authentication results tell (auth.c). */
	if (trusted(s, s->from_reg))
		return 0;

	imp_name_match dn = {0}, lp = {0};
	const imp_target *shown = NULL;
	if (from->name && *from->name) {
		if (match_names(&dn, s, from->name, false) != 0)
			return VIGIL_ENOMEM;
		shown = domain_in_name(s, from->name);
	}
	const char *at = strrchr(from->address, '@');
	if (at && at > from->address) {
		char *local = vigil_arena_strndup(msg->arena, from->address,
			(size_t)(at - from->address));
		if (!local || match_names(&lp, s, local, true) != 0)
			return VIGIL_ENOMEM;
	}

	bool free_mail = is_freemail(s, from->domain, s->from_reg);
	const char *value = from->name ? vigil_arena_printf(msg->arena, "%s <%s>", from->name,
		from->address) : from->address;
	if (!value)
		return VIGIL_ENOMEM;

	const vigil_protected *outlet = dn.outlet ? dn.outlet : lp.outlet;
	const char *where = dn.outlet ? "display name" : "address";
	if (outlet && !signed_by(s, outlet->domain)) {
		/* One finding per claim: on free-mail the more specific id, so the
		 * same claim is not counted twice. */
		if (free_mail)
			return claim(msg, s->cfg, outlet->name, "impersonation.freemail-outlet",
				VIGIL_CLASS_DECEPTION, 50, "from", value,
				"The sender names the outlet %s in its %s but writes from the free-mail "
				"provider %s.", outlet->name, where, s->from_reg);
		return claim(msg, s->cfg, outlet->name, "impersonation.display-name",
			VIGIL_CLASS_DECEPTION, 60, "from", value,
			"The sender names the outlet %s in its %s but writes from %s, not %s.",
			outlet->name, where, s->from_reg, outlet->domain ? outlet->domain : "its domain");
	}
	if (shown && !signed_by(s, shown->domain))
		return claim(msg, s->cfg, shown->owner, "impersonation.display-name",
			VIGIL_CLASS_DECEPTION, 60, "from", value,
			"The display name shows the domain %s (%s) but the address is at %s.",
			shown->domain, shown->owner, s->from_reg);

	/* A person's name alone is weak: namesakes are common and journalists
	 * also write from private addresses. It counts with other signs. */
	const vigil_protected *person = dn.person ? dn.person : lp.person;
	if (person) {
		const char *pd = person->address ? strrchr(person->address, '@') : NULL;
		pd = pd ? registrable(s->sc, s->psl, pd + 1) : person->domain;
		if (signed_by(s, pd))
			return 0;
		where = dn.person ? "display name" : "address";
		if (free_mail)
			return claim(msg, s->cfg, person->name, "impersonation.freemail-person",
				VIGIL_CLASS_DECEPTION, 15, "from", value,
				"The sender bears the name of %s, a protected %s, in its %s but writes "
				"from the free-mail provider %s.", person->name, kind_word(person), where,
				s->from_reg);
		return claim(msg, s->cfg, person->name, "impersonation.display-name-person",
			VIGIL_CLASS_DECEPTION, 15, "from", value,
			"The sender bears the name of %s, a protected %s, in its %s but writes from "
			"%s, not %s.", person->name, kind_word(person), where, s->from_reg,
			person->address ? person->address : "their domain");
	}
	return 0;
}

/* ---- domains ----------------------------------------------------------------- */

typedef enum lk_form {
	LK_NONE = 0,
	LK_SUBDOMAIN,  /* "lemonde.fr.example.net" */
	LK_OTHER_TLD,  /* "lemonde.com", "ft.co" */
	LK_CONFUSABLE, /* "nytlmes.com", "lernonde.fr", "le-monde.fr", "reutters.com" */
	LK_ADDED_WORD, /* "nytimes-news.com", "lemondeinfo.fr" */
	LK_NEAR,       /* "reutres.com", "spiegle.de" */
	LK_SAME,       /* (homographs) the very domain, written with other letters */
} lk_form;

typedef struct lk_hit {
	lk_form form;
	const imp_target *t;
} lk_hit;

static const char *form_words(lk_form f)
{
	switch (f) {
	case LK_SUBDOMAIN: return "uses it as a sub-domain";
	case LK_OTHER_TLD: return "has the same name under another suffix";
	case LK_CONFUSABLE: return "swaps in letters that look alike";
	case LK_ADDED_WORD: return "adds a word to it";
	case LK_NEAR: return "differs from it by one or two letters";
	case LK_SAME: return "is the same name in look-alike characters";
	case LK_NONE: break;
	}
	return "";
}

static bool first_target(lk_hit *out, const imp_list *l, lk_form form, size_t min_folded)
{
	for (; l; l = l->next) {
		const imp_target *t = l->item;
		if (t->folded_len >= min_folded) {
			out->form = form;
			out->t = t;
			return true;
		}
	}
	return false;
}

typedef struct near_ctx {
	const char *q;
	size_t ql;
	lk_hit *out;
	GHashTable *by_delete;
} near_ctx;

static int near_variant(const char *v, size_t n, void *u)
{
	near_ctx *nc = u;
	char key[64];
	memcpy(key, v, n);
	key[n] = '\0';
	for (const imp_list *l = g_hash_table_lookup(nc->by_delete, key); l; l = l->next) {
		const imp_target *t = l->item;
		int max = near_distance(t->folded_len);
		int d = lookalike__distance(nc->q, nc->ql, t->folded, t->folded_len, max);
		if (d >= 1 && d <= max) {
			nc->out->form = LK_NEAR;
			nc->out->t = t;
			return 1;
		}
	}
	return 0;
}

/* Does the ASCII host (lower case) imitate a protected or own domain? A
 * host under such a domain, or under any other domain of the tables, never
 * does. */
static bool lookalike_compute(lk_hit *out, const imp_scan *s, const char *host)
{
	const struct imp_cache *c = s->c;
	memset(out, 0, sizeof(*out));
	size_t hl = strlen(host);
	if (hl == 0 || hl > IMP_MAX_HOST)
		return false;
	const char *reg = registrable(s->sc, s->psl, host);
	if (!reg || trusted(s, reg))
		return false;

	/* A protected domain among the labels in front of the registrable one:
	 * every run of whole labels is looked up. */
	size_t pl = (size_t)(reg - host);
	if (pl > 1) {
		char pre[IMP_MAX_HOST + 1];
		memcpy(pre, host, pl - 1);
		pre[pl - 1] = '\0';
		for (size_t i = 0; i < pl - 1; i++) {
			if (i > 0 && pre[i - 1] != '.')
				continue;
			for (size_t j = i + 1; j <= pl - 1; j++) {
				if (j < pl - 1 && pre[j] != '.')
					continue;
				char save = pre[j];
				pre[j] = '\0';
				const imp_target *t = g_hash_table_lookup(c->targets, pre + i);
				pre[j] = save;
				if (t) {
					out->form = LK_SUBDOMAIN;
					out->t = t;
					return true;
				}
			}
		}
	}

	/* The same glued on with a hyphen: "lemonde.fr-news.com" shows the
	 * protected domain whole, then hides the real one behind the hyphen. */
	for (size_t i = 0; i < hl; i++) {
		if (i > 0 && host[i - 1] != '.')
			continue;
		for (size_t j = i + 1; j < hl && j - i <= IMP_MAX_HOST; j++) {
			if (host[j] != '-')
				continue;
			char cand[IMP_MAX_HOST + 1];
			memcpy(cand, host + i, j - i);
			cand[j - i] = '\0';
			if (!strchr(cand, '.'))
				continue; /* a bare word: the label checks below */
			const imp_target *t = g_hash_table_lookup(c->targets, cand);
			if (t) {
				out->form = LK_SUBDOMAIN;
				out->t = t;
				return true;
			}
		}
	}

	const char *dot = strchr(reg, '.');
	if (!dot || dot == reg || dot - reg >= 64)
		return false;
	char label[64];
	size_t ll = (size_t)(dot - reg);
	memcpy(label, reg, ll);
	label[ll] = '\0';
	if (first_target(out, g_hash_table_lookup(c->by_label, label), LK_OTHER_TLD, 0))
		return true;

	char folded[64];
	size_t fl = lookalike__fold(folded, sizeof(folded), label, ll);
	if (fl < IMP_FOLD_MIN)
		return false;
	if (first_target(out, g_hash_table_lookup(c->by_folded, folded), LK_CONFUSABLE, 0))
		return true;

	/* Words added with hyphens ("news-lemonde-info"), then glued on at
	 * either end ("lemondeinfo", "thenytimes"). */
	if (strchr(label, '-')) {
		for (const char *p = label; *p;) {
			const char *q = strchr(p, '-');
			size_t n = q ? (size_t)(q - p) : strlen(p);
			char part[64];
			size_t pf = lookalike__fold(part, sizeof(part), p, n);
			if (pf >= IMP_FOLD_MIN &&
				first_target(out, g_hash_table_lookup(c->by_folded, part), LK_ADDED_WORD, 0))
				return true;

			p += n + (q ? 1 : 0);
		}
	}
	char key[64];
	for (size_t len = IMP_NEAR_MIN; len < fl; len++) {
		memcpy(key, folded, len);
		key[len] = '\0';
		if (first_target(out, g_hash_table_lookup(c->by_folded, key), LK_ADDED_WORD, IMP_NEAR_MIN))
			return true;
		memcpy(key, folded + fl - len, len + 1);
		if (first_target(out, g_hash_table_lookup(c->by_folded, key), LK_ADDED_WORD, IMP_NEAR_MIN))
			return true;
	}

	/* One or two letters off, found through the deletion variants. */
	if (c->folded_max && fl + 2 >= c->folded_min && fl <= c->folded_max + 2) {
		near_ctx nc = {folded, fl, out, c->by_delete};
		if (lookalike__deletes(folded, fl, 2, near_variant, &nc))
			return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

/* Whether host imitates a protected or own domain, and how (`out`): through
 * the scanner's memo, as the answer depends only on the host and the
 * configuration the tables were built from. */
static bool lookalike(lk_hit *out, const imp_scan *s, const char *host)
{
	GHashTable *memo = s->c->lookalike_memo;
	const lk_hit *known = g_hash_table_lookup(memo, host);
	if (known) {
		*out = *known;
		return out->t != NULL;
	}
	bool found = lookalike_compute(out, s, host);
	if (g_hash_table_size(memo) >= LOOKALIKE_MEMO_MAX)
		g_hash_table_remove_all(memo);
	lk_hit *copy = g_new(lk_hit, 1);
	*copy = found ? *out : (lk_hit){0};
	g_hash_table_insert(memo, g_strdup(host), copy);
	return found;
}

/* For a host with an IDNA label: the Unicode form (`uni`, malloc'd by
 * libidn2 or borrowed from `hint`) and whether, read through uspoof
 * skeletons, it imitates a protected or own domain (`out`), and whether one
 * of its labels mixes scripts (`mixed`). */
static void homograph(lk_hit *out, bool *mixed, const char **uni_out, char **to_free,
	const imp_scan *s, const char *host, const char *hint)
{
	memset(out, 0, sizeof(*out));
	*mixed = false;
	*uni_out = NULL;
	*to_free = NULL;
	if (!strstr(host, "xn--") || strlen(host) > IMP_MAX_HOST)
		return;
	const char *uni = hint && strcmp(hint, host) != 0 ? hint : NULL;
	if (!uni) {
		char *u = NULL;
		if (idn2_to_unicode_8z8z(host, &u, 0) != IDN2_OK) {
			idn2_free(u);
			return;
		}
		*to_free = u;
		uni = u;
	}
	*uni_out = uni;

	char sk[1024];
	if (skeleton(s->c->spoof, uni, sk, sizeof(sk))) {
		const imp_target *t = g_hash_table_lookup(s->c->by_skeleton, sk);
		bool ascii = true;
		for (const char *p = sk; *p; p++)
			ascii = ascii && (unsigned char)*p < 0x80;
		const char *reg = ascii ? registrable(s->sc, s->psl, sk) : NULL;
		if (!t && reg)
			t = g_hash_table_lookup(s->c->targets, reg);
		if (t && !same(registrable(s->sc, s->psl, host), t->domain)) {
			out->form = LK_SAME;
			out->t = t;
		} else if (ascii) {
			lookalike(out, s, sk);
		}
	}

	/* Each label on its own: "пример.com" is Cyrillic then Latin, which is
	 * ordinary; "pаypal" mixes both in one label. */
	for (const char *p = uni; *p;) {
		const char *q = strchr(p, '.');
		size_t n = q ? (size_t)(q - p) : strlen(p);
		UErrorCode st = U_ZERO_ERROR;
		int32_t r = uspoof_check2UTF8(s->c->spoof, p, (int32_t)n, NULL, &st);
		if (U_SUCCESS(st) && (r & (USPOOF_RESTRICTION_LEVEL | USPOOF_INVISIBLE |
			USPOOF_MIXED_NUMBERS)))
			*mixed = true;
		p += n + (q ? 1 : 0);
	}
}

/* Look-alike, homograph and mixed-script checks of one host. `link` for
 * link hosts: a look-alike there weighs less (the sender may merely cite a
 * site); a homograph does not. Returns 0 or VIGIL_ENOMEM. */
static int check_host(const imp_scan *s, const char *host, const char *hint, const char *artifact,
	const char *what, const char *value, bool link)
{
	vigil_message *msg = s->msg;
	lk_hit hit;
	bool mixed;
	const char *uni;
	char *to_free;
	int rc = 0;
	if (trusted(s, registrable(s->sc, s->psl, host)))
		return 0; /* a protected or own domain, or one of its sub-domains */
	homograph(&hit, &mixed, &uni, &to_free, s, host, hint);
	/* The imitated domain's own mail may use its other domains (an outlet's
	 * bounce or click domain): look-alikes of the sender's own domain, or
	 * of a domain that signed the message, are its business. */
	if (hit.t && (same(hit.t->domain, s->from_reg) || signed_by(s, hit.t->domain)))
		hit.t = NULL;
	if (hit.t) {
		rc = claim(msg, s->cfg, hit.t->owner, "impersonation.homograph",
			VIGIL_CLASS_DECEPTION, 70, artifact, value,
			"The %s host %s reads as %s: it imitates %s (%s) and %s.", what, host, uni,
			hit.t->domain, hit.t->owner, form_words(hit.form));
	} else if (mixed) {
		rc = finding__add(msg, s->cfg, "impersonation", "impersonation.mixed-script",
			VIGIL_CLASS_DECEPTION, 30, artifact, value,
			"The %s host %s (%s) mixes scripts within one label, a way to make a name look "
			"like another.", what, host, uni);
	}
	idn2_free(to_free);
	if (rc || hit.t)
		return rc;

	if (!lookalike(&hit, s, host))
		return 0;
	if (same(hit.t->domain, s->from_reg) || signed_by(s, hit.t->domain))
		return 0;
	if (link) {
		/* Keyed by the registrable domain: img.x.example and x.example are
		 * one look-alike, counted once. */
		const char *reg = registrable(s->sc, s->psl, host);
		return claim(msg, s->cfg, hit.t->owner, "impersonation.lookalike-link",
			VIGIL_CLASS_DECEPTION, 30, artifact, reg ? reg : value,
			"A link goes to %s, which resembles %s (%s): it %s.", host, hit.t->domain,
			hit.t->owner, form_words(hit.form));
	}
	return claim(msg, s->cfg, hit.t->owner, "impersonation.lookalike-domain",
		VIGIL_CLASS_DECEPTION, 60, artifact, value,
		"The %s domain %s resembles %s (%s) without being it: it %s.", what, host,
		hit.t->domain, hit.t->owner, form_words(hit.form));
}

static const char *artifact_word(const char *artifact)
{
	return strcmp(artifact, "reply_to") == 0 ? "Reply-To" :
		strcmp(artifact, "return_path") == 0 ? "Return-Path" :
		strcmp(artifact, "sender") == 0 ? "Sender" : "From";
}

static int check_mailbox_domain(const imp_scan *s, const vigil_mailbox *mb, const char *artifact)
{
	if (!mb->domain || !*mb->domain)
		return 0;
	return check_host(s, mb->domain, NULL, artifact, artifact_word(artifact), mb->domain, false);
}

/* Replies that go elsewhere than the author's domain: how a fake journalist
 * gets the answers at a free-mail account. Mailing lists and newsletters set
 * Reply-To to the list or a service as a matter of course. */
static int check_reply_to(const imp_scan *s)
{
	vigil_message *msg = s->msg;
	if (!s->from_reg || msg->list_unsubscribe)
		return 0;
	for (size_t i = 0; i < msg->reply_to.len; i++) {
		const vigil_mailbox *rt = &msg->reply_to.items[i];
		if (!rt->domain || !rt->address)
			continue;
		const char *reg = registrable(s->sc, s->psl, rt->domain);
		if (!reg || same(reg, s->from_reg) || config__is_own_domain(s->cfg, reg) ||
			g_hash_table_contains(s->c->targets, reg))
			continue;
		bool free_mail = is_freemail(s, rt->domain, reg);
		return finding__add(msg, s->cfg, "impersonation", "impersonation.reply-to-diverges",
			VIGIL_CLASS_DECEPTION, 20, "reply_to", rt->address,
			"Replies go to %s%s, not to the sender's domain %s.", rt->address,
			free_mail ? " (a free-mail account)" : "", s->from_reg);
	}
	return 0;
}

static bool is_tracker_host(const imp_scan *s, const vigil_url *u)
{
	GHashTable *t = s->cfg->tracker_hosts;
	return t && ((u->host && g_hash_table_contains(t, u->host)) ||
		(u->domain && g_hash_table_contains(t, u->domain)));
}

/* Does the link carry the text's domain along (a redirector or a
 * link-protection service that sends the reader where the text says)? */
static bool href_names(const vigil_url *u, const char *text_reg)
{
	const char *href = u->url ? u->url : u->raw;
	if (!href || !text_reg)
		return false;
	const char *q = strpbrk(href, "?#");
	const char *p = u->path && *u->path ? strstr(href, u->path) : NULL;
	const char *from = p ? p : q;
	return from && strcasestr(from, text_reg) != NULL;
}

typedef struct link_tally {
	const vigil_url *first;
	const char *first_text_reg;
	const char *first_shown; /* the host the first link's text shows */
	size_t count;
} link_tally;

/* The host a link's text shows when extraction found none because its
 * top-level domain is not a public suffix ("intranet.parliament.example",
 * "portal.corp"): an organisation's own names often are not. Kept only when
 * it is one of the organisation's or protected domains, so words such as
 * "file.final" stay words. NULL otherwise. */
static const char *trusted_text_host(const imp_scan *s, const char *text)
{
	const char *host = text ? url__host_in_text_any_tld(s->msg->arena, text) : NULL;
	if (!host)
		return NULL;
	const char *reg = registrable(s->sc, s->psl, host);
	return reg && trusted(s, reg) ? host : NULL;
}

/* Link text that names a host while the link goes to another domain. The
 * first such link makes the finding and the reason counts the others: one
 * newsletter has dozens of them and they are one fact, not dozens. */
static int check_links(const imp_scan *s)
{
	vigil_message *msg = s->msg;
	link_tally plain = {0}, prot = {0};
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	if (!seen)
		return VIGIL_ENOMEM;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < msg->urls.len; i++) {
		const vigil_url *u = &msg->urls.items[i];
		if (!u->host || !*u->host)
			continue;
		if (!g_hash_table_contains(seen, u->host)) {
			g_hash_table_add(seen, (char *)u->host);
			rc = check_host(s, u->host, u->host_unicode, "url", "link", u->host, true);
		}
		if (rc)
			continue;
		const char *shown = u->text_host ? u->text_host : trusted_text_host(s, u->link_text);
		if (!shown)
			continue;
		/* A host with no registrable domain that is not an address either
		 * is a URL the parser could not make sense of: no evidence. */
		if (!u->domain && !strchr(u->host, ':') && strspn(u->host, "0123456789.") != strlen(u->host))
			continue;
		const char *text_reg = registrable(s->sc, s->psl, shown);
		const char *href_reg = u->domain ? u->domain : u->host;
		if (!text_reg || same(text_reg, href_reg) || href_names(u, text_reg))
			continue;
		if (trusted(s, text_reg)) {
			/* The outlet's own newsletter sends its links through its
			 * mailing service: its From domain says so (and a forged From
			 * is for auth.c to tell). */
			if (same(text_reg, s->from_reg) || signed_by(s, text_reg))
				continue;
			if (prot.count++ == 0)
				prot.first = u, prot.first_text_reg = text_reg, prot.first_shown = shown;
			continue;
		}
		if (is_tracker_host(s, u) || same(text_reg, s->from_reg) || same(href_reg, s->from_reg) ||
			signed_by(s, href_reg))
			continue;
		if (plain.count++ == 0)
			plain.first = u, plain.first_text_reg = text_reg, plain.first_shown = shown;
	}
	g_hash_table_destroy(seen);
	if (rc)
		return rc;
	if (prot.first) {
		const imp_target *t = g_hash_table_lookup(s->c->targets, prot.first_text_reg);
		const char *v = vigil_arena_printf(msg->arena, "%s -> %s", prot.first_shown,
			prot.first->host);
		if (!v)
			return VIGIL_ENOMEM;
		rc = claim(msg, s->cfg, t ? t->owner : NULL, "impersonation.link-text-protected",
			VIGIL_CLASS_DECEPTION, 50, "link_text", v,
			"A link shows %s (%s) but goes to %s%s.", prot.first_shown,
			t ? t->owner : "your organisation", prot.first->host,
			prot.count > 1 ? vigil_arena_printf(msg->arena, "; %zu links in all do so",
				prot.count) : "");
		if (rc)
			return rc;
	}
	if (plain.first) {
		const char *v = vigil_arena_printf(msg->arena, "%s -> %s", plain.first_shown,
			plain.first->host);
		if (!v)
			return VIGIL_ENOMEM;
		rc = finding__add(msg, s->cfg, "impersonation", "impersonation.link-text-mismatch",
			VIGIL_CLASS_DECEPTION, 30, "link_text", v,
			"A link shows %s but goes to %s%s.", plain.first_shown, plain.first->host,
			plain.count > 1 ? vigil_arena_printf(msg->arena, "; %zu links in all do so",
				plain.count) : "");
	}
	return rc;
}

/* The tables for the scanner's configuration, built on first use. The
 * configuration is immutable once the context is ready; the pointer check
 * only guards against a scanner outliving a configuration swap in tests. */
static int cache_get(const struct imp_cache **out, vigil_scanner *sc)
{
	const vigil_config *cfg = sc->ctx->cfg;
	if (!sc->imp_cache || sc->imp_cache->cfg != cfg) {
		impersonation__cache_free(sc->imp_cache);
		sc->imp_cache = NULL;
		int rc = cache_build(&sc->imp_cache, cfg, sc->ctx->psl);
		if (rc)
			return rc;
	}
	*out = sc->imp_cache;
	return 0;
}

int detect__impersonation(vigil_message *msg, vigil_scanner *sc)
{
	imp_scan s = {.msg = msg, .cfg = sc->ctx->cfg, .sc = sc, .psl = sc->ctx->psl};
	int rc = cache_get(&s.c, sc);
	if (rc)
		return rc;
	if (msg->from.domain && *msg->from.domain)
		s.from_reg = registrable(s.sc, s.psl, msg->from.domain);
	collect_signers(&s);

	rc = check_claims(&s);
	if (rc == 0)
		rc = check_mailbox_domain(&s, &msg->from, "from");
	for (size_t i = 0; rc == 0 && i < msg->reply_to.len; i++)
		rc = check_mailbox_domain(&s, &msg->reply_to.items[i], "reply_to");
	if (rc == 0)
		rc = check_mailbox_domain(&s, &msg->sender, "sender");
	if (rc == 0)
		rc = check_mailbox_domain(&s, &msg->return_path, "return_path");
	if (rc == 0)
		rc = check_reply_to(&s);
	if (rc == 0)
		rc = check_links(&s);
	return rc;
}
