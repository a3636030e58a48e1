/*
 * The JSON Lines sink: one object per message, in the schema of
 * docs/schema.md (its first field is the schema version). Keys whose value is
 * unknown are written as null rather than left out, so consumers see one
 * shape. The text is written straight into one buffer, byte for byte what
 * jansson's json_dumps(JSON_COMPACT) wrote before: building a jansson tree
 * per message and serialising it cost a fifth of a scan.
 */
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"

void report__iso_time(int64_t t, char *buf, size_t size)
{
	buf[0] = '\0';
	if (t == VIGIL_NO_TIME)
		return;
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm))
		strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *report__hidden_name(unsigned bit)
{
	switch (bit) {
	case VIGIL_HIDDEN_DISPLAY: return "display:none";
	case VIGIL_HIDDEN_VISIBILITY: return "visibility:hidden";
	case VIGIL_HIDDEN_OPACITY: return "opacity:0";
	case VIGIL_HIDDEN_ATTR: return "hidden-attribute";
	case VIGIL_HIDDEN_ZERO_SIZE: return "zero-size";
	case VIGIL_HIDDEN_CLIPPED: return "clipped";
	case VIGIL_HIDDEN_OFFSCREEN: return "off-screen";
	case VIGIL_HIDDEN_ANCESTOR: return "ancestor";
	}
	return "unknown";
}

/* ---- the output buffer ------------------------------------------------ */

/* One record. It starts in a caller's (stack) buffer and moves to the heap
 * when a message's record outgrows it; `oom` sticks once an allocation
 * failed, so emitters need not check each append. Its size is bounded by the
 * model's own limits (URLs, addresses, findings...). */
typedef struct jbuf {
	char *p;
	size_t len, cap;
	bool heap, oom;
} jbuf;

/* Makes room for n more bytes; false when out of memory. */
static bool jb_reserve(jbuf *b, size_t n)
{
	if (b->oom)
		return false;
	if (b->cap - b->len >= n)
		return true;
	size_t cap = b->cap * 2;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = b->heap ? realloc(b->p, cap) : malloc(cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	if (!b->heap)
		memcpy(p, b->p, b->len);
	b->p = p;
	b->cap = cap;
	b->heap = true;
	return true;
}

static void put(jbuf *b, const char *s, size_t n)
{
	if (jb_reserve(b, n)) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}

static void putc_(jbuf *b, char c)
{
	if (jb_reserve(b, 1))
		b->p[b->len++] = c;
}

/* A literal: its length is known at compile time. */
#define PUT_LIT(b, lit) put((b), (lit), sizeof(lit) - 1)

static void put_int(jbuf *b, long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	put(b, tmp, (size_t)n);
}

/* Writes valid UTF-8 s[0..n) as a JSON string, escaped as jansson escapes:
 * '"', '\\' and control characters below 0x20 (short forms where JSON has
 * them, else \u00XX in upper-case hex); everything else, non-ASCII too, as
 * is. */
static void put_escaped(jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	putc_(b, '"');
	size_t run = 0; /* start of the bytes not yet copied */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(b, s + run, i - run);
		run = i + 1;
		char esc[6] = {'\\', 0, '0', '0', 0, 0};
		size_t en = 2;
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			en = 6;
		}
		put(b, esc, en);
	}
	put(b, s + run, n - run);
	putc_(b, '"');
}

/* Is s[0..n) valid UTF-8? ASCII (nearly everything) is checked here; only
 * strings with a byte >= 0x80 go to glib. */
static bool valid_utf8(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return g_utf8_validate_len(s + i, n - i, NULL);
	return true;
}

/* A string of the model, or null. The model is UTF-8 by construction, but a
 * string that slipped through is repaired (U+FFFD) rather than lose the
 * whole message, as before. */
static void put_str(jbuf *b, const char *s)
{
	if (!s) {
		PUT_LIT(b, "null");
		return;
	}
	size_t n = strlen(s);
	if (valid_utf8(s, n)) {
		put_escaped(b, s, n);
		return;
	}
	char *valid = g_utf8_make_valid(s, (gssize)n);
	if (valid)
		put_escaped(b, valid, strlen(valid));
	else
		PUT_LIT(b, "null");
	g_free(valid);
}

/* `,"key":` for a key that is a literal (ASCII, nothing to escape). */
#define KEY(b, lit) PUT_LIT((b), ",\"" lit "\":")
/* `{"key":`: opens an object with its first key. */
#define OPEN(b, lit) PUT_LIT((b), "{\"" lit "\":")

static void put_bool(jbuf *b, bool v)
{
	if (v)
		PUT_LIT(b, "true");
	else
		PUT_LIT(b, "false");
}

static void put_int_or_null(jbuf *b, bool known, long long v)
{
	if (known)
		put_int(b, v);
	else
		PUT_LIT(b, "null");
}

/* ---- the record ------------------------------------------------------- */

static void put_time(jbuf *b, int64_t t)
{
	char buf[32];
	report__iso_time(t, buf, sizeof(buf));
	if (buf[0])
		put_escaped(b, buf, strlen(buf));
	else
		PUT_LIT(b, "null");
}

static void mailbox(jbuf *b, const vigil_mailbox *mb)
{
	if (!mb->address && !mb->name) {
		PUT_LIT(b, "null");
		return;
	}
	OPEN(b, "name");
	put_str(b, mb->name);
	KEY(b, "address");
	put_str(b, mb->address);
	KEY(b, "domain");
	put_str(b, mb->domain);
	if (mb->nested) {
		KEY(b, "nested");
		put_int(b, mb->nested);
	}
	putc_(b, '}');
}

static void mailboxes(jbuf *b, const vigil_mailbox_vec *v)
{
	putc_(b, '[');
	for (size_t i = 0; i < v->len; i++) {
		if (i)
			putc_(b, ',');
		mailbox(b, &v->items[i]);
	}
	putc_(b, ']');
}

/* Appends the recipients of one field to an open array; *first tracks
 * whether a comma is needed. */
static void add_recipients(jbuf *b, bool *first, const vigil_mailbox_vec *v, const char *field)
{
	for (size_t i = 0; i < v->len; i++) {
		const vigil_mailbox *mb = &v->items[i];
		if (!*first)
			putc_(b, ',');
		*first = false;
		OPEN(b, "address");
		put_str(b, mb->address);
		KEY(b, "name");
		put_str(b, mb->name);
		KEY(b, "domain");
		put_str(b, mb->domain);
		KEY(b, "field");
		put_str(b, field);
		putc_(b, '}');
	}
}

static void received(jbuf *b, const vigil_received *r)
{
	OPEN(b, "raw");
	put_str(b, r->raw);
	KEY(b, "from_host");
	put_str(b, r->from_host);
	KEY(b, "helo");
	put_str(b, r->helo);
	KEY(b, "rdns");
	put_str(b, r->rdns);
	KEY(b, "ip");
	put_str(b, r->ip);
	KEY(b, "by_host");
	put_str(b, r->by_host);
	KEY(b, "with");
	put_str(b, r->with);
	KEY(b, "id");
	put_str(b, r->id);
	KEY(b, "for");
	put_str(b, r->for_addr);
	KEY(b, "time");
	put_time(b, r->time);
	if (r->nested) {
		KEY(b, "nested");
		put_int(b, r->nested);
	}
	putc_(b, '}');
}

static const char *auth_prop(const vigil_auth_result *r, const char *name)
{
	for (size_t i = 0; i < r->n_props; i++)
		if (strcmp(r->props[i].name, name) == 0)
			return r->props[i].value;
	return NULL;
}

/* The summary of one method: the result written by the topmost (our own,
 * nearest) Authentication-Results field; among several results of that field
 * (several DKIM signatures), a pass wins. */
static const vigil_auth_result *auth_pick(const vigil_message *m, const char *method)
{
	const vigil_auth_result *best = NULL;
	for (size_t i = 0; i < m->auth.len; i++) {
		const vigil_auth_result *r = &m->auth.items[i];
		if (r->nested || !r->method || strcmp(r->method, method) != 0)
			continue;
		if (!best || r->header_index < best->header_index)
			best = r;
		else if (r->header_index == best->header_index && r->result &&
			strcmp(r->result, "pass") == 0 && (!best->result || strcmp(best->result, "pass") != 0))
			best = r;
	}
	return best;
}

/* The properties of one result as a JSON object. Written as a JSON object
 * (a map) always was: a name given twice appears once, where it first
 * appeared, with the value given last; a name that is not UTF-8 is left
 * out (a key must be valid). */
static void auth_props(jbuf *b, const vigil_auth_result *r)
{
	putc_(b, '{');
	bool first = true;
	for (size_t k = 0; k < r->n_props; k++) {
		const char *name = r->props[k].name;
		if (!valid_utf8(name, strlen(name)))
			continue;
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++)
			seen = strcmp(r->props[j].name, name) == 0;
		if (seen)
			continue;
		const char *value = r->props[k].value;
		for (size_t j = k + 1; j < r->n_props; j++)
			if (strcmp(r->props[j].name, name) == 0)
				value = r->props[j].value;
		if (!first)
			putc_(b, ',');
		first = false;
		put_escaped(b, name, strlen(name));
		putc_(b, ':');
		put_str(b, value);
	}
	putc_(b, '}');
}

static void auth(jbuf *b, const vigil_message *m)
{
	static const char *methods[] = {"spf", "dkim", "dmarc", "arc"};
	putc_(b, '{');
	for (size_t i = 0; i < sizeof(methods) / sizeof(*methods); i++) {
		const vigil_auth_result *r = auth_pick(m, methods[i]);
		if (i)
			putc_(b, ',');
		put_escaped(b, methods[i], strlen(methods[i]));
		putc_(b, ':');
		put_str(b, r ? r->result : NULL);
		if (strcmp(methods[i], "dkim") == 0) {
			KEY(b, "dkim_domain");
			put_str(b, r ? auth_prop(r, "header.d") : NULL);
		}
	}
	KEY(b, "results");
	putc_(b, '[');
	for (size_t i = 0; i < m->auth.len; i++) {
		const vigil_auth_result *r = &m->auth.items[i];
		if (i)
			putc_(b, ',');
		OPEN(b, "authserv_id");
		put_str(b, r->authserv_id);
		KEY(b, "header");
		put_int(b, r->header_index);
		KEY(b, "method");
		put_str(b, r->method);
		KEY(b, "result");
		put_str(b, r->result);
		KEY(b, "reason");
		put_str(b, r->reason);
		KEY(b, "properties");
		auth_props(b, r);
		if (r->nested) {
			KEY(b, "nested");
			put_int(b, r->nested);
		}
		putc_(b, '}');
	}
	PUT_LIT(b, "]}");
}

static const char *origin_name(vigil_url_origin o)
{
	switch (o) {
	case VIGIL_URL_HTML: return "html";
	case VIGIL_URL_TEXT: return "text";
	case VIGIL_URL_HEADER: return "header";
	}
	return "unknown";
}

static void url(jbuf *b, const vigil_url *u)
{
	OPEN(b, "url");
	put_str(b, u->url ? u->url : u->raw);
	KEY(b, "raw");
	put_str(b, u->raw);
	KEY(b, "scheme");
	put_str(b, u->scheme);
	KEY(b, "host");
	put_str(b, u->host);
	KEY(b, "host_unicode");
	put_str(b, u->host_unicode);
	KEY(b, "domain");
	put_str(b, u->domain);
	KEY(b, "path");
	put_str(b, u->path);
	KEY(b, "query");
	put_str(b, u->query);
	KEY(b, "origin");
	put_str(b, origin_name(u->origin));
	KEY(b, "element");
	put_str(b, u->element);
	KEY(b, "attribute");
	put_str(b, u->attribute);
	KEY(b, "hidden");
	put_bool(b, u->hidden != 0);
	KEY(b, "hidden_by");
	putc_(b, '[');
	bool first = true;
	for (unsigned bit = 1; bit <= VIGIL_HIDDEN_ANCESTOR; bit <<= 1)
		if (u->hidden & bit) {
			if (!first)
				putc_(b, ',');
			first = false;
			put_str(b, report__hidden_name(bit));
		}
	putc_(b, ']');
	KEY(b, "width");
	put_int_or_null(b, u->width >= 0, u->width);
	KEY(b, "height");
	put_int_or_null(b, u->height >= 0, u->height);
	KEY(b, "text");
	put_str(b, u->link_text);
	KEY(b, "text_host");
	put_str(b, u->text_host);
	KEY(b, "part");
	put_int(b, u->part);
	KEY(b, "nested");
	put_int(b, u->nested);
	putc_(b, '}');
}

static void attachment(jbuf *b, const vigil_attachment *at)
{
	OPEN(b, "filename");
	put_str(b, at->filename);
	KEY(b, "declared_type");
	put_str(b, at->declared_type);
	KEY(b, "sniffed_type");
	put_str(b, at->sniffed_type);
	KEY(b, "disposition");
	put_str(b, at->disposition);
	KEY(b, "size");
	put_int(b, (long long)at->size);
	KEY(b, "md5");
	put_str(b, at->md5);
	KEY(b, "sha1");
	put_str(b, at->sha1);
	KEY(b, "sha256");
	put_str(b, at->sha256);
	KEY(b, "part");
	put_int(b, at->part);
	KEY(b, "nested");
	put_int(b, at->nested);
	putc_(b, '}');
}

static const char *class_name(vigil_finding_class c)
{
	switch (c) {
	case VIGIL_CLASS_TRACKING: return "tracking";
	case VIGIL_CLASS_TOKEN: return "token";
	case VIGIL_CLASS_DECEPTION: return "deception";
	case VIGIL_CLASS_MALICIOUS: return "malicious";
	case VIGIL_CLASS_INFO: return "info";
	}
	return "unknown";
}

static void finding(jbuf *b, const vigil_finding *f)
{
	OPEN(b, "detector");
	put_str(b, f->detector);
	KEY(b, "id");
	put_str(b, f->id);
	KEY(b, "class");
	put_str(b, class_name(f->cls));
	KEY(b, "score");
	put_int(b, f->score);
	KEY(b, "reason");
	put_str(b, f->reason);
	KEY(b, "evidence");
	OPEN(b, "artifact");
	put_str(b, f->artifact);
	KEY(b, "value");
	put_str(b, f->value);
	PUT_LIT(b, "}}");
}

static void message(jbuf *b, const vigil_message *m)
{
	OPEN(b, "version");
	put_int(b, VIGIL_SCHEMA_VERSION);
	KEY(b, "message_id");
	put_str(b, m->message_id);
	KEY(b, "verdict");
	put_str(b, vigil_verdict_name(m->verdict));
	KEY(b, "score");
	put_int(b, m->score);
	KEY(b, "findings");
	putc_(b, '[');
	for (size_t i = 0; i < m->findings.len; i++) {
		if (i)
			putc_(b, ',');
		finding(b, &m->findings.items[i]);
	}
	putc_(b, ']');

	KEY(b, "source");
	OPEN(b, "path");
	put_str(b, m->path);
	KEY(b, "offset");
	put_int_or_null(b, m->offset >= 0, m->offset);
	KEY(b, "size");
	put_int(b, (long long)m->size);
	putc_(b, '}');

	KEY(b, "partial");
	put_bool(b, m->partial);
	KEY(b, "partial_reasons");
	putc_(b, '[');
	for (size_t i = 0; i < m->partial_reasons.len; i++) {
		if (i)
			putc_(b, ',');
		put_str(b, m->partial_reasons.items[i]);
	}
	putc_(b, ']');

	KEY(b, "from");
	mailbox(b, &m->from);
	KEY(b, "from_count");
	put_int(b, m->from_count);
	KEY(b, "sender");
	mailbox(b, &m->sender);
	KEY(b, "reply_to");
	mailboxes(b, &m->reply_to);
	KEY(b, "return_path");
	mailbox(b, &m->return_path);
	KEY(b, "recipients");
	putc_(b, '[');
	bool first = true;
	add_recipients(b, &first, &m->to, "to");
	add_recipients(b, &first, &m->cc, "cc");
	add_recipients(b, &first, &m->bcc, "bcc");
	add_recipients(b, &first, &m->delivered_to, "delivered-to");
	putc_(b, ']');
	KEY(b, "subject");
	put_str(b, m->subject);
	KEY(b, "date");
	put_time(b, m->date_time);
	KEY(b, "date_raw");
	put_str(b, m->date);
	KEY(b, "message_id_domain");
	put_str(b, m->message_id_domain);
	KEY(b, "x_mailer");
	put_str(b, m->x_mailer);
	KEY(b, "user_agent");
	put_str(b, m->user_agent);

	KEY(b, "received");
	putc_(b, '[');
	for (size_t i = 0; i < m->received.len; i++) {
		if (i)
			putc_(b, ',');
		received(b, &m->received.items[i]);
	}
	putc_(b, ']');
	KEY(b, "auth");
	auth(b, m);

	KEY(b, "urls");
	putc_(b, '[');
	for (size_t i = 0; i < m->urls.len; i++) {
		if (i)
			putc_(b, ',');
		url(b, &m->urls.items[i]);
	}
	putc_(b, ']');

	KEY(b, "attachments");
	putc_(b, '[');
	for (size_t i = 0; i < m->attachments.len; i++) {
		if (i)
			putc_(b, ',');
		attachment(b, &m->attachments.items[i]);
	}
	putc_(b, ']');

	KEY(b, "nested_messages");
	putc_(b, '[');
	for (size_t i = 0; i < m->nested.len; i++) {
		const vigil_nested_message *nm = &m->nested.items[i];
		if (i)
			putc_(b, ',');
		OPEN(b, "depth");
		put_int(b, nm->depth);
		KEY(b, "part");
		put_int(b, nm->part);
		KEY(b, "from");
		mailbox(b, &nm->from);
		KEY(b, "subject");
		put_str(b, nm->subject);
		KEY(b, "message_id");
		put_str(b, nm->message_id);
		KEY(b, "date_raw");
		put_str(b, nm->date);
		putc_(b, '}');
	}
	putc_(b, ']');

	KEY(b, "bodies");
	putc_(b, '[');
	for (size_t i = 0; i < m->bodies.len; i++) {
		const vigil_body *bd = &m->bodies.items[i];
		if (i)
			putc_(b, ',');
		OPEN(b, "type");
		put_str(b, bd->content_type);
		KEY(b, "charset");
		put_str(b, bd->charset);
		KEY(b, "length");
		put_int(b, (long long)bd->len);
		KEY(b, "part");
		put_int(b, bd->part);
		KEY(b, "nested");
		put_int(b, bd->nested);
		putc_(b, '}');
	}
	putc_(b, ']');
	KEY(b, "parts");
	put_int(b, m->n_parts);
	putc_(b, '}');
}

int report__jsonl(const vigil_message *msg, FILE *fp)
{
	/* Most records (~8 KB) fit on the stack: no allocation at all. */
	char stack[16384];
	jbuf b = {.p = stack, .cap = sizeof(stack)};
	message(&b, msg);
	putc_(&b, '\n');
	int rc = 0;
	if (b.oom)
		rc = VIGIL_ENOMEM;
	else if (fwrite(b.p, 1, b.len, fp) != b.len) /* one write per record */
		rc = VIGIL_EIO;
	if (b.heap)
		free(b.p);
	return rc;
}

int vigil_message_write(const vigil_message *msg, vigil_format fmt, FILE *fp)
{
	switch (fmt) {
	case VIGIL_FORMAT_JSONL: return report__jsonl(msg, fp);
	case VIGIL_FORMAT_TEXT: return report__text(msg, fp);
	}
	return VIGIL_EINVAL;
}
