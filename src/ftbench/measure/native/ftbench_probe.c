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
 *   request = u32 length (native byte order) + payload of NUL-terminated fields:
 *             timeout_ms (0: none), cwd, log path, program path, argc, argv[0..argc), envc,
 *             env[0..envc)
 *   reply   = "R <wall_ns> <utime_us> <stime_us> <maxrss_kib> <wait_status> <flag>\n",
 *             flag 0: ran, 1: timed out, 2: cancelled (killed, or never started)
 * Requests may be queued (the harness pipelines samples); they run one at a time, in order.
 * The child runs in a new session with stdin from /dev/null and stdout+stderr appended to
 * the log file. On timeout the child's whole process group is killed, so no grandchild
 * survives. SIGUSR1 (the harness's Ctrl-C, or stopping after a failure) kills the running
 * group and cancels every queued request until a request whose only field is "reset".
 * SIGINT is ignored here (the harness decides); EOF on stdin ends the helper.
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
    signal(SIGINT, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
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
    signal(SIGINT, SIG_IGN);
    /* SIGCHLD and SIGUSR1 stay blocked and are taken with sigtimedwait: no handler races. */
    sigset_t waited;
    sigemptyset(&waited);
    sigaddset(&waited, SIGCHLD);
    sigaddset(&waited, SIGUSR1);
    sigprocmask(SIG_BLOCK, &waited, NULL);
    enum { MAX_FIELDS = 65536 };
    char **fields = malloc(sizeof(char *) * MAX_FIELDS);
    if (fields == NULL) return 1;
    int cancelled = 0;
    for (;;) {
        uint32_t len;
        int got = read_full(0, &len, sizeof len);
        if (got <= 0) return got == 0 ? 0 : 1;
        char *payload = malloc((size_t)len + 1);
        if (payload == NULL || read_full(0, payload, len) <= 0) return 1;
        int n = split(payload, len, fields, MAX_FIELDS);
        struct timespec t0, t1, zero = {0, 0};
        int sig;
        if (n == 1 && strcmp(fields[0], "reset") == 0) {
            while (sigtimedwait(&waited, NULL, &zero) > 0) {
                /* the harness has collected every reply: drop what is left */
            }
            cancelled = 0;
            free(payload);
            continue;
        }
        if (n < 6) return 2;
        long timeout_ms = atol(fields[0]);
        char **req = fields + 1; /* cwd, log, program, argc, ... */
        n -= 1;
        int argc = atoi(req[3]);
        if (argc < 1 || 4 + argc >= n) return 2;
        int envc = atoi(req[4 + argc]);
        if (envc < 0 || 5 + argc + envc != n) return 2;
        char **argv = malloc(sizeof(char *) * (size_t)(argc + 1));
        char **envp = malloc(sizeof(char *) * (size_t)(envc + 1));
        if (argv == NULL || envp == NULL) return 1;
        memcpy(argv, req + 4, sizeof(char *) * (size_t)argc);
        argv[argc] = NULL;
        memcpy(envp, req + 5 + argc, sizeof(char *) * (size_t)envc);
        envp[envc] = NULL;

        while ((sig = sigtimedwait(&waited, NULL, &zero)) > 0) {
            if (sig == SIGUSR1) cancelled = 1; /* else: SIGCHLD left over from the last one */
        }
        char line[200];
        if (cancelled) {
            write_all(1, "R 0 0 0 0 0 2\n", 14);
            free(argv);
            free(envp);
            free(payload);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid_t pid = fork();
        if (pid == 0) run_child(req[0], req[1], req[2], argv, envp);
        if (pid < 0) {
            int k = snprintf(line, sizeof line, "E fork failed: %s\n", strerror(errno));
            write_all(1, line, (size_t)k);
        } else {
            int status = 0, killed = 0, flag = 0;
            struct rusage ru;
            memset(&ru, 0, sizeof ru);
            for (;;) {
                pid_t got = wait4(pid, &status, WNOHANG, &ru);
                if (got == pid || (got < 0 && errno != EINTR)) break;
                struct timespec left, now, *limit = NULL;
                if (timeout_ms > 0 && !killed) {
                    clock_gettime(CLOCK_MONOTONIC, &now);
                    long long spent = (long long)(now.tv_sec - t0.tv_sec) * 1000000000LL +
                                      (now.tv_nsec - t0.tv_nsec);
                    long long rest = timeout_ms * 1000000LL - spent;
                    if (rest < 0) rest = 0;
                    left.tv_sec = (time_t)(rest / 1000000000LL);
                    left.tv_nsec = (long)(rest % 1000000000LL);
                    limit = &left;
                }
                sig = limit ? sigtimedwait(&waited, NULL, limit) : sigwaitinfo(&waited, NULL);
                int expired = sig < 0 && errno == EAGAIN;
                if (sig == SIGUSR1) cancelled = 1;
                if ((expired || sig == SIGUSR1) && !killed) {
                    flag = expired ? 1 : 2;
                    kill(-pid, SIGKILL); /* the child leads its own process group */
                    kill(pid, SIGKILL);
                    killed = 1;
                }
            }
            clock_gettime(CLOCK_MONOTONIC, &t1);
            long long wall = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
                             (t1.tv_nsec - t0.tv_nsec);
            long long ut = (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec;
            long long st = (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec;
            int k = snprintf(line, sizeof line, "R %lld %lld %lld %ld %d %d\n", wall, ut, st,
                             ru.ru_maxrss, status, flag);
            write_all(1, line, (size_t)k);
        }
        free(argv);
        free(envp);
        free(payload);
    }
}
