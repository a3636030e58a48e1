/*
 * Sets of IPv4/IPv6 addresses and CIDR ranges: a path-compressed binary
 * prefix tree per family, longest-prefix match in at most 33 / 129 steps
 * whatever the number of entries. It parses and matches; it reads no files.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_private.h"
#include "vigil/vigil.h"

/* One node of the tree: the prefix (key, bits) it stands for, its children
 * by the next bit, and the entry that names exactly this prefix, if any.
 * Nodes without an entry only exist where two branches meet, so a tree of n
 * entries has fewer than 2n nodes. Indices, not pointers: the node array
 * grows with realloc; index 0 is "none". */
typedef struct ns_node {
	uint8_t key[16]; /* bits past `bits` are zero */
	uint32_t child[2];
	uint32_t entry; /* 1 + index into texts, 0 when none */
	uint8_t bits;
	uint8_t fam; /* FAM_V4 or FAM_V6: which tree holds it */
} ns_node;

/* Entry texts live in chunks that never move, so lookup can hand out
 * pointers, and a merge can splice another set's chunks without copying. */
typedef struct ns_chunk {
	struct ns_chunk *next;
	size_t used, size;
	char data[];
} ns_chunk;

enum { FAM_V4 = 0, FAM_V6 = 1 };
#define CHUNK_BYTES (64u * 1024 - sizeof(ns_chunk))

struct vigil_netset {
	ns_node *nodes; /* nodes[0] unused */
	size_t n_nodes, cap_nodes;
	uint32_t root[2];
	const char **texts; /* entry texts as added, in order */
	size_t n_texts, cap_texts;
	ns_chunk *chunks; /* newest first */
};

/* A parsed address or range. */
typedef struct ns_prefix {
	int fam;
	unsigned bits; /* prefix length */
	uint8_t key[16];
} ns_prefix;

vigil_netset *netset__new(void)
{
	vigil_netset *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->n_nodes = 1;
	return s;
}

static void free_chunks(ns_chunk *c)
{
	while (c) {
		ns_chunk *next = c->next;
		free(c);
		c = next;
	}
}

void netset__free(vigil_netset *s)
{
	if (!s)
		return;
	free(s->nodes);
	free(s->texts);
	free_chunks(s->chunks);
	free(s);
}

size_t netset__count(const vigil_netset *s)
{
	return s ? s->n_texts : 0;
}

static unsigned bit_at(const uint8_t *key, unsigned i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1u;
}

/* Number of leading bits a and b share, at most `limit`. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned limit)
{
	unsigned i = 0;
	while (i < limit) {
		uint8_t x = a[i / 8] ^ b[i / 8];
		if (x == 0) {
			i += 8;
			continue;
		}
		unsigned lead = (unsigned)__builtin_clz((unsigned)x) - (sizeof(unsigned) * 8 - 8);
		i += lead;
		break;
	}
	return i < limit ? i : limit;
}

static void mask_key(uint8_t *key, unsigned bits)
{
	if (bits >= 128)
		return;
	unsigned byte = bits / 8;
	if (bits % 8)
		key[byte++] &= (uint8_t)(0xffu << (8 - bits % 8));
	memset(key + byte, 0, 16 - byte);
}

/* Parses "addr" or "addr/len". An IPv4-mapped IPv6 address or range
 * (::ffff:0:0/96 and longer) becomes IPv4, so both spellings of the same
 * host meet. Host bits past the prefix are cleared: 192.0.2.1/24 is
 * 192.0.2.0/24, which is what anyone writing it means. Returns 0 or
 * VIGIL_EPARSE with *why set. */
static int parse_prefix(ns_prefix *p, const char *text, bool allow_len, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n = strlen(text);
	if (n == 0) {
		*why = "empty address";
		return VIGIL_EPARSE;
	}
	if (n >= sizeof(buf)) {
		*why = "too long for an address";
		return VIGIL_EPARSE;
	}
	memcpy(buf, text, n + 1);
	char *slash = strchr(buf, '/');
	long len = -1;
	if (slash) {
		if (!allow_len) {
			*why = "a range where an address was expected";
			return VIGIL_EPARSE;
		}
		*slash = '\0';
		const char *d = slash + 1;
		/* Strictly 1-3 decimal digits: no sign, spaces or hex. */
		size_t nd = strspn(d, "0123456789");
		if (nd == 0 || nd > 3 || d[nd] != '\0') {
			*why = "bad prefix length after '/'";
			return VIGIL_EPARSE;
		}
		len = strtol(d, NULL, 10);
	}
	memset(p, 0, sizeof(*p));
	if (strchr(buf, ':')) {
		if (inet_pton(AF_INET6, buf, p->key) != 1) {
			*why = "not an IPv6 address";
			return VIGIL_EPARSE;
		}
		if (len > 128) {
			*why = "IPv6 prefix length over 128";
			return VIGIL_EPARSE;
		}
		p->fam = FAM_V6;
		p->bits = len < 0 ? 128 : (unsigned)len;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (p->bits >= 96 && memcmp(p->key, mapped, 12) == 0) {
			memmove(p->key, p->key + 12, 4);
			memset(p->key + 4, 0, 12);
			p->fam = FAM_V4;
			p->bits -= 96;
		}
	} else {
		/* inet_pton takes only the dotted quad: no "10.1", no octal
		 * "010.0.0.1", which inet_aton would read differently. */
		if (inet_pton(AF_INET, buf, p->key) != 1) {
			*why = "not an IPv4 address";
			return VIGIL_EPARSE;
		}
		if (len > 32) {
			*why = "IPv4 prefix length over 32";
			return VIGIL_EPARSE;
		}
		p->fam = FAM_V4;
		p->bits = len < 0 ? 32 : (unsigned)len;
	}
	mask_key(p->key, p->bits);
	return 0;
}

/* Room for `entries` more entries: each adds at most two nodes (its own and
 * a branch point). On error the set is unchanged. */
int netset__reserve(vigil_netset *s, size_t entries)
{
	if (entries > NETSET_MAX_ENTRIES || s->n_texts + entries > NETSET_MAX_ENTRIES)
		return VIGIL_ELIMIT;
	size_t need_nodes = s->n_nodes + 2 * entries;
	if (need_nodes > s->cap_nodes) {
		size_t cap = s->cap_nodes ? s->cap_nodes : 64;
		while (cap < need_nodes)
			cap *= 2;
		ns_node *nn = realloc(s->nodes, cap * sizeof(*nn));
		if (!nn)
			return VIGIL_ENOMEM;
		s->nodes = nn;
		s->cap_nodes = cap;
	}
	size_t need_texts = s->n_texts + entries;
	if (need_texts > s->cap_texts) {
		size_t cap = s->cap_texts ? s->cap_texts : 64;
		while (cap < need_texts)
			cap *= 2;
		const char **nt = realloc(s->texts, cap * sizeof(*nt));
		if (!nt)
			return VIGIL_ENOMEM;
		s->texts = nt;
		s->cap_texts = cap;
	}
	return 0;
}

static const char *store_text(vigil_netset *s, const char *text)
{
	size_t n = strlen(text) + 1;
	ns_chunk *c = s->chunks;
	if (!c || c->size - c->used < n) {
		size_t size = n > CHUNK_BYTES ? n : CHUNK_BYTES;
		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->used = 0;
		c->size = size;
		c->next = s->chunks;
		s->chunks = c;
	}
	char *p = c->data + c->used;
	memcpy(p, text, n);
	c->used += n;
	return p;
}

static uint32_t new_node(vigil_netset *s, int fam, const uint8_t *key, unsigned bits,
	uint32_t entry)
{
	uint32_t i = (uint32_t)s->n_nodes++;
	ns_node *n = &s->nodes[i];
	memset(n, 0, sizeof(*n));
	memcpy(n->key, key, 16);
	mask_key(n->key, bits);
	n->bits = (uint8_t)bits;
	n->fam = (uint8_t)fam;
	n->entry = entry;
	return i;
}

/* The node that stands for exactly this prefix, or 0. */
static uint32_t find_exact(const vigil_netset *s, const ns_prefix *p)
{
	uint32_t i = s->root[p->fam];
	while (i) {
		const ns_node *n = &s->nodes[i];
		if (n->bits > p->bits || common_bits(p->key, n->key, n->bits) < n->bits)
			return 0;
		if (n->bits == p->bits)
			return i;
		i = n->child[bit_at(p->key, n->bits)];
	}
	return 0;
}

/* Puts `p` in the tree with entry number `entry`. Cannot fail: reserve()
 * made room for two nodes, so no realloc moves `slot` under us. The caller
 * has checked that no entry names this prefix yet. */
static void insert(vigil_netset *s, const ns_prefix *p, uint32_t entry)
{
	uint32_t *slot = &s->root[p->fam];
	for (;;) {
		if (*slot == 0) {
			*slot = new_node(s, p->fam, p->key, p->bits, entry);
			return;
		}
		ns_node *n = &s->nodes[*slot];
		unsigned limit = n->bits < p->bits ? n->bits : p->bits;
		unsigned c = common_bits(p->key, n->key, limit);
		if (c == n->bits && c == p->bits) {
			n->entry = entry; /* a branch point that now names a prefix */
			return;
		}
		if (c == n->bits) {
			slot = &n->child[bit_at(p->key, c)];
			continue;
		}
		uint32_t old = *slot;
		if (c == p->bits) {
			/* The new prefix contains the node: it goes above it. */
			uint32_t m = new_node(s, p->fam, p->key, p->bits, entry);
			s->nodes[m].child[bit_at(s->nodes[old].key, c)] = old;
			*slot = m;
			return;
		}
		/* They part at bit c: a branch point holds both. */
		uint32_t leaf = new_node(s, p->fam, p->key, p->bits, entry);
		uint32_t br = new_node(s, p->fam, p->key, c, 0);
		s->nodes[br].child[bit_at(p->key, c)] = leaf;
		s->nodes[br].child[bit_at(s->nodes[old].key, c)] = old;
		*slot = br;
		return;
	}
}

int netset__add(vigil_netset *s, const char *text, const char **why)
{
	ns_prefix p;
	int rc = parse_prefix(&p, text, true, why);
	if (rc)
		return rc;
	uint32_t at = find_exact(s, &p);
	if (at && s->nodes[at].entry)
		return 0; /* the same range again: the first spelling stays */
	rc = netset__reserve(s, 1);
	if (rc) {
		*why = rc == VIGIL_ELIMIT ? "too many entries in one set" : "out of memory";
		return rc;
	}
	const char *copy = store_text(s, text);
	if (!copy) {
		*why = "out of memory";
		return VIGIL_ENOMEM;
	}
	s->texts[s->n_texts++] = copy;
	insert(s, &p, (uint32_t)s->n_texts);
	return 0;
}

static const char *lookup_family(const vigil_netset *s, const ns_prefix *a)
{
	const char *best = NULL;
	uint32_t i = s->root[a->fam];
	while (i) {
		const ns_node *n = &s->nodes[i];
		if (n->bits > a->bits || common_bits(a->key, n->key, n->bits) < n->bits)
			break;
		if (n->entry)
			best = s->texts[n->entry - 1];
		if (n->bits == a->bits)
			break;
		i = n->child[bit_at(a->key, n->bits)];
	}
	return best;
}

const char *netset__lookup(const vigil_netset *s, const char *ip)
{
	if (!s || !ip || s->n_texts == 0)
		return NULL;
	ns_prefix a;
	const char *why;
	if (parse_prefix(&a, ip, false, &why) != 0)
		return NULL;
	const char *hit = lookup_family(s, &a);
	if (hit || a.fam != FAM_V4 || !strchr(ip, ':'))
		return hit;
	/* An IPv4-mapped address that no IPv4 entry holds may still sit in an
	 * IPv6 range shorter than /96 (::/0, ::ffff:0:0/80): every IPv4 match
	 * is longer than those, so trying IPv4 first keeps the longest. */
	ns_prefix v6 = {.fam = FAM_V6, .bits = 128};
	v6.key[10] = v6.key[11] = 0xff;
	memcpy(v6.key + 12, a.key, 4);
	return lookup_family(s, &v6);
}

int netset__merge(vigil_netset *dst, vigil_netset *src)
{
	if (!src || src->n_texts == 0)
		return 0;
	int rc = netset__reserve(dst, src->n_texts);
	if (rc)
		return rc;
	/* Nothing can fail from here on: dst has room for every node. */
	for (size_t i = 1; i < src->n_nodes; i++) {
		const ns_node *n = &src->nodes[i];
		if (!n->entry)
			continue;
		ns_prefix p = {.fam = n->fam, .bits = n->bits};
		memcpy(p.key, n->key, 16);
		uint32_t at = find_exact(dst, &p);
		if (at && dst->nodes[at].entry)
			continue; /* dst's entry came first */
		dst->texts[dst->n_texts++] = src->texts[n->entry - 1];
		insert(dst, &p, (uint32_t)dst->n_texts);
	}
	/* The texts now belong to dst: splice the chunks over. */
	ns_chunk **tail = &dst->chunks;
	while (*tail)
		tail = &(*tail)->next;
	*tail = src->chunks;
	src->chunks = NULL;
	return 0;
}
