/* main.c - pp-fit: fit one patch payload (SPEC §10). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_errno.h>

#include "pp_config.h"
#include "pp_error.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"

#include "cli.h"
#include "fitout.h"
#include "payload.h"
#include "psfsel.h"
#include "run.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* The per-patch log <outdir>/<tag>.log, started afresh (SPEC §10.5). */
static int open_patch_log(const char *outdir, const char *tag,
                          pp_error *err)
{
    char *path = pp_xasprintf("%s/%s.log", outdir, tag);
    int rc = pp_io_mkdir_p(outdir, err);

    if (rc == PP_OK && pp_io_exists(path))
        rc = pp_io_remove_file(path, err);
    if (rc == PP_OK)
        rc = pp_log_open_file(path, err);
    free(path);
    return rc;
}

static void log_psf_choices(const fit_payload *p, const fit_psfsel *ps)
{
    for (int b = 0; b < p->nbands; b++) {
        const fit_psf_audit *a = fit_psfsel_audit(ps, b);
        if (a->used_epsf)
            pp_log(PP_LOG_INFO, "band %s: PSF %s from %s (nstars_used=%ld)",
                   a->band, a->psf_model, a->epsf_path,
                   a->epsf_nstars_used);
        else
            pp_log(PP_LOG_INFO, "band %s: PSF %s (fallback: %s)", a->band,
                   a->psf_model, a->fallback_reason);
    }
}

static void log_summary(const fit_payload *p, const fit_result *r,
                        const char *outdir, double secs)
{
    long nconv = 0;
    for (int k = 0; k < r->nsets; k++)
        nconv += r->sets[k].converged;
    pp_log(PP_LOG_INFO, "patch %s: %ld base + %ld halo + %ld edge sources, "
           "%d band(s); %s: %ld iterations, %s; wrote %s (%.2f s)",
           p->patch_tag, p->n_base, p->n_halo, p->n_edge, p->nbands,
           r->multiband ? "multi-band" : "single-band",
           r->sets[0].niters, r->multiband
               ? (r->sets[0].converged ? "converged" : "NOT converged")
               : (nconv == r->nsets ? "all bands converged"
                                    : "some bands NOT converged"),
           outdir, secs);
}

static int run(const pp_config *cfg, const fit_cli_opts *opts, pp_error *err)
{
    fit_payload p = FIT_PAYLOAD_INIT;
    fit_psfsel *ps = NULL;
    fit_result r;
    char *outdir = NULL;
    double t0 = now(), t_read;
    int rc;

    memset(&r, 0, sizeof(r));
    if ((rc = fit_payload_read(opts->payload, cfg, &p, err)) != PP_OK)
        return rc;
    t_read = now() - t0;
    outdir = fit_cli_outdir(opts, cfg, p.patch_tag);
    if ((rc = open_patch_log(outdir, p.patch_tag, err)) == PP_OK
        && (rc = fit_psfsel_open(cfg, cfg->outputs.epsf_dir, &p, &ps, err))
           == PP_OK
        && (rc = fit_result_init(&r, &p, cfg->patch_run
                                 .enable_multi_band_simultaneous_fitting,
                                 err)) == PP_OK) {
        log_psf_choices(&p, ps);
        r.t_read = t_read;
        if ((rc = fit_patch(cfg, &p, ps, &r, err)) == PP_OK
            && (rc = fit_out_write_all(outdir, cfg, &p, ps, &r, err))
               == PP_OK)
            log_summary(&p, &r, outdir, now() - t0);
    }
    if (rc != PP_OK)
        pp_error_prefix(err, "patch payload '%s'", opts->payload);
    fit_result_release(&r);
    fit_psfsel_free(ps);
    fit_payload_release(&p);
    free(outdir);
    return rc;
}

int main(int argc, char **argv)
{
    pp_error err = PP_ERROR_INIT;
    fit_cli_opts opts = FIT_CLI_OPTS_INIT;
    pp_config cfg = PP_CONFIG_INIT;
    int status;

    pp_log_init("pp-fit");
    gsl_set_error_handler_off();
    if (fit_cli_parse(argc, argv, &opts, &err) == PP_OK
        && !opts.common.done
        && pp_config_load(opts.common.config, opts.common.sets.items,
                          opts.common.sets.n, &cfg, &err) == PP_OK
        && pp_log_set_level_name(cfg.logging.level, &err) == PP_OK)
        run(&cfg, &opts, &err);
    status = pp_error_report(&err);
    pp_config_release(&cfg);
    fit_cli_opts_release(&opts);
    pp_log_close();
    return status;
}
