/*
 * The hunt prefilter: a necessary condition, checked on each decoded body
 * part, for a URL extracted from that part to match an indicator. When it
 * does not hold, a hunt skips the part's URL extraction (gumbo, libcurl):
 * the part cannot add an intel hit through a URL. It extracts and reports
 * nothing itself, and scans (not hunts) never use it.
 *
 * Why the condition is necessary. A URL of a part hits an indicator only
 * through its host: a domain indicator or one of its parents, the host of a
 * URL indicator, the domain of an e-mail indicator behind mailto:, or an
 * address inside an IP indicator. That host is the part's decoded text
 * changed only by HTML character references (gumbo), tabs and line breaks
 * dropped inside a URL (url.c), CSS escapes and comments (css.c), percent-
 * decoding (libcurl, mailto:), IDNA (libidn2: case folding, compatibility
 * mappings, deleted code points, U-labels to A-labels) and libcurl's other
 * spellings of IPv4 addresses (decimal, hex, octal). So a part's URLs cannot
 * hit when
 *  1. no literal (every domain, URL host and e-mail domain, in its A-label
 *     and U-label spellings), ASCII case ignored, is where a host could end
 *     in the text: at the end of a run of host characters (and non-ASCII
 *     ones, and in HTML tabs and line breaks, which url.c drops), or before
 *     a tab or line break inside one, trailing dots left out; and starting
 *     where a host or one of its parents could start: the run's start, after
 *     '.', '-', '_', a non-ASCII character or a line break. A URL
 *     indicator's host only counts with the longest run of letters and
 *     digits of its path or query in the text too (libcurl changes neither);
 *  2. nothing in it could build a host out of other text: a character
 *     reference or percent escape that decodes to a host character, a
 *     backslash (a CSS escape) or a CSS comment between two host characters
 *     in HTML, a code point that IDNA maps to ASCII or deletes (or, when some
 *     indicator is an IDN, maps at all);
 *  3. and, when IP indicators (or URL indicators on an address) exist, no
 *     host in it can be an address in one: after "//", "\\", "https:",
 *     "mailto:x@" or "//u@", nothing but a plain dotted quad outside every
 *     range (a decimal, hex or octal spelling, or "[", counts).
 * Everything not proven harmless counts as a possible hit.
 *
 * Literals are found with a hash table, looked up only where a run of text
 * holds a dot. A first version searched them with Hyperscan
 * (hs_compile_lit_multi, case-insensitive): its compile took 5 s for the
 * 70,000 literals of the hunt benchmark (30 s for 8,000 sharing one id),
 * more than the whole import of 100,000 indicators may take.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "intel/intel.h"
#include "vigil/vigil.h"

#include <glib.h> /* before idn2.h, which defines G_GNUC_DEPRECATED when GLib has not */
#include <idn2.h>
#include <unicode/uidna.h>

/* Risk of one code point (cache values; 0 is "not probed yet"). */
/* Risk of one code point, least first (cache values; 0: not probed yet):
 * CP_IDN counts when some literal is an IDN, CP_GONE (deleted) after a
 * character a host can hold, CP_RISKY (mapped to ASCII) next to one. */
enum { CP_UNKNOWN, CP_SAFE, CP_IDN, CP_GONE, CP_RISKY };

/* One literal: lower case, its hash as lit_hash() computes it. */
/* URL indicators on one host beyond which the host alone counts (a
 * shortener's host in a feed of its links). */
#define PF_TOKENS_MAX 16
/* A shorter token than this tells too little to be worth searching. */
#define PF_TOKEN_MIN 3

/* One literal: lower case, its hash as lit_hash() computes it. Unless
 * `any`, it only counts when one of its tokens is in the text too. */
typedef struct pf_lit {
	uint64_t hash;
	const char *s;
	size_t len;
	bool any;
	char **tokens; /* NULL-terminated */
} pf_lit;

struct vigil_intel_prefilter {
	pf_lit *lits;      /* open addressing, empty slots have s == NULL */
	size_t mask;
	size_t n_lits, min_len, max_len;
	uint64_t *bloom;   /* one bit per hash, to skip most table probes */
	size_t bloom_mask; /* in bits */
	bool dotless;      /* some literal has no dot ("http://intranet/") */
	bool ip;           /* IP indicators, or URL indicators on an address */
	bool ip_urls;      /* URL indicators on an address */
	/* By byte, [html]: part of a run literal_in() reads; a byte
	 * text_risky() must look at. Tables, since they run on every byte. */
	uint8_t hostish[2][256];
	uint8_t special[2][256];
	const vigil_netset *nets; /* the matcher's IP indicators */
	bool idn;          /* some literal is an IDN: any IDNA mapping counts */
	UIDNA *uts46;      /* ICU's UTS #46 mapping, for probing code points */
	/* CP_* by code point, filled on first sight by any thread: each writer
	 * stores the same value, so relaxed atomics suffice. */
	_Atomic uint8_t *cp;
};

struct vigil_intel_prefilter_scratch {
	char *buf; /* HTML text without tabs and line breaks */
	size_t cap;
	char *run;      /* one run of host characters, line breaks removed */
	uint8_t *mark;  /* per byte of run: RUN_START, RUN_END */
	size_t run_cap;
};

enum { RUN_START = 1, RUN_END = 2 };

/* ---- code points -------------------------------------------------------- */

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static bool all_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* What may appear in a host name as text shows it. */
static bool is_host_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '.' || c == '_';
}

static bool ascii_decoded_risky(const struct vigil_intel_prefilter *pf, unsigned char c);

/* What a mapping did to the 'a' cp 'a' probe, from its output: CP_GONE
 * when cp went ("aa"), CP_RISKY when it became ASCII that could be part of
 * a host or build one; CP_SAFE for other ASCII (a space: the label is then
 * no name); 0 when it is still non-ASCII. */
static uint8_t mapped_ascii(const struct vigil_intel_prefilter *pf, const char *out)
{
	size_t n = strlen(out);
	if (n < 2 || out[0] != 'a' || out[n - 1] != 'a' || !all_ascii(out))
		return all_ascii(out) ? CP_RISKY : 0;
	if (n == 2)
		return CP_GONE;
	for (size_t i = 1; i + 1 < n; i++)
		if (ascii_decoded_risky(pf, (unsigned char)out[i]))
			return CP_RISKY;
	return CP_SAFE;
}

/* What IDNA does to cp between two letters, asked of the libraries that do
 * it: libidn2 with url.c's flags (non-transitional, then transitional), and
 * ICU's UTS #46 mapping, which also answers for code points that make a
 * label invalid. Deleted, or mapped to ASCII that can be part of a host
 * (fullwidth letters, an ideographic full stop, a soft hyphen), is
 * CP_RISKY; mapped to other Unicode (upper case, compatibility forms), or a
 * mark or conjoining jamo that NFC may compose with its neighbour, is
 * CP_IDN. */
static uint8_t probe(const struct vigil_intel_prefilter *pf, uint32_t cp)
{
	/* Joiners: invalid here (CONTEXTJ), so libidn2 retries transitional,
	 * which deletes them. */
	if (cp == 0x200C || cp == 0x200D)
		return CP_GONE;
	char in[8] = "a";
	size_t n = 1 + utf8_put(in + 1, cp);
	in[n++] = 'a';
	in[n] = '\0';
	uint8_t r = CP_SAFE;
	char *out = NULL;
	int rc = idn2_to_ascii_8z(in, &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		idn2_free(out);
		out = NULL;
		rc = idn2_to_ascii_8z(in, &out, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
	}
	if (rc == IDN2_OK && out) {
		uint8_t m = strncmp(out, "xn--", 4) == 0 ? 0 : mapped_ascii(pf, out);
		if (m) {
			r = m;
		} else if (strchr(out, '.')) {
			r = CP_RISKY;
		} else {
			char *u = NULL;
			if (idn2_to_unicode_8z8z(out, &u, 0) != IDN2_OK || !u || strcmp(u, in) != 0)
				r = CP_IDN;
			idn2_free(u);
		}
	}
	idn2_free(out);
	if (r != CP_RISKY && pf->uts46) {
		char mapped[64];
		UErrorCode err = U_ZERO_ERROR;
		UIDNAInfo info = UIDNA_INFO_INITIALIZER;
		int32_t m = uidna_nameToUnicodeUTF8(pf->uts46, in, (int32_t)n, mapped,
			(int32_t)sizeof(mapped) - 1, &info, &err);
		if (U_FAILURE(err) || m < 0 || m >= (int32_t)sizeof(mapped)) {
			r = CP_RISKY; /* cannot tell */
		} else {
			mapped[m] = '\0';
			uint8_t a = mapped_ascii(pf, mapped);
			if (a > r)
				r = a;
			else if (!a && strcmp(mapped, in) != 0 && r == CP_SAFE &&
				!(info.errors & UIDNA_ERROR_DISALLOWED))
				r = CP_IDN; /* a disallowed one fails IDNA: the host stays as written */
		}
	}
	if (r == CP_SAFE && (g_unichar_ismark(cp) || (cp >= 0x1100 && cp <= 0x11FF) ||
		(cp >= 0xA960 && cp <= 0xA97F) || (cp >= 0xD7B0 && cp <= 0xD7FF)))
		r = CP_IDN;
	return r;
}

/* cp between the bytes `prev` and `next` ('a' when not known): a deleted
 * code point matters only after a character a label can hold (it joins
 * that to what follows, or ends the host earlier than the text does); one
 * mapped to ASCII only next to one (alone it makes a label of its own, and
 * every literal has a dot); a non-ASCII neighbour counts as one, unless
 * after a deletion no literal can be an IDN (the label is then no ASCII
 * name). */
static bool cp_risky(const struct vigil_intel_prefilter *pf, uint32_t cp, unsigned char prev,
	unsigned char next)
{
	if (cp > 0x10FFFF)
		return true;
	uint8_t r = atomic_load_explicit(&pf->cp[cp], memory_order_relaxed);
	if (r == CP_UNKNOWN) {
		r = probe(pf, cp);
		atomic_store_explicit(&pf->cp[cp], r, memory_order_relaxed);
	}
	switch (r) {
	case CP_IDN: return pf->idn;
	case CP_GONE: return is_host_char(prev) || (prev >= 0x80 && pf->idn) || pf->dotless;
	case CP_RISKY:
		return is_host_char(prev) || prev >= 0x80 || is_host_char(next) || next >= 0x80 ||
			pf->dotless;
	default: return false;
	}
}

/* ---- the text ------------------------------------------------------------ */


static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static int hexval(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Whether an ASCII character, decoded from a reference or escape, could be
 * part of a host or build one: host characters, what url.c drops inside a
 * URL (tabs, line breaks), what starts another decoding ('%', '\' and the
 * '/' '*' of a CSS comment; gumbo decodes once, so not '&'), and with IP
 * indicators what makes an authority ('/', ':', '@', '['). */
static bool ascii_decoded_risky(const struct vigil_intel_prefilter *pf, unsigned char c)
{
	return is_host_char(c) || c == '\t' || c == '\n' || c == '\r' || c == '%' || c == '\\' ||
		c == '/' || c == '*' || (pf->ip && (c == ':' || c == '@' || c == '['));
}

static bool decoded_risky(const struct vigil_intel_prefilter *pf, uint32_t cp)
{
	return cp < 0x80 ? ascii_decoded_risky(pf, (unsigned char)cp) : cp_risky(pf, cp, 'a', 'a');
}

/* HTML's legacy references, the ones recognised without ';' (and so also as
 * a prefix of a longer name: "&copy2024"): all decode into Latin-1. */
static const struct {
	const char *name;
	uint16_t cp;
} legacy[] = {
	{"AElig", 198}, {"AMP", 38}, {"Aacute", 193}, {"Acirc", 194}, {"Agrave", 192},
	{"Aring", 197}, {"Atilde", 195}, {"Auml", 196}, {"COPY", 169}, {"Ccedil", 199},
	{"ETH", 208}, {"Eacute", 201}, {"Ecirc", 202}, {"Egrave", 200}, {"Euml", 203},
	{"GT", 62}, {"Iacute", 205}, {"Icirc", 206}, {"Igrave", 204}, {"Iuml", 207}, {"LT", 60},
	{"Ntilde", 209}, {"Oacute", 211}, {"Ocirc", 212}, {"Ograve", 210}, {"Oslash", 216},
	{"Otilde", 213}, {"Ouml", 214}, {"QUOT", 34}, {"REG", 174}, {"THORN", 222},
	{"Uacute", 218}, {"Ucirc", 219}, {"Ugrave", 217}, {"Uuml", 220}, {"Yacute", 221},
	{"aacute", 225}, {"acirc", 226}, {"acute", 180}, {"aelig", 230}, {"agrave", 224},
	{"amp", 38}, {"aring", 229}, {"atilde", 227}, {"auml", 228}, {"brvbar", 166},
	{"ccedil", 231}, {"cedil", 184}, {"cent", 162}, {"copy", 169}, {"curren", 164},
	{"deg", 176}, {"divide", 247}, {"eacute", 233}, {"ecirc", 234}, {"egrave", 232},
	{"eth", 240}, {"euml", 235}, {"frac12", 189}, {"frac14", 188}, {"frac34", 190},
	{"gt", 62}, {"iacute", 237}, {"icirc", 238}, {"iexcl", 161}, {"igrave", 236},
	{"iquest", 191}, {"iuml", 239}, {"laquo", 171}, {"lt", 60}, {"macr", 175},
	{"micro", 181}, {"middot", 183}, {"nbsp", 160}, {"not", 172}, {"ntilde", 241},
	{"oacute", 243}, {"ocirc", 244}, {"ograve", 242}, {"ordf", 170}, {"ordm", 186},
	{"oslash", 248}, {"otilde", 245}, {"ouml", 246}, {"para", 182}, {"plusmn", 177},
	{"pound", 163}, {"quot", 34}, {"raquo", 187}, {"reg", 174}, {"sect", 167},
	{"shy", 173}, {"sup1", 185}, {"sup2", 178}, {"sup3", 179}, {"szlig", 223},
	{"thorn", 254}, {"times", 215}, {"uacute", 250}, {"ucirc", 251}, {"ugrave", 249},
	{"uml", 168}, {"uuml", 252}, {"yacute", 253}, {"yen", 165}, {"yuml", 255},
};

/* Common references that need their ';'. A name in neither table may be any
 * of HTML's two thousand and counts as a possible hit. */
static const struct {
	const char *name;
	uint32_t cp;
} named[] = {
	{"apos", 39}, {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013},
	{"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
	{"sbquo", 0x201A}, {"bdquo", 0x201E}, {"bull", 0x2022}, {"trade", 0x2122},
	{"euro", 0x20AC}, {"zwnj", 0x200C}, {"zwj", 0x200D}, {"lrm", 0x200E},
	{"rlm", 0x200F}, {"thinsp", 0x2009}, {"ensp", 0x2002}, {"emsp", 0x2003},
	{"dagger", 0x2020}, {"Dagger", 0x2021}, {"permil", 0x2030}, {"lsaquo", 0x2039},
	{"rsaquo", 0x203A}, {"oelig", 0x153}, {"OElig", 0x152}, {"scaron", 0x161},
	{"Scaron", 0x160}, {"Yuml", 0x178}, {"circ", 0x2C6}, {"tilde", 0x2DC},
	{"larr", 0x2190}, {"rarr", 0x2192}, {"uarr", 0x2191}, {"darr", 0x2193},
	{"hearts", 0x2665}, {"check", 0x2713}, {"star", 0x2606}, {"nbsp", 0xA0},
};

/* Windows-1252 for numeric references 0x80-0x9F, as HTML decodes them; 0
 * where HTML keeps the C1 control. */
static const uint16_t cp1252[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
	0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
	0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

/* The reference at t[i] == '&': whether what it decodes to is risky. */
static bool reference_risky(const struct vigil_intel_prefilter *pf, const char *t, size_t len, size_t i)
{
	size_t j = i + 1;
	if (j < len && t[j] == '#') {
		j++;
		bool hex = j < len && (t[j] == 'x' || t[j] == 'X');
		if (hex)
			j++;
		uint32_t v = 0;
		size_t digits = 0;
		for (; j < len; j++, digits++) {
			int d = hex ? hexval((unsigned char)t[j]) : is_digit((unsigned char)t[j]) ? t[j] - '0' : -1;
			if (d < 0)
				break;
			if (v <= 0x10FFFF)
				v = v * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (digits == 0)
			return false; /* "&#" alone: text */
		if (v >= 0x80 && v <= 0x9F)
			v = cp1252[v - 0x80] ? cp1252[v - 0x80] : v;
		if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			v = 0xFFFD;
		return decoded_risky(pf, v);
	}
	size_t k = j;
	while (k < len && is_alnum((unsigned char)t[k]))
		k++;
	size_t n = k - j;
	if (n == 0)
		return false;
	bool semi = k < len && t[k] == ';';
	if (semi) {
		for (size_t e = 0; e < sizeof(named) / sizeof(*named); e++)
			if (strlen(named[e].name) == n && memcmp(named[e].name, t + j, n) == 0)
				return decoded_risky(pf, named[e].cp);
		for (size_t e = 0; e < sizeof(legacy) / sizeof(*legacy); e++)
			if (strlen(legacy[e].name) == n && memcmp(legacy[e].name, t + j, n) == 0)
				return decoded_risky(pf, legacy[e].cp);
		return true; /* some other reference, or none: cannot tell */
	}
	/* Without ';' only a legacy name decodes, the longest one that is a
	 * prefix of the run ("&notin" is "¬in"). */
	size_t best = 0;
	uint32_t cp = 0;
	for (size_t e = 0; e < sizeof(legacy) / sizeof(*legacy); e++) {
		size_t ln = strlen(legacy[e].name);
		if (ln <= n && ln > best && memcmp(legacy[e].name, t + j, ln) == 0) {
			best = ln;
			cp = legacy[e].cp;
		}
	}
	return best && decoded_risky(pf, cp);
}

/* A host at t[i] that is a plain dotted quad ("192.0.2.1", no leading
 * zeros, which libcurl reads as octal) and ends there: its length, else 0. */
static size_t plain_quad(const char *t, size_t len, size_t i, char out[16])
{
	size_t j = i, o = 0;
	for (int part = 0; part < 4; part++) {
		if (part) {
			if (j >= len || t[j] != '.')
				return 0;
			out[o++] = t[j++];
		}
		size_t d = 0;
		unsigned v = 0;
		while (j < len && is_digit((unsigned char)t[j]) && d < 4) {
			v = v * 10 + (unsigned)(t[j] - '0');
			out[o++] = t[j++];
			d++;
		}
		if (d == 0 || d > 3 || v > 255 || (d > 1 && t[j - d] == '0'))
			return 0;
	}
	out[o] = '\0';
	/* What ends a host for libcurl and for url.c ("evil" after it would
	 * make it a name, "@" a user name before the real host). */
	if (j < len && !strchr("/?#:\\\"'<>) \f", t[j]))
		return 0;
	return j - i;
}

/* Whether the host that starts after position i (skipping what url.c and
 * browsers skip) may be an address that an indicator holds: an IPv6
 * literal, anything but a plain dotted quad, or a quad that is in one. */
static bool address_follows(const struct vigil_intel_prefilter *pf, const char *t, size_t len,
	size_t i, bool slashes)
{
	for (; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == '\t' || c == '\n' || c == '\r' || (slashes && (c == '/' || c == '\\')))
			continue;
		if (c == '[')
			return true;
		if (!is_digit(c))
			return false;
		char quad[16];
		if (pf->ip_urls || !pf->nets || !plain_quad(t, len, i, quad))
			return true;
		return netset__lookup(pf->nets, quad) != NULL;
	}
	return false;
}

/* Two slashes (or backslashes) at t[i] that may start an authority: the
 * first of their run, not after what continues a path or a base64 payload
 * ("a//1", "AAA///8" in a data: URI). */
static bool authority_slashes(const char *t, size_t len, size_t i)
{
	if (i + 1 >= len || (t[i + 1] != '/' && t[i + 1] != '\\'))
		return false;
	if (i == 0)
		return true;
	unsigned char p = (unsigned char)t[i - 1];
	return !(p == '/' || p == '\\' || is_alnum(p) || p == '+' || p == '-' || p == '.' ||
		p == '_');
}

/* "http:", "https:", "ftp:", "ws:", "wss:" ending at t[i] == ':' (browsers
 * read "https:1.2.3.4" as "https://1.2.3.4"). */
static bool special_scheme_before(const char *t, size_t i)
{
	static const char *const schemes[] = {"https", "http", "ftp", "wss", "ws"};
	for (size_t k = 0; k < sizeof(schemes) / sizeof(*schemes); k++) {
		size_t n = strlen(schemes[k]);
		if (i < n)
			continue;
		size_t s = i - n;
		bool same = true;
		for (size_t q = 0; q < n && same; q++)
			same = (t[s + q] | 0x20) == schemes[k][q];
		if (same && (s == 0 || !(is_alnum((unsigned char)t[s - 1]) || t[s - 1] == '+' ||
			t[s - 1] == '-' || t[s - 1] == '.')))
			return true;
	}
	return false;
}

/* The '@' at t[i] ends the user part of an authority ("//u@1.2.3.4",
 * "//u:p@", "http:/u@", "https:u@") or the local part after "mailto:",
 * rather than a path ("/img/logo@2x.png"), a query ("Sans:wght@400") or
 * bare text. */
static bool at_in_authority(const char *t, size_t i)
{
	for (size_t k = i, steps = 0; k > 0 && steps < 512; k--, steps++) {
		unsigned char c = (unsigned char)t[k - 1];
		if (c == ':') {
			if (special_scheme_before(t, k - 1))
				return true;
			if (k - 1 >= 6 && g_ascii_strncasecmp(t + k - 7, "mailto", 6) == 0)
				return true;
			continue; /* "u:p@", or not an authority: look further */
		}
		if (c == '/' || c == '\\')
			return k >= 2 && (t[k - 2] == '/' || t[k - 2] == '\\' || t[k - 2] == ':');
		if (c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '(' ||
			c == ')' || c == '=' || c == '?' || c == '#' || c == '&' || c == ',' || c == ';')
			return false;
	}
	return true; /* too far to tell */
}

/* The CSS comment at t[i] == '/', t[i + 1] == '*' joins two host
 * characters ("evil/ * * /.com" without the spaces reads "evil.com"). */
static bool comment_joins(const char *t, size_t len, size_t i)
{
	size_t b = i;
	while (b > 0 && (t[b - 1] == ' ' || t[b - 1] == '\f'))
		b--;
	if (b == 0)
		return false;
	unsigned char before = (unsigned char)t[b - 1];
	const char *end = memmem(t + i + 2, len - i - 2, "*/", 2);
	if (!end)
		return false;
	size_t a = (size_t)(end - t) + 2;
	while (a < len && (t[a] == ' ' || t[a] == '\f'))
		a++;
	if (a >= len)
		return false;
	unsigned char after = (unsigned char)t[a];
	bool hb = is_host_char(before) || before >= 0x80 || before == '%' || before == ';';
	bool ha = is_host_char(after) || after >= 0x80 || after == '%' || after == '&' ||
		after == '\\';
	return hb && ha;
}

/* Conditions 2 and 3 over t (HTML already without tabs and line breaks). */
static bool text_risky(const struct vigil_intel_prefilter *pf, const char *t, size_t len, bool html)
{
	const uint8_t *special = pf->special[html];
	for (size_t i = 0; i < len; i++) {
		while (i < len && !special[(unsigned char)t[i]])
			i++;
		if (i == len)
			break;
		unsigned char c = (unsigned char)t[i];
		if (c >= 0x80) {
			/* The text is UTF-8 (parse.c made it so); anything else
			 * cannot be told. */
			uint32_t cp;
			size_t n;
			if (c >= 0xC2 && c <= 0xDF)
				cp = c & 0x1F, n = 2;
			else if (c >= 0xE0 && c <= 0xEF)
				cp = c & 0x0F, n = 3;
			else if (c >= 0xF0 && c <= 0xF4)
				cp = c & 0x07, n = 4;
			else
				return true;
			if (i + n > len)
				return true;
			for (size_t k = 1; k < n; k++) {
				unsigned char d = (unsigned char)t[i + k];
				if ((d & 0xC0) != 0x80)
					return true;
				cp = (cp << 6) | (d & 0x3F);
			}
			if (cp_risky(pf, cp, i ? (unsigned char)t[i - 1] : 0,
				i + n < len ? (unsigned char)t[i + n] : 0))
				return true;
			i += n - 1;
			continue;
		}
		switch (c) {
		case '%': {
			int h = i + 2 < len ? hexval((unsigned char)t[i + 1]) : -1;
			int l = h >= 0 ? hexval((unsigned char)t[i + 2]) : -1;
			if (l < 0)
				break;
			unsigned char b = (unsigned char)(h * 16 + l);
			if (is_host_char(b) || b >= 0x80)
				return true;
			if (pf->ip && (b == '[' || (b == '@' && i + 3 < len &&
				(is_digit((unsigned char)t[i + 3]) || t[i + 3] == '[' || t[i + 3] == '%' ||
					t[i + 3] == '&'))))
				return true;
			break;
		}
		case '&':
			if (html && reference_risky(pf, t, len, i))
				return true;
			break;
		case '\\':
			if (html)
				return true; /* a CSS escape */
			if (pf->ip && authority_slashes(t, len, i) && address_follows(pf, t, len, i + 1, true))
				return true;
			break;
		case '/':
			if (html && i + 1 < len && t[i + 1] == '*' && comment_joins(t, len, i))
				return true;
			if (pf->ip && authority_slashes(t, len, i) && address_follows(pf, t, len, i + 1, true))
				return true;
			break;
		case ':':
			if (pf->ip && special_scheme_before(t, i) && address_follows(pf, t, len, i + 1, true))
				return true;
			break;
		case '@':
			if (pf->ip && address_follows(pf, t, len, i + 1, false) && at_in_authority(t, i))
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

/* ---- literals ----------------------------------------------------------- */

/* FNV-1a over the lower-cased bytes read from the end backwards, so that a
 * run's suffixes hash as a walk from its end goes. */
static uint64_t lit_step(uint64_t h, unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		c += 32;
	return (h ^ c) * 0x100000001b3ULL;
}

static uint64_t lit_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

#define LIT_SEED 0xcbf29ce484222325ULL

static uint64_t lit_hash(const char *s, size_t n)
{
	uint64_t h = LIT_SEED;
	while (n)
		h = lit_step(h, (unsigned char)s[--n]);
	return lit_final(h);
}

static bool lit_equal(const char *lit, const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c >= 'A' && c <= 'Z')
			c += 32;
		if (c != (unsigned char)lit[i])
			return false;
	}
	return true;
}

static const pf_lit *lit_find(const struct vigil_intel_prefilter *pf, uint64_t h, const char *t,
	size_t n)
{
	if (!(pf->bloom[(h & pf->bloom_mask) / 64] & (1ULL << (h % 64))))
		return NULL;
	for (size_t i = (h >> 20) & pf->mask;; i = (i + 1) & pf->mask) {
		const pf_lit *l = &pf->lits[i];
		if (!l->s)
			return NULL;
		if (l->hash == h && l->len == n && lit_equal(l->s, t, n))
			return l;
	}
}

/* The part's text a literal's tokens are searched in (HTML without tabs
 * and line breaks). */
typedef struct pf_text {
	const char *t;
	size_t n;
	/* literals whose tokens were not in it: a host many times in a part
	 * is searched for once */
	const pf_lit *absent[8];
	size_t n_absent;
} pf_text;

static bool lit_counts(const pf_lit *l, pf_text *hay)
{
	if (l->any)
		return true;
	for (size_t i = 0; i < hay->n_absent; i++)
		if (hay->absent[i] == l)
			return false;
	for (char **t = l->tokens; *t; t++)
		if (memmem(hay->t, hay->n, *t, strlen(*t)))
			return true;
	hay->absent[hay->n_absent++ % 8] = l;
	if (hay->n_absent > 8)
		hay->n_absent = 8;
	return false;
}

/* Looks up every suffix of run[0..e) that starts at a RUN_START byte, as
 * long as a literal can be. */
static bool run_suffixes(const struct vigil_intel_prefilter *pf, const char *run,
	const uint8_t *mark, size_t e, pf_text *hay)
{
	while (e > 0 && run[e - 1] == '.')
		e--; /* "evil.com." is evil.com */
	uint64_t h = LIT_SEED;
	bool dot = pf->dotless;
	for (size_t k = e; k > 0 && e - k < pf->max_len;) {
		k--;
		h = lit_step(h, (unsigned char)run[k]);
		dot |= run[k] == '.';
		const pf_lit *l;
		if ((mark[k] & RUN_START) && dot && e - k >= pf->min_len &&
			(l = lit_find(pf, lit_final(h), run + k, e - k)) && lit_counts(l, hay))
			return true;
	}
	return false;
}


/* Condition 1: whether a literal is where a host could be in t. Returns 1,
 * 0 or VIGIL_ENOMEM. */
static int literal_in(const struct vigil_intel_prefilter *pf, vigil_intel_prefilter_scratch *s,
	const char *t, size_t len, bool html, pf_text *hay)
{
	const uint8_t *host = pf->hostish[html];
	for (size_t i = 0; i < len;) {
		size_t a;
		if (pf->dotless) {
			if (!host[(unsigned char)t[i]]) {
				i++;
				continue;
			}
			a = i;
		} else {
			/* Prose words have no dot, and every literal but a dotless
			 * one does: only the runs around a dot are read. */
			const char *d = memchr(t + i, '.', len - i);
			if (!d)
				break;
			a = (size_t)(d - t);
			while (a > i && host[(unsigned char)t[a - 1]])
				a--;
			i = (size_t)(d - t);
		}
		while (i < len && host[(unsigned char)t[i]])
			i++;
		size_t n = i - a;
		if (n > s->run_cap) {
			size_t cap = s->run_cap ? s->run_cap : 1024;
			while (cap < n)
				cap *= 2;
			char *r = realloc(s->run, cap);
			if (!r)
				return VIGIL_ENOMEM;
			s->run = r;
			uint8_t *m = realloc(s->mark, cap);
			if (!m)
				return VIGIL_ENOMEM;
			s->mark = m;
			s->run_cap = cap;
		}
		size_t o = 0;
		bool after_break = true;
		for (size_t k = a; k < i; k++) {
			unsigned char c = (unsigned char)t[k];
			if (c == '\n' || c == '\r' || c == '\t') {
				if (o && !after_break && run_suffixes(pf, s->run, s->mark, o, hay))
					return 1;
				after_break = true;
				continue;
			}
			unsigned char prev = o ? (unsigned char)s->run[o - 1] : 0;
			bool start = (c & 0xC0) != 0x80 && (after_break || prev == '.' || prev == '-' ||
				prev == '_' || prev >= 0x80);
			s->run[o] = (char)c;
			s->mark[o++] = start ? RUN_START : 0;
			after_break = false;
		}
		if (o && run_suffixes(pf, s->run, s->mark, o, hay))
			return 1;
	}
	return 0;
}

/* ---- compiling ----------------------------------------------------------- */

/* What a literal stands for while the set is read. */
typedef struct lit_info {
	bool any;          /* a domain or address domain: the host alone may hit */
	GPtrArray *tokens; /* else one token per URL indicator on the host */
} lit_info;

typedef struct lits {
	GHashTable *seen; /* literal (owned) -> lit_info (owned) */
	GPtrArray *all;   /* the literals, in order */
} lits;

static void lit_info_free(gpointer p)
{
	lit_info *i = p;
	if (i->tokens)
		g_ptr_array_free(i->tokens, TRUE);
	g_free(i);
}

/* `token` NULL: the literal alone may hit; else it needs the token too. */
static void add_literal(lits *l, const char *s, size_t n, const char *token)
{
	if (n == 0)
		return;
	char *c = g_ascii_strdown(s, (gssize)n);
	lit_info *i = g_hash_table_lookup(l->seen, c);
	if (i) {
		g_free(c);
	} else {
		i = g_new0(lit_info, 1);
		g_hash_table_insert(l->seen, c, i);
		g_ptr_array_add(l->all, c);
	}
	if (!token || i->any || (i->tokens && i->tokens->len >= PF_TOKENS_MAX)) {
		i->any = true;
		return;
	}
	if (!i->tokens)
		i->tokens = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(i->tokens, g_strdup(token));
}

/* A domain (lower case A-labels), and when some label is an A-label of an
 * IDN, its spellings with each such label as A-label or U-label (a host
 * may mix them); past 4 such labels, the U-label spelling alone. Sets *idn
 * when there was one. */
static void add_domain(lits *l, const char *d, size_t n, const char *token, bool *idn)
{
	add_literal(l, d, n, token);
	char *a = g_strndup(d, n);
	if (!strstr(a, "xn--")) {
		g_free(a);
		return;
	}
	char **al = g_strsplit(a, ".", -1);
	char *u = NULL;
	guint nl = g_strv_length(al);
	char **ul = NULL;
	if (idn2_to_unicode_8z8z(a, &u, 0) == IDN2_OK && u &&
		g_strv_length(ul = g_strsplit(u, ".", -1)) == nl) {
		*idn = true;
		guint nx = 0;
		for (guint i = 0; i < nl; i++)
			nx += strncmp(al[i], "xn--", 4) == 0;
		if (nx > 4) {
			add_literal(l, u, strlen(u), token);
		} else {
			for (guint mask = 0; mask < (1u << nx); mask++) {
				GString *s = g_string_new(NULL);
				for (guint i = 0, x = 0; i < nl; i++) {
					bool use_u = strncmp(al[i], "xn--", 4) == 0 && (mask >> x++) & 1;
					if (i)
						g_string_append_c(s, '.');
					g_string_append(s, use_u ? ul[i] : al[i]);
				}
				add_literal(l, s->str, s->len, token);
				g_string_free(s, TRUE);
			}
		}
	}
	g_strfreev(ul);
	idn2_free(u);
	g_strfreev(al);
	g_free(a);
}

/* The host of a URL as set.c normalised it ("scheme://[user@]host[:port]/"). */
static void add_url_host(lits *l, struct vigil_intel_prefilter *pf, const char *url, bool *idn)
{
	const char *p = strstr(url, "://");
	if (!p)
		return;
	p += 3;
	size_t n = strcspn(p, "/?#");
	const char *at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (n && p[0] == '[') {
		pf->ip = pf->ip_urls = true;
		return;
	}
	const char *colon = memchr(p, ':', n);
	if (colon)
		n = (size_t)(colon - p);
	if (n && strspn(p, "0123456789.") >= n) {
		pf->ip = pf->ip_urls = true;
		return;
	}
	/* The longest run of letters and digits after the host, percent
	 * escapes left out: libcurl changes neither its bytes nor its case. */
	const char *rest = p + n, *best = NULL;
	size_t best_n = 0;
	for (const char *q = rest; *q;) {
		if (*q == '%' && q[1] && q[2]) {
			q += 3;
			continue;
		}
		size_t k = 0;
		while (is_alnum((unsigned char)q[k]))
			k++;
		if (k > best_n) {
			best = q;
			best_n = k;
		}
		q += k ? k : 1;
	}
	char *token = best_n >= PF_TOKEN_MIN ? g_strndup(best, best_n) : NULL;
	add_domain(l, p, n, token, idn);
	g_free(token);
}

void intel__prefilter_free(vigil_intel_prefilter *pf)
{
	if (!pf)
		return;
	if (pf->lits)
		for (size_t i = 0; i <= pf->mask; i++) {
			free((char *)pf->lits[i].s);
			for (char **t = pf->lits[i].tokens; t && *t; t++)
				free(*t);
			free(pf->lits[i].tokens);
		}
	free(pf->lits);
	free(pf->bloom);
	if (pf->uts46)
		uidna_close(pf->uts46);
	free((void *)pf->cp);
	free(pf);
}

int intel__prefilter_compile(vigil_intel_prefilter **out, const vigil_intel_set *set, char *err,
	size_t err_size)
{
	(void)err, (void)err_size;
	*out = NULL;
	vigil_intel_prefilter *pf = calloc(1, sizeof(*pf));
	if (!pf || !(pf->cp = calloc(0x110000, sizeof(*pf->cp)))) {
		free(pf);
		return VIGIL_ENOMEM;
	}
	UErrorCode uerr = U_ZERO_ERROR;
	pf->uts46 = uidna_openUTS46(UIDNA_NONTRANSITIONAL_TO_UNICODE, &uerr);
	if (U_FAILURE(uerr))
		pf->uts46 = NULL; /* probes then rest on libidn2 alone */
	lits l = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, lit_info_free),
		g_ptr_array_new()};
	bool idn = false;
	for (size_t i = 0; set && i < set->items.len; i++) {
		const vigil_indicator *ind = &set->items.items[i];
		const char *v = ind->value;
		switch (ind->type) {
		case VIGIL_IOC_DOMAIN: add_domain(&l, v, strlen(v), NULL, &idn); break;
		case VIGIL_IOC_URL: add_url_host(&l, pf, v, &idn); break;
		case VIGIL_IOC_EMAIL: {
			const char *at = strrchr(v, '@');
			if (at)
				add_domain(&l, at + 1, strlen(at + 1), NULL, &idn);
			break;
		}
		case VIGIL_IOC_IPV4:
		case VIGIL_IOC_IPV6: pf->ip = true; break;
		default: break;
		}
	}
	pf->idn = idn;
	for (int h = 0; h < 2; h++)
		for (int c = 0; c < 256; c++) {
			pf->hostish[h][c] = is_host_char((unsigned char)c) || c >= 0x80 ||
				(h && (c == '\n' || c == '\r' || c == '\t'));
			pf->special[h][c] = c >= 0x80 || c == '%' || (h && c == '&') ||
				((h || pf->ip) && (c == '\\' || c == '/')) ||
				(pf->ip && (c == ':' || c == '@'));
		}
	int rc = 0;
	size_t n = l.all->len, cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	size_t bits = 1024;
	while (bits < 16 * n)
		bits *= 2;
	pf->mask = cap - 1;
	pf->bloom_mask = bits - 1;
	pf->lits = calloc(cap, sizeof(*pf->lits));
	pf->bloom = calloc(bits / 64, sizeof(*pf->bloom));
	if (!pf->lits || !pf->bloom)
		rc = VIGIL_ENOMEM;
	pf->min_len = SIZE_MAX;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		/* The table takes the string over from the array. */
		char *str = l.all->pdata[i];
		size_t len = strlen(str);
		uint64_t h = lit_hash(str, len);
		size_t k = (h >> 20) & pf->mask;
		while (pf->lits[k].s)
			k = (k + 1) & pf->mask;
		char *own = strdup(str);
		if (!own) {
			rc = VIGIL_ENOMEM;
			break;
		}
		lit_info *info = g_hash_table_lookup(l.seen, str);
		char **tokens = NULL;
		if (!info->any) {
			tokens = calloc(info->tokens->len + 1, sizeof(*tokens));
			for (guint t = 0; tokens && t < info->tokens->len; t++)
				if (!(tokens[t] = strdup(info->tokens->pdata[t])))
					rc = VIGIL_ENOMEM;
			if (!tokens)
				rc = VIGIL_ENOMEM;
		}
		pf->lits[k] = (pf_lit){.hash = h, .s = own, .len = len, .any = info->any,
			.tokens = tokens};
		pf->bloom[(h & pf->bloom_mask) / 64] |= 1ULL << (h % 64);
		pf->n_lits++;
		pf->min_len = len < pf->min_len ? len : pf->min_len;
		pf->max_len = len > pf->max_len ? len : pf->max_len;
		if (!memchr(str, '.', len))
			pf->dotless = true;
	}
	g_ptr_array_free(l.all, TRUE);
	g_hash_table_destroy(l.seen);
	if (rc) {
		intel__prefilter_free(pf);
		return rc;
	}
	*out = pf;
	return 0;
}

void intel__prefilter_scratch_free(vigil_intel_prefilter_scratch *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s->run);
	free(s->mark);
	free(s);
}

int intel__prefilter_part(const vigil_intel_prefilter *pf, vigil_intel_prefilter_scratch **sp,
	const char *text, size_t len, bool html)
{
	if (!pf)
		return 1;
	if (!pf->n_lits && !pf->ip)
		return 0; /* no indicator a URL can match */
	vigil_intel_prefilter_scratch *s = *sp;
	if (!s && !(s = *sp = calloc(1, sizeof(*s))))
		return VIGIL_ENOMEM;
	pf_text flat = {.t = text, .n = len};
	if (html) {
		/* url.c drops tabs and line breaks inside a URL: "%2\ne" in an
		 * href is "%2e", "lo\ngin" is "login". */
		if (len > s->cap) {
			size_t cap = s->cap ? s->cap : 65536;
			while (cap < len)
				cap *= 2;
			char *b = realloc(s->buf, cap);
			if (!b)
				return VIGIL_ENOMEM;
			s->buf = b;
			s->cap = cap;
		}
		char *o = s->buf;
		size_t i = 0;
		/* Eight bytes at a time while none is below 0x0E (tab, line
		 * feed, carriage return are 9, 10, 13). */
		while (i + 8 <= len) {
			uint64_t w;
			memcpy(&w, text + i, 8);
			if ((w - 0x0E0E0E0E0E0E0E0EULL) & ~w & 0x8080808080808080ULL) {
				for (size_t k = 0; k < 8; k++) {
					char c = text[i + k];
					*o = c;
					o += c != '\n' && c != '\r' && c != '\t';
				}
			} else {
				memcpy(o, &w, 8);
				o += 8;
			}
			i += 8;
		}
		for (; i < len; i++) {
			char c = text[i];
			*o = c;
			o += c != '\n' && c != '\r' && c != '\t';
		}
		flat.t = s->buf;
		flat.n = (size_t)(o - s->buf);
	}
	if (pf->n_lits) {
		int r = literal_in(pf, s, text, len, html, &flat);
		if (r)
			return r;
	}
	return text_risky(pf, flat.t, flat.n, html) ? 1 : 0;
}

void intel__prefilter_use_nets(vigil_intel_prefilter *pf, const struct vigil_netset *nets)
{
	if (pf)
		pf->nets = nets;
}
