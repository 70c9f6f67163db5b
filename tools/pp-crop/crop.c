/* crop.c - pp-crop's load stage, in order (SPEC §6.1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pp_catalog.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_progress.h"

#include "crop.h"

/* The outputs of the stage, removed together when a write fails. */
static const char *const outputs[] = { "frames.json", "wcs.fits",
                                       "white.fits", "catalog.csv" };

/* SPEC §1 "no stale files": a later stage must never resolve the base
 * catalogue or the bright mask to an earlier run's file. */
static int remove_stale(const pp_config *cfg, pp_error *err)
{
    char *aug = pp_catalog_augmented_path(cfg);
    int rc = pp_io_remove_file(aug, err) ||
             pp_io_remove_tree(cfg->outputs.bright_mask_dir, err);

    free(aug);
    return rc ? err->code : PP_OK;
}

static void remove_outputs(const pp_config *cfg)
{
    pp_error ignored = PP_ERROR_INIT;

    for (size_t i = 0; i < sizeof outputs / sizeof *outputs; ++i) {
        char *p = pp_io_path_join(cfg->outputs.work_dir, outputs[i]);
        pp_io_remove_file(p, &ignored);
        free(p);
    }
}

/* SPEC §6.1 step 3: [m, W-m) x [m, H-m), or the full frame. */
static int set_crop_box(const pp_config *cfg, pp_frames *f, pp_error *err)
{
    long m = cfg->crop.enabled ? cfg->crop.margin : 0;

    f->crop_enabled = cfg->crop.enabled;
    f->x0 = m;
    f->x1 = f->full_w - m;
    f->y0 = m;
    f->y1 = f->full_h - m;
    if (f->x1 <= f->x0 || f->y1 <= f->y0)
        return pp_error_set(err, PP_ECONFIG, "crop.margin: %ld leaves no "
                            "pixels of the %ldx%ld images (expected a "
                            "margin below %ld)", m, f->full_w, f->full_h,
                            ((f->full_w < f->full_h ? f->full_w
                                                    : f->full_h) + 1) / 2);
    f->work_w = f->x1 - f->x0;
    f->work_h = f->y1 - f->y0;
    return PP_OK;
}

static void log_counts(const crop_catalog *cat)
{
    long ncrop = 0, nsat = 0, nactive = 0, nocoord = 0;

    for (long r = 0; r < cat->n; ++r) {
        ncrop += cat->excluded_crop[r];
        nsat += cat->excluded_saturation[r];
        nactive += !cat->excluded_crop[r] && !cat->excluded_saturation[r];
        nocoord += !cat->has_coords[r];
    }
    pp_log(PP_LOG_INFO, "sources: total=%ld crop-excluded=%ld "
           "saturation-excluded=%ld active=%ld (without coordinates: %ld)",
           cat->n, ncrop, nsat, nactive, nocoord);
}

int crop_load(const pp_config *cfg, pp_error *err)
{
    crop_images im;
    crop_catalog cat;
    crop_timing t = { 0 };
    double t0 = pp_progress_now(), t1, white_write = 0;
    char *white = pp_io_path_join(cfg->outputs.work_dir, "white.fits");
    int rc, writing = 0;

    memset(&im, 0, sizeof im);
    memset(&cat, 0, sizeof cat);
    if ((rc = pp_io_mkdir_p(cfg->outputs.work_dir, err)) != PP_OK ||
        (rc = remove_stale(cfg, err)) != PP_OK ||
        (rc = crop_images_load(cfg, &im, err)) != PP_OK ||
        (rc = set_crop_box(cfg, &im.frames, err)) != PP_OK)
        goto out;
    t.headers = (t1 = pp_progress_now()) - t0;
    if ((rc = crop_catalog_load(cfg, &im, &cat, err)) != PP_OK)
        goto out;
    t.catalog = pp_progress_now() - t1;
    pp_log(PP_LOG_INFO, "%d bands, full frame %ldx%ld, working frame "
           "%ldx%ld at (%ld, %ld); %ld catalogue rows", im.frames.nbands,
           im.frames.full_w, im.frames.full_h, im.frames.work_w,
           im.frames.work_h, im.frames.x0, im.frames.y0, cat.n);
    writing = 1;
    t1 = pp_progress_now();
    if ((rc = crop_stack(cfg, &im, &cat, white, &white_write, err)))
        goto out;
    t.pixels = pp_progress_now() - t1 - white_write;
    t1 = pp_progress_now();
    if ((rc = crop_write_outputs(cfg, &im, &cat, err)) != PP_OK)
        goto out;
    t.write = pp_progress_now() - t1 + white_write;
    log_counts(&cat);
    pp_log(PP_LOG_INFO, "load timing [s]: headers=%.3f catalog=%.3f "
           "pixels=%.3f write=%.3f (white.fits %.3f) total=%.3f",
           t.headers, t.catalog, t.pixels, t.write, white_write,
           pp_progress_now() - t0);
out:
    if (rc != PP_OK && writing)
        remove_outputs(cfg);
    crop_catalog_release(&cat);
    crop_images_release(&im);
    free(white);
    return rc;
}
