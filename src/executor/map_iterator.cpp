// SPDX-License-Identifier: MIT
#include "executor/map_iterator.hpp"

#include "future/wait_helper.hpp"

#include <string>
#include <vector>

namespace cf::core {
namespace {

const ChunkResults *chunk_of(const FutureState &f) {
    const ValueHolder *v = f.value();
    return v ? static_cast<const ChunkResults *>(v->object(typeid(ChunkResults))) : nullptr;
}

}  // namespace

MapIterator::MapIterator(std::shared_ptr<ExecutorCore> core, const TaskCall &call, ArgSource source,
                         const MapOptions &options)
    : core_(std::move(core)),
      call_(call),
      source_(std::move(source)),
      options_(options),
      deadline_(Deadline::after(options.timeout)),
      waiter_(1) {
    if (options.chunksize == 0) throw InvalidArgument("chunksize must be at least 1");
    if (std::isnan(options.timeout)) throw InvalidArgument("timeout is NaN");
    // A submit error here (shutdown, broken pool) or a failing source is the map call's own error. The destructor
    // will not run then, so cancel and unregister from what was already submitted before the waiter goes.
    try {
        fill();
    } catch (...) {
        cancel_in_flight();
        throw;
    }
}

MapIterator::~MapIterator() {
    cancel_in_flight();
}

void MapIterator::cancel_in_flight() {
    for (FutureBase &f : ordered_) f.cancel();
    ordered_.clear();
    for (auto &[state, f] : unordered_) {
        state->remove_waiter(&waiter_);
        f.cancel();
    }
    unordered_.clear();
    unordered_ready_.clear();
}

void MapIterator::fill() {
    std::size_t in_flight = ordered_.size() + unordered_.size();
    while (!source_done_ && (options_.buffersize == 0 || in_flight < options_.buffersize)) {
        if (submit_one_chunk()) ++in_flight;
    }
}

bool MapIterator::submit_one_chunk() {
    // The source's view lives only until it is called again, so a chunk's arguments are copied as they come.
    std::vector<std::string> copies;
    std::string_view arg;
    while (copies.size() < options_.chunksize) {
        if (!source_(arg)) {
            source_done_ = true;
            break;
        }
        copies.emplace_back(arg);
    }
    if (copies.empty()) return false;
    std::vector<std::string_view> views(copies.begin(), copies.end());
    FutureBase f = core_->submit_chunk(call_, views);
    if (!options_.unordered) {
        ordered_.push_back(std::move(f));
        return true;
    }
    FutureState *state = f.native_handle();
    if (!state->add_waiter(&waiter_)) unordered_ready_.push_back(state);
    unordered_.emplace(state, std::move(f));
    return true;
}

WaitTargets MapIterator::collectable_targets() {
    // Off a pool's worker thread, the chunks in flight are named, so that a process pool's waiting thread
    // collects their results itself. On a worker thread the helping wait keeps its old terms (no targets).
    if (current_wait_helper()) return {};
    in_flight_.clear();
    for (const auto &entry : unordered_) in_flight_.push_back(entry.first);
    return WaitTargets{in_flight_.data(), in_flight_.size()};
}

FutureBase MapIterator::next_chunk() {
    if (!options_.unordered) {
        FutureBase f = std::move(ordered_.front());
        ordered_.pop_front();
        if (!f.native_handle()->wait_until(deadline_)) {
            ordered_.push_front(std::move(f));  // cancelled with the rest
            return FutureBase();
        }
        return f;
    }
    FutureState *done = nullptr;
    if (!unordered_ready_.empty()) {
        done = unordered_ready_.front();
        unordered_ready_.pop_front();
    } else {
        done = waiter_.take();
        if (!done && sleep_or_help(waiter_, deadline_, collectable_targets())) done = waiter_.take();
    }
    if (!done) return FutureBase();
    auto it = unordered_.find(done);
    FutureBase f = std::move(it->second);
    unordered_.erase(it);
    return f;
}

void MapIterator::fail(Failure f) {
    failure_ = std::move(f);
    finished_ = true;
    current_ = FutureBase();
    cancel_in_flight();
}

MapIterator::Step MapIterator::next(std::string_view &out) {
    if (finished_) return Step::End;
    try {
        for (;;) {
            if (current_.valid()) {
                const ChunkResults &chunk = *chunk_of(*current_.native_handle());
                if (current_index_ < chunk.results.size()) {
                    out = chunk.results[current_index_++];
                    return Step::Item;
                }
                if (chunk.failure) {
                    fail(*chunk.failure);
                    return Step::Failed;
                }
                current_ = FutureBase();
            }
            fill();
            if (ordered_.empty() && unordered_.empty()) {
                finished_ = true;
                return Step::End;
            }
            FutureBase f = next_chunk();
            if (!f.valid()) {
                fail(make_failure(Status::Timeout, "TimeoutError", "the map's timeout ran out"));
                return Step::Failed;
            }
            FutureState &s = *f.native_handle();
            if (s.state() == State::Cancelled) {
                fail(make_failure(Status::Cancelled, "CancelledError", "a map task was cancelled"));
                return Step::Failed;
            }
            if (const Failure *failure = s.failure()) {
                fail(*failure);
                return Step::Failed;
            }
            if (!chunk_of(s)) {
                fail(make_failure(Status::InvalidState, "InvalidStateError", "a map task returned no results"));
                return Step::Failed;
            }
            current_ = std::move(f);
            current_index_ = 0;
        }
    } catch (const Error &e) {
        // A submit that failed while refilling (shutdown, broken pool) ends the map the same way.
        fail(make_failure(e.status(), "cf::Error", e.what()));
        return Step::Failed;
    }
}

}  // namespace cf::core
