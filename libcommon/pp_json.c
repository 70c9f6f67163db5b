/* pp_json.c - JSON files (pp_json.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "pp_io.h"
#include "pp_json.h"

/* SPEC §3.5: 2-space indent, keys in insertion order; 17 significant
 * digits make every double round-trip. */
#define PP_JSON_FLAGS \
    (JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

int pp_json_write(const char *path, const json_t *root, pp_error *err)
{
    pp_atomic a;

    if (pp_io_open_tmp(path, &a, err) != PP_OK)
        return err->code;
    errno = 0;
    if (json_dumpf(root, a.fp, PP_JSON_FLAGS) != 0 ||
        fputc('\n', a.fp) == EOF) {
        int e = errno;
        pp_io_abort(&a);
        return pp_error_set(err, PP_EIO, "cannot write '%s': %s", path,
                            e ? strerror(e) : "jansson could not encode it");
    }
    return pp_io_commit(&a, err);
}

int pp_json_read(const char *path, json_t **root, pp_error *err)
{
    json_error_t jerr;
    FILE *fp;

    *root = NULL;
    /* Open it ourselves, so that the reason is errno's. */
    if (!(fp = fopen(path, "rb")))
        return pp_error_set(err, PP_EIO, "cannot open '%s': %s", path,
                            strerror(errno));
    *root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
    if (ferror(fp)) {
        int e = errno;
        fclose(fp);
        json_decref(*root);
        *root = NULL;
        return pp_error_set(err, PP_EIO, "cannot read '%s': %s", path,
                            strerror(e));
    }
    fclose(fp);
    if (!*root)
        return pp_error_set(err, PP_EDATA, "'%s': line %d, column %d: %s",
                            path, jerr.line, jerr.column, jerr.text);
    return PP_OK;
}

json_t *pp_json_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* The name of a value's type, for messages. */
static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "an object";
    case JSON_ARRAY:   return "an array";
    case JSON_STRING:  return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL:    return "a real";
    case JSON_TRUE:
    case JSON_FALSE:   return "a boolean";
    case JSON_NULL:    return "null";
    }
    return "something else";
}

/* obj[key] when it passes is_ok, else NULL and PP_EDATA in err. */
static const json_t *get(const json_t *obj, const char *key, const char *ctx,
                         int (*is_ok)(const json_t *), const char *expected,
                         pp_error *err)
{
    const json_t *v;

    if (!json_is_object(obj)) {
        pp_error_set(err, PP_EDATA, "%s: key '%s': expected %s in an "
                     "object, found %s", ctx, key, expected,
                     obj ? type_name(obj) : "nothing");
        return NULL;
    }
    v = json_object_get(obj, key);
    if (!v) {
        pp_error_set(err, PP_EDATA, "%s: key '%s': expected %s, found "
                     "nothing (missing)", ctx, key, expected);
        return NULL;
    }
    if (!is_ok(v)) {
        pp_error_set(err, PP_EDATA, "%s: key '%s': expected %s, found %s",
                     ctx, key, expected, type_name(v));
        return NULL;
    }
    return v;
}

/* jansson's type tests are macros; these wrap them as functions. */
static int is_number(const json_t *v) { return json_is_number(v); }
static int is_string(const json_t *v) { return json_is_string(v); }
static int is_integer(const json_t *v) { return json_is_integer(v); }
static int is_boolean(const json_t *v) { return json_is_boolean(v); }

int pp_json_get_number(const json_t *obj, const char *key, const char *ctx,
                       double *out, pp_error *err)
{
    const json_t *v = get(obj, key, ctx, is_number, "a number", err);

    if (!v)
        return PP_EDATA;
    *out = json_number_value(v);
    return PP_OK;
}

int pp_json_get_string(const json_t *obj, const char *key, const char *ctx,
                       const char **out, pp_error *err)
{
    const json_t *v = get(obj, key, ctx, is_string, "a string", err);

    if (!v)
        return PP_EDATA;
    *out = json_string_value(v);
    return PP_OK;
}

int pp_json_get_int(const json_t *obj, const char *key, const char *ctx,
                    long *out, pp_error *err)
{
    const json_t *v = get(obj, key, ctx, is_integer, "an integer", err);
    json_int_t i;

    if (!v)
        return PP_EDATA;
    i = json_integer_value(v);
    if (i < LONG_MIN || i > LONG_MAX)
        return pp_error_set(err, PP_EDATA, "%s: key '%s': integer %lld out "
                            "of range", ctx, key, (long long)i);
    *out = (long)i;
    return PP_OK;
}

int pp_json_get_bool(const json_t *obj, const char *key, const char *ctx,
                     int *out, pp_error *err)
{
    const json_t *v = get(obj, key, ctx, is_boolean, "a boolean", err);

    if (!v)
        return PP_EDATA;
    *out = json_is_true(v);
    return PP_OK;
}
