"""Keyword-score calibration (train.kwscal): powers from a hand-made stream
report, clamps, the per-length fallback, refused reports, and the metadata
written into a model file that reads back byte for byte otherwise."""
import json
import math
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
from train import kwscal, svxmodel  # noqa: E402

THR = [round(0.02 + 0.01 * i, 2) for i in range(97)]


def report(fa_by_word, hours=2.0, calibrated=False):
    """A sweep where word w has fa(t) false alarms at threshold t."""
    words = list(fa_by_word)
    sweep = [{"threshold": t, "false_alarms_by_keyword": [fa_by_word[w](t) for w in words],
              "detected_by_keyword": [0] * len(words)} for t in THR]
    return {"keywords": words, "hours": hours, "sweep": sweep,
            "keyword_calibration": calibrated}


def test_powers_put_each_word_at_the_rate():
    # "aa": 40 FAs at 0.02 falling linearly to 0 at 0.82; "bbbb": 10 -> 0 at 0.22
    r = report({"aa": lambda t: max(0, round(50 * (0.82 - t))),
                "bbbb": lambda t: max(0, round(50 * (0.22 - t)))})
    cal = kwscal.calibration(r, fa_per_hour=2.0)      # 4 false alarms in 2 h
    for w, first in (("aa", 0.74), ("bbbb", 0.14)):
        # the lowest swept threshold with <= 4 false alarms
        fa = [r["sweep"][i]["false_alarms_by_keyword"][r["keywords"].index(w)] for i in range(97)]
        t = THR[next(i for i in range(97) if fa[i] <= 4)]
        assert t == pytest.approx(first, abs=0.011)
        g = math.log(0.5) / math.log(t)
        assert cal[w] == pytest.approx(min(4.0, max(0.25, g)), abs=1e-4)
        # the calibrated score at that threshold is 0.5
        if 0.25 < g < 4.0:
            assert t ** cal[w] == pytest.approx(0.5, abs=1e-3)
    assert cal["aa"] > 1 > cal["bbbb"]
    assert cal["fa_per_hour"] == 2.0


def test_clamps_default_rate_and_lengths():
    r = report({"up": lambda t: 100,                  # never under the rate: clamped high
                "on": lambda t: 60 if t < 0.5 else 0,
                "visual": lambda t: 0,                # always under: clamped low
                "marvin": lambda t: 0})
    cal = kwscal.calibration(r)
    # default rate: the mean per-word rate at threshold 0.5: (100 + 0 + 0 + 0) / 4 / 2 h
    assert cal["fa_per_hour"] == pytest.approx(12.5)
    assert cal["up"] == kwscal.MAX_POWER
    assert cal["visual"] == kwscal.MIN_POWER == cal["marvin"]
    assert cal["on"] == pytest.approx(math.log(0.5) / math.log(0.5))
    # lengths: 2 letters -> median of up and on; 6 -> visual/marvin; others nearest
    assert cal["len2"] == pytest.approx(float(np.median([cal["up"], cal["on"]])), abs=1e-4)
    assert cal["len6"] == kwscal.MIN_POWER
    assert cal["len1"] == cal["len2"] and cal["len3"] == cal["len2"]
    assert cal["len4"] == cal["len2"]                  # a tie between 2 and 6: the shorter
    assert cal["len5"] == cal["len6"] == cal["len%d" % kwscal.MAX_LEN]


def test_rates_made_monotone():
    # a bump at 0.6 (5 FAs) above 0.4's 0 does not move the threshold past it
    r = report({"go": lambda t: 10 if t < 0.4 else (5 if abs(t - 0.6) < 0.005 else 0)})
    cal = kwscal.calibration(r, fa_per_hour=1.0)
    assert cal["go"] == pytest.approx(math.log(0.5) / math.log(0.4), abs=1e-4)


def test_refuses_bad_reports():
    with pytest.raises(ValueError, match="no-calibration"):
        kwscal.calibration(report({"go": lambda t: 0}, calibrated=True))
    bad = report({"go": lambda t: 0})
    for s in bad["sweep"]:
        del s["false_alarms_by_keyword"]
    with pytest.raises(ValueError, match="per-keyword"):
        kwscal.calibration(bad)
    with pytest.raises(ValueError, match="no audio"):
        kwscal.calibration(report({"go": lambda t: 0}, hours=0))


def test_written_into_the_model(tmp_path):
    src = os.path.join(ROOT, "models", "default.svxm")
    if not os.path.exists(src):
        pytest.skip("no bundled model")
    rep = tmp_path / "r.json"
    rep.write_text(json.dumps(report({"yes": lambda t: 3 if t < 0.3 else 0,
                                      "no": lambda t: 8 if t < 0.7 else 0})))
    out = tmp_path / "m.svxm"
    assert kwscal.main([str(rep), src, "--out", str(out), "--fa-per-hour", "1"]) == 0
    a, b = svxmodel.read_model(src), svxmodel.read_model(str(out))
    cal = b["meta"]["kws_calibration"]
    assert cal["yes"] == pytest.approx(math.log(0.5) / math.log(0.3), abs=1e-4)
    assert cal["no"] == pytest.approx(math.log(0.5) / math.log(0.7), abs=1e-4)
    meta = dict(b["meta"])
    del meta["kws_calibration"]
    a["meta"].pop("kws_calibration", None)
    assert meta == a["meta"]
    assert svxmodel.model_bytes(a["frontend"], a["symbols"], a["layers"], a["meta"]) == \
        svxmodel.model_bytes(b["frontend"], b["symbols"], b["layers"], meta)
    # a bad report: an error, the model untouched
    rep.write_text("{}")
    assert kwscal.main([str(rep), str(out)]) == 1
    assert svxmodel.read_model(str(out))["meta"]["kws_calibration"] == cal
