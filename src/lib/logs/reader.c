/*
 * The public log reader: opens a file or standard input, inflates gzip by
 * its magic, cuts lines in one bounded buffer, guesses the format from the
 * first lines and hands each line to its format's parser (http.c,
 * syslog.c). It knows nothing of campaigns or the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vigil_limits.h"
#include "logs/logs_internal.h"

/* Bytes asked of read() or inflate() at a time: few system calls per MiB,
 * and with the longest line the whole buffer stays at 320 KiB. */
#define LOGS_CHUNK ((size_t)256 * 1024)
/* Raw (compressed) input read at a time. */
#define LOGS_IN_CHUNK ((size_t)64 * 1024)

static int fail(vigil_log_reader *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return code;
}

static int fail_errno(vigil_log_reader *r, int errnum)
{
	char msg[256];
	const char *s = strerror_r(errnum, msg, sizeof(msg));
	return fail(r, VIGIL_EIO, "%s: %s", r->path, s);
}

/* ---- raw input ------------------------------------------------------- */

/* read() without EINTR. Returns bytes, 0 at the end, or VIGIL_EIO. */
static ssize_t raw_read(vigil_log_reader *r, void *dst, size_t n)
{
	for (;;) {
		ssize_t got = read(r->fd, dst, n);
		if (got >= 0)
			return got;
		if (errno != EINTR)
			return fail_errno(r, errno);
	}
}

/* Inflates into dst: bytes produced (> 0), 0 at the clean end of the last
 * gzip member, or VIGIL_EIO / VIGIL_EPARSE (damaged or truncated data).
 * Concatenated members (`cat a.gz b.gz`, what logrotate's delaycompress and
 * pigz can make) are read one after the other; bytes after the last member
 * that do not start another are ignored, as gzip does. */
static ssize_t gz_read(vigil_log_reader *r, char *dst, size_t room)
{
	r->zs.next_out = (unsigned char *)dst;
	r->zs.avail_out = (uInt)room;
	while (r->zs.avail_out == room) {
		if (r->zs.avail_in == 0 && !r->raw_eof) {
			ssize_t n = raw_read(r, r->in, LOGS_IN_CHUNK);
			if (n < 0)
				return n;
			if (n == 0)
				r->raw_eof = true;
			r->zs.next_in = r->in;
			r->zs.avail_in = (uInt)n;
		}
		if (r->gz_member_end) {
			if (r->zs.avail_in == 0 && r->raw_eof)
				return 0;
			if (r->zs.next_in[0] != 0x1f) {
				r->zs.avail_in = 0; /* trailing garbage (often NUL padding) */
				return 0;
			}
			inflateReset(&r->zs);
			r->gz_member_end = false;
		}
		if (r->zs.avail_in == 0 && r->raw_eof)
			return fail(r, VIGIL_EPARSE, "%s: truncated gzip data", r->path);
		int rc = inflate(&r->zs, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			r->gz_member_end = true;
		else if (rc == Z_BUF_ERROR && r->zs.avail_in == 0)
			continue; /* needs more input */
		else if (rc != Z_OK)
			return fail(r, VIGIL_EPARSE, "%s: damaged gzip data: %s", r->path,
				r->zs.msg ? r->zs.msg : "inflate failed");
	}
	return (ssize_t)(room - r->zs.avail_out);
}

/* Appends input to [pos, end), moving what is left to the front first.
 * Returns bytes added, 0 at the end, or a negative code. */
static ssize_t fill(vigil_log_reader *r)
{
	if (r->pos > 0 && r->cap - 1 - r->end < LOGS_CHUNK) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->end -= r->pos;
		r->pos = 0;
	}
	size_t room = r->cap - 1 - r->end;
	if (room > LOGS_CHUNK)
		room = LOGS_CHUNK;
	if (room == 0)
		return 0;
	char *dst = r->buf + r->end;
	ssize_t n;
	if (r->gz) {
		n = gz_read(r, dst, room);
	} else if (r->in_pos < r->in_len) { /* the bytes read to look for the gzip magic */
		n = (ssize_t)(r->in_len - r->in_pos);
		if ((size_t)n > room)
			n = (ssize_t)room;
		memcpy(dst, r->in + r->in_pos, (size_t)n);
		r->in_pos += (size_t)n;
	} else if (r->raw_eof) {
		n = 0;
	} else {
		n = raw_read(r, dst, room);
		if (n == 0)
			r->raw_eof = true;
	}
	if (n > 0)
		r->end += (size_t)n;
	else if (n == 0)
		r->eof = true;
	return n;
}

/* ---- lines ------------------------------------------------------------- */

/* The next line, NUL-terminated in place without its newline (or CR LF):
 * 1, or 0 when there are none left. A line over VIGIL_MAX_LOG_LINE is
 * counted as malformed and skipped without being held. */
static int next_line(vigil_log_reader *r, char **line, size_t *len)
{
	bool skipping = false;
	for (;;) {
		char *s = r->buf + r->pos;
		size_t avail = r->end - r->pos;
		char *nl = memchr(s, '\n', avail);
		if (skipping) { /* the tail of a long line: dropped up to its newline */
			if (nl) {
				r->pos += (size_t)(nl - s) + 1;
				skipping = false;
				continue;
			}
			r->pos = r->end = 0;
			if (r->eof)
				return 0;
		} else if (!nl) {
			if (avail > VIGIL_MAX_LOG_LINE) {
				r->line++;
				r->malformed++;
				r->pos = r->end;
				skipping = true;
				continue;
			}
			if (r->eof) {
				if (avail == 0)
					return 0;
				nl = s + avail; /* the last line has no newline */
			}
		}
		if (!nl) {
			ssize_t got = fill(r);
			if (got < 0) {
				r->pending_error = (int)got;
				r->eof = true;
			}
			continue;
		}
		size_t n = (size_t)(nl - s);
		r->line++;
		r->pos += n < avail ? n + 1 : n;
		if (n > VIGIL_MAX_LOG_LINE) {
			r->malformed++;
			continue;
		}
		if (n > 0 && s[n - 1] == '\r')
			n--;
		s[n] = '\0';
		*line = s;
		*len = n;
		return 1;
	}
}

/* ---- formats ------------------------------------------------------------ */

static logs_result parse(vigil_log_reader *r, vigil_log_format fmt, char *line, size_t len,
	vigil_log_event *ev)
{
	logs_result res;
	switch (fmt) {
	case VIGIL_LOG_SQUID:
		return logs__squid(r, line, len, ev);
	case VIGIL_LOG_COMBINED:
		return logs__combined(r, line, len, ev);
	case VIGIL_LOG_BIND:
		res = logs__bind(r, line, len, ev);
		return res == LOGS_NO ? logs__syslog(r, line, len, ev, VIGIL_LOG_BIND) : res;
	case VIGIL_LOG_DNSMASQ:
	case VIGIL_LOG_POSTFIX:
	case VIGIL_LOG_DOVECOT:
	case VIGIL_LOG_SYSLOG:
		return logs__syslog(r, line, len, ev, fmt);
	default:
		return LOGS_NO;
	}
}

/* The formats detection tries, in the order that breaks ties. BIND is
 * tried on its own file format only: its lines in syslog are SYSLOG's. */
static const vigil_log_format candidates[] = {VIGIL_LOG_SQUID, VIGIL_LOG_COMBINED,
	VIGIL_LOG_SYSLOG, VIGIL_LOG_BIND};
#define N_CANDIDATES (sizeof(candidates) / sizeof(candidates[0]))

/* What each candidate makes of one line, parsed on a copy (parsers cut
 * the line) and without moving the year of BSD stamps. */
static void probe(vigil_log_reader *r, const char *line, size_t len, logs_result *res)
{
	int year = r->year, prev = r->prev_month;
	for (size_t i = 0; i < N_CANDIDATES; i++) {
		vigil_log_event ev;
		memset(&ev, 0, sizeof(ev));
		memcpy(r->probe, line, len + 1);
		res[i] = candidates[i] == VIGIL_LOG_BIND ? logs__bind(r, r->probe, len, &ev)
							 : parse(r, candidates[i], r->probe, len, &ev);
		r->year = year;
		r->prev_month = prev;
	}
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t')
			return false;
	return true;
}

/* Lines that are nobody's events in any format: blank, comments ("#Fields:"
 * headers), and binary junk with NUL bytes (what a crash leaves in a log). */
static bool ignorable(const char *s, size_t len, bool *junk)
{
	*junk = memchr(s, '\0', len) != NULL;
	return *junk || blank(s) || s[0] == '#';
}

/* Scores the first VIGIL_LOG_DETECT_LINES non-empty lines (within what one
 * fill brings in) against each candidate and settles r->fmt on the best, if
 * any recognised a line. Consumes nothing. */
static void detect(vigil_log_reader *r)
{
	for (;;) { /* enough lines in the buffer, or all there is */
		size_t lines = 0;
		for (char *p = r->buf + r->pos, *e = r->buf + r->end; p < e && lines < VIGIL_LOG_DETECT_LINES;) {
			char *nl = memchr(p, '\n', (size_t)(e - p));
			if (!nl)
				break;
			lines += nl > p + 1;
			p = nl + 1;
		}
		if (lines >= VIGIL_LOG_DETECT_LINES || r->eof || r->end - r->pos >= LOGS_CHUNK)
			break;
		ssize_t got = fill(r);
		if (got < 0) {
			r->pending_error = (int)got;
			r->eof = true;
		}
	}
	unsigned score[N_CANDIDATES] = {0}, known[N_CANDIDATES] = {0};
	size_t seen = 0;
	char *p = r->buf + r->pos, *e = r->buf + r->end;
	while (p < e && seen < VIGIL_LOG_DETECT_LINES) {
		char *nl = memchr(p, '\n', (size_t)(e - p));
		if (!nl && !r->eof)
			break;
		size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);
		const char *line = p;
		p += len + 1;
		if (len > VIGIL_MAX_LOG_LINE)
			continue;
		/* NUL-terminated in place for the probe, and restored after. */
		if (len > 0 && line[len - 1] == '\r')
			len--;
		char *l = (char *)line;
		char saved = l[len];
		l[len] = '\0';
		bool junk;
		if (r->line == 0 && seen == 0 && len >= 3 && !memcmp(l, "\xEF\xBB\xBF", 3)) {
			l += 3;
			len -= 3;
		}
		if (ignorable(l, len, &junk)) {
			l[len] = saved;
			continue;
		}
		seen++;
		logs_result res[N_CANDIDATES];
		probe(r, l, len, res);
		l[len] = saved;
		for (size_t i = 0; i < N_CANDIDATES; i++) {
			score[i] += (unsigned)res[i];
			known[i] += res[i] >= LOGS_SKIP;
		}
	}
	size_t best = N_CANDIDATES;
	for (size_t i = 0; i < N_CANDIDATES; i++)
		if (known[i] && (best == N_CANDIDATES || score[i] > score[best]))
			best = i;
	if (best < N_CANDIDATES)
		r->fmt = candidates[best];
}

/* ---- the public API ------------------------------------------------------ */

int vigil_log_open(vigil_log_reader **out, const char *path, vigil_log_format fmt)
{
	if (!out)
		return VIGIL_EINVAL;
	*out = NULL;
	if (!path || fmt < VIGIL_LOG_AUTO || fmt > VIGIL_LOG_SYSLOG)
		return VIGIL_EINVAL;
	vigil_log_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return VIGIL_ENOMEM;
	r->fd = -1;
	r->cap = VIGIL_MAX_LOG_LINE + LOGS_CHUNK + 1;
	r->path = strdup(path);
	r->buf = malloc(r->cap);
	r->in = malloc(LOGS_IN_CHUNK);
	r->host = malloc(VIGIL_MAX_LOG_LINE + 1);
	r->url = malloc(VIGIL_MAX_LOG_LINE + 64);
	r->probe = malloc(VIGIL_MAX_LOG_LINE + 1);
	if (!r->path || !r->buf || !r->in || !r->host || !r->url || !r->probe) {
		vigil_log_free(r);
		return VIGIL_ENOMEM;
	}
	r->forced = r->fmt = fmt;
	r->now = (int64_t)time(NULL);
	*out = r;

	if (!strcmp(path, "-")) {
		r->fd = STDIN_FILENO;
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (r->fd < 0) {
			r->done = true;
			return fail_errno(r, errno);
		}
		r->fd_owned = true;
		struct stat st;
		if (fstat(r->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			r->done = true;
			return fail(r, VIGIL_EIO, "%s: is a directory", path);
		}
	}
	/* The gzip magic, from the first two bytes (a pipe may give one). */
	while (r->in_len < 2 && !r->raw_eof) {
		ssize_t n = raw_read(r, r->in + r->in_len, LOGS_IN_CHUNK - r->in_len);
		if (n < 0) {
			r->done = true;
			return (int)n;
		}
		if (n == 0)
			r->raw_eof = true;
		r->in_len += (size_t)n;
	}
	if (r->in_len >= 2 && r->in[0] == 0x1f && (unsigned char)r->in[1] == 0x8b) {
		if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK) {
			r->done = true;
			return fail(r, VIGIL_ENOMEM, "%s: cannot start zlib", path);
		}
		r->zs_ready = true;
		r->gz = true;
		r->zs.next_in = r->in;
		r->zs.avail_in = (uInt)r->in_len;
		r->in_len = r->in_pos = 0;
	}
	if (fmt == VIGIL_LOG_AUTO)
		detect(r);
	return 0;
}

int vigil_log_next(vigil_log_reader *r, vigil_log_event *out)
{
	if (!r || !out)
		return VIGIL_EINVAL;
	for (;;) {
		char *line;
		size_t len;
		if (r->done || !next_line(r, &line, &len)) {
			r->done = true;
			int rc = r->pending_error;
			r->pending_error = 0;
			return rc ? rc : VIGIL_EDONE;
		}
		if (r->line == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
			line += 3; /* a UTF-8 BOM, as Windows tools write one */
			len -= 3;
		}
		bool junk;
		if (ignorable(line, len, &junk)) {
			r->malformed += junk && r->fmt != VIGIL_LOG_AUTO;
			continue;
		}
		if (r->fmt == VIGIL_LOG_AUTO) {
			/* Nothing recognised in the first lines: keep looking,
			 * line by line; what comes before is nobody's. */
			logs_result res[N_CANDIDATES];
			probe(r, line, len, res);
			for (size_t i = 0; i < N_CANDIDATES && r->fmt == VIGIL_LOG_AUTO; i++)
				if (res[i] >= LOGS_SKIP)
					r->fmt = candidates[i];
			if (r->fmt == VIGIL_LOG_AUTO)
				continue;
		}
		memset(out, 0, sizeof(*out));
		out->line = r->line;
		out->success = true;
		logs_result res = parse(r, r->fmt, line, len, out);
		if (res == LOGS_EVENT)
			return 0;
		if (res != LOGS_SKIP)
			r->malformed++;
	}
}

int vigil_log_set_year(vigil_log_reader *r, int year)
{
	if (!r || year < 0 || year > 9999)
		return VIGIL_EINVAL;
	r->year = year;
	r->prev_month = 0;
	return 0;
}

int vigil_log_set_timezone(vigil_log_reader *r, const char *zone)
{
	if (!r)
		return VIGIL_EINVAL;
	return logs__zone_set(&r->zone, zone, r->err, sizeof(r->err));
}

vigil_log_format vigil_log_detected(const vigil_log_reader *r)
{
	return r ? r->fmt : VIGIL_LOG_AUTO;
}

const char *vigil_log_format_name(vigil_log_format f)
{
	switch (f) {
	case VIGIL_LOG_AUTO:
		return "auto";
	case VIGIL_LOG_SQUID:
		return "squid";
	case VIGIL_LOG_COMBINED:
		return "combined";
	case VIGIL_LOG_BIND:
		return "bind";
	case VIGIL_LOG_DNSMASQ:
		return "dnsmasq";
	case VIGIL_LOG_POSTFIX:
		return "postfix";
	case VIGIL_LOG_DOVECOT:
		return "dovecot";
	case VIGIL_LOG_SYSLOG:
		return "syslog";
	}
	return "unknown";
}

vigil_log_format vigil_log_format_from_name(const char *name)
{
	for (int f = VIGIL_LOG_AUTO; name && f <= VIGIL_LOG_SYSLOG; f++)
		if (!strcmp(name, vigil_log_format_name((vigil_log_format)f)))
			return (vigil_log_format)f;
	return (vigil_log_format)-1;
}

uint64_t vigil_log_malformed(const vigil_log_reader *r)
{
	return r ? r->malformed : 0;
}

uint64_t vigil_log_lines(const vigil_log_reader *r)
{
	return r ? r->line : 0;
}

const char *vigil_log_error(const vigil_log_reader *r)
{
	return r ? r->err : "";
}

void vigil_log_free(vigil_log_reader *r)
{
	if (!r)
		return;
	if (r->fd_owned && r->fd >= 0)
		close(r->fd);
	if (r->zs_ready)
		inflateEnd(&r->zs);
	logs__zone_clear(&r->zone);
	free(r->path);
	free(r->buf);
	free(r->in);
	free(r->host);
	free(r->url);
	free(r->probe);
	free(r);
}
