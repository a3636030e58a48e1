/*
 * The scan-throughput baseline: reads an mbox with GMime 3, walks every part
 * of every message (nested messages included) and decodes each leaf part's
 * content into a null stream. Parse and decode only: no charset conversion, no
 * extraction, no output per message. Prints one JSON line of counts.
 *
 * With --html it also does the one other thing vigil cannot skip: each
 * text/html part, decoded and converted to UTF-8, is parsed by gumbo (the
 * parser the project must use) and the tree dropped, on the same bump
 * allocator vigil gives gumbo. Not a baseline: a reference for how much of a
 * scan's time the HTML parser alone takes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <gumbo.h>

#include "util/arena.h"

/* Nesting followed when walking a message. The benchmark corpus is real mail
 * (a few levels at most); the cap only keeps a hostile file from exhausting
 * the stack. It matches the library's VIGIL_MAX_MIME_DEPTH so both sides walk
 * the same parts. */
#define BASELINE_MAX_DEPTH 32

struct counts {
	uint64_t messages;
	uint64_t parts;  /* leaf parts decoded */
	uint64_t nested; /* message/rfc822 parts followed */
	uint64_t html;   /* with --html: text/html parts parsed by gumbo */
	uint64_t html_bytes;
};

static int with_html; /* --html */
static vigil_scratch *scratch; /* gumbo's memory, as in src/lib/extract/html.c */

static void *scratch_alloc(void *s, size_t size)
{
	return vigil_scratch_alloc(s, size);
}

static void scratch_release(void *s, void *p)
{
	vigil_scratch_release(s, p);
}

/* Decodes a text/html part to UTF-8 (GMime's charset filter, as GMime users
 * do) and parses it with gumbo. */
static void parse_html(GMimePart *part, GMimeDataWrapper *content, struct counts *c)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeStream *filtered = g_mime_stream_filter_new(mem);
	const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	if (charset != NULL) {
		GMimeFilter *f = g_mime_filter_charset_new(charset, "UTF-8");
		if (f != NULL) {
			g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
			g_object_unref(f);
		}
	}
	g_mime_data_wrapper_write_to_stream(content, filtered);
	g_mime_stream_flush(filtered);
	GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	GumboOptions opts = kGumboDefaultOptions;
	opts.max_errors = 0;
	opts.allocator = scratch_alloc;
	opts.deallocator = scratch_release;
	opts.userdata = scratch;
	GumboOutput *out = gumbo_parse_with_options(&opts,
		bytes->data ? (const char *)bytes->data : "", bytes->len);
	if (out != NULL && !vigil_scratch_all_in_blocks(scratch))
		gumbo_destroy_output(&opts, out);
	vigil_scratch_reset(scratch);
	c->html++;
	c->html_bytes += bytes->len;
	g_object_unref(filtered);
	g_object_unref(mem);
}

static void walk(GMimeObject *obj, GMimeStream *sink, struct counts *c, int depth);

static void walk(GMimeObject *obj, GMimeStream *sink, struct counts *c, int depth)
{
	if (obj == NULL || depth > BASELINE_MAX_DEPTH)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n; i++)
			walk(g_mime_multipart_get_part(mp, i), sink, c, depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		c->nested++;
		if (inner != NULL)
			walk(g_mime_message_get_mime_part(inner), sink, c, depth + 1);
	} else if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
		c->parts++;
		/* write_to_stream undoes the Content-Transfer-Encoding (base64,
		 * quoted-printable, uuencode) on the way: that is the decode. */
		if (content == NULL)
			return;
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		if (with_html && ct != NULL && g_mime_content_type_is_type(ct, "text", "html"))
			parse_html(GMIME_PART(obj), content, c);
		else
			g_mime_data_wrapper_write_to_stream(content, sink);
	}
}

int main(int argc, char **argv)
{
	const char *path;
	struct counts c = {0};
	struct stat st;
	GMimeStream *in = NULL, *sink = NULL;
	GMimeParser *parser = NULL;
	int fd, rc = 1;

	if (argc == 3 && strcmp(argv[1], "--html") == 0) {
		with_html = 1;
		if ((scratch = vigil_scratch_new(64u << 20)) == NULL)
			return 1;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--html] MBOX\n", argv[0]);
		return 2;
	}
	path = argv[1];
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "gmime_baseline: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	/* Tell the kernel we read front to back, like the scanner does. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

	g_mime_init();
	/* A plain file stream, not mmap: the parser reads it through its own
	 * buffer, so resident memory stays one message deep however large the
	 * mbox is. The stream owns fd from here. */
	in = g_mime_stream_fs_new(fd);
	sink = g_mime_stream_null_new();
	parser = g_mime_parser_new_with_stream(in);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);

	while (!g_mime_parser_eos(parser)) {
		GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
		if (msg == NULL) {
			/* GMime returns NULL at a trailing run of garbage
			 * after the last message: the end, not an error,
			 * as long as it is at the end. */
			if (!g_mime_parser_eos(parser)) {
				fprintf(stderr, "gmime_baseline: %s: parse failed at offset %" PRId64 "\n",
					path, (int64_t)g_mime_parser_tell(parser));
				goto out;
			}
			break;
		}
		c.messages++;
		walk(g_mime_message_get_mime_part(msg), sink, &c, 0);
		g_object_unref(msg);
	}

	printf("{\"messages\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"leaf_parts\": %" PRIu64
	       ", \"nested_messages\": %" PRIu64 ", \"decoded_bytes\": %" PRIu64
	       ", \"html_parts\": %" PRIu64 ", \"html_bytes\": %" PRIu64 "}\n",
	       c.messages, (uint64_t)st.st_size, c.parts, c.nested,
	       (uint64_t)GMIME_STREAM_NULL(sink)->written, c.html, c.html_bytes);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	if (parser != NULL)
		g_object_unref(parser);
	if (sink != NULL)
		g_object_unref(sink);
	if (in != NULL)
		g_object_unref(in);
	g_mime_shutdown();
	vigil_scratch_free(scratch);
	return rc;
}
