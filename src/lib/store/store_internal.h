/*
 * What the store shares with the rest of the library (indicator sets, which
 * are internal) and with its own files: the handle, cached statements,
 * transaction helpers and the migration list.
 */
#ifndef VIGIL_STORE_INTERNAL_H
#define VIGIL_STORE_INTERNAL_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intel/intel.h"
#include "message.h"
#include "vigil/vigil.h"

/* ---- for other modules -------------------------------------------------- */

/* Adds every indicator of `set` in one transaction (a savepoint inside a
 * transaction the caller opened with vigil_store_begin()): all or nothing.
 * An indicator already stored (same type, value and source) has its
 * metadata updated and keeps its first import time. *added (may be NULL)
 * counts the indicators that were new. Returns 0, VIGIL_EINVAL, VIGIL_EIO,
 * VIGIL_ENOMEM or VIGIL_EINTERNAL, with the detail in vigil_store_error(). */
int store__import_indicators(vigil_store *st, const vigil_intel_set *set, size_t *added);

/* Appends every stored indicator to `set` through intel__set_add(). Returns
 * 0, VIGIL_ENOMEM, VIGIL_EPARSE (a stored row is no longer a valid
 * indicator: the detail names it) or a database error. */
int store__load_indicators(vigil_store *st, vigil_intel_set *set);

/* Replaces the campaign traits of message row `id` (campaigns.c): tracker
 * URLs, grouping keys, lure hash. Messages judged clean have none. Returns 0
 * or a database error. */
int store__record_traits(vigil_store *st, int64_t id, const vigil_message *msg);

/* The campaign documents (docs/campaigns.md): of campaign `id` (a merged
 * id leads to the campaign it joined), or of all when id is 0, as a JSON
 * array the caller owns. Returns 0, VIGIL_EINVAL (no such campaign) or a
 * database error. */
int store__campaign_docs(vigil_store *st, int64_t id, json_t **out);

/* ---- migrations (schema.c) ---------------------------------------------- */

/* One step: the SQL that takes the schema from version - 1 to version. */
typedef struct store__migration {
	int version;
	const char *sql;
} store__migration;

extern const store__migration store__migrations[];
extern const size_t store__n_migrations;

/* vigil_store_open() with another list of steps (versions 1..n in order):
 * for tests of the migration runner. */
int store__open_with(vigil_store **out, const char *path, const store__migration *steps,
	size_t n_steps);

/* ---- inside the store --------------------------------------------------- */

/* Statements prepared once per handle (store.c holds their SQL). */
typedef enum store__stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_MSG_UPSERT,
	ST_PROV_INSERT,
	ST_RCPT_DELETE,
	ST_RCPT_INSERT,
	ST_FIND_DELETE,
	ST_FIND_INSERT,
	ST_TRAIT_DELETE,
	ST_TRAIT_INSERT,
	ST_TURL_DELETE,
	ST_TURL_INSERT,
	ST_KEY_DELETE,
	ST_KEY_INSERT,
	ST_HIT_INSERT,
	ST_HIT_MESSAGE,
	ST_IND_MAXID,
	ST_IND_UPSERT,
	ST_IND_COUNT_NEW,
	ST_IND_SELECT,
	ST_HUNT_FIND_OPEN,
	ST_HUNT_RESUME,
	ST_HUNT_FIND_DONE,
	ST_HUNT_REOPEN,
	ST_HUNT_FORGET_SOURCES,
	ST_HUNT_INSERT,
	ST_HUNT_END,
	ST_HUNT_EXISTS,
	ST_HUNT_PROGRESS,
	ST_HUNT_SOURCE,
	ST_HUNT_SUMMARY,
	ST__COUNT
} store__stmt_id;

struct vigil_store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST__COUNT];
	bool user_tx;     /* vigil_store_begin() opened the transaction */
	bool unit_nested; /* the unit store__tx_enter() began is a savepoint */
	char err[1024];
};

/* Sets the detail and returns `code`. */
int store__fail(vigil_store *st, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Maps the SQLite result `rc` to a VIGIL_E* code and sets the detail to
 * "<what>: <sqlite3_errmsg>"; returns the code. */
int store__db_fail(vigil_store *st, int rc, const char *what);

/* The cached statement `id`, reset and with its bindings cleared, in *out.
 * Returns 0 or the error of preparing it. */
int store__stmt(vigil_store *st, store__stmt_id id, sqlite3_stmt **out);

/* Runs a statement that returns no rows (after binding). Returns 0 or an
 * error naming `what`. The statement is reset. */
int store__run(vigil_store *st, sqlite3_stmt *s, const char *what);

/* Atomic units inside or outside a caller's transaction: outside, a
 * BEGIN IMMEDIATE ... COMMIT; inside, a savepoint, so a failed unit leaves
 * the caller's batch as it was before the unit. store__tx_leave() commits
 * when `rc` is 0 and rolls back otherwise; it returns `rc`, or the error of
 * committing. */
int store__tx_enter(vigil_store *st);
int store__tx_leave(vigil_store *st, int rc);

/* Binding helpers: a NULL string or VIGIL_NO_TIME binds NULL. Each does
 * nothing once *rc is not SQLITE_OK, so a run of binds is checked once. */
void store__bind_text(sqlite3_stmt *s, int i, const char *v, int *rc);
void store__bind_int64(sqlite3_stmt *s, int i, int64_t v, int *rc);
void store__bind_time(sqlite3_stmt *s, int i, int64_t t, int *rc);

/* Seconds since the epoch, for first_seen/last_seen columns. */
int64_t store__now(void);

/* The stored name of an indicator type, and back (0 when unknown). */
const char *store__ioc_type_name(vigil_ioc_type t);
vigil_ioc_type store__ioc_type_parse(const char *name);

#endif /* VIGIL_STORE_INTERNAL_H */
