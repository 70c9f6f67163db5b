/* test_npy.c - pp_npy against the NumPy format bytes spelled out by hand
 * (numpy/lib/format.py: magic, version, uint16 LE header length, dict
 * padded with spaces and '\n' so that the data start at 64 bytes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_error.h"
#include "pp_io.h"
#include "pp_npy.h"
#include "tap.h"

static char dir[] = "/tmp/pp-test-XXXXXX";

static void put_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0) {
        printf("# cannot write %s\n", path);
        exit(1);
    }
}

/* A v1.0 file with the given dict (padded here) and raw data bytes. */
static void put_npy(const char *path, int major, const char *dict,
                    const void *data, size_t ndata)
{
    unsigned char buf[512];
    size_t pre = major == 1 ? 10 : 12, n = strlen(dict), h;

    h = n + 1;
    while ((pre + h) % 64)
        ++h;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)h;
    buf[9] = buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, n);
    memset(buf + pre + n, ' ', h - n - 1);
    buf[pre + h - 1] = '\n';
    memcpy(buf + pre + h, data, ndata);
    put_file(path, buf, pre + h + ndata);
}

static void test_exact_bytes(void)
{
    char *p = pp_io_path_join(dir, "a.npy"), *got = NULL;
    const float data[6] = { 1.0f, 2.0f, -0.5f, 0.25f, 3.0f, 100.0f };
    const long shape[2] = { 2, 3 };
    unsigned char want[128 + 24];
    size_t n = 0;
    pp_error err = PP_ERROR_INIT;
    float *back = NULL;
    long bshape[PP_NPY_MAXDIM];
    int ndim = 0, rc;
    static const char dict[] =
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    /* IEEE 754 single, little-endian: 1, 2, -0.5, 0.25, 3, 100. */
    static const unsigned char body[24] = {
        0x00, 0x00, 0x80, 0x3f,  0x00, 0x00, 0x00, 0x40,
        0x00, 0x00, 0x00, 0xbf,  0x00, 0x00, 0x80, 0x3e,
        0x00, 0x00, 0x40, 0x40,  0x00, 0x00, 0xc8, 0x42
    };

    /* magic, version 1.0, header length 118 = 0x76 (10 + 118 = 128),
     * the 59-byte dict, 58 spaces, '\n', then the data. */
    memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);
    memcpy(want + 10, dict, 59);
    memset(want + 69, ' ', 58);
    want[127] = '\n';
    memcpy(want + 128, body, 24);

    rc = pp_npy_write(p, data, 2, shape, &err);
    check_int(rc, ==, PP_OK, "npy: 2x3 array written");
    pp_io_read_file(p, &got, &n, &err);
    check_int(n, ==, sizeof want, "npy: file is 128 header + 24 data bytes");
    check(got && n == sizeof want && memcmp(got, want, n) == 0,
          "npy: bytes equal numpy's v1.0 layout spelled out by hand");
    free(got);

    rc = pp_npy_read(p, &back, &ndim, bshape, &err);
    check(rc == PP_OK && ndim == 2 && bshape[0] == 2 && bshape[1] == 3 &&
          back && memcmp(back, data, sizeof data) == 0,
          "npy: read back gives the shape and the values");
    free(back);
    free(p);
}

static void test_shapes(void)
{
    char *p = pp_io_path_join(dir, "b.npy"), *got = NULL;
    float d7[7] = { 0, 1, 2, 3, 4, 5, 6 }, d8[8], *back = NULL;
    long s1[1] = { 7 }, s3[3] = { 2, 1, 4 }, s0[2] = { 0, 3 },
         bs[PP_NPY_MAXDIM];
    pp_error err = PP_ERROR_INIT;
    size_t n = 0;
    int ndim = 0, rc;

    pp_npy_write(p, d7, 1, s1, &err);
    pp_io_read_file(p, &got, &n, &err);
    check(got && n == 128 + 28 &&
          !memcmp(got + 10, "{'descr': '<f4', 'fortran_order': False, "
                  "'shape': (7,), }", 57) && got[127] == '\n' &&
          got[8] == 118,
          "npy: a 1-D shape is written (7,)");
    free(got);
    rc = pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_OK && ndim == 1 && bs[0] == 7 && back[6] == 6.0f,
          "npy: 1-D array reads back");
    free(back);

    for (int i = 0; i < 8; ++i)
        d8[i] = (float)i / 8;
    pp_npy_write(p, d8, 3, s3, &err);
    pp_io_read_file(p, &got, &n, &err);
    check(got && strstr(got + 10, "'shape': (2, 1, 4), }"),
          "npy: a 3-D shape is written (2, 1, 4)");
    free(got);
    rc = pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_OK && ndim == 3 && bs[2] == 4 && back[7] == 7.0f / 8,
          "npy: 3-D array reads back");
    free(back);

    rc = pp_npy_write(p, NULL, 2, s0, &err);
    rc = rc ? rc : pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_OK && ndim == 2 && bs[0] == 0 && back == NULL,
          "npy: an empty (0, 3) array round trip");
    free(p);
}

static void test_other_inputs(void)
{
    char *p = pp_io_path_join(dir, "c.npy");
    pp_error err = PP_ERROR_INIT;
    float *back = NULL;
    long bs[PP_NPY_MAXDIM];
    int ndim = -1, rc;
    const double f8[3] = { 0.5, -2.0, 1e10 };
    const float f4[2] = { 1, 2 };

    /* Version 2.0 (uint32 length) with '<f8' data, keys in numpy order. */
    put_npy(p, 2, "{'descr': '<f8', 'fortran_order': False, "
            "'shape': (3,), }", f8, sizeof f8);
    rc = pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_OK && ndim == 1 && bs[0] == 3 && back[0] == 0.5f &&
          back[1] == -2.0f && back[2] == 1e10f,
          "npy: v2.0 '<f8' is read and converted to float");
    free(back);

    put_npy(p, 1, "{'descr': '<f4', 'fortran_order': True, "
            "'shape': (1, 2), }", f4, sizeof f4);
    rc = pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_EDATA && back == NULL && ndim == 0 &&
          strstr(err.msg, "c.npy': fortran_order is not False"),
          "npy: fortran_order True is refused naming the file");

    put_npy(p, 1, "{'descr': '>f4', 'fortran_order': False, "
            "'shape': (2,), }", f4, sizeof f4);
    rc = pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_EDATA && strstr(err.msg, "dtype '>f4' not supported"),
          "npy: big-endian dtype is refused");

    put_npy(p, 1, "{'descr': '<f4', 'fortran_order': False, "
            "'shape': (3,), }", f4, sizeof f4);
    rc = pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_EDATA && strstr(err.msg, "data too short: expected 3 "
                                   "values, found 2"),
          "npy: short data is PP_EDATA");

    put_file(p, "\x93NUMPZ\x01\x00\x76\x00{}", 12);
    rc = pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_EDATA && strstr(err.msg, "c.npy': not a .npy file (bad "
                                   "magic)"),
          "npy: bad magic is PP_EDATA naming the file");

    put_npy(p, 1, "{'descr': '<f4', 'fortran_order': False, "
            "'shape': (2 3), }", f4, sizeof f4);
    rc = pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_EDATA && strstr(err.msg, "bad .npy header"),
          "npy: a malformed shape is refused");
    free(p);

    p = pp_io_path_join(dir, "missing.npy");
    rc = pp_npy_read(p, &back, &ndim, bs, &err);
    check(rc == PP_EIO && strstr(err.msg, "cannot open '") &&
          strstr(err.msg, "No such file"), "npy: a missing file is PP_EIO");
    free(p);
    p = pp_io_path_join(dir, "no/dir/x.npy");
    rc = pp_npy_write(p, f4, 1, (long[]){ 2 }, &err);
    check(rc == PP_EIO && strstr(err.msg, "x.npy"),
          "npy: an unwritable path is PP_EIO");
    free(p);
}

int main(void)
{
    pp_error err = PP_ERROR_INIT;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_exact_bytes();
    test_shapes();
    test_other_inputs();
    pp_io_remove_tree(dir, &err);
    return tap_done();
}
