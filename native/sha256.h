/* SHA-256 for the sha256d (Bitcoin) share path and the reference CPU miner.
 *
 * Byte strings are plain uint8_t arrays.  Hashes come out in "internal"
 * order (the raw digest bytes), the order Bitcoin headers and merkle trees
 * use; display order is the reverse and is the caller's business.
 *
 * Every function is reentrant: no global mutable state (the CPU feature
 * probe runs once when the library is loaded).
 */
#ifndef GXC_SHA256_H
#define GXC_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* out = SHA-256(data[0..len)).  data may be NULL when len is 0. */
void sha256_hash(const uint8_t *data, size_t len, uint8_t out[32]);

/* out = SHA-256(SHA-256(data)), Bitcoin's sha256d. */
void sha256_double(const uint8_t *data, size_t len, uint8_t out[32]);

/* Fold a coinbase txid up a stratum merkle branch:
 * root = txid; for each 32-byte sibling s: root = sha256d(root || s).
 * branch holds branch_count siblings back to back (internal order). */
void sha256_merkle_root(const uint8_t coinbase_hash[32], const uint8_t *branch,
                        size_t branch_count, uint8_t out[32]);

/* Rebuild the 80-byte Bitcoin header from stratum fields and hash it.
 * version/ntime/nbits/nonce are the integers (the hex in mining.notify /
 * mining.submit is their big-endian rendering); prevhash_stratum is the 32
 * bytes of mining.notify's prevhash hex (every 4-byte word byte-reversed);
 * merkle_root is in internal order.  header_out may be NULL. */
void sha256_stratum_header_hash(uint32_t version, const uint8_t prevhash_stratum[32],
                                const uint8_t merkle_root[32], uint32_t ntime,
                                uint32_t nbits, uint32_t nonce,
                                uint8_t header_out[80], uint8_t hash_out[32]);

/* Miner inner loop.  header76 = the first 76 bytes of the header (nonce
 * excluded).  Tries nonces nonce_start, nonce_start+1, ... (count of them,
 * stopping at 0xffffffff, never wrapping) and returns 1 with *nonce_out and
 * hash_out (internal order) set for the first whose sha256d, read as a
 * little-endian 256-bit integer, is <= target_le (32 bytes, little-endian).
 * Returns 0 if none; *tried_out (if not NULL) gets the number of nonces
 * hashed either way. */
int sha256_scan(const uint8_t header76[76], uint32_t nonce_start, uint64_t count,
                const uint8_t target_le[32], uint32_t *nonce_out, uint8_t hash_out[32],
                uint64_t *tried_out);

/* sha256_hash forced onto the portable code, so tests cover it on CPUs
 * that have SHA extensions too. */
void sha256_hash_portable(const uint8_t *data, size_t len, uint8_t out[32]);

/* 1 if this build uses the CPU's SHA extensions, else 0 (for benchmarks). */
int sha256_uses_cpu_extensions(void);

#endif
