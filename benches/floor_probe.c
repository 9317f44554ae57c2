/* The raw floor of grab-tickets' per-purchase write path: exactly its syscalls, none of its
 * program logic (no JSON library, no events, no checks beyond what the loop needs).
 *
 * One purchase:
 *   flock(lock, LOCK_EX); lstat the lock path (is it still the file locked?); open + read +
 *   close data.json; pwrite pid into the lock file; open temp (O_CREAT|O_EXCL|O_NOFOLLOW) +
 *   write + close; renameat2(temp, data, RENAME_EXCHANGE);
 *   unlink(temp); write one 160-byte line to the O_APPEND order log (+ fdatasync if durable);
 *   flock(lock, LOCK_UN).
 *
 * Usage:
 *   floor_probe single DIR N durable|lazy [exchange|spare]
 *       one process, N purchases, per-step timings. `spare` is a what-if write path, not what
 *       grab-tickets does: overwrite a kept spare file in place (fixed width), then exchange it
 *       with data.json; no file is created or unlinked per purchase.
 *   floor_probe race DIR T P durable|lazy [exchange|spare]
 *       P processes race for T tickets through the same sequence (real lock contention);
 *       `spare`: the what-if path above, one spare file shared under the lock
 * Last stdout line: RESULT {json}.  Built by benches/bench.py with gcc -O2 at bench time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define LOG_LINE 160

enum { S_LOCK, S_CHECK, S_READ, S_PID, S_TEMP, S_EXCH, S_UNLINK, S_APPEND, S_SYNC, S_UNLOCK, S_N };
static const char *STEP_NAMES[S_N] = {"flock_ex",  "stat_lock", "open_read_close", "pwrite_pid",
                                      "temp_write", "renameat2_exchange", "unlink_old",
                                      "append_log", "fdatasync_log", "flock_un"};

static char data_path[4096], temp_path[4200], lock_path[4200], log_path[4200], spare_path[4200];
static int use_spare;
/* The lock file's inode, learnt when it was opened. */
static ino_t lock_ino;

static void die(const char *what) {
    fprintf(stderr, "floor_probe: %s: %s\n", what, strerror(errno));
    exit(2);
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void write_data(const char *path, long tickets, long seq) {
    char buf[128];
    int n = snprintf(buf, sizeof buf, "{\"ticket_num\":%ld,\"seq\":%ld}\n", tickets, seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, buf, n) != n || close(fd) != 0) die("write data");
}

static void set_paths(const char *dir) {
    snprintf(data_path, sizeof data_path, "%s/data.json", dir);
    snprintf(lock_path, sizeof lock_path, "%s.lock", data_path);
    snprintf(log_path, sizeof log_path, "%s.orders", data_path);
    snprintf(temp_path, sizeof temp_path, "%s.%d.tmp", data_path, (int)getpid());
    snprintf(spare_path, sizeof spare_path, "%s.spare", data_path);
}

/* One purchase. Returns 1 if a ticket was bought, 0 if sold out. `t` (may be NULL)
 * accumulates the microseconds spent in each step. */
static int purchase(int lock_fd, int log_fd, int durable, double *t) {
    char buf[256], line[LOG_LINE];
    double a = t ? now_us() : 0, b;
#define STEP(s)                                                                                \
    if (t) {                                                                                   \
        b = now_us();                                                                          \
        t[s] += b - a;                                                                         \
        a = b;                                                                                 \
    }
    if (flock(lock_fd, LOCK_EX) != 0) die("flock");
    STEP(S_LOCK);
    struct stat st;
    if (lstat(lock_path, &st) != 0 || st.st_ino != lock_ino) die("lock file replaced");
    STEP(S_CHECK);
    int fd = open(data_path, O_RDONLY);
    if (fd < 0) die("open data");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n <= 0) die("read data");
    close(fd);
    buf[n] = 0;
    STEP(S_READ);
    const char *p = strstr(buf, "\"ticket_num\":");
    const char *q = strstr(buf, "\"seq\":");
    if (!p || !q) { errno = EINVAL; die("parse data"); }
    long tickets = strtol(p + 13, NULL, 10), seq = strtol(q + 6, NULL, 10);
    if (tickets == 0) {
        flock(lock_fd, LOCK_UN);
        return 0;
    }
    char pid[13];
    snprintf(pid, sizeof pid, "%-11d\n", (int)getpid());
    if (pwrite(lock_fd, pid, 12, 0) != 12) die("pwrite pid");
    STEP(S_PID);
    int len = snprintf(buf, sizeof buf, "{\"ticket_num\":%ld,\"seq\":%ld}\n", tickets - 1, seq + 1);
    if (use_spare) {
        /* Fixed width (JSON allows trailing spaces), so no truncate is ever needed. */
        memset(buf + len - 1, ' ', 64 - len);
        buf[63] = '\n';
        fd = open(spare_path, O_WRONLY);
        if (fd < 0 || pwrite(fd, buf, 64, 0) != 64 || close(fd) != 0) die("write spare");
        STEP(S_TEMP);
        if (renameat2(AT_FDCWD, spare_path, AT_FDCWD, data_path, RENAME_EXCHANGE) != 0)
            die("renameat2");
        STEP(S_EXCH);
        STEP(S_UNLINK);
    } else {
        fd = open(temp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
        if (fd < 0 || write(fd, buf, len) != len || close(fd) != 0) die("write temp");
        STEP(S_TEMP);
        if (renameat2(AT_FDCWD, temp_path, AT_FDCWD, data_path, RENAME_EXCHANGE) != 0)
            die("renameat2");
        STEP(S_EXCH);
        if (unlink(temp_path) != 0) die("unlink");
        STEP(S_UNLINK);
    }
    memset(line, ' ', LOG_LINE);
    int m = snprintf(line, LOG_LINE, "{\"seq\":%ld,\"kind\":\"order\",\"pid\":%d,\"before\":%ld,\"after\":%ld}",
                     seq + 1, (int)getpid(), tickets, tickets - 1);
    line[m] = ' ';
    line[LOG_LINE - 1] = '\n';
    if (write(log_fd, line, LOG_LINE) != LOG_LINE) die("append log");
    STEP(S_APPEND);
    if (durable && fdatasync(log_fd) != 0) die("fdatasync");
    STEP(S_SYNC);
    if (flock(lock_fd, LOCK_UN) != 0) die("unlock");
    STEP(S_UNLOCK);
    return 1;
}

static void open_shared(int *lock_fd, int *log_fd) {
    *lock_fd = open(lock_path, O_RDWR | O_CREAT, 0644);
    *log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (*lock_fd < 0 || *log_fd < 0) die("open lock/log");
    struct stat st;
    if (fstat(*lock_fd, &st) != 0) die("fstat lock");
    lock_ino = st.st_ino;
}

static int single(const char *dir, long n, int durable) {
    set_paths(dir);
    unlink(log_path);
    if (use_spare) write_data(spare_path, 0, 0);
    int lock_fd, log_fd;
    open_shared(&lock_fd, &log_fd);
    double t[S_N] = {0};
    /* Warm up the dentries and the journal; these purchases are not counted. */
    write_data(data_path, n + 50, 0);
    for (int i = 0; i < 50; i++) purchase(lock_fd, log_fd, durable, NULL);
    double t0 = now_us();
    long sold = 0;
    while (purchase(lock_fd, log_fd, durable, t)) sold++;
    double el = now_us() - t0;
    printf("RESULT {\"mode\":\"single\",\"path\":\"%s\",\"durable\":%s,\"sold\":%ld,"
           "\"us_per_purchase\":%.2f,\"steps_us\":{",
           use_spare ? "spare" : "exchange", durable ? "true" : "false", sold, el / sold);
    for (int s = 0; s < S_N; s++) printf("%s\"%s\":%.2f", s ? "," : "", STEP_NAMES[s], t[s] / sold);
    printf("}}\n");
    return sold == n ? 0 : 1;
}

static int race(const char *dir, long tickets, int procs, int durable) {
    if (procs < 1 || procs > 1024) {
        fprintf(stderr, "floor_probe: P must be 1 to 1024\n");
        return 2;
    }
    set_paths(dir);
    write_data(data_path, tickets, 0);
    if (use_spare) write_data(spare_path, 0, 0);
    unlink(log_path);
    long *counts = mmap(NULL, sizeof(long) * procs, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counts == MAP_FAILED) die("mmap");
    int gun[2];
    if (pipe(gun) != 0) die("pipe");
    for (int i = 0; i < procs; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            close(gun[1]);
            set_paths(dir); /* per-process temp name */
            int lock_fd, log_fd;
            open_shared(&lock_fd, &log_fd);
            char c;
            if (read(gun[0], &c, 1) != 1) _exit(3);
            long sold = 0;
            while (purchase(lock_fd, log_fd, durable, NULL)) sold++;
            counts[i] = sold;
            _exit(0);
        }
    }
    close(gun[0]);
    char shot[1024];
    memset(shot, 'g', sizeof shot);
    double t0 = now_us();
    if (write(gun[1], shot, (size_t)procs) != (ssize_t)procs) die("gun");
    int failed = 0, status;
    for (int i = 0; i < procs; i++) {
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    double el = now_us() - t0;
    long sold = 0, max = 0;
    printf("RESULT {\"mode\":\"race\",\"durable\":%s,\"procs\":%d,\"tickets\":%ld,\"per_proc\":[",
           durable ? "true" : "false", procs, tickets);
    for (int i = 0; i < procs; i++) {
        printf("%s%ld", i ? "," : "", counts[i]);
        sold += counts[i];
        if (counts[i] > max) max = counts[i];
    }
    printf("],\"sold\":%ld,\"elapsed_s\":%.4f,\"purchases_per_s\":%.1f,\"us_per_purchase\":%.2f}\n",
           sold, el / 1e6, sold / (el / 1e6), el / sold);
    return (!failed && sold == tickets) ? 0 : 1;
}

int main(int argc, char **argv) {
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "single") == 0) {
        use_spare = argc == 6 && strcmp(argv[5], "spare") == 0;
        return single(argv[2], atol(argv[3]), strcmp(argv[4], "durable") == 0);
    }
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "race") == 0) {
        use_spare = argc == 7 && strcmp(argv[6], "spare") == 0;
        return race(argv[2], atol(argv[3]), atoi(argv[4]), strcmp(argv[5], "durable") == 0);
    }
    fprintf(stderr, "usage: floor_probe single DIR N durable|lazy [exchange|spare]\n"
                    "       floor_probe race DIR T P durable|lazy [exchange|spare]\n");
    return 2;
}
