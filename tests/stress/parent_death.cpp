// SPDX-License-Identifier: MIT
// Parent death: a program killed by SIGKILL with tasks in flight leaves nothing behind. For each start method,
// this driver forks a "program" that makes a 2-worker process pool, starts long tasks on it and reports its
// workers' pids (and, for forkserver, the server's), then kills that program with SIGKILL. Checked: every worker
// and the forkserver are gone within 1 s; the program's TMPDIR (a fresh directory) is still empty and /dev/shm
// has the entries it had before.
//
// The driver makes itself a child subreaper, so the orphaned processes become its children: it can see them
// and reap them, whatever runs as pid 1 on this machine.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_probe.hpp"

namespace {

// Returns this worker's pid and its parent's (the program, or the forkserver).
int whoami(cf_task_ctx *ctx, const void *, size_t, void *) {
    std::int32_t ids[2] = {static_cast<std::int32_t>(getpid()), static_cast<std::int32_t>(getppid())};
    return cf_task_return(ctx, ids, sizeof ids);
}
CF_TASK("parent_death.whoami", whoami);

// A task that stays in flight far longer than the test.
int linger(cf_task_ctx *ctx, const void *, size_t, void *) {
    for (int i = 0; i < 600 && !cf_task_cancel_requested(ctx); ++i) usleep(100 * 1000);
    return cf_task_return(ctx, nullptr, 0);
}
CF_TASK("parent_death.linger", linger);

[[noreturn]] void run_program(cf::StartMethod method, int report_fd) {
    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 2;
    o.start_method = method;
    o.shared_memory_bytes = 4 << 20;
    auto *pool = new cf::ProcessPoolExecutor(o);  // never destroyed: this process is killed
    std::set<int> pids;
    int server = 0;
    for (int i = 0; i < 8; ++i) {
        cf::FutureBase f = pool->submit_named("parent_death.whoami", {});
        std::string_view r = f.bytes();
        std::int32_t ids[2];
        std::memcpy(ids, r.data(), sizeof ids);
        if (method == cf::StartMethod::Forkserver) server = ids[1];
    }
    std::vector<cf::FutureBase> in_flight;
    for (int i = 0; i < 4; ++i) in_flight.push_back(pool->submit_named("parent_death.linger", {}));
    // Both workers busy: the first two are running.
    for (int spins = 0; !(in_flight[0].running() && in_flight[1].running()) && spins < 10000; ++spins) usleep(1000);
    for (int pid : pool->worker_pids()) pids.insert(pid);
    std::ostringstream report;
    report << (in_flight[0].running() && in_flight[1].running() ? 1 : 0) << " " << server;
    for (int pid : pids) report << " " << pid;
    report << "\n";
    std::string text = report.str();
    if (write(report_fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) _exit(3);
    for (;;) pause();
}

int failures = 0;
void expect(bool ok, const std::string &what) {
    std::printf("%s: %s\n", ok ? "PASS" : "FAIL", what.c_str());
    if (!ok) ++failures;
}

// Reaps what has ended among our children (orphans included, as a subreaper).
void reap() {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
}

bool gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

void check(const char *name, cf::StartMethod method) {
    char tmp_template[] = "/tmp/cf-parent-death-XXXXXX";
    const char *tmpdir = mkdtemp(tmp_template);
    if (!tmpdir) {
        expect(false, std::string(name) + ": mkdtemp");
        return;
    }
    auto shm_before = cf_stress::shm_entries();
    int report[2];
    if (pipe(report) != 0) std::abort();
    pid_t program = fork();
    if (program == 0) {
        close(report[0]);
        setenv("TMPDIR", tmpdir, 1);
        run_program(method, report[1]);
    }
    close(report[1]);
    std::string line;
    char c;
    while (read(report[0], &c, 1) == 1 && c != '\n') line += c;
    close(report[0]);
    std::istringstream in(line);
    int all_running = 0, server = 0;
    std::vector<pid_t> pids;
    in >> all_running >> server;
    for (int pid; in >> pid;) pids.push_back(pid);
    if (server) pids.push_back(server);
    expect(all_running == 1 && pids.size() == (server ? 3u : 2u),
           std::string(name) + ": the program reported 2 busy workers" + (server ? " and its forkserver" : "") +
               " (\"" + line + "\")");

    auto killed_at = std::chrono::steady_clock::now();
    kill(program, SIGKILL);
    waitpid(program, nullptr, 0);
    double waited = 0;
    std::size_t left = pids.size();
    while (waited < 5) {
        reap();
        left = 0;
        for (pid_t pid : pids) left += gone(pid) ? 0 : 1;
        waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
        if (left == 0) break;
        usleep(1000);
    }
    char figure[128];
    std::snprintf(figure, sizeof figure, "%s: all %zu processes gone %.3f s after the program's SIGKILL", name,
                  pids.size(), waited);
    expect(left == 0 && waited < 1.0, figure);
    expect(cf_stress::directory_entries(tmpdir).empty(), std::string(name) + ": nothing left in the program's TMPDIR");
    expect(cf_stress::shm_entries() == shm_before, std::string(name) + ": /dev/shm unchanged");
    rmdir(tmpdir);
}

}  // namespace

int main() {
    cf::process_worker_entry();
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        std::perror("prctl(PR_SET_CHILD_SUBREAPER)");
        return 2;
    }
    check("fork", cf::StartMethod::Fork);
    check("forkserver", cf::StartMethod::Forkserver);
    check("spawn", cf::StartMethod::Spawn);
    reap();
    std::printf("%d failed\n", failures);
    return failures ? 1 : 0;
}
