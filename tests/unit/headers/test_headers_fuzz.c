/*
 * Robustness of the Received and Authentication-Results parsers: ~10,000
 * pseudo-random strings (fixed seed, so a failure reproduces) and mutations of
 * real fields go through both; every output must be well formed. Run under
 * the sanitizer build, this is what catches a read past the end.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "extract/extract.h"

#define RANDOM_CASES 10000
#define MUTATIONS_PER_SEED 300
#define MAX_LEN 512

/* xorshift64*: small, fast, and the same sequence on every platform. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static size_t rng_below(size_t n)
{
	return n ? (size_t)(rng() % n) : 0;
}

/* Real fields from the corpus, the starting points of the mutations. */
static const char *const seeds[] = {
	"from mail2.nytimes-news.com (mail2.nytimes-news.com [182.182.105.178]) by mx1.senate.example "
	"(Postfix) with ESMTP id 1420432972 for <adrien.lefebvre9@senate.example>; Fri, 15 Jan 2021 "
	"08:08:15 +0000",
	"from [185.20.186.218] (port=53488 helo=WIN-RCZAJ1VQPF)\r\n\tby host.hddtotal6.com with "
	"esmtpsa  (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\r\n\t(Exim 4.96)\r\n\t"
	"(envelope-from <f.fuentes@rennyconceptos.com>)\r\n\tid 1qNz2Y-0006k8-2I\r\n\tfor "
	"phishing@pot; Mon, 24 Jul 2023 11:08:10 -0600",
	"from unknown (HELO smoking) ([66.92.72.101]) (envelope-sender <rOD@arsecandle.org>) by "
	"mail11.speakeasy.net (qmail-ldap-1.03) with SMTP for <spamassassin-talk@lists.sourceforge.net>; "
	"15 Aug 2002 13:31:22 -0000",
	"from AM2PEPF0001C714.eurprd05.prod.outlook.com (2603:10a6:208:10e:cafe::30) by "
	"AM0PR01CA0095.outlook.office365.com (2603:10a6:208:10e::36) with Microsoft SMTP Server "
	"(version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8137.19 via Frontend "
	"Transport; Wed, 6 Nov 2024 02:47:37 +0000",
	"from yoda (12-231-69-107.client.attbi.com [::ffff:12.231.69.107]) (AUTH: CRAM-MD5 "
	"hosting@j2solutions.net) by mail.j2solutions.net with esmtp; Mon, 23 Sep 2002 08:11:31 -0700",
	"from mx1.redhat.com ([209.132.183.28]:1689 \"EHLO mx1.redhat.com\" rhost-flags-OK-OK-OK-OK) "
	"by vger.kernel.org with ESMTP id S1751804Ab0FWRFN (ORCPT <rfc822;linux-fsdevel@vger.kernel.org>); "
	"Wed, 23 Jun 2010 13:05:13 -0400",
	"mx.google.com; dkim=pass header.i=@hotmail.com header.s=selector1 header.b=g8fzLget; arc=pass "
	"(i=1); spf=pass (google.com: domain of phishing@pot designates 40.92.40.56 as permitted sender) "
	"smtp.mailfrom=phishing@pot; dmarc=pass (p=NONE sp=NONE dis=NONE) header.from=hotmail.com",
	"spf=pass (sender IP is 209.85.221.48) smtp.mailfrom=gmail.com; dkim=pass (signature was "
	"verified) header.d=gmail.com;dmarc=pass action=none header.from=gmail.com;compauth=pass "
	"reason=100",
	"i=2; mx.microsoft.com 1; spf=pass (sender ip is 40.107.22.117) smtp.rcpttodomain=hotmail.com "
	"smtp.mailfrom=lovedale.edu.za; dmarc=permerror action=none header.from=lovedale.edu.za; "
	"dkim=fail (signature did not verify) header.d=lovedale200.onmicrosoft.com; arc=fail (48)",
	"authrestest4int 2; spf=fail reason (BAH) = \"just some (<>.%&! reason\" "
	"smtp.mailfrom=dogma.slashnull.org",
	"authrestest6int; dkim=fail (2048-bit key; unprotected) header.d=gmail.com header.i=\" foo bar "
	"\\\"xyz\\\"@gmail.com\" header.b=SI+iqkld;",
};

/* Characters that steer both grammars, so random strings reach deep paths. */
static const char structural[] = "()[]<>;=:@\"\\/., \t\r\n%";
static const char *const words[] = {
	"from ", "by ", "with ", "id ", "for ", "via ", "HELO ", "helo=", "EHLO ", "IPv6:", "::ffff:",
	"unknown ", "192.0.2.1", "2001:db8::1", "spf=", "dkim=", "dmarc=", "reason=", "header.d=",
	"i=1;", "none", "pass ", "Mon, 02 Dec 2002 11:24:50 +0000",
};

static size_t random_string(char *buf, size_t cap)
{
	size_t len = rng_below(cap);
	size_t o = 0;
	while (o < len) {
		switch (rng_below(4)) {
		case 0:
			buf[o++] = structural[rng_below(sizeof(structural) - 1)];
			break;
		case 1: {
			const char *w = words[rng_below(sizeof(words) / sizeof(words[0]))];
			for (; *w && o < len; w++)
				buf[o++] = *w;
			break;
		}
		case 2:
			buf[o++] = (char)('a' + rng_below(26));
			break;
		default:
			buf[o++] = (char)(1 + rng_below(255)); /* any byte but NUL */
			break;
		}
	}
	buf[o] = '\0';
	return o;
}

/* One random edit of buf (len bytes, room for cap): delete, insert, flip,
 * duplicate a span, or cut. Returns the new length. */
static size_t mutate(char *buf, size_t len, size_t cap)
{
	size_t at = rng_below(len + 1);
	switch (rng_below(5)) {
	case 0: /* delete a span */
		if (len > 0) {
			size_t n = 1 + rng_below(len - at < 8 ? len - at + 1 : 8);
			if (at + n > len)
				n = len - at;
			memmove(buf + at, buf + at + n, len - at - n);
			len -= n;
		}
		break;
	case 1: /* insert a structural character */
		if (len + 1 < cap) {
			memmove(buf + at + 1, buf + at, len - at);
			buf[at] = structural[rng_below(sizeof(structural) - 1)];
			len++;
		}
		break;
	case 2: /* overwrite with any byte */
		if (at < len)
			buf[at] = (char)(1 + rng_below(255));
		break;
	case 3: { /* duplicate a span */
		size_t n = rng_below(32);
		if (at + n > len)
			n = len - at;
		if (len + n < cap) {
			memmove(buf + at + n, buf + at, len - at);
			len += n;
		}
		break;
	}
	default: /* truncate */
		len = at;
		break;
	}
	buf[len] = '\0';
	return len;
}

static void valid_string(const char *s, size_t max)
{
	if (s)
		assert_true(strlen(s) <= max);
}

/* Runs both parsers on s and checks what they made of it. */
static void parse_both(const char *s)
{
	size_t len = strlen(s);
	vigil_arena *a = vigil_arena_new();
	assert_non_null(a);

	vigil_received r = {0};
	assert_int_equal(received__parse(&r, a, s), 0);
	assert_non_null(r.raw);
	assert_true(strlen(r.raw) <= len);
	valid_string(r.from_host, len);
	valid_string(r.helo, len);
	valid_string(r.rdns, len);
	valid_string(r.by_host, len);
	valid_string(r.with, len);
	valid_string(r.id, len);
	valid_string(r.for_addr, len);
	if (r.ip) {
		/* always canonical: it parses back to the same text */
		unsigned char addr[16];
		char again[INET6_ADDRSTRLEN];
		int af = strchr(r.ip, ':') ? AF_INET6 : AF_INET;
		assert_int_equal(inet_pton(af, r.ip, addr), 1);
		assert_non_null(inet_ntop(af, addr, again, sizeof(again)));
		assert_string_equal(again, r.ip);
	}

	vigil_auth_vec v = {0};
	assert_int_equal(authres__parse(&v, a, s, 0, 0), 0);
	for (size_t i = 0; i < v.len; i++) {
		const vigil_auth_result *x = &v.items[i];
		assert_non_null(x->method);
		assert_non_null(x->result);
		valid_string(x->method, len);
		valid_string(x->result, len);
		valid_string(x->reason, len);
		valid_string(x->authserv_id, len);
		assert_true(x->n_props == 0 || x->props != NULL);
		for (size_t j = 0; j < x->n_props; j++) {
			assert_non_null(x->props[j].name);
			assert_non_null(x->props[j].value);
			valid_string(x->props[j].value, len);
		}
	}
	vigil_arena_free(a);
}

static void headers_survive_random_strings(void **state)
{
	rng_state = 0x9e3779b97f4a7c15ULL;
	char buf[MAX_LEN + 1];
	for (int i = 0; i < RANDOM_CASES; i++) {
		random_string(buf, MAX_LEN);
		parse_both(buf);
	}
}

static void headers_survive_mutated_real_fields(void **state)
{
	rng_state = 0x243f6a8885a308d3ULL;
	char buf[2048];
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		const size_t seed_len = strlen(seeds[s]);
		assert_true(seed_len < sizeof(buf));
		size_t len = 0;
		for (int m = 0; m < MUTATIONS_PER_SEED; m++) {
			/* restart from the seed now and then, so edits pile up only
			 * for a while and most inputs stay close to real ones */
			if (m % 20 == 0) {
				memcpy(buf, seeds[s], seed_len + 1);
				len = seed_len;
			}
			len = mutate(buf, len, sizeof(buf));
			parse_both(buf);
		}
	}
}

static void headers_survive_every_prefix_of_real_fields(void **state)
{
	/* A field cut at any byte: the ends of spans are where overreads hide. */
	char buf[2048];
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t len = strlen(seeds[s]);
		for (size_t n = 0; n <= len; n++) {
			memcpy(buf, seeds[s], n);
			buf[n] = '\0';
			parse_both(buf);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(headers_survive_random_strings),
		cmocka_unit_test(headers_survive_mutated_real_fields),
		cmocka_unit_test(headers_survive_every_prefix_of_real_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
