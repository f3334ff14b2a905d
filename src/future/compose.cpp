// SPDX-License-Identifier: MIT
#include "future/compose.hpp"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace cf::core {
namespace {

// Passes a done future's outcome to target (which may be done already: cancelled by its holder).
void pass_outcome(FutureState &from, FutureState &target) {
    if (from.state() == State::Cancelled) {
        target.cancel();
    } else if (const Failure *failure = from.failure()) {
        target.set_failure(*failure);
    } else {
        const ValueHolder *value = from.value();
        std::string_view bytes = value ? value->bytes() : std::string_view{};
        target.set_bytes(std::string(bytes));
    }
}

// The failure of the library's own exception being handled (a submit refused: a shut-down executor, an unknown
// name), with its status and its type name without the namespace.
Failure library_failure() {
    Failure failure = describe_exception(std::current_exception());
    try {
        throw;
    } catch (const Error &e) {
        failure.status = e.status();
    }
    constexpr std::string_view core_namespace = "cf::core::";
    if (failure.type.compare(0, core_namespace.size(), core_namespace) == 0) failure.type.erase(0, core_namespace.size());
    return failure;
}

// What a continuation shares between the callbacks on its source, its step and its own future.
struct Link {
    explicit Link(StepSubmit s) : submit(std::move(s)) {}
    StepSubmit submit;
    FutureBase target;
    std::mutex mu;
    FutureBase step;  // a step with a future of its own, once submitted, until it is done
};

// Cancelling the continuation cancels a step that has a future of its own. The target's callback holds the link
// weakly: the link holds the target, and would otherwise keep it for ever.
void cancel_step_with_target(const std::shared_ptr<Link> &link) {
    std::weak_ptr<Link> weak = link;
    link->target.native_handle()->add_done_callback([weak](FutureState &t) {
        if (t.state() != State::Cancelled) return;
        std::shared_ptr<Link> link = weak.lock();
        if (!link) return;
        FutureBase step;
        {
            std::lock_guard<std::mutex> lock(link->mu);
            step = link->step;
        }
        if (step.valid()) step.cancel();
    });
}

void start_step(const std::shared_ptr<Link> &link, FutureState &source) {
    FutureState &target = *link->target.native_handle();
    if (target.done()) return;  // cancelled while the source ran
    if (source.state() == State::Cancelled || source.failure()) return pass_outcome(source, target);
    const ValueHolder *value = source.value();
    FutureBase step;
    try {
        step = link->submit(value ? value->bytes() : std::string_view{}, &link->target);
    } catch (const Error &) {  // the library's own (a shut-down executor, an unknown name): with its status
        target.set_failure(library_failure());
        return;
    } catch (...) {
        target.set_failure(describe_exception(std::current_exception()));
        return;
    }
    // The task completes the continuation itself: cancelling it cancels the queued task as any future does.
    if (step.native_handle() == &target) return;
    {
        std::lock_guard<std::mutex> lock(link->mu);
        link->step = step;
    }
    cancel_step_with_target(link);  // (at once if the target was cancelled meanwhile)
    // (the step keeps its callback, and so the link, until it is done)
    step.native_handle()->add_done_callback([link](FutureState &done) {
        pass_outcome(done, *link->target.native_handle());
        std::lock_guard<std::mutex> lock(link->mu);
        link->step = FutureBase();
    });
}

// What a join shares between the callbacks on its inputs.
struct Join {
    FutureBase target;
    std::atomic<std::size_t> left{0};
};

}  // namespace

bool succeeded(FutureState &source, std::string_view &bytes) noexcept {
    if (source.state() != State::Finished || source.failure()) return false;
    const ValueHolder *value = source.value();
    bytes = value ? value->bytes() : std::string_view{};
    return true;
}

FutureBase failed_by_library_error() {
    PromiseBase failed;
    failed.future_base().native_handle()->set_failure(library_failure());
    return failed.future_base();
}

FutureBase then(FutureState &source, StepSubmit submit) {
    // A source that succeeded already: the continuation is its step, submitted now (no proxy, no callbacks).
    if (std::string_view bytes; succeeded(source, bytes)) {
        try {
            return submit(bytes, nullptr);
        } catch (const Error &) {  // as for a later submit: the continuation fails with it
            return failed_by_library_error();
        }
    }
    PromiseBase promise;
    FutureBase target = promise.future_base();
    auto link = std::make_shared<Link>(std::move(submit));
    link->target = target;
    source.add_done_callback([link](FutureState &done) { start_step(link, done); });
    return target;
}

FutureBase then_inline(FutureState &source, InlineStep step) {
    PromiseBase promise;
    FutureBase target = promise.future_base();
    source.add_done_callback([target, step = std::move(step)](FutureState &done) {
        FutureState &t = *target.native_handle();
        if (done.state() == State::Cancelled || done.failure()) return pass_outcome(done, t);
        if (!t.try_start()) return;  // cancelled by its holder: the step never runs
        const ValueHolder *value = done.value();
        try {
            step(value ? value->bytes() : std::string_view{}, t);
        } catch (...) {  // (out of memory) a running future must still end
            t.set_failure(describe_exception(std::current_exception()));
        }
    });
    return target;
}

FutureBase when_all(const std::vector<FutureState *> &inputs) {
    PromiseBase promise;
    FutureBase target = promise.future_base();
    if (inputs.empty()) {
        target.native_handle()->set_bytes({});
        return target;
    }
    auto join = std::make_shared<Join>();
    join->target = target;
    join->left.store(inputs.size(), std::memory_order_relaxed);
    for (FutureState *input : inputs) {
        input->add_done_callback([join](FutureState &done) {
            FutureState &t = *join->target.native_handle();
            if (done.state() == State::Cancelled || done.failure()) pass_outcome(done, t);  // the first one counts
            if (join->left.fetch_sub(1, std::memory_order_acq_rel) == 1) t.set_bytes({});  // (no-op once failed)
        });
    }
    return target;
}

FutureBase when_any(const std::vector<FutureState *> &inputs) {
    if (inputs.empty()) throw InvalidArgument("when_any: no futures to wait for");
    PromiseBase promise;
    FutureBase target = promise.future_base();
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        inputs[i]->add_done_callback([target, i](FutureState &) {
            std::uint64_t index = i;
            std::string bytes(sizeof index, '\0');
            std::memcpy(bytes.data(), &index, sizeof index);
            target.native_handle()->set_bytes(std::move(bytes));  // the first only: later ones find it done
        });
    }
    return target;
}

}  // namespace cf::core
