/* SPDX-License-Identifier: MIT */
/* Waits that cannot end return CF_E_DEADLOCK instead of hanging (the wait-for graph of src/future/wait_graph.hpp):
 * a task waiting for its own future; the Python docs' two tasks waiting for each other's futures, in one pool and
 * across two pools; and what is no deadlock: a future completed by hand, a 1-worker pool waiting for a task still
 * queued behind it (the helping wait runs it), a cycle one of whose waits has a timeout. */
#define _POSIX_C_SOURCE 200809L
#include <cfutures/cfutures.h>

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"

#define LONG_WAIT 60.0

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A slot a test fills with a future after submitting the task that will wait for it. */
typedef struct slot {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cf_future *future;
    double timeout;  /* of the wait the task makes */
    int arrived;     /* tasks running (a barrier: both wait only once both run) */
    int expected;
} slot;

static void slot_init(slot *s, int expected, double timeout) {
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->future = NULL;
    s->timeout = timeout;
    s->arrived = 0;
    s->expected = expected;
}

static void slot_fill(slot *s, cf_future *f) {
    pthread_mutex_lock(&s->mu);
    s->future = f;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static cf_future *slot_take(slot *s) {
    pthread_mutex_lock(&s->mu);
    while (!s->future) pthread_cond_wait(&s->cv, &s->mu);
    cf_future *f = s->future;
    pthread_mutex_unlock(&s->mu);
    return f;
}

/* Task: waits until `expected` tasks of the same barrier run, then for the slot's future; returns the status of
 * that wait (4 bytes) and how long it took (8 bytes, seconds). */
typedef struct waiter_args {
    slot *target;    /* the future to wait for */
    slot *barrier;   /* counts arrivals */
} waiter_args;

static int waits_for_slot(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len;
    waiter_args *a = (waiter_args *)user_data;
    pthread_mutex_lock(&a->barrier->mu);
    ++a->barrier->arrived;
    pthread_cond_broadcast(&a->barrier->cv);
    while (a->barrier->arrived < a->barrier->expected) pthread_cond_wait(&a->barrier->cv, &a->barrier->mu);
    pthread_mutex_unlock(&a->barrier->mu);
    cf_future *f = slot_take(a->target);
    cf_slice r;
    double t0 = now();
    int32_t rc = cf_future_result(f, a->target->timeout, &r);
    double took = now() - t0;
    char out[12];
    memcpy(out, &rc, 4);
    memcpy(out + 4, &took, 8);
    return cf_task_return(ctx, out, sizeof out);
}

static int32_t status_of(cf_future *f, double *took) {
    cf_slice r;
    int32_t rc = -999;
    if (CHECK_INT(cf_future_result(f, LONG_WAIT, &r), CF_OK) && CHECK_INT(r.len, 12)) {
        memcpy(&rc, r.data, 4);
        memcpy(took, (const char *)r.data + 4, 8);
    }
    return rc;
}

static void task_waiting_for_itself(void) {
    cf_executor *ex = check_new_thread_pool(2);
    slot own, barrier;
    slot_init(&own, 0, -1.0);
    slot_init(&barrier, 1, -1.0);
    waiter_args a = {&own, &barrier};
    cf_future *f = NULL;
    CHECK_INT(cf_submit(ex, waits_for_slot, &a, NULL, 0, &f), CF_OK);
    slot_fill(&own, f);
    double took = 0;
    CHECK_INT(status_of(f, &took), CF_E_DEADLOCK);
    CHECK(took < 0.1);
    cf_future_release(f);
    cf_executor_free(ex);
}

/* The Python docs' example: a waits for b's future, b for a's. */
static void two_tasks_waiting_for_each_other(cf_executor *pool_a, cf_executor *pool_b) {
    slot fa, fb, barrier;
    slot_init(&fa, 0, -1.0);
    slot_init(&fb, 0, -1.0);
    slot_init(&barrier, 2, -1.0);
    waiter_args wa = {&fb, &barrier}, wb = {&fa, &barrier};
    cf_future *a = NULL, *b = NULL;
    CHECK_INT(cf_submit(pool_a, waits_for_slot, &wa, NULL, 0, &a), CF_OK);
    CHECK_INT(cf_submit(pool_b, waits_for_slot, &wb, NULL, 0, &b), CF_OK);
    slot_fill(&fa, a);
    slot_fill(&fb, b);
    double ta = 0, tb = 0;
    int32_t ra = status_of(a, &ta), rb = status_of(b, &tb);
    /* one of them is told at once; its task then ends, and so the other's wait */
    CHECK(ra == CF_E_DEADLOCK || rb == CF_E_DEADLOCK);
    CHECK(ra == CF_OK || rb == CF_OK || (ra == CF_E_DEADLOCK && rb == CF_E_DEADLOCK));
    CHECK((ra == CF_E_DEADLOCK ? ta : tb) < 0.1);
    cf_future_release(a);
    cf_future_release(b);
}

static void docs_example_in_one_pool(void) {
    cf_executor *ex = check_new_thread_pool(2);
    for (int i = 0; i < 20; ++i) two_tasks_waiting_for_each_other(ex, ex);
    cf_executor_free(ex);
}

static void docs_example_across_pools(void) {
    cf_executor *a = check_new_thread_pool(1), *b = check_new_thread_pool(1);
    for (int i = 0; i < 20; ++i) two_tasks_waiting_for_each_other(a, b);
    cf_executor_free(a);
    cf_executor_free(b);
}

/* What is no deadlock. */
static void hand_made_future_is_never_a_deadlock(void) {
    cf_executor *ex = check_new_thread_pool(1);
    slot target, barrier;
    slot_init(&target, 0, -1.0);
    slot_init(&barrier, 1, -1.0);
    waiter_args a = {&target, &barrier};
    cf_future *hand = NULL, *f = NULL;
    CHECK_INT(cf_future_new(&hand), CF_OK);
    slot_fill(&target, hand);
    CHECK_INT(cf_submit(ex, waits_for_slot, &a, NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_set_running_or_notify_cancel(hand), 1);
    CHECK_INT(cf_future_set_result(hand, "x", 1), CF_OK);
    double took = 0;
    CHECK_INT(status_of(f, &took), CF_OK);
    cf_future_release(f);
    cf_future_release(hand);
    cf_executor_free(ex);
}

static int gives_seven(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    int32_t seven = 7;
    return cf_task_return(ctx, &seven, sizeof seven);
}

/* The docs' other example: with one worker, a task waits for a task it submitted to its own pool. */
static int submits_and_waits(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len;
    cf_executor *ex = (cf_executor *)user_data;
    cf_future *inner = NULL;
    cf_slice r;
    int rc = cf_submit(ex, gives_seven, NULL, NULL, 0, &inner);
    if (rc == CF_OK) rc = cf_future_result(inner, -1.0, &r);
    if (rc == CF_OK) rc = cf_task_return(ctx, r.data, r.len);
    cf_future_release(inner);
    return rc;
}

static void one_worker_waiting_for_its_queue(void) {
    cf_executor *ex = check_new_thread_pool(1);
    cf_future *f = NULL;
    cf_slice r;
    int32_t v = 0;
    CHECK_INT(cf_submit(ex, submits_and_waits, ex, NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_result(f, LONG_WAIT, &r), CF_OK);
    if (r.len == sizeof v) memcpy(&v, r.data, sizeof v);
    CHECK_INT(v, 7);
    cf_future_release(f);
    cf_executor_free(ex);
}

/* a waits for b with a timeout, b for a without: b's wait ends when a's times out. No deadlock is said. */
static void a_wait_with_a_timeout_breaks_the_cycle(void) {
    cf_executor *ex = check_new_thread_pool(2);
    slot fa, fb, barrier;
    slot_init(&fa, 0, -1.0);
    slot_init(&fb, 0, 0.2);
    slot_init(&barrier, 2, -1.0);
    waiter_args wa = {&fb, &barrier}, wb = {&fa, &barrier};
    cf_future *a = NULL, *b = NULL;
    CHECK_INT(cf_submit(ex, waits_for_slot, &wa, NULL, 0, &a), CF_OK);
    CHECK_INT(cf_submit(ex, waits_for_slot, &wb, NULL, 0, &b), CF_OK);
    slot_fill(&fa, a);
    slot_fill(&fb, b);
    double ta = 0, tb = 0;
    CHECK_INT(status_of(a, &ta), CF_E_TIMEOUT);
    CHECK_INT(status_of(b, &tb), CF_OK);
    cf_future_release(a);
    cf_future_release(b);
    cf_executor_free(ex);
}

static const check_test tests[] = {
    CHECK_TEST(task_waiting_for_itself),        CHECK_TEST(docs_example_in_one_pool),
    CHECK_TEST(docs_example_across_pools),      CHECK_TEST(hand_made_future_is_never_a_deadlock),
    CHECK_TEST(one_worker_waiting_for_its_queue), CHECK_TEST(a_wait_with_a_timeout_breaks_the_cycle),
};

int main(int argc, char **argv) { return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL); }
