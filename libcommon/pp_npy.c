/* pp_npy.c - NumPy .npy arrays of float32 (pp_npy.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_io.h"
#include "pp_mem.h"
#include "pp_npy.h"

/* The NumPy format: magic, then major and minor version bytes. */
static const char NPY_MAGIC[6] = { '\x93', 'N', 'U', 'M', 'P', 'Y' };
#define NPY_PREAMBLE 10         /* magic + version + uint16 length (v1) */
#define NPY_ALIGN 64            /* numpy aligns the data to 64 bytes */
#define NPY_HEADER_MAX 65535    /* a v1.0 header length is a uint16 */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define PP_NPY_BIG_ENDIAN 1
#else
#define PP_NPY_BIG_ENDIAN 0
#endif

/* Product of the dimensions, or -1 on a negative size or overflow. */
static long element_count(int ndim, const long *shape)
{
    long n = 1;

    for (int i = 0; i < ndim; ++i) {
        if (shape[i] < 0 || (shape[i] > 0 && n > LONG_MAX / shape[i]))
            return -1;
        n *= shape[i];
    }
    return n;
}

/* ---- Writing ----------------------------------------------------------- */

/* The padded v1.0 header (dict, spaces, '\n') into buf; its length. */
static size_t make_header(int ndim, const long *shape, char *buf,
                          size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "{'descr': '<f4', "
                                "'fortran_order': False, 'shape': (");

    for (int i = 0; i < ndim; ++i)
        n += (size_t)snprintf(buf + n, size - n, "%s%ld", i ? ", " : "",
                              shape[i]);
    /* Python's repr of a 1-tuple keeps its comma: "(7,)". */
    n += (size_t)snprintf(buf + n, size - n, "%s), }", ndim == 1 ? "," : "");
    while ((NPY_PREAMBLE + n + 1) % NPY_ALIGN != 0)
        buf[n++] = ' ';
    buf[n++] = '\n';
    buf[n] = '\0';
    return n;
}

/* Write count floats as little-endian float32. */
static int write_floats(FILE *fp, const float *data, long count)
{
#if PP_NPY_BIG_ENDIAN
    for (long i = 0; i < count; ++i) {
        unsigned char b[4], s[4];
        memcpy(b, &data[i], 4);
        s[0] = b[3]; s[1] = b[2]; s[2] = b[1]; s[3] = b[0];
        if (fwrite(s, 1, 4, fp) != 4)
            return -1;
    }
    return 0;
#else
    if (count == 0)
        return 0;
    return fwrite(data, sizeof *data, (size_t)count, fp) == (size_t)count
           ? 0 : -1;
#endif
}

int pp_npy_write(const char *path, const float *data, int ndim,
                 const long *shape, pp_error *err)
{
    /* 8 dims of up to 20 digits fit easily; the rest is padding. */
    char header[512];
    unsigned char pre[NPY_PREAMBLE];
    pp_atomic a;
    long count = ndim >= 1 && ndim <= PP_NPY_MAXDIM
                 ? element_count(ndim, shape) : -1;
    size_t hlen;

    if (count < 0)
        return pp_error_set(err, PP_EINTERNAL, "'%s': bad array shape "
                            "(%d dimensions)", path, ndim);
    hlen = make_header(ndim, shape, header, sizeof header);
    memcpy(pre, NPY_MAGIC, sizeof NPY_MAGIC);
    pre[6] = 1;                         /* version 1.0 */
    pre[7] = 0;
    pre[8] = (unsigned char)(hlen & 0xff);   /* little-endian uint16 */
    pre[9] = (unsigned char)(hlen >> 8);
    if (pp_io_open_tmp(path, &a, err) != PP_OK)
        return err->code;
    if (fwrite(pre, 1, sizeof pre, a.fp) != sizeof pre ||
        fwrite(header, 1, hlen, a.fp) != hlen ||
        write_floats(a.fp, data, count) != 0) {
        int e = errno;
        pp_io_abort(&a);
        return pp_error_set(err, PP_EIO, "cannot write '%s': %s", path,
                            strerror(e));
    }
    return pp_io_commit(&a, err);
}

/* ---- Reading ----------------------------------------------------------- */

/* Position just after the value separator of key in the header dict
 * ('key': or "key":), or NULL. */
static const char *find_key(const char *hdr, const char *key)
{
    char q1[40], q2[40];
    const char *p;

    snprintf(q1, sizeof q1, "'%s'", key);
    snprintf(q2, sizeof q2, "\"%s\"", key);
    if (!(p = strstr(hdr, q1)) && !(p = strstr(hdr, q2)))
        return NULL;
    p += strlen(q1);
    while (isspace((unsigned char)*p))
        ++p;
    if (*p != ':')
        return NULL;
    ++p;
    while (isspace((unsigned char)*p))
        ++p;
    return p;
}

/* The quoted descr value into out ("<f4"); 0 or -1. */
static int parse_descr(const char *hdr, char *out, size_t n)
{
    const char *p = find_key(hdr, "descr"), *end;

    if (!p || (*p != '\'' && *p != '"') || !(end = strchr(p + 1, *p)) ||
        (size_t)(end - p - 1) >= n)
        return -1;
    memcpy(out, p + 1, (size_t)(end - p - 1));
    out[end - p - 1] = '\0';
    return 0;
}

/* The shape tuple "(a, b, )"; 0 or -1. */
static int parse_shape(const char *hdr, int *ndim, long *shape)
{
    const char *p = find_key(hdr, "shape");
    char *end;

    *ndim = 0;
    if (!p || *p++ != '(')
        return -1;
    for (;;) {
        while (isspace((unsigned char)*p))
            ++p;
        if (*p == ')')
            return 0;
        if (!isdigit((unsigned char)*p) || *ndim == PP_NPY_MAXDIM)
            return -1;
        errno = 0;
        shape[(*ndim)++] = strtol(p, &end, 10);
        if (errno != 0)
            return -1;
        p = end;
        if (*p == 'L')                  /* Python 2 long */
            ++p;
        while (isspace((unsigned char)*p))
            ++p;
        if (*p == ',')
            ++p;
        else if (*p != ')')
            return -1;
    }
}

/* Read the preamble and header text (new memory in *hdr). */
static int read_header(FILE *fp, const char *path, char **hdr, pp_error *err)
{
    unsigned char pre[12];
    size_t hlen;

    *hdr = NULL;
    if (fread(pre, 1, 8, fp) != 8 || memcmp(pre, NPY_MAGIC, 6) != 0)
        return pp_error_set(err, PP_EDATA, "'%s': not a .npy file (bad "
                            "magic)", path);
    if (pre[6] == 1) {
        if (fread(pre + 8, 1, 2, fp) != 2)
            return pp_error_set(err, PP_EDATA, "'%s': truncated header",
                                path);
        hlen = pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 8, 1, 4, fp) != 4)
            return pp_error_set(err, PP_EDATA, "'%s': truncated header",
                                path);
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
               (size_t)pre[11] << 24;
        if (hlen > 1 << 20)
            return pp_error_set(err, PP_EDATA, "'%s': header of %zu bytes "
                                "is too long", path, hlen);
    } else {
        return pp_error_set(err, PP_EDATA, "'%s': .npy version %d.%d not "
                            "supported (1.0, 2.0 or 3.0)", path, pre[6],
                            pre[7]);
    }
    *hdr = pp_xmalloc(hlen + 1);
    if (fread(*hdr, 1, hlen, fp) != hlen) {
        free(*hdr);
        *hdr = NULL;
        return pp_error_set(err, PP_EDATA, "'%s': truncated header", path);
    }
    (*hdr)[hlen] = '\0';
    return PP_OK;
}

/* Check the header dict; *itemsize 4 ('<f4') or 8 ('<f8'). */
static int check_header(const char *hdr, const char *path, int *ndim,
                        long *shape, int *itemsize, pp_error *err)
{
    char descr[32];
    const char *fo = find_key(hdr, "fortran_order");

    if (hdr[0] != '{' || parse_descr(hdr, descr, sizeof descr) != 0 || !fo ||
        parse_shape(hdr, ndim, shape) != 0)
        return pp_error_set(err, PP_EDATA, "'%s': bad .npy header '%.80s'",
                            path, hdr);
    if (strncmp(fo, "False", 5) != 0)
        return pp_error_set(err, PP_EDATA, "'%s': fortran_order is not "
                            "False: only C-order arrays are supported",
                            path);
    if (strcmp(descr, "<f4") == 0)
        *itemsize = 4;
    else if (strcmp(descr, "<f8") == 0)
        *itemsize = 8;
    else
        return pp_error_set(err, PP_EDATA, "'%s': dtype '%s' not supported, "
                            "expected '<f4' or '<f8'", path, descr);
    return PP_OK;
}

/* Reverse the byte order of n items of size bytes (big-endian hosts). */
static void swap_bytes(unsigned char *p, long n, int size)
{
    for (long i = 0; i < n; ++i, p += size)
        for (int k = 0; k < size / 2; ++k) {
            unsigned char t = p[k];
            p[k] = p[size - 1 - k];
            p[size - 1 - k] = t;
        }
}

/* Read count little-endian items of itemsize bytes into floats: '<f4'
 * straight into out, '<f8' through a small buffer. */
static int read_data(FILE *fp, const char *path, long count, int itemsize,
                     float *out, pp_error *err)
{
    double buf[512];
    long done = 0, got;
    unsigned char extra;

    while (done < count) {
        long want = itemsize == 4 ? count - done
                    : (count - done < 512 ? count - done : 512);
        void *dst = itemsize == 4 ? (void *)(out + done) : (void *)buf;
        got = (long)fread(dst, (size_t)itemsize, (size_t)want, fp);
        if (PP_NPY_BIG_ENDIAN)
            swap_bytes(dst, got, itemsize);
        for (long i = 0; itemsize == 8 && i < got; ++i)
            out[done + i] = (float)buf[i];
        done += got;
        if (got < want)
            return pp_error_set(err, PP_EDATA, "'%s': data too short: "
                                "expected %ld values, found %ld", path,
                                count, done);
    }
    if (fread(&extra, 1, 1, fp) == 1)
        return pp_error_set(err, PP_EDATA, "'%s': data longer than the "
                            "shape says (%ld values)", path, count);
    return PP_OK;
}

int pp_npy_read(const char *path, float **data, int *ndim,
                long shape[PP_NPY_MAXDIM], pp_error *err)
{
    FILE *fp;
    char *hdr = NULL;
    float *buf = NULL;
    long count;
    int itemsize = 0, rc;

    *data = NULL;
    *ndim = 0;
    if (!(fp = fopen(path, "rb")))
        return pp_error_set(err, PP_EIO, "cannot open '%s': %s", path,
                            strerror(errno));
    if ((rc = read_header(fp, path, &hdr, err)) != PP_OK ||
        (rc = check_header(hdr, path, ndim, shape, &itemsize, err)) != PP_OK)
        goto out;
    if ((count = element_count(*ndim, shape)) < 0) {
        rc = pp_error_set(err, PP_EDATA, "'%s': bad shape", path);
        goto out;
    }
    if (count > 0 && !(buf = pp_malloc_checked((size_t)count, sizeof *buf,
                                               "a .npy array", err))) {
        rc = err->code;
        goto out;
    }
    rc = read_data(fp, path, count, itemsize, buf, err);
    if (rc == PP_OK && ferror(fp))
        rc = pp_error_set(err, PP_EIO, "cannot read '%s': %s", path,
                          strerror(errno));
out:
    fclose(fp);
    free(hdr);
    if (rc != PP_OK) {
        free(buf);
        *ndim = 0;
        return rc;
    }
    *data = buf;
    return PP_OK;
}
