// SPDX-License-Identifier: MIT
// Uses the serialization component of the installed libcfutures: a typed C++ task on a process pool, its
// arguments and result carried by Boost.Serialization.
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

}  // namespace

int main() {
    cf::ProcessPoolExecutor pool;
    auto joined = pool.submit<&join>(std::vector<std::string>{"typed", "task", "ok"}, std::string("-")).result();
    std::printf("typed result: %s\n", joined.c_str());
    if (joined != "typed-task-ok") return 1;
    std::printf("typed.cpp: all checks passed\n");
    return 0;
}
