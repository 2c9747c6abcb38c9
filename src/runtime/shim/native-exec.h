/* berth-shim --native: an exec started by the shim itself instead of `RUNTIME exec` (see native-exec.c) */
#ifndef BERTH_SHIM_NATIVE_EXEC_H
#define BERTH_SHIM_NATIVE_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Starts the process the exec file describes in the running container, with fd0..fd2 as its stdio. Returns its
 * pid (our child), or -1 with a one-line reason in err. The caller's SIGCHLD handling reaps it as usual. */
pid_t native_exec_start(const char *spec_path, int fd0, int fd1, int fd2, char *err, size_t errlen);

#endif
