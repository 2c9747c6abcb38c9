/* An exec started by the shim itself, without a runtime process (`berth-shim --exec FILE --native`).
 *
 * `crun exec` costs 8-10 ms here, most of it crun's own start (it copies itself into a memfd and runs again,
 * then parses the container's config.json and state) and only ~1 ms the work: join the container's namespaces
 * and cgroups, set the credentials, capabilities and seccomp filter, exec. The shim is already running when the
 * exec starts, so it does that work directly, in crun exec's order (container.c: exec_process_entrypoint,
 * linux.c: libcrun_join_process, set_required_caps), and the process ends up the same: the same namespaces,
 * cgroups, uid/gid/groups, capability sets, no_new_privs, seccomp filter and flags, rlimits, umask, session.
 * The daemon uses it for non-terminal execs in crun containers only; anything else goes through the runtime.
 *
 * The exec file: NUL-terminated `key=value` records, written by the daemon (src/engine/exec/native.ts):
 *   pid=<container init pid>  start=<its start time, /proc/PID/stat field 22>
 *   uid=<n>  gid=<n>  group=<n>...  cwd=<dir>  arg=<s>...  env=<s>...
 *   caps=<bounding/effective/permitted set, decimal mask>  nnp=1
 *   seccomp=<file of raw struct sock_filter>  seccomp-flags=<n>
 *   cgroup=<a cgroup.procs file to join>...  rlimit=<RLIMIT_NAME> <soft> <hard>...
 *
 * Safety: the child is not dumpable from the fork to the exec (so a process in the container cannot open
 * /proc/PID/exe, the host's shim binary, or its fds while its capabilities have already been dropped), and
 * every fd beyond stdio is close-on-exec. The container's init is opened as a pidfd and its start time checked,
 * so a pid reused after the container exited is never joined. */
#define _GNU_SOURCE
#include "native-exec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define SPEC_MAX (1u << 20)
#define LIST_MAX 4096
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct rlim {
    int resource;
    struct rlimit value;
};

struct spec {
    char *data;
    pid_t pid;
    unsigned long long start;
    uid_t uid;
    gid_t gid;
    gid_t groups[LIST_MAX];
    size_t ngroups;
    const char *cwd;
    char *argv[LIST_MAX + 1];
    size_t argc;
    char *envp[LIST_MAX + 1];
    size_t envc;
    uint64_t caps;
    bool nnp;
    const char *seccomp_path;
    unsigned seccomp_flags;
    const char *cgroups[64];
    size_t ncgroups;
    struct rlim rlimits[32];
    size_t nrlimits;
};

static void fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

static char *read_file(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    /* a buffer the file's size (up to max), not max: a 1 MiB malloc is an mmap, its page faults and a munmap for
     * files of a few KiB, twice on the path of every exec; procfs files report size 0 and get a small one */
    struct stat st;
    if (fstat(fd, &st) == 0 && max > 4096) max = st.st_size <= 0 ? 4096 : (size_t)st.st_size < max ? (size_t)st.st_size : max;
    char *buf = malloc(max + 1);
    size_t n = 0;
    while (buf && n < max) {
        ssize_t r = read(fd, buf + n, max - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (buf) buf[n] = 0;
    *len = n;
    return buf;
}

static bool parse_ull(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return !errno && end != s && !*end && *s != '-';
}

static int rlimit_number(const char *name)
{
    static const struct { const char *name; int res; } names[] = {
        {"RLIMIT_CPU", RLIMIT_CPU}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_STACK", RLIMIT_STACK}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(names[i].name, name)) return names[i].res;
    return -1;
}

/* Parses the exec file into s (whose strings point into s->data). */
static bool parse_spec(const char *path, struct spec *s, char *err, size_t errlen)
{
    size_t len;
    memset(s, 0, sizeof *s);
    s->cwd = "/";
    s->data = read_file(path, SPEC_MAX, &len);
    if (!s->data) {
        fail(err, errlen, "cannot read the exec file %s: %s", path, strerror(errno));
        return false;
    }
    bool have_pid = false, have_start = false;
    for (char *p = s->data, *next; p < s->data + len; p = next) {
        next = p + strlen(p) + 1; /* before the '=' below is cut */
        char *eq = strchr(p, '=');
        if (!eq) continue;
        *eq = 0;
        const char *k = p, *v = eq + 1;
        unsigned long long n = 0;
        bool ok = true;
        if (!strcmp(k, "pid")) ok = have_pid = parse_ull(v, &n) && n > 0 && n < INT32_MAX, s->pid = (pid_t)n;
        else if (!strcmp(k, "start")) ok = have_start = parse_ull(v, &s->start);
        else if (!strcmp(k, "uid")) ok = parse_ull(v, &n) && n < UINT32_MAX, s->uid = (uid_t)n;
        else if (!strcmp(k, "gid")) ok = parse_ull(v, &n) && n < UINT32_MAX, s->gid = (gid_t)n;
        else if (!strcmp(k, "group")) {
            ok = parse_ull(v, &n) && n < UINT32_MAX && s->ngroups < LIST_MAX;
            if (ok) s->groups[s->ngroups++] = (gid_t)n;
        } else if (!strcmp(k, "cwd")) s->cwd = v;
        else if (!strcmp(k, "arg")) {
            ok = s->argc < LIST_MAX;
            if (ok) s->argv[s->argc++] = (char *)v;
        } else if (!strcmp(k, "env")) {
            ok = s->envc < LIST_MAX;
            if (ok) s->envp[s->envc++] = (char *)v;
        } else if (!strcmp(k, "caps")) ok = parse_ull(v, &n), s->caps = n;
        else if (!strcmp(k, "nnp")) s->nnp = !strcmp(v, "1");
        else if (!strcmp(k, "seccomp")) s->seccomp_path = v;
        else if (!strcmp(k, "seccomp-flags")) ok = parse_ull(v, &n) && n < 1024, s->seccomp_flags = (unsigned)n;
        else if (!strcmp(k, "cgroup")) {
            ok = s->ncgroups < sizeof s->cgroups / sizeof s->cgroups[0];
            if (ok) s->cgroups[s->ncgroups++] = v;
        } else if (!strcmp(k, "rlimit")) {
            char name[32];
            unsigned long long soft, hard;
            ok = s->nrlimits < sizeof s->rlimits / sizeof s->rlimits[0] &&
                 sscanf(v, "%31s %llu %llu", name, &soft, &hard) == 3 && rlimit_number(name) >= 0;
            if (ok) s->rlimits[s->nrlimits++] = (struct rlim){rlimit_number(name), {(rlim_t)soft, (rlim_t)hard}};
        } else {
            ok = false;
        }
        if (!ok) {
            fail(err, errlen, "exec file: bad record %s=%.40s", k, v);
            return false;
        }
    }
    if (!have_pid || !have_start || s->argc == 0) {
        fail(err, errlen, "exec file: pid, start and arg are required");
        return false;
    }
    return true;
}

/* The start time (clock ticks since boot) of pid, or 0. */
static unsigned long long start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may contain spaces and parentheses */
    if (!p) return 0;
    /* ") " then field 3 (state): the n-th space from the ')' starts field n+2, so the start time (field 22)
     * follows the 20th */
    for (int spaces = 0; spaces < 20 && p; spaces++) p = strchr(p + 1, ' ');
    return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* Whether pid's namespace `name` differs from ours (`self`: ours to compare with). */
static bool ns_differs(pid_t pid, const char *name, const char *self)
{
    char path[64], own[64];
    struct stat a, b;
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, name);
    snprintf(own, sizeof own, "/proc/self/ns/%s", self);
    if (stat(path, &a) < 0) return false; /* a namespace kind this kernel does not have */
    if (stat(own, &b) < 0) return true;
    return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* ---------------------------------------------------------------- the child */

/* Reports why the exec failed on the report pipe (the parent reads it as the error) and ends the child. */
static void __attribute__((noreturn)) child_fail(int rfd, const char *fmt, ...)
{
    char m[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (n > 0) {
        ssize_t w = write(rfd, m, (size_t)n < sizeof m ? (size_t)n : sizeof m - 1);
        (void)w;
    }
    _exit(127);
}

static const char *env_get(const struct spec *s, const char *name)
{
    size_t l = strlen(name);
    for (size_t i = 0; i < s->envc; i++)
        if (!strncmp(s->envp[i], name, l) && s->envp[i][l] == '=') return s->envp[i] + l + 1;
    return NULL;
}

/* args[0] as a path: itself when it has a slash, else the first executable regular file on the process's PATH
 * (the container's, not ours). NULL when there is none. */
static const char *find_executable(const struct spec *s, char *buf, size_t n)
{
    const char *a0 = s->argv[0];
    if (strchr(a0, '/')) return a0;
    const char *path = env_get(s, "PATH");
    if (!path) path = DEFAULT_PATH;
    for (const char *p = path;; p++) {
        const char *e = strchrnul(p, ':');
        int l = snprintf(buf, n, "%.*s%s%s", (int)(e - p), p, e == p ? "" : "/", a0);
        struct stat st;
        if (l > 0 && (size_t)l < n && stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0) return buf;
        if (!*e) return NULL;
        p = e;
    }
}

static void apply_seccomp(int rfd, const struct sock_filter *prog, size_t count, unsigned flags)
{
    if (!prog) return;
    struct sock_fprog fprog = {.len = (unsigned short)count, .filter = (struct sock_filter *)prog};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog) < 0)
        child_fail(rfd, "cannot load the seccomp filter: %s", strerror(errno));
}

static void __attribute__((noreturn)) child(const struct spec *s, int pidfd, int nsflags, int rfd, int fd0, int fd1,
                                            int fd2, const struct sock_filter *prog, size_t count)
{
    /* Before anything of the container can see us: our /proc entries (exe is the host's shim binary) stay closed
     * to everyone without CAP_SYS_PTRACE, as crun does for itself. execve makes the process dumpable again. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* not our blocked SIGCHLD, nor our ignored SIGPIPE/SIGHUP */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);

    /* rlimits and cgroups as the host's root, before the namespaces change (a user namespace's root may not
     * raise a hard limit; the cgroup paths are the host's) */
    for (size_t i = 0; i < s->nrlimits; i++)
        if (setrlimit(s->rlimits[i].resource, &s->rlimits[i].value) < 0)
            child_fail(rfd, "setrlimit %d: %s", s->rlimits[i].resource, strerror(errno));
    for (size_t i = 0; i < s->ncgroups; i++) {
        int fd = open(s->cgroups[i], O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) child_fail(rfd, "cannot join the cgroup %s: %s", s->cgroups[i], strerror(errno));
        close(fd);
    }
    if (nsflags && setns(pidfd, nsflags) < 0) child_fail(rfd, "cannot join the container's namespaces: %s", strerror(errno));
    if (setsid() < 0) child_fail(rfd, "setsid: %s", strerror(errno));
    /* fd0..fd2 are /dev/null (0) or fds >= 3, so these cannot clobber each other */
    if (dup2(fd0, 0) < 0 || dup2(fd1, 1) < 0 || dup2(fd2, 2) < 0) child_fail(rfd, "dup2: %s", strerror(errno));
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        for (int fd = 3; fd < 1024; fd++)
            if (fd != rfd) fcntl(fd, F_SETFD, FD_CLOEXEC);

    bool chdir_done = chdir(s->cwd) == 0; /* retried as the user: a directory only they may enter */
    umask(0022);
    if (!s->nnp) apply_seccomp(rfd, prog, count, s->seccomp_flags); /* needs CAP_SYS_ADMIN: before the drop */
    if (setgroups(s->ngroups, s->groups) < 0) {
        /* a user namespace whose setgroups is denied: crun skips the call there too */
        size_t l;
        char *c = read_file("/proc/self/setgroups", 15, &l);
        bool denied = c && !strncmp(c, "deny", 4);
        free(c);
        if (!denied) child_fail(rfd, "setgroups: %s", strerror(errno));
    }
    for (int i = 0; i < 3; i++) {
        /* crun gives the stdio pipes to the user, so a process that reopens /proc/self/fd/1 may */
        struct stat st;
        if (isatty(i) || fstat(i, &st) < 0 || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) continue;
        if (fchown(i, s->uid, s->gid) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS && errno != EBADF)
            child_fail(rfd, "fchown std stream %d: %s", i, strerror(errno));
    }
    for (unsigned long cap = 0; cap <= 63; cap++)
        if (!(s->caps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            child_fail(rfd, "prctl drop bounding: %s", strerror(errno));
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) child_fail(rfd, "prctl set KEEPCAPS: %s", strerror(errno));
    if (setresgid(s->gid, s->gid, s->gid) < 0) child_fail(rfd, "setresgid to `%u`: %s", (unsigned)s->gid, strerror(errno));
    if (setresuid(s->uid, s->uid, s->uid) < 0) child_fail(rfd, "setresuid to `%u`: %s", (unsigned)s->uid, strerror(errno));
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0}};
    data[0].effective = data[0].permitted = (uint32_t)s->caps;
    data[1].effective = data[1].permitted = (uint32_t)(s->caps >> 32);
    if (syscall(SYS_capset, &hdr, data) < 0) child_fail(rfd, "capset: %s", strerror(errno));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL && errno != EPERM)
        child_fail(rfd, "prctl reset ambient: %s", strerror(errno));
    if (s->nnp) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(rfd, "prctl set no new privs: %s", strerror(errno));
        apply_seccomp(rfd, prog, count, s->seccomp_flags);
    }
    if (!chdir_done && chdir(s->cwd) < 0)
        child_fail(rfd, "chdir to cwd (\"%s\") set in config.json failed: %s", s->cwd, strerror(errno));
    char buf[4096];
    const char *exe = find_executable(s, buf, sizeof buf);
    if (!exe) child_fail(rfd, "executable file `%s` not found in $PATH: No such file or directory", s->argv[0]);
    execve(exe, s->argv, s->envp);
    child_fail(rfd, "exec `%s`: %s", exe, strerror(errno));
}

/* ---------------------------------------------------------------- the parent (the shim) */

pid_t native_exec_start(const char *spec_path, int fd0, int fd1, int fd2, char *err, size_t errlen)
{
    struct spec s;
    pid_t pid = -1;
    int pidfd = -1, rp[2] = {-1, -1};
    char *bpf = NULL;
    size_t bpf_len = 0;
    if (!parse_spec(spec_path, &s, err, errlen)) goto out;
    if (s.seccomp_path) {
        bpf = read_file(s.seccomp_path, 1u << 20, &bpf_len);
        if (!bpf || bpf_len == 0 || bpf_len % sizeof(struct sock_filter) || bpf_len / sizeof(struct sock_filter) > 0xffff) {
            fail(err, errlen, "cannot read the seccomp filter %s", s.seccomp_path);
            goto out;
        }
    }
    pidfd = (int)syscall(SYS_pidfd_open, s.pid, 0);
    /* checked after the open: if the pid was reused meanwhile, its start time tells */
    if (pidfd < 0 || start_time(s.pid) != s.start) {
        fail(err, errlen, "the container's process %d is not running", (int)s.pid);
        goto out;
    }
    /* The pid (and time) namespace applies to our children: joined here, so the one fork below lands in it. This
     * shim serves this one exec and forks nothing else. The others are joined by the child. */
    int parent_ns = (ns_differs(s.pid, "pid", "pid_for_children") ? CLONE_NEWPID : 0) |
                    (ns_differs(s.pid, "time", "time_for_children") ? CLONE_NEWTIME : 0);
    int child_ns = (ns_differs(s.pid, "user", "user") ? CLONE_NEWUSER : 0) | (ns_differs(s.pid, "mnt", "mnt") ? CLONE_NEWNS : 0) |
                   (ns_differs(s.pid, "uts", "uts") ? CLONE_NEWUTS : 0) | (ns_differs(s.pid, "ipc", "ipc") ? CLONE_NEWIPC : 0) |
                   (ns_differs(s.pid, "net", "net") ? CLONE_NEWNET : 0) | (ns_differs(s.pid, "cgroup", "cgroup") ? CLONE_NEWCGROUP : 0);
    if (parent_ns && setns(pidfd, parent_ns) < 0) {
        fail(err, errlen, "cannot join the container's pid namespace: %s", strerror(errno));
        goto out;
    }
    if (pipe2(rp, O_CLOEXEC) < 0) {
        fail(err, errlen, "pipe: %s", strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        fail(err, errlen, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        close(rp[0]);
        child(&s, pidfd, child_ns, rp[1], fd0, fd1, fd2, (const struct sock_filter *)bpf, bpf_len / sizeof(struct sock_filter));
    }
    close(rp[1]);
    rp[1] = -1;
    /* EOF without a word: the exec succeeded (the pipe is close-on-exec). Otherwise the child's reason. */
    size_t n = 0;
    for (;;) {
        ssize_t r = read(rp[0], err + n, errlen - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
        if (n >= errlen - 1) break;
    }
    err[n] = 0;
    if (n > 0) pid = -1; /* the child has exited (127); the caller's reaping collects it */
out:
    if (pidfd >= 0) close(pidfd);
    if (rp[0] >= 0) close(rp[0]);
    if (rp[1] >= 0) close(rp[1]);
    free(bpf);
    free(s.data);
    return pid;
}
