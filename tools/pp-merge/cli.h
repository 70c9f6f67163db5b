/* cli.h - pp-merge's command line (SPEC §11).
 *
 * Where pp-merge reads and writes is the configuration's business
 * (outputs.*, merge.pattern), so that pp-run and a user by hand merge the
 * same files; the one option of its own is how many threads parse fit
 * catalogues, which never changes the output.
 */
#ifndef MERGE_CLI_H
#define MERGE_CLI_H

#include "pp_cli.h"
#include "pp_error.h"

typedef struct {
    pp_cli_common common;
    long threads;               /* --threads N; 0 = number of cores */
} merge_opts;

#define MERGE_OPTS_INIT { { 0 }, 0 }

/* Parse argv into opts.  pp-merge takes no operands: one is PP_EUSAGE;
 * --threads must be >= 0 (0: one per online core). */
int merge_cli_parse(int argc, char **argv, merge_opts *opts, pp_error *err);

/* Free what merge_cli_parse() stored. */
void merge_opts_release(merge_opts *opts);

#endif /* MERGE_CLI_H */
