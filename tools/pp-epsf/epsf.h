/* epsf.h - pp-epsf's stage (SPEC §8): inputs, the (band, cell) jobs, the
 * thread pool and EPSFs/epsf_summary.json.
 *
 * Inputs (read and checked before any work): <work_dir>/frames.json, the
 * base catalogue (pp_catalog: x_pix_white, y_pix_white, excluded_any,
 * and gaia_source_id when pp-zp augment ran), and the GaiaXP file
 * (inputs.gaiaxp_synphot_csv: source_id and mag_<band>) for the Gaia
 * seeds when epsf.use_gaiaxp and psfstar_mode is not "sep".  A Gaia source
 * is a base-catalogue row with a gaia_source_id whose GaiaXP mag_<band> is
 * finite; positions are the catalogue's (SPEC §3.1: never re-projected).
 */
#ifndef EPSF_EPSF_H
#define EPSF_EPSF_H

#include "pp_config.h"
#include "pp_error.h"

#include "cli.h"

/* Build the cells opts names (all active ones by default); with neither
 * --band nor --cell, rewrite the summary afterwards.  A cell without a
 * usable star is not an error (status "fail" in its meta.json). */
int epsf_run(const pp_config *cfg, const epsf_opts *opts, pp_error *err);

/* Rewrite EPSFs/epsf_summary.json: the meta.json objects of every cell
 * present, band order (frames.json) then cell order (row, column). */
int epsf_summary(const pp_config *cfg, pp_error *err);

#endif /* EPSF_EPSF_H */
