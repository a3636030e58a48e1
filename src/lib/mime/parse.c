/* STUB */
#include "message.h"
#include "scanner.h"
int vigil_scan(vigil_message **out, vigil_scanner *sc, const vigil_raw_message *raw)
{
	vigil_arena *a = vigil_arena_new();
	vigil_message *m = vigil_arena_calloc(a, 1, sizeof(*m));
	m->arena = a;
	*out = m;
	return 0;
}
