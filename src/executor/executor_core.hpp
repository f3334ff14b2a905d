// SPDX-License-Identifier: MIT
// ExecutorCore: what every executor implementation provides (the Impl behind cf::Executor). Internal: no API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/types.hpp"
#include "executor/task_call.hpp"
#include "future/future_ref.hpp"
#include "common/fork_guard.hpp"
#include "future/future_state.hpp"

namespace cf::core {

// An argument given as pieces to lay end to end (cf_submit_named_parts), so that a caller whose argument is made
// of separate buffers need not join them first: each piece is copied once, straight to where the argument goes.
struct ArgParts {
    const std::string_view *parts = nullptr;
    std::size_t count = 0;
    std::size_t total = 0;  // the sum of their lengths (the caller checks that it does not overflow)

    // The pieces as one string.
    std::string joined() const;
    // Copies the pieces, end to end, to dst (total bytes).
    void copy_to(char *dst) const noexcept;
};

// The results of one map chunk: the items' results in order, up to the first failure (if any).
struct ChunkResults {
    std::vector<std::string> results;
    std::optional<Failure> failure;  // the failure of item results.size()
};

class ExecutorCore {
public:
    virtual ~ExecutorCore();

    // Runs a C++ job (thread pools only).
    virtual FutureBase submit_job(std::unique_ptr<Job> job, const SubmitOptions &options) = 0;
    // Runs a byte-string task; the argument is copied before this returns.
    virtual FutureBase submit_call(const TaskCall &call, std::string_view arg, const SubmitOptions &options) = 0;
    // submit_call, and release once the task has run or will never run (the C ABI's release_user_data). By
    // default: when the future is done (a process pool's task does not use the caller's user_data, whose memory
    // is not the worker's). Released at once when the submit fails.
    virtual FutureBase submit_call_releasing(const TaskCall &call, std::string_view arg, const SubmitOptions &options,
                                             UserDataRelease release);
    // submit_call_releasing, but the task completes `target` (a pending future made by no executor: a
    // continuation's) instead of a future of its own. False, touching nothing, where the executor cannot (a
    // process pool's futures are its own); by default it cannot.
    virtual bool submit_call_into(const FutureBase &target, const TaskCall &call, std::string_view arg,
                                  const SubmitOptions &options, UserDataRelease &release);
    // Runs the task registered under name; by default looks it up in this process.
    virtual FutureBase submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options);
    // submit_named with the argument in pieces; by default they are joined first (a process pool copies each one
    // straight into its shared memory).
    virtual FutureBase submit_named_parts(std::string_view name, const ArgParts &arg, const SubmitOptions &options);
    // Runs the task over each argument in turn as one unit; the future holds a ChunkResults.
    virtual FutureBase submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) = 0;
    virtual void shutdown(bool wait, bool cancel_futures) = 0;
    // Process pools only: stop the workers with SIGTERM / SIGKILL.
    virtual void terminate_workers();
    virtual void kill_workers();
    // Throws TooLargeError for an argument longer than this machine's memory: a caller's mistake (a wrapped
    // size), not something to copy.
    static void check_argument_size(std::string_view arg) { check_argument_size(arg.size()); }
    static void check_argument_size(std::size_t len);
    // Workers, queue and the counters of how tasks ended.
    virtual ExecutorStats stats() const = 0;

    // shutdown as a caller asks for it: in a forked child of the creator it returns at once, as in CPython (there
    // is nothing of an inherited pool the child could stop).
    void shutdown_as_asked(bool wait, bool cancel_futures);
    // What freeing an executor's handle does: shuts it down and waits; in a forked child, where the pool's threads
    // or workers are the parent's (and so may be its locks), it only keeps the pool reachable, never touching it.
    static void retire(const std::shared_ptr<ExecutorCore> &core) noexcept;

    // False in a forked child of the process that made the pool: there the pool is inert (its threads or
    // workers belong to the parent), and every use but release is refused.
    bool in_creator_process() const noexcept { return owner_.is_current(); }
    // Throws InvalidStateError naming the call when not in_creator_process().
    void check_creator_process(const char *what) const;

protected:
    // A new future counts itself in this executor's stats as it ends.
    void count_outcome_of(FutureState &f) { f.count_in(&counters_); }
    // The task counters into out (completed, failed, cancelled); the executor fills in the rest.
    void read_counters(ExecutorStats &out) const noexcept;
    // Validates a time limit: seconds, negative or infinite for none; throws InvalidArgument on NaN.
    static double checked_time_limit(const SubmitOptions &options);

private:
    ProcessOwner owner_;
    TaskCounters counters_;
};

}  // namespace cf::core
