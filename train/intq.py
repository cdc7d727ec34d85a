"""Python integer reference of the integer-only inference path (issue 7).

Mirrors model/int_model.c and model/int_ctc.c rule for rule (model/INTEGER.md);
train/tests/test_integer.py checks the two agree bit for bit through ctypes.
Everything here works on Python ints / int64 numpy arrays: no float enters the
integer ops. Float appears only in the helpers that turn a trained float model
into integer parameters (`to_mantissa`, `default_sigmoid_knots`).
"""
import math

import numpy as np

FRAC = 12
ONE = 1 << FRAC
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def sat32(v):
    return np.clip(v, INT32_MIN, INT32_MAX)


def rshift_round(x, s):
    """Rule 1: R(x, s) = floor((x + 2^(s-1)) / 2^s) for s > 0, x * 2^-s for s <= 0,
    saturated to int32. x: int or int64 array; s: int or int array in [-30, 62]."""
    x = np.asarray(x, dtype=np.int64)
    s = np.broadcast_to(np.asarray(s, dtype=np.int64), x.shape)
    pos = np.maximum(s, 1)
    right = (x + (np.int64(1) << (pos - 1))) >> pos  # numpy >> on int64 is a floor
    left_s = np.minimum(-np.minimum(s, 0), 30)
    big = np.abs(x) > (np.int64(INT32_MAX) >> left_s)
    left = np.where(big, np.where(x < 0, INT32_MIN, INT32_MAX), x * (np.int64(1) << left_s))
    return sat32(np.where(s > 0, right, left))


def sat8(x):
    return np.clip(np.asarray(x, dtype=np.int64), -127, 127)


def sat16(x):
    return np.clip(np.asarray(x, dtype=np.int64), -32767, 32767)


def requant(acc, m, k):
    """Rule 4: R(acc * m, k)."""
    return rshift_round(np.asarray(acc, dtype=np.int64) * np.asarray(m, dtype=np.int64), k)


def code_values(codes):
    """Rule 3: code 0 -> 0, c > 0 -> +2^(c-1), c < 0 -> -2^(-c-1)."""
    c = np.asarray(codes, dtype=np.int64)
    mag = np.where(c == 0, 0, np.int64(1) << np.maximum(np.abs(c) - 1, 0))
    return np.where(c < 0, -mag, mag)


def pow2_matvec(codes, x):
    """acc[r] = sum_c w[r][c] x[c] (int32 wrap-around is not modelled: callers keep
    accumulators in range, as the C side requires)."""
    return code_values(codes) @ np.asarray(x, dtype=np.int64)


def floor_div(a, b):
    return a // b  # Python ints: floor division


def pwl_slopes(xs, ys):
    """Rule 5: slope_k = floor((2 * (y_{k+1}-y_k) * 4096 + dx) / (2 dx))."""
    out = []
    for k in range(len(xs) - 1):
        num = (int(ys[k + 1]) - int(ys[k])) * ONE
        den = int(xs[k + 1]) - int(xs[k])
        out.append(floor_div(2 * num + den, 2 * den))
    return out + [0]


DEFAULT_SIGMOID_X = [-8, -6, -5, -4, -3.5, -3, -2.5, -2, -1.5, -1, -0.5, 0,
                     0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8]


def default_sigmoid_knots():
    """The default knot table (INTEGER.md): x in Q.12, y = floor(4096 sigma(x) + 1/2)."""
    xs = [int(round(v * ONE)) for v in DEFAULT_SIGMOID_X]
    ys = [math.floor(ONE / (1.0 + math.exp(-v)) + 0.5) for v in DEFAULT_SIGMOID_X]
    return xs, ys


class Pwl:
    def __init__(self, xs, ys):
        assert 2 <= len(xs) <= 32 and all(a < b for a, b in zip(xs, xs[1:]))
        self.x = [int(v) for v in xs]
        self.y = [int(v) for v in ys]
        self.slope = pwl_slopes(self.x, self.y)

    def eval(self, v):
        """Rule 5 on an int64 array (elementwise)."""
        v = np.asarray(v, dtype=np.int64)
        xs = np.array(self.x, dtype=np.int64)
        ys = np.array(self.y, dtype=np.int64)
        sl = np.array(self.slope, dtype=np.int64)
        n = len(xs)
        k = np.clip(np.searchsorted(xs, v, side="right") - 1, 0, n - 2)
        val = ys[k] + rshift_round((v - xs[k]) * sl[k], FRAC)
        lo = np.minimum(ys[k], ys[k + 1])
        hi = np.maximum(ys[k], ys[k + 1])
        val = np.clip(val, lo, hi)
        val = np.where(v < xs[0], ys[0], val)
        return np.where(v >= xs[-1], ys[-1], val)

    def tanh(self, v):
        v = np.clip(np.asarray(v, dtype=np.int64), -(1 << 29), 1 << 29)
        return 2 * self.eval(2 * v) - ONE


def gru_step(p, x, h, pwl):
    """Integer GRU step (rule 6). p: dict of int arrays w_ih [3H][I], w_hh [3H][H]
    (codes), m_ih, k_ih, b_ih, m_hh, k_hh, b_hh [3H]. x int8, h int16 Q.12.
    Returns the new h (int64 array holding int16 values)."""
    H = len(h)
    gi = sat32(requant(pow2_matvec(p["w_ih"], x), p["m_ih"], p["k_ih"]) + p["b_ih"])
    gh = sat32(requant(pow2_matvec(p["w_hh"], h), p["m_hh"], p["k_hh"]) + p["b_hh"])
    r = pwl.eval(sat32(gi[:H] + gh[:H]))
    z = pwl.eval(sat32(gi[H:2 * H] + gh[H:2 * H]))
    rn = rshift_round(r * gh[2 * H:], FRAC)
    n = pwl.tanh(sat32(gi[2 * H:] + rn))
    hn = n + rshift_round(z * (np.asarray(h, dtype=np.int64) - n), FRAC)
    return sat16(hn)


def h_to_i8(h, frac_bits):
    return sat8(rshift_round(h, FRAC - frac_bits))


def linear(p, x):
    v = sat32(requant(pow2_matvec(p["w"], x), p["m"], p["k"]) + p["b"])
    if p.get("relu"):
        v = np.maximum(v, 0)
    return sat16(v)


def ctc_greedy(scores):
    """Per-frame argmax (lowest index on ties), collapse repeats, drop blank 0."""
    out, prev = [], 0
    for row in np.asarray(scores):
        best = int(np.argmax(row))  # numpy's argmax returns the first maximum
        if best != 0 and best != prev:
            out.append(best)
        prev = best
    return out


def to_mantissa(scale):
    """(m, k) with m * 2^-k ~ scale and 2^14 <= m < 2^15 (the exporter's rule for
    per-row requantisation factors; float is fine here, this runs at export)."""
    k = 0
    while scale * 2.0 ** (k + 1) < 32768.0 and k < 60:
        k += 1
    return int(math.floor(scale * 2.0 ** k + 0.5)), k
