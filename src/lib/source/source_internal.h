/*
 * What the files of src/lib/source/ share: the source handle with its read
 * buffer, and the entry points of the mbox splitter (mbox.c) and the
 * directory walk (tree.c) that the public functions in source.c drive.
 */
#ifndef VIGIL_SOURCE_INTERNAL_H
#define VIGIL_SOURCE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/vigil.h"

/* "No such position" for the buffer indices below. */
#define SOURCE_NONE SIZE_MAX

/* Bytes the buffer starts with and grows by. One read() per MiB keeps the
 * system-call cost per byte negligible while the buffer stays small. */
#include "vigil_limits.h"

#define SOURCE_CHUNK ((size_t)1 << 20)

/* A read() is only issued with at least this much free room; less, and the
 * consumed bytes are moved out (or the buffer grows) first. */
#define SOURCE_READ_MIN (SOURCE_CHUNK / 4)

/* SOURCE_FROM_LINE_MAX and SOURCE_FIELD_NAME_MAX are in vigil_limits.h with the
 * other caps. */
#define SOURCE_FROM_LINE_MAX VIGIL_MAX_FROM_LINE_BYTES
#define SOURCE_FIELD_NAME_MAX VIGIL_MAX_FIELD_NAME_BYTES

typedef struct source_tree source_tree;

typedef enum source_kind {
	SOURCE_FILE_NONE = 0, /* no file open */
	SOURCE_FILE_NEW,      /* open, content not looked at yet */
	SOURCE_FILE_MBOX,     /* an mbox being split */
	SOURCE_FILE_ENTRY_END, /* an archive's entry is done: the next call opens the next */
} source_kind;

/* Where the mbox splitter stands, as indices into the read buffer. */
typedef struct source_mbox {
	size_t from;   /* start of the current message's `From ` line, or NONE */
	size_t body;   /* first byte after that line */
	size_t scan;   /* the separator search resumes here; none starts before it */
	size_t quote;  /* the first quoted `>From ` line of the message, or NONE */
	bool skipping; /* a truncated message was handed out; its rest is skipped */
	size_t nul_at; /* where the NUL after the last message was written, or NONE */
	char nul_saved; /* the byte it replaced (part of what comes next) */
} source_mbox;

struct vigil_source {
	/* The file being read. */
	int fd;              /* -1 when none */
	bool fd_owned;       /* false for standard input, which is not ours to close */
	bool sniff;          /* found in a tree: skipped unless its content looks like mail */
	bool eof;
	source_kind kind;
	char *path;          /* its path, handed out as provenance */
	size_t path_cap;
	int64_t file_size;   /* -1 unless a regular file (or when compressed) */
	uint64_t file_read;  /* bytes read from it so far (decompressed) */
	/* A compressed file (gzip, bzip2, xz, zstd, lzip, lz4), inflated by
	 * libarchive as it is read: offsets are in the decompressed stream,
	 * progress counts the bytes on disk. */
	struct archive *ar;  /* NULL for a plain file */
	int64_t raw_size;    /* the compressed file's size */
	uint64_t raw_read;   /* compressed bytes consumed so far */
	/* An archive of files (tar, zip, 7z, rar; compressed or not): each
	 * regular entry is read as a file found in a tree, its path
	 * "ARCHIVE!/ENTRY". */
	bool ar_entries;
	bool ar_failed;      /* a read error: the rest of the archive is given up */
	bool ar_damaged;     /* a damaged header was skipped; reported once */
	bool ar_report;      /* ... and that report is still to be made */
	struct archive_entry *ar_pending; /* the first header, read at open */
	char *ar_path;       /* the archive's own path */
	/* A stream that cannot be read twice (standard input): its first bytes,
	 * read to tell what it is, then handed to libarchive or the buffer. */
	unsigned char peek[512];
	size_t peek_len, peek_off;
	bool peek_eof;       /* the stream ended within the peek */
	unsigned char *chunk; /* libarchive's read buffer for such a stream */

	/* The read buffer, which also holds the current message: messages are
	 * handed out in place, never copied. One byte past `cap - 1` is always
	 * free for the NUL written after a message. */
	char *buf;
	size_t cap;
	size_t len;          /* valid bytes */
	uint64_t buf_off;    /* offset in the file of buf[0] */
	size_t max_message;  /* VIGIL_MAX_MESSAGE_BYTES, lowered by tests */

	source_mbox mbox;
	source_tree *tree;   /* NULL unless a directory was opened */

	uint64_t done;       /* bytes consumed, for progress */
	int64_t total;       /* bytes in all when known up front, else -1 */
	char err[1024];      /* detail of the last error */
};

/* ---- source.c --------------------------------------------------------- */

/* Formats the error detail and returns `code`. */
int source__fail(vigil_source *src, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "<path>: <strerror(errnum)>"; returns VIGIL_EIO. */
int source__fail_errno(vigil_source *src, int errnum, const char *path);

/* Makes `fd` the file being read, its path copied. `size` is its size or -1;
 * `sniff` skips it unless it looks like mail; `owned` closes it when done.
 * Returns 0 or VIGIL_ENOMEM (fd is closed then if owned). */
int source__begin_file(vigil_source *src, int fd, const char *path, int64_t size, bool sniff,
	bool owned);

/* Reads more of the file into the buffer after the valid bytes. When room is
 * short, first moves out bytes [0, keep) (already handed out) and stores how
 * many in *shift, so the caller can adjust its indices; grows the buffer
 * when that is not enough. Sets src->eof at end of file. Returns 0,
 * VIGIL_EIO (detail set) or VIGIL_ENOMEM. */
int source__read(vigil_source *src, size_t keep, size_t *shift);

/* Lowers the message size limit of one source, so tests need not write
 * 128 MiB. Call before the first vigil_source_next(). */
void source__set_max_message_bytes(vigil_source *src, size_t max);

/* ---- mbox.c ----------------------------------------------------------- */

/* Starts splitting the open file as an mbox whose first `From ` line begins
 * at buf[from]. */
void source__mbox_begin(vigil_source *src, size_t from);
/* The next message of the open mbox. Returns 0, VIGIL_EDONE at its end,
 * VIGIL_EIO on a read error or VIGIL_ENOMEM. */
int source__mbox_next(vigil_source *src, vigil_raw_message *out);
/* Whether a `From ` line (`len` bytes, no newline) has the shape of a real
 * postmark: a month name, a time and a year among its words. */
bool source__postmark_shaped(const char *line, size_t len);
/* Undoes mboxrd quoting in place: each line of one or more '>' then `From `
 * loses one '>'. Returns the new length. */
size_t source__unquote(char *p, size_t len);

/* ---- tree.c ----------------------------------------------------------- */

/* Opens the directory `path` as the root of a tree. Returns 0, VIGIL_EIO
 * (detail set) or VIGIL_ENOMEM. */
int source__tree_open(vigil_source *src, const char *path);
/* Opens the next regular file of the tree with source__begin_file(). Returns
 * 0, VIGIL_EDONE when the tree is exhausted, or an error for one entry
 * (VIGIL_EIO, VIGIL_ELIMIT, VIGIL_ENOMEM) after which the walk goes on. */
int source__tree_next(vigil_source *src);
void source__tree_free(source_tree *tree);

#endif /* VIGIL_SOURCE_INTERNAL_H */
