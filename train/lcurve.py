"""Learning curve: dev accuracy against the amount of real training speech.

Each run directory is one training run made with ``--real-fraction F``
(train.data.speaker_in_fraction keeps the real clips of that share of the
training speakers; TTS clips and the dev set are the same for every share)
and scored by ``python3 -m train eval RUN/last.pt --real-fraction F --json
RUN/eval.json``:

    /usr/bin/python3 -m train.lcurve train/runs/lc0.25 train/runs/lc0.5 train/runs/lc1.0

prints one row per run (share, speakers, real clips, dev 12-class accuracy
raw / with the training-set bias / on never-seen speakers, `_unknown_`
recall, accuracy on clean training clips when the eval ran with
--train-fit; with --wer also the greedy word error rate
on the 300 held-out dev sequences of all 35 words, train.data.
build_dev_sequences) and fits the 12-class error as a power law of
the number of real clips, err = a * clips^-alpha (least squares on logs, the
usual shape of learning curves), with the real clips that law needs for each
--target accuracy, also as a multiple of all the real clips here. The fit is
an extrapolation: it says how far the data is from a target, not that a
target will be met with that much.
"""
import argparse
import json
import math
import os
import sys

from . import data, sc_layout


def fit_power_law(clips, errors):
    """(a, alpha) of err = a * clips^-alpha by least squares on
    log err = log a - alpha log clips; needs 2+ distinct clip counts."""
    if len(clips) != len(errors) or len(set(clips)) < 2:
        raise ValueError("a fit needs at least two runs with different amounts of data")
    if min(clips) <= 0 or not all(0.0 < e < 1.0 for e in errors):
        raise ValueError("clip counts must be > 0 and error rates in (0, 1)")
    xs = [math.log(c) for c in clips]
    ys = [math.log(e) for e in errors]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return math.exp(my - slope * mx), -slope


def clips_needed(a, alpha, accuracy):
    """Real clips for which the fitted law gives this accuracy (inf if alpha <= 0)."""
    if alpha <= 0:
        return float("inf")
    return (a / (1.0 - accuracy)) ** (1.0 / alpha)


def real_share(data_root, fraction):
    """(speakers, clips) of the real training speech a run with this share has."""
    sc_root, _, _ = data._data_paths(data_root)
    clips, _ = sc_layout.load(sc_root)
    train_clips = data.split_clips(clips, real_fraction=fraction)[0]
    return len({c.speaker or c.path for c in train_clips}), len(train_clips)


def greedy_wer(run_dir, devseq):
    """Greedy CTC word error rate of the run's model on the dev sequences."""
    from .evaluate import greedy_error_rates
    from .model import load_checkpoint_model
    model, _ = load_checkpoint_model(os.path.join(run_dir, "last.pt"))
    return greedy_error_rates(model.eval(), list(devseq))["wer"]


def load_run(run_dir):
    """{fraction, raw, acc, unseen, unknown, train_acc (clean training clips,
    None without --train-fit)} of a run directory."""
    import torch
    path = os.path.join(run_dir, "last.pt")
    ck = torch.load(path, map_location="cpu")
    fraction = float(ck.get("args", {}).get("real_fraction", 1.0))
    with open(os.path.join(run_dir, "eval.json")) as f:
        ev = json.load(f)
    return {"run": run_dir, "fraction": fraction, "epochs": len(ck.get("history", [])),
            "raw": ev["dev_acc12_raw"], "acc": ev["dev_acc12"],
            "unseen": ev["dev_acc12_unseen_speakers"], "unknown": ev["recall"]["_unknown_"],
            "train_acc": ev.get("train_fit", {}).get("clean", {}).get("accuracy")}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m train.lcurve", description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="run directories (last.pt and eval.json)")
    ap.add_argument("--data", default=data.DEFAULT_DATA_ROOT)
    ap.add_argument("--target", type=float, action="append", default=None,
                    help="accuracy to extrapolate to (repeatable; default 0.93 and 0.97)")
    ap.add_argument("--wer", action="store_true",
                    help="also the greedy WER on the held-out dev sequences (35 words)")
    ap.add_argument("--json", default=None, help="also write the table and fit here")
    a = ap.parse_args(argv)
    targets = a.target or [0.93, 0.97]
    rows = sorted((load_run(r) for r in a.runs), key=lambda r: r["fraction"])
    _, all_clips = real_share(a.data, 1.0)
    devseq = data.build_dev_sequences(data_root=a.data) if a.wer else None
    print("| share | speakers | real clips | epochs | raw | with bias | unseen spk. | _unknown_ "
          "| clean train clips |" + (" greedy WER, 35 words |" if a.wer else ""))
    print("|---|---|---|---|---|---|---|---|---|" + ("---|" if a.wer else ""))
    for r in rows:
        r["speakers"], r["clips"] = real_share(a.data, r["fraction"])
        if a.wer:
            r["wer"] = greedy_wer(r["run"], devseq)
        print("| %g | %d | %d | %d | %.2f %% | %.2f %% | %.2f %% | %.1f %% | %s |%s" % (
            r["fraction"], r["speakers"], r["clips"], r["epochs"], 100 * r["raw"], 100 * r["acc"],
            100 * r["unseen"], 100 * r["unknown"],
            "%.1f %%" % (100 * r["train_acc"]) if r["train_acc"] is not None else "-",
            " %.1f %% |" % (100 * r["wer"]) if a.wer else ""))
    out = {"runs": rows, "all_real_clips": all_clips}
    if len({r["clips"] for r in rows}) >= 2:
        ca, alpha = fit_power_law([r["clips"] for r in rows], [1.0 - r["acc"] for r in rows])
        out["fit"] = {"a": ca, "alpha": alpha, "needed": {}}
        print("\nfit (with bias): error = %.3g * clips^-%.3f; each doubling of the real clips "
              "multiplies the error by %.3f" % (ca, alpha, 2.0 ** -alpha))
        for t in targets:
            n = clips_needed(ca, alpha, t)
            out["fit"]["needed"][str(t)] = n
            print("  %.1f %% needs %s real clips (%s the %d here)" % (
                100 * t, "%.0f" % n if math.isfinite(n) else "no amount of",
                "%.1fx" % (n / all_clips) if math.isfinite(n) else "-", all_clips))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
