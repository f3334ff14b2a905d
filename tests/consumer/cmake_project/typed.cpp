// SPDX-License-Identifier: MIT
// Uses the serialization component of the installed libcfutures: a typed C++ task on a process pool, its
// arguments and result carried by Boost.Serialization, and a typed continuation of a thread pool's future there.
#include <cfutures/cfutures.hpp>
#include <cfutures/serialization.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace {

std::string join(const std::vector<std::string> &words, const std::string &separator) {
    std::string out;
    for (const auto &w : words) out += (out.empty() ? "" : separator) + w;
    return out;
}

std::size_t length(const std::string &s) { return s.size(); }

}  // namespace

int main() {
    cf::ProcessPoolExecutor pool;
    auto joined = pool.submit<&join>(std::vector<std::string>{"typed", "task", "ok"}, std::string("-")).result();
    std::printf("typed result: %s\n", joined.c_str());
    if (joined != "typed-task-ok") return 1;
    cf::ThreadPoolExecutor threads;
    cf::Future<std::string> text = threads.submit([] { return std::string("continued"); });
    std::size_t n = pool.then<&length>(text).result();
    std::printf("typed continuation: %zu\n", n);
    if (n != 9) return 1;
    std::printf("typed.cpp: all checks passed\n");
    return 0;
}
