// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: status codes and the exceptions named as in concurrent.futures. Header-only, as the whole
/// C++ API is: it calls the C ABI (cfutures.h), the only thing the library exports.
#ifndef CFUTURES_ERRORS_HPP
#define CFUTURES_ERRORS_HPP

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#if defined(__GNUC__) || defined(__clang__)
#include <cxxabi.h>
#endif

#include <new>

#include "cf_status_map.h"
#include "cfutures.h"

/// The libcfutures C++ API: futures, executors and the exceptions named as in Python's concurrent.futures.
namespace cf {

/// The same values as the C ABI's cf_status, from the same list (cf_status_map.h).
///
/// Each enumerator is the cxx_name of CF_STATUS_MAP with the value of its C counterpart (Status::Timeout is
/// CF_E_TIMEOUT, -3); see cf_status for what each one means. The enumerators are generated from the list, and the
/// build checks that every one equals its C enumerator.
enum class Status : int {
/// @cond
#define CF_STATUS_CXX_ENUMERATOR(c_name, value, cxx_name, cxx_exception, python_exception, description) \
    cxx_name = value,
/// @endcond
    CF_STATUS_MAP(CF_STATUS_CXX_ENUMERATOR)
/// @cond
#undef CF_STATUS_CXX_ENUMERATOR
/// @endcond
};

/// The name of a status: "CF_E_TIMEOUT" for Status::Timeout; "CF_UNKNOWN_STATUS" for a value that is no status.
/// A static string, never null (the C ABI's cf_status_name).
inline const char *status_name(int status) noexcept { return cf_status_name(status); }
/// A one-line description of a status; "unknown status code" for a value that is no status. A static string,
/// never null (the C ABI's cf_strerror).
inline const char *status_description(int status) noexcept { return cf_strerror(status); }

/// The base of every exception the library throws; status() is the C ABI's code for it.
class Error : public std::runtime_error {
public:
    /// An error with the given status and what() text.
    Error(Status status, const std::string &what) : std::runtime_error(what), status_(status) {}
    /// The status code that stands for this error in the C ABI.
    Status status() const noexcept { return status_; }

private:
    Status status_;
};

#define CF_DECLARE_ERROR(Name, Base, code)                                           \
    class Name : public Base {                                                       \
    public:                                                                          \
        /** An exception with the given what() text and this class's own status. */  \
        explicit Name(const std::string &what) : Base(Status::code, what) {}         \
                                                                                     \
    protected:                                                                       \
        /** For derived classes: an exception with their own status. */              \
        Name(Status status, const std::string &what) : Base(status, what) {}         \
    }

CF_DECLARE_ERROR(CancelledError, Error, Cancelled);   ///< the future was cancelled (Status::Cancelled)
CF_DECLARE_ERROR(TimeoutError, Error, Timeout);       ///< the wait ran out of time (Status::Timeout)
CF_DECLARE_ERROR(InvalidStateError, Error, InvalidState);  ///< the future is in the wrong state, as for a second set_result
CF_DECLARE_ERROR(InvalidArgument, Error, InvalidArgument);  ///< ValueError / TypeError (Status::InvalidArgument)
CF_DECLARE_ERROR(ShutdownError, Error, Shutdown);     ///< cannot schedule new futures after shutdown (Status::Shutdown)
CF_DECLARE_ERROR(BrokenExecutor, Error, BrokenThreadPool);  ///< the executor can no longer run tasks (base of the two below)
CF_DECLARE_ERROR(BrokenThreadPool, BrokenExecutor, BrokenThreadPool);    ///< the thread pool is broken (Status::BrokenThreadPool)
CF_DECLARE_ERROR(BrokenProcessPool, BrokenExecutor, BrokenProcessPool);  ///< the process pool is broken (Status::BrokenProcessPool)
CF_DECLARE_ERROR(UnknownTaskError, Error, UnknownTask);  ///< a function not registered for cross-process use
CF_DECLARE_ERROR(DeadlockError, Error, Deadlock);     ///< a wait that can never finish (Status::Deadlock)
CF_DECLARE_ERROR(SystemError, Error, System);         ///< an operating-system call failed (Status::System)
CF_DECLARE_ERROR(TooLargeError, Error, TooLarge);     ///< a payload larger than the pool can carry (Status::TooLarge)
CF_DECLARE_ERROR(TimeLimitError, TimeoutError, TimeLimit);  ///< the task ran past its time limit (Python: TimeoutError)
CF_DECLARE_ERROR(WorkerDiedError, Error, WorkerDied);  ///< its worker died; the pool (on_worker_death Replace) goes on

#undef CF_DECLARE_ERROR

/// A task failure known only by its description: a C task that called cf_task_raise, a failure set through
/// cf_future_set_exception, or (as RemoteError) an exception raised in another process. Its status is
/// Status::TaskFailed; what() is "type: message" (or the type alone).
class TaskError : public Error {
public:
    /// A failure described by its type ("ValueError"), message and detail.
    TaskError(std::string type, std::string message, std::string detail)
        : Error(Status::TaskFailed, message.empty() ? type : type + ": " + message),
          type_(std::move(type)),
          message_(std::move(message)),
          detail_(std::move(detail)) {}
    /// The failure's type: "ValueError", "std::out_of_range", "SIGSEGV".
    const std::string &type() const noexcept { return type_; }
    /// What the failure says (may be empty).
    const std::string &message() const noexcept { return message_; }
    /// Where it happened: task name, worker pid, exit code, ... (may be empty).
    const std::string &detail() const noexcept { return detail_; }

private:
    std::string type_, message_, detail_;
};

/// An exception raised by a task in another process (a process pool's worker), known by its type name and text.
class RemoteError : public TaskError {
public:
    using TaskError::TaskError;
};

namespace detail {
// The readable name of a type ("std::out_of_range" for typeid(std::out_of_range).name()); the name as given
// where the compiler offers no demangler.
inline std::string demangle(const char *mangled) {
#if defined(__GNUC__) || defined(__clang__)
    int status = 0;
    std::unique_ptr<char, void (*)(void *)> out(abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
    if (status == 0 && out) return std::string(out.get());
#endif
    return std::string(mangled);
}
}  // namespace detail

/// Throws the exception class that stands for status (InvalidArgument for an unknown one, and for Ok and Done;
/// std::bad_alloc for NoMemory; TaskError for TaskFailed), with message as its what().
[[noreturn]] inline void throw_status(Status status, const std::string &message) {
    switch (status) {
        case Status::Cancelled: throw CancelledError(message);
        case Status::Timeout: throw TimeoutError(message);
        case Status::InvalidState: throw InvalidStateError(message);
        case Status::Shutdown: throw ShutdownError(message);
        case Status::BrokenThreadPool: throw BrokenThreadPool(message);
        case Status::BrokenProcessPool: throw BrokenProcessPool(message);
        case Status::UnknownTask: throw UnknownTaskError(message);
        case Status::Deadlock: throw DeadlockError(message);
        case Status::System: throw SystemError(message);
        case Status::TooLarge: throw TooLargeError(message);
        case Status::TimeLimit: throw TimeLimitError(message);
        case Status::WorkerDied: throw WorkerDiedError(message);
        case Status::TaskFailed: throw TaskError("cf::TaskError", message, {});
        case Status::NoMemory: throw std::bad_alloc();
        default: throw InvalidArgument(message);
    }
}

namespace detail {
/// @cond
// Throws what a failed C call stands for, with the library's text (cf_last_error) as the message.
[[noreturn]] inline void throw_last_error(int rc) { throw_status(static_cast<Status>(rc), cf_last_error()); }
// Checks a C call's status: returns it when not negative, else throws.
inline int check(int rc) {
    if (rc < 0) throw_last_error(rc);
    return rc;
}
/// @endcond
}  // namespace detail

}  // namespace cf

#endif  // CFUTURES_ERRORS_HPP
