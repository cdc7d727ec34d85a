/* Error codes, the per-thread last error message, and the log callback. */
#include "svx_internal.h"

#include <stdio.h>
#include <string.h>

static svx_log_fn g_log_fn;
static void *g_log_user;
static _Thread_local char t_last_error[512];

const char *svx_strerror(int err)
{
    switch (err) {
    case SVX_OK: return "success";
    case SVX_ERR_INVALID_ARG: return "invalid argument";
    case SVX_ERR_NO_MEMORY: return "out of memory";
    case SVX_ERR_IO: return "input/output error";
    case SVX_ERR_FORMAT: return "unrecognised or malformed file format";
    case SVX_ERR_TRUNCATED: return "truncated file";
    case SVX_ERR_BAD_MAGIC: return "bad magic number";
    case SVX_ERR_VERSION: return "unsupported format version";
    case SVX_ERR_CHECKSUM: return "checksum mismatch";
    case SVX_ERR_SHAPE: return "impossible shape, size or offset";
    case SVX_ERR_ENCODING: return "unknown encoding or layer type";
    case SVX_ERR_BAD_AUDIO: return "bad audio";
    case SVX_ERR_DEVICE: return "audio device error";
    case SVX_ERR_STATE: return "invalid call in current state";
    case SVX_ERR_KEYWORD: return "bad keyword";
    case SVX_ERR_FULL: return "queue full";
    default: return "unknown error";
    }
}

const char *svx_last_error_message(void) { return t_last_error; }

void svx_clear_error(void) { t_last_error[0] = '\0'; }

void svx_set_log(svx_log_fn fn, void *user_data)
{
    g_log_fn = fn;
    g_log_user = user_data;
}

static void vlog(svx_log_level level, const char *fmt, va_list ap)
{
    char buf[512];
    if (!g_log_fn)
        return;
    vsnprintf(buf, sizeof buf, fmt, ap);
    g_log_fn(g_log_user, level, buf);
}

void svx_log(svx_log_level level, const char *fmt, ...)
{
    va_list ap;
    if (!g_log_fn)
        return;
    va_start(ap, fmt);
    vlog(level, fmt, ap);
    va_end(ap);
}

int svx_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t_last_error, sizeof t_last_error, fmt, ap);
    va_end(ap);
    if (g_log_fn)
        g_log_fn(g_log_user, SVX_LOG_ERROR, t_last_error);
    return err;
}

int svx_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

int svx_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return -1;
    *out = a + b;
    return 0;
}
