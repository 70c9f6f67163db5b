/* test_json.c - pp_json: exact text written (2-space indent, insertion
 * order, trailing newline, null for NaN), reading and its errors, the
 * getters' messages. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pp_error.h"
#include "pp_io.h"
#include "pp_json.h"
#include "tap.h"

static char dir[] = "/tmp/pp-test-XXXXXX";

/* The text SPEC §3.5 asks for, spelled out: keys in insertion order (not
 * sorted), 2-space indent, reals with 17 digits, NaN and inf as null. */
static const char EXPECTED[] =
    "{\n"
    "  \"zeta\": 1,\n"
    "  \"alpha\": \"a \\\"quoted\\\" word\",\n"
    "  \"nested\": {\n"
    "    \"width\": 100,\n"
    "    \"enabled\": true,\n"
    "    \"scale\": 0.10000000000000001\n"
    "  },\n"
    "  \"list\": [\n"
    "    1.5,\n"
    "    null,\n"
    "    null\n"
    "  ],\n"
    "  \"empty\": {}\n"
    "}\n";

static json_t *build(void)
{
    json_t *root = json_object(), *nested = json_object(),
           *list = json_array();

    json_object_set_new(root, "zeta", json_integer(1));
    json_object_set_new(root, "alpha", json_string("a \"quoted\" word"));
    json_object_set_new(nested, "width", json_integer(100));
    json_object_set_new(nested, "enabled", json_true());
    json_object_set_new(nested, "scale", pp_json_real(0.1));
    json_object_set_new(root, "nested", nested);
    json_array_append_new(list, pp_json_real(1.5));
    json_array_append_new(list, pp_json_real(NAN));
    json_array_append_new(list, pp_json_real(-INFINITY));
    json_object_set_new(root, "list", list);
    json_object_set_new(root, "empty", json_object());
    return root;
}

static void test_write_read(void)
{
    char *p = pp_io_path_join(dir, "a.json"), *text = NULL;
    json_t *root = build(), *back = NULL;
    pp_error err = PP_ERROR_INIT;
    double v = 0;
    int rc;

    rc = pp_json_write(p, root, &err);
    check_int(rc, ==, PP_OK, "json: nested object written");
    pp_io_read_file(p, &text, NULL, &err);
    check_str(text, EXPECTED, "json: exact text: insertion order, 2-space "
              "indent, null for NaN/inf, trailing newline");
    free(text);

    rc = pp_json_read(p, &back, &err);
    check(rc == PP_OK && back, "json: file reads back");
    rc = pp_json_get_number(json_object_get(back, "nested"), "scale", "ctx",
                            &v, &err);
    check(rc == PP_OK && v == 0.1, "json: 0.1 round-trips exactly");
    check(json_is_null(json_array_get(json_object_get(back, "list"), 1)),
          "json: NaN was written as null");
    {
        char *p2 = pp_io_path_join(dir, "b.json");
        double third = 1.0 / 3.0, tiny = 4.9e-324;
        json_t *o = json_object();
        json_t *b2 = NULL;
        double t1 = 0, t2 = 0;
        json_object_set_new(o, "third", pp_json_real(third));
        json_object_set_new(o, "tiny", pp_json_real(tiny));
        pp_json_write(p2, o, &err);
        pp_json_read(p2, &b2, &err);
        pp_json_get_number(b2, "third", "b", &t1, &err);
        pp_json_get_number(b2, "tiny", "b", &t2, &err);
        check(t1 == third && t2 == tiny,
              "json: 1/3 and the smallest subnormal round-trip");
        json_decref(o);
        json_decref(b2);
        free(p2);
    }
    json_decref(back);
    json_decref(root);
    free(p);
}

static void test_read_errors(void)
{
    char *p = pp_io_path_join(dir, "bad.json");
    json_t *root = (json_t *)1;
    pp_error err = PP_ERROR_INIT;
    int rc;

    pp_io_write_text(p, "{\n  \"a\": 1,\n  \"b\": ,\n  \"c\": 2\n}\n", &err);
    rc = pp_json_read(p, &root, &err);
    check(rc == PP_EDATA && root == NULL, "json: a syntax error is PP_EDATA");
    check(strstr(err.msg, "bad.json': line 3, column ") != NULL,
          "json: the parse error names the file and line 3");

    pp_io_write_text(p, "{\"a\": 1, \"a\": 2}\n", &err);
    rc = pp_json_read(p, &root, &err);
    check(rc == PP_EDATA && strstr(err.msg, "duplicate"),
          "json: a duplicate key is refused");
    free(p);

    p = pp_io_path_join(dir, "missing.json");
    rc = pp_json_read(p, &root, &err);
    check(rc == PP_EIO && strstr(err.msg, "cannot open '") &&
          strstr(err.msg, "missing.json': No such file"),
          "json: a missing file is PP_EIO with errno text");
    free(p);

    p = pp_io_path_join(dir, "no/dir/x.json");
    root = json_object();
    rc = pp_json_write(p, root, &err);
    check(rc == PP_EIO && strstr(err.msg, "x.json"),
          "json: an unwritable path is PP_EIO");
    json_decref(root);
    free(p);
}

static void test_getters(void)
{
    json_error_t jerr;
    json_t *o = json_loads("{\"n\": 3, \"r\": 2.5, \"s\": \"abc\", "
                           "\"b\": false, \"z\": null}", 0, &jerr);
    pp_error err = PP_ERROR_INIT;
    const char *s = NULL;
    double d = 0;
    long l = 0;
    int b = -1, rc;

    rc = pp_json_get_number(o, "n", "f.json", &d, &err);
    check(rc == PP_OK && d == 3.0, "json: an integer is a number");
    rc = pp_json_get_number(o, "r", "f.json", &d, &err);
    check(rc == PP_OK && d == 2.5, "json: a real is a number");
    rc = pp_json_get_int(o, "n", "f.json", &l, &err);
    check(rc == PP_OK && l == 3, "json: get_int");
    rc = pp_json_get_string(o, "s", "f.json", &s, &err);
    check(rc == PP_OK && !strcmp(s, "abc"), "json: get_string borrows");
    rc = pp_json_get_bool(o, "b", "f.json", &b, &err);
    check(rc == PP_OK && b == 0, "json: get_bool");

    rc = pp_json_get_number(o, "missing", "'f.json': bands[2]", &d, &err);
    check(rc == PP_EDATA && strstr(err.msg, "'f.json': bands[2]: key "
                                   "'missing': expected a number"),
          "json: a missing key names the context and the key");
    rc = pp_json_get_number(o, "s", "f.json", &d, &err);
    check(rc == PP_EDATA && strstr(err.msg, "key 's': expected a number, "
                                   "found a string"),
          "json: a string where a number is expected is refused");
    rc = pp_json_get_number(o, "z", "f.json", &d, &err);
    check(rc == PP_EDATA && strstr(err.msg, "found null"),
          "json: null is not a number for get_number");
    rc = pp_json_get_int(o, "r", "f.json", &l, &err);
    check(rc == PP_EDATA && strstr(err.msg, "expected an integer, found a "
                                   "real"), "json: get_int refuses 2.5");
    rc = pp_json_get_bool(o, "n", "f.json", &b, &err);
    check(rc == PP_EDATA && strstr(err.msg, "expected a boolean"),
          "json: get_bool refuses a number");
    rc = pp_json_get_string(json_object_get(o, "n"), "x", "f.json", &s,
                            &err);
    check(rc == PP_EDATA && strstr(err.msg, "in an object, found an "
                                   "integer"),
          "json: a getter on a non-object is refused");
    json_decref(o);
}

int main(void)
{
    pp_error err = PP_ERROR_INIT;

    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_write_read();
    test_read_errors();
    test_getters();
    pp_io_remove_tree(dir, &err);
    return tap_done();
}
