/* epsfcheck.c - compare an ePSF with the true PSF (SPEC §8.4):
 *     epsfcheck EPSF.npy TRUE.npy
 * prints "maxdiff_over_peak fwhm fwhm_true ee_r50 ee_r50_true" on one
 * line: max |ePSF − truth| / peak(truth), and the FWHM and the 50%
 * encircled-energy radius of both, measured the same way (pp-epsf's QA
 * functions on both stamps, after normalising each to sum 1). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "pp_error.h"
#include "pp_npy.h"

#include "qa.h"

static double *load(const char *path, int *n)
{
    float *f = NULL;
    long shape[PP_NPY_MAXDIM];
    int nd = 0;
    pp_error err = PP_ERROR_INIT;
    double *d, s = 0;

    if (pp_npy_read(path, &f, &nd, shape, &err) != PP_OK || nd != 2 ||
        shape[0] != shape[1] || shape[0] % 2 == 0) {
        fprintf(stderr, "epsfcheck: %s: %s\n", path,
                err.code ? err.msg : "not an odd square 2-D array");
        exit(1);
    }
    *n = (int)shape[0];
    d = malloc(sizeof(double) * (size_t)(*n) * (*n));
    for (long k = 0; k < shape[0] * shape[1]; k++)
        s += f[k];
    for (long k = 0; k < shape[0] * shape[1]; k++)
        d[k] = f[k] / s;
    free(f);
    return d;
}

int main(int argc, char **argv)
{
    int n, nt;
    double *e, *t, peak = 0, md = 0;
    epsf_qa qe, qt;

    if (argc != 3) {
        fprintf(stderr, "usage: epsfcheck EPSF.npy TRUE.npy\n");
        return 2;
    }
    e = load(argv[1], &n);
    t = load(argv[2], &nt);
    if (n != nt) {
        fprintf(stderr, "epsfcheck: sizes differ (%d, %d)\n", n, nt);
        return 1;
    }
    for (long k = 0; k < (long)n * n; k++) {
        peak = fmax(peak, t[k]);
        md = fmax(md, fabs(e[k] - t[k]));
    }
    epsf_qa_compute(e, n, &qe);
    epsf_qa_compute(t, n, &qt);
    printf("%.6f %.6f %.6f %.6f %.6f\n", md / peak, qe.fwhm, qt.fwhm,
           qe.ee_r50, qt.ee_r50);
    epsf_qa_release(&qe);
    epsf_qa_release(&qt);
    free(e);
    free(t);
    return 0;
}
