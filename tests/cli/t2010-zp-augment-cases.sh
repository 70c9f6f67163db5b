#!/bin/sh
test_description='pp-zp augment: a catalogue without ID, TYPE or FLUX
columns (new columns and their order, POS_ERR, Gaia stars dropped by the
saturation cut), skipped runs deleting old outputs, and input errors'
. "$(dirname "$0")/lib-cli.sh"

CSV="perl $PP_TOP/tests/cli/csvcol.pl"
ALL="--set zp.gaia_mag_min=0 --set zp.gaia_mag_max=30"
NOID="--set inputs.input_catalog=noid.csv --set outputs.work_dir=wn"
AUG=f/wn/ZP/noid_with_Gaia.csv
PLOT=f/wn/ZP/gaia_augmentation.csv

test_expect_success 'setup: field; catalogue of RA, DEC without saturated stars' '
    pp-sim --out f --nbands 3 --size 600x600 --nstars 80 2>/dev/null &&
    $CSV f/truth.csv ID saturated | awk -F"\t" "\$2 == \"True\" {print \$1}" >sat.ids &&
    test $(wc -l <sat.ids) -ge 2 &&
    { echo RA,DEC &&
      $CSV f/input_catalog.csv ID RA DEC | grep -v -F -f sat.ids |
      cut -f2,3 | tr "\t" ","; } >f/noid.csv &&
    pp-crop -c f/config.yaml $NOID 2>/dev/null &&
    test_path_is_file f/wn/catalog.csv
'

test_expect_success 'new FLUX_*, POS_ERR, TYPE columns before pp-crop'"'"'s' '
    pp-zp augment -c f/config.yaml $NOID $ALL \
        --set zp.gaia_pos_err_pix=0.1 2>log &&
    $CSV $AUG >h &&
    echo "RA DEC FLUX_m400 FLUX_m425 FLUX_m450 POS_ERR TYPE x_pix_white y_pix_white excluded_crop excluded_saturation excluded_any gaia_source_id" |
        tr " " "\t" >expect && test_cmp expect h
'

test_expect_success 'without an ID column injected rows get no ID; new cells' '
    nrow=$($CSV f/wn/catalog.csv RA | wc -l) &&
    $CSV $AUG RA DEC FLUX_m400 POS_ERR TYPE gaia_source_id >all &&
    head -n $nrow all >orig && tail -n +$((nrow + 1)) all >inj &&
    test $(wc -l <inj) -ge 1 &&
    ! grep gaia_ all &&
    awk -F"\t" "\$3 != \"\" || \$4 != \"\" || \$5 != \"\"" orig >bad &&
    test_line_count = 0 bad &&
    awk -F"\t" "\$3 + 0 <= 0 || \$4 != \"0.1\" || \$5 != \"STAR\" || \$6 == \"\"" inj >bad &&
    test_line_count = 0 bad &&
    $CSV $PLOT category id | grep "^gaia_injected" | cut -f2 >a &&
    awk -F"\t" "{print \$1 \" \" \$2}" inj >b && test_cmp b a
'

test_expect_success 'saturated Gaia-only stars are dropped, listed as gaia_saturated' '
    $CSV f/truth.csv saturated gaia_source_id x_full y_full |
        awk -F"\t" "\$1 == \"True\" && \$3 >= 18 && \$3 < 582 && \$4 >= 18 && \$4 < 582 {print \$2}" |
        sort >expect.sat &&
    $CSV f/gaiaxp_synphot.csv source_id | sort >gaia.ids &&
    comm -12 expect.sat gaia.ids >expect &&
    test $(wc -l <expect) -ge 1 &&
    $CSV $PLOT category id | grep "^gaia_saturated" | cut -f2 | sort >got &&
    test_cmp expect got &&
    grep "saturation-dropped=$(wc -l <expect)\$" log &&
    $CSV $AUG gaia_source_id | sort >sids &&
    comm -12 expect sids >both && test_line_count = 0 both
'

test_expect_success 'require_all_bands: drops a subset of the any-band drops' '
    pp-zp augment -c f/config.yaml $NOID $ALL \
        --set source_saturation_cut.require_all_bands=true 2>/dev/null &&
    $CSV $PLOT category id | grep "^gaia_saturated" | cut -f2 | sort >got.all &&
    comm -23 got.all expect >extra && test_line_count = 0 extra
'

test_expect_success 'source_saturation_cut disabled: they are injected' '
    pp-zp augment -c f/config.yaml $NOID $ALL \
        --set source_saturation_cut.enabled=false 2>log2 &&
    grep "saturation-dropped=0\$" log2 &&
    $CSV $AUG gaia_source_id | sort >sids &&
    comm -12 expect sids >both && test_cmp expect both
'

test_expect_success 'zp.enabled false deletes the three outputs' '
    pp-zp augment -c f/config.yaml $NOID $ALL 2>/dev/null &&
    test_path_is_file $AUG &&
    pp-zp augment -c f/config.yaml $NOID --set zp.enabled=false 2>/dev/null &&
    test_path_is_missing $AUG $PLOT f/wn/ZP/gaia_augmentation.json
'

test_expect_success 'gaiaxp_synphot_csv null deletes them too' '
    pp-zp augment -c f/config.yaml $NOID $ALL 2>/dev/null &&
    pp-zp augment -c f/config.yaml $NOID \
        --set inputs.gaiaxp_synphot_csv=null 2>/dev/null &&
    test_path_is_missing $AUG $PLOT f/wn/ZP/gaia_augmentation.json
'

test_expect_success 'a missing GaiaXP file warns, exits 0 and deletes them' '
    pp-zp augment -c f/config.yaml $NOID $ALL 2>/dev/null &&
    pp-zp augment -c f/config.yaml $NOID \
        --set inputs.gaiaxp_synphot_csv=nothere.csv 2>err &&
    grep "WARNING | GaiaXP file .*nothere.csv.* does not exist" err &&
    test_path_is_missing $AUG $PLOT f/wn/ZP/gaia_augmentation.json
'

test_expect_success 'no catalog.csv: run pp-crop first' '
    test_expect_code 1 pp-zp augment -c f/config.yaml \
        --set outputs.work_dir=empty 2>err &&
    grep "ERROR | .*run pp-crop first" err &&
    cp -R f/wn f/wn2 && rm f/wn2/catalog.csv &&
    test_expect_code 1 pp-zp augment -c f/config.yaml $NOID \
        --set outputs.work_dir=wn2 2>err &&
    grep "ERROR | cannot open .*wn2/catalog.csv.*run pp-crop first" err
'

test_expect_success 'GaiaXP file without phot_g_mean_mag: error' '
    { echo source_id,ra,dec && $CSV f/gaiaxp_synphot.csv source_id ra dec |
      tr "\t" ","; } >f/g3.csv &&
    test_expect_code 1 pp-zp augment -c f/config.yaml $NOID \
        --set inputs.gaiaxp_synphot_csv=g3.csv 2>err &&
    grep "ERROR | .*g3.csv.: no .phot_g_mean_mag. column" err
'

test_expect_success 'non-numeric Gaia ra: error naming row, line and column' '
    perl -pe "s/^([^,]*),[^,]*,/\$1,abc,/ if \$. == 4" f/gaiaxp_synphot.csv >f/gbad.csv &&
    test_expect_code 1 pp-zp augment -c f/config.yaml $NOID \
        --set inputs.gaiaxp_synphot_csv=gbad.csv 2>err &&
    grep "ERROR | .*gbad.csv: row 3 (line 4): column .ra.: found .abc., expected a number" err
'

test_done
