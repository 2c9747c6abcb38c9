/* berth-shim: the per-container (or per-exec) monitor. See PROTOCOL.md for the contract with the daemon.
 *
 * One process per container, single-threaded, driven by one poll(2) loop. It owns the process's stdio (pipes, or
 * the pty master received over the console socket), writes the json-file log, serves attach and control
 * connections on unix sockets in the state directory, and records the exit status in exit.json. Everything the
 * daemon needs lives in files and sockets, so a daemon restart loses nothing.
 *
 * Robustness rules followed throughout: every fd is O_CLOEXEC (nothing leaks into the runtime or the container),
 * every socket and output pipe is non-blocking, SIGPIPE is ignored (a vanished client is an EPIPE, not a death),
 * SIGCHLD arrives through a signalfd so it is just another fd in the loop, and the shim is a child subreaper so
 * the container process and anything orphaned below it become its children and are all reaped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "jsonlog.h"
#include "launcher.h"
#include "native-exec.h"

#define READ_CHUNK (64 * 1024)          /* one pipe's worth per read */
#define CLIENT_MAX_BUFFER (4u << 20)    /* an attach client further behind than this is dropped */
#define STDIN_HIGH_WATER (1u << 20)     /* stop reading attach clients while this much stdin is queued */
#define HOLD_MAX (1u << 20)             /* output held while the runtime runs (see run_runtime) */
#define ERR_MAX (64 * 1024)             /* runtime error text kept */
#define CTL_LINE_MAX 4096
#define DRAIN_TIMEOUT_MS 2000           /* after the exit, wait this long at most for the output to end */
#define FLUSH_TIMEOUT_MS 2000           /* at the end, give attach clients this long to take their output */

struct conn {
    int fd;
    bool ctl;          /* ctl.sock connection (else attach.sock) */
    bool rd_eof;       /* the peer shut down its writing side */
    bool wrote_stdin;  /* for --stdin-once */
    bool dead;         /* dropped; swept after the current poll round */
    buf_t out, in;     /* out: bytes not yet accepted by the socket; in: ctl's partial command line */
};

static struct {
    const char *runtime, *runtime_root, *id, *bundle, *state_dir, *log_path, *exec_file, *exec_id;
    bool tty, want_stdin, stdin_once, cri_log;
    /* --run: no `create` at spawn; `start` runs `RUNTIME run --detach` (one runtime process instead of two). */
    bool run_mode;
    /* --native (with --exec): the shim starts the exec itself from the daemon's exec file (native-exec.c) */
    bool native;
} O;

static struct {
    int sync_fd;                 /* fd 3: the one-line ready/error report */
    int answer_fd;               /* fd 4 of a shim the launcher forked: the daemon's answer pipe (sync_report) */
    const char *answer_id;       /* ... and the launcher's request id to answer with */
    int sigfd, ctl_lfd, attach_lfd, console_lfd, console_conn, reserve_fd;
    bool bound_ctl, bound_attach, bound_console, created_dir, created_log, in_state_dir;
    int out_fd[2];               /* read ends: [0] stdout (or the pty master), [1] stderr */
    int out_wr[2];               /* write ends, kept only until the runtime has handed them to the process */
    int in_rd;                   /* read end of the stdin pipe, likewise */
    int stdin_fd;                /* where stdin bytes go: the pipe's write end or a dup of the master */
    buf_t stdin_buf;
    bool stdin_closed;           /* no more stdin accepted; fd closed once stdin_buf is written */
    bool stdin_once_done;
    int master;                  /* the pty master while open (it is out_fd[0]) */
    bool got_master;             /* received; the master may be closed again already (a quick exit) */
    bool have_ws;
    struct winsize ws;
    bool hold;                   /* output is being held (the runtime is running), not delivered */
    buf_t held;                  /* records: stream byte, uint32 length, bytes */
    pid_t pid;                   /* the container/exec process, once known */
    bool started, exited, quit;
    int wstatus;
    bool status_known;
    struct timespec finished_at;
    int64_t drain_deadline;
    struct conn **conns;
    size_t nconns, capconns;
    char *pid_path, *console_path;
    char runtime_status[128];    /* how the last failed runtime command ended, the message of last resort */
} S;

/* Shared by every read; the loop is single-threaded and consumes it before the next read. */
static char rbuf[READ_CHUNK];

/* ---------------------------------------------------------------- small helpers */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void xclose(int *fd)
{
    if (*fd >= 0) close(*fd); /* no EINTR retry: on Linux the fd is gone even then */
    *fd = -1;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else {
            return false;
        }
    }
    return true;
}

static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) s = NULL;
    va_end(ap);
    if (!s) _exit(1); /* only at startup, with a handful of short strings */
    return s;
}

static char *absolute(const char *p)
{
    if (!p || p[0] == '/') return (char *)p;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return (char *)p;
    return xasprintf("%s/%s", cwd, p);
}

/* Message text for one line (ctl replies, the sync report): trimmed, inner newlines flattened. */
static void one_line(char *s)
{
    size_t n = strlen(s), a = 0;
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = 0;
    while (s[a] == '\n' || s[a] == '\r' || s[a] == ' ' || s[a] == '\t') a++;
    memmove(s, s + a, n - a + 1);
    for (char *c = s; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
}

/* ---------------------------------------------------------------- sync report (fd 3) */

static void sync_report(const char *line)
{
    if (S.sync_fd < 0) return;
    size_t n = strlen(line);
    if (S.answer_fd >= 0) {
        /* Forked by the launcher: the answer goes to the daemon straight away (no wake-up of the launcher on the
         * way), as the launcher would have written it, in one write of at most PIPE_BUF bytes so that it never mixes
         * with the launcher's own answers; "R" on the report pipe tells the launcher it is done. */
        char buf[PIPE_BUF];
        size_t total = answer_line(buf, sizeof buf, S.answer_id, line, n);
        if (total > 0) {
            ssize_t w;
            do w = write(S.answer_fd, buf, total);
            while (w < 0 && errno == EINTR);
            if (w == (ssize_t)total) line = "R", n = 1;
        }
        xclose(&S.answer_fd);
    }
    write_all(S.sync_fd, line, n);
    xclose(&S.sync_fd); /* EOF tells the launcher (or the daemon) the report is complete */
}

static void sync_error(const char *msg)
{
    size_t n = strlen(msg);
    char *line = malloc(n * 6 + 32);
    if (!line) {
        sync_report("{\"error\":\"out of memory\"}\n");
        return;
    }
    char *d = stpcpy(line, "{\"error\":\"");
    d += json_escape(d, (const unsigned char *)msg, n);
    strcpy(d, "\"}\n");
    sync_report(line);
    free(line);
}

/* ---------------------------------------------------------------- setup failure */

static void remove_sockets(void)
{
    if (!S.in_state_dir) return;
    /* Only what this shim bound: a stale path may belong to another shim. */
    if (S.bound_ctl) unlink("ctl.sock");
    if (S.bound_attach) unlink("attach.sock");
    if (S.bound_console) unlink("console.sock");
    S.bound_ctl = S.bound_attach = S.bound_console = false;
}

static void reap_children(void);
static bool console_step(void);
static void accept_all(int lfd, bool ctl);

/* Before the ready report: say why, remove what this shim created, exit 1. */
static void __attribute__((noreturn)) setup_fail(const char *msg)
{
    char *m = strdup(msg ? msg : "unknown error");
    if (m) one_line(m);
    /* Clean up first, report last: once the daemon reads the error, nothing of this shim is left. */
    remove_sockets();
    if (S.in_state_dir) {
        unlink("shim.pid");
        unlink("pid");
    }
    if (S.created_log) unlink(O.log_path);
    if (S.created_dir) {
        if (chdir("/") == 0) rmdir(O.state_dir);
    }
    reap_children();
    sync_error(m && *m ? m : "container runtime failed");
    _exit(1);
}

/* ---------------------------------------------------------------- sockets */

static int listen_unix(const char *name, int backlog, bool *bound)
{
    /* Relative names (the shim's cwd is the state dir) so long state dir paths do not hit sun_path's limit. */
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, name);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
        /* A live listener means another shim owns this state dir: never steal its sockets. (Non-blocking: a
         * live listener with a full backlog answers EAGAIN instead of blocking us.) */
        int r = connect(probe, (struct sockaddr *)&a, sizeof a);
        int e = errno;
        close(probe);
        if (r == 0 || e == EAGAIN) {
            errno = EADDRINUSE;
            return -1;
        }
    }
    unlink(name); /* stale, from a shim that died */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    *bound = true;
    if (listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* ---------------------------------------------------------------- connections */

static void stdin_close(void);

static void conn_input_ended(struct conn *c)
{
    /* --stdin-once: the first client that fed stdin has finished feeding it */
    if (!c->ctl && O.stdin_once && c->wrote_stdin && !S.stdin_once_done) {
        S.stdin_once_done = true;
        stdin_close();
    }
}

static void conn_drop(struct conn *c)
{
    if (c->dead) return;
    if (!c->rd_eof) {
        c->rd_eof = true;
        conn_input_ended(c);
    }
    /* An exec shim is started only by the daemon that spawned it, on the connection it opened then: once that is
     * gone before `start` (the daemon died or gave up between spawn and start), nobody will start it. */
    if (c->ctl && O.exec_file && !S.started) S.quit = true;
    xclose(&c->fd);
    buf_free(&c->out);
    buf_free(&c->in);
    c->dead = true;
}

/* Writes what the socket accepts now. false when the client is gone (and has been dropped). */
static bool conn_flush(struct conn *c)
{
    while (buf_pending(&c->out) > 0) {
        ssize_t w = send(c->fd, c->out.data + c->out.off, buf_pending(&c->out), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            buf_consume(&c->out, (size_t)w);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        } else {
            conn_drop(c);
            return false;
        }
    }
    return true;
}

static void conn_add(int fd, bool ctl)
{
    if (S.nconns == S.capconns) {
        size_t cap = S.capconns ? S.capconns * 2 : 8;
        struct conn **n = realloc(S.conns, cap * sizeof *n);
        if (!n) {
            close(fd);
            return;
        }
        S.conns = n;
        S.capconns = cap;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->fd = fd;
    c->ctl = ctl;
    S.conns[S.nconns++] = c;
}

static void conns_sweep(void)
{
    size_t j = 0;
    for (size_t i = 0; i < S.nconns; i++) {
        if (S.conns[i]->dead) free(S.conns[i]);
        else S.conns[j++] = S.conns[i];
    }
    S.nconns = j;
}

static void reply(struct conn *c, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (c->dead) return;
    if (!buf_append(&c->out, line, (size_t)n)) {
        conn_drop(c);
        return;
    }
    conn_flush(c);
}

/* One stdcopy frame to one attach client. Written straight from the caller's buffer when nothing is queued (the
 * common case), so output is copied only for clients that are behind. */
static void conn_send_frame(struct conn *c, int stream, const char *data, size_t len)
{
    unsigned char hdr[8] = {(unsigned char)stream, 0, 0, 0, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                            (unsigned char)(len >> 8), (unsigned char)len};
    size_t done = 0;
    if (buf_pending(&c->out) == 0) {
        struct iovec iov[2] = {{hdr, 8}, {(void *)data, len}};
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
        ssize_t w;
        do w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            conn_drop(c);
            return;
        }
        done = w > 0 ? (size_t)w : 0;
    }
    bool ok = true;
    if (done < 8) ok = buf_append(&c->out, hdr + done, 8 - done) && buf_append(&c->out, data, len);
    else if (done < 8 + len) ok = buf_append(&c->out, data + (done - 8), len - (done - 8));
    /* A client that does not keep up must not hold output back (the log keeps everything). */
    if (!ok || buf_pending(&c->out) > CLIENT_MAX_BUFFER) conn_drop(c);
}

/* ---------------------------------------------------------------- output */

static void deliver(int stream, const char *data, size_t len)
{
    if (S.hold) {
        /* The runtime is still running: keep the bytes until we know whether they are the process's output or
         * the runtime's error (see run_runtime). */
        unsigned char h[5] = {(unsigned char)stream};
        uint32_t l = (uint32_t)len;
        memcpy(h + 1, &l, 4);
        if (buf_append(&S.held, h, 5)) buf_append(&S.held, data, len);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    jlog_feed(stream, data, len, &ts);
    for (size_t i = 0; i < S.nconns; i++) {
        struct conn *c = S.conns[i];
        if (!c->dead && !c->ctl) conn_send_frame(c, stream + 1, data, len);
    }
}

static void close_output(int s)
{
    xclose(&S.out_fd[s]);
    if (s == 0 && S.master >= 0) S.master = -1; /* out_fd[0] was the master */
    if (!S.hold) { /* while holding, the flush happens after the held bytes are replayed */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        jlog_flush(s, &ts);
    }
}

/* One read from an output fd: >0 bytes delivered, 0 the stream ended (and was closed), -1 nothing to read. */
static ssize_t out_read(int s)
{
    if (S.out_fd[s] < 0) return 0;
    ssize_t n;
    do n = read(S.out_fd[s], rbuf, sizeof rbuf);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        deliver(s, rbuf, (size_t)n);
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -1;
    /* 0: every writer closed the pipe. EIO: on a pty master, every slave fd is closed (the TTY's EOF). */
    close_output(s);
    return 0;
}

static void replay_held(void)
{
    size_t off = S.held.off;
    while (S.held.len - off >= 5) {
        uint32_t l;
        memcpy(&l, S.held.data + off + 1, 4);
        deliver((unsigned char)S.held.data[off], S.held.data + off + 5, l);
        off += 5 + l;
    }
    buf_free(&S.held);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    for (int s = 0; s < 2; s++)
        if (S.out_fd[s] < 0) jlog_flush(s, &ts);
}

/* The held bytes of one stream as text (the runtime's error when it failed with its stdio on our pipes). */
static void held_text(int stream, buf_t *to)
{
    size_t off = S.held.off;
    while (S.held.len - off >= 5) {
        uint32_t l;
        memcpy(&l, S.held.data + off + 1, 4);
        if (S.held.data[off] == stream && buf_pending(to) < ERR_MAX) buf_append(to, S.held.data + off + 5, l);
        off += 5 + l;
    }
}

/* ---------------------------------------------------------------- stdin */

static void stdin_flush(void)
{
    while (buf_pending(&S.stdin_buf) > 0 && S.stdin_fd >= 0) {
        ssize_t w = write(S.stdin_fd, S.stdin_buf.data + S.stdin_buf.off, buf_pending(&S.stdin_buf));
        if (w > 0) {
            buf_consume(&S.stdin_buf, (size_t)w);
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return; /* POLLOUT resumes */
        } else {
            /* EPIPE (the process closed its stdin or exited), EIO (pty slave gone): nobody will read it */
            xclose(&S.stdin_fd);
            buf_free(&S.stdin_buf);
            S.stdin_closed = true;
            return;
        }
    }
    if (S.stdin_closed && buf_pending(&S.stdin_buf) == 0) xclose(&S.stdin_fd); /* the process sees EOF */
}

/* close-stdin / --stdin-once. With a pipe the process sees EOF once the queued bytes are written. A pty has no
 * separate stdin to close, so the terminal's EOF character (VEOF, ^D) is sent instead, which is what a tty
 * reader sees as end of input. */
static void stdin_close(void)
{
    if (S.stdin_closed) return;
    S.stdin_closed = true;
    if (!O.want_stdin) return;
    if (O.tty) {
        char eof = 4;
        struct termios t;
        if (S.master >= 0 && tcgetattr(S.master, &t) == 0 && t.c_cc[VEOF]) eof = (char)t.c_cc[VEOF];
        buf_append(&S.stdin_buf, &eof, 1);
    }
    stdin_flush();
}

static void stdin_input(struct conn *c, const char *data, size_t n)
{
    if (!O.want_stdin || S.stdin_closed) return; /* discarded */
    c->wrote_stdin = true;
    if (!buf_append(&S.stdin_buf, data, n)) return;
    stdin_flush();
}

/* ---------------------------------------------------------------- children */

static void record_exit(int st)
{
    S.exited = true;
    S.status_known = true;
    S.wstatus = st;
    clock_gettime(CLOCK_REALTIME, &S.finished_at);
    S.drain_deadline = mono_ms() + DRAIN_TIMEOUT_MS;
}

/* Reaps every child: the process we monitor, and whatever got orphaned onto us (we are a subreaper). */
static void reap_children(void)
{
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p < 0 && errno == EINTR) continue;
        if (p <= 0) return;
        if (S.pid > 0 && p == S.pid && !S.exited) record_exit(st);
    }
}

static void drain_sigfd(void)
{
    struct signalfd_siginfo si[8];
    while (read(S.sigfd, si, sizeof si) > 0) {
    }
}

static pid_t spawn(char *const argv[], int fd0, int fd1, int fd2)
{
    /* fork, not posix_spawn: the shim is tiny, so fork is cheap, and the child needs a few resets first */
    pid_t pid = fork();
    if (pid != 0) return pid;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the runtime (and the container) must not inherit our mask */
    signal(SIGPIPE, SIG_DFL);              /* ... nor our ignored signals, which exec keeps */
    signal(SIGHUP, SIG_DFL);
    /* fd0..2 are /dev/null (0) or fds >= 3 (0-2 are taken), so these dup2 cannot clobber each other; dup2
     * clears O_CLOEXEC on the copy, every other fd of ours is closed by exec. */
    if (dup2(fd0, 0) < 0 || dup2(fd1, 1) < 0 || dup2(fd2, 2) < 0) _exit(127);
    execvp(argv[0], argv);
    dprintf(2, "cannot execute %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/* Runs a runtime command to completion. Meanwhile collects its error pipe (errfd, if any) into err and, when
 * S.hold is set, the process's output pipes into S.held: with non-terminal stdio the runtime's own stderr *is*
 * the process's stderr pipe, so whether those bytes are an error message or output is only known once the
 * runtime has exited. Reading during the wait also means neither the runtime nor the process can block on a
 * full pipe. Returns true when the runtime exited 0. Only this pid is waited for: the monitored process may
 * exit meanwhile and is reaped by the caller's reap_children(). */
static bool run_runtime(char *const argv[], int fd0, int fd1, int fd2, int errfd, buf_t *err)
{
    pid_t pid = spawn(argv, fd0, fd1, fd2);
    if (pid < 0) {
        char m[128];
        snprintf(m, sizeof m, "cannot fork the runtime: %s", strerror(errno));
        buf_append(err, m, strlen(m));
        return false;
    }
    int st = 0;
    for (;;) {
        /* checked before each sleep: a SIGCHLD read off the signalfd by an earlier round is not lost */
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) break;
        bool room = buf_pending(&S.held) < HOLD_MAX;
        struct pollfd p[5] = {
            {S.sigfd, POLLIN, 0},
            {errfd, POLLIN, 0},
            {S.hold && room ? S.out_fd[0] : -1, POLLIN, 0},
            {S.hold && room ? S.out_fd[1] : -1, POLLIN, 0},
            /* the terminal, taken the moment the runtime sends it: an exec'd process runs before exec exits */
            {S.console_conn >= 0 ? S.console_conn : S.console_lfd, POLLIN, 0},
        };
        if (poll(p, 5, -1) < 0) continue; /* EINTR */
        if (p[4].revents) console_step();
        if (p[0].revents) drain_sigfd();
        if (p[1].revents) {
            ssize_t n = read(errfd, rbuf, sizeof rbuf);
            if (n > 0 && buf_pending(err) < ERR_MAX) buf_append(err, rbuf, (size_t)n);
            if (n == 0) errfd = -1; /* EOF: stop polling it */
        }
        for (int s = 0; s < 2; s++)
            if (p[2 + s].revents) out_read(s);
    }
    /* Everything the runtime wrote is in the pipes now; take it without waiting (the process may keep the
     * pipes open for a long time). */
    ssize_t n;
    while (errfd >= 0 && (n = read(errfd, rbuf, sizeof rbuf)) > 0)
        if (buf_pending(err) < ERR_MAX) buf_append(err, rbuf, (size_t)n);
    if (S.hold)
        for (int s = 0; s < 2; s++)
            while (buf_pending(&S.held) < HOLD_MAX && out_read(s) > 0) {
            }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return true;
    char *m = S.runtime_status;
    size_t sz = sizeof S.runtime_status;
    if (WIFSIGNALED(st)) snprintf(m, sz, "%s killed by signal %d", argv[0], WTERMSIG(st));
    else snprintf(m, sz, "%s exited with status %d", argv[0], WEXITSTATUS(st));
    return false;
}

/* err as a NUL-terminated string (owned by err) */
static char *err_text(buf_t *err)
{
    buf_append(err, "", 1);
    return err->data + err->off;
}

/* The runtime's message: its error pipe, else what it wrote on the process's stderr/stdout pipes, else how it
 * ended. */
static void collect_error(buf_t *err)
{
    if (buf_pending(err) == 0) held_text(1, err);
    if (buf_pending(err) == 0) held_text(0, err);
    if (buf_pending(err) == 0) buf_append(err, S.runtime_status, strlen(S.runtime_status));
}

/* argv for RUNTIME [--root R] <args...> */
static char **runtime_argv(const char *first, ...)
{
    static char *argv[24];
    int n = 0;
    argv[n++] = (char *)O.runtime;
    if (O.runtime_root) {
        argv[n++] = "--root";
        argv[n++] = (char *)O.runtime_root;
    }
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 23; a = va_arg(ap, const char *)) argv[n++] = (char *)a;
    va_end(ap);
    argv[n] = NULL;
    return argv;
}

static pid_t read_pid_file(void)
{
    char b[32];
    int fd = open("pid", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n;
    do n = read(fd, b, sizeof b - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0) return -1;
    b[n] = 0;
    long v = strtol(b, NULL, 10);
    return v > 0 ? (pid_t)v : -1;
}

/* ---- the console socket: the runtime sends the pty master over it (SCM_RIGHTS) ---- */

static void console_done(void)
{
    xclose(&S.console_conn);
    xclose(&S.console_lfd);
    if (S.bound_console) unlink("console.sock");
    S.bound_console = false;
}

static void take_master(int fd)
{
    set_nonblock(fd);
    S.got_master = true;
    S.master = fd;
    S.out_fd[0] = fd;
    /* The size asked for before the start, applied the moment the terminal exists: an exec'd process may be
     * running already (see run_runtime). */
    if (S.have_ws) ioctl(fd, TIOCSWINSZ, &S.ws);
    if (O.want_stdin) {
        S.stdin_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3); /* own fd, so stdin can be closed apart from output */
        stdin_flush();                              /* anything typed before the start */
    }
}

/* Advances the handshake without blocking: accept the runtime's connection, then take the fd from its message.
 * true once the master is ours. */
static bool console_step(void)
{
    if (S.got_master) return true;
    if (S.console_conn < 0) {
        if (S.console_lfd < 0) return false;
        S.console_conn = accept4(S.console_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (S.console_conn < 0) return false;
    }
    char data[256];
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    ssize_t n;
    do n = recvmsg(S.console_conn, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false; /* connected, not sent yet */
    int fd = -1;
    for (struct cmsghdr *h = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; h; h = CMSG_NXTHDR(&m, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
        size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *fds = (int *)CMSG_DATA(h);
        for (size_t i = 0; i < k; i++) {
            if (fd < 0) fd = fds[i];
            else close(fds[i]); /* not expected; never leak */
        }
    }
    console_done(); /* one terminal per process: the socket has served its purpose (or failed) */
    if (fd < 0) return false;
    take_master(fd);
    return true;
}

/* After the runtime exited successfully: its message is queued (or was taken during run_runtime already). The
 * bounded wait only guards against a runtime whose message is not readable yet. */
static bool wait_master(void)
{
    int64_t deadline = mono_ms() + 5000;
    while (!console_step()) {
        int fd = S.console_conn >= 0 ? S.console_conn : S.console_lfd;
        int64_t left = deadline - mono_ms();
        if (fd < 0 || left <= 0) break;
        struct pollfd p = {fd, POLLIN, 0};
        poll(&p, 1, (int)left);
    }
    console_done();
    return S.got_master;
}

static void close_runtime_stdio(void)
{
    /* The process has its copies now; ours would keep the pipes from ever reporting EOF. */
    xclose(&S.out_wr[0]);
    xclose(&S.out_wr[1]);
    xclose(&S.in_rd);
}

/* RUNTIME delete -f ID, only for a container this shim created but could not hand over. */
static void runtime_delete(void)
{
    buf_t err = {0};
    bool hold = S.hold;
    S.hold = false;
    run_runtime(runtime_argv("delete", "-f", O.id, NULL), 0, 0, 0, -1, &err);
    S.hold = hold;
    buf_free(&err);
}

/* ---------------------------------------------------------------- create / start / exec */

static void do_create(void)
{
    buf_t err = {0};
    int ep[2] = {-1, -1};
    int fd0 = 0, fd1, fd2, errfd = -1;
    if (O.tty) {
        /* The process gets the pty; the runtime's own stdio only carries its messages. */
        S.console_lfd = listen_unix("console.sock", 1, &S.bound_console);
        if (S.console_lfd < 0) setup_fail(xasprintf("console socket: %s", strerror(errno)));
        if (pipe2(ep, O_CLOEXEC) < 0) setup_fail(xasprintf("pipe: %s", strerror(errno)));
        set_nonblock(ep[0]);
        fd1 = fd2 = ep[1];
        errfd = ep[0];
    } else {
        /* The runtime passes its stdio through to the process. */
        fd0 = O.want_stdin ? S.in_rd : 0;
        fd1 = S.out_wr[0];
        fd2 = S.out_wr[1];
        S.hold = true;
    }
    char **argv = O.tty ? runtime_argv("create", "--bundle", O.bundle, "--pid-file", S.pid_path,
                                       "--console-socket", S.console_path, O.id, NULL)
                        : runtime_argv("create", "--bundle", O.bundle, "--pid-file", S.pid_path, O.id, NULL);
    bool ok = run_runtime(argv, fd0, fd1, fd2, errfd, &err);
    S.hold = false;
    xclose(&ep[0]);
    xclose(&ep[1]);
    close_runtime_stdio();
    if (!ok) {
        collect_error(&err);
        setup_fail(err_text(&err));
    }
    /* Bytes seen during create came from the runtime (the process has not run yet): not container output. */
    buf_free(&S.held);
    buf_free(&err);
    S.pid = read_pid_file();
    const char *why = S.pid < 0 ? "the runtime did not write the pid file" : NULL;
    if (!why && O.tty && !wait_master()) why = "the runtime did not send the terminal over the console socket";
    if (why) {
        runtime_delete();
        setup_fail(why);
    }
}

static void ctl_start(struct conn *c)
{
    if (S.started) {
        reply(c, "error already started");
        return;
    }
    if (S.exited) {
        reply(c, "error the process has exited");
        return;
    }
    /* A client may connect to attach.sock and ask for the start without waiting in between (the daemon does for
     * an exec): whatever connected before this request is attached before the process can write anything. */
    accept_all(S.attach_lfd, false);
    buf_t err = {0};
    int ep[2] = {-1, -1};
    bool ok;
    if (!O.exec_file && !O.run_mode) {
        /* The process already exists with its stdio; start's output is only the runtime's own. Output the
         * process writes meanwhile is held and replayed so the loop's order of events stays simple. */
        if (pipe2(ep, O_CLOEXEC) < 0) {
            reply(c, "error pipe: %s", strerror(errno));
            return;
        }
        set_nonblock(ep[0]);
        S.hold = true;
        ok = run_runtime(runtime_argv("start", O.id, NULL), 0, ep[1], ep[1], ep[0], &err);
        S.hold = false;
        replay_held();
    } else {
        int fd0 = 0, fd1, fd2, errfd = -1;
        if (O.tty) {
            S.console_lfd = listen_unix("console.sock", 1, &S.bound_console);
            if (S.console_lfd < 0 || pipe2(ep, O_CLOEXEC) < 0) {
                reply(c, "error console socket: %s", strerror(errno));
                S.quit = true;
                return;
            }
            set_nonblock(ep[0]);
            fd1 = fd2 = ep[1];
            errfd = ep[0];
        } else {
            fd0 = O.want_stdin ? S.in_rd : 0;
            fd1 = S.out_wr[0];
            fd2 = S.out_wr[1];
        }
        if (O.native) {
            /* no runtime: the verdict is known before the loop reads any of the process's output */
            char why[512] = "";
            S.pid = native_exec_start(O.exec_file, fd0, fd1, fd2, why, sizeof why);
            close_runtime_stdio();
            ok = S.pid > 0;
            if (!ok) buf_append(&err, why, strlen(why));
        } else {
            char **argv;
            if (O.run_mode)
                argv = O.tty ? runtime_argv("run", "--detach", "--bundle", O.bundle, "--pid-file", S.pid_path,
                                            "--console-socket", S.console_path, O.id, NULL)
                             : runtime_argv("run", "--detach", "--bundle", O.bundle, "--pid-file", S.pid_path, O.id, NULL);
            else
                argv = O.tty ? runtime_argv("exec", "--detach", "--process", O.exec_file, "--pid-file", S.pid_path,
                                            "--console-socket", S.console_path, O.id, NULL)
                             : runtime_argv("exec", "--detach", "--process", O.exec_file, "--pid-file", S.pid_path,
                                            O.id, NULL);
            S.hold = true; /* the exec'd process runs before the runtime exits: its output waits for the verdict */
            ok = run_runtime(argv, fd0, fd1, fd2, errfd, &err);
            S.hold = false;
            close_runtime_stdio();
        }
        if (ok && !O.native) { /* the runtime's process: its pid is in the pid file, its terminal on the socket */
            S.pid = read_pid_file();
            if (S.pid < 0) {
                ok = false;
                buf_append(&err, "the runtime did not write the pid file", 38);
            } else if (O.tty && !wait_master()) {
                /* The process runs but we have no terminal for it: do not leave it unsupervised. */
                kill(S.pid, SIGKILL);
                ok = false;
                buf_append(&err, "the runtime did not send the terminal over the console socket", 61);
            }
        }
        if (ok) {
            replay_held();
        } else {
            collect_error(&err);
            buf_free(&S.held);
            console_done();
            if (S.out_fd[0] >= 0 && O.tty) close_output(0);
            /* An exec that did not start is over: this shim has nothing left to monitor (see README). */
            S.quit = true;
        }
    }
    xclose(&ep[0]);
    xclose(&ep[1]);
    reap_children(); /* the process may already have exited; its SIGCHLD was consumed by run_runtime */
    if (ok) {
        S.started = true;
        reply(c, "ok %d", (int)S.pid);
    } else {
        if (!O.exec_file && !O.run_mode) collect_error(&err); /* (exec's error was collected above, before its held output went) */
        char *m = err_text(&err);
        one_line(m);
        reply(c, "error %s", *m ? m : "runtime failed");
    }
    buf_free(&err);
}

static void ctl_command(struct conn *c, char *line)
{
    one_line(line);
    if (!*line) return;
    if (strcmp(line, "start") == 0) {
        ctl_start(c);
    } else if (strncmp(line, "resize ", 7) == 0) {
        char *e1, *e2;
        unsigned long rows = strtoul(line + 7, &e1, 10), cols = strtoul(e1, &e2, 10);
        if (e1 == line + 7 || e2 == e1 || *e2 || rows > 65535 || cols > 65535) {
            reply(c, "error usage: resize <rows> <cols>");
            return;
        }
        if (O.tty) {
            S.ws = (struct winsize){.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
            S.have_ws = true; /* an exec's terminal only arrives with start: applied then */
            if (S.master >= 0) ioctl(S.master, TIOCSWINSZ, &S.ws);
        }
        reply(c, "ok");
    } else if (strcmp(line, "close-stdin") == 0) {
        stdin_close();
        reply(c, "ok");
    } else if (strcmp(line, "reopen-log") == 0) {
        /* the log was renamed away (rotation): continue in a new file at the same path */
        int lfd = O.log_path ? open(O.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640) : -1;
        if (lfd < 0) {
            reply(c, O.log_path ? "error cannot open the log" : "error no log");
            return;
        }
        jlog_reopen(lfd);
        reply(c, "ok");
    } else {
        reply(c, "error unknown command");
    }
}

static void ctl_input(struct conn *c, const char *data, size_t n)
{
    if (!buf_append(&c->in, data, n)) {
        conn_drop(c);
        return;
    }
    for (;;) {
        char *start = c->in.data + c->in.off;
        char *nl = memchr(start, '\n', buf_pending(&c->in));
        if (!nl) break;
        *nl = 0;
        size_t used = (size_t)(nl - start) + 1;
        char line[CTL_LINE_MAX + 1];
        size_t l = used - 1 < CTL_LINE_MAX ? used - 1 : CTL_LINE_MAX;
        memcpy(line, start, l);
        line[l] = 0;
        buf_consume(&c->in, used);
        ctl_command(c, line);
        if (c->dead) return;
    }
    if (buf_pending(&c->in) > CTL_LINE_MAX) {
        buf_free(&c->in);
        reply(c, "error line too long");
    }
}

/* ---------------------------------------------------------------- loop */

static void conn_read(struct conn *c)
{
    ssize_t n;
    do n = recv(c->fd, rbuf, sizeof rbuf, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        if (c->ctl) ctl_input(c, rbuf, (size_t)n);
        else stdin_input(c, rbuf, (size_t)n);
    } else if (n == 0) {
        /* Half-close: an attach client still receives output after it is done sending stdin. */
        c->rd_eof = true;
        conn_input_ended(c);
        if (c->ctl && buf_pending(&c->out) == 0) conn_drop(c);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
        conn_drop(c);
    }
}

static void accept_all(int lfd, bool ctl)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_add(fd, ctl);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if ((errno == EMFILE || errno == ENFILE) && S.reserve_fd >= 0) {
            /* Out of fds: accept and close one with the reserve fd, or poll would spin on the backlog. */
            xclose(&S.reserve_fd);
            fd = accept(lfd, NULL, NULL);
            if (fd >= 0) close(fd);
            S.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            continue;
        }
        return;
    }
}

static void force_drain(void)
{
    /* The process is gone but something it left behind (a background child of an exec, say) still holds the
     * output open: take what is there and stop waiting. */
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < 64 && out_read(s) > 0; i++) {
        }
        if (S.out_fd[s] >= 0) close_output(s);
    }
}

static void write_exit_json(void)
{
    int code = 255, sig = 0;
    if (S.status_known && WIFEXITED(S.wstatus)) {
        code = WEXITSTATUS(S.wstatus);
    } else if (S.status_known && WIFSIGNALED(S.wstatus)) {
        sig = WTERMSIG(S.wstatus);
        code = 128 + sig;
    }
    char ts[40], sigtxt[16], out[256];
    fmt_rfc3339nano(ts, &S.finished_at);
    if (sig) snprintf(sigtxt, sizeof sigtxt, "%d", sig);
    else strcpy(sigtxt, "null");
    int n = snprintf(out, sizeof out,
                     "{\"exitCode\":%d,\"signal\":%s,\"finishedAt\":\"%s\",\"oomKilled\":false}\n", code, sigtxt, ts);
    /* tmp + rename: a reader sees no file or the whole file, never a part. No fsync: the state dir lives in the
     * exec root, runtime state that does not outlive the machine (tmpfs /run normally), and a machine that goes
     * down takes the process with it; on a disk-backed exec root the two fsyncs put 1-5 ms of journal commits
     * between the process's exit and the daemon learning of it. */
    int fd = open("exit.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    bool ok = write_all(fd, out, (size_t)n);
    close(fd);
    if (!ok || rename("exit.json.tmp", "exit.json") < 0) unlink("exit.json.tmp");
}

/* Gives connections with queued output a bounded time to take it, then closes everything and exits. */
static void __attribute__((noreturn)) shutdown_and_exit(int code)
{
    xclose(&S.attach_lfd); /* no new attach connections: they would only see EOF */
    if (S.bound_attach) unlink("attach.sock");
    S.bound_attach = false;
    int64_t deadline = mono_ms() + FLUSH_TIMEOUT_MS;
    struct pollfd *p = calloc(S.nconns + 1, sizeof *p);
    for (;;) {
        size_t np = 0;
        for (size_t i = 0; i < S.nconns && p; i++) {
            struct conn *c = S.conns[i];
            if (!c->dead && buf_pending(&c->out) > 0) p[np++] = (struct pollfd){c->fd, POLLOUT, 0};
        }
        int64_t left = deadline - mono_ms();
        if (np == 0 || left <= 0) break;
        if (poll(p, np, (int)left) < 0 && errno != EINTR) break;
        for (size_t i = 0; i < S.nconns; i++)
            if (!S.conns[i]->dead && buf_pending(&S.conns[i]->out) > 0) conn_flush(S.conns[i]);
    }
    /* Sockets go before the connections close: whoever sees its connection end finds no stale socket. */
    remove_sockets();
    /* Control connections close now (the daemon learns of the exit). Attach clients see EOF after the last output
     * (SHUT_WR) but their connections stay open for reading until they close them too, or the deadline: a client
     * still writing stdin (`seq 100000 | docker exec -i c head -1`) would otherwise get EPIPE, and some clients
     * (Node's sockets, the daemon's) drop a connection on a failed write with the output in it still unread. */
    size_t lingering = 0;
    for (size_t i = 0; i < S.nconns; i++) {
        struct conn *c = S.conns[i];
        if (c->dead) continue;
        if (!c->ctl && !c->rd_eof && shutdown(c->fd, SHUT_WR) == 0) {
            lingering++;
            continue;
        }
        close(c->fd);
        c->dead = true;
    }
    while (lingering > 0 && p) {
        size_t np = 0;
        for (size_t i = 0; i < S.nconns; i++)
            if (!S.conns[i]->dead) p[np++] = (struct pollfd){S.conns[i]->fd, POLLIN, 0};
        int64_t left = deadline - mono_ms();
        if (left <= 0) break;
        if (poll(p, np, (int)left) < 0 && errno != EINTR) break;
        for (size_t i = 0, k = 0; i < S.nconns; i++) {
            struct conn *c = S.conns[i];
            if (c->dead) continue;
            short re = p[k++].revents;
            if (!re) continue;
            ssize_t n = recv(c->fd, rbuf, sizeof rbuf, MSG_DONTWAIT); /* stdin nobody will read: discarded */
            if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN))) continue;
            close(c->fd); /* the client closed (or the connection failed): done with it */
            c->dead = true;
            lingering--;
        }
    }
    for (size_t i = 0; i < S.nconns; i++)
        if (!S.conns[i]->dead) close(S.conns[i]->fd);
    reap_children();
    _exit(code);
}

static void __attribute__((noreturn)) finish(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    jlog_flush(0, &ts);
    jlog_flush(1, &ts);
    write_exit_json();
    shutdown_and_exit(0);
}

static void loop(void)
{
    struct pollfd *p = NULL;
    size_t pcap = 0;
    enum { P_SIG, P_CTL, P_ATTACH, P_OUT0, P_OUT1, P_STDIN, P_FIXED };
    reap_children(); /* a SIGCHLD consumed while create ran must not leave the process unreaped */
    for (;;) {
        if (S.quit) shutdown_and_exit(1);
        if (S.exited && S.out_fd[0] < 0 && S.out_fd[1] < 0) finish();
        if (pcap < P_FIXED + S.nconns) {
            pcap = (P_FIXED + S.nconns) * 2;
            struct pollfd *np = realloc(p, pcap * sizeof *p);
            if (!np) _exit(1);
            p = np;
        }
        bool stdin_room = buf_pending(&S.stdin_buf) < STDIN_HIGH_WATER;
        p[P_SIG] = (struct pollfd){S.sigfd, POLLIN, 0};
        p[P_CTL] = (struct pollfd){S.ctl_lfd, POLLIN, 0};
        p[P_ATTACH] = (struct pollfd){S.attach_lfd, POLLIN, 0};
        p[P_OUT0] = (struct pollfd){S.out_fd[0], POLLIN, 0};
        p[P_OUT1] = (struct pollfd){S.out_fd[1], POLLIN, 0};
        /* The stdin fd is polled only while there is something to write, and only after the start: before it
         * a pty master may report POLLHUP because no slave is open yet. */
        p[P_STDIN] = (struct pollfd){buf_pending(&S.stdin_buf) > 0 ? S.stdin_fd : -1, POLLOUT, 0};
        size_t n = P_FIXED, nc = S.nconns;
        for (size_t i = 0; i < nc; i++) {
            struct conn *c = S.conns[i];
            short ev = 0;
            /* Attach input is stdin: while too much is queued, leave it in the socket (backpressure). */
            if (!c->rd_eof && (c->ctl || stdin_room || !O.want_stdin || S.stdin_closed)) ev |= POLLIN;
            if (buf_pending(&c->out) > 0) ev |= POLLOUT;
            p[n++] = (struct pollfd){c->fd, ev, 0};
        }
        int timeout = -1;
        if (S.exited) {
            int64_t left = S.drain_deadline - mono_ms();
            timeout = left > 0 ? (int)left : 0;
        }
        int r = poll(p, n, timeout);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            _exit(1); /* EINVAL/EFAULT: a bug; nothing sane left to do */
        }
        if (r == 0) {
            if (S.exited && mono_ms() >= S.drain_deadline) force_drain();
            continue;
        }
        if (p[P_SIG].revents) {
            drain_sigfd();
            reap_children();
        }
        for (int s = 0; s < 2; s++)
            if (p[P_OUT0 + s].revents && p[P_OUT0 + s].fd == S.out_fd[s]) out_read(s);
        if (p[P_STDIN].revents && p[P_STDIN].fd == S.stdin_fd) {
            if (p[P_STDIN].revents & POLLOUT) stdin_flush();
            else if (p[P_STDIN].revents & (POLLERR | POLLHUP)) { /* reader gone */
                xclose(&S.stdin_fd);
                buf_free(&S.stdin_buf);
                S.stdin_closed = true;
            }
        }
        if (p[P_CTL].revents) accept_all(S.ctl_lfd, true);
        if (p[P_ATTACH].revents) accept_all(S.attach_lfd, false);
        for (size_t i = 0; i < nc; i++) {
            struct conn *c = S.conns[i];
            short re = p[P_FIXED + i].revents;
            if (c->dead || !re) continue;
            if (re & POLLERR) {
                conn_drop(c);
                continue;
            }
            if ((re & POLLIN) || ((re & POLLHUP) && !c->rd_eof)) conn_read(c);
            if (c->dead) continue;
            if (re & POLLOUT) {
                if (!conn_flush(c)) continue;
                if (c->ctl && c->rd_eof && buf_pending(&c->out) == 0) conn_drop(c);
            }
            /* POLLHUP: the peer closed both directions; once its last bytes are read, nothing can reach it. */
            if ((re & POLLHUP) && c->rd_eof) conn_drop(c);
        }
        conns_sweep();
    }
}

/* ---------------------------------------------------------------- main */

static void usage_fail(const char *msg)
{
    sync_error(msg);
    _exit(2);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **val = NULL;
        if (!strcmp(a, "--tty")) O.tty = true;
        else if (!strcmp(a, "--stdin")) O.want_stdin = true;
        else if (!strcmp(a, "--stdin-once")) O.stdin_once = true;
        else if (!strcmp(a, "--run")) O.run_mode = true;
        else if (!strcmp(a, "--native")) O.native = true;
        else if (!strcmp(a, "--log-format")) {
            if (i + 1 >= argc || (strcmp(argv[i + 1], "cri") && strcmp(argv[i + 1], "json-file")))
                usage_fail("berth-shim: --log-format is json-file or cri");
            O.cri_log = !strcmp(argv[++i], "cri");
        }
        else if (!strcmp(a, "--runtime")) val = &O.runtime;
        else if (!strcmp(a, "--runtime-root")) val = &O.runtime_root;
        else if (!strcmp(a, "--id")) val = &O.id;
        else if (!strcmp(a, "--bundle")) val = &O.bundle;
        else if (!strcmp(a, "--state-dir")) val = &O.state_dir;
        else if (!strcmp(a, "--log-path")) val = &O.log_path;
        else if (!strcmp(a, "--exec")) val = &O.exec_file;
        else if (!strcmp(a, "--exec-id")) val = &O.exec_id;
        else usage_fail(xasprintf("berth-shim: unknown argument %s", a));
        if (val) {
            if (i + 1 >= argc) usage_fail(xasprintf("berth-shim: %s needs a value", a));
            *val = argv[++i];
        }
    }
    if (!O.runtime || !O.id || !O.state_dir || (!O.exec_file && !O.bundle))
        usage_fail("berth-shim: --runtime, --id, --state-dir and (without --exec) --bundle are required");
    if (O.native && (!O.exec_file || O.tty))
        usage_fail("berth-shim: --native is for an --exec without --tty");
    /* The shim moves into the state dir, and the runtime may chdir too: hand everything over absolute. */
    if (strchr(O.runtime, '/')) O.runtime = absolute(O.runtime);
    O.runtime_root = absolute(O.runtime_root);
    O.bundle = absolute(O.bundle);
    O.state_dir = absolute(O.state_dir);
    O.log_path = absolute(O.log_path);
    O.exec_file = absolute(O.exec_file);
}

static int shim_main(int argc, char **argv, const char *answer_id);

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--launcher")) return launcher_main(shim_main);
    return shim_main(argc, argv, NULL);
}

/* The shim: run by main, or by the launcher in a child it forked (launcher.c), with the same arguments. Forked
 * (answer_id set), its parent is the launcher, which reaps it: it needs no fork of its own to leave its parent;
 * and it answers the daemon itself on fd 4 (sync_report). */
static int shim_main(int argc, char **argv, const char *answer_id)
{
    bool forked = answer_id != NULL;
    S.sync_fd = S.ctl_lfd = S.attach_lfd = S.console_lfd = S.console_conn = S.master = S.stdin_fd = S.in_rd = -1;
    S.out_fd[0] = S.out_fd[1] = S.out_wr[0] = S.out_wr[1] = -1;
    S.answer_fd = -1;
    if (fcntl(3, F_GETFD) >= 0) {
        S.sync_fd = 3;
        fcntl(3, F_SETFD, FD_CLOEXEC); /* the runtime and the container must not hold the report open */
    }
    if (forked && S.sync_fd >= 0 && fcntl(4, F_GETFD) >= 0) {
        S.answer_fd = 4;
        S.answer_id = answer_id;
        fcntl(4, F_SETFD, FD_CLOEXEC);
    }
    close_range(S.answer_fd >= 0 ? 5 : 4, ~0U, 0); /* whatever else the daemon leaked must not reach the container */
    parse_args(argc, argv);

    /* Detach: the daemon is not our parent (it can restart without taking us along), we have our own session
     * (no signals from its terminal or process group), and our stdio is nobody's. Forked by the launcher, we
     * already are its child, not the daemon's: no second fork. */
    pid_t pid = forked ? 0 : fork();
    if (pid < 0) usage_fail(xasprintf("fork: %s", strerror(errno)));
    if (pid > 0) _exit(0);
    setsid();
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (devnull > 2) close(devnull);
    }
    umask(022);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    S.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (S.sigfd < 0) setup_fail(xasprintf("signalfd: %s", strerror(errno)));
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    /* The runtime exits after create/exec; the process it leaves behind must become our child so we get its
     * exit status. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) setup_fail(xasprintf("PR_SET_CHILD_SUBREAPER: %s", strerror(errno)));

    if (mkdir(O.state_dir, 0700) == 0) S.created_dir = true;
    else if (errno != EEXIST) setup_fail(xasprintf("state dir %s: %s", O.state_dir, strerror(errno)));
    if (chdir(O.state_dir) < 0) setup_fail(xasprintf("state dir %s: %s", O.state_dir, strerror(errno)));
    S.in_state_dir = true;
    S.pid_path = xasprintf("%s/pid", O.state_dir);
    S.console_path = xasprintf("%s/console.sock", O.state_dir);
    S.reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    S.ctl_lfd = listen_unix("ctl.sock", 16, &S.bound_ctl);
    if (S.ctl_lfd < 0)
        setup_fail(errno == EADDRINUSE ? "another shim is running in this state dir"
                                       : xasprintf("ctl.sock: %s", strerror(errno)));
    S.attach_lfd = listen_unix("attach.sock", 64, &S.bound_attach);
    if (S.attach_lfd < 0) setup_fail(xasprintf("attach.sock: %s", strerror(errno)));
    /* Leftovers of an earlier run in this state dir would describe a process that is not ours. */
    unlink("exit.json");
    unlink("exit.json.tmp");
    unlink("pid");
    char pidtxt[24];
    int fd = open("shim.pid", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || !write_all(fd, pidtxt, (size_t)snprintf(pidtxt, sizeof pidtxt, "%d\n", (int)getpid())))
        setup_fail(xasprintf("shim.pid: %s", strerror(errno)));
    close(fd);

    if (O.log_path) {
        int lfd = open(O.log_path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        if (lfd >= 0) S.created_log = true;
        else if (errno == EEXIST) lfd = open(O.log_path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (lfd < 0) setup_fail(xasprintf("log %s: %s", O.log_path, strerror(errno)));
        jlog_init(lfd);
        if (O.cri_log) jlog_use_cri_format();
    }

    if (!O.tty) {
        int p[2];
        for (int s = 0; s < 2; s++) {
            if (pipe2(p, O_CLOEXEC) < 0) setup_fail(xasprintf("pipe: %s", strerror(errno)));
            set_nonblock(p[0]); /* only our end: the process gets an ordinary blocking pipe */
            S.out_fd[s] = p[0];
            S.out_wr[s] = p[1];
        }
        if (O.want_stdin) {
            if (pipe2(p, O_CLOEXEC) < 0) setup_fail(xasprintf("pipe: %s", strerror(errno)));
            set_nonblock(p[1]);
            S.in_rd = p[0];
            S.stdin_fd = p[1];
        }
    }

    if (!O.exec_file && !O.run_mode) do_create();

    char ready[64];
    snprintf(ready, sizeof ready, "{\"ready\":true,\"shimPid\":%d}\n", (int)getpid());
    sync_report(ready);
    loop();
    return 0;
}
