/*
 * libFuzzer target: writes the input to a temporary file and reads it back
 * through vigil_source_open/next as an mbox or a single message, compressed
 * or not. Checks the source's contract for any input; scanning the messages
 * is fuzz_scan's job.
 */
#include <archive.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/* What the source hands to libarchive, by magic bytes (the source's own
 * list, restated: this is the contract under test): compressed streams
 * and archives of files. */
static bool packed(const unsigned char *d, size_t n)
{
	if (n < 4)
		return false;
	return (d[0] == 0x1f && d[1] == 0x8b) || (d[0] == 'B' && d[1] == 'Z' && d[2] == 'h') ||
		(n >= 6 && memcmp(d, "\xfd" "7zXZ\0", 6) == 0) ||
		memcmp(d, "\x28\xb5\x2f\xfd", 4) == 0 || memcmp(d, "LZIP", 4) == 0 ||
		memcmp(d, "\x04\x22\x4d\x18", 4) == 0 || memcmp(d, "PK\x03\x04", 4) == 0 ||
		(n >= 6 && memcmp(d, "7z\xbc\xaf\x27\x1c", 6) == 0) ||
		(n >= 6 && memcmp(d, "Rar!\x1a\x07", 6) == 0) ||
		(n >= 262 && memcmp(d + 257, "ustar", 5) == 0);
}

/* The bytes the input unpacks to, over all its entries (as far as it
 * unpacks; at most `cap`), and how many entries, counted with libarchive
 * on its own. */
static size_t unpacked_size(const unsigned char *d, size_t n, size_t cap, size_t *entries)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t total = 0;
	*entries = 0;
	if (!a)
		return 0;
	if (archive_read_support_filter_all(a) == ARCHIVE_OK &&
		archive_read_support_format_all(a) == ARCHIVE_OK &&
		archive_read_support_format_raw(a) == ARCHIVE_OK &&
		archive_read_open_memory(a, d, n) == ARCHIVE_OK) {
		static char buf[1 << 16];
		while (total < cap && archive_read_next_header(a, &e) >= ARCHIVE_WARN) {
			la_ssize_t got;
			(*entries)++;
			while (total < cap && (got = archive_read_data(a, buf, sizeof(buf))) > 0)
				total += (size_t)got;
		}
	}
	archive_read_free(a);
	return total;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	vigil_source *src = NULL;
	vigil_raw_message raw;
	uint64_t done;
	int64_t total;
	size_t n;
	int rc;

	/* Messages lie within the bytes read: the file's, or what it unpacks
	 * to (one entry's at most). Past a cap, lengths and offsets are not
	 * checked. */
	bool is_packed = packed(data, size);
	size_t cap = (size_t)64 << 20, entries = 1;
	size_t stream = is_packed ? unpacked_size(data, size, cap, &entries) : size;
	bool bounded = !is_packed || stream < cap;

	const char *path = fuzz_file_write("fuzz-source", data, size);
	rc = vigil_source_open(&src, path);
	if (rc != 0) {
		/* The file exists and is readable: opening it may fail for
		 * memory, when the content is not mail at all, or when compressed
		 * data is damaged; anything else breaks the contract. */
		if (rc != VIGIL_ENOMEM && rc != VIGIL_EPARSE && !(is_packed && rc == VIGIL_EIO)) {
			fprintf(stderr, "fuzz_source: vigil_source_open returned %d (%s)\n", rc,
				vigil_strerror(rc));
			abort();
		}
		vigil_source_free(src); /* the handle is the caller's even then */
		return 0;
	}
	/* Each message takes at least one byte of input (an empty file may
	 * still yield one empty message): more calls than that means the
	 * source is not making progress. */
	for (n = 0;; n++) {
		if (bounded && n > stream + entries + 1) {
			fprintf(stderr, "fuzz_source: more than %zu results from %zu bytes in %zu entries\n",
				n, stream, entries);
			abort();
		}
		memset(&raw, 0xa5, sizeof(raw));
		rc = vigil_source_next(src, &raw);
		if (rc == VIGIL_EDONE)
			break;
		if (rc == VIGIL_EIO || rc == VIGIL_EPARSE || rc == VIGIL_ELIMIT || rc == VIGIL_ENOMEM)
			continue; /* one message failed; the source goes on */
		if (rc != 0) {
			fprintf(stderr, "fuzz_source: vigil_source_next returned %d (%s): %s\n", rc,
				vigil_strerror(rc), vigil_source_error(src));
			abort();
		}
		/* mboxrd unquoting only removes bytes: a message can never be
		 * longer than the file, nor start outside it. */
		if ((raw.data == NULL && raw.len != 0) || raw.path == NULL || raw.offset < -1 ||
			(bounded && (raw.len > stream ||
					    raw.offset >= (int64_t)stream + (stream == 0)))) {
			fprintf(stderr, "fuzz_source: bad message: len %zu offset %lld of %zu bytes\n",
				raw.len, (long long)raw.offset, stream);
			abort();
		}
		/* Touch every byte so ASan sees reads past the message. */
		if (raw.len != 0) {
			volatile unsigned char sink = 0;
			for (size_t i = 0; i < raw.len; i++)
				sink ^= (unsigned char)raw.data[i];
			(void)sink;
		}
	}
	vigil_source_progress(src, &done, &total);
	if (total >= 0 && done > (uint64_t)total) {
		fprintf(stderr, "fuzz_source: progress %llu of %lld\n", (unsigned long long)done,
			(long long)total);
		abort();
	}
	vigil_source_free(src);
	return 0;
}
