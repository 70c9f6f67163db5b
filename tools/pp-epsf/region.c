/* region.c - a cell's pixels, background and detections (SPEC §8.2 steps
 * 1–2); see region.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pp_fits.h"
#include "pp_log.h"
#include "pp_mem.h"

#include "region.h"
#include "stats.h"

/* SPEC §8.2 step 2: SEP's deblending and cleaning defaults. */
#define DEBLEND_NTHRESH 32
#define DEBLEND_CONT 0.005
#define CLEAN_PARAM 1.0

/* SEP's default 3 × 3 filter (SPEC §8.2 step 2). */
static const float sep_default_conv[9] = { 1, 2, 1, 2, 4, 2, 1, 2, 1 };

int epsf_region_read(const pp_frames *f, int b, long cx0, long cx1,
                     long cy0, long cy1, long margin, epsf_region *r,
                     pp_error *err)
{
    const pp_frame_band *band = &f->bands[b];
    long fx0 = cx0 + f->x0 - margin, fx1 = cx1 + f->x0 + margin;
    long fy0 = cy0 + f->y0 - margin, fy1 = cy1 + f->y0 + margin;
    double half_sat = band->saturate / 2.0;
    fitsfile *fp = NULL;
    size_t n;

    memset(r, 0, sizeof *r);
    /* Clip to the full image: the margin may use the crop margin. */
    fx0 = fx0 < 0 ? 0 : fx0;
    fy0 = fy0 < 0 ? 0 : fy0;
    fx1 = fx1 > f->full_w ? f->full_w : fx1;
    fy1 = fy1 > f->full_h ? f->full_h : fy1;
    r->x0 = fx0 - f->x0;
    r->y0 = fy0 - f->y0;
    r->w = (int)(fx1 - fx0);
    r->h = (int)(fy1 - fy0);
    n = (size_t)r->w * r->h;
    r->raw = pp_malloc_checked(n, sizeof(float), "a cell image", err);
    r->img = r->raw ? pp_malloc_checked(n, sizeof(float), "a cell image",
                                        err) : NULL;
    r->bad = r->img ? pp_malloc_checked(n, 1, "a cell mask", err) : NULL;
    if (!r->bad)
        return err->code;
    if (pp_fits_open_hdu(band->path, band->hdu, &fp, err) == PP_OK)
        pp_fits_read_subset(fp, fx0, fx1, fy0, fy1, r->raw, err);
    pp_fits_close(fp);
    if (err->code)
        return err->code;
    /* SPEC §5.3: bad = nonfinite | raw >= SATURATE/2; scaled = raw·scale. */
    for (size_t i = 0; i < n; i++) {
        double raw = r->raw[i];
        r->bad[i] = !isfinite(raw) ||
                    (!isnan(half_sat) && raw >= half_sat);
        r->img[i] = isfinite(raw) ? (float)(raw * band->scale) : 0.0f;
    }
    return PP_OK;
}

/* Grow the mask by one pixel in its 3 × 3 neighbourhood. */
static void dilate(unsigned char *m, int w, int h, unsigned char *tmp)
{
    memcpy(tmp, m, (size_t)w * h);
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            if (!tmp[(size_t)j * w + i])
                continue;
            for (int v = j - 1; v <= j + 1; v++)
                for (int u = i - 1; u <= i + 1; u++)
                    if (u >= 0 && u < w && v >= 0 && v < h)
                        m[(size_t)v * w + u] = 1;
        }
}

static double mean_of(const float *a, size_t n)
{
    double s = 0;

    for (size_t i = 0; i < n; i++)
        s += a[i];
    return n ? s / (double)n : NAN;
}

static double median_of(const float *a, size_t n)
{
    double *v = pp_xmalloc(sizeof(double) * (n + 1)), m;

    for (size_t i = 0; i < n; i++)
        v[i] = a[i];
    m = epsf_median(v, (long)n);
    free(v);
    return m;
}

/* The source mask of step 1 joined with the bad mask: good pixels above
 * median + k·σ, dilated.  OUTPUT m (w·h); returns the masked count. */
static size_t source_mask(const pp_config *cfg, double sky_sigma,
                          const epsf_region *r, unsigned char *m)
{
    size_t n = (size_t)r->w * r->h, ng = 0, nm = 0;
    double *v = pp_xmalloc(sizeof(double) * (n + 1)), med, cut;
    unsigned char *tmp = pp_xmalloc(n + 1);

    for (size_t i = 0; i < n; i++)
        if (!r->bad[i])
            v[ng++] = r->img[i];
    med = epsf_median(v, (long)ng);
    cut = med + cfg->epsf.background_source_mask_sigma * sky_sigma;
    for (size_t i = 0; i < n; i++)
        m[i] = !r->bad[i] && r->img[i] > cut;
    for (long k = 0; k < cfg->epsf.background_mask_dilate; k++)
        dilate(m, r->w, r->h, tmp);
    for (size_t i = 0; i < n; i++) {
        m[i] = m[i] || r->bad[i];
        nm += m[i];
    }
    free(v);
    free(tmp);
    return nm;
}

void epsf_region_background(const pp_config *cfg, double sky_sigma,
                            epsf_region *r)
{
    size_t n = (size_t)r->w * r->h;
    unsigned char *m;
    sep_image s;
    sep_bkg *bkg = NULL;
    float *rms;
    int status;
    char msg[128];

    r->bkg_median = r->bkg_mean = r->bkg_rms_median = r->bkg_rms_mean =
        r->bkg_masked_frac = NAN;
    if (!cfg->epsf.background_subtract_patch) {
        strcpy(r->bkg_status, "disabled");
        return;
    }
    m = pp_xmalloc(n + 1);
    r->bkg_masked_frac = (double)source_mask(cfg, sky_sigma, r, m) /
                         (double)n;
    s = epsf_region_sep_image(r, sky_sigma, 0.0);
    s.mask = m;
    s.mdtype = SEP_TBYTE;
    status = sep_background(&s, (int)cfg->epsf.background_boxsize,
                            (int)cfg->epsf.background_boxsize,
                            (int)cfg->epsf.background_filtersize,
                            (int)cfg->epsf.background_filtersize, 0.0,
                            &bkg);
    r->bkg = status ? NULL : pp_xmalloc(sizeof(float) * n);
    rms = status ? NULL : pp_xmalloc(sizeof(float) * n);
    if (!status)
        status = sep_bkg_array(bkg, r->bkg, SEP_TFLOAT);
    if (!status)
        status = sep_bkg_rmsarray(bkg, rms, SEP_TFLOAT);
    if (status) {
        sep_get_errmsg(status, msg);
        pp_log(PP_LOG_WARNING, "SEP background failed (%s): the cell is "
               "not background subtracted (epsf.background_boxsize, "
               "epsf.background_filtersize)", msg);
        strcpy(r->bkg_status, "error");
        free(r->bkg);
        r->bkg = NULL;
    } else {
        for (size_t i = 0; i < n; i++)
            r->img[i] -= r->bkg[i];
        strcpy(r->bkg_status, "ok");
        r->bkg_median = median_of(r->bkg, n);
        r->bkg_mean = mean_of(r->bkg, n);
        r->bkg_rms_median = median_of(rms, n);
        r->bkg_rms_mean = mean_of(rms, n);
    }
    sep_bkg_free(bkg);
    free(rms);
    free(m);
}

sep_image epsf_region_sep_image(const epsf_region *r, double sky_sigma,
                                double gain)
{
    sep_image s;

    memset(&s, 0, sizeof s);
    s.data = r->img;
    s.dtype = SEP_TFLOAT;
    s.mask = r->bad;
    s.mdtype = SEP_TBYTE;
    s.w = r->w;
    s.h = r->h;
    s.noiseval = sky_sigma;
    s.noise_type = SEP_NOISE_STDDEV;
    s.gain = gain;
    s.maskthresh = 0.0;
    return s;
}

int epsf_region_detect(const pp_config *cfg, double sky_sigma,
                       epsf_region *r, pp_error *err)
{
    size_t n = (size_t)r->w * r->h;
    float *noise = pp_malloc_checked(n, sizeof(float), "a noise map", err);
    sep_image s = epsf_region_sep_image(r, sky_sigma, 0.0);
    char msg[128];
    int status;

    if (!noise)
        return err->code;
    /* SPEC §8.2 step 2: the sky-σ noise array (the matched filter needs
     * a per-pixel noise). */
    for (size_t i = 0; i < n; i++)
        noise[i] = (float)sky_sigma;
    /* No mask: a saturated star must be detected so that the raw-pixel
     * tests of step 3 can reject it by name (masked, its core would
     * vanish and the reference's tests never fire). */
    s.mask = NULL;
    s.noise = noise;
    s.ndtype = SEP_TFLOAT;
    status = sep_extract(&s, (float)cfg->epsf.thresh_sigma, SEP_THRESH_REL,
                         (int)cfg->epsf.minarea, sep_default_conv, 3, 3,
                         SEP_FILTER_MATCHED, DEBLEND_NTHRESH, DEBLEND_CONT,
                         1, CLEAN_PARAM, &r->cat);
    free(noise);
    if (status) {
        sep_get_errmsg(status, msg);
        return pp_error_set(err, PP_EDATA, "SEP extraction failed: %s "
                            "(epsf.thresh_sigma, epsf.minarea)", msg);
    }
    r->seg = pp_xcalloc(n + 1, sizeof(int));
    for (int k = 0; k < r->cat->nobj; k++)
        for (int p = 0; p < r->cat->npix[k]; p++)
            r->seg[r->cat->pix[k][p]] = k + 1;
    return PP_OK;
}

void epsf_region_release(epsf_region *r)
{
    free(r->raw);
    free(r->img);
    free(r->bkg);
    free(r->bad);
    free(r->seg);
    if (r->cat)
        sep_catalog_free(r->cat);
    memset(r, 0, sizeof *r);
}
