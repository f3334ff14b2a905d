// SPDX-License-Identifier: MIT
// The layout of a process pool's shared memory: what parent and workers both read and write. Everything a
// worker can write is treated by the parent as untrusted input: indices are bounded, offsets and lengths are
// checked against the region they must lie in (see validate_* below). Internal: no API.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "process_pool/doorbell.hpp"
#include "process_pool/shm_ring.hpp"

namespace cf::core::shm {

constexpr std::uint64_t kMagic = 0x6366757475726573ull;  // "cfutures"
constexpr std::uint32_t kLayoutVersion = 4;
constexpr std::size_t kRingSlots = 64;  // tasks in flight per worker, at most

// A task handed to a worker. task_id 0 asks the worker to exit.
struct TaskDescriptor {
    std::uint64_t task_id;
    std::uint64_t name_offset;  // the task's registered name, in the arena
    std::uint64_t name_len;
    std::uint64_t arg_offset;   // the argument, in the arena
    std::uint64_t arg_len;
    std::uint32_t kind;         // TaskKind
    std::uint32_t reserved;
};
enum TaskKind : std::uint32_t { kSingle = 0, kChunk = 1, kExit = 2 };

// What a worker sends back for a task. The block (if any) lies in the worker's own result heap.
struct Completion {
    std::uint64_t task_id;
    std::uint64_t offset;
    std::uint64_t length;
    std::int32_t status;  // CF_OK, or the failure's status
    std::uint32_t kind;   // ResultKind
};
// A block too large for the worker's heap travels as kPart blocks (each freed by the parent as soon as it has
// copied it) followed by the completion of its real kind carrying the last part.
enum ResultKind : std::uint32_t { kEmpty = 0, kBytes = 1, kErrorRecord = 2, kChunkResults = 3, kPart = 4 };

// The exit code of a worker that found its task ring overwritten (by a task, in it or in another worker).
constexpr int kExitRingCorrupt = 70;

// The two rings of a worker: tasks in, completions out.
using TaskRing = ShmRing<TaskDescriptor, kRingSlots>;
using CompletionRing = ShmRing<Completion, kRingSlots>;

enum WorkerState : std::uint32_t { kUnused = 0, kStarting = 1, kReady = 2, kInitFailed = 3 };

struct alignas(64) WorkerControl {
    TaskRing tasks;        // parent -> worker
    CompletionRing done;   // worker -> parent
    alignas(64) Doorbell task_bell;         // the worker sleeps here when its task ring is empty
    std::atomic<std::uint32_t> on_cpu;      // 1 while the worker counts itself in the pool's CpuBudget
    std::atomic<std::uint64_t> free_list;   // result blocks the parent is done with (a stack through the blocks)
    std::atomic<std::uint64_t> cancel_task; // the id of a task the parent asks to stop (cf_task_cancel_requested)
    std::atomic<std::uint32_t> state;       // WorkerState
    std::atomic<std::uint32_t> heap_ready;  // the slot's result heap is built (it outlives one worker)
    Doorbell room_bell;                     // the worker waits here for the parent to hand blocks back
    std::atomic<std::uint32_t> wake_lost;   // 1 once a task closed the worker's descriptor for waking the parent
    // Which task the worker is on, for time limits and for stopping a running task (cancel_running). The
    // worker writes started_ns (CLOCK_MONOTONIC) then running before it runs a task, and finished then
    // running = 0 after it has posted the task's completion.
    std::atomic<std::uint64_t> running;     // the id of the task running now; 0 between tasks
    std::atomic<std::int64_t> started_ns;   // when it started
    std::atomic<std::uint64_t> finished;    // the id of the last task it finished
    // The parent's "this task must go no further" (see ProcessPool::stop_task_locked): a worker that takes the
    // task from its ring skips it; one that has just finished it waits on doom_bell until the parent either
    // kills it or clears the word. Written by the parent only.
    std::atomic<std::uint64_t> doomed;
    Doorbell doom_bell;
    std::uint64_t heap_offset;
    std::uint64_t heap_size;
    char init_error[512];                   // why the initializer failed (NUL-terminated)
};

struct Header {
    std::uint64_t magic;
    std::uint32_t version;
    std::uint32_t n_slots;
    std::uint64_t total_size;
    std::uint64_t control_offset;  // WorkerControl[n_slots]
    std::uint64_t arena_offset;    // arguments and task names, allocated by the parent only
    std::uint64_t arena_size;
    std::uint64_t max_tasks_per_child;  // 0: unlimited
    std::uint64_t init_name_offset;     // the initializer's registered name (len 0: none), in the arena
    std::uint64_t init_name_len;
    std::uint64_t initarg_offset;       // its argument, in the arena
    std::uint64_t initarg_len;
    // Parent threads waiting on futures collect completions themselves (collectors counts them), spinning or
    // asleep on parent_bell, which workers ring after posting a completion. Only when there is no collector and
    // the supervisor sleeps (supervisor_sleeping) does a worker write the supervisor's eventfd.
    alignas(64) Doorbell parent_bell;
    std::atomic<std::uint32_t> collectors;
    std::atomic<std::uint32_t> supervisor_sleeping;
    alignas(64) CpuBudget cpu;
};

static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "shared-memory atomics must be lock-free");

// True when [offset, offset + len) lies inside [region, region + region_len).
inline bool within(std::uint64_t offset, std::uint64_t len, std::uint64_t region, std::uint64_t region_len) {
    return offset >= region && len <= region_len && offset - region <= region_len - len;
}

}  // namespace cf::core::shm
