/* SPDX-License-Identifier: MIT */
/* A three-stage pipeline of continuations: pages "downloaded" on a thread pool (I/O, simulated by a sleep), parsed
 * on a process pool (CPU-bound: the primes below a bound the page names), and stored on a thread pool. Each page
 * travels its own chain (cf_future_then / cf_future_then_named); cf_when_all waits for them all. No thread waits
 * for a stage: a step is submitted when the one before it ends. Printed: the time against the stages run one after
 * another on one thread.
 *
 *   cc pipeline.c $(pkg-config --cflags --libs cfutures) -o pipeline && ./pipeline */
#define _POSIX_C_SOURCE 200809L
#include <cfutures/cfutures.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { kPages = 12, kDownloadMs = 40 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Stage 1, I/O: "downloads" page i (its argument) and returns its text: the bound to parse up to. */
static int download(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len;
    uint64_t page = (uint64_t)(uintptr_t)user_data, bound = 150000 + 10000 * page;
    struct timespec pause = {0, kDownloadMs * 1000000L};
    nanosleep(&pause, NULL);
    return cf_task_return(ctx, &bound, sizeof bound);
}

/* Stage 2, CPU: counts the primes below the bound (a registered task: it runs in a worker process). */
static uint64_t count_primes(uint64_t bound) {
    uint64_t count = 0;
    for (uint64_t n = 2; n < bound; ++n) {
        int prime = 1;
        for (uint64_t d = 2; d * d <= n; ++d)
            if (n % d == 0) {
                prime = 0;
                break;
            }
        count += (uint64_t)prime;
    }
    return count;
}
static int parse(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    uint64_t bound = 0;
    if (len != sizeof bound) return cf_task_raise(ctx, "ValueError", "a page is 8 bytes");
    memcpy(&bound, arg, sizeof bound);
    uint64_t primes = count_primes(bound);
    return cf_task_return(ctx, &primes, sizeof primes);
}
CF_TASK("pipeline.parse", parse);

/* Stage 3, I/O: stores the result (here: adds it to a total). */
static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t stored_total;
static int stored_pages;
static int store(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)user_data;
    uint64_t primes = 0;
    if (len == sizeof primes) memcpy(&primes, arg, sizeof primes);
    pthread_mutex_lock(&store_mu);
    stored_total += primes;
    ++stored_pages;
    pthread_mutex_unlock(&store_mu);
    return CF_OK;
}

static int run_pipeline(uint64_t *total) {
    cf_thread_pool_options to;
    cf_process_pool_options po;
    cf_executor *io = NULL, *cpu = NULL;
    cf_future *stored[kPages], *all = NULL;
    int rc;
    cf_thread_pool_options_init(&to);
    to.max_workers = kPages;
    cf_process_pool_options_init(&po); /* one worker per CPU */
    if ((rc = cf_thread_pool_new(&to, &io)) != CF_OK || (rc = cf_process_pool_new(&po, &cpu)) != CF_OK) {
        fprintf(stderr, "pipeline: %s\n", cf_last_error());
        return rc;
    }
    for (int i = 0; i < kPages; ++i) {
        cf_future *page = NULL, *parsed = NULL;
        cf_submit(io, download, (void *)(uintptr_t)i, NULL, 0, &page);
        cf_future_then_named(page, cpu, "pipeline.parse", &parsed);
        cf_future_then(parsed, io, store, NULL, &stored[i]);
        cf_future_release(parsed);
        cf_future_release(page);
    }
    cf_when_all(stored, kPages, &all);
    cf_error e;
    rc = cf_future_exception(all, -1.0, &e);
    if (rc == CF_OK && e.status != CF_OK) {
        fprintf(stderr, "pipeline: a stage failed: %s: %s\n", e.type, e.message);
        rc = e.status;
    }
    cf_future_release(all);
    for (int i = 0; i < kPages; ++i) cf_future_release(stored[i]);
    cf_executor_free(cpu);
    cf_executor_free(io);
    *total = stored_total;
    return rc;
}

int main(void) {
    if (cf_process_worker_entry() != CF_OK) return 1;
    double t0 = now();
    uint64_t sequential = 0;
    for (int i = 0; i < kPages; ++i) {
        struct timespec pause = {0, kDownloadMs * 1000000L};
        nanosleep(&pause, NULL);
        sequential += count_primes(150000 + 10000 * (uint64_t)i);
    }
    double t1 = now();
    uint64_t piped = 0;
    int rc = run_pipeline(&piped);
    double t2 = now();
    if (rc != CF_OK || piped != sequential || stored_pages != kPages) {
        fprintf(stderr, "pipeline: got %llu primes from %d pages, want %llu from %d\n", (unsigned long long)piped,
                stored_pages, (unsigned long long)sequential, kPages);
        return 1;
    }
    printf("%d pages, %llu primes: stages one after another %.3f s, pipeline %.3f s (%.1fx)\n", kPages,
           (unsigned long long)piped, t1 - t0, t2 - t1, (t1 - t0) / (t2 - t1));
    return 0;
}
