/*
 * The JSON Lines sink: one object per message, written with jansson, in the
 * schema of docs/schema.md (its first field is the schema version). Keys
 * whose value is unknown are written as null rather than left out, so
 * consumers see one shape.
 */
#include <glib.h>
#include <jansson.h>
#include <stdint.h>
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

/* Keys here are ASCII literals: jansson need not check them again. */
static inline void set(json_t *o, const char *key, json_t *value)
{
	json_object_set_new_nocheck(o, key, value);
}

/* Whether the len bytes at s are all ASCII, a word at a time. Nearly every
 * string of the model is (URLs, hosts, addresses), and an ASCII string
 * without NUL is valid UTF-8: json_string() decodes it again character by
 * character, about 15 instructions a byte, where this takes under one. */
static bool is_ascii(const char *s, size_t len)
{
	uint64_t acc = 0;
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, sizeof(w));
		acc |= w;
	}
	for (; i < len; i++)
		acc |= (unsigned char)s[i];
	return (acc & 0x8080808080808080ull) == 0;
}

/* As json_string(): NULL for NULL or for invalid UTF-8. */
static json_t *string(const char *s)
{
	if (!s)
		return NULL;
	size_t len = strlen(s);
	return is_ascii(s, len) ? json_stringn_nocheck(s, len) : json_stringn(s, len);
}

/* Our own literals ("html", "to", verdict and class names). */
static inline json_t *lit(const char *s)
{
	return json_string_nocheck(s);
}

/* jansson refuses invalid UTF-8; the model is UTF-8 by construction, but a
 * string that slipped through must not lose the whole message. */
static json_t *str(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = string(s);
	if (j)
		return j;
	char *valid = g_utf8_make_valid(s, -1);
	j = json_string(valid);
	g_free(valid);
	return j ? j : json_null();
}

/* set() with a key that comes from the message (an Authentication-Results
 * property name): jansson writes keys as given, so one that is not UTF-8
 * would make the line invalid JSON. Such a key is repaired as str() repairs
 * values. */
static void set_data_key(json_t *o, const char *key, json_t *value)
{
	if (is_ascii(key, strlen(key)) || g_utf8_validate(key, -1, NULL)) {
		set(o, key, value);
		return;
	}
	char *valid = g_utf8_make_valid(key, -1);
	set(o, valid, value);
	g_free(valid);
}

static json_t *time_or_null(int64_t t)
{
	char buf[32];
	report__iso_time(t, buf, sizeof(buf));
	return buf[0] ? lit(buf) : json_null();
}

static json_t *mailbox(const vigil_mailbox *mb)
{
	if (!mb->address && !mb->name)
		return json_null();
	json_t *o = json_object();
	set(o, "name", str(mb->name));
	set(o, "address", str(mb->address));
	set(o, "domain", str(mb->domain));
	if (mb->nested)
		set(o, "nested", json_integer(mb->nested));
	return o;
}

static json_t *mailboxes(const vigil_mailbox_vec *v)
{
	json_t *a = json_array();
	for (size_t i = 0; i < v->len; i++)
		json_array_append_new(a, mailbox(&v->items[i]));
	return a;
}

static void add_recipients(json_t *arr, const vigil_mailbox_vec *v, const char *field)
{
	for (size_t i = 0; i < v->len; i++) {
		const vigil_mailbox *mb = &v->items[i];
		json_t *o = json_object();
		set(o, "address", str(mb->address));
		set(o, "name", str(mb->name));
		set(o, "domain", str(mb->domain));
		set(o, "field", lit(field));
		json_array_append_new(arr, o);
	}
}

static json_t *received(const vigil_received *r)
{
	json_t *o = json_object();
	set(o, "raw", str(r->raw));
	set(o, "from_host", str(r->from_host));
	set(o, "helo", str(r->helo));
	set(o, "rdns", str(r->rdns));
	set(o, "ip", str(r->ip));
	set(o, "by_host", str(r->by_host));
	set(o, "with", str(r->with));
	set(o, "id", str(r->id));
	set(o, "for", str(r->for_addr));
	set(o, "time", time_or_null(r->time));
	if (r->nested)
		set(o, "nested", json_integer(r->nested));
	return o;
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

static json_t *auth(const vigil_message *m)
{
	json_t *o = json_object();
	static const char *methods[] = {"spf", "dkim", "dmarc", "arc"};
	for (size_t i = 0; i < sizeof(methods) / sizeof(*methods); i++) {
		const vigil_auth_result *r = auth_pick(m, methods[i]);
		set(o, methods[i], str(r ? r->result : NULL));
		if (strcmp(methods[i], "dkim") == 0)
			set(o, "dkim_domain", str(r ? auth_prop(r, "header.d") : NULL));
	}
	json_t *all = json_array();
	for (size_t i = 0; i < m->auth.len; i++) {
		const vigil_auth_result *r = &m->auth.items[i];
		json_t *e = json_object();
		set(e, "authserv_id", str(r->authserv_id));
		set(e, "header", json_integer(r->header_index));
		set(e, "method", str(r->method));
		set(e, "result", str(r->result));
		set(e, "reason", str(r->reason));
		json_t *props = json_object();
		for (size_t k = 0; k < r->n_props; k++)
			set_data_key(props, r->props[k].name, str(r->props[k].value));
		set(e, "properties", props);
		if (r->nested)
			set(e, "nested", json_integer(r->nested));
		json_array_append_new(all, e);
	}
	set(o, "results", all);
	return o;
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

static json_t *url(const vigil_url *u)
{
	json_t *o = json_object();
	set(o, "url", str(u->url ? u->url : u->raw));
	set(o, "raw", str(u->raw));
	set(o, "scheme", str(u->scheme));
	set(o, "host", str(u->host));
	set(o, "host_unicode", str(u->host_unicode));
	set(o, "domain", str(u->domain));
	set(o, "path", str(u->path));
	set(o, "query", str(u->query));
	set(o, "origin", lit(origin_name(u->origin)));
	set(o, "element", str(u->element));
	set(o, "attribute", str(u->attribute));
	set(o, "hidden", json_boolean(u->hidden != 0));
	json_t *why = json_array();
	for (unsigned bit = 1; bit <= VIGIL_HIDDEN_ANCESTOR; bit <<= 1)
		if (u->hidden & bit)
			json_array_append_new(why, lit(report__hidden_name(bit)));
	set(o, "hidden_by", why);
	set(o, "width", u->width >= 0 ? json_integer(u->width) : json_null());
	set(o, "height", u->height >= 0 ? json_integer(u->height) : json_null());
	set(o, "text", str(u->link_text));
	set(o, "text_host", str(u->text_host));
	set(o, "part", json_integer(u->part));
	set(o, "nested", json_integer(u->nested));
	return o;
}

static json_t *attachment(const vigil_attachment *at)
{
	json_t *o = json_object();
	set(o, "filename", str(at->filename));
	set(o, "declared_type", str(at->declared_type));
	set(o, "sniffed_type", str(at->sniffed_type));
	set(o, "disposition", str(at->disposition));
	set(o, "size", json_integer((json_int_t)at->size));
	set(o, "md5", string(at->md5));
	set(o, "sha1", string(at->sha1));
	set(o, "sha256", string(at->sha256));
	set(o, "part", json_integer(at->part));
	set(o, "nested", json_integer(at->nested));
	return o;
}

const char *report__class_name(vigil_finding_class c)
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

static json_t *finding(const vigil_finding *f)
{
	json_t *o = json_object();
	set(o, "detector", str(f->detector));
	set(o, "id", str(f->id));
	set(o, "class", lit(report__class_name(f->cls)));
	set(o, "score", json_integer(f->score));
	set(o, "reason", str(f->reason));
	json_t *ev = json_object();
	set(ev, "artifact", str(f->artifact));
	set(ev, "value", str(f->value));
	set(o, "evidence", ev);
	if (f->ioc_type) {
		json_t *ioc = json_object();
		set(ioc, "type", str(f->ioc_type));
		set(ioc, "value", str(f->ioc_value));
		set(ioc, "source", str(f->ioc_source));
		set(o, "indicator", ioc);
	}
	return o;
}

static json_t *message(const vigil_message *m)
{
	json_t *o = json_object();
	set(o, "version", json_integer(VIGIL_SCHEMA_VERSION));
	set(o, "message_id", str(m->message_id));
	set(o, "verdict", lit(vigil_verdict_name(m->verdict)));
	set(o, "score", json_integer(m->score));
	json_t *findings = json_array();
	for (size_t i = 0; i < m->findings.len; i++)
		json_array_append_new(findings, finding(&m->findings.items[i]));
	set(o, "findings", findings);

	json_t *src = json_object();
	set(src, "path", str(m->path));
	set(src, "offset", m->offset >= 0 ? json_integer(m->offset) : json_null());
	set(src, "size", json_integer((json_int_t)m->size));
	set(src, "sha256", string(m->sha256));
	set(o, "source", src);

	set(o, "partial", json_boolean(m->partial));
	json_t *reasons = json_array();
	for (size_t i = 0; i < m->partial_reasons.len; i++)
		json_array_append_new(reasons, str(m->partial_reasons.items[i]));
	set(o, "partial_reasons", reasons);

	set(o, "from", mailbox(&m->from));
	set(o, "from_count", json_integer(m->from_count));
	set(o, "sender", mailbox(&m->sender));
	set(o, "reply_to", mailboxes(&m->reply_to));
	set(o, "return_path", mailbox(&m->return_path));
	json_t *rcpt = json_array();
	add_recipients(rcpt, &m->to, "to");
	add_recipients(rcpt, &m->cc, "cc");
	add_recipients(rcpt, &m->bcc, "bcc");
	add_recipients(rcpt, &m->delivered_to, "delivered-to");
	set(o, "recipients", rcpt);
	set(o, "subject", str(m->subject));
	set(o, "date", time_or_null(m->date_time));
	set(o, "date_raw", str(m->date));
	set(o, "message_id_domain", str(m->message_id_domain));
	set(o, "x_mailer", str(m->x_mailer));
	set(o, "user_agent", str(m->user_agent));

	json_t *route = json_array();
	for (size_t i = 0; i < m->received.len; i++)
		json_array_append_new(route, received(&m->received.items[i]));
	set(o, "received", route);
	set(o, "auth", auth(m));

	json_t *urls = json_array();
	for (size_t i = 0; i < m->urls.len; i++)
		json_array_append_new(urls, url(&m->urls.items[i]));
	set(o, "urls", urls);

	json_t *atts = json_array();
	for (size_t i = 0; i < m->attachments.len; i++)
		json_array_append_new(atts, attachment(&m->attachments.items[i]));
	set(o, "attachments", atts);

	json_t *nested = json_array();
	for (size_t i = 0; i < m->nested.len; i++) {
		const vigil_nested_message *nm = &m->nested.items[i];
		json_t *n = json_object();
		set(n, "depth", json_integer(nm->depth));
		set(n, "part", json_integer(nm->part));
		set(n, "from", mailbox(&nm->from));
		set(n, "subject", str(nm->subject));
		set(n, "message_id", str(nm->message_id));
		set(n, "date_raw", str(nm->date));
		json_array_append_new(nested, n);
	}
	set(o, "nested_messages", nested);

	json_t *bodies = json_array();
	for (size_t i = 0; i < m->bodies.len; i++) {
		const vigil_body *b = &m->bodies.items[i];
		json_t *e = json_object();
		set(e, "type", string(b->content_type));
		set(e, "charset", str(b->charset));
		set(e, "length", json_integer((json_int_t)b->len));
		set(e, "part", json_integer(b->part));
		set(e, "nested", json_integer(b->nested));
		json_array_append_new(bodies, e);
	}
	set(o, "bodies", bodies);
	set(o, "parts", json_integer(m->n_parts));
	return o;
}

/* Where jansson serialises to: a buffer that grows. json_dumps() appends
 * through a more general string buffer, then copies the result once more
 * (and we measured its length again); this callback is called for every
 * token, so it is kept to a bounds check and a copy. */
typedef struct outbuf {
	char *data;
	size_t len, cap;
} outbuf;

/* Room for n more bytes. Returns 0, or -1 when out of memory. */
static int outbuf_grow(outbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	while (n > cap - b->len) {
		if (cap > SIZE_MAX / 2)
			return -1;
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int outbuf_put(const char *s, size_t n, void *data)
{
	outbuf *b = data;
	if (n > b->cap - b->len && outbuf_grow(b, n) != 0)
		return -1;
	char *d = b->data + b->len;
	b->len += n;
	/* Half the calls are one byte of punctuation: no memcpy() call. */
	if (n == 1)
		*d = *s;
	else
		memcpy(d, s, n);
	return 0;
}

/* Serialises o (consumed) compactly as one line, with its newline, into a
 * new buffer that the caller frees. Returns 0 or VIGIL_ENOMEM. */
static int dump_line(char **out, size_t *out_len, json_t *o)
{
	*out = NULL;
	*out_len = 0;
	if (!o)
		return VIGIL_ENOMEM;
	/* Most lines fit: about 8 KB a message on real mail. */
	outbuf b = {.data = malloc(16384), .cap = 16384};
	if (!b.data)
		b.cap = 0;
	int rc = json_dump_callback(o, outbuf_put, &b, JSON_COMPACT);
	json_decref(o);
	if (rc != 0 || outbuf_put("\n", 1, &b) != 0) {
		free(b.data);
		return VIGIL_ENOMEM;
	}
	*out = b.data;
	*out_len = b.len;
	return 0;
}

/* One fwrite() of the whole line: json_dumpf() writes token by token, which
 * cost more than building the object. */
static int write_line(json_t *o, FILE *fp)
{
	char *text;
	size_t len;
	int rc = dump_line(&text, &len, o);
	if (rc != 0)
		return rc;
	size_t n = fwrite(text, 1, len, fp);
	free(text);
	return n == len ? 0 : VIGIL_EIO;
}

int report__jsonl(const vigil_message *msg, FILE *fp)
{
	return write_line(message(msg), fp);
}

/* One line per hit message of a hunt: where it is, who got it, when, and
 * what matched (indicators with their feed and the artifact, rules). */
static int report__hits(const vigil_message *m, FILE *fp)
{
	/* Most messages of a hunt match nothing: they cost no JSON at all. */
	bool any = false;
	for (size_t i = 0; i < m->findings.len && !any; i++)
		any = m->findings.items[i].ioc_type || strcmp(m->findings.items[i].detector, "rules") == 0;
	if (!any)
		return 0;
	json_t *o = json_object();
	set(o, "version", json_integer(VIGIL_SCHEMA_VERSION));
	set(o, "message_id", str(m->message_id));
	json_t *src = json_object();
	set(src, "path", str(m->path));
	set(src, "offset", m->offset >= 0 ? json_integer(m->offset) : json_null());
	set(src, "sha256", string(m->sha256));
	set(o, "source", src);
	json_t *rcpt = json_array();
	add_recipients(rcpt, &m->to, "to");
	add_recipients(rcpt, &m->cc, "cc");
	add_recipients(rcpt, &m->bcc, "bcc");
	add_recipients(rcpt, &m->delivered_to, "delivered-to");
	set(o, "recipients", rcpt);
	set(o, "date", time_or_null(m->date_time));
	set(o, "from", mailbox(&m->from));
	set(o, "subject", str(m->subject));
	set(o, "verdict", lit(vigil_verdict_name(m->verdict)));
	json_t *iocs = json_array(), *rules = json_array();
	for (size_t i = 0; i < m->findings.len; i++) {
		const vigil_finding *f = &m->findings.items[i];
		if (f->ioc_type) {
			json_t *e = json_object();
			set(e, "type", str(f->ioc_type));
			set(e, "value", str(f->ioc_value));
			set(e, "source", str(f->ioc_source));
			set(e, "artifact", str(f->artifact));
			set(e, "artifact_value", str(f->value));
			json_array_append_new(iocs, e);
		} else if (strcmp(f->detector, "rules") == 0) {
			json_t *e = json_object();
			set(e, "rule", str(f->value));
			set(e, "where", str(f->artifact));
			json_array_append_new(rules, e);
		}
	}
	set(o, "indicators", iocs);
	set(o, "rules", rules);
	return write_line(o, fp);
}

int vigil_message_write(const vigil_message *msg, vigil_format fmt, FILE *fp)
{
	switch (fmt) {
	case VIGIL_FORMAT_HITS: return report__hits(msg, fp);
	case VIGIL_FORMAT_JSONL: return report__jsonl(msg, fp);
	case VIGIL_FORMAT_TEXT: return report__text(msg, fp);
	}
	return VIGIL_EINVAL;
}

int vigil_message_render(char **out, size_t *out_len, const vigil_message *msg,
	vigil_format fmt)
{
	*out = NULL;
	*out_len = 0;
	/* JSON Lines, the common case, straight into its buffer. */
	if (fmt == VIGIL_FORMAT_JSONL)
		return dump_line(out, out_len, message(msg));
	FILE *mem = open_memstream(out, out_len);
	if (!mem)
		return VIGIL_ENOMEM;
	int rc = vigil_message_write(msg, fmt, mem);
	if (fclose(mem) != 0 && rc == 0)
		rc = VIGIL_ENOMEM;
	return rc;
}
