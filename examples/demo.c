/* SPDX-License-Identifier: MIT */
/* The libcfutures demo: futures completed by another thread, then the I/O-bound example of the Python docs
 * (20 simulated downloads, each a 100 ms wait), sequentially and on a 20-thread pool, then the docs' CPU-bound
 * example (is each of six large numbers prime?) sequentially, on a thread pool and on a process pool, and last a
 * long map on a process pool with a live progress line drawn from the pool's statistics. */
#define _POSIX_C_SOURCE 200809L
#include <cfutures/cfutures.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_DOWNLOADS 20
#define N_PRIMES 6

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A "download": waits 100 ms as a network round trip would, then returns the page's size. */
static int download(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg;
    (void)user_data;
    struct timespec delay = {0, 100 * 1000 * 1000};
    nanosleep(&delay, NULL);
    unsigned size = 1000u + (unsigned)len * 37u;
    return cf_task_return(ctx, &size, sizeof size);
}

static void *complete_later(void *arg) {
    cf_future *f = arg;
    struct timespec delay = {0, 50 * 1000 * 1000};
    nanosleep(&delay, NULL);
    cf_future_set_result(f, "hello from another thread", 25);
    return NULL;
}

static int demo_futures(void) {
    cf_future *f;
    pthread_t thread;
    cf_slice result;
    if (cf_future_new(&f) != CF_OK) return 1;
    pthread_create(&thread, NULL, complete_later, f);
    if (cf_future_result(f, 0, &result) == CF_E_TIMEOUT) printf("futures: not done yet (%s)\n", cf_last_error());
    if (cf_future_result(f, CF_FOREVER, &result) == CF_OK)
        printf("futures: result \"%.*s\"\n", (int)result.len, (const char *)result.data);
    pthread_join(thread, NULL);
    cf_future_release(f);
    return 0;
}

static int demo_downloads(void) {
    static const char *urls[N_DOWNLOADS] = {
        "https://example.org/a", "https://example.org/bb", "https://example.org/ccc", "https://example.org/d",
        "https://example.org/e", "https://example.org/f", "https://example.org/g", "https://example.org/h",
        "https://example.org/i", "https://example.org/j", "https://example.org/k", "https://example.org/l",
        "https://example.org/m", "https://example.org/n", "https://example.org/o", "https://example.org/p",
        "https://example.org/q", "https://example.org/r", "https://example.org/s", "https://example.org/t"};
    cf_executor *pool;
    cf_future *fs[N_DOWNLOADS];
    cf_thread_pool_options o;
    unsigned total = 0;
    double t0 = now_seconds(), sequential, pooled;
    int i;

    /* Sequentially: one after another, as a plain loop would. */
    if (cf_thread_pool_new(NULL, &pool) != CF_OK) return 1;
    for (i = 0; i < N_DOWNLOADS; ++i) {
        cf_slice r;
        cf_future *f;
        if (cf_submit(pool, download, NULL, urls[i], strlen(urls[i]), &f) != CF_OK) return 1;
        if (cf_future_result(f, CF_FOREVER, &r) == CF_OK) total += *(const unsigned *)r.data;
        cf_future_release(f);
    }
    cf_executor_free(pool);
    sequential = now_seconds() - t0;

    /* On a 20-thread pool: all at once. */
    cf_thread_pool_options_init(&o);
    o.max_workers = N_DOWNLOADS;
    o.thread_name_prefix = "download";
    t0 = now_seconds();
    if (cf_thread_pool_new(&o, &pool) != CF_OK) return 1;
    for (i = 0; i < N_DOWNLOADS; ++i)
        if (cf_submit(pool, download, NULL, urls[i], strlen(urls[i]), &fs[i]) != CF_OK) return 1;
    cf_wait(fs, N_DOWNLOADS, CF_FOREVER, CF_ALL_COMPLETED, NULL, NULL);
    for (i = 0; i < N_DOWNLOADS; ++i) cf_future_release(fs[i]);
    cf_executor_free(pool);
    pooled = now_seconds() - t0;

    printf("downloads: %d pages (%u bytes): sequential %.2f s, 20-thread pool %.2f s (%.1fx faster)\n",
           N_DOWNLOADS, total, sequential, pooled, sequential / pooled);
    return 0;
}

/* floor(sqrt(n)) by Newton's method, in integers (no libm needed). */
static uint64_t isqrt(uint64_t n) {
    uint64_t x = n, y = n / 2 + 1;
    if (n < 2) return n;
    while (y < x) {
        x = y;
        y = (x + n / x) / 2;
    }
    return x;
}

/* The docs' is_prime: trial division by the odd numbers up to the square root. */
static int is_prime(uint64_t n) {
    uint64_t root, i;
    if (n < 2) return 0;
    if (n == 2) return 1;
    if (n % 2 == 0) return 0;
    root = isqrt(n);
    for (i = 3; i <= root; i += 2)
        if (n % i == 0) return 0;
    return 1;
}

/* As a task: the argument is the number (8 bytes), the result one byte, 1 for prime. */
static int is_prime_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint64_t n;
    unsigned char verdict;
    (void)user_data;
    if (len != sizeof n) return cf_task_raise(ctx, "ValueError", "is_prime wants one 8-byte number");
    memcpy(&n, arg, sizeof n);
    verdict = (unsigned char)is_prime(n);
    return cf_task_return(ctx, &verdict, 1);
}
/* Registered by name, so that the process pool's workers find it. */
CF_TASK("demo.is_prime", is_prime_task);

static const uint64_t primes[N_PRIMES] = {112272535095293u, 112582705942171u, 112272535095293u,
                                          115280095190773u, 115797848077099u, 1099726899285419u};

/* The six numbers through executor.map on the given pool; the verdicts land in `verdicts`. */
static int primes_on(cf_executor *pool, unsigned char *verdicts) {
    cf_slice args[N_PRIMES], r;
    cf_map_iter *it;
    int i = 0, rc;
    for (i = 0; i < N_PRIMES; ++i) {
        args[i].data = &primes[i];
        args[i].len = sizeof primes[i];
    }
    if (cf_map(pool, is_prime_task, NULL, args, N_PRIMES, NULL, &it) != CF_OK) return 1;
    for (i = 0; (rc = cf_map_next(it, &r)) == CF_OK && i < N_PRIMES; ++i) verdicts[i] = *(const unsigned char *)r.data;
    cf_map_free(it);
    return rc == CF_DONE && i == N_PRIMES ? 0 : 1;
}

static int demo_primes(void) {
    unsigned char seq[N_PRIMES], threads[N_PRIMES], procs[N_PRIMES];
    cf_executor *pool;
    double t0 = now_seconds(), sequential, threaded, processes;
    int i;

    for (i = 0; i < N_PRIMES; ++i) seq[i] = (unsigned char)is_prime(primes[i]);
    sequential = now_seconds() - t0;

    /* Threads: in C nothing holds a global lock, so CPU-bound tasks run in parallel on threads too. */
    t0 = now_seconds();
    if (cf_thread_pool_new(NULL, &pool) != CF_OK || primes_on(pool, threads) != 0) return 1;
    cf_executor_free(pool);
    threaded = now_seconds() - t0;

    /* Processes: one worker per CPU by default, started by fork. */
    t0 = now_seconds();
    if (cf_process_pool_new(NULL, &pool) != CF_OK || primes_on(pool, procs) != 0) return 1;
    cf_executor_free(pool);
    processes = now_seconds() - t0;

    for (i = 0; i < N_PRIMES; ++i) {
        printf("primes: %llu is prime: %s\n", (unsigned long long)primes[i], procs[i] ? "True" : "False");
        if (seq[i] != threads[i] || seq[i] != procs[i]) {
            fprintf(stderr, "demo: the pools disagree with the sequential run about %llu\n",
                    (unsigned long long)primes[i]);
            return 1;
        }
    }
    printf("primes: sequential %.3f s, thread pool %.3f s (%.1fx), process pool %.3f s (%.1fx)\n", sequential,
           threaded, sequential / threaded, processes, sequential / processes);
    return 0;
}

/* Counts the primes among the 256 numbers from its 8-byte argument on (a millisecond or two of work). */
static int count_primes_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint64_t from, n;
    uint32_t count = 0;
    (void)user_data;
    if (len != sizeof from) return cf_task_raise(ctx, "ValueError", "count_primes wants one 8-byte number");
    memcpy(&from, arg, sizeof from);
    for (n = from; n < from + 256; ++n) count += (uint32_t)is_prime(n);
    return cf_task_return(ctx, &count, sizeof count);
}
CF_TASK("demo.count_primes", count_primes_task);

#define N_BLOCKS 1000

/* A long map (the primes among 256,000 numbers past ten billion, 256 per task) on a process pool that replaces
 * dead workers; while it runs, a progress line from cf_executor_stats_get, redrawn in place on a terminal and
 * printed at each quarter otherwise. */
static int demo_progress(void) {
    static uint64_t starts[N_BLOCKS];
    cf_slice args[N_BLOCKS], r;
    cf_process_pool_options o;
    cf_map_options mo;
    cf_executor *pool;
    cf_map_iter *it;
    cf_executor_stats s;
    uint64_t total = 0;
    int i, rc, tty = isatty(STDOUT_FILENO), quarter = 0;
    double t0 = now_seconds(), drawn = 0;
    for (i = 0; i < N_BLOCKS; ++i) {
        starts[i] = 10000000000ull + (uint64_t)i * 256u;
        args[i].data = &starts[i];
        args[i].len = sizeof starts[i];
    }
    cf_process_pool_options_init(&o);
    o.on_worker_death = CF_WORKER_DEATH_REPLACE;
    cf_map_options_init(&mo);
    mo.unordered = 1;
    if (cf_process_pool_new(&o, &pool) != CF_OK) return 1;
    if (cf_map(pool, count_primes_task, NULL, args, N_BLOCKS, &mo, &it) != CF_OK) return 1;
    s.struct_size = sizeof s;
    for (i = 0; (rc = cf_map_next(it, &r)) == CF_OK; ++i) {
        uint32_t c;
        memcpy(&c, r.data, sizeof c);
        total += c;
        if (cf_executor_stats_get(pool, &s) != CF_OK) return 1;
        if (tty ? now_seconds() - drawn >= 0.05 || i + 1 == N_BLOCKS : (i + 1) * 4 >= (quarter + 1) * N_BLOCKS) {
            printf("%sprogress: %llu/%d tasks done, %llu running, %llu queued on %llu workers, %llu primes so far%s",
                   tty ? "\r" : "", (unsigned long long)(s.completed + s.failed + s.cancelled), N_BLOCKS,
                   (unsigned long long)s.running, (unsigned long long)s.queued, (unsigned long long)s.workers,
                   (unsigned long long)total, tty ? "" : "\n");
            fflush(stdout);
            drawn = now_seconds();
            ++quarter;
        }
    }
    if (tty) printf("\n");
    cf_map_free(it);
    cf_executor_free(pool);
    if (rc != CF_DONE || i != N_BLOCKS) return 1;
    printf("progress: %llu primes between 10^10 and 10^10 + %d, in %.2f s\n", (unsigned long long)total,
           N_BLOCKS * 256, now_seconds() - t0);
    return 0;
}

int main(void) {
    /* First of all: a process started as a spawned pool worker serves tasks here and never returns. */
    cf_process_worker_entry();
    printf("libcfutures %s\n", cf_version_string());
    if (demo_futures() != 0 || demo_downloads() != 0 || demo_primes() != 0 || demo_progress() != 0) {
        fprintf(stderr, "demo failed: %s\n", cf_last_error());
        return 1;
    }
    return 0;
}
