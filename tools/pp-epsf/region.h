/* region.h - one ePSF cell's pixels: read, background, detection (SPEC
 * §8.2 input, steps 1 and 2).
 *
 * The region is the cell plus a margin of cutout_size/2 + 2 px, clipped
 * to the full image (SPEC §8.2: stars near a cell border keep complete
 * stamps).  Coordinates are in the working frame (SPEC §3.1); the region
 * may reach into the crop margin, where they are negative or beyond the
 * working size.  Arrays are row-major, w × h, pixel (i, j) at
 * [j·w + i] with working-frame centre (x0 + i, y0 + j).
 */
#ifndef EPSF_REGION_H
#define EPSF_REGION_H

#include <sep.h>

#include "pp_config.h"
#include "pp_error.h"
#include "pp_frames.h"

typedef struct {
    long x0, y0;                /* working-frame origin of pixel (0, 0) */
    int w, h;
    float *raw;                 /* raw ADU as stored, NaN for blank */
    float *img;                 /* scaled; background subtracted after
                                 * epsf_region_background() */
    float *bkg;                 /* background map, scaled (NULL: none) */
    unsigned char *bad;         /* 1: nonfinite or raw >= SATURATE/2 */
    int *seg;                   /* SEP segment: object index + 1, 0 none */
    sep_catalog *cat;           /* SEP detections (region pixels) */
    /* SPEC §8.3 patch_background{}: */
    char bkg_status[16];        /* "ok", "error", "disabled" */
    double bkg_median, bkg_mean, bkg_rms_median, bkg_rms_mean;
    double bkg_masked_frac;
} epsf_region;

/* Read the region of band b around the cell [cx0,cx1) × [cy0,cy1)
 * (working frame) with a margin of margin px from the band's FITS file
 * (only that sub-image is read), scale it and mark bad pixels (SPEC
 * §5.3).  OUTPUT *r (release with epsf_region_release).  PP_EIO / PP_EDATA
 * naming the file when it cannot be read. */
int epsf_region_read(const pp_frames *f, int b, long cx0, long cx1,
                     long cy0, long cy1, long margin, epsf_region *r,
                     pp_error *err);

/* Step 1: source mask, SEP background, subtraction, statistics.  A SEP
 * failure is not an error: status "error", a WARNING and no
 * subtraction.  sky_sigma is the band's σ in scaled units. */
void epsf_region_background(const pp_config *cfg, double sky_sigma,
                            epsf_region *r);

/* Step 2: SEP extraction (relative threshold epsf.thresh_sigma against
 * the sky σ, matched 3 × 3 filter, 32 thresholds, contrast 0.005,
 * cleaning) and the segmentation map.  PP_EDATA with SEP's message (and
 * the key to change) on failure. */
int epsf_region_detect(const pp_config *cfg, double sky_sigma,
                       epsf_region *r, pp_error *err);

/* A sep_image over the subtracted image with noise sky_sigma and the
 * Poisson gain egain/scale (0: none), masked where bad. */
sep_image epsf_region_sep_image(const epsf_region *r, double sky_sigma,
                                double gain);

void epsf_region_release(epsf_region *r);

#endif /* EPSF_REGION_H */
