// SPDX-License-Identifier: MIT
// cf_status_name, cf_strerror, cf_last_error and the version functions.
#include "capi/capi_support.hpp"

// The C and C++ enums come from one list; this keeps anyone from editing one of them by hand.
#define CF_STATUS_SAME_VALUE(c_name, value, cxx_name, cxx_exception, python_exception, description) \
    static_assert(c_name == static_cast<int>(cf::core::Status::cxx_name) && c_name == (value), #c_name);
CF_STATUS_MAP(CF_STATUS_SAME_VALUE)
#undef CF_STATUS_SAME_VALUE

namespace cf::capi {
namespace {
thread_local std::string t_last_error;
}

int fail(int status, const std::string &message) noexcept {
    try {
        t_last_error = message;
    } catch (...) {
        t_last_error.clear();  // out of memory for the text itself: the status still tells
    }
    return status;
}

const char *last_error() noexcept { return t_last_error.c_str(); }

}  // namespace cf::capi

extern "C" {

CF_API const char *cf_status_name(int status) { return cf::core::status_name(status); }
CF_API const char *cf_strerror(int status) { return cf::core::status_description(status); }
CF_API const char *cf_last_error(void) { return cf::capi::last_error(); }

#define CF_STR2(x) #x
#define CF_STR(x) CF_STR2(x)
CF_API unsigned cf_version(void) { return CF_VERSION_NUMBER; }
CF_API const char *cf_version_string(void) {
    return CF_STR(CF_VERSION_MAJOR) "." CF_STR(CF_VERSION_MINOR) "." CF_STR(CF_VERSION_PATCH);
}

}  // extern "C"
