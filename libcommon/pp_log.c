/* pp_log.c - the log lines of every tool (see pp_log.h). */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <errno.h>

#include "pp_log.h"

/* The logger: set once by main() (see pp_log.h); the mutex keeps lines
 * from worker threads whole in the log file. */
static struct {
    char tool[64];
    int level;
    FILE *file;
    pthread_mutex_t lock;
} logger = { "patchphot", PP_LOG_INFO, NULL, PTHREAD_MUTEX_INITIALIZER };

static const char *const level_names[] = { "DEBUG", "INFO", "WARNING",
                                           "ERROR" };

void pp_log_init(const char *tool)
{
    snprintf(logger.tool, sizeof logger.tool, "%s", tool);
    logger.level = PP_LOG_INFO;
}

void pp_log_set_level(int level)
{
    logger.level = level;
}

int pp_log_level(void)
{
    return logger.level;
}

int pp_log_set_level_name(const char *name, pp_error *err)
{
    for (int i = 0; i < 4; ++i)
        if (strcasecmp(name, level_names[i]) == 0) {
            logger.level = i;
            return PP_OK;
        }
    return pp_error_set(err, PP_ECONFIG,
                        "logging.level: found '%s', expected one of DEBUG, "
                        "INFO, WARNING, ERROR", name);
}

int pp_log_open_file(const char *path, pp_error *err)
{
    FILE *fp = fopen(path, "a");

    if (!fp)
        return pp_error_set(err, PP_EIO, "cannot open log file '%s': %s",
                            path, strerror(errno));
    pp_log_close();
    logger.file = fp;
    return PP_OK;
}

void pp_log_close(void)
{
    if (logger.file)
        fclose(logger.file);
    logger.file = NULL;
}

void pp_log(int level, const char *fmt, ...)
{
    char line[4096], stamp[32];
    time_t now;
    struct tm tm;
    va_list ap;
    int n;

    if (level < logger.level)
        return;
    now = time(NULL);
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    n = snprintf(line, sizeof line, "%s | %s | %s | ", stamp, logger.tool,
                 level_names[level < 0 ? 0 : level > 3 ? 3 : level]);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&logger.lock);
    fprintf(stderr, "%s\n", line);
    if (logger.file) {
        fprintf(logger.file, "%s\n", line);
        fflush(logger.file);
    }
    pthread_mutex_unlock(&logger.lock);
}
