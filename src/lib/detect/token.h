/*
 * The token detector's memory across messages: URL templates a scanner has
 * seen, each with the tokens it carried and to whom. Bounded; least recently
 * used templates are dropped first. Private to detect/ (and its tests).
 */
#ifndef VIGIL_DETECT_TOKEN_H
#define VIGIL_DETECT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Templates kept per correlator. An entry takes ~100 bytes (the template and
 * tokens are kept as 64-bit hashes), so the cap bounds the index near
 * 13 MiB, whatever the archive's size. A campaign's template is touched by
 * each of its messages, so LRU keeps it while one-off templates (article
 * links, per-issue images) age out; 131,072 templates is several months of a
 * busy mailbox's distinct newsletter and tracker templates. */
#define TOKEN_INDEX_CAP 131072

typedef struct token_index token_index;

/* NULL when out of memory. cap > 0. */
token_index *token__index_new(size_t cap);
void token__index_free(token_index *ix);
size_t token__index_len(const token_index *ix);
bool token__index_contains(const token_index *ix, uint64_t tmpl);

/* Records that template `tmpl` carried token `tok` to recipient `rcpt` (all
 * hashes). *out is how many other recipients the template carried other
 * tokens to (0 for a new template), or -1 when the template is known to carry
 * one token to several recipients (a campaign or list id, not a recipient
 * token). Returns 0 or VIGIL_ENOMEM. */
int token__index_observe(int *out, token_index *ix, uint64_t tmpl, uint64_t tok, uint64_t rcpt);

/* The cross-message check of one message against `ix`, and its findings
 * (token.unique-per-recipient). The correlator (correlate.c) runs it on every
 * message in archive order, so the result does not depend on how many
 * threads scanned. Returns 0 or VIGIL_ENOMEM. */
struct vigil_message;
struct vigil_ctx;
int token__observe_message(struct vigil_message *msg, const struct vigil_ctx *ctx,
	token_index *ix);

/* The URL's template (its token-shaped components replaced by "{t}", other
 * numbers by '#', non-token query values by '*') and its token (the
 * replaced components joined by '|'), for campaigns and log matching.
 * Returns false when the URL carries no token or a buffer was too small;
 * the buffers then hold no meaningful text. */
struct vigil_url;
bool token__url_template(char *tmpl, size_t tmpl_size, char *tok, size_t tok_size,
	const struct vigil_url *u);

/* A scanner's needles (the encodings of its recipients' addresses, looked
 * for in URLs), by address; made by detect__token(). NULL ok. */
typedef struct token_cache token_cache;
void token__cache_free(token_cache *c);

/* 64-bit hash of bytes (FNV-1a with a final mix), for the keys above. */
uint64_t token__hash(const void *data, size_t n, uint64_t seed);

/* Whether a URL component looks like an identifier rather than a word, a
 * number or a date: 8 or more characters of an identifier alphabet, with
 * letters and digits (or both letter cases) interleaved. A file extension
 * (".gif") and base64 padding are ignored. */
bool token__shaped(const char *s, size_t n);

#endif /* VIGIL_DETECT_TOKEN_H */
