// SPDX-License-Identifier: MIT
#include "common/system.hpp"
#include "process_pool/forkserver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/eintr.hpp"
#include "common/fork_guard.hpp"
#include "common/fork_hooks.hpp"
#include "registry/registry.hpp"
#include "process_pool/segment.hpp"
#include "process_pool/worker.hpp"

namespace cf::core {
namespace {

enum : std::int32_t { kStarted = 1, kEnded = 2 };

struct StartRequest {
    std::uint32_t slot;
    std::int32_t parent;  // the program's pid, for the worker's notion of its pool
};


// Sends one byte of payload plus descriptors.
bool send_fds(int sock, const int *fds, int n) {
    char byte = 0;
    iovec iov{&byte, 1};
    char control[CMSG_SPACE(sizeof(int) * 4)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    return retry_eintr([&] { return sendmsg(sock, &msg, MSG_NOSIGNAL); }) == 1;
}

// Receives descriptors sent by send_fds; returns how many arrived (0 at end of stream).
int receive_fds(int sock, int *fds, int max) {
    char byte;
    iovec iov{&byte, 1};
    char control[CMSG_SPACE(sizeof(int) * 4)] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (retry_eintr([&] { return recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); }) <= 0) return 0;
    cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return 0;
    int n = static_cast<int>((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    if (n > max) n = max;
    std::memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
    return n;
}

// ---- the server process

struct Connection {
    int sock, memfd, event_fd;
};

class Server {
public:
    Server(int control, int death) : control_(control), death_(death) {}
    // A private server: one pool's connection, workers started by launch; it ends when that connection closes.
    Server(int conn, std::function<pid_t(std::uint32_t)> launch)
        : control_(-1), death_(-1), launch_(std::move(launch)) {
        conns_.push_back(Connection{conn, -1, -1});
    }

    [[noreturn]] void run() {
        // The server must see its workers end whatever the program did with SIGCHLD (a daemon may ignore it,
        // and then the system would reap them unseen).
        signal(SIGCHLD, SIG_DFL);
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        sigprocmask(SIG_BLOCK, &chld, nullptr);
        sigchld_ = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
        for (;;) {
            std::vector<pollfd> fds{{death_, POLLIN, 0}, {control_, POLLIN, 0}, {sigchld_, POLLIN, 0}};
            for (const Connection &c : conns_) fds.push_back(pollfd{c.sock, POLLIN, 0});
            if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) _exit(1);
            if (fds[0].revents) shut_down();  // the program is gone
            if (fds[1].revents) accept_pool();
            if (fds[2].revents) reap();
            for (std::size_t i = 3; i < fds.size(); ++i)
                if (fds[i].revents) serve(i - 3);
            drop_closed();
        }
    }

private:
    [[noreturn]] void shut_down() {
        for (const auto &[pid, conn] : children_) kill(pid, SIGKILL);
        _exit(0);
    }

    void accept_pool() {
        int fds[3];
        if (receive_fds(control_, fds, 3) != 3) shut_down();  // the program closed its end
        conns_.push_back(Connection{fds[0], fds[1], fds[2]});
    }

    void serve(std::size_t i) {
        Connection &c = conns_[i];
        StartRequest req;
        if (retry_eintr([&] { return read(c.sock, &req, sizeof req); }) != static_cast<ssize_t>(sizeof req)) {
            // The pool is gone: so are its workers.
            for (auto &[pid, conn] : children_)
                if (conn == c.sock) kill(pid, SIGKILL);
            closing_.push_back(i);
            return;
        }
        pid_t pid;
        if (launch_) {
            try {
                pid = launch_(req.slot);
            } catch (...) {
                pid = -1;
            }
        } else {
            pid_t me = getpid();
            pid = fork_with_hooks();
            if (pid == 0) become_worker(c, req, me);
        }
        ForkServerClientMessage msg{kStarted, pid, pid < 0 ? errno : 0};
        if (pid > 0) children_[pid] = c.sock;
        ssize_t n = write(c.sock, &msg, sizeof msg);
        (void)n;
    }

    [[noreturn]] void become_worker(const Connection &c, const StartRequest &req, pid_t server) {
        close(control_);
        close(death_);
        close(sigchld_);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        try {
            std::shared_ptr<Segment> seg = Segment::attach(c.memfd);
            WorkerConfig config{req.slot, server, c.event_fd};
            run_worker(*seg, config);
        } catch (...) {
        }
        _exit(2);
    }

    void reap() {
        signalfd_siginfo info;
        while (read(sigchld_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        }
        int status;
        pid_t pid;
        while ((pid = retry_eintr([&] { return waitpid(-1, &status, WNOHANG); })) > 0) {
            auto it = children_.find(pid);
            if (it == children_.end()) continue;
            ForkServerClientMessage msg{kEnded, pid, status};
            ssize_t n = write(it->second, &msg, sizeof msg);
            (void)n;
            children_.erase(it);
        }
    }

    void drop_closed() {
        for (auto i = closing_.rbegin(); i != closing_.rend(); ++i) {
            Connection &c = conns_[*i];
            close(c.sock);
            if (c.memfd >= 0) close(c.memfd);
            if (c.event_fd >= 0) close(c.event_fd);
            conns_.erase(conns_.begin() + static_cast<std::ptrdiff_t>(*i));
        }
        closing_.clear();
        if (launch_ && conns_.empty()) _exit(0);  // a private server's pool is gone
    }

    struct ForkServerClientMessage {
        std::int32_t kind, pid, value;
    };

    int control_, death_, sigchld_ = -1;
    std::function<pid_t(std::uint32_t)> launch_;  // a private server's way to start a worker
    std::vector<Connection> conns_;
    std::vector<std::size_t> closing_;
    std::map<pid_t, int> children_;  // worker pid -> its pool's connection
};

// The program's side of the server: its control socket. Made once, kept for the program's life. A forked child
// of the program lets go of its parent's server (which serves the parent) and makes its own when it needs one.
struct ServerHandle {
    std::mutex mu;
    int control = -1;
    int death = -1;  // the write end of the pipe whose end of file tells the server the program is gone
};

ServerHandle &server_handle() {
    static ServerHandle *h = [] {
        auto *made = new ServerHandle();
        at_fork([] { server_handle().mu.lock(); }, [] { server_handle().mu.unlock(); },
                [] {
                    ServerHandle &inherited = server_handle();
                    if (inherited.control >= 0) close(inherited.control);
                    if (inherited.death >= 0) close(inherited.death);
                    inherited.control = inherited.death = -1;
                    inherited.mu.unlock();
                });
        return made;
    }();
    return *h;
}

// Made while the library loads, not on a first use that could race with a fork() (see fork_guard.hpp).
const bool server_handle_made = (server_handle(), true);

int control_socket() {
    ServerHandle &h = server_handle();
    {
        std::lock_guard<std::mutex> lock(h.mu);
        if (h.control >= 0) return h.control;
    }
    // The server is forked without the handle's lock (the atfork handlers take it around every fork).
    int sv[2], death[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
    if (pipe2(death, O_CLOEXEC) != 0) {
        int error = errno;
        close(sv[0]), close(sv[1]);
        errno = error;
        throw_errno("pipe2");
    }
    pid_t pid = fork_with_hooks();
    if (pid == 0) {
        // Keep only what the server needs (at 3 and 4): the program's other descriptors must not live on in
        // the server or its workers (a pipe held open there would never see its end of file).
        int control_copy = fcntl(sv[1], F_DUPFD, 10), death_copy = fcntl(death[0], F_DUPFD, 10);
        dup2(control_copy, 3);
        dup2(death_copy, 4);
        syscall(SYS_close_range, 5u, ~0u, 0u);
        setsid();  // no terminal signals meant for the program
        Server(3, 4).run();
    }
    if (pid < 0) {
        int error = errno;
        close(sv[0]), close(sv[1]), close(death[0]), close(death[1]);
        errno = error;
        throw_errno("fork of the forkserver");
    }
    close(sv[1]);
    close(death[0]);
    std::lock_guard<std::mutex> lock(h.mu);
    if (h.control >= 0) {  // another thread started one meanwhile: this one goes
        close(sv[0]);
        close(death[1]);
        kill(pid, SIGKILL);
        retry_eintr([&] { return waitpid(pid, nullptr, 0); });
        return h.control;
    }
    // death[1] stays open (close-on-exec) for as long as the program runs.
    h.control = sv[0];
    h.death = death[1];
    return h.control;
}

}  // namespace

std::unique_ptr<ForkServerClient> ForkServerClient::connect(const Segment &seg, int event_fd) {
    int control = control_socket();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
    int fds[3] = {sv[1], seg.fd(), event_fd};
    {
        std::lock_guard<std::mutex> lock(server_handle().mu);
        if (!send_fds(control, fds, 3)) {
            close(sv[0]);
            close(sv[1]);
            throw_errno("handing the pool to the forkserver");
        }
    }
    close(sv[1]);
    return std::unique_ptr<ForkServerClient>(new ForkServerClient(sv[0]));
}

std::unique_ptr<ForkServerClient> ForkServerClient::start_private(std::function<pid_t(std::uint32_t)> launch) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) throw_errno("socketpair");
    pid_t pid = fork_with_hooks();
    if (pid == 0) {
        // Dies with the thread that forked it (the pool's supervisor), taking the workers along.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(sv[0]);
        Server(sv[1], std::move(launch)).run();
    }
    if (pid < 0) {
        int error = errno;
        close(sv[0]), close(sv[1]);
        errno = error;
        throw_errno("fork of the pool's reaper");
    }
    close(sv[1]);
    return std::unique_ptr<ForkServerClient>(new ForkServerClient(sv[0], pid));
}

ForkServerClient::~ForkServerClient() {
    close(conn_);  // the server kills what is left of its workers and exits
    if (private_server_ > 0) retry_eintr([&] { return waitpid(private_server_, nullptr, __WALL); });
}

ForkServerClient::Message ForkServerClient::receive() {
    Message m{};
    ssize_t n;
    do {
        n = read(conn_, &m, sizeof m);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof m)) throw SystemError("the forkserver went away");
    return m;
}

pid_t ForkServerClient::start_worker(std::uint32_t slot) {
    StartRequest req{slot, static_cast<std::int32_t>(getpid())};
    if (retry_eintr([&] { return write(conn_, &req, sizeof req); }) != static_cast<ssize_t>(sizeof req))
        throw_errno("asking the forkserver");
    for (;;) {
        Message m = receive();
        if (m.kind == kEnded) {
            ended_[m.pid] = m.value;
            continue;
        }
        if (m.pid <= 0) {
            errno = m.value;
            throw_errno("fork in the forkserver");
        }
        return m.pid;
    }
}

int ForkServerClient::wait_status(pid_t pid) {
    for (;;) {
        auto it = ended_.find(pid);
        if (it != ended_.end()) {
            int status = it->second;
            ended_.erase(it);
            return status;
        }
        Message m = receive();
        if (m.kind == kEnded) ended_[m.pid] = m.value;
    }
}

}  // namespace cf::core
