/* test_sim_truepsf.c - pp-sim's EPSFs_true/ read back with patchphot's
 * own readers (pp_npy, pp_json): the files pp-fit and pp-epsf's
 * comparison will load (SPEC §15, §8.3). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pp_io.h"
#include "pp_json.h"
#include "pp_mem.h"
#include "pp_npy.h"
#include "sim.h"
#include "tap.h"

static char dir[] = "/tmp/pp-test-truepsf-XXXXXX";

/* The Moffat profile (beta) of FWHM fwhm integrated over the pixel at
 * offset (i, j) from the centre, by a 40x40 midpoint rule: written here
 * from the formula, independent of pp-sim's integrator. */
static double moffat_pixel(double fwhm, double beta, int i, int j)
{
    double a = fwhm / (2.0 * sqrt(pow(2.0, 1.0 / beta) - 1.0)), s = 0;

    for (int v = 0; v < 40; ++v)
        for (int u = 0; u < 40; ++u) {
            double x = i - 0.5 + (u + 0.5) / 40, y = j - 0.5 + (v + 0.5) / 40;
            s += (beta - 1) / (M_PI * a * a) *
                 pow(1 + (x * x + y * y) / (a * a), -beta);
        }
    return s / 1600.0;
}

/* Largest difference between the stamp (its sum renormalised away: the
 * stamp holds the whole plane's flux) and the formula, over the central
 * 11 x 11 pixels, relative to the peak. */
static double max_dev(const float *p, double fwhm, double beta)
{
    double d = 0, peak = moffat_pixel(fwhm, beta, 0, 0);

    for (int j = -5; j <= 5; ++j)
        for (int i = -5; i <= 5; ++i)
            d = fmax(d, fabs(p[(27 + j) * 55 + 27 + i] -
                             moffat_pixel(fwhm, beta, i, j)) / peak);
    return d;
}

static void check_cell(const sim_field *f, int b, const char *cell)
{
    char *npy = pp_xasprintf("%s/EPSFs_true/%s/%s/epsf.npy", dir,
                             f->set.band[b], cell);
    char *meta = pp_xasprintf("%s/EPSFs_true/%s/%s/meta.json", dir,
                              f->set.band[b], cell);
    pp_error err = PP_ERROR_INIT;
    float *p = NULL;
    long shape[8];
    int ndim = 0;
    json_t *m = NULL;
    double sum = 0, fwhm = NAN;
    const char *status = NULL;
    char title[128];

    snprintf(title, sizeof title, "truepsf: %s %s: epsf.npy is 55x55",
             f->set.band[b], cell);
    check(pp_npy_read(npy, &p, &ndim, shape, &err) == PP_OK && ndim == 2 &&
          shape[0] == 55 && shape[1] == 55, title);
    check(pp_json_read(meta, &m, &err) == PP_OK, "truepsf: meta.json reads");
    if (!p || !m)
        goto out;
    for (long k = 0; k < 55 * 55; ++k)
        sum += p[k];
    check_near(sum, 1.0, 1e-5, "truepsf: the stamp sums to 1");
    for (long k = 0; k < 55 * 55; ++k)
        if (p[k] > p[27 * 55 + 27])
            sum = -1;
    check(sum > 0, "truepsf: the peak is the centre pixel");
    pp_json_get_number(m, "fwhm_pix", meta, &fwhm, &err);
    pp_json_get_string(m, "status", meta, &status, &err);
    check(status && !strcmp(status, "ok"), "truepsf: status ok");
    printf("# max deviation %.3g of the peak\n", max_dev(p, fwhm, 3.5));
    check(max_dev(p, fwhm, 3.5) < 1e-4,
          "truepsf: pixels are the Moffat of the meta.json FWHM");
    check(json_object_get(m, "mog") == NULL &&
          json_is_object(json_object_get(m, "cfg")),
          "truepsf: no mog, a cfg object");
out:
    free(p);
    json_decref(m);
    free(npy);
    free(meta);
}

int main(void)
{
    char *bands[2] = { "m400", "m500" };
    sim_field f;
    pp_error err = PP_ERROR_INIT;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    memset(&f, 0, sizeof f);
    f.set = (sim_settings){ dir, 2, bands, 2800, 400, 0, 0, 7, 3.0, 4.5,
                            SIM_PSF_MOFFAT, 3.5, 0.0, 0.505, 20,
                            SIM_REGIME_SKY, 1, 1, 3, -1 };
    check_int(sim_field_design(&f, &err), ==, PP_OK, "truepsf: design");
    check_int(sim_truepsf_write(&f, &err), ==, PP_OK,
              "truepsf: EPSFs_true written");
    /* A 2760-px-wide working frame gives epsf_ngrid = 2: four cells. */
    check_cell(&f, 0, "r00_c00");
    check_cell(&f, 1, "r01_c01");
    char *beyond = pp_xasprintf("%s/EPSFs_true/m400/r02_c00", dir);
    check(!pp_io_exists(beyond), "truepsf: no cell beyond the grid");
    free(beyond);
    sim_field_release(&f);
    pp_io_remove_tree(dir, &err);
    return tap_done();
}
