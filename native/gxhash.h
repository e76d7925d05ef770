/* GXC gxhash: the proof-of-work hash of GXC blocks of type POW_GXHASH.
 *
 * gxhash(data, nonce) = GA(data || LE64(nonce), BLAKE2b-16(data), t=3,
 * m=65536 KiB, p=4, T=32), where GA ("GXC-Argon2") is GXC's non-standard
 * variant of Argon2id (spec/gxhash.md).  It is NOT RFC 9106 Argon2id.
 *
 * Every function is reentrant and thread-safe; nothing calls back into
 * Python, so callers may release the GIL.  Symbols are hidden from the
 * shared object's export table (see blake2b.h).
 */
#ifndef GXCPOOL_GXHASH_H
#define GXCPOOL_GXHASH_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define GXHASH_API __attribute__((visibility("hidden")))
#else
#define GXHASH_API
#endif

/* Return codes.  The first three mirror the reference implementation's
 * checks, made in the same order (m < 8p, then t < 1, then p < 1). */
enum {
    GXHASH_OK = 0,
    GXHASH_ERR_MEMORY_TOO_SMALL = -1,   /* m_cost_kib < 8 * lanes */
    GXHASH_ERR_TIME_TOO_SMALL = -2,     /* t_cost < 1 */
    GXHASH_ERR_LANES_TOO_SMALL = -3,    /* lanes < 1 */
    GXHASH_ERR_OUTLEN = -4,             /* outlen 0 or above 0xFFFFFFFF */
    GXHASH_ERR_INPUT_TOO_LONG = -5,     /* password or salt above 0xFFFFFFFF bytes */
    GXHASH_ERR_MEMORY_TOO_LARGE = -6,   /* working memory does not fit in size_t */
    GXHASH_ERR_NULL_POINTER = -7,       /* NULL buffer with a non-zero length */
    GXHASH_ERR_NO_MEMORY = -8,          /* allocation of the block matrix failed */
    GXHASH_ERR_BAD_BUFFER = -9          /* debug dump: buffer size or pass count wrong */
};

/* Fixed parameters of gxhash. */
enum {
    GXHASH_OUTBYTES = 32,
    GXHASH_T_COST = 3,
    GXHASH_M_COST_KIB = 65536,
    GXHASH_LANES = 4
};

/* out[0..31] = GA(data || LE64(nonce), BLAKE2b-16(data), 3, 65536, 4, 32).
 * The caller hex-encodes out (byte 0 first) to get GXC's block hash. */
GXHASH_API int gxhash_hash(const uint8_t *data, size_t datalen, uint64_t nonce,
                           uint8_t *out);

/* GA with free parameters; out receives outlen bytes. */
GXHASH_API int gxhash_ga(const uint8_t *pwd, size_t pwdlen,
                         const uint8_t *salt, size_t saltlen,
                         uint32_t t_cost, uint32_t m_cost_kib, uint32_t lanes,
                         uint8_t *out, size_t outlen);

/* Debugging/test aid: run H0, the first blocks and the first `passes`
 * passes (0..t_cost) of GA(t_cost, ...) and copy the whole block matrix
 * (lane 0 block 0 first, words little-endian) to memory_out, whose length
 * must be exactly lanes * 4 * floor(m / (4 * lanes)) * 1024 bytes. */
GXHASH_API int gxhash_ga_memory(const uint8_t *pwd, size_t pwdlen,
                                const uint8_t *salt, size_t saltlen,
                                uint32_t t_cost, uint32_t m_cost_kib, uint32_t lanes,
                                uint32_t passes, uint8_t *memory_out, size_t memory_out_len);

/* A static, human-readable reason for a return code. */
GXHASH_API const char *gxhash_strerror(int code);

/* 64 MiB matrices (the gxhash size) are recycled through a small pool so
 * hot verification does not pay mmap + page faults on every call (about
 * 20% of a hash).  At most `limit` idle matrices are kept: 2 by default,
 * 0 disables the pool, capped at 64; lowering the limit frees the surplus
 * at once.  Matrices in use are never shared between calls. */
GXHASH_API void gxhash_pool_set_limit(unsigned limit);
GXHASH_API unsigned gxhash_pool_idle(void);

#endif
