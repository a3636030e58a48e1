/*
 * Attachments: records name, declared and sniffed type (libmagic), size and
 * MD5/SHA-1/SHA-256 of the decoded content. It never opens, unpacks or runs
 * what it hashes.
 */
#include <glib.h>
#include <string.h>

#include "extract/extract.h"

/* libmagic decides from the first bytes; more only costs time. */
#define SNIFF_BYTES (256u * 1024)

static void hex_digest(GChecksumType type, const unsigned char *data, size_t len, char *out,
	size_t out_size)
{
	GChecksum *c = g_checksum_new(type);
	/* g_checksum_update takes a gssize: feed very large inputs in pieces. */
	while (len) {
		size_t n = len > (1u << 30) ? (1u << 30) : len;
		g_checksum_update(c, data, (gssize)n);
		data += n;
		len -= n;
	}
	g_strlcpy(out, g_checksum_get_string(c), out_size);
	g_checksum_free(c);
}

int attachment__add(vigil_message *msg, vigil_scanner *sc, const vigil_attachment *proto,
	const unsigned char *data, size_t len)
{
	vigil_attachment *at = VIGIL_VEC_PUSH(msg->arena, &msg->attachments);
	if (!at)
		return VIGIL_ENOMEM;
	*at = *proto;
	at->size = len;
	hex_digest(G_CHECKSUM_MD5, data, len, at->md5, sizeof(at->md5));
	hex_digest(G_CHECKSUM_SHA1, data, len, at->sha1, sizeof(at->sha1));
	hex_digest(G_CHECKSUM_SHA256, data, len, at->sha256, sizeof(at->sha256));

	const char *sniffed = NULL;
	if (len)
		sniffed = magic_buffer(sc->magic, data, len < SNIFF_BYTES ? len : SNIFF_BYTES);
	else
		sniffed = "application/x-empty";
	if (sniffed) {
		at->sniffed_type = vigil_arena_strdup(msg->arena, sniffed);
		if (!at->sniffed_type)
			return VIGIL_ENOMEM;
	}
	return 0;
}
