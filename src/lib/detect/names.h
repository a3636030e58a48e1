/*
 * Private to the impersonation detector: names as words to compare (names.c)
 * and domain labels as strings to compare (lookalike.c).
 */
#ifndef VIGIL_DETECT_NAMES_H
#define VIGIL_DETECT_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"

/* Longest name (bytes) looked at; display names past it are cut. A real
 * display name is under 100 bytes; 512 keeps a hostile one cheap. */
#define NAMES_MAX_INPUT 512
/* Words kept per name: the claim is in the first few. */
#define NAMES_MAX_TOKENS 32

/* Splits a name into words to compare: compatibility-decomposed (NFKD),
 * accents and other combining marks removed, case folded, a few letters that
 * do not decompose written as ASCII (ø, æ, œ, ł, đ, þ, ı). Letters and digits
 * make words; anything else separates them, and with `digits_separate` digits
 * do too (for the local part of an address: "lemonde2021"). Writes up to
 * `max` words into `out` (arena strings, UTF-8) and returns their number;
 * -1 when out of memory. */
int names__tokens(const char **out, size_t max, vigil_arena *a, const char *s,
	bool digits_separate);

/* Lower-cased ASCII label folded so that letters that look alike compare
 * equal: 0->o, 1/i->l, 3->e, 4->a, 5->s, 7->t, "rn"->m, "vv"->w, "cl"->d,
 * hyphens removed, doubled letters made single. Writes at most `size` bytes
 * (NUL included) to `out`; returns the length. */
size_t lookalike__fold(char *out, size_t size, const char *label, size_t len);

/* Optimal-string-alignment (Damerau) distance of two strings, where one swap
 * of neighbouring letters counts 1; any value above `max` is returned as
 * max + 1 (the computation stops early). */
int lookalike__distance(const char *a, size_t la, const char *b, size_t lb, int max);

/* Calls `fn` with every string made of `s` minus up to `max` (0, 1 or 2) of
 * its letters (each may come more than once), for an index that finds
 * strings within a small edit distance by hashing instead of comparing with
 * every entry (the "symmetric delete" method: two strings within distance d
 * share a variant with at most d letters deleted from each). Stops and
 * returns the first non-zero value `fn` returns; 0 otherwise. `len` must be
 * below 64. */
int lookalike__deletes(const char *s, size_t len, int max,
	int (*fn)(const char *v, size_t n, void *u), void *u);

#endif /* VIGIL_DETECT_NAMES_H */
