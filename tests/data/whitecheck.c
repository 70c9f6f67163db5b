/* whitecheck - an independent check of pp-crop's white.fits.
 *
 *     whitecheck WHITE_FITS MARGIN ZP_REF IMAGE...
 *
 * Recomputes the white stack, its sigma and the any-band saturation mask
 * from the images with plain cfitsio (whole images in memory: test fields
 * are small) and the formulae of SPEC §5.3 and §6.1 step 4, and compares
 * them with the WHITE, SIGMA and SATANY extensions; checks WHITE_FULL's
 * BINFAC and a block average.  Prints what differs; exit 0 when all agree
 * to 1e-6 relative (float32 storage), 1 otherwise.  Shares no code with
 * patchphot.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fitsio.h>

static void die(const char *what, int status)
{
    char text[FLEN_STATUS];

    fits_get_errstatus(status, text);
    fprintf(stderr, "whitecheck: %s: %s\n", what, text);
    exit(1);
}

static float *read_image(const char *path, long *w, long *h, double *k)
{
    fitsfile *fp;
    int status = 0, anynul;
    long naxes[2];
    float *pix;
    double zp, sky, sat;

    if (fits_open_image(&fp, path, READONLY, &status))
        die(path, status);
    fits_get_img_size(fp, 2, naxes, &status);
    fits_read_key(fp, TDOUBLE, "ZP_AUTO", &zp, NULL, &status);
    fits_read_key(fp, TDOUBLE, "SKYSIG", &sky, NULL, &status);
    if (status)
        die(path, status);
    if (fits_read_key(fp, TDOUBLE, "SATURATE", &sat, NULL, &status)) {
        status = 0;
        sat = INFINITY;
    }
    *w = naxes[0];
    *h = naxes[1];
    pix = malloc(sizeof *pix * (size_t)(*w * *h));
    float nan = NAN;
    if (fits_read_img(fp, TFLOAT, 1, *w * *h, &nan, pix, &anynul, &status))
        die(path, status);
    fits_close_file(fp, &status);
    k[0] = zp;
    k[1] = sky;
    k[2] = sat;
    return pix;
}

static float *read_ext(fitsfile *fp, const char *ext, int type, long n)
{
    int status = 0, anynul;
    float *out = malloc(sizeof *out * (size_t)n);

    if (fits_movnam_hdu(fp, IMAGE_HDU, (char *)ext, 0, &status))
        die(ext, status);
    float nan = NAN;
    if (fits_read_img(fp, type, 1, n, &nan, out, &anynul, &status))
        die(ext, status);
    return out;
}

static int near(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b))
        return a == b;
    return fabs(a - b) <= 1e-6 * fmax(1.0, fabs(b));
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: whitecheck WHITE MARGIN ZP_REF IMAGE...\n");
        return 2;
    }
    long m = atol(argv[2]), w = 0, h = 0, nb = argc - 4;
    double zp_ref = atof(argv[3]);
    float **img = calloc((size_t)nb, sizeof *img);
    double (*k)[3] = calloc((size_t)nb, sizeof *k);

    for (long b = 0; b < nb; ++b)
        img[b] = read_image(argv[4 + b], &w, &h, k[b]);
    long ww = w - 2 * m, wh = h - 2 * m, bad = 0;
    double *full = malloc(sizeof *full * (size_t)(w * h));
    fitsfile *fp;
    int status = 0;
    if (fits_open_file(&fp, argv[1], READONLY, &status))
        die(argv[1], status);
    float *white = read_ext(fp, "WHITE", TFLOAT, ww * wh);
    float *sigma = read_ext(fp, "SIGMA", TFLOAT, ww * wh);
    float *sat = read_ext(fp, "SATANY", TFLOAT, ww * wh);

    for (long y = 0; y < h; ++y)
        for (long x = 0; x < w; ++x) {
            double num = 0, den = 0;
            int s = 0;
            for (long b = 0; b < nb; ++b) {
                double v = img[b][y * w + x];
                double scale = pow(10.0, -0.4 * (k[b][0] - zp_ref));
                double wt = 1.0 / pow(k[b][1] * scale, 2);
                if (!isfinite(v))
                    continue;
                if (v >= k[b][2] / 2) {
                    s = 1;
                    continue;
                }
                num += wt * v * scale;
                den += wt;
            }
            full[y * w + x] = den > 0 ? num / den : NAN;
            if (x < m || x >= w - m || y < m || y >= h - m)
                continue;
            long i = (y - m) * ww + (x - m);
            double ew = den > 0 ? num / den : NAN;
            double es = den > 0 ? sqrt(1 / den) : INFINITY;
            if (!near(white[i], ew) || !near(sigma[i], es) ||
                (int)sat[i] != s) {
                if (++bad <= 5)
                    printf("pixel (%ld,%ld): white %.9g vs %.9g, sigma "
                           "%.9g vs %.9g, sat %d vs %d\n", x - m, y - m,
                           white[i], ew, sigma[i], es, (int)sat[i], s);
            }
        }
    /* WHITE_FULL: smallest factor bringing the longer side to <= 2048. */
    long side = w > h ? w : h, f = 1;
    while ((side + f - 1) / f > 2048)
        ++f;
    long binfac = 0, bw = (w + f - 1) / f, bh = (h + f - 1) / f;
    float *binned = read_ext(fp, "WHITE_FULL", TFLOAT, bw * bh);
    fits_read_key(fp, TLONG, "BINFAC", &binfac, NULL, &status);
    if (status || binfac != f) {
        printf("BINFAC %ld, expected %ld\n", binfac, f);
        ++bad;
    }
    for (long by = 0; by < bh; ++by)
        for (long bx = 0; bx < bw; ++bx) {
            double s = 0;
            long n = 0;
            for (long y = by * f; y < (by + 1) * f && y < h; ++y)
                for (long x = bx * f; x < (bx + 1) * f && x < w; ++x)
                    if (isfinite(full[y * w + x])) {
                        s += full[y * w + x];
                        ++n;
                    }
            if (!near(binned[by * bw + bx], n ? s / n : NAN) && ++bad <= 10)
                printf("WHITE_FULL (%ld,%ld): %.9g vs %.9g\n", bx, by,
                       binned[by * bw + bx], n ? s / n : NAN);
        }
    fits_close_file(fp, &status);
    printf("%ld differences\n", bad);
    for (long b = 0; b < nb; ++b)
        free(img[b]);
    free(img);
    free(k);
    free(full);
    free(white);
    free(sigma);
    free(sat);
    free(binned);
    return bad ? 1 : 0;
}
