/*
 * The HTML report: one self-contained page per report (inline CSS, inline
 * SVG chart, no script, no font, image or link that loads anything, and a
 * Content-Security-Policy that forbids all loads should any slip in). All
 * text is escaped: subjects, names and lure text come from the attacker.
 * Tracker URLs and hosts are shown defanged, as text, never as links.
 */
#include <glib.h>
#include <string.h>
#include <time.h>

#include "report/campaign_report.h"

/* Rows of the messages table per campaign; the CSV report has them all. */
#define HTML_MAX_MESSAGE_ROWS 200
/* Bars of the timeline: days are grouped so that a campaign of any length
 * fits the chart's width with bars still wide enough to see. */
#define HTML_MAX_BARS 90

static const char css[] =
	":root{--ink:#1f2937;--mute:#6b7280;--line:#e5e7eb;--bg:#f8fafc;--card:#fff;"
	"--accent:#1e3a8a;--msg:#2563eb;--open:#ea580c}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 -apple-system,"
	"'Segoe UI',Roboto,'Helvetica Neue',Arial,'Liberation Sans','DejaVu Sans',sans-serif}"
	".page{max-width:1120px;margin:0 auto;padding:24px 28px 40px}"
	".tlpbar{display:flex;justify-content:flex-end;margin-bottom:8px}"
	".tlp{background:#000;font-weight:700;letter-spacing:.04em;padding:3px 10px;border-radius:3px;"
	"font-size:13px}"
	".tlp-amber{color:#ffc000}.tlp-red{color:#ff2b2b}.tlp-green{color:#33ff00}.tlp-clear{color:#fff}"
	"header.report{border-bottom:3px solid var(--accent);padding-bottom:12px;margin-bottom:20px}"
	"header.report h1{margin:0 0 4px;font-size:26px;color:var(--accent)}"
	".meta{color:var(--mute);margin:0}"
	"section.campaign{background:var(--card);border:1px solid var(--line);border-radius:8px;"
	"padding:20px 24px;margin:0 0 28px;box-shadow:0 1px 2px rgba(0,0,0,.04)}"
	".ch{display:flex;align-items:center;gap:12px;flex-wrap:wrap}"
	".ch h2{margin:0;font-size:21px;overflow-wrap:anywhere}"
	"h3{font-size:15px;text-transform:uppercase;letter-spacing:.05em;color:var(--accent);"
	"margin:26px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}"
	".badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;"
	"font-weight:600;color:#fff;background:#6b7280;text-transform:uppercase;letter-spacing:.04em;"
	"white-space:nowrap}"
	".bidi{color:#b91c1c;font-weight:600}"
	".v-malicious{background:#b91c1c}.v-recon{background:#c2410c}.v-suspicious{background:#a16207}"
	".v-tracking{background:#1d4ed8}.v-clean{background:#15803d}"
	".yes{background:#b91c1c}.no{background:#9ca3af}"
	".dates{color:var(--mute);margin:6px 0 14px}"
	".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px}"
	".card{border:1px solid var(--line);border-radius:6px;padding:10px 14px;background:#fbfdff}"
	".card .n{font-size:24px;font-weight:700;color:var(--ink)}"
	".card .l{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}"
	"table{border-collapse:collapse;width:100%;font-size:13px}"
	"th{text-align:left;background:#f1f5f9;color:#374151;font-weight:600;padding:6px 8px;"
	"border-bottom:1px solid var(--line)}"
	"td{padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top;"
	"overflow-wrap:anywhere;unicode-bidi:isolate}"
	"tr:nth-child(even) td{background:#fafafa}"
	"td.t{white-space:nowrap}table.targets td.mono{white-space:nowrap}"
	".scroll{overflow-x:auto}"
	".num{text-align:right;font-variant-numeric:tabular-nums}"
	".mono{font-family:ui-monospace,'SFMono-Regular',Consolas,'Liberation Mono',"
	"'DejaVu Sans Mono',monospace;font-size:12.5px}"
	".none{color:var(--mute);font-style:italic}"
	"figure{margin:0}svg{display:block;width:100%;height:auto}"
	".lure{border-left:4px solid var(--open);background:#fff7ed;padding:10px 14px;margin:0;"
	"white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:isolate}"
	".subject{font-weight:600;margin:0 0 6px;unicode-bidi:isolate}"
	"ul.reasons{margin:0;padding-left:20px}"
	".note{color:var(--mute);font-size:12px;margin:6px 0 0}"
	"footer{color:var(--mute);font-size:12px;border-top:1px solid var(--line);padding-top:10px}"
	"@media print{body{background:#fff}section.campaign{box-shadow:none;break-inside:auto}"
	".page{padding:0}}";

/* The code point of the bidirectional formatting character at `p` (LRE,
 * RLE, PDF, LRO, RLO, the isolates, LRM, RLM, ALM), or 0. */
static unsigned bidi_control(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;
	if (u[0] == 0xD8 && u[1] == 0x9C)
		return 0x061C;
	if (u[0] != 0xE2 || !u[1] || !u[2])
		return 0;
	unsigned cp = ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu);
	if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
		cp == 0x200F)
		return cp;
	return 0;
}

/* Appends `s` escaped for HTML text and attribute values, its URL schemes
 * defanged ("hxxp://"): any text of the page may come from the attacker
 * (a campaign name made from a URL, an X-Mailer, a display name), and a
 * mail client that forwards the page would turn "http://..." into a link.
 * C0 controls (other than tab and line feed) are not text: they become
 * U+FFFD. */
static void esc_text(GString *g, const char *s, bool markup)
{
	char *d = report__defang_text(s);
	for (const char *p = d; *p; p++) {
		unsigned char c = (unsigned char)*p;
		unsigned cp = bidi_control(p);
		if (cp) {
			/* Shown, not obeyed: an override would make "gnp.exe" read
			 * "exe.png" (the Trojan Source trick) in the analyst's eyes. */
			g_string_append_printf(g, markup ? "<span class=\"bidi\">[U+%04X]</span>" : "[U+%04X]",
				cp);
			p += cp == 0x061C ? 1 : 2;
			continue;
		}
		switch (c) {
		case '&': g_string_append(g, "&amp;"); break;
		case '<': g_string_append(g, "&lt;"); break;
		case '>': g_string_append(g, "&gt;"); break;
		case '"': g_string_append(g, "&quot;"); break;
		case '\'': g_string_append(g, "&#39;"); break;
		default:
			if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				g_string_append(g, "\xEF\xBF\xBD");
			else
				g_string_append_c(g, (char)c);
		}
	}
	g_free(d);
}

/* For text in elements; the <title> takes esc_text(..., false): no markup. */
static void esc(GString *g, const char *s)
{
	esc_text(g, s, true);
}

/* Appends the defanged form of `s`, escaped. */
static void esc_defanged(GString *g, const char *s)
{
	char *d = report__defang(s);
	esc(g, d);
	g_free(d);
}

/* "2021-01-14 08:02" (every time of the page is UTC, as it says), or "" */
static const char *when(int64_t t, char *buf, size_t size)
{
	buf[0] = '\0';
	if (t == REPORT_NO_TIME)
		return buf;
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm))
		strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
	return buf;
}

static void td_time(GString *g, json_t *o, const char *k)
{
	char buf[40];
	g_string_append(g, "<td class=\"t\">");
	const char *s = when(report__time(o, k), buf, sizeof(buf));
	if (*s)
		esc(g, s);
	else
		g_string_append(g, "<span class=\"none\">&mdash;</span>");
	g_string_append(g, "</td>");
}

static const char *verdict_class(const char *v)
{
	static const char *const known[] = {"malicious", "recon", "suspicious", "tracking", "clean"};
	for (size_t i = 0; v && i < G_N_ELEMENTS(known); i++)
		if (strcmp(v, known[i]) == 0)
			return known[i];
	return "unknown";
}

static void badge(GString *g, const char *verdict)
{
	g_string_append_printf(g, "<span class=\"badge v-%s\">", verdict_class(verdict));
	esc(g, verdict ? verdict : "unknown");
	g_string_append(g, "</span>");
}

static json_int_t count_of(json_t *c, const char *count_key, const char *list_key)
{
	return report__int(c, count_key, (json_int_t)json_array_size(json_object_get(c, list_key)));
}

static json_int_t opened_targets(json_t *c)
{
	json_int_t n = 0;
	size_t i;
	json_t *t;
	json_array_foreach (json_object_get(c, "targets"), i, t)
		n += json_is_true(json_object_get(t, "opened"));
	return n;
}

/* ---- the timeline chart --------------------------------------------------- */

static int64_t day_of(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

static void chart(GString *g, json_t *c)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(c, "messages"), i, v) {
		int64_t t = report__time(v, "date");
		if (t != REPORT_NO_TIME) {
			lo = MIN(lo, day_of(t));
			hi = MAX(hi, day_of(t));
		}
	}
	json_array_foreach (json_object_get(c, "opens"), i, v) {
		int64_t t = report__time(v, "time");
		if (t != REPORT_NO_TIME) {
			lo = MIN(lo, day_of(t));
			hi = MAX(hi, day_of(t));
		}
	}
	if (lo > hi) {
		g_string_append(g, "<p class=\"none\">No dated messages or opens.</p>");
		return;
	}
	int64_t days = hi - lo + 1;
	int64_t per = (days + HTML_MAX_BARS - 1) / HTML_MAX_BARS; /* days per bar */
	int nb = (int)((days + per - 1) / per);
	unsigned *msgs = g_new0(unsigned, (gsize)nb), *opens = g_new0(unsigned, (gsize)nb);
	json_array_foreach (json_object_get(c, "messages"), i, v) {
		int64_t t = report__time(v, "date");
		if (t != REPORT_NO_TIME)
			msgs[(day_of(t) - lo) / per]++;
	}
	json_array_foreach (json_object_get(c, "opens"), i, v) {
		int64_t t = report__time(v, "time");
		if (t != REPORT_NO_TIME)
			opens[(day_of(t) - lo) / per]++;
	}
	unsigned maxv = 1;
	for (int b = 0; b < nb; b++)
		maxv = MAX(maxv, MAX(msgs[b], opens[b]));
	/* Four gridlines at whole numbers. */
	unsigned step = (maxv + 3) / 4;
	unsigned top = step * 4;

	const double W = 1000, H = 260, L = 46, R = 12, T = 30, B = 44;
	const double pw = W - L - R, ph = H - T - B, gw = pw / nb;
	g_string_append_printf(g,
		"<figure><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
		"role=\"img\" aria-label=\"Messages received and opens per %s\" "
		"font-family=\"sans-serif\" font-size=\"12\">",
		W, H, per == 1 ? "day" : "period");
	for (unsigned k = 0; k <= 4; k++) {
		double y = T + ph - ph * (double)(k * step) / top;
		g_string_append_printf(g,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#6b7280\">%u</text>",
			L, y, W - R, y, k ? "#e5e7eb" : "#9ca3af", L - 6, y + 4, k * step);
	}
	for (int b = 0; b < nb; b++) {
		char d0[16], d1[16];
		time_t t0 = (time_t)((lo + (int64_t)b * per) * 86400), t1 = t0 + (time_t)((per - 1) * 86400);
		struct tm tm;
		gmtime_r(&t0, &tm);
		strftime(d0, sizeof(d0), "%Y-%m-%d", &tm);
		gmtime_r(&t1, &tm);
		strftime(d1, sizeof(d1), "%Y-%m-%d", &tm);
		/* Bars no wider than 26 units, centred: a one-day campaign is
		 * not two slabs across the chart. */
		double bw = MIN(gw * 0.38, 26.0), x = L + b * gw + gw / 2 - bw - gw * 0.1;
		double hm = ph * msgs[b] / top, ho = ph * opens[b] / top;
		const char *range_sep = per > 1 ? " to " : "";
		g_string_append_printf(g,
			"<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#2563eb\" rx=\"1\">"
			"<title>%s%s%s: %u message(s)</title></rect>",
			x + gw * 0.1, T + ph - hm, bw, hm, d0, range_sep, per > 1 ? d1 : "", msgs[b]);
		g_string_append_printf(g,
			"<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#ea580c\" rx=\"1\">"
			"<title>%s%s%s: %u open(s)</title></rect>",
			x + gw * 0.1 + bw, T + ph - ho, bw, ho, d0, range_sep, per > 1 ? d1 : "", opens[b]);
	}
	/* At most seven date labels, evenly spaced, the last bar always named. */
	int every = (nb + 6) / 7;
	for (int b = 0; b < nb; b++) {
		if (b % every != 0 && b != nb - 1)
			continue;
		if (b != nb - 1 && b + every > nb - 1 && nb - 1 - b < every / 2 + 1 && b != 0)
			continue; /* too close to the last label */
		char d[16];
		time_t t0 = (time_t)((lo + (int64_t)b * per) * 86400);
		struct tm tm;
		gmtime_r(&t0, &tm);
		strftime(d, sizeof(d), "%Y-%m-%d", &tm);
		double x = L + b * gw + gw / 2;
		g_string_append_printf(g,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9ca3af\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#374151\">%s</text>",
			x, T + ph, x, T + ph + 5, x, T + ph + 20, d);
	}
	g_string_append_printf(g,
		"<rect x=\"%.0f\" y=\"8\" width=\"12\" height=\"12\" fill=\"#2563eb\"/>"
		"<text x=\"%.0f\" y=\"18\" fill=\"#374151\">Messages received</text>"
		"<rect x=\"%.0f\" y=\"8\" width=\"12\" height=\"12\" fill=\"#ea580c\"/>"
		"<text x=\"%.0f\" y=\"18\" fill=\"#374151\">Opens (tracker hits in logs)</text>",
		W - R - 330, W - R - 313, W - R - 180, W - R - 163);
	if (per > 1)
		g_string_append_printf(g,
			"<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\" fill=\"#6b7280\">one bar = %lld days"
			"</text>",
			W - R, H - 6, (long long)per);
	g_string_append(g, "</svg></figure>");
	g_free(msgs);
	g_free(opens);
}

/* ---- tables ---------------------------------------------------------------- */

static void targets_table(GString *g, json_t *c)
{
	json_t *targets = json_object_get(c, "targets");
	if (!json_array_size(targets)) {
		g_string_append(g, "<p class=\"none\">No targets recorded.</p>");
		return;
	}
	g_string_append(g, "<div class=\"scroll\"><table class=\"targets\"><thead><tr><th>Recipient</th><th>Name</th>"
			   "<th>Received</th><th class=\"num\">Messages</th><th>Opened</th>"
			   "<th>First open</th><th class=\"num\">Opens</th><th>Notified</th></tr></thead>"
			   "<tbody>");
	size_t i;
	json_t *t;
	json_array_foreach (targets, i, t) {
		bool op = json_is_true(json_object_get(t, "opened"));
		g_string_append(g, "<tr><td class=\"mono\">");
		esc(g, report__str(t, "address"));
		g_string_append(g, "</td><td>");
		esc(g, report__str(t, "name"));
		g_string_append(g, "</td>");
		td_time(g, t, "first_received");
		g_string_append_printf(g, "<td class=\"num\">%" JSON_INTEGER_FORMAT "</td>",
			report__int(t, "messages", 0));
		g_string_append_printf(g, "<td><span class=\"badge %s\">%s</span></td>", op ? "yes" : "no",
			op ? "yes" : "no");
		td_time(g, t, "first_open");
		g_string_append_printf(g, "<td class=\"num\">%" JSON_INTEGER_FORMAT "</td>",
			report__int(t, "opens", 0));
		td_time(g, t, "notified");
		g_string_append(g, "</tr>");
	}
	g_string_append(g, "</tbody></table></div>");
}

static void ind_row(GString *g, const char *kind, const char *value, bool defang,
	const char *note)
{
	g_string_append(g, "<tr><td>");
	esc(g, kind);
	g_string_append(g, "</td><td class=\"mono\">");
	if (defang)
		esc_defanged(g, value);
	else
		esc(g, value);
	g_string_append(g, "</td><td>");
	esc(g, note);
	g_string_append(g, "</td></tr>");
}

static void ind_rows(GString *g, json_t *list, const char *kind, bool defang, const char *note,
	size_t *n)
{
	size_t i;
	json_t *v;
	json_array_foreach (list, i, v) {
		ind_row(g, kind, json_string_value(v), defang, note);
		++*n;
	}
}

/* Hosts, templates or domains, each noted as shared when it is. */
static void infra_rows(GString *g, json_t *c, json_t *list, const char *kind, const char *note,
	bool (*shared)(json_t *, const char *), const char *shared_note, size_t *n)
{
	size_t i;
	json_t *v;
	json_array_foreach (list, i, v) {
		const char *s = json_string_value(v);
		ind_row(g, kind, s, true, shared(c, s) ? shared_note : note);
		++*n;
	}
}

static void indicators_table(GString *g, json_t *c)
{
	json_t *tr = json_object_get(c, "trackers"), *se = json_object_get(c, "senders");
	GString *out = g;
	g = g_string_new(NULL);
	size_t n = 0;
	static const char service[] = "a known tracking service's: shared by all its customers, "
				      "not an indicator by itself";
	infra_rows(g, c, json_object_get(tr, "hosts"), "Tracker host",
		"hidden images in the mail load from it", report__shared_tracker, service, &n);
	infra_rows(g, c, json_object_get(tr, "url_templates"), "Tracker URL template",
		"the part in braces stands for the per-recipient token", report__shared_tracker, service, &n);
	ind_rows(g, json_object_get(se, "addresses"), "Sender address", true, NULL, &n);
	infra_rows(g, c, json_object_get(se, "domains"), "Sender domain", NULL,
		report__shared_domain, "a free-mail provider: not an indicator by itself", &n);
	ind_rows(g, json_object_get(se, "relay_ips"), "Relay address", true,
		"a Received hop came from it", &n);
	ind_rows(g, json_object_get(se, "x_mailers"), "X-Mailer", false, NULL, &n);
	ind_rows(g, json_object_get(c, "impersonates"), "Impersonates", false,
		"outlet or person the mail pretends to be", &n);
	size_t i;
	json_t *v;
	json_array_foreach (json_object_get(c, "indicators"), i, v) {
		char *kind = g_strdup_printf("Threat intel (%s)", report__str(v, "type"));
		const char *src = report__str(v, "source");
		char *note = src ? g_strdup_printf("from %s", src) : NULL;
		ind_row(g, kind, report__str(v, "value"), true, note);
		g_free(kind);
		g_free(note);
		n++;
	}
	if (n == 0) {
		g_string_append(out, "<p class=\"none\">No indicators recorded.</p>");
	} else {
		g_string_append(out, "<table class=\"indicators\"><thead><tr><th style=\"width:17%\">"
				     "Kind</th><th>Indicator (defanged)</th><th style=\"width:30%\">Note</th>"
				     "</tr></thead><tbody>");
		g_string_append_len(out, g->str, (gssize)g->len);
		g_string_append(out, "</tbody></table><p class=\"note\">Defanged: hxxp stands for http, "
				     "[.] for a dot and [@] for @, so that nothing here can be followed by "
				     "mistake.</p>");
	}
	g_string_free(g, TRUE);
}

static void messages_table(GString *g, json_t *c)
{
	json_t *msgs = json_object_get(c, "messages");
	if (!json_array_size(msgs)) {
		g_string_append(g, "<p class=\"none\">No messages recorded.</p>");
		return;
	}
	g_string_append(g, "<table class=\"messages\"><thead><tr><th style=\"width:12%\">Date</th>"
			   "<th style=\"width:30%\">From</th><th>Subject</th>"
			   "<th style=\"width:9%\">Verdict</th><th class=\"num\" style=\"width:6%\">Score"
			   "</th><th class=\"num\" style=\"width:8%\">Recipients</th></tr></thead><tbody>");
	size_t i;
	json_t *m;
	json_array_foreach (msgs, i, m) {
		if (i == HTML_MAX_MESSAGE_ROWS)
			break;
		g_string_append(g, "<tr>");
		td_time(g, m, "date");
		g_string_append(g, "<td>");
		const char *fname = report__str(m, "from_name");
		if (fname) {
			esc(g, fname);
			g_string_append(g, "<br>");
		}
		g_string_append(g, "<span class=\"mono\">");
		esc_defanged(g, report__str(m, "from"));
		g_string_append(g, "</span></td><td>");
		esc(g, report__str(m, "subject"));
		g_string_append(g, "</td><td>");
		badge(g, report__str(m, "verdict"));
		g_string_append_printf(g,
			"</td><td class=\"num\">%" JSON_INTEGER_FORMAT "</td><td class=\"num\">%zu</td></tr>",
			report__int(m, "score", 0), json_array_size(json_object_get(m, "recipients")));
	}
	g_string_append(g, "</tbody></table>");
	if (json_array_size(msgs) > HTML_MAX_MESSAGE_ROWS)
		g_string_append_printf(g,
			"<p class=\"note\">The first %d of %zu messages; the CSV report lists them all.</p>",
			HTML_MAX_MESSAGE_ROWS, json_array_size(msgs));
}

static void logins_table(GString *g, json_t *c)
{
	json_t *logins = json_object_get(c, "relay_logins");
	if (!json_array_size(logins))
		return;
	g_string_append(g, "<h3>Logins from the campaign's relays</h3><table><thead><tr><th>Time</th>"
			   "<th>Client address</th><th>Account</th><th>Service</th><th>Result</th>"
			   "</tr></thead><tbody>");
	size_t i;
	json_t *l;
	json_array_foreach (logins, i, l) {
		g_string_append(g, "<tr>");
		td_time(g, l, "time");
		g_string_append(g, "<td class=\"mono\">");
		esc_defanged(g, report__str(l, "client_ip"));
		g_string_append(g, "</td><td class=\"mono\">");
		esc(g, report__str(l, "account"));
		g_string_append(g, "</td><td>");
		esc(g, report__str(l, "service"));
		g_string_append(g, "</td><td>");
		json_t *ok = json_object_get(l, "success");
		g_string_append(g, json_is_true(ok) ? "succeeded" : json_is_false(ok) ? "failed" : "");
		g_string_append(g, "</td></tr>");
	}
	g_string_append(g, "</tbody></table>");
}

static void lure(GString *g, json_t *c)
{
	json_t *l = json_object_get(c, "lure");
	const char *subject = report__str(l, "subject"), *excerpt = report__str(l, "excerpt");
	/* Why the mail was flagged: the reasons of the first message that has. */
	json_t *reasons = NULL;
	size_t i;
	json_t *m;
	json_array_foreach (json_object_get(c, "messages"), i, m)
		if (json_array_size(json_object_get(m, "reasons"))) {
			reasons = json_object_get(m, "reasons");
			break;
		}
	if (reasons) {
		g_string_append(g, "<h3>Why vigil flagged it</h3><ul class=\"reasons\">");
		json_t *r;
		json_array_foreach (reasons, i, r) {
			g_string_append(g, "<li>");
			esc(g, json_string_value(r));
			g_string_append(g, "</li>");
		}
		g_string_append(g, "</ul><p class=\"note\">The reasons given for one message of the "
				   "campaign.</p>");
	}
	g_string_append(g, "<h3>Sample lure</h3>");
	if (!subject && !excerpt) {
		g_string_append(g, "<p class=\"none\">No lure text recorded.</p>");
		return;
	}
	if (subject) {
		g_string_append(g, "<p class=\"subject\">Subject: ");
		esc(g, subject);
		g_string_append(g, "</p>");
	}
	if (excerpt) {
		g_string_append(g, "<blockquote class=\"lure\">");
		esc(g, excerpt);
		g_string_append(g, "</blockquote>");
	}
}

static void card(GString *g, const char *n, const char *label)
{
	g_string_append(g, "<div class=\"card\"><div class=\"n\">");
	esc(g, n);
	g_string_append(g, "</div><div class=\"l\">");
	esc(g, label);
	g_string_append(g, "</div></div>");
}

static void campaign_section(GString *g, json_t *c)
{
	char namebuf[48], b1[40], b2[40], n[64];
	const char *name = report__campaign_name(c, namebuf, sizeof(namebuf));
	json_int_t id = report__int(c, "id", 0);
	g_string_append_printf(g, "<section class=\"campaign\" id=\"campaign-%" JSON_INTEGER_FORMAT
				  "\"><div class=\"ch\"><h2>",
		id);
	esc(g, name);
	g_string_append(g, "</h2>");
	badge(g, report__str(c, "verdict"));
	g_string_append(g, "</div><p class=\"dates\">");
	const char *f = when(report__time(c, "first_seen"), b1, sizeof(b1));
	const char *l = when(report__time(c, "last_seen"), b2, sizeof(b2));
	g_string_append(g, "First seen <strong>");
	esc(g, *f ? f : "unknown");
	g_string_append(g, "</strong> &middot; last seen <strong>");
	esc(g, *l ? l : "unknown");
	g_string_append_printf(g, "</strong> (UTC) &middot; vigil campaign %" JSON_INTEGER_FORMAT
				  "</p>",
		id);

	json_int_t targets = count_of(c, "target_count", "targets"), opened = opened_targets(c);
	g_string_append(g, "<div class=\"cards\">");
	snprintf(n, sizeof(n), "%" JSON_INTEGER_FORMAT, count_of(c, "message_count", "messages"));
	card(g, n, "messages");
	snprintf(n, sizeof(n), "%" JSON_INTEGER_FORMAT, targets);
	card(g, n, "targets");
	if (targets > 0)
		snprintf(n, sizeof(n), "%" JSON_INTEGER_FORMAT " (%d%%)", opened,
			(int)(opened * 100 / targets));
	else
		snprintf(n, sizeof(n), "%" JSON_INTEGER_FORMAT, opened);
	card(g, n, "targets who opened");
	snprintf(n, sizeof(n), "%" JSON_INTEGER_FORMAT, count_of(c, "open_count", "opens"));
	card(g, n, "opens seen in logs");
	g_string_append(g, "</div>");

	g_string_append(g, "<h3>Timeline</h3>");
	chart(g, c);
	g_string_append(g, "<h3>Targets</h3>");
	targets_table(g, c);
	g_string_append(g, "<h3>Indicators</h3>");
	indicators_table(g, c);
	g_string_append(g, "<h3>Messages</h3>");
	messages_table(g, c);
	logins_table(g, c);
	lure(g, c);
	g_string_append(g, "</section>");
}

static void overview(GString *g, json_t *campaigns)
{
	g_string_append(g, "<section class=\"campaign\"><h3 style=\"margin-top:0\">Campaigns</h3>"
			   "<table><thead><tr><th>Campaign</th><th>Verdict</th><th>First seen</th>"
			   "<th>Last seen</th><th class=\"num\">Messages</th><th class=\"num\">Targets</th>"
			   "<th class=\"num\">Opened</th></tr></thead><tbody>");
	size_t i;
	json_t *c;
	json_array_foreach (campaigns, i, c) {
		char namebuf[48];
		/* A link inside the page: the fragment loads nothing. */
		g_string_append_printf(g, "<tr><td><a href=\"#campaign-%" JSON_INTEGER_FORMAT "\">",
			report__int(c, "id", 0));
		esc(g, report__campaign_name(c, namebuf, sizeof(namebuf)));
		g_string_append(g, "</a></td><td>");
		badge(g, report__str(c, "verdict"));
		g_string_append(g, "</td>");
		td_time(g, c, "first_seen");
		td_time(g, c, "last_seen");
		g_string_append_printf(g,
			"<td class=\"num\">%" JSON_INTEGER_FORMAT "</td><td class=\"num\">%" JSON_INTEGER_FORMAT
			"</td><td class=\"num\">%" JSON_INTEGER_FORMAT "</td></tr>",
			count_of(c, "message_count", "messages"), count_of(c, "target_count", "targets"),
			opened_targets(c));
	}
	g_string_append(g, "</tbody></table></section>");
}

static int flush(GString *g, FILE *fp)
{
	size_t n = g->len;
	bool ok = fwrite(g->str, 1, n, fp) == n;
	g_string_truncate(g, 0);
	return ok ? 0 : VIGIL_EIO;
}

int report__html(const report_ctx *r)
{
	GString *g = g_string_new(NULL);
	size_t n = json_array_size(r->campaigns);
	char namebuf[48], nowbuf[40];
	char *title = r->title ? g_strdup(r->title)
		: n == 1
		? g_strdup_printf("Mail campaign: %s",
			  report__campaign_name(json_array_get(r->campaigns, 0), namebuf, sizeof(namebuf)))
		: g_strdup_printf("Mail campaigns (%zu)", n);
	const char *tlp = report__tlp_name(r->tlp);

	/* default-src 'none' forbids every fetch (images, fonts, frames,
	 * scripts, connections); inline style is the only thing allowed. The
	 * icon link stops the browser asking a server for /favicon.ico. */
	g_string_append(g, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			   "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
			   "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
			   "form-action 'none'\">\n"
			   "<meta name=\"referrer\" content=\"no-referrer\">\n"
			   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
			   "<meta name=\"generator\" content=\"vigil " VIGIL_VERSION "\">\n"
			   "<link rel=\"icon\" href=\"data:,\">\n<title>");
	esc_text(g, tlp, false);
	g_string_append(g, " &ndash; ");
	esc_text(g, title, false);
	g_string_append_printf(g, "</title>\n<style>%s</style>\n</head>\n<body>\n<div class=\"page\">\n",
		css);
	g_string_append_printf(g, "<div class=\"tlpbar\"><span class=\"tlp tlp-%s\">", report__tlp_tag(r->tlp) + 4);
	esc(g, tlp);
	g_string_append(g, "</span></div>\n<header class=\"report\"><h1>");
	esc(g, title);
	g_string_append(g, "</h1><p class=\"meta\">Reported by <strong>");
	esc(g, r->org);
	g_string_append(g, "</strong> &middot; written ");
	esc(g, when(r->now, nowbuf, sizeof(nowbuf)));
	g_string_append_printf(g, " UTC by vigil &middot; %zu campaign%s</p></header>\n", n,
		n == 1 ? "" : "s");
	if (n > 1)
		overview(g, r->campaigns);
	if (n == 0)
		g_string_append(g, "<p class=\"none\">No campaigns.</p>");
	int rc = flush(g, r->fp);
	size_t i;
	json_t *c;
	json_array_foreach (r->campaigns, i, c) {
		campaign_section(g, c);
		g_string_append_c(g, '\n');
		if (rc == 0)
			rc = flush(g, r->fp);
	}
	g_string_append(g, "<footer><p><strong>");
	esc(g, tlp);
	g_string_append(g, "</strong> ");
	switch (r->tlp) {
	case VIGIL_TLP_CLEAR: g_string_append(g, "Recipients may share this without limit."); break;
	case VIGIL_TLP_GREEN:
		g_string_append(g, "Recipients may share this within their community, not publicly.");
		break;
	case VIGIL_TLP_RED:
		g_string_append(g, "For the named recipients only; no further disclosure.");
		break;
	case VIGIL_TLP_AMBER:
		g_string_append(g, "Limited disclosure: recipients may share this on a need-to-know "
				   "basis within their organisation and its clients.");
		break;
	}
	g_string_append(g, "</p><p>This page loads nothing from the network. Indicators are "
			   "defanged; addresses, names and lure text are shown as the mail carried them."
			   "</p></footer>\n</div>\n</body>\n</html>\n");
	if (rc == 0)
		rc = flush(g, r->fp);
	g_string_free(g, TRUE);
	g_free(title);
	return rc;
}
