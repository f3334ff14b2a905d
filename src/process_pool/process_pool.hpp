// SPDX-License-Identifier: MIT
// ProcessPool: the ProcessPoolExecutor's implementation (parent side). A task is handed to a worker through that
// worker's ring in shared memory, or waits in a private queue while no worker can take it; threads waiting on
// futures collect the completions, and a supervisor thread starts workers, watches them die (one pidfd each) and
// collects when nobody else does. A worker that dies breaks the pool as in CPython, failing exactly the futures
// that were in flight with the worker's pid and signal or exit code.
//
// No lock is taken by every task: a task takes an argument block (ArgumentStore's striped caches) and its
// worker's lane lock, at submit and again at collection; the queue of waiting tasks has its own lock, taken only
// while tasks wait; the pool's lock guards the workers' lives and the pool's state, which the hot paths read
// through atomics. Lock order: mu_, then pending_mu_, then a lane's lock (never two lanes at once), then the
// argument store's. Internal: no API.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/spin.hpp"
#include "executor/executor_core.hpp"
#include "process_pool/argument_store.hpp"
#include "future/completion_source.hpp"
#include "process_pool/launcher.hpp"
#include "process_pool/segment.hpp"

namespace cf::core {

class ProcessPool final : public ExecutorCore,
                          public CompletionSource,
                          public std::enable_shared_from_this<ProcessPool> {
public:
    enum class StartMethod { Fork = 1, Forkserver = 2, Spawn = 3 };
    struct Config {
        std::size_t max_workers = 0;        // 0: CPUs in the affinity mask
        StartMethod start_method = StartMethod::Fork;
        std::size_t max_tasks_per_child = 0;
        std::string initializer;            // registered task name, or empty
        std::string initarg;
        std::size_t shared_memory_bytes = 0;  // 0: kDefaultArenaBytes
        std::string worker_program;         // spawn: empty re-executes this program
        std::vector<std::string> worker_args;  // spawn: argv[1...] of each worker
        double worker_start_timeout = 0;    // seconds a new worker has to start serving; <= 0: the default
        bool cancel_running = false;        // cancel() of a running task kills its worker
        bool replace_dead = false;          // a worker that dies is replaced; only its running task fails
        std::size_t max_restarts = 0;       // replace_dead: deaths within restart_period that break the pool; 0: 10
        double restart_period = 0;          // seconds; <= 0: 60
    };
    static constexpr std::size_t kDefaultMaxRestarts = 10;
    static constexpr double kDefaultRestartPeriod = 60.0;
    static constexpr double kDefaultStartTimeout = 60.0;
    static constexpr std::size_t kMaxWorkers = 4096;
    static constexpr std::size_t kDefaultArenaBytes = std::size_t(256) << 20;

    static std::shared_ptr<ProcessPool> create(Config config);
    ~ProcessPool() override;

    FutureBase submit_job(std::unique_ptr<Job> job, const SubmitOptions &options) override;
    FutureBase submit_call(const TaskCall &call, std::string_view arg, const SubmitOptions &options) override;
    FutureBase submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options) override;
    FutureBase submit_named_parts(std::string_view name, const ArgParts &arg, const SubmitOptions &options) override;
    FutureBase submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) override;
    void shutdown(bool wait, bool cancel_futures) override;
    void terminate_workers() override;
    void kill_workers() override;

    // A thread waiting on one of this pool's futures collects completions (and hands out waiting work) itself.
    bool collect_while_waiting(Waiter &w, const Deadline &deadline) override;
    // cancel_running: stops the task (kills its worker if it runs; skips it if it has not started).
    bool stop_running(std::uint32_t lane, std::uint64_t id) override;
    ExecutorStats stats() const override;

    std::vector<pid_t> worker_pids() const;  // live workers, for tests and diagnostics
    std::size_t max_workers() const noexcept { return config_.max_workers; }

private:
    using Clock = std::chrono::steady_clock;
    struct Task {
        std::uint64_t id = 0;  // unique within its worker's lane, given as it enters the ring
        PromiseBase promise;
        std::string name;
        // The task's name followed by its argument, in the arena (null while it waits in spill): each task
        // carries its own name, so that names never take arena space beyond the tasks that use them.
        void *block = nullptr;
        std::size_t block_len = 0;
        std::string spill;
        std::size_t arg_len = 0;
        shm::TaskKind kind = shm::kSingle;
        std::string streamed;  // a result too large for the worker's heap, arriving in parts
        bool has_parts = false;
        bool started = false;  // its future is running (it stays pending only if its worker's ring broke)
        double time_limit = 0;  // seconds it may run; infinity: no limit
        int lane = -1;          // where it was last handed (a task whose worker died waits again, under its id there)
    };
    // One worker slot's books. Its lock guards the slot's task ring (the parent is the ring's one producer), the
    // tasks in flight there and next_id / dispatched. pid, pidfd and alive are written holding both mu_ and this
    // lock, and may be read under either; serving and launched belong to mu_ alone.
    struct alignas(64) Worker {
        mutable SpinMutex mu;
        std::deque<Task> in_flight;           // the tasks in its ring, oldest first
        std::uint64_t next_id = 1;
        std::size_t dispatched = 0;           // tasks given to this process
        pid_t pid = 0;
        int pidfd = -1;
        bool alive = false;
        bool serving = false;                 // it has reached the worker loop (the start-up handshake)
        Clock::time_point launched{};
        bool ever_started = false;            // a worker has served this slot before (a new one replaces it)
        // The last worker here was killed or crashed: its result heap's allocator may be mid-operation. The
        // next worker starts with a new heap (nothing the caller holds may lie in it; see copy_results_).
        bool heap_suspect = false;
        // The task this worker is being killed for (0: none), and why: a time limit or cancel_running.
        std::uint64_t doomed = 0;
        Status doom_reason = Status::Ok;
        // Read without the lock to choose a lane; written under it.
        std::atomic<std::uint32_t> depth{0};  // in_flight.size()
        std::atomic<bool> accepting{false};   // alive, its ring intact, below max_tasks_per_child
    };
    enum class Placed { Yes, No, Dropped };  // Dropped: the future was cancelled before it could start

    explicit ProcessPool(Config config);
    void start();
    FutureBase enqueue(const std::string &name, std::string_view bytes, shm::TaskKind kind,
                       double time_limit = std::numeric_limits<double>::infinity()) {
        return enqueue(name, ArgParts{&bytes, 1, bytes.size()}, kind, time_limit);
    }
    FutureBase enqueue(const std::string &name, const ArgParts &arg, shm::TaskKind kind, double time_limit);
    [[noreturn]] void throw_closed();
    void give_back_block(Task &t);  // the task's argument block, back to the store
    bool place_directly(Task &t);
    void queue_pending(Task t);
    void drain_pending();
    int choose_lane(std::size_t waiting) const;  // waiting: tasks queued behind this one; -1: none fits now
    Placed push_task_locked(int w, Task &t);     // under the lane's lock; No leaves t with the caller
    bool wants_worker_locked() const;
    Worker &lane(int w) const noexcept { return workers_[static_cast<std::size_t>(w)]; }
    std::size_t n_lanes() const noexcept { return config_.max_workers; }

    void supervise();
    bool collect_completions();
    bool collect_slot(std::uint32_t slot, bool wait = false);  // wait: for a collector already at that ring
    bool completions_waiting() const;
    // The bookkeeping of one completion, under the lane's lock: a finished task moves to `settled`, to be
    // settled once the lock is released; a completion that names a task the worker was not given sets `bogus`.
    struct Outcome;
    struct Settled;
    void complete_locked(int w, const shm::Completion &c, std::vector<Settled> &settled, std::string &bogus);
    static void ring_parent_bell(void *pool);
    // A thread counted among the collectors: workers leave completions to the collectors and wake the
    // supervisor only when there are none.
    void enter_collectors();
    void leave_collectors();
    class CollectingWait;
    // Reads what a finished task's completion says into done.outcome (under the ring's consumer lock).
    void settle(Settled &done, int w);
    void start_workers();
    // Stops task id on lane w for good (the lane's lock held): kills the worker if it runs the task, else
    // leaves word for the worker to skip it. False when the worker has finished it already.
    bool stop_task_locked(int w, std::uint64_t id, Status reason);
    void check_time_limits();
    // visit(lane, task, seconds left) for each running task with a time limit, under its lane's lock.
    template <class Visit>
    void for_each_limited_task(Visit visit) const;
    // When the next running task reaches its time limit (Clock::time_point::max(): none). mu_ held.
    Clock::time_point next_time_limit_locked() const;
    // How the future of a task whose worker was killed for its time limit fails.
    static Failure time_limit_failure(const Task &t, pid_t killed);
    // A worker died unasked: whether the pool may replace it (restart intensity). mu_ held.
    bool restart_allowed_locked();
    // Tasks a dead worker had not started, back to the front of the queue, in their order. mu_ held.
    void requeue_locked(std::deque<Task> &tasks);
    void reap(int w);
    void forget_cpu(int w);
    void break_pool(const std::string &why);
    void break_pool_locked(const std::string &why, std::vector<Task> &failed);
    void fail_all(std::vector<Task> &tasks, const std::string &why);
    bool finished_locked() const;
    void stop_workers();
    int wait_worker(pid_t pid);
    void stop_now(int signal);
    void signal_supervisor();
    void sleep_supervisor();
    int sleep_timeout_ms_locked();
    void check_timers();
    void check_owner(const char *what) const;
    std::string never_started_hint() const;
    Clock::time_point start_deadline(const Worker &w) const;  // when a launched worker must be serving

    Config config_;
    std::shared_ptr<Segment> seg_;
    int event_fd_ = -1;
    std::unique_ptr<Launcher> launcher_;  // the start method

    // Guards the pool's state and the workers' lives. Taken by the supervisor, at shutdown and on breakage; the
    // paths every task takes read its state through closed_ and halted_.
    mutable SpinMutex mu_;
    std::condition_variable_any done_cv_;   // the supervisor has ended, or (fork) has started the workers
    // One collector per worker's completion ring at a time (the ring has one consumer); a thread that finds the
    // ring taken goes on without waiting. A slot whose ring was found corrupted is never read again.
    struct RingCollector {
        std::mutex mu;
        std::atomic<bool> corrupt{false};
    };
    std::unique_ptr<RingCollector[]> collectors_;
    std::unique_ptr<Worker[]> workers_;
    std::unique_ptr<ArgumentStore> store_;
    // Tasks no worker could take yet, oldest first.
    mutable SpinMutex pending_mu_;
    std::deque<Task> pending_;
    std::atomic<std::size_t> pending_count_{0};  // pending_.size()
    std::atomic<std::size_t> live_{0};           // workers alive (written under mu_)
    bool shutdown_ = false;
    bool stopped_ = false;           // terminate/kill: no more work at all
    std::string broken_;
    std::atomic<bool> closed_{false};  // shutdown_ or broken_: no new tasks
    std::atomic<bool> halted_{false};  // broken_ or stopped_: nothing more is handed to a worker
    bool supervisor_done_ = false;
    bool workers_started_ = false;   // fork: every worker has been started
    std::string start_failure_;      // fork: why the pool's workers could not be started
    Clock::time_point kill_at_{Clock::time_point::max()};  // terminate_workers: when SIGTERM turns to SIGKILL
    std::atomic<bool> supervisor_sleeps_long_{false};  // it sleeps without the heartbeat (nothing in flight for a while)
    Clock::time_point last_in_flight_{};   // when the supervisor last saw a task in flight
    std::deque<Clock::time_point> deaths_;  // replace_dead: when workers died, within the restart period
    std::atomic<std::uint64_t> worker_deaths_{0}, workers_replaced_{0}, workers_started_count_{0};
    // Results are copied out of the workers' heaps rather than read in place, so that a worker's heap can be
    // rebuilt when a new worker takes the place of one that was killed or crashed: in pools that replace
    // workers (replace_dead, cancel_running), and from the first task with a time limit on.
    std::atomic<bool> copy_results_{false};
    std::thread supervisor_;
    std::mutex join_mu_;             // one thread joins the supervisor
    bool on_supervisor() const noexcept;
};

}  // namespace cf::core
