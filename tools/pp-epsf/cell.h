/* cell.h - one (band, ePSF cell): SPEC §8.2 steps 1–8 and the files of
 * §8.3 in EPSFs/<band>/<cell>/.
 *
 * A cell whose image cannot be read is an error (PP_EIO/PP_EDATA, nothing
 * written).  A cell without a usable star is not: meta.json says status
 * "fail" with the reason in "error", stars.csv lists the candidates, and
 * no epsf.npy (nor an older one) is left.  Files are written atomically;
 * meta.json last, so a cell with meta.json is complete.
 * Thread-safe: jobs share only read-only inputs.
 */
#ifndef EPSF_CELL_H
#define EPSF_CELL_H

#include <jansson.h>

#include "pp_config.h"
#include "pp_error.h"
#include "pp_frames.h"

#include "select.h"

typedef struct {
    const pp_config *cfg;
    const pp_frames *frames;
    int band;                   /* index in frames */
    int row, col;               /* cell indices (y, x) */
    long cx0, cx1, cy0, cy1;    /* cell box, working frame */
    const epsf_gaia *gaia;      /* Gaia sources of the band (any mag) */
    long ngaia;
    int shift_kind, smooth_kind;
    const char *dir;            /* EPSFs/<band>/<cell> */
} epsf_cell_job;

/* Run the job.  OUTPUT *meta: the meta.json object written (a new
 * reference), NULL on error. */
int epsf_cell_run(const epsf_cell_job *job, json_t **meta, pp_error *err);

/* "r%02d_c%02d" into buf (SPEC §8.1). */
void epsf_cell_tag(int row, int col, char buf[32]);

#endif /* EPSF_CELL_H */
