/* mask.h - `pp-crop mask`: the bright unmatched-source mask (SPEC §6.8).
 *
 * crop_mask() runs after `pp-zp augment` (so injected Gaia stars count as
 * catalogue sources).  It reads WHITE, SIGMA and SATANY from
 * <work_dir>/white.fits and the base catalogue (pp_catalog_base_path()),
 * detects sources with SEP on the background-subtracted white stack,
 * matches detections and catalogue rows, masks the bright detections that
 * no active catalogue source explains, and writes, in
 * outputs.bright_mask_dir:
 *     white_bright_mask.fits  uint8 image of the working frame, 1 = masked
 *                             (one GZIP_2 tile-compressed image extension,
 *                             EXTNAME BRIGHT_MASK: pp_fits_open_image()
 *                             finds it)
 *     detections.csv          x, y, a, b, theta_deg, flux, fluxerr, snr,
 *                             sep_matched, masked (SEP order)
 *     catalog_match.csv       key, x, y, cat_matched,
 *                             affected_by_bright_mask (base rows with
 *                             finite working coordinates, base order)
 * and rewrites the base catalogue with the column affected_by_bright_mask
 * (replaced in place, else inserted right after excluded_any); every
 * other cell keeps its exact text.  Every file is written atomically, and
 * only after all the work succeeded.
 *
 * Memory: WHITE and SIGMA as float plus a byte mask of the non-finite
 * pixels (9 bytes per working pixel) and SEP's pixel stack (at most
 * MASK_PIXSTACK_MAX entries of ~24 bytes) during detection; afterwards one
 * byte per pixel for the output mask.
 *
 * With bright_mask.enabled false the stage logs that and writes nothing.
 */
#ifndef CROP_MASK_H
#define CROP_MASK_H

#include "pp_config.h"
#include "pp_error.h"

/* Upper bound of SEP's pixel stack (sep_set_extract_pixstack): the pixels
 * of all objects open at once on a scan line; SEP's default (300 000)
 * overflows on the halos of saturated stars. */
#define MASK_PIXSTACK_MAX 5000000L

/* The whole stage.  Errors: PP_EIO "cannot open '<work>/white.fits': No
 * such file or directory (run 'pp-crop -c CONFIG' first)"; PP_EDATA for a
 * base catalogue without x_pix_white, y_pix_white or excluded_any, a bad
 * cell in them, or a SEP failure (SEP's message and detail); PP_ENOMEM
 * when the arrays do not fit; PP_EIO when an output cannot be written. */
int crop_mask(const pp_config *cfg, pp_error *err);

/* SPEC §6.8 step 3: 1 when the offset (dx, dy) from an ellipse centre is
 * inside the ellipse of semi-axes A, B (pixels) and angle theta (radians,
 * counter-clockwise from +x, SEP's convention):
 * (dx'/A)^2 + (dy'/B)^2 <= 1 with (dx', dy') the offset rotated by
 * -theta. */
int crop_mask_in_ellipse(double dx, double dy, double A, double B,
                         double theta);

#endif /* CROP_MASK_H */
