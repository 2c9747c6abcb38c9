/* The web server of berth's offline stand-ins for critest's nginx and httpd images: a static, single-process
 * HTTP/1.0 server for one directory. What critest observes of the real servers is reproduced:
 *  - as /usr/sbin/nginx it re-executes itself so /proc/<pid>/cmdline reads "nginx: master process ..." (the
 *    name pidof finds stays "nginx"), writes its pid to /var/run/nginx.pid, serves /usr/share/nginx/html on
 *    $NGINX_PORT (default 80);
 *  - as httpd-foreground it prints Apache's start-up notice with "Command line: 'httpd -D FOREGROUND'" on stderr
 *    and serves /usr/local/apache2/htdocs on port 80.
 * Each connection is served by a forked worker. SIGTERM and SIGINT end it. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define NGINX_TITLE "nginx: master process nginx -g daemon off;"

static const char *pidfile;

static void on_stop(int sig)
{
    (void)sig;
    if (pidfile) unlink(pidfile);
    _exit(0);
}

static void serve(int c, const char *root)
{
    char req[2048];
    ssize_t n = read(c, req, sizeof req - 1);
    if (n <= 0) return;
    req[n] = 0;
    char path[512] = "/";
    sscanf(req, "%*s %500s", path);
    if (strstr(path, "..")) strcpy(path, "/");
    char file[1024];
    snprintf(file, sizeof file, "%s%s%s", root, path, path[strlen(path) - 1] == '/' ? "index.html" : "");
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        static const char nf[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n";
        if (write(c, nf, sizeof nf - 1) < 0) {}
        if (fd >= 0) close(fd);
        return;
    }
    char head[256];
    int hl = snprintf(head, sizeof head, "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: %lld\r\nConnection: close\r\n\r\n", (long long)st.st_size);
    if (write(c, head, (size_t)hl) < 0) { close(fd); return; }
    char buf[8192];
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(c, buf, (size_t)n) < 0) break;
    close(fd);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *root, *port_env;
    if (strcmp(self, "nginx") == 0) {
        char *nargv[] = {NGINX_TITLE, NULL};
        execv("/usr/sbin/nginx", nargv); /* the master process's title */
        perror("execv /usr/sbin/nginx");
        return 1;
    }
    if (strncmp(argv[0], "nginx: ", 7) == 0) {
        root = "/usr/share/nginx/html";
        port_env = getenv("NGINX_PORT");
        pidfile = "/var/run/nginx.pid";
    } else {
        root = "/usr/local/apache2/htdocs";
        port_env = NULL;
        fprintf(stderr, "[mpm_event:notice] [pid %d] AH00489: Apache/2.4.39 (Unix) (berth stand-in) configured -- resuming normal operations\n", (int)getpid());
        fprintf(stderr, "[core:notice] [pid %d] AH00094: Command line: 'httpd -D FOREGROUND'\n", (int)getpid());
    }
    int port = port_env && *port_env ? atoi(port_env) : 80;
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    int v6 = 1;
    if (s < 0) { s = socket(AF_INET, SOCK_STREAM, 0); v6 = 0; }
    int one = 1, zero = 0;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (v6) {
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)port), .sin6_addr = IN6ADDR_ANY_INIT};
        rc = bind(s, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
        rc = bind(s, (struct sockaddr *)&a, sizeof a);
    }
    if (rc < 0 || listen(s, 64) < 0) {
        fprintf(stderr, "cannot listen on port %d: %s\n", port, strerror(errno));
        return 1;
    }
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");
        if (f) { fprintf(f, "%d\n", (int)getpid()); fclose(f); }
    }
    fprintf(stderr, "listening on port %d, serving %s\n", port, root);
    signal(SIGCHLD, SIG_IGN); /* workers are reaped by the kernel */
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) { if (errno == EINTR) continue; return 1; }
        /* one worker per connection (as nginx has workers): a client that connects and sends nothing
         * holds up only its own worker, and only for the read timeout */
        pid_t w = fork();
        if (w == 0) {
            close(s);
            struct timeval tv = {.tv_sec = 10};
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            serve(c, root);
            _exit(0);
        }
        close(c);
    }
}
