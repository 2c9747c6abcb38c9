/* A growable byte queue: bytes live in data[off, len). Used for per-client output, held output and stdin.
 * Memory is released as soon as a queue drains so an idle shim keeps almost nothing allocated. */
#ifndef BERTH_SHIM_BUF_H
#define BERTH_SHIM_BUF_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *data;
    size_t off, len, cap;
} buf_t;

static inline size_t buf_pending(const buf_t *b) { return b->len - b->off; }

static inline void buf_free(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->off = b->len = b->cap = 0;
}

/* false only when out of memory (the caller then drops the data or the client) */
static inline bool buf_append(buf_t *b, const void *p, size_t n)
{
    if (n == 0) return true;
    if (b->len + n > b->cap && b->off > 0) { /* reuse the consumed front before growing */
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return false;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

static inline void buf_consume(buf_t *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len) buf_free(b); /* drained: give the memory back */
}

#endif
