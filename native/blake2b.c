/* BLAKE2b per RFC 7693, written from the RFC's description. */
#include "blake2b.h"

#include <string.h>

static const uint64_t blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL,
    0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
    0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL
};

static const uint8_t blake2b_sigma[12][16] = {
    {  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15 },
    { 14, 10,  4,  8,  9, 15, 13,  6,  1, 12,  0,  2, 11,  7,  5,  3 },
    { 11,  8, 12,  0,  5,  2, 15, 13, 10, 14,  3,  6,  7,  1,  9,  4 },
    {  7,  9,  3,  1, 13, 12, 11, 14,  2,  6,  5, 10,  4,  0, 15,  8 },
    {  9,  0,  5,  7,  2,  4, 10, 15, 14,  1, 11, 12,  6,  8,  3, 13 },
    {  2, 12,  6, 10,  0, 11,  8,  3,  4, 13,  7,  5, 15, 14,  1,  9 },
    { 12,  5,  1, 15, 14, 13,  4, 10,  0,  7,  6,  3,  9,  2,  8, 11 },
    { 13, 11,  7, 14, 12,  1,  3,  9,  5,  0, 15,  4,  8,  6,  2, 10 },
    {  6, 15, 14,  9, 11,  3,  0,  8, 12,  2, 13,  7,  1,  4, 10,  5 },
    { 10,  2,  8,  4,  7,  6,  1,  5, 15, 11,  9, 14,  3, 12, 13,  0 },
    {  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15 },
    { 14, 10,  4,  8,  9, 15, 13,  6,  1, 12,  0,  2, 11,  7,  5,  3 }
};

static uint64_t load64_le(const uint8_t *p)
{
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
           ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) |
           ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

static void store64_le(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rotr64(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64 - n));
}

#define B2B_G(a, b, c, d, x, y)             \
    do {                                    \
        a = a + b + (x);                    \
        d = rotr64(d ^ a, 32);              \
        c = c + d;                          \
        b = rotr64(b ^ c, 24);              \
        a = a + b + (y);                    \
        d = rotr64(d ^ a, 16);              \
        c = c + d;                          \
        b = rotr64(b ^ c, 63);              \
    } while (0)

static void blake2b_compress(blake2b_state *S, const uint8_t *block, int last)
{
    uint64_t m[16], v[16];
    int i, r;

    for (i = 0; i < 16; i++)
        m[i] = load64_le(block + 8 * i);
    for (i = 0; i < 8; i++) {
        v[i] = S->h[i];
        v[i + 8] = blake2b_iv[i];
    }
    v[12] ^= S->t[0];
    v[13] ^= S->t[1];
    if (last)
        v[14] = ~v[14];

    for (r = 0; r < 12; r++) {
        const uint8_t *s = blake2b_sigma[r];
        B2B_G(v[0], v[4], v[8],  v[12], m[s[0]],  m[s[1]]);
        B2B_G(v[1], v[5], v[9],  v[13], m[s[2]],  m[s[3]]);
        B2B_G(v[2], v[6], v[10], v[14], m[s[4]],  m[s[5]]);
        B2B_G(v[3], v[7], v[11], v[15], m[s[6]],  m[s[7]]);
        B2B_G(v[0], v[5], v[10], v[15], m[s[8]],  m[s[9]]);
        B2B_G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]);
        B2B_G(v[2], v[7], v[8],  v[13], m[s[12]], m[s[13]]);
        B2B_G(v[3], v[4], v[9],  v[14], m[s[14]], m[s[15]]);
    }
    for (i = 0; i < 8; i++)
        S->h[i] ^= v[i] ^ v[i + 8];
}

static void blake2b_add_counter(blake2b_state *S, uint64_t n)
{
    S->t[0] += n;
    if (S->t[0] < n)
        S->t[1]++;
}

int blake2b_init(blake2b_state *S, size_t outlen)
{
    int i;
    if (S == NULL || outlen < 1 || outlen > BLAKE2B_OUTBYTES)
        return -1;
    memset(S, 0, sizeof(*S));
    for (i = 0; i < 8; i++)
        S->h[i] = blake2b_iv[i];
    /* Parameter block: digest length, key length 0, fanout 1, depth 1. */
    S->h[0] ^= 0x01010000ULL ^ (uint64_t)outlen;
    S->outlen = outlen;
    return 0;
}

int blake2b_update(blake2b_state *S, const void *in, size_t inlen)
{
    const uint8_t *p = (const uint8_t *)in;
    if (S == NULL || (in == NULL && inlen > 0))
        return -1;
    while (inlen > 0) {
        size_t take;
        /* Compress a full buffer only when more input follows: the last
         * block must stay pending for the finalisation flag. */
        if (S->buflen == BLAKE2B_BLOCKBYTES) {
            blake2b_add_counter(S, BLAKE2B_BLOCKBYTES);
            blake2b_compress(S, S->buf, 0);
            S->buflen = 0;
        }
        if (S->buflen == 0) {
            /* Fast path: whole blocks straight from the input, keeping
             * at least one byte back for the final block. */
            while (inlen > BLAKE2B_BLOCKBYTES) {
                blake2b_add_counter(S, BLAKE2B_BLOCKBYTES);
                blake2b_compress(S, p, 0);
                p += BLAKE2B_BLOCKBYTES;
                inlen -= BLAKE2B_BLOCKBYTES;
            }
        }
        take = BLAKE2B_BLOCKBYTES - S->buflen;
        if (take > inlen)
            take = inlen;
        memcpy(S->buf + S->buflen, p, take);
        S->buflen += take;
        p += take;
        inlen -= take;
    }
    return 0;
}

int blake2b_final(blake2b_state *S, void *out)
{
    uint8_t full[BLAKE2B_OUTBYTES];
    int i;
    if (S == NULL || out == NULL || S->outlen < 1 || S->outlen > BLAKE2B_OUTBYTES)
        return -1;
    blake2b_add_counter(S, (uint64_t)S->buflen);
    memset(S->buf + S->buflen, 0, BLAKE2B_BLOCKBYTES - S->buflen);
    blake2b_compress(S, S->buf, 1);
    for (i = 0; i < 8; i++)
        store64_le(full + 8 * i, S->h[i]);
    memcpy(out, full, S->outlen);
    memset(S, 0, sizeof(*S));
    return 0;
}

int blake2b_hash(void *out, size_t outlen, const void *in, size_t inlen)
{
    blake2b_state S;
    if (out == NULL || (in == NULL && inlen > 0))
        return -1;
    if (blake2b_init(&S, outlen) != 0)
        return -1;
    blake2b_update(&S, in, inlen);
    return blake2b_final(&S, out);
}
