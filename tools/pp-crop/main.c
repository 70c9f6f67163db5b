/* main.c - pp-crop: load and validate inputs, white stack, crop,
 * saturation flags (SPEC §6); `pp-crop mask`: the bright mask (§6.8). */
#include "pp_cli.h"
#include "pp_config.h"
#include "pp_error.h"
#include "pp_log.h"

#include "cli.h"
#include "crop.h"
#include "mask.h"

int main(int argc, char **argv)
{
    pp_error err = PP_ERROR_INIT;
    crop_opts opts = CROP_OPTS_INIT;
    pp_config cfg = PP_CONFIG_INIT;
    int status;

    pp_log_init("pp-crop");
    if (crop_cli_parse(argc, argv, &opts, &err) == PP_OK &&
        !opts.common.done &&
        pp_config_load(opts.common.config, opts.common.sets.items,
                       opts.common.sets.n, &cfg, &err) == PP_OK &&
        pp_cli_setup_logging(&cfg, "pp-crop", &err) == PP_OK) {
        if (opts.command == CROP_CMD_MASK)
            crop_mask(&cfg, &err);
        else
            crop_load(&cfg, &err);
    }
    status = pp_error_report(&err);
    pp_config_release(&cfg);
    crop_opts_release(&opts);
    pp_log_close();
    return status;
}
