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
