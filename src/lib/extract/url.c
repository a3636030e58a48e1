/*
 * URL normalisation: libcurl's URL parser (never its transfer functions:
 * vigil does not fetch), host names to IDNA A- and U-labels with libidn2,
 * registrable domains with libpsl. It does not decide whether a URL is bad.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <glib.h> /* before idn2.h, which defines G_GNUC_DEPRECATED when GLib has not */
#include <idn2.h>
#include <libpsl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "extract/extract.h"
#include "extract/html_internal.h"
#include "util/hash.h"
#include "vigil_limits.h"

/* A data: URI is kept only as evidence of its type: the payload is the
 * image itself (often kilobytes of base64) and names no host. */
#define DATA_URI_KEEP 64

/* Link text longer than this is prose, not a host name. */
#define HOST_TEXT_MAX 2048

/*
 * Schemes with an authority that browsers parse leniently (WHATWG "special"
 * schemes): "\" counts as "/", and "https:host" means "https://host".
 */
static const char *const special_schemes[] = {"http", "https", "ftp", "ws", "wss"};

static bool is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static void lower_ascii(char *s)
{
	for (; *s; s++)
		*s = (char)lower((unsigned char)*s);
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Length of the scheme of s ("https" in "https://..."), 0 when s does not
 * start with one followed by ':'. */
static size_t scheme_len(const char *s, size_t n)
{
	if (n == 0 || !is_alpha((unsigned char)s[0]))
		return 0;
	size_t i = 1;
	while (i < n && i < 32 &&
		(is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '+' ||
			s[i] == '-' || s[i] == '.'))
		i++;
	return i < n && s[i] == ':' ? i : 0;
}

static bool scheme_is(const char *s, size_t n, const char *name)
{
	if (strlen(name) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)name[i])
			return false;
	return true;
}

static bool is_special(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(special_schemes) / sizeof(special_schemes[0]); i++)
		if (scheme_is(s, n, special_schemes[i]))
			return true;
	return false;
}

/* Largest m <= n that does not cut a UTF-8 sequence of s. */
static size_t utf8_floor(const char *s, size_t n)
{
	size_t m = n;
	while (m > 0 && ((unsigned char)s[m] & 0xC0) == 0x80)
		m--;
	return m;
}

static int hexval(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into the arena. */
static char *pct_decode(vigil_arena *a, const char *s, size_t n)
{
	char *out = vigil_arena_alloc(a, n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int h = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
		int l = h >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
		if (s[i] == '%' && h >= 0 && l >= 0) {
			out[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- hosts ----------------------------------------------------------- */

typedef struct host_parts {
	const char *host, *host_unicode, *domain;
} host_parts;

static bool is_ipv4(const char *s)
{
	struct in_addr a;
	return inet_pton(AF_INET, s, &a) == 1;
}

/*
 * Fills `out` from a host as found (percent-decoded, any case, any script).
 * IDNA failures keep the host as given, lower-cased: a host libidn2 rejects
 * (underscores, symbols) is still the host a detector must see. Returns 0 or
 * VIGIL_ENOMEM.
 */
static int normalise_host(host_parts *out, vigil_arena *a, const psl_ctx_t *psl,
	const char *in, size_t n)
{
	memset(out, 0, sizeof(*out));
	while (n > 0 && in[n - 1] == '.') /* "example.com." is example.com */
		n--;
	if (n == 0)
		return 0;
	char *h = vigil_arena_strndup(a, in, n);
	if (!h)
		return VIGIL_ENOMEM;
	if (h[0] == '[' || is_ipv4(h)) {
		lower_ascii(h);
		out->host = out->host_unicode = h;
		return 0;
	}
	if (is_ascii(h)) {
		lower_ascii(h);
		out->host = out->host_unicode = h;
		if (strstr(h, "xn--")) {
			char *u = NULL;
			if (idn2_to_unicode_8z8z(h, &u, 0) == IDN2_OK && u) {
				out->host_unicode = vigil_arena_strdup(a, u);
				idn2_free(u);
				if (!out->host_unicode)
					return VIGIL_ENOMEM;
			}
		}
	} else {
		char *ascii = NULL;
		int rc = idn2_to_ascii_8z(h, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK)
			rc = idn2_to_ascii_8z(h, &ascii, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
		if (rc == IDN2_OK && ascii) {
			lower_ascii(ascii);
			out->host = vigil_arena_strdup(a, ascii);
			idn2_free(ascii);
			if (!out->host)
				return VIGIL_ENOMEM;
			char *u = NULL;
			if (idn2_to_unicode_8z8z(out->host, &u, 0) == IDN2_OK && u) {
				out->host_unicode = vigil_arena_strdup(a, u);
				idn2_free(u);
				if (!out->host_unicode)
					return VIGIL_ENOMEM;
			} else {
				out->host_unicode = h;
			}
		} else {
			idn2_free(ascii);
			lower_ascii(h);
			out->host = out->host_unicode = h;
		}
	}
	if (psl) {
		const char *d = psl_registrable_domain(psl, out->host);
		if (d && !(out->domain = vigil_arena_strdup(a, d)))
			return VIGIL_ENOMEM;
	}
	return 0;
}

/*
 * Hosts normalised in this message, remembered: a newsletter links one or two
 * hosts dozens of times, and IDNA and the public suffix list cost more than
 * the rest of its URLs. Direct-mapped by a hash of the host as libcurl gave
 * it; the strings live in the message's arena, as the model's do.
 */
#define HOST_MEMO 32 /* a power of two */

typedef struct host_memo {
	const char *in; /* as given; NULL when the slot is empty */
	size_t n;
	host_parts hp;
} host_memo;

/* URLs parsed in this message, remembered the same way: the same links
 * come back in a message's text and HTML parts, and a newsletter repeats
 * its own (a quarter of the URLs of the real corpora). What libcurl and
 * the host's normalisation made of `in` resolved against `base`. */
#define URL_MEMO 64 /* a power of two */

typedef struct url_memo {
	const char *in; /* as given to libcurl; NULL when the slot is empty */
	const char *base;
	const char *scheme, *host, *host_unicode, *domain, *url, *path, *query, *fragment;
} url_memo;

struct url_hosts {
	host_memo slot[HOST_MEMO];
	url_memo urls[URL_MEMO];
};

static int memos_ensure(vigil_message *msg)
{
	if (!msg->url_hosts &&
		!(msg->url_hosts = vigil_arena_calloc(msg->arena, 1, sizeof(*msg->url_hosts))))
		return VIGIL_ENOMEM;
	return 0;
}

static int normalise_host_memo(host_parts *out, vigil_message *msg, const psl_ctx_t *psl,
	const char *in, size_t n)
{
	vigil_arena *a = msg->arena;
	if (memos_ensure(msg))
		return VIGIL_ENOMEM;
	host_memo *e = &msg->url_hosts->slot[hash__memo(in, n) & (HOST_MEMO - 1)];
	if (e->in && e->n == n && memcmp(e->in, in, n) == 0) {
		*out = e->hp;
		return 0;
	}
	int rc = normalise_host(out, a, psl, in, n);
	if (rc)
		return rc;
	char *key = vigil_arena_strndup(a, in, n);
	if (!key)
		return VIGIL_ENOMEM;
	e->in = key;
	e->n = n;
	e->hp = *out;
	return 0;
}

/* The authority's host of a URL libcurl refused ("https://host:99999/"),
 * found by hand so that detectors still see the host. */
static int crude_host(host_parts *out, vigil_arena *a, const psl_ctx_t *psl, const char *s)
{
	memset(out, 0, sizeof(*out));
	const char *p = strstr(s, "//");
	if (!p)
		return 0;
	p += 2;
	size_t n = strcspn(p, "/?#\\");
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '@')
			at = p + i;
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	size_t hn = n;
	if (p[0] != '[') {
		const char *colon = memchr(p, ':', n);
		if (colon)
			hn = (size_t)(colon - p);
	}
	if (hn == 0 || memchr(p, ' ', hn) || memchr(p, '%', hn) != NULL) {
		if (hn == 0 || memchr(p, ' ', hn))
			return 0;
		char *dec = pct_decode(a, p, hn);
		if (!dec)
			return VIGIL_ENOMEM;
		return normalise_host(out, a, psl, dec, strlen(dec));
	}
	return normalise_host(out, a, psl, p, hn);
}

/* ---- URLs ------------------------------------------------------------ */

/* Copies raw without surrounding whitespace or control characters and
 * without tabs and newlines inside (browsers drop those: "ht\ntp://" is
 * "http://", a trick to slip past filters). Cut at VIGIL_MAX_URL_BYTES. */
static char *clean_raw(vigil_arena *a, const char *raw, bool *cut)
{
	size_t n = strlen(raw);
	size_t s = 0;
	while (s < n && (unsigned char)raw[s] <= 0x20)
		s++;
	while (n > s && (unsigned char)raw[n - 1] <= 0x20)
		n--;
	*cut = false;
	char *out = vigil_arena_alloc(a, (n - s > VIGIL_MAX_URL_BYTES ? VIGIL_MAX_URL_BYTES
								       : n - s) + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = s; i < n; i++) {
		char c = raw[i];
		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (o == VIGIL_MAX_URL_BYTES) {
			/* Don't split a UTF-8 sequence: back off while the first
			 * byte left out continues one. */
			*cut = true;
			unsigned char next = (unsigned char)c;
			while (o > 0 && (next & 0xC0) == 0x80)
				next = (unsigned char)out[--o];
			break;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return out;
}

/* Stores a curl-allocated string in the arena (NULL stays NULL). */
static int keep(vigil_arena *a, const char **dst, char *curl_str)
{
	*dst = NULL;
	if (!curl_str)
		return 0;
	*dst = vigil_arena_strdup(a, curl_str);
	curl_free(curl_str);
	return *dst ? 0 : VIGIL_ENOMEM;
}

/* Fills an opaque URL ("tel:+1", "cid:x@y", "javascript:..."): scheme, path
 * up to '?', query, fragment; no host. */
static int opaque_url(vigil_url *n, vigil_arena *a, const char *s, size_t sl)
{
	char *scheme = vigil_arena_strndup(a, s, sl);
	if (!scheme)
		return VIGIL_ENOMEM;
	lower_ascii(scheme);
	n->scheme = scheme;
	const char *rest = s + sl + 1;
	size_t pn = strcspn(rest, "?#");
	if (!(n->path = vigil_arena_strndup(a, rest, pn)))
		return VIGIL_ENOMEM;
	const char *q = rest + pn;
	if (*q == '?') {
		size_t qn = strcspn(q + 1, "#");
		if (!(n->query = vigil_arena_strndup(a, q + 1, qn)))
			return VIGIL_ENOMEM;
		q += 1 + qn;
	}
	if (*q == '#' && !(n->fragment = vigil_arena_strdup(a, q + 1)))
		return VIGIL_ENOMEM;
	return (n->url = vigil_arena_printf(a, "%s:%s", scheme, rest)) ? 0 : VIGIL_ENOMEM;
}

/* mailto: the host is the domain of the first address, so that intel and
 * lookalike detectors treat "mailto:ceo@evil.example" like a link there. */
static int mailto_url(vigil_url *n, vigil_arena *a, const psl_ctx_t *psl, const char *s,
	size_t sl)
{
	int rc = opaque_url(n, a, s, sl);
	if (rc)
		return rc;
	char *addr = pct_decode(a, n->path, strlen(n->path));
	if (!addr)
		return VIGIL_ENOMEM;
	char *at = strchr(addr, '@');
	if (!at)
		return 0;
	size_t dn = strcspn(at + 1, ",;> \t");
	host_parts hp;
	if ((rc = normalise_host(&hp, a, psl, at + 1, dn)))
		return rc;
	n->host = hp.host;
	n->host_unicode = hp.host_unicode;
	n->domain = hp.domain;
	return 0;
}

/*
 * Rewrites what browsers accept but libcurl does not into a form it parses:
 * "\" as "/" before the query in special schemes, "https:host" and
 * "https:/\host" as "https://host", "//host" as "https://host" (webmail is
 * served over https, so a scheme-relative URL is fetched over https), and
 * "www.host/..." as "http://www.host/..." (what auto-linkers do). Returns
 * NULL when s is relative and needs a base.
 */
static char *browser_form(vigil_arena *a, const char *s, size_t sl, bool *relative)
{
	*relative = false;
	size_t n = strlen(s);
	if (sl && is_special(s, sl)) {
		const char *rest = s + sl + 1;
		while (*rest == '/' || *rest == '\\')
			rest++;
		char *out = vigil_arena_printf(a, "%.*s://%s", (int)sl, s, rest);
		if (!out)
			return NULL;
		for (char *p = out + sl + 3; *p && *p != '?' && *p != '#'; p++)
			if (*p == '\\')
				*p = '/';
		return out;
	}
	if (sl)
		return vigil_arena_strdup(a, s);
	if (n >= 2 && (s[0] == '/' || s[0] == '\\') && (s[1] == '/' || s[1] == '\\')) {
		const char *rest = s;
		while (*rest == '/' || *rest == '\\')
			rest++;
		char *out = vigil_arena_printf(a, "https://%s", rest);
		for (char *p = out ? out + 8 : NULL; p && *p && *p != '?' && *p != '#'; p++)
			if (*p == '\\')
				*p = '/';
		return out;
	}
	if (n > 4 && (s[0] | 0x20) == 'w' && (s[1] | 0x20) == 'w' && (s[2] | 0x20) == 'w' &&
		s[3] == '.')
		return vigil_arena_printf(a, "http://%s", s);
	*relative = true;
	return NULL;
}

/* Parses s (resolved against base when given) into n. With msg, hosts are
 * normalised through its memo. */
static int parse_with_curl(vigil_url *n, vigil_message *msg, vigil_arena *a,
	const psl_ctx_t *psl, const char *s, const char *base)
{
	const unsigned flags = CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE;
	int rc = 0;
	CURLU *h = curl_url();
	if (!h)
		return VIGIL_ENOMEM;
	CURLUcode uc = CURLUE_OK;
	if (base)
		uc = curl_url_set(h, CURLUPART_URL, base, flags);
	/* Set on a handle that holds a URL, a relative one is resolved. */
	if (uc == CURLUE_OK)
		uc = curl_url_set(h, CURLUPART_URL, s, flags);
	if (uc == CURLUE_OUT_OF_MEMORY) {
		rc = VIGIL_ENOMEM;
		goto done;
	}
	if (uc != CURLUE_OK) {
		size_t sl = scheme_len(s, strlen(s));
		if (sl) {
			char *scheme = vigil_arena_strndup(a, s, sl);
			if (!scheme) {
				rc = VIGIL_ENOMEM;
				goto done;
			}
			lower_ascii(scheme);
			n->scheme = scheme;
			host_parts hp;
			if ((rc = crude_host(&hp, a, psl, s)))
				goto done;
			n->host = hp.host;
			n->host_unicode = hp.host_unicode;
			n->domain = hp.domain;
		}
		goto done;
	}
	char *part = NULL;
	curl_url_get(h, CURLUPART_SCHEME, &part, 0);
	if ((rc = keep(a, &n->scheme, part)))
		goto done;
	part = NULL;
	curl_url_get(h, CURLUPART_HOST, &part, 0);
	if (part) {
		host_parts hp;
		rc = msg ? normalise_host_memo(&hp, msg, psl, part, strlen(part))
			 : normalise_host(&hp, a, psl, part, strlen(part));
		/* Write the normalised host back so `url` carries it too. */
		if (!rc && hp.host && strcmp(hp.host, part) != 0 && hp.host[0] != '[')
			curl_url_set(h, CURLUPART_HOST, hp.host, 0);
		curl_free(part);
		if (rc)
			goto done;
		n->host = hp.host;
		n->host_unicode = hp.host_unicode;
		n->domain = hp.domain;
	}
	const struct {
		CURLUPart part;
		const char **dst;
	} parts[] = {
		{CURLUPART_URL, &n->url},
		{CURLUPART_PATH, &n->path},
		{CURLUPART_QUERY, &n->query},
		{CURLUPART_FRAGMENT, &n->fragment},
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		part = NULL;
		curl_url_get(h, parts[i].part, &part, 0);
		if ((rc = keep(a, parts[i].dst, part)))
			goto done;
	}
done:
	curl_url_cleanup(h);
	return rc;
}

/* parse_with_curl() through the message's memo. */
static int parse_with_curl_memo(vigil_url *n, vigil_message *msg, vigil_arena *a,
	const psl_ctx_t *psl, const char *s, const char *base)
{
	if (memos_ensure(msg))
		return VIGIL_ENOMEM;
	size_t sn = strlen(s);
	uint64_t h = hash__memo(s, sn);
	if (base)
		h ^= hash__memo(base, strlen(base)) * 31;
	url_memo *e = &msg->url_hosts->urls[h & (URL_MEMO - 1)];
	if (e->in && strcmp(e->in, s) == 0 &&
		(base ? e->base && strcmp(e->base, base) == 0 : !e->base)) {
		n->scheme = e->scheme;
		n->host = e->host;
		n->host_unicode = e->host_unicode;
		n->domain = e->domain;
		n->url = e->url;
		n->path = e->path;
		n->query = e->query;
		n->fragment = e->fragment;
		return 0;
	}
	int rc = parse_with_curl(n, msg, a, psl, s, base);
	if (rc)
		return rc;
	const char *in = vigil_arena_strndup(a, s, sn);
	const char *b = base ? vigil_arena_strndup(a, base, strlen(base)) : NULL;
	if (!in || (base && !b))
		return VIGIL_ENOMEM;
	*e = (url_memo){in, b, n->scheme, n->host, n->host_unicode, n->domain, n->url, n->path,
		n->query, n->fragment};
	return 0;
}

int url__is_absolute(const char *s, size_t n)
{
	size_t sl = scheme_len(s, n);
	return sl && n >= sl + 3 && s[sl + 1] == '/' && s[sl + 2] == '/';
}

int url__add_base(vigil_message *msg, vigil_scanner *sc, const vigil_url *u,
	const char *base)
{
	if (msg->urls.len >= VIGIL_MAX_URLS)
		return message__partial(msg, "more than %d URLs", VIGIL_MAX_URLS);
	vigil_arena *a = msg->arena;
	const psl_ctx_t *psl = sc && sc->ctx ? sc->ctx->psl : NULL;
	vigil_url n = *u;
	n.url = n.scheme = n.host = n.host_unicode = n.domain = NULL;
	n.path = n.query = n.fragment = NULL;

	bool cut;
	char *raw = clean_raw(a, u->raw ? u->raw : "", &cut);
	if (!raw)
		return VIGIL_ENOMEM;
	int rc;
	if (cut && (rc = message__partial(msg, "URL longer than %d bytes cut",
			    VIGIL_MAX_URL_BYTES)))
		return rc;
	n.raw = raw;
	size_t len = strlen(raw);
	size_t sl = scheme_len(raw, len);

	if (sl && scheme_is(raw, sl, "data")) {
		/* Not remote; keep the media type, not the payload. */
		if (len > DATA_URI_KEEP) {
			size_t k = utf8_floor(raw, DATA_URI_KEEP);
			if (!(n.raw = vigil_arena_printf(a, "%.*s\xE2\x80\xA6", (int)k, raw)))
				return VIGIL_ENOMEM;
		}
		n.scheme = "data";
	} else if (sl && scheme_is(raw, sl, "mailto")) {
		if ((rc = mailto_url(&n, a, psl, raw, sl)))
			return rc;
	} else if (sl && !is_special(raw, sl) &&
		!(len >= sl + 3 && raw[sl + 1] == '/' && raw[sl + 2] == '/')) {
		/* tel:, cid: (an inline part, not remote), javascript:, sms:, ... */
		if ((rc = opaque_url(&n, a, raw, sl)))
			return rc;
	} else {
		bool relative;
		char *form = browser_form(a, raw, sl, &relative);
		if (!form && !relative)
			return VIGIL_ENOMEM;
		if (relative && base) {
			rc = parse_with_curl_memo(&n, msg, a, psl, raw, base);
		} else if (form) {
			rc = parse_with_curl_memo(&n, msg, a, psl, form, NULL);
		} else {
			rc = 0; /* relative without a base: kept raw, unparsed */
		}
		if (rc)
			return rc;
	}

	vigil_url *slot = VIGIL_VEC_PUSH(a, &msg->urls);
	if (!slot)
		return VIGIL_ENOMEM;
	*slot = n;
	return 0;
}

int url__add(vigil_message *msg, vigil_scanner *sc, const vigil_url *u)
{
	return url__add_base(msg, sc, u, NULL);
}

/* ---- hosts named in text --------------------------------------------- */

static bool host_chars_ok(const char *h, size_t n)
{
	bool dot = false, label_empty = true;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c == '.') {
			if (label_empty)
				return false;
			dot = true;
			label_empty = true;
		} else if (is_alpha(c) || is_digit(c) || c == '-' || c >= 0x80) {
			label_empty = false;
		} else {
			return false;
		}
	}
	return dot && !label_empty;
}

/* Does the last label of an A-label host name a real public suffix, and is
 * there a registrable name under it? The built-in list suffices: this only
 * tells a host from a word ("e.g", "v1.2", "file.final"). */
static bool names_real_domain(const char *host)
{
	const psl_ctx_t *psl = psl_builtin();
	const char *tld = strrchr(host, '.');
	tld = tld ? tld + 1 : host;
	if (!*tld || is_digit((unsigned char)*tld))
		return false;
	if (!psl)
		return true;
	return psl_is_public_suffix2(psl, tld, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) &&
		psl_registrable_domain(psl, host) != NULL;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Checks one token of text; returns its host or NULL. */
static const char *token_host(vigil_arena *a, const char *t, size_t n, bool any_tld)
{
	static const char lead[] = "<([{\"'";
	static const char trail[] = ">)]}\"'.,;:!?";
	while (n && strchr(lead, t[0]) && t[0])
		t++, n--;
	while (n && strchr(trail, t[n - 1]) && t[n - 1])
		n--;
	if (n == 0)
		return NULL;
	size_t sl = scheme_len(t, n);
	if (sl && n > sl + 3 && t[sl + 1] == '/' && t[sl + 2] == '/') {
		/* A written URL: libcurl finds its host, whatever its shape. */
		char *s = vigil_arena_strndup(a, t, n);
		if (!s)
			return NULL;
		bool rel;
		char *form = browser_form(a, s, sl, &rel);
		if (!form)
			return NULL;
		vigil_url tmp = {0};
		if (parse_with_curl(&tmp, NULL, a, NULL, form, NULL) != 0)
			return NULL;
		return tmp.host;
	}
	if (sl)
		return NULL; /* "mailto:", "Note:" and other words with a colon */
	const char *at = memchr(t, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - t);
		t = at + 1;
	}
	size_t hn = 0;
	while (hn < n && !strchr("/?#:", t[hn]))
		hn++;
	while (hn && t[hn - 1] == '.')
		hn--;
	if (!host_chars_ok(t, hn))
		return NULL;
	host_parts hp;
	char *h = vigil_arena_strndup(a, t, hn);
	if (!h)
		return NULL;
	if (is_ipv4(h))
		return h;
	if (normalise_host(&hp, a, NULL, t, hn) != 0 || !hp.host)
		return NULL;
	return any_tld || names_real_domain(hp.host) ? hp.host : NULL;
}

static const char *host_in_text(vigil_arena *a, const char *text, bool any_tld)
{
	if (!text)
		return NULL;
	size_t n = strlen(text);
	if (n == 0 || n > HOST_TEXT_MAX)
		return NULL;
	const char *s = text, *e = text + n;
	while (s < e && is_space((unsigned char)*s))
		s++;
	while (e > s && is_space((unsigned char)e[-1]))
		e--;
	bool one_token = true;
	for (const char *p = s; p < e; p++)
		if (is_space((unsigned char)*p)) {
			one_token = false;
			break;
		}
	if (one_token)
		return s < e ? token_host(a, s, (size_t)(e - s), any_tld) : NULL;
	/* In a sentence ("Log in at www.bank.com"), only a token that is
	 * unmistakably a URL names a host; "Go to example.com" is left alone. */
	for (const char *p = s; p < e;) {
		while (p < e && is_space((unsigned char)*p))
			p++;
		const char *q = p;
		while (q < e && !is_space((unsigned char)*q))
			q++;
		size_t tn = (size_t)(q - p);
		const char *t = p;
		while (tn && strchr("<([{\"'", *t) && *t)
			t++, tn--;
		size_t sl = scheme_len(t, tn);
		bool url_like = (sl && tn > sl + 3 && t[sl + 1] == '/' && t[sl + 2] == '/') ||
			(tn > 4 && (t[0] | 0x20) == 'w' && (t[1] | 0x20) == 'w' &&
				(t[2] | 0x20) == 'w' && t[3] == '.');
		if (url_like) {
			const char *h = token_host(a, p, (size_t)(q - p), any_tld);
			if (h)
				return h;
		}
		p = q;
	}
	return NULL;
}

const char *url__host_in_text(vigil_arena *a, const char *text)
{
	return host_in_text(a, text, false);
}

const char *url__host_in_text_any_tld(vigil_arena *a, const char *text)
{
	return host_in_text(a, text, true);
}

/* ---- URLs outside messages ------------------------------------------- */

int url__parse(vigil_url *out, vigil_arena *a, const psl_ctx_t *psl, const char *raw)
{
	memset(out, 0, sizeof(*out));
	bool cut;
	char *clean = clean_raw(a, raw ? raw : "", &cut);
	if (!clean)
		return VIGIL_ENOMEM;
	out->raw = clean;
	size_t sl = scheme_len(clean, strlen(clean));
	if (sl && !is_special(clean, sl))
		return 0; /* not a web URL: kept raw */
	bool relative;
	char *form = browser_form(a, clean, sl, &relative);
	if (!form)
		return relative ? 0 : VIGIL_ENOMEM;
	return parse_with_curl(out, NULL, a, psl, form, NULL);
}
