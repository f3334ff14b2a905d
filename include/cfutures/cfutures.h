/* SPDX-License-Identifier: MIT */
/**
 * @file
 * libcfutures: Python's concurrent.futures as a C library.
 *
 * This header is the stable C ABI. It is plain C99 and includes nothing of C++.
 *
 * ABI policy: within one major version (the SONAME, `libcfutures.so.<major>`) the ABI only grows. Functions, enum
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

/** The major version of these headers; the SONAME's number (libcfutures.so.0). */
#define CF_VERSION_MAJOR 0
/** The minor version of these headers: grows with each release that adds to the ABI. */
#define CF_VERSION_MINOR 1
/** The patch version of these headers. */
#define CF_VERSION_PATCH 0
/** The version of these headers as one number, (major << 16) | (minor << 8) | patch, as cf_version() gives it. */
#define CF_VERSION_NUMBER ((CF_VERSION_MAJOR << 16) | (CF_VERSION_MINOR << 8) | CF_VERSION_PATCH)
/** True when the headers in use are at least major.minor.patch (a constant expression, usable in `#if`). */
#define CF_VERSION_AT_LEAST(major, minor, patch) \
    (CF_VERSION_NUMBER >= (((major) << 16) | ((minor) << 8) | (patch)))

/**
 * The version of the library actually loaded, which may be newer than the headers.
 *
 * @return The loaded library's version in the form of CF_VERSION_NUMBER: (major << 16) | (minor << 8) | patch.
 */
CF_API unsigned cf_version(void);
/**
 * The version of the library actually loaded, as text.
 *
 * @return "major.minor.patch" ("0.1.0"): a static string, never NULL, not to be freed.
 */
CF_API const char *cf_version_string(void);

/* ------------------------------------------------------------------------------------------------------------ */
/* Status codes                                                                                                   */

/**
 * What a function returns: CF_OK, CF_DONE at an iterator's end, or a negative failure.
 *
 * The list in cf_status_map.h (CF_STATUS_MAP) is the single source of these codes: their values, their names,
 * their texts and the C++ and Python exceptions that stand for them. The enumerators are written out here so that
 * each can carry its documentation; the build checks each of them against that list (same name, same value), so
 * the two cannot drift apart. The functions return int: compare the result with these values.
 */
typedef enum cf_status {
    CF_OK = 0,                       /**< success */
    CF_DONE = 1,                     /**< an iterator is exhausted (cf_as_completed_next, cf_map_next) */
    CF_E_INVALID_ARGUMENT = -1,      /**< an argument is NULL, invalid or no valid handle (ValueError / TypeError) */
    CF_E_NO_MEMORY = -2,             /**< out of memory (MemoryError) */
    CF_E_TIMEOUT = -3,               /**< the timeout ran out before the wait's condition held (TimeoutError) */
    CF_E_CANCELLED = -4,             /**< the future was cancelled (CancelledError) */
    CF_E_SHUTDOWN = -5,              /**< the executor is shut down: it takes no new tasks */
    CF_E_BROKEN_THREAD_POOL = -6,    /**< the thread pool is broken (a thread's initializer failed) */
    CF_E_BROKEN_PROCESS_POOL = -7,   /**< the process pool is broken (a worker died, or did not start) */
    CF_E_INVALID_STATE = -8,         /**< the future is in the wrong state for this operation (InvalidStateError) */
    CF_E_TASK_FAILED = -9,           /**< the task failed: cf_future_exception tells what it raised */
    CF_E_UNKNOWN_TASK = -10,         /**< nothing is registered under the name or for the function (cf_task_register) */
    CF_E_DEADLOCK = -11,             /**< a wait that could never finish: see "Waits that cannot end" in the README */
    CF_E_SYSTEM = -12,               /**< an operating-system call failed; cf_last_error has its errno text */
    CF_E_TOO_LARGE = -13,            /**< a payload larger than the pool can carry (raise shared_memory_bytes) */
    CF_E_TIME_LIMIT = -14,           /**< the task ran past its time limit (cf_submit_options.time_limit) */
    CF_E_WORKER_DIED = -15,          /**< the task's worker died and was replaced (CF_WORKER_DEATH_REPLACE) */
    CF_STATUS_MAX_ENUM = 0x7FFFFFFF  /**< no status: keeps the enum 32 bits wide */
} cf_status;

/**
 * The name of a status code.
 *
 * @param status Any int; it need not be a status.
 * @return "CF_E_TIMEOUT" for CF_E_TIMEOUT; "CF_UNKNOWN_STATUS" for a value that is no status. A static string,
 *         never NULL.
 */
CF_API const char *cf_status_name(int status);
/**
 * A one-line description of a status.
 *
 * @param status Any int; it need not be a status.
 * @return The status's text from cf_status_map.h ("the wait timed out"); "unknown status code" for a value that is
 *         no status. A static string, never NULL.
 */
CF_API const char *cf_strerror(int status);
/**
 * The detail of the last failing call on this thread.
 *
 * Every call that returns a negative status (or NULL where it returns a pointer) sets this text; a call that
 * succeeds leaves it as it was.
 *
 * @return The text ("cf_future_result: future is NULL"); "" when no call on this thread has failed. Never NULL.
 *         It belongs to the thread and stays valid until the next failing call on this thread.
 */
CF_API const char *cf_last_error(void);

/* ------------------------------------------------------------------------------------------------------------ */
/* Values and timeouts                                                                                            */

/** A byte string. A result slice stays valid as long as the future that owns it. */
typedef struct cf_slice {
    const void *data;                /**< the first byte; may be NULL when len is 0 */
    size_t len;                      /**< the length in bytes */
} cf_slice;

/** Wait without limit: a timeout for any function that takes one. */
#define CF_FOREVER (-1.0)

/* ------------------------------------------------------------------------------------------------------------ */
/* Futures                                                                                                        */

/**
 * A future: the eventual outcome of a task (a result, a failure, or its cancellation), reference counted.
 *
 * cf_submit*, cf_future_new and cf_as_completed_next hand out futures; each reference the caller holds is given
 * back with cf_future_release.
 */
typedef struct cf_future cf_future;

/** The state of a future, as cf_future_get_state reports it. */
typedef enum cf_future_state {
    CF_FUTURE_INVALID = -1,          /**< what cf_future_get_state returns for an invalid handle */
    CF_PENDING = 0,                  /**< not started yet: cf_future_cancel cancels it */
    CF_RUNNING = 1,                  /**< its task is running */
    CF_CANCELLED = 2,                /**< cancelled before it finished (done) */
    CF_FINISHED = 3,                 /**< finished with a result or a failure (done) */
    CF_FUTURE_STATE_MAX_ENUM = 0x7FFFFFFF  /**< no state: keeps the enum 32 bits wide */
} cf_future_state;

/** Why a future failed. The strings are owned by the future and live as long as it does. */
typedef struct cf_error {
    int status;                      /**< CF_OK: no exception; else CF_E_TASK_FAILED, CF_E_BROKEN_*, ... */
    const char *type;                /**< "ZeroDivisionError", "std::out_of_range", "SIGSEGV"; NULL with CF_OK */
    const char *message;             /**< what the failure says (may be ""); NULL with CF_OK */
    const char *detail;              /**< where it happened: task name, worker pid, exit code, ...; NULL with CF_OK */
} cf_error;

/**
 * A done-callback (cf_future_add_done_callback). Called once the future is done (finished or cancelled), on the
 * thread that completed it, or at once on the caller's thread when the future is already done.
 *
 * @param f The future, borrowed for the call: cf_future_retain it to keep it beyond.
 * @param user_data What was passed to cf_future_add_done_callback.
 */
typedef void (*cf_done_fn)(cf_future *f, void *user_data);

/**
 * A new pending future that the caller completes with cf_future_set_*; release it with cf_future_release.
 *
 * @param[out] out Receives the future, with one reference that belongs to the caller.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when out is NULL; CF_E_NO_MEMORY.
 */
CF_API int cf_future_new(cf_future **out);
/**
 * Adds a reference to a future: each reference is given back with its own cf_future_release.
 *
 * @param f The future; NULL or an invalid handle is ignored.
 */
CF_API void cf_future_retain(cf_future *f);
/**
 * Drops one reference; NULL is a no-op. Releasing a future does not cancel its task.
 *
 * With the last reference the future is freed, and with it the result slices and error strings it handed out.
 *
 * @param f The future; NULL or an invalid handle is ignored.
 */
CF_API void cf_future_release(cf_future *f);

/**
 * The state of a future now (it does not wait).
 *
 * @param f The future.
 * @return CF_PENDING, CF_RUNNING, CF_CANCELLED or CF_FINISHED; CF_FUTURE_INVALID when f is NULL or no valid handle.
 */
CF_API cf_future_state cf_future_get_state(const cf_future *f);
/**
 * Whether a future is done: finished or cancelled.
 *
 * @param f The future.
 * @return 1 when done; 0 when pending or running, and for NULL or an invalid handle.
 */
CF_API int cf_future_done(const cf_future *f);
/**
 * Whether a future's task is running.
 *
 * @param f The future.
 * @return 1 when running; 0 otherwise, and for NULL or an invalid handle.
 */
CF_API int cf_future_running(const cf_future *f);
/**
 * Whether a future was cancelled.
 *
 * @param f The future.
 * @return 1 when cancelled; 0 otherwise, and for NULL or an invalid handle.
 */
CF_API int cf_future_cancelled(const cf_future *f);
/**
 * Cancels a future that has not started. A running task is asked to stop (cf_task_cancel_requested) but keeps
 * running, unless its pool was made with cancel_running (then the future is cancelled as well).
 *
 * The callbacks of a future this call cancels run on the calling thread before it returns.
 *
 * @param f The future.
 * @return 1 when the future is cancelled (now or before); 0 when it is running or finished;
 *         CF_E_INVALID_ARGUMENT when f is NULL or no valid handle.
 */
CF_API int cf_future_cancel(cf_future *f);

/**
 * Waits for a future and gives its result.
 *
 * @param f The future.
 * @param timeout Seconds to wait (negative or +Inf: no limit; 0: do not wait; NaN is invalid).
 * @param[out] out Receives the result bytes. They belong to the future and stay valid as long as it does.
 * @return CF_OK with the result; CF_E_TIMEOUT when the future is not done within the timeout; CF_E_CANCELLED;
 *         the failure's status (CF_E_TASK_FAILED, CF_E_BROKEN_THREAD_POOL, CF_E_BROKEN_PROCESS_POOL,
 *         CF_E_TIME_LIMIT, CF_E_WORKER_DIED, CF_E_TOO_LARGE, ...) with "type: message (detail)" in cf_last_error
 *         (cf_future_exception gives the parts); CF_E_INVALID_ARGUMENT when f is no valid handle, out is NULL or
 *         timeout is NaN; CF_E_DEADLOCK when called without a limit inside a thread-pool task whose wait could
 *         never finish.
 */
CF_API int cf_future_result(cf_future *f, double timeout, cf_slice *out);
/**
 * Waits for a future and describes its failure.
 *
 * @param f The future.
 * @param timeout Seconds to wait (negative or +Inf: no limit; 0: do not wait; NaN is invalid).
 * @param[out] out Receives out->status CF_OK (strings NULL) on success, or the failure described; its strings
 *                 belong to the future and stay valid as long as it does.
 * @return CF_OK once the future finished, whether it succeeded or failed; CF_E_TIMEOUT; CF_E_CANCELLED;
 *         CF_E_INVALID_ARGUMENT when f is no valid handle, out is NULL or timeout is NaN; CF_E_DEADLOCK as for
 *         cf_future_result.
 */
CF_API int cf_future_exception(cf_future *f, double timeout, cf_error *out);
/**
 * Adds a callback that runs once the future is done. Callbacks run in the order added; one added to a future
 * that is done already runs at once, on the calling thread.
 *
 * @param f The future.
 * @param fn The callback (see cf_done_fn).
 * @param user_data Passed to fn as is; it must stay valid until fn has run.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when f is no valid handle or fn is NULL; CF_E_NO_MEMORY.
 */
CF_API int cf_future_add_done_callback(cf_future *f, cf_done_fn fn, void *user_data);

/* For executors and tests that complete futures themselves. */
/**
 * Marks a pending future as running, as an executor does before it runs the task; for executors and tests that
 * complete futures themselves.
 *
 * @param f The future.
 * @return 1: now running; 0: it was cancelled (do not run the task); CF_E_INVALID_STATE: it is running or done
 *         already; CF_E_INVALID_ARGUMENT when f is no valid handle.
 */
CF_API int cf_future_set_running_or_notify_cancel(cf_future *f);
/**
 * Finishes a future with a result. Its waiters wake, and its callbacks run on the calling thread.
 *
 * @param f The future.
 * @param data The result bytes; they are copied. May be NULL when len is 0.
 * @param len Their length.
 * @return CF_OK; CF_E_INVALID_STATE when already done or cancelled (the first value is kept);
 *         CF_E_INVALID_ARGUMENT when f is no valid handle, or data is NULL with a non-zero len; CF_E_NO_MEMORY.
 */
CF_API int cf_future_set_result(cf_future *f, const void *data, size_t len);
/**
 * Fails a future with CF_E_TASK_FAILED. Its waiters wake, and its callbacks run on the calling thread.
 *
 * @param f The future.
 * @param type The failure's type ("ValueError"); required. Copied.
 * @param message Its message, or NULL for none. Copied.
 * @return CF_OK; CF_E_INVALID_STATE when already done or cancelled (the first outcome is kept);
 *         CF_E_INVALID_ARGUMENT when f is no valid handle or type is NULL; CF_E_NO_MEMORY.
 */
CF_API int cf_future_set_exception(cf_future *f, const char *type, const char *message);

/* ------------------------------------------------------------------------------------------------------------ */
/* wait and as_completed                                                                                          */

/** When cf_wait returns, as the return_when of concurrent.futures.wait. */
typedef enum cf_return_when {
    CF_ALL_COMPLETED = 0,            /**< when every future is done */
    CF_FIRST_COMPLETED = 1,          /**< when any future is done (at once for none) */
    CF_FIRST_EXCEPTION = 2,          /**< when any future finishes with a failure, or else when every one is done */
    CF_RETURN_WHEN_MAX_ENUM = 0x7FFFFFFF  /**< no value: keeps the enum 32 bits wide */
} cf_return_when;

/**
 * Waits until a condition holds over a set of futures, as concurrent.futures.wait does.
 *
 * @param fs The futures; the same future may appear more than once. May be NULL when n is 0.
 * @param n Their number.
 * @param timeout Seconds to wait (negative or +Inf: no limit; 0: do not wait; NaN is invalid).
 * @param when The condition.
 * @param[out] done NULL, or n flags: each position whose future is done is set to 1, the others to 0.
 * @param[out] n_done NULL, or receives the number of distinct futures that are done.
 * @return CF_OK when the condition holds; CF_E_TIMEOUT when the time ran out first ("N (of M) futures unfinished"
 *         in cf_last_error); CF_E_INVALID_ARGUMENT when fs is NULL with n > 0, an fs[i] is no valid handle,
 *         timeout is NaN or when is no cf_return_when; CF_E_DEADLOCK as for cf_future_result.
 */
CF_API int cf_wait(cf_future *const *fs, size_t n, double timeout, cf_return_when when, unsigned char *done,
                   size_t *n_done);

/** An iterator over futures as they complete (cf_as_completed); one thread at a time may use it. */
typedef struct cf_as_completed_iter cf_as_completed_iter;
/**
 * Starts iterating over futures as they complete. Yields each distinct future once: those already done first
 * (input order), then in completion order. The timeout counts from this call. The iterator holds a reference to
 * every future until it is freed.
 *
 * @param fs The futures; the same future may appear more than once. May be NULL when n is 0.
 * @param n Their number.
 * @param timeout Seconds for the whole iteration, from this call (negative or +Inf: no limit; NaN is invalid).
 * @param[out] out Receives the iterator; free it with cf_as_completed_free.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when out is NULL, fs is NULL with n > 0, an fs[i] is no valid handle or
 *         timeout is NaN; CF_E_NO_MEMORY.
 */
CF_API int cf_as_completed(cf_future *const *fs, size_t n, double timeout, cf_as_completed_iter **out);
/**
 * The next future to complete; waits for one when none is ready.
 *
 * @param it The iterator.
 * @param[out] out Receives the future, borrowed from the iterator: valid until cf_as_completed_free (retain it to
 *                 keep it longer).
 * @return CF_OK with *out; CF_DONE at the end; CF_E_TIMEOUT once the time has run out (from then on only the
 *         futures that were done when the iterator was made are still handed out); CF_E_INVALID_ARGUMENT when it
 *         is no valid iterator or out is NULL; CF_E_DEADLOCK as for cf_future_result.
 */
CF_API int cf_as_completed_next(cf_as_completed_iter *it, cf_future **out);
/**
 * Frees an iterator and the references it holds; NULL is a no-op.
 *
 * @param it The iterator; NULL or an invalid handle is ignored.
 */
CF_API void cf_as_completed_free(cf_as_completed_iter *it);

/* ------------------------------------------------------------------------------------------------------------ */
/* Tasks                                                                                                          */

/**
 * What a running task writes its result or failure to (cf_task_return, cf_task_raise, ...). The library owns it;
 * it is valid only during the task's call, on the thread running the task.
 */
typedef struct cf_task_ctx cf_task_ctx;

/**
 * A task. It reads its argument and returns CF_OK after setting its result (none set: the empty result), or fails
 * by calling cf_task_raise (then whatever it returns) or by returning non-zero (type "cf_task_error").
 *
 * @param ctx Where the task puts its result or failure; valid during the call.
 * @param arg The argument bytes, valid during the call (NULL or not when arg_len is 0).
 * @param arg_len Their length.
 * @param user_data What was given with the task (cf_submit, cf_task_register, ...).
 * @return CF_OK for success; anything else fails the task.
 */
typedef int (*cf_task_fn)(cf_task_ctx *ctx, const void *arg, size_t arg_len, void *user_data);

/**
 * Sets the task's result. Copies the result out; a second call replaces the first.
 *
 * @param ctx The task's context.
 * @param data The result bytes; may be NULL when len is 0.
 * @param len Their length.
 * @return CF_OK; CF_E_TOO_LARGE when the result does not fit (a process pool's shared memory; the task then fails
 *         with CF_E_TOO_LARGE unless it sets a result that fits or raises); CF_E_INVALID_ARGUMENT when ctx is no
 *         valid context, or data is NULL with a non-zero len; CF_E_NO_MEMORY.
 */
CF_API int cf_task_return(cf_task_ctx *ctx, const void *data, size_t len);
/**
 * A buffer of len bytes that becomes the task's result, to write in place (no copy); it replaces an earlier
 * result.
 *
 * @param ctx The task's context.
 * @param len The result's length.
 * @return The buffer, valid until the task returns or sets another result; NULL on failure, with cf_last_error
 *         saying why: the result does not fit (CF_E_TOO_LARGE: the task then fails with it unless it sets a result
 *         that fits or raises), or ctx is no valid context.
 */
CF_API void *cf_task_return_buffer(cf_task_ctx *ctx, size_t len);
/**
 * Fails the task with a type and a message; a second call replaces the first, and a failure raised outweighs any
 * result set.
 *
 * @param ctx The task's context.
 * @param type The failure's type ("ValueError"), copied; NULL: "cf_task_error".
 * @param message Its message, copied; NULL: none.
 * @return CF_E_TASK_FAILED, for the task to return; CF_E_INVALID_ARGUMENT when ctx is no valid context (nothing
 *         raised); CF_E_NO_MEMORY.
 */
CF_API int cf_task_raise(cf_task_ctx *ctx, const char *type, const char *message);
/**
 * Whether the running task was asked to stop: by cf_future_cancel, a shutdown with cancel_futures, or (thread
 * pools) its time limit. A task that sees it may stop early; nothing stops it otherwise.
 *
 * @param ctx The task's context.
 * @return 1 once cancellation was asked for; 0 otherwise, and for NULL or an invalid context.
 */
CF_API int cf_task_cancel_requested(const cf_task_ctx *ctx);

/* ------------------------------------------------------------------------------------------------------------ */
/* Registry: functions found by name (cf_submit_named) and, in process pools, in another process                 */

/**
 * Registers a task under a name, for cf_submit_named and cf_map_named, and so that a process pool's workers can
 * find it (cf_submit and cf_map on a process pool accept registered functions only). Registrations last for the
 * whole program. A worker started by fork sees what was registered before it was forked; one started by spawn or
 * the forkserver runs the program's own registrations (CF_TASK, or calls made before cf_process_worker_entry).
 *
 * @param name The name; copied. Not empty.
 * @param fn The task.
 * @param user_data Passed to fn on every call in this process.
 * @return CF_OK, also for the same name with the same function and user data again; CF_E_INVALID_ARGUMENT when
 *         name or fn is NULL, name is empty, or the name is registered already with another function or user
 *         data; CF_E_NO_MEMORY.
 */
CF_API int cf_task_register(const char *name, cf_task_fn fn, void *user_data);
/**
 * What CF_TASK calls while the program loads: a conflict is kept and reported later instead of returned
 * (cf_process_pool_new then fails with CF_E_INVALID_ARGUMENT and the conflict's text).
 *
 * @param name The name, as for cf_task_register.
 * @param fn The task; it gets user_data NULL.
 */
CF_API void cf_task_register_at_load(const char *name, cf_task_fn fn);

#define CF_TASK_CAT2_(a, b) a##b
#define CF_TASK_CAT_(a, b) CF_TASK_CAT2_(a, b)
/**
 * @def CF_TASK
 * `CF_TASK("name", fn);` registers fn (user_data NULL) when the program or library loads. Each use gets a
 * function name of its own (from `__COUNTER__`), so uses in a header and in the file including it never clash.
 * Use it at file scope; a conflict is reported as cf_task_register_at_load describes.
 */
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

/**
 * An executor: a thread pool (cf_thread_pool_new) or a process pool (cf_process_pool_new). Free it with
 * cf_executor_free once no other thread uses it.
 */
typedef struct cf_executor cf_executor;

/** How cf_thread_pool_new makes a thread pool. Fill it with cf_thread_pool_options_init first. */
typedef struct cf_thread_pool_options {
    size_t struct_size;               /**< sizeof(cf_thread_pool_options), set by cf_thread_pool_options_init */
    size_t max_workers;               /**< 0: min(32, usable CPUs + 4); more than 65536 is invalid */
    const char *thread_name_prefix;   /**< NULL: "cf" and a pool number; thread i is named prefix_i, cut to 15 bytes */
    cf_task_fn initializer;           /**< NULL: none; run once in each new worker thread; failing breaks the pool */
    const void *initarg;              /**< the initializer's argument, copied by cf_thread_pool_new; may be NULL */
    size_t initarg_len;               /**< its length; non-zero needs a non-NULL initarg */
    void *initializer_data;           /**< the user_data the initializer is called with */
    /** Added after 0.1.0: 1 lets cf_future_cancel cancel a running task: its future ends CANCELLED at once and the
     * task sees cf_task_cancel_requested; the thread cannot be stopped, so the task runs on and its late result
     * is discarded. Shutdown with cancel_futures then cancels running tasks too. 0 (default): as CPython. */
    int cancel_running;
} cf_thread_pool_options;

/** How a process pool starts its workers (cf_process_pool_options.start_method). */
typedef enum cf_start_method {
    CF_START_DEFAULT = 0,            /**< fork on Linux (see the README) */
    CF_START_FORK = 1,               /**< workers are forked from the calling process */
    CF_START_FORKSERVER = 2,         /**< workers forked by a single-threaded server process */
    CF_START_SPAWN = 3,              /**< re-executes the program (or worker_program); see cf_process_worker_entry */
    CF_START_METHOD_MAX_ENUM = 0x7FFFFFFF  /**< no method: keeps the enum 32 bits wide */
} cf_start_method;

/** What a worker that dies unasked does to its process pool (cf_process_pool_options.on_worker_death). */
typedef enum cf_worker_death {
    CF_WORKER_DEATH_BREAK = 0,       /**< as CPython: the pool breaks, every pending future fails BROKEN_PROCESS_POOL */
    CF_WORKER_DEATH_REPLACE = 1,     /**< only the task it was running fails (CF_E_WORKER_DIED); a new worker takes
                                        its place, the tasks queued behind it run elsewhere, the pool goes on */
    CF_WORKER_DEATH_MAX_ENUM = 0x7FFFFFFF  /**< no value: keeps the enum 32 bits wide */
} cf_worker_death;

/** How cf_process_pool_new makes a process pool. Fill it with cf_process_pool_options_init first. */
typedef struct cf_process_pool_options {
    size_t struct_size;               /**< sizeof(cf_process_pool_options), set by cf_process_pool_options_init */
    size_t max_workers;               /**< 0: CPUs in this process's affinity mask; more than 4096 is invalid */
    cf_start_method start_method;     /**< how workers start (CF_START_DEFAULT: fork) */
    size_t max_tasks_per_child;       /**< 0: unlimited; else a worker is replaced after that many tasks */
    const char *initializer;          /**< registered task name run first in every worker, or NULL */
    const void *initarg;              /**< the initializer's argument, copied by cf_process_pool_new; may be NULL */
    size_t initarg_len;               /**< its length; non-zero needs a non-NULL initarg */
    size_t shared_memory_bytes;       /**< 0: 256 MiB; the arena for arguments (and each worker's results) */
    const char *worker_program;       /**< CF_START_SPAWN: NULL re-executes this program */
    /** Added after 0.1.0: seconds a new worker has to reach its worker loop (spawn: cf_process_worker_entry()); one
     * that does not breaks the pool (CF_E_BROKEN_PROCESS_POOL). 0 or less: 60. */
    double worker_start_timeout;
    /** Added after 0.1.0: 1 lets cf_future_cancel cancel a running task by killing its worker (a new one takes the
     * slot); shutdown with cancel_futures then cancels running tasks too. 0 (default): as CPython, a running
     * task is only asked to stop (cf_task_cancel_requested). */
    int cancel_running;
    /** Added after 0.1.0: what a worker that dies (crashes, exits, is killed from outside) does to the pool: see
     * cf_worker_death. */
    cf_worker_death on_worker_death;
    /** Added after 0.1.0: with CF_WORKER_DEATH_REPLACE, more than max_restarts deaths within restart_period
     * seconds break the pool (restart intensity, as in Erlang/OTP supervisors). 0: 10 deaths. Workers killed by
     * the pool itself (time limits, cancel_running, max_tasks_per_child) do not count. */
    size_t max_restarts;
    /** Added after 0.1.0: the window of max_restarts, in seconds; 0 or less: 60. */
    double restart_period;
    /** Added after 0.1.0: CF_START_SPAWN: the arguments after the program's name (argv[1], argv[2], ...) that each
     * spawned worker is started with, a NULL-terminated array, copied by cf_process_pool_new. NULL: none. An
     * interpreter as worker_program gets here the script that calls cf_process_worker_entry. */
    const char *const *worker_args;
} cf_process_pool_options;

/**
 * The size of cf_thread_pool_options as first published (0.1.0): the smallest struct_size the library accepts
 * for it. A program built against these headers may set struct_size to any size from this one to
 * sizeof(cf_thread_pool_options).
 */
#define CF_THREAD_POOL_OPTIONS_V1_SIZE (offsetof(cf_thread_pool_options, initializer_data) + sizeof(void *))
/**
 * The size of cf_process_pool_options as first published (0.1.0): the smallest struct_size the library accepts
 * for it. A program built against these headers may set struct_size to any size from this one to
 * sizeof(cf_process_pool_options).
 */
#define CF_PROCESS_POOL_OPTIONS_V1_SIZE (offsetof(cf_process_pool_options, worker_program) + sizeof(const char *))

/**
 * Fills thread-pool options with the defaults (every field 0 or NULL) and sets struct_size.
 *
 * @param[out] o The options; NULL is a no-op.
 */
CF_API void cf_thread_pool_options_init(cf_thread_pool_options *o);
/**
 * Fills process-pool options with the defaults (every field 0 or NULL) and sets struct_size.
 *
 * @param[out] o The options; NULL is a no-op.
 */
CF_API void cf_process_pool_options_init(cf_process_pool_options *o);
/**
 * Makes a process pool. Tasks must be registered (cf_task_register / CF_TASK); arguments and results travel in
 * shared memory. With fork every worker starts before this returns; with the other methods the pool's supervisor
 * thread starts them.
 *
 * @param o The options, or NULL for the defaults. They and what they point to are copied.
 * @param[out] out Receives the executor (NULL on failure); free it with cf_executor_free.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when out is NULL, o->struct_size is below CF_PROCESS_POOL_OPTIONS_V1_SIZE,
 *         start_method or on_worker_death is no value of its enum, initarg is NULL with a length, max_workers is
 *         above 4096, restart_period is NaN, or a CF_TASK registration conflicted at load time;
 *         CF_E_UNKNOWN_TASK when the initializer is not registered (unless worker_program is set);
 *         CF_E_INVALID_STATE when called in a spawned worker that did not call cf_process_worker_entry;
 *         CF_E_TOO_LARGE when the initializer's argument does not fit the arena; CF_E_SYSTEM when the shared
 *         memory or an eventfd cannot be made, or (fork) no worker can be forked; CF_E_NO_MEMORY.
 */
CF_API int cf_process_pool_new(const cf_process_pool_options *o, cf_executor **out);
/**
 * Call at the top of main() (after explicit registrations) in programs whose pools spawn workers: inside a
 * spawned worker it serves tasks and ends the process; anywhere else it returns CF_OK at once.
 *
 * @return CF_OK outside a spawned worker; inside one it does not return.
 */
CF_API int cf_process_worker_entry(void);
/**
 * Makes a thread pool. Its threads start as tasks arrive, one at a time, while no idle one is left.
 *
 * @param o The options, or NULL for the defaults. They and what they point to are copied.
 * @param[out] out Receives the executor (NULL on failure); free it with cf_executor_free.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when out is NULL, o->struct_size is below CF_THREAD_POOL_OPTIONS_V1_SIZE,
 *         initarg is NULL with a length, or max_workers is above 65536; CF_E_NO_MEMORY.
 */
CF_API int cf_thread_pool_new(const cf_thread_pool_options *o, cf_executor **out);

/**
 * Runs fn(ctx, arg, arg_len, user_data) on the executor; the argument is copied before this returns. On a process
 * pool fn must be registered (cf_task_register / CF_TASK), and a full arena makes this wait for room.
 *
 * @param ex The executor.
 * @param fn The task.
 * @param user_data Passed to fn as is; it must stay valid until the task has run. A process pool runs fn's
 *                  registration with this user data (or fn's only registration).
 * @param arg The argument bytes; may be NULL when arg_len is 0.
 * @param arg_len Their length.
 * @param[out] out Receives the task's future (NULL on failure), a reference the caller releases with
 *                 cf_future_release.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when ex is no valid executor, fn or out is NULL, or arg is NULL with a
 *         length; CF_E_SHUTDOWN after cf_executor_shutdown; CF_E_BROKEN_THREAD_POOL or CF_E_BROKEN_PROCESS_POOL
 *         when the pool is broken; CF_E_UNKNOWN_TASK when a process pool's fn is not registered; CF_E_TOO_LARGE
 *         when the argument can never fit (this machine's memory, a process pool's arena); CF_E_INVALID_STATE in
 *         a forked child of the process that made the pool; CF_E_SYSTEM when no thread can be started;
 *         CF_E_NO_MEMORY.
 */
CF_API int cf_submit(cf_executor *ex, cf_task_fn fn, void *user_data, const void *arg, size_t arg_len,
                     cf_future **out);
/**
 * Runs the task registered under `task`.
 *
 * @param ex The executor.
 * @param task The registered name. It is looked up in this process, except by a process pool with a
 *             worker_program, whose worker reports an unknown name on the future (CF_E_UNKNOWN_TASK).
 * @param arg The argument bytes, copied before this returns; may be NULL when arg_len is 0.
 * @param arg_len Their length.
 * @param[out] out Receives the task's future (NULL on failure), a reference the caller releases.
 * @return As cf_submit; CF_E_INVALID_ARGUMENT when task is NULL; CF_E_UNKNOWN_TASK when nothing is registered
 *         under the name.
 */
CF_API int cf_submit_named(cf_executor *ex, const char *task, const void *arg, size_t arg_len, cf_future **out);
/** Per-task options of cf_submit_ex / cf_submit_named_ex (added after 0.1.0). Fill it with cf_submit_options_init. */
typedef struct cf_submit_options {
    size_t struct_size;               /**< sizeof(cf_submit_options), set by cf_submit_options_init */
    /** Seconds the task may run, counted from when it starts running (not from submit); negative or +Inf: no
     * limit; NaN is invalid. Past it, a process pool kills the worker (a new one takes its place) and the future
     * fails with CF_E_TIME_LIMIT; a thread pool fails the future at the limit, raises the task's
     * cf_task_cancel_requested and discards its late result (a thread cannot be killed). */
    double time_limit;
    /** Added after 0.1.0. Called once with the task's user_data when the task has run or will never run (it was
     * cancelled, the pool shut down or broke, or the submit failed); NULL: nothing to release. A process pool's
     * task runs its registered function's own user_data: there it is called once the future is done.
     * cf_submit_named_ex refuses it (CF_E_INVALID_ARGUMENT): a task submitted by name has no user_data. */
    void (*release_user_data)(void *user_data);
} cf_submit_options;

/** The size of cf_submit_options as first published: the smallest struct_size the library accepts for it. */
#define CF_SUBMIT_OPTIONS_V1_SIZE (offsetof(cf_submit_options, time_limit) + sizeof(double))

/**
 * Fills submit options with the defaults (no time limit: CF_FOREVER) and sets struct_size.
 *
 * @param[out] o The options; NULL is a no-op.
 */
CF_API void cf_submit_options_init(cf_submit_options *o);
/**
 * cf_submit with options.
 *
 * @param ex The executor.
 * @param fn The task.
 * @param user_data Passed to fn as is.
 * @param arg The argument bytes, copied before this returns; may be NULL when arg_len is 0.
 * @param arg_len Their length.
 * @param o The options, or NULL for the defaults.
 * @param[out] out Receives the task's future (NULL on failure), a reference the caller releases.
 * @return As cf_submit; CF_E_INVALID_ARGUMENT also when o->struct_size is below CF_SUBMIT_OPTIONS_V1_SIZE or
 *         time_limit is NaN.
 */
CF_API int cf_submit_ex(cf_executor *ex, cf_task_fn fn, void *user_data, const void *arg, size_t arg_len,
                        const cf_submit_options *o, cf_future **out);
/**
 * cf_submit_named with options.
 *
 * @param ex The executor.
 * @param task The registered name.
 * @param arg The argument bytes, copied before this returns; may be NULL when arg_len is 0.
 * @param arg_len Their length.
 * @param o The options, or NULL for the defaults.
 * @param[out] out Receives the task's future (NULL on failure), a reference the caller releases.
 * @return As cf_submit_named; CF_E_INVALID_ARGUMENT also when o->struct_size is below CF_SUBMIT_OPTIONS_V1_SIZE or
 *         time_limit is NaN.
 */
CF_API int cf_submit_named_ex(cf_executor *ex, const char *task, const void *arg, size_t arg_len,
                              const cf_submit_options *o, cf_future **out);
/**
 * cf_submit_named_ex with the argument given in parts that the task receives laid end to end, as one argument
 * (added after 0.1.0). A process pool copies each part straight into its shared memory, so that a caller whose
 * argument is made of separate buffers (a header and a large payload) need not join them into a copy first.
 *
 * @param ex The executor.
 * @param task The registered name.
 * @param parts The parts, in order, each copied before this returns; may be NULL when n_parts is 0. A part's data
 *              may be NULL when its len is 0.
 * @param n_parts Their number; 0 gives an empty argument.
 * @param o The options, or NULL for the defaults.
 * @param[out] out Receives the task's future (NULL on failure), a reference the caller releases.
 * @return As cf_submit_named_ex; CF_E_INVALID_ARGUMENT also when parts is NULL with a non-zero n_parts or a part
 *         has NULL data with a non-zero len; CF_E_TOO_LARGE when the parts' lengths add up past SIZE_MAX.
 */
CF_API int cf_submit_named_parts(cf_executor *ex, const char *task, const cf_slice *parts, size_t n_parts,
                                 const cf_submit_options *o, cf_future **out);

/**
 * Shuts an executor down: it takes no new tasks (CF_E_SHUTDOWN). Idempotent. In a forked child of the process
 * that made the pool it returns at once.
 *
 * @param ex The executor.
 * @param wait Non-zero: return once every task has finished and the workers are gone.
 * @param cancel_futures Non-zero: cancel the tasks not started (and, with cancel_running, the running ones).
 * @return CF_OK; CF_E_INVALID_ARGUMENT when ex is no valid executor; CF_E_SYSTEM when a thread cannot be joined.
 */
CF_API int cf_executor_shutdown(cf_executor *ex, int wait, int cancel_futures);
/**
 * Stops a process pool's workers at once with SIGTERM: tasks not started are cancelled, running ones fail with
 * CF_E_BROKEN_PROCESS_POOL, later submits fail with CF_E_SHUTDOWN.
 *
 * @param ex The executor.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when ex is no valid executor or a thread pool.
 */
CF_API int cf_executor_terminate_workers(cf_executor *ex);
/**
 * As cf_executor_terminate_workers, with SIGKILL.
 *
 * @param ex The executor.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when ex is no valid executor or a thread pool.
 */
CF_API int cf_executor_kill_workers(cf_executor *ex);
/**
 * Shuts down (waiting) and frees; NULL is a no-op. No other thread may use the executor meanwhile, and no one
 * after; the futures it handed out stay valid.
 *
 * @param ex The executor; NULL or an invalid handle is ignored.
 */
CF_API void cf_executor_free(cf_executor *ex);

/**
 * A snapshot of an executor's counters (added after 0.1.0). Each is read on its own, so a snapshot taken under
 * load may be off by the tasks that moved meanwhile; once every future is done, completed + failed + cancelled
 * equals the number of tasks submitted.
 */
typedef struct cf_executor_stats {
    size_t struct_size;               /**< set by the caller: sizeof(cf_executor_stats) */
    uint64_t workers;                 /**< threads or worker processes alive */
    uint64_t idle_workers;            /**< of those, waiting for work */
    uint64_t queued;                  /**< submitted, not running yet */
    uint64_t running;                 /**< running now */
    uint64_t completed;               /**< finished with a result */
    uint64_t failed;                  /**< finished with an exception (a task's, a time limit, a dead worker, ...) */
    uint64_t cancelled;               /**< cancelled */
    uint64_t worker_deaths;           /**< workers that died unasked (crash, exit, a signal from outside) */
    uint64_t workers_replaced;        /**< new workers started in place of dead, killed or retired ones */
    uint64_t max_workers;             /**< added after 0.1.0: the most workers the executor runs at once */
    uint64_t workers_started;         /**< added after 0.1.0: workers started since the executor was made */
} cf_executor_stats;

/** The size of cf_executor_stats as first published: the smallest struct_size cf_executor_stats_get accepts. */
#define CF_EXECUTOR_STATS_V1_SIZE (offsetof(cf_executor_stats, workers_replaced) + sizeof(uint64_t))

/**
 * Reads an executor's counters. Fills *out up to out->struct_size (at least CF_EXECUTOR_STATS_V1_SIZE).
 *
 * @param ex The executor.
 * @param[in,out] out The snapshot; its struct_size must be set first.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when ex is no valid executor, out is NULL or out->struct_size is below
 *         CF_EXECUTOR_STATS_V1_SIZE.
 */
CF_API int cf_executor_stats_get(cf_executor *ex, cf_executor_stats *out);

/* ------------------------------------------------------------------------------------------------------------ */
/* map                                                                                                            */

/**
 * The results of a cf_map* call, handed out one at a time by cf_map_next, as concurrent.futures' map does. One
 * thread at a time may use it; free it with cf_map_free.
 */
typedef struct cf_map_iter cf_map_iter;

/** How cf_map* runs. Fill it with cf_map_options_init first. */
typedef struct cf_map_options {
    size_t struct_size;    /**< sizeof(cf_map_options), set by cf_map_options_init */
    double timeout;        /**< CF_FOREVER; measured from the cf_map call */
    size_t chunksize;      /**< 1; items per task; 0 is invalid */
    size_t buffersize;     /**< 0: submit everything at once; else at most this many chunks in flight */
    int unordered;         /**< 0: results in input order; 1: in completion order */
} cf_map_options;

/**
 * Gives a map its arguments one at a time (cf_map_source, cf_map_named_source). It is called on the thread calling
 * cf_map_source (with buffersize 0, until the end) or cf_map_next (as chunks finish).
 *
 * @param state What was passed to cf_map_source.
 * @param[out] next Receives the next argument, valid until the next call.
 * @return CF_OK with *next filled; CF_DONE at the end. Any other value ends the map with CF_E_INVALID_ARGUMENT.
 */
typedef int (*cf_arg_source)(void *state, cf_slice *next);

/** The size of cf_map_options as first published: the smallest struct_size the library accepts for it. */
#define CF_MAP_OPTIONS_V1_SIZE (offsetof(cf_map_options, unordered) + sizeof(int))

/**
 * Fills map options with the defaults (timeout CF_FOREVER, chunksize 1, buffersize 0, in order) and sets
 * struct_size.
 *
 * @param[out] o The options; NULL is a no-op.
 */
CF_API void cf_map_options_init(cf_map_options *o);
/**
 * Runs fn over every argument, chunksize arguments per task, as concurrent.futures' map does. args (and the bytes
 * they point to) must stay valid until cf_map_free.
 *
 * @param ex The executor; a process pool needs fn registered (cf_task_register / CF_TASK).
 * @param fn The task.
 * @param user_data Passed to fn as is.
 * @param args The arguments; may be NULL when n_args is 0.
 * @param n_args Their number.
 * @param o The options, or NULL for the defaults.
 * @param[out] out Receives the iterator (NULL on failure); free it with cf_map_free.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when ex is no valid executor, fn or out is NULL, args is NULL with
 *         n_args > 0, an args[i] has NULL data and a length, o->struct_size is below CF_MAP_OPTIONS_V1_SIZE,
 *         chunksize is 0 or timeout is NaN; what submitting the first chunks returns (all of them with buffersize
 *         0), as cf_submit: CF_E_SHUTDOWN, CF_E_BROKEN_*, CF_E_UNKNOWN_TASK, CF_E_TOO_LARGE, ...; CF_E_NO_MEMORY.
 */
CF_API int cf_map(cf_executor *ex, cf_task_fn fn, void *user_data, const cf_slice *args, size_t n_args,
                  const cf_map_options *o, cf_map_iter **out);
/**
 * cf_map over the arguments a source gives.
 *
 * @param ex The executor; a process pool needs fn registered (cf_task_register / CF_TASK).
 * @param fn The task.
 * @param user_data Passed to fn as is.
 * @param source Gives the arguments (see cf_arg_source).
 * @param state Passed to source; it must stay valid until cf_map_free.
 * @param o The options, or NULL for the defaults.
 * @param[out] out Receives the iterator (NULL on failure); free it with cf_map_free.
 * @return As cf_map (CF_E_INVALID_ARGUMENT when source is NULL, or the source failed while the first chunks were
 *         read).
 */
CF_API int cf_map_source(cf_executor *ex, cf_task_fn fn, void *user_data, cf_arg_source source, void *state,
                         const cf_map_options *o, cf_map_iter **out);
/**
 * The same over the task registered under `task` (cf_task_register / CF_TASK), as cf_submit_named is to cf_submit:
 * for process pools whose program holds the task only by name (a plugin library, a binding). The name is looked
 * up in this process: CF_E_UNKNOWN_TASK when nothing is registered under it.
 *
 * @param ex The executor.
 * @param task The registered name.
 * @param args The arguments; they and their bytes must stay valid until cf_map_free. May be NULL when n_args is 0.
 * @param n_args Their number.
 * @param o The options, or NULL for the defaults.
 * @param[out] out Receives the iterator (NULL on failure); free it with cf_map_free.
 * @return As cf_map; CF_E_INVALID_ARGUMENT when task is NULL; CF_E_UNKNOWN_TASK.
 */
CF_API int cf_map_named(cf_executor *ex, const char *task, const cf_slice *args, size_t n_args,
                        const cf_map_options *o, cf_map_iter **out);
/**
 * cf_map_named over the arguments a source gives.
 *
 * @param ex The executor.
 * @param task The registered name, looked up in this process.
 * @param source Gives the arguments (see cf_arg_source).
 * @param state Passed to source; it must stay valid until cf_map_free.
 * @param o The options, or NULL for the defaults.
 * @param[out] out Receives the iterator (NULL on failure); free it with cf_map_free.
 * @return As cf_map_source; CF_E_INVALID_ARGUMENT when task is NULL; CF_E_UNKNOWN_TASK.
 */
CF_API int cf_map_named_source(cf_executor *ex, const char *task, cf_arg_source source, void *state,
                               const cf_map_options *o, cf_map_iter **out);
/**
 * The next result of a map, waiting for it as needed. The first failure ends the map: it is returned once, the
 * tasks not started are cancelled, and every later call returns CF_DONE.
 *
 * @param it The iterator.
 * @param[out] result Receives the next result, valid until the next call on the iterator.
 * @return CF_OK with the next result; CF_DONE at the end; or, once, the failure's status: a task's
 *         (CF_E_TASK_FAILED, CF_E_TIME_LIMIT, ...), CF_E_TIMEOUT when the map's timeout ran out, CF_E_CANCELLED
 *         when a chunk was cancelled, a later submit's (CF_E_SHUTDOWN, CF_E_BROKEN_*, ...), or
 *         CF_E_INVALID_ARGUMENT from a failing source (cf_map_error describes it). CF_E_INVALID_ARGUMENT also when
 *         it is no valid iterator or result is NULL; CF_E_DEADLOCK as for cf_future_result.
 */
CF_API int cf_map_next(cf_map_iter *it, cf_slice *result);
/**
 * Describes the failure cf_map_next last returned; its strings live until the next call on the iterator.
 *
 * @param it The iterator.
 * @param[out] out Receives the failure; out->status CF_OK (strings NULL) when there was none.
 * @return CF_OK; CF_E_INVALID_ARGUMENT when it is no valid iterator or out is NULL.
 */
CF_API int cf_map_error(const cf_map_iter *it, cf_error *out);
/**
 * Cancels what has not started and frees the iterator; NULL is a no-op. Tasks already running are not waited for.
 *
 * @param it The iterator; NULL or an invalid handle is ignored.
 */
CF_API void cf_map_free(cf_map_iter *it);

/* ------------------------------------------------------------------------------------------------------------ */
/* Logging (added after 0.1.0)                                                                                    */

/** Levels as Python's logging module numbers them. */
typedef enum cf_log_level {
    CF_LOG_DEBUG = 10,                /**< detail for debugging */
    CF_LOG_INFO = 20,                 /**< events worth knowing (a worker killed at a task's time limit) */
    CF_LOG_WARNING = 30,              /**< something unexpected that the library works around */
    CF_LOG_ERROR = 40,                /**< a failure the library cannot report through a return value */
    CF_LOG_LEVEL_MAX_ENUM = 0x7FFFFFFF  /**< no level: keeps the enum 32 bits wide */
} cf_log_level;

/**
 * Receives every message the library would otherwise write to stderr, one line without its newline. It may be
 * called on any thread (a pool's supervisor, a worker thread) and in a forked worker process; it must not call
 * back into the library's executors.
 *
 * @param level The message's cf_log_level.
 * @param message The text, valid during the call.
 * @param user_data What was passed to cf_set_log_handler.
 */
typedef void (*cf_log_fn)(int level, const char *message, void *user_data);
/**
 * Sets the log handler. Process-wide; NULL restores the default: stderr, warnings and errors only. A worker
 * started with the spawn method runs a new program image, so only a handler that program sets (before
 * cf_process_worker_entry) reaches it.
 *
 * @param fn The handler, or NULL.
 * @param user_data Passed to fn with every message; it must stay valid while fn is set.
 */
CF_API void cf_set_log_handler(cf_log_fn fn, void *user_data);

/* ------------------------------------------------------------------------------------------------------------ */
/* Objects: results and exceptions that stay values of the caller's language (added after 0.1.0)               */

/**
 * What the library needs to know of a value it holds for a language binding (a C++ object, a Python object, a
 * Rust box) without looking into it. Objects stay in the process that made them: a process pool's tasks return
 * bytes. The descriptor must outlive every object of its type (make it static).
 *
 * Every function that is handed an object owns it from then on, whatever it returns: when the call fails (a done
 * future, a bad handle) the object is destroyed at once. Only a NULL type leaves the object with the caller.
 */
typedef struct cf_object_type {
    size_t struct_size;                     /**< sizeof(cf_object_type) */
    const char *name;                       /**< what the object is; a reader asks for it by this name (strcmp) */
    void (*destroy)(void *object);          /**< called once, when the library lets go of the object; may be NULL */
    cf_slice (*bytes)(const void *object);  /**< what cf_future_result shows C readers; NULL: no bytes */
} cf_object_type;

/**
 * Finishes a future with an object as its result (added after 0.1.0). C readers (cf_future_result) see the
 * bytes type->bytes gives; cf_future_result_object gives the object itself.
 *
 * @param f The future.
 * @param object The result; the future owns it (see cf_object_type).
 * @param type Its type; must outlive the object.
 * @return CF_OK; CF_E_INVALID_STATE when the future is already done or cancelled; CF_E_INVALID_ARGUMENT for an
 *         invalid handle or type (a NULL type leaves the object with the caller); CF_E_NO_MEMORY.
 */
CF_API int cf_future_set_result_object(cf_future *f, void *object, const cf_object_type *type);
/**
 * Fails a future as cf_future_set_exception does (CF_E_TASK_FAILED, with type and message) and keeps an object
 * with the failure, e.g. the language's exception itself (added after 0.1.0).
 *
 * @param f The future.
 * @param object Kept with the failure; the future owns it.
 * @param obj_type The object's type.
 * @param type The failure's type name (copied); required.
 * @param message Its message (copied); may be NULL.
 * @param detail Where it happened (copied); may be NULL.
 * @return CF_OK; CF_E_INVALID_STATE when already done or cancelled; CF_E_INVALID_ARGUMENT.
 */
CF_API int cf_future_set_exception_object(cf_future *f, void *object, const cf_object_type *obj_type,
                                          const char *type, const char *message, const char *detail);
/**
 * Waits as cf_future_result does, and gives the result object if it is of the type named type_name (added after
 * 0.1.0).
 *
 * @param f The future.
 * @param timeout Seconds to wait (negative: no limit; NaN is invalid).
 * @param type_name The name of the cf_object_type wanted.
 * @param[out] out The object (valid as long as the future), or NULL when the result is bytes or another type's
 *             object.
 * @return CF_OK; CF_E_TIMEOUT; CF_E_CANCELLED; the failure's status; CF_E_INVALID_ARGUMENT.
 */
CF_API int cf_future_result_object(cf_future *f, double timeout, const char *type_name, void **out);
/**
 * Waits as cf_future_exception does, and gives the object kept with the failure if it is of the type named
 * type_name (added after 0.1.0).
 *
 * @param f The future.
 * @param timeout Seconds to wait (negative: no limit; NaN is invalid).
 * @param type_name The name of the cf_object_type wanted.
 * @param[out] out The object (valid as long as the future), or NULL: no failure, or none with such an object.
 * @return CF_OK; CF_E_TIMEOUT; CF_E_CANCELLED; CF_E_INVALID_ARGUMENT.
 */
CF_API int cf_future_exception_object(cf_future *f, double timeout, const char *type_name, void **out);

/**
 * From a running task of a thread pool: an object becomes the task's result, replacing any earlier one (added
 * after 0.1.0). A process pool's task runs in another process, whose objects cannot come back.
 *
 * @param ctx The task's context.
 * @param object The result; the library owns it.
 * @param type Its type.
 * @return CF_OK; CF_E_INVALID_STATE in a process pool's task; CF_E_INVALID_ARGUMENT.
 */
CF_API int cf_task_return_object(cf_task_ctx *ctx, void *object, const cf_object_type *type);
/**
 * From a running task of a thread pool: fails it as cf_task_raise does, keeping an object with the failure
 * (added after 0.1.0).
 *
 * @param ctx The task's context.
 * @param object Kept with the failure; the library owns it.
 * @param obj_type The object's type.
 * @param type The failure's type name; NULL gives "cf_task_error".
 * @param message Its message; may be NULL.
 * @param detail Where it happened; may be NULL.
 * @return CF_E_TASK_FAILED, as cf_task_raise, for the task to return; CF_E_INVALID_STATE in a process pool's
 *         task; CF_E_INVALID_ARGUMENT.
 */
CF_API int cf_task_raise_object(cf_task_ctx *ctx, void *object, const cf_object_type *obj_type, const char *type,
                                const char *message, const char *detail);
/**
 * The context of the task running on this thread: the innermost one, when a waiting task runs others (added after
 * 0.1.0).
 *
 * @return The context, or NULL when no task runs on this thread.
 */
CF_API cf_task_ctx *cf_task_current(void);

/**
 * cf_future_add_done_callback, and release(user_data) once the callback has run or can no longer run: the future
 * was freed unfinished, or this call failed (added after 0.1.0).
 *
 * @param f The future.
 * @param fn The callback.
 * @param user_data Passed to fn, then to release.
 * @param release Called once with user_data; may be NULL.
 * @return CF_OK; CF_E_INVALID_ARGUMENT for an invalid future or a NULL fn; CF_E_NO_MEMORY.
 */
CF_API int cf_future_add_done_callback_ex(cf_future *f, cf_done_fn fn, void *user_data, void (*release)(void *));

/**
 * Fails a future with any failing status, as an executor outside the library reports why a task ended (added
 * after 0.1.0).
 *
 * @param f The future.
 * @param status A negative status: CF_E_BROKEN_PROCESS_POOL, CF_E_TIME_LIMIT, ...
 * @param type The failure's type name (copied); required.
 * @param message Its message (copied); may be NULL.
 * @param detail Where it happened (copied); may be NULL.
 * @return CF_OK; CF_E_INVALID_ARGUMENT for a status that is no failure, a NULL type or an invalid future;
 *         CF_E_INVALID_STATE when already done or cancelled.
 */
CF_API int cf_future_set_failure(cf_future *f, int status, const char *type, const char *message,
                                 const char *detail);
/**
 * Whether a future failed with an exception raised in another process (a process pool's task; added after
 * 0.1.0). The C++ API throws such a failure as cf::RemoteError.
 *
 * @param f The future.
 * @return 1 when it did; 0 otherwise (also for a pending, successful or invalid future).
 */
CF_API int cf_future_failed_remotely(const cf_future *f);
/**
 * The pids of a process pool's live workers (added after 0.1.0).
 *
 * @param ex The process pool.
 * @param[out] pids The first min(*n, capacity) pids; may be NULL when capacity is 0.
 * @param capacity The room in pids.
 * @param[out] n How many workers are alive.
 * @return CF_OK; CF_E_INVALID_ARGUMENT for an executor that is no process pool, or a NULL n.
 */
CF_API int cf_process_pool_worker_pids(cf_executor *ex, int *pids, size_t capacity, size_t *n);
/**
 * The object kept with the failure cf_map_next last returned, if it is of the type named type_name (added after
 * 0.1.0): cf_future_exception_object for a map.
 *
 * @param it The map iterator.
 * @param type_name The name of the cf_object_type wanted.
 * @param[out] out The object (valid until the iterator is freed), or NULL.
 * @return CF_OK; CF_E_INVALID_ARGUMENT.
 */
CF_API int cf_map_error_object(const cf_map_iter *it, const char *type_name, void **out);
/**
 * Whether the failure cf_map_next last returned was raised in another process (added after 0.1.0).
 *
 * @param it The map iterator.
 * @return 1 when it was; 0 otherwise (also for no failure or an invalid iterator).
 */
CF_API int cf_map_failed_remotely(const cf_map_iter *it);
/**
 * Fails the running task as cf_task_raise does, with a detail: where it happened, as a traceback's text (added
 * after 0.1.0). Unlike cf_task_raise_object it works in a process pool's task too: the three texts travel to the
 * caller's future (cf_error.type, .message, .detail).
 *
 * @param ctx The task's context.
 * @param type The failure's type ("ValueError"), copied; NULL: "cf_task_error".
 * @param message Its message, copied; NULL: none.
 * @param detail Where it happened, copied; NULL or empty: the library's own ("task 'name' in worker PID" in a
 *        process pool).
 * @return CF_E_TASK_FAILED, for the task to return; CF_E_INVALID_ARGUMENT when ctx is no valid context (nothing
 *         raised); CF_E_NO_MEMORY.
 */
CF_API int cf_task_raise_detail(cf_task_ctx *ctx, const char *type, const char *message, const char *detail);

/** A function that cf_set_fork_hooks calls around a fork: fn(data). */
typedef struct cf_fork_hook {
    void (*fn)(void *data); /**< the function */
    void *data;             /**< its argument */
} cf_fork_hook;
/**
 * Sets the functions called around every fork() the library makes of this process to start a worker or a server
 * of workers (start methods fork and forkserver; not the fork that a spawned worker executes right away), in the
 * process that forks and in the child (added after 0.1.0). They are for a language runtime that must be told of
 * a fork, as an interpreter must: before the fork it takes its global lock on the forking thread, and in the child
 * it repairs its state (the threads that are gone) before any of its code runs there, then lets the lock go in
 * both. Each list runs in order: before, then fork(), then in_parent in the parent or in_child in the child. The
 * hooks must not fork, and in the child must not wait for anything another thread of the parent held. A later
 * call replaces the lists (copied); NULL lists with 0 counts remove them. Hooks are not run for forks of the
 * program itself. The forkserver (one per program, started by its first forkserver pool) is a fork of the program
 * that keeps the hooks as they were then: set them before the first pool.
 *
 * @param before Called before fork() on the forking thread; may be NULL when n_before is 0.
 * @param n_before Their number (at most 16).
 * @param in_parent Called after fork() in the parent.
 * @param n_in_parent Their number (at most 16).
 * @param in_child Called first thing in the child.
 * @param n_in_child Their number (at most 16).
 * @return CF_OK; CF_E_INVALID_ARGUMENT for a NULL list with a count, a hook without fn, or more than 16 in a list.
 */
CF_API int cf_set_fork_hooks(const cf_fork_hook *before, size_t n_before, const cf_fork_hook *in_parent,
                             size_t n_in_parent, const cf_fork_hook *in_child, size_t n_in_child);

/* ------------------------------------------------------------------------------------------------------------ */
/* Composition: futures made of futures (added after 0.1.0). None of them holds a thread while it waits.        */

/**
 * A continuation: once f succeeds, fn runs on ex with f's result bytes as its argument, and the new future
 * becomes fn's outcome. A failure or cancellation of f passes to the new future without running fn; so does a
 * failure to submit (an executor shut down meanwhile: CF_E_SHUTDOWN). Cancelling the new future before fn runs
 * cancels the step; once fn runs, a cancel only asks it to stop (cf_task_cancel_requested), as for any task.
 * Chains of any length cost no thread and no stack while they wait.
 *
 * @param f The first future (an executor's, or one made by cf_future_new that the caller completes).
 * @param ex The executor to run fn on: a thread pool (any fn) or a process pool (registered functions only).
 * @param fn The task.
 * @param user_data Passed to fn.
 * @param[out] out The new future (release it with cf_future_release).
 * @return CF_OK; CF_E_INVALID_ARGUMENT for an invalid future or executor, a NULL fn or out.
 */
CF_API int cf_future_then(cf_future *f, cf_executor *ex, cf_task_fn fn, void *user_data, cf_future **out);
/**
 * cf_future_then with per-step options, as cf_submit_ex: the step's time_limit, and release_user_data, called once
 * with user_data when the step has run or never will (f failed or was cancelled, the continuation was cancelled,
 * the submit failed), also when this call fails (unless the options themselves are invalid).
 *
 * @param f The first future.
 * @param ex The executor.
 * @param fn The task.
 * @param user_data Passed to fn, then to release_user_data.
 * @param options The options (cf_submit_options_init first); NULL: none.
 * @param[out] out The new future.
 * @return As cf_future_then; CF_E_INVALID_ARGUMENT also for invalid options.
 */
CF_API int cf_future_then_ex(cf_future *f, cf_executor *ex, cf_task_fn fn, void *user_data,
                             const cf_submit_options *options, cf_future **out);
/**
 * cf_future_then with a registered task (cf_task_register, CF_TASK), as cf_submit_named: the way to continue
 * on a process pool, whose worker receives f's result bytes through shared memory.
 *
 * @param f The first future.
 * @param ex The executor.
 * @param task The task's registered name (copied).
 * @param[out] out The new future.
 * @return CF_OK; CF_E_INVALID_ARGUMENT for an invalid future or executor, a NULL task or out. An unknown name
 *         fails the new future (CF_E_UNKNOWN_TASK) when f is done.
 */
CF_API int cf_future_then_named(cf_future *f, cf_executor *ex, const char *task, cf_future **out);
/**
 * A continuation without an executor (added after 0.1.0): once f succeeds, fn runs at once on the thread that
 * completes f (within this call, on the caller's thread, when f has succeeded already), with f's result bytes as
 * its argument, as a task of a thread pool would; what it sets (cf_task_return, cf_task_return_buffer,
 * cf_task_return_object) or raises becomes the new future's outcome, which is running meanwhile. For short steps
 * that adapt a value, such as turning a result into the argument of a process pool's task (then
 * cf_future_then_named): fn holds up f's other callbacks and the thread that completed f (a pool's worker or
 * supervisor), so it must not wait for futures or block. A failure or cancellation of f passes on without calling
 * fn, and cancelling the new future before fn runs means it never does. cf_task_cancel_requested reads 1 in fn
 * once the new future was asked to cancel. A chain of inline continuations runs nested, each step inside the
 * completion of the one before, on one thread's stack: keep such chains short.
 *
 * @param f The first future.
 * @param fn The step.
 * @param user_data Passed to fn, then to release.
 * @param release Called once with user_data when fn has run or never will (also when this call fails); NULL:
 *        none.
 * @param[out] out The new future (release it with cf_future_release).
 * @return CF_OK; CF_E_INVALID_ARGUMENT for an invalid future, a NULL fn or out; CF_E_NO_MEMORY.
 */
CF_API int cf_future_then_inline(cf_future *f, cf_task_fn fn, void *user_data, void (*release)(void *),
                                 cf_future **out);
/**
 * A future done when all of fs are: it succeeds (with no bytes) when every one succeeded, and otherwise fails
 * with the first failure, or is cancelled by the first cancellation, that it saw. The inputs keep their own
 * results. Cancelling it does not cancel the inputs.
 *
 * @param fs The futures (duplicates are fine).
 * @param n Their number; 0 gives a future done at once.
 * @param[out] out The new future.
 * @return CF_OK; CF_E_INVALID_ARGUMENT for an invalid future, NULL fs with n > 0, or a NULL out.
 */
CF_API int cf_when_all(cf_future *const *fs, size_t n, cf_future **out);
/**
 * A future done when the first of fs is: its result is that future's index in fs, a uint64_t (8 bytes, this
 * machine's byte order). Futures done already count first, in their order. Cancelling it cancels no input.
 *
 * @param fs The futures.
 * @param n Their number, at least 1.
 * @param[out] out The new future.
 * @return CF_OK; CF_E_INVALID_ARGUMENT for an invalid future, n == 0, NULL fs or a NULL out.
 */
CF_API int cf_when_any(cf_future *const *fs, size_t n, cf_future **out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CFUTURES_CFUTURES_H */
