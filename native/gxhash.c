/* GXC gxhash and its memory-hard core GA, written from spec/gxhash.md.
 *
 * Section numbers (§) refer to that spec.  Differences from RFC 9106 that
 * matter for bit-exactness are marked "GXC:".
 */
#define _POSIX_C_SOURCE 200112L   /* posix_memalign, pthread */
#if defined(__linux__)
#define _DEFAULT_SOURCE           /* madvise, MADV_HUGEPAGE */
#endif

#include "gxhash.h"
#include "blake2b.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

enum {
    GA_BLOCK_WORDS = 128,
    GA_BLOCK_BYTES = 1024,
    GA_SLICES = 4,
    GA_VERSION = 0x13,
    GA_TYPE_ID = 2,
    GA_H0_TAG_FIELD = 32,       /* GXC: H0 always carries 32, whatever T is */
    GA_POOL_MAX = 64,
    GA_POOL_DEFAULT_LIMIT = 2
};

typedef struct {
    uint64_t w[GA_BLOCK_WORDS];
} ga_block;

/* Geometry derived from the parameters (§4.1). */
typedef struct {
    uint32_t t_cost, m_cost, lanes;
    uint32_t segment_len;       /* SL */
    uint32_t lane_len;          /* LL = 4 * SL */
    size_t nblocks;             /* lanes * LL */
} ga_geometry;

/* Stands in for blocks pass 0 has not written yet: the reference reads
 * them as zeros because it zero-fills its matrix (§4.5).  Using this block
 * instead lets us skip zero-filling 64 MiB on every call. */
static const ga_block ga_zero_block;

/* ------------------------------------------------------------------ */
/* Little-endian helpers                                               */

static void store32_le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void store64_le(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t load64_le(const uint8_t *p)
{
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
           ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) |
           ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

static void block_from_bytes(ga_block *b, const uint8_t *in)
{
    int i;
    for (i = 0; i < GA_BLOCK_WORDS; i++)
        b->w[i] = load64_le(in + 8 * i);
}

static void block_to_bytes(uint8_t *out, const ga_block *b)
{
    int i;
    for (i = 0; i < GA_BLOCK_WORDS; i++)
        store64_le(out + 8 * i, b->w[i]);
}

/* ------------------------------------------------------------------ */
/* Compression (§4.7)                                                  */

static inline uint64_t rotr64(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64 - n));
}

/* BlaMka: a + b + 2 * lo32(a) * lo32(b), modulo 2^64. */
static inline uint64_t blamka(uint64_t a, uint64_t b)
{
    uint64_t m = (uint64_t)(uint32_t)a * (uint32_t)b;
    return a + b + 2 * m;
}

#define GA_GB(a, b, c, d)                   \
    do {                                    \
        a = blamka(a, b);                   \
        d = rotr64(d ^ a, 32);              \
        c = blamka(c, d);                   \
        b = rotr64(b ^ c, 24);              \
        a = blamka(a, b);                   \
        d = rotr64(d ^ a, 16);              \
        c = blamka(c, d);                   \
        b = rotr64(b ^ c, 63);              \
    } while (0)

#define GA_PERM(v0, v1, v2, v3, v4, v5, v6, v7,                     \
                v8, v9, v10, v11, v12, v13, v14, v15)               \
    do {                                                            \
        GA_GB(v0, v4, v8, v12);                                     \
        GA_GB(v1, v5, v9, v13);                                     \
        GA_GB(v2, v6, v10, v14);                                    \
        GA_GB(v3, v7, v11, v15);                                    \
        GA_GB(v0, v5, v10, v15);                                    \
        GA_GB(v1, v6, v11, v12);                                    \
        GA_GB(v2, v7, v8, v13);                                     \
        GA_GB(v3, v4, v9, v14);                                     \
    } while (0)

/* ------------------------------------------------------------------ */
/* Reference selection (§4.6)                                          */

/* The segment being filled: enough to locate any block's reference. */
typedef struct {
    const ga_block *mem;
    const ga_geometry *g;
    uint32_t r, s, l;
    uint64_t start;     /* start of the reference window, u64 as in the spec */
} ga_segment;

/* In pass 0, has block (rl, ri) been written before the step that
 * computes block j of lane l in slice s?  Blocks 0 and 1 of every lane are
 * written first; then slice by slice, lanes ascending, indices ascending. */
static int ga_written_in_pass0(uint32_t s, uint32_t l, uint32_t j,
                               uint32_t rl, uint32_t ri, uint32_t segment_len)
{
    uint32_t rs;
    if (ri < 2)
        return 1;
    rs = ri / segment_len;
    if (rs != s)
        return rs < s;
    if (rl != l)
        return rl < l;
    return ri < j;      /* ri == j: the block being computed, still unwritten */
}

/* REF (§4.6): the block that block j of the segment's lane references,
 * given J = word 0 of its previous block.  GXC: always data-dependent, and
 * the area ignores the position in the segment. */
static const ga_block *ga_reference(const ga_segment *seg, uint32_t j, uint64_t J)
{
    const uint32_t SL = seg->g->segment_len, LL = seg->g->lane_len;
    const uint32_t r = seg->r, s = seg->s, l = seg->l;
    uint32_t J1 = (uint32_t)J, J2 = (uint32_t)(J >> 32);
    uint32_t rl = (r == 0 && s == 0) ? l : J2 % seg->g->lanes;
    uint32_t W;             /* u32, wraps as in the reference */
    uint64_t x, rel;
    uint32_t ri;

    if (r == 0) {
        if (s == 0)
            W = l * SL - (l == 0 ? 0u : 1u);
        else
            W = s * SL + (rl == l ? 0u : l * LL) - 1u;
    } else {
        W = (rl == l) ? LL - SL - 1u : LL - 1u;
    }
    x = ((uint64_t)J1 * J1) >> 32;
    rel = (uint64_t)(uint32_t)(W - 1u) - (((uint64_t)W * x) >> 32);
    ri = (uint32_t)((seg->start + rel) % LL);

    /* Pass 0 may read blocks not written yet: zeros in the reference. */
    if (r == 0 && !ga_written_in_pass0(s, l, j, rl, ri, SL))
        return &ga_zero_block;
    return &seg->mem[(size_t)rl * LL + ri];
}

static inline void ga_prefetch_block(const ga_block *b)
{
#if defined(__GNUC__)
    int i;
    for (i = 0; i < GA_BLOCK_WORDS; i += 8)
        __builtin_prefetch(&b->w[i], 0, 3);
#else
    (void)b;
#endif
}

/* next = COMPRESS(prev, ref), or next ^= COMPRESS(prev, ref) when
 * xor_into is set (passes >= 1).  prev, ref and next may alias: both
 * inputs are consumed before next is written.
 *
 * Word 0 of the result is final after the first column, and it decides
 * the next block's reference.  So when seg is given, that reference
 * (for block next_j) is located there and prefetched while the other
 * seven columns run, hiding most of the random-read latency; it is
 * returned (NULL without seg). */
static const ga_block *ga_fill_block(const ga_block *prev, const ga_block *ref,
                                     ga_block *next, int xor_into,
                                     const ga_segment *seg, uint32_t next_j)
{
    uint64_t r[GA_BLOCK_WORDS], q[GA_BLOCK_WORDS];
    const ga_block *next_ref = NULL;
    int i;

    for (i = 0; i < GA_BLOCK_WORDS; i++)
        q[i] = prev->w[i] ^ ref->w[i];
    memcpy(r, q, sizeof(r));
    if (xor_into)
        for (i = 0; i < GA_BLOCK_WORDS; i++)
            r[i] ^= next->w[i];

    /* Rows: 16 consecutive words (as RFC 9106). */
    for (i = 0; i < 8; i++) {
        uint64_t *v = q + 16 * i;
        GA_PERM(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7],
                v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]);
    }
    /* GXC: columns are single words with stride 8 (RFC uses word pairs). */
    for (i = 0; i < 8; i++) {
        uint64_t *v = q + i;
        GA_PERM(v[0], v[8], v[16], v[24], v[32], v[40], v[48], v[56],
                v[64], v[72], v[80], v[88], v[96], v[104], v[112], v[120]);
        if (i == 0 && seg != NULL) {
            next_ref = ga_reference(seg, next_j, r[0] ^ q[0]);
            ga_prefetch_block(next_ref);
        }
    }

    for (i = 0; i < GA_BLOCK_WORDS; i++)
        next->w[i] = r[i] ^ q[i];
    return next_ref;
}

/* ------------------------------------------------------------------ */
/* Hashing helpers (§4.2, §4.3)                                        */

/* Hx(X, n) with X given as two pieces (avoids concatenation copies).
 * GXC: for n <= 64 there is no LE32(n) prefix. */
static void ga_hx(uint8_t *out, size_t n,
                  const uint8_t *x1, size_t x1len, const uint8_t *x2, size_t x2len)
{
    blake2b_state S;
    uint8_t v[BLAKE2B_OUTBYTES], lenb[4];
    size_t rem;

    if (n <= BLAKE2B_OUTBYTES) {
        blake2b_init(&S, n);
        blake2b_update(&S, x1, x1len);
        blake2b_update(&S, x2, x2len);
        blake2b_final(&S, out);
        return;
    }
    store32_le(lenb, (uint32_t)n);
    blake2b_init(&S, BLAKE2B_OUTBYTES);
    blake2b_update(&S, lenb, 4);
    blake2b_update(&S, x1, x1len);
    blake2b_update(&S, x2, x2len);
    blake2b_final(&S, v);
    memcpy(out, v, 32);
    out += 32;
    rem = n - 32;
    while (rem > BLAKE2B_OUTBYTES) {
        blake2b_hash(v, BLAKE2B_OUTBYTES, v, BLAKE2B_OUTBYTES);
        memcpy(out, v, 32);
        out += 32;
        rem -= 32;
    }
    blake2b_hash(v, rem, v, BLAKE2B_OUTBYTES);
    memcpy(out, v, rem);
}

static void update_le32(blake2b_state *S, uint32_t v)
{
    uint8_t b[4];
    store32_le(b, v);
    blake2b_update(S, b, 4);
}

/* H0 (§4.2).  The password is pwd || pwd_tail, so gxhash can append the
 * nonce without copying the data. */
static void ga_h0(uint8_t h0[BLAKE2B_OUTBYTES], const ga_geometry *g,
                  const uint8_t *pwd, size_t pwdlen,
                  const uint8_t *pwd_tail, size_t taillen,
                  const uint8_t *salt, size_t saltlen)
{
    blake2b_state S;
    blake2b_init(&S, BLAKE2B_OUTBYTES);
    update_le32(&S, g->lanes);
    update_le32(&S, GA_H0_TAG_FIELD);
    update_le32(&S, g->m_cost);
    update_le32(&S, g->t_cost);
    update_le32(&S, GA_VERSION);
    update_le32(&S, GA_TYPE_ID);
    update_le32(&S, (uint32_t)(pwdlen + taillen));
    blake2b_update(&S, pwd, pwdlen);
    blake2b_update(&S, pwd_tail, taillen);
    update_le32(&S, (uint32_t)saltlen);
    blake2b_update(&S, salt, saltlen);
    update_le32(&S, 0);     /* secret: empty */
    update_le32(&S, 0);     /* associated data: empty */
    blake2b_final(&S, h0);
}

/* ------------------------------------------------------------------ */
/* Fill (§4.4 - §4.6)                                                  */

static void ga_first_blocks(ga_block *mem, const ga_geometry *g, const uint8_t h0[64])
{
    uint8_t suffix[8], bytes[GA_BLOCK_BYTES];
    uint32_t l, k;

    for (l = 0; l < g->lanes; l++) {
        for (k = 0; k < 2; k++) {
            store32_le(suffix, k);
            store32_le(suffix + 4, l);
            ga_hx(bytes, GA_BLOCK_BYTES, h0, BLAKE2B_OUTBYTES, suffix, 8);
            block_from_bytes(&mem[(size_t)l * g->lane_len + k], bytes);
        }
    }
}

/* One segment (lane l, slice s) of pass r, in order. */
static void ga_fill_segment(ga_block *mem, const ga_geometry *g,
                            uint32_t r, uint32_t s, uint32_t l)
{
    const uint32_t SL = g->segment_len, LL = g->lane_len;
    ga_block *lane = mem + (size_t)l * LL;
    uint32_t i = (r == 0 && s == 0) ? 2 : 0;
    ga_segment seg;
    const ga_block *ref;

    if (i >= SL)
        return;     /* SL == 2: pass 0 slice 0 computes nothing */
    seg.mem = mem;
    seg.g = g;
    seg.r = r;
    seg.s = s;
    seg.l = l;
    seg.start = (r == 0) ? 0 : (uint64_t)((s + 1) % GA_SLICES) * SL;

    {
        uint32_t j = s * SL + i;
        ref = ga_reference(&seg, j, lane[j == 0 ? LL - 1 : j - 1].w[0]);
    }
    for (; i < SL; i++) {
        uint32_t j = s * SL + i;
        uint32_t prev = (j == 0) ? LL - 1 : j - 1;
        /* The last block of the segment has no successor here. */
        ref = ga_fill_block(&lane[prev], ref, &lane[j], r != 0,
                            i + 1 < SL ? &seg : NULL, j + 1);
    }
}

static void ga_fill(ga_block *mem, const ga_geometry *g, uint32_t passes)
{
    uint32_t r, s, l;
    /* GXC: strictly sequential, slice-major then lane-ascending (§4.5). */
    for (r = 0; r < passes; r++)
        for (s = 0; s < GA_SLICES; s++)
            for (l = 0; l < g->lanes; l++)
                ga_fill_segment(mem, g, r, s, l);
}

/* §4.8: tag = Hx(XOR of the last block of every lane, T). */
static void ga_finalize(const ga_block *mem, const ga_geometry *g, uint8_t *out, size_t outlen)
{
    ga_block f;
    uint8_t bytes[GA_BLOCK_BYTES];
    uint32_t l;
    int i;

    f = mem[g->lane_len - 1];
    for (l = 1; l < g->lanes; l++) {
        const ga_block *b = &mem[(size_t)l * g->lane_len + g->lane_len - 1];
        for (i = 0; i < GA_BLOCK_WORDS; i++)
            f.w[i] ^= b->w[i];
    }
    block_to_bytes(bytes, &f);
    ga_hx(out, outlen, bytes, GA_BLOCK_BYTES, NULL, 0);
}

/* ------------------------------------------------------------------ */
/* Memory: aligned matrices, recycled for the gxhash size              */

static const size_t ga_pool_bytes = (size_t)GXHASH_M_COST_KIB * 1024u;
static pthread_mutex_t ga_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static void *ga_pool[GA_POOL_MAX];
static unsigned ga_pool_count;
static unsigned ga_pool_limit = GA_POOL_DEFAULT_LIMIT;

static void *ga_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == ga_pool_bytes) {
        pthread_mutex_lock(&ga_pool_lock);
        if (ga_pool_count > 0)
            p = ga_pool[--ga_pool_count];
        pthread_mutex_unlock(&ga_pool_lock);
        if (p != NULL)
            return p;
    }
    /* Big matrices are aligned for 2 MiB pages (fewer TLB misses on the
     * random reference reads: about 8% faster per hash here); small ones on
     * a cache line so each block spans exactly 16 lines. */
    if (posix_memalign(&p, bytes >= ((size_t)2 << 20) ? ((size_t)2 << 20) : 64, bytes) != 0)
        return NULL;
#if defined(MADV_HUGEPAGE)
    if (bytes >= ((size_t)2 << 20))
        (void)madvise(p, bytes, MADV_HUGEPAGE);   /* advice only: failure is harmless */
#endif
    return p;
}

static void ga_release(void *p, size_t bytes)
{
    if (p == NULL)
        return;
    if (bytes == ga_pool_bytes) {
        int kept = 0;
        pthread_mutex_lock(&ga_pool_lock);
        if (ga_pool_count < ga_pool_limit) {
            ga_pool[ga_pool_count++] = p;
            kept = 1;
        }
        pthread_mutex_unlock(&ga_pool_lock);
        if (kept)
            return;
    }
    free(p);
}

void gxhash_pool_set_limit(unsigned limit)
{
    void *surplus[GA_POOL_MAX];
    unsigned n = 0, i;

    if (limit > GA_POOL_MAX)
        limit = GA_POOL_MAX;
    pthread_mutex_lock(&ga_pool_lock);
    ga_pool_limit = limit;
    while (ga_pool_count > limit)
        surplus[n++] = ga_pool[--ga_pool_count];
    pthread_mutex_unlock(&ga_pool_lock);
    for (i = 0; i < n; i++)
        free(surplus[i]);
}

unsigned gxhash_pool_idle(void)
{
    unsigned n;
    pthread_mutex_lock(&ga_pool_lock);
    n = ga_pool_count;
    pthread_mutex_unlock(&ga_pool_lock);
    return n;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */

/* §4.1 checks, in the reference's order, plus this API's own limits. */
static int ga_setup(ga_geometry *g, size_t pwdlen, size_t saltlen,
                    uint32_t t_cost, uint32_t m_cost, uint32_t lanes, size_t outlen)
{
    uint64_t nblocks;

    if ((uint64_t)m_cost < 8 * (uint64_t)lanes)
        return GXHASH_ERR_MEMORY_TOO_SMALL;
    if (t_cost < 1)
        return GXHASH_ERR_TIME_TOO_SMALL;
    if (lanes < 1)
        return GXHASH_ERR_LANES_TOO_SMALL;
    if (outlen < 1 || (uint64_t)outlen > 0xFFFFFFFFu)
        return GXHASH_ERR_OUTLEN;
    if ((uint64_t)pwdlen > 0xFFFFFFFFu || (uint64_t)saltlen > 0xFFFFFFFFu)
        return GXHASH_ERR_INPUT_TOO_LONG;

    g->t_cost = t_cost;
    g->m_cost = m_cost;
    g->lanes = lanes;
    g->segment_len = m_cost / (4 * lanes);    /* 4 * lanes <= m_cost / 2: no overflow */
    g->lane_len = 4 * g->segment_len;
    nblocks = (uint64_t)lanes * g->lane_len;
    if (nblocks > (uint64_t)(SIZE_MAX / GA_BLOCK_BYTES))
        return GXHASH_ERR_MEMORY_TOO_LARGE;
    g->nblocks = (size_t)nblocks;
    return GXHASH_OK;
}

/* Runs GA up to `passes` passes.  With out != NULL writes the tag; with
 * dump != NULL copies the matrix instead. */
static int ga_run(const uint8_t *pwd, size_t pwdlen, const uint8_t *tail, size_t taillen,
                  const uint8_t *salt, size_t saltlen,
                  uint32_t t_cost, uint32_t m_cost, uint32_t lanes, uint32_t passes,
                  uint8_t *out, size_t outlen, uint8_t *dump, size_t dumplen)
{
    ga_geometry g;
    uint8_t h0[BLAKE2B_OUTBYTES];
    ga_block *mem;
    size_t bytes;
    int rc;

    if ((pwd == NULL && pwdlen > 0) || (salt == NULL && saltlen > 0) ||
        (out == NULL && dump == NULL))
        return GXHASH_ERR_NULL_POINTER;
    if (pwdlen > SIZE_MAX - taillen)
        return GXHASH_ERR_INPUT_TOO_LONG;
    rc = ga_setup(&g, pwdlen + taillen, saltlen, t_cost, m_cost, lanes,
                  out != NULL ? outlen : 32);
    if (rc != GXHASH_OK)
        return rc;
    bytes = g.nblocks * GA_BLOCK_BYTES;
    if (dump != NULL && (dumplen != bytes || passes > t_cost))
        return GXHASH_ERR_BAD_BUFFER;

    mem = (ga_block *)ga_alloc(bytes);
    if (mem == NULL)
        return GXHASH_ERR_NO_MEMORY;

    ga_h0(h0, &g, pwd, pwdlen, tail, taillen, salt, saltlen);
    ga_first_blocks(mem, &g, h0);
    ga_fill(mem, &g, passes);
    if (dump != NULL) {
        size_t b;
        /* Blocks pass 0 has not reached yet read as zeros, as in the
         * reference's zero-filled matrix. */
        for (b = 0; b < g.nblocks; b++) {
            uint32_t j = (uint32_t)(b % g.lane_len);
            const ga_block *src = &mem[b];
            if (passes == 0 && j >= 2)
                src = &ga_zero_block;
            block_to_bytes(dump + b * GA_BLOCK_BYTES, src);
        }
    } else {
        ga_finalize(mem, &g, out, outlen);
    }
    ga_release(mem, bytes);
    return GXHASH_OK;
}

int gxhash_ga(const uint8_t *pwd, size_t pwdlen, const uint8_t *salt, size_t saltlen,
              uint32_t t_cost, uint32_t m_cost_kib, uint32_t lanes,
              uint8_t *out, size_t outlen)
{
    if (out == NULL)
        return GXHASH_ERR_NULL_POINTER;
    return ga_run(pwd, pwdlen, NULL, 0, salt, saltlen, t_cost, m_cost_kib, lanes,
                  t_cost, out, outlen, NULL, 0);
}

int gxhash_ga_memory(const uint8_t *pwd, size_t pwdlen, const uint8_t *salt, size_t saltlen,
                     uint32_t t_cost, uint32_t m_cost_kib, uint32_t lanes,
                     uint32_t passes, uint8_t *memory_out, size_t memory_out_len)
{
    if (memory_out == NULL)
        return GXHASH_ERR_NULL_POINTER;
    return ga_run(pwd, pwdlen, NULL, 0, salt, saltlen, t_cost, m_cost_kib, lanes,
                  passes, NULL, 0, memory_out, memory_out_len);
}

int gxhash_hash(const uint8_t *data, size_t datalen, uint64_t nonce, uint8_t *out)
{
    uint8_t salt[16], nonce_le[8];

    if (out == NULL || (data == NULL && datalen > 0))
        return GXHASH_ERR_NULL_POINTER;
    /* §3: salt from the data alone; the nonce goes only into the password. */
    blake2b_hash(salt, sizeof(salt), data, datalen);
    store64_le(nonce_le, nonce);
    return ga_run(data, datalen, nonce_le, sizeof(nonce_le), salt, sizeof(salt),
                  GXHASH_T_COST, GXHASH_M_COST_KIB, GXHASH_LANES, GXHASH_T_COST,
                  out, GXHASH_OUTBYTES, NULL, 0);
}

const char *gxhash_strerror(int code)
{
    switch (code) {
    case GXHASH_OK: return "ok";
    case GXHASH_ERR_MEMORY_TOO_SMALL: return "memory cost too small (m_cost_kib < 8 * lanes)";
    case GXHASH_ERR_TIME_TOO_SMALL: return "time cost too small (t_cost < 1)";
    case GXHASH_ERR_LANES_TOO_SMALL: return "parallelism too small (lanes < 1)";
    case GXHASH_ERR_OUTLEN: return "output length must be 1..4294967295 bytes";
    case GXHASH_ERR_INPUT_TOO_LONG: return "password or salt longer than 4294967295 bytes";
    case GXHASH_ERR_MEMORY_TOO_LARGE: return "memory cost does not fit in this address space";
    case GXHASH_ERR_NULL_POINTER: return "NULL buffer with a non-zero length";
    case GXHASH_ERR_NO_MEMORY: return "out of memory allocating the block matrix";
    case GXHASH_ERR_BAD_BUFFER: return "memory dump buffer has the wrong size or pass count";
    default: return "unknown gxhash error";
    }
}
