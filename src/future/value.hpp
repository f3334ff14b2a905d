// SPDX-License-Identifier: MIT
// ValueHolder: what a finished future holds as its result: bytes (what the C ABI shows), and for values the core
// itself makes (a map chunk's results) or keeps for a caller (a ForeignObject), the object behind them.
// Internal: no API.
#pragma once

#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

namespace cf::core {

class ValueHolder {
public:
    virtual ~ValueHolder() = default;
    virtual std::string_view bytes() const noexcept = 0;
    // The held object if it is of type t, else nullptr.
    virtual const void *object(const std::type_info &t) const noexcept {
        (void)t;
        return nullptr;
    }
};

// A core object as a future's value (no bytes: only the core reads it).
template <class T>
class TypedValue final : public ValueHolder {
public:
    explicit TypedValue(T v) : value_(std::move(v)) {}
    std::string_view bytes() const noexcept override { return {}; }
    const void *object(const std::type_info &t) const noexcept override {
        return t == typeid(T) ? &value_ : nullptr;
    }

private:
    T value_;
};

}  // namespace cf::core
