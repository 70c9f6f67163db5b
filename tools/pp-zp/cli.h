/* cli.h - pp-zp's command line: `pp-zp COMMAND -c CONFIG [OPTION]...`. */
#ifndef ZP_CLI_H
#define ZP_CLI_H

#include "pp_cli.h"
#include "pp_error.h"

enum { ZP_CMD_NONE = 0, ZP_CMD_AUGMENT, ZP_CMD_CALIBRATE };

typedef struct {
    pp_cli_common common;
    int command;                /* ZP_CMD_* */
} zp_opts;

#define ZP_OPTS_INIT { { 0 }, ZP_CMD_NONE }

/* Parse argv into opts.  Exactly one operand, the command: `augment`
 * (SPEC §7) or `calibrate` (SPEC §12).  PP_EUSAGE for a missing or
 * unknown command, an extra operand, or a missing -c.  --help and
 * --version set opts->common.done. */
int zp_cli_parse(int argc, char **argv, zp_opts *opts, pp_error *err);

void zp_opts_release(zp_opts *opts);

#endif /* ZP_CLI_H */
