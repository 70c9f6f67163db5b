/* test_io.c - atomic output files and the filesystem helpers (pp_io). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp_io.h"
#include "tap.h"

static char dir[] = "/tmp/pp-test-io-XXXXXX";

/* Number of entries in d other than . and .. */
static int count_entries(const char *d)
{
    DIR *dp = opendir(d);
    struct dirent *e;
    int n = 0;

    if (!dp)
        return -1;
    while ((e = readdir(dp)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(dp);
    return n;
}

static void test_commit_and_abort(void)
{
    pp_error err = PP_ERROR_INIT;
    pp_atomic a;
    char *path = pp_io_path_join(dir, "out.txt"), *text = NULL;
    size_t len = 0;

    check_int(pp_io_open_tmp(path, &a, &err), ==, PP_OK,
              "io: a temporary file opens beside the target");
    check(strstr(a.tmp, ".tmp.") != NULL && !pp_io_exists(path),
          "io: while writing, only '<path>.tmp.<pid>' exists");
    fputs("first\n", a.fp);
    check_int(pp_io_commit(&a, &err), ==, PP_OK, "io: commit succeeds");
    pp_io_read_file(path, &text, &len, &err);
    check_str(text, "first\n", "io: the committed file has the text");
    check_int(count_entries(dir), ==, 1, "io: no temporary file remains");
    free(text);

    pp_io_open_tmp(path, &a, &err);
    fputs("second, never committed\n", a.fp);
    pp_io_abort(&a);
    pp_io_abort(&a);
    pp_io_read_file(path, &text, &len, &err);
    check_str(text, "first\n", "io: an aborted write leaves the old file");
    check_int(count_entries(dir), ==, 1, "io: abort removes the temporary");
    free(text);
    free(path);
}

static void test_failures(void)
{
    pp_error err = PP_ERROR_INIT;
    pp_atomic a;
    char *path = pp_io_path_join(dir, "missing/out.txt");
    char *text = NULL;

    check_int(pp_io_open_tmp(path, &a, &err), ==, PP_EIO,
              "io: a missing directory is an I/O error");
    check(strstr(err.msg, "missing/out.txt") != NULL,
          "io: the message names the file");
    pp_error_clear(&err);
    check_int(pp_io_read_file(path, &text, NULL, &err), ==, PP_EIO,
              "io: reading a missing file is an I/O error");
    check(strstr(err.msg, "No such file") != NULL,
          "io: the message gives the system's reason");
    free(path);

    /* A regular file where a directory should be. */
    path = pp_io_path_join(dir, "plain");
    pp_error_clear(&err);
    pp_io_write_text(path, "x", &err);
    char *sub = pp_io_path_join(path, "sub");
    check_int(pp_io_mkdir_p(sub, &err), ==, PP_EIO,
              "io: mkdir below a regular file fails");
    check(strstr(err.msg, "plain") != NULL, "io: ... naming the path");
    pp_io_remove_file(path, &err);
    free(sub);
    free(path);
}

static void test_tree(void)
{
    pp_error err = PP_ERROR_INIT;
    char *deep = pp_io_path_join(dir, "a/b/c");
    char *top = pp_io_path_join(dir, "a");
    char *file = pp_io_path_join(deep, "f.txt");

    check_int(pp_io_mkdir_p(deep, &err), ==, PP_OK,
              "io: mkdir -p creates parents");
    check_int(pp_io_mkdir_p(deep, &err), ==, PP_OK,
              "io: mkdir -p of an existing directory is fine");
    pp_io_write_text(file, "x", &err);
    check_int(pp_io_remove_tree(top, &err), ==, PP_OK,
              "io: remove_tree removes a populated tree");
    check(!pp_io_exists(top), "io: ... and it is gone");
    check_int(pp_io_remove_tree(top, &err), ==, PP_OK,
              "io: remove_tree of a missing path is fine");
    check_int(pp_io_remove_file(file, &err), ==, PP_OK,
              "io: remove_file of a missing file is fine");
    free(deep);
    free(top);
    free(file);
}

static void test_paths(void)
{
    char *s;

    s = pp_io_abspath("/a/./b/../c//d/");
    check_str(s, "/a/c/d", "io: abspath folds '.', '..' and '//'");
    free(s);
    s = pp_io_abspath("/..");
    check_str(s, "/", "io: abspath stops at the root");
    free(s);
    s = pp_io_path_join("/w/", "x.csv");
    check_str(s, "/w/x.csv", "io: join does not double the slash");
    free(s);
    s = pp_io_path_join("/w", "/abs/x.csv");
    check_str(s, "/abs/x.csv", "io: join keeps an absolute name");
    free(s);
    s = pp_io_dirname("name.txt");
    check_str(s, ".", "io: dirname of a bare name is '.'");
    free(s);
    s = pp_io_dirname("/top/name.txt");
    check_str(s, "/top", "io: dirname drops the last part");
    free(s);
}

int main(void)
{
    pp_error err = PP_ERROR_INIT;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_commit_and_abort();
    test_failures();
    test_tree();
    test_paths();
    pp_io_remove_tree(dir, &err);
    return tap_done();
}
