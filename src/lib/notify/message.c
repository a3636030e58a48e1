/*
 * One notification from a campaign document (docs/campaigns.md) and a
 * template: the placeholders' values for one target, then an RFC 5322
 * message built with GMime. It never shows a tracker's URL or host in a form
 * a mail program would turn into a link (that would fetch it or invite a
 * click), and checks so before returning. Sending is smtp.c's job.
 */
#include <gmime/gmime.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/notify.h"
#include "report/campaign_report.h"
#include "vigil_limits.h"

static GOnce gmime_once = G_ONCE_INIT;

static gpointer gmime_init_once(gpointer unused)
{
	(void)unused;
	g_mime_init(); /* counted by GMime: harmless after vigil_ctx_new()'s */
	return NULL;
}

/* ---- text that came from the attacker ---------------------------------- */

/* Text taken from the campaign's mail made plain: valid UTF-8; control
 * characters and runs of white space as one space, none at the ends (a
 * header cannot be split, a body line not forged); direction and invisible
 * format characters shown as [U+XXXX] (they can reorder what is read); at
 * most VIGIL_NOTIFY_MAX_SHOWN characters. Caller frees. */
static char *clean_text(const char *s)
{
	char *valid = g_utf8_make_valid(s ? s : "", -1);
	GString *o = g_string_sized_new(strlen(valid) + 16);
	for (const char *p = valid; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c <= 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
			if (o->len && o->str[o->len - 1] != ' ')
				g_string_append_c(o, ' ');
		} else if ((c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
			   (c >= 0x2066 && c <= 0x2069) || c == 0xfeff || c == 0x061c) {
			g_string_append_printf(o, "[U+%04X]", (unsigned)c);
		} else {
			g_string_append_unichar(o, c);
		}
	}
	g_free(valid);
	if (o->len && o->str[o->len - 1] == ' ')
		g_string_truncate(o, o->len - 1);
	if (g_utf8_strlen(o->str, -1) > VIGIL_NOTIFY_MAX_SHOWN) {
		g_string_truncate(o, (gsize)(g_utf8_offset_to_pointer(o->str, VIGIL_NOTIFY_MAX_SHOWN) - o->str));
		g_string_append(o, "...");
	}
	return g_string_free(o, FALSE);
}

/* Free text from the campaign's mail (subject, names) made safe to show:
 * clean_text(), then schemes as "hxxp://" and a dot between a letter or
 * digit and a letter as "[.]", so that no host name in it
 * ("img.tracker.example") is a link in the reader's mail program. Decimal
 * numbers ("2.5") and sentence ends (". ") stay as they are. Caller frees. */
static char *safe_text(const char *s)
{
	char *clean = clean_text(s);
	char *schemes = report__defang_text(clean);
	g_free(clean);
	GString *o = g_string_sized_new(strlen(schemes) + 16);
	for (const char *p = schemes; *p; p++) {
		if (*p == '.' && p > schemes && (g_ascii_isalnum(p[-1]) || p[-1] == '-') &&
			g_ascii_isalpha(p[1]))
			g_string_append(o, "[.]");
		else
			g_string_append_c(o, *p);
	}
	g_free(schemes);
	return g_string_free(o, FALSE);
}

/* An address or host from the campaign's mail: clean_text(), then
 * defanged as the reports do ("a[@]b[.]example"). Caller frees. */
static char *safe_address(const char *s)
{
	char *clean = clean_text(s);
	char *d = report__defang(clean);
	g_free(clean);
	return d;
}

/* ---- times -------------------------------------------------------------- */

static const char *const days[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday",
	"Friday", "Saturday"};
static const char *const months[] = {"January", "February", "March", "April", "May", "June",
	"July", "August", "September", "October", "November", "December"};

/* "Tuesday 12 January 2021 at 08:14 UTC" (with_time) or "12 January 2021";
 * English names whatever the locale, so the same store gives the same text. */
static char *human_time(int64_t t, bool with_time)
{
	if (t == REPORT_NO_TIME)
		return g_strdup(with_time ? "an unknown date" : "an unknown date");
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm))
		return g_strdup("an unknown date");
	if (!with_time)
		return g_strdup_printf("%d %s %d", tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900);
	return g_strdup_printf("%s %d %s %d at %02d:%02d UTC", days[tm.tm_wday], tm.tm_mday,
		months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
}

/* ---- addresses ---------------------------------------------------------- */

bool notify__address_ok(const char *addr)
{
	if (!addr)
		return false;
	size_t len = strlen(addr);
	const char *at = strrchr(addr, '@');
	if (len == 0 || len > 254 || !at || at == addr || !at[1] || strchr(addr, '@') != at)
		return false;
	for (const char *p = addr; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("<>()[]\\,;:\"", c))
			return false;
	}
	return true;
}

int notify__parse_from(const char *from, char **addr, char **name, char *err, size_t err_size)
{
	*addr = *name = NULL;
	g_once(&gmime_once, gmime_init_once, NULL);
	if (!from || !*from || strpbrk(from, "\r\n")) {
		if (err)
			snprintf(err, err_size, "a From address is required (--from ADDR)");
		return VIGIL_EINVAL;
	}
	InternetAddressList *l = internet_address_list_parse(NULL, from);
	InternetAddress *a = l && internet_address_list_length(l) == 1
				     ? internet_address_list_get_address(l, 0)
				     : NULL;
	const char *ad = a && INTERNET_ADDRESS_IS_MAILBOX(a)
				 ? internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))
				 : NULL;
	if (!ad || !notify__address_ok(ad)) {
		if (err)
			snprintf(err, err_size,
				"--from '%s': one address expected (\"security@example.org\" or "
				"\"Security team <security@example.org>\")",
				from);
		if (l)
			g_object_unref(l);
		return VIGIL_EINVAL;
	}
	*addr = g_strdup(ad);
	const char *n = internet_address_get_name(a);
	*name = n && *n ? g_strdup(n) : NULL;
	g_object_unref(l);
	return 0;
}

/* ---- the placeholders' values ------------------------------------------- */

static bool same_address(const char *a, const char *b)
{
	return a && b && g_ascii_strcasecmp(a, b) == 0;
}

static bool has_recipient(json_t *m, const char *address)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(m, "recipients"), i, r)
		if (same_address(json_string_value(r), address))
			return true;
	return false;
}

/* "Name <address>" of a message's sender, made safe. */
static char *sender_of(json_t *m)
{
	char *addr = safe_address(report__str(m, "from"));
	char *name = safe_text(report__str(m, "from_name"));
	char *out;
	if (*name && *addr)
		out = g_strdup_printf("%s <%s>", name, addr);
	else if (*addr)
		out = g_strdup(addr);
	else if (*name)
		out = g_strdup(name);
	else
		out = g_strdup("an unknown sender");
	g_free(addr);
	g_free(name);
	return out;
}

static char *subject_of(json_t *m)
{
	const char *s = report__str(m, "subject");
	return s ? safe_text(s) : g_strdup("(no subject)");
}

/* What the tracker is, in words, with its hosts defanged. */
static char *tracker_words(json_t *c)
{
	json_t *trk = json_object_get(c, "trackers");
	json_t *hosts = json_object_get(trk, "hosts");
	if (!json_array_size(hosts))
		return g_strdup("hidden content that tells the sender when the message is opened");
	GString *g = g_string_new("an invisible image loaded from ");
	size_t i, shown = 0;
	json_t *h;
	json_array_foreach(hosts, i, h)
	{
		if (!json_string_value(h))
			continue;
		if (shown == 3) {
			g_string_append(g, " and others");
			break;
		}
		char *d = safe_address(json_string_value(h));
		g_string_append_printf(g, "%s%s", shown ? (i + 1 == json_array_size(hosts) ? " or " : ", ")
							 : "", d);
		g_free(d);
		shown++;
	}
	bool token = false;
	json_array_foreach(json_object_get(trk, "url_templates"), i, h)
		if (json_string_value(h) && strchr(json_string_value(h), '{'))
			token = true;
	g_string_append(g, token ? ", whose address carries a code unique to you"
				 : ", which tells the sender when the message is shown");
	return g_string_free(g, FALSE);
}

/* The target's first open: the earliest exact one (its token or URL), else
 * the earliest other (named through the client address). An exact open
 * says the most and is what the reader is told about. */
static json_t *first_open(json_t *c, const char *address)
{
	json_t *best[2] = {NULL, NULL}; /* exact, other */
	int64_t bt[2] = {0, 0};
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(c, "opens"), i, o)
	{
		if (!same_address(report__str(o, "recipient"), address))
			continue;
		int64_t t = report__time(o, "time");
		if (t == REPORT_NO_TIME)
			continue;
		const char *conf = report__str(o, "confidence");
		int k = conf && strcmp(conf, "exact") == 0 ? 0 : 1;
		if (!best[k] || t < bt[k]) {
			best[k] = o;
			bt[k] = t;
		}
	}
	return best[0] ? best[0] : best[1];
}

static char *opened_sentence(json_t *target, json_t *open, const char *when, const char *ip)
{
	json_int_t n = report__int(target, "opens", 0);
	if (!json_is_true(json_object_get(target, "opened")) || !open)
		return g_strdup(
			"We found no sign that it was opened: its hidden image does not appear in the "
			"network logs we examined. Those logs do not cover phones or computers outside "
			"our network, so it may still have been opened there.");
	GString *g = g_string_new(NULL);
	const char *conf = report__str(open, "confidence");
	if (conf && strcmp(conf, "exact") == 0)
		g_string_append_printf(g,
			"Yes. Its hidden image was fetched on %s%s%s: the message was displayed "
			"with its images, which told the sender that it was read, and when.",
			when, *ip ? ", from the network address " : "", ip);
	else
		g_string_append_printf(g,
			"Probably. The campaign's tracker was contacted on %s%s%s, which our logs "
			"link to you; the message was most likely displayed with its images, which "
			"tells the sender that it was read.",
			when, *ip ? " from the network address " : "", ip);
	if (n > 1)
		g_string_append_printf(g, " It was fetched %lld times in all.", (long long)n);
	return g_string_free(g, FALSE);
}

/* ---- layout ------------------------------------------------------------- */

/* Lines a mail program shows without wrapping them itself (RFC 5322
 * asks for 78 at most, and quoted-printable's lines are 76). */
#define WRAP_COLUMNS 76

/* The column where a wrapped line goes on: under the text of a "- " item
 * or of a "Label:   value" line, else at the line's own indentation. */
static size_t hanging_indent(const char *line, size_t len)
{
	size_t ws = 0;
	while (ws < len && line[ws] == ' ')
		ws++;
	if (ws + 1 < len && (line[ws] == '-' || line[ws] == '*') && line[ws + 1] == ' ')
		return ws + 2;
	size_t w = ws;
	while (w < len && (g_ascii_isalnum(line[w]) || line[w] == '-'))
		w++;
	if (w > ws && w + 2 < len && line[w] == ':' && line[w + 1] == ' ' && line[w + 2] == ' ') {
		w++;
		while (w < len && line[w] == ' ')
			w++;
		return w;
	}
	return ws;
}

/* Wraps the lines of `text` longer than WRAP_COLUMNS characters at spaces,
 * with a hanging indent; shorter lines stay as the template has them (a
 * signature's lines are not joined). Caller frees. */
static char *wrap_text(const char *text)
{
	GString *o = g_string_sized_new(strlen(text) + 64);
	const char *p = text;
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		size_t indent = hanging_indent(p, len);
		if (indent > WRAP_COLUMNS / 2)
			indent = 0;
		const char *line = p, *end = p + len;
		size_t lead = 0; /* indentation of the piece being written */
		while (line < end) {
			/* find the last space at which the piece fits */
			const char *q = line, *brk = NULL;
			size_t cols = lead;
			while (q < end && (cols < WRAP_COLUMNS || !brk)) {
				if (*q == ' ' && q > line && q[-1] != ' ' && (size_t)(q - p) > indent)
					brk = q;
				q = g_utf8_next_char(q);
				cols++;
			}
			if (q >= end || !brk)
				brk = cols <= WRAP_COLUMNS || !brk ? end : brk;
			if (q >= end && cols <= WRAP_COLUMNS)
				brk = end;
			g_string_append_len(o, line, brk - line);
			if (brk >= end)
				break;
			g_string_append_c(o, '\n');
			for (size_t k = 0; k < indent; k++)
				g_string_append_c(o, ' ');
			lead = indent;
			line = brk;
			while (line < end && *line == ' ')
				line++;
		}
		if (!eol)
			break;
		g_string_append_c(o, '\n');
		p = eol + 1;
	}
	return g_string_free(o, FALSE);
}

typedef struct values {
	char *v[PH__COUNT];
} values;

static void values_free(values *v)
{
	for (int i = 0; i < PH__COUNT; i++)
		g_free(v->v[i]);
}

/* Fills `v` for the target `target` of `c`. Returns 0, or VIGIL_EINVAL when
 * the campaign holds no message to that target. */
static int make_values(values *v, json_t *c, json_t *target, const vigil_notify_options *opt,
	const char *from_addr, const char *from_name, char *err, size_t err_size)
{
	const char *address = report__str(target, "address");
	GPtrArray *msgs = g_ptr_array_new();
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(c, "messages"), i, m)
		if (has_recipient(m, address))
			g_ptr_array_add(msgs, m);
	if (!msgs->len) {
		if (err)
			snprintf(err, err_size, "%s: no message of campaign %lld went to this address",
				address, (long long)report__int(c, "id", 0));
		g_ptr_array_free(msgs, TRUE);
		return VIGIL_EINVAL;
	}
	json_t *first = g_ptr_array_index(msgs, 0);
	char *name = safe_text(report__str(target, "name"));
	/* Without a name (or one of only spaces), the reader's own address, as
	 * it is: it is where this message goes, and defanged it would read as a
	 * puzzle. */
	v->v[PH_NAME] = *name ? name : g_strdup(address);
	if (!*name)
		g_free(name);
	v->v[PH_ADDRESS] = g_strdup(address);
	v->v[PH_RECEIVED] = human_time(report__time(first, "date"), true);
	v->v[PH_RECEIVED_DATE] = human_time(report__time(first, "date"), false);
	v->v[PH_SUBJECT] = subject_of(first);
	v->v[PH_SENDER] = sender_of(first);
	v->v[PH_SENDER_NAME] = safe_text(report__str(first, "from_name"));
	v->v[PH_SENDER_ADDRESS] = safe_address(report__str(first, "from"));
	v->v[PH_MESSAGES] = g_strdup_printf("%u", msgs->len);
	if (msgs->len > 1) {
		GString *g = g_string_new(NULL);
		g_string_append_printf(g, "\nYou received %u messages of this campaign in all:\n",
			msgs->len);
		for (guint k = 0; k < msgs->len; k++) {
			json_t *mk = g_ptr_array_index(msgs, k);
			char *when = human_time(report__time(mk, "date"), true);
			char *snd = sender_of(mk), *sub = subject_of(mk);
			g_string_append_printf(g, "  - %s, from %s: %s\n", when, snd, sub);
			g_free(when);
			g_free(snd);
			g_free(sub);
		}
		v->v[PH_MORE_MESSAGES] = g_string_free(g, FALSE);
	} else {
		v->v[PH_MORE_MESSAGES] = g_strdup("");
	}
	g_ptr_array_free(msgs, TRUE);
	v->v[PH_TRACKER] = tracker_words(c);

	json_t *open = first_open(c, address);
	bool opened = json_is_true(json_object_get(target, "opened")) && open;
	const char *ip = open && report__str(open, "client_ip") ? report__str(open, "client_ip") : "";
	v->v[PH_OPENED] = g_strdup(opened ? "yes" : "no");
	v->v[PH_FIRST_OPEN] = opened ? human_time(report__time(open, "time"), true) : g_strdup("");
	/* The client address is the organisation's own network's, from its
	 * own logs: shown as it is, for the reader to recognise. */
	v->v[PH_OPEN_ADDRESS] = g_strdup(opened ? ip : "");
	v->v[PH_OPENED_SENTENCE] = opened_sentence(target, open, v->v[PH_FIRST_OPEN], v->v[PH_OPEN_ADDRESS]);
	v->v[PH_CAMPAIGN] = g_strdup_printf("%lld", (long long)report__int(c, "id", 0));
	v->v[PH_CAMPAIGN_NAME] = safe_text(report__str(c, "name"));
	GString *imp = g_string_new(NULL);
	json_array_foreach(json_object_get(c, "impersonates"), i, m)
		if (json_string_value(m)) {
			char *s = safe_text(json_string_value(m));
			g_string_append_printf(imp, "%s%s", imp->len ? ", " : "", s);
			g_free(s);
		}
	v->v[PH_IMPERSONATES] = g_string_free(imp, FALSE);
	v->v[PH_FROM] = g_strdup(opt->from);
	v->v[PH_FROM_NAME] = g_strdup(from_name ? from_name : from_addr);
	v->v[PH_FROM_ADDRESS] = g_strdup(from_addr);
	v->v[PH_CONTACT] = g_strdup(opt->contact && *opt->contact ? opt->contact : from_addr);
	v->v[PH_DATE] = human_time(opt->now, false);
	return 0;
}

/* ---- the never-leak check ----------------------------------------------- */

/* Adds the host of `url` ("scheme://host[:port]/...", or a bare host) to
 * `hosts`, lower case. */
static void add_host(GPtrArray *hosts, const char *url)
{
	if (!url || !*url)
		return;
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	const char *at = strpbrk(p, "@/?#");
	if (at && *at == '@')
		p = at + 1;
	size_t n = strcspn(p, ":/?#");
	if (n >= 4) /* "a.bc" at least: shorter strings would match ordinary words */
		g_ptr_array_add(hosts, g_ascii_strdown(p, (gssize)n));
}

/* Whether `text` shows a tracker host of `c` (any of them, as a plain
 * string, ASCII case ignored): *leak gets the host. */
static bool leaks(json_t *c, const char *text, char **leak)
{
	GPtrArray *hosts = g_ptr_array_new_with_free_func(g_free);
	json_t *trk = json_object_get(c, "trackers");
	size_t i, k;
	json_t *h, *m;
	json_array_foreach(json_object_get(trk, "hosts"), i, h)
		add_host(hosts, json_string_value(h));
	json_array_foreach(json_object_get(trk, "url_templates"), i, h)
		add_host(hosts, json_string_value(h));
	json_array_foreach(json_object_get(c, "messages"), i, m)
		json_array_foreach(json_object_get(m, "tracker_urls"), k, h)
			add_host(hosts, json_string_value(h));
	char *low = g_ascii_strdown(text, -1);
	bool found = false;
	for (guint j = 0; j < hosts->len && !found; j++)
		if (strstr(low, g_ptr_array_index(hosts, j))) {
			*leak = g_strdup(g_ptr_array_index(hosts, j));
			found = true;
		}
	g_free(low);
	g_ptr_array_free(hosts, TRUE);
	return found;
}

/* ---- the message -------------------------------------------------------- */

/* A Message-ID that is the same for the same campaign and target: a copy
 * sent again (after an unconfirmed attempt) is then recognisably the same
 * message to mail programs and to people. */
static char *message_id(json_t *c, const char *address, const char *from_addr)
{
	const char *uuid = report__str(c, "uuid");
	char *key = g_strdup_printf("%s\n%lld\n%s", uuid ? uuid : "",
		(long long)report__int(c, "id", 0), address);
	char *low = g_ascii_strdown(key, -1);
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)low, strlen(low), md);
	g_free(key);
	g_free(low);
	char hex[41];
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return g_strdup_printf("vigil-notify.%.40s@%s", hex, strrchr(from_addr, '@') + 1);
}

static bool all_ascii_short_lines(const char *s)
{
	size_t col = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x80)
			return false;
		col = *p == '\n' ? 0 : col + 1;
		if (col > 76)
			return false;
	}
	return true;
}

/* Builds the RFC 5322 bytes with GMime: headers encoded (RFC 2047) where
 * they are not ASCII, a text/plain; charset=utf-8 body, 7bit when it is
 * ASCII in short lines, else quoted-printable (any relay carries it, with
 * or without 8BITMIME), CRLF line ends as SMTP wants them. */
static int mime_message(vigil_notification *n, const char *from_addr, const char *from_name,
	int64_t now, char *err, size_t err_size)
{
	GMimeMessage *msg = g_mime_message_new(TRUE);
	/* Names in UTF-8 when not ASCII (GMime would pick the smallest
	 * charset that fits, ISO-8859-1 for "Léa"). */
	InternetAddress *fa = internet_address_mailbox_new(from_name, from_addr);
	InternetAddress *ta = internet_address_mailbox_new(n->to_name, n->to);
	internet_address_set_charset(fa, "utf-8");
	internet_address_set_charset(ta, "utf-8");
	internet_address_list_add(g_mime_message_get_from(msg), fa);
	internet_address_list_add(g_mime_message_get_to(msg), ta);
	g_object_unref(fa);
	g_object_unref(ta);
	g_mime_message_set_subject(msg, n->subject, "utf-8");
	GDateTime *dt = g_date_time_new_from_unix_utc(now);
	if (dt) {
		g_mime_message_set_date(msg, dt);
		g_date_time_unref(dt);
	}
	g_mime_message_set_message_id(msg, n->message_id);
	/* RFC 3834: no vacation or out-of-office replies to a machine. */
	g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted", "auto-generated", NULL);

	GMimePart *part = g_mime_part_new_with_type("text", "plain");
	g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
	GMimeStream *body = g_mime_stream_mem_new_with_buffer(n->body, strlen(n->body));
	GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(body, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, dw);
	g_object_unref(dw);
	g_object_unref(body);
	g_mime_part_set_content_encoding(part, all_ascii_short_lines(n->body)
						       ? GMIME_CONTENT_ENCODING_7BIT
						       : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(part));
	g_object_unref(part);

	GMimeFormatOptions *fo = g_mime_format_options_new();
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	GMimeStream *mem = g_mime_stream_mem_new();
	int rc = 0;
	if (g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, mem) < 0) {
		if (err)
			snprintf(err, err_size, "%s: GMime could not write the message", n->to);
		rc = VIGIL_EINTERNAL;
	} else {
		GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		/* GMime writes the body's LF as they are; SMTP wants CRLF everywhere. */
		GString *g = g_string_sized_new(ba->len + 256);
		for (guint i = 0; i < ba->len; i++) {
			if (ba->data[i] == '\n' && (i == 0 || ba->data[i - 1] != '\r'))
				g_string_append_c(g, '\r');
			g_string_append_c(g, (char)ba->data[i]);
		}
		if (g->len < 2 || memcmp(g->str + g->len - 2, "\r\n", 2) != 0)
			g_string_append(g, "\r\n");
		n->raw_len = g->len;
		n->raw = g_string_free(g, FALSE);
	}
	g_object_unref(mem);
	g_mime_format_options_free(fo);
	g_object_unref(msg);
	return rc;
}

void vigil_notification_free(vigil_notification *n)
{
	if (!n)
		return;
	g_free(n->to);
	g_free(n->to_name);
	g_free(n->subject);
	g_free(n->body);
	g_free(n->message_id);
	g_free(n->raw);
	free(n);
}

int notify__build(vigil_notification **out, const vigil_notify_template *t, json_t *c,
	const char *address, const vigil_notify_options *opt, char *err, size_t err_size)
{
	*out = NULL;
	g_once(&gmime_once, gmime_init_once, NULL);
	if (!t || !c || !address || !opt)
		return VIGIL_EINVAL;
	char *from_addr, *from_name;
	int rc = notify__parse_from(opt->from, &from_addr, &from_name, err, err_size);
	if (rc)
		return rc;
	json_t *target = NULL, *x;
	size_t i;
	json_array_foreach(json_object_get(c, "targets"), i, x)
		if (same_address(report__str(x, "address"), address))
			target = x;
	if (!target) {
		if (err)
			snprintf(err, err_size, "%s is not a target of campaign %lld", address,
				(long long)report__int(c, "id", 0));
		rc = VIGIL_EINVAL;
	} else if (!notify__address_ok(address)) {
		if (err)
			snprintf(err, err_size, "%s: not an address SMTP can deliver to", address);
		rc = VIGIL_EINVAL;
	}
	values v = {{0}};
	if (!rc)
		rc = make_values(&v, c, target, opt, from_addr, from_name, err, err_size);
	vigil_notification *n = NULL;
	if (!rc && !(n = calloc(1, sizeof(*n))))
		rc = VIGIL_ENOMEM;
	if (!rc) {
		n->to = g_strdup(report__str(target, "address"));
		n->to_name = safe_text(report__str(target, "name"));
		if (!*n->to_name) {
			g_free(n->to_name);
			n->to_name = NULL;
		}
		GString *s = g_string_new(NULL);
		notify__render(s, t->subject, (const char *const *)v.v);
		/* A value never splits the Subject into two headers. */
		for (gsize k = 0; k < s->len; k++)
			if (s->str[k] == '\n' || s->str[k] == '\r' || s->str[k] == '\t')
				s->str[k] = ' ';
		n->subject = g_string_free(s, FALSE);
		GString *b = g_string_new(NULL);
		notify__render(b, t->body, (const char *const *)v.v);
		n->body = wrap_text(b->str);
		g_string_free(b, TRUE);
		n->message_id = message_id(c, n->to, from_addr);
		char *all = g_strconcat(n->subject, "\n", n->body, NULL), *leak = NULL;
		if (leaks(c, all, &leak)) {
			if (err)
				snprintf(err, err_size,
					"%s: the notification would show the tracker host %s in clear "
					"(a template must not name it; vigil's placeholders defang it)",
					t->path, leak);
			rc = VIGIL_ECONFIG;
		}
		g_free(leak);
		g_free(all);
	}
	if (!rc)
		rc = mime_message(n, from_addr, from_name, opt->now, err, err_size);
	values_free(&v);
	g_free(from_addr);
	g_free(from_name);
	if (rc) {
		vigil_notification_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

int vigil_notify_build(vigil_notification **out, const vigil_notify_template *t,
	const char *campaign_json, const char *address, const vigil_notify_options *opt,
	char *err, size_t err_size)
{
	if (err && err_size)
		err[0] = '\0';
	if (!out)
		return VIGIL_EINVAL;
	*out = NULL;
	if (!campaign_json)
		return VIGIL_EINVAL;
	json_error_t je;
	json_t *doc = json_loads(campaign_json, 0, &je);
	json_t *c = json_is_array(doc) && json_array_size(doc) == 1 ? json_array_get(doc, 0) : doc;
	if (!json_is_object(c) || !json_is_array(json_object_get(c, "targets")) ||
		!json_is_array(json_object_get(c, "messages"))) {
		if (err)
			snprintf(err, err_size, "not a campaign document%s%s", doc ? "" : ": ",
				doc ? "" : je.text);
		json_decref(doc);
		return VIGIL_EPARSE;
	}
	int rc = notify__build(out, t, c, address, opt, err, err_size);
	json_decref(doc);
	return rc;
}
