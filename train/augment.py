"""Waveform augmentation for training (NumPy only, deterministic per seed).

Every function that draws random numbers takes a numpy Generator; callers
build one per example as np.random.default_rng([seed, index]) so results do
not depend on the order or the process examples are made in.

Noise data and the split choice
-------------------------------
Background noise comes from Speech Commands' _background_noise_/ (6 files)
and noise/noise/ (5 files) of ../shared/data; room impulse responses from
noise/rirs/ (4 files). The dev set's _silence_ clips are slices of the same
_background_noise_ recordings (the dataset's own recipe), so a file-level
split cannot keep training noise apart from them. Instead every noise file is
split in time: the first 80 % ("train" part) feeds augmentation and the
generated _silence_ examples; the last 20 % ("heldout" part) is never used for
training and is what evaluation streams (eval --stream, listen tests) should
draw from: NoiseBank(files, part="heldout"). With only four RIRs, all are used
for training.
"""
import os

import numpy as np
import soundfile as sf

SR = 16000
TRAIN_FRACTION = 0.8


# --------------------------------------------------------------------------- audio I/O

def resample(x, sr_in, sr_out):
    """Band-limited resampling by FFT (zero-padding or truncating the
    spectrum). Exact for periodic signals; for clips that start and end
    quietly the circular wrap is negligible."""
    x = np.asarray(x, dtype=np.float64)
    if sr_in == sr_out or x.size == 0:
        return x.astype(np.float32)
    n_out = int(round(x.size * sr_out / sr_in))
    return resample_to(x, n_out)


def resample_to(x, n_out):
    """Resamples x to exactly n_out samples (same duration, new rate)."""
    x = np.asarray(x, dtype=np.float64)
    n_in = x.size
    if n_out == n_in:
        return x.astype(np.float32)
    spec = np.fft.rfft(x)
    n_keep = min(spec.size, n_out // 2 + 1)
    out_spec = np.zeros(n_out // 2 + 1, dtype=complex)
    out_spec[:n_keep] = spec[:n_keep]
    # The Nyquist bin of an even-length result holds a real value: halve it
    # when it comes from a full (two-sided) bin of the input, to keep energy.
    if n_out % 2 == 0 and n_keep == n_out // 2 + 1 and n_out < n_in:
        out_spec[-1] = out_spec[-1].real
    y = np.fft.irfft(out_spec, n_out) * (n_out / n_in)
    return y.astype(np.float32)


def load_audio(path, sr=SR):
    """Any libsndfile file -> float32 mono at sr."""
    x, file_sr = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if file_sr != sr:
        x = resample(x, file_sr, sr)
    return np.ascontiguousarray(x, dtype=np.float32)


def power(x):
    x = np.asarray(x, dtype=np.float64)
    return float(np.mean(x * x)) if x.size else 0.0


def snr_db(signal, noise):
    """10 log10(P_signal / P_noise), powers as mean squares over the clip."""
    return 10.0 * np.log10(power(signal) / max(power(noise), 1e-30))


# --------------------------------------------------------------------------- noise and RIRs

class NoiseBank:
    """Noise recordings (loaded once), restricted to one time part of each
    file: part='train' (first 80 %), 'heldout' (last 20 %) or 'all'."""

    def __init__(self, files, part="train", sr=SR):
        self.names, self.signals = [], []
        for path in files:
            x = load_audio(path, sr)
            cut = int(len(x) * TRAIN_FRACTION)
            x = {"train": x[:cut], "heldout": x[cut:], "all": x}[part]
            if x.size >= sr // 2 and power(x) > 0:
                self.names.append(os.path.basename(path))
                self.signals.append(x)
        self.part = part

    def __len__(self):
        return len(self.signals)

    def segment(self, rng, n_samples):
        """A random stretch of n_samples from a random file (looped if short)."""
        if not self.signals:
            raise ValueError("empty noise bank")
        x = self.signals[rng.integers(len(self.signals))]
        if x.size <= n_samples:
            reps = n_samples // x.size + 2
            x = np.tile(x, reps)
        start = rng.integers(0, x.size - n_samples + 1)
        return x[start:start + n_samples].astype(np.float32)


def load_rirs(files, sr=SR):
    """RIRs aligned on their direct path (largest peak) and scaled to unit energy."""
    out = []
    for path in files:
        h = load_audio(path, sr).astype(np.float64)
        h = h[int(np.argmax(np.abs(h))):]
        e = np.sqrt(np.sum(h * h))
        if e > 0:
            out.append((h / e).astype(np.float32))
    return out


def add_noise(x, noise, snr):
    """x + noise scaled so that snr_db(x, added) == snr. Same length."""
    x = np.asarray(x, dtype=np.float32)
    noise = np.asarray(noise, dtype=np.float64)[:x.size]
    p_x, p_n = power(x), power(noise)
    if p_x <= 0 or p_n <= 0:
        return x.copy()
    scale = np.sqrt(p_x / (p_n * 10.0 ** (snr / 10.0)))
    return (x + scale * noise).astype(np.float32)


def apply_rir(x, rir):
    """Reverberates x with a (direct-path aligned) RIR; same length and RMS as x."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size + rir.size - 1
    n_fft = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, n_fft) * np.fft.rfft(rir, n_fft), n_fft)[:x.size]
    p_x, p_y = power(x), power(y)
    if p_y > 0:
        y *= np.sqrt(p_x / p_y)
    return y.astype(np.float32)


# --------------------------------------------------------------------------- simple transforms

def time_shift(x, shift):
    """Delays (shift > 0) or advances (< 0) x by |shift| samples, zero-filled."""
    y = np.zeros_like(x)
    if shift >= 0:
        y[shift:] = x[:x.size - shift] if shift < x.size else 0
    else:
        y[:shift] = x[-shift:]
    return y


def speed(x, factor):
    """Speed perturbation: plays x factor times faster (pitch and tempo
    together, as Kaldi's speed perturbation), by resampling."""
    return resample_to(x, max(1, int(round(len(x) / factor))))


def fit_length(x, n):
    """Centre-crops or symmetrically zero-pads x to n samples."""
    if x.size == n:
        return x
    if x.size > n:
        start = (x.size - n) // 2
        return x[start:start + n]
    pad = n - x.size
    return np.pad(x, (pad // 2, pad - pad // 2))


def peak_normalize(x, peak=0.9):
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return x if m <= 0 or m <= peak else (x * (peak / m)).astype(np.float32)


def trim_energy(x, sr=SR, threshold_db=-35.0, margin_s=0.05):
    """Cuts leading/trailing quiet parts: keeps from the first to the last
    10 ms frame whose energy is within threshold_db of the loudest frame
    (and clearly above the noise floor), plus margin_s each side."""
    hop = sr // 100
    n = x.size // hop
    if n == 0:
        return x
    frames = x[:n * hop].astype(np.float64).reshape(n, hop)
    e = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)
    # Recorded clips carry a noise floor often within 35 dB of the word: the
    # threshold is also at least 12 dB above the floor (10th percentile
    # frame), but never above 6 dB under the peak.
    floor = np.percentile(e, 10)
    thr = min(max(e.max() + threshold_db, floor + 12.0), e.max() - 6.0)
    active = np.nonzero(e >= thr)[0]
    margin = int(margin_s * sr)
    start = max(0, active[0] * hop - margin)
    end = min(x.size, (active[-1] + 1) * hop + margin)
    return x[start:end]


# --------------------------------------------------------------------------- recipes

class Augmenter:
    """The training recipe for 1-second clips and sequences. Probabilities and
    ranges are attributes so the recipe hash in train.data sees them."""

    def __init__(self, noise, rirs, p_speed=0.6, speed_range=(0.9, 1.1), max_shift_s=0.1,
                 p_rir=0.25, p_noise=0.8, snr_range=(0.0, 25.0), gain_db=(-10.0, 6.0),
                 silence_db=(-75.0, -10.0)):
        self.noise, self.rirs = noise, rirs
        self.p_speed, self.speed_range = p_speed, speed_range
        self.max_shift_s, self.p_rir = max_shift_s, p_rir
        self.p_noise, self.snr_range, self.gain_db = p_noise, snr_range, gain_db
        self.silence_db = silence_db

    def recipe(self):
        return {k: v for k, v in vars(self).items() if k not in ("noise", "rirs")}

    def clip(self, x, rng, n_out=SR):
        """One augmented copy of a clip, n_out samples long."""
        x = np.asarray(x, dtype=np.float32)
        if rng.random() < self.p_speed:
            x = speed(x, rng.uniform(*self.speed_range))
        x = fit_length(x, n_out)
        max_shift = int(self.max_shift_s * SR)
        x = time_shift(x, int(rng.integers(-max_shift, max_shift + 1)))
        if self.rirs and rng.random() < self.p_rir:
            x = apply_rir(x, self.rirs[rng.integers(len(self.rirs))])
        x = x * np.float32(10.0 ** (rng.uniform(*self.gain_db) / 20.0))
        if len(self.noise) and rng.random() < self.p_noise:
            x = add_noise(x, self.noise.segment(rng, x.size), rng.uniform(*self.snr_range))
        return peak_normalize(x.astype(np.float32), 0.99)

    def silence(self, rng, n_out=SR):
        """A _silence_ example: a 1 s window of background noise (the
        dataset's recipe) at a level drawn uniformly in dB from silence_db
        (RMS, dBFS; real test-set silence clips span -80 to -10 dBFS); 5 % are
        digital zero plus faint dither."""
        if not len(self.noise) or rng.random() < 0.05:
            return (rng.standard_normal(n_out) * 1e-4).astype(np.float32)
        x = self.noise.segment(rng, n_out).astype(np.float64)
        target = 10.0 ** (rng.uniform(*self.silence_db) / 20.0)
        x *= target / max(np.sqrt(power(x)), 1e-12)
        return peak_normalize(x.astype(np.float32), 0.99)


def make_sequence(words_audio, words, rng, noise=None, pause_s=(0.05, 0.6), edge_s=(0.1, 0.4),
                  snr_range=(5.0, 30.0), p_noise=0.7, gain_db=(-6.0, 6.0)):
    """Continuous speech from isolated words: each clip trimmed by energy,
    given its own gain, joined with random pauses, with leading/trailing
    silence and optional background noise. Returns (pcm, text)."""
    if len(words_audio) != len(words):
        raise ValueError("one clip per word")
    parts = [np.zeros(int(rng.uniform(*edge_s) * SR), np.float32)]
    for i, x in enumerate(words_audio):
        if i:
            parts.append(np.zeros(int(rng.uniform(*pause_s) * SR), np.float32))
        x = trim_energy(np.asarray(x, np.float32))
        parts.append(x * np.float32(10.0 ** (rng.uniform(*gain_db) / 20.0)))
    parts.append(np.zeros(int(rng.uniform(*edge_s) * SR), np.float32))
    pcm = np.concatenate(parts)
    if noise is not None and len(noise) and rng.random() < p_noise:
        pcm = add_noise(pcm, noise.segment(rng, pcm.size), rng.uniform(*snr_range))
    return peak_normalize(pcm.astype(np.float32), 0.99), " ".join(words)
