/* pp_mem.c - allocation policy (see pp_mem.h). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pp_log.h"
#include "pp_mem.h"

static void out_of_memory(size_t n)
{
    pp_log(PP_LOG_ERROR, "out of memory allocating %zu bytes", n);
    exit(PP_EXIT_DATA);
}

void *pp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        out_of_memory(n);
    return p;
}

void *pp_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);

    if (!p)
        out_of_memory(count * size);
    return p;
}

void *pp_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        out_of_memory(n);
    return q;
}

char *pp_xstrdup(const char *s)
{
    return pp_xstrndup(s, strlen(s));
}

char *pp_xstrndup(const char *s, size_t n)
{
    char *p = pp_xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *pp_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory(strlen(fmt));
    return s;
}

void *pp_malloc_checked(size_t count, size_t size, const char *purpose,
                        pp_error *err)
{
    void *p;

    if (size && count > SIZE_MAX / size) {
        pp_error_set(err, PP_ENOMEM, "cannot allocate %zu x %zu bytes for "
                     "%s: size overflows", count, size, purpose);
        return NULL;
    }
    p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        pp_error_set(err, PP_ENOMEM, "cannot allocate %.1f MB for %s",
                     (double)count * (double)size / 1048576.0, purpose);
    return p;
}
