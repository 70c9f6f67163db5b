/* catalog.c - the input catalogue (SPEC §3.3, §5.1, §6.1 steps 2-3). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pp_csv.h"
#include "pp_log.h"
#include "pp_mem.h"

#include "crop.h"

#define MAX_LISTED 10           /* SPEC §6.2: list up to 10 duplicates */

/* Is the column a FLUX_<band> column, and of which band?  SPEC §5.1: a
 * suffix equal to a FILTER is that band; a suffix without a further
 * underscore is a band of its own; FLUX_g_err and the like are not. */
static const char *flux_band(const char *name, const pp_frames *f)
{
    while (*name == ' ')
        ++name;
    if (strncasecmp(name, "FLUX_", 5) != 0 || name[5] == '\0')
        return NULL;
    name += 5;
    for (int b = 0; b < f->nbands; ++b)
        if (strcasecmp(name, f->bands[b].band) == 0)
            return f->bands[b].band;
    return strchr(name, '_') ? NULL : name;
}

/* SPEC §5.1: the FLUX_<band> set equals the FILTER set, when any exists. */
static int check_bands(const crop_catalog *cat, const pp_frames *f,
                       pp_error *err)
{
    char only_cat[1024] = "", only_img[1024] = "";
    int ncols = pp_table_ncols(&cat->table), any = 0;
    int *seen = pp_xcalloc((size_t)f->nbands, sizeof *seen);

    for (int c = 0; c < ncols; ++c) {
        const char *b = flux_band(pp_table_colname(&cat->table, c), f);
        int k;
        if (!b)
            continue;
        any = 1;
        if ((k = pp_frames_find_band(f, b)) >= 0) {
            seen[k] = 1;
            if (strcmp(pp_table_colname(&cat->table, c) + 5, b) != 0)
                pp_log(PP_LOG_WARNING, "'%s': column '%s' taken as "
                       "'FLUX_%s' (canonical spelling)", cat->path,
                       pp_table_colname(&cat->table, c), b);
        } else {
            size_t n = strlen(only_cat);
            snprintf(only_cat + n, sizeof only_cat - n, "%s%s",
                     n ? ", " : "", b);
        }
    }
    for (int k = 0; any && k < f->nbands; ++k)
        if (!seen[k]) {
            size_t n = strlen(only_img);
            snprintf(only_img + n, sizeof only_img - n, "%s%s",
                     n ? ", " : "", f->bands[k].band);
        }
    free(seen);
    if (only_cat[0] || only_img[0])
        return pp_error_set(err, PP_EDATA, "'%s': the FLUX_<band> columns "
                            "do not match the image bands: catalogue-only "
                            "bands [%s], image-only bands [%s]", cat->path,
                            only_cat, only_img);
    return PP_OK;
}

/* The merge key of SPEC §3.3 as text: the ID, or "RA DEC". */
static char *row_key(const crop_catalog *cat, long r)
{
    if (cat->col_id >= 0)
        return pp_xstrdup(pp_table_get(&cat->table, r, cat->col_id));
    return pp_xasprintf("%s %s", pp_table_get(&cat->table, r, cat->col_ra),
                        pp_table_get(&cat->table, r, cat->col_dec));
}

typedef struct {
    char *key;
    long row;
} keyed_row;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed_row *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* SPEC §3.3: duplicate keys among rows with finite RA/DEC are an error. */
static int check_duplicates(const crop_catalog *cat, pp_error *err)
{
    keyed_row *k = pp_xcalloc((size_t)cat->n + 1, sizeof *k);
    char list[2048] = "";
    long m = 0, ndup = 0;

    for (long r = 0; r < cat->n; ++r)
        if (cat->has_coords[r])
            k[m++] = (keyed_row){ row_key(cat, r), r };
    qsort(k, (size_t)m, sizeof *k, cmp_keyed);
    for (long i = 1; i < m; ++i) {
        if (strcmp(k[i].key, k[i - 1].key) != 0)
            continue;
        if (++ndup <= MAX_LISTED) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s'%s' (rows %ld and %ld)",
                     n ? ", " : "", k[i].key, k[i - 1].row + 1,
                     k[i].row + 1);
        }
    }
    for (long i = 0; i < m; ++i)
        free(k[i].key);
    free(k);
    if (ndup)
        return pp_error_set(err, PP_EDATA, "'%s': %ld duplicate %s among "
                            "rows with coordinates: %s%s (keys must be "
                            "unique)", cat->path, ndup,
                            cat->col_id >= 0 ? "IDs" : "(RA, DEC) pairs",
                            list, ndup > MAX_LISTED ? ", ..." : "");
    return PP_OK;
}

/* Project every row with finite RA/DEC into the full frame (SPEC §6.1
 * step 2) and apply the crop box (step 3). */
static void project(crop_catalog *cat, const crop_images *im)
{
    const pp_frames *f = &im->frames;

    for (long r = 0; r < cat->n; ++r) {
        double ra, dec, x = NAN, y = NAN;
        int ok = pp_parse_double(pp_table_get(&cat->table, r, cat->col_ra),
                                 &ra) == 0 &&
                 pp_parse_double(pp_table_get(&cat->table, r, cat->col_dec),
                                 &dec) == 0 &&
                 isfinite(ra) && isfinite(dec);
        /* Rows without finite RA/DEC, and the rare row the projection
         * rejects (far side of the sphere), are outside every box. */
        cat->excluded_crop[r] = 1;
        cat->has_coords[r] = (unsigned char)ok;
        if (!ok || pp_wcs_sky_to_pix(&im->wcs[0], ra, dec, &x, &y) != 0)
            continue;
        cat->x_full[r] = x;
        cat->y_full[r] = y;
        cat->excluded_crop[r] = !(x >= f->x0 && x < f->x1 &&
                                  y >= f->y0 && y < f->y1);
    }
}

int crop_catalog_load(const pp_config *cfg, const crop_images *im,
                      crop_catalog *cat, pp_error *err)
{
    memset(cat, 0, sizeof *cat);
    cat->path = pp_xstrdup(cfg->inputs.input_catalog);
    if (pp_csv_read(cat->path, &cat->table, err) != PP_OK)
        return pp_error_prefix(err, "input catalogue "
                               "(inputs.input_catalog): ");
    cat->col_ra = pp_table_find_column(&cat->table, "RA", cat->path);
    cat->col_dec = pp_table_find_column(&cat->table, "DEC", cat->path);
    cat->col_id = pp_table_find_column(&cat->table, "ID", cat->path);
    if (cat->col_ra < 0 || cat->col_dec < 0)
        return pp_error_set(err, PP_EDATA, "'%s': no '%s' column (RA and "
                            "DEC in degrees are required)", cat->path,
                            cat->col_ra < 0 ? "RA" : "DEC");
    if (check_bands(cat, &im->frames, err) != PP_OK)
        return err->code;
    cat->n = pp_table_nrows(&cat->table);
    cat->x_full = pp_xmalloc(sizeof(double) * (size_t)(cat->n + 1));
    cat->y_full = pp_xmalloc(sizeof(double) * (size_t)(cat->n + 1));
    for (long r = 0; r < cat->n; ++r)
        cat->x_full[r] = cat->y_full[r] = NAN;
    cat->has_coords = pp_xcalloc((size_t)cat->n + 1, 1);
    cat->excluded_crop = pp_xcalloc((size_t)cat->n + 1, 1);
    cat->excluded_saturation = pp_xcalloc((size_t)cat->n + 1, 1);
    cat->hits = pp_xcalloc((size_t)cat->n * (size_t)im->frames.nbands + 1,
                           1);
    project(cat, im);
    return check_duplicates(cat, err);
}

void crop_catalog_release(crop_catalog *cat)
{
    pp_table_release(&cat->table);
    free(cat->path);
    free(cat->x_full);
    free(cat->y_full);
    free(cat->has_coords);
    free(cat->excluded_crop);
    free(cat->excluded_saturation);
    free(cat->hits);
    memset(cat, 0, sizeof *cat);
}
