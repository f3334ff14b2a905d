// SPDX-License-Identifier: MIT
// Uses the C++ API of the installed libcfutures: Promise/Future, wait, as_completed, and the exceptions it throws.
// The C++ API is header-only over the C ABI (the library exports cf_* only), so the exceptions are thrown and
// caught in this program's own code.
#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int failures = 0;

void expect(bool ok, const char *what) {
    if (!ok) {
        std::fprintf(stderr, "main.cpp: FAILED: %s\n", what);
        ++failures;
    }
}

}  // namespace

int main() {
    std::printf("version: %s\n", cf_version_string());
    expect(cf_version() == static_cast<unsigned>(CF_VERSION_NUMBER), "cf_version() == CF_VERSION_NUMBER");

    cf::Promise<int> p1, p2, p3;
    cf::Future<int> f1 = p1.get_future(), f2 = p2.get_future(), f3 = p3.get_future();
    std::vector<cf::Future<int>> all{f1, f2, f3};

    p1.set_result(42);
    expect(f3.cancel(), "f3.cancel()");

    // wait: FIRST_COMPLETED holds at once, ALL_COMPLETED with a zero timeout leaves f2 out.
    auto first = cf::wait(all, 0.0, cf::ReturnWhen::FirstCompleted);
    auto some = cf::wait(all, 0.0, cf::ReturnWhen::AllCompleted);
    std::printf("wait: first_completed done=%zu, all_completed done=%zu not_done=%zu\n", first.done.size(),
                some.done.size(), some.not_done.size());
    expect(first.done.size() == 2 && some.not_done.size() == 1 && some.not_done[0] == f2, "cf::wait sets");

    // TimeoutError thrown by the library from Future::result.
    bool timed_out = false;
    try {
        (void)f2.result(0.01);
    } catch (const cf::TimeoutError &e) {
        timed_out = e.status() == cf::Status::Timeout;
        std::printf("caught cf::TimeoutError: %s\n", e.what());
    }
    expect(timed_out, "f2.result(0.01) throws cf::TimeoutError");

    // CancelledError thrown by the library, caught by its own type and then through the base cf::Error.
    bool cancelled = false, as_base = false;
    try {
        (void)f3.result();
    } catch (const cf::CancelledError &e) {
        cancelled = e.status() == cf::Status::Cancelled;
        std::printf("caught cf::CancelledError: %s\n", e.what());
    }
    try {
        (void)f3.result();
    } catch (const cf::Error &e) {
        as_base = e.status() == cf::Status::Cancelled;
    }
    expect(cancelled, "f3.result() throws cf::CancelledError");
    expect(as_base, "cf::CancelledError is caught as cf::Error");

    // as_completed: f1 and f3 (done, input order), then f2 once a thread sets it.
    std::string order;
    {
        auto range = cf::as_completed(all, 10.0);
        std::thread producer([&p2] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            p2.set_result(7);
        });
        for (const cf::Future<int> &f : range) {
            if (!order.empty()) order += ' ';
            order += f == f1 ? "f1" : f == f2 ? "f2" : f == f3 ? "f3" : "?";
        }
        producer.join();
    }
    std::printf("as_completed order: %s\n", order.c_str());
    expect(order == "f1 f3 f2", "as_completed order f1 f3 f2");
    expect(f1.result() == 42 && f2.result() == 7, "results 42 and 7");

    // as_completed past its timeout throws cf::TimeoutError from AsCompletedBase::next.
    cf::Promise<int> p4;
    std::vector<cf::Future<int>> pending{p4.get_future()};
    bool iter_timeout = false;
    try {
        for (const auto &f : cf::as_completed(pending, 0.01)) (void)f;
    } catch (const cf::TimeoutError &e) {
        iter_timeout = true;
        std::printf("caught cf::TimeoutError from as_completed: %s\n", e.what());
    }
    expect(iter_timeout, "as_completed over a pending future throws cf::TimeoutError");
    pending[0].cancel();

    if (failures) {
        std::printf("main.cpp: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("main.cpp: all checks passed\n");
    return 0;
}
