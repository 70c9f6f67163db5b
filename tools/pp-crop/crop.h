/* crop.h - pp-crop's load stage (SPEC §6.1) and its parts.
 *
 * crop_load() sequences the stage: every check on headers and the
 * catalogue runs before a pixel is read; the pixels are then streamed once
 * in row blocks (memory bounded by one block, never a whole band); all
 * outputs are written to temporary names and renamed only at the end, so a
 * failure leaves no partial output.
 */
#ifndef CROP_H
#define CROP_H

#include <stddef.h>

#include "pp_config.h"
#include "pp_error.h"
#include "pp_frames.h"
#include "pp_table.h"
#include "pp_wcs.h"

/* The images: frames.json's content plus what only pp-crop needs. */
typedef struct {
    pp_frames frames;           /* bands, calibration, frames */
    pp_wcs *wcs;                /* per band; wcs[0] projects the catalogue */
    long *width, *height;       /* per band, as stored */
    char **display;             /* per band: the path as the list gave it */
} crop_images;

/* The catalogue and the per-source results of the stage. */
typedef struct {
    char *path;                 /* as configured (absolute) */
    pp_table table;             /* the user's exact text */
    int col_ra, col_dec, col_id;
    long n;
    unsigned char *has_coords;  /* finite RA and DEC (SPEC §3.3) */
    double *x_full, *y_full;    /* projection, NAN without coordinates */
    unsigned char *excluded_crop, *excluded_saturation;
    unsigned char *hits;        /* n x nbands: disk touches saturation */
} crop_catalog;

/* Timings of SPEC §6.1 step 8, seconds. */
typedef struct {
    double headers, catalog, pixels, write;
} crop_timing;

/* The whole stage. */
int crop_load(const pp_config *cfg, pp_error *err);

/* images.c: read the image list and every header, validate them all
 * (errors collected and reported together), fill images->frames. */
int crop_images_load(const pp_config *cfg, crop_images *images,
                     pp_error *err);
void crop_images_release(crop_images *images);

/* catalog.c: read the catalogue, check columns, bands and duplicate keys,
 * project every row with coordinates, set excluded_crop. */
int crop_catalog_load(const pp_config *cfg, const crop_images *images,
                      crop_catalog *cat, pp_error *err);
void crop_catalog_release(crop_catalog *cat);

/* stack.c: stream every band once; write the WHITE, SIGMA, SATANY and
 * WHITE_FULL extensions into white_path (atomically) and set cat->hits
 * and cat->excluded_saturation (SPEC §6.1 steps 4-5).  *write_seconds
 * gets the time spent writing white_path. */
int crop_stack(const pp_config *cfg, const crop_images *images,
               crop_catalog *cat, const char *white_path,
               double *write_seconds, pp_error *err);

/* output.c: write frames.json, wcs.fits and catalog.csv atomically. */
int crop_write_outputs(const pp_config *cfg, const crop_images *images,
                       crop_catalog *cat, pp_error *err);

#endif /* CROP_H */
