// The public C++ classes cf::Executor and cf::MapResults over ExecutorCore and MapIterator.
#include "executor_core.hpp"
#include "map_iterator.hpp"

namespace cf {

Executor::Executor(std::shared_ptr<detail::ExecutorCore> core) : core_(std::move(core)) {}

Executor::~Executor() {
    try {
        core_->shutdown(true, false);
    } catch (...) {
        // A destructor must not throw; shutdown only fails when the system refuses to join a thread.
    }
}

FutureBase Executor::submit_bytes(const TaskCall &call, std::string_view arg) {
    if (!call.invoke || !call.fn) throw InvalidArgument("task function is null");
    return core_->submit_call(call, arg);
}

FutureBase Executor::submit_named(std::string_view name, std::string_view arg) {
    return core_->submit_named(name, arg);
}

FutureBase Executor::submit_job(std::unique_ptr<detail::Job> job) { return core_->submit_job(std::move(job)); }

MapResults Executor::map_bytes(const TaskCall &call, detail::ArgSource source, const MapOptions &options) {
    if (!call.invoke || !call.fn) throw InvalidArgument("task function is null");
    return MapResults(std::make_unique<detail::MapIterator>(core_, call, std::move(source), options));
}

void Executor::shutdown(bool wait, bool cancel_futures) { core_->shutdown(wait, cancel_futures); }

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
