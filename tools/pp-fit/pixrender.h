/* pixrender.h - rendering through a pixelized PSF stamp, with analytic
 * derivatives (SPEC §10.3 psf_model: pixelized, §10.4).
 *
 * The PSF is a stamp of odd size w × h, centre pixel (w/2, h/2), held in
 * a caller-owned fit_pix_ctx together with the stamp's DFT per FFT size
 * and FFTW plans and work arrays (shareable between contexts, see
 * fit_pix_share()), created on first use with FFTW_ESTIMATE; nothing is
 * allocated per source once a size is warm.  Real outputs are inverse-
 * transformed two at a time (one as the real, one as the imaginary part
 * of a complex transform); the Nyquist bins are first made Hermitian,
 * which is what keeping the real part of a single transform does.  Frequencies of an N-point
 * transform are u = i/N for i < N/2 and (i − N)/N otherwise (cycles per
 * pixel; the Nyquist bin uses −1/2); inverse transforms are divided by N²
 * and only their real part is kept.
 *
 * Sub-pixel placement (SPEC §10.3 subpixel_shift): a source at x is put
 * at X = round-half-even(x) and moved by δ = x − X ∈ [−½, ½]:
 *  - FIT_PIX_LANCZOS3: separable, normalised Lanczos-3 (the reference):
 *    out(i) = Σ_{j=−3..3} w_j in(i + j), w_j = L(j + δ)/Σ L, L(t) =
 *    sinc(t)·sinc(t/3), zero beyond the input array (the output array has
 *    the input's size).  ∂/∂x uses dL/dt.
 *  - FIT_PIX_FOURIER: out = IDFT(DFT(in)·exp(−2πi(uδx + vδy))), exact
 *    for a band-limited stamp; ∂/∂x multiplies by −2πi·u.
 * Stars: the stamp, zero-padded to N = next power of two ≥ 2·max(w, h)
 * − 1 (Fourier; output N × N pixels, offsets [−N/2, N/2) from X) or the
 * stamp itself (Lanczos; output w × h).
 * Galaxies: the analytic transform of the mixture, component k giving
 * amp_k·exp(−2π² var_k·qᵀSq) with q = (u, v), times the DFT of the
 * stamp (centre at index 0, wrapped), inverse DFT, sub-pixel shift,
 * placement at X; N = next power of two ≥ 2·(nre·re + max(w, h)/2) with
 * re = sqrt(λmax(S)), so nothing wraps; output N × N pixels at offsets
 * [−N/2, N/2) from X.  Sizes above fft_max are refused (PP_EDATA): the
 * hybrid path of SPEC §10.3 is the caller's (see mogrender.h).
 *
 * Buffers follow mogrender.h: box [x0, x1) × [y0, y1), row-major with
 * stride x1 − x0, and rendering ADDS to img and to d[FIT_DERIV_*].
 * Pixels of the output outside the box are dropped.  Results are
 * deterministic (FFTW_ESTIMATE plans).  A context is not thread safe, and
 * FFTW plan creation is global: use one context per thread and create
 * plans (warm sizes) under the caller's lock if threads share FFTW.
 */
#ifndef FIT_PIXRENDER_H
#define FIT_PIXRENDER_H

#include "pp_error.h"

#include "mogrender.h"
#include "profile.h"

/* Sub-pixel shift methods (SPEC §10.3 patch_run.subpixel_shift). */
enum { FIT_PIX_FOURIER = 0, FIT_PIX_LANCZOS3 };

/* Distinct FFT sizes cached by one context. */
#define FIT_PIX_NSIZES 8

/* SPEC §10.3 fft_max default. */
#define FIT_PIX_FFT_MAX 512

typedef struct fit_pix_slot fit_pix_slot;   /* per-size stamp DFT, opaque */
typedef struct fit_pix_ws fit_pix_ws;       /* FFT scratch, opaque */

typedef struct {
    double       *stamp;        /* owned copy, w × h, row-major */
    double       *scratch;      /* 2·w·h, Lanczos star shifts (lazy) */
    int           w, h;         /* odd */
    int           shift;        /* FIT_PIX_FOURIER or FIT_PIX_LANCZOS3 */
    int           fft_max;      /* largest FFT size allowed */
    int           nslot;
    fit_pix_slot *slot[FIT_PIX_NSIZES];
    fit_pix_ws   *ws;           /* work arrays and plans, maybe shared */
} fit_pix_ctx;

/* Set up OUTPUT ctx for the stamp (w × h, both odd and >= 1, finite;
 * copied, used as given — normalise it to sum 1 first), the shift method
 * and fft_max (a power of two >= 16).  Returns PP_OK, PP_EUSAGE for bad
 * sizes or method, PP_EDATA for a non-finite stamp value, PP_ENOMEM.
 * On failure ctx is zeroed.  Release with fit_pix_release(). */
int fit_pix_init(fit_pix_ctx *ctx, const double *stamp, int w, int h,
                 int shift, int fft_max, pp_error *err);

/* Free everything ctx holds (plans, arrays, stamp); ctx is zeroed.  A
 * zeroed ctx is a no-op.  Shared work arrays are freed with the last
 * context that uses them. */
void fit_pix_release(fit_pix_ctx *ctx);

/* Make ctx use owner's FFT work arrays and plans (scratch only during a
 * call), so many PSFs (bands, positions) share one set of work arrays;
 * their stamp transforms together are kept under 64 MiB, the least
 * recently used recomputed when needed again.  Contexts sharing work
 * arrays must be used from one thread at a time, and a context must not
 * be moved in memory between fit_pix_init() and fit_pix_release() (the
 * workspace keeps its address). */
void fit_pix_share(fit_pix_ctx *ctx, fit_pix_ctx *owner);

/* FFT size a galaxy of profile prof and shape S needs (see above); may
 * exceed ctx->fft_max. */
int fit_pix_galaxy_nfft(const fit_pix_ctx *ctx, const fit_mog *prof,
                        const double S[2][2]);

/* Render flux × stamp at (x, y) (a star, SPEC §10.3), ADDING to img and
 * d[FIT_DERIV_FLUX, X, Y] (other d[] entries are ignored; img, d and any
 * d[i] may be NULL).  Returns PP_OK, PP_EUSAGE (bad box), PP_EDATA
 * (non-finite x, y, flux), PP_ENOMEM. */
int fit_pix_render_star(fit_pix_ctx *ctx, double x, double y, double flux,
                        long x0, long x1, long y0, long y1, double *img,
                        double *const d[FIT_NDERIV], pp_error *err);

/* Render flux × (prof at (x, y), shape S) ⊗ stamp by the Fourier method,
 * ADDING to img and to every non-NULL d[i] (FIT_DERIV_*; LOGRE..EE2 need
 * dS; N uses prof->damp_dn, dvar_dn).  Returns PP_OK, PP_EUSAGE (bad
 * box, prof->k, dS NULL when needed), PP_EDATA (non-finite input, or an
 * FFT size above fft_max: the caller must use the mixture path),
 * PP_ENOMEM. */
int fit_pix_render_galaxy(fit_pix_ctx *ctx, const fit_mog *prof,
                          double x, double y, double flux,
                          const double S[2][2], const double dS[3][2][2],
                          long x0, long x1, long y0, long y1, double *img,
                          double *const d[FIT_NDERIV], pp_error *err);

/* As fit_pix_render_galaxy with the FFT size forced to nfft (a power of
 * two <= fft_max; 0 = the size fit_pix_galaxy_nfft() gives).  The hybrid
 * path renders the narrow components of a profile at the size the whole
 * profile needs (or at fft_max), so the size is the caller's choice. */
int fit_pix_render_galaxy_n(fit_pix_ctx *ctx, const fit_mog *prof,
                            int nfft, double x, double y, double flux,
                            const double S[2][2], const double dS[3][2][2],
                            long x0, long x1, long y0, long y1,
                            double *img, double *const d[FIT_NDERIV],
                            pp_error *err);

#endif /* FIT_PIXRENDER_H */
