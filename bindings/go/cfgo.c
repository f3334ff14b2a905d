/* SPDX-License-Identifier: MIT */
/* The C half of the Go binding; see cfgo.h. */
#define _GNU_SOURCE
#include "cfgo.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h"

/* Copies the calling thread's cf_last_error() for a failing status, in the same cgo call. */
static int capture(int rc, char **err) {
    if (rc < 0 && err) *err = strdup(cf_last_error());
    return rc;
}

/* ---- tasks ---------------------------------------------------------------------------------------------- */

int cfgo_closure_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len;
    return cfgoClosureTask(ctx, (uintptr_t)user_data);
}

int cfgo_map_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    return cfgoMapTask(ctx, (void *)arg, len, (uintptr_t)user_data);
}

int cfgo_step_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    return cfgoStepTask(ctx, (void *)arg, len, (uintptr_t)user_data);
}

int cfgo_initializer_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) {
    (void)arg, (void)len;
    return cfgoInitializerTask(ctx, (uintptr_t)user_data);
}

/* In a spawned worker the library resets SIGSEGV, SIGBUS and SIGFPE to their default action, so that a crash is
 * reported as its signal. The Go runtime needs its own handlers for those to turn a nil dereference or an integer
 * division by zero into a panic, so they are saved before the worker starts and put back before the first task
 * runs. (A fault in C code called by a Go task then ends the worker through the Go runtime, exit code 2.) */
static const int go_signals[] = {SIGSEGV, SIGBUS, SIGFPE};
static struct sigaction saved_go_handlers[sizeof go_signals / sizeof go_signals[0]];
static int in_spawned_worker;     /* set once, before the worker serves tasks */
static int go_handlers_restored;  /* the worker runs its tasks on one thread */

static void restore_go_handlers(void) {
    size_t i;
    if (!in_spawned_worker || go_handlers_restored) return;
    go_handlers_restored = 1;
    for (i = 0; i < sizeof go_signals / sizeof go_signals[0]; ++i) sigaction(go_signals[i], &saved_go_handlers[i], NULL);
}

static int registered_task(cf_task_ctx *ctx, const void *arg, size_t len, int slot) {
    restore_go_handlers();
    return cfgoRegisteredTask(ctx, (void *)arg, len, slot);
}

/* One C function per registration slot: cfgo_reg_00 .. cfgo_reg_ff. */
#define CFGO_THUNK(h, l)                                                                        \
    static int cfgo_reg_##h##l(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data) { \
        (void)user_data;                                                                        \
        return registered_task(ctx, arg, len, 0x##h##l);                                        \
    }
#define CFGO_ROW(X, h) \
    X(h, 0) X(h, 1) X(h, 2) X(h, 3) X(h, 4) X(h, 5) X(h, 6) X(h, 7) X(h, 8) X(h, 9) X(h, a) X(h, b) X(h, c) X(h, d) X(h, e) X(h, f)
#define CFGO_ALL(X)                                                                                             \
    CFGO_ROW(X, 0) CFGO_ROW(X, 1) CFGO_ROW(X, 2) CFGO_ROW(X, 3) CFGO_ROW(X, 4) CFGO_ROW(X, 5) CFGO_ROW(X, 6) \
    CFGO_ROW(X, 7) CFGO_ROW(X, 8) CFGO_ROW(X, 9) CFGO_ROW(X, a) CFGO_ROW(X, b) CFGO_ROW(X, c) CFGO_ROW(X, d) \
    CFGO_ROW(X, e) CFGO_ROW(X, f)
CFGO_ALL(CFGO_THUNK)
#define CFGO_ENTRY(h, l) cfgo_reg_##h##l,
static const cf_task_fn registered_fns[CFGO_MAX_REGISTERED] = {CFGO_ALL(CFGO_ENTRY)};

cf_task_fn cfgo_registered_fn(int slot) {
    return slot >= 0 && slot < CFGO_MAX_REGISTERED ? registered_fns[slot] : NULL;
}

int cfgo_task_register(const char *name, int slot, char **err) {
    cf_task_fn fn = cfgo_registered_fn(slot);
    if (!fn) {
        if (err) *err = strdup("no registration slot left");
        return CF_E_INVALID_ARGUMENT;
    }
    return capture(cf_task_register(name, fn, NULL), err);
}

int cfgo_task_return(cf_task_ctx *ctx, const void *data, size_t len, char **err) {
    return capture(cf_task_return(ctx, data, len), err);
}

int cfgo_task_raise(cf_task_ctx *ctx, const char *type, const char *message) {
    return cf_task_raise(ctx, type, message);
}

/* ---- executors ------------------------------------------------------------------------------------------ */

int cfgo_thread_pool_new(size_t max_workers, const char *prefix, uintptr_t initializer, int cancel_running,
                         cf_executor **out, char **err) {
    cf_thread_pool_options o;
    cf_thread_pool_options_init(&o);
    o.max_workers = max_workers;
    o.thread_name_prefix = prefix;
    if (initializer) {
        o.initializer = cfgo_initializer_task;
        o.initializer_data = (void *)initializer;
    }
    o.cancel_running = cancel_running;
    return capture(cf_thread_pool_new(&o, out), err);
}

int cfgo_process_pool_new(size_t max_workers, size_t max_tasks_per_child, const char *initializer,
                          const void *initarg, size_t initarg_len, size_t shared_memory_bytes,
                          const char *worker_program, const cfgo_process_extra *extra, cf_executor **out,
                          char **err) {
    cf_process_pool_options o;
    cf_process_pool_options_init(&o);
    o.max_workers = max_workers;
    o.start_method = CF_START_SPAWN;
    o.max_tasks_per_child = max_tasks_per_child;
    o.initializer = initializer;
    o.initarg = initarg;
    o.initarg_len = initarg_len;
    o.shared_memory_bytes = shared_memory_bytes;
    o.worker_program = worker_program;
    if (extra) {
        o.cancel_running = extra->cancel_running;
        o.on_worker_death = (cf_worker_death)extra->on_worker_death;
        o.max_restarts = extra->max_restarts;
        o.restart_period = extra->restart_period;
        o.worker_start_timeout = extra->worker_start_timeout;
    }
    return capture(cf_process_pool_new(&o, out), err);
}

int cfgo_submit(cf_executor *ex, uintptr_t task, double time_limit, cf_future **out, char **err) {
    cf_submit_options o;
    if (time_limit < 0) return capture(cf_submit(ex, cfgo_closure_task, (void *)task, NULL, 0, out), err);
    cf_submit_options_init(&o);
    o.time_limit = time_limit;
    return capture(cf_submit_ex(ex, cfgo_closure_task, (void *)task, NULL, 0, &o, out), err);
}

int cfgo_submit_named(cf_executor *ex, const char *name, const void *arg, size_t len, double time_limit,
                      cf_future **out, char **err) {
    cf_submit_options o;
    if (time_limit < 0) return capture(cf_submit_named(ex, name, arg, len, out), err);
    cf_submit_options_init(&o);
    o.time_limit = time_limit;
    return capture(cf_submit_named_ex(ex, name, arg, len, &o, out), err);
}

int cfgo_executor_stats(cf_executor *ex, cf_executor_stats *out, char **err) {
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    return capture(cf_executor_stats_get(ex, out), err);
}

int cfgo_executor_shutdown(cf_executor *ex, int wait, int cancel_futures, char **err) {
    return capture(cf_executor_shutdown(ex, wait, cancel_futures), err);
}

int cfgo_executor_terminate_workers(cf_executor *ex, char **err) {
    return capture(cf_executor_terminate_workers(ex), err);
}

int cfgo_executor_kill_workers(cf_executor *ex, char **err) { return capture(cf_executor_kill_workers(ex), err); }

int cfgo_worker_entry(char **err) {
    size_t i;
    if (getenv("CFUTURES_WORKER")) {
        for (i = 0; i < sizeof go_signals / sizeof go_signals[0]; ++i)
            sigaction(go_signals[i], NULL, &saved_go_handlers[i]);
        in_spawned_worker = 1;
    }
    return capture(cf_process_worker_entry(), err);
}

/* ---- logging -------------------------------------------------------------------------------------------- */

static void log_trampoline(int level, const char *message, void *user_data) {
    (void)user_data;
    cfgoLog(level, (char *)message);
}

void cfgo_set_log_handler(int on) { cf_set_log_handler(on ? log_trampoline : NULL, NULL); }

/* ---- futures -------------------------------------------------------------------------------------------- */

int cfgo_future_new(cf_future **out, char **err) { return capture(cf_future_new(out), err); }

int cfgo_future_result(cf_future *f, double timeout, cf_slice *out, char **err) {
    return capture(cf_future_result(f, timeout, out), err);
}

int cfgo_future_exception(cf_future *f, double timeout, cf_error *out, char **err) {
    return capture(cf_future_exception(f, timeout, out), err);
}

static void run_done_callback(cf_future *f, void *user_data) {
    (void)f;
    cfgoDoneCallback((uintptr_t)user_data);
}

static void release_task(cf_future *f, void *user_data) {
    (void)f;
    cfgoReleaseTask((uintptr_t)user_data);
}

int cfgo_future_add_done_callback(cf_future *f, uintptr_t callback, char **err) {
    return capture(cf_future_add_done_callback(f, run_done_callback, (void *)callback), err);
}

int cfgo_future_add_release_callback(cf_future *f, uintptr_t task, char **err) {
    return capture(cf_future_add_done_callback(f, release_task, (void *)task), err);
}

static void notify_done(cf_future *f, void *user_data) {
    (void)f;
    cfgoNotifyDone((uintptr_t)user_data);
}

static void release_notifier(void *user_data) { cfgoReleaseHandle((uintptr_t)user_data); }

int cfgo_future_add_done_notify(cf_future *f, uintptr_t notifier, char **err) {
    return capture(cf_future_add_done_callback_ex(f, notify_done, (void *)notifier, release_notifier), err);
}

int cfgo_future_set_result(cf_future *f, const void *data, size_t len, char **err) {
    return capture(cf_future_set_result(f, data, len), err);
}

int cfgo_future_set_exception(cf_future *f, const char *type, const char *message, char **err) {
    return capture(cf_future_set_exception(f, type, message), err);
}

int cfgo_future_set_running_or_notify_cancel(cf_future *f, char **err) {
    return capture(cf_future_set_running_or_notify_cancel(f), err);
}

/* ---- composition --------------------------------------------------------------------------------------- */

static void release_step(void *user_data) { cfgoReleaseStep((uintptr_t)user_data); }

int cfgo_future_then(cf_future *f, cf_executor *ex, uintptr_t step, double time_limit, cf_future **out, char **err) {
    cf_submit_options o;
    cf_submit_options_init(&o);
    if (time_limit >= 0) o.time_limit = time_limit;
    o.release_user_data = release_step;
    return capture(cf_future_then_ex(f, ex, cfgo_step_task, (void *)step, &o, out), err);
}

int cfgo_future_then_named(cf_future *f, cf_executor *ex, const char *name, cf_future **out, char **err) {
    return capture(cf_future_then_named(f, ex, name, out), err);
}

int cfgo_when_all(cf_future *const *fs, size_t n, cf_future **out, char **err) {
    return capture(cf_when_all(fs, n, out), err);
}

int cfgo_when_any(cf_future *const *fs, size_t n, cf_future **out, char **err) {
    return capture(cf_when_any(fs, n, out), err);
}

/* ---- wait, as_completed, map ---------------------------------------------------------------------------- */

int cfgo_wait(cf_future *const *fs, size_t n, double timeout, int when, unsigned char *done, char **err) {
    return capture(cf_wait(fs, n, timeout, (cf_return_when)when, done, NULL), err);
}

int cfgo_as_completed(cf_future *const *fs, size_t n, double timeout, cf_as_completed_iter **out, char **err) {
    return capture(cf_as_completed(fs, n, timeout, out), err);
}

int cfgo_as_completed_next(cf_as_completed_iter *it, cf_future **out, char **err) {
    return capture(cf_as_completed_next(it, out), err);
}

int cfgo_map(cf_executor *ex, int kind, uintptr_t id, const cf_slice *args, size_t n, double timeout,
             size_t chunksize, size_t buffersize, int unordered, cf_map_iter **out, char **err) {
    cf_map_options o;
    cf_task_fn fn = kind == 0 ? cfgo_map_task : cfgo_registered_fn((int)id);
    if (!fn) {
        if (err) *err = strdup("no such registration slot");
        return CF_E_INVALID_ARGUMENT;
    }
    cf_map_options_init(&o);
    o.timeout = timeout;
    o.chunksize = chunksize;
    o.buffersize = buffersize;
    o.unordered = unordered;
    return capture(cf_map(ex, fn, kind == 0 ? (void *)id : NULL, args, n, &o, out), err);
}

int cfgo_map_next(cf_map_iter *it, cf_slice *out, char **err) { return capture(cf_map_next(it, out), err); }
