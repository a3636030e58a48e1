/*
 * Web request logs: squid's native format and the Common/Combined Log Format
 * as Apache, nginx and squid write it (also vhost_combined), by hand-written
 * field scanning, plus the address and host helpers the other parsers share.
 * It does not read files or decide which format a file is (reader.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "vigil_limits.h"
#include "logs/logs_internal.h"

/* ---- helpers ---------------------------------------------------------- */

const char *logs__ip(vigil_log_reader *r, const char *s, size_t n)
{
	char tmp[64];
	unsigned char a[16];
	if (n == 0 || n >= sizeof(tmp))
		return NULL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, a) == 1)
		return inet_ntop(AF_INET, a, r->ip, sizeof(r->ip));
	if (inet_pton(AF_INET6, tmp, a) != 1)
		return NULL;
	/* ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket: the same
	 * client as a.b.c.d in another log, so it is written the same way. */
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	if (memcmp(a, mapped, 12) == 0)
		return inet_ntop(AF_INET, a + 12, r->ip, sizeof(r->ip));
	return inet_ntop(AF_INET6, a, r->ip, sizeof(r->ip));
}

const char *logs__host(vigil_log_reader *r, const char *s, size_t n)
{
	if (n > 0 && s[0] == '[') { /* [v6]:port */
		const char *close = memchr(s, ']', n);
		if (!close)
			return NULL;
		n = (size_t)(close - s - 1);
		s++;
	} else {
		/* host:port, but a bare IPv6 address has several colons. */
		const char *colon = memchr(s, ':', n);
		if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)))
			n = (size_t)(colon - s);
	}
	while (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > VIGIL_MAX_LOG_LINE)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		r->host[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	r->host[n] = '\0';
	return r->host;
}

const char *logs__url_host(vigil_log_reader *r, const char *url)
{
	const char *a = url;
	/* A scheme is letters, digits, '+', '-', '.' before "://". */
	for (const char *p = url; *p && p - url < 32; p++) {
		if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
			a = p + 3;
			break;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '+' || *p == '-' || *p == '.'))
			break;
	}
	if (a == url && strpbrk(url, "/?#"))
		return NULL; /* a path, not an authority */
	size_t n = strcspn(a, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (a[i] == '@')
			at = a + i;
	if (at) {
		n -= (size_t)(at + 1 - a);
		a = at + 1;
	}
	return logs__host(r, a, n);
}

/* Splits at runs of spaces: up to `max` fields, NUL-terminated in place. The
 * last field takes the rest of the line only up to its own space. Returns
 * how many fields there were (more than max is reported as max + 1). */
static size_t split(char *p, char **f, size_t max)
{
	size_t n = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return n;
		if (n == max)
			return n + 1;
		f[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (!*p)
			return n;
		*p++ = '\0';
	}
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned)(*s - '0') > 9)
			return false;
	return true;
}

/* A decimal of at most 12 digits (seconds since the epoch till year 33658). */
static bool epoch(const char *s, int64_t *out)
{
	int64_t v = 0;
	int n = 0;
	for (; (unsigned)(*s - '0') <= 9; s++, n++) {
		if (n == 12) /* checked before multiplying: 20 digits overflowed int64_t */
			return false;
		v = v * 10 + (*s - '0');
	}
	if (n == 0)
		return false;
	if (*s == '.') {
		s++;
		if (!all_digits(s))
			return false;
	} else if (*s) {
		return false;
	}
	*out = v;
	return true;
}

static bool token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		c == '_' || c == '.';
}

static bool is_method(const char *s)
{
	if (!*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!token_char(*s))
			return false;
	return true;
}

/* ---- squid native ------------------------------------------------------ */

/* time elapsed client code/status bytes method URL rfc931 hierarchy/peer type
 * (squid's logformat "squid"; more fields after these, as log_mime_hdrs
 * appends, are ignored). */
logs_result logs__squid(vigil_log_reader *r, char *line, size_t len, vigil_log_event *ev)
{
	char *f[10];
	size_t n = split(line, f, 10);
	int64_t t;
	if (n < 2 || !epoch(f[0], &t) || !strchr(f[0], '.') || !all_digits(f[1]))
		return LOGS_NO; /* squid writes "%9d.%03d %6d": seconds.millis, elapsed */
	if (n < 10)
		return LOGS_MALFORMED;
	char *slash = strchr(f[3], '/');
	if (!slash || slash == f[3] || !all_digits(slash + 1) || strlen(slash + 1) != 3 ||
		!(all_digits(f[4]) || !strcmp(f[4], "-")) || !is_method(f[5]) || !strchr(f[8], '/'))
		return LOGS_MALFORMED;
	/* "NONE error:invalid-request": squid logs what it could not parse as a
	 * request; nobody fetched anything. */
	if (!strncmp(f[6], "error:", 6))
		return LOGS_SKIP;
	ev->kind = VIGIL_LOG_EVENT_HTTP;
	ev->time = t;
	ev->status = (slash[1] - '0') * 100 + (slash[2] - '0') * 10 + (slash[3] - '0');
	ev->method = f[5];
	ev->url = f[6];
	ev->host = logs__url_host(r, f[6]);
	ev->account = strcmp(f[7], "-") ? f[7] : NULL;
	ev->client_ip = logs__ip(r, f[2], strlen(f[2]));
	return LOGS_EVENT;
}

/* ---- Common / Combined Log Format -------------------------------------- */

/* A quoted field at *p ('"' expected): returns its content NUL-terminated in
 * place and moves *p past the closing quote, or NULL. Apache writes a quote
 * inside as \" and nginx as \x22: a backslash escapes the next byte. */
static char *quoted(char **p)
{
	char *q = *p;
	if (*q != '"')
		return NULL;
	char *s = ++q;
	for (; *q && *q != '"'; q++)
		if (*q == '\\' && q[1])
			q++;
	if (*q != '"')
		return NULL;
	*q = '\0';
	*p = q + 1;
	return s;
}

/* %h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i"] [more], or with
 * "%v:%p " first (vhost_combined). */
logs_result logs__combined(vigil_log_reader *r, char *line, size_t len, vigil_log_event *ev)
{
	char *f[5];
	char *br = strstr(line, " [");
	if (!br || br - line > 1024)
		return LOGS_NO;
	const char *tp = br + 2;
	int64_t t;
	/* %t, or nginx's $time_iso8601 in its place */
	if (!(logs__time_clf(&tp, &t) || logs__time_iso(r, &tp, &t)) || *tp != ']')
		return LOGS_NO;
	*br = '\0';
	size_t n = split(line, f, 4);
	if (n != 3 && n != 4)
		return LOGS_MALFORMED;
	char *p = (char *)tp + 1;
	if (*p++ != ' ')
		return LOGS_MALFORMED;
	char *req = quoted(&p);
	if (!req || *p++ != ' ')
		return LOGS_MALFORMED;
	char *status = p;
	while ((unsigned)(*p - '0') <= 9)
		p++;
	if (p - status != 3 || (*p != ' ' && *p))
		return LOGS_MALFORMED;
	int code = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
	char *ua = NULL;
	if (*p == ' ') { /* %b, then the optional Referer and User-Agent */
		p++;
		while (*p && *p != ' ')
			p++;
		if (*p == ' ' && p[1] == '"') {
			p++;
			if (!quoted(&p))
				return LOGS_MALFORMED;
			if (*p == ' ' && p[1] == '"') {
				p++;
				if (!(ua = quoted(&p)))
					return LOGS_MALFORMED;
			}
		}
	}

	/* The request line: METHOD target [protocol]. "-" (nothing read) and
	 * junk (a TLS hello sent to port 80) are logged requests that asked for
	 * nothing. */
	char *sp = strchr(req, ' ');
	if (!sp)
		return LOGS_SKIP;
	*sp = '\0';
	char *target = sp + 1;
	char *end = strchr(target, ' ');
	if (end)
		*end = '\0';
	if (!is_method(req) || !*target)
		return LOGS_SKIP;

	const char *client = f[n - 3];
	char *user = f[n - 1];
	ev->kind = VIGIL_LOG_EVENT_HTTP;
	ev->time = t;
	ev->status = code;
	ev->method = req;
	ev->user_agent = ua && strcmp(ua, "-") ? ua : NULL;
	ev->account = strcmp(user, "-") ? user : NULL;
	ev->client_ip = logs__ip(r, client, strlen(client));
	if (target[0] != '/' || n == 3) {
		/* Absolute (a proxy's log), an authority (CONNECT), or a path
		 * whose Host was not logged: as it is. */
		ev->url = target;
		ev->host = target[0] == '/' ? NULL : logs__url_host(r, target);
		return LOGS_EVENT;
	}
	/* vhost_combined: the virtual host and port come first. */
	const char *vhost = f[0];
	const char *host = logs__host(r, vhost, strlen(vhost));
	if (!host)
		return LOGS_MALFORMED;
	/* The port: after "]" of [v6]:port, or after the only colon. */
	const char *colon = vhost[0] == '[' ? strchr(vhost, ']') : strchr(vhost, ':');
	if (colon && vhost[0] == '[')
		colon = colon[1] == ':' ? colon + 1 : NULL;
	else if (colon && strchr(colon + 1, ':'))
		colon = NULL; /* a bare IPv6 address */
	bool tls = colon && !strcmp(colon, ":443");
	size_t hl = strlen(host), tl = strlen(target);
	if (hl + tl + 16 > VIGIL_MAX_LOG_LINE + 64)
		return LOGS_MALFORMED;
	char *u = r->url;
	memcpy(u, tls ? "https://" : "http://", tls ? 8 : 7);
	u += tls ? 8 : 7;
	bool v6 = strchr(host, ':') != NULL;
	if (v6)
		*u++ = '[';
	memcpy(u, host, hl);
	u += hl;
	if (v6)
		*u++ = ']';
	if (colon && strcmp(colon, ":443") && strcmp(colon, ":80")) {
		size_t cl = strlen(colon);
		memcpy(u, colon, cl);
		u += cl;
	}
	memcpy(u, target, tl + 1);
	ev->url = r->url;
	ev->host = host;
	return LOGS_EVENT;
}
