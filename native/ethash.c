/* Ethash, written from the algorithm description (see spec/ethash.md):
 * sizes by prime search, keccak-chained seeds, the RandMemoHash light cache,
 * 256-parent dataset items and 64-access hashimoto.
 *
 * Speed notes.  Computing a dataset item is a chain of 256 dependent random
 * reads from the light cache: each parent's index depends on the mix that
 * the previous parent produced, so a single item runs at memory latency.
 * Independent items have independent chains, so several items are advanced
 * in lockstep (ITEM_LANES of them) and their cache misses overlap; that is
 * what makes full-dataset generation fast enough on two cores.  hashimoto's
 * 64 page reads are dependent too, but the two items of one page are not,
 * so the light path computes each page's two items together.
 */
#include "ethash.h"
#include "keccak.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "ethash.c reads 32-bit little-endian words in place; big-endian hosts are not supported"
#endif

#define FNV_PRIME 0x01000193u
#define CACHE_ROUNDS 3
#define DATASET_PARENTS 256
#define HASHIMOTO_ACCESSES 64
#define ITEM_LANES 16

typedef union {
    uint32_t w[16];
    uint8_t bytes[64];
} item64;

static uint32_t fnv1(uint32_t a, uint32_t b)
{
    return (a * FNV_PRIME) ^ b;
}

static int is_prime(uint32_t n)
{
    uint32_t d;
    if (n < 2)
        return 0;
    if (n < 4)
        return 1;
    if (n % 2 == 0)
        return 0;
    for (d = 3; (uint64_t)d * d <= n; d += 2) {
        if (n % d == 0)
            return 0;
    }
    return 1;
}

uint32_t ethash_largest_prime_at_most(uint32_t n)
{
    while (n >= 2) {
        if (is_prime(n))
            return n;
        n--;
    }
    return 0;
}

uint32_t ethash_light_cache_items(int32_t epoch)
{
    uint64_t upper;
    if (epoch < 0 || epoch > ETHASH_MAX_EPOCH)
        return 0;
    upper = ((uint64_t)1 << 24) + (uint64_t)epoch * ((uint64_t)1 << 17);
    return ethash_largest_prime_at_most((uint32_t)(upper / 64));
}

uint32_t ethash_full_dataset_pages(int32_t epoch)
{
    uint64_t upper;
    if (epoch < 0 || epoch > ETHASH_MAX_EPOCH)
        return 0;
    upper = ((uint64_t)1 << 30) + (uint64_t)epoch * ((uint64_t)1 << 23);
    return ethash_largest_prime_at_most((uint32_t)(upper / 128));
}

void ethash_seed_hash(int32_t epoch, uint8_t out[32])
{
    int32_t i;
    memset(out, 0, 32);
    for (i = 0; i < epoch; i++)
        keccak_256(out, 32, out);
}

void ethash_build_light_cache(const uint8_t seed[32], uint32_t n_items, uint8_t *cache_bytes)
{
    item64 *cache = (item64 *)(void *)cache_bytes;
    uint32_t i;
    int round;

    if (n_items == 0)
        return;
    keccak_512(seed, 32, cache[0].bytes);
    for (i = 1; i < n_items; i++)
        keccak_512(cache[i - 1].bytes, 64, cache[i].bytes);

    for (round = 0; round < CACHE_ROUNDS; round++) {
        for (i = 0; i < n_items; i++) {
            uint32_t v = cache[i].w[0] % n_items;
            uint32_t prev = (i == 0 ? n_items : i) - 1;
            item64 t;
            int k;
            for (k = 0; k < 16; k++)
                t.w[k] = cache[prev].w[k] ^ cache[v].w[k];
            keccak_512(t.bytes, 64, cache[i].bytes);
        }
    }
}

/* Items first, first+1, ..., first+count-1 (count <= ITEM_LANES), advanced
 * together so their parent reads overlap.  Indices wrap modulo 2^32 like
 * the reference, which only matters for out-of-range test indices.
 * The body is compiled twice (see pick_calc_items): the FNV step on 16
 * words is four SSE2 vectors with the multiply done as shifts and adds, or
 * two AVX2 vectors with a real 32-bit vector multiply, about twice as fast. */
#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define ALWAYS_INLINE inline
#endif

static ALWAYS_INLINE void calc_items_body(const item64 *cache, uint32_t n_cache, uint32_t first,
                                          int count, item64 *out)
{
    item64 mix[ITEM_LANES];
    uint32_t index[ITEM_LANES];
    int l, w;
    uint32_t k;

    if (n_cache == 0) { /* no cache: defined all-zero output instead of a division by zero */
        memset(out, 0, (size_t)count * sizeof *out);
        return;
    }
    for (l = 0; l < count; l++) {
        index[l] = first + (uint32_t)l;
        mix[l] = cache[index[l] % n_cache];
        mix[l].w[0] ^= index[l];
        keccak_512(mix[l].bytes, 64, mix[l].bytes);
    }
    for (k = 0; k < DATASET_PARENTS; k++) {
        for (l = 0; l < count; l++) {
            uint32_t parent = fnv1(index[l] ^ k, mix[l].w[k % 16]) % n_cache;
            const item64 *p = &cache[parent];
            for (w = 0; w < 16; w++)
                mix[l].w[w] = fnv1(mix[l].w[w], p->w[w]);
        }
    }
    for (l = 0; l < count; l++)
        keccak_512(mix[l].bytes, 64, out[l].bytes);
}

static void calc_items_generic(const item64 *cache, uint32_t n_cache, uint32_t first, int count,
                               item64 *out)
{
    calc_items_body(cache, n_cache, first, count, out);
}

typedef void (*calc_items_fn)(const item64 *cache, uint32_t n_cache, uint32_t first, int count,
                              item64 *out);

/* Written once, by the load-time constructor below, before any call can run. */
static calc_items_fn calc_items = calc_items_generic;

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
__attribute__((target("avx2")))
static void calc_items_avx2(const item64 *cache, uint32_t n_cache, uint32_t first, int count,
                            item64 *out)
{
    calc_items_body(cache, n_cache, first, count, out);
}

__attribute__((constructor))
static void pick_calc_items(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) /* also checks the OS saves YMM state */
        calc_items = calc_items_avx2;
}
#endif

int ethash_uses_avx2(void)
{
    return calc_items != calc_items_generic;
}

void ethash_dataset_item_64(const uint8_t *cache, uint32_t n_cache, uint32_t index,
                            uint8_t out[64])
{
    item64 item;
    calc_items((const item64 *)(const void *)cache, n_cache, index, 1, &item);
    memcpy(out, item.bytes, 64);
}

void ethash_dataset_page(const uint8_t *cache, uint32_t n_cache, uint32_t page, uint8_t out[128])
{
    item64 items[2];
    calc_items((const item64 *)(const void *)cache, n_cache, page * 2u, 2, items);
    memcpy(out, items[0].bytes, 64);
    memcpy(out + 64, items[1].bytes, 64);
}

void ethash_dataset_page_portable(const uint8_t *cache, uint32_t n_cache, uint32_t page,
                                  uint8_t out[128])
{
    item64 items[2];
    calc_items_generic((const item64 *)(const void *)cache, n_cache, page * 2u, 2, items);
    memcpy(out, items[0].bytes, 64);
    memcpy(out + 64, items[1].bytes, 64);
}

void ethash_generate_dataset(const uint8_t *cache, uint32_t n_cache, uint8_t *dataset,
                             uint32_t start, uint32_t end)
{
    const item64 *c = (const item64 *)(const void *)cache;
    /* 64-bit counters: 2 * end can be 2^32 for the largest epochs */
    uint64_t item = (uint64_t)start * 2, stop = (uint64_t)end * 2;
    item64 batch[ITEM_LANES];

    while (item < stop) {
        int count = stop - item < ITEM_LANES ? (int)(stop - item) : ITEM_LANES;
        calc_items(c, n_cache, (uint32_t)item, count, batch);
        memcpy(dataset + item * 64, batch, (size_t)count * 64);
        item += (uint64_t)count;
    }
}

/* Page lookup strategy for hashimoto: from the full dataset, or recomputed. */
typedef struct {
    const item64 *cache;
    uint32_t n_cache;
    const uint8_t *dataset;
} page_source;

static void get_page(const page_source *src, uint32_t page, uint32_t out[32])
{
    if (src->dataset) {
        memcpy(out, src->dataset + (uint64_t)page * 128, 128);
    } else {
        item64 items[2];
        calc_items(src->cache, src->n_cache, page * 2u, 2, items);
        memcpy(out, items[0].w, 64);
        memcpy(out + 16, items[1].w, 64);
    }
}

static void seed_of(const uint8_t header_hash[32], uint64_t nonce, item64 *s)
{
    uint8_t in[40];
    int i;
    memcpy(in, header_hash, 32);
    for (i = 0; i < 8; i++)
        in[32 + i] = (uint8_t)(nonce >> (8 * i));
    keccak_512(in, 40, s->bytes);
}

static void final_of(const item64 *s, const uint8_t mix_hash[32], uint8_t final_hash[32])
{
    uint8_t in[96];
    memcpy(in, s->bytes, 64);
    memcpy(in + 64, mix_hash, 32);
    keccak_256(in, 96, final_hash);
}

/* hashimoto from the seed s = keccak512(header || nonce_le). */
static void hashimoto_seeded(const page_source *src, uint32_t n_pages, const item64 *seed,
                             uint8_t mix_hash[32], uint8_t final_hash[32])
{
    const item64 s = *seed;
    uint32_t mix[32], page[32];
    union {
        uint32_t w[8];
        uint8_t bytes[32];
    } cmix;
    uint32_t i;
    int w;

    if (n_pages == 0 || (src->dataset == NULL && src->n_cache == 0)) { /* nothing to read */
        memset(mix_hash, 0, 32);
        memset(final_hash, 0, 32);
        return;
    }
    memcpy(mix, s.w, 64);
    memcpy(mix + 16, s.w, 64);
    for (i = 0; i < HASHIMOTO_ACCESSES; i++) {
        uint32_t p = fnv1(i ^ s.w[0], mix[i % 32]) % n_pages;
        get_page(src, p, page);
        for (w = 0; w < 32; w++)
            mix[w] = fnv1(mix[w], page[w]);
    }
    for (w = 0; w < 8; w++)
        cmix.w[w] = fnv1(fnv1(fnv1(mix[4 * w], mix[4 * w + 1]), mix[4 * w + 2]), mix[4 * w + 3]);
    memcpy(mix_hash, cmix.bytes, 32);
    final_of(&s, mix_hash, final_hash);
}

static void hashimoto(const page_source *src, uint32_t n_pages, const uint8_t header_hash[32],
                      uint64_t nonce, uint8_t mix_hash[32], uint8_t final_hash[32])
{
    item64 s;
    seed_of(header_hash, nonce, &s);
    hashimoto_seeded(src, n_pages, &s, mix_hash, final_hash);
}

void ethash_hashimoto_light(const uint8_t *cache, uint32_t n_cache, uint32_t n_pages,
                            const uint8_t header_hash[32], uint64_t nonce,
                            uint8_t mix_hash[32], uint8_t final_hash[32])
{
    page_source src;
    src.cache = (const item64 *)(const void *)cache;
    src.n_cache = n_cache;
    src.dataset = NULL;
    hashimoto(&src, n_pages, header_hash, nonce, mix_hash, final_hash);
}

void ethash_hashimoto_full(const uint8_t *dataset, uint32_t n_pages,
                           const uint8_t header_hash[32], uint64_t nonce,
                           uint8_t mix_hash[32], uint8_t final_hash[32])
{
    page_source src;
    src.cache = NULL;
    src.n_cache = 0;
    src.dataset = dataset;
    hashimoto(&src, n_pages, header_hash, nonce, mix_hash, final_hash);
}

void ethash_final_hash(const uint8_t header_hash[32], uint64_t nonce,
                       const uint8_t mix_hash[32], uint8_t final_hash[32])
{
    item64 s;
    seed_of(header_hash, nonce, &s);
    final_of(&s, mix_hash, final_hash);
}

int ethash_check_share(const uint8_t *cache, uint32_t n_cache, const uint8_t *dataset,
                       uint32_t n_pages, const uint8_t header_hash[32], uint64_t nonce,
                       const uint8_t mix_hash[32], const uint8_t boundary[32])
{
    item64 s;
    page_source src;
    uint8_t final_hash[32], real_mix[32], real_final[32];

    /* cheap first: two keccaks with the claimed mix */
    seed_of(header_hash, nonce, &s);
    final_of(&s, mix_hash, final_hash);
    if (memcmp(final_hash, boundary, 32) > 0)
        return 1;
    src.cache = (const item64 *)(const void *)cache;
    src.n_cache = n_cache;
    src.dataset = dataset;
    hashimoto_seeded(&src, n_pages, &s, real_mix, real_final);
    return memcmp(real_mix, mix_hash, 32) != 0 ? 2 : 0;
}
