/*
 * Parses one Received field: its clauses (from, by, with, id, for, the date
 * after the last ";") and the connecting IP, reverse-DNS name and HELO in the
 * comment after "from". It does not judge which hops are trusted.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "extract/extract.h"

/*
 * Shapes this understands (all seen in real mail):
 *   Postfix    from helo (rdns [ip]) by host (Postfix) with ESMTP id X for <a>; date
 *              from helo (unknown [ip]) ...            -> no rdns
 *   Sendmail   from helo (user@rdns [ip] (may be forged)) by ...
 *   Gmail      from helo (rdns. [ip]) by mx.google.com with ESMTPS id X for <a> (...); date
 *   Exchange   from helo (ip) by host (ip) with Microsoft SMTP Server (...) id X via ...; date
 *   Exim       from rdns ([ip]:port helo=x) by ... ;  from [ip] (port=N helo=x) by ...
 *   qmail      from rdns (HELO x) (user@ip) by ... ;  from unknown (HELO x) ([ip]) ...
 *   ZMailer    from rdns ([ip]:port "EHLO x" ident) by ...
 *   fetchmail  from host [ip] by localhost with IMAP (...) for a (single-drop); date
 * When the comment names the HELO separately (helo=, HELO x), these MTAs put
 * the verified reverse-DNS name after "from": that word then becomes `rdns`.
 */

/* Longest IP literal text we try to read: an IPv6 address with an IPv4 tail
 * and a zone is under 64 characters; anything longer is not an address. */
#define IP_TEXT_MAX 64

/* Words kept of a "with" clause: "Microsoft SMTP Server" has three. */
#define WITH_MAX_WORDS 3

typedef struct span {
	const char *s;
	size_t n;
} span;

typedef enum clause {
	CL_NONE,
	CL_FROM,
	CL_BY,
	CL_VIA,
	CL_WITH,
	CL_ID,
	CL_FOR,
} clause;

/* What the from-clause comments told us, before it is copied out. */
typedef struct tcp_info {
	char ip_bracket[INET6_ADDRSTRLEN]; /* first [literal]: the MTA's own notation */
	char ip_bare[INET6_ADDRSTRLEN];    /* first bare address (Exchange, qmail) */
	span rdns;                         /* the word before ip_bracket in its comment */
	bool rdns_given;                   /* a word stood there, even "unknown" */
	span helo;                         /* helo=x, HELO x, "EHLO x" */
} tcp_info;

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool span_ieq(span t, const char *word)
{
	size_t n = strlen(word);
	return t.n == n && strncasecmp(t.s, word, n) == 0;
}

static bool span_iprefix(span t, const char *prefix)
{
	size_t n = strlen(prefix);
	return t.n >= n && strncasecmp(t.s, prefix, n) == 0;
}

/* Copies `value` with every run of whitespace made one space, trimmed; the
 * parse then works on this copy, so every span ends up inside it. NULL when
 * out of memory. */
static char *collapse_space(vigil_arena *a, const char *value, size_t *len)
{
	size_t n = strlen(value);
	char *out = vigil_arena_alloc(a, n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	bool pending = false;
	for (size_t i = 0; i < n; i++) {
		if (is_space(value[i])) {
			pending = o > 0;
			continue;
		}
		if (pending)
			out[o++] = ' ';
		pending = false;
		out[o++] = value[i];
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/* End of the comment opening at s[i] == '(': just past its matching ')', or
 * n when it is never closed. Nesting and backslash escapes are honoured;
 * the depth is a counter, so hostile nesting costs no stack. */
static size_t comment_end(const char *s, size_t i, size_t n)
{
	size_t depth = 0;
	for (; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && --depth == 0)
			return i + 1;
	}
	return n;
}

/* Where the date starts: the last ";" outside comments. When comments never
 * close, the last ";" anywhere, so a broken comment does not hide the date.
 * Returns n when there is no ";". */
static size_t date_semicolon(const char *s, size_t n)
{
	size_t depth = 0, top = n, any = n;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && depth > 0 && i + 1 < n)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && depth > 0)
			depth--;
		else if (s[i] == ';') {
			any = i;
			if (depth == 0)
				top = i;
		}
	}
	return top < n ? top : any;
}

/* Canonical text of an IP address written as `t` (brackets already removed):
 * accepts an "IPv6:" prefix and drops a "%zone"; IPv4-mapped IPv6 becomes the
 * IPv4 address. Returns false when `t` is no address. */
static bool ip_canonical(span t, char out[INET6_ADDRSTRLEN])
{
	if (span_iprefix(t, "IPv6:")) {
		t.s += 5;
		t.n -= 5;
	}
	const char *zone = memchr(t.s, '%', t.n);
	if (zone)
		t.n = (size_t)(zone - t.s);
	if (t.n == 0 || t.n >= IP_TEXT_MAX)
		return false;
	char buf[IP_TEXT_MAX];
	memcpy(buf, t.s, t.n);
	buf[t.n] = '\0';

	unsigned char addr[16];
	if (inet_pton(AF_INET, buf, addr) == 1)
		return inet_ntop(AF_INET, addr, out, INET6_ADDRSTRLEN) != NULL;
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return false;
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(addr, v4mapped, sizeof(v4mapped)) == 0)
		return inet_ntop(AF_INET, addr + 12, out, INET6_ADDRSTRLEN) != NULL;
	return inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN) != NULL;
}

/* An address in square brackets at the start of `t` ("[192.0.2.1]:25" too). */
static bool ip_bracketed(span t, char out[INET6_ADDRSTRLEN])
{
	if (t.n < 2 || t.s[0] != '[')
		return false;
	const char *close = memchr(t.s, ']', t.n);
	if (!close)
		return false;
	return ip_canonical((span){t.s + 1, (size_t)(close - t.s) - 1}, out);
}

/* A bare address, possibly after "user@" (qmail) or "key=", possibly followed
 * by a "," or ";". */
static bool ip_bare(span t, char out[INET6_ADDRSTRLEN])
{
	for (size_t i = t.n; i > 0; i--) {
		if (t.s[i - 1] == '@' || t.s[i - 1] == '=') {
			t.s += i;
			t.n -= i;
			break;
		}
	}
	while (t.n > 0 && (t.s[t.n - 1] == ',' || t.s[t.n - 1] == ';'))
		t.n--;
	return ip_canonical(t, out);
}

/* A host name as a reverse lookup gives it: letters, digits, "-", "_" and
 * dots, at least one dot inside, and not an address. */
static bool is_hostname(span t)
{
	if (t.n == 0 || t.n > 255)
		return false;
	bool dot = false;
	for (size_t i = 0; i < t.n; i++) {
		char c = t.s[i];
		if (c == '.')
			dot = dot || (i > 0 && i + 1 < t.n);
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				   c == '-' || c == '_'))
			return false;
	}
	char ip[INET6_ADDRSTRLEN];
	return dot && !ip_canonical(t, ip);
}

/* The reverse-DNS name written before "[ip]": "user@" is dropped (Sendmail),
 * a final dot too (Gmail writes the absolute name); "unknown" means the
 * lookup failed (Postfix). Returns an empty span when there is no name. */
static span rdns_name(span t)
{
	for (size_t i = t.n; i > 0; i--) {
		if (t.s[i - 1] == '@') {
			t.s += i;
			t.n -= i;
			break;
		}
	}
	if (t.n > 1 && t.s[t.n - 1] == '.')
		t.n--;
	if (span_ieq(t, "unknown"))
		return (span){NULL, 0};
	/* One-label names ("jalapeno", "localhost") are kept: they are what the
	 * MTA resolved. Only junk is dropped. */
	for (size_t i = 0; i < t.n; i++) {
		char c = t.s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			    c == '-' || c == '_' || c == '.'))
			return (span){NULL, 0};
	}
	char ip[INET6_ADDRSTRLEN];
	if (t.n == 0 || ip_canonical(t, ip))
		return (span){NULL, 0};
	return t;
}

/* Strips the quotes ZMailer puts around "EHLO name". */
static span unquote(span t)
{
	if (t.n > 0 && t.s[0] == '"') {
		t.s++;
		t.n--;
	}
	if (t.n > 0 && t.s[t.n - 1] == '"')
		t.n--;
	return t;
}

/* Reads one comment of the from clause, s[i..end) including its parentheses
 * (and any comments nested in it): words are split at spaces and
 * parentheses. The HELO value is never taken for the connecting address, as
 * a client may say "HELO 10.0.0.1" from anywhere. */
static void scan_tcp_comment(tcp_info *ti, const char *s, size_t i, size_t end)
{
	span prev = {NULL, 0};
	bool helo_next = false;
	while (i < end) {
		if (is_space(s[i]) || s[i] == '(' || s[i] == ')') {
			/* A parenthesis separates "(name [ip] (may be forged))" parts:
			 * the word before it is no longer adjacent. */
			if (s[i] == '(' || s[i] == ')')
				prev = (span){NULL, 0};
			i++;
			continue;
		}
		size_t j = i;
		while (j < end && !is_space(s[j]) && s[j] != '(' && s[j] != ')')
			j++;
		span t = {s + i, j - i};
		i = j;

		if (helo_next) {
			helo_next = false;
			if (!ti->helo.s)
				ti->helo = unquote(t);
			prev = (span){NULL, 0};
			continue;
		}
		span u = unquote(t);
		if (span_ieq(u, "HELO") || span_ieq(u, "EHLO")) {
			helo_next = true;
			continue;
		}
		if (span_iprefix(t, "helo=")) {
			if (!ti->helo.s && t.n > 5)
				ti->helo = (span){t.s + 5, t.n - 5};
			prev = (span){NULL, 0};
			continue;
		}
		char ip[INET6_ADDRSTRLEN];
		const char *open = memchr(t.s, '[', t.n);
		if (open) {
			/* qmail-ldap glues it: "(@[192.0.2.1])" */
			span lit = {open, t.n - (size_t)(open - t.s)};
			if (!ti->ip_bracket[0] && ip_bracketed(lit, ip)) {
				memcpy(ti->ip_bracket, ip, sizeof(ip));
				if (prev.s) {
					ti->rdns = rdns_name(prev);
					ti->rdns_given = true;
				}
			}
		} else if (!ti->ip_bare[0] && ip_bare(t, ip)) {
			memcpy(ti->ip_bare, ip, sizeof(ip));
		}
		prev = t;
	}
}

static clause keyword(span t)
{
	if (span_ieq(t, "from"))
		return CL_FROM;
	if (span_ieq(t, "by"))
		return CL_BY;
	if (span_ieq(t, "via"))
		return CL_VIA;
	if (span_ieq(t, "with"))
		return CL_WITH;
	if (span_ieq(t, "id"))
		return CL_ID;
	if (span_ieq(t, "for"))
		return CL_FOR;
	return CL_NONE;
}

/* "<a@b>," -> "a@b": the brackets (and a list separator) are notation. */
static span strip_angle(span t)
{
	while (t.n > 0 && (t.s[t.n - 1] == ',' || t.s[t.n - 1] == ';'))
		t.n--;
	if (t.n > 0 && t.s[0] == '<') {
		t.s++;
		t.n--;
	}
	if (t.n > 0 && t.s[t.n - 1] == '>')
		t.n--;
	return t;
}

/* Copies a span into the arena; an empty span gives NULL, as does running
 * out of memory (which *oom then records). */
static const char *copy(vigil_arena *a, span t, bool *oom)
{
	if (!t.s || t.n == 0)
		return NULL;
	char *c = vigil_arena_strndup(a, t.s, t.n);
	if (!c)
		*oom = true;
	return c;
}

/* The connecting address, most trusted notation first: a [literal] the
 * receiving MTA wrote in its comment, then a bare address there (Exchange,
 * qmail), then one written after the "from" host (fetchmail), then the "from"
 * word itself when it is an address (Exim "from [ip]", Yahoo "from 10.0.0.1").
 * `ip` is left empty when there is none. */
static void connecting_ip(char ip[INET6_ADDRSTRLEN], const tcp_info *ti, span extra_bracket,
	span extra_bare, span from)
{
	if (ti->ip_bracket[0]) {
		memcpy(ip, ti->ip_bracket, INET6_ADDRSTRLEN);
		return;
	}
	if (ti->ip_bare[0]) {
		memcpy(ip, ti->ip_bare, INET6_ADDRSTRLEN);
		return;
	}
	if (extra_bracket.s && ip_bracketed(extra_bracket, ip))
		return;
	if (extra_bare.s && ip_bare(extra_bare, ip))
		return;
	if (from.s && (ip_bracketed(from, ip) || ip_canonical(from, ip)))
		return;
	ip[0] = '\0';
}

static const char *copy_str(vigil_arena *a, const char *s, bool *oom)
{
	return copy(a, (span){s, strlen(s)}, oom);
}

int received__parse(vigil_received *out, vigil_arena *a, const char *value)
{
	out->time = VIGIL_NO_TIME;
	if (!value)
		value = "";
	size_t n;
	char *raw = collapse_space(a, value, &n);
	if (!raw)
		return VIGIL_ENOMEM;
	out->raw = raw;

	size_t semi = date_semicolon(raw, n);
	if (semi < n)
		out->time = date__parse(raw + semi + 1 + (raw[semi + 1] == ' '));

	/* The clauses, before the date: words and comments at top level. A
	 * keyword opens a clause and the next word is its value; comments
	 * belong to the open clause. Only the first of each clause counts. */
	span from = {0}, by = {0}, with = {0}, id = {0}, for_addr = {0};
	tcp_info ti = {0};
	span extra_bracket = {0}, extra_bare = {0}; /* "from host [ip]" (fetchmail) */
	clause cur = CL_NONE;
	bool want_value = false, with_open = false, from_seen = false, in_first_from = false;
	int with_words = 0;

	size_t i = 0;
	while (i < semi) {
		char c = raw[i];
		if (c == ' ' || c == ')') {
			i++;
			continue;
		}
		if (c == '(') {
			size_t end = comment_end(raw, i, semi);
			if (in_first_from)
				scan_tcp_comment(&ti, raw, i, end);
			with_open = false;
			want_value = false;
			i = end;
			continue;
		}
		size_t j = i;
		while (j < semi && raw[j] != ' ' && raw[j] != '(')
			j++;
		span t = {raw + i, j - i};
		i = j;

		clause k = keyword(t);
		if (k != CL_NONE) {
			cur = k;
			want_value = true;
			with_open = false;
			in_first_from = k == CL_FROM && !from_seen;
			if (k == CL_FROM)
				from_seen = true;
			continue;
		}
		if (want_value) {
			want_value = false;
			switch (cur) {
			case CL_FROM:
				if (in_first_from)
					from = t;
				break;
			case CL_BY:
				if (!by.s)
					by = t;
				break;
			case CL_WITH:
				if (!with.s) {
					with = t;
					with_open = true;
					with_words = 1;
				}
				break;
			case CL_ID:
				if (!id.s)
					id = strip_angle(t);
				break;
			case CL_FOR:
				if (!for_addr.s)
					for_addr = strip_angle(t);
				break;
			default:
				break;
			}
			continue;
		}
		if (with_open) {
			/* "with Microsoft SMTP Server": the protocol runs on to the next
			 * keyword or comment; raw is collapsed, so it is one span. More
			 * words than that are some MTA's prose, not a protocol. */
			if (++with_words <= WITH_MAX_WORDS)
				with.n = (size_t)(t.s + t.n - with.s);
			else
				with_open = false;
		} else if (in_first_from) {
			if (t.s[0] == '[') {
				if (!extra_bracket.s)
					extra_bracket = t;
			} else if (!extra_bare.s) {
				extra_bare = t;
			}
		}
	}

	char ip[INET6_ADDRSTRLEN];
	connecting_ip(ip, &ti, extra_bracket, extra_bare, from);

	span rdns = ti.rdns;
	if (!ti.rdns_given && ti.helo.s && is_hostname(from))
		rdns = from;

	bool oom = false;
	out->from_host = copy(a, from, &oom);
	out->helo = ti.helo.s ? copy(a, ti.helo, &oom) : out->from_host;
	out->rdns = copy(a, rdns, &oom);
	out->ip = ip[0] ? copy_str(a, ip, &oom) : NULL;
	out->by_host = copy(a, by, &oom);
	out->with = copy(a, with, &oom);
	out->id = copy(a, id, &oom);
	out->for_addr = copy(a, for_addr, &oom);
	return oom ? VIGIL_ENOMEM : 0;
}
