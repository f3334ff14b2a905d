/* The libcfutures demo: futures completed by another thread, then the I/O-bound example of the Python docs
 * (20 simulated downloads, each a 100 ms wait), sequentially and on a 20-thread pool. */
#define _POSIX_C_SOURCE 200809L
#include <cfutures/cfutures.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N_DOWNLOADS 20

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A "download": waits 100 ms as a network round trip would, then returns the page's size. */
static int download(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
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

int main(void) {
    printf("libcfutures %s\n", cf_version_string());
    if (demo_futures() != 0 || demo_downloads() != 0) {
        fprintf(stderr, "demo failed: %s\n", cf_last_error());
        return 1;
    }
    return 0;
}
