#!/usr/bin/env python3
# Writes the hand-made seed corpus of the fuzz targets: small hostile messages
# (fuzz/corpus/scan/) and mbox edge cases (fuzz/corpus/source/). Deterministic;
# the output is committed, so run it again only to change the seeds.
"""usage: gen-corpus.py [OUTDIR]   (default: the corpus/ folder next to this file)"""

import bz2
import gzip
import io
import lzma
import os
import random
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
# Every seed stays small: the corpus is committed and replayed in each test run.
MAX_SEED = 200 * 1024

HDR = (b"From: Alice <alice@example.org>\r\n"
       b"To: Bob <bob@example.net>\r\n"
       b"Subject: seed\r\n"
       b"Date: Thu, 01 Jan 2021 00:00:00 +0000\r\n"
       b"Message-ID: <seed@example.org>\r\n"
       b"MIME-Version: 1.0\r\n")


def msg(body, ctype=b"text/plain; charset=utf-8", extra=b"", cte=None):
	h = HDR + extra + b"Content-Type: " + ctype + b"\r\n"
	if cte:
		h += b"Content-Transfer-Encoding: " + cte + b"\r\n"
	return h + b"\r\n" + body


def deep_multipart(levels):
	# Each level opens a multipart whose only part is the next level; the
	# innermost is a text part. Closing delimiters in reverse order.
	out = [HDR, b"Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n"]
	for i in range(levels):
		out.append(b"--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n" % (i, i + 1))
	out.append(b"--b%d\r\nContent-Type: text/plain\r\n\r\ndeep http://deep.example.com/x\r\n" % levels)
	for i in range(levels, -1, -1):
		out.append(b"--b%d--\r\n" % i)
	return b"".join(out)


def many_parts(n):
	out = [HDR, b"Content-Type: multipart/mixed; boundary=p\r\n\r\n"]
	for i in range(n):
		if i % 3 == 0:
			out.append(b"--p\r\nContent-Type: text/html\r\n\r\n<a href=\"http://p%d.example\">%d</a>\r\n" % (i, i))
		elif i % 3 == 1:
			out.append(b"--p\r\nContent-Type: application/octet-stream; name=f%d.exe\r\n"
				   b"Content-Transfer-Encoding: base64\r\n\r\nTVqQ\r\n" % i)
		else:
			out.append(b"--p\r\n\r\n%d\r\n" % i)
	out.append(b"--p--\r\n")
	return b"".join(out)


def rfc822_nesting(levels):
	# message/rfc822 inside message/rfc822: what a forward loop between two
	# auto-forwarding mailboxes produces.
	inner = b"From: loop@example.com\r\nSubject: inner\r\n\r\nhttp://inner.example/\r\n"
	for i in range(levels):
		inner = (b"From: fwd%d@example.com\r\nSubject: Fwd: loop %d\r\nMIME-Version: 1.0\r\n"
			 b"Content-Type: message/rfc822\r\n\r\n" % (i, i)) + inner
	return inner


def html_nested(n):
	return msg(b"<html><body>" + b"<b>" * n + b"http://nested.example/" + b"</b>" * 10 + b"</body></html>\r\n",
		   b"text/html; charset=utf-8")


SEEDS = {}


def seed(name):
	def reg(fn):
		SEEDS[name] = fn
		return fn
	return reg


@seed("empty.eml")
def _():
	return b""


@seed("headers-only.eml")
def _():
	return HDR.rstrip(b"\r\n")


@seed("body-only.eml")
def _():
	return b"\r\n\r\nno headers at all http://body-only.example/\r\n"


@seed("not-mail.bin")
def _():
	r = random.Random(1)
	return bytes(r.randrange(256) for _ in range(4096))


@seed("nul-bytes.eml")
def _():
	return (b"From: a\x00b@example.org\r\nSubj\x00ect: nul\x00\r\nTo: \x00\r\n"
		b"Content-Type: text/html; charset=\"utf\x00-8\"\r\n\r\n"
		b"<a href=\"http://nul\x00.example/\x00x\">c\x00lick</a>\x00\x00\r\n\x00")


@seed("line-endings-mixed.eml")
def _():
	return (b"From: a@example.org\rTo: b@example.net\n\rSubject: cr\r\r\n"
		b"Content-Type: multipart/alternative; boundary=x\n\r\n"
		b"--x\rContent-Type: text/plain\r\n\r\nlone CR\rhttp://cr.example/\r"
		b"--x\nContent-Type: text/html\n\n<p>LF</p>\n--x--\r")


@seed("deep-multipart-200.eml")
def _():
	return deep_multipart(200)


@seed("many-parts-2000.eml")
def _():
	return many_parts(2000)


@seed("missing-boundary.eml")
def _():
	return msg(b"--\r\nContent-Type: text/plain\r\n\r\nwhere is the boundary\r\n--\r\n--x--\r\n",
		   b"multipart/mixed")


@seed("boundary-never-closed.eml")
def _():
	# Boundaries that are prefixes of each other, a part that never ends and
	# an epilogue that looks like a part.
	return msg(b"preamble\r\n--a\r\nContent-Type: multipart/related; boundary=\"a-\"\r\n\r\n"
		   b"--a-\r\nContent-Type: text/html\r\n\r\n<a href=http://open.example/>open</a>\r\n"
		   b"--a\r\n--a-\r\n--a---\r\nContent-Type: text/plain\r\n\r\nlast part, no close\r\n",
		   b"multipart/mixed; boundary=\"a\"")


@seed("empty-boundary-and-quotes.eml")
def _():
	return msg(b"--\r\n\r\nempty boundary\r\n----\r\n",
		   b"multipart/mixed; boundary=\"\"; boundary=\"dup\"; boundary*0=\"x\"; boundary*1*=utf-8''%ZZ")


@seed("broken-base64.eml")
def _():
	body = (b"--z\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		b"PGEgaHJlZj0iaHR0cDovL2I2NC5leGFtcGxlLyI+eDwvYT4=\r\n====\r\n!!@@##\r\nQQ\r\nQ\r\n"
		b"--z\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		b"JVBERi0xLjQK" + b"A" * 77 + b"\r\n=A=\r\n" + b"\xff\xfe" * 20 + b"\r\n"
		b"--z\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: BaSe64 garbage\r\n\r\nYWJj\r\n"
		b"--z\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nYW")
	return msg(body, b"multipart/mixed; boundary=z")


@seed("broken-qp.eml")
def _():
	body = (b"=3Ca href=3D=22http://qp.example/=\r\npath=22=3Eqp=3C/a=3E\r\n"
		b"=ZZ =4 =\r\n=\r\n==== =3D=3d=3\r\n" + b"x" * 3000 + b"=\r\n" + b"=C3=\r\n=A9 =\xff\r\n=")
	return msg(body, b"text/html; charset=utf-8", cte=b"quoted-printable")


@seed("uuencode-broken.eml")
def _():
	body = (b"begin 644 a.exe\r\nM5&AE(&YO<F1S(&]F('1H:7,@;&EN92!A<F4@=&]O(&QO;F<@9F]R('1H\r\n"
		b"\xff\xff\r\nbegin 999999999999 ../../etc/passwd\r\n`\r\nend\r\nbegin\r\n")
	return msg(body, b"application/octet-stream; name=a.exe", cte=b"x-uuencode")


@seed("huge-header-line.eml")
def _():
	return (b"From: a@example.org\r\nSubject: " + b"A" * 150000 + b"\r\n"
		b"X-Folded: " + b"f\r\n " * 5000 + b"\r\n\r\nbody\r\n")


@seed("rfc2047-garbage.eml")
def _():
	return (b"From: =?utf-8?B?QWxpY2U=?= =?bogus?Q?x?= <a@example.org>\r\n"
		b"To: =?utf-8?q?=ZZ=?= <=?utf-8?B?Ym9i?=@example.net>, \"=?x?B?====?=\" <c@example.net>\r\n"
		b"Subject: =?utf-8?B?" + b"\xf0\x9f" * 50 + b"?= =?iso-8859-1?Q?caf=E9?==?utf-8?X?y?=\r\n"
		b"  =?=?utf-8?B?=?= =?utf-8*fr?Q?x?= =?utf-8?B?" + b"Zm9v" * 2000 + b"?= =?\r\n"
		b"Comments: =?utf-16?B?//5oAGkA?= =?UTF-7?Q?+AGEAYgBj-?= =?gb18030?B?gTCBMA==?=\r\n"
		b"Content-Type: text/plain\r\n\r\nok\r\n")


@seed("invalid-charsets.eml")
def _():
	parts = []
	for cs in (b"x-unknown-cs", b"utf-7", b"", b"\"", b"iso-2022-jp", b"utf-16", b"utf-32le",
		   b"ebcdic-cp-us", b"utf-8\xff", b"us-ascii", b"ISO_8859-1:1987", b"a" * 300):
		parts.append(b"--c\r\nContent-Type: text/html; charset=" + cs + b"\r\n\r\n"
			     b"\xff\xfe\x00<\x00a\x00 href=\"http://cs.example/\xe9\x1b$B\">\xc3</a>+ADw-\r\n")
	parts.append(b"--c\r\nContent-Type: application/x-bin; name*=bogus''%E9%ZZ.exe;"
		     b" filename*0*=utf-16''%FF; filename*1=x.scr\r\n\r\nMZ\r\n--c--\r\n")
	return msg(b"".join(parts), b"multipart/mixed; boundary=c")


@seed("content-type-garbage.eml")
def _():
	return (HDR + b"Content-Type: multipart/\r\nContent-Type: text/html; charset\r\n"
		b"Content-Type: ;;;=;\"\r\nContent-Disposition: attachment; filename=\"\r\n"
		b"Content-Transfer-Encoding: 7bit, base64\r\n\r\n<a href='http://ct.example/'>x</a>\r\n")


@seed("html-nested-50000.eml")
def _():
	return html_nested(50000)


@seed("html-garbage.eml")
def _():
	return msg(b"<html><head><base href=\"javascript:x\"><base href=//base.example/dir/>"
		   b"<meta http-equiv=refresh content=\"0;url='http://refresh.example/\">"
		   b"</head><body><a href=\"  \tjava\nscript:alert(1)\">x</a><a href=rel/path>r</a>"
		   b"<a href=\"http://a.example/\"<a href=\"http://b.example/\">ab</a>"
		   b"<form action=http://form.example/><img src=\"cid:\" width=1 height=1>"
		   b"<table background=http://bg.example/><svg><a xlink:href=http://svg.example/>s</a></svg>"
		   b"<math><mi><a href=\"&#104;ttp://ent.example/&#x;&#99999999;&amp\">e</a>"
		   b"<!-- <a href=http://comment.example/> --><![CDATA[ ]]><script>\"</script>"
		   b"<a href=\"" + b"%" * 9000 + b"\">long</a><area href=http://area.example/>"
		   + b"<p>" * 2000 + b"</template></html></html><a href=http://after.example/>",
		   b"text/html")


@seed("css-unterminated.eml")
def _():
	return msg(b"<html><head><style>/* never closed\r\n a{background:url(http://c1.example/}"
		   b"</style><style>@import 'http://imp.example/x.css\r\n@import url(\"\r\n"
		   b"b{background-image:url(  'http://c2.example/\\\r\n')} c{content:\"\\\r\n"
		   b"d{background:url(data:image/png;base64,AAAA} @font-face{src:url(http://f.example"
		   b"</style></head><body style=\"background:url('http://inline.example/') ;/*\">"
		   b"<div style=\"b:url(\\68 ttp://esc.example/)\">x</div><div style='/*'>y"
		   b"<div style=\"background:url(" + b"(" * 5000 + b"\">z</div><style>\\", b"text/html")


@seed("html-style-cut-and-whitespace-edges.eml")
def _():
	# What html.c's guard cuts (long style sheets) and shortens (whitespace
	# between tags), where gumbo's tokenizer is in another state than the
	# guard believes: select, svg, a bogus comment, a doubly escaped script,
	# an end tag at the very end, a sheet never closed.
	pad = b"/* " + b"padding " * 12 + b"*/"
	return msg(b"<html>\r\n   <head>\n\n<style>.a{display:none}" + pad + b"</STYLE\t>\n   \n"
		   b"<style>b{background:url(http://cut.example/1)}" + pad + b"</style/>"
		   b"<select>   <style>" + pad + b"<img src=http://in-select.example/></style>  </select>"
		   b"<svg>  <style>" + pad + b"</style>  <a href=http://svg.example/>  x  </a></svg>"
		   b"<?x <style>" + pad + b"</style> ?>   <script><!--<script>   </script>  <style>" + pad
		   + b"</style>--></script>\r\r\r<style>Q&A" + pad + b"</style>"
		   b"<textarea>   <b>   </b>   </textarea><pre>\n\n   <a href=http://pre.example/>p</a></pre>"
		   b"<style>" + pad * 40 + b"</style>" * 3 + b"<a href=http://end.example/>e</a>   \n \n"
		   b"<style>" + pad + b"</style", b"text/html")


@seed("srcset-garbage.eml")
def _():
	return msg(b"<img srcset=\",,,, ,\"><img srcset=\"http://s1.example/a.png 1x,http://s2.example/b.png 2x,,"
		   b"data:image/gif;base64,R0lG, 1x 2x 3w , http://s3.example/c,d.png 100w\">"
		   b"<img srcset=\"" + b"x 1w," * 5000 + b"\"><picture><source srcset=\"  http://s4.example/  \">"
		   b"<source srcset=\"http://s5.example/a.png 1.5x (max-width: 10px) http://s6.example/\"></picture>"
		   b"<img srcset='http://s7.example/ 1x, http://s8.example/\" onerror=x'>", b"text/html")


@seed("rfc822-nesting-100.eml")
def _():
	return rfc822_nesting(100)


@seed("rfc822-truncated.eml")
def _():
	return msg(b"From: inner@example.com\r\nContent-Type: multipart/mixed; boundary=in\r\n\r\n"
		   b"--in\r\nContent-Type: message/rfc822\r\n\r\n", b"message/rfc822")


@seed("addresses-garbage.eml")
def _():
	many = b", ".join(b"u%d@d%d.example" % (i, i % 50) for i in range(3000))
	return (b"From: \"a\\\" <evil@example.com>\" <x@example.org>, group: a@b, c@d;;\r\n"
		b"Sender: <>\r\nReply-To: (comment (nested (deep) ) ) <@route,@r2:x@example.com>\r\n"
		b"To: " + many + b"\r\nCc: <<<>>>@@@, \"unterminated <a@b\r\n"
		b"Return-Path: <>\r\nDelivered-To: @\r\nX-Original-To: a@[300.1.1.1]\r\n"
		b"From: second@example.net\r\nMessage-ID: <<@>>\r\n"
		b"Date: Feb 30 99 25:61:61 +9999\r\n\r\nbody\r\n")


@seed("idn-and-urls.eml")
def _():
	return msg("http://xn--80ak6aa92e.com/ http://xn--zz.example/ http://аpple.com/ "
		   "https://user:pass@bank.example@evil.example/ http://0x7f.1/ http://017700000001/ "
		   "http://[::ffff:127.0.0.1]/ http://[zz::]/ hxxp://defanged[.]example/ "
		   "www.bare.example/path?q=%ZZ%00 http://%65vil.example/ http://a..b/ http://.:/ "
		   "mailto:x@y tel:+1 http://ex\u200bample.com/ http://xn--/ http://".encode()
		   + b"http://long.example/" + b"a" * 9000 + b" http://x" + b".a" * 4000 + b"/\r\n"
		   + b"\xff\xfe http://bad-utf8.\xc0\xaf.example/\r\n")


@seed("received-garbage.eml")
def _():
	hs = [b"Received: from [1.2.3.4] by mx.example with SMTP; Thu, 1 Jan 2021 00:00:00 +0000",
	      b"Received: from helo (rdns [2001:db8::1]) by x with ESMTPS id 1; bogus date",
	      b"Received: from a (b [999.1.1.1] helo=c) (d [e]) by ; ;;;",
	      b"Received: (((((((((( by ))))) from [",
	      b"Received: from x (x [IPv6:::1]) for <a@b>; 31 Dec 1969 23:59:59 -2400",
	      b"Received:",
	      b"Received: from " + b"h" * 5000]
	out = [hs[i % len(hs)] + b"\r\n" for i in range(140)]
	return b"".join(out) + HDR + b"\r\nbody\r\n"


@seed("authres-garbage.eml")
def _():
	return (b"Authentication-Results: mx.example; spf=pass smtp.mailfrom=a@b; dkim=fail (reason) header.d=x"
		b" header.d=y; dmarc=pass; arc=\r\n"
		b"Authentication-Results: ; ;;; =; spf=; (comment; spf=pass) dkim=pass header.i=@\r\n"
		b"Authentication-Results: mx.example 1; none\r\nAuthentication-Results: \"quoted; id\"; spf=pass"
		b" reason=\"unterminated\r\n"
		b"ARC-Authentication-Results: i=1; spf=pass\r\n" + HDR + b"\r\nbody\r\n")


@seed("list-unsubscribe-garbage.eml")
def _():
	return (b"List-Unsubscribe: <mailto:u@example.com?subject=unsub>, <http://unsub.example/?u=1>,"
		b" <javascript:x>, <<>>, http://no-brackets.example/, <" + b"u" * 9000 + b">\r\n"
		b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" + HDR + b"\r\nbody\r\n")


@seed("attachments-tricky.eml")
def _():
	parts = [
		b"--t\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment;"
		b" filename*0*=utf-8''inv%C3%; filename*2=\"oice\"; filename*1=.pdf\r\n\r\nMZ\x90\x00\r\n",
		b"--t\r\nContent-Type: text/html; name=\"page.htm\"\r\nContent-Disposition: attachment\r\n"
		b"Content-Transfer-Encoding: base64\r\n\r\nPGZvcm0gYWN0aW9uPWh0dHA6Ly9waGlzaC5leGFtcGxlLz4=\r\n",
		b"--t\r\nContent-Type: application/zip; name=\"../../x.zip\"\r\n\r\nPK\x03\x04" + b"\x00" * 26 + b"\r\n",
		b"--t\r\nContent-Disposition: inline; filename=\"" + b"n" * 2000 + b".pdf.exe\"\r\n\r\n%PDF-\r\n",
		b"--t\r\nContent-Type: message/partial; id=\"x\"; number=1; total=2\r\n\r\nFrom: p@x\r\n\r\n",
		b"--t\r\nContent-Type: message/external-body; access-type=URL; URL=\"http://ext.example/\"\r\n\r\n"
		b"Content-Type: text/plain\r\n\r\n",
		b"--t\r\nContent-Type: image/svg+xml; name=a.svg\r\n\r\n<svg onload=alert(1)><a href=http://svg2.example/>"
		b"</a></svg>\r\n",
		b"--t--\r\n",
	]
	return msg(b"".join(parts), b"multipart/mixed; boundary=t")


@seed("alternative-mismatch.eml")
def _():
	return msg(b"--alt\r\nContent-Type: text/plain\r\n\r\nhttp://plain.example/\r\n"
		   b"--alt\r\nContent-Type: text/html\r\n\r\n<a href=\"http://real.example/\">http://plain.example/</a>"
		   b"<div style=\"display:none\">hidden http://hidden.example/</div>\r\n"
		   b"--alt\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n--alt--\r\n",
		   b"multipart/alternative; boundary=alt")


# ---- mbox edge cases for fuzz_source --------------------------------------

FROM = b"From MAILER-DAEMON Thu Jan  1 00:00:00 2021\n"
SOURCE = {
	"empty.mbox": b"",
	"one-message.mbox": FROM + b"Subject: one\n\nbody\n\n",
	"separators-only.mbox": FROM * 50,
	"quoted-from.mbox": FROM + b"Subject: q\n\n>From quoted\n>>From twice\nFrom unquoted mid-body\n\n"
			    + FROM + b"Subject: q2\n\n>>>From \n",
	"no-final-newline.mbox": FROM + b"Subject: a\n\nx\n\n" + FROM + b"Subject: b\n\nno newline",
	"crlf.mbox": FROM.replace(b"\n", b"\r\n") + b"Subject: c\r\n\r\nx\r\n\r\n"
		     + FROM.replace(b"\n", b"\r\n") + b"Subject: d\r\n\r\ny\r\n",
	"from-without-blank.mbox": FROM + b"Subject: e\n\nline\nFrom x Thu Jan  1 00:00:00 2021\nSubject: f\n\n",
	"garbage-before-first.mbox": b"garbage\n\n" + FROM + b"Subject: g\n\n",
	"bare-from-lines.mbox": b"From \nFrom\nFrom x\n\nFrom  \n",
	"eml-not-mbox.eml": b"Subject: plain file\nFrom: a@b\n\nFrom the start of a line\n",
	"nul-in-mbox.mbox": FROM + b"Subject: \x00\n\n\x00\x00\n\n" + FROM + b"\x00",
	"many-tiny.mbox": (FROM + b"\n") * 2000,
}
# Compressed files are inflated as they are read: a few of each kind, one
# that inflates a hundredfold, one cut short.
_QUOTED = SOURCE["quoted-from.mbox"]
SOURCE.update({
	"gzip.mbox.gz": gzip.compress(_QUOTED, mtime=0),
	"bzip2-many-tiny.mbox.bz2": bz2.compress(SOURCE["many-tiny.mbox"] * 4),
	"xz.eml.xz": lzma.compress(SOURCE["eml-not-mbox.eml"]),
	"gzip-cut-short.mbox.gz": gzip.compress(_QUOTED * 20, mtime=0)[:60],
	"gzip-not-mail.gz": gzip.compress(b"plain words, no headers\n" * 10, mtime=0),
})


def _tar(files):
	out = io.BytesIO()
	with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
		for name, data in files:
			info = tarfile.TarInfo(name)
			info.size, info.mtime = len(data), 0
			t.addfile(info, io.BytesIO(data))
	return out.getvalue()


def _zip(files):
	out = io.BytesIO()
	with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
		for name, data in files:
			z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
	return out.getvalue()


# Archives are read entry by entry: a Maildir in a tar, an mbox in a zip, a
# tar whose second header is damaged.
_ENTRIES = [("Maildir/cur/1:2,S", b"Subject: in a tar\n\nx\n"), ("inbox.mbox", _QUOTED),
	    ("notes.txt", b"not mail\n")]
_DAMAGED = bytearray(_tar(_ENTRIES))
_DAMAGED[1024:1536] = b"x" * 512
SOURCE.update({
	"maildir-and-mbox.tar": _tar(_ENTRIES),
	"mbox.zip": _zip(_ENTRIES),
	"damaged-header.tar": bytes(_DAMAGED),
})


def main():
	out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
	for sub, items in (("scan", {k: f() for k, f in SEEDS.items()}), ("source", SOURCE)):
		d = os.path.join(out, sub)
		os.makedirs(d, exist_ok=True)
		for name, data in sorted(items.items()):
			assert len(data) <= MAX_SEED, "%s is %d bytes" % (name, len(data))
			with open(os.path.join(d, name), "wb") as f:
				f.write(data)
		print("gen-corpus: %d seeds in %s" % (len(items), d))
	return 0


if __name__ == "__main__":
	sys.exit(main())
