// SPDX-License-Identifier: MIT
// MpiPool: the provider behind an MPI executor on rank 0. Callers queue tasks; one communication thread makes
// every MPI call: it sends tasks to the workers (a few in flight per worker, with non-blocking sends, so that a
// large argument to one worker holds up no other), receives results (large ones with non-blocking receives),
// completes the futures, and at shutdown tells the workers to stop. Internal to libcfutures_mpi.
#pragma once

#include <cfutures/sys.h>
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace cf::mpi {

class MpiPool {
public:
    // comm: the pool's communicator (owned); workers: the ranks in it that serve (for an intercommunicator, the
    // remote ranks). spawned: comm is an intercommunicator to spawned workers (disconnected at the end).
    // check_names: refuse at submit a task not registered here (the workers run this same program).
    MpiPool(MPI_Comm comm, std::vector<int> workers, bool spawned, bool check_names);
    ~MpiPool();
    MpiPool(const MpiPool &) = delete;
    MpiPool &operator=(const MpiPool &) = delete;

    int submit(const char *task, const void *arg, std::size_t len, cf_future *f);
    int submit_chunk(const char *task, const cf_slice *args, std::size_t n, cf_future *f);
    int shutdown(bool wait, bool cancel_futures);
    int stats(cf_executor_stats *out);

    static const cf_executor_provider &provider();
    // Shuts down every live pool, cancelling what is queued and waiting for the rest: at exit, before MPI is
    // finalised, for pools the program did not free (their workers must hear that they can stop).
    static void shutdown_all();

private:
    struct Queued {
        std::uint64_t id;
        std::string message;
        cf_future *future;
    };
    struct InFlight {
        cf_future *future;
        std::size_t worker;
    };
    // An MPI transfer under way, with its buffer (at a stable address until the request completes).
    struct Transfer {
        MPI_Request request = MPI_REQUEST_NULL;
        std::string bytes;
    };

    int enqueue(const char *task, std::uint32_t kind, const cf_slice *parts, std::size_t n_parts, cf_future *f);
    void run();
    bool step(std::vector<std::string> &results);
    bool dispatch();
    bool collect(std::vector<std::string> &results);
    void complete(const std::string &result);
    void finish_transfers(std::vector<std::unique_ptr<Transfer>> &list, std::vector<std::string> *done);
    bool stopping();
    void join();
    void stop_workers();
    void wait_for_work(std::chrono::microseconds limit);
    void check(const char *call, int rc);
    void break_pool(const std::string &why);
    void stop_workers_after_break();

    // Shared with callers, under mu_.
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Queued> queue_;
    bool closed_ = false;
    bool sleeping_ = false;  // the communication thread waits on cv_
    bool poked_ = false;     // something for it to look at: a task, a shutdown
    std::string broken_;
    std::atomic<std::uint64_t> next_id_{1};
    std::atomic<std::uint64_t> running_{0}, busy_{0};

    // The communication thread's own.
    MPI_Comm comm_;
    std::vector<int> workers_;
    std::vector<unsigned> load_;  // tasks in flight per worker
    bool spawned_;
    bool check_names_;
    std::unordered_map<std::uint64_t, InFlight> in_flight_;
    // For the tests: CFUTURES_MPI_FAULT_AT_SEND=k makes the k-th task send fail as an MPI error would.
    long fault_at_send_ = 0;
    long sends_made_ = 0;
    std::vector<std::unique_ptr<Transfer>> sends_, receives_;

    std::mutex join_mu_;
    std::thread thread_;
};

}  // namespace cf::mpi
