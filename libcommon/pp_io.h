/* pp_io.h - atomic output files and small filesystem helpers.
 *
 * No output file is ever left half-written (SPEC §3.6): a writer opens
 * "<path>.tmp.<pid>", writes, and commits, which flushes, fsyncs and
 * renames it over <path> (then fsyncs the directory); on any failure the
 * writer aborts, which removes the temporary file.  Readers of <path> see
 * either the old file or the complete new one.
 *
 * For files written by another library (cfitsio), pp_io_tmp_name() gives
 * the temporary name and pp_io_commit_path() does the fsync and rename.
 */
#ifndef PP_IO_H
#define PP_IO_H

#include <stdio.h>

#include "pp_error.h"

typedef struct {
    FILE *fp;                   /* write here between open and commit */
    char path[PATH_MAX];        /* final name */
    char tmp[PATH_MAX];         /* "<path>.tmp.<pid>" */
} pp_atomic;

/* Open "<path>.tmp.<pid>" for writing.  PP_EIO naming the path on
 * failure (the directory must exist). */
int pp_io_open_tmp(const char *path, pp_atomic *a, pp_error *err);

/* Flush, fsync, close and rename to the final name.  On failure the
 * temporary file is removed and PP_EIO returned. */
int pp_io_commit(pp_atomic *a, pp_error *err);

/* Close and remove the temporary file (no-op after commit or when never
 * opened).  Safe to call twice. */
void pp_io_abort(pp_atomic *a);

/* Write "<path>.tmp.<pid>" into buf (size PATH_MAX).  PP_EIO if too long. */
int pp_io_tmp_name(const char *path, char *buf, pp_error *err);

/* fsync the file tmp, rename it to path and fsync the directory; on
 * failure remove tmp. */
int pp_io_commit_path(const char *tmp, const char *path, pp_error *err);

/* Write the whole string to path atomically. */
int pp_io_write_text(const char *path, const char *text, pp_error *err);

/* Create dir and its parents (mode 0777 & ~umask); existing is fine. */
int pp_io_mkdir_p(const char *dir, pp_error *err);

/* Remove path and, if it is a directory, everything below it; a missing
 * path is fine. */
int pp_io_remove_tree(const char *path, pp_error *err);

/* Remove a file if it exists (ENOENT is fine). */
int pp_io_remove_file(const char *path, pp_error *err);

/* Read a whole file into a newly allocated NUL-terminated buffer; *len
 * (may be NULL) gets its length. */
int pp_io_read_file(const char *path, char **out, size_t *len, pp_error *err);

/* Join dir and name with one '/', into a new string; an absolute name or
 * an empty dir returns a copy of name. */
char *pp_io_path_join(const char *dir, const char *name);

/* The directory part of path ("." when it has none), new string. */
char *pp_io_dirname(const char *path);

/* An absolute, '.'/'..'-free form of path (the file need not exist);
 * relative paths are taken relative to the current directory. */
char *pp_io_abspath(const char *path);

/* 1 if path exists (any kind), else 0. */
int pp_io_exists(const char *path);

#endif /* PP_IO_H */
