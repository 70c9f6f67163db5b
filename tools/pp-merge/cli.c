/* cli.c - pp-merge's option table and checks. */
#include <stddef.h>

#include "cli.h"

static const pp_option merge_options[] = {
    { "threads", 'j', PP_OPT_LONG, "N", offsetof(merge_opts, threads),
      "fit catalogues parsed at once [number of cores]" },
    { 0 }
};

static const pp_cli_spec merge_spec = {
    "pp-merge", "-c CONFIG [OPTION]...",
    "Join the fit catalogues of the patches of the current run\n"
    "(patches/patches.json) to the base catalogue, add excluded_reason,\n"
    "fit_is_reliable and fit_quality_issues, and write the final catalogue.",
    merge_options, 1, 0
};

int merge_cli_parse(int argc, char **argv, merge_opts *opts, pp_error *err)
{
    int first;

    if (pp_cli_parse(&merge_spec, argc, argv, opts, &opts->common, &first,
                     err) != PP_OK || opts->common.done)
        return err->code;
    if (first < argc)
        return pp_error_set(err, PP_EUSAGE, "unknown command '%s' (see "
                            "'pp-merge --help')", argv[first]);
    if (opts->threads < 0)
        return pp_error_set(err, PP_EUSAGE, "option '--threads': found "
                            "%ld, expected a count >= 0 (0: all cores)",
                            opts->threads);
    return PP_OK;
}

void merge_opts_release(merge_opts *opts)
{
    pp_cli_release(&merge_spec, opts, &opts->common);
}
