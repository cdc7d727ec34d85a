"""12-class accuracy of an average of several models (a diagnostic: do the
models make different mistakes?).

    /usr/bin/python3 -m train.ensemble CKPT_OR_SVXM...

Each model is scored on the held-out dev half as ``python3 -m train eval``
does (12-class CTC word scores, score bias calibrated on the training set's
real and silence clips, never on dev); then two averages: the mean of the
models' word scores (a product of experts over whole words) and the CTC word
scores of the mean of their per-frame posteriors (models of one architecture
and lineage emit on the same frames). If the average is no better than the
best member, the members share their errors and an ensemble (or distilling
one into a single model) has nothing to give.
"""
import argparse
import json
import sys

import numpy as np
import torch

from .evaluate import best_bias, calibration_items, dev_report, logprobs, word_scores
from .vocab import LABELS12, UNKNOWN


def average_posteriors(per_model):
    """Per item, log of the mean over models of the frame probabilities
    (per_model: one list of [T', V] log-probability tensors per model)."""
    n = len(per_model)
    return [torch.logsumexp(torch.stack(frames), 0) - float(np.log(n))
            for frames in zip(*per_model)]


def scores_report(dev, cal, sd, sc):
    """train.evaluate.dev_report of dev word scores sd, with the bias chosen on
    cal's word scores sc."""
    return dev_report(dev, sd, best_bias(sc, [it["label12"] for it in cal])[0])


def main(argv=None):
    from .train import Log, add_args, init_source, load_datasets
    p = add_args(argparse.ArgumentParser(prog="python3 -m train.ensemble"))
    p.add_argument("models", nargs="+", help="checkpoints or model files (.svxm)")
    p.add_argument("--cal-items", type=int, default=2000)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(2)
    tr, dev, _ = load_datasets(a, Log(None))
    dev = [it for it in dev if it.get("label12") in LABELS12]
    cal = calibration_items(tr, a.cal_items)
    lp_dev, lp_cal, sd, sc, rows = [], [], [], [], []
    for path in a.models:
        m = init_source(path, []).eval()
        lp_dev.append(logprobs(m, dev))
        lp_cal.append(logprobs(m, cal))
        sd.append(word_scores(lp_dev[-1]))
        sc.append(word_scores(lp_cal[-1]))
        rows.append(dict(scores_report(dev, cal, sd[-1], sc[-1]), model=path))
    rows.append(dict(scores_report(dev, cal, np.mean(sd, 0), np.mean(sc, 0)),
                     model="mean of word scores"))
    rows.append(dict(scores_report(dev, cal, word_scores(average_posteriors(lp_dev)),
                                   word_scores(average_posteriors(lp_cal))),
                     model="mean of frame posteriors"))
    print("| model | raw | with bias | unseen spk. | _unknown_ |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| %s | %.2f %% | %.2f %% | %.2f %% | %.1f %% |" % (
            r["model"], 100 * r["dev_acc12_raw"], 100 * r["dev_acc12"],
            100 * r["dev_acc12_unseen_speakers"], 100 * r["recall"][UNKNOWN]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
