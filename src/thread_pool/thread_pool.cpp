#include "thread_pool.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <utility>

#include "executor/task_context.hpp"
#include "common/spin.hpp"
#include "future/waiter.hpp"

namespace cf::detail {
namespace {

// Counts pools for the default thread names "cf<k>_<i>", as Python counts ThreadPoolExecutor-<k>.
std::atomic<unsigned> g_pool_counter{0};

// The pool the calling thread works for (nullptr elsewhere), and its index there.
thread_local const ThreadPool *t_pool = nullptr;
thread_local std::size_t t_worker_index = 0;
thread_local int t_help_depth = 0;  // tasks this worker runs nested inside its waits

std::size_t usable_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<std::size_t>(CPU_COUNT(&set));
    unsigned n = std::thread::hardware_concurrency();
    return n ? n : 1;
}

// Several arguments of one map chunk, run in turn; stops at the first failure.
class ChunkJob final : public Job {
public:
    ChunkJob(const TaskCall &call, const std::vector<std::string_view> &args)
        : call_(call), args_(args.begin(), args.end()) {}
    void run(PromiseBase &promise) override {
        FutureState *state = promise.future_base().native_handle();
        ChunkResults chunk;
        chunk.results.reserve(args_.size());
        for (const std::string &arg : args_) {
            TaskOutcome out = run_task_call(call_, state, arg);
            if (out.failure) {
                chunk.failure = std::move(out.failure);
                break;
            }
            chunk.results.push_back(std::move(out.result));
        }
        state->set_value(std::make_unique<TypedValue<ChunkResults>>(std::move(chunk)));
    }

private:
    TaskCall call_;
    std::vector<std::string> args_;
};

}  // namespace

std::shared_ptr<ThreadPool> ThreadPool::create(Config config) {
    if (config.max_workers > kMaxWorkers)
        throw InvalidArgument("max_workers must be at most " + std::to_string(kMaxWorkers) + " (got " +
                              std::to_string(config.max_workers) + ")");
    return std::shared_ptr<ThreadPool>(new ThreadPool(std::move(config)));
}

ThreadPool::ThreadPool(Config config)
    : max_workers_(config.max_workers ? config.max_workers : std::min<std::size_t>(32, usable_cpus() + 4)),
      prefix_(config.thread_name_prefix.empty() ? "cf" + std::to_string(g_pool_counter.fetch_add(1))
                                                : std::move(config.thread_name_prefix)),
      initializer_(std::move(config.initializer)) {}

ThreadPool::~ThreadPool() {
    // Only reached once every worker has let go of the pool; a worker that drops the last reference is the one
    // thread still running, and it cannot join itself.
    for (std::thread &t : threads_) {
        if (!t.joinable()) continue;
        if (t.get_id() == std::this_thread::get_id()) t.detach(); else t.join();
    }
}

std::size_t ThreadPool::thread_count() const {
    std::lock_guard<SpinMutex> lock(mu_);
    return threads_.size();
}

FutureBase ThreadPool::submit_call(const TaskCall &call, std::string_view arg) {
    // Kept in the queue entry itself: a byte-string task costs no allocation beyond its future.
    WorkItem item{PromiseBase(), nullptr, call, std::string(arg)};
    return enqueue(std::move(item));
}

FutureBase ThreadPool::submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) {
    return submit_job(std::make_unique<ChunkJob>(call, args));
}

FutureBase ThreadPool::submit_job(std::unique_ptr<Job> job) {
    if (!job) throw InvalidArgument("job is null");
    return enqueue(WorkItem{PromiseBase(), std::move(job), TaskCall{}, std::string()});
}

FutureBase ThreadPool::enqueue(WorkItem item) {
    check_creator_process("submit");  // every submit, map's included, comes through here
    FutureBase future = item.promise.future_base();
    std::lock_guard<SpinMutex> lock(mu_);
    if (!broken_.empty()) throw BrokenThreadPool(broken_);
    if (shutdown_.load(std::memory_order_relaxed)) throw ShutdownError("cannot schedule new futures after shutdown");
    queue_.push_back(std::move(item));
    queued_.fetch_add(1, std::memory_order_release);
    // A spinning worker will take the task without a system call; otherwise one parked worker is woken.
    if (spinning_.load(std::memory_order_relaxed) == 0) wake_one_locked();
    for (Waiter *h : helpers_) h->poke();
    if (idle_tokens_ > 0)
        --idle_tokens_;
    else if (threads_.size() < max_workers_)
        start_thread_locked();
    return future;
}

void ThreadPool::start_thread_locked() {
    std::size_t index = threads_.size();
    running_.push_back(nullptr);
    threads_.emplace_back([self = shared_from_this(), index] {
        self->worker_main(index);
        self->worker_exited();
    });
    ++live_;
}

void ThreadPool::worker_exited() {
    std::lock_guard<SpinMutex> lock(mu_);
    --live_;
    exited_.notify_all();
}

void ThreadPool::worker_main(std::size_t index) {
    std::string name = prefix_ + "_" + std::to_string(index);
    name.resize(std::min<std::size_t>(name.size(), 15));  // Linux keeps 15 bytes of a thread's name
    pthread_setname_np(pthread_self(), name.c_str());
    t_pool = this;
    t_worker_index = index;
    if (initializer_) {
        try {
            initializer_();
        } catch (...) {
            Failure f = describe_exception(std::current_exception());
            break_pool("A thread initializer failed, the thread pool is not usable anymore (" + f.type +
                       (f.message.empty() ? "" : ": " + f.message) + ")");
            return;
        }
    }
    current_wait_helper() = this;
    WorkItem item;
    while (take(item)) run_counted(item);
    current_wait_helper() = nullptr;
}

void ThreadPool::run_counted(WorkItem &item) {
    CompletionHook &hook = completion_hook();
    hook = CompletionHook{item.promise.future_base().native_handle(), &ThreadPool::count_idle, this};
    run(item);
    if (hook.future) count_idle(this);  // the job did not complete its future (it was cancelled before it ran)
    hook = CompletionHook{};
}

void ThreadPool::count_idle(void *pool) {
    auto *self = static_cast<ThreadPool *>(pool);
    std::lock_guard<SpinMutex> lock(self->mu_);
    ++self->idle_tokens_;
}

bool ThreadPool::try_take_locked(WorkItem &out) {
    if (queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    queued_.fetch_sub(1, std::memory_order_relaxed);
    running_[t_worker_index] = out.promise.future_base().native_handle();
    return true;
}

bool ThreadPool::take(WorkItem &item) {
    // `item` holds the task just run: its future stays alive until running_ no longer names it.
    WorkItem finished = std::move(item);
    {
        std::lock_guard<SpinMutex> lock(mu_);
        running_[t_worker_index] = nullptr;
        if (try_take_locked(item)) return true;
    }
    // No work: `finished` (and whatever its job holds) is let go outside the lock, before idling.
    finished = WorkItem();
    for (;;) {
        spinning_.fetch_add(1, std::memory_order_relaxed);
        spin_until([this] { return queued_.load(std::memory_order_acquire) > 0 || shutdown_.load(); },
                   kWorkerSpinBudget);
        mu_.lock();
        std::unique_lock<std::mutex> lock(mu_.native(), std::adopt_lock);
        spinning_.fetch_sub(1, std::memory_order_relaxed);
        if (try_take_locked(item)) {
            // More work than takers: pass the baton to a parked worker, as no spinner is left to take it.
            if (!queue_.empty() && spinning_.load(std::memory_order_relaxed) == 0) wake_one_locked();
            return true;
        }
        if (shutdown_.load() || !broken_.empty()) return false;
        Sleeper me;
        sleepers_.push_back(&me);
        me.cv.wait(lock, [&me] { return me.signalled; });
        // Whoever signalled us has taken us off sleepers_.
    }
}

void ThreadPool::wake_one_locked() {
    if (sleepers_.empty()) return;
    Sleeper *s = sleepers_.back();
    sleepers_.pop_back();
    s->signalled = true;
    // Notified under the lock: a sleeper may return (and its Sleeper vanish) as soon as the lock is free.
    s->cv.notify_one();
}

void ThreadPool::run(WorkItem &item) {
    // Not pending any more: cancelled while queued, or finished by a holder of the future (cf_future_set_result).
    if (!item.promise.future_base().native_handle()->try_start()) return;
    if (item.job) {
        item.job->run(item.promise);
        return;
    }
    FutureState *state = item.promise.future_base().native_handle();
    TaskOutcome out = run_task_call(item.call, state, item.arg);
    if (out.failure)
        state->set_failure(std::move(*out.failure));
    else
        state->set_bytes(std::move(out.result));
}

void ThreadPool::wake_all_locked() {
    for (Sleeper *s : sleepers_) {
        s->signalled = true;
        s->cv.notify_one();
    }
    sleepers_.clear();
    for (Waiter *h : helpers_) h->poke();
}

void ThreadPool::break_pool(const std::string &why) {
    std::deque<WorkItem> pending;
    {
        std::lock_guard<SpinMutex> lock(mu_);
        if (broken_.empty()) broken_ = why;
        pending.swap(queue_);
        queued_.store(0);
        wake_all_locked();
    }
    // A queued future may already be finished (cancelled, or set by its holder): set_failure leaves those alone.
    for (WorkItem &item : pending)
        item.promise.future_base().native_handle()->set_failure(
            make_failure(Status::BrokenThreadPool, "BrokenThreadPool", why));
}

void ThreadPool::shutdown(bool wait, bool cancel_futures) {
    std::deque<WorkItem> cancelled;
    {
        std::lock_guard<SpinMutex> lock(mu_);
        shutdown_.store(true);
        if (cancel_futures) {
            cancelled.swap(queue_);
            queued_.store(0);
            for (FutureState *f : running_)
                if (f) f->request_cancel();
        }
        wake_all_locked();
    }
    for (WorkItem &item : cancelled) item.promise.future_base().native_handle()->cancel();
    if (wait) join_threads();
}

void ThreadPool::join_threads() {
    // Waits for every worker but the caller's own thread (shutdown from one of our tasks waits for the others).
    // No lock is held while waiting, so a task may itself call shutdown while its owner waits here.
    bool from_worker = t_pool == this;
    {
        mu_.lock();
        std::unique_lock<std::mutex> lock(mu_.native(), std::adopt_lock);
        exited_.wait(lock, [&] { return live_ == (from_worker ? 1u : 0u); });
    }
    if (from_worker) return;  // the owner's thread (or the last reference) joins the threads later
    // Every worker has left its loop; after shutdown no thread is added, so threads_ no longer changes.
    std::lock_guard<std::mutex> lock(join_mu_);
    for (std::thread &t : threads_)
        if (t.joinable()) t.join();
}

bool ThreadPool::try_take_target_locked(WorkItem &out, WaitTargets targets) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (!targets.contains(it->promise.future_base().native_handle())) continue;
        out = std::move(*it);
        queue_.erase(it);
        queued_.fetch_sub(1, std::memory_order_relaxed);
        running_[t_worker_index] = out.promise.future_base().native_handle();
        return true;
    }
    return false;
}

bool ThreadPool::restricted_sleep(Waiter &w, const Deadline &deadline, WaitTargets targets, bool may_run_targets) {
    {
        std::lock_guard<SpinMutex> lock(mu_);
        ++stuck_;
        // Queued work that no worker will take (each waits, running nothing or only what it waits for): a new
        // thread takes it, while the pool may still grow.
        if (stuck_ == live_ && !queue_.empty() && threads_.size() < max_workers_ && broken_.empty() &&
            !shutdown_.load(std::memory_order_relaxed))
            start_thread_locked();
        // Nor can a thread be added, and this wait, which may not run it, waits for a task in the queue: nothing
        // will ever run it.
        bool queued = false;
        if (!may_run_targets && targets.n == 1)
            for (const WorkItem &item : queue_) queued |= targets.contains(item.promise.future_base().native_handle());
        if (queued && deadline.infinite() && stuck_ == live_ && threads_.size() >= max_workers_) {
            --stuck_;
            throw DeadlockError("every worker of the pool waits (" + std::to_string(kMaxHelpDepth) +
                                " tasks deep) for a task still queued behind it: the wait could never finish");
        }
    }
    // New work pokes the waiter (it is among the helpers). An endless wait is also looked at again every few
    // milliseconds: whether it can still end changes as other workers come and go.
    bool ready = w.sleep_until(deadline.infinite() ? Deadline::after(0.005) : deadline);
    std::lock_guard<SpinMutex> lock(mu_);
    --stuck_;
    return ready;
}

bool ThreadPool::help_sleep(Waiter &w, const Deadline &deadline, WaitTargets targets) {
    // Every task run inside a wait takes more of this thread's stack: the depth is bounded. A wait with a deadline
    // runs only the tasks it waits for, never another queued task that could outlast the deadline; so does a deep
    // one, so that the depth grows with the program's own nesting only.
    bool may_run_any = deadline.infinite() && t_help_depth < kHelpAnyDepth;
    bool may_run_targets = t_help_depth < kMaxHelpDepth;
    std::size_t me = t_worker_index;
    FutureState *outer = nullptr;
    {
        std::lock_guard<SpinMutex> lock(mu_);
        helpers_.push_back(&w);  // submit pokes us when work arrives
        outer = running_[me];
    }
    bool ready = false;
    try {
        for (;;) {
            if (w.ready_now()) {
                ready = true;
                break;
            }
            WorkItem item;
            bool got = false;
            if (may_run_targets) {
                std::lock_guard<SpinMutex> lock(mu_);
                got = may_run_any ? try_take_locked(item) : try_take_target_locked(item, targets);
            }
            if (got) {
                ++t_help_depth;
                run(item);
                --t_help_depth;
                std::lock_guard<SpinMutex> lock(mu_);
                running_[me] = outer;
                continue;
            }
            if (may_run_any ? w.sleep_until(deadline) : restricted_sleep(w, deadline, targets, may_run_targets)) {
                ready = true;
                break;
            }
            if (deadline.passed()) break;
        }
    } catch (...) {
        std::lock_guard<SpinMutex> lock(mu_);
        helpers_.erase(std::find(helpers_.begin(), helpers_.end(), &w));
        throw;
    }
    {
        std::lock_guard<SpinMutex> lock(mu_);
        helpers_.erase(std::find(helpers_.begin(), helpers_.end(), &w));
    }
    return ready;
}

}  // namespace cf::detail
