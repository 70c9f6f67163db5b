/* pp_cli.h - command lines of the tools, from one table of options.
 *
 * Every tool describes its options as rows of a pp_option table (long name,
 * short letter, type, argument name, where the value goes, help).  The
 * table drives getopt_long, the --help text and the man-page check of the
 * tests.  The options every tool has - -c/--config FILE, --set KEY=VALUE
 * (repeatable), -h/--help, -V/--version - are added by pp_cli_parse() and
 * land in a pp_cli_common that the tool's options struct embeds.
 *
 * --help prints to stdout and sets common.done (exit 0); usage errors are
 * PP_EUSAGE (exit 2) and name the option and what was expected.
 */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <stddef.h>

#include "pp_error.h"

struct pp_config;

enum { PP_OPT_FLAG = 1, PP_OPT_STRING, PP_OPT_LONG, PP_OPT_LIST };

typedef struct {
    const char *name;       /* long name, without "--" */
    int short_name;         /* a letter, or 0 */
    int type;               /* PP_OPT_* */
    const char *arg;        /* argument name for --help ("N"), NULL: flag */
    size_t offset;          /* offsetof(tool_opts, field) */
    const char *help;       /* one line */
} pp_option;

typedef struct {
    char **items;
    int n;
} pp_strlist;

typedef struct {
    char *config;           /* -c FILE (owned) */
    pp_strlist sets;        /* --set KEY=VALUE, in order (owned) */
    int done;               /* --help or --version was answered */
} pp_cli_common;

typedef struct {
    const char *tool;       /* "pp-crop" */
    const char *synopsis;   /* "[-c CONFIG] [OPTION]..." */
    const char *summary;    /* one sentence on what the tool does */
    const pp_option *options; /* the tool's own rows, ended by {0} */
    int need_config;        /* 1: -c is required */
    int no_config;          /* 1: the tool reads no config (no -c, --set) */
} pp_cli_spec;

/* Parse argv.  PP_OPT_FLAG sets an int to 1, PP_OPT_STRING stores an owned
 * char*, PP_OPT_LONG a long, PP_OPT_LIST appends to a pp_strlist.  On
 * success *first_arg is the index of the first operand (argc if none). */
int pp_cli_parse(const pp_cli_spec *spec, int argc, char **argv,
                 void *opts, pp_cli_common *common, int *first_arg,
                 pp_error *err);

/* Print the --help text of spec to stdout. */
void pp_cli_usage(const pp_cli_spec *spec);

/* Free what pp_cli_parse() stored: the common part and the tool's STRING
 * and LIST fields named in spec. */
void pp_cli_release(const pp_cli_spec *spec, void *opts,
                    pp_cli_common *common);

/* Apply the config's logging section for a command: level filter, and the
 * log file (`logging.file: auto` -> <work_dir>/<command>.log; a path as
 * given; null -> none).  Creates work_dir when needed. */
int pp_cli_setup_logging(const struct pp_config *cfg, const char *command,
                         pp_error *err);

#endif /* PP_CLI_H */
