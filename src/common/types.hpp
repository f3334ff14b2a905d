// SPDX-License-Identifier: MIT
// The core's own vocabulary: status codes, future states, wait conditions, start methods and the option and
// counter records the executors take and give. The C ABI layer translates the C structs into these; nothing here
// is public (the C++ API has its own, header-only, over the C ABI). Internal: no API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include <cfutures/cf_status_map.h>

namespace cf::core {

// The values of the C ABI's cf_status, from the same list.
enum class Status : int {
#define CF_CORE_STATUS(c_name, value, cxx_name, cxx_exception, python_exception, description) cxx_name = value,
    CF_STATUS_MAP(CF_CORE_STATUS)
#undef CF_CORE_STATUS
};

// The values of cf_future_state, cf_return_when, cf_start_method and cf_worker_death.
enum class State : int { Pending = 0, Running = 1, Cancelled = 2, Finished = 3 };
enum class ReturnWhen : int { AllCompleted = 0, FirstCompleted = 1, FirstException = 2 };
enum class StartMethod : int { Default = 0, Fork = 1, Forkserver = 2, Spawn = 3 };
enum class WorkerDeath : int { Break = 0, Replace = 1 };

// Wait without limit.
inline constexpr double forever = -1.0;

struct SubmitOptions {
    double time_limit = forever;  // seconds from the task's start; negative or infinite: none
};

struct MapOptions {
    double timeout = forever;    // measured from the map call
    std::size_t chunksize = 1;   // items per task; 0 is invalid
    std::size_t buffersize = 0;  // 0: submit everything at once; else at most this many chunks in flight
    bool unordered = false;      // true: results in completion order
};

struct ExecutorStats {
    std::uint64_t workers = 0, idle_workers = 0, queued = 0, running = 0;
    std::uint64_t completed = 0, failed = 0, cancelled = 0;
    std::uint64_t worker_deaths = 0, workers_replaced = 0;
    std::uint64_t max_workers = 0;
    std::uint64_t workers_started = 0;
};

// "CF_E_TIMEOUT" for Status::Timeout; "CF_UNKNOWN_STATUS" for a value that is no status.
const char *status_name(int status) noexcept;
// A one-line description of a status (cf_strerror).
const char *status_description(int status) noexcept;

}  // namespace cf::core
