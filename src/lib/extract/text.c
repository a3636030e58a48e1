/*
 * URLs written in plain-text bodies (http://, https://, ftp://, www.host) and
 * <URL> lists in header fields such as List-Unsubscribe. It finds what a mail
 * client would make clickable; it does not undo defanging ("hxxp", "[.]").
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "extract/extract.h"

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Where a URL written in text stops: whitespace, controls, and the
 * characters that never appear unescaped in one and often delimit it. */
static bool ends_url(unsigned char c)
{
	return c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == '"';
}

/* Drops trailing punctuation that belongs to the sentence; a ")" stays when
 * the URL opened one ("https://en.wikipedia.org/wiki/Foo_(bar)"). */
static size_t trim_trailing(const char *s, size_t n)
{
	/* Bracket balance counted once, then updated as characters go. */
	static const char closers[] = ")]}", openers[] = "([{";
	long balance[3] = {0, 0, 0};
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			balance[k] += (s[i] == openers[k]) - (s[i] == closers[k]);
	while (n > 0) {
		char c = s[n - 1];
		const char *k = strchr(closers, c);
		if (c && k) {
			long *b = &balance[k - closers];
			if (*b >= 0)
				return n; /* the URL opened this bracket */
			(*b)++;
		} else if (!c || !strchr(".,;:!?'*", c)) {
			return n;
		}
		n--;
	}
	return 0;
}

static int add_text_url(vigil_message *msg, vigil_scanner *sc, const char *s, size_t n,
	int part, int nested)
{
	char *raw = vigil_arena_strndup(msg->arena, s, n);
	if (!raw)
		return VIGIL_ENOMEM;
	vigil_url u = {
		.raw = raw,
		.origin = VIGIL_URL_TEXT,
		.element = "text",
		.width = -1,
		.height = -1,
		.part = part,
		.nested = nested,
	};
	return url__add(msg, sc, &u);
}

/* Start of the scheme ending at text[colon] ("://" at colon), or NULL when
 * it is not one we link. */
static const char *scheme_start(const char *text, const char *colon)
{
	static const char *const schemes[] = {"https", "http", "ftp"};
	for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
		size_t sl = strlen(schemes[k]);
		if ((size_t)(colon - text) < sl)
			continue;
		const char *p = colon - sl;
		if (strncasecmp(p, schemes[k], sl) != 0)
			continue;
		if (p > text && is_alnum((unsigned char)p[-1]))
			continue;
		return p;
	}
	return NULL;
}

static const char *find_www(const char *p, const char *end)
{
	while (p < end) {
		const char *w = memchr(p, '.', (size_t)(end - p));
		if (!w)
			return NULL;
		if (w - p >= 3 && strncasecmp(w - 3, "www", 3) == 0)
			return w - 3;
		p = w + 1;
	}
	return NULL;
}

int text__extract(vigil_message *msg, vigil_scanner *sc, const char *text, size_t len,
	int part, int nested)
{
	const char *end = text + len, *p = text;
	/* Next "://" and next "www." at or after p, found with memmem/memchr and
	 * recomputed only once p has passed them: linear in the body. */
	const char *next_colon = memmem(p, len, "://", 3);
	const char *next_www = find_www(p, end);
	while (next_colon || next_www) {
		const char *start = NULL;
		bool from_colon = next_colon && (!next_www || next_colon < next_www + 3);
		if (from_colon) {
			start = scheme_start(text, next_colon);
			if (!start || start < p) {
				p = next_colon + 3;
				next_colon = memmem(p, (size_t)(end - p), "://", 3);
				if (next_www && next_www < p)
					next_www = find_www(p, end);
				continue;
			}
		} else {
			start = next_www;
			unsigned char before = start > text ? (unsigned char)start[-1] : ' ';
			if (start < p || is_alnum(before) || before == '.' || before == '/' ||
				before == '@' || before == '-' || start + 4 >= end ||
				!is_alnum((unsigned char)start[4])) {
				p = next_www + 4 > p ? next_www + 4 : p;
				next_www = find_www(p, end);
				continue;
			}
		}
		bool angle = start > text && start[-1] == '<';
		const char *q = start;
		while (q < end && !ends_url((unsigned char)*q))
			q++;
		size_t n = angle ? (size_t)(q - start) : trim_trailing(start, (size_t)(q - start));
		int rc;
		if (n > (size_t)(from_colon ? next_colon - start + 3 : 4) &&
			(rc = add_text_url(msg, sc, start, n, part, nested)))
			return rc;
		p = q;
		if (next_colon && next_colon < p)
			next_colon = memmem(p, (size_t)(end - p), "://", 3);
		if (next_www && next_www < p)
			next_www = find_www(p, end);
	}
	return 0;
}

int header__extract_urls(vigil_message *msg, vigil_scanner *sc, const char *name,
	const char *value, int nested)
{
	if (!value)
		return 0;
	const char *p = value, *element = NULL; /* name, copied to the arena once */
	while ((p = strchr(p, '<'))) {
		const char *close = strchr(p + 1, '>');
		if (!close)
			break;
		const char *s = p + 1;
		size_t n = (size_t)(close - s);
		while (n && (unsigned char)*s <= 0x20)
			s++, n--;
		if (n) {
			char *raw = vigil_arena_strndup(msg->arena, s, n);
			if (!raw || (!element && name && !(element = vigil_arena_strdup(msg->arena, name))))
				return VIGIL_ENOMEM;
			vigil_url u = {
				.raw = raw,
				.origin = VIGIL_URL_HEADER,
				.element = element,
				.width = -1,
				.height = -1,
				.part = 0,
				.nested = nested,
			};
			int rc = url__add(msg, sc, &u);
			if (rc)
				return rc;
		}
		p = close + 1;
	}
	return 0;
}
