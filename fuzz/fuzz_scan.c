/*
 * libFuzzer target: scans the input as one message through the public API and
 * writes it in both output formats. Checks only what must hold for any input:
 * no crash, no leak, no hang, and JSONL output that is one valid JSON object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static vigil_ctx *ctx;
static vigil_scanner *scanner;
static FILE *devnull;

/* The context and scanner are made once, as a real front end does: they are
 * meant to be reused across messages, so state leaking from one message into
 * the next is part of what the fuzzer should find. */
static void setup(void)
{
	if (vigil_ctx_new(&ctx) != 0 || vigil_scanner_new(&scanner, ctx) != 0) {
		fprintf(stderr, "fuzz_scan: cannot create a context and scanner\n");
		abort();
	}
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL) {
		perror("fuzz_scan: /dev/null");
		abort();
	}
}

/* The JSONL record of one message must be exactly one line holding one JSON
 * object that a strict parser accepts (valid UTF-8, escaped control
 * characters): downstream tools read it line by line. */
static void check_jsonl(const vigil_message *msg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	json_error_t jerr;
	json_t *obj;

	if (mem == NULL)
		abort();
	if (vigil_message_write(msg, VIGIL_FORMAT_JSONL, mem) != 0) {
		fprintf(stderr, "fuzz_scan: vigil_message_write(JSONL) failed on a memory stream\n");
		abort();
	}
	if (fclose(mem) != 0)
		abort();
	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\n', len - 1) != NULL) {
		fprintf(stderr, "fuzz_scan: JSONL record is not exactly one line (%zu bytes)\n", len);
		abort();
	}
	obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL || !json_is_object(obj)) {
		fprintf(stderr, "fuzz_scan: JSONL record is not a JSON object: %s at byte %d\n",
			obj == NULL ? jerr.text : "not an object", obj == NULL ? jerr.position : 0);
		abort();
	}
	json_decref(obj);
	free(buf);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	vigil_raw_message raw = {
		.data = (const char *)data,
		.len = size,
		.path = "fuzz",
		.offset = -1,
		.truncated = false,
	};
	vigil_message *msg = NULL;
	int rc;

	if (scanner == NULL)
		setup();
	rc = vigil_scan(&msg, scanner, &raw);
	if (rc != 0) {
		/* Malformed input and limits come back as a partial message, not
		 * an error; only running out of memory may fail a scan. */
		if (rc != VIGIL_ENOMEM) {
			fprintf(stderr, "fuzz_scan: vigil_scan returned %d (%s): %s\n", rc,
				vigil_strerror(rc), vigil_scanner_error(scanner));
			abort();
		}
		if (msg != NULL)
			abort(); /* on failure nothing is handed over */
		return 0;
	}
	(void)vigil_message_partial(msg);
	(void)vigil_message_id(msg);
	check_jsonl(msg);
	if (vigil_message_write(msg, VIGIL_FORMAT_TEXT, devnull) != 0)
		abort();
	vigil_message_free(msg);
	return 0;
}
