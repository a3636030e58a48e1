/*
 * libFuzzer target: threat-intel feeds. Writes the input to a temporary file
 * and loads it as a feed by content and as free text, through the public
 * API (vigil_ctx_load_intel), then compiles what loaded. A feed may be
 * refused; it must never crash, hang or half-load.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void load(const char *path, vigil_feed_format fmt)
{
	vigil_ctx *ctx = NULL;
	if (vigil_ctx_new(&ctx) != 0)
		abort();
	int rc = vigil_ctx_load_intel(ctx, path, fmt);
	/* A refused feed leaves nothing behind (all or nothing). */
	if (rc != 0 && vigil_ctx_intel_count(ctx) != 0) {
		fprintf(stderr, "fuzz_feed: refused (%d) but %zu indicators kept\n", rc,
			vigil_ctx_intel_count(ctx));
		abort();
	}
	if (rc != 0 && rc != VIGIL_EPARSE && rc != VIGIL_ELIMIT && rc != VIGIL_ENOMEM &&
		rc != VIGIL_EIO) {
		fprintf(stderr, "fuzz_feed: unexpected error %d: %s\n", rc, vigil_ctx_error(ctx));
		abort();
	}
	if (rc == 0 && vigil_ctx_ready(ctx) != 0 && vigil_ctx_intel_count(ctx) > 0) {
		fprintf(stderr, "fuzz_feed: indicators loaded but not compiled: %s\n",
			vigil_ctx_error(ctx));
		abort();
	}
	vigil_ctx_free(ctx);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *path = fuzz_file_write("fuzz-feed", data, size);
	load(path, VIGIL_FEED_AUTO);
	load(path, VIGIL_FEED_FREETEXT);
	return 0;
}
