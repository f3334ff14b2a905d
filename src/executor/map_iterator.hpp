// SPDX-License-Identifier: MIT
// MapIterator: Executor.map over byte-string tasks. Pulls arguments from a source, submits them in chunks
// (all at once, or at most `buffersize` chunks in flight), and hands the results back in input or completion
// order. The first failure (a task's, or the timeout) is reported once; then the rest is cancelled.
// Internal: no API.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/handle_storage.hpp"
#include "executor/executor_core.hpp"
#include "future/deadline.hpp"
#include "future/wait_helper.hpp"
#include "future/waiter.hpp"

namespace cf::core {

class MapIterator : public TaggedHandle<0x43464d49> {  // "CFMI"
public:

    enum class Step { Item, End, Failed };

    // Validates the options (throws InvalidArgument). With buffersize 0 the source is drained here.
    MapIterator(std::shared_ptr<ExecutorCore> core, const TaskCall &call, ArgSource source,
                const MapOptions &options);
    ~MapIterator();  // cancels what has not started
    MapIterator(const MapIterator &) = delete;
    MapIterator &operator=(const MapIterator &) = delete;

    // Item: *out is the next result, valid until the next call. Failed: failure() says why (once; then End).
    Step next(std::string_view &out);
    const Failure &failure() const noexcept { return failure_; }

private:
    void fill();
    bool submit_one_chunk();
    FutureBase next_chunk();
    WaitTargets collectable_targets();
    void fail(Failure f);
    void cancel_in_flight();

    std::shared_ptr<ExecutorCore> core_;
    TaskCall call_;
    ArgSource source_;
    MapOptions options_;
    Deadline deadline_;
    bool source_done_ = false;
    bool finished_ = false;

    std::deque<FutureBase> ordered_;                          // in submit order (ordered mode)
    std::unordered_map<FutureState *, FutureBase> unordered_; // in flight (unordered mode)
    std::deque<FutureState *> unordered_ready_;               // done before the waiter could be registered
    std::vector<FutureState *> in_flight_;                    // collectable_targets' list, kept to reuse
    Waiter waiter_;                                           // completions (unordered mode)

    FutureBase current_;            // the chunk whose results are being handed out
    std::size_t current_index_ = 0;
    Failure failure_;
};

}  // namespace cf::core
