// SPDX-License-Identifier: MIT
#include "common/fork_guard.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <new>

namespace cf::core {
namespace {

std::atomic<std::uint64_t> generation{0};

void count_fork_in_child() { generation.fetch_add(1, std::memory_order_relaxed); }

// Registered first of all the library's handlers, so that the child's count is up to date before any other
// child handler runs.
const bool counting = [] {
    pthread_atfork(nullptr, nullptr, count_fork_in_child);
    return true;
}();

}  // namespace

std::uint64_t fork_generation() noexcept { return generation.load(std::memory_order_relaxed); }

void at_fork(void (*prepare)(), void (*parent)(), void (*child)()) {
    (void)counting;
    if (pthread_atfork(prepare, parent, child) != 0) throw std::bad_alloc();
}

ProcessOwner::ProcessOwner() noexcept : generation_(fork_generation()), pid_(getpid()) {}

}  // namespace cf::core
