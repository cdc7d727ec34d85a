"""Bit-exact parity of the integer-only path: the C primitives in
libshiftvox.so (model/int_model.c, model/int_ctc.c, through ctypes) and the
Python integer reference train/intq.py must give identical integers on the same
random parameters and inputs: rounding shift, PWL knots and slopes, a GRU run
over many frames, the output layer and greedy CTC decoding.  Skipped when the
library is not built or does not export the integer API."""
import ctypes
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from train import intq  # noqa: E402

MAXK = 32


class Pwl(ctypes.Structure):
    _fields_ = [("n_knots", ctypes.c_int), ("x", ctypes.c_int32 * MAXK),
                ("y", ctypes.c_int32 * MAXK), ("slope", ctypes.c_int32 * MAXK)]


P8 = ctypes.POINTER(ctypes.c_int8)
P16 = ctypes.POINTER(ctypes.c_int16)
P32 = ctypes.POINTER(ctypes.c_int32)


class Gru(ctypes.Structure):
    _fields_ = [("n_in", ctypes.c_size_t), ("n_hidden", ctypes.c_size_t),
                ("w_ih", P8), ("w_hh", P8), ("m_ih", P32), ("m_hh", P32),
                ("k_ih", P8), ("k_hh", P8), ("b_ih", P32), ("b_hh", P32),
                ("sigmoid", ctypes.POINTER(Pwl)),
                ("w_ih_vals", P8), ("w_hh_vals", P16)]  # NULL: the scalar kernels


class Linear(ctypes.Structure):
    _fields_ = [("n_in", ctypes.c_size_t), ("n_out", ctypes.c_size_t), ("w", P8),
                ("m", P32), ("k", P8), ("b", P32), ("relu", ctypes.c_int),
                ("w_pow2", ctypes.c_int), ("w_vals", P8)]


def _lib():
    path = os.environ.get("SVX_LIB") or os.path.join(ROOT, "build", "libshiftvox.so")
    if not os.path.exists(path):
        pytest.skip("libshiftvox.so not built (%s)" % path)
    lib = ctypes.CDLL(path)
    if not hasattr(lib, "svx_int_gru_step"):
        pytest.skip("this libshiftvox.so has no integer path")
    lib.svx_int_rshift_round.argtypes = [ctypes.c_int64, ctypes.c_int]
    lib.svx_int_rshift_round.restype = ctypes.c_int32
    lib.svx_int_pwl_default_sigmoid.argtypes = [ctypes.POINTER(Pwl)]
    lib.svx_int_pwl_eval.argtypes = [ctypes.POINTER(Pwl), ctypes.c_int32]
    lib.svx_int_pwl_eval.restype = ctypes.c_int32
    lib.svx_int_tanh.argtypes = [ctypes.POINTER(Pwl), ctypes.c_int32]
    lib.svx_int_tanh.restype = ctypes.c_int32
    lib.svx_int_pwl_init.argtypes = [ctypes.POINTER(Pwl), ctypes.c_int, P32, P32]
    lib.svx_int_gru_step.argtypes = [ctypes.POINTER(Gru), P8, P16, P32]
    lib.svx_int_gru_step.restype = None
    lib.svx_int_h_to_i8.argtypes = [P16, ctypes.c_size_t, ctypes.c_int, P8]
    lib.svx_int_h_to_i8.restype = None
    lib.svx_int_linear_run.argtypes = [ctypes.POINTER(Linear), P8, P16, P32]
    lib.svx_int_linear_run.restype = None
    lib.svx_int_ctc_greedy.argtypes = [P16, ctypes.c_size_t, ctypes.c_size_t, P32, ctypes.c_size_t]
    lib.svx_int_ctc_greedy.restype = ctypes.c_size_t
    return lib


def _ptr(a, t):
    return a.ctypes.data_as(t)


def test_rshift_round_parity():
    lib = _lib()
    rng = np.random.default_rng(1)
    xs = rng.integers(-(1 << 45), 1 << 45, 3000)
    ss = rng.integers(-12, 40, 3000)
    xs[:4] = [3, -3, -5, -7]
    ss[:4] = [1, 1, 2, 2]
    c = [lib.svx_int_rshift_round(int(x), int(s)) for x, s in zip(xs, ss)]
    p = [int(intq.rshift_round(int(x), int(s))) for x, s in zip(xs, ss)]
    assert c == p


def test_default_knots_and_pwl_parity():
    lib = _lib()
    cp = Pwl()
    assert lib.svx_int_pwl_default_sigmoid(ctypes.byref(cp)) == 0
    xs, ys = intq.default_sigmoid_knots()
    pw = intq.Pwl(xs, ys)
    n = cp.n_knots
    assert list(cp.x[:n]) == pw.x and list(cp.y[:n]) == pw.y
    assert list(cp.slope[:n - 1]) == pw.slope[:n - 1]
    v = np.arange(-50000, 50000, 3, dtype=np.int64)
    c_sig = np.array([lib.svx_int_pwl_eval(ctypes.byref(cp), int(t)) for t in v])
    c_tanh = np.array([lib.svx_int_tanh(ctypes.byref(cp), int(t)) for t in v])
    assert np.array_equal(c_sig, pw.eval(v))
    assert np.array_equal(c_tanh, pw.tanh(v))


def _random_gru(rng, n_in, hidden, x_frac):
    rows = 3 * hidden
    codes = lambda r, c: (rng.choice([-1, 1], (r, c)) * rng.integers(1, 5, (r, c))).astype(np.int8)
    p = {"w_ih": codes(rows, n_in), "w_hh": codes(rows, hidden)}
    for side, base, shift in (("ih", 0.03, 12 - x_frac), ("hh", 0.05, 0)):
        mk = [intq.to_mantissa(base * (1 + rng.random()) * 2.0 ** shift) for _ in range(rows)]
        p["m_" + side] = np.array([m for m, _ in mk], dtype=np.int32)
        p["k_" + side] = np.array([k for _, k in mk], dtype=np.int8)
        p["b_" + side] = rng.integers(-1600, 1600, rows).astype(np.int32)
    return p


def test_gru_linear_greedy_parity():
    """A random integer GRU + output layer over 60 frames: every hidden state,
    every score and the decoded symbols identical in C and Python."""
    lib = _lib()
    rng = np.random.default_rng(7)
    n_in, hidden, n_sym, x_frac, h_frac, T = 24, 16, 29, 7, 7, 60
    p = _random_gru(rng, n_in, hidden, x_frac)
    xs, ys = intq.default_sigmoid_knots()
    pw = intq.Pwl(xs, ys)
    cp = Pwl()
    lib.svx_int_pwl_default_sigmoid(ctypes.byref(cp))
    g = Gru(n_in, hidden, _ptr(p["w_ih"], P8), _ptr(p["w_hh"], P8), _ptr(p["m_ih"], P32),
            _ptr(p["m_hh"], P32), _ptr(p["k_ih"], P8), _ptr(p["k_hh"], P8),
            _ptr(p["b_ih"], P32), _ptr(p["b_hh"], P32), ctypes.pointer(cp))
    lw = (rng.choice([-1, 1], (n_sym, hidden)) * rng.integers(1, 5, (n_sym, hidden))).astype(np.int8)
    lmk = [intq.to_mantissa(0.05 * (1 + rng.random()) * 2.0 ** (10 - h_frac)) for _ in range(n_sym)]
    lp = {"w": lw, "m": np.array([m for m, _ in lmk], dtype=np.int32),
          "k": np.array([k for _, k in lmk], dtype=np.int8),
          "b": rng.integers(-500, 500, n_sym).astype(np.int32), "relu": 0}
    lin = Linear(hidden, n_sym, _ptr(lp["w"], P8), _ptr(lp["m"], P32), _ptr(lp["k"], P8),
                 _ptr(lp["b"], P32), 0, 1)
    h_c = np.zeros(hidden, dtype=np.int16)
    h_p = np.zeros(hidden, dtype=np.int64)
    scratch = np.zeros(6 * hidden + n_sym, dtype=np.int32)
    scores_c = np.zeros((T, n_sym), dtype=np.int16)
    scores_p = np.zeros((T, n_sym), dtype=np.int64)
    moved = 0
    for t in range(T):
        x = np.clip(np.round(100 * np.sin(0.2 * t + np.arange(n_in)) + rng.normal(0, 20, n_in)),
                    -127, 127).astype(np.int8)
        lib.svx_int_gru_step(ctypes.byref(g), _ptr(x, P8), _ptr(h_c, P16), _ptr(scratch, P32))
        h_p = intq.gru_step(p, x, h_p, pw)
        assert np.array_equal(h_c.astype(np.int64), h_p), "hidden state differs at frame %d" % t
        moved = max(moved, int(np.abs(h_p).max()))
        a8 = np.zeros(hidden, dtype=np.int8)
        lib.svx_int_h_to_i8(_ptr(h_c, P16), hidden, h_frac, _ptr(a8, P8))
        a8p = intq.h_to_i8(h_p, h_frac)
        assert np.array_equal(a8.astype(np.int64), a8p)
        row = np.zeros(n_sym, dtype=np.int16)
        lib.svx_int_linear_run(ctypes.byref(lin), _ptr(a8, P8), _ptr(row, P16), _ptr(scratch, P32))
        scores_c[t] = row
        scores_p[t] = intq.linear(lp, a8p)
    assert moved > 400  # the state is not stuck near zero: the comparison has content
    assert np.array_equal(scores_c.astype(np.int64), scores_p)
    out = np.zeros(T, dtype=np.int32)
    n = lib.svx_int_ctc_greedy(_ptr(scores_c, P16), T, n_sym, _ptr(out, P32), T)
    assert list(out[:n]) == intq.ctc_greedy(scores_p)
    assert n > 0
