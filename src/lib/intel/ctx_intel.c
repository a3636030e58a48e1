/*
 * The context's threat intel: feeds loaded into one indicator set, compiled
 * into the shared matcher when the context is made ready, and the bridges to
 * the store (import, load back). It parses no feed and matches nothing
 * itself: feeds.c and match.c do.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intel/intel.h"
#include "scanner.h"
#include "store/store_internal.h"

void vigil_ctx_set_warning_handler(vigil_ctx *ctx, vigil_warning_fn fn, void *ud)
{
	ctx->warn = fn;
	ctx->warn_ud = ud;
}

void vigil_ctx_set_intel_validity(vigil_ctx *ctx, bool on)
{
	ctx->intel_validity = on;
}

void vigil_ctx_set_hunt_mode(vigil_ctx *ctx, bool on)
{
	ctx->hunt_mode = on;
}

size_t vigil_ctx_intel_count(const vigil_ctx *ctx)
{
	return ctx->intel_set ? ctx->intel_set->items.len : 0;
}

static void feed_warning(void *ud, const char *message)
{
	vigil_ctx *ctx = ud;
	if (ctx->warn)
		ctx->warn(ctx->warn_ud, message);
}

static int ensure_set(vigil_ctx *ctx)
{
	if (!ctx->intel_set && !(ctx->intel_set = intel__set_new())) {
		snprintf(ctx->err, sizeof(ctx->err), "out of memory");
		return VIGIL_ENOMEM;
	}
	return 0;
}

int vigil_ctx_load_intel(vigil_ctx *ctx, const char *path, vigil_feed_format format)
{
	ctx->err[0] = '\0';
	if (ctx->intel) {
		snprintf(ctx->err, sizeof(ctx->err), "%s: intel loaded after the context was ready",
			path);
		return VIGIL_EINVAL;
	}
	int rc = ensure_set(ctx);
	if (rc)
		return rc;
	size_t skipped = 0;
	rc = intel__load_feed(ctx->intel_set, path, format, feed_warning, ctx, &skipped, ctx->err,
		sizeof(ctx->err));
	if (rc == 0 && skipped && ctx->warn) {
		char msg[600];
		snprintf(msg, sizeof(msg), "%s: %zu object%s skipped (see the warnings above)", path,
			skipped, skipped == 1 ? "" : "s");
		ctx->warn(ctx->warn_ud, msg);
	}
	return rc;
}

int intel__ready(vigil_ctx *ctx)
{
	if (!ctx->intel_set || ctx->intel_set->items.len == 0 || ctx->intel)
		return 0;
	int rc = intel__compile(&ctx->intel, ctx->intel_set, ctx->err, sizeof(ctx->err));
	/* Only a hunt skips work on what cannot match: a scan reports every
	 * URL. VIGIL_NO_PREFILTER=1 turns the skipping off, to check that a
	 * hunt finds the same without it. */
	const char *off = getenv("VIGIL_NO_PREFILTER");
	if (rc == 0 && ctx->hunt_mode && !(off && *off && strcmp(off, "0") != 0)) {
		vigil_intel_prefilter *pf = NULL;
		rc = intel__prefilter_compile(&pf, ctx->intel_set, ctx->err, sizeof(ctx->err));
		if (rc == 0)
			intel__matcher_set_prefilter(ctx->intel, pf);
	}
	if (rc && !ctx->err[0])
		snprintf(ctx->err, sizeof(ctx->err), "compiling indicators: %s", vigil_strerror(rc));
	return rc;
}

int vigil_store_import_intel(vigil_store *st, const vigil_ctx *ctx, size_t *added)
{
	if (added)
		*added = 0;
	if (!ctx->intel_set || ctx->intel_set->items.len == 0)
		return 0;
	return store__import_indicators(st, ctx->intel_set, added);
}

int vigil_ctx_load_intel_from_store(vigil_ctx *ctx, vigil_store *st)
{
	ctx->err[0] = '\0';
	int rc = ensure_set(ctx);
	if (rc)
		return rc;
	rc = store__load_indicators(st, ctx->intel_set);
	if (rc)
		snprintf(ctx->err, sizeof(ctx->err), "%s", vigil_store_error(st));
	return rc;
}
