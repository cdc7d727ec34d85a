#!/usr/bin/env bash
# Makes the small audio files of tests/data/audio with sox, an encoder
# independent of libsndfile (which the reader uses). Every file holds the
# same 0.2 s, 440 Hz sine at half scale (gain -6.0206 dB = 0.5), written in a
# different container, sample format, rate and channel count;
# tests/test_audio_reader.c fits a 440 Hz sine to what the reader returns
# and checks the amplitude and the residual.
#   bash tests/data/audio/make.sh        (run from anywhere; needs sox)
set -euo pipefail
cd "$(dirname "$0")"
synth() { # out rate channels [sox output options...]
    local out=$1 rate=$2 ch=$3; shift 3
    # -D: no dither, so the files are reproducible.
    sox -D -n -r "$rate" -c "$ch" "$@" "$out" synth 0.2 sine 440 gain -6.0206
}
synth sox_s16_16000.wav 16000 1 -b 16 -e signed-integer
synth sox_u8_8000.wav 8000 1 -b 8 -e unsigned-integer
synth sox_s24_32000.aiff 32000 1 -b 24 -e signed-integer
synth sox_f32_11025_stereo.wav 11025 2 -b 32 -e floating-point
synth sox_s16_44100_stereo.flac 44100 2 -b 16
synth sox_16000.ogg 16000 1 -C 6
ls -l sox_*
