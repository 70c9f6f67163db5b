/* simcheck - an independent check of pp-sim's truth fluxes (bench only).
 *
 *     simcheck IMAGE BETA STARS
 *
 * STARS holds "x y fwhm flux_scaled" lines (0-based full-frame position,
 * the PSF FWHM at the star in pixels, the truth flux in the scaled system
 * of the image's ZP_AUTO).  For each star, SEP sums the image in a circle
 * of radius 3 FWHM (exact pixel overlap), and the sum is divided by the
 * Moffat profile's analytic enclosed fraction 1 - (1 + r²/α²)^(1-β),
 * α = FWHM / (2 sqrt(2^(1/β) - 1)), and by the truth flux in ADU.  Prints
 * "n mean_ratio standard_error median_ratio".  Uses SEP and cfitsio only:
 * no code of pp-sim.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <fitsio.h>
#include <sep.h>

#define APER_FWHM 3.0               /* aperture radius in FWHM */

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    fitsfile *fp;
    int status = 0, anynul;
    long naxes[2];
    double zp, beta, x, y, fwhm, flux, ratio[100000];
    float *pix;
    unsigned char *mask;
    FILE *in;
    long n = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: simcheck IMAGE BETA STARS\n");
        return 2;
    }
    beta = atof(argv[2]);
    if (fits_open_image(&fp, argv[1], READONLY, &status) ||
        fits_get_img_size(fp, 2, naxes, &status) ||
        fits_read_key(fp, TDOUBLE, "ZP_AUTO", &zp, NULL, &status)) {
        fits_report_error(stderr, status);
        return 1;
    }
    pix = malloc(sizeof *pix * (size_t)(naxes[0] * naxes[1]));
    mask = calloc((size_t)(naxes[0] * naxes[1]), 1);
    if (fits_read_img(fp, TFLOAT, 1, naxes[0] * naxes[1], NULL, pix,
                      &anynul, &status)) {
        fits_report_error(stderr, status);
        return 1;
    }
    fits_close_file(fp, &status);
    for (long k = 0; k < naxes[0] * naxes[1]; ++k)
        mask[k] = !isfinite(pix[k]);
    sep_image im = { pix, NULL, mask, NULL, SEP_TFLOAT, 0, SEP_TBYTE, 0,
                     (int)naxes[0], (int)naxes[1], 0.0, SEP_NOISE_NONE,
                     1.0, 0.0 };
    in = fopen(argv[3], "r");
    if (!in) {
        perror(argv[3]);
        return 1;
    }
    while (n < 100000 && fscanf(in, "%lf %lf %lf %lf", &x, &y, &fwhm,
                                &flux) == 4) {
        double r = APER_FWHM * fwhm, sum, sumerr, area;
        double alpha = fwhm / (2.0 * sqrt(pow(2.0, 1.0 / beta) - 1.0));
        double frac = 1.0 - pow(1.0 + r * r / (alpha * alpha), 1.0 - beta);
        double adu = flux / pow(10.0, -0.4 * (zp - 25.0));
        short flag;
        if (sep_sum_circle(&im, x, y, r, 0, 0, 0, &sum, &sumerr, &area,
                           &flag) != 0 || flag)
            continue;
        ratio[n++] = sum / frac / adu;
    }
    fclose(in);
    double s = 0, s2 = 0;
    for (long k = 0; k < n; ++k) {
        s += ratio[k];
        s2 += ratio[k] * ratio[k];
    }
    double mean = n ? s / n : NAN;
    double se = n > 1 ? sqrt((s2 / n - mean * mean) / (n - 1)) : NAN;
    qsort(ratio, (size_t)n, sizeof *ratio, cmp);
    printf("%ld %.5f %.5f %.5f\n", n, mean, se, n ? ratio[n / 2] : NAN);
    free(pix);
    free(mask);
    return 0;
}
