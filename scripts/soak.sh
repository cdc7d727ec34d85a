#!/usr/bin/env bash
# Soak test (not part of `make test`): long runs of `shiftvox listen` and
# `shiftvox transcribe` as fast as possible, watching resident memory and open
# descriptors, and checking that the long run detects what the same audio
# cut into pieces does.
#
#   scripts/soak.sh                       2 h through listen, 1 h through transcribe
#   LISTEN_MIN=10 TRANSCRIBE_MIN=10 scripts/soak.sh     a shortened run
# Environment: BIN (build/shiftvox), MODEL (models/default.svxm),
#   KEYWORDS (yes,no,up,down,left,right,on,off,stop,go), OUT (build/soak),
#   SAMPLE_S (0.5: seconds between /proc samples).
#
# Audio: every samples/*.wav with 0.5 s of silence before and after, repeated to one
# block of BLOCK_S (about 60) seconds. listen reads LISTEN_MIN minutes of
# blocks as raw PCM from a pipe (no 230 MB file); transcribe gets
# TRANSCRIBE_MIN copies of the block as a batch (-j 2).
# "Pieces": the block run through listen on its own, its detections shifted
# by each block's start, must equal the long run's detections (keyword,
# start, end and score) — a long run must not drift from a fresh one.
# Results: OUT/summary.txt (and rss-*.tsv: seconds, VmRSS kB, open fds).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/shiftvox}
MODEL=${MODEL:-models/default.svxm}
KEYWORDS=${KEYWORDS:-yes,no,up,down,left,right,on,off,stop,go}
OUT=${OUT:-build/soak}
LISTEN_MIN=${LISTEN_MIN:-120}
TRANSCRIBE_MIN=${TRANSCRIBE_MIN:-60}
SAMPLE_S=${SAMPLE_S:-0.5}
mkdir -p "$OUT"
summary=$OUT/summary.txt
: >"$summary"
say() { echo "soak: $*" | tee -a "$summary"; }

# ---- one block of audio
parts=()
for f in samples/*.wav; do
    sox "$f" -r 16000 -c 1 -b 16 -e signed "$OUT/part-$(basename "$f")" pad 0.5 0.5
    parts+=("$OUT/part-$(basename "$f")")
done
sox "${parts[@]}" "$OUT/round.wav"
round_s=$(soxi -D "$OUT/round.wav")
reps=$(python3 -c "import math; print(max(1, round(60 / $round_s)))")
rounds=()
for _ in $(seq "$reps"); do rounds+=("$OUT/round.wav"); done
sox "${rounds[@]}" "$OUT/block-unaligned.wav"
# Blocks are cut inside a pause (0.5 s of silence on each side of every
# sample) and are a whole number of the model's 20 ms output steps (320
# samples), so that block k of the long run sees its frames at the same
# sample offsets as a run of the block alone.
n_samp=$(soxi -s "$OUT/block-unaligned.wav")
pad=$(( (320 - n_samp % 320) % 320 ))
sox "$OUT/block-unaligned.wav" "$OUT/block.wav" pad 0 "${pad}s"
rm -f "$OUT/block-unaligned.wav"
rm -f "${parts[@]}"
block_s=$(soxi -D "$OUT/block.wav")
sox "$OUT/block.wav" -t raw -r 16000 -c 1 -b 16 -e signed -L "$OUT/block.raw"
say "block: $block_s s ($reps rounds of samples/*.wav with 1 s gaps, $(soxi -s "$OUT/block.wav") samples)"

# Samples VmRSS and the number of open descriptors of PID until it exits.
watch_proc() {
    local pid=$1 tsv=$2 t0
    t0=$(date +%s.%N)
    : >"$tsv"
    while kill -0 "$pid" 2>/dev/null; do
        local rss fds
        rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l || true)
        [ -n "$rss" ] && printf '%.1f\t%s\t%s\n' "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {print a - b}')" "$rss" "$fds" >>"$tsv"
        sleep "$SAMPLE_S"
    done
}

rss_report() {   # name tsv
    local tsv=$2
    if [ ! -s "$tsv" ]; then say "$1: no samples (ran under ${SAMPLE_S} s)"; return; fi
    # Start = the second sample: the first is taken during start-up (model
    # loading, first pages touched); it is printed as well.
    awk -v name="$1" 'BEGIN {s = -1}
        { if (NR == 1) { r0 = $2 }
          if (s < 0 && NR == 2) { s = $2; sf = $3; st = $1 }
          if ($2 > max) max = $2; last = $2; lf = $3; lt = $1; n++
          if (fmin == "" || $3 < fmin) fmin = $3; if ($3 > fmax) fmax = $3 }
        END { if (s < 0) { s = last; sf = lf; st = lt }
              printf "%s: %d samples; RSS at start-up %d kB, at %.1f s %d kB, at %.1f s %d kB (end), max %d kB; open fds %d..%d\n",
                     name, n, r0, st, s, lt, last, max, fmin, fmax }' "$tsv" | tee -a "$summary"
}

# ---- listen: LISTEN_MIN minutes from a pipe
n_blocks=$(python3 -c "import math; print(max(1, math.ceil($LISTEN_MIN * 60 / $block_s)))")
say "listen: $n_blocks blocks = $(python3 -c "print(round($n_blocks * $block_s / 60, 1))") min of audio"
t_start=$SECONDS
( for _ in $(seq "$n_blocks"); do cat "$OUT/block.raw"; done ) |
    "$BIN" listen -m "$MODEL" -k "$KEYWORDS" -i - --rate 16000 >"$OUT/listen-long.txt" 2>"$OUT/listen-long.err" &
pid=$!
watch_proc "$pid" "$OUT/rss-listen.tsv"
wait "$pid" && rc=0 || rc=$?
say "listen: exit $rc after $((SECONDS - t_start)) s; $(tail -1 "$OUT/listen-long.err")"
rss_report "listen" "$OUT/rss-listen.tsv"

# ---- pieces: the block alone, shifted by each block's start
"$BIN" listen -m "$MODEL" -k "$KEYWORDS" -i "$OUT/block.wav" >"$OUT/listen-block.txt" 2>/dev/null
python3 - "$OUT/listen-long.txt" "$OUT/listen-block.txt" "$block_s" "$n_blocks" <<'PY' | tee -a "$summary"
import sys
def parse(path):
    ev = []
    for line in open(path):
        f = line.split()
        if len(f) >= 5 and f[1] == "s" and f[3] == "s":
            ev.append((f[4], float(f[0]), float(f[2]), f[-1]))
    return ev
long_ev = parse(sys.argv[1])
block = parse(sys.argv[2])
block_s, n = float(sys.argv[3]), int(sys.argv[4])
pieces = [(k, t + i * block_s, e + i * block_s, sc) for i in range(n) for (k, t, e, sc) in block]
def match(a, b, tol=0.0105):
    # events of a found in b: same keyword and score as printed, start and end
    # within tol (the printed times have 10 ms resolution; the block offset
    # is added in floating point)
    j, hit = 0, 0
    b = sorted(b, key=lambda e: e[1])
    used = [False] * len(b)
    for k, t, e, sc in sorted(a, key=lambda e: e[1]):
        while j < len(b) and b[j][1] < t - tol:
            j += 1
        for m in range(j, min(len(b), j + 20)):
            if (not used[m] and b[m][0] == k and abs(b[m][1] - t) <= tol
                    and abs(b[m][2] - e) <= tol and b[m][3] == sc):
                used[m] = True; hit += 1; break
    return hit
common = match(long_ev, pieces)
print("soak: detections: long run %d, pieces %d (block alone: %d per block), in both %d; "
      "only in the long run %d, only in the pieces %d -> %s"
      % (len(long_ev), len(pieces), len(block), common, len(long_ev) - common,
         len(pieces) - common, "SAME" if common == len(long_ev) == len(pieces) else "DIFFERENT"))
# Where do they differ: per block index
if common != len(long_ev) or common != len(pieces):
    per = [0] * n
    for k, t, e, sc in long_ev:
        i = min(n - 1, int(t // block_s)); per[i] += 1
    print("soak: long-run detections per block: first %s ... last %s (block alone: %d)"
          % (per[:5], per[-5:], len(block)))
PY

# ---- transcribe: TRANSCRIBE_MIN copies of the block as one batch
n_files=$(python3 -c "import math; print(max(1, math.ceil($TRANSCRIBE_MIN * 60 / $block_s)))")
files=()
for _ in $(seq "$n_files"); do files+=("$OUT/block.wav"); done
say "transcribe: $n_files files = $(python3 -c "print(round($n_files * $block_s / 60, 1))") min of audio, -j 2"
t_start=$SECONDS
"$BIN" transcribe --no-progress -j 2 -m "$MODEL" "${files[@]}" >"$OUT/transcribe.txt" 2>"$OUT/transcribe.err" &
pid=$!
watch_proc "$pid" "$OUT/rss-transcribe.tsv"
wait "$pid" && rc=0 || rc=$?
say "transcribe: exit $rc after $((SECONDS - t_start)) s, $(wc -l <"$OUT/transcribe.txt") result lines"
rss_report "transcribe" "$OUT/rss-transcribe.tsv"
# The same file n times: every transcript must be identical (no state leaks
# from one file into the next in a worker).
distinct=$(cut -f2- "$OUT/transcribe.txt" | sort -u | wc -l)
say "transcribe: $distinct distinct transcript(s) of the same file over $n_files runs -> $([ "$distinct" = 1 ] && echo SAME || echo DIFFERENT)"
echo "soak: summary in $summary"
