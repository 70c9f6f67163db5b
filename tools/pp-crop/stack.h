/* stack.h - the streaming pass of pp-crop, shared by stack.c (threads,
 * order, output) and block.c (the work on one block of rows).
 *
 * The full frame is cut into blocks of whole rows.  Workers compute blocks
 * in parallel, each block read band after band from the worker's own
 * cfitsio handles, so memory is a few blocks whatever the number of bands;
 * one writer takes the blocks strictly in order (binning WHITE_FULL and
 * writing rows), so every floating-point sum runs in the same order and
 * the outputs are byte-identical for any number of workers (SPEC §1).
 */
#ifndef CROP_STACK_H
#define CROP_STACK_H

#include <pthread.h>

#include <fitsio.h>

#include "crop.h"

/* A source's rounded working position (SPEC §3.1), sorted by row. */
typedef struct {
    long x, y, row;
} stack_src;

/* What every worker reads and nobody changes during the pass. */
typedef struct {
    const crop_images *im;
    long W, H, x0, x1, y0, y1, ww, wh;  /* full frame, crop box, work */
    long block, nblocks;                /* rows per block, blocks */
    int cut;                            /* saturation cut enabled */
    double radius;                      /* its radius_pix */
    long binfac, bw, bh;                /* WHITE_FULL: factor, size */
    const stack_src *src;               /* sources, by row */
    long nsrc, nrows;                   /* sources; catalogue rows */
} stack_geom;

/* One worker: its cfitsio handles, its buffers, and the slot through
 * which it hands one computed block at a time to the writer. */
typedef struct {
    const stack_geom *g;
    void *pass;                 /* the stack_pass of stack.c */
    int id;                     /* computes blocks id, id + n, ... */
    fitsfile **fps;             /* per band, opened by this worker */
    float *raw;                 /* block x W: one band's rows */
    double *num, *den;          /* block x W: the sums of step 4 */
    double *val;                /* block x W: white values, full width */
    double *rsum, *rcnt;        /* block x bw: WHITE_FULL row sums */
    unsigned char *satany, *satb;   /* block x W */
    float *white, *sigma;       /* block x ww: output rows */
    unsigned char *satout;      /* block x ww */
    unsigned char *hits;        /* nrows x nbands, this worker's */
    long y, ny;                 /* the block in the slot (full frame) */
    long wrow0, nw;             /* its working rows: first, count */
    int full, failed;           /* slot state, guarded by the lock */
    pp_error err;
    pthread_t thread;
} stack_worker;

/* block.c: buffers and handles of a worker (PP_ENOMEM, PP_EIO). */
int stack_worker_init(stack_worker *w, const stack_geom *g, pp_error *err);
void stack_worker_release(stack_worker *w);

/* block.c: compute block [y, y+ny) into the worker's buffers. */
int stack_block(stack_worker *w, long y, long ny, pp_error *err);

#endif /* CROP_STACK_H */
