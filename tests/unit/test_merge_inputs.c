/* test_merge_inputs.c - pp-merge's inputs: fit catalogues handed over in
 * patch order by the reader threads, stale-file counting (SPEC §11 step
 * 2), patches.json reading.  Files are made in a fresh temporary
 * directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pp_io.h"
#include "pp_mem.h"

#include "merge.h"
#include "tap.h"

static char tmpdir[] = "/tmp/test_merge_inputs.XXXXXX";

static char *put(const char *rel, const char *text)
{
    char *path = pp_io_path_join(tmpdir, rel), *dir = pp_io_dirname(path);
    pp_error err = PP_ERROR_INIT;
    FILE *fp;

    pp_io_mkdir_p(dir, &err);
    fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    free(dir);
    return path;
}

/* What the consumer saw: the order of calls and the first cell of each. */
typedef struct {
    int n;
    int order[64];
    char first[64][16];
    int fail_at;            /* return PP_EDATA at this index, or -1 */
} seen;

static int consume(void *ctx, int p, const pp_table *t, const char *path,
                   pp_error *err)
{
    seen *s = ctx;

    s->order[s->n] = p;
    snprintf(s->first[s->n++], 16, "%s", pp_table_get(t, 0, 0));
    if (p == s->fail_at)
        return pp_error_set(err, PP_EDATA, "stop at %d", p);
    return PP_OK;
}

static void test_reader(void)
{
    char *path[40];
    int threads[] = { 1, 2, 5 };

    for (int p = 0; p < 40; ++p) {
        char rel[64], text[64];
        snprintf(rel, sizeof rel, "rd/f%02d.csv", p);
        snprintf(text, sizeof text, "a,b\nv%d,x\n", p);
        /* every 7th patch has no file to read */
        path[p] = p % 7 == 3 ? NULL : put(rel, text);
    }
    for (int k = 0; k < 3; ++k) {
        seen s = { .fail_at = -1 };
        pp_error err = PP_ERROR_INIT;
        int ok = 1, m = 0;
        char title[96];

        snprintf(title, sizeof title, "%d thread(s): every file handed "
                 "over once", threads[k]);
        check_int(merge_read_ordered(path, 40, threads[k], consume, &s,
                                     &err), ==, PP_OK, title);
        for (int p = 0; p < 40; ++p) {
            char want[16];
            if (!path[p])
                continue;
            snprintf(want, sizeof want, "v%d", p);
            ok &= m < s.n && s.order[m] == p && !strcmp(s.first[m], want);
            ++m;
        }
        snprintf(title, sizeof title, "%d thread(s): in patch order, each "
                 "with its own table", threads[k]);
        check(ok && s.n == m, title);

        s = (seen){ .fail_at = 20 };
        snprintf(title, sizeof title, "%d thread(s): a consumer error "
                 "stops the run", threads[k]);
        check_int(merge_read_ordered(path, 40, threads[k], consume, &s,
                                     &err), ==, PP_EDATA, title);
        check(s.order[s.n - 1] == 20 && !strcmp(err.msg, "stop at 20"),
              "nothing is handed over after it");
    }
    /* An unreadable file: the error of the first in patch order. */
    {
        seen s = { .fail_at = -1 };
        pp_error err = PP_ERROR_INIT;
        char *bad = path[30];

        path[30] = pp_io_path_join(tmpdir, "rd/missing.csv");
        check_int(merge_read_ordered(path, 40, 4, consume, &s, &err), ==,
                  PP_EIO, "a missing file is PP_EIO");
        check(strstr(err.msg, "missing.csv") != NULL,
              "naming the file");
        check_int(s.order[s.n - 1], ==, 29,
                  "the files before it were handed over, none after");
        free(path[30]);
        path[30] = bad;
    }
    for (int p = 0; p < 40; ++p)
        free(path[p]);
}

static void test_stale(void)
{
    char *keep = put("out/r00/r00_cat_fit.csv", "x\n");
    char *exp[3] = { keep, NULL, NULL };
    char *dir = pp_io_path_join(tmpdir, "out");
    char first[4096];
    char *p1 = put("out/old/old_cat_fit.csv", "x\n");
    char *p2 = put("out/r00/copy_cat_fit.csv", "x\n");
    char *p3 = put("out/a/b/c/deep_cat_fit.csv", "x\n");
    char *p4 = put("out/r00/r00.log", "x\n");
    char *link = pp_io_path_join(dir, "loop");

    check(symlink(dir, link) == 0, "a link looping back (not followed)");
    exp[1] = pp_io_path_join(tmpdir, "out/missing/missing_cat_fit.csv");
    check_int(merge_count_stale(dir, "*_cat_fit.csv", exp, 3, first,
                                sizeof first), ==, 3,
              "three fit CSVs that are not the expected ones");
    check(strstr(first, "_cat_fit.csv") != NULL && strcmp(first, keep),
          "the example named is one of them");
    check_int(merge_count_stale(dir, "*.log", exp, 3, first, sizeof first),
              ==, 1, "merge.pattern decides what counts");
    check_int(merge_count_stale(dir, "*_cat_fit.csv", exp, 0, first,
                                sizeof first), ==, 4,
              "with no expected file, all four count");
    check_int(merge_count_stale("/nonexistent/dir", "*", exp, 0, first,
                                sizeof first), ==, 0,
              "a missing directory has none");
    check_str(first, "", "and names none");
    free(keep); free(exp[1]); free(dir); free(p1); free(p2); free(p3);
    free(p4); free(link);
}

static void test_patches(void)
{
    merge_patch *p = NULL;
    int n = -1;
    pp_error err = PP_ERROR_INIT;
    char *ok = put("p/ok.json",
        "[{\"patch_tag\": \"r00_c00_pr00_pc00\", \"payload\": "
        "\"r00_c00_pr00_pc00.fits\", \"x0_base\": 0, \"x1_base\": 10, "
        "\"y0_base\": 5, \"y1_base\": 15},\n"
        " {\"patch_tag\": \"r00_c00_pr00_pc01\", \"payload\": \"\", "
        "\"x0_base\": 10, \"x1_base\": 20, \"y0_base\": 5, "
        "\"y1_base\": 15}]\n");
    char *dup = put("p/dup.json",
        "[{\"patch_tag\": \"t\", \"payload\": \"\", \"x0_base\": 0, "
        "\"x1_base\": 1, \"y0_base\": 0, \"y1_base\": 1},"
        " {\"patch_tag\": \"t\", \"payload\": \"\", \"x0_base\": 0, "
        "\"x1_base\": 1, \"y0_base\": 0, \"y1_base\": 1}]");
    char *nokey = put("p/nokey.json", "[{\"patch_tag\": \"t\"}]");
    char *none = pp_io_path_join(tmpdir, "p/none.json");

    check_int(merge_patches_read(ok, &p, &n, &err), ==, PP_OK,
              "patches.json read");
    check_int(n, ==, 2, "two patches");
    check(p && !strcmp(p[0].tag, "r00_c00_pr00_pc00") && p[0].has_payload &&
          p[0].x0 == 0 && p[0].x1 == 10 && p[0].y0 == 5 && p[0].y1 == 15,
          "first: tag, payload, base box");
    check(p && !p[1].has_payload && p[1].x0 == 10,
          "second: no payload");
    free(p);
    check_int(merge_patches_read(dup, &p, &n, &err), ==, PP_EDATA,
              "a repeated tag is an error");
    check(strstr(err.msg, "patch_tag 't' repeats") != NULL, "saying so");
    check_int(merge_patches_read(nokey, &p, &n, &err), ==, PP_EDATA,
              "a missing key is an error");
    check(strstr(err.msg, "key 'payload'") != NULL, "naming the key");
    check_int(merge_patches_read(none, &p, &n, &err), ==, PP_EIO,
              "a missing file is PP_EIO");
    check(strstr(err.msg, "run pp-patchify first") != NULL,
          "saying which stage writes it");
    free(ok); free(dup); free(nokey); free(none);
}

int main(void)
{
    pp_error err = PP_ERROR_INIT;

    if (!mkdtemp(tmpdir))
        return 1;
    test_reader();
    test_stale();
    test_patches();
    pp_io_remove_tree(tmpdir, &err);
    return tap_done();
}
