/* SPDX-License-Identifier: MIT */
/*
 * The process-pool part of the C ABI from plain C99, for the fork, spawn and forkserver start methods: options, registered
 * tasks, results and failures through shared memory, map, a worker killed mid-task, terminate/kill, and bad input.
 * A spawned worker re-executes this program, so main() calls cf_process_worker_entry() first.
 */
#define _POSIX_C_SOURCE 200809L

#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

static int square(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int64_t v;
    (void)user_data;
    if (len != sizeof v) return cf_task_raise(ctx, "ValueError", "square wants 8 bytes");
    memcpy(&v, arg, sizeof v);
    v *= v;
    return cf_task_return(ctx, &v, sizeof v);
}
CF_TASK("square", square);

static int fill(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint32_t n;
    unsigned char *out;
    (void)user_data;
    if (len != sizeof n) return -5;
    memcpy(&n, arg, sizeof n);
    out = cf_task_return_buffer(ctx, n);
    if (!out) return CF_E_TOO_LARGE;
    memset(out, 'z', n);
    return CF_OK;
}
CF_TASK("fill", fill);

static int die(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    raise(SIGKILL);
    return CF_OK;
}
CF_TASK("die", die);

static int sleepy(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    sleep(30);
    return CF_OK;
}
CF_TASK("sleepy", sleepy);

/* Runs until it is asked to stop, then says so by raising. */
static int until_cancelled(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    while (!cf_task_cancel_requested(ctx)) sched_yield();
    return cf_task_raise(ctx, "CancelledError", "stopped on request");
}
CF_TASK("until_cancelled", until_cancelled);

static int not_registered(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    return CF_OK;
}

static cf_executor *new_pool(cf_start_method method, size_t workers) {
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    cf_process_pool_options_init(&o);
    o.start_method = method;
    o.max_workers = workers;
    o.shared_memory_bytes = (size_t)8 << 20;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    return ex;
}

static void test_results_and_failures(cf_start_method method) {
    cf_executor *ex = new_pool(method, 2);
    int64_t seven = 7, r;
    cf_future *f = NULL;
    cf_slice out;
    cf_error err;
    if (!ex) return;

    CHECK_INT(cf_submit(ex, square, NULL, &seven, sizeof seven, &f), CF_OK);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &out), CF_OK);
    CHECK_INT(out.len, sizeof r);
    memcpy(&r, out.data, sizeof r);
    CHECK_INT(r, 49);
    cf_future_release(f);

    CHECK_INT(cf_submit_named(ex, "square", "xy", 2, &f), CF_OK);
    CHECK_INT(cf_future_result(f, CF_FOREVER, &out), CF_E_TASK_FAILED);
    CHECK_INT(cf_future_exception(f, 0, &err), CF_OK);
    CHECK_INT(err.status, CF_E_TASK_FAILED);
    CHECK_CONTAINS(err.type, "ValueError");
    CHECK_CONTAINS(err.message, "8 bytes");
    CHECK_CONTAINS(err.detail, "square");
    cf_future_release(f);

    CHECK_INT(cf_submit(ex, not_registered, NULL, NULL, 0, &f), CF_E_UNKNOWN_TASK);
    CHECK_CONTAINS(cf_last_error(), "not registered");
    CHECK_INT(cf_submit_named(ex, "no such task", NULL, 0, &f), CF_E_UNKNOWN_TASK);
    CHECK_CONTAINS(cf_last_error(), "no such task");

    {   /* a big result written in place, and one larger than the worker's heap, which arrives in parts */
        uint32_t n = 1u << 20;
        CHECK_INT(cf_submit(ex, fill, NULL, &n, sizeof n, &f), CF_OK);
        CHECK_INT(cf_future_result(f, CF_FOREVER, &out), CF_OK);
        CHECK_INT(out.len, n);
        CHECK(out.len == n && ((const char *)out.data)[0] == 'z' && ((const char *)out.data)[n - 1] == 'z');
        cf_future_release(f);
        n = 64u << 20;
        CHECK_INT(cf_submit(ex, fill, NULL, &n, sizeof n, &f), CF_OK);
        CHECK_INT(cf_future_result(f, CF_FOREVER, &out), CF_OK);
        CHECK(out.len == n && ((const char *)out.data)[0] == 'z' && ((const char *)out.data)[n - 1] == 'z');
        cf_future_release(f);
        n = 16;
        CHECK_INT(cf_submit(ex, fill, NULL, &n, sizeof n, &f), CF_OK);
        CHECK_INT(cf_future_result(f, CF_FOREVER, &out), CF_OK);  /* still usable */
        cf_future_release(f);
    }
    {   /* an argument that can never fit the arena */
        size_t big = (size_t)16 << 20;
        char *buf = calloc(1, big);
        CHECK_INT(cf_submit(ex, square, NULL, buf, big, &f), CF_E_TOO_LARGE);
        free(buf);
    }
    {   /* map in order, chunked */
        int64_t v[5] = {1, 2, 3, 4, 5};
        cf_slice args[5];
        cf_map_iter *it = NULL;
        cf_map_options mo;
        int i, rc;
        for (i = 0; i < 5; ++i) args[i].data = &v[i], args[i].len = sizeof v[i];
        cf_map_options_init(&mo);
        mo.chunksize = 2;
        CHECK_INT(cf_map(ex, square, NULL, args, 5, &mo, &it), CF_OK);
        for (i = 0; (rc = cf_map_next(it, &out)) == CF_OK; ++i) {
            memcpy(&r, out.data, sizeof r);
            CHECK_INT(r, v[i] * v[i]);
        }
        CHECK_INT(rc, CF_DONE);
        CHECK_INT(i, 5);
        cf_map_free(it);
    }
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    CHECK_INT(cf_submit(ex, square, NULL, &seven, sizeof seven, &f), CF_E_SHUTDOWN);
    cf_executor_free(ex);
}

static void test_worker_death(cf_start_method method) {
    cf_executor *ex = new_pool(method, 1);
    cf_future *dead = NULL, *queued = NULL, *later = NULL;
    cf_slice out;
    cf_error err;
    int64_t two = 2;
    int rc;
    if (!ex) return;
    CHECK_INT(cf_submit_named(ex, "die", NULL, 0, &dead), CF_OK);
    /* The worker may already have died (and broken the pool) by the time this second submit comes. */
    rc = cf_submit(ex, square, NULL, &two, sizeof two, &queued);
    CHECK(rc == CF_OK || rc == CF_E_BROKEN_PROCESS_POOL);
    CHECK_INT(cf_future_result(dead, CF_FOREVER, &out), CF_E_BROKEN_PROCESS_POOL);
    CHECK_INT(cf_future_exception(dead, 0, &err), CF_OK);
    CHECK_INT(err.status, CF_E_BROKEN_PROCESS_POOL);
    CHECK_CONTAINS(err.detail, "signal 9");
    CHECK_CONTAINS(err.detail, "die");
    /* the queued one either never started (cancelled) or failed with the pool */
    if (queued) CHECK(cf_future_result(queued, CF_FOREVER, &out) < 0);
    CHECK_INT(cf_submit(ex, square, NULL, &two, sizeof two, &later), CF_E_BROKEN_PROCESS_POOL);
    CHECK_CONTAINS(cf_last_error(), "SIGKILL");
    cf_future_release(dead);
    cf_future_release(queued);
    cf_executor_free(ex);
}

static void test_kill_workers(cf_start_method method) {
    cf_executor *ex = new_pool(method, 1);
    cf_future *running = NULL, *waiting = NULL, *f = NULL;
    cf_slice out;
    if (!ex) return;
    CHECK_INT(cf_submit_named(ex, "sleepy", NULL, 0, &running), CF_OK);
    CHECK_INT(cf_submit_named(ex, "sleepy", NULL, 0, &waiting), CF_OK);
    while (!cf_future_running(running)) sched_yield();
    CHECK_INT(cf_executor_kill_workers(ex), CF_OK);
    CHECK_INT(cf_future_result(running, CF_FOREVER, &out), CF_E_BROKEN_PROCESS_POOL);
    CHECK_INT(cf_future_result(waiting, CF_FOREVER, &out), CF_E_CANCELLED);
    CHECK_INT(cf_submit_named(ex, "sleepy", NULL, 0, &f), CF_E_SHUTDOWN);
    cf_future_release(running);
    cf_future_release(waiting);
    cf_executor_free(ex);
}

static void test_cancel_running(cf_start_method method) {
    cf_executor *ex = new_pool(method, 1);
    cf_future *f = NULL, *g = NULL;
    cf_slice out;
    cf_error err;
    if (!ex) return;
    CHECK_INT(cf_submit_named(ex, "until_cancelled", NULL, 0, &f), CF_OK);
    while (!cf_future_running(f)) sched_yield();
    CHECK_INT(cf_future_cancel(f), 0);  /* running: not cancelled, but asked to stop */
    CHECK_INT(cf_future_result(f, CF_FOREVER, &out), CF_E_TASK_FAILED);
    CHECK_INT(cf_future_exception(f, 0, &err), CF_OK);
    CHECK_CONTAINS(err.type, "CancelledError");
    /* shutdown with cancel_futures asks the running task to stop too */
    CHECK_INT(cf_submit_named(ex, "until_cancelled", NULL, 0, &g), CF_OK);
    while (!cf_future_running(g)) sched_yield();
    CHECK_INT(cf_executor_shutdown(ex, 1, 1), CF_OK);
    CHECK_INT(cf_future_result(g, CF_FOREVER, &out), CF_E_TASK_FAILED);
    cf_future_release(f);
    cf_future_release(g);
    cf_executor_free(ex);
}

static void test_bad_input(void) {
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    cf_process_pool_options_init(NULL);
    cf_process_pool_options_init(&o);
    CHECK_INT(o.struct_size, sizeof o);
    CHECK_INT(cf_process_pool_new(&o, NULL), CF_E_INVALID_ARGUMENT);
    o.max_workers = 5000;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "max_workers");
    o.max_workers = 1;
    o.start_method = (cf_start_method)9;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "start_method");
    o.start_method = CF_START_FORK;
    o.struct_size = 4;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_E_INVALID_ARGUMENT);
    o.struct_size = sizeof o;
    o.initializer = "no such initializer";
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_E_UNKNOWN_TASK);
    CHECK(ex == NULL);
    {   /* thread pools have no workers to terminate */
        cf_executor *tp = NULL;
        CHECK_INT(cf_thread_pool_new(NULL, &tp), CF_OK);
        CHECK_INT(cf_executor_terminate_workers(tp), CF_E_INVALID_ARGUMENT);
        CHECK_INT(cf_executor_kill_workers(tp), CF_E_INVALID_ARGUMENT);
        cf_executor_free(tp);
    }
    CHECK_INT(cf_executor_kill_workers(NULL), CF_E_INVALID_ARGUMENT);
}

/* cf_map_named / cf_map_named_source: a process-pool map by registered name, in chunks, in order. */
struct count_source {
    int64_t next, end, current;
};
/* Gives next, next + 1, ... up to end (exclusive); each value stays valid until the next call. */
static int counting(void *state, cf_slice *out) {
    struct count_source *s = (struct count_source *)state;
    if (s->next == s->end) return CF_DONE;
    s->current = s->next++;
    out->data = &s->current;
    out->len = sizeof s->current;
    return CF_OK;
}

static void test_map_named(cf_start_method method) {
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    cf_map_iter *it = NULL;
    cf_map_options mo;
    cf_slice out, args[7];
    int64_t v[7] = {1, 2, 3, 4, 5, 6, 7}, r = 0;
    int i, rc;
    cf_process_pool_options_init(&o);
    o.max_workers = 2;
    o.start_method = method;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    for (i = 0; i < 7; ++i) args[i].data = &v[i], args[i].len = sizeof v[i];
    cf_map_options_init(&mo);
    mo.chunksize = 3;
    CHECK_INT(cf_map_named(ex, "square", args, 7, &mo, &it), CF_OK);
    for (i = 0; (rc = cf_map_next(it, &out)) == CF_OK; ++i) {
        memcpy(&r, out.data, sizeof r);
        CHECK_INT(r, v[i] * v[i]);
    }
    CHECK_INT(rc, CF_DONE);
    CHECK_INT(i, 7);
    cf_map_free(it);

    {   /* lazily, at most 2 chunks in flight */
        struct count_source src = {1, 41, 0};
        int64_t sum = 0;
        mo.buffersize = 2;
        CHECK_INT(cf_map_named_source(ex, "square", counting, &src, &mo, &it), CF_OK);
        while ((rc = cf_map_next(it, &out)) == CF_OK) {
            memcpy(&r, out.data, sizeof r);
            sum += r;
        }
        CHECK_INT(rc, CF_DONE);
        CHECK_INT(sum, 40 * 41 * 81 / 6); /* 1^2 + ... + 40^2 */
        cf_map_free(it);
    }
    {   /* a failing item ends the map with the task's error, after the items before it */
        int64_t bad = 0;
        args[3].data = &bad;
        args[3].len = 1;
        mo.buffersize = 0;
        CHECK_INT(cf_map_named(ex, "square", args, 7, &mo, &it), CF_OK);
        for (i = 0; (rc = cf_map_next(it, &out)) == CF_OK; ++i) {
        }
        CHECK_INT(i, 3);
        CHECK_INT(rc, CF_E_TASK_FAILED);
        CHECK_CONTAINS(cf_last_error(), "square wants 8 bytes");
        cf_map_free(it);
        args[3].data = &v[3];
        args[3].len = sizeof v[3];
    }
    CHECK_INT(cf_map_named(ex, "no.such.task", args, 7, &mo, &it), CF_E_UNKNOWN_TASK);
    CHECK_CONTAINS(cf_last_error(), "no.such.task");
    CHECK(it == NULL);
    CHECK_INT(cf_map_named(ex, NULL, args, 7, &mo, &it), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_map_named(ex, "square", NULL, 7, &mo, &it), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_map_named_source(ex, "square", NULL, NULL, &mo, &it), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_map_named(ex, "square", args, 7, &mo, NULL), CF_E_INVALID_ARGUMENT);
    cf_executor_free(ex);
}

/* The table's entries for the functions above that take a start method: each runs its function with the methods
 * it is meant for, in the order main always ran them. */
static void test_results_and_failures_each_method(void) {
    test_results_and_failures(CF_START_FORK);
    test_results_and_failures(CF_START_SPAWN);
    test_results_and_failures(CF_START_FORKSERVER);
}

static void test_worker_death_each_method(void) {
    test_worker_death(CF_START_FORK);
    test_worker_death(CF_START_SPAWN);
    test_worker_death(CF_START_FORKSERVER);
}

static void test_kill_workers_each_method(void) {
    test_kill_workers(CF_START_FORK);
    test_kill_workers(CF_START_SPAWN);
    test_kill_workers(CF_START_FORKSERVER);
}

static void test_cancel_running_each_method(void) {
    test_cancel_running(CF_START_FORK);
    test_cancel_running(CF_START_SPAWN);
}

static void test_map_named_each_method(void) {
    test_map_named(CF_START_FORK);
    test_map_named(CF_START_SPAWN);
}

static const check_test tests[] = {
    CHECK_TEST(test_bad_input),
    {"test_results_and_failures", test_results_and_failures_each_method},
    {"test_worker_death", test_worker_death_each_method},
    {"test_kill_workers", test_kill_workers_each_method},
    {"test_cancel_running", test_cancel_running_each_method},
    {"test_map_named", test_map_named_each_method},
};

int main(int argc, char **argv) {
    CHECK_INT(cf_process_worker_entry(), CF_OK);  /* in a spawned worker this never returns */
    return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL);
}
