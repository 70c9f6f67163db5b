/* pp_npy.h - NumPy .npy arrays of float32 (SPEC §3.5).
 *
 * Written files are NumPy format version 1.0, little-endian '<f4', C
 * order, loadable by numpy.load: the magic "\x93NUMPY", version 1 0, a
 * little-endian uint16 header length and the header dict
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (55, 55), }
 * padded with spaces and ended by '\n' so that the data start at a
 * multiple of 64 bytes, as numpy writes it; a 1-D shape is "(7,)".
 * Files are written atomically (SPEC §3.6).
 *
 * The reader takes versions 1.0, 2.0 and 3.0, C order only, '<f4' or
 * '<f8' (converted to float).  Errors name the file.
 */
#ifndef PP_NPY_H
#define PP_NPY_H

#include "pp_error.h"

/* Most dimensions read or written. */
#define PP_NPY_MAXDIM 8

/* Write data (prod(shape) floats, C order) as an ndim-D array (1 <= ndim
 * <= PP_NPY_MAXDIM, every shape[i] >= 0).  PP_EIO on a write failure,
 * PP_EINTERNAL on a bad shape. */
int pp_npy_write(const char *path, const float *data, int ndim,
                 const long *shape, pp_error *err);

/* Read an array.  OUTPUT *data (the caller frees it with free(); NULL
 * for an empty array), *ndim and shape[0..*ndim-1].  PP_EIO when the
 * file cannot be read, PP_EDATA "'<path>': <what>" when it is not a .npy
 * file this reader takes (bad magic, Fortran order, other dtype, short
 * data ...), PP_ENOMEM for a huge array.  On failure *data is NULL and
 * *ndim 0. */
int pp_npy_read(const char *path, float **data, int *ndim,
                long shape[PP_NPY_MAXDIM], pp_error *err);

#endif /* PP_NPY_H */
