/* pp_frames.c - frames.json (see pp_frames.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pp_frames.h"
#include "pp_json.h"
#include "pp_mem.h"

static json_t *band_to_json(const pp_frame_band *b)
{
    json_t *o = json_object();

    json_object_set_new(o, "band", json_string(b->band));
    json_object_set_new(o, "path", json_string(b->path));
    json_object_set_new(o, "hdu", json_integer(b->hdu));
    json_object_set_new(o, "zp_auto", pp_json_real(b->zp_auto));
    json_object_set_new(o, "scale", pp_json_real(b->scale));
    json_object_set_new(o, "skysig", pp_json_real(b->skysig));
    json_object_set_new(o, "sky_sigma_scaled",
                        pp_json_real(b->sky_sigma_scaled));
    json_object_set_new(o, "egain", pp_json_real(b->egain));
    json_object_set_new(o, "saturate", pp_json_real(b->saturate));
    json_object_set_new(o, "fwhm_pix", pp_json_real(b->fwhm_pix));
    json_object_set_new(o, "fwhm_source", b->fwhm_source[0]
                        ? json_string(b->fwhm_source) : json_null());
    json_object_set_new(o, "pixel_scale_arcsec",
                        pp_json_real(b->pixel_scale_arcsec));
    return o;
}

int pp_frames_write(const char *path, const pp_frames *f, pp_error *err)
{
    json_t *root = json_object(), *full = json_object(),
           *crop = json_object(), *work = json_object(),
           *bands = json_array();
    int rc;

    json_object_set_new(root, "format", json_string(PP_FRAMES_FORMAT));
    json_object_set_new(root, "zp_ref", pp_json_real(f->zp_ref));
    json_object_set_new(full, "width", json_integer(f->full_w));
    json_object_set_new(full, "height", json_integer(f->full_h));
    json_object_set_new(root, "full", full);
    json_object_set_new(crop, "enabled", json_boolean(f->crop_enabled));
    json_object_set_new(crop, "x0", json_integer(f->x0));
    json_object_set_new(crop, "x1", json_integer(f->x1));
    json_object_set_new(crop, "y0", json_integer(f->y0));
    json_object_set_new(crop, "y1", json_integer(f->y1));
    json_object_set_new(root, "crop", crop);
    json_object_set_new(work, "width", json_integer(f->work_w));
    json_object_set_new(work, "height", json_integer(f->work_h));
    json_object_set_new(root, "work", work);
    for (int i = 0; i < f->nbands; ++i)
        json_array_append_new(bands, band_to_json(&f->bands[i]));
    json_object_set_new(root, "bands", bands);
    rc = pp_json_write(path, root, err);
    json_decref(root);
    return rc;
}

/* A number that may be null (NAN). */
static int get_optional(const json_t *o, const char *key, const char *ctx,
                        double *out, pp_error *err)
{
    const json_t *v = json_object_get(o, key);

    if (v && json_is_null(v)) {
        *out = NAN;
        return PP_OK;
    }
    return pp_json_get_number(o, key, ctx, out, err);
}

static int read_band(const json_t *o, const char *ctx, pp_frame_band *b,
                     pp_error *err)
{
    const char *s;
    const json_t *src;
    long hdu;

    if (pp_json_get_string(o, "band", ctx, &s, err) != PP_OK)
        return err->code;
    b->band = pp_xstrdup(s);
    if (pp_json_get_string(o, "path", ctx, &s, err) != PP_OK ||
        pp_json_get_int(o, "hdu", ctx, &hdu, err) != PP_OK ||
        pp_json_get_number(o, "zp_auto", ctx, &b->zp_auto, err) != PP_OK ||
        pp_json_get_number(o, "scale", ctx, &b->scale, err) != PP_OK ||
        pp_json_get_number(o, "skysig", ctx, &b->skysig, err) != PP_OK ||
        pp_json_get_number(o, "sky_sigma_scaled", ctx, &b->sky_sigma_scaled,
                           err) != PP_OK ||
        pp_json_get_number(o, "egain", ctx, &b->egain, err) != PP_OK ||
        get_optional(o, "saturate", ctx, &b->saturate, err) != PP_OK ||
        get_optional(o, "fwhm_pix", ctx, &b->fwhm_pix, err) != PP_OK ||
        pp_json_get_number(o, "pixel_scale_arcsec", ctx,
                           &b->pixel_scale_arcsec, err) != PP_OK)
        return err->code;
    b->path = pp_xstrdup(s);
    b->hdu = (int)hdu;
    src = json_object_get(o, "fwhm_source");
    if (src && json_is_string(src))
        snprintf(b->fwhm_source, sizeof b->fwhm_source, "%s",
                 json_string_value(src));
    return PP_OK;
}

static int read_geometry(const json_t *root, const char *path, pp_frames *f,
                         pp_error *err)
{
    const json_t *full = json_object_get(root, "full"),
                 *crop = json_object_get(root, "crop"),
                 *work = json_object_get(root, "work");
    int enabled;

    if (!json_is_object(full) || !json_is_object(crop) ||
        !json_is_object(work))
        return pp_error_set(err, PP_EDATA, "'%s': expected objects 'full', "
                            "'crop' and 'work'", path);
    if (pp_json_get_number(root, "zp_ref", path, &f->zp_ref, err) ||
        pp_json_get_int(full, "width", path, &f->full_w, err) ||
        pp_json_get_int(full, "height", path, &f->full_h, err) ||
        pp_json_get_bool(crop, "enabled", path, &enabled, err) ||
        pp_json_get_int(crop, "x0", path, &f->x0, err) ||
        pp_json_get_int(crop, "x1", path, &f->x1, err) ||
        pp_json_get_int(crop, "y0", path, &f->y0, err) ||
        pp_json_get_int(crop, "y1", path, &f->y1, err) ||
        pp_json_get_int(work, "width", path, &f->work_w, err) ||
        pp_json_get_int(work, "height", path, &f->work_h, err))
        return err->code;
    f->crop_enabled = enabled;
    return PP_OK;
}

int pp_frames_read(const char *path, pp_frames *f, pp_error *err)
{
    json_t *root = NULL;
    const json_t *bands, *fmt;
    int rc;

    memset(f, 0, sizeof *f);
    if (pp_json_read(path, &root, err) != PP_OK)
        return err->code;
    fmt = json_object_get(root, "format");
    if (!json_is_string(fmt) ||
        strcmp(json_string_value(fmt), PP_FRAMES_FORMAT) != 0) {
        rc = pp_error_set(err, PP_EDATA, "'%s': key 'format': expected "
                          "'%s'", path, PP_FRAMES_FORMAT);
        goto out;
    }
    if ((rc = read_geometry(root, path, f, err)) != PP_OK)
        goto out;
    bands = json_object_get(root, "bands");
    if (!json_is_array(bands) || json_array_size(bands) == 0) {
        rc = pp_error_set(err, PP_EDATA, "'%s': key 'bands': expected a "
                          "non-empty array", path);
        goto out;
    }
    f->nbands = (int)json_array_size(bands);
    f->bands = pp_xcalloc((size_t)f->nbands, sizeof *f->bands);
    for (int i = 0; i < f->nbands; ++i) {
        char ctx[PATH_MAX + 32];
        snprintf(ctx, sizeof ctx, "%s: bands[%d]", path, i);
        if ((rc = read_band(json_array_get(bands, (size_t)i), ctx,
                            &f->bands[i], err)) != PP_OK)
            goto out;
    }
out:
    json_decref(root);
    if (rc != PP_OK)
        pp_frames_release(f);
    return rc;
}

int pp_frames_find_band(const pp_frames *f, const char *band)
{
    for (int i = 0; i < f->nbands; ++i)
        if (strcmp(f->bands[i].band, band) == 0)
            return i;
    return -1;
}

void pp_frames_release(pp_frames *f)
{
    for (int i = 0; f->bands && i < f->nbands; ++i) {
        free(f->bands[i].band);
        free(f->bands[i].path);
    }
    free(f->bands);
    memset(f, 0, sizeof *f);
}
