/*
 * A small CSS reader for what mail needs: inline declarations
 * ("display:none; width:1px") and url() references in style sheets. It does
 * not cascade and does not implement selectors.
 */
#ifndef VIGIL_CSS_H
#define VIGIL_CSS_H

#include <stddef.h>

/* Calls `fn` for each "property: value" declaration of an inline style, with
 * the property lower-cased and both trimmed (not NUL-terminated: lengths
 * given). Comments are skipped, !important is stripped from the value. */
typedef void (*css__decl_fn)(void *ud, const char *prop, size_t prop_len,
	const char *value, size_t value_len);
void css__declarations(const char *style, size_t len, css__decl_fn fn, void *ud);

/* Calls `fn` for each url(...) reference (quotes and escapes removed) and for
 * each @import "..." in a style sheet or declaration list. */
typedef void (*css__url_fn)(void *ud, const char *url, size_t url_len);
void css__urls(const char *css, size_t len, css__url_fn fn, void *ud);

/* Parses a CSS length ("0", "1px", "2", "0.5pt", "0em") into CSS px,
 * rounded; -1 when it is not an absolute length (%, auto, ...). */
int css__length_px(const char *value, size_t len);

#endif /* VIGIL_CSS_H */
