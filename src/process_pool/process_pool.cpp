// SPDX-License-Identifier: MIT
#include "common/system.hpp"
#include "process_pool/process_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <sstream>

#include "common/eintr.hpp"
#include "common/log.hpp"
#include "common/spin.hpp"
#include "process_pool/futex.hpp"
#include "registry/registry.hpp"
#include "process_pool/wire.hpp"
#include "process_pool/worker.hpp"


namespace cf::core {
namespace {

constexpr std::size_t kDeepQueue = 32;  // tasks in flight per worker when the backlog is long
// While tasks are in flight the supervisor looks at the completion rings at least this often, even when no
// worker wakes it: a task may have closed the descriptor its worker wakes the parent with.
constexpr int kHeartbeatMs = 50;
// terminate_workers: how long a worker has to end after SIGTERM before it gets SIGKILL; and how long an idle
// worker has to leave after it is asked to at shutdown.
constexpr auto kTerminateGrace = std::chrono::milliseconds(1000);
constexpr int kExitGraceMs = 2000;
constexpr int kStatusUnknown = Launcher::kStatusUnknown;

// How a worker ended, in words: "terminated by signal 9 (SIGKILL)" or "exited with code 3".
std::string describe_exit(int status) {
    if (status == kStatusUnknown)
        return "ended, with an exit status the system discarded (the program ignores SIGCHLD)";
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        return "terminated by signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == shm::kExitRingCorrupt)
        return "exited with code " + std::to_string(shm::kExitRingCorrupt) + " (its task ring had been overwritten)";
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    return "ended (status " + std::to_string(status) + ")";
}

// A result read in place from a worker's heap; handed back to the worker when the future lets go of it.
class SharedBytes final : public ValueHolder {
public:
    SharedBytes(std::shared_ptr<Segment> seg, std::uint32_t slot, std::uint64_t offset, std::uint64_t len)
        : seg_(std::move(seg)), slot_(slot), offset_(offset), len_(len) {
        seg_->hold(slot_, len_);
    }
    ~SharedBytes() override {
        // In a forked child the block is the parent's to hand back: the child's copy of it simply goes.
        if (!owner_.is_current()) return;
        seg_->unhold(slot_, len_);
        seg_->release_result(slot_, offset_);
    }
    std::string_view bytes() const noexcept override { return {seg_->at(offset_), static_cast<std::size_t>(len_)}; }

private:
    std::shared_ptr<Segment> seg_;
    std::uint32_t slot_;
    std::uint64_t offset_, len_;
    ProcessOwner owner_;
};

}  // namespace

// What a completion makes of its future: read out of shared memory first, delivered to the future afterwards.
struct ProcessPool::Outcome {
    std::unique_ptr<ValueHolder> value;
    std::optional<Failure> failure;
    std::string bytes;
    void set_value(std::unique_ptr<ValueHolder> v) { value = std::move(v); }
    void set_bytes(std::string b) { bytes = std::move(b); }
    void set_failure(Failure f) { failure = std::move(f); }
    void deliver(FutureState &f) {
        if (failure) f.set_failure(std::move(*failure));
        else if (value) f.set_value(std::move(value));
        else f.set_bytes(std::move(bytes));
    }
};

// A finished task, its completion and what it makes of the future.
struct ProcessPool::Settled {
    Task task;
    shm::Completion completion;
    Outcome outcome;
    pid_t pid;  // of the worker that ran it
};

namespace {

// A failure that happened in (or to) a worker process: C++ sees it as RemoteError.
Failure remote_failure(Status status, std::string type, std::string message, std::string detail = {}) {
    Failure f = make_failure(status, std::move(type), std::move(message), std::move(detail));
    f.remote = true;
    return f;
}

}  // namespace

// ---- creation

static std::string worker_entry_hint() {
    return "a program whose pools spawn workers must call cf_process_worker_entry() first thing in main "
           "(C++: cf::process_worker_entry(), Rust: cfutures::worker_entry(), Go: cfutures.WorkerEntry())";
}

std::shared_ptr<ProcessPool> ProcessPool::create(Config config) {
    // A spawned worker that did not take the worker entry runs the program's main instead; if main makes a pool,
    // that pool would spawn workers that do the same, without end.
    if (std::getenv("CFUTURES_WORKER"))
        throw InvalidStateError("this process was started as a worker of a process pool but did not call "
                                "cf_process_worker_entry(), so it may not create a process pool: " +
                                worker_entry_hint());
    if (config.max_workers > kMaxWorkers)
        throw InvalidArgument("max_workers must be at most " + std::to_string(kMaxWorkers) + " (got " +
                              std::to_string(config.max_workers) + ")");
    if (config.start_method != StartMethod::Fork && config.start_method != StartMethod::Spawn &&
        config.start_method != StartMethod::Forkserver)
        throw InvalidArgument("unknown start method");
    if (config.restart_period != config.restart_period) throw InvalidArgument("restart_period is NaN");
    if (!config.initializer.empty() && !find_task(config.initializer) && config.worker_program.empty())
        throw UnknownTaskError("initializer '" + config.initializer + "' is not registered");
    std::string conflict = load_time_conflict();
    if (!conflict.empty()) throw InvalidArgument(conflict);
    std::shared_ptr<ProcessPool> pool(new ProcessPool(std::move(config)));
    pool->start();
    return pool;
}

ProcessPool::ProcessPool(Config config) : config_(std::move(config)) {
    if (config_.max_workers == 0) config_.max_workers = usable_cpus();
    if (config_.shared_memory_bytes == 0) config_.shared_memory_bytes = kDefaultArenaBytes;
    if (!(config_.worker_start_timeout > 0)) config_.worker_start_timeout = kDefaultStartTimeout;
    if (config_.max_restarts == 0) config_.max_restarts = kDefaultMaxRestarts;
    if (!(config_.restart_period > 0)) config_.restart_period = kDefaultRestartPeriod;
    copy_results_.store(config_.replace_dead || config_.cancel_running, std::memory_order_relaxed);
    collectors_.reset(new RingCollector[config_.max_workers]);
    workers_.reset(new Worker[config_.max_workers]);
}

void ProcessPool::start() {
    // Each worker's result heap is as large as the arena, within a bound on the whole (sparse) mapping.
    std::size_t heap = std::min(config_.shared_memory_bytes,
                                std::max<std::size_t>(std::size_t(64) << 20, (std::size_t(64) << 30) / config_.max_workers));
    seg_ = Segment::create(static_cast<std::uint32_t>(config_.max_workers), config_.shared_memory_bytes, heap);
    store_ = std::make_unique<ArgumentStore>(*seg_);
    shm::Header &h = seg_->header();
    h.max_tasks_per_child = config_.max_tasks_per_child;
    h.cpu.cpus = static_cast<std::uint32_t>(usable_cpus());
    if (!config_.initializer.empty()) {
        void *block = store_->allocate(config_.initializer.size() + config_.initarg.size());
        if (!block) throw TooLargeError("the initializer's argument does not fit the pool's arena");
        std::memcpy(block, config_.initializer.data(), config_.initializer.size());
        std::memcpy(static_cast<char *>(block) + config_.initializer.size(), config_.initarg.data(),
                    config_.initarg.size());
        h.init_name_offset = seg_->offset_of(block);
        h.init_name_len = config_.initializer.size();
        h.initarg_offset = h.init_name_offset + h.init_name_len;
        h.initarg_len = config_.initarg.size();
    }
    event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) throw_errno("eventfd");
    switch (config_.start_method) {
        case StartMethod::Fork: launcher_ = make_fork_launcher(*seg_, event_fd_); break;
        case StartMethod::Spawn: launcher_ = make_spawn_launcher(*seg_, event_fd_, config_.worker_program, config_.worker_args); break;
        case StartMethod::Forkserver: launcher_ = make_forkserver_launcher(*seg_, event_fd_); break;
    }
    supervisor_ = std::thread([self = shared_from_this()] { self->supervise(); });
    if (config_.start_method != StartMethod::Fork) return;
    // Fork starts every worker now, while the creating thread waits here: the fewer threads are busy during a
    // fork, the less chance that one holds a lock the child will need (an allocator without fork handlers, as
    // under AddressSanitizer). Later forks never happen with this method (no max_tasks_per_child).
    std::unique_lock<SpinMutex> lock(mu_);
    done_cv_.wait(lock, [this] { return workers_started_ || !broken_.empty(); });
    if (!workers_started_) {  // could not fork (a break after the start is reported on the futures instead)
        std::string why = start_failure_;
        lock.unlock();
        shutdown(true, false);  // the workers that did start are gone when this returns
        throw SystemError(why);
    }
}

namespace {
thread_local const ProcessPool *supervised_here = nullptr;  // the pool whose supervisor this thread is
thread_local const ProcessPool *collecting_here = nullptr;  // the pool this thread counts as a collector of
}

bool ProcessPool::on_supervisor() const noexcept { return supervised_here == this; }

ProcessPool::~ProcessPool() {
    // Normally shutdown(wait) has joined the supervisor. Without a waiting shutdown, the supervisor's own
    // reference may be the last one; then this runs on it, which cannot join itself.
    if (supervisor_.joinable()) {
        if (on_supervisor()) supervisor_.detach(); else supervisor_.join();
    }
    for (std::size_t i = 0; workers_ && i < n_lanes(); ++i)
        if (workers_[i].pidfd >= 0) close(workers_[i].pidfd);
    if (event_fd_ >= 0) close(event_fd_);
}

// ---- submitting

FutureBase ProcessPool::submit_job(std::unique_ptr<Job>, const SubmitOptions &) {
    throw InvalidArgument("a process pool runs registered tasks only (cf_task_register / CF_TASK)");
}

FutureBase ProcessPool::submit_call(const TaskCall &call, std::string_view arg, const SubmitOptions &options) {
    double limit = checked_time_limit(options);
    auto task = find_task(call);
    if (!task) throw UnknownTaskError("the function is not registered (cf_task_register / CF_TASK), so no "
                                      "worker process can find it");
    return enqueue(task->name, arg, shm::kSingle, limit);
}

FutureBase ProcessPool::submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options) {
    return submit_named_parts(name, ArgParts{&arg, 1, arg.size()}, options);
}

FutureBase ProcessPool::submit_named_parts(std::string_view name, const ArgParts &arg, const SubmitOptions &options) {
    check_argument_size(arg.total);
    double limit = checked_time_limit(options);
    // A separate worker program has its own registry: then the worker reports an unknown name on the future.
    if (config_.worker_program.empty() && !find_task(name))
        throw UnknownTaskError("no task is registered as '" + std::string(name) + "'");
    return enqueue(std::string(name), arg, shm::kSingle, limit);
}

FutureBase ProcessPool::submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) {
    auto task = find_task(call);
    if (!task) throw UnknownTaskError("the function is not registered (cf_task_register / CF_TASK)");
    return enqueue(task->name, wire::encode_chunk_args(args), shm::kChunk);
}

FutureBase ProcessPool::enqueue(const std::string &name, const ArgParts &arg, shm::TaskKind kind,
                                double time_limit) {
    check_creator_process("submit");  // every submit, map's included, comes through here
    std::size_t capacity = store_->capacity();
    if (name.size() > capacity || arg.total > capacity - name.size())
        throw TooLargeError("an argument of " + std::to_string(arg.total) + " bytes can never fit the pool's " +
                            "arena of " + std::to_string(capacity) + " bytes (raise shared_memory_bytes)");
    if (closed_.load(std::memory_order_acquire)) throw_closed();
    Task t;
    t.name = name;
    t.arg_len = arg.total;
    t.kind = kind;
    t.block_len = name.size() + arg.total;
    t.time_limit = time_limit;
    if (time_limit != std::numeric_limits<double>::infinity() && !copy_results_.load(std::memory_order_relaxed))
        copy_results_.store(true, std::memory_order_relaxed);
    FutureBase future = t.promise.future_base();
    count_outcome_of(*future.native_handle());
    // A full arena makes submit wait for room, as a full queue would. Room comes back as results are collected,
    // by waiting callers or, failing them, the supervisor: when the supervisor is the one submitting (from a
    // done-callback) the argument waits in private memory instead.
    bool on_supervisor = this->on_supervisor();
    t.block = store_->allocate(t.block_len);
    if (!t.block && !on_supervisor) {
        t.block = store_->allocate_waiting(t.block_len, [this] { return closed_.load(std::memory_order_acquire); });
        if (!t.block) throw_closed();
    }
    if (t.block) {
        std::memcpy(t.block, name.data(), name.size());
        arg.copy_to(static_cast<char *>(t.block) + name.size());
    } else {
        t.spill.resize(t.block_len);
        std::memcpy(t.spill.data(), name.data(), name.size());
        arg.copy_to(t.spill.data() + name.size());
    }
    if (!place_directly(t)) queue_pending(std::move(t));
    // A submitter that finds results waiting takes them in passing (a burst of submits would otherwise wake the
    // supervisor for them while the workers take the CPUs).
    if (!on_supervisor && completions_waiting()) collect_completions();
    return future;
}

void ProcessPool::give_back_block(Task &t) {
    store_->free(t.block, t.block_len);
    t.block = nullptr;
}

void ProcessPool::throw_closed() {
    std::string broken;
    {
        std::lock_guard<SpinMutex> lock(mu_);
        broken = broken_;
    }
    if (!broken.empty()) throw BrokenProcessPool(broken);
    throw ShutdownError("cannot schedule new futures after shutdown");
}

// ---- handing tasks to workers

int ProcessPool::choose_lane(std::size_t waiting) const {
    // The first idle worker by index: under a light load the same few workers stay busy (and awake). Among busy
    // ones the shortest ring, ties broken from where this thread last began, so that submitters on many CPUs
    // spread over the lanes.
    thread_local std::size_t cursor = 0;
    std::size_t n = n_lanes(), live = 0, start = cursor++ % n, best_key = SIZE_MAX;
    int best = -1;
    std::uint32_t best_depth = UINT32_MAX;
    for (std::size_t i = 0; i < n; ++i) {
        const Worker &w = workers_[i];
        if (!w.accepting.load(std::memory_order_relaxed)) continue;
        ++live;
        std::uint32_t d = w.depth.load(std::memory_order_seq_cst);
        if (d == 0) return static_cast<int>(i);
        std::size_t key = (i + n - start) % n;
        if (d < best_depth || (d == best_depth && key < best_key)) best_depth = d, best_key = key, best = static_cast<int>(i);
    }
    // With a backlog and every worker started, keep a few tasks queued in each worker's ring so that none waits
    // for the parent: a backlog is a queue longer than the workers, or rings that already hold more than the
    // running task. Otherwise hand out one at a time, so that long tasks spread evenly and a free slot gets a new
    // worker rather than a place behind a busy one.
    bool all_started = live == n;
    bool backlog = waiting >= live || best_depth >= 2;
    if (best >= 0 && all_started && backlog && best_depth < kDeepQueue) return best;
    return -1;
}

bool ProcessPool::place_directly(Task &t) {
    // Only when nothing waits: a task never overtakes one that was queued before it.
    if (!t.block || pending_count_.load(std::memory_order_seq_cst) != 0) return false;
    for (;;) {
        int w = choose_lane(0);
        if (w < 0) return false;
        Worker &worker = lane(w);
        std::unique_lock<SpinMutex> lock(worker.mu);
        if (closed_.load(std::memory_order_acquire)) {
            lock.unlock();
            give_back_block(t);
            throw_closed();
        }
        if (!worker.accepting.load(std::memory_order_relaxed)) continue;  // it stopped taking work meanwhile
        switch (push_task_locked(w, t)) {
            case Placed::Yes: return true;
            case Placed::Dropped: return true;  // cannot happen for a new task; nothing left to place
            case Placed::No: continue;          // that worker is out; another may take it
        }
    }
}

void ProcessPool::queue_pending(Task t) {
    {
        std::unique_lock<SpinMutex> lock(pending_mu_);
        if (closed_.load(std::memory_order_acquire)) {
            lock.unlock();
            give_back_block(t);
            throw_closed();
        }
        pending_.push_back(std::move(t));
        pending_count_.store(pending_.size(), std::memory_order_seq_cst);
    }
    // A worker may have become free while this task was queued: its collector looked at pending_count_ after
    // freeing the lane, this thread looks at the lanes after counting the task. One of the two sees the other.
    drain_pending();
    if (live_.load(std::memory_order_relaxed) < n_lanes()) signal_supervisor();  // it may start a worker for it
}

ProcessPool::Placed ProcessPool::push_task_locked(int w, Task &t) {
    Worker &worker = lane(w);
    shm::WorkerControl &c = seg_->slot(static_cast<std::uint32_t>(w));
    FutureState &f = *t.promise.future_base().native_handle();
    // A task whose worker died waits again with its future running: cancelled meanwhile (cancel_running), it
    // goes no further.
    if (t.started && f.done()) {
        give_back_block(t);
        return Placed::Dropped;
    }
    std::uint64_t id = worker.next_id++;
    // Where a cancel() of the running task must write, and where a waiter collects its completion: known
    // before anyone can see it running.
    f.set_remote(&c.cancel_task, id, shared_from_this(), static_cast<std::uint32_t>(w));
    if (config_.cancel_running) f.allow_cancel_running();
    // Not pending any more: cancelled while it waited, or finished by a holder of the future.
    if (!t.started && !f.try_start()) {
        give_back_block(t);
        return Placed::Dropped;
    }
    t.started = true;
    t.id = id;
    t.lane = w;
    std::uint64_t at = seg_->offset_of(t.block);
    // Never more in flight than the ring holds (kDeepQueue): a full ring means its indices were overwritten.
    // That worker gets nothing more and is killed; the pool breaks when it is reaped.
    if (!c.tasks.try_push(shm::TaskDescriptor{t.id, at, t.name.size(), at + t.name.size(), t.arg_len, t.kind, 0})) {
        worker.accepting.store(false, std::memory_order_relaxed);
        kill(worker.pid, SIGKILL);
        return Placed::No;
    }
    c.task_bell.ring(1);
    if (config_.max_tasks_per_child && ++worker.dispatched >= config_.max_tasks_per_child)
        worker.accepting.store(false, std::memory_order_relaxed);
    worker.in_flight.push_back(std::move(t));
    worker.depth.store(static_cast<std::uint32_t>(worker.in_flight.size()), std::memory_order_seq_cst);
    // The supervisor sleeps without a heartbeat (and so without looking at time limits) only while nothing is
    // in flight: now something is. The depth is stored before the flag is read, and the supervisor stores the
    // flag before it reads the depths again (sleep_timeout_ms_locked): one of the two sees the other.
    if (supervisor_sleeps_long_.load(std::memory_order_seq_cst) && supervisor_sleeps_long_.exchange(false))
        signal_supervisor();
    return Placed::Yes;
}

void ProcessPool::drain_pending() {
    if (pending_count_.load(std::memory_order_seq_cst) == 0) return;
    std::lock_guard<SpinMutex> lock(pending_mu_);
    while (!pending_.empty() && !halted_.load(std::memory_order_acquire)) {
        int w = choose_lane(pending_.size() - 1);
        if (w < 0) break;
        Task &t = pending_.front();
        if (!t.block) {  // it waits in private memory for room in the arena
            if (!(t.block = store_->allocate(t.block_len))) break;
            std::memcpy(t.block, t.spill.data(), t.spill.size());
            std::string().swap(t.spill);
        }
        Worker &worker = lane(w);
        Placed placed = Placed::No;
        {
            std::lock_guard<SpinMutex> lane_lock(worker.mu);
            if (worker.accepting.load(std::memory_order_relaxed)) placed = push_task_locked(w, t);
        }
        if (placed == Placed::No) continue;  // that worker is out; the task goes to another
        pending_.pop_front();
        pending_count_.store(pending_.size(), std::memory_order_seq_cst);
    }
}

bool ProcessPool::wants_worker_locked() const {
    std::size_t live = 0, idle = 0;
    for (std::size_t i = 0; i < n_lanes(); ++i) {
        const Worker &w = workers_[i];
        if (!w.alive) continue;
        ++live;
        idle += w.accepting.load(std::memory_order_relaxed) && w.depth.load(std::memory_order_relaxed) == 0;
    }
    std::size_t waiting = pending_count_.load(std::memory_order_seq_cst);
    if (live >= n_lanes() || waiting == 0) return false;
    // Fork starts the whole pool at once (see start()) and replaces any that are gone; the others start a
    // worker only when none is idle.
    if (config_.start_method == StartMethod::Fork) return broken_.empty();
    return idle < waiting && broken_.empty();
}

// ---- the supervisor

void ProcessPool::signal_supervisor() {
    std::uint64_t one = 1;
    ssize_t n = write(event_fd_, &one, sizeof one);
    (void)n;
}

void ProcessPool::supervise() {
    supervised_here = this;
    if (config_.start_method == StartMethod::Fork) {
        std::vector<Task> none;
        std::lock_guard<SpinMutex> lock(mu_);
        try {
            start_workers();
            launcher_->first_workers_started();
            workers_started_ = true;
        } catch (const Error &e) {
            // Those that did start go (break_pool_locked kills them; the loop below reaps them).
            start_failure_ = std::string("cannot start the pool's workers: ") + e.what();
            break_pool_locked(start_failure_, none);
        }
        done_cv_.notify_all();
    }
    for (unsigned round = 0;; ++round) {
        // Threads waiting on futures collect for themselves; the supervisor steps in only when there are none.
        bool progress = seg_->header().collectors.load(std::memory_order_seq_cst) == 0 && collect_completions();
        std::string start_error;
        {
            std::lock_guard<SpinMutex> lock(mu_);
            if (wants_worker_locked()) {
                try {
                    start_workers();
                } catch (const Error &e) {
                    start_error = std::string("cannot start a worker: ") + e.what();
                }
            }
            drain_pending();
            if (start_error.empty() && finished_locked()) break;
        }
        if (!start_error.empty()) {
            break_pool(start_error);
            continue;
        }
        // While completions keep coming, look for ended workers only now and then (a poll per worker each
        // round would cost more than the tasks); before sleeping, always.
        if (progress && round % 64 != 0) continue;
        // Reap the workers that have ended (their pidfds are readable).
        for (std::size_t i = 0; i < n_lanes(); ++i) {
            int fd;
            bool alive;
            {
                std::lock_guard<SpinMutex> lock(mu_);
                alive = workers_[i].alive;
                fd = workers_[i].pidfd;
            }
            if (!alive) continue;
            pollfd p{fd, POLLIN, 0};
            if (fd < 0 || retry_eintr([&] { return poll(&p, 1, 0); }) > 0) {
                collect_slot(static_cast<std::uint32_t>(i), true);  // what it finished before it ended counts
                reap(static_cast<int>(i));
                progress = true;
            }
        }
        check_timers();
        if (!progress) sleep_supervisor();
    }
    // Let the workers go: ask them to exit, then wait for each.
    stop_workers();
    std::lock_guard<SpinMutex> lock(mu_);
    supervisor_done_ = true;
    done_cv_.notify_all();
}

ProcessPool::Clock::time_point ProcessPool::start_deadline(const Worker &w) const {
    return w.launched + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(config_.worker_start_timeout));
}

std::string ProcessPool::never_started_hint() const {
    if (config_.start_method != StartMethod::Spawn) return {};
    return ": " + worker_entry_hint();
}

// The deadlines the supervisor keeps: a worker's start-up handshake, and SIGKILL after terminate's SIGTERM.
void ProcessPool::check_timers() {
    std::string why;
    {
        std::lock_guard<SpinMutex> lock(mu_);
        Clock::time_point now = Clock::now();
        if (now >= kill_at_) {
            kill_at_ = Clock::time_point::max();
            for (std::size_t i = 0; i < n_lanes(); ++i)
                if (workers_[i].alive) kill(workers_[i].pid, SIGKILL);
        }
        for (std::size_t i = 0; i < n_lanes() && why.empty(); ++i) {
            Worker &w = workers_[i];
            if (!w.alive || w.serving) continue;
            if (seg_->slot(static_cast<std::uint32_t>(i)).state.load(std::memory_order_acquire) != shm::kUnused) {
                w.serving = true;
                continue;
            }
            if (now < start_deadline(w)) continue;
            std::ostringstream secs;
            secs << config_.worker_start_timeout;
            why = "worker " + std::to_string(w.pid) + " did not start within " + secs.str() + " s" +
                  never_started_hint();
        }
    }
    // Breaking the pool kills that worker too; it is reaped as it ends.
    if (!why.empty()) break_pool(why);
    check_time_limits();
}

int ProcessPool::sleep_timeout_ms_locked() {
    Clock::time_point now = Clock::now(), wake = Clock::time_point::max();
    bool in_flight = false;
    for (std::size_t i = 0; i < n_lanes(); ++i) {
        const Worker &w = workers_[i];
        if (!w.alive) continue;
        in_flight |= w.depth.load(std::memory_order_relaxed) != 0;
        if (!w.serving) wake = std::min(wake, start_deadline(w));
    }
    wake = std::min(wake, kill_at_);
    wake = std::min(wake, next_time_limit_locked());
    // The heartbeat goes on for a while after the last task: a pool in use then never needs a wake-up to arm it
    // again when work is dispatched (push_task_locked), only one that has been idle for a second.
    if (in_flight) last_in_flight_ = now;
    bool heartbeat = now - last_in_flight_ < std::chrono::seconds(1);
    if (!heartbeat) {
        // About to sleep without the heartbeat: said first, then the depths read again, so that a task placed
        // meanwhile (push_task_locked) is either seen here or signals the supervisor.
        supervisor_sleeps_long_.store(true, std::memory_order_seq_cst);
        for (std::size_t i = 0; i < n_lanes() && !heartbeat; ++i)
            heartbeat = workers_[i].alive && workers_[i].depth.load(std::memory_order_seq_cst) != 0;
    }
    if (heartbeat) {
        supervisor_sleeps_long_.store(false, std::memory_order_relaxed);
        wake = std::min(wake, now + std::chrono::milliseconds(kHeartbeatMs));
    }
    if (wake == Clock::time_point::max()) return -1;
    if (wake <= now) return 0;
    return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count()) + 1;
}

void ProcessPool::sleep_supervisor() {
    std::uint64_t drained;
    if (read(event_fd_, &drained, sizeof drained) > 0) return;  // someone asked for attention meanwhile
    // No spinning here: a thread that waits for a result collects it itself; the supervisor sleeps until a
    // worker that found no such thread wakes it (or a worker ends, or a timer is due).
    shm::Header &h = seg_->header();
    h.supervisor_sleeping.store(1, std::memory_order_seq_cst);
    if (!completions_waiting()) {
        std::vector<pollfd> fds{{event_fd_, POLLIN, 0}};
        int timeout;
        {
            std::lock_guard<SpinMutex> lock(mu_);
            for (std::size_t i = 0; i < n_lanes(); ++i) {
                const Worker &w = workers_[i];
                if (w.alive && w.pidfd < 0) return (void)(h.supervisor_sleeping.store(0));  // one to reap now
                if (w.alive) fds.push_back(pollfd{w.pidfd, POLLIN, 0});
            }
            timeout = sleep_timeout_ms_locked();
        }
        poll(fds.data(), fds.size(), timeout);  // EINTR: the loop looks again
    }
    h.supervisor_sleeping.store(0, std::memory_order_relaxed);
}

bool ProcessPool::completions_waiting() const {
    for (std::uint32_t i = 0; i < seg_->n_slots(); ++i)
        if (seg_->slot(i).done.has_records() && !collectors_[i].corrupt.load(std::memory_order_relaxed)) return true;
    return false;
}

bool ProcessPool::collect_completions() {
    bool any = false;
    for (std::uint32_t i = 0; i < seg_->n_slots(); ++i) any |= collect_slot(i);
    return any;
}

bool ProcessPool::collect_slot(std::uint32_t slot, bool wait) {
    auto &ring = seg_->slot(slot).done;
    RingCollector &collector = collectors_[slot];
    if (collector.corrupt.load(std::memory_order_relaxed)) return false;
    std::unique_lock<std::mutex> consumer(collector.mu, std::defer_lock);
    if (wait) {
        // The caller must see the books as they are once everything the worker posted is taken: it waits for
        // another collector to finish its batch.
        consumer.lock();
    } else if (!ring.has_records() || !consumer.try_lock()) {
        return false;  // nothing there, or another thread is collecting this ring
    }
    shm::Completion batch[shm::kRingSlots];  // copied out before anything in them is trusted
    std::size_t n = 0;
    switch (ring.pop_batch(batch, shm::kRingSlots, &n)) {
        case shm::CompletionRing::Pop::Empty: return false;
        case shm::CompletionRing::Pop::Corrupt:
            collector.corrupt.store(true, std::memory_order_relaxed);
            consumer.unlock();
            break_pool("worker slot " + std::to_string(slot) + " corrupted its completion ring");
            return true;
        default: break;
    }
    seg_->results_taken(static_cast<std::uint32_t>(slot));
    std::vector<Settled> settled;
    settled.reserve(n);
    std::string bogus;
    {
        Worker &worker = lane(static_cast<int>(slot));
        std::lock_guard<SpinMutex> lock(worker.mu);
        for (std::size_t i = 0; i < n && bogus.empty(); ++i) complete_locked(static_cast<int>(slot), batch[i], settled, bogus);
        worker.depth.store(static_cast<std::uint32_t>(worker.in_flight.size()), std::memory_order_seq_cst);
    }
    for (Settled &done : settled) give_back_block(done.task);
    // The lane has room now: tasks waiting for one go (the other side of queue_pending's count-then-look).
    if (!settled.empty()) drain_pending();
    // What the results are is read out of shared memory while this thread is the ring's one consumer: a worker
    // may point two completions at one block, and then only one thread may be reading and handing it back.
    for (Settled &done : settled) settle(done, static_cast<int>(slot));
    consumer.unlock();
    // The futures complete without any lock: their callbacks may call back into the pool. A callback may also
    // block for long, so meanwhile this thread stops counting as a collector: the workers wake the supervisor.
    bool callbacks = false;
    for (Settled &done : settled) callbacks |= done.task.promise.future_base().native_handle()->has_callbacks();
    const ProcessPool *counted = callbacks ? collecting_here : nullptr;
    if (counted == this) leave_collectors();
    for (Settled &done : settled) done.outcome.deliver(*done.task.promise.future_base().native_handle());
    if (counted == this) enter_collectors();
    if (!bogus.empty()) break_pool(bogus);
    // After shutdown the supervisor waits for the last task to end. When another thread (a submitter taking
    // results in passing, a waiting caller) collects that last completion, the worker did not wake the
    // supervisor (it found it awake, or this thread collecting): this thread does, so that it sees the pool done.
    // (closed_ is set before shutdown signals: either this load sees it, or that signal comes after these pops.)
    if (!settled.empty() && !on_supervisor() && closed_.load(std::memory_order_seq_cst)) signal_supervisor();
    return true;
}

void ProcessPool::complete_locked(int w, const shm::Completion &c, std::vector<Settled> &settled,
                                  std::string &bogus) {
    Worker &worker = lane(w);
    // A worker runs its tasks in the order it was given them, and reports each before it takes the next.
    if (worker.in_flight.empty() || worker.in_flight.front().id != c.task_id) {
        bogus = "worker " + std::to_string(worker.pid) + " reported a task it was not given (or out of turn)";
        return;
    }
    Task &t = worker.in_flight.front();
    if (c.kind == shm::kPart) {
        // One part of a result larger than the worker's heap: copied out and handed back at once, so that the
        // worker has room for the next.
        if (!seg_->in_heap(static_cast<std::uint32_t>(w), c.offset, std::max<std::uint64_t>(c.length, 8))) {
            bogus = "worker " + std::to_string(worker.pid) + " sent a result part outside its heap";
            return;
        }
        try {
            t.streamed.append(seg_->at(c.offset), c.length);
        } catch (const std::bad_alloc &) {
            t.streamed.clear();
        }
        t.has_parts = true;
        seg_->release_result(static_cast<std::uint32_t>(w), c.offset);
        return;
    }
    settled.push_back(Settled{std::move(t), c, {}, worker.pid});
    worker.in_flight.pop_front();
}

void ProcessPool::ring_parent_bell(void *pool) {
    static_cast<ProcessPool *>(pool)->seg_->header().parent_bell.ring_all();
}

void ProcessPool::enter_collectors() {
    seg_->header().collectors.fetch_add(1, std::memory_order_seq_cst);
    collecting_here = this;
}

void ProcessPool::leave_collectors() {
    seg_->header().collectors.fetch_sub(1, std::memory_order_seq_cst);
    collecting_here = nullptr;
    // A worker that posted just before it could see this thread go has left its completion to it: the
    // supervisor takes it instead (the other side of the Dekker pair in the worker's wake_parent).
    if (completions_waiting()) signal_supervisor();
}

// For the length of one wait: the thread counts as a collector, and whatever wakes its waiter (a result another
// thread collected, a breakage) rings the doorbell the thread sleeps on. Undone on every way out.
class ProcessPool::CollectingWait {
public:
    CollectingWait(ProcessPool &pool, Waiter &w) : pool_(pool), w_(w) {
        // (A thread never begins a wait while counted: done-callbacks run uncounted, see collect_slot.)
        pool_.enter_collectors();
        w_.set_wake_hook(&ProcessPool::ring_parent_bell, &pool_);
    }
    ~CollectingWait() {
        w_.set_wake_hook(nullptr, nullptr);
        pool_.leave_collectors();
    }
    CollectingWait(const CollectingWait &) = delete;
    CollectingWait &operator=(const CollectingWait &) = delete;

private:
    ProcessPool &pool_;
    Waiter &w_;
};

namespace {
// How long a collecting thread may sleep at most: until the deadline, and never past the heartbeat (a task may
// have overwritten the doorbell, as it may close the supervisor's descriptor).
long long sleep_limit_ns(const Deadline &deadline) {
    using std::chrono::nanoseconds;
    long long ns = std::chrono::duration_cast<nanoseconds>(std::chrono::milliseconds(kHeartbeatMs)).count();
    if (deadline.infinite()) return ns;
    auto left = std::chrono::duration_cast<nanoseconds>(deadline.at() - std::chrono::steady_clock::now()).count();
    return std::max<long long>(0, std::min<long long>(ns, left));
}
}  // namespace

bool ProcessPool::collect_while_waiting(Waiter &w, const Deadline &deadline) {
    shm::Header &h = seg_->header();
    CollectingWait collecting(*this, w);
    auto news = [&] { return completions_waiting() || w.ready_now(); };
    for (;;) {
        collect_completions();
        if (w.ready_now()) return true;
        if (deadline.passed()) return w.ready_now();
        // Spin only on a CPU no worker or other spinner is counted on; else sleep until a worker rings.
        if (h.cpu.try_enter()) {
            bool found = spin_until(news, kWorkerSpinBudget);
            h.cpu.leave();
            if (found) continue;
        }
        h.parent_bell.sleep_unless(news, sleep_limit_ns(deadline));
    }
}

void ProcessPool::settle(Settled &done, int w) {
    Task &task = done.task;
    const shm::Completion &c = done.completion;
    Outcome &f = done.outcome;
    auto slot = static_cast<std::uint32_t>(w);
    // Every block a worker hands over is later given back through release_result, which writes an 8-byte link at
    // its start: the block must have room for it (heap_allocate never makes a smaller one).
    bool in_heap = c.kind != shm::kEmpty && seg_->in_heap(slot, c.offset, std::max<std::uint64_t>(c.length, 8));
    std::string_view block = in_heap ? std::string_view(seg_->at(c.offset), c.length) : std::string_view();
    auto malformed = [&](const char *what) {
        f.set_failure(remote_failure(Status::BrokenProcessPool, "BrokenProcessPool",
                                   std::string("worker sent a malformed completion: ") + what,
                                   "task '" + task.name + "' in worker " + std::to_string(done.pid)));
    };
    if (c.kind == shm::kEmpty) {
        if (c.status == 0 && !task.has_parts) {
            f.set_bytes({});
        } else if (c.status == static_cast<std::int32_t>(Status::Cancelled)) {
            // Stopped before it started (cancel_running): its future is cancelled already.
            f.set_failure(make_failure(Status::Cancelled, "CancelledError", "cancelled before it started"));
        } else if (c.status == static_cast<std::int32_t>(Status::TooLarge)) {
            f.set_failure(remote_failure(Status::TooLarge, "TooLargeError",
                                       "the task's result did not fit the worker's result heap",
                                       "task '" + task.name + "'"));
        } else {
            malformed("a failure without its description");
        }
        return;
    }
    if (!in_heap) return malformed("a block outside the worker's heap");
    // A result that arrived in parts is whole in private memory now; the last part goes back to the worker.
    if (task.has_parts) {
        std::size_t before = task.streamed.size();
        try {
            if (before) task.streamed.append(block);
        } catch (const std::bad_alloc &) {
            before = 0;
        }
        seg_->release_result(slot, c.offset);
        if (before == 0) {
            f.set_failure(remote_failure(Status::NoMemory, "MemoryError",
                                       "no memory in the caller for a result of task '" + task.name + "'"));
            return;
        }
        block = task.streamed;
    }
    switch (c.kind) {
        case shm::kBytes:
            if (c.status != 0) return malformed("a result with a failure status");
            if (task.has_parts) {
                f.set_bytes(std::move(task.streamed));
            } else if (copy_results_.load(std::memory_order_relaxed) ||
                       seg_->held(slot) + c.length > seg_->heap_size() / 2) {
                // Results the caller holds may take half the worker's heap; past that they move to the caller's
                // memory, so that the heap always has room for the results still to come. (And all of them, in a
                // pool whose workers' heaps may have to be rebuilt: see copy_results_.)
                std::string copy(block);
                seg_->release_result(slot, c.offset);
                f.set_bytes(std::move(copy));
            } else {
                f.set_value(std::make_unique<SharedBytes>(seg_, slot, c.offset, c.length));
            }
            return;
        case shm::kErrorRecord: {
            auto failure = wire::decode_failure(block);
            if (!task.has_parts) seg_->release_result(slot, c.offset);
            if (!failure) return malformed("an unreadable error record");
            failure->remote = true;
            f.set_failure(std::move(*failure));
            return;
        }
        case shm::kChunkResults: {
            auto chunk = wire::decode_chunk_results(block);
            if (!task.has_parts) seg_->release_result(slot, c.offset);
            if (!chunk) return malformed("unreadable chunk results");
            if (chunk->failure) chunk->failure->remote = true;
            f.set_value(std::make_unique<TypedValue<ChunkResults>>(std::move(*chunk)));
            return;
        }
        default:
            if (!task.has_parts) seg_->release_result(slot, c.offset);
            malformed("an unknown result kind");
    }
}

// ---- workers' lives

void ProcessPool::start_workers() {
    // Called with mu_ held, on the supervisor thread: a worker's parent-death signal is tied to the thread that
    // forked it, and this thread lives as long as the pool.
    std::size_t live = live_.load(std::memory_order_relaxed);
    std::size_t want = config_.start_method == StartMethod::Fork ? n_lanes() - live : 1;
    std::vector<std::size_t> started;
    auto record = [&](Worker &w, pid_t pid, int pidfd, bool alive) {
        std::lock_guard<SpinMutex> lane_lock(w.mu);
        w.pid = pid;
        w.pidfd = pidfd;
        w.alive = alive;
        w.dispatched = 0;
        // A worker starts with an empty ring (what its predecessor held was failed or finished).
        w.accepting.store(alive, std::memory_order_relaxed);
    };
    for (std::size_t i = 0; i < n_lanes() && want > 0; ++i) {
        Worker &w = workers_[i];
        if (w.alive) continue;
        // The start-up handshake: the new worker moves its slot out of kUnused when it reaches the worker loop.
        shm::WorkerControl &slot = seg_->slot(static_cast<std::uint32_t>(i));
        slot.state.store(shm::kUnused, std::memory_order_release);
        slot.wake_lost.store(0, std::memory_order_relaxed);
        slot.running.store(0, std::memory_order_relaxed);
        slot.finished.store(0, std::memory_order_relaxed);
        slot.doomed.store(0, std::memory_order_relaxed);
        {
            // A slot whose worker died may hold tasks it never took (they wait in the queue again) and, in
            // theory, completions posted after its last collection: the new worker starts with both rings empty.
            std::lock_guard<std::mutex> consumer(collectors_[i].mu);
            slot.tasks.discard();
            slot.done.discard();
        }
        if (w.heap_suspect) {
            // Killed or crashed, perhaps inside its heap's allocator: the new worker builds a new heap, which is
            // safe only while the caller holds nothing in the old one.
            if (seg_->held(static_cast<std::uint32_t>(i)) != 0)
                throw InvalidStateError("worker slot " + std::to_string(i) + " cannot get a new worker: its last "
                                        "one was killed while results it made are still held in its heap (a "
                                        "pool made with on_worker_death REPLACE or cancel_running copies results "
                                        "out, and can always replace its workers)");
            slot.free_list.store(0, std::memory_order_relaxed);
            slot.heap_ready.store(0, std::memory_order_release);
            w.heap_suspect = false;
        }
        if (w.ever_started) workers_replaced_.fetch_add(1, std::memory_order_relaxed);
        w.ever_started = true;
        pid_t pid = launcher_->start_worker(static_cast<std::uint32_t>(i));
        workers_started_count_.fetch_add(1, std::memory_order_relaxed);
        int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
        if (pidfd < 0 && errno == ESRCH && launcher_->reaped_elsewhere(pid)) {
            // A forkserver's worker that ended at once (a failing initializer) may be reaped by the server
            // before we look: it is recorded without a pidfd and reaped on the next round.
            w.serving = false;
            w.launched = Clock::now();
            record(w, pid, -1, true);
            live_.fetch_add(1, std::memory_order_relaxed);
            --want;
            continue;
        }
        if (pidfd < 0) {
            std::string why = std::string("pidfd_open: ") + std::strerror(errno);
            kill(pid, SIGKILL);
            wait_worker(pid);
            // The workers this call started go too, and their descriptors with them, before anything else
            // (even the exception) may need one: out of descriptors is the likely cause.
            for (std::size_t j : started) {
                Worker &s = workers_[j];
                kill(s.pid, SIGKILL);
                wait_worker(s.pid);
                if (s.pidfd >= 0) close(s.pidfd);
                record(s, 0, -1, false);
                live_.fetch_sub(1, std::memory_order_relaxed);
            }
            throw SystemError(why);
        }
        fcntl(pidfd, F_SETFD, FD_CLOEXEC);
        if (w.pidfd >= 0) close(w.pidfd);
        w.serving = false;
        w.launched = Clock::now();
        record(w, pid, pidfd, true);
        live_.fetch_add(1, std::memory_order_relaxed);
        started.push_back(i);
        --want;
    }
}

void ProcessPool::reap(int w) {
    std::vector<Task> failed;
    std::vector<std::pair<Task, Failure>> lost;  // the one task a replaced worker took with it
    std::string why, replaced;
    bool broke = false;  // this death broke the pool (logged once, by the death that did it)
    {
        std::lock_guard<SpinMutex> lock(mu_);
        Worker &worker = lane(w);
        int status = wait_worker(worker.pid);
        std::deque<Task> in_flight;
        std::uint64_t doomed;
        Status doom_reason;
        {
            std::lock_guard<SpinMutex> lane_lock(worker.mu);
            worker.alive = false;
            worker.accepting.store(false, std::memory_order_relaxed);
            if (worker.pidfd >= 0) close(worker.pidfd);
            worker.pidfd = -1;
            in_flight.swap(worker.in_flight);
            worker.depth.store(0, std::memory_order_seq_cst);
            doomed = std::exchange(worker.doomed, 0);
            doom_reason = worker.doom_reason;
            worker.heap_suspect = true;  // unless it ended cleanly (below)
        }
        live_.fetch_sub(1, std::memory_order_relaxed);
        forget_cpu(w);
        const shm::WorkerControl &slot = seg_->slot(static_cast<std::uint32_t>(w));
        bool clean = status == kStatusUnknown || (WIFEXITED(status) && WEXITSTATUS(status) == 0);
        bool retired = clean && in_flight.empty();
        if (retired && !stopped_) {  // max_tasks_per_child, or asked to exit: a clean end
            std::lock_guard<SpinMutex> lane_lock(worker.mu);
            worker.heap_suspect = false;
            return;
        }
        bool init_failed = slot.state.load() == shm::kInitFailed;
        bool never_served = slot.state.load() == shm::kUnused;
        std::string death = "worker " + std::to_string(worker.pid) + " " + describe_exit(status);
        // The task it was on: the oldest of its ring, if it had begun it (a worker runs its ring in order).
        std::uint64_t running = slot.running.load(std::memory_order_acquire);
        bool front_ran = !in_flight.empty() && (running == in_flight.front().id || doomed == in_flight.front().id);
        // Killed by the pool itself (a time limit, cancel_running): only that task ends; the pool goes on. A
        // death nobody asked for: the same with replace_dead, within the restart intensity (one that died before
        // it could serve included: a worker that can never start breaks the pool that way); else the pool breaks.
        bool deliberate = doomed != 0;
        bool open = !stopped_ && broken_.empty() && !init_failed;
        if (open && !deliberate) {
            if (config_.replace_dead) worker_deaths_.fetch_add(1, std::memory_order_relaxed);
            open = config_.replace_dead && restart_allowed_locked();
        }
        if (open) {
            if (!deliberate)
                replaced = death + (front_ran ? " while running task '" + in_flight.front().name + "'" : "") +
                           "; a new worker takes its place";
            if (front_ran) {
                Task t = std::move(in_flight.front());
                in_flight.pop_front();
                give_back_block(t);
                // Killed for cancel(): the thread cancelling it marks the future cancelled itself.
                if (!(deliberate && doom_reason == Status::Cancelled)) {
                    Failure f = deliberate ? time_limit_failure(t, worker.pid)
                                           : make_failure(Status::WorkerDied, "WorkerDiedError",
                                                          death + " while running task '" + t.name + "'",
                                                          "the pool replaces the worker (on_worker_death REPLACE)");
                    lost.emplace_back(std::move(t), std::move(f));
                }
            }
            requeue_locked(in_flight);
        } else {
            if (init_failed) {
                char text[sizeof slot.init_error + 1] = {};
                std::memcpy(text, slot.init_error, sizeof slot.init_error);
                why = "A process in the process pool was terminated abruptly: its initializer failed (" +
                      std::string(text) + ")";
            } else {
                why = death;
                if (!in_flight.empty()) why += " while running task '" + in_flight.front().name + "'";
                // (The hint about the worker entry only when nobody stopped the pool meanwhile.)
                if (never_served) why += " before it started serving" + (stopped_ ? "" : never_started_hint());
                if (config_.replace_dead && !deliberate && broken_.empty() && !stopped_) {
                    std::ostringstream period;
                    period << config_.restart_period;
                    why += " (more than " + std::to_string(config_.max_restarts) + " workers died within " +
                           period.str() + " s)";
                }
            }
            for (Task &t : in_flight) {
                give_back_block(t);
                failed.push_back(std::move(t));
            }
            // terminate/kill_workers: what was running fails; the pool is simply over. Otherwise the pool breaks
            // (this death breaks it unless an earlier one did).
            broke = !stopped_ && broken_.empty();
            if (!(stopped_ && broken_.empty())) break_pool_locked(why, failed);
        }
    }
    if (!replaced.empty()) log_message(LogLevel::Warning, replaced);
    for (auto &[t, f] : lost) {
        if (f.status == Status::TimeLimit) log_message(LogLevel::Info, f.message + ": " + f.detail);
        t.promise.future_base().native_handle()->set_failure(std::move(f));
    }
    if (broke) log_message(LogLevel::Error, "process pool broken: " + why);
    fail_all(failed, why);
    // The waiting tasks need a worker: the supervisor starts one on its next round.
    drain_pending();
}

Failure ProcessPool::time_limit_failure(const Task &t, pid_t killed) {
    std::ostringstream secs;
    secs << t.time_limit;
    return make_failure(Status::TimeLimit, "TimeLimitError",
                        "task '" + t.name + "' ran past its time limit of " + secs.str() + " s",
                        "worker " + std::to_string(killed) + " was killed; a new worker takes its place");
}

bool ProcessPool::restart_allowed_locked() {
    Clock::time_point now = Clock::now();
    auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config_.restart_period));
    while (!deaths_.empty() && now - deaths_.front() > period) deaths_.pop_front();
    deaths_.push_back(now);
    return deaths_.size() <= config_.max_restarts;
}

void ProcessPool::requeue_locked(std::deque<Task> &tasks) {
    if (tasks.empty()) return;
    std::lock_guard<SpinMutex> pending_lock(pending_mu_);
    for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) pending_.push_front(std::move(*it));
    tasks.clear();
    pending_count_.store(pending_.size(), std::memory_order_seq_cst);
}

bool ProcessPool::stop_running(std::uint32_t lane_index, std::uint64_t id) {
    if (lane_index >= n_lanes()) return false;
    int w = static_cast<int>(lane_index);
    {
        std::lock_guard<SpinMutex> lane_lock(lane(w).mu);
        for (const Task &t : lane(w).in_flight)
            if (t.id == id) return stop_task_locked(w, id, Status::Cancelled);
    }
    // Not in that worker's ring: finished, or waiting again after its worker died (then it is dropped when its
    // turn comes, its future being cancelled).
    std::lock_guard<SpinMutex> pending_lock(pending_mu_);
    for (const Task &t : pending_)
        if (t.started && t.lane == w && t.id == id) return true;
    return false;
}

bool ProcessPool::stop_task_locked(int w, std::uint64_t id, Status reason) {
    Worker &worker = lane(w);
    if (!worker.alive) return true;  // it dies anyway; the task waits again or fails with it
    if (worker.doomed) return true;  // being killed already: the tasks behind the one it runs wait again
    shm::WorkerControl &c = seg_->slot(static_cast<std::uint32_t>(w));
    // The other half of the worker's begin_task / end_task (both sequentially consistent): if the worker does
    // not show the task as running here, it either has not begun it (and will see `doomed` and skip it) or has
    // finished it (and waits on doom_bell until the word is cleared).
    c.doomed.store(id, std::memory_order_seq_cst);
    if (c.running.load(std::memory_order_seq_cst) == id) {
        worker.doomed = id;
        worker.doom_reason = reason;
        worker.accepting.store(false, std::memory_order_relaxed);
        kill(worker.pid, SIGKILL);
        signal_supervisor();
        return true;
    }
    if (c.finished.load(std::memory_order_seq_cst) >= id) {
        c.doomed.store(0, std::memory_order_seq_cst);
        c.doom_bell.ring_all();
        return false;
    }
    return true;
}

namespace {
std::int64_t monotonic_ns() {
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return std::int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// Where the task at the head of a worker's ring started, if it is running: its start in CLOCK_MONOTONIC ns.
bool started_at(const shm::WorkerControl &c, std::uint64_t id, std::int64_t &ns) {
    if (c.running.load(std::memory_order_seq_cst) != id) return false;
    ns = c.started_ns.load(std::memory_order_relaxed);
    return c.running.load(std::memory_order_seq_cst) == id;
}
}  // namespace

template <class Visit>
void ProcessPool::for_each_limited_task(Visit visit) const {
    std::int64_t now = monotonic_ns();
    for (std::size_t i = 0; i < n_lanes(); ++i) {
        const Worker &w = workers_[i];
        std::lock_guard<SpinMutex> lane_lock(w.mu);
        if (!w.alive || w.doomed || w.in_flight.empty()) continue;
        const Task &t = w.in_flight.front();
        if (t.time_limit == std::numeric_limits<double>::infinity()) continue;
        std::int64_t started;
        if (!started_at(seg_->slot(static_cast<std::uint32_t>(i)), t.id, started)) continue;
        visit(static_cast<int>(i), t, t.time_limit - static_cast<double>(now - started) / 1e9);
    }
}

void ProcessPool::check_time_limits() {
    // (Under the lane's lock, which stop_task_locked wants.)
    for_each_limited_task([this](int w, const Task &t, double left_s) {
        if (left_s <= 0) stop_task_locked(w, t.id, Status::TimeLimit);
    });
}

ProcessPool::Clock::time_point ProcessPool::next_time_limit_locked() const {
    Clock::time_point next = Clock::time_point::max(), now = Clock::now();
    for_each_limited_task([&](int, const Task &, double left_s) {
        next = std::min(next, now + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(std::max(left_s, 0.0))));
    });
    return next;
}

void ProcessPool::forget_cpu(int w) {
    // A worker that ended while counted on a CPU leaves the count to its parent.
    if (seg_->slot(static_cast<std::uint32_t>(w)).on_cpu.exchange(0)) seg_->header().cpu.leave();
}

void ProcessPool::break_pool(const std::string &why) {
    std::vector<Task> failed;
    std::string reason;
    {
        std::lock_guard<SpinMutex> lock(mu_);
        break_pool_locked(why, failed);
        reason = broken_;
    }
    // The futures complete without the lock: their callbacks may call back into the pool.
    fail_all(failed, reason);
}

void ProcessPool::break_pool_locked(const std::string &why, std::vector<Task> &failed) {
    if (broken_.empty()) broken_ = why;
    // Closed first: a submitter that takes a lane's or the queue's lock after the sweep below sees it.
    closed_.store(true, std::memory_order_seq_cst);
    halted_.store(true, std::memory_order_seq_cst);
    auto take = [&](std::deque<Task> &tasks) {
        for (Task &t : tasks) {
            give_back_block(t);
            failed.push_back(std::move(t));
        }
        tasks.clear();
    };
    {
        std::lock_guard<SpinMutex> pending_lock(pending_mu_);
        take(pending_);
        pending_count_.store(0, std::memory_order_seq_cst);
    }
    for (std::size_t i = 0; i < n_lanes(); ++i) {
        Worker &w = workers_[i];
        std::lock_guard<SpinMutex> lane_lock(w.mu);
        w.accepting.store(false, std::memory_order_relaxed);
        take(w.in_flight);
        w.depth.store(0, std::memory_order_seq_cst);
        // As CPython does, the other workers go too: a broken pool runs nothing more.
        if (w.alive) kill(w.pid, SIGKILL);
    }
    store_->wake_waiters();
}

void ProcessPool::fail_all(std::vector<Task> &tasks, const std::string &why) {
    for (Task &t : tasks) {
        FutureState &f = *t.promise.future_base().native_handle();
        // As in CPython, pending futures fail with the pool too (those cancelled by shutdown are gone already).
        f.set_failure(remote_failure(Status::BrokenProcessPool, "BrokenProcessPool", why, "task '" + t.name + "': " + why));
    }
}

bool ProcessPool::finished_locked() const {
    if (!broken_.empty() || stopped_) return live_.load(std::memory_order_relaxed) == 0;
    if (!shutdown_) return false;
    // Exact, not from the counters: a submitter that saw the pool open holds a lane's or the queue's lock
    // until its task is there, and one that comes later sees it closed.
    {
        std::lock_guard<SpinMutex> pending_lock(pending_mu_);
        if (!pending_.empty()) return false;
    }
    for (std::size_t i = 0; i < n_lanes(); ++i) {
        std::lock_guard<SpinMutex> lane_lock(workers_[i].mu);
        if (!workers_[i].in_flight.empty()) return false;
    }
    return true;
}

int ProcessPool::wait_worker(pid_t pid) { return launcher_->wait_status(pid); }

void ProcessPool::stop_workers() {
    std::vector<int> live;
    {
        std::lock_guard<SpinMutex> lock(mu_);
        for (std::size_t i = 0; i < n_lanes(); ++i) {
            Worker &w = workers_[i];
            if (!w.alive) continue;
            shm::WorkerControl &c = seg_->slot(static_cast<std::uint32_t>(i));
            std::lock_guard<SpinMutex> lane_lock(w.mu);  // the ring's producer
            w.accepting.store(false, std::memory_order_relaxed);
            // A worker whose ring cannot take the request is killed (the wait below reaps it).
            if (!c.tasks.try_push(shm::TaskDescriptor{0, 0, 0, 0, 0, shm::kExit, 0})) kill(w.pid, SIGKILL);
            c.task_bell.ring(1);
            live.push_back(static_cast<int>(i));
        }
    }
    // An idle worker leaves at once; one that cannot answer (stopped, or stuck outside any task) is killed.
    auto deadline = Clock::now() + std::chrono::milliseconds(kExitGraceMs);
    for (int i : live) {
        Worker &w = lane(i);
        if (w.pidfd >= 0) {
            pollfd p{w.pidfd, POLLIN, 0};
            for (;;) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
                int n = poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
                if (n > 0 || (n == 0 && left <= 0)) break;
                if (n < 0 && errno != EINTR) break;
            }
            if (!(p.revents & POLLIN)) kill(w.pid, SIGKILL);
        }
        wait_worker(w.pid);
        std::lock_guard<SpinMutex> lock(mu_);
        {
            std::lock_guard<SpinMutex> lane_lock(w.mu);
            w.alive = false;
        }
        live_.fetch_sub(1, std::memory_order_relaxed);
        forget_cpu(i);
    }
}

// ---- shutting down

void ProcessPool::shutdown(bool wait, bool cancel_futures) {
    std::vector<Task> cancelled;
    std::vector<FutureBase> running;  // cancel_running: the tasks in the workers' rings, to cancel
    {
        std::lock_guard<SpinMutex> lock(mu_);
        shutdown_ = true;
        closed_.store(true, std::memory_order_seq_cst);
        if (cancel_futures) {
            {
                std::lock_guard<SpinMutex> pending_lock(pending_mu_);
                for (Task &t : pending_) {
                    give_back_block(t);
                    cancelled.push_back(std::move(t));
                }
                pending_.clear();
                pending_count_.store(0, std::memory_order_seq_cst);
            }
            // Running tasks are asked to stop (cf_task_cancel_requested), as on a thread pool; but not when the
            // workers are about to be killed (stop_now): those tasks fail with BrokenProcessPool, and must not
            // finish first with whatever they return on a cancel request. With cancel_running, every task
            // handed to a worker is cancelled (below, without the locks: cancel() stops it through the pool).
            for (std::size_t i = 0; i < n_lanes() && !stopped_; ++i) {
                Worker &w = workers_[i];
                std::lock_guard<SpinMutex> lane_lock(w.mu);
                if (config_.cancel_running) {
                    for (Task &t : w.in_flight) running.push_back(t.promise.future_base());
                } else if (w.alive && !w.in_flight.empty()) {
                    seg_->slot(static_cast<std::uint32_t>(i)).cancel_task.store(w.in_flight.front().id);
                }
            }
        }
        store_->wake_waiters();
    }
    for (Task &t : cancelled) t.promise.future_base().native_handle()->cancel();
    for (FutureBase &f : running) f.native_handle()->cancel();
    signal_supervisor();
    if (!wait || on_supervisor()) return;
    {
        std::unique_lock<SpinMutex> lock(mu_);
        done_cv_.wait(lock, [this] { return supervisor_done_; });
    }
    // Join here rather than in the destructor, so that the pool's segment and descriptors are released by the
    // time shutdown returns, on this thread, and not later on the supervisor's.
    std::lock_guard<std::mutex> lock(join_mu_);
    if (supervisor_.joinable()) supervisor_.join();
}

void ProcessPool::terminate_workers() { stop_now(SIGTERM); }
void ProcessPool::kill_workers() { stop_now(SIGKILL); }

void ProcessPool::stop_now(int signal) {
    check_creator_process(signal == SIGKILL ? "kill_workers" : "terminate_workers");
    {
        std::lock_guard<SpinMutex> lock(mu_);
        stopped_ = true;
        shutdown_ = true;
        closed_.store(true, std::memory_order_seq_cst);
        halted_.store(true, std::memory_order_seq_cst);
    }
    shutdown(false, true);  // what has not started is cancelled; the supervisor fails what was running
    {
        std::lock_guard<SpinMutex> lock(mu_);
        for (std::size_t i = 0; i < n_lanes(); ++i) {
            Worker &w = workers_[i];
            if (!w.alive) continue;
            kill(w.pid, signal);
            if (signal != SIGKILL) kill(w.pid, SIGCONT);  // a stopped worker must see the SIGTERM now
        }
        // A worker that ignores SIGTERM (or blocks it) gets SIGKILL after a short grace: the supervisor sends it.
        if (signal != SIGKILL) kill_at_ = Clock::now() + kTerminateGrace;
    }
    signal_supervisor();
}

std::vector<pid_t> ProcessPool::worker_pids() const {
    std::lock_guard<SpinMutex> lock(mu_);
    std::vector<pid_t> pids;
    for (std::size_t i = 0; i < n_lanes(); ++i)
        if (workers_[i].alive) pids.push_back(workers_[i].pid);
    return pids;
}

ExecutorStats ProcessPool::stats() const {
    ExecutorStats out;
    read_counters(out);
    out.worker_deaths = worker_deaths_.load(std::memory_order_relaxed);
    out.workers_replaced = workers_replaced_.load(std::memory_order_relaxed);
    out.queued = pending_count_.load(std::memory_order_relaxed);
    // From the lanes' atomics: a worker runs the oldest task of its ring, the others wait there.
    for (std::size_t i = 0; i < n_lanes(); ++i) {
        const Worker &w = workers_[i];
        if (!w.accepting.load(std::memory_order_relaxed) && w.depth.load(std::memory_order_relaxed) == 0) continue;
        std::uint32_t depth = w.depth.load(std::memory_order_relaxed);
        out.running += depth > 0;
        out.queued += depth > 0 ? depth - 1 : 0;
    }
    out.workers = live_.load(std::memory_order_relaxed);
    out.idle_workers = out.workers > out.running ? out.workers - out.running : 0;
    out.max_workers = config_.max_workers;
    out.workers_started = workers_started_count_.load(std::memory_order_relaxed);
    return out;
}

}  // namespace cf::core
