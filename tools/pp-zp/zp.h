/* zp.h - pp-zp's stages (SPEC §7; §12 `calibrate` is not written yet). */
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

#endif /* ZP_H */
