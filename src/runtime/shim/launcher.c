/* berth-shim --launcher: starts shims for the daemon, so the daemon does not fork itself for each one.
 *
 * Forking the daemon (a Node process of ~90 MB with a dozen threads) costs it 3-5 ms of CPU and of blocked event
 * loop per container start and per exec, on the path of both. This process is tiny: it posix_spawn()s (vfork) the
 * shim with the sync pipe as fd 3, waits for the shim's one-line report and hands it back. The shim it starts is
 * the same program started the same way as before (exec'd, its own argv, so /proc/PID/cmdline still names its
 * --state-dir), only its parent differs; the shim detaches from it at once, as it did from the daemon.
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
#include <string.h>
#include <sys/wait.h>
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

static void answer(const char *id, const char *report, size_t len)
{
    /* one line: the report up to its first newline, nothing else of it */
    const char *nl = memchr(report, '\n', len);
    if (nl) len = (size_t)(nl - report);
    size_t idlen = strlen(id);
    char *line = malloc(idlen + len + 2);
    if (!line) _exit(1);
    memcpy(line, id, idlen);
    line[idlen] = ' ';
    memcpy(line + idlen + 1, report, len);
    line[idlen + 1 + len] = '\n';
    write_out(line, idlen + len + 2);
    free(line);
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
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 3); /* dup2 clears O_CLOEXEC on the copy */
    pid_t pid;
    int err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
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
    answer(r->id, r->report.data ? r->report.data + r->report.off : "", buf_pending(&r->report));
    close(r->fd);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    free(r->id);
    buf_free(&r->report);
    pend[i] = pend[--npend];
}

int launcher_main(void)
{
    /* The daemon may leak descriptors to us; none must reach a shim (each would hold it open for the shim's life). */
    close_range(3, ~0U, 0);
    buf_t in = {0};
    struct pollfd *p = NULL;
    size_t cap = 0;
    bool in_open = true;
    while (in_open || npend > 0) {
        if (cap < npend + 1) {
            cap = (npend + 1) * 2;
            p = realloc(p, cap * sizeof *p);
            if (!p) _exit(1);
        }
        p[0] = (struct pollfd){in_open ? 0 : -1, POLLIN, 0};
        for (size_t i = 0; i < npend; i++) p[i + 1] = (struct pollfd){pend[i].fd, POLLIN, 0};
        size_t n = npend;
        if (poll(p, n + 1, -1) < 0) {
            if (errno == EINTR) continue;
            _exit(1);
        }
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
