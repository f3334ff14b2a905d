// SPDX-License-Identifier: MIT
// libcfutures C++ API: the process pool.
#ifndef CFUTURES_PROCESS_POOL_HPP
#define CFUTURES_PROCESS_POOL_HPP

#include <cstddef>
#include <string>
#include <vector>

#include "cf_export.h"
#include "executor.hpp"

namespace cf {

enum class StartMethod : int { Default = 0, Fork = 1, Forkserver = 2, Spawn = 3 };
// What a worker that dies unasked does to the pool (the C ABI's cf_worker_death).
enum class WorkerDeath : int { Break = 0, Replace = 1 };

// Runs registered byte-string tasks (cf_task_register / CF_TASK) in worker processes; arguments and results
// travel through shared memory. A worker that dies breaks the pool (BrokenProcessPool), as in Python.
class CF_API ProcessPoolExecutor : public Executor {
public:
    struct Options {
        std::size_t max_workers = 0;            // 0: CPUs in this process's affinity mask; more than 4096 is invalid
        StartMethod start_method = StartMethod::Default;  // Default: fork (see the README)
        std::size_t max_tasks_per_child = 0;    // 0: unlimited; else a worker is replaced after that many tasks
        std::string initializer;                // a registered task name run first in every worker, or empty
        std::string initarg;
        std::size_t shared_memory_bytes = 0;    // 0: 256 MiB; the arena for arguments (and each worker's results)
        std::string worker_program;             // spawn: empty re-executes this program
        double worker_start_timeout = 0;        // seconds a new worker has to start serving; <= 0: 60
        // true: cancel() on a running task kills its worker (a new one takes the slot) and the future ends
        // cancelled; shutdown with cancel_futures cancels running tasks too. false: as CPython.
        bool cancel_running = false;
        // Break (as CPython): a dead worker breaks the pool. Replace: only its running task fails
        // (WorkerDiedError), a new worker takes its place; more than max_restarts deaths within restart_period
        // seconds break the pool all the same.
        WorkerDeath on_worker_death = WorkerDeath::Break;
        std::size_t max_restarts = 0;           // 0: 10
        double restart_period = 0;              // seconds; <= 0: 60
    };

    ProcessPoolExecutor();
    explicit ProcessPoolExecutor(Options options);
    ~ProcessPoolExecutor() override;

    // Stop the workers at once (SIGTERM / SIGKILL): tasks not started are cancelled, running ones fail with
    // BrokenProcessPool, later submits throw ShutdownError.
    void terminate_workers();
    void kill_workers();

    std::vector<int> worker_pids() const;  // the live workers
    std::size_t max_workers() const;

    // Typed tasks: runs fn(args...) in a worker and returns a Future of fn's (decayed) result type. The arguments
    // (converted to fn's parameter types) and the result travel through Boost.Serialization; an exception fn
    // throws comes back as RemoteError (its type name and what()). Defined in <cfutures/serialization.hpp>,
    // which every file calling it must include ("used before deduction of 'auto'" means it is missing).
    template <auto Fn, class... Args>
    auto submit(Args &&...args);
};

// At the top of main() in programs whose pools spawn workers: in a spawned worker it serves tasks and ends the
// process; anywhere else it returns at once.
CF_API void process_worker_entry();

}  // namespace cf

#endif  // CFUTURES_PROCESS_POOL_HPP
