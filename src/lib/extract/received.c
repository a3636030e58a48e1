/* STUB: Received header parsing (being written). */
#include "extract/extract.h"
int received__parse(vigil_received *out, vigil_arena *a, const char *value)
{
	out->raw = vigil_arena_strdup(a, value);
	out->time = VIGIL_NO_TIME;
	return out->raw ? 0 : VIGIL_ENOMEM;
}
