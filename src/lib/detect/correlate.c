/*
 * Cross-message correlation: evidence that only shows across messages, fed
 * in archive order by the caller (the scan pipeline's ordered point), so the
 * result does not depend on how many threads scanned. Today: a URL template
 * that carries a different token for each recipient (token.c). It adds
 * findings to a message and judges it again; its state is bounded.
 */
#include <stdlib.h>

#include "detect/detect.h"
#include "detect/token.h"

struct vigil_correlator {
	const vigil_ctx *ctx;
	token_index *templates;
};

int vigil_correlator_new(vigil_correlator **out, const vigil_ctx *ctx)
{
	vigil_correlator *c = calloc(1, sizeof(*c));
	if (!c || !(c->templates = token__index_new(TOKEN_INDEX_CAP))) {
		free(c);
		*out = NULL;
		return VIGIL_ENOMEM;
	}
	c->ctx = ctx;
	*out = c;
	return 0;
}

void vigil_correlator_free(vigil_correlator *c)
{
	if (!c)
		return;
	token__index_free(c->templates);
	free(c);
}

int vigil_correlate(vigil_correlator *c, vigil_message *msg)
{
	if (c->ctx->hunt_mode && vigil_message_hits(msg) == 0)
		return 0; /* a hunt keeps only hits: see vigil_ctx_set_hunt_mode() */
	size_t before = msg->findings.len;
	int rc = token__observe_message(msg, c->ctx, c->templates);
	if (rc)
		return rc;
	if (msg->findings.len == before)
		return 0;
	judge__verdict(msg, c->ctx->cfg);
	return 1;
}
