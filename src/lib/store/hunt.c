/*
 * Hunts in the store: begin or resume by fingerprint, per-source progress,
 * the end, and the per-indicator summary. Recording hits is in store.c with
 * the messages they point to.
 */
#include <jansson.h>
#include <stdlib.h>

#include "report/report.h"
#include "store/store_internal.h"

/* Looks a hunt up by fingerprint with statement `which` (the open one, or
 * the latest). Returns 0 when found (*id set), 1 when not, or an error. */
static int find_hunt(vigil_store *st, store__stmt_id which, const char *fingerprint, int64_t *id)
{
	sqlite3_stmt *s;
	int rc = store__stmt(st, which, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_text(s, 1, fingerprint, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a fingerprint");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	return store__db_fail(st, rc, "looking for a hunt to resume");
}

static int begin_in_tx(vigil_store *st, const char *fingerprint, const char *description,
	int64_t *id, bool *resumed)
{
	int64_t now = store__now();
	int rc = find_hunt(st, ST_HUNT_FIND_OPEN, fingerprint, id);
	sqlite3_stmt *s;
	int b = SQLITE_OK;
	if (rc == 0) {
		*resumed = true;
		rc = store__stmt(st, ST_HUNT_RESUME, &s);
		if (rc)
			return rc;
		store__bind_int64(s, 1, *id, &b);
		store__bind_int64(s, 2, now, &b);
		if (b != SQLITE_OK)
			return store__db_fail(st, b, "binding a hunt");
		return store__run(st, s, "resuming a hunt");
	}
	if (rc < 0)
		return rc;
	/* The same hunt run again after it finished (the same feeds over the
	 * same archives): it scans everything again under the same id, so the
	 * store gains nothing it already had — no second hunt, no copies of
	 * its hits. */
	rc = find_hunt(st, ST_HUNT_FIND_DONE, fingerprint, id);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		*resumed = false;
		rc = store__stmt(st, ST_HUNT_FORGET_SOURCES, &s);
		if (rc)
			return rc;
		store__bind_int64(s, 1, *id, &b);
		if (b != SQLITE_OK || (rc = store__run(st, s, "restarting a hunt")) != 0)
			return b != SQLITE_OK ? store__db_fail(st, b, "binding a hunt") : rc;
		rc = store__stmt(st, ST_HUNT_REOPEN, &s);
		if (rc)
			return rc;
		store__bind_int64(s, 1, *id, &b);
		store__bind_int64(s, 2, now, &b);
		if (b != SQLITE_OK)
			return store__db_fail(st, b, "binding a hunt");
		return store__run(st, s, "restarting a hunt");
	}
	rc = store__stmt(st, ST_HUNT_INSERT, &s);
	if (rc)
		return rc;
	store__bind_text(s, 1, fingerprint, &b);
	store__bind_text(s, 2, description, &b);
	store__bind_int64(s, 3, now, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a hunt");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		rc = sqlite3_step(s);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_CHECK)
		return store__fail(st, VIGIL_EINVAL, "beginning a hunt: the description is not JSON");
	return store__db_fail(st, rc, "beginning a hunt");
}

int vigil_store_hunt_begin(vigil_store *st, const char *fingerprint,
	const char *description_json, int64_t *out_id, bool *resumed)
{
	if (!st)
		return VIGIL_EINVAL;
	if (!fingerprint || !*fingerprint || !out_id)
		return store__fail(st, VIGIL_EINVAL, "beginning a hunt: bad argument");
	*out_id = 0;
	bool was_resumed = false;
	int64_t id = 0;
	int rc = store__tx_enter(st);
	if (rc)
		return rc;
	rc = store__tx_leave(st, begin_in_tx(st, fingerprint, description_json, &id, &was_resumed));
	if (rc)
		return rc;
	*out_id = id;
	if (resumed)
		*resumed = was_resumed;
	return 0;
}

int vigil_store_hunt_progress(vigil_store *st, int64_t hunt_id, const char *path,
	uint64_t bytes_done, uint64_t messages_done, bool finished)
{
	if (!st)
		return VIGIL_EINVAL;
	if (hunt_id <= 0 || !path || bytes_done > INT64_MAX || messages_done > INT64_MAX)
		return store__fail(st, VIGIL_EINVAL, "recording hunt progress: bad argument");
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_HUNT_PROGRESS, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_int64(s, 1, hunt_id, &b);
	store__bind_text(s, 2, path, &b);
	store__bind_int64(s, 3, (int64_t)bytes_done, &b);
	store__bind_int64(s, 4, (int64_t)messages_done, &b);
	store__bind_int64(s, 5, finished, &b);
	store__bind_int64(s, 6, store__now(), &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding hunt progress");
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return store__fail(st, VIGIL_EINVAL, "recording hunt progress: no hunt %lld",
			(long long)hunt_id);
	return store__db_fail(st, rc, "recording hunt progress");
}

int vigil_store_hunt_source_done(vigil_store *st, int64_t hunt_id, const char *path,
	bool *finished, uint64_t *bytes_done, uint64_t *messages_done)
{
	if (finished)
		*finished = false;
	if (bytes_done)
		*bytes_done = 0;
	if (messages_done)
		*messages_done = 0;
	if (!st)
		return VIGIL_EINVAL;
	if (!path)
		return store__fail(st, VIGIL_EINVAL, "hunt progress: no path");
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_HUNT_SOURCE, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_int64(s, 1, hunt_id, &b);
	store__bind_text(s, 2, path, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding hunt progress");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (finished)
			*finished = sqlite3_column_int(s, 0) != 0;
		if (bytes_done)
			*bytes_done = (uint64_t)sqlite3_column_int64(s, 1);
		if (messages_done)
			*messages_done = (uint64_t)sqlite3_column_int64(s, 2);
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store__db_fail(st, rc, "hunt progress");
}

int vigil_store_hunt_end(vigil_store *st, int64_t hunt_id)
{
	if (!st)
		return VIGIL_EINVAL;
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_HUNT_EXISTS, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_int64(s, 1, hunt_id, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a hunt");
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE)
		return store__fail(st, VIGIL_EINVAL, "ending a hunt: no hunt %lld", (long long)hunt_id);
	if (rc != SQLITE_ROW)
		return store__db_fail(st, rc, "ending a hunt");
	rc = store__stmt(st, ST_HUNT_END, &s);
	if (rc)
		return rc;
	store__bind_int64(s, 1, hunt_id, &b);
	store__bind_int64(s, 2, store__now(), &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a hunt");
	return store__run(st, s, "ending a hunt");
}

/* ---- summary ------------------------------------------------------------ */

int vigil_store_hunt_summary(vigil_store *st, int64_t hunt_id,
	int (*fn)(void *ud, const vigil_hunt_row *row), void *ud)
{
	if (!st)
		return VIGIL_EINVAL;
	if (!fn)
		return store__fail(st, VIGIL_EINVAL, "hunt summary: no callback");
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_HUNT_SUMMARY, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_int64(s, 1, hunt_id, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a hunt");
	int ret = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		vigil_hunt_row row = {
			.indicator_type = (const char *)sqlite3_column_text(s, 0),
			.indicator_value = (const char *)sqlite3_column_text(s, 1),
			.sources = (const char *)sqlite3_column_text(s, 2),
			.messages = (uint64_t)sqlite3_column_int64(s, 3),
			.recipients = (uint64_t)sqlite3_column_int64(s, 4),
			.first_date = sqlite3_column_type(s, 5) == SQLITE_NULL
				? INT64_MIN : sqlite3_column_int64(s, 5),
			.last_date = sqlite3_column_type(s, 6) == SQLITE_NULL
				? INT64_MIN : sqlite3_column_int64(s, 6),
		};
		if (!row.sources)
			row.sources = "";
		ret = fn(ud, &row);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store__db_fail(st, rc, "hunt summary");
	sqlite3_reset(s);
	return ret;
}

typedef struct summary_out {
	FILE *fp;
	vigil_format fmt;
} summary_out;

static int write_summary_row(void *ud, const vigil_hunt_row *row)
{
	summary_out *o = ud;
	char first[32], last[32];
	/* VIGIL_NO_TIME is INT64_MIN, the row's "no date" too. */
	report__iso_time(row->first_date, first, sizeof(first));
	report__iso_time(row->last_date, last, sizeof(last));
	if (o->fmt == VIGIL_FORMAT_TEXT) {
		int n = fprintf(o->fp, "%-8s %-40s %8llu messages %6llu recipients  %s .. %s  (%s)\n",
			row->indicator_type, row->indicator_value, (unsigned long long)row->messages,
			(unsigned long long)row->recipients, first[0] ? first : "-",
			last[0] ? last : "-", row->sources);
		return n < 0 ? VIGIL_EIO : 0;
	}
	json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o}",
		"type", row->indicator_type, "value", row->indicator_value, "sources", row->sources,
		"messages", (json_int_t)row->messages, "recipients", (json_int_t)row->recipients,
		"first_date", first[0] ? json_string(first) : json_null(),
		"last_date", last[0] ? json_string(last) : json_null());
	if (!j)
		return VIGIL_ENOMEM;
	char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!line)
		return VIGIL_ENOMEM;
	int rc = fputs(line, o->fp) < 0 || fputc('\n', o->fp) == EOF ? VIGIL_EIO : 0;
	free(line);
	return rc;
}

int vigil_store_hunt_summary_write(vigil_store *st, int64_t hunt_id, FILE *out,
	vigil_format fmt)
{
	if (!st)
		return VIGIL_EINVAL;
	if (!out || (fmt != VIGIL_FORMAT_JSONL && fmt != VIGIL_FORMAT_TEXT))
		return store__fail(st, VIGIL_EINVAL, "hunt summary: bad argument");
	summary_out o = {out, fmt};
	st->err[0] = '\0';
	int rc = vigil_store_hunt_summary(st, hunt_id, write_summary_row, &o);
	if (rc && !st->err[0])
		store__fail(st, rc, "hunt summary: %s", vigil_strerror(rc));
	return rc;
}
