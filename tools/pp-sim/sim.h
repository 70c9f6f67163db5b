/* sim.h - pp-sim: synthetic 7DT-like fields with known truth (SPEC §15).
 *
 * sim_run() sequences the tool: settings (cli.c) -> the field's design
 * (field.c: bands, sources, catalogue rows) -> the images, one band per
 * thread at a time (image.c, through render.c) -> the tables and the
 * config (tables.c) -> the true PSFs (truepsf.c).  The design is drawn
 * from one seeded generator before any rendering and each band's noise
 * from its own generator, so the output bytes depend on the seed only,
 * never on the number of threads.
 */
#ifndef SIM_H
#define SIM_H

#include "pp_cli.h"
#include "pp_error.h"

#include "render.h"

enum { SIM_REGIME_SKY = 0, SIM_REGIME_REALISTIC = 1 };
enum { SIM_STAR = 0, SIM_EXP, SIM_DEV, SIM_SERSIC };

/* Validated settings (cli.c). */
typedef struct {
    char *out;                  /* output directory */
    int nbands;
    char **band;                /* band names, in order */
    long width, height;
    long nstars, ngals;
    unsigned long seed;
    double fwhm_lo, fwhm_hi;    /* pixels */
    int psf_kind;               /* SIM_PSF_* */
    double beta, psf_ell;
    double pixscale;            /* arcsec per pixel */
    long margin;                /* crop.margin of the written config */
    int regime;                 /* SIM_REGIME_* */
    int true_psf;
    int threads;
    int oversample;
    long epsf_ngrid;            /* ePSF grid; -1: from the field size */
} sim_settings;

/* One band: calibration and noise (field.c, image.c). */
typedef struct {
    double lambda_nm;
    double zp_true, dzp, zp_auto;
    double skysig, egain, sky;  /* ADU; sky = the subtracted level S */
    double saturate;            /* ADU, in the subtracted image */
    double fwhm_base;           /* in [0, 1]: where the band sits in LO:HI */
    double fwhm_min, fwhm_max;  /* over the full frame */
    double fwhm_centre;         /* at the frame centre: PEEING */
} sim_band;

/* One source (field.c).  Positions are full-frame, 0-based. */
typedef struct {
    char id[64];                /* the catalogue's ID text */
    char type_text[16];         /* the catalogue's TYPE text */
    int kind;                   /* SIM_STAR, SIM_EXP, ... */
    double x, y, ra, dec;
    double n, re, q, theta;     /* galaxies: index, pixels, b/a, radians */
    double mag0, color;         /* AB magnitude in band 0, colour slope */
    double *mag;                /* per band: true AB magnitude asked */
    double *flux_adu;           /* per band: flux asked (ADU) */
    double *rendered;           /* per band: flux rendered (ADU, truth) */
    double pos_err;             /* POS_ERR, or NAN */
    int in_catalog, in_gaia, saturated, pair, no_coords;
    char gaia_id[24];
} sim_source;

typedef struct {
    sim_settings set;
    sim_band *bands;
    sim_source *src;
    long nsrc;
    double crval1, crval2, crpix1, crpix2, cd;  /* TAN WCS (degrees) */
} sim_field;

/* cli.c */
typedef struct {
    pp_cli_common common;
    char *out, *bands, *size, *fwhm, *psf, *beta, *psf_ell, *pixscale;
    char *regime;
    long nbands, nstars, ngals, seed, margin, threads, oversample;
    long epsf_ngrid;
    int true_psf;
} sim_opts;

int sim_cli_parse(int argc, char **argv, sim_opts *o, pp_error *err);
int sim_settings_from_opts(const sim_opts *o, sim_settings *s,
                           pp_error *err);
void sim_opts_release(sim_opts *o);
void sim_settings_release(sim_settings *s);

/* field.c: the design, drawn from the seed. */
int sim_field_design(sim_field *f, pp_error *err);
void sim_field_release(sim_field *f);

/* The PSF of band b at full-frame position (x, y). */
sim_psf sim_field_psf(const sim_field *f, int b, double x, double y);

/* Full-frame pixel (0-based) to sky, by the TAN formulae. */
void sim_field_pix_to_sky(const sim_field *f, double x, double y,
                          double *ra, double *dec);

/* image.c: render, add noise and write every band's FITS image. */
int sim_images_write(sim_field *f, pp_error *err);

/* tables.c: image_list.txt, input_catalog.csv, gaiaxp_synphot.csv,
 * truth.csv, truth_bands.csv, config.yaml. */
int sim_tables_write(const sim_field *f, pp_error *err);

/* The working-frame geometry of the written config (SPEC §15). */
void sim_epsf_grid(const sim_field *f, long *epsf_ngrid, long *ngrid);

/* truepsf.c: EPSFs_true/<band>/<cell>/{epsf.npy,meta.json}. */
int sim_truepsf_write(const sim_field *f, pp_error *err);

/* sim.c: the whole tool. */
int sim_run(const sim_settings *s, pp_error *err);

#endif /* SIM_H */
