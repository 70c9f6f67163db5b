/* smooth.c - Savitzky–Golay smoothing of the ePSF (SPEC §8.7); see
 * smooth.h. */
#include <stdlib.h>
#include <string.h>

#include "pp_mem.h"

#include "smooth.h"

/* SPEC §8.7, ×1/4900. */
static const int quartic[25] = {
     204, -396,  384, -396,  204,
    -396,  -96,  984,  -96, -396,
     384,  984, 2164,  984,  384,
    -396,  -96,  984,  -96, -396,
     204, -396,  384, -396,  204
};
#define QUARTIC_NORM 4900.0

/* Degree-2 Savitzky–Golay 5 × 5, ×1/175 (the reference's "quadratic"). */
static const int quadratic[25] = {
    -13,  2,  7,  2, -13,
      2, 17, 22, 17,   2,
      7, 22, 27, 22,   7,
      2, 17, 22, 17,   2,
    -13,  2,  7,  2, -13
};
#define QUADRATIC_NORM 175.0

int epsf_smooth_kind(const char *name, int *kind, pp_error *err)
{
    if (strcmp(name, "quartic") == 0)
        *kind = EPSF_SMOOTH_QUARTIC;
    else if (strcmp(name, "quadratic") == 0)
        *kind = EPSF_SMOOTH_QUADRATIC;
    else if (strcmp(name, "none") == 0)
        *kind = EPSF_SMOOTH_NONE;
    else
        return pp_error_set(err, PP_ECONFIG, "epsf.smoothing_kernel: found "
                            "'%s', expected quartic, quadratic or none",
                            name);
    return PP_OK;
}

void epsf_smooth_kernel(int kind, double k[25])
{
    for (int i = 0; i < 25; i++)
        k[i] = kind == EPSF_SMOOTH_QUARTIC ? quartic[i] / QUARTIC_NORM :
               kind == EPSF_SMOOTH_QUADRATIC ? quadratic[i] / QUADRATIC_NORM
               : 0.0;
}

void epsf_smooth(const double *in, int n, int kind, double *out)
{
    double k[25], *tmp;
    size_t nn = (size_t)n * n;

    tmp = pp_xmalloc(sizeof(double) * nn);
    if (kind == EPSF_SMOOTH_NONE) {
        memmove(out, in, sizeof(double) * nn);
        free(tmp);
        return;
    }
    epsf_smooth_kernel(kind, k);
    /* The kernel is symmetric, so correlation = convolution. */
    for (int j = 0; j < n; j++)
        for (int i = 0; i < n; i++) {
            double a = 0;
            for (int v = -2; v <= 2; v++) {
                if (j + v < 0 || j + v >= n)
                    continue;
                for (int u = -2; u <= 2; u++)
                    if (i + u >= 0 && i + u < n)
                        a += k[(v + 2) * 5 + u + 2] *
                             in[(size_t)(j + v) * n + i + u];
            }
            tmp[(size_t)j * n + i] = a;
        }
    memcpy(out, tmp, sizeof(double) * nn);
    free(tmp);
}
