// SPDX-License-Identifier: MIT
#include "future/as_completed.hpp"

#include <optional>
#include <unordered_set>
#include <vector>

#include "common/error.hpp"

#include "future/future_state.hpp"
#include "future/wait.hpp"
#include "future/wait_graph.hpp"
#include "future/wait_helper.hpp"

namespace cf::core {

AsCompletedIterator::AsCompletedIterator(FutureState *const *fs, std::size_t n, const Deadline &deadline)
    : deadline_(deadline), waiter_(1) {
    std::unordered_set<FutureState *> seen;
    for (std::size_t i = 0; i < n; ++i) {
        FutureState *f = fs[i];
        if (!f || !seen.insert(f).second) continue;
        f->retain();
        futures_.push_back(f);
        if (f->add_waiter(&waiter_)) registered_.push_back(f); else ready_.push_back(f);
    }
}

AsCompletedIterator::~AsCompletedIterator() {
    for (FutureState *f : registered_) f->remove_waiter(&waiter_);
    for (FutureState *f : futures_) f->release();
}

FutureState *AsCompletedIterator::sleep_for_next() {
    // Without a deadline, this task's wait is an edge of the wait-for graph to the futures still pending:
    // refused (DeadlockError) when none of them can finish while it waits, unless one arrived meanwhile.
    std::vector<FutureState *> pending;
    std::optional<WaitEdge> edge;
    if (deadline_.infinite()) {
        for (FutureState *f : futures_)
            if (!f->done()) pending.push_back(f);
        try {
            edge.emplace(pending.data(), pending.size());
        } catch (const DeadlockError &) {
            if (FutureState *arrived = waiter_.take()) return arrived;
            throw;
        }
    }
    return sleep_or_help(waiter_, deadline_, WaitTargets{futures_.data(), futures_.size()}) ? waiter_.take() : nullptr;
}

FutureState *AsCompletedIterator::next() {
    if (yielded_ == futures_.size()) return nullptr;
    FutureState *f = nullptr;
    if (!ready_.empty()) {
        f = ready_.front();
        ready_.pop_front();
    } else if (!timed_out_ && !deadline_.passed()) {
        // As in CPython, once the time is up nothing more is handed out, even what completed meanwhile.
        f = waiter_.take();
        if (!f) f = sleep_for_next();
    }
    if (!f) {
        timed_out_ = true;
        throw TimeoutError(unfinished_message(futures_.size() - yielded_, futures_.size()));
    }
    ++yielded_;
    return f;
}

}  // namespace cf::core
