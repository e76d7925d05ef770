/* Keccak (the sponge Ethereum calls "sha3"), written from the Keccak
 * reference specification.  The permutation keeps all 25 lanes in locals and
 * spells out one round, because table-driven loops over lanes keep the state
 * in memory and use variable rotations, which costs about twice as much; the
 * round body was emitted by a few lines of Python from the rho offsets and
 * the pi lane map, so it can be regenerated rather than hand-edited.
 */
#include "keccak.h"

#include <string.h>

#define ROTL64(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

static const uint64_t ROUND_CONSTANTS[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

void keccak_f1600(uint64_t st[25])
{
    uint64_t a0 = st[0], a1 = st[1], a2 = st[2], a3 = st[3], a4 = st[4];
    uint64_t a5 = st[5], a6 = st[6], a7 = st[7], a8 = st[8], a9 = st[9];
    uint64_t a10 = st[10], a11 = st[11], a12 = st[12], a13 = st[13], a14 = st[14];
    uint64_t a15 = st[15], a16 = st[16], a17 = st[17], a18 = st[18], a19 = st[19];
    uint64_t a20 = st[20], a21 = st[21], a22 = st[22], a23 = st[23], a24 = st[24];
    uint64_t b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12;
    uint64_t b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24;
    uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
    int round;

    for (round = 0; round < 24; round++) {
        /* theta */
        c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20;
        c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21;
        c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
        c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23;
        c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
        d0 = c4 ^ ROTL64(c1, 1);
        d1 = c0 ^ ROTL64(c2, 1);
        d2 = c1 ^ ROTL64(c3, 1);
        d3 = c2 ^ ROTL64(c4, 1);
        d4 = c3 ^ ROTL64(c0, 1);
        /* theta applied, rho and pi: b[y, 2x+3y] = rotl(a[x, y]) */
        b0 = a0 ^ d0;
        b10 = ROTL64(a1 ^ d1, 1);
        b20 = ROTL64(a2 ^ d2, 62);
        b5 = ROTL64(a3 ^ d3, 28);
        b15 = ROTL64(a4 ^ d4, 27);
        b16 = ROTL64(a5 ^ d0, 36);
        b1 = ROTL64(a6 ^ d1, 44);
        b11 = ROTL64(a7 ^ d2, 6);
        b21 = ROTL64(a8 ^ d3, 55);
        b6 = ROTL64(a9 ^ d4, 20);
        b7 = ROTL64(a10 ^ d0, 3);
        b17 = ROTL64(a11 ^ d1, 10);
        b2 = ROTL64(a12 ^ d2, 43);
        b12 = ROTL64(a13 ^ d3, 25);
        b22 = ROTL64(a14 ^ d4, 39);
        b23 = ROTL64(a15 ^ d0, 41);
        b8 = ROTL64(a16 ^ d1, 45);
        b18 = ROTL64(a17 ^ d2, 15);
        b3 = ROTL64(a18 ^ d3, 21);
        b13 = ROTL64(a19 ^ d4, 8);
        b14 = ROTL64(a20 ^ d0, 18);
        b24 = ROTL64(a21 ^ d1, 2);
        b9 = ROTL64(a22 ^ d2, 61);
        b19 = ROTL64(a23 ^ d3, 56);
        b4 = ROTL64(a24 ^ d4, 14);
        /* chi */
        a0 = b0 ^ (~b1 & b2);
        a1 = b1 ^ (~b2 & b3);
        a2 = b2 ^ (~b3 & b4);
        a3 = b3 ^ (~b4 & b0);
        a4 = b4 ^ (~b0 & b1);
        a5 = b5 ^ (~b6 & b7);
        a6 = b6 ^ (~b7 & b8);
        a7 = b7 ^ (~b8 & b9);
        a8 = b8 ^ (~b9 & b5);
        a9 = b9 ^ (~b5 & b6);
        a10 = b10 ^ (~b11 & b12);
        a11 = b11 ^ (~b12 & b13);
        a12 = b12 ^ (~b13 & b14);
        a13 = b13 ^ (~b14 & b10);
        a14 = b14 ^ (~b10 & b11);
        a15 = b15 ^ (~b16 & b17);
        a16 = b16 ^ (~b17 & b18);
        a17 = b17 ^ (~b18 & b19);
        a18 = b18 ^ (~b19 & b15);
        a19 = b19 ^ (~b15 & b16);
        a20 = b20 ^ (~b21 & b22);
        a21 = b21 ^ (~b22 & b23);
        a22 = b22 ^ (~b23 & b24);
        a23 = b23 ^ (~b24 & b20);
        a24 = b24 ^ (~b20 & b21);
        /* iota */
        a0 ^= ROUND_CONSTANTS[round];
    }

    st[0] = a0; st[1] = a1; st[2] = a2; st[3] = a3; st[4] = a4;
    st[5] = a5; st[6] = a6; st[7] = a7; st[8] = a8; st[9] = a9;
    st[10] = a10; st[11] = a11; st[12] = a12; st[13] = a13; st[14] = a14;
    st[15] = a15; st[16] = a16; st[17] = a17; st[18] = a18; st[19] = a19;
    st[20] = a20; st[21] = a21; st[22] = a22; st[23] = a23; st[24] = a24;
}

static uint64_t load_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) | ((uint64_t)p[3] << 24) |
           ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

static void store_le64(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* One-shot sponge; every caller wants at most one rate's worth of output. */
static void sponge(size_t rate, const uint8_t *data, size_t len, uint8_t *out, size_t out_len)
{
    uint64_t st[25];
    uint8_t last[200];
    size_t i, words = rate / 8;

    memset(st, 0, sizeof st);
    while (len >= rate) {
        for (i = 0; i < words; i++)
            st[i] ^= load_le64(data + 8 * i);
        keccak_f1600(st);
        data += rate;
        len -= rate;
    }
    memset(last, 0, rate);
    if (len)
        memcpy(last, data, len);
    last[len] ^= 0x01;     /* Keccak's own padding start (SHA-3 uses 0x06) */
    last[rate - 1] ^= 0x80;
    for (i = 0; i < words; i++)
        st[i] ^= load_le64(last + 8 * i);
    keccak_f1600(st);

    for (i = 0; i < out_len / 8; i++)
        store_le64(out + 8 * i, st[i]);
}

void keccak_256(const uint8_t *data, size_t len, uint8_t out[32])
{
    sponge(136, data, len, out, 32);
}

void keccak_512(const uint8_t *data, size_t len, uint8_t out[64])
{
    sponge(72, data, len, out, 64);
}
