// SPDX-License-Identifier: MIT
#include "future/wait_graph.hpp"

#include <algorithm>
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

// Whether `me`'s wait for the first of `set` can never end (with the graph's lock held): every future of it leads,
// producer to the futures that producer waits for, only back to me, or to a task that runs beneath me on my own
// thread (it can only go on once I return). A future done, made by no tracked task (completed by hand, queued, in
// another process), or whose producer runs without waiting endlessly, can end the wait: no deadlock. A producer
// met twice is followed once (its futures are already being looked at); a graph larger than kMaxWalk is given up
// on, with no deadlock said.
bool cannot_end(const WaitSet &set, const WaitNode *me) {
    if (set.n == 0) return false;
    std::vector<FutureState *> to_follow(set.items, set.items + set.n);
    std::vector<const WaitNode *> followed;
    for (std::size_t steps = 0; !to_follow.empty(); ++steps) {
        if (steps == kMaxWalk) return false;
        FutureState *f = to_follow.back();
        to_follow.pop_back();
        if (f->done()) return false;
        const WaitNode *producer = f->producer();
        if (!producer) return false;
        if (producer == me) continue;
        if (producer->thread_block == me->thread_block && producer->depth < me->depth) continue;
        if (std::find(followed.begin(), followed.end(), producer) != followed.end()) continue;
        followed.push_back(producer);
        const WaitSet *next = producer->waiting_on.load(std::memory_order_seq_cst);
        if (!next || next->n == 0) return false;
        to_follow.insert(to_follow.end(), next->items, next->items + next->n);
    }
    return true;
}

[[noreturn]] void throw_deadlock() {
    throw DeadlockError("this task waits for a future that can only finish after this task does (a task waiting "
                        "for its own future, or tasks waiting for each other's): the wait could never end");
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

WaitEdge::WaitEdge(FutureState &target) : single_(&target), set_{&single_, 1} { enter(); }

WaitEdge::WaitEdge(FutureState *const *targets, std::size_t n) : set_{targets, n} { enter(); }

void WaitEdge::enter() {
    WaitNode *me = current_node();
    if (!me) return;
    std::lock_guard<std::mutex> lock(graph().mu);
    if (cannot_end(set_, me)) throw_deadlock();
    me->waiting_on.store(&set_, std::memory_order_seq_cst);
    node_ = me;
}

void WaitEdge::refuse_if_any_endless(FutureState *const *targets, std::size_t n) {
    WaitNode *me = current_node();
    if (!me) return;
    std::lock_guard<std::mutex> lock(graph().mu);
    for (std::size_t i = 0; i < n; ++i) {
        if (!targets[i]) continue;
        WaitSet one{&targets[i], 1};
        if (cannot_end(one, me)) throw_deadlock();
    }
}

WaitEdge::~WaitEdge() {
    if (!node_) return;
    std::lock_guard<std::mutex> lock(graph().mu);
    node_->waiting_on.store(nullptr, std::memory_order_seq_cst);
}

}  // namespace cf::core
