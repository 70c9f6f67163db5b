/* pp_mem.h - allocation policy.
 *
 * Small allocations (names, option lists, table rows) use pp_x*(): on
 * failure they log and exit 1 - the one exit below main(), as in jq, because
 * no caller can do anything useful without a few bytes.  Data-sized buffers
 * (pixel blocks, tables of sources) use pp_malloc_checked(), which returns
 * NULL and sets PP_ENOMEM naming the size and the purpose, so the tool can
 * report which buffer did not fit.
 */
#ifndef PP_MEM_H
#define PP_MEM_H

#include <stddef.h>

#include "pp_error.h"

void *pp_xmalloc(size_t n);
void *pp_xcalloc(size_t count, size_t size);
void *pp_xrealloc(void *p, size_t n);
char *pp_xstrdup(const char *s);
char *pp_xstrndup(const char *s, size_t n);
/* printf into a newly allocated string. */
char *pp_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* count*size bytes (overflow checked), zeroed; NULL + PP_ENOMEM on failure
 * with a message "cannot allocate N MB for <purpose>". */
void *pp_malloc_checked(size_t count, size_t size, const char *purpose,
                        pp_error *err);

#endif /* PP_MEM_H */
