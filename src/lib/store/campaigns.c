/*
 * Campaigns in the store: each recorded message's traits, the grouping run
 * over them (campaign/cluster.c) with stable ids, and the campaign documents
 * that `vigil campaigns` prints and the reports are written from
 * (docs/campaigns.md). Opens and logins are recorded by logs.c.
 */
#include <glib.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign/campaign.h"
#include "store/store_internal.h"

/* ---- traits, when a message is recorded --------------------------------- */

static int bind_run(vigil_store *st, store__stmt_id id, int64_t message, const char *what)
{
	sqlite3_stmt *s;
	int rc = store__stmt(st, id, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_int64(s, 1, message, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, what);
	return store__run(st, s, what);
}

int store__record_traits(vigil_store *st, int64_t id, const vigil_message *msg)
{
	int rc;
	if ((rc = bind_run(st, ST_TRAIT_DELETE, id, "replacing traits")) ||
		(rc = bind_run(st, ST_TURL_DELETE, id, "replacing tracker URLs")) ||
		(rc = bind_run(st, ST_KEY_DELETE, id, "replacing campaign keys")))
		return rc;
	/* Clean mail is never grouped: its traits would only weigh the file. */
	if (msg->verdict == VIGIL_VERDICT_CLEAN)
		return 0;
	campaign_traits t;
	if (campaign__traits(&t, msg))
		return store__fail(st, VIGIL_ENOMEM, "computing campaign traits: out of memory");

	sqlite3_stmt *s;
	if ((rc = store__stmt(st, ST_TRAIT_INSERT, &s)))
		return rc;
	int b = SQLITE_OK;
	store__bind_int64(s, 1, id, &b);
	store__bind_text(s, 2, t.sender_domain, &b);
	store__bind_text(s, 3, t.x_mailer, &b);
	store__bind_int64(s, 4, (int64_t)t.lure_hash, &b);
	store__bind_int64(s, 5, t.lure_words, &b);
	store__bind_text(s, 6, t.excerpt, &b);
	store__bind_int64(s, 7, t.sender_freemail, &b);
	if (b != SQLITE_OK || (rc = store__run(st, s, "recording traits")))
		return b != SQLITE_OK ? store__db_fail(st, b, "binding traits") : rc;
	for (size_t i = 0; i < t.n_urls; i++) {
		const campaign_url *u = &t.urls[i];
		if ((rc = store__stmt(st, ST_TURL_INSERT, &s)))
			return rc;
		store__bind_int64(s, 1, id, &b);
		store__bind_text(s, 2, u->url, &b);
		store__bind_text(s, 3, u->host, &b);
		store__bind_text(s, 4, u->tmpl, &b);
		store__bind_text(s, 5, u->token, &b);
		store__bind_int64(s, 6, u->known, &b);
		store__bind_int64(s, 7, u->fetched, &b);
		if (b != SQLITE_OK || (rc = store__run(st, s, "recording a tracker URL")))
			return b != SQLITE_OK ? store__db_fail(st, b, "binding a tracker URL") : rc;
	}
	for (size_t i = 0; i < t.n_keys; i++) {
		if ((rc = store__stmt(st, ST_KEY_INSERT, &s)))
			return rc;
		store__bind_text(s, 1, t.keys[i], &b);
		store__bind_int64(s, 2, id, &b);
		if (b != SQLITE_OK || (rc = store__run(st, s, "recording a campaign key")))
			return b != SQLITE_OK ? store__db_fail(st, b, "binding a campaign key") : rc;
	}
	return 0;
}

/* ---- small helpers ------------------------------------------------------ */

static int prepare(vigil_store *st, sqlite3_stmt **out, const char *sql)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);
	return rc == SQLITE_OK ? 0 : store__db_fail(st, rc, "preparing a campaign query");
}

static vigil_verdict verdict_parse(const char *s)
{
	static const char *const names[] = {"clean", "tracking", "suspicious", "recon", "malicious"};
	for (int i = 4; i >= 0; i--)
		if (s && strcmp(s, names[i]) == 0)
			return (vigil_verdict)i;
	return VIGIL_VERDICT_CLEAN;
}

static void uuid4(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof(b)) != 1) {
		/* libcrypto's generator failing is not something to stop on: the
		 * time and the address of a stack buffer still make it unique
		 * enough for one file. */
		uint64_t t = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)b;
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)(t >> (8 * (i % 8))) ^ (unsigned char)i;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		b[15]);
}

/* ---- grouping ----------------------------------------------------------- */

/* Candidates: every message a campaign could hold: suspicious or stronger,
 * already grouped, or tracking through a tracker one of those uses. Ordered
 * by date so that campaign numbers follow time. */
static const char candidates_sql[] =
	"WITH seeds(message) AS ("
	"  SELECT id FROM messages WHERE verdict IN ('suspicious', 'recon', 'malicious')"
	"  UNION SELECT message FROM campaign_messages),"
	" seed_keys(key) AS (SELECT DISTINCT k.key FROM message_keys k JOIN seeds s"
	"  ON s.message = k.message WHERE substr(k.key, 1, 2) IN ('h:', 't:')),"
	" cand(message) AS (SELECT message FROM seeds"
	"  UNION SELECT k.message FROM message_keys k JOIN seed_keys s ON s.key = k.key)"
	" SELECT m.id, m.verdict, coalesce(cm.campaign, 0), coalesce(t.lure_hash, 0),"
	"  coalesce(t.lure_words, 0)"
	" FROM cand c JOIN messages m ON m.id = c.message"
	" LEFT JOIN campaign_messages cm ON cm.message = m.id"
	" LEFT JOIN traits t ON t.message = m.id"
	" ORDER BY m.date_time IS NULL, m.date_time, m.id";

/* Hosts that serve many senders' ordinary mail (an image proxy, a CDN, a
 * platform's redirector): three or more sender domains, most of whose
 * messages are neither suspicious nor worse. Such a host ties nothing
 * together; a campaign's own tracker serves its campaign. */
static const char shared_hosts_sql[] =
	"SELECT u.host FROM tracker_urls u JOIN messages m ON m.id = u.message"
	" LEFT JOIN traits t ON t.message = u.message GROUP BY u.host"
	" HAVING count(DISTINCT t.sender_domain) >= 3"
	"  AND 2 * sum(m.verdict IN ('suspicious', 'recon', 'malicious')) < count(*)";

typedef struct grouping {
	campaign_item *items;
	size_t n, cap;
	GHashTable *index; /* message id -> item index + 1 */
	GStringChunk *strings;
	GPtrArray **keys;  /* per item */
} grouping;

static void grouping_free(grouping *g)
{
	if (g->keys)
		for (size_t i = 0; i < g->n; i++)
			if (g->keys[i])
				g_ptr_array_free(g->keys[i], TRUE);
	free(g->keys);
	free(g->items);
	if (g->index)
		g_hash_table_destroy(g->index);
	if (g->strings)
		g_string_chunk_free(g->strings);
}

static int load_candidates(vigil_store *st, grouping *g)
{
	sqlite3_stmt *s;
	int rc = prepare(st, &s, candidates_sql);
	if (rc)
		return rc;
	g->index = g_hash_table_new(g_int64_hash, g_int64_equal);
	g->strings = g_string_chunk_new(4096);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		if (g->n == g->cap) {
			size_t ncap = g->cap ? g->cap * 2 : 256;
			campaign_item *ni = realloc(g->items, ncap * sizeof(*ni));
			if (!ni) {
				sqlite3_finalize(s);
				return store__fail(st, VIGIL_ENOMEM, "grouping campaigns: out of memory");
			}
			g->items = ni;
			g->cap = ncap;
		}
		campaign_item *it = &g->items[g->n];
		memset(it, 0, sizeof(*it));
		it->message = sqlite3_column_int64(s, 0);
		it->verdict = verdict_parse((const char *)sqlite3_column_text(s, 1));
		it->campaign = sqlite3_column_int64(s, 2);
		it->lure_hash = (uint64_t)sqlite3_column_int64(s, 3);
		it->lure_words = sqlite3_column_int(s, 4);
		g->n++;
	}
	sqlite3_finalize(s);
	if (step != SQLITE_DONE)
		return store__db_fail(st, step, "reading campaign candidates");
	/* Item pointers are stable from here on. */
	for (size_t i = 0; i < g->n; i++)
		g_hash_table_insert(g->index, &g->items[i].message, GSIZE_TO_POINTER(i + 1));
	g->keys = calloc(g->n ? g->n : 1, sizeof(*g->keys));
	if (!g->keys)
		return store__fail(st, VIGIL_ENOMEM, "grouping campaigns: out of memory");

	if ((rc = prepare(st, &s, shared_hosts_sql)))
		return rc;
	GHashTable *shared = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		g_hash_table_add(shared, g_strdup((const char *)sqlite3_column_text(s, 0)));
	sqlite3_finalize(s);
	if (step != SQLITE_DONE) {
		g_hash_table_destroy(shared);
		return store__db_fail(st, step, "reading shared tracker hosts");
	}

	if ((rc = prepare(st, &s, "SELECT message, key FROM message_keys"))) {
		g_hash_table_destroy(shared);
		return rc;
	}
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t m = sqlite3_column_int64(s, 0);
		size_t i = GPOINTER_TO_SIZE(g_hash_table_lookup(g->index, &m));
		const char *key = (const char *)sqlite3_column_text(s, 1);
		if (!i || (strncmp(key, "h:", 2) == 0 && g_hash_table_contains(shared, key + 2)))
			continue;
		if (!g->keys[i - 1])
			g->keys[i - 1] = g_ptr_array_new();
		g_ptr_array_add(g->keys[i - 1], g_string_chunk_insert(g->strings, key));
	}
	sqlite3_finalize(s);
	g_hash_table_destroy(shared);
	if (step != SQLITE_DONE)
		return store__db_fail(st, step, "reading campaign keys");
	for (size_t i = 0; i < g->n; i++)
		if (g->keys[i]) {
			g->items[i].keys = (const char **)g->keys[i]->pdata;
			g->items[i].n_keys = g->keys[i]->len;
		}
	return 0;
}

static int new_campaign(vigil_store *st, int64_t now, int64_t *id)
{
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
		"INSERT INTO campaigns (uuid, name, created, updated) VALUES (?1, '', ?2, ?2)");
	if (rc)
		return rc;
	char uuid[37];
	uuid4(uuid);
	sqlite3_bind_text(s, 1, uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 2, now);
	rc = sqlite3_step(s);
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return store__db_fail(st, rc, "creating a campaign");
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/* Moves everything of campaign `from` into `into` (a message bridged them). */
static int merge(vigil_store *st, int64_t into, int64_t from, int64_t now)
{
	static const char *const sql[] = {
		"UPDATE campaign_messages SET campaign = ?1 WHERE campaign = ?2",
		"UPDATE OR IGNORE opens SET campaign = ?1 WHERE campaign = ?2",
		"DELETE FROM opens WHERE campaign = ?2",
		"UPDATE OR IGNORE notifications SET campaign = ?1 WHERE campaign = ?2",
		"DELETE FROM notifications WHERE campaign = ?2",
		"UPDATE campaigns SET merged_into = ?1, updated = ?3 WHERE id = ?2",
		"UPDATE campaigns SET merged_into = ?1 WHERE merged_into = ?2",
	};
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *s;
		int rc = prepare(st, &s, sql[i]);
		if (rc)
			return rc;
		sqlite3_bind_int64(s, 1, into);
		sqlite3_bind_int64(s, 2, from);
		if (sqlite3_bind_parameter_count(s) >= 3)
			sqlite3_bind_int64(s, 3, now);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return store__db_fail(st, rc, "merging campaigns");
	}
	return 0;
}

/* Names a campaign after what identifies it: its own tracker host and the
 * sender domain it used most. */
static const char name_sql[] =
	"UPDATE campaigns SET updated = ?2, name = coalesce("
	" (SELECT group_concat(v, ' / ') FROM ("
	"  SELECT v FROM (SELECT u.host AS v, count(*) AS n, max(u.fetched) AS f"
	"   FROM tracker_urls u JOIN campaign_messages c ON c.message = u.message"
	"   WHERE c.campaign = ?1 AND u.known = 0 GROUP BY u.host"
	"   ORDER BY f DESC, n DESC, v LIMIT 1)"
	"  UNION ALL"
	"  SELECT v FROM (SELECT t.sender_domain AS v, count(*) AS n FROM traits t"
	"   JOIN campaign_messages c ON c.message = t.message"
	"   WHERE c.campaign = ?1 AND t.sender_domain IS NOT NULL"
	"   GROUP BY t.sender_domain ORDER BY n DESC, v LIMIT 1))),"
	" 'campaign ' || ?1)"
	" WHERE id = ?1";

int vigil_store_campaigns_update(vigil_store *st, size_t *created, size_t *joined)
{
	if (created)
		*created = 0;
	if (joined)
		*joined = 0;
	if (!st)
		return VIGIL_EINVAL;
	int rc = store__tx_enter(st);
	if (rc)
		return rc;
	grouping g = {0};
	long *group = NULL;
	int64_t *target = NULL;
	GHashTable *touched = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	int64_t now = store__now();
	if ((rc = load_candidates(st, &g)))
		goto done;
	size_t n_groups = 0;
	group = malloc((g.n ? g.n : 1) * sizeof(*group));
	if (!group) {
		rc = store__fail(st, VIGIL_ENOMEM, "grouping campaigns: out of memory");
		goto done;
	}
	if ((rc = campaign__cluster(group, &n_groups, g.items, g.n))) {
		rc = store__fail(st, rc, "grouping campaigns: out of memory");
		goto done;
	}
	/* Each group keeps the oldest campaign among its members; the others
	 * merge into it. */
	target = calloc(n_groups ? n_groups : 1, sizeof(*target));
	if (!target) {
		rc = store__fail(st, VIGIL_ENOMEM, "grouping campaigns: out of memory");
		goto done;
	}
	for (size_t i = 0; i < g.n; i++) {
		int64_t c = g.items[i].campaign;
		if (group[i] >= 0 && c && (!target[group[i]] || c < target[group[i]]))
			target[group[i]] = c;
	}
	for (size_t i = 0; i < g.n && !rc; i++) {
		int64_t c = g.items[i].campaign;
		if (group[i] >= 0 && c && c != target[group[i]])
			rc = merge(st, target[group[i]], c, now);
	}
	/* New campaigns in order of their first message (items are by date). */
	for (size_t i = 0; i < g.n && !rc; i++) {
		if (group[i] < 0 || target[group[i]])
			continue;
		rc = new_campaign(st, now, &target[group[i]]);
		if (!rc && created)
			(*created)++;
	}
	sqlite3_stmt *ins = NULL;
	if (!rc)
		rc = prepare(st, &ins,
			"INSERT OR IGNORE INTO campaign_messages (message, campaign, added)"
			" VALUES (?1, ?2, ?3)");
	for (size_t i = 0; i < g.n && !rc; i++) {
		if (group[i] < 0 || g.items[i].campaign == target[group[i]])
			continue;
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, g.items[i].message);
		sqlite3_bind_int64(ins, 2, target[group[i]]);
		sqlite3_bind_int64(ins, 3, now);
		int step = sqlite3_step(ins);
		if (step != SQLITE_DONE) {
			rc = store__db_fail(st, step, "adding a message to a campaign");
			break;
		}
		if (!g.items[i].campaign && joined)
			(*joined)++;
		gint64 *k = g_new(gint64, 1);
		*k = target[group[i]];
		g_hash_table_add(touched, k);
	}
	sqlite3_finalize(ins);
	if (!rc) {
		sqlite3_stmt *nm;
		rc = prepare(st, &nm, name_sql);
		GHashTableIter it;
		gpointer key;
		g_hash_table_iter_init(&it, touched);
		while (!rc && g_hash_table_iter_next(&it, &key, NULL)) {
			sqlite3_reset(nm);
			sqlite3_bind_int64(nm, 1, *(gint64 *)key);
			sqlite3_bind_int64(nm, 2, now);
			int step = sqlite3_step(nm);
			if (step != SQLITE_DONE)
				rc = store__db_fail(st, step, "naming a campaign");
		}
		if (nm)
			sqlite3_finalize(nm);
	}
done:
	g_hash_table_destroy(touched);
	free(target);
	free(group);
	grouping_free(&g);
	return store__tx_leave(st, rc);
}

/* ---- documents ---------------------------------------------------------- */

static json_t *iso_time(int64_t t)
{
	if (t == INT64_MIN)
		return json_null();
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm))
		return json_null();
	char buf[32];
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *col_time(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? json_null()
							: iso_time(sqlite3_column_int64(s, i));
}

static json_t *col_text(sqlite3_stmt *s, int i)
{
	const char *v = (const char *)sqlite3_column_text(s, i);
	/* Stored text came from decoded mail; jansson refuses invalid UTF-8,
	 * so such a value shows as null rather than failing the document. */
	json_t *j = v ? json_string(v) : NULL;
	return j ? j : json_null();
}

/* Runs `sql` with ?1 = id and appends, per row, column 0 as a string. */
static int strings(vigil_store *st, json_t *arr, const char *sql, int64_t id)
{
	sqlite3_stmt *s;
	int rc = prepare(st, &s, sql);
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if (sqlite3_column_type(s, 0) != SQLITE_NULL)
			json_array_append_new(arr, col_text(s, 0));
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? 0 : store__db_fail(st, step, "reading a campaign");
}

#define MEMBERS "(SELECT message FROM campaign_messages WHERE campaign = ?1)"

static int doc_messages(vigil_store *st, json_t *doc, int64_t id)
{
	json_t *msgs = json_array(), *ids = json_array();
	json_object_set_new(doc, "message_ids", ids);
	json_object_set_new(doc, "messages", msgs);
	sqlite3_stmt *s, *r = NULL, *p = NULL, *f = NULL, *u = NULL;
	int rc = prepare(st, &s,
		"SELECT m.id, m.sha256, m.message_id, m.date_time, m.from_address, m.from_name,"
		" m.subject, m.verdict, m.score FROM campaign_messages c JOIN messages m"
		" ON m.id = c.message WHERE c.campaign = ?1"
		" ORDER BY m.date_time IS NULL, m.date_time, m.id");
	if (!rc)
		rc = prepare(st, &r,
			"SELECT DISTINCT address FROM recipients WHERE message = ?1"
			" ORDER BY address");
	if (!rc)
		rc = prepare(st, &p,
			"SELECT path, offset FROM provenances WHERE message = ?1 ORDER BY id");
	if (!rc)
		rc = prepare(st, &f,
			"SELECT reason FROM findings WHERE message = ?1 AND class <> 'info'"
			" AND reason IS NOT NULL ORDER BY seq");
	if (!rc)
		rc = prepare(st, &u, "SELECT url FROM tracker_urls WHERE message = ?1 ORDER BY url");
	int step = SQLITE_DONE;
	if (!rc)
		sqlite3_bind_int64(s, 1, id);
	while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t mid = sqlite3_column_int64(s, 0);
		json_t *m = json_object();
		json_object_set_new(m, "id", json_integer(mid));
		json_object_set_new(m, "sha256", col_text(s, 1));
		json_object_set_new(m, "message_id", col_text(s, 2));
		json_object_set_new(m, "date", col_time(s, 3));
		json_object_set_new(m, "from", col_text(s, 4));
		json_object_set_new(m, "from_name", col_text(s, 5));
		json_object_set_new(m, "subject", col_text(s, 6));
		json_object_set_new(m, "verdict", col_text(s, 7));
		json_object_set_new(m, "score", json_integer(sqlite3_column_int64(s, 8)));
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			json_array_append_new(ids, col_text(s, 2));
		struct {
			sqlite3_stmt *s;
			const char *key;
		} lists[] = {{r, "recipients"}, {f, "reasons"}, {u, "tracker_urls"}};
		for (size_t i = 0; i < 3; i++) {
			json_t *a = json_array();
			sqlite3_reset(lists[i].s);
			sqlite3_bind_int64(lists[i].s, 1, mid);
			while (sqlite3_step(lists[i].s) == SQLITE_ROW)
				json_array_append_new(a, col_text(lists[i].s, 0));
			json_object_set_new(m, lists[i].key, a);
		}
		json_t *src = json_array();
		sqlite3_reset(p);
		sqlite3_bind_int64(p, 1, mid);
		while (sqlite3_step(p) == SQLITE_ROW) {
			json_t *o = json_object();
			json_object_set_new(o, "path", col_text(p, 0));
			json_object_set_new(o, "offset", json_integer(sqlite3_column_int64(p, 1)));
			json_array_append_new(src, o);
		}
		json_object_set_new(m, "sources", src);
		json_array_append_new(msgs, m);
	}
	if (!rc && step != SQLITE_DONE)
		rc = store__db_fail(st, step, "reading a campaign's messages");
	sqlite3_finalize(s);
	sqlite3_finalize(r);
	sqlite3_finalize(p);
	sqlite3_finalize(f);
	sqlite3_finalize(u);
	return rc;
}

static int doc_targets(vigil_store *st, json_t *doc, int64_t id)
{
	json_t *arr = json_array();
	json_object_set_new(doc, "targets", arr);
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
		"SELECT r.address, max(r.name), count(DISTINCT r.message), min(m.date_time),"
		" (SELECT min(time) FROM opens o WHERE o.campaign = ?1 AND o.recipient = r.address),"
		" (SELECT count(*) FROM opens o WHERE o.campaign = ?1 AND o.recipient = r.address),"
		" (SELECT time FROM notifications n WHERE n.campaign = ?1"
		"   AND n.recipient = r.address AND n.state = 'sent')"
		" FROM recipients r JOIN messages m ON m.id = r.message"
		" WHERE r.message IN " MEMBERS " GROUP BY r.address ORDER BY r.address");
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *t = json_object();
		json_object_set_new(t, "address", col_text(s, 0));
		json_object_set_new(t, "name", col_text(s, 1));
		json_object_set_new(t, "messages", json_integer(sqlite3_column_int64(s, 2)));
		json_object_set_new(t, "first_received", col_time(s, 3));
		int64_t opens = sqlite3_column_int64(s, 5);
		json_object_set_new(t, "opened", json_boolean(opens > 0));
		json_object_set_new(t, "first_open", col_time(s, 4));
		json_object_set_new(t, "opens", json_integer(opens));
		json_object_set_new(t, "notified", col_time(s, 6));
		json_array_append_new(arr, t);
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? 0 : store__db_fail(st, step, "reading a campaign's targets");
}

static int doc_opens(vigil_store *st, json_t *doc, int64_t id)
{
	json_t *arr = json_array();
	json_object_set_new(doc, "opens", arr);
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
		"SELECT o.recipient, m.message_id, o.time, o.client_ip, o.url, o.user_agent,"
		" o.confidence, o.kind FROM opens o LEFT JOIN messages m ON m.id = o.message"
		" WHERE o.campaign = ?1 ORDER BY o.time, o.id");
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *o = json_object();
		json_object_set_new(o, "recipient", col_text(s, 0));
		json_object_set_new(o, "campaign", json_integer(id));
		json_object_set_new(o, "message_id", col_text(s, 1));
		json_object_set_new(o, "time", col_time(s, 2));
		json_object_set_new(o, "client_ip", col_text(s, 3));
		json_object_set_new(o, "url", col_text(s, 4));
		json_object_set_new(o, "user_agent", col_text(s, 5));
		json_object_set_new(o, "confidence", col_text(s, 6));
		json_object_set_new(o, "kind", col_text(s, 7));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? 0 : store__db_fail(st, step, "reading a campaign's opens");
}

#define RELAY_IPS                                                                           \
	"SELECT DISTINCT value FROM findings WHERE message IN " MEMBERS                     \
	" AND value IS NOT NULL AND (detector = 'relay' OR (detector = 'intel'"             \
	" AND ioc_type IN ('ipv4', 'ipv6', 'cidr') AND artifact = 'received'))"

static int doc_logins(vigil_store *st, json_t *doc, int64_t id)
{
	json_t *arr = json_array();
	json_object_set_new(doc, "relay_logins", arr);
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
		"SELECT time, client_ip, account, service, success, matched FROM logins"
		" WHERE client_ip IN (" RELAY_IPS ") ORDER BY time, id");
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *o = json_object();
		json_object_set_new(o, "time", col_time(s, 0));
		json_object_set_new(o, "client_ip", col_text(s, 1));
		json_object_set_new(o, "account", col_text(s, 2));
		json_object_set_new(o, "service", col_text(s, 3));
		json_object_set_new(o, "success", json_boolean(sqlite3_column_int(s, 4)));
		json_object_set_new(o, "source", col_text(s, 5));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? 0 : store__db_fail(st, step, "reading relay logins");
}

static int doc_indicators(vigil_store *st, json_t *doc, int64_t id)
{
	json_t *arr = json_array();
	json_object_set_new(doc, "indicators", arr);
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
		"SELECT ioc_type, ioc_value, coalesce(ioc_source, '') FROM findings"
		" WHERE message IN " MEMBERS " AND ioc_type IS NOT NULL"
		" UNION SELECT indicator_type, indicator_value, source FROM hits"
		" WHERE message IN " MEMBERS " ORDER BY 1, 2, 3");
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	int step;
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *o = json_object();
		json_object_set_new(o, "type", col_text(s, 0));
		json_object_set_new(o, "value", col_text(s, 1));
		json_object_set_new(o, "source", col_text(s, 2));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(s);
	return step == SQLITE_DONE ? 0 : store__db_fail(st, step, "reading indicators");
}

static int campaign_doc(vigil_store *st, int64_t id, json_t **out)
{
	*out = NULL;
	sqlite3_stmt *s;
	int rc = prepare(st, &s,
		"SELECT c.uuid, c.name, c.created,"
		" (SELECT min(date_time) FROM messages WHERE id IN " MEMBERS "),"
		" (SELECT max(date_time) FROM messages WHERE id IN " MEMBERS "),"
		" (SELECT count(*) FROM campaign_messages WHERE campaign = ?1),"
		" (SELECT count(DISTINCT address) FROM recipients WHERE message IN " MEMBERS "),"
		" (SELECT count(DISTINCT recipient) FROM opens WHERE campaign = ?1"
		"   AND recipient IS NOT NULL)"
		" FROM campaigns c WHERE c.id = ?1 AND c.merged_into IS NULL");
	if (rc)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	int step = sqlite3_step(s);
	if (step != SQLITE_ROW) {
		sqlite3_finalize(s);
		return step == SQLITE_DONE
			       ? store__fail(st, VIGIL_EINVAL, "no campaign %lld", (long long)id)
			       : store__db_fail(st, step, "reading a campaign");
	}
	json_t *doc = json_object();
	json_object_set_new(doc, "id", json_integer(id));
	json_object_set_new(doc, "uuid", col_text(s, 0));
	json_object_set_new(doc, "name", col_text(s, 1));
	json_object_set_new(doc, "first_seen", col_time(s, 3));
	json_object_set_new(doc, "last_seen", col_time(s, 4));
	json_object_set_new(doc, "created", col_time(s, 2));
	json_object_set_new(doc, "message_count", json_integer(sqlite3_column_int64(s, 5)));
	json_object_set_new(doc, "target_count", json_integer(sqlite3_column_int64(s, 6)));
	json_object_set_new(doc, "open_count", json_integer(sqlite3_column_int64(s, 7)));
	sqlite3_finalize(s);

	/* verdicts, and the highest as the campaign's */
	json_t *verdicts = json_object();
	if (!(rc = prepare(st, &s,
		      "SELECT verdict, count(*) FROM messages WHERE id IN " MEMBERS
		      " GROUP BY verdict"))) {
		sqlite3_bind_int64(s, 1, id);
		vigil_verdict top = VIGIL_VERDICT_CLEAN;
		while (sqlite3_step(s) == SQLITE_ROW) {
			const char *v = (const char *)sqlite3_column_text(s, 0);
			json_object_set_new(verdicts, v, json_integer(sqlite3_column_int64(s, 1)));
			if (verdict_parse(v) > top)
				top = verdict_parse(v);
		}
		sqlite3_finalize(s);
		json_object_set_new(doc, "verdict", json_string(vigil_verdict_name(top)));
	}
	json_object_set_new(doc, "verdicts", verdicts);

	json_t *senders = json_object(), *trackers = json_object();
	json_object_set_new(doc, "senders", senders);
	json_object_set_new(doc, "trackers", trackers);
	static const struct {
		const char *group, *key, *sql;
	} lists[] = {
		{"senders", "addresses",
			"SELECT DISTINCT lower(from_address) FROM messages WHERE id IN " MEMBERS
			" ORDER BY 1"},
		{"senders", "domains",
			"SELECT DISTINCT sender_domain FROM traits WHERE message IN " MEMBERS
			" ORDER BY 1"},
		{"senders", "free_mail_domains",
			"SELECT DISTINCT sender_domain FROM traits WHERE message IN " MEMBERS
			" AND freemail ORDER BY 1"},
		{"senders", "x_mailers",
			"SELECT DISTINCT x_mailer FROM traits WHERE message IN " MEMBERS " ORDER BY 1"},
		{"senders", "relay_ips", RELAY_IPS " ORDER BY 1"},
		{"trackers", "hosts",
			"SELECT host FROM tracker_urls WHERE message IN " MEMBERS
			" GROUP BY host ORDER BY min(known), max(fetched) DESC, count(*) DESC, host"},
		{"trackers", "known_hosts",
			"SELECT DISTINCT host FROM tracker_urls WHERE message IN " MEMBERS
			" AND known ORDER BY 1"},
		{"trackers", "url_templates",
			"SELECT template FROM tracker_urls WHERE message IN " MEMBERS
			" AND template IS NOT NULL GROUP BY template ORDER BY count(*) DESC, template"},
	};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]) && !rc; i++) {
		json_t *a = json_array();
		json_object_set_new(strcmp(lists[i].group, "senders") == 0 ? senders : trackers,
			lists[i].key, a);
		rc = strings(st, a, lists[i].sql, id);
	}
	json_t *imp = json_array();
	json_object_set_new(doc, "impersonates", imp);
	if (!rc)
		rc = strings(st, imp,
			"SELECT about FROM findings WHERE message IN " MEMBERS " AND about IS NOT NULL"
			" GROUP BY about ORDER BY count(*) DESC, about", id);
	if (!rc)
		rc = doc_indicators(st, doc, id);
	if (!rc)
		rc = doc_messages(st, doc, id);
	if (!rc)
		rc = doc_targets(st, doc, id);
	if (!rc)
		rc = doc_opens(st, doc, id);
	if (!rc)
		rc = doc_logins(st, doc, id);
	if (!rc && !(rc = prepare(st, &s,
			     "SELECT m.subject, t.excerpt FROM messages m LEFT JOIN traits t"
			     " ON t.message = m.id WHERE m.id IN " MEMBERS
			     " ORDER BY t.excerpt IS NULL, m.date_time IS NULL, m.date_time, m.id"
			     " LIMIT 1"))) {
		sqlite3_bind_int64(s, 1, id);
		json_t *lure = json_object();
		if (sqlite3_step(s) == SQLITE_ROW) {
			json_object_set_new(lure, "subject", col_text(s, 0));
			json_object_set_new(lure, "excerpt", col_text(s, 1));
		}
		sqlite3_finalize(s);
		json_object_set_new(doc, "lure", lure);
	}
	if (rc) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}

/* The live campaign a (possibly merged) id now is. */
static int resolve(vigil_store *st, int64_t *id)
{
	for (int hops = 0; hops < 64; hops++) {
		sqlite3_stmt *s;
		int rc = prepare(st, &s, "SELECT merged_into FROM campaigns WHERE id = ?1");
		if (rc)
			return rc;
		sqlite3_bind_int64(s, 1, *id);
		int step = sqlite3_step(s);
		bool merged = step == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
		int64_t into = merged ? sqlite3_column_int64(s, 0) : 0;
		sqlite3_finalize(s);
		if (step == SQLITE_DONE)
			return store__fail(st, VIGIL_EINVAL, "no campaign %lld", (long long)*id);
		if (step != SQLITE_ROW)
			return store__db_fail(st, step, "reading a campaign");
		if (!merged)
			return 0;
		*id = into;
	}
	return store__fail(st, VIGIL_EINTERNAL, "campaign %lld: merge chain too long",
		(long long)*id);
}

int store__campaign_docs(vigil_store *st, int64_t id, json_t **out)
{
	*out = NULL;
	json_t *arr = json_array();
	int rc = 0;
	if (id > 0) {
		json_t *doc;
		if (!(rc = resolve(st, &id)) && !(rc = campaign_doc(st, id, &doc)))
			json_array_append_new(arr, doc);
	} else {
		sqlite3_stmt *s;
		if (!(rc = prepare(st, &s,
			      "SELECT id FROM campaigns WHERE merged_into IS NULL ORDER BY id"))) {
			int step;
			while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
				json_t *doc;
				if (!(rc = campaign_doc(st, sqlite3_column_int64(s, 0), &doc)))
					json_array_append_new(arr, doc);
			}
			sqlite3_finalize(s);
		}
	}
	if (rc) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

int vigil_store_campaigns_json(vigil_store *st, int64_t id, char **out_json)
{
	*out_json = NULL;
	if (!st)
		return VIGIL_EINVAL;
	json_t *arr;
	int rc = store__campaign_docs(st, id, &arr);
	if (rc)
		return rc;
	*out_json = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return *out_json ? 0 : store__fail(st, VIGIL_ENOMEM, "writing campaigns: out of memory");
}

/* ---- text --------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

static void day(char out[11], const char *iso)
{
	snprintf(out, 11, "%.10s", iso);
}

static void join_list(FILE *fp, const json_t *arr, size_t max)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (i == max) {
			fprintf(fp, ", ... (%zu in all)", json_array_size(arr));
			break;
		}
		fprintf(fp, "%s%s", i ? ", " : "", json_string_value(v) ? json_string_value(v) : "-");
	}
	if (!json_array_size(arr))
		fputs("-", fp);
}

static void write_line(FILE *fp, const json_t *c)
{
	char first[11], last[11];
	day(first, jstr(c, "first_seen"));
	day(last, jstr(c, "last_seen"));
	fprintf(fp, "%4lld  %-10s %4lld msgs %4lld targets %4lld opened  %s .. %s  %s\n",
		(long long)json_integer_value(json_object_get(c, "id")), jstr(c, "verdict"),
		(long long)json_integer_value(json_object_get(c, "message_count")),
		(long long)json_integer_value(json_object_get(c, "target_count")),
		(long long)json_integer_value(json_object_get(c, "open_count")), first, last,
		jstr(c, "name"));
}

static void write_show(FILE *fp, const json_t *c)
{
	const json_t *snd = json_object_get(c, "senders"), *trk = json_object_get(c, "trackers");
	fprintf(fp, "campaign %lld: %s\n", (long long)json_integer_value(json_object_get(c, "id")),
		jstr(c, "name"));
	fprintf(fp, "  verdict     %s\n", jstr(c, "verdict"));
	fprintf(fp, "  seen        %s .. %s\n", jstr(c, "first_seen"), jstr(c, "last_seen"));
	fprintf(fp, "  messages    %lld to %lld targets, %lld opened\n",
		(long long)json_integer_value(json_object_get(c, "message_count")),
		(long long)json_integer_value(json_object_get(c, "target_count")),
		(long long)json_integer_value(json_object_get(c, "open_count")));
	static const struct {
		const char *label, *group, *key;
	} rows[] = {
		{"senders", "senders", "addresses"}, {"domains", "senders", "domains"},
		{"x-mailers", "senders", "x_mailers"}, {"relays", "senders", "relay_ips"},
		{"trackers", "trackers", "hosts"}, {"templates", "trackers", "url_templates"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		fprintf(fp, "  %-11s ", rows[i].label);
		join_list(fp,
			json_object_get(strcmp(rows[i].group, "senders") == 0 ? snd : trk, rows[i].key),
			8);
		fputc('\n', fp);
	}
	size_t i;
	json_t *v;
	const json_t *inds = json_object_get(c, "indicators");
	if (json_array_size(inds)) {
		fputs("  indicators\n", fp);
		json_array_foreach(inds, i, v)
			fprintf(fp, "    %s %s (%s)\n", jstr(v, "type"), jstr(v, "value"), jstr(v, "source"));
	}
	const json_t *lure = json_object_get(c, "lure");
	fprintf(fp, "  lure        %s\n", jstr(lure, "subject"));
	fputs("  targets\n", fp);
	json_array_foreach(json_object_get(c, "targets"), i, v)
	{
		const char *fo = json_string_value(json_object_get(v, "first_open"));
		fprintf(fp, "    %-40s received %s  %s%s\n", jstr(v, "address"),
			jstr(v, "first_received"), fo ? "opened " : "not seen opening", fo ? fo : "");
	}
	const json_t *opens = json_object_get(c, "opens");
	if (json_array_size(opens)) {
		fputs("  opens\n", fp);
		json_array_foreach(opens, i, v)
			fprintf(fp, "    %s  %-15s %-40s %s\n", jstr(v, "time"), jstr(v, "client_ip"),
				jstr(v, "recipient"), jstr(v, "confidence"));
	}
	const json_t *logins = json_object_get(c, "relay_logins");
	if (json_array_size(logins)) {
		fputs("  relay logins\n", fp);
		json_array_foreach(logins, i, v)
			fprintf(fp, "    %s  %-15s %s %s %s\n", jstr(v, "time"), jstr(v, "client_ip"),
				jstr(v, "service"), jstr(v, "account"),
				json_is_true(json_object_get(v, "success")) ? "ok" : "failed");
	}
}

int vigil_store_campaigns_write(vigil_store *st, int64_t id, vigil_format fmt, FILE *out)
{
	if (!st || !out || (fmt != VIGIL_FORMAT_TEXT && fmt != VIGIL_FORMAT_JSONL))
		return st ? store__fail(st, VIGIL_EINVAL, "campaigns: bad argument") : VIGIL_EINVAL;
	json_t *arr;
	int rc = store__campaign_docs(st, id, &arr);
	if (rc)
		return rc;
	size_t i;
	json_t *c;
	json_array_foreach(arr, i, c)
	{
		if (fmt == VIGIL_FORMAT_JSONL) {
			if (json_dumpf(c, out, JSON_COMPACT) != 0) {
				rc = store__fail(st, VIGIL_EIO, "writing campaigns");
				break;
			}
			fputc('\n', out);
		} else if (id > 0) {
			write_show(out, c);
		} else {
			write_line(out, c);
		}
	}
	json_decref(arr);
	if (!rc && ferror(out))
		rc = store__fail(st, VIGIL_EIO, "writing campaigns");
	return rc;
}
