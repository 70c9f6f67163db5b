/* cli.c - pp-zp's option table, commands and checks. */
#include <string.h>

#include "cli.h"

static const pp_option zp_options[] = {
    { 0 }
};

static const pp_cli_spec zp_spec = {
    "pp-zp", "COMMAND -c CONFIG [OPTION]...",
    "Gaia-based zero-point work on the catalogue.\n\n"
    "Commands:\n"
    "  augment    match GaiaXP stars to catalog.csv one-to-one, back-fill\n"
    "             FLUX_<band>, inject unmatched Gaia stars; write\n"
    "             ZP/<stem>_with_Gaia.csv and ZP/gaia_augmentation.{csv,json}\n"
    "  calibrate  per-band zero points from the reliable Gaia-matched\n"
    "             stars of the final catalogue; write ZP/zp_summary.csv,\n"
    "             ZP/zp_all_bands__per_object.csv,\n"
    "             ZP/zp_unreliable__per_object.csv and the catalogue's\n"
    "             MAG_<band>_fit, MAGERR_<band>_fit columns",
    zp_options, 0, 0
};

int zp_cli_parse(int argc, char **argv, zp_opts *opts, pp_error *err)
{
    int first, shift = 0;
    const char *cmd = NULL;

    /* `pp-zp COMMAND [OPTION]...`: the options follow the command, so
     * parse them as if the command were the program name. */
    if (argc > 1 && argv[1][0] != '-') {
        cmd = argv[1];
        shift = 1;
    }
    if (pp_cli_parse(&zp_spec, argc - shift, argv + shift, opts,
                     &opts->common, &first, err) != PP_OK ||
        opts->common.done)
        return err->code;
    first += shift;
    if (!cmd && first < argc)           /* `pp-zp [OPTION]... COMMAND` */
        cmd = argv[first++];
    if (!cmd)
        return pp_error_set(err, PP_EUSAGE, "no command given, expected "
                            "'augment' or 'calibrate' (see 'pp-zp "
                            "--help')");
    if (strcmp(cmd, "augment") == 0)
        opts->command = ZP_CMD_AUGMENT;
    else if (strcmp(cmd, "calibrate") == 0)
        opts->command = ZP_CMD_CALIBRATE;
    else
        return pp_error_set(err, PP_EUSAGE, "unknown command '%s', "
                            "expected 'augment' or 'calibrate' (see "
                            "'pp-zp --help')", cmd);
    if (first < argc)
        return pp_error_set(err, PP_EUSAGE, "unexpected operand '%s' after "
                            "the command '%s'", argv[first], cmd);
    if (!opts->common.config)
        return pp_error_set(err, PP_EUSAGE, "missing option '-c CONFIG' "
                            "(see 'pp-zp --help')");
    return PP_OK;
}

void zp_opts_release(zp_opts *opts)
{
    pp_cli_release(&zp_spec, opts, &opts->common);
}
