/* pp_cli.c - command lines of the tools (see pp_cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_cli.h"
#include "pp_config.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"

#define MAX_OPTIONS 64

/* Codes for the common options, above any letter. */
enum { OPT_SET = 256, OPT_TOOL_BASE = 512 };

static int count_options(const pp_option *o)
{
    int n = 0;

    while (o && o[n].name)
        ++n;
    return n;
}

void pp_cli_usage(const pp_cli_spec *spec)
{
    static const pp_option common[] = {
        { "config", 'c', PP_OPT_STRING, "FILE", 0,
          "the YAML configuration (SPEC section 4)" },
        { "set", 0, PP_OPT_LIST, "KEY=VALUE", 0,
          "override one config key, e.g. --set crop.margin=100 "
          "(repeatable)" },
        { "help", 'h', PP_OPT_FLAG, NULL, 0, "print this help and exit" },
        { "version", 'V', PP_OPT_FLAG, NULL, 0,
          "print the version and exit" },
        { 0 }
    };
    /* A tool without a config has only --help and --version. */
    const pp_option *tables[2] = { spec->options,
                                   spec->no_config ? common + 2 : common };

    printf("Usage: %s %s\n%s\n\nOptions:\n", spec->tool, spec->synopsis,
           spec->summary);
    for (int t = 0; t < 2; ++t)
        for (const pp_option *o = tables[t]; o && o->name; ++o) {
            char left[64];
            int n = o->short_name
                    ? snprintf(left, sizeof left, "-%c, --%s", o->short_name,
                               o->name)
                    : snprintf(left, sizeof left, "    --%s", o->name);
            if (o->arg)
                snprintf(left + n, sizeof left - (size_t)n, " %s", o->arg);
            printf("  %-26s %s\n", left, o->help);
        }
    printf("\nExit status: 0 success, 1 data or runtime error, 2 usage or "
           "config error.\nSee %s(1) and patchphot(7).\n", spec->tool);
}

static void list_append(pp_strlist *l, const char *s)
{
    l->items = pp_xrealloc(l->items, sizeof *l->items * (size_t)(l->n + 1));
    l->items[l->n++] = pp_xstrdup(s);
}

static int store(const pp_option *o, void *opts, const char *arg,
                 const char *tool, pp_error *err)
{
    char *field = (char *)opts + o->offset, *end;
    long v;

    switch (o->type) {
    case PP_OPT_FLAG:
        *(int *)field = 1;
        return PP_OK;
    case PP_OPT_STRING:
        free(*(char **)field);
        *(char **)field = pp_xstrdup(arg);
        return PP_OK;
    case PP_OPT_LIST:
        list_append((pp_strlist *)field, arg);
        return PP_OK;
    case PP_OPT_LONG:
        errno = 0;
        v = strtol(arg, &end, 10);
        if (errno || end == arg || *end)
            return pp_error_set(err, PP_EUSAGE, "option '--%s': found '%s', "
                                "expected an integer (see '%s --help')",
                                o->name, arg, tool);
        *(long *)field = v;
        return PP_OK;
    }
    return pp_error_set(err, PP_EINTERNAL, "option '--%s' has no type",
                        o->name);
}

/* Build getopt_long's tables from the common rows and spec's rows. */
static void build_getopt(const pp_cli_spec *spec, struct option *lo,
                         char *so)
{
    int n = count_options(spec->options), k = 0;
    char *s = so;

    *s++ = '+';                 /* stop at the first operand */
    *s++ = ':';                 /* report missing arguments as ':' */
    if (!spec->no_config) {
        lo[k++] = (struct option){ "config", required_argument, NULL, 'c' };
        lo[k++] = (struct option){ "set", required_argument, NULL, OPT_SET };
        s += sprintf(s, "c:");
    }
    lo[k++] = (struct option){ "help", no_argument, NULL, 'h' };
    lo[k++] = (struct option){ "version", no_argument, NULL, 'V' };
    s += sprintf(s, "hV");
    for (int i = 0; i < n; ++i) {
        const pp_option *o = &spec->options[i];
        int has = o->type == PP_OPT_FLAG ? no_argument : required_argument;
        lo[k++] = (struct option){ o->name, has, NULL, OPT_TOOL_BASE + i };
        if (o->short_name)
            s += sprintf(s, "%c%s", o->short_name, has ? ":" : "");
    }
    lo[k] = (struct option){ 0, 0, 0, 0 };
    *s = '\0';
}

static int find_short(const pp_cli_spec *spec, int c)
{
    for (int i = 0; spec->options && spec->options[i].name; ++i)
        if (spec->options[i].short_name == c)
            return i;
    return -1;
}

int pp_cli_parse(const pp_cli_spec *spec, int argc, char **argv,
                 void *opts, pp_cli_common *common, int *first_arg,
                 pp_error *err)
{
    struct option lo[MAX_OPTIONS + 5];
    char so[3 * MAX_OPTIONS + 16];
    int c, idx;

    if (count_options(spec->options) > MAX_OPTIONS)
        return pp_error_set(err, PP_EINTERNAL, "too many options");
    build_getopt(spec, lo, so);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        const char *bad = argv[optind - 1];
        if (c == 'h') {
            pp_cli_usage(spec);
            common->done = 1;
            return PP_OK;
        } else if (c == 'V') {
            printf("%s (patchphot) %s\n", spec->tool, PP_VERSION);
            common->done = 1;
            return PP_OK;
        } else if (c == 'c') {
            free(common->config);
            common->config = pp_xstrdup(optarg);
        } else if (c == OPT_SET) {
            list_append(&common->sets, optarg);
        } else if (c >= OPT_TOOL_BASE) {
            if (store(&spec->options[c - OPT_TOOL_BASE], opts, optarg,
                      spec->tool, err) != PP_OK)
                return err->code;
        } else if (c == ':') {
            return pp_error_set(err, PP_EUSAGE, "option '%s' needs an "
                                "argument (see '%s --help')", bad,
                                spec->tool);
        } else if (c != '?' && (idx = find_short(spec, c)) >= 0) {
            if (store(&spec->options[idx], opts, optarg, spec->tool, err)
                != PP_OK)
                return err->code;
        } else {
            return pp_error_set(err, PP_EUSAGE, "unknown option '%s' (see "
                                "'%s --help')", bad, spec->tool);
        }
    }
    *first_arg = optind;
    if (spec->need_config && !common->config)
        return pp_error_set(err, PP_EUSAGE, "missing option '-c CONFIG' "
                            "(see '%s --help')", spec->tool);
    return PP_OK;
}

void pp_cli_release(const pp_cli_spec *spec, void *opts,
                    pp_cli_common *common)
{
    for (const pp_option *o = spec->options; o && o->name; ++o) {
        char *field = (char *)opts + o->offset;
        if (o->type == PP_OPT_STRING) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (o->type == PP_OPT_LIST) {
            pp_strlist *l = (pp_strlist *)field;
            for (int i = 0; i < l->n; ++i)
                free(l->items[i]);
            free(l->items);
            l->items = NULL;
            l->n = 0;
        }
    }
    for (int i = 0; i < common->sets.n; ++i)
        free(common->sets.items[i]);
    free(common->sets.items);
    free(common->config);
    memset(common, 0, sizeof *common);
}

int pp_cli_setup_logging(const pp_config *cfg, const char *command,
                         pp_error *err)
{
    char *path = NULL, *dir = NULL;
    int rc = PP_OK;

    if (pp_log_set_level_name(cfg->logging.level, err) != PP_OK)
        return err->code;
    if (cfg->logging.file_auto)
        path = pp_xasprintf("%s/%s.log", cfg->outputs.work_dir, command);
    else if (cfg->logging.file)
        path = pp_xstrdup(cfg->logging.file);
    if (!path)
        return PP_OK;
    dir = pp_io_dirname(path);
    if (pp_io_mkdir_p(dir, err) != PP_OK ||
        pp_log_open_file(path, err) != PP_OK)
        rc = pp_error_prefix(err, "logging.file: ");
    free(dir);
    free(path);
    return rc;
}
