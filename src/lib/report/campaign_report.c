/*
 * vigil_report_write(): parses the campaign documents, checks them against
 * their documented shape (so the writers never meet a wrong type), and hands
 * them to the writer of the format. Also the helpers the writers share:
 * name-based UUIDs, times, defanging. It writes no format itself.
 */
#include <glib.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/campaign_report.h"

/* ---- the document's shape ------------------------------------------------ */

typedef enum field_kind { K_STR, K_TIME, K_INT, K_BOOL, K_OBJ, K_STRS, K_OBJS } field_kind;

typedef struct field {
	const char *key;
	field_kind kind;
	bool required;
	const struct field *sub; /* K_OBJ, K_OBJS: the members' fields */
} field;

static const field source_fields[] = {
	{"path", K_STR, false, NULL}, {"offset", K_INT, false, NULL}, {NULL, 0, false, NULL}};
static const field message_fields[] = {{"id", K_INT, false, NULL},
	{"sha256", K_STR, false, NULL}, {"message_id", K_STR, false, NULL},
	{"date", K_TIME, false, NULL}, {"from", K_STR, false, NULL},
	{"from_name", K_STR, false, NULL}, {"subject", K_STR, false, NULL},
	{"verdict", K_STR, false, NULL}, {"score", K_INT, false, NULL},
	{"recipients", K_STRS, false, NULL}, {"sources", K_OBJS, false, source_fields},
	{"reasons", K_STRS, false, NULL}, {"tracker_urls", K_STRS, false, NULL},
	{NULL, 0, false, NULL}};
static const field target_fields[] = {{"address", K_STR, true, NULL},
	{"name", K_STR, false, NULL}, {"messages", K_INT, false, NULL},
	{"first_received", K_TIME, false, NULL}, {"opened", K_BOOL, false, NULL},
	{"first_open", K_TIME, false, NULL}, {"opens", K_INT, false, NULL},
	{"notified", K_TIME, false, NULL}, {NULL, 0, false, NULL}};
static const field open_fields[] = {{"recipient", K_STR, false, NULL},
	{"campaign", K_INT, false, NULL}, {"message_id", K_STR, false, NULL},
	{"time", K_TIME, false, NULL}, {"client_ip", K_STR, false, NULL},
	{"url", K_STR, false, NULL}, {"user_agent", K_STR, false, NULL},
	{"confidence", K_STR, false, NULL}, {NULL, 0, false, NULL}};
static const field login_fields[] = {{"time", K_TIME, false, NULL},
	{"client_ip", K_STR, false, NULL}, {"account", K_STR, false, NULL},
	{"service", K_STR, false, NULL}, {"success", K_BOOL, false, NULL},
	{"source", K_STR, false, NULL}, {NULL, 0, false, NULL}};
static const field indicator_fields[] = {{"type", K_STR, true, NULL},
	{"value", K_STR, true, NULL}, {"source", K_STR, false, NULL}, {NULL, 0, false, NULL}};
static const field sender_fields[] = {{"addresses", K_STRS, false, NULL},
	{"domains", K_STRS, false, NULL}, {"free_mail_domains", K_STRS, false, NULL},
	{"x_mailers", K_STRS, false, NULL}, {"relay_ips", K_STRS, false, NULL},
	{NULL, 0, false, NULL}};
static const field tracker_fields[] = {{"hosts", K_STRS, false, NULL},
	{"known_hosts", K_STRS, false, NULL}, {"url_templates", K_STRS, false, NULL},
	{NULL, 0, false, NULL}};
static const field lure_fields[] = {
	{"subject", K_STR, false, NULL}, {"excerpt", K_STR, false, NULL}, {NULL, 0, false, NULL}};
static const field campaign_fields[] = {{"id", K_INT, true, NULL},
	{"uuid", K_STR, false, NULL}, {"name", K_STR, false, NULL},
	{"verdict", K_STR, false, NULL}, {"verdicts", K_OBJ, false, NULL},
	{"first_seen", K_TIME, false, NULL}, {"last_seen", K_TIME, false, NULL},
	{"created", K_TIME, false, NULL}, {"message_count", K_INT, false, NULL},
	{"target_count", K_INT, false, NULL}, {"open_count", K_INT, false, NULL},
	{"senders", K_OBJ, false, sender_fields}, {"trackers", K_OBJ, false, tracker_fields},
	{"impersonates", K_STRS, false, NULL}, {"indicators", K_OBJS, false, indicator_fields},
	{"messages", K_OBJS, false, message_fields}, {"targets", K_OBJS, false, target_fields},
	{"opens", K_OBJS, false, open_fields}, {"relay_logins", K_OBJS, false, login_fields},
	{"lure", K_OBJ, false, lure_fields}, {NULL, 0, false, NULL}};

static int fail(char *err, size_t n, const char *fmt, ...)
{
	if (err && n) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, n, fmt, ap);
		va_end(ap);
	}
	return VIGIL_EPARSE;
}

static const char *kind_name(field_kind k)
{
	switch (k) {
	case K_STR: return "a string";
	case K_TIME: return "an ISO 8601 time";
	case K_INT: return "an integer";
	case K_BOOL: return "true or false";
	case K_OBJ: return "an object";
	case K_STRS: return "a list of strings";
	case K_OBJS: return "a list of objects";
	}
	return "?";
}

static int check_object(json_t *o, const field *fields, const char *where, char *err, size_t n);

static int check_value(json_t *v, const field *f, const char *where, char *err, size_t n)
{
	int64_t t;
	switch (f->kind) {
	case K_STR: return json_is_string(v) ? 0 : -1;
	case K_TIME:
		if (!json_is_string(v))
			return -1;
		return report__parse_time(json_string_value(v), &t);
	case K_INT: return json_is_integer(v) ? 0 : -1;
	case K_BOOL: return json_is_boolean(v) ? 0 : -1;
	case K_OBJ:
		if (!json_is_object(v))
			return -1;
		return f->sub ? check_object(v, f->sub, where, err, n) : 0;
	case K_STRS:
	case K_OBJS: {
		if (!json_is_array(v))
			return -1;
		size_t i;
		json_t *e;
		json_array_foreach (v, i, e) {
			char w[300];
			snprintf(w, sizeof(w), "%.256s[%zu]", where, i);
			if (f->kind == K_STRS && !json_is_string(e))
				return fail(err, n, "%s: not a string", w);
			if (f->kind == K_OBJS) {
				if (!json_is_object(e))
					return fail(err, n, "%s: not an object", w);
				int rc = check_object(e, f->sub, w, err, n);
				if (rc)
					return rc;
			}
		}
		return 0;
	}
	}
	return -1;
}

static int check_object(json_t *o, const field *fields, const char *where, char *err, size_t n)
{
	for (const field *f = fields; f->key; f++) {
		json_t *v = json_object_get(o, f->key);
		char w[300];
		snprintf(w, sizeof(w), "%.256s%s%s", where, *where ? "." : "", f->key);
		if (!v || json_is_null(v)) {
			if (f->required)
				return fail(err, n, "%s: missing", w);
			continue;
		}
		int rc = check_value(v, f, w, err, n);
		if (rc == VIGIL_EPARSE)
			return rc;
		if (rc)
			return fail(err, n, "%s: not %s", w, kind_name(f->kind));
		/* The writers key on these (a target's address, an indicator's
		 * value): "" would be a nameless person or an empty pattern. */
		if (f->required && f->kind == K_STR && !*json_string_value(v))
			return fail(err, n, "%s: empty", w);
	}
	return 0;
}

static int check_campaigns(json_t *root, char *err, size_t n)
{
	if (!json_is_array(root))
		return fail(err, n, "campaigns: not a JSON array of campaign documents");
	size_t i;
	json_t *c;
	json_array_foreach (root, i, c) {
		char w[64];
		if (!json_is_object(c))
			return fail(err, n, "campaign [%zu]: not an object", i);
		json_t *id = json_object_get(c, "id");
		if (json_is_integer(id))
			snprintf(w, sizeof(w), "campaign %" JSON_INTEGER_FORMAT, json_integer_value(id));
		else
			snprintf(w, sizeof(w), "campaign [%zu]", i);
		/* The field paths below start after "campaign N: ". */
		char sub[1024];
		int rc = check_object(c, campaign_fields, "", sub, sizeof(sub));
		if (rc)
			return fail(err, n, "%s: %s", w, sub);
	}
	return 0;
}

/* ---- the entry point ----------------------------------------------------- */

int vigil_report_write(FILE *fp, vigil_report_format fmt, const char *campaigns_json,
	int64_t now, const vigil_report_options *opt, char *err, size_t err_size)
{
	if (err && err_size)
		err[0] = '\0';
	if (!fp || !campaigns_json || fmt < VIGIL_REPORT_STIX || fmt > VIGIL_REPORT_HTML ||
		(opt && (opt->tlp < VIGIL_TLP_AMBER || opt->tlp > VIGIL_TLP_RED))) {
		if (err && err_size)
			snprintf(err, err_size, "vigil_report_write: bad argument");
		return VIGIL_EINVAL;
	}
	json_error_t je;
	json_t *root = json_loads(campaigns_json, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return fail(err, err_size, "campaigns: line %d, column %d: %s", je.line, je.column,
			je.text);
	int rc = check_campaigns(root, err, err_size);
	if (rc) {
		json_decref(root);
		return rc;
	}
	report_ctx r = {
		.fp = fp,
		.campaigns = root,
		.now = now,
		.org = opt && opt->org_name && *opt->org_name ? opt->org_name : "vigil",
		.title = opt && opt->title && *opt->title ? opt->title : NULL,
		.tlp = opt ? opt->tlp : VIGIL_TLP_AMBER,
		.targets = !(opt && opt->omit_targets),
	};
	switch (fmt) {
	case VIGIL_REPORT_STIX: rc = report__stix(&r); break;
	case VIGIL_REPORT_MISP: rc = report__misp(&r); break;
	case VIGIL_REPORT_CSV: rc = report__csv(&r); break;
	case VIGIL_REPORT_HTML: rc = report__html(&r); break;
	}
	json_decref(root);
	if (rc == 0 && (fflush(fp) != 0 || ferror(fp)))
		rc = VIGIL_EIO;
	if (rc && err && err_size && !err[0])
		snprintf(err, err_size, "writing the report: %s", vigil_strerror(rc));
	return rc;
}

/* ---- ids ------------------------------------------------------------------- */

/* uuid5(NAMESPACE_URL, "urn:vigil:report"): vigil's own namespace, so its
 * ids cannot collide with name-based ids others derive from the same text. */
static const unsigned char report_ns[16] = {0x08, 0x21, 0x10, 0xf4, 0x4a, 0x0c, 0x59, 0x6e,
	0x97, 0x61, 0x10, 0xc2, 0xa6, 0xc0, 0x2f, 0x8a};

void report__uuid5(char out[37], const char *name)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok = c && EVP_DigestInit_ex(c, EVP_sha1(), NULL) &&
		EVP_DigestUpdate(c, report_ns, sizeof(report_ns)) &&
		EVP_DigestUpdate(c, name, strlen(name)) && EVP_DigestFinal_ex(c, md, &len);
	EVP_MD_CTX_free(c);
	if (!ok)
		memset(md, 0, sizeof(md)); /* libcrypto's SHA-1 does not fail short of OOM */
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
}

void report__uuid5_of(char out[37], const char *kind, const char *a, const char *b)
{
	char *name = g_strconcat(kind, "\n", a ? a : "", "\n", b ? b : "", NULL);
	report__uuid5(out, name);
	g_free(name);
}

bool report__is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !g_ascii_isxdigit(s[i]))
			return false;
	}
	return true;
}

/* ---- times ----------------------------------------------------------------- */

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil): timegm() would do, but is not in C11. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int report__parse_time(const char *s, int64_t *out)
{
	int Y, M, D, h, m, sec;
	if (!s || strlen(s) < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) ||
		s[7] != '-' || !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
		!digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' ||
		!digits(s + 17, 2, &sec))
		return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || (M == 2 && D == 29 && !leap) ||
		h > 23 || m > 59 || sec > 60)
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*out = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - off;
	return 0;
}

int64_t report__time(json_t *o, const char *k)
{
	int64_t t;
	const char *s = json_string_value(json_object_get(o, k));
	return s && report__parse_time(s, &t) == 0 ? t : REPORT_NO_TIME;
}

/* Four-digit years always: strftime's %Y writes year 1 as "1", which is
 * no RFC 3339 time, and a bogus Date header can say year 1. */
static void format_time(int64_t t, const char *frac, char *buf, size_t size)
{
	buf[0] = '\0';
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm))
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

void report__iso(int64_t t, char *buf, size_t size)
{
	buf[0] = '\0';
	if (t != REPORT_NO_TIME)
		format_time(t, "", buf, size);
}

void report__stix_time(int64_t t, char *buf, size_t size)
{
	format_time(t == REPORT_NO_TIME ? 0 : t, ".000", buf, size);
}

/* ---- values ---------------------------------------------------------------- */

const char *report__str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : NULL;
}

json_int_t report__int(json_t *o, const char *k, json_int_t dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

bool report__in_list(json_t *list, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach (list, i, v)
		if (s && g_ascii_strcasecmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* The host of a URL template ("http://h:8080/x/{token}"), lower-cased. */
static void template_host(const char *t, char *buf, size_t size)
{
	buf[0] = '\0';
	const char *p = t ? strstr(t, "://") : NULL;
	if (!p)
		return;
	p += 3;
	size_t n = strcspn(p, "/?#:");
	if (n >= size)
		n = size - 1;
	for (size_t i = 0; i < n; i++)
		buf[i] = g_ascii_tolower(p[i]);
	buf[n] = '\0';
}

bool report__shared_domain(json_t *c, const char *domain)
{
	return report__in_list(json_object_get(json_object_get(c, "senders"), "free_mail_domains"),
		domain);
}

bool report__shared_tracker(json_t *c, const char *host_or_template)
{
	json_t *known = json_object_get(json_object_get(c, "trackers"), "known_hosts");
	if (report__in_list(known, host_or_template))
		return true;
	char host[256];
	template_host(host_or_template, host, sizeof(host));
	return *host && report__in_list(known, host);
}

const char *report__campaign_name(json_t *c, char *buf, size_t size)
{
	const char *name = report__str(c, "name");
	if (name)
		return name;
	snprintf(buf, size, "campaign %" JSON_INTEGER_FORMAT, report__int(c, "id", 0));
	return buf;
}

const char *report__tlp_tag(vigil_report_tlp tlp)
{
	switch (tlp) {
	case VIGIL_TLP_CLEAR: return "tlp:clear";
	case VIGIL_TLP_GREEN: return "tlp:green";
	case VIGIL_TLP_RED: return "tlp:red";
	case VIGIL_TLP_AMBER: break;
	}
	return "tlp:amber";
}

const char *report__tlp_name(vigil_report_tlp tlp)
{
	switch (tlp) {
	case VIGIL_TLP_CLEAR: return "TLP:CLEAR";
	case VIGIL_TLP_GREEN: return "TLP:GREEN";
	case VIGIL_TLP_RED: return "TLP:RED";
	case VIGIL_TLP_AMBER: break;
	}
	return "TLP:AMBER";
}

/* "http" -> "hxxp" at each scheme ("://" preceded by a scheme name). */
static void defang_schemes(GString *g)
{
	for (gsize i = 0; i + 3 <= g->len; i++) {
		if (memcmp(g->str + i, "://", 3) != 0)
			continue;
		gsize b = i;
		while (b > 0 && (g_ascii_isalnum(g->str[b - 1]) || g->str[b - 1] == '+' ||
			g->str[b - 1] == '-' || g->str[b - 1] == '.'))
			b--;
		/* The letters keep their case: HTTPS becomes HXXPS. */
		char x = g_ascii_isupper(g->str[b]) ? 'X' : 'x';
		if (i - b >= 4 && g_ascii_strncasecmp(g->str + b, "http", 4) == 0) {
			g->str[b + 1] = x;
			g->str[b + 2] = x;
		} else if (i - b >= 3 && g_ascii_strncasecmp(g->str + b, "ftp", 3) == 0) {
			g->str[b + 1] = x;
		}
		i += 2;
	}
}

char *report__defang_text(const char *s)
{
	GString *g = g_string_new(s ? s : "");
	defang_schemes(g);
	return g_string_free(g, FALSE);
}

char *report__defang(const char *s)
{
	GString *g = g_string_new(s ? s : "");
	defang_schemes(g);
	/* Dots of the host part only (before the first '/' after the scheme):
	 * a path's dots ("open.gif") are no danger and stay readable. An IPv6
	 * address has no dots to break, so its colons stay. */
	const char *start = strstr(g->str, "://");
	gsize i = start ? (gsize)(start - g->str) + 3 : 0;
	/* An address's local part is no host: "jean.dupont[@]evil[.]example". */
	const char *at = start ? NULL : strrchr(g->str, '@');
	if (at)
		i = (gsize)(at - g->str);
	GString *o = g_string_sized_new(g->len + 16);
	g_string_append_len(o, g->str, (gssize)i);
	bool in_host = true;
	for (; i < g->len; i++) {
		char c = g->str[i];
		if (c == '/' || c == '?' || c == '#')
			in_host = false;
		if (in_host && c == '.')
			g_string_append(o, "[.]");
		else if (in_host && c == '@')
			g_string_append(o, "[@]");
		else
			g_string_append_c(o, c);
	}
	g_string_free(g, TRUE);
	return g_string_free(o, FALSE);
}

bool report__is_ipv4(const char *s)
{
	int parts = 0;
	while (*s) {
		int v = 0, n = 0;
		while (*s >= '0' && *s <= '9' && n < 4) {
			v = v * 10 + (*s++ - '0');
			n++;
		}
		if (n == 0 || n > 3 || v > 255)
			return false;
		parts++;
		if (*s == '/') /* a CIDR range */
			return parts == 4;
		if (*s == '.' && parts < 4)
			s++;
		else if (*s)
			return false;
	}
	return parts == 4;
}

bool report__is_ipv6(const char *s)
{
	if (!strchr(s, ':'))
		return false;
	for (; *s; s++)
		if (!g_ascii_isxdigit(*s) && *s != ':' && *s != '.' && *s != '/')
			return false;
	return true;
}

int report__dump(FILE *fp, json_t *j)
{
	if (!j)
		return VIGIL_ENOMEM;
	int rc = json_dumpf(j, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (rc != 0 || fputc('\n', fp) == EOF)
		return VIGIL_EIO;
	return 0;
}
