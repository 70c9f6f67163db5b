/* pp_table.c - an in-memory table of text cells (see pp_table.h). */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pp_log.h"
#include "pp_mem.h"
#include "pp_table.h"

/* Smallest capacities once something is stored: enough that small tables
 * do not reallocate on every row, cheap for tiny ones. */
#define TABLE_MIN_ROWS 64
#define TABLE_MIN_COLS 8
#define TABLE_MIN_ARENA 4096

/* p resized to count elements of size bytes, or NULL (p untouched).
 * With err, a failure is PP_ENOMEM naming purpose (readers of data-sized
 * input); without one (the mutators whose API has no error channel)
 * pp_xrealloc() logs and exits 1.  A size that overflows fails. */
static void *resize(void *p, size_t count, size_t size, const char *purpose,
                    pp_error *err)
{
    size_t bytes = size && count > SIZE_MAX / size ? SIZE_MAX : count * size;
    void *q;

    if (!err)
        return pp_xrealloc(p, bytes);
    q = bytes == SIZE_MAX ? NULL : realloc(p, bytes ? bytes : 1);
    if (!q)
        pp_error_set(err, PP_ENOMEM, "cannot allocate %.1f MB for %s",
                     (double)count * (double)size / 1048576.0, purpose);
    return q;
}

/* Capacity for at least need items, doubling from cur, at least min. */
static size_t grown(size_t cur, size_t need, size_t min)
{
    size_t cap = cur > min ? cur : min;

    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : 2 * cap;
    return cap;
}

/* Make room for rows 0..need-1.  Rows beyond nrows are not initialised:
 * a row is zeroed when it is added (untouched capacity costs no page). */
static int reserve_rows(pp_table *t, long need, pp_error *err)
{
    size_t cap, stride = (size_t)t->col_cap;
    void *q;

    if (need <= t->row_cap)
        return PP_OK;
    cap = grown((size_t)t->row_cap, (size_t)need, TABLE_MIN_ROWS);
    if (stride > 0) {
        q = resize(t->cells, cap, stride * sizeof *t->cells, "table cells",
                   err);
        if (!q)
            return err->code;
        t->cells = q;
    }
    /* Until lines[] follows, row_cap still describes both correctly. */
    q = resize(t->lines, cap, sizeof *t->lines, "table rows", err);
    if (!q)
        return err->code;
    t->lines = q;
    t->row_cap = (long)cap;
    return PP_OK;
}

/* Make the row stride at least ncols + 1, keeping every cell in place.
 * In rows 0..nrows-1 the slots beyond ncols are always 0, so appending a
 * column costs nothing once the stride has room. */
static void reserve_one_column(pp_table *t)
{
    size_t cap, rows = (size_t)t->row_cap, n = (size_t)t->ncols;
    size_t *cells;

    if (t->ncols < t->col_cap)
        return;
    cap = grown((size_t)t->col_cap, n + 1, TABLE_MIN_COLS);
    if (rows > 0) {
        cells = pp_xcalloc(rows, cap * sizeof *cells);
        for (size_t r = 0; t->cells && r < (size_t)t->nrows; ++r)
            memcpy(cells + r * cap, t->cells + r * (size_t)t->col_cap,
                   n * sizeof *cells);
        free(t->cells);
        t->cells = cells;
    }
    t->names = pp_xrealloc(t->names, cap * sizeof *t->names);
    t->col_cap = (int)cap;
}

/* Make room for extra more arena bytes (offset 0 reserved first). */
static int reserve_text(pp_table *t, size_t extra, pp_error *err)
{
    size_t used = t->arena_len ? t->arena_len : 1, cap;
    size_t need = extra > SIZE_MAX - used ? SIZE_MAX : used + extra;
    char *q;

    if (need <= t->arena_cap)
        return PP_OK;
    cap = grown(t->arena_cap, need, TABLE_MIN_ARENA);
    q = resize(t->arena, cap, 1, "table text", err);
    if (!q)
        return err->code;
    t->arena = q;
    t->arena_cap = cap;
    t->arena[0] = '\0';
    t->arena_len = used;
    return PP_OK;
}

/* Append len bytes plus a NUL to the arena; *off gets their offset.
 * Offset 0 is the shared empty string, reserved on first use. */
static int arena_add(pp_table *t, const char *bytes, size_t len,
                     size_t *off, pp_error *err)
{
    size_t src = 0;
    int inside = t->arena && (uintptr_t)bytes >= (uintptr_t)t->arena &&
                 (uintptr_t)bytes < (uintptr_t)(t->arena + t->arena_len);

    /* bytes may point into the arena (a pointer from pp_table_get()),
     * which realloc may move: remember it as an offset. */
    if (inside)
        src = (size_t)(bytes - t->arena);
    if (reserve_text(t, len + 1, err) != PP_OK)
        return err->code;
    if (inside)
        bytes = t->arena + src;
    *off = t->arena_len;
    memcpy(t->arena + *off, bytes, len);
    t->arena[*off + len] = '\0';
    t->arena_len += len + 1;
    return PP_OK;
}

long pp_table_nrows(const pp_table *t)
{
    return t->nrows;
}

int pp_table_ncols(const pp_table *t)
{
    return t->ncols;
}

const char *pp_table_colname(const pp_table *t, int col)
{
    return col >= 0 && col < t->ncols ? t->names[col] : NULL;
}

const char *pp_table_get(const pp_table *t, long row, int col)
{
    size_t off;

    if (row < 0 || row >= t->nrows || col < 0 || col >= t->ncols)
        return "";
    off = t->cells[(size_t)row * (size_t)t->col_cap + (size_t)col];
    return off ? t->arena + off : "";
}

long pp_table_line(const pp_table *t, long row)
{
    return row >= 0 && row < t->nrows ? t->lines[row] : 0;
}

/* The part of s without surrounding white space: *start and *len. */
static void trim_span(const char *s, const char **start, size_t *len)
{
    size_t n = strlen(s);

    while (n > 0 && isspace((unsigned char)*s)) {
        ++s;
        --n;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        --n;
    *start = s;
    *len = n;
}

/* 1 if a and b name the same column (SPEC §3.3: case-insensitive after
 * trimming; bytes beyond ASCII compare exactly). */
static int same_column(const char *a, const char *b)
{
    const char *sa, *sb;
    size_t na, nb;

    trim_span(a, &sa, &na);
    trim_span(b, &sb, &nb);
    return na == nb && strncasecmp(sa, sb, na) == 0;
}

int pp_table_find_column(const pp_table *t, const char *name,
                         const char *canonical_warn_file)
{
    for (int c = 0; c < t->ncols; ++c) {
        if (!same_column(t->names[c], name))
            continue;
        if (canonical_warn_file && strcmp(t->names[c], name) != 0)
            pp_log(PP_LOG_WARNING, "'%s': column '%s' taken as '%s' "
                   "(canonical spelling is '%s')", canonical_warn_file,
                   t->names[c], name, name);
        return c;
    }
    return -1;
}

int pp_table_add_column(pp_table *t, const char *name, int position)
{
    size_t stride;

    if (position == -1)
        position = t->ncols;
    if (position < 0 || position > t->ncols)
        return -1;
    reserve_one_column(t);
    stride = (size_t)t->col_cap;

    /* Shift the cells right of position in every row; the slot freed
     * becomes the empty cell. */
    if (position < t->ncols)
        for (size_t r = 0; r < (size_t)t->nrows; ++r) {
            size_t *row = t->cells + r * stride;
            memmove(row + position + 1, row + position,
                    (size_t)(t->ncols - position) * sizeof *row);
            row[position] = 0;
        }
    memmove(t->names + position + 1, t->names + position,
            (size_t)(t->ncols - position) * sizeof *t->names);
    t->names[position] = pp_xstrdup(name);
    ++t->ncols;
    return position;
}

int pp_table_set_bytes(pp_table *t, long row, int col, const char *bytes,
                       size_t len, pp_error *err)
{
    size_t off = 0;

    if (row < 0 || row >= t->nrows || col < 0 || col >= t->ncols)
        return pp_error_set(err, PP_EINTERNAL, "cell (%ld, %d) outside a "
                            "table of %ld x %d", row, col, t->nrows,
                            t->ncols);
    if (len > 0) {
        /* A whole string already in the arena is shared, not copied. */
        if (t->arena && (uintptr_t)bytes > (uintptr_t)t->arena &&
            (uintptr_t)bytes < (uintptr_t)(t->arena + t->arena_len) &&
            bytes[len] == '\0')
            off = (size_t)(bytes - t->arena);
        else if (arena_add(t, bytes, len, &off, err) != PP_OK)
            return err->code;
    }
    t->cells[(size_t)row * (size_t)t->col_cap + (size_t)col] = off;
    return PP_OK;
}

int pp_table_set(pp_table *t, long row, int col, const char *text)
{
    return pp_table_set_bytes(t, row, col, text ? text : "",
                              text ? strlen(text) : 0, NULL);
}

int pp_table_add_row_checked(pp_table *t, long line, long *row,
                             pp_error *err)
{
    if (reserve_rows(t, t->nrows + 1, err) != PP_OK)
        return err->code;
    if (t->col_cap > 0)
        memset(t->cells + (size_t)t->nrows * (size_t)t->col_cap, 0,
               (size_t)t->col_cap * sizeof *t->cells);
    t->lines[t->nrows] = line;
    *row = t->nrows++;
    return PP_OK;
}

long pp_table_add_row(pp_table *t)
{
    long row = -1;

    pp_table_add_row_checked(t, 0, &row, NULL);
    return row;
}

int pp_table_reserve(pp_table *t, long rows, size_t text_bytes,
                     pp_error *err)
{
    if (reserve_rows(t, rows, err) != PP_OK)
        return err->code;
    return reserve_text(t, text_bytes, err);
}

void pp_table_release(pp_table *t)
{
    for (int c = 0; c < t->ncols; ++c)
        free(t->names[c]);
    free(t->names);
    free(t->cells);
    free(t->lines);
    free(t->arena);
    memset(t, 0, sizeof *t);
}

int pp_parse_double(const char *text, double *out)
{
    const char *p = text;
    char *end;
    double v;

    while (isspace((unsigned char)*p))
        ++p;
    if (*p == '\0')
        return -1;
    v = strtod(p, &end);
    if (end == p)
        return -1;
    while (isspace((unsigned char)*end))
        ++end;
    if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

int pp_table_get_double(const pp_table *t, long row, int col,
                        const char *file, double *out, pp_error *err)
{
    const char *text = pp_table_get(t, row, col);
    const char *name = pp_table_colname(t, col);
    long line = pp_table_line(t, row);
    char where[64] = "";

    /* SPEC §3.3: only an empty field is missing. */
    *out = NAN;
    if (text[0] == '\0' || pp_parse_double(text, out) == 0)
        return PP_OK;
    *out = NAN;
    if (line > 0)
        snprintf(where, sizeof where, " (line %ld)", line);
    return pp_error_set(err, PP_EDATA, "%s: row %ld%s: column '%s': found "
                        "'%s', expected a number", file ? file : "table",
                        row + 1, where, name ? name : "?", text);
}
