/* SPDX-License-Identifier: MIT */
/* The six primes of Python's concurrent.futures documentation, on MPI ranks instead of worker processes:
 *     mpiexec -n 4 ./mpi_primes              rank 0 maps, ranks 1..3 check numbers
 * Against the process-pool version (demo.c) only the executor's creation changed: cf_mpi_pool_new instead of
 * cf_process_pool_new. The task is registered by name (CF_TASK), so every rank finds it. */
#include <cfutures/mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N_PRIMES 6

static int is_prime(uint64_t n) {
    if (n < 2) return 0;
    if (n % 2 == 0) return n == 2;
    for (uint64_t i = 3; i <= n / i; i += 2)
        if (n % i == 0) return 0;
    return 1;
}

/* The number is the argument (8 bytes); the result one byte, 1 for prime. */
static int is_prime_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    uint64_t n;
    if (len != sizeof n) return cf_task_raise(ctx, "ValueError", "is_prime wants one 8-byte number");
    memcpy(&n, arg, sizeof n);
    unsigned char verdict = (unsigned char)is_prime(n);
    return cf_task_return(ctx, &verdict, 1);
}
CF_TASK("mpi_primes.is_prime", is_prime_task);

static const uint64_t primes[N_PRIMES] = {112272535095293u, 112582705942171u, 112272535095293u,
                                          115280095190773u, 115797848077099u, 1099726899285419u};

int main(int argc, char **argv) {
    cf_mpi_init(&argc, &argv);
    cf_executor *pool = NULL;
    if (cf_mpi_pool_new(NULL, &pool) != CF_OK) { /* ranks other than 0 serve inside and never return */
        fprintf(stderr, "cf_mpi_pool_new: %s\n", cf_last_error());
        return 1;
    }
    cf_slice args[N_PRIMES], r;
    for (int i = 0; i < N_PRIMES; ++i) {
        args[i].data = &primes[i];
        args[i].len = sizeof primes[i];
    }
    cf_map_iter *it = NULL;
    int rc = cf_map_named(pool, "mpi_primes.is_prime", args, N_PRIMES, NULL, &it);
    int i = 0;
    while (rc == CF_OK && (rc = cf_map_next(it, &r)) == CF_OK)
        printf("%llu is prime: %s\n", (unsigned long long)primes[i++], *(const unsigned char *)r.data ? "True" : "False");
    cf_map_free(it);
    cf_executor_free(pool);
    if (rc != CF_DONE || i != N_PRIMES) {
        fprintf(stderr, "map: %s\n", cf_last_error());
        return 1;
    }
    return 0;
}
