// SPDX-License-Identifier: MIT
#include "common/system.hpp"
#include "process_pool/launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <set>
#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "common/eintr.hpp"
#include "common/fork_hooks.hpp"
#include "process_pool/forkserver.hpp"
#include "process_pool/segment.hpp"
#include "process_pool/worker.hpp"

extern char **environ;

namespace cf::core {
namespace {

bool program_discards_child_statuses() {
    struct sigaction chld {};
    sigaction(SIGCHLD, nullptr, &chld);
    return chld.sa_handler == SIG_IGN || (chld.sa_flags & SA_NOCLDWAIT);
}

// Fork and spawn: the workers are this program's children, or a private server's. The server (a fork of the
// program, single-threaded from then on) starts every worker where the program ignores SIGCHLD (the system would
// discard how they ended), and, under fork, every worker after the first ones: a worker started in place of one
// that died or retired then never comes from a fork of the multithreaded program as it is by then. It is forked
// on the supervisor thread while the pool's creator waits, right after the first workers, so that it is the
// snapshot they were.
class DirectLauncher : public Launcher {
public:
    DirectLauncher(Segment &seg, int event_fd, bool later_through_server)
        : seg_(seg), event_fd_(event_fd), later_through_server_(later_through_server) {}

    pid_t start_worker(std::uint32_t slot) final {
        if (!reaper_ && discards_statuses_) start_server();
        if (reaper_) return reaper_->start_worker(slot);
        pid_t pid = fork_worker(slot);
        direct_.insert(pid);
        return pid;
    }

    void first_workers_started() final {
        if (!reaper_ && later_through_server_) start_server();
    }

    int wait_status(pid_t pid) final {
        if (reaper_ && !direct_.count(pid)) return reaper_->wait_status(pid);
        direct_.erase(pid);
        int status = 0;
        // ECHILD: the system reaped it already, because the program ignores SIGCHLD.
        if (retry_eintr([&] { return waitpid(pid, &status, __WALL); }) < 0) return kStatusUnknown;
        return status;
    }

    bool reaped_elsewhere(pid_t pid) const noexcept final { return reaper_ && !direct_.count(pid); }

protected:
    // Forks; the child becomes the worker (never returns there). The library's own locks are held across
    // fork() by its atfork handlers (src/common/fork_guard.hpp).
    virtual pid_t fork_worker(std::uint32_t slot) = 0;

    Segment &seg_;
    const int event_fd_;

private:
    void start_server() {
        reaper_ = ForkServerClient::start_private([this](std::uint32_t s) { return fork_worker(s); });
    }

    const bool later_through_server_;
    const bool discards_statuses_ = program_discards_child_statuses();
    std::unique_ptr<ForkServerClient> reaper_;
    std::set<pid_t> direct_;  // this program's own children among the workers
};

class ForkLauncher final : public DirectLauncher {
public:
    ForkLauncher(Segment &seg, int event_fd) : DirectLauncher(seg, event_fd, true) {}

private:
    pid_t fork_worker(std::uint32_t slot) override {
        WorkerConfig wc{slot, getpid(), event_fd_};
        pid_t pid = fork_with_hooks();
        if (pid == 0) run_worker(seg_, wc);
        if (pid < 0) throw_errno("fork");
        return pid;
    }
};

class SpawnLauncher final : public DirectLauncher {
public:
    SpawnLauncher(Segment &seg, int event_fd, std::string program, std::vector<std::string> args)
        : DirectLauncher(seg, event_fd, false), program_(std::move(program)), args_(std::move(args)) {
        if (!program_.empty()) return;
        char path[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        if (n <= 0) throw_errno("readlink /proc/self/exe");
        program_.assign(path, static_cast<std::size_t>(n));
    }

private:
    pid_t fork_worker(std::uint32_t slot) override {
        // Everything the child needs is built before the fork: from there to exec only async-signal-safe calls.
        std::string entry = "CFUTURES_WORKER=" + std::to_string(seg_.fd()) + "," + std::to_string(slot) + "," +
                            std::to_string(getpid()) + "," + std::to_string(event_fd_);
        std::vector<char *> envp;
        for (char **e = environ; *e; ++e)
            if (std::strncmp(*e, "CFUTURES_WORKER=", 16) != 0) envp.push_back(*e);
        envp.push_back(entry.data());
        envp.push_back(nullptr);
        std::vector<char *> argv{program_.data()};
        for (std::string &arg : args_) argv.push_back(arg.data());
        argv.push_back(nullptr);
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            fcntl(seg_.fd(), F_SETFD, 0);
            fcntl(event_fd_, F_SETFD, 0);
            execve(program_.c_str(), argv.data(), envp.data());
            _exit(127);
        }
        if (pid < 0) throw_errno("fork");
        return pid;
    }

    std::string program_;
    std::vector<std::string> args_;
};

class ForkServerLauncher final : public Launcher {
public:
    ForkServerLauncher(Segment &seg, int event_fd) : client_(ForkServerClient::connect(seg, event_fd)) {}
    pid_t start_worker(std::uint32_t slot) override { return client_->start_worker(slot); }
    int wait_status(pid_t pid) override { return client_->wait_status(pid); }
    void first_workers_started() override {}
    bool reaped_elsewhere(pid_t) const noexcept override { return true; }

private:
    std::unique_ptr<ForkServerClient> client_;
};

}  // namespace

std::unique_ptr<Launcher> make_fork_launcher(Segment &seg, int event_fd) {
    return std::make_unique<ForkLauncher>(seg, event_fd);
}

std::unique_ptr<Launcher> make_spawn_launcher(Segment &seg, int event_fd, std::string program,
                                              std::vector<std::string> args) {
    return std::make_unique<SpawnLauncher>(seg, event_fd, std::move(program), std::move(args));
}

std::unique_ptr<Launcher> make_forkserver_launcher(Segment &seg, int event_fd) {
    return std::make_unique<ForkServerLauncher>(seg, event_fd);
}

}  // namespace cf::core
