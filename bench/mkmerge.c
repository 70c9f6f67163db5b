/* mkmerge.c - big synthetic inputs for bench/merge.sh (SPEC §17: pp-merge
 * on 100 000 rows).  Independent of patchphot's code: plain stdio.
 *
 *     mkmerge WORK_DIR NROWS BANDS WIDTH HEIGHT NGRID MODE
 *
 * BANDS is a comma-separated list (band order of frames.json), MODE
 * "multi" or "single".  Writes, in WORK_DIR:
 *   catalog.csv            ID (zero-padded), RA, DEC, TYPE, FLUX_<b> per
 *                          band, x_pix_white, y_pix_white, excluded_crop,
 *                          excluded_saturation, excluded_any (5 % excluded,
 *                          0.5 % without coordinates)
 *   patches/patches.json   NGRID x NGRID patches tiling WIDTH x HEIGHT
 *   outputs/<tag>/<tag>_cat_fit.csv  the base rows of each patch: every
 *                          base cell, then the SPEC §10.5 fit columns with
 *                          full-precision numbers; RA_fit/DEC_fit left empty
 *                          on every 10th row so that pp-merge computes them
 * The numbers are pseudo-random but the same on every run (xorshift).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    unsigned long long s;
} rng;

static double uniform(rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (double)(r->s >> 11) / 9007199254740992.0;
}

typedef struct {
    int n;
    char **name;
} bandlist;

static bandlist split_bands(char *list)
{
    bandlist bl = { 0, calloc(strlen(list) + 1, sizeof(char *)) };

    for (char *t = strtok(list, ","); t; t = strtok(NULL, ","))
        bl.name[bl.n++] = t;
    return bl;
}

static const char *const common[] = {
    "x_pix_patch", "y_pix_patch", "patch_tag", "epsf_tag",
    "psf_min_epsf_nstars_for_use", "psf_used_epsf_band_count",
    "psf_fallback_band_count", "psf_low_star_band_count",
    "psf_fallback_bands", "psf_low_star_bands",
    "psf_frozen_bands_for_optimizer", "psf_fallback_reasons_json"
};
static const char *const multi[] = {
    "opt_niters", "opt_converged", "opt_hit_max_iters", "opt_last_dlnp",
    "flag_bound_stalled", "flag_bound_stalled_which_parameter",
    "x_pix_patch_fit", "y_pix_patch_fit", "x_pix_white_fit",
    "y_pix_white_fit", "RA_fit", "DEC_fit", "stype_fit", "sersic_n_fit",
    "re_pix_fit", "ab_fit", "phi_deg_fit", "ELL_fit", "Re_fit", "THETA_fit"
};
static const char *const single_fit[] = {
    "x_pix_patch", "y_pix_patch", "x_pix_white", "y_pix_white", "RA", "DEC",
    "sersic_n", "re_pix", "ab", "phi_deg", "ELL", "Re", "THETA", "FLUX",
    "FLUXERR"
};
static const char *const single_opt[] = {
    "opt_niters", "opt_converged", "opt_hit_max_iters", "opt_last_dlnp",
    "flag_bound_stalled", "flag_bound_stalled_which_parameter"
};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    double ra, dec, x, y;
    int crop, sat, nocoord;
    double flux[256];
} row;

static const char *tf(int b)
{
    return b ? "True" : "False";
}

static void base_header(FILE *fp, const bandlist *bl)
{
    fputs("ID,RA,DEC,TYPE", fp);
    for (int b = 0; b < bl->n; ++b)
        fprintf(fp, ",FLUX_%s", bl->name[b]);
    fputs(",x_pix_white,y_pix_white,excluded_crop,excluded_saturation,"
          "excluded_any", fp);
}

static void base_cells(FILE *fp, long i, const row *r, int nbands)
{
    fprintf(fp, "%06ld", i + 1);
    if (r->nocoord)
        fputs(",,", fp);
    else
        fprintf(fp, ",%.9f,%.9f", r->ra, r->dec);
    fputs(i % 3 ? ",STAR" : ",GAL", fp);
    for (int b = 0; b < nbands; ++b)
        fprintf(fp, ",%.4g", r->flux[b]);
    if (r->nocoord)
        fputs(",,", fp);
    else
        fprintf(fp, ",%.17g,%.17g", r->x, r->y);
    fprintf(fp, ",%s,%s,%s", tf(r->crop || r->nocoord), tf(r->sat),
            tf(r->crop || r->sat || r->nocoord));
}

static void fit_header(FILE *fp, const bandlist *bl, int is_multi)
{
    base_header(fp, bl);
    for (size_t k = 0; k < N_OF(common); ++k)
        fprintf(fp, ",%s", common[k]);
    if (is_multi) {
        for (size_t k = 0; k < N_OF(multi); ++k)
            fprintf(fp, ",%s", multi[k]);
        for (int b = 0; b < bl->n; ++b)
            fprintf(fp, ",FLUX_%s_fit,FLUXERR_%s_fit", bl->name[b],
                    bl->name[b]);
    } else {
        fputs(",stype_fit", fp);
        for (int b = 0; b < bl->n; ++b) {
            for (size_t k = 0; k < N_OF(single_fit); ++k)
                fprintf(fp, ",%s_%s_fit", single_fit[k], bl->name[b]);
            for (size_t k = 0; k < N_OF(single_opt); ++k)
                fprintf(fp, ",%s_%s", single_opt[k], bl->name[b]);
        }
    }
    fputc('\n', fp);
}

/* The fit cells of row i: the PSF columns, the optimiser (multi) or
 * stype_fit (single), then per position block x/y patch, x/y white, RA,
 * DEC (empty on every 10th row), morphology (empty: stars), and in
 * single-band mode the band's flux, error and optimiser cells. */
static void fit_cells(FILE *fp, long i, const row *r, const char *tag,
                      double x0, double y0, rng *g, int nbands, int is_multi)
{
    int nb = is_multi ? 1 : nbands;

    fprintf(fp, ",%.17g,%.17g,%s,r00_c00,2,%d,0,0,,,,{}", r->x - x0,
            r->y - y0, tag, nbands);
    if (is_multi)
        fprintf(fp, ",%d,True,False,%.17g,False,", 3 + (int)(i % 7),
                1e-7 * uniform(g));
    else
        fputs(",star", fp);             /* stype_fit */
    for (int p = 0; p < nb; ++p) {
        double dx = 0.01 * (uniform(g) - 0.5), dy = 0.01 * (uniform(g) - 0.5);
        fprintf(fp, ",%.17g,%.17g,%.17g,%.17g", r->x - x0 + dx,
                r->y - y0 + dy, r->x + dx, r->y + dy);
        if (i % 10 == 0)
            fputs(",,", fp);
        else
            fprintf(fp, ",%.17g,%.17g", r->ra + 1e-7 * dx, r->dec + 1e-7 * dy);
        if (is_multi)
            fputs(",star,,,,,,,", fp);
        else
            fprintf(fp, ",,,,,,,,%.17g,%.17g,%d,True,False,%.17g,False,",
                    r->flux[p] * (1 + 0.01 * uniform(g)),
                    0.01 * r->flux[p], 3 + (int)(i % 7), 1e-7 * uniform(g));
    }
    if (is_multi)
        for (int b = 0; b < nbands; ++b)
            fprintf(fp, ",%.17g,%.17g", r->flux[b] * (1 + 0.01 * uniform(g)),
                    0.01 * r->flux[b]);
    fputc('\n', fp);
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: mkmerge WORK NROWS BANDS W H NGRID "
                "multi|single\n");
        return 2;
    }
    const char *work = argv[1];
    long n = atol(argv[2]), w = atol(argv[4]), h = atol(argv[5]);
    int ng = atoi(argv[6]), is_multi = strcmp(argv[7], "multi") == 0;
    char path[4096];
    rng g = { 88172645463325252ULL };
    row *rows;
    long *order, *start;
    FILE *fp;

    bandlist bl = split_bands(argv[3]);
    int nbands = bl.n;
    if (nbands < 1 || nbands > 256 || n < 1 || ng < 1 || w < ng || h < ng)
        return 2;
    rows = calloc((size_t)n, sizeof *rows);
    for (long i = 0; i < n; ++i) {
        row *r = &rows[i];
        r->x = uniform(&g) * (double)w;
        r->y = uniform(&g) * (double)h;
        r->ra = 150 + r->x * 1.4e-4;
        r->dec = 2 + r->y * 1.4e-4;
        r->nocoord = i % 200 == 199;
        r->crop = i % 40 == 7;
        r->sat = i % 50 == 11;
        for (int b = 0; b < nbands; ++b)
            r->flux[b] = 10 + 1000 * uniform(&g);
    }
    snprintf(path, sizeof path, "%s/catalog.csv", work);
    fp = fopen(path, "w");
    if (!fp)
        return 1;
    base_header(fp, &bl);
    fputc('\n', fp);
    for (long i = 0; i < n; ++i) {
        base_cells(fp, i, &rows[i], nbands);
        fputc('\n', fp);
    }
    if (fclose(fp) != 0)
        return 1;

    /* Rows of each patch (counting sort by patch index). */
    order = calloc((size_t)n, sizeof *order);
    start = calloc((size_t)ng * ng + 1, sizeof *start);
    long stepx = w / ng, stepy = h / ng;
    int *pidx = calloc((size_t)n, sizeof *pidx);
    for (long i = 0; i < n; ++i) {
        const row *r = &rows[i];
        long px = (long)(r->x / (double)stepx);
        long py = (long)(r->y / (double)stepy);
        if (px >= ng) px = ng - 1;
        if (py >= ng) py = ng - 1;
        pidx[i] = r->nocoord || r->crop || r->sat ? -1 : (int)(py * ng + px);
        if (pidx[i] >= 0)
            start[pidx[i] + 1]++;
    }
    for (int p = 0; p < ng * ng; ++p)
        start[p + 1] += start[p];
    {
        long *fill = calloc((size_t)ng * ng, sizeof *fill);
        for (long i = 0; i < n; ++i)
            if (pidx[i] >= 0)
                order[start[pidx[i]] + fill[pidx[i]]++] = i;
        free(fill);
    }

    snprintf(path, sizeof path, "%s/patches", work);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/outputs", work);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/patches/patches.json", work);
    FILE *pj = fopen(path, "w");
    if (!pj)
        return 1;
    fputs("[\n", pj);
    for (int py = 0; py < ng; ++py)
        for (int px = 0; px < ng; ++px) {
            int p = py * ng + px;
            char tag[64];
            long x0 = px * stepx, x1 = px == ng - 1 ? w : x0 + stepx;
            long y0 = py * stepy, y1 = py == ng - 1 ? h : y0 + stepy;
            snprintf(tag, sizeof tag, "r00_c00_pr%02d_pc%02d", py, px);
            fprintf(pj, "%s  {\"patch_tag\": \"%s\", \"x0_base\": %ld, "
                    "\"x1_base\": %ld, \"y0_base\": %ld, \"y1_base\": %ld, "
                    "\"payload\": \"%s.fits\"}", p ? ",\n" : "", tag, x0, x1,
                    y0, y1, tag);
            snprintf(path, sizeof path, "%s/outputs/%s", work, tag);
            mkdir(path, 0777);
            snprintf(path, sizeof path, "%s/outputs/%s/%s_cat_fit.csv", work,
                     tag, tag);
            fp = fopen(path, "w");
            if (!fp)
                return 1;
            fit_header(fp, &bl, is_multi);
            for (long k = start[p]; k < start[p + 1]; ++k) {
                long i = order[k];
                base_cells(fp, i, &rows[i], nbands);
                fit_cells(fp, i, &rows[i], tag, (double)x0, (double)y0, &g,
                          nbands, is_multi);
            }
            if (fclose(fp) != 0)
                return 1;
        }
    fputs("\n]\n", pj);
    if (fclose(pj) != 0)
        return 1;
    free(rows);
    free(order);
    free(start);
    free(pidx);
    free(bl.name);
    return 0;
}
