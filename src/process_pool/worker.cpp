// SPDX-License-Identifier: MIT
#include "process_pool/worker.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "common/memory_limit.hpp"
#include "common/log.hpp"
#include "common/spin.hpp"
#include "executor/task_context.hpp"
#include "process_pool/futex.hpp"
#include "registry/registry.hpp"
#include "process_pool/wire.hpp"

namespace cf::core {
namespace {

// Puts a task's result into this worker's heap in shared memory; a result the heap has no room for now goes
// into the worker's private memory, to travel to the parent in parts afterwards.
class HeapSink final : public ResultSink {
public:
    HeapSink(Segment &seg, std::uint32_t slot) : seg_(seg), slot_(slot) {}
    ~HeapSink() { discard(); }
    void *allocate(std::size_t len) override {
        discard();
        block_ = seg_.heap_allocate(slot_, len);
        if (!block_ && !larger_than_memory(len)) {
            private_.reset(new (std::nothrow) char[std::max<std::size_t>(len, 1)]);
            block_ = private_.get();
        }
        len_ = block_ ? len : 0;
        return block_;
    }
    std::string describe_capacity() const override { return "the worker's memory"; }
    void discard() {
        if (!private_) seg_.heap_free(slot_, block_);
        private_.reset();
        block_ = nullptr;
        len_ = 0;
    }
    // Gives up the block: it now belongs to the completion that carries it.
    void release() {
        block_ = nullptr;
        private_.reset();
    }
    void *block() const { return block_; }
    bool in_heap() const { return block_ && !private_; }
    std::size_t len() const { return len_; }

private:
    Segment &seg_;
    std::uint32_t slot_;
    void *block_ = nullptr;
    std::unique_ptr<char[]> private_;
    std::size_t len_ = 0;
};

// How a worker ends when a task calls exit(): with the task's status, at once. Neither the program's own exit
// handlers (they belong to the parent's image, under fork) nor a leak checker's (which would replace the status)
// get to run.
void exit_with_task_status(int status, void *) {
    std::fflush(nullptr);
    _exit(status);
}

class Worker {
public:
    Worker(Segment &seg, const WorkerConfig &config)
        : seg_(seg), config_(config), control_(seg.slot(config.slot)), max_tasks_(seg.header().max_tasks_per_child) {}

    [[noreturn]] void run() {
        struct stat st;
        if (fstat(config_.event_fd, &st) == 0) event_fd_id_ = {st.st_dev, st.st_ino, true};
        control_.state.store(shm::kStarting, std::memory_order_release);
        if (seg_.header().init_name_len) initialize();
        control_.state.store(shm::kReady, std::memory_order_release);
        seg_.header().cpu.enter();
        control_.on_cpu.store(1, std::memory_order_relaxed);
        std::size_t done = 0;
        for (;;) {
            shm::TaskDescriptor d = next_task();
            if (d.kind == shm::kExit) _exit(0);
            if (!begin_task(d.task_id)) continue;  // stopped by the parent before it started
            run_task(d);
            end_task(d.task_id);
            if (max_tasks_ && ++done == max_tasks_) _exit(0);
        }
    }

private:
    // Runs the initializer; on failure records why and ends the process (the parent breaks the pool).
    void initialize() {
        const shm::Header &h = seg_.header();
        Failure failure;
        std::optional<RegisteredTask> task;
        if (shm::within(h.init_name_offset, h.init_name_len, h.arena_offset, h.arena_size) &&
            shm::within(h.initarg_offset, h.initarg_len, h.arena_offset, h.arena_size))
            task = find_task(std::string_view(seg_.at(h.init_name_offset), h.init_name_len));
        if (!task) {
            failure.type = "UnknownTaskError";
            failure.message = "the initializer is not registered in the worker";
        } else {
            std::string_view arg(seg_.at(h.initarg_offset), h.initarg_len);
            TaskOutcome out = run_task_call(task->call, nullptr, arg);
            if (!out.failure) return;
            failure = *out.failure;
        }
        std::string text = failure.type + (failure.message.empty() ? "" : ": " + failure.message);
        std::strncpy(control_.init_error, text.c_str(), sizeof control_.init_error - 1);
        control_.state.store(shm::kInitFailed, std::memory_order_release);
        _exit(3);
    }

    // The start and end of a task, as the parent sees them (running, started_ns, finished). False: the parent
    // stopped the task before it began; it is reported as cancelled and not run.
    bool begin_task(std::uint64_t id) {
        timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        control_.started_ns.store(std::int64_t(now.tv_sec) * 1000000000 + now.tv_nsec, std::memory_order_relaxed);
        control_.running.store(id, std::memory_order_seq_cst);
        if (control_.doomed.load(std::memory_order_seq_cst) != id) return true;
        control_.running.store(0, std::memory_order_seq_cst);
        post(shm::Completion{id, 0, 0, static_cast<std::int32_t>(Status::Cancelled), shm::kEmpty});
        return false;
    }

    void end_task(std::uint64_t id) {
        control_.finished.store(id, std::memory_order_seq_cst);
        control_.running.store(0, std::memory_order_seq_cst);
        // The parent may have decided to kill this worker for the task just finished (it read `running` before
        // the store above): wait here for the signal, or for the parent to see the task finished and let go.
        while (control_.doomed.load(std::memory_order_seq_cst) == id)
            control_.doom_bell.sleep_unless([&] { return control_.doomed.load(std::memory_order_seq_cst) != id; },
                                            10000000);
    }

    // The next task: from the ring while there is one, else spinning while the pool has a CPU to spare, else
    // asleep on the task doorbell. A worker counts itself on a CPU (CpuBudget) from the moment it wakes until it
    // sleeps again.
    shm::TaskDescriptor next_task() {
        shm::TaskDescriptor d;
        shm::CpuBudget &cpu = seg_.header().cpu;
        for (;;) {
            if (take(d)) return d;
            if (cpu.fits() && spin_yielding_until([&] { return control_.tasks.has_records(); }, kWorkerSpinBudget))
                continue;
            control_.on_cpu.store(0, std::memory_order_relaxed);
            cpu.leave();
            control_.task_bell.sleep_unless([&] { return control_.tasks.has_records(); }, -1);
            cpu.enter();
            control_.on_cpu.store(1, std::memory_order_relaxed);
        }
    }

    bool take(shm::TaskDescriptor &d) {
        switch (control_.tasks.try_pop(d)) {
            case shm::TaskRing::Pop::Taken: return true;
            case shm::TaskRing::Pop::Empty: return false;
            default:
                // Only a task running in some worker can have written these indices: this worker stops, and the
                // parent reports its exit.
                log_message(LogLevel::Error,
                            "worker " + std::to_string(getpid()) + ": its task ring was overwritten");
                _exit(shm::kExitRingCorrupt);
        }
    }

    void post(const shm::Completion &c) {
        // The parent never has more tasks in flight here than the ring holds; only a long run of result parts
        // can fill it, and then the parent is woken to make room.
        for (unsigned i = 0; !control_.done.try_push(c); ++i) {
            if (i == 0) wake_parent();
            if (i < 1024) cpu_relax(); else sched_yield();
        }
        wake_parent();
    }

    // Parent threads waiting on futures collect what arrived (spinning, or asleep on the parent doorbell); only
    // when there are none is the supervisor woken, through its eventfd.
    void wake_parent() {
        shm::Header &h = seg_.header();
        if (h.collectors.load(std::memory_order_seq_cst)) {
            h.parent_bell.ring(1);
            return;
        }
        // The first completion to find the supervisor asleep wakes it; the rest of the batch it collects anyway.
        if (h.supervisor_sleeping.exchange(0, std::memory_order_seq_cst) && wake_channel_intact()) {
            std::uint64_t one = 1;
            ssize_t n;
            do {
                n = write(config_.event_fd, &one, sizeof one);
            } while (n < 0 && errno == EINTR);
        }
    }

    // A task may close every descriptor (and open others under the same numbers): the worker then stops waking
    // the parent through it, rather than write into whatever the number now names. The parent still finds the
    // completions, on its heartbeat.
    bool wake_channel_intact() {
        if (control_.wake_lost.load(std::memory_order_relaxed)) return false;
        struct stat st;
        if (event_fd_id_.known && fstat(config_.event_fd, &st) == 0 && st.st_dev == event_fd_id_.dev &&
            st.st_ino == event_fd_id_.ino)
            return true;
        control_.wake_lost.store(1, std::memory_order_relaxed);
        return false;
    }

    // Waits until the parent has handed blocks back (or a short while has passed).
    void wait_for_room() {
        control_.room_bell.sleep_unless(
            [&] { return control_.free_list.load(std::memory_order_seq_cst) != 0; }, 10000000);
    }

    // Sends bytes as a completion of the given kind: in one heap block when there is room, else in parts, each
    // waiting for room that the parent makes by copying the earlier parts out. Nothing a task produced is lost
    // for want of shared memory.
    void send_bytes(std::uint64_t id, std::int32_t status, std::uint32_t kind, const char *data, std::size_t len) {
        if (void *p = seg_.heap_allocate(config_.slot, len)) {
            if (len) std::memcpy(p, data, len);
            return post(shm::Completion{id, seg_.offset_of(p), len, status, kind});
        }
        // Parts small enough that several fit in the part of the heap the caller's held results leave free.
        std::size_t part = std::max<std::size_t>(seg_.heap_size() / 8, 64);
        std::size_t smallest = std::max<std::size_t>(seg_.heap_size() / 256, 64);
        std::size_t sent = 0;
        do {
            std::size_t n = std::min(part, len - sent);
            void *p;
            // A smaller part when the free room is in pieces; then wait for the parent to hand blocks back.
            while (!(p = seg_.heap_allocate(config_.slot, n))) {
                if (n > smallest) n = std::max(n / 2, smallest);
                else wait_for_room();
            }
            if (n) std::memcpy(p, data + sent, n);
            sent += n;
            bool last = sent == len;
            post(shm::Completion{id, seg_.offset_of(p), n, last ? status : 0, last ? kind : shm::kPart});
        } while (sent < len);
    }

    void send_failure(std::uint64_t id, Failure f, const std::string &name) {
        if (f.detail.empty()) f.detail = "task '" + name + "' in worker " + std::to_string(getpid());
        std::string record = wire::encode_failure(f);
        send_bytes(id, static_cast<std::int32_t>(f.status), shm::kErrorRecord, record.data(), record.size());
    }

    void run_task(const shm::TaskDescriptor &d) {
        const shm::Header &h = seg_.header();
        if (!shm::within(d.name_offset, d.name_len, h.arena_offset, h.arena_size) ||
            !shm::within(d.arg_offset, d.arg_len, h.arena_offset, h.arena_size)) {
            return send_failure(d.task_id,
                                make_failure(Status::InvalidArgument, "InvalidArgument",
                                             "the task descriptor points outside the pool's arena"),
                                "?");
        }
        std::string name(seg_.at(d.name_offset), d.name_len);
        std::string_view arg(seg_.at(d.arg_offset), d.arg_len);
        auto task = find_task(name);
        if (!task) {
            return send_failure(d.task_id,
                                make_failure(Status::UnknownTask, "UnknownTaskError",
                                             "no task is registered as '" + name + "' in the worker"),
                                name);
        }
        if (d.kind == shm::kChunk) return run_chunk(d, task->call, name, arg);
        HeapSink sink(seg_, config_.slot);
        TaskOutcome out = run_task_call(task->call, nullptr, arg, &sink, RemoteCancel{&control_.cancel_task, d.task_id});
        if (out.failure) {
            sink.discard();
            return send_failure(d.task_id, std::move(*out.failure), name);
        }
        if (!sink.block()) return post(shm::Completion{d.task_id, 0, 0, 0, shm::kEmpty});
        if (sink.in_heap()) {
            shm::Completion c{d.task_id, seg_.offset_of(sink.block()), sink.len(), 0, shm::kBytes};
            sink.release();
            return post(c);
        }
        send_bytes(d.task_id, 0, shm::kBytes, static_cast<const char *>(sink.block()), sink.len());
    }

    void run_chunk(const shm::TaskDescriptor &d, const TaskCall &call, const std::string &name,
                              std::string_view packed) {
        auto args = wire::decode_chunk_args(packed);
        if (!args) {
            return send_failure(
                d.task_id, make_failure(Status::InvalidArgument, "InvalidArgument", "malformed chunk of arguments"),
                name);
        }
        ChunkResults results;
        for (std::string_view arg : *args) {
            TaskOutcome out = run_task_call(call, nullptr, arg, nullptr, RemoteCancel{&control_.cancel_task, d.task_id});
            if (out.failure) {
                if (out.failure->detail.empty())
                    out.failure->detail = "task '" + name + "' in worker " + std::to_string(getpid());
                results.failure = std::move(out.failure);
                break;
            }
            results.results.push_back(std::move(out.result));
        }
        std::string encoded = wire::encode_chunk_results(results);
        send_bytes(d.task_id, 0, shm::kChunkResults, encoded.data(), encoded.size());
    }

    Segment &seg_;
    const WorkerConfig &config_;
    shm::WorkerControl &control_;
    std::uint64_t max_tasks_;
    struct {
        dev_t dev;
        ino_t ino;
        bool known;
    } event_fd_id_{};
};

}  // namespace

void run_worker(Segment &seg, const WorkerConfig &config) {
    // Die with the parent: a pool never outlives the program that made it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != config.parent) _exit(1);
    // A crash in a task ends the worker by its signal, so that the parent can say which (a handler the program
    // or a sanitizer installed would turn it into an exit code, or keep the dying worker alive).
    for (int sig : {SIGTERM, SIGINT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) signal(sig, SIG_DFL);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    on_exit(exit_with_task_status, nullptr);
    Worker(seg, config).run();
}

}  // namespace cf::core
