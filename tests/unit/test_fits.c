/* test_fits.c - pp_fits: image HDU choice, keys, sub-image reads, the
 * atomic writer (compressed extensions, tables, copies).
 *
 * Input files are made here with plain cfitsio calls, and written files
 * are checked with plain cfitsio calls and their raw bytes, so that the
 * module is never checked against itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* memmem */
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fitsio.h>

#include "pp_error.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "tap.h"

static char dir[] = "/tmp/pp-test-XXXXXX";

static char *path_in(const char *name)
{
    return pp_io_path_join(dir, name);
}

static void die_status(int st, const char *what)
{
    char text[FLEN_STATUS];

    fits_get_errstatus(st, text);
    printf("# cannot make %s: %s\n", what, text);
    exit(1);
}

/* ---- Inputs made with cfitsio directly ---------------------------------- */

/* img.fits: a 5 x 4 float primary, pixel (x, y) = 10 y + x, NaN at (2, 1),
 * and header keys of every kind. */
static void make_primary(const char *path)
{
    fitsfile *fp = NULL;
    long naxes[2] = { 5, 4 };
    float pix[20];
    int st = 0, t = 1;
    double zp = 25.3;
    long seven = 7;
    char longval[120];

    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 5; ++x)
            pix[y * 5 + x] = (float)(10 * y + x);
    pix[1 * 5 + 2] = NAN;
    memset(longval, 'q', 100);
    longval[100] = '\0';
    fits_create_diskfile(&fp, path, &st);
    fits_create_img(fp, FLOAT_IMG, 2, naxes, &st);
    fits_write_img(fp, TFLOAT, 1, 20, pix, &st);
    fits_write_key(fp, TSTRING, "FILTER", "m400", "band", &st);
    fits_write_key(fp, TDOUBLE, "ZP_AUTO", &zp, NULL, &st);
    fits_write_key(fp, TSTRING, "SKYSIG", "abc", NULL, &st);
    fits_write_key(fp, TSTRING, "EGAIN", "NaN", NULL, &st);
    fits_write_key(fp, TLOGICAL, "SATURATE", &t, NULL, &st);
    fits_write_key(fp, TLONG, "NCOMB", &seven, NULL, &st);
    fits_write_key_null(fp, "PEEING", NULL, &st);
    fits_write_key_longstr(fp, "LONGKEY", longval, NULL, &st);
    fits_write_record(fp, "EXPONENT= 1.5D+01", &st);
    fits_close_file(fp, &st);
    if (st)
        die_status(st, path);
}

/* ext.fits: empty primary, then a 3 x 2 int16 image with BSCALE 0.5,
 * BZERO 10 and BLANK -32768 at (1, 0). */
static void make_scaled_ext(const char *path)
{
    fitsfile *fp = NULL;
    long naxes[2] = { 3, 2 };
    short raw[6] = { 0, -32768, 4, 6, 8, 10 };
    int st = 0;
    long blank = -32768;
    double bscale = 0.5, bzero = 10.0;

    fits_create_diskfile(&fp, path, &st);
    fits_create_img(fp, SHORT_IMG, 0, NULL, &st);
    fits_create_img(fp, SHORT_IMG, 2, naxes, &st);
    fits_write_key(fp, TDOUBLE, "BSCALE", &bscale, NULL, &st);
    fits_write_key(fp, TDOUBLE, "BZERO", &bzero, NULL, &st);
    fits_write_key(fp, TLONG, "BLANK", &blank, NULL, &st);
    fits_set_bscale(fp, 1.0, 0.0, &st);     /* write the raw integers */
    fits_set_imgnull(fp, 0, &st);
    fits_write_img(fp, TSHORT, 1, 6, raw, &st);
    fits_close_file(fp, &st);
    if (st)
        die_status(st, path);
}

/* fz.fits: empty primary, a binary table, then a tile-compressed (RICE)
 * 6 x 5 int image of value 100 y + x, made the way fpack makes them. */
static void make_fz(const char *path, int with_image)
{
    fitsfile *fp = NULL;
    long naxes[2] = { 6, 5 };
    int pix[30], st = 0;
    char *ttype[] = { "A" }, *tform[] = { "1J" };

    for (int i = 0; i < 30; ++i)
        pix[i] = 100 * (i / 6) + i % 6;
    fits_create_diskfile(&fp, path, &st);
    fits_create_img(fp, BYTE_IMG, 0, NULL, &st);
    fits_create_tbl(fp, BINARY_TBL, 0, 1, ttype, tform, NULL, "T", &st);
    if (with_image) {
        fits_set_compression_type(fp, RICE_1, &st);
        fits_create_img(fp, LONG_IMG, 2, naxes, &st);
        fits_write_img(fp, TINT, 1, 30, pix, &st);
    }
    fits_close_file(fp, &st);
    if (st)
        die_status(st, path);
}

/* ---- Reading ------------------------------------------------------------ */

static void test_open(void)
{
    char *p1 = path_in("img.fits"), *p2 = path_in("ext.fits"),
         *p3 = path_in("fz.fits"), *p4 = path_in("noimg.fits"),
         *p5 = path_in("text.fits"), *p6 = path_in("missing.fits");
    fitsfile *fp = NULL;
    pp_error err = PP_ERROR_INIT;
    int hdu = -1, rc;
    long w = 0, h = 0;
    float sub[6];
    FILE *f;

    make_primary(p1);
    make_scaled_ext(p2);
    make_fz(p3, 1);
    make_fz(p4, 0);
    f = fopen(p5, "w");
    fputs("SIMPLE? no, just text\n", f);
    fclose(f);

    rc = pp_fits_open_image(p1, &fp, &hdu, &err);
    check(rc == PP_OK && hdu == 1, "fits: a 2-D primary image is HDU 1");
    pp_fits_image_size(fp, &w, &h, &err);
    check(w == 5 && h == 4, "fits: image size is NAXIS1 x NAXIS2");
    /* Box [1,4) x [1,3): rows 1 and 2, columns 1..3. */
    rc = pp_fits_read_subset(fp, 1, 4, 1, 3, sub, &err);
    check(rc == PP_OK && sub[0] == 11 && isnan(sub[1]) && sub[2] == 13 &&
          sub[3] == 21 && sub[4] == 22 && sub[5] == 23,
          "fits: read_subset of a 0-based half-open box, NaN kept");
    rc = pp_fits_read_subset(fp, 4, 6, 0, 1, sub, &err);
    check(rc == PP_EINTERNAL && strstr(err.msg, "outside the 5 x 4 image"),
          "fits: a box past the edge is refused");
    pp_fits_close(fp);

    rc = pp_fits_open_image(p2, &fp, &hdu, &err);
    check(rc == PP_OK && hdu == 2,
          "fits: empty primary: the first image extension is used");
    rc = pp_fits_read_subset(fp, 0, 3, 0, 2, sub, &err);
    check(rc == PP_OK && sub[0] == 10.0f && isnan(sub[1]) &&
          sub[2] == 12.0f && sub[5] == 15.0f,
          "fits: BSCALE/BZERO applied, BLANK read as NaN");
    pp_fits_close(fp);

    rc = pp_fits_open_image(p3, &fp, &hdu, &err);
    check(rc == PP_OK && hdu == 3,
          "fits: a tile-compressed image after a table is found");
    rc = pp_fits_read_subset(fp, 2, 5, 3, 5, sub, &err);
    check(rc == PP_OK && sub[0] == 302 && sub[2] == 304 && sub[3] == 402 &&
          sub[5] == 404, "fits: read_subset of a compressed image");
    pp_fits_close(fp);

    rc = pp_fits_open_image(p4, &fp, &hdu, &err);
    check(rc == PP_EDATA && fp == NULL &&
          strstr(err.msg, "noimg.fits': no 2-D image HDU with data"),
          "fits: a file without an image is PP_EDATA naming it");
    rc = pp_fits_open_image(p5, &fp, &hdu, &err);
    check(rc == PP_EIO && strstr(err.msg, "cannot open '") &&
          strstr(err.msg, "text.fits': not a FITS file"),
          "fits: a text file is PP_EIO, not a FITS file");
    rc = pp_fits_open_image(p6, &fp, &hdu, &err);
    check(rc == PP_EIO && strstr(err.msg, "missing.fits': No such file"),
          "fits: a missing file names errno's reason");
    free(p1);
    free(p2);
    free(p3);
    free(p4);
    free(p5);
    free(p6);
}

static void test_keys(void)
{
    char *p = path_in("img.fits"), s[128], small[8];
    fitsfile *fp = NULL;
    pp_error err = PP_ERROR_INIT;
    int hdu, found = -1, rc;
    double v = 0;

    pp_fits_open_image(p, &fp, &hdu, &err);
    rc = pp_fits_read_key_string(fp, "FILTER", s, sizeof s, &found, &err);
    check(rc == PP_OK && found == 1 && !strcmp(s, "m400"),
          "fits: string key read without quotes");
    rc = pp_fits_read_key_string(fp, "NOSUCH", s, sizeof s, &found, &err);
    check(rc == PP_OK && found == 0 && s[0] == '\0',
          "fits: absent key is found = 0, not an error");
    rc = pp_fits_read_key_double(fp, "ZP_AUTO", &v, &found, &err);
    check(rc == PP_OK && found == 1 && v == 25.3,
          "fits: real key read as double");
    rc = pp_fits_read_key_double(fp, "NCOMB", &v, &found, &err);
    check(rc == PP_OK && found == 1 && v == 7.0, "fits: integer key as double");
    rc = pp_fits_read_key_double(fp, "EXPONENT", &v, &found, &err);
    check(rc == PP_OK && found == 1 && v == 15.0,
          "fits: Fortran D exponent read");
    rc = pp_fits_read_key_double(fp, "SKYSIG", &v, &found, &err);
    check(rc == PP_OK && found == 2 && isnan(v),
          "fits: string 'abc' as double is found = 2, NAN");
    pp_fits_read_key_text(fp, "SKYSIG", s, sizeof s, &err);
    check_str(s, "abc", "fits: key text of a string is its value");
    rc = pp_fits_read_key_double(fp, "EGAIN", &v, &found, &err);
    check(rc == PP_OK && found == 2 && isnan(v),
          "fits: string 'NaN' as double is found = 2");
    rc = pp_fits_read_key_double(fp, "SATURATE", &v, &found, &err);
    check(rc == PP_OK && isnan(v) && found == 2,
          "fits: logical as double is found = 2");
    rc = pp_fits_read_key_text(fp, "SATURATE", s, sizeof s, &err);
    check(rc == PP_OK && !strcmp(s, "T"),
          "fits: key text of a logical is 'T'");
    rc = pp_fits_read_key_text(fp, "ZP_AUTO", s, sizeof s, &err);
    check(rc == PP_OK && !strcmp(s, "25.3"), "fits: key text of a real");
    rc = pp_fits_read_key_text(fp, "NOSUCH", s, sizeof s, &err);
    check(rc == PP_OK && s[0] == '\0', "fits: key text of an absent key "
          "is empty");
    rc = pp_fits_read_key_double(fp, "PEEING", &v, &found, &err);
    check(rc == PP_OK && found == 2 && isnan(v),
          "fits: undefined value as double is found = 2");
    rc = pp_fits_read_key_double(fp, "NOSUCH", &v, &found, &err);
    check(rc == PP_OK && found == 0 && isnan(v),
          "fits: absent double is found = 0, NAN");
    rc = pp_fits_read_key_string(fp, "ZP_AUTO", s, sizeof s, &found, &err);
    check(rc == PP_OK && found == 1 && !strcmp(s, "25.3"),
          "fits: a number read as string is its text");
    rc = pp_fits_read_key_string(fp, "LONGKEY", s, sizeof s, &found, &err);
    check(rc == PP_OK && strlen(s) == 100 && s[99] == 'q',
          "fits: a long CONTINUE string is read whole");
    rc = pp_fits_read_key_string(fp, "LONGKEY", small, sizeof small, &found,
                                 &err);
    check(rc == PP_EDATA && strstr(err.msg, "keyword 'LONGKEY': value "
                                   "longer than 7 characters"),
          "fits: a string too long for the buffer is an error");
    pp_fits_close(fp);
    free(p);
}

/* ---- Writing ------------------------------------------------------------ */

/* The whole file as bytes (for checks on raw header cards). */
static char *slurp(const char *path, size_t *n)
{
    char *buf = NULL;
    pp_error err = PP_ERROR_INIT;

    pp_io_read_file(path, &buf, n, &err);
    return buf;
}

static int has_bytes(const char *buf, size_t n, const char *s)
{
    return memmem(buf, n, s, strlen(s)) != NULL;
}

/* Rows of the WHITE test image: values that GZIP cannot shorten and a
 * quantiser would change, plus a NaN. */
static void white_rows(float *img, long w, long h)
{
    for (long i = 0; i < w * h; ++i)
        img[i] = (float)(sin((double)i * 1.7) * 1e-3 + 1.0 / (i + 3));
    img[w + 2] = NAN;
}

static void test_writer(void)
{
    char *p = path_in("white.fits"), tmp[PATH_MAX];
    pp_fits_writer w;
    pp_error err = PP_ERROR_INIT;
    enum { W = 7, H = 5 };
    float img[W * H], back[W * H];
    unsigned char mask[W * H], mback[W * H];
    const char *names[] = { "ID", "x_pix_white", "is_halo" };
    const char *forms[] = { "1PB", "1D", "1L" };
    double xs[2] = { 1.25, -3.5 };
    char halo[2] = { 0, 1 };
    int rc, nh = 0;

    white_rows(img, W, H);
    for (int i = 0; i < W * H; ++i)
        mask[i] = (unsigned char)(i % 3 == 0);
    rc = pp_fits_create(p, &w, &err);
    snprintf(tmp, sizeof tmp, "%s", w.tmp);
    rc = rc ? rc : pp_fits_write_key_string(&w, "PPFMT", "test/1", NULL,
                                            &err);
    rc = rc ? rc : pp_fits_write_key_double(&w, "ZPREF", 0.1, "mag", &err);
    rc = rc ? rc : pp_fits_write_key_double(&w, "SATURATE", NAN, NULL, &err);
    rc = rc ? rc : pp_fits_write_key_long(&w, "NSRC", -42, NULL, &err);
    rc = rc ? rc : pp_fits_write_key_bool(&w, "CROP", 1, NULL, &err);
    rc = rc ? rc : pp_fits_write_key_string(&w, "SRCFILE", "/a/very/long/"
                                            "path/that/needs/more/than/one/"
                                            "card/to/hold/it/white.fits",
                                            NULL, &err);
    /* WHITE compressed, streamed in two row blocks. */
    rc = rc ? rc : pp_fits_add_image(&w, "WHITE", FLOAT_IMG, W, H,
                                     PP_FITS_GZIP2, &err);
    rc = rc ? rc : pp_fits_write_rows(&w, 0, 3, img, &err);
    rc = rc ? rc : pp_fits_write_rows(&w, 3, 2, img + 3 * W, &err);
    rc = rc ? rc : pp_fits_write_key_long(&w, "BINFAC", 3, NULL, &err);
    rc = rc ? rc : pp_fits_add_image(&w, "SIGMA", FLOAT_IMG, W, H,
                                     PP_FITS_PLAIN, &err);
    rc = rc ? rc : pp_fits_write_rows(&w, 0, H, img, &err);
    rc = rc ? rc : pp_fits_add_image(&w, "SATANY", BYTE_IMG, W, H,
                                     PP_FITS_GZIP2, &err);
    rc = rc ? rc : pp_fits_write_rows(&w, 0, H, mask, &err);
    check(rc == PP_OK && pp_io_exists(tmp) && !pp_io_exists(p),
          "fits: while writing only the temporary file exists");
    check_int(pp_fits_write_rows(&w, 4, 2, mask, &err), ==, PP_EINTERNAL,
              "fits: rows past the image height are refused");
    {
        const char *ids[2] = { "00019", "my star, alpha" };
        rc = pp_fits_add_table(&w, "SOURCES", 3, names, forms, &err);
        for (int r = 0; rc == PP_OK && r < 2; ++r)
            rc = pp_fits_write_column(&w, 1, r + 1, (long)strlen(ids[r]),
                                      TBYTE, ids[r], &err);
        rc = rc ? rc : pp_fits_write_column(&w, 2, 1, 2, TDOUBLE, xs, &err);
        rc = rc ? rc : pp_fits_write_column(&w, 3, 1, 2, TLOGICAL, halo,
                                            &err);
    }
    rc = rc ? rc : pp_fits_commit(&w, &err);
    check(rc == PP_OK && pp_io_exists(p) && !pp_io_exists(tmp),
          "fits: commit renames the temporary file");
    if (rc != PP_OK)
        printf("# %s\n", err.msg);
    pp_fits_abort(&w);      /* no-op after commit */
    check(pp_io_exists(p), "fits: abort after commit keeps the file");

    /* Raw bytes: GZIP_2 and no quantisation, as SPEC §6.1 asks. */
    {
        size_t n = 0;
        char *raw = slurp(p, &n);
        check(raw && has_bytes(raw, n, "ZCMPTYPE= 'GZIP_2  '") &&
              has_bytes(raw, n, "ZQUANTIZ= 'NONE    '"),
              "fits: WHITE is tile-compressed GZIP_2 without quantising");
        check(raw && has_bytes(raw, n, "ZTILE1  =                    7") &&
              has_bytes(raw, n, "ZTILE2  =                    1"),
              "fits: one tile per image row");
        free(raw);
    }

    /* Read back with plain cfitsio. */
    {
        fitsfile *fp = NULL;
        int st = 0, anynul = 0, hdutype = 0, logical = 0;
        float fnul = 0;
        unsigned char bnul = 0;
        double d = 0, xb[2] = { 0, 0 };
        long l = 0, len = 0, off = 0;
        char s[200] = "", *ls = NULL, idb[32] = "", halob[2] = { 0, 0 };

        fits_open_diskfile(&fp, p, READONLY, &st);
        fits_get_num_hdus(fp, &nh, &st);
        check(st == 0 && nh == 5, "fits: primary + 3 images + 1 table");
        fits_read_key(fp, TSTRING, "PPFMT", s, NULL, &st);
        fits_read_key(fp, TDOUBLE, "ZPREF", &d, NULL, &st);
        fits_read_key(fp, TLONG, "NSRC", &l, NULL, &st);
        fits_read_key(fp, TLOGICAL, "CROP", &logical, NULL, &st);
        check(st == 0 && !strcmp(s, "test/1") && d == 0.1 && l == -42 &&
              logical == 1, "fits: primary keys of each type read back");
        fits_read_key_longstr(fp, "SRCFILE", &ls, NULL, &st);
        check(st == 0 && ls && strstr(ls, "it/white.fits"),
              "fits: a long string key survives (CONTINUE)");
        if (ls)
            fits_free_memory(ls, &st);
        {
            int found = -1;
            double v = 0;
            pp_fits_read_key_double(fp, "SATURATE", &v, &found, &err);
            check(found == 2 && isnan(v),
                  "fits: a NaN key is written as an undefined value");
        }
        fits_movabs_hdu(fp, 2, &hdutype, &st);
        fits_read_key(fp, TSTRING, "EXTNAME", s, NULL, &st);
        fits_read_img(fp, TFLOAT, 1, W * H, &fnul, back, &anynul, &st);
        check(st == 0 && !strcmp(s, "WHITE") &&
              fits_is_compressed_image(fp, &st),
              "fits: WHITE is a compressed image extension");
        check(memcmp(back, img, sizeof img) == 0,
              "fits: compressed floats are bit-identical, NaN included");
        fits_read_key(fp, TLONG, "BINFAC", &l, NULL, &st);
        check(st == 0 && l == 3, "fits: key in a compressed HDU");
        fits_movabs_hdu(fp, 3, &hdutype, &st);
        fits_read_img(fp, TFLOAT, 1, W * H, &fnul, back, &anynul, &st);
        check(st == 0 && !fits_is_compressed_image(fp, &st) &&
              memcmp(back, img, sizeof img) == 0,
              "fits: the plain SIGMA extension after a compressed one is "
              "not compressed");
        fits_movabs_hdu(fp, 4, &hdutype, &st);
        fits_read_img(fp, TBYTE, 1, W * H, &bnul, mback, &anynul, &st);
        check(st == 0 && memcmp(mback, mask, sizeof mask) == 0,
              "fits: compressed uint8 mask round trip");
        fits_movabs_hdu(fp, 5, &hdutype, &st);
        fits_read_descript(fp, 1, 2, &len, &off, &st);
        fits_read_col(fp, TBYTE, 1, 2, 1, len, &bnul, idb, &anynul, &st);
        fits_read_col(fp, TDOUBLE, 2, 1, 1, 2, &d, xb, &anynul, &st);
        fits_read_col(fp, TLOGICAL, 3, 1, 1, 2, &bnul, halob, &anynul, &st);
        check(st == 0 && hdutype == BINARY_TBL && len == 14 &&
              !memcmp(idb, "my star, alpha", 14) && xb[0] == 1.25 &&
              xb[1] == -3.5 && halob[0] == 0 && halob[1] == 1,
              "fits: table with byte-array, double and logical columns");
        fits_close_file(fp, &st);
    }

    /* The reader finds extensions by EXTNAME. */
    {
        fitsfile *fp = NULL;
        int st = 0;
        rc = fits_open_diskfile(&fp, p, READONLY, &st);
        rc = pp_fits_move_to_ext(fp, "SATANY", &err);
        rc = rc ? rc : pp_fits_read_subset_u8(fp, 0, W, 0, H, mback, &err);
        check(rc == PP_OK && memcmp(mback, mask, sizeof mask) == 0,
              "fits: move_to_ext finds a compressed extension by name");
        rc = pp_fits_move_to_ext(fp, "WHITE", &err);
        rc = rc ? rc : pp_fits_read_subset(fp, 0, W, 1, 2, back, &err);
        check(rc == PP_OK && memcmp(back, img + W, W * sizeof *img) == 0,
              "fits: read_subset of one row of a compressed float image");
        rc = pp_fits_move_to_ext(fp, "NOPE", &err);
        check(rc == PP_EDATA && strstr(err.msg, "no image extension 'NOPE'"),
              "fits: a missing extension is PP_EDATA naming it");
        pp_fits_close(fp);
    }
    free(p);
}

static void test_copy_and_abort(void)
{
    char *part = path_in("part.fits"), *p = path_in("payload.fits"),
         *bad = path_in("no/such/dir/x.fits"), tmp[PATH_MAX];
    pp_fits_writer w, pw;
    pp_error err = PP_ERROR_INIT;
    enum { W = 4, H = 3 };
    float img[W * H], back[W * H];
    int rc;

    white_rows(img, W, H);
    /* A part file holding one compressed extension. */
    rc = pp_fits_create(part, &pw, &err);
    rc = rc ? rc : pp_fits_add_image(&pw, "SCI", FLOAT_IMG, W, H,
                                     PP_FITS_GZIP2, &err);
    rc = rc ? rc : pp_fits_write_rows(&pw, 0, H, img, &err);
    rc = rc ? rc : pp_fits_write_key_string(&pw, "BAND", "m400", NULL, &err);
    rc = rc ? rc : pp_fits_commit(&pw, &err);
    /* Assemble: primary with keys, then the part's extensions twice. */
    rc = rc ? rc : pp_fits_create(p, &w, &err);
    rc = rc ? rc : pp_fits_write_key_long(&w, "NBANDS", 2, NULL, &err);
    rc = rc ? rc : pp_fits_copy_hdus(&w, part, &err);
    rc = rc ? rc : pp_fits_copy_hdus(&w, part, &err);
    rc = rc ? rc : pp_fits_commit(&w, &err);
    check_int(rc, ==, PP_OK, "fits: a file assembled from copied HDUs");
    if (rc != PP_OK)
        printf("# %s\n", err.msg);
    {
        fitsfile *fp = NULL;
        int st = 0, nh = 0, anynul = 0;
        float nul = 0;
        size_t n = 0;
        char *raw = slurp(p, &n), band[16] = "";
        fits_open_diskfile(&fp, p, READONLY, &st);
        fits_get_num_hdus(fp, &nh, &st);
        fits_movabs_hdu(fp, 3, NULL, &st);
        fits_read_key(fp, TSTRING, "BAND", band, NULL, &st);
        fits_read_img(fp, TFLOAT, 1, W * H, &nul, back, &anynul, &st);
        check(st == 0 && nh == 3 && !strcmp(band, "m400") &&
              fits_is_compressed_image(fp, &st) &&
              memcmp(back, img, sizeof img) == 0 && raw &&
              has_bytes(raw, n, "ZCMPTYPE= 'GZIP_2  '"),
              "fits: copied compressed HDUs stay compressed and intact");
        fits_close_file(fp, &st);
        free(raw);
    }

    /* Side-by-side writers: SIGMA streamed into its own temporary file,
     * then appended after WHITE (how pp-crop builds white.fits). */
    {
        pp_fits_writer side;
        char side_tmp[PATH_MAX], *sp = path_in("white.fits.SIGMA");
        rc = pp_fits_create(p, &w, &err);
        rc = rc ? rc : pp_fits_create(sp, &side, &err);
        snprintf(side_tmp, sizeof side_tmp, "%s", side.tmp);
        rc = rc ? rc : pp_fits_add_image(&w, "WHITE", FLOAT_IMG, W, H,
                                         PP_FITS_GZIP2, &err);
        rc = rc ? rc : pp_fits_add_image(&side, "SIGMA", FLOAT_IMG, W, H,
                                         PP_FITS_GZIP2, &err);
        for (int j = 0; rc == PP_OK && j < H; ++j)
            rc = pp_fits_write_rows(&w, j, 1, img + j * W, &err) ||
                 pp_fits_write_rows(&side, j, 1, img + j * W, &err);
        rc = rc ? rc : pp_fits_append_from(&w, &side, &err);
        check(rc == PP_OK && side.fp == NULL && !pp_io_exists(side_tmp) &&
              !pp_io_exists(sp),
              "fits: append_from consumes the side writer's file");
        rc = rc ? rc : pp_fits_commit(&w, &err);
        pp_fits_abort(&side);
        pp_fits_abort(&w);
        {
            fitsfile *fp = NULL;
            int st = 0, nh = 0, anynul = 0;
            float nul = 0;
            char name[16] = "";
            fits_open_diskfile(&fp, p, READONLY, &st);
            fits_get_num_hdus(fp, &nh, &st);
            fits_movabs_hdu(fp, 3, NULL, &st);
            fits_read_key(fp, TSTRING, "EXTNAME", name, NULL, &st);
            fits_read_img(fp, TFLOAT, 1, W * H, &nul, back, &anynul, &st);
            check(rc == PP_OK && st == 0 && nh == 3 &&
                  !strcmp(name, "SIGMA") &&
                  memcmp(back, img, sizeof img) == 0,
                  "fits: the appended SIGMA follows WHITE, intact");
            fits_close_file(fp, &st);
        }
        free(sp);
    }

    /* Abort removes the temporary file and never creates the target. */
    rc = pp_fits_create(p, &w, &err);
    snprintf(tmp, sizeof tmp, "%s", w.tmp);
    unlink(p);
    pp_fits_abort(&w);
    pp_fits_abort(&w);
    check(rc == PP_OK && !pp_io_exists(tmp) && !pp_io_exists(p),
          "fits: abort (twice) removes the temporary file");

    rc = pp_fits_create(bad, &w, &err);
    check(rc == PP_EIO && strstr(err.msg, "cannot create '") &&
          strstr(err.msg, "No such file or directory"),
          "fits: create in a missing directory is PP_EIO with errno text");
    pp_fits_abort(&w);
    rc = pp_fits_commit(&w, &err);
    check_int(rc, ==, PP_EINTERNAL, "fits: commit of a closed writer is "
              "refused");
    free(part);
    free(p);
    free(bad);
}

int main(void)
{
    pp_error err = PP_ERROR_INIT;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_open();
    test_keys();
    test_writer();
    test_copy_and_abort();
    pp_io_remove_tree(dir, &err);
    return tap_done();
}
