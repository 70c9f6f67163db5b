/* test_config.c - pp_config: defaults, a tract7dt config, every error
 * class, --set, path resolution and the dump round trip (SPEC §4). */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_config.h"
#include "pp_error.h"
#include "pp_io.h"
#include "pp_log.h"
#include "tap.h"

#define FIXTURE "unit/data/config/tract7dt_v061.yaml"

/* The keys every loadable test config needs (5 lines). */
#define REQ "inputs:\n  input_catalog: c.csv\n  image_list_file: i.txt\n" \
            "outputs:\n  work_dir: w\n"

static char tmpdir[64];
static char cfgpath[PATH_MAX];
static int saved_stderr = -1;

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");

    if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0) {
        printf("Bail out! cannot write %s\n", path);
        exit(1);
    }
}

/* Write text as <tmp>/config.yaml and load it. */
static int load(const char *text, char *const *sets, int nsets,
                pp_config *cfg, pp_error *err)
{
    write_text(cfgpath, text);
    pp_error_clear(err);
    return pp_config_load(cfgpath, sets, nsets, cfg, err);
}

/* Loading must fail with PP_ECONFIG and a message containing want. */
static void check_fails(const char *text, const char *want,
                        const char *title)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    int rc = load(text, NULL, 0, &cfg, &err);

    if (!check(rc == PP_ECONFIG && strstr(err.msg, want), title))
        printf("#   rc %d, message '%s'\n#   wanted '%s'\n", rc, err.msg,
               want);
    pp_config_release(&cfg);
}

/* INFO lines of the ignored keys would clutter the TAP output. */
static void quiet_stderr(int on)
{
    if (on) {
        int fd = open("/dev/null", O_WRONLY);

        fflush(stderr);
        saved_stderr = dup(2);
        dup2(fd, 2);
        close(fd);
    } else if (saved_stderr >= 0) {
        fflush(stderr);
        dup2(saved_stderr, 2);
        close(saved_stderr);
        saved_stderr = -1;
    }
}

static void test_defaults(void)
{
    pp_config cfg = PP_CONFIG_INIT;

    pp_config_defaults(&cfg);
    check_int(cfg.crop.margin, ==, 500, "defaults: crop.margin is 500");
    check_int(cfg.crop.enabled, ==, 1, "defaults: crop.enabled is true");
    check_int(cfg.source_saturation_cut.require_all_bands, ==, 0,
              "defaults: require_all_bands is false");
    check(cfg.image_scaling.zp_ref == 25.0, "defaults: zp_ref is 25.0");
    check(cfg.checks.wcs_tolerance.crval == 1e-6 &&
          cfg.checks.wcs_tolerance.crpix == 1e-6 &&
          cfg.checks.wcs_tolerance.cd == 1e-9 &&
          cfg.checks.wcs_tolerance.cdelt == 1e-9,
          "defaults: wcs_tolerance 1e-6, 1e-6, 1e-9, 1e-9");
    check_str(cfg.inputs.tile_name, "your_tile_name",
              "defaults: tile_name string");
    check(!cfg.inputs.input_catalog && !cfg.inputs.image_list_file &&
          !cfg.outputs.work_dir, "defaults: required paths are unset");
    check(!cfg.inputs.gaiaxp_synphot_csv,
          "defaults: gaiaxp_synphot_csv is null");
    check_str(cfg.outputs.epsf_dir, "EPSFs",
              "defaults: epsf_dir unresolved without a file");
    check_str(cfg.outputs.bright_mask_dir, "bright_mask",
              "defaults: bright_mask_dir");
    check_str(cfg.logging.level, "INFO", "defaults: logging.level INFO");
    check(cfg.logging.file_auto == 1 && !cfg.logging.file,
          "defaults: logging.file is auto");
    check(cfg.performance.frame_prep_workers == 0 &&
          cfg.performance.white_stack_workers == 0 &&
          cfg.epsf.max_workers == 0, "defaults: auto workers are 0");
    check_int(cfg.patch_run.max_workers, ==, 32,
              "defaults: patch_run.max_workers is 32");
    check(cfg.overlay.zoom_box[0] == 4000 && cfg.overlay.zoom_box[1] == 5000
          && cfg.overlay.zoom_box[2] == 4000 &&
          cfg.overlay.zoom_box[3] == 5000, "defaults: zoom_box");
    check(cfg.epsf.q_range[0] == 0.7 && cfg.epsf.q_range[1] == 1.3,
          "defaults: q_range [0.7, 1.3]");
    check(cfg.epsf.n_mog_components == 2 && cfg.epsf.mog_components[0] == 4
          && cfg.epsf.mog_components[1] == 9,
          "defaults: mog_components [4, 9]");
    check(cfg.zp.n_zp_err_snr_fallbacks == 2 &&
          cfg.zp.zp_err_snr_fallbacks[0] == 50.0 &&
          cfg.zp.zp_err_snr_fallbacks[1] == 20.0,
          "defaults: zp_err_snr_fallbacks [50, 20]");
    check(cfg.patch_run.n_staged_fit_stages == 3 &&
          !strcmp(cfg.patch_run.staged_fit_stages[0], "flux") &&
          !strcmp(cfg.patch_run.staged_fit_stages[1], "flux+pos") &&
          !strcmp(cfg.patch_run.staged_fit_stages[2], "all"),
          "defaults: staged_fit_stages");
    check(!cfg.patch_run.has_cutout_max_sources,
          "defaults: cutout_max_sources is null");
    check(!cfg.zp.has_gaia_pos_err_pix && isnan(cfg.zp.gaia_pos_err_pix),
          "defaults: gaia_pos_err_pix is null (NAN)");
    check_str(cfg.patch_run.flux_error, "marginal",
              "defaults: flux_error marginal");
    check_str(cfg.patch_run.noise_model, "sky", "defaults: noise_model sky");
    check_str(cfg.patch_run.psf_interp, "bilinear",
              "defaults: psf_interp bilinear");
    check_str(cfg.epsf.smoothing_kernel, "quartic",
              "defaults: smoothing_kernel quartic");
    check_str(cfg.zp.zp_err_method, "all_mad",
              "defaults: zp_err_method all_mad");
    check_int(cfg.patch_run.n_opt_iters, ==, 20, "defaults: n_opt_iters 20");
    check_int(cfg.patch_run.min_epsf_nstars_for_use, ==, 2,
              "defaults: min_epsf_nstars_for_use 2");
    check_int(cfg.patch_run.timeout_s, ==, 600, "defaults: timeout_s 600");
    check(cfg.patch_run.dlnp_stop == 1e-6 &&
          cfg.patch_run.bound_stall_tol == 1e-3,
          "defaults: dlnp_stop 1e-6, bound_stall_tol 1e-3");
    check(cfg.patch_run.cutout_data_p_hi == 99.0,
          "defaults: cutout_data_p_hi 99");
    check_int(cfg.zp.min_box_size_pix, ==, 3000,
              "defaults: zp.min_box_size_pix 3000");
    check(cfg.zp.enabled && cfg.plotting.enabled && cfg.plotting.dpi == 300,
          "defaults: zp.enabled, plotting.enabled, dpi 300");
    check_int(cfg.bright_mask.minarea, ==, 9, "defaults: bright_mask.minarea");
    check_str(cfg.merge.pattern, "*_cat_fit.csv", "defaults: merge.pattern");
    pp_config_release(&cfg);
    check(!cfg.merge.pattern && !cfg.epsf.mog_components &&
          cfg.crop.margin == 0, "release: back to PP_CONFIG_INIT");
    pp_config_release(&cfg);
    check(1, "release: twice is harmless");
}

static void test_tract7dt_fixture(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    char cwd[PATH_MAX], want[PATH_MAX + 64], logpath[PATH_MAX], *log = NULL;
    const char *fixture = FIXTURE;
    int rc;

    if (!pp_io_exists(fixture))
        fixture = "tests/" FIXTURE;     /* run from the top directory */
    if (!getcwd(cwd, sizeof cwd))
        strcpy(cwd, "/");
    snprintf(logpath, sizeof logpath, "%s/ignored.log", tmpdir);
    pp_log_open_file(logpath, &err);
    quiet_stderr(1);
    rc = pp_config_load(fixture, NULL, 0, &cfg, &err);
    quiet_stderr(0);
    pp_log_close();
    if (!check(rc == PP_OK, "tract7dt: v0.6.1 config loads unchanged"))
        printf("#   %s\n", err.msg);
    check(cfg.crop.margin == 300 && cfg.crop.plot_post_crop == 0 &&
          cfg.crop.post_crop_display_downsample == 8,
          "tract7dt: crop values read");
    check(cfg.overlay.zoom_box[2] == 1500 &&
          cfg.checks.wcs_tolerance.cdelt == 2e-9 && cfg.plotting.dpi == 150,
          "tract7dt: list, nested mapping and dpi read");
    check(cfg.performance.frame_prep_workers == 0 &&
          cfg.performance.white_stack_workers == 8 &&
          cfg.patch_run.max_workers == 16,
          "tract7dt: \"auto\" and integer workers");
    check(cfg.patch_run.n_opt_iters == 25 &&
          cfg.patch_run.cutout_model_p_hi == 99.5 &&
          !cfg.patch_run.has_cutout_max_sources &&
          !cfg.zp.inject_gaia_sources, "tract7dt: patch_run and zp read");
    check(cfg.bright_mask.enabled && cfg.bright_mask.minarea == 9 &&
          !strcmp(cfg.patch_run.flux_error ? cfg.patch_run.flux_error : "",
                  "marginal"),
          "tract7dt: new keys keep their defaults");
    snprintf(want, sizeof want, "%s/unit/data/config/input_catalog.csv",
             cwd);
    if (fixture[0] == 't')
        snprintf(want, sizeof want,
                 "%s/tests/unit/data/config/input_catalog.csv", cwd);
    check_str(cfg.inputs.input_catalog, want,
              "tract7dt: input_catalog relative to the config directory");
    check(cfg.config_path && strstr(cfg.config_path, "/unit/data/config/"
                                    "tract7dt_v061.yaml") &&
          cfg.config_path[0] == '/', "tract7dt: config_path is absolute");
    check(cfg.outputs.epsf_dir &&
          strstr(cfg.outputs.epsf_dir, "/unit/data/config/work/EPSFs"),
          "tract7dt: epsf_dir relative to work_dir");
    pp_io_read_file(logpath, &log, NULL, &err);
    check(log && strstr(log, "INFO | config key 'patch_run.python_exe' is "
                        "accepted and ignored (Python-only)"),
          "tract7dt: python_exe logged at INFO as ignored");
    check(log && strstr(log, "'logging.format'") &&
          strstr(log, "'moffat_psf.module_path'") &&
          strstr(log, "'patch_inputs.keep_payloads_in_memory'") &&
          strstr(log, "'logging.ignore_warnings'"),
          "tract7dt: every Python-only key logged");
    free(log);
    pp_config_release(&cfg);
}

static void test_new_keys(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    int rc = load(REQ
        "  bright_mask_dir: bm\n"
        "bright_mask:\n  enabled: no\n  thresh_sigma: 4\n  minarea: 12\n"
        "  min_snr: 1e2\n  include_saturation: Off\n"
        "  saturation_dilate_pix: 3\n"
        "plotting:\n  enabled: false\n"
        "epsf:\n  smoothing_kernel: Quadratic\n  fit_boxsize: 7\n"
        "  isolation_flux_ratio: 0.1\n  mog_components: [3, 5, 7]\n"
        "  max_workers: 6\n"
        "patch_run:\n  max_workers: auto\n  fit_sky: false\n"
        "  psf_interp: cell\n  subpixel_shift: lanczos3\n"
        "  flux_error: conditional\n  enable_staged_fit: yes\n"
        "  staged_fit_stages: [flux, all]\n  bound_stall_tol: 1e-4\n"
        "  timeout_s: 1200\n  noise_model: sky+poisson\n"
        "  cutout_max_sources: 50\n"
        "zp:\n  gaia_pos_err_pix: 0.5\n  zp_err_method: bright_std\n"
        "  zp_err_snr_fallbacks: [40, 10.5, 5]\n  plot_zp_offset: 0.25\n"
        "logging:\n  level: debug\n  file: null\n", NULL, 0, &cfg, &err);

    if (!check(rc == PP_OK, "new keys: a config using them loads"))
        printf("#   %s\n", err.msg);
    check(!cfg.bright_mask.enabled && cfg.bright_mask.thresh_sigma == 4.0 &&
          cfg.bright_mask.min_snr == 100.0 &&
          !cfg.bright_mask.include_saturation &&
          cfg.bright_mask.saturation_dilate_pix == 3,
          "new keys: bright_mask (yes/no/Off booleans, 1e2)");
    check(cfg.outputs.bright_mask_dir &&
          strstr(cfg.outputs.bright_mask_dir, "/w/bm"),
          "new keys: bright_mask_dir below work_dir");
    check(!cfg.plotting.enabled, "new keys: plotting.enabled false");
    check_str(cfg.epsf.smoothing_kernel, "quadratic",
              "new keys: enum matched without case, stored canonical");
    check(cfg.epsf.n_mog_components == 3 && cfg.epsf.mog_components[2] == 7
          && cfg.epsf.max_workers == 6, "new keys: mog_components, workers");
    check(cfg.patch_run.max_workers == 0 && !cfg.patch_run.fit_sky &&
          cfg.patch_run.enable_staged_fit &&
          cfg.patch_run.n_staged_fit_stages == 2 &&
          !strcmp(cfg.patch_run.staged_fit_stages[1], "all") &&
          cfg.patch_run.timeout_s == 1200 &&
          cfg.patch_run.has_cutout_max_sources &&
          cfg.patch_run.cutout_max_sources == 50,
          "new keys: patch_run values");
    check_str(cfg.patch_run.noise_model, "sky+poisson",
              "new keys: noise_model sky+poisson");
    check(cfg.zp.has_gaia_pos_err_pix && cfg.zp.gaia_pos_err_pix == 0.5 &&
          cfg.zp.n_zp_err_snr_fallbacks == 3 &&
          cfg.zp.zp_err_snr_fallbacks[1] == 10.5,
          "new keys: zp values");
    check_str(cfg.logging.level, "DEBUG", "new keys: level debug -> DEBUG");
    check(!cfg.logging.file && !cfg.logging.file_auto,
          "new keys: logging.file null");
    pp_config_release(&cfg);
}

static void test_errors(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    int rc;

    check_fails(REQ "crop:\n  margin: 5\n  marginn: 3\n",
                "config.yaml:8: unknown key 'crop.marginn' (did you mean "
                "'crop.margin'?)", "error: unknown key with suggestion");
    check_fails(REQ "cropp:\n  margin: 5\n",
                "config.yaml:6: unknown section 'cropp' (did you mean "
                "'crop'?)", "error: unknown section with suggestion");
    check_fails(REQ "crop:\n  zzzzzz: 1\n",
                "config.yaml:7: unknown key 'crop.zzzzzz'",
                "error: unknown key far from every key");
    rc = load(REQ "crop:\n  zzzzzz: 1\n", NULL, 0, &cfg, &err);
    check(rc == PP_ECONFIG && !strstr(err.msg, "did you mean"),
          "error: no suggestion beyond edit distance 2");
    check_fails(REQ "checks:\n  wcs_tolerance:\n    crvall: 1\n",
                "unknown key 'checks.wcs_tolerance.crvall' (did you mean "
                "'checks.wcs_tolerance.crval'?)",
                "error: unknown nested key with suggestion");
    check_fails(REQ "crop:\n  zoom_box: [1, 2, 3, 4]\n",
                "(did you mean 'overlay.zoom_box'?)",
                "error: key in the wrong section points to the right one");
    check_fails(REQ "crop:\n  enabled: maybe\n",
                "config.yaml:7: crop.enabled: found 'maybe', expected a "
                "boolean", "error: bool key rejects 'maybe'");
    check_fails(REQ "crop:\n  enabled: \"true\"\n",
                "crop.enabled: found 'true' (quoted, so a string)",
                "error: bool key rejects a quoted string");
    check_fails(REQ "crop:\n  margin: abc\n",
                "config.yaml:7: crop.margin: found 'abc', expected an "
                "integer >= 0", "error: int key rejects 'abc'");
    check_fails(REQ "crop:\n  margin: 500.5\n",
                "crop.margin: found '500.5', expected an integer >= 0",
                "error: int key rejects 500.5");
    check_fails(REQ "crop:\n  margin: -1\n",
                "crop.margin: found '-1', expected an integer >= 0",
                "error: int key rejects a value out of range");
    check_fails(REQ "crop:\n  margin: '500'\n",
                "crop.margin: found '500' (quoted",
                "error: int key rejects a quoted number");
    check_fails(REQ "epsf:\n  final_psf_size: 54\n",
                "epsf.final_psf_size: found '54', expected an odd integer "
                ">= 1", "error: final_psf_size must be odd");
    check_fails(REQ "patch_run:\n  ncircular_gaussian_n: 4\n",
                "expected an integer in [1, 3]",
                "error: bounded int names its range");
    check_fails(REQ "checks:\n  wcs_tolerance:\n    crval: abc\n",
                "config.yaml:8: checks.wcs_tolerance.crval: found 'abc', "
                "expected a number >= 0", "error: float key rejects 'abc'");
    check_fails(REQ "image_scaling:\n  zp_ref: .inf\n",
                "image_scaling.zp_ref: found '.inf', expected a number",
                "error: float key rejects infinity");
    check_fails(REQ "epsf:\n  q_range: 0.7\n",
                "epsf.q_range: found '0.7', expected a list of 2 numbers > 0",
                "error: list key rejects a scalar");
    check_fails(REQ "epsf:\n  q_range: [0.7, 1.0, 1.3]\n",
                "epsf.q_range: found a list of 3 items, expected a list of 2 "
                "numbers > 0", "error: list of the wrong length");
    check_fails(REQ "overlay:\n  zoom_box: [1, 2, 3]\n",
                "overlay.zoom_box: found a list of 3 items, expected a list "
                "of 4 integers >= 0", "error: zoom_box needs 4 integers");
    check_fails(REQ "epsf:\n  q_range: [0.7, x]\n",
                "epsf.q_range[1]: found 'x', expected a number > 0",
                "error: list element of the wrong type");
    check_fails(REQ "epsf:\n  mog_components: [4, 2.5]\n",
                "epsf.mog_components[1]: found '2.5', expected an integer "
                ">= 1", "error: int list rejects 2.5");
    check_fails(REQ "patch_run:\n  staged_fit_stages: [flux, everything]\n",
                "patch_run.staged_fit_stages[1]: found 'everything', "
                "expected one of 'flux', 'flux+pos', 'all'",
                "error: string list checks its allowed values");
    check_fails(REQ "patch_run:\n  flux_error: exact\n",
                "config.yaml:7: patch_run.flux_error: found 'exact', "
                "expected one of 'marginal', 'conditional'",
                "error: enum key lists the allowed values");
    check_fails(REQ "logging:\n  level: LOUD\n",
                "logging.level: found 'LOUD', expected one of 'DEBUG', "
                "'INFO', 'WARNING', 'ERROR'", "error: logging.level");
    check_fails(REQ "performance:\n  frame_prep_workers: 0\n",
                "performance.frame_prep_workers: found '0', expected 'auto' "
                "or an integer >= 1", "error: auto-or-int rejects 0");
    check_fails(REQ "epsf:\n  max_workers: many\n",
                "epsf.max_workers: found 'many', expected 'auto' or an "
                "integer >= 1", "error: auto-or-int rejects 'many'");
    check_fails(REQ "crop:\n  margin: null\n",
                "crop.margin: found null, expected an integer >= 0",
                "error: null rejected for an int key");
    check_fails("inputs:\n  input_catalog: ~\n",
                "config.yaml:2: inputs.input_catalog: found null, expected "
                "a non-empty path", "error: null rejected for a required path");
    check_fails(REQ "crop: 5\n",
                "config.yaml:6: crop: found '5', expected a mapping of keys",
                "error: a section that is not a mapping");
    check_fails(REQ "checks:\n  wcs_tolerance: [1, 2]\n",
                "checks.wcs_tolerance: found a list of 2 items, expected a "
                "mapping", "error: a nested mapping that is a list");
    check_fails("hello\n", "config.yaml:1: found 'hello', expected a mapping "
                "of sections", "error: a file that is not a mapping");
    check_fails(REQ "crop:\n  margin: 5\n  margin: 6\n",
                "config.yaml:8: duplicate key 'crop.margin' (first on line 7)",
                "error: duplicate key");
    check_fails("inputs:\n  input_catalog: c.csv\n  image_list_file: i.txt\n",
                "config.yaml: missing required key 'outputs.work_dir'",
                "error: missing required key");
    check_fails("", "config.yaml: missing required key "
                "'inputs.input_catalog'", "error: empty file lacks inputs");
    check_fails("inputs:\n  input_catalog: c.csv\ncrop:\n  margin: x\n",
                "crop.margin: found 'x'",
                "error: type errors come before the required-key check");
    check_fails(REQ "crop:\n  margin: 5\n   enabled: true\n",
                "config.yaml:8: YAML syntax error: ",
                "error: YAML syntax error names the line");
    check_fails(REQ "crop:\n  margin: [1, 2\n",
                "YAML syntax error: did not find expected ',' or ']'",
                "error: YAML syntax error gives libyaml's problem");

    pp_error_clear(&err);
    rc = pp_config_load("/nonexistent-dir/x.yaml", NULL, 0, &cfg, &err);
    check(rc == PP_ECONFIG && err.code == PP_ECONFIG &&
          strstr(err.msg, "cannot open '/nonexistent-dir/x.yaml': No such "
                 "file or directory"), "error: missing file is PP_ECONFIG");
    check(!cfg.config_path && !cfg.crop.enabled,
          "error: cfg released after a failure");
}

static void test_accepted_values(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    int rc;

    rc = load(REQ "crop:\n  margin: 500.0\n  enabled: OFF\n"
              "  plot_pre_crop: Yes\n"
              "image_scaling:\n  zp_ref: 26\n"
              "checks:\n  wcs_tolerance:\n    crval: 3e-7\n"
              "overlay:\n"
              "zp:\n  zp_err_snr_fallbacks: []\n  gaia_pos_err_pix:\n"
              "inputs:\n", NULL, 0, &cfg, &err);
    /* "inputs:" twice is a duplicate: drop it and retry (quietly: the
     * Python-only key logs at INFO). */
    check(rc == PP_ECONFIG && strstr(err.msg, "duplicate key 'inputs'"),
          "accept: a repeated section is a duplicate key");
    quiet_stderr(1);
    rc = load(REQ "crop:\n  margin: 500.0\n  enabled: OFF\n"
              "  plot_pre_crop: Yes\n"
              "image_scaling:\n  zp_ref: 26\n"
              "checks:\n  wcs_tolerance:\n    crval: 3e-7\n"
              "overlay:\n"
              "zp:\n  zp_err_snr_fallbacks: []\n  gaia_pos_err_pix:\n"
              "patch_run:\n  python_exe: {any: [thing]}\n"
              "  cutout_max_sources: null\n", NULL, 0, &cfg, &err);
    quiet_stderr(0);
    if (!check(rc == PP_OK, "accept: the values below load"))
        printf("#   %s\n", err.msg);
    check_int(cfg.crop.margin, ==, 500, "accept: 500.0 as an int key");
    check(cfg.crop.enabled == 0 && cfg.crop.plot_pre_crop == 1,
          "accept: OFF and Yes as booleans");
    check(cfg.image_scaling.zp_ref == 26.0, "accept: 26 as a float key");
    check(cfg.checks.wcs_tolerance.crval == 3e-7,
          "accept: 3e-7 (YAML 1.1 string) as a float");
    check(cfg.overlay.enabled == 1, "accept: an empty section keeps defaults");
    check(cfg.zp.n_zp_err_snr_fallbacks == 0 && !cfg.zp.zp_err_snr_fallbacks,
          "accept: an empty variable list");
    check(!cfg.zp.has_gaia_pos_err_pix && isnan(cfg.zp.gaia_pos_err_pix),
          "accept: empty value as null for gaia_pos_err_pix");
    check(!cfg.patch_run.has_cutout_max_sources,
          "accept: null cutout_max_sources");
    pp_config_release(&cfg);
}

static void test_set(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    char *good[] = { "crop.margin=100", "epsf.q_range=[0.6,1.4]",
                     "inputs.gaiaxp_synphot_csv=null", "logging.level=warning",
                     "patch_run.staged_fit_stages=[flux, all]",
                     "merge.pattern=\"*.csv\"",
                     "checks.wcs_tolerance.cd=1e-7",
                     "performance.frame_prep_workers=3",
                     " crop.enabled =false" };
    char *bad[] = { "crop.margin=abc" };
    char *unknown[] = { "crop.marginn=3" };
    char *noeq[] = { "crop.margin" };
    char *syntax[] = { "epsf.q_range=[0.6" };
    char *alias[] = { "merge.pattern=*.csv" };
    char *req[] = { "outputs.work_dir=wd" };
    int rc;

    rc = load("inputs:\n  input_catalog: c.csv\n  image_list_file: i.txt\n"
              "  gaiaxp_synphot_csv: g.csv\noutputs:\n  work_dir: w\n"
              "crop:\n  margin: 5\n", good, 9, &cfg, &err);
    if (!check(rc == PP_OK, "--set: overrides load"))
        printf("#   %s\n", err.msg);
    check_int(cfg.crop.margin, ==, 100, "--set: overrides the file's value");
    check(cfg.epsf.q_range[0] == 0.6 && cfg.epsf.q_range[1] == 1.4,
          "--set: flow list");
    check(!cfg.inputs.gaiaxp_synphot_csv, "--set: null clears a path");
    check_str(cfg.logging.level, "WARNING", "--set: enum");
    check(cfg.patch_run.n_staged_fit_stages == 2,
          "--set: string list replaces the default");
    check_str(cfg.merge.pattern, "*.csv", "--set: quoted string");
    check(cfg.checks.wcs_tolerance.cd == 1e-7, "--set: nested key");
    check(cfg.performance.frame_prep_workers == 3 && !cfg.crop.enabled,
          "--set: int and bool, blanks around the key");
    pp_config_release(&cfg);

    rc = load("inputs:\n  input_catalog: c.csv\n  image_list_file: i.txt\n",
              req, 1, &cfg, &err);
    check(rc == PP_OK && cfg.outputs.work_dir &&
          strcmp(cfg.outputs.work_dir + strlen(tmpdir), "/wd") == 0,
          "--set: supplies a required key, relative to the config dir");
    pp_config_release(&cfg);

    rc = load(REQ, bad, 1, &cfg, &err);
    check(rc == PP_ECONFIG && strstr(err.msg, "--set crop.margin=abc: "
                                     "crop.margin: found 'abc', expected an "
                                     "integer >= 0"),
          "--set: bad value names the --set argument");
    check(!cfg.inputs.input_catalog, "--set: cfg released after failure");
    rc = load(REQ, unknown, 1, &cfg, &err);
    check(rc == PP_ECONFIG && strstr(err.msg, "--set crop.marginn=3: unknown "
                                     "key 'crop.marginn' (did you mean "
                                     "'crop.margin'?)"),
          "--set: unknown key with suggestion");
    rc = load(REQ, noeq, 1, &cfg, &err);
    check(rc == PP_ECONFIG && strstr(err.msg, "--set crop.margin: expected "
                                     "key.path=value"),
          "--set: argument without '='");
    rc = load(REQ, syntax, 1, &cfg, &err);
    check(rc == PP_ECONFIG && strstr(err.msg, "--set epsf.q_range=[0.6: YAML "
                                     "syntax error"),
          "--set: YAML syntax error in the value");
    rc = load(REQ, alias, 1, &cfg, &err);
    check(rc == PP_ECONFIG && strstr(err.msg, "--set merge.pattern=*.csv: "
                                     "YAML syntax error") &&
          strstr(err.msg, "quote a text value"),
          "--set: an unquoted '*' value gets a hint to quote it");
}

static void test_paths(void)
{
    pp_config cfg = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    char dir[256], path[PATH_MAX], want[PATH_MAX + 64];
    char *sets[] = { "inputs.tile_name=x", "inputs.image_list_file=l.txt" };
    int rc;

    snprintf(dir, sizeof dir, "%s/sub", tmpdir);
    pp_io_mkdir_p(dir, &err);
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    write_text(path,
               "inputs:\n  input_catalog: cat.csv\n"
               "  image_list_file: ../lists/images.txt\n"
               "  gaiaxp_synphot_csv: /abs/./g.csv\n"
               "outputs:\n  work_dir: work\n  epsf_dir: my_epsf\n"
               "  final_catalog: /elsewhere/final.csv\n"
               "logging:\n  file: logs/run.log\n");
    rc = pp_config_load(path, sets, 2, &cfg, &err);
    if (!check(rc == PP_OK, "paths: config in a subdirectory loads"))
        printf("#   %s\n", err.msg);
    check_str(cfg.config_dir, dir, "paths: config_dir");
    snprintf(want, sizeof want, "%s/cat.csv", dir);
    check_str(cfg.inputs.input_catalog, want,
              "paths: inputs relative to the config directory");
    snprintf(want, sizeof want, "%s/l.txt", dir);
    check_str(cfg.inputs.image_list_file, want,
              "paths: --set path relative to the config directory");
    check_str(cfg.inputs.gaiaxp_synphot_csv, "/abs/g.csv",
              "paths: absolute path kept (normalised)");
    snprintf(want, sizeof want, "%s/work", dir);
    check_str(cfg.outputs.work_dir, want,
              "paths: work_dir relative to the config directory");
    snprintf(want, sizeof want, "%s/work/my_epsf", dir);
    check_str(cfg.outputs.epsf_dir, want,
              "paths: epsf_dir relative to work_dir");
    snprintf(want, sizeof want, "%s/work/patches", dir);
    check_str(cfg.outputs.patches_dir, want,
              "paths: default outputs below work_dir");
    check_str(cfg.outputs.final_catalog, "/elsewhere/final.csv",
              "paths: absolute output kept");
    snprintf(want, sizeof want, "%s/work/logs/run.log", dir);
    check_str(cfg.logging.file, want,
              "paths: logging.file relative to work_dir");
    pp_config_release(&cfg);

    write_text(path, REQ "  epsf_dir: ../x/../e\n");
    rc = pp_config_load(path, NULL, 0, &cfg, &err);
    snprintf(want, sizeof want, "%s/e", dir);
    check(rc == PP_OK && !strcmp(cfg.outputs.epsf_dir, want) &&
          !strcmp(cfg.inputs.image_list_file + strlen(dir), "/i.txt"),
          "paths: '..' segments are folded");
    pp_config_release(&cfg);
}

static void test_dump(void)
{
    pp_config cfg = PP_CONFIG_INIT, back = PP_CONFIG_INIT;
    pp_error err = PP_ERROR_INIT;
    char dump[PATH_MAX], *text = NULL;
    FILE *fp;
    int rc;

    rc = load("inputs:\n"
              "  tile_name: \"a: b # c \\\"q\\\" 'x' \\\\ t\\tab\\nnl "
              "caf\xc3\xa9 \\x85\"\n"
              "  input_catalog: \"my dir/cat: 1.csv\"\n"
              "  image_list_file: '#list.txt'\n"
              "outputs:\n  work_dir: \"w w\"\n"
              "merge:\n  pattern: \"*_x: y.csv\"\n"
              "logging:\n  file: \"null\"\n  level: error\n"
              "checks:\n  wcs_tolerance:\n    crval: 3e-7\n    cd: 0.1\n"
              "zp:\n  gaia_pos_err_pix: 0.125\n"
              "  zp_err_snr_fallbacks: [33.3, 0.1]\n"
              "patch_run:\n  cutout_max_sources: 7\n  max_workers: auto\n"
              "  staged_fit_stages: [all]\n"
              "performance:\n  white_stack_workers: 5\n",
              NULL, 0, &cfg, &err);
    if (!check(rc == PP_OK, "dump: tricky config loads"))
        printf("#   %s\n", err.msg);
    check_str(cfg.inputs.tile_name,
              "a: b # c \"q\" 'x' \\ t\tab\nnl caf\xc3\xa9 \xc2\x85",
              "dump: escapes read as expected");

    snprintf(dump, sizeof dump, "%s/dump.yaml", tmpdir);
    fp = fopen(dump, "w");
    rc = pp_config_dump(&cfg, fp, 1, &err);
    check(fclose(fp) == 0 && rc == PP_OK, "dump: written with comments");
    rc = pp_config_load(dump, NULL, 0, &back, &err);
    if (!check(rc == PP_OK, "dump: reloads"))
        printf("#   %s\n", err.msg);
    check_str(back.inputs.tile_name, cfg.inputs.tile_name,
              "dump: string with quotes, colon, escapes survives");
    check_str(back.inputs.input_catalog, cfg.inputs.input_catalog,
              "dump: path with blank and colon survives");
    check_str(back.inputs.image_list_file, cfg.inputs.image_list_file,
              "dump: path starting with '#' survives");
    check_str(back.outputs.work_dir, cfg.outputs.work_dir,
              "dump: work_dir survives");
    check_str(back.outputs.epsf_dir, cfg.outputs.epsf_dir,
              "dump: resolved epsf_dir survives");
    check_str(back.merge.pattern, "*_x: y.csv", "dump: pattern survives");
    check_str(back.logging.file, cfg.logging.file,
              "dump: a log file named 'null' stays a path");
    check(back.logging.file_auto == 0, "dump: ... and is not auto");
    check_str(back.logging.level, "ERROR", "dump: enum survives");
    check(back.checks.wcs_tolerance.crval == 3e-7 &&
          back.checks.wcs_tolerance.cd == 0.1 &&
          back.checks.wcs_tolerance.crpix == 1e-6,
          "dump: floats survive exactly");
    check(back.zp.has_gaia_pos_err_pix && back.zp.gaia_pos_err_pix == 0.125,
          "dump: nullable float survives");
    check(back.zp.n_zp_err_snr_fallbacks == 2 &&
          back.zp.zp_err_snr_fallbacks[0] == 33.3 &&
          back.zp.zp_err_snr_fallbacks[1] == 0.1,
          "dump: float list survives exactly");
    check(back.patch_run.has_cutout_max_sources &&
          back.patch_run.cutout_max_sources == 7,
          "dump: nullable int survives");
    check(back.patch_run.max_workers == 0 &&
          back.performance.white_stack_workers == 5 &&
          back.epsf.max_workers == 0, "dump: auto and int workers survive");
    check(back.patch_run.n_staged_fit_stages == 1 &&
          !strcmp(back.patch_run.staged_fit_stages[0], "all"),
          "dump: string list survives");
    check(!back.inputs.gaiaxp_synphot_csv, "dump: null path survives");
    check(back.epsf.q_range[1] == 1.3 && back.overlay.zoom_box[3] == 5000 &&
          back.epsf.n_mog_components == 2, "dump: default lists survive");
    check(back.crop.margin == 500 && back.crop.enabled == 1 &&
          back.source_saturation_cut.require_all_bands == 0,
          "dump: ints and booleans survive");
    pp_config_release(&back);

    fp = fopen(dump, "w");
    rc = pp_config_dump(&cfg, fp, 0, &err);
    check(fclose(fp) == 0 && rc == PP_OK, "dump: written without comments");
    rc = pp_config_load(dump, NULL, 0, &back, &err);
    check(rc == PP_OK && back.inputs.tile_name &&
          !strcmp(back.inputs.tile_name, cfg.inputs.tile_name) &&
          back.checks.wcs_tolerance.crval == 3e-7,
          "dump: plain dump reloads too");
    pp_io_read_file(dump, &text, NULL, &err);
    check(text && !strstr(text, "\n  # "), "dump: no comments when off");
    free(text);
    text = NULL;
    pp_config_release(&back);
    pp_config_release(&cfg);

    /* Independent truth: the §4.1 defaults as text. */
    pp_config_defaults(&cfg);
    fp = fopen(dump, "w");
    rc = pp_config_dump(&cfg, fp, 1, &err);
    fclose(fp);
    pp_io_read_file(dump, &text, NULL, &err);
    check(rc == PP_OK && text && strstr(text, "\ncrop:\n  # crop away the"),
          "dump: section header then a help comment");
    check(text && strstr(text, "  # crop margin, pixels\n  margin: 500\n"),
          "dump: margin default with its help");
    check(text && strstr(text, "(required)\n  work_dir: null\n"),
          "dump: unset required key is null, marked required");
    check(text && strstr(text, "\n  q_range: [0.7, 1.3]\n") &&
          strstr(text, "\n  zoom_box: [4000, 5000, 4000, 5000]\n"),
          "dump: lists in flow style");
    check(text && strstr(text, "\n  wcs_tolerance:\n") &&
          strstr(text, "\n    crval: 1.0e-06\n"),
          "dump: nested mapping, float readable by YAML 1.1");
    check(text && strstr(text, "\n  zp_ref: 25.0\n") &&
          strstr(text, "\n  max_workers: \"auto\"\n") &&
          strstr(text, "\n  input_catalog: null\n") &&
          strstr(text, "\n  file: \"auto\"\n") &&
          strstr(text, "\n  require_all_bands: false\n"),
          "dump: float, auto, null required key, false");
    check(text && !strstr(text, "python_exe") && !strstr(text, "format:"),
          "dump: Python-only keys left out");
    free(text);
    pp_config_release(&cfg);

    pp_config_defaults(&cfg);
    free(cfg.inputs.tile_name);
    cfg.inputs.tile_name = strdup("bad \xff byte");
    fp = fopen(dump, "w");
    rc = pp_config_dump(&cfg, fp, 0, &err);
    fclose(fp);
    check(rc == PP_ECONFIG && strstr(err.msg, "inputs.tile_name"),
          "dump: invalid UTF-8 string is an error naming the key");
    pp_config_release(&cfg);
}

static void test_help(void)
{
    const char *h = pp_config_key_help("crop.margin");

    check(h && strstr(h, "margin"), "help: known key has help");
    check(pp_config_key_help("crop.marginn") == NULL,
          "help: unknown key is NULL");
    check(pp_config_key_help("patch_run.python_exe") &&
          strstr(pp_config_key_help("patch_run.python_exe"), "ignored"),
          "help: Python-only key says it is ignored");
}

int main(void)
{
    pp_error err = PP_ERROR_INIT;

    strcpy(tmpdir, "/tmp/pp-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }
    snprintf(cfgpath, sizeof cfgpath, "%s/config.yaml", tmpdir);
    pp_log_init("test_config");
    test_defaults();
    test_tract7dt_fixture();
    test_new_keys();
    test_errors();
    test_accepted_values();
    test_set();
    test_paths();
    test_dump();
    test_help();
    pp_io_remove_tree(tmpdir, &err);
    return tap_done();
}
