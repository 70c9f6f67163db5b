/* pp_json.h - JSON files (jansson, SPEC §3.5).
 *
 * Files are written atomically (SPEC §3.6) with a 2-space indent, keys in
 * insertion order (jansson >= 2.8 keeps it), a trailing newline and reals
 * with 17 significant digits, so every double reads back exactly.  JSON
 * is strict: NaN and infinities are written as null (pp_json_real()).
 *
 * Ownership is jansson's: pp_json_read() returns a new reference the
 * caller releases with json_decref(); pp_json_write() borrows root.
 * Strings returned by the getters are borrowed from the object and live
 * as long as it does.
 *
 * The getters give readers one message shape,
 *     "<ctx>: key '<key>': expected a number, found a string"
 * where ctx names the file and place ("'frames.json': bands[2]").
 */
#ifndef PP_JSON_H
#define PP_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "pp_error.h"

/* Write root to path: 2-space indent, trailing newline, atomic.  PP_EIO
 * naming the path on failure. */
int pp_json_write(const char *path, const json_t *root, pp_error *err);

/* Read path.  OUTPUT *root (a new reference; NULL on failure).  PP_EIO
 * "cannot open '<path>': <reason>"; PP_EDATA "'<path>': line L, column
 * C: <jansson message>" for a parse error (duplicate keys included). */
int pp_json_read(const char *path, json_t **root, pp_error *err);

/* json_real(v), or json_null() when v is NaN or infinite (strict JSON).
 * A new reference, as json_real's. */
json_t *pp_json_real(double v);

/* Getters on obj[key] (obj must be an object).  PP_EDATA with the message
 * above when the key is missing or of another type. */
int pp_json_get_number(const json_t *obj, const char *key, const char *ctx,
                       double *out, pp_error *err);     /* int or real */
int pp_json_get_string(const json_t *obj, const char *key, const char *ctx,
                       const char **out, pp_error *err);
int pp_json_get_int(const json_t *obj, const char *key, const char *ctx,
                    long *out, pp_error *err);          /* integer only */
int pp_json_get_bool(const json_t *obj, const char *key, const char *ctx,
                     int *out, pp_error *err);          /* 0 or 1 */

#endif /* PP_JSON_H */
