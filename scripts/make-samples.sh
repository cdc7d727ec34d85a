#!/usr/bin/env bash
# Makes the short test recordings in samples/ with espeak-ng (and sox for
# resampling and background noise), and samples/README.md + samples/samples.tsv
# listing each file and its words. Deterministic: the same espeak-ng and sox
# versions give the same bytes.
#
#   scripts/make-samples.sh            (re)writes samples/*.wav and the listings
#
# Every word comes from the 35 Speech Commands words, so the default model can
# transcribe them. Files are 16 kHz, 16-bit, mono WAV.
set -euo pipefail
cd "$(dirname "$0")/.."
out=samples
for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null || { echo "make-samples: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

# name|voice|rate (words/min)|pitch|words, with [pause in ms] between words|noise
# noise: "-" for clean, or "pink:DB" / "brown:DB" for background noise at DB dBFS.
specs=(
"yes|en-us|140|50|yes|-"
"stop|en-gb|130|45|stop|-"
"left_right_go|en-us|145|50|left [300] right [300] go|-"
"up_down|en-gb-x-rp+f3|135|60|up [400] down|-"
"on_off_stop|en-us+m3|140|40|on [250] off [350] stop|pink:-40"
"no_yes_no|en-gb-scotland|130|55|no [300] yes [300] no|-"
"digits|en-us+f2|150|55|three [200] one [200] four [200] one [200] five|-"
"marvin_go_forward|en-029|140|50|marvin [350] go [250] forward|brown:-38"
"sheila_follow|en-us+f4|135|65|sheila [300] follow|-"
"happy_house_tree|en-gb-x-gbclan|135|45|happy [300] house [300] tree [300] wow|-"
)

printf 'file\twords\tvoice\tnoise\n' > "$out/samples.tsv"
for spec in "${specs[@]}"; do
    IFS='|' read -r name voice rate pitch script noise <<<"$spec"
    # "[300]" -> SSML break; the words are what remains.
    ssml="<speak>$(sed -E 's#\[([0-9]+)\]#<break time="\1ms"/>#g' <<<"$script")</speak>"
    words=$(sed -E 's#\[[0-9]+\]##g; s#  +# #g' <<<"$script")
    espeak-ng -m -v "$voice" -s "$rate" -p "$pitch" -a 120 -w "$tmp/raw.wav" "$ssml"
    # 16 kHz mono 16-bit with 0.3 s of silence each side (a recording never starts on the word).
    sox -R "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$tmp/clean.wav" pad 0.3 0.3 gain -n -3
    if [ "$noise" = "-" ]; then
        cp "$tmp/clean.wav" "$out/$name.wav"
    else
        kind=${noise%%:*}; level=${noise#*:}
        dur=$(soxi -D "$tmp/clean.wav")
        sox -R -n -r 16000 -c 1 -b 16 "$tmp/noise.wav" synth "$dur" "${kind}noise" gain -n "$level"
        sox -R -m "$tmp/clean.wav" "$tmp/noise.wav" -b 16 "$out/$name.wav"
    fi
    printf '%s.wav\t%s\t%s\t%s\n' "$name" "$words" "$voice" "$noise" >> "$out/samples.tsv"
done

{
    echo "# samples/"
    echo
    echo "Short recordings of Speech Commands words made with espeak-ng by"
    echo "\`scripts/make-samples.sh\` (16 kHz, 16-bit, mono WAV). The end-to-end tests"
    echo "transcribe them and compare with the words below (\`samples.tsv\` holds the same"
    echo "table, tab-separated). Noise is sox's synthetic noise at the given level (dBFS)."
    echo
    echo "| file | words | voice | noise |"
    echo "|---|---|---|---|"
    tail -n +2 "$out/samples.tsv" | while IFS=$'\t' read -r f w v n; do
        echo "| $f | $w | $v | $n |"
    done
} > "$out/README.md"
echo "make-samples: $(ls "$out"/*.wav | wc -l) files in $out/"
