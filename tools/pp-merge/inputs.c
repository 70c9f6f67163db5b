/* inputs.c - the base catalogue, patches.json and stale fit files
 * (SPEC §11 steps 1-2). */
#include <dirent.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "pp_csv.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_mem.h"

#include "keys.h"
#include "merge.h"

/* ---- The base catalogue ---------------------------------------------- */

static int need_column(merge_base *b, const char *name, int *col,
                       pp_error *err)
{
    *col = pp_table_find_column(&b->t, name, b->path);
    if (*col < 0)
        return pp_error_set(err, PP_EDATA, "'%s': no column '%s' (run "
                            "pp-crop first)", b->path, name);
    return PP_OK;
}

/* A flag column as 0/1 per row; True/False required (empty allowed, as
 * False, when optional). */
static int read_flag(merge_base *b, int col, int optional,
                     unsigned char *out, pp_error *err)
{
    for (long r = 0; r < b->n; ++r) {
        const char *s = pp_table_get(&b->t, r, col);
        int v = merge_parse_bool(s);

        if (v == -2 || (v == -1 && !optional))
            return pp_error_set(err, PP_EDATA, "%s: row %ld (line %ld): "
                                "column '%s': found '%s', expected True or "
                                "False", b->path, r + 1,
                                pp_table_line(&b->t, r),
                                pp_table_colname(&b->t, col), s);
        out[r] = v == 1;
    }
    return PP_OK;
}

/* SPEC §3.3: keys of rows with finite RA/DEC are unique. */
static int check_unique(const merge_base *b, pp_error *err)
{
    merge_keys k;
    int rc = PP_OK;

    merge_keys_init(&k, b->col_id < 0);
    for (long r = 0; r < b->n && rc == PP_OK; ++r) {
        const char *k1 = pp_table_get(&b->t, r, b->col_id >= 0 ? b->col_id
                                                                : b->col_ra);
        const char *k2 = pp_table_get(&b->t, r, b->col_dec);
        long first;

        if (!b->finite[r] || merge_keys_put(&k, k1, k2, r, &first))
            continue;
        rc = b->col_id >= 0
           ? pp_error_set(err, PP_EDATA, "'%s': rows %ld and %ld have the "
                          "same ID '%s', expected unique IDs", b->path,
                          first + 1, r + 1, k1)
           : pp_error_set(err, PP_EDATA, "'%s': rows %ld and %ld have the "
                          "same RA, DEC text '%s', '%s', expected unique "
                          "positions (there is no ID column)", b->path,
                          first + 1, r + 1, k1, k2);
    }
    merge_keys_release(&k);
    return rc;
}

static int read_numbers(merge_base *b, pp_error *err)
{
    for (long r = 0; r < b->n; ++r) {
        double ra, dec;

        /* SPEC §5.1: empty, non-numeric, NaN or infinite RA/DEC is "no
         * coordinates", not an error. */
        b->finite[r] =
            pp_parse_double(pp_table_get(&b->t, r, b->col_ra), &ra) == 0 &&
            pp_parse_double(pp_table_get(&b->t, r, b->col_dec), &dec) == 0 &&
            isfinite(ra) && isfinite(dec);
        if (pp_table_get_double(&b->t, r, b->col_x, b->path, &b->x[r],
                                err) != PP_OK ||
            pp_table_get_double(&b->t, r, b->col_y, b->path, &b->y[r],
                                err) != PP_OK)
            return err->code;
    }
    return PP_OK;
}

int merge_base_read(const char *path, merge_base *b, pp_error *err)
{
    size_t n;

    memset(b, 0, sizeof *b);
    b->path = pp_xstrdup(path);
    if (!pp_io_exists(path))
        return pp_error_set(err, PP_EIO, "base catalogue '%s' does not "
                            "exist (run pp-crop first)", path);
    if (pp_csv_read(path, &b->t, err) != PP_OK)
        return err->code;
    b->n = pp_table_nrows(&b->t);
    b->col_id = pp_table_find_column(&b->t, "ID", path);
    b->col_bright = pp_table_find_column(&b->t, "affected_by_bright_mask",
                                         NULL);
    if (need_column(b, "RA", &b->col_ra, err) ||
        need_column(b, "DEC", &b->col_dec, err) ||
        need_column(b, "x_pix_white", &b->col_x, err) ||
        need_column(b, "y_pix_white", &b->col_y, err) ||
        need_column(b, "excluded_crop", &b->col_crop, err) ||
        need_column(b, "excluded_saturation", &b->col_sat, err) ||
        need_column(b, "excluded_any", &b->col_any, err))
        return err->code;
    n = (size_t)b->n + 1;
    b->finite = pp_malloc_checked(n, 5, "base catalogue flags", err);
    b->x = pp_malloc_checked(n, 2 * sizeof(double), "base coordinates",
                             err);
    if (!b->finite || !b->x)
        return err->code;
    b->crop = b->finite + n;
    b->sat = b->crop + n;
    b->any = b->sat + n;
    b->bright = b->any + n;
    b->y = b->x + n;
    memset(b->bright, 0, n);
    if (read_flag(b, b->col_crop, 0, b->crop, err) ||
        read_flag(b, b->col_sat, 0, b->sat, err) ||
        read_flag(b, b->col_any, 0, b->any, err) ||
        (b->col_bright >= 0 &&
         read_flag(b, b->col_bright, 1, b->bright, err)) ||
        read_numbers(b, err) || check_unique(b, err))
        return err->code;
    return PP_OK;
}

void merge_base_release(merge_base *b)
{
    free(b->path);
    pp_table_release(&b->t);
    free(b->finite);
    free(b->x);
    memset(b, 0, sizeof *b);
}

/* ---- patches.json ---------------------------------------------------- */

static int read_patch(const json_t *o, const char *ctx, merge_patch *p,
                      pp_error *err)
{
    const char *tag, *payload;

    if (!json_is_object(o))
        return pp_error_set(err, PP_EDATA, "%s: expected an object", ctx);
    if (pp_json_get_string(o, "patch_tag", ctx, &tag, err) ||
        pp_json_get_string(o, "payload", ctx, &payload, err) ||
        pp_json_get_int(o, "x0_base", ctx, &p->x0, err) ||
        pp_json_get_int(o, "x1_base", ctx, &p->x1, err) ||
        pp_json_get_int(o, "y0_base", ctx, &p->y0, err) ||
        pp_json_get_int(o, "y1_base", ctx, &p->y1, err))
        return err->code;
    /* The tag names a directory and a file below outputs/. */
    if (!tag[0] || strlen(tag) >= sizeof p->tag || strchr(tag, '/') ||
        strcmp(tag, ".") == 0 || strcmp(tag, "..") == 0)
        return pp_error_set(err, PP_EDATA, "%s: key 'patch_tag': found "
                            "'%s', expected a tag such as "
                            "'r00_c00_pr00_pc00'", ctx, tag);
    memcpy(p->tag, tag, strlen(tag) + 1);
    p->has_payload = payload[0] != '\0';
    return PP_OK;
}

int merge_patches_read(const char *path, merge_patch **out, int *n,
                       pp_error *err)
{
    json_t *root = NULL;
    merge_patch *p = NULL;
    size_t np = 0;
    int rc = PP_OK;

    *out = NULL;
    *n = 0;
    if (!pp_io_exists(path))
        return pp_error_set(err, PP_EIO, "patch list '%s' does not exist "
                            "(run pp-patchify first)", path);
    if (pp_json_read(path, &root, err) != PP_OK)
        return err->code;
    if (!json_is_array(root)) {
        rc = pp_error_set(err, PP_EDATA, "'%s': expected an array of "
                          "patches", path);
        goto out;
    }
    np = json_array_size(root);
    p = pp_xcalloc(np + 1, sizeof *p);
    for (size_t i = 0; i < np && rc == PP_OK; ++i) {
        char ctx[PATH_MAX + 32];
        snprintf(ctx, sizeof ctx, "'%s': [%zu]", path, i);
        rc = read_patch(json_array_get(root, i), ctx, &p[i], err);
        for (size_t j = 0; j < i && rc == PP_OK; ++j)
            if (strcmp(p[j].tag, p[i].tag) == 0)
                rc = pp_error_set(err, PP_EDATA, "%s: patch_tag '%s' "
                                  "repeats [%zu]", ctx, p[i].tag, j);
    }
out:
    json_decref(root);
    if (rc != PP_OK) {
        free(p);
        return rc;
    }
    *out = p;
    *n = (int)np;
    return PP_OK;
}

/* ---- Stale fit files ------------------------------------------------- */

typedef struct {
    const char *pattern;
    const merge_keys *expected;
    long count;
    char *first;
    size_t nfirst;
} stale_walk;

/* Depth-first over dir; symbolic links are not followed (lstat), so a
 * loop cannot trap the walk. */
static void walk(const char *dir, stale_walk *w, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d || depth > 32) {
        if (d)
            closedir(d);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        char *path;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        path = pp_io_path_join(dir, e->d_name);
        if (lstat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                walk(path, w, depth + 1);
            else if (S_ISREG(st.st_mode) &&
                     fnmatch(w->pattern, e->d_name, 0) == 0 &&
                     merge_keys_get(w->expected, path, NULL) < 0) {
                if (w->count++ == 0 && w->nfirst)
                    snprintf(w->first, w->nfirst, "%s", path);
            }
        }
        free(path);
    }
    closedir(d);
}

long merge_count_stale(const char *dir, const char *pattern,
                       char *const *expected, int nexp, char *first,
                       size_t nfirst)
{
    merge_keys k;
    stale_walk w = { pattern, &k, 0, first, nfirst };

    if (nfirst)
        first[0] = '\0';
    merge_keys_init(&k, 0);
    for (int i = 0; i < nexp; ++i)
        if (expected[i])
            merge_keys_put(&k, expected[i], NULL, i, NULL);
    walk(dir, &w, 0);
    merge_keys_release(&k);
    return w.count;
}
