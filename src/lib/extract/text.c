/* STUB: URLs in text bodies and header fields (being written). */
#include "extract/extract.h"
int text__extract(vigil_message *msg, vigil_scanner *sc, const char *text, size_t len, int part, int nested)
{
	return 0;
}
int header__extract_urls(vigil_message *msg, vigil_scanner *sc, const char *name, const char *value, int nested)
{
	return 0;
}
