#!/usr/bin/env bash
# Runs each libFuzzer target for a fixed time and summarises it.
#   fuzz/run.sh BUILD_DIR SECONDS TARGET...
# Seeds: fuzz/corpus/TARGET (committed, read-only here). New inputs found go
# to BUILD_DIR/corpus/TARGET, crash/leak/timeout artefacts to
# BUILD_DIR/artifacts/, the full log to BUILD_DIR/TARGET.log. A summary line
# per target (executions, exec/s, coverage, corpus size) is printed and
# appended to BUILD_DIR/fuzz-summary.txt. Exit status 1 if any target failed.
set -u
build=$1; secs=$2; shift 2
cd "$(dirname "$0")/.."
mkdir -p "$build/artifacts"
status=0
for t in "$@"; do
    bin=$build/fuzz/fuzz_$t
    work=$build/corpus/$t
    mkdir -p "$work"
    # Larger inputs for the stream target (2 s of audio), small elsewhere.
    case $t in
        stream) maxlen=64000 ;;
        audio_reader) maxlen=16384 ;;
        model_loader) maxlen=8192 ;;
        *) maxlen=4096 ;;
    esac
    log=$build/$t.log
    echo "fuzz: $t for ${secs} s (log $log)"
    # -timeout: one input taking > 10 s is a hang; -rss_limit_mb: a 2 GiB
    # allocation from a declared size is a bug. ASan leak checking is on.
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=$maxlen \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
        "$work" "fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    ncorp=$(ls "$work" | wc -l)
    line="$(date -u +%FT%TZ) $t seconds=$secs executions=${runs:-?} exec_per_s=${eps:-?} cov=${cov:-?} ft=${ft:-?} new_corpus=$ncorp rc=$rc"
    echo "fuzz: $line"
    echo "$line" >>"$build/fuzz-summary.txt"
    if [ $rc -ne 0 ]; then
        echo "fuzz: $t FAILED (exit $rc); last lines of $log:" >&2
        tail -40 "$log" >&2
        ls -1 "$build/artifacts" | grep "^$t-" | sed 's/^/fuzz: artefact /' >&2
        status=1
    fi
done
exit $status
