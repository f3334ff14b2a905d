/* SPDX-License-Identifier: MIT */
/* Shared by the plain-C thread-pool tests (test_capi_thread_pool*.c): counters and gates that tasks and tests
 * wait on (each wait bounded), slice checks, the tasks both programs submit, and a cf_map_source that counts what
 * it hands out. The including file defines _GNU_SOURCE first. */
#ifndef CFUTURES_TESTS_THREAD_POOL_CHECKS_H
#define CFUTURES_TESTS_THREAD_POOL_CHECKS_H

#include <cfutures/cfutures.h>

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"

/* ------------------------------------------------------------------------------------------------------------ */
/* Gates and counters                                                                                             */

/* Every wait below gives up after this long; only a broken library ever gets there. */
#define GIVE_UP_SECONDS 30.0

CHECK_MAYBE_UNUSED static struct timespec deadline_in(double seconds) {
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

CHECK_MAYBE_UNUSED static void counter_init(counter *c) {
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->value = 0;
}

CHECK_MAYBE_UNUSED static void counter_destroy(counter *c) {
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

CHECK_MAYBE_UNUSED static void counter_add(counter *c, long n) {
    pthread_mutex_lock(&c->mu);
    c->value += n;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

CHECK_MAYBE_UNUSED static long counter_get(counter *c) {
    long v;
    pthread_mutex_lock(&c->mu);
    v = c->value;
    pthread_mutex_unlock(&c->mu);
    return v;
}

/* 1 once the value is at least `target`; 0 if that did not happen within GIVE_UP_SECONDS. */
CHECK_MAYBE_UNUSED static int counter_wait(counter *c, long target) {
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

CHECK_MAYBE_UNUSED static int slice_is(cf_slice s, const void *bytes, size_t len) {
    return s.len == len && (len == 0 || (s.data != NULL && memcmp(s.data, bytes, len) == 0));
}

CHECK_MAYBE_UNUSED static int slice_is_text(cf_slice s, const char *text) { return slice_is(s, text, strlen(text)); }

/* The 8-byte result as a number, or UINT64_MAX when it is not 8 bytes. */
CHECK_MAYBE_UNUSED static uint64_t slice_u64(cf_slice s) {
    uint64_t v;
    if (s.len != sizeof v || s.data == NULL) return UINT64_MAX;
    memcpy(&v, s.data, sizeof v);
    return v;
}

CHECK_MAYBE_UNUSED static cf_executor *new_pool(size_t max_workers) { return check_new_thread_pool(max_workers); }

/* Submits, checking that it worked; the caller releases the future. */
CHECK_MAYBE_UNUSED static cf_future *submit(cf_executor *ex, cf_task_fn fn, void *user_data, const void *arg, size_t len) {
    cf_future *f = NULL;
    CHECK_INT(cf_submit(ex, fn, user_data, arg, len, &f), CF_OK);
    CHECK(f != NULL);
    return f;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Tasks                                                                                                          */

/* uint32 x -> uint64 x*x. */
CHECK_MAYBE_UNUSED static int task_square(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint32_t x;
    uint64_t y;
    (void)user_data;
    if (len != sizeof x) return cf_task_raise(ctx, "TypeError", "task_square takes a uint32_t");
    memcpy(&x, arg, sizeof x);
    y = (uint64_t)x * x;
    return cf_task_return(ctx, &y, sizeof y);
}

/* Like task_square, but the item 2 fails. */
CHECK_MAYBE_UNUSED static int task_square_but_2(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    uint32_t x;
    if (len == sizeof x) {
        memcpy(&x, arg, sizeof x);
        if (x == 2) return cf_task_raise(ctx, "ValueError", "item 2 is bad");
    }
    return task_square(ctx, arg, len, user_data);
}

/* The argument, reversed, through cf_task_return. */
CHECK_MAYBE_UNUSED static int task_reverse(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char buf[64];
    const char *in = (const char *)arg;
    size_t i;
    (void)user_data;
    if (len > sizeof buf) return cf_task_raise(ctx, "ValueError", "argument too long");
    for (i = 0; i < len; ++i) buf[i] = in[len - 1 - i];
    return cf_task_return(ctx, buf, len);
}

/* The argument in upper case, written in place through cf_task_return_buffer. */
CHECK_MAYBE_UNUSED static int task_upper_in_place(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    char *out = (char *)cf_task_return_buffer(ctx, len);
    const char *in = (const char *)arg;
    size_t i;
    (void)user_data;
    if (out == NULL) return cf_task_raise(ctx, "MemoryError", "cf_task_return_buffer gave NULL");
    for (i = 0; i < len; ++i) out[i] = (in[i] >= 'a' && in[i] <= 'z') ? (char)(in[i] - 'a' + 'A') : in[i];
    return CF_OK;
}

CHECK_MAYBE_UNUSED static int task_no_result(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    return CF_OK;
}

/* Returns twice; the second must win. The first is longer, so a partial overwrite would show. */
CHECK_MAYBE_UNUSED static int task_return_twice(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int rc;
    (void)arg, (void)len, (void)user_data;
    rc = cf_task_return(ctx, "the first result", 16);
    if (rc != CF_OK) return rc;
    return cf_task_return(ctx, "second", 6);
}

/* Raises; *user_data (an int) receives what cf_task_raise returned. */
CHECK_MAYBE_UNUSED static int task_raise(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int rc;
    (void)arg, (void)len;
    rc = cf_task_raise(ctx, "ValueError", "no good value");
    *(int *)user_data = rc;
    return rc;
}

/* Raises, sets a result, and then returns CF_OK all the same: the task still fails. */
CHECK_MAYBE_UNUSED static int task_raise_then_ok(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    cf_task_raise(ctx, "KeyError", "missing");
    cf_task_return(ctx, "ignored", 7);
    return CF_OK;
}

CHECK_MAYBE_UNUSED static int task_minus_five(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    return -5;
}

/* What task_inspect saw. */
typedef struct inspection {
    int marker;       /* set to 4242 by the task */
    size_t arg_len;
} inspection;

/* Records the argument length, marks *user_data, and returns user_data's address. */
CHECK_MAYBE_UNUSED static int task_inspect(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
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

CHECK_MAYBE_UNUSED static void gated_init(gated *g) {
    counter_init(&g->started);
    counter_init(&g->release);
}

CHECK_MAYBE_UNUSED static void gated_destroy(gated *g) {
    counter_destroy(&g->started);
    counter_destroy(&g->release);
}

CHECK_MAYBE_UNUSED static int task_gated_echo(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
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
CHECK_MAYBE_UNUSED static int task_wait_for_cancel(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
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
CHECK_MAYBE_UNUSED static int task_mark_ran(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len;
    *(int *)user_data = 1;
    return cf_task_return(ctx, "ran", 3);
}

/* ------------------------------------------------------------------------------------------------------------ */
/* An argument source for cf_map_source                                                                          */

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

CHECK_MAYBE_UNUSED static void number_source_init(number_source *s, uint32_t limit) {
    memset(s, 0, sizeof *s);
    s->limit = limit;
    s->fail_at = -1;
    s->owner = pthread_self();
}

CHECK_MAYBE_UNUSED static int number_source_next(void *state, cf_slice *next) {
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

#endif /* CFUTURES_TESTS_THREAD_POOL_CHECKS_H */
