/* SPDX-License-Identifier: MIT */
/*
 * A plain C99 program built against the *installed* libcfutures (headers and flags from pkg-config). It uses only
 * the public C ABI: futures created with cf_future_new, one of them completed from a pthread, cf_wait and
 * cf_as_completed. Every line it prints is checked by run.sh; any mismatch makes it exit non-zero.
 */
#define _POSIX_C_SOURCE 200809L

#include <cfutures/cfutures.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#ifndef EXPECTED_VERSION
#define EXPECTED_VERSION "0.1.0"
#endif

static int failures = 0;

#define EXPECT(cond, what)                                                             \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "consumer.c:%d: FAILED: %s (last error: %s)\n", __LINE__, \
                    (what), cf_last_error());                                         \
            ++failures;                                                                \
        }                                                                              \
    } while (0)

/* Compares a finished future's result with the expected text. */
static int result_is(cf_future *f, const char *expected) {
    cf_slice r;
    size_t n = strlen(expected);
    if (cf_future_result(f, CF_FOREVER, &r) != CF_OK) return 0;
    return r.len == n && memcmp(r.data, expected, n) == 0;
}

/* The producer thread: waits until told to go, then runs the future and sets its result. */
struct producer {
    cf_future *future;
    int rc_running, rc_set;
};

static void *produce(void *arg) {
    struct producer *p = arg;
    struct timespec pause = {0, 20 * 1000 * 1000}; /* 20 ms: the main thread is blocked in as_completed by then */
    nanosleep(&pause, NULL);
    p->rc_running = cf_future_set_running_or_notify_cancel(p->future);
    p->rc_set = cf_future_set_result(p->future, "bravo", 5);
    return NULL;
}

/* Which of a, b, c the iterator yielded, as a name for the printed order. */
static const char *name_of(cf_future *f, cf_future *a, cf_future *b, cf_future *c) {
    return f == a ? "alpha" : f == b ? "bravo" : f == c ? "charlie" : "?";
}

int main(void) {
    cf_future *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
    unsigned char flags[4];
    size_t n_done = 0;
    int rc;

    /* The library loaded is the one the headers describe. */
    printf("version: %s\n", cf_version_string());
    EXPECT(strcmp(cf_version_string(), EXPECTED_VERSION) == 0, "cf_version_string() == " EXPECTED_VERSION);
    EXPECT(cf_version() == (unsigned)CF_VERSION_NUMBER, "cf_version() == CF_VERSION_NUMBER");
    EXPECT(strcmp(cf_status_name(CF_E_TIMEOUT), "CF_E_TIMEOUT") == 0, "cf_status_name(CF_E_TIMEOUT)");

    EXPECT(cf_future_new(&a) == CF_OK && a, "cf_future_new(a)");
    EXPECT(cf_future_new(&b) == CF_OK && b, "cf_future_new(b)");
    EXPECT(cf_future_new(&c) == CF_OK && c, "cf_future_new(c)");
    EXPECT(cf_future_new(&d) == CF_OK && d, "cf_future_new(d)");
    EXPECT(cf_future_new(&e) == CF_OK && e, "cf_future_new(e)");
    if (failures) return 1;

    /* a finishes now, c is cancelled, b stays pending until the thread completes it. */
    EXPECT(cf_future_set_result(a, "alpha", 5) == CF_OK, "set_result(a)");
    EXPECT(cf_future_cancel(c) == 1, "cancel(c)");
    EXPECT(cf_future_get_state(b) == CF_PENDING, "b is pending");

    {
        cf_future *fs[3];
        fs[0] = a; fs[1] = b; fs[2] = c;
        rc = cf_wait(fs, 3, 0.0, CF_FIRST_COMPLETED, flags, &n_done);
        printf("wait FIRST_COMPLETED: %s, done=%d%d%d, n_done=%zu\n", cf_status_name(rc), flags[0], flags[1],
               flags[2], n_done);
        EXPECT(rc == CF_OK && flags[0] == 1 && flags[1] == 0 && flags[2] == 1 && n_done == 2,
               "cf_wait FIRST_COMPLETED holds with a and c done");

        rc = cf_wait(fs, 3, 0.05, CF_ALL_COMPLETED, flags, &n_done);
        printf("wait ALL_COMPLETED (50 ms): %s, n_done=%zu\n", cf_status_name(rc), n_done);
        EXPECT(rc == CF_E_TIMEOUT && n_done == 2, "cf_wait ALL_COMPLETED times out with b pending");
        EXPECT(cf_last_error()[0] != '\0', "a timeout sets cf_last_error()");
    }

    /* as_completed: the done ones first in input order (a, c), then b once the thread completes it. a is passed
     * twice and must be yielded once. */
    {
        cf_future *fs[4];
        cf_as_completed_iter *it = NULL;
        struct producer p;
        pthread_t thread;
        cf_future *next = NULL;
        char order[64] = "";
        int count = 0;

        fs[0] = a; fs[1] = b; fs[2] = c; fs[3] = a;
        EXPECT(cf_as_completed(fs, 4, 10.0, &it) == CF_OK && it, "cf_as_completed");
        p.future = b; p.rc_running = -100; p.rc_set = -100;
        if (pthread_create(&thread, NULL, produce, &p) != 0) {
            fprintf(stderr, "consumer.c: pthread_create failed\n");
            return 1;
        }
        while (it && (rc = cf_as_completed_next(it, &next)) == CF_OK) {
            if (count++) strcat(order, " ");
            if (strlen(order) + 8 < sizeof order) strcat(order, name_of(next, a, b, c));
            if (count > 4) break;
        }
        pthread_join(thread, NULL);
        printf("as_completed order: %s (end: %s)\n", order, cf_status_name(rc));
        EXPECT(strcmp(order, "alpha charlie bravo") == 0, "as_completed yields alpha charlie bravo");
        EXPECT(rc == CF_DONE, "as_completed ends with CF_DONE");
        EXPECT(p.rc_running == 1 && p.rc_set == CF_OK, "the thread ran and completed b");
        cf_as_completed_free(it);

        rc = cf_wait(fs, 4, CF_FOREVER, CF_ALL_COMPLETED, flags, &n_done);
        EXPECT(rc == CF_OK && n_done == 3 && flags[0] && flags[1] && flags[2] && flags[3],
               "cf_wait ALL_COMPLETED holds once b is done");
    }

    EXPECT(result_is(a, "alpha"), "result(a) == alpha");
    EXPECT(result_is(b, "bravo"), "result(b) == bravo (set from the thread)");
    {
        cf_slice r;
        EXPECT(cf_future_result(c, 0.0, &r) == CF_E_CANCELLED, "result(c) is CF_E_CANCELLED");
    }
    printf("results: a=alpha b=bravo c=cancelled\n");

    /* A failed future satisfies FIRST_EXCEPTION while another is still pending. */
    {
        cf_future *fs[2];
        cf_error err;
        cf_slice r;
        cf_as_completed_iter *it = NULL;
        cf_future *next = NULL;

        EXPECT(cf_future_set_exception(d, "ValueError", "bad value") == CF_OK, "set_exception(d)");
        fs[0] = e; fs[1] = d;
        rc = cf_wait(fs, 2, CF_FOREVER, CF_FIRST_EXCEPTION, flags, &n_done);
        EXPECT(rc == CF_OK && flags[0] == 0 && flags[1] == 1 && n_done == 1, "cf_wait FIRST_EXCEPTION holds on d");
        EXPECT(cf_future_result(d, 0.0, &r) == CF_E_TASK_FAILED, "result(d) is CF_E_TASK_FAILED");
        memset(&err, 0, sizeof err);
        EXPECT(cf_future_exception(d, 0.0, &err) == CF_OK && err.status == CF_E_TASK_FAILED && err.type &&
                   strcmp(err.type, "ValueError") == 0 && err.message && strcmp(err.message, "bad value") == 0,
               "exception(d) is ValueError: bad value");
        printf("exception: %s: %s\n", err.type ? err.type : "(null)", err.message ? err.message : "(null)");

        /* as_completed over the pending e runs out of time. */
        EXPECT(cf_as_completed(fs, 1, 0.01, &it) == CF_OK, "cf_as_completed(e)");
        rc = it ? cf_as_completed_next(it, &next) : CF_E_INVALID_ARGUMENT;
        printf("as_completed timeout: %s (%s)\n", cf_status_name(rc), cf_last_error());
        EXPECT(rc == CF_E_TIMEOUT, "as_completed over a pending future times out");
        cf_as_completed_free(it);
        EXPECT(cf_future_cancel(e) == 1, "cancel(e)");
    }

    cf_future_release(a);
    cf_future_release(b);
    cf_future_release(c);
    cf_future_release(d);
    cf_future_release(e);

    if (failures) {
        printf("consumer.c: %d check(s) failed\n", failures);
        return 1;
    }
    printf("consumer.c: all checks passed\n");
    return 0;
}
