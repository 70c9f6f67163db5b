/*
 * fitskey.c - set, delete or print one FITS header keyword, so that the
 * CLI tests can spoil a good image (SPEC §6.2: missing FILTER, NaN
 * ZP_AUTO, misaligned CRVAL, duplicate FILTER, ...).
 *
 *   fitskey FILE[ext] KEY VALUE [COMMENT]   set KEY (added or replaced)
 *   fitskey --delete FILE[ext] KEY          delete every KEY card
 *   fitskey --get FILE[ext] KEY             print KEY's value on stdout
 *
 * Without [ext] the first image HDU with data is used (cfitsio's
 * fits_open_image), so a tile-compressed .fits.fz works as is.
 * VALUE is typed the way a FITS card would be:
 *   an integer (-12, 20000)                 -> integer
 *   a decimal number (24.8, 1e-6, -3.5E2)   -> floating point, written
 *                                              with the fewest digits
 *                                              that read back exactly
 *   T or F                                  -> logical
 *   'text in quotes'                        -> string (quotes dropped)
 *   anything else (g, NaN, inf, abc)        -> string
 * so `fitskey g.fits ZP_AUTO NaN` writes the string 'NaN' where a number
 * is expected.  Without COMMENT an existing keyword keeps its comment.
 * --get prints strings without quotes, other values as in the card.
 * Exit status: 0 success, 1 error (message on stderr), 2 usage.
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror
 *        -Wno-unused-parameter fitskey.c
 *        $(pkg-config --cflags --libs cfitsio) -lm
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fitsio.h>

#define MAX_STRING 68            /* longest string on one card */

enum { V_INT, V_FLOAT, V_LOGICAL, V_STRING };

typedef struct {
    int type;
    long long i;
    double d;
    int logical;
    char s[FLEN_VALUE];
} fk_value;

static void
usage(FILE *f)
{
    fputs("usage: fitskey FILE[ext] KEY VALUE [COMMENT]\n"
          "       fitskey --delete FILE[ext] KEY\n"
          "       fitskey --get FILE[ext] KEY\n"
          "VALUE: integer, decimal number, T/F, 'quoted string' or bare "
          "string\n(NaN, inf and other text are written as strings)\n", f);
}

static int
fail(const char *path, const char *what, int status)
{
    char text[FLEN_STATUS];

    fits_get_errstatus(status, text);
    fprintf(stderr, "fitskey: '%s': %s: %s (cfitsio status %d)\n", path,
            what, text, status);
    return 1;
}

/* [+-]digits */
static int
is_integer(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (!*s)
        return 0;
    return strspn(s, "0123456789") == strlen(s);
}

/* [+-](digits[.digits*] | .digits)[(E|e|D|d)[+-]digits]: a FITS-style
 * decimal; "NaN", "inf" and hexadecimal are left to be strings. */
static int
is_decimal(const char *s)
{
    size_t a, b = 0;

    if (*s == '+' || *s == '-')
        s++;
    a = strspn(s, "0123456789");
    s += a;
    if (*s == '.') {
        s++;
        b = strspn(s, "0123456789");
        s += b;
    }
    if (a + b == 0)
        return 0;
    if (*s == 'E' || *s == 'e' || *s == 'D' || *s == 'd') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!*s || strspn(s, "0123456789") != strlen(s))
            return 0;
        return 1;
    }
    return *s == '\0';
}

static int
parse_value(const char *text, fk_value *v)
{
    size_t n = strlen(text);
    char buf[FLEN_VALUE], *p;

    if (n >= 2 && text[0] == '\'' && text[n - 1] == '\'') {
        if (n - 2 > MAX_STRING)
            return -1;
        v->type = V_STRING;
        memcpy(v->s, text + 1, n - 2);
        v->s[n - 2] = '\0';
        return 0;
    }
    if (!strcmp(text, "T") || !strcmp(text, "F")) {
        v->type = V_LOGICAL;
        v->logical = text[0] == 'T';
        return 0;
    }
    if (is_integer(text)) {
        errno = 0;
        v->i = strtoll(text, NULL, 10);
        if (errno == 0) {
            v->type = V_INT;
            return 0;
        }
    }
    if (is_decimal(text) && n < sizeof buf) {
        strcpy(buf, text);
        for (p = buf; *p; p++)   /* FORTRAN 'D' exponent for strtod */
            if (*p == 'D' || *p == 'd')
                *p = 'E';
        v->d = strtod(buf, NULL);
        if (isfinite(v->d)) {
            v->type = V_FLOAT;
            return 0;
        }
    }
    if (n > MAX_STRING)
        return -1;
    v->type = V_STRING;
    strcpy(v->s, text);
    return 0;
}

/* The fewest significant digits (15..17) that read back exactly. */
static int
float_digits(double d)
{
    char buf[64];
    int p;

    for (p = 15; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*G", p, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return p;
}

static int
set_key(const char *path, const char *key, const char *text,
        const char *comment)
{
    fitsfile *f = NULL;
    fk_value v;
    char old[FLEN_COMMENT] = "", val[FLEN_VALUE];
    int status = 0, cstatus = 0;

    if (parse_value(text, &v)) {
        fprintf(stderr, "fitskey: value '%s' is longer than %d characters\n",
                text, MAX_STRING);
        return 1;
    }
    if (fits_open_image(&f, path, READWRITE, &status))
        return fail(path, "cannot open", status);
    /* Keep the comment of an existing card unless a new one is given. */
    if (!comment) {
        if (fits_read_keyword(f, key, val, old, &status) == KEY_NO_EXIST)
            status = 0;
        comment = old;
    }
    if (v.type == V_INT)
        fits_update_key_lng(f, key, v.i, comment, &status);
    else if (v.type == V_FLOAT)
        fits_update_key_dbl(f, key, v.d, -float_digits(v.d), comment,
                            &status);
    else if (v.type == V_LOGICAL)
        fits_update_key_log(f, key, v.logical, comment, &status);
    else
        fits_update_key_str(f, key, v.s, comment, &status);
    if (status) {
        fits_close_file(f, &cstatus);
        return fail(path, key, status);
    }
    if (fits_close_file(f, &status))
        return fail(path, "cannot write", status);
    return 0;
}

static int
delete_key(const char *path, const char *key)
{
    fitsfile *f = NULL;
    int status = 0, cstatus = 0, n = 0;

    if (fits_open_image(&f, path, READWRITE, &status))
        return fail(path, "cannot open", status);
    while (fits_delete_key(f, key, &status) == 0)
        n++;
    if (status == KEY_NO_EXIST && n > 0)
        status = 0;
    if (status) {
        fits_close_file(f, &cstatus);
        return fail(path, key, status);
    }
    if (fits_close_file(f, &status))
        return fail(path, "cannot write", status);
    return 0;
}

static int
get_key(const char *path, const char *key)
{
    fitsfile *f = NULL;
    char val[FLEN_VALUE], str[FLEN_VALUE];
    int status = 0, cstatus = 0;

    if (fits_open_image(&f, path, READONLY, &status))
        return fail(path, "cannot open", status);
    fits_read_keyword(f, key, val, NULL, &status);
    if (!status && val[0] == '\'')
        fits_read_key_str(f, key, str, NULL, &status);
    else if (!status)
        strcpy(str, val);
    if (status) {
        fits_close_file(f, &cstatus);
        return fail(path, key, status);
    }
    if (fits_close_file(f, &status))
        return fail(path, "cannot close", status);
    printf("%s\n", str);
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "fitskey: cannot write to stdout\n");
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") ||
                      !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "--delete"))
        return delete_key(argv[2], argv[3]);
    if (argc == 4 && !strcmp(argv[1], "--get"))
        return get_key(argv[2], argv[3]);
    if ((argc == 4 || argc == 5) && argv[1][0] != '-' &&
        argv[2][0] != '-')
        return set_key(argv[1], argv[2], argv[3],
                       argc == 5 ? argv[4] : NULL);
    usage(stderr);
    return 2;
}
