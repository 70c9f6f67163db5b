/* render.h - pp-sim's renderer: exact Sérsic galaxies and optical PSFs.
 *
 * This is the independent truth of patchphot's accuracy tests (SPEC §15):
 * it shares no code with pp-fit's renderer and uses no Gaussian mixtures.
 * Pixel coordinates are 0-based with pixel centres at integers (SPEC §3.1);
 * images are row-major doubles, img[y * w + x].
 *
 * Galaxies: the exact elliptical Sérsic profile (b_n solved with GSL),
 * tapered to zero like the SDSS profiles (SPEC §15: by (1 - u²)² with
 * u = (r - t1 re) / ((t2 - t1) re) between t1 re and t2 re), integrated
 * over the sub-pixels of an oversampled grid (more finely near the centre,
 * where the profile is steep), convolved on that grid with the optical PSF
 * sampled at sub-pixel centres (FFTW), then binned to pixels: the pixel
 * box is applied exactly once.  Stars: the optical PSF integrated over
 * each pixel.  The flux given is the total of the tapered profile (a
 * star's: of the PSF over the plane); the renderer reports what the stamp
 * holds so the caller can record the rendered total as the truth.
 *
 * Threads: sim_psf and sim_sersic values are plain data; a sim_renderer
 * (FFTW plans and buffers, reused) belongs to one thread (FFTW planning
 * takes a process-wide lock, so renderers may live in several threads).
 * GSL special functions are only called inside their domains, but the
 * program should still switch GSL's abort-on-error handler off
 * (gsl_set_error_handler_off) as for any library code.
 */
#ifndef SIM_RENDER_H
#define SIM_RENDER_H

#include "pp_error.h"

enum { SIM_PSF_MOFFAT = 0, SIM_PSF_GAUSS2 = 1 };

/* An optical PSF.  Moffat: (1 + r²/α²)^-β with α from fwhm and beta.
 * Double Gaussian: 0.9 of a core Gaussian and 0.1 of one twice as wide,
 * scaled so that the sum has the given FWHM.  Both may be elliptical:
 * r² = (u/a)² + (v/b)² in the frame rotated by angle with b/a = 1 - ell,
 * a·b = 1 (the FWHM is the geometric mean of the axes' FWHMs). */
typedef struct {
    int kind;                   /* SIM_PSF_MOFFAT or SIM_PSF_GAUSS2 */
    double fwhm;                /* pixels, > 0 */
    double beta;                /* Moffat only, > 1 */
    double ell;                 /* 1 - b/a, in [0, 1) */
    double angle;               /* major axis from +x towards +y, radians */
} sim_psf;

/* The PSF's surface density at offset (dx, dy) pixels from its centre,
 * normalised to unit integral over the plane. */
double sim_psf_value(const sim_psf *p, double dx, double dy);

/* Fraction of the flux within radius r of the centre (analytic; for an
 * elliptical PSF, within the ellipse of geometric-mean radius r). */
double sim_psf_enclosed(const sim_psf *p, double r);

/* The radius outside which at most eps of the flux lies. */
double sim_psf_radius(const sim_psf *p, double eps);

/* PSF integrated over each pixel of a size x size stamp (size odd), the
 * PSF centred at (size/2 + dx, size/2 + dy) in stamp pixels, into
 * out[j * size + i]; the stamp is NOT renormalised (its sum is the flux
 * fraction it holds).  Each pixel is good to a few 1e-8 of the flux for
 * FWHM >= 1 px. */
void sim_psf_pixel_stamp(const sim_psf *p, int size, double dx, double dy,
                         double *out);

/* A Sérsic profile. */
typedef struct {
    double n;                   /* index, [0.3, 8] */
    double re;                  /* half-light radius along the major axis
                                   (of the untapered profile), pixels */
    double q;                   /* axis ratio b/a, (0, 1] */
    double theta;               /* major axis from +x towards +y, rad */
    double t1, t2;              /* taper from t1·re to t2·re (t2 > t1);
                                   t1 <= 0: no taper */
} sim_sersic;

/* b_n with γ(2n, b_n) = Γ(2n)/2 (the half-light condition), to 1e-12
 * (safeguarded Newton on GSL's P(2n, b) from Ciotti & Bertin's series). */
double sim_sersic_bn(double n);

/* Total flux of the (tapered) profile I(r) = exp(-b_n((r/re)^(1/n) - 1))
 * with I_e = 1, over the plane (elliptical: times q), to ~1e-12: closed
 * form inside t1·re, quadrature of the taper annulus. */
double sim_sersic_total(const sim_sersic *s);

typedef struct sim_renderer sim_renderer;

/* A renderer with sub-pixel oversampling factor `oversample` (odd, >= 1;
 * 5 is a good default).  PP_EUSAGE for an even or non-positive factor,
 * PP_ENOMEM on failure; *out is NULL then.  Free with sim_renderer_free
 * (NULL is a no-op). */
int sim_renderer_new(int oversample, sim_renderer **out, pp_error *err);
void sim_renderer_free(sim_renderer *r);

/* Add a galaxy of total (tapered) flux `flux`, centred at (x, y), seen
 * through psf, to img (w x h).  The stamp covers the whole tapered profile
 * plus the PSF out to sim_psf_radius(psf, 1e-5); parts outside the image
 * are dropped.  *stamp_total (may be NULL) gets the flux of the whole
 * stamp, inside the image or not: flux to ~1e-8 when tapered (the PSF's
 * wings beyond the stamp wrap around it rather than being lost).
 * Oversampled by the renderer's factor, the result is the convolution
 * integrated over pixels to ~1e-7 of the flux for galaxies resolved on
 * the sub-pixel grid; an unresolved one (re << 1/oversample) is placed
 * at its cell's centre.  PP_EDATA, img untouched, for profile or PSF
 * values outside their ranges, |x| or |y| >= 1e9, or a stamp too large
 * (over 16384 sub-pixels a side: a Moffat with β near 1); PP_ENOMEM. */
int sim_render_galaxy(sim_renderer *r, const sim_sersic *g,
                      const sim_psf *psf, double flux, double x, double y,
                      double *img, long w, long h, double *stamp_total,
                      pp_error *err);

/* Add a star of flux `flux` at (x, y): the PSF integrated over each pixel
 * within sim_psf_radius(psf, 1e-5) (at most 4096 px), each to a few 1e-8
 * of the flux.  *stamp_total as above (0 for |x| or |y| >= 1e9 or a
 * non-finite flux, which render nothing). */
void sim_render_star(const sim_psf *psf, double flux, double x, double y,
                     double *img, long w, long h, double *stamp_total);

/* ---- Inside pp-sim: the pieces render.c assembles. ---- */

/* The elliptical radius (major axis, pixels) beyond which the profile is
 * zero: t2·re, or without taper where the surface brightness falls to
 * 1e-7 of the central value (the rendered stamp then holds less than the
 * infinite total; *stamp_total says how much). */
double sim_sersic_extent(const sim_sersic *s);

/* Integrals of the unit profile (I_e = 1, tapered) over the cells of a
 * grid of nx × ny squares of side h, cell (i, j) centred at
 * (x0 + i·h, y0 + j·h) relative to the galaxy centre, into
 * out[j * nx + i].  Cells where the profile is smooth on the scale h get a
 * fourth-order Taylor cubature, steeper ones 4×4 Gauss-Legendre, those
 * near the centre adaptive subdivision; each is good to ~1e-7 of its value
 * (or 1e-12 of the total). */
void sim_sersic_grid(const sim_sersic *s, double x0, double y0, double h,
                     long nx, long ny, double *out);

/* The PSF's Fourier transform P(fx, fy) (frequencies in cycles per
 * pixel, P(0) = 1), ready for evaluation on a grid.  A Moffat needs a
 * table of its radial transform 2 (πρ)^ν K_ν(2πρ) / Γ(ν), ν = β - 1,
 * built once per β and kept while β stays the same. */
typedef struct {
    int kind;                   /* of the PSF last set; -1: none */
    double beta;                /* of the Moffat table; 0: none */
    long n;                     /* table nodes ρ = i·step */
    double step;
    double *val, *der;          /* F(ρ) and dF/dρ */
    /* Set for the PSF of the last sim_psf_ft_set(): */
    double kxx, kxy, kyy;       /* Q = kxx fx² + 2 kxy fx fy + kyy fy² */
    double qcut;                /* P = 0 where Q > qcut (|P| < 1e-12) */
    double qmin;                /* Q >= qmin·(fx² + fy²) */
} sim_psf_ft;

#define SIM_PSF_FT_INIT { -1, 0, 0, 0, NULL, NULL, 0, 0, 0, 0, 0 }

/* Prepare ft for p (rebuilding the Moffat table when β changed).
 * PP_ENOMEM when the table cannot be allocated. */
int sim_psf_ft_set(sim_psf_ft *ft, const sim_psf *p, pp_error *err);
void sim_psf_ft_release(sim_psf_ft *ft);

/* P(fx, fy); 0 where Q > qcut. */
double sim_psf_ft_value(const sim_psf_ft *ft, double fx, double fy);

/* out[i] += P(fx, fy0 + i·dfy) for i < n: one column of a grid. */
void sim_psf_ft_column_add(const sim_psf_ft *ft, double fx, double fy0,
                           double dfy, long n, double *out);

#endif /* SIM_RENDER_H */
