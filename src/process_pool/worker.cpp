#include "worker.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "common/spin.hpp"
#include "executor/task_context.hpp"
#include "futex.hpp"
#include "registry/registry.hpp"
#include "wire.hpp"

namespace cf::detail {
namespace {

// Puts a task's result into this worker's heap in shared memory.
class HeapSink final : public ResultSink {
public:
    HeapSink(Segment &seg, std::uint32_t slot) : seg_(seg), slot_(slot) {}
    void *allocate(std::size_t len) override {
        discard();
        block_ = seg_.heap_allocate(slot_, len);
        len_ = block_ ? len : 0;
        return block_;
    }
    std::string describe_capacity() const override {
        return "the worker's result heap (" + std::to_string(seg_.heap_size()) +
               " bytes; raise shared_memory_bytes)";
    }
    void discard() {
        seg_.heap_free(slot_, block_);
        block_ = nullptr;
        len_ = 0;
    }
    void *block() const { return block_; }
    std::size_t len() const { return len_; }

private:
    Segment &seg_;
    std::uint32_t slot_;
    void *block_ = nullptr;
    std::size_t len_ = 0;
};

class Worker {
public:
    Worker(Segment &seg, const WorkerConfig &config)
        : seg_(seg), config_(config), control_(seg.slot(config.slot)), max_tasks_(seg.header().max_tasks_per_child) {}

    [[noreturn]] void run() {
        control_.state.store(shm::kStarting, std::memory_order_release);
        if (seg_.header().init_name_len) initialize();
        control_.state.store(shm::kReady, std::memory_order_release);
        std::size_t done = 0;
        for (;;) {
            shm::TaskDescriptor d = next_task();
            if (d.kind == shm::kExit) _exit(0);
            post(run_task(d));
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

    bool try_pop(shm::TaskDescriptor &d) {
        auto &ring = control_.tasks;
        std::uint64_t h = ring.head.load(std::memory_order_relaxed);
        if (h == ring.tail.load(std::memory_order_acquire)) return false;
        d = ring.slots[h % shm::kRingSlots];
        ring.head.store(h + 1, std::memory_order_release);
        return true;
    }

    shm::TaskDescriptor next_task() {
        shm::TaskDescriptor d;
        for (;;) {
            if (spin_until([&] { return try_pop(d); }, kWorkerSpinBudget)) return d;
            std::uint32_t seq = control_.wake_word.load(std::memory_order_acquire);
            control_.sleeping.store(1, std::memory_order_seq_cst);
            std::atomic_thread_fence(std::memory_order_seq_cst);
            if (try_pop(d)) {
                control_.sleeping.store(0, std::memory_order_relaxed);
                return d;
            }
            futex_wait(control_.wake_word, seq);
            control_.sleeping.store(0, std::memory_order_relaxed);
        }
    }

    void post(const shm::Completion &c) {
        auto &ring = control_.done;
        std::uint64_t t = ring.tail.load(std::memory_order_relaxed);
        // The parent never has more tasks in flight here than the ring holds, so this does not spin for long.
        while (t - ring.head.load(std::memory_order_acquire) >= shm::kRingSlots) cpu_relax();
        ring.slots[t % shm::kRingSlots] = c;
        ring.tail.store(t + 1, std::memory_order_release);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (seg_.header().parent_sleeping.load(std::memory_order_relaxed)) {
            std::uint64_t one = 1;
            ssize_t n = write(config_.event_fd, &one, sizeof one);
            (void)n;
        }
    }

    // A block in the heap holding bytes, as a completion; a failure if the heap has no room.
    shm::Completion block_completion(std::uint64_t id, std::int32_t status, std::uint32_t kind,
                                     const std::string &bytes) {
        void *p = seg_.heap_allocate(config_.slot, bytes.size());
        if (!p) return shm::Completion{id, 0, 0, static_cast<std::int32_t>(Status::TooLarge), shm::kEmpty};
        std::memcpy(p, bytes.data(), bytes.size());
        return shm::Completion{id, seg_.offset_of(p), bytes.size(), status, kind};
    }

    shm::Completion failure_completion(std::uint64_t id, Failure f, const std::string &name) {
        if (f.detail.empty()) f.detail = "task '" + name + "' in worker " + std::to_string(getpid());
        return block_completion(id, static_cast<std::int32_t>(f.status), shm::kErrorRecord, wire::encode_failure(f));
    }

    shm::Completion run_task(const shm::TaskDescriptor &d) {
        const shm::Header &h = seg_.header();
        if (!shm::within(d.name_offset, d.name_len, h.arena_offset, h.arena_size) ||
            !shm::within(d.arg_offset, d.arg_len, h.arena_offset, h.arena_size)) {
            return failure_completion(d.task_id,
                                      make_failure(Status::InvalidArgument, "InvalidArgument",
                                                   "the task descriptor points outside the pool's arena"),
                                      "?");
        }
        std::string name(seg_.at(d.name_offset), d.name_len);
        std::string_view arg(seg_.at(d.arg_offset), d.arg_len);
        auto task = find_task(name);
        if (!task) {
            return failure_completion(d.task_id,
                                      make_failure(Status::UnknownTask, "UnknownTaskError",
                                                   "no task is registered as '" + name + "' in the worker"),
                                      name);
        }
        if (d.kind == shm::kChunk) return run_chunk(d, task->call, name, arg);
        HeapSink sink(seg_, config_.slot);
        TaskOutcome out = run_task_call(task->call, nullptr, arg, &sink, RemoteCancel{&control_.cancel_task, d.task_id});
        if (out.failure) {
            sink.discard();
            return failure_completion(d.task_id, std::move(*out.failure), name);
        }
        if (!sink.block()) return shm::Completion{d.task_id, 0, 0, 0, shm::kEmpty};
        return shm::Completion{d.task_id, seg_.offset_of(sink.block()), sink.len(), 0, shm::kBytes};
    }

    shm::Completion run_chunk(const shm::TaskDescriptor &d, const TaskCall &call, const std::string &name,
                              std::string_view packed) {
        auto args = wire::decode_chunk_args(packed);
        if (!args) {
            return failure_completion(
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
        return block_completion(d.task_id, 0, shm::kChunkResults, wire::encode_chunk_results(results));
    }

    Segment &seg_;
    const WorkerConfig &config_;
    shm::WorkerControl &control_;
    std::uint64_t max_tasks_;
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
    Worker(seg, config).run();
}

}  // namespace cf::detail
