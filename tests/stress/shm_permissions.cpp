// SPDX-License-Identifier: MIT
// Shared memory permissions: what another local user can reach of a running process pool.
//
// Checked: the pool creates no named object (nothing new in /dev/shm or in its TMPDIR); its one shared-memory
// object, an anonymous memfd, has mode 0600; and a process of another user (a child that drops to uid/gid 65534,
// "nobody") can open neither the memfd through /proc/<pid>/fd nor the pool's memory through /proc/<pid>/mem,
// nor read /proc/<pid>/maps; it can see the processes themselves (ps). The other-user part needs root to
// change users; without root this program exits 77, which ctest reports as skipped.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <cfutures/cfutures.h>
#include <cfutures/cfutures.hpp>

#include "process_probe.hpp"

namespace {

int pid_task(cf_task_ctx *ctx, const void *, size_t, void *) {
    std::int32_t pid = static_cast<std::int32_t>(getpid());
    return cf_task_return(ctx, &pid, sizeof pid);
}
CF_TASK("shm_permissions.pid", pid_task);

int failures = 0;
void expect(bool ok, const std::string &what) {
    std::printf("%s: %s\n", ok ? "PASS" : "FAIL", what.c_str());
    if (!ok) ++failures;
}

// The descriptor of this process's pool memfd, or -1.
int pool_memfd() {
    for (const std::string &name : cf_stress::directory_entries("/proc/self/fd")) {
        char target[PATH_MAX] = {0};
        if (readlink(("/proc/self/fd/" + name).c_str(), target, sizeof target - 1) <= 0) continue;
        if (std::strstr(target, "memfd:cfutures-pool")) return std::atoi(name.c_str());
    }
    return -1;
}

// In a child that has become another user: 0 when every access to the pool's process was refused.
int probe_as_other_user(pid_t owner, int fd, pid_t worker) {
    if (setgid(65534) != 0 || setuid(65534) != 0) {
        std::perror("  becoming uid 65534");
        return 10;
    }
    int refused = 0, tried = 0;
    auto refuse = [&](const std::string &path, int flags) {
        ++tried;
        int f = open(path.c_str(), flags);
        if (f < 0 && (errno == EACCES || errno == EPERM)) {
            ++refused;
        } else {
            std::printf("  another user could open %s (%s)\n", path.c_str(), f >= 0 ? "opened" : std::strerror(errno));
            std::fflush(stdout);
            if (f >= 0) close(f);
        }
    };
    for (pid_t pid : {owner, worker}) {
        std::string proc = "/proc/" + std::to_string(pid);
        refuse(proc + "/fd/" + std::to_string(fd), O_RDONLY);
        refuse(proc + "/fd/" + std::to_string(fd), O_RDWR);
        refuse(proc + "/mem", O_RDONLY);
        refuse(proc + "/maps", O_RDONLY);
        refuse(proc + "/map_files", O_RDONLY | O_DIRECTORY);
    }
    // What another user can see: that the processes exist.
    bool visible = access(("/proc/" + std::to_string(worker) + "/stat").c_str(), R_OK) == 0;
    return refused == tried && visible ? 0 : 11;
}

}  // namespace

int main() {
    cf::process_worker_entry();
    char tmp_template[] = "/tmp/cf-shm-permissions-XXXXXX";
    const char *tmpdir = mkdtemp(tmp_template);
    if (!tmpdir) return 2;
    setenv("TMPDIR", tmpdir, 1);
    auto shm_before = cf_stress::shm_entries();

    cf::ProcessPoolExecutor::Options o;
    o.max_workers = 1;
    cf::ProcessPoolExecutor pool(o);
    cf::FutureBase who = pool.submit_named("shm_permissions.pid", {});
    std::string_view r = who.bytes();  // valid while `who` lives
    std::int32_t worker = 0;
    std::memcpy(&worker, r.data(), sizeof worker);

    expect(cf_stress::shm_entries() == shm_before, "no new entry in /dev/shm");
    expect(cf_stress::directory_entries(tmpdir).empty(), "no file in the program's TMPDIR");
    int fd = pool_memfd();
    expect(fd >= 0, "the pool's memory is an anonymous memfd (memfd:cfutures-pool)");
    struct stat st {};
    expect(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0600, "its mode is 0600");
    expect(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "it is close-on-exec (a program the task starts cannot inherit it)");

    int rc = 0;
    if (geteuid() != 0) {
        std::printf("SKIP: the other-user checks need root (to become uid 65534)\n");
        rc = 77;
    } else {
        pid_t self = getpid();
        pid_t child = fork();
        if (child == 0) _exit(probe_as_other_user(self, fd, worker));
        int status = 0;
        waitpid(child, &status, 0);
        expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "another user cannot open the memfd (/proc/<pid>/fd), /proc/<pid>/mem, maps or map_files of the "
               "program or its worker, and can see that the processes exist");
    }
    rmdir(tmpdir);
    std::printf("%d failed\n", failures);
    return failures ? 1 : rc;
}
