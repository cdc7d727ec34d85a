#!/bin/sh
# Per-keyword score calibration of a model (train/kwscal.py):
#   scripts/calibrate-kws.sh MODEL.svxm [OUT.svxm]
# Streams the manifest's training split (speakers the model was trained on,
# never dev) with the eval's noise, spotting all 35 Speech Commands words with
# raw scores, and writes each word's score power (and one per word length for
# other words) into the model's metadata as "kws_calibration".
# Needs ../shared/data (or SVX_DATA) and a built tree (make).
set -eu
model=${1:?usage: scripts/calibrate-kws.sh MODEL.svxm [OUT.svxm]}
out=${2:-$model}
data=${SVX_DATA:-../shared/data}/speech_commands
bin=${SVX_BIN:-build/shiftvox}
py=/usr/bin/python3
words=$($py -c "from train.vocab import SC_WORDS; print(','.join(SC_WORDS))")
report=$(mktemp /tmp/svx-kwscal.XXXXXX.json)
trap 'rm -f "$report"' EXIT
"$bin" eval -q -m "$model" --stream --split train --no-calibration -k "$words" \
    --report "$report" "$data/manifest.tsv" | grep -E "^signal|^ +0\.50 "
$py -m train.kwscal "$report" "$model" --out "$out"
