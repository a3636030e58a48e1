/* STUB: HTML URL extraction (being written). */
#include "extract/extract.h"
int html__extract(vigil_message *msg, vigil_scanner *sc, const char *html, size_t len, int part, int nested)
{
	return 0;
}
