/*
 * Contexts, scanners, error strings and the message handle's life cycle.
 * Parsing is in mime/parse.c; output in report/.
 */
#include <assert.h>
#include <gmime/gmime.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/token.h"
#include "intel/intel.h"
#include "vigil_limits.h"
#include "message.h"
#include "rules/rules.h"
#include "util/hash.h"
#include "scanner.h"

const char *vigil_strerror(int code)
{
	switch (code) {
	case VIGIL_OK: return "success";
	case VIGIL_ENOMEM: return "out of memory";
	case VIGIL_EIO: return "input/output error";
	case VIGIL_EPARSE: return "malformed input";
	case VIGIL_ELIMIT: return "limit reached";
	case VIGIL_ECONFIG: return "bad configuration";
	case VIGIL_EINVAL: return "invalid argument";
	case VIGIL_EDONE: return "no more messages";
	case VIGIL_EINTERNAL: return "internal error";
	}
	return "unknown error";
}

static GOnce gmime_once = G_ONCE_INIT;

static gpointer gmime_init_once(gpointer unused)
{
	(void)unused;
	g_mime_init();
	return NULL;
}

int vigil_ctx_new(vigil_ctx **out)
{
	*out = NULL;
	g_once(&gmime_once, gmime_init_once, NULL);
	vigil_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return VIGIL_ENOMEM;
	/* psl_latest() picks the newer of the built-in list and the system's
	 * (Debian's publicsuffix package), so updates reach us without a rebuild. */
	ctx->psl_owned = psl_latest(NULL);
	ctx->psl = ctx->psl_owned ? ctx->psl_owned : psl_builtin();
	ctx->cfg = config__new_default();
	if (!ctx->psl || !ctx->cfg) {
		int rc = ctx->psl ? VIGIL_ENOMEM : VIGIL_EINTERNAL;
		psl_free(ctx->psl_owned);
		config__free(ctx->cfg);
		free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

void vigil_ctx_free(vigil_ctx *ctx)
{
	if (!ctx)
		return;
	psl_free(ctx->psl_owned);
	config__free(ctx->cfg);
	intel__matcher_free(ctx->intel);
	intel__set_free(ctx->intel_set);
	rules__free(ctx->rules);
	free(ctx);
}

/* The folder of the shipped data (default config, lists): $VIGIL_DATADIR,
 * else the source tree's data/ when running from a build tree, else the
 * installed one. */
static const char *data_dir(void)
{
	const char *env = getenv("VIGIL_DATADIR");
	if (env && *env)
		return env;
	if (g_file_test(VIGIL_SOURCE_DATADIR "/vigil.conf", G_FILE_TEST_IS_REGULAR))
		return VIGIL_SOURCE_DATADIR;
	return VIGIL_INSTALLED_DATADIR;
}

int vigil_ctx_load_config(vigil_ctx *ctx, const char *path)
{
	char *def = NULL;
	if (!path)
		path = def = g_build_filename(data_dir(), "vigil.conf", NULL);
	ctx->err[0] = '\0';
	int rc = config__load_file(ctx->cfg, path, ctx->err, sizeof(ctx->err));
	g_free(def);
	return rc;
}

int vigil_ctx_load_list(vigil_ctx *ctx, vigil_list kind, const char *path)
{
	ctx->err[0] = '\0';
	switch (kind) {
	case VIGIL_LIST_MEMBERS: return config__load_members(ctx->cfg, path, ctx->err, sizeof(ctx->err));
	case VIGIL_LIST_PROTECTED:
		return config__load_protected(ctx->cfg, path, ctx->err, sizeof(ctx->err));
	case VIGIL_LIST_RELAYS: return config__load_relays(ctx->cfg, path, ctx->err, sizeof(ctx->err));
	}
	snprintf(ctx->err, sizeof(ctx->err), "unknown list kind %d", (int)kind);
	return VIGIL_EINVAL;
}

int vigil_ctx_ready(vigil_ctx *ctx)
{
	int rc = config__finish(ctx->cfg);
	if (rc)
		snprintf(ctx->err, sizeof(ctx->err), "%s", vigil_strerror(rc));
	if (rc == 0)
		rc = rules__ready(ctx);
	return rc ? rc : intel__ready(ctx);
}

void vigil_ctx_set_message_digest(vigil_ctx *ctx, bool on)
{
	ctx->no_message_digest = !on;
}

const char *vigil_ctx_error(const vigil_ctx *ctx)
{
	return ctx->err;
}

const vigil_milter_settings *vigil_ctx_milter_settings(const vigil_ctx *ctx)
{
	return &ctx->cfg->milter;
}

/* Scratch bytes gumbo may take per document before it falls back to
 * malloc/free: an 8 MiB HTML part (VIGIL_MAX_HTML_BYTES) makes a tree of
 * ~10x its size, and since frees are no-ops the scratch also holds what gumbo
 * freed while parsing; past 64 MiB the memory is reused piece by piece again,
 * as with plain malloc. */
#define HTML_SCRATCH_CAP (64u * 1024 * 1024)

int vigil_scanner_new(vigil_scanner **out, const vigil_ctx *ctx)
{
	*out = NULL;
	vigil_scanner *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return VIGIL_ENOMEM;
	sc->ctx = ctx;
	const char *warnings = getenv("VIGIL_GMIME_WARNINGS");
	sc->gmime_warnings_always = warnings && strcmp(warnings, "always") == 0;
	/* MAGIC_NO_CHECK_COMPRESS/ELF-like options keep libmagic from running
	 * decompressors on hostile attachments; it only reads the bytes. */
	sc->magic = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS | MAGIC_ERROR);
	if (!sc->magic || magic_load(sc->magic, NULL) != 0) {
		if (sc->magic)
			magic_close(sc->magic);
		free(sc);
		return VIGIL_EINTERNAL;
	}
	if (!(sc->html_scratch = vigil_scratch_new(HTML_SCRATCH_CAP))) {
		magic_close(sc->magic);
		free(sc);
		return VIGIL_ENOMEM;
	}
	*out = sc;
	return 0;
}

void vigil_scanner_free(vigil_scanner *sc)
{
	if (!sc)
		return;
	magic_close(sc->magic);
	vigil_scratch_free(sc->html_scratch);
	impersonation__cache_free(sc->imp_cache);
	intel__scratch_free(sc->intel_scratch);
	rules__scanner_free(sc->rules_scanner);
	token__cache_free(sc->token_cache);
	mime__iconv_cache_free(sc->iconv_cache);
	free(sc->regdom_memo);
	free(sc);
}

/* Direct-mapped: a collision replaces the older answer. Domains longer
 * than a key holds are looked up every time (rare, and still right). */
#define REGDOM_SLOTS 4096
#define REGDOM_KEY 62

struct regdom_memo {
	struct regdom_slot {
		uint8_t len;    /* of key; 0: empty */
		int8_t offset;  /* of the registrable domain in key; -1: none */
		char key[REGDOM_KEY];
	} slot[REGDOM_SLOTS];
};

const char *regdom__lookup(struct regdom_memo **memo, const psl_ctx_t *psl, const char *domain)
{
	size_t n = strlen(domain);
	if (!memo || n == 0 || n > REGDOM_KEY)
		return psl_registrable_domain(psl, domain);
	if (!*memo && !(*memo = calloc(1, sizeof(**memo))))
		return psl_registrable_domain(psl, domain);
	struct regdom_slot *e = &(*memo)->slot[hash__memo(domain, n) & (REGDOM_SLOTS - 1)];
	if (e->len == n && memcmp(e->key, domain, n) == 0)
		return e->offset < 0 ? NULL : domain + e->offset;
	const char *r = psl_registrable_domain(psl, domain);
	e->len = (uint8_t)n;
	e->offset = r ? (int8_t)(r - domain) : -1;
	memcpy(e->key, domain, n);
	return r;
}

const char *scanner__registrable(vigil_scanner *sc, const psl_ctx_t *psl, const char *domain)
{
	return regdom__lookup(sc ? &sc->regdom_memo : NULL, psl, domain);
}

const char *vigil_scanner_error(const vigil_scanner *sc)
{
	return sc->err;
}

int scanner__fail(vigil_scanner *sc, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sc->err, sizeof(sc->err), fmt, ap);
	va_end(ap);
	return code;
}

int message__partial(vigil_message *msg, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	msg->partial = true;
	for (size_t i = 0; i < msg->partial_reasons.len; i++)
		if (strcmp(msg->partial_reasons.items[i], buf) == 0)
			return 0;
	if (msg->partial_reasons.len >= VIGIL_MAX_PARTIAL_REASONS)
		return 0;
	const char **slot = VIGIL_VEC_PUSH(msg->arena, &msg->partial_reasons);
	if (!slot || !(*slot = vigil_arena_strdup(msg->arena, buf)))
		return VIGIL_ENOMEM;
	return 0;
}

void vigil_message_free(vigil_message *msg)
{
	if (msg)
		vigil_arena_free(msg->arena); /* the message itself lives in its arena */
}

bool vigil_message_partial(const vigil_message *msg)
{
	return msg->partial;
}

const char *vigil_message_id(const vigil_message *msg)
{
	return msg->message_id;
}

size_t vigil_message_finding_count(const vigil_message *msg)
{
	return msg->findings.len;
}

vigil_finding_info vigil_message_finding(const vigil_message *msg, size_t i)
{
	const vigil_finding *f = &msg->findings.items[i];

	assert(i < msg->findings.len);
	return (vigil_finding_info){
		.detector = f->detector,
		.id = f->id,
		.score = f->score,
		.reason = f->reason,
		.value = f->value,
	};
}

const char *vigil_message_path(const vigil_message *msg)
{
	return msg->path;
}

int64_t vigil_message_offset(const vigil_message *msg)
{
	return msg->offset;
}

uint64_t vigil_message_size(const vigil_message *msg)
{
	return msg->size;
}

int64_t vigil_message_date(const vigil_message *msg)
{
	return msg->date_time; /* VIGIL_NO_TIME is INT64_MIN */
}

size_t vigil_message_hits(const vigil_message *msg)
{
	size_t n = 0;
	for (size_t i = 0; i < msg->findings.len; i++) {
		const char *d = msg->findings.items[i].detector;
		n += strcmp(d, "intel") == 0 || strcmp(d, "rules") == 0;
	}
	return n;
}
