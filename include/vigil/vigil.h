/*
 * vigil — a mail threat-hunting engine. The public API.
 *
 * Ownership, in one sentence: whatever a function returns through a
 * pointer-to-pointer (`out`) belongs to the caller and is released with the
 * matching `_free()`; every other pointer the API returns is borrowed and lives
 * as long as the handle it came from.
 *
 * Handles:
 *   vigil_ctx      shared, read-only after creation: configuration and data
 *                  that every thread may use at once;
 *   vigil_scanner  one per thread: scratch space and the last error's detail;
 *   vigil_source   a stream of raw messages read from a path (file, mbox,
 *                  Maildir, directory tree, or "-" for standard input);
 *   vigil_message  one parsed message and every artifact extracted from it;
 *                  freeing it frees all of that at once.
 *
 * Functions that can fail return 0 or a negative vigil_error; the detail is
 * fetched from the handle with vigil_scanner_error() / vigil_source_error().
 */
#ifndef VIGIL_H
#define VIGIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIGIL_VERSION "0.1.0"

/* Error codes. The numbers are part of the ABI: never reuse or renumber. */
typedef enum vigil_error {
	VIGIL_OK = 0,
	VIGIL_ENOMEM = -1,  /* out of memory */
	VIGIL_EIO = -2,     /* a file could not be opened or read */
	VIGIL_EPARSE = -3,  /* input is not what it claims to be */
	VIGIL_ELIMIT = -4,  /* a size, depth or count limit was hit */
	VIGIL_ECONFIG = -5, /* bad configuration */
	VIGIL_EINVAL = -6,  /* bad argument from the caller */
	VIGIL_EDONE = -7,   /* a source has no more messages */
	VIGIL_EINTERNAL = -8, /* a dependency failed unexpectedly */
} vigil_error;

/* A short English name for an error code ("out of memory", ...). */
const char *vigil_strerror(int code);

typedef struct vigil_ctx vigil_ctx;
typedef struct vigil_scanner vigil_scanner;
typedef struct vigil_source vigil_source;
typedef struct vigil_message vigil_message;

/* ---- context ---------------------------------------------------------- */

/* Creates a context with the built-in defaults. Initialises GMime once per
 * process; call it from the main thread before starting workers. */
int vigil_ctx_new(vigil_ctx **out);
void vigil_ctx_free(vigil_ctx *ctx);

/* Configuration: a file (docs/config.md) and lists, loaded before scanning.
 * Without vigil_ctx_load_config() the shipped default (data/vigil.conf) is
 * used. Each returns 0, or VIGIL_ECONFIG / VIGIL_EIO with "FILE:LINE: reason"
 * in vigil_ctx_error(); a failed load changes nothing. Call
 * vigil_ctx_ready() once everything is loaded. */
int vigil_ctx_load_config(vigil_ctx *ctx, const char *path);
typedef enum vigil_list {
	VIGIL_LIST_MEMBERS = 1,   /* address<TAB>name: the people to protect */
	VIGIL_LIST_PROTECTED = 2, /* kind<TAB>name<TAB>domain-or-address: identities attackers borrow */
	VIGIL_LIST_RELAYS = 3,    /* one address or CIDR range per line: known relays */
} vigil_list;
int vigil_ctx_load_list(vigil_ctx *ctx, vigil_list kind, const char *path);
/* YARA rules (libyara 4.2) run on every decoded body and attachment; each
 * matching rule is a malicious finding "rules.<namespace>.<rule>". `path` is
 * a rule file, or a directory whose *.yar and *.yara files (not its
 * sub-directories) are taken in name order; each file is its own namespace,
 * named after the file without extension. May be called several times. Only
 * the path is checked here (VIGIL_EIO when it cannot be read); all rules,
 * the config file's first, are compiled once by vigil_ctx_ready(), which
 * refuses a rule that does not compile with VIGIL_ECONFIG and the compiler's
 * "FILE:LINE: message"; when it succeeds, vigil_ctx_error() holds the
 * compiler's warnings ("" when none). */
int vigil_ctx_load_rules(vigil_ctx *ctx, const char *path);
/* Warnings that are not errors (a feed object skipped, ...): one message
 * each. Without a handler they are dropped. */
typedef void (*vigil_warning_fn)(void *ud, const char *message);
void vigil_ctx_set_warning_handler(vigil_ctx *ctx, vigil_warning_fn fn, void *ud);

/* Threat-intel feeds: detected by content unless a format is forced. */
typedef enum vigil_feed_format {
	VIGIL_FEED_AUTO = 0,  /* by content: JSON (STIX, MISP), a MISP feed folder, or text */
	VIGIL_FEED_STIX,      /* STIX 2.1 bundle or JSON Lines of objects */
	VIGIL_FEED_MISP,      /* MISP event JSON, or a MISP feed folder (manifest.json) */
	VIGIL_FEED_FREETEXT,  /* any text: indicators extracted, defanged forms refanged */
} vigil_feed_format;
/* Loads one feed's indicators; all or nothing. Returns 0, VIGIL_EIO,
 * VIGIL_EPARSE ("FILE:LINE: reason" or "FILE: object: reason" in
 * vigil_ctx_error()) or VIGIL_ENOMEM. Skipped objects are warnings. */
int vigil_ctx_load_intel(vigil_ctx *ctx, const char *path, vigil_feed_format format);
/* With `on`, an indicator matches only messages dated inside its validity
 * window (valid_from..valid_until); messages without a date still match. */
void vigil_ctx_set_intel_validity(vigil_ctx *ctx, bool on);
/* Hunt mode: a message that matches no indicator and no rule skips the
 * other detectors (its verdict is then only about intel and rules), and the
 * correlator passes it by. For retro-hunts, where only hits are kept. */
void vigil_ctx_set_hunt_mode(vigil_ctx *ctx, bool on);
/* Whether vigil_scan() computes each message's SHA-256 (vigil_message's
 * sha256: a store's key, the JSON's source.sha256). On by default; a caller
 * that neither stores nor prints it may turn it off, and sha256 is then "". */
void vigil_ctx_set_message_digest(vigil_ctx *ctx, bool on);
/* Indicators loaded so far. */
size_t vigil_ctx_intel_count(const vigil_ctx *ctx);
int vigil_ctx_ready(vigil_ctx *ctx);
const char *vigil_ctx_error(const vigil_ctx *ctx);

/* What `vigil milter` does with each verdict, from the config file's
 * [milter] group (docs/config.md); the built-in defaults without it. */
typedef enum vigil_milter_action {
	VIGIL_MILTER_ACCEPT = 0,     /* deliver, with the X-Vigil-* headers */
	VIGIL_MILTER_TAG = 1,        /* deliver, headers and the Subject prefix */
	VIGIL_MILTER_QUARANTINE = 2, /* copy to the quarantine Maildir, then
	                              * discard or hold */
	VIGIL_MILTER_REJECT = 3,     /* refuse with 550 5.7.1 */
} vigil_milter_action;

typedef struct vigil_milter_settings {
	vigil_milter_action action[5]; /* indexed by vigil_verdict */
	const char *subject_prefix;    /* "" for none */
	const char *quarantine_dir;    /* a Maildir (made when absent) */
	bool quarantine_hold;          /* after the copy, hold in the MTA's
	                                * queue (smfi_quarantine) rather than
	                                * discard */
	bool fallback_accept;          /* on error, limit or time-out: accept
	                                * untouched rather than tempfail */
	size_t max_message_bytes;      /* larger messages get the fallback */
	unsigned time_budget_ms;       /* a slower scan gets the fallback */
	const char *reject_reply;      /* the text after "550 5.7.1 " */
	const char *socket;            /* when no --socket is given */
	int log;                       /* 0 auto (stderr in the foreground, else
	                                * syslog), 1 stderr, 2 syslog */
} vigil_milter_settings;

/* Borrowed from ctx; the defaults until a config file changes them. */
const vigil_milter_settings *vigil_ctx_milter_settings(const vigil_ctx *ctx);

/* ---- scanner ---------------------------------------------------------- */

int vigil_scanner_new(vigil_scanner **out, const vigil_ctx *ctx);
void vigil_scanner_free(vigil_scanner *sc);
/* Detail of the last error on this scanner, or "" when there was none. */
const char *vigil_scanner_error(const vigil_scanner *sc);

/* ---- sources ---------------------------------------------------------- */

/* One raw message as a source yields it. `data` is the message with mbox
 * quoting undone, followed by a NUL byte (not counted in `len`) so it may be
 * used as a string when it holds no NUL of its own; `path` is the file it came
 * from ("-" for standard input); `offset` is the byte offset of its mbox
 * `From ` line, or -1 when the message is a file of its own. Both are borrowed:
 * valid until the next vigil_source_next() or vigil_source_free() call. */
typedef struct vigil_raw_message {
	const char *data;
	size_t len;
	const char *path;
	int64_t offset;
	bool truncated; /* the message was larger than VIGIL_MAX_MESSAGE_BYTES */
} vigil_raw_message;

/* Opens `path` read-only:
 *   - "-": standard input, streamed (an mbox if it starts with `From `, else
 *     one message);
 *   - a file: an mbox if its first line starts with `From `, else one message
 *     (a leading UTF-8 BOM and blank lines are dropped);
 *   - a directory: walked depth first, entries in strcmp() order, symlinks
 *     followed but no directory entered twice (loops), at most
 *     VIGIL_MAX_DIR_DEPTH deep. Each regular file is recognised by content,
 *     not name: an mbox as above, one message if its first line starts with a
 *     header field name and ':', else skipped silently (README, LICENSE,
 *     images, JSON). In a Maildir (a folder with cur/ or new/) tmp/ is
 *     skipped, so cur/ is read before new/ by the sort.
 * Memory stays bounded by the largest message (capped at
 * VIGIL_MAX_MESSAGE_BYTES) plus a 1 MiB read buffer, however large the mbox.
 *
 * Like sqlite3_open(), this stores a handle in *out even when it fails
 * (VIGIL_EIO: the path cannot be opened), so that vigil_source_error() can
 * say why; that handle yields VIGIL_EDONE, and must be freed like any other.
 * Only when no handle could be made (VIGIL_ENOMEM, VIGIL_EINVAL) is *out NULL.
 * vigil_source_free(NULL) is a no-op, so always freeing is correct. */
int vigil_source_open(vigil_source **out, const char *path);
/* The next message. Returns 0, VIGIL_EDONE at the end (and ever after), or an
 * error for one file or directory (VIGIL_EIO: unreadable, dangling symlink,
 * symlink loop; VIGIL_ELIMIT: too deep): the source stays usable and the next
 * call goes on with the rest.
 *
 * mbox: a `From ` line is a separator at the start of the file, after an empty
 * line, or without one when it looks like a postmark (a month, a time and a
 * year follow). An unquoted body line "From ..." after an empty line (mboxo)
 * is therefore taken for a separator: the format cannot tell them apart.
 * The separator line is not part of the message; the one empty line before the
 * next separator (or the end of the file) is dropped; lines matching ^>+From
 * lose one '>'. A message over VIGIL_MAX_MESSAGE_BYTES (counted before
 * unquoting) comes cut to that size with `truncated` set, and its rest is
 * skipped unread (single files) or unbuffered (mbox). */
int vigil_source_next(vigil_source *src, vigil_raw_message *out);
/* Detail of the last error a call on this handle returned ("<path>: <reason>"),
 * or "" when there was none. Successful calls leave it as it was. */
const char *vigil_source_error(const vigil_source *src);
/* Bytes consumed so far (read or skipped) and, when known, in all (else -1):
 * the size of a single file; -1 for standard input and directories, which are
 * not walked twice just to count. For progress only. */
void vigil_source_progress(const vigil_source *src, uint64_t *done, int64_t *total);
/* Closes what is open and frees the handle. NULL is fine. */
void vigil_source_free(vigil_source *src);

/* ---- scanning --------------------------------------------------------- */

/* Parses one raw message and extracts its artifacts. A message that hits a
 * limit or is malformed is not an error: it comes back marked partial. */
int vigil_scan(vigil_message **out, vigil_scanner *sc, const vigil_raw_message *raw);
void vigil_message_free(vigil_message *msg);

bool vigil_message_partial(const vigil_message *msg);
/* Where the message was read: the file, and the mbox offset (-1 if none). */
const char *vigil_message_path(const vigil_message *msg);
int64_t vigil_message_offset(const vigil_message *msg);
uint64_t vigil_message_size(const vigil_message *msg);
/* The Date field in seconds since the epoch, or INT64_MIN when absent. */
int64_t vigil_message_date(const vigil_message *msg);
/* Findings from threat intel and rules: what a hunt looks for. */
size_t vigil_message_hits(const vigil_message *msg);

/* The judge's verdict, in increasing order of concern. */
typedef enum vigil_verdict {
	VIGIL_VERDICT_CLEAN = 0,      /* nothing to report */
	VIGIL_VERDICT_TRACKING = 1,   /* trackers, nothing deceptive: a newsletter; privacy */
	VIGIL_VERDICT_SUSPICIOUS = 2, /* deception (impersonation, lookalike, relay, failed
	                               * authentication) without tracking */
	VIGIL_VERDICT_RECON = 3,      /* tracking or a recipient token plus deception */
	VIGIL_VERDICT_MALICIOUS = 4,  /* threat-intel or rule hits, strong phishing signals */
} vigil_verdict;

vigil_verdict vigil_message_verdict(const vigil_message *msg);
int vigil_message_score(const vigil_message *msg);
/* "clean", "tracking", "suspicious", "recon", "malicious". */
const char *vigil_verdict_name(vigil_verdict v);
const char *vigil_message_id(const vigil_message *msg);

/* One finding of a scanned message, as front ends show it (the milter's
 * X-Vigil-Reasons, logs). Strings are borrowed from the message. */
typedef struct vigil_finding_info {
	const char *detector; /* "tracker", "token", "impersonation", "intel", ... */
	const char *id;       /* stable id such as "tracker.hidden-image" */
	int score;
	const char *reason;   /* one readable sentence */
	const char *value;    /* the evidence: URL, address, IP; may be NULL */
} vigil_finding_info;

/* The number of findings, and the i-th of them (0 <= i < count), in the
 * order the detectors made them. */
size_t vigil_message_finding_count(const vigil_message *msg);
vigil_finding_info vigil_message_finding(const vigil_message *msg, size_t i);

/* ---- correlation ------------------------------------------------------ */

/* Evidence across messages (a URL template carrying a different token for each
 * recipient). Feed messages in archive order, after vigil_scan(); one
 * correlator per stream, used by one thread at a time. */
typedef struct vigil_correlator vigil_correlator;
int vigil_correlator_new(vigil_correlator **out, const vigil_ctx *ctx);
/* Returns 1 when it added findings (the verdict may have changed), 0 when
 * not, or VIGIL_ENOMEM. */
int vigil_correlate(vigil_correlator *c, vigil_message *msg);
void vigil_correlator_free(vigil_correlator *c);

/* ---- output ----------------------------------------------------------- */

typedef enum vigil_format {
	VIGIL_FORMAT_JSONL = 1, /* one JSON object per line, schema in docs/schema.md */
	VIGIL_FORMAT_TEXT = 2,  /* a short summary for people */
	VIGIL_FORMAT_HITS = 3,  /* JSON Lines for hunts: message_id, source, recipients,
	                         * date and the indicators and rules it matched;
	                         * nothing at all for a message that matched none */
} vigil_format;

/* Writes one message in `fmt` to `fp`. Returns 0 or VIGIL_EIO. */
int vigil_message_write(const vigil_message *msg, vigil_format fmt, FILE *fp);

/* The same text in a new buffer: *out (the caller's, to free()) holds
 * *out_len bytes, not NUL-terminated; *out may be NULL when there are none.
 * Saves a copy through a FILE for callers that keep the text. Returns 0 or
 * VIGIL_ENOMEM / VIGIL_EIO. */
int vigil_message_render(char **out, size_t *out_len, const vigil_message *msg,
	vigil_format fmt);

/* The version of the JSON Lines schema written by vigil_message_write(). */
#define VIGIL_SCHEMA_VERSION 1

/* ---- the store -------------------------------------------------------- */

/* A SQLite database of messages (one row per content hash, with every place
 * it was found), their recipients and findings, threat-intel indicators,
 * hunts with their progress, and which indicators each hunt found where.
 * Schema and its versions: docs/store.md. One file; WAL journal, so readers
 * (vigil serve, sqlite3) never block a writer. A handle is used by one
 * thread at a time; several processes may share the file (writers wait up to
 * a few seconds for each other). */
typedef struct vigil_store vigil_store;

/* Used when the command line names no --db: a file in the current
 * directory, so a hunt's results sit next to the case they belong to. */
#define VIGIL_STORE_DEFAULT_PATH "vigil.db"

/* Opens or creates the database at `path` and brings its schema up to this
 * vigil's version, each migration in its own transaction. Refuses a file
 * from a newer vigil (VIGIL_ECONFIG), a file that is not a database or not
 * vigil's (VIGIL_EPARSE), and one it cannot open or write (VIGIL_EIO).
 * Like vigil_source_open(), a handle is stored in *out even on failure so
 * vigil_store_error() can say why; free it with vigil_store_close(). *out is
 * NULL only on VIGIL_ENOMEM or VIGIL_EINVAL. */
int vigil_store_open(vigil_store **out, const char *path);
/* Rolls back a transaction still open, closes the file, frees. NULL is fine. */
void vigil_store_close(vigil_store *st);
/* Detail of the last error on this handle, or "" when there was none. */
const char *vigil_store_error(const vigil_store *st);
/* The schema version of the open file (docs/store.md). */
int vigil_store_schema_version(const vigil_store *st);

/* Batches: every write between begin and commit is one transaction, which
 * is what makes recording thousands of messages fast. Without begin, each
 * call is its own transaction. A call that fails inside a batch undoes only
 * its own writes; the batch stays open. Nesting is VIGIL_EINVAL. */
int vigil_store_begin(vigil_store *st);
int vigil_store_commit(vigil_store *st);
int vigil_store_rollback(vigil_store *st);

/* Records a scanned message: the message row by its content hash (created,
 * or updated with the latest verdict, score and last-seen time), the place
 * it was read from (path and mbox offset, once), its recipients (To, Cc,
 * Bcc, Delivered-To) and its findings (replacing those of an earlier scan).
 * Recording the same archive twice adds nothing. With hunt_id > 0, each
 * finding of the "intel" detector is also recorded as a hit of that hunt
 * (see vigil_store_record_hit()). Returns 0, VIGIL_EINVAL (no content hash,
 * no such hunt) or a database error. */
int vigil_store_record_message(vigil_store *st, const vigil_message *msg, int64_t hunt_id);
/* Records that in hunt `hunt_id`, indicator (`indicator_type`, such as
 * "domain", `indicator_value`, from feed `source`) matched `msg`'s
 * `artifact` ("url", "from", ...) whose value was `artifact_value`. The
 * message must have been recorded. Recording a hit twice keeps one. */
int vigil_store_record_hit(vigil_store *st, int64_t hunt_id, const vigil_message *msg,
	const char *indicator_type, const char *indicator_value, const char *source,
	const char *artifact, const char *artifact_value);

/* Writes every stored indicator, one per line, ordered by type and value:
 * JSON Lines (type, value, source, source_id, name, actor, labels,
 * valid_from, valid_until, imported_at; times as ISO 8601 UTC, null when
 * unknown) or text (type, value, source, name, actor, valid from, valid
 * until; tab-separated, "-" when unknown). Returns 0, VIGIL_EIO or a
 * database error. */
int vigil_store_list_indicators(vigil_store *st, FILE *out, vigil_format fmt);
/* Stores the indicators loaded into `ctx` (vigil_ctx_load_intel), in one
 * transaction; *added (may be NULL) counts the new ones. */
int vigil_store_import_intel(vigil_store *st, const vigil_ctx *ctx, size_t *added);
/* Loads every indicator of the store into `ctx`, as a feed would. */
int vigil_ctx_load_intel_from_store(vigil_ctx *ctx, vigil_store *st);

/* Hunts. A hunt is known by a fingerprint of its arguments (feeds, archives,
 * options: the caller computes it, a hash of the canonical argument list).
 * Beginning a hunt whose fingerprint matches an unfinished one resumes that
 * hunt (*resumed = true, same *out_id). A hunt whose fingerprint matches a
 * finished one runs again under that id from the start (*resumed = false),
 * so repeating a hunt adds nothing to the store. Otherwise a new hunt starts. `description_json`
 * (valid JSON or NULL) says what it hunts for people.
 *
 * Resume granularity: per source path (a file, an mbox, a Maildir message).
 * A source marked finished is skipped whole; an mbox that was not finished is
 * resumed at bytes_done, the offset after the last message whose records
 * were committed. Record progress in the same batch as the messages it
 * covers, so that a crash loses both or neither. */
int vigil_store_hunt_begin(vigil_store *st, const char *fingerprint,
	const char *description_json, int64_t *out_id, bool *resumed);
int vigil_store_hunt_progress(vigil_store *st, int64_t hunt_id, const char *path,
	uint64_t bytes_done, uint64_t messages_done, bool finished);
/* What is known of `path` in this hunt; all zero / false when nothing. Any
 * output pointer may be NULL. */
int vigil_store_hunt_source_done(vigil_store *st, int64_t hunt_id, const char *path,
	bool *finished, uint64_t *bytes_done, uint64_t *messages_done);
/* Marks the hunt complete (now). Ending it twice is fine; an unknown id is
 * VIGIL_EINVAL. */
int vigil_store_hunt_end(vigil_store *st, int64_t hunt_id);

/* One line of a hunt's summary: an indicator and what it matched. Strings
 * are borrowed for the duration of the callback. */
typedef struct vigil_hunt_row {
	const char *indicator_type;
	const char *indicator_value;
	const char *sources;   /* the feeds that hold it, comma-separated */
	uint64_t messages;     /* distinct messages it matched */
	uint64_t recipients;   /* distinct recipient addresses of those messages */
	int64_t first_date;    /* earliest Date of those messages, seconds since */
	int64_t last_date;     /* the epoch; INT64_MIN when none had a date */
} vigil_hunt_row;

/* Calls `fn` for each indicator the hunt found, most messages first; a
 * non-zero return from `fn` stops and is returned. */
int vigil_store_hunt_summary(vigil_store *st, int64_t hunt_id,
	int (*fn)(void *ud, const vigil_hunt_row *row), void *ud);
/* The same, written as JSON Lines or a text table. Returns 0, VIGIL_EIO or
 * a database error. */
int vigil_store_hunt_summary_write(vigil_store *st, int64_t hunt_id, FILE *out,
	vigil_format fmt);

/* ---- campaigns (docs/campaigns.md) ----------------------------------- */

/* Groups the stored messages into campaigns by what an attacker cannot vary
 * cheaply: tracker hosts and URL templates, sender domain or free-mail
 * address, near-identical lures. A campaign needs a recon or malicious
 * message; suspicious ones join through any of those, tracking-only ones
 * (newsletters) only through a campaign's own tracker. Incremental: run
 * after each scan or hunt; messages never change campaign, ids are stable,
 * and two campaigns that a new message bridges merge into the older (the
 * other id then leads to it). *created and *joined (may be NULL) count new
 * campaigns and messages newly grouped. Returns 0 or a database error. */
int vigil_store_campaigns_update(vigil_store *st, size_t *created, size_t *joined);
/* The campaign documents: campaign `id`, or all when id is 0, as a JSON array
 * (UTF-8, NUL-terminated, the caller frees it with free()). VIGIL_EINVAL
 * when there is no such campaign. */
int vigil_store_campaigns_json(vigil_store *st, int64_t id, char **out_json);
/* The same for people: with id 0, one line per campaign (text) or one
 * document per line (JSON Lines); with an id, that campaign in detail. */
int vigil_store_campaigns_write(vigil_store *st, int64_t id, vigil_format fmt, FILE *out);

/* ---- reports ---------------------------------------------------------- */

/* Reports on campaigns for CERTs and analysts; docs/reports.md. */
typedef enum vigil_report_format {
	VIGIL_REPORT_STIX = 1, /* a STIX 2.1 bundle */
	VIGIL_REPORT_MISP = 2, /* MISP event JSON: {"Event": ...} for one campaign,
	                        * {"response": [events]} for several */
	VIGIL_REPORT_CSV = 3,  /* RFC 4180, one row per campaign, message and recipient */
	VIGIL_REPORT_HTML = 4, /* one self-contained page that loads nothing remote */
} vigil_report_format;

/* Traffic Light Protocol level. AMBER is 0: a zeroed options struct is amber. */
typedef enum vigil_report_tlp {
	VIGIL_TLP_AMBER = 0,
	VIGIL_TLP_CLEAR = 1, /* TLP:CLEAR; STIX 2.1's predefined marking calls it WHITE */
	VIGIL_TLP_GREEN = 2,
	VIGIL_TLP_RED = 3,
} vigil_report_tlp;

/* Report options; a zeroed struct, or NULL, means the defaults. */
typedef struct vigil_report_options {
	const char *org_name; /* the reporting organisation (STIX identity, MISP
	                       * Orgc); NULL: "vigil" */
	const char *title;    /* NULL: made from the campaign names */
	vigil_report_tlp tlp;
	bool omit_targets;    /* leave the targeted people out of STIX and MISP
	                       * (CSV and HTML are about them and always list them) */
} vigil_report_options;

/* Writes a report on `campaigns_json`, a JSON array of campaign documents
 * (docs/campaigns.md) as UTF-8 text, to fp. `now` is the report's time in
 * seconds since the epoch, so the same input gives the same bytes; ids are
 * name-based UUIDs, so a report written again carries the same ids. Returns
 * 0, VIGIL_EPARSE (the documents are not what they should be), VIGIL_EIO
 * (writing failed), VIGIL_EINVAL or VIGIL_ENOMEM; the detail goes to `err`
 * (may be NULL) as a NUL-terminated line cut to err_size bytes. */
int vigil_report_write(FILE *fp, vigil_report_format fmt, const char *campaigns_json,
	int64_t now, const vigil_report_options *opt, char *err, size_t err_size);

/* ---- logs ------------------------------------------------------------- */

/* Reading the logs that say who opened what and who logged in from where:
 * web proxy and server logs, DNS query logs and mail login logs, one event
 * per line that records one. Formats, detection, times and limits:
 * docs/logs.md. A reader is used by one thread at a time. */
typedef enum vigil_log_format {
	VIGIL_LOG_AUTO = 0,     /* detect from the content */
	VIGIL_LOG_SQUID = 1,    /* squid's native access.log */
	VIGIL_LOG_COMBINED = 2, /* Common/Combined Log Format (Apache, nginx), vhost_combined */
	VIGIL_LOG_BIND = 3,     /* BIND's query log (its own file, or named's syslog lines) */
	VIGIL_LOG_DNSMASQ = 4,  /* dnsmasq's log-queries lines (syslog or its own file) */
	VIGIL_LOG_POSTFIX = 5,  /* Postfix smtpd SASL logins (syslog or maillog_file) */
	VIGIL_LOG_DOVECOT = 6,  /* Dovecot login processes (syslog or its own log file) */
	VIGIL_LOG_SYSLOG = 7,   /* a syslog file: every line of the four above, by program */
} vigil_log_format;

typedef enum vigil_log_event_kind {
	VIGIL_LOG_EVENT_HTTP = 1,  /* a web request (proxy or server log) */
	VIGIL_LOG_EVENT_DNS = 2,   /* a DNS query */
	VIGIL_LOG_EVENT_LOGIN = 3, /* a mail login attempt (SASL, IMAP, POP3) */
} vigil_log_event_kind;

/* One event. Strings are borrowed: valid until the next vigil_log_next() or
 * vigil_log_free(); NULL when the line does not have them. */
typedef struct vigil_log_event {
	vigil_log_event_kind kind;
	int64_t time;          /* seconds since the epoch, UTC */
	const char *client_ip; /* canonical text (inet_ntop; IPv4-mapped IPv6 as IPv4);
	                        * NULL when not logged or logged as a host name */
	const char *url;       /* HTTP: the URL as requested: absolute (scheme://host/path?query)
	                        * in proxy logs; in server logs the target made absolute
	                        * with the logged virtual host when there is one, else the
	                        * path as logged; CONNECT: "host:port" */
	const char *host;      /* HTTP host or DNS query name: lower case, no port, no
	                        * brackets, no trailing dot; NULL for a bare path */
	const char *method;    /* HTTP: "GET", ...; DNS: the query type "A", "AAAA",
	                        * "TYPE65"; LOGIN: the SASL mechanism ("PLAIN") if logged */
	int status;            /* HTTP status, 0 when none */
	const char *user_agent; /* HTTP, when logged */
	const char *account;   /* LOGIN: the user name (NULL when a failure does not say);
	                        * HTTP: the authenticated user when logged */
	const char *service;   /* LOGIN: "smtp", "submission", "submissions", "imap",
	                        * "pop3", "managesieve" */
	bool success;          /* LOGIN: authenticated; others: true */
	uint64_t line;         /* 1-based line number in the file */
} vigil_log_event;

typedef struct vigil_log_reader vigil_log_reader;

/* Opens a log read-only: a path or "-" (standard input). Compressed logs
 * (gzip, by their magic, whatever the name) are inflated as they are read.
 * With VIGIL_LOG_AUTO the format is detected from the first non-empty lines
 * (VIGIL_LOG_DETECT_LINES); a forced format takes only its lines (POSTFIX on
 * a syslog file: Postfix's lines). Memory is bounded (a buffer of
 * VIGIL_MAX_LOG_LINE plus 256 KiB), whatever the file's size. Like
 * vigil_source_open(), a handle is stored in *out even when it fails
 * (VIGIL_EIO: cannot be opened, a directory) so that vigil_log_error() can
 * say why; it then yields VIGIL_EDONE. *out is NULL only on VIGIL_ENOMEM or
 * VIGIL_EINVAL. */
int vigil_log_open(vigil_log_reader **out, const char *path, vigil_log_format fmt);
/* Times written without a zone (BIND, BSD syslog, RFC 3339 without an
 * offset, dnsmasq, Dovecot's log file) are in this zone: "UTC" (the
 * default; the process's TZ is never used), a fixed offset "+01:00" /
 * "-0700", or an IANA name ("Europe/Paris") read from $TZDIR or
 * /usr/share/zoneinfo. Returns 0 or VIGIL_EINVAL / VIGIL_EPARSE with the
 * reason in vigil_log_error(); call before reading. */
int vigil_log_set_timezone(vigil_log_reader *r, const char *zone);
/* BSD syslog stamps ("Nov 22 07:28:58") have no year. By default it is the
 * current year, or the one before for a stamp that would be more than a day
 * in the future. With `year` (1..9999) it is the year of the first such
 * line, moving on where the months wrap from December to January. 0 goes
 * back to the default. Returns 0 or VIGIL_EINVAL; call before reading. */
int vigil_log_set_year(vigil_log_reader *r, int year);
/* The next event: 0, VIGIL_EDONE at the end (and ever after), or once, after
 * the lines before it, VIGIL_EIO (a read failed) or VIGIL_EPARSE (damaged or
 * truncated gzip data). Lines that are not events (other daemons' messages,
 * blank lines, "#" comments) are skipped silently; lines of the format that
 * are malformed, longer than VIGIL_MAX_LOG_LINE, or binary junk are skipped
 * and counted. Before the format is known (AUTO, nothing recognised yet)
 * each line is tried against every format, and lines that none recognises
 * are skipped without being counted. */
int vigil_log_next(vigil_log_reader *r, vigil_log_event *out);
/* The format in effect: the forced one, the detected one, or AUTO when
 * nothing was recognised (so far). */
vigil_log_format vigil_log_detected(const vigil_log_reader *r);
/* "auto", "squid", "combined", "bind", "dnsmasq", "postfix", "dovecot",
 * "syslog"; and back ((vigil_log_format)-1 for an unknown name or NULL). */
const char *vigil_log_format_name(vigil_log_format f);
vigil_log_format vigil_log_format_from_name(const char *name);
/* Lines skipped as malformed, and lines read, so far. */
uint64_t vigil_log_malformed(const vigil_log_reader *r);
uint64_t vigil_log_lines(const vigil_log_reader *r);
/* Detail of the last error ("<path>: <reason>"), or "" when none. */
const char *vigil_log_error(const vigil_log_reader *r);
/* Closes and frees. NULL is fine. */
void vigil_log_free(vigil_log_reader *r);

/* ---- logs against campaigns (docs/campaigns.md) ----------------------- */

/* An open of a campaign's tracker, as vigil_store_logs_ingest() reports it.
 * Strings are borrowed for the callback. */
typedef struct vigil_open_info {
	int64_t campaign;
	const char *recipient;  /* NULL when nobody can be named */
	const char *message_id; /* of the message whose tracker it was, when known */
	int64_t time;           /* seconds since the epoch, UTC */
	const char *client_ip;
	const char *url;        /* the URL requested, or the name looked up (DNS) */
	const char *kind;       /* "http" or "dns" */
	const char *confidence; /* "exact": the URL or its token is one message's;
	                         * "probable": named through the client address of an
	                         * exact open of the same campaign nearby in time;
	                         * "possible": the campaign's tracker, nobody named */
} vigil_open_info;

/* What one log gave. The callbacks (may be NULL) see each open and each
 * relay login found, in log order for logins and exact opens, at the end
 * for the others (they wait for the whole log's exact opens). */
typedef struct vigil_logs_result {
	uint64_t events;       /* events read */
	uint64_t opens;        /* opens found (also those recorded by an earlier run) */
	uint64_t new_opens;    /* of which recorded for the first time */
	uint64_t relay_logins; /* logins from relay-list or intel addresses */
	uint64_t unattributed; /* tracker hits past the memory cap, not recorded */
	void (*on_open)(void *ud, const vigil_open_info *open);
	void (*on_login)(void *ud, const vigil_log_event *login, const char *matched);
	void *ud;
} vigil_logs_result;

/* Reads the whole log `r` (named `log` in the store) against the store's
 * campaigns and records, in one transaction, the opens of their trackers
 * (web requests and DNS look-ups) and the logins from addresses on ctx's
 * relay list or its intel IP indicators (ctx may be NULL: no logins then).
 * Recording is idempotent: the same log read twice adds nothing. Returns 0,
 * the reader's error (VIGIL_EIO, VIGIL_EPARSE: nothing of this log is kept)
 * or a database error. */
int vigil_store_logs_ingest(vigil_store *st, const vigil_ctx *ctx, vigil_log_reader *r,
	const char *log, vigil_logs_result *res);

/* ---- notifications (docs/notify.md) ----------------------------------- */

/* Telling each target of a campaign, in plain language, what they received
 * and when, that it tracked who opens it, whether vigil saw them open it,
 * and what to do. A template gives the words; the store records who was
 * told, so that nobody is told twice. */
typedef struct vigil_notify_template vigil_notify_template;

/* Loads a template: `path`, or NULL for the shipped one
 * (data/notify-template.txt, or $VIGIL_DATADIR's). A "Subject:" line, an
 * empty line, the body; "{name}"-style placeholders. Returns 0, VIGIL_EIO
 * (unreadable), VIGIL_ECONFIG ("FILE:LINE: unknown placeholder {x}", no
 * Subject line, not UTF-8, larger than VIGIL_MAX_TEMPLATE_BYTES) or
 * VIGIL_ENOMEM, with the detail in err (may be NULL). */
int vigil_notify_template_load(vigil_notify_template **out, const char *path, char *err,
	size_t err_size);
void vigil_notify_template_free(vigil_notify_template *t);

typedef struct vigil_notify_options {
	const char *from;      /* required: "Name <address>" or an address; the
	                        * From and the envelope sender */
	const char *contact;   /* the security contact the text names; NULL:
	                        * from's address */
	int64_t now;           /* the messages' Date, seconds since the epoch */
	const char *const *targets; /* only these addresses (NULL: every target) */
	size_t n_targets;
	/* Only targets at these domains or their sub-domains (NULL: any). A
	 * recon message's To may be the attacker's own address (the targets in
	 * Bcc): telling it would tell the attacker. */
	const char *const *domains;
	size_t n_domains;
	/* Sending (vigil_store_notify with send): */
	const char *smtp_url;  /* smtp://HOST[:PORT] or smtps://...; NULL:
	                        * VIGIL_NOTIFY_DEFAULT_SMTP */
	bool starttls;         /* smtp://: require STARTTLS (refuse to go on
	                        * without it) */
	const char *smtp_user; /* AUTH when set */
	const char *smtp_password;
	const char *smtp_ca_file; /* PEM CA certificates to verify the server's
	                        * TLS certificate with; NULL: the system's */
	long timeout_ms;       /* per message; 0: VIGIL_SMTP_TIMEOUT_MS */
	bool resend_unconfirmed; /* also send to targets left 'sending' by a run
	                        * that stopped before knowing the outcome */
} vigil_notify_options;

#define VIGIL_NOTIFY_DEFAULT_SMTP "smtp://127.0.0.1:25"

/* One notification, all UTF-8. */
typedef struct vigil_notification {
	char *to;         /* the target's address */
	char *to_name;    /* the target's name, NULL when unknown */
	char *subject;    /* as rendered, before RFC 2047 encoding */
	char *body;       /* as rendered, LF line ends */
	char *message_id; /* without angle brackets, at the From domain */
	char *raw;        /* the RFC 5322 message, CRLF line ends, NUL-terminated */
	size_t raw_len;
} vigil_notification;

/* The notification for target `address` of `campaign_json`, a campaign
 * document (docs/campaigns.md) as a JSON object or an array holding one.
 * The Message-ID is the same for the same campaign and target, so a copy
 * sent twice can be recognised. Returns 0, VIGIL_EINVAL (not a target, a
 * bad From, an address SMTP cannot carry), VIGIL_EPARSE (not a campaign
 * document), VIGIL_ECONFIG (the text would show a tracker host in clear)
 * or VIGIL_ENOMEM, with the detail in err (may be NULL). */
int vigil_notify_build(vigil_notification **out, const vigil_notify_template *t,
	const char *campaign_json, const char *address, const vigil_notify_options *opt,
	char *err, size_t err_size);
void vigil_notification_free(vigil_notification *n);

/* What happened to one target. */
typedef enum vigil_notify_outcome {
	VIGIL_NOTIFY_DRY_RUN = 1,     /* would be sent (send was false) */
	VIGIL_NOTIFY_SENT = 2,        /* the SMTP server accepted it; recorded */
	VIGIL_NOTIFY_FAILED = 3,      /* not sent; recorded, tried again next run */
	VIGIL_NOTIFY_ALREADY = 4,     /* sent by an earlier run: skipped */
	VIGIL_NOTIFY_UNCONFIRMED = 5, /* an earlier run began sending and stopped
	                               * before recording the outcome: it may have
	                               * gone out; skipped unless resend_unconfirmed */
	VIGIL_NOTIFY_OUTSIDE = 6,     /* not at one of the options' domains: skipped */
} vigil_notify_outcome;

typedef struct vigil_notify_result {
	size_t dry_run, sent, failed, already, unconfirmed, outside; /* targets by outcome */
	/* Called for each target in address order (may be NULL). `n` is the
	 * message (NULL when skipped or when it could not be made); `detail` the
	 * server's reply or the error, or NULL. Borrowed for the call. */
	void (*on_target)(void *ud, vigil_notify_outcome what, const char *address,
		const vigil_notification *n, const char *detail);
	void *ud;
} vigil_notify_result;

/* Notifies the targets of campaign `id` (a merged id leads to the campaign
 * it joined). Every message is built first, so a template that shows a
 * tracker host or a bad From stops the run before anything is sent. Without
 * `send`: nothing is recorded and no connection made. With `send`, for each
 * target not yet told: state 'sending' is committed, the message goes out by
 * SMTP (libcurl), then 'sent' with its Message-ID, or 'failed' with the
 * reason, is committed (docs/notify.md). Returns 0 (also when some targets
 * failed: see res), VIGIL_EINVAL (no such campaign, a target asked for that
 * is not the campaign's, bad options), VIGIL_ECONFIG (a bad SMTP URL, a
 * template that shows a tracker) or a database error; the detail is in
 * vigil_store_error(). A database error while sending stops the run. */
int vigil_store_notify(vigil_store *st, int64_t id, const vigil_notify_template *t,
	const vigil_notify_options *opt, bool send, vigil_notify_result *res);

#ifdef __cplusplus
}
#endif
#endif /* VIGIL_H */
