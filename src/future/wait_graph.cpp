// SPDX-License-Identifier: MIT
#include "future/wait_graph.hpp"

#include <mutex>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/fork_guard.hpp"
#include "future/future_state.hpp"

namespace cf::core {
namespace {

constexpr std::size_t kNodesPerThread = 64;  // nesting depths tracked per thread (waits run tasks nested)
constexpr std::size_t kMaxWalk = 4096;       // tasks followed along a chain before giving up (no deadlock said)

struct Block {
    WaitNode nodes[kNodesPerThread];
};

// The graph's lock (every wait edge is set and read under it) and the blocks of nodes not in use. Never
// destroyed; held across every fork() of the program, so that a child never inherits it locked.
struct Graph {
    std::mutex mu;
    std::vector<Block *> free_blocks;
};

Graph &graph() {
    static Graph *g = [] {
        auto *made = new Graph;
        at_fork([] { graph().mu.lock(); }, [] { graph().mu.unlock(); }, [] { graph().mu.unlock(); });
        return made;
    }();
    return *g;
}

// Made while the library loads, not on a first use racing with a fork (see fork_guard.hpp).
[[maybe_unused]] const Graph &graph_at_load = graph();

// The calling thread's nodes: one per depth of tasks running nested on it.
struct ThreadNodes {
    Block *block = nullptr;
    std::size_t depth = 0;  // tasks running on this thread now, nested
    ~ThreadNodes() {
        if (!block) return;
        std::lock_guard<std::mutex> lock(graph().mu);
        graph().free_blocks.push_back(block);
    }
};
thread_local ThreadNodes t_nodes;

Block *take_block() {
    {
        std::lock_guard<std::mutex> lock(graph().mu);
        if (!graph().free_blocks.empty()) {
            Block *b = graph().free_blocks.back();
            graph().free_blocks.pop_back();
            return b;
        }
    }
    return new Block;  // (kept for ever: a reader may still look at its nodes)
}

WaitNode *current_node() noexcept {
    ThreadNodes &t = t_nodes;
    return t.block && t.depth > 0 && t.depth <= kNodesPerThread ? &t.block->nodes[t.depth - 1] : nullptr;
}

// Whether `me` waiting for target closes a cycle (with the graph's lock held): following producer and
// waited-for future from target leads back to me, or to a task that runs beneath me on my own thread (it can only
// go on once I return). A future done, or made by no tracked task (completed by hand, queued, in another
// process), ends the chain: no deadlock.
bool closes_cycle(FutureState &target, const WaitNode *me) {
    FutureState *f = &target;
    for (std::size_t steps = 0; steps < kMaxWalk; ++steps) {
        if (f->done()) return false;
        const WaitNode *producer = f->producer();
        if (!producer) return false;
        if (producer == me) return true;
        if (producer->thread_block == me->thread_block && producer->depth < me->depth) return true;
        f = producer->waiting_on.load(std::memory_order_seq_cst);
        if (!f) return false;
    }
    return false;
}

}  // namespace

ProducerScope::ProducerScope(FutureState &produced) noexcept : produced_(produced), node_(nullptr) {
    ThreadNodes &t = t_nodes;
    if (!t.block) {
        try {
            t.block = take_block();
        } catch (...) {  // no memory: the task is not tracked
        }
    }
    if (t.block && t.depth < kNodesPerThread) {
        node_ = &t.block->nodes[t.depth];
        node_->thread_block = t.block;
        node_->depth = t.depth;
        node_->waiting_on.store(nullptr, std::memory_order_seq_cst);
        produced.set_producer(node_);
    }
    ++t.depth;
}

ProducerScope::~ProducerScope() {
    --t_nodes.depth;
    if (node_) produced_.set_producer(nullptr);
}

WaitEdge::WaitEdge(FutureState &target) {
    WaitNode *me = current_node();
    if (!me) return;
    std::lock_guard<std::mutex> lock(graph().mu);
    if (closes_cycle(target, me) && !target.done())
        throw DeadlockError("this task waits for a future that can only finish after this task does (a task waiting "
                            "for its own future, or tasks waiting for each other's): the wait could never end");
    me->waiting_on.store(&target, std::memory_order_seq_cst);
    node_ = me;
}

WaitEdge::~WaitEdge() {
    if (!node_) return;
    std::lock_guard<std::mutex> lock(graph().mu);
    node_->waiting_on.store(nullptr, std::memory_order_seq_cst);
}

}  // namespace cf::core
