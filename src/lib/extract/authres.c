/* STUB: Authentication-Results parsing (being written). */
#include "extract/extract.h"
int authres__parse(vigil_auth_vec *out, vigil_arena *a, const char *value, int header_index, int nested)
{
	return 0;
}
