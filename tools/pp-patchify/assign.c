/* assign.c - base, halo and edge sources of each patch (SPEC §9.2). */
#include <stdlib.h>
#include <string.h>

#include "pp_mem.h"

#include "patchify.h"

void patchify_active_cells(const patchify_sources *src, long work_w,
                           long work_h, long ncell, unsigned char *cell_active)
{
    long sx = work_w / ncell, sy = work_h / ncell, i;

    memset(cell_active, 0, (size_t)(ncell * ncell));
    if (sx == 0 || sy == 0)
        return;                 /* patchify_geometry() reports it */
    for (i = 0; i < src->n; i++)
        cell_active[patchify_cell_index(src->y[i], sy, ncell) * ncell +
                    patchify_cell_index(src->x[i], sx, ncell)] = 1;
}

/* Index in plan->patches of the base patch of (x, y), or -1 when its cell
 * has no patches (cannot happen for the sources that made the cells
 * active).  Patches are stored cell by cell in row-major cell order, P*P
 * per cell, so the index is found by counting the active cells before. */
static long base_patch(const patchify_plan *plan, const long *cell_first,
                       double x, double y)
{
    long E = plan->ncell, P = plan->npatch;
    long r = patchify_cell_index(y, plan->cell_sy, E);
    long c = patchify_cell_index(x, plan->cell_sx, E);
    long first = cell_first[r * E + c], pr, pc;
    const patchify_patch *p0;

    if (first < 0)
        return -1;
    p0 = &plan->patches[first];
    /* Steps inside the cell: the first patch's width (SPEC §9.1). */
    pc = patchify_cell_index(x - (double)p0->x0_base,
                             p0->x1_base - p0->x0_base, P);
    pr = patchify_cell_index(y - (double)p0->y0_base,
                             p0->y1_base - p0->y0_base, P);
    return first + pr * P + pc;
}

static int inside(double x, double y, long x0, long x1, long y0, long y1)
{
    return (double)x0 <= x && x < (double)x1 && (double)y0 <= y &&
           y < (double)y1;
}

int patchify_assign(patchify_plan *plan, const patchify_sources *src,
                    int with_halo, pp_error *err)
{
    long E = plan->ncell, P = plan->npatch, e = plan->edge_pix, i;
    long *cell_first = NULL, *home = NULL;
    int k, status = PP_OK;

    cell_first = pp_xmalloc((size_t)(E * E) * sizeof *cell_first);
    for (i = 0; i < E * E; i++)
        cell_first[i] = -1;
    for (k = 0; k < plan->n; k += (int)(P * P))
        cell_first[plan->patches[k].epsf_r * E + plan->patches[k].epsf_c] = k;
    home = pp_malloc_checked((size_t)src->n + 1, sizeof *home,
                             "base patch of each source", err);
    if (!home) {
        status = err->code;
        goto out;
    }
    for (i = 0; i < src->n; i++)
        home[i] = base_patch(plan, cell_first, src->x[i], src->y[i]);

    /* Per patch, three passes over the sources in catalogue order: base,
     * halo, edge.  O(patches x sources) is small next to the pixels. */
    for (k = 0; k < plan->n; k++) {
        patchify_patch *p = &plan->patches[k];
        long nb = 0, nh = 0, ne = 0;

        p->rows = pp_malloc_checked((size_t)src->n + 1, sizeof *p->rows,
                                    "sources of a patch", err);
        if (!p->rows) {
            status = err->code;
            goto out;
        }
        for (i = 0; i < src->n; i++)
            if (home[i] == k)
                p->rows[nb++] = src->row[i];
        for (i = 0; with_halo && i < src->n; i++)
            if (home[i] != k && inside(src->x[i], src->y[i], p->x0_roi,
                                       p->x1_roi, p->y0_roi, p->y1_roi))
                p->rows[nb + nh++] = src->row[i];
        for (i = 0; i < src->n; i++)
            if (home[i] != k &&
                !inside(src->x[i], src->y[i], p->x0_roi, p->x1_roi,
                        p->y0_roi, p->y1_roi) &&
                inside(src->x[i], src->y[i], p->x0_roi - e, p->x1_roi + e,
                       p->y0_roi - e, p->y1_roi + e))
                p->rows[nb + nh + ne++] = src->row[i];
        p->n_sources = nb;
        p->n_halo = nh;
        p->n_edge = ne;
    }
out:
    free(cell_first);
    free(home);
    return status;
}
