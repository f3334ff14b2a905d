/* SPDX-License-Identifier: MIT */
/* Shared by the plain-C futures tests (test_capi_futures*.c): futures made in each state, a check of a result's
 * bytes, and an "actor" thread that completes or cancels a future while the test waits on it. */
#ifndef CFUTURES_TESTS_FUTURE_CHECKS_H
#define CFUTURES_TESTS_FUTURE_CHECKS_H

#include <cfutures/cfutures.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "check.h"

CHECK_MAYBE_UNUSED static void pause_briefly(void) {
    struct timespec ts = {0, 20 * 1000 * 1000}; /* 20 ms */
    nanosleep(&ts, NULL);
}

CHECK_MAYBE_UNUSED static cf_future *new_future(void) {
    cf_future *f = NULL;
    int rc = cf_future_new(&f);
    CHECK_INT(rc, CF_OK);
    CHECK(f != NULL);
    return f;
}

CHECK_MAYBE_UNUSED static cf_future *finished_future(const char *text) {
    cf_future *f = new_future();
    CHECK_INT(cf_future_set_result(f, text, strlen(text)), CF_OK);
    return f;
}

CHECK_MAYBE_UNUSED static cf_future *failed_future(const char *type, const char *message) {
    cf_future *f = new_future();
    CHECK_INT(cf_future_set_exception(f, type, message), CF_OK);
    return f;
}

CHECK_MAYBE_UNUSED static cf_future *cancelled_future(void) {
    cf_future *f = new_future();
    CHECK_INT(cf_future_cancel(f), 1);
    return f;
}

/* Is the result of f (already done) exactly the bytes of text? */
CHECK_MAYBE_UNUSED static int result_is(cf_future *f, const char *text) {
    cf_slice s = {NULL, 12345};
    int rc = cf_future_result(f, 0.0, &s);
    size_t len = strlen(text);
    return rc == CF_OK && s.len == len && (len == 0 || (s.data != NULL && memcmp(s.data, text, len) == 0));
}

/* A thread that completes or cancels a future. */
typedef enum actor_kind { ACT_SET_RESULT, ACT_SET_EXCEPTION, ACT_CANCEL } actor_kind;

typedef struct actor {
    pthread_t thread;
    cf_future *f;
    actor_kind kind;
    const char *text; /* the result, or the exception's type */
    int rc;
} actor;

CHECK_MAYBE_UNUSED static void *actor_main(void *p) {
    actor *a = (actor *)p;
    pause_briefly(); /* lets the main thread get to sleep first (usually); no check depends on it */
    switch (a->kind) {
        case ACT_SET_RESULT: a->rc = cf_future_set_result(a->f, a->text, strlen(a->text)); break;
        case ACT_SET_EXCEPTION: a->rc = cf_future_set_exception(a->f, a->text, "from another thread"); break;
        case ACT_CANCEL: a->rc = cf_future_cancel(a->f); break;
    }
    return NULL;
}

CHECK_MAYBE_UNUSED static int actor_start(actor *a, cf_future *f, actor_kind kind, const char *text) {
    a->f = f;
    a->kind = kind;
    a->text = text;
    a->rc = -1000;
    return pthread_create(&a->thread, NULL, actor_main, a) == 0;
}

CHECK_MAYBE_UNUSED static void actor_join(actor *a) { pthread_join(a->thread, NULL); }

#endif /* CFUTURES_TESTS_FUTURE_CHECKS_H */
