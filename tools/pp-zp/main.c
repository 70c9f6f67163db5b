/* main.c - pp-zp: Gaia matching and injection (SPEC §7), zero points
 * (SPEC §12). */
#include "pp_cli.h"
#include "pp_config.h"
#include "pp_error.h"
#include "pp_log.h"

#include "cli.h"
#include "zp.h"

int main(int argc, char **argv)
{
    pp_error err = PP_ERROR_INIT;
    zp_opts opts = ZP_OPTS_INIT;
    pp_config cfg = PP_CONFIG_INIT;
    int status;

    pp_log_init("pp-zp");
    if (zp_cli_parse(argc, argv, &opts, &err) == PP_OK &&
        !opts.common.done &&
        pp_config_load(opts.common.config, opts.common.sets.items,
                       opts.common.sets.n, &cfg, &err) == PP_OK &&
        pp_cli_setup_logging(&cfg, "pp-zp", &err) == PP_OK) {
        if (opts.command == ZP_CMD_AUGMENT)
            zp_augment(&cfg, &err);
        else
            zp_calibrate(&cfg, &err);
    }
    status = pp_error_report(&err);
    pp_config_release(&cfg);
    zp_opts_release(&opts);
    pp_log_close();
    return status;
}
