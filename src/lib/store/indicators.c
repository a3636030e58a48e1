/*
 * Indicators in the store: importing a set in one transaction, loading
 * them back into a set, and listing them (JSON Lines or text). It does not
 * parse feeds (intel/feeds.c) or match them (intel/match.c).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "store/store_internal.h"

/* The names stored in indicators.type and hits.indicator_type: part of the
 * file format, so spelled out here rather than borrowed from intel/. */
static const char *const ioc_names[] = {
	[VIGIL_IOC_DOMAIN] = "domain",
	[VIGIL_IOC_URL] = "url",
	[VIGIL_IOC_EMAIL] = "email",
	[VIGIL_IOC_IPV4] = "ipv4",
	[VIGIL_IOC_IPV6] = "ipv6",
	[VIGIL_IOC_MD5] = "md5",
	[VIGIL_IOC_SHA1] = "sha1",
	[VIGIL_IOC_SHA256] = "sha256",
};

#define N_IOC_NAMES (sizeof(ioc_names) / sizeof(ioc_names[0]))

const char *store__ioc_type_name(vigil_ioc_type t)
{
	if ((size_t)t < N_IOC_NAMES && ioc_names[t])
		return ioc_names[t];
	return NULL;
}

vigil_ioc_type store__ioc_type_parse(const char *name)
{
	for (size_t i = 1; name && i < N_IOC_NAMES; i++)
		if (ioc_names[i] && strcmp(ioc_names[i], name) == 0)
			return (vigil_ioc_type)i;
	return 0;
}

static int query_count(vigil_store *st, store__stmt_id id, int64_t arg, int64_t *out)
{
	sqlite3_stmt *s;
	int rc = store__stmt(st, id, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	if (id == ST_IND_COUNT_NEW)
		store__bind_int64(s, 1, arg, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding a count");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : store__db_fail(st, rc, "counting indicators");
}

static int upsert_indicator(vigil_store *st, const vigil_indicator *ind, int64_t now)
{
	const char *type = store__ioc_type_name(ind->type);
	if (!type || !ind->value || !ind->source)
		return store__fail(st, VIGIL_EINVAL, "importing indicators: %s without %s",
			ind->value ? ind->value : "an indicator",
			!type ? "a known type" : !ind->value ? "a value" : "a source");
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_IND_UPSERT, &s);
	if (rc)
		return rc;
	int b = SQLITE_OK;
	store__bind_text(s, 1, type, &b);
	store__bind_text(s, 2, ind->value, &b);
	store__bind_text(s, 3, ind->source, &b);
	store__bind_text(s, 4, ind->source_id, &b);
	store__bind_text(s, 5, ind->name, &b);
	store__bind_text(s, 6, ind->actor, &b);
	store__bind_text(s, 7, ind->labels, &b);
	store__bind_time(s, 8, ind->valid_from, &b);
	store__bind_time(s, 9, ind->valid_until, &b);
	store__bind_int64(s, 10, now, &b);
	if (b != SQLITE_OK)
		return store__db_fail(st, b, "binding an indicator");
	return store__run(st, s, "importing an indicator");
}

/* qsort() order of indicators: as the store's unique index sorts them
 * (type name, then value, then source; SQLite's BINARY collation is
 * memcmp(), as strcmp() is on UTF-8). */
static int by_index_key(const void *a, const void *b)
{
	const vigil_indicator *x = *(const vigil_indicator *const *)a;
	const vigil_indicator *y = *(const vigil_indicator *const *)b;
	const char *tx = store__ioc_type_name(x->type), *ty = store__ioc_type_name(y->type);
	int c = strcmp(tx ? tx : "", ty ? ty : "");
	if (!c)
		c = strcmp(x->value ? x->value : "", y->value ? y->value : "");
	if (!c)
		c = strcmp(x->source ? x->source : "", y->source ? y->source : "");
	return c;
}

int store__import_indicators(vigil_store *st, const vigil_intel_set *set, size_t *added)
{
	if (added)
		*added = 0;
	if (!st)
		return VIGIL_EINVAL;
	if (!set)
		return store__fail(st, VIGIL_EINVAL, "importing indicators: no set");
	int rc = store__tx_enter(st);
	if (rc)
		return rc;
	/* New rows get ids above the largest before the import (rowids grow
	 * while no row is deleted, and nothing else writes inside this
	 * transaction), so one count afterwards tells new from updated. */
	int64_t before = 0, fresh = 0, now = store__now();
	rc = query_count(st, ST_IND_MAXID, 0, &before);
	/* In the order of the (type, value, source) index: each insert then
	 * lands next to the last one in both indexes' B-trees, where the
	 * pages are already in the cache, instead of anywhere in them. */
	const vigil_indicator **order = malloc(set->items.len * sizeof(*order) + 1);
	if (!order)
		rc = store__fail(st, VIGIL_ENOMEM, "importing indicators: out of memory");
	for (size_t i = 0; !rc && i < set->items.len; i++)
		order[i] = &set->items.items[i];
	if (!rc)
		qsort(order, set->items.len, sizeof(*order), by_index_key);
	for (size_t i = 0; !rc && i < set->items.len; i++)
		rc = upsert_indicator(st, order[i], now);
	free(order);
	if (!rc)
		rc = query_count(st, ST_IND_COUNT_NEW, before, &fresh);
	rc = store__tx_leave(st, rc);
	if (!rc && added)
		*added = (size_t)fresh;
	return rc;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static int64_t col_time(sqlite3_stmt *s, int i)
{
	return sqlite3_column_type(s, i) == SQLITE_NULL ? VIGIL_NO_TIME
							: sqlite3_column_int64(s, i);
}

int store__load_indicators(vigil_store *st, vigil_intel_set *set)
{
	if (!st)
		return VIGIL_EINVAL;
	if (!set)
		return store__fail(st, VIGIL_EINVAL, "loading indicators: no set");
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_IND_SELECT, &s);
	if (rc)
		return rc;
	int ret = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *type = col_text(s, 0);
		vigil_indicator ind = {
			.type = store__ioc_type_parse(type),
			.value = col_text(s, 1),
			.source = col_text(s, 2),
			.source_id = col_text(s, 3),
			.name = col_text(s, 4),
			.actor = col_text(s, 5),
			.labels = col_text(s, 6),
			.valid_from = col_time(s, 7),
			.valid_until = col_time(s, 8),
		};
		if (!ind.type) {
			ret = store__fail(st, VIGIL_EPARSE, "stored indicator %s: unknown type %s",
				ind.value ? ind.value : "", type ? type : "NULL");
			break;
		}
		const char *why = NULL;
		ret = intel__set_add(set, &ind, &why);
		if (ret == VIGIL_EPARSE) {
			store__fail(st, ret, "stored indicator %s %s: %s", type,
				ind.value ? ind.value : "", why ? why : "invalid");
			break;
		}
		if (ret) {
			store__fail(st, ret, "loading indicators: out of memory");
			break;
		}
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store__db_fail(st, rc, "loading indicators");
	sqlite3_reset(s);
	return ret;
}

/* ---- listing ------------------------------------------------------------ */

static json_t *json_str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	return j ? j : json_null();
}

static json_t *json_time(sqlite3_stmt *s, int i)
{
	char buf[32];
	report__iso_time(col_time(s, i), buf, sizeof(buf));
	return buf[0] ? json_string(buf) : json_null();
}

static int write_jsonl_row(sqlite3_stmt *s, FILE *out)
{
	static const char *const keys[] = {"type", "value", "source", "source_id", "name",
		"actor", "labels"};
	json_t *o = json_object();
	if (!o)
		return VIGIL_ENOMEM;
	for (int i = 0; i < 7; i++)
		json_object_set_new_nocheck(o, keys[i], json_str_or_null(col_text(s, i)));
	json_object_set_new_nocheck(o, "valid_from", json_time(s, 7));
	json_object_set_new_nocheck(o, "valid_until", json_time(s, 8));
	json_object_set_new_nocheck(o, "imported_at", json_time(s, 9));
	char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!line)
		return VIGIL_ENOMEM;
	int rc = fputs(line, out) < 0 || fputc('\n', out) == EOF ? VIGIL_EIO : 0;
	free(line);
	return rc;
}

static int write_text_row(sqlite3_stmt *s, FILE *out)
{
	char from[32], until[32];
	report__iso_time(col_time(s, 7), from, sizeof(from));
	report__iso_time(col_time(s, 8), until, sizeof(until));
	const char *name = col_text(s, 4), *actor = col_text(s, 5);
	int n = fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", col_text(s, 0), col_text(s, 1),
		col_text(s, 2), name ? name : "-", actor ? actor : "-", from[0] ? from : "-",
		until[0] ? until : "-");
	return n < 0 ? VIGIL_EIO : 0;
}

int vigil_store_list_indicators(vigil_store *st, FILE *out, vigil_format fmt)
{
	if (!st)
		return VIGIL_EINVAL;
	if (!out || (fmt != VIGIL_FORMAT_JSONL && fmt != VIGIL_FORMAT_TEXT))
		return store__fail(st, VIGIL_EINVAL, "listing indicators: bad argument");
	sqlite3_stmt *s;
	int rc = store__stmt(st, ST_IND_SELECT, &s);
	if (rc)
		return rc;
	int ret = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ret = fmt == VIGIL_FORMAT_JSONL ? write_jsonl_row(s, out) : write_text_row(s, out);
		if (ret) {
			store__fail(st, ret, "listing indicators: %s", vigil_strerror(ret));
			break;
		}
	}
	if (!ret && rc != SQLITE_DONE)
		ret = store__db_fail(st, rc, "listing indicators");
	sqlite3_reset(s);
	return ret;
}
