/* Keccak-f[1600] and the original Keccak-256 / Keccak-512 hashes as used by
 * Ethereum and Ethash: padding byte 0x01 (pad10*1), NOT FIPS-202 SHA-3's 0x06.
 * Reentrant; no global mutable state.
 */
#ifndef GXC_KECCAK_H
#define GXC_KECCAK_H

#include <stddef.h>
#include <stdint.h>

/* The permutation, 24 rounds, on 25 lanes indexed x + 5*y. */
void keccak_f1600(uint64_t state[25]);

/* out = Keccak-256(data) (rate 136 bytes).  data may be NULL when len is 0. */
void keccak_256(const uint8_t *data, size_t len, uint8_t out[32]);

/* out = Keccak-512(data) (rate 72 bytes). */
void keccak_512(const uint8_t *data, size_t len, uint8_t out[64]);

#endif
