/* cli.h - pp-crop's command line.
 *
 * Two commands share the program (SPEC §6): `pp-crop -c CONFIG`, the load
 * stage, and `pp-crop mask -c CONFIG`, the bright mask (SPEC §6.8).  The
 * command word comes first, as in git; both take the common options.
 */
#ifndef CROP_CLI_H
#define CROP_CLI_H

#include "pp_cli.h"
#include "pp_error.h"

enum { CROP_CMD_LOAD = 0, CROP_CMD_MASK };

typedef struct {
    pp_cli_common common;
    int command;                /* CROP_CMD_* */
} crop_opts;

#define CROP_OPTS_INIT { { 0 }, CROP_CMD_LOAD }

/* Parse argv into opts.  A first operand "mask" selects the mask command;
 * any other operand is a usage error (PP_EUSAGE), and so is "mask" given
 * after the options. */
int crop_cli_parse(int argc, char **argv, crop_opts *opts, pp_error *err);

void crop_opts_release(crop_opts *opts);

#endif /* CROP_CLI_H */
