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

static void barrier_arrive(slot *barrier) {
    pthread_mutex_lock(&barrier->mu);
    ++barrier->arrived;
    pthread_cond_broadcast(&barrier->cv);
    while (barrier->arrived < barrier->expected) pthread_cond_wait(&barrier->cv, &barrier->mu);
    pthread_mutex_unlock(&barrier->mu);
}

static int return_status(cf_task_ctx *ctx, int32_t rc, double took) {
    char out[12];
    memcpy(out, &rc, 4);
    memcpy(out + 4, &took, 8);
    return cf_task_return(ctx, out, sizeof out);
}

static int waits_for_slot(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len;
    waiter_args *a = (waiter_args *)user_data;
    barrier_arrive(a->barrier);
    cf_future *f = slot_take(a->target);
    cf_slice r;
    double t0 = now();
    int32_t rc = cf_future_result(f, a->target->timeout, &r);
    return return_status(ctx, rc, now() - t0);
}

/* Task: like waits_for_slot, but waits for several futures at once, in one of the ways below, without a limit. */
typedef enum group_wait { WAIT_FIRST_COMPLETED, WAIT_ALL_COMPLETED, AS_COMPLETED, MAP_OVER_POOL } group_wait;
typedef struct group_args {
    slot *targets[2];
    size_t n;
    group_wait how;
    slot *barrier;
    cf_executor *pool;       /* MAP_OVER_POOL: maps waits_for_slot over this pool, */
    waiter_args *map_item;   /* with this as the items' user_data */
} group_args;

static int32_t wait_as_completed(cf_future *const *fs, size_t n) {
    cf_as_completed_iter *it = NULL;
    int32_t rc = cf_as_completed(fs, n, -1.0, &it);
    cf_future *next = NULL;
    while (rc == CF_OK) rc = cf_as_completed_next(it, &next);
    cf_as_completed_free(it);
    return rc == CF_DONE ? CF_OK : rc;
}

static int32_t wait_map(group_args *a) {
    cf_map_iter *it = NULL;
    cf_slice args[2] = {{"", 0}, {"", 0}};
    cf_slice r;
    int32_t rc = cf_map(a->pool, waits_for_slot, a->map_item, args, 2, NULL, &it);
    while (rc == CF_OK) rc = cf_map_next(it, &r);
    cf_map_free(it);
    return rc == CF_DONE ? CF_OK : rc;
}

static int waits_for_group(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len;
    group_args *a = (group_args *)user_data;
    barrier_arrive(a->barrier);
    cf_future *fs[2] = {NULL, NULL};
    for (size_t i = 0; i < a->n; ++i) fs[i] = slot_take(a->targets[i]);
    double t0 = now();
    int32_t rc = CF_E_INVALID_ARGUMENT;
    switch (a->how) {
        case WAIT_FIRST_COMPLETED: rc = cf_wait(fs, a->n, -1.0, CF_FIRST_COMPLETED, NULL, NULL); break;
        case WAIT_ALL_COMPLETED: rc = cf_wait(fs, a->n, -1.0, CF_ALL_COMPLETED, NULL, NULL); break;
        case AS_COMPLETED: rc = wait_as_completed(fs, a->n); break;
        case MAP_OVER_POOL: rc = wait_map(a); break;
    }
    return return_status(ctx, rc, now() - t0);
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

/* A waits for the first of b and c (or for both, or as they complete); b and c each wait for a's future. Every
 * one of a's waits can end only after a does: whoever waits last is told at once, and then everything ends. */
static void group_cycle(group_wait how) {
    cf_executor *ex = check_new_thread_pool(3);
    for (int round = 0; round < 10; ++round) {
        slot fa, fb, fc, barrier;
        slot_init(&fa, 0, -1.0);
        slot_init(&fb, 0, -1.0);
        slot_init(&fc, 0, -1.0);
        slot_init(&barrier, 3, -1.0);
        group_args ga = {{&fb, &fc}, 2, how, &barrier, NULL, NULL};
        waiter_args wb = {&fa, &barrier}, wc = {&fa, &barrier};
        cf_future *a = NULL, *b = NULL, *c = NULL;
        CHECK_INT(cf_submit(ex, waits_for_group, &ga, NULL, 0, &a), CF_OK);
        CHECK_INT(cf_submit(ex, waits_for_slot, &wb, NULL, 0, &b), CF_OK);
        CHECK_INT(cf_submit(ex, waits_for_slot, &wc, NULL, 0, &c), CF_OK);
        slot_fill(&fa, a);
        slot_fill(&fb, b);
        slot_fill(&fc, c);
        double ta = 0, tb = 0, tc = 0;
        int32_t ra = status_of(a, &ta), rb = status_of(b, &tb), rc = status_of(c, &tc);
        CHECK(ra == CF_E_DEADLOCK || rb == CF_E_DEADLOCK || rc == CF_E_DEADLOCK);
        if (ra == CF_E_DEADLOCK) CHECK(ta < 0.1);
        if (rb == CF_E_DEADLOCK) CHECK(tb < 0.1);
        if (rc == CF_E_DEADLOCK) CHECK(tc < 0.1);
        CHECK(ra == CF_OK || ra == CF_E_DEADLOCK);
        cf_future_release(a);
        cf_future_release(b);
        cf_future_release(c);
    }
    cf_executor_free(ex);
}

static void wait_first_completed_in_a_cycle(void) { group_cycle(WAIT_FIRST_COMPLETED); }
static void wait_all_completed_in_a_cycle(void) { group_cycle(WAIT_ALL_COMPLETED); }
static void as_completed_in_a_cycle(void) { group_cycle(AS_COMPLETED); }

/* A maps, over its own pool, a task that waits for a's own future. */
static void map_waiting_for_its_caller(void) {
    for (int round = 0; round < 10; ++round) {
        /* a pool a round: freeing it waits for the items still running (a's wait may end before theirs) */
        cf_executor *ex = check_new_thread_pool(3);
        slot fa, barrier, no_barrier;
        slot_init(&fa, 0, -1.0);
        slot_init(&barrier, 1, -1.0);
        slot_init(&no_barrier, 0, -1.0);
        waiter_args item = {&fa, &no_barrier};
        group_args ga = {{NULL, NULL}, 0, MAP_OVER_POOL, &barrier, ex, &item};
        cf_future *a = NULL;
        CHECK_INT(cf_submit(ex, waits_for_group, &ga, NULL, 0, &a), CF_OK);
        slot_fill(&fa, a);
        double ta = 0;
        /* the map's wait is told, or an item's (it returns CF_E_DEADLOCK as its result, and the map ends) */
        int32_t ra = status_of(a, &ta);
        CHECK(ra == CF_E_DEADLOCK || ra == CF_OK);
        if (ra == CF_E_DEADLOCK) CHECK(ta < 0.1);
        cf_executor_free(ex);
        cf_future_release(a);
    }
}

/* A waits for the first of b (which waits for a) and of a future completed by hand: not a deadlock, whatever
 * the order; a's wait ends when the hand-made future is set, then b's. */
static void first_completed_with_a_way_out(void) {
    cf_executor *ex = check_new_thread_pool(2);
    for (int round = 0; round < 10; ++round) {
        slot fa, fb, fh, barrier;
        slot_init(&fa, 0, -1.0);
        slot_init(&fb, 0, -1.0);
        slot_init(&fh, 0, -1.0);
        slot_init(&barrier, 2, -1.0);
        group_args ga = {{&fb, &fh}, 2, WAIT_FIRST_COMPLETED, &barrier, NULL, NULL};
        waiter_args wb = {&fa, &barrier};
        cf_future *a = NULL, *b = NULL, *hand = NULL;
        CHECK_INT(cf_future_new(&hand), CF_OK);
        CHECK_INT(cf_submit(ex, waits_for_group, &ga, NULL, 0, &a), CF_OK);
        CHECK_INT(cf_submit(ex, waits_for_slot, &wb, NULL, 0, &b), CF_OK);
        slot_fill(&fa, a);
        slot_fill(&fb, b);
        slot_fill(&fh, hand);
        struct timespec pause = {0, 5 * 1000 * 1000};  /* (either order is right; this one is the more telling) */
        nanosleep(&pause, NULL);
        CHECK_INT(cf_future_set_running_or_notify_cancel(hand), 1);
        CHECK_INT(cf_future_set_result(hand, "h", 1), CF_OK);
        double ta = 0, tb = 0;
        CHECK_INT(status_of(a, &ta), CF_OK);
        CHECK_INT(status_of(b, &tb), CF_OK);
        cf_future_release(a);
        cf_future_release(b);
        cf_future_release(hand);
    }
    cf_executor_free(ex);
}

static const check_test tests[] = {
    CHECK_TEST(task_waiting_for_itself),        CHECK_TEST(docs_example_in_one_pool),
    CHECK_TEST(docs_example_across_pools),      CHECK_TEST(hand_made_future_is_never_a_deadlock),
    CHECK_TEST(one_worker_waiting_for_its_queue), CHECK_TEST(a_wait_with_a_timeout_breaks_the_cycle),
    CHECK_TEST(wait_first_completed_in_a_cycle), CHECK_TEST(wait_all_completed_in_a_cycle),
    CHECK_TEST(as_completed_in_a_cycle),        CHECK_TEST(map_waiting_for_its_caller),
    CHECK_TEST(first_completed_with_a_way_out),
};

int main(int argc, char **argv) { return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL); }
