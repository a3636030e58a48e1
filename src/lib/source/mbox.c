/*
 * Splits an mbox (mboxo or mboxrd, LF or CRLF) while it streams through the
 * read buffer: finds separators, drops the blank line before them and undoes
 * >From quoting, all in place. It neither opens files nor decides what they are.
 *
 * A `From ` line is a separator when it starts the file, follows an empty
 * line, or has the shape of a postmark (many real archives lack the empty
 * line). In an mboxo file a body line "From ..." after an empty line is
 * therefore taken for a separator: the format cannot tell them apart, which
 * is why mboxrd quotes such lines.
 */
#include <assert.h>
#include <string.h>

#include "source/source_internal.h"

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* h:mm, hh:mm, h:mm:ss or hh:mm:ss */
static bool is_time(const char *t, size_t n)
{
	size_t h = is_digit(t[0]) && n > 1 && is_digit(t[1]) ? 2 : is_digit(t[0]) ? 1 : 0;
	if (h == 0 || n < h + 3 || t[h] != ':' || !is_digit(t[h + 1]) || !is_digit(t[h + 2]))
		return false;
	if (n == h + 3)
		return true;
	return n == h + 6 && t[h + 3] == ':' && is_digit(t[h + 4]) && is_digit(t[h + 5]);
}

bool source__postmark_shaped(const char *line, size_t len)
{
	bool month = false, time = false, year = false;
	const char *p = line + 5, *end = line + len;
	assert(len >= 5);
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
			p++;
		const char *t = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		size_t n = (size_t)(p - t);
		if (n == 0)
			break;
		if (n == 3 || (n == 4 && t[3] == ',')) {
			for (size_t i = 0; i < sizeof(months) / sizeof(months[0]); i++)
				if (memcmp(t, months[i], 3) == 0)
					month = true;
		}
		if (n >= 4 && n <= 8 && is_time(t, n))
			time = true;
		if (n == 4 && (t[0] == '1' || t[0] == '2') && is_digit(t[1]) && is_digit(t[2]) &&
			is_digit(t[3]))
			year = true;
	}
	return month && time && year;
}

size_t source__unquote(char *p, size_t len)
{
	char *end = p + len;
	char *w = NULL; /* where kept bytes go, once the first '>' is dropped */
	char *r = p;    /* bytes from here on are still where they were */
	const char *s = p;
	char *hit;
	/* The searches and the look-back below only read at or after r, and the
	 * moves only write before it, so shifting in place is safe. */
	while (s < end && (hit = memmem(s, (size_t)(end - s), ">From ", 6)) != NULL) {
		char *ls = hit;
		while (ls > p && ls[-1] == '>')
			ls--;
		s = hit + 6;
		if (ls != p && ls[-1] != '\n')
			continue;
		if (!w) {
			w = ls;
		} else {
			memmove(w, r, (size_t)(ls - r));
			w += ls - r;
		}
		r = ls + 1;
	}
	if (!w)
		return len;
	memmove(w, r, (size_t)(end - r));
	return (size_t)(w - p) + (size_t)(end - r);
}

void source__mbox_begin(vigil_source *src, size_t from)
{
	src->mbox = (source_mbox){
		.from = from, .body = from, .scan = from, .quote = SOURCE_NONE, .nul_at = SOURCE_NONE};
}

/* Puts back the byte the NUL after the last message replaced: it may be the
 * start of the next `From ` line. */
static void restore_nul(source_mbox *m, char *buf)
{
	if (m->nul_at != SOURCE_NONE) {
		buf[m->nul_at] = m->nul_saved;
		m->nul_at = SOURCE_NONE;
	}
}

static void set_nul(source_mbox *m, char *buf, size_t at)
{
	m->nul_at = at;
	m->nul_saved = buf[at];
	buf[at] = '\0';
}

static void shift_index(size_t *i, size_t by)
{
	if (*i != SOURCE_NONE)
		*i = *i > by ? *i - by : 0;
}

/* source__read() keeping bytes from `keep` on, with the indices following
 * them. A body start moved out of the buffer clamps to 0: all that is left
 * is body. */
static int read_more(vigil_source *src, size_t keep)
{
	size_t shift;
	int rc = source__read(src, keep, &shift);
	if (shift) {
		source_mbox *m = &src->mbox;
		shift_index(&m->from, shift);
		shift_index(&m->body, shift);
		shift_index(&m->scan, shift);
		shift_index(&m->quote, shift);
	}
	return rc;
}

/* Finds the next separator in the buffer, searching from m->scan, and notes
 * in m->quote the first quoted `From ` line on the way (one search serves
 * both: it is most of the time spent here). Returns the index of the
 * separator's `F`, or SOURCE_NONE with m->scan moved to where the search
 * resumes once more has been read (no separator starts before it). At end
 * of file it never waits for more. */
static size_t find_separator(vigil_source *src)
{
	source_mbox *m = &src->mbox;
	const char *buf = src->buf;
	size_t end = src->len, p = m->scan;
	for (;;) {
		const char *hit = p < end ? memmem(buf + p, end - p, "From ", 5) : NULL;
		if (!hit) {
			/* The last 4 bytes may be the start of "From ". */
			m->scan = end - p > 4 ? end - 4 : p;
			return SOURCE_NONE;
		}
		size_t line = (size_t)(hit - buf);
		p = line + 5;
		/* The search starts at the body, and the byte before the body is
		 * the separator line's end, so looking back stays in the buffer. */
		if (buf[line - 1] == '>') {
			size_t ls = line - 1;
			while (ls > m->body && buf[ls - 1] == '>')
				ls--;
			if (m->quote == SOURCE_NONE && (ls == m->body || buf[ls - 1] == '\n'))
				m->quote = ls;
			continue;
		}
		if (buf[line - 1] != '\n')
			continue;

		/* An empty line (LF or CRLF) before it, within this message. */
		size_t nl = line - 1;
		if (nl >= m->body && (buf[nl - 1] == '\n' || (buf[nl - 1] == '\r' && buf[nl - 2] == '\n')))
			return line;

		size_t avail = end - line;
		size_t look = avail < SOURCE_FROM_LINE_MAX ? avail : SOURCE_FROM_LINE_MAX;
		const char *eol = memchr(buf + line, '\n', look);
		if (!eol && avail < SOURCE_FROM_LINE_MAX && !src->eof) {
			m->scan = line;
			return SOURCE_NONE;
		}
		/* An overlong line is never a postmark. */
		if ((eol || avail < SOURCE_FROM_LINE_MAX) &&
			source__postmark_shaped(buf + line, eol ? (size_t)(eol - (buf + line)) : avail))
			return line;
	}
}

/* After a message was cut at the limit: reads on, dropping what was read,
 * up to the next separator (or the end of the file). */
static int skip_rest(vigil_source *src)
{
	source_mbox *m = &src->mbox;
	for (;;) {
		size_t sep = find_separator(src);
		if (sep != SOURCE_NONE || src->eof) {
			m->from = sep;
			m->skipping = false;
			return 0;
		}
		/* Keep three bytes before the resume point for the empty-line test. */
		int rc = read_more(src, m->scan >= 3 ? m->scan - 3 : 0);
		if (rc)
			return rc;
	}
}

/* Finds the end of the `From ` line at m->from and sets m->body. */
static int find_body(vigil_source *src)
{
	source_mbox *m = &src->mbox;
	for (;;) {
		size_t avail = src->len - m->from;
		size_t look = avail < SOURCE_FROM_LINE_MAX ? avail : SOURCE_FROM_LINE_MAX;
		const char *eol = memchr(src->buf + m->from, '\n', look);
		if (eol || avail >= SOURCE_FROM_LINE_MAX || src->eof) {
			m->body = eol ? (size_t)(eol - src->buf) + 1 : m->from + look;
			m->scan = m->body;
			m->quote = SOURCE_NONE;
			return 0;
		}
		int rc = read_more(src, m->from);
		if (rc)
			return rc;
	}
}

/* Length of the empty line (LF or CRLF) ending the `len` bytes at p, if
 * any: it belongs to the mbox format, not to the message. */
static size_t trailing_blank(const char *p, size_t len)
{
	if (len >= 1 && p[len - 1] == '\n' && (len == 1 || p[len - 2] == '\n'))
		return 1;
	if (len >= 2 && p[len - 2] == '\r' && p[len - 1] == '\n' && (len == 2 || p[len - 3] == '\n'))
		return 2;
	return 0;
}

/* Hands out `raw` bytes of body (before unquoting), cut at the limit. */
static void deliver(vigil_source *src, vigil_raw_message *out, size_t raw, bool truncated)
{
	source_mbox *m = &src->mbox;
	char *data = src->buf + m->body;
	size_t len = raw;
	/* Most messages quote nothing: then nothing is searched or moved. */
	if (m->quote != SOURCE_NONE && m->quote < m->body + raw) {
		size_t head = m->quote - m->body;
		len = head + source__unquote(data + head, raw - head);
	}
	set_nul(m, src->buf, m->body + len);
	*out = (vigil_raw_message){
		.data = data,
		.len = len,
		.path = src->path,
		.offset = (int64_t)(src->buf_off + m->from),
		.truncated = truncated,
	};
}

int source__mbox_next(vigil_source *src, vigil_raw_message *out)
{
	source_mbox *m = &src->mbox;
	int rc;

	restore_nul(m, src->buf);
	if (m->skipping && (rc = skip_rest(src)) != 0)
		return rc;
	if (m->from == SOURCE_NONE)
		return VIGIL_EDONE;
	if ((rc = find_body(src)) != 0)
		return rc;

	size_t sep;
	while ((sep = find_separator(src)) == SOURCE_NONE && !src->eof) {
		/* No separator starts before m->scan, and at most two bytes (an
		 * empty line) come off the end: past this the message is over the
		 * limit whatever follows. Hand out its head now and skip the rest,
		 * rather than buffer it. */
		if (m->scan > m->body + src->max_message + 2) {
			deliver(src, out, src->max_message, true);
			m->from = SOURCE_NONE;
			m->skipping = true;
			return 0;
		}
		if ((rc = read_more(src, m->from)) != 0)
			return rc;
	}

	size_t end = sep != SOURCE_NONE ? sep : src->len;
	size_t raw = end - m->body;
	raw -= trailing_blank(src->buf + m->body, raw);
	bool truncated = raw > src->max_message;
	deliver(src, out, truncated ? src->max_message : raw, truncated);
	m->from = sep;
	return 0;
}
