/* SPDX-License-Identifier: MIT */
/**
 * @file
 * libcfutures: the tier for implementers of executors outside the library.
 *
 * A library beside libcfutures (libcfutures_mpi is the first) makes its own executor by filling a
 * cf_executor_provider with its functions and calling cf_executor_new_provided. What it gets back is an ordinary
 * cf_executor: cf_submit_named, cf_map_named, cf_future_*, cf_wait, cf_as_completed, cf_executor_shutdown,
 * cf_executor_free and the C++ API all work on it, as on the library's own pools. The provider only moves tasks to
 * wherever they run and completes the futures it is given with the public calls
 * (cf_future_set_running_or_notify_cancel, cf_future_set_result, cf_future_set_remote_failure, ...).
 *
 * A user of executors never needs this header. Its ABI follows the same policy as cfutures.h: the provider struct
 * grows only at its end, behind struct_size.
 */
#ifndef CFUTURES_SYS_H
#define CFUTURES_SYS_H

#include "cfutures.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * What an executor made outside the library does. Every function gets the `self` given to
 * cf_executor_new_provided as its first argument, and may be called from any thread, several at once (the
 * provider brings its own locking). A function that fails returns a negative status, after cf_provider_error for
 * its text.
 *
 * The futures: the library makes one pending future per task and hands it to submit or submit_chunk. The
 * provider borrows it: it takes a reference of its own (cf_future_retain) to keep it past the call, and releases
 * it once done with it. Before the task starts it calls cf_future_set_running_or_notify_cancel (0 means the
 * caller cancelled it: skip the task); when the task ends, cf_future_set_result or, for a failure,
 * cf_future_set_remote_failure (a task run in another process) or cf_future_set_failure. A future the provider
 * will never run (shutdown with cancel_futures) is cancelled with cf_future_cancel.
 */
typedef struct cf_executor_provider {
    size_t struct_size; /**< sizeof(cf_executor_provider) as the provider was built */
    /** Names the kind of executor in texts ("mpi"); NULL: "provided". Must live as long as the executor. */
    const char *name;
    /**
     * Required. Starts the task registered as `task` with a copy of the argument (copied before it returns).
     * @return CF_OK once the provider owns the task; CF_E_SHUTDOWN after shutdown, CF_E_UNKNOWN_TASK, a broken
     *         executor's status, ...; then f is left untouched and the library fails the submit.
     */
    int (*submit)(void *self, const char *task, const void *arg, size_t arg_len, cf_future *f);
    /**
     * Optional (NULL: map submits each item of a chunk on its own through submit). Runs `task` over the n_args
     * arguments, in order, as one unit (cf_map_named's chunksize). It completes f with the results packed as
     * described at cf_chunk_results_pack, or, when an item fails, with that item's failure alone (as CPython
     * fails a whole chunk).
     */
    int (*submit_chunk)(void *self, const char *task, const cf_slice *args, size_t n_args, cf_future *f);
    /**
     * Required. cf_executor_shutdown: accept no more tasks; with cancel_futures, cancel the tasks not started;
     * with wait, return once every task is done. Called again (freeing shuts down and waits) it must be harmless.
     * It may be called from a thread completing the provider's futures (a done-callback): then it must not wait
     * for itself.
     */
    int (*shutdown)(void *self, int wait, int cancel_futures);
    /**
     * Optional (NULL: CF_E_INVALID_ARGUMENT, as on a thread pool). cf_executor_terminate_workers (kill 0) and
     * cf_executor_kill_workers (kill 1): stop the workers now; tasks not started are cancelled, running ones fail.
     */
    int (*terminate)(void *self, int kill);
    /**
     * Optional. Fills the fields the provider knows (workers, idle_workers, queued, running, worker_deaths,
     * workers_replaced, max_workers, workers_started); `out` arrives zeroed, up to its struct_size, which the
     * provider must respect. The library counts completed, failed and cancelled itself.
     */
    int (*stats)(void *self, cf_executor_stats *out);
    /** Required. Called once, when the library lets go of the executor, after shutdown(wait=1): frees self. */
    void (*destroy)(void *self);
    /**
     * Optional (added after 0.1.0, behind struct_size; NULL: a waiting thread only sleeps). Lets a thread that
     * waits on one of the executor's futures (cf_future_result, cf_future_wait, cf_wait, cf_as_completed, a map's
     * next result) do the provider's work itself, sending what is queued and completing the futures whose
     * results have arrived, instead of sleeping until the provider's own thread has done it and woken it: that
     * saves a thread hand-off each way. The library calls it over and over while the wait lasts, checking
     * between calls whether the wait is over and whether its timeout has passed.
     *
     * @param self The provider's state.
     * @param round 0 on the first call of a wait, then 1, 2, ...: how long this thread has been helping.
     * @return 1 to be called again (results are due soon); 0 to let the thread sleep until its wait ends, after
     *         which the provider's own threads must complete the futures. Each call should be short (a poll), and
     *         it must not wait for a lock another thread holds for long; its errors are the provider's to handle
     *         (completing the futures they concern).
     */
    int (*progress)(void *self, uint64_t round);
} cf_executor_provider;

/** The size of cf_executor_provider as first published: the smallest struct_size accepted. */
#define CF_EXECUTOR_PROVIDER_V1_SIZE (offsetof(cf_executor_provider, destroy) + sizeof(void (*)(void *)))

/**
 * Makes an executor from a provider (added after 0.1.0).
 *
 * @param provider The provider's functions; copied (it need not outlive the call).
 * @param self The provider's state, given to each function; the executor owns it from now on, and gives it to
 *             provider->destroy when freed (also when this call fails after checking its arguments).
 * @param out Receives the executor, freed with cf_executor_free.
 * @return CF_OK; CF_E_INVALID_ARGUMENT for a NULL provider or out, a struct_size below
 *         CF_EXECUTOR_PROVIDER_V1_SIZE, or a required function missing (self is not destroyed then);
 *         CF_E_NO_MEMORY.
 */
CF_API int cf_executor_new_provided(const cf_executor_provider *provider, void *self, cf_executor **out);

/**
 * Sets the calling thread's cf_last_error text and returns the status, so that a provider's function fails with
 * `return cf_provider_error(CF_E_SHUTDOWN, "...");` (added after 0.1.0).
 *
 * @param status The negative status to return.
 * @param message The text (copied); NULL: the status's description.
 * @return status.
 */
CF_API int cf_provider_error(int status, const char *message);

/**
 * Whether a task is registered under this name in this process (added after 0.1.0).
 *
 * @param task The name; NULL gives 0.
 * @return 1 or 0.
 */
CF_API int cf_task_registered(const char *task);

/**
 * Runs the task registered as `task` on the calling thread and completes f with what it returned or raised,
 * as a process pool's worker does (added after 0.1.0). A provider's worker calls it, then reads f with
 * cf_future_result or cf_future_exception to send the outcome back.
 *
 * @param task The registered name.
 * @param arg The argument; NULL with arg_len 0 is the empty argument.
 * @param arg_len Its length.
 * @param f A pending future (cf_future_new); it ends finished: with the task's result, its failure, or
 *          CF_E_UNKNOWN_TASK when no task has the name. The task sees f's cancellation in cf_task_cancel_requested.
 * @return CF_OK once f is done; CF_E_INVALID_ARGUMENT for NULL task or f, or NULL arg with a length;
 *         CF_E_INVALID_STATE when f was not pending.
 */
CF_API int cf_task_run_named(const char *task, const void *arg, size_t arg_len, cf_future *f);

/**
 * Fails a future as cf_future_set_failure does, marking the failure as raised in another process: C++ throws it
 * as cf::RemoteError and cf_future_failed_remotely gives 1 (added after 0.1.0).
 *
 * @param f The future.
 * @param status A negative status (CF_E_TASK_FAILED for a task that raised).
 * @param type The failure's type name (copied); required.
 * @param message Its message (copied); may be NULL.
 * @param detail Where it happened (copied); may be NULL.
 * @return CF_OK; CF_E_INVALID_ARGUMENT for a status that is no failure, a NULL type or an invalid future;
 *         CF_E_INVALID_STATE when already done or cancelled.
 */
CF_API int cf_future_set_remote_failure(cf_future *f, int status, const char *type, const char *message,
                                        const char *detail);

/**
 * Packs the results of a chunk as a provider's submit_chunk delivers them (added after 0.1.0): for each item in
 * order, its length as 8 bytes little-endian, then its bytes. With out NULL it only measures.
 *
 * @param results The items' results.
 * @param n How many.
 * @param out Receives the packed bytes (*out_len of them), or NULL.
 * @param capacity The room at out.
 * @param out_len Receives the packed length.
 * @return CF_OK; CF_E_INVALID_ARGUMENT for a NULL out_len or results with n > 0; CF_E_TOO_LARGE when out is given
 *         and capacity is smaller than the packed length.
 */
CF_API int cf_chunk_results_pack(const cf_slice *results, size_t n, void *out, size_t capacity, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* CFUTURES_SYS_H */
