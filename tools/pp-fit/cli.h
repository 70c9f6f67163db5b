/* cli.h - pp-fit's command line (SPEC §10):
 *
 *     pp-fit -c CONFIG PAYLOAD [--outdir DIR] [--set KEY=VALUE]...
 *
 * Exactly one operand, the payload FITS file (SPEC §9.3).  --outdir
 * overrides the output directory, by default
 * <work_dir>/<outputs.tractor_out_dir>/<patch_tag> (the patch tag is read
 * from the payload, so main resolves the default, see
 * fit_cli_outdir()).  -c, --set, -h/--help and -V/--version are
 * pp_cli's common options.  Usage errors are PP_EUSAGE (exit 2).
 */
#ifndef FIT_CLI_H
#define FIT_CLI_H

#include "pp_cli.h"
#include "pp_config.h"
#include "pp_error.h"

typedef struct {
    pp_cli_common common;
    char *outdir;               /* --outdir DIR, NULL: the default */
    char *payload;              /* the operand (owned) */
} fit_cli_opts;

#define FIT_CLI_OPTS_INIT { { 0 }, NULL, NULL }

/* Parse argv into opts.  PP_EUSAGE naming the problem when the payload
 * operand is missing or there is more than one operand.  After --help or
 * --version, opts->common.done is set and nothing else is checked. */
int fit_cli_parse(int argc, char **argv, fit_cli_opts *opts, pp_error *err);

/* The output directory: opts->outdir when given, else
 * <cfg->outputs.tractor_out_dir>/<patch_tag> (tractor_out_dir is absolute
 * after pp_config_load).  A new string. */
char *fit_cli_outdir(const fit_cli_opts *opts, const pp_config *cfg,
                     const char *patch_tag);

void fit_cli_opts_release(fit_cli_opts *opts);

#endif /* FIT_CLI_H */
