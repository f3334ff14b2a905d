// SPDX-License-Identifier: MIT
// MpiPool: the provider behind an MPI executor on rank 0. Callers queue tasks; the MPI work (sending tasks to the
// workers with non-blocking sends, so that a large argument to one worker holds up no other, receiving results,
// completing the futures) is done under mpi_lock() by whichever thread gets there: a caller waiting on one of the
// pool's futures (the provider's progress: no thread hand-off on the way back), else the pool's communication
// thread, which also tells the workers to stop at shutdown. Internal to libcfutures_mpi.
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
    // A waiting caller's turn at the MPI work (cf_executor_provider.progress): 1 to be called again, 0 to sleep.
    int progress(std::uint64_t round);

    static const cf_executor_provider &provider();
    // Shuts down every live pool, cancelling what is queued and waiting for the rest: at exit, before MPI is
    // finalised, for pools the program did not free (their workers must hear that they can stop).
    static void shutdown_all();

private:
    using Clock = std::chrono::steady_clock;

    struct Queued {
        std::uint64_t id;
        std::string message;
        cf_future *future;
    };
    struct InFlight {
        cf_future *future;
        std::size_t worker;
    };
    struct Worker {
        unsigned load = 0;              // tasks in flight
        Clock::time_point last_result;  // when its last result arrived
    };
    // An MPI transfer under way, with its buffer (at a stable address until the request completes).
    struct Transfer {
        MPI_Request request = MPI_REQUEST_NULL;
        std::string bytes;
        int tag = 0;
    };
    // What one round of MPI work found: results to complete futures with, once mpi_lock() is let go (their
    // done-callbacks may submit, wait, or make another pool).
    struct Step {
        struct Outcome {
            cf_future *future;
            std::size_t buffer, at, len;  // the result message: buffers[buffer].substr(at, len)
        };
        std::vector<std::string> buffers;
        std::vector<Outcome> outcomes;
        bool news = false;     // something was sent or received
        bool pending = false;  // tasks are in flight or transfers under way
        std::string failure;   // an MPI error that breaks the pool

        void reset() {
            buffers.clear();
            outcomes.clear();
            news = pending = false;
            failure.clear();
        }
    };

    int enqueue(const char *task, std::uint32_t kind, const cf_slice *parts, std::size_t n_parts, cf_future *f);
    void run();
    void send_now();
    // Sends the task straight to an idle worker (mpi_lock() held): false when it must queue instead (no worker
    // idle, or tasks queued before it), else true with *rc the submit's status.
    bool send_direct(Queued &q, int *rc, std::string &failure);
    // Why a submit is refused now (the pool broken or shut down), or CF_OK; under mu_.
    int refusal_locked() const;
    // Counts q's task as running on worker w (mpi_lock() held); false, with its future let go, when it was
    // cancelled while it waited.
    bool start_on(std::size_t w, Queued &q);
    bool next_send_faults() { return fault_at_send_ > 0 && ++sends_made_ == fault_at_send_; }
    void post_waiting_receives();
    void step(Step &s);
    bool dispatch();
    void send_batch(std::size_t w, std::string &batch, std::size_t tasks, bool fault);
    void send_bytes(std::size_t w, std::string bytes, int tag, bool fault);
    // The receive kept posted for worker w's next message.
    int post_receive(std::size_t w);
    void cancel_receives();
    void collect(Step &s);
    // Takes the finished transfers out of list, into done when given.
    void finish_transfers(std::vector<std::unique_ptr<Transfer>> &list, std::vector<std::unique_ptr<Transfer>> *done);
    void take_message(Step &s, int tag, Clock::time_point now);
    void take_result(Step &s, std::string_view message, Clock::time_point now);
    void finish(Step &s);
    void complete(cf_future *f, std::string_view result);
    bool stopping();
    void join();
    void stop_workers();
    void wait_for_work(Clock::time_point news_at, bool pending);
    void check(const char *call, int rc);
    void break_pool(const std::string &why);
    void stop_workers_after_break();
    bool driven_now(Clock::time_point now) const;

    // Shared with callers, under mu_.
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Queued> queue_;
    std::atomic<std::size_t> queued_{0};  // queue_.size(), for a look without mu_
    bool closed_ = false;
    bool sleeping_ = false;  // the communication thread waits on cv_ until poked
    bool poked_ = false;     // something for it to look at: a task, a shutdown
    std::string broken_;
    std::atomic<std::uint64_t> next_id_{1};
    std::atomic<std::uint64_t> running_{0}, busy_{0};
    // When a waiting caller last did the MPI work (ns of Clock; 0: none does now), and how long a task takes
    // on its worker (a moving average, ns): what the communication thread's polling adapts to.
    std::atomic<std::int64_t> driven_at_{0}, task_ns_{0};

    // Under mpi_lock().
    MPI_Comm comm_;
    std::vector<int> ranks_;
    std::vector<Worker> workers_;
    bool spawned_;
    bool check_names_;
    bool ended_ = false;  // the workers were told to stop, or the pool broke: no more MPI calls
    std::unordered_map<std::uint64_t, InFlight> in_flight_;
    // For the tests: CFUTURES_MPI_FAULT_AT_SEND=k makes the k-th task send fail as an MPI error would.
    long fault_at_send_ = 0;
    long sends_made_ = 0;
    std::vector<std::unique_ptr<Transfer>> sends_, receives_;
    // The receive posted for each worker's next message (any tag, up to kResultPosted bytes), and its buffer.
    std::vector<MPI_Request> posted_;
    std::vector<std::unique_ptr<char[]>> posted_bytes_;
    std::vector<std::size_t> repost_;  // workers whose receive is posted again at the next step: after the futures
                                       // of their last message are completed
    // dispatch's own, kept from one call to the next.
    std::vector<unsigned> limit_;
    std::vector<Queued> taken_;
    std::vector<std::vector<Queued *>> to_;

    std::mutex join_mu_;
    std::thread thread_;
    std::thread::id thread_id_;
};

}  // namespace cf::mpi
