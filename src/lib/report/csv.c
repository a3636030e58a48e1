/*
 * The CSV report (RFC 4180: CRLF line ends, a header row, fields quoted when
 * they hold a comma, quote or line break): one row per campaign, message and
 * recipient, for analysts who sort and filter in a spreadsheet. Cells that a
 * spreadsheet would run as a formula are neutralised; nothing else changes.
 */
#include <glib.h>
#include <string.h>

#include "report/campaign_report.h"

static const char *const columns[] = {"campaign_id", "campaign_name", "message_date",
	"message_id", "from", "from_name", "subject", "verdict", "score", "recipient",
	"recipient_name", "opened", "first_open", "source_path", "source_offset"};

/* Writes one field. A cell starting with = + - @ (or a tab or CR, which
 * some spreadsheets skip before looking) is a formula to Excel, LibreOffice
 * and Google Sheets; a subject "=HYPERLINK(...)" from the attacker would run
 * on the analyst's machine (OWASP "CSV injection"). A leading apostrophe
 * makes it text. */
static void field(GString *row, const char *s, bool last)
{
	s = s ? s : "";
	bool formula = strchr("=+-@\t\r", s[0]) && s[0];
	bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		g_string_append_c(row, '"');
	if (formula)
		g_string_append_c(row, '\'');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			g_string_append_c(row, '"');
		g_string_append_c(row, *p);
	}
	if (quote)
		g_string_append_c(row, '"');
	g_string_append(row, last ? "\r\n" : ",");
}

static void int_field(GString *row, json_int_t v, bool known)
{
	if (known)
		g_string_append_printf(row, "%" JSON_INTEGER_FORMAT, v);
	g_string_append_c(row, ',');
}

/* A campaign's targets and opens by lower-cased recipient address, so a
 * row costs a lookup and not a walk over every target and open. */
typedef struct campaign_index {
	GHashTable *targets; /* address -> json_t target */
	GHashTable *opens;   /* address -> GPtrArray of json_t open */
} campaign_index;

static void index_build(campaign_index *ix, json_t *c)
{
	ix->targets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	ix->opens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
		(GDestroyNotify)g_ptr_array_unref);
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(c, "targets"), i, v) {
		char *k = g_ascii_strdown(report__str(v, "address"), -1);
		if (g_hash_table_contains(ix->targets, k))
			g_free(k);
		else
			g_hash_table_insert(ix->targets, k, v);
	}
	json_array_foreach (json_object_get(c, "opens"), i, v) {
		const char *rcpt = report__str(v, "recipient");
		if (!rcpt)
			continue;
		char *k = g_ascii_strdown(rcpt, -1);
		GPtrArray *list = g_hash_table_lookup(ix->opens, k);
		if (!list) {
			list = g_ptr_array_new();
			g_hash_table_insert(ix->opens, k, list);
		} else {
			g_free(k);
		}
		g_ptr_array_add(list, v);
	}
}

static void index_free(campaign_index *ix)
{
	g_hash_table_destroy(ix->targets);
	g_hash_table_destroy(ix->opens);
}

/* Whether the recipient opened `message_id`, and when first: from the
 * opens recorded for exactly that message, or attributed to the recipient
 * without a message (a proxy hit matched by address and time); from the
 * target's summary when the document has no open records for them. */
static bool opened(GPtrArray *opens, json_t *target, const char *message_id, int64_t *first)
{
	*first = REPORT_NO_TIME;
	bool hit = false;
	for (guint i = 0; opens && i < opens->len; i++) {
		json_t *o = opens->pdata[i];
		const char *mid = report__str(o, "message_id");
		if (mid && message_id && strcmp(mid, message_id) != 0)
			continue;
		hit = true;
		int64_t t = report__time(o, "time");
		if (t != REPORT_NO_TIME && (*first == REPORT_NO_TIME || t < *first))
			*first = t;
	}
	if (!opens && target && json_is_true(json_object_get(target, "opened"))) {
		*first = report__time(target, "first_open");
		return true;
	}
	return hit;
}

static void message_rows(GString *out, json_t *c, const campaign_index *ix, json_t *m, const char *cname)
{
	json_t *rcpts = json_object_get(m, "recipients");
	json_t *src = json_array_get(json_object_get(m, "sources"), 0);
	json_t *off = json_object_get(src, "offset");
	char date[32], fo[32];
	report__iso(report__time(m, "date"), date, sizeof(date));
	/* A message whose recipients are unknown still gets its row. */
	size_t n = json_array_size(rcpts) ? json_array_size(rcpts) : 1;
	for (size_t k = 0; k < n; k++) {
		const char *rcpt = json_string_value(json_array_get(rcpts, k));
		json_t *target = NULL;
		int64_t first = REPORT_NO_TIME;
		bool op = false;
		if (rcpt) {
			char *key = g_ascii_strdown(rcpt, -1);
			target = g_hash_table_lookup(ix->targets, key);
			op = opened(g_hash_table_lookup(ix->opens, key), target,
				report__str(m, "message_id"), &first);
			g_free(key);
		}
		report__iso(first, fo, sizeof(fo));
		int_field(out, report__int(c, "id", 0), true);
		field(out, cname, false);
		field(out, date, false);
		field(out, report__str(m, "message_id"), false);
		field(out, report__str(m, "from"), false);
		field(out, report__str(m, "from_name"), false);
		field(out, report__str(m, "subject"), false);
		field(out, report__str(m, "verdict"), false);
		int_field(out, report__int(m, "score", 0), json_is_integer(json_object_get(m, "score")));
		field(out, rcpt, false);
		field(out, target ? report__str(target, "name") : NULL, false);
		field(out, rcpt ? (op ? "yes" : "no") : "", false);
		field(out, fo, false);
		field(out, report__str(src, "path"), false);
		/* -1 means "a file of its own", which is no offset to show. */
		if (json_is_integer(off) && json_integer_value(off) >= 0)
			g_string_append_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(off));
		g_string_append(out, "\r\n");
	}
}

int report__csv(const report_ctx *r)
{
	GString *out = g_string_new(NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(columns); i++)
		field(out, columns[i], i + 1 == G_N_ELEMENTS(columns));
	size_t i;
	json_t *c;
	int rc = 0;
	json_array_foreach (r->campaigns, i, c) {
		char namebuf[48];
		const char *cname = report__campaign_name(c, namebuf, sizeof(namebuf));
		campaign_index ix;
		index_build(&ix, c);
		size_t k;
		json_t *m;
		json_array_foreach (json_object_get(c, "messages"), k, m) {
			message_rows(out, c, &ix, m, cname);
			/* Written in pieces: a campaign of 100,000 messages must not
			 * become one string first. */
			if (out->len > 65536) {
				if (fwrite(out->str, 1, out->len, r->fp) != out->len)
					rc = VIGIL_EIO;
				g_string_truncate(out, 0);
			}
		}
		index_free(&ix);
	}
	if (out->len && fwrite(out->str, 1, out->len, r->fp) != out->len)
		rc = VIGIL_EIO;
	g_string_free(out, TRUE);
	return rc;
}
