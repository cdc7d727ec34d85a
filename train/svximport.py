"""Rebuild a trainable CRNN from an exported model file (``.svxm``).

Training checkpoints stay on the machine that trained them; the model file is
what ships.  `model_from_file` turns the file's float graph back into a CRNN
so that a shipped model can be evaluated or fine-tuned
(``python3 -m train --init-from models/default.svxm ...``,
``python3 -m train import MODEL.svxm OUT.pt``).

The file keeps each convolution's BatchNorm folded into its weight rows and
bias (train/export.py).  The import unfolds it: the convolution gets the
folded weight, and its BatchNorm gets the per-channel mean mu and variance
var of that convolution's output over training features as running
statistics, weight sqrt(var + eps) and bias mu + b (b: the file's bias).  In
eval mode that BatchNorm adds exactly b, so the rebuilt model computes the
file's function; in training mode it normalises with batch statistics, which
are close to mu and var, so fine-tuning starts from (nearly) the same
function instead of from BatchNorm's identity statistics.

Quantised matrices come back dequantised (float32 alpha * (+-2^p)) in a
float CRNN; `--init-from` re-quantises them with the run's quantiser, which
for DenseShift gives back the same codes (a matrix that is already +-alpha*2^p
per row is its own nearest power-of-two fit).  The result's ``file_quant``
attribute names the file's encoding ("denseshift", 3) for callers that want
to keep it.
"""

import struct

import numpy as np
import torch

from . import quant, svxmodel
from .model import CRNN, SYMBOLS

# the float graph's layer sequence that CRNN (train/model.py) exports
_SEQUENCE = ["norm", "conv2d", "conv2d", "gru", "linear", "logsoftmax"]


class ModelFileError(ValueError):
    """The file is not a model this trainer's CRNN can hold (message names it)."""


def _float_graph(path, doc):
    layers = [ly for ly in doc["layers"] if ly["type"] not in svxmodel.INT_TYPES]
    types = [ly["type"] for ly in layers]
    if types != _SEQUENCE:
        raise ModelFileError("%s: layer sequence %s is not the CRNN's %s"
                           % (path, "/".join(types), "/".join(_SEQUENCE)))
    if doc["symbols"][1:] != list(SYMBOLS[1:]) or len(doc["symbols"]) != len(SYMBOLS):
        raise ModelFileError("%s: symbol table differs from the trainer's (%d symbols)"
                           % (path, len(doc["symbols"])))
    return layers


def _config(path, L):
    norm, c1, c2, gru, out, _ = L
    cfg = {"n_mels": int(norm["n"]),
           "c1": int(c1["c_out"]), "k1": (int(c1["k_t"]), int(c1["k_f"])),
           "s1": (int(c1["s_t"]), int(c1["s_f"])), "p1": int(c1["p_f"]),
           "c2": int(c2["c_out"]), "k2": (int(c2["k_t"]), int(c2["k_f"])),
           "s2": (int(c2["s_t"]), int(c2["s_f"])), "p2": int(c2["p_f"]),
           "hidden": int(gru["hidden"]), "quant": "float", "bits": 3}
    m = CRNN(cfg)
    checks = [("conv1 input", c1["c_in"], 1), ("conv1 frequency bins", c1["f_in"], cfg["n_mels"]),
              ("conv1 output bins", c1["f_out"], m.f1), ("conv2 input", c2["c_in"], cfg["c1"]),
              ("conv2 frequency bins", c2["f_in"], m.f1), ("conv2 output bins", c2["f_out"], m.f2),
              ("GRU input", gru["input"], m.gru_in), ("output layer input", out["in"],
                                                      cfg["hidden"]),
              ("output symbols", out["out"], len(SYMBOLS)),
              ("conv1 ReLU", int(c1["relu"]), 1), ("conv2 ReLU", int(c2["relu"]), 1),
              ("output ReLU", int(out["relu"]), 0)]
    for what, got, want in checks:
        if int(got) != int(want):
            raise ModelFileError("%s: %s is %d, the CRNN needs %d" % (path, what, got, want))
    return m


def _matrix(wspec, shape):
    w = quant.decode(wspec["encoding"], wspec["data"], wspec["alpha"])
    return torch.tensor(np.asarray(w, dtype=np.float64).reshape(shape), dtype=torch.float32)


@torch.no_grad()
def _bn_stats(model, feats_list):
    """Per-channel mean and variance of both convolutions' outputs (BatchNorm
    inputs) over feats_list, with the model in eval mode."""
    acc = {}

    def hook(name):
        def f(_mod, inp):
            x = inp[0].double()
            s = acc.setdefault(name, [0.0, 0.0, 0])
            s[0] = s[0] + x.sum(dim=(0, 2, 3))
            s[1] = s[1] + (x * x).sum(dim=(0, 2, 3))
            s[2] += x.numel() // x.shape[1]
        return f

    hooks = [model.bn1.register_forward_pre_hook(hook("bn1")),
             model.bn2.register_forward_pre_hook(hook("bn2"))]
    try:
        model.eval()
        for f in feats_list:
            model(torch.as_tensor(np.asarray(f, dtype=np.float32))[None])
    finally:
        for h in hooks:
            h.remove()
    out = {}
    for name, (s1, s2, n) in acc.items():
        mu = s1 / n
        var = (s2 / n - mu * mu).clamp_min(0.0)
        out[name] = (mu.float(), var.float())
    return out


@torch.no_grad()
def model_from_file(path, feats_list=None):
    """CRNN (float weights, eval mode) holding the float graph of model file
    `path`.  feats_list: training feature matrices [T, n_mels] for the
    BatchNorm statistics (see the module text); None or empty leaves the
    statistics at mean 0, variance 1 (exact in eval mode, not a good start
    for training)."""
    try:
        doc = svxmodel.read_model(path)
    except (OSError, ValueError, KeyError, IndexError, struct.error) as e:
        raise ModelFileError("%s: %s" % (path, e)) from e
    L = _float_graph(path, doc)
    m = _config(path, L)
    norm, c1, c2, gru, out, _ = L
    cfg, H = m.cfg, m.cfg["hidden"]
    m.mean.copy_(torch.as_tensor(norm["mean"]))
    m.inv_std.copy_(torch.as_tensor(norm["inv_std"]))
    m.conv1_w.weight.copy_(_matrix(c1["weight"], (cfg["c1"], 1) + cfg["k1"]))
    w2 = _matrix(c2["weight"], (cfg["c2"], cfg["c1"]) + cfg["k2"])
    m.conv2_w = quant.FloatWeight(w2)
    m.w_ih = quant.FloatWeight(_matrix(gru["w_ih"], (3 * H, m.gru_in)))
    m.w_hh = quant.FloatWeight(_matrix(gru["w_hh"], (3 * H, H)))
    m.b_ih.copy_(torch.as_tensor(gru["b_ih"]))
    m.b_hh.copy_(torch.as_tensor(gru["b_hh"]))
    m.out_w.weight.copy_(_matrix(out["weight"], (len(SYMBOLS), H)))
    m.out_b.copy_(torch.as_tensor(out["bias"]))
    # BatchNorm as "add the file's bias": mean 0, var 1 - eps, weight 1.
    for bn, ly in ((m.bn1, c1), (m.bn2, c2)):
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        bn.weight.fill_(1.0)
        bn.bias.copy_(torch.as_tensor(ly["bias"]))
    if feats_list:
        # conv2's input is conv1's ReLU output, already exact above, so one
        # pass measures both convolutions' output statistics
        stats = _bn_stats(m, feats_list)
        for name, bn, ly in (("bn1", m.bn1, c1), ("bn2", m.bn2, c2)):
            mu, var = stats[name]
            bn.running_mean.copy_(mu)
            bn.running_var.copy_(var)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(mu + torch.as_tensor(ly["bias"]))
    encs = {c2["weight"]["encoding"], gru["w_ih"]["encoding"], gru["w_hh"]["encoding"]}
    if len(encs) != 1:
        raise ModelFileError("%s: the quantised layers mix encodings %s" % (path, sorted(encs)))
    enc = encs.pop()
    if enc.startswith(("denseshift-", "deepshift-")):
        kind, bits = enc.rsplit("-", 1)
        m.file_quant = ("deepshift-q" if kind == "deepshift" else kind, int(bits))
    else:
        m.file_quant = ("float", 32)
    return m.eval()
