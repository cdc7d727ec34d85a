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
                ("sigmoid", ctypes.POINTER(Pwl))]


class Linear(ctypes.Structure):
    _fields_ = [("n_in", ctypes.c_size_t), ("n_out", ctypes.c_size_t), ("w", P8),
                ("m", P32), ("k", P8), ("b", P32), ("relu", ctypes.c_int),
                ("w_pow2", ctypes.c_int)]


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


def _c_forward(lib, il, feats):
    """The integer model run by the C primitives (ctypes), Python doing only the
    glue (history buffers, strides) and the float input quantisation."""
    from train.export_int import quantise_input
    cp = Pwl()
    lib.svx_int_pwl_default_sigmoid(ctypes.byref(cp))
    lib.svx_int_conv2d_frame.argtypes = [ctypes.c_void_p, P8, P8, P8, P32]
    lib.svx_int_conv2d_frame.restype = None
    keep, plan = [], []

    def arr(a, dt, t):
        a = np.ascontiguousarray(a, dtype=dt)
        keep.append(a)
        return a.ctypes.data_as(t)

    for ly in il:
        if ly["type"] == "conv2d":
            s = ConvS(ly["c_in"], ly["f_in"], ly["c_out"], ly["f_out"], ly["k_t"], ly["k_f"], ly["s_f"],
                      ly["p_f"], arr(ly["w8"], np.int8, P8), int(ly["kind"] == "pow2"),
                      arr(ly["m"], np.int32, P32), arr(ly["k"], np.int8, P8), arr(ly["b"], np.int32, P32),
                      int(ly["relu"]))
            plan.append(("conv2d", ly, s))
        elif ly["type"] == "gru":
            H = ly["hidden"]
            g = Gru(len(ly["w_ih"][0]), H, arr(ly["w_ih"], np.int8, P8), arr(ly["w_hh"], np.int8, P8),
                    arr(ly["m_ih"], np.int32, P32), arr(ly["m_hh"], np.int32, P32),
                    arr(ly["k_ih"], np.int8, P8), arr(ly["k_hh"], np.int8, P8),
                    arr(ly["b_ih"], np.int32, P32), arr(ly["b_hh"], np.int32, P32), ctypes.pointer(cp))
            plan.append(("gru", ly, g))
        elif ly["type"] == "linear":
            l = Linear(ly["in"], ly["out"], arr(ly["w8"], np.int8, P8), arr(ly["m"], np.int32, P32),
                       arr(ly["k"], np.int8, P8), arr(ly["b"], np.int32, P32), int(ly["relu"]),
                       int(ly["kind"] == "pow2"))
            plan.append(("linear", ly, l))
        else:
            plan.append((ly["type"], ly, None))
    state, outs = {}, []
    for frame in feats:
        x, emit = None, True
        for i, (t, ly, s) in enumerate(plan):
            if t == "norm":
                x = quantise_input(ly, frame).astype(np.int8)
            elif t == "conv2d":
                hist = state.setdefault(i, np.zeros((ly["k_t"], ly["c_in"], ly["f_in"]), dtype=np.int8))
                hist = state[i] = np.ascontiguousarray(np.concatenate([hist[1:], x.reshape(1, ly["c_in"], ly["f_in"])]))
                cnt = state[("n", i)] = state.get(("n", i), -1) + 1
                if cnt % ly["s_t"] != 0:
                    emit = False
                    break
                y = np.zeros(ly["c_out"] * ly["f_out"], dtype=np.int8)
                win = np.zeros(ly["c_in"] * ly["k_t"] * ly["k_f"], dtype=np.int8)
                acc = np.zeros(ly["c_out"], dtype=np.int32)
                lib.svx_int_conv2d_frame(ctypes.addressof(s), _ptr(hist, P8), _ptr(y, P8), _ptr(win, P8),
                                         _ptr(acc, P32))
                x = y
            elif t == "gru":
                H = ly["hidden"]
                h = state.setdefault("h", np.zeros(H, dtype=np.int16))
                scratch = np.zeros(6 * H, dtype=np.int32)
                lib.svx_int_gru_step(ctypes.byref(s), _ptr(x, P8), _ptr(h, P16), _ptr(scratch, P32))
                x = np.zeros(H, dtype=np.int8)
                lib.svx_int_h_to_i8(_ptr(h, P16), H, ly["f_h"], _ptr(x, P8))
            elif t == "linear":
                y = np.zeros(ly["out"], dtype=np.int16)
                scratch = np.zeros(ly["out"], dtype=np.int32)
                lib.svx_int_linear_run(ctypes.byref(s), _ptr(x, P8), _ptr(y, P16), _ptr(scratch, P32))
                x = y
        if emit:
            outs.append(x.astype(np.int64))
    return np.array(outs)


class ConvS(ctypes.Structure):
    _fields_ = [("c_in", ctypes.c_size_t), ("f_in", ctypes.c_size_t), ("c_out", ctypes.c_size_t),
                ("f_out", ctypes.c_size_t), ("k_t", ctypes.c_size_t), ("k_f", ctypes.c_size_t),
                ("s_f", ctypes.c_size_t), ("p_f", ctypes.c_size_t), ("w", P8), ("w_pow2", ctypes.c_int),
                ("m", P32), ("k", P8), ("b", P32), ("relu", ctypes.c_int)]


def test_default_model_integer_parity():
    """models/default.svxm converted by train/export_int.py (calibrated on
    synthetic log-mel-like frames, so the test needs no data set): the C
    integer primitives and the Python reference give identical int16 scores
    on every frame of three inputs, and the same greedy symbols."""
    lib = _lib()
    from train import export_int, svxmodel
    path = os.path.join(ROOT, "models", "default.svxm")
    if not os.path.exists(path):
        pytest.skip("models/default.svxm absent")
    model = svxmodel.read_model(path)
    rng = np.random.default_rng(3)
    mean = model["layers"][0]["mean"]
    std = 1.0 / model["layers"][0]["inv_std"]

    def clip(T):
        slow = np.cumsum(rng.normal(0, 0.3, (T, len(mean))), 0) * 0.3
        return (mean + std * (slow + rng.normal(0, 0.7, (T, len(mean))))).astype(np.float32)

    il = export_int.convert(model, [clip(60) for _ in range(3)])
    kinds = sorted({ly.get("kind") for ly in il if "kind" in ly})
    assert kinds == ["i8", "pow2"]  # both weight kinds are exercised
    for T in (98, 37, 150):
        f = clip(T)
        py = export_int.int_forward(il, f)
        c = _c_forward(lib, il, f)
        assert py.shape == c.shape and py.shape[0] == (T - 1) // 2 + 1
        assert np.array_equal(py, c)
        assert np.abs(py).max() > 50  # non-trivial scores
        assert intq.ctc_greedy(c) == intq.ctc_greedy(py)
