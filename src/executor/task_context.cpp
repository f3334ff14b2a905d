#include "task_context.hpp"

#include <cstring>
#include <utility>

namespace cf {

void TaskContext::Impl::raise(std::string type, std::string message) {
    raised_ = detail::make_failure(Status::TaskFailed, std::move(type), std::move(message));
}

bool TaskContext::Impl::return_bytes(std::string_view bytes) {
    if (!sink_) {
        result_.assign(bytes.data(), bytes.size());
        return true;
    }
    void *p = return_buffer(bytes.size());
    if (p && !bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
    return p != nullptr;
}

void *TaskContext::Impl::return_buffer(std::size_t len) {
    if (!sink_) {
        result_.assign(len, '\0');
        return result_.data();
    }
    void *p = sink_->allocate(len);
    if (!p) {
        raised_ = detail::make_failure(Status::TooLarge, "TooLargeError",
                                       "a result of " + std::to_string(len) + " bytes does not fit " +
                                           sink_->describe_capacity());
    }
    return p;
}

bool TaskContext::return_bytes(std::string_view bytes) { return impl_->return_bytes(bytes); }
void *TaskContext::return_buffer(std::size_t len) { return impl_->return_buffer(len); }
void TaskContext::raise(std::string type, std::string message) { impl_->raise(std::move(type), std::move(message)); }
bool TaskContext::cancel_requested() const noexcept { return impl_->cancel_requested(); }

namespace detail {

TaskOutcome run_task_call(const TaskCall &call, const FutureState *future, std::string_view arg,
                          ResultSink *sink, RemoteCancel remote) {
    TaskContext::Impl impl(future, sink);
    if (remote.word) impl.watch_remote_cancel(remote.word, remote.id);
    TaskContext ctx(impl);
    TaskOutcome out;
    int rc = 0;
    try {
        rc = call.invoke(call, ctx, arg.data(), arg.size());
    } catch (...) {
        out.failure = describe_exception(std::current_exception());
        return out;
    }
    if (impl.raised()) {
        out.failure = std::move(*impl.raised());
    } else if (rc != 0) {
        out.failure = make_failure(Status::TaskFailed, "cf_task_error", "task returned " + std::to_string(rc));
    } else {
        out.result = std::move(impl.result());
    }
    return out;
}

}  // namespace detail
}  // namespace cf
