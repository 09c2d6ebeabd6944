/*
 * ftbench-probe: a tiny, long-lived helper that forks, execs and waits for the commands
 * ftbench measures, and reports each one's resource usage.
 *
 * Why: on Linux a child's ru_maxrss starts at the high-water mark of the process it was
 * forked from, so a Python harness that forks /bin/true would read its own RSS. Forking from
 * this small program keeps that floor at a few hundred KiB. Staying alive between samples
 * (a "zygote") keeps the per-sample cost at one fork+exec, like hyperfine's.
 *
 * Protocol, on stdin/stdout:
 *   request  = u32 length (native byte order) + payload of NUL-terminated fields:
 *              cwd, log path, program path, argc, argv[0..argc), envc, env[0..envc)
 *   replies  = "P <pid>\n" right after fork, then
 *              "R <wall_ns> <utime_us> <stime_us> <maxrss_kib> <wait_status>\n" after wait4.
 * The child runs in a new session (so the harness can kill its whole process group), with
 * stdin from /dev/null and stdout+stderr appended to the log file. EOF on stdin ends it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int read_full(int fd, void *buf, size_t len) {
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n == 0) return 0;
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

static void write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            _exit(3);
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Split the payload into fields; returns the number of fields or -1. */
static int split(char *payload, size_t len, char **fields, int max) {
    int count = 0;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (payload[i] == '\0') {
            if (count == max) return -1;
            fields[count++] = payload + start;
            start = i + 1;
        }
    }
    return start == len ? count : -1;
}

static void run_child(char *cwd, char *log, char *program, char **argv, char **envp) {
    setsid();
    int out = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (out < 0) _exit(126);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
    signal(SIGPIPE, SIG_DFL);
    if (chdir(cwd) != 0) {
        dprintf(2, "ftbench-probe: cannot enter %s: %s\n", cwd, strerror(errno));
        _exit(126);
    }
    execve(program, argv, envp);
    dprintf(2, "ftbench-probe: cannot run %s: %s\n", program, strerror(errno));
    _exit(127);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    enum { MAX_FIELDS = 65536 };
    char **fields = malloc(sizeof(char *) * MAX_FIELDS);
    if (fields == NULL) return 1;
    for (;;) {
        uint32_t len;
        int got = read_full(0, &len, sizeof len);
        if (got <= 0) return got == 0 ? 0 : 1;
        char *payload = malloc((size_t)len + 1);
        if (payload == NULL || read_full(0, payload, len) <= 0) return 1;
        int n = split(payload, len, fields, MAX_FIELDS);
        if (n < 5) return 2;
        int argc = atoi(fields[3]);
        if (argc < 1 || 4 + argc >= n) return 2;
        int envc = atoi(fields[4 + argc]);
        if (envc < 0 || 5 + argc + envc != n) return 2;
        char **argv = malloc(sizeof(char *) * (size_t)(argc + 1));
        char **envp = malloc(sizeof(char *) * (size_t)(envc + 1));
        if (argv == NULL || envp == NULL) return 1;
        memcpy(argv, fields + 4, sizeof(char *) * (size_t)argc);
        argv[argc] = NULL;
        memcpy(envp, fields + 5 + argc, sizeof(char *) * (size_t)envc);
        envp[envc] = NULL;

        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid_t pid = fork();
        if (pid == 0) run_child(fields[0], fields[1], fields[2], argv, envp);
        char line[160];
        if (pid < 0) {
            int k = snprintf(line, sizeof line, "E fork failed: %s\n", strerror(errno));
            write_all(1, line, (size_t)k);
        } else {
            int k = snprintf(line, sizeof line, "P %d\n", (int)pid);
            write_all(1, line, (size_t)k);
            int status = 0;
            struct rusage ru;
            memset(&ru, 0, sizeof ru);
            while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
            }
            clock_gettime(CLOCK_MONOTONIC, &t1);
            long long wall = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
                             (t1.tv_nsec - t0.tv_nsec);
            long long ut = (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
            long long st = (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
            k = snprintf(line, sizeof line, "R %lld %lld %lld %ld %d\n", wall, ut, st,
                         ru.ru_maxrss, status);
            write_all(1, line, (size_t)k);
        }
        free(argv);
        free(envp);
        free(payload);
    }
}
