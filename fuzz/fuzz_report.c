/*
 * libFuzzer target: campaign reports. Takes the input as campaign documents
 * (a JSON array, docs/campaigns.md) and writes every report format from them
 * through vigil_report_write(). Documents may be refused (VIGIL_EPARSE with
 * a detail); a report must never crash, hang or fail otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/vigil.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	/* The API takes a string: the input up to its first NUL. */
	char *json = malloc(size + 1);
	if (!json)
		return 0;
	memcpy(json, data, size);
	json[size] = '\0';
	static FILE *sink;
	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	vigil_report_options opt = {.org_name = "fuzz", .tlp = (vigil_report_tlp)(size % 4)};
	for (int f = VIGIL_REPORT_STIX; f <= VIGIL_REPORT_HTML; f++) {
		char err[256] = "";
		int rc = vigil_report_write(sink, (vigil_report_format)f, json, 1795338000, &opt, err,
			sizeof(err));
		if (rc != 0 && !(rc == VIGIL_EPARSE && err[0])) {
			fprintf(stderr, "fuzz_report: format %d: unexpected %d: %s\n", f, rc, err);
			abort();
		}
	}
	free(json);
	return 0;
}
