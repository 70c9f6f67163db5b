/* match.h - one-to-one matching of two catalogues on the sphere (SPEC §7
 * step 3).
 *
 * Every pair (catalogue row i, Gaia star j) closer than the radius is a
 * candidate; pairs are taken in order of increasing separation, each row
 * and each star at most once.  Ties in separation are broken by the lower
 * catalogue index, then the lower Gaia index, so the result never depends
 * on the sort's stability.  This differs from nearest-neighbour matching:
 * a star claimed by a closer row is not given to a second row.
 *
 * Separations are compared as chord lengths between unit vectors, which
 * are monotonic in the angle and have no RA wrap-around or pole
 * singularity.  Candidates are found with a declination sweep: stars
 * sorted by declination, each row scanning the band |dDEC| <= radius,
 * which is exact (the angle is at least |dDEC|) and costs
 * O((n + m) log m + candidates).
 *
 * Inputs with a non-finite coordinate never match (the caller passes
 * NAN for rows without coordinates).  Angles are degrees.
 */
#ifndef ZP_MATCH_H
#define ZP_MATCH_H

#include "pp_error.h"

/* Match n catalogue positions (ra1, dec1) to m Gaia positions (ra2,
 * dec2) within radius_arcsec (> 0).  OUTPUT match1[n]: the Gaia index
 * matched to each catalogue row, or -1; match2[m]: the catalogue index of
 * each Gaia star, or -1 (match2 may be NULL); *sep_arcsec (may be NULL, n
 * entries) the separation of each matched pair (NAN otherwise).  *npairs
 * (may be NULL) gets the number of pairs.  PP_ENOMEM when the candidate
 * list does not fit; then the outputs are undefined. */
int zp_match_sphere(const double *ra1, const double *dec1, long n,
                    const double *ra2, const double *dec2, long m,
                    double radius_arcsec, long *match1, long *match2,
                    double *sep_arcsec, long *npairs, pp_error *err);

#endif /* ZP_MATCH_H */
