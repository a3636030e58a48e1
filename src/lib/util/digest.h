/*
 * Message digests as lower-case hex, computed with OpenSSL's libcrypto (which
 * uses the CPU's SHA extensions: several times GLib's speed on large input).
 */
#ifndef VIGIL_DIGEST_H
#define VIGIL_DIGEST_H

#include <stddef.h>

/* `out` must hold 33, 41 and 65 bytes respectively. Return 0, or -1 when
 * libcrypto fails (out of memory). */
int digest__md5(char out[33], const void *data, size_t len);
int digest__sha1(char out[41], const void *data, size_t len);
int digest__sha256(char out[65], const void *data, size_t len);

#endif
