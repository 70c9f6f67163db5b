/* payloadcheck - an independent check of pp-patchify's payloads.
 *
 *     payloadcheck pixels PAYLOAD [BRIGHT_MASK]
 *     payloadcheck sources PAYLOAD
 *     payloadcheck wcs PAYLOAD WCS_FITS X Y
 *     payloadcheck hdus PAYLOAD
 *     payloadcheck pkey PAYLOAD KEY
 *     payloadcheck mkmask OUT W H
 *     payloadcheck setnan IMAGE X Y
 *
 * pixels: for every band k, reads SCI k and MASK k, the original image
 * named by SRCFILE (its first HDU with data, cfitsio's fits_open_image)
 * over the ROI shifted by CROPX0/CROPY0, and checks SPEC §9.3 and
 * pp-patchify(1): SCI == (float)((double)raw * SCALE) bit for bit (NaN
 * where raw is not finite), SCALE == 10^(-0.4 (ZP_AUTO - ZPREF)) to 1e-12
 * relative, MASK == 1 nonfinite | 2 (finite and raw >= SATURATE/2, the
 * original header's SATURATE) | 4 (bright mask pixel nonzero), both HDUs
 * tile-compressed with EXTVER = k.  Prints "ok N bands: M nonfinite, S
 * saturated, B bright" (pixel counts over all bands) or what differs.
 * sources: prints the SOURCES table as TAB-separated lines (header, then
 * rows; byte columns as text with \t \n \r \\ escaped as tests/cli/
 * csvcol.pl does, D columns %.17g, L columns True/False).
 * wcs: the sky position of payload pixel (X, Y) (0-based) from the
 * payload's primary header, and of (X + RX0, Y + RY0) from WCS_FITS, both
 * with wcslib; exit 1 when they differ by more than 1e-9 deg.
 * hdus: one line per HDU: number, type (IMAGE, GZIP_2 for a tile-compressed
 * image with that algorithm, BINTABLE), EXTNAME, EXTVER, and for images
 * BITPIX NAXIS1 NAXIS2 (of the image, not of the compressed table).
 * pkey: the value text of KEY in the primary header.
 * mkmask: writes a W x H uint8 image, 1 where (3x + 5y) % 17 == 0, as a
 * stand-in bright mask (SPEC §6.8).  setnan: sets 0-based pixel (X, Y) of
 * the first image HDU of IMAGE to NaN.
 * Exit 0 when all agree, 1 otherwise.  Shares no code with patchphot.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fitsio.h>
#include <wcslib/wcs.h>
#include <wcslib/wcshdr.h>

static void die(const char *what, int status)
{
    char text[FLEN_STATUS];

    fits_get_errstatus(status, text);
    fprintf(stderr, "payloadcheck: %s: %s\n", what, text);
    exit(1);
}

static double key_double(fitsfile *fp, const char *key, double dflt,
                         int need)
{
    double v;
    int status = 0;

    if (fits_read_key(fp, TDOUBLE, key, &v, NULL, &status)) {
        if (need)
            die(key, status);
        return dflt;
    }
    return v;
}

static long key_long(fitsfile *fp, const char *key)
{
    long v;
    int status = 0;

    if (fits_read_key(fp, TLONG, key, &v, NULL, &status))
        die(key, status);
    return v;
}

/* Move to the HDU EXTNAME=name, EXTVER=ver and check it is GZIP_2. */
static void move_ext(fitsfile *fp, const char *name, int ver, int *bad)
{
    int status = 0;

    if (fits_movnam_hdu(fp, IMAGE_HDU, (char *)name, ver, &status))
        die(name, status);
    if (!fits_is_compressed_image(fp, &status)) {
        printf("%s %d: not tile-compressed\n", name, ver);
        *bad = 1;
    }
}

static void read_box(fitsfile *fp, int type, long x0, long x1, long y0,
                     long y1, void *out)
{
    long fpix[2] = { x0 + 1, y0 + 1 }, lpix[2] = { x1, y1 }, inc[2] = { 1, 1 };
    int status = 0, anynul;
    float fnan = NAN;
    unsigned char zero = 0;

    if (fits_read_subset(fp, type, fpix, lpix, inc,
                         type == TFLOAT ? (void *)&fnan : (void *)&zero,
                         out, &anynul, &status))
        die("fits_read_subset", status);
}

static int cmd_pixels(const char *payload, const char *bright)
{
    fitsfile *fp, *im, *bm = NULL;
    int status = 0, bad = 0, k, nb;
    long rx0, rx1, ry0, ry1, cx, cy, n, i, nbad = 0, cnt[3] = { 0 };
    double zpref;

    if (fits_open_diskfile(&fp, payload, READONLY, &status))
        die(payload, status);
    nb = (int)key_long(fp, "NBANDS");
    rx0 = key_long(fp, "RX0");
    rx1 = key_long(fp, "RX1");
    ry0 = key_long(fp, "RY0");
    ry1 = key_long(fp, "RY1");
    cx = key_long(fp, "CROPX0");
    cy = key_long(fp, "CROPY0");
    zpref = key_double(fp, "ZPREF", 0, 1);
    n = (rx1 - rx0) * (ry1 - ry0);
    float *sci = malloc(sizeof *sci * (size_t)n);
    float *raw = malloc(sizeof *raw * (size_t)n);
    unsigned char *mask = malloc((size_t)n), *bmask = calloc((size_t)n, 1);
    if (bright) {
        if (fits_open_image(&bm, bright, READONLY, &status))
            die(bright, status);
        read_box(bm, TBYTE, rx0, rx1, ry0, ry1, bmask);
        fits_close_file(bm, &status);
    }
    for (k = 1; k <= nb; k++) {
        char src[FLEN_VALUE];
        double scale, sat, zp;
        long w[2];

        move_ext(fp, "SCI", k, &bad);
        fits_get_img_size(fp, 2, w, &status);
        if (w[0] != rx1 - rx0 || w[1] != ry1 - ry0) {
            printf("SCI %d: %ld x %ld, expected the ROI\n", k, w[0], w[1]);
            return 1;
        }
        if (fits_read_key(fp, TSTRING, "SRCFILE", src, NULL, &status))
            die("SRCFILE", status);
        scale = key_double(fp, "SCALE", 0, 1);
        read_box(fp, TFLOAT, 0, w[0], 0, w[1], sci);
        if (fits_open_image(&im, src, READONLY, &status))
            die(src, status);
        zp = key_double(im, "ZP_AUTO", 0, 1);
        sat = key_double(im, "SATURATE", NAN, 0);
        if (fabs(scale / pow(10.0, -0.4 * (zp - zpref)) - 1) > 1e-12) {
            printf("SCI %d: SCALE %.17g, expected 10^(-0.4 (%.17g - "
                   "%.17g))\n", k, scale, zp, zpref);
            bad = 1;
        }
        read_box(im, TFLOAT, rx0 + cx, rx1 + cx, ry0 + cy, ry1 + cy, raw);
        fits_close_file(im, &status);
        move_ext(fp, "MASK", k, &bad);
        read_box(fp, TBYTE, 0, w[0], 0, w[1], mask);
        for (i = 0; i < n; i++) {
            float want = (float)((double)raw[i] * scale);
            int m = (!isfinite(raw[i]) ? 1 : 0) |
                    (isfinite(raw[i]) && (double)raw[i] >= sat / 2 ? 2 : 0) |
                    (bmask[i] ? 4 : 0);
            int same = isnan(want) ? isnan(sci[i]) :
                       memcmp(&want, &sci[i], sizeof want) == 0;

            cnt[0] += m & 1;
            cnt[1] += (m & 2) != 0;
            cnt[2] += (m & 4) != 0;
            if (!same || mask[i] != m) {
                if (nbad++ < 5)
                    printf("band %d pixel (%ld, %ld): SCI %.9g MASK %d, "
                           "expected %.9g %d\n", k, i % w[0], i / w[0],
                           sci[i], mask[i], want, m);
                bad = 1;
            }
        }
    }
    fits_close_file(fp, &status);
    if (!bad)
        printf("ok %d bands: %ld nonfinite, %ld saturated, %ld bright\n",
               nb, cnt[0], cnt[1], cnt[2]);
    free(sci);
    free(raw);
    free(mask);
    free(bmask);
    return bad;
}

static void put_text(const unsigned char *s, long n)
{
    long i;

    for (i = 0; i < n; i++)
        switch (s[i]) {
        case '\t': fputs("\\t", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default: putchar(s[i]);
        }
}

static int cmd_sources(const char *payload)
{
    fitsfile *fp;
    int status = 0, ncol, c, type, anynul;
    long nrow, r, rep, width;
    char name[FLEN_VALUE], key[16];

    if (fits_open_diskfile(&fp, payload, READONLY, &status) ||
        fits_movnam_hdu(fp, BINARY_TBL, "SOURCES", 0, &status))
        die(payload, status);
    fits_get_num_cols(fp, &ncol, &status);
    fits_get_num_rows(fp, &nrow, &status);
    for (c = 1; c <= ncol; c++) {
        snprintf(key, sizeof key, "TTYPE%d", c);
        if (fits_read_key(fp, TSTRING, key, name, NULL, &status))
            die(key, status);
        printf("%s%s", c > 1 ? "\t" : "", name);
    }
    putchar('\n');
    for (r = 1; r <= nrow; r++) {
        for (c = 1; c <= ncol; c++) {
            if (c > 1)
                putchar('\t');
            fits_get_coltype(fp, c, &type, &rep, &width, &status);
            if (type == -TBYTE) {
                long len, off;
                unsigned char *b;

                fits_read_descript(fp, c, r, &len, &off, &status);
                b = malloc((size_t)len + 1);
                if (len)
                    fits_read_col(fp, TBYTE, c, r, 1, len, NULL, b,
                                  &anynul, &status);
                put_text(b, len);
                free(b);
            } else if (type == TDOUBLE) {
                double v;
                fits_read_col(fp, TDOUBLE, c, r, 1, 1, NULL, &v, &anynul,
                              &status);
                printf("%.17g", v);
            } else if (type == TLOGICAL) {
                char v;
                fits_read_col(fp, TLOGICAL, c, r, 1, 1, NULL, &v, &anynul,
                              &status);
                fputs(v ? "True" : "False", stdout);
            } else {
                printf("payloadcheck: column %d: unexpected type %d\n", c,
                       type);
                return 1;
            }
            if (status)
                die("SOURCES", status);
        }
        putchar('\n');
    }
    fits_close_file(fp, &status);
    return 0;
}

/* World coordinates of 0-based pixel (x, y) from the primary header. */
static void sky_of(const char *path, double x, double y, double *ra,
                   double *dec)
{
    fitsfile *fp;
    int status = 0, nkeys, nrej, nwcs, stat[1];
    char *hdr;
    struct wcsprm *wcs;
    double pix[2] = { x + 1, y + 1 }, img[2], phi, theta, world[2];

    if (fits_open_diskfile(&fp, path, READONLY, &status) ||
        fits_hdr2str(fp, 1, NULL, 0, &hdr, &nkeys, &status))
        die(path, status);
    if (wcspih(hdr, nkeys, WCSHDR_all, 0, &nrej, &nwcs, &wcs) || nwcs < 1 ||
        wcsset(wcs) || wcsp2s(wcs, 1, 2, pix, img, &phi, &theta, world,
                              stat)) {
        fprintf(stderr, "payloadcheck: %s: no usable WCS\n", path);
        exit(1);
    }
    *ra = world[0];
    *dec = world[1];
    wcsvfree(&nwcs, &wcs);
    fits_free_memory(hdr, &status);
    fits_close_file(fp, &status);
}

static int cmd_wcs(const char *payload, const char *wcsfile, double x,
                   double y)
{
    fitsfile *fp;
    int status = 0;
    long rx0, ry0;
    double ra1, de1, ra2, de2, d;

    if (fits_open_diskfile(&fp, payload, READONLY, &status))
        die(payload, status);
    rx0 = key_long(fp, "RX0");
    ry0 = key_long(fp, "RY0");
    fits_close_file(fp, &status);
    sky_of(payload, x, y, &ra1, &de1);
    sky_of(wcsfile, x + (double)rx0, y + (double)ry0, &ra2, &de2);
    d = fmax(fabs(ra1 - ra2) * cos(de1 * M_PI / 180), fabs(de1 - de2));
    printf("%.12f %.12f %.12f %.12f %.3g\n", ra1, de1, ra2, de2, d);
    return d > 1e-9;
}

static int cmd_hdus(const char *path)
{
    fitsfile *fp;
    int status = 0, n, i, type, bitpix;
    char name[FLEN_VALUE], cmp[FLEN_VALUE];
    long ver, naxes[2];

    if (fits_open_diskfile(&fp, path, READONLY, &status) ||
        fits_get_num_hdus(fp, &n, &status))
        die(path, status);
    for (i = 1; i <= n; i++) {
        if (fits_movabs_hdu(fp, i, &type, &status))
            die(path, status);
        strcpy(name, "-");
        strcpy(cmp, type == IMAGE_HDU ? "IMAGE" : "BINTABLE");
        ver = 0;
        if (fits_read_key(fp, TSTRING, "EXTNAME", name, NULL, &status))
            strcpy(name, "-");
        status = 0;
        fits_read_key(fp, TLONG, "EXTVER", &ver, NULL, &status);
        status = 0;
        if (fits_is_compressed_image(fp, &status)) {
            fits_read_key(fp, TSTRING, "ZCMPTYPE", cmp, NULL, &status);
            status = 0;
            type = IMAGE_HDU;
        }
        printf("%d %s %s %ld", i, cmp, name, ver);
        if (type == IMAGE_HDU) {
            naxes[0] = naxes[1] = 0;
            fits_get_img_type(fp, &bitpix, &status);
            fits_get_img_size(fp, 2, naxes, &status);
            printf(" %d %ld %ld", bitpix, naxes[0], naxes[1]);
        }
        putchar('\n');
    }
    fits_close_file(fp, &status);
    return 0;
}

static int cmd_pkey(const char *path, const char *key)
{
    fitsfile *fp;
    int status = 0;
    char v[FLEN_VALUE], s[FLEN_VALUE];

    if (fits_open_diskfile(&fp, path, READONLY, &status) ||
        fits_read_keyword(fp, key, v, NULL, &status))
        die(key, status);
    if (v[0] == '\'') {
        fits_read_key(fp, TSTRING, key, s, NULL, &status);
        printf("%s\n", s);
    } else
        printf("%s\n", v);
    fits_close_file(fp, &status);
    return 0;
}

static int cmd_mkmask(const char *out, long w, long h)
{
    fitsfile *fp;
    int status = 0;
    long naxes[2] = { w, h }, x, y;
    unsigned char *m = malloc((size_t)(w * h));

    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++)
            m[y * w + x] = (3 * x + 5 * y) % 17 == 0;
    remove(out);
    if (fits_create_file(&fp, out, &status) ||
        fits_create_img(fp, BYTE_IMG, 2, naxes, &status) ||
        fits_write_img(fp, TBYTE, 1, w * h, m, &status) ||
        fits_close_file(fp, &status))
        die(out, status);
    free(m);
    return 0;
}

static int cmd_setnan(const char *path, long x, long y)
{
    fitsfile *fp;
    int status = 0;
    long fpix[2] = { x + 1, y + 1 };
    float v = NAN;

    if (fits_open_image(&fp, path, READWRITE, &status) ||
        fits_write_pix(fp, TFLOAT, fpix, 1, &v, &status) ||
        fits_close_file(fp, &status))
        die(path, status);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "hdus") == 0)
        return cmd_hdus(argv[2]);
    if (argc == 4 && strcmp(argv[1], "pkey") == 0)
        return cmd_pkey(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "mkmask") == 0)
        return cmd_mkmask(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc == 5 && strcmp(argv[1], "setnan") == 0)
        return cmd_setnan(argv[2], atol(argv[3]), atol(argv[4]));
    if (argc >= 3 && argc <= 4 && strcmp(argv[1], "pixels") == 0)
        return cmd_pixels(argv[2], argc == 4 ? argv[3] : NULL);
    if (argc == 3 && strcmp(argv[1], "sources") == 0)
        return cmd_sources(argv[2]);
    if (argc == 6 && strcmp(argv[1], "wcs") == 0)
        return cmd_wcs(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
    fprintf(stderr, "usage: payloadcheck pixels PAYLOAD [BRIGHT_MASK]\n"
            "       payloadcheck sources PAYLOAD\n"
            "       payloadcheck wcs PAYLOAD WCS_FITS X Y\n"
            "       payloadcheck hdus PAYLOAD\n"
            "       payloadcheck pkey PAYLOAD KEY\n"
            "       payloadcheck mkmask OUT W H\n"
            "       payloadcheck setnan IMAGE X Y\n");
    return 2;
}
