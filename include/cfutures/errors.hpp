// SPDX-License-Identifier: MIT
// libcfutures C++ API: status codes and the exceptions named as in concurrent.futures.
#ifndef CFUTURES_ERRORS_HPP
#define CFUTURES_ERRORS_HPP

#include <stdexcept>
#include <string>

#include "cf_export.h"

namespace cf {

// The same values as the C ABI's cf_status (checked at compile time in capi/).
enum class Status : int {
    Ok = 0,
    Done = 1,
    InvalidArgument = -1,
    NoMemory = -2,
    Timeout = -3,
    Cancelled = -4,
    Shutdown = -5,
    BrokenThreadPool = -6,
    BrokenProcessPool = -7,
    InvalidState = -8,
    TaskFailed = -9,
    UnknownTask = -10,
    Deadlock = -11,
    System = -12,
    TooLarge = -13,
    TimeLimit = -14,    // a task ran past its time limit (its worker was killed, or its future failed)
    WorkerDied = -15,   // the worker running the task died; the pool replaced it and goes on
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

// Throws the exception class that stands for status (InvalidArgument for an unknown one).
[[noreturn]] CF_API void throw_status(Status status, const std::string &message);

}  // namespace cf

#endif  // CFUTURES_ERRORS_HPP
