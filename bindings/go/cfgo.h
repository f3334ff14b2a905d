/* SPDX-License-Identifier: MIT */
/* The C half of the Go binding: thin wrappers over cfutures.h.
 *
 * cf_last_error() is thread-local and a goroutine may move to another OS thread between two cgo calls, so every
 * wrapper that can fail copies the error text (strdup, freed by Go) before it returns: the text always belongs to
 * the call that failed. Handles travel as uintptr_t and become void * only here, so that no Go pointer is ever
 * stored in C memory. */
#ifndef CFGO_H
#define CFGO_H

#include <cfutures/cfutures.h>

#include <stddef.h>
#include <stdint.h>

/* How many Go tasks can be registered by name: each gets a C function of its own, because a process pool finds
 * the name of a submitted function by its pointer alone. */
#define CFGO_MAX_REGISTERED 256

/* Task entry points, handed to the library as cf_task_fn. */
int cfgo_closure_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int cfgo_map_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
/* A Then step: user_data is the step's cgo.Handle, arg the source's result bytes. */
int cfgo_step_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
int cfgo_initializer_task(cf_task_ctx *ctx, const void *arg, size_t len, void *user_data);
cf_task_fn cfgo_registered_fn(int slot);

/* Executors. */
int cfgo_thread_pool_new(size_t max_workers, const char *prefix, uintptr_t initializer, int cancel_running,
                         cf_executor **out, char **err);
/* The process-pool options added after 0.1.0. No pointers: Go passes it from its own memory. */
typedef struct cfgo_process_extra {
    int cancel_running;
    int on_worker_death;
    size_t max_restarts;
    double restart_period;
    double worker_start_timeout;
} cfgo_process_extra;
int cfgo_process_pool_new(size_t max_workers, size_t max_tasks_per_child, const char *initializer,
                          const void *initarg, size_t initarg_len, size_t shared_memory_bytes,
                          const char *worker_program, const cfgo_process_extra *extra, cf_executor **out,
                          char **err);
/* time_limit: seconds, or negative for none (then the plain cf_submit / cf_submit_named is called). */
int cfgo_submit(cf_executor *ex, uintptr_t task, double time_limit, cf_future **out, char **err);
int cfgo_submit_named(cf_executor *ex, const char *name, const void *arg, size_t len, double time_limit,
                      cf_future **out, char **err);
int cfgo_executor_stats(cf_executor *ex, cf_executor_stats *out, char **err);
int cfgo_executor_shutdown(cf_executor *ex, int wait, int cancel_futures, char **err);
int cfgo_executor_terminate_workers(cf_executor *ex, char **err);
int cfgo_executor_kill_workers(cf_executor *ex, char **err);
int cfgo_worker_entry(char **err);
int cfgo_task_register(const char *name, int slot, char **err);

/* Futures. */
int cfgo_future_new(cf_future **out, char **err);
int cfgo_future_result(cf_future *f, double timeout, cf_slice *out, char **err);
int cfgo_future_exception(cf_future *f, double timeout, cf_error *out, char **err);
int cfgo_future_add_done_callback(cf_future *f, uintptr_t callback, char **err);
int cfgo_future_add_release_callback(cf_future *f, uintptr_t task, char **err);
/* Arms a future's Go done-notifier (a cgo.Handle): cfgoNotifyDone(handle) runs once the future is done, and
 * cfgoReleaseHandle(handle) once that has run or never can (the future was freed unfinished, or this call
 * failed: the handle is then released here, not by the caller). */
int cfgo_future_add_done_notify(cf_future *f, uintptr_t notifier, char **err);
int cfgo_future_set_result(cf_future *f, const void *data, size_t len, char **err);
int cfgo_future_set_exception(cf_future *f, const char *type, const char *message, char **err);
int cfgo_future_set_running_or_notify_cancel(cf_future *f, char **err);

/* Composition. cfgo_future_then runs the Go step `step` (a cgo.Handle of a *goTask) on ex once f succeeds, with
 * cf_future_then_ex: the library calls cfgoReleaseStep(step) once the step has run or never will, also when this
 * call fails, so the caller never releases the handle itself. time_limit: seconds, or negative for none. */
int cfgo_future_then(cf_future *f, cf_executor *ex, uintptr_t step, double time_limit, cf_future **out, char **err);
int cfgo_future_then_named(cf_future *f, cf_executor *ex, const char *name, cf_future **out, char **err);
int cfgo_when_all(cf_future *const *fs, size_t n, cf_future **out, char **err);
int cfgo_when_any(cf_future *const *fs, size_t n, cf_future **out, char **err);

/* wait and as_completed. */
int cfgo_wait(cf_future *const *fs, size_t n, double timeout, int when, unsigned char *done, char **err);
int cfgo_as_completed(cf_future *const *fs, size_t n, double timeout, cf_as_completed_iter **out, char **err);
int cfgo_as_completed_next(cf_as_completed_iter *it, cf_future **out, char **err);

/* map: kind 0 runs the Go function registered in the map table under `id`, kind 1 the registered task `id`. */
int cfgo_map(cf_executor *ex, int kind, uintptr_t id, const cf_slice *args, size_t n, double timeout,
             size_t chunksize, size_t buffersize, int unordered, cf_map_iter **out, char **err);
int cfgo_map_next(cf_map_iter *it, cf_slice *out, char **err);

/* Logging: on 1 routes the library's log to the Go function cfgoLog, 0 restores stderr. */
void cfgo_set_log_handler(int on);

/* Tasks. */
int cfgo_task_return(cf_task_ctx *ctx, const void *data, size_t len, char **err);
int cfgo_task_raise(cf_task_ctx *ctx, const char *type, const char *message);

#endif
