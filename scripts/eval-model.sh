#!/bin/sh
# Every held-out figure of the model card for one model file, in one run:
#   scripts/eval-model.sh MODEL.svxm [OUT_DIR]
# 12-class accuracy (float-activation and integer graphs) on the held-out
# half of dev, streaming keyword spotting on the manifest's dev split and on
# the test-set folder layout, continuous-speech WER on 300 held-out sequences
# of the ten commands and of all 35 words, and the bundled samples.
# Needs ../shared/data (or SVX_DATA) and a built tree (make); the sequences
# are written once into OUT_DIR (default /tmp/svx-eval) and reused.
set -eu
model=${1:?usage: scripts/eval-model.sh MODEL.svxm [OUT_DIR]}
out=${2:-/tmp/svx-eval}
data=${SVX_DATA:-../shared/data}/speech_commands
bin=${SVX_BIN:-build/shiftvox}
py=/usr/bin/python3
mkdir -p "$out"
export SVX_LIB="${SVX_LIB:-$PWD/build/libshiftvox.so}"

echo "== 12-class, held-out dev half"
"$bin" eval -q -m "$model" --report "$out/eval12.json" "$data/manifest.tsv" | grep -E "accuracy|left out"
"$bin" eval -q -m "$model" --integer "$data/manifest.tsv" | grep -E "accuracy" | sed 's/^/integer: /'

echo "== keyword stream (manifest dev split; test-set layout)"
for src in manifest.tsv dev; do
    "$bin" eval -q -m "$model" --stream --report "$out/stream-$src.json" "$data/$src" |
        grep -E "pauses|^ +0\.(50|70|90) |fewest|at <=|per keyword|latency at"
done

echo "== continuous speech"
for set in 10:yes,no,up,down,left,right,on,off,stop,go 35:; do
    n=${set%%:*}
    words=${set#*:}
    dir="$out/devseq$n"
    if [ ! -f "$dir/refs.tsv" ]; then
        if [ -n "$words" ]; then
            $py -m train.devseq write "$dir" --n 300 --words "$words" >/dev/null
        else
            $py -m train.devseq write "$dir" --n 300 >/dev/null
        fi
    fi
    "$bin" transcribe -m "$model" "$dir"/*.wav > "$out/devseq$n.hyp"
    printf '%s words: ' "$n"
    $py -m train.devseq score "$dir/refs.tsv" "$out/devseq$n.hyp" | head -2 | tr '\n' ' '
    echo
done

echo "== samples"
"$bin" transcribe -m "$model" samples/*.wav > "$out/samples.hyp"
$py -m train.devseq score samples/samples.tsv "$out/samples.hyp" 2>/dev/null | head -1 ||
    cat "$out/samples.hyp"
