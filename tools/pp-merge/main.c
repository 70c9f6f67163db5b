/* main.c - pp-merge: the final catalogue (SPEC §11). */
#include "pp_cli.h"
#include "pp_config.h"
#include "pp_error.h"
#include "pp_log.h"

#include "cli.h"
#include "merge.h"

int main(int argc, char **argv)
{
    pp_error err = PP_ERROR_INIT;
    merge_opts opts = MERGE_OPTS_INIT;
    pp_config cfg = PP_CONFIG_INIT;
    int status;

    pp_log_init("pp-merge");
    if (merge_cli_parse(argc, argv, &opts, &err) == PP_OK &&
        !opts.common.done &&
        pp_config_load(opts.common.config, opts.common.sets.items,
                       opts.common.sets.n, &cfg, &err) == PP_OK &&
        pp_cli_setup_logging(&cfg, "pp-merge", &err) == PP_OK)
        merge_run(&cfg, &opts, &err);
    status = pp_error_report(&err);
    pp_config_release(&cfg);
    merge_opts_release(&opts);
    pp_log_close();
    return status;
}
