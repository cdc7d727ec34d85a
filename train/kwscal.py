"""Per-keyword score calibration for the keyword spotter.

The spotter's raw score is exp(D / n) (decoder/decoder.h): the same threshold
gives short or easily confused words ("up", "on") many more false alarms than
long ones, and words whose first sound drowns in noise ("stop") low scores.
The calibration gives each word a power g so that the calibrated score
exp(g * D / n) crosses 0.5 where that word makes F false alarms per hour on a
calibration stream: one sensitivity then means about the same false-alarm
rate for every keyword.

    shiftvox eval --stream --split train --no-calibration \\
        -k <the 35 words> --report cal.json MANIFEST
    python3 -m train.kwscal cal.json MODEL.svxm [--out OUT.svxm] [--fa-per-hour F]

The stream is made of training-split clips (speakers of the training set,
never dev) with the eval's noise, so its false-alarm rates are lower than on
new speakers; only their ratios between words matter here. F defaults to the
words' mean false-alarm rate at the uncalibrated threshold 0.5, so the
default sensitivity keeps the overall rate and shares it out evenly.

Words that are not in the report get the median power of the calibrated words
with as many letters ("len<n>", n = 1..MAX_LEN, the nearest length where none
has n). The result goes into the model's metadata as "kws_calibration".
"""
import argparse
import json
import math
import sys

import numpy as np

from . import svxmodel

MIN_POWER, MAX_POWER = 0.25, 4.0    # within the library's 0.05..20
MAX_LEN = 24


def keyword_rates(report):
    """Thresholds, keywords and each keyword's false alarms per hour at each
    threshold (made non-increasing in the threshold)."""
    if report.get("keyword_calibration", False):
        raise ValueError("the report was made with calibrated scores: run eval --stream "
                         "with --no-calibration")
    sweep = report.get("sweep") or []
    if not sweep or "false_alarms_by_keyword" not in sweep[0]:
        raise ValueError("the report has no per-keyword sweep (eval --stream --report)")
    thr = np.array([s["threshold"] for s in sweep], float)
    if np.any(np.diff(thr) <= 0):
        raise ValueError("the sweep's thresholds are not increasing")
    fa = np.array([s["false_alarms_by_keyword"] for s in sweep], float)
    hours = float(report["hours"])
    if not hours > 0:
        raise ValueError("the report's stream has no audio")
    rate = np.minimum.accumulate(fa / hours, axis=0)
    return thr, list(report["keywords"]), rate


def powers(thr, rate, fa_per_hour):
    """The power per keyword column of rate: g = ln 0.5 / ln t where t is the
    lowest swept threshold at which the keyword's rate is <= fa_per_hour."""
    out = []
    for k in range(rate.shape[1]):
        ok = np.nonzero(rate[:, k] <= fa_per_hour)[0]
        t = thr[ok[0]] if ok.size else thr[-1]
        g = math.log(0.5) / math.log(t)
        out.append(float(min(MAX_POWER, max(MIN_POWER, g))))
    return out


def n_letters(word):
    return sum(1 for c in word if c != " ")


def calibration(report, fa_per_hour=None):
    thr, words, rate = keyword_rates(report)
    if fa_per_hour is None:
        i = int(np.argmin(np.abs(thr - 0.5)))
        fa_per_hour = float(rate[i].mean())
    g = powers(thr, rate, fa_per_hour)
    cal = {"fa_per_hour": round(fa_per_hour, 3)}
    by_len = {}
    for w, p in zip(words, g):
        cal[w] = round(p, 4)
        by_len.setdefault(n_letters(w), []).append(p)
    lens = sorted(by_len)
    for n in range(1, MAX_LEN + 1):
        near = min(lens, key=lambda m: (abs(m - n), m))
        cal["len%d" % n] = round(float(np.median(by_len[near])), 4)
    return cal


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m train.kwscal", description=__doc__.split("\n\n")[0])
    p.add_argument("report", help="eval --stream --no-calibration --report JSON")
    p.add_argument("model", help="model file (.svxm)")
    p.add_argument("--out", default=None, help="write here (default: rewrite MODEL)")
    p.add_argument("--fa-per-hour", type=float, default=None,
                   help="false alarms per hour per keyword at calibrated score 0.5 "
                        "(default: the mean at raw threshold 0.5)")
    a = p.parse_args(argv)
    try:
        with open(a.report) as f:
            report = json.load(f)
        cal = calibration(report, a.fa_per_hour)
        m = svxmodel.read_model(a.model)
    except (OSError, ValueError, KeyError) as e:
        print("train.kwscal: %s" % e, file=sys.stderr)
        return 1
    meta = dict(m["meta"] or {})
    meta["kws_calibration"] = cal
    out = a.out or a.model
    n = svxmodel.write_model(out, m["frontend"], m["symbols"], m["layers"], meta)
    print("%s: %d bytes; F = %.3g FA/h per keyword; powers %s" % (
        out, n, cal["fa_per_hour"], " ".join("%s=%.2f" % (w, cal[w]) for w in report["keywords"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
