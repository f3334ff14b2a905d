/* SPDX-License-Identifier: MIT */
/* Regression tests for what the fuzzers found (tests/fuzz/README.md, "Findings"): sequences of C calls that once
 * terminated the process or touched freed memory. Each must now run to the end with clear results. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <cfutures/cfutures.h>
#include <string.h>
#include <time.h>

#include "check.h"

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int init_fails_late(cf_task_ctx *ctx, const void *a, size_t n, void *u) {
    (void)a, (void)n, (void)u;
    sleep_ms(100); /* the test's submit and cancel happen meanwhile */
    return cf_task_raise(ctx, "InitError", "no");
}

static int nothing(cf_task_ctx *ctx, const void *a, size_t n, void *u) {
    (void)ctx, (void)a, (void)n, (void)u;
    return CF_OK;
}

static int slow(cf_task_ctx *ctx, const void *a, size_t n, void *u) {
    (void)ctx, (void)a, (void)n, (void)u;
    sleep_ms(100);
    return CF_OK;
}

/* Finding 1: the pool breaks (its initializer fails) while a queued future is already cancelled. */
static void test_break_with_a_cancelled_queued_future(void) {
    cf_thread_pool_options o;
    cf_executor *ex = NULL;
    cf_future *f = NULL, *g = NULL;
    cf_slice s;
    cf_thread_pool_options_init(&o);
    o.max_workers = 1;
    o.initializer = init_fails_late;
    CHECK_INT(cf_thread_pool_new(&o, &ex), CF_OK);
    CHECK_INT(cf_submit(ex, nothing, NULL, NULL, 0, &f), CF_OK);
    CHECK_INT(cf_submit(ex, nothing, NULL, NULL, 0, &g), CF_OK);
    CHECK_INT(cf_future_cancel(f), 1);
    CHECK_INT(cf_future_result(g, CF_FOREVER, &s), CF_E_BROKEN_THREAD_POOL);
    CHECK_CONTAINS(cf_last_error(), "initializer");
    CHECK_INT(cf_future_get_state(f), CF_CANCELLED); /* the cancellation stands */
    cf_executor_free(ex);
    cf_future_release(f);
    cf_future_release(g);
}

/* Finding 5: a queued future of a pool completed by its holder before a thread takes it. */
static void test_queued_future_completed_by_its_holder(void) {
    cf_thread_pool_options o;
    cf_executor *ex = NULL;
    cf_future *busy = NULL, *f = NULL, *after = NULL;
    cf_slice s;
    cf_thread_pool_options_init(&o);
    o.max_workers = 1;
    CHECK_INT(cf_thread_pool_new(&o, &ex), CF_OK);
    CHECK_INT(cf_submit(ex, slow, NULL, NULL, 0, &busy), CF_OK);
    CHECK_INT(cf_submit(ex, nothing, NULL, NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_set_result(f, "x", 1), CF_OK);
    CHECK_INT(cf_submit(ex, nothing, NULL, "y", 1, &after), CF_OK);
    CHECK_INT(cf_future_result(after, CF_FOREVER, &s), CF_OK); /* the pool skipped f and went on */
    CHECK_INT(cf_future_result(f, 0, &s), CF_OK);
    CHECK(s.len == 1 && ((const char *)s.data)[0] == 'x'); /* the holder's result stands */
    cf_executor_free(ex);
    cf_future_release(f);
    cf_future_release(busy);
    cf_future_release(after);
}

/* Finding 4: an unordered map whose source fails after some chunks were submitted. */
struct failing_source {
    int calls;
};
static int source_fails_third(void *state, cf_slice *next) {
    struct failing_source *s = (struct failing_source *)state;
    if (++s->calls == 3) return CF_E_INVALID_ARGUMENT;
    next->data = "a";
    next->len = 1;
    return CF_OK;
}

static void test_unordered_map_with_a_failing_source(void) {
    cf_executor *ex = NULL;
    cf_map_iter *it = NULL;
    cf_map_options mo;
    struct failing_source state = {0};
    int round;
    CHECK_INT(cf_thread_pool_new(NULL, &ex), CF_OK);
    for (round = 0; round < 20; ++round) {
        state.calls = 0;
        cf_map_options_init(&mo);
        mo.unordered = 1;
        CHECK_INT(cf_map_source(ex, slow, NULL, source_fails_third, &state, &mo, &it), CF_E_INVALID_ARGUMENT);
        CHECK(it == NULL);
    }
    cf_executor_free(ex); /* waits for the chunks: they must not reach a freed iterator */
}

static const check_test tests[] = {
    CHECK_TEST(test_break_with_a_cancelled_queued_future),
    CHECK_TEST(test_queued_future_completed_by_its_holder),
    CHECK_TEST(test_unordered_map_with_a_failing_source),
};

int main(int argc, char **argv) { return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL); }
