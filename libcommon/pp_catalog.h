/* pp_catalog.h - which catalogue file a stage works on (SPEC §1).
 *
 * The "base catalogue" is ZP/<stem>_with_Gaia.csv when zp.enabled and that
 * file exists, otherwise catalog.csv (both in work_dir); <stem> is the
 * input catalogue's file name without its extension.  Every tool that
 * needs the base catalogue asks this module, so they never disagree.
 */
#ifndef PP_CATALOG_H
#define PP_CATALOG_H

struct pp_config;

/* <work_dir>/catalog.csv, written by pp-crop (new string). */
char *pp_catalog_crop_path(const struct pp_config *cfg);

/* <work_dir>/ZP/<stem>_with_Gaia.csv, written by pp-zp augment (new
 * string; the file may not exist). */
char *pp_catalog_augmented_path(const struct pp_config *cfg);

/* The base catalogue's path (new string). */
char *pp_catalog_base_path(const struct pp_config *cfg);

#endif /* PP_CATALOG_H */
