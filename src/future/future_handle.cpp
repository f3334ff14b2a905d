// SPDX-License-Identifier: MIT
// The public C++ handles (FutureBase, PromiseBase, AsCompletedBase) over the core's FutureState.
#include <cmath>
#include <utility>

#include "future/as_completed.hpp"
#include <cfutures/future.hpp>
#include "future/future_state.hpp"
#include "future/wait.hpp"

namespace cf {
namespace detail {

ValueHolder::~ValueHolder() = default;

namespace {
Deadline deadline_after(double timeout) {
    if (std::isnan(timeout)) throw InvalidArgument("timeout is NaN");
    return Deadline::after(timeout);
}
}  // namespace

bool wait_for(const FutureBase *const *fs, std::size_t n, double timeout, ReturnWhen when, unsigned char *flags,
              std::size_t *n_done) {
    Deadline deadline = deadline_after(timeout);
    std::vector<FutureState *> states(n);
    for (std::size_t i = 0; i < n; ++i) states[i] = fs[i] ? fs[i]->native_handle() : nullptr;
    WaitOutcome outcome = wait_states(states.data(), n, deadline, when, flags, n_done != nullptr);
    if (n_done) *n_done = outcome.n_done;
    return outcome.holds;
}

}  // namespace detail

using detail::FutureState;

// ---- FutureBase

namespace {
// Waits for f to finish; throws TimeoutError or CancelledError as result() does.
FutureState &finished(FutureState &f, double timeout) {
    if (!f.wait_until(detail::deadline_after(timeout))) throw TimeoutError("future not done within the timeout");
    if (f.state() == State::Cancelled) throw CancelledError("the future was cancelled");
    return f;
}
}  // namespace

FutureBase::FutureBase(const FutureBase &other) noexcept : state_(other.state_) {
    if (state_) state_->retain();
}
FutureBase::FutureBase(FutureBase &&other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
FutureBase &FutureBase::operator=(const FutureBase &other) noexcept {
    if (other.state_) other.state_->retain();
    if (state_) state_->release();
    state_ = other.state_;
    return *this;
}
FutureBase &FutureBase::operator=(FutureBase &&other) noexcept {
    if (this != &other) {
        if (state_) state_->release();
        state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
}
FutureBase::~FutureBase() {
    if (state_) state_->release();
}

FutureState &FutureBase::checked() const {
    if (!state_) throw InvalidStateError("empty future handle");
    return *state_;
}

State FutureBase::state() const { return checked().state(); }
bool FutureBase::done() const { return checked().done(); }
bool FutureBase::running() const { return checked().state() == State::Running; }
bool FutureBase::cancelled() const { return checked().state() == State::Cancelled; }
bool FutureBase::cancel() { return checked().cancel(); }

bool FutureBase::wait(double timeout) const {
    return checked().wait_until(detail::deadline_after(timeout));
}

const detail::ValueHolder &FutureBase::value(double timeout) const {
    static const detail::TypedValue<std::string> empty{std::string()};
    FutureState &f = finished(checked(), timeout);
    if (const detail::Failure *failure = f.failure()) detail::rethrow_failure(*failure);
    return f.value() ? *f.value() : empty;
}

std::string_view FutureBase::bytes(double timeout) const { return value(timeout).bytes(); }

ErrorInfo FutureBase::error(double timeout) const {
    FutureState &f = finished(checked(), timeout);
    ErrorInfo info;
    if (const detail::Failure *failure = f.failure())
        info = ErrorInfo{failure->status, failure->type, failure->message, failure->detail};
    return info;
}

std::exception_ptr FutureBase::exception(double timeout) const {
    FutureState &f = finished(checked(), timeout);
    const detail::Failure *failure = f.failure();
    if (!failure) return nullptr;
    try {
        detail::rethrow_failure(*failure);
    } catch (...) {
        return std::current_exception();
    }
}

void FutureBase::add_done_callback(std::function<void(const FutureBase &)> fn) {
    checked().add_done_callback([fn = std::move(fn)](FutureState &s) {
        s.retain();
        fn(FutureBase(&s));
    });
}

// ---- PromiseBase

PromiseBase::PromiseBase() : future_(FutureState::create()) {}
PromiseBase::PromiseBase(const PromiseBase &) noexcept = default;
PromiseBase::PromiseBase(PromiseBase &&) noexcept = default;
PromiseBase &PromiseBase::operator=(const PromiseBase &) noexcept = default;
PromiseBase &PromiseBase::operator=(PromiseBase &&) noexcept = default;
PromiseBase::~PromiseBase() = default;

namespace {
FutureState &state_of(const FutureBase &f) {
    if (!f.native_handle()) throw InvalidStateError("promise was moved from");
    return *f.native_handle();
}
void require(bool ok) {
    if (!ok) throw InvalidStateError("the future is already done or cancelled");
}
}  // namespace

bool PromiseBase::set_running_or_notify_cancel() { return state_of(future_).set_running_or_notify_cancel(); }

void PromiseBase::set_bytes(std::string_view bytes) { require(state_of(future_).set_bytes(std::string(bytes))); }

void PromiseBase::set_value(std::unique_ptr<detail::ValueHolder> value) {
    require(state_of(future_).set_value(std::move(value)));
}

void PromiseBase::set_exception(std::exception_ptr e) {
    if (!e) throw InvalidArgument("set_exception needs an exception");
    require(state_of(future_).set_failure(detail::describe_exception(std::move(e))));
}

void PromiseBase::set_failure(Status status, std::string type, std::string message, std::string detail) {
    if (status == Status::Ok || status == Status::Done) throw InvalidArgument("a failure needs a failing status");
    require(state_of(future_).set_failure(
        detail::make_failure(status, std::move(type), std::move(message), std::move(detail))));
}

// ---- AsCompletedBase

AsCompletedBase::AsCompletedBase(const FutureBase *const *fs, std::size_t n, double timeout) {
    detail::Deadline deadline = detail::deadline_after(timeout);
    std::vector<FutureState *> states(n);
    for (std::size_t i = 0; i < n; ++i) states[i] = fs[i] ? fs[i]->native_handle() : nullptr;
    impl_ = std::make_unique<detail::AsCompletedIterator>(states.data(), n, deadline);
}
AsCompletedBase::AsCompletedBase(AsCompletedBase &&) noexcept = default;
AsCompletedBase &AsCompletedBase::operator=(AsCompletedBase &&) noexcept = default;
AsCompletedBase::~AsCompletedBase() = default;

bool AsCompletedBase::next(FutureBase &out) {
    FutureState *f = impl_ ? impl_->next() : nullptr;
    if (!f) return false;
    f->retain();
    out = FutureBase(f);
    return true;
}

}  // namespace cf
