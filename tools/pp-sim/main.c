/* main.c - pp-sim: synthetic 7DT-like fields with known truth (SPEC §15).
 */
#include <string.h>

#include <gsl/gsl_errno.h>

#include "pp_error.h"
#include "pp_log.h"

#include "sim.h"

int main(int argc, char **argv)
{
    pp_error err = PP_ERROR_INIT;
    sim_opts opts;
    sim_settings set;
    int status;

    memset(&opts, 0, sizeof opts);
    memset(&set, 0, sizeof set);

    pp_log_init("pp-sim");
    /* GSL's default handler aborts; every GSL call here checks its
     * domain or its status. */
    gsl_set_error_handler_off();
    if (sim_cli_parse(argc, argv, &opts, &err) == PP_OK &&
        !opts.common.done &&
        sim_settings_from_opts(&opts, &set, &err) == PP_OK)
        sim_run(&set, &err);
    status = pp_error_report(&err);
    sim_settings_release(&set);
    sim_opts_release(&opts);
    return status;
}
