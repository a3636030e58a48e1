/*
 * Unit tests for the sources: mbox splitting (mboxo, mboxrd, CRLF, separator
 * rules, offsets), single files, Maildir, trees, standard input, limits and
 * errors. Test data is written to a temporary directory by each test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "vigil_limits.h"
#include "source/source_internal.h"
#include "vigil/vigil.h"

/* ---- helpers ---------------------------------------------------------- */

/* One result of vigil_source_next(), copied. */
typedef struct got {
	int rc;
	char *data;
	size_t len;
	char *path; /* relative to the test directory when under it */
	int64_t offset;
	bool truncated;
	char *err;
} got;

typedef struct run {
	got items[64];
	size_t count;
	size_t messages;
} run;

static char tmpdir[256];

static int make_tmpdir(void **state)
{
	strcpy(tmpdir, "/tmp/vigil-test-source-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int remove_tmpdir(void **state)
{
	char cmd[1024];
	/* chmod first: a test may have left an unreadable directory. */
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", tmpdir, tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* Path under the test directory, in one of a few rotating static buffers. */
static const char *at(const char *rel)
{
	static char bufs[4][1024];
	static int i;
	char *b = bufs[i++ % 4];
	snprintf(b, sizeof(bufs[0]), "%s/%s", tmpdir, rel);
	return b;
}

static void write_bytes(const char *rel, const char *data, size_t len)
{
	FILE *f = fopen(at(rel), "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_text(const char *rel, const char *text)
{
	write_bytes(rel, text, strlen(text));
}

static void make_dir(const char *rel)
{
	assert_int_equal(mkdir(at(rel), 0755), 0);
}

static char *dup_bytes(const char *p, size_t n)
{
	char *d = malloc(n + 1);
	assert_non_null(d);
	memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

/* Reads a source to the end, checking on the way that every message is
 * NUL-terminated. */
static void collect(vigil_source *src, run *r)
{
	memset(r, 0, sizeof(*r));
	size_t prefix = strlen(tmpdir);
	for (;;) {
		vigil_raw_message m;
		int rc = vigil_source_next(src, &m);
		if (rc == VIGIL_EDONE)
			break;
		assert_true(r->count < sizeof(r->items) / sizeof(r->items[0]));
		got *g = &r->items[r->count++];
		g->rc = rc;
		if (rc != 0) {
			g->err = strdup(vigil_source_error(src));
			continue;
		}
		r->messages++;
		assert_int_equal(m.data[m.len], '\0');
		g->data = dup_bytes(m.data, m.len);
		g->len = m.len;
		const char *p = m.path;
		if (strncmp(p, tmpdir, prefix) == 0 && p[prefix] == '/')
			p += prefix + 1;
		g->path = strdup(p);
		g->offset = m.offset;
		g->truncated = m.truncated;
	}
	/* Done stays done. */
	vigil_raw_message m;
	assert_int_equal(vigil_source_next(src, &m), VIGIL_EDONE);
}

static void run_free(run *r)
{
	for (size_t i = 0; i < r->count; i++) {
		free(r->items[i].data);
		free(r->items[i].path);
		free(r->items[i].err);
	}
}

/* Opens `path` (under the test directory unless absolute or "-") and reads
 * it all, with the message size limit lowered to `max` when non-zero. */
static void read_all(const char *path, size_t max, run *r)
{
	vigil_source *src = NULL;
	const char *p = path[0] == '/' || strcmp(path, "-") == 0 ? path : at(path);
	assert_int_equal(vigil_source_open(&src, p), 0);
	if (max)
		source__set_max_message_bytes(src, max);
	collect(src, r);
	vigil_source_free(src);
}

/* Offset of the first `needle` in `text`. */
static int64_t offset_of(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);
	assert_non_null(p);
	return p - text;
}

static void assert_message(const got *g, const char *path, int64_t offset, const char *data)
{
	assert_int_equal(g->rc, 0);
	assert_string_equal(g->path, path);
	assert_int_equal(g->offset, offset);
	assert_string_equal(g->data, data);
	assert_int_equal(g->len, strlen(data));
	assert_false(g->truncated);
}

/* ---- mbox ------------------------------------------------------------- */

static void mbox_splits_mboxo_at_exact_offsets(void **state)
{
	const char *m1 = "From a@example.org Mon Jan  4 08:06:32 2021\n";
	const char *b1 = "From: a@example.org\nSubject: one\n\nfirst body\n";
	const char *m2 = "From b@example.org Tue Jan  5 09:00:00 2021\n";
	const char *b2 = "From: b@example.org\n\nsecond\n";
	char text[1024];
	snprintf(text, sizeof(text), "%s%s\n%s%s\n", m1, b1, m2, b2);
	write_text("box", text);

	run r;
	read_all("box", 0, &r);
	assert_int_equal(r.count, 2);
	assert_message(&r.items[0], "box", 0, b1);
	assert_message(&r.items[1], "box", (int64_t)(strlen(m1) + strlen(b1) + 1), b2);
	run_free(&r);
}

static void mbox_unquotes_mboxrd_from_lines(void **state)
{
	write_text("box", "From x Mon Jan  4 08:06:32 2021\n"
			  ">From the start\n"
			  "Subject: q\n"
			  "\n"
			  ">From here\n"
			  ">>From there\n"
			  "a >From mid-line stays\n"
			  ">>>From deep\n"
			  ">Fromage stays\n"
			  "\n"
			  "From y Mon Jan  4 08:06:33 2021\n"
			  "Subject: plain\n"
			  "\n"
			  ">From last line");
	run r;
	read_all("box", 0, &r);
	assert_int_equal(r.count, 2);
	assert_message(&r.items[0], "box", 0,
		"From the start\nSubject: q\n\nFrom here\n>From there\n"
		"a >From mid-line stays\n>>From deep\n>Fromage stays\n");
	assert_string_equal(r.items[1].data, "Subject: plain\n\nFrom last line");
	run_free(&r);
}

static void mbox_splits_crlf_and_strips_crlf_blank_line(void **state)
{
	const char *text = "From a Mon Jan  4 08:06:32 2021\r\n"
			   "Subject: one\r\n\r\nbody\r\n\r\n"
			   "From b Mon Jan  4 08:06:33 2021\r\n"
			   "Subject: two\r\n\r\n>From quoted\r\n\r\n";
	write_text("box", text);
	run r;
	read_all("box", 0, &r);
	assert_int_equal(r.count, 2);
	assert_message(&r.items[0], "box", 0, "Subject: one\r\n\r\nbody\r\n");
	assert_message(&r.items[1], "box", offset_of(text, "From b"),
		"Subject: two\r\n\r\nFrom quoted\r\n");
	run_free(&r);
}

static void mbox_postmark_line_without_blank_line_is_a_separator(void **state)
{
	/* Many real archives lack the empty line before the postmark. */
	const char *text = "From a@b Mon Jan  4 08:06:32 2021\n"
			   "Subject: one\n\nbody\n"
			   "From c@d  Sat Feb 13 23:31:30 2021 +0100\n"
			   "Subject: two\n\nbody\n";
	write_text("box", text);
	run r;
	read_all("box", 0, &r);
	assert_int_equal(r.count, 2);
	assert_message(&r.items[0], "box", 0, "Subject: one\n\nbody\n");
	assert_message(&r.items[1], "box", offset_of(text, "From c@d"), "Subject: two\n\nbody\n");
	run_free(&r);
}

static void mbox_body_from_line_after_blank_line_is_a_separator(void **state)
{
	/* The known mboxo ambiguity: an unquoted "From " body line after an
	 * empty line cannot be told from a separator. mboxrd writers quote it. */
	const char *text = "From a Mon Jan  4 08:06:32 2021\n"
			   "Subject: one\n\nintro\n\nFrom here on, it splits.\n";
	write_text("box", text);
	run r;
	read_all("box", 0, &r);
	assert_int_equal(r.count, 2);
	assert_message(&r.items[0], "box", 0, "Subject: one\n\nintro\n");
	assert_message(&r.items[1], "box", offset_of(text, "From here"), "");
	run_free(&r);
}

static void mbox_body_from_line_without_blank_line_is_body(void **state)
{
	const char *body = "Subject: one\n\nintro\nFrom here on, no split.\nFrom 10:00 to 11:00\n";
	char text[512];
	snprintf(text, sizeof(text), "From a Mon Jan  4 08:06:32 2021\n%s", body);
	write_text("box", text);
	run r;
	read_all("box", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "box", 0, body);
	run_free(&r);
}

static void mbox_postmark_shape_needs_month_time_and_year(void **state)
{
	static const char *yes[] = {
		"From MAILER-DAEMON Fri Jul  8 12:08:34 2011",
		"From a@b.example Mon Jan 04 08:06:32 2021\r",
		"From a@b Sat, 13 Feb 2021 23:31:30 +0100",
		"From a@b Wed Dec 2 5:53 1992",
	};
	static const char *no[] = {
		"From here on, we do it differently.",
		"From 10:00 to 11:00 in March 2021",
		"From Jan to Mar 2021",
		"From the 12:30 train on Jan 5",
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(source__postmark_shaped(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(source__postmark_shaped(no[i], strlen(no[i])));
}

static void mbox_with_only_a_from_line_gives_one_empty_message(void **state)
{
	write_text("a", "From a Mon Jan  4 08:06:32 2021\n");
	write_text("b", "From a Mon Jan  4 08:06:32 2021");
	run r;
	read_all("a", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "a", 0, "");
	run_free(&r);
	read_all("b", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "b", 0, "");
	run_free(&r);
}

static void mbox_without_trailing_newline_keeps_last_line(void **state)
{
	write_text("box", "From a Mon Jan  4 08:06:32 2021\nSubject: x\n\nno newline");
	run r;
	read_all("box", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "box", 0, "Subject: x\n\nno newline");
	run_free(&r);
}

/* An mbox of `n` messages of growing size, so that separators, quoted lines
 * and empty lines fall across read boundaries. Returns it; *len its size. */
static char *make_big_mbox(size_t n, size_t *len)
{
	size_t cap = 1 << 20, used = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		/* Now and then one larger than the read chunk, to make the buffer grow. */
		size_t body = i % 100 == 50 ? 3 * SOURCE_CHUNK / 2 : 20 + (i * 7919) % 60000;
		while (used + body + 256 > cap) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		used += (size_t)sprintf(s + used,
			"From m%zu@example.org Mon Jan  4 08:06:32 2021\nSubject: %zu\n\n>From q\n", i, i);
		for (size_t k = 0; k < body; k++)
			s[used++] = k % 61 == 60 ? '\n' : (char)('a' + k % 26);
		used += (size_t)sprintf(s + used, "\n\n");
	}
	*len = used;
	return s;
}

/* Checks what make_big_mbox() yields, message by message. */
static void check_big_mbox(vigil_source *src, const char *text, size_t n)
{
	vigil_raw_message m;
	const char *p = text;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(vigil_source_next(src, &m), 0);
		const char *body = strchr(p, '\n') + 1;
		const char *next = strstr(body, "\n\nFrom m");
		size_t raw = next ? (size_t)(next - body) + 1 : strlen(body) - 1;
		/* One '>' is dropped from the quoted line. */
		assert_int_equal(m.len, raw - 1);
		assert_int_equal(m.offset, p - text);
		assert_memory_equal(m.data, body, 12);
		assert_memory_equal(m.data + m.len - 10, body + raw - 10, 10);
		p = next ? next + 2 : NULL;
	}
	assert_int_equal(vigil_source_next(src, &m), VIGIL_EDONE);
}

static void mbox_splits_across_buffer_refills(void **state)
{
	size_t len, n = 300;
	char *text = make_big_mbox(n, &len);
	assert_true(len > 4 * SOURCE_CHUNK);
	write_bytes("big", text, len);
	vigil_source *src;
	assert_int_equal(vigil_source_open(&src, at("big")), 0);
	check_big_mbox(src, text, n);
	uint64_t done;
	int64_t total;
	vigil_source_progress(src, &done, &total);
	assert_int_equal(done, len);
	assert_int_equal(total, len);
	vigil_source_free(src);
	free(text);
}

/* ---- size limit ------------------------------------------------------- */

static void mbox_message_over_limit_is_cut_and_rest_skipped(void **state)
{
	/* Limit 100: a message of exactly 100 bytes passes whole, 101 is cut;
	 * the cut message's rest (with From-like lines) yields nothing. */
	char m100[101], m101[102], big[5000];
	memset(m100, 'a', 100);
	m100[99] = '\n';
	m100[100] = '\0';
	memset(m101, 'b', 101);
	m101[100] = '\n';
	m101[101] = '\0';
	memset(big, 'c', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (size_t i = 200; i < sizeof(big) - 100; i += 300)
		memcpy(big + i, "\nFrom here\n", 11);
	char text[8000];
	int n = snprintf(text, sizeof(text),
		"From a Mon Jan  4 08:06:32 2021\n%s\n"
		"From b Mon Jan  4 08:06:32 2021\n%s\n"
		"From c Mon Jan  4 08:06:32 2021\n%s\n\n"
		"From d Mon Jan  4 08:06:32 2021\nSubject: after\n\n",
		m100, m101, big);
	write_bytes("box", text, (size_t)n);

	run r;
	read_all("box", 100, &r);
	assert_int_equal(r.count, 4);
	assert_message(&r.items[0], "box", 0, m100);
	assert_true(r.items[1].truncated);
	assert_int_equal(r.items[1].len, 100);
	assert_memory_equal(r.items[1].data, m101, 100);
	assert_true(r.items[2].truncated);
	assert_int_equal(r.items[2].len, 100);
	assert_memory_equal(r.items[2].data, big, 100);
	const char *d = strstr(text, "From d");
	assert_message(&r.items[3], "box", d - text, "Subject: after\n");
	run_free(&r);
}

static void message_file_over_limit_is_cut(void **state)
{
	write_text("exact.eml", "Subject: x\n\n0123456789");     /* 22 bytes */
	write_text("over.eml", "Subject: x\n\n0123456789A");     /* 23 bytes */
	run r;
	read_all("exact.eml", 22, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "exact.eml", -1, "Subject: x\n\n0123456789");
	run_free(&r);
	read_all("over.eml", 22, &r);
	assert_int_equal(r.count, 1);
	assert_true(r.items[0].truncated);
	assert_string_equal(r.items[0].data, "Subject: x\n\n0123456789");
	run_free(&r);
}

static void default_limit_is_vigil_max_message_bytes(void **state)
{
	vigil_source *src;
	write_text("m.eml", "Subject: x\n\n");
	assert_int_equal(vigil_source_open(&src, at("m.eml")), 0);
	assert_int_equal(src->max_message, VIGIL_MAX_MESSAGE_BYTES);
	vigil_source_free(src);
}

/* ---- single files ----------------------------------------------------- */

static void eml_file_is_one_message_with_offset_minus_one(void **state)
{
	/* "From " lines inside a message file never split it. */
	const char *text = "Received: from x\nSubject: hi\n\nbody\n\nFrom here\n";
	write_text("one.eml", text);
	run r;
	read_all("one.eml", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "one.eml", -1, text);
	run_free(&r);

	vigil_source *src;
	assert_int_equal(vigil_source_open(&src, at("one.eml")), 0);
	uint64_t done;
	int64_t total;
	vigil_source_progress(src, &done, &total);
	assert_int_equal(done, 0);
	assert_int_equal(total, strlen(text));
	collect(src, &r);
	vigil_source_progress(src, &done, &total);
	assert_int_equal(done, strlen(text));
	run_free(&r);
	vigil_source_free(src);
}

static void eml_with_bom_and_leading_blank_lines_starts_at_header(void **state)
{
	write_text("bom.eml", "\xEF\xBB\xBF\r\n\nSubject: bom\n\nbody\n");
	run r;
	read_all("bom.eml", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "bom.eml", -1, "Subject: bom\n\nbody\n");
	run_free(&r);
}

static void eml_without_trailing_newline_is_whole(void **state)
{
	write_text("m.eml", "Subject: x\n\nlast line");
	run r;
	read_all("m.eml", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "m.eml", -1, "Subject: x\n\nlast line");
	run_free(&r);
}

static void empty_file_gives_no_message(void **state)
{
	write_text("empty", "");
	run r;
	read_all("empty", 0, &r);
	assert_int_equal(r.count, 0);
	run_free(&r);
}

static void named_file_is_read_even_if_not_mail_shaped(void **state)
{
	/* Only files found in a tree are judged by content. */
	write_text("notes.txt", "just some text\n");
	run r;
	read_all("notes.txt", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "notes.txt", -1, "just some text\n");
	run_free(&r);
}

/* ---- Maildir and trees ------------------------------------------------ */

static void maildir_reads_cur_then_new_and_ignores_tmp(void **state)
{
	make_dir("md");
	make_dir("md/cur");
	make_dir("md/new");
	make_dir("md/tmp");
	write_text("md/new/1.b", "Subject: new-b\n\n");
	write_text("md/new/1.a", "Subject: new-a\n\n");
	write_text("md/cur/2:2,S", "Subject: cur-2\n\n");
	write_text("md/cur/1:2,S", "Subject: cur-1\n\n");
	write_text("md/tmp/1.c", "Subject: unfinished\n\n");
	write_text("md/dovecot-uidlist", "3 V1612345678 N5\n");

	run r;
	read_all("md", 0, &r);
	assert_int_equal(r.count, 4);
	assert_message(&r.items[0], "md/cur/1:2,S", -1, "Subject: cur-1\n\n");
	assert_message(&r.items[1], "md/cur/2:2,S", -1, "Subject: cur-2\n\n");
	assert_message(&r.items[2], "md/new/1.a", -1, "Subject: new-a\n\n");
	assert_message(&r.items[3], "md/new/1.b", -1, "Subject: new-b\n\n");
	run_free(&r);
}

static void tree_mixes_mbox_eml_and_maildir_and_skips_non_mail(void **state)
{
	make_dir("t");
	make_dir("t/sub");
	make_dir("t/sub/md");
	make_dir("t/sub/md/cur");
	make_dir("t/tmp"); /* not in a Maildir: an ordinary folder */
	write_text("t/LICENSE", "MIT License\n\nCopyright (c) 2021\n");
	write_text("t/README.md", "# Mail\n\nFrom here, read on.\n");
	write_text("t/data.json", "{\"From\": \"x\"}\n");
	write_bytes("t/logo.png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
	const char *mbox = "From a Mon Jan  4 08:06:32 2021\nSubject: m1\n\n\n"
			   "From a Mon Jan  4 08:06:33 2021\nSubject: m2\n\n\n";
	write_text("t/b.mbox", mbox);
	write_text("t/a.eml", "Return-Path: <x@y>\nSubject: a\n\n");
	write_text("t/c", "Subject :obsolete syntax\n\n"); /* no extension: content decides */
	write_text("t/empty.eml", "");
	write_text("t/sub/md/cur/1", "Subject: md\n\n");
	write_text("t/tmp/c", "Subject: in tmp\n\n");

	run r;
	read_all("t", 0, &r);
	assert_int_equal(r.count, 6);
	assert_message(&r.items[0], "t/a.eml", -1, "Return-Path: <x@y>\nSubject: a\n\n");
	assert_message(&r.items[1], "t/b.mbox", 0, "Subject: m1\n\n");
	assert_message(&r.items[2], "t/b.mbox", offset_of(mbox, "From a Mon Jan  4 08:06:33"),
		"Subject: m2\n\n");
	assert_message(&r.items[3], "t/c", -1, "Subject :obsolete syntax\n\n");
	assert_message(&r.items[4], "t/sub/md/cur/1", -1, "Subject: md\n\n");
	assert_message(&r.items[5], "t/tmp/c", -1, "Subject: in tmp\n\n");
	run_free(&r);
}

static void tree_reports_unreadable_entries_and_goes_on(void **state)
{
	/* A symlink loop fails with ELOOP and a dangling symlink with ENOENT,
	 * even for root (who reads through chmod 000). */
	make_dir("t");
	write_text("t/a.eml", "Subject: a\n\n");
	assert_int_equal(symlink("b-loop", at("t/b-loop")), 0);
	assert_int_equal(symlink("nowhere", at("t/c-dangling")), 0);
	write_text("t/d.eml", "Subject: d\n\n");
	bool as_root = geteuid() == 0;
	if (!as_root) {
		write_text("t/e-locked.eml", "Subject: e\n\n");
		assert_int_equal(chmod(at("t/e-locked.eml"), 0), 0);
	}
	write_text("t/f.eml", "Subject: f\n\n");

	run r;
	read_all("t", 0, &r);
	assert_int_equal(r.count, as_root ? 5 : 6);
	assert_message(&r.items[0], "t/a.eml", -1, "Subject: a\n\n");
	assert_int_equal(r.items[1].rc, VIGIL_EIO);
	assert_non_null(strstr(r.items[1].err, "t/b-loop: "));
	assert_non_null(strstr(r.items[1].err, strerror(ELOOP)));
	assert_int_equal(r.items[2].rc, VIGIL_EIO);
	assert_non_null(strstr(r.items[2].err, "t/c-dangling: "));
	assert_non_null(strstr(r.items[2].err, strerror(ENOENT)));
	assert_message(&r.items[3], "t/d.eml", -1, "Subject: d\n\n");
	if (!as_root) {
		assert_int_equal(r.items[4].rc, VIGIL_EIO);
		assert_non_null(strstr(r.items[4].err, strerror(EACCES)));
	}
	assert_message(&r.items[r.count - 1], "t/f.eml", -1, "Subject: f\n\n");
	run_free(&r);
}

static void tree_does_not_follow_symlinks_into_loops_or_repeats(void **state)
{
	make_dir("t");
	make_dir("t/a");
	write_text("t/a/m.eml", "Subject: once\n\n");
	assert_int_equal(symlink("..", at("t/a/up")), 0);    /* a loop */
	assert_int_equal(symlink("a", at("t/b-same")), 0);   /* the same folder again */
	run r;
	read_all("t", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "t/a/m.eml", -1, "Subject: once\n\n");
	run_free(&r);
}

static void tree_stops_at_depth_limit_and_goes_on(void **state)
{
	char rel[1024] = "deep";
	make_dir(rel);
	for (int i = 0; i < VIGIL_MAX_DIR_DEPTH + 1; i++) {
		strcat(rel, "/d");
		make_dir(rel);
	}
	/* Reachable: VIGIL_MAX_DIR_DEPTH levels below the root. */
	char ok[1024];
	snprintf(ok, sizeof(ok), "%.*s/m.eml", (int)(strlen("deep") + 2 * VIGIL_MAX_DIR_DEPTH), rel);
	write_text(ok, "Subject: deepest\n\n");
	strcat(rel, "/m.eml");
	write_text(rel, "Subject: too deep\n\n");
	write_text("deep/z.eml", "Subject: after\n\n");

	run r;
	read_all("deep", 0, &r);
	/* In the deepest folder "d" (too deep) sorts before "m.eml". */
	assert_int_equal(r.count, 3);
	assert_int_equal(r.items[0].rc, VIGIL_ELIMIT);
	assert_message(&r.items[1], ok, -1, "Subject: deepest\n\n");
	assert_message(&r.items[2], "deep/z.eml", -1, "Subject: after\n\n");
	run_free(&r);
}

/* ---- open errors ------------------------------------------------------ */

static void open_missing_path_fails_with_detail_on_handle(void **state)
{
	vigil_source *src = NULL;
	assert_int_equal(vigil_source_open(&src, at("missing")), VIGIL_EIO);
	assert_non_null(src);
	assert_non_null(strstr(vigil_source_error(src), "missing: "));
	assert_non_null(strstr(vigil_source_error(src), strerror(ENOENT)));
	vigil_raw_message m;
	assert_int_equal(vigil_source_next(src, &m), VIGIL_EDONE);
	vigil_source_free(src);
}

/* ---- compressed files ---------------------------------------------------- */

/* Writes `data` compressed with libarchive's filter `filter` ("gzip",
 * "bzip2", "xz", "zstd"); returns the compressed size. */
static size_t write_compressed(const char *rel, const char *filter, const char *data, size_t len)
{
	size_t cap = len + 4096, used = 0;
	char *out = malloc(cap);
	assert_non_null(out);
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
	assert_int_equal(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_entry_free(e);
	archive_write_free(a);
	write_bytes(rel, out, used);
	free(out);
	return used;
}

/* A compressed mbox or message reads as the plain one: the same messages at
 * the same offsets (in the decompressed stream), whatever the compressor. */
static void compressed_files_read_as_plain_ones(void **state)
{
	const char *mbox = "From a Mon Jan  4 08:06:32 2021\nSubject: z1\n\nbody one\n\n"
			   "From a Mon Jan  4 08:06:33 2021\nSubject: z2\n\n>From quoted\n";
	static const char *const filters[] = {"gzip", "bzip2", "xz", "zstd"};
	for (size_t i = 0; i < sizeof(filters) / sizeof(*filters); i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "z%zu.mbox", i);
		size_t raw = write_compressed(rel, filters[i], mbox, strlen(mbox));
		vigil_source *src = NULL;
		assert_int_equal(vigil_source_open(&src, at(rel)), 0);
		run r;
		collect(src, &r);
		uint64_t done;
		int64_t total;
		vigil_source_progress(src, &done, &total);
		vigil_source_free(src);
		if (r.count != 2)
			fail_msg("%s: %zu results (%s)", filters[i], r.count,
				r.count && r.items[0].err ? r.items[0].err : "");
		assert_message(&r.items[0], rel, 0, "Subject: z1\n\nbody one\n");
		assert_message(&r.items[1], rel, offset_of(mbox, "From a Mon Jan  4 08:06:33"),
			"Subject: z2\n\nFrom quoted\n");
		/* Progress counts the bytes on disk, and reaches them. */
		assert_int_equal(total, (int64_t)raw);
		assert_int_equal(done, raw);
		run_free(&r);
	}
	const char *eml = "From: a@example.org\nSubject: one\n\nhello\n";
	write_compressed("one.eml.xz", "xz", eml, strlen(eml));
	run r;
	read_all("one.eml.xz", 0, &r);
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "one.eml.xz", -1, eml);
	run_free(&r);
}

/* In a tree, a compressed file is judged by what it holds once inflated; a
 * damaged one is reported with its path and the walk goes on. */
static void tree_reads_compressed_mail_and_skips_the_rest(void **state)
{
	make_dir("zt");
	const char *mbox = "From a Mon Jan  4 08:06:32 2021\nSubject: zt\n\n\n";
	write_compressed("zt/a.mbox.gz", "gzip", mbox, strlen(mbox));
	const char *notes = "Meeting notes, not mail.\n";
	write_compressed("zt/b.txt.gz", "gzip", notes, strlen(notes));
	/* A gzip header and then garbage. */
	write_bytes("zt/c.mbox.gz", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage!", 18);
	write_text("zt/d.eml", "Subject: plain\n\n");
	run r;
	read_all("zt", 0, &r);
	assert_int_equal(r.messages, 2);
	assert_message(&r.items[0], "zt/a.mbox.gz", 0, "Subject: zt\n\n");
	assert_int_equal(r.count, 3);
	assert_int_equal(r.items[1].rc, VIGIL_EIO);
	assert_non_null(strstr(r.items[1].err, "zt/c.mbox.gz"));
	assert_non_null(strstr(r.items[1].err, "compressed"));
	assert_message(&r.items[2], "zt/d.eml", -1, "Subject: plain\n\n");
	run_free(&r);
}

/* Writes an archive (libarchive format `format`: "pax", "zip"; filter
 * "none", "gzip", ...) of the NULL-terminated name/content pairs; a name
 * ending in '/' is a directory. */
static void write_archive(const char *rel, const char *format, const char *filter,
	const char *const *files)
{
	struct archive *a = archive_write_new();
	assert_non_null(a);
	assert_int_equal(archive_write_set_format_by_name(a, format), ARCHIVE_OK);
	if (strcmp(filter, "none") != 0)
		assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
	assert_int_equal(archive_write_open_filename(a, at(rel)), ARCHIVE_OK);
	for (size_t i = 0; files[i]; i += 2) {
		struct archive_entry *e = archive_entry_new();
		size_t len = strlen(files[i + 1]);
		archive_entry_set_pathname(e, files[i]);
		bool dir = files[i][strlen(files[i]) - 1] == '/';
		archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
		archive_entry_set_perm(e, dir ? 0755 : 0644);
		archive_entry_set_size(e, dir ? 0 : (la_int64_t)len);
		assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
		if (!dir)
			assert_int_equal(archive_write_data(a, files[i + 1], len), (la_ssize_t)len);
		archive_entry_free(e);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

/* A tar (compressed or not) or zip of mail is read entry by entry, as a
 * tree: each regular file by its content, its path ARCHIVE!/ENTRY, offsets
 * within the entry; what is not mail is skipped. */
static void archives_are_read_entry_by_entry(void **state)
{
	const char *mbox = "From a Mon Jan  4 08:06:32 2021\nSubject: a1\n\n\n"
			   "From a Mon Jan  4 08:06:33 2021\nSubject: a2\n\n\n";
	const char *const files[] = {"Maildir/", "", "Maildir/cur/1:2,S", "Subject: md\n\n",
		"notes.txt", "Minutes of the meeting.\n", "inbox.mbox", mbox, NULL};
	write_archive("backup.tar.gz", "pax", "gzip", files);
	write_archive("backup.zip", "zip", "none", files);
	static const char *const names[] = {"backup.tar.gz", "backup.zip"};
	for (size_t i = 0; i < 2; i++) {
		run r;
		read_all(names[i], 0, &r);
		char p1[64], p2[64];
		snprintf(p1, sizeof(p1), "%s!/Maildir/cur/1:2,S", names[i]);
		snprintf(p2, sizeof(p2), "%s!/inbox.mbox", names[i]);
		assert_int_equal(r.count, 3);
		assert_message(&r.items[0], p1, -1, "Subject: md\n\n");
		assert_message(&r.items[1], p2, 0, "Subject: a1\n\n");
		assert_message(&r.items[2], p2, offset_of(mbox, "From a Mon Jan  4 08:06:33"),
			"Subject: a2\n\n");
		run_free(&r);
	}
}

/* A damaged archive gives what it held before the damage, an error naming
 * it, and the walk goes on with the next file. */
static void damaged_archive_is_reported_and_the_walk_goes_on(void **state)
{
	make_dir("da");
	const char *const files[] = {"one.eml", "Subject: before\n\n", "two.eml",
		"Subject: after the damage\n\n", NULL};
	write_archive("da/a.tar", "pax", "none", files);
	/* Keep the first entry whole (its header and data: 3 blocks of 512
	 * bytes with the pax header) and replace the rest with garbage. */
	FILE *f = fopen(at("da/a.tar"), "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 3 * 512, SEEK_SET), 0);
	char junk[1024];
	memset(junk, 'x', sizeof(junk));
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	assert_int_equal(fclose(f), 0);
	write_text("da/b.eml", "Subject: next file\n\n");
	run r;
	read_all("da", 0, &r);
	assert_int_equal(r.count, 3);
	assert_message(&r.items[0], "da/a.tar!/one.eml", -1, "Subject: before\n\n");
	assert_int_equal(r.items[1].rc, VIGIL_EIO);
	assert_non_null(strstr(r.items[1].err, "da/a.tar"));
	assert_message(&r.items[2], "da/b.eml", -1, "Subject: next file\n\n");
	run_free(&r);
}

static void open_rejects_null_arguments(void **state)
{
	vigil_source *src = (vigil_source *)1;
	assert_int_equal(vigil_source_open(&src, NULL), VIGIL_EINVAL);
	assert_null(src);
	assert_int_equal(vigil_source_open(NULL, "x"), VIGIL_EINVAL);
	vigil_source_free(NULL);
}

/* ---- standard input --------------------------------------------------- */

static pid_t feeder = -1;
static int saved_stdin = -1;

/* Makes standard input a pipe fed `len` bytes of `data` by a child process,
 * in writes of at most `piece` bytes so that reads come back short. */
static void feed_stdin(const char *data, size_t len, size_t piece)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	feeder = fork();
	assert_true(feeder >= 0);
	if (feeder == 0) {
		close(fds[0]);
		for (size_t off = 0; off < len;) {
			size_t n = len - off < piece ? len - off : piece;
			ssize_t w = write(fds[1], data + off, n);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(fds[1]);
	saved_stdin = dup(STDIN_FILENO);
	assert_true(saved_stdin >= 0);
	assert_true(dup2(fds[0], STDIN_FILENO) >= 0);
	close(fds[0]);
}

/* Puts standard input back and checks the feeder wrote everything. */
static void restore_stdin(void)
{
	assert_true(dup2(saved_stdin, STDIN_FILENO) >= 0);
	close(saved_stdin);
	int status;
	assert_int_equal(waitpid(feeder, &status, 0), feeder);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void stdin_single_message(void **state)
{
	const char *text = "Subject: piped\n\nbody\n";
	run r;
	feed_stdin(text, strlen(text), 3);
	read_all("-", 0, &r);
	restore_stdin();
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "-", -1, text);
	run_free(&r);
}

static void stdin_mbox_is_split(void **state)
{
	const char *text = "From a Mon Jan  4 08:06:32 2021\nSubject: 1\n\n\n"
			   "From b Mon Jan  4 08:06:33 2021\nSubject: 2\n\n>From x\n";
	run r;
	feed_stdin(text, strlen(text), 7);
	read_all("-", 0, &r);
	restore_stdin();
	assert_int_equal(r.count, 2);
	assert_message(&r.items[0], "-", 0, "Subject: 1\n\n");
	assert_message(&r.items[1], "-", offset_of(text, "From b"), "Subject: 2\n\nFrom x\n");
	run_free(&r);
}

static void stdin_streams_large_mbox_across_short_reads(void **state)
{
	size_t len, n = 120;
	char *text = make_big_mbox(n, &len);
	vigil_source *src;
	/* 4093: a prime, so separators land at every position of a read. */
	feed_stdin(text, len, 4093);
	assert_int_equal(vigil_source_open(&src, "-"), 0);
	check_big_mbox(src, text, n);
	uint64_t done;
	int64_t total;
	vigil_source_progress(src, &done, &total);
	assert_int_equal(done, len);
	assert_int_equal(total, -1);
	vigil_source_free(src);
	restore_stdin();
	free(text);
}

/* ---- unquoting -------------------------------------------------------- */

/* Standard input cannot be read twice: its first bytes tell what it is,
 * then go to libarchive (compressed, an archive) or on as plain mail; short
 * reads in those first bytes change nothing. */
static void stdin_compressed_and_archives(void **state)
{
	const char *mbox = "From a Mon Jan  4 08:06:32 2021\nSubject: s1\n\n\n"
			   "From a Mon Jan  4 08:06:33 2021\nSubject: s2\n\n\n";
	size_t zlen = write_compressed("stdin.mbox.gz", "gzip", mbox, strlen(mbox));
	char *z = malloc(zlen);
	assert_non_null(z);
	FILE *f = fopen(at("stdin.mbox.gz"), "rb");
	assert_non_null(f);
	assert_int_equal(fread(z, 1, zlen, f), zlen);
	fclose(f);
	run r;
	feed_stdin(z, zlen, 7);
	read_all("-", 0, &r);
	restore_stdin();
	assert_int_equal(r.count, 2);
	assert_message(&r.items[0], "-", 0, "Subject: s1\n\n");
	assert_message(&r.items[1], "-", offset_of(mbox, "From a Mon Jan  4 08:06:33"),
		"Subject: s2\n\n");
	run_free(&r);
	free(z);

	const char *const files[] = {"box/cur/1", "Subject: in a tar\n\n", NULL};
	write_archive("stdin.tar", "pax", "none", files);
	f = fopen(at("stdin.tar"), "rb");
	assert_non_null(f);
	char tar[8192];
	size_t tlen = fread(tar, 1, sizeof(tar), f);
	fclose(f);
	assert_true(tlen > 512 && tlen < sizeof(tar));
	feed_stdin(tar, tlen, 100);
	read_all("-", 0, &r);
	restore_stdin();
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "-!/box/cur/1", -1, "Subject: in a tar\n\n");
	run_free(&r);

	/* Plain mail shorter than the peek, in pieces, is unchanged. */
	feed_stdin("Subject: short\n\nx\n", 18, 3);
	read_all("-", 0, &r);
	restore_stdin();
	assert_int_equal(r.count, 1);
	assert_message(&r.items[0], "-", -1, "Subject: short\n\nx\n");
	run_free(&r);
}

static void unquote_drops_one_gt_only_at_line_start(void **state)
{
	char s[] = ">From a\nx>From b\n>>From c\n>From";
	size_t n = source__unquote(s, strlen(s));
	assert_int_equal(n, strlen("From a\nx>From b\n>From c\n>From"));
	assert_memory_equal(s, "From a\nx>From b\n>From c\n>From", n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, make_tmpdir, remove_tmpdir)
		T(mbox_splits_mboxo_at_exact_offsets),
		T(mbox_unquotes_mboxrd_from_lines),
		T(mbox_splits_crlf_and_strips_crlf_blank_line),
		T(mbox_postmark_line_without_blank_line_is_a_separator),
		T(mbox_body_from_line_after_blank_line_is_a_separator),
		T(mbox_body_from_line_without_blank_line_is_body),
		cmocka_unit_test(mbox_postmark_shape_needs_month_time_and_year),
		T(mbox_with_only_a_from_line_gives_one_empty_message),
		T(mbox_without_trailing_newline_keeps_last_line),
		T(mbox_splits_across_buffer_refills),
		T(mbox_message_over_limit_is_cut_and_rest_skipped),
		T(message_file_over_limit_is_cut),
		T(default_limit_is_vigil_max_message_bytes),
		T(eml_file_is_one_message_with_offset_minus_one),
		T(eml_with_bom_and_leading_blank_lines_starts_at_header),
		T(eml_without_trailing_newline_is_whole),
		T(empty_file_gives_no_message),
		T(named_file_is_read_even_if_not_mail_shaped),
		T(maildir_reads_cur_then_new_and_ignores_tmp),
		T(tree_mixes_mbox_eml_and_maildir_and_skips_non_mail),
		T(tree_reports_unreadable_entries_and_goes_on),
		T(tree_does_not_follow_symlinks_into_loops_or_repeats),
		T(tree_stops_at_depth_limit_and_goes_on),
		T(open_missing_path_fails_with_detail_on_handle),
		T(compressed_files_read_as_plain_ones),
		T(tree_reads_compressed_mail_and_skips_the_rest),
		T(archives_are_read_entry_by_entry),
		T(damaged_archive_is_reported_and_the_walk_goes_on),
		cmocka_unit_test(open_rejects_null_arguments),
		cmocka_unit_test(stdin_single_message),
		cmocka_unit_test(stdin_mbox_is_split),
		cmocka_unit_test(stdin_streams_large_mbox_across_short_reads),
		T(stdin_compressed_and_archives),
		cmocka_unit_test(unquote_drops_one_gt_only_at_line_start),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
