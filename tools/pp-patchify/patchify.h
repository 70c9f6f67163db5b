/* patchify.h - pp-patchify: patch geometry, source assignment, payloads
 * (SPEC §9).
 *
 * The working frame (SPEC §3.1) is split into ePSF cells (SPEC §8.1), each
 * active cell into P x P patches (SPEC §9.1).  Boxes are integers,
 * half-open, in working-frame pixels; a source at (x, y) is inside a box
 * when x0 <= x < x1 && y0 <= y < y1 on the floating-point coordinates.
 * Cell and patch indices of a source are floor() of its coordinate over
 * the step, clamped to the last cell / patch (SPEC §8.1), so that every
 * active source, whose working coordinates lie in [0, W) x [0, H), has
 * exactly one base patch even where rounding puts it on the far edge.
 *
 * Ownership: a patchify_plan owns its patches and their source lists;
 * release it with patchify_plan_release().
 */
#ifndef PATCHIFY_H
#define PATCHIFY_H

#include "pp_config.h"
#include "pp_error.h"
#include "pp_frames.h"
#include "pp_table.h"
#include "pp_wcs.h"

#include "cli.h"

typedef struct {
    int epsf_r, epsf_c, patch_r, patch_c;
    char epsf_tag[32];              /* r%02d_c%02d */
    char patch_tag[64];             /* r%02d_c%02d_pr%02d_pc%02d */
    long x0_base, x1_base, y0_base, y1_base;
    long x0_roi, x1_roi, y0_roi, y1_roi;
    long halo_pix;
    long n_sources;                 /* base sources */
    long n_halo;                    /* halo sources */
    long n_edge;                    /* edge sources (SPEC §9.2) */
    long *rows;                     /* catalogue rows: base, halo, edge */
    char payload[80];               /* "<patch_tag>.fits" or "" */
} patchify_patch;

typedef struct {
    long work_w, work_h;            /* working frame */
    long ncell;                     /* E = epsf.epsf_ngrid */
    long npatch;                    /* P = epsf.ngrid */
    long cell_sx, cell_sy;          /* floor(W/E), floor(H/E) */
    long halo_pix;                  /* SPEC §9.1 HALO */
    long edge_pix;                  /* (final_psf_size - 1) / 2 */
    int n;                          /* patches */
    patchify_patch *patches;        /* n entries, in (epsf_r, epsf_c,
                                       patch_r, patch_c) order */
} patchify_plan;

#define PATCHIFY_PLAN_INIT { 0 }

/* The active sources of the base catalogue (SPEC §9.2): n entries. */
typedef struct {
    long n;
    long *row;                      /* catalogue row */
    double *x, *y;                  /* working frame, finite */
} patchify_sources;

/* ---- geometry.c ---- */

/* Cell index of coordinate v for a grid of ncell cells of step step:
 * min(floor(v / step), ncell - 1), and 0 for v < 0 (SPEC §8.1). */
long patchify_cell_index(double v, long step, long ncell);

/* Lay out the patches (SPEC §9.1): cells of the working frame W x H split
 * E x E (cell_active[r*E + c] nonzero for the cells to split; NULL: all),
 * each split P x P; ROI = base box grown by halo_pix, clipped to the frame.
 * Payload names are left empty and source lists NULL.  PP_ECONFIG naming
 * the cell size and the key when a step is zero (epsf.epsf_ngrid larger
 * than the frame, epsf.ngrid larger than a cell). */
int patchify_geometry(long work_w, long work_h, long ncell, long npatch,
                      long halo_pix, const unsigned char *cell_active,
                      patchify_plan *plan, pp_error *err);

/* Free everything plan owns and reset it. */
void patchify_plan_release(patchify_plan *plan);

/* ---- assign.c ---- */

/* Mark in cell_active (E*E bytes) the cells holding at least one source
 * (SPEC §8.1). */
void patchify_active_cells(const patchify_sources *src, long work_w,
                           long work_h, long ncell, unsigned char *cell_active);

/* Fill each patch's source lists (SPEC §9.2): base sources by box, halo
 * sources (ROI, when with_halo) of other patches, edge sources (outside the
 * ROI, inside the ROI grown by plan->edge_pix on each side).  Lists are in
 * catalogue order within each kind. */
int patchify_assign(patchify_plan *plan, const patchify_sources *src,
                    int with_halo, pp_error *err);

/* ---- payload.c ---- */

typedef struct {
    const pp_config *cfg;
    const pp_frames *frames;
    const pp_table *cat;            /* base catalogue */
    const char *cat_path;           /* for messages */
    const pp_wcs *wcs;              /* working-frame WCS (wcs.fits) */
    const char *bright_mask;        /* path, or NULL when absent */
    const char *dir;                /* patch_inputs_dir (exists) */
    int col_x, col_y;               /* x_pix_white, y_pix_white columns */
    long nthreads;
} patchify_payload_ctx;

/* Write the payload of every patch of plan whose payload name is set,
 * with ctx->nthreads threads, each file atomically (SPEC §9.3).  On
 * failure, payloads written by this call are removed. */
int patchify_write_payloads(const patchify_payload_ctx *ctx,
                            const patchify_plan *plan, pp_error *err);

/* ---- patchify.c ---- */

/* The stage: read inputs, lay out, assign, write payloads (unless
 * opts->geometry_only) and patches/patches.{csv,json}. */
int patchify_run(const pp_config *cfg, const patchify_opts *opts,
                 pp_error *err);

#endif /* PATCHIFY_H */
