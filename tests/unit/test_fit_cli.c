/* test_fit_cli.c - pp-fit's command line (SPEC §10: "pp-fit -c CONFIG
 * PAYLOAD [--outdir DIR]"). */
#include <stdlib.h>
#include <string.h>

#include "pp_config.h"
#include "pp_log.h"

#include "cli.h"
#include "tap.h"

/* Parse a NULL-terminated word list; OUTPUT *o (release it). */
static int parse(fit_cli_opts *o, pp_error *err, const char *const *words)
{
    char *argv[16];
    int argc = 0;

    while (words[argc] && argc < 15) {
        argv[argc] = (char *)words[argc];
        argc++;
    }
    argv[argc] = NULL;
    *o = (fit_cli_opts)FIT_CLI_OPTS_INIT;
    pp_error_clear(err);
    return fit_cli_parse(argc, argv, o, err);
}

int main(void)
{
    fit_cli_opts o;
    pp_error err = PP_ERROR_INIT;
    pp_config cfg = PP_CONFIG_INIT;
    char *dir;

    pp_log_set_level(PP_LOG_ERROR);
    check_int(parse(&o, &err, (const char *const[]){ "pp-fit", "-c", "c.yaml",
                    "p.fits", "--outdir", "out", NULL }), ==, PP_OK,
              "cli: -c CONFIG PAYLOAD --outdir DIR (option after operand)");
    check(o.payload && strcmp(o.payload, "p.fits") == 0 && o.outdir &&
          strcmp(o.outdir, "out") == 0 && strcmp(o.common.config,
                                                 "c.yaml") == 0,
          "cli: payload, outdir and config stored");
    fit_cli_opts_release(&o);
    check_int(parse(&o, &err, (const char *const[]){ "pp-fit", "p.fits",
                    "--set", "patch_run.r_ap=3", "-c", "c.yaml", "-o", "d",
                    NULL }), ==, PP_OK, "cli: every option after the payload");
    check(o.common.sets.n == 1 && strcmp(o.outdir, "d") == 0,
          "cli: --set and -o after the payload kept");
    fit_cli_opts_release(&o);
    check_int(parse(&o, &err, (const char *const[]){ "pp-fit", "-c", "c.yaml",
                    NULL }), ==, PP_EUSAGE, "cli: no payload is a usage error");
    check(strstr(err.msg, "PAYLOAD") != NULL, "cli: message names PAYLOAD");
    fit_cli_opts_release(&o);
    check_int(parse(&o, &err, (const char *const[]){ "pp-fit", "-c", "c.yaml",
                    "a.fits", "b.fits", NULL }), ==, PP_EUSAGE,
              "cli: two payloads are a usage error");
    check(strstr(err.msg, "'b.fits'") != NULL, "cli: message names the extra "
          "operand");
    fit_cli_opts_release(&o);
    check_int(parse(&o, &err, (const char *const[]){ "pp-fit", "a.fits",
                    NULL }), ==, PP_EUSAGE, "cli: -c is required");
    check(strstr(err.msg, "-c CONFIG") != NULL, "cli: message names -c");
    fit_cli_opts_release(&o);
    check_int(parse(&o, &err, (const char *const[]){ "pp-fit", "-c", "c.yaml",
                    "a.fits", "--outdir", NULL }), ==, PP_EUSAGE,
              "cli: --outdir without its argument");
    fit_cli_opts_release(&o);

    /* Default output directory: <tractor_out_dir>/<patch_tag>. */
    pp_config_defaults(&cfg);
    free(cfg.outputs.tractor_out_dir);
    cfg.outputs.tractor_out_dir = strdup("/w/outputs");
    parse(&o, &err, (const char *const[]){ "pp-fit", "-c", "c", "p", NULL });
    dir = fit_cli_outdir(&o, &cfg, "r00_c01_pr02_pc03");
    check_str(dir, "/w/outputs/r00_c01_pr02_pc03", "cli: default outdir");
    free(dir);
    fit_cli_opts_release(&o);
    parse(&o, &err, (const char *const[]){ "pp-fit", "-c", "c", "p", "-o",
                                           "x/y", NULL });
    dir = fit_cli_outdir(&o, &cfg, "r00_c01_pr02_pc03");
    check_str(dir, "x/y", "cli: --outdir wins");
    free(dir);
    fit_cli_opts_release(&o);
    pp_config_release(&cfg);
    return tap_done();
}
