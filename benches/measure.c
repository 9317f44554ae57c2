/* Runs one command and reports its whole-run wall time and peak memory, for benches/bench.py.
 *
 *   measure TIMEOUT_S PROGRAM [ARGS...]
 *
 * After the command ends, appends one line "MEASURE wall_ns maxrss_kib exit_code cpu_ns" to
 * stderr (stdout stays the command's own). cpu_ns is user + system time of the whole tree
 * (wait4's rusage covers the child and every descendant it reaped). Peak memory is wait4's ru_maxrss: the
 * largest single process in the command's tree (the launcher or one buyer, never a sum).
 * It is measured from this small process rather than from Python because Linux carries the
 * pre-exec memory of the forking process into ru_maxrss: a child forked from a 20 MiB Python
 * interpreter would report at least 20 MiB whatever it executes. The command runs in its own
 * session, so on timeout it is killed with all its buyers.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;

static void on_alarm(int sig) {
    (void)sig;
    kill(-child, SIGKILL);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: measure TIMEOUT_S PROGRAM [ARGS...]\n");
        return 2;
    }
    long long start = now_ns();
    child = fork();
    if (child < 0) {
        perror("measure: fork");
        return 2;
    }
    if (child == 0) {
        setsid();
        execvp(argv[2], argv + 2);
        perror("measure: exec");
        _exit(127);
    }
    signal(SIGALRM, on_alarm);
    alarm((unsigned)atoi(argv[1]));
    int status;
    struct rusage usage;
    while (wait4(child, &status, 0, &usage) < 0) {
    }
    long long wall = now_ns() - start;
    alarm(0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    long long cpu = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL +
                    (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
    fprintf(stderr, "\nMEASURE %lld %ld %d %lld\n", wall, usage.ru_maxrss, code, cpu);
    return 0;
}
