"""Tests of the training data pipeline (train/vocab, frontend, augment,
sc_layout, synth, data). Fast (seconds); what needs ../shared/data or a TTS
engine is skipped cleanly when it is absent."""
import os
import shutil
import sys

import numpy as np
import pytest
import soundfile as sf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from train import augment, data, sc_layout, synth, vocab  # noqa: E402
from train.frontend import Frontend  # noqa: E402

SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
HAVE_SHARED = os.path.isfile(os.path.join(SHARED, "speech_commands", "manifest.tsv"))
HAVE_ESPEAK = shutil.which("espeak-ng") is not None
SR = 16000

# C float32 front end vs float64 NumPy reference, on log-mel values: the
# reference computes the same formulas (include/shiftvox.h) in float64, so the
# only difference is float32 rounding in the FFT and the filterbank sums.
FEAT_ATOL = 1e-4      # measured 3.0e-6 on the test signal
# Measured SNR of add_noise against the requested value, dB.
SNR_TOL_DB = 1e-3


# --------------------------------------------------------------------------- vocab

def test_symbol_table_matches_arch():
    # model/ARCH.md: 0 = blank, 1 = space, 2 = apostrophe, 3..28 = a..z
    assert vocab.N_SYMBOLS == 29
    assert vocab.encode(" ") == [1] and vocab.encode("'") == [2]
    assert vocab.encode("a") == [3] and vocab.encode("z") == [28]


def test_vocab_round_trip():
    for text in vocab.SC_WORDS + ["left right go", "don't stop", "sheila marvin wow"]:
        ids = vocab.encode(text)
        assert vocab.BLANK not in ids
        assert vocab.decode(ids) == text
    assert vocab.normalize_text("  Left, RIGHT!  go ") == "left right go"
    with pytest.raises(ValueError):
        vocab.encode("Yes")
    with pytest.raises(ValueError):
        vocab.encode("no1")
    # CTC collapse: repeats merge unless a blank separates them.
    ll = vocab.encode("l")[0]
    assert vocab.ctc_collapse([0, ll, ll, 0, ll, 0]) == "ll"


def test_label12_mapping():
    assert len(vocab.SC_WORDS) == 35 and len(set(vocab.SC_WORDS)) == 35
    assert vocab.LABELS12 == ["yes", "no", "up", "down", "left", "right", "on", "off", "stop",
                              "go", "_unknown_", "_silence_"]
    for w in vocab.SC_WORDS:
        assert vocab.label12(w) == (w if w in vocab.KEYWORDS10 else "_unknown_")
    assert vocab.label12(None) == "_unknown_"
    assert vocab.label12("_silence_") == "_silence_"


# --------------------------------------------------------------------------- C front end

def _numpy_logmel(x, p):
    """Independent float64 reference of the documented front end."""
    win, hop, nfft, nm = p["win_length"], p["hop_length"], p["n_fft"], p["n_mels"]
    hz2mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    mel2hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    edges = mel2hz(np.linspace(hz2mel(p["fmin_hz"]), hz2mel(p["fmax_hz"]), nm + 2))
    freqs = np.arange(nfft // 2 + 1) * p["sample_rate_hz"] / nfft
    fb = np.zeros((nm, freqs.size))
    for m in range(nm):
        lo, c, hi = edges[m:m + 3]
        up, down = (freqs - lo) / (c - lo), (hi - freqs) / (hi - c)
        fb[m] = np.where((freqs > lo) & (freqs < hi), np.where(freqs <= c, up, down), 0.0)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)     # periodic Hann
    n = 1 + (len(x) - win) // hop
    frames = np.stack([x[i * hop:i * hop + win] * window for i in range(n)])
    spec = np.fft.rfft(frames, nfft)
    return np.log(np.maximum((np.abs(spec) ** 2) @ fb.T, p["log_floor"]))


def test_c_frontend_matches_numpy_reference():
    fe = Frontend()
    p = fe.params_dict()
    assert (p["sample_rate_hz"], p["hop_length"], p["n_mels"]) == (16000, 160, 40)
    rng = np.random.default_rng(5)
    t = np.arange(SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(SR)).astype(np.float32)
    got = fe.compute(x)
    assert got.shape == (98, 40) and got.dtype == np.float32     # 1 s -> 98 frames
    ref = _numpy_logmel(x.astype(np.float64), p)
    err = np.max(np.abs(got - ref))
    assert err < FEAT_ATOL, "max |C - numpy| = %g" % err
    assert fe.n_frames(399) == 0 and fe.compute(np.zeros(399, np.float32)).shape == (0, 40)


def test_c_frontend_rejects_nan_and_bad_params():
    fe = Frontend()
    x = np.zeros(SR, np.float32)
    x[100] = np.nan
    with pytest.raises(ValueError):
        fe.compute(x)
    with pytest.raises(ValueError):
        Frontend(fmax_hz=12000.0)        # above Nyquist
    with pytest.raises(KeyError):
        Frontend(n_bananas=3)


def _shiftvox_bin():
    env = os.environ.get("SVX_BIN")
    if env:
        return env
    lib = os.environ.get("SVX_LIB")
    if lib and os.path.exists(os.path.join(os.path.dirname(lib), "shiftvox")):
        return os.path.join(os.path.dirname(lib), "shiftvox")
    return os.path.join(ROOT, "build", "shiftvox")


# The command reads the file through libsndfile and streams it through the
# same front end: only the int16 -> float conversion could differ.
CLI_ATOL = 1e-5


@pytest.mark.skipif(not os.path.exists(_shiftvox_bin()), reason="shiftvox command not built")
def test_ctypes_features_equal_shiftvox_features(tmp_path):
    import subprocess
    rng = np.random.default_rng(8)
    x = (0.2 * rng.standard_normal(SR + 1234)).clip(-1, 1)
    wav, npy = str(tmp_path / "x.wav"), str(tmp_path / "x.npy")
    sf.write(wav, x, SR, subtype="PCM_16")
    r = subprocess.run([_shiftvox_bin(), "features", "-o", npy, wav], capture_output=True, text=True)
    if r.returncode != 0 and "unknown" in (r.stderr + r.stdout).lower():
        pytest.skip("this shiftvox has no features command")
    assert r.returncode == 0, r.stderr
    cli = np.load(npy)
    ours = Frontend().compute(augment.load_audio(wav))
    assert cli.shape == ours.shape == (1 + (SR + 1234 - 400) // 160, 40)
    assert np.max(np.abs(cli - ours)) <= CLI_ATOL


# --------------------------------------------------------------------------- augment

def _fake_noise_bank(tmp_path, n_files=2):
    rng = np.random.default_rng(3)
    files = []
    for i in range(n_files):
        path = str(tmp_path / ("noise%d.wav" % i))
        sf.write(path, (0.1 * rng.standard_normal(3 * SR)).astype(np.float32), SR, subtype="FLOAT")
        files.append(path)
    return files


def _tone(freq, dur, amp=0.5, sr=SR):
    t = np.arange(int(dur * sr)) / sr
    env = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.01)        # 10 ms ramps
    return (amp * env * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(x, sr=SR):
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return np.argmax(spec) * sr / x.size


def test_add_noise_reaches_requested_snr():
    rng = np.random.default_rng(0)
    x = _tone(700, 1.0)
    for snr in (-5.0, 0.0, 7.5, 20.0, 40.0):
        noise = rng.standard_normal(x.size).astype(np.float32)
        y = augment.add_noise(x, noise, snr)
        measured = augment.snr_db(x, y.astype(np.float64) - x)
        assert abs(measured - snr) < SNR_TOL_DB, (snr, measured)


def test_noise_bank_parts_are_disjoint(tmp_path):
    files = _fake_noise_bank(tmp_path, 1)
    full = augment.load_audio(files[0])
    tr = augment.NoiseBank(files, part="train")
    ho = augment.NoiseBank(files, part="heldout")
    cut = int(full.size * augment.TRAIN_FRACTION)
    assert np.array_equal(tr.signals[0], full[:cut]) and np.array_equal(ho.signals[0], full[cut:])


def test_augmenter_is_deterministic_per_seed(tmp_path):
    files = _fake_noise_bank(tmp_path)
    rir = np.zeros(800, np.float32)
    rir[0], rir[400] = 1.0, 0.5
    aug = augment.Augmenter(augment.NoiseBank(files), [rir])
    x = _tone(500, 0.8)
    a = aug.clip(x, np.random.default_rng([7, 1]))
    b = aug.clip(x, np.random.default_rng([7, 1]))
    c = aug.clip(x, np.random.default_rng([7, 2]))
    assert a.shape == (SR,) and np.array_equal(a, b)
    assert not np.array_equal(a, c)
    s1 = aug.silence(np.random.default_rng(4))
    assert s1.shape == (SR,) and np.array_equal(s1, aug.silence(np.random.default_rng(4)))
    assert np.max(np.abs(s1)) < 1.0


def test_speed_perturbation_scales_duration_and_pitch():
    x = _tone(1000, 1.0)
    for f in (0.9, 1.1):
        y = augment.speed(x, f)
        assert y.size == round(x.size / f)
        assert abs(_peak_hz(y) - 1000 * f) < 5.0


def test_resample_preserves_a_tone():
    x = _tone(440, 0.5, sr=22050)
    y = augment.resample(x, 22050, SR)
    assert y.size == round(x.size * SR / 22050)
    assert abs(_peak_hz(y) - 440) < 3.0
    back = augment.resample(y, SR, 22050)
    assert np.max(np.abs(back - x)) < 1e-3


def test_rir_keeps_length_and_level():
    x = _tone(300, 0.5)
    rir = np.exp(-np.arange(2000) / 300.0).astype(np.float32) * \
        np.random.default_rng(1).standard_normal(2000).astype(np.float32)
    rir[0] = 5.0
    y = augment.apply_rir(x, rir)
    assert y.shape == x.shape
    assert abs(augment.power(y) / augment.power(x) - 1.0) < 1e-6
    assert not np.allclose(y, x)


def test_time_shift_and_fit_length():
    x = np.arange(10, dtype=np.float32) + 1
    assert np.array_equal(augment.time_shift(x, 3)[3:], x[:7])
    assert np.all(augment.time_shift(x, 3)[:3] == 0)
    assert np.array_equal(augment.time_shift(x, -2)[:8], x[2:])
    assert augment.fit_length(x, 6).tolist() == [3, 4, 5, 6, 7, 8]
    assert augment.fit_length(x, 14).tolist() == [0, 0] + x.tolist() + [0, 0]


def test_sequence_text_matches_words_in_order():
    # Each "word" is a tone of its own frequency padded with silence; the
    # sequence must hold exactly these words, in order, as the text says.
    freqs = {"left": 400.0, "right": 900.0, "go": 1500.0, "stop": 2500.0}
    words = ["go", "left", "stop", "right"]
    clips = [np.concatenate([np.zeros(3000, np.float32), _tone(freqs[w], 0.3),
                             np.zeros(3000, np.float32)]) for w in words]
    rng = np.random.default_rng(11)
    pcm, text = augment.make_sequence(clips, words, rng, noise=None, pause_s=(0.1, 0.2))
    assert text == "go left stop right"
    hop = SR // 100
    e = np.mean(pcm[:pcm.size // hop * hop].reshape(-1, hop) ** 2, axis=1)
    active = e > 1e-3
    starts = np.nonzero(active[1:] & ~active[:-1])[0] + 1
    ends = np.nonzero(~active[1:] & active[:-1])[0] + 1
    assert len(starts) == len(words) == len(ends)
    for s, t, w in zip(starts, ends, words):
        assert abs(_peak_hz(pcm[s * hop:t * hop]) - freqs[w]) < 30.0
    # trimmed: 4 tones of 0.3 s + 3 pauses <= 0.2 s + edges <= 0.4 s each + margins
    assert pcm.size / SR < 4 * 0.3 + 3 * 0.2 + 2 * 0.4 + 8 * 0.05 + 0.05


# --------------------------------------------------------------------------- layouts

def _wav(path, seconds=0.2, freq=440.0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sf.write(path, _tone(freq, seconds), SR, subtype="PCM_16")


def _fake_full_dataset(root):
    # word folders (2 keywords, 1 other word) + background noise + split lists
    spk = {"yes": ["aaaa0001", "bbbb0002", "cccc0003"], "stop": ["aaaa0001", "dddd0004"],
           "bed": ["bbbb0002", "eeee0005"]}
    for w, speakers in spk.items():
        for s in speakers:
            _wav(os.path.join(root, w, "%s_nohash_0.wav" % s), 1.0, 300 + 50 * len(w))
    rng = np.random.default_rng(2)
    os.makedirs(os.path.join(root, "_background_noise_"))
    sf.write(os.path.join(root, "_background_noise_", "white.wav"),
             (0.05 * rng.standard_normal(4 * SR)).astype(np.float32), SR, subtype="FLOAT")
    with open(os.path.join(root, "testing_list.txt"), "w") as f:
        f.write("yes/cccc0003_nohash_0.wav\nbed/eeee0005_nohash_0.wav\n")
    with open(os.path.join(root, "validation_list.txt"), "w") as f:
        f.write("stop/dddd0004_nohash_0.wav\n")


def test_full_layout_labels_and_splits(tmp_path):
    root = str(tmp_path / "sc")
    _fake_full_dataset(root)
    clips, layout = sc_layout.load(root)
    assert layout == "full"
    got = {(os.path.relpath(c.path, root), c.label12, c.word, c.text, c.speaker, c.split)
           for c in clips}
    assert got == {
        ("yes/aaaa0001_nohash_0.wav", "yes", "yes", "yes", "aaaa0001", "train"),
        ("yes/bbbb0002_nohash_0.wav", "yes", "yes", "yes", "bbbb0002", "train"),
        ("yes/cccc0003_nohash_0.wav", "yes", "yes", "yes", "cccc0003", "test"),
        ("stop/aaaa0001_nohash_0.wav", "stop", "stop", "stop", "aaaa0001", "train"),
        ("stop/dddd0004_nohash_0.wav", "stop", "stop", "stop", "dddd0004", "dev"),
        ("bed/bbbb0002_nohash_0.wav", "_unknown_", "bed", "bed", "bbbb0002", "train"),
        ("bed/eeee0005_nohash_0.wav", "_unknown_", "bed", "bed", "eeee0005", "test"),
    }
    assert [os.path.basename(p) for p in sc_layout.noise_files(root)] == ["white.wav"]


def test_testset_layout_labels(tmp_path):
    root = str(tmp_path / "test")
    _wav(os.path.join(root, "yes", "abcd1234_nohash_0.wav"))
    _wav(os.path.join(root, "off", "abcd1234_nohash_1.wav"))
    _wav(os.path.join(root, "_unknown_", "marvin_ffff0000_nohash_2.wav"))
    _wav(os.path.join(root, "_unknown_", "mystery.wav"))
    _wav(os.path.join(root, "_silence_", "0001.wav"))
    clips, layout = sc_layout.load(root)
    assert layout == "testset"
    got = {(os.path.relpath(c.path, root), c.label12, c.word, c.text, c.speaker, c.split)
           for c in clips}
    assert got == {
        ("yes/abcd1234_nohash_0.wav", "yes", "yes", "yes", "abcd1234", "test"),
        ("off/abcd1234_nohash_1.wav", "off", "off", "off", "abcd1234", "test"),
        ("_unknown_/marvin_ffff0000_nohash_2.wav", "_unknown_", "marvin", "marvin", "ffff0000", "test"),
        ("_unknown_/mystery.wav", "_unknown_", None, None, "", "test"),
        ("_silence_/0001.wav", "_silence_", "_silence_", "", "", "test"),
    }


def test_manifest_layout_and_unknown_word(tmp_path):
    root = str(tmp_path / "m")
    os.makedirs(root)
    with open(os.path.join(root, "manifest.tsv"), "w") as f:
        f.write("path\tlabel12\tword\tspeaker\tsplit\tsource\n"
                "train/go/a_nohash_0.flac\tgo\tgo\ta\ttrain\tx\n"
                "train/_unknown_/b_nohash_0.flac\t_unknown_\t-\tb\ttrain\tx\n"
                "dev/_silence_/1.flac\t_silence_\t_silence_\t-\tdev\tx\n")
    clips, layout = sc_layout.load(root)
    assert layout == "manifest"
    assert [(c.label12, c.word, c.text, c.speaker, c.split) for c in clips] == [
        ("go", "go", "go", "a", "train"), ("_unknown_", None, None, "b", "train"),
        ("_silence_", "_silence_", "", "", "dev")]
    with open(os.path.join(root, "manifest.tsv"), "a") as f:
        f.write("train/x.flac\tmaybe\tmaybe\tc\ttrain\tx\n")
    with pytest.raises(ValueError):
        sc_layout.load(root)


def test_unrecognised_folder_is_an_error(tmp_path):
    with pytest.raises(ValueError):
        sc_layout.detect_layout(str(tmp_path))


@pytest.mark.skipif(not HAVE_SHARED, reason="../shared/data absent")
def test_shared_manifest_counts():
    clips, layout = sc_layout.load(os.path.join(SHARED, "speech_commands"))
    train = [c for c in clips if c.split == "train"]
    dev = [c for c in clips if c.split == "dev"]
    assert layout == "manifest" and len(train) == 10504 and len(dev) == 2729
    assert sum(c.text is None for c in train) == 545
    assert sum(c.label12 == "_silence_" for c in dev) == 205


# --------------------------------------------------------------------------- build_datasets

def test_build_datasets_on_fake_full_dataset(tmp_path):
    root = str(tmp_path / "sc")
    _fake_full_dataset(root)
    cache = str(tmp_path / "cache")
    kw = dict(cache_dir=cache, seed=3, n_aug=2, n_seq=4, synth=False, data_root=root,
              n_silence=3, workers=1)
    tr, dev = data.build_datasets(**kw)
    # 4 train clips x (1 + 2) + 3 silence + 4 sequences; dev = the validation list
    assert len(tr) == 4 * 3 + 3 + 4 and len(dev) == 1
    c = tr.counts()
    assert c["real"] == {"yes": 6, "stop": 3, "_unknown_": 3}
    assert c["silence"] == {"_silence_": 3} and c["seq"] == {"": 4}
    for it in tr:
        assert it["feats"].shape[1] == 40 and it["feats"].dtype == np.float16
        if it["source"] in ("real", "silence"):
            assert it["feats"].shape[0] == 98
        if it["source"] == "seq":
            ws = it["text"].split()
            assert 2 <= len(ws) <= 3 and len(set(ws)) == len(ws)    # only 3 words exist
            assert set(ws) <= {"yes", "stop", "bed"} and it["word"] == it["text"]
        if it["source"] == "silence":
            assert it["text"] == "" and it["label12"] == "_silence_"
    d = dev[0]
    assert (d["label12"], d["text"], d["speaker"], d["seen_speaker"]) == ("stop", "stop", "dddd0004", False)
    # The clean copy is exactly the C front end on the file.
    first = tr[0]
    x = augment.load_audio(os.path.join(root, "bed", "bbbb0002_nohash_0.wav"))
    assert first["word"] == "bed"
    assert np.array_equal(first["feats"], Frontend().compute(x).astype(np.float16))
    # Second call: loaded from the cache, identical; another seed: rebuilt, different.
    files = sorted(os.listdir(cache))
    tr2, _ = data.build_datasets(**kw)
    assert sorted(os.listdir(cache)) == files
    assert np.array_equal(tr.feats, tr2.feats) and tr.texts == tr2.texts
    kw["seed"] = 4
    tr3, _ = data.build_datasets(**kw)
    assert tr3.feats.shape[1] == 40 and not np.array_equal(tr.feats[98:196], tr3.feats[98:196])


def _speaker_with(rule_value, start):
    n = start
    while data.dev_train_speaker("%08x" % n) != rule_value:
        n += 1
    return "%08x" % n


def test_dev_train_speaker_rule():
    assert not data.dev_train_speaker("") and not data.dev_train_speaker("-")
    a, b = _speaker_with(True, 0x100), _speaker_with(False, 0x100)
    assert data.dev_train_speaker(a) and not data.dev_train_speaker(b)
    assert not data.dev_train_speaker(a, enabled=False)
    picked = sum(data.dev_train_speaker("%08x" % (977 * i)) for i in range(2000))
    assert 900 < picked < 1100                     # about half
    if HAVE_SHARED:                                # the shared dev set: 75 of its 154 speakers
        import csv
        with open(os.path.join(SHARED, "speech_commands", "manifest.tsv")) as f:
            spk = {r["speaker"] for r in csv.DictReader(f, delimiter="\t")
                   if r["split"] == "dev" and r["speaker"] != "-"}
        assert sum(data.dev_train_speaker(s) for s in spk) == 75 and len(spk) == 154


def test_half_of_the_dev_speakers_are_trained_on(tmp_path):
    root = str(tmp_path / "sc")
    _fake_full_dataset(root)
    trained, kept = _speaker_with(True, 0x5000), _speaker_with(False, 0x5000)
    assert not data.dev_train_speaker("dddd0004")  # the fixture's own dev speaker stays
    with open(os.path.join(root, "validation_list.txt"), "a") as f:
        for s in (trained, kept):
            _wav(os.path.join(root, "bed", "%s_nohash_0.wav" % s), 1.0, 450)
            f.write("bed/%s_nohash_0.wav\n" % s)
    kw = dict(cache_dir=str(tmp_path / "cache"), seed=3, n_aug=1, n_seq=2, synth=False,
              data_root=root, n_silence=2, workers=1)
    tr, dev = data.build_datasets(**kw)
    assert sorted(dev.speakers) == sorted(["dddd0004", kept])
    assert tr.recipe["dev_trained_speakers"] == [trained]
    moved = [it for it in tr if it.get("speaker") == trained]
    assert len(moved) == 2 and all(it["word"] == "bed" for it in moved)  # clean + 1 augmented
    # switched off: the dev set is the whole validation list again
    tr2, dev2 = data.build_datasets(dev_train=False, **kw)
    assert sorted(dev2.speakers) == sorted(["dddd0004", trained, kept])
    assert tr2.recipe["dev_trained_speakers"] == []


def test_build_datasets_is_deterministic_across_worker_counts(tmp_path):
    root = str(tmp_path / "sc")
    _fake_full_dataset(root)
    kw = dict(seed=9, n_aug=1, n_seq=3, synth=False, data_root=root, n_silence=2)
    a, _ = data.build_datasets(cache_dir=str(tmp_path / "c1"), workers=1, **kw)
    b, _ = data.build_datasets(cache_dir=str(tmp_path / "c2"), workers=2, **kw)
    assert np.array_equal(a.feats, b.feats) and a.texts == b.texts


def test_missing_data_root_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.build_datasets(cache_dir=str(tmp_path), data_root=str(tmp_path / "nothing"))


# --------------------------------------------------------------------------- synth

def test_synth_plan_is_deterministic_and_covers_words():
    voices = {"espeak": ["en-us", "en-gb"], "espeak_variants": ["f1", "m3"],
              "flite": ["slt"], "festival": ["kal_diphone"]}
    a = synth.make_plan(5, n_per_word=3, n_seq=20, voices=voices)
    b = synth.make_plan(5, n_per_word=3, n_seq=20, voices=voices)
    c = synth.make_plan(6, n_per_word=3, n_seq=20, voices=voices)
    assert a == b and a != c and synth.plan_hash(a) != synth.plan_hash(c)
    singles = [j for j in a if len(j["words"]) == 1]
    assert sorted({j["text"] for j in singles}) == sorted(vocab.SC_WORDS)
    assert len(singles) == 35 * 3
    for j in a[len(singles):]:
        assert 2 <= len(j["words"]) <= 6 and len(set(j["words"])) == len(j["words"])
        assert j["text"] == " ".join(j["words"]) and len(j["pauses_ms"]) == len(j["words"]) - 1
    assert {j["engine"] for j in a} <= {"espeak", "flite", "festival"}
    # an engine with no voice is never planned
    voices["flite"] = []
    assert all(j["engine"] != "flite" for j in synth.make_plan(5, 3, 20, voices=voices))


@pytest.mark.skipif(not HAVE_ESPEAK, reason="espeak-ng not installed")
def test_synth_generates_16k_clips_with_manifest(tmp_path):
    words = ["yes", "sheila", "visual"]
    out_dir, rows = synth.generate(str(tmp_path), seed=2, n_per_word=2, n_seq=2, workers=2,
                                   words=words, log=lambda *a: None)
    assert len(rows) == 8
    for r in rows:
        info = sf.info(os.path.join(out_dir, r["file"]))
        assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
        x, _ = sf.read(os.path.join(out_dir, r["file"]))
        assert 0.1 < x.size / SR < 8.0 and np.max(np.abs(x)) > 0.01
        assert r["engine"] in ("espeak", "flite", "festival") and r["voice"]
        assert set(r["text"].split()) <= set(words)
    assert sorted(synth.read_manifest(out_dir), key=lambda r: r["file"])[0]["file"] == "00000.wav"
    # a second call reuses the clips
    again_dir, again = synth.generate(str(tmp_path), seed=2, n_per_word=2, n_seq=2, words=words,
                                      log=lambda *a: None)
    assert again_dir == out_dir and [r["file"] for r in again] == [r["file"] for r in rows]


@pytest.mark.skipif(not (HAVE_SHARED and HAVE_ESPEAK), reason="../shared/data or espeak-ng absent")
def test_quick_build_on_shared_data(tmp_path):
    tr, dev = data.build_datasets(cache_dir=str(tmp_path), seed=1, quick=True, data_root=SHARED)
    c = tr.counts()
    assert set(c) == {"real", "synth", "seq", "silence"}
    assert set(c["real"]) == set(vocab.LABELS12) - {"_silence_"}
    assert set(dev.labels12) == set(vocab.LABELS12)
    assert all(f.shape[0] == 98 for f, s in zip((it["feats"] for it in dev), dev.sources))
    synth_words = {it["word"] for it in tr if it["source"] == "synth"}
    assert synth_words == set(vocab.SC_WORDS)
    seqs = data.build_dev_sequences(cache_dir=str(tmp_path), seed=1, n_seq=6, data_root=SHARED,
                                    workers=1)
    assert len(seqs) == 6
    for it in seqs:
        ws = it["text"].split()
        assert 2 <= len(ws) <= 6 and len(set(ws)) == len(ws) and set(ws) <= set(vocab.SC_WORDS)
        assert it["source"] == "seq" and it["label12"] == ""
    # leaving clips out (train --exclude-clips): loaded from the cache just made, the
    # listed clips' clean + augmented items go (quick: n_aug 1), and so do the
    # sequences made with them; the cache itself is untouched
    real_idx = [i for i, s in enumerate(tr.sources) if s == "real"]
    clips = data.split_clips(sc_layout.load(os.path.join(SHARED, "speech_commands"))[0])[0]
    quick = data._quick_subset(clips, 12, 1)
    assert len(real_idx) == 2 * len(quick)
    gone = [os.path.relpath(c.path, os.path.join(SHARED, "speech_commands")) for c in quick[:3]]
    tr2, _ = data.build_datasets(cache_dir=str(tmp_path), seed=1, quick=True, data_root=SHARED,
                                 exclude=gone)
    n_seq = sum(s == "seq" for s in tr.sources) - sum(s == "seq" for s in tr2.sources)
    assert len(tr) - len(tr2) == 6 + n_seq and 0 <= n_seq <= 40
    assert sum(s == "real" for s in tr2.sources) == len(real_idx) - 6
    keep = real_idx[6:]
    np.testing.assert_array_equal(tr2[0]["feats"], tr[keep[0]]["feats"])
    assert len(data.build_datasets(cache_dir=str(tmp_path), seed=1, quick=True,
                                   data_root=SHARED)[0]) == len(tr)


def test_silence_level_follows_the_recipe(tmp_path):
    aug = augment.Augmenter(augment.NoiseBank(_fake_noise_bank(tmp_path)), [],
                            silence_db=(-40.0, -30.0))
    levels = []
    for i in range(40):
        x = aug.silence(np.random.default_rng([1, i]))
        if np.max(np.abs(x)) > 1e-3:          # not the dither-only kind
            levels.append(10 * np.log10(augment.power(x)))
    assert len(levels) >= 30
    assert min(levels) > -40.0 - 1e-6 and max(levels) < -30.0 + 1e-6


def _fraction_u(speaker):
    # the rule's number, recomputed independently of data.speaker_in_fraction
    import hashlib
    return int(hashlib.sha1(("fraction:" + speaker).encode()).hexdigest()[:16], 16) / 2.0 ** 64


def test_speaker_fraction_rule_is_nested_and_about_the_share():
    ids = ["%08x" % (7919 * i) for i in range(4000)]
    kept = {f: {s for s in ids if data.speaker_in_fraction(s, f)} for f in (0.125, 0.25, 0.5, 1.0)}
    assert kept[0.125] <= kept[0.25] <= kept[0.5] <= kept[1.0] == set(ids)
    for f in (0.125, 0.25, 0.5):
        assert abs(len(kept[f]) / 4000.0 - f) < 0.03, (f, len(kept[f]))
        assert all((_fraction_u(s) < f) == (s in kept[f]) for s in ids[:200])
    # independent of the dev-training rule (else a share would skew it)
    both = sum(data.dev_train_speaker(s) for s in kept[0.5])
    assert abs(both / len(kept[0.5]) - 0.5) < 0.05


def test_build_datasets_real_fraction_keeps_those_speakers(tmp_path):
    root = str(tmp_path / "sc")
    _fake_full_dataset(root)
    a, b = "aaaa0001", "bbbb0002"                  # the fixture's training speakers
    lo, hi = sorted((_fraction_u(a), _fraction_u(b)))
    keep = a if _fraction_u(a) < _fraction_u(b) else b
    kw = dict(cache_dir=str(tmp_path / "cache"), seed=3, n_aug=1, n_seq=2, synth=False,
              data_root=root, n_silence=2, workers=1, dev_train=False)
    tr_all, dev_all = data.build_datasets(**kw)
    tr, dev = data.build_datasets(real_fraction=(lo + hi) / 2, **kw)
    real = [it for it in tr if it["source"] == "real"]
    assert real and {it["speaker"] for it in real} == {keep}
    assert {it["speaker"] for it in tr_all if it["source"] == "real"} == {a, b}
    assert tr.recipe["real_fraction"] == (lo + hi) / 2 and "real_fraction" not in tr_all.recipe
    assert sorted(dev.speakers) == sorted(dev_all.speakers)     # the dev set is untouched
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(ValueError):
            data.build_datasets(real_fraction=bad, **kw)
