/* maskpixels - list the non-zero pixels of a FITS image, for the CLI tests,
 * with plain cfitsio (independent of patchphot's code).
 *
 *     maskpixels FILE [EXTNAME]
 *
 * Reads the image extension EXTNAME (default: the first HDU holding an
 * image with data, compressed images included) and prints "W H" on the
 * first line, then "i j" (0-based column and row) of every pixel whose
 * value is not 0, row by row.  Exit 0, or 1 with a message on stderr.
 */
#include <stdio.h>
#include <stdlib.h>

#include <fitsio.h>

static int fail(const char *what, int status)
{
    char text[FLEN_STATUS];

    fits_get_errstatus(status, text);
    fprintf(stderr, "maskpixels: %s: %s\n", what, text);
    return 1;
}

/* Move to the first HDU with a 2-D image with data. */
static int first_image(fitsfile *fp, int *status)
{
    int nhdu, type, naxis;
    long size[2];

    fits_get_num_hdus(fp, &nhdu, status);
    for (int k = 1; k <= nhdu && !*status; ++k) {
        fits_movabs_hdu(fp, k, &type, status);
        if (*status || type != IMAGE_HDU)
            continue;
        fits_get_img_dim(fp, &naxis, status);
        if (naxis == 2 && !fits_get_img_size(fp, 2, size, status) &&
            size[0] > 0 && size[1] > 0)
            return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    fitsfile *fp;
    int status = 0, anynul = 0;
    long size[2], fpixel[2] = { 1, 1 };
    double *row;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: maskpixels FILE [EXTNAME]\n");
        return 2;
    }
    if (fits_open_file(&fp, argv[1], READONLY, &status))
        return fail(argv[1], status);
    if (argc == 3 ? fits_movnam_hdu(fp, IMAGE_HDU, argv[2], 0, &status)
                  : first_image(fp, &status))
        return status ? fail(argv[2], status)
                      : fail("no image with data", BAD_NAXIS);
    if (fits_get_img_size(fp, 2, size, &status))
        return fail("image size", status);
    printf("%ld %ld\n", size[0], size[1]);
    row = malloc(sizeof *row * (size_t)size[0]);
    if (!row)
        return fail("out of memory", MEMORY_ALLOCATION);
    for (fpixel[1] = 1; fpixel[1] <= size[1]; ++fpixel[1]) {
        if (fits_read_pix(fp, TDOUBLE, fpixel, size[0], NULL, row, &anynul,
                          &status))
            return fail("reading pixels", status);
        for (long i = 0; i < size[0]; ++i)
            if (row[i] != 0)
                printf("%ld %ld\n", i, fpixel[1] - 1);
    }
    free(row);
    fits_close_file(fp, &status);
    return status ? fail("close", status) : 0;
}
