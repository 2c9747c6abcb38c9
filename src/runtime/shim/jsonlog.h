/* Docker json-file log writer and the JSON helpers the shim needs. */
#ifndef BERTH_SHIM_JSONLOG_H
#define BERTH_SHIM_JSONLOG_H

#include <stddef.h>
#include <time.h>

/* Longest entry payload: a partial line is flushed as its own entry once it reaches this size (like Docker). */
#define JLOG_MAX_LINE 16384

/* RFC3339 UTC with nanoseconds, "2026-11-25T16:15:00.123456789Z"; out needs 31 bytes. Returns the length. */
size_t fmt_rfc3339nano(char *out, const struct timespec *ts);

/* JSON string body escaping of arbitrary bytes (no quotes added). dst needs 6*n bytes. Returns the length. */
size_t json_escape(char *dst, const unsigned char *src, size_t n);

/* The log: fd is an O_APPEND file or -1 (no log). Streams: 0 = stdout, 1 = stderr. */
void jlog_init(int fd);
/* Entries in the Kubernetes CRI format instead: "<RFC3339Nano> stdout F hi" ("P" for a piece of a longer line). */
void jlog_use_cri_format(void);
/* Swaps the log file (CRI ReopenContainerLog, after the kubelet rotated it); the old fd is closed. */
void jlog_reopen(int fd);
/* Feeds output of one stream; complete lines (and 16 KiB pieces of longer ones) are written at once. */
void jlog_feed(int stream, const char *data, size_t len, const struct timespec *ts);
/* Writes the pending partial line of a stream (at its end, or when the shim finishes). */
void jlog_flush(int stream, const struct timespec *ts);

#endif
