/*
 * Threat intelligence: indicators read from feeds (feeds.c: STIX 2.1, MISP,
 * free text), and a compiled, immutable matcher shared by threads (match.c).
 * The intel detector (detect/intel.c) matches every artifact of a message.
 */
#ifndef VIGIL_INTEL_H
#define VIGIL_INTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "message.h"
#include "util/arena.h"

typedef enum vigil_ioc_type {
	VIGIL_IOC_DOMAIN = 1, /* matches the domain and its sub-domains */
	VIGIL_IOC_URL,        /* matches the URL, and URLs it is a prefix of */
	VIGIL_IOC_EMAIL,      /* case-insensitive */
	VIGIL_IOC_IPV4,       /* address or CIDR range ("192.0.2.0/24") */
	VIGIL_IOC_IPV6,       /* address or CIDR range */
	VIGIL_IOC_MD5,
	VIGIL_IOC_SHA1,
	VIGIL_IOC_SHA256,
} vigil_ioc_type;

/* One indicator, normalised: domains lower-case A-labels without trailing
 * dot; URLs as libcurl normalises them; e-mail addresses lower-case; IPs in
 * canonical text (CIDR kept as "addr/len"); hashes lower-case hex. */
typedef struct vigil_indicator {
	vigil_ioc_type type;
	const char *value;
	const char *source;      /* the feed's file path */
	const char *source_id;   /* STIX indicator id, MISP attribute uuid, or "line N" */
	const char *name;        /* STIX name / MISP comment, or NULL */
	const char *actor;       /* threat actor / MISP galaxy / STIX labels, or NULL */
	const char *labels;      /* comma-separated labels/tags, or NULL */
	int64_t valid_from;      /* seconds since the epoch, or VIGIL_NO_TIME */
	int64_t valid_until;     /* or VIGIL_NO_TIME */
} vigil_indicator;

/* A growable set of indicators with its own arena. Not thread-safe while it
 * is being filled. */
typedef struct vigil_intel_set {
	vigil_arena *arena;
	VIGIL_VEC(vigil_indicator) items;
} vigil_intel_set;

vigil_intel_set *intel__set_new(void);
void intel__set_free(vigil_intel_set *set);
/* Copies `ind` (strings included) into the set after normalising its value;
 * returns 0, VIGIL_EPARSE when the value is not a valid indicator of its
 * type (*why says what), or VIGIL_ENOMEM. Duplicates (type + value + source)
 * are kept once. */
int intel__set_add(vigil_intel_set *set, const vigil_indicator *ind, const char **why);
/* Name of a type: "domain", "url", "email", "ipv4", "ipv6", "md5", "sha1",
 * "sha256". */
const char *intel__type_name(vigil_ioc_type t);

/* ---- feeds (feeds.c) ---------------------------------------------------- */

/* vigil_feed_format is public: include/vigil/vigil.h. */

/* Called for each skipped object/expression (unsupported pattern, ...), with
 * a message naming it. */
typedef void (*intel__warn_fn)(void *ud, const char *message);

/* Reads one feed into `set`. All or nothing: on any error the set is left as
 * it was. Returns 0, VIGIL_EIO (cannot read), VIGIL_EPARSE (malformed: `err`
 * holds "FILE:LINE: reason" or "FILE: object ID: reason"), VIGIL_ENOMEM.
 * *skipped counts what was skipped with a warning. */
int intel__load_feed(vigil_intel_set *set, const char *path, vigil_feed_format format,
	intel__warn_fn warn, void *warn_ud, size_t *skipped, char *err, size_t err_size);

/* ---- matching (match.c) ------------------------------------------------- */

/* Compiled once from a set, then read-only and shared by all threads; the
 * cost of matching does not grow with the number of indicators. */
typedef struct vigil_intel_matcher vigil_intel_matcher;

/* The set must outlive the matcher. Returns 0, VIGIL_ENOMEM or VIGIL_ELIMIT
 * (more indicators than 32-bit indices hold); err says why. */
int intel__compile(vigil_intel_matcher **out, const vigil_intel_set *set, char *err,
	size_t err_size);
void intel__matcher_free(vigil_intel_matcher *m);
size_t intel__matcher_count(const vigil_intel_matcher *m);

/* Per-thread scratch for matching (buffers, what was reported); one scratch
 * serves any matcher. */
typedef struct vigil_intel_scratch vigil_intel_scratch;
int intel__scratch_new(vigil_intel_scratch **out, const vigil_intel_matcher *m);
void intel__scratch_free(vigil_intel_scratch *s);

/* Calls `hit` for each indicator matching an artifact of `msg` (sender,
 * Reply-To, Return-Path, Sender addresses and domains, Received host names
 * and IPs, URL hosts (domains and literal IPs) and URLs, attachment hashes,
 * Message-ID domain). `artifact` names the artifact kind ("from", "url",
 * "received", "attachment", ...), `value` its value. With `respect_validity`
 * an indicator whose validity window does not contain the message's date is
 * not reported. Returns 0 or VIGIL_ENOMEM. */
typedef int (*intel__hit_fn)(void *ud, const vigil_indicator *ind, const char *artifact,
	const char *value);
int intel__match_message(const vigil_intel_matcher *m, vigil_intel_scratch *s,
	const vigil_message *msg, bool respect_validity, intel__hit_fn hit, void *ud);

/* Whether any artifact already on `msg` matches (it stops at the first):
 * 1, 0, or VIGIL_ENOMEM. A hunt asks this after the header fields, before
 * the bodies, to know whether the message is a hit anyway. */
int intel__match_any(const vigil_intel_matcher *m, vigil_intel_scratch *s,
	const vigil_message *msg, bool respect_validity);

/* ---- the hunt prefilter (prefilter.c) --------------------------------- */

/* A necessary condition for a body part's URLs to match an indicator,
 * checked on the part's decoded text so that a hunt can skip extracting the
 * URLs of parts that cannot match (see prefilter.c for why it holds).
 * Compiled from the same set as the matcher, owned by the matcher, and
 * read-only once compiled except for a cache it fills atomically. */
typedef struct vigil_intel_prefilter vigil_intel_prefilter;
typedef struct vigil_intel_prefilter_scratch vigil_intel_prefilter_scratch;

/* Returns 0 or VIGIL_ENOMEM (`err` is unused: kept for the day a compiler
 * can refuse a set). */
int intel__prefilter_compile(vigil_intel_prefilter **out, const vigil_intel_set *set, char *err,
	size_t err_size);
void intel__prefilter_free(vigil_intel_prefilter *pf);
void intel__prefilter_scratch_free(vigil_intel_prefilter_scratch *s);
/* Whether the URLs of this decoded part (HTML when `html`) may match: 1
 * (they may, or it cannot tell), 0 (they cannot), or VIGIL_ENOMEM. *s is
 * the thread's scratch, made on first use. */
int intel__prefilter_part(const vigil_intel_prefilter *pf, vigil_intel_prefilter_scratch **s,
	const char *text, size_t len, bool html);
/* The IP indicators the prefilter tells addresses in text by: the matcher's,
 * set when it takes the prefilter over. */
struct vigil_netset;
void intel__prefilter_use_nets(vigil_intel_prefilter *pf, const struct vigil_netset *nets);
/* The matcher's prefilter (taking ownership), and the scratch's. */
void intel__matcher_set_prefilter(vigil_intel_matcher *m, vigil_intel_prefilter *pf);
const vigil_intel_prefilter *intel__matcher_prefilter(const vigil_intel_matcher *m);
vigil_intel_prefilter_scratch **intel__scratch_prefilter(vigil_intel_scratch *s);

/* ---- the context's intel (ctx_intel.c) -------------------------------- */

struct vigil_ctx;
/* Compiles the indicators loaded into ctx (vigil_ctx_load_intel) into
 * ctx->intel. Called by vigil_ctx_ready(). Returns 0 or an error with the
 * detail in ctx->err. */
int intel__ready(struct vigil_ctx *ctx);

#endif /* VIGIL_INTEL_H */
