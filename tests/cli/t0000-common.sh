#!/bin/sh
test_description='every program: --help, --version, usage errors, and a man
page that documents every option of --help'
. "$(dirname "$0")/lib-cli.sh"

programs=$(cd "$PP_TOP/tools" && for d in pp-*; do
    test -f "$d/main.c" && echo "$d"; done)

test_expect_success 'there are programs to check' '
    test -n "$programs"
'

for p in $programs; do
    test_expect_success "$p --help: usage on stdout, exit 0" '
        $p --help >out 2>err &&
        grep "^Usage: $p" out &&
        test ! -s err
    '

    test_expect_success "$p --version: name and version" '
        $p --version >out &&
        grep "^$p (patchphot) [0-9]" out
    '

    test_expect_success "$p: unknown option is a usage error" '
        test_expect_code 2 $p --no-such-option 2>err &&
        grep "| $p | ERROR | unknown option" err
    '

    test_expect_success "$p: man page documents every option" '
        page="$PP_TOP/man/man1/$p.1" &&
        test_path_is_file "$page" &&
        $p --help | sed -n "s/^  *\(-., \)\{0,1\}--\([a-z-]*\).*/\2/p" \
            >opts &&
        test -s opts &&
        sed "s/\\\\//g" "$page" >page.txt &&
        while read o; do
            grep -q -- "--$o" page.txt ||
            { echo "option --$o missing from $page"; exit 1; }
        done <opts
    '
done

test_expect_success 'patchphot(7) exists' '
    test_path_is_file "$PP_TOP/man/man7/patchphot.7"
'

test_done
