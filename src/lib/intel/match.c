/*
 * The compiled intel matcher: hash tables for domains (each parent of a host
 * looked up), e-mail addresses, hashes and URLs (each prefix of a URL that
 * ends on a boundary looked up), and a netset prefix tree for IP ranges.
 * Body text is cut into tokens looked up in the same tables. Every look-up
 * costs the length of the artifact, never the number of indicators. It reads
 * no feeds (feeds.c) and writes no findings (detect/intel.c).
 *
 * Matching rules, decided here:
 * - URLs: http and https are one: "http://a.com/x" matches "https://a.com/x"
 *   (feeds record whichever scheme their crawler saw; the server is the same).
 *   An indicator matches a URL equal to it, or a URL it is a prefix of when
 *   the prefix ends on a boundary: the indicator ends with '/', '?', '&', '='
 *   or '#', or the URL goes on with '/', '?', '#' or '&'. So "http://a.com/x"
 *   matches ".../x/y", ".../x?id=1", but not ".../xyz". Paths compare with
 *   their case (servers treat them so), scheme and host are lower case.
 * - Text (subject, decoded bodies) is searched for every domain, URL, address
 *   and hash, case-insensitively, on the same boundaries: a domain not inside
 *   a longer name, a hash not inside a longer hex string, a URL after "//"
 *   whatever its scheme ("hxxps://" in a forwarded report counts). An
 *   indicator already matched by a parsed artifact is not reported again from
 *   the text.
 * - IP ranges: the most specific range containing the address is reported.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "intel/intel.h"
#include "vigil/vigil.h"

/* What a key is looked up as. Hashes of all three lengths share one kind:
 * lengths differ, so they cannot collide. */
enum { K_DOMAIN, K_URL, K_EMAIL, K_HASH, K_IP, K_COUNT };

/* Distinct indicators reported from text per message. Each costs a callback
 * and a finding; a message quoting a whole feed stops here. */
#define TEXT_HITS_MAX 256
/* Bytes of evidence copied around a hit in text (a URL runs on past an
 * indicator that is its prefix). URLs we keep are at most 8 KiB; evidence
 * needs far less. */
#define TEXT_EVIDENCE_MAX 2048
/* A name longer than DNS allows (253) is not a host: such runs of text are
 * not looked up, which also bounds the work of each run. */
#define TEXT_NAME_MAX 253

/* All indicators that share one key (the same domain from two feeds). */
typedef struct im_group {
	const char *key; /* in the set or the matcher's arena, not NUL-terminated for URLs */
	uint32_t len;
	uint8_t kind;
	uint64_t hash;
	uint32_t first, count; /* a run of m->members */
} im_group;

struct vigil_intel_matcher {
	const vigil_intel_set *set;
	vigil_arena *arena;     /* groups, members, keys, tables */
	size_t n_indicators;    /* indicators compiled */
	im_group *groups;
	size_t n_groups;
	uint32_t *members;      /* indices into set->items, grouped, in set order */
	uint32_t *slots;        /* open addressing: group index + 1, 0 when empty */
	size_t mask;
	size_t kind_count[K_COUNT];
	uint8_t *url_lens;      /* bit n: some URL key is n bytes long */
	size_t url_lens_max;
	vigil_netset *nets;
	vigil_intel_prefilter *prefilter; /* a hunt's (prefilter.c), or NULL */
	/* TEXT_* by byte: what scan_text() stops at, given the kinds present */
	uint8_t text_class[256];
};

typedef struct im_buf {
	char *p;
	size_t cap;
} im_buf;

/* Nothing in here depends on the matcher: one scratch serves any. */
struct vigil_intel_scratch {
	/* groups reported for the current message: open addressing, g + 1 */
	uint32_t *seen;
	size_t seen_cap, seen_n;
	size_t text_hits;
	im_buf value; /* evidence from text, decoded mailto: addresses */
	im_buf key;   /* a URL from text with its host in lower case */
	vigil_intel_prefilter_scratch *prefilter;
};

/* ---- keys ------------------------------------------------------------- */

static bool folds(int kind)
{
	return kind == K_DOMAIN || kind == K_EMAIL || kind == K_HASH;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* FNV-1a, seeded by kind so that equal text of two kinds never meets, and
 * built one byte at a time so a URL's prefixes hash as the walk goes. */
static uint64_t hash_start(int kind)
{
	return 0xcbf29ce484222325ULL ^ ((uint64_t)(kind + 1) * 0x9e3779b97f4a7c15ULL);
}

static uint64_t hash_step(uint64_t h, int kind, unsigned char c)
{
	return (h ^ (folds(kind) ? lower(c) : c)) * 0x100000001b3ULL;
}

/* FNV's low bits mix poorly; the table indexes with them. */
static uint64_t hash_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_key(int kind, const char *s, size_t n)
{
	uint64_t h = hash_start(kind);
	for (size_t i = 0; i < n; i++)
		h = hash_step(h, kind, (unsigned char)s[i]);
	return hash_final(h);
}

static bool key_equal(int kind, const char *a, const char *b, size_t n)
{
	if (!folds(kind))
		return memcmp(a, b, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return true;
}

/* The group of this key, or -1. */
static long find_group(const vigil_intel_matcher *m, int kind, const char *key, size_t len,
	uint64_t hash)
{
	if (!m->slots || m->kind_count[kind] == 0)
		return -1;
	for (size_t i = hash & m->mask;; i = (i + 1) & m->mask) {
		uint32_t s = m->slots[i];
		if (s == 0)
			return -1;
		const im_group *g = &m->groups[s - 1];
		if (g->hash == hash && g->kind == kind && g->len == len &&
			key_equal(kind, g->key, key, len))
			return (long)(s - 1);
	}
}

/* http and https URLs are keyed without their scheme ("//host/path"); any
 * other scheme keeps it, and cannot collide since it starts with a letter. */
static const char *url_key(const char *url)
{
	if (strncasecmp(url, "http://", 7) == 0)
		return url + 5;
	if (strncasecmp(url, "https://", 8) == 0)
		return url + 6;
	return url;
}

enum { IP_KEY_MAX = INET6_ADDRSTRLEN + 8 };

/* Canonical "addr/len" of an address or range, an IPv4-mapped IPv6 one as
 * IPv4 and host bits cleared, so that each spelling netset may hand back
 * finds its group. False when `text` is not an address or range. */
static bool ip_key(char out[IP_KEY_MAX], const char *text)
{
	char buf[IP_KEY_MAX];
	size_t n = strlen(text);
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, text, n + 1);
	if (buf[0] == '[' && n > 2 && buf[n - 1] == ']') {
		memmove(buf, buf + 1, n - 2);
		buf[n - 2] = '\0';
	}
	long len = -1;
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		char *end;
		len = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || len < 0)
			return false;
	}
	uint8_t a[16] = {0};
	bool v6 = strchr(buf, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, a) != 1)
		return false;
	unsigned bits = v6 ? 128 : 32;
	if (len > (long)bits)
		return false;
	if (len >= 0)
		bits = (unsigned)len;
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (v6 && bits >= 96 && memcmp(a, mapped, 12) == 0) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		v6 = false;
		bits -= 96;
	}
	for (unsigned i = bits; i < (v6 ? 128u : 32u); i++)
		a[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	char addr[INET6_ADDRSTRLEN];
	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, a, addr, sizeof(addr)))
		return false;
	snprintf(out, IP_KEY_MAX, "%s/%u", addr, bits);
	return true;
}

static int kind_of(vigil_ioc_type t)
{
	switch (t) {
	case VIGIL_IOC_DOMAIN: return K_DOMAIN;
	case VIGIL_IOC_URL: return K_URL;
	case VIGIL_IOC_EMAIL: return K_EMAIL;
	case VIGIL_IOC_IPV4:
	case VIGIL_IOC_IPV6: return K_IP;
	case VIGIL_IOC_MD5:
	case VIGIL_IOC_SHA1:
	case VIGIL_IOC_SHA256: return K_HASH;
	}
	return -1;
}

/* ---- compiling -------------------------------------------------------- */

static void set_err(char *err, size_t err_size, const char *fmt, const char *detail)
{
	if (err && err_size)
		snprintf(err, err_size, fmt, detail ? detail : "");
}

void intel__matcher_free(vigil_intel_matcher *m)
{
	if (!m)
		return;
	netset__free(m->nets);
	intel__prefilter_free(m->prefilter);
	free(m->slots);
	free(m->url_lens);
	vigil_arena_free(m->arena);
	free(m);
}

size_t intel__matcher_count(const vigil_intel_matcher *m)
{
	return m ? m->n_indicators : 0;
}

static void text_class_init(vigil_intel_matcher *m);

int intel__compile(vigil_intel_matcher **out, const vigil_intel_set *set, char *err,
	size_t err_size)
{
	*out = NULL;
	if (err && err_size)
		err[0] = '\0';
	size_t n = set ? set->items.len : 0;
	if (n >= UINT32_MAX / 2) {
		set_err(err, err_size, "too many indicators%s", NULL);
		return VIGIL_ELIMIT;
	}
	vigil_intel_matcher *m = calloc(1, sizeof(*m));
	uint32_t *gid = malloc((n ? n : 1) * sizeof(*gid));
	int rc = VIGIL_ENOMEM;
	if (!m || !gid || !(m->arena = vigil_arena_new()) || !(m->nets = netset__new()))
		goto fail;
	m->set = set;
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	m->mask = cap - 1;
	m->slots = calloc(cap, sizeof(*m->slots));
	m->groups = vigil_arena_calloc(m->arena, n ? n : 1, sizeof(*m->groups));
	m->members = vigil_arena_calloc(m->arena, n ? n : 1, sizeof(*m->members));
	if (!m->slots || !m->groups || !m->members)
		goto fail;

	/* Pass 1: a group per distinct key, and each indicator's group. */
	for (size_t i = 0; i < n; i++) {
		const vigil_indicator *ind = &set->items.items[i];
		int kind = kind_of(ind->type);
		gid[i] = UINT32_MAX;
		if (kind < 0 || !ind->value || !ind->value[0])
			continue;
		const char *key = ind->value;
		char ipk[IP_KEY_MAX];
		if (kind == K_IP) {
			const char *why;
			/* set.c checked the text; one it did not is skipped, not fatal. */
			if (!ip_key(ipk, ind->value))
				continue;
			int r = netset__add(m->nets, ind->value, &why);
			if (r == VIGIL_ENOMEM)
				goto fail;
			if (r)
				continue;
			key = ipk;
		} else if (kind == K_URL) {
			key = url_key(ind->value);
		}
		size_t len = strlen(key);
		if (len == 0 || len >= UINT32_MAX)
			continue;
		uint64_t h = hash_key(kind, key, len);
		long g = find_group(m, kind, key, len, h);
		if (g < 0) {
			if (kind == K_IP && !(key = vigil_arena_strdup(m->arena, ipk)))
				goto fail;
			g = (long)m->n_groups++;
			im_group *gr = &m->groups[g];
			*gr = (im_group){.key = key, .len = (uint32_t)len, .kind = (uint8_t)kind, .hash = h};
			size_t s = h & m->mask;
			while (m->slots[s])
				s = (s + 1) & m->mask;
			m->slots[s] = (uint32_t)g + 1;
			m->kind_count[kind]++;
			if (kind == K_URL && len > m->url_lens_max)
				m->url_lens_max = len;
		}
		m->groups[g].count++;
		gid[i] = (uint32_t)g;
		m->n_indicators++;
	}
	/* Pass 2: members of each group side by side, in set order. */
	uint32_t at = 0;
	for (size_t g = 0; g < m->n_groups; g++) {
		m->groups[g].first = at;
		at += m->groups[g].count;
		m->groups[g].count = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (gid[i] == UINT32_MAX)
			continue;
		im_group *gr = &m->groups[gid[i]];
		m->members[gr->first + gr->count++] = (uint32_t)i;
	}
	if (m->kind_count[K_URL]) {
		m->url_lens = calloc(m->url_lens_max / 8 + 1, 1);
		if (!m->url_lens)
			goto fail;
		for (size_t g = 0; g < m->n_groups; g++)
			if (m->groups[g].kind == K_URL)
				m->url_lens[m->groups[g].len / 8] |= (uint8_t)(1u << (m->groups[g].len % 8));
	}
	text_class_init(m);
	free(gid);
	*out = m;
	return 0;
fail:
	if (rc == VIGIL_ENOMEM)
		set_err(err, err_size, "out of memory compiling indicators%s", NULL);
	free(gid);
	intel__matcher_free(m);
	return rc;
}

/* ---- scratch ---------------------------------------------------------- */

int intel__scratch_new(vigil_intel_scratch **out, const vigil_intel_matcher *m)
{
	(void)m;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : VIGIL_ENOMEM;
}

void intel__scratch_free(vigil_intel_scratch *s)
{
	if (!s)
		return;
	free(s->seen);
	free(s->value.p);
	free(s->key.p);
	intel__prefilter_scratch_free(s->prefilter);
	free(s);
}

void intel__matcher_set_prefilter(vigil_intel_matcher *m, vigil_intel_prefilter *pf)
{
	intel__prefilter_free(m->prefilter);
	m->prefilter = pf;
	intel__prefilter_use_nets(pf, m->nets);
}

const vigil_intel_prefilter *intel__matcher_prefilter(const vigil_intel_matcher *m)
{
	return m ? m->prefilter : NULL;
}

vigil_intel_prefilter_scratch **intel__scratch_prefilter(vigil_intel_scratch *s)
{
	return &s->prefilter;
}

/* At least n bytes in b; NULL when out of memory. */
static char *buf_get(im_buf *b, size_t n)
{
	if (n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			return NULL;
		b->p = p;
		b->cap = cap;
	}
	return b->p;
}

/* Whether group g was reported for this message; with `add`, records it.
 * The set grows with the hits of one message, never with the indicators.
 * Returns 1 (seen), 0 (not), or VIGIL_ENOMEM. */
static int seen(vigil_intel_scratch *s, uint32_t g, bool add)
{
	if (add && 2 * (s->seen_n + 1) > s->seen_cap) {
		size_t cap = s->seen_cap ? 2 * s->seen_cap : 64;
		uint32_t *ns = calloc(cap, sizeof(*ns));
		if (!ns)
			return VIGIL_ENOMEM;
		for (size_t i = 0; i < s->seen_cap; i++) {
			uint32_t v = s->seen[i];
			if (!v)
				continue;
			size_t j = hash_final(v) & (cap - 1);
			while (ns[j])
				j = (j + 1) & (cap - 1);
			ns[j] = v;
		}
		free(s->seen);
		s->seen = ns;
		s->seen_cap = cap;
	}
	if (!s->seen_cap)
		return 0;
	size_t mask = s->seen_cap - 1;
	for (size_t j = hash_final(g + 1) & mask;; j = (j + 1) & mask) {
		if (s->seen[j] == g + 1)
			return 1;
		if (s->seen[j] == 0) {
			if (add) {
				s->seen[j] = g + 1;
				s->seen_n++;
			}
			return 0;
		}
	}
}

/* ---- matching --------------------------------------------------------- */

typedef struct im_run {
	const vigil_intel_matcher *m;
	vigil_intel_scratch *s;
	const vigil_message *msg;
	bool validity;
	intel__hit_fn hit;
	void *ud;
	int rc; /* from inside a Hyperscan callback */
} im_run;

static bool valid_at(const vigil_indicator *ind, int64_t t)
{
	if (t == VIGIL_NO_TIME)
		return true; /* no date to judge by: report rather than miss */
	if (ind->valid_from != VIGIL_NO_TIME && t < ind->valid_from)
		return false;
	if (ind->valid_until != VIGIL_NO_TIME && t > ind->valid_until)
		return false;
	return true;
}

/* Reports every indicator of group g. Returns 0 or the callback's code. */
static int report(im_run *r, long g, const char *artifact, const char *value)
{
	const im_group *gr = &r->m->groups[g];
	int rc = seen(r->s, (uint32_t)g, true);
	if (rc < 0)
		return rc;
	for (uint32_t k = 0; k < gr->count; k++) {
		const vigil_indicator *ind = &r->m->set->items.items[r->m->members[gr->first + k]];
		if (r->validity && !valid_at(ind, r->msg->date_time))
			continue;
		if ((rc = r->hit(r->ud, ind, artifact, value)))
			return rc;
	}
	return 0;
}

static int lookup(im_run *r, int kind, const char *key, size_t len, const char *artifact,
	const char *value)
{
	long g = find_group(r->m, kind, key, len, hash_key(kind, key, len));
	return g < 0 ? 0 : report(r, g, artifact, value);
}

/* The host and each of its parents: "a.b.x.com", "b.x.com", "x.com",
 * "com". A trailing dot (a fully qualified HELO) is not part of the name. */
static int match_host(im_run *r, const char *host, const char *artifact, const char *value)
{
	if (!host || !*host || r->m->kind_count[K_DOMAIN] == 0)
		return 0;
	size_t n = strlen(host);
	while (n && host[n - 1] == '.')
		n--;
	const char *end = host + n;
	for (const char *p = host; p < end;) {
		int rc = lookup(r, K_DOMAIN, p, (size_t)(end - p), artifact, value);
		if (rc)
			return rc;
		const char *dot = memchr(p, '.', (size_t)(end - p));
		if (!dot)
			break;
		p = dot + 1;
	}
	return 0;
}

static int match_ip(im_run *r, const char *ip, const char *artifact, const char *value)
{
	if (!ip || !*ip || r->m->kind_count[K_IP] == 0)
		return 0;
	char buf[IP_KEY_MAX];
	size_t n = strlen(ip);
	if (ip[0] == '[') {
		if (n < 3 || n - 2 >= sizeof(buf) || ip[n - 1] != ']')
			return 0;
		memcpy(buf, ip + 1, n - 2);
		buf[n - 2] = '\0';
		ip = buf;
	}
	const char *entry = netset__lookup(r->m->nets, ip);
	char key[IP_KEY_MAX];
	if (!entry || !ip_key(key, entry))
		return 0;
	return lookup(r, K_IP, key, strlen(key), artifact, value);
}

static bool looks_like_ip(const char *host)
{
	return host[0] == '[' || strspn(host, "0123456789.") == strlen(host);
}

static int match_mailbox(im_run *r, const vigil_mailbox *mb, const char *artifact)
{
	if (!mb->address)
		return 0;
	int rc = 0;
	if (r->m->kind_count[K_EMAIL])
		rc = lookup(r, K_EMAIL, mb->address, strlen(mb->address), artifact, mb->address);
	if (!rc)
		rc = match_host(r, mb->domain, artifact, mb->address);
	return rc;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "mailto:a@x.com,b@y.org?subject=..": each address, percent-decoded. */
static int match_mailto(im_run *r, const vigil_url *u)
{
	if (!u->path || r->m->kind_count[K_EMAIL] == 0)
		return 0;
	size_t n = strlen(u->path);
	char *d = buf_get(&r->s->value, n + 1);
	if (!d)
		return VIGIL_ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int h, l;
		if (u->path[i] == '%' && i + 2 < n && (h = hexval((unsigned char)u->path[i + 1])) >= 0 &&
			(l = hexval((unsigned char)u->path[i + 2])) >= 0) {
			d[o++] = (char)(h * 16 + l);
			i += 2;
		} else {
			d[o++] = u->path[i];
		}
	}
	d[o] = '\0';
	for (char *p = d; *p;) {
		p += strspn(p, " \t,;");
		size_t len = strcspn(p, " \t,;");
		if (len == 0)
			break;
		int rc = lookup(r, K_EMAIL, p, len, "url", u->url ? u->url : u->raw);
		if (rc)
			return rc;
		p += len;
	}
	return 0;
}

static int text_hit(im_run *r, long g, const char *text, size_t a, size_t b,
	const char *artifact);

/* Where a URL prefix matched: a parsed URL (`value`), or text at [a, b). */
typedef struct im_where {
	const char *value;
	const char *text;
	size_t a, b;
	const char *artifact;
} im_where;

/* Exact and prefix matches of a URL key ("//host/path..." or
 * "scheme:..."): hashed once, byte by byte, and looked up at each length
 * that some URL indicator has and that ends on a boundary. `n` bytes of the
 * key are at hand, `full` is its whole length (SIZE_MAX when longer than any
 * indicator, so never equal). Cost: the key's length. */
static int url_walk(im_run *r, const char *key, size_t n, size_t full, const im_where *w)
{
	const vigil_intel_matcher *m = r->m;
	uint64_t h = hash_start(K_URL);
	for (size_t p = 1; p <= n && p <= m->url_lens_max; p++) {
		h = hash_step(h, K_URL, (unsigned char)key[p - 1]);
		if (!(m->url_lens[p / 8] & (1u << (p % 8))))
			continue;
		if (p != full && (p >= n || !strchr("/?#&", key[p])) && !strchr("/?&=#", key[p - 1]))
			continue;
		long g = find_group(m, K_URL, key, p, hash_final(h));
		if (g < 0)
			continue;
		int rc = w->text ? text_hit(r, g, w->text, w->a, w->b, w->artifact)
				 : report(r, g, "url", w->value);
		if (rc)
			return rc;
	}
	return 0;
}

static int match_url_string(im_run *r, const char *url)
{
	if (r->m->kind_count[K_URL] == 0)
		return 0;
	const char *key = url_key(url);
	size_t len = strlen(key);
	im_where w = {.value = url};
	return url_walk(r, key, len, len, &w);
}

static int match_url(im_run *r, const vigil_url *u)
{
	int rc = 0;
	const char *value = u->url ? u->url : u->raw;
	if (u->host && *u->host) {
		if (looks_like_ip(u->host))
			rc = match_ip(r, u->host, "url", value);
		else
			rc = match_host(r, u->host, "url", value);
	}
	if (!rc && u->url)
		rc = match_url_string(r, u->url);
	if (!rc && u->scheme && strcmp(u->scheme, "mailto") == 0)
		rc = match_mailto(r, u);
	return rc;
}

static int match_received(im_run *r, const vigil_received *rv)
{
	int rc = match_ip(r, rv->ip, "received", rv->ip);
	/* Many MTAs write the same name two or three times. */
	const char *names[] = {rv->from_host, rv->helo, rv->rdns};
	for (size_t i = 0; i < 3 && !rc; i++) {
		if (!names[i] || (i >= 1 && names[0] && strcasecmp(names[i], names[0]) == 0) ||
			(i == 2 && names[1] && strcasecmp(names[2], names[1]) == 0))
			continue;
		if (looks_like_ip(names[i]))
			continue; /* an address literal HELO: the IP is matched above */
		rc = match_host(r, names[i], "received", names[i]);
	}
	return rc;
}

/* ---- text (subject and bodies) ----------------------------------------- */

/*
 * Text is cut into what an indicator can be, each piece looked up in the
 * tables above: runs of host characters (domains, by their parents), the
 * address around each '@', runs of 32, 40 or 64 hex digits (hashes), and
 * what follows each "//" (URLs, by their prefixes). The cost is the text's
 * length whatever the number of indicators. A first version searched text
 * for every indicator with one Hyperscan literal database: 100,000 addresses
 * at gmail.com took 55 s to compile and 385 ms per message (literals that
 * share their last bytes are confirmed one by one), against 35 us with 10.
 */

static bool is_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_host_char(unsigned char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_';
}

/* The local part of an address as text shows it. '/', '=', '?' and '&' are
 * legal but rare there, and common just before an address in a URL query
 * ("?to=a@x"), so they end it. */
static bool is_local_char(unsigned char c)
{
	return is_alnum(c) || (c && strchr(".!#$%'*+-^_`{|}~", c));
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (lower(c) >= 'a' && lower(c) <= 'f');
}

/* Where a URL written in text ends. */
static bool url_stop(unsigned char c)
{
	return c <= 0x20 || c == 0x7f || strchr("\"'<>`\\{}|^", c);
}

/* Reports group g, found in text at [a, b) (the evidence), once per message.
 * Returns 0, VIGIL_ENOMEM or the callback's code. */
static int text_hit(im_run *r, long g, const char *text, size_t a, size_t b,
	const char *artifact)
{
	if (seen(r->s, (uint32_t)g, false) || r->s->text_hits >= TEXT_HITS_MAX)
		return 0;
	r->s->text_hits++;
	if (b - a > TEXT_EVIDENCE_MAX)
		b = a + TEXT_EVIDENCE_MAX;
	char *v = buf_get(&r->s->value, b - a + 1);
	if (!v)
		return VIGIL_ENOMEM;
	memcpy(v, text + a, b - a);
	v[b - a] = '\0';
	return report(r, g, artifact, v);
}

/* A run of host characters: the name and each parent. */
static int text_name(im_run *r, const char *t, size_t a, size_t b, const char *artifact)
{
	while (a < b && (t[a] == '.' || t[a] == '-' || t[a] == '_'))
		a++;
	while (b > a && (t[b - 1] == '.' || t[b - 1] == '-' || t[b - 1] == '_'))
		b--;
	if (b - a > TEXT_NAME_MAX || !memchr(t + a, '.', b - a))
		return 0;
	for (size_t p = a; p < b;) {
		long g = find_group(r->m, K_DOMAIN, t + p, b - p, hash_key(K_DOMAIN, t + p, b - p));
		if (g >= 0) {
			int rc = text_hit(r, g, t, a, b, artifact);
			if (rc)
				return rc;
		}
		const char *dot = memchr(t + p, '.', b - p);
		if (!dot)
			break;
		p = (size_t)(dot - t) + 1;
	}
	return 0;
}

/* Hashes inside a run of host characters: alphanumeric pieces that are all
 * hex and as long as an MD5, SHA-1 or SHA-256. */
static int text_hashes(im_run *r, const char *t, size_t a, size_t b, const char *artifact)
{
	for (size_t p = a; p < b;) {
		size_t q = p;
		bool hex = true;
		while (q < b && is_alnum((unsigned char)t[q]))
			hex &= is_hex((unsigned char)t[q++]);
		size_t n = q - p;
		if (hex && (n == 32 || n == 40 || n == 64)) {
			long g = find_group(r->m, K_HASH, t + p, n, hash_key(K_HASH, t + p, n));
			if (g >= 0) {
				int rc = text_hit(r, g, t, p, q, artifact);
				if (rc)
					return rc;
			}
		}
		p = q < b ? q + 1 : q;
	}
	return 0;
}

/* The address around the '@' at i. */
static int text_address(im_run *r, const char *t, size_t len, size_t i, const char *artifact)
{
	size_t a = i, b = i + 1;
	while (a > 0 && i - a < 64 && is_local_char((unsigned char)t[a - 1]))
		a--; /* 64: the longest local part SMTP allows */
	while (a < i && t[a] == '.')
		a++;
	while (b < len && b - i <= TEXT_NAME_MAX && is_host_char((unsigned char)t[b]))
		b++;
	while (b > i + 1 && (t[b - 1] == '.' || t[b - 1] == '-'))
		b--;
	if (a == i || b == i + 1)
		return 0;
	long g = find_group(r->m, K_EMAIL, t + a, b - a, hash_key(K_EMAIL, t + a, b - a));
	return g < 0 ? 0 : text_hit(r, g, t, a, b, artifact);
}

/* The URL whose "//" is at i: looked up as "//host/..." (http and https
 * indicators, whatever scheme the text shows), and as "scheme://host/..."
 * when another scheme precedes it. Host and scheme are lowered as libcurl
 * lowers them in indicators. Reads at most the longest URL indicator plus
 * two bytes, so the work per "//" is bounded; `budget` bounds the total. */
static int text_url(im_run *r, const char *t, size_t len, size_t i, const char *artifact,
	size_t *budget)
{
	size_t lim = r->m->url_lens_max + 2, s0 = i; /* s0: where a scheme starts */
	if (i > 0 && t[i - 1] == ':') {
		size_t k = i - 1;
		while (k > 0 && i - k < 16 && (is_alnum((unsigned char)t[k - 1]) ||
			t[k - 1] == '+' || t[k - 1] == '-' || t[k - 1] == '.'))
			k--;
		if (k < i - 1)
			s0 = k;
	}
	lim += i - s0; /* the "//" key starts after the scheme */
	size_t e = i;
	while (e < len && e - s0 < lim && !url_stop((unsigned char)t[e]))
		e++;
	bool whole = e - s0 < lim;
	if (whole) /* a URL at the end of a sentence */
		while (e > i + 2 && strchr(".,;:!?)]}", t[e - 1]))
			e--;
	size_t cost = e - s0;
	if (cost > *budget)
		return 0;
	*budget -= cost;
	char *k = buf_get(&r->s->key, e - s0 + 1);
	if (!k)
		return VIGIL_ENOMEM;
	size_t n = e - s0;
	memcpy(k, t + s0, n);
	size_t host = i - s0 + 2;
	for (size_t p = 0; p < n && (p < host || !strchr("/?#", k[p])); p++)
		k[p] = (char)lower((unsigned char)k[p]);
	/* The evidence runs to the URL's end, past what was read. */
	size_t ev = e;
	while (!whole && ev < len && ev - s0 < TEXT_EVIDENCE_MAX && !url_stop((unsigned char)t[ev]))
		ev++;
	im_where w = {.text = t, .a = s0, .b = ev, .artifact = artifact};
	int rc = url_walk(r, k + (i - s0), n - (i - s0), whole ? n - (i - s0) : SIZE_MAX, &w);
	if (rc || s0 == i)
		return rc;
	static const char *const web[] = {"http:", "https:", "hxxp:", "hxxps:"};
	for (size_t j = 0; j < sizeof(web) / sizeof(*web); j++)
		if (strlen(web[j]) == i - s0 && memcmp(k, web[j], i - s0) == 0)
			return 0; /* the "//" key covered it */
	return url_walk(r, k, n, whole ? n : SIZE_MAX, &w);
}

/* Shortest hash a text can hold (MD5's 32 hex digits): a shorter run of
 * host characters holds none. */
#define TEXT_HASH_MIN 32

/* What a byte of text starts, for scan_text(): a run of host characters,
 * an address around '@', a URL at "//". 0 for the bytes it skips. */
enum { TEXT_RUN = 1, TEXT_AT = 2, TEXT_SLASH = 4 };

static void text_class_init(vigil_intel_matcher *m)
{
	bool runs = m->kind_count[K_DOMAIN] || m->kind_count[K_HASH];
	for (unsigned c = 0; c < 256; c++) {
		uint8_t k = 0;
		if (runs && is_host_char((unsigned char)c))
			k |= TEXT_RUN;
		if (c == '@' && m->kind_count[K_EMAIL])
			k |= TEXT_AT;
		if (c == '/' && m->kind_count[K_URL])
			k |= TEXT_SLASH;
		m->text_class[c] = k;
	}
}

static int scan_text(im_run *r, const char *t, size_t len, const char *artifact)
{
	const vigil_intel_matcher *m = r->m;
	const uint8_t *cls = m->text_class;
	bool names = m->kind_count[K_DOMAIN], hashes = m->kind_count[K_HASH];
	/* URL reads may overlap ("//a//a//a"): at most 8 bytes per byte of text. */
	size_t budget = 8 * len + 65536;
	int rc = 0;
	size_t i = 0;
	while (!rc && r->s->text_hits < TEXT_HITS_MAX) {
		while (i < len && !cls[(unsigned char)t[i]])
			i++;
		if (i >= len)
			break;
		uint8_t k = cls[(unsigned char)t[i]];
		if (k & TEXT_RUN) {
			size_t j = i + 1;
			while (j < len && (cls[(unsigned char)t[j]] & TEXT_RUN))
				j++;
			if (names)
				rc = text_name(r, t, i, j, artifact);
			if (!rc && hashes && j - i >= TEXT_HASH_MIN)
				rc = text_hashes(r, t, i, j, artifact);
			i = j;
			continue;
		}
		if (k & TEXT_AT)
			rc = text_address(r, t, len, i, artifact);
		else if (i + 1 < len && t[i + 1] == '/')
			rc = text_url(r, t, len, i, artifact, &budget);
		i++;
	}
	return rc;
}

int intel__match_message(const vigil_intel_matcher *m, vigil_intel_scratch *s,
	const vigil_message *msg, bool respect_validity, intel__hit_fn hit, void *ud)
{
	if (!m || m->n_indicators == 0)
		return 0;
	int rc = 0;
	if (s->seen_n) {
		memset(s->seen, 0, s->seen_cap * sizeof(*s->seen));
		s->seen_n = 0;
	}
	s->text_hits = 0;
	im_run r = {.m = m, .s = s, .msg = msg, .validity = respect_validity, .hit = hit, .ud = ud};

	if (!rc)
		rc = match_mailbox(&r, &msg->from, "from");
	if (!rc)
		rc = match_mailbox(&r, &msg->sender, "sender");
	for (size_t i = 0; i < msg->reply_to.len && !rc; i++)
		rc = match_mailbox(&r, &msg->reply_to.items[i], "reply_to");
	if (!rc)
		rc = match_mailbox(&r, &msg->return_path, "return_path");
	for (size_t i = 0; i < msg->nested.len && !rc; i++)
		rc = match_mailbox(&r, &msg->nested.items[i].from, "nested_from");
	if (!rc)
		rc = match_host(&r, msg->message_id_domain, "message_id", msg->message_id_domain);
	for (size_t i = 0; i < msg->received.len && !rc; i++)
		rc = match_received(&r, &msg->received.items[i]);
	for (size_t i = 0; i < msg->urls.len && !rc; i++)
		rc = match_url(&r, &msg->urls.items[i]);
	for (size_t i = 0; i < msg->attachments.len && !rc && m->kind_count[K_HASH]; i++) {
		const vigil_attachment *a = &msg->attachments.items[i];
		const char *h[] = {a->md5, a->sha1, a->sha256};
		for (size_t k = 0; k < 3 && !rc; k++)
			if (h[k][0])
				rc = lookup(&r, K_HASH, h[k], strlen(h[k]), "attachment", h[k]);
	}
	if (!rc && msg->subject)
		rc = scan_text(&r, msg->subject, strlen(msg->subject), "subject");
	for (size_t i = 0; i < msg->bodies.len && !rc; i++)
		if (msg->bodies.items[i].text)
			rc = scan_text(&r, msg->bodies.items[i].text, msg->bodies.items[i].len, "body");
	return rc;
}

/* Stops the walk at the first hit: a positive code no other path returns. */
static int any_hit(void *ud, const vigil_indicator *ind, const char *artifact, const char *value)
{
	(void)ud, (void)ind, (void)artifact, (void)value;
	return 1;
}

int intel__match_any(const vigil_intel_matcher *m, vigil_intel_scratch *s,
	const vigil_message *msg, bool respect_validity)
{
	int rc = intel__match_message(m, s, msg, respect_validity, any_hit, NULL);
	return rc < 0 ? rc : rc > 0;
}
