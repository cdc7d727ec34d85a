#!/usr/bin/env bash
# Installs the Debian packages shiftvox needs, only those missing. Idempotent.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh train    also what the trainer needs (PyTorch, TTS voices)
set -euo pipefail

pkgs=(build-essential pkg-config libkissfft-dev portaudio19-dev libsndfile1-dev
      libsamplerate0-dev libcunit1-dev libopenblas-dev python3 python3-numpy python3-pytest
      python3-soundfile espeak-ng sox alsa-utils libasound2-plugins valgrind clang
      gnuplot-nox python3-torch libclang-rt-14-dev
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)
if [ "${1:-}" = "train" ] || [ "${1:-}" = "all" ]; then
    pkgs+=(flite festival festvox-kallpc16k)
fi

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#pkgs[@]} packages present"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then SUDO=sudo; else
        echo "install-deps: not root and no sudo; install these yourself: ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
