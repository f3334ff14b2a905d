/* SPDX-License-Identifier: MIT */
/**
 * @file
 * libcfutures: every status code, once. Everything else is made from this list or checked against it: the
 * cf_status enum (cfutures.h), cf_status_name and cf_strerror, the C++ enum cf::Status and the exception each
 * status throws (cfutures/errors.hpp), and the tests of the Rust, Go and Python bindings.
 */
#ifndef CFUTURES_CF_STATUS_MAP_H
#define CFUTURES_CF_STATUS_MAP_H

/**
 * @def CF_STATUS_MAP
 * The list of status codes: CF_STATUS_MAP(X) calls X once per status, in order of value (0, 1, -1, -2, ...), as
 *
 *     X(c_name, value, cxx_name, cxx_exception, python_exception, description)
 *
 * - `c_name`: the C enumerator (CF_OK, CF_E_TIMEOUT, ...);
 * - `value`: its value: 0 success, 1 an iterator's end, negative a failure; never changed or reused;
 * - `cxx_name`: the enumerator of the C++ enum class cf::Status;
 * - `cxx_exception`: what cf::throw_status throws for it, as a string literal ("" for the two that are no
 *   failure);
 * - `python_exception`: the exception class the Python binding raises for it, as a string literal ("" where
 *   none);
 * - `description`: the text of cf_strerror, a string literal.
 *
 * X is any macro of six parameters; each call it makes ends without a separator, so X supplies its own (a comma
 * for an enumerator list, a semicolon for statements). A new status goes at the end, with the next free negative
 * value, and gets its enumerator in cfutures.h by hand (the build checks the two against each other).
 */
#define CF_STATUS_MAP(X)                                                                                          \
    X(CF_OK, 0, Ok, "", "", "success")                                                                            \
    X(CF_DONE, 1, Done, "", "", "the iterator is exhausted")                                                      \
    X(CF_E_INVALID_ARGUMENT, -1, InvalidArgument, "cf::InvalidArgument", "ValueError", "invalid argument")        \
    X(CF_E_NO_MEMORY, -2, NoMemory, "std::bad_alloc", "MemoryError", "out of memory")                             \
    X(CF_E_TIMEOUT, -3, Timeout, "cf::TimeoutError", "TimeoutError", "the wait timed out")                        \
    X(CF_E_CANCELLED, -4, Cancelled, "cf::CancelledError", "CancelledError", "the future was cancelled")          \
    X(CF_E_SHUTDOWN, -5, Shutdown, "cf::ShutdownError", "RuntimeError",                                           \
      "cannot schedule new futures after shutdown")                                                               \
    X(CF_E_BROKEN_THREAD_POOL, -6, BrokenThreadPool, "cf::BrokenThreadPool", "BrokenThreadPool",                  \
      "the thread pool is broken")                                                                                \
    X(CF_E_BROKEN_PROCESS_POOL, -7, BrokenProcessPool, "cf::BrokenProcessPool", "BrokenProcessPool",              \
      "the process pool is broken")                                                                               \
    X(CF_E_INVALID_STATE, -8, InvalidState, "cf::InvalidStateError", "InvalidStateError",                         \
      "the future is in the wrong state for this operation")                                                      \
    X(CF_E_TASK_FAILED, -9, TaskFailed, "cf::TaskError", "TaskError", "the task failed")                          \
    X(CF_E_UNKNOWN_TASK, -10, UnknownTask, "cf::UnknownTaskError", "UnknownTaskError",                            \
      "the task is not registered")                                                                               \
    X(CF_E_DEADLOCK, -11, Deadlock, "cf::DeadlockError", "DeadlockError", "the wait could never finish")          \
    X(CF_E_SYSTEM, -12, System, "cf::SystemError", "CFuturesError", "an operating-system call failed")            \
    X(CF_E_TOO_LARGE, -13, TooLarge, "cf::TooLargeError", "CFuturesError",                                        \
      "the payload is larger than the pool can carry")                                                            \
    X(CF_E_TIME_LIMIT, -14, TimeLimit, "cf::TimeLimitError", "TimeLimitError", "the task ran past its time limit") \
    X(CF_E_WORKER_DIED, -15, WorkerDied, "cf::WorkerDiedError", "WorkerDiedError",                                \
      "the worker running the task died (the pool replaced it)")

#endif /* CFUTURES_CF_STATUS_MAP_H */
