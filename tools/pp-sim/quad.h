/* quad.h - Gauss-Legendre rules on [-1/2, 1/2], shared by pp-sim's
 * profile and PSF integrators (nodes and weights from GSL's
 * gsl_integration_glfixed; Abramowitz & Stegun 25.4.30).  The weights of
 * each rule sum to 1. */
#ifndef SIM_QUAD_H
#define SIM_QUAD_H

extern const double sim_gl4_x[4], sim_gl4_w[4];
extern const double sim_gl8_x[8], sim_gl8_w[8];

#endif /* SIM_QUAD_H */
