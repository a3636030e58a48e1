/*
 * What the files of src/lib/logs/ share: the reader handle (buffer, gzip
 * state, time settings, scratch space for the strings of one event), the
 * line parsers' result codes and entry points, and the time helpers.
 */
#ifndef VIGIL_LOGS_INTERNAL_H
#define VIGIL_LOGS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "vigil/vigil.h"

/* What a parser made of one line. The order matters: detection scores them. */
typedef enum logs_result {
	LOGS_NO = 0,        /* not this format at all */
	LOGS_MALFORMED = 1, /* this format, but broken (counted) */
	LOGS_SKIP = 2,      /* this format, but not an event (other daemon messages) */
	LOGS_EVENT = 3,     /* an event, in *ev */
} logs_result;

/* A time zone for logs that write local time without an offset: a fixed
 * offset, or the transitions of a TZif file (/usr/share/zoneinfo). */
typedef struct logs_zone {
	int32_t fixed;   /* seconds east of UTC, when n == 0 */
	size_t n;        /* transitions */
	int64_t *at;     /* UTC instant of each transition, ascending */
	int32_t *off;    /* offset in effect from at[i] on */
	int32_t off0;    /* offset before the first transition */
} logs_zone;

struct vigil_log_reader {
	char *path;
	int fd;            /* -1 when none */
	bool fd_owned;     /* false for standard input */
	bool raw_eof;      /* the file has no more bytes */
	bool eof;          /* no more bytes to cut lines from (inflated ones included) */
	bool done;         /* no more lines: next() says VIGIL_EDONE */
	int pending_error; /* a read or gzip error to report once the lines before it are out */

	/* gzip: raw bytes are inflated into the line buffer. */
	bool gz;
	bool gz_member_end; /* a member ended; another may follow */
	z_stream zs;
	bool zs_ready;
	unsigned char *in;  /* raw input (also the first bytes read to sniff the magic) */
	size_t in_pos, in_len;

	/* Lines: [pos, end) of buf holds bytes not yet handed out. */
	char *buf;
	size_t cap;
	size_t pos, end;

	uint64_t line;      /* lines consumed so far */
	uint64_t malformed;

	vigil_log_format forced;   /* what the caller asked for (AUTO: detect) */
	vigil_log_format fmt;      /* in effect; AUTO until something was recognised */

	/* Times without a zone are in this zone; lines without a year (BSD
	 * syslog) take it from `year` (0: inferred from `now`). */
	logs_zone zone;
	int year;
	int prev_month;    /* of the last line with an explicit-year time, for rollover */
	int64_t now;

	/* Scratch for the strings of one event that are not slices of the line. */
	char ip[64];
	char *host;        /* VIGIL_MAX_LOG_LINE + 1 */
	char *url;         /* VIGIL_MAX_LOG_LINE + 64 */
	char *probe;       /* VIGIL_MAX_LOG_LINE + 1: a line copied for detection */

	char err[512];
};

/* ---- parsers (http.c, syslog.c) --------------------------------------- */

/* Each takes one line without its newline, NUL-terminated, which it may
 * modify (fields are cut with NUL bytes, in place), and fills *ev (already
 * zeroed, with line and success = true set) when it returns LOGS_EVENT. */
logs_result logs__squid(vigil_log_reader *r, char *line, size_t len, vigil_log_event *ev);
logs_result logs__combined(vigil_log_reader *r, char *line, size_t len, vigil_log_event *ev);
/* BIND's own query log file (named's lines in syslog are logs__syslog()'s). */
logs_result logs__bind(vigil_log_reader *r, char *line, size_t len, vigil_log_event *ev);
/* A syslog line (BSD, RFC 3339, RFC 5424 headers; also Dovecot's and
 * dnsmasq's own log files, which look the same without the host). `only` is
 * VIGIL_LOG_SYSLOG to take every program vigil knows, or one of POSTFIX,
 * DOVECOT, DNSMASQ, BIND to take that one's lines only. */
logs_result logs__syslog(vigil_log_reader *r, char *line, size_t len, vigil_log_event *ev,
	vigil_log_format only);

/* ---- shared field helpers (http.c) ------------------------------------ */

/* The canonical text of an IPv4 or IPv6 address given as s[0..n) (IPv4-mapped
 * IPv6 as dotted IPv4), in r->ip; NULL when it is not an address. */
const char *logs__ip(vigil_log_reader *r, const char *s, size_t n);
/* s[0..n) lower-cased into r->host, without brackets, port or trailing dot. */
const char *logs__host(vigil_log_reader *r, const char *s, size_t n);
/* The host of an absolute URL (scheme://[user@]host[:port]/...), or of an
 * authority (host:port, as CONNECT logs it), via logs__host(); NULL if none. */
const char *logs__url_host(vigil_log_reader *r, const char *url);

/* ---- time (logtime.c) ------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
int64_t logs__days(int64_t y, int m, int d);
/* 1..12 for "Jan".."Dec" (the first three bytes, any case), else 0. */
int logs__month(const char *s);
int logs__days_in_month(int y, int m);

/* Parses "UTC", "Z", "+01:00", "-0700", "+05" or an IANA name read from
 * $TZDIR or /usr/share/zoneinfo. Returns 0, VIGIL_EINVAL (unknown name or bad
 * syntax), VIGIL_EPARSE (not a TZif file) or VIGIL_ENOMEM; *z unchanged on
 * failure. */
int logs__zone_set(logs_zone *z, const char *spec, char *err, size_t errlen);
void logs__zone_clear(logs_zone *z);
/* A local wall-clock time (seconds since the epoch as if it were UTC) to UTC. */
int64_t logs__zone_to_utc(const logs_zone *z, int64_t local);

/* Time parsers: each reads from *p, and on success advances *p past what it
 * read and returns true with *t in seconds since the epoch, UTC (times
 * without a zone are taken in r's zone). */
/* "2021-01-14T12:47:33.123456+01:00", "...Z", "...+0100", no zone, or a
 * space for the T. */
bool logs__time_iso(vigil_log_reader *r, const char **p, int64_t *t);
/* "Nov 22 07:28:58" or "Nov  2 07:28:58.123456", no year (see reader). */
bool logs__time_bsd(vigil_log_reader *r, const char **p, int64_t *t);
/* "22-Nov-2026 07:28:58.123" (BIND). */
bool logs__time_bind(vigil_log_reader *r, const char **p, int64_t *t);
/* "10/Oct/2000:13:55:36 -0700" (Common Log Format, inside the brackets). */
bool logs__time_clf(const char **p, int64_t *t);

#endif /* VIGIL_LOGS_INTERNAL_H */
