// SPDX-License-Identifier: MIT
// What a continuation costs on a thread pool, beside a plain submit, in one run (the C ABI, an empty C task):
//   1. submit: N tasks submitted, then the result of each (µs per task)
//   2. then on done futures: N continuations of a future done already, then the result of each (µs per step)
//   3. a chain: N steps, each a continuation of the one before (µs per step, from the first result to the last)
// The goal (issue 16): a then step costs no more than a submit.
// Usage: compose_bench [workers] [tasks]
#include <cfutures/cfutures.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "bench_util.hpp"

namespace {

int empty_task(cf_task_ctx *, const void *, size_t, void *) { return CF_OK; }

void finish_all(std::vector<cf_future *> &fs) {
    cf_slice r;
    for (cf_future *f : fs) {
        if (cf_future_result(f, -1.0, &r) != CF_OK) std::abort();
        cf_future_release(f);
    }
    fs.clear();
}

}  // namespace

int main(int argc, char **argv) {
    std::size_t workers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 2;
    std::size_t tasks = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100000;
    cf_thread_pool_options o;
    cf_thread_pool_options_init(&o);
    o.max_workers = workers;
    cf_executor *ex = nullptr;
    if (cf_thread_pool_new(&o, &ex) != CF_OK) return 1;
    std::vector<cf_future *> fs;
    fs.reserve(tasks);
    cf_future *done = nullptr;
    cf_future_new(&done);
    cf_future_set_running_or_notify_cancel(done);
    cf_future_set_result(done, nullptr, 0);

    double submit_us = 0, then_us = 0, chain_us = 0;
    for (int round = 0; round < 3; ++round) {  // interleaved rounds: neither side always runs first
        double s = [&] {
            double t0 = bench::now_us();
            for (std::size_t i = 0; i < tasks; ++i) {
                cf_future *f = nullptr;
                cf_submit(ex, empty_task, nullptr, nullptr, 0, &f);
                fs.push_back(f);
            }
            finish_all(fs);
            return (bench::now_us() - t0) / static_cast<double>(tasks);
        }();
        double t = [&] {
            double t0 = bench::now_us();
            for (std::size_t i = 0; i < tasks; ++i) {
                cf_future *f = nullptr;
                cf_future_then(done, ex, empty_task, nullptr, &f);
                fs.push_back(f);
            }
            finish_all(fs);
            return (bench::now_us() - t0) / static_cast<double>(tasks);
        }();
        double c = [&] {
            cf_future *first = nullptr, *at = nullptr;
            cf_future_new(&first);
            at = first;
            cf_future_retain(at);
            for (std::size_t i = 0; i < tasks; ++i) {
                cf_future *next = nullptr;
                cf_future_then(at, ex, empty_task, nullptr, &next);
                cf_future_release(at);
                at = next;
            }
            double t0 = bench::now_us();
            cf_future_set_running_or_notify_cancel(first);
            cf_future_set_result(first, nullptr, 0);
            cf_slice r;
            if (cf_future_result(at, -1.0, &r) != CF_OK) std::abort();
            double us = (bench::now_us() - t0) / static_cast<double>(tasks);
            cf_future_release(at);
            cf_future_release(first);
            return us;
        }();
        submit_us = round ? std::min(submit_us, s) : s;
        then_us = round ? std::min(then_us, t) : t;
        chain_us = round ? std::min(chain_us, c) : c;
    }
    std::printf("compose_bench: %zu workers, %zu tasks, best of 3 interleaved rounds\n\n", workers, tasks);
    std::printf("| | µs per task or step | against submit |\n|---|---|---|\n");
    std::printf("| submit, then result | %.3f | 1.00x |\n", submit_us);
    std::printf("| then of a done future, then result | %.3f | %.2fx |\n", then_us, then_us / submit_us);
    std::printf("| chain of continuations, per step | %.3f | %.2fx |\n", chain_us, chain_us / submit_us);
    cf_future_release(done);
    cf_executor_free(ex);
    return 0;
}
