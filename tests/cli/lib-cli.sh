# lib-cli.sh - a small git-t/-style harness for the CLI tests (TAP).
#
# A test script sets test_description, sources this file, runs
#     test_expect_success 'title' '&&-chained body'
# blocks and ends with test_done.  Each script works in its own fresh
# directory, tests/cli/trash.<script>/, removed when every test passed.
# Helpers: test_must_fail, test_expect_code, test_path_is_file,
# test_path_is_missing, test_cmp, test_line_count.
#
# PP_BIN (set by `make check`) is the directory of the programs under test;
# PP_TOP the top of the source tree.

PP_TOP=${PP_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PP_BIN=${PP_BIN:-$PP_TOP/bin}
PP_DATA=$PP_TOP/tests/data
PP_TESTBIN=${PP_TESTBIN:-$PP_TOP/build/plain/tests}
PATH=$PP_BIN:$PP_TESTBIN:$PP_TOP/scripts:$PATH
export PATH PP_TOP PP_BIN PP_DATA PP_TESTBIN
unset PP_CONFIG
LC_ALL=C
export LC_ALL

test_count=0
test_failed=0
test_name=$(basename "$0" .sh)
TRASH=$PP_TOP/tests/cli/trash.$test_name
rm -rf "$TRASH"
mkdir -p "$TRASH" || exit 1
cd "$TRASH" || exit 1

say() { printf '# %s\n' "$*"; }

test_expect_success() {
    test_count=$((test_count + 1))
    if (eval "$2") >"$TRASH/.out.$test_count" 2>&1; then
        printf 'ok %d - %s\n' "$test_count" "$1"
    else
        test_failed=$((test_failed + 1))
        printf 'not ok %d - %s\n' "$test_count" "$1"
        printf '%s\n' "$2" | sed 's/^/#   /'
        sed 's/^/#   > /' "$TRASH/.out.$test_count" | tail -n 40
    fi
}

test_must_fail() {
    "$@"
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "test_must_fail: command succeeded: $*"
        return 1
    elif [ $rc -gt 128 ]; then
        echo "test_must_fail: command died of a signal ($rc): $*"
        return 1
    fi
    return 0
}

test_expect_code() {
    want=$1
    shift
    "$@"
    rc=$?
    [ $rc -eq "$want" ] && return 0
    echo "test_expect_code: expected exit $want, got $rc: $*"
    return 1
}

test_path_is_file() {
    [ -f "$1" ] || { echo "file '$1' does not exist"; return 1; }
}

test_path_is_dir() {
    [ -d "$1" ] || { echo "directory '$1' does not exist"; return 1; }
}

test_path_is_missing() {
    for p in "$@"; do
        [ ! -e "$p" ] || { echo "path '$p' exists"; return 1; }
    done
}

# No temporary files left: nothing named *.tmp.* below dir.
test_no_tmp_files() {
    left=$(find "$1" -name '*.tmp.*' 2>/dev/null)
    [ -z "$left" ] || { echo "temporary files left: $left"; return 1; }
}

test_cmp() {
    cmp "$1" "$2" || { diff -u "$1" "$2" | head -n 40; return 1; }
}

test_line_count() {
    n=$(wc -l <"$3")
    [ "$n" "$1" "$2" ] || { echo "line count of '$3': $n, not $1 $2"; return 1; }
}

test_done() {
    printf '1..%d\n' "$test_count"
    cd "$PP_TOP" || exit 1
    if [ "$test_failed" -eq 0 ]; then
        rm -rf "$TRASH"
        exit 0
    fi
    exit 1
}
