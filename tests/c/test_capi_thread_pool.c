/* SPDX-License-Identifier: MIT */
/*
 * The executor part of the C ABI, driven from plain C99 against a thread pool: options structs, cf_submit and
 * the cf_task_* calls a task makes, the registry (cf_task_register, CF_TASK, cf_submit_named), cancellation
 * requests, initializers, shutdown, cf_map / cf_map_source, and argument checking.
 *
 * No framework: CHECK counts and reports, main prints "N passed, M failed" and fails if M > 0.
 * Tasks that must stay running are held on pthread gates (mutex + condition variable) that the test opens; every
 * wait on a gate has a generous limit only so that a broken library fails a check instead of hanging the test.
 * No check depends on how long something takes.
 */
#define _GNU_SOURCE /* pthread_getname_np, to see the workers' names */

#include <cfutures/cfutures.h>

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* ------------------------------------------------------------------------------------------------------------ */
/* Gates and counters                                                                                             */

/* Every wait below gives up after this long; only a broken library ever gets there. */
#define GIVE_UP_SECONDS 30.0

static struct timespec deadline_in(double seconds) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t whole = (time_t)seconds;
    ts.tv_sec += whole;
    ts.tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* A counter that threads can wait on; a gate is a counter that is opened by adding 1. */
typedef struct counter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long value;
} counter;

static void counter_init(counter *c) {
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->value = 0;
}

static void counter_destroy(counter *c) {
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

static void counter_add(counter *c, long n) {
    pthread_mutex_lock(&c->mu);
    c->value += n;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static long counter_get(counter *c) {
    long v;
    pthread_mutex_lock(&c->mu);
    v = c->value;
    pthread_mutex_unlock(&c->mu);
    return v;
}

/* 1 once the value is at least `target`; 0 if that did not happen within GIVE_UP_SECONDS. */
static int counter_wait(counter *c, long target) {
    struct timespec until = deadline_in(GIVE_UP_SECONDS);
    int reached;
    pthread_mutex_lock(&c->mu);
    while (c->value < target)
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) != 0) break;
    reached = c->value >= target;
    pthread_mutex_unlock(&c->mu);
    return reached;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Helpers                                                                                                        */

static int slice_is(cf_slice s, const void *bytes, size_t len) {
    return s.len == len && (len == 0 || (s.data != NULL && memcmp(s.data, bytes, len) == 0));
}

static int slice_is_text(cf_slice s, const char *text) { return slice_is(s, text, strlen(text)); }

/* The 8-byte result as a number, or UINT64_MAX when it is not 8 bytes. */
static uint64_t slice_u64(cf_slice s) {
    uint64_t v;
    if (s.len != sizeof v || s.data == NULL) return UINT64_MAX;
    memcpy(&v, s.data, sizeof v);
    return v;
}

static cf_executor *new_pool(size_t max_workers) { return check_new_thread_pool(max_workers); }

/* Submits, checking that it worked; the caller releases the future. */
static cf_future *submit(cf_executor *ex, cf_task_fn fn, void *user_data, const void *arg, size_t len) {
    cf_future *f = NULL;
    CHECK_INT(cf_submit(ex, fn, user_data, arg, len, &f), CF_OK);
    CHECK(f != NULL);
    return f;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Tasks                                                                                                          */

/* uint32 x -> uint64 x*x. */
static int task_square(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint32_t x;
    uint64_t y;
    (void)user_data;
    if (len != sizeof x) return cf_task_raise(ctx, "TypeError", "task_square takes a uint32_t");
    memcpy(&x, arg, sizeof x);
    y = (uint64_t)x * x;
    return cf_task_return(ctx, &y, sizeof y);
}

/* Like task_square, but the item 2 fails. */
static int task_square_but_2(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint32_t x;
    if (len == sizeof x) {
        memcpy(&x, arg, sizeof x);
        if (x == 2) return cf_task_raise(ctx, "ValueError", "item 2 is bad");
    }
    return task_square(ctx, arg, len, user_data);
}

/* The argument, reversed, through cf_task_return. */
static int task_reverse(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char buf[64];
    const char *in = (const char *)arg;
    size_t i;
    (void)user_data;
    if (len > sizeof buf) return cf_task_raise(ctx, "ValueError", "argument too long");
    for (i = 0; i < len; ++i) buf[i] = in[len - 1 - i];
    return cf_task_return(ctx, buf, len);
}

/* The argument in upper case, written in place through cf_task_return_buffer. */
static int task_upper_in_place(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char *out = (char *)cf_task_return_buffer(ctx, len);
    const char *in = (const char *)arg;
    size_t i;
    (void)user_data;
    if (out == NULL) return cf_task_raise(ctx, "MemoryError", "cf_task_return_buffer gave NULL");
    for (i = 0; i < len; ++i) out[i] = (in[i] >= 'a' && in[i] <= 'z') ? (char)(in[i] - 'a' + 'A') : in[i];
    return CF_OK;
}

static int task_no_result(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    return CF_OK;
}

/* Returns twice; the second must win. The first is longer, so a partial overwrite would show. */
static int task_return_twice(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int rc;
    (void)arg, (void)len, (void)user_data;
    rc = cf_task_return(ctx, "the first result", 16);
    if (rc != CF_OK) return rc;
    return cf_task_return(ctx, "second", 6);
}

/* Raises; *user_data (an int) receives what cf_task_raise returned. */
static int task_raise(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int rc;
    (void)arg, (void)len;
    rc = cf_task_raise(ctx, "ValueError", "no good value");
    *(int *)user_data = rc;
    return rc;
}

/* Raises, sets a result, and then returns CF_OK all the same: the task still fails. */
static int task_raise_then_ok(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    cf_task_raise(ctx, "KeyError", "missing");
    cf_task_return(ctx, "ignored", 7);
    return CF_OK;
}

static int task_minus_five(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    return -5;
}

/* What task_inspect saw. */
typedef struct inspection {
    int marker;       /* set to 4242 by the task */
    size_t arg_len;
} inspection;

/* Records the argument length, marks *user_data, and returns user_data's address. */
static int task_inspect(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    inspection *seen = (inspection *)user_data;
    (void)arg;
    seen->marker = 4242;
    seen->arg_len = len;
    return cf_task_return(ctx, &user_data, sizeof user_data);
}

/* A task held on a gate: it counts itself in `started`, waits for `release`, then returns its argument. */
typedef struct gated {
    counter started;
    counter release;
} gated;

static void gated_init(gated *g) {
    counter_init(&g->started);
    counter_init(&g->release);
}

static void gated_destroy(gated *g) {
    counter_destroy(&g->started);
    counter_destroy(&g->release);
}

static int task_gated_echo(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    gated *g = (gated *)user_data;
    counter_add(&g->started, 1);
    if (!counter_wait(&g->release, 1)) return cf_task_raise(ctx, "TimeoutError", "the test never opened the gate");
    /* The argument is read only now, long after cf_submit returned. */
    return cf_task_return(ctx, arg, len);
}

/* A task that waits until it is asked to cancel. */
typedef struct cancel_watch {
    counter started;
    int requested_at_start; /* cf_task_cancel_requested when the task began */
} cancel_watch;

/* Returns one byte: 1 if cancellation was requested while it ran, 0 if it gave up waiting. */
static int task_wait_for_cancel(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    cancel_watch *w = (cancel_watch *)user_data;
    struct timespec step = {0, 1000 * 1000}; /* polls every millisecond; no check depends on it */
    struct timespec now, until = deadline_in(GIVE_UP_SECONDS);
    unsigned char seen = 0;
    (void)arg, (void)len;
    w->requested_at_start = cf_task_cancel_requested(ctx);
    counter_add(&w->started, 1);
    for (;;) {
        if (cf_task_cancel_requested(ctx)) {
            seen = 1;
            break;
        }
        clock_gettime(CLOCK_REALTIME, &now);
        if (now.tv_sec > until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec >= until.tv_nsec)) break;
        nanosleep(&step, NULL);
    }
    return cf_task_return(ctx, &seen, 1);
}

/* Sets *(int *)user_data to 1: shows whether a task ran at all. */
static int task_mark_ran(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len;
    *(int *)user_data = 1;
    return cf_task_return(ctx, "ran", 3);
}

/* Registered by CF_TASK at load time, never by an explicit call. */
static int task_loaded(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    return cf_task_return(ctx, "loaded", 6);
}
CF_TASK("capi_thread_pool.loaded", task_loaded);

/* ------------------------------------------------------------------------------------------------------------ */
/* Options                                                                                                        */

/* What a caller built against a newer header would pass: the options followed by fields this library lacks. */
typedef struct newer_pool_options {
    cf_thread_pool_options known;
    uint64_t unknown[6];
} newer_pool_options;

typedef struct newer_map_options {
    cf_map_options known;
    double unknown[5];
} newer_map_options;

/* An initializer that counts its calls (user_data: a counter). */
static int init_count(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len;
    counter_add((counter *)user_data, 1);
    return CF_OK;
}

static void test_options_init(void) {
    cf_thread_pool_options t;
    cf_map_options m;

    memset(&t, 0xA5, sizeof t);
    cf_thread_pool_options_init(&t);
    CHECK_INT(t.struct_size, sizeof(cf_thread_pool_options));
    CHECK_INT(t.max_workers, 0);
    CHECK(t.thread_name_prefix == NULL);
    CHECK(t.initializer == NULL);
    CHECK(t.initarg == NULL);
    CHECK_INT(t.initarg_len, 0);
    CHECK(t.initializer_data == NULL);

    memset(&m, 0xA5, sizeof m);
    cf_map_options_init(&m);
    CHECK_INT(m.struct_size, sizeof(cf_map_options));
    CHECK(m.timeout == CF_FOREVER);
    CHECK_INT(m.chunksize, 1);
    CHECK_INT(m.buffersize, 0);
    CHECK_INT(m.unordered, 0);

    /* NULL does nothing (and does not crash). */
    cf_thread_pool_options_init(NULL);
    cf_map_options_init(NULL);
}

static void test_pool_options(void) {
    cf_thread_pool_options o;
    cf_executor *ex = NULL;
    cf_future *f;
    cf_slice r;
    uint32_t x = 12;

    /* struct_size below the first published struct. */
    cf_thread_pool_options_init(&o);
    o.struct_size = 4;
    CHECK_FAILS(cf_thread_pool_new(&o, &ex), CF_E_INVALID_ARGUMENT, NULL);
    cf_thread_pool_options_init(&o);
    o.struct_size = 0;
    CHECK_FAILS(cf_thread_pool_new(&o, &ex), CF_E_INVALID_ARGUMENT, NULL);
    /* The published first-version size: one byte less is refused, itself is taken (a program built against
     * 0.1.0's header; the fields after it get their defaults). */
    cf_thread_pool_options_init(&o);
    o.struct_size = CF_THREAD_POOL_OPTIONS_V1_SIZE - 1;
    CHECK_FAILS(cf_thread_pool_new(&o, &ex), CF_E_INVALID_ARGUMENT, NULL);
    o.struct_size = CF_THREAD_POOL_OPTIONS_V1_SIZE;
    o.cancel_running = 1; /* past the first version: not read */
    ex = NULL;
    CHECK_INT(cf_thread_pool_new(&o, &ex), CF_OK);
    cf_executor_free(ex);
    CHECK(CF_THREAD_POOL_OPTIONS_V1_SIZE < sizeof(cf_thread_pool_options));
    CHECK(CF_PROCESS_POOL_OPTIONS_V1_SIZE < sizeof(cf_process_pool_options));
    CHECK_INT(CF_SUBMIT_OPTIONS_V1_SIZE, offsetof(cf_submit_options, time_limit) + sizeof(double));
    CHECK(CF_SUBMIT_OPTIONS_V1_SIZE < sizeof(cf_submit_options)); /* release_user_data came later */
    CHECK(CF_MAP_OPTIONS_V1_SIZE <= sizeof(cf_map_options)); /* (its tail padding is not part of it) */
    CHECK_INT(CF_EXECUTOR_STATS_V1_SIZE, offsetof(cf_executor_stats, workers_replaced) + sizeof(uint64_t));
    CHECK(CF_EXECUTOR_STATS_V1_SIZE < sizeof(cf_executor_stats)); /* max_workers came later */

    /* Too many workers; the limit itself is fine (threads start lazily, so nothing is started here). */
    cf_thread_pool_options_init(&o);
    o.max_workers = 70000;
    CHECK_FAILS(cf_thread_pool_new(&o, &ex), CF_E_INVALID_ARGUMENT, NULL);
    o.max_workers = 65536;
    ex = NULL;
    CHECK_INT(cf_thread_pool_new(&o, &ex), CF_OK);
    CHECK(ex != NULL);
    cf_executor_free(ex);

    /* NULL options: defaults, and a usable pool. */
    ex = NULL;
    CHECK_INT(cf_thread_pool_new(NULL, &ex), CF_OK);
    CHECK(ex != NULL);
    if (ex) {
        f = submit(ex, task_square, NULL, &x, sizeof x);
        CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
        CHECK_INT(slice_u64(r), 144);
        cf_future_release(f);
        cf_executor_free(ex);
    }

    /* A newer caller's bigger struct is accepted, and the fields the library knows are honoured. */
    {
        newer_pool_options big;
        counter inits;
        counter_init(&inits);
        memset(&big, 0xFF, sizeof big); /* the unknown tail is garbage */
        cf_thread_pool_options_init(&big.known);
        big.known.struct_size = sizeof big;
        big.known.max_workers = 1;
        big.known.thread_name_prefix = "newer";
        big.known.initializer = init_count;
        big.known.initializer_data = &inits;
        ex = NULL;
        CHECK_INT(cf_thread_pool_new(&big.known, &ex), CF_OK);
        CHECK(ex != NULL);
        if (ex) {
            f = submit(ex, task_square, NULL, &x, sizeof x);
            CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
            CHECK_INT(slice_u64(r), 144);
            CHECK_INT(counter_get(&inits), 1); /* the initializer ran before the task on the one worker */
            cf_future_release(f);
            cf_executor_free(ex);
        }
        CHECK_INT(counter_get(&inits), 1);
        counter_destroy(&inits);
    }
}

static void test_map_options(void) {
    cf_executor *ex = new_pool(2);
    cf_map_options o;
    cf_map_iter *it = NULL;
    uint32_t vals[10];
    cf_slice args[10];
    cf_slice r;
    size_t i;
    int in_order = 1;
    for (i = 0; i < 10; ++i) {
        vals[i] = (uint32_t)i;
        args[i].data = &vals[i];
        args[i].len = sizeof vals[i];
    }

    cf_map_options_init(&o);
    o.struct_size = 4;
    CHECK_FAILS(cf_map(ex, task_square, NULL, args, 10, &o, &it), CF_E_INVALID_ARGUMENT, NULL);
    cf_map_options_init(&o);
    o.chunksize = 0;
    CHECK_FAILS(cf_map(ex, task_square, NULL, args, 10, &o, &it), CF_E_INVALID_ARGUMENT, NULL);
    cf_map_options_init(&o);
    o.timeout = NAN;
    CHECK_FAILS(cf_map(ex, task_square, NULL, args, 10, &o, &it), CF_E_INVALID_ARGUMENT, NULL);

    /* A newer caller's bigger struct. */
    {
        newer_map_options big;
        memset(&big, 0xFF, sizeof big);
        cf_map_options_init(&big.known);
        big.known.struct_size = sizeof big;
        big.known.chunksize = 3;
        it = NULL;
        CHECK_INT(cf_map(ex, task_square, NULL, args, 10, &big.known, &it), CF_OK);
        CHECK(it != NULL);
        if (it) {
            for (i = 0; i < 10; ++i)
                if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) in_order = 0;
            CHECK(in_order);
            CHECK_INT(cf_map_next(it, &r), CF_DONE);
            cf_map_free(it);
        }
    }

    /* NULL options: defaults. */
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, args, 10, NULL, &it), CF_OK);
    CHECK(it != NULL);
    if (it) {
        in_order = 1;
        for (i = 0; i < 10; ++i)
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) in_order = 0;
        CHECK(in_order);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }
    cf_executor_free(ex);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* cf_submit and what a task can do                                                                               */

static void test_submit_results(void) {
    cf_executor *ex = new_pool(4);
    cf_future *f;
    cf_slice r;
    cf_error e;

    /* cf_task_return */
    f = submit(ex, task_reverse, NULL, "abcdef", 6);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
    CHECK(slice_is_text(r, "fedcba"));
    CHECK_INT(cf_future_exception(f, 0.0, &e), CF_OK);
    CHECK_INT(e.status, CF_OK);
    CHECK(e.type == NULL && e.message == NULL);
    CHECK_INT(cf_future_get_state(f), CF_FINISHED);
    cf_future_release(f);

    /* cf_task_return_buffer, written in place */
    f = submit(ex, task_upper_in_place, NULL, "Hello, pool", 11);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
    CHECK(slice_is_text(r, "HELLO, POOL"));
    cf_future_release(f);

    /* No result set: the empty result. */
    f = submit(ex, task_no_result, NULL, "x", 1);
    r.data = "junk";
    r.len = 99;
    CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
    CHECK_INT(r.len, 0);
    cf_future_release(f);

    /* The second cf_task_return replaces the first. */
    f = submit(ex, task_return_twice, NULL, NULL, 0);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
    CHECK(slice_is_text(r, "second"));
    cf_future_release(f);

    /* cf_task_raise */
    {
        int raise_rc = 12345;
        f = submit(ex, task_raise, &raise_rc, NULL, 0);
        CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_E_TASK_FAILED);
        CHECK_INT(raise_rc, CF_E_TASK_FAILED); /* what cf_task_raise returned inside the task */
        memset(&e, 0, sizeof e);
        CHECK_INT(cf_future_exception(f, CF_FOREVER, &e), CF_OK);
        CHECK_INT(e.status, CF_E_TASK_FAILED);
        CHECK_STR(e.type, "ValueError");
        CHECK_STR(e.message, "no good value");
        CHECK_INT(cf_future_get_state(f), CF_FINISHED);
        cf_future_release(f);
    }

    /* Raised, then returned CF_OK anyway: still a failure. */
    f = submit(ex, task_raise_then_ok, NULL, NULL, 0);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_E_TASK_FAILED);
    memset(&e, 0, sizeof e);
    CHECK_INT(cf_future_exception(f, CF_FOREVER, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "KeyError");
    CHECK_STR(e.message, "missing");
    cf_future_release(f);

    /* Returned -5 without raising. */
    f = submit(ex, task_minus_five, NULL, NULL, 0);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_E_TASK_FAILED);
    memset(&e, 0, sizeof e);
    CHECK_INT(cf_future_exception(f, CF_FOREVER, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "cf_task_error");
    CHECK_CONTAINS(e.message, "-5");
    cf_future_release(f);

    /* NULL with length 0 is the empty argument; user_data reaches the task untouched. */
    {
        inspection seen = {0, 777};
        void *addr = NULL;
        f = submit(ex, task_inspect, &seen, NULL, 0);
        CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
        CHECK_INT(r.len, sizeof addr);
        if (r.len == sizeof addr) memcpy(&addr, r.data, sizeof addr);
        CHECK(addr == (void *)&seen);
        CHECK_INT(seen.marker, 4242);
        CHECK_INT(seen.arg_len, 0);
        cf_future_release(f);

        /* A non-NULL pointer with length 0 is empty too. */
        seen.arg_len = 777;
        f = submit(ex, task_inspect, &seen, "not read", 0);
        CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
        CHECK_INT(seen.arg_len, 0);
        cf_future_release(f);
    }

    /* The argument is copied before cf_submit returns: overwrite it while the task is held on its gate. */
    {
        gated g;
        char buf[16];
        gated_init(&g);
        memcpy(buf, "original bytes!", 16);
        f = submit(ex, task_gated_echo, &g, buf, 16);
        memset(buf, 'X', sizeof buf);
        CHECK(counter_wait(&g.started, 1));
        memset(buf, 'Y', sizeof buf);
        CHECK_INT(cf_future_running(f), 1);
        CHECK_INT(cf_future_result(f, 0.0, &r), CF_E_TIMEOUT); /* still held */
        counter_add(&g.release, 1);
        CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
        CHECK(slice_is(r, "original bytes!", 16));
        cf_future_release(f);
        gated_destroy(&g);
    }

    /* Many at once, results matched to their own futures. */
    {
        enum { N = 64 };
        cf_future *fs[N];
        uint32_t i;
        int all_right = 1;
        for (i = 0; i < N; ++i) fs[i] = submit(ex, task_square, NULL, &i, sizeof i); /* i is copied */
        for (i = 0; i < N; ++i) {
            if (!fs[i] || cf_future_result(fs[i], CF_FOREVER, &r) != CF_OK || slice_u64(r) != (uint64_t)i * i)
                all_right = 0;
            cf_future_release(fs[i]);
        }
        CHECK(all_right);
    }

    cf_executor_free(ex);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Registry                                                                                                       */

/* Returns the argument followed by the user data's text. */
static int task_greet(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    const char *suffix = user_data ? (const char *)user_data : "";
    size_t extra = strlen(suffix);
    char *out = (char *)cf_task_return_buffer(ctx, len + extra);
    if (out == NULL) return cf_task_raise(ctx, "MemoryError", "no buffer");
    if (len) memcpy(out, arg, len);
    memcpy(out + len, suffix, extra);
    return CF_OK;
}

static void test_registry(void) {
    static char suffix[] = ", registered";
    cf_executor *ex = new_pool(2);
    cf_future *f = NULL;
    cf_slice r;

    CHECK_INT(cf_task_register("capi_thread_pool.greet", task_greet, suffix), CF_OK);
    CHECK_INT(cf_submit_named(ex, "capi_thread_pool.greet", "hello", 5, &f), CF_OK);
    CHECK(f != NULL);
    if (f) {
        CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
        CHECK(slice_is_text(r, "hello, registered"));
        cf_future_release(f);
    }

    /* The same registration again is a no-op; another function under the name is refused. */
    CHECK_INT(cf_task_register("capi_thread_pool.greet", task_greet, suffix), CF_OK);
    CHECK_FAILS(cf_task_register("capi_thread_pool.greet", task_reverse, suffix), CF_E_INVALID_ARGUMENT, NULL);
    /* ... and the first registration is kept. */
    f = NULL;
    CHECK_INT(cf_submit_named(ex, "capi_thread_pool.greet", "hi", 2, &f), CF_OK);
    if (f) {
        CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
        CHECK(slice_is_text(r, "hi, registered"));
        cf_future_release(f);
    }

    /* An unknown name. */
    f = NULL;
    CHECK_FAILS(cf_submit_named(ex, "capi_thread_pool.nobody", "x", 1, &f), CF_E_UNKNOWN_TASK,
                "capi_thread_pool.nobody");

    /* CF_TASK registered this one when the program loaded. */
    f = NULL;
    CHECK_INT(cf_submit_named(ex, "capi_thread_pool.loaded", NULL, 0, &f), CF_OK);
    if (f) {
        CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
        CHECK(slice_is_text(r, "loaded"));
        cf_future_release(f);
    }
    /* Registering it again explicitly with the same function and NULL user data is a no-op. */
    CHECK_INT(cf_task_register("capi_thread_pool.loaded", task_loaded, NULL), CF_OK);

    cf_executor_free(ex);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Cancellation requests                                                                                          */

typedef struct shutdown_call {
    pthread_t thread;
    cf_executor *ex;
    int wait, cancel_futures;
    int rc;
} shutdown_call;

static void *shutdown_main(void *p) {
    shutdown_call *s = (shutdown_call *)p;
    s->rc = cf_executor_shutdown(s->ex, s->wait, s->cancel_futures);
    return NULL;
}

static void test_cancel_requested(void) {
    cf_executor *ex;
    cf_future *f;
    cf_slice r;
    cancel_watch w;

    CHECK_INT(cf_task_cancel_requested(NULL), 0);

    /* cf_future_cancel on a running task: returns 0 and asks the task to stop. */
    ex = new_pool(2);
    counter_init(&w.started);
    w.requested_at_start = -1;
    f = submit(ex, task_wait_for_cancel, &w, NULL, 0);
    CHECK(counter_wait(&w.started, 1));
    CHECK_INT(cf_future_running(f), 1);
    CHECK_INT(cf_future_cancel(f), 0);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
    CHECK(slice_is(r, "\1", 1)); /* the task saw the request */
    CHECK_INT(w.requested_at_start, 0);
    CHECK_INT(cf_future_cancelled(f), 0);
    CHECK_INT(cf_future_get_state(f), CF_FINISHED);
    cf_future_release(f);
    counter_destroy(&w.started);
    cf_executor_free(ex);

    /* shutdown(wait=1, cancel_futures=1) from another thread asks the running task to stop, and waits for it. */
    ex = new_pool(1);
    counter_init(&w.started);
    w.requested_at_start = -1;
    f = submit(ex, task_wait_for_cancel, &w, NULL, 0);
    CHECK(counter_wait(&w.started, 1));
    {
        shutdown_call s;
        s.ex = ex;
        s.wait = 1;
        s.cancel_futures = 1;
        s.rc = 12345;
        CHECK_INT(pthread_create(&s.thread, NULL, shutdown_main, &s), 0);
        pthread_join(s.thread, NULL);
        CHECK_INT(s.rc, CF_OK);
    }
    CHECK_INT(cf_future_done(f), 1); /* shutdown waited for it */
    CHECK_INT(cf_future_result(f, 0.0, &r), CF_OK);
    CHECK(slice_is(r, "\1", 1));
    CHECK_INT(w.requested_at_start, 0);
    cf_future_release(f);
    counter_destroy(&w.started);
    cf_executor_free(ex);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Initializers                                                                                                   */

typedef struct init_log {
    counter calls;
    pthread_mutex_t mu;
    int wrong_arg;      /* calls that saw another initarg than "init-arg" */
    int wrong_data;     /* calls whose user_data was not this struct (cannot happen if the first is right) */
} init_log;

static int init_logging(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    init_log *log = (init_log *)user_data;
    (void)ctx;
    pthread_mutex_lock(&log->mu);
    if (len != 8 || arg == NULL || memcmp(arg, "init-arg", 8) != 0) ++log->wrong_arg;
    pthread_mutex_unlock(&log->mu);
    counter_add(&log->calls, 1);
    return CF_OK;
}

/* Every task counts itself in `arrived` and waits for all `needed` to arrive: proves they run at once. */
typedef struct rendezvous {
    counter arrived;
    long needed;
} rendezvous;

static int task_rendezvous(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    rendezvous *rv = (rendezvous *)user_data;
    unsigned char all_met;
    (void)arg, (void)len;
    counter_add(&rv->arrived, 1);
    all_met = (unsigned char)counter_wait(&rv->arrived, rv->needed);
    return cf_task_return(ctx, &all_met, 1);
}

static int init_raise(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    return cf_task_raise(ctx, "RuntimeError", "initializer refuses");
}

static int init_return_error(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    return -1;
}

static void check_broken_by(cf_task_fn initializer) {
    cf_thread_pool_options o;
    cf_executor *ex = NULL;
    cf_future *f = NULL, *g = NULL;
    cf_slice r;
    cf_error e;
    int ran = 0;
    uint32_t x = 3;

    cf_thread_pool_options_init(&o);
    o.max_workers = 1;
    o.initializer = initializer;
    CHECK_INT(cf_thread_pool_new(&o, &ex), CF_OK);
    if (!ex) return;
    CHECK_INT(cf_submit(ex, task_mark_ran, &ran, NULL, 0, &f), CF_OK);
    if (f) {
        CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_E_BROKEN_THREAD_POOL);
        memset(&e, 0, sizeof e);
        CHECK_INT(cf_future_exception(f, CF_FOREVER, &e), CF_OK);
        CHECK_INT(e.status, CF_E_BROKEN_THREAD_POOL);
        CHECK(e.type != NULL && e.type[0] != '\0');
        cf_future_release(f);
    }
    /* The pool is broken for good. */
    CHECK_FAILS(cf_submit(ex, task_square, NULL, &x, sizeof x, &g), CF_E_BROKEN_THREAD_POOL, NULL);
    if (g) cf_future_release(g);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    CHECK_INT(ran, 0);
    cf_executor_free(ex);
}

static void test_initializer(void) {
    cf_thread_pool_options o;
    cf_executor *ex = NULL;
    init_log log;
    rendezvous rv;
    char initarg[9];
    cf_future *fs[4];
    cf_slice r;
    int i, all_met = 1, quick_ok = 1;

    counter_init(&log.calls);
    pthread_mutex_init(&log.mu, NULL);
    log.wrong_arg = 0;
    log.wrong_data = 0;
    counter_init(&rv.arrived);
    rv.needed = 4;

    memcpy(initarg, "init-arg", 9);
    cf_thread_pool_options_init(&o);
    o.max_workers = 4;
    o.initializer = init_logging;
    o.initarg = initarg;
    o.initarg_len = 8;
    o.initializer_data = &log;
    CHECK_INT(cf_thread_pool_new(&o, &ex), CF_OK);
    memset(initarg, '?', 8); /* the options, and what they point to, were copied */
    if (ex) {
        for (i = 0; i < 4; ++i) fs[i] = submit(ex, task_rendezvous, &rv, NULL, 0);
        for (i = 0; i < 4; ++i) {
            if (!fs[i] || cf_future_result(fs[i], CF_FOREVER, &r) != CF_OK || !slice_is(r, "\1", 1)) all_met = 0;
            cf_future_release(fs[i]);
        }
        CHECK(all_met); /* four workers ran at once */
        CHECK_INT(counter_get(&log.calls), 4);
        /* More work reuses the four workers: no new initializer calls. */
        for (i = 0; i < 40; ++i) {
            uint32_t x = (uint32_t)i;
            cf_future *f = submit(ex, task_square, NULL, &x, sizeof x);
            if (!f || cf_future_result(f, CF_FOREVER, &r) != CF_OK || slice_u64(r) != (uint64_t)x * x) quick_ok = 0;
            cf_future_release(f);
        }
        CHECK(quick_ok);
        CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
        CHECK_INT(counter_get(&log.calls), 4);
        pthread_mutex_lock(&log.mu);
        CHECK_INT(log.wrong_arg, 0);
        pthread_mutex_unlock(&log.mu);
        cf_executor_free(ex);
    }
    counter_destroy(&rv.arrived);
    pthread_mutex_destroy(&log.mu);
    counter_destroy(&log.calls);

    check_broken_by(init_raise);
    check_broken_by(init_return_error);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Futures of a pool: thread names, cancelling queued work, releasing, shutdown from inside a task               */

/* Returns the name of the worker thread it runs on. */
static int task_thread_name(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char name[64];
    (void)arg, (void)len, (void)user_data;
    memset(name, 0, sizeof name);
    if (pthread_getname_np(pthread_self(), name, sizeof name) != 0)
        return cf_task_raise(ctx, "OSError", "pthread_getname_np failed");
    return cf_task_return(ctx, name, strlen(name));
}

static void check_worker_name(const char *prefix, const char *want, int want_prefix_only) {
    cf_thread_pool_options o;
    cf_executor *ex = NULL;
    cf_future *f;
    cf_slice r;
    char got[64];

    cf_thread_pool_options_init(&o);
    o.max_workers = 1;
    o.thread_name_prefix = prefix;
    CHECK_INT(cf_thread_pool_new(&o, &ex), CF_OK);
    if (!ex) return;
    f = submit(ex, task_thread_name, NULL, NULL, 0);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
    memset(got, 0, sizeof got);
    if (r.data && r.len < sizeof got) memcpy(got, r.data, r.len);
    if (want_prefix_only) {
        /* Default names: "cf<k>_0" for some pool number k. */
        CHECK(strncmp(got, want, strlen(want)) == 0);
        CHECK(strlen(got) >= 5 && strcmp(got + strlen(got) - 2, "_0") == 0);
    } else {
        CHECK_STR(got, want);
    }
    cf_future_release(f);
    cf_executor_free(ex);
}

/* max_workers 0 means min(32, usable CPUs + 4): that many held tasks run at once, and one more waits. */
static void test_default_max_workers(void) {
    cpu_set_t set;
    long cpus, k, i;
    cf_executor *ex = NULL;
    cf_future *fs[33];
    cf_future *extra = NULL;
    gated g;
    cf_slice r;
    int all_ok = 1;

    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return; /* cannot tell the expected number */
    cpus = CPU_COUNT(&set);
    k = cpus + 4 < 32 ? cpus + 4 : 32;

    CHECK_INT(cf_thread_pool_new(NULL, &ex), CF_OK);
    if (!ex) return;
    gated_init(&g);
    for (i = 0; i < k; ++i) fs[i] = submit(ex, task_gated_echo, &g, "w", 1);
    CHECK(counter_wait(&g.started, k)); /* k workers hold a task each */
    extra = submit(ex, task_no_result, NULL, NULL, 0);
    CHECK_INT(cf_future_get_state(extra), CF_PENDING); /* no worker k+1 */
    CHECK_INT(counter_get(&g.started), k);
    counter_add(&g.release, 1);
    for (i = 0; i < k; ++i) {
        if (!fs[i] || cf_future_result(fs[i], CF_FOREVER, &r) != CF_OK) all_ok = 0;
        cf_future_release(fs[i]);
    }
    CHECK(all_ok);
    CHECK_INT(cf_future_result(extra, CF_FOREVER, &r), CF_OK);
    cf_future_release(extra);
    cf_executor_free(ex);
    gated_destroy(&g);
}

typedef struct inner_shutdown {
    cf_executor *ex;
    counter started;
    int rc;
} inner_shutdown;

/* Shuts its own pool down with wait=1: waits for the others, not for itself. */
static int task_shutdown_own_pool(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    inner_shutdown *in = (inner_shutdown *)user_data;
    (void)arg, (void)len;
    counter_add(&in->started, 1);
    in->rc = cf_executor_shutdown(in->ex, 1, 0);
    return cf_task_return(ctx, "shut", 4);
}

static void test_pool_futures(void) {
    cf_executor *ex;
    cf_future *a, *b;
    cf_slice r;
    gated g;
    int ran_b;

    check_worker_name("capi_pool", "capi_pool_0", 0);
    check_worker_name("a_rather_long_prefix", "a_rather_long_p", 0); /* cut to the 15 bytes Linux keeps */
    check_worker_name(NULL, "cf", 1);
    test_default_max_workers();

    /* A queued future cancelled with cf_future_cancel never runs. */
    ex = new_pool(1);
    gated_init(&g);
    ran_b = 0;
    a = submit(ex, task_gated_echo, &g, "A", 1);
    CHECK(counter_wait(&g.started, 1));
    b = submit(ex, task_mark_ran, &ran_b, NULL, 0);
    CHECK_INT(cf_future_cancel(b), 1);
    CHECK_INT(cf_future_cancelled(b), 1);
    CHECK_INT(cf_future_result(b, 0.0, &r), CF_E_CANCELLED);
    counter_add(&g.release, 1);
    CHECK_INT(cf_future_result(a, CF_FOREVER, &r), CF_OK);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    CHECK_INT(ran_b, 0);
    cf_future_release(a);
    cf_future_release(b);
    gated_destroy(&g);
    cf_executor_free(ex);

    /* Releasing a future does not cancel its task. */
    ex = new_pool(1);
    gated_init(&g);
    ran_b = 0;
    a = submit(ex, task_gated_echo, &g, "A", 1);
    CHECK(counter_wait(&g.started, 1));
    b = submit(ex, task_mark_ran, &ran_b, NULL, 0);
    cf_future_release(b);
    cf_future_release(a);
    counter_add(&g.release, 1);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    CHECK_INT(ran_b, 1);
    gated_destroy(&g);
    cf_executor_free(ex);

    /* shutdown(wait=1) from one of the pool's own tasks waits for the other task and returns. */
    ex = new_pool(2);
    gated_init(&g);
    {
        inner_shutdown in;
        in.ex = ex;
        in.rc = 12345;
        counter_init(&in.started);
        a = submit(ex, task_gated_echo, &g, "A", 1);
        CHECK(counter_wait(&g.started, 1));
        b = submit(ex, task_shutdown_own_pool, &in, NULL, 0);
        CHECK(counter_wait(&in.started, 1));
        CHECK_INT(cf_future_done(b), 0); /* it waits for a, which is held */
        counter_add(&g.release, 1);
        CHECK_INT(cf_future_result(b, GIVE_UP_SECONDS, &r), CF_OK);
        CHECK(slice_is_text(r, "shut"));
        CHECK_INT(in.rc, CF_OK);
        CHECK_INT(cf_future_done(a), 1); /* the shutdown inside b waited for a */
        cf_future_release(a);
        cf_future_release(b);
        cf_executor_free(ex);
        counter_destroy(&in.started);
    }
    gated_destroy(&g);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Shutdown                                                                                                       */

static void test_shutdown(void) {
    cf_executor *ex;
    cf_future *a, *b, *c, *late = NULL;
    cf_map_iter *it = NULL;
    cf_slice r;
    gated g;
    int ran_b = 0, ran_c = 0;
    uint32_t x = 5;

    /* cancel_futures: the queued ones are cancelled, the running one finishes. */
    ex = new_pool(1);
    gated_init(&g);
    a = submit(ex, task_gated_echo, &g, "A", 1);
    CHECK(counter_wait(&g.started, 1));
    b = submit(ex, task_mark_ran, &ran_b, NULL, 0);
    c = submit(ex, task_mark_ran, &ran_c, NULL, 0);
    CHECK_INT(cf_future_get_state(b), CF_PENDING); /* the single worker is held by a */
    CHECK_INT(cf_executor_shutdown(ex, 0, 1), CF_OK);
    CHECK_INT(cf_future_cancelled(b), 1);
    CHECK_INT(cf_future_cancelled(c), 1);
    CHECK_INT(cf_future_running(a), 1);
    CHECK_FAILS(cf_submit(ex, task_square, NULL, &x, sizeof x, &late), CF_E_SHUTDOWN, NULL);
    counter_add(&g.release, 1);
    CHECK_INT(cf_future_result(a, CF_FOREVER, &r), CF_OK);
    CHECK(slice_is_text(r, "A"));
    CHECK_INT(cf_future_result(b, CF_FOREVER, &r), CF_E_CANCELLED);
    /* Idempotent, whatever the arguments. */
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    CHECK_INT(cf_executor_shutdown(ex, 1, 1), CF_OK);
    CHECK_INT(cf_executor_shutdown(ex, 0, 0), CF_OK);
    CHECK_INT(ran_b, 0);
    CHECK_INT(ran_c, 0);
    /* map after shutdown fails like submit. */
    {
        cf_slice arg;
        arg.data = &x;
        arg.len = sizeof x;
        CHECK_FAILS(cf_map(ex, task_square, NULL, &arg, 1, NULL, &it), CF_E_SHUTDOWN, NULL);
    }
    cf_future_release(a);
    cf_future_release(b);
    cf_future_release(c);
    gated_destroy(&g);
    cf_executor_free(ex);

    /* Without cancel_futures the queued work still runs. */
    ex = new_pool(1);
    gated_init(&g);
    ran_b = 0;
    a = submit(ex, task_gated_echo, &g, "A", 1);
    CHECK(counter_wait(&g.started, 1));
    b = submit(ex, task_mark_ran, &ran_b, NULL, 0);
    CHECK_INT(cf_executor_shutdown(ex, 0, 0), CF_OK);
    CHECK_INT(cf_future_cancelled(b), 0);
    counter_add(&g.release, 1);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    CHECK_INT(cf_future_done(a), 1);
    CHECK_INT(cf_future_done(b), 1);
    CHECK_INT(cf_future_result(b, 0.0, &r), CF_OK);
    CHECK(slice_is_text(r, "ran"));
    CHECK_INT(ran_b, 1);
    cf_future_release(a);
    cf_future_release(b);
    gated_destroy(&g);
    cf_executor_free(ex);

    /* terminate/kill apply to process pools only; the thread pool is unharmed. */
    ex = new_pool(2);
    CHECK_FAILS(cf_executor_terminate_workers(ex), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_executor_kill_workers(ex), CF_E_INVALID_ARGUMENT, NULL);
    a = submit(ex, task_square, NULL, &x, sizeof x);
    CHECK_INT(cf_future_result(a, CF_FOREVER, &r), CF_OK);
    CHECK_INT(slice_u64(r), 25);
    cf_future_release(a);
    cf_executor_free(ex);

    cf_executor_free(NULL);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* map                                                                                                            */

/* Hands out 0, 1, 2, ... (limit 0: without end), counting what it gave against what the test consumed. */
typedef struct number_source {
    uint32_t next;
    uint32_t limit;
    long fail_at;       /* >= 0: return fail_status instead of this item */
    int fail_status;
    long handed;        /* items given out */
    long consumed;      /* results the test has taken (updated by the test) */
    long most_ahead;    /* the largest handed - consumed seen */
    uint32_t current;   /* the bytes of the slice last given out */
    pthread_t owner;    /* the thread that calls cf_map_source / cf_map_next */
    int foreign_calls;  /* calls from any other thread */
} number_source;

static void number_source_init(number_source *s, uint32_t limit) {
    memset(s, 0, sizeof *s);
    s->limit = limit;
    s->fail_at = -1;
    s->owner = pthread_self();
}

static int number_source_next(void *state, cf_slice *next) {
    number_source *s = (number_source *)state;
    if (!pthread_equal(pthread_self(), s->owner)) ++s->foreign_calls;
    if (s->fail_at >= 0 && (long)s->next == s->fail_at) return s->fail_status;
    if (s->limit != 0 && s->next == s->limit) return CF_DONE;
    s->current = s->next++;
    ++s->handed;
    if (s->handed - s->consumed > s->most_ahead) s->most_ahead = s->handed - s->consumed;
    next->data = &s->current;
    next->len = sizeof s->current;
    return CF_OK;
}

static void test_map_ordered_and_chunked(cf_executor *ex) {
    enum { N = 30 };
    uint32_t vals[N];
    cf_slice args[N];
    cf_map_options o;
    cf_map_iter *it = NULL;
    cf_slice r;
    size_t i;
    int ok;

    for (i = 0; i < N; ++i) {
        vals[i] = (uint32_t)i;
        args[i].data = &vals[i];
        args[i].len = sizeof vals[i];
    }

    /* In input order. */
    CHECK_INT(cf_map(ex, task_square, NULL, args, N, NULL, &it), CF_OK);
    CHECK(it != NULL);
    if (it) {
        ok = 1;
        for (i = 0; i < N; ++i)
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* chunksize 3 over 10 items: the last chunk is short. */
    cf_map_options_init(&o);
    o.chunksize = 3;
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, args, 10, &o, &it), CF_OK);
    if (it) {
        ok = 1;
        for (i = 0; i < 10; ++i)
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* unordered: every result exactly once. */
    cf_map_options_init(&o);
    o.unordered = 1;
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, args, N, &o, &it), CF_OK);
    if (it) {
        int times[N];
        int got = 0, strange = 0, twice = 0, rc;
        memset(times, 0, sizeof times);
        while ((rc = cf_map_next(it, &r)) == CF_OK) {
            uint64_t v = slice_u64(r);
            size_t root = 0;
            while (root < N && (uint64_t)root * root != v) ++root;
            if (root == N) {
                ++strange;
                continue;
            }
            if (times[root]++) ++twice;
            ++got;
            if (got > N) break;
        }
        CHECK_INT(rc, CF_DONE);
        CHECK_INT(got, N);
        CHECK_INT(strange, 0);
        CHECK_INT(twice, 0);
        cf_map_free(it);
    }

    /* unordered with chunks. */
    cf_map_options_init(&o);
    o.unordered = 1;
    o.chunksize = 4;
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, args, N, &o, &it), CF_OK);
    if (it) {
        uint64_t sum = 0, want = 0;
        int got = 0, rc;
        while ((rc = cf_map_next(it, &r)) == CF_OK && got <= N) {
            sum += slice_u64(r);
            ++got;
        }
        for (i = 0; i < N; ++i) want += i * i;
        CHECK_INT(rc, CF_DONE);
        CHECK_INT(got, N);
        CHECK(sum == want);
        cf_map_free(it);
    }

    /* n_args 0 with NULL args: an empty map. */
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, NULL, 0, NULL, &it), CF_OK);
    CHECK(it != NULL);
    if (it) {
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* An empty source. */
    {
        number_source s;
        number_source_init(&s, 0);
        s.fail_at = 0;
        s.fail_status = CF_DONE;
        it = NULL;
        CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, NULL, &it), CF_OK);
        if (it) {
            CHECK_INT(cf_map_next(it, &r), CF_DONE);
            cf_map_free(it);
        }
    }

    /* chunksize 0 through cf_map_source too. */
    {
        number_source s;
        number_source_init(&s, 5);
        cf_map_options_init(&o);
        o.chunksize = 0;
        it = NULL;
        CHECK_FAILS(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_E_INVALID_ARGUMENT,
                    NULL);
    }
}

static void test_map_buffersize(cf_executor *ex) {
    cf_map_options o;
    cf_map_iter *it = NULL;
    cf_slice r;
    number_source s;
    int ok, rc;
    uint64_t i;

    /* buffersize 2 over 200 items: the source never runs far ahead of the consumer. */
    number_source_init(&s, 200);
    cf_map_options_init(&o);
    o.buffersize = 2;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_OK);
    CHECK(s.handed <= 3); /* not drained by cf_map_source */
    if (it) {
        ok = 1;
        for (i = 0; i < 200; ++i) {
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
            ++s.consumed;
        }
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }
    CHECK_INT(s.handed, 200);
    CHECK(s.most_ahead >= 1);
    CHECK(s.most_ahead <= 3); /* buffersize, plus at most the one being submitted as one is handed back */
    CHECK_INT(s.foreign_calls, 0);

    /* buffersize 2 with chunks of 5: at most about (buffersize + 1) chunks ahead. */
    number_source_init(&s, 100);
    cf_map_options_init(&o);
    o.buffersize = 2;
    o.chunksize = 5;
    it = NULL;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_OK);
    if (it) {
        ok = 1;
        for (i = 0; i < 100; ++i) {
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
            ++s.consumed;
        }
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }
    CHECK(s.most_ahead <= 3 * 5);
    CHECK_INT(s.foreign_calls, 0);

    /* unordered with buffersize: every item once, still bounded. */
    number_source_init(&s, 60);
    cf_map_options_init(&o);
    o.buffersize = 3;
    o.unordered = 1;
    it = NULL;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_OK);
    if (it) {
        unsigned char seen[60];
        int got = 0, dup = 0, strange = 0;
        memset(seen, 0, sizeof seen);
        while ((rc = cf_map_next(it, &r)) == CF_OK && got <= 60) {
            uint64_t v = slice_u64(r);
            size_t root = 0;
            while (root < 60 && (uint64_t)root * root != v) ++root;
            if (root == 60) ++strange;
            else if (seen[root]++) ++dup;
            ++got;
            ++s.consumed;
        }
        CHECK_INT(rc, CF_DONE);
        CHECK_INT(got, 60);
        CHECK_INT(dup, 0);
        CHECK_INT(strange, 0);
        cf_map_free(it);
    }
    CHECK(s.most_ahead <= 4);

    /* buffersize 0 drains the source in cf_map_source. */
    number_source_init(&s, 50);
    it = NULL;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, NULL, &it), CF_OK);
    CHECK_INT(s.handed, 50);
    if (it) {
        ok = 1;
        for (i = 0; i < 50; ++i)
            if (cf_map_next(it, &r) != CF_OK || slice_u64(r) != i * i) ok = 0;
        CHECK(ok);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* An endless source (as far as the map can tell: it would only end after 100000 items, a guard that keeps a
     * library ignoring buffersize from running out of memory instead of failing the check): take 1000 results,
     * then stop. */
    number_source_init(&s, 100000);
    cf_map_options_init(&o);
    o.buffersize = 4;
    it = NULL;
    CHECK_INT(cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it), CF_OK);
    if (it) {
        ok = 1;
        for (i = 0; i < 1000; ++i) {
            rc = cf_map_next(it, &r);
            if (rc != CF_OK || slice_u64(r) != i * i) {
                ok = 0;
                break;
            }
            ++s.consumed;
        }
        CHECK(ok);
        cf_map_free(it);
    }
    CHECK(s.handed >= 1000);
    CHECK(s.handed <= 1000 + 5);
    CHECK_INT(s.foreign_calls, 0);
}

static void test_map_failures(cf_executor *ex) {
    uint32_t vals[4] = {0, 1, 2, 3};
    cf_slice args[4];
    cf_map_options o;
    cf_map_iter *it = NULL;
    cf_slice r;
    cf_error e;
    size_t i;
    int rc;

    for (i = 0; i < 4; ++i) {
        args[i].data = &vals[i];
        args[i].len = sizeof vals[i];
    }

    /* The third of four fails: two results, the failure once, then the end. */
    CHECK_INT(cf_map(ex, task_square_but_2, NULL, args, 4, NULL, &it), CF_OK);
    if (it) {
        char before[512];
        CHECK_INT(cf_map_next(it, &r), CF_OK);
        CHECK_INT(slice_u64(r), 0);
        CHECK_INT(cf_map_next(it, &r), CF_OK);
        CHECK_INT(slice_u64(r), 1);
        check_prime_error(before, sizeof before);
        CHECK_INT(cf_map_next(it, &r), CF_E_TASK_FAILED);
        check_fresh_error(before, NULL, __FILE__, __LINE__, "cf_map_next on the failing item");
        memset(&e, 0, sizeof e);
        CHECK_INT(cf_map_error(it, &e), CF_OK);
        CHECK_INT(e.status, CF_E_TASK_FAILED);
        CHECK_STR(e.type, "ValueError");
        CHECK_STR(e.message, "item 2 is bad");
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* The same with chunks of 3: item 2 is the last of the first chunk. */
    cf_map_options_init(&o);
    o.chunksize = 3;
    it = NULL;
    CHECK_INT(cf_map(ex, task_square_but_2, NULL, args, 4, &o, &it), CF_OK);
    if (it) {
        CHECK_INT(cf_map_next(it, &r), CF_OK);
        CHECK_INT(cf_map_next(it, &r), CF_OK);
        CHECK_INT(slice_u64(r), 1);
        CHECK_INT(cf_map_next(it, &r), CF_E_TASK_FAILED);
        memset(&e, 0, sizeof e);
        CHECK_INT(cf_map_error(it, &e), CF_OK);
        CHECK_INT(e.status, CF_E_TASK_FAILED);
        CHECK_STR(e.message, "item 2 is bad");
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }

    /* A timeout, measured from cf_map: the task is held on a gate. The gate is static: once released, the task
     * may still be on its way out of it when this test moves on (the pool's shutdown waits for it). */
    {
        static gated g;
        cf_slice one;
        gated_init(&g);
        one.data = "held";
        one.len = 4;
        cf_map_options_init(&o);
        o.timeout = 0.05;
        it = NULL;
        CHECK_INT(cf_map(ex, task_gated_echo, &g, &one, 1, &o, &it), CF_OK);
        if (it) {
            char before[512];
            check_prime_error(before, sizeof before);
            CHECK_INT(cf_map_next(it, &r), CF_E_TIMEOUT);
            check_fresh_error(before, NULL, __FILE__, __LINE__, "cf_map_next after its timeout");
            memset(&e, 0, sizeof e);
            CHECK_INT(cf_map_error(it, &e), CF_OK);
            CHECK_INT(e.status, CF_E_TIMEOUT);
            CHECK_INT(cf_map_next(it, &r), CF_DONE);
        }
        counter_add(&g.release, 1);
        cf_map_free(it);
    }

    /* A source that returns an error status ends the map with an error, after (at most) the items before it. */
    {
        size_t buffersizes[3] = {0, 1, 3};
        size_t b;
        for (b = 0; b < 3; ++b) {
            number_source s;
            char before[512];
            int results = 0, right = 1;
            number_source_init(&s, 10);
            s.fail_at = 3;
            s.fail_status = CF_E_SYSTEM;
            cf_map_options_init(&o);
            o.buffersize = buffersizes[b];
            it = NULL;
            check_prime_error(before, sizeof before);
            rc = cf_map_source(ex, task_square, NULL, number_source_next, &s, &o, &it);
            if (rc == CF_OK && it != NULL) {
                while ((rc = cf_map_next(it, &r)) == CF_OK && results <= 3) {
                    if (slice_u64(r) != (uint64_t)results * results) right = 0;
                    ++results;
                    ++s.consumed;
                }
                CHECK(rc < 0);
                check_fresh_error(before, NULL, __FILE__, __LINE__, "a map whose source failed");
                CHECK(results <= 3);
                CHECK(right);
                memset(&e, 0, sizeof e);
                CHECK_INT(cf_map_error(it, &e), CF_OK);
                CHECK(e.status < 0);
                CHECK_INT(cf_map_next(it, &r), CF_DONE);
                cf_map_free(it);
            } else {
                /* Or cf_map_source itself reports it (it drains the source when buffersize is 0). */
                CHECK(rc < 0);
                check_fresh_error(before, NULL, __FILE__, __LINE__, "cf_map_source with a failing source");
            }
        }
    }
}

/* arg 0 fails, arg 1 waits on the gate in user_data, every other arg counts itself in the gate's `started`. */
typedef struct map_stop {
    gated gate;
    counter others;
} map_stop;

static int task_fail_hold_count(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    map_stop *m = (map_stop *)user_data;
    uint32_t x = 0;
    if (len == sizeof x) memcpy(&x, arg, sizeof x);
    if (x == 0) return cf_task_raise(ctx, "ValueError", "first item fails");
    if (x == 1) return task_gated_echo(ctx, arg, len, &m->gate);
    counter_add(&m->others, 1);
    return cf_task_return(ctx, arg, len);
}

/* What has not started is cancelled: after a failure, and by cf_map_free. One worker keeps it deterministic. */
static void test_map_cancels_the_rest(void) {
    enum { N = 6 };
    uint32_t vals[N];
    cf_slice args[N];
    cf_executor *ex = new_pool(1);
    cf_map_iter *it = NULL;
    cf_slice r;
    map_stop m;
    size_t i;

    for (i = 0; i < N; ++i) {
        vals[i] = (uint32_t)i;
        args[i].data = &vals[i];
        args[i].len = sizeof vals[i];
    }

    /* Item 0 fails while item 1 is held (or not yet started): items 2.. never run. */
    gated_init(&m.gate);
    counter_init(&m.others);
    CHECK_INT(cf_map(ex, task_fail_hold_count, &m, args, N, NULL, &it), CF_OK);
    if (it) {
        CHECK_INT(cf_map_next(it, &r), CF_E_TASK_FAILED);
        counter_add(&m.gate.release, 1);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }
    counter_add(&m.gate.release, 1);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK); /* every task that was going to run has run */
    CHECK_INT(counter_get(&m.others), 0);
    cf_executor_free(ex);
    counter_destroy(&m.others);
    gated_destroy(&m.gate);

    /* cf_map_free while the one worker is held: the queued items never run. */
    ex = new_pool(1);
    gated_init(&m.gate);
    counter_init(&m.others);
    {
        cf_future *hold = submit(ex, task_gated_echo, &m.gate, "H", 1);
        CHECK(counter_wait(&m.gate.started, 1));
        it = NULL;
        CHECK_INT(cf_map(ex, task_fail_hold_count, &m, args + 2, N - 2, NULL, &it), CF_OK);
        cf_map_free(it);
        counter_add(&m.gate.release, 1);
        CHECK_INT(cf_future_result(hold, CF_FOREVER, &r), CF_OK);
        CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
        CHECK_INT(counter_get(&m.others), 0);
        cf_future_release(hold);
    }
    cf_executor_free(ex);
    counter_destroy(&m.others);
    gated_destroy(&m.gate);

    /* An argument slice with NULL data and a length is refused. */
    ex = new_pool(1);
    {
        cf_slice bad[2];
        bad[0] = args[0];
        bad[1].data = NULL;
        bad[1].len = 4;
        it = NULL;
        CHECK_FAILS(cf_map(ex, task_square, NULL, bad, 2, NULL, &it), CF_E_INVALID_ARGUMENT, NULL);
    }
    cf_executor_free(ex);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Argument checking                                                                                              */

static void test_null_arguments(void) {
    cf_executor *ex = new_pool(1);
    cf_future *f = NULL;
    cf_map_iter *it = NULL;
    cf_thread_pool_options o;
    cf_slice r, arg;
    cf_error e;
    number_source s;
    uint32_t x = 1;

    arg.data = &x;
    arg.len = sizeof x;
    number_source_init(&s, 3);
    cf_thread_pool_options_init(&o);

    CHECK_FAILS(cf_thread_pool_new(NULL, NULL), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_thread_pool_new(&o, NULL), CF_E_INVALID_ARGUMENT, NULL);

    CHECK_FAILS(cf_submit(NULL, task_square, NULL, &x, sizeof x, &f), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_submit(ex, NULL, NULL, &x, sizeof x, &f), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_submit(ex, task_square, NULL, &x, sizeof x, NULL), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_submit(ex, task_square, NULL, NULL, 4, &f), CF_E_INVALID_ARGUMENT, NULL);

    CHECK_FAILS(cf_submit_named(NULL, "capi_thread_pool.loaded", NULL, 0, &f), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_submit_named(ex, NULL, NULL, 0, &f), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_submit_named(ex, "capi_thread_pool.loaded", NULL, 0, NULL), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_submit_named(ex, "capi_thread_pool.loaded", NULL, 4, &f), CF_E_INVALID_ARGUMENT, NULL);

    CHECK_FAILS(cf_map(NULL, task_square, NULL, &arg, 1, NULL, &it), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_map(ex, NULL, NULL, &arg, 1, NULL, &it), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_map(ex, task_square, NULL, NULL, 3, NULL, &it), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_map(ex, task_square, NULL, &arg, 1, NULL, NULL), CF_E_INVALID_ARGUMENT, NULL);

    CHECK_FAILS(cf_map_source(NULL, task_square, NULL, number_source_next, &s, NULL, &it), CF_E_INVALID_ARGUMENT,
                NULL);
    CHECK_FAILS(cf_map_source(ex, NULL, NULL, number_source_next, &s, NULL, &it), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_map_source(ex, task_square, NULL, NULL, &s, NULL, &it), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_map_source(ex, task_square, NULL, number_source_next, &s, NULL, NULL), CF_E_INVALID_ARGUMENT,
                NULL);
    CHECK_INT(s.handed, 0); /* none of those touched the source */

    CHECK_FAILS(cf_map_next(NULL, &r), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_map_error(NULL, &e), CF_E_INVALID_ARGUMENT, NULL);
    it = NULL;
    CHECK_INT(cf_map(ex, task_square, NULL, &arg, 1, NULL, &it), CF_OK);
    if (it) {
        CHECK_FAILS(cf_map_next(it, NULL), CF_E_INVALID_ARGUMENT, NULL);
        CHECK_FAILS(cf_map_error(it, NULL), CF_E_INVALID_ARGUMENT, NULL);
        /* Still usable afterwards. */
        CHECK_INT(cf_map_next(it, &r), CF_OK);
        CHECK_INT(slice_u64(r), 1);
        CHECK_INT(cf_map_next(it, &r), CF_DONE);
        cf_map_free(it);
    }
    cf_map_free(NULL);

    CHECK_FAILS(cf_executor_shutdown(NULL, 1, 0), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_task_return(NULL, "x", 1), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_task_raise(NULL, "ValueError", "no task"), CF_E_INVALID_ARGUMENT, NULL);
    {
        char before[512];
        check_prime_error(before, sizeof before);
        CHECK(cf_task_return_buffer(NULL, 4) == NULL);
        check_fresh_error(before, NULL, __FILE__, __LINE__, "cf_task_return_buffer(NULL, 4)");
    }
    CHECK_FAILS(cf_executor_terminate_workers(NULL), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_executor_kill_workers(NULL), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_task_register(NULL, task_square, NULL), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_task_register("capi_thread_pool.null_fn", NULL, NULL), CF_E_INVALID_ARGUMENT, NULL);

    /* A future where an executor (or a map iterator) belongs: refused, not a crash. */
    {
        cf_future *not_ex = NULL;
        cf_executor *wrong;
        cf_map_iter *wrong_it;
        CHECK_INT(cf_future_new(&not_ex), CF_OK);
        wrong = (cf_executor *)(void *)not_ex;
        wrong_it = (cf_map_iter *)(void *)not_ex;
        if (not_ex) {
            CHECK_FAILS(cf_submit(wrong, task_square, NULL, &x, sizeof x, &f), CF_E_INVALID_ARGUMENT, NULL);
            CHECK_FAILS(cf_submit_named(wrong, "capi_thread_pool.loaded", NULL, 0, &f), CF_E_INVALID_ARGUMENT,
                        NULL);
            CHECK_FAILS(cf_executor_shutdown(wrong, 1, 1), CF_E_INVALID_ARGUMENT, NULL);
            CHECK_FAILS(cf_executor_terminate_workers(wrong), CF_E_INVALID_ARGUMENT, NULL);
            CHECK_FAILS(cf_executor_kill_workers(wrong), CF_E_INVALID_ARGUMENT, NULL);
            CHECK_FAILS(cf_map(wrong, task_square, NULL, &arg, 1, NULL, &it), CF_E_INVALID_ARGUMENT, NULL);
            CHECK_FAILS(cf_map_source(wrong, task_square, NULL, number_source_next, &s, NULL, &it),
                        CF_E_INVALID_ARGUMENT, NULL);
            CHECK_FAILS(cf_map_next(wrong_it, &r), CF_E_INVALID_ARGUMENT, NULL);
            CHECK_FAILS(cf_map_error(wrong_it, &e), CF_E_INVALID_ARGUMENT, NULL);
            /* The future itself was not disturbed. */
            CHECK_INT(cf_future_get_state(not_ex), CF_PENDING);
            cf_future_release(not_ex);
        }
    }

    /* The executor is still fine after all that. */
    f = submit(ex, task_square, NULL, &x, sizeof x);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &r), CF_OK);
    CHECK_INT(slice_u64(r), 1);
    cf_future_release(f);
    cf_executor_free(ex);
}

/* ------------------------------------------------------------------------------------------------------------ */

int main(void) {
    cf_executor *ex;

    test_options_init();
    test_pool_options();
    test_map_options();
    test_submit_results();
    test_registry();
    test_cancel_requested();
    test_initializer();
    test_pool_futures();
    test_shutdown();

    ex = new_pool(4);
    test_map_ordered_and_chunked(ex);
    test_map_buffersize(ex);
    test_map_failures(ex);
    cf_executor_free(ex);
    test_map_cancels_the_rest();

    test_null_arguments();
    CHECK(cf_last_error() != NULL);

    return check_summary();
}
