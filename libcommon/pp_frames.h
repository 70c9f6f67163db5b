/* pp_frames.h - frames.json: the bands and the pixel frames of a run.
 *
 * pp-crop writes frames.json once (SPEC §6.1 step 7); every later tool
 * reads it to learn the band order, each band's file and calibration, and
 * the full and working frames (SPEC §3.1).  Pixels are never copied: tools
 * read sub-images of band->path themselves.
 *
 * Invariants: bands are in image-list order; work_w = x1 - x0 and
 * work_h = y1 - y0; scale = 10^(-0.4 (zp_auto - zp_ref)) and
 * sky_sigma_scaled = skysig * scale (SPEC §5.3).  Optional values are NAN
 * (saturate, fwhm_pix) or "" (fwhm_source) when absent, null in the JSON.
 */
#ifndef PP_FRAMES_H
#define PP_FRAMES_H

#include "pp_error.h"

#define PP_FRAMES_FORMAT "patchphot-frames/1"

typedef struct {
    char *band;                 /* stripped FILTER value */
    char *path;                 /* absolute path of the FITS file */
    int hdu;                    /* 0-based HDU index of the image */
    double zp_auto, scale, skysig, sky_sigma_scaled, egain;
    double saturate;            /* ADU, NAN when absent or invalid */
    double fwhm_pix;            /* NAN when neither PEEING nor SEEING */
    char fwhm_source[8];        /* "PEEING", "SEEING" or "" */
    double pixel_scale_arcsec;
} pp_frame_band;

typedef struct {
    double zp_ref;
    long full_w, full_h;
    int crop_enabled;
    long x0, x1, y0, y1;        /* crop box in the full frame, half-open */
    long work_w, work_h;
    int nbands;
    pp_frame_band *bands;       /* nbands entries, owned */
} pp_frames;

#define PP_FRAMES_INIT { 0 }

/* Write f as frames.json (key order of SPEC §6.1), atomically. */
int pp_frames_write(const char *path, const pp_frames *f, pp_error *err);

/* Read frames.json into f (caller releases).  PP_EDATA naming the file and
 * key when a key is missing or has the wrong type. */
int pp_frames_read(const char *path, pp_frames *f, pp_error *err);

/* Index of a band by name, or -1. */
int pp_frames_find_band(const pp_frames *f, const char *band);

/* Free the contents of f and zero it. */
void pp_frames_release(pp_frames *f);

#endif /* PP_FRAMES_H */
