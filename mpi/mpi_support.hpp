// SPDX-License-Identifier: MIT
// What the MPI pool and its workers share: the lock that keeps MPI calls of this library one at a time (MPI is
// initialised with MPI_THREAD_SERIALIZED), MPI's error texts, and the back-off of a thread polling MPI.
// Internal to libcfutures_mpi.
#pragma once

#include <mpi.h>

#include <chrono>
#include <mutex>
#include <string>

namespace cf::mpi {

// Held around every MPI call this library makes (a pool's communication thread, a caller driving a pool, pool
// creation).
std::mutex &mpi_lock();

// "MPI_Isend: MPI_ERR_TRUNCATE: message truncated" for a failing MPI call.
std::string mpi_error_text(const char *call, int code);

// The argument that marks a process started by a CF_MPI_SPAWN pool.
inline constexpr const char *kWorkerMarker = "--cfutures-mpi-worker";

// A task that runs longer than this is a long one: its result goes home at once, and rank 0 need not poll for
// results more often than such tasks end.
inline constexpr std::chrono::microseconds kShortTask{20};

// Polls patiently: spins first (a reply is usually microseconds away), then yields, then sleeps longer and
// longer, up to 256 us. reset() after each message.
class Backoff {
public:
    void reset() noexcept { idle_polls_ = 0; }
    // After a poll that found nothing: how long to sleep now (0: poll again at once).
    std::chrono::microseconds next_sleep();
    // next_sleep, slept here.
    void pause();

private:
    unsigned idle_polls_ = 0;
};

// Serves tasks from rank 0 of comm (a world's duplicate, or the intercommunicator to the parent) until stopped;
// false after an MPI error (written to stderr).
bool serve(MPI_Comm comm);

// This process's rank in MPI_COMM_WORLD and host, for the detail of a failure.
std::string where_am_i();

}  // namespace cf::mpi
