// SPDX-License-Identifier: MIT
// libcfutures C++ API: status codes and the exceptions named as in concurrent.futures.
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

namespace cf {

// The same values as the C ABI's cf_status, from the same list (cf_status_map.h).
enum class Status : int {
#define CF_STATUS_CXX_ENUMERATOR(c_name, value, cxx_name, cxx_exception, python_exception, description) \
    cxx_name = value,
    CF_STATUS_MAP(CF_STATUS_CXX_ENUMERATOR)
#undef CF_STATUS_CXX_ENUMERATOR
};

// "CF_E_TIMEOUT" for Status::Timeout; "CF_UNKNOWN_STATUS" for a value that is no status.
CF_API const char *status_name(int status) noexcept;
// A one-line description of a status.
CF_API const char *status_description(int status) noexcept;

// The base of every exception the library throws; status() is the C ABI's code for it.
class CF_API Error : public std::runtime_error {
public:
    Error(Status status, const std::string &what);
    ~Error() override;
    Status status() const noexcept { return status_; }

private:
    Status status_;
};

#define CF_DECLARE_ERROR(Name, Base)                            \
    class CF_API Name : public Base {                           \
    public:                                                     \
        explicit Name(const std::string &what);                 \
        ~Name() override;                                       \
                                                                \
    protected:                                                  \
        Name(Status status, const std::string &what);           \
    }

CF_DECLARE_ERROR(CancelledError, Error);      // the future was cancelled
CF_DECLARE_ERROR(TimeoutError, Error);        // the wait ran out of time
CF_DECLARE_ERROR(InvalidStateError, Error);   // e.g. a second set_result
CF_DECLARE_ERROR(InvalidArgument, Error);     // ValueError / TypeError
CF_DECLARE_ERROR(ShutdownError, Error);       // cannot schedule new futures after shutdown
CF_DECLARE_ERROR(BrokenExecutor, Error);      // the executor can no longer run tasks
CF_DECLARE_ERROR(BrokenThreadPool, BrokenExecutor);
CF_DECLARE_ERROR(BrokenProcessPool, BrokenExecutor);
CF_DECLARE_ERROR(UnknownTaskError, Error);    // a function not registered for cross-process use
CF_DECLARE_ERROR(DeadlockError, Error);       // a wait that can never finish
CF_DECLARE_ERROR(SystemError, Error);         // an operating-system call failed
CF_DECLARE_ERROR(TooLargeError, Error);       // a payload larger than the pool can carry
CF_DECLARE_ERROR(TimeLimitError, TimeoutError);  // the task ran past its time limit (Python: TimeoutError)
CF_DECLARE_ERROR(WorkerDiedError, Error);     // its worker died; the pool (on_worker_death REPLACE) goes on

#undef CF_DECLARE_ERROR

// A task failure known only by its description: a C task that called cf_task_raise, a failure set through
// cf_future_set_exception, or (as RemoteError) an exception raised in another process.
class CF_API TaskError : public Error {
public:
    TaskError(std::string type, std::string message, std::string detail);
    ~TaskError() override;
    const std::string &type() const noexcept { return type_; }
    const std::string &message() const noexcept { return message_; }
    const std::string &detail() const noexcept { return detail_; }

private:
    std::string type_, message_, detail_;
};

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

// Throws the exception class that stands for status (InvalidArgument for an unknown one).
[[noreturn]] CF_API void throw_status(Status status, const std::string &message);

}  // namespace cf

#endif  // CFUTURES_ERRORS_HPP
