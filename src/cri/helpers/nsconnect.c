/* berth-nsconnect NETNS PORT: connects to 127.0.0.1:PORT (else [::1]:PORT) inside the network namespace bound at
 * NETNS and relays the connection over stdin/stdout, half-closes included: CRI port forwarding into a pod.
 * (The daemon is Node.js: it cannot enter a namespace for one socket, and cannot receive a descriptor from a
 * helper, so a helper carries the bytes.) Exits 1 with a message on stderr when the connection fails. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int try_connect(int family, const char *addr, int port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int rc;
    if (family == AF_INET) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
        inet_pton(AF_INET, addr, &sa.sin_addr);
        rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    } else {
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((unsigned short)port)};
        inet_pton(AF_INET6, addr, &sa.sin6_addr);
        rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    }
    if (rc == 0) return fd;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: berth-nsconnect NETNS PORT\n");
        return 2;
    }
    int port = atoi(argv[2]);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "invalid port %s\n", argv[2]);
        return 2;
    }
    if (strcmp(argv[1], "-") != 0) {
        int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
            fprintf(stderr, "cannot enter network namespace %s: %s\n", argv[1], strerror(errno));
            return 1;
        }
        close(ns);
    }
    int s = try_connect(AF_INET, "127.0.0.1", port);
    if (s < 0) {
        int e = errno;
        s = try_connect(AF_INET6, "::1", port);
        if (s < 0) {
            fprintf(stderr, "failed to connect to localhost:%d inside namespace: %s\n", port, strerror(e));
            return 1;
        }
    }
    char buf[65536];
    int in_open = 1, out_open = 1;
    while (out_open) {
        struct pollfd p[2] = {{.fd = in_open ? 0 : -1, .events = POLLIN}, {.fd = s, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (in_open && p[0].revents) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0) {
                in_open = 0;
                shutdown(s, SHUT_WR);
            } else {
                for (ssize_t off = 0; off < n;) {
                    ssize_t w = write(s, buf + off, (size_t)(n - off));
                    if (w < 0) {
                        if (errno == EINTR) continue;
                        return 0;
                    }
                    off += w;
                }
            }
        }
        if (p[1].revents) {
            ssize_t n = read(s, buf, sizeof buf);
            if (n <= 0) {
                out_open = 0;
            } else {
                for (ssize_t off = 0; off < n;) {
                    ssize_t w = write(1, buf + off, (size_t)(n - off));
                    if (w < 0) {
                        if (errno == EINTR) continue;
                        return 0;
                    }
                    off += w;
                }
            }
        }
    }
    return 0;
}
