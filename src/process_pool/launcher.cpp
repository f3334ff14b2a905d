#include "launcher.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "cfutures/errors.hpp"
#include "common/eintr.hpp"
#include "forkserver.hpp"
#include "segment.hpp"
#include "worker.hpp"

extern char **environ;

namespace cf::detail {
namespace {

[[noreturn]] void throw_errno(const std::string &what) { throw SystemError(what + ": " + std::strerror(errno)); }

bool program_discards_child_statuses() {
    struct sigaction chld {};
    sigaction(SIGCHLD, nullptr, &chld);
    return chld.sa_handler == SIG_IGN || (chld.sa_flags & SA_NOCLDWAIT);
}

// Fork and spawn: the workers are this program's children, or a private server's: always under fork, and where
// the program ignores SIGCHLD (then the system would discard how they ended). The server is forked at the
// first start, on the supervisor thread while the pool's creator waits, so that it is the snapshot a fork
// pool's workers would have been; it stays single-threaded, so that a worker started later (in place of one
// that died or retired) never comes from a fork of the multithreaded program.
class DirectLauncher : public Launcher {
public:
    DirectLauncher(Segment &seg, int event_fd, bool through_server)
        : seg_(seg), event_fd_(event_fd), through_server_(through_server || program_discards_child_statuses()) {}

    pid_t start_worker(std::uint32_t slot) final {
        if (!reaper_ && through_server_)
            reaper_ = ForkServerClient::start_private([this](std::uint32_t s) { return fork_worker(s); });
        if (reaper_) return reaper_->start_worker(slot);
        return fork_worker(slot);
    }

    int wait_status(pid_t pid) final {
        if (reaper_) return reaper_->wait_status(pid);
        int status = 0;
        // ECHILD: the system reaped it already, because the program ignores SIGCHLD.
        if (retry_eintr([&] { return waitpid(pid, &status, __WALL); }) < 0) return kStatusUnknown;
        return status;
    }

    bool reaped_elsewhere() const noexcept final { return reaper_ != nullptr; }

protected:
    // Forks; the child becomes the worker (never returns there). The library's own locks are held across
    // fork() by its atfork handlers (src/common/fork_guard.hpp).
    virtual pid_t fork_worker(std::uint32_t slot) = 0;

    Segment &seg_;
    const int event_fd_;

private:
    const bool through_server_;
    std::unique_ptr<ForkServerClient> reaper_;
};

class ForkLauncher final : public DirectLauncher {
public:
    ForkLauncher(Segment &seg, int event_fd) : DirectLauncher(seg, event_fd, true) {}

private:
    pid_t fork_worker(std::uint32_t slot) override {
        WorkerConfig wc{slot, getpid(), event_fd_};
        pid_t pid = fork();
        if (pid == 0) run_worker(seg_, wc);
        if (pid < 0) throw_errno("fork");
        return pid;
    }
};

class SpawnLauncher final : public DirectLauncher {
public:
    SpawnLauncher(Segment &seg, int event_fd, std::string program)
        : DirectLauncher(seg, event_fd, false), program_(std::move(program)) {
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
        char *argv[] = {const_cast<char *>(program_.c_str()), nullptr};
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            fcntl(seg_.fd(), F_SETFD, 0);
            fcntl(event_fd_, F_SETFD, 0);
            execve(program_.c_str(), argv, envp.data());
            _exit(127);
        }
        if (pid < 0) throw_errno("fork");
        return pid;
    }

    std::string program_;
};

class ForkServerLauncher final : public Launcher {
public:
    ForkServerLauncher(Segment &seg, int event_fd) : client_(ForkServerClient::connect(seg, event_fd)) {}
    pid_t start_worker(std::uint32_t slot) override { return client_->start_worker(slot); }
    int wait_status(pid_t pid) override { return client_->wait_status(pid); }
    bool reaped_elsewhere() const noexcept override { return true; }

private:
    std::unique_ptr<ForkServerClient> client_;
};

}  // namespace

std::unique_ptr<Launcher> make_fork_launcher(Segment &seg, int event_fd) {
    return std::make_unique<ForkLauncher>(seg, event_fd);
}

std::unique_ptr<Launcher> make_spawn_launcher(Segment &seg, int event_fd, std::string program) {
    return std::make_unique<SpawnLauncher>(seg, event_fd, std::move(program));
}

std::unique_ptr<Launcher> make_forkserver_launcher(Segment &seg, int event_fd) {
    return std::make_unique<ForkServerLauncher>(seg, event_fd);
}

}  // namespace cf::detail
