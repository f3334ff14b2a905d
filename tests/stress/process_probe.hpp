// SPDX-License-Identifier: MIT
// What the stress programs measure about the process they run in: open descriptors, resident memory, children
// not yet reaped, and the entries of a directory. Linux /proc only.
#pragma once

#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

namespace cf_stress {

inline std::set<std::string> directory_entries(const std::string &path) {
    std::set<std::string> names;
    if (DIR *d = opendir(path.c_str())) {
        while (dirent *e = readdir(d)) {
            std::string name = e->d_name;
            if (name != "." && name != "..") names.insert(name);
        }
        closedir(d);
    }
    return names;
}

// The entries of /dev/shm that a run of the library could account for: all of them, but for those of programs
// the stress tests never start and that may run beside them on the same machine (Open MPI's shared-memory
// transport, Python's multiprocessing semaphores and shared_memory blocks). The library itself names nothing
// there (it maps memfds), so any other new entry is a finding.
inline std::set<std::string> shm_entries() {
    static const char *const others[] = {"vader_segment.", "sem.mp-", "psm_"};
    std::set<std::string> names = directory_entries("/dev/shm");
    for (auto it = names.begin(); it != names.end();) {
        bool foreign = false;
        for (const char *prefix : others) foreign = foreign || it->rfind(prefix, 0) == 0;
        it = foreign ? names.erase(it) : std::next(it);
    }
    return names;
}

// Descriptors open in this process (the one opendir uses to list them is not counted).
inline std::size_t open_fds() { return directory_entries("/proc/self/fd").size() - 1; }

// "fd -> target" for each open descriptor, for a report when counts differ.
inline std::string describe_fds() {
    std::string out;
    for (const std::string &name : directory_entries("/proc/self/fd")) {
        char target[256] = {0};
        ssize_t n = readlink(("/proc/self/fd/" + name).c_str(), target, sizeof target - 1);
        out += "  " + name + " -> " + (n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?") + "\n";
    }
    return out;
}

inline long resident_kib() {
    std::ifstream statm("/proc/self/statm");
    long pages_total = 0, pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Processes whose parent is this one, with their state letter (Z: a zombie, not yet reaped).
struct Child {
    pid_t pid;
    char state;
};
inline std::vector<Child> children() {
    std::vector<Child> out;
    pid_t self = getpid();
    for (const std::string &name : directory_entries("/proc")) {
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat("/proc/" + name + "/stat");
        std::string line;
        if (!std::getline(stat, line)) continue;
        // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
        std::size_t close = line.rfind(')');
        if (close == std::string::npos) continue;
        char state = 0;
        long ppid = 0;
        if (std::sscanf(line.c_str() + close + 1, " %c %ld", &state, &ppid) != 2) continue;
        if (ppid == self) out.push_back({static_cast<pid_t>(std::atol(name.c_str())), state});
    }
    return out;
}

inline bool process_exists(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    return stat.good();
}

}  // namespace cf_stress
