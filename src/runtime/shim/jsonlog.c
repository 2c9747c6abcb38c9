/* Docker json-file log writer: {"log":"hi\n","stream":"stdout","time":"2026-11-25T16:15:00.123456789Z"}
 *
 * One entry per line of output, the entry keeping its "\n". A line longer than JLOG_MAX_LINE is cut into pieces
 * of that size (cut on a UTF-8 boundary so a character is not turned into two U+FFFD), and a partial line is
 * flushed when its stream ends. Each entry goes to the O_APPEND file with one write(2), so concurrent readers
 * (docker logs -f) never see half an entry and nothing interleaves inside it. */
#define _GNU_SOURCE
#include "jsonlog.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

/* ---- time ---- */

size_t fmt_rfc3339nano(char *out, const struct timespec *ts)
{
    /* gmtime_r+strftime only once per second: a chatty container logs many lines per second */
    static time_t cached_sec = (time_t)-1;
    static char cached[24];
    if (ts->tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts->tv_sec, &tm);
        strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_sec = ts->tv_sec;
    }
    size_t n = strlen(cached);
    memcpy(out, cached, n);
    out[n++] = '.';
    long ns = ts->tv_nsec;
    for (int i = 8; i >= 0; i--) { /* always 9 digits: fixed width sorts and parses easily */
        out[n + (size_t)i] = (char)('0' + ns % 10);
        ns /= 10;
    }
    n += 9;
    out[n++] = 'Z';
    out[n] = '\0';
    return n;
}

/* ---- JSON escaping ---- */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when the byte at s does not start one. Follows the
 * Unicode "well-formed" table, so overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;      /* overlong */
        else if (c == 0xED) hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;      /* overlong */
        else if (c == 0xF4) hi = 0x8F; /* > U+10FFFF */
    } else
        return 0;
    if (n < need || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return need;
}

/* Bytes at the end of buf that start a UTF-8 sequence the buffer does not complete (0-3). */
static size_t utf8_incomplete_tail(const unsigned char *buf, size_t len)
{
    for (size_t i = 1; i <= 3 && i <= len; i++) {
        unsigned char c = buf[len - i];
        if ((c & 0xC0) == 0x80) continue; /* continuation byte: keep looking for the lead byte */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        return need > i ? i : 0;
    }
    return 0;
}

/* Same output as Go's encoding/json (which Docker's json-file uses): short escapes for " \ \n \r \t, \u00XX for
 * the other control characters, HTML-safe \u003c \u003e \u0026, \u2028 \u2029 (line separators break JS
 * parsers), and one U+FFFD per byte that is not part of valid UTF-8. */
size_t json_escape(char *dst, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *d = dst;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                *d++ = (char)c;
                continue;
            }
            *d++ = '\\';
            switch (c) {
            case '"': *d++ = '"'; break;
            case '\\': *d++ = '\\'; break;
            case '\n': *d++ = 'n'; break;
            case '\r': *d++ = 'r'; break;
            case '\t': *d++ = 't'; break;
            default:
                *d++ = 'u'; *d++ = '0'; *d++ = '0';
                *d++ = hex[c >> 4]; *d++ = hex[c & 15];
            }
            continue;
        }
        size_t l = utf8_valid_len(s + i, n - i);
        if (l == 0) {
            memcpy(d, "\\ufffd", 6);
            d += 6;
            i++;
        } else if (l == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
            memcpy(d, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
            d += 6;
            i += 3;
        } else {
            memcpy(d, s + i, l);
            d += l;
            i += l;
        }
    }
    return (size_t)(d - dst);
}

/* ---- the log ---- */

static int log_fd = -1;
/* Static so nothing is allocated; only the pages actually used become resident. */
static unsigned char partial[2][JLOG_MAX_LINE];
static size_t partial_len[2];
static char entry[JLOG_MAX_LINE * 6 + 128];
static const char *const stream_name[2] = {"stdout", "stderr"};

static bool cri_format;

void jlog_init(int fd) { log_fd = fd; }
void jlog_use_cri_format(void) { cri_format = true; }

void jlog_reopen(int fd)
{
    if (log_fd >= 0) close(log_fd);
    log_fd = fd;
}

/* "<time> <stream> <F|P> <bytes without the newline>\n": the bytes go as they are (the format is line-based,
 * not JSON); a piece without its newline (a cut long line, the end of a stream) is tagged P, except at the end
 * of a stream, where the rest of the output is all there will be (F, as containerd writes it). */
static size_t cri_entry(int stream, const unsigned char *p, size_t n, const struct timespec *ts, bool last)
{
    char *d = entry;
    d += fmt_rfc3339nano(d, ts);
    *d++ = ' ';
    d = stpcpy(d, stream_name[stream]);
    bool full = n > 0 && p[n - 1] == '\n';
    if (full) n--;
    d = stpcpy(d, full || last ? " F " : " P ");
    memcpy(d, p, n);
    d += n;
    *d++ = '\n';
    return (size_t)(d - entry);
}

static void emit_entry(int stream, const unsigned char *p, size_t n, const struct timespec *ts, bool last);

static void emit(int stream, const unsigned char *p, size_t n, const struct timespec *ts)
{
    emit_entry(stream, p, n, ts, false);
}

static void emit_entry(int stream, const unsigned char *p, size_t n, const struct timespec *ts, bool last)
{
    char *d = entry;
    if (cri_format) {
        d += cri_entry(stream, p, n, ts, last);
        goto write_it;
    }
    memcpy(d, "{\"log\":\"", 8);
    d += 8;
    d += json_escape(d, p, n);
    d = stpcpy(d, "\",\"stream\":\"");
    d = stpcpy(d, stream_name[stream]);
    d = stpcpy(d, "\",\"time\":\"");
    d += fmt_rfc3339nano(d, ts);
    d = stpcpy(d, "\"}\n");
write_it:;
    size_t len = (size_t)(d - entry), off = 0;
    /* One write(2) suffices for a regular file; the loop only covers EINTR and the odd short write. A full
     * disk loses the entry rather than blocking the container. */
    while (off < len) {
        ssize_t w = write(log_fd, entry + off, len - off);
        if (w > 0) off += (size_t)w;
        else if (w < 0 && errno == EINTR) continue;
        else break;
    }
    /* Fault "disk full while logging": a short write left half an entry without its newline, and the next entry
     * (once there is room again) was glued to it, so readers lost both. The shim is the file's only writer:
     * cut the half entry off again. */
    if (off > 0 && off < len) {
        off_t end = lseek(log_fd, 0, SEEK_END);
        if (end >= (off_t)off && ftruncate(log_fd, end - (off_t)off) != 0) { /* nothing more to do */ }
    }
}

void jlog_feed(int stream, const char *data_, size_t len, const struct timespec *ts)
{
    const unsigned char *data = (const unsigned char *)data_;
    if (log_fd < 0) return;
    unsigned char *pb = partial[stream];
    size_t *pl = &partial_len[stream];
    while (len > 0) {
        if (*pl == 0) {
            /* Nothing pending: lines complete in this chunk are written straight from it, no copy. */
            size_t scan = len < JLOG_MAX_LINE ? len : JLOG_MAX_LINE;
            const unsigned char *nl = memchr(data, '\n', scan);
            size_t n;
            if (nl) n = (size_t)(nl - data) + 1;
            else if (len >= JLOG_MAX_LINE) n = JLOG_MAX_LINE - utf8_incomplete_tail(data, JLOG_MAX_LINE);
            else {
                memcpy(pb, data, len);
                *pl = len;
                return;
            }
            emit(stream, data, n, ts);
            data += n;
            len -= n;
            continue;
        }
        size_t take = JLOG_MAX_LINE - *pl;
        if (take > len) take = len;
        const unsigned char *nl = memchr(data, '\n', take);
        if (nl) take = (size_t)(nl - data) + 1;
        memcpy(pb + *pl, data, take);
        *pl += take;
        data += take;
        len -= take;
        if (nl) {
            emit(stream, pb, *pl, ts);
            *pl = 0;
        } else if (*pl == JLOG_MAX_LINE) {
            size_t keep = utf8_incomplete_tail(pb, JLOG_MAX_LINE);
            emit(stream, pb, JLOG_MAX_LINE - keep, ts);
            memmove(pb, pb + JLOG_MAX_LINE - keep, keep);
            *pl = keep;
        }
    }
}

void jlog_flush(int stream, const struct timespec *ts)
{
    if (log_fd >= 0 && partial_len[stream] > 0) emit_entry(stream, partial[stream], partial_len[stream], ts, true);
    partial_len[stream] = 0;
}
