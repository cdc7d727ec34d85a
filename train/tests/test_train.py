"""Training loop, checkpoint resume and the CTC evaluation rule."""
import argparse
import itertools
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from train.evaluate import classify12, word_scores  # noqa: E402
from train.model import CRNN, greedy_decode  # noqa: E402
from train.train import add_args, synthetic_items, train  # noqa: E402


def _args(out, *extra):
    base = ["--out", str(out), "--quiet", "--no-eval", "--batch", "16", "--lr", "3e-3",
            "--hidden", "48", "--c1", "8", "--c2", "8", "--shift", "2", "--warmup", "10"]
    return add_args(argparse.ArgumentParser()).parse_args(base + list(extra))


@pytest.mark.parametrize("q", ["float", "denseshift", "deepshift-q", "deepshift-ps"])
def test_a_few_steps_lower_the_loss(tmp_path, q):
    items = synthetic_items(96, seed=0)
    _, hist = train(_args(tmp_path, "--epochs", "4", "--quant", q), items, None)
    losses = [h["train_loss"] for h in hist]
    assert all(np.isfinite(losses))
    # DeepShift-PS moves a weight only when its shift/sign latent crosses a
    # rounding boundary, so it learns visibly slower in four tiny epochs.
    factor = 0.9 if q == "deepshift-ps" else 0.6
    assert losses[-1] < factor * losses[0], losses
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


def test_resume_reproduces_the_next_epoch(tmp_path):
    items = synthetic_items(48, seed=1)
    m_full, h_full = train(_args(tmp_path / "a", "--epochs", "2", "--quant", "denseshift"), items, None)
    train(_args(tmp_path / "b", "--epochs", "1", "--quant", "denseshift"), items, None)
    # the same recipe asked for 2 epochs, resumed after the first
    m_res, h_res = train(_args(tmp_path / "b", "--epochs", "2", "--quant", "denseshift",
                               "--resume"), items, None)
    assert [h["epoch"] for h in h_res] == [0, 1]
    assert h_res[1]["train_loss"] == h_full[1]["train_loss"]
    sa, sb = m_full.state_dict(), m_res.state_dict()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_init_from_float_checkpoint_reproduces_float_weights_in_shift_grid(tmp_path):
    items = synthetic_items(32, seed=2)
    train(_args(tmp_path / "f", "--epochs", "1"), items, None)
    ck = str(tmp_path / "f" / "last.pt")
    m, _ = train(_args(tmp_path / "q", "--epochs", "0", "--quant", "denseshift",
                       "--init-from", ck), items, None)
    src = CRNN(torch.load(ck)["config"])
    src.load_state_dict(torch.load(ck)["model"])
    wf, wq = src.w_hh().detach(), m.w_hh().detach()
    a = torch.exp(m.w_hh.log_alpha.detach())[:, None]
    inside = (wf.abs() / a >= 2 ** -0.5) & (wf.abs() / a <= 2 ** 3.5)
    assert torch.all(torch.log2(wq.abs() / wf.abs())[inside].abs() <= 0.5 + 1e-5)
    assert torch.equal(src.mean, m.mean) and torch.equal(src.bn2.running_var, m.bn2.running_var)


def _brute_ctc(lp, target):
    """log P(target) by summing over every path of length T (independent
    reference for the CTC forward algorithm)."""
    T, V = lp.shape
    total = -np.inf
    for path in itertools.product(range(V), repeat=T):
        out, prev = [], 0
        for s in path:
            if s != prev and s != 0:
                out.append(s)
            prev = s
        if out == target:
            total = np.logaddexp(total, sum(lp[t, s] for t, s in enumerate(path)))
    return total


def test_word_scores_match_brute_force_ctc():
    rng = np.random.default_rng(5)
    # 29 symbols, T = 4: 29^4 paths
    x = rng.normal(0, 2, (4, 29))
    lp = torch.log_softmax(torch.tensor(x), dim=-1).float()
    cands = ["", "a", "ab", "aa", "go"]
    got = word_scores([lp], cands)[0]
    ids = {"": [], "a": [3], "ab": [3, 4], "aa": [3, 3], "go": [9, 17]}
    want = [_brute_ctc(lp.double().numpy(), ids[c]) for c in cands]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)  # float32 CTC vs float64 sum


def test_classify12_maps_words_to_classes():
    from train.evaluate import CANDIDATES
    s = np.full((3, len(CANDIDATES)), -50.0)
    s[0, CANDIDATES.index("stop")] = -1
    s[1, CANDIDATES.index("marvin")] = -1
    s[2, CANDIDATES.index("")] = -1
    assert classify12(s) == ["stop", "_unknown_", "_silence_"]


def test_greedy_decode_collapses_repeats_and_blanks():
    seq = [0, 3, 3, 0, 3, 1, 1, 4, 0]
    lp = torch.full((len(seq), 29), -10.0)
    for t, s in enumerate(seq):
        lp[t, s] = 0
    assert greedy_decode(lp) == "aa b"


def test_bias_vector_is_a_length_prior_plus_silence_offset():
    from train.evaluate import CANDIDATES, bias_vector
    b = bias_vector(char_bonus=0.5, silence=-2.0)
    assert b[CANDIDATES.index("go")] == 1.0 and b[CANDIDATES.index("backward")] == 4.0
    assert b[CANDIDATES.index("")] == -2.0
    # a bonus can flip a short-word win into the longer word it truncates
    s = np.full((1, len(CANDIDATES)), -50.0)
    s[0, CANDIDATES.index("on")] = -3.0
    s[0, CANDIDATES.index("down")] = -3.8
    assert classify12(s) == ["on"] and classify12(s, b) == ["down"]


class _BlankModel(torch.nn.Module):
    """Outputs, at every frame, blank probability 1 - (feature 0 of the
    frame) and the rest on symbol 1: the non-blank mass is the input."""

    def forward(self, x):
        nb = x[:, :, :1].clamp(1e-9, 1 - 1e-9)
        rest = torch.full_like(nb, 1e-12).expand(-1, -1, 27)
        p = torch.cat([1 - nb, nb, rest], dim=2)
        return torch.log(p / p.sum(dim=2, keepdim=True))

    def out_lengths(self, n):
        return torch.as_tensor(n)


def test_pause_thresholds_follow_the_silence_percentile():
    from train.evaluate import pause_thresholds
    rng = np.random.default_rng(0)

    def feats(nb):
        f = np.zeros((len(nb), 40), np.float32)
        f[:, 0] = nb
        return f
    # a confident model: non-blank mass <= 0.004 -> the floor, 0.99 / 0.9
    t = pause_thresholds(_BlankModel(), [feats(rng.uniform(0, 0.004, 200)) for _ in range(5)])
    assert t["enter_blank"] == pytest.approx(0.99) and t["exit_blank"] == pytest.approx(0.9)
    # a less sure one: 98th percentile of U(0, 0.02) is 0.0196 -> 1 - 2 * 0.0196
    t = pause_thresholds(_BlankModel(), [feats(rng.uniform(0, 0.02, 2000)) for _ in range(5)])
    assert t["silence_nonblank_p98"] == pytest.approx(0.0196, abs=5e-4)
    assert t["enter_blank"] == pytest.approx(1 - 2 * t["silence_nonblank_p98"], abs=1e-6)
    assert t["exit_blank"] == pytest.approx(1 - 20 * t["silence_nonblank_p98"], abs=1e-4)
    # the zero-padding frames at the start are left out; a model unsure in
    # silence is capped at 0.9 / 0.5
    f = feats(np.r_[np.ones(4) * 0.9, rng.uniform(0, 0.3, 500)])
    t = pause_thresholds(_BlankModel(), [f])
    assert t["n_frames"] == 500
    assert (t["enter_blank"], t["exit_blank"]) == (pytest.approx(0.9), pytest.approx(0.5))
    assert 0 < t["exit_blank"] < t["enter_blank"] < 1


def test_word_ce_is_the_cross_entropy_of_the_word_scores():
    """WordCE against word_scores (itself checked against brute-force CTC):
    items whose text is no candidate add nothing, and a candidate too long
    for an item's frames is left out of its softmax."""
    from train.evaluate import CANDIDATES
    from train.train import WordCE
    rng = np.random.default_rng(11)
    B, T, V = 5, 12, 29
    lp = torch.log_softmax(torch.tensor(rng.normal(0, 2, (B, T, V))), dim=-1).float()
    olen = torch.tensor([12, 12, 3, 9, 12])
    texts = ["off", "up", "", "left right", None]      # 3 candidates, a sequence, unknown
    w = WordCE()
    cand = w.targets(texts)
    assert cand.tolist() == [CANDIDATES.index("off"), CANDIDATES.index("up"),
                             CANDIDATES.index(""), -1, -1]
    got = float(w(lp, olen, cand))
    want = []
    for b in range(3):
        s = word_scores([lp[b, :int(olen[b])]])[0]
        ok = np.isfinite(s)             # CTC gives -inf to words needing more frames
        assert ok.sum() < len(CANDIDATES) if int(olen[b]) == 3 else ok.all()
        s = s[ok]
        k = list(np.flatnonzero(ok)).index(int(cand[b]))
        want.append(-(s[k] - np.logaddexp.reduce(s)))
    assert got == pytest.approx(float(np.mean(want)), abs=1e-4)
    # no candidate in the batch: zero, and still part of the graph
    z = w(lp.requires_grad_(), olen, w.targets([None, "left right", None, None, None]))
    assert float(z) == 0.0 and z.requires_grad


def test_word_ce_training_lowers_both_terms(tmp_path):
    items = synthetic_items(96, seed=3)
    _, hist = train(_args(tmp_path, "--epochs", "4", "--word-ce", "1"), items, None)
    losses = [h["train_loss"] for h in hist]
    assert all(np.isfinite(losses)) and losses[-1] < 0.6 * losses[0], losses


def _others_logmass(scores):
    """log of the softmax mass of the 25 non-command words, per row of
    word_scores (infeasible candidates, -inf, left out)."""
    from train.evaluate import CANDIDATES
    from train.vocab import KEYWORDS10
    others = np.array([c != "" and c not in KEYWORDS10 for c in CANDIDATES])
    out = []
    for s in scores:
        ok = np.isfinite(s)
        out.append(np.logaddexp.reduce(s[ok & others]) - np.logaddexp.reduce(s[ok]))
    return np.array(out)


def test_unknown_ce_is_minus_the_log_mass_of_the_other_words():
    """An _unknown_ clip without a transcript (--unknown-ce): the target is
    the set of the 25 non-command words; checked against word_scores (itself
    checked against brute-force CTC).  Without unknown=True such clips add
    nothing, as do texts None with another label."""
    from train.evaluate import CANDIDATES
    from train.train import WordCE
    rng = np.random.default_rng(12)
    B, T, V = 4, 14, 29
    lp = torch.log_softmax(torch.tensor(rng.normal(0, 2, (B, T, V))), dim=-1).float()
    olen = torch.tensor([14, 10, 14, 14])
    texts = [None, None, "stop", None]
    labels = ["_unknown_", "_unknown_", "stop", "_silence_"]
    w = WordCE(unknown=True)
    cand = w.targets(texts, labels)
    assert cand.tolist() == [WordCE.UNKNOWN_SET, WordCE.UNKNOWN_SET, CANDIDATES.index("stop"), -1]
    assert WordCE().targets(texts, labels).tolist() == [-1, -1, CANDIDATES.index("stop"), -1]
    got = float(w(lp, olen, cand))
    sc = word_scores([lp[b, :int(olen[b])] for b in range(3)])
    mass = _others_logmass(sc[:2])
    ok = np.isfinite(sc[2])
    own = sc[2][CANDIDATES.index("stop")] - np.logaddexp.reduce(sc[2][ok])
    want = -np.mean([mass[0], mass[1], own])
    assert got == pytest.approx(float(want), abs=1e-4)


def test_ctc_step_leaves_items_without_text_out_of_ctc():
    """With has_text, the CTC term is F.ctc_loss's "mean" over the items
    with a transcript only (an independent sub-batch computation)."""
    from train.train import collate, ctc_step
    items = synthetic_items(6, seed=4)
    items[1] = dict(items[1], text=None, label12="_unknown_")
    items[4] = dict(items[4], text=None, label12="_unknown_")
    model = CRNN({"n_mels": 40, "hidden": 24, "c1": 4, "c2": 4}).eval()
    has = torch.tensor([it["text"] is not None for it in items])
    got = float(ctc_step(model, collate(items), has_text=has))
    sub = [it for it in items if it["text"] is not None]
    want = float(ctc_step(model, collate(sub)))
    assert got == pytest.approx(want, rel=1e-5)


def test_unknown_ce_teaches_the_model_unknown_clips(tmp_path):
    """Clips of a word never transcribed ("cat", text None, label _unknown_):
    with --unknown-ce the model learns to give them to the non-command
    words; without it they are dropped and it does not."""
    items = synthetic_items(160, seed=5, words=("yes", "no", "up", "go", "", "cat"))
    for i, it in enumerate(items):
        if it["word"] == "cat":
            items[i] = dict(it, text=None, label12="_unknown_")
    probe = [it for it in synthetic_items(60, seed=5, words=("cat",))]
    mass = {}
    for flag in (False, True):
        extra = ["--epochs", "10", "--word-ce", "2"] + (["--unknown-ce"] if flag else [])
        m, hist = train(_args(tmp_path / str(flag), *extra), items, None)
        assert all(np.isfinite(h["train_loss"]) for h in hist)
        m.eval()
        with torch.no_grad():
            lps = [m(torch.from_numpy(it["feats"])[None])[0] for it in probe]
        mass[flag] = float(np.mean(_others_logmass(word_scores(lps))))
    assert mass[True] > np.log(0.5) and mass[True] > mass[False] + 1.0, mass


# Tolerances of the VTLP check: the warped features of a tone against the C
# front end's features of the tone at alpha times the frequency.  Linear
# interpolation between log-mel bins smears a tone that sits between two
# bins, so the match is the peak bin exactly and a mean error well under the
# unwarped one.
VTLP_MAX_ERR_RATIO = 0.6


def test_vtlp_warp_moves_a_tone_like_a_speaker_of_scaled_formants():
    from train.frontend import Frontend
    from train.train import make_melwarp
    fe = Frontend()
    mw = make_melwarp(torch.Generator().manual_seed(0), fe.n_mels, 0.1)
    t = np.arange(fe.sample_rate) / fe.sample_rate
    for f in (500.0, 1000.0, 2000.0, 3000.0):
        for alpha in (0.9, 1.1):
            x = fe.compute(0.3 * np.sin(2 * np.pi * f * t))
            y = fe.compute(0.3 * np.sin(2 * np.pi * f * alpha * t))
            w = mw.apply(x, alpha)
            assert w.mean(0).argmax() == y.mean(0).argmax(), (f, alpha)
            assert np.abs(w - y).mean() < VTLP_MAX_ERR_RATIO * np.abs(x - y).mean(), (f, alpha)
    assert np.array_equal(mw.apply(x, 1.0), x)
    # the warp keeps the band edges: w(fmin..fmax) stays inside, increasing
    grid = np.linspace(mw.fmin, mw.fmax, 500)
    for alpha in (0.9, 1.1):
        wf = mw.warp_hz(grid, alpha)
        assert np.all(np.diff(wf) > 0) and abs(wf[-1] - mw.fmax) < 1e-6


def test_vtlp_draws_are_seeded_and_leave_half_the_items_alone():
    from train.train import MelWarp
    items = [{"feats": np.random.default_rng(i).normal(size=(20, 40)).astype(np.float32)}
             for i in range(400)]
    wa, wb = (MelWarp(torch.Generator().manual_seed(7)) for _ in range(2))
    a = [wa(it)["feats"] for it in items]
    b = [wb(it)["feats"] for it in items]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    same = sum(np.array_equal(x, it["feats"]) for x, it in zip(a, items))
    assert 150 < same < 250, same
    off = MelWarp(torch.Generator().manual_seed(7), max_warp=0.0)
    assert all(off(it) is it for it in items[:10])


def test_vtlp_and_stronger_specaugment_train(tmp_path):
    items = synthetic_items(64, seed=3)
    _, hist = train(_args(tmp_path, "--epochs", "3", "--quant", "float", "--vtlp", "0.1",
                          "--specaug-f", "10", "--specaug-t", "15"), items, None)
    losses = [h["train_loss"] for h in hist]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0], losses


def test_clean_and_augmented_indices_follow_the_recipe_runs():
    from train.evaluate import clean_and_augmented
    src = ["real"] * 6 + ["silence", "synth"] + ["real"] * 3
    assert clean_and_augmented(src, 2) == ([0, 3, 8], [1, 2, 4, 5, 9, 10])
    assert clean_and_augmented(["real"] * 4, 1) == ([0, 2], [1, 3])
    with pytest.raises(ValueError):                 # 5 real items are not runs of 3
        clean_and_augmented(["real"] * 5, 2)
    with pytest.raises(ValueError):                 # a run broken by another source
        clean_and_augmented(["real", "silence", "real", "real"], 2)


def test_train_fit_scores_the_clean_clips_and_their_copies_apart():
    from train.data import FeatureSet
    from train.evaluate import accuracy12, train_fit
    items = synthetic_items(24, seed=6)
    feats = [it["feats"].astype(np.float16) for it in items]
    offsets = np.concatenate([[0], np.cumsum([f.shape[0] for f in feats])]).astype(np.int64)
    meta = {"text": [it["text"] for it in items], "label12": [it["label12"] for it in items],
            "word": [it["text"] or "_silence_" for it in items],
            "source": ["real"] * 18 + ["silence"] * 6, "recipe": {"n_aug": 2}}
    fs = FeatureSet(np.concatenate(feats), offsets, meta)
    torch.manual_seed(0)
    model = CRNN({"n_mels": 40, "hidden": 24, "c1": 4, "c2": 4}).eval()
    got = train_fit(model, fs, every=2)
    want_clean = accuracy12(model, [fs[i] for i in (0, 6, 12)])
    want_aug = accuracy12(model, [fs[i] for i in (1, 4, 7, 10, 13, 16)])
    assert got["clean"]["n"] == 3 and got["augmented"]["n"] == 6
    assert got["clean"]["accuracy"] == want_clean["accuracy"]
    assert got["augmented"]["accuracy"] == want_aug["accuracy"]
    # recall only for the classes the clips have
    assert set(got["clean"]["recall"]) == {fs[i]["label12"] for i in (0, 6, 12)}


def test_average_posteriors_is_the_log_of_the_mean_probability():
    from train.ensemble import average_posteriors
    g = torch.Generator().manual_seed(3)
    a = [torch.log_softmax(torch.randn(5, 7, generator=g), -1) for _ in range(2)]
    b = [torch.log_softmax(torch.randn(5, 7, generator=g), -1) for _ in range(2)]
    got = average_posteriors([a, b])
    for i in range(2):
        want = torch.log((a[i].exp() + b[i].exp()) / 2)
        assert torch.allclose(got[i], want, atol=1e-6)
        assert torch.allclose(got[i].exp().sum(-1), torch.ones(5), atol=1e-5)
    same = average_posteriors([a, a, a])
    assert all(torch.allclose(s, x, atol=1e-6) for s, x in zip(same, a))


def test_best_bias_picks_the_grid_point_that_classifies_best():
    from train.evaluate import CANDIDATES, best_bias
    # clip 0 ("stop"): up -3.0 against stop -4.5; with char bonus cb stop wins when
    # 4cb - 4.5 > 2cb - 3, i.e. cb > 0.75. Clip 1 (silence): go -2.0 against the
    # empty transcript -3.0; silence wins when sb - 3 > 2cb - 2, i.e. sb > 1 + 2cb
    sc = np.full((2, len(CANDIDATES)), -50.0)
    sc[0, CANDIDATES.index("up")], sc[0, CANDIDATES.index("stop")] = -3.0, -4.5
    sc[1, CANDIDATES.index("go")], sc[1, CANDIDATES.index("")] = -2.0, -3.0
    truth = ["stop", "_silence_"]
    assert best_bias(sc, truth, (0.0, 1.0), (0.0, 2.0, 4.0)) == (
        {"char_bonus": 1.0, "silence": 4.0}, 1.0)
    # without sb = 4 no point gets both; the first of the grid's 0.5s is kept
    assert best_bias(sc, truth, (0.0, 1.0), (0.0, 2.0)) == (
        {"char_bonus": 0.0, "silence": 2.0}, 0.5)


def test_calibration_items_are_real_and_silence_clips_of_the_12_classes_subsampled():
    from train.evaluate import calibration_items
    items = ([{"source": "real", "label12": "yes", "i": i} for i in range(10)]
             + [{"source": "tts", "label12": "no", "i": 10}]
             + [{"source": "real", "label12": None, "i": 11}]
             + [{"source": "silence", "label12": "_silence_", "i": i} for i in range(12, 16)])
    assert [it["i"] for it in calibration_items(items)] == list(range(10)) + [12, 13, 14, 15]
    # 14 eligible, at most about 5: every 2nd
    assert [it["i"] for it in calibration_items(items, 5)] == [0, 2, 4, 6, 8, 12, 14]
