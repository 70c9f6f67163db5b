/* pp_io.c - atomic output files and small filesystem helpers (pp_io.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp_io.h"
#include "pp_mem.h"

int pp_io_tmp_name(const char *path, char *buf, pp_error *err)
{
    int n = snprintf(buf, PATH_MAX, "%s.tmp.%ld", path, (long)getpid());

    if (n < 0 || n >= PATH_MAX)
        return pp_error_set(err, PP_EIO, "path too long: '%s'", path);
    return PP_OK;
}

int pp_io_open_tmp(const char *path, pp_atomic *a, pp_error *err)
{
    memset(a, 0, sizeof *a);
    if (snprintf(a->path, sizeof a->path, "%s", path) >= PATH_MAX)
        return pp_error_set(err, PP_EIO, "path too long: '%s'", path);
    if (pp_io_tmp_name(path, a->tmp, err) != PP_OK)
        return err->code;
    a->fp = fopen(a->tmp, "w");
    if (!a->fp) {
        int e = errno;
        a->tmp[0] = '\0';
        return pp_error_set(err, PP_EIO, "cannot create '%s': %s", path,
                            strerror(e));
    }
    return PP_OK;
}

/* fsync the directory holding path, so the rename itself is durable. */
static void sync_parent(const char *path)
{
    char *dir = pp_io_dirname(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

int pp_io_commit(pp_atomic *a, pp_error *err)
{
    int bad = 0, e = 0;

    if (!a->fp)
        return pp_error_set(err, PP_EINTERNAL, "commit of '%s' that is not "
                            "open", a->path);
    if (fflush(a->fp) != 0 || ferror(a->fp) || fsync(fileno(a->fp)) != 0) {
        bad = 1;
        e = errno;
    }
    if (fclose(a->fp) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    a->fp = NULL;
    if (!bad && rename(a->tmp, a->path) != 0) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(a->tmp);
        a->tmp[0] = '\0';
        return pp_error_set(err, PP_EIO, "cannot write '%s': %s", a->path,
                            strerror(e));
    }
    a->tmp[0] = '\0';
    sync_parent(a->path);
    return PP_OK;
}

void pp_io_abort(pp_atomic *a)
{
    if (a->fp)
        fclose(a->fp);
    a->fp = NULL;
    if (a->tmp[0])
        unlink(a->tmp);
    a->tmp[0] = '\0';
}

int pp_io_commit_path(const char *tmp, const char *path, pp_error *err)
{
    int fd = open(tmp, O_RDONLY);
    int e;

    if (fd < 0 || fsync(fd) != 0 || close(fd) != 0 ||
        rename(tmp, path) != 0) {
        e = errno;
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return pp_error_set(err, PP_EIO, "cannot write '%s': %s", path,
                            strerror(e));
    }
    sync_parent(path);
    return PP_OK;
}

int pp_io_write_text(const char *path, const char *text, pp_error *err)
{
    pp_atomic a;

    if (pp_io_open_tmp(path, &a, err) != PP_OK)
        return err->code;
    if (fputs(text, a.fp) == EOF) {
        pp_io_abort(&a);
        return pp_error_set(err, PP_EIO, "cannot write '%s': %s", path,
                            strerror(errno));
    }
    return pp_io_commit(&a, err);
}

int pp_io_mkdir_p(const char *dir, pp_error *err)
{
    char buf[PATH_MAX];
    size_t n = strlen(dir);

    if (n == 0)
        return PP_OK;
    if (n >= sizeof buf)
        return pp_error_set(err, PP_EIO, "path too long: '%s'", dir);
    memcpy(buf, dir, n + 1);
    for (char *p = buf + 1; ; ++p) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return pp_error_set(err, PP_EIO, "cannot create directory "
                                    "'%s': %s", buf, strerror(errno));
            *p = c;
            if (c == '\0')
                break;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return pp_error_set(err, PP_EIO, "'%s' exists and is not a "
                            "directory", dir);
    return PP_OK;
}

int pp_io_remove_file(const char *path, pp_error *err)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return pp_error_set(err, PP_EIO, "cannot remove '%s': %s", path,
                            strerror(errno));
    return PP_OK;
}

int pp_io_remove_tree(const char *path, pp_error *err)
{
    struct stat st;
    DIR *d;
    struct dirent *ent;
    int rc = PP_OK;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? PP_OK
               : pp_error_set(err, PP_EIO, "cannot stat '%s': %s", path,
                              strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return pp_io_remove_file(path, err);
    d = opendir(path);
    if (!d)
        return pp_error_set(err, PP_EIO, "cannot open directory '%s': %s",
                            path, strerror(errno));
    while (rc == PP_OK && (ent = readdir(d)) != NULL) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
            continue;
        char *child = pp_io_path_join(path, ent->d_name);
        rc = pp_io_remove_tree(child, err);
        free(child);
    }
    closedir(d);
    if (rc == PP_OK && rmdir(path) != 0)
        rc = pp_error_set(err, PP_EIO, "cannot remove directory '%s': %s",
                          path, strerror(errno));
    return rc;
}

int pp_io_read_file(const char *path, char **out, size_t *len, pp_error *err)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0, got;

    *out = NULL;
    if (!fp)
        return pp_error_set(err, PP_EIO, "cannot open '%s': %s", path,
                            strerror(errno));
    do {
        if (cap - n < 65536) {
            cap = cap ? 2 * cap : 65536;
            buf = pp_xrealloc(buf, cap + 1);
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
    } while (got > 0);
    if (ferror(fp)) {
        int e = errno;
        fclose(fp);
        free(buf);
        return pp_error_set(err, PP_EIO, "cannot read '%s': %s", path,
                            strerror(e));
    }
    fclose(fp);
    buf[n] = '\0';
    *out = buf;
    if (len)
        *len = n;
    return PP_OK;
}

char *pp_io_path_join(const char *dir, const char *name)
{
    size_t n;

    if (name[0] == '/' || dir[0] == '\0')
        return pp_xstrdup(name);
    n = strlen(dir);
    return pp_xasprintf("%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

char *pp_io_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return pp_xstrdup(".");
    if (slash == path)
        return pp_xstrdup("/");
    return pp_xstrndup(path, (size_t)(slash - path));
}

char *pp_io_abspath(const char *path)
{
    char cwd[PATH_MAX], *full, *out, *seg, *save = NULL;
    size_t len = 0;

    if (path[0] == '/')
        full = pp_xstrdup(path);
    else
        full = pp_io_path_join(getcwd(cwd, sizeof cwd) ? cwd : ".", path);
    /* Normalise: drop empty and "." segments, let ".." pop one. */
    out = pp_xmalloc(strlen(full) + 2);
    out[0] = '\0';
    for (seg = strtok_r(full, "/", &save); seg;
         seg = strtok_r(NULL, "/", &save)) {
        if (!strcmp(seg, "."))
            continue;
        if (!strcmp(seg, "..")) {
            char *slash = strrchr(out, '/');
            len = slash ? (size_t)(slash - out) : 0;
            out[len] = '\0';
            continue;
        }
        len += (size_t)sprintf(out + len, "/%s", seg);
    }
    if (len == 0)
        strcpy(out, "/");
    free(full);
    return out;
}

int pp_io_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}
