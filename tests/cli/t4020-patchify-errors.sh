#!/bin/sh
test_description='pp-patchify on bad input: a clear message, the right exit
status, and no payload or patch list left behind'
. "$(dirname "$0")/lib-cli.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"

# No output of the stage, and no temporary file, in f/work.
no_output() {
    test_path_is_missing f/work/patches/patches.csv \
        f/work/patches/patches.json &&
    test -z "$(ls f/work/patch_payloads 2>/dev/null)" &&
    test_no_tmp_files f/work
}

test_expect_success 'setup: a cropped 600x600 field' '
    pp-sim --out f --nbands 3 --size 600x600 2>/dev/null &&
    pp-crop -c f/config.yaml 2>/dev/null &&
    cp f/work/catalog.csv catalog.good
'

test_expect_success '--help lists every option; bad --threads is a usage error' '
    pp-patchify --help >help &&
    grep -- "--geometry-only" help && grep -- "--threads" help &&
    test_expect_code 2 pp-patchify -c f/config.yaml --threads -1 2>err &&
    grep "ERROR.*--threads.*-1" err &&
    test_expect_code 2 pp-patchify -c f/config.yaml extra 2>err &&
    grep "ERROR.*unknown command .extra" err &&
    no_output
'

test_expect_success 'epsf.ngrid larger than the cell: exit 2, names both' '
    test_expect_code 2 pp-patchify -c f/config.yaml --set epsf.epsf_ngrid=4 \
        --set epsf.ngrid=200 2>err &&
    grep "ERROR.*epsf.ngrid = 200 is larger than the ePSF cell size (141 x 141 pixels)" err &&
    no_output
'

test_expect_success 'epsf.epsf_ngrid larger than the frame: exit 2' '
    test_expect_code 2 pp-patchify -c f/config.yaml \
        --set epsf.epsf_ngrid=600 --set epsf.skip_empty_epsf_patches=false \
        2>err &&
    grep "ERROR.*epsf.epsf_ngrid = 600 is larger than the working frame (564 x 564" err &&
    no_output
'

test_expect_success 'missing base catalogue: exit 1, says run pp-crop' '
    mv f/work/catalog.csv cat.away &&
    test_expect_code 1 pp-patchify -c f/config.yaml 2>err &&
    mv cat.away f/work/catalog.csv &&
    grep "ERROR.*catalog.csv.*does not exist (run pp-crop first)" err &&
    no_output
'

test_expect_success 'catalogue without pp-crop columns: names the column' '
    cols=$($CSV catalog.good | tr "\t" "\n" | grep -v excluded_any |
           tr "\n" " ") &&
    perl -e "
        open my \$f, q(<), q(catalog.good) or die;
        my @h = split /,/, scalar <\$f>; chomp \$h[-1];
        my (\$k) = grep { \$h[\$_] eq q(excluded_any) } 0 .. \$#h;
        print join(q(,), grep { \$_ ne q(excluded_any) } @h), qq(\n);
        while (<\$f>) { chomp; my @c = split /,/, \$_, -1; splice @c, \$k, 1;
            print join(q(,), @c), qq(\n) }" >f/work/catalog.csv &&
    test_expect_code 1 pp-patchify -c f/config.yaml 2>err &&
    grep "ERROR.*catalog.csv.: no column .excluded_any. (run pp-crop first)" err &&
    no_output
'

test_expect_success 'excluded_any neither True nor False: names row and value' '
    perl -pe "s/,False\$/,maybe/ if \$. == 3" catalog.good >f/work/catalog.csv &&
    test_expect_code 1 pp-patchify -c f/config.yaml 2>err &&
    grep "ERROR.*catalog.csv.: row 2 (line 3): column .excluded_any.: found .maybe., expected True or False" err &&
    no_output
'

test_expect_success 'missing frames.json: exit 1, says run pp-crop' '
    cp catalog.good f/work/catalog.csv &&
    mv f/work/frames.json frames.away &&
    test_expect_code 1 pp-patchify -c f/config.yaml 2>err &&
    mv frames.away f/work/frames.json &&
    grep "ERROR.*frames.json.*does not exist (run pp-crop first)" err &&
    no_output
'

test_expect_success 'unreadable band image: exit 1, no payload of the run left' '
    mv f/m450.fits m450.away &&
    test_expect_code 1 pp-patchify -c f/config.yaml --set epsf.epsf_ngrid=2 \
        -j 2 2>err &&
    mv m450.away f/m450.fits &&
    grep "ERROR.*m450.fits" err &&
    no_output
'

test_expect_success 'bright mask of the wrong size: exit 1, names both sizes' '
    mkdir -p f/work/bright_mask &&
    payloadcheck mkmask f/work/bright_mask/white_bright_mask.fits 100 90 &&
    test_expect_code 1 pp-patchify -c f/config.yaml 2>err &&
    grep "ERROR.*white_bright_mask.fits.: image is 100 x 90, expected the working frame 564 x 564" err &&
    no_output
'

test_done
