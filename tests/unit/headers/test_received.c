/*
 * Unit tests for Received parsing: one real field per MTA shape (from the
 * corpus in ../shared/corpus), with every expected field written out, then
 * the edges: garbage, empty, unbalanced, deeply nested and very long fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extract/extract.h"

typedef struct want {
	const char *from, *helo, *rdns, *ip, *by, *with, *id, *for_addr;
	int64_t time;
} want;

static void field_equal(const char *got, const char *expected)
{
	if (expected) {
		assert_non_null(got);
		assert_string_equal(got, expected);
	} else {
		assert_null(got);
	}
}

/* Parses `value` and checks every field against `w`. */
static void expect_received(const char *value, want w)
{
	vigil_arena *a = vigil_arena_new();
	assert_non_null(a);
	vigil_received r = {0};
	assert_int_equal(received__parse(&r, a, value), 0);
	assert_non_null(r.raw);
	field_equal(r.from_host, w.from);
	field_equal(r.helo, w.helo);
	field_equal(r.rdns, w.rdns);
	field_equal(r.ip, w.ip);
	field_equal(r.by_host, w.by);
	field_equal(r.with, w.with);
	field_equal(r.id, w.id);
	field_equal(r.for_addr, w.for_addr);
	assert_int_equal(r.time, w.time);
	vigil_arena_free(a);
}

/* ---- Postfix -------------------------------------------------------- */

static void received_postfix_takes_rdns_and_ip_from_comment(void **state)
{
	/* synthetic corpus, recon campaign C1: the relay IP detectors match */
	expect_received("from mail2.nytimes-news.com (mail2.nytimes-news.com\r\n"
			" [182.182.105.178]) by mx1.senate.example (Postfix) with ESMTP id 1420432972\r\n"
			" for <adrien.lefebvre9@senate.example>; Fri, 15 Jan 2021 08:08:15 +0000",
		(want){.from = "mail2.nytimes-news.com", .helo = "mail2.nytimes-news.com",
			.rdns = "mail2.nytimes-news.com", .ip = "182.182.105.178",
			.by = "mx1.senate.example", .with = "ESMTP", .id = "1420432972",
			.for_addr = "adrien.lefebvre9@senate.example", .time = 1610698095});
}

static void received_postfix_unknown_rdns_is_null(void **state)
{
	expect_received("from User (unknown [121.137.24.249]) by mx2.senate.example (Postfix)\n"
			" with ESMTPS id 4D0151E538 for <adrien.schmidt18@senate.example>; Thu, 04 Feb\n"
			" 2021 10:40:55 +0000",
		(want){.from = "User", .helo = "User", .ip = "121.137.24.249",
			.by = "mx2.senate.example", .with = "ESMTPS", .id = "4D0151E538",
			.for_addr = "adrien.schmidt18@senate.example", .time = 1612435255});
}

static void received_postfix_tls_comments_with_nested_parens_are_skipped(void **state)
{
	expect_received("from mail-oi1-f177.google.com (mail-oi1-f177.google.com [209.85.167.177])\r\n"
			" (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
			"  key-exchange X25519 server-signature RSA-PSS (4096 bits) server-digest SHA256) (No\r\n"
			" client certificate requested) by mailin012.protonmail.ch (Postfix) with ESMTPS id\r\n"
			" 4QbvFv2WgLz9vNQ3 for <phishing@pot>; Wed, 7 Jun 2023 17:18:59 +0000 (UTC)",
		(want){.from = "mail-oi1-f177.google.com", .helo = "mail-oi1-f177.google.com",
			.rdns = "mail-oi1-f177.google.com", .ip = "209.85.167.177",
			.by = "mailin012.protonmail.ch", .with = "ESMTPS", .id = "4QbvFv2WgLz9vNQ3",
			.for_addr = "phishing@pot", .time = 1686158339});
}

static void received_postfix_ipv6_literal_is_canonical(void **state)
{
	expect_received("from mail-pf1-x432.google.com (mail-pf1-x432.google.com "
			"[IPv6:2607:f8b0:4864:20::432]) (using TLSv1.3 with cipher AEAD-AES128-GCM-SHA256 "
			"(128/128 bits)) (No client certificate requested) by dmarc1.spamassassin.org "
			"(Postfix) with ESMTPS id EDD4E2073D for <test@dmarc1.spamassassin.org>; Tue, 15 Jun "
			"2021 11:55:45 +0200 (CEST)",
		(want){.from = "mail-pf1-x432.google.com", .helo = "mail-pf1-x432.google.com",
			.rdns = "mail-pf1-x432.google.com", .ip = "2607:f8b0:4864:20::432",
			.by = "dmarc1.spamassassin.org", .with = "ESMTPS", .id = "EDD4E2073D",
			.for_addr = "test@dmarc1.spamassassin.org", .time = 1623750945});
}

static void received_postfix_ipv6_loopback_literal(void **state)
{
	expect_received("from pjebyzflchwb.org (localhost [IPv6:::1]) by pjebyzflchwb.org (Postfix) "
			"with ESMTP id 83EC320442 for <phishing@pot>; Sat,  1 Feb 2025 11:05:30 +0000 (UTC)",
		(want){.from = "pjebyzflchwb.org", .helo = "pjebyzflchwb.org", .rdns = "localhost",
			.ip = "::1", .by = "pjebyzflchwb.org", .with = "ESMTP", .id = "83EC320442",
			.for_addr = "phishing@pot", .time = 1738407930});
}

/* ---- Sendmail ------------------------------------------------------- */

static void received_sendmail_user_at_rdns_drops_the_user(void **state)
{
	expect_received("from lugh.tuatha.org (root@lugh.tuatha.org [194.125.145.45]) by "
			"dogma.slashnull.org (8.11.6/8.11.6) with ESMTP id g7S8BaZ15830 for "
			"<zzzz-ilug@spamassassin.taint.org>; Wed, 28 Aug 2002 09:11:36 +0100",
		(want){.from = "lugh.tuatha.org", .helo = "lugh.tuatha.org", .rdns = "lugh.tuatha.org",
			.ip = "194.125.145.45", .by = "dogma.slashnull.org", .with = "ESMTP",
			.id = "g7S8BaZ15830", .for_addr = "zzzz-ilug@spamassassin.taint.org",
			.time = 1030522296});
}

static void received_sendmail_may_be_forged_nested_comment(void **state)
{
	expect_received("from cpu59.osdn.com (slashdot.org [64.28.67.73] (may be forged)) by "
			"dogma.slashnull.org (8.11.6/8.11.6) with ESMTP id g91203K26685 for "
			"<jm-use-perl@jmason.org>; Tue, 1 Oct 2002 03:00:03 +0100",
		(want){.from = "cpu59.osdn.com", .helo = "cpu59.osdn.com", .rdns = "slashdot.org",
			.ip = "64.28.67.73", .by = "dogma.slashnull.org", .with = "ESMTP",
			.id = "g91203K26685", .for_addr = "jm-use-perl@jmason.org", .time = 1033437603});
}

static void received_sendmail_local_submission_has_no_from(void **state)
{
	expect_received("(from mail@localhost) by int-mx1.corp.spamassassin.taint.org "
			"(8.11.6/8.11.6) id g8GDYtY31245 for exmh-users@listman.redhat.com; Mon, 16 Sep "
			"2002 09:34:55 -0400",
		(want){.by = "int-mx1.corp.spamassassin.taint.org", .id = "g8GDYtY31245",
			.for_addr = "exmh-users@listman.redhat.com", .time = 1032183295});
}

/* ---- Exim ----------------------------------------------------------- */

static void received_exim_helo_differs_so_from_word_is_rdns(void **state)
{
	expect_received("from 66-178-46-19.reverse.newskies.net ([66.178.46.19]:4943 "
			"helo=ab97c2221.com) by panoramix.vasoftware.com with smtp (Exim 4.05-VA-mm1 #1 "
			"(Debian)) id 17p6ti-0008GI-00 for <Spamassassin-talk@lists.sourceforge.net>; Wed, "
			"11 Sep 2002 05:47:11 -0700",
		(want){.from = "66-178-46-19.reverse.newskies.net", .helo = "ab97c2221.com",
			.rdns = "66-178-46-19.reverse.newskies.net", .ip = "66.178.46.19",
			.by = "panoramix.vasoftware.com", .with = "smtp", .id = "17p6ti-0008GI-00",
			.for_addr = "Spamassassin-talk@lists.sourceforge.net", .time = 1031748431});
}

static void received_exim_bracketed_from_without_rdns(void **state)
{
	expect_received("from [185.20.186.218] (port=53488 helo=WIN-RCZAJ1VQPF)\r\n"
			"\tby host.hddtotal6.com with esmtpsa  (TLS1.2) tls "
			"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\r\n"
			"\t(Exim 4.96)\r\n"
			"\t(envelope-from <f.fuentes@rennyconceptos.com>)\r\n"
			"\tid 1qNz2Y-0006k8-2I\r\n"
			"\tfor phishing@pot; Mon, 24 Jul 2023 11:08:10 -0600",
		(want){.from = "[185.20.186.218]", .helo = "WIN-RCZAJ1VQPF", .ip = "185.20.186.218",
			.by = "host.hddtotal6.com", .with = "esmtpsa", .id = "1qNz2Y-0006k8-2I",
			.for_addr = "phishing@pot", .time = 1690218490});
}

static void received_exim_folded_with_tabs_and_envelope_from(void **state)
{
	expect_received("from host.hddtotal6.com ([67.225.212.93])\r\n"
			"\tby mx.anti-spam-premium.com with esmtps (TLSv1.2:AES128-GCM-SHA256:128)\r\n"
			"\t(Exim 4.92)\r\n"
			"\t(envelope-from <f.fuentes@rennyconceptos.com>)\r\n"
			"\tid 1qNz2Y-0008SV-7G\r\n"
			"\tfor phishing@pot; Mon, 24 Jul 2023 13:08:12 -0400",
		(want){.from = "host.hddtotal6.com", .helo = "host.hddtotal6.com", .ip = "67.225.212.93",
			.by = "mx.anti-spam-premium.com", .with = "esmtps", .id = "1qNz2Y-0008SV-7G",
			.for_addr = "phishing@pot", .time = 1690218492});
}

/* ---- qmail and relatives -------------------------------------------- */

static void received_qmail_unknown_helo_and_bare_ip(void **state)
{
	expect_received("from unknown (HELO mbox.surecom.com) (207.49.16.5) by "
			"mi-1.rz.ruhr-uni-bochum.de with SMTP; 29 Jul 2002 21:03:49 -0000",
		(want){.from = "unknown", .helo = "mbox.surecom.com", .ip = "207.49.16.5",
			.by = "mi-1.rz.ruhr-uni-bochum.de", .with = "SMTP", .time = 1027976629});
}

static void received_qmail_helo_ip_is_not_the_connecting_ip(void **state)
{
	expect_received("from lb1.theserverside.com (HELO 192.168.1.16) (64.49.216.101) by "
			"mail.sneakemail.com with SMTP; 4 Sep 2002 18:20:33 -0000",
		(want){.from = "lb1.theserverside.com", .helo = "192.168.1.16",
			.rdns = "lb1.theserverside.com", .ip = "64.49.216.101", .by = "mail.sneakemail.com",
			.with = "SMTP", .time = 1031163633});
}

static void received_qmail_ldap_bracketed_ip_and_envelope_sender(void **state)
{
	expect_received("from unknown (HELO smoking) ([66.92.72.101]) (envelope-sender "
			"<rOD@arsecandle.org>) by mail11.speakeasy.net (qmail-ldap-1.03) with SMTP for "
			"<spamassassin-talk@lists.sourceforge.net>; 15 Aug 2002 13:31:22 -0000",
		(want){.from = "unknown", .helo = "smoking", .ip = "66.92.72.101",
			.by = "mail11.speakeasy.net", .with = "SMTP",
			.for_addr = "spamassassin-talk@lists.sourceforge.net", .time = 1029418282});
}

static void received_qmail_invoked_line_keeps_only_the_time(void **state)
{
	expect_received("(qmail 18981 invoked by alias); 25 Jul 2002 18:17:17 -0000",
		(want){.time = 1027621037});
}

static void received_zmailer_quoted_ehlo(void **state)
{
	expect_received("from mx1.redhat.com ([209.132.183.28]:1689 \"EHLO mx1.redhat.com\" "
			"rhost-flags-OK-OK-OK-OK) by vger.kernel.org with ESMTP id S1751804Ab0FWRFN "
			"(ORCPT <rfc822;linux-fsdevel@vger.kernel.org>); Wed, 23 Jun 2010 13:05:13 -0400",
		(want){.from = "mx1.redhat.com", .helo = "mx1.redhat.com", .rdns = "mx1.redhat.com",
			.ip = "209.132.183.28", .by = "vger.kernel.org", .with = "ESMTP",
			.id = "S1751804Ab0FWRFN", .time = 1277312713});
}

static void received_communigate_account_helo(void **state)
{
	expect_received("from [10.5.1.119] (account kguest HELO tuatha.org) by stockbyte.com "
			"(CommuniGate Pro SMTP 3.5.9) with ESMTP id 53327; Wed, 04 Dec 2002 11:22:18 +0000",
		(want){.from = "[10.5.1.119]", .helo = "tuatha.org", .ip = "10.5.1.119",
			.by = "stockbyte.com", .with = "ESMTP", .id = "53327", .time = 1039000938});
}

/* ---- Microsoft ------------------------------------------------------ */

static void received_exchange_online_takes_from_ip_not_by_ip(void **state)
{
	expect_received("from d2di.nativewavephotography.icu (40.112.176.169) by\r\n"
			" AM2PEPF0001C714.mail.protection.outlook.com (10.167.16.184) with Microsoft\r\n"
			" SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n"
			" 15.20.8137.17 via Frontend Transport; Wed, 6 Nov 2024 02:47:37 +0000",
		(want){.from = "d2di.nativewavephotography.icu", .helo = "d2di.nativewavephotography.icu",
			.ip = "40.112.176.169", .by = "AM2PEPF0001C714.mail.protection.outlook.com",
			.with = "Microsoft SMTP Server", .id = "15.20.8137.17", .time = 1730861257});
}

static void received_exchange_internal_ipv6_hop(void **state)
{
	expect_received("from NAM02-DM3-obe.outbound.protection.outlook.com (52.100.158.220) by "
			"HE1EUR04FT028.mail.protection.outlook.com (10.152.27.31) with Microsoft SMTP Server "
			"(version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.6954.18 via "
			"Frontend Transport; Tue, 31 Oct 2023 23:36:50 +0000",
		(want){.from = "NAM02-DM3-obe.outbound.protection.outlook.com",
			.helo = "NAM02-DM3-obe.outbound.protection.outlook.com", .ip = "52.100.158.220",
			.by = "HE1EUR04FT028.mail.protection.outlook.com", .with = "Microsoft SMTP Server",
			.id = "15.20.6954.18", .time = 1698795410});
	expect_received("from AM2PEPF0001C714.eurprd05.prod.outlook.com\r\n"
			" (2603:10a6:208:10e:cafe::30) by AM0PR01CA0095.outlook.office365.com\r\n"
			" (2603:10a6:208:10e::36) with Microsoft SMTP Server (version=TLS1_2,\r\n"
			" cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8137.19 via Frontend\r\n"
			" Transport; Wed, 6 Nov 2024 02:47:37 +0000",
		(want){.from = "AM2PEPF0001C714.eurprd05.prod.outlook.com",
			.helo = "AM2PEPF0001C714.eurprd05.prod.outlook.com", .ip = "2603:10a6:208:10e:cafe::30",
			.by = "AM0PR01CA0095.outlook.office365.com", .with = "Microsoft SMTP Server",
			.id = "15.20.8137.19", .time = 1730861257});
}

static void received_exchange_https_loopback(void **state)
{
	expect_received("from DM8P223MB0005.NAMP223.PROD.OUTLOOK.COM (::1) by\r\n"
			" EA2P223MB0955.NAMP223.PROD.OUTLOOK.COM with HTTPS; Wed, 6 Nov 2024 02:47:40\r\n"
			" +0000",
		(want){.from = "DM8P223MB0005.NAMP223.PROD.OUTLOOK.COM",
			.helo = "DM8P223MB0005.NAMP223.PROD.OUTLOOK.COM", .ip = "::1",
			.by = "EA2P223MB0955.NAMP223.PROD.OUTLOOK.COM", .with = "HTTPS", .time = 1730861260});
}

static void received_exchange_mapi_drops_the_zone_of_by_only(void **state)
{
	expect_received("from SEZPR06MB6572.apcprd06.prod.outlook.com ([fe80::c78c:894c:a5d7:f6]) by "
			"SEZPR06MB6572.apcprd06.prod.outlook.com ([fe80::c78c:894c:a5d7:f6%3]) with mapi id "
			"15.20.7918.024; Fri, 13 Sep 2024 12:20:27 +0000",
		(want){.from = "SEZPR06MB6572.apcprd06.prod.outlook.com",
			.helo = "SEZPR06MB6572.apcprd06.prod.outlook.com", .ip = "fe80::c78c:894c:a5d7:f6",
			.by = "SEZPR06MB6572.apcprd06.prod.outlook.com", .with = "mapi",
			.id = "15.20.7918.024", .time = 1726230027});
}

/* ---- Gmail, Yahoo, Dovecot ------------------------------------------ */

static void received_gmail_strips_the_final_dot_of_rdns(void **state)
{
	expect_received("from mx08-00096706.pphosted.com (mx08-00096706.pphosted.com. [91.207.212.192])\r\n"
			"        by mx.google.com with ESMTPS id "
			"a13-20020a05622a02cd00b0042da968cef7si7739242qtx.543.2024.02.27.04.15.38\r\n"
			"        for <phish@pot>\r\n"
			"        (version=TLS1_2 cipher=ECDHE-RSA-AES128-GCM-SHA256 bits=128/128);\r\n"
			"        Tue, 27 Feb 2024 04:15:38 -0800 (PST)",
		(want){.from = "mx08-00096706.pphosted.com", .helo = "mx08-00096706.pphosted.com",
			.rdns = "mx08-00096706.pphosted.com", .ip = "91.207.212.192", .by = "mx.google.com",
			.with = "ESMTPS",
			.id = "a13-20020a05622a02cd00b0042da968cef7si7739242qtx.543.2024.02.27.04.15.38",
			.for_addr = "phish@pot", .time = 1709036138});
}

static void received_gmail_bracket_only_comment_has_no_rdns(void **state)
{
	expect_received("from xent.com ([64.161.22.236]) by dogma.slashnull.org (8.11.6/8.11.6) with "
			"ESMTP id g8GLdYC10822 for <jm@jmason.org>; Mon, 16 Sep 2002 22:39:34 +0100",
		(want){.from = "xent.com", .helo = "xent.com", .ip = "64.161.22.236",
			.by = "dogma.slashnull.org", .with = "ESMTP", .id = "g8GLdYC10822",
			.for_addr = "jm@jmason.org", .time = 1032212374});
}

static void received_gmail_internal_hop_without_from(void **state)
{
	expect_received("by mail-oi1-f177.google.com with SMTP id "
			"5614622812f47-3942c6584f0so5169491b6e.3\r\n"
			"        for <phishing@pot>; Wed, 07 Jun 2023 10:18:59 -0700 (PDT)",
		(want){.by = "mail-oi1-f177.google.com", .with = "SMTP",
			.id = "5614622812f47-3942c6584f0so5169491b6e.3", .for_addr = "phishing@pot",
			.time = 1686158339});
}

static void received_gmail_by_address_is_never_the_sender_ip(void **state)
{
	expect_received("by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb;\r\n"
			"        Tue, 27 Feb 2024 04:15:39 -0800 (PST)",
		(want){.by = "2002:a05:612c:2fc4:b0:453:9483:7435", .with = "SMTP",
			.id = "kv4csp1783762vqb", .time = 1709036139});
}

static void received_yahoo_bare_ip_after_from(void **state)
{
	expect_received("from 10.217.136.93 by atlas116.free.mail.ne1.yahoo.com pod-id NONE with "
			"HTTPS; Mon, 22 Jan 2024 19:30:47 +0000",
		(want){.from = "10.217.136.93", .helo = "10.217.136.93", .ip = "10.217.136.93",
			.by = "atlas116.free.mail.ne1.yahoo.com", .with = "HTTPS", .time = 1705951847});
	expect_received("from [66.218.67.194] by n28.grp.scd.yahoo.com with NNFMP; 02 Dec 2002 "
			"08:48:30 -0000",
		(want){.from = "[66.218.67.194]", .helo = "[66.218.67.194]", .ip = "66.218.67.194",
			.by = "n28.grp.scd.yahoo.com", .with = "NNFMP", .time = 1038818910});
}

static void received_dovecot_lmtp(void **state)
{
	expect_received("from mx.mezonplus.ru by mx.mezon.local (Dovecot) with LMTP id "
			"YVBbOi5Cm1WCLgEAPZa6/Q ; Tue, 07 Jul 2015 06:06:22 +0300",
		(want){.from = "mx.mezonplus.ru", .helo = "mx.mezonplus.ru", .by = "mx.mezon.local",
			.with = "LMTP", .id = "YVBbOi5Cm1WCLgEAPZa6/Q", .time = 1436238382});
	expect_received("from director-prod-uolhost-3 ([10.81.8.211]) by backend-m5ad-prod-uolhost-15 "
			"with LMTP id KFEILtHLdWTaRwAAhT+Htg (envelope-from <rochamanoela@matacontabil.com>) "
			"for <anne.compras+Quarentena@brasmedica.dominiotemporario.com>; Tue, 30 May 2023 "
			"10:11:29 +0000",
		(want){.from = "director-prod-uolhost-3", .helo = "director-prod-uolhost-3",
			.ip = "10.81.8.211", .by = "backend-m5ad-prod-uolhost-15", .with = "LMTP",
			.id = "KFEILtHLdWTaRwAAhT+Htg",
			.for_addr = "anne.compras+Quarentena@brasmedica.dominiotemporario.com",
			.time = 1685441489});
}

/* ---- other shapes --------------------------------------------------- */

static void received_ipv4_mapped_ipv6_becomes_ipv4(void **state)
{
	expect_received("from yoda (12-231-69-107.client.attbi.com [::ffff:12.231.69.107]) (AUTH: "
			"CRAM-MD5 hosting@j2solutions.net) by mail.j2solutions.net with esmtp; Mon, 23 Sep "
			"2002 08:11:31 -0700",
		(want){.from = "yoda", .helo = "yoda", .rdns = "12-231-69-107.client.attbi.com",
			.ip = "12.231.69.107", .by = "mail.j2solutions.net", .with = "esmtp",
			.time = 1032793891});
}

static void received_fetchmail_bracket_after_from_host(void **state)
{
	expect_received("from jalapeno [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0) for "
			"jm@localhost (single-drop); Mon, 02 Dec 2002 11:24:50 +0000 (GMT)",
		(want){.from = "jalapeno", .helo = "jalapeno", .ip = "127.0.0.1", .by = "localhost",
			.with = "IMAP", .for_addr = "jm@localhost", .time = 1038828290});
}

static void received_powermta_comment_after_the_date(void **state)
{
	expect_received("from abv-sfo1-ac-agent5 (206.16.0.240) by abv-sfo1-acmta1.CNET.COM "
			"(PowerMTA(TM) v1.5); Wed, 10 Jul 2002 14:41:15 -0700 (envelope-from "
			"<Online#3.19692.cd-kEiTl7czTUOatRRR.1.b@newsletter.online.com>)",
		(want){.from = "abv-sfo1-ac-agent5", .helo = "abv-sfo1-ac-agent5", .ip = "206.16.0.240",
			.by = "abv-sfo1-acmta1.CNET.COM", .time = 1026337275});
}

static void received_clauses_in_any_order(void **state)
{
	/* Exim writes "id" and "for" after "(envelope-from)"; some put "with"
	 * first. Order does not matter, only which keyword a value follows. */
	expect_received("with esmtp id 17n3Dv-00083y-00 by usw-sf-list1.sourceforge.net from "
			"cpe.rogers.com ([24.101.225.150] helo=lserv4.espoircompany.com) for "
			"<razor-users@lists.sourceforge.net>; Thu, 05 Sep 2002 13:27:31 -0700",
		(want){.from = "cpe.rogers.com", .helo = "lserv4.espoircompany.com",
			.rdns = "cpe.rogers.com", .ip = "24.101.225.150", .by = "usw-sf-list1.sourceforge.net",
			.with = "esmtp", .id = "17n3Dv-00083y-00",
			.for_addr = "razor-users@lists.sourceforge.net", .time = 1031257651});
}

static void received_deeply_nested_comments_do_not_hide_the_ip(void **state)
{
	expect_received("from a.example (b.example [192.0.2.7] ((((x) y) z) w)) (c (d (e)))"
			" by mx.example (Postfix) with ESMTP id 1; Mon, 02 Dec 2002 11:24:50 +0000",
		(want){.from = "a.example", .helo = "a.example", .rdns = "b.example", .ip = "192.0.2.7",
			.by = "mx.example", .with = "ESMTP", .id = "1", .time = 1038828290});
}

static void received_unclosed_comment_keeps_from_and_date(void **state)
{
	/* The comment swallows the rest of the clauses, but the date is still
	 * found after the last ";". */
	expect_received("from a.example (unknown [192.0.2.8] by mx.example with ESMTP; Mon, 02 Dec "
			"2002 11:24:50 +0000",
		(want){.from = "a.example", .helo = "a.example", .ip = "192.0.2.8",
			.time = 1038828290});
}

/* ---- junk ----------------------------------------------------------- */

static void received_empty_value_gives_empty_raw(void **state)
{
	vigil_arena *a = vigil_arena_new();
	vigil_received r = {0};
	assert_int_equal(received__parse(&r, a, ""), 0);
	assert_string_equal(r.raw, "");
	assert_null(r.from_host);
	assert_null(r.ip);
	assert_int_equal(r.time, VIGIL_NO_TIME);
	memset(&r, 0, sizeof(r));
	assert_int_equal(received__parse(&r, a, " \t\r\n "), 0);
	assert_string_equal(r.raw, "");
	vigil_arena_free(a);
}

static void received_raw_is_whitespace_collapsed(void **state)
{
	vigil_arena *a = vigil_arena_new();
	vigil_received r = {0};
	assert_int_equal(received__parse(&r, a, "  from  a\r\n\tby   b ;\n Mon, 02 Dec 2002 "
						"11:24:50 +0000  "),
		0);
	assert_string_equal(r.raw, "from a by b ; Mon, 02 Dec 2002 11:24:50 +0000");
	vigil_arena_free(a);
}

static void received_garbage_is_kept_raw_without_fields(void **state)
{
	static const char *const junk[] = {
		")))(((;;;[[[]]]<<<>>>",
		"from",
		"from (",
		"by",
		"[",
		"[IPv6:",
		"from [999.1.2.3] by x",
		"from x (HELO) (helo=) by",
		"from x ([1.2.3.4 by y",
		";;;;",
		"from from from by by with with id id for for",
		"\\(\\)\\",
		"from x (\\) [192.0.2.1]) by y",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		vigil_arena *a = vigil_arena_new();
		vigil_received r = {0};
		assert_int_equal(received__parse(&r, a, junk[i]), 0);
		assert_non_null(r.raw);
		if (r.ip) /* whatever was read must be a real address */
			assert_string_equal(r.ip, "192.0.2.1");
		vigil_arena_free(a);
	}
	vigil_arena *a = vigil_arena_new();
	vigil_received r = {0};
	assert_int_equal(received__parse(&r, a, "from [999.1.2.3] by x"), 0);
	assert_null(r.ip);
	assert_string_equal(r.from_host, "[999.1.2.3]");
	vigil_arena_free(a);
}

static double seconds_since(struct timespec t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* A 1 MiB field made of `unit` repeated. */
static char *repeat(const char *unit, size_t total)
{
	size_t n = strlen(unit);
	char *s = malloc(total + 1);
	assert_non_null(s);
	for (size_t i = 0; i < total; i++)
		s[i] = unit[i % n];
	s[total] = '\0';
	return s;
}

static void received_one_mebibyte_fields_parse_in_linear_time(void **state)
{
	static const char *const units[] = {
		"(", ")", "((((x [1.2.3.4] ", "from ", "from x (HELO ", "[", "[1.2.3.4] ", ";",
		"with a ", "(\\", "a ", "(helo=x [::1] (",
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		char *s = repeat(units[i], 1u << 20);
		vigil_arena *a = vigil_arena_new();
		vigil_received r = {0};
		struct timespec t0;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(received__parse(&r, a, s), 0);
		/* ~10 ms when linear; a quadratic walk would take minutes. The
		 * bound is loose for sanitizer builds. */
		assert_true(seconds_since(t0) < 2.0);
		assert_non_null(r.raw);
		vigil_arena_free(a);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(received_postfix_takes_rdns_and_ip_from_comment),
		cmocka_unit_test(received_postfix_unknown_rdns_is_null),
		cmocka_unit_test(received_postfix_tls_comments_with_nested_parens_are_skipped),
		cmocka_unit_test(received_postfix_ipv6_literal_is_canonical),
		cmocka_unit_test(received_postfix_ipv6_loopback_literal),
		cmocka_unit_test(received_sendmail_user_at_rdns_drops_the_user),
		cmocka_unit_test(received_sendmail_may_be_forged_nested_comment),
		cmocka_unit_test(received_sendmail_local_submission_has_no_from),
		cmocka_unit_test(received_exim_helo_differs_so_from_word_is_rdns),
		cmocka_unit_test(received_exim_bracketed_from_without_rdns),
		cmocka_unit_test(received_exim_folded_with_tabs_and_envelope_from),
		cmocka_unit_test(received_qmail_unknown_helo_and_bare_ip),
		cmocka_unit_test(received_qmail_helo_ip_is_not_the_connecting_ip),
		cmocka_unit_test(received_qmail_ldap_bracketed_ip_and_envelope_sender),
		cmocka_unit_test(received_qmail_invoked_line_keeps_only_the_time),
		cmocka_unit_test(received_zmailer_quoted_ehlo),
		cmocka_unit_test(received_communigate_account_helo),
		cmocka_unit_test(received_exchange_online_takes_from_ip_not_by_ip),
		cmocka_unit_test(received_exchange_internal_ipv6_hop),
		cmocka_unit_test(received_exchange_https_loopback),
		cmocka_unit_test(received_exchange_mapi_drops_the_zone_of_by_only),
		cmocka_unit_test(received_gmail_strips_the_final_dot_of_rdns),
		cmocka_unit_test(received_gmail_bracket_only_comment_has_no_rdns),
		cmocka_unit_test(received_gmail_internal_hop_without_from),
		cmocka_unit_test(received_gmail_by_address_is_never_the_sender_ip),
		cmocka_unit_test(received_yahoo_bare_ip_after_from),
		cmocka_unit_test(received_dovecot_lmtp),
		cmocka_unit_test(received_ipv4_mapped_ipv6_becomes_ipv4),
		cmocka_unit_test(received_fetchmail_bracket_after_from_host),
		cmocka_unit_test(received_powermta_comment_after_the_date),
		cmocka_unit_test(received_clauses_in_any_order),
		cmocka_unit_test(received_deeply_nested_comments_do_not_hide_the_ip),
		cmocka_unit_test(received_unclosed_comment_keeps_from_and_date),
		cmocka_unit_test(received_empty_value_gives_empty_raw),
		cmocka_unit_test(received_raw_is_whitespace_collapsed),
		cmocka_unit_test(received_garbage_is_kept_raw_without_fields),
		cmocka_unit_test(received_one_mebibyte_fields_parse_in_linear_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
