/* test_frames.c - frames.json round trip and its errors (pp_frames). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pp_frames.h"
#include "pp_io.h"
#include "tap.h"

static char dir[] = "/tmp/pp-test-frames-XXXXXX";

static void fill(pp_frames *f)
{
    static pp_frame_band bands[2];

    memset(bands, 0, sizeof bands);
    bands[0] = (pp_frame_band){ "m400", "/data/m400.fits", 0, 24.5,
                                pow(10, -0.4 * (24.5 - 25.0)), 3.0,
                                3.0 * pow(10, -0.4 * (24.5 - 25.0)), 1.5,
                                60000.0, 3.5, "PEEING", 0.505 };
    bands[1] = (pp_frame_band){ "m425", "/data/m425.fits.fz", 1, 25.2,
                                pow(10, -0.4 * (25.2 - 25.0)), 2.0,
                                2.0 * pow(10, -0.4 * (25.2 - 25.0)), 1.2,
                                NAN, NAN, "", 0.505 };
    *f = (pp_frames){ 25.0, 1000, 800, 1, 10, 990, 10, 790, 980, 780, 2,
                      bands };
}

static void test_round_trip(void)
{
    pp_error err = PP_ERROR_INIT;
    pp_frames f, g = PP_FRAMES_INIT;
    char *path = pp_io_path_join(dir, "frames.json"), *text = NULL;

    fill(&f);
    check_int(pp_frames_write(path, &f, &err), ==, PP_OK,
              "frames: write succeeds");
    pp_io_read_file(path, &text, NULL, &err);
    check(text && strstr(text, "\"format\": \"patchphot-frames/1\"") &&
          strstr(text, "\"saturate\": null") &&
          strstr(text, "\"fwhm_source\": null"),
          "frames: format tag, and null for absent values");
    check(text && strstr(text, "\"zp_ref\"") < strstr(text, "\"full\"") &&
          strstr(text, "\"full\"") < strstr(text, "\"crop\"") &&
          strstr(text, "\"crop\"") < strstr(text, "\"work\"") &&
          strstr(text, "\"work\"") < strstr(text, "\"bands\""),
          "frames: keys in the order of SPEC 6.1");
    free(text);
    check_int(pp_frames_read(path, &g, &err), ==, PP_OK,
              "frames: read back");
    check_int(g.nbands, ==, 2, "frames: two bands");
    check_str(g.bands[1].band, "m425", "frames: band order kept");
    check_int(g.bands[1].hdu, ==, 1, "frames: hdu kept");
    check(g.bands[0].scale == f.bands[0].scale,
          "frames: scale round-trips exactly");
    check(isnan(g.bands[1].saturate) && isnan(g.bands[1].fwhm_pix),
          "frames: null reads back as NaN");
    check_str(g.bands[0].fwhm_source, "PEEING", "frames: FWHM source");
    check(g.x0 == 10 && g.x1 == 990 && g.work_w == 980 && g.crop_enabled,
          "frames: crop box and working frame");
    check_int(pp_frames_find_band(&g, "m425"), ==, 1, "frames: find band");
    check_int(pp_frames_find_band(&g, "m999"), ==, -1,
              "frames: unknown band is -1");
    pp_frames_release(&g);
    free(path);
}

static void test_errors(void)
{
    pp_error err = PP_ERROR_INIT;
    pp_frames g = PP_FRAMES_INIT;
    char *path = pp_io_path_join(dir, "bad.json");

    pp_io_write_text(path, "{\"format\": \"something-else\"}\n", &err);
    check_int(pp_frames_read(path, &g, &err), ==, PP_EDATA,
              "frames: a foreign format is refused");
    check(strstr(err.msg, "bad.json") && strstr(err.msg, "format"),
          "frames: ... naming the file and key");
    pp_error_clear(&err);
    pp_io_write_text(path, "{\"format\": \"patchphot-frames/1\", "
                     "\"zp_ref\": 25, \"full\": {\"width\": 10, "
                     "\"height\": 10}, \"crop\": {\"enabled\": true, "
                     "\"x0\": 0, \"x1\": 10, \"y0\": 0, \"y1\": 10}, "
                     "\"work\": {\"width\": 10, \"height\": 10}, "
                     "\"bands\": [{\"band\": \"g\"}]}\n", &err);
    check_int(pp_frames_read(path, &g, &err), ==, PP_EDATA,
              "frames: a band without its keys is refused");
    check(strstr(err.msg, "bands[0]") != NULL,
          "frames: ... naming the band entry");
    check(g.bands == NULL && g.nbands == 0,
          "frames: a failed read leaves an empty struct");
    free(path);
}

int main(void)
{
    pp_error err = PP_ERROR_INIT;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip();
    test_errors();
    pp_io_remove_tree(dir, &err);
    return tap_done();
}
