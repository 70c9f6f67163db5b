/* pp_csv.h - reading and writing CSV tables (SPEC §3.3, §3.4, §5.1).
 *
 * Reading goes through libcsv in strict mode and fills a pp_table with the
 * exact text of every field: quotes are removed and doubled quotes undone,
 * nothing else changes (commas, CR/LF, UTF-8 and spaces inside quotes, and
 * spaces around unquoted fields, all survive).  Only an empty field is
 * missing; "NA", "00019" and "  spaced  " stay text.
 *
 * File rules for pp_csv_read():
 *   - The first record is the header; column names must be unique
 *     case-insensitively after trimming (SPEC §3.3).
 *   - A UTF-8 byte-order mark at the start is dropped; LF and CRLF line
 *     ends are accepted (lines are counted by LF).
 *   - Blank lines are not records (so a trailing empty line is fine), as
 *     in pandas; a one-column file must therefore write an empty cell as
 *     "" (pp_csv_write() does).
 *   - Every record has as many fields as the header.
 *   - A '"' inside an unquoted field, text after a closing quote (a space
 *     included) and a quote never closed are errors; so is a NUL byte.
 *
 * Writing follows SPEC §3.4: RFC 4180, a field is quoted iff it holds ',',
 * '"', CR or LF (embedded quotes doubled), LF line ends, header row, and
 * the file is replaced atomically (pp_io_open_tmp/pp_io_commit).  Numbers
 * are turned into cell text with the pp_csv_format_* helpers first.
 */
#ifndef PP_CSV_H
#define PP_CSV_H

#include "pp_error.h"
#include "pp_table.h"

/* Read the CSV file path into out, which is overwritten (not released):
 * on success the caller owns it and frees it with pp_table_release(); on
 * failure it is left as PP_TABLE_INIT.  Each row remembers the line where
 * its record starts.  Errors:
 *   PP_EIO   "cannot open '<path>': No such file or directory", read errors
 *   PP_EDATA "<path>: line <L>: found 5 fields, expected 4 (the header
 *            has 4)", "<path>: line <L>: duplicate column 'RA'", "<path>:
 *            empty file, expected a header row", quoting errors naming the
 *            line, NUL bytes
 *   PP_ENOMEM when the table does not fit. */
int pp_csv_read(const char *path, pp_table *out, pp_error *err);

/* Write t (header and rows) to path atomically.  PP_EIO naming the path
 * when it cannot be created or written; path is then untouched. */
int pp_csv_write(const char *path, const pp_table *t, pp_error *err);

/* SPEC §3.4 float text: the shortest of %.15g, %.16g, %.17g that reads
 * back to the same double; NaN and +-inf give "" (the missing cell);
 * -0.0 gives "-0".  Writes into buf and returns it. */
const char *pp_csv_format_double(double v, char buf[32]);

/* "True" or "False" (what pandas reads as bool, SPEC §3.4); static. */
const char *pp_csv_format_bool(int b);

/* Decimal integer text in buf; returns buf. */
const char *pp_csv_format_long(long v, char buf[32]);

#endif /* PP_CSV_H */
