/* SPDX-License-Identifier: MIT */
/* C tasks for the cfutures Python binding's process-pool tests and examples. Build:
 *   cc -shared -fPIC tasks.c $(pkg-config --cflags --libs cfutures) -o libcftasks.so
 * Loading the library (ctypes / cfutures.load_library) registers the tasks by name. */
#define _POSIX_C_SOURCE 200809L
#include <cfutures/cfutures.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* floor(sqrt(n)) by Newton's method. */
static uint64_t isqrt(uint64_t n) {
    uint64_t x = n, y = n / 2 + 1;
    if (n < 2) return n;
    while (y < x) {
        x = y;
        y = (x + n / x) / 2;
    }
    return x;
}

/* The argument: the number as 8 bytes, little-endian; the result: one byte, 1 for prime. */
static int is_prime(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint64_t n, root, i;
    unsigned char verdict = 1;
    (void)user_data;
    if (len != sizeof n) return cf_task_raise(ctx, "ValueError", "is_prime wants one 8-byte number");
    memcpy(&n, arg, sizeof n);
    if (n < 2) verdict = 0;
    else if (n > 2 && n % 2 == 0) verdict = 0;
    root = isqrt(n);
    for (i = 3; verdict && i <= root; i += 2)
        if (n % i == 0) verdict = 0;
    return cf_task_return(ctx, &verdict, 1);
}
CF_TASK("demo.is_prime", is_prime);

/* The argument back, unchanged. */
static int echo(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    return cf_task_return(ctx, arg, len);
}
CF_TASK("test.echo", echo);

/* The argument back with its bytes in reverse order, written in place. */
static int reverse(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    unsigned char *out;
    size_t i;
    (void)user_data;
    out = cf_task_return_buffer(ctx, len);
    if (!out && len) return CF_E_NO_MEMORY;
    for (i = 0; i < len; ++i) out[i] = ((const unsigned char *)arg)[len - 1 - i];
    return CF_OK;
}
CF_TASK("test.reverse", reverse);

/* Fails: the argument is the message; type ValueError. */
static int fail(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char message[256];
    (void)user_data;
    if (len >= sizeof message) len = sizeof message - 1;
    memcpy(message, arg, len);
    message[len] = '\0';
    return cf_task_raise(ctx, "ValueError", message);
}
CF_TASK("test.raise", fail);

/* Kills its own worker process. */
static int crash(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    raise(SIGKILL);
    return CF_OK;
}
CF_TASK("test.crash", crash);

/* Sleeps the number of milliseconds given as a decimal string (default 100), stopping early when asked to; the
 * result is "slept" or "stopped". */
static int slow(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char digits[16] = "100";
    long ms, i;
    struct timespec tick = {0, 1000 * 1000};
    (void)user_data;
    if (len > 0 && len < sizeof digits) {
        memcpy(digits, arg, len);
        digits[len] = '\0';
    }
    ms = atol(digits);
    for (i = 0; i < ms; ++i) {
        if (cf_task_cancel_requested(ctx)) return cf_task_return(ctx, "stopped", 7);
        nanosleep(&tick, NULL);
    }
    return cf_task_return(ctx, "slept", 5);
}
CF_TASK("test.slow", slow);

/* Writes the worker's pid to the file named by the argument (whole, through a rename: a reader that sees the
 * file sees its content), then sleeps 10 s in 1 ms steps; the result is "slept". The file tells a test that the
 * task has begun in its worker, not only been handed to it. It ignores cancel requests (cf_task_cancel_requested):
 * only a kill (cancel_running, a time limit) ends it early. */
static int mark_and_sleep(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char path[4096], tmp[4096 + 8], text[32];
    struct timespec tick = {0, 1000 * 1000};
    FILE *file;
    int written;
    long i;
    (void)user_data;
    if (len == 0 || len >= sizeof path) return cf_task_raise(ctx, "ValueError", "mark_and_sleep wants a path");
    memcpy(path, arg, len);
    path[len] = '\0';
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(text, sizeof text, "%ld", (long)getpid());
    file = fopen(tmp, "w");
    if (!file) return cf_task_raise(ctx, "OSError", "mark_and_sleep cannot create its file");
    written = fputs(text, file) >= 0;
    written = fclose(file) == 0 && written;
    if (!written || rename(tmp, path) != 0) return cf_task_raise(ctx, "OSError", "mark_and_sleep cannot write its file");
    for (i = 0; i < 10000; ++i) nanosleep(&tick, NULL);
    return cf_task_return(ctx, "slept", 5);
}
CF_TASK("test.mark_and_sleep", mark_and_sleep);

/* The worker's pid as a decimal string (to see workers replaced or shared). */
static int pid(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char text[32];
    int n;
    (void)arg, (void)len, (void)user_data;
    n = snprintf(text, sizeof text, "%ld", (long)getpid());
    return cf_task_return(ctx, text, (size_t)n);
}
CF_TASK("test.pid", pid);

/* "<pid>:<n>": the worker's pid and how many times this task has run in that process (1 first), to see which
 * items of a map ran together in one worker, one after the other (a chunk). */
static int count(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    static long calls;
    char text[48];
    int n;
    (void)arg, (void)len, (void)user_data;
    n = snprintf(text, sizeof text, "%ld:%ld", (long)getpid(), ++calls);
    return cf_task_return(ctx, text, (size_t)n);
}
CF_TASK("test.count", count);

/* The argument back, unless it starts with "bad": then ValueError with the argument as the message. */
static int check(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    if (len >= 3 && memcmp(arg, "bad", 3) == 0) return fail(ctx, arg, len, user_data);
    return cf_task_return(ctx, arg, len);
}
CF_TASK("test.check", check);

/* An initializer: succeeds unless its argument is "fail". */
static int init(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    if (len == 4 && memcmp(arg, "fail", 4) == 0) return cf_task_raise(ctx, "RuntimeError", "initializer failed");
    return CF_OK;
}
CF_TASK("test.init", init);
