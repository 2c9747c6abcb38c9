/* berth-shim --launcher: see launcher.c */
#ifndef BERTH_SHIM_LAUNCHER_H
#define BERTH_SHIM_LAUNCHER_H

#include <stdbool.h>

/* Serves spawn requests on stdin until it ends; returns the exit status. A request for this same binary runs
 * shim_main (the shim's own main) in a forked child instead of exec'ing it, with answer_id the request's id:
 * the child then has the daemon's answer pipe as fd 4, to answer `<answer_id> <report>\n` itself (and "R" on
 * its report pipe, fd 3, to say so). answer_id is NULL for an ordinary start. */
int launcher_main(int (*shim_main)(int argc, char **argv, const char *answer_id));

#endif
