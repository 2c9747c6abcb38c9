/* berth-shim --launcher: see launcher.c */
#ifndef BERTH_SHIM_LAUNCHER_H
#define BERTH_SHIM_LAUNCHER_H

#include <stdbool.h>
#include <stddef.h>

/* Serves spawn requests on stdin until it ends; returns the exit status. A request for this same binary runs
 * shim_main (the shim's own main) in a forked child instead of exec'ing it, with answer_id the request's id:
 * the child then has the daemon's answer pipe as fd 4, to answer `<answer_id> <report>\n` itself (and "R" on
 * its report pipe, fd 3, to say so). answer_id is NULL for an ordinary start. */
int launcher_main(int (*shim_main)(int argc, char **argv, const char *answer_id));

/* The answer line `<id> <report up to its first newline>\n` into out; its length, or 0 when it needs more than
 * cap bytes. The launcher's answers and a forked shim's own (berth-shim.c, sync_report) are built by it. */
size_t answer_line(char *out, size_t cap, const char *id, const char *report, size_t len);

#endif
