/* SPDX-License-Identifier: MIT */
/*
 * What the C ABI does beyond concurrent.futures, from plain C99, on the fork, forkserver and spawn start methods
 * and on thread pools: per-task time limits (cf_submit_ex), cancelling running tasks (cancel_running), replacing
 * dead workers (CF_WORKER_DEATH_REPLACE) within a restart intensity, cf_executor_stats_get and
 * cf_set_log_handler. After each process-pool case: no zombie and no descriptor left behind.
 * A spawned worker re-executes this program, so main() calls cf_process_worker_entry() first.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "process_checks.h"

/* ---- tasks */

/* Sleeps up to 10 s in small steps; stops early, saying so, once asked to (cf_task_cancel_requested). */
static int ten_seconds(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int i;
    (void)arg, (void)len, (void)user_data;
    for (i = 0; i < 1000 && !cf_task_cancel_requested(ctx); ++i) usleep(10000);
    return cf_task_return(ctx, cf_task_cancel_requested(ctx) ? "asked to stop" : "slept", 5);
}
CF_TASK("beyond.ten_seconds", ten_seconds);

static int pid_of_worker(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int32_t pid = (int32_t)getpid();
    (void)arg, (void)len, (void)user_data;
    return cf_task_return(ctx, &pid, sizeof pid);
}
CF_TASK("beyond.pid", pid_of_worker);

static int crash(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    raise(SIGKILL);
    return CF_OK;
}
CF_TASK("beyond.crash", crash);

/* ---- helpers */

static const char *method_name(cf_start_method m) {
    return m == CF_START_FORK ? "fork" : m == CF_START_FORKSERVER ? "forkserver" : "spawn";
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Waits until f's state is `state` (reach 1) or is no longer `state` (reach 0); at most 30 s, so that a hang
 * fails the test instead of stalling it. */
static int wait_state(cf_future *f, cf_future_state state, int reach) {
    double end = now_s() + 30.0;
    while ((cf_future_get_state(f) == state) != reach) {
        if (now_s() > end) return 0;
        sched_yield();
    }
    return 1;
}

static cf_executor *pool(cf_start_method method, size_t workers, int cancel_running, cf_worker_death death,
                         size_t max_restarts) {
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    cf_process_pool_options_init(&o);
    o.start_method = method;
    o.max_workers = workers;
    o.shared_memory_bytes = (size_t)8 << 20;
    o.cancel_running = cancel_running;
    o.on_worker_death = death;
    o.max_restarts = max_restarts;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_OK);
    return ex;
}

static int32_t worker_pid(cf_executor *ex) {
    cf_future *f = NULL;
    cf_slice r;
    int32_t pid = -1;
    CHECK_INT(cf_submit_named(ex, "beyond.pid", NULL, 0, &f), CF_OK);
    if (CHECK_INT(cf_future_result(f, 30.0, &r), CF_OK) && r.len == sizeof pid) memcpy(&pid, r.data, sizeof pid);
    cf_future_release(f);
    return pid;
}

static cf_executor_stats stats_of(cf_executor *ex) {
    cf_executor_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    CHECK_INT(cf_executor_stats_get(ex, &s), CF_OK);
    return s;
}

/* ---- the rules */

/* A task sleeping 10 s with a 0.2 s limit ends with CF_E_TIME_LIMIT within 1 s while its siblings finish. */
static void time_limit(cf_start_method method) {
    cf_executor *ex = pool(method, 2, 0, CF_WORKER_DEATH_BREAK, 0);
    cf_submit_options so;
    cf_future *slow = NULL, *sibling[4];
    cf_slice r;
    cf_error e;
    double t0;
    int i;
    int32_t before = worker_pid(ex);
    cf_submit_options_init(&so);
    so.time_limit = 0.2;
    t0 = now_s();
    CHECK_INT(cf_submit_named_ex(ex, "beyond.ten_seconds", NULL, 0, &so, &slow), CF_OK);
    for (i = 0; i < 4; ++i) CHECK_INT(cf_submit_named(ex, "beyond.pid", NULL, 0, &sibling[i]), CF_OK);
    CHECK_INT(cf_future_result(slow, 5.0, &r), CF_E_TIME_LIMIT);
    if (!CHECK(now_s() - t0 < 1.0)) fprintf(stderr, "%s: the time limit took %.3f s\n", method_name(method), now_s() - t0);
    CHECK_CONTAINS(cf_last_error(), "time limit of 0.2 s");
    CHECK_INT(cf_future_exception(slow, 0, &e), CF_OK);
    CHECK_INT(e.status, CF_E_TIME_LIMIT);
    CHECK_STR(e.type, "TimeLimitError");
    for (i = 0; i < 4; ++i) {
        CHECK_INT(cf_future_result(sibling[i], 30.0, &r), CF_OK);
        cf_future_release(sibling[i]);
    }
    cf_future_release(slow);
    /* The pool goes on, with a new worker in place of the one killed. */
    CHECK(worker_pid(ex) > 0);
    CHECK(before > 0);
    /* Limits that are no limit, and one that is no number. */
    so.time_limit = INFINITY;
    CHECK_INT(cf_submit_named_ex(ex, "beyond.pid", NULL, 0, &so, &slow), CF_OK);
    CHECK_INT(cf_future_result(slow, 30.0, &r), CF_OK);
    cf_future_release(slow);
    so.time_limit = NAN;
    CHECK_INT(cf_submit_named_ex(ex, "beyond.pid", NULL, 0, &so, &slow), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "NaN");
    CHECK(slow == NULL);
    cf_executor_free(ex);
}

/* cancel_running: cancelling a running task returns 1, the future is cancelled and its worker replaced. */
static void cancel_running(cf_start_method method) {
    cf_executor *ex = pool(method, 1, 1, CF_WORKER_DEATH_BREAK, 0);
    cf_future *f = NULL, *queued = NULL;
    cf_slice r;
    int32_t before = worker_pid(ex), after;
    CHECK_INT(cf_submit_named(ex, "beyond.ten_seconds", NULL, 0, &f), CF_OK);
    CHECK_INT(cf_submit_named(ex, "beyond.pid", NULL, 0, &queued), CF_OK);
    wait_state(f, CF_PENDING, 0);
    usleep(50000); /* let the worker begin it (if it has not, cancel skips it instead: the same outcome) */
    CHECK_INT(cf_future_cancel(f), 1);
    CHECK_INT(cf_future_get_state(f), CF_CANCELLED);
    CHECK_INT(cf_future_result(f, 0, &r), CF_E_CANCELLED);
    /* The task queued behind it runs, on a new worker. */
    CHECK_INT(cf_future_result(queued, 30.0, &r), CF_OK);
    after = worker_pid(ex);
    CHECK(after > 0 && after != before);
    cf_future_release(f);
    cf_future_release(queued);
    /* Shutdown with cancel_futures cancels what runs too. */
    CHECK_INT(cf_submit_named(ex, "beyond.ten_seconds", NULL, 0, &f), CF_OK);
    wait_state(f, CF_PENDING, 0);
    CHECK_INT(cf_executor_shutdown(ex, 1, 1), CF_OK);
    CHECK_INT(cf_future_get_state(f), CF_CANCELLED);
    cf_future_release(f);
    cf_executor_free(ex);
}

/* REPLACE: 100 tasks of which 10 crash give 90 results and 10 CF_E_WORKER_DIED; the pool takes more work. */
static void replace_dead_workers(cf_start_method method) {
    cf_executor *ex = pool(method, 2, 0, CF_WORKER_DEATH_REPLACE, 0);
    cf_future *fs[100];
    cf_slice r;
    cf_executor_stats s;
    int i, ok = 0, died = 0, other = 0;
    for (i = 0; i < 100; ++i)
        CHECK_INT(cf_submit_named(ex, i % 10 == 3 ? "beyond.crash" : "beyond.pid", NULL, 0, &fs[i]), CF_OK);
    for (i = 0; i < 100; ++i) {
        int rc = cf_future_result(fs[i], 60.0, &r);
        if (rc == CF_OK) ++ok;
        else if (rc == CF_E_WORKER_DIED && (i % 10 == 3)) ++died;
        else ++other, fprintf(stderr, "%s: task %d: %s: %s\n", method_name(method), i, cf_status_name(rc), cf_last_error());
        if (rc == CF_E_WORKER_DIED) CHECK_CONTAINS(cf_last_error(), "SIGKILL");
        cf_future_release(fs[i]);
    }
    CHECK_INT(ok, 90);
    CHECK_INT(died, 10);
    CHECK_INT(other, 0);
    CHECK(worker_pid(ex) > 0);
    s = stats_of(ex);
    CHECK_INT(s.worker_deaths, 10);
    /* Every death was replaced, but for at most one per slot whose slot waits empty for work that needs it (a
     * slot that never had a worker, under spawn or forkserver, replaces nobody). */
    CHECK(s.workers_replaced <= s.worker_deaths && s.workers_replaced + 2 >= s.worker_deaths);
    CHECK_INT(s.completed + s.failed + s.cancelled, 101);
    CHECK_INT(s.failed, 10);
    cf_executor_free(ex);
}

/* More deaths than max_restarts within the period break the pool, as a death does without REPLACE. */
static void restart_intensity(cf_start_method method) {
    cf_executor *ex = pool(method, 1, 0, CF_WORKER_DEATH_REPLACE, 2);
    cf_future *f = NULL;
    cf_slice r;
    int i;
    for (i = 0; i < 2; ++i) {
        CHECK_INT(cf_submit_named(ex, "beyond.crash", NULL, 0, &f), CF_OK);
        CHECK_INT(cf_future_result(f, 30.0, &r), CF_E_WORKER_DIED);
        cf_future_release(f);
    }
    CHECK_INT(cf_submit_named(ex, "beyond.crash", NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_result(f, 30.0, &r), CF_E_BROKEN_PROCESS_POOL);
    CHECK_CONTAINS(cf_last_error(), "more than 2 workers died within");
    cf_future_release(f);
    CHECK_INT(cf_submit_named(ex, "beyond.pid", NULL, 0, &f), CF_E_BROKEN_PROCESS_POOL);
    cf_executor_free(ex);
}

/* The counters add up under load: completed + failed + cancelled = submitted once all is done. */
static void stats_add_up(cf_start_method method) {
    enum { kTasks = 400 };
    cf_executor *ex = pool(method, 2, 0, CF_WORKER_DEATH_BREAK, 0);
    cf_future *fs[kTasks];
    cf_slice r;
    cf_executor_stats s;
    int i, cancelled = 0;
    for (i = 0; i < kTasks; ++i)
        CHECK_INT(cf_submit_named(ex, i % 7 == 0 ? "no.such.in.worker" : "beyond.pid", NULL, 0, &fs[i]),
                  i % 7 == 0 ? CF_E_UNKNOWN_TASK : CF_OK);
    /* From the back, every third: those still queued are cancelled (1), those handed out run on (0). */
    for (i = kTasks - 1; i >= 0; i -= 3) cancelled += fs[i] && cf_future_cancel(fs[i]) == 1;
    for (i = 0; i < kTasks; ++i) {
        if (!fs[i]) continue;
        (void)cf_future_result(fs[i], 60.0, &r);
        cf_future_release(fs[i]);
    }
    s = stats_of(ex);
    CHECK_INT(s.completed + s.failed + s.cancelled, kTasks - (kTasks + 6) / 7);
    CHECK_INT(s.cancelled, cancelled);
    CHECK_INT(s.queued, 0);
    CHECK_INT(s.running, 0);
    /* Spawn and forkserver start a second worker only when the first is busy: one may have done it all. */
    CHECK(s.workers >= 1 && s.workers <= 2);
    CHECK_INT(s.idle_workers, s.workers);
    cf_executor_free(ex);
}

static void each_method(void (*test)(cf_start_method), const char *name) {
    cf_start_method methods[3] = {CF_START_FORK, CF_START_FORKSERVER, CF_START_SPAWN};
    int m;
    for (m = 0; m < 3; ++m) {
        int fds = open_descriptors();
        test(methods[m]);
        if (!CHECK_INT(open_descriptors(), fds)) fprintf(stderr, "%s/%s leaked descriptors\n", name, method_name(methods[m]));
        if (!CHECK_INT(zombie_children(), 0)) fprintf(stderr, "%s/%s left zombies\n", name, method_name(methods[m]));
    }
}

/* ---- thread pools */

static int thread_ten_seconds(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    int i;
    (void)arg, (void)len;
    for (i = 0; i < 1000 && !cf_task_cancel_requested(ctx); ++i) usleep(1000);
    *(int *)user_data = cf_task_cancel_requested(ctx);
    return cf_task_return(ctx, "late", 4);
}

static void thread_pool_rules(void) {
    cf_thread_pool_options o;
    cf_executor *ex = NULL;
    cf_submit_options so;
    cf_future *f = NULL;
    cf_slice r;
    cf_executor_stats s;
    volatile int saw_a = 0, saw_b = 0;
    double t0;
    cf_thread_pool_options_init(&o);
    o.max_workers = 2;
    o.cancel_running = 1;
    CHECK_INT(cf_thread_pool_new(&o, &ex), CF_OK);
    /* A time limit fails the future at the limit; the task is told to stop; its late result is discarded. */
    cf_submit_options_init(&so);
    so.time_limit = 0.2;
    t0 = now_s();
    CHECK_INT(cf_submit_ex(ex, thread_ten_seconds, (void *)&saw_a, NULL, 0, &so, &f), CF_OK);
    CHECK_INT(cf_future_result(f, 5.0, &r), CF_E_TIME_LIMIT);
    CHECK(now_s() - t0 < 1.0);
    cf_future_release(f);
    /* cancel_running: a running future is cancelled at once and its task told to stop. */
    CHECK_INT(cf_submit(ex, thread_ten_seconds, (void *)&saw_b, NULL, 0, &f), CF_OK);
    wait_state(f, CF_RUNNING, 1);
    CHECK_INT(cf_future_cancel(f), 1);
    CHECK_INT(cf_future_get_state(f), CF_CANCELLED);
    cf_future_release(f);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    CHECK_INT(saw_a, 1);
    CHECK_INT(saw_b, 1);
    s = stats_of(ex);
    CHECK_INT(s.failed, 1);
    CHECK_INT(s.cancelled, 1);
    CHECK_INT(s.completed, 0);
    CHECK_INT(s.running, 0);
    cf_executor_free(ex);
}

/* ---- the log and bad input */

static char last_log[512];
static int last_level;
static void remember(int level, const char *message, void *user_data) {
    (void)user_data;
    last_level = level;
    snprintf(last_log, sizeof last_log, "%s", message);
}

static void log_handler(void) {
    cf_executor *ex = pool(CF_START_FORK, 1, 0, CF_WORKER_DEATH_REPLACE, 0);
    cf_future *f = NULL;
    cf_slice r;
    cf_set_log_handler(remember, NULL);
    CHECK_INT(cf_submit_named(ex, "beyond.crash", NULL, 0, &f), CF_OK);
    CHECK_INT(cf_future_result(f, 30.0, &r), CF_E_WORKER_DIED);
    cf_future_release(f);
    CHECK(worker_pid(ex) > 0); /* the pool has logged the death by the time it runs the next task */
    CHECK_INT(last_level, CF_LOG_WARNING);
    CHECK_CONTAINS(last_log, "a new worker takes its place");
    cf_set_log_handler(NULL, NULL);
    cf_executor_free(ex);
}

static void bad_input(void) {
    cf_process_pool_options o;
    cf_executor *ex = NULL;
    cf_executor_stats s;
    cf_submit_options so;
    cf_future *f = NULL;
    cf_process_pool_options_init(&o);
    o.on_worker_death = (cf_worker_death)7;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_E_INVALID_ARGUMENT);
    CHECK_CONTAINS(cf_last_error(), "on_worker_death");
    o.on_worker_death = CF_WORKER_DEATH_REPLACE;
    o.restart_period = NAN;
    CHECK_INT(cf_process_pool_new(&o, &ex), CF_E_INVALID_ARGUMENT);
    CHECK(ex == NULL);
    CHECK_INT(cf_executor_stats_get(NULL, &s), CF_E_INVALID_ARGUMENT);
    ex = check_new_thread_pool(1);
    CHECK_INT(cf_executor_stats_get(ex, NULL), CF_E_INVALID_ARGUMENT);
    s.struct_size = 4;
    CHECK_INT(cf_executor_stats_get(ex, &s), CF_E_INVALID_ARGUMENT);
    cf_submit_options_init(&so);
    so.struct_size = 1;
    CHECK_INT(cf_submit_named_ex(ex, "beyond.pid", NULL, 0, &so, &f), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_submit_ex(NULL, thread_ten_seconds, NULL, NULL, 0, NULL, &f), CF_E_INVALID_ARGUMENT);
    CHECK(f == NULL);
    cf_executor_free(ex);
}

/* ---- the table */

/* The program's forkserver lives from its first use to the program's end: start it before counting. */
static void warm_up_forkserver(void) { cf_executor_free(pool(CF_START_FORKSERVER, 1, 0, CF_WORKER_DEATH_BREAK, 0)); }

#define EACH_METHOD(test) \
    static void test##_each_method(void) { each_method(test, #test); }
EACH_METHOD(time_limit)
EACH_METHOD(cancel_running)
EACH_METHOD(replace_dead_workers)
EACH_METHOD(restart_intensity)
EACH_METHOD(stats_add_up)

static const check_test tests[] = {
    CHECK_TEST(bad_input),
    {"time_limit", time_limit_each_method},
    {"cancel_running", cancel_running_each_method},
    {"replace_dead_workers", replace_dead_workers_each_method},
    {"restart_intensity", restart_intensity_each_method},
    {"stats_add_up", stats_add_up_each_method},
    CHECK_TEST(thread_pool_rules),
    CHECK_TEST(log_handler),
};

int main(int argc, char **argv) {
    CHECK_INT(cf_process_worker_entry(), CF_OK); /* in a spawned worker this never returns */
    return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), warm_up_forkserver);
}
