/*
 * A small non-cryptographic hash for the direct-mapped memos (hosts in
 * extract/url.c, registrable domains in ctx.c): FNV-1a, 32 bits, with its
 * high bits folded in, as those tables index with the low ones.
 */
#ifndef VIGIL_HASH_H
#define VIGIL_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t hash__memo(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h ^ h >> 16;
}

#endif
