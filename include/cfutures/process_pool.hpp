// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: the process pool.
#ifndef CFUTURES_PROCESS_POOL_HPP
#define CFUTURES_PROCESS_POOL_HPP

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cfutures.h"
#include "executor.hpp"

namespace cf {

/// How a process pool starts its workers (the C ABI's cf_start_method).
enum class StartMethod : int {
    Default = 0,     ///< fork on Linux (see the README)
    Fork = 1,        ///< workers are forked from this process
    Forkserver = 2,  ///< workers forked by a single-threaded server process
    Spawn = 3        ///< re-executes the program (or worker_program); see process_worker_entry()
};
/// What a worker that dies unasked does to the pool (the C ABI's cf_worker_death).
enum class WorkerDeath : int {
    Break = 0,   ///< as CPython: the pool breaks, every pending future fails with BrokenProcessPool
    Replace = 1  ///< only its running task fails (WorkerDiedError); a new worker takes its place
};

/// Runs registered byte-string tasks (cf_task_register / CF_TASK) in worker processes; arguments and results
/// travel through shared memory. A worker that dies breaks the pool (BrokenProcessPool), as in Python.
///
/// Typed C++ tasks (submit<&fn>) come with <cfutures/serialization.hpp>; closures and other callables cannot
/// travel to another process.
class ProcessPoolExecutor : public Executor {
public:
    /// How the pool is made (the C ABI's cf_process_pool_options).
    struct Options {
        std::size_t max_workers = 0;            ///< 0: CPUs in this process's affinity mask; more than 4096 is invalid
        StartMethod start_method = StartMethod::Default;  ///< Default: fork (see the README)
        std::size_t max_tasks_per_child = 0;    ///< 0: unlimited; else a worker is replaced after that many tasks
        std::string initializer;                ///< a registered task name run first in every worker, or empty
        std::string initarg;                    ///< the initializer's argument bytes
        std::size_t shared_memory_bytes = 0;    ///< 0: 256 MiB; the arena for arguments (and each worker's results)
        std::string worker_program;             ///< spawn: empty re-executes this program
        std::vector<std::string> worker_args;   ///< spawn: each worker's arguments after the program's name
        double worker_start_timeout = 0;        ///< seconds a new worker has to start serving; <= 0: 60
        /// true: cancel() on a running task kills its worker (a new one takes the slot) and the future ends
        /// cancelled; shutdown with cancel_futures cancels running tasks too. false: as CPython.
        bool cancel_running = false;
        /// Break (as CPython): a dead worker breaks the pool. Replace: only its running task fails
        /// (WorkerDiedError), a new worker takes its place; more than max_restarts deaths within restart_period
        /// seconds break the pool all the same.
        WorkerDeath on_worker_death = WorkerDeath::Break;
        std::size_t max_restarts = 0;           ///< 0: 10
        double restart_period = 0;              ///< seconds; <= 0: 60
    };

    /// A pool with the default options.
    ProcessPoolExecutor() : ProcessPoolExecutor(Options{}) {}
    /// A pool with these options. Throws InvalidArgument for invalid options (or a CF_TASK conflict at load
    /// time), UnknownTaskError for an initializer not registered, SystemError when the shared memory or the
    /// workers cannot be made, and InvalidStateError in a spawned worker that did not call process_worker_entry().
    explicit ProcessPoolExecutor(Options options) : Executor(make(options), true) {}
    ~ProcessPoolExecutor() override { close(); }

    /// Stop the workers at once (SIGTERM here, SIGKILL in kill_workers()): tasks not started are cancelled,
    /// running ones fail with BrokenProcessPool, later submits throw ShutdownError.
    void terminate_workers() { detail::check(cf_executor_terminate_workers(native_handle())); }
    /// As terminate_workers(), with SIGKILL.
    void kill_workers() { detail::check(cf_executor_kill_workers(native_handle())); }

    /// The process ids of the live workers.
    std::vector<int> worker_pids() const {
        std::vector<int> pids(64);
        for (;;) {
            std::size_t n = 0;
            detail::check(cf_process_pool_worker_pids(native_handle(), pids.data(), pids.size(), &n));
            if (n <= pids.size()) {
                pids.resize(n);
                return pids;
            }
            pids.resize(n);
        }
    }
    /// A continuation in a worker: once source succeeds, the task registered as `task` (CF_TASK,
    /// cf_task_register) runs on source's result bytes, which travel through shared memory; the returned future
    /// holds its result, read as R (bytes decoded by Codec<R>: std::string keeps them as they are, a trivially
    /// copyable R is its bytes). A failure or cancellation of source passes on without running the task. An
    /// unknown name fails the continuation (UnknownTaskError) once source succeeds.
    template <class R = std::string>
    Future<R> then_named(const FutureBase &source, std::string_view task) {
        cf_future *out = nullptr;
        detail::check(cf_future_then_named(detail::checked_handle(source), native_handle(),
                                           std::string(task).c_str(), &out));
        return Future<R>(FutureBase(out));
    }

    /// The number of worker processes (Options::max_workers, or its default).
    std::size_t max_workers() const { return static_cast<std::size_t>(stats().max_workers); }

    /// Typed tasks: runs fn(args...) in a worker and returns a Future of fn's (decayed) result type. The arguments
    /// (converted to fn's parameter types) and the result travel through Boost.Serialization; an exception fn
    /// throws comes back as RemoteError (its type name and what()). Defined in <cfutures/serialization.hpp>,
    /// which every file calling it must include ("used before deduction of 'auto'" means it is missing).
    template <auto Fn, class... Args>
    auto submit(Args &&...args);

    /// A typed continuation in a worker: once source succeeds, fn(its value) runs in a worker process (fn() for a
    /// Future<void>) and the returned Future holds fn's (decayed) result, as submit<&fn> would give it. source may
    /// come from any executor or a Promise: its value becomes fn's argument archive where source completes (a thread
    /// pool's object is serialized there; a process future's Boost archive passes on as it is), then travels through
    /// shared memory. A failure or cancellation of source passes on without running fn; cancelling the returned
    /// future before fn starts means it never runs; an exception fn throws comes back as RemoteError. No thread
    /// waits meanwhile. Also written source.then<&fn>(pool). Defined in <cfutures/serialization.hpp>.
    template <auto Fn, class T>
    auto then(const Future<T> &source);

private:
    static cf_executor *make(const Options &options) {
        cf_process_pool_options o;
        cf_process_pool_options_init(&o);
        o.max_workers = options.max_workers;
        o.start_method = static_cast<cf_start_method>(options.start_method);
        o.max_tasks_per_child = options.max_tasks_per_child;
        o.initializer = options.initializer.empty() ? nullptr : options.initializer.c_str();
        o.initarg = options.initarg.empty() ? nullptr : options.initarg.data();
        o.initarg_len = options.initarg.size();
        o.shared_memory_bytes = options.shared_memory_bytes;
        o.worker_program = options.worker_program.empty() ? nullptr : options.worker_program.c_str();
        std::vector<const char *> args;
        for (const std::string &arg : options.worker_args) args.push_back(arg.c_str());
        args.push_back(nullptr);
        o.worker_args = options.worker_args.empty() ? nullptr : args.data();
        o.worker_start_timeout = options.worker_start_timeout;
        o.cancel_running = options.cancel_running ? 1 : 0;
        o.on_worker_death = static_cast<cf_worker_death>(options.on_worker_death);
        o.max_restarts = options.max_restarts;
        o.restart_period = options.restart_period;
        cf_executor *ex = nullptr;
        detail::check(cf_process_pool_new(&o, &ex));
        return ex;
    }
};

/// At the top of main() in programs whose pools spawn workers: in a spawned worker it serves tasks and ends the
/// process; anywhere else it returns at once (the C ABI's cf_process_worker_entry).
inline void process_worker_entry() { cf_process_worker_entry(); }

}  // namespace cf

#endif  // CFUTURES_PROCESS_POOL_HPP
