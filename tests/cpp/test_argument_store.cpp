// SPDX-License-Identifier: MIT
// The process pool's argument allocator (src/process_pool/argument_store.hpp): many threads allocating and
// freeing at once never share a block; what the stripes cache is taken back for a large request; a thread
// waiting for room wakes on a free elsewhere, and gives up when told.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "process_pool/argument_store.hpp"
#include "process_pool/segment.hpp"

namespace {

using cf::core::ArgumentStore;
using cf::core::Segment;

constexpr std::size_t kHeapBytes = std::size_t(1) << 20;

std::shared_ptr<Segment> segment(std::size_t arena_bytes) { return Segment::create(1, arena_bytes, kHeapBytes); }

TEST(ArgumentStore, ThreadsAllocatingAtOnceNeverShareABlock) {
    auto seg = segment(std::size_t(4) << 20);
    ArgumentStore store(*seg);
    constexpr int kThreads = 4, kRounds = 20000, kHeld = 16;
    std::atomic<int> overwritten{0}, refused{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            struct Held {
                unsigned char *p;
                std::size_t len;
                unsigned char mark;
            };
            std::vector<Held> held;
            auto release = [&](const Held &h) {
                for (std::size_t i = 0; i < h.len; ++i)
                    if (h.p[i] != h.mark) {
                        ++overwritten;  // another allocation was handed the same bytes
                        break;
                    }
                store.free(h.p, h.len);
            };
            for (int r = 0; r < kRounds; ++r) {
                // Mostly small blocks (the stripes' classes), now and then one past them.
                std::size_t len = r % 97 == 0 ? 1500 + rng() % 3000 : 1 + rng() % 1024;
                auto *p = static_cast<unsigned char *>(store.allocate(len));
                if (!p) {
                    ++refused;
                    continue;
                }
                auto mark = static_cast<unsigned char>(t * 61 + r);
                std::memset(p, mark, len);
                held.push_back({p, len, mark});
                if (held.size() > kHeld) {
                    std::size_t i = rng() % held.size();
                    release(held[i]);
                    held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
                }
            }
            for (const Held &h : held) release(h);
        });
    for (auto &th : threads) th.join();
    EXPECT_EQ(overwritten.load(), 0);
    EXPECT_EQ(refused.load(), 0) << "a 4 MiB arena refused blocks while at most ~300 KiB were held";
    // Everything came back: the whole arena can be had again in one block.
    void *all = store.allocate(store.capacity());
    EXPECT_NE(all, nullptr) << "blocks the stripes cached were not given back for a request of the whole arena";
    store.free(all, store.capacity());
}

TEST(ArgumentStore, ALargeRequestTakesBackWhatOtherThreadsStripesCache) {
    auto seg = segment(64 << 10);
    ArgumentStore store(*seg);
    // Other threads fill the arena with small blocks and free them: the blocks sit in those threads' stripes.
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&] {
            std::vector<void *> mine;
            while (void *p = store.allocate(48)) mine.push_back(p);
            for (void *p : mine) store.free(p, 48);
        });
    for (auto &th : threads) th.join();
    void *big = store.allocate(store.capacity());
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(store.allocate(16), nullptr) << "the arena handed out more than it holds";
    store.free(big, store.capacity());
}

TEST(ArgumentStore, AWaitingAllocationWakesOnAFreeFromAnotherThread) {
    auto seg = segment(64 << 10);
    ArgumentStore store(*seg);
    void *all = store.allocate(store.capacity());
    ASSERT_NE(all, nullptr);
    std::atomic<bool> waiting{false};
    void *got = nullptr;
    std::thread waiter([&] {
        waiting = true;
        got = store.allocate_waiting(4096, [] { return false; });
    });
    while (!waiting) std::this_thread::yield();
    store.free(all, store.capacity());  // before or after the waiter sleeps: either way it gets the room
    waiter.join();
    EXPECT_NE(got, nullptr);
    store.free(got, 4096);
}

TEST(ArgumentStore, AWaitingAllocationGivesUpWhenToldAndWoken) {
    auto seg = segment(64 << 10);
    ArgumentStore store(*seg);
    void *all = store.allocate(store.capacity());
    ASSERT_NE(all, nullptr);
    std::atomic<bool> give_up{false}, waiting{false};
    void *got = reinterpret_cast<void *>(1);
    std::thread waiter([&] {
        waiting = true;
        got = store.allocate_waiting(4096, [&] { return give_up.load(); });
    });
    while (!waiting) std::this_thread::yield();
    give_up = true;
    store.wake_waiters();
    waiter.join();
    EXPECT_EQ(got, nullptr);
    store.free(all, store.capacity());
}

TEST(ArgumentStore, AWaiterWhoseLookEmptiesTheStripesDoesNotBlockOnItself) {
    // A waiting allocation looks again after each free; its look takes back what the stripes cache, and that
    // wakes waiters: the looking thread must not then take the waiters' lock it already holds (found by the
    // flake hunt: a submit waiting for room hung, and every thread freeing a block behind it).
    auto seg = segment(64 << 10);
    ArgumentStore store(*seg);
    std::vector<void *> small, big;
    for (int i = 0; i < 10; ++i) small.push_back(store.allocate(16));
    void *extra = store.allocate(16);
    ASSERT_NE(extra, nullptr);
    while (void *p = store.allocate(4096)) big.push_back(p);  // the arena is full: no 8 KiB anywhere
    for (void *p : small) ASSERT_NE(p, nullptr);
    std::mutex mu;
    std::condition_variable cv;
    int looks = 0;
    bool done = false;
    void *got = nullptr;
    std::thread waiter([&] {
        void *p = store.allocate_waiting(8192, [&] {
            std::lock_guard<std::mutex> lock(mu);
            ++looks;  // counted as a waiter, about to look under the store's lock
            cv.notify_all();
            return false;
        });
        std::lock_guard<std::mutex> lock(mu);
        got = p;
        done = true;
        cv.notify_all();
    });
    auto bounded_wait = [&](auto condition) {
        std::unique_lock<std::mutex> lock(mu);
        if (!cv.wait_for(lock, std::chrono::seconds(20), condition)) {
            std::fprintf(stderr, "ArgumentStore: a waiting allocation blocked on itself \n");
            std::_Exit(1);  // the waiter cannot be joined
        }
    };
    bounded_wait([&] { return looks >= 1; });
    // Cached in this thread's stripe, and the waiter woken: its second look takes them back (and finds no room).
    for (void *p : small) store.free(p, 16);
    bounded_wait([&] { return looks >= 2; });
    // One more free wakes it for a third look, once the second has ended; on a thread of its own, since that
    // free cannot return while the waiter holds its lock.
    std::thread freer([&] { store.free(extra, 16); });
    bounded_wait([&] { return looks >= 3; });
    freer.join();
    for (void *p : big) store.free(p, 4096);
    bounded_wait([&] { return done; });
    waiter.join();
    EXPECT_NE(got, nullptr);
    store.free(got, 8192);
}

}  // namespace
