/*
 * Parses Authentication-Results fields (RFC 8601), ARC's "i=N;" form too, into
 * one result per resinfo with its properties. It records what a server
 * claimed; whether that server is to be trusted is decided elsewhere.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "extract/extract.h"
#include "vigil_limits.h"

/*
 * Real fields stray from the grammar, and the parser accepts what they do:
 *   - no authserv-id: Microsoft starts with "spf=pass (sender IP is ...)";
 *   - no ";" between resinfos: "dkim=pass header.i=@a dkim=pass header.i=@b",
 *     so a known method name (or x-...) starts a new result anyway;
 *   - bare keys: Microsoft's "action=none" is kept as a property "action";
 *   - comments anywhere, even between a key and its "=", holding ";" too;
 *   - values with "=" and "/" in them (SRS addresses, header.b).
 * Anything else that does not fit is skipped up to the next word.
 */

typedef struct lexer {
	const char *s;
	size_t i, n;
} lexer;

typedef struct word {
	const char *s;
	size_t n;
	bool quoted; /* a quoted-string: s/n hold it with quotes and escapes */
} word;

typedef VIGIL_VEC(vigil_auth_prop) prop_vec;

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Skips whitespace and comments. A comment never closed runs to the end;
 * nesting is counted, not recursed. */
static void skip_cfws(lexer *lx)
{
	while (lx->i < lx->n) {
		char c = lx->s[lx->i];
		if (is_space(c)) {
			lx->i++;
		} else if (c == '(') {
			size_t depth = 0;
			for (; lx->i < lx->n; lx->i++) {
				char d = lx->s[lx->i];
				if (d == '\\' && lx->i + 1 < lx->n)
					lx->i++;
				else if (d == '(')
					depth++;
				else if (d == ')' && --depth == 0) {
					lx->i++;
					break;
				}
			}
		} else {
			return;
		}
	}
}

static char peek(const lexer *lx)
{
	return lx->i < lx->n ? lx->s[lx->i] : '\0';
}

/* A quoted-string starting at the current '"'; an unterminated one runs to
 * the end. */
static word lex_quoted(lexer *lx)
{
	size_t start = lx->i++;
	while (lx->i < lx->n) {
		char c = lx->s[lx->i++];
		if (c == '\\' && lx->i < lx->n)
			lx->i++;
		else if (c == '"')
			break;
	}
	return (word){lx->s + start, lx->i - start, true};
}

/* A key (method, ptype.property, authserv-id): stops at "=" and "/", which
 * separate it from what follows. */
static word lex_key(lexer *lx)
{
	if (peek(lx) == '"')
		return lex_quoted(lx);
	size_t start = lx->i;
	while (lx->i < lx->n) {
		char c = lx->s[lx->i];
		if (is_space(c) || c == ';' || c == '(' || c == ')' || c == '=' || c == '/' || c == '"')
			break;
		lx->i++;
	}
	return (word){lx->s + start, lx->i - start, false};
}

/* A value: "=" and "/" belong to it (SRS0=..=..@host, base64). */
static word lex_value(lexer *lx)
{
	if (peek(lx) == '"')
		return lex_quoted(lx);
	size_t start = lx->i;
	while (lx->i < lx->n) {
		char c = lx->s[lx->i];
		if (is_space(c) || c == ';' || c == '(' || c == ')' || c == '"')
			break;
		lx->i++;
	}
	return (word){lx->s + start, lx->i - start, false};
}

/* The word's text in the arena: quotes and backslash escapes removed,
 * lower-cased when asked. NULL when out of memory. */
static char *word_dup(vigil_arena *a, word w, bool lower)
{
	char *out = vigil_arena_alloc(a, w.n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = w.quoted ? 1 : 0; i < w.n; i++) {
		char c = w.s[i];
		if (w.quoted && c == '"')
			break;
		if (w.quoted && c == '\\' && i + 1 < w.n)
			c = w.s[++i];
		if (lower && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

static bool word_ieq(word w, const char *s)
{
	size_t n = strlen(s);
	return !w.quoted && w.n == n && strncasecmp(w.s, s, n) == 0;
}

/* The value of an unquoted run of at most 9 digits, or -1. */
static int word_number(word w)
{
	if (w.quoted || w.n == 0 || w.n > 9)
		return -1;
	int v = 0;
	for (size_t i = 0; i < w.n; i++) {
		if (w.s[i] < '0' || w.s[i] > '9')
			return -1;
		v = v * 10 + (w.s[i] - '0');
	}
	return v;
}

/* Methods of the IANA registry and those big receivers add; only used to
 * start a new result where a ";" is missing. */
static bool is_method(word w)
{
	static const char *const known[] = {
		"arc", "auth", "bimi", "compauth", "dkim", "dkim-adsp", "dkim-atps", "dmarc",
		"dnswl", "domainkeys", "iprev", "rrvs", "sender-id", "smime", "spf", "vbr",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (word_ieq(w, known[i]))
			return true;
	return !w.quoted && w.n > 2 && strncasecmp(w.s, "x-", 2) == 0;
}

static bool has_dot(word w)
{
	return memchr(w.s, '.', w.n) != NULL;
}

typedef struct parser {
	vigil_auth_vec *out;
	vigil_arena *a;
	const char *authserv_id;
	int header_index, nested, instance;
	bool open;           /* a result is being read */
	vigil_auth_result r; /* that result */
	prop_vec props;
} parser;

/* Appends the open result, if any. Returns 0 or VIGIL_ENOMEM. */
static int finish(parser *p)
{
	if (!p->open)
		return 0;
	p->open = false;
	if (p->out->len >= VIGIL_MAX_AUTH_RESULTS)
		return 0;
	vigil_auth_result *r = VIGIL_VEC_PUSH(p->a, p->out);
	if (!r)
		return VIGIL_ENOMEM;
	*r = p->r;
	r->props = p->props.items;
	r->n_props = p->props.len;
	return 0;
}

/* Starts a result for "method=result". Returns 0 or VIGIL_ENOMEM. */
static int start(parser *p, word method, word result)
{
	int rc = finish(p);
	if (rc != 0)
		return rc;
	p->r = (vigil_auth_result){
		.authserv_id = p->authserv_id,
		.header_index = p->header_index,
		.nested = p->nested,
		.instance = p->instance,
	};
	p->props = (prop_vec){0};
	p->r.method = word_dup(p->a, method, true);
	p->r.result = word_dup(p->a, result, true);
	if (!p->r.method || !p->r.result)
		return VIGIL_ENOMEM;
	p->open = true;
	return 0;
}

/* Returns 0 or VIGIL_ENOMEM. */
static int add_prop(parser *p, word name, word value)
{
	vigil_auth_prop *pr = VIGIL_VEC_PUSH(p->a, &p->props);
	if (!pr)
		return VIGIL_ENOMEM;
	pr->name = word_dup(p->a, name, true);
	pr->value = word_dup(p->a, value, false);
	return pr->name && pr->value ? 0 : VIGIL_ENOMEM;
}

/* Reads the head of the field: an ARC instance tag "i=N;", then the
 * authserv-id and its optional version, up to the ";". When the field starts
 * with "method=" there is no authserv-id, and nothing is consumed. Returns 0
 * or VIGIL_ENOMEM. */
static int parse_head(parser *p, lexer *lx)
{
	skip_cfws(lx);
	size_t mark = lx->i;
	word w = lex_key(lx);
	skip_cfws(lx);
	if (word_ieq(w, "i") && peek(lx) == '=') {
		lx->i++;
		skip_cfws(lx);
		word num = lex_key(lx);
		skip_cfws(lx);
		if (word_number(num) < 0 || peek(lx) != ';') {
			lx->i = mark; /* "i=x": junk, left to the result loop */
			return 0;
		}
		lx->i++;
		p->instance = word_number(num);
		skip_cfws(lx);
		mark = lx->i;
		w = lex_key(lx);
		skip_cfws(lx);
	}
	if (w.n == 0 || peek(lx) == '=' || peek(lx) == '/') {
		lx->i = mark;
		return 0;
	}
	p->authserv_id = word_dup(p->a, w, false);
	if (!p->authserv_id)
		return VIGIL_ENOMEM;
	size_t after_id = lx->i;
	word version = lex_key(lx);
	if (word_number(version) >= 0)
		skip_cfws(lx);
	else
		lx->i = after_id;
	if (peek(lx) == ';')
		lx->i++;
	return 0;
}

int authres__parse(vigil_auth_vec *out, vigil_arena *a, const char *value, int header_index,
	int nested)
{
	if (!value)
		return 0;
	parser p = {.out = out, .a = a, .header_index = header_index, .nested = nested};
	lexer lx = {.s = value, .n = strlen(value)};
	int rc = parse_head(&p, &lx);

	/* Every pass of the loop consumes at least one character, so the whole
	 * parse is linear in the field's length. */
	while (rc == 0) {
		skip_cfws(&lx);
		char c = peek(&lx);
		if (c == '\0')
			break;
		if (c == ';') {
			lx.i++;
			rc = finish(&p);
			continue;
		}
		word key = lex_key(&lx);
		if (key.n == 0) {
			lx.i++; /* a stray "=", "/" or ")" */
			continue;
		}
		skip_cfws(&lx);
		if (peek(&lx) == '/') { /* method/version */
			lx.i++;
			skip_cfws(&lx);
			lex_key(&lx);
			skip_cfws(&lx);
		}
		if (peek(&lx) != '=')
			continue; /* a bare word: "none", or junk */
		lx.i++;
		skip_cfws(&lx);
		word val = lex_value(&lx);
		if (key.quoted)
			continue; /* no name of the grammar is a quoted-string */

		if (has_dot(key)) {
			if (p.open)
				rc = add_prop(&p, key, val);
		} else if (p.open && word_ieq(key, "reason")) {
			if (!p.r.reason && !(p.r.reason = word_dup(a, val, false)))
				rc = VIGIL_ENOMEM;
		} else if (p.open && !is_method(key)) {
			rc = add_prop(&p, key, val);
		} else if (val.n > 0) {
			rc = start(&p, key, val);
		}
	}
	if (rc == 0)
		rc = finish(&p);
	return rc;
}
