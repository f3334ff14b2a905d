// SPDX-License-Identifier: MIT
#include "pool.hpp"

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

// Tasks sent ahead to one worker: it starts the next as soon as it sends a result, and a large argument on its
// way to one worker does not keep the others idle.
constexpr unsigned kDepth = 2;
// Results larger than this are received without blocking the communication thread.
constexpr int kLargeResult = 64 * 1024;

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
      workers_(std::move(workers)),
      load_(workers_.size(), 0),
      spawned_(spawned),
      check_names_(check_names) {
    if (const char *k = std::getenv("CFUTURES_MPI_FAULT_AT_SEND")) fault_at_send_ = std::atol(k);
    thread_ = std::thread([this] { run(); });
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
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.empty())
        return cf_provider_error(CF_E_BROKEN_PROCESS_POOL, ("the MPI pool is broken: " + broken_).c_str());
    if (closed_) return cf_provider_error(CF_E_SHUTDOWN, "cannot schedule new futures after shutdown");
    cf_future_retain(f);
    queue_.push_back(std::move(q));
    poked_ = true;
    if (sleeping_) cv_.notify_one();
    return CF_OK;
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
    std::uint64_t workers = workers_.size();
    out->workers = workers;
    out->max_workers = workers;
    out->workers_started = workers;
    out->running = running_.load(std::memory_order_relaxed);
    out->idle_workers = workers - busy_.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    out->queued = queue_.size();
    return CF_OK;
}

// ---- the communication thread

void MpiPool::run() {
    Backoff backoff;
    std::vector<std::string> results;
    try {
        for (;;) {
            bool busy = false;
            {
                std::lock_guard<std::mutex> mpi(mpi_lock());
                busy = step(results);
            }
            // Completed without the MPI lock: done-callbacks may submit, or make another pool.
            for (const std::string &r : results) complete(r);
            results.clear();
            if (busy) {
                backoff.reset();
                continue;
            }
            if (stopping()) {
                std::lock_guard<std::mutex> mpi(mpi_lock());
                stop_workers();
                return;
            }
            // Idle or not, poll on for a while (the next task or result is usually microseconds away); then
            // sleep, until woken by a submit or shutdown, or for as long as the back-off says while results
            // are due.
            std::chrono::microseconds d = backoff.next_sleep();
            if (!d.count()) continue;
            bool idle = in_flight_.empty() && sends_.empty() && receives_.empty();
            wait_for_work(idle ? std::chrono::microseconds::max() : d);
        }
    } catch (const MpiFailure &e) {
        break_pool(e.what());
    } catch (const std::exception &e) {
        break_pool(e.what());
    }
}

bool MpiPool::step(std::vector<std::string> &results) {
    bool sent = dispatch();
    bool received = collect(results);
    return sent || received;
}

bool MpiPool::dispatch() {
    std::size_t room = 0;
    for (unsigned l : load_) room += kDepth - l;
    if (room == 0) return false;
    std::vector<Queued> taken;
    {
        std::lock_guard<std::mutex> lock(mu_);
        poked_ = false;
        while (!queue_.empty() && taken.size() < room) {
            taken.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
    }
    if (taken.empty()) return false;
    std::vector<std::pair<std::size_t, Queued *>> to_send;
    for (Queued &q : taken) {
        if (!cf_future_set_running_or_notify_cancel(q.future)) {  // cancelled while queued
            cf_future_release(q.future);
            continue;
        }
        std::size_t w = 0;
        for (std::size_t i = 1; i < load_.size(); ++i)
            if (load_[i] < load_[w]) w = i;
        if (load_[w]++ == 0) busy_.fetch_add(1, std::memory_order_relaxed);
        running_.fetch_add(1, std::memory_order_relaxed);
        in_flight_.emplace(q.id, InFlight{q.future, w});
        to_send.emplace_back(w, &q);
    }
    for (auto &[w, q] : to_send) {
        auto t = std::make_unique<Transfer>();
        t->bytes = std::move(q->message);
        bool fault = fault_at_send_ > 0 && ++sends_made_ == fault_at_send_;
        check("MPI_Isend", fault ? MPI_ERR_OTHER
                                 : MPI_Isend(t->bytes.data(), static_cast<int>(t->bytes.size()), MPI_BYTE,
                                             workers_[w], kTagTask, comm_, &t->request));
        sends_.push_back(std::move(t));
    }
    return true;
}

void MpiPool::finish_transfers(std::vector<std::unique_ptr<Transfer>> &list, std::vector<std::string> *done) {
    for (std::size_t i = 0; i < list.size();) {
        int flag = 0;
        check("MPI_Test", MPI_Test(&list[i]->request, &flag, MPI_STATUS_IGNORE));
        if (!flag) {
            ++i;
            continue;
        }
        if (done) done->push_back(std::move(list[i]->bytes));
        list[i] = std::move(list.back());
        list.pop_back();
    }
}

bool MpiPool::collect(std::vector<std::string> &results) {
    finish_transfers(sends_, nullptr);
    finish_transfers(receives_, &results);
    bool any = !results.empty();
    for (;;) {
        int flag = 0;
        MPI_Message m;
        MPI_Status st;
        check("MPI_Improbe", MPI_Improbe(MPI_ANY_SOURCE, kTagResult, comm_, &flag, &m, &st));
        if (!flag) return any;
        any = true;
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        if (n <= kLargeResult) {
            std::string bytes(static_cast<std::size_t>(n), '\0');
            check("MPI_Mrecv", MPI_Mrecv(&bytes[0], n, MPI_BYTE, &m, MPI_STATUS_IGNORE));
            results.push_back(std::move(bytes));
        } else {
            auto t = std::make_unique<Transfer>();
            t->bytes.resize(static_cast<std::size_t>(n));
            check("MPI_Imrecv", MPI_Imrecv(&t->bytes[0], n, MPI_BYTE, &m, &t->request));
            receives_.push_back(std::move(t));
        }
    }
}

void MpiPool::complete(const std::string &result) {
    ResultHeader h;
    std::string_view rest;
    if (!take_header(std::string_view(result), h, rest)) return;
    auto it = in_flight_.find(h.id);
    if (it == in_flight_.end()) return;
    InFlight done = it->second;
    in_flight_.erase(it);
    if (--load_[done.worker] == 0) busy_.fetch_sub(1, std::memory_order_relaxed);
    running_.fetch_sub(1, std::memory_order_relaxed);
    if (h.status == 0) {
        cf_future_set_result(done.future, rest.data(), rest.size());
    } else {
        std::string type = take_string(rest), message = take_string(rest), detail = take_string(rest);
        cf_future_set_remote_failure(done.future, is_failure_status(h.status) ? h.status : CF_E_TASK_FAILED,
                                     type.empty() ? "Exception" : type.c_str(), message.c_str(), detail.c_str());
    }
    cf_future_release(done.future);
}

bool MpiPool::stopping() {
    if (!in_flight_.empty() || !receives_.empty()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    return closed_ && queue_.empty();
}

void MpiPool::wait_for_work(std::chrono::microseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    sleeping_ = true;
    if (limit == std::chrono::microseconds::max())
        cv_.wait(lock, [this] { return poked_; });
    else
        cv_.wait_for(lock, limit, [this] { return poked_; });
    // Taken: the step that follows looks at the queue. (Left set while every worker is busy, it would turn
    // each later sleep into a spin.)
    poked_ = false;
    sleeping_ = false;
}

void MpiPool::stop_workers() {
    for (int w : workers_) check("MPI_Send", MPI_Send(nullptr, 0, MPI_BYTE, w, kTagStop, comm_));
    for (auto &t : sends_) check("MPI_Wait", MPI_Wait(&t->request, MPI_STATUS_IGNORE));
    sends_.clear();
    check(spawned_ ? "MPI_Comm_disconnect" : "MPI_Comm_free",
          spawned_ ? MPI_Comm_disconnect(&comm_) : MPI_Comm_free(&comm_));
}

void MpiPool::check(const char *call, int rc) {
    if (rc != MPI_SUCCESS) throw MpiFailure(mpi_error_text(call, rc));
}

void MpiPool::break_pool(const std::string &why) {
    std::fprintf(stderr, "cfutures-mpi: the pool is broken: %s\n", why.c_str());
    std::deque<Queued> queued;
    {
        std::lock_guard<std::mutex> lock(mu_);
        broken_ = why;
        closed_ = true;
        queued.swap(queue_);
    }
    for (auto &[id, f] : in_flight_) fail_future(f.future, why);
    in_flight_.clear();
    for (Queued &q : queued) fail_future(q.future, why);
    // MPI may still write into the buffers of transfers it never finished: they are left to it.
    for (auto &t : sends_) (void)t.release();
    for (auto &t : receives_) (void)t.release();
    sends_.clear();
    receives_.clear();
    running_.store(0);
    busy_.store(0);
    stop_workers_after_break();
}

void MpiPool::stop_workers_after_break() {
    // Best effort, so that the job can end: the workers may be unreachable, and nothing here may wait for good.
    std::lock_guard<std::mutex> mpi(mpi_lock());
    std::vector<MPI_Request> stops(workers_.size(), MPI_REQUEST_NULL);
    for (std::size_t i = 0; i < workers_.size(); ++i)
        if (MPI_Isend(nullptr, 0, MPI_BYTE, workers_[i], kTagStop, comm_, &stops[i]) != MPI_SUCCESS) return;
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
        return t;
    }();
    return p;
}

}  // namespace cf::mpi
