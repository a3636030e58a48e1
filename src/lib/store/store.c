/*
 * The store's handle: opening (pragmas, schema migrations, refusing files
 * that are newer or not ours), cached statements, transactions, and
 * recording messages and hunt hits. Indicators are in indicators.c, hunts in
 * hunt.c, the schema in schema.c. Every value is bound, never spliced in.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report.h"
#include "store/store_internal.h"

/* "VGIL": marks a file as ours, so --db pointed at another program's
 * database is refused instead of having our tables added to it. */
#define STORE_APPLICATION_ID 0x5647494c

/* How long a writer waits for another process's transaction. Hunts commit
 * every few thousand messages, which takes well under a second. */
#define STORE_BUSY_TIMEOUT_MS 10000

static const char *const stmt_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT vigil_unit",
	[ST_RELEASE] = "RELEASE vigil_unit",
	[ST_MSG_UPSERT] =
		"INSERT INTO messages (sha256, size, message_id, from_address, from_name,"
		" from_domain, subject, date, date_time, verdict, score, partial, first_seen,"
		" last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)"
		" ON CONFLICT (sha256) DO UPDATE SET verdict = excluded.verdict,"
		" score = excluded.score, partial = excluded.partial,"
		" message_id = excluded.message_id, from_address = excluded.from_address,"
		" from_name = excluded.from_name, from_domain = excluded.from_domain,"
		" subject = excluded.subject, date = excluded.date,"
		" date_time = excluded.date_time, last_seen = excluded.last_seen"
		" RETURNING id",
	[ST_PROV_INSERT] = "INSERT OR IGNORE INTO provenances (message, path, offset, first_seen)"
			   " VALUES (?1, ?2, ?3, ?4)",
	[ST_RCPT_DELETE] = "DELETE FROM recipients WHERE message = ?1",
	/* lower() is ASCII-only in SQLite, which is what an address needs. */
	[ST_RCPT_INSERT] = "INSERT OR IGNORE INTO recipients (message, field, address, name)"
			   " VALUES (?1, ?2, lower(?3), ?4)",
	[ST_FIND_DELETE] = "DELETE FROM findings WHERE message = ?1",
	[ST_FIND_INSERT] = "INSERT INTO findings (message, seq, detector, finding_id, class,"
			   " score, reason, artifact, value, ioc_type, ioc_value, ioc_source, about)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[ST_TRAIT_DELETE] = "DELETE FROM traits WHERE message = ?1",
	[ST_TRAIT_INSERT] = "INSERT INTO traits (message, sender_domain, x_mailer, lure_hash,"
			    " lure_words, excerpt, freemail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_TURL_DELETE] = "DELETE FROM tracker_urls WHERE message = ?1",
	[ST_TURL_INSERT] = "INSERT OR IGNORE INTO tracker_urls (message, url, host, template,"
			   " token, known, fetched) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_KEY_DELETE] = "DELETE FROM message_keys WHERE message = ?1",
	[ST_KEY_INSERT] = "INSERT OR IGNORE INTO message_keys (key, message) VALUES (?1, ?2)",
	[ST_HIT_INSERT] = "INSERT OR IGNORE INTO hits (hunt, message, indicator_type,"
			  " indicator_value, source, artifact, artifact_value, first_seen)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_HIT_MESSAGE] = "SELECT id FROM messages WHERE sha256 = ?1",
	[ST_IND_MAXID] = "SELECT coalesce(max(id), 0) FROM indicators",
	[ST_IND_UPSERT] =
		"INSERT INTO indicators (type, value, source, source_id, name, actor, labels,"
		" valid_from, valid_until, imported_at, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)"
		" ON CONFLICT (type, value, source) DO UPDATE SET source_id = excluded.source_id,"
		" name = excluded.name, actor = excluded.actor, labels = excluded.labels,"
		" valid_from = excluded.valid_from, valid_until = excluded.valid_until,"
		" updated_at = excluded.updated_at",
	[ST_IND_COUNT_NEW] = "SELECT count(*) FROM indicators WHERE id > ?1",
	[ST_IND_SELECT] = "SELECT type, value, source, source_id, name, actor, labels,"
			  " valid_from, valid_until, imported_at FROM indicators"
			  " ORDER BY type, value, source",
	[ST_HUNT_FIND_OPEN] = "SELECT id FROM hunts WHERE fingerprint = ?1 AND finished_at IS NULL",
	[ST_HUNT_RESUME] = "UPDATE hunts SET resumed_at = ?2, resumes = resumes + 1 WHERE id = ?1",
	[ST_HUNT_FIND_DONE] = "SELECT id FROM hunts WHERE fingerprint = ?1 ORDER BY id DESC LIMIT 1",
	[ST_HUNT_REOPEN] = "UPDATE hunts SET finished_at = NULL, resumed_at = ?2 WHERE id = ?1",
	[ST_HUNT_FORGET_SOURCES] = "DELETE FROM hunt_sources WHERE hunt = ?1",
	[ST_HUNT_INSERT] = "INSERT INTO hunts (fingerprint, description, started_at)"
			   " VALUES (?1, ?2, ?3) RETURNING id",
	[ST_HUNT_END] = "UPDATE hunts SET finished_at = ?2 WHERE id = ?1 AND finished_at IS NULL",
	[ST_HUNT_EXISTS] = "SELECT 1 FROM hunts WHERE id = ?1",
	[ST_HUNT_PROGRESS] =
		"INSERT INTO hunt_sources (hunt, path, bytes_done, messages_done, finished,"
		" updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (hunt, path) DO UPDATE"
		" SET bytes_done = excluded.bytes_done, messages_done = excluded.messages_done,"
		" finished = excluded.finished, updated_at = excluded.updated_at",
	[ST_HUNT_SOURCE] = "SELECT finished, bytes_done, messages_done FROM hunt_sources"
			   " WHERE hunt = ?1 AND path = ?2",
	/* Per indicator: distinct messages, distinct recipients of those
	 * messages, their date range. The CTE collapses the several artifacts
	 * of one message matching the same indicator. */
	[ST_HUNT_SUMMARY] =
		"WITH hm AS (SELECT DISTINCT indicator_type AS t, indicator_value AS v,"
		"  source AS s, message AS m FROM hits WHERE hunt = ?1)"
		" SELECT hm.t, hm.v, group_concat(DISTINCT hm.s), count(DISTINCT hm.m),"
		"  count(DISTINCT r.address), min(msg.date_time), max(msg.date_time)"
		" FROM hm JOIN messages msg ON msg.id = hm.m"
		" LEFT JOIN recipients r ON r.message = hm.m"
		" GROUP BY hm.t, hm.v ORDER BY 4 DESC, 1, 2",
};

int store__fail(vigil_store *st, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->err, sizeof(st->err), fmt, ap);
	va_end(ap);
	return code;
}

static int map_sqlite(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return VIGIL_ENOMEM;
	case SQLITE_CANTOPEN:
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_PERM:
	case SQLITE_PROTOCOL:
		return VIGIL_EIO;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return VIGIL_EPARSE;
	case SQLITE_TOOBIG:
		return VIGIL_ELIMIT;
	}
	return VIGIL_EINTERNAL;
}

int store__db_fail(vigil_store *st, int rc, const char *what)
{
	const char *msg = st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
	return store__fail(st, map_sqlite(rc), "%s: %s", what, msg);
}

int store__stmt(vigil_store *st, store__stmt_id id, sqlite3_stmt **out)
{
	sqlite3_stmt *s = st->stmt[id];
	if (!s) {
		int rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
			NULL);
		if (rc != SQLITE_OK)
			return store__db_fail(st, rc, "preparing a statement");
		st->stmt[id] = s;
	}
	/* A statement left mid-way by an earlier error must start afresh;
	 * sqlite3_reset() repeats that error, which is not ours now. */
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	*out = s;
	return 0;
}

int store__run(vigil_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	int ret = 0;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store__db_fail(st, rc, what);
	sqlite3_reset(s);
	return ret;
}

static int run_id(vigil_store *st, store__stmt_id id, const char *what)
{
	sqlite3_stmt *s;
	int rc = store__stmt(st, id, &s);
	return rc ? rc : store__run(st, s, what);
}

void store__bind_text(sqlite3_stmt *s, int i, const char *v, int *rc)
{
	if (*rc != SQLITE_OK)
		return;
	/* SQLITE_STATIC: every statement is stepped before the strings go. */
	*rc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

void store__bind_int64(sqlite3_stmt *s, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(s, i, v);
}

void store__bind_time(sqlite3_stmt *s, int i, int64_t t, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = t == VIGIL_NO_TIME ? sqlite3_bind_null(s, i) : sqlite3_bind_int64(s, i, t);
}

int64_t store__now(void)
{
	return (int64_t)time(NULL);
}

/* ---- transactions ------------------------------------------------------- */

int store__tx_enter(vigil_store *st)
{
	bool in_tx = !sqlite3_get_autocommit(st->db);
	/* Writing on after SQLite dropped the caller's batch would commit
	 * each unit alone while the caller believes in one batch. */
	if (st->user_tx && !in_tx)
		return store__fail(st, VIGIL_EIO,
			"the batch was rolled back by an earlier error; nothing of it was kept");
	int rc = run_id(st, in_tx ? ST_SAVEPOINT : ST_BEGIN, "starting a transaction");
	if (rc == 0)
		st->unit_nested = in_tx;
	return rc;
}

int store__tx_leave(vigil_store *st, int rc)
{
	bool nested = st->unit_nested;
	if (rc == 0) {
		int c = run_id(st, nested ? ST_RELEASE : ST_COMMIT, "committing");
		if (c == 0)
			return 0;
		rc = c;
	}
	/* Some errors (disk full, I/O) make SQLite roll back the whole
	 * transaction itself; then there is nothing left to undo here, and
	 * vigil_store_commit() will say the batch was lost. Errors while
	 * undoing are not reported: the first error is the one that matters. */
	if (sqlite3_get_autocommit(st->db))
		return rc;
	if (nested) {
		if (sqlite3_exec(st->db, "ROLLBACK TO vigil_unit", NULL, NULL, NULL) == SQLITE_OK)
			sqlite3_exec(st->db, "RELEASE vigil_unit", NULL, NULL, NULL);
	} else {
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

int vigil_store_begin(vigil_store *st)
{
	if (!st)
		return VIGIL_EINVAL;
	if (st->user_tx || !sqlite3_get_autocommit(st->db))
		return store__fail(st, VIGIL_EINVAL, "a batch is already open");
	int rc = run_id(st, ST_BEGIN, "starting a batch");
	if (rc == 0)
		st->user_tx = true;
	return rc;
}

int vigil_store_commit(vigil_store *st)
{
	if (!st)
		return VIGIL_EINVAL;
	if (!st->user_tx)
		return store__fail(st, VIGIL_EINVAL, "no batch is open");
	st->user_tx = false;
	if (sqlite3_get_autocommit(st->db))
		return store__fail(st, VIGIL_EIO,
			"the batch was rolled back by an earlier error; nothing of it was kept");
	int rc = run_id(st, ST_COMMIT, "committing a batch");
	if (rc != 0 && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int vigil_store_rollback(vigil_store *st)
{
	if (!st)
		return VIGIL_EINVAL;
	if (!st->user_tx)
		return store__fail(st, VIGIL_EINVAL, "no batch is open");
	st->user_tx = false;
	if (sqlite3_get_autocommit(st->db))
		return 0;
	return run_id(st, ST_ROLLBACK, "rolling back a batch");
}

/* ---- opening and migrations --------------------------------------------- */

static int pragma_int(vigil_store *st, const char *sql, int *out)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return store__db_fail(st, rc, sql);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
	int ret = rc == SQLITE_OK ? 0 : store__db_fail(st, rc, sql);
	sqlite3_finalize(s);
	return ret;
}

static int exec(vigil_store *st, const char *sql, const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	int code = store__fail(st, map_sqlite(rc), "%s: %s", what, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return code;
}

/* Checks the file is ours (or empty) and not from a newer vigil. Called
 * inside the migration transaction, so another process creating the same
 * file at the same moment is seen. */
static int check_file(vigil_store *st, const char *path, int newest, int *version)
{
	int app = 0, objects = 0;
	int rc = pragma_int(st, "PRAGMA application_id", &app);
	if (!rc)
		rc = pragma_int(st, "PRAGMA user_version", version);
	if (!rc)
		rc = pragma_int(st, "SELECT count(*) FROM sqlite_schema", &objects);
	if (rc)
		return rc;
	if (app != STORE_APPLICATION_ID && (app != 0 || objects > 0))
		return store__fail(st, VIGIL_EPARSE,
			"%s: a SQLite database of another program, not a vigil store", path);
	if (*version > newest)
		return store__fail(st, VIGIL_ECONFIG,
			"%s: schema version %d is newer than this vigil knows (%d): "
			"use a newer vigil, or another --db file", path, *version, newest);
	return 0;
}

static int migrate(vigil_store *st, const char *path, const store__migration *steps, size_t n)
{
	int newest = n ? steps[n - 1].version : 0;
	int version = 0;
	/* The common case, a file already up to date, takes no write lock. */
	int rc = check_file(st, path, newest, &version);
	if (rc || version == newest)
		return rc;
	for (size_t i = 0; i < n; i++) {
		assert(steps[i].version == (int)i + 1);
		rc = exec(st, "BEGIN IMMEDIATE", path);
		if (rc)
			return rc;
		rc = check_file(st, path, newest, &version);
		if (!rc && version < steps[i].version) {
			char what[64], sql[64];
			snprintf(what, sizeof(what), "migration to schema version %d", steps[i].version);
			rc = exec(st, steps[i].sql, what);
			/* Pragmas take no parameters; the numbers are ours, not input. */
			snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", steps[i].version);
			if (!rc)
				rc = exec(st, sql, what);
			snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", STORE_APPLICATION_ID);
			if (!rc)
				rc = exec(st, sql, what);
		}
		if (!rc)
			rc = exec(st, "COMMIT", path);
		if (rc) {
			if (!sqlite3_get_autocommit(st->db))
				sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return rc;
		}
	}
	return 0;
}

int store__open_with(vigil_store **out, const char *path, const store__migration *steps,
	size_t n_steps)
{
	if (!out)
		return VIGIL_EINVAL;
	*out = NULL;
	if (!path || !*path)
		return VIGIL_EINVAL;
	vigil_store *st = calloc(1, sizeof(*st));
	if (!st)
		return VIGIL_ENOMEM;
	*out = st;
	/* NOMUTEX: a handle belongs to one thread at a time (vigil.h), so
	 * SQLite's per-call locking would be paid for nothing. */
	int rc = sqlite3_open_v2(path, &st->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int code = store__fail(st, map_sqlite(rc), "%s: %s", path,
			st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		return code;
	}
	sqlite3_extended_result_codes(st->db, 1);
	rc = sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	if (rc != SQLITE_OK)
		return store__db_fail(st, rc, path);

	/* The first read finds out whether the file is a database at all. */
	int app = 0;
	int code = pragma_int(st, "PRAGMA application_id", &app);
	if (code) {
		char detail[sizeof(st->err)];
		snprintf(detail, sizeof(detail), "%s", st->err);
		return store__fail(st, code, "%s: %s", path,
			code == VIGIL_EPARSE ? "not a SQLite database" : detail);
	}
	/* WAL: readers (the dashboard, sqlite3) don't block a hunt, and a
	 * commit is one append instead of two writes. With WAL, synchronous
	 * NORMAL loses at most the last commits on power loss and never
	 * corrupts the file. A file system without shared memory keeps its
	 * old journal mode; that is slower, not wrong. */
	code = exec(st, "PRAGMA journal_mode = WAL", path);
	if (!code)
		code = exec(st, "PRAGMA synchronous = NORMAL", path);
	if (!code)
		code = exec(st, "PRAGMA foreign_keys = ON", path);
	/* A page cache of 32 MiB (SQLite's default is 2 MiB): a transaction
	 * that touches more pages than the cache holds spills them to the WAL
	 * and reads them back, which was a third of an import of 100,000
	 * indicators (a 35 MB store); memory is taken only as pages are. */
	if (!code)
		code = exec(st, "PRAGMA cache_size = -32768", path);
	if (!code)
		code = migrate(st, path, steps, n_steps);
	return code;
}

int vigil_store_open(vigil_store **out, const char *path)
{
	return store__open_with(out, path, store__migrations, store__n_migrations);
}

void vigil_store_close(vigil_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db) {
		if (!sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close_v2(st->db);
	}
	free(st);
}

const char *vigil_store_error(const vigil_store *st)
{
	return st ? st->err : "";
}

int vigil_store_schema_version(const vigil_store *st)
{
	if (!st || !st->db)
		return 0;
	int version = 0;
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return version;
}

/* ---- messages ----------------------------------------------------------- */

static bool has_hash(const vigil_message *msg)
{
	return strlen(msg->sha256) == 64;
}

static int insert_hit(vigil_store *st, int64_t hunt_id, int64_t message, const char *type,
	const char *value, const char *source, const char *artifact, const char *artifact_value)
{
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_HIT_INSERT, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_int64(s, 1, hunt_id, &b);
	store__bind_int64(s, 2, message, &b);
	store__bind_text(s, 3, type, &b);
	store__bind_text(s, 4, value, &b);
	store__bind_text(s, 5, source ? source : "", &b);
	store__bind_text(s, 6, artifact ? artifact : "", &b);
	store__bind_text(s, 7, artifact_value ? artifact_value : "", &b);
	store__bind_int64(s, 8, store__now(), &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a hit");
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return store__fail(st, VIGIL_EINVAL, "recording a hit: no hunt %lld",
			(long long)hunt_id);
	return store__db_fail(st, rc, "recording a hit");
}

static int upsert_message(vigil_store *st, const vigil_message *msg, int64_t now, int64_t *id)
{
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_MSG_UPSERT, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_text(s, 1, msg->sha256, &b);
	store__bind_int64(s, 2, (int64_t)msg->size, &b);
	store__bind_text(s, 3, msg->message_id, &b);
	store__bind_text(s, 4, msg->from.address, &b);
	store__bind_text(s, 5, msg->from.name, &b);
	store__bind_text(s, 6, msg->from.domain, &b);
	store__bind_text(s, 7, msg->subject, &b);
	store__bind_text(s, 8, msg->date, &b);
	store__bind_time(s, 9, msg->date_time, &b);
	store__bind_text(s, 10, vigil_verdict_name(msg->verdict), &b);
	store__bind_int64(s, 11, msg->score, &b);
	store__bind_int64(s, 12, msg->partial, &b);
	store__bind_int64(s, 13, now, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a message");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		rc = sqlite3_step(s); /* runs the statement to its end */
	}
	int ret = rc == SQLITE_DONE ? 0 : store__db_fail(st, rc, "recording a message");
	sqlite3_reset(s);
	return ret;
}

static int insert_recipients(vigil_store *st, int64_t id, const char *field,
	const vigil_mailbox_vec *v)
{
	for (size_t i = 0; i < v->len; i++) {
		const vigil_mailbox *mb = &v->items[i];
		/* A group has no address; a nested message's recipients are not
		 * this message's. */
		if (!mb->address || !*mb->address || mb->nested)
			continue;
		sqlite3_stmt *s;
		int rc = store__stmt(st, ST_RCPT_INSERT, &s);
		if (rc)
			return rc;
		int b = SQLITE_OK;
		store__bind_int64(s, 1, id, &b);
		store__bind_text(s, 2, field, &b);
		store__bind_text(s, 3, mb->address, &b);
		store__bind_text(s, 4, mb->name, &b);
		if (b != SQLITE_OK)
			return store__db_fail(st, b, "binding a recipient");
		rc = store__run(st, s, "recording a recipient");
		if (rc)
			return rc;
	}
	return 0;
}

static int delete_children(vigil_store *st, store__stmt_id id, int64_t message)
{
	sqlite3_stmt *s;
	int rc = store__stmt(st, id, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_int64(s, 1, message, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a message id");
	return store__run(st, s, "replacing a message's rows");
}

static int insert_findings(vigil_store *st, int64_t id, const vigil_message *msg,
	int64_t hunt_id)
{
	for (size_t i = 0; i < msg->findings.len; i++) {
		const vigil_finding *f = &msg->findings.items[i];
		sqlite3_stmt *s;
		int rc = store__stmt(st, ST_FIND_INSERT, &s);
		if (rc)
			return rc;
		int b = SQLITE_OK;
		store__bind_int64(s, 1, id, &b);
		store__bind_int64(s, 2, (int64_t)i, &b);
		store__bind_text(s, 3, f->detector ? f->detector : "", &b);
		store__bind_text(s, 4, f->id ? f->id : "", &b);
		store__bind_text(s, 5, report__class_name(f->cls), &b);
		store__bind_int64(s, 6, f->score, &b);
		store__bind_text(s, 7, f->reason, &b);
		store__bind_text(s, 8, f->artifact, &b);
		store__bind_text(s, 9, f->value, &b);
		store__bind_text(s, 10, f->ioc_type, &b);
		store__bind_text(s, 11, f->ioc_value, &b);
		store__bind_text(s, 12, f->ioc_source, &b);
		store__bind_text(s, 13, f->about, &b);
		if (b != SQLITE_OK)
			return store__db_fail(st, b, "binding a finding");
		rc = store__run(st, s, "recording a finding");
		if (rc)
			return rc;
		/* An intel finding carries the indicator that matched: that is
		 * the hunt's hit. */
		if (hunt_id > 0 && f->ioc_type && f->ioc_value && f->value) {
			rc = insert_hit(st, hunt_id, id, f->ioc_type, f->ioc_value,
				f->ioc_source ? f->ioc_source : "", f->artifact, f->value);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int vigil_store_record_message(vigil_store *st, const vigil_message *msg, int64_t hunt_id)
{
	if (!st || !msg || hunt_id < 0)
		return st ? store__fail(st, VIGIL_EINVAL, "recording a message: bad argument")
			  : VIGIL_EINVAL;
	if (!has_hash(msg))
		return store__fail(st, VIGIL_EINVAL, "recording a message: it has no content hash");
	int rc = store__tx_enter(st);
	if (rc)
		return rc;
	int64_t now = store__now(), id = 0;
	rc = upsert_message(st, msg, now, &id);
	if (!rc && msg->path) {
		sqlite3_stmt *s;
		rc = store__stmt(st, ST_PROV_INSERT, &s);
		if (!rc) {
			int b = SQLITE_OK;
			store__bind_int64(s, 1, id, &b);
			store__bind_text(s, 2, msg->path, &b);
			store__bind_int64(s, 3, msg->offset, &b);
			store__bind_int64(s, 4, now, &b);
			rc = b != SQLITE_OK ? store__db_fail(st, b, "binding a provenance")
					    : store__run(st, s, "recording a provenance");
		}
	}
	/* Same bytes give the same recipients and findings, but a newer vigil
	 * may find more in them: the latest scan replaces the earlier one. */
	if (!rc)
		rc = delete_children(st, ST_RCPT_DELETE, id);
	if (!rc)
		rc = insert_recipients(st, id, "to", &msg->to);
	if (!rc)
		rc = insert_recipients(st, id, "cc", &msg->cc);
	if (!rc)
		rc = insert_recipients(st, id, "bcc", &msg->bcc);
	if (!rc)
		rc = insert_recipients(st, id, "delivered-to", &msg->delivered_to);
	if (!rc)
		rc = delete_children(st, ST_FIND_DELETE, id);
	if (!rc)
		rc = insert_findings(st, id, msg, hunt_id);
	if (!rc)
		rc = store__record_traits(st, id, msg);
	return store__tx_leave(st, rc);
}

int vigil_store_record_hit(vigil_store *st, int64_t hunt_id, const vigil_message *msg,
	const char *indicator_type, const char *indicator_value, const char *source,
	const char *artifact, const char *artifact_value)
{
	if (!st)
		return VIGIL_EINVAL;
	if (!msg || hunt_id <= 0 || !indicator_type || !indicator_value)
		return store__fail(st, VIGIL_EINVAL, "recording a hit: bad argument");
	if (!has_hash(msg))
		return store__fail(st, VIGIL_EINVAL, "recording a hit: the message has no content hash");
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_HIT_MESSAGE, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_text(s, 1, msg->sha256, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a hash");
	rc = sqlite3_step(s);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return store__fail(st, VIGIL_EINVAL,
			"recording a hit: message %s was not recorded", msg->sha256);
	if (rc != SQLITE_ROW)
		return store__db_fail(st, rc, "finding a message");
	return insert_hit(st, hunt_id, id, indicator_type, indicator_value, source, artifact,
		artifact_value);
}
