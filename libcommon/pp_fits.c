/* pp_fits.c - FITS images, header keys and atomic writers (pp_fits.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fitsio.h>

#include "pp_fits.h"
#include "pp_io.h"

/* cfitsio's one-line status text ("keyword not found in header"). */
static const char *status_text(int status, char buf[FLEN_STATUS])
{
    fits_get_errstatus(status, buf);
    return buf;
}

/* Set err to "'<path>': <what>: <status text>" and return code. */
static int fail(pp_error *err, int code, const char *path, int status,
                const char *what)
{
    char text[FLEN_STATUS];

    return pp_error_set(err, code, "'%s': %s: %s", path, what,
                        status_text(status, text));
}

/* The file name of an open handle, for messages. */
static const char *file_name(fitsfile *fp, char buf[FLEN_FILENAME])
{
    int status = 0;

    if (fits_file_name(fp, buf, &status) != 0)
        snprintf(buf, FLEN_FILENAME, "(unknown file)");
    return buf;
}

/* ---- Reading images ---------------------------------------------------- */

/* 1 if the current HDU is a 2-D image with data (SPEC §5.3). */
static int is_2d_image(fitsfile *fp)
{
    int status = 0, type = 0, bitpix = 0, naxis = 0;
    long naxes[2] = { 0, 0 };

    if (fits_get_hdu_type(fp, &type, &status) != 0 || type != IMAGE_HDU)
        return 0;
    if (fits_get_img_param(fp, 2, &bitpix, &naxis, naxes, &status) != 0)
        return 0;
    return naxis == 2 && naxes[0] > 0 && naxes[1] > 0;
}

int pp_fits_open_image(const char *path, fitsfile **fp, int *hdu,
                       pp_error *err)
{
    fitsfile *f = NULL;
    int status = 0, nhdu = 0;
    char text[FLEN_STATUS];

    *fp = NULL;
    *hdu = 0;
    /* cfitsio's own text for a missing file is vague; errno is not. */
    if (access(path, R_OK) != 0)
        return pp_error_set(err, PP_EIO, "cannot open '%s': %s", path,
                            strerror(errno));
    if (fits_open_diskfile(&f, path, READONLY, &status) != 0 ||
        fits_get_num_hdus(f, &nhdu, &status) != 0) {
        if (f) {
            int st = 0;
            fits_close_file(f, &st);
        }
        /* A short or foreign file fails in these ways; say what it is. */
        if (status == END_OF_FILE || status == READ_ERROR ||
            status == NO_SIMPLE || status == UNKNOWN_REC)
            return pp_error_set(err, PP_EIO, "cannot open '%s': not a FITS "
                                "file (%s)", path,
                                status_text(status, text));
        return pp_error_set(err, PP_EIO, "cannot open '%s': %s", path,
                            status_text(status, text));
    }
    /* The primary HDU first, then the extensions in order. */
    for (int k = 1; k <= nhdu; ++k) {
        if (fits_movabs_hdu(f, k, NULL, &status) != 0)
            break;
        if (is_2d_image(f)) {
            *fp = f;
            *hdu = k;
            return PP_OK;
        }
    }
    pp_fits_close(f);
    if (status != 0)
        return fail(err, PP_EIO, path, status, "cannot read HDUs");
    return pp_error_set(err, PP_EDATA, "'%s': no 2-D image HDU with data",
                        path);
}

int pp_fits_open_hdu(const char *path, int hdu0, fitsfile **fp,
                     pp_error *err)
{
    int status = 0, type;
    char msg[FLEN_STATUS];

    *fp = NULL;
    if (fits_open_diskfile(fp, path, READONLY, &status) == 0 &&
        fits_movabs_hdu(*fp, hdu0 + 1, &type, &status) == 0)
        return PP_OK;
    fits_get_errstatus(status, msg);
    pp_fits_close(*fp);
    *fp = NULL;
    return pp_error_set(err, PP_EIO, "cannot open '%s' at HDU %d "
                        "(frames.json, 0-based): %s", path, hdu0, msg);
}

void pp_fits_close(fitsfile *fp)
{
    int status = 0;

    if (fp)
        fits_close_file(fp, &status);
}

int pp_fits_move_to_ext(fitsfile *fp, const char *extname, pp_error *err)
{
    int status = 0;
    char name[FLEN_FILENAME];

    /* IMAGE_HDU matches tile-compressed images too. */
    if (fits_movnam_hdu(fp, IMAGE_HDU, (char *)extname, 0, &status) == 0)
        return PP_OK;
    if (status == BAD_HDU_NUM)
        return pp_error_set(err, PP_EDATA, "'%s': no image extension '%s'",
                            file_name(fp, name), extname);
    return fail(err, PP_EIO, file_name(fp, name), status,
                "cannot read HDUs");
}

int pp_fits_image_size(fitsfile *fp, long *width, long *height,
                       pp_error *err)
{
    int status = 0, bitpix = 0, naxis = 0;
    long naxes[2] = { 0, 0 };
    char name[FLEN_FILENAME];

    *width = *height = 0;
    if (fits_get_img_param(fp, 2, &bitpix, &naxis, naxes, &status) != 0)
        return fail(err, PP_EIO, file_name(fp, name), status,
                    "cannot read image size");
    if (naxis != 2)
        return pp_error_set(err, PP_EDATA, "'%s': NAXIS = %d, expected a "
                            "2-D image", file_name(fp, name), naxis);
    *width = naxes[0];
    *height = naxes[1];
    return PP_OK;
}

/* Check that [x0,x1) x [y0,y1) is a non-empty box inside the image and
 * fill cfitsio's 1-based inclusive corners. */
static int check_box(fitsfile *fp, long x0, long x1, long y0, long y1,
                     long fpix[2], long lpix[2], pp_error *err)
{
    long w, h;
    char name[FLEN_FILENAME];

    if (pp_fits_image_size(fp, &w, &h, err) != PP_OK)
        return err->code;
    if (x0 < 0 || y0 < 0 || x1 <= x0 || y1 <= y0 || x1 > w || y1 > h)
        return pp_error_set(err, PP_EINTERNAL, "'%s': box [%ld,%ld) x "
                            "[%ld,%ld) is empty or outside the %ld x %ld "
                            "image", file_name(fp, name), x0, x1, y0, y1,
                            w, h);
    /* SPEC §3.1: cfitsio's pixel = ours + 1; lpix is inclusive. */
    fpix[0] = x0 + 1;
    fpix[1] = y0 + 1;
    lpix[0] = x1;
    lpix[1] = y1;
    return PP_OK;
}

int pp_fits_read_subset(fitsfile *fp, long x0, long x1, long y0, long y1,
                        float *out, pp_error *err)
{
    long fpix[2], lpix[2], inc[2] = { 1, 1 };
    float nulval = NAN;         /* BLANK pixels read as NAN */
    int anynul = 0, status = 0, bitpix = 0;
    char name[FLEN_FILENAME];

    if (check_box(fp, x0, x1, y0, y1, fpix, lpix, err) != PP_OK)
        return err->code;
    /* Floating-point pixels keep their NaNs without cfitsio's per-pixel
     * null test, which costs as much as the read itself; integer images
     * need it to turn BLANK into NAN. */
    fits_get_img_type(fp, &bitpix, &status);
    if (fits_read_subset(fp, TFLOAT, fpix, lpix, inc,
                         bitpix < 0 ? NULL : &nulval, out,
                         &anynul, &status) != 0)
        return fail(err, PP_EIO, file_name(fp, name), status,
                    "cannot read pixels");
    return PP_OK;
}

int pp_fits_read_subset_u8(fitsfile *fp, long x0, long x1, long y0, long y1,
                           unsigned char *out, pp_error *err)
{
    long fpix[2], lpix[2], inc[2] = { 1, 1 };
    unsigned char nulval = 0;   /* 0: no null checking */
    int anynul = 0, status = 0;
    char name[FLEN_FILENAME];

    if (check_box(fp, x0, x1, y0, y1, fpix, lpix, err) != PP_OK)
        return err->code;
    if (fits_read_subset(fp, TBYTE, fpix, lpix, inc, &nulval, out,
                         &anynul, &status) != 0)
        return fail(err, PP_EIO, file_name(fp, name), status,
                    "cannot read mask pixels");
    return PP_OK;
}

/* ---- Header keys ------------------------------------------------------- */

/* The raw value text of key: PP_OK with *found 0 (absent) or 1. */
static int raw_value(fitsfile *fp, const char *key, char val[FLEN_VALUE],
                     int *found, pp_error *err)
{
    int status = 0;
    char name[FLEN_FILENAME], what[FLEN_KEYWORD + 32];

    val[0] = '\0';
    *found = 0;
    if (fits_read_keyword(fp, key, val, NULL, &status) == 0) {
        *found = 1;
        return PP_OK;
    }
    if (status == KEY_NO_EXIST)
        return PP_OK;
    snprintf(what, sizeof what, "cannot read keyword '%s'", key);
    return fail(err, PP_EIO, file_name(fp, name), status, what);
}

/* A string value without quotes (CONTINUE cards joined), new memory to
 * release with fits_free_memory(); NULL with *status set on failure. */
static char *string_value(fitsfile *fp, const char *key, int *status)
{
    char *s = NULL;

    if (fits_read_key_longstr(fp, key, &s, NULL, status) != 0) {
        if (s)
            fits_free_memory(s, status);
        return NULL;
    }
    return s;
}

int pp_fits_read_key_string(fitsfile *fp, const char *key, char *out,
                            size_t n, int *found, pp_error *err)
{
    char val[FLEN_VALUE], name[FLEN_FILENAME], *s;
    int status = 0, rc;
    size_t len;

    out[0] = '\0';
    if ((rc = raw_value(fp, key, val, found, err)) != PP_OK || !*found)
        return rc;
    if (val[0] == '\0') {           /* undefined value */
        *found = 2;
        return PP_OK;
    }
    if (val[0] != '\'') {           /* a number or logical: its text */
        s = val;
    } else if (!(s = string_value(fp, key, &status))) {
        char what[FLEN_KEYWORD + 32];
        snprintf(what, sizeof what, "cannot read keyword '%s'", key);
        return fail(err, PP_EIO, file_name(fp, name), status, what);
    }
    /* cfitsio keeps trailing blanks of long strings; drop them. */
    len = strlen(s);
    while (len > 0 && s[len - 1] == ' ')
        --len;
    if (len >= n) {
        if (s != val)
            fits_free_memory(s, &status);
        return pp_error_set(err, PP_EDATA, "'%s': keyword '%s': value "
                            "longer than %zu characters",
                            file_name(fp, name), key, n - 1);
    }
    memcpy(out, s, len);
    out[len] = '\0';
    if (s != val)
        fits_free_memory(s, &status);
    return PP_OK;
}

int pp_fits_read_key_double(fitsfile *fp, const char *key, double *out,
                            int *found, pp_error *err)
{
    char val[FLEN_VALUE], type = 0, name[FLEN_FILENAME];
    int status = 0, rc;

    *out = NAN;
    if ((rc = raw_value(fp, key, val, found, err)) != PP_OK || !*found)
        return rc;
    /* Only an unquoted integer or real is a number; 'NaN', T, ( , ) and
     * an undefined value are "present but invalid" (found = 2). */
    if (val[0] == '\0' || fits_get_keytype(val, &type, &status) != 0 ||
        (type != 'I' && type != 'F')) {
        *found = 2;
        return PP_OK;
    }
    if (fits_read_key(fp, TDOUBLE, key, out, NULL, &status) != 0) {
        char what[FLEN_KEYWORD + 32];
        snprintf(what, sizeof what, "cannot read keyword '%s'", key);
        *out = NAN;
        return fail(err, PP_EIO, file_name(fp, name), status, what);
    }
    return PP_OK;
}

int pp_fits_read_key_text(fitsfile *fp, const char *key, char *out,
                          size_t n, pp_error *err)
{
    char val[FLEN_VALUE], *s = NULL;
    int status = 0, rc, found = 0;
    size_t len;

    if (n > 0)
        out[0] = '\0';
    if ((rc = raw_value(fp, key, val, &found, err)) != PP_OK || !found)
        return rc;
    if (val[0] == '\'' && (s = string_value(fp, key, &status)) != NULL) {
        snprintf(out, n, "%s", s);
        fits_free_memory(s, &status);
    } else {
        snprintf(out, n, "%s", val);
    }
    len = strlen(out);
    while (len > 0 && out[len - 1] == ' ')
        out[--len] = '\0';
    return PP_OK;
}

/* ---- Writing ----------------------------------------------------------- */

/* "cannot write '<path>': <what>: <status text>". */
static int write_fail(pp_fits_writer *w, int status, const char *what,
                      pp_error *err)
{
    char text[FLEN_STATUS];

    return pp_error_set(err, PP_EIO, "cannot write '%s': %s: %s", w->path,
                        what, status_text(status, text));
}

/* Create the temporary file with a primary HDU of the given shape. */
static int create_file(const char *path, pp_fits_writer *w, int bitpix,
                       int naxis, long *naxes, pp_error *err)
{
    int status = 0, fd;

    memset(w, 0, sizeof *w);
    if (snprintf(w->path, sizeof w->path, "%s", path) >= PATH_MAX)
        return pp_error_set(err, PP_EIO, "path too long: '%s'", path);
    if (pp_io_tmp_name(path, w->tmp, err) != PP_OK) {
        w->tmp[0] = '\0';
        return err->code;
    }
    /* Probe with open(2) so that a failure names errno's reason; this
     * also clears a stale temporary file, which cfitsio would refuse. */
    fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        int e = errno;
        w->tmp[0] = '\0';
        return pp_error_set(err, PP_EIO, "cannot create '%s': %s", path,
                            strerror(e));
    }
    close(fd);
    unlink(w->tmp);
    if (fits_create_diskfile(&w->fp, w->tmp, &status) != 0) {
        w->fp = NULL;
        w->tmp[0] = '\0';
        return write_fail(w, status, "cannot create the file", err);
    }
    if (fits_create_img(w->fp, bitpix, naxis, naxes, &status) != 0) {
        write_fail(w, status, "cannot create the primary HDU", err);
        pp_fits_abort(w);
        return PP_EIO;
    }
    return PP_OK;
}

int pp_fits_create(const char *path, pp_fits_writer *w, pp_error *err)
{
    return create_file(path, w, BYTE_IMG, 0, NULL, err);
}

int pp_fits_create_image(const char *path, pp_fits_writer *w, int bitpix,
                         long width, long height, pp_error *err)
{
    long naxes[2] = { width, height };

    memset(w, 0, sizeof *w);
    if ((bitpix != FLOAT_IMG && bitpix != BYTE_IMG) || width <= 0 ||
        height <= 0)
        return pp_error_set(err, PP_EINTERNAL, "'%s': bad image request "
                            "(bitpix %d, %ld x %ld)", path, bitpix, width,
                            height);
    return create_file(path, w, bitpix, 2, naxes, err);
}

int pp_fits_add_image(pp_fits_writer *w, const char *extname, int bitpix,
                      long width, long height, int compress, pp_error *err)
{
    long naxes[2] = { width, height };
    long tile[2] = { width, 1 };    /* one row: each row block whole tiles */
    int status = 0;

    if ((bitpix != FLOAT_IMG && bitpix != BYTE_IMG) || width <= 0 ||
        height <= 0 || (compress != PP_FITS_PLAIN &&
                        compress != PP_FITS_GZIP2))
        return pp_error_set(err, PP_EINTERNAL, "'%s': bad image request "
                            "(bitpix %d, %ld x %ld, compress %d)", w->path,
                            bitpix, width, height, compress);
    /* SPEC §6.1, §9.3: GZIP_2, quantize level 0 = no quantisation, so
     * floats (NaN included) are stored losslessly. */
    if (compress == PP_FITS_GZIP2 &&
        (fits_set_compression_type(w->fp, GZIP_2, &status) != 0 ||
         fits_set_tile_dim(w->fp, 2, tile, &status) != 0 ||
         fits_set_quantize_level(w->fp, 0.0f, &status) != 0))
        return write_fail(w, status, "cannot set compression", err);
    fits_create_img(w->fp, bitpix, 2, naxes, &status);
    /* The request is per file: clear it so that later images, tables and
     * copied HDUs are not compressed by surprise. */
    if (compress == PP_FITS_GZIP2) {
        int st = 0;
        fits_set_compression_type(w->fp, 0, &st);
        if (status == 0)
            status = st;
    }
    if (status != 0)
        return write_fail(w, status, "cannot create an image extension",
                          err);
    if (extname && fits_update_key_str(w->fp, "EXTNAME", (char *)extname,
                                       "extension name", &status) != 0)
        return write_fail(w, status, "cannot write EXTNAME", err);
    return PP_OK;
}

int pp_fits_write_rows(pp_fits_writer *w, long y0, long ny, const void *rows,
                       pp_error *err)
{
    long naxes[2] = { 0, 0 };
    int status = 0, bitpix = 0, naxis = 0;

    if (fits_get_img_param(w->fp, 2, &bitpix, &naxis, naxes, &status) != 0)
        return write_fail(w, status, "cannot read image size", err);
    if (naxis != 2 || (bitpix != FLOAT_IMG && bitpix != BYTE_IMG) ||
        y0 < 0 || ny <= 0 || y0 + ny > naxes[1])
        return pp_error_set(err, PP_EINTERNAL, "'%s': rows %ld..%ld do not "
                            "fit the current image (NAXIS %d, BITPIX %d, "
                            "height %ld)", w->path, y0, y0 + ny - 1, naxis,
                            bitpix, naxes[1]);
    /* cfitsio's first element is 1-based (SPEC §3.1). */
    if (fits_write_img(w->fp, bitpix == FLOAT_IMG ? TFLOAT : TBYTE,
                       (LONGLONG)y0 * naxes[0] + 1,
                       (LONGLONG)ny * naxes[0], (void *)rows, &status) != 0)
        return write_fail(w, status, "cannot write pixels", err);
    return PP_OK;
}

/* Report a failed key write naming the key. */
static int key_fail(pp_fits_writer *w, const char *key, int status,
                    pp_error *err)
{
    char what[FLEN_KEYWORD + 32];

    snprintf(what, sizeof what, "cannot write keyword '%s'", key);
    return write_fail(w, status, what, err);
}

int pp_fits_write_key_double(pp_fits_writer *w, const char *key, double v,
                             const char *comment, pp_error *err)
{
    int status = 0;
    char *c = (char *)(comment ? comment : "");

    /* FITS has no NaN literal: an undefined value says "no number". */
    if (!isfinite(v))
        fits_update_key_null(w->fp, key, c, &status);
    else
        fits_update_key_dbl(w->fp, key, v, -17, c, &status);
    return status ? key_fail(w, key, status, err) : PP_OK;
}

int pp_fits_write_key_long(pp_fits_writer *w, const char *key, long v,
                           const char *comment, pp_error *err)
{
    int status = 0;

    fits_update_key_lng(w->fp, key, v, (char *)(comment ? comment : ""),
                        &status);
    return status ? key_fail(w, key, status, err) : PP_OK;
}

int pp_fits_write_key_string(pp_fits_writer *w, const char *key,
                             const char *v, const char *comment,
                             pp_error *err)
{
    int status = 0;
    char *c = (char *)(comment ? comment : "");

    /* 68 characters fit one card; longer ones need CONTINUE cards. */
    if (strlen(v) > 68)
        fits_update_key_longstr(w->fp, key, (char *)v, c, &status);
    else
        fits_update_key_str(w->fp, key, (char *)v, c, &status);
    return status ? key_fail(w, key, status, err) : PP_OK;
}

int pp_fits_write_key_bool(pp_fits_writer *w, const char *key, int v,
                           const char *comment, pp_error *err)
{
    int status = 0;

    fits_update_key_log(w->fp, key, v ? 1 : 0,
                        (char *)(comment ? comment : ""), &status);
    return status ? key_fail(w, key, status, err) : PP_OK;
}

int pp_fits_copy_hdus(pp_fits_writer *w, const char *src_path,
                      pp_error *err)
{
    fitsfile *src = NULL;
    int status = 0, nhdu = 0, st = 0;

    if (fits_open_diskfile(&src, src_path, READONLY, &status) != 0 ||
        fits_get_num_hdus(src, &nhdu, &status) != 0) {
        char text[FLEN_STATUS];
        pp_fits_close(src);
        return pp_error_set(err, PP_EIO, "cannot open '%s': %s", src_path,
                            status_text(status, text));
    }
    for (int k = 2; k <= nhdu && status == 0; ++k)
        if (fits_movabs_hdu(src, k, NULL, &status) == 0)
            fits_copy_hdu(src, w->fp, 0, &status);
    fits_close_file(src, &st);
    if (status != 0) {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof what, "cannot copy HDUs of '%s'", src_path);
        return write_fail(w, status, what, err);
    }
    return PP_OK;
}

int pp_fits_append_from(pp_fits_writer *w, pp_fits_writer *src,
                        pp_error *err)
{
    int status = 0, rc;

    if (!src->fp) {
        pp_fits_abort(src);
        return pp_error_set(err, PP_EINTERNAL, "append from '%s' that is "
                            "not open", src->path);
    }
    /* Closing flushes cfitsio's buffers (and the last compressed tiles)
     * to the temporary file, which is then read like any FITS file. */
    fits_close_file(src->fp, &status);
    src->fp = NULL;
    if (status != 0) {
        rc = write_fail(src, status, "cannot close the file", err);
        pp_fits_abort(src);
        return rc;
    }
    rc = pp_fits_copy_hdus(w, src->tmp, err);
    pp_fits_abort(src);
    return rc;
}

int pp_fits_add_table(pp_fits_writer *w, const char *extname, int ncols,
                      const char *const *names, const char *const *tforms,
                      pp_error *err)
{
    int status = 0;

    if (fits_create_tbl(w->fp, BINARY_TBL, 0, ncols, (char **)names,
                        (char **)tforms, NULL, (char *)extname,
                        &status) != 0)
        return write_fail(w, status, "cannot create a binary table", err);
    return PP_OK;
}

int pp_fits_write_column(pp_fits_writer *w, int col, long firstrow,
                         long nrows, int datatype, const void *data,
                         pp_error *err)
{
    int status = 0;
    char what[64];

    if (fits_write_col(w->fp, datatype, col, firstrow, 1, nrows,
                       (void *)data, &status) != 0) {
        snprintf(what, sizeof what, "cannot write table column %d", col);
        return write_fail(w, status, what, err);
    }
    return PP_OK;
}

int pp_fits_commit(pp_fits_writer *w, pp_error *err)
{
    int status = 0, rc;

    if (!w->fp)
        return pp_error_set(err, PP_EINTERNAL, "commit of '%s' that is not "
                            "open", w->path);
    fits_close_file(w->fp, &status);
    w->fp = NULL;
    if (status != 0) {
        unlink(w->tmp);
        w->tmp[0] = '\0';
        return write_fail(w, status, "cannot close the file", err);
    }
    rc = pp_io_commit_path(w->tmp, w->path, err);
    w->tmp[0] = '\0';
    return rc;
}

void pp_fits_abort(pp_fits_writer *w)
{
    int status = 0;

    if (w->fp)
        fits_close_file(w->fp, &status);
    w->fp = NULL;
    if (w->tmp[0])
        unlink(w->tmp);
    w->tmp[0] = '\0';
}
