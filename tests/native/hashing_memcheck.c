/* Memory-safety harness for native/sha256.c, native/keccak.c and
 * native/ethash.c; not part of the shipped build.  Every input lives in a
 * malloc block of exactly its length, so an over-read is caught; covers
 * empty/NULL inputs, block-boundary lengths, the nonce limit of the scan
 * loop, out-of-range epochs, extreme item indices, tiny and real caches, the
 * full-dataset path and concurrent hashing on one cache.
 *
 * Run (from the repository root):
 *   gcc -std=c99 -O1 -g -Wall -Wextra -pthread -Inative native/sha256.c native/keccak.c native/ethash.c tests/native/hashing_memcheck.c -o /tmp/hashing_memcheck && valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=1 /tmp/hashing_memcheck
 * or add -fsanitize=address,undefined -fno-sanitize-recover=all and run it directly.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ethash.h"
#include "keccak.h"
#include "sha256.h"

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL: %s\n", what);
        failures++;
    }
}

static void check_hex(const uint8_t *b, size_t n, const char *expected, const char *what)
{
    char hex[2 * 64 + 1];
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", b[i]);
    check(strcmp(hex, expected) == 0, what);
}

static void from_hex(uint8_t *out, const char *hex)
{
    size_t i, n = strlen(hex) / 2;
    for (i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

/* A heap block of exactly len bytes (NULL for 0) filled with a pattern. */
static uint8_t *exact(size_t len)
{
    uint8_t *p;
    size_t i;
    if (len == 0)
        return NULL;
    p = malloc(len);
    for (i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 31 + 7);
    return p;
}

static const size_t LENGTHS[] = {0, 1, 3, 55, 56, 63, 64, 65, 71, 72, 73, 80, 119, 120,
                                 127, 128, 135, 136, 137, 1000, 1 << 20};

static void test_sha256(void)
{
    uint8_t out[32], header[80], out2[32], *abc = exact(3);
    size_t i;
    memcpy(abc, "abc", 3);
    sha256_hash(abc, 3, out);
    check_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256(abc)");
    sha256_hash_portable(abc, 3, out);
    check_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "portable sha256(abc)");
    sha256_double(NULL, 0, out);
    check_hex(out, 32, "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456", "sha256d('')");
    free(abc);

    for (i = 0; i < sizeof LENGTHS / sizeof LENGTHS[0]; i++) {
        uint8_t *d = exact(LENGTHS[i]);
        sha256_hash(d, LENGTHS[i], out);
        sha256_hash_portable(d, LENGTHS[i], out2);
        check(memcmp(out, out2, 32) == 0, "dispatched == portable");
        sha256_double(d, LENGTHS[i], out);
        free(d);
    }

    {   /* merkle: no siblings, then three in an exact block */
        uint8_t *first = exact(32), *branch = exact(96);
        sha256_merkle_root(first, NULL, 0, out);
        check(memcmp(out, first, 32) == 0, "empty branch keeps the txid");
        sha256_merkle_root(first, branch, 3, out);
        free(first);
        free(branch);
    }

    {   /* genesis header from its fields */
        uint8_t *prev = exact(32), *root = exact(32);
        memset(prev, 0, 32);
        from_hex(root, "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a");
        sha256_stratum_header_hash(1, prev, root, 1231006505, 0x1d00ffff, 2083236893, header, out);
        check_hex(out, 32, "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000", "genesis hash");
        sha256_stratum_header_hash(1, prev, root, 1231006505, 0x1d00ffff, 2083236893, NULL, out2);
        check(memcmp(out, out2, 32) == 0, "header_out may be NULL");

        {
            uint8_t *prefix = exact(76), *target = exact(32), found_hash[32];
            uint32_t nonce = 0;
            uint64_t tried = 0;
            memcpy(prefix, header, 76);
            memset(target, 0, 32);
            target[27] = 0xff; /* 0x00000000ffff... little-endian: bytes 26, 27 */
            target[26] = 0xff;
            check(sha256_scan(prefix, 2083236893u - 100, 200, target, &nonce, found_hash, &tried) == 1,
                  "scan finds the genesis nonce");
            check(nonce == 2083236893u && tried == 101, "scan nonce and count");
            check(sha256_scan(prefix, 0xfffffff0u, 1000, target, &nonce, found_hash, &tried) == 0,
                  "scan stops at 2^32-1");
            check(tried == 16, "scan tried up to the limit");
            check(sha256_scan(prefix, 5, 0, target, &nonce, found_hash, NULL) == 0, "scan count 0");
            free(prefix);
            free(target);
        }
        free(prev);
        free(root);
    }
}

static void test_keccak(void)
{
    uint8_t out[64];
    uint64_t st[25];
    size_t i;
    keccak_256(NULL, 0, out);
    check_hex(out, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470", "keccak256('')");
    keccak_512(NULL, 0, out);
    check_hex(out, 8, "0eab42de4c3ceb92", "keccak512('') prefix");
    for (i = 0; i < sizeof LENGTHS / sizeof LENGTHS[0]; i++) {
        uint8_t *d = exact(LENGTHS[i]);
        keccak_256(d, LENGTHS[i], out);
        keccak_512(d, LENGTHS[i], out);
        free(d);
    }
    memset(st, 0, sizeof st);
    keccak_f1600(st);
    check(st[0] == 0xf1258f7940e1dde7ULL, "keccak-f of zero state");
}

struct job {
    const uint8_t *cache;
    uint32_t items, pages;
    uint8_t mix[32];
};

static void *hash_job(void *arg)
{
    struct job *j = arg;
    uint8_t header[32], fin[32];
    int n;
    memset(header, 0x2a, 32);
    for (n = 0; n < 50; n++)
        ethash_hashimoto_light(j->cache, j->items, j->pages, header, (uint64_t)n, j->mix, fin);
    return NULL;
}

static void test_ethash(void)
{
    uint8_t seed[32], out[128], mix[32], fin[32], mix2[32], fin2[32];
    uint8_t *header = exact(32), *boundary = exact(32);
    uint32_t items = 257, pages = 1031, i;
    uint8_t *cache, *dataset;

    check(ethash_light_cache_items(-1) == 0 && ethash_light_cache_items(32640) == 0, "cache items out of range");
    check(ethash_full_dataset_pages(-1) == 0 && ethash_full_dataset_pages(32640) == 0, "pages out of range");
    check(ethash_light_cache_items(0) == 262139 && ethash_full_dataset_pages(0) == 8388593, "epoch 0 sizes");
    check(ethash_full_dataset_pages(32639) > 0, "largest epoch has pages");
    check(ethash_largest_prime_at_most(1) == 0 && ethash_largest_prime_at_most(0xffffffffu) == 4294967291u,
          "prime search edges");
    ethash_seed_hash(0, seed);
    ethash_seed_hash(1, seed);
    check_hex(seed, 32, "290decd9548b62a8d60345a988386fc84ba6bc95484008f6362f93160ef3e563", "seed 1");

    /* zero sizes: zero output, no crash */
    ethash_dataset_page(seed, 0, 5, out);
    check(out[0] == 0 && out[127] == 0, "n_cache 0 gives zeros");
    ethash_hashimoto_light(seed, 0, 0, seed, 1, mix, fin);
    ethash_hashimoto_full(NULL, 0, seed, 1, mix, fin);
    check(fin[0] == 0 && mix[31] == 0, "n_pages 0 gives zeros");

    /* tiny caches, including a single item */
    cache = exact(64);
    ethash_build_light_cache(seed, 1, cache);
    ethash_dataset_item_64(cache, 1, 0xffffffffu, out);
    free(cache);

    cache = exact(64 * (size_t)items);
    ethash_build_light_cache(seed, items, cache);
    ethash_dataset_item_64(cache, items, 0, out);
    ethash_dataset_item_64(cache, items, 0xffffffffu, out);
    ethash_dataset_page(cache, items, 0x7fffffffu, out);
    {
        uint8_t generic[128];
        ethash_dataset_page_portable(cache, items, 0x7fffffffu, generic);
        check(memcmp(out, generic, 128) == 0, "generic page == dispatched page");
    }

    dataset = exact(128 * (size_t)pages);
    ethash_generate_dataset(cache, items, dataset, 0, pages / 2);
    ethash_generate_dataset(cache, items, dataset, pages / 2, pages);
    ethash_generate_dataset(cache, items, dataset, pages, pages); /* empty range */
    for (i = 0; i < pages; i += 97) {
        ethash_dataset_page(cache, items, i, out);
        check(memcmp(out, dataset + 128 * (size_t)i, 128) == 0, "generated page == computed page");
    }
    for (i = 0; i < 20; i++) {
        ethash_hashimoto_light(cache, items, pages, header, (uint64_t)i * 0x9e3779b97f4a7c15ULL, mix, fin);
        ethash_hashimoto_full(dataset, pages, header, (uint64_t)i * 0x9e3779b97f4a7c15ULL, mix2, fin2);
        check(memcmp(mix, mix2, 32) == 0 && memcmp(fin, fin2, 32) == 0, "full == light");
    }
    ethash_final_hash(header, 0xffffffffffffffffULL, mix, fin);
    memset(boundary, 0xff, 32);
    ethash_hashimoto_full(dataset, pages, header, 7, mix, fin);
    check(ethash_check_share(NULL, 0, dataset, pages, header, 7, mix, boundary) == 0, "full check ok");
    check(ethash_check_share(cache, items, NULL, pages, header, 7, mix, boundary) == 0, "light check ok");
    mix[31] ^= 1;
    check(ethash_check_share(NULL, 0, dataset, pages, header, 7, mix, boundary) == 2, "bad mix");
    mix[31] ^= 1;
    memset(boundary, 0, 32);
    check(ethash_check_share(cache, items, NULL, pages, header, 7, mix, boundary) == 1, "above boundary");

    {   /* two threads on one cache */
        pthread_t t[2];
        struct job jobs[2];
        for (i = 0; i < 2; i++) {
            jobs[i].cache = cache;
            jobs[i].items = items;
            jobs[i].pages = pages;
            pthread_create(&t[i], NULL, hash_job, &jobs[i]);
        }
        for (i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        check(memcmp(jobs[0].mix, jobs[1].mix, 32) == 0, "threads agree");
    }
    free(dataset);
    free(cache);

    /* the real epoch-0 cache and the classic block-0 vector */
    items = ethash_light_cache_items(0);
    cache = malloc(64 * (size_t)items);
    ethash_seed_hash(0, seed);
    ethash_build_light_cache(seed, items, cache);
    from_hex(header, "2a8de2adf89af77358250bf908bf04ba94a6e8c3ba87775564a41d269a05e4ce");
    ethash_hashimoto_light(cache, items, ethash_full_dataset_pages(0), header, 0x4242424242424242ULL, mix, fin);
    check_hex(mix, 32, "58f759ede17a706c93f13030328bcea40c1d1341fb26f2facd21ceb0dae57017", "block 0 mix");
    check_hex(fin, 32, "dd47fd2d98db51078356852d7c4014e6a5d6c387c35f40e2875b74a256ed7906", "block 0 final");
    free(cache);
    free(header);
    free(boundary);
}

int main(void)
{
    printf("sha256 uses CPU SHA extensions: %d; ethash items use AVX2: %d\n",
           sha256_uses_cpu_extensions(), ethash_uses_avx2());
    test_sha256();
    test_keccak();
    test_ethash();
    printf("%s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
