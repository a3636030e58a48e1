/* STUB: URL normalisation (being written). */
#include "extract/extract.h"
#include "limits.h"
int url__add(vigil_message *msg, vigil_scanner *sc, const vigil_url *u)
{
	if (msg->urls.len >= VIGIL_MAX_URLS)
		return message__partial(msg, "more than %d URLs", VIGIL_MAX_URLS);
	vigil_url *n = VIGIL_VEC_PUSH(msg->arena, &msg->urls);
	if (!n)
		return VIGIL_ENOMEM;
	*n = *u;
	return 0;
}
const char *url__host_in_text(vigil_arena *a, const char *text)
{
	return NULL;
}
