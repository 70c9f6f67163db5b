/* test_crop_mask.c - the ellipse test of SPEC §6.8 step 3 (pp-crop mask),
 * against hand-computed points: (u/A)^2 + (v/B)^2 <= 1 with (u, v) the
 * offset rotated by -theta. */
#include <math.h>

#include "tap.h"

#include "mask.h"

#define IN(dx, dy, A, B, t) crop_mask_in_ellipse(dx, dy, A, B, t)

int main(void)
{
    const double q = M_PI / 4, r = M_PI / 2;

    check(IN(4.0, 0.0, 4, 2, 0),
          "ellipse: end of the major axis is inside (sum exactly 1)");
    check(!IN(4.01, 0.0, 4, 2, 0),
          "ellipse: just past the major axis is outside");
    check(IN(0.0, -2.0, 4, 2, 0) && !IN(0.0, 2.01, 4, 2, 0),
          "ellipse: minor axis end inside, just past it outside");
    check(IN(3.0, 1.0, 4, 2, 0), "ellipse: (3,1) in 4x2 is inside (0.8125)");
    check(!IN(3.0, 1.5, 4, 2, 0),
          "ellipse: (3,1.5) in 4x2 is outside (1.125)");
    check(IN(0.0, 3.9, 4, 2, r) && !IN(3.0, 0.0, 4, 2, r),
          "ellipse: theta 90 deg turns the major axis onto y");
    check(IN(1.9, 0.0, 4, 2, r),
          "ellipse: theta 90 deg, (1.9,0) inside (0.9025)");
    check(IN(3.0, 3.0, 5, 1, q) && IN(-3.0, -3.0, 5, 1, q),
          "ellipse: theta 45 deg is counter-clockwise from +x (0.72)");
    check(!IN(3.0, -3.0, 5, 1, q),
          "ellipse: theta 45 deg, the other diagonal is outside (18)");
    check(IN(3.0, -3.0, 5, 1, -q) && !IN(3.0, 3.0, 5, 1, -q),
          "ellipse: theta -45 deg mirrors it");
    check(IN(3.0, 4.0, 5, 5, 1.234) && !IN(3.0, 4.1, 5, 5, -0.3),
          "ellipse: a circle ignores theta (radius 5)");
    return tap_done();
}
