/*
 * ftbench-probe: fork, exec and wait for one command, then report its resource usage.
 *
 * Why a separate tiny program: on Linux a child's ru_maxrss starts at the high-water mark of
 * the process it was forked from, so a Python harness that forks /bin/true would read its own
 * RSS. Forking from this small program keeps that floor at a few hundred KiB.
 *
 * Usage: ftbench-probe RESULT_FD DIR COMMAND [ARG...]
 * Changes to DIR, runs COMMAND, and writes to RESULT_FD one line: "<wall_ns> <utime_us> <stime_us> <maxrss_kib> <wait_status>\n"
 * Exits with the command's exit code (128+N when killed by signal N, 127 when exec failed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: ftbench-probe RESULT_FD DIR COMMAND [ARG...]\n");
        return 2;
    }
    int result_fd = atoi(argv[1]);
    if (chdir(argv[2]) != 0) {
        fprintf(stderr, "ftbench-probe: cannot enter %s: %s\n", argv[2], strerror(errno));
        return 126;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "ftbench-probe: fork failed: %s\n", strerror(errno));
        return 126;
    }
    if (pid == 0) {
        close(result_fd);
        execvp(argv[3], argv + 3);
        fprintf(stderr, "ftbench-probe: cannot run %s: %s\n", argv[3], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "ftbench-probe: wait failed: %s\n", strerror(errno));
            return 126;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long wall_ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    long long ut = (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
    long long st = (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
    dprintf(result_fd, "%lld %lld %lld %ld %d\n", wall_ns, ut, st, ru.ru_maxrss, status);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 126;
}
