/* initflux.h - initial fluxes of the fit (SPEC §10.4).
 *
 * Per source and band: FLUX_<band> of the catalogue when finite and > 0
 * (fit_payload.flux_cat, already NAN otherwise), else the SEP circular
 * aperture sum (sep_sum_circle) of radius patch_run.r_ap pixels centred on
 * the source's patch position, on the band's scaled patch image, with
 * every bad pixel (any MASK bit, or non-finite data) masked and SEP's
 * masked-area correction (a masked pixel counts as the mean of the good
 * ones in the aperture); then clamped to >= patch_run.eps_flux (an
 * aperture that is all masked or off the image also gives eps_flux).
 * Sub-pixel sampling FIT_INITFLUX_SUBPIX, SEP's (and sep.sum_circle's)
 * default.  The initial sky is 0, so nothing is subtracted.
 * Nothing here logs; SEP is thread-safe for these calls.
 */
#ifndef FIT_INITFLUX_H
#define FIT_INITFLUX_H

#include "pp_error.h"

#include "payload.h"

#define FIT_INITFLUX_SUBPIX 5

/* The aperture sum of band b of p around patch position (x, y), radius
 * r_ap (px, > 0), bad pixels masked with area correction.  OUTPUT *sum
 * (NAN when every pixel of the aperture is masked or outside the image).
 * PP_EINTERNAL when SEP fails (its message included) or for a bad
 * argument. */
int fit_initflux_aperture(const fit_payload *p, int b, double x, double y,
                          double r_ap, double *sum, pp_error *err);

/* Initial fluxes of every source (base, halo, edge) in every band:
 * OUTPUT flux[s * p->nbands + b] (nsrc x nbands doubles, caller-owned),
 * with r_ap = patch_run.r_ap and eps_flux = patch_run.eps_flux. */
int fit_initflux_all(const fit_payload *p, double r_ap, double eps_flux,
                     double *flux, pp_error *err);

#endif /* FIT_INITFLUX_H */
