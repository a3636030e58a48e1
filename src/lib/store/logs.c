/*
 * Logs against the store's campaigns: a web request or DNS query to a
 * campaign's tracker is an open, attributed to a recipient by the exact URL
 * or the token it carries, else by the client address of an attributed open;
 * a login from a relay-list or intel address is a relay login. Reading the
 * log formats is logs/'s business; this file only matches and records.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "detect/token.h"
#include "extract/extract.h"
#include "intel/intel.h"
#include "scanner.h"
#include "store/store_internal.h"

/* Attribution by client address: an unattributed open from the address an
 * attributed one came from, within this many seconds of it, is probably the
 * same person (an office desktop keeps its address for days; a phone on
 * mobile data does not, hence not longer). */
#define ATTRIBUTION_WINDOW (3 * 24 * 3600)
/* Opens waiting for attribution until the end of a log: a tracker host hit
 * millions of times (a misconfigured list) must not exhaust memory. */
#define PENDING_MAX 100000

typedef struct target {
	int64_t message;
	int64_t campaign;
	const char *recipient; /* NULL when the message went to several */
} target;

typedef struct host_info {
	int64_t campaign; /* the campaign whose own tracker this is; 0 for a known service */
} host_info;

typedef struct attributed {
	int64_t time;
	const char *recipient;
	int64_t campaign;
} attributed;

typedef struct pending {
	int64_t campaign, message, time;
	char *client_ip, *url, *user_agent;
	const char *kind;
	uint64_t line;
} pending;

struct logs_index {
	GStringChunk *strings;
	GHashTable *hosts;    /* host -> host_info */
	GHashTable *urls;     /* normalised URL -> target */
	GHashTable *tokens;   /* template "\n" token -> target */
	GHashTable *by_ip;    /* client IP -> GArray of attributed */
	vigil_netset *intel_nets; /* intel IP indicators; entry -> source in intel_src */
	GHashTable *intel_src;
	GArray *pending;
};

static void index_free(struct logs_index *x)
{
	if (x->hosts)
		g_hash_table_destroy(x->hosts);
	if (x->urls)
		g_hash_table_destroy(x->urls);
	if (x->tokens)
		g_hash_table_destroy(x->tokens);
	if (x->by_ip)
		g_hash_table_destroy(x->by_ip);
	if (x->intel_src)
		g_hash_table_destroy(x->intel_src);
	netset__free(x->intel_nets);
	if (x->pending) {
		for (guint i = 0; i < x->pending->len; i++) {
			pending *p = &g_array_index(x->pending, pending, i);
			g_free(p->client_ip);
			g_free(p->url);
			g_free(p->user_agent);
		}
		g_array_free(x->pending, TRUE);
	}
	if (x->strings)
		g_string_chunk_free(x->strings);
}

static const char *keep(struct logs_index *x, const char *s)
{
	return s ? g_string_chunk_insert_const(x->strings, s) : NULL;
}

/* Loads the trackers of every campaign: hosts, exact URLs, template and
 * token pairs, and to whom each message went. */
static int index_load(vigil_store *st, struct logs_index *x)
{
	x->strings = g_string_chunk_new(1 << 16);
	x->hosts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	x->urls = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	x->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	x->by_ip = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
		(GDestroyNotify)g_array_unref);
	x->pending = g_array_new(FALSE, TRUE, sizeof(pending));
	sqlite3_stmt *s;
	/* The recipient a message is attributed to: Delivered-To (the mailbox
	 * it was delivered to) when there is one, else its only recipient. */
	int rc = sqlite3_prepare_v2(st->db,
		"SELECT u.url, u.host, u.template, u.token, u.known, u.message, c.campaign,"
		" coalesce((SELECT min(address) FROM recipients r WHERE r.message = u.message"
		"   AND r.field = 'delivered-to' HAVING count(DISTINCT address) = 1),"
		"  (SELECT min(address) FROM recipients r WHERE r.message = u.message"
		"   AND r.field <> 'delivered-to' HAVING count(DISTINCT address) = 1))"
		" FROM tracker_urls u JOIN campaign_messages c ON c.message = u.message"
		" JOIN campaigns k ON k.id = c.campaign AND k.merged_into IS NULL"
		" ORDER BY c.campaign, u.message",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__db_fail(st, rc, "reading campaign trackers");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *url = (const char *)sqlite3_column_text(s, 0);
		const char *host = (const char *)sqlite3_column_text(s, 1);
		const char *tmpl = (const char *)sqlite3_column_text(s, 2);
		const char *tok = (const char *)sqlite3_column_text(s, 3);
		bool known = sqlite3_column_int(s, 4);
		target t = {sqlite3_column_int64(s, 5), sqlite3_column_int64(s, 6),
			keep(x, (const char *)sqlite3_column_text(s, 7))};
		host_info *h = g_hash_table_lookup(x->hosts, host);
		if (!h) {
			h = g_new0(host_info, 1);
			g_hash_table_insert(x->hosts, (char *)keep(x, host), h);
		}
		if (!known && !h->campaign)
			h->campaign = t.campaign;
		if (!g_hash_table_contains(x->urls, url))
			g_hash_table_insert(x->urls, (char *)keep(x, url), g_memdup2(&t, sizeof(t)));
		if (tmpl && tok) {
			char *k = g_strconcat(tmpl, "\n", tok, NULL);
			if (!g_hash_table_contains(x->tokens, k))
				g_hash_table_insert(x->tokens, k, g_memdup2(&t, sizeof(t)));
			else
				g_free(k);
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store__db_fail(st, rc, "reading campaign trackers");
}

static int index_intel(vigil_store *st, struct logs_index *x, const vigil_ctx *ctx)
{
	if (!ctx || !ctx->intel_set)
		return 0;
	x->intel_nets = netset__new();
	x->intel_src = g_hash_table_new(g_str_hash, g_str_equal);
	if (!x->intel_nets)
		return store__fail(st, VIGIL_ENOMEM, "logs: out of memory");
	for (size_t i = 0; i < ctx->intel_set->items.len; i++) {
		const vigil_indicator *ind = &ctx->intel_set->items.items[i];
		if (ind->type != VIGIL_IOC_IPV4 && ind->type != VIGIL_IOC_IPV6)
			continue;
		const char *why;
		if (netset__add(x->intel_nets, ind->value, &why) == 0)
			g_hash_table_insert(x->intel_src, (char *)keep(x, ind->value),
				(char *)keep(x, ind->source ? ind->source : "intel"));
	}
	return 0;
}

static int insert_open(vigil_store *st, int64_t campaign, int64_t message,
	const char *recipient, int64_t time, const char *client_ip, const char *url,
	const char *user_agent, const char *kind, const char *confidence, const char *log,
	uint64_t line, bool *added)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db,
		"INSERT OR IGNORE INTO opens (campaign, message, recipient, time, client_ip, url,"
		" user_agent, kind, confidence, log, line)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__db_fail(st, rc, "recording an open");
	sqlite3_bind_int64(s, 1, campaign);
	if (message)
		sqlite3_bind_int64(s, 2, message);
	sqlite3_bind_text(s, 3, recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, time);
	sqlite3_bind_text(s, 5, client_ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, user_agent, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, confidence, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 10, log, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 11, (int64_t)line);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store__db_fail(st, rc, "recording an open");
	*added = sqlite3_changes(st->db) > 0;
	return 0;
}

static void remember_ip(struct logs_index *x, const char *ip, int64_t time,
	const char *recipient, int64_t campaign)
{
	if (!ip || !recipient)
		return;
	GArray *a = g_hash_table_lookup(x->by_ip, ip);
	if (!a) {
		a = g_array_new(FALSE, FALSE, sizeof(attributed));
		g_hash_table_insert(x->by_ip, (char *)keep(x, ip), a);
	}
	attributed at = {time, recipient, campaign};
	g_array_append_val(a, at);
}

/* The recipient an exact open from `ip` nearest in time names, within the
 * window and the same campaign; NULL when none or when two people share the
 * address in that window (a NAT, a proxy: nobody can tell). */
static const char *by_address(struct logs_index *x, const char *ip, int64_t time,
	int64_t campaign)
{
	GArray *a = ip ? g_hash_table_lookup(x->by_ip, ip) : NULL;
	const char *who = NULL;
	for (guint i = 0; a && i < a->len; i++) {
		const attributed *at = &g_array_index(a, attributed, i);
		int64_t d = at->time > time ? at->time - time : time - at->time;
		if (at->campaign != campaign || d > ATTRIBUTION_WINDOW)
			continue;
		if (who && strcmp(who, at->recipient) != 0)
			return NULL;
		who = at->recipient;
	}
	return who;
}

/* Loads the exact opens already stored, so that a second log (the next
 * day's) can attribute by address through opens of the first. */
static int load_attributed(vigil_store *st, struct logs_index *x)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db,
		"SELECT client_ip, time, recipient, campaign FROM opens"
		" WHERE confidence = 'exact' AND recipient IS NOT NULL AND client_ip IS NOT NULL",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__db_fail(st, rc, "reading opens");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		remember_ip(x, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1),
			keep(x, (const char *)sqlite3_column_text(s, 2)), sqlite3_column_int64(s, 3));
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store__db_fail(st, rc, "reading opens");
}

static int on_login(vigil_store *st, struct logs_index *x, const vigil_ctx *ctx,
	const vigil_log_event *ev, const char *log, vigil_logs_result *res)
{
	if (!ev->client_ip)
		return 0;
	const char *matched = NULL;
	char buf[256];
	const char *entry = ctx && ctx->cfg->relays ? netset__lookup(ctx->cfg->relays, ev->client_ip)
						    : NULL;
	if (entry) {
		snprintf(buf, sizeof(buf), "relay list (%s)", entry);
		matched = buf;
	} else if (x->intel_nets && (entry = netset__lookup(x->intel_nets, ev->client_ip))) {
		const char *src = g_hash_table_lookup(x->intel_src, entry);
		snprintf(buf, sizeof(buf), "intel %s (%s)", entry, src ? src : "feed");
		matched = buf;
	}
	if (!matched)
		return 0;
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db,
		"INSERT OR IGNORE INTO logins (time, client_ip, account, service, success, matched,"
		" log, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		-1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__db_fail(st, rc, "recording a login");
	sqlite3_bind_int64(s, 1, ev->time);
	sqlite3_bind_text(s, 2, ev->client_ip, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ev->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ev->service, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 5, ev->success);
	sqlite3_bind_text(s, 6, matched, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, log, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, (int64_t)ev->line);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store__db_fail(st, rc, "recording a login");
	res->relay_logins++;
	if (res->on_login)
		res->on_login(res->ud, ev, matched);
	return 0;
}

static void report_open(vigil_logs_result *res, int64_t campaign, const char *recipient,
	int64_t message, int64_t time, const char *ip, const char *url, const char *kind,
	const char *confidence, vigil_store *st)
{
	res->opens++;
	if (!res->on_open)
		return;
	const char *mid = NULL;
	sqlite3_stmt *s = NULL;
	if (message && sqlite3_prepare_v2(st->db, "SELECT message_id FROM messages WHERE id = ?1",
			       -1, &s, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, message);
		if (sqlite3_step(s) == SQLITE_ROW)
			mid = (const char *)sqlite3_column_text(s, 0);
	}
	vigil_open_info o = {campaign, recipient, mid, time, ip, url, kind, confidence};
	res->on_open(res->ud, &o);
	sqlite3_finalize(s);
}

static int on_request(vigil_store *st, struct logs_index *x, const vigil_ctx *ctx,
	const vigil_log_event *ev, const char *log, vigil_logs_result *res)
{
	if (!ev->host)
		return 0;
	host_info *h = g_hash_table_lookup(x->hosts, ev->host);
	if (!h)
		return 0;
	const char *kind = ev->kind == VIGIL_LOG_EVENT_DNS ? "dns" : "http";
	const target *t = NULL;
	const char *url = ev->url ? ev->url : ev->host;
	int rc = 0;
	if (ev->kind == VIGIL_LOG_EVENT_HTTP && ev->url) {
		vigil_arena *a = vigil_arena_new();
		if (!a)
			return store__fail(st, VIGIL_ENOMEM, "logs: out of memory");
		vigil_url u;
		if (url__parse(&u, a, ctx ? ctx->psl : NULL, ev->url) == 0 && u.url) {
			t = g_hash_table_lookup(x->urls, u.url);
			char tmpl[2048], tok[512];
			if (!t && token__url_template(tmpl, sizeof(tmpl), tok, sizeof(tok), &u)) {
				char *k = g_strconcat(tmpl, "\n", tok, NULL);
				t = g_hash_table_lookup(x->tokens, k);
				g_free(k);
			}
		}
		vigil_arena_free(a);
	}
	if (t) {
		bool added = false;
		rc = insert_open(st, t->campaign, t->message, t->recipient, ev->time, ev->client_ip,
			url, ev->user_agent, kind, t->recipient ? "exact" : "possible", log, ev->line,
			&added);
		remember_ip(x, ev->client_ip, ev->time, t->recipient, t->campaign);
		res->new_opens += added;
		if (!rc)
			report_open(res, t->campaign, t->recipient, t->message, ev->time, ev->client_ip,
				url, kind, t->recipient ? "exact" : "possible", st);
		return rc;
	}
	/* The campaign's own tracker, with a token we do not know (a forwarded
	 * copy, a message not in the store) or a DNS look-up: attributed at the
	 * end of the log, by address. A known tracking service's host says
	 * nothing without a known token. */
	if (!h->campaign || x->pending->len >= PENDING_MAX) {
		res->unattributed += h->campaign != 0;
		return 0;
	}
	pending p = {h->campaign, 0, ev->time, g_strdup(ev->client_ip), g_strdup(url),
		g_strdup(ev->user_agent), kind, ev->line};
	g_array_append_val(x->pending, p);
	return 0;
}

static int flush_pending(vigil_store *st, struct logs_index *x, const char *log,
	vigil_logs_result *res)
{
	for (guint i = 0; i < x->pending->len; i++) {
		pending *p = &g_array_index(x->pending, pending, i);
		const char *who = by_address(x, p->client_ip, p->time, p->campaign);
		const char *confidence = who ? "probable" : "possible";
		bool added = false;
		int rc = insert_open(st, p->campaign, 0, who, p->time, p->client_ip, p->url,
			p->user_agent, p->kind, confidence, log, p->line, &added);
		if (rc)
			return rc;
		res->new_opens += added;
		report_open(res, p->campaign, who, 0, p->time, p->client_ip, p->url, p->kind,
			confidence, st);
	}
	return 0;
}

int vigil_store_logs_ingest(vigil_store *st, const vigil_ctx *ctx, vigil_log_reader *r,
	const char *log, vigil_logs_result *res)
{
	if (!st || !r || !log || !res)
		return st ? store__fail(st, VIGIL_EINVAL, "logs: bad argument") : VIGIL_EINVAL;
	res->events = res->opens = res->new_opens = res->relay_logins = res->unattributed = 0;
	struct logs_index x = {0};
	int rc = store__tx_enter(st);
	if (rc)
		return rc;
	if (!(rc = index_load(st, &x)) && !(rc = index_intel(st, &x, ctx)))
		rc = load_attributed(st, &x);
	vigil_log_event ev;
	int step = VIGIL_EDONE;
	while (!rc && (step = vigil_log_next(r, &ev)) == 0) {
		res->events++;
		if (ev.kind == VIGIL_LOG_EVENT_LOGIN)
			rc = on_login(st, &x, ctx, &ev, log, res);
		else
			rc = on_request(st, &x, ctx, &ev, log, res);
	}
	if (!rc && step != VIGIL_EDONE)
		rc = store__fail(st, step, "%s: %s", log, vigil_log_error(r));
	if (!rc)
		rc = flush_pending(st, &x, log, res);
	index_free(&x);
	return store__tx_leave(st, rc);
}
