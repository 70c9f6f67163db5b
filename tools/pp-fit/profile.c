/* profile.c - Gaussian-mixture source profiles and the soft ellipse
 * (SPEC §10.2; numbers from reference/mog_profiles.md).  See profile.h.
 */
#include <math.h>
#include <string.h>

#include "pp_error.h"

#include "profile.h"

/* Exponential "lux" mixture, raw amplitudes (normalised at run time) and
 * variances in r_e² (reference/mog_profiles.md). */
#define EXP_K 6
static const double exp_amp[EXP_K] = {
    2.34853813e-03, 3.07995260e-02, 2.23364214e-01,
    1.17949102e+00, 4.33873750e+00, 5.99820770e+00
};
static const double exp_var[EXP_K] = {
    1.20078965e-03, 8.84526493e-03, 3.91463084e-02,
    1.39976817e-01, 4.60962500e-01, 1.50159566e+00
};

/* de Vaucouleurs "luv" mixture, raw, before the core is prepended. */
#define DEV_K 8
static const double dev_amp[DEV_K] = {
    4.26347652e-02, 2.40127183e-01, 6.85907632e-01, 1.51937350e+00,
    2.83627243e+00, 4.46467501e+00, 5.72440830e+00, 5.60989349e+00
};
static const double dev_var[DEV_K] = {
    2.23759216e-04, 1.00220099e-03, 4.18731126e-03, 1.69432589e-02,
    6.84850479e-02, 2.87207080e-01, 1.33320254e+00, 8.40215071e+00
};

/* Render radii in r_e (SPEC §10.2, reference/mog_profiles.md). */
#define EXP_NRE 4.0
#define DEV_NRE 8.0
#define GAUSS_NRE 6.0
#define SERSIC_NRE 8.0

/* Sérsic tables: each row is n, then K raw amplitudes, then K variances,
 * in the fit's own component order (what the per-component splines
 * use); commented-out rows of the source are omitted. */
/* Range 0: [0.29, 0.42), K = 3, 14 rows: n | amp | var */
static const double sersic_rows0[] = {
    0.29,
        29.7334, 10.0626, -32.1111,
        0.400917, 0.223733, 0.29063,
    0.3,
        28.1272, 8.97219, -29.3501,
        0.410641, 0.227158, 0.29584,
    0.31,
        26.5806, 7.94611, -26.7125,
        0.420884, 0.230796, 0.301292,
    0.32,
        25.0955, 6.98474, -24.2006,
        0.431669, 0.234678, 0.307003,
    0.33,
        23.6732, 6.08762, -21.8156,
        0.44302, 0.238842, 0.31299,
    0.34,
        22.3148, 5.25393, -19.5576,
        0.454958, 0.243336, 0.319275,
    0.35,
        21.0211, 4.4825, -17.4262,
        0.467504, 0.248227, 0.325884,
    0.36,
        19.7908, 3.76912, -15.416,
        0.480684, 0.253582, 0.332854,
    0.37,
        18.6228, 3.11202, -13.5245,
        0.494522, 0.259516, 0.340225,
    0.38,
        17.5146, 2.50564, -11.7432,
        0.509046, 0.266156, 0.348055,
    0.39,
        16.5252, 1.55052, -9.73179,
        0.524296, 0.26729, 0.359764,
    0.4,
        15.5942, 0.836228, -8.01953,
        0.540194, 0.267179, 0.372381,
    0.41,
        14.7227, 0.344169, -6.58915,
        0.556667, 0.265585, 0.385658,
    0.42,
        14.0586, 0.0, -5.51399,
        0.572984, 0.403086, 0.403086,
};
/* Range 1: [0.42, 0.51), K = 2, 12 rows: n | amp | var */
static const double sersic_rows1[] = {
    0.41,
        15.7428, -7.26198,
        0.55406, 0.408598,
    0.42,
        14.0586, -5.51399,
        0.572984, 0.403086,
    0.43,
        12.5707, -3.96071,
        0.594559, 0.393181,
    0.44,
        11.4452, -2.76895,
        0.616783, 0.380574,
    0.45,
        10.6629, -1.92036,
        0.637897, 0.367586,
    0.46,
        10.1197, -1.31131,
        0.657376, 0.355282,
    0.47,
        9.7311, -0.857421,
        0.675295, 0.343829,
    0.48,
        9.44434, -0.506166,
        0.691845, 0.333043,
    0.49,
        9.22735, -0.225454,
        0.70721, 0.322121,
    0.5,
        9.06467, 0.0,
        0.721342, 0.316586,
    0.51,
        8.92798, 0.198966,
        0.735017, 0.311146,
    0.52,
        8.82471, 0.363539,
        0.747636, 0.301751,
};
/* Range 2: [0.51, 0.57), K = 3, 8 rows: n | amp | var */
static const double sersic_rows2[] = {
    0.51,
        8.92797, 0.198981, 0.0,
        0.735018, 0.311154, 0.0414387,
    0.515,
        8.73228, 0.424472, 0.00330697,
        0.746698, 0.366195, 0.0414387,
    0.52,
        8.46752, 0.714782, 0.0107365,
        0.760192, 0.406511, 0.0692738,
    0.53,
        7.85715, 1.3651, 0.0360094,
        0.789684, 0.456885, 0.10255,
    0.54,
        7.76883, 1.50907, 0.043058,
        0.805917, 0.437708, 0.0952802,
    0.55,
        7.65445, 1.67716, 0.0516891,
        0.822863, 0.427311, 0.0912697,
    0.56,
        7.54335, 1.84057, 0.0613179,
        0.839849, 0.420414, 0.088685,
    0.57,
        7.44456, 1.99074, 0.0714226,
        0.856566, 0.414979, 0.0866439,
};
/* Range 3: [0.57, 0.62), K = 4, 6 rows: n | amp | var */
static const double sersic_rows3[] = {
    0.57,
        7.41719, 2.01535, 0.0742881, 0.0,
        0.856566, 0.414979, 0.0866439, 0.0015899,
    0.575,
        7.2992, 2.1504, 0.0880109, 0.000440864,
        0.868967, 0.422919, 0.0942545, 0.00412021,
    0.58,
        7.0897, 2.36255, 0.115839, 0.00162557,
        0.884264, 0.437162, 0.107518, 0.00953237,
    0.6,
        6.39792, 3.02771, 0.256107, 0.0121941,
        0.942439, 0.480793, 0.152123, 0.0277202,
    0.62,
        6.29146, 3.20893, 0.298839, 0.0148154,
        0.97823, 0.474444, 0.146615, 0.0262425,
    0.63,
        6.24609, 3.29044, 0.320663, 0.0162281,
        0.995781, 0.471937, 0.144342, 0.0256226,
};
/* Range 4: [0.62, 0.71), K = 5, 7 rows: n | amp | var */
static const double sersic_rows4[] = {
    0.62,
        6.29146, 3.20893, 0.298839, 0.0148154, 0.0,
        0.97823, 0.474444, 0.146615, 0.0262425, 0.00197332,
    0.63,
        6.09398, 3.38172, 0.372265, 0.0254703, 0.00068227,
        1.00341, 0.487314, 0.161969, 0.0366079, 0.00408525,
    0.64,
        5.99343, 3.48298, 0.421426, 0.0340169, 0.00150778,
        1.02426, 0.491832, 0.168388, 0.0422731, 0.0063184,
    0.65,
        5.92929, 3.55914, 0.460104, 0.0412235, 0.00229928,
        1.04345, 0.493446, 0.171136, 0.0454849, 0.00760083,
    0.7,
        5.80983, 3.81707, 0.588617, 0.0591976, 0.00360959,
        1.12831, 0.487538, 0.163206, 0.0427118, 0.00700954,
    0.71,
        5.80384, 3.85246, 0.611158, 0.0627668, 0.0038732,
        1.14378, 0.485858, 0.161486, 0.0420891, 0.00686317,
    0.75,
        5.78581, 3.98447, 0.700589, 0.0772783, 0.00495831,
        1.20435, 0.480685, 0.155308, 0.0396603, 0.00628884,
};
/* Range 5: [0.71, 1.5), K = 6, 16 rows: n | amp | var */
static const double sersic_rows5[] = {
    0.71,
        5.80384, 3.85246, 0.611158, 0.0627668, 0.0038732, 0.0,
        1.14378, 0.485858, 0.161486, 0.0420891, 0.00686317, 0.000125639,
    0.72,
        5.78449, 3.89063, 0.64027, 0.0693474, 0.00482271, 4.7711e-05,
        1.16019, 0.486018, 0.161901, 0.0432836, 0.00770569, 0.000360731,
    0.73,
        5.76622, 3.92465, 0.670321, 0.0771626, 0.00617073, 0.000149421,
        1.17644, 0.4865, 0.162878, 0.0450234, 0.00889761, 0.000772094,
    0.74,
        5.73834, 3.95798, 0.706138, 0.0881532, 0.00842185, 0.000385661,
        1.19343, 0.488511, 0.165609, 0.048145, 0.0108527, 0.00140575,
    0.75,
        5.74038, 3.98136, 0.726531, 0.0942424, 0.0102561, 0.000673631,
        1.20789, 0.487188, 0.1649, 0.0492449, 0.0122331, 0.00192144,
    0.8,
        5.75213, 4.09637, 0.834928, 0.119308, 0.0137876, 0.000939471,
        1.27836, 0.482225, 0.159263, 0.0470525, 0.0114908, 0.00174917,
    0.85,
        5.79382, 4.18044, 0.93266, 0.145078, 0.0176549, 0.00124088,
        1.34231, 0.477026, 0.153978, 0.0449401, 0.0107664, 0.00158922,
    0.9,
        5.85237, 4.24456, 1.02239, 0.171488, 0.0218791, 0.00158456,
        1.40053, 0.471837, 0.149149, 0.0429814, 0.0101053, 0.00144948,
    0.95,
        5.9154, 4.29436, 1.10933, 0.200379, 0.0267765, 0.00199386,
        1.4543, 0.467524, 0.145402, 0.0414866, 0.00958089, 0.0013368,
    1.0,
        5.99798, 4.33895, 1.17948, 0.223347, 0.0308197, 0.00235229,
        1.50163, 0.460978, 0.139974, 0.039152, 0.00885129, 0.00120215,
    1.1,
        5.83586, 4.57038, 1.46335, 0.317796, 0.0476365, 0.00386133,
        1.67005, 0.487971, 0.14593, 0.0400137, 0.00876429, 0.001151,
    1.2,
        5.73216, 4.75622, 1.71514, 0.410113, 0.0656856, 0.00563594,
        1.83935, 0.5119, 0.148904, 0.0396002, 0.00839362, 0.0010718,
    1.3,
        5.66968, 4.91188, 1.93948, 0.499674, 0.0846701, 0.00766234,
        2.00901, 0.53331, 0.150175, 0.0386185, 0.00792685, 0.000989366,
    1.4,
        5.64047, 5.05007, 2.13639, 0.5838, 0.104037, 0.00990716,
        2.17789, 0.551721, 0.149915, 0.0372631, 0.00742588, 0.000910892,
    1.5,
        5.64124, 5.1737, 2.30778, 0.662012, 0.12352, 0.0123547,
        2.34334, 0.566734, 0.148472, 0.035715, 0.00693027, 0.000839978,
    1.55,
        5.65049, 5.2323, 2.38519, 0.698456, 0.133083, 0.0136284,
        2.42472, 0.573034, 0.14735, 0.0348749, 0.00668341, 0.000806695,
};
/* Range 6: [1.5, 3.0), K = 7, 12 rows: n | amp | var */
static const double sersic_rows6[] = {
    1.5,
        5.64124, 5.1737, 2.30778, 0.662012, 0.12352, 0.0123547, 0.0,
        2.34334, 0.566734, 0.148472, 0.035715, 0.00693027, 0.000839978,
        1.27404e-07,
    1.6,
        5.61537, 5.2611, 2.48815, 0.765994, 0.15635, 0.018094, 0.00024499,
        2.52291, 0.589568, 0.151672, 0.0363008, 0.00717518,
        0.000947623, 4.35091e-05,
    1.7,
        5.69233, 5.38532, 2.59845, 0.81004, 0.165966, 0.018716, 6.74404e-05,
        2.66711, 0.591014, 0.144734, 0.032994, 0.00619227, 0.00076251,
        1.64929e-05,
    1.8,
        5.4949, 5.33007, 2.85122, 1.0466, 0.272322, 0.0468646, 0.00363625,
        2.93426, 0.659773, 0.170579, 0.0427035, 0.0094335, 0.001642,
        0.000200853,
    1.9,
        5.65598, 5.49575, 2.90782, 1.0314, 0.252496, 0.0382267, 0.00159733,
        3.04492, 0.640408, 0.153817, 0.0354658, 0.00708065, 0.0010568,
        9.93631e-05,
    2.0,
        5.41041, 5.36575, 3.14515, 1.31485, 0.406678, 0.0902769, 0.0114168,
        3.37063, 0.732207, 0.188988, 0.0485424, 0.0114482, 0.00228187,
        0.000330023,
    2.1,
        5.43605, 5.43024, 3.25475, 1.39479, 0.444065, 0.102018, 0.0133629,
        3.56316, 0.75047, 0.188957, 0.0475758, 0.0110707, 0.00219774,
        0.000322841,
    2.3,
        5.50695, 5.5516, 3.44571, 1.54199, 0.517969, 0.126929, 0.017716,
        3.94332, 0.782323, 0.188001, 0.0456873, 0.0103958, 0.00205463,
        0.00031153,
    2.5,
        5.59652, 5.66277, 3.6078, 1.67472, 0.59009, 0.153297, 0.0226131,
        4.31446, 0.808878, 0.186254, 0.0438849, 0.00980639, 0.0019366,
        0.000303158,
    2.7,
        5.69708, 5.76403, 3.74798, 1.79608, 0.66079, 0.180995, 0.0280086,
        4.67575, 0.831388, 0.184166, 0.0422426, 0.00930319, 0.00184046,
        0.00029719,
    3.0,
        5.85922, 5.89892, 3.92624, 1.96084, 0.764378, 0.224729, 0.0369456,
        5.19717, 0.85919, 0.180844, 0.0401082, 0.00869111, 0.00173002,
        0.00029187,
    3.1,
        5.91409, 5.9398, 3.97918, 2.01211, 0.798292, 0.239767, 0.040112,
        5.36623, 0.867383, 0.179783, 0.0394844, 0.00851896, 0.0017002,
        0.000290821,
};
/* Range 7: [3.0, 6.3), K = 8, 14 rows: n | amp | var */
static const double sersic_rows7[] = {
    3.0,
        5.85922, 5.89892, 3.92624, 1.96084, 0.764378, 0.224729, 0.0369456, 0.0,
        5.19717, 0.85919, 0.180844, 0.0401082, 0.00869111, 0.00173002,
        0.00029187, 1.2738e-07,
    3.1,
        5.89261, 5.92745, 3.98572, 2.02531, 0.808698, 0.245297,
        0.0422136, 0.000112894,
        5.39377, 0.875448, 0.182264, 0.0402242, 0.00872866, 0.0017551,
        0.000303572, 1.19031e-05,
    3.2,
        5.78724, 5.86899, 4.07897, 2.17279, 0.923106, 0.306152,
        0.0641956, 0.00213177,
        5.78016, 0.947204, 0.200892, 0.0455095, 0.0102528, 0.00217963,
        0.000413628, 5.93462e-05,
    3.3,
        5.47036, 5.62078, 4.1782, 2.44848, 1.17503, 0.461173, 0.135215,
        0.0191445,
        6.50002, 1.13024, 0.257658, 0.0632557, 0.0156834, 0.00377045,
        0.000851159, 0.000178873,
    3.4,
        5.4215, 5.571, 4.22317, 2.551, 1.27341, 0.527162, 0.168619, 0.0282894,
        6.86724, 1.19689, 0.275578, 0.0686685, 0.0173948, 0.00431013,
        0.00100836, 0.000212777,
    3.5,
        5.44946, 5.59631, 4.2688, 2.60459, 1.31816, 0.554882, 0.180674,
        0.0307001,
        7.12481, 1.22187, 0.278094, 0.0687613, 0.0173456, 0.00429558,
        0.00100893, 0.000214998,
    4.0,
        5.60921, 5.72377, 4.46477, 2.83675, 1.51974, 0.686093,
        0.240192, 0.0426452,
        8.40275, 1.33355, 0.287321, 0.0685146, 0.0169499, 0.00418865,
        0.00100242, 0.000223784,
    4.5,
        6.00513, 5.81635, 4.51757, 2.92305, 1.62101, 0.766762,
        0.282114, 0.0516328,
        8.54868, 1.27631, 0.26422, 0.0613012, 0.014927, 0.00367536,
        0.000889046, 0.000204293,
    5.0,
        6.34001, 5.893, 4.56595, 3.00318, 1.71658, 0.844897, 0.323944,
        0.0607105,
        8.64798, 1.22663, 0.245659, 0.0557539, 0.0134131, 0.00329657,
        0.000805513, 0.000189682,
    5.5,
        6.62811, 5.95913, 4.61021, 3.07655, 1.80515, 0.919469,
        0.365005, 0.0697116,
        8.71157, 1.18229, 0.230188, 0.0513001, 0.0122278, 0.0030045,
        0.000741307, 0.000178303,
    6.0,
        6.87598, 6.01584, 4.65195, 3.14545, 1.88867, 0.990882,
        0.404981, 0.0785137,
        8.75587, 1.14398, 0.217394, 0.0477077, 0.0112856, 0.00277359,
        0.000690429, 0.000169168,
    6.1,
        6.91899, 6.02455, 4.66025, 3.16021, 1.90634, 1.00582, 0.413331,
        0.0803644,
        8.76912, 1.13837, 0.21546, 0.0471597, 0.01114, 0.00273729,
        0.000682265, 0.000167666,
    6.2,
        6.96467, 6.03488, 4.66744, 3.17248, 1.92163, 1.01935, 0.421289,
        0.0821744,
        8.77167, 1.13077, 0.213104, 0.0465242, 0.0109783, 0.00269904,
        0.000674078, 0.000166197,
    6.3,
        7.00941, 6.04646, 4.67528, 3.1842, 1.93614, 1.03217, 0.428476,
        0.0837091,
        8.77363, 1.12301, 0.210661, 0.0458606, 0.0108084, 0.00265766,
        0.000664904, 0.000164538,
};

typedef struct {
    double lo, hi;              /* the range is lo <= n < hi */
    int k;                      /* Gaussians in the range */
    int rows;                   /* tabulated rows */
    const double *tab;          /* rows × (1 + 2k) */
} sersic_range;

#define SERSIC_NRANGE 8
static const sersic_range sersic_ranges[SERSIC_NRANGE] = {
    { 0.29, 0.42, 3, 14, sersic_rows0 },
    { 0.42, 0.51, 2, 12, sersic_rows1 },
    { 0.51, 0.57, 3, 8, sersic_rows2 },
    { 0.57, 0.62, 4, 6, sersic_rows3 },
    { 0.62, 0.71, 5, 7, sersic_rows4 },
    { 0.71, 1.5, 6, 16, sersic_rows5 },
    { 1.5, 3.0, 7, 12, sersic_rows6 },
    { 3.0, 6.3, 8, 14, sersic_rows7 },
};

/* Softening core (n, 1 − softened/true central flux), added for n > 1. */
#define CORE_ROWS 23
static const double core_n[CORE_ROWS] = {
    1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 3.75,
    4.0, 4.25, 4.5, 4.75, 5.0, 5.25, 5.5, 5.75, 6.0, 6.25, 6.5
};
static const double core_frac[CORE_ROWS] = {
    0.0, 7e-05, 0.000202, 0.000425, 0.000769, 0.001262, 0.001928,
    0.002788, 0.003853, 0.00513, 0.006622, 0.008325, 0.010233, 0.011748,
    0.013358, 0.015057, 0.016839, 0.018698, 0.020628, 0.022625, 0.024683,
    0.026796, 0.028961
};

/* ---- Not-a-knot cubic spline ------------------------------------------
 * reference/mog_profiles.md: the splines are cubic interpolants with the
 * not-a-knot end condition (GSL's cspline is natural and misses the
 * sample outputs).  We solve for the second derivatives M_j: interior
 * rows are the usual continuity of the first derivative; the first and
 * last rows ask the third derivative to be continuous at x_1 and x_{m-2}.
 * The matrix depends on the knots only, so it is LU-factored once per
 * call and reused for every component (dense, partial pivoting: at most
 * 23 knots, and the reduced tridiagonal form can have a zero pivot).
 */
#define SPLINE_MAX CORE_ROWS     /* the longest table; ranges have <= 16 */

typedef struct {
    int m;
    double h[SPLINE_MAX];               /* knot spacings */
    double lu[SPLINE_MAX][SPLINE_MAX];  /* L (unit, below) and U */
    int piv[SPLINE_MAX];                /* row swapped in at step j */
} nak_lu;

static void nak_factor(const double *x, int m, nak_lu *f)
{
    int i, j, r;

    /* Assemble the system (m >= 4, ascending distinct knots). */
    memset(f, 0, sizeof *f);
    f->m = m;
    for (j = 0; j < m - 1; ++j)
        f->h[j] = x[j + 1] - x[j];
    f->lu[0][0] = f->h[1];
    f->lu[0][1] = -(f->h[0] + f->h[1]);
    f->lu[0][2] = f->h[0];
    for (i = 1; i < m - 1; ++i) {
        f->lu[i][i - 1] = f->h[i - 1];
        f->lu[i][i] = 2.0 * (f->h[i - 1] + f->h[i]);
        f->lu[i][i + 1] = f->h[i];
    }
    f->lu[m - 1][m - 3] = f->h[m - 2];
    f->lu[m - 1][m - 2] = -(f->h[m - 3] + f->h[m - 2]);
    f->lu[m - 1][m - 1] = f->h[m - 3];

    /* Doolittle LU with partial pivoting, in place. */
    for (j = 0; j < m; ++j) {
        int p = j;
        for (r = j + 1; r < m; ++r)
            if (fabs(f->lu[r][j]) > fabs(f->lu[p][j]))
                p = r;
        f->piv[j] = p;
        if (p != j)
            for (i = 0; i < m; ++i) {
                double t = f->lu[j][i];
                f->lu[j][i] = f->lu[p][i];
                f->lu[p][i] = t;
            }
        for (r = j + 1; r < m; ++r) {
            double l = f->lu[r][j] / f->lu[j][j];
            f->lu[r][j] = l;
            for (i = j + 1; i < m; ++i)
                f->lu[r][i] -= l * f->lu[j][i];
        }
    }
}

/* Second derivatives M (OUTPUT, m values) of the spline through y. */
static void nak_solve(const nak_lu *f, const double *y, double *M)
{
    int m = f->m, i, j;

    for (i = 0; i < m; ++i)
        M[i] = 0.0;
    for (i = 1; i < m - 1; ++i)
        M[i] = 6.0 * ((y[i + 1] - y[i]) / f->h[i] -
                      (y[i] - y[i - 1]) / f->h[i - 1]);
    for (j = 0; j < m; ++j) {
        int p = f->piv[j];
        if (p != j) {
            double t = M[j];
            M[j] = M[p];
            M[p] = t;
        }
        for (i = j + 1; i < m; ++i)
            M[i] -= f->lu[i][j] * M[j];
    }
    for (j = m - 1; j >= 0; --j) {
        for (i = j + 1; i < m; ++i)
            M[j] -= f->lu[j][i] * M[i];
        M[j] /= f->lu[j][j];
    }
}

/* Index j of the knot interval [x_j, x_{j+1}] holding t (t in span). */
static int nak_interval(const double *x, int m, double t)
{
    int j = 0;

    while (j < m - 2 && x[j + 1] < t)
        ++j;
    return j;
}

/* Value (OUTPUT s) and derivative (OUTPUT ds) at t in interval j. */
static void nak_eval(const nak_lu *f, const double *x, const double *y,
                     const double *M, int j, double t, double *s,
                     double *ds)
{
    double h = f->h[j], a = x[j + 1] - t, b = t - x[j];
    double ca = y[j] / h - M[j] * h / 6.0;
    double cb = y[j + 1] / h - M[j + 1] * h / 6.0;

    *s = (M[j] * a * a * a + M[j + 1] * b * b * b) / (6.0 * h) +
         ca * a + cb * b;
    *ds = (-M[j] * a * a + M[j + 1] * b * b) / (2.0 * h) - ca + cb;
}

/* ---- Mixtures ----------------------------------------------------------
 */

/* Stable insertion sort of the components by increasing variance
 * (reference/mog_profiles.md step 5: the core comes first). */
static void mog_sort(fit_mog *g)
{
    int i, j;

    for (i = 1; i < g->k; ++i) {
        double a = g->amp[i], v = g->var[i];
        double da = g->damp_dn[i], dv = g->dvar_dn[i];
        for (j = i; j > 0 && g->var[j - 1] > v; --j) {
            g->amp[j] = g->amp[j - 1];
            g->var[j] = g->var[j - 1];
            g->damp_dn[j] = g->damp_dn[j - 1];
            g->dvar_dn[j] = g->dvar_dn[j - 1];
        }
        g->amp[j] = a;
        g->var[j] = v;
        g->damp_dn[j] = da;
        g->dvar_dn[j] = dv;
    }
}

/* A fixed table: amplitudes scaled to sum 1 − core, then, if core > 0,
 * a zero-variance component of amplitude core prepended. */
static void mog_fixed(const double *amp, const double *var, int k,
                      double core, double nre, fit_mog *out)
{
    double sum = 0.0;
    int i, o = core > 0.0;

    for (i = 0; i < k; ++i)
        sum += amp[i];
    if (o) {
        out->amp[0] = core;
        out->var[0] = 0.0;
    }
    for (i = 0; i < k; ++i) {
        out->amp[o + i] = amp[i] / sum * (1.0 - core);
        out->var[o + i] = var[i];
    }
    out->k = k + o;
    out->nre = nre;
}

/* Core fraction c(n) and dc/dn from the core spline (n > 1). */
static void sersic_core(double n, double *c, double *dc)
{
    nak_lu f;
    double M[CORE_ROWS];
    int j;

    nak_factor(core_n, CORE_ROWS, &f);
    nak_solve(&f, core_frac, M);
    j = nak_interval(core_n, CORE_ROWS, n);
    nak_eval(&f, core_n, core_frac, M, j, n, c, dc);
}

/* The Sérsic recipe of reference/mog_profiles.md, steps 1-6, with the
 * derivatives in n carried through each step (n already checked). */
static void sersic_mog(double n, fit_mog *out)
{
    const sersic_range *rg = &sersic_ranges[SERSIC_NRANGE - 1];
    double x[SPLINE_MAX], y[SPLINE_MAX], M[SPLINE_MAX];
    double sum = 0.0, dsum = 0.0;
    nak_lu f;
    int r, i, j, iv, stride;

    /* Step 1: the range with lo <= n < hi (n = 6.3 is in the last). */
    for (r = 0; r < SERSIC_NRANGE; ++r)
        if (n >= sersic_ranges[r].lo && n < sersic_ranges[r].hi) {
            rg = &sersic_ranges[r];
            break;
        }
    stride = 1 + 2 * rg->k;
    for (j = 0; j < rg->rows; ++j)
        x[j] = rg->tab[j * stride];
    nak_factor(x, rg->rows, &f);
    iv = nak_interval(x, rg->rows, n);

    /* Step 2: amplitude and ln variance splines, per component. */
    for (i = 0; i < rg->k; ++i) {
        double lv, dlv;
        for (j = 0; j < rg->rows; ++j)
            y[j] = rg->tab[j * stride + 1 + i];
        nak_solve(&f, y, M);
        nak_eval(&f, x, y, M, iv, n, &out->amp[i], &out->damp_dn[i]);
        for (j = 0; j < rg->rows; ++j)
            y[j] = log(rg->tab[j * stride + 1 + rg->k + i]);
        nak_solve(&f, y, M);
        nak_eval(&f, x, y, M, iv, n, &lv, &dlv);
        out->var[i] = exp(lv);
        out->dvar_dn[i] = out->var[i] * dlv;
        sum += out->amp[i];
        dsum += out->damp_dn[i];
    }
    out->k = rg->k;
    out->nre = SERSIC_NRE;

    /* Step 3: a_i/S, d(a_i/S) = (a_i' S − a_i S') / S². */
    for (i = 0; i < rg->k; ++i) {
        out->damp_dn[i] = (out->damp_dn[i] * sum - out->amp[i] * dsum) /
                          (sum * sum);
        out->amp[i] /= sum;
    }

    /* Step 4: for n > 1 scale to 1 − c(n) and append the core. */
    if (n > 1.0) {
        double c, dc;
        sersic_core(n, &c, &dc);
        for (i = 0; i < rg->k; ++i) {
            out->damp_dn[i] = out->damp_dn[i] * (1.0 - c) -
                              out->amp[i] * dc;
            out->amp[i] *= 1.0 - c;
        }
        out->amp[rg->k] = c;
        out->damp_dn[rg->k] = dc;
        out->var[rg->k] = 0.0;
        out->dvar_dn[rg->k] = 0.0;
        out->k = rg->k + 1;
    }

    /* Step 5. */
    mog_sort(out);
}

int fit_profile_mog(int kind, double n, fit_mog *out, pp_error *err)
{
    memset(out, 0, sizeof *out);
    switch (kind) {
    case FIT_PROFILE_POINT:
        out->k = 1;
        out->amp[0] = 1.0;
        return PP_OK;
    case FIT_PROFILE_EXP:
        mog_fixed(exp_amp, exp_var, EXP_K, 0.0, EXP_NRE, out);
        return PP_OK;
    case FIT_PROFILE_DEV:
        mog_fixed(dev_amp, dev_var, DEV_K, FIT_DEV_CORE, DEV_NRE, out);
        return PP_OK;
    case FIT_PROFILE_GAUSS:
        out->k = 1;
        out->amp[0] = 1.0;
        out->var[0] = 1.0;
        out->nre = GAUSS_NRE;
        return PP_OK;
    case FIT_PROFILE_SERSIC:
        /* SPEC §10.2: n is illegal outside [0.29, 6.3]. */
        if (!(n >= FIT_SERSIC_N_MIN && n <= FIT_SERSIC_N_MAX))
            return pp_error_set(err, PP_EDATA,
                                "sersic index n = %g out of range, "
                                "expected %g <= n <= %g", n,
                                FIT_SERSIC_N_MIN, FIT_SERSIC_N_MAX);
        sersic_mog(n, out);
        return PP_OK;
    default:
        return pp_error_set(err, PP_EDATA, "unknown profile kind %d, "
                            "expected %d..%d", kind, FIT_PROFILE_POINT,
                            FIT_PROFILE_SERSIC);
    }
}

/* ---- Soft ellipse ------------------------------------------------------
 * With u = exp(−E), E = |ee|: ab = u/(2−u), and S = T·Tᵀ expands to
 *     S = re²·[p·I + q·[[−ee1, ee2], [ee2, ee1]]],
 *     p = (1 + ab²)/2,   q = (1 − ab²)/(2E) = 2g/(2−u)²,
 * where g = (1 − u)/E.  This form needs no θ, so it and its derivatives
 * stay finite at E = 0 (q → 2), where θ is undefined.
 */
#define AB_MIN 0.001        /* SPEC §10.2: ab floored at 0.001 */
#define SMALL_E 1e-3        /* below, g and g' from their series */

void fit_ellipse_ab_theta(double ee1, double ee2, double *ab,
                          double *theta)
{
    double u = exp(-hypot(ee1, ee2));

    *ab = fmax(u / (2.0 - u), AB_MIN);
    *theta = 0.5 * atan2(ee2, ee1);
}

/* p, q and their derivatives in E. */
static void ellipse_pq(double E, double *p, double *dp, double *q,
                       double *dq)
{
    double u = exp(-E), ab = u / (2.0 - u), w = 2.0 - u, g, dg;

    if (ab < AB_MIN) {
        /* Floored: ab constant, q = (1 − ab²)/(2E). */
        *p = 0.5 * (1.0 + AB_MIN * AB_MIN);
        *dp = 0.0;
        *q = (1.0 - AB_MIN * AB_MIN) / (2.0 * E);
        *dq = -*q / E;
        return;
    }
    if (E < SMALL_E) {
        /* g = Σ (−E)^k/(k+1)!, g' its term-wise derivative. */
        g = 1.0 - E / 2.0 + E * E / 6.0 - E * E * E / 24.0 +
            E * E * E * E / 120.0;
        dg = -0.5 + E / 3.0 - E * E / 8.0 + E * E * E / 30.0;
    } else {
        g = -expm1(-E) / E;
        dg = (u - g) / E;
    }
    *p = 0.5 * (1.0 + ab * ab);
    *dp = ab * (-2.0 * u / (w * w));
    *q = 2.0 * g / (w * w);
    *dq = 2.0 * dg / (w * w) - 4.0 * g * u / (w * w * w);
}

void fit_ellipse_cov(double logre, double ee1, double ee2,
                     double S[2][2], double dS[3][2][2])
{
    double r2 = exp(2.0 * logre), E = hypot(ee1, ee2);
    double p, dp, q, dq, c1 = 0.0, c2 = 0.0;
    int a, b;

    ellipse_pq(E, &p, &dp, &q, &dq);
    S[0][0] = r2 * (p - q * ee1);
    S[0][1] = S[1][0] = r2 * q * ee2;
    S[1][1] = r2 * (p + q * ee1);
    if (!dS)
        return;

    /* ∂/∂ee_i = (∂/∂E)·ee_i/E + explicit terms; at E = 0 the radial
     * (cone) term is dropped, see profile.h. */
    if (E > 0.0) {
        c1 = ee1 / E;
        c2 = ee2 / E;
    }
    for (a = 0; a < 2; ++a)
        for (b = 0; b < 2; ++b)
            dS[0][a][b] = 2.0 * S[a][b];
    dS[1][0][0] = r2 * (c1 * (dp - dq * ee1) - q);
    dS[1][0][1] = dS[1][1][0] = r2 * c1 * dq * ee2;
    dS[1][1][1] = r2 * (c1 * (dp + dq * ee1) + q);
    dS[2][0][0] = r2 * c2 * (dp - dq * ee1);
    dS[2][0][1] = dS[2][1][0] = r2 * (c2 * dq * ee2 + q);
    dS[2][1][1] = r2 * c2 * (dp + dq * ee1);
}
