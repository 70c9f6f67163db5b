/* zp.h - pp-zp's stages: augment (SPEC §7) and calibrate (SPEC §12). */
#ifndef ZP_H
#define ZP_H

#include "pp_config.h"
#include "pp_error.h"

/* `pp-zp augment` (SPEC §7): match the GaiaXP stars to work_dir/catalog.csv
 * one-to-one on the sphere, back-fill empty or zero FLUX_<band> cells of
 * matched rows, inject the unmatched, unsaturated Gaia stars of the
 * selection box, and write ZP/<stem>_with_Gaia.csv and the plot data
 * ZP/gaia_augmentation.{csv,json}, each atomically.  A skipped run
 * (zp.enabled false, inputs.gaiaxp_synphot_csv null, or the GaiaXP file
 * missing: a WARNING) writes nothing and deletes those three files (SPEC
 * §1, no stale files).  Reads frames.json and each band's FITS file
 * (sub-images only).  PP_EDATA/PP_EIO naming the file, row and column. */
int zp_augment(const pp_config *cfg, pp_error *err);

/* `pp-zp calibrate` (SPEC §12): read frames.json (band order, zp_ref),
 * outputs.final_catalog and the GaiaXP file; compute each band's zero
 * point from the reliable Gaia-matched stars (calibrate.h); write
 * ZP/zp_summary.csv, ZP/zp_all_bands__per_object.csv,
 * ZP/zp_unreliable__per_object.csv and the final catalogue with
 * MAG_<b>_fit and MAGERR_<b>_fit set (existing ones replaced in place,
 * every other cell kept), each atomically and only after every input was
 * read and checked.  Multi- or single-band reliability follows
 * patch_run.enable_multi_band_simultaneous_fitting.  A skipped run
 * (zp.enabled false, inputs.gaiaxp_synphot_csv null, or the GaiaXP file
 * missing: a WARNING) removes the three ZP/ files and leaves the final
 * catalogue alone.  PP_EIO for a missing frames.json or final catalogue,
 * PP_EDATA naming the file, row and column for bad content. */
int zp_calibrate(const pp_config *cfg, pp_error *err);

#endif /* ZP_H */
