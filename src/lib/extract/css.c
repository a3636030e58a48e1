/* STUB: CSS reader (being written). */
#include "extract/css.h"
void css__declarations(const char *style, size_t len, css__decl_fn fn, void *ud) {}
void css__urls(const char *css, size_t len, css__url_fn fn, void *ud) {}
int css__length_px(const char *value, size_t len) { return -1; }
