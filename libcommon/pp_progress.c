/* pp_progress.c - progress of long loops (see pp_progress.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pp_log.h"
#include "pp_progress.h"

#define TTY_REDRAW_S 0.2
#define BAR_WIDTH 30

double pp_progress_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void pp_progress_start(pp_progress *p, const char *label, long total)
{
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total > 0 ? total : 1;
    p->t_start = p->t_last = pp_progress_now();
    p->tty = isatty(STDERR_FILENO);
}

static void format_eta(double s, char *buf, size_t n)
{
    long t = (long)(s + 0.5);

    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static void draw(const pp_progress *p, double now)
{
    char bar[BAR_WIDTH + 1], eta[32];
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0.0;
    int fill = (int)((double)BAR_WIDTH * (double)p->done / (double)p->total);

    for (int i = 0; i < BAR_WIDTH; ++i)
        bar[i] = i < fill ? '#' : '-';
    bar[BAR_WIDTH] = '\0';
    format_eta(rate > 0 ? (double)(p->total - p->done) / rate : 0.0, eta,
               sizeof eta);
    if (p->tty)
        fprintf(stderr, "\r%s [%s] %ld/%ld %.1f/s eta %s ", p->label, bar,
                p->done, p->total, rate, eta);
    else
        pp_log(PP_LOG_INFO, "%s: %ld/%ld (%.0f%%), %.1f/s, eta %s",
               p->label, p->done, p->total,
               100.0 * (double)p->done / (double)p->total, rate, eta);
}

void pp_progress_step(pp_progress *p, long n)
{
    double now = pp_progress_now();

    p->done += n;
    if (p->done > p->total)
        p->done = p->total;
    if (now - p->t_last >= (p->tty ? TTY_REDRAW_S : PP_PROGRESS_LOG_S)) {
        p->t_last = now;
        draw(p, now);
    }
}

void pp_progress_end(pp_progress *p)
{
    double elapsed = pp_progress_now() - p->t_start;

    if (p->tty)
        fprintf(stderr, "\r%*s\r", BAR_WIDTH + (int)strlen(p->label) + 40,
                "");
    pp_log(PP_LOG_DEBUG, "%s: %ld/%ld done in %.2f s", p->label, p->done,
           p->total, elapsed);
}
