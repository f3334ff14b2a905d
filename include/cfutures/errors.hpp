// SPDX-License-Identifier: MIT
/// @file
/// libcfutures C++ API: status codes and the exceptions named as in concurrent.futures.
#ifndef CFUTURES_ERRORS_HPP
#define CFUTURES_ERRORS_HPP

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#if defined(__GNUC__) || defined(__clang__)
#include <cxxabi.h>
#endif

#include "cf_export.h"
#include "cf_status_map.h"

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
CF_API const char *status_name(int status) noexcept;
/// A one-line description of a status; "unknown status code" for a value that is no status. A static string,
/// never null (the C ABI's cf_strerror).
CF_API const char *status_description(int status) noexcept;

/// The base of every exception the library throws; status() is the C ABI's code for it.
class CF_API Error : public std::runtime_error {
public:
    /// An error with the given status and what() text.
    Error(Status status, const std::string &what);
    ~Error() override;
    /// The status code that stands for this error in the C ABI.
    Status status() const noexcept { return status_; }

private:
    Status status_;
};

#define CF_DECLARE_ERROR(Name, Base)                                                 \
    class CF_API Name : public Base {                                                \
    public:                                                                          \
        /** An exception with the given what() text and this class's own status. */  \
        explicit Name(const std::string &what);                                      \
        ~Name() override;                                                            \
                                                                                     \
    protected:                                                                       \
        /** For derived classes: an exception with their own status. */              \
        Name(Status status, const std::string &what);                                \
    }

CF_DECLARE_ERROR(CancelledError, Error);      ///< the future was cancelled (Status::Cancelled)
CF_DECLARE_ERROR(TimeoutError, Error);        ///< the wait ran out of time (Status::Timeout)
CF_DECLARE_ERROR(InvalidStateError, Error);   ///< the future is in the wrong state, as for a second set_result
CF_DECLARE_ERROR(InvalidArgument, Error);     ///< ValueError / TypeError (Status::InvalidArgument)
CF_DECLARE_ERROR(ShutdownError, Error);       ///< cannot schedule new futures after shutdown (Status::Shutdown)
CF_DECLARE_ERROR(BrokenExecutor, Error);      ///< the executor can no longer run tasks (base of the two below)
CF_DECLARE_ERROR(BrokenThreadPool, BrokenExecutor);   ///< the thread pool is broken (Status::BrokenThreadPool)
CF_DECLARE_ERROR(BrokenProcessPool, BrokenExecutor);  ///< the process pool is broken (Status::BrokenProcessPool)
CF_DECLARE_ERROR(UnknownTaskError, Error);    ///< a function not registered for cross-process use
CF_DECLARE_ERROR(DeadlockError, Error);       ///< a wait that can never finish (Status::Deadlock)
CF_DECLARE_ERROR(SystemError, Error);         ///< an operating-system call failed (Status::System)
CF_DECLARE_ERROR(TooLargeError, Error);       ///< a payload larger than the pool can carry (Status::TooLarge)
CF_DECLARE_ERROR(TimeLimitError, TimeoutError);  ///< the task ran past its time limit (Python: TimeoutError)
CF_DECLARE_ERROR(WorkerDiedError, Error);     ///< its worker died; the pool (on_worker_death Replace) goes on

#undef CF_DECLARE_ERROR

/// A task failure known only by its description: a C task that called cf_task_raise, a failure set through
/// cf_future_set_exception, or (as RemoteError) an exception raised in another process. Its status is
/// Status::TaskFailed; what() is "type: message" (or the type alone).
class CF_API TaskError : public Error {
public:
    /// A failure described by its type ("ValueError"), message and detail.
    TaskError(std::string type, std::string message, std::string detail);
    ~TaskError() override;
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
class CF_API RemoteError : public TaskError {
public:
    using TaskError::TaskError;
    ~RemoteError() override;
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
[[noreturn]] CF_API void throw_status(Status status, const std::string &message);

}  // namespace cf

#endif  // CFUTURES_ERRORS_HPP
