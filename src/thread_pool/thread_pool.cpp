// SPDX-License-Identifier: MIT
#include "common/system.hpp"
#include "thread_pool/thread_pool.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <utility>

#include "executor/task_context.hpp"
#include "future/wait_graph.hpp"
#include "future/waiter.hpp"
#include "thread_pool/ring_queue.hpp"

namespace cf::core {

struct ThreadPool::Worker {
    explicit Worker(std::size_t i) : index(i) {}
    const std::size_t index;

    // The queue, taken by its owner and by thieves; `running` is the owner's task (or nullptr), whose future
    // stays alive while named here.
    alignas(64) SpinLock mu;
    RingQueue<WorkItem> queue;
    FutureState *running = nullptr;
    std::atomic<std::size_t> queued{0};  // queue.size(), read without the lock by searchers

    // Parking: woken by whoever pops it off the parked list (or by shutdown), never by another's signal.
    alignas(64) std::mutex park_mu;
    std::condition_variable park_cv;
    bool unparked = false;
    bool woken_to_search = false;
};

namespace {

// Counts pools for the default thread names "cf<k>_<i>", as Python counts ThreadPoolExecutor-<k>.
std::atomic<unsigned> g_pool_counter{0};
// Seeds each submitting thread's round-robin at a different queue.
std::atomic<std::size_t> g_submitter_seed{0};

// The pool the calling thread works for (nullptr elsewhere), and its worker there.
thread_local const ThreadPool *t_pool = nullptr;
thread_local ThreadPool::Worker *t_worker = nullptr;
thread_local int t_help_depth = 0;  // tasks this worker runs nested inside its waits
thread_local bool t_completing = false;  // this worker completes the future of the task it ran (callbacks run)
thread_local const FutureState *t_current_job = nullptr;  // the C++ job running on this thread
thread_local std::size_t t_next_queue = g_submitter_seed.fetch_add(7, std::memory_order_relaxed);

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
            // A map's results are bytes: an object result gives its bytes.
            chunk.results.push_back(out.object ? std::string(out.object->bytes()) : std::move(out.result));
        }
        state->set_value(std::make_unique<TypedValue<ChunkResults>>(std::move(chunk)));
    }

private:
    TaskCall call_;
    std::vector<std::string> args_;
};

FutureState *state_of(const ThreadPool::WorkItem &item) { return item.promise.future_base().native_handle(); }

}  // namespace

std::shared_ptr<ThreadPool> ThreadPool::create(Config config) {
    if (config.max_workers > kMaxWorkers)
        throw InvalidArgument("max_workers must be at most " + std::to_string(kMaxWorkers) + " (got " +
                              std::to_string(config.max_workers) + ")");
    return std::shared_ptr<ThreadPool>(new ThreadPool(std::move(config)));
}

ThreadPool::ThreadPool(Config config)
    : max_workers_(config.max_workers ? config.max_workers : std::min<std::size_t>(32, usable_cpus() + 4)),
      // Spinning searchers never take more than half the CPUs: the submitting threads keep theirs.
      max_searching_(std::max<std::size_t>(1, usable_cpus() / 2)),
      prefix_(config.thread_name_prefix.empty() ? "cf" + std::to_string(g_pool_counter.fetch_add(1))
                                                : std::move(config.thread_name_prefix)),
      initializer_(std::move(config.initializer)),
      workers_(new std::atomic<Worker *>[max_workers_]),
      cancel_running_(config.cancel_running) {
    for (std::size_t i = 0; i < max_workers_; ++i) workers_[i].store(nullptr, std::memory_order_relaxed);
}

ThreadPool::~ThreadPool() {
    // Only reached once every worker has let go of the pool; a worker that drops the last reference is the one
    // thread still running, and it cannot join itself.
    for (std::thread &t : threads_) {
        if (!t.joinable()) continue;
        if (t.get_id() == std::this_thread::get_id()) t.detach(); else t.join();
    }
}

FutureBase ThreadPool::submit_call(const TaskCall &call, std::string_view arg, const SubmitOptions &options) {
    // Kept in the queue entry itself: a byte-string task costs no allocation beyond its future.
    return enqueue(WorkItem{PromiseBase(), nullptr, call, std::string(arg), checked_time_limit(options)});
}

FutureBase ThreadPool::submit_call_releasing(const TaskCall &call, std::string_view arg, const SubmitOptions &options,
                                             UserDataRelease release) {
    check_argument_size(arg);
    return enqueue(WorkItem{PromiseBase(), nullptr, call, std::string(arg), checked_time_limit(options),
                            std::move(release)});
}

bool ThreadPool::submit_call_into(const FutureBase &target, const TaskCall &call, std::string_view arg,
                                  const SubmitOptions &options, UserDataRelease &release) {
    check_argument_size(arg);
    double time_limit = checked_time_limit(options);
    enqueue(WorkItem{PromiseBase(target), nullptr, call, std::string(arg), time_limit, std::move(release)});
    return true;
}

FutureBase ThreadPool::submit_chunk(const TaskCall &call, const std::vector<std::string_view> &args) {
    return submit_job(std::make_unique<ChunkJob>(call, args), SubmitOptions{});
}

FutureBase ThreadPool::submit_job(std::unique_ptr<Job> job, const SubmitOptions &options) {
    if (!job) throw InvalidArgument("job is null");
    return enqueue(WorkItem{PromiseBase(), std::move(job), TaskCall{}, std::string(), checked_time_limit(options)});
}

// ---- submitting

FutureBase ThreadPool::enqueue(WorkItem item) {
    check_creator_process("submit");  // every submit, map's included, comes through here
    FutureBase future = item.promise.future_base();
    count_outcome_of(*future.native_handle());
    if (cancel_running_) future.native_handle()->allow_cancel_running();
    if (started_.load(std::memory_order_acquire) < max_workers_ && !take_idle_token()) {
        std::optional<WorkItem> first(std::move(item));
        bool started;
        {
            std::lock_guard<std::mutex> lock(ctl_);
            if (closed_.load(std::memory_order_relaxed)) throw_closed();
            started = start_worker_locked(&first);
        }
        if (started) return future;
        item = std::move(*first);  // the pool has all its threads (or can start no more): queue it
    }
    Worker &queue = queue_for_submit();
    // Submitted by a done-callback of the task this worker just ran, at the top of its stack, into its own empty
    // queue (a continuation): this worker takes it next, and waking another only to find nothing costs more than
    // the task. Helping waiters are still told: one may wait for it.
    bool taken_next = t_pool == this && t_completing && t_help_depth == 0 && queue.queued.load() == 0;
    push(queue, std::move(item));
    if (taken_next) {
        if (helpers_waiting_.load() > 0) poke_helpers();
    } else {
        notify_work();
    }
    return future;
}

ThreadPool::Worker &ThreadPool::queue_for_submit() {
    if (t_pool == this) return *t_worker;
    std::size_t n = started_.load(std::memory_order_acquire);
    return *workers_[t_next_queue++ % n].load(std::memory_order_acquire);
}

void ThreadPool::push(Worker &w, WorkItem &&item) {
    {
        // Checked under the queue's lock: seal() takes every queue's lock after closing, so a submit that saw
        // the pool open has queued its task before seal() returns.
        std::lock_guard<SpinLock> lock(w.mu);
        if (!closed_.load(std::memory_order_relaxed)) {
            w.queue.push_back(std::move(item));
            w.queued.store(w.queue.size());
            return;
        }
    }
    std::lock_guard<std::mutex> lock(ctl_);
    throw_closed();
}

void ThreadPool::throw_closed() {
    if (!broken_.empty()) throw BrokenThreadPool(broken_);
    throw ShutdownError("cannot schedule new futures after shutdown");
}

bool ThreadPool::take_idle_token() noexcept {
    std::size_t n = idle_tokens_.load(std::memory_order_relaxed);
    while (n > 0)
        if (idle_tokens_.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) return true;
    return false;
}

void ThreadPool::count_idle(void *pool) {
    static_cast<ThreadPool *>(pool)->idle_tokens_.fetch_add(1, std::memory_order_relaxed);
}

bool ThreadPool::start_worker_locked(std::optional<WorkItem> *first) {
    std::size_t index = owned_.size();
    if (index >= max_workers_) return false;
    owned_.push_back(std::make_unique<Worker>(index));
    Worker *w = owned_.back().get();
    if (first) {
        (*first)->started_for = true;
        w->queue.push_back(std::move(**first));
        w->queued.store(1);
    }
    try {
        threads_.emplace_back([self = shared_from_this(), w] {
            // start_worker_locked() publishes the worker under ctl_ once its thread exists: the worker starts
            // (and can count itself idle, or queue a task) only after that.
            { std::lock_guard<std::mutex> published(self->ctl_); }
            self->worker_main(*w);
            self->worker_exited();
        });
    } catch (...) {
        // No thread: the task goes back to the caller, which queues it for the threads there are (or, with
        // none, reports the failure).
        std::optional<WorkItem> back;
        w->queue.pop_front(back);
        owned_.pop_back();
        if (back) back->started_for = false;
        if (first && back) *first = std::move(back);
        if (index == 0) throw;
        return false;
    }
    ++live_;
    workers_[index].store(w, std::memory_order_release);
    started_.store(index + 1, std::memory_order_release);
    return true;
}

void ThreadPool::notify_work() {
    // The queue's size was stored sequentially consistent; so are these loads, and a parking worker's count of
    // itself and its look at the queues (park()): either it sees the new task, or this sees it parked. The same
    // holds for searchers and for helping waiters.
    if (searching_.load() == 0 && parked_.load() > 0) wake_one_searcher();
    if (helpers_waiting_.load() > 0) poke_helpers();
}

void ThreadPool::wake_one_searcher() {
    Worker *w;
    {
        std::lock_guard<std::mutex> lock(idle_mu_);
        // Another waker got here first: one searcher is enough to find the work.
        if (searching_.load(std::memory_order_relaxed) != 0 || parked_list_.empty()) return;
        w = parked_list_.back();
        parked_list_.pop_back();
        parked_.fetch_sub(1, std::memory_order_relaxed);
        searching_.fetch_add(1, std::memory_order_seq_cst);  // it searches from the moment it is chosen
        std::lock_guard<std::mutex> park_lock(w->park_mu);
        w->unparked = true;
        w->woken_to_search = true;
    }
    w->park_cv.notify_one();  // workers live as long as the pool
}

void ThreadPool::wake_all() {
    std::vector<Worker *> woken;
    {
        std::lock_guard<std::mutex> lock(idle_mu_);
        woken.swap(parked_list_);
        parked_.store(0, std::memory_order_relaxed);
        for (Worker *w : woken) {
            std::lock_guard<std::mutex> park_lock(w->park_mu);
            w->unparked = true;
        }
    }
    for (Worker *w : woken) w->park_cv.notify_one();
    poke_helpers();
}

void ThreadPool::poke_helpers() {
    std::lock_guard<std::mutex> lock(ctl_);
    for (Waiter *h : helpers_) h->poke();
}

// ---- taking work

bool ThreadPool::take_own(Worker &w, std::optional<WorkItem> &out, bool clear_running) {
    std::lock_guard<SpinLock> lock(w.mu);
    if (clear_running) w.running = nullptr;
    if (!w.queue.pop_front(out)) return false;
    w.queued.store(w.queue.size());
    w.running = state_of(*out);
    return true;
}

template <class Take>
bool ThreadPool::take_from_queues(Worker &taker, std::size_t first, Take take, std::optional<WorkItem> &out) {
    std::size_t n = started_.load(std::memory_order_acquire);
    for (std::size_t k = 0; k < n; ++k) {
        Worker &from = *workers_[(first + k) % n].load(std::memory_order_acquire);
        if ((&from == &taker && first != taker.index) || from.queued.load() == 0) continue;
        {
            std::lock_guard<SpinLock> lock(from.mu);
            if (!take(from.queue, out)) continue;
            from.queued.store(from.queue.size());
        }
        std::lock_guard<SpinLock> lock(taker.mu);
        taker.running = state_of(*out);
        return true;
    }
    return false;
}

bool ThreadPool::steal(Worker &thief, std::optional<WorkItem> &out) {
    // Every queue but the thief's own, starting with its neighbour's.
    return take_from_queues(
        thief, thief.index + 1, [](RingQueue<WorkItem> &q, std::optional<WorkItem> &o) { return q.pop_front(o); },
        out);
}

bool ThreadPool::take_target(Worker &w, std::optional<WorkItem> &out, WaitTargets targets) {
    // Every queue, the worker's own first.
    return take_from_queues(
        w, w.index,
        [targets](RingQueue<WorkItem> &q, std::optional<WorkItem> &o) {
            return q.take_first([&](const WorkItem &i) { return targets.contains(state_of(i)); }, o);
        },
        out);
}

bool ThreadPool::any_queued() const noexcept {
    std::size_t n = started_.load(std::memory_order_acquire);
    for (std::size_t k = 0; k < n; ++k)
        if (workers_[k].load(std::memory_order_acquire)->queued.load() > 0) return true;  // seq_cst: see park()
    return false;
}

bool ThreadPool::begin_search() noexcept {
    std::size_t n = searching_.load(std::memory_order_relaxed);
    while (n < max_searching_)
        if (searching_.compare_exchange_weak(n, n + 1, std::memory_order_seq_cst)) return true;
    return false;
}

void ThreadPool::end_search(bool found) {
    bool last = searching_.fetch_sub(1, std::memory_order_seq_cst) == 1;
    // The last searcher leaving with work found: more may be queued where nobody looks now.
    if (last && found && parked_.load() > 0 && any_queued()) wake_one_searcher();
}

bool ThreadPool::park(Worker &w) {
    {
        std::lock_guard<std::mutex> lock(idle_mu_);
        parked_list_.push_back(&w);
        parked_.fetch_add(1);
    }
    // Sequentially consistent, as in notify_work(): a task queued before it is seen here, or its submitter sees
    // us parked.
    if (any_queued() || sealed_.load(std::memory_order_acquire)) {
        std::lock_guard<std::mutex> lock(idle_mu_);
        auto it = std::find(parked_list_.begin(), parked_list_.end(), &w);
        if (it != parked_list_.end()) {
            parked_list_.erase(it);
            parked_.fetch_sub(1, std::memory_order_relaxed);
            return false;
        }
        // Already chosen by a waker (which set our flags while holding idle_mu_): take its wake-up below.
    }
    std::unique_lock<std::mutex> lock(w.park_mu);
    w.park_cv.wait(lock, [&w] { return w.unparked; });
    w.unparked = false;
    return std::exchange(w.woken_to_search, false);
}

bool ThreadPool::next_task(Worker &w, std::optional<WorkItem> &item) {
    // `item` holds the task just run: its future stays alive until w.running no longer names it.
    std::optional<WorkItem> finished;
    finished.swap(item);
    if (take_own(w, item, true)) return true;
    // No work of its own: the finished task (and whatever its job holds) is let go before looking elsewhere.
    finished.reset();
    bool searching = false;
    for (;;) {
        if (!searching && !begin_search()) {
            // Enough workers search already; a quick look of its own before parking.
            if (take_own(w, item, false) || steal(w, item)) return true;
        } else {
            spin_until(
                [&] {
                    return (w.queued.load() > 0 && take_own(w, item, false)) ||
                           steal(w, item) || sealed_.load(std::memory_order_acquire);
                },
                kWorkerSpinBudget);
            end_search(item.has_value());
            if (item) return true;
        }
        if (sealed_.load(std::memory_order_acquire)) {
            // Nothing is queued any more after sealing but what is still here: take it, or leave.
            return take_own(w, item, false) || steal(w, item);
        }
        searching = park(w);
    }
}

// ---- running

void ThreadPool::worker_main(Worker &w) {
    std::string name = prefix_ + "_" + std::to_string(w.index);
    name.resize(std::min<std::size_t>(name.size(), 15));  // Linux keeps 15 bytes of a thread's name
    pthread_setname_np(pthread_self(), name.c_str());
    t_pool = this;
    t_worker = &w;
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
    std::optional<WorkItem> item;
    while (next_task(w, item)) run_counted(*item);
    current_wait_helper() = nullptr;
}

void ThreadPool::run_counted(WorkItem &item) {
    // Idle workers are counted only while the pool may still grow (CPython's idle semaphore); a full pool
    // skips the shared counter altogether.
    if (started_.load(std::memory_order_relaxed) >= max_workers_) {
        run(item);
        return;
    }
    CompletionHook &hook = completion_hook();
    hook = CompletionHook{state_of(item), &ThreadPool::count_idle, this};
    run(item);
    if (hook.future) count_idle(this);  // the job did not complete its future (it was cancelled before it ran)
    hook = CompletionHook{};
}

void ThreadPool::run(WorkItem &item) {
    // Not pending any more: cancelled while queued, or finished by a holder of the future (cf_future_set_result).
    FutureState *state = state_of(item);
    if (!state->try_start()) return;
    ProducerScope producing(*state);  // this thread now produces the future (for the wait-for graph)
    // A time limit starts with the task; at it the future fails from outside (a thread cannot be stopped).
    bool limited = item.time_limit != std::numeric_limits<double>::infinity();
    struct Disarm {
        TimeLimitWatch *watch;
        TimeLimitWatch::Token token;
        ~Disarm() {
            if (watch) watch->disarm(token);
        }
    } disarm{limited ? &time_limits_ : nullptr, limited ? time_limits_.arm(state, item.time_limit) : 0};
    if (item.job) {
        // What cf::this_task_cancel_requested() looks at, for as long as the job runs (restored after, since a
        // waiting task may run others nested inside its wait).
        struct Current {
            const FutureState *previous = t_current_job;
            explicit Current(const FutureState *now) { t_current_job = now; }
            ~Current() { t_current_job = previous; }
        } current(state);
        item.job->run(item.promise);
        return;
    }
    TaskOutcome out = run_task_call(item.call, state, item.arg);
    // The future's done-callbacks run now, on this thread, which is about to take its own queue's oldest task:
    // a continuation they submit here needs no other worker woken (see enqueue).
    struct Completing {
        Completing() { t_completing = true; }
        ~Completing() { t_completing = false; }
    } completing;
    complete_with(*state, std::move(out));
}

// ---- shutting down

void ThreadPool::seal(std::vector<WorkItem> *drain, bool cancel_running, bool keep_started_for) {
    std::size_t n = started_.load(std::memory_order_acquire);  // final: a closed pool starts no worker
    for (std::size_t k = 0; k < n; ++k) {
        Worker &w = *workers_[k].load(std::memory_order_acquire);
        std::lock_guard<SpinLock> lock(w.mu);
        if (drain) {
            // Everything queued; on shutdown, but a task a new thread was started for (it runs, as in CPython).
            std::vector<WorkItem> queued;
            w.queue.drain_into(queued);
            for (WorkItem &item : queued) {
                if (keep_started_for && item.started_for) w.queue.push_back(std::move(item));
                else drain->push_back(std::move(item));
            }
            w.queued.store(w.queue.size());
        }
        if (cancel_running && w.running) w.running->request_cancel();
    }
    sealed_.store(true, std::memory_order_release);
    wake_all();
}

void ThreadPool::break_pool(const std::string &why) {
    {
        std::lock_guard<std::mutex> lock(ctl_);
        if (broken_.empty()) broken_ = why;
        closed_.store(true, std::memory_order_relaxed);
    }
    std::vector<WorkItem> pending;
    seal(&pending, false);
    // A queued future may already be finished (cancelled, or set by its holder): set_failure leaves those alone.
    for (WorkItem &item : pending)
        state_of(item)->set_failure(make_failure(Status::BrokenThreadPool, "BrokenThreadPool", why));
}

void ThreadPool::shutdown(bool wait, bool cancel_futures) {
    {
        std::lock_guard<std::mutex> lock(ctl_);
        shutdown_ = true;
        closed_.store(true, std::memory_order_relaxed);
    }
    std::vector<WorkItem> cancelled;
    // With cancel_running, running tasks are not just told (a task told could finish first): they are cancelled
    // below, which tells them and cancels their futures in one step.
    seal(cancel_futures ? &cancelled : nullptr, cancel_futures && !cancel_running_, true);
    for (WorkItem &item : cancelled) state_of(item)->cancel();
    // cancel_running: what runs is cancelled too (its thread runs on; its result is discarded).
    if (cancel_futures && cancel_running_) {
        for (FutureState *f : running_futures()) {
            f->cancel();
            f->release();
        }
    }
    if (wait) join_threads();
}

void ThreadPool::worker_exited() {
    std::lock_guard<std::mutex> lock(ctl_);
    --live_;
    exited_.notify_all();
}

void ThreadPool::join_threads() {
    // Waits for every worker but the caller's own thread (shutdown from one of our tasks waits for the others).
    // No lock is held while waiting, so a task may itself call shutdown while its owner waits here.
    bool from_worker = t_pool == this;
    {
        std::unique_lock<std::mutex> lock(ctl_);
        exited_.wait(lock, [&] { return live_ == (from_worker ? 1u : 0u); });
    }
    if (from_worker) return;  // the owner's thread (or the last reference) joins the threads later
    // Every worker has left its loop; after shutdown no thread is added, so threads_ no longer changes.
    std::lock_guard<std::mutex> lock(join_mu_);
    for (std::thread &t : threads_)
        if (t.joinable()) t.join();
}

// ---- helping waits

bool ThreadPool::restricted_sleep(Waiter &w, const Deadline &deadline, WaitTargets targets, bool may_run_targets) {
    {
        std::lock_guard<std::mutex> lock(ctl_);
        ++stuck_;
        // Queued work that no worker will take (each waits, running nothing or only what it waits for): a new
        // thread takes it, while the pool may still grow.
        if (stuck_ == live_ && any_queued() && !closed_.load(std::memory_order_relaxed))
            start_worker_locked(nullptr);
        // Nor can a thread be added, and this wait, which may not run it, waits for a task in the queue: nothing
        // will ever run it.
        bool queued = false;
        if (!may_run_targets && targets.n == 1) {
            std::size_t n = started_.load(std::memory_order_acquire);
            for (std::size_t k = 0; k < n && !queued; ++k) {
                Worker &q = *workers_[k].load(std::memory_order_acquire);
                std::lock_guard<SpinLock> qlock(q.mu);
                q.queue.for_each([&](const WorkItem &i) { queued |= targets.contains(state_of(i)); });
            }
        }
        if (queued && deadline.infinite() && stuck_ == live_ && owned_.size() >= max_workers_) {
            --stuck_;
            throw DeadlockError("every worker of the pool waits (" + std::to_string(kMaxHelpDepth) +
                                " tasks deep) for a task still queued behind it: the wait could never finish");
        }
    }
    // New work pokes the waiter (it is among the helpers). An endless wait is also looked at again every few
    // milliseconds: whether it can still end changes as other workers come and go.
    bool ready = w.sleep_until(deadline.infinite() ? Deadline::after(0.005) : deadline);
    std::lock_guard<std::mutex> lock(ctl_);
    --stuck_;
    return ready;
}

bool ThreadPool::help_sleep(Waiter &w, const Deadline &deadline, WaitTargets targets) {
    // Every task run inside a wait takes more of this thread's stack: the depth is bounded. A wait with a deadline
    // runs only the tasks it waits for, never another queued task that could outlast the deadline; so does a deep
    // one, so that the depth grows with the program's own nesting only.
    bool may_run_any = deadline.infinite() && t_help_depth < kHelpAnyDepth;
    bool may_run_targets = t_help_depth < kMaxHelpDepth;
    Worker &me = *t_worker;
    FutureState *outer;
    {
        std::lock_guard<SpinLock> lock(me.mu);
        outer = me.running;
    }
    {
        std::lock_guard<std::mutex> lock(ctl_);
        helpers_.push_back(&w);  // submit pokes us when work arrives
        helpers_waiting_.fetch_add(1, std::memory_order_seq_cst);
    }
    auto leave = [&] {
        std::lock_guard<std::mutex> lock(ctl_);
        helpers_.erase(std::find(helpers_.begin(), helpers_.end(), &w));
        helpers_waiting_.fetch_sub(1, std::memory_order_relaxed);
    };
    bool ready = false;
    try {
        for (;;) {
            if (w.ready_now()) {
                ready = true;
                break;
            }
            std::optional<WorkItem> item;
            bool got = false;
            if (may_run_targets)
                got = may_run_any ? take_own(me, item, false) || steal(me, item) : take_target(me, item, targets);
            if (got) {
                ++t_help_depth;
                run(*item);
                --t_help_depth;
                std::lock_guard<SpinLock> lock(me.mu);
                me.running = outer;
                continue;
            }
            if (may_run_any ? w.sleep_until(deadline) : restricted_sleep(w, deadline, targets, may_run_targets)) {
                ready = true;
                break;
            }
            if (deadline.passed()) break;
        }
    } catch (...) {
        leave();
        throw;
    }
    leave();
    return ready;
}

std::vector<FutureState *> ThreadPool::running_futures() const {
    std::vector<FutureState *> out;
    std::size_t n = started_.load(std::memory_order_acquire);
    for (std::size_t k = 0; k < n; ++k) {
        Worker &w = *workers_[k].load(std::memory_order_acquire);
        std::lock_guard<SpinLock> lock(w.mu);
        if (!w.running || w.running->state() != State::Running) continue;
        w.running->retain();
        out.push_back(w.running);
    }
    return out;
}

ExecutorStats ThreadPool::stats() const {
    ExecutorStats out;
    read_counters(out);
    std::size_t n = started_.load(std::memory_order_acquire);
    for (std::size_t k = 0; k < n; ++k) {
        Worker &w = *workers_[k].load(std::memory_order_acquire);
        out.queued += w.queued.load(std::memory_order_relaxed);
        std::lock_guard<SpinLock> lock(w.mu);
        // `running` names a worker's last task until it takes the next: count it only while it runs.
        out.running += w.running != nullptr && w.running->state() == State::Running;
    }
    {
        std::lock_guard<std::mutex> lock(ctl_);
        out.workers = live_;
    }
    out.idle_workers = out.workers > out.running ? out.workers - out.running : 0;
    out.max_workers = max_workers_;
    out.workers_started = started_.load(std::memory_order_acquire);
    return out;
}

}  // namespace cf::core

namespace cf {
bool this_task_cancel_requested() noexcept {
    const core::FutureState *job = core::t_current_job;
    return job && job->cancel_requested();
}
}  // namespace cf
