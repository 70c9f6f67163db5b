/* output.c - frames.json, wcs.fits and catalog.csv (SPEC §6.1 step 7). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pp_csv.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"

#include "crop.h"

/* The columns pp-crop adds, in order. */
static const char *const added[] = { "x_pix_white", "y_pix_white",
                                     "excluded_crop", "excluded_saturation",
                                     "excluded_any" };
enum { N_ADDED = 5 };

/* wcs.fits: the working-frame WCS as a header-only primary HDU. */
static int write_wcs(const char *path, const crop_images *im, pp_error *err)
{
    const pp_frames *f = &im->frames;
    pp_fits_writer w;
    int rc;

    if (pp_fits_create(path, &w, err) != PP_OK)
        return err->code;
    rc = pp_wcs_write_shifted(w.fp, &im->wcs[0], (double)f->x0,
                              (double)f->y0, err) ||
         pp_fits_write_key_long(&w, "WORKW", f->work_w,
                                "working frame width [pix]", err) ||
         pp_fits_write_key_long(&w, "WORKH", f->work_h,
                                "working frame height [pix]", err) ||
         pp_fits_write_key_long(&w, "CROPX0", f->x0,
                                "x of the working origin in the full frame",
                                err) ||
         pp_fits_write_key_long(&w, "CROPY0", f->y0,
                                "y of the working origin in the full frame",
                                err) ||
         pp_fits_commit(&w, err);
    pp_fits_abort(&w);
    return rc ? err->code : PP_OK;
}

/* The column for an added name: the input's own (replaced, with a
 * warning) or a new one at the end. */
static int output_column(pp_table *t, const char *name, const char *path)
{
    int c = pp_table_find_column(t, name, NULL);

    if (c >= 0) {
        pp_log(PP_LOG_WARNING, "'%s': column '%s' is replaced by pp-crop's "
               "own", path, pp_table_colname(t, c));
        return c;
    }
    return pp_table_add_column(t, name, -1);
}

/* catalog.csv: the input's exact text, then the added columns. */
static int write_catalog(const char *path, crop_catalog *cat,
                         const crop_images *im, pp_error *err)
{
    const pp_frames *f = &im->frames;
    int col[N_ADDED];
    char buf[32];

    for (int k = 0; k < N_ADDED; ++k)
        col[k] = output_column(&cat->table, added[k], cat->path);
    for (long r = 0; r < cat->n; ++r) {
        int any = cat->excluded_crop[r] || cat->excluded_saturation[r];
        pp_table_set(&cat->table, r, col[0], pp_csv_format_double(
                         cat->x_full[r] - (double)f->x0, buf));
        pp_table_set(&cat->table, r, col[1], pp_csv_format_double(
                         cat->y_full[r] - (double)f->y0, buf));
        pp_table_set(&cat->table, r, col[2],
                     pp_csv_format_bool(cat->excluded_crop[r]));
        pp_table_set(&cat->table, r, col[3],
                     pp_csv_format_bool(cat->excluded_saturation[r]));
        pp_table_set(&cat->table, r, col[4], pp_csv_format_bool(any));
    }
    return pp_csv_write(path, &cat->table, err);
}

int crop_write_outputs(const pp_config *cfg, const crop_images *im,
                       crop_catalog *cat, pp_error *err)
{
    const char *wd = cfg->outputs.work_dir;
    char *frames = pp_io_path_join(wd, "frames.json");
    char *wcs = pp_io_path_join(wd, "wcs.fits");
    char *catalog = pp_io_path_join(wd, "catalog.csv");
    int rc;

    rc = pp_frames_write(frames, &im->frames, err) ||
         write_wcs(wcs, im, err) ||
         write_catalog(catalog, cat, im, err);
    free(frames);
    free(wcs);
    free(catalog);
    return rc ? err->code : PP_OK;
}
