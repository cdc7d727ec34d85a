"""Integer model from a trained float-activation DenseShift model (issue 7).

Post-training calibration (train/qat.py fine-tunes instead and calls
`convert` with its own fractional bits and knots). Activation ranges of every
layer output are measured on calibration clips with a float64 forward pass;
each int8 tensor gets f = floor(log2(127 / r)) fractional bits (clamped to
[0, 12]), r the 99.99th percentile of |x| (--calib-rule max: the maximum);
weights keep their DenseShift codes (rule 3 of model/INTEGER.md); per-row
alpha and the scale change become a mantissa/shift pair (rule 4); biases are
rounded to the output scale; the GRU uses the default PWL knots (rule 5).
`int_forward` runs the result with the integer reference train/intq.py (the
same rules as model/int_runner.c, checked bit-exact by
train/tests/test_integer_model.py); `write` stores it in an SVXM 1.1 file.

    SVX_LIB=build/libshiftvox.so /usr/bin/python3 -m train.export_int \
        models/default.svxm --calib 200 --per-word 0 --out /tmp/both.svxm

writes the model with both graphs; with --per-word N it also prints greedy
word accuracy of the float and the integer model on N dev clips per keyword.
"""
import argparse
import math
import os
import sys

import numpy as np

from . import intq
from . import svxmodel

FRAC = intq.FRAC


CALIB_PERCENTILE = 99.99  # of |x| over the calibration clips: 0.01 % of values may clip


def calib_range(values, rule="p99.99"):
    """The range an int8 tensor must hold, from recorded |x| (a list of arrays or
    a number): max, or the 99.99th percentile (the default: a few outliers
    clip at +-127 instead of costing every value a bit of precision)."""
    if np.isscalar(values):
        return float(values)
    a = np.concatenate([np.ravel(v) for v in values])
    return float(a.max()) if rule == "max" else float(np.percentile(a, CALIB_PERCENTILE))


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
    record (dict) receives, per layer, a list of |output| arrays (calibration,
    see calib_range). Returns logits [T', V]."""
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
                record.setdefault(ly["name"], []).append(np.abs(x).astype(np.float32).ravel())
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


def _mk(scales):
    mk = [intq.to_mantissa(float(v)) for v in scales]
    return (np.array([m for m, _ in mk], dtype=np.int32), np.array([k for _, k in mk], dtype=np.int32))


def _knots_array(knots):
    xs, ys = knots
    return np.array([list(xs), list(ys)], dtype=np.int32)


def convert(model, calib_feats, frac=None, knots=None, rule="p99.99", used=None):
    """The integer graph (file-format layer dicts, train/svxmodel.py) of a
    read_model() dict. Fractional bits of each int8 tensor come from `frac`
    (layer name -> f, e.g. from QAT) or else from the calibration clips'
    max |x|; `knots` (xs, ys in Q.12) are the GRU's PWL sigmoid knots (default
    table if None). `used` (a dict), if given, receives the fractional bits chosen."""
    rec = {}
    if frac is None or any(ly["name"] not in frac for ly in model["layers"]
                           if ly["type"] in ("norm", "conv2d")):
        for f in calib_feats:
            float_forward(model["layers"], f, rec)
    frac = dict(frac or {})
    knots = knots or intq.default_sigmoid_knots()
    out, f_in = [], None
    for ly in model["layers"]:
        t, nm = ly["type"], ly["name"]
        if t == "norm":
            f_in = frac.get(nm, None)
            f_in = frac_bits(calib_range(rec[nm], rule)) if f_in is None else f_in
            out.append({"type": "int_input", "name": nm, "n": ly["n"], "frac_bits": int(f_in),
                        "mean": np.asarray(ly["mean"], np.float32),
                        "inv_std": np.asarray(ly["inv_std"], np.float32)})
        elif t in ("conv2d", "linear"):
            f_out = frac.get(nm) if t == "conv2d" else frac.get(nm, SCORE_FRAC)
            if f_out is None:
                f_out = frac_bits(calib_range(rec[nm], rule))
            vals, alpha, kind = int_weights(ly["weight"])
            m, k = _mk(alpha * 2.0 ** (f_out - f_in))
            w8 = codes_of(ly["weight"]) if kind == "pow2" else vals.astype(np.int8)
            b = np.floor(np.asarray(ly["bias"], dtype=np.float64) * 2.0 ** f_out + 0.5)
            d = {"name": nm, "w_kind": 0 if kind == "pow2" else 1, "weight": w8.astype(np.int8),
                 "m": m, "k": k, "b": np.clip(b, -2**31, 2**31 - 1).astype(np.int32),
                 "relu": int(ly["relu"])}
            if t == "conv2d":
                d.update({"type": "int_conv2d"})
                for key in ("c_in", "f_in", "c_out", "f_out", "k_t", "k_f", "s_t", "s_f", "p_f"):
                    d[key] = ly[key]
            else:
                d.update({"type": "int_linear", "in": ly["in"], "out": ly["out"],
                          "out_frac": int(f_out)})
            out.append(d)
            f_in = f_out
        elif t == "gru":
            f_h = frac.get(nm, GRU_OUT_FRAC)
            g = {"type": "int_gru", "name": nm, "input": ly["input"], "hidden": ly["hidden"],
                 "out_frac": int(f_h), "knots": _knots_array(knots)}
            for side, shift in (("ih", FRAC - f_in), ("hh", 0)):
                alpha = np.asarray(ly["w_" + side]["alpha"], dtype=np.float64)
                g["w_" + side] = codes_of(ly["w_" + side])
                g["m_" + side], g["k_" + side] = _mk(alpha * 2.0 ** shift)
                g["b_" + side] = np.floor(np.asarray(ly["b_" + side], dtype=np.float64) * 4096
                                          + 0.5).astype(np.int32)
            out.append(g)
            f_in = f_h
        if used is not None and t in ("norm", "conv2d", "gru", "linear"):
            used[nm] = int(f_in)
    return out


SCORE_FRAC = 8     # int16 scores: 8 fractional bits
GRU_OUT_FRAC = 7   # h (Q.12, |h| <= 1) -> int8 with 7 fractional bits


def quantise_input(ly, frame):
    """The model input: normalised log-mel frame -> int8 with frac_bits fractional
    bits, q = sat8(floor(v * 2^f + 1/2)), v computed in float32. The one float
    operation of the path (the front end is float); model.c does the same."""
    v = (np.asarray(frame, dtype=np.float32) - ly["mean"]) * ly["inv_std"]
    t = np.floor(v.astype(np.float64) * 2.0 ** ly["frac_bits"] + 0.5)
    return intq.sat8(np.clip(t, -127, 127).astype(np.int64))


def _vals(ly):
    w = np.asarray(ly["weight"], dtype=np.int64)
    return intq.code_values(w) if ly["w_kind"] == 0 else w


def int_forward(ilayers, feats):
    """Integer forward of an integer graph (train/intq.py rules), frame by frame
    like model/int_runner.c; the only float op is the input quantisation.
    Returns the int16 scores [T', V] (int64 array)."""
    state, outs = {}, []
    cache = {}
    for frame in np.asarray(feats, dtype=np.float32):
        x, emit = None, True
        for i, ly in enumerate(ilayers):
            t = ly["type"]
            if t == "int_input":
                x = quantise_input(ly, frame)
            elif t == "int_conv2d":
                st = state.get(i)
                if st is None:
                    st = np.zeros((ly["k_t"], ly["c_in"], ly["f_in"]), dtype=np.int64)
                st = state[i] = np.concatenate([st[1:], x.reshape(1, ly["c_in"], ly["f_in"])], 0)
                count = state[("n", i)] = state.get(("n", i), -1) + 1  # this layer's input frames
                if count % ly["s_t"] != 0:
                    emit = False
                    break
                vals = cache.setdefault(i, _vals(ly))
                acc = _conv(ly, st, lambda win: vals @ win)
                m = np.asarray(ly["m"], np.int64)[:, None]
                k = np.asarray(ly["k"], np.int64)[:, None]
                y = intq.sat32(intq.requant(acc, m, k) + np.asarray(ly["b"], np.int64)[:, None])
                if ly["relu"]:
                    y = np.maximum(y, 0)
                x = intq.sat8(y).reshape(-1)
            elif t == "int_gru":
                if ("pwl", i) not in cache:
                    cache[("pwl", i)] = intq.Pwl(*[list(map(int, r)) for r in ly["knots"]])
                    cache[("p", i)] = {key: np.asarray(ly[key], np.int64) for key in
                                       ("w_ih", "w_hh", "m_ih", "k_ih", "b_ih", "m_hh", "k_hh", "b_hh")}
                h = state.get(i, np.zeros(ly["hidden"], dtype=np.int64))
                h = state[i] = intq.gru_step(cache[("p", i)], x, h, cache[("pwl", i)])
                x = intq.h_to_i8(h, ly["out_frac"])
            elif t == "int_linear":
                vals = cache.setdefault(i, _vals(ly))
                y = intq.sat32(intq.requant(vals @ x, np.asarray(ly["m"], np.int64),
                                            np.asarray(ly["k"], np.int64)) + np.asarray(ly["b"], np.int64))
                x = intq.sat16(np.maximum(y, 0) if ly["relu"] else y)
        if emit:
            outs.append(x)
    return np.array(outs)


def int_layers_of(model):
    """The integer graph of a read_model() dict ([] if it has none)."""
    return [ly for ly in model["layers"] if ly["type"] in svxmodel.INT_TYPES]


def float_layers_of(model):
    return [ly for ly in model["layers"] if ly["type"] not in svxmodel.INT_TYPES]


def write(path, model, ilayers, both=True, meta_extra=None):
    """Writes model's front end and symbols with the integer graph, after the
    float-activation graph when both (model/FORMAT.md 1.1). Returns bytes written."""
    meta = dict(model.get("meta") or {})
    meta.update(meta_extra or {})
    layers = (float_layers_of(model) if both else []) + list(ilayers)
    return svxmodel.write_model(path, model["frontend"], model["symbols"], layers, meta)


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
    ap.add_argument("--per-word", type=int, default=30, help="dev clips per keyword (0: skip)")
    ap.add_argument("--out", help="write the model with its integer graph here")
    ap.add_argument("--int-only", action="store_true", help="write only the integer graph")
    ap.add_argument("--calib-rule", choices=["p99.99", "max"], default="p99.99",
                    help="range of each int8 tensor: 99.99th percentile or max of |x|")
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
    model["layers"] = float_layers_of(model)
    calib = [feats(p) for p, _ in _clips(a.manifest, "train", max(1, a.calib // len(words)), words, rng)]
    used = {}
    il = convert(model, calib, rule=a.calib_rule, used=used)
    print("fractional bits:", used)
    if a.out:
        n = write(a.out, model, il, both=not a.int_only,
                  meta_extra={"integer": {"calibration": "post-training, %d clips, %s"
                                          % (len(calib), a.calib_rule), "frac_bits": used}})
        print("wrote %s (%d bytes)" % (a.out, n))
    if a.per_word <= 0:
        return 0
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
