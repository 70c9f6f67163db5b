/* cli.c - pp-crop's option table and checks. */
#include "cli.h"

static const pp_option crop_options[] = {
    { 0 }
};

static const pp_cli_spec crop_spec = {
    "pp-crop", "-c CONFIG [OPTION]...",
    "Load and validate the images and the catalogue, build the white stack,\n"
    "crop, flag saturated sources; write frames.json, wcs.fits, white.fits\n"
    "and catalog.csv in the work directory.",
    crop_options, 1, 0
};

int crop_cli_parse(int argc, char **argv, crop_opts *opts, pp_error *err)
{
    int first;

    if (pp_cli_parse(&crop_spec, argc, argv, opts, &opts->common, &first,
                     err) != PP_OK || opts->common.done)
        return err->code;
    if (first < argc)
        return pp_error_set(err, PP_EUSAGE, "unknown command '%s' (see "
                            "'pp-crop --help')", argv[first]);
    return PP_OK;
}

void crop_opts_release(crop_opts *opts)
{
    pp_cli_release(&crop_spec, opts, &opts->common);
}
