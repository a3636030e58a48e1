/*
 * What the intel files share among themselves and nobody else: the feed
 * limits, the loading context each format parser writes into, and the
 * helpers that report skips and errors the same way for every format.
 */
#ifndef VIGIL_INTEL_PRIVATE_H
#define VIGIL_INTEL_PRIVATE_H

#include <jansson.h>
#include <libpsl.h>
#include <stdarg.h>

#include "vigil_limits.h"
#include "intel/intel.h"
#include "vigil/vigil.h"

/* These caps belong with the others in vigil_limits.h; they live here until that
 * header's owner takes them. */

/* Bytes of one feed file. The largest public MISP and STIX exports run to
 * tens of MB; 512 MiB bounds what a wrong path (a disk image) can cost. */
#define VIGIL_MAX_FEED_BYTES (512u * 1024 * 1024)

/* Bytes of one STIX pattern. Real patterns are one comparison, rarely a few
 * hundred ORed; 1 MiB keeps those and bounds the parser's work. */
#define VIGIL_MAX_STIX_PATTERN_BYTES (1024u * 1024)

/* Parenthesis and bracket nesting in a STIX pattern: the parser recurses,
 * and no real pattern nests past a handful. */
#define VIGIL_MAX_STIX_PATTERN_DEPTH 64

/* Indicators in one set: a national CERT's whole MISP holds a few million
 * attributes; 16 million keeps the dedup index's 32-bit slots far from full. */
#define VIGIL_MAX_INDICATORS (16u * 1024 * 1024)

/* Events read from one MISP feed folder (the CIRCL OSINT feed has ~2,000). */
#define VIGIL_MAX_MISP_FEED_EVENTS 1000000

/* Warnings passed to the caller per feed; the rest are only counted (a MISP
 * event of file objects skips thousands of "size-in-bytes" attributes). */
#define VIGIL_MAX_FEED_WARNINGS 200

/* The state of one intel__load_feed() call. */
typedef struct intel_feed {
	vigil_intel_set *set; /* the temporary set being filled */
	const char *path;     /* source of the indicators being added */
	intel__warn_fn warn;
	void *warn_ud;
	size_t skipped, warned;
	char *err;
	size_t err_size;
} intel_feed;

/* Reports one skipped item (counted; passed on while under the cap). */
void intel__feed_warn(intel_feed *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes the error message and returns `code`. */
int intel__feed_error(intel_feed *f, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds `ind` (source filled in); a value the set refuses is skipped with a
 * warning naming `what` (the indicator id, attribute uuid or line). Returns 0,
 * VIGIL_ENOMEM or VIGIL_ELIMIT (error message written). */
int intel__feed_add(intel_feed *f, vigil_indicator *ind);

/* The public suffix list: psl_latest() once per process, else the built-in
 * list. Never freed. NULL only when libpsl has no list at all. */
const psl_ctx_t *intel__psl(void);

/* RFC 3339 timestamp ("2021-01-01T00:00:00Z", fractions and offsets too) to
 * seconds since the epoch; 0 on success, -1 when it is not one. */
int intel__rfc3339(const char *s, int64_t *out);

/* Appends every indicator of `src` (already normalised) to `dst`, skipping
 * duplicates. `src` may be emptied (its memory moved). Returns 0, VIGIL_ENOMEM
 * (dst unchanged) or VIGIL_ELIMIT. */
int intel__set_merge(vigil_intel_set *dst, vigil_intel_set *src);

/* Format parsers. Each returns 0, VIGIL_EPARSE / VIGIL_EIO / VIGIL_ELIMIT
 * (message written) or VIGIL_ENOMEM. */
int intel__stix_json(intel_feed *f, json_t *root);
/* A STIX bundle read object by object from its text, without building the
 * whole tree. Returns 0, an error, or 1 when the text is not a bundle it can
 * stream (the caller then parses the whole document). */
int intel__stix_bundle_stream(intel_feed *f, const char *buf, size_t len);
int intel__stix_jsonl(intel_feed *f, const char *buf, size_t len);
int intel__misp_json(intel_feed *f, json_t *root);
int intel__misp_folder(intel_feed *f, const char *dir);
int intel__freetext(intel_feed *f, const char *buf, size_t len);

/* Reads a whole file (NUL-terminated, at most VIGIL_MAX_FEED_BYTES) into a
 * malloc'd buffer. Returns 0, VIGIL_EIO, VIGIL_ELIMIT (message written) or
 * VIGIL_ENOMEM. */
int intel__read_file(intel_feed *f, const char *path, char **out, size_t *len);

/* Is this JSON object shaped like a MISP event, or a wrapper of some? */
bool intel__looks_misp(json_t *root);

#endif /* VIGIL_INTEL_PRIVATE_H */
