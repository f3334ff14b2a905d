/* SPDX-License-Identifier: MIT */
/* Handles used wrongly: one type where another is expected, and a handle used after its release (its memory not
 * yet reused). Each such call must fail with CF_E_INVALID_ARGUMENT and a message; none may crash or read freed
 * memory (this test also runs under AddressSanitizer). */
#include <cfutures/cfutures.h>
#include <stdint.h>
#include <string.h>

#include "check.h"

static int task_echo(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    return cf_task_return(ctx, arg, len);
}

static cf_executor *new_thread_pool(void) {
    cf_thread_pool_options o;
    cf_executor *ex = NULL;
    cf_thread_pool_options_init(&o);
    o.max_workers = 1;
    CHECK_INT(cf_thread_pool_new(&o, &ex), CF_OK);
    return ex;
}

/* A future where an executor or an iterator is expected, and the reverse. */
static void test_wrong_types(void) {
    cf_future *f = NULL, *g = NULL;
    cf_executor *ex = new_thread_pool();
    cf_slice s;
    cf_error e;
    cf_map_iter *mi = NULL;
    cf_as_completed_iter *ai = NULL;

    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_submit((cf_executor *)f, task_echo, NULL, "x", 1, &g), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "not a valid handle");
    CHECK(g == NULL);
    CHECK_INT(cf_executor_shutdown((cf_executor *)f, 1, 0), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_executor_kill_workers((cf_executor *)f), CF_E_INVALID_ARGUMENT);
    cf_executor_free((cf_executor *)f); /* a no-op: not an executor */
    CHECK_INT(cf_map_next((cf_map_iter *)f, &s), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_map_error((const cf_map_iter *)f, &e), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_as_completed_next((cf_as_completed_iter *)f, &g), CF_E_INVALID_ARGUMENT);
    cf_map_free((cf_map_iter *)f);
    cf_as_completed_free((cf_as_completed_iter *)f);
    /* The future survived all of that. */
    CHECK_INT(cf_future_get_state(f), CF_PENDING);
    CHECK_INT(cf_future_set_result(f, "ok", 2), CF_OK);
    CHECK_INT(cf_future_result(f, 0, &s), CF_OK);
    CHECK(s.len == 2 && memcmp(s.data, "ok", 2) == 0);

    /* An executor where a future is expected. */
    CHECK_INT(cf_future_result((cf_future *)ex, 0, &s), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_cancel((cf_future *)ex), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_result((cf_future *)ex, "x", 1), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_get_state((cf_future *)ex), CF_FUTURE_INVALID);
    CHECK(!cf_future_done((cf_future *)ex));
    cf_future_release((cf_future *)ex); /* a no-op: not a future */
    cf_future_retain((cf_future *)ex);
    /* An iterator where a future is expected. */
    CHECK_INT(cf_as_completed(&f, 1, CF_FOREVER, &ai), CF_OK);
    CHECK_INT(cf_future_result((cf_future *)ai, 0, &s), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_map_next((cf_map_iter *)ai, &s), CF_E_INVALID_ARGUMENT);
    cf_as_completed_free(ai);
    {
        cf_slice arg = {"a", 1};
        CHECK_INT(cf_map(ex, task_echo, NULL, &arg, 1, NULL, &mi), CF_OK);
        CHECK_INT(cf_as_completed_next((cf_as_completed_iter *)mi, &g), CF_E_INVALID_ARGUMENT);
        CHECK_INT(cf_map_next(mi, &s), CF_OK);
        CHECK(s.len == 1 && ((const char *)s.data)[0] == 'a');
        cf_map_free(mi);
    }
    /* The executor survived too. */
    CHECK_INT(cf_submit(ex, task_echo, NULL, "y", 1, &g), CF_OK);
    CHECK_INT(cf_future_result(g, CF_FOREVER, &s), CF_OK);
    CHECK(s.len == 1 && ((const char *)s.data)[0] == 'y');
    cf_future_release(g);
    cf_future_release(f);
    cf_executor_free(ex);
}

/* Each kind of handle used right after its release, before anything could reuse its memory. */
static void test_released_future(void) {
    cf_future *f = NULL, *out = NULL;
    cf_slice s;
    cf_error e;
    unsigned char done = 0;
    cf_as_completed_iter *ai = NULL;

    CHECK_INT(cf_future_new(&f), CF_OK);
    cf_future_release(f);
    CHECK_INT(cf_future_get_state(f), CF_FUTURE_INVALID);
    CHECK(!cf_future_done(f));
    CHECK(!cf_future_cancelled(f));
    CHECK_INT(cf_future_result(f, 0, &s), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "not a valid handle");
    CHECK_INT(cf_future_exception(f, 0, &e), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_cancel(f), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_result(f, "x", 1), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_exception(f, "E", "m"), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_wait(&f, 1, 0, CF_ALL_COMPLETED, &done, NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_as_completed(&f, 1, 0, &ai), CF_E_INVALID_ARGUMENT);
    CHECK(ai == NULL);
    cf_future_retain(f);  /* no-ops: they must not bring the handle back */
    cf_future_release(f); /* a second release */
    CHECK_INT(cf_future_get_state(f), CF_FUTURE_INVALID);
    (void)out;
}

static void test_released_executor(void) {
    cf_executor *ex = new_thread_pool();
    cf_future *f = NULL;
    cf_map_iter *mi = NULL;
    cf_slice arg = {"a", 1};

    cf_executor_free(ex);
    CHECK_INT(cf_submit(ex, task_echo, NULL, "x", 1, &f), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "not a valid handle");
    CHECK(f == NULL);
    CHECK_INT(cf_submit_named(ex, "no.such.task", "x", 1, &f), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_map(ex, task_echo, NULL, &arg, 1, NULL, &mi), CF_E_INVALID_ARGUMENT);
    CHECK(mi == NULL);
    CHECK_INT(cf_executor_shutdown(ex, 1, 1), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_executor_terminate_workers(ex), CF_E_INVALID_ARGUMENT);
    cf_executor_free(ex); /* a second free: a no-op */
}

static void test_released_iterators(void) {
    cf_executor *ex = new_thread_pool();
    cf_future *f = NULL, *g = NULL;
    cf_map_iter *mi = NULL;
    cf_as_completed_iter *ai = NULL;
    cf_slice arg = {"a", 1}, s;
    cf_error e;

    CHECK_INT(cf_map(ex, task_echo, NULL, &arg, 1, NULL, &mi), CF_OK);
    cf_map_free(mi);
    CHECK_INT(cf_map_next(mi, &s), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_map_error(mi, &e), CF_E_INVALID_ARGUMENT);
    cf_map_free(mi); /* a second free: a no-op */

    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_as_completed(&f, 1, 0, &ai), CF_OK);
    cf_as_completed_free(ai);
    CHECK_INT(cf_as_completed_next(ai, &g), CF_E_INVALID_ARGUMENT);
    CHECK(g == NULL);
    cf_as_completed_free(ai);
    /* The future the iterator held is still ours and whole. */
    CHECK_INT(cf_future_set_result(f, "z", 1), CF_OK);
    CHECK(cf_future_done(f));
    cf_future_release(f);
    cf_executor_free(ex);
}

/* A handle that was never one: a pointer to ordinary memory of the right size. */
static void test_forged_handles(void) {
    double junk_storage[32]; /* aligned as a handle would be */
    unsigned char *junk = (unsigned char *)junk_storage;
    cf_slice s;
    cf_future *g = NULL;
    memset(junk, 0xA5, sizeof junk_storage);
    CHECK_INT(cf_future_result((cf_future *)(junk + 64), 0, &s), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_submit((cf_executor *)(junk + 64), task_echo, NULL, "x", 1, &g), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_map_next((cf_map_iter *)(junk + 64), &s), CF_E_INVALID_ARGUMENT);
}

static const check_test tests[] = {
    CHECK_TEST(test_wrong_types),        CHECK_TEST(test_released_future), CHECK_TEST(test_released_executor),
    CHECK_TEST(test_released_iterators), CHECK_TEST(test_forged_handles),
};

int main(int argc, char **argv) { return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL); }
