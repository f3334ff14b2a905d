// SPDX-License-Identifier: MIT
// What every C entry point shares: the thread-local error text, the exception-to-status boundary and handle
// checks. Nothing here decides behaviour; the C++ core does.
#pragma once

#include <cmath>
#include <cstring>
#include <new>
#include <string>

#include <cfutures/cfutures.h>
#include "common/error.hpp"

namespace cf::capi {

// Records the text for cf_last_error() and returns status, so that `return fail(...)` reads naturally.
int fail(int status, const std::string &message) noexcept;
const char *last_error() noexcept;

// Runs body (which returns a status) and turns any exception into its status and text.
template <class Body>
int guarded(Body &&body) noexcept {
    try {
        return body();
    } catch (const cf::core::Error &e) {
        return fail(static_cast<int>(e.status()), e.what());
    } catch (const std::bad_alloc &) {
        return fail(CF_E_NO_MEMORY, "out of memory");
    } catch (const std::exception &e) {
        return fail(CF_E_SYSTEM, e.what());
    } catch (...) {
        return fail(CF_E_SYSTEM, "unknown C++ exception");
    }
}

// NaN is the one timeout that means nothing; every other value has a meaning (see cfutures.h).
inline bool timeout_ok(double timeout) { return !std::isnan(timeout); }

// The integer a C caller put in an enum parameter. Read through memcpy: in C++ a value outside the enumerators'
// range cannot be loaded as the enum type, and a C caller may pass anything.
template <class Enum>
int raw_enum(const Enum &e) noexcept {
    int raw;
    static_assert(sizeof raw == sizeof e, "C ABI enums are 32 bits wide");
    std::memcpy(&raw, &e, sizeof raw);
    return raw;
}

inline int null_argument(const char *function, const char *what) {
    return fail(CF_E_INVALID_ARGUMENT, std::string(function) + ": " + what + " is NULL");
}

// A handle is usable when it is not NULL and carries the tag of its type.
template <class Core, class Handle>
Core *handle_cast(Handle *h) noexcept {
    auto *core = reinterpret_cast<Core *>(h);
    return core && core->tag_ok() ? core : nullptr;
}

inline int bad_handle(const char *function, const char *what, const void *h) {
    return fail(CF_E_INVALID_ARGUMENT, std::string(function) + ": " + what + (h ? " is not a valid handle" : " is NULL"));
}

}  // namespace cf::capi
