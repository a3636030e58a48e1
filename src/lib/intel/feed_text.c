/*
 * Free-text feeds (lists, CSV, Markdown, reports): refangs each line, then
 * picks out URLs, e-mail addresses, IPv4/IPv6 addresses and ranges, MD5,
 * SHA-1 and SHA-256 hashes, and domains under a real public suffix. It knows
 * no columns: a CSV is text like any other. Domains are ASCII only here.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "intel/intel_private.h"
#include "vigil_limits.h"

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static bool is_hex(unsigned char c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Characters of a word: what domains, addresses' local parts, hashes and
 * dotted quads are made of. */
static bool is_wchar(unsigned char c)
{
	return is_alnum(c) || c == '.' || c == '-' || c == '_' || c == '+' || c == '%';
}

/* ---- refanging ------------------------------------------------------- */

static const struct {
	const char *from, *to;
	bool word; /* "dot"/"at" written out: may stand between spaces */
} defangs[] = {
	{"[://]", "://", false}, {"[:]", ":", false}, {"[/]", "/", false},
	{"[.]", ".", false}, {"(.)", ".", false}, {"{.}", ".", false},
	{"[dot]", ".", true}, {"(dot)", ".", true}, {"{dot}", ".", true},
	{"[@]", "@", false}, {"(@)", "@", false}, {"{@}", "@", false},
	{"[at]", "@", true}, {"(at)", "@", true}, {"{at}", "@", true},
	{"\\.", ".", false},
};

/* Refangs `in` into `out` (never longer: every form shrinks or keeps its
 * length). Returns the new length. */
static size_t refang(char *out, const char *in, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)in[i];
		bool done = false;
		if (c == '[' || c == '(' || c == '{' || c == '\\') {
			for (size_t k = 0; k < sizeof(defangs) / sizeof(defangs[0]); k++) {
				size_t fl = strlen(defangs[k].from);
				if (i + fl > n || strncasecmp(in + i, defangs[k].from, fl) != 0)
					continue;
				/* "john [at] example [dot] org": the spaces go too. */
				if (defangs[k].word && o > 0 && out[o - 1] == ' ' && i + fl < n &&
					in[i + fl] == ' ') {
					o--;
					i++;
				}
				size_t tl = strlen(defangs[k].to);
				memcpy(out + o, defangs[k].to, tl);
				o += tl;
				i += fl;
				done = true;
				break;
			}
		}
		if (!done)
			out[o++] = in[i++];
	}
	/* Schemes: hxxp(s)://, hXXp://, fxp:// (same length, in place). */
	for (size_t i = 0; i + 6 <= o; i++) {
		if (i > 0 && is_alnum((unsigned char)out[i - 1]))
			continue;
		char *p = out + i;
		if (strncasecmp(p, "hxxp", 4) == 0 &&
			(strncmp(p + 4, "://", 3) == 0 || strncasecmp(p + 4, "s://", 4) == 0)) {
			p[1] = p[1] == 'X' ? 'T' : 't';
			p[2] = p[2] == 'X' ? 'T' : 't';
		} else if (strncasecmp(p, "fxp://", 6) == 0) {
			p[1] = p[1] == 'X' ? 'T' : 't';
		}
	}
	return o;
}

/* ---- domains ------------------------------------------------------------ */

/* Extensions that are also top-level domains, whose "name.ext" in a report
 * is far more often a file than a host. Only single-label names are taken
 * for files: "cdn.example.zip" is still a domain. .pl, .cc, .ai, .ml stay
 * domains: attackers register there much more than reports name such files. */
static const char *const file_exts[] = {
	"zip", "mov", "md", "sh", "py", "ps", "so", "rs", "pm", "one", "app",
};

static bool file_like(const char *d, size_t n)
{
	const char *dot = memchr(d, '.', n);
	if (!dot || memchr(dot + 1, '.', (size_t)(d + n - dot - 1)))
		return false;
	size_t el = (size_t)(d + n - dot - 1);
	for (size_t i = 0; i < sizeof(file_exts) / sizeof(file_exts[0]); i++)
		if (strlen(file_exts[i]) == el && strncasecmp(dot + 1, file_exts[i], el) == 0)
			return true;
	return false;
}

/* Is d[0..n) (ASCII) a host under a real public suffix? `lower` receives
 * the lower-case copy (at least n + 1 bytes). */
static bool real_domain(char *lower, const char *d, size_t n)
{
	if (n < 4 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (!(is_alnum(c) || c == '.' || c == '-' || c == '_'))
			return false;
		if (c == '.' && (i == 0 || d[i - 1] == '.'))
			return false;
		lower[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	lower[n] = '\0';
	const char *tld = strrchr(lower, '.');
	if (!tld || !is_alpha((unsigned char)tld[1]))
		return false;
	tld++;
	const psl_ctx_t *psl = intel__psl();
	if (!psl)
		return false;
	/* The top label must be a suffix by an explicit rule (no "*" default:
	 * ".pdf" is not one), with a registrable name under it. */
	return psl_is_public_suffix2(psl, tld, PSL_TYPE_ANY | PSL_TYPE_NO_STAR_RULE) &&
		psl_registrable_domain(psl, lower) != NULL;
}

/* ---- one line ------------------------------------------------------------ */

typedef struct span {
	size_t off, len;
	size_t first; /* length of the first label */
} span;

typedef struct text_state {
	intel_feed *f;
	char *line; /* refanged */
	size_t line_cap;
	span *pend, *ns; /* candidate domains; dotted words that are not domains */
	size_t npend, nns, cap_pend, cap_ns;
	char source_id[32];
	char tmp[VIGIL_MAX_URL_BYTES + 1];
} text_state;

static int push_span(span **v, size_t *n, size_t *cap, span s)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		span *nv = realloc(*v, c * sizeof(*nv));
		if (!nv)
			return VIGIL_ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = s;
	return 0;
}

/* Adds a candidate. A value the set refuses (999.1.1.1, 127.0.0.1) is not
 * an indicator the text meant: dropped without a warning. */
static int add(text_state *T, vigil_ioc_type type, const char *s, size_t n)
{
	if (n >= sizeof(T->tmp))
		return 0;
	memcpy(T->tmp, s, n);
	T->tmp[n] = '\0';
	vigil_indicator ind = {.type = type, .value = T->tmp, .source = T->f->path,
		.source_id = T->source_id, .valid_from = VIGIL_NO_TIME,
		.valid_until = VIGIL_NO_TIME};
	int rc = intel__set_add(T->f->set, &ind, NULL);
	if (rc == VIGIL_EPARSE)
		return 0;
	if (rc == VIGIL_ELIMIT)
		return intel__feed_error(T->f, rc, "%s: more than %u indicators", T->f->path,
			VIGIL_MAX_INDICATORS);
	return rc;
}

/* Length of a URL starting at s (a scheme we take), after trailing
 * punctuation that closes the sentence or the bracket around it. */
static size_t url_len(const char *s, size_t n)
{
	size_t e = 0;
	while (e < n && !strchr(" \t\r\n\"'<>`,|\\^{}", s[e]) && (unsigned char)s[e] >= 0x20)
		e++;
	for (;;) {
		if (e == 0)
			return 0;
		char c = s[e - 1];
		size_t open = 0, close = 0;
		if (c == ')' || c == ']') {
			char o = c == ')' ? '(' : '[';
			for (size_t i = 0; i < e; i++) {
				open += s[i] == o;
				close += s[i] == c;
			}
		}
		if (strchr(".,;:!?*", c) || ((c == ')' || c == ']') && close > open))
			e--;
		else
			return e;
	}
}

static size_t scheme_at(const char *s, size_t n)
{
	static const char *const schemes[] = {"https://", "http://", "ftp://"};
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(schemes[i]);
		if (n > l && strncasecmp(s, schemes[i], l) == 0)
			return l;
	}
	return 0;
}

/* A dotted quad with an optional "/len"; 0 when s does not start with one. */
static size_t ipv4_len(const char *s, size_t n)
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		size_t d = 0;
		while (i < n && is_digit((unsigned char)s[i]) && d < 4) {
			i++;
			d++;
		}
		if (d == 0 || d > 3)
			return 0;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i + 1 < n && s[i] == '/' && is_digit((unsigned char)s[i + 1])) {
		size_t j = i + 1;
		while (j < n && is_digit((unsigned char)s[j]))
			j++;
		if (j - i - 1 <= 2 && (j >= n || !is_alnum((unsigned char)s[j])))
			i = j;
	}
	/* "1.2.3.4.5" and "1.2.3.4a" are something else. */
	if (i < n && (is_alnum((unsigned char)s[i]) || s[i] == '_' ||
			     (s[i] == '.' && i + 1 < n && is_alnum((unsigned char)s[i + 1]))))
		return 0;
	return i;
}

/* An IPv6 address (optional "/len") at s; 0 when none. */
static size_t ipv6_len(const char *s, size_t n)
{
	size_t e = 0, colons = 0;
	while (e < n && (is_hex((unsigned char)s[e]) || s[e] == ':' || s[e] == '.') && e < 64)
		colons += s[e++] == ':';
	while (e > 0 && s[e - 1] == '.')
		e--; /* the end of a sentence */
	if (colons < 2 || e < 6 || (e < n && (is_alnum((unsigned char)s[e]) || s[e] == '_')))
		return 0;
	char buf[80];
	memcpy(buf, s, e);
	buf[e] = '\0';
	unsigned char a[16];
	if (inet_pton(AF_INET6, buf, a) != 1)
		return 0;
	if (e + 1 < n && s[e] == '/' && is_digit((unsigned char)s[e + 1])) {
		size_t j = e + 1;
		while (j < n && is_digit((unsigned char)s[j]))
			j++;
		if (j - e - 1 <= 3 && (j >= n || !is_alnum((unsigned char)s[j])))
			e = j;
	}
	return e;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_hex((unsigned char)s[i]))
			return false;
	return true;
}

/* Trims what cannot end or begin a host: "(evil.com)." is evil.com. */
static void trim_host(const char **s, size_t *n)
{
	while (*n && strchr(".-_+%", (*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n && strchr(".-_+%", (*s)[*n - 1]))
		(*n)--;
}

static int scan_line(text_state *T, const char *L, size_t n)
{
	int rc = 0;
	T->npend = T->nns = 0;
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)L[i];
		unsigned char prev = i ? (unsigned char)L[i - 1] : ' ';
		bool wstart = is_wchar(c) && !is_wchar(prev);
		bool xstart = (is_hex(c) || c == ':') && !is_wchar(prev) && prev != ':';
		if (!wstart && !xstart) {
			i++;
			continue;
		}
		size_t sl = wstart && is_alpha(c) ? scheme_at(L + i, n - i) : 0;
		if (sl) {
			size_t ul = url_len(L + i, n - i);
			if (ul > sl && (rc = add(T, VIGIL_IOC_URL, L + i, ul)))
				return rc;
			i += ul > sl ? ul : sl;
			continue;
		}
		size_t w = 0;
		while (wstart && i + w < n && is_wchar((unsigned char)L[i + w]))
			w++;
		size_t x = xstart ? ipv6_len(L + i, n - i) : 0;
		if (x > w) {
			if ((rc = add(T, VIGIL_IOC_IPV6, L + i, x)))
				return rc;
			i += x;
			continue;
		}
		if (w == 0) {
			i++;
			continue;
		}
		size_t v4 = is_digit(c) ? ipv4_len(L + i, n - i) : 0;
		if (v4) {
			if ((rc = add(T, VIGIL_IOC_IPV4, L + i, v4)))
				return rc;
			i += v4;
			continue;
		}
		const char *word = L + i;
		size_t wl = w;
		i += w;
		if ((wl == 32 || wl == 40 || wl == 64) && all_hex(word, wl)) {
			vigil_ioc_type t = wl == 32 ? VIGIL_IOC_MD5 :
				wl == 40 ? VIGIL_IOC_SHA1 : VIGIL_IOC_SHA256;
			if ((rc = add(T, t, word, wl)))
				return rc;
			continue;
		}
		if (i < n && L[i] == '@') {
			size_t d = 0;
			while (i + 1 + d < n && is_wchar((unsigned char)L[i + 1 + d]))
				d++;
			const char *dom = L + i + 1;
			size_t dl = d;
			trim_host(&dom, &dl);
			while (wl && word[0] == '.') {
				word++;
				wl--;
			}
			if (wl && dl && wl + dl + 1 < sizeof(T->tmp) &&
				real_domain(T->tmp, dom, dl)) {
				char addr[600];
				if (wl + dl + 2 <= sizeof(addr)) {
					memcpy(addr, word, wl);
					addr[wl] = '@';
					memcpy(addr + wl + 1, dom, dl);
					if ((rc = add(T, VIGIL_IOC_EMAIL, addr, wl + 1 + dl)))
						return rc;
				}
			}
			i += 1 + d;
			continue;
		}
		trim_host(&word, &wl);
		const char *dot = memchr(word, '.', wl);
		if (!dot)
			continue;
		span sp = {.off = (size_t)(word - L), .len = wl, .first = (size_t)(dot - word)};
		if (real_domain(T->tmp, word, wl)) {
			if (!file_like(word, wl) &&
				(rc = push_span(&T->pend, &T->npend, &T->cap_pend, sp)))
				return rc;
		} else if ((rc = push_span(&T->ns, &T->nns, &T->cap_ns, sp))) {
			return rc;
		}
	}
	/* "event.date" among "event.uuid" and "event.tlp" is a field name (a CSV
	 * header, an attribute path), not a host: a first label that prefixes
	 * two dotted words that are not domains names a namespace. */
	for (size_t k = 0; k < T->npend; k++) {
		span *p = &T->pend[k];
		size_t uses = 0;
		for (size_t j = 0; j < T->nns && uses < 2; j++)
			uses += T->ns[j].first == p->first &&
				strncasecmp(L + T->ns[j].off, L + p->off, p->first) == 0;
		if (uses >= 2 && !memchr(L + p->off + p->first + 1, '.', p->len - p->first - 1))
			continue;
		if ((rc = add(T, VIGIL_IOC_DOMAIN, L + p->off, p->len)))
			return rc;
	}
	return 0;
}

int intel__freetext(intel_feed *f, const char *buf, size_t len)
{
	text_state *T = calloc(1, sizeof(*T));
	if (!T)
		return VIGIL_ENOMEM;
	T->f = f;
	int rc = 0;
	size_t lineno = 0;
	for (const char *p = buf, *end = buf + len; p < end && rc == 0;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		lineno++;
		if (n + 1 > T->line_cap) {
			size_t cap = n + 1 > 4096 ? n + 1 : 4096;
			char *b = realloc(T->line, cap);
			if (!b) {
				rc = VIGIL_ENOMEM;
				break;
			}
			T->line = b;
			T->line_cap = cap;
		}
		size_t m = refang(T->line, p, n);
		snprintf(T->source_id, sizeof(T->source_id), "line %zu", lineno);
		rc = scan_line(T, T->line, m);
		p = nl ? nl + 1 : end;
	}
	free(T->line);
	free(T->pend);
	free(T->ns);
	free(T);
	return rc;
}
