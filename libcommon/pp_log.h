/* pp_log.h - the log lines of every tool (SPEC §3.6).
 *
 * Every stderr line but usage text goes through pp_log():
 *     YYYY-MM-DD HH:MM:SS | <tool> | LEVEL | message
 * and, once pp_log_open_file() succeeded, the same line is appended to the
 * log file.  Libraries log DEBUG, INFO or WARNING; ERROR is printed only by
 * pp_error_report() in main().
 *
 * The logger is the one piece of process-wide state in libcommon: main()
 * sets it up once (tool name, level, file) before any work and closes it at
 * the end; nothing else changes it.  It is not meant to be reconfigured
 * from worker threads; pp_log() itself is safe to call from threads (one
 * write per line).
 */
#ifndef PP_LOG_H
#define PP_LOG_H

#include "pp_error.h"

enum { PP_LOG_DEBUG = 0, PP_LOG_INFO, PP_LOG_WARNING, PP_LOG_ERROR };

/* Name the tool for the log lines ("pp-crop").  Level starts at INFO. */
void pp_log_init(const char *tool);

/* Set the level filter from its name (DEBUG, INFO, WARNING, ERROR; any
 * case).  PP_ECONFIG naming the key 'logging.level' on an unknown name. */
int pp_log_set_level_name(const char *name, pp_error *err);
void pp_log_set_level(int level);
int pp_log_level(void);

/* Append log lines to path as well (created if missing).  PP_EIO if it
 * cannot be opened. */
int pp_log_open_file(const char *path, pp_error *err);

/* Close the log file, if any. */
void pp_log_close(void);

/* Write one log line at level (dropped when below the filter). */
void pp_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* PP_LOG_H */
