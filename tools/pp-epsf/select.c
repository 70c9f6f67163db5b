/* select.c - PSF-star candidates, tests, ranking and stamps (SPEC §8.2
 * steps 3–4); see select.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pp_mem.h"

#include "select.h"
#include "stats.h"

/* SPEC §8.2 step 3: bad-pixel radius max(3·FWHM, 5) px. */
#define CORE_FWHM 3.0
#define CORE_MIN_PIX 5.0
/* SPEC §8.2 step 4: clipping passes of the local background. */
#define LOCAL_BKG_ITERS 5

/* Forced aperture of every SEP detection. */
typedef struct {
    double *flux, *snr;
    int *aflag;
    unsigned char *taken;       /* snapped to a Gaia seed */
} det_aper;

const char *epsf_origin_name(int origin)
{
    return origin == EPSF_ORIGIN_GAIA ? "gaia" :
           origin == EPSF_ORIGIN_BOTH ? "both" : "sep";
}

double epsf_select_core_radius(double fwhm)
{
    return fmax(CORE_FWHM * fwhm, CORE_MIN_PIX);
}

double epsf_select_aper_radius(const pp_config *cfg, double fwhm)
{
    double r = cfg->epsf.gaia_forced_k_fwhm * fwhm;

    r = fmax(r, cfg->epsf.gaia_forced_rmin_pix);
    return fmin(r, cfg->epsf.gaia_forced_rmax_pix);
}

static int in_cell(const epsf_select_ctx *c, double x, double y)
{
    return x >= c->cx0 && x < c->cx1 && y >= c->cy0 && y < c->cy1;
}

/* Forced aperture at working-frame (x, y).  OUTPUT flux, snr, flags. */
static void aperture(const epsf_select_ctx *c, const epsf_region *r,
                     double x, double y, double *flux, double *snr,
                     int *flag)
{
    const pp_frame_band *b = &c->frames->bands[c->band];
    double gain = b->egain > 0 && b->scale > 0 ? b->egain / b->scale : 0;
    sep_image s = epsf_region_sep_image(r, c->sky_sigma, gain);
    double sum = NAN, sumerr = NAN, area;
    short fl = 0;

    /* subpix 0: exact overlap (SPEC §8.2 step 8 uses the same). */
    if (sep_sum_circle(&s, x - r->x0, y - r->y0,
                       epsf_select_aper_radius(c->cfg, c->fwhm), 0, 0, 0,
                       &sum, &sumerr, &area, &fl) != 0)
        sum = sumerr = NAN;
    *flux = sum;
    *snr = sumerr > 0 ? sum / sumerr : NAN;
    *flag = fl;
}

static void det_aper_make(const epsf_select_ctx *c, const epsf_region *r,
                          det_aper *d)
{
    int n = r->cat->nobj;

    d->flux = pp_xcalloc((size_t)n + 1, sizeof(double));
    d->snr = pp_xcalloc((size_t)n + 1, sizeof(double));
    d->aflag = pp_xcalloc((size_t)n + 1, sizeof(int));
    d->taken = pp_xcalloc((size_t)n + 1, 1);
    for (int k = 0; k < n; k++)
        aperture(c, r, r->cat->x[k] + r->x0, r->cat->y[k] + r->y0,
                 &d->flux[k], &d->snr[k], &d->aflag[k]);
}

static void det_aper_free(det_aper *d)
{
    free(d->flux);
    free(d->snr);
    free(d->aflag);
    free(d->taken);
}

/* Seeds in the cell and magnitude range, brightest first. */
static int cmp_mag(const void *a, const void *b)
{
    double x = (*(const epsf_gaia *const *)a)->mag;
    double y = (*(const epsf_gaia *const *)b)->mag;

    return (x > y) - (x < y);
}

/* Nearest untaken detection within the match radius, or -1. */
static int snap(const epsf_select_ctx *c, const epsf_region *r,
                const det_aper *d, double x, double y)
{
    double best = c->cfg->epsf.gaia_match_r_pix;
    int k = -1;

    for (int i = 0; i < r->cat->nobj; i++) {
        double dd = hypot(r->cat->x[i] + r->x0 - x, r->cat->y[i] + r->y0 - y);
        if (!d->taken[i] && dd <= best) {
            best = dd;
            k = i;
        }
    }
    return k;
}

static void add_cand(epsf_cand **v, int *n, int *cap, const epsf_cand *c)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *v = pp_xrealloc(*v, sizeof(epsf_cand) * (size_t)*cap);
    }
    (*v)[(*n)++] = *c;
}

static epsf_cand new_cand(double x, double y, int origin, double mag,
                          int sep)
{
    epsf_cand k;

    memset(&k, 0, sizeof k);
    k.x = x;
    k.y = y;
    k.origin = origin;
    k.gaia_mag = mag;
    k.sep = sep;
    return k;
}

/* The candidates of the cell by psfstar_mode (SPEC §8.2 step 3). */
static void gather(const epsf_select_ctx *c, const epsf_region *r,
                   det_aper *d, epsf_cand **v, int *n, int *nseed,
                   int *nextract)
{
    const char *mode = c->cfg->epsf.psfstar_mode;
    int use_gaia = strcmp(mode, "sep") != 0, use_sep = strcmp(mode, "gaia");
    const epsf_gaia **seeds = pp_xcalloc((size_t)c->ngaia + 1,
                                         sizeof *seeds);
    int ns = 0, cap = 0;

    *n = *nextract = 0;
    for (long g = 0; g < c->ngaia; g++)
        if (in_cell(c, c->gaia[g].x, c->gaia[g].y) &&
            c->gaia[g].mag >= c->cfg->epsf.gaia_mag_min &&
            c->gaia[g].mag <= c->cfg->epsf.gaia_mag_max)
            seeds[ns++] = &c->gaia[g];
    *nseed = ns;
    qsort(seeds, (size_t)ns, sizeof *seeds, cmp_mag);
    for (int i = 0; use_gaia && i < ns; i++) {
        int k = c->cfg->epsf.gaia_snap_to_sep ?
                snap(c, r, d, seeds[i]->x, seeds[i]->y) : -1;
        epsf_cand e = k >= 0 ?
            new_cand(r->cat->x[k] + r->x0, r->cat->y[k] + r->y0,
                     EPSF_ORIGIN_BOTH, seeds[i]->mag, k) :
            new_cand(seeds[i]->x, seeds[i]->y, EPSF_ORIGIN_GAIA,
                     seeds[i]->mag, -1);
        if (k >= 0)
            d->taken[k] = 1;
        add_cand(v, n, &cap, &e);
    }
    for (int k = 0; k < r->cat->nobj; k++) {
        double x = r->cat->x[k] + r->x0, y = r->cat->y[k] + r->y0;
        epsf_cand e = new_cand(x, y, EPSF_ORIGIN_SEP, NAN, k);
        if (!in_cell(c, x, y))
            continue;
        ++*nextract;
        if (use_sep && !d->taken[k])
            add_cand(v, n, &cap, &e);
    }
    free(seeds);
}

/* Edge test: the stamp inside the full image with edge_pad to spare
 * (and inside the region read). */
static int edge_ok(const epsf_select_ctx *c, const epsf_region *r,
                   double x, double y)
{
    long h = c->cfg->epsf.cutout_size / 2, pad = c->cfg->epsf.edge_pad;
    long X = (long)nearbyint(x), Y = (long)nearbyint(y);
    long fx = X + c->frames->x0, fy = Y + c->frames->y0;

    return fx - h >= pad && fx + h <= c->frames->full_w - 1 - pad &&
           fy - h >= pad && fy + h <= c->frames->full_h - 1 - pad &&
           X - h >= r->x0 && X + h < r->x0 + r->w &&
           Y - h >= r->y0 && Y + h < r->y0 + r->h;
}

/* Raw-pixel tests of step 3 on the unmasked raw image: "" or a reason. */
static const char *raw_test(const epsf_select_ctx *c, const epsf_region *r,
                            double x, double y)
{
    const pp_frame_band *b = &c->frames->bands[c->band];
    double R = epsf_select_core_radius(c->fwhm);
    double rs = (double)c->cfg->epsf.gaia_seed_sat_r, peak = -INFINITY;
    double xr = x - r->x0, yr = y - r->y0;
    int nonfinite = 0, sat = 0;

    for (int j = (int)floor(yr - R); j <= (int)ceil(yr + R); j++)
        for (int i = (int)floor(xr - R); i <= (int)ceil(xr + R); i++) {
            double d = hypot(i - xr, j - yr), v;
            if (d > R || i < 0 || j < 0 || i >= r->w || j >= r->h)
                continue;
            v = r->raw[(size_t)j * r->w + i];
            if (!isfinite(v))
                nonfinite = 1;
            else if (!isnan(b->saturate) && v >= b->saturate / 2.0)
                sat = 1;
            if (isfinite(v) && d <= rs && v > peak)
                peak = v;
        }
    if (nonfinite)
        return "nonfinite";
    if (sat || (!isnan(b->saturate) &&
                peak >= b->saturate / c->cfg->epsf.gaia_seed_sat_div))
        return "saturated";
    return "";
}

/* Isolation: no brighter-than-ratio neighbour within min_sep px (the
 * candidate's own detection, and sources within gaia_match_r_pix — the
 * same star seen by the other list — excepted). */
static int isolated(const epsf_select_ctx *c, const epsf_region *r,
                    const det_aper *d, const epsf_cand *k)
{
    double lim = c->cfg->epsf.isolation_flux_ratio * k->flux;
    double sep = c->cfg->epsf.min_sep, same = c->cfg->epsf.gaia_match_r_pix;

    for (int i = 0; i < r->cat->nobj; i++) {
        double dd = hypot(r->cat->x[i] + r->x0 - k->x,
                          r->cat->y[i] + r->y0 - k->y);
        if (i == k->sep || (k->sep < 0 && dd <= same))
            continue;
        if (dd <= sep && d->flux[i] > lim)
            return 0;
    }
    for (long g = 0; g < c->ngaia; g++) {
        double dd = hypot(c->gaia[g].x - k->x, c->gaia[g].y - k->y);
        if (dd > same && dd <= sep && c->gaia[g].flux > lim)
            return 0;
    }
    return 1;
}

static void test_cand(const epsf_select_ctx *c, const epsf_region *r,
                      const det_aper *d, epsf_cand *k)
{
    const pp_config *cfg = c->cfg;
    int aflag = 0;
    const char *why = "";

    if (k->sep >= 0) {
        k->flux = d->flux[k->sep];
        k->snr = d->snr[k->sep];
        aflag = d->aflag[k->sep];
        k->sep_flag = r->cat->flag[k->sep] | aflag;
    } else {
        aperture(c, r, k->x, k->y, &k->flux, &k->snr, &aflag);
        k->sep_flag = aflag;
    }
    if (!edge_ok(c, r, k->x, k->y))
        why = "edge";
    else if (*(why = raw_test(c, r, k->x, k->y)))
        ;
    else if (k->sep >= 0 &&
             !(r->cat->b[k->sep] > 0 &&
               r->cat->a[k->sep] / r->cat->b[k->sep] <= cfg->epsf.q_range[1]
               && r->cat->a[k->sep] / r->cat->b[k->sep] >=
                  cfg->epsf.q_range[0]))
        why = "elongated";
    else if ((k->sep >= 0 &&
              (r->cat->flag[k->sep] & (SEP_OBJ_MERGED | SEP_OBJ_TRUNC))) ||
             (aflag & SEP_APER_HASMASKED))
        why = "sep_flags";
    else if (!(k->snr >= cfg->epsf.gaia_snr_min) || !(k->flux > 0))
        why = "low_snr";
    else if (!isolated(c, r, d, k))
        why = "crowded";
    snprintf(k->reason, sizeof k->reason, "%s", why);
}

/* Ranking of SPEC §8.2 step 3: passing first, Gaia origin first (mode
 * sep+gaia), SNR descending (NaN last), then position for a total
 * order. */
static int cmp_rank(const void *pa, const void *pb)
{
    const epsf_cand *a = pa, *b = pb;
    int fa = a->reason[0] != 0, fb = b->reason[0] != 0;
    int ga = a->origin == EPSF_ORIGIN_SEP, gb = b->origin == EPSF_ORIGIN_SEP;
    double sa = isnan(a->snr) ? -INFINITY : a->snr;
    double sb = isnan(b->snr) ? -INFINITY : b->snr;

    if (fa != fb)
        return fa - fb;
    if (ga != gb)
        return ga - gb;
    if (sa != sb)
        return sa < sb ? 1 : -1;
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    return (a->x > b->x) - (a->x < b->x);
}

void epsf_select(const epsf_select_ctx *c, const epsf_region *r,
                 epsf_cand **cands, int *ncands, int *nseed, int *nextract,
                 int *nsel)
{
    det_aper d;
    epsf_cand *v = NULL;
    int n = 0;

    det_aper_make(c, r, &d);
    gather(c, r, &d, &v, &n, nseed, nextract);
    for (int i = 0; i < n; i++)
        test_cand(c, r, &d, &v[i]);
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, cmp_rank);
    /* Exactly max_stars at most (SPEC §8.2 step 3). */
    *nsel = 0;
    for (int i = 0; i < n; i++) {
        if (v[i].reason[0])
            continue;
        if (*nsel < c->cfg->epsf.max_stars)
            ++*nsel;
        else
            strcpy(v[i].reason, "max_stars");
    }
    det_aper_free(&d);
    *cands = v;
    *ncands = n;
}

/* Step 4: sigma-clipped median of the valid annulus pixels. */
static void local_bkg(const epsf_select_ctx *c, int S, const double *img,
                      const unsigned char *valid, epsf_cand *k)
{
    const pp_config *cfg = c->cfg;
    double rout = fmin(cfg->epsf.star_local_bkg_annulus_rout_pix,
                       (S - 1) / 2.0 - 1.0);
    double rin = fmin(cfg->epsf.star_local_bkg_annulus_rin_pix, rout - 1.0);
    double h = (S - 1) / 2.0, *v = pp_xmalloc(sizeof(double) * S * S), m;
    long n = 0, kept;

    for (int j = 0; j < S; j++)
        for (int i = 0; i < S; i++) {
            double d = hypot(i - h, j - h);
            if (d >= rin && d <= rout && valid[j * S + i])
                v[n++] = img[j * S + i];
        }
    m = epsf_clipped_median(v, n, cfg->epsf.star_local_bkg_sigma,
                            LOCAL_BKG_ITERS, &kept);
    k->annulus_npix = n ? kept : 0;
    k->local_bkg_ok = n > 0 && kept >= cfg->epsf.star_local_bkg_minpix;
    k->local_bkg = k->local_bkg_ok ? m : 0.0;
    free(v);
}

void epsf_select_stamp(const epsf_select_ctx *c, const epsf_region *r,
                       epsf_cand *k, double *data, unsigned char *valid,
                       double *dx, double *dy, double *raw)
{
    int S = (int)c->cfg->epsf.cutout_size, h = S / 2;
    long X = (long)nearbyint(k->x), Y = (long)nearbyint(k->y);
    long ox = X - h - r->x0, oy = Y - h - r->y0;
    double scale = c->frames->bands[c->band].scale;
    int own;

    /* The star's own segment: its detection, else the one under it. */
    own = k->sep >= 0 ? k->sep + 1 : r->seg[(Y - r->y0) * r->w + X - r->x0];
    for (int j = 0; j < S; j++)
        for (int i = 0; i < S; i++) {
            size_t q = (size_t)(oy + j) * r->w + (size_t)(ox + i);
            int sg = r->seg[q];
            data[j * S + i] = r->img[q];
            valid[j * S + i] = !r->bad[q] && (sg == 0 || sg == own);
            if (raw)
                raw[j * S + i] = isfinite(r->raw[q]) ? r->raw[q] * scale
                                                     : NAN;
        }
    *dx = k->x - X;
    *dy = k->y - Y;
    k->local_bkg = 0;
    k->annulus_npix = 0;
    k->local_bkg_ok = 0;
    if (c->cfg->epsf.star_local_bkg_subtract) {
        local_bkg(c, S, data, valid, k);
        for (int q = 0; q < S * S; q++)
            data[q] -= k->local_bkg;
    }
}
