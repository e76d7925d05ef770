/* Memory-safety harness for native/blake2b.c and native/gxhash.c; not part
 * of the shipped build.  Exercises edge inputs, small GA parameters, every
 * error path, the matrix pool and two concurrent full gxhash calls.
 *
 * Run (from the repository root):
 *   gcc -std=c99 -O1 -g -Wall -Wextra -pthread -Inative native/blake2b.c native/gxhash.c tests/native/gxhash_memcheck.c -o /tmp/gxhash_memcheck && valgrind --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=1 /tmp/gxhash_memcheck
 * or build with -fsanitize=address,undefined and run with
 *   ASAN_OPTIONS=allocator_may_return_null=1 (the harness asks for 4 TiB on purpose).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blake2b.h"
#include "gxhash.h"

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL: %s\n", what);
        failures++;
    }
}

static void to_hex(char *hex, const uint8_t *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", b[i]);
}

static void check_hex(const uint8_t *b, size_t n, const char *expected, const char *what)
{
    char hex[2 * 128 + 1];
    to_hex(hex, b, n);
    check(strcmp(hex, expected) == 0, what);
}

static void blake2b_edges(void)
{
    static uint8_t data[(1 << 20) + 3];
    uint8_t one[64], inc[64];
    size_t len, out, i;
    blake2b_state S;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31 + 7);
    /* Incremental in odd chunks must equal one-shot, for many lengths. */
    for (len = 0; len <= 600; len += 7) {
        for (out = 1; out <= 64; out += 21) {
            size_t pos = 0, step = 1;
            blake2b_hash(one, out, data, len);
            blake2b_init(&S, out);
            while (pos < len) {
                size_t take = len - pos < step ? len - pos : step;
                blake2b_update(&S, data + pos, take);
                pos += take;
                step = step * 3 % 257 + 1;
            }
            blake2b_final(&S, inc);
            check(memcmp(one, inc, out) == 0, "blake2b incremental == one-shot");
        }
    }
    check(blake2b_hash(one, 64, data, sizeof(data)) == 0, "blake2b 1 MiB");
    check(blake2b_hash(one, 64, NULL, 0) == 0, "blake2b empty NULL");
    check(blake2b_hash(one, 0, data, 1) == -1, "blake2b outlen 0");
    check(blake2b_hash(one, 65, data, 1) == -1, "blake2b outlen 65");
    check(blake2b_hash(one, 32, NULL, 1) == -1, "blake2b NULL input");
    blake2b_hash(one, 64, "abc", 3);
    check_hex(one, 64, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
              "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923", "blake2b abc");
}

static void ga_small(void)
{
    uint8_t tag[100];
    uint8_t *dump;
    size_t dumplen = 28 * 1024;         /* m = 28, p = 1: 28 blocks */
    uint32_t r;

    check(gxhash_ga((const uint8_t *)"password", 8, (const uint8_t *)"somesalt", 8,
                    1, 8, 1, tag, 32) == GXHASH_OK, "GA t1-m8-p1");
    check_hex(tag, 32, "a071337754672fd87a2e993dbfbe17b7dd809d3370af7d72f9b0896bad5ecd6c",
              "GA t1-m8-p1 tag");
    check(gxhash_ga((const uint8_t *)"password", 8, (const uint8_t *)"somesalt", 8,
                    2, 28, 1, tag, 32) == GXHASH_OK, "GA t2-m28-p1");
    check_hex(tag, 32, "a9e9efda789e3c48e593889f370243310e10c1395f13b0783d119af71aaa9067",
              "GA t2-m28-p1 tag (self-reference, non-power-of-two lane)");
    check(gxhash_ga((const uint8_t *)"password", 8, (const uint8_t *)"somesalt", 8,
                    2, 37, 2, tag, 32) == GXHASH_OK, "GA t2-m37-p2");
    check_hex(tag, 32, "cb568ebd54253581d4bcf45fa644f7da01148d3cfa9b189f66f227a5f114a5c8",
              "GA t2-m37-p2 tag");
    check(gxhash_ga((const uint8_t *)"password", 8, (const uint8_t *)"somesalt", 8,
                    2, 32, 2, tag, 100) == GXHASH_OK, "GA out100");
    check_hex(tag, 100, "96d064cf473d4478037b01493ff8a7c20a4dc90ce8545a37330a361ec7d5c55b"
              "8c69d6a2c387911160084340e8204d24f3f99387d282cb99dbfbafce86713cc22dc4d6c5"
              "3315c3beb375b532ae3a9ce649ee3236d269f1c3871e943a6be499d38f06a475", "GA out100 tag");
    check(gxhash_ga(NULL, 0, NULL, 0, 3, 256, 4, tag, 1) == GXHASH_OK, "GA empty pwd/salt, T=1");

    /* Error paths: nothing allocated, nothing leaked. */
    check(gxhash_ga(tag, 1, tag, 1, 1, 7, 1, tag, 32) == GXHASH_ERR_MEMORY_TOO_SMALL, "m < 8p");
    check(gxhash_ga(tag, 1, tag, 1, 0, 8, 1, tag, 32) == GXHASH_ERR_TIME_TOO_SMALL, "t < 1");
    check(gxhash_ga(tag, 1, tag, 1, 1, 8, 0, tag, 32) == GXHASH_ERR_LANES_TOO_SMALL, "p < 1");
    check(gxhash_ga(tag, 1, tag, 1, 1, 8, 1, tag, 0) == GXHASH_ERR_OUTLEN, "T = 0");
    check(gxhash_ga(NULL, 1, tag, 1, 1, 8, 1, tag, 32) == GXHASH_ERR_NULL_POINTER, "NULL pwd");
    check(gxhash_ga(tag, 1, tag, 1, 1, 8, 1, NULL, 32) == GXHASH_ERR_NULL_POINTER, "NULL out");
    check(gxhash_ga(tag, 1, tag, 1, 1, 0xFFFFFFFFu, 0x1FFFFFFFu, tag, 32) == GXHASH_ERR_NO_MEMORY
          || sizeof(size_t) < 8, "huge m: allocation failure reported");
    check(gxhash_hash(NULL, 1, 0, tag) == GXHASH_ERR_NULL_POINTER, "gxhash NULL data");

    dump = malloc(dumplen);
    if (dump == NULL)
        exit(2);
    for (r = 0; r <= 2; r++)
        check(gxhash_ga_memory((const uint8_t *)"password", 8, (const uint8_t *)"somesalt", 8,
                               2, 28, 1, r, dump, dumplen) == GXHASH_OK, "GA memory dump");
    check(gxhash_ga_memory(tag, 1, tag, 1, 2, 28, 1, 3, dump, dumplen) == GXHASH_ERR_BAD_BUFFER,
          "dump: too many passes");
    check(gxhash_ga_memory(tag, 1, tag, 1, 2, 28, 1, 1, dump, dumplen - 1) == GXHASH_ERR_BAD_BUFFER,
          "dump: wrong size");
    free(dump);
}

struct job {
    const char *data;
    uint64_t nonce;
    const char *expected;
    int ok;
};

static void *run_job(void *arg)
{
    struct job *j = (struct job *)arg;
    uint8_t out[32];
    char hex[65];
    j->ok = gxhash_hash((const uint8_t *)j->data, strlen(j->data), j->nonce, out) == GXHASH_OK;
    to_hex(hex, out, 32);
    j->ok = j->ok && strcmp(hex, j->expected) == 0;
    return NULL;
}

static void gxhash_full(void)
{
    struct job jobs[2] = {
        { "abc", 1, "0310fde4ef1ecf92bf5b836ad427a5154af21e58496af40556efeecbb013293c", 0 },
        { "", 0, "7ea8be09b682d18b2129ea0256286d8939933bf44b75c57abc9b7acf0e368101", 0 },
    };
    pthread_t th[2];
    int i;

    gxhash_pool_set_limit(1);
    for (i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, run_job, &jobs[i]);
    for (i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    check(jobs[0].ok && jobs[1].ok, "two concurrent gxhash calls");
    check(gxhash_pool_idle() == 1, "pool keeps one matrix");
    run_job(&jobs[0]);          /* reuses the pooled (dirty) matrix */
    check(jobs[0].ok, "gxhash on a reused matrix");
    gxhash_pool_set_limit(0);   /* frees the pool: nothing reachable at exit */
    check(gxhash_pool_idle() == 0, "pool emptied");
}

int main(void)
{
    blake2b_edges();
    ga_small();
    gxhash_full();
    printf("%s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
