// SPDX-License-Identifier: MIT
// The exceptions the core throws: each carries the status the C ABI returns for it (capi/capi_support.hpp turns
// them into statuses at the boundary). Internal: no API.
#pragma once

#include <stdexcept>
#include <string>

#include "common/types.hpp"

namespace cf::core {

class Error : public std::runtime_error {
public:
    Error(Status status, const std::string &what) : std::runtime_error(what), status_(status) {}
    Status status() const noexcept { return status_; }

private:
    Status status_;
};

// One class per status the core raises, so that a throw says what went wrong by its name.
#define CF_CORE_ERROR(Name, Base, code)                                            \
    class Name : public Base {                                                     \
    public:                                                                        \
        explicit Name(const std::string &what) : Base(Status::code, what) {}      \
                                                                                   \
    protected:                                                                     \
        Name(Status status, const std::string &what) : Base(status, what) {}      \
    }

CF_CORE_ERROR(CancelledError, Error, Cancelled);
CF_CORE_ERROR(TimeoutError, Error, Timeout);
CF_CORE_ERROR(InvalidStateError, Error, InvalidState);
CF_CORE_ERROR(InvalidArgument, Error, InvalidArgument);
CF_CORE_ERROR(ShutdownError, Error, Shutdown);
CF_CORE_ERROR(BrokenThreadPool, Error, BrokenThreadPool);
CF_CORE_ERROR(BrokenProcessPool, Error, BrokenProcessPool);
CF_CORE_ERROR(UnknownTaskError, Error, UnknownTask);
CF_CORE_ERROR(DeadlockError, Error, Deadlock);
CF_CORE_ERROR(SystemError, Error, System);
CF_CORE_ERROR(TooLargeError, Error, TooLarge);
CF_CORE_ERROR(TimeLimitError, Error, TimeLimit);
CF_CORE_ERROR(WorkerDiedError, Error, WorkerDied);
#undef CF_CORE_ERROR

}  // namespace cf::core
