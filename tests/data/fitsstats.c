/* fitsstats - statistics of a FITS image for the CLI tests, with plain
 * cfitsio (independent of patchphot's code).
 *
 *     fitsstats FILE [EXCLUDE]
 *
 * EXCLUDE is a text file of "x y r" lines: discs (0-based centres, radius
 * in pixels) whose pixels are left out.  Prints "sigma max nnan": the
 * standard deviation of the finite pixels left, after iterative 3-sigma
 * clipping and corrected for it (a sky noise estimate), the largest of
 * them, and the number of NaN pixels in the whole image.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <fitsio.h>

/* Mark the pixels of the discs listed in path. */
static int exclude(const char *path, unsigned char *mask, long w, long h)
{
    FILE *fp = fopen(path, "r");
    double x, y, r;

    if (!fp) {
        perror(path);
        return 1;
    }
    while (fscanf(fp, "%lf %lf %lf", &x, &y, &r) == 3)
        for (long j = (long)floor(y - r); j <= (long)ceil(y + r); ++j)
            for (long i = (long)floor(x - r); i <= (long)ceil(x + r); ++i)
                if (i >= 0 && i < w && j >= 0 && j < h &&
                    hypot(i - x, j - y) <= r)
                    mask[j * w + i] = 1;
    fclose(fp);
    return 0;
}

int main(int argc, char **argv)
{
    fitsfile *fp;
    int status = 0, anynul;
    long naxes[2], n, nnan = 0;
    double mx = -INFINITY, centre = 0, sd = INFINITY;
    float *pix;
    unsigned char *mask;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: fitsstats FILE [EXCLUDE]\n");
        return 2;
    }
    if (fits_open_image(&fp, argv[1], READONLY, &status) ||
        fits_get_img_size(fp, 2, naxes, &status)) {
        fits_report_error(stderr, status);
        return 1;
    }
    n = naxes[0] * naxes[1];
    pix = malloc(sizeof *pix * (size_t)n);
    mask = calloc((size_t)n, 1);
    if (fits_read_img(fp, TFLOAT, 1, n, NULL, pix, &anynul, &status)) {
        fits_report_error(stderr, status);
        return 1;
    }
    fits_close_file(fp, &status);
    if (argc == 3 && exclude(argv[2], mask, naxes[0], naxes[1]))
        return 1;
    for (long k = 0; k < n; ++k) {
        nnan += !isfinite(pix[k]);
        if (!isfinite(pix[k]))
            mask[k] = 1;
        else if (!mask[k] && pix[k] > mx)
            mx = pix[k];
    }
    for (int it = 0; it < 20; ++it) {
        double s = 0, s2 = 0;
        long c = 0;
        for (long k = 0; k < n; ++k)
            if (!mask[k] && fabs(pix[k] - centre) <= 3 * sd) {
                s += pix[k];
                s2 += (double)pix[k] * pix[k];
                ++c;
            }
        centre = s / c;
        sd = sqrt(s2 / c - centre * centre);
    }
    /* A normal law clipped at 3 sigma keeps 0.98658 of its sigma. */
    printf("%.6g %.6g %ld\n", sd / 0.98658, mx, nnan);
    free(pix);
    free(mask);
    return 0;
}
