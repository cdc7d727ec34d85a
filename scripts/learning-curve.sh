#!/bin/sh
# Learning curve of the recipe's float32 stage against the amount of real
# training speech (train/lcurve.py):
#   scripts/learning-curve.sh [RUNS_DIR] [SHARE...]     (default train/runs, 0.125 0.25 0.5 1.0)
# For each share: the feature cache of that share of the training speakers
# (train.data --real-fraction, data seed 1), the float32 stage with the
# recipe's settings (10 epochs, lr 2e-3, GRU 128), the dev evaluation with
# the training-fit figures, then one table and the power-law fit. A share's
# run is kept and skipped when its eval.json exists. Needs ../shared/data
# (or SVX_DATA), a built tree (make) and torch (scripts/install-deps.sh
# train); about 12, 16, 25 and 45 minutes on 2 cores.
set -eu
runs=${1:-train/runs}
[ $# -gt 0 ] && shift
shares=${*:-0.125 0.25 0.5 1.0}
py=/usr/bin/python3
data=${SVX_DATA:-../shared/data}
export SVX_LIB="${SVX_LIB:-$PWD/build/libshiftvox.so}"
dirs=
for f in $shares; do
    out="$runs/lc$f"
    dirs="$dirs $out"
    [ -f "$out/eval.json" ] && continue
    mkdir -p "$out"
    $py -m train.data --data "$data" --seed 1 --real-fraction "$f" --dev-seq 0 > "$out/data.log" 2>&1
    $py -m train --data "$data" --quant float --hidden 128 --epochs 10 --lr 2e-3 --seed 1 \
        --real-fraction "$f" --out "$out" --quiet > "$out/stdout.log" 2>&1
    $py -m train eval "$out/last.pt" --data "$data" --real-fraction "$f" --train-fit --quiet \
        --json "$out/eval.json" > "$out/eval.txt" 2>&1
    echo "share $f: $(grep -o '"dev_acc12": [0-9.]*' "$out/eval.json")"
done
# shellcheck disable=SC2086
$py -m train.lcurve --data "$data" --wer --target 0.93 --target 0.97 --json "$runs/lcurve.json" $dirs
