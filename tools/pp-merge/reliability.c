/* reliability.c - fit_is_reliable and fit_quality_issues (SPEC §11 step
 * 7, the seed's "Reliability Summary Columns"). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pp_table.h"

#include "merge.h"

int merge_parse_bool(const char *text)
{
    if (text[0] == '\0')
        return -1;
    if (strcasecmp(text, "True") == 0)
        return 1;
    if (strcasecmp(text, "False") == 0)
        return 0;
    return -2;
}

/* The boolean in fit column j of row (missing: -1). */
static int fit_bool(const pp_table *fit, long row, int xp,
                    const merge_fitcols *fc, int j, const char *path,
                    int *out, pp_error *err)
{
    const char *s = pp_table_get(fit, row, xp + j);

    *out = merge_parse_bool(s);
    if (*out == -2)
        return pp_error_set(err, PP_EDATA, "%s: row %ld (line %ld): column "
                            "'%s': found '%s', expected True or False",
                            path, row + 1, pp_table_line(fit, row),
                            fc->names[j], s);
    return PP_OK;
}

/* Finite number in fit column j of row (a non-number counts as none: the
 * position test only asks whether the fit produced one). */
static int fit_finite(const pp_table *fit, long row, int xp, int j)
{
    double v;

    return pp_parse_double(pp_table_get(fit, row, xp + j), &v) == 0 &&
           isfinite(v);
}

int merge_state_from_fit(const pp_table *fit, long row, int xp,
                         const merge_fitcols *fc, const char *path,
                         merge_state *s, pp_error *err)
{
    double nfb;

    s->has_fit = 1;
    s->has_position = s->hit_max = s->bound_stalled = 0;
    s->not_converged = 0;
    s->converged = 1;
    for (int g = 0; g < fc->npos; ++g) {
        int conv, hit, stall;

        if (fit_bool(fit, row, xp, fc, fc->conv[g], path, &conv, err) ||
            fit_bool(fit, row, xp, fc, fc->hit[g], path, &hit, err) ||
            fit_bool(fit, row, xp, fc, fc->stalled[g], path, &stall, err))
            return err->code;
        /* One band with a position is enough: parse no further. */
        if (!s->has_position && fit_finite(fit, row, xp, fc->xw[g]) &&
            fit_finite(fit, row, xp, fc->yw[g]))
            s->has_position = 1;
        s->hit_max |= hit == 1;
        s->bound_stalled |= stall == 1;
        /* Seed: not converged, but not because the budget ran out. */
        s->not_converged |= conv == 0 && hit != 1;
        s->converged &= conv == 1;
    }
    s->all_psf_fallback = fc->nbands > 0 &&
        pp_parse_double(pp_table_get(fit, row, xp + fc->fallback_count),
                        &nfb) == 0 && nfb == (double)fc->nbands;
    return PP_OK;
}

static void append(char *issues, size_t n, const char *tag)
{
    size_t len = strlen(issues);

    snprintf(issues + len, n > len ? n - len : 0, "%s%s", len ? "," : "",
             tag);
}

int merge_reliability(const merge_state *s, char *issues, size_t n)
{
    int reliable = 1;

    if (n > 0)
        issues[0] = '\0';
    /* Hard fails, in SPEC §11 step 7 order. */
    if (s->excluded) {
        append(issues, n, "excluded");
        reliable = 0;
    }
    if (!s->excluded && !(s->has_fit && s->has_position)) {
        append(issues, n, "no_fit_result");
        reliable = 0;
    }
    if (s->has_fit && s->hit_max) {
        append(issues, n, "hit_max_iters");
        reliable = 0;
    }
    if (s->has_fit && s->bound_stalled) {
        append(issues, n, "bound_stalled");
        reliable = 0;
    }
    if (s->bright_mask) {
        append(issues, n, "bright_mask");
        reliable = 0;
    }
    /* Soft warnings. */
    if (s->has_fit && s->not_converged)
        append(issues, n, "not_converged");
    if (s->has_fit && s->all_psf_fallback)
        append(issues, n, "all_psf_fallback");
    return reliable;
}
