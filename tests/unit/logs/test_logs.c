/*
 * Unit tests for the log reader: every format with its variants (squid,
 * combined, vhost_combined, BIND, dnsmasq, Postfix, Dovecot, mixed syslog),
 * detection, times and zones, year inference, gzip, CRLF, long lines, junk,
 * and open errors. Each test writes its log to a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "vigil_limits.h"
#include "logs/logs_internal.h"
#include "vigil/vigil.h"

/* ---- helpers ---------------------------------------------------------- */

static char tmpdir[256];

static int make_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/vigil-test-logs-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int remove_tmpdir(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static const char *write_bytes(const char *name, const void *data, size_t len)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static const char *write_text(const char *name, const char *text)
{
	return write_bytes(name, text, strlen(text));
}

/* One event, its strings copied. */
typedef struct ev {
	vigil_log_event_kind kind;
	int64_t time;
	char *client_ip, *url, *host, *method, *user_agent, *account, *service;
	int status;
	bool success;
	uint64_t line;
} ev;

typedef struct run {
	ev e[64];
	size_t n;
	int last_rc;         /* what ended the loop */
	uint64_t malformed;
	uint64_t lines;
	vigil_log_format detected;
} run;

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Optional settings before reading. */
typedef struct opts {
	const char *zone;
	int year;
	int64_t now; /* 0: leave the reader's clock */
} opts;

static void read_all(run *out, const char *path, vigil_log_format fmt, const opts *o)
{
	vigil_log_reader *r = NULL;
	vigil_log_event e;
	memset(out, 0, sizeof(*out));
	assert_int_equal(vigil_log_open(&r, path, fmt), 0);
	if (o && o->zone)
		assert_int_equal(vigil_log_set_timezone(r, o->zone), 0);
	if (o && o->year)
		assert_int_equal(vigil_log_set_year(r, o->year), 0);
	if (o && o->now)
		r->now = o->now;
	int rc;
	while ((rc = vigil_log_next(r, &e)) == 0) {
		assert_true(out->n < 64);
		ev *x = &out->e[out->n++];
		x->kind = e.kind;
		x->time = e.time;
		x->client_ip = dup_or_null(e.client_ip);
		x->url = dup_or_null(e.url);
		x->host = dup_or_null(e.host);
		x->method = dup_or_null(e.method);
		x->user_agent = dup_or_null(e.user_agent);
		x->account = dup_or_null(e.account);
		x->service = dup_or_null(e.service);
		x->status = e.status;
		x->success = e.success;
		x->line = e.line;
	}
	out->last_rc = rc;
	out->malformed = vigil_log_malformed(r);
	out->lines = vigil_log_lines(r);
	out->detected = vigil_log_detected(r);
	/* The end stays the end. */
	assert_int_equal(vigil_log_next(r, &e), VIGIL_EDONE);
	vigil_log_free(r);
}

static void run_free(run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		ev *x = &r->e[i];
		free(x->client_ip);
		free(x->url);
		free(x->host);
		free(x->method);
		free(x->user_agent);
		free(x->account);
		free(x->service);
	}
	memset(r, 0, sizeof(*r));
}

#define assert_str_or_null(a, b)                                                              \
	do {                                                                                  \
		if ((b) == NULL)                                                              \
			assert_null(a);                                                       \
		else                                                                          \
			assert_string_equal(a, b);                                            \
	} while (0)

/* ---- squid ------------------------------------------------------------ */

static void squid_native_fields_and_connect(void **state)
{
	run r;
	read_all(&r, write_text("access.log",
		"1609747683.123    288 10.20.8.208 TCP_MISS/200 11848 GET https://Img.Example.COM./open/abc.gif?u=1 - HIER_DIRECT/180.111.242.194 image/gif\n"
		"1609747684.000      5 2001:db8::7 TCP_TUNNEL/200 5120 CONNECT mail.example.org:443 alice HIER_DIRECT/192.0.2.1 -\n"
		"1609747685.000      0 ::ffff:10.0.0.9 TCP_DENIED/403 3900 GET http://user:pw@[2001:db8::1]:8080/x - HIER_NONE/- text/html\n"
		"1609747686.000      0 10.0.0.9 NONE_NONE/000 0 NONE error:transaction-end-before-headers - HIER_NONE/- -\n"),
		VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_SQUID);
	assert_int_equal(r.last_rc, VIGIL_EDONE);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.malformed, 0);
	assert_int_equal(r.e[0].kind, VIGIL_LOG_EVENT_HTTP);
	assert_int_equal(r.e[0].time, 1609747683);
	assert_string_equal(r.e[0].client_ip, "10.20.8.208");
	assert_string_equal(r.e[0].url, "https://Img.Example.COM./open/abc.gif?u=1");
	assert_string_equal(r.e[0].host, "img.example.com");
	assert_string_equal(r.e[0].method, "GET");
	assert_int_equal(r.e[0].status, 200);
	assert_null(r.e[0].user_agent);
	assert_null(r.e[0].account);
	assert_true(r.e[0].success);
	assert_int_equal(r.e[0].line, 1);
	/* CONNECT: the authority as logged, the host without the port. */
	assert_string_equal(r.e[1].method, "CONNECT");
	assert_string_equal(r.e[1].url, "mail.example.org:443");
	assert_string_equal(r.e[1].host, "mail.example.org");
	assert_string_equal(r.e[1].client_ip, "2001:db8::7");
	assert_string_equal(r.e[1].account, "alice");
	/* IPv4-mapped client, IPv6 literal host with userinfo and port. */
	assert_string_equal(r.e[2].client_ip, "10.0.0.9");
	assert_string_equal(r.e[2].host, "2001:db8::1");
	assert_int_equal(r.e[2].status, 403);
	run_free(&r);
}

static void squid_malformed_lines_are_counted(void **state)
{
	run r;
	read_all(&r, write_text("access.log",
		"1609747683.000    288 10.0.0.1 TCP_MISS/200 11848 GET http://a.example/ - HIER_DIRECT/1.2.3.4 image/gif\n"
		"1609747683.000    288 10.0.0.1 TCP_MISS/200 11848 GET http://a.example/\n"  /* cut short */
		"1609747683.000    288 10.0.0.1 TCP_MISS 11848 GET http://a.example/ - HIER_DIRECT/1.2.3.4 -\n" /* no status */
		"1609747683.000    288 10.0.0.1 TCP_MISS/2x0 11848 GET http://a.example/ - HIER_DIRECT/1.2.3.4 -\n"
		"not a squid line at all\n"
		"\n"
		"# a comment\n"
		"1609747690.000    1 10.0.0.2 TCP_HIT/304 0 HEAD http://b.example/ - HIER_NONE/- -\n"),
		VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_SQUID);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.malformed, 4);
	assert_int_equal(r.lines, 8);
	assert_int_equal(r.e[1].line, 8);
	assert_string_equal(r.e[1].method, "HEAD");
	assert_int_equal(r.e[1].status, 304);
	run_free(&r);
}

/* ---- combined ---------------------------------------------------------- */

static void combined_apache_zone_and_escapes(void **state)
{
	run r;
	read_all(&r, write_text("access.log",
		"192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif?u=abc HTTP/1.0\" 200 2326 \"http://www.example.com/start.html\" \"Mozilla/4.08 [en] (Win98; I ;Nav)\"\n"
		"2001:db8::17 - frank [10/Oct/2000:20:55:36 +0000] \"GET /x HTTP/1.1\" 404 - \"-\" \"curl \\\"q\\\" x\"\n"
		"host.example.net - - [11/Oct/2000:00:25:36 +0330] \"POST /form HTTP/1.1\" 302 0 \"-\" \"-\"\n"),
		VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_COMBINED);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.malformed, 0);
	/* All three are the same instant, written in three zones. */
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(r.e[i].time, 971211336);
	assert_string_equal(r.e[0].url, "/apache_pb.gif?u=abc");
	assert_null(r.e[0].host); /* the Host was not logged */
	assert_string_equal(r.e[0].user_agent, "Mozilla/4.08 [en] (Win98; I ;Nav)");
	assert_int_equal(r.e[0].status, 200);
	assert_string_equal(r.e[1].client_ip, "2001:db8::17");
	assert_string_equal(r.e[1].account, "frank");
	assert_string_equal(r.e[1].user_agent, "curl \\\"q\\\" x"); /* as logged */
	assert_null(r.e[2].client_ip); /* HostnameLookups On: a name, not an address */
	assert_null(r.e[2].user_agent);
	assert_string_equal(r.e[2].method, "POST");
	run_free(&r);
}

static void combined_common_format_and_extra_fields(void **state)
{
	run r;
	read_all(&r, write_text("access.log",
		/* common: no referer, no user agent */
		"10.0.0.1 - - [22/Nov/2026:07:28:58 +0000] \"GET /a HTTP/1.1\" 200 12\n"
		/* squid's own "combined" logformat: an absolute URL and a trailer */
		"10.0.0.2 - - [22/Nov/2026:07:28:58 +0000] \"GET http://Track.Example/o/1.gif HTTP/1.1\" 200 43 \"-\" \"UA\" TCP_MISS:HIER_DIRECT\n"
		/* nginx with $http_x_forwarded_for added */
		"10.0.0.3 - - [22/Nov/2026:07:28:58 +0000] \"GET /b HTTP/2.0\" 200 5 \"-\" \"UA2\" \"203.0.113.9\"\n"
		"10.0.0.4 - - [22/Nov/2026:07:28:58 +0000] \"CONNECT example.org:443 HTTP/1.1\" 200 0\n"
		/* nginx with $time_iso8601 for $time_local */
		"10.0.0.5 - - [2026-11-22T08:28:58+01:00] \"GET /iso HTTP/1.1\" 200 5 \"-\" \"UA3\"\n"),
		VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_COMBINED);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.e[4].time, 1795332538);
	assert_string_equal(r.e[4].url, "/iso");
	assert_int_equal(r.malformed, 0);
	assert_int_equal(r.e[0].time, 1795332538);
	assert_null(r.e[0].user_agent);
	assert_string_equal(r.e[1].url, "http://Track.Example/o/1.gif");
	assert_string_equal(r.e[1].host, "track.example");
	assert_string_equal(r.e[1].user_agent, "UA");
	assert_string_equal(r.e[2].user_agent, "UA2");
	assert_string_equal(r.e[3].url, "example.org:443");
	assert_string_equal(r.e[3].host, "example.org");
	run_free(&r);
}

static void combined_vhost_makes_the_url_absolute(void **state)
{
	run r;
	read_all(&r, write_text("other_vhosts_access.log",
		"www.example.com:443 192.0.2.9 - - [22/Nov/2026:08:28:58 +0100] \"GET /open/abc.gif HTTP/2.0\" 200 43 \"-\" \"Mozilla/5.0\"\n"
		"Mail.Example.com:80 192.0.2.9 - - [22/Nov/2026:08:28:58 +0100] \"GET /p?x=1 HTTP/1.1\" 200 43 \"-\" \"Mozilla/5.0\"\n"
		"dev.example.com:8080 192.0.2.9 - - [22/Nov/2026:08:28:58 +0100] \"GET /q HTTP/1.1\" 200 43 \"-\" \"-\"\n"),
		VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_COMBINED);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.e[0].time, 1795332538);
	assert_string_equal(r.e[0].url, "https://www.example.com/open/abc.gif");
	assert_string_equal(r.e[0].host, "www.example.com");
	assert_string_equal(r.e[0].client_ip, "192.0.2.9");
	assert_string_equal(r.e[1].url, "http://mail.example.com/p?x=1");
	assert_string_equal(r.e[2].url, "http://dev.example.com:8080/q");
	run_free(&r);
}

static void combined_junk_request_is_skipped_broken_line_counted(void **state)
{
	run r;
	read_all(&r, write_text("access.log",
		"10.0.0.1 - - [22/Nov/2026:07:28:58 +0000] \"\\x16\\x03\\x01\\x02\" 400 0 \"-\" \"-\"\n"
		"10.0.0.1 - - [22/Nov/2026:07:28:58 +0000] \"-\" 408 0 \"-\" \"-\"\n"
		"10.0.0.1 - - [22/Nov/2026:07:28:58 +0000] \"GET /x HTTP/1.1\" xx 0\n"
		"10.0.0.1 - - [22/Nov/2026:07:28:58 +0000] \"GET /unterminated\n"
		"10.0.0.1 - - [31/Feb/2026:07:28:58 +0000] \"GET /x HTTP/1.1\" 200 0\n"
		"10.0.0.1 - - [22/Nov/2026:07:28:58 +0000] \"GET /ok HTTP/1.1\" 200 0\n"),
		VIGIL_LOG_COMBINED, NULL);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.e[0].url, "/ok");
	assert_int_equal(r.malformed, 3); /* bad status, open quote, 31 February */
	run_free(&r);
}

/* ---- DNS --------------------------------------------------------------- */

static void bind_query_log_variants(void **state)
{
	run r;
	read_all(&r, write_text("query.log",
		"22-Nov-2026 07:28:58.123 queries: info: client @0x7f9b3c0a1b20 10.0.0.5#53432 (Tracker.Example.COM): query: Tracker.Example.COM IN A +E(0)K (10.0.0.2)\n"
		"22-Nov-2026 07:28:59.000 client @0x7f9b3c0a1b20 2001:db8::5#53432 (www.example.org): view internal: query: www.example.org. IN AAAA + (10.0.0.2)\n"
		"22-Nov-2026 07:29:00.000 client 10.0.0.6#1053 (old.example): query: old.example IN MX + (10.0.0.2)\n"
		"22-Nov-2026 07:29:00.000 general: info: zone example.com/IN: loaded serial 1\n"
		"22-Nov-2026 07:29:01.000 client @0x7f 10.0.0.5 (x): query: x IN A +\n"
		"2026-11-22T07:29:02.500Z client @0x7f 10.0.0.7#9 (.): query: . IN NS +\n"),
		VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_BIND);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.malformed, 1); /* the client without #port */
	assert_int_equal(r.e[0].kind, VIGIL_LOG_EVENT_DNS);
	assert_int_equal(r.e[0].time, 1795332538);
	assert_string_equal(r.e[0].host, "tracker.example.com");
	assert_string_equal(r.e[0].method, "A");
	assert_string_equal(r.e[0].client_ip, "10.0.0.5");
	assert_null(r.e[0].url);
	assert_string_equal(r.e[1].host, "www.example.org");
	assert_string_equal(r.e[1].method, "AAAA");
	assert_string_equal(r.e[1].client_ip, "2001:db8::5");
	assert_string_equal(r.e[2].method, "MX");
	assert_string_equal(r.e[3].host, ".");
	assert_int_equal(r.e[3].time, 1795332542);
	run_free(&r);
}

static void bind_local_time_takes_the_given_zone(void **state)
{
	const char *path = write_text("query.log",
		"15-Jan-2026 12:00:00.000 client @0x1 10.0.0.1#1 (a.example): query: a.example IN A + (10.0.0.2)\n"
		"01-Jul-2026 12:00:00.000 client @0x1 10.0.0.1#1 (a.example): query: a.example IN A + (10.0.0.2)\n"
		"29-Mar-2026 01:30:00.000 client @0x1 10.0.0.1#1 (a.example): query: a.example IN A + (10.0.0.2)\n"
		"29-Mar-2026 03:30:00.000 client @0x1 10.0.0.1#1 (a.example): query: a.example IN A + (10.0.0.2)\n");
	run r;
	read_all(&r, path, VIGIL_LOG_AUTO, NULL); /* UTC by default, whatever TZ says */
	assert_int_equal(r.e[0].time, 1768478400);
	run_free(&r);
	opts fixed = {.zone = "+01:00"};
	read_all(&r, path, VIGIL_LOG_AUTO, &fixed);
	assert_int_equal(r.e[0].time, 1768474800);
	assert_int_equal(r.e[1].time, 1782903600); /* a fixed offset knows no summer */
	run_free(&r);
	if (access("/usr/share/zoneinfo/Europe/Paris", R_OK) != 0 && !getenv("TZDIR"))
		fail_msg("tzdata is not installed (scripts/install-deps.sh installs it)");
	opts paris = {.zone = "Europe/Paris"};
	read_all(&r, path, VIGIL_LOG_AUTO, &paris);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.e[0].time, 1768474800); /* CET, +1 */
	assert_int_equal(r.e[1].time, 1782900000); /* CEST, +2 */
	assert_int_equal(r.e[2].time, 1774744200); /* just before the change */
	assert_int_equal(r.e[3].time, 1774747800); /* just after */
	run_free(&r);
}

static void dnsmasq_syslog_and_extra_forms(void **state)
{
	run r;
	read_all(&r, write_text("dnsmasq.log",
		"Nov 22 07:28:58 dnsmasq[99]: query[A] Tracker.Example.com from 10.0.0.7\n"
		"Nov 22 07:28:58 dnsmasq[99]: forwarded tracker.example.com to 1.1.1.1\n"
		"Nov 22 07:28:58 dnsmasq[99]: reply tracker.example.com is 192.0.2.80\n"
		"Nov 22 07:28:59 dnsmasq[99]: 12 10.0.0.8/5353 query[type=65] www.example.net from 10.0.0.8\n"
		"Nov 22 07:29:00 dnsmasq[99]: query[AAAA] v6.example from fe80::1\n"
		"Nov 22 07:29:00 dnsmasq[99]: query[AAAA] broken.example\n"),
		VIGIL_LOG_AUTO, &(opts){.year = 2026});
	assert_int_equal(r.detected, VIGIL_LOG_SYSLOG);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.malformed, 1);
	assert_int_equal(r.e[0].time, 1795332538);
	assert_string_equal(r.e[0].host, "tracker.example.com");
	assert_string_equal(r.e[0].method, "A");
	assert_string_equal(r.e[0].client_ip, "10.0.0.7");
	assert_string_equal(r.e[1].method, "TYPE65");
	assert_string_equal(r.e[1].client_ip, "10.0.0.8");
	assert_string_equal(r.e[2].client_ip, "fe80::1");
	run_free(&r);
}

/* ---- mail logins -------------------------------------------------------- */

static void postfix_sasl_success_and_failures(void **state)
{
	run r;
	read_all(&r, write_text("mail.log",
		"Nov 22 07:28:58 mx postfix/smtpd[123]: connect from unknown[192.0.2.1]\n"
		"Nov 22 07:28:58 mx postfix/smtpd[123]: 4BxYz1234: client=unknown[192.0.2.1], sasl_method=PLAIN, sasl_username=alice@example.org\n"
		"Nov 22 07:28:59 mx postfix/submission/smtpd[124]: warning: unknown[2001:db8::1]: SASL LOGIN authentication failed: UGFzc3dvcmQ6\n"
		"Nov 22 07:28:59 mx postfix/smtps/smtpd[124]: warning: host.example[192.0.2.2]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=bob\n"
		"Nov 22 07:29:00 mx postfix/smtpd[123]: 4BxYz1235: client=relay.example[192.0.2.3]\n" /* no SASL */
		"Nov 22 07:29:00 mx postfix/qmgr[9]: 4BxYz1234: from=<a@example.org>, size=1, nrcpt=1 (queue active)\n"
		"Nov 22 07:29:01 mx postfix/smtpd[123]: warning: nowhere: SASL LOGIN authentication failed: x\n"),
		VIGIL_LOG_AUTO, &(opts){.year = 2026});
	assert_int_equal(r.detected, VIGIL_LOG_SYSLOG);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.malformed, 1); /* a failure without the client's address */
	assert_int_equal(r.e[0].kind, VIGIL_LOG_EVENT_LOGIN);
	assert_int_equal(r.e[0].time, 1795332538);
	assert_true(r.e[0].success);
	assert_string_equal(r.e[0].account, "alice@example.org");
	assert_string_equal(r.e[0].client_ip, "192.0.2.1");
	assert_string_equal(r.e[0].service, "smtp");
	assert_string_equal(r.e[0].method, "PLAIN");
	assert_false(r.e[1].success);
	assert_null(r.e[1].account); /* the failure does not say who */
	assert_string_equal(r.e[1].client_ip, "2001:db8::1");
	assert_string_equal(r.e[1].service, "submission");
	assert_string_equal(r.e[1].method, "LOGIN");
	assert_false(r.e[2].success);
	assert_string_equal(r.e[2].account, "bob");
	assert_string_equal(r.e[2].service, "submissions");
	assert_null(r.e[0].url);
	assert_null(r.e[0].host);
	run_free(&r);
}

static void dovecot_syslog_and_own_log_file(void **state)
{
	run r;
	read_all(&r, write_text("mail.log",
		"Nov 22 07:29:00 mx dovecot: imap-login: Login: user=<carol>, method=PLAIN, rip=192.0.2.3, lip=192.0.2.254, mpid=4321, TLS, session=<abc>\n"
		"Nov 22 07:29:01 mx dovecot[77]: pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<dave>, method=PLAIN, rip=::ffff:192.0.2.4, lip=192.0.2.254, session=<x>\n"
		"Nov 22 07:29:02 mx dovecot: imap-login: Aborted login (no auth attempts in 0 secs): user=<>, rip=192.0.2.5, lip=192.0.2.254\n"
		"Nov 22 07:29:03 mx dovecot: submission-login: Login aborted: Connection closed (auth failed, 3 attempts in 15 secs) (auth_failed): user=<eve>, method=LOGIN, rip=2001:db8::6, lip=192.0.2.254\n"
		"Nov 22 07:29:04 mx dovecot: imap(carol)<4321><abc>: Logged out in=10 out=20\n"
		"Nov 22 07:29:05 mx dovecot: auth: passwd-file(dave,192.0.2.4): unknown user\n"
		"Nov 22 07:29:06 mx dovecot: imap-login: Login: user=<frank>, method=PLAIN, lip=192.0.2.254\n"),
		VIGIL_LOG_AUTO, &(opts){.year = 2026});
	assert_int_equal(r.n, 3);
	assert_int_equal(r.malformed, 1); /* a login without rip= */
	assert_true(r.e[0].success);
	assert_string_equal(r.e[0].account, "carol");
	assert_string_equal(r.e[0].service, "imap");
	assert_string_equal(r.e[0].client_ip, "192.0.2.3");
	assert_int_equal(r.e[0].time, 1795332540);
	assert_false(r.e[1].success);
	assert_string_equal(r.e[1].account, "dave");
	assert_string_equal(r.e[1].service, "pop3");
	assert_string_equal(r.e[1].client_ip, "192.0.2.4");
	assert_false(r.e[2].success);
	assert_string_equal(r.e[2].service, "submission");
	assert_string_equal(r.e[2].client_ip, "2001:db8::6");
	assert_string_equal(r.e[2].method, "LOGIN");
	run_free(&r);

	read_all(&r, write_text("dovecot.log",
		"Nov 22 07:28:58 imap-login: Info: Login: user=<u1>, method=PLAIN, rip=192.0.2.10, lip=192.0.2.1, mpid=1, secured, session=<s>\n"
		"Nov 22 07:28:59 auth: Info: passwd-file(u2,192.0.2.11): unknown user\n"
		"Nov 22 07:29:00 pop3-login: Info: Aborted login (auth failed, 1 attempts in 4 secs): user=<u2>, method=PLAIN, rip=192.0.2.11, lip=192.0.2.1, session=<t>\n"
		"Nov 22 07:29:01 master: Info: Dovecot v2.3.19.1 starting up\n"),
		VIGIL_LOG_AUTO, &(opts){.year = 2026});
	assert_int_equal(r.detected, VIGIL_LOG_SYSLOG);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.malformed, 0);
	assert_string_equal(r.e[0].account, "u1");
	assert_true(r.e[0].success);
	assert_int_equal(r.e[0].time, 1795332538);
	assert_string_equal(r.e[1].account, "u2");
	assert_false(r.e[1].success);
	assert_string_equal(r.e[1].service, "pop3");
	run_free(&r);
}

static void mixed_syslog_dispatches_by_program(void **state)
{
	/* Twenty lines of other daemons first: detection still sees syslog. */
	char text[8192] = "";
	for (int i = 0; i < 25; i++)
		strcat(text, "Nov 22 07:00:00 mx systemd[1]: Started Session 4 of user root.\n");
	strcat(text,
		"Nov 22 07:28:58 mx postfix/smtpd[123]: 4BxYz1234: client=unknown[192.0.2.1], sasl_method=PLAIN, sasl_username=alice\n"
		"Nov 22 07:29:00 mx dovecot: imap-login: Login: user=<carol>, method=PLAIN, rip=192.0.2.3, lip=192.0.2.254\n"
		"Nov 22 07:29:03 gw dnsmasq[99]: query[A] tracker.example.com from 10.0.0.7\n"
		"Nov 22 07:29:05 ns1 named[5]: client @0x55 10.0.0.9#1234 (a.example): query: a.example IN A + (10.0.0.1)\n"
		"Nov 22 07:29:05 ns1 named[5]: queries: info: client @0x55 10.0.0.9#1234 (b.example): query: b.example IN A + (10.0.0.1)\n"
		"garbage that is no syslog line\n");
	const char *path = write_text("syslog", text);
	run r;
	read_all(&r, path, VIGIL_LOG_AUTO, &(opts){.year = 2026});
	assert_int_equal(r.detected, VIGIL_LOG_SYSLOG);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.malformed, 1);
	assert_int_equal(r.e[0].kind, VIGIL_LOG_EVENT_LOGIN);
	assert_int_equal(r.e[0].line, 26);
	assert_int_equal(r.e[1].kind, VIGIL_LOG_EVENT_LOGIN);
	assert_int_equal(r.e[2].kind, VIGIL_LOG_EVENT_DNS);
	assert_int_equal(r.e[3].kind, VIGIL_LOG_EVENT_DNS);
	assert_string_equal(r.e[3].host, "a.example");
	assert_string_equal(r.e[4].host, "b.example");
	run_free(&r);

	/* Forced: only that program's lines. */
	read_all(&r, path, VIGIL_LOG_POSTFIX, &(opts){.year = 2026});
	assert_int_equal(r.detected, VIGIL_LOG_POSTFIX);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.e[0].account, "alice");
	run_free(&r);
	read_all(&r, path, VIGIL_LOG_BIND, &(opts){.year = 2026});
	assert_int_equal(r.n, 2);
	run_free(&r);
	read_all(&r, path, VIGIL_LOG_DNSMASQ, &(opts){.year = 2026});
	assert_int_equal(r.n, 1);
	assert_string_equal(r.e[0].host, "tracker.example.com");
	run_free(&r);
}

/* ---- times --------------------------------------------------------------- */

static void syslog_rfc3339_and_rfc5424_stamps(void **state)
{
	run r;
	read_all(&r, write_text("messages",
		"2021-01-14T12:47:33.123456+01:00 mx postfix/smtpd[1]: 4Bx: client=a[192.0.2.1], sasl_method=LOGIN, sasl_username=x\n"
		"2021-01-14T12:47:33+0100 mx dovecot[2]: imap-login: Login: user=<y>, method=PLAIN, rip=192.0.2.2, lip=192.0.2.3\n"
		"2021-01-14T11:47:33Z mx dovecot[2]: imap-login: Login: user=<y>, method=PLAIN, rip=192.0.2.2, lip=192.0.2.3\n"
		"<34>1 2021-01-14T11:47:33.000Z mx dnsmasq 99 - - query[AAAA] v6.example from 10.0.0.1\n"
		"<34>1 2021-01-14T11:47:33.000Z mx dnsmasq 99 ID1 [ex@1 a=\"x\\]\"] query[A] sd.example from 10.0.0.1\n"
		"<13>Jan 14 11:47:33 mx dnsmasq[9]: query[A] pri.example from 10.0.0.1\n"
		"Jan 14 11:47:33.123456 mx dnsmasq[9]: query[A] precise.example from 10.0.0.1\n"
		"2021-01-14 12:47:33 mx dnsmasq[9]: query[A] nozone.example from 10.0.0.1\n"),
		VIGIL_LOG_AUTO, &(opts){.year = 2021, .zone = "+01:00"});
	assert_int_equal(r.n, 8);
	assert_int_equal(r.malformed, 0);
	for (size_t i = 0; i < 8; i++) {
		/* 11:47:33 UTC each; the BSD stamps read in +01:00 are 10:47:33,
		 * the zone-less RFC 3339 one 11:47:33. */
		int64_t want = (i == 5 || i == 6) ? 1610624853 - 3600 : 1610624853;
		assert_int_equal(r.e[i].time, want);
	}
	assert_string_equal(r.e[4].host, "sd.example");
	run_free(&r);
}

static void syslog_year_given_rolls_over_at_new_year(void **state)
{
	run r;
	read_all(&r, write_text("mail.log",
		"Dec 31 23:59:59 mx dnsmasq[9]: query[A] a.example from 10.0.0.1\n"
		"Jan  1 00:00:05 mx dnsmasq[9]: query[A] b.example from 10.0.0.1\n"
		"Dec 31 23:59:59 mx dnsmasq[9]: query[A] late.example from 10.0.0.1\n" /* out of order */
		"Jan  1 00:00:06 mx dnsmasq[9]: query[A] c.example from 10.0.0.1\n"
		"Feb 29 12:00:00 mx dnsmasq[9]: query[A] leap.example from 10.0.0.1\n"),
		VIGIL_LOG_AUTO, &(opts){.year = 2020});
	assert_int_equal(r.n, 4);
	assert_int_equal(r.e[0].time, 1609459199);
	assert_int_equal(r.e[1].time, 1609459205);
	assert_int_equal(r.e[2].time, 1609459199);
	assert_int_equal(r.e[3].time, 1609459206);
	assert_int_equal(r.malformed, 1); /* 29 February 2021 does not exist */
	run_free(&r);
}

static void syslog_year_inferred_from_now(void **state)
{
	/* Read on 2026-11-20: November is this year, December last year. */
	const char *path = write_text("mail.log",
		"Dec 30 10:00:00 mx dnsmasq[9]: query[A] a.example from 10.0.0.1\n"
		"Nov 20 10:00:00 mx dnsmasq[9]: query[A] b.example from 10.0.0.1\n"
		"Nov 21 09:00:00 mx dnsmasq[9]: query[A] c.example from 10.0.0.1\n");
	run r;
	read_all(&r, path, VIGIL_LOG_AUTO, &(opts){.now = 1795168800});
	assert_int_equal(r.n, 3);
	assert_int_equal(r.e[0].time, 1767088800);
	assert_int_equal(r.e[1].time, 1795168800);
	assert_int_equal(r.e[2].time, 1795168800 + 23 * 3600); /* within a day: this year */
	run_free(&r);
}

static void zones_refused_when_unknown_or_a_path(void **state)
{
	vigil_log_reader *r = NULL;
	assert_int_equal(vigil_log_open(&r, write_text("a.log", ""), VIGIL_LOG_AUTO), 0);
	assert_int_equal(vigil_log_set_timezone(r, "Nowhere/Atlantis"), VIGIL_EINVAL);
	assert_non_null(strstr(vigil_log_error(r), "Nowhere/Atlantis"));
	assert_int_equal(vigil_log_set_timezone(r, "../../etc/passwd"), VIGIL_EINVAL);
	assert_int_equal(vigil_log_set_timezone(r, "/etc/localtime"), VIGIL_EINVAL);
	assert_int_equal(vigil_log_set_timezone(r, "+25:00"), VIGIL_EINVAL);
	assert_int_equal(vigil_log_set_timezone(r, "+01:0"), VIGIL_EINVAL);
	assert_int_equal(vigil_log_set_timezone(r, NULL), VIGIL_EINVAL);
	assert_int_equal(vigil_log_set_timezone(r, "-0700"), 0);
	assert_int_equal(r->zone.fixed, -7 * 3600);
	assert_int_equal(vigil_log_set_timezone(r, "UTC"), 0);
	assert_int_equal(r->zone.fixed, 0);
	assert_int_equal(vigil_log_set_year(r, -1), VIGIL_EINVAL);
	assert_int_equal(vigil_log_set_year(r, 10000), VIGIL_EINVAL);
	vigil_log_free(r);
}

static void tzif_file_from_tzdir_is_parsed(void **state)
{
	/* A version 1 TZif file made here: +01:00 until 2000-01-01, then +05:30.
	 * Proves the parser without relying on the system's tzdata. */
	unsigned char f[44 + 4 + 1 + 12 + 4];
	memset(f, 0, sizeof(f));
	memcpy(f, "TZif", 4);
	f[35] = 1; /* timecnt */
	f[39] = 2; /* typecnt */
	f[43] = 4; /* charcnt */
	unsigned char *p = f + 44;
	uint32_t at = 946684800;
	p[0] = at >> 24, p[1] = at >> 16, p[2] = at >> 8, p[3] = at;
	p[4] = 1;
	p += 5;
	int32_t offs[2] = {3600, 19800};
	for (int i = 0; i < 2; i++, p += 6) {
		uint32_t o = (uint32_t)offs[i];
		p[0] = o >> 24, p[1] = o >> 16, p[2] = o >> 8, p[3] = o;
	}
	memcpy(p, "ABC", 4);
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/zoneinfo", tmpdir);
	mkdir(dir, 0700);
	write_bytes("zoneinfo/Test_Zone", f, sizeof(f));
	write_bytes("zoneinfo/Bad_Zone", "TZif2 but short", 15);
	const char *path = write_text("q.log",
		"01-Jan-1999 12:00:00.000 client 10.0.0.1#1 (a): query: a IN A +\n"
		"01-Jan-2001 12:00:00.000 client 10.0.0.1#1 (a): query: a IN A +\n");
	setenv("TZDIR", dir, 1);
	run r;
	read_all(&r, path, VIGIL_LOG_AUTO, &(opts){.zone = "Test_Zone"});
	vigil_log_reader *h = NULL;
	assert_int_equal(vigil_log_open(&h, path, VIGIL_LOG_AUTO), 0);
	assert_int_equal(vigil_log_set_timezone(h, "Bad_Zone"), VIGIL_EPARSE);
	vigil_log_free(h);
	unsetenv("TZDIR");
	assert_int_equal(r.n, 2);
	assert_int_equal(r.e[0].time, 915192000 - 3600);
	assert_int_equal(r.e[1].time, 978350400 - 19800);
	run_free(&r);
}

/* ---- files ---------------------------------------------------------------- */

static const char squid2[] =
	"1609747683.000    288 10.0.0.1 TCP_MISS/200 11848 GET http://a.example/1 - HIER_DIRECT/1.2.3.4 image/gif\n"
	"1609747684.000    288 10.0.0.2 TCP_MISS/200 11848 GET http://b.example/2 - HIER_DIRECT/1.2.3.4 image/gif\n";

static const char *write_gz(const char *name, const char *const *parts, size_t n)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	for (size_t i = 0; i < n; i++) { /* each part its own gzip member */
		gzFile g = gzopen(path, "ab");
		assert_non_null(g);
		assert_int_equal(gzwrite(g, parts[i], (unsigned)strlen(parts[i])), (int)strlen(parts[i]));
		assert_int_equal(gzclose(g), Z_OK);
	}
	return path;
}

static void gzip_by_magic_with_concatenated_members(void **state)
{
	/* Members may end anywhere, even inside a line. */
	char first[64];
	memcpy(first, squid2, 50);
	first[50] = '\0';
	const char *parts[] = {first, squid2 + 50,
		"1609747685.000 1 10.0.0.3 TCP_MISS/200 1 GET http://c.example/3 - HIER_DIRECT/1.2.3.4 -\n"};
	run r;
	read_all(&r, write_gz("access.log.1", parts, 3), VIGIL_LOG_AUTO, NULL); /* no .gz name */
	assert_int_equal(r.detected, VIGIL_LOG_SQUID);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.malformed, 0);
	assert_int_equal(r.last_rc, VIGIL_EDONE);
	assert_string_equal(r.e[0].url, "http://a.example/1");
	assert_string_equal(r.e[2].host, "c.example");
	assert_int_equal(r.e[2].line, 3);
	run_free(&r);
}

/* A small compressed file, read in one go, that inflates to many buffers:
 * the end of the file's bytes is not the end of the lines. */
static void gzip_small_file_inflating_past_the_buffer_is_read_whole(void **state)
{
	size_t l1 = (size_t)(strchr(squid2, '\n') + 1 - squid2);
	size_t lines = 20000; /* ~2 MB of log, a few KB compressed */
	char *big = malloc(l1 * lines + 1);
	for (size_t i = 0; i < lines; i++)
		memcpy(big + i * l1, squid2, l1);
	big[l1 * lines] = '\0';
	const char *parts[] = {big};
	const char *path = write_gz("big.gz", parts, 1);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < 64 * 1024); /* one read of the compressed file */
	vigil_log_reader *r = NULL;
	vigil_log_event e;
	assert_int_equal(vigil_log_open(&r, path, VIGIL_LOG_AUTO), 0);
	size_t n = 0;
	int rc;
	while ((rc = vigil_log_next(r, &e)) == 0) {
		assert_int_equal(e.line, n + 1);
		n++;
	}
	assert_int_equal(rc, VIGIL_EDONE);
	assert_int_equal(n, lines);
	assert_int_equal(vigil_log_malformed(r), 0);
	vigil_log_free(r);
	free(big);
}

static void gzip_truncated_or_damaged_is_an_error_after_the_lines(void **state)
{
	const char *parts[] = {squid2};
	const char *path = write_gz("t.gz", parts, 1);
	char *data;
	size_t len;
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	data = malloc(4096);
	len = fread(data, 1, 4096, f);
	fclose(f);
	/* Without its 8-byte trailer and a bit more: the lines inflated so far
	 * come out, then the error. */
	run r;
	read_all(&r, write_bytes("cut.gz", data, len - 12), VIGIL_LOG_SQUID, NULL);
	assert_int_equal(r.last_rc, VIGIL_EPARSE);
	assert_true(r.n <= 2);
	run_free(&r);
	/* Damaged deflate data. */
	for (size_t i = 12; i < len - 8; i++)
		data[i] ^= 0x55;
	vigil_log_reader *h = NULL;
	vigil_log_event e;
	assert_int_equal(vigil_log_open(&h, write_bytes("bad.gz", data, len), VIGIL_LOG_AUTO), 0);
	int rc;
	while ((rc = vigil_log_next(h, &e)) == 0)
		;
	assert_int_equal(rc, VIGIL_EPARSE);
	assert_non_null(strstr(vigil_log_error(h), "gzip"));
	assert_int_equal(vigil_log_next(h, &e), VIGIL_EDONE);
	vigil_log_free(h);
	free(data);
}

static void crlf_lines_and_missing_final_newline(void **state)
{
	run r;
	read_all(&r, write_text("access.log",
		"10.0.0.1 - - [22/Nov/2026:07:28:58 +0000] \"GET /a HTTP/1.1\" 200 1 \"-\" \"UA\"\r\n"
		"\r\n"
		"10.0.0.1 - - [22/Nov/2026:07:28:58 +0000] \"GET /b HTTP/1.1\" 200 1 \"-\" \"UA2\""),
		VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.e[0].user_agent, "UA"); /* no \r left */
	assert_string_equal(r.e[1].user_agent, "UA2");
	assert_int_equal(r.e[1].line, 3);
	assert_int_equal(r.malformed, 0);
	run_free(&r);
}

/* A squid line of exactly `len` bytes (without the newline). */
static void squid_line_of(char *buf, size_t len)
{
	const char *head = "1609747683.000 1 10.0.0.1 TCP_MISS/200 1 GET http://long.example/";
	const char *tail = " - HIER_DIRECT/1.2.3.4 -";
	size_t hl = strlen(head), tl = strlen(tail);
	memcpy(buf, head, hl);
	memset(buf + hl, 'a', len - hl - tl);
	memcpy(buf + len - tl, tail, tl);
	buf[len] = '\n';
}

static void long_lines_skipped_and_counted_at_the_limit(void **state)
{
	size_t max = VIGIL_MAX_LOG_LINE;
	size_t total = (max + 1) * 2 + (3 * max) + 2 * 200 + 8;
	char *buf = malloc(total);
	size_t o = 0;
	squid_line_of(buf + o, 120);
	o += 121;
	squid_line_of(buf + o, max); /* at the limit: read */
	o += max + 1;
	squid_line_of(buf + o, max + 1); /* one over: skipped */
	o += max + 2;
	memset(buf + o, 'x', 3 * max); /* far over, across several reads */
	o += 3 * max;
	buf[o++] = '\n';
	squid_line_of(buf + o, 120);
	o += 121;
	run r;
	read_all(&r, write_bytes("long.log", buf, o), VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_SQUID);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.malformed, 2);
	assert_int_equal(r.lines, 5);
	assert_int_equal(strlen(r.e[1].url), max - strlen("1609747683.000 1 10.0.0.1 TCP_MISS/200 1 GET ") -
		strlen(" - HIER_DIRECT/1.2.3.4 -"));
	assert_int_equal(r.e[2].line, 5);
	run_free(&r);
	/* A last line over the limit without a newline. */
	read_all(&r, write_bytes("long2.log", buf + 121 + max + 1, max + 1), VIGIL_LOG_SQUID, NULL);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.malformed, 1);
	assert_int_equal(r.last_rc, VIGIL_EDONE);
	run_free(&r);
	free(buf);
}

static void empty_and_blank_files_are_unrecognised(void **state)
{
	run r;
	read_all(&r, write_text("empty.log", ""), VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_AUTO);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.lines, 0);
	assert_int_equal(r.last_rc, VIGIL_EDONE);
	run_free(&r);
	read_all(&r, write_text("one.log", "x"), VIGIL_LOG_AUTO, NULL);
	/* One byte, no newline: still a line. (A file shorter than the gzip
	 * magic was read as empty: the end of the file was taken for the end
	 * of the lines while its byte still sat in the sniffing buffer.) */
	assert_int_equal(r.lines, 1);
	run_free(&r);
	read_all(&r, write_text("blank.log", "\n\n  \n\r\n"), VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_AUTO);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.lines, 4);
	assert_int_equal(r.malformed, 0);
	run_free(&r);
}

static void binary_junk_yields_nothing_and_is_counted_inside_a_log(void **state)
{
	unsigned char junk[4096];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245 + 12345;
		junk[i] = (unsigned char)(x >> 16);
	}
	run r;
	read_all(&r, write_bytes("junk.bin", junk, sizeof(junk)), VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_AUTO);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.malformed, 0); /* not a log: nothing to call malformed */
	run_free(&r);
	/* NUL bytes inside a log (what a crash leaves): that line is counted. */
	char mixed[512];
	size_t n = 0;
	size_t l1 = (size_t)(strchr(squid2, '\n') + 1 - squid2);
	memcpy(mixed, squid2, l1);
	n += l1;
	memset(mixed + n, 0, 40);
	n += 40;
	memcpy(mixed + n, squid2 + l1, strlen(squid2 + l1));
	n += strlen(squid2 + l1);
	read_all(&r, write_bytes("nul.log", mixed, n), VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_SQUID);
	assert_int_equal(r.n, 1); /* the NULs and the line they run into */
	assert_int_equal(r.malformed, 1);
	run_free(&r);
}

static void format_found_after_unrecognised_first_lines(void **state)
{
	char text[8192] = "";
	for (int i = 0; i < 30; i++)
		strcat(text, "some banner line that is no log\n");
	strcat(text, squid2);
	run r;
	read_all(&r, write_text("late.log", text), VIGIL_LOG_AUTO, NULL);
	assert_int_equal(r.detected, VIGIL_LOG_SQUID);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.malformed, 0);
	assert_int_equal(r.e[0].line, 31);
	run_free(&r);
}

static void stdin_is_read_with_a_dash(void **state)
{
	const char *parts[] = {squid2};
	const char *path = write_gz("stdin.gz", parts, 1);
	int saved = dup(0);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, 0), 0);
	close(fd);
	run r;
	read_all(&r, "-", VIGIL_LOG_AUTO, NULL);
	dup2(saved, 0);
	close(saved);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.detected, VIGIL_LOG_SQUID);
	run_free(&r);
}

static void open_errors_leave_a_handle_that_says_why(void **state)
{
	vigil_log_reader *r = NULL;
	vigil_log_event e;
	char path[512];
	snprintf(path, sizeof(path), "%s/absent.log", tmpdir);
	assert_int_equal(vigil_log_open(&r, path, VIGIL_LOG_AUTO), VIGIL_EIO);
	assert_non_null(r);
	assert_non_null(strstr(vigil_log_error(r), "absent.log"));
	assert_int_equal(vigil_log_next(r, &e), VIGIL_EDONE);
	vigil_log_free(r);
	assert_int_equal(vigil_log_open(&r, tmpdir, VIGIL_LOG_AUTO), VIGIL_EIO);
	assert_non_null(strstr(vigil_log_error(r), "directory"));
	vigil_log_free(r);
	r = (vigil_log_reader *)1;
	assert_int_equal(vigil_log_open(&r, NULL, VIGIL_LOG_AUTO), VIGIL_EINVAL);
	assert_null(r);
	assert_int_equal(vigil_log_open(&r, path, (vigil_log_format)99), VIGIL_EINVAL);
	assert_null(r);
	assert_int_equal(vigil_log_open(NULL, path, VIGIL_LOG_AUTO), VIGIL_EINVAL);
	vigil_log_free(NULL);
}

static void format_names_round_trip(void **state)
{
	for (int f = VIGIL_LOG_AUTO; f <= VIGIL_LOG_SYSLOG; f++)
		assert_int_equal(vigil_log_format_from_name(vigil_log_format_name((vigil_log_format)f)), f);
	assert_string_equal(vigil_log_format_name(VIGIL_LOG_SQUID), "squid");
	assert_string_equal(vigil_log_format_name(VIGIL_LOG_COMBINED), "combined");
	assert_string_equal(vigil_log_format_name((vigil_log_format)42), "unknown");
	assert_int_equal((int)vigil_log_format_from_name("nope"), -1);
	assert_int_equal((int)vigil_log_format_from_name(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, make_tmpdir, remove_tmpdir)
		T(squid_native_fields_and_connect),
		T(squid_malformed_lines_are_counted),
		T(combined_apache_zone_and_escapes),
		T(combined_common_format_and_extra_fields),
		T(combined_vhost_makes_the_url_absolute),
		T(combined_junk_request_is_skipped_broken_line_counted),
		T(bind_query_log_variants),
		T(bind_local_time_takes_the_given_zone),
		T(dnsmasq_syslog_and_extra_forms),
		T(postfix_sasl_success_and_failures),
		T(dovecot_syslog_and_own_log_file),
		T(mixed_syslog_dispatches_by_program),
		T(syslog_rfc3339_and_rfc5424_stamps),
		T(syslog_year_given_rolls_over_at_new_year),
		T(syslog_year_inferred_from_now),
		T(zones_refused_when_unknown_or_a_path),
		T(tzif_file_from_tzdir_is_parsed),
		T(gzip_by_magic_with_concatenated_members),
		T(gzip_small_file_inflating_past_the_buffer_is_read_whole),
		T(gzip_truncated_or_damaged_is_an_error_after_the_lines),
		T(crlf_lines_and_missing_final_newline),
		T(long_lines_skipped_and_counted_at_the_limit),
		T(empty_and_blank_files_are_unrecognised),
		T(binary_junk_yields_nothing_and_is_counted_inside_a_log),
		T(format_found_after_unrecognised_first_lines),
		T(stdin_is_read_with_a_dash),
		T(open_errors_leave_a_handle_that_says_why),
		T(format_names_round_trip),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
