/*
 * A small CSS reader for mail: inline declarations, url() and @import
 * references, and absolute lengths. It is a single forward scan over a
 * length-delimited buffer (no NUL needed, no recursion); it neither cascades
 * nor matches selectors (html.c does the little of that it needs).
 */
#include "extract/css.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil_limits.h"

/* Declared property names longer than this are not properties we read. */
#define PROP_MAX 64
/* Values are copied (comments removed, escapes decoded) only when they need
 * it; longer ones than this go to a heap buffer. */
#define VALUE_STACK 512

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static int hex_val(unsigned char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive: does s[0..n) start with the ASCII lower-case word w? */
static bool starts_ci(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);
	if (n < wl)
		return false;
	for (size_t i = 0; i < wl; i++)
		if (lower((unsigned char)s[i]) != (unsigned char)w[i])
			return false;
	return true;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes one CSS escape at s[*i] == '\\' (CSS Syntax 4.3.7) into out, which
 * has room for 4 bytes; advances *i past it. Returns the bytes written; an
 * escaped newline (a line continuation inside strings) writes nothing. */
static size_t css_escape(const char *s, size_t n, size_t *i, char *out)
{
	size_t p = *i + 1;
	if (p >= n) {
		*i = p;
		return 0;
	}
	unsigned char c = (unsigned char)s[p];
	if (is_hex(c)) {
		uint32_t cp = 0;
		size_t k = 0;
		while (p < n && k < 6 && is_hex((unsigned char)s[p])) {
			cp = cp * 16 + (uint32_t)hex_val((unsigned char)s[p]);
			p++;
			k++;
		}
		/* One whitespace after a hex escape belongs to the escape. */
		if (p < n && s[p] == '\r' && p + 1 < n && s[p + 1] == '\n')
			p += 2;
		else if (p < n && is_ws((unsigned char)s[p]))
			p++;
		*i = p;
		return utf8_put(out, cp);
	}
	*i = p + 1;
	if (c == '\n' || c == '\f')
		return 0;
	if (c == '\r') {
		if (p + 1 < n && s[p + 1] == '\n')
			*i = p + 2;
		return 0;
	}
	out[0] = (char)c;
	return 1;
}

/* Index just past the comment opened at s[i] == '/', s[i+1] == '*'; an
 * unterminated comment runs to the end, as in CSS. */
static size_t skip_comment(const char *s, size_t n, size_t i)
{
	const char *end = memmem(s + i + 2, n - i - 2, "*/", 2);
	return end ? (size_t)(end - s) + 2 : n;
}

/* Index just past the string opened by the quote at s[i]. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	char q = s[i++];
	while (i < n) {
		char c = s[i];
		if (c == '\\')
			i += 2;
		else if (c == q)
			return i + 1;
		else if (c == '\n') /* a bad string ends at the newline */
			return i;
		else
			i++;
	}
	return n;
}

/* ---- declarations ---------------------------------------------------- */

/* Copies a value with comments removed and escapes decoded, so that
 * "disp\6c ay" and "none/ * * /" tricks read as what a browser sees. */
static size_t clean_value(const char *v, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		if (v[i] == '/' && i + 1 < n && v[i + 1] == '*') {
			i = skip_comment(v, n, i);
			continue;
		}
		if (v[i] == '\\') {
			o += css_escape(v, n, &i, out + o);
			continue;
		}
		out[o++] = v[i++];
	}
	return o;
}

static void trim(const char **s, size_t *n)
{
	while (*n && is_ws((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_ws((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* Strips a trailing "!important" (spaces allowed after the "!"). */
static void strip_important(const char *v, size_t *n)
{
	size_t e = *n;
	if (e < 9 || !starts_ci(v + e - 9, 9, "important"))
		return;
	e -= 9;
	while (e && is_ws((unsigned char)v[e - 1]))
		e--;
	if (e && v[e - 1] == '!') {
		e--;
		while (e && is_ws((unsigned char)v[e - 1]))
			e--;
		*n = e;
	}
}

static void emit_decl(const char *p, size_t pn, const char *v, size_t vn, css__decl_fn fn,
	void *ud)
{
	char prop[PROP_MAX];
	size_t o = 0;
	trim(&p, &pn);
	for (size_t i = 0; i < pn && o + 4 <= sizeof(prop);) {
		if (p[i] == '/' && i + 1 < pn && p[i + 1] == '*') {
			i = skip_comment(p, pn, i);
			continue;
		}
		if (p[i] == '\\') {
			o += css_escape(p, pn, &i, prop + o);
			continue;
		}
		prop[o++] = (char)lower((unsigned char)p[i++]);
	}
	const char *pp = prop;
	trim(&pp, &o);
	if (o == 0 || o >= PROP_MAX - 4)
		return;

	trim(&v, &vn);
	bool dirty = memchr(v, '\\', vn) || memmem(v, vn, "/*", 2);
	if (!dirty) {
		strip_important(v, &vn);
		trim(&v, &vn);
		fn(ud, pp, o, v, vn);
		return;
	}
	/* A decoded value is never longer than its source. */
	char stack[VALUE_STACK];
	char *buf = vn <= sizeof(stack) ? stack : malloc(vn);
	if (!buf) {
		fn(ud, pp, o, v, vn); /* out of memory: hand over as written */
		return;
	}
	size_t cn = clean_value(v, vn, buf);
	const char *cv = buf;
	trim(&cv, &cn);
	strip_important(cv, &cn);
	trim(&cv, &cn);
	fn(ud, pp, o, cv, cn);
	if (buf != stack)
		free(buf);
}

void css__declarations(const char *style, size_t len, css__decl_fn fn, void *ud)
{
	size_t i = 0;
	while (i < len) {
		size_t start = i, colon = (size_t)-1;
		int depth = 0; /* () and [] nesting, so url(a;b) stays one value */
		while (i < len) {
			char c = style[i];
			if (c == '/' && i + 1 < len && style[i + 1] == '*') {
				i = skip_comment(style, len, i);
				continue;
			}
			if (c == '"' || c == '\'') {
				i = skip_string(style, len, i);
				continue;
			}
			if (c == '\\') {
				i += 2;
				continue;
			}
			if (c == '(' || c == '[')
				depth++;
			else if ((c == ')' || c == ']') && depth > 0)
				depth--;
			else if (c == ':' && colon == (size_t)-1)
				colon = i;
			else if ((c == ';' || c == '{' || c == '}') && depth == 0)
				break;
			i++;
		}
		if (i > len)
			i = len;
		if (colon != (size_t)-1 && colon < i)
			emit_decl(style + start, colon - start, style + colon + 1, i - colon - 1,
				fn, ud);
		i++; /* past ';' */
	}
}

/* ---- url() and @import ---------------------------------------------- */

/* Collects one URL, decoded, into a buffer one byte longer than a kept URL
 * so that url__add() still sees that it was too long. */
typedef struct url_buf {
	char data[VIGIL_MAX_URL_BYTES + 8];
	size_t len;
} url_buf;

static void ub_put(url_buf *b, const char *s, size_t n)
{
	size_t room = VIGIL_MAX_URL_BYTES + 1 - b->len;
	if (b->len > VIGIL_MAX_URL_BYTES)
		return;
	if (n > room)
		n = room;
	memcpy(b->data + b->len, s, n);
	b->len += n;
}

/* Reads a quoted string starting at the quote s[i]; returns the index after
 * it, its decoded content in b. */
static size_t read_string(const char *s, size_t n, size_t i, url_buf *b)
{
	char q = s[i++];
	b->len = 0;
	while (i < n && s[i] != q && s[i] != '\n') {
		if (s[i] == '\\') {
			char tmp[4];
			size_t k = css_escape(s, n, &i, tmp);
			ub_put(b, tmp, k);
			continue;
		}
		/* Copy the plain run up to the next quote, escape or newline at once. */
		size_t j = i;
		while (j < n && s[j] != q && s[j] != '\\' && s[j] != '\n')
			j++;
		ub_put(b, s + i, j - i);
		i = j;
	}
	return i < n && s[i] == q ? i + 1 : i;
}

static bool is_name_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c >= 0x80;
}

/* Reads the argument of url( whose '(' is at s[i - 1]; returns the index
 * after the closing ')'. */
static size_t read_url_arg(const char *s, size_t n, size_t i, url_buf *b)
{
	while (i < n && is_ws((unsigned char)s[i]))
		i++;
	b->len = 0;
	if (i < n && (s[i] == '"' || s[i] == '\'')) {
		i = read_string(s, n, i, b);
		const char *close = memchr(s + i, ')', n - i);
		return close ? (size_t)(close - s) + 1 : n;
	}
	while (i < n && s[i] != ')') {
		if (s[i] == '\\') {
			char tmp[4];
			size_t k = css_escape(s, n, &i, tmp);
			ub_put(b, tmp, k);
			continue;
		}
		ub_put(b, s + i, 1);
		i++;
	}
	while (b->len && is_ws((unsigned char)b->data[b->len - 1]))
		b->len--;
	return i < n ? i + 1 : n;
}

void css__urls(const char *css, size_t len, css__url_fn fn, void *ud)
{
	url_buf *b = malloc(sizeof(*b));
	if (!b)
		return;
	/* Paren depth of an open image-set(): its strings are URLs too. */
	int depth = 0, image_set = -1;
	bool after_import = false;
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)css[i];
		if (c == '/' && i + 1 < len && css[i + 1] == '*') {
			i = skip_comment(css, len, i);
			continue;
		}
		if (c == '"' || c == '\'') {
			if (after_import || image_set >= 0) {
				i = read_string(css, len, i, b);
				if (b->len)
					fn(ud, b->data, b->len);
			} else {
				i = skip_string(css, len, i);
			}
			after_import = false;
			continue;
		}
		if (c == '\\') {
			i += 2;
			continue;
		}
		if (c == '@' && starts_ci(css + i + 1, len - i - 1, "import")) {
			after_import = true;
			i += 7;
			continue;
		}
		if (is_name_char(c)) {
			/* A whole identifier at once; url( and image-set( are looked
			 * for only at its start. */
			size_t j = i;
			while (j < len && (is_name_char((unsigned char)css[j]) || css[j] == '\\'))
				j += css[j] == '\\' ? 2 : 1;
			if (j > len)
				j = len;
			bool call = j < len && css[j] == '(';
			if (call && j - i == 3 && starts_ci(css + i, 3, "url")) {
				i = read_url_arg(css, len, j + 1, b);
				if (b->len)
					fn(ud, b->data, b->len);
				after_import = false;
				continue;
			}
			if (call && ((j - i == 9 && starts_ci(css + i, 9, "image-set")) ||
					    (j - i == 17 && starts_ci(css + i, 17, "-webkit-image-set"))))
				image_set = depth;
			i = j;
			continue;
		}
		if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (depth > 0)
				depth--;
			if (image_set >= 0 && depth <= image_set)
				image_set = -1;
		} else if (c == ';' || c == '{' || c == '}') {
			after_import = false;
		}
		i++;
	}
	free(b);
}

/* ---- lengths --------------------------------------------------------- */

typedef struct unit {
	const char *name;
	double px; /* CSS px per unit; 0 for relative units we do not resolve */
} unit;

/* em/rem/ex/ch are resolved against the default 16px font: mail clients
 * rarely change it, and "0.1em" on a tracker is as small either way. */
static const unit units[] = {
	{"px", 1},        {"pt", 4.0 / 3},   {"pc", 16},   {"in", 96},  {"cm", 96 / 2.54},
	{"mm", 96 / 25.4}, {"q", 96 / 101.6}, {"em", 16},   {"rem", 16}, {"ex", 8},
	{"ch", 8},         {"%", 0},          {"vw", 0},    {"vh", 0},   {"vmin", 0},
	{"vmax", 0},
};

int css__length_px(const char *value, size_t len)
{
	const char *s = value;
	size_t n = len;
	trim(&s, &n);
	strip_important(s, &n);
	trim(&s, &n);
	size_t i = 0;
	double sign = 1;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		sign = s[i++] == '-' ? -1 : 1;
	double v = 0;
	bool digits = false;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (v < 1e9)
			v = v * 10 + (s[i] - '0');
		i++;
		digits = true;
	}
	if (i < n && s[i] == '.') {
		double f = 0.1;
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			v += (s[i] - '0') * f;
			f /= 10;
			i++;
			digits = true;
		}
	}
	if (!digits)
		return -1;
	if (i < n && (s[i] == 'e' || s[i] == 'E') && i + 1 < n &&
		((s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 1] == '-' || s[i + 1] == '+')) {
		size_t j = i + 1;
		int es = 1, e = 0;
		if (s[j] == '-' || s[j] == '+')
			es = s[j++] == '-' ? -1 : 1;
		if (j < n && s[j] >= '0' && s[j] <= '9') {
			while (j < n && s[j] >= '0' && s[j] <= '9') {
				if (e < 100)
					e = e * 10 + (s[j] - '0');
				j++;
			}
			/* A loop rather than pow(): no libm for one multiplication. */
			for (int k = 0; k < e && v != 0 && v < 1e12; k++)
				v = es > 0 ? v * 10 : v / 10;
			i = j;
		}
	}
	v *= sign;
	const char *u = s + i;
	size_t un = n - i;
	double scale;
	if (un == 0) {
		scale = 1; /* unitless: mail clients read it as px (quirks mode) */
	} else {
		scale = -1;
		for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (un == strlen(units[k].name) && starts_ci(u, un, units[k].name)) {
				scale = units[k].px;
				break;
			}
		if (scale < 0)
			return -1;
	}
	if (v == 0)
		return 0; /* 0%, 0vw, 0em: zero whatever the unit */
	if (scale == 0)
		return -1;
	v *= scale;
	if (v > INT32_MAX / 2)
		return INT32_MAX / 2;
	if (v < -(INT32_MAX / 2))
		return -(INT32_MAX / 2);
	return (int)(v < 0 ? v - 0.5 : v + 0.5);
}
