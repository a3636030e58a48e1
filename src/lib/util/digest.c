/*
 * Hex digests with libcrypto's EVP interface. Only hashing: no keys, no
 * encryption. MD5 and SHA-1 are kept for matching published indicators, not
 * for any security property.
 */
#include <openssl/evp.h>

#include "util/digest.h"

static int hex_digest(const EVP_MD *md, char *out, const void *data, size_t len)
{
	unsigned char raw[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (!md || EVP_Digest(data, len, raw, &n, md, NULL) != 1) {
		out[0] = '\0';
		return -1;
	}
	static const char hex[] = "0123456789abcdef";
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

int digest__md5(char out[33], const void *data, size_t len)
{
	return hex_digest(EVP_md5(), out, data, len);
}

int digest__sha1(char out[41], const void *data, size_t len)
{
	return hex_digest(EVP_sha1(), out, data, len);
}

int digest__sha256(char out[65], const void *data, size_t len)
{
	return hex_digest(EVP_sha256(), out, data, len);
}
