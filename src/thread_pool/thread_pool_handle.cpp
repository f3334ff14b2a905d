// SPDX-License-Identifier: MIT
// The public C++ class cf::ThreadPoolExecutor over ThreadPool.
#include "thread_pool/thread_pool.hpp"

namespace cf {
namespace {

std::shared_ptr<detail::ThreadPool> make_pool(ThreadPoolExecutor::Options options) {
    detail::ThreadPool::Config config;
    config.max_workers = options.max_workers;
    config.thread_name_prefix = std::move(options.thread_name_prefix);
    config.initializer = std::move(options.initializer);
    config.cancel_running = options.cancel_running;
    return detail::ThreadPool::create(std::move(config));
}

detail::ThreadPool &pool_of(const Executor &e) { return static_cast<detail::ThreadPool &>(e.core()); }

}  // namespace

ThreadPoolExecutor::ThreadPoolExecutor() : ThreadPoolExecutor(Options{}) {}
ThreadPoolExecutor::ThreadPoolExecutor(Options options) : Executor(make_pool(std::move(options))) {}
ThreadPoolExecutor::~ThreadPoolExecutor() = default;

std::size_t ThreadPoolExecutor::thread_count() const { return pool_of(*this).thread_count(); }
std::size_t ThreadPoolExecutor::max_workers() const { return pool_of(*this).max_workers(); }

}  // namespace cf
