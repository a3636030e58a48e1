/*
 * Names as words to compare, for the impersonation detector: "Le Monde",
 * "LE MONDE", "Lé Mönde" and "le-monde" all give the words "le", "monde".
 * Uses ICU for decomposition and case folding; it does not transliterate
 * other scripts (homoglyphs are the business of lookalike.c and uspoof).
 */
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "detect/names.h"

/* Letters that neither decompose under NFKD nor fold to ASCII, written as
 * people type them on an ASCII keyboard; NULL when the code point has no such
 * spelling. */
static const char *ascii_spelling(UChar32 c)
{
	switch (c) {
	case 0x00F8: return "o";  /* ø */
	case 0x00E6: return "ae"; /* æ */
	case 0x0153: return "oe"; /* œ */
	case 0x0142: return "l";  /* ł */
	case 0x0111: return "d";  /* đ */
	case 0x00F0: return "d";  /* ð */
	case 0x00FE: return "th"; /* þ */
	case 0x0131: return "i";  /* dotless ı */
	}
	return NULL;
}

/* Appends the current word to `out`. Returns 0, or -1 when out of memory. */
static int flush(const char **out, size_t max, size_t *n, vigil_arena *a, char *word,
	size_t *wlen)
{
	if (*wlen == 0)
		return 0;
	if (*n < max) {
		char *w = vigil_arena_strndup(a, word, *wlen);
		if (!w)
			return -1;
		out[(*n)++] = w;
	}
	*wlen = 0;
	return 0;
}

int names__tokens(const char **out, size_t max, vigil_arena *a, const char *s,
	bool digits_separate)
{
	if (!s || !*s || max == 0)
		return 0;
	size_t slen = strnlen(s, NAMES_MAX_INPUT);

	UErrorCode st = U_ZERO_ERROR;
	UChar src[NAMES_MAX_INPUT + 1];
	int32_t srclen = 0;
	/* Invalid UTF-8 becomes U+FFFD, a separator: a broken byte must not
	 * join two words into one. */
	u_strFromUTF8WithSub(src, NAMES_MAX_INPUT, &srclen, s, (int32_t)slen, 0xFFFD, NULL, &st);
	if (U_FAILURE(st) && st != U_BUFFER_OVERFLOW_ERROR)
		return 0;
	if (srclen > NAMES_MAX_INPUT)
		srclen = NAMES_MAX_INPUT;

	/* Case folding first: it may produce text that NFKD then decomposes
	 * (the fold of "ẞ" is "ss"; of "İ", "i" and a dot above). NFKD can grow a
	 * string up to 18 times in theory; 4 times covers every Latin letter and
	 * a longer result is cut, which only loses the end of a hostile name. */
	UChar folded[NAMES_MAX_INPUT * 3];
	st = U_ZERO_ERROR;
	int32_t flen = u_strFoldCase(folded, (int32_t)(sizeof(folded) / sizeof(*folded)), src,
		srclen, U_FOLD_CASE_DEFAULT, &st);
	if (U_FAILURE(st) && st != U_BUFFER_OVERFLOW_ERROR)
		return 0;
	if (flen > (int32_t)(sizeof(folded) / sizeof(*folded)))
		flen = (int32_t)(sizeof(folded) / sizeof(*folded));

	const UNormalizer2 *nfkd = NULL;
	st = U_ZERO_ERROR;
	nfkd = unorm2_getNFKDInstance(&st);
	if (U_FAILURE(st) || !nfkd)
		return 0;
	UChar norm[NAMES_MAX_INPUT * 4];
	st = U_ZERO_ERROR;
	int32_t nlen = unorm2_normalize(nfkd, folded, flen, norm,
		(int32_t)(sizeof(norm) / sizeof(*norm)), &st);
	if (st == U_BUFFER_OVERFLOW_ERROR) {
		/* Cut: normalise a shorter prefix instead. */
		st = U_ZERO_ERROR;
		nlen = unorm2_normalize(nfkd, folded, flen / 4, norm,
			(int32_t)(sizeof(norm) / sizeof(*norm)), &st);
	}
	if (U_FAILURE(st))
		return 0;

	size_t n = 0;
	char word[NAMES_MAX_INPUT * 4];
	size_t wlen = 0;
	for (int32_t i = 0; i < nlen;) {
		UChar32 c;
		U16_NEXT(norm, i, nlen, c);
		int8_t type = u_charType(c);
		if (type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
			type == U_COMBINING_SPACING_MARK)
			continue; /* the accents NFKD split off */
		const char *spelling = ascii_spelling(c);
		bool keep = spelling || u_isalpha(c) || (u_isdigit(c) && !digits_separate);
		if (!keep) {
			if (flush(out, max, &n, a, word, &wlen) != 0)
				return -1;
			continue;
		}
		if (wlen + 8 >= sizeof(word))
			continue; /* a word longer than any name: its end is dropped */
		if (spelling) {
			size_t sl = strlen(spelling);
			memcpy(word + wlen, spelling, sl);
			wlen += sl;
		} else {
			UBool err = false;
			U8_APPEND((uint8_t *)word, wlen, sizeof(word), c, err);
			(void)err;
		}
	}
	if (flush(out, max, &n, a, word, &wlen) != 0)
		return -1;
	return (int)n;
}
