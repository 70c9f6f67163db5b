/* output.h - the files of one ePSF cell (SPEC §8.3) and the state of a
 * cell's run that they are written from.
 *
 * EPSFs/<band>/<cell>/: epsf.npy (status ok only; removed otherwise),
 * stars.csv, stamps.fits, meta.json (written last).  stars.csv columns:
 * id, x_cell, y_cell (relative to the cell's x0, y0), x_white, y_white
 * (working frame), origin, gaia_mag, snr, sep_flag, local_bkg,
 * annulus_npix, used, reject_reason.  stamps.fits: cubes RAW (scaled raw
 * pixels), BGSUB (background- and local-background-subtracted), MODEL
 * (flux·ePSF at the fitted centre), RESID (BGSUB − MODEL), WEIGHT (1
 * usable, 0 masked) of the used stars in id order, S × S × nused; with
 * epsf.save_patch_background_diagnostics also the region's scaled image
 * IMAGE and its BACKGROUND map (keys X0, Y0: working-frame position of
 * their first pixel).
 */
#ifndef EPSF_OUTPUT_H
#define EPSF_OUTPUT_H

#include <jansson.h>

#include "pp_error.h"
#include "pp_psf.h"

#include "build.h"
#include "cell.h"
#include "qa.h"
#include "region.h"
#include "select.h"

/* Most entries of epsf.mog_components. */
#define EPSF_MOG_SETS_MAX 8

typedef struct {
    char tag[32];
    int ok;                     /* 0: status fail */
    char error[512];
    int S, F;                   /* cutout and final sizes */
    double fwhm, sky;
    epsf_region reg;
    epsf_cand *cands;
    int ncands, nseed, nextract, nsel;
    double *data, *raw, *model; /* nsel × S × S */
    unsigned char *valid;
    double *dx, *dy, *flux0;
    epsf_result res;
    double *final;              /* F × F, sum 1 */
    epsf_qa qa;
    int nmog;
    pp_psf_mog mog[EPSF_MOG_SETS_MAX];
    int mog_iters[EPSF_MOG_SETS_MAX];
    int resid_nstars;
    double resid_bias, resid_rms, resid_norm_bias, resid_norm_rms;
} epsf_cell_state;

/* Write the cell's files from s.  OUTPUT *meta (new reference). */
int epsf_output_write(const epsf_cell_job *j, const epsf_cell_state *s,
                      json_t **meta, pp_error *err);

#endif /* EPSF_OUTPUT_H */
