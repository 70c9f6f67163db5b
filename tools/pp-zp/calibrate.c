/* calibrate.c - `pp-zp calibrate`: zero points and magnitudes (SPEC §12).
 * The contract is in calibrate.h (statistics, tables) and zp.h (stage). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pp_csv.h"
#include "pp_frames.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"
#include "pp_table.h"

#include "calibrate.h"
#include "zp.h"

/* ---- Statistics of one band (SPEC §12 steps 3-4) ----------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double zp_median(const double *v, long n, double *scratch)
{
    if (n <= 0)
        return NAN;
    if (scratch != v)
        memcpy(scratch, v, sizeof *v * (size_t)n);
    qsort(scratch, (size_t)n, sizeof *scratch, cmp_double);
    /* numpy's median: the mean of the two middle values for even n */
    return n % 2 ? scratch[n / 2]
                 : 0.5 * (scratch[n / 2 - 1] + scratch[n / 2]);
}

/* Median of the kept v[i] (all when kept is NULL); *nk gets their
 * number.  buf holds n doubles. */
static double kept_median(const double *v, const unsigned char *kept,
                          long n, double *buf, long *nk)
{
    long m = 0;

    for (long i = 0; i < n; ++i)
        if (!kept || kept[i])
            buf[m++] = v[i];
    *nk = m;
    return zp_median(buf, m, buf);
}

/* Median absolute deviation of the kept v[i] from centre (unscaled). */
static double kept_mad(const double *v, const unsigned char *kept, long n,
                       double centre, double *buf)
{
    long m = 0;

    for (long i = 0; i < n; ++i)
        if (!kept || kept[i])
            buf[m++] = fabs(v[i] - centre);
    return zp_median(buf, m, buf);
}

long zp_clip(const double *zp, long n, double clip_sigma, long max_iters,
             unsigned char *kept)
{
    double *buf = pp_xmalloc(sizeof *buf * (size_t)(n + 1));
    long nk = n;

    for (long i = 0; i < n; ++i)
        kept[i] = 1;
    for (long it = 0; it < max_iters && nk >= ZP_CLIP_MIN_KEPT; ++it) {
        double centre = kept_median(zp, kept, n, buf, &nk);
        double sigma = ZP_MAD_SCALE * kept_mad(zp, kept, n, centre, buf);
        int changed = 0;
        if (!(sigma > 0.0))
            break;
        /* SPEC §12 step 3: the whole sample is re-judged each time, so
         * a point clipped early may come back. */
        nk = 0;
        for (long i = 0; i < n; ++i) {
            unsigned char k = fabs(zp[i] - centre) <= clip_sigma * sigma;
            changed |= k != kept[i];
            kept[i] = k;
            nk += k;
        }
        if (!changed)
            break;
    }
    free(buf);
    return nk;
}

typedef struct {
    double v, w;
    long i;
} zp_wpoint;

static int cmp_wpoint(const void *a, const void *b)
{
    const zp_wpoint *p = a, *q = b;

    if (p->v != q->v)
        return (p->v > q->v) - (p->v < q->v);
    return (p->i > q->i) - (p->i < q->i);
}

static int valid_err(double e)
{
    return isfinite(e) && e > 0.0;
}

double zp_weighted_median(const double *v, const double *err,
                          const unsigned char *kept, long n)
{
    zp_wpoint *pt = pp_xmalloc(sizeof *pt * (size_t)(n + 1));
    double total = 0.0, cum = 0.0, res = NAN;
    long m = 0;

    for (long i = 0; i < n; ++i)
        if ((!kept || kept[i]) && valid_err(err[i]))
            pt[m++] = (zp_wpoint){ v[i], 1.0 / (err[i] * err[i]), i };
    if (m == 0) {               /* no valid error: the plain median */
        double *buf = pp_xmalloc(sizeof *buf * (size_t)(n + 1));
        long nk;
        res = kept_median(v, kept, n, buf, &nk);
        free(buf);
        free(pt);
        return res;
    }
    qsort(pt, (size_t)m, sizeof *pt, cmp_wpoint);
    for (long k = 0; k < m; ++k)        /* summed in sorted order */
        total += pt[k].w;
    for (long k = 0; k < m; ++k) {
        cum += pt[k].w;
        if (cum >= 0.5 * total) {       /* the lower weighted median */
            res = pt[k].v;
            break;
        }
    }
    free(pt);
    return res;
}

/* Standard deviation (ddof 1) of the kept v[i] with snr[i] >= thr (every
 * kept point when thr is NAN); *cnt gets their number. */
static double std_above(const double *v, const double *snr,
                        const unsigned char *kept, long n, double thr,
                        long *cnt)
{
    double sum = 0.0, ss = 0.0, mean;
    long m = 0;

    for (long i = 0; i < n; ++i)
        if (kept[i] && (isnan(thr) || snr[i] >= thr)) {
            sum += v[i];
            ++m;
        }
    *cnt = m;
    if (m < 2)
        return NAN;
    mean = sum / (double)m;
    for (long i = 0; i < n; ++i)
        if (kept[i] && (isnan(thr) || snr[i] >= thr))
            ss += (v[i] - mean) * (v[i] - mean);
    return sqrt(ss / (double)(m - 1));
}

void zp_err_std_ladder(const double *v, const double *snr,
                       const unsigned char *kept, long n,
                       const zp_calib_params *p, double *std, long *nsrc,
                       double *snr_used)
{
    /* SPEC §12 step 4: zp_err_snr_min, then each fallback, then all. */
    for (int k = -1; k < p->n_snr_fallbacks; ++k) {
        double thr = k < 0 ? p->snr_min : p->snr_fallbacks[k];
        *std = std_above(v, snr, kept, n, thr, nsrc);
        if (*nsrc >= p->min_sources) {
            *snr_used = thr;
            return;
        }
    }
    *std = std_above(v, snr, kept, n, NAN, nsrc);
    *snr_used = 0.0;
}

void zp_band_stats_compute(const zp_calib_params *p, const double *zp,
                           const double *zp_err, const double *snr, long n,
                           unsigned char *kept, zp_band_stats *st)
{
    double *buf = pp_xmalloc(sizeof *buf * (size_t)(n + 1));

    st->n_raw = n;
    st->n_kept = zp_clip(zp, n, p->clip_sigma, p->clip_max_iters, kept);
    st->n_clipped = n - st->n_kept;
    st->zp_median = zp_weighted_median(zp, zp_err, kept, n);
    st->zp_err_mad = st->n_kept > 0
        ? ZP_MAD_SCALE * kept_mad(zp, kept, n, st->zp_median, buf) : NAN;
    zp_err_std_ladder(zp, snr, kept, n, p, &st->zp_err_std,
                      &st->n_zp_err_src, &st->zp_err_snr_used);
    st->zp_err = p->bright_std ? st->zp_err_std : st->zp_err_mad;
    free(buf);
}

double zp_mag(double zp_median, double flux)
{
    if (!isfinite(zp_median) || !isfinite(flux) || !(flux > 0.0))
        return NAN;
    return zp_median - 2.5 * log10(flux);
}

double zp_magerr(double flux, double fluxerr, double zp_err)
{
    double rel;

    if (!isfinite(flux) || flux == 0.0 || !isfinite(fluxerr) ||
        !isfinite(zp_err))
        return NAN;
    rel = ZP_MAG_PER_RELFLUX * fluxerr / flux;
    return sqrt(rel * rel + zp_err * zp_err);
}

void zp_calib_params_from_config(const pp_config *cfg, zp_calib_params *p)
{
    p->clip_sigma = cfg->zp.clip_sigma;
    p->clip_max_iters = cfg->zp.clip_max_iters;
    p->bright_std = strcmp(cfg->zp.zp_err_method, "bright_std") == 0;
    p->snr_min = cfg->zp.zp_err_snr_min;
    p->snr_fallbacks = cfg->zp.zp_err_snr_fallbacks;
    p->n_snr_fallbacks = cfg->zp.n_zp_err_snr_fallbacks;
    p->min_sources = cfg->zp.zp_err_min_sources;
}

/* ---- Number text (SPEC §3.4), fast ----------------------------------- */

/* pp_csv_format_double() tries %.15g, %.16g and %.17g with snprintf and
 * strtod, about 2 us a number: most of the run time when 8 million MAG
 * cells are written (bench/zpcal.sh).  The same text is found here with
 * integer arithmetic for the numbers a magnitude column holds: v = m 2^e
 * (m < 2^53, -70 <= e < 0) times 10^k (k <= 22) is exact in 128 bits, so
 * rounding to P digits (half to even, as glibc's printf rounds the exact
 * binary value) and the read-back test (is the P-digit decimal within half
 * an ulp of v, ties to even, as glibc's strtod reads) need no big
 * numbers.  Anything else (0, -0, NaN, inf, exponent notation, values
 * outside that range) goes to pp_csv_format_double(). */
typedef unsigned __int128 zp_u128;

#define ZP_E19 10000000000000000000ULL

/* 10^k for 0 <= k <= 22, the range fast_format() uses. */
static zp_u128 pow10_u128(int k)
{
    static const unsigned long long small[20] = {
        1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
        10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
        100000000000ULL, 1000000000000ULL, 10000000000000ULL,
        100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
        100000000000000000ULL, 1000000000000000000ULL, ZP_E19
    };

    return k < 20 ? small[k] : (zp_u128)ZP_E19 * small[k - 19];
}

/* %.Pg of the P-digit integer q with decimal exponent x in fixed notation
 * (-4 <= x < P), trailing zeros removed. */
static void fixed_text(int neg, unsigned long long q, int P, int x,
                       char buf[32])
{
    char d[24];
    int n = 0, last;

    for (int j = P - 1; j >= 0; --j, q /= 10)
        d[j] = (char)('0' + q % 10);
    for (last = P - 1; last > x && last > 0 && d[last] == '0'; --last)
        ;
    if (neg)
        buf[n++] = '-';
    if (x < 0) {
        buf[n++] = '0';
        buf[n++] = '.';
        for (int z = 0; z < -x - 1; ++z)
            buf[n++] = '0';
        for (int j = 0; j <= last; ++j)
            buf[n++] = d[j];
    } else {
        for (int j = 0; j <= x; ++j)
            buf[n++] = d[j];
        if (last > x)
            buf[n++] = '.';
        for (int j = x + 1; j <= last; ++j)
            buf[n++] = d[j];
    }
    buf[n] = '\0';
}

/* v = m 2^-s rounded to P significant digits: the integer q and the
 * decimal exponent *x of its first digit, as %.Pg finds them (*x is a
 * guess on entry).  The exponent comes from the exact value; a rounding
 * carry (9.99..95 -> 10.0..0) then moves it up by one.  0 when out of the
 * exact range. */
static int round_digits(unsigned long long m, int s, int P, int *x,
                        unsigned long long *q)
{
    zp_u128 lo = pow10_u128(P - 1);

    for (int tries = 0; tries < 3; ++tries) {
        int k = P - 1 - *x;
        zp_u128 num, t, r, half;
        if (k < 0 || k > 22)
            return 0;
        num = (zp_u128)m * pow10_u128(k);
        t = num >> s;
        if (t < lo || t >= lo * 10) {
            *x += t < lo ? -1 : 1;
            continue;
        }
        r = num & (((zp_u128)1 << s) - 1);
        half = (zp_u128)1 << (s - 1);
        t += r > half || (r == half && (t & 1));
        if (t == lo * 10) {
            t = lo;
            ++*x;
        }
        *q = (unsigned long long)t;
        return 1;
    }
    return 0;
}

/* Does q 10^-k (k = P - 1 - x) read back as m 2^-s? */
static int reads_back(unsigned long long m, int s, unsigned long long q,
                      int k)
{
    zp_u128 num = (zp_u128)m * pow10_u128(k), d = (zp_u128)q << s;
    zp_u128 diff = d > num ? d - num : num - d, tenk = pow10_u128(k);
    /* below a power of two the gap to the next lower double halves */
    int mult = m == (1ULL << 52) && d < num ? 4 : 2;

    return diff * mult < tenk || (diff * mult == tenk && !(m & 1));
}

static int fast_format(double v, char buf[32])
{
    double a = fabs(v), f;
    unsigned long long m, q;
    int e2, s, x;

    if (!isfinite(a) || a == 0.0)
        return 0;
    f = frexp(a, &e2);
    m = (unsigned long long)ldexp(f, 53);
    s = 53 - e2;                        /* a = m 2^-s */
    if (s <= 0 || s > 70)
        return 0;
    x = (int)floor(log10(a));
    for (int P = 15; P <= 17; ++P) {
        if (!round_digits(m, s, P, &x, &q))
            return 0;
        if (reads_back(m, s, q, P - 1 - x)) {
            if (x < -4 || x >= P)
                return 0;               /* exponent notation */
            fixed_text(signbit(v) != 0, q, P, x, buf);
            return 1;
        }
    }
    return 0;
}

const char *zp_format_double(double v, char buf[32])
{
    return fast_format(v, buf) ? buf : pp_csv_format_double(v, buf);
}

/* ---- Reliability (SPEC §12 step 1, §11 step 7) ------------------------- */

static int need_column(const pp_table *t, const char *path, const char *name,
                       const char *why, int *col, pp_error *err)
{
    *col = pp_table_find_column(t, name, NULL);
    if (*col < 0)
        return pp_error_set(err, PP_EDATA, "'%s': no '%s' column (%s)",
                            path, name, why);
    return PP_OK;
}

/* A True/False cell (SPEC §3.4). */
static int get_bool(const pp_table *t, const char *path, long r, int col,
                    int *out, pp_error *err)
{
    const char *s = pp_table_get(t, r, col);

    if (strcmp(s, "True") == 0 || strcmp(s, "False") == 0) {
        *out = s[0] == 'T';
        return PP_OK;
    }
    return pp_error_set(err, PP_EDATA, "%s: row %ld (line %ld): column "
                        "'%s': found '%s', expected True or False", path,
                        r + 1, pp_table_line(t, r), pp_table_colname(t, col),
                        s);
}

/* The columns of single-band reliability for one band. */
enum { SB_EXC, SB_X, SB_Y, SB_HIT, SB_STALL, SB_BRIGHT, NSB };

static int single_columns(const pp_table *t, const char *path,
                          const char *band, int col[NSB], pp_error *err)
{
    const char *fmt[SB_BRIGHT] = { "excluded_any", "x_pix_white_%s_fit",
                                   "y_pix_white_%s_fit",
                                   "opt_hit_max_iters_%s",
                                   "flag_bound_stalled_%s" };

    for (int k = 0; k < SB_BRIGHT; ++k) {
        char name[256];
        snprintf(name, sizeof name, fmt[k], band);
        if (need_column(t, path, name, "single-band reliability, SPEC "
                        "§12 step 1; patch_run.enable_multi_band_"
                        "simultaneous_fitting is false", &col[k],
                        err) != PP_OK)
            return err->code;
    }
    col[SB_BRIGHT] = pp_table_find_column(t, "affected_by_bright_mask",
                                          NULL);
    return PP_OK;
}

/* A finite number in cell (r, col); like pp-merge's position test, a
 * cell that is not a number counts as no fitted position. */
static int finite_cell(const pp_table *t, long r, int col)
{
    double v;

    return pp_parse_double(pp_table_get(t, r, col), &v) == 0 && isfinite(v);
}

/* A per-band fit flag: True, False, or empty (not set, as pp-merge reads
 * it, SPEC §11 step 7). */
static int get_flag(const pp_table *t, const char *path, long r, int col,
                    int *out, pp_error *err)
{
    *out = 0;
    return pp_table_get(t, r, col)[0] ? get_bool(t, path, r, col, out, err)
                                      : PP_OK;
}

/* Single-band reliability of row r in one band. */
static int single_row(const pp_table *t, const char *path, long r,
                      const int col[NSB], unsigned char *rel, pp_error *err)
{
    int exc, bright = 0, hit, stall;

    *rel = 0;
    if (get_bool(t, path, r, col[SB_EXC], &exc, err) != PP_OK ||
        (col[SB_BRIGHT] >= 0 &&
         get_flag(t, path, r, col[SB_BRIGHT], &bright, err) != PP_OK))
        return err->code;
    if (exc || bright || !finite_cell(t, r, col[SB_X]) ||
        !finite_cell(t, r, col[SB_Y]))
        return PP_OK;           /* excluded, masked or not fitted */
    if (get_flag(t, path, r, col[SB_HIT], &hit, err) != PP_OK ||
        get_flag(t, path, r, col[SB_STALL], &stall, err) != PP_OK)
        return err->code;
    /* Convergence is a soft warning in both modes (SPEC §12 step 1). */
    *rel = !hit && !stall;
    return PP_OK;
}

int zp_reliability(const pp_table *cat, const char *path, const char *band,
                   const unsigned char *want, unsigned char *rel,
                   pp_error *err)
{
    long n = pp_table_nrows(cat);
    int col[NSB], v;

    if (!band) {                /* multi-band: merge's verdict */
        if (need_column(cat, path, "fit_is_reliable", "written by "
                        "pp-merge, SPEC §11 step 7", &col[0],
                        err) != PP_OK)
            return err->code;
        for (long r = 0; r < n; ++r) {
            rel[r] = 0;
            if (want && !want[r])
                continue;
            if (get_bool(cat, path, r, col[0], &v, err) != PP_OK)
                return err->code;
            rel[r] = (unsigned char)v;
        }
        return PP_OK;
    }
    if (single_columns(cat, path, band, col, err) != PP_OK)
        return err->code;
    for (long r = 0; r < n; ++r) {
        rel[r] = 0;
        if ((!want || want[r]) &&
            single_row(cat, path, r, col, &rel[r], err) != PP_OK)
            return err->code;
    }
    return PP_OK;
}

/* ---- The final catalogue in memory (SPEC §12 steps 1, 2, 5, 6) -------- */

/* Candidates: catalogue rows whose gaia_source_id is a GaiaXP source_id,
 * with that GaiaXP row. */
typedef struct {
    long n;
    long *row, *grow;
    unsigned char *want;        /* per catalogue row */
} zp_cands;

/* A GaiaXP source_id (borrowed from the GaiaXP table, which does not
 * change while the index lives) and its row. */
typedef struct {
    const char *sid;
    long row;
} zp_sid;

static int cmp_sid(const void *a, const void *b)
{
    const zp_sid *p = a, *q = b;
    int c = strcmp(p->sid, q->sid);

    return c ? c : (p->row > q->row) - (p->row < q->row);
}

/* The GaiaXP row whose source_id text is sid (the first in file order
 * when repeated), or -1; idx[0..n-1] is sorted by cmp_sid. */
static long find_sid(const zp_sid *idx, long n, const char *sid)
{
    long lo = 0, hi = n;

    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (strcmp(idx[mid].sid, sid) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(idx[lo].sid, sid) == 0 ? idx[lo].row : -1;
}

/* Rows of cat whose gaia_source_id is in the GaiaXP table g. */
static void find_candidates(const pp_table *cat, int col_sid,
                            const pp_table *g, int g_sid, zp_cands *cd,
                            long *nmissing)
{
    long n = pp_table_nrows(cat), ng = pp_table_nrows(g);
    zp_sid *idx = pp_xmalloc(sizeof *idx * (size_t)(ng + 1));

    for (long r = 0; r < ng; ++r)
        idx[r] = (zp_sid){ pp_table_get(g, r, g_sid), r };
    qsort(idx, (size_t)ng, sizeof *idx, cmp_sid);
    cd->row = pp_xmalloc(sizeof(long) * (size_t)(n + 1));
    cd->grow = pp_xmalloc(sizeof(long) * (size_t)(n + 1));
    cd->want = pp_xcalloc((size_t)n + 1, 1);
    *nmissing = 0;
    for (long r = 0; r < n; ++r) {
        const char *sid = pp_table_get(cat, r, col_sid);
        long gr;
        if (!sid[0])
            continue;
        if ((gr = find_sid(idx, ng, sid)) < 0) {
            ++*nmissing;
            continue;
        }
        cd->row[cd->n] = r;
        cd->grow[cd->n] = gr;
        cd->want[r] = 1;
        ++cd->n;
    }
    free(idx);
}

static void cands_release(zp_cands *cd)
{
    free(cd->row);
    free(cd->grow);
    free(cd->want);
}

/* One band's stars with a finite zp_i (SPEC §12 step 2). */
typedef struct {
    long n;
    long *cand;                 /* index into the candidates */
    double *mag, *flux, *fluxerr, *zp, *zp_err, *snr;
    unsigned char *kept;
} zp_stars;

static void stars_init(zp_stars *s, long cap)
{
    size_t c = (size_t)cap + 1;
    double **d[6] = { &s->mag, &s->flux, &s->fluxerr, &s->zp, &s->zp_err,
                      &s->snr };

    s->n = 0;
    s->cand = pp_xmalloc(sizeof(long) * c);
    for (int k = 0; k < 6; ++k)
        *d[k] = pp_xmalloc(sizeof(double) * c);
    s->kept = pp_xcalloc(c, 1);
}

static void stars_release(zp_stars *s)
{
    free(s->cand);
    free(s->mag);
    free(s->flux);
    free(s->fluxerr);
    free(s->zp);
    free(s->zp_err);
    free(s->snr);
    free(s->kept);
}

/* SPEC §12 step 2: add candidate k when mag is finite and F > 0; a flux
 * error that is missing, not finite or <= 0 gives zp_err and snr NAN
 * (the star then weighs nothing in the weighted median and never passes
 * an SNR threshold). */
static void stars_add(zp_stars *s, long k, double mag, double f, double fe)
{
    double zp;
    long i = s->n;

    if (!isfinite(mag) || !isfinite(f) || !(f > 0.0))
        return;
    zp = mag + 2.5 * log10(f);
    if (!isfinite(zp))
        return;
    s->cand[i] = k;
    s->mag[i] = mag;
    s->flux[i] = f;
    s->fluxerr[i] = fe;
    s->zp[i] = zp;
    s->zp_err[i] = valid_err(fe) ? ZP_MAG_PER_RELFLUX * fe / f : NAN;
    s->snr[i] = valid_err(fe) ? f / fe : NAN;
    s->kept[i] = 0;
    ++s->n;
}

/* Everything one run of zp_calib_table() shares between bands. */
typedef struct {
    pp_table *cat;
    const char *cat_path;
    const pp_table *gaia;
    const char *gaia_path;
    int col_sid, col_id, g_sid;
    int *col_flux, *col_ferr;   /* per band */
    zp_cands cd;
    unsigned char *rel;         /* per catalogue row, this band */
    zp_stars good, bad;         /* reliable and unreliable stars */
} zp_ctx;

/* The stars of one band, split by reliability. */
static int collect_stars(zp_ctx *c, int b, int g_mag, pp_error *err)
{
    c->good.n = c->bad.n = 0;
    for (long k = 0; k < c->cd.n; ++k) {
        long r = c->cd.row[k];
        double mag = NAN, f, fe;
        if ((g_mag >= 0 &&
             pp_table_get_double(c->gaia, c->cd.grow[k], g_mag,
                                 c->gaia_path, &mag, err) != PP_OK) ||
            pp_table_get_double(c->cat, r, c->col_flux[b], c->cat_path, &f,
                                err) != PP_OK ||
            pp_table_get_double(c->cat, r, c->col_ferr[b], c->cat_path,
                                &fe, err) != PP_OK)
            return err->code;
        stars_add(c->rel[r] ? &c->good : &c->bad, k, mag, f, fe);
    }
    return PP_OK;
}

/* Column names of ZP/zp_all_bands__per_object.csv (SPEC §12 step 6). */
static void star_header(pp_table *t, int with_id)
{
    static const char *const names[] = {
        "band", "gaia_source_id", "ID", "gaiaxp_mag", "flux", "fluxerr",
        "snr", "zp", "zp_err", "is_kept", "is_clipped"
    };

    for (size_t j = 0; j < sizeof names / sizeof *names; ++j)
        if (j != 2 || with_id)
            pp_table_add_column(t, names[j], -1);
}

/* One row per star; reliable stars carry the clipping verdict, the
 * unreliable ones False/False (they never entered the clipping). */
static void star_rows(pp_table *t, const zp_ctx *c, const char *band,
                      const zp_stars *s, int reliable)
{
    for (long i = 0; i < s->n; ++i) {
        long o = pp_table_add_row(t), r = c->cd.row[s->cand[i]];
        double v[6] = { s->mag[i], s->flux[i], s->fluxerr[i], s->snr[i],
                        s->zp[i], s->zp_err[i] };
        char buf[32];
        int j = 0;
        pp_table_set(t, o, j++, band);
        pp_table_set(t, o, j++, pp_table_get(c->cat, r, c->col_sid));
        if (c->col_id >= 0)
            pp_table_set(t, o, j++, pp_table_get(c->cat, r, c->col_id));
        for (int k = 0; k < 6; ++k)
            pp_table_set(t, o, j++, zp_format_double(v[k], buf));
        pp_table_set(t, o, j++, pp_csv_format_bool(reliable && s->kept[i]));
        pp_table_set(t, o, j, pp_csv_format_bool(reliable && !s->kept[i]));
    }
}

static void summary_header(pp_table *t)
{
    static const char *const names[] = {
        "band", "n_raw", "n_kept", "n_clipped", "n_unreliable",
        "clip_sigma", "zp_median", "zp_err_mad", "zp_err_std",
        "n_zp_err_src", "zp_err_snr_used"
    };

    for (size_t j = 0; j < sizeof names / sizeof *names; ++j)
        pp_table_add_column(t, names[j], -1);
}

static void summary_row(pp_table *t, const char *band, double clip_sigma,
                        const zp_band_stats *st)
{
    long o = pp_table_add_row(t);
    long n[4] = { st->n_raw, st->n_kept, st->n_clipped, st->n_unreliable };
    double v[3] = { st->zp_median, st->zp_err_mad, st->zp_err_std };
    char buf[32];

    pp_table_set(t, o, 0, band);
    for (int k = 0; k < 4; ++k)
        pp_table_set(t, o, 1 + k, pp_csv_format_long(n[k], buf));
    pp_table_set(t, o, 5, pp_csv_format_double(clip_sigma, buf));
    for (int k = 0; k < 3; ++k)
        pp_table_set(t, o, 6 + k, pp_csv_format_double(v[k], buf));
    pp_table_set(t, o, 9, pp_csv_format_long(st->n_zp_err_src, buf));
    pp_table_set(t, o, 10, pp_csv_format_double(st->zp_err_snr_used, buf));
}

/* The column named name in cat, appended when absent (SPEC §12: existing
 * MAG columns are replaced in place, never duplicated). */
static int mag_column(pp_table *cat, const char *fmt, const char *band)
{
    char name[256];
    int col;

    snprintf(name, sizeof name, fmt, band);
    col = pp_table_find_column(cat, name, NULL);
    return col >= 0 ? col : pp_table_add_column(cat, name, -1);
}

/* Typical text of one MAG or MAGERR cell, NUL included: a reservation
 * hint only (pp_table_reserve()), so the arena grows once. */
#define ZP_MAG_CELL_BYTES 20

/* SPEC §12 step 5 for every row and band, row by row: a row's cells lie
 * together in the table, so one pass reads each row's text once instead
 * of once per band (bench/zpcal.sh: 40 bands, 100 000 rows). */
static int fill_mags(zp_ctx *c, const char *const *bands, int nbands,
                     const zp_band_stats *st, pp_error *err)
{
    long n = pp_table_nrows(c->cat);
    int *cm = pp_xmalloc(sizeof(int) * 2 * (size_t)(nbands + 1));
    int *ce = cm + nbands + 1, rc = PP_OK;

    for (int b = 0; b < nbands; ++b) {
        cm[b] = mag_column(c->cat, "MAG_%s_fit", bands[b]);
        ce[b] = mag_column(c->cat, "MAGERR_%s_fit", bands[b]);
    }
    if (pp_table_reserve(c->cat, n, (size_t)n * (size_t)nbands * 2 *
                         ZP_MAG_CELL_BYTES, err) != PP_OK) {
        free(cm);
        return err->code;
    }
    for (long r = 0; r < n && rc == PP_OK; ++r)
        for (int b = 0; b < nbands && rc == PP_OK; ++b) {
            double f, fe;
            char buf[32];
            if (!isfinite(st[b].zp_median)) {
                pp_table_set(c->cat, r, cm[b], NULL);
                pp_table_set(c->cat, r, ce[b], NULL);
            } else if ((rc = pp_table_get_double(c->cat, r, c->col_flux[b],
                            c->cat_path, &f, err)) == PP_OK &&
                       (rc = pp_table_get_double(c->cat, r, c->col_ferr[b],
                            c->cat_path, &fe, err)) == PP_OK) {
                pp_table_set(c->cat, r, cm[b], zp_format_double(
                             zp_mag(st[b].zp_median, f), buf));
                pp_table_set(c->cat, r, ce[b], zp_format_double(
                             zp_magerr(f, fe, st[b].zp_err), buf));
            }
        }
    free(cm);
    return rc;
}

/* The log lines of SPEC §12: ZP_median, its offset from zp_ref (the
 * ZP_AUTO error, zp_true - ZP_AUTO), the error and the counts. */
static void log_band(const char *band, const zp_band_stats *st,
                     double zp_ref, const zp_calib_params *p)
{
    if (!isfinite(st->zp_median)) {
        pp_log(PP_LOG_WARNING, "band %s: no zero point (%ld reliable "
               "Gaia-matched stars with a finite mag_%s and "
               "FLUX_%s_fit > 0, %ld kept, %ld unreliable): MAG_%s_fit and "
               "MAGERR_%s_fit left empty", band, st->n_raw, band, band,
               st->n_kept, st->n_unreliable, band, band);
        return;
    }
    pp_log(PP_LOG_INFO, "band %s: ZP_median=%.4f ZP_median-zp_ref=%+.4f "
           "(ZP_AUTO error, = zp_true - ZP_AUTO) ZP_err=%.4f (%s) "
           "zp_err_mad=%.4f zp_err_std=%.4f (%ld stars, snr>=%g) "
           "n_raw=%ld n_kept=%ld n_clipped=%ld n_unreliable=%ld", band,
           st->zp_median, st->zp_median - zp_ref, st->zp_err,
           p->bright_std ? "bright_std" : "all_mad", st->zp_err_mad,
           st->zp_err_std, st->n_zp_err_src, st->zp_err_snr_used,
           st->n_raw, st->n_kept, st->n_clipped, st->n_unreliable);
}

/* SPEC §12 steps 1-6 for band b. */
static int band_run(zp_ctx *c, const zp_calib_params *p, int multi, int b,
                    const char *band, double zp_ref, zp_calib_out *out,
                    pp_error *err)
{
    zp_band_stats *st = &out->stats[b];
    char name[256];
    int g_mag;

    snprintf(name, sizeof name, "mag_%s", band);
    g_mag = pp_table_find_column(c->gaia, name, NULL);
    if (g_mag < 0)
        pp_log(PP_LOG_WARNING, "'%s': no '%s' column: no Gaia magnitude "
               "for band %s (SPEC §5.4)", c->gaia_path, name, band);
    if ((!multi && zp_reliability(c->cat, c->cat_path, band, c->cd.want,
                                  c->rel, err) != PP_OK) ||
        collect_stars(c, b, g_mag, err) != PP_OK)
        return err->code;
    zp_band_stats_compute(p, c->good.zp, c->good.zp_err, c->good.snr,
                          c->good.n, c->good.kept, st);
    st->n_unreliable = c->bad.n;
    star_rows(&out->per_object, c, band, &c->good, 1);
    star_rows(&out->unreliable, c, band, &c->bad, 0);
    summary_row(&out->summary, band, p->clip_sigma, st);
    log_band(band, st, zp_ref, p);
    return PP_OK;
}

/* Every column zp_calib_table() needs but the reliability ones. */
static int calib_columns(zp_ctx *c, const char *const *bands, int nbands,
                         pp_error *err)
{
    char name[256];

    if (need_column(c->cat, c->cat_path, "gaia_source_id", "written by "
                    "pp-zp augment; run pp-merge on the augmented "
                    "catalogue", &c->col_sid, err) != PP_OK ||
        need_column(c->gaia, c->gaia_path, "source_id", "the GaiaXP "
                    "file of inputs.gaiaxp_synphot_csv, SPEC §5.4",
                    &c->g_sid, err) != PP_OK)
        return err->code;
    c->col_id = pp_table_find_column(c->cat, "ID", NULL);
    c->col_flux = pp_xmalloc(sizeof(int) * (size_t)(nbands + 1));
    c->col_ferr = pp_xmalloc(sizeof(int) * (size_t)(nbands + 1));
    for (int b = 0; b < nbands; ++b) {
        snprintf(name, sizeof name, "FLUX_%s_fit", bands[b]);
        if (need_column(c->cat, c->cat_path, name, "written by pp-fit, "
                        "SPEC §10.5", &c->col_flux[b], err) != PP_OK)
            return err->code;
        snprintf(name, sizeof name, "FLUXERR_%s_fit", bands[b]);
        if (need_column(c->cat, c->cat_path, name, "written by pp-fit, "
                        "SPEC §10.5", &c->col_ferr[b], err) != PP_OK)
            return err->code;
    }
    return PP_OK;
}

void zp_calib_out_release(zp_calib_out *out)
{
    pp_table_release(&out->summary);
    pp_table_release(&out->per_object);
    pp_table_release(&out->unreliable);
    free(out->stats);
    *out = (zp_calib_out)ZP_CALIB_OUT_INIT;
}

int zp_calib_table(const zp_calib_params *p, int multi,
                   const char *const *bands, int nbands, double zp_ref,
                   pp_table *cat, const char *cat_path,
                   const pp_table *gaia, const char *gaia_path,
                   zp_calib_out *out, pp_error *err)
{
    zp_ctx c = { cat, cat_path, gaia, gaia_path, -1, -1, -1, NULL, NULL,
                 { 0, NULL, NULL, NULL }, NULL, { 0 }, { 0 } };
    int rc;

    out->nbands = nbands;
    out->stats = pp_xcalloc((size_t)nbands + 1, sizeof *out->stats);
    if ((rc = calib_columns(&c, bands, nbands, err)) != PP_OK)
        goto out;
    find_candidates(cat, c.col_sid, gaia, c.g_sid, &c.cd,
                    &out->n_sid_missing);
    out->n_candidates = c.cd.n;
    c.rel = pp_xcalloc((size_t)pp_table_nrows(cat) + 1, 1);
    stars_init(&c.good, c.cd.n);
    stars_init(&c.bad, c.cd.n);
    if (multi && (rc = zp_reliability(cat, cat_path, NULL, c.cd.want, c.rel,
                                      err)) != PP_OK)
        goto out;
    summary_header(&out->summary);
    star_header(&out->per_object, c.col_id >= 0);
    star_header(&out->unreliable, c.col_id >= 0);
    for (int b = 0; b < nbands; ++b)
        if ((rc = band_run(&c, p, multi, b, bands[b], zp_ref, out,
                           err)) != PP_OK)
            goto out;
    rc = fill_mags(&c, bands, nbands, out->stats, err);
out:
    free(c.col_flux);
    free(c.col_ferr);
    free(c.rel);
    cands_release(&c.cd);
    stars_release(&c.good);
    stars_release(&c.bad);
    return rc;
}

/* ---- The stage (SPEC §12) ---------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { OUT_SUMMARY, OUT_PER_OBJECT, OUT_UNRELIABLE, NOUT };
static const char *const out_names[NOUT] = {
    "zp_summary.csv", "zp_all_bands__per_object.csv",
    "zp_unreliable__per_object.csv"
};

typedef struct {
    char *zp_dir, *frames, *out[NOUT];
} zp_cpaths;

static void cpaths_init(const pp_config *cfg, zp_cpaths *p)
{
    p->zp_dir = pp_io_path_join(cfg->outputs.work_dir, "ZP");
    p->frames = pp_io_path_join(cfg->outputs.work_dir, "frames.json");
    for (int k = 0; k < NOUT; ++k)
        p->out[k] = pp_io_path_join(p->zp_dir, out_names[k]);
}

static void cpaths_release(zp_cpaths *p)
{
    free(p->zp_dir);
    free(p->frames);
    for (int k = 0; k < NOUT; ++k)
        free(p->out[k]);
}

/* SPEC §12 "(if zp.enabled)": is this run skipped?  As for augment (SPEC
 * §7), a missing GaiaXP file is a warning, not an error. */
static int calib_skipped(const pp_config *cfg)
{
    const char *why = !cfg->zp.enabled ? "zp.enabled is false"
                      : !cfg->inputs.gaiaxp_synphot_csv
                      ? "inputs.gaiaxp_synphot_csv is null" : NULL;

    if (why) {
        pp_log(PP_LOG_INFO, "%s: zero-point calibration skipped", why);
        return 1;
    }
    if (!pp_io_exists(cfg->inputs.gaiaxp_synphot_csv)) {
        pp_log(PP_LOG_WARNING, "GaiaXP file '%s' "
               "(inputs.gaiaxp_synphot_csv) does not exist: zero-point "
               "calibration skipped", cfg->inputs.gaiaxp_synphot_csv);
        return 1;
    }
    return 0;
}

/* SPEC §1 (no stale files): a skipped run removes its earlier ZP/ files;
 * the final catalogue is pp-merge's and is left as it is. */
static int remove_outputs(const zp_cpaths *p, pp_error *err)
{
    for (int k = 0; k < NOUT; ++k) {
        if (pp_io_exists(p->out[k]))
            pp_log(PP_LOG_INFO, "removing '%s' of an earlier run",
                   p->out[k]);
        if (pp_io_remove_file(p->out[k], err) != PP_OK)
            return err->code;
    }
    return PP_OK;
}

/* The inputs: frames.json (band order, zp_ref), the final catalogue and
 * the GaiaXP file.  Nothing is written before all of them are read. */
static int calib_read(const pp_config *cfg, const zp_cpaths *p,
                      pp_frames *f, pp_table *cat, pp_table *gaia,
                      pp_error *err)
{
    const char *cat_path = cfg->outputs.final_catalog;

    if (!pp_io_exists(p->frames))
        return pp_error_set(err, PP_EIO, "cannot open '%s': No such file "
                            "or directory (run pp-crop first)", p->frames);
    if (pp_frames_read(p->frames, f, err) != PP_OK)
        return err->code;
    if (!pp_io_exists(cat_path))
        return pp_error_set(err, PP_EIO, "cannot open '%s': No such file "
                            "or directory (outputs.final_catalog; run "
                            "pp-merge first)", cat_path);
    if (pp_csv_read(cat_path, cat, err) != PP_OK)
        return err->code;
    if (pp_csv_read(cfg->inputs.gaiaxp_synphot_csv, gaia, err) != PP_OK)
        return pp_error_prefix(err, "GaiaXP file "
                               "(inputs.gaiaxp_synphot_csv): ");
    return PP_OK;
}

/* The three ZP/ files, then the final catalogue, each atomically. */
static int calib_write(const pp_config *cfg, const zp_cpaths *p,
                       const pp_table *cat, const zp_calib_out *o,
                       pp_error *err)
{
    const pp_table *t[NOUT] = { &o->summary, &o->per_object,
                                &o->unreliable };

    if (pp_io_mkdir_p(p->zp_dir, err) != PP_OK)
        return err->code;
    for (int k = 0; k < NOUT; ++k)
        if (pp_csv_write(p->out[k], t[k], err) != PP_OK)
            return err->code;
    return pp_csv_write(cfg->outputs.final_catalog, cat, err);
}

int zp_calibrate(const pp_config *cfg, pp_error *err)
{
    double t0 = now_s(), t1 = 0, t2 = 0;
    zp_cpaths p;
    pp_frames f = PP_FRAMES_INIT;
    pp_table cat = PP_TABLE_INIT, gaia = PP_TABLE_INIT;
    zp_calib_out o = ZP_CALIB_OUT_INIT;
    zp_calib_params par;
    const char **bands = NULL;
    int rc;

    cpaths_init(cfg, &p);
    if (calib_skipped(cfg)) {
        rc = remove_outputs(&p, err);
        goto out;
    }
    if ((rc = calib_read(cfg, &p, &f, &cat, &gaia, err)) != PP_OK)
        goto out;
    t1 = now_s();
    bands = pp_xmalloc(sizeof *bands * (size_t)(f.nbands + 1));
    for (int b = 0; b < f.nbands; ++b)
        bands[b] = f.bands[b].band;
    zp_calib_params_from_config(cfg, &par);
    pp_log(PP_LOG_INFO, "calibrating '%s' (%ld rows, %d bands, %s mode) "
           "with '%s'", cfg->outputs.final_catalog, pp_table_nrows(&cat),
           f.nbands, cfg->patch_run.enable_multi_band_simultaneous_fitting
           ? "multi-band" : "single-band", cfg->inputs.gaiaxp_synphot_csv);
    if ((rc = zp_calib_table(&par, cfg->patch_run.
                             enable_multi_band_simultaneous_fitting, bands,
                             f.nbands, f.zp_ref, &cat,
                             cfg->outputs.final_catalog, &gaia,
                             cfg->inputs.gaiaxp_synphot_csv, &o,
                             err)) != PP_OK)
        goto out;
    pp_log(PP_LOG_INFO, "candidates: %ld rows with a gaia_source_id found "
           "in the GaiaXP file (%ld with one not found there)",
           o.n_candidates, o.n_sid_missing);
    t2 = now_s();
    if ((rc = calib_write(cfg, &p, &cat, &o, err)) != PP_OK)
        goto out;
    pp_log(PP_LOG_INFO, "wrote '%s', '%s', '%s' and '%s' (%ld rows x %d "
           "columns)", p.out[0], p.out[1], p.out[2],
           cfg->outputs.final_catalog, pp_table_nrows(&cat),
           pp_table_ncols(&cat));
    pp_log(PP_LOG_INFO, "calibrate timing [s]: read=%.3f compute=%.3f "
           "write=%.3f total=%.3f", t1 - t0, t2 - t1, now_s() - t2,
           now_s() - t0);
out:
    free(bands);
    zp_calib_out_release(&o);
    pp_table_release(&cat);
    pp_table_release(&gaia);
    pp_frames_release(&f);
    cpaths_release(&p);
    return rc;
}
