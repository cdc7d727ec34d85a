#!/usr/bin/env bash
# Regenerates the committed seed corpora in fuzz/corpus/ (small files only).
# Needs sox and python3 (Debian). Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
c=fuzz/corpus
mkdir -p $c/audio_reader $c/model_loader $c/keywords $c/stream

# Audio: one short file per container/encoding the reader handles.
t="synth 0.06 sine 440"
sox -n -r 16000 -c 1 -b 16 -e signed $c/audio_reader/s16_16k.wav $t
sox -n -r 8000 -c 1 -b 8 -e unsigned $c/audio_reader/u8_8k.wav $t
sox -n -r 11025 -c 2 -b 32 -e float $c/audio_reader/f32_11k_stereo.wav $t
sox -n -r 44100 -c 2 -b 16 $c/audio_reader/s16_44k_stereo.flac $t
sox -n -r 32000 -c 1 -b 24 $c/audio_reader/s24_32k.aiff $t
sox -n -r 22050 -c 1 -b 16 -e signed $c/audio_reader/s16_22k.au $t
sox -n -r 16000 -c 1 -b 16 -e signed $c/audio_reader/s16_16k_ulaw.wav $t
sox $c/audio_reader/s16_16k_ulaw.wav -e u-law $c/audio_reader/ulaw_16k.wav && rm $c/audio_reader/s16_16k_ulaw.wav
sox -n -r 48000 -c 6 -b 16 $c/audio_reader/s16_48k_6ch.wav synth 0.01 sine 440
# A float WAV whose samples are NaN and Inf (the reader must refuse it).
python3 - "$c/audio_reader/f32_nan.wav" <<'PY'
import struct, sys
data = struct.pack("<4f", 0.5, float("nan"), float("inf"), -0.5)
fmt = struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)
body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
open(sys.argv[1], "wb").write(b"RIFF" + struct.pack("<I", len(body)) + body)
PY

# Models: the golden test models.
cp tests/data/models/tiny_ds3.svxm tests/data/models/tiny_mixed.svxm $c/model_loader/
cp tests/data/models/det_int.svxm $c/model_loader/integer_graph.svxm

# Keyword files.
printf 'yes\nno 0.7\n# comment\n\nhey marvin 0.3\n' >$c/keywords/file.kw
printf 'up:0.2,down,left:1,right:0' >$c/keywords/csv.kw
printf "don't stop\t0.5\r\nGO\n" >$c/keywords/crlf.kw

# Stream: control byte, 8 chunk-seed bytes, then s16le PCM (speech from samples/).
for w in yes stop; do
    { printf '\001\003\377\020\007\200\001\041\123'; sox samples/$w.wav -t raw -r 16000 -c 1 -b 16 -e signed -L - trim 0 1.5; } >$c/stream/$w.bin
done
{ printf '\202\000\100\001\002\003\004\005\006'; sox -n -t raw -r 16000 -c 1 -b 16 -e signed -L - synth 0.5 whitenoise vol 0.3; } >$c/stream/noise_nan.bin
{ printf '\000\001\001\001\001\001\001\001\001'; head -c 8000 /dev/zero; } >$c/stream/silence.bin
du -sh $c/*
