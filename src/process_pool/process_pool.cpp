#include "process_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "common/spin.hpp"
#include "futex.hpp"
#include "registry/registry.hpp"
#include "wire.hpp"
#include "worker.hpp"

extern char **environ;

namespace cf::detail {
namespace {

constexpr std::size_t kDeepQueue = 8;  // tasks in flight per worker when the backlog is long

std::size_t usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(CPU_COUNT(&set));
    return 1;
}

[[noreturn]] void throw_errno(const std::string &what) { throw SystemError(what + ": " + std::strerror(errno)); }

// How a worker ended, in words: "terminated by signal 9 (SIGKILL)" or "exited with code 3".
std::string describe_exit(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        return "terminated by signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
    }
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    return "ended (status " + std::to_string(status) + ")";
}

// A result read in place from a worker's heap; handed back to the worker when the future lets go of it.
class SharedBytes final : public ValueHolder {
public:
    SharedBytes(std::shared_ptr<Segment> seg, std::uint32_t slot, std::uint64_t offset, std::uint64_t len)
        : seg_(std::move(seg)), slot_(slot), offset_(offset), len_(len) {}
    ~SharedBytes() override { seg_->release_result(slot_, offset_); }
    std::string_view bytes() const noexcept override { return {seg_->at(offset_), static_cast<std::size_t>(len_)}; }

private:
    std::shared_ptr<Segment> seg_;
    std::uint32_t slot_;
    std::uint64_t offset_, len_;
};

// A failure that happened in (or to) a worker process: C++ sees it as RemoteError.
Failure remote_failure(Status status, std::string type, std::string message, std::string detail = {}) {
    Failure f = make_failure(status, std::move(type), std::move(message), std::move(detail));
    f.remote = true;
    return f;
}

}  // namespace

// ---- creation

std::shared_ptr<ProcessPool> ProcessPool::create(Config config) {
    if (config.max_workers > kMaxWorkers)
        throw InvalidArgument("max_workers must be at most " + std::to_string(kMaxWorkers) + " (got " +
                              std::to_string(config.max_workers) + ")");
    if (config.start_method != StartMethod::Fork && config.start_method != StartMethod::Spawn &&
        config.start_method != StartMethod::Forkserver)
        throw InvalidArgument("unknown start method");
    if (config.start_method == StartMethod::Fork && config.max_tasks_per_child)
        throw InvalidArgument("max_tasks_per_child cannot be used with the fork start method (as in CPython): "
                              "use forkserver or spawn");
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
}

void ProcessPool::start() {
    // Each worker's result heap is as large as the arena, within a bound on the whole (sparse) mapping.
    std::size_t heap = std::min(config_.shared_memory_bytes,
                                std::max<std::size_t>(std::size_t(64) << 20, (std::size_t(64) << 30) / config_.max_workers));
    seg_ = Segment::create(static_cast<std::uint32_t>(config_.max_workers), config_.shared_memory_bytes, heap);
    shm::Header &h = seg_->header();
    h.max_tasks_per_child = config_.max_tasks_per_child;
    if (!config_.initializer.empty()) {
        // Any bytes can be kept like a task name: the initarg too.
        if (!name_in_arena_locked(config_.initializer) || !name_in_arena_locked(config_.initarg))
            throw TooLargeError("the initializer's argument does not fit the pool's arena");
        std::tie(h.init_name_offset, h.init_name_len) = names_.at(config_.initializer);
        std::tie(h.initarg_offset, h.initarg_len) = names_.at(config_.initarg);
    }
    event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) throw_errno("eventfd");
    if (config_.start_method == StartMethod::Spawn) {
        program_ = config_.worker_program;
        if (program_.empty()) {
            char path[PATH_MAX];
            ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
            if (n <= 0) throw_errno("readlink /proc/self/exe");
            program_.assign(path, static_cast<std::size_t>(n));
        }
    }
    if (config_.start_method == StartMethod::Forkserver) forkserver_ = ForkServerClient::connect(*seg_, event_fd_);
    workers_.resize(config_.max_workers);
    supervisor_ = std::thread([self = shared_from_this()] { self->supervise(); });
    if (config_.start_method != StartMethod::Fork) return;
    // Fork starts every worker now, while the creating thread waits here: the fewer threads are busy during a
    // fork, the less chance that one holds a lock the child will need (an allocator without fork handlers, as
    // under AddressSanitizer). Later forks never happen with this method (no max_tasks_per_child).
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return workers_started_ || !broken_.empty(); });
    if (!workers_started_) {  // could not fork (a break after the start is reported on the futures instead)
        lock.unlock();
        shutdown(true, false);
        throw BrokenProcessPool(broken_);
    }
}

namespace {
thread_local const ProcessPool *supervised_here = nullptr;  // the pool whose supervisor this thread is
}

bool ProcessPool::on_supervisor() const noexcept { return supervised_here == this; }

ProcessPool::~ProcessPool() {
    // Normally shutdown(wait) has joined the supervisor. Without a waiting shutdown, the supervisor's own
    // reference may be the last one; then this runs on it, which cannot join itself.
    if (supervisor_.joinable()) {
        if (on_supervisor()) supervisor_.detach(); else supervisor_.join();
    }
    for (Worker &w : workers_)
        if (w.pidfd >= 0) close(w.pidfd);
    if (event_fd_ >= 0) close(event_fd_);
}

// ---- submitting

FutureBase ProcessPool::submit_job(std::unique_ptr<Job>) {
    throw InvalidArgument("a process pool runs registered tasks only (cf_task_register / CF_TASK)");
}

FutureBase ProcessPool::submit_call(const TaskCall &call, std::string_view arg) {
    auto task = find_task(call);
    if (!task) throw UnknownTaskError("the function is not registered (cf_task_register / CF_TASK), so no "
                                      "worker process can find it");
    return enqueue(task->name, arg, shm::kSingle);
}

FutureBase ProcessPool::submit_named(std::string_view name, std::string_view arg) {
    // A separate worker program has its own registry: then the worker reports an unknown name on the future.
    if (config_.worker_program.empty() && !find_task(name))
        throw UnknownTaskError("no task is registered as '" + std::string(name) + "'");
    return enqueue(std::string(name), arg, shm::kSingle);
}

FutureBase ProcessPool::submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) {
    auto task = find_task(call);
    if (!task) throw UnknownTaskError("the function is not registered (cf_task_register / CF_TASK)");
    return enqueue(task->name, wire::encode_chunk_args(args), shm::kChunk);
}

bool ProcessPool::name_in_arena_locked(const std::string &name) {
    if (names_.count(name)) return true;
    void *p = seg_->arena_allocate(name.size());
    if (!p) return false;
    std::memcpy(p, name.data(), name.size());
    names_.emplace(name, std::make_pair(seg_->offset_of(p), static_cast<std::uint64_t>(name.size())));
    return true;
}

FutureBase ProcessPool::enqueue(const std::string &name, std::string_view bytes, shm::TaskKind kind) {
    if (bytes.size() > seg_->arena_capacity())
        throw TooLargeError("an argument of " + std::to_string(bytes.size()) + " bytes can never fit the pool's " +
                            "arena of " + std::to_string(seg_->arena_capacity()) +
                            " bytes (raise shared_memory_bytes)");
    Task t;
    t.name = name;
    t.arg_len = bytes.size();
    t.kind = kind;
    FutureBase future = t.promise.future_base();
    std::unique_lock<std::mutex> lock(mu_);
    // A full arena makes submit wait for room, as a full queue would. Only the supervisor frees room, so when it
    // is the one submitting (from a done-callback) the argument waits in private memory instead.
    bool on_supervisor = this->on_supervisor();
    for (;;) {
        if (!broken_.empty()) throw BrokenProcessPool(broken_);
        if (shutdown_) throw ShutdownError("cannot schedule new futures after shutdown");
        if (name_in_arena_locked(name) && (t.arg_block = seg_->arena_allocate(bytes.size()))) break;
        if (on_supervisor) {
            t.spill.assign(bytes.data(), bytes.size());
            break;
        }
        space_cv_.wait(lock);
    }
    if (t.arg_block) {
        // The copy into shared memory is made without the lock: other submitters and the supervisor go on.
        lock.unlock();
        if (!bytes.empty()) std::memcpy(t.arg_block, bytes.data(), bytes.size());
        lock.lock();
    }
    if (!broken_.empty() || shutdown_) {
        seg_->arena_free(t.arg_block);
        space_cv_.notify_all();
        if (!broken_.empty()) throw BrokenProcessPool(broken_);
        throw ShutdownError("cannot schedule new futures after shutdown");
    }
    std::uint64_t id = next_id_++;
    tasks_.emplace(id, std::move(t));
    pending_.push_back(id);
    dispatch_locked();
    return future;
}

// ---- handing tasks to workers

int ProcessPool::pick_worker_locked() const {
    std::size_t live = 0;
    int best = -1;
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        const Worker &w = workers_[i];
        if (!w.alive) continue;
        if (config_.max_tasks_per_child && w.dispatched >= config_.max_tasks_per_child) continue;
        ++live;
        if (w.in_flight.empty()) return static_cast<int>(i);  // an idle worker first
        if (best < 0 || w.in_flight.size() < workers_[best].in_flight.size()) best = static_cast<int>(i);
    }
    // With a long backlog and every worker started, keep a few tasks queued in each worker's ring so that none
    // waits for the parent; otherwise hand out one at a time, so that long tasks spread evenly and a free slot
    // gets a new worker rather than a place behind a busy one.
    bool all_started = live == workers_.size();
    if (best >= 0 && all_started && pending_.size() > live && workers_[best].in_flight.size() < kDeepQueue)
        return best;
    return -1;
}

bool ProcessPool::wants_worker_locked() const {
    std::size_t live = 0, idle = 0;
    for (const Worker &w : workers_) {
        if (!w.alive) continue;
        ++live;
        idle += w.in_flight.empty() && !(config_.max_tasks_per_child && w.dispatched >= config_.max_tasks_per_child);
    }
    if (live >= workers_.size() || pending_.empty()) return false;
    // Fork starts the whole pool at once (see start()); the others start a worker only when none is idle.
    if (config_.start_method == StartMethod::Fork) return live == 0 && broken_.empty();
    return idle < pending_.size() && broken_.empty();
}

void ProcessPool::push_task_locked(int w, std::uint64_t id, Task &t) {
    auto names = names_.find(t.name)->second;
    shm::WorkerControl &c = seg_->slot(static_cast<std::uint32_t>(w));
    std::uint64_t tail = c.tasks.tail.load(std::memory_order_relaxed);
    c.tasks.slots[tail % shm::kRingSlots] =
        shm::TaskDescriptor{id, names.first, names.second, seg_->offset_of(t.arg_block), t.arg_len, t.kind, 0};
    c.tasks.tail.store(tail + 1, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (c.sleeping.load(std::memory_order_relaxed)) {
        c.wake_word.fetch_add(1, std::memory_order_release);
        futex_wake(c.wake_word, 1);
    }
    t.worker = w;
    Worker &worker = workers_[static_cast<std::size_t>(w)];
    worker.in_flight.push_back(id);
    ++worker.dispatched;
}

void ProcessPool::dispatch_locked() {
    while (!pending_.empty()) {
        int w = pick_worker_locked();
        if (w < 0) break;
        std::uint64_t id = pending_.front();
        Task &t = tasks_.at(id);
        if (!t.arg_block) {  // it waits in private memory for room in the arena
            if (!name_in_arena_locked(t.name) || !(t.arg_block = seg_->arena_allocate(t.arg_len))) break;
            std::memcpy(t.arg_block, t.spill.data(), t.arg_len);
            std::string().swap(t.spill);
        }
        pending_.pop_front();
        // Where a cancel() of the running task must write, known before anyone can see it running.
        t.promise.future_base().native_handle()->set_remote_cancel(&seg_->slot(static_cast<std::uint32_t>(w)).cancel_task, id);
        // Not pending any more: cancelled while it waited, or finished by a holder of the future.
        if (!t.promise.future_base().native_handle()->try_start()) {
            seg_->arena_free(t.arg_block);
            tasks_.erase(id);
            space_cv_.notify_all();
            continue;
        }
        push_task_locked(w, id, t);
    }
    if (wants_worker_locked()) signal_supervisor();
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
        std::lock_guard<std::mutex> lock(mu_);
        try {
            start_workers();
            workers_started_ = true;
        } catch (const Error &e) {
            broken_ = std::string("cannot start the pool's workers: ") + e.what();
        }
        done_cv_.notify_all();
    }
    for (unsigned round = 0;; ++round) {
        bool progress = collect_completions();
        std::string start_error;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (wants_worker_locked()) {
                try {
                    start_workers();
                } catch (const Error &e) {
                    start_error = std::string("cannot start a worker: ") + e.what();
                }
            }
            dispatch_locked();
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
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            int fd;
            bool alive;
            {
                std::lock_guard<std::mutex> lock(mu_);
                alive = workers_[i].alive;
                fd = workers_[i].pidfd;
            }
            if (!alive) continue;
            pollfd p{fd, POLLIN, 0};
            if (fd < 0 || poll(&p, 1, 0) > 0) {
                collect_completions();  // what it finished before it ended still counts
                reap(static_cast<int>(i));
                progress = true;
            }
        }
        if (!progress) sleep_supervisor();
    }
    // Let the workers go: ask them to exit, then wait for each.
    stop_workers();
    std::lock_guard<std::mutex> lock(mu_);
    supervisor_done_ = true;
    done_cv_.notify_all();
}

void ProcessPool::sleep_supervisor() {
    auto rings_busy = [this] {
        for (std::uint32_t i = 0; i < seg_->n_slots(); ++i) {
            auto &r = seg_->slot(i).done;
            if (r.head.load(std::memory_order_relaxed) != r.tail.load(std::memory_order_acquire)) return true;
        }
        return false;
    };
    std::uint64_t drained;
    if (read(event_fd_, &drained, sizeof drained) > 0) return;  // someone asked for attention meanwhile
    if (spin_until(rings_busy, kWorkerSpinBudget)) return;
    shm::Header &h = seg_->header();
    h.parent_sleeping.store(1, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!rings_busy()) {
        std::vector<pollfd> fds{{event_fd_, POLLIN, 0}};
        {
            std::lock_guard<std::mutex> lock(mu_);
            for (const Worker &w : workers_) {
                if (w.alive && w.pidfd < 0) return (void)(h.parent_sleeping.store(0));  // one to reap now
                if (w.alive) fds.push_back(pollfd{w.pidfd, POLLIN, 0});
            }
        }
        poll(fds.data(), fds.size(), -1);
    }
    h.parent_sleeping.store(0, std::memory_order_relaxed);
}

bool ProcessPool::collect_completions() {
    bool any = false;
    for (std::uint32_t i = 0; i < seg_->n_slots(); ++i) {
        auto &ring = seg_->slot(i).done;
        std::uint64_t head = ring.head.load(std::memory_order_relaxed);
        std::uint64_t tail = ring.tail.load(std::memory_order_acquire);
        if (head == tail) continue;
        if (tail - head > shm::kRingSlots) {
            break_pool("worker slot " + std::to_string(i) + " corrupted its completion ring");
            return true;
        }
        for (; head != tail; ++head) {
            shm::Completion c = ring.slots[head % shm::kRingSlots];  // copied before it is trusted
            ring.head.store(head + 1, std::memory_order_release);
            complete(static_cast<int>(i), c);
            any = true;
        }
    }
    return any;
}

void ProcessPool::complete(int w, const shm::Completion &c) {
    Task task;
    std::string bogus;  // set when the completion names a task this worker was not given
    {
        std::lock_guard<std::mutex> lock(mu_);
        Worker &worker = workers_[static_cast<std::size_t>(w)];
        auto pos = std::find(worker.in_flight.begin(), worker.in_flight.end(), c.task_id);
        if (pos == worker.in_flight.end()) {
            bogus = "worker " + std::to_string(worker.pid) + " reported a task it was not given";
        } else {
            worker.in_flight.erase(pos);
            auto it = tasks_.find(c.task_id);
            task = std::move(it->second);
            tasks_.erase(it);
            seg_->arena_free(task.arg_block);
            space_cv_.notify_all();
            dispatch_locked();
        }
    }
    if (!bogus.empty()) return break_pool(bogus);
    settle(std::move(task), w, c);
}

void ProcessPool::settle(Task task, int w, const shm::Completion &c) {
    FutureState &f = *task.promise.future_base().native_handle();
    // Every block a worker hands over is later given back through release_result, which writes an 8-byte link at
    // its start: the block must have room for it (heap_allocate never makes a smaller one).
    bool in_heap = c.kind != shm::kEmpty &&
                   seg_->in_heap(static_cast<std::uint32_t>(w), c.offset, std::max<std::uint64_t>(c.length, 8));
    std::string_view block = in_heap ? std::string_view(seg_->at(c.offset), c.length) : std::string_view();
    auto malformed = [&](const char *what) {
        f.set_failure(remote_failure(Status::BrokenProcessPool, "BrokenProcessPool",
                                   std::string("worker sent a malformed completion: ") + what,
                                   "task '" + task.name + "' in worker " + std::to_string(workers_[w].pid)));
    };
    switch (c.kind) {
        case shm::kEmpty:
            if (c.status == 0) {
                f.set_bytes({});
            } else if (c.status == static_cast<std::int32_t>(Status::TooLarge)) {
                f.set_failure(remote_failure(Status::TooLarge, "TooLargeError",
                                           "the task's result did not fit the worker's result heap",
                                           "task '" + task.name + "'"));
            } else {
                malformed("a failure without its description");
            }
            return;
        case shm::kBytes:
            if (!in_heap || c.status != 0) return malformed("a result outside the worker's heap");
            f.set_value(std::make_unique<SharedBytes>(seg_, static_cast<std::uint32_t>(w), c.offset, c.length));
            return;
        case shm::kErrorRecord: {
            if (!in_heap) return malformed("an error record outside the worker's heap");
            auto failure = wire::decode_failure(block);
            seg_->release_result(static_cast<std::uint32_t>(w), c.offset);
            if (!failure) return malformed("an unreadable error record");
            failure->remote = true;
            f.set_failure(std::move(*failure));
            return;
        }
        case shm::kChunkResults: {
            if (!in_heap) return malformed("chunk results outside the worker's heap");
            auto chunk = wire::decode_chunk_results(block);
            seg_->release_result(static_cast<std::uint32_t>(w), c.offset);
            if (!chunk) return malformed("unreadable chunk results");
            if (chunk->failure) chunk->failure->remote = true;
            f.set_value(std::make_unique<TypedValue<ChunkResults>>(std::move(*chunk)));
            return;
        }
        default:
            malformed("an unknown result kind");
    }
}

// ---- workers' lives

void ProcessPool::start_workers() {
    // Called with mu_ held, on the supervisor thread: a worker's parent-death signal is tied to the thread that
    // forked it, and this thread lives as long as the pool.
    std::size_t live = 0;
    for (const Worker &w : workers_) live += w.alive;
    std::size_t want = config_.start_method == StartMethod::Fork ? workers_.size() - live : 1;
    for (std::size_t i = 0; i < workers_.size() && want > 0; ++i) {
        Worker &w = workers_[i];
        if (w.alive) continue;
        pid_t pid = launch(static_cast<std::uint32_t>(i));
        int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
        if (pidfd < 0 && errno == ESRCH && forkserver_) {
            // A forkserver's worker that ended at once (a failing initializer) may be reaped by the server
            // before we look: it is recorded without a pidfd and reaped on the next round.
            w = Worker{pid, -1, true, 0, {}};
            --want;
            continue;
        }
        if (pidfd < 0) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
            throw_errno("pidfd_open");
        }
        fcntl(pidfd, F_SETFD, FD_CLOEXEC);
        if (w.pidfd >= 0) close(w.pidfd);
        w = Worker{pid, pidfd, true, 0, {}};
        --want;
    }
}

pid_t ProcessPool::launch(std::uint32_t slot) {
    if (forkserver_) return forkserver_->start_worker(slot);
    WorkerConfig wc{slot, getpid(), event_fd_};
    std::string env_entry;
    std::vector<char *> envp;
    if (config_.start_method == StartMethod::Spawn) {
        env_entry = "CFUTURES_WORKER=" + std::to_string(seg_->fd()) + "," + std::to_string(slot) + "," +
                    std::to_string(wc.parent) + "," + std::to_string(event_fd_);
        for (char **e = environ; *e; ++e)
            if (std::strncmp(*e, "CFUTURES_WORKER=", 16) != 0) envp.push_back(*e);
        envp.push_back(env_entry.data());
        envp.push_back(nullptr);
    }
    lock_registry_for_fork();
    pid_t pid = fork();
    if (pid == 0) {
        if (config_.start_method == StartMethod::Fork) {
            unlock_registry_after_fork();
            run_worker(*seg_, wc);
        }
        // Spawn: only async-signal-safe calls from here to exec.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        fcntl(seg_->fd(), F_SETFD, 0);
        fcntl(event_fd_, F_SETFD, 0);
        char *argv[] = {const_cast<char *>(program_.c_str()), nullptr};
        execve(program_.c_str(), argv, envp.data());
        _exit(127);
    }
    unlock_registry_after_fork();
    if (pid < 0) throw_errno("fork");
    return pid;
}

void ProcessPool::reap(int w) {
    std::vector<Task> failed;
    std::string why;
    {
        std::lock_guard<std::mutex> lock(mu_);
        Worker &worker = workers_[static_cast<std::size_t>(w)];
        int status = wait_worker(worker.pid);
        worker.alive = false;
        if (worker.pidfd >= 0) close(worker.pidfd);
        worker.pidfd = -1;
        const shm::WorkerControl &slot = seg_->slot(static_cast<std::uint32_t>(w));
        bool retired = WIFEXITED(status) && WEXITSTATUS(status) == 0 && worker.in_flight.empty();
        if (retired && !stopped_) return;  // max_tasks_per_child, or asked to exit: a clean end
        if (slot.state.load() == shm::kInitFailed) {
            char text[sizeof slot.init_error + 1] = {};
            std::memcpy(text, slot.init_error, sizeof slot.init_error);
            why = "A process in the process pool was terminated abruptly: its initializer failed (" +
                  std::string(text) + ")";
        } else {
            why = "worker " + std::to_string(worker.pid) + " " + describe_exit(status);
            if (!worker.in_flight.empty()) why += " while running task '" + tasks_.at(worker.in_flight.front()).name + "'";
        }
        if (stopped_ && broken_.empty()) {
            // terminate/kill_workers: what was running fails; the pool is simply over.
            for (std::uint64_t id : worker.in_flight) {
                auto it = tasks_.find(id);
                seg_->arena_free(it->second.arg_block);
                failed.push_back(std::move(it->second));
                tasks_.erase(it);
            }
            worker.in_flight.clear();
        } else {
            break_pool_locked(why, failed);
        }
    }
    fail_all(failed, why);
}

void ProcessPool::break_pool(const std::string &why) {
    std::vector<Task> failed;
    std::string reason;
    {
        std::lock_guard<std::mutex> lock(mu_);
        break_pool_locked(why, failed);
        reason = broken_;
    }
    // The futures complete without the lock: their callbacks may call back into the pool.
    fail_all(failed, reason);
}

void ProcessPool::break_pool_locked(const std::string &why, std::vector<Task> &failed) {
    if (broken_.empty()) broken_ = why;
    for (Worker &w : workers_) w.in_flight.clear();
    pending_.clear();
    for (auto &[id, task] : tasks_) {
        seg_->arena_free(task.arg_block);
        failed.push_back(std::move(task));
    }
    tasks_.clear();
    space_cv_.notify_all();
    // As CPython does, the other workers go too: a broken pool runs nothing more.
    for (Worker &w : workers_)
        if (w.alive) kill(w.pid, SIGKILL);
}

void ProcessPool::fail_all(std::vector<Task> &tasks, const std::string &why) {
    for (Task &t : tasks) {
        FutureState &f = *t.promise.future_base().native_handle();
        // As in CPython, pending futures fail with the pool too (those cancelled by shutdown are gone already).
        f.set_failure(remote_failure(Status::BrokenProcessPool, "BrokenProcessPool", why, "task '" + t.name + "': " + why));
    }
}

bool ProcessPool::finished_locked() const {
    if (!broken_.empty() || stopped_) {
        for (const Worker &w : workers_)
            if (w.alive) return false;
        return true;
    }
    return shutdown_ && tasks_.empty();
}

int ProcessPool::wait_worker(pid_t pid) {
    // Workers of a forkserver are the server's children: it reports how they ended.
    if (forkserver_) return forkserver_->wait_status(pid);
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) status = 0;
    return status;
}

void ProcessPool::stop_workers() {
    std::vector<Worker *> live;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (std::size_t i = 0; i < workers_.size(); ++i) {
            Worker &w = workers_[i];
            if (!w.alive) continue;
            shm::WorkerControl &c = seg_->slot(static_cast<std::uint32_t>(i));
            std::uint64_t tail = c.tasks.tail.load(std::memory_order_relaxed);
            c.tasks.slots[tail % shm::kRingSlots] = shm::TaskDescriptor{0, 0, 0, 0, 0, shm::kExit, 0};
            c.tasks.tail.store(tail + 1, std::memory_order_release);
            c.wake_word.fetch_add(1, std::memory_order_release);
            futex_wake(c.wake_word, 1);
            live.push_back(&w);
        }
    }
    for (Worker *w : live) {
        wait_worker(w->pid);
        std::lock_guard<std::mutex> lock(mu_);
        w->alive = false;
    }
}

// ---- shutting down

void ProcessPool::shutdown(bool wait, bool cancel_futures) {
    std::vector<Task> cancelled;
    {
        std::lock_guard<std::mutex> lock(mu_);
        shutdown_ = true;
        if (cancel_futures) {
            for (std::uint64_t id : pending_) {
                auto it = tasks_.find(id);
                seg_->arena_free(it->second.arg_block);
                cancelled.push_back(std::move(it->second));
                tasks_.erase(it);
            }
            pending_.clear();
            // Running tasks are asked to stop (cf_task_cancel_requested), as on a thread pool; but not when the
            // workers are about to be killed (stop_now): those tasks fail with BrokenProcessPool, and must not
            // finish first with whatever they return on a cancel request.
            for (std::size_t i = 0; i < workers_.size() && !stopped_; ++i)
                if (workers_[i].alive && !workers_[i].in_flight.empty())
                    seg_->slot(static_cast<std::uint32_t>(i)).cancel_task.store(workers_[i].in_flight.front());
        }
        space_cv_.notify_all();
    }
    for (Task &t : cancelled) t.promise.future_base().native_handle()->cancel();
    signal_supervisor();
    if (!wait || on_supervisor()) return;
    {
        std::unique_lock<std::mutex> lock(mu_);
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
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopped_ = true;
        shutdown_ = true;
    }
    shutdown(false, true);  // what has not started is cancelled; the supervisor fails what was running
    std::lock_guard<std::mutex> lock(mu_);
    for (Worker &w : workers_)
        if (w.alive) kill(w.pid, signal);
}

std::vector<pid_t> ProcessPool::worker_pids() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<pid_t> pids;
    for (const Worker &w : workers_)
        if (w.alive) pids.push_back(w.pid);
    return pids;
}

}  // namespace cf::detail
