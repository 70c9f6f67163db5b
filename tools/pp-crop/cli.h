/* cli.h - pp-crop's command line. */
#ifndef CROP_CLI_H
#define CROP_CLI_H

#include "pp_cli.h"
#include "pp_error.h"

typedef struct {
    pp_cli_common common;
} crop_opts;

#define CROP_OPTS_INIT { { 0 } }

/* Parse argv into opts.  pp-crop takes no operands (the `mask` command of
 * SPEC §6.8 is not part of this program yet). */
int crop_cli_parse(int argc, char **argv, crop_opts *opts, pp_error *err);

void crop_opts_release(crop_opts *opts);

#endif /* CROP_CLI_H */
