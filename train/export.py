"""Export a trained CRNN to the engine's model file.

Steps: fold each BatchNorm into the convolution before it, take the integer
codes and per-row alphas from the quantisers (model/ARCH.md encodings), and
hand the layer list, the front-end parameters (from the C library's
defaults, via train/frontend.py) and the symbol table to train/svxmodel.py.

`layers(model)` returns the engine-neutral layer list; `reference_forward`
runs it frame by frame in NumPy (float64) exactly as ARCH.md says, which
tests use to check the export independently of both PyTorch and C.
"""

import numpy as np
import torch

from . import quant
from .model import CRNN, SYMBOLS


def _fold_bn(enc, w, alpha, bn):
    """Folds BatchNorm (eval statistics) into a bias-free convolution whose
    weight rows are (enc, w, alpha).  For a power-of-two encoding the BN scale
    goes into alpha (|scale|) and, where the scale is negative, into the sign
    bits, so the codes stay exact."""
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().double().numpy()
    bias = (bn.bias.detach().double().numpy() - bn.running_mean.detach().double().numpy() * scale)
    if enc == "f32":
        return enc, (w.astype(np.float64) * scale[:, None]).astype(np.float32), None, \
            bias.astype(np.float32)
    b = quant.bits_of(enc)
    codes = w.astype(np.int64).copy()
    neg_row = scale < 0
    field = codes & ((1 << (b - 1)) - 1)
    flip = neg_row[:, None] & ~((field == 0) & enc.startswith("deepshift"))
    codes = np.where(flip, codes ^ (1 << (b - 1)), codes)
    new_alpha = (alpha.astype(np.float64) * np.abs(scale)).astype(np.float32)
    return enc, codes.astype(np.uint8), new_alpha, bias.astype(np.float32)


def _w(qz):
    enc, w, alpha = qz.export()
    return enc, w, alpha


@torch.no_grad()
def layers(model):
    """The engine-neutral layer list of a CRNN (see model/ARCH.md)."""
    model = model.eval()
    c = model.cfg
    L = [{"type": "norm", "name": "norm", "n": c["n_mels"],
          "mean": model.mean.numpy().astype(np.float32).copy(),
          "inv_std": model.inv_std.numpy().astype(np.float32).copy()}]
    f_in, c_in = c["n_mels"], 1
    convs = [("conv1", model.conv1_w, model.bn1, c["c1"], c["k1"], c["s1"], c["p1"]),
             ("conv2", model.conv2_w, model.bn2, c["c2"], c["k2"], c["s2"], c["p2"])]
    for name, qz, bn, c_out, k, s, p in convs:
        enc, w, alpha, bias = _fold_bn(*_w(qz), bn)
        f_out = (f_in + 2 * p - k[1]) // s[1] + 1
        L.append({"type": "conv2d", "name": name, "c_in": c_in, "f_in": f_in, "c_out": c_out,
                  "f_out": f_out, "k_t": k[0], "k_f": k[1], "s_t": s[0], "s_f": s[1],
                  "p_f": p, "relu": True,
                  "weight": {"encoding": enc, "rows": c_out, "cols": c_in * k[0] * k[1],
                             "data": w, "alpha": alpha},
                  "bias": bias})
        f_in, c_in = f_out, c_out
    H = c["hidden"]
    gin = c_in * f_in
    ih, hh = _w(model.w_ih), _w(model.w_hh)
    L.append({"type": "gru", "name": "gru", "input": gin, "hidden": H,
              "w_ih": {"encoding": ih[0], "rows": 3 * H, "cols": gin, "data": ih[1],
                       "alpha": ih[2]},
              "w_hh": {"encoding": hh[0], "rows": 3 * H, "cols": H, "data": hh[1],
                       "alpha": hh[2]},
              "b_ih": model.b_ih.numpy().astype(np.float32).copy(),
              "b_hh": model.b_hh.numpy().astype(np.float32).copy()})
    ow = _w(model.out_w)
    L.append({"type": "linear", "name": "out", "in": H, "out": len(SYMBOLS), "relu": False,
              "weight": {"encoding": ow[0], "rows": len(SYMBOLS), "cols": H, "data": ow[1],
                         "alpha": ow[2]},
              "bias": model.out_b.numpy().astype(np.float32).copy()})
    L.append({"type": "logsoftmax", "name": "logsoftmax", "n": len(SYMBOLS)})
    return L


def dense(wspec):
    """Dequantised [rows, cols] float64 matrix of a weight spec (ARCH.md rule)."""
    return quant.decode(wspec["encoding"], wspec["data"], wspec["alpha"])


def reference_forward(L, feats):
    """Runs the layer list frame by frame (streaming, float64) on feats
    [T, n_mels]; returns the emitted log-probabilities [T', V]."""
    state = {}
    outs = []
    for n, frame in enumerate(np.asarray(feats, dtype=np.float64)):
        x, emit, t_index = frame, True, n
        for ly in L:
            t = ly["type"]
            if t == "norm":
                x = (x - ly["mean"]) * ly["inv_std"].astype(np.float64)
            elif t == "conv2d":
                key = ly["name"]
                hist = state.setdefault(key, {"buf": np.zeros((ly["k_t"], ly["c_in"], ly["f_in"])),
                                              "count": 0})
                xin = x.reshape(ly["c_in"], ly["f_in"])
                hist["buf"] = np.concatenate([hist["buf"][1:], xin[None]], 0)
                idx = hist["count"]
                hist["count"] += 1
                if idx % ly["s_t"] != 0:
                    emit = False
                    break
                W = dense(ly["weight"]).reshape(ly["c_out"], ly["c_in"], ly["k_t"], ly["k_f"])
                xp = np.pad(hist["buf"], ((0, 0), (0, 0), (ly["p_f"], ly["p_f"])))
                y = np.zeros((ly["c_out"], ly["f_out"]))
                for g in range(ly["f_out"]):
                    # buf is [kt, c, f] -> window [c, kt, kf]
                    win = xp[:, :, g * ly["s_f"]:g * ly["s_f"] + ly["k_f"]].transpose(1, 0, 2)
                    y[:, g] = np.tensordot(W, win, axes=([1, 2, 3], [0, 1, 2]))
                y += ly["bias"][:, None]
                if ly["relu"]:
                    y = np.maximum(y, 0)
                x = y.reshape(-1)
            elif t == "gru":
                H = ly["hidden"]
                h = state.get("gru", np.zeros(H))
                gi = dense(ly["w_ih"]) @ x + ly["b_ih"]
                gh = dense(ly["w_hh"]) @ h + ly["b_hh"]
                r = 1 / (1 + np.exp(-(gi[:H] + gh[:H])))
                z = 1 / (1 + np.exp(-(gi[H:2 * H] + gh[H:2 * H])))
                nn_ = np.tanh(gi[2 * H:] + r * gh[2 * H:])
                h = (1 - z) * nn_ + z * h
                state["gru"] = h
                x = h
            elif t == "linear":
                x = dense(ly["weight"]) @ x + ly["bias"]
                if ly["relu"]:
                    x = np.maximum(x, 0)
            elif t == "logsoftmax":
                m = x.max()
                x = x - (m + np.log(np.exp(x - m).sum()))
        del t_index
        if emit:
            outs.append(x)
    return np.array(outs)


def frontend_params():
    """Front-end parameters of the C library's defaults (dict)."""
    from .frontend import Frontend
    return Frontend().params_dict()


def export_model(model, path, meta=None):
    """Writes model to path with train/svxmodel.py; returns bytes written."""
    from . import svxmodel
    L = layers(model)
    info = {"quant": model.cfg["quant"], "bits": model.cfg["bits"]}
    info.update(meta or {})
    # ARCH.md / shiftvox.h: symbol 0 (CTC blank) is the empty string.
    symbols = [""] + list(SYMBOLS[1:])
    return svxmodel.write_model(path, frontend=frontend_params(), symbols=symbols,
                                layers=L, meta=info)


def export_checkpoint(ckpt, path, meta=None):
    """Exports a train/train.py checkpoint; meta (e.g. the 12-class score
    bias {"eval_bias": {"char_bonus", "silence"}}) goes into the file's
    metadata text."""
    ck = torch.load(ckpt, map_location="cpu")
    m = CRNN(ck["config"])
    m.load_state_dict(ck["model"])
    info = {"checkpoint": str(ckpt), "epoch": ck.get("epoch")}
    info.update(meta or {})
    return export_model(m, path, info)
