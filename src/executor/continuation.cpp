// SPDX-License-Identifier: MIT
#include "executor/continuation.hpp"

#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "executor/task_context.hpp"
#include "future/compose.hpp"

namespace cf::core {

FutureBase then_call(FutureState &source, const std::shared_ptr<ExecutorCore> &executor, const TaskCall &call,
                     const SubmitOptions &options, UserDataRelease release) {
    if (std::string_view bytes; succeeded(source, bytes)) {
        try {
            return executor->submit_call_releasing(call, bytes, options, std::move(release));
        } catch (const Error &) {  // as for a later submit: the continuation fails with it
            return failed_by_library_error();
        }
    }
    // (shared: a step function is copied, and the user_data is released once, whichever way the step goes)
    auto shared_release = std::make_shared<UserDataRelease>(std::move(release));
    return then(source, [executor, call, options, shared_release](std::string_view arg, const FutureBase *target) {
        if (target && executor->submit_call_into(*target, call, arg, options, *shared_release)) return *target;
        return executor->submit_call_releasing(call, arg, options, std::move(*shared_release));
    });
}

FutureBase then_named(FutureState &source, const std::shared_ptr<ExecutorCore> &executor, std::string name) {
    return then(source, [executor, name = std::move(name)](std::string_view arg, const FutureBase *) {
        return executor->submit_named(name, arg, SubmitOptions{});
    });
}

FutureBase then_inline_call(FutureState &source, const TaskCall &call, UserDataRelease release) {
    auto held = std::make_shared<UserDataRelease>(std::move(release));
    return then_inline(source, [call, held](std::string_view arg, FutureState &target) {
        complete_with(target, run_task_call(call, &target, arg));
        held->reset();
    });
}

}  // namespace cf::core
