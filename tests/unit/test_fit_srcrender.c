/* test_fit_srcrender.c - the PSF-model dispatch of SPEC §10.3: hybrid
 * rendering against reference/render_reference.md's large galaxy,
 * derivatives of the hybrid path against central differences, and a
 * shared FFT workspace giving the same pixels as a private one.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pp_error.h"
#include "tap.h"

#include "srcrender.h"

#define checkf(expr, ...) do { \
    char t_[256]; \
    snprintf(t_, sizeof t_, __VA_ARGS__); \
    check(expr, t_); \
} while (0)

#define W 50
#define H 50
#define NS 25
#define SX 24.3
#define SY 25.7

static double stamp[NS * NS];
static double img[W * H], ip[W * H], im[W * H], dimg[FIT_NDERIV][W * H];

/* PSF (b): exp(−(i² + j²)/8) on 25×25, normalised; (a): the same
 * Gaussian as a one-component mixture. */
static void make_psf(fit_pix_ctx *ctx, int shift, int fft_max, fit_psf *p)
{
    double s = 0;
    pp_error err;

    for (int j = 0; j < NS; j++)
        for (int i = 0; i < NS; i++)
            s += stamp[j * NS + i] = exp(-((i - 12.0) * (i - 12.0)
                                           + (j - 12.0) * (j - 12.0)) / 8);
    for (int i = 0; i < NS * NS; i++)
        stamp[i] /= s;
    fit_pix_init(ctx, stamp, NS, NS, shift, fft_max, &err);
    memset(p, 0, sizeof(*p));
    p->kind = FIT_PSF_HYBRID;
    p->pix = ctx;
    p->mog.k = 1;
    p->mog.w[0] = 1;
    p->mog.vxx[0] = p->mog.vyy[0] = 4;
}

/* Soft parameters of (re, e1, e2) as render_reference.md defines them. */
static void soft(double re, double e1, double e2, double q[3])
{
    double e = hypot(e1, e2), ee = -log1p(-e);
    q[0] = log(re);
    q[1] = ee * e1 / e;
    q[2] = ee * e2 / e;
}

static int render(const fit_psf *p, int kind, const double q[3], double x,
                  double y, double f, double *out, double (*dd)[W * H])
{
    fit_mog prof;
    double S[2][2], dS[3][2][2], *d[FIT_NDERIV];
    pp_error err;

    memset(out, 0, sizeof(double) * W * H);
    for (int i = 0; i < FIT_NDERIV; i++) {
        d[i] = dd ? dd[i] : NULL;
        if (dd)
            memset(dd[i], 0, sizeof(double) * W * H);
    }
    fit_profile_mog(kind, 2.5, &prof, NULL);
    fit_ellipse_cov(q[0], q[1], q[2], S, dS);
    return fit_src_render(p, &prof, x, y, f, S, dS, 0, W, 0, H, out,
                          dd ? d : NULL, &err);
}

static double sum(const double *a)
{
    double s = 0;
    for (int i = 0; i < W * H; i++)
        s += a[i];
    return s;
}

static double rel(double a, double b)
{
    return fabs(a / b - 1);
}

/* Large exp (10, 0.2, −0.1).  With SPEC §10.3 sizing (N = 128) no
 * component is wider than N/8, so hybrid = pixelized: the reference's
 * N = 128 values.  With fft_max 64 the wide components go through the
 * mixture at N = 64: the reference's own hybrid row (computed at N = 64
 * with the same N/8..N/6 rule). */
static void test_large_galaxy(void)
{
    fit_pix_ctx ctx;
    fit_psf p;
    double q[3];

    soft(10, 0.2, -0.1, q);
    make_psf(&ctx, FIT_PIX_LANCZOS3, FIT_PIX_FFT_MAX, &p);
    checkf(render(&p, FIT_PROFILE_EXP, q, SX, SY, 100, img, NULL) == PP_OK,
           "srcrender: hybrid large galaxy renders");
    double e = fmax(rel(img[26 * W + 24], 0.43049939),
                    fmax(rel(img[25 * W + 27], 0.33832095),
                         rel(img[30 * W + 20], 0.21361653)));
    checkf(e < 1e-4, "srcrender: hybrid at N=128 equals the pixelized "
           "N=128 values (max rel %.2e)", e);
    checkf(rel(sum(img), 97.7325252) < 1e-5, "srcrender: hybrid sum "
           "%.7f = 97.7325252", sum(img));
    fit_pix_release(&ctx);

    make_psf(&ctx, FIT_PIX_LANCZOS3, 64, &p);
    checkf(render(&p, FIT_PROFILE_EXP, q, SX, SY, 100, img, NULL) == PP_OK,
           "srcrender: galaxy above fft_max renders through the hybrid "
           "path");
    e = fmax(rel(img[26 * W + 24], 0.4304895699),
             fmax(rel(img[25 * W + 27], 0.3383752704),
                  rel(img[30 * W + 20], 0.2135169506)));
    checkf(e < 1e-4, "srcrender: N=64 hybrid matches the reference's "
           "hybrid row (max rel %.2e)", e);
    checkf(rel(sum(img), 97.73414612) < 1e-4, "srcrender: N=64 hybrid "
           "sum %.7f = 97.73414612", sum(img));
    p.mog.k = 0;
    checkf(render(&p, FIT_PROFILE_EXP, q, SX, SY, 100, img, NULL)
           == PP_EDATA, "srcrender: hybrid without a mixture is refused");
    fit_pix_release(&ctx);
}

/* Central differences of the hybrid path, components away from the
 * ramp (N = 64 for a galaxy of re 6: the widest exp components are above
 * N/6, the rest below N/8). */
static void test_hybrid_derivatives(void)
{
    static const char *pname[FIT_NDERIV] = {
        "flux", "x", "y", "logre", "ee1", "ee2", "n" };
    fit_pix_ctx ctx;
    fit_psf p;
    double q[3];

    make_psf(&ctx, FIT_PIX_FOURIER, 64, &p);
    soft(6, 0.2, -0.1, q);
    render(&p, FIT_PROFILE_SERSIC, q, SX, SY, 100, img, dimg);
    for (int w = 0; w < FIT_NDERIV; w++) {
        double qp[3], qm[3], xp = SX, xm = SX, yp = SY, ym = SY, h = 1e-5;
        double fp = 100, fm = 100, m = 0, dmax = 0;
        memcpy(qp, q, sizeof qp);
        memcpy(qm, q, sizeof qm);
        if (w == FIT_DERIV_FLUX)
            fp += h, fm -= h;
        else if (w == FIT_DERIV_X)
            xp += h, xm -= h;
        else if (w == FIT_DERIV_Y)
            yp += h, ym -= h;
        else if (w <= FIT_DERIV_EE2)
            qp[w - FIT_DERIV_LOGRE] += h, qm[w - FIT_DERIV_LOGRE] -= h;
        else
            continue;       /* n: render() fixes n = 2.5 */
        render(&p, FIT_PROFILE_SERSIC, qp, xp, yp, fp, ip, NULL);
        render(&p, FIT_PROFILE_SERSIC, qm, xm, ym, fm, im, NULL);
        for (int i = 0; i < W * H; i++) {
            m = fmax(m, fabs((ip[i] - im[i]) / (2 * h) - dimg[w][i]));
            dmax = fmax(dmax, fabs(dimg[w][i]));
        }
        checkf(m <= 1e-4 * dmax, "srcrender: hybrid d/d%s matches central "
               "differences (%.2e of max)", pname[w], m / dmax);
    }
    fit_pix_release(&ctx);
}

/* Two contexts sharing one workspace render what private ones do. */
static void test_shared_workspace(void)
{
    fit_pix_ctx a, b;
    fit_psf pa, pb;
    double q[3];
    static double ref[W * H];

    soft(3, 0.2, -0.1, q);
    make_psf(&a, FIT_PIX_FOURIER, FIT_PIX_FFT_MAX, &pa);
    make_psf(&b, FIT_PIX_FOURIER, FIT_PIX_FFT_MAX, &pb);
    pa.kind = pb.kind = FIT_PSF_PIXEL;
    render(&pb, FIT_PROFILE_DEV, q, SX, SY, 100, ref, NULL);
    fit_pix_share(&b, &a);
    render(&pa, FIT_PROFILE_EXP, q, SX, SY, 100, img, NULL);
    render(&pb, FIT_PROFILE_DEV, q, SX, SY, 100, img, NULL);
    checkf(memcmp(img, ref, sizeof img) == 0, "srcrender: a shared "
           "workspace renders bit-identical pixels");
    fit_pix_release(&a);        /* b still holds the workspace */
    render(&pb, FIT_PROFILE_DEV, q, SX, SY, 100, img, NULL);
    checkf(memcmp(img, ref, sizeof img) == 0, "srcrender: the workspace "
           "outlives the context that made it");
    fit_pix_release(&b);
}

/* Forty contexts sharing one workspace, each rendering a galaxy that
 * needs N = 512 (2 MiB of stamp transform each): the transforms exceed
 * the 64 MiB cache, the oldest are dropped, and a context whose
 * transform was dropped renders the same pixels again. */
static void test_cache_eviction(void)
{
    enum { NC = 40 };
    static fit_pix_ctx c[NC];
    static double first[W * H];
    fit_psf p[NC];
    double q[3] = {log(30.0), 0.1, 0.0};

    for (int i = 0; i < NC; i++) {
        make_psf(&c[i], FIT_PIX_FOURIER, FIT_PIX_FFT_MAX, &p[i]);
        p[i].kind = FIT_PSF_PIXEL;
        if (i > 0)
            fit_pix_share(&c[i], &c[0]);
    }
    int ok = render(&p[0], FIT_PROFILE_EXP, q, SX, SY, 100, first, NULL)
             == PP_OK;
    for (int i = 1; i < NC && ok; i++)
        ok = render(&p[i], FIT_PROFILE_EXP, q, SX, SY, 100, img, NULL)
             == PP_OK && memcmp(img, first, sizeof img) == 0;
    checkf(ok, "srcrender: %d contexts render a 512-point galaxy alike", NC);
    checkf(c[0].nslot == 0, "srcrender: the oldest transform was evicted "
           "from the 64 MiB cache");
    render(&p[0], FIT_PROFILE_EXP, q, SX, SY, 100, img, NULL);
    checkf(memcmp(img, first, sizeof img) == 0, "srcrender: an evicted "
           "transform is rebuilt bit-identically");
    for (int i = NC - 1; i >= 0; i--)
        fit_pix_release(&c[i]);
}

int main(void)
{
    test_large_galaxy();
    test_hybrid_derivatives();
    test_shared_workspace();
    test_cache_eviction();
    return tap_done();
}
