#!/usr/bin/env bash
# The README's first command (`make demo`): transcribe the bundled samples with
# the bundled default model, then spot keywords in one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/shiftvox
shopt -s nullglob
samples=(samples/*.wav)
if [ ${#samples[@]} -eq 0 ]; then
    echo "demo: no samples in samples/ (scripts/make-samples.sh makes them)" >&2
    exit 1
fi
if [ ! -f models/default.svxm ]; then
    echo "demo: no bundled model yet; front-end summary of the samples instead:"
    "$bin" features "${samples[@]}"
    exit 0
fi
echo "== shiftvox transcribe samples/*.wav (model: models/default.svxm)"
"$bin" transcribe "${samples[@]}"
echo
kws_sample=samples/no_yes_no.wav
[ -f "$kws_sample" ] || kws_sample=${samples[0]}
echo "== shiftvox listen --keywords yes,no,stop,go --input $kws_sample"
"$bin" listen --keywords yes,no,stop,go --input "$kws_sample"
