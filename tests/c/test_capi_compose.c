/* SPDX-License-Identifier: MIT */
/* Futures made of futures through the C ABI: cf_future_then (ordering, failures and cancellations passed on, a
 * cancelled continuation that never runs, chains of 10,000 steps on two threads), cf_future_then_named across
 * thread and process pools (fork, forkserver, spawn), cf_future_then_inline, cf_when_all, cf_when_any, and bad
 * input. */
#include <cfutures/cfutures.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define LONG_WAIT 60.0

static int steps_run; /* continuation steps that ran (atomically: they run on pool threads) */

static int steps_now(void) { return __atomic_load_n(&steps_run, __ATOMIC_SEQ_CST); }

/* A counter of 8 bytes, plus one. */
static int add_one(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    __atomic_fetch_add(&steps_run, 1, __ATOMIC_SEQ_CST);
    uint64_t n = 0;
    if (len != sizeof n) return cf_task_raise(ctx, "ValueError", "add_one wants 8 bytes");
    memcpy(&n, arg, sizeof n);
    ++n;
    return cf_task_return(ctx, &n, sizeof n);
}

/* Letters to upper case; registered for process pools. */
static int upper(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    char *out = (char *)cf_task_return_buffer(ctx, len);
    if (!out && len) return CF_E_NO_MEMORY;
    for (size_t i = 0; i < len; ++i) {
        char c = ((const char *)arg)[i];
        out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    return CF_OK;
}
CF_TASK("compose.upper", upper);

static int gives_abc(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    return cf_task_return(ctx, "abc", 3);
}

static uint64_t counter_of(cf_future *f) {
    cf_slice r;
    uint64_t n = 0;
    if (CHECK_INT(cf_future_result(f, LONG_WAIT, &r), CF_OK) && CHECK_INT(r.len, sizeof n)) memcpy(&n, r.data, sizeof n);
    return n;
}

static cf_future *counter_future(uint64_t n) {
    cf_future *f = NULL;
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_result(f, &n, sizeof n), CF_OK);
    return f;
}

static void then_runs_after_success(void) {
    cf_executor *ex = check_new_thread_pool(2);
    cf_future *f = NULL, *g = NULL;
    CHECK_INT(cf_future_new(&f), CF_OK);
    int before = steps_now();
    CHECK_INT(cf_future_then(f, ex, add_one, NULL, &g), CF_OK);
    CHECK_INT(cf_future_done(g), 0);
    CHECK_INT(steps_now(), before); /* nothing runs before f is done */
    uint64_t n = 41;
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_result(f, &n, sizeof n), CF_OK);
    CHECK_INT(counter_of(g), 42);
    CHECK_INT(counter_of(f), 41); /* the first future keeps its own result */
    cf_future_release(g);
    cf_future_release(f);

    /* a first future done already: the step is submitted at once */
    f = counter_future(1);
    CHECK_INT(cf_future_then(f, ex, add_one, NULL, &g), CF_OK);
    CHECK_INT(counter_of(g), 2);
    cf_future_release(g);
    cf_future_release(f);
    cf_executor_free(ex);
}

/* 10,000 steps on two threads: no step waits on a thread, and the stack does not grow with the chain. */
static void long_chain(void) {
    enum { kSteps = 10000 };
    cf_executor *ex = check_new_thread_pool(2);
    cf_future *first = NULL, *last = NULL;
    CHECK_INT(cf_future_new(&first), CF_OK);
    cf_future *at = first;
    cf_future_retain(at);
    for (int i = 0; i < kSteps; ++i) {
        cf_future *next = NULL;
        if (!CHECK_INT(cf_future_then(at, ex, add_one, NULL, &next), CF_OK)) break;
        cf_future_release(at);
        at = next;
    }
    last = at;
    cf_executor_stats st;
    st.struct_size = sizeof st;
    CHECK_INT(cf_executor_stats_get(ex, &st), CF_OK);
    CHECK_INT(st.workers, 0); /* nothing submitted yet: the chain waits without a thread */
    uint64_t zero = 0;
    CHECK_INT(cf_future_set_running_or_notify_cancel(first), 1);
    CHECK_INT(cf_future_set_result(first, &zero, sizeof zero), CF_OK);
    CHECK_INT(counter_of(last), kSteps);
    CHECK_INT(cf_executor_stats_get(ex, &st), CF_OK);
    CHECK(st.workers <= 2);
    cf_future_release(last);
    cf_future_release(first);
    cf_executor_free(ex);
}

static void failure_and_cancellation_pass_on(void) {
    cf_executor *ex = check_new_thread_pool(1);
    cf_future *f = NULL, *g = NULL, *h = NULL;
    cf_error e;
    int before = steps_now();

    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then(f, ex, add_one, NULL, &g), CF_OK);
    CHECK_INT(cf_future_then(g, ex, add_one, NULL, &h), CF_OK); /* and on down a chain */
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_exception(f, "KeyError", "'k'"), CF_OK);
    CHECK_INT(cf_future_exception(h, LONG_WAIT, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "KeyError");
    CHECK_STR(e.message, "'k'");
    CHECK_INT(steps_now(), before); /* no step ran */
    cf_future_release(h), cf_future_release(g), cf_future_release(f);

    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then(f, ex, add_one, NULL, &g), CF_OK);
    CHECK_INT(cf_future_cancel(f), 1);
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 0);
    CHECK_INT(cf_future_exception(g, LONG_WAIT, &e), CF_E_CANCELLED);
    CHECK_INT(cf_future_cancelled(g), 1);
    CHECK_INT(steps_now(), before);
    cf_future_release(g), cf_future_release(f);

    /* a step that fails fails the continuation */
    uint64_t n = 1;
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_result(f, &n, 1), CF_OK); /* one byte: add_one raises */
    CHECK_INT(cf_future_then(f, ex, add_one, NULL, &g), CF_OK);
    CHECK_INT(cf_future_exception(g, LONG_WAIT, &e), CF_OK);
    CHECK_STR(e.type, "ValueError");
    cf_future_release(g), cf_future_release(f);
    cf_executor_free(ex);
}

static void cancelled_continuation_never_runs(void) {
    cf_executor *ex = check_new_thread_pool(1);
    cf_future *f = NULL, *g = NULL;
    int before = steps_now();
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then(f, ex, add_one, NULL, &g), CF_OK);
    CHECK_INT(cf_future_cancel(g), 1);
    uint64_t n = 7;
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_result(f, &n, sizeof n), CF_OK);
    cf_executor_shutdown(ex, 1, 0); /* everything submitted has run */
    CHECK_INT(steps_now(), before);
    CHECK_INT(cf_future_cancelled(g), 1);
    CHECK_INT(counter_of(f), 7);
    cf_future_release(g), cf_future_release(f);
    cf_executor_free(ex);
}

static void then_after_shutdown_fails_the_continuation(void) {
    cf_executor *ex = check_new_thread_pool(1);
    cf_future *f = NULL, *g = NULL;
    cf_error e;
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then(f, ex, add_one, NULL, &g), CF_OK);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    uint64_t n = 7;
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_result(f, &n, sizeof n), CF_OK);
    CHECK_INT(cf_future_exception(g, LONG_WAIT, &e), CF_OK);
    CHECK_INT(e.status, CF_E_SHUTDOWN);
    cf_future_release(g);
    /* a first future done already: the same, at once */
    CHECK_INT(cf_future_then(f, ex, add_one, NULL, &g), CF_OK);
    CHECK_INT(cf_future_exception(g, 0.0, &e), CF_OK);
    CHECK_INT(e.status, CF_E_SHUTDOWN);
    CHECK_STR(e.type, "ShutdownError");
    cf_future_release(g), cf_future_release(f);
    cf_executor_free(ex);
}

/* A thread pool's result continues on a process pool, by name, and back to a thread. */
static void across_pools(void) {
    cf_executor *threads = check_new_thread_pool(2);
    for (int method = CF_START_FORK; method <= CF_START_SPAWN; ++method) {
        cf_process_pool_options o;
        cf_executor *procs = NULL;
        cf_future *f = NULL, *g = NULL, *h = NULL;
        cf_slice r;
        cf_error e;
        cf_process_pool_options_init(&o);
        o.max_workers = 1;
        o.start_method = (cf_start_method)method;
        if (!CHECK_INT(cf_process_pool_new(&o, &procs), CF_OK)) continue;
        CHECK_INT(cf_submit(threads, gives_abc, NULL, NULL, 0, &f), CF_OK);
        CHECK_INT(cf_future_then_named(f, procs, "compose.upper", &g), CF_OK);
        CHECK_INT(cf_future_then(g, threads, upper, NULL, &h), CF_OK);
        CHECK_INT(cf_future_result(h, LONG_WAIT, &r), CF_OK);
        CHECK(r.len == 3 && memcmp(r.data, "ABC", 3) == 0);
        cf_future_release(h), cf_future_release(g);
        CHECK_INT(cf_future_then_named(f, procs, "compose.no_such_task", &g), CF_OK);
        CHECK_INT(cf_future_exception(g, LONG_WAIT, &e), CF_OK);
        CHECK_INT(e.status, CF_E_UNKNOWN_TASK);
        cf_future_release(g), cf_future_release(f);
        cf_executor_free(procs);
    }
    cf_executor_free(threads);
}

static void when_all_and_any(void) {
    cf_future *fs[3], *all = NULL, *any = NULL;
    cf_error e;
    cf_slice r;
    uint64_t index = 99;
    for (int i = 0; i < 3; ++i) CHECK_INT(cf_future_new(&fs[i]), CF_OK);
    CHECK_INT(cf_when_all(fs, 3, &all), CF_OK);
    CHECK_INT(cf_when_any(fs, 3, &any), CF_OK);
    CHECK_INT(cf_future_done(all), 0);
    CHECK_INT(cf_future_done(any), 0);
    uint64_t v = 5;
    CHECK_INT(cf_future_set_running_or_notify_cancel(fs[2]), 1);
    CHECK_INT(cf_future_set_result(fs[2], &v, sizeof v), CF_OK);
    CHECK_INT(cf_future_result(any, LONG_WAIT, &r), CF_OK);
    if (CHECK_INT(r.len, sizeof index)) memcpy(&index, r.data, sizeof index);
    CHECK_INT(index, 2);
    CHECK_INT(cf_future_done(all), 0);
    for (int i = 0; i < 2; ++i) {
        CHECK_INT(cf_future_set_running_or_notify_cancel(fs[i]), 1);
        CHECK_INT(cf_future_set_result(fs[i], &v, sizeof v), CF_OK);
    }
    CHECK_INT(cf_future_result(all, LONG_WAIT, &r), CF_OK);
    CHECK_INT(r.len, 0);
    CHECK_INT(counter_of(fs[0]), 5); /* the inputs keep their results */
    cf_future_release(all), cf_future_release(any);

    /* inputs done already: the first of them in order wins */
    CHECK_INT(cf_when_any(fs, 3, &any), CF_OK);
    CHECK_INT(cf_future_result(any, 0.0, &r), CF_OK);
    memcpy(&index, r.data, sizeof index);
    CHECK_INT(index, 0);
    cf_future_release(any);
    for (int i = 0; i < 3; ++i) cf_future_release(fs[i]);

    /* a failure: when_all carries the first one, at once */
    for (int i = 0; i < 3; ++i) CHECK_INT(cf_future_new(&fs[i]), CF_OK);
    CHECK_INT(cf_when_all(fs, 3, &all), CF_OK);
    CHECK_INT(cf_future_set_running_or_notify_cancel(fs[1]), 1);
    CHECK_INT(cf_future_set_exception(fs[1], "OSError", "disk full"), CF_OK);
    CHECK_INT(cf_future_exception(all, LONG_WAIT, &e), CF_OK);
    CHECK_STR(e.type, "OSError");
    CHECK_INT(cf_future_done(fs[0]), 0); /* the others are not touched */
    CHECK_INT(cf_future_cancel(fs[0]), 1);
    CHECK_INT(cf_future_cancel(fs[2]), 1);
    cf_future_release(all);
    for (int i = 0; i < 3; ++i) cf_future_release(fs[i]);

    /* no inputs: all of nothing is done */
    CHECK_INT(cf_when_all(NULL, 0, &all), CF_OK);
    CHECK_INT(cf_future_result(all, 0.0, &r), CF_OK);
    cf_future_release(all);
}

/* cf_future_then_ex: user_data is released once, whether the step ran or never will. */
static int released;
static void count_release(void *user_data) {
    (void)user_data;
    __atomic_fetch_add(&released, 1, __ATOMIC_SEQ_CST);
}
static int released_now(void) { return __atomic_load_n(&released, __ATOMIC_SEQ_CST); }

static void then_ex_releases_user_data(void) {
    cf_executor *ex = check_new_thread_pool(1);
    cf_submit_options o;
    cf_future *f = NULL, *g = NULL;
    cf_error e;
    cf_submit_options_init(&o);
    o.release_user_data = count_release;
    int before = released_now();

    /* the step ran */
    f = counter_future(1);
    CHECK_INT(cf_future_then_ex(f, ex, add_one, &released, &o, &g), CF_OK);
    CHECK_INT(counter_of(g), 2);
    cf_executor_shutdown(ex, 1, 0);
    CHECK_INT(released_now(), before + 1);
    cf_future_release(g), cf_future_release(f);
    cf_executor_free(ex);
    ex = check_new_thread_pool(1);

    /* the first future failed: never runs, released then */
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then_ex(f, ex, add_one, &released, &o, &g), CF_OK);
    CHECK_INT(released_now(), before + 1);
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_exception(f, "E", "m"), CF_OK);
    CHECK_INT(cf_future_exception(g, LONG_WAIT, &e), CF_OK);
    CHECK_INT(released_now(), before + 2);
    cf_future_release(g), cf_future_release(f);

    /* the continuation was cancelled */
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then_ex(f, ex, add_one, &released, &o, &g), CF_OK);
    CHECK_INT(cf_future_cancel(g), 1);
    uint64_t n = 3;
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_result(f, &n, sizeof n), CF_OK);
    CHECK_INT(released_now(), before + 3);
    cf_future_release(g), cf_future_release(f);

    /* the call failed */
    CHECK_INT(cf_future_then_ex(NULL, ex, add_one, &released, &o, &g), CF_E_INVALID_ARGUMENT);
    CHECK_INT(released_now(), before + 4);

    /* a time limit on the step */
    f = counter_future(1);
    o.release_user_data = NULL;
    o.time_limit = 30.0;
    CHECK_INT(cf_future_then_ex(f, ex, add_one, NULL, &o, &g), CF_OK);
    CHECK_INT(counter_of(g), 2);
    cf_future_release(g), cf_future_release(f);
    cf_executor_free(ex);
}

/* cf_future_then_inline: the step runs on the thread that completes the first future, before that call returns. */
static void then_inline_runs_where_the_first_completes(void) {
    cf_future *f = NULL, *g = NULL, *h = NULL;
    cf_error e;
    int before = steps_now(), released_before = released_now();

    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then_inline(f, add_one, &released, count_release, &g), CF_OK);
    CHECK_INT(cf_future_then_inline(g, add_one, NULL, NULL, &h), CF_OK); /* and on down a chain */
    CHECK_INT(cf_future_get_state(g), CF_PENDING);
    uint64_t n = 40;
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_result(f, &n, sizeof n), CF_OK);
    CHECK_INT(steps_now(), before + 2); /* both ran inside set_result */
    CHECK_INT(released_now(), released_before + 1);
    CHECK_INT(counter_of(h), 42);
    cf_future_release(h), cf_future_release(g), cf_future_release(f);

    /* a first future done already: the step runs within the call */
    f = counter_future(1);
    CHECK_INT(cf_future_then_inline(f, add_one, &released, count_release, &g), CF_OK);
    CHECK_INT(cf_future_done(g), 1);
    CHECK_INT(counter_of(g), 2);
    CHECK_INT(released_now(), released_before + 2);
    cf_future_release(g), cf_future_release(f);

    /* a failure passes on without the step, which is released */
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then_inline(f, add_one, &released, count_release, &g), CF_OK);
    CHECK_INT(cf_future_set_exception(f, "KeyError", "'k'"), CF_OK);
    CHECK_INT(cf_future_exception(g, 0.0, &e), CF_OK);
    CHECK_STR(e.type, "KeyError");
    CHECK_INT(released_now(), released_before + 3);
    cf_future_release(g), cf_future_release(f);

    /* a continuation cancelled first never runs its step */
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then_inline(f, add_one, &released, count_release, &g), CF_OK);
    CHECK_INT(cf_future_cancel(g), 1);
    CHECK_INT(cf_future_set_result(f, &n, sizeof n), CF_OK);
    CHECK_INT(cf_future_cancelled(g), 1);
    CHECK_INT(steps_now(), before + 3); /* (the one above: the step of the done first future) */
    CHECK_INT(released_now(), released_before + 4);
    cf_future_release(g), cf_future_release(f);

    /* a step that raises fails the continuation */
    n = 1;
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_set_result(f, &n, 1), CF_OK);
    CHECK_INT(cf_future_then_inline(f, add_one, NULL, NULL, &g), CF_OK);
    CHECK_INT(cf_future_exception(g, 0.0, &e), CF_OK);
    CHECK_STR(e.type, "ValueError");
    cf_future_release(g), cf_future_release(f);

    /* bad input; user_data released all the same */
    CHECK_INT(cf_future_then_inline(NULL, add_one, &released, count_release, &g), CF_E_INVALID_ARGUMENT);
    CHECK(g == NULL);
    CHECK_INT(released_now(), released_before + 5);
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then_inline(f, NULL, NULL, NULL, &g), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "cf_future_then_inline");
    CHECK_INT(cf_future_then_inline(f, add_one, NULL, NULL, NULL), CF_E_INVALID_ARGUMENT);
    cf_future_release(f);
}

static void bad_input(void) {
    cf_executor *ex = check_new_thread_pool(1);
    cf_future *f = NULL, *out = (cf_future *)&check_not_a_handle;
    cf_future *bad = (cf_future *)&check_not_a_handle;
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then(NULL, ex, add_one, NULL, &out), CF_E_INVALID_ARGUMENT);
    CHECK(out == NULL);
    CHECK_INT(cf_future_then(bad, ex, add_one, NULL, &out), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_then(f, NULL, add_one, NULL, &out), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_then(f, (cf_executor *)&check_not_a_handle, add_one, NULL, &out), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_then(f, ex, NULL, NULL, &out), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_then(f, ex, add_one, NULL, NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_then_named(f, ex, NULL, &out), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_when_all(NULL, 2, &out), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_when_all(&bad, 1, &out), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_when_all(&f, 1, NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_when_any(&f, 0, &out), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "cf_when_any");
    CHECK_INT(cf_when_any(&bad, 1, &out), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_cancel(f), 1);
    cf_future_release(f);
    cf_executor_free(ex);
}

/* Task: holds its worker until the future in user_data is done. */
static int waits_for_gate(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len;
    cf_slice r;
    int rc = cf_future_result((cf_future *)user_data, LONG_WAIT, &r);
    return rc == CF_OK ? cf_task_return(ctx, NULL, 0) : rc;
}

/* The step is queued (its first future done) behind a task holding the only worker; the continuation is then
 * cancelled: the step never runs, and its user_data is released once. */
static void continuation_cancelled_while_its_step_is_queued(void) {
    cf_executor *ex = check_new_thread_pool(1);
    cf_submit_options o;
    cf_submit_options_init(&o);
    o.release_user_data = count_release;
    int steps_before = steps_now(), released_before = released_now();
    cf_future *gate = NULL, *holder = NULL, *f = NULL, *g = NULL;
    CHECK_INT(cf_future_new(&gate), CF_OK);
    CHECK_INT(cf_submit(ex, waits_for_gate, gate, NULL, 0, &holder), CF_OK);
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_then_ex(f, ex, add_one, &released, &o, &g), CF_OK);
    uint64_t n = 3;
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_result(f, &n, sizeof n), CF_OK); /* the step is queued now */
    CHECK_INT(cf_future_running(g), 0);
    CHECK_INT(cf_future_cancel(g), 1);
    CHECK_INT(cf_future_set_running_or_notify_cancel(gate), 1);
    CHECK_INT(cf_future_set_result(gate, NULL, 0), CF_OK);
    cf_executor_shutdown(ex, 1, 0); /* everything submitted has run, or never will */
    CHECK_INT(steps_now(), steps_before);
    CHECK_INT(released_now(), released_before + 1);
    CHECK_INT(cf_future_cancelled(g), 1);
    cf_future_release(g), cf_future_release(f), cf_future_release(holder), cf_future_release(gate);
    cf_executor_free(ex);
}

static const check_test tests[] = {
    CHECK_TEST(then_runs_after_success), CHECK_TEST(long_chain), CHECK_TEST(failure_and_cancellation_pass_on),
    CHECK_TEST(cancelled_continuation_never_runs), CHECK_TEST(then_after_shutdown_fails_the_continuation),
    CHECK_TEST(across_pools), CHECK_TEST(when_all_and_any), CHECK_TEST(then_ex_releases_user_data),
    CHECK_TEST(then_inline_runs_where_the_first_completes), CHECK_TEST(bad_input),
    CHECK_TEST(continuation_cancelled_while_its_step_is_queued),
};

int main(int argc, char **argv) {
    if (cf_process_worker_entry() != CF_OK) return 1; /* in a spawned worker this never returns */
    return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL);
}
