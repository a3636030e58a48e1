/*
 * The context (shared, read-only after creation) and the scanner (one per
 * thread) as the library's modules see them.
 */
#ifndef VIGIL_SCANNER_H
#define VIGIL_SCANNER_H

#include <libpsl.h>
#include <magic.h>

#include "config/config.h"
#include "message.h"
#include "vigil/vigil.h"

struct vigil_ctx {
	const psl_ctx_t *psl; /* the newest of libpsl's built-in and the system list */
	psl_ctx_t *psl_owned; /* freed with the context when loaded from a file */
	struct vigil_rules *rules; /* YARA rules (rules/): paths, then compiled; NULL when none */
	vigil_config *cfg;    /* never NULL; read-only once vigil_ctx_ready() ran */
	struct vigil_intel_matcher *intel; /* compiled indicators (intel/); NULL when none */
	struct vigil_intel_set *intel_set; /* indicators loaded, compiled at ready */
	bool intel_validity;  /* matches must fall in an indicator's validity window */
	bool hunt_mode;       /* only messages with intel or rule hits get the other detectors */
	bool no_message_digest; /* vigil_ctx_set_message_digest(ctx, false) */
	vigil_warning_fn warn; /* skipped feed objects and the like; NULL: silent */
	void *warn_ud;
	char err[1024];       /* detail of the last configuration error */
};

struct vigil_scanner {
	const vigil_ctx *ctx;
	magic_t magic; /* libmagic cookies are not thread-safe: one per scanner */
	/* the impersonation detector's tables for ctx->cfg, built on first use
	 * (detect/impersonation.c; its uspoof checker is per thread too) */
	struct imp_cache *imp_cache;
	/* gumbo's memory: a bump allocator reset after each HTML document,
	 * so gumbo's many small mallocs and frees cost a pointer bump. */
	vigil_scratch *html_scratch;
	struct vigil_rules_scanner *rules_scanner; /* its YR_SCANNER, made on first use */
	struct vigil_intel_scratch *intel_scratch; /* for ctx->intel, made on first use */
	struct token_cache *token_cache; /* recipients' needles (detect/token.c), made on first use */
	struct iconv_cache *iconv_cache; /* open converters to UTF-8 (mime/parse.c), made on first use */
	struct regdom_memo *regdom_memo; /* scanner__registrable()'s answers, made on first use */
	/* VIGIL_GMIME_WARNINGS=always, read when the scanner is made: every
	 * message parsed with GMime's warnings (mime/parse.c) */
	bool gmime_warnings_always;
	/* vigil_scan() calls so far: tells one message from the next (the YARA
	 * budget is per message; a hunt's second pass is the same message) */
	uint64_t messages;
	char err[512];
};

void impersonation__cache_free(struct imp_cache *c); /* detect/impersonation.c; NULL ok */
void mime__iconv_cache_free(struct iconv_cache *c); /* mime/parse.c; NULL ok */

/* psl_registrable_domain(psl, domain), remembered in *memo (made on first
 * use, freed with free()): a look-up costs libpsl thousands of instructions
 * and the same hosts and sender domains come back message after message.
 * One memo serves one psl and one thread. Like libpsl, returns a pointer
 * into `domain`, or NULL. memo may be NULL (nothing remembered). */
const char *regdom__lookup(struct regdom_memo **memo, const psl_ctx_t *psl, const char *domain);

/* regdom__lookup() with the scanner's memo (psl: sc->ctx->psl); sc may be
 * NULL. */
const char *scanner__registrable(vigil_scanner *sc, const psl_ctx_t *psl, const char *domain);

/* Sets the scanner's error detail; returns `code` so callers can
 * `return scanner__fail(sc, VIGIL_EIO, "...")`. */
int scanner__fail(vigil_scanner *sc, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* VIGIL_SCANNER_H */
