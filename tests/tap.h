/* tap.h - a tiny TAP producer for the C unit tests.
 *
 *     check(expr, "title")                 ok when expr is true
 *     check_int(a, op, b, "title")         e.g. check_int(n, ==, 3, ...)
 *     check_str(a, b, "title")             strcmp equality, NULL-safe
 *     check_near(a, b, tol, "title")       |a - b| <= tol, NaN never near
 *     return tap_done();                   prints the plan, exit status
 *
 * A failure prints "not ok N - title" and a "# file:line" diagnostic with
 * both values, like git's test-lib.  Titles state behaviour.
 */
#ifndef PP_TAP_H
#define PP_TAP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static int tap_result(int ok, const char *title, const char *file, int line)
{
    ++tap_n;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", tap_n, title);
    if (!ok) {
        ++tap_failed;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return ok;
}

#define check(expr, title) \
    tap_result(!!(expr), (title), __FILE__, __LINE__)

#define check_int(a, op, b, title) do { \
    long long tap_a_ = (long long)(a), tap_b_ = (long long)(b); \
    if (!tap_result(tap_a_ op tap_b_, (title), __FILE__, __LINE__)) \
        printf("#   %s = %lld, %s = %lld\n", #a, tap_a_, #b, tap_b_); \
} while (0)

#define check_str(a, b, title) do { \
    const char *tap_a_ = (a), *tap_b_ = (b); \
    int tap_ok_ = tap_a_ && tap_b_ ? strcmp(tap_a_, tap_b_) == 0 \
                                   : tap_a_ == tap_b_; \
    if (!tap_result(tap_ok_, (title), __FILE__, __LINE__)) \
        printf("#   got '%s', expected '%s'\n", tap_a_ ? tap_a_ : "(null)", \
               tap_b_ ? tap_b_ : "(null)"); \
} while (0)

#define check_near(a, b, tol, title) do { \
    double tap_a_ = (a), tap_b_ = (b), tap_t_ = (tol); \
    if (!tap_result(fabs(tap_a_ - tap_b_) <= tap_t_, (title), \
                    __FILE__, __LINE__)) \
        printf("#   got %.17g, expected %.17g (tolerance %g)\n", \
               tap_a_, tap_b_, tap_t_); \
} while (0)

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif /* PP_TAP_H */
