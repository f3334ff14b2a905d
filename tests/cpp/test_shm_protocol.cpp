// SPDX-License-Identifier: MIT
// The process pool's shared-memory protocol types (src/process_pool/shm_ring.hpp, doorbell.hpp), which parent
// and workers both use: the ring's order, capacity and refusal of impossible indices; the doorbell's
// handshake (no lost wake-up, no sleep when the news is already there); the CPU budget's bound on spinners.
// They are templates over plain memory, so they are tested here in one process, on threads.
#include <atomic>
#include <chrono>
#include <memory>
#include <cstdint>
#include <limits>
#include <thread>

#include <gtest/gtest.h>

#include "process_pool/doorbell.hpp"
#include "process_pool/shm_ring.hpp"

namespace {

using cf::core::shm::CpuBudget;
using cf::core::shm::Doorbell;
using cf::core::shm::ShmRing;

struct Record {
    std::uint64_t a, b;
};
using Ring = ShmRing<Record, 8>;

// Rings live in zeroed shared memory in a pool; here in zeroed private memory.
std::unique_ptr<Ring> new_ring(std::uint64_t start = 0) {
    auto r = std::make_unique<Ring>();
    r->head.store(start);
    r->tail.store(start);
    return r;
}

TEST(ShmRing, KeepsOrderAndRefusesAPushWhenFull) {
    auto r = new_ring();
    for (std::uint64_t i = 0; i < Ring::capacity(); ++i) EXPECT_TRUE(r->try_push({i, i * 2}));
    EXPECT_FALSE(r->try_push({99, 99})) << "a full ring took a ninth record";
    Record out{};
    for (std::uint64_t i = 0; i < Ring::capacity(); ++i) {
        ASSERT_EQ(r->try_pop(out), Ring::Pop::Taken);
        EXPECT_EQ(out.a, i);
        EXPECT_EQ(out.b, i * 2);
    }
    EXPECT_EQ(r->try_pop(out), Ring::Pop::Empty);
    EXPECT_FALSE(r->has_records());
}

TEST(ShmRing, PopBatchTakesAtMostWhatIsAskedInOrder) {
    auto r = new_ring();
    for (std::uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(r->try_push({i, 0}));
    Record out[8];
    std::size_t n = 0;
    ASSERT_EQ(r->pop_batch(out, 3, &n), Ring::Pop::Taken);
    ASSERT_EQ(n, 3u);
    EXPECT_EQ(out[0].a, 0u);
    EXPECT_EQ(out[2].a, 2u);
    ASSERT_EQ(r->pop_batch(out, 8, &n), Ring::Pop::Taken);
    ASSERT_EQ(n, 2u);
    EXPECT_EQ(out[0].a, 3u);
    EXPECT_EQ(out[1].a, 4u);
    EXPECT_EQ(r->pop_batch(out, 8, &n), Ring::Pop::Empty);
    EXPECT_EQ(n, 0u);
}

TEST(ShmRing, WorksAcrossTheCounterWrap) {
    auto r = new_ring(std::numeric_limits<std::uint64_t>::max() - 2);
    for (std::uint64_t i = 0; i < 6; ++i) ASSERT_TRUE(r->try_push({i, 0}));
    Record out{};
    for (std::uint64_t i = 0; i < 6; ++i) {
        ASSERT_EQ(r->try_pop(out), Ring::Pop::Taken);
        EXPECT_EQ(out.a, i);
    }
    EXPECT_EQ(r->try_pop(out), Ring::Pop::Empty);
}

TEST(ShmRing, IndicesClaimingMoreThanTheRingHoldsAreCorruptAndNothingIsTaken) {
    auto r = new_ring();
    r->tail.store(Ring::capacity() + 1);  // a producer that claims nine records in an eight-slot ring
    Record out[8];
    std::size_t n = 7;
    EXPECT_EQ(r->pop_batch(out, 8, &n), Ring::Pop::Corrupt);
    EXPECT_EQ(n, 0u);
    EXPECT_EQ(r->head.load(), 0u) << "a corrupt ring must be left as it is";
    r->tail.store(3);
    r->head.store(5);  // a consumer index past the producer's
    EXPECT_EQ(r->pop_batch(out, 8, &n), Ring::Pop::Corrupt);
    EXPECT_FALSE(r->try_push({1, 1})) << "a producer must not write into a ring whose indices are impossible";
}

TEST(ShmRing, OneProducerOneConsumerOnTwoThreadsLoseNothing) {
    auto r = new_ring();
    constexpr std::uint64_t kCount = 200000;
    std::thread producer([&] {
        for (std::uint64_t i = 0; i < kCount; ++i)
            while (!r->try_push({i, ~i})) std::this_thread::yield();
    });
    std::uint64_t next = 0;
    bool in_order = true;
    while (next < kCount) {
        Record out[8];
        std::size_t n = 0;
        if (r->pop_batch(out, 8, &n) != Ring::Pop::Taken) {
            std::this_thread::yield();
            continue;
        }
        for (std::size_t i = 0; i < n; ++i, ++next) in_order &= out[i].a == next && out[i].b == ~next;
    }
    producer.join();
    EXPECT_TRUE(in_order);
    EXPECT_EQ(next, kCount);
}

TEST(Doorbell, RingWithoutASleeperCostsNothingAndSaysSo) {
    Doorbell bell{};
    EXPECT_FALSE(bell.ring());
    EXPECT_EQ(bell.seq.load(), 0u) << "a ring nobody waits for must not bump the word";
}

TEST(Doorbell, ASleeperWhoseNewsIsThereDoesNotSleep) {
    Doorbell bell{};
    bell.sleep_unless([] { return true; }, -1);  // would hang if it slept
    EXPECT_EQ(bell.sleepers.load(), 0u);
}

TEST(Doorbell, EveryPublishedItemWakesItsSleeper) {
    // A consumer sleeps until the producer's counter moves; the producer rings after each step. A lost wake-up
    // leaves the consumer asleep on a counter that has moved, until its timeout: each such sleep is counted.
    Doorbell bell{};
    std::atomic<std::uint64_t> published{0};
    constexpr std::uint64_t kSteps = 2000;
    constexpr long long kTimeoutNs = 2000000000;  // far longer than any wake-up takes
    std::atomic<int> timed_out{0};
    std::thread consumer([&] {
        std::uint64_t seen = 0;
        while (seen < kSteps) {
            auto t0 = std::chrono::steady_clock::now();
            bell.sleep_unless([&] { return published.load(std::memory_order_seq_cst) != seen; }, kTimeoutNs);
            if (std::chrono::steady_clock::now() - t0 >= std::chrono::nanoseconds(kTimeoutNs)) ++timed_out;
            seen = published.load();
        }
    });
    for (std::uint64_t i = 1; i <= kSteps; ++i) {
        published.store(i, std::memory_order_seq_cst);
        bell.ring();
    }
    consumer.join();
    EXPECT_EQ(timed_out.load(), 0) << "the sleeper missed a ring";
    EXPECT_EQ(bell.sleepers.load(), 0u);
}

TEST(CpuBudget, NoMoreSpinnersThanCpus) {
    CpuBudget budget{};
    budget.cpus = 2;
    budget.enter();  // a worker running a task
    EXPECT_TRUE(budget.fits());
    EXPECT_TRUE(budget.try_enter());  // a spinner on the second CPU
    EXPECT_FALSE(budget.try_enter()) << "a third party was let spin on two CPUs";
    EXPECT_EQ(budget.on_cpu.load(), 2u) << "a refused party must not stay counted";
    budget.leave();
    EXPECT_TRUE(budget.try_enter());
}

}  // namespace
