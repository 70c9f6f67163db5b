/* qa.h - quality numbers of an ePSF (SPEC §8.2 step 8).
 *
 * Growth curve: exact-overlap circular apertures (sep_sum_circle, subpix
 * 0) about the stamp centre at radii 0.5, 1.0, … n/2 px, divided by the
 * stamp sum; ee_rXX_pix is the radius where the curve first reaches XX%,
 * linearly interpolated (the first radius when it starts above).
 * FWHM: twice the mean distance from the centre to the half-maximum
 * contour (maximum = the largest pixel) along EPSF_QA_NRAYS rays, on the
 * bilinear interpolant of the stamp; NAN when it cannot be found.
 */
#ifndef EPSF_QA_H
#define EPSF_QA_H

#define EPSF_QA_NRAYS 360
#define EPSF_QA_STEP 0.5            /* growth-curve radius step, px */

typedef struct {
    int nr;                         /* growth-curve points */
    double *radius, *ee;            /* nr each (owned) */
    double ee_r50, ee_r80, ee_r90;  /* px */
    double fwhm;                    /* px */
    double ee_edge;                 /* see epsf_qa_ee_at */
    double edge_median, edge_mean;  /* outermost ring of the stamp */
    double vmin, vmax, sum;
} epsf_qa;

/* Every number above for the n × n stamp (n odd).  OUTPUT *q (release
 * with epsf_qa_release). */
void epsf_qa_compute(const double *stamp, int n, epsf_qa *q);

/* Fraction of the S × S stamp's sum within radius r of its centre
 * (exact overlap). */
double epsf_qa_ee_at(const double *stamp, int S, double r);

/* FWHM of the stamp as above. */
double epsf_qa_fwhm(const double *stamp, int n);

void epsf_qa_release(epsf_qa *q);

#endif /* EPSF_QA_H */
