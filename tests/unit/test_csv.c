/* test_csv.c - pp_table and pp_csv: exact text in, exact bytes out.
 *
 * Every input file is written byte by byte here and every expected output
 * is spelled out, so nothing is checked against the code under test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_csv.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_table.h"
#include "tap.h"

static char tmpdir[] = "/tmp/pp-test-XXXXXX";

/* Path of name in the test directory (static buffer, one at a time). */
static const char *tpath(const char *name)
{
    static char buf[PATH_MAX];

    snprintf(buf, sizeof buf, "%s/%s", tmpdir, name);
    return buf;
}

/* Write exactly len bytes to name; returns its path. */
static const char *put(const char *name, const char *bytes, size_t len)
{
    const char *path = tpath(name);
    FILE *fp = fopen(path, "wb");

    if (!fp || fwrite(bytes, 1, len, fp) != len || fclose(fp) != 0) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
    return path;
}

#define PUT(name, lit) put((name), (lit), sizeof(lit) - 1)

/* 1 if file path holds exactly len bytes equal to want. */
static int file_is(const char *path, const char *want, size_t len)
{
    char *got = NULL;
    size_t n = 0;
    pp_error err = PP_ERROR_INIT;
    int same;

    if (pp_io_read_file(path, &got, &n, &err) != PP_OK)
        return 0;
    same = n == len && memcmp(got, want, len) == 0;
    if (!same)
        printf("#   got (%zu bytes): [%s]\n#   want (%zu bytes): [%s]\n", n,
               got, len, want);
    free(got);
    return same;
}

/* Expect reading the file to fail with code and a message holding both
 * parts. */
static void read_fails(const char *path, int code, const char *part1,
                       const char *part2, const char *title)
{
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    int rc = pp_csv_read(path, &t, &err);

    check(rc == code && strstr(err.msg, part1) && strstr(err.msg, part2) &&
          t.nrows == 0 && t.ncols == 0 && t.arena == NULL, title);
    if (rc != code || !strstr(err.msg, part1) || !strstr(err.msg, part2))
        printf("#   rc %d, message: %s\n", rc, err.msg);
    pp_table_release(&t);
}

/* The hostile catalogue: quotes, doubled quotes, commas, embedded LF and
 * CRLF, UTF-8, NA, leading zeros, spaces inside and outside quotes, empty
 * fields, a cell that is just '"', and two trailing line ends. */
static const char hostile_in[] =
    "ID,RA,Name,Note,Flag\n"
    "00019,1.5,\"my star, alpha\",\"He said \"\"hi\"\"\",NA\n"
    "\"1858283\",  spaced  ,\"line1\nline2\",\"a\r\nb\",\"\"\"\"\n"
    "\xCE\xA9\xCE\xBC\xCE\xAD\xCE\xB3\xCE\xB1 \xE2\x98\x83,,"
    "\"  inside  \",,\n"
    ",-0.0,\"\",e,\"a,b\"\n"
    "\n";

/* What pp_csv_write must make of it: quotes only where RFC 4180 needs
 * them, LF line ends, no trailing blank line. */
static const char hostile_out[] =
    "ID,RA,Name,Note,Flag\n"
    "00019,1.5,\"my star, alpha\",\"He said \"\"hi\"\"\",NA\n"
    "1858283,  spaced  ,\"line1\nline2\",\"a\r\nb\",\"\"\"\"\n"
    "\xCE\xA9\xCE\xBC\xCE\xAD\xCE\xB3\xCE\xB1 \xE2\x98\x83,,"
    "  inside  ,,\n"
    ",-0.0,,e,\"a,b\"\n";

static const char *const hostile_cells[4][5] = {
    { "00019", "1.5", "my star, alpha", "He said \"hi\"", "NA" },
    { "1858283", "  spaced  ", "line1\nline2", "a\r\nb", "\"" },
    { "\xCE\xA9\xCE\xBC\xCE\xAD\xCE\xB3\xCE\xB1 \xE2\x98\x83", "",
      "  inside  ", "", "" },
    { "", "-0.0", "", "e", "a,b" },
};

/* 1 if t holds exactly the hostile cells. */
static int has_hostile_cells(const pp_table *t)
{
    int ok = t->nrows == 4 && t->ncols == 5;

    for (long r = 0; ok && r < 4; ++r)
        for (int c = 0; c < 5; ++c)
            if (strcmp(pp_table_get(t, r, c), hostile_cells[r][c]) != 0) {
                printf("#   row %ld col %d: got [%s], want [%s]\n", r, c,
                       pp_table_get(t, r, c), hostile_cells[r][c]);
                ok = 0;
            }
    return ok;
}

static void test_hostile_round_trip(void)
{
    pp_table t = PP_TABLE_INIT, back = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    char tmp[64];
    const char *in = PUT("hostile.csv", hostile_in);
    int rc = pp_csv_read(in, &t, &err);

    check_int(rc, ==, PP_OK, "csv: hostile file reads without error");
    check_int(t.nrows, ==, 4, "csv: trailing empty line is not a row");
    check_str(pp_table_colname(&t, 3), "Note", "csv: header names kept");
    check_str(pp_table_get(&t, 0, 0), "00019", "csv: ID 00019 stays text");
    check_str(pp_table_get(&t, 0, 2), "my star, alpha",
              "csv: quoted comma survives reading");
    check_str(pp_table_get(&t, 0, 3), "He said \"hi\"",
              "csv: doubled quotes become one quote");
    check_str(pp_table_get(&t, 0, 4), "NA", "csv: NA is text, not missing");
    check_str(pp_table_get(&t, 1, 1), "  spaced  ",
              "csv: spaces around an unquoted field are kept");
    check_str(pp_table_get(&t, 1, 2), "line1\nline2",
              "csv: embedded LF survives reading");
    check_str(pp_table_get(&t, 1, 3), "a\r\nb",
              "csv: embedded CRLF survives reading");
    check_str(pp_table_get(&t, 1, 4), "\"", "csv: a lone quote cell");
    check_str(pp_table_get(&t, 2, 0), hostile_cells[2][0],
              "csv: UTF-8 bytes survive reading");
    check_str(pp_table_get(&t, 2, 2), "  inside  ",
              "csv: spaces inside quotes are kept");
    check_str(pp_table_get(&t, 3, 2), "", "csv: quoted empty is empty");
    check(has_hostile_cells(&t), "csv: every hostile cell is exact");
    check(t.lines[0] == 2 && t.lines[1] == 3 && t.lines[2] == 6 &&
          t.lines[3] == 7, "csv: rows remember their start line");

    rc = pp_csv_write(tpath("hostile_out.csv"), &t, &err);
    check_int(rc, ==, PP_OK, "csv: hostile table writes");
    check(file_is(tpath("hostile_out.csv"), hostile_out,
                  sizeof hostile_out - 1),
          "csv: written bytes are RFC 4180 with minimal quoting");
    snprintf(tmp, sizeof tmp, "hostile_out.csv.tmp.%ld", (long)getpid());
    check(!pp_io_exists(tpath(tmp)) &&
          access(tpath("hostile_out.csv"), R_OK) == 0,
          "csv: write leaves only the final file");

    rc = pp_csv_read(tpath("hostile_out.csv"), &back, &err);
    check(rc == PP_OK && has_hostile_cells(&back),
          "csv: written file reads back to the same cells");
    pp_table_release(&back);
    pp_table_release(&t);
    check(t.nrows == 0 && t.cells == NULL, "table: release resets");
}

static void test_file_forms(void)
{
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    int rc;

    rc = pp_csv_read(PUT("bom.csv", "\xEF\xBB\xBFRA,DEC\n1,2\n"), &t, &err);
    check(rc == PP_OK && !strcmp(pp_table_colname(&t, 0), "RA"),
          "csv: UTF-8 BOM is dropped from the first name");
    pp_table_release(&t);

    rc = pp_csv_read(PUT("crlf.csv", "RA,DEC\r\n1,2\r\n3,4\r\n"), &t, &err);
    check(rc == PP_OK && t.nrows == 2 && !strcmp(pp_table_get(&t, 0, 1), "2")
          && !strcmp(pp_table_get(&t, 1, 1), "4") &&
          !strcmp(pp_table_colname(&t, 1), "DEC"),
          "csv: CRLF line ends are not part of the cells");
    check(t.lines[0] == 2 && t.lines[1] == 3, "csv: CRLF lines counted once");
    pp_table_release(&t);

    rc = pp_csv_read(PUT("nolf.csv", "A,B\n1,2"), &t, &err);
    check(rc == PP_OK && t.nrows == 1 && !strcmp(pp_table_get(&t, 0, 1), "2"),
          "csv: last record without a line end is read");
    pp_table_release(&t);

    rc = pp_csv_read(PUT("head.csv", "A,B\n"), &t, &err);
    check(rc == PP_OK && t.nrows == 0 && t.ncols == 2,
          "csv: header-only file is an empty table");
    pp_table_release(&t);
}

static void test_read_errors(void)
{
    read_fails(PUT("wide.csv", "A,B,C,D\n1,2,3,4\n1,2,3,4,5\n"), PP_EDATA,
               "wide.csv: line 3: found 5 fields, expected 4",
               "(the header has 4)", "csv: extra field names the line");
    read_fails(PUT("narrow.csv", "A,B\n\"x\ny\",2\n1\n"), PP_EDATA,
               "line 4: found 1 field, expected 2", "header has 2",
               "csv: missing field names the line after a multi-line cell");
    read_fails(PUT("dup.csv", "RA,DEC,ra\n1,2,3\n"), PP_EDATA,
               "dup.csv: line 1: duplicate column 'ra'", "columns 1 and 3",
               "csv: duplicate column is an error, case-insensitively");
    read_fails(PUT("empty.csv", ""), PP_EDATA, "empty.csv: empty file",
               "header", "csv: empty file is an error");
    read_fails(PUT("blank.csv", "\n\r\n\n"), PP_EDATA, "empty file",
               "expected a header row", "csv: blank lines only is an error");
    read_fails(tpath("missing.csv"), PP_EIO, "cannot open '",
               "missing.csv': No such file or directory",
               "csv: missing file is an I/O error naming it");
    read_fails(PUT("quote.csv", "A,B\n1,2\nx\"y,3\n"), PP_EDATA,
               "quote.csv: line 3: bad quoting", "unquoted field",
               "csv: quote inside an unquoted field names the line");
    read_fails(PUT("after.csv", "A,B\n\"x\" ,1\n"), PP_EDATA,
               "after.csv: line 2: bad quoting", "closing quote",
               "csv: text after a closing quote names the line");
    read_fails(PUT("open.csv", "A,B\n1,2\n3,\"abc\n\n"), PP_EDATA,
               "open.csv: line 3: quoted field never closed", "'\"'",
               "csv: unclosed quote names the line it opens on");
    read_fails(put("nul.csv", "A,B\n1,x\0y\n", 10), PP_EDATA,
               "nul.csv: line 2: field 2 holds a NUL byte", "expected text",
               "csv: NUL byte in a field is an error");
}

/* Capture WARNING lines in a log file while looking columns up. */
static void test_find_column(void)
{
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    char *log = NULL;
    int ra, dec, flux, none, quiet;

    pp_csv_read(PUT("case.csv", "ra,Dec , FLUX_g,ID\n1,2,3,4\n"), &t, &err);
    pp_log_open_file(tpath("find.log"), &err);
    ra = pp_table_find_column(&t, "RA", "case.csv");
    dec = pp_table_find_column(&t, "DEC", "case.csv");
    flux = pp_table_find_column(&t, "flux_G", NULL);
    none = pp_table_find_column(&t, "X", "case.csv");
    quiet = pp_table_find_column(&t, "ID", "case.csv");
    pp_log_close();
    pp_io_read_file(tpath("find.log"), &log, NULL, &err);

    check(ra == 0 && dec == 1 && flux == 2 && quiet == 3,
          "table: columns found case-insensitively after trimming");
    check_int(none, ==, -1, "table: unknown column is -1");
    check(log && strstr(log, "| WARNING | 'case.csv': column 'ra' taken as "
                        "'RA' (canonical spelling is 'RA')"),
          "table: non-canonical spelling logs a warning");
    check(log && strstr(log, "column 'Dec ' taken as 'DEC'"),
          "table: warning shows the exact user spelling");
    check(log && !strstr(log, "FLUX") && !strstr(log, "'ID'"),
          "table: no warning without a file or for exact spelling");
    check_str(pp_table_colname(&t, 1), "Dec ",
              "table: user spelling kept in the header");
    free(log);
    pp_table_release(&t);
}

static void test_get_double(void)
{
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    double v = 0;
    int rc;

    pp_csv_read(PUT("num.csv", "RA,DEC\n1.5, 2 \nabc,\n"), &t, &err);
    rc = pp_table_get_double(&t, 0, 0, "num.csv", &v, &err);
    check(rc == PP_OK && v == 1.5, "table: '1.5' is 1.5");
    rc = pp_table_get_double(&t, 0, 1, "num.csv", &v, &err);
    check(rc == PP_OK && v == 2.0, "table: ' 2 ' is 2 (spaces allowed)");
    rc = pp_table_get_double(&t, 1, 1, "num.csv", &v, &err);
    check(rc == PP_OK && isnan(v), "table: empty cell is NaN, not an error");
    rc = pp_table_get_double(&t, 1, 0, "num.csv", &v, &err);
    check(rc == PP_EDATA && isnan(v) &&
          !strcmp(err.msg, "num.csv: row 2 (line 3): column 'RA': found "
                  "'abc', expected a number"),
          "table: non-number names file, row, line, column and text");
    if (rc != PP_EDATA)
        printf("#   message: %s\n", err.msg);

    /* A row made in memory has no file line. */
    long r = pp_table_add_row(&t);
    pp_table_set(&t, r, 1, "1,5");
    rc = pp_table_get_double(&t, r, 1, "mem", &v, &err);
    check(rc == PP_EDATA && !strcmp(err.msg, "mem: row 3: column 'DEC': "
                                    "found '1,5', expected a number"),
          "table: in-memory row error has no line");
    pp_table_release(&t);

    check(pp_parse_double("nan", &v) == 0 && isnan(v),
          "parse: 'nan' is NaN");
    check(pp_parse_double(" -inf", &v) == 0 && isinf(v) && v < 0,
          "parse: '-inf' is -infinity");
    check(pp_parse_double("1e-3\t", &v) == 0 && v == 0.001,
          "parse: exponent with trailing tab");
    check(pp_parse_double("", &v) == -1 && pp_parse_double("  ", &v) == -1,
          "parse: empty and blank are not numbers");
    check(pp_parse_double("1.5x", &v) == -1 &&
          pp_parse_double("1 2", &v) == -1,
          "parse: trailing text is not a number");
}

static void test_format(void)
{
    char buf[32];

    check_str(pp_csv_format_double(0.1, buf), "0.1", "format: 0.1");
    /* 16 digits already read back to 1/3 (Python repr agrees). */
    check_str(pp_csv_format_double(1 / 3.0, buf), "0.3333333333333333",
              "format: 1/3 takes the shortest round-trip of 15-17 digits");
    check_str(pp_csv_format_double(0.1 + 0.2, buf), "0.30000000000000004",
              "format: 0.1+0.2 needs 17 digits");
    check_str(pp_csv_format_double(1e-300, buf), "1e-300", "format: 1e-300");
    check_str(pp_csv_format_double(123456789012345678.0, buf),
              "1.2345678901234568e+17", "format: 123456789012345678");
    check_str(pp_csv_format_double(1.0, buf), "1", "format: 1 has no point");
    check_str(pp_csv_format_double(-0.0, buf), "-0", "format: -0.0");
    check_str(pp_csv_format_double(NAN, buf), "", "format: NaN is empty");
    check_str(pp_csv_format_double(-INFINITY, buf), "",
              "format: infinity is empty");
    check_str(pp_csv_format_bool(1), "True", "format: true is 'True'");
    check_str(pp_csv_format_bool(0), "False", "format: false is 'False'");
    check_str(pp_csv_format_long(-42, buf), "-42", "format: long -42");
}

/* Build a table in memory: inserted columns, aliasing sets, arena
 * growth, and the bytes it writes. */
static void test_build_in_memory(void)
{
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;
    static const char want[] =
        "ID,B,C\n"
        "1,,c0\n"
        "2,b1,\n";
    static const char single[] = "X\n\"\"\nv\n";
    char text[32];
    const char *prev;
    long r;
    int ok = 1;

    check_int(pp_table_add_column(&t, "ID", -1), ==, 0, "table: append ID");
    check_int(pp_table_add_column(&t, "C", -1), ==, 1, "table: append C");
    r = pp_table_add_row(&t);
    pp_table_set(&t, r, 0, "1");
    pp_table_set(&t, r, 1, "c0");
    r = pp_table_add_row(&t);
    pp_table_set(&t, r, 0, "2");
    check_int(pp_table_add_column(&t, "B", 1), ==, 1,
              "table: insert B before C");
    check_int(pp_table_add_column(&t, "Z", 9), ==, -1,
              "table: position out of range is -1");
    pp_table_set(&t, 1, 1, "b1");
    check(!strcmp(pp_table_get(&t, 0, 2), "c0") &&
          !strcmp(pp_table_get(&t, 0, 1), "") &&
          !strcmp(pp_table_get(&t, 1, 1), "b1"),
          "table: insertion shifts cells right and leaves ''");
    check_int(pp_table_set(&t, 5, 0, "x"), ==, PP_EINTERNAL,
              "table: set outside the table is refused");
    check_str(pp_table_get(&t, 7, 0), "", "table: get outside is ''");
    check(pp_table_colname(&t, 3) == NULL, "table: colname outside is NULL");
    check(pp_csv_write(tpath("mem.csv"), &t, &err) == PP_OK &&
          file_is(tpath("mem.csv"), want, sizeof want - 1),
          "csv: in-memory table writes the expected bytes");

    /* Grow far past the first arena while copying cells into each other
     * (pointers from pp_table_get() must survive reallocation). */
    for (long i = 0; i < 20000; ++i) {
        r = pp_table_add_row(&t);
        snprintf(text, sizeof text, "row-%ld", i);
        pp_table_set(&t, r, 0, text);
        pp_table_set(&t, r, 2, pp_table_get(&t, r, 0));
        prev = pp_table_get(&t, r - 1, 2);
        pp_table_set_bytes(&t, r, 1, prev, prev[0] ? strlen(prev) - 1 : 0,
                           &err);
    }
    for (long i = 1; i < 20000 && ok; ++i) {
        snprintf(text, sizeof text, "row-%ld", i - 1);
        text[strlen(text) - 1] = '\0';
        ok = !strcmp(pp_table_get(&t, i + 2, 1), text);
    }
    check(ok && !strcmp(pp_table_get(&t, 20001, 2), "row-19999"),
          "table: cells copied from other cells survive arena growth");
    pp_table_release(&t);

    /* One column: an empty cell must not become a blank line. */
    pp_table_add_column(&t, "X", -1);
    pp_table_add_row(&t);
    pp_table_set(&t, pp_table_add_row(&t), 0, "v");
    check(pp_csv_write(tpath("one.csv"), &t, &err) == PP_OK &&
          file_is(tpath("one.csv"), single, sizeof single - 1),
          "csv: empty cell of a one-column table is written as \"\"");
    pp_table_release(&t);
    check(pp_csv_read(tpath("one.csv"), &t, &err) == PP_OK && t.nrows == 2 &&
          !strcmp(pp_table_get(&t, 0, 0), ""),
          "csv: one-column empty cell reads back as a row");
    pp_table_release(&t);
}

static void test_write_error(void)
{
    pp_table t = PP_TABLE_INIT;
    pp_error err = PP_ERROR_INIT;

    pp_table_add_column(&t, "A", -1);
    check(pp_csv_write(tpath("no/such/dir.csv"), &t, &err) == PP_EIO &&
          strstr(err.msg, "no/such/dir.csv"),
          "csv: write into a missing directory is an I/O error");
    pp_table_release(&t);
}

int main(void)
{
    pp_error err = PP_ERROR_INIT;

    pp_log_init("test_csv");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }
    test_hostile_round_trip();
    test_file_forms();
    test_read_errors();
    test_find_column();
    test_get_double();
    test_format();
    test_build_in_memory();
    test_write_error();
    pp_io_remove_tree(tmpdir, &err);
    return tap_done();
}
