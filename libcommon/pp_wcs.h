/* pp_wcs.h - world coordinates of an image (wcslib).
 *
 * A pp_wcs is the primary WCS of one FITS header, parsed by wcslib
 * (wcspih with every relaxation, wcsfix, wcsset), with SIP and the other
 * distortions wcslib knows (CTYPE "...-TAN-SIP" with A_p_q/B_p_q keys,
 * TPV, ...), plus the header text it came from, kept so that the same
 * cards can be written elsewhere (wcs.fits, payload headers).
 *
 * Pixel coordinates are 0-based with pixel centres at integers (SPEC
 * §3.1): wcslib's 1-based pixcrd is ours + 1.  Only this module adds or
 * removes that 1.  Sky coordinates are degrees (RA in [0, 360)).
 *
 * Threads: wcslib keeps scratch state inside its structs (wcsset is lazy,
 * distortions use work arrays), so the transforms below are NOT safe to
 * call from several threads on the same pp_wcs, although they take a
 * const pointer (the pp_wcs itself is not changed; what it points to may
 * be).  Give each thread its own copy (pp_wcs_copy()).
 *
 * Lifecycle: PP_WCS_INIT or pp_wcs_from_fits() fills a caller-owned
 * struct; pp_wcs_release() frees its contents.
 */
#ifndef PP_WCS_H
#define PP_WCS_H

#include <stddef.h>

#include <fitsio.h>

#include "pp_error.h"

struct wcsprm;

typedef struct {
    struct wcsprm *wcs;     /* the primary WCS, set up (wcsset done) */
    int nwcs;               /* 1 when loaded, else 0 */
    char *header;           /* header cards (80 chars each, no NUL between
                             * them), COMMENT/HISTORY excluded */
    int nkeys;              /* number of cards in header */
} pp_wcs;

#define PP_WCS_INIT { NULL, 0, NULL, 0 }

/* Most axes a header may declare (2 celestial + degenerate ones). */
#define PP_WCS_MAXAXES 4

/* Parse the primary WCS of the current HDU of fp (a tile-compressed image
 * gives its image header).  It must have celestial axes (lng and lat).
 * path_for_messages names the file in errors: PP_EDATA "'<path>': no
 * valid WCS: <wcslib message>", PP_EIO when the header cannot be read.
 * On failure w is left as PP_WCS_INIT. */
int pp_wcs_from_fits(fitsfile *fp, const char *path_for_messages, pp_wcs *w,
                     pp_error *err);

/* A deep copy of src into dst (for another thread).  PP_EINTERNAL if
 * wcslib fails. */
int pp_wcs_copy(const pp_wcs *src, pp_wcs *dst, pp_error *err);

/* Free the contents of w and reset it to PP_WCS_INIT; safe twice. */
void pp_wcs_release(pp_wcs *w);

/* Project (ra, dec) in degrees to 0-based pixel (x, y).  Returns 0 on
 * success, nonzero when the point cannot be projected (non-finite input,
 * far side of a zenithal projection, outside the projection's domain);
 * then *x = *y = NAN. */
int pp_wcs_sky_to_pix(const pp_wcs *w, double ra, double dec, double *x,
                      double *y);

/* The inverse: 0-based pixel to (ra, dec) in degrees, RA in [0, 360).
 * Nonzero and NANs when the pixel has no sky position. */
int pp_wcs_pix_to_sky(const pp_wcs *w, double x, double y, double *ra,
                      double *dec);

/* Array versions (wcslib works on arrays: faster for catalogues).
 * Return the number of points that could not be transformed (their
 * outputs are NAN); 0 when all are fine. */
long pp_wcs_sky_to_pix_n(const pp_wcs *w, long n, const double *ra,
                         const double *dec, double *x, double *y);
long pp_wcs_pix_to_sky_n(const pp_wcs *w, long n, const double *x,
                         const double *y, double *ra, double *dec);

/* Pixel scale in arcsec: sqrt(|det M|) of the linear part M = CDELT x PC
 * (or CD) of the celestial axes, at the reference pixel (distortions are
 * not included). */
double pp_wcs_pixel_scale_arcsec(const pp_wcs *w);

/* Check that b is aligned with a (SPEC §5.3): same number of axes,
 * identical CTYPEs, CRVAL within tol_crval (deg), CRPIX within tol_crpix
 * (pix), and, when both use CDELT and PC, CDELT within tol_cdelt and PC
 * within tol_cd; otherwise (CD in either) the CD matrices (CD, or CDELT x
 * PC for the one without CD) within tol_cd.  Returns 0 when aligned, else
 * 1 with the first difference in why (nwhy bytes), e.g.
 * "CRVAL1 differs: 150.1 vs 150.2 (tolerance 1e-06)". */
int pp_wcs_compare(const pp_wcs *a, const pp_wcs *b, double tol_crval,
                   double tol_crpix, double tol_cd, double tol_cdelt,
                   char *why, size_t nwhy);

/* Write the WCS of w into the current HDU of out, for the frame whose
 * origin is the pixel (dx, dy) of w's frame: CRPIX1 -= dx, CRPIX2 -= dy
 * (SPEC §3.1: working frame = full frame shifted by the crop origin;
 * SPEC §9.3: payload = working frame shifted to the ROI).  The primary
 * WCS cards of the original header are copied as they are (CTYPE, CRVAL,
 * CD/PC/CDELT/CROTA, CUNIT, PV/PS, LONPOLE, LATPOLE, RADESYS, EQUINOX,
 * WCSAXES, SIP A_/B_/AP_/BP_ keys, DP/DQ distortion keys, MJD-OBS,
 * DATE-OBS), replacing keys of the same name in out.  PP_EIO naming out's
 * file on a cfitsio failure. */
int pp_wcs_write_shifted(fitsfile *out, const pp_wcs *w, double dx,
                         double dy, pp_error *err);

#endif /* PP_WCS_H */
