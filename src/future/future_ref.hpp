// SPDX-License-Identifier: MIT
// FutureBase and PromiseBase of the core: counted references to a FutureState, the form in which executors hand
// futures around (the C ABI hands out the state itself as cf_future). A PromiseBase starts a new pending future.
// Internal: no API.
#pragma once

#include <utility>

#include "common/error.hpp"
#include "future/future_state.hpp"

namespace cf::core {

class FutureBase {
public:
    FutureBase() noexcept = default;  // empty
    explicit FutureBase(FutureState *adopted) noexcept : state_(adopted) {}
    FutureBase(const FutureBase &other) noexcept : state_(other.state_) {
        if (state_) state_->retain();
    }
    FutureBase(FutureBase &&other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    FutureBase &operator=(FutureBase other) noexcept {
        std::swap(state_, other.state_);
        return *this;
    }
    ~FutureBase() {
        if (state_) state_->release();
    }

    bool valid() const noexcept { return state_ != nullptr; }
    FutureState *native_handle() const noexcept { return state_; }
    // Gives this reference to the caller (the handle becomes empty).
    FutureState *release_handle() noexcept { return std::exchange(state_, nullptr); }

    State state() const { return checked().state(); }
    bool done() const { return checked().done(); }
    bool cancel() { return checked().cancel(); }

private:
    FutureState &checked() const {
        if (!state_) throw InvalidStateError("empty future handle");
        return *state_;
    }
    FutureState *state_ = nullptr;
};

class PromiseBase {
public:
    PromiseBase() : future_(FutureState::create()) {}
    // The promise of a future made elsewhere, still pending (a continuation's, completed by its step's task).
    explicit PromiseBase(FutureBase pending) : future_(std::move(pending)) {}
    const FutureBase &future_base() const noexcept { return future_; }

private:
    FutureBase future_;
};

}  // namespace cf::core
