/* pp_error.c - status codes and error values (see pp_error.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pp_error.h"
#include "pp_log.h"

int pp_error_set(pp_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int pp_error_prefix(pp_error *err, const char *fmt, ...)
{
    char head[PP_ERROR_MSG_MAX], old[PP_ERROR_MSG_MAX];
    va_list ap;

    if (!err)
        return PP_EINTERNAL;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Truncation of a very long message is acceptable. */
    size_t n = strlen(head);
    if (n >= sizeof err->msg)
        n = sizeof err->msg - 1;
    memcpy(err->msg, head, n);
    snprintf(err->msg + n, sizeof err->msg - n, "%.*s",
             (int)(sizeof err->msg - n - 1), old);
    return err->code;
}

void pp_error_clear(pp_error *err)
{
    if (!err)
        return;
    err->code = PP_OK;
    err->msg[0] = '\0';
}

int pp_error_exit_status(int code)
{
    switch (code) {
    case PP_OK:
        return PP_EXIT_OK;
    case PP_EUSAGE:
    case PP_ECONFIG:
        return PP_EXIT_USAGE;
    default:
        return PP_EXIT_DATA;
    }
}

int pp_error_report(pp_error *err)
{
    /* stdout carries --help, --version and requested data: a failed
     * flush is a lost result, so it counts as an error. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (err->code == PP_OK)
            pp_error_set(err, PP_EIO, "cannot write to standard output: %s",
                         strerror(errno));
    }
    if (err->code != PP_OK)
        pp_log(PP_LOG_ERROR, "%s", err->msg);
    return pp_error_exit_status(err->code);
}
