// SPDX-License-Identifier: MIT
// The exception classes of cfutures/errors.hpp and the names of the status codes.
#include "cfutures/errors.hpp"

#include <new>

namespace cf {
namespace {

struct StatusText {
    Status status;
    const char *name;
    const char *description;
};

constexpr StatusText kStatusTexts[] = {
    {Status::Ok, "CF_OK", "success"},
    {Status::Done, "CF_DONE", "the iterator is exhausted"},
    {Status::InvalidArgument, "CF_E_INVALID_ARGUMENT", "invalid argument"},
    {Status::NoMemory, "CF_E_NO_MEMORY", "out of memory"},
    {Status::Timeout, "CF_E_TIMEOUT", "the wait timed out"},
    {Status::Cancelled, "CF_E_CANCELLED", "the future was cancelled"},
    {Status::Shutdown, "CF_E_SHUTDOWN", "cannot schedule new futures after shutdown"},
    {Status::BrokenThreadPool, "CF_E_BROKEN_THREAD_POOL", "the thread pool is broken"},
    {Status::BrokenProcessPool, "CF_E_BROKEN_PROCESS_POOL", "the process pool is broken"},
    {Status::InvalidState, "CF_E_INVALID_STATE", "the future is in the wrong state for this operation"},
    {Status::TaskFailed, "CF_E_TASK_FAILED", "the task failed"},
    {Status::UnknownTask, "CF_E_UNKNOWN_TASK", "the task is not registered"},
    {Status::Deadlock, "CF_E_DEADLOCK", "the wait could never finish"},
    {Status::System, "CF_E_SYSTEM", "an operating-system call failed"},
    {Status::TooLarge, "CF_E_TOO_LARGE", "the payload is larger than the pool can carry"},
    {Status::TimeLimit, "CF_E_TIME_LIMIT", "the task ran past its time limit"},
    {Status::WorkerDied, "CF_E_WORKER_DIED", "the worker running the task died (the pool replaced it)"},
};

const StatusText *find(int status) {
    for (const auto &t : kStatusTexts)
        if (static_cast<int>(t.status) == status) return &t;
    return nullptr;
}

}  // namespace

const char *status_name(int status) noexcept {
    const StatusText *t = find(status);
    return t ? t->name : "CF_UNKNOWN_STATUS";
}

const char *status_description(int status) noexcept {
    const StatusText *t = find(status);
    return t ? t->description : "unknown status code";
}

Error::Error(Status status, const std::string &what) : std::runtime_error(what), status_(status) {}
Error::~Error() = default;

#define CF_DEFINE_ERROR(Name, Base, code)                                        \
    Name::Name(const std::string &what) : Base(Status::code, what) {}           \
    Name::Name(Status status, const std::string &what) : Base(status, what) {}  \
    Name::~Name() = default;

CF_DEFINE_ERROR(CancelledError, Error, Cancelled)
CF_DEFINE_ERROR(TimeoutError, Error, Timeout)
CF_DEFINE_ERROR(InvalidStateError, Error, InvalidState)
CF_DEFINE_ERROR(InvalidArgument, Error, InvalidArgument)
CF_DEFINE_ERROR(ShutdownError, Error, Shutdown)
CF_DEFINE_ERROR(BrokenExecutor, Error, BrokenThreadPool)
CF_DEFINE_ERROR(BrokenThreadPool, BrokenExecutor, BrokenThreadPool)
CF_DEFINE_ERROR(BrokenProcessPool, BrokenExecutor, BrokenProcessPool)
CF_DEFINE_ERROR(UnknownTaskError, Error, UnknownTask)
CF_DEFINE_ERROR(DeadlockError, Error, Deadlock)
CF_DEFINE_ERROR(SystemError, Error, System)
CF_DEFINE_ERROR(TooLargeError, Error, TooLarge)
CF_DEFINE_ERROR(TimeLimitError, TimeoutError, TimeLimit)
CF_DEFINE_ERROR(WorkerDiedError, Error, WorkerDied)

#undef CF_DEFINE_ERROR

namespace {
std::string task_error_text(const std::string &type, const std::string &message) {
    return message.empty() ? type : type + ": " + message;
}
}  // namespace

TaskError::TaskError(std::string type, std::string message, std::string detail)
    : Error(Status::TaskFailed, task_error_text(type, message)),
      type_(std::move(type)),
      message_(std::move(message)),
      detail_(std::move(detail)) {}
TaskError::~TaskError() = default;
RemoteError::~RemoteError() = default;

void throw_status(Status status, const std::string &message) {
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

}  // namespace cf
