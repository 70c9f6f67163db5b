/* pp_error.h - status codes and error values.
 *
 * Every fallible function in libcommon and in the tools returns one of the
 * PP_* codes and, on failure, fills a caller-owned pp_error with the context
 * needed to act on it: the file, the row or key, what was found and what was
 * expected.  Below main() nothing prints an error or calls exit(); main()
 * ends with `return pp_error_report(&err);`, which prints one ERROR line
 * through pp_log and maps the code to the exit status of SPEC §3.6.
 *
 * Messages follow git's rules: lower-case start, no full stop, the subject
 * in quotes ("cannot open 'white.fits': No such file or directory").
 */
#ifndef PP_ERROR_H
#define PP_ERROR_H

#include <limits.h>
#include <stdarg.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* Status codes.  Exit status: 0 for PP_OK, 2 for usage and config errors,
 * 1 for everything else. */
enum {
    PP_OK = 0,
    PP_EUSAGE,      /* bad command line */
    PP_ECONFIG,     /* bad configuration file or --set */
    PP_EDATA,       /* bad input data (catalogue, FITS header, ...) */
    PP_EIO,         /* a read, write, fsync or rename failed */
    PP_ENOMEM,      /* a data-sized allocation failed */
    PP_EINTERNAL    /* a library reported something it should not */
};

/* Exit statuses of every program (SPEC §3.6). */
enum { PP_EXIT_OK = 0, PP_EXIT_DATA = 1, PP_EXIT_USAGE = 2 };

#define PP_ERROR_MSG_MAX 4096

typedef struct {
    int  code;                      /* PP_OK when nothing went wrong */
    char msg[PP_ERROR_MSG_MAX];     /* the whole message, context included */
} pp_error;

#define PP_ERROR_INIT { PP_OK, "" }

/* Set err to code with a printf-style message and return code, so that
 * `return pp_error_set(err, PP_EDATA, "...");` reads naturally.  err may be
 * NULL (the code is still returned). */
int pp_error_set(pp_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message of an error that is already set with more context
 * ("reading 'x.fits': " + old message) and return its code. */
int pp_error_prefix(pp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reset err to PP_OK with an empty message. */
void pp_error_clear(pp_error *err);

/* Map a status code to an exit status: 0, 1 or 2. */
int pp_error_exit_status(int code);

/* If err is set, log its message at ERROR level; return the exit status
 * for it.  Also checks that stdout was flushed and closed without error
 * (a full disk on `pp-tool > file` is a failure, as in jq). */
int pp_error_report(pp_error *err);

#endif /* PP_ERROR_H */
