// SPDX-License-Identifier: MIT
// ThreadPool: the ThreadPoolExecutor's implementation, a work-stealing scheduler.
//
// Each worker owns a queue. A task submitted from one of the pool's workers goes to that worker's queue; one
// submitted from elsewhere goes to the next queue in the submitting thread's own round-robin, so concurrent
// submitters spread over the queues and no line is shared by every submit. A worker takes its own queue oldest
// first; with its queue empty it searches: it takes the oldest task of another queue, spinning briefly. At most
// max_searching workers (half the CPUs, at least one) search at once; the others park, each on its own
// condition. A submit wakes one parked worker only when no worker is searching, and a searcher that finds work
// while it is the last one searching wakes the next (no herd, and no task left behind while a worker sleeps).
//
// Threads start lazily, as in CPython: a submit that finds no idle worker starts one, while the pool may grow;
// once the pool has all its threads, no submit or completion counts idle workers any more. A worker waiting on
// a future of its own pool runs queued tasks instead of blocking (help_sleep). Internal: no API.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/spin.hpp"
#include "executor/executor_core.hpp"
#include "future/wait_helper.hpp"
#include "thread_pool/time_limit_watch.hpp"

namespace cf::core {

class Waiter;

class ThreadPool final : public ExecutorCore, public WaitHelper, public std::enable_shared_from_this<ThreadPool> {
public:
    struct Config {
        std::size_t max_workers = 0;        // 0: min(32, usable CPUs + 4)
        std::string thread_name_prefix;     // empty: "cf<k>"
        std::function<void()> initializer;  // throws to report failure
        bool cancel_running = false;        // cancel() of a running task cancels its future (the task runs on)
    };
    static constexpr std::size_t kMaxWorkers = 65536;

    // Validates the configuration (throws InvalidArgument).
    static std::shared_ptr<ThreadPool> create(Config config);
    ~ThreadPool() override;

    FutureBase submit_job(std::unique_ptr<Job> job, const SubmitOptions &options) override;
    FutureBase submit_call(const TaskCall &call, std::string_view arg, const SubmitOptions &options) override;
    FutureBase submit_call_releasing(const TaskCall &call, std::string_view arg, const SubmitOptions &options,
                                     UserDataRelease release) override;
    bool submit_call_into(const FutureBase &target, const TaskCall &call, std::string_view arg,
                          const SubmitOptions &options, UserDataRelease &release) override;
    FutureBase submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) override;
    void shutdown(bool wait, bool cancel_futures) override;
    ExecutorStats stats() const override;

    bool help_sleep(Waiter &w, const Deadline &deadline, WaitTargets targets) override;
    // Tasks a worker runs nested inside its waits: any queued task up to kHelpAnyDepth deep, then only the tasks
    // the wait is waiting for, up to kMaxHelpDepth; deeper, a wait only sleeps (the stack is finite).
    static constexpr int kHelpAnyDepth = 64;
    static constexpr int kMaxHelpDepth = 256;

    std::size_t thread_count() const noexcept { return started_.load(std::memory_order_acquire); }
    std::size_t max_workers() const noexcept { return max_workers_; }

    // A queued task: a C++ job, or (job null) a byte-string call with its own copy of the argument.
    struct WorkItem {
        PromiseBase promise;
        std::unique_ptr<Job> job;
        TaskCall call;
        std::string arg;
        double time_limit = std::numeric_limits<double>::infinity();  // seconds from its start
        UserDataRelease release;  // the caller's user_data, released with the item: after the run, or unrun
        // The task a new thread was started for: as in CPython, where that thread takes it at once, shutdown
        // with cancel_futures does not cancel it.
        bool started_for = false;
    };
    struct Worker;  // one worker's queue, parking place and running task (thread_pool.cpp)

private:
    explicit ThreadPool(Config config);
    FutureBase enqueue(WorkItem item);

    // Growth (CPython's idle semaphore): a submit first takes an idle token; without one it starts a worker.
    bool take_idle_token() noexcept;
    static void count_idle(void *pool);
    // Starts a worker (with `first` in its queue when given); false when the pool has all its threads. ctl_ held.
    bool start_worker_locked(std::optional<WorkItem> *first);
    [[noreturn]] void throw_closed();

    // Scheduling.
    Worker &queue_for_submit();
    void push(Worker &w, WorkItem &&item);
    // Takes the oldest task of w's own queue; with clear_running, w's running task is reset first.
    bool take_own(Worker &w, std::optional<WorkItem> &out, bool clear_running);
    // Looks at every published queue from queues[first] on (skipping the taker's own unless it comes first), and
    // moves out the first task that take(queue, out) gives; the task becomes the taker's running one.
    template <class Take>
    bool take_from_queues(Worker &taker, std::size_t first, Take take, std::optional<WorkItem> &out);
    // Takes the oldest task of another worker's queue.
    bool steal(Worker &thief, std::optional<WorkItem> &out);
    // Takes the oldest task that the wait is waiting for, from any queue.
    bool take_target(Worker &w, std::optional<WorkItem> &out, WaitTargets targets);
    bool any_queued() const noexcept;
    bool begin_search() noexcept;
    // Ends a search; a last searcher that leaves work behind wakes a parked worker to carry on.
    void end_search(bool found);
    // After new work: wakes a parked worker when nobody is searching, and pokes the helping waiters.
    void notify_work();
    void wake_one_searcher();
    void wake_all();
    // Parks w until it is woken; true when it was woken to search (it counts as searching then).
    bool park(Worker &w);

    // A worker's life.
    void worker_main(Worker &w);
    bool next_task(Worker &w, std::optional<WorkItem> &item);
    void run(WorkItem &item);
    void run_counted(WorkItem &item);
    void break_pool(const std::string &why);
    // Stops submissions (flag already set under ctl_): waits out submits in progress, takes every queue's tasks
    // when `drain` is given, and lets idle workers leave.
    // keep_started_for: the tasks new threads were started for stay queued (shutdown with cancel_futures).
    void seal(std::vector<WorkItem> *drain, bool cancel_running, bool keep_started_for = false);
    void join_threads();
    // The futures of the tasks running now, each retained for the caller to release.
    std::vector<FutureState *> running_futures() const;
    void worker_exited();
    // One sleep of a wait that will not run other queued tasks: counted (stuck_), so that the pool sees when no
    // worker will take queued work; throws DeadlockError when this wait can then never end.
    bool restricted_sleep(Waiter &w, const Deadline &deadline, WaitTargets targets, bool may_run_targets);
    void poke_helpers();

    const std::size_t max_workers_;
    const std::size_t max_searching_;
    const std::string prefix_;
    const std::function<void()> initializer_;

    // The workers, published in index order: workers_[i] is set for every i < started_.
    std::unique_ptr<std::atomic<Worker *>[]> workers_;
    alignas(64) std::atomic<std::size_t> started_{0};
    std::atomic<bool> closed_{false};  // shutdown or broken: submissions are refused (set under ctl_)
    std::atomic<bool> sealed_{false};  // closed, and no submit is in progress any more: idle workers may leave
    alignas(64) std::atomic<std::size_t> idle_tokens_{0};  // while the pool grows: tasks finished minus submits
    alignas(64) std::atomic<std::size_t> searching_{0};
    std::atomic<std::size_t> parked_{0};
    std::atomic<std::size_t> helpers_waiting_{0};

    alignas(64) std::mutex idle_mu_;  // guards parked_list_
    std::vector<Worker *> parked_list_;  // most recently parked last

    alignas(64) mutable std::mutex ctl_;  // growth, helpers, exits, why broken
    std::vector<std::unique_ptr<Worker>> owned_;
    std::vector<std::thread> threads_;
    std::vector<Waiter *> helpers_;  // workers waiting on a future while helping
    std::size_t stuck_ = 0;          // workers in a wait that runs no other queued task
    std::size_t live_ = 0;           // workers that have not left worker_main yet
    std::condition_variable exited_;  // signalled as each worker leaves
    bool shutdown_ = false;
    std::string broken_;  // non-empty: why the pool is broken
    std::mutex join_mu_;
    const bool cancel_running_;
    TimeLimitWatch time_limits_;
};

}  // namespace cf::core
