/*
 * Logs written through syslog or in its shape: the header (BSD, RFC 3339 as
 * rsyslog and journald export it, RFC 5424), then per program Postfix smtpd
 * SASL logins, Dovecot login processes, dnsmasq queries and BIND's query log
 * (also its own file). It does not read files or guess formats (reader.c).
 */
#include <string.h>

#include "logs/logs_internal.h"

/* What a syslog header says. */
typedef struct head {
	int64_t time;
	char *prog;  /* the program (tag without "[pid]"), NUL-terminated */
	char *msg;   /* the rest of the line */
} head;

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

static char *skip_spaces(char *p)
{
	while (is_space(*p))
		p++;
	return p;
}

/* "prog:", "prog[123]:" at p (a token). Cuts the name with a NUL and
 * returns where the message starts, or NULL when p is not a tag. */
static char *tag(char *p, char **prog)
{
	char *q = p;
	while (*q && !is_space(*q) && *q != '[' && *q != ':')
		q++;
	if (q == p || q - p > 128)
		return NULL;
	char *name_end = q;
	if (*q == '[') {
		q++;
		while (*q && *q != ']' && !is_space(*q))
			q++;
		if (*q != ']')
			return NULL;
		q++;
	}
	if (*q != ':' || (q[1] && !is_space(q[1])))
		return NULL;
	*name_end = '\0';
	*prog = p;
	return q[1] ? q + 2 : q + 1;
}

/* RFC 5424 after "<PRI>1 ": TIMESTAMP HOST APP PROCID MSGID SD [MSG]. */
static bool head_5424(vigil_log_reader *r, char *p, head *h)
{
	const char *tp = p;
	if (*p == '-') {
		return false; /* no time: useless for matching events to mail */
	}
	if (!logs__time_iso(r, &tp, &h->time) || *tp != ' ')
		return false;
	p = (char *)tp + 1;
	char *f[4];
	for (int i = 0; i < 4; i++) { /* HOST APP PROCID MSGID */
		f[i] = p;
		while (*p && *p != ' ')
			p++;
		if (*p != ' ' || p == f[i])
			return false;
		*p++ = '\0';
	}
	if (*p == '-') {
		p++;
	} else {
		while (*p == '[') { /* SD-ELEMENTs; "\]" inside values */
			for (p++; *p && *p != ']'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p != ']')
				return false;
			p++;
		}
	}
	if (*p == ' ')
		p++;
	if (!strncmp(p, "\xEF\xBB\xBF", 3)) /* the BOM 5424 puts before UTF-8 text */
		p += 3;
	h->prog = f[1];
	h->msg = p;
	return true;
}

/* The syslog header of `line`. BSD ("Nov 22 07:28:58 host prog[pid]: msg",
 * fractions of seconds allowed as journald's short-precise writes them),
 * RFC 3339 ("2021-01-14T12:47:33.123456+01:00 host prog: msg"), either
 * without the host (a daemon's own log file), an optional "<PRI>" in front,
 * and RFC 5424. */
static bool syslog_head(vigil_log_reader *r, char *line, head *h)
{
	char *p = line;
	if (*p == '<') {
		char *q = p + 1;
		while ((unsigned)(*q - '0') <= 9 && q - p < 5)
			q++;
		if (*q != '>' || q == p + 1)
			return false;
		p = q + 1;
		if (p[0] == '1' && p[1] == ' ')
			return head_5424(r, p + 2, h);
	}
	const char *tp = p;
	if (!logs__time_bsd(r, &tp, &h->time) && !logs__time_iso(r, &tp, &h->time))
		return false;
	if (!is_space(*tp))
		return false;
	p = skip_spaces((char *)tp);
	char *msg = tag(p, &h->prog);
	if (!msg) { /* a host first */
		while (*p && !is_space(*p))
			p++;
		if (!*p)
			return false;
		p = skip_spaces(p);
		msg = tag(p, &h->prog);
		if (!msg)
			return false;
	}
	h->msg = msg;
	return true;
}

/* The value of `key` ("rip=") in a "k=v, k=v" list: where it starts (after
 * the key) and its length up to `stop` (',' or '>'), or NULL. The key must
 * start the text or follow a space. */
static char *field(char *s, const char *key, char stop, size_t *len)
{
	size_t kl = strlen(key);
	for (char *p = s; (p = strstr(p, key)); p += kl) {
		if (p != s && !is_space(p[-1]))
			continue;
		char *v = p + kl;
		char *e = v;
		while (*e && *e != stop && (stop == '>' || !is_space(*e)))
			e++;
		if (stop == '>' && *e != '>')
			return NULL;
		*len = (size_t)(e - v);
		return v;
	}
	return NULL;
}

/* Cuts a field's value out in place (the byte after it becomes NUL); returns
 * it, or NULL when empty. Call only after every other lookup in the same
 * text: the cut ends the text there for strstr(). */
static char *cut(char *v, size_t len)
{
	if (!v || len == 0)
		return NULL;
	v[len] = '\0';
	return v;
}

/* ---- Postfix ----------------------------------------------------------- */

static const char *postfix_service(const char *prog)
{
	if (strstr(prog, "/submission/"))
		return "submission";
	if (strstr(prog, "/smtps/"))
		return "submissions"; /* port 465, RFC 8314 */
	return "smtp";
}

/* The address in "host[addr]" or "host[addr]:port", after `at`. */
static const char *bracket_ip(vigil_log_reader *r, const char *at)
{
	const char *open = strchr(at, '[');
	if (!open)
		return NULL;
	const char *close = strchr(open, ']');
	if (!close)
		return NULL;
	const char *a = open + 1;
	if (!strncmp(a, "IPv6:", 5))
		a += 5;
	return logs__ip(r, a, (size_t)(close - a));
}

static logs_result postfix(vigil_log_reader *r, head *h, vigil_log_event *ev)
{
	const char *base = strrchr(h->prog, '/');
	if (!base || strcmp(base, "/smtpd"))
		return LOGS_SKIP; /* qmgr, cleanup, postscreen, ... */
	char *m = h->msg;
	size_t ul = 0, ml = 0;
	char *user, *mech;
	ev->service = postfix_service(h->prog);
	ev->time = h->time;
	ev->kind = VIGIL_LOG_EVENT_LOGIN;
	char *fail = strstr(m, " authentication failed");
	if (!strncmp(m, "warning: ", 9) && fail && strstr(m, ": SASL ")) {
		/* warning: host[addr]: SASL LOGIN authentication failed: reason[,
		 * sasl_username=user] */
		char *sasl = strstr(m, ": SASL ");
		ev->client_ip = bracket_ip(r, m + 9);
		if (!ev->client_ip || sasl > fail)
			return LOGS_MALFORMED;
		user = field(fail, "sasl_username=", ',', &ul);
		mech = sasl + 7;
		ml = (size_t)(fail - mech);
		ev->account = cut(user, ul);
		ev->method = ml && ml < 32 ? cut(mech, ml) : NULL;
		ev->success = false;
		return LOGS_EVENT;
	}
	/* QUEUEID: client=host[addr], sasl_method=PLAIN, sasl_username=user */
	char *client = strstr(m, "client=");
	if (!client || !strstr(client, "sasl_username="))
		return LOGS_SKIP;
	if (client != m && !is_space(client[-1]))
		return LOGS_SKIP;
	ev->client_ip = bracket_ip(r, client);
	user = field(client, "sasl_username=", ',', &ul);
	mech = field(client, "sasl_method=", ',', &ml);
	if (!ev->client_ip || !user || ul == 0)
		return LOGS_MALFORMED;
	ev->account = cut(user, ul);
	ev->method = cut(mech, ml);
	ev->success = true;
	return LOGS_EVENT;
}

/* ---- Dovecot ----------------------------------------------------------- */

/* "imap-login" -> "imap", ...; NULL for processes that do not log logins
 * (auth, imap(user), lda, ...: their lines repeat what the login process
 * says, and counting both would count each attempt twice). */
static const char *dovecot_service(const char *proc, size_t n)
{
	static const char *const names[] = {"imap", "pop3", "submission", "managesieve"};
	if (n < 7 || memcmp(proc + n - 6, "-login", 6))
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n - 6 && !memcmp(proc, names[i], n - 6))
			return names[i];
	return NULL;
}

/* Dovecot's log file names the process as the tag ("imap-login: Info:
 * Login: ..."); through syslog the tag is "dovecot" and the process comes
 * first in the message ("dovecot: imap-login: Login: ..."). */
static logs_result dovecot(vigil_log_reader *r, head *h, vigil_log_event *ev)
{
	char *m = h->msg;
	const char *svc;
	if (!strcmp(h->prog, "dovecot")) {
		char *colon = strchr(m, ':');
		if (!colon || colon[1] != ' ')
			return LOGS_SKIP;
		svc = dovecot_service(m, (size_t)(colon - m));
		m = colon + 2;
	} else {
		svc = dovecot_service(h->prog, strlen(h->prog));
	}
	if (!svc)
		return LOGS_SKIP;
	static const char *const levels[] = {"Info: ", "Warning: ", "Error: ", "Debug: ", "Fatal: ",
		"Panic: "};
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		if (!strncmp(m, levels[i], strlen(levels[i]))) {
			m += strlen(levels[i]);
			break;
		}
	if (!strncmp(m, "Login: ", 7))
		ev->success = true;
	else if (strstr(m, "auth failed"))
		ev->success = false; /* "Disconnected (auth failed, ...)", "Aborted login
		                      * (auth failed, ...)", "Login aborted: ... (auth failed" */
	else
		return LOGS_SKIP; /* "no auth attempts", "Disconnected: Inactivity", ... */
	size_t ul = 0, ml = 0, il = 0;
	char *user = field(m, "user=<", '>', &ul);
	char *mech = field(m, "method=", ',', &ml);
	char *rip = field(m, "rip=", ',', &il);
	if (!rip)
		return LOGS_MALFORMED;
	ev->client_ip = logs__ip(r, rip, il);
	if (!ev->client_ip || (ev->success && (!user || ul == 0)))
		return LOGS_MALFORMED;
	ev->kind = VIGIL_LOG_EVENT_LOGIN;
	ev->time = h->time;
	ev->service = svc;
	ev->account = cut(user, ul);
	ev->method = cut(mech, ml);
	return LOGS_EVENT;
}

/* ---- dnsmasq ----------------------------------------------------------- */

/* "query[A] example.com from 10.0.0.1", with log-queries=extra preceded by
 * a serial number and "addr/port". */
static logs_result dnsmasq(vigil_log_reader *r, head *h, vigil_log_event *ev)
{
	char *m = h->msg;
	if ((unsigned)(*m - '0') <= 9) {
		char *q = m;
		while ((unsigned)(*q - '0') <= 9)
			q++;
		if (*q == ' ') {
			q = strchr(q + 1, ' ');
			if (!q)
				return LOGS_SKIP;
			m = q + 1;
		}
	}
	if (strncmp(m, "query[", 6))
		return LOGS_SKIP; /* forwarded, reply, cached, config, dhcp */
	char *type = m + 6;
	char *close = strchr(type, ']');
	if (!close || close == type || close[1] != ' ' || close - type > 16)
		return LOGS_MALFORMED;
	*close = '\0';
	char *name = close + 2;
	char *from = strstr(name, " from ");
	if (!from || from == name)
		return LOGS_MALFORMED;
	char *ip = from + 6;
	ev->client_ip = logs__ip(r, ip, strcspn(ip, " "));
	ev->host = logs__host(r, name, (size_t)(from - name));
	if (!ev->client_ip || !ev->host)
		return LOGS_MALFORMED;
	if (!strncmp(type, "type=", 5)) { /* query[type=65]: write it TYPE65 (RFC 3597) */
		memcpy(type, "TYPE", 4);
		memmove(type + 4, type + 5, strlen(type + 5) + 1);
	}
	ev->kind = VIGIL_LOG_EVENT_DNS;
	ev->time = h->time;
	ev->method = type;
	return LOGS_EVENT;
}

/* ---- BIND -------------------------------------------------------------- */

/* After the time: ["queries: info: "] "client [@0x...] addr#port [(name)]:
 * [view v: ]query: NAME CLASS TYPE flags (server)". */
static logs_result bind_body(vigil_log_reader *r, char *m, int64_t t, vigil_log_event *ev)
{
	if (!strncmp(m, "queries: ", 9)) {
		m += 9;
		char *colon = strstr(m, ": ");
		if (!colon || colon - m > 16)
			return LOGS_SKIP;
		m = colon + 2;
	}
	if (strncmp(m, "client ", 7))
		return LOGS_SKIP; /* another category, or a message about a zone */
	char *q = strstr(m, ": query: ");
	if (!q)
		return LOGS_SKIP; /* "client ...: transfer of ...", denied, ... */
	m += 7;
	if (*m == '@') { /* 9.11+: the client object's address */
		m = strchr(m, ' ');
		if (!m || m > q)
			return LOGS_MALFORMED;
		m++;
	}
	char *hash = strchr(m, '#');
	if (!hash || hash > q)
		return LOGS_MALFORMED;
	ev->client_ip = logs__ip(r, m, (size_t)(hash - m));
	char *name = q + 9;
	char *sp1 = strchr(name, ' ');
	char *cls = sp1 ? sp1 + 1 : NULL;
	char *sp2 = cls ? strchr(cls, ' ') : NULL;
	char *type = sp2 ? sp2 + 1 : NULL;
	size_t tl = type ? strcspn(type, " ") : 0;
	if (!ev->client_ip || !sp2 || sp1 == name || tl == 0 || tl > 16)
		return LOGS_MALFORMED;
	/* The root is "." and stays so; other names lose the final dot. */
	ev->host = sp1 - name == 1 && *name == '.' ? "." : logs__host(r, name, (size_t)(sp1 - name));
	if (!ev->host)
		return LOGS_MALFORMED;
	type[tl] = '\0';
	ev->method = type;
	ev->kind = VIGIL_LOG_EVENT_DNS;
	ev->time = t;
	return LOGS_EVENT;
}

logs_result logs__bind(vigil_log_reader *r, char *line, size_t len, vigil_log_event *ev)
{
	const char *p = line;
	int64_t t;
	if (logs__time_bind(r, &p, &t) || logs__time_iso(r, &p, &t)) {
		if (*p != ' ')
			return LOGS_MALFORMED;
		return bind_body(r, (char *)p + 1, t, ev);
	}
	return LOGS_NO;
}

/* ---- dispatch ---------------------------------------------------------- */

logs_result logs__syslog(vigil_log_reader *r, char *line, size_t len, vigil_log_event *ev,
	vigil_log_format only)
{
	head h;
	if (!syslog_head(r, line, &h))
		return LOGS_NO;
	const char *prog = h.prog;
	vigil_log_format kind;
	size_t pl = strlen(prog);
	if (!strcmp(prog, "dovecot") || (pl > 6 && !strcmp(prog + pl - 6, "-login")))
		kind = VIGIL_LOG_DOVECOT;
	else if (!strncmp(prog, "postfix", 7))
		kind = VIGIL_LOG_POSTFIX;
	else if (!strcmp(prog, "dnsmasq"))
		kind = VIGIL_LOG_DNSMASQ;
	else if (!strcmp(prog, "named"))
		kind = VIGIL_LOG_BIND;
	else
		return LOGS_SKIP;
	if (only != VIGIL_LOG_SYSLOG && only != kind)
		return LOGS_SKIP;
	switch (kind) {
	case VIGIL_LOG_DOVECOT:
		return dovecot(r, &h, ev);
	case VIGIL_LOG_POSTFIX:
		return postfix(r, &h, ev);
	case VIGIL_LOG_DNSMASQ:
		return dnsmasq(r, &h, ev);
	default:
		return bind_body(r, h.msg, h.time, ev);
	}
}
