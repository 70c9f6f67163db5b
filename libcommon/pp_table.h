/* pp_table.h - an in-memory table of text cells.
 *
 * A pp_table is a rectangle of nrows x ncols cells, each holding the exact
 * bytes the user wrote (SPEC §3.3: input cells are preserved byte for
 * byte; no number is re-formatted and no "NA" token is guessed).  The one
 * notion of "missing" is the empty cell "".  Numbers are parsed on demand
 * with pp_table_get_double(), which says where a bad cell came from.
 *
 * Invariants and ownership:
 *   - Cells are row-major.  Their text lives in one growing arena of
 *     NUL-terminated strings addressed by offsets, so a table of 100 000
 *     rows x 30 columns costs a few allocations, not one per cell.  Setting
 *     a cell appends its text to the arena (the old text stays as garbage
 *     until pp_table_release()).
 *   - Pointers returned by pp_table_get() and pp_table_colname() are
 *     borrowed: valid until the next call that changes the table
 *     (set, add_row, add_column, release).  Passing such a pointer back to
 *     pp_table_set() is safe.
 *   - Each row remembers the file line where its record started (set by
 *     pp_csv_read(); 0 for rows added in memory), for error messages.
 *   - Column names are kept exactly as written; lookups compare them
 *     case-insensitively after trimming white space (SPEC §3.3).
 *   - The caller owns the table: start from PP_TABLE_INIT (or a successful
 *     pp_csv_read()) and end with pp_table_release().
 *   - The mutators (set, add_row, add_column) have no error channel: when
 *     memory runs out they log and exit 1, as pp_xmalloc() does.
 *     pp_csv_read() instead returns PP_ENOMEM.
 *
 * Row and column indices are 0-based; messages show 1-based data rows.
 */
#ifndef PP_TABLE_H
#define PP_TABLE_H

#include <stddef.h>

#include "pp_error.h"

typedef struct pp_table {
    int ncols;          /* columns in use */
    int col_cap;        /* row stride of cells[] (>= ncols) */
    long nrows;         /* rows in use */
    long row_cap;       /* rows allocated in cells[] and lines[] */
    char **names;       /* ncols column names, exact header text */
    size_t *cells;      /* row_cap x col_cap arena offsets; 0 means "" */
    long *lines;        /* file line of each row's record; 0 if none */
    char *arena;        /* NUL-terminated strings; arena[0] == '\0' */
    size_t arena_len;   /* bytes used in arena */
    size_t arena_cap;   /* bytes allocated for arena */
} pp_table;

#define PP_TABLE_INIT {0}

/* Number of data rows (the header is not a row). */
long pp_table_nrows(const pp_table *t);

/* Number of columns. */
int pp_table_ncols(const pp_table *t);

/* Exact header text of column col; NULL when col is out of range. */
const char *pp_table_colname(const pp_table *t, int col);

/* Exact text of a cell; never NULL: "" for an empty cell and for indices
 * out of range. */
const char *pp_table_get(const pp_table *t, long row, int col);

/* File line where row's record starts (1-based), 0 for rows added in
 * memory or out of range. */
long pp_table_line(const pp_table *t, long row);

/* Index of the column whose name equals name case-insensitively after
 * trimming white space on both sides, or -1.  When found, spelled
 * differently from name, and canonical_warn_file is not NULL, log a
 * WARNING "'<file>': column 'ra' taken as 'RA' (canonical spelling is
 * 'RA')" (SPEC §3.3); pass the canonical spelling as name. */
int pp_table_find_column(const pp_table *t, const char *name,
                         const char *canonical_warn_file);

/* Insert a column named name (copied) before position (0..ncols), or
 * append it when position is -1.  Its cells are "".  Returns the new
 * column's index, -1 if position is out of range.  Names are not checked
 * for duplicates: look them up first when that matters. */
int pp_table_add_column(pp_table *t, const char *name, int position);

/* Copy text into cell (row, col); NULL or "" makes the cell empty.
 * PP_OK, or PP_EINTERNAL for indices out of range. */
int pp_table_set(pp_table *t, long row, int col, const char *text);

/* Append a row of empty cells; returns its index. */
long pp_table_add_row(pp_table *t);

/* Checked forms for readers of data-sized input (pp_csv_read()): the same
 * as pp_table_set() and pp_table_add_row() but PP_ENOMEM in err instead of
 * exiting.  pp_table_set_bytes() copies len bytes (which must hold no NUL)
 * from bytes; pp_table_add_row_checked() records line as the row's file
 * line and puts the new index in *row. */
int pp_table_set_bytes(pp_table *t, long row, int col, const char *bytes,
                       size_t len, pp_error *err);
int pp_table_add_row_checked(pp_table *t, long line, long *row,
                             pp_error *err);

/* Make room for rows rows in all and text_bytes more bytes of cell text
 * (NULs included), so that filling a table of known size never
 * reallocates.  A hint only: tables grow as needed anyway.  PP_OK or
 * PP_ENOMEM. */
int pp_table_reserve(pp_table *t, long rows, size_t text_bytes,
                     pp_error *err);

/* Free everything the table holds and reset it to PP_TABLE_INIT. */
void pp_table_release(pp_table *t);

/* Parse text as a double, strictly: optional white space around one
 * strtod() number (so "nan", "inf", "1e5" are numbers) and nothing else.
 * 0 on success with *out set, -1 if text is not a number ("" included).
 * Uses the C locale's decimal point (tools never call setlocale). */
int pp_parse_double(const char *text, double *out);

/* The number in cell (row, col).  An empty cell is missing: *out = NAN
 * and PP_OK.  A non-number is PP_EDATA: "<file>: row <n> (line <L>):
 * column '<name>': found '<text>', expected a number", n the 1-based data
 * row, L the line where its record starts (omitted when unknown); *out is
 * NAN then too. */
int pp_table_get_double(const pp_table *t, long row, int col,
                        const char *file, double *out, pp_error *err);

#endif /* PP_TABLE_H */
