/*
 * Domain labels as strings to compare, for the impersonation detector:
 * folding letters that look alike, a bounded Damerau distance, and the
 * deletion variants that let a hash table find near matches. ASCII only:
 * Unicode look-alikes are reduced to ASCII by uspoof skeletons first.
 */
#include <string.h>

#include "detect/names.h"

size_t lookalike__fold(char *out, size_t size, const char *label, size_t len)
{
	if (size == 0)
		return 0;
	/* Pass 1: lower case, digits that pass for letters, 'i' as 'l' (an
	 * uppercase I and a lowercase l are the same stroke in most fonts). */
	char tmp[256];
	size_t n = 0;
	for (size_t i = 0; i < len && n < sizeof(tmp); i++) {
		char c = label[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		switch (c) {
		case '0': c = 'o'; break;
		case '1': case 'i': case '|': c = 'l'; break;
		case '3': c = 'e'; break;
		case '4': c = 'a'; break;
		case '5': c = 's'; break;
		case '7': c = 't'; break;
		case '-': case '_': continue; /* "le-monde" reads as "lemonde" */
		}
		tmp[n++] = c;
	}
	/* Pass 2: pairs that read as one letter, then doubled letters. */
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < size; i++) {
		char c = tmp[i];
		if (i + 1 < n) {
			char d = tmp[i + 1];
			if (c == 'r' && d == 'n')
				c = 'm', i++;
			else if (c == 'v' && d == 'v')
				c = 'w', i++;
			else if (c == 'c' && d == 'l')
				c = 'd', i++;
		}
		if (o > 0 && out[o - 1] == c)
			continue;
		out[o++] = c;
	}
	out[o] = '\0';
	return o;
}

int lookalike__distance(const char *a, size_t la, const char *b, size_t lb, int max)
{
	if (la > 63 || lb > 63)
		return max + 1;
	int diff = la > lb ? (int)(la - lb) : (int)(lb - la);
	if (diff > max)
		return max + 1;
	/* Three rows of the dynamic programme: the swap looks two rows back. */
	int rows[3][64];
	int *pp = rows[0], *p = rows[1], *c = rows[2];
	for (size_t j = 0; j <= lb; j++)
		p[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		c[0] = (int)i;
		int best = c[0];
		for (size_t j = 1; j <= lb; j++) {
			int cost = a[i - 1] == b[j - 1] ? 0 : 1;
			int v = p[j] + 1;
			if (c[j - 1] + 1 < v)
				v = c[j - 1] + 1;
			if (p[j - 1] + cost < v)
				v = p[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
				pp[j - 2] + 1 < v)
				v = pp[j - 2] + 1;
			c[j] = v;
			if (v < best)
				best = v;
		}
		if (best > max)
			return max + 1;
		int *t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[lb] > max ? max + 1 : p[lb];
}

int lookalike__deletes(const char *s, size_t len, int max,
	int (*fn)(const char *v, size_t n, void *u), void *u)
{
	if (len >= 64)
		return 0;
	char v[64];
	int rc = fn(s, len, u);
	for (size_t i = 0; rc == 0 && max > 0 && i < len; i++) {
		memcpy(v, s, i);
		memcpy(v + i, s + i + 1, len - i - 1);
		rc = fn(v, len - 1, u);
		/* Second deletion at j > i only: (i, j) and (j, i) give the same. */
		for (size_t j = i; rc == 0 && max > 1 && j + 1 < len; j++) {
			char w[64];
			memcpy(w, v, j);
			memcpy(w + j, v + j + 1, len - 1 - j - 1);
			rc = fn(w, len - 2, u);
		}
	}
	return rc;
}
