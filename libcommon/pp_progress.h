/* pp_progress.h - progress of long loops (SPEC §3.6).
 *
 * On a terminal (stderr is a TTY) an in-place line
 *     label [#####-----] done/total rate/s eta 0:12
 * is redrawn at most a few times per second; otherwise an INFO log line is
 * written at most every PP_PROGRESS_LOG_S seconds, so batch logs stay short.
 * A pp_progress is owned by one thread; call pp_progress_step() from the
 * thread that owns it.
 */
#ifndef PP_PROGRESS_H
#define PP_PROGRESS_H

#define PP_PROGRESS_LOG_S 15.0   /* seconds between non-TTY lines */

typedef struct {
    char label[64];
    long total, done;
    double t_start, t_last;      /* monotonic seconds */
    int tty;
} pp_progress;

/* Start counting towards total units of work. */
void pp_progress_start(pp_progress *p, const char *label, long total);

/* Count n more units done. */
void pp_progress_step(pp_progress *p, long n);

/* Finish: clear the TTY line and log one INFO summary with the time. */
void pp_progress_end(pp_progress *p);

/* Monotonic clock in seconds, for timing lines. */
double pp_progress_now(void);

#endif /* PP_PROGRESS_H */
