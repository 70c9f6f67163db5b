/* cli.h - pp-epsf's command line (SPEC §8). */
#ifndef EPSF_CLI_H
#define EPSF_CLI_H

#include "pp_cli.h"
#include "pp_error.h"

typedef struct {
    pp_cli_common common;
    pp_strlist bands;           /* --band B (repeatable, or B1,B2) */
    pp_strlist cells;           /* --cell rNN_cNN (repeatable, or lists) */
    long threads;               /* --threads N; 0 = epsf.max_workers */
    int summary;                /* operand "summary" */
} epsf_opts;

#define EPSF_OPTS_INIT { { 0 }, { 0 }, { 0 }, 0, 0 }

/* Parse argv into opts.  "summary" must be the first argument (it takes
 * only the common options); --threads must be >= 0. */
int epsf_cli_parse(int argc, char **argv, epsf_opts *opts, pp_error *err);

void epsf_opts_release(epsf_opts *opts);

#endif /* EPSF_CLI_H */
