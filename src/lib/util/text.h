/*
 * Line breaks as HTML's and most text formats' readers see them: "\r\n" and
 * a lone "\r" are each one "\n" (gumbo does this to what it parses; notify
 * templates edited on Windows need it too).
 */
#ifndef VIGIL_TEXT_H
#define VIGIL_TEXT_H

#include <stddef.h>

/* Writes src[0..len) to dst (room for len bytes) with its line breaks made
 * "\n"; returns the length written (no terminator added). */
static inline size_t text__lf_breaks(char *dst, const char *src, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		if (src[i] != '\r')
			dst[n++] = src[i];
		else if (i + 1 >= len || src[i + 1] != '\n')
			dst[n++] = '\n';
	}
	return n;
}

#endif
