/* test_wcs.c - pp_wcs against the gnomonic (TAN) projection worked out by
 * hand (Calabretta & Greisen 2002, WCS Paper II, eqs. 2, 5, 54, 55).
 *
 * The expected values come from the formulae below, never from wcslib:
 * celestial (ra, dec) -> native (phi, theta) by the spherical rotation
 * with the native pole at phi_p = 180 deg (zenithal, dec0 < 90), then
 * R = (180/pi) cot(theta), x = R sin(phi), y = -R cos(phi), then the
 * inverse of CD gives the 1-based pixel offset from CRPIX; our 0-based
 * pixel is that minus 1 (SPEC §3.1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fitsio.h>

#include "pp_error.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "pp_wcs.h"
#include "tap.h"

#define D2R (M_PI / 180.0)
#define R2D (180.0 / M_PI)

/* The test frame: CRVAL (150, 2), CRPIX (100.5, 200.5), CD with rotation
 * and a little skew. */
static const double CRVAL0[2] = { 150.0, 2.0 };
static const double CRPIX0[2] = { 100.5, 200.5 };
static const double CD0[4] = { -1.4e-4, 1e-6, 2e-6, 1.4e-4 };

/* ---- The projection by hand -------------------------------------------- */

/* Sky (deg) to 0-based pixel; returns 1 on the far side (theta <= 0). */
static int hand_s2p(const double crval[2], const double crpix[2],
                    const double cd[4], double ra, double dec, double *px,
                    double *py)
{
    double a = ra * D2R, d = dec * D2R, a0 = crval[0] * D2R,
           d0 = crval[1] * D2R, da = a - a0;
    /* Paper II eq. 5 with (alpha_p, delta_p) = CRVAL, phi_p = 180 deg. */
    double phi = M_PI + atan2(-cos(d) * sin(da),
                              sin(d) * cos(d0) - cos(d) * sin(d0) * cos(da));
    /* sin(theta) from eq. 5; cos(theta) as the length of the atan2
     * vector above (asin near 1 would lose half the digits). */
    double sth = sin(d) * sin(d0) + cos(d) * cos(d0) * cos(da);
    double cth = hypot(cos(d) * sin(da),
                       sin(d) * cos(d0) - cos(d) * sin(d0) * cos(da));
    double r, x, y, det;

    if (sth <= 0.0)
        return 1;
    /* TAN, eqs. 54-55 (degrees): R = (180/pi) cot(theta). */
    r = R2D * cth / sth;
    x = r * sin(phi);
    y = -r * cos(phi);
    /* Inverse of CD: (u, v) = CD^-1 (x, y). */
    det = cd[0] * cd[3] - cd[1] * cd[2];
    *px = crpix[0] + (cd[3] * x - cd[1] * y) / det - 1.0;
    *py = crpix[1] + (-cd[2] * x + cd[0] * y) / det - 1.0;
    return 0;
}

/* Intermediate world coordinates (deg) to sky. */
static void hand_xy2s(const double crval[2], double x, double y, double *ra,
                      double *dec)
{
    double a0 = crval[0] * D2R, d0 = crval[1] * D2R;
    double r = hypot(x, y), phi = atan2(x, -y);
    double theta = r == 0.0 ? M_PI / 2 : atan(R2D / r);
    double dphi = phi - M_PI;       /* phi - phi_p */
    /* Paper II eq. 2 (the inverse rotation). */
    double d = asin(sin(theta) * sin(d0) + cos(theta) * cos(d0) * cos(dphi));
    double a = a0 + atan2(-cos(theta) * sin(dphi),
                          sin(theta) * cos(d0) -
                          cos(theta) * sin(d0) * cos(dphi));

    *ra = fmod(a * R2D + 720.0, 360.0);
    *dec = d * R2D;
}

/* 0-based pixel to sky, with an optional SIP term A_2_0 u^2 added to u. */
static void hand_p2s(const double crval[2], const double crpix[2],
                     const double cd[4], double a20, double px, double py,
                     double *ra, double *dec)
{
    double u = px + 1.0 - crpix[0], v = py + 1.0 - crpix[1];

    u += a20 * u * u;
    hand_xy2s(crval, cd[0] * u + cd[1] * v, cd[2] * u + cd[3] * v, ra, dec);
}

/* Angular difference in degrees, wrap-safe in RA. */
static double dra(double a, double b)
{
    return fabs(remainder(a - b, 360.0));
}

/* ---- Headers ----------------------------------------------------------- */

/* A 2-D image HDU in memory with a TAN (or TAN-SIP) WCS. */
static fitsfile *make_header(const double crval[2], const double crpix[2],
                             const double cd[4], double a20)
{
    fitsfile *fp = NULL;
    long naxes[2] = { 400, 500 };
    int st = 0, sip = a20 != 0.0;
    char *t1 = sip ? "RA---TAN-SIP" : "RA---TAN",
         *t2 = sip ? "DEC--TAN-SIP" : "DEC--TAN";

    fits_create_file(&fp, "mem://", &st);
    fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
    fits_write_key(fp, TSTRING, "CTYPE1", t1, NULL, &st);
    fits_write_key(fp, TSTRING, "CTYPE2", t2, NULL, &st);
    fits_write_key_dbl(fp, "CRVAL1", crval[0], -17, NULL, &st);
    fits_write_key_dbl(fp, "CRVAL2", crval[1], -17, NULL, &st);
    fits_write_key_dbl(fp, "CRPIX1", crpix[0], -17, NULL, &st);
    fits_write_key_dbl(fp, "CRPIX2", crpix[1], -17, NULL, &st);
    fits_write_key_dbl(fp, "CD1_1", cd[0], -17, NULL, &st);
    fits_write_key_dbl(fp, "CD1_2", cd[1], -17, NULL, &st);
    fits_write_key_dbl(fp, "CD2_1", cd[2], -17, NULL, &st);
    fits_write_key_dbl(fp, "CD2_2", cd[3], -17, NULL, &st);
    fits_write_key_str(fp, "RADESYS", "ICRS", NULL, &st);
    if (sip) {
        fits_write_key_lng(fp, "A_ORDER", 2, NULL, &st);
        fits_write_key_dbl(fp, "A_2_0", a20, -17, NULL, &st);
        fits_write_key_lng(fp, "B_ORDER", 2, NULL, &st);
    }
    if (st != 0) {
        printf("# cannot build a test header: status %d\n", st);
        exit(1);
    }
    return fp;
}

static int load(fitsfile *fp, pp_wcs *w)
{
    pp_error err = PP_ERROR_INIT;
    int rc = pp_wcs_from_fits(fp, "test.fits", w, &err);

    if (rc != PP_OK)
        printf("# %s\n", err.msg);
    return rc;
}

/* ---- Tests ------------------------------------------------------------- */

static void test_tan(void)
{
    fitsfile *fp = make_header(CRVAL0, CRPIX0, CD0, 0.0);
    pp_wcs w = PP_WCS_INIT;
    static const double pts[][2] = {
        { 150.0, 2.0 }, { 150.03, 2.01 }, { 149.95, 1.96 },
        { 150.012, 2.043 }
    };
    double x, y, ex, ey, ra, dec, maxp = 0.0, maxs = 0.0;
    int rc, bad = 0;

    check_int(load(fp, &w), ==, PP_OK, "wcs: TAN header parses");
    for (size_t i = 0; i < sizeof pts / sizeof *pts; ++i) {
        rc = pp_wcs_sky_to_pix(&w, pts[i][0], pts[i][1], &x, &y);
        hand_s2p(CRVAL0, CRPIX0, CD0, pts[i][0], pts[i][1], &ex, &ey);
        bad += rc != 0;
        maxp = fmax(maxp, fmax(fabs(x - ex), fabs(y - ey)));
    }
    check(bad == 0 && maxp <= 1e-9,
          "wcs: sky->pix matches the hand TAN projection to 1e-9 px");
    if (maxp > 1e-9)
        printf("#   max pixel error %g\n", maxp);

    /* pix -> sky at pixels far from CRPIX. */
    static const double pix[][2] = { { 0, 0 }, { 399, 499 }, { 350, 20 } };
    for (size_t i = 0; i < sizeof pix / sizeof *pix; ++i) {
        double era, edec;
        rc = pp_wcs_pix_to_sky(&w, pix[i][0], pix[i][1], &ra, &dec);
        hand_p2s(CRVAL0, CRPIX0, CD0, 0.0, pix[i][0], pix[i][1], &era,
                 &edec);
        bad += rc != 0;
        maxs = fmax(maxs, fmax(dra(ra, era), fabs(dec - edec)));
    }
    check(bad == 0 && maxs <= 1e-12,
          "wcs: pix->sky matches the hand TAN projection to 1e-12 deg");
    if (maxs > 1e-12)
        printf("#   max sky error %g deg\n", maxs);

    /* SPEC §3.1: the CRPIX pixel is at 0-based CRPIX - 1. */
    rc = pp_wcs_pix_to_sky(&w, CRPIX0[0] - 1.0, CRPIX0[1] - 1.0, &ra, &dec);
    check(rc == 0 && dra(ra, 150.0) < 1e-12 && fabs(dec - 2.0) < 1e-12,
          "wcs: 0-based pixel CRPIX-1 is at CRVAL");
    rc = pp_wcs_sky_to_pix(&w, 150.0, 2.0, &x, &y);
    check(rc == 0 && fabs(x - 99.5) < 1e-9 && fabs(y - 199.5) < 1e-9,
          "wcs: CRVAL projects to 0-based (99.5, 199.5)");

    /* Round trip. */
    rc = pp_wcs_pix_to_sky(&w, 12.25, 480.75, &ra, &dec);
    rc |= pp_wcs_sky_to_pix(&w, ra, dec, &x, &y);
    check(rc == 0 && fabs(x - 12.25) < 1e-9 && fabs(y - 480.75) < 1e-9,
          "wcs: pix->sky->pix round trip within 1e-9 px");

    /* The far side of a TAN projection has no pixel. */
    rc = pp_wcs_sky_to_pix(&w, 330.0, -2.0, &x, &y);
    check(rc != 0 && isnan(x) && isnan(y),
          "wcs: a point on the far side is refused with NAN outputs");
    rc = pp_wcs_sky_to_pix(&w, NAN, 2.0, &x, &y);
    check(rc != 0 && isnan(x), "wcs: a NaN RA is refused");

    /* Arrays: the failures are counted and the rest transformed. */
    {
        double ras[3] = { 150.03, 330.0, 149.95 };
        double decs[3] = { 2.01, -2.0, 1.96 };
        double xs[3], ys[3];
        long nbad = pp_wcs_sky_to_pix_n(&w, 3, ras, decs, xs, ys);
        hand_s2p(CRVAL0, CRPIX0, CD0, 149.95, 1.96, &ex, &ey);
        check(nbad == 1 && isnan(xs[1]) && fabs(xs[2] - ex) < 1e-9 &&
              fabs(ys[2] - ey) < 1e-9,
              "wcs: array sky->pix counts one failure, keeps the others");
    }
    {
        enum { N = 600 };           /* more than one internal chunk */
        static double xs[N], ys[N], ras[N], decs[N], x2[N], y2[N];
        double err = 0.0;
        for (int i = 0; i < N; ++i) {
            xs[i] = (i * 37) % 400;
            ys[i] = (i * 53) % 500 + 0.25;
        }
        long nb = pp_wcs_pix_to_sky_n(&w, N, xs, ys, ras, decs);
        nb += pp_wcs_sky_to_pix_n(&w, N, ras, decs, x2, y2);
        for (int i = 0; i < N; ++i)
            err = fmax(err, fmax(fabs(x2[i] - xs[i]), fabs(y2[i] - ys[i])));
        check(nb == 0 && err < 1e-9,
              "wcs: 600-point array round trip across chunks");
    }

    /* sqrt(|det CD|) in arcsec, computed here from the matrix. */
    check_near(pp_wcs_pixel_scale_arcsec(&w),
               sqrt(fabs(-1.4e-4 * 1.4e-4 - 1e-6 * 2e-6)) * 3600.0, 1e-12,
               "wcs: pixel scale is sqrt|det CD| in arcsec");

    pp_wcs_release(&w);
    pp_wcs_release(&w);
    check(w.wcs == NULL && w.header == NULL, "wcs: release twice is safe");
    {
        int st = 0;
        fits_close_file(fp, &st);
    }
}

/* Near RA 0/360 and near the pole the hand formulae still hold. */
static void test_wrap_and_pole(void)
{
    static const double c1[2] = { 0.01, -30.0 }, c2[2] = { 150.0, 89.9 };
    static const double crpix[2] = { 200.0, 250.0 };
    fitsfile *f1 = make_header(c1, crpix, CD0, 0.0),
             *f2 = make_header(c2, crpix, CD0, 0.0);
    pp_wcs w1 = PP_WCS_INIT, w2 = PP_WCS_INIT;
    double x, y, ex, ey, ra, dec, era, edec;
    int rc, st = 0;

    load(f1, &w1);
    load(f2, &w2);
    rc = pp_wcs_sky_to_pix(&w1, 359.99, -30.005, &x, &y);
    hand_s2p(c1, crpix, CD0, 359.99, -30.005, &ex, &ey);
    check(rc == 0 && fabs(x - ex) < 1e-9 && fabs(y - ey) < 1e-9,
          "wcs: RA 359.99 projects correctly with CRVAL1 0.01");
    rc = pp_wcs_pix_to_sky(&w1, 380.0, 250.0, &ra, &dec);
    hand_p2s(c1, crpix, CD0, 0.0, 380.0, 250.0, &era, &edec);
    check(rc == 0 && ra >= 0.0 && ra < 360.0 && ra > 359.0 &&
          dra(ra, era) < 1e-10 && fabs(dec - edec) < 1e-10,
          "wcs: pix->sky across RA 0 returns RA in [0, 360)");

    /* Across the pole: RA 330 at DEC 89.95 is 0.15 deg from CRVAL. */
    rc = pp_wcs_sky_to_pix(&w2, 330.0, 89.95, &x, &y);
    hand_s2p(c2, crpix, CD0, 330.0, 89.95, &ex, &ey);
    check(rc == 0 && fabs(x - ex) < 1e-9 && fabs(y - ey) < 1e-9,
          "wcs: a point beyond the pole (DEC 89.9 frame) projects "
          "correctly");
    rc = pp_wcs_sky_to_pix(&w2, 12.0, 90.0, &x, &y);
    hand_s2p(c2, crpix, CD0, 12.0, 90.0, &ex, &ey);
    check(rc == 0 && fabs(x - ex) < 1e-8 && fabs(y - ey) < 1e-8,
          "wcs: the pole itself projects correctly");
    rc = pp_wcs_pix_to_sky(&w2, 10.0, 30.0, &ra, &dec);
    hand_p2s(c2, crpix, CD0, 0.0, 10.0, 30.0, &era, &edec);
    check(rc == 0 && dra(ra, era) < 1e-8 && fabs(dec - edec) < 1e-10,
          "wcs: pix->sky near the pole matches the hand formulae");
    pp_wcs_release(&w1);
    pp_wcs_release(&w2);
    fits_close_file(f1, &st);
    fits_close_file(f2, &st);
}

/* SIP: u' = u + A_2_0 u^2 before CD (the SIP convention). */
static void test_sip(void)
{
    const double a20 = 1e-5;
    fitsfile *fp = make_header(CRVAL0, CRPIX0, CD0, a20);
    pp_wcs w = PP_WCS_INIT, copy = PP_WCS_INIT;
    pp_error err = PP_ERROR_INIT;
    double ra, dec, era, edec, x, y, pra, pdec;
    /* u = 300 pixels right of CRPIX: the shift is 1e-5 * 300^2 = 0.9 px. */
    double px = CRPIX0[0] - 1.0 + 300.0, py = 150.0;
    int rc, st = 0;

    check_int(load(fp, &w), ==, PP_OK, "wcs: TAN-SIP header parses");
    rc = pp_wcs_pix_to_sky(&w, px, py, &ra, &dec);
    hand_p2s(CRVAL0, CRPIX0, CD0, a20, px, py, &era, &edec);
    check(rc == 0 && dra(ra, era) < 1e-10 && fabs(dec - edec) < 1e-10,
          "wcs: SIP A_2_0 shifts pix->sky as u + A_2_0 u^2");
    /* The same sky point without SIP sits 0.9 px further right. */
    hand_s2p(CRVAL0, CRPIX0, CD0, ra, dec, &x, &y);
    check(fabs(x - (px + 0.9)) < 1e-9 && fabs(y - py) < 1e-9,
          "wcs: hand check: the SIP shift at u = 300 is 0.9 px");
    rc = pp_wcs_sky_to_pix(&w, ra, dec, &x, &y);
    check(rc == 0 && fabs(x - px) < 1e-6 && fabs(y - py) < 1e-6,
          "wcs: SIP sky->pix inverts the distortion");

    /* A copy for another thread transforms the same way. */
    rc = pp_wcs_copy(&w, &copy, &err);
    rc |= pp_wcs_pix_to_sky(&copy, px, py, &pra, &pdec);
    check(rc == 0 && pra == ra && pdec == dec,
          "wcs: a copy keeps the SIP distortion");
    pp_wcs_release(&copy);
    pp_wcs_release(&w);
    fits_close_file(fp, &st);
}

static void test_compare(void)
{
    double crval[2] = { 150.0000005, 2.0 }, cd[4];
    fitsfile *fa = make_header(CRVAL0, CRPIX0, CD0, 0.0), *fb, *fc, *fd, *fe;
    pp_wcs a = PP_WCS_INIT, b = PP_WCS_INIT, c = PP_WCS_INIT,
           d = PP_WCS_INIT, e = PP_WCS_INIT;
    char why[256] = "";
    int st = 0;

    memcpy(cd, CD0, sizeof cd);
    fb = make_header(crval, CRPIX0, CD0, 0.0);      /* within 1e-6 */
    crval[0] = 150.00001;
    fc = make_header(crval, CRPIX0, CD0, 0.0);      /* 1e-5 off */
    cd[1] = 1.1e-6;
    fd = make_header(CRVAL0, CRPIX0, cd, 0.0);      /* CD1_2 off */
    fe = make_header(CRVAL0, CRPIX0, CD0, 1e-5);    /* TAN-SIP */
    load(fa, &a);
    load(fb, &b);
    load(fc, &c);
    load(fd, &d);
    load(fe, &e);

    check_int(pp_wcs_compare(&a, &a, 1e-6, 1e-6, 1e-9, 1e-9, why,
                             sizeof why), ==, 0,
              "wcs: compare: a WCS is aligned with itself");
    check_int(pp_wcs_compare(&a, &b, 1e-6, 1e-6, 1e-9, 1e-9, why,
                             sizeof why), ==, 0,
              "wcs: compare: CRVAL 5e-7 apart passes a 1e-6 tolerance");
    check_int(pp_wcs_compare(&a, &c, 1e-6, 1e-6, 1e-9, 1e-9, why,
                             sizeof why), ==, 1,
              "wcs: compare: CRVAL 1e-5 apart fails a 1e-6 tolerance");
    check_str(why, "CRVAL1 differs: 150 vs 150.00001 (tolerance 1e-06)",
              "wcs: compare: message names CRVAL1 and both values");
    check_int(pp_wcs_compare(&a, &d, 1e-6, 1e-6, 1e-9, 1e-9, why,
                             sizeof why), ==, 1,
              "wcs: compare: a CD1_2 difference of 1e-7 fails");
    check(strstr(why, "CD1_2 differs: 1e-06 vs 1.1e-06") != NULL,
          "wcs: compare: message names CD1_2 and both values");
    check_int(pp_wcs_compare(&a, &d, 1e-6, 1e-6, 1e-6, 1e-9, why,
                             sizeof why), ==, 0,
              "wcs: compare: the CD difference passes a 1e-6 tolerance");
    check_int(pp_wcs_compare(&a, &e, 1, 1, 1, 1, why, sizeof why), ==, 1,
              "wcs: compare: TAN vs TAN-SIP CTYPE differs");
    check(strstr(why, "CTYPE1 differs: 'RA---TAN' vs 'RA---TAN-SIP'")
          != NULL, "wcs: compare: message quotes both CTYPEs");

    pp_wcs_release(&a);
    pp_wcs_release(&b);
    pp_wcs_release(&c);
    pp_wcs_release(&d);
    pp_wcs_release(&e);
    fits_close_file(fa, &st);
    fits_close_file(fb, &st);
    fits_close_file(fc, &st);
    fits_close_file(fd, &st);
    fits_close_file(fe, &st);
}

/* CDELT + PC headers compare CDELT with tol_cdelt. */
static void test_compare_cdelt(void)
{
    fitsfile *f[2];
    pp_wcs w[2] = { PP_WCS_INIT, PP_WCS_INIT };
    long naxes[2] = { 10, 10 };
    char why[256];
    int st = 0;

    for (int i = 0; i < 2; ++i) {
        f[i] = NULL;
        fits_create_file(&f[i], "mem://", &st);
        fits_create_img(f[i], FLOAT_IMG, 2, naxes, &st);
        fits_write_key_str(f[i], "CTYPE1", "RA---TAN", NULL, &st);
        fits_write_key_str(f[i], "CTYPE2", "DEC--TAN", NULL, &st);
        fits_write_key_dbl(f[i], "CRVAL1", 10.0, -17, NULL, &st);
        fits_write_key_dbl(f[i], "CRVAL2", 20.0, -17, NULL, &st);
        fits_write_key_dbl(f[i], "CDELT1", i ? -1.0e-4 : -1.00002e-4, -17,
                           NULL, &st);
        fits_write_key_dbl(f[i], "CDELT2", 1.0e-4, -17, NULL, &st);
        fits_write_key_dbl(f[i], "PC1_2", 0.01, -17, NULL, &st);
        load(f[i], &w[i]);
    }
    check_int(pp_wcs_compare(&w[0], &w[1], 1e-6, 1e-6, 1e-9, 1e-9, why,
                             sizeof why), ==, 1,
              "wcs: compare: CDELT1 2e-9 apart fails a 1e-9 tolerance");
    check(strstr(why, "CDELT1 differs: -0.000100002 vs -0.0001") != NULL,
          "wcs: compare: message names CDELT1");
    check_near(pp_wcs_pixel_scale_arcsec(&w[1]),
               sqrt(1.0e-4 * 1.0e-4) * 3600.0, 1e-12,
               "wcs: pixel scale from CDELT x PC (PC2_1 = 0)");
    for (int i = 0; i < 2; ++i) {
        pp_wcs_release(&w[i]);
        fits_close_file(f[i], &st);
    }
}

/* write_shifted: the new frame's origin is (dx, dy) of the old one. */
static void test_write_shifted(const char *dir)
{
    fitsfile *src = make_header(CRVAL0, CRPIX0, CD0, 1e-5), *out = NULL;
    pp_wcs w = PP_WCS_INIT, back = PP_WCS_INIT;
    pp_error err = PP_ERROR_INIT;
    char *path = pp_io_path_join(dir, "wcs.fits");
    double x, y, xs, ys, ra, dec, ra2, dec2, v = 0;
    const double dx = 30.0, dy = 45.0;
    int st = 0, rc;
    pp_fits_writer fw;

    load(src, &w);
    /* Through the atomic writer, as pp-crop writes wcs.fits. */
    rc = pp_fits_create(path, &fw, &err);
    if (rc == PP_OK)
        rc = pp_wcs_write_shifted(fw.fp, &w, dx, dy, &err);
    if (rc == PP_OK)
        rc = pp_fits_commit(&fw, &err);
    else
        pp_fits_abort(&fw);
    check_int(rc, ==, PP_OK, "wcs: shifted WCS written to a header-only "
              "file");
    if (rc != PP_OK)
        printf("# %s\n", err.msg);
    fits_open_diskfile(&out, path, READONLY, &st);
    rc = pp_wcs_from_fits(out, path, &back, &err);
    check_int(rc, ==, PP_OK, "wcs: shifted WCS reads back");
    if (rc != PP_OK) {
        printf("# %s\n", err.msg);
        goto out;
    }
    fits_read_key(out, TDOUBLE, "A_2_0", &v, NULL, &st);
    check(st == 0 && v == 1e-5, "wcs: SIP keys are copied");

    pp_wcs_sky_to_pix(&w, 150.03, 2.01, &x, &y);
    pp_wcs_sky_to_pix(&back, 150.03, 2.01, &xs, &ys);
    check(fabs(xs - (x - dx)) < 1e-9 && fabs(ys - (y - dy)) < 1e-9,
          "wcs: shifted sky->pix gives x_full - dx, y_full - dy");
    /* The SIP polynomial stays centred on the shifted CRPIX. */
    pp_wcs_pix_to_sky(&w, 380.0, 20.0, &ra, &dec);
    pp_wcs_pix_to_sky(&back, 380.0 - dx, 20.0 - dy, &ra2, &dec2);
    check(dra(ra, ra2) < 1e-12 && fabs(dec - dec2) < 1e-12,
          "wcs: shifted pix->sky keeps the SIP distortion in place");
out:
    pp_wcs_release(&back);
    pp_wcs_release(&w);
    if (out)
        fits_close_file(out, &st);
    st = 0;
    fits_close_file(src, &st);
    unlink(path);
    free(path);
}

/* A tile-compressed image extension gives its image header. */
static void test_compressed(const char *dir)
{
    char *path = pp_io_path_join(dir, "img.fits.fz");
    pp_fits_writer fw;
    pp_error err = PP_ERROR_INIT;
    pp_wcs w = PP_WCS_INIT;
    fitsfile *fp = NULL;
    float row[8] = { 0 };
    int rc, hdu = 0;
    double x, y, ex, ey;

    /* A compressed extension holding a TAN WCS. */
    {
        fitsfile *src = make_header(CRVAL0, CRPIX0, CD0, 0.0);
        pp_wcs sw = PP_WCS_INIT;
        int st = 0;
        load(src, &sw);
        rc = pp_fits_create(path, &fw, &err);
        rc = rc ? rc : pp_fits_add_image(&fw, "SCI", FLOAT_IMG, 8, 4,
                                         PP_FITS_GZIP2, &err);
        for (int j = 0; rc == PP_OK && j < 4; ++j)
            rc = pp_fits_write_rows(&fw, j, 1, row, &err);
        rc = rc ? rc : pp_wcs_write_shifted(fw.fp, &sw, 0, 0, &err);
        rc = rc ? (pp_fits_abort(&fw), rc) : pp_fits_commit(&fw, &err);
        pp_wcs_release(&sw);
        fits_close_file(src, &st);
    }
    rc = rc ? rc : pp_fits_open_image(path, &fp, &hdu, &err);
    rc = rc ? rc : pp_wcs_from_fits(fp, path, &w, &err);
    check(rc == PP_OK && hdu == 2,
          "wcs: WCS of a tile-compressed image extension parses");
    if (rc != PP_OK)
        printf("# %s\n", err.msg);
    else {
        pp_wcs_sky_to_pix(&w, 150.01, 2.02, &x, &y);
        hand_s2p(CRVAL0, CRPIX0, CD0, 150.01, 2.02, &ex, &ey);
        check(fabs(x - ex) < 1e-9 && fabs(y - ey) < 1e-9,
              "wcs: compressed image WCS projects like the hand TAN");
    }
    pp_wcs_release(&w);
    pp_fits_close(fp);
    unlink(path);
    free(path);
}

static void test_errors(void)
{
    fitsfile *fp = NULL;
    long naxes[2] = { 10, 10 };
    int st = 0, rc;
    pp_wcs w = PP_WCS_INIT;
    pp_error err = PP_ERROR_INIT;

    fits_create_file(&fp, "mem://", &st);
    fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
    rc = pp_wcs_from_fits(fp, "plain.fits", &w, &err);
    check(rc == PP_EDATA && strstr(err.msg, "'plain.fits': no valid WCS: "),
          "wcs: a header without WCS is PP_EDATA naming the file");
    check(w.wcs == NULL, "wcs: failure leaves the struct empty");
    fits_write_key_str(fp, "CTYPE1", "RA---XYZ", NULL, &st);
    fits_write_key_str(fp, "CTYPE2", "DEC--XYZ", NULL, &st);
    pp_error_clear(&err);
    rc = pp_wcs_from_fits(fp, "bad.fits", &w, &err);
    check(rc == PP_EDATA && strstr(err.msg, "'bad.fits': no valid WCS: "),
          "wcs: an unknown projection is PP_EDATA");
    check(strstr(err.msg, "CTYPE1 'RA---XYZ'") != NULL,
          "wcs: the message quotes the CTYPE found");
    fits_close_file(fp, &st);
}

int main(void)
{
    char dir[] = "/tmp/pp-test-XXXXXX";
    pp_error err = PP_ERROR_INIT;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_tan();
    test_wrap_and_pole();
    test_sip();
    test_compare();
    test_compare_cdelt();
    test_write_shifted(dir);
    test_compressed(dir);
    test_errors();
    pp_io_remove_tree(dir, &err);
    return tap_done();
}
