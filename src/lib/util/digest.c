/*
 * Hex digests with libcrypto's EVP interface. Only hashing: no keys, no
 * encryption. MD5 and SHA-1 are kept for matching published indicators, not
 * for any security property.
 */
#include <openssl/evp.h>
#include <pthread.h>

#include "util/digest.h"

/* The algorithms fetched from the default provider once. EVP_md5() and the
 * like are fetched again by every EVP_Digest() call (OpenSSL 3), a look-up
 * and locks that cost as much as hashing a small attachment. */
enum { D_MD5, D_SHA1, D_SHA256, D_COUNT };
static EVP_MD *fetched[D_COUNT];
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
	static const char *const names[D_COUNT] = {"MD5", "SHA1", "SHA256"};
	for (int i = 0; i < D_COUNT; i++)
		fetched[i] = EVP_MD_fetch(NULL, names[i], NULL);
}

/* The fetched algorithm, or libcrypto's implicit one when the fetch failed
 * (both kept for the program's life). */
static const EVP_MD *algorithm(int which, const EVP_MD *(*implicit)(void))
{
	pthread_once(&fetch_once, fetch_all);
	return fetched[which] ? fetched[which] : implicit();
}

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
	return hex_digest(algorithm(D_MD5, EVP_md5), out, data, len);
}

int digest__sha1(char out[41], const void *data, size_t len)
{
	return hex_digest(algorithm(D_SHA1, EVP_sha1), out, data, len);
}

int digest__sha256(char out[65], const void *data, size_t len)
{
	return hex_digest(algorithm(D_SHA256, EVP_sha256), out, data, len);
}
