/* test_zp_match.c - one-to-one spherical matching (tools/pp-zp/match.h,
 * SPEC §7 step 3): hand-built cases where nearest-neighbour matching and
 * one-to-one matching differ, duplicate Gaia stars, RA 0/360, the pole,
 * and random fields against a brute-force O(n m) reference written here
 * with the haversine formula. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"

#include "match.h"

#define AS (1.0 / 3600.0)       /* one arcsecond in degrees */

static int run(const double *ra1, const double *dec1, long n,
               const double *ra2, const double *dec2, long m, double r,
               long *m1, long *m2, long *np)
{
    pp_error err = PP_ERROR_INIT;

    return zp_match_sphere(ra1, dec1, n, ra2, dec2, m, r, m1, m2, NULL, np,
                           &err);
}

/* Independent separation: haversine, arcsec. */
static double hav_arcsec(double ra1, double dec1, double ra2, double dec2)
{
    const double d = M_PI / 180.0;
    double sdd = sin(0.5 * (dec2 - dec1) * d);
    double sdr = sin(0.5 * (ra2 - ra1) * d);
    double h = sdd * sdd + cos(dec1 * d) * cos(dec2 * d) * sdr * sdr;

    return 2.0 * asin(sqrt(fmin(1.0, h))) / d * 3600.0;
}

typedef struct {
    double sep;
    long i, j;
} ref_pair;

static int cmp_ref(const void *a, const void *b)
{
    const ref_pair *x = a, *y = b;

    if (x->sep != y->sep)
        return x->sep < y->sep ? -1 : 1;
    if (x->i != y->i)
        return x->i < y->i ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

/* The brute-force reference: every pair, sorted, taken greedily. */
static void reference(const double *ra1, const double *dec1, long n,
                      const double *ra2, const double *dec2, long m,
                      double r, long *m1)
{
    ref_pair *p = malloc(sizeof *p * (size_t)(n * m + 1));
    long np = 0, *m2 = malloc(sizeof *m2 * (size_t)(m + 1));

    for (long i = 0; i < n; ++i)
        for (long j = 0; j < m; ++j) {
            double s = hav_arcsec(ra1[i], dec1[i], ra2[j], dec2[j]);
            if (s <= r)
                p[np++] = (ref_pair){ s, i, j };
        }
    qsort(p, (size_t)np, sizeof *p, cmp_ref);
    for (long i = 0; i < n; ++i)
        m1[i] = -1;
    for (long j = 0; j < m; ++j)
        m2[j] = -1;
    for (long k = 0; k < np; ++k)
        if (m1[p[k].i] < 0 && m2[p[k].j] < 0) {
            m1[p[k].i] = p[k].j;
            m2[p[k].j] = p[k].i;
        }
    free(p);
    free(m2);
}

static double urand(unsigned long *s)
{
    *s = *s * 6364136223846793005UL + 1442695040888963407UL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* Random rows around (ra0, dec0) within half-width w (deg, on the sky),
 * and stars: some at rows' positions plus noise, some at random. */
static int random_case(double ra0, double dec0, double w, long n, long m,
                       unsigned long seed)
{
    double *ra1 = malloc(sizeof(double) * (size_t)n);
    double *dec1 = malloc(sizeof(double) * (size_t)n);
    double *ra2 = malloc(sizeof(double) * (size_t)m);
    double *dec2 = malloc(sizeof(double) * (size_t)m);
    long *m1 = malloc(sizeof(long) * (size_t)n);
    long *ref = malloc(sizeof(long) * (size_t)n), np, same = 0, nref = 0;
    double c = cos(dec0 * M_PI / 180.0);

    for (long i = 0; i < n; ++i) {
        dec1[i] = dec0 + w * (2 * urand(&seed) - 1);
        ra1[i] = fmod(ra0 + w / fmax(c, 1e-3) * (2 * urand(&seed) - 1) +
                      360.0, 360.0);
    }
    for (long j = 0; j < m; ++j) {
        long i = (long)(urand(&seed) * (double)n);
        double off = 4 * AS;
        if (j % 3 == 2) {           /* a field star */
            dec2[j] = dec0 + w * (2 * urand(&seed) - 1);
            ra2[j] = fmod(ra0 + w / fmax(c, 1e-3) * (2 * urand(&seed) - 1) +
                          360.0, 360.0);
            continue;
        }
        dec2[j] = dec1[i] + off * (2 * urand(&seed) - 1);
        ra2[j] = fmod(ra1[i] + off / fmax(cos(dec2[j] * M_PI / 180.0), 1e-3)
                      * (2 * urand(&seed) - 1) + 360.0, 360.0);
        if (dec2[j] > 90.0)         /* keep it on the sphere */
            dec2[j] = 180.0 - dec2[j];
    }
    run(ra1, dec1, n, ra2, dec2, m, 3.0, m1, NULL, &np);
    reference(ra1, dec1, n, ra2, dec2, m, 3.0, ref);
    for (long i = 0; i < n; ++i) {
        same += m1[i] == ref[i];
        nref += ref[i] >= 0;
    }
    free(ra1);
    free(dec1);
    free(ra2);
    free(dec2);
    free(m1);
    free(ref);
    return same == n && np == nref && nref > n / 4;
}

static void test_one_to_one_differs_from_nearest(void)
{
    /* On the equator along DEC (arcsec): S1 0, S2 1.3; R1 -1.0, R2 0.5.
     * Nearest neighbour gives S1 to both rows.  One-to-one takes R2-S1
     * (0.5"), skips R2-S2 (R2 used) and R1-S1 (S1 used), then R1-S2
     * (2.3"). */
    double ra1[2] = { 10, 10 }, dec1[2] = { -1.0 * AS, 0.5 * AS };
    double ra2[2] = { 10, 10 }, dec2[2] = { 0.0, 1.3 * AS };
    long m1[2], m2[2], np;
    double sep[2];
    pp_error err = PP_ERROR_INIT;

    check_int(zp_match_sphere(ra1, dec1, 2, ra2, dec2, 2, 3.0, m1, m2, sep,
                              &np, &err), ==, PP_OK, "match: runs");
    check_int(m1[1], ==, 0, "match: closest pair R2-S1 taken first");
    check_int(m1[0], ==, 1, "match: R1 gets S2, not its nearest S1");
    check_int(m2[0], ==, 1, "match: S1's row is R2");
    check_int(m2[1], ==, 0, "match: S2's row is R1");
    check_int(np, ==, 2, "match: two pairs");
    check_near(sep[1], 0.5, 1e-9, "match: separation R2-S1 is 0.5 arcsec");
    check_near(sep[0], 2.3, 1e-9, "match: separation R1-S2 is 2.3 arcsec");

    /* With a 2" radius R1-S2 is too far: R1 stays unmatched although its
     * nearest star is within the radius. */
    run(ra1, dec1, 2, ra2, dec2, 2, 2.0, m1, m2, &np);
    check(m1[0] == -1 && m1[1] == 0 && np == 1,
          "match: a row whose star went to a closer row stays unmatched");
}

static void test_duplicates_and_missing(void)
{
    double ra1[3] = { 20, 20, NAN }, dec1[3] = { 5, 5 + 0.1 * AS, 5 };
    double ra2[3] = { 20, 20, 20 }, dec2[3] = { 5 + 1 * AS, 5 + 1 * AS, NAN };
    long m1[3], m2[3], np;

    /* One row, two identical Gaia stars: the lower index is taken. */
    run(ra1, dec1, 1, ra2, dec2, 2, 3.0, m1, m2, &np);
    check(m1[0] == 0 && m2[0] == 0 && m2[1] == -1 && np == 1,
          "match: duplicate Gaia stars: one matched, the copy left over");
    /* Two rows, two identical stars: one each, the closer row first. */
    run(ra1, dec1, 2, ra2, dec2, 2, 3.0, m1, m2, &np);
    check(m1[1] == 0 && m1[0] == 1 && np == 2,
          "match: two rows share no star; the closer row takes the first");
    /* NaN coordinates never match. */
    run(ra1, dec1, 3, ra2, dec2, 3, 3.0, m1, m2, &np);
    check(m1[2] == -1 && m2[2] == -1 && np == 2,
          "match: rows and stars without coordinates never match");
    /* Empty inputs. */
    check_int(run(ra1, dec1, 2, ra2, dec2, 0, 3.0, m1, m2, &np), ==, PP_OK,
              "match: no Gaia star is fine");
    check(m1[0] == -1 && m1[1] == -1 && np == 0,
          "match: no Gaia star, no match");
}

static void test_wrap_and_pole(void)
{
    /* RA 359.9999 and 0.0001 at DEC 0 are 0.72" apart; 359.9995 and
     * 0.0005 are 3.6" apart. */
    double ra1[2] = { 359.9999, 0.0005 }, dec1[2] = { 0, 0 };
    double ra2[2] = { 0.0001, 359.9995 }, dec2[2] = { 0, 0 };
    /* Near the pole RA means little: R0 (RA 0, DEC 89.9999) and S0 (RA
     * 90, same DEC) are 2 * 0.36" * sin(45 deg) = 0.509" apart; R1 at
     * the pole is 0.36" from S0 and 0.54" from S1 (RA 180, DEC
     * 89.99985), itself 0.90" from R0.  One-to-one: R1-S0 first, then
     * R0-S1, although R0's nearest star is S0. */
    double ra3[2] = { 0, 123 }, dec3[2] = { 89.9999, 90.0 };
    double ra4[2] = { 90, 180 }, dec4[2] = { 89.9999, 89.99985 };
    long m1[2], m2[2], np;
    double sep[2];
    pp_error err = PP_ERROR_INIT;

    zp_match_sphere(ra1, dec1, 2, ra2, dec2, 2, 3.0, m1, m2, sep, &np, &err);
    check(m1[0] == 0 && m1[1] == -1,
          "match: RA 359.9999 and 0.0001 match across 0/360");
    check_near(sep[0], 0.72, 1e-6, "match: separation across 0/360");
    zp_match_sphere(ra3, dec3, 2, ra4, dec4, 2, 3.0, m1, m2, sep, &np, &err);
    check(m1[0] == 1 && m1[1] == 0 && np == 2,
          "match: near the pole, stars 90 and 180 deg of RA away match");
    check_near(sep[0], 0.90, 1e-6, "match: separation near the pole");
    check_near(sep[1], 0.36, 1e-6, "match: separation from the pole");
    zp_match_sphere(ra3, dec3, 1, ra4, dec4, 1, 3.0, m1, m2, sep, &np, &err);
    check(m1[0] == 0 && np == 1, "match: R0 alone takes S0");
    check_near(sep[0], 0.72 * sin(M_PI / 4), 1e-6,
               "match: 90 deg of RA at DEC 89.9999 is 0.509 arcsec");
}

static void test_against_brute_force(void)
{
    check(random_case(150.0, 2.2, 0.01, 1500, 1200, 1),
          "match: random field equals the brute-force reference");
    check(random_case(0.0, -30.0, 0.01, 1500, 1200, 2),
          "match: field across RA 0/360 equals the reference");
    check(random_case(0.0, 89.995, 0.005, 1500, 1200, 3),
          "match: field at the north pole equals the reference");
    check(random_case(200.0, 10.0, 0.0005, 400, 400, 4),
          "match: crowded field (many conflicts) equals the reference");
}

/* SPEC §7 scale: 100 000 rows x 50 000 Gaia stars over 1.5 deg.  The
 * time is reported, not tested (tests must not depend on timing). */
static void test_scale(void)
{
    long n = 100000, m = 50000, np;
    double *ra1 = malloc(sizeof(double) * (size_t)n);
    double *dec1 = malloc(sizeof(double) * (size_t)n);
    double *ra2 = malloc(sizeof(double) * (size_t)m);
    double *dec2 = malloc(sizeof(double) * (size_t)m);
    long *m1 = malloc(sizeof(long) * (size_t)n);
    unsigned long s = 7;
    struct timespec t0, t1;

    for (long i = 0; i < n; ++i) {
        ra1[i] = 150.0 + 1.5 * urand(&s);
        dec1[i] = 2.0 + 1.5 * urand(&s);
    }
    for (long j = 0; j < m; ++j) {
        ra2[j] = ra1[2 * j] + 0.5 * AS * (2 * urand(&s) - 1);
        dec2[j] = dec1[2 * j] + 0.5 * AS * (2 * urand(&s) - 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    run(ra1, dec1, n, ra2, dec2, m, 3.0, m1, NULL, &np);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("# 100000 x 50000 matched in %.3f s\n",
           (double)(t1.tv_sec - t0.tv_sec) +
           1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    /* Each star sits 0.7" or less from its row; other rows are ~14"
     * apart on average, so nearly every star finds its own row. */
    check(np >= m - m / 100 && np <= m,
          "match: 100000 x 50000 matches almost every star");
    free(ra1);
    free(dec1);
    free(ra2);
    free(dec2);
    free(m1);
}

int main(void)
{
    test_one_to_one_differs_from_nearest();
    test_duplicates_and_missing();
    test_wrap_and_pole();
    test_against_brute_force();
    test_scale();
    return tap_done();
}
