/* geometry.c - ePSF cells and patches of the working frame (SPEC §8.1,
 * §9.1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_mem.h"

#include "patchify.h"

long patchify_cell_index(double v, long step, long ncell)
{
    double k;

    /* SPEC §8.1: min(floor(v / step), E - 1); negatives cannot be active
     * (pp-crop excludes them) but must not index out of range. */
    if (!(v >= 0.0))
        return 0;
    k = floor(v / (double)step);
    return k >= (double)(ncell - 1) ? ncell - 1 : (long)k;
}

/* Start and end of part k of n parts of [lo, hi) with step step: the last
 * one runs to hi (SPEC §8.1, §9.1). */
static void split(long lo, long hi, long step, long n, long k, long *a,
                  long *b)
{
    *a = lo + k * step;
    *b = k == n - 1 ? hi : lo + (k + 1) * step;
}

static long clip(long v, long lo, long hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The patches of one cell, appended to plan. */
static void add_cell_patches(patchify_plan *plan, int er, int ec, long ex0,
                             long ex1, long ey0, long ey1, long px, long py)
{
    long P = plan->npatch, h = plan->halo_pix;
    int pr, pc;

    for (pr = 0; pr < P; pr++)
        for (pc = 0; pc < P; pc++) {
            patchify_patch *p = &plan->patches[plan->n++];

            memset(p, 0, sizeof *p);
            p->epsf_r = er;
            p->epsf_c = ec;
            p->patch_r = pr;
            p->patch_c = pc;
            snprintf(p->epsf_tag, sizeof p->epsf_tag, "r%02d_c%02d", er, ec);
            snprintf(p->patch_tag, sizeof p->patch_tag,
                     "r%02d_c%02d_pr%02d_pc%02d", er, ec, pr, pc);
            split(ex0, ex1, px, P, pc, &p->x0_base, &p->x1_base);
            split(ey0, ey1, py, P, pr, &p->y0_base, &p->y1_base);
            p->x0_roi = clip(p->x0_base - h, 0, plan->work_w);
            p->x1_roi = clip(p->x1_base + h, 0, plan->work_w);
            p->y0_roi = clip(p->y0_base - h, 0, plan->work_h);
            p->y1_roi = clip(p->y1_base + h, 0, plan->work_h);
            p->halo_pix = h;
        }
}

int patchify_geometry(long work_w, long work_h, long ncell, long npatch,
                      long halo_pix, const unsigned char *cell_active,
                      patchify_plan *plan, pp_error *err)
{
    long sx, sy, nact = 0, r, c;

    memset(plan, 0, sizeof *plan);
    if (ncell < 1 || npatch < 1 || work_w < 1 || work_h < 1)
        return pp_error_set(err, PP_EINTERNAL, "patch geometry: bad grid "
                            "%ld x %ld cells of a %ld x %ld frame, %ld "
                            "patches", ncell, ncell, work_w, work_h, npatch);
    sx = work_w / ncell;
    sy = work_h / ncell;
    if (sx == 0 || sy == 0)
        return pp_error_set(err, PP_ECONFIG, "epsf.epsf_ngrid = %ld is larger "
                            "than the working frame (%ld x %ld pixels): "
                            "zero cell size", ncell, work_w, work_h);
    /* The smallest cell is the first one (the last takes the remainder). */
    if (sx / npatch == 0 || sy / npatch == 0)
        return pp_error_set(err, PP_ECONFIG, "epsf.ngrid = %ld is larger "
                            "than the ePSF cell size (%ld x %ld pixels): "
                            "zero patch step", npatch, sx, sy);
    for (r = 0; r < ncell * ncell; r++)
        nact += !cell_active || cell_active[r];
    plan->work_w = work_w;
    plan->work_h = work_h;
    plan->ncell = ncell;
    plan->npatch = npatch;
    plan->cell_sx = sx;
    plan->cell_sy = sy;
    plan->halo_pix = halo_pix;
    plan->patches = pp_xcalloc((size_t)(nact * npatch * npatch) + 1,
                               sizeof *plan->patches);
    for (r = 0; r < ncell; r++)
        for (c = 0; c < ncell; c++) {
            long ex0, ex1, ey0, ey1;

            if (cell_active && !cell_active[r * ncell + c])
                continue;
            split(0, work_w, sx, ncell, c, &ex0, &ex1);
            split(0, work_h, sy, ncell, r, &ey0, &ey1);
            add_cell_patches(plan, (int)r, (int)c, ex0, ex1, ey0, ey1,
                             (ex1 - ex0) / npatch, (ey1 - ey0) / npatch);
        }
    return PP_OK;
}

void patchify_plan_release(patchify_plan *plan)
{
    int i;

    for (i = 0; i < plan->n; i++)
        free(plan->patches[i].rows);
    free(plan->patches);
    memset(plan, 0, sizeof *plan);
}
