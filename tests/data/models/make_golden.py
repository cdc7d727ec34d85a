#!/usr/bin/python3
"""Writes the golden models of the C tests (tests/test_model_run.c):

    tiny_ds3.svxm    conv1 f32, conv2 / GRU DenseShift-3, output i8
    tiny_mixed.svxm  DeepShift-2, DenseShift-4, DenseShift-2, DeepShift-3, f32
    det.svxm         numbers from formulas; the C test rebuilds it with
                     svx_model_serialize and requires identical bytes

each with NAME.golden: random features and the log-probabilities of an
independent NumPy forward pass over the whole utterance (float64, written
here from the formulas of model/ARCH.md, not from the C code or the
trainer), rounded to float32. The model files are written by
train/svxmodel.py, so the C loader is tested on the Python writer's bytes.

    /usr/bin/python3 tests/data/models/make_golden.py     (from the repository root)

Golden layout (little-endian): b"SVXG", u32 T, u32 n_mels, u32 T_out, u32 V,
float32 feats[T][n_mels], float32 logprobs[T_out][V].
"""
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, ROOT)
from train import svxmodel  # noqa: E402

SYMBOLS = ["", " ", "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
FRONTEND = dict(sample_rate_hz=16000, win_length=400, hop_length=160, n_fft=512, n_mels=40,
                fmin_hz=20.0, fmax_hz=7600.0, log_floor=1e-6, window=0, mel_scale=0)
T = 37


def weight(rng, enc, rows, cols, scale):
    if enc == "f32":
        return {"encoding": "f32", "data": (scale * rng.normal(size=(rows, cols))).astype(np.float32),
                "alpha": None}
    alpha = (scale * (0.5 + rng.random(rows))).astype(np.float32)
    if enc == "i8":
        return {"encoding": "i8", "data": rng.integers(-127, 128, size=(rows, cols)).astype(np.int8),
                "alpha": (alpha / 64).astype(np.float32)}
    b = int(enc.rsplit("-", 1)[1])
    pmax = (1 << (b - 1)) - 1
    return {"encoding": enc, "data": rng.integers(0, 1 << b, size=(rows, cols)).astype(np.uint8),
            "alpha": (alpha / 2.0 ** pmax).astype(np.float32)}


def value(w):
    """ARCH.md's value rule (float64), written independently of svxmodel.dequantise."""
    enc = w["encoding"]
    d = np.asarray(w["data"])
    if enc == "f32":
        return d.astype(np.float64)
    a = np.asarray(w["alpha"], np.float64)[:, None]
    if enc == "i8":
        return a * d
    name, b = enc.rsplit("-", 1)
    b = int(b)
    sign = np.where(d >> (b - 1) & 1, -1.0, 1.0)
    field = (d & ((1 << (b - 1)) - 1)).astype(np.int64)
    if name == "denseshift":
        return a * sign * 2.0 ** field
    return np.where(field == 0, 0.0, a * sign * 2.0 ** np.maximum(field - 1, 0))


def make_layers(rng, encs):
    M, C1, C2, H, V = 40, 4, 4, 16, len(SYMBOLS)
    F1 = (M + 2 * 2 - 5) // 2 + 1
    F2 = (F1 + 2 * 1 - 3) // 2 + 1
    vec = lambda n, s: (s * rng.normal(size=n)).astype(np.float32)  # noqa: E731
    return [
        {"type": "norm", "name": "norm", "n": M, "mean": vec(M, 1.0),
         "inv_std": (0.5 + rng.random(M)).astype(np.float32)},
        {"type": "conv2d", "name": "conv1", "c_in": 1, "f_in": M, "c_out": C1, "f_out": F1,
         "k_t": 3, "k_f": 5, "s_t": 1, "s_f": 2, "p_f": 2, "relu": True,
         "weight": weight(rng, encs[0], C1, 15, 0.4), "bias": vec(C1, 0.2)},
        {"type": "conv2d", "name": "conv2", "c_in": C1, "f_in": F1, "c_out": C2, "f_out": F2,
         "k_t": 3, "k_f": 3, "s_t": 2, "s_f": 2, "p_f": 1, "relu": True,
         "weight": weight(rng, encs[1], C2, C1 * 9, 0.3), "bias": vec(C2, 0.2)},
        {"type": "gru", "name": "gru", "input": C2 * F2, "hidden": H,
         "w_ih": weight(rng, encs[2], 3 * H, C2 * F2, 0.2),
         "w_hh": weight(rng, encs[3], 3 * H, H, 0.3),
         "b_ih": vec(3 * H, 0.2), "b_hh": vec(3 * H, 0.2)},
        {"type": "linear", "name": "out", "in": H, "out": V, "relu": False,
         "weight": weight(rng, encs[4], V, H, 1.5), "bias": vec(V, 1.0)},
        {"type": "logsoftmax", "name": "logsoftmax", "n": V},
    ]


def forward(layers, feats):
    """Whole-utterance forward pass: x [T, n_mels] -> log-probabilities [T', V]."""
    x = np.asarray(feats, np.float64)
    for ly in layers:
        t = ly["type"]
        if t == "norm":
            x = (x - ly["mean"]) * ly["inv_std"].astype(np.float64)
        elif t == "conv2d":
            Tn = x.shape[0]
            C, F, K_t, K_f = ly["c_in"], ly["f_in"], ly["k_t"], ly["k_f"]
            xi = x.reshape(Tn, C, F)
            # left context of K_t - 1 zero frames, P_f zero bins each side
            xp = np.zeros((Tn + K_t - 1, C, F + 2 * ly["p_f"]))
            xp[K_t - 1:, :, ly["p_f"]:ly["p_f"] + F] = xi
            W = value(ly["weight"]).reshape(ly["c_out"], C, K_t, K_f)
            outs = []
            for n in range(0, Tn, ly["s_t"]):
                win = xp[n:n + K_t]                       # [K_t, C, F + 2P]
                y = np.empty((ly["c_out"], ly["f_out"]))
                for g in range(ly["f_out"]):
                    patch = win[:, :, g * ly["s_f"]:g * ly["s_f"] + K_f]  # [K_t, C, K_f]
                    y[:, g] = np.einsum("ockf,kcf->o", W, patch)
                y += ly["bias"][:, None]
                if ly["relu"]:
                    y = np.maximum(y, 0)
                outs.append(y.reshape(-1))
            x = np.array(outs)
        elif t == "gru":
            H = ly["hidden"]
            Wi, Wh = value(ly["w_ih"]), value(ly["w_hh"])
            h = np.zeros(H)
            hs = []
            for xt in x:
                gi = Wi @ xt + ly["b_ih"]
                gh = Wh @ h + ly["b_hh"]
                r = 1 / (1 + np.exp(-(gi[:H] + gh[:H])))
                z = 1 / (1 + np.exp(-(gi[H:2 * H] + gh[H:2 * H])))
                nn = np.tanh(gi[2 * H:] + r * gh[2 * H:])
                h = (1 - z) * nn + z * h
                hs.append(h)
            x = np.array(hs)
        elif t == "linear":
            x = x @ value(ly["weight"]).T + ly["bias"]
            if ly["relu"]:
                x = np.maximum(x, 0)
        elif t == "logsoftmax":
            m = x.max(axis=1, keepdims=True)
            x = x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))
    return x


def det_layers():
    """A model whose every number follows a formula, so that
    tests/test_model_file.c can build the same one in C and require the two
    writers (svxmodel.write_model, svx_model_serialize) to give identical
    bytes: every encoding, odd sizes so codes straddle bytes."""
    def codes(rows, cols, b, mul):
        r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        return ((r * cols + c) * mul + 1) % (1 << b)

    def alpha(rows):
        return np.ldexp(1.0, -(np.arange(rows) % 4)).astype(np.float32)

    def vec(n, k):
        return ((np.arange(n) % 7) - 3).astype(np.float32) * np.float32(0.25 * k)

    conv_w = (((np.arange(2 * 6) % 5) - 2) * 0.5).astype(np.float32).reshape(2, 6)
    i8 = (((np.arange(29 * 9) * 37) % 255) - 127).astype(np.int8).reshape(29, 9)
    return [
        {"type": "norm", "name": "norm", "n": 8, "mean": vec(8, 1), "inv_std": np.full(8, 0.5, np.float32)},
        {"type": "conv2d", "name": "conv", "c_in": 1, "f_in": 8, "c_out": 2, "f_out": 4, "k_t": 2,
         "k_f": 3, "s_t": 1, "s_f": 2, "p_f": 1, "relu": True,
         "weight": {"encoding": "f32", "data": conv_w, "alpha": None}, "bias": vec(2, 2)},
        {"type": "linear", "name": "l1", "in": 8, "out": 13, "relu": True,
         "weight": {"encoding": "denseshift-2", "data": codes(13, 8, 2, 3), "alpha": alpha(13)},
         "bias": vec(13, 1)},
        {"type": "linear", "name": "l2", "in": 13, "out": 11, "relu": True,
         "weight": {"encoding": "deepshift-4", "data": codes(11, 13, 4, 5), "alpha": alpha(11)},
         "bias": vec(11, 3)},
        {"type": "gru", "name": "gru", "input": 11, "hidden": 9,
         "w_ih": {"encoding": "denseshift-3", "data": codes(27, 11, 3, 7), "alpha": alpha(27)},
         "w_hh": {"encoding": "deepshift-3", "data": codes(27, 9, 3, 3), "alpha": alpha(27)},
         "b_ih": vec(27, 1), "b_hh": vec(27, 2)},
        {"type": "linear", "name": "out", "in": 9, "out": 29, "relu": False,
         "weight": {"encoding": "i8", "data": i8, "alpha": alpha(29)}, "bias": vec(29, 1)},
        {"type": "logsoftmax", "name": "logsoftmax", "n": 29},
    ]


def main():
    cases = {"tiny_ds3": ["f32", "denseshift-3", "denseshift-3", "denseshift-3", "i8"],
             "tiny_mixed": ["deepshift-2", "denseshift-4", "denseshift-2", "deepshift-3", "f32"]}
    for seed, (name, encs) in enumerate(sorted(cases.items())):
        rng = np.random.default_rng(1234 + seed)
        layers = make_layers(rng, encs)
        path = os.path.join(HERE, name + ".svxm")
        svxmodel.write_model(path, FRONTEND, SYMBOLS, layers,
                             meta={"golden": name, "script": "tests/data/models/make_golden.py"})
        back = svxmodel.read_model(path)  # round trip through the reader
        for a, b in zip(layers, back["layers"]):
            for k in ("weight", "w_ih", "w_hh"):
                if k in a:
                    assert np.array_equal(value(a[k]), value(b[k])), (name, a["name"], k)
        feats = (2.0 * rng.normal(size=(T, FRONTEND["n_mels"])) - 8.0).astype(np.float32)
        out = forward(layers, feats)
        assert np.isfinite(out).all() and out.std() > 0.1
        with open(os.path.join(HERE, name + ".golden"), "wb") as f:
            f.write(b"SVXG" + struct.pack("<4I", T, feats.shape[1], out.shape[0], out.shape[1]))
            f.write(feats.astype("<f4").tobytes())
            f.write(out.astype("<f4").tobytes())
        print("%s: %d bytes, %d frames -> %d outputs" % (path, os.path.getsize(path), T, out.shape[0]))
    fe = dict(FRONTEND, n_mels=8)
    path = os.path.join(HERE, "det.svxm")
    svxmodel.write_model(path, fe, SYMBOLS, det_layers(), meta={})
    print("%s: %d bytes (byte-compared with the C writer)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
