/* berth-shim --launcher: see launcher.c */
#ifndef BERTH_SHIM_LAUNCHER_H
#define BERTH_SHIM_LAUNCHER_H

#include <stdbool.h>

/* Serves spawn requests on stdin until it ends; returns the exit status. A request for this same binary runs
 * shim_main (the shim's own main) in a forked child instead of exec'ing it. */
int launcher_main(int (*shim_main)(int argc, char **argv, bool forked));

#endif
