"""train.lcurve: the power-law fit of a learning curve."""
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from train import lcurve  # noqa: E402


def test_fit_recovers_an_exact_power_law():
    a, alpha = 3.0, 0.4
    clips = [1000, 2000, 4000, 12000]
    errs = [a * c ** -alpha for c in clips]
    fa, falpha = lcurve.fit_power_law(clips, errs)
    assert abs(fa - a) < 1e-9 * a and abs(falpha - alpha) < 1e-12
    # the law inverted: the clips for the error at 4000 clips are 4000
    assert abs(lcurve.clips_needed(fa, falpha, 1.0 - errs[2]) - 4000) < 1e-6


def test_fit_is_least_squares_on_logs():
    # two points on a law and one off it: the slope is the least-squares one
    clips, errs = [100, 200, 400], [0.2, 0.15, 0.05]
    xs, ys = [math.log(c) for c in clips], [math.log(e) for e in errs]
    mx, my = sum(xs) / 3, sum(ys) / 3
    want = -sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    assert abs(lcurve.fit_power_law(clips, errs)[1] - want) < 1e-12


def test_error_that_does_not_fall_needs_no_finite_amount():
    a, alpha = lcurve.fit_power_law([100, 200], [0.1, 0.12])
    assert alpha < 0 and lcurve.clips_needed(a, alpha, 0.97) == float("inf")


@pytest.mark.parametrize("clips,errs", [([100], [0.1]), ([100, 100], [0.1, 0.2]),
                                        ([0, 100], [0.1, 0.2]), ([100, 200], [0.0, 0.1]),
                                        ([100, 200], [0.1])])
def test_bad_input_is_refused(clips, errs):
    with pytest.raises(ValueError):
        lcurve.fit_power_law(clips, errs)


def _run_dir(path, fraction, acc, epochs=3):
    import json
    import torch
    os.makedirs(path)
    torch.save({"args": {"real_fraction": fraction}, "history": [{}] * epochs},
               os.path.join(path, "last.pt"))
    with open(os.path.join(path, "eval.json"), "w") as f:
        json.dump({"dev_acc12_raw": acc - 0.01, "dev_acc12": acc,
                   "dev_acc12_unseen_speakers": acc, "recall": {"_unknown_": 0.5},
                   "train_fit": {"clean": {"accuracy": 0.99}}}, f)


def test_table_and_fit_from_run_directories(tmp_path, capsys):
    import json
    from test_data import _fake_full_dataset
    root = str(tmp_path / "sc")
    _fake_full_dataset(root)
    # the fixture's real training clips: 4, two each of aaaa0001 and bbbb0002 (its
    # dev speaker is not one the dev-training rule moves); a share picking one has 2
    spk = {s: lcurve.data.speaker_in_fraction(s, 0.5) for s in ("aaaa0001", "bbbb0002")}
    half = 0.5 if sum(spk.values()) == 1 else None
    if half is None:     # pick a share between the two speakers' numbers
        from test_data import _fraction_u
        u = sorted(_fraction_u(s) for s in spk)
        half = (u[0] + u[1]) / 2
    _run_dir(str(tmp_path / "a"), half, 0.80)
    _run_dir(str(tmp_path / "b"), 1.0, 0.90)
    out = str(tmp_path / "lc.json")
    assert lcurve.main([str(tmp_path / "b"), str(tmp_path / "a"), "--data", root,
                        "--json", out]) == 0
    text = capsys.readouterr().out
    assert "| 1 | 2 | 4 | 3 | 89.00 % | 90.00 % | 90.00 % | 50.0 % | 99.0 % |" in text
    rep = json.load(open(out))
    assert [r["fraction"] for r in rep["runs"]] == [half, 1.0] and rep["all_real_clips"] == 4
    n_half = rep["runs"][0]["clips"]
    assert n_half == 2 and rep["runs"][0]["speakers"] == 1
    a, alpha = lcurve.fit_power_law([2, 4], [0.2, 0.1])
    assert abs(alpha - 1.0) < 1e-12                 # error halves when the clips double
    assert abs(rep["fit"]["alpha"] - alpha) < 1e-12
    assert abs(rep["fit"]["needed"]["0.97"] - lcurve.clips_needed(a, alpha, 0.97)) < 1e-6
