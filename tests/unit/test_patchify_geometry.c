/* test_patchify_geometry.c - pp-patchify's cells, patches and source
 * assignment (SPEC §8.1, §9.1, §9.2) against hand-computed boxes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "patchify.h"
#include "tap.h"

/* The patch with tag t, or NULL. */
static const patchify_patch *find(const patchify_plan *pl, const char *t)
{
    int i;

    for (i = 0; i < pl->n; i++)
        if (strcmp(pl->patches[i].patch_tag, t) == 0)
            return &pl->patches[i];
    return NULL;
}

static int box_is(const patchify_patch *p, long bx0, long bx1, long by0,
                  long by1, long rx0, long rx1, long ry0, long ry1)
{
    return p && p->x0_base == bx0 && p->x1_base == bx1 &&
           p->y0_base == by0 && p->y1_base == by1 && p->x0_roi == rx0 &&
           p->x1_roi == rx1 && p->y0_roi == ry0 && p->y1_roi == ry1;
}

static void test_cell_index(void)
{
    check_int(patchify_cell_index(0.0, 5, 2), ==, 0,
              "cell: x = 0 is in cell 0");
    check_int(patchify_cell_index(4.999, 5, 2), ==, 0,
              "cell: x just below the step stays in cell 0");
    check_int(patchify_cell_index(5.0, 5, 2), ==, 1,
              "cell: x = step starts cell 1 (half-open)");
    check_int(patchify_cell_index(10.7, 5, 2), ==, 1,
              "cell: past the last step clamps to the last cell");
    check_int(patchify_cell_index(-0.2, 5, 2), ==, 0,
              "cell: a negative coordinate gives cell 0");
    check_int(patchify_cell_index(NAN, 5, 2), ==, 0,
              "cell: NaN gives cell 0, never out of range");
}

static void test_layout(void)
{
    patchify_plan pl = PATCHIFY_PLAN_INIT;
    pp_error err = PP_ERROR_INIT;
    int i, ok;

    /* 10 x 7 frame, 2 x 2 cells (sx 5, sy 3; last row [3,7)), 2 x 2
     * patches, halo 3. */
    check_int(patchify_geometry(10, 7, 2, 2, 3, NULL, &pl, &err), ==, PP_OK,
              "layout: 10x7, E=2, P=2 succeeds");
    check_int(pl.n, ==, 16, "layout: 4 cells x 4 patches");
    check(box_is(find(&pl, "r00_c00_pr00_pc00"), 0, 2, 0, 1, 0, 5, 0, 4),
          "layout: first patch [0,2)x[0,1), ROI clipped at 0");
    check(box_is(find(&pl, "r00_c00_pr01_pc01"), 2, 5, 1, 3, 0, 8, 0, 6),
          "layout: last patch of a cell runs to the cell edge");
    check(box_is(find(&pl, "r01_c01_pr00_pc00"), 5, 7, 3, 5, 2, 10, 0, 7),
          "layout: cell (1,1) patch (0,0) = [5,7)x[3,5), ROI clipped");
    check(box_is(find(&pl, "r01_c01_pr01_pc01"), 7, 10, 5, 7, 4, 10, 2, 7),
          "layout: last patch ends at the frame edge");
    check_str(pl.patches[5].epsf_tag, "r00_c01",
              "layout: epsf_tag r%02d_c%02d, cells in row-major order");
    for (ok = 1, i = 0; i < pl.n; i++)
        ok &= pl.patches[i].halo_pix == 3 && pl.patches[i].payload[0] == 0;
    check(ok, "layout: halo recorded, payload names left empty");
    patchify_plan_release(&pl);
}

static void test_active_and_assign(void)
{
    patchify_plan pl = PATCHIFY_PLAN_INIT;
    pp_error err = PP_ERROR_INIT;
    unsigned char act[4];
    /* rows 0..3 of a catalogue; coordinates in a 20 x 20 frame. */
    long row[] = { 10, 11, 12, 13 };
    double x[] = { 12.0, 14.5, 19.999, 12.0 };
    double y[] = { 2.0, 2.0, 9.0, 13.5 };
    patchify_sources src = { 4, row, x, y };
    const patchify_patch *a, *b;

    /* E = 2 cells of 10; sources in cells (0,1) and (1,1). */
    patchify_active_cells(&src, 20, 20, 2, act);
    check(act[0] == 0 && act[1] == 1 && act[2] == 0 && act[3] == 1,
          "active: cells holding a source, r*E + c");
    check_int(patchify_geometry(20, 20, 2, 2, 2, act, &pl, &err), ==, PP_OK,
              "assign: layout of the active cells");
    check_int(pl.n, ==, 8, "assign: 2 active cells x 4 patches");
    check_str(pl.patches[4].patch_tag, "r01_c01_pr00_pc00",
              "assign: empty cells are skipped");
    pl.edge_pix = 3;
    check_int(patchify_assign(&pl, &src, 1, &err), ==, PP_OK,
              "assign: succeeds");
    /* (12,2) and (14.5,2): base of r00_c01_pr00_pc00 = [10,15)x[0,5). */
    a = find(&pl, "r00_c01_pr00_pc00");
    check(a && a->n_sources == 2 && a->rows[0] == 10 && a->rows[1] == 11,
          "assign: base sources by box, catalogue order");
    /* ROI [8,17)x[0,7): no other source; grown by 3: [5,20)x[-3,10)
     * holds (19.999, 9) of patch pr01_pc01. */
    check(a && a->n_halo == 0 && a->n_edge == 1 && a->rows[2] == 12,
          "assign: edge source = outside the ROI, within edge_pix of it");
    /* r00_c01_pr01_pc01 = [15,20)x[5,10), ROI [13,20)x[3,12): base
     * (19.999, 9); no other source in the ROI ((14.5, 2) has y < 3);
     * edge: (12,2), (14.5,2), (12,13.5), all in [10,23)x[0,15). */
    b = find(&pl, "r00_c01_pr01_pc01");
    check(b && b->n_sources == 1 && b->rows[0] == 12 && b->n_halo == 0 &&
          b->n_edge == 3, "assign: x = 19.999 is a base source of the last "
          "patch; three edge sources");
    /* r01_c01_pr00_pc00 = [10,15)x[10,15): base (12,13.5); ROI
     * [8,17)x[8,17) holds no other source; grown [5,20)x[5,20) holds
     * (19.999, 9). */
    b = find(&pl, "r01_c01_pr00_pc00");
    check(b && b->n_sources == 1 && b->rows[0] == 13 && b->n_halo == 0 &&
          b->n_edge == 1 && b->rows[1] == 12,
          "assign: a source of another cell reaches this patch as edge");
    patchify_plan_release(&pl);

    /* Halo: ROI of r00_c01_pr00_pc01 = [15,20)x[0,5) grown by 2 =
     * [13,20)x[0,7) holds (14.5, 2), base of pc00. */
    patchify_geometry(20, 20, 2, 2, 2, act, &pl, &err);
    patchify_assign(&pl, &src, 1, &err);
    a = find(&pl, "r00_c01_pr00_pc01");
    check(a && a->n_sources == 0 && a->n_halo == 1 && a->rows[0] == 11,
          "assign: halo source = inside the ROI, base of another patch");
    patchify_plan_release(&pl);
    patchify_geometry(20, 20, 2, 2, 2, act, &pl, &err);
    patchify_assign(&pl, &src, 0, &err);
    a = find(&pl, "r00_c01_pr00_pc01");
    check(a && a->n_halo == 0,
          "assign: no halo sources without patch_run.fit_halo_sources");
    patchify_plan_release(&pl);
}

static void test_errors(void)
{
    patchify_plan pl = PATCHIFY_PLAN_INIT;
    pp_error err = PP_ERROR_INIT;

    check_int(patchify_geometry(100, 90, 3, 40, 2, NULL, &pl, &err), ==,
              PP_ECONFIG, "error: ngrid larger than the cell is a config "
              "error");
    check(strstr(err.msg, "epsf.ngrid = 40") &&
          strstr(err.msg, "cell size (33 x 30 pixels)"),
          "error: message names ngrid and the cell size");
    check_int(pl.n, ==, 0, "error: no patches on failure");
    pp_error_clear(&err);
    check_int(patchify_geometry(100, 90, 91, 1, 2, NULL, &pl, &err), ==,
              PP_ECONFIG, "error: epsf_ngrid larger than the frame");
    check(strstr(err.msg, "epsf.epsf_ngrid = 91") &&
          strstr(err.msg, "100 x 90"),
          "error: message names epsf_ngrid and the frame size");
}

int main(void)
{
    test_cell_index();
    test_layout();
    test_active_and_assign();
    test_errors();
    return tap_done();
}
