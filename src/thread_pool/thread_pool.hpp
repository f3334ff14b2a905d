// ThreadPool: the ThreadPoolExecutor's implementation. Threads start lazily (only when no idle one exists),
// idle threads spin briefly and then park, each on its own condition so that one submit wakes exactly one
// thread, and a worker waiting on a future of its own pool runs queued tasks instead of blocking.
// Internal: no API.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "executor/executor_core.hpp"
#include "common/spin.hpp"
#include "future/wait_helper.hpp"

namespace cf::detail {

class Waiter;

class ThreadPool final : public ExecutorCore, public WaitHelper, public std::enable_shared_from_this<ThreadPool> {
public:
    struct Config {
        std::size_t max_workers = 0;        // 0: min(32, usable CPUs + 4)
        std::string thread_name_prefix;     // empty: "cf<k>"
        std::function<void()> initializer;  // throws to report failure
    };
    static constexpr std::size_t kMaxWorkers = 65536;

    // Validates the configuration (throws InvalidArgument).
    static std::shared_ptr<ThreadPool> create(Config config);
    ~ThreadPool() override;

    FutureBase submit_job(std::unique_ptr<Job> job) override;
    FutureBase submit_call(const TaskCall &call, std::string_view arg) override;
    FutureBase submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) override;
    void shutdown(bool wait, bool cancel_futures) override;

    bool help_sleep(Waiter &w, const Deadline &deadline, WaitTargets targets) override;
    // Tasks a worker runs nested inside its waits: any queued task up to kHelpAnyDepth deep, then only the tasks
    // the wait is waiting for, up to kMaxHelpDepth; deeper, a wait only sleeps (the stack is finite).
    static constexpr int kHelpAnyDepth = 64;
    static constexpr int kMaxHelpDepth = 256;

    std::size_t thread_count() const;
    std::size_t max_workers() const noexcept { return max_workers_; }

private:
    // A queued task: a C++ job, or (job null) a byte-string call with its own copy of the argument.
    struct WorkItem {
        PromiseBase promise;
        std::unique_ptr<Job> job;
        TaskCall call;
        std::string arg;
    };
    // A parked worker: woken by whoever hands it work (or shutdown), never by a spurious signal of another's.
    struct Sleeper {
        std::condition_variable cv;
        bool signalled = false;
    };

    explicit ThreadPool(Config config);
    FutureBase enqueue(WorkItem item);
    void start_thread_locked();
    void worker_main(std::size_t index);
    bool take(WorkItem &item);
    bool try_take_locked(WorkItem &out);
    void run(WorkItem &item);
    // Runs a worker's own task; the worker counts as idle again just before the task's future completes.
    void run_counted(WorkItem &item);
    static void count_idle(void *pool);
    void break_pool(const std::string &why);
    void wake_all_locked();
    void wake_one_locked();
    void join_threads();
    // One sleep of a wait that will not run other queued tasks: counted (stuck_), so that the pool sees when no
    // worker will take queued work; throws DeadlockError when this wait can then never end.
    bool restricted_sleep(Waiter &w, const Deadline &deadline, WaitTargets targets, bool may_run_targets);
    bool try_take_target_locked(WorkItem &out, WaitTargets targets);
    void worker_exited();

    const std::size_t max_workers_;
    const std::string prefix_;
    const std::function<void()> initializer_;

    mutable SpinMutex mu_;
    std::deque<WorkItem> queue_;
    std::atomic<std::size_t> queued_{0};       // queue_.size(), readable without the lock while spinning
    std::atomic<std::size_t> spinning_{0};     // workers spinning for work (changed to 0 only under mu_)
    std::vector<Sleeper *> sleepers_;           // parked workers, most recent last
    std::vector<Waiter *> helpers_;             // workers waiting on a future while helping
    std::size_t stuck_ = 0;                     // workers in a wait that runs no other queued task
    std::vector<std::thread> threads_;
    std::vector<FutureState *> running_;        // per worker: the future of its running task, or nullptr
    std::size_t idle_tokens_ = 0;               // tasks finished minus submits that found an idle worker
    std::size_t live_ = 0;                      // workers that have not left worker_main yet
    std::condition_variable exited_;            // signalled as each worker leaves
    std::atomic<bool> shutdown_{false};
    std::string broken_;                        // non-empty: why the pool is broken
    std::mutex join_mu_;
};

}  // namespace cf::detail
