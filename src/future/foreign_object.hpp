// SPDX-License-Identifier: MIT
// ForeignObject: a value of the caller's language (a C++ object, a Python object, a Rust box) that a future holds
// for its owner without ever looking into it. The library knows it only through its cf_object_type: a name that
// says what it is, how to destroy it, and what bytes a C reader of the future sees. Internal: no API.
#pragma once

#include <cstring>
#include <memory>
#include <string_view>

#include <cfutures/cfutures.h>
#include "future/value.hpp"

namespace cf::core {

class ForeignObject final : public ValueHolder {
public:
    // Takes the object: it is destroyed (type->destroy) with this holder. type must outlive the holder.
    ForeignObject(void *object, const cf_object_type *type) noexcept : object_(object), type_(type) {}
    ForeignObject(const ForeignObject &) = delete;
    ForeignObject &operator=(const ForeignObject &) = delete;
    ~ForeignObject() override {
        if (type_->destroy) type_->destroy(object_);
    }

    std::string_view bytes() const noexcept override {
        if (!type_->bytes) return {};
        cf_slice s = type_->bytes(object_);
        return s.data ? std::string_view(static_cast<const char *>(s.data), s.len) : std::string_view();
    }
    // The object when it is of the type named name (the names compare equal), else nullptr.
    void *object_named(const char *name) const noexcept {
        return std::strcmp(name, type_->name) == 0 ? object_ : nullptr;
    }

private:
    void *object_;
    const cf_object_type *type_;
};

// Destroys an object the library was handed but could not keep (the call failed): the library owns every object
// it is handed, whatever the outcome.
inline void discard_object(void *object, const cf_object_type *type) noexcept {
    if (type && type->destroy) type->destroy(object);
}

// Calls release(user_data) once, when the owner lets go: what a task or callback was given as user_data is the
// library's to release once the task has run or will never run.
class UserDataRelease {
public:
    UserDataRelease() noexcept = default;
    UserDataRelease(void (*release)(void *), void *user_data) noexcept : release_(release), user_data_(user_data) {}
    UserDataRelease(UserDataRelease &&other) noexcept : release_(other.release_), user_data_(other.user_data_) {
        other.release_ = nullptr;
    }
    UserDataRelease &operator=(UserDataRelease &&other) noexcept {
        if (this != &other) {
            reset();
            release_ = other.release_;
            user_data_ = other.user_data_;
            other.release_ = nullptr;
        }
        return *this;
    }
    ~UserDataRelease() { reset(); }
    void reset() noexcept {
        if (auto fn = release_) {
            release_ = nullptr;
            fn(user_data_);
        }
    }
    explicit operator bool() const noexcept { return release_ != nullptr; }

private:
    void (*release_)(void *) = nullptr;
    void *user_data_ = nullptr;
};

}  // namespace cf::core
