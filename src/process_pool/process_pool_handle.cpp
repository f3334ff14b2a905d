// SPDX-License-Identifier: MIT
// The public C++ class cf::ProcessPoolExecutor over ProcessPool.
#include <cfutures/process_pool.hpp>

#include "process_pool/process_pool.hpp"

namespace cf {
namespace detail {
bool enter_worker_if_spawned();
}

namespace {

std::shared_ptr<detail::ProcessPool> make_pool(ProcessPoolExecutor::Options o) {
    detail::ProcessPool::Config c;
    c.max_workers = o.max_workers;
    switch (o.start_method) {
        case StartMethod::Default:
        case StartMethod::Fork: c.start_method = detail::ProcessPool::StartMethod::Fork; break;
        case StartMethod::Forkserver: c.start_method = detail::ProcessPool::StartMethod::Forkserver; break;
        case StartMethod::Spawn: c.start_method = detail::ProcessPool::StartMethod::Spawn; break;
        default: throw InvalidArgument("unknown start method " + std::to_string(static_cast<int>(o.start_method)));
    }
    c.max_tasks_per_child = o.max_tasks_per_child;
    c.initializer = std::move(o.initializer);
    c.initarg = std::move(o.initarg);
    c.shared_memory_bytes = o.shared_memory_bytes;
    c.worker_program = std::move(o.worker_program);
    c.worker_start_timeout = o.worker_start_timeout;
    c.cancel_running = o.cancel_running;
    switch (o.on_worker_death) {
        case WorkerDeath::Break: c.replace_dead = false; break;
        case WorkerDeath::Replace: c.replace_dead = true; break;
        default: throw InvalidArgument("unknown on_worker_death " + std::to_string(static_cast<int>(o.on_worker_death)));
    }
    c.max_restarts = o.max_restarts;
    c.restart_period = o.restart_period;
    return detail::ProcessPool::create(std::move(c));
}

detail::ProcessPool &pool_of(const Executor &e) { return static_cast<detail::ProcessPool &>(e.core()); }

}  // namespace

ProcessPoolExecutor::ProcessPoolExecutor() : ProcessPoolExecutor(Options{}) {}
ProcessPoolExecutor::ProcessPoolExecutor(Options options) : Executor(make_pool(std::move(options))) {}
ProcessPoolExecutor::~ProcessPoolExecutor() = default;

void ProcessPoolExecutor::terminate_workers() { pool_of(*this).terminate_workers(); }
void ProcessPoolExecutor::kill_workers() { pool_of(*this).kill_workers(); }

std::vector<int> ProcessPoolExecutor::worker_pids() const {
    std::vector<int> out;
    for (pid_t p : pool_of(*this).worker_pids()) out.push_back(static_cast<int>(p));
    return out;
}

std::size_t ProcessPoolExecutor::max_workers() const { return pool_of(*this).max_workers(); }

void process_worker_entry() { detail::enter_worker_if_spawned(); }

}  // namespace cf
