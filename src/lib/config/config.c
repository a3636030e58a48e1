/*
 * The configuration: built-in defaults, the config file (GKeyFile, format in
 * docs/config.md), merging what each load brought, and the lookups detectors
 * make. The list formats themselves are read in lists.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_limits.h"
#include "config/config_private.h"
#include "extract/extract.h"
#include "vigil/vigil.h"

/* Scores are never negative (a finding does not make mail look safer) and
 * capped so that VIGIL_MAX_FINDINGS of them cannot overflow an int sum. */
#define WEIGHT_MAX 10000
/* Thresholds beyond any reachable sum are a typo, not a setting. */
#define THRESHOLD_MAX 1000000

int config__fail(char *err, size_t err_size, int code, const char *fmt, ...)
{
	if (err && err_size) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- public suffix list, domains ------------------------------------ */

static gpointer load_psl(gpointer unused)
{
	(void)unused;
	const psl_ctx_t *psl = psl_latest(NULL);
	return (gpointer)(psl ? psl : psl_builtin());
}

const psl_ctx_t *config__psl(void)
{
	static GOnce once = G_ONCE_INIT;
	return g_once(&once, load_psl, NULL);
}

const char *config__registrable(const char *domain)
{
	const psl_ctx_t *psl = config__psl();
	if (!psl || !domain)
		return NULL;
	return psl_registrable_domain(psl, domain);
}

bool config__is_hostname(const char *d)
{
	size_t total = strlen(d), label = 0;
	if (total == 0 || total > 253)
		return false;
	for (const char *p = d;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63)
				return false;
			if (*p == '\0')
				return true;
			label = 0;
			continue;
		}
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '_')
			return false;
		label++;
	}
}

const char *config__address(vigil_arena *a, const char *address, const char **why)
{
	const char *at = strchr(address, '@');
	if (!at || strchr(at + 1, '@')) {
		*why = "not an address (needs exactly one '@')";
		return NULL;
	}
	if (at == address) {
		*why = "empty local part before '@'";
		return NULL;
	}
	if (at[1] == '\0') {
		*why = "empty domain after '@'";
		return NULL;
	}
	if (!g_utf8_validate(address, -1, NULL)) {
		*why = "address is not valid UTF-8";
		return NULL;
	}
	for (const char *p = address; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == ',') {
			*why = "space or forbidden character in address";
			return NULL;
		}
	if (at[1] == '[') {
		*why = "address literal domains are not accepted";
		return NULL;
	}
	const char *domain = domain__to_ascii(a, at + 1);
	if (!domain || !config__is_hostname(domain)) {
		*why = "bad domain in address";
		return NULL;
	}
	/* SMTPUTF8 local parts exist; fold their case the Unicode way so the
	 * lookup (which folds ASCII) agrees for the common case. */
	char *local = g_utf8_strdown(address, at - address);
	const char *r = vigil_arena_printf(a, "%s@%s", local, domain);
	g_free(local);
	if (!r)
		*why = "out of memory";
	return r;
}

/* ---- life cycle ------------------------------------------------------ */

vigil_config *config__new_default(void)
{
	config_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	vigil_config *c = &p->pub;
	c->arena = vigil_arena_new();
	c->internal_networks = netset__new();
	c->relays = netset__new();
	if (!c->arena || !c->internal_networks || !c->relays) {
		config__free(c);
		return NULL;
	}
	/* Keys and values live in the arena (or are numbers): no destroy
	 * functions, the tables only index. */
	c->member_by_address = g_hash_table_new(g_str_hash, g_str_equal);
	c->freemail = g_hash_table_new(g_str_hash, g_str_equal);
	c->tracker_hosts = g_hash_table_new(g_str_hash, g_str_equal);
	c->weights = g_hash_table_new(g_str_hash, g_str_equal);
	p->own_domain_set = g_hash_table_new(g_str_hash, g_str_equal);
	c->deception_threshold = 50;
	c->token_deception_threshold = 15;
	c->malicious_threshold = 100;
	/* Reconnaissance and malicious mail never reach the inbox, but a copy is
	 * kept for the analyst; suspicious mail is delivered marked. */
	c->milter.action[VIGIL_VERDICT_CLEAN] = VIGIL_MILTER_ACCEPT;
	c->milter.action[VIGIL_VERDICT_TRACKING] = VIGIL_MILTER_ACCEPT;
	c->milter.action[VIGIL_VERDICT_SUSPICIOUS] = VIGIL_MILTER_TAG;
	c->milter.action[VIGIL_VERDICT_RECON] = VIGIL_MILTER_QUARANTINE;
	c->milter.action[VIGIL_VERDICT_MALICIOUS] = VIGIL_MILTER_QUARANTINE;
	c->milter.subject_prefix = "";
	c->milter.quarantine_dir = "/var/spool/vigil/quarantine";
	c->milter.max_message_bytes = VIGIL_MILTER_DEFAULT_MAX_BYTES;
	c->milter.time_budget_ms = VIGIL_MILTER_DEFAULT_BUDGET_MS;
	c->milter.reject_reply = "Message refused by content policy";
	c->milter.socket = "inet:8894@127.0.0.1";
	return c;
}

void config__free(vigil_config *cfg)
{
	if (!cfg)
		return;
	config_priv *p = config__priv(cfg);
	netset__free(cfg->internal_networks);
	netset__free(cfg->relays);
	if (cfg->member_by_address)
		g_hash_table_unref(cfg->member_by_address);
	if (cfg->freemail)
		g_hash_table_unref(cfg->freemail);
	if (cfg->tracker_hosts)
		g_hash_table_unref(cfg->tracker_hosts);
	if (cfg->weights)
		g_hash_table_unref(cfg->weights);
	if (p->own_domain_set)
		g_hash_table_unref(p->own_domain_set);
	vigil_arena_free(cfg->arena);
	free(p);
}

vigil_config *config__staging(const vigil_config *cfg)
{
	vigil_config *s = config__new_default();
	if (s && cfg) {
		s->deception_threshold = cfg->deception_threshold;
		s->token_deception_threshold = cfg->token_deception_threshold;
		s->intel_recon = cfg->intel_recon;
		s->malicious_threshold = cfg->malicious_threshold;
		/* Strings stay valid: cfg's arena outlives the staging config,
		 * and what the merge takes from it lands in the same arena. */
		s->milter = cfg->milter;
	}
	return s;
}

static void free_arena_cb(void *a)
{
	vigil_arena_free(a);
}


/* Writes a's strings then those of b that a does not hold into out (room
 * for na + nb); returns how many. The lists are short (own domains, rule
 * files): a linear look-up each is fine. */
static size_t append_unique(const char **out, const char *const *a, size_t na,
	const char *const *b, size_t nb)
{
	size_t n = 0;
	for (size_t i = 0; i < na; i++)
		out[n++] = a[i];
	for (size_t i = 0; i < nb; i++) {
		bool seen = false;
		for (size_t j = 0; j < n && !seen; j++)
			seen = strcmp(out[j], b[i]) == 0;
		if (!seen)
			out[n++] = b[i];
	}
	return n;
}

static void rebuild_member_index(vigil_config *c)
{
	g_hash_table_remove_all(c->member_by_address);
	for (size_t i = 0; i < c->n_members; i++)
		g_hash_table_insert(c->member_by_address, (gpointer)c->members[i].address,
			&c->members[i]);
}

int config__merge(vigil_config *dst, vigil_config *src)
{
	config_priv *d = config__priv(dst), *s = config__priv(src);
	int rc = 0;
	const char **own = NULL;
	vigil_member *members = NULL;
	vigil_protected *prot = NULL;
	const char **rule_paths = NULL;
	/* Everything src points to lives in its arena: dst adopts the arena
	 * first, so strings can be shared instead of copied. */
	if (vigil_arena_defer(dst->arena, free_arena_cb, src->arena) != 0) {
		src->arena = NULL; /* already freed by the failed defer */
		rc = VIGIL_ENOMEM;
		goto out;
	}
	src->arena = NULL;

	/* What can fail comes first; until the commit below dst is untouched
	 * (memory taken from its arena meanwhile is only wasted, not seen). */
	if ((rc = netset__reserve(dst->internal_networks, netset__count(src->internal_networks))) ||
		(rc = netset__reserve(dst->relays, netset__count(src->relays))))
		goto out;
	size_t n_own = dst->n_own_domains + src->n_own_domains;
	size_t n_members = dst->n_members + src->n_members;
	size_t n_prot = dst->n_protected + src->n_protected;
	if ((src->n_own_domains && !(own = vigil_arena_calloc(dst->arena, n_own, sizeof(*own)))) ||
		(src->n_members &&
			!(members = vigil_arena_calloc(dst->arena, n_members, sizeof(*members)))) ||
		(src->n_protected && !(prot = vigil_arena_calloc(dst->arena, n_prot, sizeof(*prot)))) ||
		(src->n_rule_paths && !(rule_paths = vigil_arena_calloc(dst->arena,
			dst->n_rule_paths + src->n_rule_paths, sizeof(*rule_paths))))) {
		rc = VIGIL_ENOMEM;
		goto out;
	}

	/* Commit. GLib aborts rather than fail on allocation, so nothing below
	 * returns an error. */
	(void)netset__merge(dst->internal_networks, src->internal_networks);
	(void)netset__merge(dst->relays, src->relays);
	if (own) {
		size_t n = append_unique(own, dst->own_domains, dst->n_own_domains,
			src->own_domains, src->n_own_domains);
		dst->own_domains = own;
		dst->n_own_domains = n;
		d->cap_own_domains = n_own;
	}
	if (members) {
		size_t n = 0;
		for (size_t i = 0; i < dst->n_members; i++)
			members[n++] = dst->members[i];
		for (size_t i = 0; i < src->n_members; i++)
			if (!g_hash_table_contains(dst->member_by_address, src->members[i].address))
				members[n++] = src->members[i];
		dst->members = members;
		dst->n_members = n;
		d->cap_members = n_members;
		rebuild_member_index(dst);
	}
	if (prot) {
		/* memcpy() from NULL is undefined even for 0 bytes: an empty list
		 * has no array. */
		if (dst->n_protected)
			memcpy(prot, dst->protected_ids, dst->n_protected * sizeof(*prot));
		if (src->n_protected)
			memcpy(prot + dst->n_protected, src->protected_ids,
				src->n_protected * sizeof(*prot));
		dst->protected_ids = prot;
		dst->n_protected = n_prot;
		d->cap_protected = n_prot;
	}
	if (rule_paths) {
		/* A rule file named twice would be compiled twice, into two
		 * namespaces: once is enough. */
		size_t n = append_unique((const char **)rule_paths,
			(const char *const *)dst->rule_paths, dst->n_rule_paths,
			(const char *const *)src->rule_paths, src->n_rule_paths);
		dst->rule_paths = rule_paths;
		dst->n_rule_paths = n;
	}
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, src->freemail);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (!g_hash_table_contains(dst->freemail, k))
			g_hash_table_insert(dst->freemail, k, v);
	g_hash_table_iter_init(&it, src->tracker_hosts);
	while (g_hash_table_iter_next(&it, &k, &v))
		if (!g_hash_table_contains(dst->tracker_hosts, k))
			g_hash_table_insert(dst->tracker_hosts, k, v);
	g_hash_table_iter_init(&it, src->weights);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_hash_table_replace(dst->weights, k, v);
	dst->deception_threshold = src->deception_threshold;
	dst->token_deception_threshold = src->token_deception_threshold;
	dst->intel_recon = src->intel_recon;
	dst->malicious_threshold = src->malicious_threshold;
	dst->milter = src->milter;
	if (src->path)
		dst->path = src->path;
	d->own_domains_given = d->own_domains_given || s->own_domains_given;
out:
	config__free(src);
	return rc;
}

/* ---- after loading --------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int config__finish(vigil_config *cfg)
{
	config_priv *p = config__priv(cfg);
	if (p->finished)
		return 0;
	if (!p->own_domains_given && cfg->n_own_domains == 0 && cfg->n_members > 0) {
		/* Own domains default to the members' registrable domains: mail
		 * between members is the organisation talking to itself. */
		GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
		const char **own = vigil_arena_calloc(cfg->arena, cfg->n_members, sizeof(*own));
		if (!own) {
			g_hash_table_unref(seen);
			return VIGIL_ENOMEM;
		}
		size_t n = 0;
		for (size_t i = 0; i < cfg->n_members; i++) {
			const char *d = config__registrable(cfg->members[i].domain);
			if (!d)
				d = cfg->members[i].domain; /* "localhost": no suffix rule */
			if (g_hash_table_add(seen, (gpointer)d))
				own[n++] = d;
		}
		g_hash_table_unref(seen);
		cfg->own_domains = own;
		cfg->n_own_domains = n;
		p->cap_own_domains = cfg->n_members;
	}
	/* Sorted so that output listing them is the same from run to run. */
	if (cfg->n_own_domains > 1)
		qsort(cfg->own_domains, cfg->n_own_domains, sizeof(*cfg->own_domains), cmp_str);
	g_hash_table_remove_all(p->own_domain_set);
	for (size_t i = 0; i < cfg->n_own_domains; i++)
		g_hash_table_add(p->own_domain_set, (gpointer)cfg->own_domains[i]);
	rebuild_member_index(cfg);
	p->finished = true;
	return 0;
}

int config__weight(const vigil_config *cfg, const char *finding_id, int default_score)
{
	gpointer v;
	if (cfg && cfg->weights && finding_id &&
		g_hash_table_lookup_extended(cfg->weights, finding_id, NULL, &v))
		return GPOINTER_TO_INT(v);
	return default_score;
}

bool config__is_own_domain(const vigil_config *cfg, const char *registrable_domain)
{
	if (!cfg || !registrable_domain)
		return false;
	/* A config not made by config__new_default() (a test building one by
	 * hand) has no private part: look through the array. */
	if (cfg->arena && config__priv((vigil_config *)cfg)->finished)
		return g_hash_table_contains(config__priv((vigil_config *)cfg)->own_domain_set,
			registrable_domain);
	for (size_t i = 0; i < cfg->n_own_domains; i++)
		if (strcmp(cfg->own_domains[i], registrable_domain) == 0)
			return true;
	return false;
}

const vigil_member *config__member(const vigil_config *cfg, const char *address)
{
	if (!cfg || !cfg->member_by_address || !address)
		return NULL;
	const vigil_member *m = g_hash_table_lookup(cfg->member_by_address, address);
	if (m)
		return m;
	/* Members are keyed lower-case; addresses in mail keep their case.
	 * Fold ASCII on a stack copy (no allocation on the scan path). */
	char buf[512];
	size_t n = strlen(address);
	if (n >= sizeof(buf))
		return NULL;
	bool changed = false;
	for (size_t i = 0; i <= n; i++) {
		buf[i] = g_ascii_tolower(address[i]);
		changed = changed || buf[i] != address[i];
	}
	return changed ? g_hash_table_lookup(cfg->member_by_address, buf) : NULL;
}

/* ---- the config file ------------------------------------------------- */

typedef enum { V_PATH, V_PATHS, V_LIST, V_INT, V_MILTER } value_kind;

typedef struct known_key {
	const char *group, *key;
	value_kind kind;
} known_key;

static const known_key known_keys[] = {
	{"organisation", "domains", V_LIST},
	{"organisation", "networks", V_LIST},
	{"organisation", "members", V_PATH},
	{"identities", "protected", V_PATH},
	{"identities", "freemail", V_PATH},
	{"relays", "lists", V_PATHS},
	{"relays", "addresses", V_LIST},
	{"trackers", "lists", V_PATHS},
	{"rules", "paths", V_PATHS},
	{"verdict", "deception", V_INT},
	{"verdict", "token_deception", V_INT},
	{"verdict", "malicious", V_INT},
	{"verdict", "intel", V_LIST},
	{"milter", "clean", V_MILTER},
	{"milter", "tracking", V_MILTER},
	{"milter", "suspicious", V_MILTER},
	{"milter", "recon", V_MILTER},
	{"milter", "malicious", V_MILTER},
	{"milter", "subject_prefix", V_MILTER},
	{"milter", "quarantine", V_MILTER},
	{"milter", "after_quarantine", V_MILTER},
	{"milter", "fallback", V_MILTER},
	{"milter", "max_size", V_MILTER},
	{"milter", "time_budget", V_MILTER},
	{"milter", "reject_reply", V_MILTER},
	{"milter", "socket", V_MILTER},
	{"milter", "log", V_MILTER},
};

/* What one file load carries around. */
typedef struct file_load {
	const char *path;
	const char *text; /* the file, to find line numbers GKeyFile does not keep */
	char *dir;        /* where relative list paths start */
	GKeyFile *kf;
	vigil_config *c; /* the staging config */
	char *err;
	size_t err_size;
} file_load;

/* Skips leading blanks; returns the start of the line's content. */
static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Line number (1-based) where `key` is set in `group` (the last time, as
 * GKeyFile keeps the last value), or of the group's header when key is NULL
 * (the first one); 0 when not found. Mirrors GKeyFile's own reading: blanks
 * before a line ignored, key ends at '=' with trailing blanks cut, a group
 * name runs to the last ']'. */
static unsigned find_line(const char *text, const char *group, const char *key)
{
	unsigned line = 0, found = 0;
	bool in_group = false;
	size_t glen = strlen(group), klen = key ? strlen(key) : 0;
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		const char *end = eol;
		if (end > p && end[-1] == '\r')
			end--;
		line++;
		const char *s = skip_blank(p, end);
		if (s < end && *s == '[') {
			const char *close = end;
			while (close > s && close[-1] != ']')
				close--;
			in_group = close > s + 1 && (size_t)(close - 1 - (s + 1)) == glen &&
				memcmp(s + 1, group, glen) == 0;
			if (in_group && !key)
				return line;
		} else if (in_group && key && s < end && *s != '#') {
			const char *eq = memchr(s, '=', (size_t)(end - s));
			if (eq) {
				const char *k = eq;
				while (k > s && (k[-1] == ' ' || k[-1] == '\t'))
					k--;
				if ((size_t)(k - s) == klen && memcmp(s, key, klen) == 0)
					found = line;
			}
		}
		p = *eol ? eol + 1 : eol;
	}
	return found;
}

/* "FILE:LINE: " for a key (or group), "FILE: " when the line is unknown. */
static int fail_at(file_load *L, int code, const char *group, const char *key, const char *fmt,
	...) __attribute__((format(printf, 5, 6)));
static int fail_at(file_load *L, int code, const char *group, const char *key, const char *fmt,
	...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	unsigned line = find_line(L->text, group, key);
	if (line)
		return config__fail(L->err, L->err_size, code, "%s:%u: %s", L->path, line, msg);
	return config__fail(L->err, L->err_size, code, "%s: %s", L->path, msg);
}

/* The first line GKeyFile would refuse, by the same rules, or 0. Used only
 * to put a line number on GLib's message, which has none. */
static unsigned first_bad_line(const char *text)
{
	unsigned line = 0;
	bool group_seen = false;
	for (const char *p = text; *p;) {
		const char *eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		const char *end = eol;
		if (end > p && end[-1] == '\r')
			end--;
		line++;
		const char *s = skip_blank(p, end);
		if (!g_utf8_validate(p, end - p, NULL))
			return line;
		if (s < end && *s == '[') {
			if (end[-1] != ']' || end - s < 3)
				return line;
			group_seen = true;
		} else if (s < end && *s != '#') {
			if (!group_seen || !memchr(s, '=', (size_t)(end - s)) || *s == '=')
				return line;
		}
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

/* The raw value, refused when it carries a comment: GKeyFile only knows
 * comments on lines of their own, so "freemail.txt  # note" would name a
 * file that does not exist, and "30 # note" would not be a number. */
static int raw_value(file_load *L, const char *group, const char *key, char **out)
{
	*out = g_key_file_get_value(L->kf, group, key, NULL);
	if (!*out)
		return fail_at(L, VIGIL_ECONFIG, group, key, "%s: cannot read the value", key);
	for (const char *p = *out; *p; p++)
		if (*p == '#' && p > *out && (p[-1] == ' ' || p[-1] == '\t')) {
			g_free(*out);
			*out = NULL;
			return fail_at(L, VIGIL_ECONFIG, group, key,
				"%s: a comment must be on a line of its own", key);
		}
	return 0;
}

static int int_value(file_load *L, const char *group, const char *key, int min, int max,
	int *out)
{
	char *raw;
	int rc = raw_value(L, group, key, &raw);
	if (rc)
		return rc;
	gint64 v;
	char *t = g_strstrip(raw);
	if (!g_ascii_string_to_signed(t, 10, min, max, &v, NULL)) {
		rc = fail_at(L, VIGIL_ECONFIG, group, key,
			"%s: '%s' is not a whole number from %d to %d", key, t, min, max);
		g_free(raw);
		return rc;
	}
	g_free(raw);
	*out = (int)v;
	return 0;
}

/* The items of a ';'-separated value, blanks around each cut, empty ones
 * dropped (a trailing ';' is common). NULL-terminated; g_strfreev(). */
static int list_value(file_load *L, const char *group, const char *key, char ***out)
{
	char *raw;
	int rc = raw_value(L, group, key, &raw);
	if (rc)
		return rc;
	g_free(raw);
	GError *ge = NULL;
	char **items = g_key_file_get_string_list(L->kf, group, key, NULL, &ge);
	if (!items) {
		rc = fail_at(L, VIGIL_ECONFIG, group, key, "%s: %s", key, ge->message);
		g_error_free(ge);
		return rc;
	}
	size_t n = 0;
	for (size_t i = 0; items[i]; i++) {
		g_strstrip(items[i]);
		if (*items[i])
			items[n++] = items[i];
		else
			g_free(items[i]);
	}
	items[n] = NULL;
	*out = items;
	return 0;
}

/* Weight ids look like detector ids: "tracker.hidden-image": lower-case
 * words of letters and digits joined by '-', at least two joined by '.'. */
static bool valid_finding_id(const char *id)
{
	size_t dots = 0;
	char prev = '.';
	for (const char *p = id; *p; p++) {
		char ch = *p;
		if (ch == '.' || ch == '-') {
			if (prev == '.' || prev == '-')
				return false;
			dots += ch == '.';
		} else if (!g_ascii_islower(ch) && !g_ascii_isdigit(ch)) {
			return false;
		}
		prev = ch;
	}
	return dots > 0 && prev != '.' && prev != '-';
}

typedef int (*list_loader)(vigil_config *, const char *, char *, size_t);

/* Loads one list named in the file, its path taken relative to the file.
 * A missing file is reported at the key; a bad line at the list's own line,
 * with the key it came from. */
static int load_list(file_load *L, const char *group, const char *key, const char *item,
	list_loader fn)
{
	char *full = g_path_is_absolute(item) ? g_strdup(item) : g_build_filename(L->dir, item, NULL);
	char sub[768];
	sub[0] = '\0';
	int rc = fn(L->c, full, sub, sizeof(sub));
	g_free(full);
	if (rc == VIGIL_EIO)
		return fail_at(L, rc, group, key, "[%s] %s: %s", group, key, sub);
	if (rc) {
		unsigned line = find_line(L->text, group, key);
		return config__fail(L->err, L->err_size, rc, "%s (listed in %s:%u, [%s] %s)", sub,
			L->path, line, group, key);
	}
	return 0;
}

static int apply_own_domains(file_load *L, char **items)
{
	config_priv *p = config__priv(L->c);
	for (size_t i = 0; items[i]; i++) {
		const char *a = domain__to_ascii(L->c->arena, items[i]);
		if (!a || !config__is_hostname(a))
			return fail_at(L, VIGIL_ECONFIG, "organisation", "domains",
				"domains: '%s' is not a domain name", items[i]);
		const char *reg = config__registrable(a);
		if (!reg)
			return fail_at(L, VIGIL_ECONFIG, "organisation", "domains",
				"domains: '%s' is a public suffix, not a registrable domain", items[i]);
		bool seen = false;
		for (size_t j = 0; j < L->c->n_own_domains && !seen; j++)
			seen = strcmp(L->c->own_domains[j], reg) == 0;
		if (seen)
			continue;
		const char **slot = (const char **)arena__vec_push(L->c->arena,
			(void **)&L->c->own_domains, &L->c->n_own_domains, &p->cap_own_domains,
			sizeof(*slot));
		if (!slot)
			return VIGIL_ENOMEM;
		*slot = reg;
	}
	p->own_domains_given = true;
	return 0;
}

static int apply_networks(file_load *L, const char *group, const char *key, char **items,
	vigil_netset *set)
{
	for (size_t i = 0; items[i]; i++) {
		const char *why = NULL;
		int rc = netset__add(set, items[i], &why);
		if (rc == VIGIL_ENOMEM)
			return rc;
		if (rc)
			return fail_at(L, VIGIL_ECONFIG, group, key, "%s: '%s': %s", key, items[i], why);
	}
	return 0;
}

/* YARA rule paths are only checked to exist here, so that a typo is
 * reported at its line; rules/rules.c compiles them at vigil_ctx_ready(). */
static int apply_rule_paths(file_load *L, char **items)
{
	size_t n = g_strv_length(items);
	if (n == 0)
		return 0;
	const char **paths = vigil_arena_calloc(L->c->arena, n, sizeof(*paths));
	if (!paths)
		return VIGIL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char *full = g_path_is_absolute(items[i]) ? g_strdup(items[i])
							  : g_build_filename(L->dir, items[i], NULL);
		if (!g_file_test(full, G_FILE_TEST_EXISTS)) {
			int rc = fail_at(L, VIGIL_EIO, "rules", "paths",
				"[rules] paths: %s: no such file or directory", full);
			g_free(full);
			return rc;
		}
		paths[i] = vigil_arena_strdup(L->c->arena, full);
		g_free(full);
		if (!paths[i])
			return VIGIL_ENOMEM;
	}
	L->c->rule_paths = paths;
	L->c->n_rule_paths = n;
	return 0;
}

/* One word of `words` (NULL-terminated): its index in *out. */
static int word_value(file_load *L, const char *group, const char *key,
	const char *const *words, const char *what, int *out)
{
	char *raw;
	int rc = raw_value(L, group, key, &raw);
	if (rc)
		return rc;
	char *t = g_strstrip(raw);
	for (int i = 0; words[i]; i++)
		if (strcmp(t, words[i]) == 0) {
			*out = i;
			g_free(raw);
			return 0;
		}
	rc = fail_at(L, VIGIL_ECONFIG, group, key, "%s: '%s' is not %s", key, t, what);
	g_free(raw);
	return rc;
}

/* A string setting kept as written, blanks around it cut. */
static int text_value(file_load *L, const char *group, const char *key, size_t max,
	const char **out)
{
	char *raw;
	int rc = raw_value(L, group, key, &raw);
	if (rc)
		return rc;
	char *t = g_strstrip(raw);
	/* These end up in SMTP replies and headers: one line of printable
	 * text, or a header injection waits in the config file. */
	for (const char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			g_free(raw);
			return fail_at(L, VIGIL_ECONFIG, group, key,
				"%s: control characters are not allowed", key);
		}
	if (strlen(t) > max) {
		g_free(raw);
		return fail_at(L, VIGIL_ECONFIG, group, key, "%s: longer than %zu bytes", key, max);
	}
	*out = vigil_arena_strdup(L->c->arena, t);
	g_free(raw);
	return *out ? 0 : VIGIL_ENOMEM;
}

/* One key of [milter]. */
static int apply_milter(file_load *L, const char *key)
{
	static const char *const actions[] = {"accept", "tag", "quarantine", "reject", NULL};
	static const char *const verdicts[] = {"clean", "tracking", "suspicious", "recon",
		"malicious", NULL};
	vigil_milter_settings *m = &L->c->milter;
	const char *g = "milter";
	int v, rc;
	for (int i = 0; verdicts[i]; i++)
		if (strcmp(key, verdicts[i]) == 0) {
			if ((rc = word_value(L, g, key, actions, "accept, tag, quarantine or reject",
				     &v)))
				return rc;
			m->action[i] = (vigil_milter_action)v;
			return 0;
		}
	if (strcmp(key, "after_quarantine") == 0) {
		static const char *const w[] = {"discard", "hold", NULL};
		if ((rc = word_value(L, g, key, w, "discard or hold", &v)))
			return rc;
		m->quarantine_hold = v == 1;
	} else if (strcmp(key, "fallback") == 0) {
		static const char *const w[] = {"tempfail", "accept", NULL};
		if ((rc = word_value(L, g, key, w, "tempfail or accept", &v)))
			return rc;
		m->fallback_accept = v == 1;
	} else if (strcmp(key, "log") == 0) {
		static const char *const w[] = {"auto", "stderr", "syslog", NULL};
		if ((rc = word_value(L, g, key, w, "auto, stderr or syslog", &v)))
			return rc;
		m->log = v;
	} else if (strcmp(key, "max_size") == 0) {
		/* Below 64 KiB ordinary mail with one small attachment would
		 * already get the fallback. */
		if ((rc = int_value(L, g, key, 64 * 1024, (int)VIGIL_MAX_MESSAGE_BYTES, &v)))
			return rc;
		m->max_message_bytes = (size_t)v;
	} else if (strcmp(key, "time_budget") == 0) {
		if ((rc = int_value(L, g, key, 10, 600000, &v)))
			return rc;
		m->time_budget_ms = (unsigned)v;
	} else if (strcmp(key, "subject_prefix") == 0) {
		return text_value(L, g, key, 64, &m->subject_prefix);
	} else if (strcmp(key, "reject_reply") == 0) {
		if ((rc = text_value(L, g, key, 200, &m->reject_reply)))
			return rc;
		if (!*m->reject_reply)
			return fail_at(L, VIGIL_ECONFIG, g, key, "%s: must not be empty", key);
		/* Sendmail expands '%' in reply texts: one in a reply would not
		 * read as written. */
		if (strchr(m->reject_reply, '%'))
			return fail_at(L, VIGIL_ECONFIG, g, key, "%s: must not contain '%%'", key);
	} else if (strcmp(key, "socket") == 0) {
		if ((rc = text_value(L, g, key, 200, &m->socket)))
			return rc;
		if (strncmp(m->socket, "inet:", 5) != 0 && strncmp(m->socket, "inet6:", 6) != 0 &&
			strncmp(m->socket, "unix:", 5) != 0 && strncmp(m->socket, "local:", 6) != 0)
			return fail_at(L, VIGIL_ECONFIG, g, key,
				"%s: '%s' is not inet:PORT@HOST, inet6:PORT@HOST or unix:PATH", key,
				m->socket);
	} else if (strcmp(key, "quarantine") == 0) {
		const char *dir;
		if ((rc = text_value(L, g, key, 1024, &dir)))
			return rc;
		if (!*dir)
			return fail_at(L, VIGIL_ECONFIG, g, key, "%s: must name a folder", key);
		char *full = g_path_is_absolute(dir) ? g_strdup(dir)
						     : g_build_filename(L->dir, dir, NULL);
		m->quarantine_dir = vigil_arena_strdup(L->c->arena, full);
		g_free(full);
		if (!m->quarantine_dir)
			return VIGIL_ENOMEM;
	}
	return 0;
}

/* Applies one known key. */
static int apply_key(file_load *L, const known_key *k)
{
	const char *g = k->group, *key = k->key;
	int rc = 0;
	if (k->kind == V_MILTER)
		return apply_milter(L, key);
	if (k->kind == V_INT) {
		int v;
		if ((rc = int_value(L, g, key, 1, THRESHOLD_MAX, &v)))
			return rc;
		if (strcmp(key, "deception") == 0)
			L->c->deception_threshold = v;
		else if (strcmp(key, "token_deception") == 0)
			L->c->token_deception_threshold = v;
		else
			L->c->malicious_threshold = v;
		return 0;
	}
	char **items = NULL;
	if ((rc = list_value(L, g, key, &items)))
		return rc;
	if (k->kind == V_PATH && items[0] && items[1]) {
		rc = fail_at(L, VIGIL_ECONFIG, g, key, "%s: names one file, not a list", key);
	} else if (strcmp(g, "organisation") == 0 && strcmp(key, "domains") == 0) {
		rc = apply_own_domains(L, items);
	} else if (strcmp(g, "organisation") == 0 && strcmp(key, "networks") == 0) {
		rc = apply_networks(L, g, key, items, L->c->internal_networks);
	} else if (strcmp(g, "relays") == 0 && strcmp(key, "addresses") == 0) {
		rc = apply_networks(L, g, key, items, L->c->relays);
	} else if (strcmp(g, "rules") == 0) {
		rc = apply_rule_paths(L, items);
	} else if (strcmp(g, "verdict") == 0 && strcmp(key, "intel") == 0) {
		if (items[0] && !items[1] && strcmp(items[0], "malicious") == 0)
			L->c->intel_recon = false;
		else if (items[0] && !items[1] && strcmp(items[0], "recon") == 0)
			L->c->intel_recon = true;
		else
			rc = fail_at(L, VIGIL_ECONFIG, g, key, "%s: malicious or recon", key);
	} else {
		list_loader fn = strcmp(key, "members") == 0 ? lists__members
			: strcmp(key, "protected") == 0      ? lists__protected
			: strcmp(key, "freemail") == 0       ? lists__freemail
			: strcmp(g, "relays") == 0           ? lists__relays
							     : lists__trackers;
		for (size_t i = 0; items[i] && rc == 0; i++)
			rc = load_list(L, g, key, items[i], fn);
	}
	g_strfreev(items);
	return rc;
}

static int apply_weights(file_load *L)
{
	char **keys = g_key_file_get_keys(L->kf, "weights", NULL, NULL);
	int rc = 0;
	for (size_t i = 0; keys && keys[i] && rc == 0; i++) {
		int v;
		if ((rc = int_value(L, "weights", keys[i], 0, WEIGHT_MAX, &v)))
			break;
		const char *id = vigil_arena_strdup(L->c->arena, keys[i]);
		if (!id) {
			rc = VIGIL_ENOMEM;
			break;
		}
		g_hash_table_replace(L->c->weights, (gpointer)id, GINT_TO_POINTER(v));
	}
	g_strfreev(keys);
	return rc;
}

/* Refuses unknown groups and keys before anything is applied: a typo must
 * not silently leave a list out. */
static int check_names(file_load *L)
{
	static const char *const groups[] = {"organisation", "identities", "relays", "trackers",
		"rules", "weights", "verdict", "milter"};
	char **gs = g_key_file_get_groups(L->kf, NULL);
	int rc = 0;
	for (size_t i = 0; gs[i] && rc == 0; i++) {
		bool known = false;
		for (size_t j = 0; j < G_N_ELEMENTS(groups) && !known; j++)
			known = strcmp(gs[i], groups[j]) == 0;
		if (!known) {
			rc = fail_at(L, VIGIL_ECONFIG, gs[i], NULL, "unknown group [%s]", gs[i]);
			break;
		}
		char **keys = g_key_file_get_keys(L->kf, gs[i], NULL, NULL);
		for (size_t k = 0; keys && keys[k] && rc == 0; k++) {
			if (strcmp(gs[i], "weights") == 0) {
				if (!valid_finding_id(keys[k]))
					rc = fail_at(L, VIGIL_ECONFIG, gs[i], keys[k],
						"'%s' is not a finding id (like tracker.hidden-image)",
						keys[k]);
				continue;
			}
			known = false;
			for (size_t j = 0; j < G_N_ELEMENTS(known_keys) && !known; j++)
				known = strcmp(known_keys[j].group, gs[i]) == 0 &&
					strcmp(known_keys[j].key, keys[k]) == 0;
			if (!known)
				rc = fail_at(L, VIGIL_ECONFIG, gs[i], keys[k], "unknown key '%s' in [%s]",
					keys[k], gs[i]);
		}
		g_strfreev(keys);
	}
	g_strfreev(gs);
	return rc;
}

int config__load_file(vigil_config *cfg, const char *path, char *err, size_t err_size)
{
	if (config__priv(cfg)->finished)
		return config__fail(err, err_size, VIGIL_EINVAL,
			"%s: the configuration is already in use", path);
	if (err && err_size)
		err[0] = '\0';
	char *text = NULL;
	size_t len = 0;
	int rc = config__read_file(path, &text, &len, err, err_size);
	if (rc)
		return rc;
	file_load L = {.path = path, .text = text, .err = err, .err_size = err_size};
	L.kf = g_key_file_new();
	GError *ge = NULL;
	if (!g_key_file_load_from_data(L.kf, text, len, G_KEY_FILE_NONE, &ge)) {
		unsigned line = first_bad_line(text);
		if (line)
			rc = config__fail(err, err_size, VIGIL_ECONFIG, "%s:%u: %s", path, line,
				ge->message);
		else
			rc = config__fail(err, err_size, VIGIL_ECONFIG, "%s: %s", path, ge->message);
		g_error_free(ge);
		goto out;
	}
	if ((rc = check_names(&L)))
		goto out;
	if (!(L.c = config__staging(cfg))) {
		rc = VIGIL_ENOMEM;
		goto out;
	}
	L.dir = g_path_get_dirname(path);
	L.c->path = vigil_arena_strdup(L.c->arena, path);
	if (!L.c->path) {
		rc = VIGIL_ENOMEM;
		goto out;
	}
	/* Fixed order, so the same file fails the same way every time. */
	for (size_t i = 0; i < G_N_ELEMENTS(known_keys) && rc == 0; i++)
		if (g_key_file_has_key(L.kf, known_keys[i].group, known_keys[i].key, NULL))
			rc = apply_key(&L, &known_keys[i]);
	if (rc == 0)
		rc = apply_weights(&L);
	if (rc == 0) {
		rc = config__merge(cfg, L.c); /* frees the staging config */
		L.c = NULL;
	}
out:
	if (rc == VIGIL_ENOMEM && err && err_size && !err[0])
		config__fail(err, err_size, rc, "%s: out of memory", path);
	config__free(L.c);
	g_free(L.dir);
	g_key_file_free(L.kf);
	g_free(text);
	return rc;
}
