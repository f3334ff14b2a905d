/* SPDX-License-Identifier: MIT */
/*
 * The futures part of the C ABI, driven from plain C99: status codes and version, the future state machine,
 * done-callbacks, argument checking and the thread-local error text (cf_wait and cf_as_completed:
 * test_capi_futures_wait.c).
 *
 * No framework: CHECK counts and reports, main prints "N passed, M failed" and fails if M > 0; each test function
 * is a ctest case of its own (check.h).
 * Threads are synchronised with the futures themselves or with pthread primitives; the only sleep (in
 * pause_briefly) makes it likely that a waiter is really asleep when it is woken, and no check depends on it.
 */
#define _POSIX_C_SOURCE 200809L

#include <cfutures/cfutures.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "future_checks.h"

/* ------------------------------------------------------------------------------------------------------------ */
/* Status codes and version                                                                                       */

static void test_version(void) {
    CHECK_INT(cf_version(), CF_VERSION_NUMBER);
    CHECK_INT(CF_VERSION_NUMBER, (CF_VERSION_MAJOR << 16) | (CF_VERSION_MINOR << 8) | CF_VERSION_PATCH);
    CHECK_INT(CF_VERSION_NUMBER, 0x000100);
    CHECK_STR(cf_version_string(), "0.1.0");
    CHECK(CF_VERSION_AT_LEAST(0, 1, 0));
    CHECK(CF_VERSION_AT_LEAST(0, 0, 9));
    CHECK(!CF_VERSION_AT_LEAST(0, 1, 1));
    CHECK(!CF_VERSION_AT_LEAST(0, 2, 0));
    CHECK(!CF_VERSION_AT_LEAST(1, 0, 0));
}

static void test_status_names(void) {
    static const struct {
        int code;
        const char *name;
    } codes[] = {
        {CF_OK, "CF_OK"},
        {CF_DONE, "CF_DONE"},
        {CF_E_INVALID_ARGUMENT, "CF_E_INVALID_ARGUMENT"},
        {CF_E_NO_MEMORY, "CF_E_NO_MEMORY"},
        {CF_E_TIMEOUT, "CF_E_TIMEOUT"},
        {CF_E_CANCELLED, "CF_E_CANCELLED"},
        {CF_E_SHUTDOWN, "CF_E_SHUTDOWN"},
        {CF_E_BROKEN_THREAD_POOL, "CF_E_BROKEN_THREAD_POOL"},
        {CF_E_BROKEN_PROCESS_POOL, "CF_E_BROKEN_PROCESS_POOL"},
        {CF_E_INVALID_STATE, "CF_E_INVALID_STATE"},
        {CF_E_TASK_FAILED, "CF_E_TASK_FAILED"},
        {CF_E_UNKNOWN_TASK, "CF_E_UNKNOWN_TASK"},
        {CF_E_DEADLOCK, "CF_E_DEADLOCK"},
        {CF_E_SYSTEM, "CF_E_SYSTEM"},
        {CF_E_TOO_LARGE, "CF_E_TOO_LARGE"},
        {CF_E_TIME_LIMIT, "CF_E_TIME_LIMIT"},
        {CF_E_WORKER_DIED, "CF_E_WORKER_DIED"},
    };
    static const int values[] = {0, 1, -1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15};
    size_t i;
    CHECK_INT(sizeof codes / sizeof codes[0], sizeof values / sizeof values[0]);
    for (i = 0; i < sizeof codes / sizeof codes[0]; ++i) {
        const char *text = cf_strerror(codes[i].code);
        CHECK_INT(codes[i].code, values[i]); /* the numbers of the contract */
        CHECK_STR(cf_status_name(codes[i].code), codes[i].name);
        CHECK(text != NULL && text[0] != '\0');
    }
    /* The list every status comes from (cf_status_map.h) agrees with the contract above, entry by entry. */
    {
        static const struct {
            int code;
            const char *name, *description;
        } map[] = {
#define STATUS_ENTRY(c_name, value, cxx_name, cxx_exception, python_exception, description) \
    {value, #c_name, description},
            CF_STATUS_MAP(STATUS_ENTRY)
#undef STATUS_ENTRY
        };
        CHECK_INT(sizeof map / sizeof map[0], sizeof codes / sizeof codes[0]);
        for (i = 0; i < sizeof map / sizeof map[0] && i < sizeof codes / sizeof codes[0]; ++i) {
            CHECK_INT(map[i].code, codes[i].code);
            CHECK_STR(map[i].name, codes[i].name);
            CHECK_STR(cf_strerror(map[i].code), map[i].description);
        }
    }
    CHECK_STR(cf_status_name(42), "CF_UNKNOWN_STATUS");
    CHECK_STR(cf_status_name(-16), "CF_UNKNOWN_STATUS");
    CHECK(cf_strerror(42) != NULL);
    CHECK(cf_strerror(-16) != NULL);
    CHECK_INT(sizeof(cf_status), 4);
    CHECK_INT(sizeof(cf_future_state), 4);
    CHECK_INT(sizeof(cf_return_when), 4);
}

/* Runs first, on a thread that has not failed yet. */
static void test_last_error_initially(void) {
    const char *text = cf_last_error();
    CHECK(text != NULL);
    CHECK_STR(text, "");
}

/* ------------------------------------------------------------------------------------------------------------ */
/* The state machine                                                                                              */

static void test_new_future_is_pending(void) {
    cf_future *f = new_future();
    cf_slice s;
    cf_error e;
    CHECK_INT(cf_future_get_state(f), CF_PENDING);
    CHECK_INT(cf_future_done(f), 0);
    CHECK_INT(cf_future_running(f), 0);
    CHECK_INT(cf_future_cancelled(f), 0);
    CHECK_FAILS(cf_future_result(f, 0.0, &s), CF_E_TIMEOUT, NULL);
    CHECK_FAILS(cf_future_exception(f, 0.0, &e), CF_E_TIMEOUT, NULL);
    CHECK_FAILS(cf_future_result(f, 0.001, &s), CF_E_TIMEOUT, NULL);
    CHECK_INT(cf_future_get_state(f), CF_PENDING);
    cf_future_release(f);
}

static void test_cancel_pending(void) {
    cf_future *f = new_future();
    cf_slice s;
    cf_error e;
    CHECK_INT(cf_future_cancel(f), 1);
    CHECK_INT(cf_future_get_state(f), CF_CANCELLED);
    CHECK_INT(cf_future_cancelled(f), 1);
    CHECK_INT(cf_future_done(f), 1);
    CHECK_INT(cf_future_running(f), 0);
    CHECK_INT(cf_future_cancel(f), 1); /* cancelled already */
    CHECK_INT(cf_future_get_state(f), CF_CANCELLED);
    CHECK_FAILS(cf_future_result(f, 0.0, &s), CF_E_CANCELLED, NULL);
    CHECK_FAILS(cf_future_result(f, CF_FOREVER, &s), CF_E_CANCELLED, NULL);
    CHECK_FAILS(cf_future_exception(f, 0.0, &e), CF_E_CANCELLED, NULL);
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 0);
    CHECK_INT(cf_future_get_state(f), CF_CANCELLED);
    CHECK_FAILS(cf_future_set_result(f, "x", 1), CF_E_INVALID_STATE, NULL);
    CHECK_FAILS(cf_future_set_exception(f, "ValueError", "late"), CF_E_INVALID_STATE, NULL);
    CHECK_INT(cf_future_get_state(f), CF_CANCELLED);
    cf_future_release(f);
}

static void test_running(void) {
    cf_future *f = new_future();
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_get_state(f), CF_RUNNING);
    CHECK_INT(cf_future_running(f), 1);
    CHECK_INT(cf_future_done(f), 0);
    CHECK_INT(cf_future_cancelled(f), 0);
    CHECK_INT(cf_future_cancel(f), 0); /* cannot cancel a running future */
    CHECK_INT(cf_future_get_state(f), CF_RUNNING);
    CHECK_INT(cf_future_running(f), 1);
    CHECK_INT(cf_future_cancelled(f), 0);
    CHECK_FAILS(cf_future_set_running_or_notify_cancel(f), CF_E_INVALID_STATE, NULL);
    CHECK_INT(cf_future_get_state(f), CF_RUNNING);
    CHECK_INT(cf_future_set_result(f, "ran", 3), CF_OK);
    CHECK_INT(cf_future_get_state(f), CF_FINISHED);
    CHECK_INT(cf_future_done(f), 1);
    CHECK_INT(cf_future_running(f), 0);
    CHECK_INT(cf_future_cancel(f), 0); /* finished */
    CHECK_INT(cf_future_get_state(f), CF_FINISHED);
    CHECK_FAILS(cf_future_set_running_or_notify_cancel(f), CF_E_INVALID_STATE, NULL);
    CHECK(result_is(f, "ran"));
    cf_future_release(f);
}

static void test_set_result(void) {
    char source[] = "hello";
    cf_future *f = new_future();
    cf_slice s = {NULL, 0};
    cf_error e;
    CHECK_INT(cf_future_set_result(f, source, 5), CF_OK); /* from PENDING */
    memset(source, 'X', 5);                              /* the bytes were copied */
    CHECK_INT(cf_future_get_state(f), CF_FINISHED);
    CHECK_INT(cf_future_done(f), 1);
    CHECK_INT(cf_future_cancelled(f), 0);
    CHECK_INT(cf_future_running(f), 0);
    CHECK_INT(cf_future_result(f, 0.0, &s), CF_OK);
    CHECK_INT(s.len, 5);
    CHECK(s.data != NULL && memcmp(s.data, "hello", 5) == 0);
    CHECK_FAILS(cf_future_set_result(f, "world", 5), CF_E_INVALID_STATE, NULL);
    CHECK_FAILS(cf_future_set_exception(f, "ValueError", "late"), CF_E_INVALID_STATE, NULL);
    CHECK(result_is(f, "hello")); /* the first value is kept */
    CHECK_INT(cf_future_cancel(f), 0);
    CHECK_INT(cf_future_get_state(f), CF_FINISHED);
    /* exception() of a success: CF_OK, status CF_OK, no strings. */
    e.status = 77;
    e.type = e.message = e.detail = "garbage";
    CHECK_INT(cf_future_exception(f, 0.0, &e), CF_OK);
    CHECK_INT(e.status, CF_OK);
    CHECK(e.type == NULL);
    CHECK(e.message == NULL);
    CHECK(e.detail == NULL);
    /* Negative and infinite timeouts wait without limit; the future is done, so they return at once. */
    CHECK_INT(cf_future_result(f, CF_FOREVER, &s), CF_OK);
    CHECK_INT(cf_future_result(f, -2.5, &s), CF_OK);
    CHECK_INT(cf_future_result(f, -INFINITY, &s), CF_OK);
    CHECK_INT(cf_future_result(f, INFINITY, &s), CF_OK);
    CHECK_INT(cf_future_result(f, 1e300, &s), CF_OK);
    CHECK_INT(cf_future_exception(f, -0.5, &e), CF_OK);
    CHECK_INT(cf_future_exception(f, INFINITY, &e), CF_OK);
    CHECK(result_is(f, "hello"));
    cf_future_release(f);

    /* An empty result, given as NULL with length 0. */
    f = new_future();
    CHECK_INT(cf_future_set_result(f, NULL, 0), CF_OK);
    CHECK_INT(cf_future_result(f, 0.0, &s), CF_OK);
    CHECK_INT(s.len, 0);
    cf_future_release(f);
}

static void test_set_exception(void) {
    char type[] = "ValueError";
    char message[] = "bad value";
    cf_future *f = new_future();
    cf_slice s;
    cf_error e;
    CHECK_INT(cf_future_set_exception(f, type, message), CF_OK); /* from PENDING */
    memset(type, 'X', sizeof type - 1);                          /* the strings were copied */
    memset(message, 'Y', sizeof message - 1);
    CHECK_INT(cf_future_get_state(f), CF_FINISHED);
    CHECK_INT(cf_future_done(f), 1);
    CHECK_INT(cf_future_cancelled(f), 0);
    CHECK_FAILS(cf_future_result(f, 0.0, &s), CF_E_TASK_FAILED, NULL);
    CHECK_FAILS(cf_future_result(f, CF_FOREVER, &s), CF_E_TASK_FAILED, NULL);
    memset(&e, 0, sizeof e);
    CHECK_INT(cf_future_exception(f, 0.0, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "ValueError");
    CHECK_STR(e.message, "bad value");
    CHECK_FAILS(cf_future_set_exception(f, "KeyError", "second"), CF_E_INVALID_STATE, NULL);
    CHECK_FAILS(cf_future_set_result(f, "x", 1), CF_E_INVALID_STATE, NULL);
    CHECK_INT(cf_future_cancel(f), 0);
    CHECK_INT(cf_future_exception(f, 0.0, &e), CF_OK); /* the first failure is kept */
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "ValueError");
    CHECK_STR(e.message, "bad value");
    cf_future_release(f);

    /* message may be NULL. */
    f = new_future();
    CHECK_INT(cf_future_set_exception(f, "RuntimeError", NULL), CF_OK);
    memset(&e, 0, sizeof e);
    CHECK_INT(cf_future_exception(f, 0.0, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "RuntimeError");
    CHECK(e.message == NULL || e.message[0] == '\0');
    cf_future_release(f);

    /* A running future can fail too. */
    f = new_future();
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(cf_future_set_exception(f, "OSError", "disk"), CF_OK);
    CHECK_INT(cf_future_get_state(f), CF_FINISHED);
    CHECK_FAILS(cf_future_result(f, 0.0, &s), CF_E_TASK_FAILED, NULL);
    cf_future_release(f);
}

static void test_retain_release(void) {
    cf_future *f = finished_future("kept");
    cf_future_retain(f);
    cf_future_release(f); /* one reference left */
    CHECK_INT(cf_future_get_state(f), CF_FINISHED);
    CHECK(result_is(f, "kept"));
    cf_future_retain(f);
    cf_future_retain(f);
    cf_future_release(f);
    cf_future_release(f);
    CHECK(result_is(f, "kept"));
    cf_future_release(f); /* the last: freed (the leak checker of the asan build would notice otherwise) */
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Other threads                                                                                                  */

static void test_result_from_another_thread(void) {
    cf_future *f = new_future();
    actor a;
    cf_slice s = {NULL, 0};
    CHECK(actor_start(&a, f, ACT_SET_RESULT, "from afar"));
    CHECK_INT(cf_future_result(f, CF_FOREVER, &s), CF_OK);
    CHECK_INT(s.len, 9);
    CHECK(s.data != NULL && memcmp(s.data, "from afar", 9) == 0);
    actor_join(&a);
    CHECK_INT(a.rc, CF_OK);
    cf_future_release(f);

    /* +Inf and other negative timeouts wait without limit too. */
    f = new_future();
    CHECK(actor_start(&a, f, ACT_SET_RESULT, "inf"));
    CHECK_INT(cf_future_result(f, INFINITY, &s), CF_OK);
    CHECK(result_is(f, "inf"));
    actor_join(&a);
    cf_future_release(f);

    f = new_future();
    CHECK(actor_start(&a, f, ACT_SET_RESULT, "negative"));
    CHECK_INT(cf_future_result(f, -3.0, &s), CF_OK);
    CHECK(result_is(f, "negative"));
    actor_join(&a);
    cf_future_release(f);
}

static void test_cancel_from_another_thread(void) {
    cf_future *f = new_future();
    actor a;
    cf_slice s;
    cf_error e;
    CHECK(actor_start(&a, f, ACT_CANCEL, NULL));
    CHECK_FAILS(cf_future_result(f, CF_FOREVER, &s), CF_E_CANCELLED, NULL);
    actor_join(&a);
    CHECK_INT(a.rc, 1);
    CHECK_INT(cf_future_cancelled(f), 1);
    cf_future_release(f);

    f = new_future();
    CHECK(actor_start(&a, f, ACT_CANCEL, NULL));
    CHECK_FAILS(cf_future_exception(f, CF_FOREVER, &e), CF_E_CANCELLED, NULL);
    actor_join(&a);
    cf_future_release(f);
}

static void test_exception_from_another_thread(void) {
    cf_future *f = new_future();
    actor a;
    cf_error e;
    memset(&e, 0, sizeof e);
    CHECK(actor_start(&a, f, ACT_SET_EXCEPTION, "ZeroDivisionError"));
    CHECK_INT(cf_future_exception(f, CF_FOREVER, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TASK_FAILED);
    CHECK_STR(e.type, "ZeroDivisionError");
    CHECK_STR(e.message, "from another thread");
    actor_join(&a);
    CHECK_INT(a.rc, CF_OK);
    cf_future_release(f);
}

typedef struct result_waiter {
    pthread_t thread;
    cf_future *f;
    int rc;
    char got[16];
} result_waiter;

static void *result_waiter_main(void *p) {
    result_waiter *w = (result_waiter *)p;
    cf_slice s = {NULL, 0};
    w->rc = cf_future_result(w->f, CF_FOREVER, &s);
    if (w->rc == CF_OK && s.len < sizeof w->got) {
        memcpy(w->got, s.data, s.len);
        w->got[s.len] = '\0';
    }
    return NULL;
}

/* Several threads asleep on one future all wake. */
static void test_many_waiters(void) {
    enum { N = 4 };
    cf_future *f = new_future();
    result_waiter w[N];
    int i;
    for (i = 0; i < N; ++i) {
        w[i].f = f;
        w[i].rc = -1000;
        w[i].got[0] = '\0';
        CHECK(pthread_create(&w[i].thread, NULL, result_waiter_main, &w[i]) == 0);
    }
    pause_briefly();
    CHECK_INT(cf_future_set_result(f, "all", 3), CF_OK);
    for (i = 0; i < N; ++i) {
        pthread_join(w[i].thread, NULL);
        CHECK_INT(w[i].rc, CF_OK);
        CHECK_STR(w[i].got, "all");
    }
    cf_future_release(f);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Callbacks                                                                                                      */

typedef struct callback_log {
    int count;
    cf_future *futures[8];
    void *data[8];
    int tags[8];
    pthread_t threads[8];
} callback_log;

typedef struct callback_arg {
    callback_log *log;
    int tag;
} callback_arg;

static void log_callback(cf_future *f, void *user_data) {
    callback_arg *arg = (callback_arg *)user_data;
    callback_log *log = arg->log;
    if (log->count < 8) {
        log->futures[log->count] = f;
        log->data[log->count] = user_data;
        log->tags[log->count] = arg->tag;
        log->threads[log->count] = pthread_self();
    }
    ++log->count;
}

static void test_callbacks(void) {
    callback_log log;
    callback_arg args[4];
    cf_future *f = new_future();
    int i;
    memset(&log, 0, sizeof log);
    for (i = 0; i < 4; ++i) {
        args[i].log = &log;
        args[i].tag = i;
    }
    /* Added while pending: nothing runs yet. */
    CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[0]), CF_OK);
    CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[1]), CF_OK);
    CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[2]), CF_OK);
    CHECK_INT(log.count, 0);
    CHECK_INT(cf_future_set_running_or_notify_cancel(f), 1);
    CHECK_INT(log.count, 0); /* running is not done */
    CHECK_INT(cf_future_set_result(f, "cb", 2), CF_OK);
    CHECK_INT(log.count, 3); /* ran on this (the completing) thread, in the order added */
    for (i = 0; i < 3 && i < log.count; ++i) {
        CHECK(log.futures[i] == f);
        CHECK(log.data[i] == (void *)&args[i]);
        CHECK_INT(log.tags[i], i);
        CHECK(pthread_equal(log.threads[i], pthread_self()));
    }
    /* Added when done: runs at once, on this thread, before add returns. */
    CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[3]), CF_OK);
    CHECK_INT(log.count, 4);
    if (log.count >= 4) {
        CHECK(log.futures[3] == f);
        CHECK(log.data[3] == (void *)&args[3]);
        CHECK_INT(log.tags[3], 3);
        CHECK(pthread_equal(log.threads[3], pthread_self()));
    }
    /* A failing second set_* does not run them again. */
    CHECK_INT(cf_future_set_result(f, "again", 5), CF_E_INVALID_STATE);
    CHECK_INT(log.count, 4);
    cf_future_release(f);

    /* Cancelling runs them too. */
    memset(&log, 0, sizeof log);
    f = new_future();
    CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[1]), CF_OK);
    CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[0]), CF_OK);
    CHECK_INT(cf_future_cancel(f), 1);
    CHECK_INT(log.count, 2);
    CHECK_INT(log.tags[0], 1);
    CHECK_INT(log.tags[1], 0);
    CHECK(log.futures[0] == f && log.futures[1] == f);
    CHECK_INT(cf_future_cancel(f), 1); /* cancelled already: not run again */
    CHECK_INT(log.count, 2);
    CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[2]), CF_OK);
    CHECK_INT(log.count, 3);
    CHECK_INT(log.tags[2], 2);
    cf_future_release(f);

    /* Failing runs them too, and a callback added to a failed future runs at once. */
    memset(&log, 0, sizeof log);
    f = new_future();
    CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[0]), CF_OK);
    CHECK_INT(cf_future_set_exception(f, "E", "m"), CF_OK);
    CHECK_INT(log.count, 1);
    CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[1]), CF_OK);
    CHECK_INT(log.count, 2);
    cf_future_release(f);

    /* Completed on another thread: the callbacks run there. The log is read after the join. */
    memset(&log, 0, sizeof log);
    f = new_future();
    {
        actor a;
        CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[0]), CF_OK);
        CHECK_INT(cf_future_add_done_callback(f, log_callback, &args[1]), CF_OK);
        CHECK(actor_start(&a, f, ACT_SET_RESULT, "elsewhere"));
        actor_join(&a);
        CHECK_INT(log.count, 2);
        CHECK_INT(log.tags[0], 0);
        CHECK_INT(log.tags[1], 1);
        CHECK(log.futures[0] == f && log.futures[1] == f);
        CHECK(pthread_equal(log.threads[0], a.thread));
        CHECK(pthread_equal(log.threads[1], a.thread));
    }
    cf_future_release(f);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Invalid arguments                                                                                              */

static void ignore_callback(cf_future *f, void *user_data) {
    (void)f;
    (void)user_data;
}

static void test_null_arguments(void) {
    cf_future *f = new_future();
    cf_future *done = finished_future("d");
    cf_future *got = NULL;
    cf_as_completed_iter *it = NULL;
    cf_slice s;
    cf_error e;
    size_t n_done = 0;

    CHECK_FAILS(cf_future_new(NULL), CF_E_INVALID_ARGUMENT, "cf_future_new");

    /* NULL handles. */
    CHECK_INT(cf_future_get_state(NULL), CF_FUTURE_INVALID);
    CHECK_INT(cf_future_done(NULL), 0);
    CHECK_INT(cf_future_running(NULL), 0);
    CHECK_INT(cf_future_cancelled(NULL), 0);
    cf_future_retain(NULL);  /* no crash */
    cf_future_release(NULL); /* a no-op */
    CHECK_FAILS(cf_future_cancel(NULL), CF_E_INVALID_ARGUMENT, "cf_future_cancel");
    CHECK_FAILS(cf_future_result(NULL, 0.0, &s), CF_E_INVALID_ARGUMENT, "cf_future_result");
    CHECK_FAILS(cf_future_exception(NULL, 0.0, &e), CF_E_INVALID_ARGUMENT, "cf_future_exception");
    CHECK_FAILS(cf_future_add_done_callback(NULL, ignore_callback, NULL), CF_E_INVALID_ARGUMENT,
                "cf_future_add_done_callback");
    CHECK_FAILS(cf_future_set_running_or_notify_cancel(NULL), CF_E_INVALID_ARGUMENT,
                "cf_future_set_running_or_notify_cancel");
    CHECK_FAILS(cf_future_set_result(NULL, "x", 1), CF_E_INVALID_ARGUMENT, "cf_future_set_result");
    CHECK_FAILS(cf_future_set_exception(NULL, "T", "m"), CF_E_INVALID_ARGUMENT, "cf_future_set_exception");
    CHECK_FAILS(cf_as_completed_next(NULL, &got), CF_E_INVALID_ARGUMENT, "cf_as_completed_next");
    cf_as_completed_free(NULL); /* a no-op */

    /* NULL out-pointers and other required pointers; the future is left as it was. */
    CHECK_FAILS(cf_future_result(done, 0.0, NULL), CF_E_INVALID_ARGUMENT, "cf_future_result");
    CHECK_FAILS(cf_future_exception(done, 0.0, NULL), CF_E_INVALID_ARGUMENT, "cf_future_exception");
    CHECK_FAILS(cf_future_add_done_callback(f, NULL, NULL), CF_E_INVALID_ARGUMENT, "cf_future_add_done_callback");
    CHECK_FAILS(cf_future_set_exception(f, NULL, "m"), CF_E_INVALID_ARGUMENT, "cf_future_set_exception");
    CHECK_FAILS(cf_future_set_exception(f, NULL, NULL), CF_E_INVALID_ARGUMENT, "cf_future_set_exception");
    CHECK_FAILS(cf_future_set_result(f, NULL, 3), CF_E_INVALID_ARGUMENT, "cf_future_set_result");
    CHECK_INT(cf_future_get_state(f), CF_PENDING);
    CHECK_FAILS(cf_as_completed(&done, 1, 0.0, NULL), CF_E_INVALID_ARGUMENT, "cf_as_completed");
    CHECK_INT(cf_as_completed(&done, 1, 0.0, &it), CF_OK);
    CHECK_FAILS(cf_as_completed_next(it, NULL), CF_E_INVALID_ARGUMENT, "cf_as_completed_next");
    CHECK_INT(cf_as_completed_next(it, &got), CF_OK); /* the iterator still works */
    CHECK(got == done);
    CHECK_INT(cf_as_completed_next(it, &got), CF_DONE);
    cf_as_completed_free(it);

    /* NULL arrays with n > 0, and NULL entries. */
    CHECK_FAILS(cf_wait(NULL, 2, 0.0, CF_ALL_COMPLETED, NULL, NULL), CF_E_INVALID_ARGUMENT, "cf_wait");
    it = NULL;
    CHECK_FAILS(cf_as_completed(NULL, 2, 0.0, &it), CF_E_INVALID_ARGUMENT, "cf_as_completed");
    {
        cf_future *fs[3];
        unsigned char flags[3];
        fs[0] = done; fs[1] = NULL; fs[2] = f;
        CHECK_FAILS(cf_wait(fs, 3, 0.0, CF_ALL_COMPLETED, flags, &n_done), CF_E_INVALID_ARGUMENT, "cf_wait");
        it = NULL;
        CHECK_FAILS(cf_as_completed(fs, 3, 0.0, &it), CF_E_INVALID_ARGUMENT, "cf_as_completed");
    }

    /* NaN timeouts. */
    CHECK_FAILS(cf_future_result(done, NAN, &s), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_future_result(f, NAN, &s), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_future_exception(done, NAN, &e), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_future_exception(f, NAN, &e), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_wait(&done, 1, NAN, CF_ALL_COMPLETED, NULL, NULL), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_wait(&f, 1, NAN, CF_FIRST_COMPLETED, NULL, NULL), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_wait(NULL, 0, NAN, CF_ALL_COMPLETED, NULL, NULL), CF_E_INVALID_ARGUMENT, NULL);
    it = NULL;
    CHECK_FAILS(cf_as_completed(&done, 1, NAN, &it), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_as_completed(NULL, 0, NAN, &it), CF_E_INVALID_ARGUMENT, NULL);

    /* An unknown cf_return_when. */
    CHECK_FAILS(cf_wait(&done, 1, 0.0, (cf_return_when)7, NULL, NULL), CF_E_INVALID_ARGUMENT, NULL);
    /* CF_RETURN_WHEN_MAX_ENUM is no mode either. (A negative value is left out: the library is C++, where an
     * enum whose enumerators are all >= 0 cannot hold -1, and UBSan stops at the load.) */
    CHECK_FAILS(cf_wait(&f, 1, 0.0, CF_RETURN_WHEN_MAX_ENUM, NULL, NULL), CF_E_INVALID_ARGUMENT, NULL);
    CHECK_FAILS(cf_wait(NULL, 0, 0.0, (cf_return_when)3, NULL, NULL), CF_E_INVALID_ARGUMENT, NULL);

    CHECK_INT(cf_future_get_state(f), CF_PENDING); /* none of it touched f */
    cf_future_release(f);
    cf_future_release(done);
}

static void test_not_a_future(void) {
    /* A local array of zeros, aligned like any object (check.h's check_not_a_handle has the same shape). */
    union {
        int ints[64];
        void *pointer;
        long double wide;
        long long integer;
    } local;
    cf_future *bogus;
    cf_future *done = finished_future("d");
    cf_future *got = NULL;
    cf_as_completed_iter *it = NULL;
    cf_slice s;
    cf_error e;
    memset(&local, 0, sizeof local);
    bogus = (cf_future *)&local;

    CHECK_INT(cf_future_get_state(bogus), CF_FUTURE_INVALID);
    CHECK_INT(cf_future_done(bogus), 0);
    CHECK_INT(cf_future_running(bogus), 0);
    CHECK_INT(cf_future_cancelled(bogus), 0);
    CHECK_FAILS(cf_future_cancel(bogus), CF_E_INVALID_ARGUMENT, "cf_future_cancel");
    CHECK_FAILS(cf_future_result(bogus, 0.0, &s), CF_E_INVALID_ARGUMENT, "cf_future_result");
    CHECK_FAILS(cf_future_exception(bogus, 0.0, &e), CF_E_INVALID_ARGUMENT, "cf_future_exception");
    CHECK_FAILS(cf_future_add_done_callback(bogus, ignore_callback, NULL), CF_E_INVALID_ARGUMENT,
                "cf_future_add_done_callback");
    CHECK_FAILS(cf_future_set_running_or_notify_cancel(bogus), CF_E_INVALID_ARGUMENT,
                "cf_future_set_running_or_notify_cancel");
    CHECK_FAILS(cf_future_set_result(bogus, "x", 1), CF_E_INVALID_ARGUMENT, "cf_future_set_result");
    CHECK_FAILS(cf_future_set_exception(bogus, "T", "m"), CF_E_INVALID_ARGUMENT, "cf_future_set_exception");
    {
        cf_future *fs[2];
        fs[0] = done; fs[1] = bogus;
        CHECK_FAILS(cf_wait(fs, 2, 0.0, CF_ALL_COMPLETED, NULL, NULL), CF_E_INVALID_ARGUMENT, "cf_wait");
        CHECK_FAILS(cf_as_completed(fs, 2, 0.0, &it), CF_E_INVALID_ARGUMENT, "cf_as_completed");
    }
    CHECK_FAILS(cf_as_completed_next((cf_as_completed_iter *)&local, &got), CF_E_INVALID_ARGUMENT,
                "cf_as_completed_next");
    /* Nothing was written into it. */
    {
        size_t i;
        int zeros = 1;
        for (i = 0; i < sizeof local.ints / sizeof local.ints[0]; ++i) zeros = zeros && local.ints[i] == 0;
        CHECK(zeros);
    }
    cf_future_release(done);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* cf_last_error                                                                                                  */

static void test_last_error_kept_on_success(void) {
    char primed[256];
    cf_future *f;
    cf_future *fs[1];
    cf_as_completed_iter *it = NULL;
    cf_future *got = NULL;
    cf_slice s;
    CHECK_INT(cf_future_new(NULL), CF_E_INVALID_ARGUMENT);
    snprintf(primed, sizeof primed, "%s", cf_last_error());
    CHECK(primed[0] != '\0');

    f = new_future(); /* CF_OK calls leave the text alone */
    CHECK_INT(cf_future_set_result(f, "ok", 2), CF_OK);
    CHECK_INT(cf_future_result(f, 0.0, &s), CF_OK);
    CHECK_INT(cf_future_cancel(f), 0);
    fs[0] = f;
    CHECK_INT(cf_wait(fs, 1, 0.0, CF_ALL_COMPLETED, NULL, NULL), CF_OK);
    CHECK_INT(cf_as_completed(fs, 1, 0.0, &it), CF_OK);
    CHECK_INT(cf_as_completed_next(it, &got), CF_OK);
    CHECK_INT(cf_as_completed_next(it, &got), CF_DONE); /* so does CF_DONE */
    cf_as_completed_free(it);
    CHECK(cf_status_name(CF_OK) != NULL && cf_version() != 0);
    CHECK_STR(cf_last_error(), primed);
    cf_future_release(f);
}

typedef struct error_thread {
    pthread_barrier_t *barrier;
    char initial[256];    /* its text before it failed */
    char after_fail[256]; /* right after its own failure */
    char later[256];      /* after the main thread failed differently */
    int initial_null;
} error_thread;

static void *error_thread_main(void *p) {
    error_thread *t = (error_thread *)p;
    const char *text = cf_last_error();
    t->initial_null = text == NULL;
    snprintf(t->initial, sizeof t->initial, "%s", text ? text : "");
    cf_wait(NULL, 0, 0.0, (cf_return_when)9, NULL, NULL); /* fails on this thread */
    text = cf_last_error();
    snprintf(t->after_fail, sizeof t->after_fail, "%s", text ? text : "(NULL)");
    pthread_barrier_wait(t->barrier); /* 1: we failed */
    pthread_barrier_wait(t->barrier); /* 2: the main thread failed */
    text = cf_last_error();
    snprintf(t->later, sizeof t->later, "%s", text ? text : "(NULL)");
    return NULL;
}

static void test_last_error_is_thread_local(void) {
    pthread_barrier_t barrier;
    pthread_t thread;
    error_thread t;
    char mine[256];
    char before_other[256];
    memset(&t, 0, sizeof t);
    t.barrier = &barrier;

    CHECK_INT(cf_future_result(NULL, 0.0, NULL), CF_E_INVALID_ARGUMENT);
    snprintf(before_other, sizeof before_other, "%s", cf_last_error());
    CHECK(before_other[0] != '\0');

    CHECK(pthread_barrier_init(&barrier, NULL, 2) == 0);
    CHECK(pthread_create(&thread, NULL, error_thread_main, &t) == 0);
    pthread_barrier_wait(&barrier); /* 1: the other thread failed */
    CHECK_STR(cf_last_error(), before_other); /* not changed by the other thread */
    CHECK_INT(cf_future_set_exception(NULL, NULL, NULL), CF_E_INVALID_ARGUMENT);
    snprintf(mine, sizeof mine, "%s", cf_last_error());
    pthread_barrier_wait(&barrier); /* 2: we failed */
    pthread_join(thread, NULL);
    pthread_barrier_destroy(&barrier);

    CHECK_INT(t.initial_null, 0);
    CHECK_STR(t.initial, ""); /* a new thread starts with "" (not our text) */
    CHECK(t.after_fail[0] != '\0' && strstr(t.after_fail, "cf_wait") != NULL);
    CHECK(strcmp(t.after_fail, before_other) != 0);
    CHECK_STR(t.later, t.after_fail); /* not changed by our failure */
    CHECK(strcmp(mine, t.after_fail) != 0);
    CHECK_STR(cf_last_error(), mine);
    CHECK(cf_last_error() != NULL); /* never NULL, whatever ran before (all of the tests, in a whole run) */
}

/* ------------------------------------------------------------------------------------------------------------ */

static const check_test tests[] = {
    CHECK_TEST(test_last_error_initially), /* first, on a thread that has not failed yet */
    CHECK_TEST(test_version),
    CHECK_TEST(test_status_names),
    CHECK_TEST(test_new_future_is_pending),
    CHECK_TEST(test_cancel_pending),
    CHECK_TEST(test_running),
    CHECK_TEST(test_set_result),
    CHECK_TEST(test_set_exception),
    CHECK_TEST(test_retain_release),
    CHECK_TEST(test_result_from_another_thread),
    CHECK_TEST(test_cancel_from_another_thread),
    CHECK_TEST(test_exception_from_another_thread),
    CHECK_TEST(test_many_waiters),
    CHECK_TEST(test_callbacks),
    CHECK_TEST(test_null_arguments),
    CHECK_TEST(test_not_a_future),
    CHECK_TEST(test_last_error_kept_on_success),
    CHECK_TEST(test_last_error_is_thread_local),
};

int main(int argc, char **argv) { return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL); }
