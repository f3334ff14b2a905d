/* SPDX-License-Identifier: MIT */
/*
 * The executor part of the C ABI, driven from plain C99 against a thread pool: options structs, cf_submit and
 * the cf_task_* calls a task makes, the registry (cf_task_register, CF_TASK, cf_submit_named), cancellation
 * requests, initializers, shutdown, and argument checking (cf_map and cf_map_source: test_capi_thread_pool_map.c).
 *
 * No framework: CHECK counts and reports, main prints "N passed, M failed" and fails if M > 0; each test function
 * is a ctest case of its own (check.h).
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
#include "thread_pool_checks.h"

/* ------------------------------------------------------------------------------------------------------------ */
/* Options                                                                                                        */

/* What a caller built against a newer header would pass: the options followed by fields this library lacks. */
typedef struct newer_pool_options {
    cf_thread_pool_options known;
    uint64_t unknown[6];
} newer_pool_options;

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

/* Registered by CF_TASK at load time, never by an explicit call. */
static int task_loaded(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    return cf_task_return(ctx, "loaded", 6);
}
CF_TASK("capi_thread_pool.loaded", task_loaded);

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
    CHECK(cf_last_error() != NULL); /* never NULL, whatever ran before (all of the tests, in a whole run) */
}

/* ------------------------------------------------------------------------------------------------------------ */

static const check_test tests[] = {
    CHECK_TEST(test_options_init),
    CHECK_TEST(test_pool_options),
    CHECK_TEST(test_submit_results),
    CHECK_TEST(test_registry),
    CHECK_TEST(test_cancel_requested),
    CHECK_TEST(test_initializer),
    CHECK_TEST(test_pool_futures),
    CHECK_TEST(test_shutdown),
    CHECK_TEST(test_null_arguments),
};

int main(int argc, char **argv) { return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL); }
