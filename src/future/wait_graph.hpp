// SPDX-License-Identifier: MIT
// The wait-for graph of the tasks of this process's thread pools, for waits that can never end: a running task
// is a node; its future points to the node that produces it, and the node points to the future it waits for
// without a deadline. A wait that would close a cycle (its future leads, producer to waited-for future, back to
// the waiting task), or that waits for a task it holds nested on its own thread's stack, is a deadlock.
// Internal: no API.
#pragma once

#include <atomic>
#include <cstddef>

namespace cf::core {

class FutureState;

// A task's place in the graph. Nodes are never freed (a reader may hold one after its task ended): a thread takes
// a block of them the first time it runs a task and hands it back when it exits.
struct WaitNode {
    std::atomic<FutureState *> waiting_on{nullptr};  // guarded by the graph's lock
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

// While it lives, the calling task waits without a deadline for `target`. Throws DeadlockError (setting nothing)
// when that wait could never end. Outside a task of a thread pool it does nothing.
class WaitEdge {
public:
    explicit WaitEdge(FutureState &target);
    ~WaitEdge();
    WaitEdge(const WaitEdge &) = delete;
    WaitEdge &operator=(const WaitEdge &) = delete;

private:
    WaitNode *node_ = nullptr;
};

}  // namespace cf::core
