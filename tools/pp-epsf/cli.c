/* cli.c - pp-epsf's option table and checks. */
#include <stddef.h>
#include <string.h>

#include "cli.h"

static const pp_option epsf_options[] = {
    { "band", 'b', PP_OPT_LIST, "B", offsetof(epsf_opts, bands),
      "build this band only (repeatable, or B1,B2) [every band]" },
    { "cell", 0, PP_OPT_LIST, "rNN_cNN", offsetof(epsf_opts, cells),
      "build this ePSF cell only (repeatable, or lists) [every active "
      "cell]" },
    { "threads", 'j', PP_OPT_LONG, "N", offsetof(epsf_opts, threads),
      "(band, cell) pairs built at once [epsf.max_workers]" },
    { 0 }
};

static const pp_option summary_options[] = { { 0 } };

static const pp_cli_spec epsf_spec = {
    "pp-epsf", "-c CONFIG [OPTION]...\n"
    "  or:  pp-epsf summary -c CONFIG",
    "Build the empirical PSF of every band and ePSF cell (or of the named\n"
    "ones) in EPSFs/<band>/<cell>/.  The summary command rewrites\n"
    "EPSFs/epsf_summary.json from the cells' meta.json files.",
    epsf_options, 1, 0
};

static const pp_cli_spec summary_spec = {
    "pp-epsf summary", "-c CONFIG [OPTION]...",
    "Rewrite EPSFs/epsf_summary.json from the meta.json files of every\n"
    "cell present, band order then cell order (SPEC section 8.3).",
    summary_options, 1, 0
};

static const pp_cli_spec *spec_of(const epsf_opts *opts)
{
    return opts->summary ? &summary_spec : &epsf_spec;
}

int epsf_cli_parse(int argc, char **argv, epsf_opts *opts, pp_error *err)
{
    int first, shift = 0;

    /* SPEC §8: `pp-epsf summary -c CONFIG`, the command first. */
    if (argc > 1 && strcmp(argv[1], "summary") == 0) {
        opts->summary = 1;
        shift = 1;
    }
    if (pp_cli_parse(spec_of(opts), argc - shift, argv + shift, opts,
                     &opts->common, &first, err) != PP_OK ||
        opts->common.done)
        return err->code;
    first += shift;
    if (first < argc && strcmp(argv[first], "summary") == 0)
        return pp_error_set(err, PP_EUSAGE, "the command 'summary' must "
                            "come first: 'pp-epsf summary -c CONFIG'");
    if (first < argc)
        return pp_error_set(err, PP_EUSAGE, "unknown command '%s' (see "
                            "'pp-epsf --help')", argv[first]);
    if (opts->threads < 0)
        return pp_error_set(err, PP_EUSAGE, "option '--threads': found "
                            "%ld, expected a count >= 0 (0: "
                            "epsf.max_workers)", opts->threads);
    return PP_OK;
}

void epsf_opts_release(epsf_opts *opts)
{
    pp_cli_release(spec_of(opts), opts, &opts->common);
}
