/* Unit tests for the store: schema and migrations, messages without
 * duplicates, indicators, hunts and their summary. Each test works in its
 * own temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "intel/intel.h"
#include "store/store_internal.h"
#include "testutil.h"

typedef struct fixture {
	char dir[64];
	char path[128];
	test_env *env;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/vigil-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/vigil.db", f->dir);
	f->env = test_env_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char p[160];
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffixes[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/other.db", f->dir);
	unlink(p);
	rmdir(f->dir);
	test_env_free(f->env);
	free(f);
	return 0;
}

static vigil_store *open_store(const fixture *f)
{
	vigil_store *st = NULL;
	int rc = vigil_store_open(&st, f->path);
	if (rc != 0)
		fail_msg("open: %s", vigil_store_error(st));
	return st;
}

/* One integer from a query on a separate connection, as another reader
 * of the file (the dashboard) would see it. */
static int64_t query_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int64_t v = -1;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
				 NULL),
		SQLITE_OK);
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

static const char MSG_A[] =
	"From: Alice Sender <alice@sender.example>\r\n"
	"To: Bob <Bob@target.example>, carol@target.example\r\n"
	"Cc: dave@target.example\r\n"
	"Subject: Invitation\r\n"
	"Date: Mon, 4 Jan 2021 09:51:25 +0000\r\n"
	"Message-ID: <a1@sender.example>\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"Please see http://evil.example/x\r\n";

static const char MSG_B[] =
	"From: Mallory <m@evil.example>\r\n"
	"To: bob@target.example\r\n"
	"Subject: Second\r\n"
	"Date: Tue, 5 Jan 2021 10:00:00 +0000\r\n"
	"Message-ID: <b1@evil.example>\r\n"
	"\r\n"
	"Hello\r\n";

static const char MSG_C[] =
	"From: Eve <eve@other.example>\r\n"
	"To: erin@target.example\r\n"
	"Subject: Third\r\n"
	"Date: Wed, 6 Jan 2021 10:00:00 +0000\r\n"
	"\r\n"
	"Hello again\r\n";

static vigil_message *scan_at(fixture *f, const char *text, const char *path, int64_t offset)
{
	vigil_message *m = test_scan(f->env, text);
	m->path = path;
	m->offset = offset;
	return m;
}

static void add_finding(vigil_message *m, const char *detector, const char *id,
	const char *artifact, const char *value)
{
	vigil_finding *fd = VIGIL_VEC_PUSH(m->arena, &m->findings);
	assert_non_null(fd);
	fd->detector = detector;
	fd->id = id;
	fd->cls = VIGIL_CLASS_MALICIOUS;
	fd->score = 80;
	fd->reason = "test finding";
	fd->artifact = artifact;
	fd->value = value;
	/* An intel finding names the indicator that matched, as detect/intel.c
	 * records it: here the indicator is the matched value itself. */
	if (strcmp(detector, "intel") == 0) {
		fd->ioc_type = strchr(id, '.') ? strchr(id, '.') + 1 : id;
		fd->ioc_value = value;
		fd->ioc_source = "";
	}
}

/* ---- schema ------------------------------------------------------------- */

static void store_creates_schema_with_version_and_wal(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	assert_int_equal(vigil_store_schema_version(st), (int)store__n_migrations);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "PRAGMA user_version"), (int64_t)store__n_migrations);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE type ="
					    " 'table' AND name IN ('messages', 'provenances',"
					    " 'recipients', 'findings', 'indicators', 'hunts',"
					    " 'hunt_sources', 'hits')"),
		8);
	assert_int_equal(query_int(f->path, "SELECT journal_mode = 'wal' FROM"
					    " pragma_journal_mode"),
		1);
	assert_int_equal(query_int(f->path, "PRAGMA application_id"), 0x5647494c);
}

static void store_reopen_keeps_data(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	vigil_message *m = scan_at(f, MSG_A, "a.mbox", 0);
	assert_int_equal(vigil_store_record_message(st, m, 0), 0);
	vigil_store_close(st);
	st = open_store(f);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 1);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM recipients"), 3);
	vigil_message_free(m);
}

static void store_refuses_newer_schema(void **state)
{
	fixture *f = *state;
	vigil_store_close(open_store(f));
	exec_sql(f->path, "PRAGMA user_version = 999");
	vigil_store *st = NULL;
	assert_int_equal(vigil_store_open(&st, f->path), VIGIL_ECONFIG);
	assert_non_null(strstr(vigil_store_error(st), "newer"));
	vigil_store_close(st);
	/* and it left the file alone */
	assert_int_equal(query_int(f->path, "PRAGMA user_version"), 999);
}

static void store_refuses_another_programs_database(void **state)
{
	fixture *f = *state;
	exec_sql(f->path, "CREATE TABLE accounts (id INTEGER)");
	vigil_store *st = NULL;
	assert_int_equal(vigil_store_open(&st, f->path), VIGIL_EPARSE);
	assert_non_null(strstr(vigil_store_error(st), "another program"));
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM sqlite_schema"), 1);
}

static void store_refuses_a_file_that_is_not_a_database(void **state)
{
	fixture *f = *state;
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("From: not a database at all\n", fp);
	fclose(fp);
	vigil_store *st = NULL;
	assert_int_equal(vigil_store_open(&st, f->path), VIGIL_EPARSE);
	assert_non_null(strstr(vigil_store_error(st), "not a SQLite database"));
	vigil_store_close(st);
}

static void store_open_of_unwritable_path_is_eio_with_detail(void **state)
{
	vigil_store *st = NULL;
	assert_int_equal(vigil_store_open(&st, "/nonexistent-dir/vigil.db"), VIGIL_EIO);
	assert_non_null(st);
	assert_non_null(strstr(vigil_store_error(st), "/nonexistent-dir/vigil.db"));
	vigil_store_close(st);
	assert_int_equal(vigil_store_open(NULL, "x"), VIGIL_EINVAL);
	assert_int_equal(vigil_store_open(&st, NULL), VIGIL_EINVAL);
	assert_null(st);
}

/* A file as vigil 0.1 (schema version 1) left it, holding one message. */
static void make_v1_file(const fixture *f)
{
	vigil_store *st = NULL;
	assert_int_equal(store__open_with(&st, f->path, store__migrations, 1), 0);
	assert_int_equal(vigil_store_schema_version(st), 1);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path,
				 "INSERT INTO messages (sha256, size, verdict, score, first_seen,"
				 " last_seen) VALUES (printf('%064d', 1), 10, 'recon', 90, 1, 1)"
				 " RETURNING id"),
		1);
}

static void store_migration_from_v1_applies(void **state)
{
	fixture *f = *state;
	make_v1_file(f);
	/* this vigil brings it to the newest version, keeping what it held */
	vigil_store *st = open_store(f);
	assert_int_equal(vigil_store_schema_version(st), (int)store__n_migrations);
	vigil_message *m = scan_at(f, MSG_A, "a.mbox", 0);
	assert_int_equal(vigil_store_record_message(st, m, 0), 0);
	assert_int_equal(vigil_store_campaigns_update(st, NULL, NULL), 0);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 2);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM findings WHERE ioc_type IS NOT"
					    " NULL"),
		0);
	/* the recon message of version 1 (no traits) still seeds a campaign */
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM campaigns"), 1);
	/* opened by a vigil that knows only version 1, the migrated file is refused */
	st = NULL;
	assert_int_equal(store__open_with(&st, f->path, store__migrations, 1), VIGIL_ECONFIG);
	assert_non_null(strstr(vigil_store_error(st), "newer"));
	vigil_store_close(st);
	vigil_message_free(m);
}

static void store_failed_migration_keeps_previous_version(void **state)
{
	fixture *f = *state;
	make_v1_file(f);
	store__migration steps[] = {store__migrations[0],
		{2, "CREATE TABLE half (a INTEGER); INSERT INTO no_such_table VALUES (1);"}};
	vigil_store *st = NULL;
	assert_int_equal(store__open_with(&st, f->path, steps, 2), VIGIL_EINTERNAL);
	assert_non_null(strstr(vigil_store_error(st), "version 2"));
	assert_non_null(strstr(vigil_store_error(st), "no_such_table"));
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "PRAGMA user_version"), 1);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name ="
					    " 'half'"),
		0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 1);
}

/* ---- messages ----------------------------------------------------------- */

static void store_same_message_twice_is_one_row_two_scans_no_duplicates(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	for (int scan = 0; scan < 2; scan++) {
		assert_int_equal(vigil_store_begin(st), 0);
		vigil_message *a = scan_at(f, MSG_A, "archive.mbox", 0);
		vigil_message *b = scan_at(f, MSG_B, "archive.mbox", 812);
		add_finding(b, "intel", "intel.domain", "from", "evil.example");
		assert_int_equal(vigil_store_record_message(st, a, 0), 0);
		assert_int_equal(vigil_store_record_message(st, b, 0), 0);
		assert_int_equal(vigil_store_commit(st), 0);
		vigil_message_free(a);
		vigil_message_free(b);
	}
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 2);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM provenances"), 2);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM recipients"), 4);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM findings WHERE detector ="
					    " 'intel'"),
		1);
	/* recipients are keyed lower case, the identity fields are kept */
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM recipients WHERE address ="
					    " 'bob@target.example' AND field = 'to'"),
		2);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE message_id ="
					    " 'a1@sender.example' AND from_domain = 'sender.example'"
					    " AND subject = 'Invitation' AND date_time = 1609753885"),
		1);
}

static void store_same_message_two_paths_has_two_provenances(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	vigil_message *a = scan_at(f, MSG_A, "inbox.mbox", 0);
	vigil_message *b = scan_at(f, MSG_A, "Maildir/cur/1.eml", -1);
	assert_string_equal(a->sha256, b->sha256);
	assert_int_equal(vigil_store_record_message(st, a, 0), 0);
	assert_int_equal(vigil_store_record_message(st, b, 0), 0);
	assert_int_equal(vigil_store_record_message(st, a, 0), 0);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 1);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM provenances"), 2);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM provenances WHERE path ="
					    " 'Maildir/cur/1.eml' AND offset = -1"),
		1);
	vigil_message_free(a);
	vigil_message_free(b);
}

static void store_findings_replaced_on_rescan(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	vigil_message *m = scan_at(f, MSG_A, "a.mbox", 0);
	size_t base = m->findings.len;
	add_finding(m, "rules", "rules.old", "body", "x");
	add_finding(m, "rules", "rules.old2", "body", "y");
	assert_int_equal(vigil_store_record_message(st, m, 0), 0);
	vigil_message_free(m);

	/* a later scan (a newer vigil, new rules) finds something else */
	m = scan_at(f, MSG_A, "a.mbox", 0);
	add_finding(m, "rules", "rules.new", "body", "z");
	m->score = 77;
	assert_int_equal(vigil_store_record_message(st, m, 0), 0);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM findings"), (int64_t)base + 1);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM findings WHERE finding_id LIKE"
					    " 'rules.old%'"),
		0);
	assert_int_equal(query_int(f->path, "SELECT score FROM messages"), 77);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE last_seen >="
					    " first_seen"),
		1);
	vigil_message_free(m);
}

static void store_failed_record_in_batch_undoes_only_that_message(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	vigil_message *a = scan_at(f, MSG_A, "a.mbox", 0);
	vigil_message *b = scan_at(f, MSG_B, "a.mbox", 900);
	vigil_message *c = scan_at(f, MSG_C, "a.mbox", 1800);
	add_finding(b, "intel", "intel.domain", "from", "evil.example");
	assert_int_equal(vigil_store_begin(st), 0);
	assert_int_equal(vigil_store_begin(st), VIGIL_EINVAL); /* no nesting */
	assert_int_equal(vigil_store_record_message(st, a, 0), 0);
	/* hunt 42 does not exist: the hit fails after the message row was
	 * written; that row must go, the batch must stay */
	assert_int_equal(vigil_store_record_message(st, b, 42), VIGIL_EINVAL);
	assert_non_null(strstr(vigil_store_error(st), "no hunt 42"));
	assert_int_equal(vigil_store_record_message(st, c, 0), 0);
	assert_int_equal(vigil_store_commit(st), 0);
	assert_int_equal(vigil_store_commit(st), VIGIL_EINVAL);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 2);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages WHERE subject ="
					    " 'Second'"),
		0);
	vigil_message_free(a);
	vigil_message_free(b);
	vigil_message_free(c);
}

static void store_rollback_discards_the_batch(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	vigil_message *a = scan_at(f, MSG_A, "a.mbox", 0);
	assert_int_equal(vigil_store_begin(st), 0);
	assert_int_equal(vigil_store_record_message(st, a, 0), 0);
	assert_int_equal(vigil_store_rollback(st), 0);
	/* a batch left open at close is not kept either */
	assert_int_equal(vigil_store_begin(st), 0);
	assert_int_equal(vigil_store_record_message(st, a, 0), 0);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 0);
	vigil_message_free(a);
}

/* The volume tests print their time for a reader; speed itself is measured
 * in bench/ (a timed assertion here failed on a loaded machine, not on a
 * slow store). */
static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The store's share of a hunt: 10,000 distinct messages in batches of
 * 1,000 (one scanned message, its hash changed each time). */
static void store_record_10k_messages_in_batches(void **state)
{
	fixture *f = *state;
	enum { N = 10000, BATCH = 1000 };
	vigil_store *st = open_store(f);
	vigil_message *m = scan_at(f, MSG_A, "big.mbox", 0);
	add_finding(m, "tracker", "tracker.hidden-image", "url", "http://t.example/p.gif");
	double t0 = now_seconds();
	for (int i = 0; i < N; i++) {
		if (i % BATCH == 0)
			assert_int_equal(vigil_store_begin(st), 0);
		snprintf(m->sha256, sizeof(m->sha256), "%064d", i);
		m->offset = (int64_t)i * 1000;
		assert_int_equal(vigil_store_record_message(st, m, 0), 0);
		if (i % BATCH == BATCH - 1)
			assert_int_equal(vigil_store_commit(st), 0);
	}
	double dt = now_seconds() - t0;
	vigil_store_close(st);
	print_message("recorded %d messages in %.3f s (%.0f/s)\n", N, dt, N / dt);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), N);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM provenances"), N);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM recipients"), 3 * N);
	vigil_message_free(m);
}

/* ---- indicators --------------------------------------------------------- */

/* Sets are built by hand: the store reads only the items. */
static vigil_intel_set *set_new(void)
{
	vigil_intel_set *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->arena = vigil_arena_new();
	assert_non_null(s->arena);
	return s;
}

static void set_free(vigil_intel_set *s)
{
	vigil_arena_free(s->arena);
	free(s);
}

static void set_push(vigil_intel_set *s, vigil_ioc_type type, const char *value,
	const char *source)
{
	vigil_indicator *ind = VIGIL_VEC_PUSH(s->arena, &s->items);
	assert_non_null(ind);
	ind->type = type;
	ind->value = vigil_arena_strdup(s->arena, value);
	ind->source = source;
	ind->source_id = "line 1";
	ind->valid_from = 1609459200;
	ind->valid_until = VIGIL_NO_TIME;
}

static void store_import_indicators_in_one_transaction(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	vigil_intel_set *set = set_new();
	set_push(set, VIGIL_IOC_DOMAIN, "evil.example", "feed.txt");
	set_push(set, VIGIL_IOC_IPV4, "192.0.2.0/24", "feed.txt");
	set_push(set, VIGIL_IOC_DOMAIN, "boom.example", "feed.txt");
	set_push(set, VIGIL_IOC_EMAIL, "m@evil.example", "feed.txt");

	/* a database error on the third indicator: nothing is imported */
	vigil_store_close(st);
	exec_sql(f->path, "CREATE TRIGGER boom BEFORE INSERT ON indicators WHEN"
			  " NEW.value = 'boom.example' BEGIN SELECT RAISE(ABORT, 'boom'); END");
	st = open_store(f);
	size_t added = 99;
	assert_int_not_equal(store__import_indicators(st, set, &added), 0);
	assert_int_equal(added, 0);
	assert_non_null(strstr(vigil_store_error(st), "boom"));
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM indicators"), 0);

	/* the same inside a caller's batch: the batch survives */
	vigil_message *m = scan_at(f, MSG_A, "a.mbox", 0);
	assert_int_equal(vigil_store_begin(st), 0);
	assert_int_equal(vigil_store_record_message(st, m, 0), 0);
	assert_int_not_equal(store__import_indicators(st, set, &added), 0);
	assert_int_equal(vigil_store_commit(st), 0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM messages"), 1);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM indicators"), 0);

	exec_sql(f->path, "DROP TRIGGER boom");
	assert_int_equal(store__import_indicators(st, set, &added), 0);
	assert_int_equal(added, 4);
	/* again, with a changed name: nothing new, metadata updated */
	set->items.items[0].name = "Operation Test";
	assert_int_equal(store__import_indicators(st, set, &added), 0);
	assert_int_equal(added, 0);
	/* the same value from another feed is another row */
	vigil_intel_set *other = set_new();
	set_push(other, VIGIL_IOC_DOMAIN, "evil.example", "misp.json");
	assert_int_equal(store__import_indicators(st, other, &added), 0);
	assert_int_equal(added, 1);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM indicators"), 5);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM indicators WHERE name ="
					    " 'Operation Test' AND valid_from = 1609459200 AND"
					    " valid_until IS NULL AND source_id = 'line 1'"),
		1);
	set_free(set);
	set_free(other);
	vigil_message_free(m);
}

static void store_import_100k_indicators(void **state)
{
	fixture *f = *state;
	enum { N = 100000 };
	vigil_store *st = open_store(f);
	vigil_intel_set *set = set_new();
	char value[64];
	for (int i = 0; i < N; i++) {
		snprintf(value, sizeof(value), "host%d.bad%d.example", i, i % 97);
		set_push(set, VIGIL_IOC_DOMAIN, value, "big-feed.stix.json");
	}
	size_t added = 0;
	double t0 = now_seconds();
	assert_int_equal(store__import_indicators(st, set, &added), 0);
	double dt = now_seconds() - t0;
	assert_int_equal(added, N);
	double t1 = now_seconds();
	assert_int_equal(store__import_indicators(st, set, &added), 0);
	double dt2 = now_seconds() - t1;
	assert_int_equal(added, 0);
	print_message("imported %d indicators in %.3f s; re-import (all updates) %.3f s\n", N,
		dt, dt2);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM indicators"), N);
	assert_int_equal(query_int(f->path, "SELECT count(DISTINCT value) FROM indicators"), N);
	set_free(set);
}

static void store_lists_indicators_as_jsonl_and_text(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	vigil_intel_set *set = set_new();
	set_push(set, VIGIL_IOC_URL, "http://evil.example/x", "feed.txt");
	set_push(set, VIGIL_IOC_DOMAIN, "evil.example", "feed.txt");
	assert_int_equal(store__import_indicators(st, set, NULL), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	assert_int_equal(vigil_store_list_indicators(st, fp, VIGIL_FORMAT_JSONL), 0);
	fclose(fp);
	assert_non_null(strstr(buf, "{\"type\":\"domain\",\"value\":\"evil.example\","
				    "\"source\":\"feed.txt\",\"source_id\":\"line 1\","));
	assert_non_null(strstr(buf, "\"valid_from\":\"2021-01-01T00:00:00Z\","
				    "\"valid_until\":null"));
	/* ordered by type: domain before url */
	assert_true(strstr(buf, "\"domain\"") < strstr(buf, "\"url\""));
	free(buf);
	fp = open_memstream(&buf, &len);
	assert_int_equal(vigil_store_list_indicators(st, fp, VIGIL_FORMAT_TEXT), 0);
	fclose(fp);
	assert_non_null(strstr(buf, "url\thttp://evil.example/x\tfeed.txt\t-\t-\t"
				    "2021-01-01T00:00:00Z\t-\n"));
	free(buf);
	vigil_store_close(st);
	set_free(set);
}

static void store_load_indicators_round_trip(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	vigil_intel_set *in = set_new();
	set_push(in, VIGIL_IOC_DOMAIN, "evil.example", "feed.txt");
	set_push(in, VIGIL_IOC_SHA256,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "misp.json");
	in->items.items[0].actor = "APT Test";
	in->items.items[0].valid_until = 1700000000;
	assert_int_equal(store__import_indicators(st, in, NULL), 0);
	vigil_intel_set *out = intel__set_new();
	assert_non_null(out);
	assert_int_equal(store__load_indicators(st, out), 0);
	assert_int_equal(out->items.len, 2);
	const vigil_indicator *d = &out->items.items[0]; /* ordered by type name */
	assert_int_equal(d->type, VIGIL_IOC_DOMAIN);
	assert_string_equal(d->value, "evil.example");
	assert_string_equal(d->source, "feed.txt");
	assert_string_equal(d->source_id, "line 1");
	assert_string_equal(d->actor, "APT Test");
	assert_null(d->name);
	assert_int_equal(d->valid_from, 1609459200);
	assert_int_equal(d->valid_until, 1700000000);
	assert_int_equal(out->items.items[1].type, VIGIL_IOC_SHA256);
	assert_int_equal(out->items.items[1].valid_until, VIGIL_NO_TIME);
	intel__set_free(out);
	vigil_store_close(st);
	set_free(in);
}

/* ---- hunts -------------------------------------------------------------- */

static void store_hunt_resume_by_fingerprint(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	int64_t id = 0, id2 = 0;
	bool resumed = true;
	assert_int_equal(vigil_store_hunt_begin(st, "fp-A", "{\"feeds\":[\"f.json\"]}", &id,
				 &resumed),
		0);
	assert_true(id > 0);
	assert_false(resumed);
	assert_int_equal(vigil_store_hunt_progress(st, id, "one.mbox", 5000, 10, true), 0);
	assert_int_equal(vigil_store_hunt_progress(st, id, "two.mbox", 1000, 2, false), 0);
	assert_int_equal(vigil_store_hunt_progress(st, id, "two.mbox", 2000, 4, false), 0);
	vigil_store_close(st); /* interrupted */

	st = open_store(f);
	assert_int_equal(vigil_store_hunt_begin(st, "fp-A", NULL, &id2, &resumed), 0);
	assert_int_equal(id2, id);
	assert_true(resumed);
	bool finished = false;
	uint64_t bytes = 0, msgs = 0;
	assert_int_equal(vigil_store_hunt_source_done(st, id, "one.mbox", &finished, &bytes, &msgs),
		0);
	assert_true(finished);
	assert_int_equal(bytes, 5000);
	assert_int_equal(vigil_store_hunt_source_done(st, id, "two.mbox", &finished, &bytes, &msgs),
		0);
	assert_false(finished);
	assert_int_equal(bytes, 2000);
	assert_int_equal(msgs, 4);
	assert_int_equal(vigil_store_hunt_source_done(st, id, "three.mbox", &finished, &bytes,
				 NULL),
		0);
	assert_false(finished);
	assert_int_equal(bytes, 0);

	/* other arguments: another hunt */
	assert_int_equal(vigil_store_hunt_begin(st, "fp-B", NULL, &id2, &resumed), 0);
	assert_int_not_equal(id2, id);
	assert_false(resumed);

	/* a finished hunt is not resumed: the same arguments hunt again from
	 * the start, under the same id (so the store gains nothing new) */
	assert_int_equal(vigil_store_hunt_end(st, id), 0);
	assert_int_equal(vigil_store_hunt_end(st, id), 0);
	assert_int_equal(vigil_store_hunt_begin(st, "fp-A", NULL, &id2, &resumed), 0);
	assert_int_equal(id2, id);
	assert_false(resumed);
	assert_int_equal(vigil_store_hunt_source_done(st, id, "one.mbox", &finished, &bytes, &msgs),
		0);
	assert_false(finished); /* its progress starts over */
	assert_int_equal(vigil_store_hunt_end(st, id), 0);

	assert_int_equal(vigil_store_hunt_end(st, 12345), VIGIL_EINVAL);
	assert_int_equal(vigil_store_hunt_progress(st, 12345, "x", 1, 1, false), VIGIL_EINVAL);
	assert_int_equal(vigil_store_hunt_begin(st, "fp-C", "{not json", &id2, NULL), VIGIL_EINVAL);
	vigil_store_close(st);
	assert_int_equal(query_int(f->path, "SELECT resumes FROM hunts WHERE fingerprint = 'fp-A'"
					    " AND finished_at IS NOT NULL"),
		1);
}

typedef struct rows {
	int n;
	vigil_hunt_row r[4];
	char values[4][64];
} rows;

static int collect(void *ud, const vigil_hunt_row *row)
{
	rows *rs = ud;
	if (rs->n >= 4)
		return -100;
	rs->r[rs->n] = *row;
	snprintf(rs->values[rs->n], sizeof(rs->values[0]), "%s:%s", row->indicator_type,
		row->indicator_value);
	rs->n++;
	return 0;
}

static void store_hunt_summary_counts_messages_and_recipients(void **state)
{
	fixture *f = *state;
	vigil_store *st = open_store(f);
	int64_t hunt = 0, other = 0;
	assert_int_equal(vigil_store_hunt_begin(st, "fp", NULL, &hunt, NULL), 0);
	assert_int_equal(vigil_store_hunt_begin(st, "fp-other", NULL, &other, NULL), 0);
	vigil_message *a = scan_at(f, MSG_A, "a.mbox", 0);   /* bob, carol, dave; Jan 4 */
	vigil_message *b = scan_at(f, MSG_B, "a.mbox", 900); /* bob; Jan 5 */
	vigil_message *c = scan_at(f, MSG_C, "a.mbox", 1800);
	add_finding(c, "intel", "intel.email", "from", "eve@other.example");
	assert_int_equal(vigil_store_begin(st), 0);
	assert_int_equal(vigil_store_record_message(st, a, hunt), 0);
	assert_int_equal(vigil_store_record_message(st, b, hunt), 0);
	assert_int_equal(vigil_store_record_message(st, c, hunt), 0);
	/* evil.example: two artifacts of a, one of b, twice recorded */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vigil_store_record_hit(st, hunt, a, "domain", "evil.example",
					 "feed.txt", "url", "http://evil.example/x"),
			0);
		assert_int_equal(vigil_store_record_hit(st, hunt, a, "domain", "evil.example",
					 "feed.txt", "body", "evil.example"),
			0);
		assert_int_equal(vigil_store_record_hit(st, hunt, b, "domain", "evil.example",
					 "misp.json", "from", "m@evil.example"),
			0);
	}
	/* another hunt's hits don't count */
	assert_int_equal(vigil_store_record_hit(st, other, c, "domain", "evil.example", "feed.txt",
				 "url", "x"),
		0);
	assert_int_equal(vigil_store_commit(st), 0);

	rows rs = {0};
	assert_int_equal(vigil_store_hunt_summary(st, hunt, collect, &rs), 0);
	assert_int_equal(rs.n, 2);
	assert_string_equal(rs.values[0], "domain:evil.example");
	assert_int_equal(rs.r[0].messages, 2);
	assert_int_equal(rs.r[0].recipients, 3); /* bob, carol, dave */
	assert_int_equal(rs.r[0].first_date, 1609753885);
	assert_int_equal(rs.r[0].last_date, 1609840800);
	assert_string_equal(rs.values[1], "email:eve@other.example");
	assert_int_equal(rs.r[1].messages, 1);
	assert_int_equal(rs.r[1].recipients, 1);

	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	assert_int_equal(vigil_store_hunt_summary_write(st, hunt, fp, VIGIL_FORMAT_JSONL), 0);
	fclose(fp);
	assert_non_null(strstr(buf, "{\"type\":\"domain\",\"value\":\"evil.example\",\"sources\":"));
	assert_non_null(strstr(buf, "\"messages\":2,\"recipients\":3,"
				    "\"first_date\":\"2021-01-04T09:51:25Z\","
				    "\"last_date\":\"2021-01-05T10:00:00Z\"}\n"));
	free(buf);

	/* a hit needs a recorded message */
	vigil_message *d = scan_at(f, "Subject: never recorded\r\n\r\nx\r\n", "b.mbox", 0);
	assert_int_equal(vigil_store_record_hit(st, hunt, d, "domain", "x.example", "f", "url", "u"),
		VIGIL_EINVAL);
	vigil_store_close(st);
	vigil_message_free(a);
	vigil_message_free(b);
	vigil_message_free(c);
	vigil_message_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(store_creates_schema_with_version_and_wal),
		T(store_reopen_keeps_data),
		T(store_refuses_newer_schema),
		T(store_refuses_another_programs_database),
		T(store_refuses_a_file_that_is_not_a_database),
		T(store_open_of_unwritable_path_is_eio_with_detail),
		T(store_migration_from_v1_applies),
		T(store_failed_migration_keeps_previous_version),
		T(store_same_message_twice_is_one_row_two_scans_no_duplicates),
		T(store_same_message_two_paths_has_two_provenances),
		T(store_findings_replaced_on_rescan),
		T(store_failed_record_in_batch_undoes_only_that_message),
		T(store_rollback_discards_the_batch),
		T(store_record_10k_messages_in_batches),
		T(store_import_indicators_in_one_transaction),
		T(store_import_100k_indicators),
		T(store_lists_indicators_as_jsonl_and_text),
		T(store_load_indicators_round_trip),
		T(store_hunt_resume_by_fingerprint),
		T(store_hunt_summary_counts_messages_and_recipients),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
