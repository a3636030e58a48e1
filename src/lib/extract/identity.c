/* STUB */
#include "extract/extract.h"
int64_t date__parse(const char *value) { return VIGIL_NO_TIME; }
const char *domain__to_ascii(vigil_arena *a, const char *domain) { return vigil_arena_strdup(a, domain); }
