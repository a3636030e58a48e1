/*
 * URLs of an HTML body, parsed by gumbo, with the context a tracker detector
 * needs: element, attribute, declared size, why it is hidden, link text. It
 * applies inline styles and simple <style> rules (.class, #id, tag); it is
 * not a layout engine and does not run scripts or fetch anything.
 */
#include <gumbo.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extract/css.h"
#include "extract/extract.h"
#include "extract/html_internal.h"
#include "util/text.h"
#include "vigil_limits.h"

/* Elements a link text walk visits at most: a link wrapping a whole
 * newsletter must not make the walk quadratic. */
#define LINK_TEXT_NODES 4096

/* Offsets at or past this many px to the left or top put a box out of the
 * viewport of any mail client ("left:-9999px" and friends). */
#define OFFSCREEN_PX (-1000)

/* The same for a positioned box of unknown size (an image with no declared
 * width or height): "top:-500px" hides a tracking pixel. */
#define OFFSCREEN_UNSIZED_PX (-100)

/* ---- declared style -------------------------------------------------- */

#define UNSET INT32_MIN

/* What the CSS of one element declares, for the properties that hide or
 * size it. Tri-states: -1 not declared, 0 declared otherwise, 1 declared
 * hiding. Lengths: UNSET, or css__length_px(). */
typedef struct style {
	signed char display_none, visibility_hidden, opacity_zero, overflow_hidden;
	signed char positioned, clip_zero, mso_hide, scale_zero;
	int width, height, max_width, max_height;
	int left, top, margin_left, margin_top, text_indent;
} style;

static void style_init(style *s)
{
	s->display_none = s->visibility_hidden = s->opacity_zero = -1;
	s->overflow_hidden = s->positioned = s->clip_zero = s->mso_hide = s->scale_zero = -1;
	s->width = s->height = s->max_width = s->max_height = UNSET;
	s->left = s->top = s->margin_left = s->margin_top = s->text_indent = UNSET;
}

/* Later declarations win: copies what `src` declares over `dst`. */
static void style_merge(style *dst, const style *src)
{
#define M(f, unset) \
	if (src->f != (unset)) \
		dst->f = src->f;
	M(display_none, -1) M(visibility_hidden, -1) M(opacity_zero, -1)
	M(overflow_hidden, -1) M(positioned, -1) M(clip_zero, -1) M(mso_hide, -1)
	M(scale_zero, -1)
	M(width, UNSET) M(height, UNSET) M(max_width, UNSET) M(max_height, UNSET)
	M(left, UNSET) M(top, UNSET) M(margin_left, UNSET) M(margin_top, UNSET)
	M(text_indent, UNSET)
#undef M
}

static bool eq(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(s, lit, n) == 0;
}

static bool prefix(const char *s, size_t n, const char *lit)
{
	size_t l = strlen(lit);
	return n >= l && strncasecmp(s, lit, l) == 0;
}

/* First whitespace-separated word of a value ("none" of "none !important"
 * is already stripped by css.c; "0 auto" of margin gives "0"). */
static size_t first_word(const char *v, size_t n)
{
	size_t i = 0;
	while (i < n && v[i] != ' ' && v[i] != '\t' && v[i] != '\n' && v[i] != '\r')
		i++;
	return i;
}

/* opacity: "0", "0.0", "0%", and values too small to see (≤ 1%). */
static bool opacity_zero(const char *v, size_t n)
{
	size_t i = 0;
	double x = 0, f = 1;
	bool dot = false, digits = false;
	if (i < n && v[i] == '-')
		return true;
	for (; i < n; i++) {
		if (v[i] >= '0' && v[i] <= '9') {
			digits = true;
			if (dot) {
				f /= 10;
				x += (v[i] - '0') * f;
			} else if (x < 1e6) {
				x = x * 10 + (v[i] - '0');
			}
		} else if (v[i] == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	if (!digits)
		return false;
	if (i < n && v[i] == '%')
		x /= 100;
	return x <= 0.01;
}

static void decl(void *ud, const char *p, size_t pn, const char *v, size_t vn)
{
	style *s = ud;
	size_t w = first_word(v, vn);
	if (eq(p, pn, "display")) {
		s->display_none = eq(v, vn, "none");
	} else if (eq(p, pn, "visibility")) {
		s->visibility_hidden = eq(v, vn, "hidden") || eq(v, vn, "collapse");
	} else if (eq(p, pn, "opacity")) {
		s->opacity_zero = opacity_zero(v, vn);
	} else if (eq(p, pn, "overflow") || eq(p, pn, "overflow-x") || eq(p, pn, "overflow-y")) {
		/* Either axis clipped hides what a zero box holds on that axis;
		 * close enough for a 1-pixel image. */
		bool h = prefix(v, vn, "hidden") || prefix(v, vn, "clip");
		if (h || !eq(p, pn, "overflow-y") || s->overflow_hidden != 1)
			s->overflow_hidden = h || (s->overflow_hidden == 1 && !eq(p, pn, "overflow"));
	} else if (eq(p, pn, "position")) {
		s->positioned = eq(v, vn, "absolute") || eq(v, vn, "fixed");
	} else if (eq(p, pn, "clip")) {
		/* rect(0 0 0 0) / rect(0,0,0,0) / rect(1px,1px,1px,1px): the
		 * "visually hidden" pattern. */
		bool z = prefix(v, vn, "rect(");
		for (size_t i = 5; z && i < vn && v[i] != ')'; i++)
			if (!strchr("01px ,\t", v[i]))
				z = false;
		s->clip_zero = z;
	} else if (eq(p, pn, "clip-path")) {
		s->clip_zero = prefix(v, vn, "inset(50%") || prefix(v, vn, "circle(0");
	} else if (eq(p, pn, "transform")) {
		/* scale(0), scaleX(0), scaleY(0), scale(0,0): drawn at no size. */
		bool z = false;
		for (size_t i = 0; i + 6 < vn && !z; i++)
			if (prefix(v + i, vn - i, "scale")) {
				size_t j = i + 5;
				if (j < vn && (v[j] == 'X' || v[j] == 'Y' || v[j] == 'x' || v[j] == 'y'))
					j++;
				if (j < vn && v[j] == '(') {
					j++;
					while (j < vn && v[j] == ' ')
						j++;
					z = j < vn && v[j] == '0' && (j + 1 >= vn || !strchr("123456789.", v[j + 1]) ||
						(v[j + 1] == '.' && j + 2 < vn && v[j + 2] == '0'));
				}
			}
		s->scale_zero = z;
	} else if (eq(p, pn, "mso-hide")) {
		s->mso_hide = eq(v, vn, "all");
	} else if (eq(p, pn, "width")) {
		s->width = css__length_px(v, vn);
	} else if (eq(p, pn, "height")) {
		s->height = css__length_px(v, vn);
	} else if (eq(p, pn, "max-width")) {
		s->max_width = css__length_px(v, vn);
	} else if (eq(p, pn, "max-height")) {
		s->max_height = css__length_px(v, vn);
	} else if (eq(p, pn, "left")) {
		s->left = css__length_px(v, vn);
	} else if (eq(p, pn, "top")) {
		s->top = css__length_px(v, vn);
	} else if (eq(p, pn, "margin-left")) {
		s->margin_left = css__length_px(v, vn);
	} else if (eq(p, pn, "margin-top")) {
		s->margin_top = css__length_px(v, vn);
	} else if (eq(p, pn, "margin")) {
		/* "margin: top right bottom left": the first word is the top; a
		 * single value is all four. */
		s->margin_top = css__length_px(v, w);
		const char *last = v + vn;
		while (last > v && last[-1] != ' ' && last[-1] != '\t')
			last--;
		s->margin_left = css__length_px(last, (size_t)(v + vn - last));
	} else if (eq(p, pn, "text-indent")) {
		s->text_indent = css__length_px(v, vn);
	}
}

/* ---- <style> rules: simple selectors to declared style --------------- */

typedef struct rule {
	char *key; /* "tag", ".cls", "#id", "tag.cls" or "tag#id"; lower-case tag */
	style st;
} rule;

typedef struct rules {
	rule *slots; /* open addressing, power-of-two size */
	size_t cap, len;
	bool any;    /* a rule that hides or sizes something exists */
} rules;

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211u;
	return h;
}

static rule *rules_find(const rules *r, const char *k, size_t n)
{
	if (!r->cap)
		return NULL;
	for (size_t i = hash(k, n) & (r->cap - 1);; i = (i + 1) & (r->cap - 1)) {
		rule *s = &r->slots[i];
		if (!s->key)
			return NULL;
		if (strlen(s->key) == n && memcmp(s->key, k, n) == 0)
			return s;
	}
}

/* Returns the rule for a key, created empty when new; NULL on ENOMEM. */
static rule *rules_get(rules *r, vigil_arena *a, const char *k, size_t n)
{
	rule *s = rules_find(r, k, n);
	if (s)
		return s;
	if ((r->len + 1) * 2 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		rule *slots = calloc(cap, sizeof(*slots));
		if (!slots)
			return NULL;
		for (size_t i = 0; i < r->cap; i++) {
			if (!r->slots[i].key)
				continue;
			size_t j = hash(r->slots[i].key, strlen(r->slots[i].key)) & (cap - 1);
			while (slots[j].key)
				j = (j + 1) & (cap - 1);
			slots[j] = r->slots[i];
		}
		free(r->slots);
		r->slots = slots;
		r->cap = cap;
	}
	size_t i = hash(k, n) & (r->cap - 1);
	while (r->slots[i].key)
		i = (i + 1) & (r->cap - 1);
	s = &r->slots[i];
	if (!(s->key = vigil_arena_strndup(a, k, n)))
		return NULL;
	for (char *c = s->key; *c; c++)
		if (*c >= 'A' && *c <= 'Z' && (c == s->key || (c[-1] != '.' && c[-1] != '#')))
			*c += 32;
	style_init(&s->st);
	r->len++;
	return s;
}

static bool ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c >= 0x80;
}

/* A selector we match: "tag", ".cls", "#id", "tag.cls", "tag#id". */
static bool simple_selector(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && ident_char((unsigned char)s[i]))
		i++;
	if (i == n)
		return n > 0;
	if (s[i] != '.' && s[i] != '#')
		return false;
	size_t j = ++i;
	while (i < n && ident_char((unsigned char)s[i]))
		i++;
	return i == n && i > j;
}

static const char *skip_css_comment(const char *p, const char *e)
{
	const char *c = memmem(p + 2, (size_t)(e - p - 2), "*/", 2);
	return c ? c + 2 : e;
}

/* Reads the rules of one style sheet into r. Rules inside @media and other
 * at-rule blocks are skipped: a "display:none" there usually hides a mobile
 * or desktop variant, not content from every reader. Returns 0 or
 * VIGIL_ENOMEM. */
static int rules_read(rules *r, vigil_arena *a, const char *css, size_t len)
{
	const char *p = css, *e = css + len;
	while (p < e) {
		/* Prelude: up to '{' (or ';' for a block-less at-rule). */
		const char *q = p;
		bool at = false;
		for (;;) { /* whitespace and comments before the selector */
			while (q < e && strchr(" \t\n\r\f", *q) && *q)
				q++;
			if (q + 1 < e && q[0] == '/' && q[1] == '*')
				q = skip_css_comment(q, e);
			else
				break;
		}
		if (q + 4 <= e && memcmp(q, "<!--", 4) == 0) { /* legacy hiding of CSS */
			p = q + 4;
			continue;
		}
		if (q + 3 <= e && memcmp(q, "-->", 3) == 0) {
			p = q + 3;
			continue;
		}
		at = q < e && *q == '@';
		const char *sel = q;
		while (q < e && *q != '{' && !(at && *q == ';')) {
			if (*q == '/' && q + 1 < e && q[1] == '*')
				q = skip_css_comment(q, e);
			else if (*q == '"' || *q == '\'') {
				const char *c = memchr(q + 1, *q, (size_t)(e - q - 1));
				q = c ? c + 1 : e;
			} else
				q++;
		}
		if (q >= e)
			break;
		if (*q == ';') {
			p = q + 1;
			continue;
		}
		/* Block: up to the matching '}', counting nested blocks. */
		const char *body = q + 1, *b = body;
		long depth = 1;
		while (b < e && depth) {
			if (*b == '/' && b + 1 < e && b[1] == '*') {
				b = skip_css_comment(b, e);
				continue;
			}
			if (*b == '"' || *b == '\'') {
				const char *c = memchr(b + 1, *b, (size_t)(e - b - 1));
				b = c ? c + 1 : e;
				continue;
			}
			depth += (*b == '{') - (*b == '}');
			b++;
		}
		const char *body_end = depth ? e : b - 1;
		p = b;
		if (at)
			continue;
		style st;
		style_init(&st);
		css__declarations(body, (size_t)(body_end - body), decl, &st);
		/* Each selector of the comma list. */
		for (const char *s = sel; s < q;) {
			const char *c = memchr(s, ',', (size_t)(q - s));
			const char *se = c ? c : q;
			const char *ss = s, *ee = se;
			while (ss < ee && strchr(" \t\r\n\f", *ss))
				ss++;
			while (ee > ss && strchr(" \t\r\n\f", ee[-1]))
				ee--;
			if (simple_selector(ss, (size_t)(ee - ss))) {
				rule *ru = rules_get(r, a, ss, (size_t)(ee - ss));
				if (!ru)
					return VIGIL_ENOMEM;
				style_merge(&ru->st, &st);
				r->any = true;
			}
			s = se + 1;
		}
	}
	return 0;
}

/* ---- gumbo helpers --------------------------------------------------- */

static const GumboVector *children_of(const GumboNode *n)
{
	if (n->type == GUMBO_NODE_DOCUMENT)
		return &n->v.document.children;
	if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE)
		return &n->v.element.children;
	return NULL;
}

/* Next node of a pre-order walk of the subtree at root, without a stack
 * (gumbo keeps parent links): the first child when `descend`, else the
 * next sibling of the nearest ancestor that has one. *depth follows. */
static const GumboNode *next_node(const GumboNode *n, const GumboNode *root, bool descend,
	int *depth)
{
	const GumboVector *ch = children_of(n);
	if (descend && ch && ch->length) {
		(*depth)++;
		return ch->data[0];
	}
	while (n != root) {
		const GumboNode *parent = n->parent;
		if (!parent)
			return NULL;
		const GumboVector *pc = children_of(parent);
		size_t i = n->index_within_parent + 1;
		if (pc && i < pc->length)
			return pc->data[i];
		n = parent;
		(*depth)--;
	}
	return NULL;
}

static const char *attr(const GumboElement *el, const char *name)
{
	const GumboAttribute *a = gumbo_get_attribute(&el->attributes, name);
	return a ? a->value : NULL;
}

/* HTML dimension attribute ("1", "1px", " 0 ", "50%"): px, or -1. */
static int attr_px(const char *v)
{
	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r' || *v == '\f')
		v++;
	if (*v < '0' || *v > '9')
		return -1;
	long x = 0;
	while (*v >= '0' && *v <= '9') {
		if (x < 100000000)
			x = x * 10 + (*v - '0');
		v++;
	}
	if (*v == '.')
		for (v++; *v >= '0' && *v <= '9'; v++)
			;
	while (*v == ' ')
		v++;
	if (*v == '%' || *v == '*')
		return x == 0 ? 0 : -1;
	return (int)x;
}

/* ---- the walk -------------------------------------------------------- */

/* A style sheet that depth_guard() took out of gumbo's input: gumbo reads
 * a <style> element's text one character at a time like any text, and style
 * sheets are a sixth of the HTML of real mail. gumbo reads STYLE_MARK in
 * its place, at byte `at` of its input; the sheet is read from the HTML as
 * given. */
#define STYLE_MARK "/**/"
typedef struct style_cut {
	size_t at;
	const char *css;
	size_t len;
	char *owned; /* css, when it is a copy with gumbo's line breaks */
} style_cut;

typedef struct style_cuts {
	style_cut *v; /* by `at`, ascending */
	size_t len, cap;
} style_cuts;

typedef struct walk {
	vigil_message *msg;
	vigil_scanner *sc;
	const char *base; /* <base href>, absolute, or NULL */
	rules rules;
	int part, nested;
	/* per URL context while an element's URLs are added */
	const char *element;
	int width, height;
	unsigned hidden;
	const char *link_text, *text_host;
	bool in_conditional; /* walking the inside of an Outlook conditional comment */
	const style_cuts *cuts; /* the sheets taken out of this document */
	int rc;
} walk;

static int add(walk *w, const char *attribute, const char *raw, size_t n)
{
	while (n && (unsigned char)*raw <= 0x20)
		raw++, n--;
	while (n && (unsigned char)raw[n - 1] <= 0x20)
		n--;
	if (n == 0)
		return 0;
	char *copy = vigil_arena_strndup(w->msg->arena, raw, n);
	if (!copy)
		return VIGIL_ENOMEM;
	vigil_url u = {
		.raw = copy,
		.origin = VIGIL_URL_HTML,
		.element = w->element,
		.attribute = attribute,
		.width = w->width,
		.height = w->height,
		.hidden = w->hidden,
		.link_text = w->link_text,
		.text_host = w->text_host,
		.part = w->part,
		.nested = w->nested,
	};
	return url__add_base(w->msg, w->sc, &u, w->base);
}

static int add_z(walk *w, const char *attribute, const char *raw)
{
	return raw ? add(w, attribute, raw, strlen(raw)) : 0;
}

typedef struct css_ctx {
	walk *w;
	const char *attribute;
} css_ctx;

static void css_url(void *ud, const char *url, size_t n)
{
	css_ctx *c = ud;
	if (!c->w->rc)
		c->w->rc = add(c->w, c->attribute, url, n);
}

/* srcset: "a.jpg 1x, b.jpg 2x" or "a.jpg 400w,b.jpg 800w"; URLs may hold
 * commas, so a candidate's URL runs to whitespace (HTML's own algorithm). */
static int add_srcset(walk *w, const char *v)
{
	const char *p = v;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f'))
			p++;
		size_t n = (size_t)(p - s);
		bool ended = false;
		while (n && s[n - 1] == ',') {
			n--;
			ended = true;
		}
		int rc = add(w, "srcset", s, n);
		if (rc)
			return rc;
		if (ended)
			continue;
		/* Descriptors, up to a comma outside parentheses. */
		int depth = 0;
		while (*p && !(*p == ',' && depth == 0)) {
			depth += (*p == '(') - (*p == ')' && depth > 0);
			p++;
		}
	}
	return 0;
}

/* <meta http-equiv="refresh" content="5; url='https://...'">. */
static int add_refresh(walk *w, const char *v)
{
	const char *p = v;
	while (*p == ' ' || (*p >= '0' && *p <= '9') || *p == '.')
		p++;
	if (*p != ';' && *p != ',')
		return 0;
	p++;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "url", 3) == 0) {
		const char *q = p + 3;
		while (*q == ' ')
			q++;
		if (*q == '=') {
			p = q + 1;
			while (*p == ' ')
				p++;
		}
	}
	size_t n = strlen(p);
	if (n && (*p == '\'' || *p == '"')) {
		const char *close = strchr(p + 1, *p);
		p++;
		n = close ? (size_t)(close - p) : strlen(p);
	}
	return add(w, "content", p, n);
}

static bool is_tag(const GumboNode *n, GumboTag t)
{
	return n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == t;
}

/* Appends text to buf (cap bytes) with runs of whitespace collapsed. */
static void text_append(char *buf, size_t *len, size_t cap, bool *space, const char *t)
{
	for (; *t && *len < cap; t++) {
		unsigned char c = (unsigned char)*t;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
			*space = *len > 0;
			continue;
		}
		if (*space) {
			buf[(*len)++] = ' ';
			*space = false;
			if (*len == cap)
				break;
		}
		buf[(*len)++] = (char)c;
	}
}

/* Visible text of a link: its text nodes (not those of script, style or
 * hidden-attribute elements), whitespace collapsed, cut on a UTF-8 boundary
 * at VIGIL_MAX_LINK_TEXT. A link with no text but an image reads as the
 * image's alt text: what an image-blocking client shows in its place. */
static const char *link_text(vigil_arena *a, const GumboNode *link)
{
	/* One byte past the cap is collected, to know where a cut falls. */
	char buf[VIGIL_MAX_LINK_TEXT + 2];
	size_t len = 0;
	bool space = false;
	const char *alt = NULL;
	int depth = 0, budget = LINK_TEXT_NODES;
	for (const GumboNode *n = next_node(link, link, true, &depth); n && len < sizeof(buf) - 1;) {
		bool descend = true;
		if (--budget < 0)
			break;
		if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA ||
			n->type == GUMBO_NODE_WHITESPACE) {
			text_append(buf, &len, sizeof(buf) - 1, &space, n->v.text.text);
		} else if (n->type == GUMBO_NODE_ELEMENT) {
			GumboTag t = n->v.element.tag;
			if (t == GUMBO_TAG_SCRIPT || t == GUMBO_TAG_STYLE || t == GUMBO_TAG_TITLE ||
				attr(&n->v.element, "hidden"))
				descend = false;
			else if (t == GUMBO_TAG_IMG && !alt)
				alt = attr(&n->v.element, "alt");
			if (t == GUMBO_TAG_BR || t == GUMBO_TAG_P || t == GUMBO_TAG_DIV ||
				t == GUMBO_TAG_TD)
				space = len > 0;
		} else if (n->type == GUMBO_NODE_TEMPLATE) {
			descend = false;
		}
		n = next_node(n, link, descend, &depth);
	}
	if (len == 0 && alt) {
		text_append(buf, &len, sizeof(buf) - 1, &space, alt);
	}
	if (len == 0)
		return NULL;
	if (len > VIGIL_MAX_LINK_TEXT) {
		len = VIGIL_MAX_LINK_TEXT;
		while (len > 0 && ((unsigned char)buf[len] & 0xC0) == 0x80)
			len--;
	}
	return vigil_arena_strndup(a, buf, len);
}

static const char *tag_name(vigil_arena *a, const GumboElement *el)
{
	if (el->tag != GUMBO_TAG_UNKNOWN)
		return gumbo_normalized_tagname(el->tag);
	GumboStringPiece p = el->original_tag;
	gumbo_tag_from_original_text(&p);
	char *s = vigil_arena_strndup(a, p.data ? p.data : "", p.data ? p.length : 0);
	if (s)
		for (char *c = s; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c += 32;
	return s;
}

/* Applies the <style> rules matching an element's tag, classes and id. */
static void apply_rules(const rules *r, const char *tag, const GumboElement *el, style *st)
{
	char key[256];
	size_t tl = strlen(tag);
	const rule *ru;
	if ((ru = rules_find(r, tag, tl)))
		style_merge(st, &ru->st);
	const char *cls = attr(el, "class");
	for (const char *p = cls; p && *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f')
			p++;
		const char *s = p;
		while (*p && !(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f'))
			p++;
		size_t n = (size_t)(p - s);
		if (n == 0 || n + tl + 2 > sizeof(key))
			continue;
		key[0] = '.';
		memcpy(key + 1, s, n);
		if ((ru = rules_find(r, key, n + 1)))
			style_merge(st, &ru->st);
		memcpy(key, tag, tl);
		key[tl] = '.';
		memcpy(key + tl + 1, s, n);
		if ((ru = rules_find(r, key, tl + 1 + n)))
			style_merge(st, &ru->st);
	}
	const char *id = attr(el, "id");
	size_t n = id ? strlen(id) : 0;
	if (n && n + tl + 2 <= sizeof(key)) {
		key[0] = '#';
		memcpy(key + 1, id, n);
		if ((ru = rules_find(r, key, n + 1)))
			style_merge(st, &ru->st);
		memcpy(key, tag, tl);
		key[tl] = '#';
		memcpy(key + tl + 1, id, n);
		if ((ru = rules_find(r, key, tl + 1 + n)))
			style_merge(st, &ru->st);
	}
}

/* Hiding state one element hands to its descendants. */
typedef struct frame {
	unsigned inherited; /* VIGIL_HIDDEN_* reasons of ancestors (no ANCESTOR bit) */
} frame;

static bool is_link_like(GumboTag t)
{
	return t == GUMBO_TAG_A || t == GUMBO_TAG_AREA || t == GUMBO_TAG_LINK ||
		t == GUMBO_TAG_BASE || t == GUMBO_TAG_FORM || t == GUMBO_TAG_META ||
		t == GUMBO_TAG_BLOCKQUOTE || t == GUMBO_TAG_Q;
}

/* Handles one element: works out its style and hiding, adds its URLs, and
 * returns what its children inherit. */
static unsigned visit(walk *w, const GumboNode *node, unsigned inherited)
{
	const GumboElement *el = &node->v.element;
	vigil_arena *a = w->msg->arena;
	GumboTag t = el->tag;
	const char *tag = tag_name(a, el);
	if (!tag) {
		w->rc = VIGIL_ENOMEM;
		return inherited;
	}

	style st;
	style_init(&st);
	if (w->rules.any)
		apply_rules(&w->rules, tag, el, &st);
	const char *inline_style = attr(el, "style");
	if (inline_style)
		css__declarations(inline_style, strlen(inline_style), decl, &st);

	/* Declared size: CSS wins over the width/height attributes, and a
	 * smaller max-width/max-height caps it ("max-width:1px" is a 1 px box
	 * whatever its width says). */
	int width = st.width != UNSET ? st.width : attr_px(attr(el, "width"));
	int height = st.height != UNSET ? st.height : attr_px(attr(el, "height"));
	if (st.max_width != UNSET && st.max_width >= 0 && (width < 0 || st.max_width < width))
		width = st.max_width;
	if (st.max_height != UNSET && st.max_height >= 0 && (height < 0 || st.max_height < height))
		height = st.max_height;

	unsigned own = 0;
	if (st.display_none == 1)
		own |= VIGIL_HIDDEN_DISPLAY;
	if (st.mso_hide == 1) /* Outlook's display:none */
		own |= VIGIL_HIDDEN_DISPLAY;
	if (st.visibility_hidden == 1)
		own |= VIGIL_HIDDEN_VISIBILITY;
	if (st.opacity_zero == 1)
		own |= VIGIL_HIDDEN_OPACITY;
	/* The hidden attribute is display:none in the UA sheet; an author's
	 * display wins over it. */
	if (attr(el, "hidden") && st.display_none == -1)
		own |= VIGIL_HIDDEN_ATTR;
	bool zero_box = width == 0 || height == 0 || st.max_width == 0 || st.max_height == 0 ||
		st.scale_zero == 1;
	if (zero_box)
		own |= VIGIL_HIDDEN_ZERO_SIZE;
	bool clips = (zero_box && st.overflow_hidden == 1) || st.clip_zero == 1;
	if (st.clip_zero == 1)
		own |= VIGIL_HIDDEN_CLIPPED;
	/* A positioned box moved further out than its own size is gone from
	 * view; mail layouts have no use for negative offsets (webmail strips
	 * positioning), so without a declared size a modest one counts: a
	 * tracking pixel is 1 px whatever it declares. */
	int reach_x = width > 0 ? -width : OFFSCREEN_UNSIZED_PX;
	int reach_y = height > 0 ? -height : OFFSCREEN_UNSIZED_PX;
	if (reach_x < OFFSCREEN_PX)
		reach_x = OFFSCREEN_PX;
	if (reach_y < OFFSCREEN_PX)
		reach_y = OFFSCREEN_PX;
	bool off = (st.positioned == 1 &&
			   ((st.left != UNSET && st.left <= reach_x && st.left < 0) ||
				   (st.top != UNSET && st.top <= reach_y && st.top < 0))) ||
		(st.margin_left != UNSET && st.margin_left <= OFFSCREEN_PX) ||
		(st.margin_top != UNSET && st.margin_top <= OFFSCREEN_PX);
	if (off)
		own |= VIGIL_HIDDEN_OFFSCREEN;

	/* visibility:visible on a child undoes a hidden ancestor's visibility. */
	unsigned from_above = inherited;
	if (st.visibility_hidden == 0)
		from_above &= ~(unsigned)VIGIL_HIDDEN_VISIBILITY;

	unsigned to_children = from_above | (own & ~(unsigned)VIGIL_HIDDEN_ZERO_SIZE);
	if (clips)
		to_children |= VIGIL_HIDDEN_CLIPPED;
	/* A text-indent far to the left moves inline content (images too) out
	 * of view, not the box itself. */
	if (st.text_indent != UNSET && st.text_indent <= OFFSCREEN_PX)
		to_children |= VIGIL_HIDDEN_OFFSCREEN;

	w->element = tag;
	w->hidden = own | (from_above ? from_above | VIGIL_HIDDEN_ANCESTOR : 0);
	w->link_text = w->text_host = NULL;
	bool link = is_link_like(t);
	w->width = link ? -1 : width;
	w->height = link ? -1 : height;

	int rc = 0;
	if (t == GUMBO_TAG_A || t == GUMBO_TAG_AREA) {
		const char *href = attr(el, "href");
		if (href) {
			w->link_text = t == GUMBO_TAG_AREA ? attr(el, "alt") : link_text(a, node);
			if (w->link_text && t == GUMBO_TAG_AREA &&
				!(w->link_text = vigil_arena_strndup(a, w->link_text,
					  strnlen(w->link_text, VIGIL_MAX_LINK_TEXT)))) {
				w->rc = VIGIL_ENOMEM;
				return inherited;
			}
			w->text_host = url__host_in_text(a, w->link_text);
			rc = add_z(w, "href", href);
		}
		w->link_text = w->text_host = NULL;
	} else if (t == GUMBO_TAG_LINK || t == GUMBO_TAG_BASE) {
		rc = add_z(w, "href", attr(el, "href"));
	} else if (t == GUMBO_TAG_IMG) {
		rc = add_z(w, "src", attr(el, "src"));
		if (!rc && attr(el, "srcset"))
			rc = add_srcset(w, attr(el, "srcset"));
		if (!rc)
			rc = add_z(w, "lowsrc", attr(el, "lowsrc"));
		if (!rc)
			rc = add_z(w, "dynsrc", attr(el, "dynsrc"));
	} else if (t == GUMBO_TAG_SOURCE) {
		rc = add_z(w, "src", attr(el, "src"));
		if (!rc && attr(el, "srcset"))
			rc = add_srcset(w, attr(el, "srcset"));
	} else if (t == GUMBO_TAG_INPUT) {
		const char *type = attr(el, "type");
		if (type && strcasecmp(type, "image") == 0)
			rc = add_z(w, "src", attr(el, "src"));
		if (!rc)
			rc = add_z(w, "formaction", attr(el, "formaction"));
	} else if (t == GUMBO_TAG_BUTTON) {
		rc = add_z(w, "formaction", attr(el, "formaction"));
	} else if (t == GUMBO_TAG_FORM) {
		rc = add_z(w, "action", attr(el, "action"));
	} else if (t == GUMBO_TAG_IFRAME || t == GUMBO_TAG_FRAME || t == GUMBO_TAG_EMBED ||
		t == GUMBO_TAG_AUDIO || t == GUMBO_TAG_TRACK || t == GUMBO_TAG_SCRIPT) {
		rc = add_z(w, "src", attr(el, "src"));
	} else if (t == GUMBO_TAG_VIDEO) {
		rc = add_z(w, "src", attr(el, "src"));
		if (!rc)
			rc = add_z(w, "poster", attr(el, "poster"));
	} else if (t == GUMBO_TAG_OBJECT) {
		rc = add_z(w, "data", attr(el, "data"));
	} else if (t == GUMBO_TAG_BLOCKQUOTE || t == GUMBO_TAG_Q) {
		rc = add_z(w, "cite", attr(el, "cite"));
	} else if (t == GUMBO_TAG_META) {
		const char *he = attr(el, "http-equiv"), *content = attr(el, "content");
		if (he && content && strcasecmp(he, "refresh") == 0)
			rc = add_refresh(w, content);
	} else if (t == GUMBO_TAG_UNKNOWN && el->tag_namespace == GUMBO_NAMESPACE_HTML &&
		(strcmp(tag, "v:fill") == 0 || strcmp(tag, "v:image") == 0 ||
			strcmp(tag, "v:imagedata") == 0)) {
		/* VML, Outlook's own drawing markup (inside conditional comments):
		 * the images of its shapes and backgrounds. */
		rc = add_z(w, "src", attr(el, "src"));
	} else if (el->tag_namespace == GUMBO_NAMESPACE_SVG &&
		(t == GUMBO_TAG_IMAGE || t == GUMBO_TAG_UNKNOWN)) {
		/* <image href> and <image xlink:href> (gumbo keeps the local name). */
		rc = add_z(w, "href", attr(el, "href"));
	}
	if (!rc && !link)
		rc = add_z(w, "background", attr(el, "background"));
	if (!rc && inline_style && memchr(inline_style, '(', strlen(inline_style))) {
		css_ctx c = {w, "style"};
		css__urls(inline_style, strlen(inline_style), css_url, &c);
		rc = w->rc;
	}
	if (rc)
		w->rc = rc;
	return to_children;
}

/* Text of a <style> element (gumbo gives it one text child), and its
 * length: the sheet itself where depth_guard() left a mark, found by the
 * mark's place in gumbo's input (text that merely reads like a mark is
 * elsewhere). */
static const char *style_text(const walk *w, const GumboNode *n, size_t *len)
{
	const GumboVector *ch = children_of(n);
	if (!ch || ch->length == 0)
		return NULL;
	const GumboNode *t = ch->data[0];
	if (t->type != GUMBO_NODE_TEXT && t->type != GUMBO_NODE_WHITESPACE &&
		t->type != GUMBO_NODE_CDATA)
		return NULL;
	const char *text = t->v.text.text;
	if (w->cuts && w->cuts->len && strcmp(text, STYLE_MARK) == 0) {
		size_t at = t->v.text.start_pos.offset, lo = 0, hi = w->cuts->len;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (w->cuts->v[mid].at < at)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < w->cuts->len && w->cuts->v[lo].at == at) {
			*len = w->cuts->v[lo].len;
			return w->cuts->v[lo].css;
		}
	}
	*len = strlen(text);
	return text;
}

/* First pass: <style> rules and the first <base href>, which apply to the
 * whole document whatever their position. */
static int prepass(walk *w, const GumboNode *root)
{
	int depth = 0;
	for (const GumboNode *n = root; n; n = next_node(n, root, true, &depth)) {
		if (is_tag(n, GUMBO_TAG_STYLE)) {
			size_t len = 0;
			const char *css = style_text(w, n, &len);
			int rc = css ? rules_read(&w->rules, w->msg->arena, css, len) : 0;
			if (rc)
				return rc;
		} else if (is_tag(n, GUMBO_TAG_BASE) && !w->base) {
			const char *href = attr(&n->v.element, "href");
			while (href && (unsigned char)*href <= 0x20 && *href)
				href++;
			if (href && url__is_absolute(href, strlen(href)))
				w->base = href;
		}
	}
	return 0;
}

static int walk_conditional(walk *w, const char *html, size_t len, unsigned hidden);

/* Outlook's conditional comments, "<!--[if mso]> ... <![endif]-->": a
 * comment to every other parser, while Outlook renders what it holds and
 * fetches its images. A tracker put there is seen by the readers who use
 * Outlook and by no filter that drops comments. Sets the HTML between
 * "]>" and "<![endif]" (or the comment's end). The downlevel-revealed
 * form, "<!--[if !mso]><!-->", holds nothing: its content follows it. */
static bool conditional_body(const char *c, const char **body, size_t *len)
{
	while (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n')
		c++;
	if (strncasecmp(c, "[if", 3) != 0 || (c[3] != ' ' && c[3] != '\t'))
		return false;
	const char *gt = strstr(c, "]>");
	if (!gt)
		return false;
	const char *b = gt + 2;
	const char *end = strstr(b, "<![endif]");
	*body = b;
	*len = end ? (size_t)(end - b) : strlen(b);
	return *len > 0;
}

/* Whether HTML could hold a URL this file extracts: one of the attribute
 * names it reads, or CSS url(), or a meta refresh's "url=". Newsletters
 * wrap their layout in dozens of conditional tables that hold none; they
 * are not parsed a second time. */
static bool may_hold_url(const char *s, size_t n)
{
	static const char *const keys[] = {"src", "href", "url", "background", "action",
		"data", "poster", "cite"};
	for (size_t i = 0; i + 3 <= n; i++) {
		char c = (char)(s[i] | 0x20);
		for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++) {
			size_t kl = strlen(keys[k]);
			if (c == keys[k][0] && i + kl <= n && strncasecmp(s + i, keys[k], kl) == 0)
				return true;
		}
	}
	return false;
}

/* `root_hidden`: what the root's children inherit (an ancestor's hiding,
 * for the inside of a conditional comment). */
static int walk_tree(walk *w, const GumboNode *root, unsigned root_hidden)
{
	/* Hiding state per depth. Deeper than the cap, elements share the
	 * state at the cap: their URLs are still found, and the message is
	 * marked partial. */
	frame *frames = calloc(VIGIL_MAX_HTML_DEPTH + 2, sizeof(*frames));
	if (!frames)
		return VIGIL_ENOMEM;
	frames[0].inherited = root_hidden;
	bool too_deep = false;
	int depth = 0; /* the document is 0, <html> 1 */
	for (const GumboNode *n = root; n && !w->rc;) {
		bool descend = true;
		if (n->type == GUMBO_NODE_ELEMENT && depth >= 1) {
			unsigned inherited;
			if (depth <= VIGIL_MAX_HTML_DEPTH) {
				inherited = frames[depth - 1].inherited;
				frames[depth].inherited = visit(w, n, inherited);
			} else {
				too_deep = true;
				visit(w, n, frames[VIGIL_MAX_HTML_DEPTH].inherited);
			}
			if (is_tag(n, GUMBO_TAG_STYLE)) {
				size_t len = 0;
				const char *css = style_text(w, n, &len);
				if (css && memchr(css, '(', len)) {
					w->element = "style";
					w->width = w->height = -1;
					w->hidden = 0;
					w->link_text = w->text_host = NULL;
					css_ctx c = {w, "style-sheet"};
					css__urls(css, len, css_url, &c);
				}
				descend = false;
			}
		} else if (n->type == GUMBO_NODE_TEMPLATE) {
			descend = false; /* inert until a script clones it */
		} else if (n->type == GUMBO_NODE_COMMENT && !w->in_conditional && depth >= 1) {
			/* One level only: a comment cannot hold another comment. */
			const char *body;
			size_t blen;
			if (conditional_body(n->v.text.text, &body, &blen) && may_hold_url(body, blen)) {
				int d = depth <= VIGIL_MAX_HTML_DEPTH ? depth : VIGIL_MAX_HTML_DEPTH;
				int rc = walk_conditional(w, body, blen, frames[d - 1].inherited);
				if (rc)
					w->rc = rc;
			}
		}
		n = next_node(n, root, descend, &depth);
	}
	free(frames);
	if (!w->rc && too_deep)
		return message__partial(w->msg, "HTML nested deeper than %d elements",
			VIGIL_MAX_HTML_DEPTH);
	return w->rc;
}

/* ---- depth guard ----------------------------------------------------- */

/*
 * gumbo spends time proportional to the depth of open elements on many
 * start tags ("p in button scope" checks walk the stack), so 100,000 nested
 * <div>s take half a minute. Before parsing, a linear scan tracks an
 * estimate of that depth and drops start tags (and their end tags) that
 * would open elements past VIGIL_MAX_HTML_DEPTH, and floods of end tags that
 * close nothing. Void elements, text and
 * <a> are never dropped: URLs and link text survive; only the deepest
 * wrappers' attributes are lost (the message is marked partial).
 */
typedef struct guard {
	uint64_t *stack; /* hashes of open element names */
	int depth, foreign;
	long dropped, stray;
} guard;

/* End tags that close nothing we know of, kept before the rest are dropped:
 * sloppy real mail has a few dozen; a flood of them costs gumbo a walk of
 * its open-element stack each. */
#define GUARD_STRAY 4096

static bool name_in(uint64_t h, const uint64_t *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == h)
			return true;
	return false;
}

static uint64_t lc_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c += 32;
		h = (h ^ c) * 1099511628211u;
	}
	return h;
}

#define H(s) lc_hash(s, sizeof(s) - 1)

static size_t skip_to_gt(const char *s, size_t n, size_t i)
{
	/* Quoted attribute values may hold '>'. */
	while (i < n && s[i] != '>') {
		if (s[i] == '=') {
			i++;
			while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
				i++;
			if (i < n && (s[i] == '"' || s[i] == '\'')) {
				const char *c = memchr(s + i + 1, s[i], n - i - 1);
				i = c ? (size_t)(c - s) + 1 : n;
				continue;
			}
			continue;
		}
		i++;
	}
	return i;
}

static bool tag_name_char(unsigned char c)
{
	return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		c == ':';
}

/* Index of "</name" (any case) at or after i, or n. */
static size_t find_end_tag(const char *s, size_t n, size_t i, const char *name, size_t nl)
{
	while (i < n) {
		const char *p = memmem(s + i, n - i, "</", 2);
		if (!p)
			return n;
		size_t j = (size_t)(p - s);
		if (j + 2 + nl <= n && strncasecmp(p + 2, name, nl) == 0)
			return j;
		i = j + 2;
	}
	return n;
}

/* Sheets shorter than this stay where they are: a cut costs more than
 * gumbo spends on a few dozen characters. */
#define STYLE_CUT_MIN 64

/* Where the text of a <style> element whose start tag ends before `from`
 * can be cut out of gumbo's input: when it runs to "</style" and holds no
 * '<', '&' or NUL, gumbo's tokenizer reads it as the same characters in
 * whatever state it is in (raw text, or data where the tree builder
 * ignores the start tag: in a <select>, after a bogus comment this guard
 * does not know), so nothing but characters is taken from gumbo. Returns
 * the offset of "</style", or 0. */
static size_t style_cut_end(const char *s, size_t n, size_t from)
{
	const char *lt = memchr(s + from, '<', n - from);
	if (!lt)
		return 0;
	size_t e = (size_t)(lt - s);
	/* gumbo ends the sheet at "</style" only before whitespace, '/' or '>'
	 * (strchr() would also find the NUL that ends its set). */
	if (e - from < STYLE_CUT_MIN || e + 8 > n || strncasecmp(lt, "</style", 7) != 0 ||
		!lt[7] || !strchr("\t\n\f\r />", lt[7]) || memchr(s + from, '&', e - from) ||
		memchr(s + from, '\0', e - from))
		return 0;
	return e;
}

/* Records a sheet cut out at `at`. gumbo reads "\r\n" and a lone "\r" as
 * "\n" (the CSS reader counts on it: a backslash before a line break
 * continues a string); a sheet holding '\r' is kept as such a copy. */
static int cut_push(style_cuts *c, size_t at, const char *css, size_t len)
{
	if (c->len == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 8;
		style_cut *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return VIGIL_ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	char *owned = NULL;
	if (memchr(css, '\r', len)) {
		if (!(owned = malloc(len + 1)))
			return VIGIL_ENOMEM;
		len = text__lf_breaks(owned, css, len);
		owned[len] = '\0';
		css = owned;
	}
	c->v[c->len++] = (style_cut){at, css, len, owned};
	return 0;
}

static void cuts_free(style_cuts *c)
{
	for (size_t i = 0; i < c->len; i++)
		free(c->v[i].owned);
	free(c->v);
	*c = (style_cuts){0};
}

/* Appends s[*copied, upto) to the guard's copy *o (of at most n bytes,
 * made on first use); *copied becomes upto. */
static int copy_upto(char **o, size_t *ol, const char *s, size_t n, size_t *copied, size_t upto)
{
	if (!*o && !(*o = malloc(n + 1)))
		return VIGIL_ENOMEM;
	memcpy(*o + *ol, s + *copied, upto - *copied);
	*ol += upto - *copied;
	*copied = upto;
	return 0;
}

/* Prepares HTML for gumbo. When needed, returns in *out (malloc'd) a copy
 * with over-deep tags dropped (*dropped set), style sheets cut out (in
 * `cuts`: see style_cut) and whitespace between tags shortened, else
 * leaves *out NULL. Returns 0 or VIGIL_ENOMEM. */
static int depth_guard(const char *s, size_t n, char **out, size_t *out_len, bool *dropped,
	style_cuts *cuts)
{
	static const char *const raw_text[] = {"script", "style", "textarea", "title", "xmp",
		"iframe", "noembed", "noframes", "plaintext"};
	enum { N_RAW = sizeof(raw_text) / sizeof(raw_text[0]) };
	uint64_t raw_hash[N_RAW];
	for (size_t r = 0; r < N_RAW; r++)
		raw_hash[r] = lc_hash(raw_text[r], strlen(raw_text[r]));
	const uint64_t h_a = H("a"), h_svg = H("svg"), h_math = H("math"), h_style = H("style");
	uint64_t voids[20];
	size_t nv = 0;
	static const char *const void_names[] = {"area", "base", "br", "col", "embed", "hr",
		"img", "input", "link", "meta", "param", "source", "track", "wbr", "keygen",
		"basefont", "bgsound", "frame", "image"};
	for (size_t k = 0; k < sizeof(void_names) / sizeof(void_names[0]); k++)
		voids[nv++] = lc_hash(void_names[k], strlen(void_names[k]));
	/* Elements that close an open one of their own kind. */
	const uint64_t self_closing_group[] = {H("p"), H("li"), H("dt"), H("dd"), H("option"),
		H("tr"), H("td"), H("th")};

	*out = NULL;
	*dropped = false;
	guard g = {0};
	g.stack = malloc(sizeof(*g.stack) * (VIGIL_MAX_HTML_DEPTH + 1));
	if (!g.stack)
		return VIGIL_ENOMEM;
	char *o = NULL;
	size_t ol = 0, copied = 0; /* s[0..copied) is accounted for in o */
	size_t i = 0;
	int rc = 0;
	while (i < n) {
		const char *lt = memchr(s + i, '<', n - i);
		if (!lt)
			break;
		size_t j = (size_t)(lt - s);
		if (j + 1 >= n)
			break;
		char c = s[j + 1];
		if (c == '!') {
			if (j + 4 <= n && memcmp(s + j, "<!--", 4) == 0) {
				const char *e = memmem(s + j + 4, n - j - 4, "-->", 3);
				i = e ? (size_t)(e - s) + 3 : n;
			} else {
				const char *e = memchr(s + j, '>', n - j);
				i = e ? (size_t)(e - s) + 1 : n;
			}
			continue;
		}
		bool end = c == '/';
		size_t k = j + 1 + end;
		size_t ns = k;
		if (k < n && (s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'z')
			while (k < n && tag_name_char((unsigned char)s[k]))
				k++;
		if (k == ns) {
			i = j + 1;
			continue;
		}
		uint64_t h = lc_hash(s + ns, k - ns);
		size_t gt = skip_to_gt(s, n, k);
		size_t after = gt < n ? gt + 1 : n;
		bool drop = false;
		if (end) {
			int at = -1;
			for (int d = g.depth - 1; d >= 0; d--)
				if (g.stack[d] == h) {
					at = d;
					break;
				}
			if (at >= 0) {
				for (int d = at; d < g.depth; d++)
					if (g.stack[d] == h_svg || g.stack[d] == h_math)
						g.foreign--;
				g.depth = at;
			} else if (g.dropped > 0) {
				g.dropped--;
				drop = true;
			} else if (++g.stray > GUARD_STRAY) {
				/* gumbo walks its whole stack for each end tag that
				 * matches nothing: a flood of them is dropped. */
				drop = true;
			}
		} else {
			bool self = gt < n && gt > k && s[gt - 1] == '/';
			if (name_in(h, self_closing_group, 8) && g.depth > 0 && g.stack[g.depth - 1] == h)
				g.depth--;
			bool opens = !name_in(h, voids, nv) && !(self && g.foreign > 0);
			if (opens) {
				if (g.depth >= VIGIL_MAX_HTML_DEPTH && h != h_a) {
					drop = true;
					g.dropped++;
				} else if (g.depth < VIGIL_MAX_HTML_DEPTH) {
					g.stack[g.depth++] = h;
					if (h == h_svg || h == h_math)
						g.foreign++;
				}
			}
			size_t cut_end = h == h_style && !drop && gt < n ? style_cut_end(s, n, after) : 0;
			if (cut_end) {
				/* The start tag is kept, the mark replaces the sheet,
				 * the end tag is read next. */
				if ((rc = copy_upto(&o, &ol, s, n, &copied, after)) ||
					(rc = cut_push(cuts, ol, s + after, cut_end - after)))
					break;
				memcpy(o + ol, STYLE_MARK, sizeof(STYLE_MARK) - 1);
				ol += sizeof(STYLE_MARK) - 1;
				copied = after = cut_end;
			}
			for (size_t r = 0; r < N_RAW && !drop && !cut_end; r++)
				if (h == raw_hash[r]) {
					/* Raw text: no tags inside; plaintext never ends. */
					after = r == N_RAW - 1 ? n
							       : find_end_tag(s, n, after, raw_text[r],
									 strlen(raw_text[r]));
					break;
				}
		}
		if (drop) {
			*dropped = true;
			if ((rc = copy_upto(&o, &ol, s, n, &copied, j)))
				break;
			copied = after;
		}
		/* Whitespace between this tag and the next, past its first
		 * character: gumbo would read it one character token at a time
		 * (a twelfth of the HTML of real mail is indentation), and it
		 * changes nothing it builds that this file reads (the kind of a
		 * character, whitespace or not, is kept; link text collapses runs). */
		if (after == gt + 1 && after < n) {
			size_t next = after;
			while (next < n && (s[next] == ' ' || s[next] == '\n' || s[next] == '\t' ||
				s[next] == '\r'))
				next++;
			if (next - after >= 2 && next < n && s[next] == '<') {
				if ((rc = copy_upto(&o, &ol, s, n, &copied, after + 1)))
					break;
				copied = after = next;
			}
		}
		i = after;
	}
	if (o && !rc) {
		memcpy(o + ol, s + copied, n - copied);
		ol += n - copied;
		*out = o;
		*out_len = ol;
	} else {
		free(o);
	}
	free(g.stack);
	return rc;
}

/* ---- entry point ----------------------------------------------------- */

static void *gumbo_alloc(void *scratch, size_t size)
{
	return vigil_scratch_alloc(scratch, size);
}

static void gumbo_dealloc(void *scratch, void *p)
{
	vigil_scratch_release(scratch, p);
}

static size_t utf8_floor(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* depth_guard() on the HTML about to be parsed: when it made a copy,
 * *html, *len point to it in *guarded (the caller frees it and cuts->v
 * after the parse); when it dropped tags, the message is marked partial. */
static int guard_html(vigil_message *msg, const char **html, size_t *len, char **guarded,
	style_cuts *cuts)
{
	size_t glen = 0;
	bool dropped = false;
	int rc = depth_guard(*html, *len, guarded, &glen, &dropped, cuts);
	if (!rc && dropped)
		rc = message__partial(msg,
			"HTML nested deeper than %d elements or flooded with stray end "
			"tags: tags dropped before parsing",
			VIGIL_MAX_HTML_DEPTH);
	if (rc || !*guarded) {
		free(*guarded);
		*guarded = NULL;
		cuts_free(cuts);
		return rc;
	}
	*html = *guarded;
	*len = glen;
	return 0;
}

/* The inside of a conditional comment, parsed as a document of its own
 * and walked under its place's hiding, with the outer document's <style>
 * rules and base. gumbo allocates with malloc here: the scanner's scratch
 * holds the outer tree, which is still being walked. */
static int walk_conditional(walk *w, const char *html, size_t len, unsigned hidden)
{
	char *guarded = NULL;
	style_cuts cuts = {0};
	int rc = guard_html(w->msg, &html, &len, &guarded, &cuts);
	if (rc)
		return rc;
	GumboOptions opts = kGumboDefaultOptions;
	opts.max_errors = 0;
	GumboOutput *out = gumbo_parse_with_options(&opts, html, len);
	if (!out) {
		free(guarded);
		cuts_free(&cuts);
		return VIGIL_ENOMEM;
	}
	walk sub = *w;
	sub.in_conditional = true;
	sub.cuts = &cuts;
	rc = walk_tree(&sub, out->document, hidden);
	gumbo_destroy_output(&opts, out);
	free(guarded);
	cuts_free(&cuts);
	return rc;
}

int html__extract(vigil_message *msg, vigil_scanner *sc, const char *html, size_t len,
	int part, int nested)
{
	int rc;
	if (len > VIGIL_MAX_HTML_BYTES) {
		if ((rc = message__partial(msg, "HTML body larger than %u bytes cut",
			     VIGIL_MAX_HTML_BYTES)))
			return rc;
		len = utf8_floor(html, VIGIL_MAX_HTML_BYTES);
	}
	char *guarded = NULL;
	style_cuts cuts = {0};
	if ((rc = guard_html(msg, &html, &len, &guarded, &cuts)))
		return rc;

	GumboOptions opts = kGumboDefaultOptions;
	opts.max_errors = 0; /* we never read parse errors: don't keep them */
	/* gumbo mallocs and frees every token, string buffer and node on its
	 * own (a third of its time went to malloc/free): it gets the scanner's
	 * scratch instead, where a free is a no-op and the whole tree goes at
	 * once with the reset below. */
	vigil_scratch *scratch = sc ? sc->html_scratch : NULL;
	if (scratch) {
		opts.allocator = gumbo_alloc;
		opts.deallocator = gumbo_dealloc;
		opts.userdata = scratch;
	}
	GumboOutput *out = gumbo_parse_with_options(&opts, html, len);
	if (!out) {
		if (scratch)
			vigil_scratch_reset(scratch);
		free(guarded);
		cuts_free(&cuts);
		return VIGIL_ENOMEM;
	}
	walk w = {.msg = msg, .sc = sc, .part = part, .nested = nested, .cuts = &cuts};
	rc = prepass(&w, out->document);
	if (!rc)
		rc = walk_tree(&w, out->document, 0);
	free(w.rules.slots);
	/* gumbo's strings are copied into the arena as URLs are added, so the
	 * tree (and the input it points into) can go now. When every piece of
	 * it lives in the scratch, the reset frees it without gumbo walking the
	 * tree to free node by node. */
	if (!scratch || !vigil_scratch_all_in_blocks(scratch))
		gumbo_destroy_output(&opts, out);
	if (scratch)
		vigil_scratch_reset(scratch);
	free(guarded);
	cuts_free(&cuts);
	return rc;
}
