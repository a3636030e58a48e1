/*
 * The store's schema as a list of forward migrations, one per version. It
 * only declares them; store.c applies them, each in its own transaction.
 * docs/store.md documents every table and column: change both together.
 */
#include "store/store_internal.h"

/*
 * Version 1: messages and where they were found, recipients, findings,
 * indicators, hunts with per-source progress, and hunt hits.
 *
 * Conventions: times are seconds since the epoch (INTEGER), NULL when
 * unknown; names of enums are stored as text ("malicious", "tracking",
 * "domain") so the file reads without the C headers and a renumbering in C
 * cannot corrupt old rows. Later versions (campaigns, opens, notifications)
 * append a step; a step is never edited once released.
 */
static const char schema_v1[] =
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),"
	"  size INTEGER NOT NULL,"
	"  message_id TEXT,"
	"  from_address TEXT,"
	"  from_name TEXT,"
	"  from_domain TEXT,"
	"  subject TEXT,"
	"  date TEXT,"
	"  date_time INTEGER,"
	"  verdict TEXT NOT NULL,"
	"  score INTEGER NOT NULL,"
	"  partial INTEGER NOT NULL DEFAULT 0,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL"
	");"
	"CREATE INDEX messages_date_time ON messages(date_time);"
	"CREATE INDEX messages_from_domain ON messages(from_domain);"
	"CREATE TABLE provenances ("
	"  id INTEGER PRIMARY KEY,"
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"
	"  offset INTEGER NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  UNIQUE (message, path, offset)"
	");"
	"CREATE INDEX provenances_path ON provenances(path, offset);"
	"CREATE TABLE recipients ("
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  field TEXT NOT NULL,"
	"  address TEXT NOT NULL,"
	"  name TEXT,"
	"  PRIMARY KEY (message, field, address)"
	") WITHOUT ROWID;"
	"CREATE INDEX recipients_address ON recipients(address);"
	"CREATE TABLE findings ("
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  detector TEXT NOT NULL,"
	"  finding_id TEXT NOT NULL,"
	"  class TEXT NOT NULL,"
	"  score INTEGER NOT NULL,"
	"  reason TEXT,"
	"  artifact TEXT,"
	"  value TEXT,"
	"  PRIMARY KEY (message, seq)"
	") WITHOUT ROWID;"
	"CREATE INDEX findings_finding_id ON findings(finding_id);"
	"CREATE TABLE indicators ("
	"  id INTEGER PRIMARY KEY,"
	"  type TEXT NOT NULL,"
	"  value TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  source_id TEXT,"
	"  name TEXT,"
	"  actor TEXT,"
	"  labels TEXT,"
	"  valid_from INTEGER,"
	"  valid_until INTEGER,"
	"  imported_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (type, value, source)"
	");"
	"CREATE INDEX indicators_value ON indicators(value);"
	"CREATE TABLE hunts ("
	"  id INTEGER PRIMARY KEY,"
	"  fingerprint TEXT NOT NULL,"
	"  description TEXT CHECK (description IS NULL OR json_valid(description)),"
	"  started_at INTEGER NOT NULL,"
	"  resumed_at INTEGER,"
	"  resumes INTEGER NOT NULL DEFAULT 0,"
	"  finished_at INTEGER"
	");"
	/* At most one unfinished hunt per fingerprint: that is the one to resume. */
	"CREATE UNIQUE INDEX hunts_open_fingerprint ON hunts(fingerprint)"
	"  WHERE finished_at IS NULL;"
	"CREATE TABLE hunt_sources ("
	"  hunt INTEGER NOT NULL REFERENCES hunts(id) ON DELETE CASCADE,"
	"  path TEXT NOT NULL,"
	"  bytes_done INTEGER NOT NULL,"
	"  messages_done INTEGER NOT NULL,"
	"  finished INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (hunt, path)"
	") WITHOUT ROWID;"
	"CREATE TABLE hits ("
	"  hunt INTEGER NOT NULL REFERENCES hunts(id) ON DELETE CASCADE,"
	"  message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
	"  indicator_type TEXT NOT NULL,"
	"  indicator_value TEXT NOT NULL,"
	"  source TEXT NOT NULL,"
	"  artifact TEXT NOT NULL,"
	"  artifact_value TEXT NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  PRIMARY KEY (hunt, message, indicator_type, indicator_value, source, artifact,"
	"    artifact_value)"
	") WITHOUT ROWID;"
	"CREATE INDEX hits_indicator ON hits(hunt, indicator_type, indicator_value);"
	"CREATE INDEX hits_message ON hits(message);";

const store__migration store__migrations[] = {
	{1, schema_v1},
};

const size_t store__n_migrations = sizeof(store__migrations) / sizeof(store__migrations[0]);
