/* BLAKE2b (RFC 7693), unkeyed, digest length 1..64 bytes.
 *
 * Used by gxhash (salt, H0, the variable-length hash Hx and the final tag).
 * Symbols are hidden from the shared object's export table so another
 * library that also defines blake2b_* (libargon2, libb2) can never interpose
 * on ours, or ours on it.
 */
#ifndef GXCPOOL_BLAKE2B_H
#define GXCPOOL_BLAKE2B_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define BLAKE2B_API __attribute__((visibility("hidden")))
#else
#define BLAKE2B_API
#endif

enum {
    BLAKE2B_BLOCKBYTES = 128,
    BLAKE2B_OUTBYTES = 64
};

typedef struct {
    uint64_t h[8];
    uint64_t t[2];                      /* bytes compressed so far, 128-bit counter */
    uint8_t buf[BLAKE2B_BLOCKBYTES];    /* pending input, not yet compressed */
    size_t buflen;
    size_t outlen;
} blake2b_state;

/* All return 0 on success, -1 on a bad argument (outlen outside 1..64,
 * NULL pointer with a non-zero length). */
BLAKE2B_API int blake2b_init(blake2b_state *S, size_t outlen);
BLAKE2B_API int blake2b_update(blake2b_state *S, const void *in, size_t inlen);
/* Writes S->outlen bytes to out and wipes the state. */
BLAKE2B_API int blake2b_final(blake2b_state *S, void *out);
/* One-shot: out = BLAKE2b-outlen(in). */
BLAKE2B_API int blake2b_hash(void *out, size_t outlen, const void *in, size_t inlen);

#endif
