/* reader.c - fit catalogues read ahead by worker threads and handed to
 * the caller in patch order (see merge.h, merge_read_ordered()).
 *
 * Parsing the CSV text is most of pp-merge's work (SPEC §17: 100 000 rows
 * in <= 5 s), and each file parses on its own, so workers parse while the
 * calling thread joins.  The join itself stays in one thread and in patch
 * order, so the output is the same bytes for any number of threads.  A
 * worker never reads more than WINDOW files past the one being joined,
 * which bounds memory to a few fit catalogues.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pp_csv.h"
#include "pp_mem.h"

#include "merge.h"

enum { SLOT_EMPTY, SLOT_READY, SLOT_FAILED };

typedef struct {
    char *const *path;
    int n;
    int window;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int next;                   /* next file a worker takes */
    int consumed;               /* files [0, consumed) are handed over */
    int stop;                   /* the caller gives up: workers leave */
    pp_table *tab;              /* n tables */
    pp_error *err;              /* n errors */
    unsigned char *state;       /* n SLOT_* */
} reader_pool;

static void *worker(void *arg)
{
    reader_pool *rp = arg;

    for (;;) {
        int p;

        pthread_mutex_lock(&rp->mu);
        while (!rp->stop && rp->next < rp->n &&
               rp->next >= rp->consumed + rp->window)
            pthread_cond_wait(&rp->cv, &rp->mu);
        if (rp->stop || rp->next >= rp->n) {
            pthread_mutex_unlock(&rp->mu);
            return NULL;
        }
        p = rp->next++;
        pthread_mutex_unlock(&rp->mu);

        int st = SLOT_READY;
        if (rp->path[p] &&
            pp_csv_read(rp->path[p], &rp->tab[p], &rp->err[p]) != PP_OK)
            st = SLOT_FAILED;
        pthread_mutex_lock(&rp->mu);
        rp->state[p] = (unsigned char)st;
        pthread_cond_broadcast(&rp->cv);
        pthread_mutex_unlock(&rp->mu);
    }
}

/* Wait for file p, hand it over, release it; PP_OK or the error. */
static int consume_one(reader_pool *rp, int p, merge_consume_fn consume,
                       void *ctx, pp_error *err)
{
    int rc = PP_OK;

    pthread_mutex_lock(&rp->mu);
    while (rp->state[p] == SLOT_EMPTY)
        pthread_cond_wait(&rp->cv, &rp->mu);
    pthread_mutex_unlock(&rp->mu);
    if (rp->state[p] == SLOT_FAILED) {
        *err = rp->err[p];
        rc = err->code;
    } else if (rp->path[p])
        rc = consume(ctx, p, &rp->tab[p], rp->path[p], err);
    pp_table_release(&rp->tab[p]);
    pthread_mutex_lock(&rp->mu);
    rp->consumed = p + 1;
    pthread_cond_broadcast(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
    return rc;
}

/* One thread: read and hand over in turn. */
static int read_serial(char *const *path, int n, merge_consume_fn consume,
                       void *ctx, pp_error *err)
{
    for (int p = 0; p < n; ++p) {
        pp_table t = PP_TABLE_INIT;
        int rc;

        if (!path[p])
            continue;
        if (pp_csv_read(path[p], &t, err) != PP_OK)
            return err->code;
        rc = consume(ctx, p, &t, path[p], err);
        pp_table_release(&t);
        if (rc != PP_OK)
            return rc;
    }
    return PP_OK;
}

int merge_read_ordered(char *const *path, int n, int nthreads,
                       merge_consume_fn consume, void *ctx, pp_error *err)
{
    reader_pool rp;
    pthread_t *tid;
    int started = 0, rc = PP_OK;

    if (nthreads <= 1 || n <= 1)
        return read_serial(path, n, consume, ctx, err);
    memset(&rp, 0, sizeof rp);
    rp.path = path;
    rp.n = n;
    rp.window = 2 * nthreads;
    rp.tab = pp_xcalloc((size_t)n, sizeof *rp.tab);
    rp.err = pp_xcalloc((size_t)n, sizeof *rp.err);
    rp.state = pp_xcalloc((size_t)n, 1);
    pthread_mutex_init(&rp.mu, NULL);
    pthread_cond_init(&rp.cv, NULL);
    tid = pp_xcalloc((size_t)nthreads, sizeof *tid);
    for (int k = 0; k < nthreads; ++k)
        if (pthread_create(&tid[k], NULL, worker, &rp) == 0)
            started++;
    if (started == 0) {
        /* No thread could start: do the work here. */
        rc = read_serial(path, n, consume, ctx, err);
        goto out;
    }
    for (int p = 0; p < n && rc == PP_OK; ++p)
        rc = consume_one(&rp, p, consume, ctx, err);
    pthread_mutex_lock(&rp.mu);
    rp.stop = 1;
    pthread_cond_broadcast(&rp.cv);
    pthread_mutex_unlock(&rp.mu);
    for (int k = 0; k < started; ++k)
        pthread_join(tid[k], NULL);
out:
    /* Files read ahead of an error are never handed over. */
    for (int p = 0; p < n; ++p)
        pp_table_release(&rp.tab[p]);
    pthread_mutex_destroy(&rp.mu);
    pthread_cond_destroy(&rp.cv);
    free(tid);
    free(rp.tab);
    free(rp.err);
    free(rp.state);
    return rc;
}
