/* SPDX-License-Identifier: MIT */
/* What language bindings (and the header-only C++ API) build on: objects that stay values of the caller's language
 * (cf_object_type: results and exceptions held by futures, returned and raised by thread-pool tasks, refused by
 * process-pool tasks; every object handed over is destroyed exactly once), cf_task_current, the release of a
 * done-callback's and a task's user_data, failures with any status, remote failures, max_workers and worker pids,
 * failures with a detail, spawned workers' arguments and fork hooks, an argument in parts. */
#define _DEFAULT_SOURCE /* readlink */
#include <cfutures/cfutures.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* ---- a test object: a counted string */

static int destroyed; /* objects destroyed so far (atomically: pools destroy on their threads) */

typedef struct word {
    char text[32];
} word;

static void word_destroy(void *object) {
    __atomic_fetch_add(&destroyed, 1, __ATOMIC_SEQ_CST);
    free(object);
}

static cf_slice word_bytes(const void *object) {
    const word *w = (const word *)object;
    cf_slice s;
    s.data = w->text;
    s.len = strlen(w->text);
    return s;
}

static const cf_object_type word_type = {sizeof(cf_object_type), "test.word", word_destroy, word_bytes};

static word *new_word(const char *text) {
    word *w = (word *)calloc(1, sizeof *w);
    snprintf(w->text, sizeof w->text, "%s", text);
    return w;
}

static int destroyed_now(void) { return __atomic_load_n(&destroyed, __ATOMIC_SEQ_CST); }

/* ---- futures completed by hand */

static void future_objects(void) {
    cf_future *f = NULL;
    word *w = new_word("hello");
    void *got = (void *)1;
    cf_slice bytes;
    cf_error e;
    int before = destroyed_now();

    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_set_result_object(f, w, &word_type), CF_OK);
    CHECK_INT(cf_future_result_object(f, 0.0, "test.word", &got), CF_OK);
    CHECK(got == w);
    CHECK_INT(cf_future_result_object(f, 0.0, "another.type", &got), CF_OK);
    CHECK(got == NULL);
    CHECK_INT(cf_future_result(f, 0.0, &bytes), CF_OK); /* C readers see the object's bytes */
    CHECK_INT(bytes.len, 5);
    CHECK(bytes.data != NULL && memcmp(bytes.data, "hello", 5) == 0);
    CHECK_INT(cf_future_exception_object(f, 0.0, "test.word", &got), CF_OK); /* no failure, no object */
    CHECK(got == NULL);

    /* A second result is refused, and its object destroyed at once (the first one stays). */
    CHECK_INT(cf_future_set_result_object(f, new_word("late"), &word_type), CF_E_INVALID_STATE);
    CHECK_INT(destroyed_now(), before + 1);
    CHECK_INT(cf_future_result_object(f, 0.0, "test.word", &got), CF_OK);
    CHECK(got == w);
    cf_future_release(f);
    CHECK_INT(destroyed_now(), before + 2); /* the result went with the future */

    /* An exception object. */
    CHECK_INT(cf_future_new(&f), CF_OK);
    w = new_word("boom");
    CHECK_INT(cf_future_set_exception_object(f, w, &word_type, "ValueError", "bad value", "in test"), CF_OK);
    CHECK_INT(cf_future_result(f, 0.0, &bytes), CF_E_TASK_FAILED);
    CHECK_INT(cf_future_result_object(f, 0.0, "test.word", &got), CF_E_TASK_FAILED);
    CHECK(got == NULL);
    CHECK_INT(cf_future_exception(f, 0.0, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "ValueError");
    CHECK_STR(e.message, "bad value");
    CHECK_STR(e.detail, "in test");
    CHECK_INT(cf_future_exception_object(f, 0.0, "test.word", &got), CF_OK);
    CHECK(got == w);
    CHECK_INT(cf_future_exception_object(f, 0.0, "other", &got), CF_OK);
    CHECK(got == NULL);
    cf_future_release(f);
    CHECK_INT(destroyed_now(), before + 3);

    /* A pending future times out; a cancelled one says so. */
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_result_object(f, 0.0, "test.word", &got), CF_E_TIMEOUT);
    CHECK_INT(cf_future_cancel(f), 1);
    CHECK_INT(cf_future_result_object(f, 0.0, "test.word", &got), CF_E_CANCELLED);
    CHECK_INT(cf_future_exception_object(f, 0.0, "test.word", &got), CF_E_CANCELLED);
    cf_future_release(f);
}

static void bad_input(void) {
    cf_future *f = NULL;
    void *got = NULL;
    cf_object_type unnamed = word_type;
    cf_object_type old_size = word_type;
    word *kept = new_word("kept");
    int before = destroyed_now();
    unnamed.name = NULL;
    old_size.struct_size = 0;

    CHECK_INT(cf_future_new(&f), CF_OK);
    /* A bad handle or a bad type: the object is destroyed all the same. */
    CHECK_INT(cf_future_set_result_object(NULL, new_word("x"), &word_type), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_result_object(f, new_word("x"), &unnamed), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_result_object(f, new_word("x"), &old_size), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_exception_object(f, new_word("x"), &word_type, NULL, "no type", NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_task_return_object(NULL, new_word("x"), &word_type), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_task_raise_object(NULL, new_word("x"), &word_type, "E", "m", NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(destroyed_now(), before + 6);
    /* Only a NULL type leaves the object with the caller. */
    CHECK_INT(cf_future_set_result_object(f, kept, NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(destroyed_now(), before + 6);
    free(kept);
    CHECK_INT(cf_future_result_object(f, 0.0, NULL, &got), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_result_object(f, 0.0, "test.word", NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_result_object(NULL, 0.0, "test.word", &got), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_exception_object(f, 0.0 / 0.0, "test.word", &got), CF_E_INVALID_ARGUMENT);
    CHECK(cf_future_get_state(f) == CF_PENDING); /* nothing above finished it */
    cf_future_release(f);
    CHECK(cf_task_current() == NULL); /* no task runs on this thread */
}

/* ---- tasks */

static int returns_word(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char text[32];
    (void)user_data;
    if (cf_task_current() != ctx) return cf_task_raise(ctx, "WrongContext", "cf_task_current() is not ctx");
    snprintf(text, sizeof text, "%.*s!", (int)len, (const char *)arg);
    return cf_task_return_object(ctx, new_word(text), &word_type);
}

static int raises_word(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    return cf_task_raise_object(ctx, new_word("why"), &word_type, "KeyError", "missing", "at the end");
}

/* In a process pool: the object is refused (and destroyed in the worker); the task reports the status. */
static int tries_object(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int rc = cf_task_return_object(ctx, new_word("no"), &word_type);
    int raise_rc = cf_task_raise_object(ctx, new_word("no"), &word_type, "E", "m", NULL);
    int statuses[2];
    (void)arg, (void)len, (void)user_data;
    statuses[0] = rc;
    statuses[1] = raise_rc;
    return cf_task_return(ctx, statuses, sizeof statuses);
}
CF_TASK("test.tries_object", tries_object);

static void thread_pool_tasks(void) {
    cf_executor *ex = check_new_thread_pool(2);
    cf_future *f = NULL, *g = NULL;
    void *got = NULL;
    cf_slice bytes;
    cf_error e;
    cf_slice args[3];
    cf_map_iter *it = NULL;
    cf_map_options mo;
    int n = 0;
    int before = destroyed_now();

    CHECK_INT(cf_submit(ex, returns_word, NULL, "hi", 2, &f), CF_OK);
    CHECK_INT(cf_future_result_object(f, 30.0, "test.word", &got), CF_OK);
    CHECK(got != NULL && strcmp(((word *)got)->text, "hi!") == 0);
    CHECK_INT(cf_future_result(f, 0.0, &bytes), CF_OK);
    CHECK(bytes.len == 3 && memcmp(bytes.data, "hi!", 3) == 0);

    CHECK_INT(cf_submit(ex, raises_word, NULL, NULL, 0, &g), CF_OK);
    CHECK_INT(cf_future_exception(g, 30.0, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "KeyError");
    CHECK_STR(e.detail, "at the end");
    CHECK_INT(cf_future_exception_object(g, 0.0, "test.word", &got), CF_OK);
    CHECK(got != NULL && strcmp(((word *)got)->text, "why") == 0);
    cf_future_release(f);
    cf_future_release(g);
    /* The worker that finished a future may hold it a moment longer: the count is checked once the pool is gone. */
    CHECK(destroyed_now() <= before + 2);

    /* map gives bytes: each object's. */
    args[0].data = "a", args[0].len = 1;
    args[1].data = "bb", args[1].len = 2;
    args[2].data = "ccc", args[2].len = 3;
    cf_map_options_init(&mo);
    mo.chunksize = 2;
    CHECK_INT(cf_map(ex, returns_word, NULL, args, 3, &mo, &it), CF_OK);
    while (cf_map_next(it, &bytes) == CF_OK) {
        CHECK(bytes.len == args[n].len + 1 && memcmp(bytes.data, args[n].data, args[n].len) == 0 &&
              ((const char *)bytes.data)[args[n].len] == '!');
        ++n;
    }
    CHECK_INT(n, 3);
    cf_map_free(it);
    cf_executor_free(ex); /* joins the workers: every future and its object is gone */
    CHECK_INT(destroyed_now(), before + 5);
}

static void process_pool_refuses_objects(void) {
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    cf_future *f = NULL;
    cf_slice r;
    int statuses[2] = {0, 0};
    cf_process_pool_options_init(&o);
    o.max_workers = 1;
    o.start_method = CF_START_FORK;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    CHECK_INT(cf_submit_named(ex, "test.tries_object", NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_result(f, 60.0, &r), CF_OK);
    CHECK_INT(r.len, sizeof statuses);
    if (r.len == sizeof statuses) memcpy(statuses, r.data, sizeof statuses);
    CHECK_INT(statuses[0], CF_E_INVALID_STATE);
    CHECK_INT(statuses[1], CF_E_INVALID_STATE);
    cf_future_release(f);
    cf_executor_free(ex);
}

/* ---- done-callbacks with a release */

static int callbacks_run, releases;

static void on_done(cf_future *f, void *user_data) {
    (void)f;
    CHECK(*(int *)user_data == 7);
    __atomic_fetch_add(&callbacks_run, 1, __ATOMIC_SEQ_CST);
}

static void release_int(void *user_data) {
    CHECK(*(int *)user_data == 7);
    free(user_data);
    __atomic_fetch_add(&releases, 1, __ATOMIC_SEQ_CST);
}

static int *seven(void) {
    int *p = (int *)malloc(sizeof *p);
    *p = 7;
    return p;
}

static void done_callback_release(void) {
    cf_future *f = NULL;
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_add_done_callback_ex(f, on_done, seven(), release_int), CF_OK);
    CHECK_INT(releases, 0);
    CHECK_INT(cf_future_set_result(f, "x", 1), CF_OK);
    CHECK_INT(callbacks_run, 1);
    CHECK_INT(releases, 1); /* after the callback ran */
    /* Added to a done future: runs at once, then released. */
    CHECK_INT(cf_future_add_done_callback_ex(f, on_done, seven(), release_int), CF_OK);
    CHECK_INT(callbacks_run, 2);
    CHECK_INT(releases, 2);
    cf_future_release(f);

    /* A future freed unfinished: the callback never runs, its user_data is released. */
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_add_done_callback_ex(f, on_done, seven(), release_int), CF_OK);
    cf_future_release(f);
    CHECK_INT(callbacks_run, 2);
    CHECK_INT(releases, 3);

    /* A failing call releases at once; a NULL release is allowed. */
    CHECK_INT(cf_future_add_done_callback_ex(NULL, on_done, seven(), release_int), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_add_done_callback_ex(f, NULL, seven(), release_int), CF_E_INVALID_ARGUMENT);
    CHECK_INT(releases, 5);
    {
        int stays = 7;
        CHECK_INT(cf_future_add_done_callback_ex(f, on_done, &stays, NULL), CF_OK);
        CHECK_INT(cf_future_set_result(f, NULL, 0), CF_OK);
        CHECK_INT(callbacks_run, 3);
    }
    cf_future_release(f);
}

/* ---- a task's user_data released once it has run or never will */

static int task_releases;
static void count_release(void *user_data) {
    CHECK(*(int *)user_data == 7);
    free(user_data);
    __atomic_fetch_add(&task_releases, 1, __ATOMIC_SEQ_CST);
}

static int reads_seven(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int v = *(int *)user_data; /* still there: released only after the task returns */
    (void)arg, (void)len;
    return cf_task_return(ctx, &v, sizeof v);
}

/* Holds its worker until the test completes the gate future by hand. */
static cf_future *gate;
static int waits_for_gate(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    cf_slice r;
    (void)ctx, (void)arg, (void)len, (void)user_data;
    return cf_future_result(gate, 60.0, &r) == CF_OK ? 0 : 1;
}

static int released_now(void) { return __atomic_load_n(&task_releases, __ATOMIC_SEQ_CST); }

static void task_user_data_release(void) {
    cf_executor *ex = check_new_thread_pool(1);
    cf_submit_options so;
    cf_future *f = NULL, *blocker = NULL, *queued = NULL;
    cf_slice r;
    cf_executor_stats st;
    int v = 0;

    cf_submit_options_init(&so);
    CHECK(so.release_user_data == NULL);
    so.release_user_data = count_release;
    CHECK_INT(cf_submit_ex(ex, reads_seven, seven(), NULL, 0, &so, &f), CF_OK);
    CHECK_INT(cf_future_result(f, 30.0, &r), CF_OK);
    if (r.len == sizeof v) memcpy(&v, r.data, sizeof v);
    CHECK_INT(v, 7);
    cf_future_release(f);

    /* One queued behind a blocked worker and cancelled: never runs, released all the same. */
    CHECK_INT(cf_future_new(&gate), CF_OK);
    CHECK_INT(cf_submit(ex, waits_for_gate, NULL, NULL, 0, &blocker), CF_OK);
    CHECK_INT(cf_submit_ex(ex, reads_seven, seven(), NULL, 0, &so, &queued), CF_OK);
    CHECK_INT(cf_future_cancel(queued), 1);
    CHECK_INT(cf_future_set_result(gate, NULL, 0), CF_OK);
    CHECK_INT(cf_future_result(blocker, 30.0, &r), CF_OK);
    cf_future_release(blocker);
    cf_future_release(queued);
    cf_future_release(gate);

    /* A failing submit releases at once: no function, or a pool shut down. */
    CHECK_INT(cf_submit_ex(ex, NULL, seven(), NULL, 0, &so, &f), CF_E_INVALID_ARGUMENT);
    st.struct_size = sizeof st;
    CHECK_INT(cf_executor_stats_get(ex, &st), CF_OK);
    CHECK_INT(st.max_workers, 1);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    CHECK_INT(cf_submit_ex(ex, reads_seven, seven(), NULL, 0, &so, &f), CF_E_SHUTDOWN);
    cf_executor_free(ex); /* joins the worker: every item it held is gone */
    CHECK_INT(released_now(), 4);

    /* A task submitted by name has no user_data to release. */
    ex = check_new_thread_pool(1);
    CHECK_INT(cf_submit_named_ex(ex, "test.tries_object", NULL, 0, &so, &f), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "release_user_data");
    cf_executor_free(ex);
}

/* ---- failures with any status, remote failures, worker pids */

static int raises_plainly(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    return cf_task_raise(ctx, "ValueError", "plain");
}
CF_TASK("test.raises_plainly", raises_plainly);

static void failures_and_pids(void) {
    cf_future *f = NULL;
    cf_error e;
    cf_slice r;
    cf_process_pool_options o;
    cf_executor *ex = NULL, *threads = check_new_thread_pool(1);
    int pids[8];
    size_t n = 99;
    cf_executor_stats st;

    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_set_failure(f, CF_OK, "T", "m", NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_failure(f, CF_DONE, "T", "m", NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_failure(f, -999, "T", "m", NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_failure(f, CF_E_BROKEN_PROCESS_POOL, NULL, "m", NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_failure(f, CF_E_BROKEN_PROCESS_POOL, "SIGKILL", "worker 4711 died", "pid 4711"), CF_OK);
    CHECK_INT(cf_future_set_failure(f, CF_E_TIMEOUT, "T", NULL, NULL), CF_E_INVALID_STATE);
    CHECK_INT(cf_future_result(f, 0.0, &r), CF_E_BROKEN_PROCESS_POOL);
    CHECK_INT(cf_future_exception(f, 0.0, &e), CF_OK);
    CHECK_INT(e.status, CF_E_BROKEN_PROCESS_POOL);
    CHECK_STR(e.type, "SIGKILL");
    CHECK_STR(e.message, "worker 4711 died");
    CHECK_STR(e.detail, "pid 4711");
    CHECK_INT(cf_future_failed_remotely(f), 0);
    cf_future_release(f);
    CHECK_INT(cf_future_failed_remotely(NULL), 0);

    CHECK_INT(cf_submit(threads, raises_plainly, NULL, NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_exception(f, 30.0, &e), CF_OK);
    CHECK_INT(cf_future_failed_remotely(f), 0); /* raised in this process */
    cf_future_release(f);
    CHECK_INT(cf_process_pool_worker_pids(threads, pids, 8, &n), CF_E_INVALID_ARGUMENT);
    cf_executor_free(threads);

    cf_process_pool_options_init(&o);
    o.max_workers = 2;
    o.start_method = CF_START_FORK;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    CHECK_INT(cf_submit_named(ex, "test.raises_plainly", NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_exception(f, 60.0, &e), CF_OK);
    CHECK_STR(e.type, "ValueError");
    CHECK_INT(cf_future_failed_remotely(f), 1); /* raised in a worker process */
    cf_future_release(f);
    CHECK_INT(cf_process_pool_worker_pids(ex, NULL, 0, &n), CF_OK);
    CHECK_INT(n, 2); /* a fork pool starts its workers with the pool */
    CHECK_INT(cf_process_pool_worker_pids(ex, pids, 1, &n), CF_OK);
    CHECK_INT(n, 2);
    CHECK(pids[0] > 0);
    CHECK_INT(cf_process_pool_worker_pids(ex, NULL, 1, &n), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_process_pool_worker_pids(ex, pids, 8, NULL), CF_E_INVALID_ARGUMENT);
    st.struct_size = sizeof st;
    CHECK_INT(cf_executor_stats_get(ex, &st), CF_OK);
    CHECK_INT(st.max_workers, 2);
    cf_executor_free(ex);
}

/* ---- failures with a detail (a traceback's text), in this process and in workers */

static int raises_with_detail(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    if (len) return cf_task_raise_detail(ctx, "KeyError", "'k'", NULL); /* the library's own detail */
    (void)arg;
    return cf_task_raise_detail(ctx, "KeyError", "'k'", "Traceback (most recent call last):\n  line 1\n");
}
CF_TASK("test.raises_with_detail", raises_with_detail);

static void check_detail_failure(cf_executor *ex, int by_name) {
    cf_future *f = NULL;
    cf_error e;
    if (by_name) CHECK_INT(cf_submit_named(ex, "test.raises_with_detail", NULL, 0, &f), CF_OK);
    else CHECK_INT(cf_submit(ex, raises_with_detail, NULL, NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_exception(f, 60.0, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "KeyError");
    CHECK_STR(e.message, "'k'");
    CHECK_STR(e.detail, "Traceback (most recent call last):\n  line 1\n");
    cf_future_release(f);
    if (!by_name) return;
    CHECK_INT(cf_submit_named(ex, "test.raises_with_detail", "x", 1, &f), CF_OK);
    CHECK_INT(cf_future_exception(f, 60.0, &e), CF_OK);
    CHECK_STR(e.type, "KeyError");
    CHECK(e.detail && strstr(e.detail, "in worker") != NULL); /* none given: where the library saw it */
    cf_future_release(f);
}

static void raise_detail(void) {
    cf_process_pool_options o;
    cf_executor *ex = NULL, *threads = check_new_thread_pool(1);
    CHECK_INT(cf_task_raise_detail(NULL, "T", "m", "d"), CF_E_INVALID_ARGUMENT);
    check_detail_failure(threads, 0);
    cf_executor_free(threads);
    for (int method = CF_START_FORK; method <= CF_START_SPAWN; ++method) {
        cf_process_pool_options_init(&o);
        o.max_workers = 1;
        o.start_method = (cf_start_method)method;
        CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
        check_detail_failure(ex, 1);
        cf_executor_free(ex);
    }
}

/* ---- an argument in parts (cf_submit_named_parts): laid end to end, on process and thread pools */

/* The argument back, as the task received it. */
static int echoes_argument(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    return cf_task_return(ctx, arg, len);
}
CF_TASK("test.echoes_argument", echoes_argument);

/* Submits the parts and checks that the result is `want` (want_len bytes). */
static void check_parts_echo(cf_executor *ex, const cf_slice *parts, size_t n, const cf_submit_options *o,
                             const char *want, size_t want_len) {
    cf_future *f = NULL;
    cf_slice r;
    CHECK_INT(cf_submit_named_parts(ex, "test.echoes_argument", parts, n, o, &f), CF_OK);
    CHECK_INT(cf_future_result(f, 60.0, &r), CF_OK);
    CHECK_INT(r.len, want_len);
    CHECK(want_len == 0 || (r.data && memcmp(r.data, want, want_len) == 0));
    cf_future_release(f);
}

static void check_parts_on(cf_executor *ex) {
    enum { big = 3 << 20 };
    char *payload = (char *)malloc(big), *joined = (char *)malloc(big + 8);
    cf_slice parts[4], bad[2];
    cf_submit_options so;
    cf_future *f = (cf_future *)&check_not_a_handle;
    size_t i;
    for (i = 0; i < big; ++i) payload[i] = (char)(i * 31 + 7);
    parts[0].data = "head", parts[0].len = 4;
    parts[1].data = NULL, parts[1].len = 0; /* an empty part, without data */
    parts[2].data = payload, parts[2].len = big;
    parts[3].data = "tail", parts[3].len = 4;
    memcpy(joined, "head", 4), memcpy(joined + 4, payload, big), memcpy(joined + 4 + big, "tail", 4);
    check_parts_echo(ex, parts, 4, NULL, joined, big + 8);
    cf_submit_options_init(&so);
    so.time_limit = 60.0;
    check_parts_echo(ex, parts, 1, &so, "head", 4);
    check_parts_echo(ex, NULL, 0, NULL, "", 0); /* no parts: an empty argument */

    CHECK_FAILS(cf_submit_named_parts(ex, "test.echoes_argument", NULL, 2, NULL, &f), CF_E_INVALID_ARGUMENT, "parts");
    CHECK(f == (cf_future *)&check_not_a_handle); /* (refused before out is touched) */
    bad[0].data = "x", bad[0].len = 1;
    bad[1].data = NULL, bad[1].len = 5;
    CHECK_FAILS(cf_submit_named_parts(ex, "test.echoes_argument", bad, 2, NULL, &f), CF_E_INVALID_ARGUMENT, "part 1");
    bad[1].data = "y", bad[1].len = SIZE_MAX;
    CHECK_FAILS(cf_submit_named_parts(ex, "test.echoes_argument", bad, 2, NULL, &f), CF_E_TOO_LARGE, NULL);
    CHECK_FAILS(cf_submit_named_parts(ex, NULL, parts, 1, NULL, &f), CF_E_INVALID_ARGUMENT, "task");
    CHECK_FAILS(cf_submit_named_parts(ex, "test.echoes_argument", parts, 1, NULL, NULL), CF_E_INVALID_ARGUMENT, "out");
    CHECK_FAILS(cf_submit_named_parts(ex, "test.no_such_task", parts, 1, NULL, &f), CF_E_UNKNOWN_TASK, NULL);
    so.time_limit = NAN;
    CHECK_FAILS(cf_submit_named_parts(ex, "test.echoes_argument", parts, 1, &so, &f), CF_E_INVALID_ARGUMENT, NULL);
    free(payload);
    free(joined);
}

static void submit_named_parts(void) {
    cf_process_pool_options o;
    cf_executor *ex = check_new_thread_pool(1);
    cf_future *f = NULL;
    cf_slice part = {"x", 1};
    check_parts_on(ex);
    cf_executor_shutdown(ex, 1, 0);
    CHECK_FAILS(cf_submit_named_parts(ex, "test.echoes_argument", &part, 1, NULL, &f), CF_E_SHUTDOWN, NULL);
    cf_executor_free(ex);
    CHECK_FAILS(cf_submit_named_parts(NULL, "test.echoes_argument", &part, 1, NULL, &f), CF_E_INVALID_ARGUMENT,
                "executor");
    for (int method = CF_START_FORK; method <= CF_START_SPAWN; ++method) {
        cf_process_pool_options_init(&o);
        o.max_workers = 1;
        o.start_method = (cf_start_method)method;
        CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
        check_parts_on(ex);
        cf_executor_free(ex);
    }
    /* An argument that can never fit the arena: refused as a whole, from its parts' total. */
    cf_process_pool_options_init(&o);
    o.max_workers = 1;
    o.start_method = CF_START_FORK;
    o.shared_memory_bytes = 1 << 20;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    {
        static char half[600 * 1024];
        cf_slice two[2] = {{half, sizeof half}, {half, sizeof half}};
        check_parts_echo(ex, two, 1, NULL, half, sizeof half);
        CHECK_FAILS(cf_submit_named_parts(ex, "test.echoes_argument", two, 2, NULL, &f), CF_E_TOO_LARGE, NULL);
    }
    cf_executor_free(ex);
}

/* ---- spawned workers with arguments: /usr/bin/env starts this program with a variable its argument sets */

static int reads_spawn_variable(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    const char *v = getenv("CF_TEST_SPAWN_ARG");
    return cf_task_return(ctx, v ? v : "(unset)", v ? strlen(v) : 7);
}
CF_TASK("test.reads_spawn_variable", reads_spawn_variable);

static void spawn_worker_args(void) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    if (n <= 0) return;
    self[n] = 0;
    const char *args[] = {"CF_TEST_SPAWN_ARG=given as an argument", self, NULL};
    const char *none[] = {NULL};
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    cf_future *f = NULL;
    cf_slice r;

    cf_process_pool_options_init(&o);
    o.max_workers = 1;
    o.start_method = CF_START_SPAWN;
    o.worker_program = "/usr/bin/env";
    o.worker_args = args;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    CHECK_INT(cf_submit_named(ex, "test.reads_spawn_variable", NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_result(f, 60.0, &r), CF_OK);
    CHECK(r.len == strlen(args[0]) - 18 && memcmp(r.data, args[0] + 18, r.len) == 0);
    cf_future_release(f);
    cf_executor_free(ex);

    o.worker_program = NULL; /* an empty list: the program alone, as with none */
    o.worker_args = none;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    CHECK_INT(cf_submit_named(ex, "test.reads_spawn_variable", NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_result(f, 60.0, &r), CF_OK);
    CHECK(r.len == 7 && memcmp(r.data, "(unset)", 7) == 0);
    cf_future_release(f);
    cf_executor_free(ex);
}

/* ---- fork hooks: counted in the parent; in a worker, the child hook runs before any task */

static int hooks_before, hooks_in_parent, hooks_in_child;

static void count_hook(void *counter) { __atomic_fetch_add((int *)counter, 1, __ATOMIC_SEQ_CST); }

static int reads_child_hooks(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    char text[16];
    int n = snprintf(text, sizeof text, "%d", __atomic_load_n(&hooks_in_child, __ATOMIC_SEQ_CST));
    return cf_task_return(ctx, text, (size_t)n);
}
CF_TASK("test.reads_child_hooks", reads_child_hooks);

static int child_hooks_seen(cf_executor *ex) {
    cf_future *f = NULL;
    cf_slice r;
    int seen = -1;
    CHECK_INT(cf_submit_named(ex, "test.reads_child_hooks", NULL, 0, &f), CF_OK);
    if (cf_future_result(f, 60.0, &r) == CF_OK) {
        char text[16] = {0};
        memcpy(text, r.data, r.len < 15 ? r.len : 15);
        seen = atoi(text);
    }
    cf_future_release(f);
    return seen;
}

static void fork_hooks(void) {
    cf_fork_hook before = {count_hook, &hooks_before}, parent = {count_hook, &hooks_in_parent},
                 child = {count_hook, &hooks_in_child}, empty = {NULL, NULL};
    cf_fork_hook many[17];
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    for (int i = 0; i < 17; ++i) many[i] = before;

    CHECK_INT(cf_set_fork_hooks(NULL, 1, NULL, 0, NULL, 0), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_set_fork_hooks(&before, 1, &empty, 1, NULL, 0), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_set_fork_hooks(many, 17, NULL, 0, NULL, 0), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_set_fork_hooks(many, 16, NULL, 0, NULL, 0), CF_OK);
    CHECK_INT(cf_set_fork_hooks(&before, 1, &parent, 1, &child, 1), CF_OK);

    /* fork: a worker forked from this process ran the child hook once */
    cf_process_pool_options_init(&o);
    o.max_workers = 2;
    o.start_method = CF_START_FORK;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    CHECK_INT(child_hooks_seen(ex), 1);
    cf_executor_free(ex);
    int forks = __atomic_load_n(&hooks_before, __ATOMIC_SEQ_CST);
    CHECK(forks >= 2);
    CHECK_INT(__atomic_load_n(&hooks_in_parent, __ATOMIC_SEQ_CST), forks);
    CHECK_INT(__atomic_load_n(&hooks_in_child, __ATOMIC_SEQ_CST), 0); /* never in this process */

    /* forkserver: the server ran it once, then each worker it forks once more */
    o.start_method = CF_START_FORKSERVER;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    CHECK_INT(child_hooks_seen(ex), 2);
    cf_executor_free(ex);

    /* spawn runs a new program image: no hook, and none in this process either */
    int before_spawn = __atomic_load_n(&hooks_before, __ATOMIC_SEQ_CST);
    o.start_method = CF_START_SPAWN;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    CHECK_INT(child_hooks_seen(ex), 0);
    cf_executor_free(ex);
    CHECK_INT(__atomic_load_n(&hooks_before, __ATOMIC_SEQ_CST), before_spawn);

    /* removed: later forks run none */
    CHECK_INT(cf_set_fork_hooks(NULL, 0, NULL, 0, NULL, 0), CF_OK);
    o.start_method = CF_START_FORK;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    CHECK_INT(child_hooks_seen(ex), 0);
    cf_executor_free(ex);
    CHECK_INT(__atomic_load_n(&hooks_before, __ATOMIC_SEQ_CST), before_spawn);
}

static const check_test tests[] = {
    CHECK_TEST(fork_hooks), /* first: the program's forkserver must start after the hooks are set */
    CHECK_TEST(future_objects),         CHECK_TEST(bad_input),          CHECK_TEST(thread_pool_tasks),
    CHECK_TEST(process_pool_refuses_objects), CHECK_TEST(done_callback_release), CHECK_TEST(task_user_data_release),
    CHECK_TEST(failures_and_pids), CHECK_TEST(raise_detail), CHECK_TEST(spawn_worker_args),
    CHECK_TEST(submit_named_parts),
};

int main(int argc, char **argv) {
    if (cf_process_worker_entry() != CF_OK) return 1; /* in a spawned worker this never returns */
    return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL);
}
