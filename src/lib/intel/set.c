/*
 * The indicator set: each value normalised for its type (domains as A-labels,
 * URLs as libcurl writes them, addresses and ranges in canonical text, hashes
 * as lower-case hex) and kept once. It reads no feeds (feeds.c) and matches
 * nothing (match.c).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "extract/extract.h"
#include "intel/intel_private.h"
#include "vigil_limits.h"

/* One slot of the dedup index: the entry's hash, and 1 + its index in
 * items (0: empty). Open addressing, linear probing, at most half full. */
typedef struct set_slot {
	uint32_t hash;
	uint32_t idx;
} set_slot;

/* The set as handed out is the first member, so a pointer to one is a
 * pointer to the other; only intel__set_new() makes sets. */
typedef struct set_priv {
	vigil_intel_set pub;
	set_slot *slots;
	size_t n_slots; /* a power of two, or 0 */
	/* The strings of the last indicator added: a feed gives the same source,
	 * name and labels to thousands of indicators in a row, so they are
	 * copied once. Keys are the caller's pointers or contents. */
	const char *last[4];
} set_priv;

static set_priv *priv(vigil_intel_set *s)
{
	return (set_priv *)s;
}

vigil_intel_set *intel__set_new(void)
{
	set_priv *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (!(p->pub.arena = vigil_arena_new())) {
		free(p);
		return NULL;
	}
	return &p->pub;
}

void intel__set_free(vigil_intel_set *set)
{
	if (!set)
		return;
	set_priv *p = priv(set);
	vigil_arena_free(p->pub.arena);
	free(p->slots);
	free(p);
}

const char *intel__type_name(vigil_ioc_type t)
{
	switch (t) {
	case VIGIL_IOC_DOMAIN: return "domain";
	case VIGIL_IOC_URL: return "url";
	case VIGIL_IOC_EMAIL: return "email";
	case VIGIL_IOC_IPV4: return "ipv4";
	case VIGIL_IOC_IPV6: return "ipv6";
	case VIGIL_IOC_MD5: return "md5";
	case VIGIL_IOC_SHA1: return "sha1";
	case VIGIL_IOC_SHA256: return "sha256";
	}
	return "unknown";
}

/* ---- normalisation ---------------------------------------------------- */

/* Room for the longest value: a URL of VIGIL_MAX_URL_BYTES, after libcurl
 * re-encoded it. */
#define NORM_CAP (VIGIL_MAX_URL_BYTES + 1)

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool has_ctl(const char *s, size_t n, bool allow_space)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (!allow_space && c == ' '))
			return true;
	}
	return false;
}

/* Checks a lower-case A-label domain in place. Returns NULL or why not. */
static const char *check_domain(const char *d, bool allow_suffix)
{
	size_t n = strlen(d);
	if (n == 0)
		return "empty domain";
	if (n > 253)
		return "domain longer than 253 characters";
	size_t label = 0, labels = 0;
	const char *last = d;
	for (size_t i = 0; i <= n; i++) {
		char c = d[i];
		if (c == '.' || c == '\0') {
			if (label == 0)
				return "empty label in domain";
			if (label > 63)
				return "domain label longer than 63 characters";
			labels++;
			label = 0;
			if (c == '.')
				last = d + i + 1;
			continue;
		}
		/* Underscores are not LDH, but real hosts carry them and mail
		 * still reaches them; a detector must see those too. */
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return "character not allowed in a domain";
		label++;
	}
	if (labels < 2)
		return "a single label is not a domain";
	if (strspn(last, "0123456789") == strlen(last))
		return "numeric top-level label (an IP address?)";
	/* "com" or "co.uk" as an indicator would match every domain under it. */
	const psl_ctx_t *psl = intel__psl();
	if (!allow_suffix && psl &&
		psl_is_public_suffix2(psl, d, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE))
		return "a public suffix, not a domain";
	return NULL;
}

/* Domain to lower-case A-label in `out`. "*.example.com" is example.com:
 * a domain indicator covers its sub-domains anyway. */
static const char *norm_domain(char *out, size_t cap, const char *s, size_t n,
	vigil_arena *a, bool allow_suffix)
{
	if (n >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		n -= 2;
	}
	while (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0)
		return "empty domain";
	if (n >= cap || n > 1024)
		return "domain too long";
	bool ascii = true;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = false;
	if (ascii) {
		for (size_t i = 0; i < n; i++)
			out[i] = lower(s[i]);
		out[n] = '\0';
	} else {
		char tmp[1025];
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		/* IDNA costs an arena copy, kept even if the value is a
		 * duplicate: rare enough not to matter. */
		const char *d = domain__to_ascii(a, tmp);
		if (!d)
			return "not a valid internationalised domain";
		size_t dn = strlen(d);
		if (dn >= cap)
			return "domain too long";
		memcpy(out, d, dn + 1);
	}
	return check_domain(out, allow_suffix);
}

static const char *norm_email(char *out, size_t cap, const char *s, size_t n, vigil_arena *a)
{
	if (n > 7 && strncasecmp(s, "mailto:", 7) == 0) {
		s += 7;
		n -= 7;
	}
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
	}
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '@')
			at = s + i;
	if (!at)
		return "no '@' in an e-mail address";
	size_t ln = (size_t)(at - s);
	if (ln == 0)
		return "empty local part";
	if (ln > 256)
		return "local part too long";
	for (size_t i = 0; i < ln; i++)
		if (strchr("<>()[]\\,;:\"@ ", s[i]))
			return "character not allowed in a local part";
	if (ln + 2 >= cap)
		return "address too long";
	for (size_t i = 0; i < ln; i++)
		out[i] = lower(s[i]);
	out[ln] = '@';
	return norm_domain(out + ln + 1, cap - ln - 1, at + 1, n - ln - 1, a, true);
}

static const char *norm_hash(char *out, const char *s, size_t n, vigil_ioc_type t)
{
	size_t want = t == VIGIL_IOC_MD5 ? 32 : t == VIGIL_IOC_SHA1 ? 40 : 64;
	if (n != want)
		return t == VIGIL_IOC_MD5 ? "an MD5 hash is 32 hex digits" :
			t == VIGIL_IOC_SHA1 ? "a SHA-1 hash is 40 hex digits" :
					      "a SHA-256 hash is 64 hex digits";
	for (size_t i = 0; i < n; i++) {
		char c = lower(s[i]);
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return "not a hex digit in a hash";
		out[i] = c;
	}
	out[n] = '\0';
	return NULL;
}

/* Address or range, either family whatever the feed said (MISP's ip-dst
 * holds both): the type follows the address. An IPv4-mapped IPv6 address is
 * IPv4; host bits past the prefix are cleared and a full-length prefix is a
 * plain address, so "192.0.2.1/32" and "192.0.2.1" are one indicator. */
static const char *norm_ip(char *out, size_t cap, const char *s, size_t n, vigil_ioc_type *t)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (n == 0)
		return "empty address";
	if (n >= sizeof(buf))
		return "too long for an address";
	memcpy(buf, s, n);
	buf[n] = '\0';
	long len = -1;
	char *slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		const char *d = slash + 1;
		size_t nd = strspn(d, "0123456789");
		if (nd == 0 || nd > 3 || d[nd] != '\0')
			return "bad prefix length after '/'";
		len = strtol(d, NULL, 10);
	}
	uint8_t key[16] = {0};
	int fam;
	unsigned bits;
	if (strchr(buf, ':')) {
		if (inet_pton(AF_INET6, buf, key) != 1)
			return "not an IP address";
		if (len > 128)
			return "IPv6 prefix length over 128";
		fam = AF_INET6;
		bits = len < 0 ? 128 : (unsigned)len;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (bits >= 96 && memcmp(key, mapped, 12) == 0) {
			memmove(key, key + 12, 4);
			memset(key + 4, 0, 12);
			fam = AF_INET;
			bits -= 96;
		}
	} else {
		/* inet_pton: dotted quad only, no "10.1", no octal "010.0.0.1". */
		if (inet_pton(AF_INET, buf, key) != 1)
			return "not an IP address";
		if (len > 32)
			return "IPv4 prefix length over 32";
		fam = AF_INET;
		bits = len < 0 ? 32 : (unsigned)len;
	}
	unsigned full = fam == AF_INET ? 32 : 128;
	/* A range this wide would flag most mail on the Internet: a feed error,
	 * not an indicator. */
	if (bits < (fam == AF_INET ? 8u : 16u))
		return "range too wide to be an indicator";
	if (bits < full) {
		unsigned byte = bits / 8;
		if (bits % 8)
			key[byte++] &= (uint8_t)(0xffu << (8 - bits % 8));
		memset(key + byte, 0, full / 8 - byte);
	}
	static const uint8_t zero[16];
	if (memcmp(key, zero, full / 8) == 0)
		return "the unspecified address";
	if ((fam == AF_INET && key[0] == 127) ||
		(fam == AF_INET6 && memcmp(key, zero, 15) == 0 && key[15] == 1))
		return "a loopback address";
	char txt[INET6_ADDRSTRLEN];
	if (!inet_ntop(fam, key, txt, sizeof(txt)))
		return "not an IP address";
	if (bits < full)
		snprintf(out, cap, "%s/%u", txt, bits);
	else
		snprintf(out, cap, "%s", txt);
	*t = fam == AF_INET ? VIGIL_IOC_IPV4 : VIGIL_IOC_IPV6;
	return NULL;
}

/* The host of a URL as extract/url.c writes it: lower case, IDNA A-label,
 * no trailing dot; IP literals as libcurl gives them. */
static const char *norm_url_host(CURLU *h, vigil_arena *a)
{
	char *host = NULL;
	if (curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host)
		return "URL without a host";
	size_t n = strlen(host);
	while (n > 0 && host[n - 1] == '.')
		n--;
	const char *why = NULL;
	if (n == 0) {
		why = "URL without a host";
	} else if (host[0] != '[') {
		char out[1025];
		struct in_addr v4;
		host[n] = '\0';
		if (inet_pton(AF_INET, host, &v4) == 1) {
			snprintf(out, sizeof(out), "%s", host);
		} else if ((why = norm_domain(out, sizeof(out), host, n, a, true)) != NULL) {
			/* url.c keeps a host IDNA refuses, lower-cased; do the same
			 * so both sides meet. */
			why = NULL;
			if (n >= sizeof(out))
				why = "URL host too long";
			else
				for (size_t i = 0; i <= n; i++)
					out[i] = lower(host[i]);
		}
		if (!why && strcmp(out, host) != 0 &&
			curl_url_set(h, CURLUPART_HOST, out, 0) != CURLUE_OK)
			why = "URL host refused by libcurl";
	}
	curl_free(host);
	return why;
}

static const char *norm_url(char *out, size_t cap, const char *s, size_t n, vigil_arena *a,
	int *rc)
{
	if (n > VIGIL_MAX_URL_BYTES)
		return "URL longer than the URL limit";
	char in[VIGIL_MAX_URL_BYTES + 1];
	memcpy(in, s, n);
	in[n] = '\0';
	CURLU *h = curl_url();
	if (!h) {
		*rc = VIGIL_ENOMEM;
		return "out of memory";
	}
	const char *why = NULL;
	/* The flags extract/url.c parses message URLs with, so both spellings
	 * agree. A feed's "evil.example/gate.php" gets http:// (libcurl's
	 * guess), the scheme such a link in mail most often has. */
	CURLUcode uc = curl_url_set(h, CURLUPART_URL, in,
		CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE | CURLU_GUESS_SCHEME);
	if (uc == CURLUE_OUT_OF_MEMORY) {
		*rc = VIGIL_ENOMEM;
		why = "out of memory";
	} else if (uc != CURLUE_OK) {
		why = "not a URL libcurl can parse";
	} else if (!(why = norm_url_host(h, a))) {
		char *url = NULL;
		if (curl_url_get(h, CURLUPART_URL, &url, 0) != CURLUE_OK || !url)
			why = "not a URL libcurl can write";
		else if (strlen(url) >= cap)
			why = "URL longer than the URL limit";
		else
			memcpy(out, url, strlen(url) + 1);
		curl_free(url);
	}
	curl_url_cleanup(h);
	return why;
}

/* ---- the dedup index ---------------------------------------------------- */

static uint32_t hash_entry(vigil_ioc_type t, const char *value, const char *source)
{
	/* FNV-1a over the type, the value and the source, with a separator
	 * so "ab"+"c" and "a"+"bc" differ. */
	uint64_t h = 1469598103934665603ull ^ (uint64_t)t;
	h *= 1099511628211ull;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	if (source)
		for (const unsigned char *p = (const unsigned char *)source; *p; p++)
			h = (h ^ *p) * 1099511628211ull;
	return (uint32_t)(h ^ (h >> 32));
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Slot where the entry is, or the empty slot where it would go. */
static set_slot *find_slot(set_priv *p, uint32_t hash, vigil_ioc_type t, const char *value,
	const char *source)
{
	size_t mask = p->n_slots - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		set_slot *s = &p->slots[i];
		if (s->idx == 0)
			return s;
		if (s->hash != hash)
			continue;
		const vigil_indicator *e = &p->pub.items.items[s->idx - 1];
		if (e->type == t && strcmp(e->value, value) == 0 && same_str(e->source, source))
			return s;
	}
}

/* Room for one more entry at half load. Returns 0 or VIGIL_ENOMEM. */
static int grow_index(set_priv *p)
{
	if (p->n_slots && (p->pub.items.len + 1) * 2 <= p->n_slots)
		return 0;
	size_t n = p->n_slots ? p->n_slots * 2 : 1024;
	set_slot *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return VIGIL_ENOMEM;
	for (size_t i = 0; i < p->n_slots; i++) {
		if (!p->slots[i].idx)
			continue;
		size_t j = p->slots[i].hash & (n - 1);
		while (slots[j].idx)
			j = (j + 1) & (n - 1);
		slots[j] = p->slots[i];
	}
	free(p->slots);
	p->slots = slots;
	p->n_slots = n;
	return 0;
}

/* A copy of `s` in the set, shared with the previous indicator's field `k`
 * when equal. Sets *ok false when out of memory. */
static const char *keep(set_priv *p, int k, const char *s, bool *ok)
{
	if (!s)
		return NULL;
	if (p->last[k] && strcmp(p->last[k], s) == 0)
		return p->last[k];
	const char *c = vigil_arena_strdup(p->pub.arena, s);
	if (!c)
		*ok = false;
	else
		p->last[k] = c;
	return c;
}

/* Adds a normalised indicator unless present. Returns 0, VIGIL_ENOMEM or
 * VIGIL_ELIMIT; on error the set is unchanged. */
static int insert(set_priv *p, const vigil_indicator *ind)
{
	int rc = grow_index(p);
	if (rc)
		return rc;
	uint32_t h = hash_entry(ind->type, ind->value, ind->source);
	set_slot *slot = find_slot(p, h, ind->type, ind->value, ind->source);
	if (slot->idx)
		return 0;
	if (p->pub.items.len >= VIGIL_MAX_INDICATORS)
		return VIGIL_ELIMIT;
	bool ok = true;
	vigil_indicator c = *ind;
	c.value = vigil_arena_strdup(p->pub.arena, ind->value);
	c.source = keep(p, 0, ind->source, &ok);
	c.source_id = vigil_arena_strdup(p->pub.arena, ind->source_id);
	c.name = keep(p, 1, ind->name, &ok);
	c.actor = keep(p, 2, ind->actor, &ok);
	c.labels = keep(p, 3, ind->labels, &ok);
	if (!ok || !c.value || (ind->source_id && !c.source_id))
		return VIGIL_ENOMEM; /* arena bytes stay until the set is freed */
	vigil_indicator *e = VIGIL_VEC_PUSH(p->pub.arena, &p->pub.items);
	if (!e)
		return VIGIL_ENOMEM;
	*e = c;
	slot->hash = h;
	slot->idx = (uint32_t)p->pub.items.len;
	return 0;
}

int intel__set_add(vigil_intel_set *set, const vigil_indicator *ind, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	set_priv *p = priv(set);
	const char *v = ind->value ? ind->value : "";
	size_t n = strlen(v);
	while (n && is_space((unsigned char)*v)) {
		v++;
		n--;
	}
	while (n && is_space((unsigned char)v[n - 1]))
		n--;
	if (n == 0) {
		*why = "empty value";
		return VIGIL_EPARSE;
	}
	if (has_ctl(v, n, ind->type == VIGIL_IOC_URL)) {
		*why = "control character or space in the value";
		return VIGIL_EPARSE;
	}
	static _Thread_local char out[NORM_CAP];
	vigil_indicator c = *ind;
	int rc = 0;
	switch (ind->type) {
	case VIGIL_IOC_DOMAIN:
		*why = norm_domain(out, sizeof(out), v, n, set->arena, false);
		break;
	case VIGIL_IOC_URL:
		*why = norm_url(out, sizeof(out), v, n, set->arena, &rc);
		break;
	case VIGIL_IOC_EMAIL:
		*why = norm_email(out, sizeof(out), v, n, set->arena);
		break;
	case VIGIL_IOC_IPV4:
	case VIGIL_IOC_IPV6:
		*why = norm_ip(out, sizeof(out), v, n, &c.type);
		break;
	case VIGIL_IOC_MD5:
	case VIGIL_IOC_SHA1:
	case VIGIL_IOC_SHA256:
		*why = norm_hash(out, v, n, ind->type);
		break;
	default:
		*why = "unknown indicator type";
	}
	if (rc)
		return rc;
	if (*why)
		return VIGIL_EPARSE;
	c.value = out;
	return insert(p, &c);
}

int intel__set_merge(vigil_intel_set *dst, vigil_intel_set *src)
{
	set_priv *d = priv(dst), *s = priv(src);
	if (d->pub.items.len == 0) {
		/* The common case, one feed into a fresh set: take src's memory
		 * whole instead of copying it. */
		set_priv tmp = *d;
		*d = *s;
		*s = tmp;
		return 0;
	}
	size_t before = d->pub.items.len;
	for (size_t i = 0; i < s->pub.items.len; i++) {
		int rc = insert(d, &s->pub.items.items[i]);
		if (rc) {
			/* Take back what was added: drop the items, and rebuild
			 * the index without their slots (removing slots in place
			 * would break probe chains). The arena bytes stay until
			 * the set goes. */
			d->pub.items.len = before;
			set_slot *fresh = calloc(d->n_slots, sizeof(*fresh));
			size_t mask = d->n_slots - 1;
			for (size_t j = 0; j < d->n_slots; j++) {
				if (!d->slots[j].idx)
					continue;
				if (d->slots[j].idx > before) {
					if (!fresh) /* broken chains cost duplicates only */
						d->slots[j].idx = 0;
					continue;
				}
				if (!fresh)
					continue;
				size_t k = d->slots[j].hash & mask;
				while (fresh[k].idx)
					k = (k + 1) & mask;
				fresh[k] = d->slots[j];
			}
			if (fresh) {
				free(d->slots);
				d->slots = fresh;
			}
			return rc;
		}
	}
	return 0;
}
