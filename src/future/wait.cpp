// SPDX-License-Identifier: MIT
#include "future/wait.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "future/future_state.hpp"
#include "future/wait_graph.hpp"
#include "future/wait_helper.hpp"
#include "future/waiter.hpp"

namespace cf::core {
namespace {

std::vector<FutureState *> distinct(FutureState *const *fs, std::size_t n) {
    std::vector<FutureState *> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        if (fs[i]) out.push_back(fs[i]);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

bool condition_holds(const std::vector<FutureState *> &fs, ReturnWhen when) {
    std::size_t n_done = 0;
    bool any_failed = false;
    for (FutureState *f : fs) {
        n_done += f->done();
        any_failed = any_failed || f->failed();
    }
    switch (when) {
        case ReturnWhen::FirstCompleted: return n_done > 0 || fs.empty();
        case ReturnWhen::FirstException: return any_failed || n_done == fs.size();
        case ReturnWhen::AllCompleted: break;
    }
    return n_done == fs.size();
}

// Registers one Waiter on every pending future and sleeps until the condition holds or time runs out.
void sleep_on(const std::vector<FutureState *> &fs, const Deadline &deadline, ReturnWhen when) {
    std::vector<FutureState *> registered;
    registered.reserve(fs.size());
    Waiter w(SIZE_MAX, when == ReturnWhen::FirstException);
    for (FutureState *f : fs)
        if (f->add_waiter(&w)) registered.push_back(f);
    // Only the registered futures can arrive: one that finished before it could register is seen below.
    w.set_wake_after(when == ReturnWhen::FirstCompleted ? 1 : registered.size());
    // Futures that finished while we registered count as arrivals too: recheck before sleeping.
    try {
        // A task's endless wait is an edge of the wait-for graph, to the futures still pending (any of them may
        // end it): refused (DeadlockError) when none of them can finish while this task waits.
        std::vector<FutureState *> pending;
        std::optional<WaitEdge> edge;
        if (deadline.infinite()) {
            for (FutureState *f : fs)
                if (!f->done()) pending.push_back(f);
            edge.emplace(pending.data(), pending.size());
        }
        if (!condition_holds(fs, when)) sleep_or_help(w, deadline, WaitTargets{fs.data(), fs.size()});
    } catch (...) {
        for (FutureState *f : registered) f->remove_waiter(&w);
        throw;
    }
    for (FutureState *f : registered) f->remove_waiter(&w);
}

}  // namespace

std::string unfinished_message(std::size_t unfinished, std::size_t total) {
    return std::to_string(unfinished) + " (of " + std::to_string(total) + ") futures unfinished";
}

WaitOutcome wait_states(FutureState *const *fs, std::size_t n, const Deadline &deadline, ReturnWhen when,
                        unsigned char *flags, bool want_counts) {
    std::vector<FutureState *> unique;
    bool holds;
    if (when == ReturnWhen::AllCompleted) {
        // All of them must finish anyway, so they are waited for one at a time: no registration on each
        // pending future, and no need to sort out duplicates.
        holds = true;
        if (deadline.infinite()) WaitEdge::refuse_if_any_endless(fs, n);
        for (std::size_t i = 0; i < n && holds; ++i) holds = !fs[i] || fs[i]->wait_until(deadline);
        for (std::size_t i = 0; i < n && holds; ++i) holds = !fs[i] || fs[i]->done();
        if (want_counts || !holds) unique = distinct(fs, n);
    } else {
        unique = distinct(fs, n);
        if (!condition_holds(unique, when) && !deadline.passed()) sleep_on(unique, deadline, when);
        // Read the states once more: the answer is what holds now, whatever woke us.
        holds = condition_holds(unique, when);
    }
    std::size_t done_count = 0;
    for (FutureState *f : unique) done_count += f->done();
    if (flags)
        for (std::size_t i = 0; i < n; ++i) flags[i] = fs[i] && fs[i]->done();
    return WaitOutcome{holds, done_count, unique.size()};
}

}  // namespace cf::core
