/* cli.c - pp-crop's option tables and checks. */
#include <string.h>

#include "cli.h"

static const pp_option crop_options[] = {
    { 0 }
};

static const pp_cli_spec crop_spec = {
    "pp-crop", "-c CONFIG [OPTION]...\n"
    "  or:  pp-crop mask -c CONFIG [OPTION]...",
    "Load and validate the images and the catalogue, build the white stack,\n"
    "crop, flag saturated sources; write frames.json, wcs.fits, white.fits\n"
    "and catalog.csv in the work directory.  The mask command builds the\n"
    "bright unmatched-source mask (see 'pp-crop mask --help').",
    crop_options, 1, 0
};

static const pp_cli_spec mask_spec = {
    "pp-crop mask", "-c CONFIG [OPTION]...",
    "Detect sources on the white stack with SEP, mask the bright ones that\n"
    "no catalogue source explains (and the dilated saturated pixels); write\n"
    "white_bright_mask.fits, detections.csv and catalog_match.csv in the\n"
    "bright-mask directory and the affected_by_bright_mask column of the\n"
    "base catalogue.",
    crop_options, 1, 0
};

static const pp_cli_spec *spec_of(const crop_opts *opts)
{
    return opts->command == CROP_CMD_MASK ? &mask_spec : &crop_spec;
}

int crop_cli_parse(int argc, char **argv, crop_opts *opts, pp_error *err)
{
    int first, shift = 0;

    if (argc > 1 && !strcmp(argv[1], "mask")) {
        opts->command = CROP_CMD_MASK;
        shift = 1;
    }
    if (pp_cli_parse(spec_of(opts), argc - shift, argv + shift, opts,
                     &opts->common, &first, err) != PP_OK ||
        opts->common.done)
        return err->code;
    first += shift;
    if (first < argc && !strcmp(argv[first], "mask"))
        return pp_error_set(err, PP_EUSAGE, "the command 'mask' must come "
                            "first: 'pp-crop mask -c CONFIG'");
    if (first < argc)
        return pp_error_set(err, PP_EUSAGE, "unknown command '%s' (see "
                            "'%s --help')", argv[first],
                            spec_of(opts)->tool);
    return PP_OK;
}

void crop_opts_release(crop_opts *opts)
{
    pp_cli_release(spec_of(opts), opts, &opts->common);
}
