/* berth-shim --launcher: starts shims for the daemon, so the daemon does not fork itself for each one.
 *
 * Forking the daemon (a Node process of ~90 MB with a dozen threads) costs it 3-5 ms of CPU and of blocked event
 * loop per container start and per exec, on the path of both. This process is tiny, and it is the shim program
 * itself: a request for this same binary is served by fork() alone, the child running the shim's main() with the
 * request's arguments, so no execve, no dynamic loading and no posix_spawn signal reset lie on the path of every
 * start and exec. The child's /proc/PID/cmdline is pointed at the request's arguments (PR_SET_MM_MAP), so it
 * names its --state-dir exactly as an exec'd shim does (the daemon finds shims by it after a restart). Where
 * that is refused (a kernel without CONFIG_CHECKPOINT_RESTORE), or the binary on disk is no
 * longer the one running (rebuilt, upgraded), or another program is asked for, the shim is exec'd as before.
 * An exec'd shim detaches itself as it did from the daemon (its first process exits after reporting); a forked
 * one skips that second fork and stays the launcher's child (its own session all the same), reaped when it ends
 * and handed to init when the launcher goes.
 *
 * Protocol on stdin (from the daemon), any number of requests, several in flight:
 *     <request id>\0<argc>\0<argv[0]>\0...<argv[argc-1]>\0
 * and on stdout, one line per request once the shim's report pipe reached EOF:
 *     <request id> <the shim's report line, or nothing if it wrote none>\n
 * The launcher exits when its stdin ends (the daemon went away); shims it started keep running. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <linux/prctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "launcher.h"

#define REQ_MAX (256 * 1024) /* a request longer than this is a protocol error: the launcher exits */
#define REPORT_MAX 4096      /* the shim's report is one short line; more is cut */
#define MAX_ARGS 256

extern char **environ;

struct pending {
    char *id;
    pid_t pid;
    int fd; /* the read end of the shim's sync pipe */
    buf_t report;
};

static struct pending *pend;
static size_t npend, cappend;

/* the shim's main(), run in a forked child; and the file this process runs (st_dev, st_ino of /proc/self/exe) */
static int (*run_shim)(int argc, char **argv, const char *answer_id);
static struct stat self_exe;
static bool self_exe_known;
/* SIGCHLD as a file: every child (forked shims, exec'd shims' first processes) is reaped through it (reap_all) */
static int sigfd = -1;

static void write_out(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(1); /* the daemon is gone */
        p += w;
        n -= (size_t)w;
    }
}

size_t answer_line(char *out, size_t cap, const char *id, const char *report, size_t len)
{
    /* one line: the report up to its first newline, nothing else of it */
    const char *nl = memchr(report, '\n', len);
    if (nl) len = (size_t)(nl - report);
    size_t idlen = strlen(id), total = idlen + len + 2;
    if (total > cap) return 0;
    memcpy(out, id, idlen);
    out[idlen] = ' ';
    memcpy(out + idlen + 1, report, len);
    out[idlen + 1 + len] = '\n';
    return total;
}

static void answer(const char *id, const char *report, size_t len)
{
    size_t cap = strlen(id) + len + 2;
    char *line = malloc(cap);
    if (!line) _exit(1);
    write_out(line, answer_line(line, cap, id, report, len));
    free(line);
}

/* Whether argv[0] is, on disk, the very program this process runs: then a fork is the same as an exec of it. */
static bool runs_this_binary(const char *file)
{
    struct stat st;
    return run_shim && self_exe_known && stat(file, &st) == 0 && st.st_dev == self_exe.st_dev && st.st_ino == self_exe.st_ino;
}

/* Points this process's /proc/PID/cmdline at a copy of argv (what an exec of argv would show). PR_SET_MM_MAP
 * replaces the whole memory map description at once, so the other fields are read back from /proc/self/stat;
 * unlike PR_SET_MM_ARG_START it needs no CAP_SYS_RESOURCE (it was made for unprivileged checkpoint/restore). */
static bool set_cmdline(char **argv)
{
    size_t len = 0;
    for (char **a = argv; *a; a++) len += strlen(*a) + 1;
    char *area = malloc(len), *d = area; /* never freed: the kernel reads it for as long as we live */
    if (!area) return false;
    for (char **a = argv; *a; a++) d = stpcpy(d, *a) + 1;
    char stat[2048];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, stat, sizeof stat - 1);
    if (fd >= 0) close(fd);
    if (n <= 0) return false;
    stat[n] = 0;
    /* fields from 3 on follow the last ')' (the name may hold anything); f[k] is field k of proc(5) */
    unsigned long long f[53] = {0};
    char *p = strrchr(stat, ')');
    for (int k = 3; p && k <= 52; k++) {
        p = strchr(p, ' ');
        if (p) f[k] = strtoull(++p, NULL, 10);
    }
    if (!p) return false;
    struct prctl_mm_map m = {
        .start_code = f[26], .end_code = f[27], .start_stack = f[28],
        .start_data = f[45], .end_data = f[46], .start_brk = f[47], .brk = (uint64_t)(uintptr_t)sbrk(0),
        .arg_start = (uint64_t)(uintptr_t)area, .arg_end = (uint64_t)(uintptr_t)(area + len),
        .env_start = f[50], .env_end = f[51], .exe_fd = (uint32_t)-1,
    };
    return prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&m, sizeof m, 0) == 0;
}

/* The child of a fork: the stdio and fd 3 a spawn would have given it, fd 4 the daemon's answer pipe, then the
 * shim's main (or an exec of argv where the cmdline cannot be set). Never returns. */
static void __attribute__((noreturn)) forked_shim(char **argv, int report_fd, const char *id)
{
    /* high copies first: the fds below 5 are about to be rearranged */
    int answer = fcntl(1, F_DUPFD_CLOEXEC, 10), report = fcntl(report_fd, F_DUPFD_CLOEXEC, 10);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (answer < 0 || report < 0 || devnull < 0) _exit(127);
    if (dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(devnull, 2) < 0 || dup2(report, 3) < 0 || dup2(answer, 4) < 0) _exit(127);
    close_range(5, ~0U, 0); /* the daemon's pipes, other shims' report pipes: none of them is this shim's */
    int argc = 0;
    while (argv[argc]) argc++;
    if (set_cmdline(argv)) _exit(run_shim(argc, argv, id));
    close(4);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* as posix_spawn leaves it: the launcher's SIGCHLD block is its own */
    execv(argv[0], argv);
    _exit(127);
}

/* Starts argv with fd 3 the write end of a new pipe, stdio on /dev/null; the read end joins the pending list. */
static void start_one(const char *id, char **argv)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        char m[128];
        int n = snprintf(m, sizeof m, "{\"error\":\"berth-shim launcher: pipe: %s\"}", strerror(errno));
        answer(id, m, (size_t)n);
        return;
    }
    pid_t pid;
    int err = 0;
    bool forked = runs_this_binary(argv[0]);
    if (forked) {
        pid = fork();
        if (pid == 0) forked_shim(argv, p[1], id);
        if (pid < 0) err = errno;
    } else {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, p[1], 3); /* dup2 clears O_CLOEXEC on the copy */
        posix_spawnattr_t at;
        posix_spawnattr_init(&at);
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&at, &none); /* not the launcher's SIGCHLD block */
        posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
        err = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
        posix_spawnattr_destroy(&at);
        posix_spawn_file_actions_destroy(&fa);
    }
    close(p[1]);
    if (err) {
        close(p[0]);
        char m[256];
        int n = snprintf(m, sizeof m, "{\"error\":\"berth-shim launcher: cannot start %s: %s\"}", argv[0], strerror(err));
        answer(id, m, (size_t)n);
        return;
    }
    if (npend == cappend) {
        cappend = cappend ? cappend * 2 : 8;
        pend = realloc(pend, cappend * sizeof *pend);
        if (!pend) _exit(1);
    }
    pend[npend++] = (struct pending){strdup(id), pid, p[0], {0}};
}

/* Parses complete requests at the front of in; returns false on a malformed one. */
static bool take_requests(buf_t *in)
{
    for (;;) {
        char *s = in->data + in->off, *end = s + buf_pending(in);
        char *fields[MAX_ARGS + 2];
        size_t nf = 0, want = 2;
        char *q = s;
        while (nf < want) {
            char *z = memchr(q, '\0', (size_t)(end - q));
            if (!z) return buf_pending(in) < REQ_MAX; /* incomplete: wait for more */
            fields[nf++] = q;
            q = z + 1;
            if (nf == 2) {
                char *e;
                long argc = strtol(fields[1], &e, 10);
                if (*e || argc < 1 || argc > MAX_ARGS) return false;
                want = 2 + (size_t)argc;
            }
        }
        char *argv[MAX_ARGS + 1];
        for (size_t i = 2; i < nf; i++) argv[i - 2] = fields[i];
        argv[nf - 2] = NULL;
        start_one(fields[0], argv);
        buf_consume(in, (size_t)(q - s));
    }
}

/* The shim's report pipe is readable: collect, and on EOF answer and reap its first process (which has exited:
 * it held the pipe until then). */
static void report_input(size_t i)
{
    struct pending *r = &pend[i];
    char b[1024];
    ssize_t n = read(r->fd, b, sizeof b);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n > 0) {
        if (buf_pending(&r->report) < REPORT_MAX) buf_append(&r->report, b, (size_t)n);
        return;
    }
    /* "R": a forked shim answered the daemon itself, on the pipe we share (one write, so lines never mix) */
    bool answered = buf_pending(&r->report) == 1 && r->report.data[r->report.off] == 'R';
    if (!answered) answer(r->id, r->report.data ? r->report.data + r->report.off : "", buf_pending(&r->report));
    close(r->fd);
    /* Without the signalfd (every shim exec'd then), the first process, which has exited, is reaped here; with it,
     * reap_all reaps every child (waiting here could meet a pid reap_all freed and a new child took). */
    while (sigfd < 0 && waitpid(r->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    free(r->id);
    buf_free(&r->report);
    pend[i] = pend[--npend];
}

/* Shims this process forked stay its children until they exit (they report at once, without a second fork of
 * their own): each is reaped as soon as it is gone, so none lingers as a zombie that still looks alive. */
static void reap_all(void)
{
    struct signalfd_siginfo si[8];
    while (read(sigfd, si, sizeof si) > 0) {
    }
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int launcher_main(int (*shim_main)(int argc, char **argv, const char *answer_id))
{
    /* BERTH_SHIM_FORK=0: exec every shim (each then gets its own address-space layout and stack canary, which a
     * forked one shares with this process, as children of any fork server do) */
    const char *fork_env = getenv("BERTH_SHIM_FORK");
    run_shim = fork_env && !strcmp(fork_env, "0") ? NULL : shim_main;
    self_exe_known = stat("/proc/self/exe", &self_exe) == 0;
    tzset(); /* once here: the shims forked from us inherit it instead of each reading /etc/localtime at its exit */
    /* The daemon may leak descriptors to us; none must reach a shim (each would hold it open for the shim's life). */
    close_range(3, ~0U, 0);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0) run_shim = NULL; /* cannot reap forked shims: exec every one (they detach themselves) */
    buf_t in = {0};
    struct pollfd *p = NULL;
    size_t cap = 0;
    bool in_open = true;
    while (in_open || npend > 0) {
        if (cap < npend + 2) {
            cap = (npend + 2) * 2;
            p = realloc(p, cap * sizeof *p);
            if (!p) _exit(1);
        }
        p[0] = (struct pollfd){in_open ? 0 : -1, POLLIN, 0};
        for (size_t i = 0; i < npend; i++) p[i + 1] = (struct pollfd){pend[i].fd, POLLIN, 0};
        size_t n = npend;
        p[n + 1] = (struct pollfd){sigfd, POLLIN, 0};
        if (poll(p, n + 2, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(1);
        }
        if (p[n + 1].revents) reap_all();
        /* the pending list changes as reports end: walk it from the back over the slots polled */
        for (size_t i = n; i-- > 0;)
            if (p[i + 1].revents) report_input(i);
        if (p[0].revents) {
            char b[16384];
            ssize_t r = read(0, b, sizeof b);
            if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (r <= 0) {
                in_open = false; /* the daemon is gone: finish what is in flight, then exit */
                continue;
            }
            buf_append(&in, b, (size_t)r);
            if (!take_requests(&in)) _exit(2);
        }
    }
    return 0;
}
