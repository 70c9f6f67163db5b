/* match.c - one-to-one spherical matching (match.h, SPEC §7 step 3). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pp_mem.h"

#include "match.h"

#define DEG (M_PI / 180.0)

typedef struct {
    double chord2;              /* squared chord between the unit vectors */
    long i, j;                  /* catalogue row, Gaia star */
} match_pair;

typedef struct {
    double dec;                 /* degrees, the sort key */
    double v[3];                /* unit vector */
    long j;                     /* index in the caller's arrays */
} match_star;

static void unit_vector(double ra, double dec, double v[3])
{
    double cd = cos(dec * DEG);

    v[0] = cd * cos(ra * DEG);
    v[1] = cd * sin(ra * DEG);
    v[2] = sin(dec * DEG);
}

static int cmp_star(const void *a, const void *b)
{
    const match_star *x = a, *y = b;

    if (x->dec != y->dec)
        return x->dec < y->dec ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

static int cmp_pair(const void *a, const void *b)
{
    const match_pair *x = a, *y = b;

    if (x->chord2 != y->chord2)
        return x->chord2 < y->chord2 ? -1 : 1;
    if (x->i != y->i)
        return x->i < y->i ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

/* The Gaia stars with finite coordinates, sorted by declination. */
static match_star *sorted_stars(const double *ra, const double *dec, long m,
                                long *ns, pp_error *err)
{
    match_star *s = pp_malloc_checked((size_t)m + 1, sizeof *s,
                                      "Gaia stars for matching", err);

    *ns = 0;
    if (!s)
        return NULL;
    for (long j = 0; j < m; ++j)
        if (isfinite(ra[j]) && isfinite(dec[j])) {
            s[*ns].dec = dec[j];
            unit_vector(ra[j], dec[j], s[*ns].v);
            s[*ns].j = j;
            ++*ns;
        }
    qsort(s, (size_t)*ns, sizeof *s, cmp_star);
    return s;
}

/* Append the pair (i, j) to the growing list. */
static int push_pair(match_pair **p, long *np, long *cap, match_pair x,
                     pp_error *err)
{
    if (*np == *cap) {
        long ncap = *cap ? 2 * *cap : 1024;
        match_pair *q = realloc(*p, (size_t)ncap * sizeof *q);
        if (!q)
            return pp_error_set(err, PP_ENOMEM, "out of memory for %ld "
                                "match candidates", ncap);
        *p = q;
        *cap = ncap;
    }
    (*p)[(*np)++] = x;
    return PP_OK;
}

/* Every (row, star) pair within the radius (chord2 <= max_chord2). */
static int candidates(const double *ra1, const double *dec1, long n,
                      const match_star *s, long ns, double radius_deg,
                      double max_chord2, match_pair **p, long *np,
                      pp_error *err)
{
    long cap = 0;

    for (long i = 0; i < n; ++i) {
        double v[3];
        long lo = 0, hi = ns;
        if (!isfinite(ra1[i]) || !isfinite(dec1[i]))
            continue;
        unit_vector(ra1[i], dec1[i], v);
        while (lo < hi) {       /* first star with dec >= dec1 - radius */
            long mid = lo + (hi - lo) / 2;
            if (s[mid].dec < dec1[i] - radius_deg)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (long k = lo; k < ns && s[k].dec <= dec1[i] + radius_deg; ++k) {
            double d0 = v[0] - s[k].v[0], d1 = v[1] - s[k].v[1];
            double d2 = v[2] - s[k].v[2];
            double c2 = d0 * d0 + d1 * d1 + d2 * d2;
            if (c2 <= max_chord2 &&
                push_pair(p, np, &cap, (match_pair){ c2, i, s[k].j },
                          err) != PP_OK)
                return err->code;
        }
    }
    return PP_OK;
}

int zp_match_sphere(const double *ra1, const double *dec1, long n,
                    const double *ra2, const double *dec2, long m,
                    double radius_arcsec, long *match1, long *match2,
                    double *sep_arcsec, long *npairs, pp_error *err)
{
    double radius_deg = radius_arcsec / 3600.0;
    double chord = 2.0 * sin(0.5 * radius_deg * DEG);
    match_star *s = NULL;
    match_pair *p = NULL;
    long ns = 0, np = 0, taken = 0, *m2 = match2;
    int rc = PP_OK;

    for (long i = 0; i < n; ++i) {
        match1[i] = -1;
        if (sep_arcsec)
            sep_arcsec[i] = NAN;
    }
    if (!m2 && !(m2 = pp_malloc_checked((size_t)m + 1, sizeof *m2,
                                        "match flags", err)))
        return err->code;
    for (long j = 0; j < m; ++j)
        m2[j] = -1;
    if (!(s = sorted_stars(ra2, dec2, m, &ns, err)) ||
        candidates(ra1, dec1, n, s, ns, radius_deg, chord * chord, &p, &np,
                   err) != PP_OK) {
        rc = err->code;
        goto out;
    }
    /* SPEC §7 step 3: closest pairs first, each side used at most once. */
    if (np > 0)
        qsort(p, (size_t)np, sizeof *p, cmp_pair);
    for (long k = 0; k < np; ++k) {
        if (match1[p[k].i] >= 0 || m2[p[k].j] >= 0)
            continue;
        match1[p[k].i] = p[k].j;
        m2[p[k].j] = p[k].i;
        if (sep_arcsec)
            sep_arcsec[p[k].i] = 2.0 * asin(0.5 * sqrt(p[k].chord2)) /
                                 DEG * 3600.0;
        ++taken;
    }
out:
    if (npairs)
        *npairs = taken;
    if (m2 != match2)
        free(m2);
    free(s);
    free(p);
    return rc;
}
