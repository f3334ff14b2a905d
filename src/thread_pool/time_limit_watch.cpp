// SPDX-License-Identifier: MIT
#include "thread_pool/time_limit_watch.hpp"

#include <sstream>
#include <string>

namespace cf::core {

TimeLimitWatch::~TimeLimitWatch() {
    {
        std::lock_guard<std::mutex> lock(state_->mu);
        state_->stopping = true;
        for (auto &[token, a] : state_->armed) a.future->release();
        state_->armed.clear();
        state_->deadlines.clear();
    }
    state_->cv.notify_all();
    // A done-callback run by the watch may drop the pool's last reference: then this runs on the watch's own
    // thread, which cannot join itself; it finds `stopping` when the callback returns.
    if (thread_.joinable()) {
        if (thread_.get_id() == std::this_thread::get_id()) thread_.detach(); else thread_.join();
    }
}

TimeLimitWatch::Token TimeLimitWatch::arm(FutureState *future, double seconds) {
    auto at = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    future->retain();
    State &s = *state_;
    std::lock_guard<std::mutex> lock(s.mu);
    if (!thread_.joinable()) thread_ = std::thread([shared = state_] { watch(shared); });
    Token t = s.next++;
    auto due = s.deadlines.emplace(at, t);
    s.armed.emplace(t, Armed{future, seconds, due});
    if (due == s.deadlines.begin()) s.cv.notify_all();  // earlier than the deadline the thread sleeps for
    return t;
}

void TimeLimitWatch::disarm(Token t) {
    FutureState *f;
    {
        State &s = *state_;
        std::lock_guard<std::mutex> lock(s.mu);
        auto it = s.armed.find(t);
        if (it == s.armed.end()) return;
        f = it->second.future;
        if (it->second.due != s.deadlines.end()) s.deadlines.erase(it->second.due);
        s.armed.erase(it);
    }
    f->release();
}

void TimeLimitWatch::watch(const std::shared_ptr<State> &shared) {
    State &s = *shared;
    std::unique_lock<std::mutex> lock(s.mu);
    while (!s.stopping) {
        if (s.deadlines.empty()) {
            s.cv.wait(lock);
            continue;
        }
        auto first = s.deadlines.begin();
        if (Clock::time_point due = first->first; Clock::now() < due) {
            // A copy: the entry may be disarmed (and freed) while this thread sleeps.
            s.cv.wait_until(lock, due);
            continue;
        }
        // Due. The entry stays armed, holding its reference to the future, until the task's own thread disarms
        // it as the task returns; only its deadline goes.
        Armed &a = s.armed.at(first->second);
        s.deadlines.erase(first);
        a.due = s.deadlines.end();
        FutureState *f = a.future;
        f->retain();  // for the failure below, which runs without the lock
        std::ostringstream secs;
        secs << a.limit;
        lock.unlock();
        // The failure first, then the task's cancel flag: a task that sees the flag and returns at once must
        // find its future failed already, or its late result would win.
        f->set_failure(make_failure(Status::TimeLimit, "TimeLimitError",
                                    "the task ran past its time limit of " + secs.str() + " s",
                                    "a thread cannot be stopped: the task was asked to stop "
                                    "(cancel_requested) and its result, if any, is discarded"));
        f->request_cancel();
        f->release();
        lock.lock();
    }
}

}  // namespace cf::core
