// SPDX-License-Identifier: MIT
// cf_status_name, cf_strerror, cf_last_error and the version functions.
#include "capi_support.hpp"

static_assert(CF_OK == static_cast<int>(cf::Status::Ok));
static_assert(CF_DONE == static_cast<int>(cf::Status::Done));
static_assert(CF_E_INVALID_ARGUMENT == static_cast<int>(cf::Status::InvalidArgument));
static_assert(CF_E_NO_MEMORY == static_cast<int>(cf::Status::NoMemory));
static_assert(CF_E_TIMEOUT == static_cast<int>(cf::Status::Timeout));
static_assert(CF_E_CANCELLED == static_cast<int>(cf::Status::Cancelled));
static_assert(CF_E_SHUTDOWN == static_cast<int>(cf::Status::Shutdown));
static_assert(CF_E_BROKEN_THREAD_POOL == static_cast<int>(cf::Status::BrokenThreadPool));
static_assert(CF_E_BROKEN_PROCESS_POOL == static_cast<int>(cf::Status::BrokenProcessPool));
static_assert(CF_E_INVALID_STATE == static_cast<int>(cf::Status::InvalidState));
static_assert(CF_E_TASK_FAILED == static_cast<int>(cf::Status::TaskFailed));
static_assert(CF_E_UNKNOWN_TASK == static_cast<int>(cf::Status::UnknownTask));
static_assert(CF_E_DEADLOCK == static_cast<int>(cf::Status::Deadlock));
static_assert(CF_E_SYSTEM == static_cast<int>(cf::Status::System));
static_assert(CF_E_TOO_LARGE == static_cast<int>(cf::Status::TooLarge));
static_assert(CF_E_TIME_LIMIT == static_cast<int>(cf::Status::TimeLimit));
static_assert(CF_E_WORKER_DIED == static_cast<int>(cf::Status::WorkerDied));

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

CF_API const char *cf_status_name(int status) { return cf::status_name(status); }
CF_API const char *cf_strerror(int status) { return cf::status_description(status); }
CF_API const char *cf_last_error(void) { return cf::capi::last_error(); }

#define CF_STR2(x) #x
#define CF_STR(x) CF_STR2(x)
CF_API unsigned cf_version(void) { return CF_VERSION_NUMBER; }
CF_API const char *cf_version_string(void) {
    return CF_STR(CF_VERSION_MAJOR) "." CF_STR(CF_VERSION_MINOR) "." CF_STR(CF_VERSION_PATCH);
}

}  // extern "C"
