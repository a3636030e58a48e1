/* STUB: sources (being written). */
#include <stdlib.h>
#include "vigil/vigil.h"
struct vigil_source { int unused; };
int vigil_source_open(vigil_source **out, const char *path) { *out = NULL; return VIGIL_EIO; }
int vigil_source_next(vigil_source *src, vigil_raw_message *out) { return VIGIL_EDONE; }
const char *vigil_source_error(const vigil_source *src) { return ""; }
void vigil_source_progress(const vigil_source *src, uint64_t *done, int64_t *total) { *done = 0; *total = -1; }
void vigil_source_free(vigil_source *src) { free(src); }
