/*
 * STIX 2.1 feeds: bundles, single objects and JSON Lines of objects. Takes
 * indicators whose pattern is an OR of `=` comparisons on the object paths
 * vigil can match, and the actor named by `indicates` relationships. It does
 * not evaluate patterns: AND, other operators and qualifiers are skipped.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_limits.h"
#include "intel/intel_private.h"

/* ---- the pattern parser ------------------------------------------------- */

typedef enum tok_kind {
	T_END,
	T_LBRACK,
	T_RBRACK,
	T_LPAREN,
	T_RPAREN,
	T_COMMA,
	T_OP,     /* = != < > <= >= */
	T_WORD,   /* keyword, object path, number, true/false */
	T_STRING, /* 'text', t'...', h'...', b'...' (prefix in `prefix`) */
} tok_kind;

typedef struct tok {
	tok_kind kind;
	const char *text; /* T_WORD/T_OP: into the pattern; T_STRING: unescaped, in scratch */
	size_t len;
	char prefix;
} tok;

/* One OR-branch: a comparison vigil can match, or why it cannot. */
typedef struct branch {
	vigil_ioc_type type;
	const char *value; /* in scratch, NUL-terminated */
	const char *unsupported;
} branch;

typedef struct pat {
	const char *p, *end, *start;
	tok t;
	int depth;
	const char *err;
	size_t err_at;
	char *scratch; /* unescaped strings; never longer than the pattern */
	size_t used;
	branch *b;
	size_t nb, cap;
} pat;

static bool is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '_' || c == '-' || c == '+' || c == ':' || c == '.' || c == '*';
}

static int fail(pat *P, const char *why)
{
	if (!P->err) {
		P->err = why;
		P->err_at = (size_t)(P->p - P->start);
	}
	return -1;
}

/* Reads a quoted string at P->p (on the opening quote) into scratch. */
static int read_string(pat *P, const char **out, size_t *len)
{
	char *o = P->scratch + P->used;
	size_t n = 0;
	P->p++;
	for (;;) {
		if (P->p >= P->end)
			return fail(P, "unterminated string");
		char c = *P->p++;
		if (c == '\'')
			break;
		if (c == '\\' && P->p < P->end && (*P->p == '\'' || *P->p == '\\'))
			c = *P->p++;
		o[n++] = c;
	}
	o[n] = '\0';
	P->used += n + 1;
	*out = o;
	*len = n;
	return 0;
}

static int next(pat *P)
{
	while (P->p < P->end && (*P->p == ' ' || *P->p == '\t' || *P->p == '\r' || *P->p == '\n'))
		P->p++;
	tok *t = &P->t;
	memset(t, 0, sizeof(*t));
	if (P->p >= P->end) {
		t->kind = T_END;
		return 0;
	}
	const char *s = P->p;
	char c = *s;
	switch (c) {
	case '[': t->kind = T_LBRACK; P->p++; return 0;
	case ']': t->kind = T_RBRACK; P->p++; return 0;
	case '(': t->kind = T_LPAREN; P->p++; return 0;
	case ')': t->kind = T_RPAREN; P->p++; return 0;
	case ',': t->kind = T_COMMA; P->p++; return 0;
	case '\'':
		t->kind = T_STRING;
		return read_string(P, &t->text, &t->len);
	case '=': case '!': case '<': case '>':
		t->kind = T_OP;
		t->text = s;
		t->len = (P->p + 1 < P->end && P->p[1] == '=') ? 2 : 1;
		if (c == '!' && t->len != 2)
			return fail(P, "'!' without '='");
		P->p += t->len;
		return 0;
	}
	if ((c == 't' || c == 'h' || c == 'b') && P->p + 1 < P->end && P->p[1] == '\'') {
		P->p++;
		t->kind = T_STRING;
		t->prefix = c;
		return read_string(P, &t->text, &t->len);
	}
	if (!is_word(c))
		return fail(P, "unexpected character");
	/* A word: keyword, number, or an object path, which may hold quoted
	 * segments (file:hashes.'SHA-256') and list steps (to_refs[*]). */
	while (P->p < P->end) {
		char d = *P->p;
		if (is_word(d)) {
			P->p++;
		} else if (d == '\'' && P->p > s && P->p[-1] == '.') {
			const char *q = memchr(P->p + 1, '\'', (size_t)(P->end - P->p - 1));
			if (!q)
				return fail(P, "unterminated quoted path step");
			P->p = q + 1;
		} else if (d == '[' && memchr(s, ':', (size_t)(P->p - s))) {
			const char *q = P->p + 1;
			while (q < P->end && ((*q >= '0' && *q <= '9') || *q == '*'))
				q++;
			if (q == P->p + 1 || q >= P->end || *q != ']')
				break;
			P->p = q + 1;
		} else {
			break;
		}
	}
	t->kind = T_WORD;
	t->text = s;
	t->len = (size_t)(P->p - s);
	return 0;
}

static bool word_is(const tok *t, const char *kw)
{
	return t->kind == T_WORD && t->len == strlen(kw) && strncasecmp(t->text, kw, t->len) == 0;
}

static int push(pat *P, vigil_ioc_type type, const char *value, const char *unsupported)
{
	if (P->nb == P->cap) {
		size_t cap = P->cap ? P->cap * 2 : 8;
		branch *b = realloc(P->b, cap * sizeof(*b));
		if (!b)
			return fail(P, "out of memory");
		P->b = b;
		P->cap = cap;
	}
	P->b[P->nb++] = (branch){.type = type, .value = value, .unsupported = unsupported};
	return 0;
}

/* Replaces the branches from `from` on with one unsupported branch: a
 * conjunction matches only when all its parts do, which one indicator per
 * part cannot say. */
static int collapse(pat *P, size_t from, const char *why)
{
	P->nb = from;
	return push(P, 0, NULL, why);
}

/* The indicator type an object path names, or 0. */
static vigil_ioc_type path_type(const char *s, size_t n)
{
	static const struct {
		const char *path;
		vigil_ioc_type type;
	} paths[] = {
		{"domain-name:value", VIGIL_IOC_DOMAIN},
		{"url:value", VIGIL_IOC_URL},
		{"email-addr:value", VIGIL_IOC_EMAIL},
		{"ipv4-addr:value", VIGIL_IOC_IPV4},
		{"ipv6-addr:value", VIGIL_IOC_IPV6},
		{"email-message:from_ref.value", VIGIL_IOC_EMAIL},
		{"email-message:sender_ref.value", VIGIL_IOC_EMAIL},
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (n == strlen(paths[i].path) && memcmp(s, paths[i].path, n) == 0)
			return paths[i].type;
	static const char hashes[] = "file:hashes.";
	if (n <= sizeof(hashes) - 1 || memcmp(s, hashes, sizeof(hashes) - 1) != 0)
		return 0;
	/* 'SHA-256', SHA256, 'sha256': compare without quotes, dashes, case. */
	char name[16];
	size_t k = 0;
	for (size_t i = sizeof(hashes) - 1; i < n; i++) {
		char c = s[i];
		if (c == '\'' || c == '-')
			continue;
		if (k + 1 >= sizeof(name))
			return 0;
		name[k++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	name[k] = '\0';
	if (strcmp(name, "MD5") == 0)
		return VIGIL_IOC_MD5;
	if (strcmp(name, "SHA1") == 0)
		return VIGIL_IOC_SHA1;
	if (strcmp(name, "SHA256") == 0)
		return VIGIL_IOC_SHA256;
	return 0;
}

static int comp_or(pat *P);

/* One comparison: PATH [NOT] OP VALUE, or EXISTS PATH. */
static int comparison(pat *P)
{
	if (word_is(&P->t, "EXISTS")) {
		if (next(P) || P->t.kind != T_WORD)
			return fail(P, "EXISTS without an object path");
		if (next(P))
			return -1;
		return push(P, 0, NULL, "EXISTS is not supported");
	}
	if (P->t.kind != T_WORD || !memchr(P->t.text, ':', P->t.len))
		return fail(P, "expected an object path");
	tok path = P->t;
	if (next(P))
		return -1;
	bool negated = false;
	if (word_is(&P->t, "NOT")) {
		negated = true;
		if (next(P))
			return -1;
	}
	tok op = P->t;
	bool eq = op.kind == T_OP && op.len == 1 && op.text[0] == '=';
	if (op.kind != T_OP && !word_is(&op, "IN") && !word_is(&op, "LIKE") &&
		!word_is(&op, "MATCHES") && !word_is(&op, "ISSUBSET") && !word_is(&op, "ISSUPERSET"))
		return fail(P, "expected a comparison operator");
	if (next(P))
		return -1;
	tok val = P->t;
	vigil_ioc_type type = path_type(path.text, path.len);
	/* IN ('a', 'b') is an OR of equalities: one indicator per plain
	 * string. Its values are kept from `list` on, until it is known whole. */
	size_t list = P->nb;
	bool list_plain = true;
	if (val.kind == T_LPAREN) {
		do {
			if (next(P))
				return -1;
			if (P->t.kind != T_STRING && P->t.kind != T_WORD)
				return fail(P, "expected a value in a list");
			if (P->t.kind != T_STRING || P->t.prefix)
				list_plain = false;
			else if (type && !negated && word_is(&op, "IN") && push(P, type, P->t.text, NULL))
				return -1;
			if (next(P))
				return -1;
		} while (P->t.kind == T_COMMA);
		if (P->t.kind != T_RPAREN)
			return fail(P, "expected ')' after a list");
	} else if (val.kind != T_STRING && val.kind != T_WORD) {
		return fail(P, "expected a value");
	}
	if (next(P))
		return -1;
	if (val.kind == T_LPAREN) {
		if (negated || !word_is(&op, "IN"))
			return collapse(P, list, "an operator other than '=' is not supported");
		if (!type)
			return collapse(P, list, "an object path vigil cannot match");
		if (!list_plain)
			return collapse(P, list, "a value that is not a plain string is not supported");
		return 0;
	}
	/* "The address is in this network": what an address indicator with
	 * a CIDR value means. */
	bool subset = word_is(&op, "ISSUBSET") &&
		(type == VIGIL_IOC_IPV4 || type == VIGIL_IOC_IPV6);
	if (negated || (!eq && !subset))
		return push(P, 0, NULL, "an operator other than '=' is not supported");
	if (val.kind != T_STRING || val.prefix)
		return push(P, 0, NULL, "a value that is not a plain string is not supported");
	if (!type)
		return push(P, 0, NULL, "an object path vigil cannot match");
	return push(P, type, val.text, NULL);
}

static int comp_unit(pat *P)
{
	if (P->t.kind != T_LPAREN)
		return comparison(P);
	if (++P->depth > VIGIL_MAX_STIX_PATTERN_DEPTH)
		return fail(P, "nested too deep");
	if (next(P) || comp_or(P))
		return -1;
	if (P->t.kind != T_RPAREN)
		return fail(P, "expected ')'");
	P->depth--;
	return next(P);
}

static int comp_and(pat *P)
{
	size_t from = P->nb;
	if (comp_unit(P))
		return -1;
	bool conj = false;
	while (word_is(&P->t, "AND")) {
		conj = true;
		if (next(P) || comp_unit(P))
			return -1;
	}
	return conj ? collapse(P, from, "an AND expression is not supported") : 0;
}

static int comp_or(pat *P)
{
	if (comp_and(P))
		return -1;
	while (word_is(&P->t, "OR")) {
		if (next(P) || comp_and(P))
			return -1;
	}
	return 0;
}

static int obs_or(pat *P);

/* Qualifiers after an observation: WITHIN n SECONDS, REPEATS n TIMES,
 * START t'..' STOP t'..'. Returns 1 when there were some. */
static int qualifiers(pat *P)
{
	int any = 0;
	for (;;) {
		if (word_is(&P->t, "WITHIN") || word_is(&P->t, "REPEATS")) {
			if (next(P) || P->t.kind != T_WORD || next(P) ||
				!(word_is(&P->t, "SECONDS") || word_is(&P->t, "TIMES")))
				return fail(P, "bad WITHIN/REPEATS qualifier");
		} else if (word_is(&P->t, "START")) {
			if (next(P) || P->t.kind != T_STRING || next(P) || !word_is(&P->t, "STOP") ||
				next(P) || P->t.kind != T_STRING)
				return fail(P, "bad START/STOP qualifier");
		} else {
			return any;
		}
		any = 1;
		if (next(P))
			return -1;
	}
}

static int observation(pat *P)
{
	size_t from = P->nb;
	if (++P->depth > VIGIL_MAX_STIX_PATTERN_DEPTH)
		return fail(P, "nested too deep");
	if (P->t.kind == T_LPAREN) {
		if (next(P) || obs_or(P))
			return -1;
		if (P->t.kind != T_RPAREN)
			return fail(P, "expected ')'");
	} else if (P->t.kind == T_LBRACK) {
		if (next(P) || comp_or(P))
			return -1;
		if (P->t.kind != T_RBRACK)
			return fail(P, "expected ']'");
	} else {
		return fail(P, "expected '[' or '('");
	}
	P->depth--;
	if (next(P))
		return -1;
	int q = qualifiers(P);
	if (q < 0)
		return -1;
	return q ? collapse(P, from, "a qualifier (WITHIN, REPEATS, START/STOP) is not supported") : 0;
}

static int obs_and(pat *P)
{
	size_t from = P->nb;
	if (observation(P))
		return -1;
	const char *why = NULL;
	while (word_is(&P->t, "AND") || word_is(&P->t, "FOLLOWEDBY")) {
		why = word_is(&P->t, "AND") ? "an AND expression is not supported" :
					      "a FOLLOWEDBY expression is not supported";
		if (next(P) || observation(P))
			return -1;
	}
	return why ? collapse(P, from, why) : 0;
}

static int obs_or(pat *P)
{
	if (obs_and(P))
		return -1;
	while (word_is(&P->t, "OR")) {
		if (next(P) || obs_and(P))
			return -1;
	}
	return 0;
}

/* Parses `s` into P->b. Returns 0, or -1 with P->err set. The scratch and
 * branch buffers are reused across calls. */
static int parse_pattern(pat *P, const char *s, size_t n, char **scratch, size_t *scratch_cap)
{
	if (n + 1 > *scratch_cap) {
		char *b = realloc(*scratch, n + 1);
		if (!b) {
			P->err = "out of memory";
			return -1;
		}
		*scratch = b;
		*scratch_cap = n + 1;
	}
	P->start = P->p = s;
	P->end = s + n;
	P->depth = 0;
	P->err = NULL;
	P->scratch = *scratch;
	P->used = 0;
	P->nb = 0;
	if (next(P) || obs_or(P))
		return -1;
	if (P->t.kind != T_END)
		return fail(P, "unexpected text after the pattern");
	return 0;
}

/* ---- objects ------------------------------------------------------------ */

typedef struct stix_state {
	intel_feed *f;
	json_t *actors;    /* actor object id -> name */
	json_t *indicates; /* indicator id -> "name, name" */
	pat P;
	char *scratch;
	size_t scratch_cap;
	char *labels;
	size_t labels_cap;
} stix_state;

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool has_prefix(const char *s, const char *p)
{
	return s && strncmp(s, p, strlen(p)) == 0;
}

/* Appends `item` to a ", "-joined list held in map[key] unless present. */
static int map_append(json_t *map, const char *key, const char *item)
{
	const char *cur = json_string_value(json_object_get(map, key));
	if (!cur)
		return json_object_set_new(map, key, json_string(item)) ? VIGIL_ENOMEM : 0;
	size_t il = strlen(item);
	for (const char *p = cur; (p = strstr(p, item)); p += il)
		if ((p == cur || p[-1] == ' ') && (p[il] == '\0' || p[il] == ','))
			return 0;
	char *j = NULL;
	if (asprintf(&j, "%s, %s", cur, item) < 0)
		return VIGIL_ENOMEM;
	int rc = json_object_set_new(map, key, json_string(j)) ? VIGIL_ENOMEM : 0;
	free(j);
	return rc;
}

/* labels then indicator_types, comma-joined, each once; NULL when none. */
static const char *join_labels(stix_state *S, json_t *o)
{
	size_t n = 0;
	const char *keys[] = {"labels", "indicator_types"};
	for (int k = 0; k < 2; k++) {
		json_t *arr = json_object_get(o, keys[k]);
		size_t i;
		json_t *v;
		json_array_foreach(arr, i, v) {
			const char *s = json_string_value(v);
			if (!s || !*s || strchr(s, ','))
				continue;
			size_t sl = strlen(s);
			bool dup = false;
			for (size_t p = 0; p < n && !dup; p += strlen(S->labels + p) + 1)
				dup = strcmp(S->labels + p, s) == 0;
			if (dup)
				continue;
			if (n + sl + 2 > S->labels_cap) {
				size_t cap = (n + sl + 2) * 2;
				char *b = realloc(S->labels, cap);
				if (!b)
					return NULL;
				S->labels = b;
				S->labels_cap = cap;
			}
			memcpy(S->labels + n, s, sl + 1);
			n += sl + 1;
		}
	}
	if (n == 0)
		return NULL;
	/* The NULs between the pieces become commas. */
	for (size_t i = 0; i + 1 < n; i++)
		if (S->labels[i] == '\0')
			S->labels[i] = ',';
	return S->labels;
}

static int indicator(stix_state *S, json_t *o, const char *where)
{
	intel_feed *f = S->f;
	const char *id = str(o, "id");
	if (!id)
		id = where;
	if (json_is_true(json_object_get(o, "revoked"))) {
		intel__feed_warn(f, "%s: %s: revoked; skipped", f->path, id);
		return 0;
	}
	const char *ptype = str(o, "pattern_type");
	/* STIX 2.0 had no pattern_type: its patterns are all STIX. */
	if (ptype && strcmp(ptype, "stix") != 0) {
		intel__feed_warn(f, "%s: %s: pattern_type '%.40s' is not supported; skipped",
			f->path, id, ptype);
		return 0;
	}
	json_t *jp = json_object_get(o, "pattern");
	if (!json_is_string(jp))
		return intel__feed_error(f, VIGIL_EPARSE, "%s: %s: indicator without a pattern",
			f->path, id);
	const char *pattern = json_string_value(jp);
	size_t plen = json_string_length(jp);
	if (plen > VIGIL_MAX_STIX_PATTERN_BYTES)
		return intel__feed_error(f, VIGIL_ELIMIT, "%s: %s: pattern longer than %u bytes",
			f->path, id, VIGIL_MAX_STIX_PATTERN_BYTES);
	vigil_indicator ind = {.source_id = id, .valid_from = VIGIL_NO_TIME,
		.valid_until = VIGIL_NO_TIME};
	const char *keys[] = {"valid_from", "valid_until"};
	int64_t *dst[] = {&ind.valid_from, &ind.valid_until};
	for (int k = 0; k < 2; k++) {
		json_t *v = json_object_get(o, keys[k]);
		if (v && (!json_is_string(v) || intel__rfc3339(json_string_value(v), dst[k]) != 0))
			return intel__feed_error(f, VIGIL_EPARSE, "%s: %s: %s is not an RFC 3339 time",
				f->path, id, keys[k]);
	}
	ind.name = str(o, "name");
	ind.actor = json_string_value(json_object_get(S->indicates, id));
	ind.labels = join_labels(S, o);
	if (parse_pattern(&S->P, pattern, plen, &S->scratch, &S->scratch_cap) != 0) {
		if (strcmp(S->P.err, "out of memory") == 0)
			return VIGIL_ENOMEM;
		return intel__feed_error(f, VIGIL_EPARSE, "%s: %s: bad pattern: %s at offset %zu",
			f->path, id, S->P.err, S->P.err_at);
	}
	for (size_t i = 0; i < S->P.nb; i++) {
		const branch *b = &S->P.b[i];
		if (b->unsupported) {
			intel__feed_warn(f, "%s: %s: %s; skipped", f->path, id, b->unsupported);
			continue;
		}
		ind.type = b->type;
		ind.value = b->value;
		int rc = intel__feed_add(f, &ind);
		if (rc)
			return rc;
	}
	return 0;
}

/* The three passes over a feed's objects: actors (threat-actor,
 * intrusion-set, campaign names by id), relationships (indicator
 * "indicates" actor), then indicators, which need the first two. */
static int actor_pass(stix_state *S, json_t *o, size_t i, const size_t *lines)
{
	if (!json_is_object(o)) {
		char where[64];
		if (lines)
			snprintf(where, sizeof(where), "line %zu", lines[i]);
		else
			snprintf(where, sizeof(where), "object #%zu", i + 1);
		return intel__feed_error(S->f, VIGIL_EPARSE, "%s: %s: not a JSON object", S->f->path,
			where);
	}
	const char *type = str(o, "type"), *id = str(o, "id"), *name = str(o, "name");
	if (type && id && name &&
		(strcmp(type, "threat-actor") == 0 || strcmp(type, "intrusion-set") == 0 ||
			strcmp(type, "campaign") == 0) &&
		json_object_set_new(S->actors, id, json_string(name)))
		return VIGIL_ENOMEM;
	return 0;
}

static int relationship_pass(stix_state *S, json_t *o, size_t i, const size_t *lines)
{
	(void)i;
	(void)lines;
	const char *type = str(o, "type"), *rel = str(o, "relationship_type");
	const char *src = str(o, "source_ref"), *dst = str(o, "target_ref");
	if (!type || strcmp(type, "relationship") != 0 || !rel || strcmp(rel, "indicates") != 0 ||
		!has_prefix(src, "indicator--") || !dst)
		return 0;
	const char *actor = json_string_value(json_object_get(S->actors, dst));
	return actor ? map_append(S->indicates, src, actor) : 0;
}

static int indicator_pass(stix_state *S, json_t *o, size_t i, const size_t *lines)
{
	const char *type = str(o, "type");
	if (!type) {
		intel__feed_warn(S->f, "%s: object #%zu: no type; skipped", S->f->path, i + 1);
		return 0;
	}
	if (strcmp(type, "indicator") != 0)
		return 0; /* identity, relationship, malware, ...: nothing to match */
	char where[64];
	if (lines)
		snprintf(where, sizeof(where), "line %zu", lines[i]);
	else
		snprintf(where, sizeof(where), "object #%zu", i + 1);
	return indicator(S, o, where);
}

typedef int (*pass_fn)(stix_state *S, json_t *o, size_t i, const size_t *lines);

static int state_init(stix_state *S, intel_feed *f)
{
	*S = (stix_state){.f = f};
	S->actors = json_object();
	S->indicates = json_object();
	return S->actors && S->indicates ? 0 : VIGIL_ENOMEM;
}

static void state_free(stix_state *S)
{
	json_decref(S->actors);
	json_decref(S->indicates);
	free(S->P.b);
	free(S->scratch);
	free(S->labels);
}

/* Runs the three passes over `objs`. `lines` gives each object's line for
 * JSON Lines, or is NULL. */
static int objects(intel_feed *f, json_t *objs, const size_t *lines)
{
	stix_state S;
	int rc = state_init(&S, f);
	const pass_fn passes[] = {actor_pass, relationship_pass, indicator_pass};
	for (size_t p = 0; rc == 0 && p < 3; p++) {
		size_t i;
		json_t *o;
		json_array_foreach(objs, i, o) {
			if ((rc = passes[p](&S, o, i, lines)))
				break;
		}
	}
	state_free(&S);
	return rc;
}

/* ---- bundles, object by object ------------------------------------------ */

/* A 100,000-indicator bundle is tens of megabytes of JSON; as one jansson
 * tree it takes several times that in memory. Its objects are read one at a
 * time instead, straight from the text. Anything unexpected sends the caller
 * back to the whole-document parse, which reports errors with their line. */

static const char *skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* After a string starting at p ('"'), or NULL. */
static const char *skip_string(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* After the JSON value at p, or NULL when malformed or too deep. */
static const char *skip_value(const char *p, const char *e)
{
	int depth = 0;
	p = skip_ws(p, e);
	do {
		if (p >= e)
			return NULL;
		if (*p == '"') {
			if (!(p = skip_string(p, e)))
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[') {
			if (++depth > 2048) /* jansson's own nesting cap */
				return NULL;
		} else if (*p == '}' || *p == ']') {
			if (--depth < 0)
				return NULL;
		} else if (depth == 0 && (*p == ',' || *p == ':')) {
			return NULL;
		}
		p++;
		if (depth == 0) {
			/* a scalar: up to its end */
			while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
				*p != '\n' && *p != '\r' && *p != '\t' && p[-1] != '}' && p[-1] != ']')
				p++;
		}
	} while (depth > 0);
	return p;
}

/* The '[' of a top-level bundle's "objects" array, or NULL. */
static const char *bundle_objects(const char *buf, size_t len)
{
	const char *p = buf, *e = buf + len, *objs = NULL;
	bool bundle = false;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	p = skip_ws(p, e);
	if (p >= e || *p != '{')
		return NULL;
	p = skip_ws(p + 1, e);
	while (p < e && *p == '"') {
		const char *k = p + 1, *ke = skip_string(p, e);
		if (!ke)
			return NULL;
		size_t klen = (size_t)(ke - 1 - k);
		p = skip_ws(ke, e);
		if (p >= e || *p != ':')
			return NULL;
		p = skip_ws(p + 1, e);
		if (klen == 7 && memcmp(k, "objects", 7) == 0 && p < e && *p == '[')
			objs = p;
		if (klen == 4 && memcmp(k, "type", 4) == 0)
			bundle = e - p >= 8 && memcmp(p, "\"bundle\"", 8) == 0;
		if (!(p = skip_value(p, e)))
			return NULL;
		p = skip_ws(p, e);
		if (p < e && *p == ',')
			p = skip_ws(p + 1, e);
	}
	p = skip_ws(p, e);
	if (p >= e || *p != '}')
		return NULL;
	return bundle ? objs : NULL;
}

/* Calls `fn` on each object from `p` (the first, i its index) to the array's
 * end, or up to `stop` (the first object of the next range). Returns 0, an
 * error of `fn`, or 1 when the text is not what was expected (the caller
 * falls back). */
static int stream_objects(stix_state *S, const char *p, const char *stop, const char *e, size_t i,
	pass_fn fn)
{
	if (p < e && *p == ']')
		return 0;
	for (;; i++) {
		if (stop && p >= stop)
			return 0;
		json_error_t je;
		json_t *o = json_loadb(p, (size_t)(e - p), JSON_DISABLE_EOF_CHECK, &je);
		if (!o || !json_is_object(o)) {
			json_decref(o);
			return 1;
		}
		int rc = fn(S, o, i, NULL);
		json_decref(o);
		if (rc)
			return rc;
		p = skip_ws(p + je.position, e);
		if (p < e && *p == ',')
			p = skip_ws(p + 1, e);
		else if (p < e && *p == ']')
			return 0;
		else
			return 1;
	}
}

static int stream_pass(stix_state *S, const char *arr, const char *e, pass_fn fn)
{
	return stream_objects(S, skip_ws(arr + 1, e), NULL, e, 0, fn);
}

/* A bundle smaller than this is read on one thread: a second one would
 * cost more to start than it saves. */
#define STIX_SPLIT_MIN_BYTES (4u << 20)

/* The second half of a bundle's indicators, read on a thread of its own
 * into a set of its own; its warnings are kept to be passed on in order. */
typedef struct half {
	stix_state S;
	intel_feed f;
	const char *first, *e;
	size_t i;
	char **warnings;
	size_t n_warnings;
	bool warn_oom;
	char err[1024];
	int rc;
} half;

static void half_warn(void *ud, const char *msg)
{
	half *h = ud;
	char **w = realloc(h->warnings, (h->n_warnings + 1) * sizeof(*w));
	char *copy = w ? strdup(msg) : NULL;
	if (w)
		h->warnings = w;
	if (!copy) {
		h->warn_oom = true;
		return;
	}
	h->warnings[h->n_warnings++] = copy;
}

static void *half_main(void *arg)
{
	half *h = arg;
	h->rc = stream_objects(&h->S, h->first, NULL, h->e, h->i, indicator_pass);
	return NULL;
}

/* The object where the second half of the array at `arr` starts (about half
 * its bytes on), with its index in *i; NULL when the array is too short to
 * split or not what skip_value() expects (one thread then reads it all). */
static const char *split_point(const char *arr, const char *e, size_t *i)
{
	if ((size_t)(e - arr) < STIX_SPLIT_MIN_BYTES)
		return NULL;
	const char *half_way = arr + (e - arr) / 2;
	const char *p = skip_ws(arr + 1, e);
	for (*i = 0; p < e && *p != ']';) {
		const char *q = skip_value(p, e);
		if (!q)
			return NULL;
		q = skip_ws(q, e);
		if (q >= e || *q != ',')
			return NULL;
		p = skip_ws(q + 1, e);
		++*i;
		if (p >= half_way)
			return p < e && *p == '{' ? p : NULL;
	}
	return NULL;
}

/* The indicator pass, on two threads when the bundle is large: the first
 * half into f, the second into a set of its own, then merged after it, so
 * the set, the warnings and the first error are those of one pass in
 * order. Parsing the JSON is most of a large import. */
static int indicator_passes(stix_state *S, const char *arr, const char *e)
{
	size_t mid_i = 0;
	const char *mid = split_point(arr, e, &mid_i);
	half h = {.e = e, .first = mid, .i = mid_i};
	pthread_t th;
	bool threaded = false;
	if (mid) {
		h.f = (intel_feed){.set = intel__set_new(), .path = S->f->path, .warn = half_warn,
			.warn_ud = &h, .err = h.err, .err_size = sizeof(h.err)};
		/* The actor maps are shared, read only: each state holds a reference. */
		h.S = (stix_state){.f = &h.f, .actors = json_incref(S->actors),
			.indicates = json_incref(S->indicates)};
		threaded = h.f.set && pthread_create(&th, NULL, half_main, &h) == 0;
		if (!threaded) {
			state_free(&h.S);
			intel__set_free(h.f.set);
			mid = NULL;
		}
	}
	int rc = stream_objects(S, skip_ws(arr + 1, e), mid, e, 0, indicator_pass);
	if (!threaded)
		return rc;
	pthread_join(th, NULL);
	if (rc == 0 && h.rc != 1) {
		/* The second half's warnings, errors and indicators, in order. */
		for (size_t k = 0; k < h.n_warnings; k++)
			intel__feed_warn(S->f, "%s", h.warnings[k]);
		S->f->skipped += h.f.skipped - h.n_warnings;
		if (h.warn_oom)
			rc = VIGIL_ENOMEM;
		else if (h.rc)
			rc = intel__feed_error(S->f, h.rc, "%s", h.err);
		else if ((rc = intel__set_merge(S->f->set, h.f.set)) == VIGIL_ELIMIT)
			intel__feed_error(S->f, rc, "%s: more than %u indicators", S->f->path,
				VIGIL_MAX_INDICATORS);
	} else if (rc == 0) {
		rc = 1; /* the second half is not what was expected: read it all whole */
	}
	for (size_t k = 0; k < h.n_warnings; k++)
		free(h.warnings[k]);
	free(h.warnings);
	state_free(&h.S);
	intel__set_free(h.f.set);
	return rc;
}

int intel__stix_bundle_stream(intel_feed *f, const char *buf, size_t len)
{
	const char *arr = bundle_objects(buf, len);
	if (!arr)
		return 1;
	stix_state S;
	int rc = state_init(&S, f);
	/* Actors and relationships need a pass of their own only when the
	 * bundle has relationships at all; most indicator feeds have none. */
	bool related = memmem(buf, len, "\"relationship\"", 14) != NULL;
	const pass_fn passes[] = {actor_pass, relationship_pass};
	for (size_t p = related ? 0 : 2; rc == 0 && p < 2; p++)
		rc = stream_pass(&S, arr, buf + len, passes[p]);
	if (rc == 0)
		rc = indicator_passes(&S, arr, buf + len);
	state_free(&S);
	return rc;
}

int intel__stix_json(intel_feed *f, json_t *root)
{
	if (json_is_array(root))
		return objects(f, root, NULL);
	if (!json_is_object(root))
		return intel__feed_error(f, VIGIL_EPARSE, "%s: not a STIX bundle or object", f->path);
	const char *type = str(root, "type");
	if (type && strcmp(type, "bundle") == 0) {
		json_t *objs = json_object_get(root, "objects");
		/* A bundle may omit "objects" when it has none, but a feed with
		 * nothing in it is far more likely a broken export. */
		if (!json_is_array(objs))
			return intel__feed_error(f, VIGIL_EPARSE, "%s: bundle without an objects array",
				f->path);
		return objects(f, objs, NULL);
	}
	if (!type)
		return intel__feed_error(f, VIGIL_EPARSE,
			"%s: not a STIX bundle or object (no \"type\")", f->path);
	json_t *one = json_array();
	if (!one || json_array_append(one, root)) {
		json_decref(one);
		return VIGIL_ENOMEM;
	}
	int rc = objects(f, one, NULL);
	json_decref(one);
	return rc;
}

int intel__stix_jsonl(intel_feed *f, const char *buf, size_t len)
{
	json_t *objs = json_array();
	size_t *lines = NULL, cap = 0, n = 0, line = 0;
	int rc = 0;
	if (!objs)
		return VIGIL_ENOMEM;
	for (const char *p = buf, *end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		line++;
		const char *q = p;
		while (q < e && (*q == ' ' || *q == '\t' || *q == '\r'))
			q++;
		if (q < e) {
			json_error_t je;
			json_t *o = json_loadb(q, (size_t)(e - q), 0, &je);
			if (!o) {
				rc = intel__feed_error(f, VIGIL_EPARSE, "%s:%zu: invalid JSON: %s", f->path,
					line, je.text);
				goto done;
			}
			if (!json_is_object(o)) {
				json_decref(o);
				rc = intel__feed_error(f, VIGIL_EPARSE, "%s:%zu: not a JSON object",
					f->path, line);
				goto done;
			}
			/* A line may hold a whole bundle: its objects count. */
			json_t *inner = json_object_get(o, "objects");
			bool bundle = json_is_array(inner) && str(o, "type") &&
				strcmp(str(o, "type"), "bundle") == 0;
			size_t k = bundle ? json_array_size(inner) : 1;
			if (n + k > cap) {
				size_t nc = (n + k) * 2;
				size_t *nl2 = realloc(lines, nc * sizeof(*lines));
				if (!nl2) {
					json_decref(o);
					rc = VIGIL_ENOMEM;
					goto done;
				}
				lines = nl2;
				cap = nc;
			}
			int jr = bundle ? json_array_extend(objs, inner) : json_array_append(objs, o);
			json_decref(o);
			if (jr) {
				rc = VIGIL_ENOMEM;
				goto done;
			}
			for (size_t j = 0; j < k; j++)
				lines[n++] = line;
		}
		p = nl ? nl + 1 : end;
	}
	rc = objects(f, objs, lines);
done:
	json_decref(objs);
	free(lines);
	return rc;
}
