// SPDX-License-Identifier: MIT
#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "common/system.hpp"
#include "future/future_state.hpp"

namespace cf::core {
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


}  // namespace cf::core
