/* pp_config.h - the YAML configuration of every tool (SPEC §4, §4.1).
 *
 * One YAML file drives every tool; `--set key.path=value` overrides single
 * keys from the command line.  pp_config is a typed struct whose fields
 * mirror the YAML paths exactly: the key `checks.wcs_tolerance.crval` is
 * `cfg->checks.wcs_tolerance.crval`, `epsf.q_range` is
 * `cfg->epsf.q_range[0..1]`.  One table of key rows in pp_config.c (path,
 * type, field, default, range or allowed values, help) drives the
 * defaults, validation of the file and of --set, "did you mean", the help
 * text and the YAML dump; there is no per-key code.
 *
 * Types and their C representation:
 *   bool           int (0/1); YAML 1.1 booleans true/false, yes/no, on/off,
 *                  any case, unquoted
 *   int            long; an integer or an integral number (500.0), unquoted
 *   float          double; any finite number (1e-6 too), unquoted
 *   string         char* (owned); any scalar text
 *   enum           char* (owned); one of a fixed set, matched without
 *                  regard to case and stored in the set's spelling
 *                  (logging.level "debug" -> "DEBUG")
 *   path           char* (owned, absolute after pp_config_load): inputs.*
 *                  and outputs.work_dir relative to the config file's
 *                  directory, all other outputs.* and logging.file relative
 *                  to work_dir (SPEC §4).  A leading "~/" means $HOME.
 *                  Paths given by --set follow the same rule (relative to
 *                  the config file's directory, not to the current one).
 *   auto-int       long; "auto" (any case) is stored as 0, else an integer
 *                  >= 1 (performance.*_workers, epsf.max_workers,
 *                  patch_run.max_workers)
 *   lists          fixed length as arrays (overlay.zoom_box[4],
 *                  epsf.q_range[2]); variable length as an owned pointer
 *                  plus an `n_<key>` count (epsf.mog_components,
 *                  zp.zp_err_snr_fallbacks, patch_run.staged_fit_stages)
 * Null (`null`, `~` or nothing) is accepted only where stated:
 *   inputs.gaiaxp_synphot_csv      NULL (the default: no GaiaXP file)
 *   logging.file                   NULL; "auto" sets logging.file_auto = 1
 *                                  and leaves file NULL (default "auto")
 *   patch_run.cutout_max_sources   has_cutout_max_sources = 0 (value 0)
 *   zp.gaia_pos_err_pix            has_gaia_pos_err_pix = 0, value NAN
 * inputs.input_catalog, inputs.image_list_file and outputs.work_dir have no
 * default: they must be set by the file or by --set.  A section left empty
 * (`crop:` alone) means all its defaults.  The Python-only keys of SPEC §4
 * (patch_run.python_exe, logging.format, ...) take any value and are logged
 * at INFO as accepted and ignored; they have no field.
 *
 * Errors are PP_ECONFIG (exit 2) and name the file and line (or the --set
 * argument), the full key path, the value found and what was expected:
 *     config.yaml:12: crop.margin: found 'abc', expected an integer >= 0
 *     config.yaml:7: unknown key 'crop.marginn' (did you mean 'crop.margin'?)
 * A YAML syntax error gives libyaml's problem and line; a missing file
 * reads "cannot open 'x.yaml': No such file or directory" (still
 * PP_ECONFIG).  Duplicate keys in one mapping are errors.
 *
 * Ownership: every char* and list of a pp_config belongs to it and is
 * freed by pp_config_release(), which leaves the struct as PP_CONFIG_INIT.
 * A pp_config must be initialised (PP_CONFIG_INIT) before its first use;
 * loading into a loaded config releases the old contents first.  Nothing
 * here keeps state between calls; a loaded config may be read from any
 * number of threads.
 */
#ifndef PP_CONFIG_H
#define PP_CONFIG_H

#include <stdio.h>

#include "pp_error.h"

typedef struct pp_config {
    char *config_path;      /* the file loaded, absolute; NULL if none */
    char *config_dir;       /* its directory, absolute (cwd if no file) */

    struct {
        char *tile_name;            /* informational ["your_tile_name"] */
        char *input_catalog;        /* path, required (SPEC §5.1) */
        char *image_list_file;      /* path, required (SPEC §5.2) */
        char *gaiaxp_synphot_csv;   /* path or NULL [NULL] (SPEC §5.4) */
    } inputs;
    struct {
        char *work_dir;             /* path, required */
        char *epsf_dir;             /* ["EPSFs"] */
        char *patches_dir;          /* ["patches"] */
        char *patch_inputs_dir;     /* ["patch_payloads"] */
        char *tractor_out_dir;      /* ["outputs"] */
        char *final_catalog;        /* ["output_catalog.csv"] */
        char *cropped_images_dir;   /* ["cropped_images"] */
        char *overlay_dir;          /* ["overlay"] */
        char *bright_mask_dir;      /* ["bright_mask"] */
    } outputs;
    struct {
        double zp_ref;              /* [25.0] */
    } image_scaling;
    struct {
        int enabled;                /* [1] */
        long margin;                /* pixels, >= 0 [500] */
        int plot_pre_crop;          /* [1] */
        int plot_post_crop;         /* [1] */
        long display_downsample;    /* [4] */
        long post_crop_display_downsample;  /* [4] */
    } crop;
    struct {
        int enabled;                /* [1] */
        long downsample_full;       /* [4] */
        int zoom_enabled;           /* [1] */
        long zoom_box[4];           /* x0, x1, y0, y1 [4000,5000,4000,5000] */
    } overlay;
    struct {
        int require_wcs_alignment;  /* [1] */
        struct {
            double crval;           /* deg [1e-6] */
            double crpix;           /* pixels [1e-6] */
            double cd;              /* [1e-9] */
            double cdelt;           /* deg/pixel [1e-9] */
        } wcs_tolerance;
        int require_same_shape;     /* [1] */
    } checks;
    struct {
        int enabled;                /* [1] */
        double radius_pix;          /* [20.0] */
        int require_all_bands;      /* [0] */
    } source_saturation_cut;
    struct {
        int enabled;                /* [1] */
        double thresh_sigma;        /* [5.0] */
        long minarea;               /* [9] */
        double min_snr;             /* [50.0] */
        double match_radius_pix;    /* [3.0] */
        double ellipse_scale;       /* [3.0] */
        double min_radius_pix;      /* [5.0] */
        int include_saturation;     /* [1] */
        long saturation_dilate_pix; /* [2] */
    } bright_mask;
    struct {
        char *level;                /* "DEBUG"|"INFO"|"WARNING"|"ERROR" */
        char *file;                 /* path, or NULL (none, or auto) */
        int file_auto;              /* 1: <work_dir>/<command>.log [1] */
    } logging;
    struct {
        long dpi;                   /* [300] */
        int enabled;                /* [1] */
    } plotting;
    struct {
        long frame_prep_workers;    /* 0 = auto [auto] */
        long white_stack_workers;   /* 0 = auto [auto] */
    } performance;
    struct {
        int use_gaiaxp;
        long epsf_ngrid;
        long ngrid;
        int skip_empty_epsf_patches;
        double thresh_sigma;
        long minarea;
        long cutout_size;
        long edge_pad;
        double min_sep;
        long max_stars;
        double q_range[2];
        char *psfstar_mode;         /* "sep"|"sep+gaia"|"gaia" */
        double gaia_mag_min;
        double gaia_mag_max;
        int gaia_snap_to_sep;
        double gaia_forced_k_fwhm;
        double gaia_forced_rmin_pix;
        double gaia_forced_rmax_pix;
        double gaia_snr_min;
        double gaia_match_r_pix;
        long gaia_seed_sat_r;
        double gaia_seed_sat_div;
        long oversamp;
        long maxiters;
        int do_clip;
        long recenter_boxsize;
        long final_psf_size;        /* odd */
        long save_star_montage_max;
        int background_subtract_patch;
        long background_boxsize;
        long background_filtersize;
        double background_source_mask_sigma;
        long background_mask_dilate;
        int star_local_bkg_subtract;
        double star_local_bkg_annulus_rin_pix;
        double star_local_bkg_annulus_rout_pix;
        double star_local_bkg_sigma;
        long star_local_bkg_minpix;
        int save_patch_background_diagnostics;
        int save_star_local_background_diagnostics;
        int diagnostics_show_colorbar;
        int save_growth_curve;
        int save_residual_diagnostics;
        long residual_diag_max_stars;
        int parallel_bands;
        long max_workers;           /* 0 = auto */
        char *smoothing_kernel;     /* "quartic"|"quadratic"|"none" */
        long fit_boxsize;
        double isolation_flux_ratio;
        long *mog_components;       /* n_mog_components entries [4, 9] */
        int n_mog_components;
    } epsf;
    struct {
        long halo_pix_min;
    } patches;
    struct {
        int save_patch_inputs;
        int skip_empty_patch;
        long gzip_compresslevel;    /* 0..9 */
    } patch_inputs;
    struct {
        int enable_multi_band_simultaneous_fitting;
        int resume;
        long max_workers;           /* 0 = auto [32] */
        char *gal_model;            /* "dev"|"exp"|"sersic"|"star" */
        long n_opt_iters;
        double dlnp_stop;
        double r_ap;
        double eps_flux;
        double sersic_n_init;
        double re_fallback_pix;
        char *psf_model;            /* "pixelized"|"hybrid"|
                                       "gaussian_mixture_from_stamp" */
        char *psf_fallback_model;   /* "moffat"|"ncircular_gaussian"|
                                       "gaussian_mixture" */
        long min_epsf_nstars_for_use;
        long ncircular_gaussian_n;  /* 1..3 */
        long hybrid_psf_n;
        long gaussian_mixture_n;
        double fallback_default_fwhm_pix;
        double fallback_stamp_radius_pix;
        long cutout_size;
        long cutout_max_sources;    /* valid when has_cutout_max_sources */
        int has_cutout_max_sources; /* 0: null, no limit [0] */
        long cutout_start;
        double cutout_data_p_lo;
        double cutout_data_p_hi;
        double cutout_model_p_lo;
        double cutout_model_p_hi;
        double cutout_resid_p_abs;
        int no_cutouts;
        int no_patch_overview;
        long flag_maxiter_margin;
        int fit_sky;
        int fit_halo_sources;
        char *psf_interp;           /* "bilinear"|"cell" */
        char *subpixel_shift;       /* "fourier"|"lanczos3" */
        double max_pos_shift_pix;
        char *flux_error;           /* "marginal"|"conditional" */
        int enable_staged_fit;
        char **staged_fit_stages;   /* each "flux"|"flux+pos"|"all" */
        int n_staged_fit_stages;
        double bound_stall_tol;
        long timeout_s;
        char *noise_model;          /* "sky"|"sky+poisson" */
    } patch_run;
    struct {
        double beta;
        double radius_pix;
    } moffat_psf;
    struct {
        char *pattern;
    } merge;
    struct {
        int enabled;
        int inject_gaia_sources;
        double gaia_mag_min;
        double gaia_mag_max;
        double match_radius_arcsec;
        long min_box_size_pix;
        double clip_sigma;
        long clip_max_iters;
        double gaia_pos_err_pix;    /* pixels; NAN when null */
        int has_gaia_pos_err_pix;   /* 0: null [0] */
        char *zp_err_method;        /* "all_mad"|"bright_std" */
        double zp_err_snr_min;
        double *zp_err_snr_fallbacks;   /* [50.0, 20.0] */
        int n_zp_err_snr_fallbacks;
        long zp_err_min_sources;
        double plot_mag_lo;
        double plot_mag_hi;
        double plot_zp_offset;
    } zp;
} pp_config;

#define PP_CONFIG_INIT {0}

/* Load the configuration: defaults, then the YAML file at path, then each
 * "key.path=value" of sets[0..nsets-1] in order (the value is read as a
 * YAML scalar or flow sequence: `epsf.q_range=[0.6,1.4]`,
 * `inputs.gaiaxp_synphot_csv=null`; a string starting with a YAML
 * indicator such as '*' must be quoted: `merge.pattern="*.csv"`), then the
 * check that the required keys are set, then path resolution.  Sets
 * cfg->config_path (absolute) and cfg->config_dir.  path may be NULL (no
 * file: defaults and sets only, relative paths taken from the current
 * directory).  Python-only keys are logged at INFO.  Returns PP_OK, or
 * PP_ECONFIG with err set (see above); on failure cfg is released. */
int pp_config_load(const char *path, char *const *sets, int nsets,
                   pp_config *cfg, pp_error *err);

/* Fill cfg with every default (SPEC §4.1), no file: paths stay as written
 * (relative), required keys NULL, config_path and config_dir NULL.  The
 * old contents of cfg are released first. */
void pp_config_defaults(pp_config *cfg);

/* Free everything cfg owns and reset it to PP_CONFIG_INIT.  NULL and an
 * initialised, never-loaded config are fine. */
void pp_config_release(pp_config *cfg);

/* Write the effective configuration to fp as YAML, every key of SPEC §4.1
 * in table order (Python-only keys left out), strings double-quoted so any
 * text survives; pp_config_load reads the output back to identical values.
 * with_comments: a "# help" line above each key (pp-run dump-config).
 * Required keys that are unset are written as null (the reader must fill
 * them in).  PP_EIO if writing fails; PP_ECONFIG if a string is not valid
 * UTF-8. */
int pp_config_dump(const pp_config *cfg, FILE *fp, int with_comments,
                   pp_error *err);

/* The one-line help of a key ("crop.margin"), or NULL if the key is not
 * known.  The string is static. */
const char *pp_config_key_help(const char *key_path);

/* The keys of one section ("epsf") as a new JSON object, in table order,
 * leaf names as keys (nested keys keep their dotted rest, e.g.
 * "wcs_tolerance.crval"); null for null values.  Used for the cfg{} of
 * meta.json files (SPEC §8.3).  The caller owns the result (json_decref). */
struct json_t;
struct json_t *pp_config_section_json(const pp_config *cfg,
                                      const char *section);

#endif /* PP_CONFIG_H */
