/*
 * What the body extractors (html.c, text.c) share with url.c beyond
 * extract.h. Private to src/lib/extract/.
 */
#ifndef VIGIL_HTML_INTERNAL_H
#define VIGIL_HTML_INTERNAL_H

#include "extract/extract.h"

/* Like url__add(), but a relative u->raw is resolved against `base` (an
 * absolute URL, the document's <base href>) when base is not NULL. `raw`
 * stays as found; `url`, `host`, ... describe the resolved URL. Returns 0 or
 * VIGIL_ENOMEM. */
int url__add_base(vigil_message *msg, vigil_scanner *sc, const vigil_url *u,
	const char *base);

/* Is `s` (n bytes) an absolute URL with a host we can resolve against
 * ("https://x/...")? Used to accept a <base href>. */
int url__is_absolute(const char *s, size_t n);

#endif /* VIGIL_HTML_INTERNAL_H */
