/* pp_csv.c - reading and writing CSV tables (see pp_csv.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <csv.h>

#include "pp_csv.h"
#include "pp_io.h"
#include "pp_mem.h"

/* Bytes handed to libcsv per call; big enough that the call overhead
 * vanishes, small enough not to matter next to the table. */
#define CSV_CHUNK (1 << 20)

/* Options: strict quoting (also at end of file), NUL-terminated fields,
 * and every unquoted CR/LF reported, so that blank lines and the LF of a
 * CRLF still reach the row callback and the line count stays exact. */
#define CSV_READ_OPTS (CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | \
                       CSV_REPALL_NL)

/* State shared with the libcsv callbacks, which cannot fail: the first
 * error is kept in status and everything after it is ignored. */
typedef struct {
    pp_table *t;
    const char *path;
    pp_error *err;
    int status;
    long line;          /* line of the next byte the callbacks will see */
    long rec_line;      /* line where the current record starts */
    long row;           /* table row of the current record */
    int nfields;        /* fields seen so far in the current record */
    int header_done;
} csv_reader;

/* SPEC §3.3: spaces around unquoted fields are the user's text too, so
 * libcsv must treat no byte as trimmable white space. */
static int no_space(unsigned char c)
{
    (void)c;
    return 0;
}

static long count_lf(const char *s, size_t n)
{
    long lf = 0;
    const char *end = s + n;

    while (s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
        ++lf;
        ++s;
    }
    return lf;
}

/* A header field: a column, unless it repeats an earlier name. */
static void header_field(csv_reader *r, const char *s)
{
    int dup = pp_table_find_column(r->t, s, NULL);

    if (dup >= 0) {
        r->status = pp_error_set(r->err, PP_EDATA, "%s: line %ld: duplicate "
                                 "column '%s' (columns %d and %d match "
                                 "case-insensitively)", r->path,
                                 r->rec_line, s, dup + 1, r->nfields + 1);
        return;
    }
    pp_table_add_column(r->t, s, -1);
}

/* libcsv field callback: s holds n bytes (NUL-terminated). */
static void on_field(void *s, size_t n, void *data)
{
    csv_reader *r = data;
    const char *text = n ? s : "";

    if (r->status != PP_OK)
        return;
    if (r->nfields == 0)
        r->rec_line = r->line;
    r->line += count_lf(text, n);
    if (memchr(text, '\0', n)) {
        r->status = pp_error_set(r->err, PP_EDATA, "%s: line %ld: field %d "
                                 "holds a NUL byte, expected text",
                                 r->path, r->rec_line, r->nfields + 1);
        return;
    }
    if (!r->header_done)
        header_field(r, text);
    else {
        if (r->nfields == 0)
            r->status = pp_table_add_row_checked(r->t, r->rec_line, &r->row,
                                                 r->err);
        /* Extra fields are only counted; the record fails at its end. */
        if (r->status == PP_OK && r->nfields < r->t->ncols)
            r->status = pp_table_set_bytes(r->t, r->row, r->nfields, text,
                                           n, r->err);
    }
    ++r->nfields;
}

/* libcsv row callback: c is the CR or LF that ended the record, or -1 at
 * the end of the file.  With CSV_REPALL_NL a blank line (and the LF of a
 * CRLF) arrives here with no field: it is not a record. */
static void on_row(int c, void *data)
{
    csv_reader *r = data;
    int want = r->t->ncols;

    if (r->status != PP_OK)
        return;
    if (r->nfields > 0 && !r->header_done)
        r->header_done = 1;
    else if (r->nfields > 0 && r->nfields != want)
        r->status = pp_error_set(r->err, PP_EDATA, "%s: line %ld: found %d "
                                 "field%s, expected %d (the header has %d)",
                                 r->path, r->rec_line, r->nfields,
                                 r->nfields == 1 ? "" : "s", want, want);
    if (c == '\n')
        ++r->line;
    r->nfields = 0;
}

/* Feed the open file to libcsv chunk by chunk. */
static int parse_stream(FILE *fp, struct csv_parser *p, csv_reader *r)
{
    char *buf = pp_xmalloc(CSV_CHUNK);
    long lf_before = 0;
    size_t got, skip = 0, done;
    int first = 1;

    while (r->status == PP_OK && (got = fread(buf, 1, CSV_CHUNK, fp)) > 0) {
        /* A UTF-8 byte-order mark is not part of the first name. */
        skip = first && got >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0;
        first = 0;
        done = csv_parse(p, buf + skip, got - skip, on_field, on_row, r);
        if (r->status == PP_OK && done < got - skip) {
            long line = lf_before + count_lf(buf + skip, done) + 1;
            if (csv_error(p) == CSV_EPARSE)
                r->status = pp_error_set(r->err, PP_EDATA, "%s: line %ld: "
                                         "bad quoting: a '\"' inside an "
                                         "unquoted field, or text after a "
                                         "closing quote", r->path, line);
            else
                r->status = pp_error_set(r->err, PP_ENOMEM, "%s: line %ld: "
                                         "%s", r->path, line,
                                         csv_strerror(csv_error(p)));
        }
        lf_before += count_lf(buf + skip, got - skip);
    }
    if (r->status == PP_OK && ferror(fp))
        r->status = pp_error_set(r->err, PP_EIO, "cannot read '%s': %s",
                                 r->path, strerror(errno));
    free(buf);
    return r->status;
}

int pp_csv_read(const char *path, pp_table *out, pp_error *err)
{
    pp_table empty = PP_TABLE_INIT;
    struct csv_parser p;
    csv_reader r = { out, path, err, PP_OK, 1, 1, 0, 0, 0 };
    struct stat st;
    FILE *fp;
    int parser = 0;

    *out = empty;
    fp = fopen(path, "rb");
    if (!fp)
        return pp_error_set(err, PP_EIO, "cannot open '%s': %s", path,
                            strerror(errno));
    if (csv_init(&p, CSV_READ_OPTS) != 0) {
        r.status = pp_error_set(err, PP_ENOMEM, "cannot set up the CSV "
                                "parser for '%s'", path);
        goto out;
    }
    parser = 1;
    csv_set_space_func(&p, no_space);

    /* Cell text plus its NUL never outgrows the file (each NUL replaces
     * a delimiter or line end, one more for the last field), so one
     * allocation holds it all. */
    if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) &&
        (r.status = pp_table_reserve(out, 0, (size_t)st.st_size + 1,
                                     err)) != PP_OK)
        goto out;
    if (parse_stream(fp, &p, &r) != PP_OK)
        goto out;

    /* The last record may lack its line end; a quote still open is an
     * error (CSV_STRICT_FINI). */
    if (csv_fini(&p, on_field, on_row, &r) != 0 && r.status == PP_OK)
        r.status = pp_error_set(err, PP_EDATA, "%s: line %ld: quoted field "
                                "never closed, expected a closing '\"'",
                                path, r.line);
    if (r.status == PP_OK && !r.header_done)
        r.status = pp_error_set(err, PP_EDATA, "%s: empty file, expected a "
                                "header row", path);
out:
    if (parser)
        csv_free(&p);
    fclose(fp);
    if (r.status != PP_OK)
        pp_table_release(out);
    return r.status;
}

/* One field, quoted iff it holds one of RFC 4180's four special bytes,
 * or when force is set: an empty field alone on its line, which a reader
 * would take for a blank line. */
static void write_field(FILE *fp, const char *s, int force)
{
    const char *q;

    if (!force && !s[strcspn(s, ",\"\r\n")]) {
        fputs(s, fp);
        return;
    }
    putc('"', fp);
    while ((q = strchr(s, '"')) != NULL) {
        fwrite(s, 1, (size_t)(q - s) + 1, fp);
        putc('"', fp);
        s = q + 1;
    }
    fputs(s, fp);
    putc('"', fp);
}

/* The header, then every row, LF-terminated. */
static void write_rows(FILE *fp, const pp_table *t)
{
    int nc = pp_table_ncols(t);

    for (int c = 0; c < nc; ++c) {
        if (c > 0)
            putc(',', fp);
        write_field(fp, pp_table_colname(t, c), 0);
    }
    putc('\n', fp);
    for (long row = 0; row < pp_table_nrows(t) && !ferror(fp); ++row) {
        for (int c = 0; c < nc; ++c) {
            const char *s = pp_table_get(t, row, c);
            if (c > 0)
                putc(',', fp);
            write_field(fp, s, nc == 1 && s[0] == '\0');
        }
        putc('\n', fp);
    }
}

int pp_csv_write(const char *path, const pp_table *t, pp_error *err)
{
    pp_atomic a;

    if (pp_io_open_tmp(path, &a, err) != PP_OK)
        return err->code;
    write_rows(a.fp, t);
    if (ferror(a.fp)) {
        int e = errno;
        pp_io_abort(&a);
        return pp_error_set(err, PP_EIO, "cannot write '%s': %s", path,
                            strerror(e));
    }
    return pp_io_commit(&a, err);
}

const char *pp_csv_format_double(double v, char buf[32])
{
    /* SPEC §3.4: NaN and missing are an empty field. */
    if (!isfinite(v)) {
        buf[0] = '\0';
        return buf;
    }
    for (int prec = 15; prec <= 17; ++prec) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

const char *pp_csv_format_bool(int b)
{
    return b ? "True" : "False";
}

const char *pp_csv_format_long(long v, char buf[32])
{
    snprintf(buf, 32, "%ld", v);
    return buf;
}
