#!/usr/bin/python3
"""Independent NumPy reference for the log-mel front end (features/frontend.c).

Writes tests/data/frontend/NAME.pcm.f32 (input, raw little-endian float32) and
NAME.feat.f32 (expected frames, float32, row-major [n_frames][n_mels]) for a
few fixed signals, computed in float64 from the formulas in the front end's
documentation (periodic Hann, zero-padded real FFT, power spectrum, HTK mel
triangles with peak 1, natural log with a floor). Run from the repository root:

    /usr/bin/python3 tests/frontend_ref.py
"""
import os
import numpy as np

SR, WIN, HOP, NFFT, NMELS, FMIN, FMAX, FLOOR = 16000, 400, 160, 512, 40, 20.0, 7600.0, 1e-6
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "frontend")


def mel_filters():
    hz2mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    mel2hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    corners = mel2hz(np.linspace(hz2mel(FMIN), hz2mel(FMAX), NMELS + 2))
    freqs = np.arange(NFFT // 2 + 1) * SR / NFFT
    fb = np.zeros((NMELS, freqs.size))
    for m in range(NMELS):
        lo, c, hi = corners[m], corners[m + 1], corners[m + 2]
        rise = (freqs - lo) / (c - lo)
        fall = (hi - freqs) / (hi - c)
        inside = (freqs > lo) & (freqs < hi)
        fb[m] = np.where(inside, np.where(freqs <= c, rise, fall), 0.0)
    return fb


def logmel(x):
    n = np.arange(WIN)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / WIN)
    n_frames = 0 if len(x) < WIN else 1 + (len(x) - WIN) // HOP
    fb = mel_filters()
    out = np.zeros((n_frames, NMELS))
    for i in range(n_frames):
        seg = x[i * HOP:i * HOP + WIN].astype(np.float64) * window
        spec = np.fft.rfft(seg, NFFT)
        power = spec.real ** 2 + spec.imag ** 2
        out[i] = np.log(np.maximum(fb @ power, FLOOR))
    return out


def signals():
    rng = np.random.default_rng(1234)
    t = np.arange(8000) / SR                       # 0.5 s each
    chirp_phase = 2 * np.pi * (100 * t + 0.5 * (7000 - 100) / t[-1] * t ** 2)
    return {
        "tone440": 0.5 * np.sin(2 * np.pi * 440 * t),
        "tone3k": 0.25 * np.sin(2 * np.pi * 3000 * t) + 0.1 * np.sin(2 * np.pi * 6500 * t),
        "chirp": 0.4 * np.sin(chirp_phase),
        "noise": 0.1 * rng.standard_normal(t.size),
        "silence": np.zeros(t.size),
        "short": 0.3 * rng.standard_normal(650),    # 2 frames and a tail
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, x in signals().items():
        x32 = x.astype("<f4")
        x32.tofile(os.path.join(OUT, name + ".pcm.f32"))
        # The reference works on exactly the float32 samples the C code sees.
        logmel(x32.astype(np.float64)).astype("<f4").tofile(os.path.join(OUT, name + ".feat.f32"))
        print(name, len(x32), "samples")


if __name__ == "__main__":
    main()
