/* SPDX-License-Identifier: MIT */
/* What the plain-C process-pool tests check after a pool has gone: this process's unreaped children and its
 * open descriptors, read from /proc. */
#ifndef CFUTURES_TESTS_PROCESS_CHECKS_H
#define CFUTURES_TESTS_PROCESS_CHECKS_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* Children of this process that have ended but were never reaped (the forkserver, a live child, is fine). */
CHECK_MAYBE_UNUSED static int zombie_children(void) {
    char path[300], line[512];
    int zombies = 0;
    DIR *proc = opendir("/proc");
    struct dirent *e;
    while (proc && (e = readdir(proc)) != NULL) {
        FILE *f;
        char state = 0;
        int ppid = 0;
        const char *close_paren;
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        if (!(f = fopen(path, "r"))) continue;
        if (fgets(line, sizeof line, f) && (close_paren = strrchr(line, ')')) != NULL &&
            sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2 && ppid == getpid() && state == 'Z')
            ++zombies;
        fclose(f);
    }
    if (proc) closedir(proc);
    return zombies;
}

/* How many descriptors this process has open. */
CHECK_MAYBE_UNUSED static int open_descriptors(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n - 1; /* the directory's own descriptor */
}

#endif /* CFUTURES_TESTS_PROCESS_CHECKS_H */
