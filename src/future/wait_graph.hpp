// SPDX-License-Identifier: MIT
// The wait-for graph of the tasks of this process's thread pools, for waits that can never end: a running task
// is a node; its future points to the node that produces it, and the node points to the futures it waits for
// without a deadline (one of them ends the wait: result and map wait for one future; wait(FIRST_COMPLETED) and
// as_completed for the first of several). A wait can never end when each future it waits for leads, producer to
// waited-for futures, only back to the waiting task or to a task it holds nested beneath it on its own thread's
// stack: that is a deadlock.
// Internal: no API.
#pragma once

#include <atomic>
#include <cstddef>

namespace cf::core {

class FutureState;

// A task's place in the graph. Nodes are never freed (a reader may hold one after its task ended): a thread takes
// a block of them the first time it runs a task and hands it back when it exits.
// Futures a task waits for, any one of which ends its wait.
struct WaitSet {
    FutureState *const *items = nullptr;
    std::size_t n = 0;
};

struct WaitNode {
    std::atomic<const WaitSet *> waiting_on{nullptr};  // set and read under the graph's lock
    const void *thread_block = nullptr;              // which thread's block this node belongs to
    std::size_t depth = 0;                           // its nesting depth on that thread (waits run tasks nested)
};

// While it lives, the calling thread runs the task whose future is `produced`: a node for it, at the next depth of
// this thread, set as that future's producer. Tasks nested deeper than the nodes a thread has are not tracked.
class ProducerScope {
public:
    explicit ProducerScope(FutureState &produced) noexcept;
    ~ProducerScope();
    ProducerScope(const ProducerScope &) = delete;
    ProducerScope &operator=(const ProducerScope &) = delete;

private:
    FutureState &produced_;
    WaitNode *node_;
};

// While it lives, the calling task waits without a deadline for `target`, or for the first of `n` futures (the
// array must outlive the edge). Throws DeadlockError (setting nothing) when that wait could never end. Outside a
// task of a thread pool it does nothing.
class WaitEdge {
public:
    explicit WaitEdge(FutureState &target);
    WaitEdge(FutureState *const *targets, std::size_t n);
    ~WaitEdge();
    WaitEdge(const WaitEdge &) = delete;
    WaitEdge &operator=(const WaitEdge &) = delete;

    // For a wait that needs every one of `n` futures: throws DeadlockError when any of them could never finish
    // while the calling task waits for it (so the wait says so at once, not after waiting for the others).
    static void refuse_if_any_endless(FutureState *const *targets, std::size_t n);

private:
    void enter();
    FutureState *single_ = nullptr;
    WaitSet set_;
    WaitNode *node_ = nullptr;
};

}  // namespace cf::core
