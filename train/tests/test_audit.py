"""Tests of train.audit (clip level checks) and train.data's clip exclusion."""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from train import audit, data  # noqa: E402

SR = 16000


def _noise(n, db, seed=0):
    """White noise whose mean square is `db` dB re full scale."""
    return np.random.default_rng(seed).normal(0, 10 ** (db / 20), n)


def _word(n, at, length, db, seed=1):
    """A 300 Hz tone burst of `length` samples at sample `at`, `db` dB."""
    x = np.zeros(n)
    t = np.arange(length) / SR
    x[at:at + length] = np.sqrt(2) * 10 ** (db / 20) * np.sin(2 * np.pi * 300 * t)
    return x


def test_frame_levels_against_formula():
    x = _noise(SR, -20.0)
    lv = audit.frame_levels(x)
    assert lv.shape == (100,)
    ref = [10 * np.log10(np.mean(x[i * 160:(i + 1) * 160] ** 2) + 1e-10) for i in range(100)]
    np.testing.assert_allclose(lv, ref, atol=1e-9)
    assert audit.frame_levels(np.zeros(100)).size == 0          # under one frame
    assert audit.frame_levels(np.zeros(320)).tolist() == [-100.0, -100.0]


def test_clip_flags():
    bg = _noise(SR, -60.0)
    # a word 30 dB over the noise, in the middle: no flag
    flags, peak, floor = audit.clip_flags(bg + _word(SR, 5000, 5000, -20.0))
    assert flags == [] and abs(peak - (-20.0)) < 1.0 and abs(floor - (-60.0)) < 2.0
    # nothing over -50 dBFS: quiet (the word is there but 5 dB over the noise: flat too)
    assert audit.clip_flags(bg + _word(SR, 5000, 5000, -55.0))[0] == ["quiet", "flat"]
    # loud steady noise, no event: flat only
    assert audit.clip_flags(_noise(SR, -20.0))[0] == ["flat"]
    # the word runs into the first / last 30 ms
    assert audit.clip_flags(bg + _word(SR, 0, 6000, -20.0))[0] == ["cut_start"]
    assert audit.clip_flags(bg + _word(SR, SR - 6000, 6000, -20.0))[0] == ["cut_end"]
    # a word that ends 40 ms before the end (4 frames): not cut
    assert audit.clip_flags(bg + _word(SR, SR - 6640, 6000, -20.0))[0] == []
    # 0.8 s: short
    assert audit.clip_flags((bg + _word(SR, 5000, 5000, -20.0))[:12800])[0] == ["short"]
    assert audit.clip_flags(np.zeros(10))[0] == ["quiet", "flat", "short"]


def _fs(lengths):
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    feats = np.repeat(np.arange(len(lengths), dtype=np.float16), lengths)[:, None] * np.ones(
        (1, 4), np.float16)
    n = len(lengths)
    return data.FeatureSet(feats, offsets, {"text": ["t%d" % i for i in range(n)],
                                            "label12": [""] * n, "word": [""] * n,
                                            "source": ["real"] * n})


def test_exclude_items_drops_clips_and_their_sequences():
    jobs = [("real", 0, "/d/a.flac", "yes", "yes", "yes", "s", 2, False),   # items 0-2
            ("real", 1, "/d/b.flac", "no", "no", "no", "s", 2, False),      # items 3-5
            ("silence", 0),                                                  # 6
            ("synth", 0, "/c/t.wav", "up"),                                  # 7-8
            ("synth_seq", 0, "/c/s.wav", "up go"),                           # 9
            ("seq", 0, ["/d/a.flac", "/c/t.wav"], ["yes", "up"], True),      # 10
            ("seq", 1, ["/d/b.flac"], ["no"], True)]                         # 11
    fs = _fs([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    out = data.exclude_items(fs, jobs, {"/d/a.flac"})
    assert out.texts == ["t%d" % i for i in (3, 4, 5, 6, 7, 8, 9, 11)]
    assert out.lengths().tolist() == [6, 7, 8, 9, 10, 11, 12, 14]
    # each item's frames came along (frame value = the item's index)
    assert out[0]["feats"][0, 0] == 3 and out[7]["feats"][-1, 0] == 11
    assert len(data.exclude_items(fs, jobs, set())) == 12
    with pytest.raises(ValueError, match="12"):
        data.exclude_items(fs, jobs[:-1], {"/d/a.flac"})


def test_read_clip_list(tmp_path):
    p = tmp_path / "ex.txt"
    p.write_text("# comment\n\ntrain/yes/a.flac\t_yes\tquiet\n  train/no/b.wav  \n")
    assert data.read_clip_list(str(p)) == ["train/yes/a.flac", "train/no/b.wav"]
    p.write_text("train/yes/a.flac\nrm -rf /\n")
    with pytest.raises(ValueError, match="ex.txt:2"):
        data.read_clip_list(str(p))
    with pytest.raises(OSError):
        data.read_clip_list(str(tmp_path / "missing.txt"))


def test_summarize_error_rates():
    rows = [{"path": "a", "set": "train", "flags": ["quiet"]},
            {"path": "b", "set": "train", "flags": []},
            {"path": "c", "set": "train", "flags": []},
            {"path": "d", "set": "dev", "flags": ["cut_end"]}]
    ev = [{"path": "a", "status": "ok", "correct": False},
          {"path": "b", "status": "ok", "correct": True},
          {"path": "c", "status": "ok", "correct": False}]
    s = audit.summarize(rows, ev)
    assert s["train"]["clips"] == 3 and s["dev"]["clips"] == 1
    assert s["train"]["quiet"]["error_rate"] == 1.0
    assert s["train"]["excluded"]["n"] == 1
    assert s["train"]["none"]["error_rate"] == 0.5 and s["train"]["none"]["share"] == 2 / 3
    assert "error_rate" not in s["dev"]["cut_end"]


def test_cli_on_a_small_manifest(tmp_path, capsys):
    import soundfile as sf
    root = tmp_path / "sc"
    rows = [("train/yes/a_nohash_0.wav", "yes", "yes", "a", "train",
             _noise(SR, -60.0) + _word(SR, 5000, 5000, -20.0)),
            ("train/no/b_nohash_0.wav", "no", "no", "b", "train", _noise(SR, -70.0, 2)),
            ("train/up/c_nohash_0.wav", "up", "up", "c", "train",
             _noise(SR, -60.0, 3) + _word(SR, SR - 6000, 6000, -20.0)),
            ("dev/go/d_nohash_0.wav", "go", "go", "d", "dev", _noise(SR, -65.0, 4))]
    lines = ["path\tlabel12\tword\tspeaker\tsplit"]
    for path, lab, word, spk, split, x in rows:
        (root / os.path.dirname(path)).mkdir(parents=True, exist_ok=True)
        sf.write(str(root / path), x.astype(np.float32), SR, subtype="PCM_16")
        lines.append("\t".join((path, lab, word, spk, split)))
    (root / "train/left").mkdir()
    (root / "train/left/e_nohash_0.wav").write_bytes(b"RIFF not really")
    lines.append("train/left/e_nohash_0.wav\tleft\tleft\te\ttrain")
    (root / "manifest.tsv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    audit.main(["--data", str(root), "--out", str(out)])
    listed = data.read_clip_list(str(out / "exclude.txt"))
    # dev speaker "d" may be moved into training by the fixed rule: only train rows count
    assert "train/no/b_nohash_0.wav" in listed and "train/left/e_nohash_0.wav" in listed
    assert "train/yes/a_nohash_0.wav" not in listed and "train/up/c_nohash_0.wav" not in listed
    tsv = (out / "audit.tsv").read_text().splitlines()
    flags = {line.split("\t")[0]: line.split("\t")[-1] for line in tsv[1:]}
    assert flags["train/up/c_nohash_0.wav"] == "cut_end"
    assert flags["train/left/e_nohash_0.wav"] == "unreadable"
    assert "unreadable" in capsys.readouterr().out


SVX_BIN = os.environ.get("SVX_BIN", os.path.join(ROOT, "build", "shiftvox"))
MODEL = os.path.join(ROOT, "models", "default.svxm")


@pytest.mark.skipif(not (os.access(SVX_BIN, os.X_OK) and os.path.isfile(MODEL)),
                    reason="build/shiftvox or models/default.svxm absent")
def test_cli_with_the_model_joins_its_scores(tmp_path):
    import json
    import soundfile as sf
    root = tmp_path / "sc"
    rows = [("train/yes/a_nohash_0.wav", "yes", _noise(SR, -60.0) + _word(SR, 5000, 5000, -20.0)),
            ("train/no/b_nohash_0.wav", "no", _noise(SR, -70.0, 2))]
    lines = ["path\tlabel12\tword\tspeaker\tsplit"]
    for path, lab, x in rows:
        (root / os.path.dirname(path)).mkdir(parents=True, exist_ok=True)
        sf.write(str(root / path), x.astype(np.float32), SR, subtype="PCM_16")
        lines.append("\t".join((path, lab, lab, path[-16:-12], "train")))
    (root / "manifest.tsv").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    audit.main(["--data", str(root), "--out", str(out), "--model", MODEL])
    files = json.loads((out / "eval-train.json").read_text())["files"]
    assert len(files) == 2
    train = json.loads((out / "summary.json").read_text())["sets"]["train"]
    # every clip was scored and joined to its row: the counts add up per flag
    for k in ("excluded", "none"):
        assert train[k]["scored"] == train[k]["n"] == 1
    wrong = sum(not f["correct"] for f in files)
    assert train["excluded"]["model_errors"] + train["none"]["model_errors"] == wrong
