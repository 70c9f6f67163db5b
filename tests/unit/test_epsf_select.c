/* test_epsf_select.c - PSF-star selection (SPEC §8.2 steps 2–3) on a
 * hand-made 300 × 300 field: a saturated star, a star with a bright
 * neighbour inside min_sep, a star too close to the edge, an elongated
 * object, Gaia seeds that snap to SEP detections, and max_stars. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_config.h"
#include "pp_error.h"
#include "pp_frames.h"
#include "tap.h"

#include "region.h"
#include "select.h"

#define W 300
#define SAT 50000.0             /* SATURATE, raw ADU */
#define SIG 1.7                 /* PSF σ, px (FWHM 4) */

static float raw[W * W];

static unsigned long rng = 99;

/* Standard normal from a fixed LCG (Box–Muller). */
static double gnoise(void)
{
    double u, v;

    rng = rng * 6364136223846793005UL + 1442695040888963407UL;
    u = ((rng >> 11) + 0.5) / 9007199254740992.0;
    rng = rng * 6364136223846793005UL + 1442695040888963407UL;
    v = ((rng >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Add an elliptical Gaussian of total flux f (point-sampled). */
static void add_star(double x, double y, double f, double sx, double sy)
{
    for (int j = 0; j < W; j++)
        for (int i = 0; i < W; i++) {
            double dx = (i - x) / sx, dy = (j - y) / sy;
            if (dx * dx + dy * dy < 400)
                raw[j * W + i] += (float)(f * exp(-0.5 * (dx * dx + dy * dy))
                                          / (2 * M_PI * sx * sy));
        }
}

/* The field (positions in px):
 *   good stars (flux 20000): (60,60) (150,60) (240,60) (60,150)
 *   saturated star: (150,150), flux 1e7, clipped at SATURATE
 *   crowded pair: (240,150) flux 20000 and (255,150) flux 20000
 *   edge star: (20,240), flux 20000 (stamp of 61 px cannot fit)
 *   elongated: (150,240), σx = 3 σ, flux 40000
 *   isolated star for the Gaia seed: (240,240), flux 20000 */
static void make_field(void)
{
    const double good[][2] = { { 60, 60 }, { 150, 60 }, { 240, 60 },
                               { 60, 150 }, { 240, 240 } };

    for (int k = 0; k < W * W; k++)
        raw[k] = (float)gnoise();
    for (int k = 0; k < 5; k++)
        add_star(good[k][0] + 0.3, good[k][1] - 0.2, 20000, SIG, SIG);
    add_star(150.1, 150.2, 1e7, SIG, SIG);
    add_star(240, 150, 20000, SIG, SIG);
    add_star(255, 150.4, 20000, SIG, SIG);
    add_star(20, 240, 20000, SIG, SIG);
    add_star(150, 240, 40000, 3 * SIG, SIG);
    for (int k = 0; k < W * W; k++)
        if (raw[k] > SAT)
            raw[k] = (float)SAT;
}

static const epsf_cand *near(const epsf_cand *c, int n, double x, double y)
{
    const epsf_cand *best = NULL;
    double bd = 3.0;

    for (int k = 0; k < n; k++)
        if (hypot(c[k].x - x, c[k].y - y) < bd) {
            bd = hypot(c[k].x - x, c[k].y - y);
            best = &c[k];
        }
    return best;
}

static void check_reason(const epsf_cand *c, int n, double x, double y,
                         const char *want, const char *title)
{
    const epsf_cand *k = near(c, n, x, y);

    check_str(k ? k->reason : "(no candidate)", want, title);
}

int main(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_frame_band band;
    pp_frames fr = PP_FRAMES_INIT;
    epsf_region r;
    pp_error err = PP_ERROR_INIT;
    epsf_gaia gaia[3] = { { 241.5, 239.0, 15.0, 0 },
                          { 100.0, 100.0, 16.0, 0 },
                          { 60.3, 60.2, 31.0, 0 } };
    epsf_cand *c = NULL;
    int n, nseed, nextract, nsel, used = 0, over = 0;
    const epsf_cand *k;

    make_field();
    pp_config_defaults(&cfg);
    memset(&band, 0, sizeof band);
    band.band = "t";
    band.scale = 1.0;
    band.skysig = band.sky_sigma_scaled = 1.0;
    band.egain = 1e6;
    band.saturate = SAT;
    fr.full_w = fr.full_h = fr.work_w = fr.work_h = W;
    fr.x1 = fr.y1 = W;
    fr.nbands = 1;
    fr.bands = &band;
    /* Gaia fluxes as pp-epsf computes them (zp_ref 25). */
    for (int g = 0; g < 3; g++)
        gaia[g].flux = pow(10.0, -0.4 * (gaia[g].mag - 25.0));
    /* Region: the whole field (no FITS file: filled by hand). */
    memset(&r, 0, sizeof r);
    r.w = r.h = W;
    r.raw = raw;
    r.img = malloc(sizeof(float) * W * W);
    r.bad = calloc(W * W, 1);
    for (int q = 0; q < W * W; q++) {
        r.img[q] = raw[q];
        r.bad[q] = raw[q] >= SAT / 2;
    }
    cfg.epsf.max_stars = 3;
    check_int(epsf_region_detect(&cfg, 1.0, &r, &err), ==, PP_OK,
              "SEP detection runs");
    {
        epsf_select_ctx ctx = { &cfg, &fr, 0, 4.0, 1.0, 0, W, 0, W, gaia,
                                3 };
        epsf_select(&ctx, &r, &c, &n, &nseed, &nextract, &nsel);
    }
    check_reason(c, n, 150.1, 150.2, "saturated",
                 "saturated star: reason saturated (raw pixels)");
    check_reason(c, n, 240, 150, "crowded",
                 "star with a bright neighbour inside min_sep: crowded");
    check_reason(c, n, 20, 240, "edge", "star too close to the edge: edge");
    check_reason(c, n, 150, 240, "elongated",
                 "elongated object: elongated");
    check_int(nsel, ==, 3, "exactly max_stars stars selected");
    for (int q = 0; q < n; q++) {
        used += c[q].reason[0] == 0;
        over += strcmp(c[q].reason, "max_stars") == 0;
    }
    check_int(used, ==, 3, "only the selected ones have no reason");
    /* Five good stars (four plus the Gaia one) pass every test. */
    check_int(over, ==, 2, "the good stars beyond max_stars: max_stars");
    k = near(c, n, 240.3, 239.8);
    check(k && k->origin == EPSF_ORIGIN_BOTH,
          "a Gaia seed 1.8 px off snaps to the SEP detection (both)");
    check(k && hypot(k->x - 240.3, k->y - 239.8) < 0.1,
          "the snapped candidate sits at the SEP centroid");
    check(k && k->gaia_mag == 15.0, "the snapped candidate keeps its mag");
    check(k && c[0].origin != EPSF_ORIGIN_SEP,
          "Gaia-origin candidates rank first");
    k = near(c, n, 100, 100);
    check(k && k->origin == EPSF_ORIGIN_GAIA && strcmp(k->reason,
                                                       "low_snr") == 0,
          "a seed on empty sky stays Gaia-only and fails low_snr");
    check_int(nseed, ==, 2, "seeds outside gaia_mag_max are not seeds");
    free(c);
    free(r.img);
    free(r.bad);
    r.img = NULL;
    r.bad = NULL;
    r.raw = NULL;
    epsf_region_release(&r);
    pp_config_release(&cfg);
    return tap_done();
}
