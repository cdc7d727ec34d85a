#!/usr/bin/env bash
# Runs the command-line tests (suites cli_*) with every shiftvox invocation
# under valgrind memcheck, and fails on any memcheck error or any definite or
# indirect leak in any of those processes.
#   scripts/valgrind-cli.sh [BUILD_DIR]      (default: build; `make valgrind`)
# Logs: BUILD_DIR/valgrind/vg.PID.log, one per shiftvox process; a summary
# line is printed and written to BUILD_DIR/valgrind/summary.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bin=$build/shiftvox
tests=$build/run_tests
if ! command -v valgrind >/dev/null; then
    echo "valgrind-cli: valgrind is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
fi
logs=$build/valgrind
rm -rf "$logs"
mkdir -p "$logs"
vg="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
vg+=" --show-leak-kinds=definite,indirect --suppressions=$PWD/scripts/valgrind-alsa.supp"
vg+=" --log-file=$PWD/$logs/vg.%p.log"
echo "valgrind-cli: running the cli_* suites with shiftvox under memcheck (logs in $logs)"
# Commands that open a capture device run without undefined-value tracking:
# alsa-lib derives the frame counts PortAudio hands the capture callback from
# uninitialised stack bytes (--track-origins=yes: "created by a stack
# allocation" in libasound), which taints the ring indices downstream.
# Invalid accesses and leaks are still checked there.
vgdev="${vg/valgrind -q/valgrind -q --undef-value-errors=no}"
SVX_BIN=$bin SVX_CLI_WRAP="$vg" SVX_CLI_WRAP_DEVICE="$vgdev" SVX_CLI_SLOW=5 "$tests" cli_ >"$logs/run_tests.log" 2>&1
rc=$?
n_logs=$(ls "$logs"/vg.*.log 2>/dev/null | wc -l)
# A clean process under -q writes an empty log; anything else is an error.
dirty=$(find "$logs" -name 'vg.*.log' -size +0 | sort)
n_dirty=$(printf '%s' "$dirty" | grep -c . || true)
tests_line=$(grep -E '^ +tests ' "$logs/run_tests.log" | tail -1 | tr -s ' ')
line="$(date -u +%FT%TZ) valgrind-cli: $n_logs shiftvox processes under memcheck, $n_dirty with errors or leaks; run_tests exit $rc ($tests_line)"
echo "$line" | tee "$logs/summary.txt"
if [ "$n_dirty" -gt 0 ]; then
    for f in $dirty; do
        echo "---- $f" >&2
        head -60 "$f" >&2
    done
fi
if [ $rc -ne 0 ]; then
    grep -E 'FAILED|^ +[0-9]+\. ' "$logs/run_tests.log" | head -40 >&2
fi
[ $rc -eq 0 ] && [ "$n_dirty" -eq 0 ]
