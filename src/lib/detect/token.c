/*
 * The token detector: URLs that identify their recipient. A component that
 * encodes the recipient's address (as written, percent-encoded, base64,
 * base32, hex, MD5/SHA hashes), a URL template that carries a different
 * token to each recipient across the messages this scanner saw, and opaque
 * identifiers in hidden images. Whether a host tracks is tracker.c's question.
 */
#include <stdlib.h>
#include <string.h>

#include "vigil_limits.h"
#include "detect/detect.h"
#include "detect/token.h"
#include "detect/tracker.h"

/* Recipients whose encodings are looked for, per message. A targeted message
 * has one; a message to more than 50 visible recipients is a mailing, whose
 * URLs cannot be personal to each of them. Bounds the needles to ~2,200. */
#define TOKEN_MAX_RECIPIENTS 50

/* Bytes of a needle used as its fingerprint. Every needle is at least this
 * long, so one table lookup per haystack position finds all candidates, in
 * time independent of the number of recipients and encodings. */
#define FP_BYTES 6

/* Encoded needles carry at least 48 bits, so that a random identifier of an
 * URL (hex, base32, base64 themselves) matches one by chance with odds under
 * one in a billion per URL. In characters: */
#define MIN_B64_CHARS 8  /* 6 bits each */
#define MIN_B32_CHARS 10 /* 5 bits each, either case */
#define MIN_HEX_CHARS 12 /* 4 bits each, either case */
/* A hash is matched on its first 16 hex characters (64 bits): trackers cut
 * hashes to shorten URLs, and a longer prefix adds nothing. */
#define HASH_PREFIX 16

/* Local parts shorter than this, or role names, do not single out a person. */
#define MIN_LOCAL_PART 5

/* Template and token components kept per URL. */
#define MAX_TEMPLATE 2048
#define MAX_TOKEN 512

/* ------------------------------------------------------------------------ */
/* hashing and token shape */

uint64_t token__hash(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	/* splitmix64's finaliser: FNV's low bits alone hash poorly. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int char_class(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return 1;
	if (c >= 'a' && c <= 'z')
		return 2;
	if (c >= 'A' && c <= 'Z')
		return 3;
	return 0;
}

bool token__shaped(const char *s, size_t n)
{
	/* "LENOg6W1uC5XHo.gif" -> "LENOg6W1uC5XHo"; "...ZQ==" -> "...ZQ" */
	for (size_t i = n, k = 0; i > 0 && k <= 5; i--, k++) {
		if (s[i - 1] == '.') {
			if (k >= 1)
				n = i - 1;
			break;
		}
		if (!is_alnum((unsigned char)s[i - 1]))
			break;
	}
	while (n > 0 && s[n - 1] == '=')
		n--;
	if (n < 8 || n > MAX_TOKEN)
		return false;
	size_t alnum = 0, transitions = 0, digits = 0, lower = 0, upper = 0;
	int prev = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int k = char_class(c);
		if (!k) {
			/* identifier alphabets: base64(url), UUIDs, percent-escapes */
			if (!strchr("-_~+=%", c))
				return false;
			continue;
		}
		alnum++;
		digits += k == 1;
		lower += k == 2;
		upper += k == 3;
		if (prev && k != prev)
			transitions++;
		prev = k;
	}
	if (alnum < 8 || lower + upper == 0)
		return false;
	/* Random identifiers change class every two or three characters; words
	 * with a number ("newsletter2021", "article_6065_823448") once or twice. */
	if (transitions < 3 || transitions * 5 < alnum)
		return false;
	if (digits)
		return true;
	/* Letters alone: words in CamelCase ("HelloWorld") put one capital before
	 * a run of lower case; random letters also give "AB" and "AbC". */
	if (lower < 2 || upper < 2 || transitions * 5 < alnum * 2)
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		int a = char_class((unsigned char)s[i - 1]), b = char_class((unsigned char)s[i]),
		    c = char_class((unsigned char)s[i + 1]);
		if ((a == 3 && b == 3) || (b == 3 && c == 3) || (a == 3 && b == 2 && c == 3))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------------------ */
/* the index of templates (bounded, LRU) */

#define SLOTS 4 /* tokens kept per template: enough to see a shared one */

typedef struct tentry {
	uint64_t key;
	uint64_t tok[SLOTS], rcpt[SLOTS];
	uint8_t n_slots, next_slot;
	uint8_t shared;
	uint8_t n_rcpt; /* distinct recipients seen, saturating */
	int32_t prev, next; /* LRU list: head is the most recently used */
} tentry;

struct token_index {
	size_t cap;   /* most templates kept */
	size_t len;   /* templates kept */
	size_t alloc; /* entries allocated (grows to cap) */
	tentry *e;
	int32_t *table; /* open addressing: entry index + 1, 0 = empty */
	size_t mask;
	int32_t head, tail;
	struct regdom_memo *regdom; /* recipients' registrable domains */
};

token_index *token__index_new(size_t cap)
{
	token_index *ix = calloc(1, sizeof(*ix));
	if (!ix)
		return NULL;
	ix->cap = cap ? cap : 1;
	ix->head = ix->tail = -1;
	return ix;
}

void token__index_free(token_index *ix)
{
	if (!ix)
		return;
	free(ix->e);
	free(ix->table);
	free(ix->regdom);
	free(ix);
}

size_t token__index_len(const token_index *ix)
{
	return ix->len;
}

static size_t slot_of(const token_index *ix, uint64_t key)
{
	size_t i = (size_t)key & ix->mask;
	while (ix->table[i] && ix->e[ix->table[i] - 1].key != key)
		i = (i + 1) & ix->mask;
	return i;
}

bool token__index_contains(const token_index *ix, uint64_t tmpl)
{
	return ix->table && ix->table[slot_of(ix, tmpl)] != 0;
}

/* Grows the entries and the table (kept at most half full). Returns 0 or
 * VIGIL_ENOMEM. */
static int grow(token_index *ix)
{
	size_t alloc = ix->alloc ? ix->alloc * 2 : 256;
	if (alloc > ix->cap)
		alloc = ix->cap;
	tentry *e = realloc(ix->e, alloc * sizeof(*e));
	if (!e)
		return VIGIL_ENOMEM;
	ix->e = e;
	size_t size = 16;
	while (size < alloc * 2)
		size *= 2;
	int32_t *table = calloc(size, sizeof(*table));
	if (!table)
		return VIGIL_ENOMEM;
	free(ix->table);
	ix->table = table;
	ix->mask = size - 1;
	ix->alloc = alloc;
	for (size_t k = 0; k < ix->len; k++)
		ix->table[slot_of(ix, ix->e[k].key)] = (int32_t)k + 1;
	return 0;
}

/* Removes a key from the table (linear probing: later entries of the
 * cluster move back so that lookups still find them). */
static void table_remove(token_index *ix, uint64_t key)
{
	size_t i = slot_of(ix, key);
	if (!ix->table[i])
		return;
	ix->table[i] = 0;
	for (size_t j = (i + 1) & ix->mask; ix->table[j]; j = (j + 1) & ix->mask) {
		int32_t v = ix->table[j];
		ix->table[j] = 0;
		ix->table[slot_of(ix, ix->e[v - 1].key)] = v;
	}
}

static void lru_unlink(token_index *ix, int32_t k)
{
	tentry *t = &ix->e[k];
	if (t->prev >= 0)
		ix->e[t->prev].next = t->next;
	else
		ix->head = t->next;
	if (t->next >= 0)
		ix->e[t->next].prev = t->prev;
	else
		ix->tail = t->prev;
}

static void lru_push_front(token_index *ix, int32_t k)
{
	tentry *t = &ix->e[k];
	t->prev = -1;
	t->next = ix->head;
	if (ix->head >= 0)
		ix->e[ix->head].prev = k;
	ix->head = k;
	if (ix->tail < 0)
		ix->tail = k;
}

int token__index_observe(int *out, token_index *ix, uint64_t tmpl, uint64_t tok, uint64_t rcpt)
{
	*out = 0;
	if (ix->len == ix->alloc && ix->alloc < ix->cap) {
		int rc = grow(ix);
		if (rc)
			return rc;
	}
	size_t s = slot_of(ix, tmpl);
	if (!ix->table[s]) {
		int32_t k;
		if (ix->len < ix->alloc) {
			k = (int32_t)ix->len++;
		} else {
			/* Full: the least recently used template makes room. */
			k = ix->tail;
			lru_unlink(ix, k);
			table_remove(ix, ix->e[k].key);
			s = slot_of(ix, tmpl);
		}
		tentry *t = &ix->e[k];
		memset(t, 0, sizeof(*t));
		t->key = tmpl;
		t->tok[0] = tok;
		t->rcpt[0] = rcpt;
		t->n_slots = t->next_slot = t->n_rcpt = 1;
		ix->table[s] = k + 1;
		lru_push_front(ix, k);
		return 0;
	}
	int32_t k = ix->table[s] - 1;
	lru_unlink(ix, k);
	lru_push_front(ix, k);
	tentry *t = &ix->e[k];
	if (t->shared) {
		*out = -1;
		return 0;
	}
	bool known_pair = false, known_rcpt = false;
	for (int i = 0; i < t->n_slots; i++) {
		if (t->tok[i] == tok && t->rcpt[i] != rcpt) {
			t->shared = 1; /* one token, two recipients: not theirs */
			*out = -1;
			return 0;
		}
		known_pair |= t->tok[i] == tok;
		known_rcpt |= t->rcpt[i] == rcpt;
	}
	if (!known_pair) {
		t->tok[t->next_slot] = tok;
		t->rcpt[t->next_slot] = rcpt;
		t->next_slot = (uint8_t)((t->next_slot + 1) % SLOTS);
		if (t->n_slots < SLOTS)
			t->n_slots++;
	}
	/* A recipient whose slot was overwritten counts again: the count errs
	 * high only for templates already seen with SLOTS other recipients. */
	if (!known_rcpt && t->n_rcpt < UINT8_MAX)
		t->n_rcpt++;
	*out = t->n_rcpt - 1;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* needles: each recipient's address, encoded every way we look for */

typedef struct needle {
	const char *s;
	size_t len;
	bool icase;           /* lower case; matched in the lower-cased haystack */
	bool local;           /* encodes the local part alone */
	const char *encoding; /* "base64", "MD5 hash", ... */
	const char *tail;     /* the domain, when `s` is the local part of an address
			       * whose '@' is written otherwise ("(at)", "_", "/") */
	int rcpt;
	int next;             /* next needle with the same fingerprint, -1 */
} needle;

typedef struct recipient {
	const char *addr;   /* lower case */
	const char *domain; /* registrable domain of the address, lower case; in
			     * detect__token() set with the needles, only when wanted */
} recipient;

typedef VIGIL_VEC(needle) needle_vec;

/* Fingerprint table: needles by their first FP_BYTES bytes. */
typedef struct fp_table {
	uint64_t *keys;
	int *head; /* needle index, -1 = empty slot */
	size_t mask;
} fp_table;

typedef struct token_ctx {
	vigil_message *msg;
	const vigil_ctx *ctx;
	struct regdom_memo **regdom; /* for recipients' domains; NULL: none kept */
	const vigil_config *cfg;
	bool lazy_domains;      /* recipients' domains come with their needles */
	GHashTable *templates;  /* template hashes reported in this message */
	int n_in_url, n_unique, n_opaque; /* findings so far (DETECT_MAX_PER_ID) */
	recipient rcpt[TOKEN_MAX_RECIPIENTS];
	int n_rcpt;
	needle_vec needles;
	fp_table cs, ic; /* case-sensitive and case-insensitive needles */
} token_ctx;

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b32_std[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char b32_hex[] = "0123456789abcdefghijklmnopqrstuv";
static const char hex_lower[] = "0123456789abcdef";

static const struct {
	GChecksumType type;
	const char *name, *name64, *name_nl;
} hashes[] = {
	{G_CHECKSUM_MD5, "an MD5 hash", "an MD5 hash in base64", "an MD5 hash (of the address and a newline)"},
	{G_CHECKSUM_SHA1, "a SHA-1 hash", "a SHA-1 hash in base64", "a SHA-1 hash (of the address and a newline)"},
	{G_CHECKSUM_SHA256, "a SHA-256 hash", "a SHA-256 hash in base64", "a SHA-256 hash (of the address and a newline)"},
	{G_CHECKSUM_SHA512, "a SHA-512 hash", "a SHA-512 hash in base64", NULL},
};
#define N_HASHES (sizeof(hashes) / sizeof(*hashes))

/*
 * The needles of an address depend on the address alone (not on the
 * configuration, nor on the message), and the same few recipients recur in
 * nearly every message of a mailbox, so each scanner keeps them: the text in
 * the cache's arena, the descriptors copied into each message's vector. With
 * them, the address's registrable domain, which depends on the context's
 * public suffix list too: the cache is emptied if that ever changes (a
 * scanner serves one context, so it does not today).
 */
struct token_cache {
	const psl_ctx_t *psl; /* the list the domains were found with */
	vigil_arena *arena;  /* addresses, needles and their text; NULL when empty */
	GHashTable *by_addr; /* lower-cased address -> cached_rcpt, both in arena */
	size_t n_addrs;
	needle *scratch;     /* the needles of the address being built (malloc) */
	size_t scratch_len, scratch_cap;
	GChecksum *ck[N_HASHES]; /* made on first use, reset after each */
};

typedef struct cached_rcpt {
	const needle *nd; /* `rcpt` and `next` are the message's to set */
	size_t n;
	const char *domain; /* registrable domain (or the domain) of the address */
} cached_rcpt;

/* Addresses a scanner keeps needles for. An address of ~20 characters
 * takes ~4 KiB (some 60 needles with their text), so ~1 MiB in all: more
 * than a mailbox's recipients (a 40 MB sample of real mail names 655
 * addresses in 2,219 messages, and rebuilt only 12 of them with this cap).
 * The byte cap holds when addresses are long. When either is reached the
 * cache is emptied, between messages (the message's needles point into it
 * while it is scanned), and refills. */
#define CACHE_MAX_ADDRS 256
#define CACHE_MAX_BYTES (2u * 1024 * 1024)

void token__cache_free(token_cache *c)
{
	if (!c)
		return;
	if (c->by_addr)
		g_hash_table_destroy(c->by_addr);
	vigil_arena_free(c->arena);
	free(c->scratch);
	for (size_t i = 0; i < N_HASHES; i++)
		if (c->ck[i])
			g_checksum_free(c->ck[i]);
	free(c);
}

/*
 * The characters of the encoding of `pad` unknown bytes followed by `d` that
 * depend on `d` alone: an address embedded at any byte offset of a larger
 * base64 blob shows one of the 3 (base64) or 5 (base32) alignments, minus the
 * characters it shares with its neighbours. NULL when fewer than `min` are
 * left or out of memory (the caller cannot tell: a missing needle is safe).
 */
static char *encode_aligned(vigil_arena *a, const char *alpha, unsigned bits, size_t pad,
	const unsigned char *d, size_t n, size_t min, size_t *out_len)
{
	size_t first = (pad * 8 + bits - 1) / bits;
	size_t end = (pad + n) * 8 / bits;
	if (end < first || end - first < min)
		return NULL;
	char *out = vigil_arena_alloc(a, end - first + 1);
	if (!out)
		return NULL;
	/* A bit accumulator: the input padded with `pad` zero bytes, read
	 * `bits` at a time from character `first` on. */
	size_t bit = first * bits, byte = bit / 8;
	uint32_t acc = 0;
	unsigned have = 0;
	if (bit % 8) {
		acc = byte < pad ? 0 : d[byte - pad];
		have = 8 - (unsigned)(bit % 8);
		acc &= (1u << have) - 1;
		byte++;
	}
	unsigned mask = (1u << bits) - 1;
	for (size_t i = 0; i < end - first; i++) {
		while (have < bits) {
			acc = acc << 8 | (byte < pad ? 0 : d[byte - pad]);
			have += 8;
			byte++;
		}
		have -= bits;
		out[i] = alpha[(acc >> have) & mask];
		acc &= (1u << have) - 1;
	}
	out[end - first] = '\0';
	*out_len = end - first;
	return out;
}

/* Returns 0 or VIGIL_ENOMEM. */
static int add_needle(token_cache *c, const char *s, size_t len, bool icase, bool local,
	const char *encoding)
{
	if (!s || len < FP_BYTES)
		return 0;
	if (c->scratch_len == c->scratch_cap) {
		size_t cap = c->scratch_cap ? c->scratch_cap * 2 : 128;
		needle *v = realloc(c->scratch, cap * sizeof(*v));
		if (!v)
			return VIGIL_ENOMEM;
		c->scratch = v;
		c->scratch_cap = cap;
	}
	c->scratch[c->scratch_len++] = (needle){s, len, icase, local, encoding, NULL, -1, -1};
	return 0;
}

static int add_encoded(token_cache *c, const char *alpha, unsigned bits, size_t pad, const char *s,
	size_t n, size_t min, bool icase, bool local, const char *encoding)
{
	size_t len = 0;
	char *e = encode_aligned(c->arena, alpha, bits, pad, (const unsigned char *)s, n, min, &len);
	return e ? add_needle(c, e, len, icase, local, encoding) : 0;
}

/* A hash of s as hex (first HASH_PREFIX characters, either case) and, when
 * name64 is given, its digest in base64 and base64url (first 16 characters:
 * 96 bits), the compact form some trackers use. Returns 0 or VIGIL_ENOMEM. */
static int add_hashes(token_cache *c, size_t h, const char *s, size_t n, bool local,
	const char *name, const char *name64)
{
	if (!c->ck[h] && !(c->ck[h] = g_checksum_new(hashes[h].type)))
		return VIGIL_ENOMEM;
	GChecksum *ck = c->ck[h];
	g_checksum_update(ck, (const guchar *)s, (gssize)n);
	guint8 digest[64];
	gsize dlen = sizeof(digest);
	g_checksum_get_digest(ck, digest, &dlen);
	g_checksum_reset(ck);
	char *hex = vigil_arena_alloc(c->arena, HASH_PREFIX + 1);
	if (!hex)
		return VIGIL_ENOMEM;
	for (size_t i = 0; i < HASH_PREFIX / 2; i++) {
		hex[2 * i] = hex_lower[digest[i] >> 4];
		hex[2 * i + 1] = hex_lower[digest[i] & 15];
	}
	hex[HASH_PREFIX] = '\0';
	int rc = add_needle(c, hex, HASH_PREFIX, true, local, name);
	if (rc == 0 && name64)
		rc = add_encoded(c, b64_std, 6, 0, (const char *)digest, 12, 16, false, local, name64);
	if (rc == 0 && name64)
		rc = add_encoded(c, b64_url, 6, 0, (const char *)digest, 12, 16, false, local, name64);
	return rc;
}

/* The needles of one string (the address, or its local part), in the
 * cache's arena. Returns 0 or VIGIL_ENOMEM. */
static int add_needles(token_cache *c, const char *s, bool local)
{
	vigil_arena *a = c->arena;
	size_t n = strlen(s);
	int rc = 0;
	/* as written; percent-encoded forms are decoded in the haystack */
	if (!local)
		rc = add_needle(c, s, n, true, false, "plain text");
	if (rc == 0)
		rc = add_encoded(c, hex_lower, 4, 0, s, n, MIN_HEX_CHARS, true, local, "hex");
	for (size_t pad = 0; pad < 3 && rc == 0; pad++) {
		size_t len = 0;
		char *e = encode_aligned(a, b64_std, 6, pad, (const unsigned char *)s, n, MIN_B64_CHARS, &len);
		if (!e)
			continue;
		rc = add_needle(c, e, len, false, local, "base64");
		/* base64url differs only where the standard alphabet has + or / */
		if (rc == 0 && strpbrk(e, "+/"))
			rc = add_encoded(c, b64_url, 6, pad, s, n, MIN_B64_CHARS, false, local, "base64url");
	}
	for (size_t pad = 0; pad < 5 && rc == 0; pad++) {
		rc = add_encoded(c, b32_std, 5, pad, s, n, MIN_B32_CHARS, true, local, "base32");
		if (rc == 0)
			rc = add_encoded(c, b32_hex, 5, pad, s, n, MIN_B32_CHARS, true, local, "base32hex");
	}
	for (size_t i = 0; i < N_HASHES && rc == 0; i++)
		rc = add_hashes(c, i, s, n, local, hashes[i].name, hashes[i].name64);
	/* "echo $address | md5sum" hashes the newline too: a slip of scripts. */
	char *nl = NULL;
	if (rc == 0 && !local && !(nl = vigil_arena_printf(a, "%s\n", s)))
		rc = VIGIL_ENOMEM;
	for (size_t i = 0; i < N_HASHES && rc == 0 && !local; i++)
		if (hashes[i].name_nl)
			rc = add_hashes(c, i, nl, n + 1, local, hashes[i].name_nl, NULL);
	if (rc || local)
		return rc;
	/* Light disguises of the address itself. */
	char *rot = vigil_arena_alloc(a, n + 1), *rev = vigil_arena_alloc(a, n + 1);
	if (!rot || !rev)
		return VIGIL_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		rot[i] = ch >= 'a' && ch <= 'z' ? (char)('a' + (ch - 'a' + 13) % 26) : ch;
		rev[i] = s[n - 1 - i];
	}
	rot[n] = rev[n] = '\0';
	rc = add_needle(c, rot, n, true, false, "ROT13");
	if (rc == 0)
		rc = add_needle(c, rev, n, true, false, "reversed text");
	/* The '@' written otherwise: "marie(at)x.fr", "marie_x.fr", "marie/x.fr". */
	const char *at = strrchr(s, '@');
	if (rc == 0 && at && (size_t)(at - s) >= FP_BYTES) {
		/* `s` itself, cut short: the needle's length says where */
		rc = add_needle(c, s, (size_t)(at - s), true, false, "plain text with its '@' written otherwise");
		if (rc == 0)
			c->scratch[c->scratch_len - 1].tail = at + 1;
	}
	return rc;
}

/* Local parts shared by whoever holds a role: they identify a desk, not a
 * person, and turn up in URLs by themselves ("/contact", "?ref=press"). */
static bool role_local_part(const char *s, size_t n)
{
	static const char *const roles[] = {"admin", "contact", "enquiries", "hello", "info",
		"mailer-daemon", "newsletter", "noreply", "no-reply", "office", "postmaster", "press",
		"sales", "secretariat", "support", "webmaster"};
	for (size_t i = 0; i < sizeof(roles) / sizeof(*roles); i++)
		if (strlen(roles[i]) == n && memcmp(roles[i], s, n) == 0)
			return true;
	return false;
}

/* The needles of a lower-cased address, from the cache or built into it.
 * Returns 0 or VIGIL_ENOMEM. */
static int cached_needles(const cached_rcpt **out, token_cache *c, const psl_ctx_t *psl,
	const char *addr)
{
	cached_rcpt *e = g_hash_table_lookup(c->by_addr, addr);
	if (e) {
		*out = e;
		return 0;
	}
	char *key = vigil_arena_strdup(c->arena, addr);
	e = vigil_arena_alloc(c->arena, sizeof(*e));
	if (!key || !e)
		return VIGIL_ENOMEM;
	c->scratch_len = 0;
	int rc = add_needles(c, key, false);
	/* The local part: the address's first bytes, up to its last '@'. */
	const char *at = strrchr(key, '@');
	size_t local_len = (size_t)(at - key);
	const char *reg = psl_registrable_domain(psl, at + 1);
	if (rc == 0 && local_len >= MIN_LOCAL_PART && !role_local_part(key, local_len)) {
		char *local = vigil_arena_strndup(c->arena, key, local_len);
		rc = local ? add_needles(c, local, true) : VIGIL_ENOMEM;
	}
	needle *nd = rc ? NULL : vigil_arena_alloc(c->arena, c->scratch_len * sizeof(*nd));
	if (rc == 0 && !nd)
		rc = VIGIL_ENOMEM;
	if (rc)
		return rc;
	memcpy(nd, c->scratch, c->scratch_len * sizeof(*nd));
	*e = (cached_rcpt){nd, c->scratch_len, reg ? reg : at + 1};
	g_hash_table_insert(c->by_addr, key, e);
	c->n_addrs++;
	*out = e;
	return 0;
}

/* Fills t->needles with every recipient's needles, in recipient order, from
 * the scanner's cache. Returns 0 or VIGIL_ENOMEM. */
static int load_needles(token_ctx *t, vigil_scanner *sc)
{
	token_cache *c = sc->token_cache;
	if (!c && !(c = sc->token_cache = calloc(1, sizeof(*c))))
		return VIGIL_ENOMEM;
	/* Emptied only here, before this message takes any needle from it. */
	const psl_ctx_t *psl = t->ctx->psl;
	if (c->arena && (c->n_addrs >= CACHE_MAX_ADDRS ||
		vigil_arena_used(c->arena) >= CACHE_MAX_BYTES || c->psl != psl)) {
		g_hash_table_remove_all(c->by_addr);
		vigil_arena_free(c->arena);
		c->arena = NULL;
		c->n_addrs = 0;
	}
	if (!c->arena && !(c->arena = vigil_arena_new()))
		return VIGIL_ENOMEM;
	if (!c->by_addr)
		c->by_addr = g_hash_table_new(g_str_hash, g_str_equal);
	c->psl = psl;
	const cached_rcpt *e[TOKEN_MAX_RECIPIENTS];
	size_t total = 0;
	for (int r = 0; r < t->n_rcpt; r++) {
		int rc = cached_needles(&e[r], c, psl, t->rcpt[r].addr);
		if (rc)
			return rc;
		t->rcpt[r].domain = e[r]->domain;
		total += e[r]->n;
	}
	needle *v = vigil_arena_alloc(t->msg->arena, (total ? total : 1) * sizeof(*v));
	if (!v)
		return VIGIL_ENOMEM;
	size_t k = 0;
	for (int r = 0; r < t->n_rcpt; r++) {
		memcpy(v + k, e[r]->nd, e[r]->n * sizeof(*v));
		for (size_t i = 0; i < e[r]->n; i++)
			v[k + i].rcpt = r;
		k += e[r]->n;
	}
	t->needles = (needle_vec){v, total, total};
	return 0;
}

static int add_recipient(token_ctx *t, const char *address)
{
	if (!address || t->n_rcpt >= TOKEN_MAX_RECIPIENTS)
		return 0;
	const char *at = strrchr(address, '@');
	if (!at || at == address || !at[1])
		return 0;
	vigil_arena *a = t->msg->arena;
	char *addr = vigil_arena_strdup(a, address);
	if (!addr)
		return VIGIL_ENOMEM;
	for (char *p = addr; *p; p++)
		*p = g_ascii_tolower(*p);
	for (int i = 0; i < t->n_rcpt; i++)
		if (strcmp(t->rcpt[i].addr, addr) == 0)
			return 0;
	int r = t->n_rcpt++;
	const char *dom = addr + (at - address) + 1;
	/* A public suffix lookup costs ~20,000 instructions: in detect__token()
	 * it is the cache's, once an address, and only when a URL needs it. */
	const char *reg = t->lazy_domains ? NULL : regdom__lookup(t->regdom, t->ctx->psl, dom);
	if (!t->lazy_domains && !reg)
		reg = dom;
	t->rcpt[r] = (recipient){addr, reg};
	return 0;
}

static int add_mailboxes(token_ctx *t, const vigil_mailbox_vec *v)
{
	int rc = 0;
	for (size_t i = 0; i < v->len && rc == 0; i++)
		if (v->items[i].nested == 0) /* a forwarded message's recipients are not ours */
			rc = add_recipient(t, v->items[i].address);
	return rc;
}

static uint64_t fp_key(const char *s)
{
	uint64_t k = 0;
	for (int i = 0; i < FP_BYTES; i++)
		k = k << 8 | (unsigned char)s[i];
	return k;
}

static size_t fp_slot(uint64_t key, size_t mask)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & mask;
}

static int fp_build(token_ctx *t, fp_table *ft, bool icase)
{
	size_t count = 0;
	for (size_t i = 0; i < t->needles.len; i++)
		count += t->needles.items[i].icase == icase;
	size_t size = 16;
	while (size < count * 2)
		size *= 2;
	ft->keys = vigil_arena_alloc(t->msg->arena, size * sizeof(*ft->keys));
	ft->head = vigil_arena_alloc(t->msg->arena, size * sizeof(*ft->head));
	if (!ft->keys || !ft->head)
		return VIGIL_ENOMEM;
	ft->mask = size - 1;
	for (size_t i = 0; i < size; i++)
		ft->head[i] = -1;
	for (size_t i = 0; i < t->needles.len; i++) {
		needle *nd = &t->needles.items[i];
		if (nd->icase != icase)
			continue;
		uint64_t k = fp_key(nd->s);
		size_t s = fp_slot(k, ft->mask);
		while (ft->head[s] >= 0 && ft->keys[s] != k)
			s = (s + 1) & ft->mask;
		nd->next = ft->head[s];
		ft->keys[s] = k;
		ft->head[s] = (int)i;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* haystacks: the URL decoded, lower-cased, and with separators removed */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes src into dst (room for n + 1); returns the length. */
static size_t pct_decode(char *dst, const char *src, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int h, l;
		if (src[i] == '%' && i + 2 < n &&
			(h = hexval((unsigned char)src[i + 1])) >= 0 &&
			(l = hexval((unsigned char)src[i + 2])) >= 0) {
			dst[o++] = (char)(h << 4 | l);
			i += 2;
		} else {
			dst[o++] = src[i];
		}
	}
	dst[o] = '\0';
	return o;
}

typedef struct hit {
	const needle *nd;
	size_t at;   /* offset in the haystack it was found in */
	bool joined; /* found only once separators were removed */
} hit;

typedef struct haystack {
	const char *s;
	size_t len;
	bool joined;
} haystack;

/* Whether a URL at `u` may carry recipient r's address without it meaning
 * anything: the recipient's own organisation's servers (webmail, intranet). */
static bool own_host(const token_ctx *t, const vigil_url *u, int r)
{
	const char *d = u->domain ? u->domain : u->host;
	if (!d)
		return true;
	if (u->domain && config__is_own_domain(t->cfg, u->domain))
		return true;
	return r >= 0 && strcmp(d, t->rcpt[r].domain) == 0;
}

/* Whether `tail` (a domain) follows at 1 to 5 characters past `at`, in place
 * of an '@': "(at)", "_at_", "%40" decoded, "/", ".". */
static bool tail_follows(const haystack *h, size_t at, const char *tail)
{
	size_t n = strlen(tail);
	if (at < h->len && h->s[at] == '@' && at + 1 + n <= h->len && memcmp(h->s + at + 1, tail, n) == 0)
		return false; /* written plainly: the plain needle says so */
	for (size_t gap = 1; gap <= 5 && at + gap + n <= h->len; gap++)
		if (memcmp(h->s + at + gap, tail, n) == 0)
			return true;
	return false;
}

/* Scans one haystack; keeps in *best the first match of the whole address,
 * else the first of a local part. */
static void scan(const token_ctx *t, const fp_table *ft, const haystack *h, const vigil_url *u,
	hit *best)
{
	if (h->len < FP_BYTES)
		return;
	/* The fingerprint rolls: one byte in, one out, per position. */
	const uint64_t fp_mask = (UINT64_C(1) << (8 * FP_BYTES)) - 1;
	uint64_t k = fp_key(h->s) >> 8;
	for (size_t i = 0; i + FP_BYTES <= h->len; i++) {
		k = (k << 8 | (unsigned char)h->s[i + FP_BYTES - 1]) & fp_mask;
		size_t s = fp_slot(k, ft->mask);
		while (ft->head[s] >= 0 && ft->keys[s] != k)
			s = (s + 1) & ft->mask;
		for (int j = ft->head[s]; j >= 0; j = t->needles.items[j].next) {
			const needle *nd = &t->needles.items[j];
			if (i + nd->len > h->len || memcmp(h->s + i, nd->s, nd->len) != 0)
				continue;
			if (nd->tail && !tail_follows(h, i + nd->len, nd->tail))
				continue;
			if (best->nd && (nd->local || !best->nd->local))
				continue; /* no better than what we have */
			if (own_host(t, u, nd->rcpt))
				continue;
			*best = (hit){nd, i, h->joined};
		}
		if (best->nd && !best->nd->local)
			return;
	}
}

/* "a path segment ('bWFyaWVAeC5mcg')": where in the decoded URL `at` lies. */
static void describe(char *buf, size_t n, const char *url, size_t len, size_t at, size_t mlen)
{
	const char *kind = "the URL";
	size_t start = 0, end = len;
	const char *sep = strstr(url, "://");
	size_t host = sep ? (size_t)(sep - url) + 3 : 0;
	size_t host_end = host + strcspn(url + host, "/?#");
	size_t q = strcspn(url, "?#"), f = strcspn(url, "#");
	if (at >= host && at < host_end) {
		kind = "a sub-domain label";
		start = host, end = host_end;
		for (size_t i = host; i < at; i++)
			if (url[i] == '.')
				start = i + 1;
		end = start + strcspn(url + start, ".:/?#");
	} else if (at < q) {
		kind = "a path segment";
		start = host_end;
		for (size_t i = host_end; i < at; i++)
			if (url[i] == '/')
				start = i + 1;
		end = start + strcspn(url + start, "/?#");
	} else if (at < f) {
		kind = "a query value";
		start = q + 1;
		for (size_t i = q + 1; i < at; i++)
			if (url[i] == '&' || url[i] == ';')
				start = i + 1;
		end = start + strcspn(url + start, "&;#");
		const char *eq = memchr(url + start, '=', end - start);
		if (eq && (size_t)(eq - url) < at)
			start = (size_t)(eq - url) + 1;
		else if (eq)
			kind = "a query key";
	} else {
		kind = "the fragment";
		start = f + 1;
	}
	if (end < at + mlen) /* the match spans components */
		end = at + mlen < len ? at + mlen : len;
	size_t show = end - start;
	const char *ell = "";
	if (show > 40) {
		show = 40;
		ell = "...";
	}
	snprintf(buf, n, "%s ('%.*s%s')", kind, (int)show, url + start, ell);
}

static const char *url_kind(const vigil_url *u)
{
	if (tracker__is_image(u))
		return "image URL";
	if (tracker__is_link(u))
		return "link";
	if (tracker__is_fetched(u))
		return "URL of a resource loaded with the message";
	return "URL";
}

/* Looks for each recipient's encodings in one URL. `buf` has room for four
 * copies of the URL. */
static int recipient_in_url(token_ctx *t, const vigil_url *u, const char *value, char *buf)
{
	const char *src = u->raw ? u->raw : u->url;
	size_t n = strnlen(src, VIGIL_MAX_URL_BYTES);
	char *dec = buf, *low = buf + n + 1, *join = low + n + 1, *jlow = join + n + 1;
	/* Decoded up to three times: "%2540" is an "@" encoded twice. */
	size_t len = pct_decode(dec, src, n);
	for (int pass = 0; pass < 2 && memchr(dec, '%', len); pass++)
		len = pct_decode(dec, dec, len);
	size_t jlen = 0;
	for (size_t i = 0; i < len; i++) {
		char c = dec[i];
		low[i] = g_ascii_tolower(c);
		/* A token split over host labels or path segments ("MFRG.GZDF",
		 * "/bWFy/aWVA/") joins up once separators are gone. */
		if (c != '.' && c != '/' && c != '-')
			join[jlen++] = c;
	}
	low[len] = '\0';
	for (size_t i = 0; i < jlen; i++)
		jlow[i] = g_ascii_tolower(join[i]);
	join[jlen] = jlow[jlen] = '\0';

	hit best = {0};
	haystack hs[] = {{dec, len, false}, {low, len, false}, {join, jlen, true}, {jlow, jlen, true}};
	for (size_t i = 0; i < 4 && !(best.nd && !best.nd->local); i++)
		scan(t, i % 2 ? &t->ic : &t->cs, &hs[i], u, &best);
	if (!best.nd)
		return 0;

	char where[128];
	if (best.joined)
		snprintf(where, sizeof(where), "pieces split by '.', '/' or '-'");
	else
		describe(where, sizeof(where), dec, len, best.at, best.nd->len);
	const recipient *r = &t->rcpt[best.nd->rcpt];
	size_t before = t->msg->findings.len;
	int rc;
	if (best.nd->local)
		rc = finding__add(t->msg, t->cfg, "token", "token.local-part-in-url",
			VIGIL_CLASS_TOKEN, 25, "url", value,
			"The %s at %s carries the local part of the recipient's address (%s) as %s in "
			"%s.", url_kind(u), u->host, r->addr, best.nd->encoding, where);
	else
		rc = finding__add(t->msg, t->cfg, "token", "token.recipient-in-url", VIGIL_CLASS_TOKEN,
			40, "url", value, "The %s at %s carries the recipient's address (%s) as %s in %s.",
			url_kind(u), u->host, r->addr, best.nd->encoding, where);
	t->n_in_url += rc == 0 && t->msg->findings.len > before;
	return rc;
}

/* ------------------------------------------------------------------------ */
/* templates: the URL with its token components replaced */

typedef struct sbuf {
	char *s;
	size_t len, cap;
	bool full;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
	if (b->full || b->len + n >= b->cap) {
		b->full = true;
		return;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* A component that is not a token: digits collapse to '#', since numbers
 * (sizes, dates, article ids, "logo62.jpg") vary between messages of one
 * template without identifying anyone. */
static void put_fixed(sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			while (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
				i++;
			put(b, "#", 1);
		} else {
			put(b, s + i, 1);
		}
	}
}

static void put_token(sbuf *tmpl, sbuf *tok, const char *s, size_t n)
{
	put(tmpl, "{t}", 3);
	if (tok->len)
		put(tok, "|", 1);
	put(tok, s, n);
}

/* Builds the template of a URL and the token it carries (its token-shaped
 * components, joined). Query values that are not tokens become '*' (their
 * keys stay): they vary (timestamps, campaign names) without saying who.
 * The fragment is never sent to the server and is left out. Returns false
 * when the URL carries no token. */
static bool url_template(sbuf *tmpl, sbuf *tok, const vigil_url *u)
{
	put(tmpl, u->scheme, strlen(u->scheme));
	put(tmpl, "://", 3);
	/* Sub-domain labels left of the registrable domain may be tokens. */
	const char *h = u->host;
	size_t dn = u->domain ? strlen(u->domain) : 0, hn = strlen(h);
	size_t sub = dn && hn > dn ? hn - dn : 0;
	for (size_t i = 0; i < sub;) {
		size_t n = strcspn(h + i, ".");
		if (i + n > sub)
			n = sub - i;
		if (token__shaped(h + i, n))
			put_token(tmpl, tok, h + i, n);
		else
			put_fixed(tmpl, h + i, n);
		i += n;
		if (i < sub && h[i] == '.') {
			put(tmpl, ".", 1);
			i++;
		}
	}
	put(tmpl, h + sub, hn - sub);
	for (const char *p = u->path ? u->path : ""; *p;) {
		size_t n = strcspn(p, "/");
		if (token__shaped(p, n))
			put_token(tmpl, tok, p, n);
		else
			put_fixed(tmpl, p, n);
		p += n;
		if (*p) {
			put(tmpl, "/", 1);
			p++;
		}
	}
	if (u->query && *u->query) {
		put(tmpl, "?", 1);
		for (const char *q = u->query; *q;) {
			size_t n = strcspn(q, "&;");
			const char *eq = memchr(q, '=', n);
			size_t kn = eq ? (size_t)(eq - q) : n;
			put_fixed(tmpl, q, kn);
			if (eq) {
				put(tmpl, "=", 1);
				if (token__shaped(eq + 1, n - kn - 1))
					put_token(tmpl, tok, eq + 1, n - kn - 1);
				else
					put(tmpl, "*", 1);
			} else if (token__shaped(q, n)) {
				put_token(tmpl, tok, q, n);
			}
			q += n;
			if (*q) {
				put(tmpl, "&", 1);
				q++;
			}
		}
	}
	return tok->len > 0 && !tmpl->full && !tok->full;
}

bool token__url_template(char *tmpl, size_t tmpl_size, char *tok, size_t tok_size,
	const vigil_url *u)
{
	sbuf t = {tmpl, 0, tmpl_size, false}, k = {tok, 0, tok_size, false};
	if (tmpl_size)
		tmpl[0] = '\0';
	if (tok_size)
		tok[0] = '\0';
	if (!u->scheme || !u->host || tmpl_size < 2 || tok_size < 2)
		return false;
	return url_template(&t, &k, u);
}

/* Links vary more than images between ordinary messages (two people sending
 * two different videos of one site look like two tokens), so their
 * template is tied to the sender and needs one more recipient. */
#define IMAGE_MIN_OTHERS 1
#define LINK_MIN_OTHERS 2

static int unique_per_recipient(token_ctx *t, token_index *ix, const vigil_url *u,
	const char *value, uint64_t rcpt_hash)
{
	bool image = tracker__is_fetched(u); /* loaded on open, like an image */
	char tb[MAX_TEMPLATE], kb[MAX_TOKEN + 1];
	sbuf tmpl = {tb, 0, sizeof(tb), false}, tok = {kb, 0, sizeof(kb), false};
	tb[0] = kb[0] = '\0';
	if (image) {
		put(&tmpl, "img ", 4);
	} else {
		const char *from = t->msg->from.address ? t->msg->from.address : "";
		put(&tmpl, "link ", 5);
		put(&tmpl, from, strlen(from));
		put(&tmpl, " ", 1);
	}
	if (!url_template(&tmpl, &tok, u))
		return 0;
	uint64_t key = token__hash(tmpl.s, tmpl.len, 0);
	int others = 0;
	int rc = token__index_observe(&others, ix, key, token__hash(tok.s, tok.len, 1), rcpt_hash);
	if (rc || others < (image ? IMAGE_MIN_OTHERS : LINK_MIN_OTHERS) ||
		t->n_unique >= DETECT_MAX_PER_ID)
		return rc;
	/* One finding per template: a newsletter's thirty tracked links say
	 * what the first one says. */
	uint64_t *k = vigil_arena_alloc(t->msg->arena, sizeof(*k));
	if (!k)
		return VIGIL_ENOMEM;
	*k = key;
	if (!t->templates)
		t->templates = g_hash_table_new(g_int64_hash, g_int64_equal);
	if (g_hash_table_contains(t->templates, k))
		return 0;
	g_hash_table_add(t->templates, k);
	t->n_unique++;
	return finding__add(t->msg, t->cfg, "token", "token.unique-per-recipient",
		VIGIL_CLASS_TOKEN, 40, "url", value,
		"The %s at %s carries a token ('%.40s%s') that differs for each recipient: %d other "
		"recipient%s got the same URL with another token.", url_kind(u), u->host, tok.s,
		tok.len > 40 ? "..." : "", others, others == 1 ? "" : "s");
}

/* A hidden image whose URL carries an identifier: a per-recipient (or
 * per-message) tracker even when the identifier encodes nothing we know. */
static int opaque_in_hidden_image(token_ctx *t, const vigil_url *u, const char *value)
{
	char tb[MAX_TEMPLATE], kb[MAX_TOKEN + 1];
	sbuf tmpl = {tb, 0, sizeof(tb), false}, tok = {kb, 0, sizeof(kb), false};
	tb[0] = kb[0] = '\0';
	if (t->n_opaque >= DETECT_MAX_PER_ID || !url_template(&tmpl, &tok, u))
		return 0;
	t->n_opaque++;
	return finding__add(t->msg, t->cfg, "token", "token.opaque-in-hidden-image",
		VIGIL_CLASS_TOKEN, 15, "url", value,
		"The hidden %s at %s carries an identifier ('%.40s%s'): it reports who opened the "
		"message.", tracker__is_image(u) ? "image" : "resource", u->host, tok.s,
		tok.len > 40 ? "..." : "");
}

/* Collects the message's recipients (and their needles when wanted). Returns
 * whether the message went to one recipient (rcpt[0]) through *sole, and 0 or
 * VIGIL_ENOMEM. */
static int collect_recipients(bool *sole, token_ctx *t)
{
	vigil_message *msg = t->msg;
	*sole = false;
	/* Delivered-To first: in a shared mailbox copy, it names the reader. */
	int rc = add_mailboxes(t, &msg->delivered_to);
	/* The one recipient the message was delivered to: Delivered-To, else
	 * the only address it names. Sent to several at once, its URLs are
	 * shared and say nothing about who is who. */
	bool delivered = t->n_rcpt > 0;
	if (rc == 0)
		rc = add_mailboxes(t, &msg->to);
	if (rc == 0)
		rc = add_mailboxes(t, &msg->cc);
	if (rc == 0)
		rc = add_mailboxes(t, &msg->bcc);
	/* Received "for <addr>": the envelope recipient of a Bcc copy. */
	for (size_t i = 0; i < msg->received.len && rc == 0; i++)
		if (msg->received.items[i].nested == 0)
			rc = add_recipient(t, msg->received.items[i].for_addr);
	*sole = delivered || t->n_rcpt == 1;
	return rc;
}

/* Whether a URL can be compared across messages: fetched or followed, and
 * not at the recipient's own organisation. */
static bool comparable(const token_ctx *t, const vigil_url *u)
{
	return tracker__is_remote(u) && u->host && u->origin != VIGIL_URL_HEADER &&
		(tracker__is_fetched(u) || tracker__is_link(u)) && !own_host(t, u, 0);
}

int token__observe_message(vigil_message *msg, const vigil_ctx *ctx, token_index *ix)
{
	token_ctx t = {.msg = msg, .ctx = ctx, .cfg = ctx->cfg, .regdom = &ix->regdom};
	bool sole = false;
	int rc = collect_recipients(&sole, &t);
	if (rc || !sole)
		return rc;
	uint64_t rcpt_hash = token__hash(t.rcpt[0].addr, strlen(t.rcpt[0].addr), 2);
	for (size_t i = 0; i < msg->urls.len && rc == 0; i++) {
		const vigil_url *u = &msg->urls.items[i];
		if (comparable(&t, u))
			rc = unique_per_recipient(&t, ix, u, u->url ? u->url : u->raw, rcpt_hash);
	}
	if (t.templates)
		g_hash_table_destroy(t.templates);
	return rc;
}

/* Whether recipient_in_url() would look at this URL: only what a client
 * fetches or a reader follows. A List-Unsubscribe URL is expected to name the
 * subscriber, and mailto: is no request. */
static bool examined(const vigil_url *u)
{
	return tracker__is_remote(u) && u->host && u->origin != VIGIL_URL_HEADER &&
		(u->url || u->raw);
}

int detect__token(vigil_message *msg, vigil_scanner *sc)
{
	token_ctx t = {.msg = msg, .ctx = sc->ctx, .cfg = sc->ctx->cfg, .lazy_domains = true};
	bool sole = false;
	int rc = collect_recipients(&sole, &t);
	if (rc)
		return rc;

	/* Needles only for a message with a URL to look in: most have none. */
	bool wanted = false;
	size_t longest = 0;
	for (size_t i = 0; i < msg->urls.len && t.n_rcpt; i++) {
		const vigil_url *u = &msg->urls.items[i];
		const char *s = u->raw ? u->raw : u->url;
		if (s) {
			size_t n = strnlen(s, VIGIL_MAX_URL_BYTES);
			longest = n > longest ? n : longest;
		}
		wanted |= examined(u);
	}
	if (wanted)
		rc = load_needles(&t, sc);
	if (rc == 0 && wanted)
		rc = fp_build(&t, &t.cs, false);
	if (rc == 0 && wanted)
		rc = fp_build(&t, &t.ic, true);
	if (rc)
		return rc;
	char *buf = wanted ? malloc(4 * (longest + 1)) : NULL;
	if (wanted && !buf)
		return VIGIL_ENOMEM;
	for (size_t i = 0; i < msg->urls.len && rc == 0; i++) {
		const vigil_url *u = &msg->urls.items[i];
		if (!examined(u))
			continue;
		const char *value = u->url ? u->url : u->raw;
		if (wanted && t.n_in_url < DETECT_MAX_PER_ID)
			rc = recipient_in_url(&t, u, value, buf);
		if (rc == 0 && tracker__is_boxed(u) && tracker__is_invisible(u) && !own_host(&t, u, -1))
			rc = opaque_in_hidden_image(&t, u, value);
	}
	free(buf);
	if (rc)
		return rc;

	/* Across messages (token.unique-per-recipient): the correlator runs
	 * token__observe_message() in archive order (detect/correlate.c), so the
	 * result does not depend on how many threads scanned. */
	(void)sole;
	return 0;
}
