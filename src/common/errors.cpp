// SPDX-License-Identifier: MIT
// The exception classes of cfutures/errors.hpp and the names of the status codes.
#include <cfutures/errors.hpp>

#include <new>

namespace cf {
namespace {

struct StatusText {
    Status status;
    const char *name;
    const char *description;
};

constexpr StatusText kStatusTexts[] = {
#define CF_STATUS_TEXT(c_name, value, cxx_name, cxx_exception, python_exception, description) \
    {Status::cxx_name, #c_name, description},
    CF_STATUS_MAP(CF_STATUS_TEXT)
#undef CF_STATUS_TEXT
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
