// SPDX-License-Identifier: MIT
// The README's C++ example: typed futures, exceptions, wait and as_completed on a thread pool.
#include <cfutures/cfutures.hpp>

#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

int main() {
    cf::ThreadPoolExecutor pool({/*max_workers=*/4});

    cf::Future<int> five = pool.submit([](int a, int b) { return a + b; }, 2, 3);
    std::cout << "2 + 3 = " << five.result() << "\n";

    auto bad = pool.submit([]() -> std::string { throw std::out_of_range("no such page"); });
    try {
        bad.result(std::chrono::seconds(1));
    } catch (const std::out_of_range &e) {                 // the task's own exception type comes back
        std::cout << "caught std::out_of_range: " << e.what() << "\n";
    }

    std::vector<cf::Future<std::string>> pages;
    for (std::string name : {"alpha", "beta", "gamma"})
        pages.push_back(pool.submit([name] { return name + ".html"; }));
    for (const auto &page : cf::as_completed(pages))      // in completion order
        std::cout << "done: " << page.result() << "\n";

    auto [done, not_done] = cf::wait(pages, 1.0, cf::ReturnWhen::AllCompleted);
    std::cout << done.size() << " done, " << not_done.size() << " not done\n";
    return 0;
}
