/* Ethash (Ethereum proof of work): epoch parameters, light cache, dataset
 * items, hashimoto over the light cache or over a full dataset (DAG).
 *
 * Memory is always the caller's: the light cache (64 bytes per item) and the
 * dataset (128 bytes per page) are buffers passed in, so Python owns their
 * lifetime (cffi arrays or memory-mapped files) and C never allocates.  All
 * functions are reentrant and only read the cache/dataset they are given,
 * so any number of threads may hash against the same buffers at once.
 *
 * Sizes of 0 (n_cache, n_pages) are never valid; they give all-zero
 * outputs instead of a crash.
 *
 * Item indices: "page" = the 128-byte unit hashimoto reads (index p in
 * [0, full_pages)); a page is the two 64-byte dataset items 2p and 2p+1.
 */
#ifndef GXC_ETHASH_H
#define GXC_ETHASH_H

#include <stddef.h>
#include <stdint.h>

#define ETHASH_EPOCH_LENGTH 30000
#define ETHASH_MAX_EPOCH 32639

/* Number of 64-byte light cache items for an epoch; 0 if the epoch is
 * outside [0, ETHASH_MAX_EPOCH]. */
uint32_t ethash_light_cache_items(int32_t epoch);

/* Number of 128-byte dataset pages for an epoch; 0 if out of range. */
uint32_t ethash_full_dataset_pages(int32_t epoch);

/* Largest prime <= n (0 if there is none); exposed for tests. */
uint32_t ethash_largest_prime_at_most(uint32_t n);

/* seed(0) = 32 zero bytes, seed(e+1) = keccak256(seed(e)).  epoch >= 0. */
void ethash_seed_hash(int32_t epoch, uint8_t out[32]);

/* Fill cache (64 * n_items bytes) from a seed; n_items >= 1. */
void ethash_build_light_cache(const uint8_t seed[32], uint32_t n_items, uint8_t *cache);

/* One 64-byte dataset item, any 32-bit index (n_cache >= 1). */
void ethash_dataset_item_64(const uint8_t *cache, uint32_t n_cache, uint32_t index,
                            uint8_t out[64]);

/* One 128-byte page (items 2*page and 2*page+1); page < 2^31. */
void ethash_dataset_page(const uint8_t *cache, uint32_t n_cache, uint32_t page,
                         uint8_t out[128]);

/* ethash_dataset_page forced onto the generic (non-AVX2) code, so tests
 * cover both paths on any CPU. */
void ethash_dataset_page_portable(const uint8_t *cache, uint32_t n_cache, uint32_t page,
                                  uint8_t out[128]);

/* Compute pages [start, end) into dataset + 128*p (dataset is the base of
 * the whole buffer).  Disjoint ranges may run in parallel threads. */
void ethash_generate_dataset(const uint8_t *cache, uint32_t n_cache, uint8_t *dataset,
                             uint32_t start, uint32_t end);

/* hashimoto with pages recomputed from the light cache. */
void ethash_hashimoto_light(const uint8_t *cache, uint32_t n_cache, uint32_t n_pages,
                            const uint8_t header_hash[32], uint64_t nonce,
                            uint8_t mix_hash[32], uint8_t final_hash[32]);

/* hashimoto reading pages from a full dataset of n_pages pages. */
void ethash_hashimoto_full(const uint8_t *dataset, uint32_t n_pages,
                           const uint8_t header_hash[32], uint64_t nonce,
                           uint8_t mix_hash[32], uint8_t final_hash[32]);

/* final = keccak256(keccak512(header || nonce_le) || mix): the cheap first
 * check of a share, using the mix the miner claims. */
void ethash_final_hash(const uint8_t header_hash[32], uint64_t nonce,
                       const uint8_t mix_hash[32], uint8_t final_hash[32]);

/* 1 if dataset items use the AVX2 code path on this CPU (for benchmarks). */
int ethash_uses_avx2(void);

/* A share check in chfast's order, in one call: 0 = valid, 1 = the final
 * hash from the claimed mix is above the boundary (32 bytes, big-endian),
 * 2 = the claimed mix is wrong.  With dataset != NULL the pages come from
 * it (full mode; cache may be NULL), else from the light cache. */
int ethash_check_share(const uint8_t *cache, uint32_t n_cache, const uint8_t *dataset,
                       uint32_t n_pages, const uint8_t header_hash[32], uint64_t nonce,
                       const uint8_t mix_hash[32], const uint8_t boundary[32]);

#endif
