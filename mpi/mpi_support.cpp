// SPDX-License-Identifier: MIT
#include "mpi_support.hpp"

#include <sched.h>

#include <chrono>
#include <thread>

namespace cf::mpi {

std::mutex &mpi_lock() {
    static std::mutex mu;
    return mu;
}

std::string mpi_error_text(const char *call, int code) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) return std::string(call) + ": MPI error " + std::to_string(code);
    return std::string(call) + ": " + std::string(text, static_cast<std::size_t>(len));
}

std::chrono::microseconds Backoff::next_sleep() {
    constexpr unsigned kSpins = 200, kYields = 2000;
    ++idle_polls_;
    if (idle_polls_ < kSpins) return std::chrono::microseconds(0);
    if (idle_polls_ < kYields) {
        sched_yield();
        return std::chrono::microseconds(0);
    }
    unsigned doublings = std::min(idle_polls_ - kYields, 3u);
    return std::chrono::microseconds(32u << doublings);  // 32 us .. 256 us: well under a short task
}

void Backoff::pause() {
    std::chrono::microseconds d = next_sleep();
    if (d.count()) std::this_thread::sleep_for(d);
}

std::string where_am_i() {
    int rank = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char host[MPI_MAX_PROCESSOR_NAME] = {0};
    int len = 0;
    MPI_Get_processor_name(host, &len);
    return "MPI rank " + std::to_string(rank) + " on " + std::string(host, static_cast<std::size_t>(len));
}

}  // namespace cf::mpi
