/* test_cli.c - option tables (pp_cli) and log lines (pp_log). */
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_cli.h"
#include "pp_io.h"
#include "pp_log.h"
#include "tap.h"

typedef struct {
    pp_cli_common common;
    long threads;
    char *band;
    int dry;
    pp_strlist cells;
} opts_t;

static const pp_option rows[] = {
    { "threads", 'j', PP_OPT_LONG, "N", offsetof(opts_t, threads), "n" },
    { "band", 0, PP_OPT_STRING, "B", offsetof(opts_t, band), "b" },
    { "dry-run", 'n', PP_OPT_FLAG, NULL, offsetof(opts_t, dry), "d" },
    { "cell", 0, PP_OPT_LIST, "C", offsetof(opts_t, cells), "c" },
    { 0 }
};

static const pp_cli_spec spec = { "pp-test", "-c CONFIG", "A test.", rows,
                                  1, 0 };

static int parse(int argc, char **argv, opts_t *o, int *first,
                 pp_error *err)
{
    memset(o, 0, sizeof *o);
    pp_error_clear(err);
    return pp_cli_parse(&spec, argc, argv, o, &o->common, first, err);
}

static void test_parse(void)
{
    char *argv[] = { "pp-test", "-c", "x.yaml", "--set", "a.b=1", "-j", "3",
                     "--band", "g", "-n", "--cell", "r00_c00", "--set",
                     "c.d=2", "--cell=r01_c00", "mask", NULL };
    pp_error err = PP_ERROR_INIT;
    opts_t o;
    int first = 0;

    check_int(parse(16, argv, &o, &first, &err), ==, PP_OK,
              "cli: a full command line parses");
    check_str(o.common.config, "x.yaml", "cli: -c gives the config");
    check(o.common.sets.n == 2 && !strcmp(o.common.sets.items[1], "c.d=2"),
          "cli: --set repeats, in order");
    check_int(o.threads, ==, 3, "cli: a LONG option");
    check_str(o.band, "g", "cli: a STRING option");
    check_int(o.dry, ==, 1, "cli: a FLAG option by its letter");
    check(o.cells.n == 2 && !strcmp(o.cells.items[1], "r01_c00"),
          "cli: a LIST option, also as --opt=value");
    check_int(first, ==, 15, "cli: the first operand is reported");
    pp_cli_release(&spec, &o, &o.common);
    check(o.common.config == NULL && o.band == NULL && o.cells.n == 0,
          "cli: release frees and clears");
}

static void test_errors(void)
{
    char *a1[] = { "pp-test", "-c", "x", "--bogus", NULL };
    char *a2[] = { "pp-test", "-c", "x", "--threads", "many", NULL };
    char *a3[] = { "pp-test", "--band", NULL };
    char *a4[] = { "pp-test", "--band", "g", NULL };
    pp_error err = PP_ERROR_INIT;
    opts_t o;
    int first;

    check_int(parse(4, a1, &o, &first, &err), ==, PP_EUSAGE,
              "cli: an unknown option is a usage error");
    check(strstr(err.msg, "'--bogus'") && strstr(err.msg, "pp-test --help"),
          "cli: ... naming it and pointing at --help");
    pp_cli_release(&spec, &o, &o.common);
    check_int(parse(5, a2, &o, &first, &err), ==, PP_EUSAGE,
              "cli: a non-integer for a LONG option is a usage error");
    check(strstr(err.msg, "--threads") && strstr(err.msg, "many"),
          "cli: ... naming the option and the value");
    pp_cli_release(&spec, &o, &o.common);
    check_int(parse(2, a3, &o, &first, &err), ==, PP_EUSAGE,
              "cli: a missing argument is a usage error");
    pp_cli_release(&spec, &o, &o.common);
    check_int(parse(3, a4, &o, &first, &err), ==, PP_EUSAGE,
              "cli: -c is required when the spec says so");
    check(strstr(err.msg, "-c CONFIG") != NULL, "cli: ... and says so");
    pp_cli_release(&spec, &o, &o.common);
}

static void test_log(void)
{
    char dir[] = "/tmp/pp-test-log-XXXXXX", *path, *text = NULL;
    pp_error err = PP_ERROR_INIT;
    regex_t re;
    int fd = dup(2);

    if (!mkdtemp(dir))
        return;
    path = pp_io_path_join(dir, "t.log");
    freopen("/dev/null", "w", stderr);      /* keep TAP output clean */
    pp_log_init("pp-test");
    check_int(pp_log_open_file(path, &err), ==, PP_OK,
              "log: a log file opens");
    pp_log(PP_LOG_INFO, "hello %d", 42);
    pp_log(PP_LOG_DEBUG, "hidden");
    check_int(pp_log_set_level_name("warning", &err), ==, PP_OK,
              "log: level names match in any case");
    pp_log(PP_LOG_INFO, "hidden too");
    pp_log(PP_LOG_WARNING, "shown");
    pp_log_close();
    fflush(stderr);
    dup2(fd, 2);
    close(fd);
    pp_io_read_file(path, &text, NULL, &err);
    regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} "
            "\\| pp-test \\| INFO \\| hello 42\n[^\n]* \\| WARNING \\| "
            "shown\n$", REG_EXTENDED);
    check(text && regexec(&re, text, 0, NULL, 0) == 0,
          "log: SPEC 3.6 line format, level filter, file tee");
    if (text && regexec(&re, text, 0, NULL, 0) != 0)
        printf("# log was:\n# %s\n", text);
    regfree(&re);
    check_int(pp_log_set_level_name("LOUD", &err), ==, PP_ECONFIG,
              "log: an unknown level is a config error");
    check(strstr(err.msg, "logging.level") != NULL, "log: ... naming key");
    pp_log_set_level(PP_LOG_INFO);
    free(text);
    pp_io_remove_tree(dir, &err);
    free(path);
}

int main(void)
{
    test_parse();
    test_errors();
    test_log();
    return tap_done();
}
