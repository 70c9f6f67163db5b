/* select.h - PSF-star candidates, their tests and stamps (SPEC §8.2 steps
 * 3 and 4).
 *
 * Candidates are the cell's SEP detections and Gaia seeds (by
 * epsf.psfstar_mode); a seed snaps to the nearest unused detection within
 * gaia_match_r_pix (origin "both").  Each candidate gets the first failed
 * test as its reject reason, in this order:
 *   edge       stamp not inside the full image with edge_pad to spare
 *   nonfinite  a nonfinite raw pixel within max(3·FWHM, 5) px
 *   saturated  a raw pixel >= SATURATE/2 within that radius, or the raw
 *              peak within gaia_seed_sat_r px >= SATURATE/gaia_seed_sat_div
 *              (raw, unmasked pixels: SPEC §8.2 step 3)
 *   elongated  SEP a/b > q_range[1]
 *   sep_flags  SEP MERGED or TRUNC, or the aperture has masked pixels
 *   low_snr    forced-aperture SNR < gaia_snr_min
 *   crowded    a detection or Gaia source brighter than
 *              isolation_flux_ratio × own flux within min_sep px
 *   max_stars  passed every test but max_stars better ones were taken
 * The builder adds fit_failed and resid_outlier (build.h), and
 * build_failed marks the selected stars of a cell whose build failed.  Candidates
 * are ordered Gaia-origin first (mode sep+gaia), then by SNR descending;
 * that order is stars.csv's (SPEC §8.3).
 */
#ifndef EPSF_SELECT_H
#define EPSF_SELECT_H

#include "pp_config.h"
#include "pp_error.h"
#include "pp_frames.h"

#include "region.h"

enum { EPSF_ORIGIN_SEP = 0, EPSF_ORIGIN_GAIA, EPSF_ORIGIN_BOTH };

/* A Gaia source of the base catalogue, working frame. */
typedef struct {
    double x, y;
    double mag;                 /* mag_<band>, finite */
    double flux;                /* 10^(−0.4 (mag − zp_ref)), scaled */
} epsf_gaia;

typedef struct {
    double x, y;                /* working frame */
    int origin;                 /* EPSF_ORIGIN_* */
    double gaia_mag;            /* NAN when not a Gaia seed */
    int sep;                    /* SEP object index or -1 */
    int sep_flag;               /* SEP object | aperture flags */
    double flux, snr;           /* forced aperture */
    double local_bkg;           /* step 4 (scaled); 0 on fallback */
    long annulus_npix;          /* annulus pixels kept; 0 if not done */
    int local_bkg_ok;           /* 1: local_bkg from enough pixels */
    int used;                   /* 1: in the final stack */
    char reason[16];            /* "" when selected or used */
} epsf_cand;

typedef struct {
    const pp_config *cfg;
    const pp_frames *frames;
    int band;
    double fwhm;                /* px, SPEC §8.2 rule */
    double sky_sigma;           /* scaled */
    long cx0, cx1, cy0, cy1;    /* the cell, working frame */
    const epsf_gaia *gaia;      /* Gaia sources near the cell (any mag) */
    long ngaia;
} epsf_select_ctx;

/* Build, test and rank the candidates of the cell in region r (detected).
 * OUTPUT *cands (caller frees), *ncands, *nseed (Gaia seeds in the cell
 * and magnitude range), *nextract (SEP detections in the cell),
 * *nsel (selected: at most max_stars; they come first in *cands). */
void epsf_select(const epsf_select_ctx *c, const epsf_region *r,
                 epsf_cand **cands, int *ncands, int *nseed, int *nextract,
                 int *nsel);

/* Step 4: the S × S stamp (S = cutout_size) of candidate k: data =
 * subtracted image − local background, valid = not bad and not in
 * another object's segment; fills k's local_bkg fields.  OUTPUT data,
 * valid (S·S each), *dx, *dy (offset of the star from the stamp centre
 * pixel), raw (S·S raw scaled image, may be NULL). */
void epsf_select_stamp(const epsf_select_ctx *c, const epsf_region *r,
                       epsf_cand *k, double *data, unsigned char *valid,
                       double *dx, double *dy, double *raw);

/* max(3·FWHM, 5) px: the bad-pixel radius of step 3. */
double epsf_select_core_radius(double fwhm);

/* The forced-aperture radius clip(k·FWHM, rmin, rmax) of step 3. */
double epsf_select_aper_radius(const pp_config *cfg, double fwhm);

const char *epsf_origin_name(int origin);

#endif /* EPSF_SELECT_H */
