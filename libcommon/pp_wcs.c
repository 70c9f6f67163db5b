/* pp_wcs.c - world coordinates of an image (pp_wcs.h). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fitsio.h>
#include <wcslib/wcs.h>
#include <wcslib/wcserr.h>
#include <wcslib/wcsfix.h>
#include <wcslib/wcshdr.h>

#include "pp_log.h"
#include "pp_mem.h"
#include "pp_wcs.h"

/* Points transformed per wcslib call by the array functions: bounded
 * stack buffers, no allocation. */
#define CHUNK 256

/* FITS header cards are 80 characters. */
#define CARD 80

/* wcslib's message for a struct whose call failed, else its status text. */
static const char *wcs_message(const struct wcsprm *wcs, int status)
{
    if (wcs && wcs->err && wcs->err->msg[0])
        return wcs->err->msg;
    /* wcs_errmsg[] covers the statuses 0..WCSERR_UNSET. */
    if (status > 0 && status <= WCSERR_UNSET)
        return wcs_errmsg[status];
    return "wcslib error";
}

/* Copy the primary WCS out of wcspih's array into a new struct, then fix
 * and set it up.  Returns 0 or fills why. */
static int take_primary(struct wcsprm *all, int nwcs, struct wcsprm **out,
                        char *why, size_t nwhy)
{
    struct wcsprm *wcs;
    int alts[27], stat[NWCSFIX], status;

    *out = NULL;
    if (nwcs < 1 || wcsidx(nwcs, &all, alts) != 0 || alts[0] < 0) {
        snprintf(why, nwhy, "no primary WCS keywords");
        return 1;
    }
    wcs = pp_xcalloc(1, sizeof *wcs);
    wcs->flag = -1;                 /* wcssub: initialise, don't free */
    if ((status = wcssub(1, &all[alts[0]], NULL, NULL, wcs)) != 0) {
        snprintf(why, nwhy, "%s", wcs_message(wcs, status));
        goto fail;
    }
    /* wcsfix only translates non-standard forms (units, dates, CD with
     * an all-zero row); its failures leave the struct usable, and wcsset
     * below is the real test. */
    if (wcsfix(1, NULL, wcs, stat) != 0)
        pp_log(PP_LOG_DEBUG, "wcsfix: %s", wcs_message(wcs, 0));
    if ((status = wcsset(wcs)) != 0) {
        snprintf(why, nwhy, "%s (CTYPE1 '%s', CTYPE2 '%s')",
                 wcs_message(wcs, status), wcs->naxis > 0 ? wcs->ctype[0]
                 : "", wcs->naxis > 1 ? wcs->ctype[1] : "");
        goto fail;
    }
    if (wcs->lng < 0 || wcs->lat < 0) {
        snprintf(why, nwhy, "no celestial axes (CTYPE1 '%s', CTYPE2 '%s')",
                 wcs->naxis > 0 ? wcs->ctype[0] : "",
                 wcs->naxis > 1 ? wcs->ctype[1] : "");
        goto fail;
    }
    if (wcs->naxis > PP_WCS_MAXAXES) {
        snprintf(why, nwhy, "%d axes, at most %d supported", wcs->naxis,
                 PP_WCS_MAXAXES);
        goto fail;
    }
    *out = wcs;
    return 0;
fail:
    wcsfree(wcs);
    free(wcs);
    return 1;
}

int pp_wcs_from_fits(fitsfile *fp, const char *path_for_messages, pp_wcs *w,
                     pp_error *err)
{
    char *hdr = NULL, why[256], text[FLEN_STATUS];
    int status = 0, nkeys = 0, nreject = 0, nwcs = 0, rc = PP_OK;
    struct wcsprm *all = NULL;
    const char *path = path_for_messages;

    memset(w, 0, sizeof *w);
    /* One header string, COMMENT and HISTORY excluded; for a compressed
     * image cfitsio returns the image header. */
    if (fits_hdr2str(fp, 1, NULL, 0, &hdr, &nkeys, &status) != 0) {
        fits_get_errstatus(status, text);
        rc = pp_error_set(err, PP_EIO, "'%s': cannot read the header: %s",
                          path, text);
        goto out;
    }
    /* wcserr messages stay disabled (wcslib's default): wcslib 7.12
     * leaks a message each time it overwrites one, on every failed
     * projection; the status texts (wcs_errmsg) are enough. */
    status = wcspih(hdr, nkeys, WCSHDR_all, 0, &nreject, &nwcs, &all);
    if (status != 0) {
        rc = pp_error_set(err, PP_EDATA, "'%s': no valid WCS: %s", path,
                          wcshdr_errmsg[status]);
        goto out;
    }
    if (take_primary(all, nwcs, &w->wcs, why, sizeof why) != 0) {
        rc = pp_error_set(err, PP_EDATA, "'%s': no valid WCS: %s", path,
                          why);
        goto out;
    }
    w->nwcs = 1;
    w->nkeys = nkeys;
    w->header = pp_xstrndup(hdr, (size_t)nkeys * CARD);
out:
    if (all)
        wcsvfree(&nwcs, &all);
    if (hdr) {
        int st = 0;
        fits_free_memory(hdr, &st);
    }
    return rc;
}

int pp_wcs_copy(const pp_wcs *src, pp_wcs *dst, pp_error *err)
{
    char why[256];

    memset(dst, 0, sizeof *dst);
    if (take_primary(src->wcs, 1, &dst->wcs, why, sizeof why) != 0)
        return pp_error_set(err, PP_EINTERNAL, "cannot copy a WCS: %s",
                            why);
    dst->nwcs = 1;
    dst->nkeys = src->nkeys;
    dst->header = src->header ? pp_xstrndup(src->header,
                                            (size_t)src->nkeys * CARD)
                              : NULL;
    return PP_OK;
}

void pp_wcs_release(pp_wcs *w)
{
    if (w->wcs) {
        wcsfree(w->wcs);
        free(w->wcs);
    }
    free(w->header);
    memset(w, 0, sizeof *w);
}

/* ---- Transforms -------------------------------------------------------- */

/* Sky to pixel for up to CHUNK points; returns the number that failed. */
static long s2p_chunk(struct wcsprm *wcs, int n, const double *ra,
                      const double *dec, double *x, double *y)
{
    double world[CHUNK * PP_WCS_MAXAXES], img[CHUNK * PP_WCS_MAXAXES],
           pix[CHUNK * PP_WCS_MAXAXES], phi[CHUNK], theta[CHUNK];
    int stat[CHUNK], nax = wcs->naxis, status;
    long bad = 0;

    /* Degenerate axes sit at their reference value; a non-finite input
     * is replaced by CRVAL so that wcslib sees a valid point, and marked
     * bad afterwards. */
    if (n <= 0)
        return 0;
    for (int k = 0; k < n; ++k) {
        int ok = isfinite(ra[k]) && isfinite(dec[k]);
        for (int j = 0; j < nax; ++j)
            world[k * nax + j] = wcs->crval[j];
        world[k * nax + wcs->lng] = ok ? ra[k] : wcs->crval[wcs->lng];
        world[k * nax + wcs->lat] = ok ? dec[k] : wcs->crval[wcs->lat];
    }
    status = wcss2p(wcs, n, nax, world, phi, theta, img, pix, stat);
    for (int k = 0; k < n; ++k) {
        int ok = (status == 0 || (status == WCSERR_BAD_WORLD && !stat[k])) &&
                 isfinite(ra[k]) && isfinite(dec[k]);
        /* SPEC §3.1: ours = wcslib's pixcrd - 1. */
        x[k] = ok ? pix[k * nax] - 1.0 : NAN;
        y[k] = ok ? pix[k * nax + 1] - 1.0 : NAN;
        if (!isfinite(x[k]) || !isfinite(y[k])) {
            x[k] = y[k] = NAN;
            ++bad;
        }
    }
    return bad;
}

long pp_wcs_sky_to_pix_n(const pp_wcs *w, long n, const double *ra,
                         const double *dec, double *x, double *y)
{
    long bad = 0;

    for (long i = 0; i < n; i += CHUNK) {
        int m = (int)(n - i < CHUNK ? n - i : CHUNK);
        bad += s2p_chunk(w->wcs, m, ra + i, dec + i, x + i, y + i);
    }
    return bad;
}

/* Pixel to sky for up to CHUNK points; returns the number that failed. */
static long p2s_chunk(struct wcsprm *wcs, int n, const double *x,
                      const double *y, double *ra, double *dec)
{
    double world[CHUNK * PP_WCS_MAXAXES], img[CHUNK * PP_WCS_MAXAXES],
           pix[CHUNK * PP_WCS_MAXAXES], phi[CHUNK], theta[CHUNK];
    int stat[CHUNK], nax = wcs->naxis, status;
    long bad = 0;

    if (n <= 0)
        return 0;
    for (int k = 0; k < n; ++k) {
        int ok = isfinite(x[k]) && isfinite(y[k]);
        for (int j = 0; j < nax; ++j)
            pix[k * nax + j] = wcs->crpix[j];
        pix[k * nax] = ok ? x[k] + 1.0 : wcs->crpix[0];     /* SPEC §3.1 */
        pix[k * nax + 1] = ok ? y[k] + 1.0 : wcs->crpix[1];
    }
    status = wcsp2s(wcs, n, nax, pix, img, phi, theta, world, stat);
    for (int k = 0; k < n; ++k) {
        int ok = (status == 0 || (status == WCSERR_BAD_PIX && !stat[k])) &&
                 isfinite(x[k]) && isfinite(y[k]);
        double a = ok ? world[k * nax + wcs->lng] : NAN,
               d = ok ? world[k * nax + wcs->lat] : NAN;
        if (!isfinite(a) || !isfinite(d)) {
            ra[k] = dec[k] = NAN;
            ++bad;
            continue;
        }
        a = fmod(a, 360.0);
        if (a < 0.0)
            a += 360.0;
        ra[k] = a >= 360.0 ? 0.0 : a;
        dec[k] = d;
    }
    return bad;
}

long pp_wcs_pix_to_sky_n(const pp_wcs *w, long n, const double *x,
                         const double *y, double *ra, double *dec)
{
    long bad = 0;

    for (long i = 0; i < n; i += CHUNK) {
        int m = (int)(n - i < CHUNK ? n - i : CHUNK);
        bad += p2s_chunk(w->wcs, m, x + i, y + i, ra + i, dec + i);
    }
    return bad;
}

int pp_wcs_sky_to_pix(const pp_wcs *w, double ra, double dec, double *x,
                      double *y)
{
    return s2p_chunk(w->wcs, 1, &ra, &dec, x, y) != 0;
}

int pp_wcs_pix_to_sky(const pp_wcs *w, double x, double y, double *ra,
                      double *dec)
{
    return p2s_chunk(w->wcs, 1, &x, &y, ra, dec) != 0;
}

/* Element (i, j) of the linear matrix CDELT x PC (0-based); after wcsset
 * PC holds CD (with CDELT = 1) or the CROTA rotation as the header had. */
static double lin_elem(const struct wcsprm *wcs, int i, int j)
{
    return wcs->cdelt[i] * wcs->pc[i * wcs->naxis + j];
}

double pp_wcs_pixel_scale_arcsec(const pp_wcs *w)
{
    const struct wcsprm *wcs = w->wcs;
    int lng = wcs->lng, lat = wcs->lat;
    double det = lin_elem(wcs, lng, 0) * lin_elem(wcs, lat, 1) -
                 lin_elem(wcs, lng, 1) * lin_elem(wcs, lat, 0);

    return sqrt(fabs(det)) * 3600.0;
}

/* ---- Comparison -------------------------------------------------------- */

/* The shortest of %.15g, %.16g, %.17g that reads back as v. */
static void fmt_double(char *buf, size_t n, double v)
{
    for (int p = 15; p <= 17; ++p) {
        snprintf(buf, n, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* 1 and a message when |a - b| > tol (or either is NaN). */
static int differs(const char *key, double a, double b, double tol,
                   char *why, size_t nwhy)
{
    char sa[32], sb[32];

    if (fabs(a - b) <= tol)
        return 0;
    fmt_double(sa, sizeof sa, a);
    fmt_double(sb, sizeof sb, b);
    snprintf(why, nwhy, "%s differs: %s vs %s (tolerance %g)", key, sa, sb,
             tol);
    return 1;
}

/* 1 when the header gave CDi_j (and no PCi_j, which would win). */
static int uses_cd(const struct wcsprm *wcs)
{
    return (wcs->altlin & 2) && !(wcs->altlin & 1);
}

/* The linear parts: CDELT and PC when both use them, else CD. */
static int compare_linear(const struct wcsprm *a, const struct wcsprm *b,
                          double tol_cd, double tol_cdelt, char *why,
                          size_t nwhy)
{
    int nax = a->naxis, both_pc = !uses_cd(a) && !uses_cd(b);
    char key[32];

    for (int i = 0; i < nax; ++i) {
        snprintf(key, sizeof key, "CDELT%d", i + 1);
        if (both_pc && differs(key, a->cdelt[i], b->cdelt[i], tol_cdelt,
                               why, nwhy))
            return 1;
        for (int j = 0; j < nax; ++j) {
            snprintf(key, sizeof key, "%s%d_%d", both_pc ? "PC" : "CD",
                     i + 1, j + 1);
            if (both_pc ? differs(key, a->pc[i * nax + j],
                                  b->pc[i * nax + j], tol_cd, why, nwhy)
                        : differs(key, lin_elem(a, i, j), lin_elem(b, i, j),
                                  tol_cd, why, nwhy))
                return 1;
        }
    }
    return 0;
}

int pp_wcs_compare(const pp_wcs *a, const pp_wcs *b, double tol_crval,
                   double tol_crpix, double tol_cd, double tol_cdelt,
                   char *why, size_t nwhy)
{
    const struct wcsprm *wa = a->wcs, *wb = b->wcs;
    char key[32];

    if (wa->naxis != wb->naxis) {
        snprintf(why, nwhy, "WCSAXES differs: %d vs %d", wa->naxis,
                 wb->naxis);
        return 1;
    }
    for (int i = 0; i < wa->naxis; ++i)
        if (strcmp(wa->ctype[i], wb->ctype[i]) != 0) {
            snprintf(why, nwhy, "CTYPE%d differs: '%s' vs '%s'", i + 1,
                     wa->ctype[i], wb->ctype[i]);
            return 1;
        }
    for (int i = 0; i < wa->naxis; ++i) {
        snprintf(key, sizeof key, "CRVAL%d", i + 1);
        if (differs(key, wa->crval[i], wb->crval[i], tol_crval, why, nwhy))
            return 1;
    }
    for (int i = 0; i < wa->naxis; ++i) {
        snprintf(key, sizeof key, "CRPIX%d", i + 1);
        if (differs(key, wa->crpix[i], wb->crpix[i], tol_crpix, why, nwhy))
            return 1;
    }
    if (compare_linear(wa, wb, tol_cd, tol_cdelt, why, nwhy))
        return 1;
    if (nwhy > 0)
        why[0] = '\0';
    return 0;
}

/* ---- Writing ----------------------------------------------------------- */

/* 1 if s is one or more digits followed by the end. */
static int all_digits(const char *s)
{
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s))
        ++s;
    return *s == '\0';
}

/* 1 if s is "<digits>_<digits>". */
static int digits_pair(const char *s)
{
    if (!isdigit((unsigned char)*s))
        return 0;
    while (isdigit((unsigned char)*s))
        ++s;
    return *s == '_' && all_digits(s + 1);
}

/* 1 for the keys of the primary WCS (no alternate letter), SIP and the
 * distortion keys wcslib reads, and the dates of the observation. */
static int is_wcs_key(const char *key)
{
    static const char *const exact[] = {
        "WCSAXES", "WCSNAME", "LONPOLE", "LATPOLE", "RADESYS", "RADECSYS",
        "EQUINOX", "EPOCH", "MJD-OBS", "DATE-OBS", "MJDREF", "A_ORDER",
        "B_ORDER", "AP_ORDER", "BP_ORDER", "A_DMAX", "B_DMAX"
    };
    static const char *const axis[] = {     /* <root><digits> */
        "CTYPE", "CRVAL", "CRPIX", "CDELT", "CUNIT", "CROTA", "DP", "DQ",
        "CPDIS", "CQDIS", "CPERR", "CQERR"
    };
    static const char *const pair[] = {     /* <root><digits>_<digits> */
        "CD", "PC", "PV", "PS", "A_", "B_", "AP_", "BP_"
    };

    for (size_t i = 0; i < sizeof exact / sizeof *exact; ++i)
        if (strcmp(key, exact[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof axis / sizeof *axis; ++i) {
        size_t n = strlen(axis[i]);
        if (strncmp(key, axis[i], n) == 0 && all_digits(key + n))
            return 1;
    }
    for (size_t i = 0; i < sizeof pair / sizeof *pair; ++i) {
        size_t n = strlen(pair[i]);
        if (strncmp(key, pair[i], n) == 0 && digits_pair(key + n))
            return 1;
    }
    return 0;
}

/* The keyword name of an 80-character card (first 8 columns, trimmed). */
static void card_key(const char *card, char key[9])
{
    int n = 8;

    memcpy(key, card, 8);
    key[8] = '\0';
    while (n > 0 && key[n - 1] == ' ')
        key[--n] = '\0';
}

int pp_wcs_write_shifted(fitsfile *out, const pp_wcs *w, double dx,
                         double dy, pp_error *err)
{
    char card[CARD + 1], key[9], text[FLEN_STATUS], name[FLEN_FILENAME];
    int status = 0;

    /* Copy the cards as written (SIP and distortion keys included), so
     * that nothing is lost in a wcslib round trip; then the shifted
     * reference pixel, SPEC §3.1. */
    for (int k = 0; k < w->nkeys && status == 0; ++k) {
        memcpy(card, w->header + (size_t)k * CARD, CARD);
        card[CARD] = '\0';
        card_key(card, key);
        if (card[8] != '=' || !is_wcs_key(key) ||
            !strcmp(key, "CRPIX1") || !strcmp(key, "CRPIX2"))
            continue;
        fits_update_card(out, key, card, &status);
    }
    if (status == 0)
        fits_update_key_dbl(out, "CRPIX1", w->wcs->crpix[0] - dx, -17,
                            "pixel of CRVAL (1-based)", &status);
    if (status == 0)
        fits_update_key_dbl(out, "CRPIX2", w->wcs->crpix[1] - dy, -17,
                            "pixel of CRVAL (1-based)", &status);
    if (status != 0) {
        int st = 0;
        fits_get_errstatus(status, text);
        if (fits_file_name(out, name, &st) != 0)
            snprintf(name, sizeof name, "(unknown file)");
        return pp_error_set(err, PP_EIO, "'%s': cannot write WCS keywords: "
                            "%s", name, text);
    }
    return PP_OK;
}
