// SPDX-License-Identifier: MIT
#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "future/future_state.hpp"

namespace cf::detail {
namespace {

}  // namespace

Failure make_failure(Status status, std::string type, std::string message, std::string detail) {
    Failure f;
    f.status = status;
    f.type = std::move(type);
    f.message = std::move(message);
    f.detail = std::move(detail);
    return f;
}

Failure describe_exception(std::exception_ptr e) {
    Failure f;
    f.original = e;
    try {
        std::rethrow_exception(e);
    } catch (const TaskError &err) {
        // A described failure passing through (e.g. a remote one re-raised): keep its own description.
        f.type = err.type();
        f.message = err.message();
        f.detail = err.detail();
    } catch (const std::exception &err) {
        f.type = demangle(typeid(err).name());
        f.message = err.what();
    } catch (...) {
        const std::type_info *t = abi::__cxa_current_exception_type();
        f.type = t ? demangle(t->name()) : "unknown exception";
        f.message = "a non-std exception was thrown";
    }
    return f;
}

void rethrow_failure(const Failure &f) {
    if (f.original) std::rethrow_exception(f.original);
    if (f.status == Status::TaskFailed) {
        if (f.remote) throw RemoteError(f.type, f.message, f.detail);
        throw TaskError(f.type, f.message, f.detail);
    }
    throw_status(f.status, f.message);
}

}  // namespace cf::detail
