/* cli.c - pp-fit's option table and checks. */
#include <stddef.h>
#include <stdlib.h>

#include "pp_io.h"
#include "pp_mem.h"

#include "cli.h"

static const pp_option fit_options[] = {
    { "outdir", 'o', PP_OPT_STRING, "DIR", offsetof(fit_cli_opts, outdir),
      "write the outputs into DIR [<work_dir>/outputs/<patch_tag>]" },
    { 0 }
};

static const pp_cli_spec fit_spec = {
    "pp-fit", "-c CONFIG [OPTION]... PAYLOAD",
    "Fit one patch payload (written by pp-patchify) with the multi-band\n"
    "model-fitting engine and write <patch_tag>_cat_fit.csv, meta.json\n"
    "and model.fits into the patch's output directory.",
    fit_options, 1, 0
};

/* pp_cli stops at the first operand (for tools with subcommands); SPEC
 * §10 writes options after the payload too ("pp-fit -c CONFIG PAYLOAD
 * [--outdir DIR]"), so the words after each operand are parsed again as
 * a command line of their own, collecting the operands. */
int fit_cli_parse(int argc, char **argv, fit_cli_opts *opts, pp_error *err)
{
    char **sub = pp_xcalloc((size_t)argc + 1, sizeof *sub);
    pp_cli_spec spec = fit_spec;
    int first, n = argc, noperand = 0, status = PP_OK, i;
    const char *extra = NULL;

    /* -c may come after the payload: checked once all words are read. */
    spec.need_config = 0;
    for (i = 0; i < argc; i++)
        sub[i] = argv[i];
    while (status == PP_OK) {
        status = pp_cli_parse(&spec, n, sub, opts, &opts->common, &first,
                              err);
        if (status != PP_OK || opts->common.done || first >= n)
            break;
        if (noperand++ == 0)
            opts->payload = pp_xstrdup(sub[first]);
        else if (!extra)
            extra = sub[first];
        /* sub[0] stays the program name; the rest shift down. */
        for (i = first + 1; i < n; i++)
            sub[i - first] = sub[i];
        n -= first;
    }
    free(sub);
    if (status != PP_OK || opts->common.done)
        return status;
    if (!opts->common.config)
        return pp_error_set(err, PP_EUSAGE, "missing option '-c CONFIG' "
                            "(see 'pp-fit --help')");
    if (!opts->payload)
        return pp_error_set(err, PP_EUSAGE, "missing operand PAYLOAD (see "
                            "'pp-fit --help')");
    if (extra)
        return pp_error_set(err, PP_EUSAGE, "unexpected operand '%s': pp-fit"
                            " fits one payload (see 'pp-fit --help')",
                            extra);
    if (opts->outdir && !opts->outdir[0])
        return pp_error_set(err, PP_EUSAGE, "option '--outdir': found '', "
                            "expected a directory");
    return PP_OK;
}

char *fit_cli_outdir(const fit_cli_opts *opts, const pp_config *cfg,
                     const char *patch_tag)
{
    if (opts->outdir)
        return pp_xstrdup(opts->outdir);
    return pp_io_path_join(cfg->outputs.tractor_out_dir, patch_tag);
}

void fit_cli_opts_release(fit_cli_opts *opts)
{
    pp_cli_release(&fit_spec, opts, &opts->common);
    free(opts->payload);
    opts->payload = NULL;
}
