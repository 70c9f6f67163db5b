/* srcrender.c - PSF-model dispatch for one source (SPEC §10.3); see
 * srcrender.h. */
#include <math.h>
#include <string.h>

#include "pp_error.h"

#include "srcrender.h"

int fit_src_is_point(const fit_mog *prof)
{
    return prof->k == 1 && prof->var[0] == 0.0;
}

static int stamp_halfwidth(const fit_pix_ctx *pix)
{
    return (pix->w > pix->h ? pix->w : pix->h) / 2;
}

static double major_re(const double S[2][2])
{
    double tr = S[0][0] + S[1][1];
    double det = S[0][0] * S[1][1] - S[0][1] * S[1][0];
    return sqrt(fmax(0.5 * tr + sqrt(fmax(0.25 * tr * tr - det, 0.0)), 0.0));
}

double fit_src_halfsize(const fit_psf *psf, const fit_mog *prof,
                        const double S[2][2])
{
    int point = fit_src_is_point(prof);

    if (psf->kind == FIT_PSF_MOG)
        return fit_render_halfsize(prof, point ? NULL : S, &psf->mog);
    double hw = stamp_halfwidth(psf->pix) + 1.0;
    return point || !S ? hw : prof->nre * major_re(S) + hw;
}

/* Split prof into the part rendered by FFT at size n and the part
 * rendered through the mixture (SPEC §10.3 hybrid: σ_k > n/8, ramp to
 * n/6).  Either output may end with k == 0. */
static void hybrid_split(const fit_mog *prof, const double S[2][2], int n,
                         fit_mog *fft, fit_mog *mix)
{
    double lo = n / 8.0, hi = n / 6.0, tr = S[0][0] + S[1][1];

    memset(fft, 0, sizeof(*fft));
    memset(mix, 0, sizeof(*mix));
    fft->nre = mix->nre = prof->nre;
    for (int k = 0; k < prof->k; k++) {
        double sig = sqrt(fmax(prof->var[k] * tr, 0.0));
        double r = fmin(fmax((sig - lo) / (hi - lo), 0.0), 1.0);
        fit_mog *to[2] = {fft, mix};
        double f[2] = {1.0 - r, r};
        for (int j = 0; j < 2; j++) {
            if (f[j] == 0.0)
                continue;
            fit_mog *m = to[j];
            m->amp[m->k] = f[j] * prof->amp[k];
            m->damp_dn[m->k] = f[j] * prof->damp_dn[k];
            m->var[m->k] = prof->var[k];
            m->dvar_dn[m->k] = prof->dvar_dn[k];
            m->k++;
        }
    }
}

/* A galaxy through a stamp, with components too wide for FFT size n sent
 * to the stamp's mixture. */
static int render_hybrid(const fit_psf *psf, const fit_mog *prof, int n,
                         double x, double y, double flux,
                         const double S[2][2], const double dS[3][2][2],
                         long x0, long x1, long y0, long y1, double *img,
                         double *const d[FIT_NDERIV], pp_error *err)
{
    fit_mog fft, mix;
    int rc = PP_OK;

    hybrid_split(prof, S, n, &fft, &mix);
    if (mix.k > 0 && psf->mog.k < 1)
        return pp_error_set(err, PP_EDATA, "galaxy needs the PSF's "
                            "Gaussian mixture (FFT size %d), and the band "
                            "has none", n);
    if (fft.k > 0)
        rc = fit_pix_render_galaxy_n(psf->pix, &fft, n, x, y, flux, S, dS,
                                     x0, x1, y0, y1, img, d, err);
    if (rc == PP_OK && mix.k > 0)
        rc = fit_render_mog(&mix, x, y, flux, S, dS, &psf->mog, x0, x1, y0,
                            y1, img, d, err);
    return rc;
}

int fit_src_render(const fit_psf *psf, const fit_mog *prof, double x,
                   double y, double flux, const double S[2][2],
                   const double dS[3][2][2], long x0, long x1, long y0,
                   long y1, double *img, double *const d[FIT_NDERIV],
                   pp_error *err)
{
    int point = fit_src_is_point(prof);

    if (psf->kind == FIT_PSF_MOG)
        return fit_render_mog(prof, x, y, flux, point ? NULL : S,
                              point ? NULL : dS, &psf->mog, x0, x1, y0, y1,
                              img, d, err);
    if (point)
        return fit_pix_render_star(psf->pix, x, y, flux, x0, x1, y0, y1,
                                   img, d, err);
    int n = fit_pix_galaxy_nfft(psf->pix, prof, S);
    if (n > psf->pix->fft_max)
        return render_hybrid(psf, prof, psf->pix->fft_max, x, y, flux, S,
                             dS, x0, x1, y0, y1, img, d, err);
    if (psf->kind == FIT_PSF_HYBRID)
        return render_hybrid(psf, prof, n, x, y, flux, S, dS, x0, x1, y0,
                             y1, img, d, err);
    return fit_pix_render_galaxy_n(psf->pix, prof, n, x, y, flux, S, dS, x0,
                                   x1, y0, y1, img, d, err);
}
