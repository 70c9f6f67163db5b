/* cli.h - pp-patchify's command line (SPEC §9). */
#ifndef PATCHIFY_CLI_H
#define PATCHIFY_CLI_H

#include "pp_cli.h"
#include "pp_error.h"

typedef struct {
    pp_cli_common common;
    int geometry_only;          /* --geometry-only */
    long threads;               /* --threads N; 0 = number of cores */
} patchify_opts;

#define PATCHIFY_OPTS_INIT { { 0 }, 0, 0 }

/* Parse argv into opts.  pp-patchify takes no operands; --threads must be
 * >= 0 (0: one thread per online core). */
int patchify_cli_parse(int argc, char **argv, patchify_opts *opts,
                       pp_error *err);

void patchify_opts_release(patchify_opts *opts);

#endif /* PATCHIFY_CLI_H */
