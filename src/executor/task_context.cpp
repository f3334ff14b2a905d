#include "task_context.hpp"

#include <utility>

namespace cf {

void TaskContext::Impl::raise(std::string type, std::string message) {
    detail::Failure f;
    f.type = std::move(type);
    f.message = std::move(message);
    raised_ = std::move(f);
}

void TaskContext::return_bytes(std::string_view bytes) { impl_->return_bytes(bytes); }
void *TaskContext::return_buffer(std::size_t len) { return impl_->return_buffer(len); }
void TaskContext::raise(std::string type, std::string message) { impl_->raise(std::move(type), std::move(message)); }
bool TaskContext::cancel_requested() const noexcept { return impl_->cancel_requested(); }

namespace detail {

TaskOutcome run_task_call(const TaskCall &call, const FutureState *future, std::string_view arg) {
    TaskContext::Impl impl(future);
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
        Failure f;
        f.type = "cf_task_error";
        f.message = "task returned " + std::to_string(rc);
        out.failure = std::move(f);
    } else {
        out.result = std::move(impl.result());
    }
    return out;
}

}  // namespace detail
}  // namespace cf
