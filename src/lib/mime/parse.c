/*
 * vigil_scan(): parses one raw message with GMime and walks its MIME tree,
 * handing headers, bodies and attachments to the extractors. It enforces the
 * limits of vigil_limits.h and marks the message partial when one is reached. It
 * does not judge anything: detectors read the model this builds.
 */
#include <gmime/gmime.h>
#include <string.h>

#include "detect/detect.h"
#include "extract/extract.h"
#include "intel/intel.h"
#include "vigil_limits.h"
#include "message.h"
#include "rules/rules.h"
#include "scanner.h"
#include "util/digest.h"

typedef struct walk {
	vigil_message *msg;
	vigil_scanner *sc;
	GMimeParserOptions *opts;
	uint64_t decoded; /* bytes decoded so far, all parts */
	int parts;        /* parts seen so far, nested messages included */
	int rc;           /* first hard error (VIGIL_ENOMEM), 0 otherwise */
	/* A hunt's prefilter (intel/prefilter.c) for this message, or NULL,
	 * and whether it left some part's URLs unextracted. */
	const vigil_intel_prefilter *prefilter;
	bool skipped;
} walk;

/* ---- GMime parser warnings -------------------------------------------- */

/* Only warnings that mean content may be missing or read differently by
 * other software make the message partial; duplicated headers and the like
 * are ordinary in real mail. */
static void on_parser_warning(gint64 offset, GMimeParserWarning code, const gchar *item,
	gpointer user_data)
{
	vigil_message *msg = user_data;
	const char *why = NULL;
	switch (code) {
	case GMIME_WARN_TRUNCATED_MESSAGE: why = "message is truncated"; break;
	case GMIME_WARN_MALFORMED_MULTIPART: why = "multipart has no parts"; break;
	case GMIME_WARN_MALFORMED_MESSAGE: why = "message is malformed"; break;
	case GMIME_CRIT_INVALID_HEADER_NAME: why = "invalid header field name"; break;
	case GMIME_CRIT_CONFLICTING_HEADER: why = "conflicting header fields"; break;
	case GMIME_CRIT_CONFLICTING_PARAMETER: why = "conflicting header parameters"; break;
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: why = "multipart without boundary"; break;
	case GMIME_CRIT_NESTING_OVERFLOW: why = "MIME nesting overflow in parser"; break;
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: why = "part without headers or content"; break;
	default: return;
	}
	(void)offset;
	(void)item;
	message__partial(msg, "%s", why);
}

/* ---- helpers ---------------------------------------------------------- */

static const char *wdup(walk *w, const char *s)
{
	if (!s)
		return NULL;
	const char *r = vigil_arena_strdup(w->msg->arena, s);
	if (!r)
		w->rc = VIGIL_ENOMEM;
	return r;
}

/* Lower-cased copy of an address's domain part, as an A-label. */
static const char *address_domain(walk *w, const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	return at && at[1] ? domain__to_ascii(w->msg->arena, at + 1) : NULL;
}

static void set_mailbox(walk *w, vigil_mailbox *mb, InternetAddress *ia, int nested)
{
	const char *name = internet_address_get_name(ia);
	mb->name = name && *name ? wdup(w, name) : NULL;
	mb->nested = nested;
	if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
		const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
		mb->address = addr && *addr ? wdup(w, addr) : NULL;
		mb->domain = address_domain(w, mb->address);
	}
}

/* Calls set_mailbox for each mailbox of `list`, groups flattened. */
static void add_mailboxes(walk *w, vigil_mailbox_vec *vec, InternetAddressList *list, int nested,
	int depth)
{
	if (!list || depth > 2)
		return;
	int n = internet_address_list_length(list);
	for (int i = 0; i < n && w->rc == 0; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_GROUP(ia)) {
			add_mailboxes(w, vec, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)),
				nested, depth + 1);
			continue;
		}
		if (vec->len >= VIGIL_MAX_ADDRESSES) {
			message__partial(w->msg, "more than %d addresses in one field", VIGIL_MAX_ADDRESSES);
			return;
		}
		vigil_mailbox *mb = VIGIL_VEC_PUSH(w->msg->arena, vec);
		if (!mb) {
			w->rc = VIGIL_ENOMEM;
			return;
		}
		set_mailbox(w, mb, ia, nested);
	}
}

/* The first mailbox of a list (groups searched), or false when none. */
static bool first_mailbox(walk *w, vigil_mailbox *out, InternetAddressList *list, int nested,
	int *count)
{
	vigil_mailbox_vec tmp = {0};
	add_mailboxes(w, &tmp, list, nested, 0);
	if (count)
		*count = (int)tmp.len;
	if (!tmp.len)
		return false;
	*out = tmp.items[0];
	return true;
}

static void mailboxes_from_header(walk *w, vigil_mailbox_vec *vec, GMimeObject *obj,
	const char *name, int nested)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = g_mime_header_list_get_count(hl);
	for (int i = 0; i < n && w->rc == 0; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) != 0)
			continue;
		InternetAddressList *list = internet_address_list_parse(w->opts, g_mime_header_get_value(h));
		if (list) {
			add_mailboxes(w, vec, list, nested, 0);
			g_object_unref(list);
		}
	}
}

/* Message-ID without angle brackets, and its domain. */
static void set_message_id(walk *w, const char *mid, const char **out_id, const char **out_domain)
{
	*out_id = wdup(w, mid);
	if (out_domain)
		*out_domain = address_domain(w, mid);
}

/* ---- headers ---------------------------------------------------------- */

static void extract_route_and_auth(walk *w, GMimeObject *obj, int nested)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = g_mime_header_list_get_count(hl);
	int n_received = 0, n_auth = 0;
	for (int i = 0; i < n && w->rc == 0; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);
		const char *raw = g_mime_header_get_raw_value(h);
		if (!name || !raw)
			continue;
		bool received = g_ascii_strcasecmp(name, "Received") == 0;
		bool auth = g_ascii_strcasecmp(name, "Authentication-Results") == 0;
		bool list = g_ascii_strcasecmp(name, "List-Unsubscribe") == 0;
		if (!received && !auth && !list)
			continue;
		/* Route and authentication headers are ASCII by standard: parse
		 * the raw value, unfolded, not a charset-decoded one. */
		char *value = g_mime_utils_header_unfold(raw);
		if (!value) {
			w->rc = VIGIL_ENOMEM;
			return;
		}
		g_strstrip(value);
		if (received) {
			if (n_received >= VIGIL_MAX_RECEIVED) {
				message__partial(w->msg, "more than %d Received fields", VIGIL_MAX_RECEIVED);
			} else {
				vigil_received *r = VIGIL_VEC_PUSH(w->msg->arena, &w->msg->received);
				if (!r)
					w->rc = VIGIL_ENOMEM;
				else if ((w->rc = received__parse(r, w->msg->arena, value)) == 0)
					r->nested = nested;
				n_received++;
			}
		} else if (auth) {
			w->rc = authres__parse(&w->msg->auth, w->msg->arena, value, n_auth++, nested);
			if (w->msg->auth.len >= VIGIL_MAX_AUTH_RESULTS)
				message__partial(w->msg, "more than %d authentication results",
					VIGIL_MAX_AUTH_RESULTS);
		} else {
			w->rc = header__extract_urls(w->msg, w->sc, name, value, nested);
			if (!nested && !w->msg->list_unsubscribe)
				w->msg->list_unsubscribe = wdup(w, value);
		}
		g_free(value);
	}
}

static void extract_identity(walk *w, GMimeMessage *gm)
{
	vigil_message *m = w->msg;
	GMimeObject *obj = GMIME_OBJECT(gm);

	first_mailbox(w, &m->from, g_mime_message_get_from(gm), 0, &m->from_count);
	first_mailbox(w, &m->sender, g_mime_message_get_sender(gm), 0, NULL);
	add_mailboxes(w, &m->reply_to, g_mime_message_get_reply_to(gm), 0, 0);
	add_mailboxes(w, &m->to, g_mime_message_get_to(gm), 0, 0);
	add_mailboxes(w, &m->cc, g_mime_message_get_cc(gm), 0, 0);
	add_mailboxes(w, &m->bcc, g_mime_message_get_bcc(gm), 0, 0);
	mailboxes_from_header(w, &m->delivered_to, obj, "Delivered-To", 0);
	mailboxes_from_header(w, &m->delivered_to, obj, "X-Original-To", 0);

	const char *rp = g_mime_object_get_header(obj, "Return-Path");
	if (rp) {
		InternetAddressList *list = internet_address_list_parse(w->opts, rp);
		if (list) {
			first_mailbox(w, &m->return_path, list, 0, NULL);
			g_object_unref(list);
		}
		/* "<>" (a bounce) parses to nothing: keep it visible as "". */
		if (!m->return_path.address && strstr(rp, "<>"))
			m->return_path.address = "";
	}

	set_message_id(w, g_mime_message_get_message_id(gm), &m->message_id, &m->message_id_domain);
	m->date = wdup(w, g_mime_object_get_header(obj, "Date"));
	m->date_time = date__parse(m->date);
	m->subject = wdup(w, g_mime_message_get_subject(gm));
	m->x_mailer = wdup(w, g_mime_object_get_header(obj, "X-Mailer"));
	m->user_agent = wdup(w, g_mime_object_get_header(obj, "User-Agent"));
	extract_route_and_auth(w, obj, 0);
}

/* ---- bodies and attachments ------------------------------------------- */

/* Decodes the content of a leaf part (transfer encoding undone) into a new
 * GByteArray, cut at the part and message limits. NULL when the part has no
 * content. */
static GByteArray *decode_part(walk *w, GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	if (!content)
		return NULL;
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(content, mem);
	GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
	g_object_unref(mem);

	if (bytes->len > VIGIL_MAX_PART_DECODED_BYTES) {
		message__partial(w->msg, "part %d larger than %u bytes decoded", w->parts,
			VIGIL_MAX_PART_DECODED_BYTES);
		g_byte_array_set_size(bytes, VIGIL_MAX_PART_DECODED_BYTES);
	}
	w->decoded += bytes->len;
	return bytes;
}

static bool charset_is_utf8_or_ascii(const char *cs)
{
	if (!cs)
		return true;
	const char *canon = g_mime_charset_canon_name(cs);
	return g_ascii_strcasecmp(canon, "utf-8") == 0 || g_ascii_strcasecmp(canon, "us-ascii") == 0 ||
		g_ascii_strcasecmp(cs, "ascii") == 0;
}

/*
 * Converters to UTF-8, kept open per scanner: g_convert() opens one for
 * every call, and glibc's iconv_open() looks the charset up in its module
 * cache and dlopen()s the module each time (a fiftieth of a scan of real
 * mail). A few slots, replaced in turn: mail comes in a handful of charsets.
 */
#define ICONV_SLOTS 8

struct iconv_cache {
	struct {
		char *name; /* iconv's name of the source charset; NULL when empty */
		GIConv cd;
	} slot[ICONV_SLOTS];
	unsigned next; /* slot to replace when none matches */
};

void mime__iconv_cache_free(struct iconv_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < ICONV_SLOTS; i++)
		if (c->slot[i].name) {
			g_iconv_close(c->slot[i].cd);
			g_free(c->slot[i].name);
		}
	free(c);
}

/* An open converter from `name` to UTF-8, in its initial state; (GIConv)-1
 * when iconv does not know the charset (or memory ran out). */
static GIConv iconv_to_utf8(vigil_scanner *sc, const char *name)
{
	if (!sc->iconv_cache && !(sc->iconv_cache = calloc(1, sizeof(*sc->iconv_cache))))
		return (GIConv)-1;
	struct iconv_cache *c = sc->iconv_cache;
	for (int i = 0; i < ICONV_SLOTS; i++)
		if (c->slot[i].name && strcmp(c->slot[i].name, name) == 0) {
			/* back to the initial shift state (ISO-2022-JP and kin) */
			g_iconv(c->slot[i].cd, NULL, NULL, NULL, NULL);
			return c->slot[i].cd;
		}
	GIConv cd = g_iconv_open("UTF-8", name);
	if (cd == (GIConv)-1)
		return cd;
	char *copy = g_strdup(name);
	unsigned i = c->next++ % ICONV_SLOTS;
	if (c->slot[i].name) {
		g_iconv_close(c->slot[i].cd);
		g_free(c->slot[i].name);
	}
	c->slot[i].name = copy;
	c->slot[i].cd = cd;
	return cd;
}

/* Converts decoded text to UTF-8: from the declared charset when it is
 * known, else (undeclared, "us-ascii" with 8-bit bytes, unknown names) as
 * UTF-8 when valid and through the fallback charsets otherwise. Returns a
 * g_malloc'd NUL-terminated string. */
static char *to_utf8(walk *w, const char *charset, const char *data, size_t len)
{
	/* An empty GByteArray has no data pointer, and g_strndup(NULL) is NULL. */
	if (len == 0 || !data)
		return g_strdup("");
	if (charset_is_utf8_or_ascii(charset)) {
		if (g_utf8_validate(data, (gssize)len, NULL))
			return g_strndup(data, len);
		/* Declared UTF-8 (or nothing) yet invalid: mail from old clients
		 * with 8-bit Latin text; GMime's fallback charsets handle it. */
		return g_mime_utils_decode_8bit(w->opts, data, len);
	}
	const char *iconv_name = g_mime_charset_iconv_name(charset);
	GError *err = NULL;
	gsize out_len = 0;
	/* Every character has a UTF-8 form, so no fallback text is ever
	 * needed: invalid input fails the conversion either way. */
	GIConv cd = iconv_to_utf8(w->sc, iconv_name);
	char *out = cd == (GIConv)-1 ? NULL
		: g_convert_with_iconv(data, (gssize)len, cd, NULL, &out_len, &err);
	if (out && !err)
		return out;
	g_clear_error(&err);
	g_free(out);
	/* Unknown or lying charset: let GMime's heuristics decide. */
	return g_mime_utils_decode_8bit(w->opts, data, len);
}

/* In a hunt, whether the URLs of this decoded part can be left unextracted:
 * when the prefilter shows none of them could match an indicator. A hunt
 * keeps only hits, and a hit message is scanned again in full (vigil_scan),
 * so what is skipped is never seen. */
static bool skip_urls(walk *w, const char *text, size_t len, bool html)
{
	if (!w->prefilter)
		return false;
	int r = intel__prefilter_part(w->prefilter, intel__scratch_prefilter(w->sc->intel_scratch),
		text, len, html);
	if (r < 0)
		w->rc = r;
	if (r != 0)
		return false;
	w->skipped = true;
	return true;
}

static void add_body(walk *w, GMimePart *part, const char *mime_type, bool html, int part_no,
	int nested)
{
	GByteArray *bytes = decode_part(w, part);
	if (!bytes)
		return;
	const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	const char *data = (const char *)bytes->data;
	char *copy;
	size_t len;
	if (bytes->len && charset_is_utf8_or_ascii(charset) &&
		g_utf8_validate(data, (gssize)bytes->len, NULL)) {
		/* Most bodies are valid UTF-8 (or ASCII) as decoded, and so hold no
		 * NUL (g_utf8_validate refuses one): validated once, copied once,
		 * straight into the arena. */
		len = bytes->len;
		copy = vigil_arena_strndup(w->msg->arena, data, len);
	} else {
		char *text = to_utf8(w, charset, data, bytes->len);
		if (!text) {
			g_byte_array_unref(bytes);
			w->rc = VIGIL_ENOMEM;
			return;
		}
		/* Anything left invalid (a lying charset filter) is repaired so
		 * every later stage can trust the text is UTF-8. */
		if (!g_utf8_validate(text, -1, NULL)) {
			char *valid = g_utf8_make_valid(text, -1);
			g_free(text);
			text = valid;
		}
		len = strlen(text);
		copy = vigil_arena_strndup(w->msg->arena, text, len);
		g_free(text);
	}
	g_byte_array_unref(bytes);
	vigil_body *b = copy ? VIGIL_VEC_PUSH(w->msg->arena, &w->msg->bodies) : NULL;
	if (!b) {
		w->rc = VIGIL_ENOMEM;
		return;
	}
	b->content_type = html ? "text/html" : "text/plain";
	b->charset = wdup(w, charset);
	b->text = copy;
	b->len = len;
	b->part = part_no;
	b->nested = nested;
	(void)mime_type;

	if (html) {
		size_t hlen = len;
		if (hlen > VIGIL_MAX_HTML_BYTES) {
			message__partial(w->msg, "HTML part %d larger than %u bytes", part_no,
				VIGIL_MAX_HTML_BYTES);
			hlen = VIGIL_MAX_HTML_BYTES;
		}
		if (!skip_urls(w, copy, hlen, true) && w->rc == 0)
			w->rc = html__extract(w->msg, w->sc, copy, hlen, part_no, nested);
	} else if (!skip_urls(w, copy, len, false) && w->rc == 0) {
		w->rc = text__extract(w->msg, w->sc, copy, len, part_no, nested);
	}
	/* YARA sees the text as the reader does: decoded, in UTF-8. */
	if (w->rc == 0 && w->sc->ctx->rules)
		w->rc = rules__scan(w->msg, w->sc, "body", part_no, nested,
			(const unsigned char *)copy, len);
}

static void add_attachment(walk *w, GMimePart *part, const char *mime_type, int part_no,
	int nested)
{
	if (w->msg->attachments.len >= VIGIL_MAX_ATTACHMENTS) {
		message__partial(w->msg, "more than %d attachments", VIGIL_MAX_ATTACHMENTS);
		return;
	}
	GByteArray *bytes = decode_part(w, part);
	vigil_attachment proto = {0};
	proto.filename = wdup(w, g_mime_part_get_filename(part));
	proto.declared_type = mime_type;
	proto.disposition = wdup(w, g_mime_object_get_disposition(GMIME_OBJECT(part)));
	proto.part = part_no;
	proto.nested = nested;
	w->rc = attachment__add(w->msg, w->sc, &proto, bytes ? bytes->data : (const guint8 *)"",
		bytes ? bytes->len : 0);
	/* An HTML attachment is a page the recipient will open in a browser:
	 * its links matter as much as the body's. */
	if (w->rc == 0 && bytes && strcmp(mime_type, "text/html") == 0) {
		const char *charset =
			g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
		char *text = to_utf8(w, charset, (const char *)bytes->data, bytes->len);
		if (text) {
			size_t len = strlen(text);
			if (len > VIGIL_MAX_HTML_BYTES)
				len = VIGIL_MAX_HTML_BYTES;
			if (!skip_urls(w, text, len, true) && w->rc == 0)
				w->rc = html__extract(w->msg, w->sc, text, len, part_no, nested);
			g_free(text);
		}
	}
	/* The decoded bytes exist only here: the model keeps their hashes. */
	if (w->rc == 0 && bytes && w->sc->ctx->rules)
		w->rc = rules__scan(w->msg, w->sc, "attachment", part_no, nested, bytes->data,
			bytes->len);
	if (bytes)
		g_byte_array_unref(bytes);
}

static void walk_object(walk *w, GMimeObject *obj, int depth, int nested);

static void walk_leaf(walk *w, GMimePart *part, int part_no, int nested)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
	char *mt = ct ? g_mime_content_type_get_mime_type(ct) : g_strdup("text/plain");
	char *lower = g_ascii_strdown(mt, -1);
	g_free(mt);
	const char *mime_type = wdup(w, lower);
	g_free(lower);
	if (!mime_type)
		return;

	bool attachment = g_mime_part_is_attachment(part);
	bool plain = strcmp(mime_type, "text/plain") == 0;
	bool html = strcmp(mime_type, "text/html") == 0;
	if (w->decoded >= VIGIL_MAX_DECODED_BYTES) {
		message__partial(w->msg, "more than %u bytes decoded in all", VIGIL_MAX_DECODED_BYTES);
		return;
	}
	if ((plain || html) && !attachment)
		add_body(w, part, mime_type, html, part_no, nested);
	else
		add_attachment(w, part, mime_type, part_no, nested);
}

static void walk_nested_message(walk *w, GMimeMessage *gm, int part_no, int depth, int nested)
{
	vigil_nested_message *nm = VIGIL_VEC_PUSH(w->msg->arena, &w->msg->nested);
	if (!nm) {
		w->rc = VIGIL_ENOMEM;
		return;
	}
	nm->depth = nested;
	nm->part = part_no;
	first_mailbox(w, &nm->from, g_mime_message_get_from(gm), nested, NULL);
	nm->subject = wdup(w, g_mime_message_get_subject(gm));
	set_message_id(w, g_mime_message_get_message_id(gm), &nm->message_id, NULL);
	nm->date = wdup(w, g_mime_object_get_header(GMIME_OBJECT(gm), "Date"));
	extract_route_and_auth(w, GMIME_OBJECT(gm), nested);
	GMimeObject *body = g_mime_message_get_mime_part(gm);
	if (body)
		walk_object(w, body, depth + 1, nested);
}

static void walk_object(walk *w, GMimeObject *obj, int depth, int nested)
{
	if (w->rc)
		return;
	if (depth > VIGIL_MAX_MIME_DEPTH) {
		message__partial(w->msg, "MIME nesting deeper than %d", VIGIL_MAX_MIME_DEPTH);
		return;
	}
	if (w->parts >= VIGIL_MAX_MIME_PARTS) {
		message__partial(w->msg, "more than %d MIME parts", VIGIL_MAX_MIME_PARTS);
		return;
	}
	int part_no = w->parts++;

	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n && w->rc == 0; i++)
			walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1, nested);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (inner)
			walk_nested_message(w, inner, part_no, depth, nested + 1);
	} else if (GMIME_IS_PART(obj)) {
		walk_leaf(w, GMIME_PART(obj), part_no, nested);
	}
}

/* ---- entry point ------------------------------------------------------ */

/* Length of the header block: up to the first empty line, or all of it. */
static size_t header_block_len(const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	if (len && (data[0] == '\n' || (len > 1 && data[0] == '\r' && data[1] == '\n')))
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return len;
		const char *next = nl + 1;
		if (next < end && (*next == '\n' || (*next == '\r' && next + 1 < end && next[1] == '\n')))
			return (size_t)(next - data);
		p = next;
	}
	return len;
}

static GMimeParserOptions *scanner_parser_options(vigil_scanner *sc)
{
	static const char *fallback[] = {"UTF-8", "windows-1252", NULL};
	GMimeParserOptions *o = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(o, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_fallback_charsets(o, fallback);
	(void)sc;
	return o;
}

/* The prefilter a hunt may use for this scan, with the thread's intel
 * scratch made; NULL when the scan must extract everything. */
static const vigil_intel_prefilter *hunt_prefilter(vigil_scanner *sc, int *rc)
{
	const vigil_intel_prefilter *pf = sc->ctx->hunt_mode ?
		intel__matcher_prefilter(sc->ctx->intel) : NULL;
	if (pf && !sc->intel_scratch && (*rc = intel__scratch_new(&sc->intel_scratch,
		sc->ctx->intel)) != 0)
		return NULL;
	return pf;
}

/*
 * GMime reports the structural faults that make a message partial (see
 * on_parser_warning) only to a warning callback, and while one is set it
 * also decodes every header value to look for bad encoded words: a tenth of
 * a scan's instructions. So a message is parsed without the callback first,
 * and again with it when its tree shows any sign of a fault GMime reports
 * (header lines it dropped, duplicated headers or parameters, a multipart
 * without its boundary or its closing line, a part without headers). These
 * signs are wider than GMime's own checks, never narrower: the second parse
 * gives exactly what one parse with the callback gave. VIGIL_GMIME_WARNINGS=
 * always parses every message with the callback (the differential test).
 */
#define PROBE_MAX_HEADERS 64 /* more distinct fields compared in one list: parse again */

/* Fields that may occur once in a message (RFC 5322 3.6): GMime compares
 * repeats of these in a message's own header block. */
static bool single_instance(const char *name)
{
	static const char *const names[] = {"bcc", "cc", "date", "from", "in-reply-to",
		"message-id", "references", "reply-to", "sender", "subject", "to"};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		if (g_ascii_strcasecmp(names[i], name) == 0)
			return true;
	return false;
}

/* Whether a parameter name occurs twice in a Content-Type or
 * Content-Disposition value (RFC 2231 sections count under their base name,
 * which makes this wider than GMime's check). */
static bool param_repeats(const char *v)
{
	enum { MAX_PARAMS = 16 };
	const char *name[MAX_PARAMS];
	size_t nlen[MAX_PARAMS], n = 0;
	for (const char *p = v; *p;) {
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (!*p)
				return true; /* unbalanced: let GMime judge */
			p++;
			continue;
		}
		if (*p++ != ';')
			continue;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		size_t k = strcspn(p, "=*; \t\r\n\"");
		if (k == 0)
			continue;
		if (n == MAX_PARAMS)
			return true;
		for (size_t i = 0; i < n; i++)
			if (nlen[i] == k && g_ascii_strncasecmp(name[i], p, k) == 0)
				return true;
		name[n] = p;
		nlen[n++] = k;
		p += k;
	}
	return false;
}

typedef struct probe {
	const char *buf; /* the bytes GMime parsed */
	size_t len;
	bool fault;
} probe;

/* Checks one header block: the fields of up to two objects (a message's own
 * fields and its body part's Content-* fields), merged by their offsets,
 * must run back to back up to a blank line, with no line GMime dropped in
 * between; the first starts the message (`top`), or follows a delimiter
 * line (not a second one in a row) or a blank line. */
static void probe_block(probe *pr, GMimeObject *a, GMimeObject *b, bool top)
{
	GMimeHeaderList *la = a ? g_mime_object_get_header_list(a) : NULL;
	GMimeHeaderList *lb = b ? g_mime_object_get_header_list(b) : NULL;
	int na = la ? g_mime_header_list_get_count(la) : 0;
	int nb = lb ? g_mime_header_list_get_count(lb) : 0;
	if (na + nb == 0) {
		pr->fault = true;
		return;
	}
	int ia = 0, ib = 0;
	gint64 expect = -1;
	while (ia < na || ib < nb) {
		GMimeHeader *ha = ia < na ? g_mime_header_list_get_header_at(la, ia) : NULL;
		GMimeHeader *hb = ib < nb ? g_mime_header_list_get_header_at(lb, ib) : NULL;
		GMimeHeader *h = !hb || (ha && g_mime_header_get_offset(ha) < g_mime_header_get_offset(hb))
			? (ia++, ha) : (ib++, hb);
		gint64 off = g_mime_header_get_offset(h);
		const char *rn = g_mime_header_get_raw_name(h), *rv = g_mime_header_get_raw_value(h);
		if (off < 0 || !rn || !rv || (expect >= 0 && off != expect)) {
			pr->fault = true;
			return;
		}
		if (expect < 0) {
			/* What precedes the first field: nothing at the top of the
			 * message; a boundary line or a blank line in a part. */
			if (top ? off != 0 : (off < 2 || (size_t)off > pr->len || pr->buf[off - 1] != '\n')) {
				pr->fault = true;
				return;
			}
			if (!top) {
				const char *line = memrchr(pr->buf, '\n', (size_t)off - 1);
				line = line ? line + 1 : pr->buf;
				bool blank = line == pr->buf + off - 1 ||
					(line[0] == '\r' && line + 1 == pr->buf + off - 1);
				if (!blank && !(line[0] == '-' && line[1] == '-')) {
					pr->fault = true;
					return;
				}
				/* Two delimiter lines in a row: GMime read the second
				 * as a bad header line of an empty part. */
				if (!blank && line > pr->buf + 1) {
					const char *prev = memrchr(pr->buf, '\n', (size_t)(line - 1 - pr->buf));
					prev = prev ? prev + 1 : pr->buf;
					if (prev[0] == '-' && prev[1] == '-') {
						pr->fault = true;
						return;
					}
				}
			}
		}
		expect = off + (gint64)strlen(rn) + 1 + (gint64)strlen(rv);
	}
	/* The block ends with a blank line. */
	size_t e = (size_t)expect;
	if (e > pr->len || !(e < pr->len && (pr->buf[e] == '\n' ||
		(pr->buf[e] == '\r' && e + 1 < pr->len && pr->buf[e + 1] == '\n'))))
		pr->fault = true;
}

/* Repeated fields with different values, and repeated parameters, in one
 * object's header list; in a message's own list only the fields that may
 * occur once count (GMime compares each repeat with the first). */
static void probe_repeats(probe *pr, GMimeObject *obj, bool message_fields)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	int n = g_mime_header_list_get_count(hl);
	GMimeHeader *seen[PROBE_MAX_HEADERS];
	int n_seen = 0;
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h), *raw = g_mime_header_get_raw_value(h);
		if (!name || !raw) {
			pr->fault = true;
			return;
		}
		if ((g_ascii_strcasecmp(name, "Content-Type") == 0 ||
			g_ascii_strcasecmp(name, "Content-Disposition") == 0) && param_repeats(raw)) {
			pr->fault = true;
			return;
		}
		if (message_fields && !single_instance(name))
			continue;
		int j = 0;
		while (j < n_seen && g_ascii_strcasecmp(g_mime_header_get_name(seen[j]), name) != 0)
			j++;
		if (j < n_seen) {
			if (strcmp(g_mime_header_get_raw_value(seen[j]), raw) != 0) {
				pr->fault = true;
				return;
			}
			continue;
		}
		if (n_seen == PROBE_MAX_HEADERS) {
			pr->fault = true;
			return;
		}
		seen[n_seen++] = h;
	}
}

static void probe_part(probe *pr, GMimeObject *obj, int depth);

/* A message (the top one or a message/rfc822 part's): its fields and its
 * body part's form one header block. */
static void probe_message(probe *pr, GMimeMessage *gm, bool top, int depth)
{
	GMimeObject *body = g_mime_message_get_mime_part(gm);
	probe_block(pr, GMIME_OBJECT(gm), body, top);
	if (!pr->fault)
		probe_repeats(pr, GMIME_OBJECT(gm), true);
	if (!pr->fault && body) {
		probe_repeats(pr, body, false);
		probe_part(pr, body, depth + 1);
	}
}

/* A part's contents; its own headers were checked by the caller. */
static void probe_part(probe *pr, GMimeObject *obj, int depth)
{
	if (pr->fault)
		return;
	if (depth > VIGIL_MAX_MIME_DEPTH) {
		pr->fault = true;
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		if (!g_mime_object_get_content_type_parameter(obj, "boundary") ||
			!mp->write_end_boundary || g_mime_multipart_get_count(mp) == 0) {
			pr->fault = true;
			return;
		}
		for (int i = 0; i < g_mime_multipart_get_count(mp) && !pr->fault; i++) {
			GMimeObject *sub = g_mime_multipart_get_part(mp, i);
			probe_block(pr, sub, NULL, false);
			if (!pr->fault)
				probe_repeats(pr, sub, false);
			probe_part(pr, sub, depth + 1);
		}
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (inner)
			probe_message(pr, inner, false, depth + 1);
	}
}

/* Whether GMime may have a structural fault to report for this parse. */
static bool gmime_may_warn(GMimeMessage *gm, const char *buf, size_t len)
{
	if (!gm)
		return true;
	probe pr = {buf, len, false};
	probe_message(&pr, gm, true, 0);
	return pr.fault;
}

/* Parses the message in buf: without GMime's warnings when nothing in the
 * result suggests GMime had one to give, else again with them. */
static GMimeMessage *parse_message(const vigil_scanner *sc, GMimeParserOptions *opts,
	vigil_message *m, const char *buf, size_t len, bool careful)
{
	for (int pass = careful || sc->gmime_warnings_always; pass < 2; pass++) {
		g_mime_parser_options_set_warning_callback(opts, pass ? on_parser_warning : NULL,
			pass ? m : NULL);
		GMimeStream *stream = g_mime_stream_mem_new_with_buffer(buf, len);
		GMimeParser *parser = g_mime_parser_new_with_stream(stream);
		g_object_unref(stream);
		g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
		GMimeMessage *gm = g_mime_parser_construct_message(parser, opts);
		g_object_unref(parser);
		if (pass == 1 || !gmime_may_warn(gm, buf, len))
			return gm;
		if (gm)
			g_object_unref(gm);
	}
	return NULL; /* not reached */
}

/* One pass over the message; with `prefilter`, *skipped says whether some
 * part's URLs were left out. */
static int scan_once(vigil_message **out, vigil_scanner *sc, const vigil_raw_message *raw,
	const vigil_intel_prefilter *prefilter, bool *skipped)
{
	*out = NULL;
	*skipped = false;
	if (!raw || (!raw->data && raw->len))
		return scanner__fail(sc, VIGIL_EINVAL, "no message given");

	vigil_arena *a = vigil_arena_new();
	vigil_message *m = a ? vigil_arena_calloc(a, 1, sizeof(*m)) : NULL;
	if (!m) {
		vigil_arena_free(a);
		return scanner__fail(sc, VIGIL_ENOMEM, "out of memory");
	}
	m->arena = a;
	m->ctx = sc->ctx;
	m->path = vigil_arena_strdup(a, raw->path ? raw->path : "-");
	m->offset = raw->offset;
	m->size = raw->len;
	m->date_time = VIGIL_NO_TIME;
	if (raw->truncated)
		message__partial(m, "message larger than %u bytes", VIGIL_MAX_MESSAGE_BYTES);

	/* A header block past the limit is cut at a line end and the body kept,
	 * so a header bomb costs no more than the limit. */
	const char *data = raw->data ? raw->data : "";
	size_t len = raw->len;
	size_t hlen = header_block_len(data, len);
	GByteArray *cut_copy = NULL;
	if (hlen > VIGIL_MAX_HEADER_BYTES) {
		message__partial(m, "header block larger than %u bytes", VIGIL_MAX_HEADER_BYTES);
		const char *cut = memrchr(data, '\n', VIGIL_MAX_HEADER_BYTES);
		size_t keep = cut ? (size_t)(cut - data) + 1 : VIGIL_MAX_HEADER_BYTES;
		cut_copy = g_byte_array_sized_new((guint)(keep + 1 + len - hlen));
		g_byte_array_append(cut_copy, (const guint8 *)data, (guint)keep);
		g_byte_array_append(cut_copy, (const guint8 *)"\n", 1);
		g_byte_array_append(cut_copy, (const guint8 *)data + hlen, (guint)(len - hlen));
	}

	GMimeParserOptions *opts = scanner_parser_options(sc);
	/* A cut header block, or one that runs to the end (truncated), is a
	 * fault GMime reports: parse with its warnings from the start. */
	GMimeMessage *gm = cut_copy
		? parse_message(sc, opts, m, (const char *)cut_copy->data, cut_copy->len, true)
		: parse_message(sc, opts, m, data, len, hlen == len);
	if (cut_copy)
		g_byte_array_unref(cut_copy);

	walk w = {.msg = m, .sc = sc, .opts = opts, .prefilter = prefilter};
	if (!gm) {
		/* GMime found no message at all (no header block): keep an empty
		 * model so the message is still counted and reported. */
		message__partial(m, "no message header found");
	} else {
		extract_identity(&w, gm);
		/* A message whose header fields already hit is a hit whatever its
		 * bodies hold: extract them all now rather than scan it twice. */
		if (w.prefilter && w.rc == 0) {
			int hit = intel__match_any(sc->ctx->intel, sc->intel_scratch, m,
				sc->ctx->intel_validity);
			if (hit < 0)
				w.rc = hit;
			else if (hit)
				w.prefilter = NULL;
		}
		GMimeObject *body = g_mime_message_get_mime_part(gm);
		if (body && w.rc == 0)
			walk_object(&w, body, 0, 0);
		g_object_unref(gm);
	}
	m->n_parts = w.parts;
	g_mime_parser_options_free(opts);
	if (w.rc == 0)
		w.rc = detect__all(m, sc);
	/* The message's identity in a store: the same bytes are the same
	 * message, wherever they were found. A hunt keeps only its hits, so
	 * the others need no hash; nor does a caller that asked for none. */
	if (w.rc == 0 && !sc->ctx->no_message_digest &&
		(!sc->ctx->hunt_mode || vigil_message_hits(m) > 0) &&
		digest__sha256(m->sha256, raw->data ? raw->data : "", raw->len) != 0)
		w.rc = VIGIL_ENOMEM;

	if (w.rc) {
		vigil_arena_free(a);
		return scanner__fail(sc, w.rc, "%s", vigil_strerror(w.rc));
	}
	*skipped = w.skipped;
	*out = m;
	return 0;
}

int vigil_scan(vigil_message **out, vigil_scanner *sc, const vigil_raw_message *raw)
{
	*out = NULL;
	if (!raw || (!raw->data && raw->len))
		return scanner__fail(sc, VIGIL_EINVAL, "no message given");
	sc->messages++;
	int rc = 0;
	const vigil_intel_prefilter *pf = hunt_prefilter(sc, &rc);
	if (rc)
		return scanner__fail(sc, rc, "%s", vigil_strerror(rc));
	bool skipped;
	if ((rc = scan_once(out, sc, raw, pf, &skipped)) != 0 || !skipped ||
		vigil_message_hits(*out) == 0)
		return rc;
	/* A hit after all (a rule, an attachment, a nested message's header)
	 * with some part's URLs skipped: what a hunt keeps must be whole, so
	 * scan it again without skipping. */
	vigil_message_free(*out);
	return scan_once(out, sc, raw, NULL, &skipped);
}
