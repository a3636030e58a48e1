/*
 * Attachments: records name, declared and sniffed type (libmagic), size and
 * MD5/SHA-1/SHA-256 of the decoded content. It never opens, unpacks or runs
 * what it hashes.
 */
#include <string.h>

#include "extract/extract.h"
#include "util/digest.h"

/* libmagic decides from the first bytes; more only costs time. */
#define SNIFF_BYTES (256u * 1024)

int attachment__add(vigil_message *msg, vigil_scanner *sc, const vigil_attachment *proto,
	const unsigned char *data, size_t len)
{
	vigil_attachment *at = VIGIL_VEC_PUSH(msg->arena, &msg->attachments);
	if (!at)
		return VIGIL_ENOMEM;
	*at = *proto;
	at->size = len;
	if (digest__md5(at->md5, data, len) || digest__sha1(at->sha1, data, len) ||
		digest__sha256(at->sha256, data, len))
		return VIGIL_ENOMEM;

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
