/* SPDX-License-Identifier: MIT */
/*
 * libcfutures: Python's concurrent.futures as a C library.
 *
 * This header is the stable C ABI. It is plain C99 and includes nothing of C++.
 *
 * ABI policy: within one major version (the SONAME, libcfutures.so.<major>) the ABI only grows. Functions, enum
 * values and status codes are never renamed, reordered or given new meanings; options structs grow only at their
 * end, behind their struct_size. A program built against 0.x runs against any later 0.y.
 *
 * Conventions (see the README for the whole story):
 *  - Functions that can fail return CF_OK (0) or a negative CF_E_* status; iterators return CF_DONE (1) at the end.
 *  - Every negative return sets a thread-local text, read with cf_last_error(); it never returns NULL.
 *  - A NULL handle or out-pointer is CF_E_INVALID_ARGUMENT; predicates return 0 for NULL; release/free accept NULL.
 *  - Timeouts are seconds as double: negative or +Inf waits without limit, 0 does not wait, NaN is invalid.
 *  - Everything is thread-safe, except releasing a handle that another thread still uses, and the iterators,
 *    which one thread at a time may use.
 */
#ifndef CFUTURES_CFUTURES_H
#define CFUTURES_CFUTURES_H

#include <stddef.h>
#include <stdint.h>

#include "cf_export.h"
#include "cf_status_map.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------------------ */
/* Version                                                                                                        */

#define CF_VERSION_MAJOR 0
#define CF_VERSION_MINOR 1
#define CF_VERSION_PATCH 0
#define CF_VERSION_NUMBER ((CF_VERSION_MAJOR << 16) | (CF_VERSION_MINOR << 8) | CF_VERSION_PATCH)
/* True when the headers in use are at least major.minor.patch. */
#define CF_VERSION_AT_LEAST(major, minor, patch) \
    (CF_VERSION_NUMBER >= (((major) << 16) | ((minor) << 8) | (patch)))

/* The version of the library actually loaded, which may be newer than the headers. */
CF_API unsigned cf_version(void);
CF_API const char *cf_version_string(void);

/* ------------------------------------------------------------------------------------------------------------ */
/* Status codes                                                                                                   */

/* The status codes, listed with their meanings in cf_status_map.h:
 *   CF_OK 0, CF_DONE 1 (an iterator is exhausted), and the failures
 *   CF_E_INVALID_ARGUMENT -1 (ValueError / TypeError), CF_E_NO_MEMORY -2 (MemoryError), CF_E_TIMEOUT -3
 *   (TimeoutError), CF_E_CANCELLED -4 (CancelledError), CF_E_SHUTDOWN -5 (cannot schedule new futures after
 *   shutdown), CF_E_BROKEN_THREAD_POOL -6, CF_E_BROKEN_PROCESS_POOL -7, CF_E_INVALID_STATE -8
 *   (InvalidStateError), CF_E_TASK_FAILED -9 (the task raised: cf_future_exception tells what),
 *   CF_E_UNKNOWN_TASK -10 (a function not registered for cross-process use), CF_E_DEADLOCK -11 (a wait that can
 *   never finish), CF_E_SYSTEM -12 (an operating-system call failed; errno text in cf_last_error),
 *   CF_E_TOO_LARGE -13 (a payload larger than the pool can carry), CF_E_TIME_LIMIT -14 (the task ran past its
 *   time limit), CF_E_WORKER_DIED -15 (its worker died and was replaced, CF_WORKER_DEATH_REPLACE). */
typedef enum cf_status {
#define CF_STATUS_ENUMERATOR(c_name, value, cxx_name, cxx_exception, python_exception, description) c_name = value,
    CF_STATUS_MAP(CF_STATUS_ENUMERATOR)
#undef CF_STATUS_ENUMERATOR
    CF_STATUS_MAX_ENUM = 0x7FFFFFFF
} cf_status;

/* "CF_E_TIMEOUT" for CF_E_TIMEOUT; "CF_UNKNOWN_STATUS" for a value that is no status. */
CF_API const char *cf_status_name(int status);
/* A one-line description of a status. */
CF_API const char *cf_strerror(int status);
/* The detail of the last failing call on this thread; "" when there was none. Never NULL. */
CF_API const char *cf_last_error(void);

/* ------------------------------------------------------------------------------------------------------------ */
/* Values and timeouts                                                                                            */

/* A byte string. A result slice stays valid as long as the future that owns it. */
typedef struct cf_slice {
    const void *data;
    size_t len;
} cf_slice;

/* Wait without limit. */
#define CF_FOREVER (-1.0)

/* ------------------------------------------------------------------------------------------------------------ */
/* Futures                                                                                                        */

typedef struct cf_future cf_future;

typedef enum cf_future_state {
    CF_FUTURE_INVALID = -1,          /* what cf_future_get_state returns for an invalid handle */
    CF_PENDING = 0,
    CF_RUNNING = 1,
    CF_CANCELLED = 2,
    CF_FINISHED = 3,
    CF_FUTURE_STATE_MAX_ENUM = 0x7FFFFFFF
} cf_future_state;

/* Why a future failed. The strings are owned by the future and live as long as it does. */
typedef struct cf_error {
    int status;                      /* CF_OK: no exception; else CF_E_TASK_FAILED, CF_E_BROKEN_*, ... */
    const char *type;                /* "ZeroDivisionError", "std::out_of_range", "SIGSEGV" */
    const char *message;
    const char *detail;              /* where it happened: task name, worker pid, exit code, ... */
} cf_error;

/* Called once the future is done (finished or cancelled), on the thread that completed it, or at once on the
 * caller's thread when the future is already done. */
typedef void (*cf_done_fn)(cf_future *f, void *user_data);

/* A new pending future that the caller completes with cf_future_set_*; release it with cf_future_release. */
CF_API int cf_future_new(cf_future **out);
CF_API void cf_future_retain(cf_future *f);
/* Drops one reference; NULL is a no-op. Releasing a future does not cancel its task. */
CF_API void cf_future_release(cf_future *f);

CF_API cf_future_state cf_future_get_state(const cf_future *f);
CF_API int cf_future_done(const cf_future *f);
CF_API int cf_future_running(const cf_future *f);
CF_API int cf_future_cancelled(const cf_future *f);
/* 1 when the future is cancelled (now or before); 0 when it is running or finished. A running task is asked to
 * stop (cf_task_cancel_requested) but keeps running. */
CF_API int cf_future_cancel(cf_future *f);

/* CF_OK with the result; CF_E_TIMEOUT, CF_E_CANCELLED, or the failure's status (CF_E_TASK_FAILED, ...). */
CF_API int cf_future_result(cf_future *f, double timeout, cf_slice *out);
/* CF_OK with out->status CF_OK (strings NULL) on success or the failure described; CF_E_TIMEOUT; CF_E_CANCELLED. */
CF_API int cf_future_exception(cf_future *f, double timeout, cf_error *out);
/* Callbacks run in the order added. */
CF_API int cf_future_add_done_callback(cf_future *f, cf_done_fn fn, void *user_data);

/* For executors and tests that complete futures themselves. */
/* 1: now running; 0: it was cancelled; CF_E_INVALID_STATE: it is running or done already. */
CF_API int cf_future_set_running_or_notify_cancel(cf_future *f);
/* The bytes are copied. CF_E_INVALID_STATE when already done or cancelled (the first value is kept). */
CF_API int cf_future_set_result(cf_future *f, const void *data, size_t len);
/* Fails the future with CF_E_TASK_FAILED; type is required, message may be NULL. The strings are copied. */
CF_API int cf_future_set_exception(cf_future *f, const char *type, const char *message);

/* ------------------------------------------------------------------------------------------------------------ */
/* wait and as_completed                                                                                          */

typedef enum cf_return_when {
    CF_ALL_COMPLETED = 0,
    CF_FIRST_COMPLETED = 1,
    CF_FIRST_EXCEPTION = 2,
    CF_RETURN_WHEN_MAX_ENUM = 0x7FFFFFFF
} cf_return_when;

/* CF_OK when the condition holds, CF_E_TIMEOUT when the time ran out first. done (n flags, or NULL) marks each
 * position whose future is done; n_done (or NULL) counts the distinct done futures. fs may be NULL when n is 0. */
CF_API int cf_wait(cf_future *const *fs, size_t n, double timeout, cf_return_when when, unsigned char *done,
                   size_t *n_done);

typedef struct cf_as_completed_iter cf_as_completed_iter;
/* Yields each distinct future once: those already done first (input order), then in completion order. The
 * timeout counts from this call. The iterator holds a reference to every future until it is freed. */
CF_API int cf_as_completed(cf_future *const *fs, size_t n, double timeout, cf_as_completed_iter **out);
/* CF_OK with *out (borrowed from the iterator), CF_DONE at the end, CF_E_TIMEOUT once the time has run out. */
CF_API int cf_as_completed_next(cf_as_completed_iter *it, cf_future **out);
CF_API void cf_as_completed_free(cf_as_completed_iter *it);

/* ------------------------------------------------------------------------------------------------------------ */
/* Tasks                                                                                                          */

typedef struct cf_task_ctx cf_task_ctx;

/* A task reads its argument and returns CF_OK after setting its result (none set: the empty result), or fails by
 * calling cf_task_raise (then whatever it returns) or by returning non-zero (type "cf_task_error"). */
typedef int (*cf_task_fn)(cf_task_ctx *ctx, const void *arg, size_t arg_len, void *user_data);

/* Copies the result out; a second call replaces the first. */
CF_API int cf_task_return(cf_task_ctx *ctx, const void *data, size_t len);
/* A buffer of len bytes that becomes the result, to write in place; NULL on failure (cf_last_error says why). */
CF_API void *cf_task_return_buffer(cf_task_ctx *ctx, size_t len);
/* Fails the task with a type ("ValueError") and a message; returns CF_E_TASK_FAILED for the task to return. */
CF_API int cf_task_raise(cf_task_ctx *ctx, const char *type, const char *message);
/* 1 once cancellation of the running task was asked for (cf_future_cancel, or shutdown with cancel_futures). */
CF_API int cf_task_cancel_requested(const cf_task_ctx *ctx);

/* ------------------------------------------------------------------------------------------------------------ */
/* Registry: functions found by name (cf_submit_named) and, in process pools, in another process                 */

/* The same name with the same function and user data again is a no-op; with another it is CF_E_INVALID_ARGUMENT. */
CF_API int cf_task_register(const char *name, cf_task_fn fn, void *user_data);
/* What CF_TASK calls while the program loads: a conflict is kept and reported later instead of returned. */
CF_API void cf_task_register_at_load(const char *name, cf_task_fn fn);

#define CF_TASK_CAT2_(a, b) a##b
#define CF_TASK_CAT_(a, b) CF_TASK_CAT2_(a, b)
/* CF_TASK("name", fn); registers fn (user_data NULL) when the program or library loads. Each use gets a
   function name of its own (from __COUNTER__), so uses in a header and in the file including it never clash. */
#ifdef __COUNTER__
#define CF_TASK(name, fn) CF_TASK_NUMBERED_(name, fn, __COUNTER__)
#else
#define CF_TASK(name, fn) CF_TASK_NUMBERED_(name, fn, __LINE__)
#endif
#define CF_TASK_NUMBERED_(name, fn, id)                                                            \
    static void CF_TASK_CAT_(cf_task_register_, id)(void) __attribute__((constructor));          \
    static void CF_TASK_CAT_(cf_task_register_, id)(void) { cf_task_register_at_load((name), (fn)); } \
    extern int cf_task_declaration_anchor_

/* ------------------------------------------------------------------------------------------------------------ */
/* Executors                                                                                                      */

typedef struct cf_executor cf_executor;

typedef struct cf_thread_pool_options {
    size_t struct_size;               /* sizeof(cf_thread_pool_options), set by cf_thread_pool_options_init */
    size_t max_workers;               /* 0: min(32, usable CPUs + 4); more than 65536 is invalid */
    const char *thread_name_prefix;   /* NULL: "cf<k>"; threads are named <prefix>_<i>, cut to 15 bytes */
    cf_task_fn initializer;           /* NULL: none; run once in each new worker thread; failing breaks the pool */
    const void *initarg;
    size_t initarg_len;
    void *initializer_data;
    /* Added after 0.1.0: 1 lets cf_future_cancel cancel a running task: its future ends CANCELLED at once and the
     * task sees cf_task_cancel_requested; the thread cannot be stopped, so the task runs on and its late result
     * is discarded. Shutdown with cancel_futures then cancels running tasks too. 0 (default): as CPython. */
    int cancel_running;
} cf_thread_pool_options;

typedef enum cf_start_method {
    CF_START_DEFAULT = 0,            /* fork on Linux (see the README) */
    CF_START_FORK = 1,
    CF_START_FORKSERVER = 2,         /* workers forked by a single-threaded server process */
    CF_START_SPAWN = 3,              /* re-executes the program (or worker_program); see cf_process_worker_entry */
    CF_START_METHOD_MAX_ENUM = 0x7FFFFFFF
} cf_start_method;

typedef enum cf_worker_death {
    CF_WORKER_DEATH_BREAK = 0,       /* as CPython: the pool breaks, every pending future fails BROKEN_PROCESS_POOL */
    CF_WORKER_DEATH_REPLACE = 1,     /* only the task it was running fails (CF_E_WORKER_DIED); a new worker takes
                                        its place, the tasks queued behind it run elsewhere, the pool goes on */
    CF_WORKER_DEATH_MAX_ENUM = 0x7FFFFFFF
} cf_worker_death;

typedef struct cf_process_pool_options {
    size_t struct_size;               /* sizeof(cf_process_pool_options), set by cf_process_pool_options_init */
    size_t max_workers;               /* 0: CPUs in this process's affinity mask; more than 4096 is invalid */
    cf_start_method start_method;
    size_t max_tasks_per_child;       /* 0: unlimited; then the worker is replaced */
    const char *initializer;          /* registered task name run first in every worker, or NULL */
    const void *initarg;
    size_t initarg_len;
    size_t shared_memory_bytes;       /* 0: 256 MiB; the arena for arguments (and each worker's results) */
    const char *worker_program;       /* CF_START_SPAWN: NULL re-executes this program */
    /* Added after 0.1.0: seconds a new worker has to reach its worker loop (spawn: cf_process_worker_entry()); one that
     * does not breaks the pool (CF_E_BROKEN_PROCESS_POOL). 0 or less: 60. */
    double worker_start_timeout;
    /* Added after 0.1.0: 1 lets cf_future_cancel cancel a running task by killing its worker (a new one takes the
     * slot); shutdown with cancel_futures then cancels running tasks too. 0 (default): as CPython, a running
     * task is only asked to stop (cf_task_cancel_requested). */
    int cancel_running;
    /* What a worker that dies (crashes, exits, is killed from outside) does to the pool: see cf_worker_death. */
    cf_worker_death on_worker_death;
    /* CF_WORKER_DEATH_REPLACE: more than max_restarts deaths within restart_period seconds break the pool
     * (restart intensity, as in Erlang/OTP supervisors). 0: 10 deaths; 0 or less seconds: 60. Workers killed by
     * the pool itself (time limits, cancel_running, max_tasks_per_child) do not count. */
    size_t max_restarts;
    double restart_period;
} cf_process_pool_options;

/* The size of each options struct as first published: the smallest struct_size the library accepts for it. A
 * program built against these headers may set struct_size to any size from this one to sizeof(the struct). */
#define CF_THREAD_POOL_OPTIONS_V1_SIZE (offsetof(cf_thread_pool_options, initializer_data) + sizeof(void *))
#define CF_PROCESS_POOL_OPTIONS_V1_SIZE (offsetof(cf_process_pool_options, worker_program) + sizeof(const char *))

CF_API void cf_thread_pool_options_init(cf_thread_pool_options *o);
CF_API void cf_process_pool_options_init(cf_process_pool_options *o);
/* Tasks must be registered (cf_task_register / CF_TASK); arguments and results travel in shared memory. */
CF_API int cf_process_pool_new(const cf_process_pool_options *o, cf_executor **out);
/* Call at the top of main() (after explicit registrations) in programs whose pools spawn workers: inside a
 * spawned worker it serves tasks and ends the process; anywhere else it returns CF_OK at once. */
CF_API int cf_process_worker_entry(void);
/* o NULL: defaults. The options and what they point to are copied. */
CF_API int cf_thread_pool_new(const cf_thread_pool_options *o, cf_executor **out);

/* Runs fn(ctx, arg, arg_len, user_data) on the executor; the argument is copied before this returns. */
CF_API int cf_submit(cf_executor *ex, cf_task_fn fn, void *user_data, const void *arg, size_t arg_len,
                     cf_future **out);
/* Runs the task registered under `task`. */
CF_API int cf_submit_named(cf_executor *ex, const char *task, const void *arg, size_t arg_len, cf_future **out);
/* Per-task options of cf_submit_ex / cf_submit_named_ex (added after 0.1.0). */
typedef struct cf_submit_options {
    size_t struct_size;               /* sizeof(cf_submit_options), set by cf_submit_options_init */
    /* Seconds the task may run, counted from when it starts running (not from submit); negative or +Inf: no
     * limit; NaN is invalid. Past it, a process pool kills the worker (a new one takes its place) and the future
     * fails with CF_E_TIME_LIMIT; a thread pool fails the future at the limit, raises the task's
     * cf_task_cancel_requested and discards its late result (a thread cannot be killed). */
    double time_limit;
    /* Added after 0.1.0. Called once with the task's user_data when the task has run or will never run (it was
     * cancelled, the pool shut down or broke, or the submit failed); NULL: nothing to release. A process pool's
     * task runs its registered function's own user_data: there it is called once the future is done. */
    void (*release_user_data)(void *user_data);
} cf_submit_options;

#define CF_SUBMIT_OPTIONS_V1_SIZE (offsetof(cf_submit_options, time_limit) + sizeof(double))

CF_API void cf_submit_options_init(cf_submit_options *o);
/* cf_submit / cf_submit_named with options; o NULL: defaults. */
CF_API int cf_submit_ex(cf_executor *ex, cf_task_fn fn, void *user_data, const void *arg, size_t arg_len,
                        const cf_submit_options *o, cf_future **out);
CF_API int cf_submit_named_ex(cf_executor *ex, const char *task, const void *arg, size_t arg_len,
                              const cf_submit_options *o, cf_future **out);

/* Idempotent. wait: until all tasks have finished; cancel_futures: cancel those not started. */
CF_API int cf_executor_shutdown(cf_executor *ex, int wait, int cancel_futures);
/* Process pools: stop the workers with SIGTERM / SIGKILL. On a thread pool: CF_E_INVALID_ARGUMENT. */
CF_API int cf_executor_terminate_workers(cf_executor *ex);
CF_API int cf_executor_kill_workers(cf_executor *ex);
/* Shuts down (waiting) and frees; NULL is a no-op. */
CF_API void cf_executor_free(cf_executor *ex);

/* A snapshot of an executor's counters (added after 0.1.0). Each is read on its own, so a snapshot taken under
 * load may be off by the tasks that moved meanwhile; once every future is done, completed + failed + cancelled
 * equals the number of tasks submitted. */
typedef struct cf_executor_stats {
    size_t struct_size;               /* set by the caller: sizeof(cf_executor_stats) */
    uint64_t workers;                 /* threads or worker processes alive */
    uint64_t idle_workers;            /* of those, waiting for work */
    uint64_t queued;                  /* submitted, not running yet */
    uint64_t running;
    uint64_t completed;               /* finished with a result */
    uint64_t failed;                  /* finished with an exception (a task's, a time limit, a dead worker, ...) */
    uint64_t cancelled;
    uint64_t worker_deaths;           /* workers that died unasked (crash, exit, a signal from outside) */
    uint64_t workers_replaced;        /* new workers started in place of dead, killed or retired ones */
    uint64_t max_workers;             /* added after 0.1.0: the most workers the executor runs at once */
} cf_executor_stats;

#define CF_EXECUTOR_STATS_V1_SIZE (offsetof(cf_executor_stats, workers_replaced) + sizeof(uint64_t))

/* Fills *out up to out->struct_size (at least CF_EXECUTOR_STATS_V1_SIZE). */
CF_API int cf_executor_stats_get(cf_executor *ex, cf_executor_stats *out);

/* ------------------------------------------------------------------------------------------------------------ */
/* map                                                                                                            */

typedef struct cf_map_iter cf_map_iter;

typedef struct cf_map_options {
    size_t struct_size;    /* sizeof(cf_map_options), set by cf_map_options_init */
    double timeout;        /* CF_FOREVER; measured from the cf_map call */
    size_t chunksize;      /* 1; 0 is invalid */
    size_t buffersize;     /* 0: submit everything at once; else at most this many chunks in flight */
    int unordered;         /* 0: results in input order; 1: in completion order */
} cf_map_options;

/* Gives the next argument: CF_OK with *next filled (valid until the next call), CF_DONE at the end. */
typedef int (*cf_arg_source)(void *state, cf_slice *next);

#define CF_MAP_OPTIONS_V1_SIZE (offsetof(cf_map_options, unordered) + sizeof(int))

CF_API void cf_map_options_init(cf_map_options *o);
/* args (and the bytes they point to) must stay valid until cf_map_free. */
CF_API int cf_map(cf_executor *ex, cf_task_fn fn, void *user_data, const cf_slice *args, size_t n_args,
                  const cf_map_options *o, cf_map_iter **out);
CF_API int cf_map_source(cf_executor *ex, cf_task_fn fn, void *user_data, cf_arg_source source, void *state,
                         const cf_map_options *o, cf_map_iter **out);
/* The same over the task registered under `task` (cf_task_register / CF_TASK), as cf_submit_named is to cf_submit:
 * for process pools whose program holds the task only by name (a plugin library, a binding). The name is looked
 * up in this process: CF_E_UNKNOWN_TASK when nothing is registered under it. */
CF_API int cf_map_named(cf_executor *ex, const char *task, const cf_slice *args, size_t n_args,
                        const cf_map_options *o, cf_map_iter **out);
CF_API int cf_map_named_source(cf_executor *ex, const char *task, cf_arg_source source, void *state,
                               const cf_map_options *o, cf_map_iter **out);
/* CF_OK with the next result (valid until the next call), CF_DONE, or the failure's status (once). */
CF_API int cf_map_next(cf_map_iter *it, cf_slice *result);
/* Describes the failure cf_map_next last returned; its strings live until the next call on the iterator. */
CF_API int cf_map_error(const cf_map_iter *it, cf_error *out);
/* Cancels what has not started; NULL is a no-op. */
CF_API void cf_map_free(cf_map_iter *it);

/* ------------------------------------------------------------------------------------------------------------ */
/* Logging (added after 0.1.0)                                                                                    */

/* Levels as Python's logging module numbers them. */
typedef enum cf_log_level {
    CF_LOG_DEBUG = 10,
    CF_LOG_INFO = 20,
    CF_LOG_WARNING = 30,
    CF_LOG_ERROR = 40,
    CF_LOG_LEVEL_MAX_ENUM = 0x7FFFFFFF
} cf_log_level;

/* Receives every message the library would otherwise write to stderr, one line without its newline. It may be
 * called on any thread (a pool's supervisor, a worker thread) and in a forked worker process; it must not call
 * back into the library's executors. */
typedef void (*cf_log_fn)(int level, const char *message, void *user_data);
/* Process-wide; NULL restores the default: stderr, warnings and errors only. A worker started with the spawn method runs a new program
 * image, so only a handler that program sets (before cf_process_worker_entry) reaches it. */
CF_API void cf_set_log_handler(cf_log_fn fn, void *user_data);

/* ------------------------------------------------------------------------------------------------------------ */
/* Objects: results and exceptions that stay values of the caller's language (added after 0.1.0)               */

/* What the library needs to know of a value it holds for a language binding (a C++ object, a Python object, a
 * Rust box) without looking into it. Objects stay in the process that made them: a process pool's tasks return
 * bytes. The descriptor must outlive every object of its type (make it static). */
typedef struct cf_object_type {
    size_t struct_size;                     /* sizeof(cf_object_type) */
    const char *name;                       /* what the object is; a reader asks for it by this name (strcmp) */
    void (*destroy)(void *object);          /* called once, when the library lets go of the object; may be NULL */
    cf_slice (*bytes)(const void *object);  /* what cf_future_result shows C readers; NULL: no bytes (length 0) */
} cf_object_type;

/* Every function below that is handed an object owns it from then on, whatever it returns: when the call fails
 * (a done future, a bad handle) the object is destroyed at once. Only a NULL type leaves it with the caller. */

/* Finishes the future with object as its result (CF_E_INVALID_STATE when already done or cancelled). */
CF_API int cf_future_set_result_object(cf_future *f, void *object, const cf_object_type *type);
/* Fails the future with CF_E_TASK_FAILED as cf_future_set_exception does (type and message, copied; type is
 * required), and keeps object with the failure (e.g. the language's exception itself). */
CF_API int cf_future_set_exception_object(cf_future *f, void *object, const cf_object_type *obj_type,
                                          const char *type, const char *message);
/* Waits as cf_future_result does; on success *out is the result object if it is of the type named type_name,
 * else NULL (the result is bytes, or another type's object). Valid as long as the future. */
CF_API int cf_future_result_object(cf_future *f, double timeout, const char *type_name, void **out);
/* Waits as cf_future_exception does; *out is the object kept with the failure if it is of the type named
 * type_name, else NULL (no failure, or a failure without such an object). Valid as long as the future. */
CF_API int cf_future_exception_object(cf_future *f, double timeout, const char *type_name, void **out);

/* From a running task of a thread pool: object becomes the task's result (replacing any earlier one). A task of a
 * process pool runs in another process, whose objects cannot come back: CF_E_INVALID_STATE there. */
CF_API int cf_task_return_object(cf_task_ctx *ctx, void *object, const cf_object_type *type);
/* From a running task of a thread pool: fails it as cf_task_raise does, keeping object with the failure.
 * Returns CF_E_TASK_FAILED, like cf_task_raise; CF_E_INVALID_STATE in a process pool's task. */
CF_API int cf_task_raise_object(cf_task_ctx *ctx, void *object, const cf_object_type *obj_type, const char *type,
                                const char *message);
/* The context of the task running on this thread (the innermost, when a waiting task runs others), or NULL. */
CF_API cf_task_ctx *cf_task_current(void);

/* cf_future_add_done_callback, and release(user_data) once the callback has run or can no longer run (the future
 * was freed unfinished, or the call failed). release may be NULL. */
CF_API int cf_future_add_done_callback_ex(cf_future *f, cf_done_fn fn, void *user_data, void (*release)(void *));

/* Fails the future with any failing status (negative: CF_E_BROKEN_PROCESS_POOL, CF_E_TIME_LIMIT, ...), as an
 * executor outside the library reports why a task ended; type is required, message and detail may be NULL; all
 * are copied. CF_E_INVALID_ARGUMENT for a status that is no failure; CF_E_INVALID_STATE when already done. */
CF_API int cf_future_set_failure(cf_future *f, int status, const char *type, const char *message,
                                 const char *detail);
/* 1 when the future failed with an exception raised in another process (a process pool's task), else 0. */
CF_API int cf_future_failed_remotely(const cf_future *f);
/* The pids of a process pool's live workers: the first min(n, capacity) into pids (which may be NULL when
 * capacity is 0), their number into *n. CF_E_INVALID_ARGUMENT for an executor that is no process pool. */
CF_API int cf_process_pool_worker_pids(cf_executor *ex, int *pids, size_t capacity, size_t *n);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CFUTURES_CFUTURES_H */
