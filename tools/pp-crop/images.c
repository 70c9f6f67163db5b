/* images.c - the image list and the FITS headers (SPEC §5.2, §5.3, §6.1
 * step 1).  Every header problem is collected, so a user fixing a list of
 * 40 images sees all of them in one run. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fitsio.h>

#include "pp_cli.h"
#include "pp_fits.h"
#include "pp_io.h"
#include "pp_log.h"
#include "pp_mem.h"

#include "crop.h"

/* The problems found so far, one per line. */
typedef struct {
    char text[PP_ERROR_MSG_MAX];
    int count;
} problems;

static void problem(problems *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(problems *p, const char *fmt, ...)
{
    size_t n = strlen(p->text);
    va_list ap;

    if (++p->count > 20)
        return;                 /* the message stays readable */
    if (n + 4 >= sizeof p->text)
        return;
    if (n)
        n += (size_t)snprintf(p->text + n, sizeof p->text - n, "\n  ");
    va_start(ap, fmt);
    vsnprintf(p->text + n, sizeof p->text - n, fmt, ap);
    va_end(ap);
}

/* Strip leading and trailing white space in place. */
static char *strip(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        ++s;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* SPEC §5.2: one path per line, '#' comments and blank lines ignored,
 * relative paths relative to the config file's directory. */
static int read_list(const pp_config *cfg, pp_strlist *paths,
                     pp_strlist *shown, pp_error *err)
{
    const char *list = cfg->inputs.image_list_file;
    char *text = NULL, *line, *save = NULL;

    if (pp_io_read_file(list, &text, NULL, err) != PP_OK)
        return pp_error_prefix(err, "image list (inputs.image_list_file): ");
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *s = strip(line);
        if (*s == '\0' || *s == '#')
            continue;
        paths->items = pp_xrealloc(paths->items, sizeof(char *) *
                                   (size_t)(paths->n + 1));
        shown->items = pp_xrealloc(shown->items, sizeof(char *) *
                                   (size_t)(shown->n + 1));
        char *joined = pp_io_path_join(cfg->config_dir, s);
        paths->items[paths->n++] = pp_io_abspath(joined);
        shown->items[shown->n++] = pp_xstrdup(s);
        free(joined);
    }
    free(text);
    if (paths->n == 0)
        return pp_error_set(err, PP_EDATA, "image list '%s' "
                            "(inputs.image_list_file) has no images: "
                            "expected one FITS path per line", list);
    return PP_OK;
}

/* A required positive or finite number; found: 0 absent, 1 ok, 2 bad. */
static void need_number(fitsfile *fp, const char *shown, const char *key,
                        int positive, double *out, problems *p)
{
    pp_error e = PP_ERROR_INIT;
    char text[FLEN_VALUE] = "";
    int found = 0;

    if (pp_fits_read_key_double(fp, key, out, &found, &e) != PP_OK) {
        problem(p, "'%s': keyword %s: %s", shown, key, e.msg);
        return;
    }
    if (found == 0) {
        problem(p, "'%s': missing keyword %s (expected a %s number)", shown,
                key, positive ? "finite positive" : "finite");
        return;
    }
    if (found == 2 || !isfinite(*out) || (positive && *out <= 0)) {
        pp_fits_read_key_text(fp, key, text, sizeof text, &e);
        problem(p, "'%s': keyword %s: found %s, expected a %s number",
                shown, key, text[0] ? text : "an invalid value",
                positive ? "finite positive" : "finite");
        *out = NAN;
    }
}

/* An optional positive number: NAN when absent or invalid. */
static double optional_number(fitsfile *fp, const char *key)
{
    pp_error e = PP_ERROR_INIT;
    double v = NAN;
    int found = 0;

    if (pp_fits_read_key_double(fp, key, &v, &found, &e) != PP_OK ||
        found != 1 || !isfinite(v) || v <= 0)
        return NAN;
    return v;
}

/* SPEC §8.2, §10.3: one FWHM rule - PEEING, else SEEING in arcsec. */
static void set_fwhm(pp_frame_band *b, fitsfile *fp)
{
    double peeing = optional_number(fp, "PEEING");
    double seeing = optional_number(fp, "SEEING");

    b->fwhm_pix = NAN;
    b->fwhm_source[0] = '\0';
    if (isfinite(peeing)) {
        b->fwhm_pix = peeing;
        strcpy(b->fwhm_source, "PEEING");
    } else if (isfinite(seeing) && b->pixel_scale_arcsec > 0) {
        b->fwhm_pix = seeing / b->pixel_scale_arcsec;
        strcpy(b->fwhm_source, "SEEING");
    }
}

/* Read one image's header into band i; problems are collected. */
static void read_header(const pp_config *cfg, crop_images *im, int i,
                        problems *p)
{
    pp_frame_band *b = &im->frames.bands[i];
    const char *shown = im->display[i];
    pp_error e = PP_ERROR_INIT;
    char filter[FLEN_VALUE] = "";
    fitsfile *fp = NULL;
    int hdu = 0, found = 0;

    if (pp_fits_open_image(b->path, &fp, &hdu, &e) != PP_OK) {
        problem(p, "%s", e.msg);
        return;
    }
    b->hdu = hdu - 1;
    if (pp_fits_image_size(fp, &im->width[i], &im->height[i], &e) != PP_OK)
        problem(p, "%s", e.msg);
    if (pp_fits_read_key_string(fp, "FILTER", filter, sizeof filter, &found,
                                &e) != PP_OK || !found ||
        *strip(filter) == '\0')
        problem(p, "'%s': missing or empty keyword FILTER (expected the "
                "band name)", shown);
    b->band = pp_xstrdup(strip(filter));
    need_number(fp, shown, "ZP_AUTO", 0, &b->zp_auto, p);
    need_number(fp, shown, "SKYSIG", 1, &b->skysig, p);
    need_number(fp, shown, "EGAIN", 1, &b->egain, p);
    b->saturate = optional_number(fp, "SATURATE");
    if (!isfinite(b->saturate))
        pp_log(PP_LOG_WARNING, "'%s': no valid SATURATE keyword: no "
               "saturation mask for band '%s'", shown, b->band);
    b->scale = pow(10.0, -0.4 * (b->zp_auto - cfg->image_scaling.zp_ref));
    b->sky_sigma_scaled = b->skysig * b->scale;
    if (pp_wcs_from_fits(fp, shown, &im->wcs[i], &e) != PP_OK)
        problem(p, "%s", e.msg);
    else
        b->pixel_scale_arcsec = pp_wcs_pixel_scale_arcsec(&im->wcs[i]);
    set_fwhm(b, fp);
    int status = 0;
    fits_close_file(fp, &status);
}

/* Duplicate bands, shapes and WCS alignment against the first image. */
static void cross_check(const pp_config *cfg, crop_images *im, problems *p)
{
    const pp_frames *f = &im->frames;
    char why[512];

    for (int i = 1; i < f->nbands; ++i) {
        for (int j = 0; j < i; ++j)
            if (f->bands[i].band[0] &&
                strcmp(f->bands[i].band, f->bands[j].band) == 0)
                problem(p, "'%s' and '%s' have the same FILTER '%s' (each "
                        "band must appear once)", im->display[j],
                        im->display[i], f->bands[i].band);
        if (cfg->checks.require_same_shape &&
            (im->width[i] != im->width[0] || im->height[i] != im->height[0]))
            problem(p, "'%s' is %ldx%ld but '%s' is %ldx%ld "
                    "(checks.require_same_shape)", im->display[i],
                    im->width[i], im->height[i], im->display[0],
                    im->width[0], im->height[0]);
        if (cfg->checks.require_wcs_alignment && im->wcs[i].wcs &&
            im->wcs[0].wcs &&
            pp_wcs_compare(&im->wcs[0], &im->wcs[i],
                           cfg->checks.wcs_tolerance.crval,
                           cfg->checks.wcs_tolerance.crpix,
                           cfg->checks.wcs_tolerance.cd,
                           cfg->checks.wcs_tolerance.cdelt, why,
                           sizeof why) != 0)
            problem(p, "WCS of '%s' differs from '%s': %s "
                    "(checks.require_wcs_alignment, checks.wcs_tolerance)",
                    im->display[i], im->display[0], why);
    }
}

int crop_images_load(const pp_config *cfg, crop_images *im, pp_error *err)
{
    pp_strlist paths = { 0 }, shown = { 0 };
    problems p = { "", 0 };
    int n;

    memset(im, 0, sizeof *im);
    if (read_list(cfg, &paths, &shown, err) != PP_OK)
        goto out;
    n = paths.n;
    im->frames.nbands = n;
    im->frames.bands = pp_xcalloc((size_t)n, sizeof *im->frames.bands);
    im->wcs = pp_xcalloc((size_t)n, sizeof *im->wcs);
    im->width = pp_xcalloc((size_t)n, sizeof *im->width);
    im->height = pp_xcalloc((size_t)n, sizeof *im->height);
    im->display = shown.items;
    shown.items = NULL;
    for (int i = 0; i < n; ++i) {
        im->frames.bands[i].path = paths.items[i];
        paths.items[i] = NULL;
        read_header(cfg, im, i, &p);
    }
    if (p.count == 0)
        cross_check(cfg, im, &p);
    if (p.count == 1) {
        pp_error_set(err, PP_EDATA, "%s", p.text);
        goto out;
    } else if (p.count > 1) {
        pp_error_set(err, PP_EDATA, "%d problems with the images of '%s':"
                     "\n  %s%s", p.count, cfg->inputs.image_list_file,
                     p.text, p.count > 20 ? "\n  ..." : "");
        goto out;
    }
    im->frames.zp_ref = cfg->image_scaling.zp_ref;
    im->frames.full_w = im->width[0];
    im->frames.full_h = im->height[0];
out:
    for (int i = 0; i < paths.n; ++i)
        free(paths.items[i]);
    free(paths.items);
    for (int i = 0; shown.items && i < shown.n; ++i)
        free(shown.items[i]);
    free(shown.items);
    return err->code;
}

void crop_images_release(crop_images *im)
{
    int n = im->frames.nbands;

    for (int i = 0; im->wcs && i < n; ++i)
        pp_wcs_release(&im->wcs[i]);
    for (int i = 0; im->display && i < n; ++i)
        free(im->display[i]);
    free(im->wcs);
    free(im->width);
    free(im->height);
    free(im->display);
    pp_frames_release(&im->frames);
}
