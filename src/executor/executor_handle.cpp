// SPDX-License-Identifier: MIT
// The public C++ classes cf::Executor and cf::MapResults over ExecutorCore and MapIterator.
#include "executor/executor_core.hpp"
#include "executor/map_iterator.hpp"

#include <vector>

#include "common/memory_limit.hpp"

namespace cf {

Executor::Executor(std::shared_ptr<detail::ExecutorCore> core) : core_(std::move(core)) {}

namespace {
// Pools a forked child inherited: never shut down or destroyed there (their threads or workers are the
// parent's, and so may be their locks), but kept reachable, so that leak checkers do not report them.
std::vector<std::shared_ptr<detail::ExecutorCore>> &inherited_pools() {
    static auto *pools = new std::vector<std::shared_ptr<detail::ExecutorCore>>();
    return *pools;
}

using detail::ExecutorCore;
}  // namespace

Executor::~Executor() {
    if (!core_->in_creator_process()) {
        inherited_pools().push_back(std::move(core_));
        return;
    }
    try {
        core_->shutdown(true, false);
    } catch (...) {
        // A destructor must not throw; shutdown only fails when the system refuses to join a thread.
    }
}

FutureBase Executor::submit_bytes(const TaskCall &call, std::string_view arg, const SubmitOptions &options) {
    if (!call.invoke || !call.fn) throw InvalidArgument("task function is null");
    ExecutorCore::check_argument_size(arg);
    return core_->submit_call(call, arg, options);
}

FutureBase Executor::submit_named(std::string_view name, std::string_view arg, const SubmitOptions &options) {
    ExecutorCore::check_argument_size(arg);
    return core_->submit_named(name, arg, options);
}

ExecutorStats Executor::stats() const { return core_->stats(); }

FutureBase Executor::submit_job(std::unique_ptr<detail::Job> job, const SubmitOptions &options) {
    return core_->submit_job(std::move(job), options);
}

MapResults Executor::map_bytes(const TaskCall &call, detail::ArgSource source, const MapOptions &options) {
    if (!call.invoke || !call.fn) throw InvalidArgument("task function is null");
    core_->check_creator_process("map");
    return MapResults(std::make_unique<detail::MapIterator>(core_, call, std::move(source), options));
}

void Executor::shutdown(bool wait, bool cancel_futures) {
    // As in CPython, shutting down an inherited pool in a forked child returns at once: there is nothing of it
    // the child could stop.
    if (!core_->in_creator_process()) return;
    core_->shutdown(wait, cancel_futures);
}

MapResults::MapResults(std::unique_ptr<detail::MapIterator> impl) : impl_(std::move(impl)) {}
MapResults::MapResults(MapResults &&) noexcept = default;
MapResults &MapResults::operator=(MapResults &&) noexcept = default;
MapResults::~MapResults() = default;

std::optional<std::string_view> MapResults::next() {
    std::string_view out;
    switch (impl_->next(out)) {
        case detail::MapIterator::Step::Item: return out;
        case detail::MapIterator::Step::End: return std::nullopt;
        case detail::MapIterator::Step::Failed: break;
    }
    detail::rethrow_failure(impl_->failure());
}

}  // namespace cf
