/* fit_field.h - a small pp-sim field run through the real pipeline up to
 * pp-patchify, for the pp-fit unit tests that read real payloads.  The
 * programs come from $PP_BIN (set by `make check`), else bin/ of the
 * source tree.  Static definitions: include it once per test program. */
#ifndef FIT_FIELD_H
#define FIT_FIELD_H

#include <stdlib.h>
#include <string.h>

#include "pp_mem.h"

static char dir[64];

/* Make the field in a new /tmp/<name>.XXXXXX/f: pp-sim (2 bands,
 * 600x600, plus sim_args), pp-crop, pp-zp augment, pp-crop mask,
 * pp-patchify, then the shell command `after` ("" for none), run in the
 * directory.  Returns 0 on success. */
static int make_field(const char *name, const char *sim_args,
                      const char *after)
{
    const char *bin = getenv("PP_BIN");
    char *cmd;
    int rc;

    snprintf(dir, sizeof dir, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(dir))
        return 1;
    cmd = pp_xasprintf(
        "cd %s && PATH='%s':$PATH && export PATH && "
        "pp-sim --out f --nbands 2 --size 600x600 %s >/dev/null 2>&1 && "
        "pp-crop -c f/config.yaml 2>/dev/null && "
        "pp-zp augment -c f/config.yaml 2>/dev/null && "
        "pp-crop mask -c f/config.yaml 2>/dev/null && "
        "pp-patchify -c f/config.yaml 2>/dev/null%s%s", dir,
        bin ? bin : "../bin", sim_args, after[0] ? " && " : "", after);
    rc = system(cmd);
    free(cmd);
    return rc != 0;
}

/* dir/f/rel, a new string. */
static char *field_path(const char *rel)
{
    return pp_xasprintf("%s/f/%s", dir, rel);
}

#endif /* FIT_FIELD_H */
