// SPDX-License-Identifier: MIT
#include "pool.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <stdexcept>

#include "mpi_support.hpp"
#include "wire.hpp"

namespace cf::mpi {
namespace {

using namespace std::chrono_literals;

// Tasks sent ahead to one worker: it starts the next as soon as it sends a result, and a large argument on its
// way to one worker does not keep the others idle. Sent tasks are running: they can no longer be cancelled.
constexpr unsigned kDepth = 2;
// While a long queue waits and tasks are short (a quarter of kFastWorker on average), a worker that turns them
// round fast (a result within kFastWorker) gets up to kDeepDepth small ones, so that it never waits for rank 0
// between them. A short queue (fewer than kDeepQueue tasks: what a program holds back behind busy workers to
// cancel it later) stays on rank 0.
constexpr unsigned kDeepDepth = 32;
constexpr std::size_t kDeepQueue = 64;
constexpr auto kFastWorker = 200us;
// Longer tasks (a quarter of kFastWorker or more on average), while a long queue waits: each worker holds kAhead
// of them in work, each counted as at least kFastWorker (at most kDeepDepth tasks, at least kDepth, and never
// more than its share of all the work there is). Rank 0 sleeps between looks while such tasks
// run, and where the workers keep every CPU busy it is woken only at the scheduler's next tick (4 ms at 250 Hz):
// with two tasks ahead, a worker would sit idle until then.
constexpr auto kAhead = 8ms;
// Task messages up to kSmallTask bytes travel together, up to kBatch bytes in one message; a larger one travels
// alone, and only to a worker within its first kDepth slots.
constexpr std::size_t kSmallTask = 16 * 1024;
constexpr std::size_t kBatch = 64 * 1024;
// Polling: after news, a waiting caller polls on for kPatience while tasks are short (kGlance else), the
// communication thread for kSpin unless a caller does the work; then the communication thread sleeps for a
// quarter of a task's time (kMinNap to kMaxNap: a worker holds its next task meanwhile, and a result waits at
// most that long) while tasks are in flight, and, idle, kIdleNap at a time until kIdle has passed without news.
constexpr auto kPatience = 50us, kGlance = 5us, kSpin = 20us, kMinNap = 10us, kMaxNap = 250us, kIdleNap = 100us;
constexpr auto kIdle = 2ms;

std::int64_t ns_of(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct MpiFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

bool is_failure_status(int status) {
    return status < 0 && std::strcmp(cf_status_name(status), "CF_UNKNOWN_STATUS") != 0;
}

void fail_future(cf_future *f, const std::string &why) {
    cf_future_set_failure(f, CF_E_BROKEN_PROCESS_POOL, "BrokenExecutor", ("the MPI pool is broken: " + why).c_str(),
                          nullptr);
    cf_future_release(f);
}

template <class Body>
int no_throw(Body &&body) noexcept {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return cf_provider_error(CF_E_NO_MEMORY, "out of memory");
    } catch (const std::exception &e) {
        return cf_provider_error(CF_E_SYSTEM, e.what());
    }
}

MpiPool &pool_of(void *self) { return *static_cast<MpiPool *>(self); }

// The pools alive now, for shutdown_all.
std::mutex g_live_mu;
std::set<MpiPool *> &live_pools() {
    static auto *live = new std::set<MpiPool *>();  // never destroyed: read by an exit handler
    return *live;
}

}  // namespace

MpiPool::MpiPool(MPI_Comm comm, std::vector<int> workers, bool spawned, bool check_names)
    : comm_(comm),
      ranks_(std::move(workers)),
      workers_(ranks_.size()),
      spawned_(spawned),
      check_names_(check_names) {
    if (const char *k = std::getenv("CFUTURES_MPI_FAULT_AT_SEND")) fault_at_send_ = std::atol(k);
    posted_.assign(ranks_.size(), MPI_REQUEST_NULL);
    for (std::size_t w = 0; w < ranks_.size(); ++w) {
        posted_bytes_.emplace_back(new char[kResultPosted]);
        if (int rc = post_receive(w); rc != MPI_SUCCESS && broken_.empty()) {
            broken_ = mpi_error_text("MPI_Irecv", rc);  // every submit says so; the workers are told to stop
            closed_ = true;
        }
    }
    thread_ = std::thread([this] { run(); });
    thread_id_ = thread_.get_id();
    std::lock_guard<std::mutex> lock(g_live_mu);
    live_pools().insert(this);
}

MpiPool::~MpiPool() {
    {
        std::lock_guard<std::mutex> lock(g_live_mu);
        live_pools().erase(this);
    }
    shutdown(true, false);
    if (thread_.joinable()) thread_.detach();  // freed from its own thread (a done-callback): it ends by itself
}

// ---- callers' side

int MpiPool::enqueue(const char *task, std::uint32_t kind, const cf_slice *parts, std::size_t n_parts, cf_future *f) {
    if (check_names_ && !cf_task_registered(task))
        return cf_provider_error(CF_E_UNKNOWN_TASK, (std::string("no task is registered as '") + task + "'").c_str());
    std::size_t name_len = std::strlen(task);
    std::size_t payload = kind == kChunk ? 0 : parts[0].len;
    if (kind == kChunk) cf_chunk_results_pack(parts, n_parts, nullptr, 0, &payload);
    if (payload > INT_MAX - sizeof(TaskHeader) - name_len)
        return cf_provider_error(CF_E_TOO_LARGE, "an MPI message carries at most 2 GiB (INT_MAX bytes)");
    Queued q{next_id_.fetch_add(1, std::memory_order_relaxed), std::string(), f};
    put_header(q.message, TaskHeader{q.id, kind, static_cast<std::uint32_t>(name_len)});
    q.message.append(task, name_len);
    std::size_t at = q.message.size();
    q.message.resize(at + payload);
    if (kind == kChunk)
        cf_chunk_results_pack(parts, n_parts, &q.message[at], payload, &payload);
    else if (payload)
        std::memcpy(&q.message[at], parts[0].data, payload);
    // A worker idle and nothing queued: the task goes at once, from here, without passing through the queue.
    if (queued_.load(std::memory_order_relaxed) == 0 && busy_.load(std::memory_order_relaxed) < ranks_.size()) {
        std::string failure;
        int rc = CF_OK;
        bool sent = false;
        {
            std::unique_lock<std::mutex> mpi(mpi_lock(), std::try_to_lock);
            if (mpi.owns_lock() && !ended_) sent = send_direct(q, &rc, failure);
        }
        if (!failure.empty()) break_pool(failure);
        if (sent) return rc;
    }
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (int rc = refusal_locked(); rc != CF_OK) return rc;
        cf_future_retain(f);
        queue_.push_back(std::move(q));
        queued_.store(queue_.size(), std::memory_order_relaxed);
        poked_ = true;
        if (sleeping_) cv_.notify_one();
    }
    // A worker with nothing to do gets the task at once, from here.
    if (busy_.load(std::memory_order_relaxed) < ranks_.size()) send_now();
    return CF_OK;
}

bool MpiPool::send_direct(Queued &q, int *rc, std::string &failure) {
    std::size_t idle = workers_.size();
    for (std::size_t w = 0; w < workers_.size() && idle == workers_.size(); ++w)
        if (workers_[w].load == 0) idle = w;
    if (idle == workers_.size()) return false;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if ((*rc = refusal_locked()) != CF_OK) return true;
        if (!queue_.empty()) return false;  // queued before this one: they go first
        // The communication thread completes the future if its caller does not wait for it (or waits asleep, as
        // for a long task): asleep for good since the pool was idle, it must hear of the task.
        poked_ = true;
        if (sleeping_) cv_.notify_one();
    }
    cf_future_retain(q.future);
    if (!start_on(idle, q)) return true;  // cancelled already
    try {
        send_batch(idle, q.message, 1, next_send_faults());
    } catch (const std::exception &e) {
        failure = e.what();  // the pool breaks (the caller does it, once mpi_lock() is let go): the future with it
        ended_ = true;
    }
    return true;
}

int MpiPool::refusal_locked() const {
    if (!broken_.empty())
        return cf_provider_error(CF_E_BROKEN_PROCESS_POOL, ("the MPI pool is broken: " + broken_).c_str());
    if (closed_) return cf_provider_error(CF_E_SHUTDOWN, "cannot schedule new futures after shutdown");
    return CF_OK;
}

bool MpiPool::start_on(std::size_t w, Queued &q) {
    if (!cf_future_set_running_or_notify_cancel(q.future)) {  // cancelled while it waited
        cf_future_release(q.future);
        q.future = nullptr;
        return false;
    }
    if (workers_[w].load++ == 0) busy_.fetch_add(1, std::memory_order_relaxed);
    running_.fetch_add(1, std::memory_order_relaxed);
    in_flight_.emplace(q.id, InFlight{q.future, w});
    return true;
}

int MpiPool::submit(const char *task, const void *arg, std::size_t len, cf_future *f) {
    cf_slice one{arg, len};
    return enqueue(task, kSingle, &one, 1, f);
}

int MpiPool::submit_chunk(const char *task, const cf_slice *args, std::size_t n, cf_future *f) {
    return enqueue(task, kChunk, args, n, f);
}

int MpiPool::shutdown(bool wait, bool cancel_futures) {
    std::deque<Queued> cancelled;
    {
        std::lock_guard<std::mutex> lock(mu_);
        closed_ = true;
        if (cancel_futures) cancelled.swap(queue_);
        queued_.store(queue_.size(), std::memory_order_relaxed);
        poked_ = true;
        cv_.notify_one();
    }
    for (Queued &q : cancelled) {
        cf_future_cancel(q.future);
        cf_future_release(q.future);
    }
    if (wait) join();
    return CF_OK;
}

void MpiPool::shutdown_all() {
    std::lock_guard<std::mutex> lock(g_live_mu);
    for (MpiPool *p : live_pools()) p->shutdown(true, true);
}

void MpiPool::join() {
    std::lock_guard<std::mutex> lock(join_mu_);
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

int MpiPool::stats(cf_executor_stats *out) {
    std::uint64_t workers = ranks_.size();
    out->workers = workers;
    out->max_workers = workers;
    out->workers_started = workers;
    out->running = running_.load(std::memory_order_relaxed);
    out->idle_workers = workers - busy_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    out->queued = queue_.size();
    return CF_OK;
}

// ---- the MPI work: the communication thread, or a waiting caller

void MpiPool::send_now() {
    std::string failure;
    {
        std::unique_lock<std::mutex> mpi(mpi_lock(), std::try_to_lock);
        if (!mpi.owns_lock() || ended_) return;
        try {
            post_waiting_receives();
            dispatch();
        } catch (const std::exception &e) {
            failure = e.what();
            ended_ = true;
        }
    }
    if (!failure.empty()) break_pool(failure);
}

int MpiPool::progress(std::uint64_t round) {
    thread_local Clock::time_point news_at;
    // These turns are a poll loop: the clock is read on every 8th only.
    bool look = round % 8 == 0;
    Clock::time_point now = look ? Clock::now() : Clock::time_point();
    if (round == 0) news_at = now;
    Step s;
    {
        std::unique_lock<std::mutex> mpi(mpi_lock(), std::try_to_lock);
        if (mpi.owns_lock()) {
            if (ended_) return 0;
            if (look) driven_at_.store(ns_of(now), std::memory_order_relaxed);
            step(s);
        }
    }
    finish(s);
    if (!s.failure.empty()) {
        break_pool(s.failure);
        return 0;
    }
    // A done-callback on the communication thread that waits for another of the pool's futures: nobody else
    // would collect it.
    if (std::this_thread::get_id() == thread_id_) return 1;
    if (s.news) {
        news_at = Clock::now();
        return 1;
    }
    if (!look) return 1;
    bool short_tasks = std::chrono::nanoseconds(task_ns_.load(std::memory_order_relaxed)) < kShortTask;
    if (now - news_at < (short_tasks ? kPatience : kGlance)) return 1;
    // Long tasks: the caller sleeps, and the communication thread (never asleep for good while tasks are in
    // flight) completes its future.
    driven_at_.store(0, std::memory_order_relaxed);
    return 0;
}

bool MpiPool::driven_now(Clock::time_point now) const {
    std::int64_t at = driven_at_.load(std::memory_order_relaxed);
    return at != 0 && ns_of(now) - at < std::chrono::nanoseconds(kSpin).count();
}

void MpiPool::run() {
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);  // naps of microseconds, not the default 50 us more
    Step s;
    Clock::time_point news_at = Clock::now();
    for (;;) {
        bool stopped = false;
        {
            // While a caller does the work, this thread does not queue up behind it for the lock.
            std::unique_lock<std::mutex> mpi(mpi_lock(), std::defer_lock);
            if (!driven_now(Clock::now())) {
                mpi.lock();
            } else if (!mpi.try_lock()) {
                wait_for_work(news_at, true);
                continue;
            }
            if (ended_) return;  // a caller found the pool broken
            step(s);
            if (s.failure.empty() && !s.news && stopping()) {
                try {
                    stop_workers();
                } catch (const std::exception &e) {
                    s.failure = e.what();
                }
                ended_ = true;
                stopped = true;
            }
        }
        bool pending = s.pending, news = s.news;
        finish(s);
        if (!s.failure.empty()) return break_pool(s.failure);
        if (stopped) return;
        s.reset();
        if (news) news_at = Clock::now();
        wait_for_work(news_at, pending);
    }
}

void MpiPool::step(Step &s) {
    try {
        post_waiting_receives();
        bool sent = dispatch();
        collect(s);
        s.news = s.news || sent;
        s.pending = !in_flight_.empty() || !sends_.empty() || !receives_.empty();
    } catch (const std::exception &e) {
        s.failure = e.what();
        ended_ = true;
    }
}

bool MpiPool::dispatch() {
    Clock::time_point now;
    std::vector<unsigned> &limit = limit_;
    std::vector<Queued> &taken = taken_;
    if (queued_.load(std::memory_order_relaxed) == 0) return false;  // looked at again under mu_ otherwise
    limit.assign(workers_.size(), 0);
    taken.clear();
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty()) return false;
        now = Clock::now();
        auto task = std::chrono::nanoseconds(task_ns_.load(std::memory_order_relaxed));
        bool short_tasks = task < kFastWorker / 4;
        bool long_queue = queue_.size() >= kDeepQueue;
        std::size_t share = (queue_.size() + in_flight_.size() + workers_.size() - 1) / workers_.size();
        std::int64_t by_time = kAhead / std::max<std::chrono::nanoseconds>(task, kFastWorker);
        auto ahead = static_cast<unsigned>(std::clamp<std::int64_t>(by_time, kDepth, kDeepDepth));
        ahead = static_cast<unsigned>(std::min<std::size_t>(ahead, std::max<std::size_t>(share, kDepth)));
        std::size_t room = 0;
        for (std::size_t w = 0; w < workers_.size(); ++w) {
            const Worker &k = workers_[w];
            bool deep = long_queue && now - k.last_result < kFastWorker && short_tasks;
            limit[w] = deep ? kDeepDepth : long_queue && !short_tasks ? ahead : kDepth;
            room += limit[w] > k.load ? limit[w] - k.load : 0;
        }
        while (!queue_.empty() && taken.size() < room) {
            taken.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    if (taken.empty()) return false;
    // Each task to the least loaded worker with room (a large one: within the first kDepth); what finds none goes
    // back to the front of the queue, in order.
    std::vector<std::vector<Queued *>> &to = to_;
    to.resize(workers_.size());
    for (auto &list : to) list.clear();
    std::size_t placed = 0;
    for (; placed < taken.size(); ++placed) {
        Queued &q = taken[placed];
        bool large = q.message.size() > kSmallTask;
        std::size_t best = workers_.size();
        for (std::size_t w = 0; w < workers_.size(); ++w) {
            unsigned cap = large ? std::min(limit[w], kDepth) : limit[w];
            if (workers_[w].load < cap && (best == workers_.size() || workers_[w].load < workers_[best].load))
                best = w;
        }
        if (best == workers_.size()) break;
        if (start_on(best, q)) to[best].push_back(&q);
    }
    if (placed < taken.size()) {
        std::lock_guard<std::mutex> lock(mu_);
        for (std::size_t i = taken.size(); i-- > placed;) queue_.push_front(std::move(taken[i]));
        queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    for (std::size_t w = 0; w < to.size(); ++w) {
        std::string batch;
        std::size_t in_batch = 0;
        bool fault = false;
        for (Queued *q : to[w]) {
            bool hit = next_send_faults();
            if (q->message.size() > kSmallTask || batch.size() + 8 + q->message.size() > kBatch) {
                send_batch(w, batch, in_batch, fault);
                in_batch = 0;
                fault = false;
            }
            if (q->message.size() > kSmallTask) {
                send_batch(w, q->message, 1, hit);
                continue;
            }
            if (in_batch == 0) {
                batch = std::move(q->message);
            } else {
                if (in_batch == 1) {
                    std::string first = std::move(batch);
                    batch.clear();
                    put_frame(batch, first);
                }
                put_frame(batch, q->message);
            }
            ++in_batch;
            fault = fault || hit;
        }
        send_batch(w, batch, in_batch, fault);
    }
    return placed > 0;
}

// Sends tasks (one task message, or several as frames) to worker w; batch is left empty.
void MpiPool::send_batch(std::size_t w, std::string &batch, std::size_t tasks, bool fault) {
    if (tasks == 0) return;
    int tag = tasks == 1 ? kTagTask : kTagTasks;
    if (batch.size() > kTaskPosted) {
        send_bytes(w, announce_of(batch.size(), tag), kTagTaskAnnounce, false);
        tag = kTagTaskBody;
    }
    send_bytes(w, std::move(batch), tag, fault);
    batch.clear();
}

void MpiPool::send_bytes(std::size_t w, std::string bytes, int tag, bool fault) {
    auto t = std::make_unique<Transfer>();
    t->bytes = std::move(bytes);
    check("MPI_Isend", fault ? MPI_ERR_OTHER
                             : MPI_Isend(t->bytes.data(), static_cast<int>(t->bytes.size()), MPI_BYTE, ranks_[w],
                                         tag, comm_, &t->request));
    sends_.push_back(std::move(t));
}

int MpiPool::post_receive(std::size_t w) {
    return MPI_Irecv(posted_bytes_[w].get(), static_cast<int>(kResultPosted), MPI_BYTE, ranks_[w], MPI_ANY_TAG, comm_,
                     &posted_[w]);
}

void MpiPool::cancel_receives() {
    for (MPI_Request &r : posted_) {
        if (r == MPI_REQUEST_NULL) continue;
        check("MPI_Cancel", MPI_Cancel(&r));
        check("MPI_Wait", MPI_Wait(&r, MPI_STATUS_IGNORE));
    }
}

void MpiPool::finish_transfers(std::vector<std::unique_ptr<Transfer>> &list,
                               std::vector<std::unique_ptr<Transfer>> *done) {
    for (std::size_t i = 0; i < list.size();) {
        int flag = 0;
        check("MPI_Test", MPI_Test(&list[i]->request, &flag, MPI_STATUS_IGNORE));
        if (!flag) {
            ++i;
            continue;
        }
        if (done) done->push_back(std::move(list[i]));
        list[i] = std::move(list.back());
        list.pop_back();
    }
}

void MpiPool::collect(Step &s) {
    Clock::time_point now;
    auto arrived = [&] {
        if (!s.news) now = Clock::now();
        s.news = true;
    };
    finish_transfers(sends_, nullptr);
    std::vector<std::unique_ptr<Transfer>> received;
    finish_transfers(receives_, &received);
    for (auto &t : received) {
        arrived();
        s.buffers.push_back(std::move(t->bytes));
        take_message(s, t->tag, now);
    }
    // One message at a time: its futures are completed before the next look, which may find nothing, and then
    // (Open MPI on an oversubscribed node) gives the CPU away.
    if (s.news) return;
    int index = MPI_UNDEFINED, flag = 0;
    MPI_Status st;
    check("MPI_Testany", MPI_Testany(static_cast<int>(posted_.size()), posted_.data(), &index, &flag, &st));
    if (!flag || index == MPI_UNDEFINED) return;
    arrived();
    auto w = static_cast<std::size_t>(index);
    int n = 0;
    MPI_Get_count(&st, MPI_BYTE, &n);
    std::string_view message(posted_bytes_[w].get(), static_cast<std::size_t>(n));
    if (st.MPI_TAG == kTagResultAnnounce) {
        Announce a;
        if (!take_announce(message, a))
            throw MpiFailure("a malformed announce of a large result from worker " + std::to_string(ranks_[w]));
        auto t = std::make_unique<Transfer>();
        t->bytes.resize(static_cast<std::size_t>(a.length));
        t->tag = a.tag;
        check("MPI_Irecv", MPI_Irecv(&t->bytes[0], static_cast<int>(a.length), MPI_BYTE, ranks_[w], kTagResultBody,
                                     comm_, &t->request));
        receives_.push_back(std::move(t));
    } else {
        s.buffers.emplace_back(message);
        take_message(s, st.MPI_TAG, now);
    }
    // Posted again after the receive of a body, so that the body matches that one and the messages after it this
    // one; and at the next step, so that this message's futures are completed first.
    repost_.push_back(w);
}

void MpiPool::post_waiting_receives() {
    for (std::size_t w : repost_) check("MPI_Irecv", post_receive(w));
    repost_.clear();
}

// The last of s.buffers, a result message or several.
void MpiPool::take_message(Step &s, int tag, Clock::time_point now) {
    std::string_view message = s.buffers.back();
    if (tag == kTagResult) return take_result(s, message, now);
    std::vector<std::string_view> results;
    if (tag == kTagResults && take_frames(message, results))
        for (std::string_view r : results) take_result(s, r, now);
}

// A result's future leaves in_flight_ (under mpi_lock); it is completed later, by finish.
void MpiPool::take_result(Step &s, std::string_view message, Clock::time_point now) {
    ResultHeader h;
    std::string_view rest;
    if (!take_header(message, h, rest)) return;
    auto it = in_flight_.find(h.id);
    if (it == in_flight_.end()) return;
    InFlight done = it->second;
    in_flight_.erase(it);
    Worker &w = workers_[done.worker];
    if (--w.load == 0) busy_.fetch_sub(1, std::memory_order_relaxed);
    running_.fetch_sub(1, std::memory_order_relaxed);
    // The task's time on its worker, as the worker measured it.
    std::int64_t took = std::int64_t(h.micros) * 1000;
    std::int64_t avg = task_ns_.load(std::memory_order_relaxed);
    task_ns_.store(avg + (took - avg) / 8, std::memory_order_relaxed);
    w.last_result = now;
    const std::string &buffer = s.buffers.back();
    s.outcomes.push_back(Step::Outcome{done.future, s.buffers.size() - 1,
                                       static_cast<std::size_t>(message.data() - buffer.data()), message.size()});
}

void MpiPool::finish(Step &s) {
    for (const Step::Outcome &o : s.outcomes)
        complete(o.future, std::string_view(s.buffers[o.buffer]).substr(o.at, o.len));
    s.outcomes.clear();
}

void MpiPool::complete(cf_future *f, std::string_view result) {
    ResultHeader h{};
    std::string_view rest;
    take_header(result, h, rest);
    if (h.status == 0) {
        cf_future_set_result(f, rest.data(), rest.size());
    } else {
        std::string type = take_string(rest), message = take_string(rest), detail = take_string(rest);
        cf_future_set_remote_failure(f, is_failure_status(h.status) ? h.status : CF_E_TASK_FAILED,
                                     type.empty() ? "Exception" : type.c_str(), message.c_str(), detail.c_str());
    }
    cf_future_release(f);
}

bool MpiPool::stopping() {
    if (!in_flight_.empty() || !receives_.empty()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    return closed_ && queue_.empty();
}

// After a round without news: polls on for a moment while short tasks are due and no caller does the work, else
// sleeps: a quarter of a task's time while tasks are in flight, a little while when idle (a caller about to wait
// will do the work itself, without waking this thread), and until poked when idle for long.
void MpiPool::wait_for_work(Clock::time_point news_at, bool pending) {
    Clock::time_point now = Clock::now();
    auto task = std::chrono::nanoseconds(task_ns_.load(std::memory_order_relaxed));
    bool driven = driven_now(now);
    if (pending && !driven && task < kShortTask && now - news_at < kSpin) return;
    Clock::duration nap = kIdleNap;
    if (pending && !driven) nap = std::clamp<Clock::duration>(task / 4, kMinNap, kMaxNap);
    bool forever = !pending && now - news_at > kIdle;
    std::unique_lock<std::mutex> lock(mu_);
    if (forever) {
        sleeping_ = true;
        cv_.wait(lock, [this] { return poked_; });
        sleeping_ = false;
    } else if (!poked_ || pending) {
        cv_.wait_for(lock, nap);
    }
    // Taken: the step that follows looks at the queue. (Left set while every worker is busy, it would turn
    // each later sleep into a spin.)
    poked_ = false;
}

void MpiPool::stop_workers() {
    for (int w : ranks_) check("MPI_Send", MPI_Send(nullptr, 0, MPI_BYTE, w, kTagStop, comm_));
    for (auto &t : sends_) check("MPI_Wait", MPI_Wait(&t->request, MPI_STATUS_IGNORE));
    sends_.clear();
    cancel_receives();
    check(spawned_ ? "MPI_Comm_disconnect" : "MPI_Comm_free",
          spawned_ ? MPI_Comm_disconnect(&comm_) : MPI_Comm_free(&comm_));
}

void MpiPool::check(const char *call, int rc) {
    if (rc != MPI_SUCCESS) throw MpiFailure(mpi_error_text(call, rc));
}

void MpiPool::break_pool(const std::string &why) {
    std::deque<Queued> queued;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!broken_.empty()) return;
        broken_ = why;
        closed_ = true;
        queued.swap(queue_);
        queued_.store(0, std::memory_order_relaxed);
        cv_.notify_all();
    }
    std::fprintf(stderr, "cfutures-mpi: the pool is broken: %s\n", why.c_str());
    std::unordered_map<std::uint64_t, InFlight> lost;
    {
        std::lock_guard<std::mutex> mpi(mpi_lock());
        ended_ = true;
        lost.swap(in_flight_);
        // MPI may still write into the buffers of transfers it never finished: they are left to it.
        for (auto &t : sends_) (void)t.release();
        for (auto &t : receives_) (void)t.release();
        for (auto &b : posted_bytes_) (void)b.release();
        sends_.clear();
        receives_.clear();
        running_.store(0);
        busy_.store(0);
    }
    for (auto &[id, f] : lost) fail_future(f.future, why);
    for (Queued &q : queued) fail_future(q.future, why);
    stop_workers_after_break();
}

void MpiPool::stop_workers_after_break() {
    // Best effort, so that the job can end: the workers may be unreachable, and nothing here may wait for good.
    std::lock_guard<std::mutex> mpi(mpi_lock());
    std::vector<MPI_Request> stops(ranks_.size(), MPI_REQUEST_NULL);
    for (std::size_t i = 0; i < ranks_.size(); ++i)
        if (MPI_Isend(nullptr, 0, MPI_BYTE, ranks_[i], kTagStop, comm_, &stops[i]) != MPI_SUCCESS) return;
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    int done = 0;
    while (!done && std::chrono::steady_clock::now() < give_up) {
        if (MPI_Testall(static_cast<int>(stops.size()), stops.data(), &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
            return;
        if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

// ---- the provider's table

const cf_executor_provider &MpiPool::provider() {
    static const cf_executor_provider p = [] {
        cf_executor_provider t;
        std::memset(static_cast<void *>(&t), 0, sizeof t);
        t.struct_size = sizeof t;
        t.name = "MPI";
        t.submit = [](void *self, const char *task, const void *arg, size_t len, cf_future *f) {
            return no_throw([&] { return pool_of(self).submit(task, arg, len, f); });
        };
        t.submit_chunk = [](void *self, const char *task, const cf_slice *args, size_t n, cf_future *f) {
            return no_throw([&] { return pool_of(self).submit_chunk(task, args, n, f); });
        };
        t.shutdown = [](void *self, int wait, int cancel_futures) {
            return no_throw([&] { return pool_of(self).shutdown(wait != 0, cancel_futures != 0); });
        };
        t.stats = [](void *self, cf_executor_stats *out) { return no_throw([&] { return pool_of(self).stats(out); }); };
        t.destroy = [](void *self) { delete &pool_of(self); };
        t.progress = [](void *self, std::uint64_t round) {
            return no_throw([&] { return pool_of(self).progress(round); });
        };
        return t;
    }();
    return p;
}

}  // namespace cf::mpi
