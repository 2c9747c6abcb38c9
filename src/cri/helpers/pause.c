/* berth-pause: the process that holds a CRI pod's namespaces (network, IPC, UTS, optionally PID) for as long as
 * the pod lives. As PID 1 of a pod-wide PID namespace it also reaps the orphans of the pod's containers.
 * It runs in an empty root file system of its own, so it is linked statically. SIGTERM/SIGINT end it. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) { (void)sig; _exit(0); }

static void on_child(int sig)
{
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        static const char v[] = "berth-pause 1\n";
        return write(1, v, sizeof v - 1) < 0;
    }
    struct sigaction stop = {.sa_handler = on_stop};
    struct sigaction reap = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
    if (sigaction(SIGTERM, &stop, NULL) || sigaction(SIGINT, &stop, NULL) || sigaction(SIGCHLD, &reap, NULL)) return 1;
    for (;;) pause();
}
