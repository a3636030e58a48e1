/*
 * The public source API: opens a path, reads files through one bounded
 * buffer, tells an mbox from a single message by content, and hands out
 * messages. Splitting mboxes is mbox.c's job, walking directories tree.c's.
 */
#include <archive.h>
#include <archive_entry.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil_limits.h"
#include "source/source_internal.h"

/* What the first bytes of a file say it is. */
typedef enum sniff_result {
	SNIFF_MORE,    /* can't tell yet: read more */
	SNIFF_EMPTY,   /* nothing but blank lines, or nothing at all */
	SNIFF_MBOX,    /* first line starts with `From ` */
	SNIFF_MESSAGE, /* first line is a header field */
	SNIFF_OTHER,   /* anything else: not mail */
} sniff_result;

int source__fail(vigil_source *src, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(src->err, sizeof(src->err), fmt, ap);
	va_end(ap);
	return code;
}

int source__fail_errno(vigil_source *src, int errnum, const char *path)
{
	char msg[256];
	/* The GNU strerror_r: thread-safe, unlike strerror(), and the milter is threaded. */
	const char *s = strerror_r(errnum, msg, sizeof(msg));
	return source__fail(src, VIGIL_EIO, "%s: %s", path, s);
}

void source__set_max_message_bytes(vigil_source *src, size_t max)
{
	src->max_message = max;
}

/* The most the buffer ever needs: a message at the limit, its `From ` line,
 * the longest line looked ahead at to decide whether the next `From ` line
 * is a separator (or the leading blank lines a sniffed file may skip), and
 * room for one more read. Past this the splitter cuts the message instead of
 * reading on, so memory stays bounded whatever the input. */
static size_t hard_cap(const vigil_source *src)
{
	return src->max_message + 2 * SOURCE_FROM_LINE_MAX + 16 + SOURCE_READ_MIN + 1;
}

/* Makes the buffer hold at least `want` bytes plus the NUL byte, within
 * hard_cap(). Returns 0 or VIGIL_ENOMEM. */
static int reserve(vigil_source *src, size_t want)
{
	size_t limit = hard_cap(src);
	if (want + 1 > limit)
		want = limit - 1;
	if (want + 1 <= src->cap)
		return 0;
	size_t cap = src->cap * 2 > want + 1 ? src->cap * 2 : want + 1;
	if (cap > limit)
		cap = limit;
	char *buf = realloc(src->buf, cap);
	if (!buf)
		return source__fail(src, VIGIL_ENOMEM, "%s: out of memory for a %zu-byte buffer",
			src->path ? src->path : "", cap);
	src->buf = buf;
	src->cap = cap;
	return 0;
}

/* Waits until a non-blocking descriptor (a caller's stdin may be one) has
 * data, instead of failing with EAGAIN. */
static void wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

/* read(), waiting out EAGAIN and retrying EINTR: bytes read (0 at the end)
 * or -1 with errno set. */
static ssize_t read_some(int fd, void *buf, size_t n)
{
	for (;;) {
		ssize_t got = read(fd, buf, n);
		if (got >= 0)
			return got;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			wait_readable(fd);
		else if (errno != EINTR)
			return -1;
	}
}

int source__read(vigil_source *src, size_t keep, size_t *shift)
{
	*shift = 0;
	assert(keep <= src->len);
	if (src->cap - 1 - src->len < SOURCE_READ_MIN) {
		if (keep > 0) {
			memmove(src->buf, src->buf + keep, src->len - keep);
			src->len -= keep;
			src->buf_off += keep;
			*shift = keep;
		}
		if (src->cap - 1 - src->len < SOURCE_READ_MIN) {
			int rc = reserve(src, src->len + SOURCE_CHUNK);
			if (rc)
				return rc;
		}
	}
	/* The callers never keep more than hard_cap() allows for. */
	assert(src->cap - 1 > src->len);

	ssize_t n;
	if (src->ar) {
		la_ssize_t got = archive_read_data(src->ar, src->buf + src->len, src->cap - 1 - src->len);
		if (got < 0) {
			src->ar_failed = true;
			return source__fail(src, VIGIL_EIO, "%s: damaged compressed data: %s", src->path,
				archive_error_string(src->ar) ? archive_error_string(src->ar) : "unknown error");
		}
		if (got == 0)
			src->eof = true;
		src->len += (size_t)got;
		src->file_read += (uint64_t)got;
		la_int64_t raw = archive_filter_bytes(src->ar, -1);
		if (raw > 0 && (uint64_t)raw > src->raw_read) {
			src->done += (uint64_t)raw - src->raw_read;
			src->raw_read = (uint64_t)raw;
		}
		return 0;
	}
	n = read_some(src->fd, src->buf + src->len, src->cap - 1 - src->len);
	if (n < 0)
		return source__fail_errno(src, errno, src->path);
	if (n == 0)
		src->eof = true;
	src->len += (size_t)n;
	src->file_read += (uint64_t)n;
	src->done += (uint64_t)n;
	return 0;
}

/* Closes the current file, if any. The buffer keeps its bytes: the last
 * message handed out stays valid until the next call. */
static void close_file(vigil_source *src)
{
	if (src->kind == SOURCE_FILE_NONE)
		return;
	/* An archive's entry: the archive stays open for the next one, opened
	 * by the next call (the message just handed out keeps its path). */
	if (src->ar && src->ar_entries && !src->ar_failed) {
		src->kind = SOURCE_FILE_ENTRY_END;
		return;
	}
	if (src->ar) {
		archive_read_free(src->ar); /* does not close the descriptor */
		src->ar = NULL;
		src->ar_entries = false;
		src->ar_pending = NULL;
		if (src->raw_size > 0 && (uint64_t)src->raw_size > src->raw_read)
			src->done += (uint64_t)src->raw_size - src->raw_read;
	}
	if (src->fd_owned)
		close(src->fd);
	/* Bytes not read (a message cut at the limit, a file that is not mail)
	 * still count as consumed, so progress reaches the total. */
	if (src->file_size >= 0 && (uint64_t)src->file_size > src->file_read)
		src->done += (uint64_t)src->file_size - src->file_read;
	src->fd = -1;
	src->kind = SOURCE_FILE_NONE;
}

/* Whether a regular file is one libarchive reads for us: a compressed
 * stream (gzip, bzip2, xz, zstd, lzip, lz4) or an archive of files (zip,
 * tar, 7z, rar). Read with pread(), so the file's position stays put. */
static bool packed_bytes(const unsigned char *m, size_t n);

static bool packed(int fd)
{
	unsigned char m[263];
	ssize_t n = pread(fd, m, sizeof(m), 0);
	return n > 0 && packed_bytes(m, (size_t)n);
}

/* The magic bytes behind packed(). */
static bool packed_bytes(const unsigned char *m, size_t n)
{
	if (n < 4)
		return false;
	return (m[0] == 0x1f && m[1] == 0x8b) ||
		(m[0] == 'B' && m[1] == 'Z' && m[2] == 'h') ||
		(n >= 6 && memcmp(m, "\xfd" "7zXZ\0", 6) == 0) ||
		memcmp(m, "\x28\xb5\x2f\xfd", 4) == 0 || memcmp(m, "LZIP", 4) == 0 ||
		memcmp(m, "\x04\x22\x4d\x18", 4) == 0 ||
		memcmp(m, "PK\x03\x04", 4) == 0 ||
		(n >= 6 && memcmp(m, "7z\xbc\xaf\x27\x1c", 6) == 0) ||
		(n >= 6 && memcmp(m, "Rar!\x1a\x07", 6) == 0) ||
		(n >= 262 && memcmp(m + 257, "ustar", 5) == 0);
}

/* Reads a stream's first bytes (as many as a tar header needs, fewer at
 * its end) into src->peek. */
static int peek(vigil_source *src)
{
	src->peek_eof = false;
	while (src->peek_len < sizeof(src->peek)) {
		ssize_t n = read_some(src->fd, src->peek + src->peek_len,
			sizeof(src->peek) - src->peek_len);
		if (n < 0)
			return source__fail_errno(src, errno, src->path);
		if (n == 0) {
			src->peek_eof = true;
			break;
		}
		src->peek_len += (size_t)n;
	}
	return 0;
}

#define SOURCE_PEEK_CHUNK ((size_t)1 << 16)

/* libarchive's reader for a stream whose first bytes were peeked at: those,
 * then the descriptor. */
static la_ssize_t peeked_read(struct archive *ar, void *ud, const void **buf)
{
	vigil_source *src = ud;
	if (src->peek_off < src->peek_len) {
		*buf = src->peek + src->peek_off;
		size_t n = src->peek_len - src->peek_off;
		src->peek_off = src->peek_len;
		return (la_ssize_t)n;
	}
	ssize_t n = read_some(src->fd, src->chunk, SOURCE_PEEK_CHUNK);
	if (n < 0)
		archive_set_error(ar, errno, "read error");
	*buf = src->chunk;
	return n;
}

/* Puts libarchive between the file and the buffer: a single stream
 * (format "raw") is read as the file itself, an archive entry by entry.
 * A stream that was peeked at (peek_len > 0) is read through the peek. */
static int open_packed(vigil_source *src, int fd, const char *path, int64_t size)
{
	if (src->peek_len && !src->chunk && !(src->chunk = malloc(SOURCE_PEEK_CHUNK)))
		return source__fail(src, VIGIL_ENOMEM, "%s: out of memory", path);
	struct archive *ar = archive_read_new();
	if (!ar)
		return source__fail(src, VIGIL_ENOMEM, "%s: out of memory", path);
	struct archive_entry *entry;
	if (archive_read_support_filter_all(ar) != ARCHIVE_OK ||
		archive_read_support_format_all(ar) != ARCHIVE_OK ||
		archive_read_support_format_raw(ar) != ARCHIVE_OK ||
		(src->peek_len ? archive_read_open(ar, src, NULL, peeked_read, NULL)
			       : archive_read_open_fd(ar, fd, 1 << 16)) != ARCHIVE_OK) {
		int rc = source__fail(src, VIGIL_EIO, "%s: compressed file or archive cannot be read: %s",
			path, archive_error_string(ar) ? archive_error_string(ar) : "unknown error");
		archive_read_free(ar);
		return rc;
	}
	/* ARCHIVE_RETRY: a damaged first header of an archive libarchive
	 * recognised, skipped as the later ones are. */
	int first = archive_read_next_header(ar, &entry);
	if (first < ARCHIVE_WARN && first != ARCHIVE_RETRY) {
		int rc = source__fail(src, VIGIL_EIO, "%s: compressed file or archive cannot be read: %s",
			path, archive_error_string(ar) ? archive_error_string(ar) : "unknown error");
		archive_read_free(ar);
		return rc;
	}
	src->ar = ar;
	src->raw_size = size;
	src->raw_read = 0;
	src->ar_failed = false;
	src->ar_damaged = src->ar_report = first == ARCHIVE_RETRY;
	src->ar_entries = first == ARCHIVE_RETRY || archive_format(ar) != ARCHIVE_FORMAT_RAW;
	if (src->ar_entries) {
		char *p = strdup(path);
		if (!p) {
			archive_read_free(ar);
			src->ar = NULL;
			return source__fail(src, VIGIL_ENOMEM, "%s: out of memory", path);
		}
		free(src->ar_path);
		src->ar_path = p;
		src->ar_pending = first == ARCHIVE_RETRY ? NULL : entry;
		src->kind = SOURCE_FILE_ENTRY_END; /* the first entry opens on the first call */
	}
	return 0;
}

/* The state of a file about to be read from its first byte. */
static void reset_file(vigil_source *src, bool sniff)
{
	src->sniff = sniff;
	src->eof = false;
	src->kind = SOURCE_FILE_NEW;
	src->file_read = 0;
	src->len = 0;
	src->buf_off = 0;
	src->mbox = (source_mbox){.from = SOURCE_NONE, .nul_at = SOURCE_NONE};
}

/* Opens the archive's next regular file as the current file. Returns 0,
 * 1 when there is none left (the archive is closed), or an error (the
 * archive is given up). */
static int next_entry(vigil_source *src)
{
	/* Damaged headers are skipped while libarchive moves on through the
	 * file; retries that read nothing more end the archive. */
	int stuck = 0;
	la_int64_t at = archive_filter_bytes(src->ar, 0); /* where the format reader stands */
	for (;;) {
		if (src->ar_report) {
			/* The first damaged header is an error the caller sees (once);
			 * the entries after it are still read. */
			src->ar_report = false;
			return source__fail(src, VIGIL_EIO, "%s: damaged archive: %s", src->ar_path,
				archive_error_string(src->ar) ? archive_error_string(src->ar)
							       : "a header is damaged");
		}
		struct archive_entry *e = src->ar_pending;
		src->ar_pending = NULL;
		if (!e) {
			int r = archive_read_next_header(src->ar, &e);
			if (r == ARCHIVE_EOF) {
				src->ar_entries = false;
				close_file(src);
				return 1;
			}
			la_int64_t now = archive_filter_bytes(src->ar, 0);
			stuck = now == at ? stuck + 1 : 0;
			at = now;
			if (r == ARCHIVE_RETRY && stuck < 16) {
				src->ar_report = !src->ar_damaged;
				src->ar_damaged = true;
				continue;
			}
			if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY) {
				int rc = source__fail(src, VIGIL_EIO, "%s: damaged archive: %s", src->ar_path,
					archive_error_string(src->ar) ? archive_error_string(src->ar)
								       : "unknown error");
				src->ar_failed = true;
				close_file(src);
				return rc;
			}
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue; /* directories, links, devices */
		const char *name = archive_entry_pathname(e);
		if (!name)
			name = "?";
		size_t need = strlen(src->ar_path) + 2 + strlen(name) + 1;
		if (need > src->path_cap) {
			char *p = realloc(src->path, need);
			if (!p) {
				src->ar_failed = true;
				close_file(src);
				return source__fail(src, VIGIL_ENOMEM, "%s: out of memory", src->ar_path);
			}
			src->path = p;
			src->path_cap = need;
		}
		snprintf(src->path, need, "%s!/%s", src->ar_path, name);
		reset_file(src, true); /* like a file found in a tree: mail or skipped */
		return 0;
	}
}

int source__begin_file(vigil_source *src, int fd, const char *path, int64_t size, bool sniff,
	bool owned)
{
	size_t need = strlen(path) + 1;
	if (need > src->path_cap) {
		char *p = realloc(src->path, need);
		if (!p) {
			if (owned)
				close(fd);
			return source__fail(src, VIGIL_ENOMEM, "%s: out of memory", path);
		}
		src->path = p;
		src->path_cap = need;
	}
	memcpy(src->path, path, need);

	/* One huge message must not pin its buffer for the rest of a tree. */
	if (src->cap > 4 * SOURCE_CHUNK + 1) {
		char *buf = realloc(src->buf, SOURCE_CHUNK + 1);
		if (buf) {
			src->buf = buf;
			src->cap = SOURCE_CHUNK + 1;
		}
	}
	src->fd = fd;
	src->fd_owned = owned;
	src->file_size = size;
	reset_file(src, sniff);
	src->peek_len = src->peek_off = 0;
	bool is_packed = size > 0 && packed(fd);
	if (size < 0) {
		/* A pipe: read its first bytes to tell; what is not packed goes
		 * to the buffer as if read there. */
		int rc = peek(src);
		if (rc)
			return rc;
		is_packed = packed_bytes(src->peek, src->peek_len);
		if (!is_packed) {
			memcpy(src->buf, src->peek, src->peek_len);
			src->len = src->peek_len;
			src->file_read = src->peek_len;
			src->done += src->peek_len;
			src->eof = src->peek_eof;
			src->peek_len = 0;
		}
	}
	if (is_packed) {
		src->file_size = -1; /* the decompressed size is not known */
		int rc = open_packed(src, fd, path, size);
		if (rc) {
			if (owned)
				close(fd);
			src->fd = -1;
			src->kind = SOURCE_FILE_NONE;
			/* Its bytes count as consumed, so progress reaches the total. */
			if (size > 0)
				src->done += (uint64_t)size;
			return rc;
		}
	}
	return 0;
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_field_char(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Classifies the first `n` bytes of a file. On SNIFF_MBOX and SNIFF_MESSAGE,
 * *start is where the mail begins: after a UTF-8 byte order mark and blank
 * lines, which some exporters put first and which would otherwise hide the
 * header. The header test is strict (the first line starts with a field
 * name, then ':') so that READMEs, licences, JSON and images are not taken
 * for mail. */
static sniff_result sniff(const char *p, size_t n, bool eof, size_t *start)
{
	size_t i = 0;
	if (n < 3 && !eof && memcmp(p, "\xEF\xBB\xBF", n) == 0)
		return SNIFF_MORE;
	if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < n && i < SOURCE_FROM_LINE_MAX && (p[i] == '\r' || p[i] == '\n'))
		i++;
	*start = i;
	if (i == n)
		return eof ? SNIFF_EMPTY : SNIFF_MORE;
	if (i == SOURCE_FROM_LINE_MAX)
		return SNIFF_OTHER;

	size_t avail = n - i;
	if (memcmp(p + i, "From ", avail < 5 ? avail : 5) == 0)
		return avail >= 5 ? SNIFF_MBOX : eof ? SNIFF_OTHER : SNIFF_MORE;

	/* RFC 5322 allows any printable character in a field name, but real
	 * ones are letters, digits and dashes; anything wider would take
	 * {"From": ...} or <?xml ...: for a header. */
	size_t j = i;
	if (!is_alpha(p[j]))
		return SNIFF_OTHER;
	while (j < n && j - i < SOURCE_FIELD_NAME_MAX && is_field_char(p[j]))
		j++;
	/* The obsolete syntax (RFC 5322 4.5) allows blanks before the colon. */
	while (j < n && j - i < SOURCE_FIELD_NAME_MAX && (p[j] == ' ' || p[j] == '\t'))
		j++;
	if (j < n && p[j] == ':')
		return SNIFF_MESSAGE;
	if (j == n && !eof && j - i < SOURCE_FIELD_NAME_MAX)
		return SNIFF_MORE;
	return SNIFF_OTHER;
}

/* Reads the whole file as one message, cutting it at the size limit; bytes
 * past the limit are not read at all. */
static int read_message(vigil_source *src, size_t start, vigil_raw_message *out)
{
	size_t max = src->max_message;
	if (src->file_size > 0) {
		/* Size the buffer once instead of doubling through a large file. */
		uint64_t want = (uint64_t)src->file_size + 1;
		int rc = reserve(src, want > start + max + 1 ? start + max + 1 : (size_t)want);
		if (rc)
			return rc;
	}
	/* A regular file is read up to the size it had when opened: a snapshot,
	 * and no second read() just to see the end (nor a buffer grown for it).
	 * Size 0 may be a lie (procfs): then read to the end. */
	size_t shift;
	while (!src->eof && src->len - start <= max &&
		(src->file_size <= 0 || src->file_read < (uint64_t)src->file_size)) {
		int rc = source__read(src, 0, &shift);
		if (rc)
			return rc;
	}
	size_t len = src->len - start;
	bool truncated = len > max;
	if (truncated)
		len = max;
	src->buf[start + len] = '\0';
	*out = (vigil_raw_message){
		.data = src->buf + start,
		.len = len,
		.path = src->path,
		.offset = -1,
		.truncated = truncated,
	};
	return 0;
}

/* Looks at a newly opened file: starts the mbox splitter, hands out its one
 * message, or skips it. Returns 0 with *out filled, 1 when the file gave no
 * message here (the caller goes on), or an error. */
static int start_file(vigil_source *src, vigil_raw_message *out)
{
	size_t start = 0, shift;
	sniff_result what;
	while ((what = sniff(src->buf, src->len, src->eof, &start)) == SNIFF_MORE) {
		int rc = source__read(src, 0, &shift);
		if (rc)
			return rc;
	}
	switch (what) {
	case SNIFF_MBOX:
		src->kind = SOURCE_FILE_MBOX;
		source__mbox_begin(src, start);
		return 1;
	case SNIFF_OTHER:
		if (src->sniff)
			break;
		/* A file named on its own is taken for a message whatever it holds:
		 * the caller asked for it, and the parser reports what it is. */
		/* fall through */
	case SNIFF_MESSAGE: {
		int rc = read_message(src, start, out);
		close_file(src);
		return rc;
	}
	case SNIFF_EMPTY:
	case SNIFF_MORE:
		break;
	}
	close_file(src);
	return 1;
}

int vigil_source_open(vigil_source **out, const char *path)
{
	if (!out)
		return VIGIL_EINVAL;
	*out = NULL;
	if (!path)
		return VIGIL_EINVAL;

	vigil_source *src = calloc(1, sizeof(*src));
	if (!src)
		return VIGIL_ENOMEM;
	src->fd = -1;
	src->total = -1;
	src->max_message = VIGIL_MAX_MESSAGE_BYTES;
	src->mbox = (source_mbox){.from = SOURCE_NONE, .nul_at = SOURCE_NONE};
	src->cap = SOURCE_CHUNK + 1;
	src->buf = malloc(src->cap);
	if (!src->buf) {
		free(src);
		return VIGIL_ENOMEM;
	}
	/* From here on the handle is the caller's even when opening fails, so
	 * the detail can be fetched (as with sqlite3_open()). */
	*out = src;

	if (strcmp(path, "-") == 0)
		return source__begin_file(src, STDIN_FILENO, "-", -1, false, false);

	struct stat st;
	if (stat(path, &st) != 0)
		return source__fail_errno(src, errno, path);
	if (S_ISDIR(st.st_mode))
		return source__tree_open(src, path);

	/* Anything else is read as a stream: a regular file, or a FIFO or
	 * /dev/stdin named on the command line. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return source__fail_errno(src, errno, path);
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return source__fail_errno(src, e, path);
	}
	int64_t size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1;
	src->total = size;
	return source__begin_file(src, fd, path, size, false, true);
}

int vigil_source_next(vigil_source *src, vigil_raw_message *out)
{
	if (!src || !out)
		return VIGIL_EINVAL;
	for (;;) {
		int rc;
		switch (src->kind) {
		case SOURCE_FILE_MBOX:
			rc = source__mbox_next(src, out);
			if (rc != VIGIL_EDONE) {
				/* A read error ends this file, not the source. */
				if (rc < 0)
					close_file(src);
				return rc;
			}
			close_file(src);
			break;
		case SOURCE_FILE_NEW:
			rc = start_file(src, out);
			if (rc < 0)
				close_file(src);
			if (rc <= 0)
				return rc;
			break;
		case SOURCE_FILE_ENTRY_END:
			rc = next_entry(src);
			if (rc < 0)
				return rc;
			break;
		case SOURCE_FILE_NONE:
			if (!src->tree)
				return VIGIL_EDONE;
			rc = source__tree_next(src);
			if (rc)
				return rc;
			break;
		}
	}
}

const char *vigil_source_error(const vigil_source *src)
{
	return src ? src->err : "";
}

void vigil_source_progress(const vigil_source *src, uint64_t *done, int64_t *total)
{
	if (done)
		*done = src ? src->done : 0;
	if (total)
		*total = src ? src->total : -1;
}

void vigil_source_free(vigil_source *src)
{
	if (!src)
		return;
	if (src->ar)
		archive_read_free(src->ar);
	free(src->ar_path);
	free(src->chunk);
	if (src->fd >= 0 && src->fd_owned)
		close(src->fd);
	source__tree_free(src->tree);
	free(src->path);
	free(src->buf);
	free(src);
}
