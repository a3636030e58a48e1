/*
 * libFuzzer target: writes the input to a temporary file and reads it back
 * through vigil_source_open/next as an mbox or a single message. Checks the
 * source's contract for any input; scanning the messages is fuzz_scan's job.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	vigil_source *src = NULL;
	vigil_raw_message raw;
	uint64_t done;
	int64_t total;
	size_t n;
	int rc;

	const char *path = fuzz_file_write("fuzz-source", data, size);
	rc = vigil_source_open(&src, path);
	if (rc != 0) {
		/* The file exists and is readable: opening it may fail for
		 * memory, or when the content is not mail at all; anything else
		 * breaks the contract. */
		if (rc != VIGIL_ENOMEM && rc != VIGIL_EPARSE) {
			fprintf(stderr, "fuzz_source: vigil_source_open returned %d (%s)\n", rc,
				vigil_strerror(rc));
			abort();
		}
		return 0;
	}
	/* Each message takes at least one byte of input (an empty file may
	 * still yield one empty message): more calls than that means the
	 * source is not making progress. */
	for (n = 0;; n++) {
		if (n > size + 1) {
			fprintf(stderr, "fuzz_source: more than %zu results from %zu bytes\n", n, size);
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
		if ((raw.data == NULL && raw.len != 0) || raw.len > size || raw.path == NULL ||
			raw.offset < -1 || raw.offset >= (int64_t)size + (size == 0)) {
			fprintf(stderr, "fuzz_source: bad message: len %zu offset %lld of %zu bytes\n",
				raw.len, (long long)raw.offset, size);
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
