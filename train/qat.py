"""Quantisation-aware fine-tuning of the integer graph (issue 7, iRNN).

Starts from a float-activation DenseShift model (models/default.svxm) and
fine-tunes a PyTorch mirror of the integer graph of model/INTEGER.md:

* every int8 activation (the quantised input, each conv output, the GRU
  output) is fake-quantised at its fixed fractional bits f: x -> clamp(floor(
  x * 2^f + 1/2), -127, 127) / 2^f, with a straight-through gradient; the f
  come from a calibration pass (99.99th percentile of |x|, as
  train/export_int.py does) and are then frozen; the int16 scores are fake-quantised with 8 fractional bits;
* the GRU's sigmoid and tanh are the piecewise-linear function of rule 5 with
  learnable knot values y_k at the default knot positions (tanh = 2 sigma(2x)
  - 1 from the same knots), so the knots are chosen by the training;
* weights: the DenseShift codes of conv2 and the GRU are kept fixed (their
  per-row alphas and the biases are fine-tuned); the float32 layers the model
  keeps (conv1, the output layer) are fake-quantised to int8 per row (rule 3b).

Then it exports with the rules of INTEGER.md (train/export_int.convert, with
the frozen f and the learned knots) and writes a model file with the original
float-activation graph and the fine-tuned integer graph (--out).

    nice -n 10 /usr/bin/python3 -m train.qat models/default.svxm \
        --out train/runs/qat/default-both.svxm --steps 1500 > train/runs/qat/log.txt

Uses the feature cache train/cache/ (train.data.build_datasets). One thread.
"""
import argparse
import copy
import glob
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import export_int, intq, svxmodel
from .model import text_to_ids

SCORE_FRAC = export_int.SCORE_FRAC
GRU_OUT_FRAC = export_int.GRU_OUT_FRAC


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.floor(x + 0.5)

    @staticmethod
    def backward(ctx, g):
        return g


def fake_quant(x, frac, lo=-127, hi=127):
    """int8 (or int16 with lo/hi) fake quantisation at frac fractional bits:
    floor(x 2^f + 1/2) clamped, back to float; straight-through gradient inside
    the range, zero outside it."""
    s = 2.0 ** frac
    return torch.clamp(_RoundSTE.apply(x * s), lo, hi) / s


def fake_quant_rows(w):
    """Rule 3b: per-row alpha = max|w|/127, q = floor(w/alpha + 1/2)."""
    alpha = w.detach().abs().amax(dim=1, keepdim=True).clamp_min(1e-12) / 127.0
    return torch.clamp(_RoundSTE.apply(w / alpha), -127, 127) * alpha


class Pwl(nn.Module):
    """Rule 5 in float: piecewise-linear sigmoid through (x_k, y_k), constant
    outside; y learnable (kept in [0, 1])."""

    def __init__(self, xs_q12, ys_q12):
        super().__init__()
        self.register_buffer("x", torch.tensor(xs_q12, dtype=torch.float32) / 4096.0)
        self.y = nn.Parameter(torch.tensor(ys_q12, dtype=torch.float32) / 4096.0)

    def forward(self, v):
        y = self.y.clamp(0.0, 1.0)
        x = self.x
        slope = (y[1:] - y[:-1]) / (x[1:] - x[:-1])
        vc = torch.clamp(v, x[0], x[-1])
        k = torch.clamp(torch.bucketize(vc.detach(), x[1:-1], right=True), 0, len(x) - 2)
        return y[k] + slope[k] * (vc - x[k])

    def knots_q12(self):
        xs = [int(round(float(v) * 4096)) for v in self.x]
        ys = [int(math.floor(float(v) * 4096 + 0.5)) for v in self.y.detach().clamp(0, 1)]
        return xs, ys


class IntMirror(nn.Module):
    """norm -> conv1 (int8 w) -> conv2 (pow2 codes) -> GRU (pow2 codes, PWL)
    -> linear (int8 w), with fake-quantised activations (model/INTEGER.md)."""

    def __init__(self, model):
        super().__init__()
        L = {ly["name"]: ly for ly in model["layers"]}
        self.names = [ly["name"] for ly in model["layers"]]
        self.layers = model["layers"]
        norm = model["layers"][0]
        self.register_buffer("mean", torch.tensor(norm["mean"], dtype=torch.float32))
        self.register_buffer("inv_std", torch.tensor(norm["inv_std"], dtype=torch.float32))
        self.convs = []
        self.params_ = nn.ParameterDict()
        self.codes = {}
        for ly in model["layers"]:
            nm = ly["name"]
            if ly["type"] in ("conv2d", "linear"):
                w = ly["weight"]
                enc, _ = svxmodel.parse_encoding(w["encoding"])
                if enc == svxmodel.ENC_F32:
                    self.params_[nm + "_w"] = nn.Parameter(torch.tensor(w["data"], dtype=torch.float32))
                else:
                    self.register_buffer(nm + "_codes", torch.tensor(
                        intq.code_values(export_int.codes_of(w)), dtype=torch.float32))
                    self.params_[nm + "_alpha"] = nn.Parameter(torch.tensor(w["alpha"], dtype=torch.float32))
                self.params_[nm + "_b"] = nn.Parameter(torch.tensor(ly["bias"], dtype=torch.float32))
            elif ly["type"] == "gru":
                self.gru = nm
                for side in ("ih", "hh"):
                    w = ly["w_" + side]
                    self.register_buffer(nm + "_codes_" + side, torch.tensor(
                        intq.code_values(export_int.codes_of(w)), dtype=torch.float32))
                    self.params_[nm + "_alpha_" + side] = nn.Parameter(
                        torch.tensor(w["alpha"], dtype=torch.float32))
                    self.params_[nm + "_b_" + side] = nn.Parameter(
                        torch.tensor(ly["b_" + side], dtype=torch.float32))
        self.pwl = Pwl(*intq.default_sigmoid_knots())
        self.frac = {}          # layer name -> fractional bits (frozen after calibrate)
        self.quantise = True
        self.calib_rule = "p99.99"

    def weight(self, ly):
        nm = ly["name"]
        if nm + "_w" in self.params_:
            return fake_quant_rows(self.params_[nm + "_w"])
        return self.params_[nm + "_alpha"][:, None] * getattr(self, nm + "_codes")

    def _fq(self, x, nm, rec):
        if rec is not None:
            rec.setdefault(nm, []).append(x.detach().abs().flatten().numpy())
            return x
        return fake_quant(x, self.frac[nm]) if self.quantise else x

    def forward(self, feats, rec=None):
        """feats [B, T, n_mels] -> log-probabilities [B, T', V]."""
        x = (feats - self.mean) * self.inv_std
        for ly in self.layers:
            t, nm = ly["type"], ly["name"]
            if t == "norm":
                x = self._fq(x, nm, rec)
                x = x.unsqueeze(1)                              # B, 1, T, F
            elif t == "conv2d":
                w = self.weight(ly).reshape(ly["c_out"], ly["c_in"], ly["k_t"], ly["k_f"])
                xp = F.pad(x, (ly["p_f"], ly["p_f"], ly["k_t"] - 1, 0))
                x = F.conv2d(xp, w, self.params_[nm + "_b"], stride=(ly["s_t"], ly["s_f"]))
                if ly["relu"]:
                    x = F.relu(x)
                x = self._fq(x, nm, rec)
            elif t == "gru":
                B, C, T, Fq = x.shape
                x = x.permute(0, 2, 1, 3).reshape(B, T, C * Fq)
                x = self._gru(ly, x, rec)
            elif t == "linear":
                x = F.linear(x, self.weight(ly), self.params_[nm + "_b"])
                if ly["relu"]:
                    x = F.relu(x)
                if rec is None and self.quantise:
                    x = fake_quant(x, SCORE_FRAC, -32767, 32767)
        return F.log_softmax(x, dim=-1)

    def _gru(self, ly, x, rec):
        nm, H = ly["name"], ly["hidden"]
        P = self.params_
        w_ih = P[nm + "_alpha_ih"][:, None] * getattr(self, nm + "_codes_ih")
        w_hh = P[nm + "_alpha_hh"][:, None] * getattr(self, nm + "_codes_hh")
        gi_all = F.linear(x, w_ih, P[nm + "_b_ih"])             # B, T, 3H
        h = torch.zeros(x.shape[0], H)
        sig = self.pwl if self.quantise else torch.sigmoid
        outs = []
        for t in range(x.shape[1]):
            gi = gi_all[:, t]
            gh = F.linear(h, w_hh, P[nm + "_b_hh"])
            r = sig(gi[:, :H] + gh[:, :H])
            z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
            a = gi[:, 2 * H:] + r * gh[:, 2 * H:]
            n = 2.0 * sig(2.0 * a) - 1.0 if self.quantise else torch.tanh(a)
            h = (1.0 - z) * n + z * h
            if self.quantise:
                h = fake_quant(h, 12, -32767, 32767)            # Q.12 state
            outs.append(h)
        y = torch.stack(outs, 1)
        if rec is not None:
            return y
        return fake_quant(y, self.frac.get(nm, GRU_OUT_FRAC)) if self.quantise else y

    def out_lengths(self, lens):
        for ly in self.layers:
            if ly["type"] == "conv2d":
                lens = (lens - 1) // ly["s_t"] + 1
        return lens

    def calibrate(self, batches):
        rec = {}
        with torch.no_grad():
            for x in batches:
                self.forward(x, rec)
        for ly in self.layers:
            if ly["type"] in ("norm", "conv2d"):
                self.frac[ly["name"]] = export_int.frac_bits(
                    export_int.calib_range(rec[ly["name"]], self.calib_rule))
        self.frac[self.gru] = GRU_OUT_FRAC
        return dict(self.frac)

    def to_model(self, model):
        """A copy of the read_model() dict with the fine-tuned float parameters."""
        m = copy.deepcopy(model)
        P = self.params_
        for ly in m["layers"]:
            nm = ly["name"]
            if ly["type"] in ("conv2d", "linear"):
                if nm + "_w" in P:
                    ly["weight"]["data"] = P[nm + "_w"].detach().numpy().astype(np.float32)
                else:
                    ly["weight"]["alpha"] = P[nm + "_alpha"].detach().numpy().astype(np.float32)
                ly["bias"] = P[nm + "_b"].detach().numpy().astype(np.float32)
            elif ly["type"] == "gru":
                for side in ("ih", "hh"):
                    ly["w_" + side]["alpha"] = P[nm + "_alpha_" + side].detach().numpy().astype(np.float32)
                    ly["b_" + side] = P[nm + "_b_" + side].detach().numpy().astype(np.float32)
        return m


def _collate(items):
    T = max(len(it["feats"]) for it in items)
    x = torch.zeros(len(items), T, items[0]["feats"].shape[1])
    lens, tg, tlen = [], [], []
    for i, it in enumerate(items):
        f = torch.from_numpy(np.asarray(it["feats"], dtype=np.float32))
        x[i, :len(f)] = f
        if len(f) < T:
            x[i, len(f):] = f[-1]
        lens.append(len(f))
        ids = text_to_ids(it["text"])
        tg.extend(ids)
        tlen.append(len(ids))
    return x, torch.tensor(lens), torch.tensor(tg, dtype=torch.long), torch.tensor(tlen)


def _load_train(cache):
    from .data import FeatureSet
    paths = sorted(glob.glob(os.path.join(cache, "feats-*-train.npz")))
    if not paths:
        raise SystemExit("no feature cache in %s: run train.data.build_datasets(%r, seed=1)"
                         % (cache, cache))
    ds = FeatureSet.load(paths[-1])
    keep = [i for i, t in enumerate(ds.texts) if t is not None]
    return ds, keep


def main(argv=None):
    ap = argparse.ArgumentParser(description="quantisation-aware fine-tuning of the integer graph "
                                 "(activations at int8 scales, PWL knots), then export")
    ap.add_argument("model", help="float-activation DenseShift model (.svxm)")
    ap.add_argument("--out", required=True, help="model file to write (float + integer graphs)")
    ap.add_argument("--cache", default="train/cache")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--knot-lr", type=float, default=3e-4)
    ap.add_argument("--calib-batches", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--int-only", action="store_true", help="write only the integer graph")
    ap.add_argument("--calib-rule", choices=["p99.99", "max"], default="p99.99")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    t0 = time.time()

    model = svxmodel.read_model(a.model)
    model["layers"] = export_int.float_layers_of(model)
    ds, keep = _load_train(a.cache)
    print("train items with transcripts: %d" % len(keep), flush=True)

    def batch():
        idx = rng.choice(keep, a.batch, replace=False)
        return _collate([ds[int(i)] for i in idx])

    net = IntMirror(model)
    net.calib_rule = a.calib_rule
    frac = net.calibrate([batch()[0] for _ in range(a.calib_batches)])
    print("fractional bits (frozen):", frac, flush=True)
    knot_params = [net.pwl.y]
    others = [p for p in net.parameters() if p is not net.pwl.y]
    opt = torch.optim.Adam([{"params": others, "lr": a.lr}, {"params": knot_params, "lr": a.knot_lr}])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, a.steps) / a.steps)))
    run = 0.0
    for step in range(1, a.steps + 1):
        x, lens, tg, tlen = batch()
        logp = net(x)
        loss = F.ctc_loss(logp.transpose(0, 1), tg, net.out_lengths(lens), tlen, blank=0,
                          reduction="mean", zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        sched.step()
        run = loss.item() if step == 1 else 0.98 * run + 0.02 * loss.item()
        if step % 50 == 0 or step == 1:
            print("step %d/%d  ctc %.4f (avg %.4f)  %.0f s" % (step, a.steps, loss.item(), run,
                                                               time.time() - t0), flush=True)
    knots = net.pwl.knots_q12()
    print("learned knots y (Q.12):", knots[1], flush=True)
    tuned = net.to_model(model)
    il = export_int.convert(tuned, [], frac=frac, knots=knots)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    meta = {"integer": {"qat": {"steps": a.steps, "batch": a.batch, "lr": a.lr, "knot_lr": a.knot_lr,
                                "seed": a.seed, "codes": "fixed (alphas, biases, f32 layers tuned)",
                                "frac_bits": frac}}}
    n = export_int.write(a.out, model, il, both=not a.int_only, meta_extra=meta)
    print("wrote %s (%d bytes), %.0f s" % (a.out, n, time.time() - t0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
