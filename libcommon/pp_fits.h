/* pp_fits.h - FITS images, header keys and atomic FITS writers (cfitsio).
 *
 * Readers open an image read-only and read only the header keys and the
 * sub-images they need (SPEC §1: pixels are never copied whole).  The
 * image HDU is the primary HDU when it holds a 2-D image with data, else
 * the first image HDU that does (SPEC §5.3), so tile-compressed .fits.fz
 * files work: cfitsio presents a compressed image as an image HDU.
 *
 * Pixel boxes are 0-based and half-open, [x0,x1) x [y0,y1) (SPEC §3.1);
 * only the calls into cfitsio add 1.  Sub-images come back row-major
 * (x fastest), as float with NaN for blank or non-finite pixels.
 *
 * Writers never leave a half-written file (SPEC §3.6): pp_fits_create()
 * opens "<path>.tmp.<pid>", the caller adds image extensions and binary
 * tables, and pp_fits_commit() closes, fsyncs and renames; on any failure
 * the caller calls pp_fits_abort(), which deletes the temporary file.
 *
 * Every message names the file: "'<path>': <what>: <cfitsio status>".
 * Threads: a fitsfile handle (and a pp_fits_writer) belongs to one thread
 * at a time; with a reentrant cfitsio (Debian's is: fits_is_reentrant())
 * threads may each open their own handle, to the same file for reading
 * too.
 */
#ifndef PP_FITS_H
#define PP_FITS_H

#include <stddef.h>

#include <fitsio.h>

#include "pp_error.h"

/* ---- Reading images ---------------------------------------------------- */

/* Open path read-only and move to its image HDU (see above).  OUTPUT *fp
 * (close with pp_fits_close()), *hdu = the 1-based HDU number (1 for the
 * primary).  The name is taken literally (no cfitsio "[ext]" syntax).
 * PP_EIO "cannot open '<path>': <reason>" when it cannot be opened as
 * FITS; PP_EDATA "'<path>': no 2-D image HDU with data".  On failure
 * *fp is NULL. */
int pp_fits_open_image(const char *path, fitsfile **fp, int *hdu,
                       pp_error *err);

/* Open path read-only (literally, no "[ext]" syntax) at the 0-based HDU
 * hdu0 (frames.json's "hdu").  OUTPUT *fp (close with pp_fits_close()).
 * PP_EIO "cannot open '<path>' at HDU <hdu0> (frames.json, 0-based):
 * <reason>"; on failure *fp is NULL. */
int pp_fits_open_hdu(const char *path, int hdu0, fitsfile **fp,
                     pp_error *err);

/* Close a file opened for reading; NULL is a no-op.  A close error on a
 * read-only file loses nothing, so it is not reported. */
void pp_fits_close(fitsfile *fp);

/* Move to the image extension whose EXTNAME is extname (compressed images
 * included), e.g. "WHITE" in white.fits (SPEC §6.1).  PP_EDATA
 * "'<path>': no image extension 'WHITE'" when there is none. */
int pp_fits_move_to_ext(fitsfile *fp, const char *extname, pp_error *err);

/* NAXIS1 and NAXIS2 of the current image HDU (pixels).  PP_EDATA when the
 * HDU is not a 2-D image. */
int pp_fits_image_size(fitsfile *fp, long *width, long *height,
                       pp_error *err);

/* Read the box [x0,x1) x [y0,y1) (0-based, SPEC §3.1) of the current image
 * into out, which holds (x1-x0)*(y1-y0) floats, row-major.  BSCALE/BZERO
 * are applied; BLANK and NaN pixels become NAN.  Works on uncompressed and
 * tile-compressed images.  PP_EINTERNAL when the box is empty or not
 * inside the image, PP_EIO when cfitsio fails. */
int pp_fits_read_subset(fitsfile *fp, long x0, long x1, long y0, long y1,
                        float *out, pp_error *err);

/* The same for uint8 masks (BYTE_IMG); values outside 0..255 are an
 * error (PP_EIO from cfitsio's overflow check). */
int pp_fits_read_subset_u8(fitsfile *fp, long x0, long x1, long y0, long y1,
                           unsigned char *out, pp_error *err);

/* ---- Header keys of the current HDU ------------------------------------ *
 * *found: 0 the key is absent (not an error), 1 present and valid, 2
 * present but not of the asked type or undefined (the caller reports it
 * with the text of pp_fits_read_key_text()).  The output is "" or NAN
 * unless found = 1. */

/* A string value, trailing blanks removed, leading ones kept (SPEC §3.2
 * strips FILTER: the caller does), long strings with CONTINUE cards
 * included.  A numeric or logical value is returned as its text.
 * PP_EDATA when the value does not fit in n bytes (never truncated). */
int pp_fits_read_key_string(fitsfile *fp, const char *key, char *out,
                            size_t n, int *found, pp_error *err);

/* A number.  Only an integer or real value counts (found = 1); a string
 * (even 'NaN' or '1.5'), a logical or an undefined value gives *out = NAN
 * and found = 2; absent gives *out = NAN and found = 0. */
int pp_fits_read_key_double(fitsfile *fp, const char *key, double *out,
                            int *found, pp_error *err);

/* The value as written, for messages ("FILTER: found 'abc'"): a string
 * without its quotes and trailing blanks, anything else as the raw value
 * text; "" when the key is absent or its value undefined.  Truncated to
 * n-1 bytes.  PP_EIO only when cfitsio cannot read the header. */
int pp_fits_read_key_text(fitsfile *fp, const char *key, char *out,
                          size_t n, pp_error *err);

/* ---- Writing ----------------------------------------------------------- */

typedef struct {
    fitsfile *fp;               /* NULL once committed or aborted */
    char path[PATH_MAX];        /* final name */
    char tmp[PATH_MAX];         /* "<path>.tmp.<pid>" while open */
} pp_fits_writer;

/* Image compression of pp_fits_add_image(). */
enum {
    PP_FITS_PLAIN = 0,          /* uncompressed image extension */
    PP_FITS_GZIP2 = 1           /* tile-compressed GZIP_2, lossless */
};

/* Create "<path>.tmp.<pid>" holding an empty primary HDU (NAXIS = 0),
 * which is the current HDU (keys can be written into it).  The directory
 * must exist.  On failure nothing is left behind and pp_fits_abort() is
 * still safe. */
int pp_fits_create(const char *path, pp_fits_writer *w, pp_error *err);

/* Like pp_fits_create(), but the primary HDU is a width x height image of
 * bitpix FLOAT_IMG or BYTE_IMG (uncompressed), current, to be filled with
 * pp_fits_write_rows() - the layout of a plain single-image FITS file. */
int pp_fits_create_image(const char *path, pp_fits_writer *w, int bitpix,
                         long width, long height, pp_error *err);

/* Append an image extension width x height of bitpix FLOAT_IMG (float)
 * or BYTE_IMG (uint8) named extname (NULL: no EXTNAME) and make it
 * current.  compress PP_FITS_GZIP2 makes it tile-compressed with GZIP_2
 * and no quantisation (lossless, NaN kept; SPEC §6.1, §9.3), one tile
 * per image row, so that pp_fits_write_rows() of whole rows writes every
 * tile once.  Every row must then be written before the next HDU is
 * added or the file committed. */
int pp_fits_add_image(pp_fits_writer *w, const char *extname, int bitpix,
                      long width, long height, int compress, pp_error *err);

/* Write rows y0..y0+ny-1 (0-based) of the current image, full width:
 * width*ny values of float (FLOAT_IMG) or unsigned char (BYTE_IMG).  Lets
 * a caller stream a large image row block by row block. */
int pp_fits_write_rows(pp_fits_writer *w, long y0, long ny, const void *rows,
                       pp_error *err);

/* Set a key in the current HDU (replaced when present).  comment may be
 * NULL.  Doubles are written with 17 significant digits (exact round
 * trip); a NaN or infinite double is written as an undefined value, which
 * pp_fits_read_key_double() reads back as found = 2.  Strings longer than
 * 68 characters use the CONTINUE convention. */
int pp_fits_write_key_double(pp_fits_writer *w, const char *key, double v,
                             const char *comment, pp_error *err);
int pp_fits_write_key_long(pp_fits_writer *w, const char *key, long v,
                           const char *comment, pp_error *err);
int pp_fits_write_key_string(pp_fits_writer *w, const char *key,
                             const char *v, const char *comment,
                             pp_error *err);
int pp_fits_write_key_bool(pp_fits_writer *w, const char *key, int v,
                           const char *comment, pp_error *err);

/* Finish the writer src (its file is closed, never committed), append
 * its HDUs after the primary to w as pp_fits_copy_hdus() does, and delete
 * src's temporary file: extensions streamed side by side into separate
 * writers end up in one file (SPEC §6.1 white.fits).  src is done either
 * way (pp_fits_abort() on it stays safe). */
int pp_fits_append_from(pp_fits_writer *w, pp_fits_writer *src,
                        pp_error *err);

/* Append every HDU after the primary of the FITS file src_path, as it is
 * (compressed images stay compressed, byte for byte), e.g. to assemble a
 * multi-extension file from extensions streamed into separate temporary
 * files.  The last copied HDU becomes current. */
int pp_fits_copy_hdus(pp_fits_writer *w, const char *src_path,
                      pp_error *err);

/* Append a binary table named extname with ncols columns (names[i],
 * tforms[i] as cfitsio takes them: "1D", "1L", "1PB" ...), no rows yet;
 * it becomes current. */
int pp_fits_add_table(pp_fits_writer *w, const char *extname, int ncols,
                      const char *const *names, const char *const *tforms,
                      pp_error *err);

/* fits_write_col on the current table: col and firstrow are 1-based, as
 * in cfitsio (a table is not a pixel grid).  For a scalar column, nrows
 * values go to rows firstrow...; for a variable-length column (TFORM
 * "1PB"), nrows is the number of elements of the single row firstrow.
 * datatype is cfitsio's (TDOUBLE, TLOGICAL, TBYTE ...). */
int pp_fits_write_column(pp_fits_writer *w, int col, long firstrow,
                         long nrows, int datatype, const void *data,
                         pp_error *err);

/* Close the file (cfitsio flushes it), fsync and rename it over path.
 * On failure the temporary file is removed.  Either way w is done. */
int pp_fits_commit(pp_fits_writer *w, pp_error *err);

/* Close and delete the temporary file.  No-op after commit; safe twice. */
void pp_fits_abort(pp_fits_writer *w);

#endif /* PP_FITS_H */
