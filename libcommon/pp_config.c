/* pp_config.c - the YAML configuration of every tool (see pp_config.h).
 *
 * Everything is driven by keys[], one row per key of SPEC §4.1: the
 * defaults are the rows' YAML texts read through the same code as --set,
 * the file's mappings are walked and each leaf is checked against its row,
 * "did you mean" searches the rows, and the dump writes them in order.
 * libyaml parses (document API, so every node carries its line) and quotes
 * strings on output; this file only resolves plain scalars to types.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <yaml.h>

#include "pp_config.h"
#include "pp_error.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"

/* Key types: the C representation of each is in pp_config.h. */
enum {
    K_BOOL, K_INT, K_FLOAT, K_STR, K_ENUM, K_PATH, K_AUTO, K_LOGFILE,
    K_NINT, K_NFLOAT, K_IVEC, K_FVEC, K_ILIST, K_FLIST, K_SLIST, K_IGNORED
};

/* Row flags. */
enum {
    KF_NULL = 1,        /* null accepted (string and path keys) */
    KF_REQ = 2,         /* no default: the file or --set must give it */
    KF_GT = 4,          /* lower bound exclusive (> lo, not >= lo) */
    KF_ODD = 8,         /* odd integers only */
    KF_WORK = 16        /* relative path: from work_dir, not config dir */
};

typedef struct {
    const char *path;           /* full YAML path, "crop.margin" */
    int type;                   /* K_* */
    unsigned flags;             /* KF_* */
    size_t off;                 /* offsetof(pp_config, <path>) */
    size_t aux;                 /* has_<key>, n_<key> or file_auto */
    const char *def;            /* default as YAML text; NULL: none */
    double lo, hi;              /* numeric range (of the elements) */
    int len;                    /* length of a fixed list */
    const char *const *choices; /* enum values, NULL-terminated */
    const char *help;           /* one line */
} cfg_key;

/* Longest variable list accepted; longest key text in a suggestion. */
#define CFG_LIST_MAX 64
#define CFG_PATH_MAX 128
#define CFG_FOUND_MAX 60

#define NOLO (-INFINITY)
#define NOHI INFINITY

/* offsetof(pp_config, f), checked at compile time to have the type T of
 * &cfg->f, so a row cannot point its parser at a field of another type. */
#define OFF(f, T) _Generic(&((pp_config *)0)->f, T: offsetof(pp_config, f))

#define ROW(s, k, type, fl, off, aux, def, lo, hi, len, ch, help) \
    { #s "." #k, type, fl, off, aux, def, lo, hi, len, ch, help }
#define BOOL(s, k, def, help) \
    ROW(s, k, K_BOOL, 0, OFF(s.k, int *), 0, def, 0, 0, 0, NULL, help)
#define INT(s, k, def, lo, hi, fl, help) \
    ROW(s, k, K_INT, fl, OFF(s.k, long *), 0, def, lo, hi, 0, NULL, help)
#define FLT(s, k, def, lo, hi, fl, help) \
    ROW(s, k, K_FLOAT, fl, OFF(s.k, double *), 0, def, lo, hi, 0, NULL, help)
#define STR(s, k, def, help) \
    ROW(s, k, K_STR, 0, OFF(s.k, char **), 0, def, 0, 0, 0, NULL, help)
#define ENUM(s, k, def, ch, help) \
    ROW(s, k, K_ENUM, 0, OFF(s.k, char **), 0, def, 0, 0, 0, ch, help)
#define PATH(s, k, def, fl, help) \
    ROW(s, k, K_PATH, fl, OFF(s.k, char **), 0, def, 0, 0, 0, NULL, help)
#define AUTO(s, k, def, help) \
    ROW(s, k, K_AUTO, 0, OFF(s.k, long *), 0, def, 1, NOHI, 0, NULL, help)
#define NINT(s, k, def, lo, help) \
    ROW(s, k, K_NINT, 0, OFF(s.k, long *), OFF(s.has_##k, int *), def, \
        lo, NOHI, 0, NULL, help)
#define NFLT(s, k, def, lo, fl, help) \
    ROW(s, k, K_NFLOAT, fl, OFF(s.k, double *), OFF(s.has_##k, int *), \
        def, lo, NOHI, 0, NULL, help)
#define IVEC(s, k, def, n, lo, hi, help) \
    ROW(s, k, K_IVEC, 0, OFF(s.k, long (*)[n]), 0, def, lo, hi, n, NULL, \
        help)
#define FVEC(s, k, def, n, lo, hi, fl, help) \
    ROW(s, k, K_FVEC, fl, OFF(s.k, double (*)[n]), 0, def, lo, hi, n, \
        NULL, help)
#define ILIST(s, k, def, lo, hi, help) \
    ROW(s, k, K_ILIST, 0, OFF(s.k, long **), OFF(s.n_##k, int *), def, \
        lo, hi, 0, NULL, help)
#define FLIST(s, k, def, lo, hi, help) \
    ROW(s, k, K_FLIST, 0, OFF(s.k, double **), OFF(s.n_##k, int *), def, \
        lo, hi, 0, NULL, help)
#define SLIST(s, k, def, ch, help) \
    ROW(s, k, K_SLIST, 0, OFF(s.k, char ***), OFF(s.n_##k, int *), def, \
        0, 0, 0, ch, help)
#define IGNORED(s, k) \
    ROW(s, k, K_IGNORED, 0, 0, 0, NULL, 0, 0, 0, NULL, \
        "accepted and ignored (Python-only)")

static const char *const ch_level[] = { "DEBUG", "INFO", "WARNING",
                                        "ERROR", NULL };
static const char *const ch_psfstar[] = { "sep", "sep+gaia", "gaia", NULL };
static const char *const ch_kernel[] = { "quartic", "quadratic", "none",
                                         NULL };
static const char *const ch_gal[] = { "dev", "exp", "sersic", "star", NULL };
static const char *const ch_psf[] = { "pixelized", "hybrid",
                                      "gaussian_mixture_from_stamp", NULL };
static const char *const ch_fallback[] = { "moffat", "ncircular_gaussian",
                                           "gaussian_mixture", NULL };
static const char *const ch_interp[] = { "bilinear", "cell", NULL };
static const char *const ch_shift[] = { "fourier", "lanczos3", NULL };
static const char *const ch_fluxerr[] = { "marginal", "conditional", NULL };
static const char *const ch_stages[] = { "flux", "flux+pos", "all", NULL };
static const char *const ch_noise[] = { "sky", "sky+poisson", NULL };
static const char *const ch_zperr[] = { "all_mad", "bright_std", NULL };

/* SPEC §4.1, in its order.  Rows of one section (and of one nested
 * mapping) must be contiguous: the dump writes each section header once. */
static const cfg_key keys[] = {
    STR(inputs, tile_name, "your_tile_name",
        "informational tile name; does not affect the pipeline"),
    PATH(inputs, input_catalog, NULL, KF_REQ,
         "input catalogue CSV (RA, DEC; ID, TYPE, FLUX_<band>...), SPEC 5.1"),
    PATH(inputs, image_list_file, NULL, KF_REQ,
         "text file with one FITS path per line (# comments allowed)"),
    PATH(inputs, gaiaxp_synphot_csv, "null", KF_NULL,
         "GaiaXP synthetic photometry CSV; null: no Gaia steps"),

    PATH(outputs, work_dir, NULL, KF_REQ,
         "base work and output directory (relative: to this file's dir)"),
    PATH(outputs, epsf_dir, "EPSFs", KF_WORK,
         "ePSF outputs (relative paths below: to work_dir)"),
    PATH(outputs, patches_dir, "patches", KF_WORK,
         "patch definitions (patches.csv, patches.json)"),
    PATH(outputs, patch_inputs_dir, "patch_payloads", KF_WORK,
         "patch payloads (<patch_tag>.fits)"),
    PATH(outputs, tractor_out_dir, "outputs", KF_WORK,
         "per-patch fit outputs"),
    PATH(outputs, final_catalog, "output_catalog.csv", KF_WORK,
         "merged final catalogue"),
    PATH(outputs, cropped_images_dir, "cropped_images", KF_WORK,
         "crop diagnostic plots"),
    PATH(outputs, overlay_dir, "overlay", KF_WORK,
         "white-stack overlay plots"),
    PATH(outputs, bright_mask_dir, "bright_mask", KF_WORK,
         "bright unmatched-source mask and its plots"),

    FLT(image_scaling, zp_ref, "25.0", NOLO, NOHI, 0,
        "reference zero point (AB mag) of the scaled images"),

    BOOL(crop, enabled, "true", "crop away the noisy image edges"),
    INT(crop, margin, "500", 0, NOHI, 0, "crop margin, pixels"),
    BOOL(crop, plot_pre_crop, "true",
         "plot the white stack before the crop, with the crop box"),
    BOOL(crop, plot_post_crop, "true",
         "plot the white stack after the crop"),
    INT(crop, display_downsample, "4", 1, NOHI, 0,
        "downsampling of the pre-crop plot"),
    INT(crop, post_crop_display_downsample, "4", 1, NOHI, 0,
        "downsampling of the post-crop plot"),

    BOOL(overlay, enabled, "true",
         "plot the white stack with the catalogue overlaid"),
    INT(overlay, downsample_full, "4", 1, NOHI, 0,
        "downsampling of the full overlay plot"),
    BOOL(overlay, zoom_enabled, "true", "also plot a zoomed region"),
    IVEC(overlay, zoom_box, "[4000, 5000, 4000, 5000]", 4, 0, NOHI,
         "zoom region [x0, x1, y0, y1], working-frame pixels"),

    BOOL(checks, require_wcs_alignment, "true",
         "all images must share the first image's WCS"),
    FLT(checks.wcs_tolerance, crval, "1e-6", 0, NOHI, 0,
        "tolerance on CRVAL, degrees"),
    FLT(checks.wcs_tolerance, crpix, "1e-6", 0, NOHI, 0,
        "tolerance on CRPIX, pixels"),
    FLT(checks.wcs_tolerance, cd, "1e-9", 0, NOHI, 0,
        "tolerance on the CD (or PC) matrix"),
    FLT(checks.wcs_tolerance, cdelt, "1e-9", 0, NOHI, 0,
        "tolerance on CDELT, degrees per pixel"),
    BOOL(checks, require_same_shape, "true",
         "all images must have the same NAXIS1 x NAXIS2"),

    BOOL(source_saturation_cut, enabled, "true",
         "exclude sources near saturated pixels from fitting"),
    FLT(source_saturation_cut, radius_pix, "20.0", 0, NOHI, 0,
        "search radius around each source, pixels"),
    BOOL(source_saturation_cut, require_all_bands, "false",
         "false: saturated in any band; true: in every band"),

    BOOL(bright_mask, enabled, "true",
         "mask bright detections with no catalogue match (SPEC 6.8)"),
    FLT(bright_mask, thresh_sigma, "5.0", 0, NOHI, KF_GT,
        "SEP detection threshold, sigma"),
    INT(bright_mask, minarea, "9", 1, NOHI, 0, "SEP minimum area, pixels"),
    FLT(bright_mask, min_snr, "50.0", 0, NOHI, 0,
        "minimum SNR of an unmatched detection to be masked"),
    FLT(bright_mask, match_radius_pix, "3.0", 0, NOHI, 0,
        "detection-catalogue match radius, pixels"),
    FLT(bright_mask, ellipse_scale, "3.0", 0, NOHI, KF_GT,
        "mask ellipse size in units of the SEP a, b"),
    FLT(bright_mask, min_radius_pix, "5.0", 0, NOHI, 0,
        "minimum mask semi-axis, pixels"),
    BOOL(bright_mask, include_saturation, "true",
         "add the any-band saturation mask"),
    INT(bright_mask, saturation_dilate_pix, "2", 0, NOHI, 0,
        "dilation of the saturation mask, pixels"),

    IGNORED(logging, ignore_warnings),
    ENUM(logging, level, "INFO", ch_level,
         "log level: DEBUG, INFO, WARNING or ERROR"),
    ROW(logging, file, K_LOGFILE, KF_WORK, OFF(logging.file, char **),
        OFF(logging.file_auto, int *), "auto", 0, 0, 0, NULL,
        "\"auto\": <work_dir>/<command>.log; a path (from work_dir); null"),
    IGNORED(logging, format),

    INT(plotting, dpi, "300", 1, NOHI, 0,
        "dots per inch of every PNG (size = inches x dpi)"),
    BOOL(plotting, enabled, "true", "false: no stage writes any PNG"),

    AUTO(performance, frame_prep_workers, "auto",
         "threads loading frames in pp-crop (\"auto\" or a number)"),
    AUTO(performance, white_stack_workers, "auto",
         "threads building the white stack (\"auto\" or a number)"),

    BOOL(epsf, use_gaiaxp, "true", "seed PSF stars from GaiaXP"),
    INT(epsf, epsf_ngrid, "7", 1, NOHI, 0, "ePSF grid: E x E cells"),
    INT(epsf, ngrid, "6", 1, NOHI, 0, "patches per ePSF cell: P x P"),
    BOOL(epsf, skip_empty_epsf_patches, "true",
         "build only cells that hold catalogue sources"),
    FLT(epsf, thresh_sigma, "10.0", 0, NOHI, KF_GT,
        "SEP detection threshold, sigma"),
    INT(epsf, minarea, "25", 1, NOHI, 0, "SEP minimum area, pixels"),
    INT(epsf, cutout_size, "61", 1, NOHI, 0, "star stamp size, pixels"),
    INT(epsf, edge_pad, "10", 0, NOHI, 0,
        "stamp must stay this far inside the image, pixels"),
    FLT(epsf, min_sep, "30.0", 0, NOHI, 0, "isolation radius, pixels"),
    INT(epsf, max_stars, "30", 1, NOHI, 0, "stars per cell, at most"),
    FVEC(epsf, q_range, "[0.7, 1.3]", 2, 0, NOHI, KF_GT,
         "accepted SEP axis ratio a/b [min, max]"),
    ENUM(epsf, psfstar_mode, "sep+gaia", ch_psfstar,
         "star candidates: \"sep\", \"sep+gaia\" or \"gaia\""),
    FLT(epsf, gaia_mag_min, "10.0", NOLO, NOHI, 0,
        "brightest Gaia seed magnitude"),
    FLT(epsf, gaia_mag_max, "30.0", NOLO, NOHI, 0,
        "faintest Gaia seed magnitude"),
    BOOL(epsf, gaia_snap_to_sep, "true",
         "snap Gaia seeds to the nearest SEP detection"),
    FLT(epsf, gaia_forced_k_fwhm, "1.5", 0, NOHI, KF_GT,
        "forced-aperture radius in FWHM"),
    FLT(epsf, gaia_forced_rmin_pix, "3.0", 0, NOHI, 0,
        "minimum forced-aperture radius, pixels"),
    FLT(epsf, gaia_forced_rmax_pix, "15.0", 0, NOHI, 0,
        "maximum forced-aperture radius, pixels"),
    FLT(epsf, gaia_snr_min, "20.0", NOLO, NOHI, 0,
        "minimum forced-aperture SNR of a star"),
    FLT(epsf, gaia_match_r_pix, "5.0", 0, NOHI, 0,
        "Gaia-SEP match radius, pixels"),
    INT(epsf, gaia_seed_sat_r, "5", 0, NOHI, 0,
        "saturation test box radius, pixels"),
    FLT(epsf, gaia_seed_sat_div, "1.3", 0, NOHI, KF_GT,
        "raw peak must stay below SATURATE / this"),
    INT(epsf, oversamp, "1", 1, NOHI, 0, "ePSF oversampling factor"),
    INT(epsf, maxiters, "30", 1, NOHI, 0, "ePSF build iterations, at most"),
    BOOL(epsf, do_clip, "true", "sigma-clip residuals in the build"),
    INT(epsf, recenter_boxsize, "9", 1, NOHI, 0,
        "centroid box for recentring, pixels"),
    INT(epsf, final_psf_size, "55", 1, NOHI, KF_ODD,
        "final ePSF stamp size, pixels (odd)"),
    INT(epsf, save_star_montage_max, "100", 0, NOHI, 0,
        "stars in the montage plots, at most"),
    BOOL(epsf, background_subtract_patch, "true",
         "subtract a SEP background map per cell first"),
    INT(epsf, background_boxsize, "96", 1, NOHI, 0,
        "background mesh size, pixels"),
    INT(epsf, background_filtersize, "9", 1, NOHI, 0,
        "background filter size, meshes"),
    FLT(epsf, background_source_mask_sigma, "3.0", 0, NOHI, 0,
        "mask pixels above median + this x sigma for the background"),
    INT(epsf, background_mask_dilate, "1", 0, NOHI, 0,
        "3x3 dilations of that source mask"),
    BOOL(epsf, star_local_bkg_subtract, "true",
         "subtract each star's annulus background"),
    FLT(epsf, star_local_bkg_annulus_rin_pix, "20.0", 0, NOHI, 0,
        "annulus inner radius, pixels"),
    FLT(epsf, star_local_bkg_annulus_rout_pix, "30.0", 0, NOHI, 0,
        "annulus outer radius, pixels"),
    FLT(epsf, star_local_bkg_sigma, "3.0", 0, NOHI, KF_GT,
        "annulus sigma-clip threshold"),
    INT(epsf, star_local_bkg_minpix, "30", 0, NOHI, 0,
        "minimum valid annulus pixels, else background 0"),
    BOOL(epsf, save_patch_background_diagnostics, "true",
         "plot background_diagnostics.png per cell"),
    BOOL(epsf, save_star_local_background_diagnostics, "true",
         "plot star_local_background_diagnostics.png per cell"),
    BOOL(epsf, diagnostics_show_colorbar, "true",
         "colour bars in the background plots"),
    BOOL(epsf, save_growth_curve, "true", "plot epsf_growth_curve.png"),
    BOOL(epsf, save_residual_diagnostics, "true",
         "plot epsf_residual_diagnostics.png"),
    INT(epsf, residual_diag_max_stars, "100", 0, NOHI, 0,
        "stars in the residual diagnostics, at most"),
    BOOL(epsf, parallel_bands, "true", "build bands in parallel"),
    AUTO(epsf, max_workers, "auto", "threads (\"auto\" or a number)"),
    ENUM(epsf, smoothing_kernel, "quartic", ch_kernel,
         "ePSF smoothing: \"quartic\", \"quadratic\" or \"none\""),
    INT(epsf, fit_boxsize, "5", 1, NOHI, 0,
        "box for refitting star flux and centre, pixels"),
    FLT(epsf, isolation_flux_ratio, "0.05", 0, NOHI, 0,
        "a neighbour brighter than this x own flux spoils isolation"),
    ILIST(epsf, mog_components, "[4, 9]", 1, NOHI,
          "Gaussian-mixture sizes fitted and stored per cell"),

    INT(patches, halo_pix_min, "20", 0, NOHI, 0,
        "minimum patch halo, pixels"),

    BOOL(patch_inputs, save_patch_inputs, "true",
         "false: delete each payload once its fit succeeds"),
    BOOL(patch_inputs, skip_empty_patch, "true",
         "no payload for patches without sources"),
    IGNORED(patch_inputs, include_wcs_in_payload),
    IGNORED(patch_inputs, max_workers),
    INT(patch_inputs, gzip_compresslevel, "1", 0, 9, 0,
        "payload compression level, 0-9"),
    IGNORED(patch_inputs, keep_payloads_in_memory),

    BOOL(patch_run, enable_multi_band_simultaneous_fitting, "true",
         "true: all bands at once; false: each band alone"),
    IGNORED(patch_run, python_exe),
    BOOL(patch_run, resume, "false",
         "skip patches whose outputs are newer than their payload"),
    AUTO(patch_run, max_workers, "32",
         "patches fitted at once by pp-run (\"auto\": cores)"),
    IGNORED(patch_run, threads_per_process),
    ENUM(patch_run, gal_model, "exp", ch_gal,
         "model for TYPE GAL or missing: dev, exp, sersic or star"),
    INT(patch_run, n_opt_iters, "20", 1, NOHI, 0,
        "optimiser iterations, at most"),
    FLT(patch_run, dlnp_stop, "1e-6", 0, NOHI, 0,
        "converged when a step gains less lnP than this"),
    FLT(patch_run, r_ap, "5.0", 0, NOHI, KF_GT,
        "aperture radius for initial fluxes, pixels"),
    FLT(patch_run, eps_flux, "1e-4", 0, NOHI, 0,
        "floor of the initial fluxes"),
    FLT(patch_run, sersic_n_init, "3.0", 0, NOHI, KF_GT,
        "initial Sersic index"),
    FLT(patch_run, re_fallback_pix, "3.0", 0, NOHI, KF_GT,
        "initial Re when the catalogue has none, pixels"),
    ENUM(patch_run, psf_model, "pixelized", ch_psf,
         "PSF from an ePSF: pixelized, hybrid, gaussian_mixture_from_stamp"),
    ENUM(patch_run, psf_fallback_model, "moffat", ch_fallback,
         "PSF without a usable ePSF: moffat, ncircular_gaussian, "
         "gaussian_mixture"),
    INT(patch_run, min_epsf_nstars_for_use, "2", 0, NOHI, 0,
        "an ePSF built from fewer stars is not used"),
    INT(patch_run, ncircular_gaussian_n, "3", 1, 3, 0,
        "components of the ncircular_gaussian fallback (1-3)"),
    INT(patch_run, hybrid_psf_n, "9", 1, NOHI, 0,
        "mixture components of the hybrid PSF"),
    INT(patch_run, gaussian_mixture_n, "4", 1, NOHI, 0,
        "mixture components of gaussian_mixture PSFs"),
    FLT(patch_run, fallback_default_fwhm_pix, "4.0", 0, NOHI, KF_GT,
        "FWHM when the header has neither PEEING nor SEEING, pixels"),
    FLT(patch_run, fallback_stamp_radius_pix, "25.0", 0, NOHI, KF_GT,
        "radius of the Gaussian fallback stamp, pixels"),
    INT(patch_run, cutout_size, "100", 1, NOHI, 0,
        "cutout size in the montages, pixels"),
    NINT(patch_run, cutout_max_sources, "null", 0,
         "cutout montages per patch, at most; null: all"),
    INT(patch_run, cutout_start, "0", 0, NOHI, 0,
        "index of the first source given a cutout"),
    FLT(patch_run, cutout_data_p_lo, "1", 0, 100, 0,
        "data display low percentile"),
    FLT(patch_run, cutout_data_p_hi, "99", 0, 100, 0,
        "data display high percentile"),
    FLT(patch_run, cutout_model_p_lo, "1", 0, 100, 0,
        "model display low percentile"),
    FLT(patch_run, cutout_model_p_hi, "99", 0, 100, 0,
        "model display high percentile"),
    FLT(patch_run, cutout_resid_p_abs, "99", 0, 100, 0,
        "residual display percentile of |residual|"),
    BOOL(patch_run, no_cutouts, "false", "no cutout montages"),
    BOOL(patch_run, no_patch_overview, "false", "no patch overview plot"),
    INT(patch_run, flag_maxiter_margin, "0", 0, NOHI, 0,
        "opt_hit_max_iters when niters >= n_opt_iters - this"),
    BOOL(patch_run, fit_sky, "true", "fit a constant sky per band"),
    BOOL(patch_run, fit_halo_sources, "true",
         "fit the halo sources with each patch"),
    ENUM(patch_run, psf_interp, "bilinear", ch_interp,
         "PSF per source: \"bilinear\" between cells or the \"cell\" one"),
    ENUM(patch_run, subpixel_shift, "fourier", ch_shift,
         "sub-pixel shift of stamps: \"fourier\" or \"lanczos3\""),
    FLT(patch_run, max_pos_shift_pix, "3.0", 0, NOHI, KF_GT,
        "largest position change from the catalogue, pixels"),
    ENUM(patch_run, flux_error, "marginal", ch_fluxerr,
         "flux errors: \"marginal\" or \"conditional\""),
    BOOL(patch_run, enable_staged_fit, "false",
         "fit in the stages of staged_fit_stages"),
    SLIST(patch_run, staged_fit_stages, "[flux, flux+pos, all]", ch_stages,
          "stages in order, each \"flux\", \"flux+pos\" or \"all\""),
    FLT(patch_run, bound_stall_tol, "1e-3", 0, NOHI, 0,
        "flag a parameter this close to a bound (fraction of range)"),
    INT(patch_run, timeout_s, "600", 1, NOHI, 0,
        "per-patch time limit in pp-run, seconds"),
    ENUM(patch_run, noise_model, "sky", ch_noise,
         "inverse variance: \"sky\" or \"sky+poisson\""),

    IGNORED(moffat_psf, fwhm_default_pix),
    FLT(moffat_psf, beta, "3.5", 0, NOHI, KF_GT,
        "Moffat beta of the fallback PSF"),
    FLT(moffat_psf, radius_pix, "25.0", 0, NOHI, KF_GT,
        "Moffat fallback stamp radius, pixels"),
    IGNORED(moffat_psf, module_path),

    STR(merge, pattern, "\"*_cat_fit.csv\"",
        "patch catalogue file pattern (quote it: * starts a YAML alias)"),

    BOOL(zp, enabled, "true", "Gaia augmentation and zero points"),
    BOOL(zp, inject_gaia_sources, "true",
         "add unmatched Gaia stars to the catalogue"),
    FLT(zp, gaia_mag_min, "8.0", NOLO, NOHI, 0,
        "brightest Gaia G magnitude used"),
    FLT(zp, gaia_mag_max, "18.0", NOLO, NOHI, 0,
        "faintest Gaia G magnitude used"),
    FLT(zp, match_radius_arcsec, "3.0", 0, NOHI, 0,
        "Gaia-catalogue match radius, arcsec"),
    INT(zp, min_box_size_pix, "3000", 0, NOHI, 0,
        "minimum side of the Gaia selection box, pixels"),
    FLT(zp, clip_sigma, "3.0", 0, NOHI, KF_GT,
        "MAD sigma-clipping threshold"),
    INT(zp, clip_max_iters, "10", 0, NOHI, 0,
        "sigma-clipping iterations, at most"),
    NFLT(zp, gaia_pos_err_pix, "null", 0, KF_GT,
         "POS_ERR of injected Gaia stars, pixels; null: none"),
    ENUM(zp, zp_err_method, "all_mad", ch_zperr,
         "ZP error: \"all_mad\" or \"bright_std\""),
    FLT(zp, zp_err_snr_min, "100.0", 0, NOHI, 0,
        "SNR cut of the bright_std error"),
    FLIST(zp, zp_err_snr_fallbacks, "[50.0, 20.0]", 0, NOHI,
          "lower SNR cuts tried in turn"),
    INT(zp, zp_err_min_sources, "5", 1, NOHI, 0,
        "stars needed at an SNR cut"),
    FLT(zp, plot_mag_lo, "10.0", NOLO, NOHI, 0, "ZP plot magnitude minimum"),
    FLT(zp, plot_mag_hi, "20.0", NOLO, NOHI, 0, "ZP plot magnitude maximum"),
    FLT(zp, plot_zp_offset, "0.3", 0, NOHI, KF_GT,
        "ZP plot y half-range around the median"),
};

#define NKEYS (sizeof keys / sizeof keys[0])

/* Where a value came from, for the messages. */
typedef struct {
    pp_config *cfg;
    yaml_document_t *doc;
    const char *file;       /* the config file as named by the user */
    const char *label;      /* "--set k=v" (or "default"): no line */
    pp_error *err;
} cfg_ctx;

/* A checked scalar. */
typedef struct {
    int null;
    long i;                 /* bool, int, auto (0), logfile auto flag */
    double f;
    const char *s;          /* borrowed from the node or the choices */
} cfg_val;

/* ---- table lookups ---------------------------------------------------- */

static const cfg_key *find_key(const char *path)
{
    for (size_t i = 0; i < NKEYS; ++i)
        if (strcmp(keys[i].path, path) == 0)
            return &keys[i];
    return NULL;
}

/* 1 if path names a section or nested mapping ("checks.wcs_tolerance"). */
static int is_section(const char *path)
{
    size_t n = strlen(path);

    for (size_t i = 0; i < NKEYS; ++i)
        if (strncmp(keys[i].path, path, n) == 0 && keys[i].path[n] == '.')
            return 1;
    return 0;
}

static int count_dots(const char *s)
{
    int n = 0;

    for (; *s; ++s)
        n += *s == '.';
    return n;
}

static const char *leaf(const char *path)
{
    const char *dot = strrchr(path, '.');

    return dot ? dot + 1 : path;
}

static void *field(const pp_config *cfg, size_t off)
{
    return (char *)cfg + off;
}

/* ---- "did you mean" --------------------------------------------------- */

/* Damerau-Levenshtein distance (optimal string alignment). */
static int edit_distance(const char *a, const char *b)
{
    int d[CFG_PATH_MAX + 1][CFG_PATH_MAX + 1];
    size_t na = strlen(a), nb = strlen(b);

    if (na > CFG_PATH_MAX || nb > CFG_PATH_MAX)
        return CFG_PATH_MAX;
    for (size_t i = 0; i <= na; ++i)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= nb; ++j)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= na; ++i)
        for (size_t j = 1; j <= nb; ++j) {
            int cost = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;

            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[na][nb];
}

/* The known key or section closest to path: same depth, edit distance
 * <= 2 (SPEC §4); failing that, a key of the same name in another
 * section.  Writes it to buf and returns buf, or NULL. */
static const char *suggest(const char *path, char *buf, size_t size)
{
    int depth = count_dots(path), best = 3;

    for (size_t i = 0; i < NKEYS; ++i) {
        char cand[CFG_PATH_MAX];
        const char *p = keys[i].path;
        int dots = 0, d;
        size_t n = 0;

        /* The prefix of the key with as many components as path. */
        while (p[n] && !(p[n] == '.' && dots++ == depth))
            ++n;
        if (count_dots(p) < depth || n >= sizeof cand)
            continue;
        memcpy(cand, p, n);
        cand[n] = '\0';
        d = edit_distance(path, cand);
        if (d < best) {
            best = d;
            snprintf(buf, size, "%s", cand);
        }
    }
    if (best <= 2)
        return buf;
    for (size_t i = 0; i < NKEYS && depth > 0; ++i)
        if (count_dots(keys[i].path) == depth &&
            strcmp(leaf(keys[i].path), leaf(path)) == 0) {
            snprintf(buf, size, "%s", keys[i].path);
            return buf;
        }
    return NULL;
}

/* ---- messages --------------------------------------------------------- */

/* "config.yaml:12" or the --set argument. */
static void where(const cfg_ctx *c, const yaml_node_t *n, char *buf,
                  size_t size)
{
    if (c->label)
        snprintf(buf, size, "%s", c->label);
    else if (n)
        snprintf(buf, size, "%s:%lu", c->file,
                 (unsigned long)n->start_mark.line + 1);
    else
        snprintf(buf, size, "%s", c->file);
}

static int is_null(const yaml_node_t *n)
{
    const char *s;

    if (!n)
        return 1;
    if (n->type != YAML_SCALAR_NODE ||
        n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    s = (const char *)n->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

/* How a node reads in "found ...". */
static void found_text(const yaml_node_t *n, int quoted_note, char *buf,
                       size_t size)
{
    if (is_null(n)) {
        snprintf(buf, size, "null");
    } else if (n->type == YAML_SEQUENCE_NODE) {
        long len = (long)(n->data.sequence.items.top -
                          n->data.sequence.items.start);
        snprintf(buf, size, "a list of %ld item%s", len, len == 1 ? "" : "s");
    } else if (n->type == YAML_MAPPING_NODE) {
        snprintf(buf, size, "a mapping");
    } else {
        const char *s = (const char *)n->data.scalar.value;
        int quoted = n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;

        snprintf(buf, size, "'%.*s%s'%s", CFG_FOUND_MAX, s,
                 strlen(s) > CFG_FOUND_MAX ? "..." : "",
                 quoted && quoted_note ? " (quoted, so a string)" : "");
    }
}

static void range_text(const cfg_key *k, char *buf, size_t size)
{
    const char *ge = k->flags & KF_GT ? ">" : ">=";

    if (isfinite(k->lo) && isfinite(k->hi))
        snprintf(buf, size, " in %s%g, %g]", k->flags & KF_GT ? "(" : "[",
                 k->lo, k->hi);
    else if (isfinite(k->lo))
        snprintf(buf, size, " %s %g", ge, k->lo);
    else
        buf[0] = '\0';
}

static void choices_text(const cfg_key *k, char *buf, size_t size)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; k->choices[i] && n < size; ++i)
        n += (size_t)snprintf(buf + n, size - n, "%s'%s'", i ? ", " : "",
                              k->choices[i]);
}

/* What a value of type t (the key's type or its elements') must be. */
static void describe(const cfg_key *k, int t, char *buf, size_t size)
{
    char r[96], ch[256] = "";
    const char *odd = k->flags & KF_ODD ? "an odd" : "an";

    range_text(k, r, sizeof r);
    if (k->choices)
        choices_text(k, ch, sizeof ch);
    switch (t) {
    case K_BOOL:
        snprintf(buf, size, "a boolean (true/false, yes/no, on/off)");
        break;
    case K_INT:
        snprintf(buf, size, "%s integer%s", odd, r);
        break;
    case K_NINT:
        snprintf(buf, size, "an integer%s or null", r);
        break;
    case K_FLOAT:
        snprintf(buf, size, "a number%s", r);
        break;
    case K_NFLOAT:
        snprintf(buf, size, "a number%s or null", r);
        break;
    case K_AUTO:
        snprintf(buf, size, "'auto' or an integer%s", r);
        break;
    case K_STR:
        snprintf(buf, size, "a string%s", k->flags & KF_NULL ? " or null" : "");
        break;
    case K_PATH:
        snprintf(buf, size, "a non-empty path%s",
                 k->flags & KF_NULL ? " or null" : "");
        break;
    case K_LOGFILE:
        snprintf(buf, size, "'auto', a non-empty path or null");
        break;
    case K_ENUM:
        snprintf(buf, size, "one of %s", ch);
        break;
    case K_IVEC:
        snprintf(buf, size, "a list of %d integers%s", k->len, r);
        break;
    case K_FVEC:
        snprintf(buf, size, "a list of %d numbers%s", k->len, r);
        break;
    case K_ILIST:
        snprintf(buf, size, "a list of integers%s", r);
        break;
    case K_FLIST:
        snprintf(buf, size, "a list of numbers%s", r);
        break;
    case K_SLIST:
        snprintf(buf, size, "a list of values from %s", ch);
        break;
    default:
        snprintf(buf, size, "anything");
    }
}

/* "<where>: <path>: found <x>, expected <what>". */
static int bad_value(const cfg_ctx *c, const cfg_key *k, int t,
                     const char *path, const yaml_node_t *n)
{
    char w[PATH_MAX + 64], found[CFG_FOUND_MAX + 40], want[512];
    int numeric = t == K_BOOL || t == K_INT || t == K_FLOAT ||
                  t == K_NINT || t == K_NFLOAT || t == K_AUTO;

    where(c, n, w, sizeof w);
    found_text(n, numeric, found, sizeof found);
    describe(k, t, want, sizeof want);
    return pp_error_set(c->err, PP_ECONFIG, "%s: %s: found %s, expected %s",
                        w, path, found, want);
}

/* ---- scalars ---------------------------------------------------------- */

/* Only digits, signs, '.', 'e': no "inf", "nan" or hex for strtod. */
static int numeric_text(const char *s)
{
    int digit = 0;

    for (; *s; ++s) {
        if (isdigit((unsigned char)*s))
            digit = 1;
        else if (!strchr("+-.eE", *s))
            return 0;
    }
    return digit;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    double v;

    if (!numeric_text(s))
        return -1;
    v = strtod(s, &end);
    if (*end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* An integer, or a number with no fractional part (SPEC §4: 500.0). */
static int parse_long(const char *s, long *out)
{
    char *end;
    double v;

    if (!numeric_text(s))
        return -1;
    if (!strpbrk(s, ".eE")) {
        long l;

        errno = 0;
        l = strtol(s, &end, 10);
        if (*end || errno == ERANGE)
            return -1;
        *out = l;
        return 0;
    }
    /* 9.2e18 keeps the conversion inside the range of long. */
    if (parse_double(s, &v) != 0 || v != floor(v) || fabs(v) > 9.2e18)
        return -1;
    *out = (long)v;
    return 0;
}

/* YAML 1.1 booleans, any case (SPEC §4). */
static int parse_bool(const char *s, long *out)
{
    static const char *const yes[] = { "true", "yes", "on" };
    static const char *const no[] = { "false", "no", "off" };

    for (int i = 0; i < 3; ++i) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int in_range(const cfg_key *k, double v)
{
    if (k->flags & KF_GT ? !(v > k->lo) : !(v >= k->lo))
        return 0;
    return v <= k->hi;
}

/* Check node as a value of type t (a scalar type) for key k; fill v.
 * path names the key (or list element) in messages. */
static int check_scalar(const cfg_ctx *c, const cfg_key *k, int t,
                        const char *path, const yaml_node_t *n, cfg_val *v)
{
    const char *s;
    int plain, ok = 0;
    int nullable = t == K_NINT || t == K_NFLOAT || t == K_LOGFILE ||
                   ((t == K_STR || t == K_PATH) && (k->flags & KF_NULL));

    memset(v, 0, sizeof *v);
    if (is_null(n)) {
        if (!nullable)
            return bad_value(c, k, t, path, n);
        v->null = 1;
        return PP_OK;
    }
    if (n->type != YAML_SCALAR_NODE)
        return bad_value(c, k, t, path, n);
    s = (const char *)n->data.scalar.value;
    plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    switch (t) {
    case K_BOOL:
        ok = plain && parse_bool(s, &v->i) == 0;
        break;
    case K_AUTO:
        if (strcasecmp(s, "auto") == 0) {
            v->i = 0;
            ok = 1;
            break;
        }
        /* fall through - otherwise an integer */
    case K_INT:
    case K_NINT:
        ok = plain && parse_long(s, &v->i) == 0 && in_range(k, (double)v->i)
             && (!(k->flags & KF_ODD) || v->i % 2 != 0);
        break;
    case K_FLOAT:
    case K_NFLOAT:
        ok = plain && parse_double(s, &v->f) == 0 && in_range(k, v->f);
        break;
    case K_STR:
        v->s = s;
        ok = 1;
        break;
    case K_LOGFILE:
        v->i = strcasecmp(s, "auto") == 0;
        /* fall through - otherwise a path */
    case K_PATH:
        v->s = s;
        ok = s[0] != '\0';
        break;
    case K_ENUM:
        for (int i = 0; k->choices[i] && !ok; ++i)
            if (strcasecmp(s, k->choices[i]) == 0) {
                v->s = k->choices[i];
                ok = 1;
            }
        break;
    }
    return ok ? PP_OK : bad_value(c, k, t, path, n);
}

static void replace_str(char **slot, const char *s)
{
    free(*slot);
    *slot = s ? pp_xstrdup(s) : NULL;
}

/* Store a checked scalar into the key's field(s). */
static void store_scalar(pp_config *cfg, const cfg_key *k, const cfg_val *v)
{
    void *p = field(cfg, k->off);

    switch (k->type) {
    case K_BOOL:
        *(int *)p = (int)v->i;
        break;
    case K_INT:
    case K_AUTO:
        *(long *)p = v->i;
        break;
    case K_FLOAT:
        *(double *)p = v->f;
        break;
    case K_STR:
    case K_ENUM:
    case K_PATH:
        replace_str(p, v->null ? NULL : v->s);
        break;
    case K_LOGFILE:
        *(int *)field(cfg, k->aux) = !v->null && v->i;
        replace_str(p, v->null || v->i ? NULL : v->s);
        break;
    case K_NINT:
        *(int *)field(cfg, k->aux) = !v->null;
        *(long *)p = v->null ? 0 : v->i;
        break;
    case K_NFLOAT:
        *(int *)field(cfg, k->aux) = !v->null;
        *(double *)p = v->null ? NAN : v->f;
        break;
    }
}

/* ---- lists ------------------------------------------------------------ */

static int elem_type(int t)
{
    return t == K_IVEC || t == K_ILIST ? K_INT
         : t == K_FVEC || t == K_FLIST ? K_FLOAT : K_ENUM;
}

static void free_list(pp_config *cfg, const cfg_key *k)
{
    void **p = field(cfg, k->off);

    if (k->type == K_SLIST) {
        char **s = *p;

        for (int i = 0; i < *(int *)field(cfg, k->aux); ++i)
            free(s[i]);
    }
    free(*p);
    *p = NULL;
    *(int *)field(cfg, k->aux) = 0;
}

/* Check a sequence node against a list key and store it. */
static int set_list(cfg_ctx *c, const cfg_key *k, const char *path,
                    const yaml_node_t *n)
{
    int t = elem_type(k->type), fixed = k->type == K_IVEC ||
                                        k->type == K_FVEC;
    long len;
    long il[CFG_LIST_MAX];
    double fl[CFG_LIST_MAX];
    const char *sl[CFG_LIST_MAX];

    if (!n || n->type != YAML_SEQUENCE_NODE)
        return bad_value(c, k, k->type, path, n);
    len = (long)(n->data.sequence.items.top - n->data.sequence.items.start);
    if ((fixed && len != k->len) || len > CFG_LIST_MAX)
        return bad_value(c, k, k->type, path, n);
    for (long i = 0; i < len; ++i) {
        yaml_node_t *e = yaml_document_get_node(
            c->doc, n->data.sequence.items.start[i]);
        char *ep = pp_xasprintf("%s[%ld]", path, i);
        cfg_val v;
        int rc = check_scalar(c, k, t, ep, e, &v);

        free(ep);
        if (rc != PP_OK)
            return rc;
        il[i] = v.i;
        fl[i] = v.f;
        sl[i] = v.s;
    }
    /* All elements are good: store. */
    if (fixed) {
        if (t == K_INT)
            memcpy(field(c->cfg, k->off), il, (size_t)len * sizeof *il);
        else
            memcpy(field(c->cfg, k->off), fl, (size_t)len * sizeof *fl);
        return PP_OK;
    }
    free_list(c->cfg, k);
    if (len > 0) {
        void *arr;

        if (t == K_INT) {
            arr = pp_xmalloc((size_t)len * sizeof *il);
            memcpy(arr, il, (size_t)len * sizeof *il);
        } else if (t == K_FLOAT) {
            arr = pp_xmalloc((size_t)len * sizeof *fl);
            memcpy(arr, fl, (size_t)len * sizeof *fl);
        } else {
            char **s = pp_xmalloc((size_t)len * sizeof *s);

            for (long i = 0; i < len; ++i)
                s[i] = pp_xstrdup(sl[i]);
            arr = s;
        }
        *(void **)field(c->cfg, k->off) = arr;
    }
    *(int *)field(c->cfg, k->aux) = (int)len;
    return PP_OK;
}

/* ---- walking the YAML tree -------------------------------------------- */

static int set_value(cfg_ctx *c, const cfg_key *k, const yaml_node_t *n)
{
    cfg_val v;
    int rc;

    switch (k->type) {
    case K_IGNORED:
        /* SPEC §4: Python-only keys take any value. */
        pp_log(PP_LOG_INFO, "config key '%s' is accepted and ignored "
               "(Python-only)", k->path);
        return PP_OK;
    case K_IVEC:
    case K_FVEC:
    case K_ILIST:
    case K_FLIST:
    case K_SLIST:
        return set_list(c, k, k->path, n);
    default:
        rc = check_scalar(c, k, k->type, k->path, n, &v);
        if (rc == PP_OK)
            store_scalar(c->cfg, k, &v);
        return rc;
    }
}

static int unknown_key(const cfg_ctx *c, const char *path,
                       const yaml_node_t *keynode)
{
    char w[PATH_MAX + 64], hint[CFG_PATH_MAX + 32] = "", best[CFG_PATH_MAX];

    where(c, keynode, w, sizeof w);
    if (suggest(path, best, sizeof best))
        snprintf(hint, sizeof hint, " (did you mean '%s'?)", best);
    return pp_error_set(c->err, PP_ECONFIG, "%s: unknown %s '%s'%s", w,
                        strchr(path, '.') ? "key" : "section", path, hint);
}

static int walk_map(cfg_ctx *c, const char *prefix, const yaml_node_t *map);

/* Apply node as the value of path (a key, or a section / nested mapping). */
static int walk(cfg_ctx *c, const char *path, const yaml_node_t *n,
                const yaml_node_t *keynode)
{
    const cfg_key *k = find_key(path);
    char w[PATH_MAX + 64], found[CFG_FOUND_MAX + 40];

    if (k)
        return set_value(c, k, n);
    if (!is_section(path))
        return unknown_key(c, path, keynode);
    /* An empty section (`crop:` alone) keeps its defaults. */
    if (is_null(n))
        return PP_OK;
    if (n->type != YAML_MAPPING_NODE) {
        where(c, n, w, sizeof w);
        found_text(n, 0, found, sizeof found);
        return pp_error_set(c->err, PP_ECONFIG, "%s: %s: found %s, expected "
                            "a mapping of keys", w, path, found);
    }
    return walk_map(c, path, n);
}

static int walk_map(cfg_ctx *c, const char *prefix, const yaml_node_t *map)
{
    yaml_node_pair_t *start = map->data.mapping.pairs.start;
    yaml_node_pair_t *top = map->data.mapping.pairs.top;
    char w[PATH_MAX + 64];

    for (yaml_node_pair_t *p = start; p < top; ++p) {
        yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(c->doc, p->value);
        const char *name;
        char *path;
        int rc;

        where(c, kn, w, sizeof w);
        if (kn->type != YAML_SCALAR_NODE)
            return pp_error_set(c->err, PP_ECONFIG, "%s: %s%sfound a key "
                                "that is not text", w, prefix,
                                prefix[0] ? ": " : "");
        name = (const char *)kn->data.scalar.value;
        path = prefix[0] ? pp_xasprintf("%s.%s", prefix, name)
                         : pp_xstrdup(name);
        /* YAML forbids duplicate keys; PyYAML silently keeps the last. */
        for (yaml_node_pair_t *q = start; q < p; ++q) {
            yaml_node_t *qn = yaml_document_get_node(c->doc, q->key);

            if (qn->type == YAML_SCALAR_NODE &&
                strcmp((const char *)qn->data.scalar.value, name) == 0) {
                rc = pp_error_set(c->err, PP_ECONFIG, "%s: duplicate key "
                                  "'%s' (first on line %lu)", w, path,
                                  (unsigned long)qn->start_mark.line + 1);
                free(path);
                return rc;
            }
        }
        rc = walk(c, path, vn, kn);
        free(path);
        if (rc != PP_OK)
            return rc;
    }
    return PP_OK;
}

/* ---- reading YAML ----------------------------------------------------- */

/* libyaml's problem as "<where>:<line>: YAML syntax error: ...". */
static int syntax_error(const yaml_parser_t *yp, const char *name,
                        int with_line, pp_error *err)
{
    char ctx[160] = "";

    if (yp->context)
        snprintf(ctx, sizeof ctx, " (%s)", yp->context);
    if (yp->error == YAML_READER_ERROR)
        return pp_error_set(err, PP_ECONFIG, "%s: YAML syntax error: %s at "
                            "byte %lu", name, yp->problem ? yp->problem : "?",
                            (unsigned long)yp->problem_offset);
    if (with_line)
        return pp_error_set(err, PP_ECONFIG, "%s:%lu: YAML syntax error: "
                            "%s%s", name,
                            (unsigned long)yp->problem_mark.line + 1,
                            yp->problem ? yp->problem : "?", ctx);
    return pp_error_set(err, PP_ECONFIG, "%s: YAML syntax error: %s%s", name,
                        yp->problem ? yp->problem : "?", ctx);
}

/* Parse text as one YAML document into doc (deleted by the caller when
 * PP_OK is returned).  A second document in the text is an error. */
static int parse_text(const char *text, size_t len, const char *name,
                      int with_line, yaml_document_t *doc, pp_error *err)
{
    yaml_parser_t yp;
    yaml_document_t extra;
    int rc = PP_OK;

    if (!yaml_parser_initialize(&yp))
        return pp_error_set(err, PP_ENOMEM, "cannot set up the YAML parser");
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, doc)) {
        rc = syntax_error(&yp, name, with_line, err);
        goto out;
    }
    if (!yaml_parser_load(&yp, &extra)) {
        rc = syntax_error(&yp, name, with_line, err);
        yaml_document_delete(doc);
        goto out;
    }
    if (yaml_document_get_root_node(&extra)) {
        rc = pp_error_set(err, PP_ECONFIG, "%s:%lu: expected one YAML "
                          "document, found another", name,
                          (unsigned long)extra.start_mark.line + 1);
        yaml_document_delete(doc);
    }
    yaml_document_delete(&extra);
out:
    yaml_parser_delete(&yp);
    return rc;
}

/* Apply "value" (YAML text) to path; label names the source in messages. */
static int apply_text(pp_config *cfg, const char *path, const char *value,
                      const char *label, pp_error *err)
{
    yaml_document_t doc;
    cfg_ctx c = { cfg, &doc, NULL, label, err };
    int rc = parse_text(value, strlen(value), label, 0, &doc, err);

    /* `--set merge.pattern=*.csv` reads '*' as an alias: say what to do. */
    if (rc == PP_ECONFIG && strncmp(label, "--set", 5) == 0) {
        size_t n = strlen(err->msg);

        snprintf(err->msg + n, sizeof err->msg - n, "; quote a text value: "
                 "--set 'key=\"text\"'");
    }
    if (rc != PP_OK)
        return rc;
    rc = walk(&c, path, yaml_document_get_root_node(&doc), NULL);
    yaml_document_delete(&doc);
    return rc;
}

/* Every row's default through the same checks as --set. */
static int set_defaults(pp_config *cfg, pp_error *err)
{
    for (size_t i = 0; i < NKEYS; ++i) {
        int rc;

        if (!keys[i].def)
            continue;
        rc = apply_text(cfg, keys[i].path, keys[i].def, "default", err);
        if (rc != PP_OK) {
            err->code = PP_EINTERNAL;
            return rc;
        }
    }
    return PP_OK;
}

static int apply_file(pp_config *cfg, const char *path, pp_error *err)
{
    yaml_document_t doc;
    cfg_ctx c = { cfg, &doc, path, NULL, err };
    yaml_node_t *root;
    char *text = NULL;
    size_t len = 0;
    int rc;

    /* SPEC §3.6: a config problem, exit 2, even when it is an I/O one. */
    if (pp_io_read_file(path, &text, &len, err) != PP_OK) {
        err->code = PP_ECONFIG;
        return PP_ECONFIG;
    }
    rc = parse_text(text, len, path, 1, &doc, err);
    free(text);
    if (rc != PP_OK)
        return rc;
    root = yaml_document_get_root_node(&doc);
    /* An empty file (or a bare null) is an empty mapping. */
    if (root && !is_null(root) && root->type != YAML_MAPPING_NODE) {
        char w[PATH_MAX + 64], found[CFG_FOUND_MAX + 40];

        where(&c, root, w, sizeof w);
        found_text(root, 0, found, sizeof found);
        rc = pp_error_set(err, PP_ECONFIG, "%s: found %s, expected a mapping "
                          "of sections (inputs:, outputs:, ...)", w, found);
    } else if (root && !is_null(root)) {
        rc = walk_map(&c, "", root);
    }
    yaml_document_delete(&doc);
    return rc;
}

/* One --set argument "key.path=value". */
static int apply_set(pp_config *cfg, const char *arg, pp_error *err)
{
    const char *eq = strchr(arg, '=');
    char *label, *key;
    size_t a = 0, b;
    int rc;

    label = pp_xasprintf("--set %s", arg);
    if (!eq) {
        rc = pp_error_set(err, PP_ECONFIG, "%s: expected key.path=value",
                          label);
        free(label);
        return rc;
    }
    /* The key without surrounding blanks. */
    b = (size_t)(eq - arg);
    while (a < b && isspace((unsigned char)arg[a]))
        ++a;
    while (b > a && isspace((unsigned char)arg[b - 1]))
        --b;
    key = pp_xstrndup(arg + a, b - a);
    if (key[0] == '\0')
        rc = pp_error_set(err, PP_ECONFIG, "%s: expected key.path=value",
                          label);
    else if (!find_key(key) && !is_section(key)) {
        cfg_ctx c = { cfg, NULL, NULL, label, err };

        rc = unknown_key(&c, key, NULL);
    } else
        rc = apply_text(cfg, key, eq + 1, label, err);
    free(key);
    free(label);
    return rc;
}

static int check_required(const pp_config *cfg, const char *file,
                          pp_error *err)
{
    for (size_t i = 0; i < NKEYS; ++i)
        if ((keys[i].flags & KF_REQ) &&
            !*(char **)field(cfg, keys[i].off))
            return pp_error_set(err, PP_ECONFIG, "%s: missing required key "
                                "'%s'", file ? file : "configuration "
                                "(no file given)", keys[i].path);
    return PP_OK;
}

/* SPEC §4: an absolute, normalised path; relative ones from base. */
static char *resolve(const char *p, const char *base)
{
    const char *home = getenv("HOME");
    char *joined, *out;

    if (p[0] == '~' && (p[1] == '/' || p[1] == '\0') && home && home[0])
        joined = pp_io_path_join(home, p[1] ? p + 2 : "");
    else
        joined = pp_io_path_join(base, p);
    out = pp_io_abspath(joined);
    free(joined);
    return out;
}

/* Config-directory paths first: work_dir is the base of the others. */
static void resolve_paths(pp_config *cfg)
{
    for (int pass = 0; pass < 2; ++pass)
        for (size_t i = 0; i < NKEYS; ++i) {
            const cfg_key *k = &keys[i];
            char **slot = field(cfg, k->off);
            char *abs;

            if ((k->type != K_PATH && k->type != K_LOGFILE) || !*slot ||
                !(k->flags & KF_WORK) != !pass)
                continue;
            abs = resolve(*slot, pass ? cfg->outputs.work_dir
                                      : cfg->config_dir);
            free(*slot);
            *slot = abs;
        }
}

/* ---- public: load, defaults, release ---------------------------------- */

int pp_config_load(const char *path, char *const *sets, int nsets,
                   pp_config *cfg, pp_error *err)
{
    pp_error scratch = PP_ERROR_INIT;
    int rc;

    if (!err)
        err = &scratch;
    pp_config_release(cfg);
    rc = set_defaults(cfg, err);
    if (rc != PP_OK)
        goto out;
    if (path) {
        cfg->config_path = pp_io_abspath(path);
        cfg->config_dir = pp_io_dirname(cfg->config_path);
        rc = apply_file(cfg, path, err);
    } else {
        cfg->config_dir = pp_io_abspath(".");
    }
    for (int i = 0; i < nsets && rc == PP_OK; ++i)
        rc = apply_set(cfg, sets[i], err);
    if (rc == PP_OK)
        rc = check_required(cfg, path, err);
    if (rc == PP_OK)
        resolve_paths(cfg);
out:
    if (rc != PP_OK)
        pp_config_release(cfg);
    return rc;
}

void pp_config_defaults(pp_config *cfg)
{
    pp_error err = PP_ERROR_INIT;

    pp_config_release(cfg);
    /* The defaults are constant texts checked by the unit tests, and
     * pp_config_load reports a bad one as PP_EINTERNAL; here there is no
     * caller to tell. */
    (void)set_defaults(cfg, &err);
}

void pp_config_release(pp_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < NKEYS; ++i) {
        const cfg_key *k = &keys[i];

        switch (k->type) {
        case K_STR:
        case K_ENUM:
        case K_PATH:
        case K_LOGFILE:
            free(*(char **)field(cfg, k->off));
            break;
        case K_ILIST:
        case K_FLIST:
        case K_SLIST:
            free_list(cfg, k);
            break;
        }
    }
    free(cfg->config_path);
    free(cfg->config_dir);
    memset(cfg, 0, sizeof *cfg);
}

const char *pp_config_key_help(const char *key_path)
{
    const cfg_key *k = key_path ? find_key(key_path) : NULL;

    return k ? k->help : NULL;
}

/* ---- dump ------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t n, cap;
} cfg_buf;

static int emit_write(void *data, unsigned char *bytes, size_t size)
{
    cfg_buf *b = data;

    if (b->n + size + 1 > b->cap) {
        b->cap = 2 * (b->n + size + 1);
        b->buf = pp_xrealloc(b->buf, b->cap);
    }
    memcpy(b->buf + b->n, bytes, size);
    b->n += size;
    b->buf[b->n] = '\0';
    return 1;
}

/* s as a double-quoted YAML scalar, by libyaml's emitter (so every
 * character is escaped the way libyaml's reader expects); NULL if s is not
 * valid UTF-8. */
static char *quote(const char *s)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    cfg_buf b = { NULL, 0, 0 };
    int ok;

    if (!yaml_emitter_initialize(&em))
        return NULL;
    yaml_emitter_set_output(&em, emit_write, &b);
    yaml_emitter_set_width(&em, -1);        /* never fold a line */
    yaml_emitter_set_unicode(&em, 1);
    ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
         yaml_emitter_emit(&em, &ev) &&
         yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
         yaml_emitter_emit(&em, &ev) &&
         yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
                                      (int)strlen(s), 0, 1,
                                      YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
         yaml_emitter_emit(&em, &ev) &&
         yaml_document_end_event_initialize(&ev, 1) &&
         yaml_emitter_emit(&em, &ev) &&
         yaml_stream_end_event_initialize(&ev) &&
         yaml_emitter_emit(&em, &ev) && yaml_emitter_flush(&em);
    yaml_emitter_delete(&em);
    /* The emitter wrote '"..."\n': keep the scalar only. */
    while (ok && b.n > 0 && b.buf[b.n - 1] == '\n')
        b.buf[--b.n] = '\0';
    if (!ok || b.n < 2 || b.buf[0] != '"' || b.buf[b.n - 1] != '"') {
        free(b.buf);
        return NULL;
    }
    return b.buf;
}

/* The shortest text that strtod reads back to v, in a form YAML 1.1
 * readers also take as a float ("25.0", "1.0e-06"). */
static void format_double(double v, char *buf, size_t size)
{
    char tmp[48];
    const char *e;

    for (int prec = 1; prec <= 17; ++prec) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    e = strpbrk(tmp, "eE");
    if (strchr(tmp, '.'))
        snprintf(buf, size, "%s", tmp);
    else if (e)
        snprintf(buf, size, "%.*s.0%s", (int)(e - tmp), tmp, e);
    else
        snprintf(buf, size, "%s.0", tmp);
}

static int dump_string(FILE *fp, const char *s, const cfg_key *k,
                       pp_error *err)
{
    char *q;

    if (!s)
        return fputs("null", fp), PP_OK;
    q = quote(s);
    if (!q)
        return pp_error_set(err, PP_ECONFIG, "%s: cannot write '%s' as YAML "
                            "(not valid UTF-8)", k->path, s);
    fputs(q, fp);
    free(q);
    return PP_OK;
}

static void dump_long(FILE *fp, long v)
{
    fprintf(fp, "%ld", v);
}

static void dump_double(FILE *fp, double v)
{
    char buf[64];

    format_double(v, buf, sizeof buf);
    fputs(buf, fp);
}

static int dump_list(FILE *fp, const pp_config *cfg, const cfg_key *k,
                     pp_error *err)
{
    int fixed = k->type == K_IVEC || k->type == K_FVEC;
    int n = fixed ? k->len : *(int *)field(cfg, k->aux);
    const void *arr = fixed ? field(cfg, k->off)
                            : *(void **)field(cfg, k->off);
    int rc = PP_OK;

    fputc('[', fp);
    for (int i = 0; i < n && rc == PP_OK; ++i) {
        if (i)
            fputs(", ", fp);
        if (k->type == K_IVEC || k->type == K_ILIST)
            dump_long(fp, ((const long *)arr)[i]);
        else if (k->type == K_FVEC || k->type == K_FLIST)
            dump_double(fp, ((const double *)arr)[i]);
        else
            rc = dump_string(fp, ((char *const *)arr)[i], k, err);
    }
    fputc(']', fp);
    return rc;
}

static int dump_value(FILE *fp, const pp_config *cfg, const cfg_key *k,
                      pp_error *err)
{
    const void *p = field(cfg, k->off);
    int has = k->aux ? *(int *)field(cfg, k->aux) : 0;

    switch (k->type) {
    case K_BOOL:
        fputs(*(const int *)p ? "true" : "false", fp);
        return PP_OK;
    case K_INT:
        dump_long(fp, *(const long *)p);
        return PP_OK;
    case K_AUTO:
        if (*(const long *)p == 0)
            fputs("\"auto\"", fp);
        else
            dump_long(fp, *(const long *)p);
        return PP_OK;
    case K_FLOAT:
        dump_double(fp, *(const double *)p);
        return PP_OK;
    case K_NINT:
        if (has)
            dump_long(fp, *(const long *)p);
        else
            fputs("null", fp);
        return PP_OK;
    case K_NFLOAT:
        if (has)
            dump_double(fp, *(const double *)p);
        else
            fputs("null", fp);
        return PP_OK;
    case K_LOGFILE:
        if (has)
            return fputs("\"auto\"", fp), PP_OK;
        /* fall through - a path or null */
    case K_STR:
    case K_ENUM:
    case K_PATH:
        return dump_string(fp, *(char *const *)p, k, err);
    default:
        return dump_list(fp, cfg, k, err);
    }
}

/* Start (or length) of component i of path, -1 when it has fewer. */
static int component(const char *path, int i, size_t *len)
{
    const char *s = path;

    *len = 0;
    for (int j = 0; j < i; ++j) {
        s = strchr(s, '.');
        if (!s)
            return -1;
        ++s;
    }
    *len = strcspn(s, ".");
    return (int)(s - path);
}

/* Write the "name:" header lines of path's sections that the previous
 * key (prev) did not open. */
static void dump_sections(FILE *fp, const char *prev, const char *path)
{
    int depth = count_dots(path), shared = 0;

    while (prev && shared < depth && shared < count_dots(prev)) {
        size_t la = 0, lb = 0;
        int a = component(path, shared, &la);
        int b = component(prev, shared, &lb);

        if (la != lb || memcmp(path + a, prev + b, la) != 0)
            break;
        ++shared;
    }
    for (int i = shared; i < depth; ++i) {
        size_t len = 0;
        int at = component(path, i, &len);

        if (i == 0 && prev)
            fputc('\n', fp);
        fprintf(fp, "%*s%.*s:\n", 2 * i, "", (int)len, path + at);
    }
}

int pp_config_dump(const pp_config *cfg, FILE *fp, int with_comments,
                   pp_error *err)
{
    const char *prev = NULL;
    int rc = PP_OK;

    if (with_comments)
        fputs("# patchphot configuration (SPEC section 4): every key with "
              "its value.\n# Relative paths: inputs.* and outputs.work_dir "
              "from this file's directory,\n# the other outputs.* and "
              "logging.file from outputs.work_dir.\n\n", fp);
    for (size_t i = 0; i < NKEYS && rc == PP_OK; ++i) {
        const cfg_key *k = &keys[i];
        int indent = 2 * count_dots(k->path);

        if (k->type == K_IGNORED)
            continue;
        dump_sections(fp, prev, k->path);
        if (with_comments)
            fprintf(fp, "%*s# %s%s\n", indent, "", k->help,
                    k->flags & KF_REQ ? " (required)" : "");
        fprintf(fp, "%*s%s: ", indent, "", leaf(k->path));
        rc = dump_value(fp, cfg, k, err);
        fputc('\n', fp);
        prev = k->path;
    }
    if (rc != PP_OK)
        return rc;
    if (fflush(fp) != 0 || ferror(fp))
        return pp_error_set(err, PP_EIO, "cannot write the configuration: "
                            "%s", strerror(errno));
    return PP_OK;
}

/* One key's value as JSON (null for a null value). */
static json_t *value_json(const pp_config *cfg, const cfg_key *k)
{
    const void *p = field(cfg, k->off);
    int has = k->aux ? *(int *)field(cfg, k->aux) : 0;
    int fixed = k->type == K_IVEC || k->type == K_FVEC;
    json_t *a;

    switch (k->type) {
    case K_BOOL:
        return json_boolean(*(const int *)p);
    case K_INT:
        return json_integer(*(const long *)p);
    case K_AUTO:
        return *(const long *)p == 0 ? json_string("auto")
                                     : json_integer(*(const long *)p);
    case K_FLOAT:
        return json_real(*(const double *)p);
    case K_NINT:
        return has ? json_integer(*(const long *)p) : json_null();
    case K_NFLOAT:
        return has ? json_real(*(const double *)p) : json_null();
    case K_LOGFILE:
        if (has)
            return json_string("auto");
        /* fall through - a path or null */
    case K_STR:
    case K_ENUM:
    case K_PATH:
        return *(char *const *)p ? json_string(*(char *const *)p)
                                 : json_null();
    default:
        break;
    }
    a = json_array();
    int n = fixed ? k->len : *(int *)field(cfg, k->aux);
    const void *arr = fixed ? p : *(void *const *)p;
    for (int i = 0; i < n; ++i) {
        if (k->type == K_IVEC || k->type == K_ILIST)
            json_array_append_new(a, json_integer(((const long *)arr)[i]));
        else if (k->type == K_FVEC || k->type == K_FLIST)
            json_array_append_new(a, json_real(((const double *)arr)[i]));
        else
            json_array_append_new(a, json_string(((char *const *)arr)[i]));
    }
    return a;
}

json_t *pp_config_section_json(const pp_config *cfg, const char *section)
{
    size_t n = strlen(section);
    json_t *o = json_object();

    for (size_t i = 0; i < NKEYS; ++i) {
        const cfg_key *k = &keys[i];
        if (k->type == K_IGNORED || strncmp(k->path, section, n) != 0 ||
            k->path[n] != '.')
            continue;
        json_object_set_new(o, k->path + n + 1, value_json(cfg, k));
    }
    return o;
}
