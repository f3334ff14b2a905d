/* SPDX-License-Identifier: MIT */
/* The provider tier (cfutures/sys.h) through a tiny in-process provider: one thread that runs registered tasks in
 * submit order, with and without its own map chunks. What the library's own calls do on such an executor:
 * submit by name and by function, results and remote failures, map with chunksize, cancel of queued tasks,
 * shutdown with cancel_futures, wait, as_completed, statistics, freeing, and bad input; and a provider's progress:
 * a waiting caller doing the provider's work, or declining to. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <cfutures/sys.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "named_task_checks.h"

#define LONG_WAIT 60.0

/* ---- tasks */

static int twice(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)user_data;
    uint64_t n = 0;
    if (len != sizeof n) return cf_task_raise(ctx, "ValueError", "twice wants 8 bytes");
    memcpy(&n, arg, sizeof n);
    n *= 2;
    return cf_task_return(ctx, &n, sizeof n);
}
CF_TASK("provider.twice", twice);

static int raises(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len, (void)user_data;
    return cf_task_raise_detail(ctx, "ZeroDivisionError", "division by zero", "in raises");
}
CF_TASK("provider.raises", raises);

static int not_registered(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    return CF_OK;
}

/* Holds its thread until the gate opens: what is submitted behind it stays queued. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int gate_waiting;

static int gate(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)ctx, (void)arg, (void)len, (void)user_data;
    pthread_mutex_lock(&gate_mu);
    gate_waiting = 1;
    pthread_cond_broadcast(&gate_cv);
    while (!gate_open) pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
    return CF_OK;
}
CF_TASK("provider.gate", gate);

static void gate_reset(void) {
    pthread_mutex_lock(&gate_mu);
    gate_open = 0;
    gate_waiting = 0;
    pthread_mutex_unlock(&gate_mu);
}
static void gate_wait_entered(void) {
    pthread_mutex_lock(&gate_mu);
    while (!gate_waiting) pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
}
static void gate_release(void) {
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

/* ---- the provider: a queue of tasks and one thread */

typedef struct job {
    struct job *next;
    char *task;
    cf_slice *args; /* one per item; a plain submit has one */
    size_t n;
    int chunk;
    cf_future *f;
} job;

typedef struct tiny {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    job *head, *tail;
    int closed, joined;
    int *destroyed; /* set to 1 by destroy */
} tiny;

static void job_free(job *j) {
    for (size_t i = 0; i < j->n; ++i) free((void *)j->args[i].data);
    free(j->args);
    free(j->task);
    cf_future_release(j->f);
    free(j);
}

/* One item, run here as a worker would run it: into a future of its own. CF_OK with *out set, or a failure. */
static int run_item(const char *task, cf_slice arg, cf_future **out) {
    cf_future *r = NULL;
    if (cf_future_new(&r) != CF_OK) return CF_E_NO_MEMORY;
    cf_task_run_named(task, arg.data, arg.len, r);
    *out = r;
    cf_error e;
    cf_future_exception(r, 0, &e);
    return e.status;
}

static void pass_failure(cf_future *from, cf_future *to) {
    cf_error e;
    cf_future_exception(from, 0, &e);
    cf_future_set_remote_failure(to, e.status, e.type, e.message, e.detail);
}

static void run_job(job *j) {
    if (!cf_future_set_running_or_notify_cancel(j->f)) return;
    cf_future **done = (cf_future **)calloc(j->n ? j->n : 1, sizeof *done);
    cf_slice *results = (cf_slice *)calloc(j->n ? j->n : 1, sizeof *results);
    size_t ran = 0;
    int failed = 0;
    for (; ran < j->n && !failed; ++ran) {
        failed = run_item(j->task, j->args[ran], &done[ran]) != CF_OK;
        if (!failed) cf_future_result(done[ran], 0, &results[ran]);
    }
    if (failed) {
        pass_failure(done[ran - 1], j->f);
    } else if (!j->chunk) {
        cf_future_set_result(j->f, results[0].data, results[0].len);
    } else {
        size_t len = 0;
        cf_chunk_results_pack(results, j->n, NULL, 0, &len);
        void *packed = malloc(len ? len : 1);
        cf_chunk_results_pack(results, j->n, packed, len, &len);
        cf_future_set_result(j->f, packed, len);
        free(packed);
    }
    for (size_t i = 0; i < ran; ++i) cf_future_release(done[i]);
    free(done);
    free(results);
}

/* The next queued job, or NULL; with wait, sleeps until there is one or the provider is closed. */
static job *tiny_pop(tiny *t, int wait) {
    pthread_mutex_lock(&t->mu);
    while (wait && !t->head && !t->closed) pthread_cond_wait(&t->cv, &t->mu);
    job *j = t->head;
    if (j) {
        t->head = j->next;
        if (!t->head) t->tail = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    return j;
}

static void *tiny_thread(void *p) {
    for (job *j; (j = tiny_pop((tiny *)p, 1)) != NULL; job_free(j)) run_job(j);
    return NULL;
}

/* A job with copies of the arguments, and no future yet. */
static job *job_new(const char *task, const cf_slice *args, size_t n, int chunk) {
    job *j = (job *)calloc(1, sizeof *j);
    j->task = strdup(task);
    j->args = (cf_slice *)calloc(n ? n : 1, sizeof *j->args);
    j->n = n;
    j->chunk = chunk;
    for (size_t i = 0; i < n; ++i) {
        void *copy = malloc(args[i].len ? args[i].len : 1);
        if (args[i].len) memcpy(copy, args[i].data, args[i].len);
        j->args[i].data = copy;
        j->args[i].len = args[i].len;
    }
    return j;
}

static int tiny_push(tiny *t, const char *task, const cf_slice *args, size_t n, int chunk, cf_future *f) {
    if (!cf_task_registered(task)) return cf_provider_error(CF_E_UNKNOWN_TASK, "tiny: no such task");
    job *j = job_new(task, args, n, chunk);
    pthread_mutex_lock(&t->mu);
    if (t->closed) {
        pthread_mutex_unlock(&t->mu);
        j->f = NULL;
        job_free(j);
        return cf_provider_error(CF_E_SHUTDOWN, "tiny: cannot schedule new futures after shutdown");
    }
    cf_future_retain(f);
    j->f = f;
    if (t->tail) t->tail->next = j;
    else t->head = j;
    t->tail = j;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return CF_OK;
}

static int tiny_submit(void *self, const char *task, const void *arg, size_t len, cf_future *f) {
    cf_slice one = {arg, len};
    return tiny_push((tiny *)self, task, &one, 1, 0, f);
}

static int tiny_submit_chunk(void *self, const char *task, const cf_slice *args, size_t n, cf_future *f) {
    return tiny_push((tiny *)self, task, args, n, 1, f);
}

static int tiny_shutdown(void *self, int wait, int cancel_futures) {
    tiny *t = (tiny *)self;
    pthread_mutex_lock(&t->mu);
    t->closed = 1;
    if (cancel_futures)
        for (job *j = t->head; j; j = j->next) cf_future_cancel(j->f);
    pthread_cond_signal(&t->cv);
    int join = wait && !t->joined;
    if (join) t->joined = 1;
    pthread_mutex_unlock(&t->mu);
    if (join) pthread_join(t->thread, NULL);
    return CF_OK;
}

static int tiny_stats(void *self, cf_executor_stats *out) {
    (void)self;
    out->workers = 1;
    out->max_workers = 1;
    return CF_OK;
}

static void tiny_destroy(void *self) {
    tiny *t = (tiny *)self;
    tiny_shutdown(t, 1, 0);
    if (t->destroyed) *t->destroyed = 1;
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}

/* The executor over t (zeroed, perhaps inside a larger struct): with a thread that runs what is queued, or
 * without (then progress must), and with shutdown and progress of its own when given. */
static cf_executor *tiny_executor(tiny *t, int with_thread, int with_chunks, int (*shutdown)(void *, int, int),
                                  int (*progress)(void *, uint64_t)) {
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (with_thread) pthread_create(&t->thread, NULL, tiny_thread, t);
    else t->joined = 1; /* no thread to join */
    cf_executor_provider p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.name = "tiny";
    p.submit = tiny_submit;
    p.submit_chunk = with_chunks ? tiny_submit_chunk : NULL;
    p.shutdown = shutdown ? shutdown : tiny_shutdown;
    p.stats = tiny_stats;
    p.destroy = tiny_destroy;
    p.progress = progress;
    cf_executor *ex = NULL;
    CHECK_INT(cf_executor_new_provided(&p, t, &ex), CF_OK);
    return ex;
}

static cf_executor *tiny_new(int with_chunks, int *destroyed) {
    tiny *t = (tiny *)calloc(1, sizeof *t);
    t->destroyed = destroyed;
    return tiny_executor(t, 1, with_chunks, NULL, NULL);
}

/* ---- tests */

static void submit_and_results(void) {
    int destroyed = 0;
    cf_executor *ex = tiny_new(0, &destroyed);
    uint64_t n = 21;
    cf_future *a = NULL, *b = NULL, *c = NULL;
    CHECK_INT(cf_submit_named(ex, "provider.twice", &n, sizeof n, &a), CF_OK);
    CHECK_INT(cf_submit(ex, twice, NULL, &n, sizeof n, &b), CF_OK);
    CHECK_INT(cf_submit_named(ex, "provider.raises", NULL, 0, &c), CF_OK);
    CHECK_INT(check_u64_of(a), 42);
    CHECK_INT(check_u64_of(b), 42);
    cf_error e;
    check_remote_failure(c, "ZeroDivisionError", "division by zero", &e);
    CHECK_STR(e.detail, "in raises");
    cf_future *none = NULL;
    CHECK_FAILS(cf_submit_named(ex, "provider.nothing", NULL, 0, &none), CF_E_UNKNOWN_TASK, "tiny: no such task");
    CHECK(none == NULL);
    CHECK_FAILS(cf_submit(ex, not_registered, NULL, NULL, 0, &none), CF_E_UNKNOWN_TASK, "tiny executor");
    cf_submit_options o;
    cf_submit_options_init(&o);
    o.time_limit = 1.0;
    CHECK_FAILS(cf_submit_named_ex(ex, "provider.twice", &n, sizeof n, &o, &none), CF_E_INVALID_ARGUMENT,
                "no time limits");
    CHECK_INT(cf_executor_terminate_workers(ex), CF_E_INVALID_ARGUMENT);
    cf_future_release(a);
    cf_future_release(b);
    cf_future_release(c);
    cf_executor_free(ex);
    CHECK_INT(destroyed, 1);
}

static void map_in_order(int with_chunks, size_t chunksize) {
    cf_executor *ex = tiny_new(with_chunks, NULL);
    uint64_t want[10];
    for (size_t i = 0; i < 10; ++i) want[i] = 2 * i;
    check_map_u64(ex, "provider.twice", 10, chunksize, want);
    /* Item 4 fails: items before its chunk come first (and, submitted one by one, those of its chunk before it). */
    size_t first_of_chunk = 4 / chunksize * chunksize;
    check_map_failure(ex, "provider.twice", 10, 4, chunksize, with_chunks ? first_of_chunk : 4);
    cf_executor_free(ex);
}

static void map_by_items(void) {
    map_in_order(0, 1);
    map_in_order(0, 3);
}

static void map_by_chunks(void) {
    map_in_order(1, 1);
    map_in_order(1, 3);
    map_in_order(1, 20);
}

static void cancel_and_shutdown(void) {
    cf_executor *ex = tiny_new(0, NULL);
    gate_reset();
    uint64_t n = 5;
    cf_future *g = NULL, *queued[3] = {NULL, NULL, NULL};
    CHECK_INT(cf_submit_named(ex, "provider.gate", NULL, 0, &g), CF_OK);
    gate_wait_entered();
    for (int i = 0; i < 3; ++i) CHECK_INT(cf_submit_named(ex, "provider.twice", &n, sizeof n, &queued[i]), CF_OK);
    CHECK_INT(cf_future_running(g), 1);
    CHECK_INT(cf_future_cancel(g), 0);
    CHECK_INT(cf_future_cancel(queued[0]), 1);
    CHECK_INT(cf_executor_shutdown(ex, 0, 1), CF_OK);
    CHECK_INT(cf_future_cancelled(queued[1]), 1);
    CHECK_INT(cf_future_cancelled(queued[2]), 1);
    cf_future *late = NULL;
    CHECK_FAILS(cf_submit_named(ex, "provider.twice", &n, sizeof n, &late), CF_E_SHUTDOWN, "after shutdown");
    gate_release();
    cf_slice r;
    CHECK_INT(cf_future_result(g, LONG_WAIT, &r), CF_OK);
    CHECK_INT(cf_future_result(queued[0], 0, &r), CF_E_CANCELLED);
    CHECK_INT(cf_executor_shutdown(ex, 1, 0), CF_OK);
    cf_executor_stats s = check_stats_of(ex);
    CHECK_INT(s.completed, 1);
    CHECK_INT(s.cancelled, 3);
    CHECK_INT(s.workers, 1);
    cf_future_release(g);
    for (int i = 0; i < 3; ++i) cf_future_release(queued[i]);
    cf_executor_free(ex);
}

static void wait_and_as_completed(void) {
    cf_executor *ex = tiny_new(1, NULL);
    enum { N = 6 };
    cf_future *fs[N];
    for (uint64_t i = 0; i < N; ++i)
        CHECK_INT(cf_submit_named(ex, i == 3 ? "provider.raises" : "provider.twice", &i, sizeof i, &fs[i]), CF_OK);
    check_wait_and_as_completed(fs, N);
    cf_executor_stats s = check_stats_of(ex);
    CHECK_INT(s.completed, N - 1);
    CHECK_INT(s.failed, 1);
    for (int i = 0; i < N; ++i) cf_future_release(fs[i]);
    cf_executor_free(ex);
}

static int dummy_submit(void *self, const char *task, const void *arg, size_t len, cf_future *f) {
    (void)self, (void)task, (void)arg, (void)len, (void)f;
    return CF_OK;
}
static int dummy_shutdown(void *self, int wait, int cancel_futures) {
    (void)self, (void)wait, (void)cancel_futures;
    return CF_OK;
}
static void dummy_destroy(void *self) { *(int *)self += 1; }

static void bad_input(void) {
    int destroyed = 0;
    cf_executor_provider p;
    memset(&p, 0, sizeof p);
    p.struct_size = sizeof p;
    p.submit = dummy_submit;
    p.shutdown = dummy_shutdown;
    cf_executor *ex = NULL;
    CHECK_FAILS(cf_executor_new_provided(&p, &destroyed, &ex), CF_E_INVALID_ARGUMENT, "required");
    p.destroy = dummy_destroy;
    CHECK_INT(cf_executor_new_provided(NULL, &destroyed, &ex), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_executor_new_provided(&p, &destroyed, NULL), CF_E_INVALID_ARGUMENT);
    p.struct_size = CF_EXECUTOR_PROVIDER_V1_SIZE - 1;
    CHECK_FAILS(cf_executor_new_provided(&p, &destroyed, &ex), CF_E_INVALID_ARGUMENT, "struct_size");
    CHECK_INT(destroyed, 0);
    p.struct_size = CF_EXECUTOR_PROVIDER_V1_SIZE;
    CHECK_INT(cf_executor_new_provided(&p, &destroyed, &ex), CF_OK);
    cf_executor_free(ex);
    CHECK_INT(destroyed, 1);
    CHECK_INT(cf_provider_error(CF_E_SHUTDOWN, "gone"), CF_E_SHUTDOWN);
    CHECK_STR(cf_last_error(), "gone");
    CHECK_INT(cf_task_registered(NULL), 0);
    CHECK_INT(cf_task_registered("provider.twice"), 1);
    cf_future *f = NULL;
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_task_run_named(NULL, NULL, 0, f), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_task_run_named("provider.twice", NULL, 3, f), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_task_run_named("provider.nothing", NULL, 0, f), CF_OK);
    cf_error e;
    CHECK_INT(cf_future_exception(f, 0, &e), CF_OK);
    CHECK_INT(e.status, CF_E_UNKNOWN_TASK);
    CHECK_INT(cf_task_run_named("provider.twice", NULL, 0, f), CF_E_INVALID_STATE);
    CHECK_INT(cf_future_set_remote_failure(f, CF_E_TASK_FAILED, "X", NULL, NULL), CF_E_INVALID_STATE);
    cf_future_release(f);
    CHECK_INT(cf_future_new(&f), CF_OK);
    CHECK_INT(cf_future_set_remote_failure(f, 3, "X", NULL, NULL), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_future_set_remote_failure(f, CF_E_TASK_FAILED, NULL, NULL, NULL), CF_E_INVALID_ARGUMENT);
    cf_future_release(f);
    size_t len = 0;
    cf_slice two[2] = {{"ab", 2}, {NULL, 0}};
    unsigned char out[32];
    CHECK_INT(cf_chunk_results_pack(two, 2, NULL, 0, &len), CF_OK);
    CHECK_INT(len, 18);
    CHECK_INT(cf_chunk_results_pack(two, 2, out, 17, &len), CF_E_TOO_LARGE);
    CHECK_INT(cf_chunk_results_pack(two, 2, out, sizeof out, &len), CF_OK);
    CHECK_INT(out[0], 2);
    CHECK_INT(out[10], 0);
    CHECK_INT(cf_chunk_results_pack(NULL, 2, NULL, 0, &len), CF_E_INVALID_ARGUMENT);
    CHECK_INT(cf_chunk_results_pack(two, 2, NULL, 0, NULL), CF_E_INVALID_ARGUMENT);
}

/* ---- a provider without a thread: what it is given runs when a caller waits (progress) */

typedef struct driven {
    tiny queue; /* first: tiny_destroy frees it; it has no thread */
    int calls, first_rounds; /* progress calls, and those with round 0 */
} driven;

/* Runs one queued task on the waiting thread; 1 while there was one. */
static int driven_progress(void *self, uint64_t round) {
    driven *d = (driven *)self;
    pthread_mutex_lock(&d->queue.mu);
    d->calls += 1;
    d->first_rounds += round == 0;
    pthread_mutex_unlock(&d->queue.mu);
    job *j = tiny_pop(&d->queue, 0);
    if (!j) return 0;
    run_job(j);
    job_free(j);
    return 1;
}

/* What is queued runs here (wait) or is cancelled. */
static int driven_shutdown(void *self, int wait, int cancel_futures) {
    driven *d = (driven *)self;
    tiny_shutdown(&d->queue, wait, cancel_futures);
    for (job *j; (wait || cancel_futures) && (j = tiny_pop(&d->queue, 0)) != NULL; job_free(j))
        if (!cancel_futures) run_job(j);
    return CF_OK;
}

/* The waiting thread does the provider's work: results come without any thread of the provider's, through
 * cf_future_result, cf_wait and cf_as_completed; each wait starts at round 0. */
static void a_waiting_caller_drives(void) {
    driven *d = (driven *)calloc(1, sizeof *d);
    cf_executor *ex = tiny_executor(&d->queue, 0, 0, driven_shutdown, driven_progress);
    enum { N = 6 };
    cf_future *fs[N];
    for (uint64_t i = 0; i < N; ++i) CHECK_INT(cf_submit_named(ex, "provider.twice", &i, sizeof i, &fs[i]), CF_OK);
    CHECK_INT(check_u64_of(fs[2]), 4); /* runs the first three */
    CHECK_INT(cf_future_done(fs[0]), 1);
    CHECK_INT(cf_future_done(fs[3]), 0);
    CHECK_INT(d->first_rounds, 1);
    CHECK_INT(d->calls >= 3, 1);
    CHECK_INT(cf_wait(fs, N, LONG_WAIT, CF_ALL_COMPLETED, NULL, NULL), CF_OK);
    for (uint64_t i = 0; i < N; ++i) {
        CHECK_INT(check_u64_of(fs[i]), 2 * i);
        cf_future_release(fs[i]);
    }
    uint64_t want[10];
    for (size_t i = 0; i < 10; ++i) want[i] = 2 * i;
    check_map_u64(ex, "provider.twice", 10, 3, want);
    cf_executor_free(ex);
}

/* A provider whose progress always lets the caller sleep: its own thread completes the futures. */
static int sleepy_calls;
static int sleepy_progress(void *self, uint64_t round) {
    (void)self, (void)round;
    __atomic_add_fetch(&sleepy_calls, 1, __ATOMIC_RELAXED);
    return 0;
}

static void progress_may_decline(void) {
    cf_executor *ex = tiny_executor((tiny *)calloc(1, sizeof(tiny)), 1, 0, NULL, sleepy_progress);
    gate_reset();
    cf_future *held = NULL, *f = NULL;
    CHECK_INT(cf_submit_named(ex, "provider.gate", NULL, 0, &held), CF_OK);
    uint64_t n = 5;
    CHECK_INT(cf_submit_named(ex, "provider.twice", &n, sizeof n, &f), CF_OK);
    gate_wait_entered();
    cf_slice r;
    CHECK_INT(cf_future_result(f, 0.01, &r), CF_E_TIMEOUT); /* asked, declined, slept */
    CHECK_INT(__atomic_load_n(&sleepy_calls, __ATOMIC_RELAXED) >= 1, 1);
    gate_release();
    CHECK_INT(check_u64_of(f), 10);
    cf_future_release(held);
    cf_future_release(f);
    cf_executor_free(ex);
}

static const check_test tests[] = {
    CHECK_TEST(a_waiting_caller_drives), CHECK_TEST(progress_may_decline),
    CHECK_TEST(submit_and_results), CHECK_TEST(map_by_items), CHECK_TEST(map_by_chunks),
    CHECK_TEST(cancel_and_shutdown), CHECK_TEST(wait_and_as_completed), CHECK_TEST(bad_input),
};

int main(int argc, char **argv) { return check_run_tests(argc, argv, tests, CHECK_COUNT(tests), NULL); }
