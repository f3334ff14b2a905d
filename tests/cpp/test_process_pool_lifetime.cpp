// SPDX-License-Identifier: MIT
// cf::ProcessPoolExecutor: what a pool costs outside its tasks: workers that die with their parent, leaving
// nothing in /dev/shm, and an idle pool that uses no CPU; over every start method.
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <gtest/gtest.h>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_pool_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace cftest;

CF_PROCESS_POOL_SUITE(ProcessPoolParentDeath);
CF_PROCESS_POOL_SUITE(ProcessPoolIdle);

long cpu_ticks(pid_t pid) {
    auto f = stat_fields(pid);
    if (f.size() < 13) return 0;
    return std::stol(f[11]) + std::stol(f[12]);
}

std::set<std::string> dev_shm_names() {
    std::set<std::string> names;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/dev/shm", ec), end; !ec && it != end; it.increment(ec))
        names.insert(it->path().filename().string());
    return names;
}


// ---------------------------------------------------------------------------------------------------------------
// The parent dies: its workers go with it and nothing stays behind in /dev/shm

TEST_P(ProcessPoolParentDeath, WorkersDieWithTheirParent) {
    constexpr int kWorkers = 2;
    Scratch s;
    std::set<std::string> shm_before = dev_shm_names();
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    cf::StartMethod method = GetParam();
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // The child: a pool whose workers sleep, their pids written to the pipe, then wait to be killed.
        close(fds[0]);
        try {
            cf::ProcessPoolExecutor::Options o;
            o.max_workers = kWorkers;
            o.start_method = method;
            auto *ex = new cf::ProcessPoolExecutor(o);  // never destroyed: the process is killed
            auto *fs = new std::vector<cf::FutureBase>;
            for (int i = 0; i < kWorkers; ++i) fs->push_back(ex->submit_named("test_process_pool.sleep", s.sleep_arg(i, 30)));
            std::string line;
            for (int i = 0; i < kWorkers; ++i) {
                if (!eventually([&] { return s.started(i); })) _exit(2);
                line += std::to_string(s.started_pid(i)) + " " + std::to_string(s.started_ppid(i)) + " ";
            }
            line += "\n";
            if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(3);
        } catch (...) {
            _exit(4);
        }
        for (;;) pause();
    }
    close(fds[1]);
    struct KillAtExit {
        pid_t pid;
        bool reaped = false;
        ~KillAtExit() {
            if (reaped) return;
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    } guard{child};
    std::string line;
    pollfd p{fds[0], POLLIN, 0};
    char buf[256];
    while (line.find('\n') == std::string::npos && poll(&p, 1, 30000) > 0) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        line.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    std::vector<pid_t> workers;
    std::set<pid_t> parents;  // the child itself, or (forkserver) the server it started
    std::istringstream in(line);
    for (long pid, ppid; in >> pid >> ppid;) {
        workers.push_back(static_cast<pid_t>(pid));
        parents.insert(static_cast<pid_t>(ppid));
    }
    ASSERT_EQ(workers.size(), static_cast<std::size_t>(kWorkers)) << "the child did not report its workers";
    for (pid_t w : workers) ASSERT_FALSE(process_gone(w)) << "worker " << w << " died early";
    // The workers' parent: the child itself, or (forkserver) a server. The server is the child's own when the
    // child started it; when this process had started one before the fork, the child inherited the connection to
    // it and shares it, and then that server belongs to this process and must outlive the child.
    std::vector<pid_t> must_die = workers;
    std::vector<pid_t> must_live;
    if (forkserver()) {
        EXPECT_EQ(parents.count(child), 0u);
        for (pid_t server : parents) {
            auto f = stat_fields(server);
            ASSERT_GE(f.size(), 2u);
            pid_t owner = static_cast<pid_t>(std::atol(f[1].c_str()));
            if (owner == child) must_die.push_back(server);
            else if (owner == getpid()) must_live.push_back(server);
            else ADD_FAILURE() << "the forkserver " << server << " belongs to neither the child nor this process";
        }
    } else {
        EXPECT_EQ(parents, std::set<pid_t>{child});
    }

    ASSERT_EQ(kill(child, SIGKILL), 0);
    ASSERT_EQ(waitpid(child, nullptr, 0), child);
    guard.reaped = true;
    auto deadline = Clock::now() + 1s;
    auto all_gone = [&] {
        return std::all_of(must_die.begin(), must_die.end(), [](pid_t p) { return process_gone(p); });
    };
    while (!all_gone() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    for (pid_t p : must_die) EXPECT_TRUE(process_gone(p)) << "process " << p << " outlived the pool's owner by 1 s";
    for (pid_t p : must_live) EXPECT_FALSE(process_gone(p)) << "this process's forkserver died with the child";
    std::set<std::string> shm_after = dev_shm_names();
    std::vector<std::string> added;
    std::set_difference(shm_after.begin(), shm_after.end(), shm_before.begin(), shm_before.end(),
                        std::back_inserter(added));
    EXPECT_TRUE(added.empty()) << "left in /dev/shm: " << (added.empty() ? "" : added.front());
    // Leave nothing of the child's running if the library failed.
    for (pid_t p : must_die)
        if (!process_gone(p)) kill(p, SIGKILL);
    // And this process's own pools still work.
    cf::ProcessPoolExecutor ex(options(1));
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "after")), "after");
}

// ---------------------------------------------------------------------------------------------------------------
// An idle pool costs nothing

TEST_P(ProcessPoolIdle, IdlePoolUsesNoCpu) {
    constexpr int kWorkers = 2;
    Scratch s;
    cf::ProcessPoolExecutor ex(options(kWorkers));
    OpenAtExit open_gate(s);
    // Both workers take a task at the same time, so that both exist, then a burst of small tasks.
    std::vector<cf::FutureBase> fs;
    for (int i = 0; i < kWorkers; ++i) {
        fs.push_back(ex.submit_named("test_process_pool.gate", s.gate(i)));
        ASSERT_TRUE(s.wait_started(i));
    }
    s.open();
    for (int i = 0; i < 200; ++i) fs.push_back(ex.submit_named("test_process_pool.nothing", ""));
    for (auto &f : fs) ASSERT_EQ(f.error(kLong).status, cf::Status::Ok);
    auto workers = ex.worker_pids();
    ASSERT_EQ(workers.size(), static_cast<std::size_t>(kWorkers));
    std::this_thread::sleep_for(100ms);  // let parent and workers settle into their idle wait
    // Everything the pool runs on: this process (its supervisor thread), the workers and, for forkserver, the server.
    std::set<pid_t> processes{getpid()};
    for (pid_t w : workers) {
        processes.insert(w);
        auto f = stat_fields(w);
        if (f.size() > 1) processes.insert(static_cast<pid_t>(std::atol(f[1].c_str())));
    }
    auto total = [&] {
        long t = 0;
        for (pid_t p : processes) t += cpu_ticks(p);
        return t;
    };
    long before = total();
    std::this_thread::sleep_for(1s);
    long used = total() - before;
    EXPECT_LE(used, 5) << "an idle pool of " << kWorkers << " workers used " << used << " clock ticks (of "
                       << sysconf(_SC_CLK_TCK) << " per second) in one second";
    EXPECT_EQ(text(ex.submit_named("test_process_pool.echo", "awake")), "awake");
}

}  // namespace
