"""Integer model from a trained float-activation DenseShift model (issue 7).

First step only: post-training calibration (no QAT yet). Activation ranges of
every layer output are measured on calibration clips with a float64 forward
pass; each int8 tensor gets f = floor(log2(127 / max|x|)) fractional bits
(clamped to [0, 12]); weights keep their DenseShift codes (rule 3 of
model/INTEGER.md); per-row alpha and the scale change become a mantissa/shift
pair (rule 4); biases are rounded to the output scale; the GRU uses the default
PWL knots (rule 5).  `int_forward` runs the result with the integer reference
train/intq.py (the same rules as model/int_model.c, checked bit-exact by
train/tests/test_integer.py).

    SVX_LIB=build/libshiftvox.so /usr/bin/python3 -m train.export_int \
        models/default.svxm --calib 200 --per-word 30

prints greedy-transcript word accuracy of the float and the integer model on
dev clips of the ten Speech Commands keywords, and their agreement.  Not yet:
writing the integer model into an SVXM file (no integer layer types yet).
"""
import argparse
import math
import os
import sys

import numpy as np

from . import intq
from . import svxmodel

FRAC = intq.FRAC


def frac_bits(max_abs):
    if max_abs <= 0:
        return 7
    return int(min(12, max(0, math.floor(math.log2(127.0 / max_abs)))))


def int_weights(w):
    """(integer weight values [rows, cols] int64, per-row alpha, kind): power-of-two
    codes applied by shifts (rule 3) for DenseShift/DeepShift, or int8 values
    alpha*q with alpha = max|w_row|/127 for a float32 layer (the model keeps its
    first and last layers in f32; those need int8 x int8 multiplies)."""
    enc, _ = svxmodel.parse_encoding(w["encoding"])
    if enc == svxmodel.ENC_F32:
        d = np.asarray(w["data"], dtype=np.float64).reshape(w["rows"], w["cols"])
        alpha = np.maximum(np.abs(d).max(1), 1e-12) / 127.0
        return np.floor(d / alpha[:, None] + 0.5).astype(np.int64), alpha, "i8"
    return intq.code_values(codes_of(w)), np.asarray(w["alpha"], dtype=np.float64), "pow2"


def codes_of(w):
    """DenseShift/DeepShift codes of a weight dict -> rule 3 int8 codes [rows, cols]."""
    enc, b = svxmodel.parse_encoding(w["encoding"])
    c = np.asarray(w["data"]).astype(np.int64)
    neg = (c >> (b - 1)) & 1
    field = c & ((1 << (b - 1)) - 1)
    if enc == svxmodel.ENC_DENSESHIFT:
        mag = field + 1
    elif enc == svxmodel.ENC_DEEPSHIFT:
        mag = field  # field k -> 2^(k-1), k = 0 is zero: code k
    else:
        raise ValueError("integer path needs power-of-two weights, got %s" % w["encoding"])
    return np.where(neg == 1, -mag, mag).astype(np.int8)


def float_forward(layers, feats, record=None):
    """float64 forward of norm/conv2d/gru/linear (model/ARCH.md), frame by frame;
    record (dict) receives the max |output| of each layer. Returns logits [T', V]."""
    state, outs = {}, []
    for frame in np.asarray(feats, dtype=np.float64):
        x, emit = frame, True
        for ly in layers:
            t = ly["type"]
            if t == "norm":
                x = (x - ly["mean"]) * ly["inv_std"].astype(np.float64)
            elif t == "conv2d":
                st = state.setdefault(ly["name"], {"buf": np.zeros((ly["k_t"], ly["c_in"], ly["f_in"])), "n": 0})
                st["buf"] = np.concatenate([st["buf"][1:], x.reshape(1, ly["c_in"], ly["f_in"])], 0)
                st["n"] += 1
                if (st["n"] - 1) % ly["s_t"] != 0:
                    emit = False
                    break
                W = svxmodel.dequantise(ly["weight"])
                x = _conv(ly, st["buf"], lambda win: W @ win) + ly["bias"][:, None]
                if ly["relu"]:
                    x = np.maximum(x, 0)
                x = x.reshape(-1)
            elif t == "gru":
                H = ly["hidden"]
                h = state.get("gru", np.zeros(H))
                gi = svxmodel.dequantise(ly["w_ih"]) @ x + ly["b_ih"]
                gh = svxmodel.dequantise(ly["w_hh"]) @ h + ly["b_hh"]
                r = 1 / (1 + np.exp(-(gi[:H] + gh[:H])))
                z = 1 / (1 + np.exp(-(gi[H:2 * H] + gh[H:2 * H])))
                n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
                x = state["gru"] = (1 - z) * n + z * h
            elif t == "linear":
                x = svxmodel.dequantise(ly["weight"]) @ x + ly["bias"]
                if ly["relu"]:
                    x = np.maximum(x, 0)
            elif t == "logsoftmax":
                continue
            if record is not None:
                record[ly["name"]] = max(record.get(ly["name"], 0.0), float(np.abs(x).max()))
        if emit:
            outs.append(x)
    return np.array(outs)


def _conv(ly, buf, matvec):
    """Applies matvec to every frequency window of buf [k_t, c_in, f_in]
    (windows flattened in the order c, kt, kf); returns [c_out, f_out]."""
    xp = np.pad(buf, ((0, 0), (0, 0), (ly["p_f"], ly["p_f"])))
    cols = []
    for g in range(ly["f_out"]):
        win = xp[:, :, g * ly["s_f"]:g * ly["s_f"] + ly["k_f"]].transpose(1, 0, 2)
        cols.append(matvec(win.reshape(-1)))
    return np.stack(cols, 1)


def convert(model, calib_feats):
    """Integer parameters (a list of dicts) from a read_model() dict."""
    rec = {}
    for f in calib_feats:
        float_forward(model["layers"], f, rec)
    out, f_in = [], None
    for ly in model["layers"]:
        t = ly["type"]
        if t == "norm":
            f_in = frac_bits(rec[ly["name"]])
            out.append({"type": "norm", "mean": ly["mean"], "inv_std": ly["inv_std"], "fb": f_in})
        elif t in ("conv2d", "linear"):
            f_out = frac_bits(rec[ly["name"]]) if t == "conv2d" else 8
            vals, alpha, kind = int_weights(ly["weight"])
            mk = [intq.to_mantissa(a * 2.0 ** (f_out - f_in)) for a in alpha]
            d = dict(ly)
            w8 = codes_of(ly["weight"]) if kind == "pow2" else vals.astype(np.int8)
            d.update({"vals": vals, "kind": kind, "w8": w8, "m": np.array([m for m, _ in mk]),
                      "k": np.array([k for _, k in mk]), "fb": f_out,
                      "b": np.floor(np.asarray(ly["bias"], dtype=np.float64) * 2.0 ** f_out + 0.5).astype(np.int64)})
            out.append(d)
            f_in = f_out
        elif t == "gru":
            g = {"type": "gru", "hidden": ly["hidden"], "f_h": 7}
            for side, shift in (("ih", FRAC - f_in), ("hh", 0)):
                alpha = np.asarray(ly["w_" + side]["alpha"], dtype=np.float64)
                mk = [intq.to_mantissa(a * 2.0 ** shift) for a in alpha]
                g["w_" + side] = codes_of(ly["w_" + side])
                g["m_" + side] = np.array([m for m, _ in mk])
                g["k_" + side] = np.array([k for _, k in mk])
                g["b_" + side] = np.floor(np.asarray(ly["b_" + side], dtype=np.float64) * 4096 + 0.5).astype(np.int64)
            out.append(g)
            f_in = 7
    return out


def quantise_input(ly, frame):
    """The model input: normalised log-mel frame -> int8 with ly["fb"] fractional
    bits, q = sat8(floor(v * 2^fb + 1/2)). The one float operation of the path
    (the front end is float); the rest is integer."""
    v = (np.asarray(frame, dtype=np.float32) - ly["mean"]) * ly["inv_std"]
    return intq.sat8(np.floor(v.astype(np.float64) * 2.0 ** ly["fb"] + 0.5).astype(np.int64))


def int_forward(ilayers, feats, pwl=None):
    """Integer forward (train/intq.py rules); the only float op is the input
    quantisation of the normalised log-mel frame. Returns int16 scores [T', V]."""
    pwl = pwl or intq.Pwl(*intq.default_sigmoid_knots())
    state, outs = {}, []
    for frame in np.asarray(feats, dtype=np.float32):
        x, emit = None, True
        for i, ly in enumerate(ilayers):
            t = ly["type"]
            if t == "norm":
                x = quantise_input(ly, frame)
            elif t == "conv2d":
                st = state.setdefault(i, np.zeros((ly["k_t"], ly["c_in"], ly["f_in"]), dtype=np.int64))
                st = state[i] = np.concatenate([st[1:], x.reshape(1, ly["c_in"], ly["f_in"])], 0)
                count = state[("n", i)] = state.get(("n", i), -1) + 1  # this layer's input frames
                if count % ly["s_t"] != 0:
                    emit = False
                    break
                acc = _conv(ly, st, lambda win: ly["vals"] @ win)
                y = intq.sat32(intq.requant(acc, ly["m"][:, None], ly["k"][:, None]) + ly["b"][:, None])
                if ly["relu"]:
                    y = np.maximum(y, 0)
                x = intq.sat8(y).reshape(-1)
            elif t == "gru":
                h = state.get("gru", np.zeros(ly["hidden"], dtype=np.int64))
                h = state["gru"] = intq.gru_step(ly, x, h, pwl)
                x = intq.h_to_i8(h, ly["f_h"])
            elif t == "linear":
                y = intq.sat32(intq.requant(ly["vals"] @ x, ly["m"], ly["k"]) + ly["b"])
                x = intq.sat16(np.maximum(y, 0) if ly["relu"] else y)
        if emit:
            outs.append(x)
    return np.array(outs)


def greedy_text(scores, symbols):
    ids, prev = [], 0
    for b in np.argmax(scores, axis=1):
        if b != prev and b != 0:
            ids.append(int(b))
        prev = b
    return "".join(symbols[i] for i in ids).strip()


def _clips(manifest, split, per_word, words, rng):
    root = os.path.dirname(manifest)
    rows = [ln.rstrip("\n").split("\t") for ln in open(manifest)][1:]
    out = []
    for w in words:
        sel = [r for r in rows if r[4] == split and r[2] == w]
        rng.shuffle(sel)
        out += [(os.path.join(root, r[0]), w) for r in sel[:per_word]]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--manifest", default="../shared/data/speech_commands/manifest.tsv")
    ap.add_argument("--calib", type=int, default=200, help="training clips for calibration")
    ap.add_argument("--per-word", type=int, default=30, help="dev clips per keyword")
    a = ap.parse_args(argv)
    import soundfile as sf
    from .frontend import Frontend
    fe = Frontend()
    words = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
    rng = np.random.default_rng(0)

    def feats(path):
        pcm, _ = sf.read(path, dtype="float32")
        return fe.compute(pcm if pcm.ndim == 1 else pcm[:, 0])

    model = svxmodel.read_model(a.model)
    calib = [feats(p) for p, _ in _clips(a.manifest, "train", max(1, a.calib // len(words)), words, rng)]
    il = convert(model, calib)
    print("fractional bits / weights:", [(ly["type"], ly.get("fb", ly.get("f_h")), ly.get("kind", ""))
                                         for ly in il])
    n = ok_f = ok_i = agree = 0
    for path, w in _clips(a.manifest, "dev", a.per_word, words, rng):
        f = feats(path)
        tf = greedy_text(float_forward(model["layers"], f), model["symbols"])
        ti = greedy_text(int_forward(il, f), model["symbols"])
        n += 1
        ok_f += tf == w
        ok_i += ti == w
        agree += tf == ti
    print("dev clips %d: greedy word accuracy float %.1f%%, integer %.1f%%, same transcript %.1f%%"
          % (n, 100.0 * ok_f / n, 100.0 * ok_i / n, 100.0 * agree / n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
