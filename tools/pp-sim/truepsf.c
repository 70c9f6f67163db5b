/* truepsf.c - EPSFs_true/: the true PSF of every band and ePSF cell of the
 * written config, in pp-epsf's output format (SPEC §15, §8.3): epsf.npy,
 * the optical PSF at the cell centre integrated over pixels, final_psf_size
 * square, centred, sum 1; meta.json with the §8.3 keys, status "ok",
 * nstars_used = epsf.max_stars and no "mog".  pp-fit can then be validated
 * before pp-epsf exists, and pp-epsf measured against the truth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pp_config.h"
#include "pp_io.h"
#include "pp_json.h"
#include "pp_mem.h"
#include "pp_npy.h"

#include "sim.h"

/* SPEC §8.1: cell c of E spans [c·s, (c+1)·s), the last one to the end. */
static void cell_span(long n, long e, long c, long *lo, long *hi)
{
    long s = n / e;

    *lo = c * s;
    *hi = c == e - 1 ? n : (c + 1) * s;
}

static json_t *meta_json(const pp_config *cfg, const char *band,
                         const char *tag, const long box[4], double fwhm)
{
    json_t *m = json_object(), *o;
    long size = cfg->epsf.final_psf_size, nst = cfg->epsf.max_stars;

    json_object_set_new(m, "band", json_string(band));
    json_object_set_new(m, "patch", json_string(tag));
    json_object_set_new(m, "x0", json_integer(box[0]));
    json_object_set_new(m, "x1", json_integer(box[1]));
    json_object_set_new(m, "y0", json_integer(box[2]));
    json_object_set_new(m, "y1", json_integer(box[3]));
    json_object_set_new(m, "epsf_ngrid", json_integer(cfg->epsf.epsf_ngrid));
    json_object_set_new(m, "psfstar_mode",
                        json_string(cfg->epsf.psfstar_mode));
    json_object_set_new(m, "gaia_snap_to_sep",
                        json_boolean(cfg->epsf.gaia_snap_to_sep));
    json_object_set_new(m, "gaia_mag_min",
                        pp_json_real(cfg->epsf.gaia_mag_min));
    json_object_set_new(m, "gaia_mag_max",
                        pp_json_real(cfg->epsf.gaia_mag_max));
    json_object_set_new(m, "nstars_seed", json_integer(nst));
    json_object_set_new(m, "nstars_sel", json_integer(nst));
    json_object_set_new(m, "nstars_extract", json_integer(nst));
    json_object_set_new(m, "nstars_used", json_integer(nst));
    json_object_set_new(m, "nstars_rejected", json_integer(0));
    json_object_set_new(m, "epsf_shape", json_pack("[I, I]",
                                                   (json_int_t)size,
                                                   (json_int_t)size));
    json_object_set_new(m, "fwhm_pix", pp_json_real(fwhm));
    json_object_set_new(m, "patch_background",
                        json_pack("{s:s}", "status", "disabled"));
    o = json_pack("{s:i, s:i, s:n, s:n}", "local_bkg_nstars", 0,
                  "local_bkg_ok_nstars", 0, "local_bkg_median",
                  "local_bkg_mean");
    json_object_set_new(m, "local_star_background", o);
    json_object_set_new(m, "local_bkg_diagnostics",
                        json_pack("{s:i, s:s}", "local_bkg_diag_nstars", 0,
                                  "local_bkg_diag_status",
                                  "skipped_disabled"));
    json_object_set_new(m, "epsf_qa", json_pack("{s:s, s:o}", "source",
                                                "pp-sim true PSF",
                                                "fwhm_pix",
                                                pp_json_real(fwhm)));
    json_object_set_new(m, "residual_qa",
                        json_pack("{s:s}", "status", "skipped_true_psf"));
    json_object_set_new(m, "cfg", pp_config_section_json(cfg, "epsf"));
    json_object_set_new(m, "status", json_string("ok"));
    return m;
}

/* The pixel-integrated PSF at (x, y), size x size, sum 1, as float. */
static void psf_stamp(const sim_psf *p, long size, float *out,
                      double *tmp)
{
    double sum = 0;

    sim_psf_pixel_stamp(p, (int)size, 0.0, 0.0, tmp);
    for (long k = 0; k < size * size; ++k)
        sum += tmp[k];
    for (long k = 0; k < size * size; ++k)
        out[k] = (float)(tmp[k] / sum);
}

static int write_cell(const sim_field *f, const pp_config *cfg, int b,
                      long r, long c, pp_error *err)
{
    long e = cfg->epsf.epsf_ngrid, size = cfg->epsf.final_psf_size;
    long ww = f->set.width - 2 * f->set.margin;
    long wh = f->set.height - 2 * f->set.margin, box[4];
    long shape[2] = { size, size };
    char tag[48], *dir, *npy, *meta;
    float *stamp = pp_xmalloc(sizeof *stamp * (size_t)(size * size));
    double *tmp = pp_xmalloc(sizeof *tmp * (size_t)(size * size));
    sim_psf p;
    json_t *m;
    int rc;

    cell_span(ww, e, c, &box[0], &box[1]);
    cell_span(wh, e, r, &box[2], &box[3]);
    /* The cell's centre, working frame to full frame. */
    p = sim_field_psf(f, b, 0.5 * (double)(box[0] + box[1] - 1) +
                      (double)f->set.margin,
                      0.5 * (double)(box[2] + box[3] - 1) +
                      (double)f->set.margin);
    psf_stamp(&p, size, stamp, tmp);
    snprintf(tag, sizeof tag, "r%02ld_c%02ld", r, c);
    dir = pp_xasprintf("%s/EPSFs_true/%s/%s", f->set.out, f->set.band[b],
                       tag);
    npy = pp_io_path_join(dir, "epsf.npy");
    meta = pp_io_path_join(dir, "meta.json");
    m = meta_json(cfg, f->set.band[b], tag, box, p.fwhm);
    rc = pp_io_mkdir_p(dir, err) ||
         pp_npy_write(npy, stamp, 2, shape, err) ||
         pp_json_write(meta, m, err);
    json_decref(m);
    free(dir);
    free(npy);
    free(meta);
    free(stamp);
    free(tmp);
    return rc ? err->code : PP_OK;
}

int sim_truepsf_write(const sim_field *f, pp_error *err)
{
    pp_config cfg = PP_CONFIG_INIT;
    long e, g;
    int rc = PP_OK;

    /* The epsf section of the written config: defaults and the grid. */
    pp_config_defaults(&cfg);
    sim_epsf_grid(f, &e, &g);
    cfg.epsf.epsf_ngrid = e;
    cfg.epsf.ngrid = g;
    for (int b = 0; b < f->set.nbands && rc == PP_OK; ++b)
        for (long r = 0; r < e && rc == PP_OK; ++r)
            for (long c = 0; c < e && rc == PP_OK; ++c)
                rc = write_cell(f, &cfg, b, r, c, err);
    pp_config_release(&cfg);
    return rc;
}
