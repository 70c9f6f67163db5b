/* pp_catalog.c - which catalogue file a stage works on (pp_catalog.h). */
#include <stdlib.h>
#include <string.h>

#include "pp_catalog.h"
#include "pp_config.h"
#include "pp_io.h"
#include "pp_mem.h"

char *pp_catalog_crop_path(const pp_config *cfg)
{
    return pp_io_path_join(cfg->outputs.work_dir, "catalog.csv");
}

char *pp_catalog_augmented_path(const pp_config *cfg)
{
    const char *name = strrchr(cfg->inputs.input_catalog, '/');
    const char *dot;
    char *stem, *path;

    name = name ? name + 1 : cfg->inputs.input_catalog;
    dot = strrchr(name, '.');
    stem = dot && dot != name ? pp_xstrndup(name, (size_t)(dot - name))
                              : pp_xstrdup(name);
    path = pp_xasprintf("%s/ZP/%s_with_Gaia.csv", cfg->outputs.work_dir,
                        stem);
    free(stem);
    return path;
}

char *pp_catalog_base_path(const pp_config *cfg)
{
    char *aug = pp_catalog_augmented_path(cfg);

    if (cfg->zp.enabled && pp_io_exists(aug))
        return aug;
    free(aug);
    return pp_catalog_crop_path(cfg);
}
