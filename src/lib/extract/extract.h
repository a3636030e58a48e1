/*
 * The extractors: each turns one kind of message content into artifacts on the
 * message model. Shared between the MIME walk (mime/parse.c) and the tests.
 * All return 0, or VIGIL_ENOMEM; malformed input is never an error here (what
 * can be read is kept, and the message may be marked partial).
 */
#ifndef VIGIL_EXTRACT_H
#define VIGIL_EXTRACT_H

#include <stddef.h>

#include "message.h"
#include "scanner.h"

/* ---- headers (identity.c, received.c, authres.c) -------------------- */

/* Parses one unfolded Received field value into `out` (zeroed by caller).
 * Unknown shapes keep `raw` and whatever parts could be recognised. */
int received__parse(vigil_received *out, vigil_arena *a, const char *value);

/* Parses one Authentication-Results field value (RFC 8601) and appends one
 * vigil_auth_result per resinfo to `out`. A field that does not parse adds
 * nothing. An ARC-Authentication-Results value ("i=N; authserv-id; ...") is
 * accepted too: N goes to `instance`. Once `out` holds
 * VIGIL_MAX_AUTH_RESULTS, further results are dropped (the caller may mark
 * the message partial when out->len reaches it). */
int authres__parse(vigil_auth_vec *out, vigil_arena *a, const char *value,
	int header_index, int nested);

/* Parses a date as mail writes it (RFC 5322 and common deviations) into
 * seconds since the epoch; VIGIL_NO_TIME when it cannot. */
int64_t date__parse(const char *value);

/* Lower-cased IDNA A-label of a domain written in UTF-8 or ASCII, in the
 * arena; NULL when it is not a valid domain. */
const char *domain__to_ascii(vigil_arena *a, const char *domain);

/* ---- URLs (url.c) ----------------------------------------------------- */

/* Fills the normalised fields of `u` (url, scheme, host, host_unicode,
 * domain, path, query, fragment) from `u->raw`, then appends a copy to
 * msg->urls. Context fields (origin, element, ...) are taken from `u` as
 * given. Past VIGIL_MAX_URLS the message is marked partial and the URL
 * dropped. */
int url__add(vigil_message *msg, vigil_scanner *sc, const vigil_url *u);

/* Normalises a URL found outside a message (a proxy log line) the way
 * url__add() does, into `out` (zeroed first; strings in `a`). A relative or
 * unparseable URL keeps only `raw`. Returns 0 or VIGIL_ENOMEM. */
int url__parse(vigil_url *out, vigil_arena *a, const psl_ctx_t *psl, const char *raw);

/* Host named by a piece of visible text ("www.bank.com", "https://x.org/a"),
 * lower case A-label, or NULL when the text does not look like a URL or a
 * host name. */
const char *url__host_in_text(vigil_arena *a, const char *text);
/* The same without asking the host's top-level domain to be a public
 * suffix ("intranet.parliament.example", "portal.corp"): for callers that
 * then check the host against names they know. */
const char *url__host_in_text_any_tld(vigil_arena *a, const char *text);

/* ---- bodies (html.c, css.c, text.c) ---------------------------------- */

/* Extracts every URL of an HTML body (gumbo), with element/attribute context,
 * declared size, visibility and link text. */
int html__extract(vigil_message *msg, vigil_scanner *sc, const char *html, size_t len,
	int part, int nested);

/* Extracts URLs written in a plain-text body. */
int text__extract(vigil_message *msg, vigil_scanner *sc, const char *text, size_t len,
	int part, int nested);

/* Extracts URLs from a header field holding <URL> lists (List-Unsubscribe,
 * List-Post, ...). */
int header__extract_urls(vigil_message *msg, vigil_scanner *sc, const char *name,
	const char *value, int nested);

/* ---- attachments (attachment.c) -------------------------------------- */

/* Hashes and sniffs one decoded attachment and appends it to msg->attachments. */
int attachment__add(vigil_message *msg, vigil_scanner *sc, const vigil_attachment *proto,
	const unsigned char *data, size_t len);

#endif /* VIGIL_EXTRACT_H */
