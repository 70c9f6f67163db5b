/* cli.c - pp-patchify's option table and checks. */
#include <stddef.h>

#include "cli.h"

static const pp_option patchify_options[] = {
    { "geometry-only", 0, PP_OPT_FLAG, NULL,
      offsetof(patchify_opts, geometry_only),
      "write patches/patches.{csv,json} only, no payload" },
    { "threads", 'j', PP_OPT_LONG, "N", offsetof(patchify_opts, threads),
      "payloads written at once [number of cores]" },
    { 0 }
};

static const pp_cli_spec patchify_spec = {
    "pp-patchify", "-c CONFIG [OPTION]...",
    "Split the working frame into patches (ePSF cells x epsf.ngrid^2),\n"
    "assign the base catalogue's sources, and write patches/patches.csv,\n"
    "patches/patches.json and one FITS payload per non-empty patch.",
    patchify_options, 1, 0
};

int patchify_cli_parse(int argc, char **argv, patchify_opts *opts,
                       pp_error *err)
{
    int first;

    if (pp_cli_parse(&patchify_spec, argc, argv, opts, &opts->common,
                     &first, err) != PP_OK || opts->common.done)
        return err->code;
    if (first < argc)
        return pp_error_set(err, PP_EUSAGE, "unknown command '%s' (see "
                            "'pp-patchify --help')", argv[first]);
    if (opts->threads < 0)
        return pp_error_set(err, PP_EUSAGE, "option '--threads': found "
                            "%ld, expected a count >= 0 (0: all cores)",
                            opts->threads);
    return PP_OK;
}

void patchify_opts_release(patchify_opts *opts)
{
    pp_cli_release(&patchify_spec, opts, &opts->common);
}
