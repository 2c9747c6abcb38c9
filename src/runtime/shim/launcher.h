/* berth-shim --launcher: see launcher.c */
#ifndef BERTH_SHIM_LAUNCHER_H
#define BERTH_SHIM_LAUNCHER_H

/* Serves spawn requests on stdin until it ends; returns the exit status. */
int launcher_main(void);

#endif
