/*
 * The JSON Lines sink: one object per message, written with jansson, in the
 * schema of docs/schema.md (its first field is the schema version). Keys
 * whose value is unknown are written as null rather than left out, so
 * consumers see one shape.
 */
#include <glib.h>
#include <jansson.h>
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

/* jansson refuses invalid UTF-8; the model is UTF-8 by construction, but a
 * string that slipped through must not lose the whole message. */
static json_t *str(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	char *valid = g_utf8_make_valid(s, -1);
	j = json_string(valid);
	g_free(valid);
	return j ? j : json_null();
}

static json_t *time_or_null(int64_t t)
{
	char buf[32];
	report__iso_time(t, buf, sizeof(buf));
	return buf[0] ? json_string(buf) : json_null();
}

static json_t *mailbox(const vigil_mailbox *mb)
{
	if (!mb->address && !mb->name)
		return json_null();
	json_t *o = json_object();
	json_object_set_new(o, "name", str(mb->name));
	json_object_set_new(o, "address", str(mb->address));
	json_object_set_new(o, "domain", str(mb->domain));
	if (mb->nested)
		json_object_set_new(o, "nested", json_integer(mb->nested));
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
		json_object_set_new(o, "address", str(mb->address));
		json_object_set_new(o, "name", str(mb->name));
		json_object_set_new(o, "domain", str(mb->domain));
		json_object_set_new(o, "field", json_string(field));
		json_array_append_new(arr, o);
	}
}

static json_t *received(const vigil_received *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "raw", str(r->raw));
	json_object_set_new(o, "from_host", str(r->from_host));
	json_object_set_new(o, "helo", str(r->helo));
	json_object_set_new(o, "rdns", str(r->rdns));
	json_object_set_new(o, "ip", str(r->ip));
	json_object_set_new(o, "by_host", str(r->by_host));
	json_object_set_new(o, "with", str(r->with));
	json_object_set_new(o, "id", str(r->id));
	json_object_set_new(o, "for", str(r->for_addr));
	json_object_set_new(o, "time", time_or_null(r->time));
	if (r->nested)
		json_object_set_new(o, "nested", json_integer(r->nested));
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
		json_object_set_new(o, methods[i], str(r ? r->result : NULL));
		if (strcmp(methods[i], "dkim") == 0)
			json_object_set_new(o, "dkim_domain", str(r ? auth_prop(r, "header.d") : NULL));
	}
	json_t *all = json_array();
	for (size_t i = 0; i < m->auth.len; i++) {
		const vigil_auth_result *r = &m->auth.items[i];
		json_t *e = json_object();
		json_object_set_new(e, "authserv_id", str(r->authserv_id));
		json_object_set_new(e, "header", json_integer(r->header_index));
		json_object_set_new(e, "method", str(r->method));
		json_object_set_new(e, "result", str(r->result));
		json_object_set_new(e, "reason", str(r->reason));
		json_t *props = json_object();
		for (size_t k = 0; k < r->n_props; k++)
			json_object_set_new(props, r->props[k].name, str(r->props[k].value));
		json_object_set_new(e, "properties", props);
		if (r->nested)
			json_object_set_new(e, "nested", json_integer(r->nested));
		json_array_append_new(all, e);
	}
	json_object_set_new(o, "results", all);
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
	json_object_set_new(o, "url", str(u->url ? u->url : u->raw));
	json_object_set_new(o, "raw", str(u->raw));
	json_object_set_new(o, "scheme", str(u->scheme));
	json_object_set_new(o, "host", str(u->host));
	json_object_set_new(o, "host_unicode", str(u->host_unicode));
	json_object_set_new(o, "domain", str(u->domain));
	json_object_set_new(o, "path", str(u->path));
	json_object_set_new(o, "query", str(u->query));
	json_object_set_new(o, "origin", json_string(origin_name(u->origin)));
	json_object_set_new(o, "element", str(u->element));
	json_object_set_new(o, "attribute", str(u->attribute));
	json_object_set_new(o, "hidden", json_boolean(u->hidden != 0));
	json_t *why = json_array();
	for (unsigned bit = 1; bit <= VIGIL_HIDDEN_ANCESTOR; bit <<= 1)
		if (u->hidden & bit)
			json_array_append_new(why, json_string(report__hidden_name(bit)));
	json_object_set_new(o, "hidden_by", why);
	json_object_set_new(o, "width", u->width >= 0 ? json_integer(u->width) : json_null());
	json_object_set_new(o, "height", u->height >= 0 ? json_integer(u->height) : json_null());
	json_object_set_new(o, "text", str(u->link_text));
	json_object_set_new(o, "text_host", str(u->text_host));
	json_object_set_new(o, "part", json_integer(u->part));
	json_object_set_new(o, "nested", json_integer(u->nested));
	return o;
}

static json_t *attachment(const vigil_attachment *at)
{
	json_t *o = json_object();
	json_object_set_new(o, "filename", str(at->filename));
	json_object_set_new(o, "declared_type", str(at->declared_type));
	json_object_set_new(o, "sniffed_type", str(at->sniffed_type));
	json_object_set_new(o, "disposition", str(at->disposition));
	json_object_set_new(o, "size", json_integer((json_int_t)at->size));
	json_object_set_new(o, "md5", json_string(at->md5));
	json_object_set_new(o, "sha1", json_string(at->sha1));
	json_object_set_new(o, "sha256", json_string(at->sha256));
	json_object_set_new(o, "part", json_integer(at->part));
	json_object_set_new(o, "nested", json_integer(at->nested));
	return o;
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

static json_t *finding(const vigil_finding *f)
{
	json_t *o = json_object();
	json_object_set_new(o, "detector", str(f->detector));
	json_object_set_new(o, "id", str(f->id));
	json_object_set_new(o, "class", json_string(class_name(f->cls)));
	json_object_set_new(o, "score", json_integer(f->score));
	json_object_set_new(o, "reason", str(f->reason));
	json_t *ev = json_object();
	json_object_set_new(ev, "artifact", str(f->artifact));
	json_object_set_new(ev, "value", str(f->value));
	json_object_set_new(o, "evidence", ev);
	return o;
}

static json_t *message(const vigil_message *m)
{
	json_t *o = json_object();
	json_object_set_new(o, "version", json_integer(VIGIL_SCHEMA_VERSION));
	json_object_set_new(o, "message_id", str(m->message_id));
	json_object_set_new(o, "verdict", json_string(vigil_verdict_name(m->verdict)));
	json_object_set_new(o, "score", json_integer(m->score));
	json_t *findings = json_array();
	for (size_t i = 0; i < m->findings.len; i++)
		json_array_append_new(findings, finding(&m->findings.items[i]));
	json_object_set_new(o, "findings", findings);

	json_t *src = json_object();
	json_object_set_new(src, "path", str(m->path));
	json_object_set_new(src, "offset", m->offset >= 0 ? json_integer(m->offset) : json_null());
	json_object_set_new(src, "size", json_integer((json_int_t)m->size));
	json_object_set_new(o, "source", src);

	json_object_set_new(o, "partial", json_boolean(m->partial));
	json_t *reasons = json_array();
	for (size_t i = 0; i < m->partial_reasons.len; i++)
		json_array_append_new(reasons, str(m->partial_reasons.items[i]));
	json_object_set_new(o, "partial_reasons", reasons);

	json_object_set_new(o, "from", mailbox(&m->from));
	json_object_set_new(o, "from_count", json_integer(m->from_count));
	json_object_set_new(o, "sender", mailbox(&m->sender));
	json_object_set_new(o, "reply_to", mailboxes(&m->reply_to));
	json_object_set_new(o, "return_path", mailbox(&m->return_path));
	json_t *rcpt = json_array();
	add_recipients(rcpt, &m->to, "to");
	add_recipients(rcpt, &m->cc, "cc");
	add_recipients(rcpt, &m->bcc, "bcc");
	add_recipients(rcpt, &m->delivered_to, "delivered-to");
	json_object_set_new(o, "recipients", rcpt);
	json_object_set_new(o, "subject", str(m->subject));
	json_object_set_new(o, "date", time_or_null(m->date_time));
	json_object_set_new(o, "date_raw", str(m->date));
	json_object_set_new(o, "message_id_domain", str(m->message_id_domain));
	json_object_set_new(o, "x_mailer", str(m->x_mailer));
	json_object_set_new(o, "user_agent", str(m->user_agent));

	json_t *route = json_array();
	for (size_t i = 0; i < m->received.len; i++)
		json_array_append_new(route, received(&m->received.items[i]));
	json_object_set_new(o, "received", route);
	json_object_set_new(o, "auth", auth(m));

	json_t *urls = json_array();
	for (size_t i = 0; i < m->urls.len; i++)
		json_array_append_new(urls, url(&m->urls.items[i]));
	json_object_set_new(o, "urls", urls);

	json_t *atts = json_array();
	for (size_t i = 0; i < m->attachments.len; i++)
		json_array_append_new(atts, attachment(&m->attachments.items[i]));
	json_object_set_new(o, "attachments", atts);

	json_t *nested = json_array();
	for (size_t i = 0; i < m->nested.len; i++) {
		const vigil_nested_message *nm = &m->nested.items[i];
		json_t *n = json_object();
		json_object_set_new(n, "depth", json_integer(nm->depth));
		json_object_set_new(n, "part", json_integer(nm->part));
		json_object_set_new(n, "from", mailbox(&nm->from));
		json_object_set_new(n, "subject", str(nm->subject));
		json_object_set_new(n, "message_id", str(nm->message_id));
		json_object_set_new(n, "date_raw", str(nm->date));
		json_array_append_new(nested, n);
	}
	json_object_set_new(o, "nested_messages", nested);

	json_t *bodies = json_array();
	for (size_t i = 0; i < m->bodies.len; i++) {
		const vigil_body *b = &m->bodies.items[i];
		json_t *e = json_object();
		json_object_set_new(e, "type", json_string(b->content_type));
		json_object_set_new(e, "charset", str(b->charset));
		json_object_set_new(e, "length", json_integer((json_int_t)b->len));
		json_object_set_new(e, "part", json_integer(b->part));
		json_object_set_new(e, "nested", json_integer(b->nested));
		json_array_append_new(bodies, e);
	}
	json_object_set_new(o, "bodies", bodies);
	json_object_set_new(o, "parts", json_integer(m->n_parts));
	return o;
}

int report__jsonl(const vigil_message *msg, FILE *fp)
{
	json_t *o = message(msg);
	if (!o)
		return VIGIL_ENOMEM;
	int rc = json_dumpf(o, fp, JSON_COMPACT);
	json_decref(o);
	if (rc != 0 || fputc('\n', fp) == EOF)
		return VIGIL_EIO;
	return 0;
}

int vigil_message_write(const vigil_message *msg, vigil_format fmt, FILE *fp)
{
	switch (fmt) {
	case VIGIL_FORMAT_JSONL: return report__jsonl(msg, fp);
	case VIGIL_FORMAT_TEXT: return report__text(msg, fp);
	}
	return VIGIL_EINVAL;
}
