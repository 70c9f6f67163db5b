/* payload.h - read one patch payload (SPEC §9.3) into memory, with the
 * per-source inputs the fitting engine starts from (SPEC §3.3, §5.1,
 * §10.2, §10.4).
 *
 * A payload is the FITS file pp-patchify writes: a header-only primary
 * HDU (PPFMT = 'patchphot-payload/1', tags, boxes, counts, ZPREF, crop
 * origin and the working-frame WCS shifted to the ROI), per band k =
 * 1..NBANDS an image HDU SCI/EXTVER=k (float32 scaled ROI, NaN kept) and
 * MASK/EXTVER=k (uint8 bits FIT_MASK_*), and the SOURCES binary table:
 * rows base, then halo, then edge sources; every base-catalogue column as
 * a variable-length byte column (1PB) holding the cell's exact bytes,
 * except x_pix_white / y_pix_white, which are typed doubles, plus
 * x_pix_patch, y_pix_patch (D), is_halo (L) and is_edge (L; optional,
 * absent = 0).
 *
 * Invariants of a loaded fit_payload:
 *   - width = RX1 - RX0, height = RY1 - RY0; every image is row-major
 *     width x height, pixel (x, y) of the patch at [y * width + x]; patch
 *     pixel (x, y) is working-frame (white) pixel (x + RX0, y + RY0)
 *     (SPEC §3.1).
 *   - sources[0 .. n_base-1] are base sources, [n_base .. n_base+n_halo-1]
 *     halo sources, the rest (n_edge) edge sources (SPEC §9.2: position
 *     and shape frozen, fluxes free, never written).
 *   - cat holds the base-catalogue columns in catalogue order, one row per
 *     source (same index as sources[]), cell text byte for byte.  The
 *     payload keeps x_pix_white / y_pix_white only as doubles at the end
 *     of the table, so their position and text are rebuilt: they are put
 *     just before 'excluded_crop' (where pp-crop adds them, SPEC §6.1),
 *     or appended when there is no such column, with the text
 *     pp_csv_format_double() gives (the format pp-crop wrote them in).
 *   - wcs is the ROI-frame WCS: pp_wcs_pix_to_sky(&p->wcs, x_patch,
 *     y_patch, ...) gives RA/DEC of a patch position.
 *
 * Per-source inputs (parsed from the catalogue cells; a cell that is not
 * a number counts as empty, with one WARNING naming column and row):
 *   - kind: TYPE trimmed, case-insensitive: STAR -> FIT_PROFILE_POINT,
 *     EXP, DEV, SERSIC -> their kinds; GAL, empty, anything else or no
 *     TYPE column -> patch_run.gal_model (SPEC §5.1).
 *   - shape (SPEC §10.2): ab = clip(1 - ELL, 0.1, 1) (0.8 when ELL is
 *     absent or not finite); phi = THETA - 90 (0 when absent); re =
 *     clip(Re, 0.3, 100) (re_fallback_pix when absent); e = (1-ab)/(1+ab),
 *     |ee| = -ln(1-e), ee1 = |ee| cos(-2 phi), ee2 = |ee| sin(-2 phi),
 *     logre = ln re.  Filled for every kind (the engine ignores it for
 *     stars); sersic_n = patch_run.sersic_n_init.
 *   - pos_err: POS_ERR when finite and > 0, else NAN (no prior, §10.1).
 *   - flux_cat[b]: FLUX_<band> when finite and > 0, else NAN (§10.4);
 *     the column is looked up case-insensitively.
 *
 * Errors: PP_EIO when the file cannot be read at all (missing,
 * permissions); PP_EDATA for anything missing or wrong inside it, naming
 * file, HDU and key ("'p.fits': HDU SCI/2: key 'SKYSIGS': found '-1',
 * expected a finite number > 0"), for a file that is not FITS, a
 * truncated or corrupted one (any cfitsio read error after opening), and
 * for a PPFMT other than 'patchphot-payload/1'.  Config keys are not checked
 * here (pp_config_load did).  Nothing is printed but the WARNINGs above.
 *
 * Ownership: fit_payload_read() fills a caller-owned struct (start from
 * FIT_PAYLOAD_INIT); fit_payload_release() frees its contents.
 */
#ifndef FIT_PAYLOAD_H
#define FIT_PAYLOAD_H

#include "pp_config.h"
#include "pp_error.h"
#include "pp_table.h"
#include "pp_wcs.h"

/* The payload format this reader takes (SPEC §9.3). */
#define FIT_PAYLOAD_FORMAT "patchphot-payload/1"

/* MASK bits (SPEC §9.3). */
#define FIT_MASK_NONFINITE 1
#define FIT_MASK_SATURATED 2
#define FIT_MASK_BRIGHT 4

/* Initial-shape rules of SPEC §10.2. */
#define FIT_INIT_AB_MIN 0.1
#define FIT_INIT_AB_DEFAULT 0.8
#define FIT_INIT_RE_MIN 0.3
#define FIT_INIT_RE_MAX 100.0

#define FIT_TAG_MAX 72              /* a FITS string value fits */

typedef struct {
    char name[FIT_TAG_MAX];         /* BAND */
    double scale;                   /* SCALE: scaled = raw x scale, > 0 */
    double skysigs;                 /* SKYSIGS: sky sigma, scaled, > 0 */
    double egain;                   /* EGAIN, e-/ADU, > 0 */
    double saturate;                /* SATURATE, ADU; NAN when undefined */
    double fwhm_pix;                /* FWHMPIX; NAN when undefined */
    char fwhm_source[FIT_TAG_MAX];  /* FWHMSRC ("" when absent) */
    float *sci;                     /* width x height, scaled, NaN kept */
    unsigned char *mask;            /* width x height, FIT_MASK_* bits */
} fit_payload_band;

typedef struct {
    int kind;                       /* FIT_PROFILE_POINT/EXP/DEV/SERSIC */
    double x_white, y_white;        /* working frame, pixels */
    double x_patch, y_patch;        /* patch (ROI) frame = white - R*0 */
    int is_halo, is_edge;           /* SPEC §9.2 */
    double logre, ee1, ee2;         /* initial shape, SPEC §10.2 */
    double sersic_n;                /* patch_run.sersic_n_init */
    double pos_err;                 /* px, finite > 0, or NAN */
} fit_payload_src;

typedef struct {
    char path[PATH_MAX];            /* the file read */
    char patch_tag[FIT_TAG_MAX];    /* PATCHTAG */
    char epsf_tag[FIT_TAG_MAX];     /* EPSFTAG */
    long epsf_r, epsf_c, patch_r, patch_c;
    long halo_pix;                  /* HALOPIX */
    long bx0, bx1, by0, by1;        /* base box, working frame */
    long rx0, rx1, ry0, ry1;        /* ROI box, working frame */
    long width, height;             /* ROI size */
    double zp_ref;                  /* ZPREF */
    long crop_x0, crop_y0;          /* CROPX0, CROPY0 */
    pp_wcs wcs;                     /* ROI-frame WCS */
    int nbands;
    fit_payload_band *bands;        /* nbands, band order */
    long nsrc;                      /* n_base + n_halo + n_edge */
    long n_base, n_halo, n_edge;
    fit_payload_src *src;           /* nsrc */
    double *flux_cat;               /* nsrc x nbands: [s * nbands + b] */
    pp_table cat;                   /* catalogue cells, nsrc rows */
} fit_payload;

#define FIT_PAYLOAD_INIT { .wcs = PP_WCS_INIT, .cat = PP_TABLE_INIT }

/* Read the payload at path into *p (overwritten; start from
 * FIT_PAYLOAD_INIT) and parse the per-source inputs with
 * cfg->patch_run.gal_model, re_fallback_pix and sersic_n_init.  Errors as
 * above; on failure *p is released (FIT_PAYLOAD_INIT). */
int fit_payload_read(const char *path, const pp_config *cfg, fit_payload *p,
                     pp_error *err);

/* Free everything p holds and reset it to FIT_PAYLOAD_INIT; safe twice. */
void fit_payload_release(fit_payload *p);

/* FIT_PROFILE_* kind of a TYPE cell (SPEC §5.1): see above.  gal_model
 * is patch_run.gal_model ("exp", "dev", "sersic" or "star"). */
int fit_payload_type_kind(const char *type_cell, const char *gal_model);

/* The "stype_fit" name of a kind: "star", "exp", "dev", "sersic" (and
 * "gauss"); "" for an unknown kind. */
const char *fit_payload_kind_name(int kind);

/* The initial shape of SPEC §10.2 from ELL, THETA, Re (NAN = absent);
 * OUTPUT logre, ee1, ee2. */
void fit_payload_init_shape(double ell, double theta_deg, double re_pix,
                            double re_fallback_pix, double *logre,
                            double *ee1, double *ee2);

#endif /* FIT_PAYLOAD_H */
