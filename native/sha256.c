/* SHA-256 (FIPS 180-4) and the sha256d helpers pools and miners need.
 *
 * Two compression functions: a portable one, and one using the x86 SHA
 * extensions, chosen once at library load by asking the CPU (cpuid).  The
 * .deb must run on any x86-64, so the extension code is compiled with a
 * per-function target attribute instead of -march flags, and only called
 * when the CPU says it has the instructions.
 */
#include "sha256.h"

#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define SHA256_HAVE_X86_DISPATCH 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t rotr32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void compress_portable(uint32_t st[8], const uint8_t *blocks, size_t nblocks)
{
    uint32_t w[64];
    while (nblocks--) {
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
        uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
        int i;
        for (i = 0; i < 16; i++)
            w[i] = load_be32(blocks + 4 * i);
        for (i = 16; i < 64; i++) {
            uint32_t s0 = rotr32(w[i - 15], 7) ^ rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr32(w[i - 2], 17) ^ rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        for (i = 0; i < 64; i++) {
            uint32_t t1 = h + (rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            uint32_t t2 = (rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        st[0] += a; st[1] += b; st[2] += c; st[3] += d;
        st[4] += e; st[5] += f; st[6] += g; st[7] += h;
        blocks += 64;
    }
}

#ifdef SHA256_HAVE_X86_DISPATCH
/* The SHA-NI round instruction works on the state split as (A,B,E,F) and
 * (C,D,G,H); each sha256rnds2 does two rounds, taking the two schedule words
 * (already added to K) from the low half of its message operand. */
__attribute__((target("sha,sse4.1,ssse3")))
static void compress_shani(uint32_t st[8], const uint8_t *blocks, size_t nblocks)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i dcba = _mm_loadu_si128((const __m128i *)(const void *)&st[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)(const void *)&st[4]);
    __m128i cdab = _mm_shuffle_epi32(dcba, 0xB1);
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);

    while (nblocks--) {
        __m128i save_abef = abef, save_cdgh = cdgh;
        __m128i w[4];
        int g;
        for (g = 0; g < 16; g++) {
            __m128i cur, wk;
            if (g < 4) {
                cur = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(blocks + 16 * g)), bswap);
            } else {
                /* w[g] = msg2(msg1(w[g-4], w[g-3]) + w[g-1..g-2 shifted by one word], w[g-1]) */
                __m128i t = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
                t = _mm_add_epi32(t, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
                cur = _mm_sha256msg2_epu32(t, w[(g + 3) & 3]);
            }
            w[g & 3] = cur;
            wk = _mm_add_epi32(cur, _mm_loadu_si128((const __m128i *)(const void *)&K[4 * g]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
        }
        abef = _mm_add_epi32(abef, save_abef);
        cdgh = _mm_add_epi32(cdgh, save_cdgh);
        blocks += 64;
    }

    {
        __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
        __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        dcba = _mm_blend_epi16(feba, dchg, 0xF0);
        hgfe = _mm_alignr_epi8(dchg, feba, 8);
        _mm_storeu_si128((__m128i *)(void *)&st[0], dcba);
        _mm_storeu_si128((__m128i *)(void *)&st[4], hgfe);
    }
}
#endif

typedef void (*compress_fn)(uint32_t st[8], const uint8_t *blocks, size_t nblocks);

/* Written once, by the load-time constructor below, before any call can run. */
static compress_fn compress = compress_portable;

#ifdef SHA256_HAVE_X86_DISPATCH
__attribute__((constructor))
static void pick_compress(void)
{
    unsigned a, b, c, d;
    int ssse3_sse41 = 0, sha = 0;
    if (__get_cpuid(1, &a, &b, &c, &d))
        ssse3_sse41 = (c & (1u << 9)) && (c & (1u << 19));
    if (__get_cpuid_max(0, NULL) >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d))
        sha = (b & (1u << 29)) != 0;
    if (ssse3_sse41 && sha)
        compress = compress_shani;
}
#endif

int sha256_uses_cpu_extensions(void)
{
    return compress != compress_portable;
}

static void digest_out(const uint32_t st[8], uint8_t out[32])
{
    int i;
    for (i = 0; i < 8; i++)
        store_be32(out + 4 * i, st[i]);
}

static void hash_with(compress_fn fn, const uint8_t *data, size_t len, uint8_t out[32])
{
    uint32_t st[8];
    uint8_t tail[128];
    size_t full = len / 64, rest = len % 64, tail_len;
    uint64_t bits = (uint64_t)len * 8;
    int i;

    memcpy(st, IV, sizeof st);
    if (full)
        fn(st, data, full);
    memset(tail, 0, sizeof tail);
    if (rest)
        memcpy(tail, data + full * 64, rest);
    tail[rest] = 0x80;
    tail_len = rest < 56 ? 64 : 128;
    for (i = 0; i < 8; i++)
        tail[tail_len - 1 - i] = (uint8_t)(bits >> (8 * i));
    fn(st, tail, tail_len / 64);
    digest_out(st, out);
}

void sha256_hash(const uint8_t *data, size_t len, uint8_t out[32])
{
    hash_with(compress, data, len, out);
}

void sha256_hash_portable(const uint8_t *data, size_t len, uint8_t out[32])
{
    hash_with(compress_portable, data, len, out);
}

/* SHA-256 of a 32-byte value: one block with fixed padding. */
static void hash32(const uint8_t in[32], uint8_t out[32])
{
    uint32_t st[8];
    uint8_t block[64];
    memcpy(block, in, 32);
    memset(block + 32, 0, 32);
    block[32] = 0x80;
    block[62] = 0x01; /* length 256 bits */
    memcpy(st, IV, sizeof st);
    compress(st, block, 1);
    digest_out(st, out);
}

void sha256_double(const uint8_t *data, size_t len, uint8_t out[32])
{
    uint8_t first[32];
    sha256_hash(data, len, first);
    hash32(first, out);
}

void sha256_merkle_root(const uint8_t coinbase_hash[32], const uint8_t *branch,
                        size_t branch_count, uint8_t out[32])
{
    uint8_t pair[64];
    size_t i;
    memcpy(pair, coinbase_hash, 32);
    for (i = 0; i < branch_count; i++) {
        memcpy(pair + 32, branch + 32 * i, 32);
        sha256_double(pair, 64, pair);
    }
    memcpy(out, pair, 32);
}

void sha256_stratum_header_hash(uint32_t version, const uint8_t prevhash_stratum[32],
                                const uint8_t merkle_root[32], uint32_t ntime,
                                uint32_t nbits, uint32_t nonce,
                                uint8_t header_out[80], uint8_t hash_out[32])
{
    uint8_t header[80];
    int i;
    store_le32(header, version);
    /* stratum sends the internal prevhash with each 4-byte word reversed */
    for (i = 0; i < 8; i++) {
        const uint8_t *w = prevhash_stratum + 4 * i;
        header[4 + 4 * i + 0] = w[3];
        header[4 + 4 * i + 1] = w[2];
        header[4 + 4 * i + 2] = w[1];
        header[4 + 4 * i + 3] = w[0];
    }
    memcpy(header + 36, merkle_root, 32);
    store_le32(header + 68, ntime);
    store_le32(header + 72, nbits);
    store_le32(header + 76, nonce);
    if (header_out)
        memcpy(header_out, header, 80);
    sha256_double(header, 80, hash_out);
}

/* hash <= target, both 32-byte little-endian integers. */
static int le256_at_most(const uint8_t hash[32], const uint8_t target[32])
{
    int i;
    for (i = 31; i >= 0; i--) {
        if (hash[i] != target[i])
            return hash[i] < target[i];
    }
    return 1;
}

int sha256_scan(const uint8_t header76[76], uint32_t nonce_start, uint64_t count,
                const uint8_t target_le[32], uint32_t *nonce_out, uint8_t hash_out[32],
                uint64_t *tried_out)
{
    uint32_t mid[8];
    uint8_t block2[64], block3[64];
    uint64_t limit = (uint64_t)0xffffffffu - nonce_start + 1, n;

    if (count > limit)
        count = limit;
    /* the first 64 header bytes are the same for every nonce: hash once */
    memcpy(mid, IV, sizeof mid);
    compress(mid, header76, 1);

    memset(block2, 0, sizeof block2);
    memcpy(block2, header76 + 64, 12);
    block2[16] = 0x80;
    block2[62] = 0x02; /* length 640 bits = 0x280 */
    block2[63] = 0x80;

    memset(block3, 0, sizeof block3);
    block3[32] = 0x80;
    block3[62] = 0x01; /* length 256 bits */

    for (n = 0; n < count; n++) {
        uint32_t st[8];
        uint32_t nonce = nonce_start + (uint32_t)n;
        uint8_t hash[32];
        int i;
        store_le32(block2 + 12, nonce);
        memcpy(st, mid, sizeof st);
        compress(st, block2, 1);
        digest_out(st, block3);
        memcpy(st, IV, sizeof st);
        compress(st, block3, 1);
        /* the most significant little-endian byte is the last digest byte:
         * reject on the top word before serialising the whole hash */
        if ((st[7] & 0xffu) > target_le[31])
            continue;
        for (i = 0; i < 8; i++)
            store_be32(hash + 4 * i, st[i]);
        if (le256_at_most(hash, target_le)) {
            *nonce_out = nonce;
            memcpy(hash_out, hash, 32);
            if (tried_out)
                *tried_out = n + 1;
            return 1;
        }
    }
    if (tried_out)
        *tried_out = count;
    return 0;
}
