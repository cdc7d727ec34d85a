"""CTC training of the streaming CRNN, float32 or quantisation-aware.

    /usr/bin/python3 -m train --quant float --epochs 20 --out train/runs/float
    /usr/bin/python3 -m train --quant denseshift --bits 3 \
        --init-from train/runs/float/last.pt --out train/runs/ds3

Deterministic for a seed: torch/numpy/python seeds, 2 threads, the batch
order and every SpecAugment mask come from generators seeded by
(seed, epoch), so resuming from an epoch checkpoint replays the same next
steps.  Each epoch writes <out>/last.pt (model, optimiser, scheduler, epoch);
--resume continues from it.  A log goes to <out>/train.log.
"""

import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import quant
from .model import CRNN, load_checkpoint_model, text_to_ids
from .vocab import KEYWORDS10, UNKNOWN

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")


# ---------------------------------------------------------------------------
# logging and progress


class Log:
    def __init__(self, path=None, quiet=False):
        self.f = open(path, "a", encoding="utf-8") if path else None
        self.quiet = quiet

    def __call__(self, msg):
        line = time.strftime("%H:%M:%S ") + msg
        if self.f:
            self.f.write(line + "\n")
            self.f.flush()
        if not self.quiet:
            print(line, file=sys.stderr, flush=True)


class Progress:
    """A one-line progress bar on stderr (only when it is a terminal or
    SVX_PROGRESS=1); silent otherwise so logs stay clean."""

    def __init__(self, total, label):
        self.total, self.label, self.t0 = total, label, time.time()
        self.on = sys.stderr.isatty() or os.environ.get("SVX_PROGRESS") == "1"

    def update(self, i, loss):
        if not self.on:
            return
        frac = (i + 1) / max(1, self.total)
        bar = "#" * int(30 * frac)
        el = time.time() - self.t0
        eta = el / frac - el
        sys.stderr.write("\r%s [%-30s] %d/%d loss %.3f eta %ds " % (
            self.label, bar, i + 1, self.total, loss, eta))
        sys.stderr.flush()

    def close(self):
        if self.on:
            sys.stderr.write("\n")


# ---------------------------------------------------------------------------
# data


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(2)


def load_datasets(args, log):
    """(train_items, dev_items, info). Items are dicts with 'feats' [T, n_mels]
    float32, 'text' (None: unknown transcript, skipped by CTC), 'label12',
    'word'.  Uses the data helper's train.data.build_datasets when present."""
    try:
        from . import data as data_mod
    except ImportError:
        data_mod = None
    if data_mod is not None and hasattr(data_mod, "build_datasets"):
        log("data: train.data.build_datasets(%s)" % args.data)
        kw = {}
        import inspect
        sig = inspect.signature(data_mod.build_datasets)
        for name, val in (("data_root", args.data), ("cache_dir", args.cache), ("seed", args.seed),
                          ("quick", args.quick), ("synth", not args.no_synth),
                          ("log", log), ("real_fraction", getattr(args, "real_fraction", 1.0)),
                          ("exclude", data_mod.read_clip_list(args.exclude_clips)
                           if getattr(args, "exclude_clips", None) else None)):
            if name in sig.parameters:
                kw[name] = val
        res = data_mod.build_datasets(**kw)
        if isinstance(res, dict):
            return res["train"], res["dev"], {k: v for k, v in res.items()
                                              if k not in ("train", "dev")}
        return res[0], res[1], {}
    raise RuntimeError("train.data.build_datasets is not available; use --synthetic-data "
                       "for a smoke run")


def synthetic_items(n, n_mels=40, seed=0, words=("yes", "no", "up", "go", "")):
    """A tiny learnable set for tests: each word is a fixed random pattern of
    feature frames (one 6-frame 'formant' per character) placed in noise."""
    g = np.random.default_rng(seed)
    char_pat = {c: g.normal(0, 3, n_mels).astype(np.float32) for c in "abcdefghijklmnopqrstuvwxyz"}
    items = []
    for i in range(n):
        w = words[i % len(words)]
        T = 60
        x = g.normal(0, 1, (T, n_mels)).astype(np.float32)
        t = int(g.integers(2, 10))
        for c in w:
            x[t:t + 6] += char_pat[c]
            t += 7
        items.append({"feats": x, "text": w, "label12": w or "_silence_", "word": w or "_silence_"})
    return items


def feature_stats(items):
    s = np.zeros(items[0]["feats"].shape[1])
    s2 = np.zeros_like(s)
    n = 0
    for it in items:
        f = it["feats"].astype(np.float64)
        s += f.sum(0)
        s2 += (f * f).sum(0)
        n += f.shape[0]
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean * mean, 1e-8))
    return mean.astype(np.float32), std.astype(np.float32)


def collate(batch):
    T = max(it["feats"].shape[0] for it in batch)
    nm = batch[0]["feats"].shape[1]
    x = torch.zeros(len(batch), T, nm)
    lens, tg, tlen = [], [], []
    for i, it in enumerate(batch):
        f = torch.from_numpy(np.asarray(it["feats"], dtype=np.float32))
        x[i, :f.shape[0]] = f
        # pad with the last frame's level rather than 0 (log-mel 0 is loud)
        if f.shape[0] < T:
            x[i, f.shape[0]:] = f[-1]
        lens.append(f.shape[0])
        ids = text_to_ids(it["text"]) if it["text"] is not None else []
        tg.extend(ids)
        tlen.append(len(ids))
    return x, torch.tensor(lens), torch.tensor(tg, dtype=torch.long), torch.tensor(tlen)


class SpecAugment:
    """Time and frequency masks on normalised features (set to 0 = the
    training mean), drawn from a seeded generator (Park et al. 2019)."""

    def __init__(self, gen, n_freq=2, max_f=6, n_time=2, max_t=8):
        self.g, self.n_freq, self.max_f, self.n_time, self.max_t = gen, n_freq, max_f, n_time, max_t

    def __call__(self, x):
        B, T, Fq = x.shape
        x = x.clone()
        for b in range(B):
            for _ in range(self.n_freq):
                w = int(torch.randint(0, self.max_f + 1, (1,), generator=self.g))
                f0 = int(torch.randint(0, max(1, Fq - w), (1,), generator=self.g))
                x[b, :, f0:f0 + w] = 0
            for _ in range(self.n_time):
                w = int(torch.randint(0, self.max_t + 1, (1,), generator=self.g))
                t0 = int(torch.randint(0, max(1, T - w), (1,), generator=self.g))
                x[b, t0:t0 + w, :] = 0
        return x


def make_batches(lengths, batch, gen, pool=20):
    """Shuffled batches of similar lengths: a random permutation is cut into
    pools of pool*batch items, each pool sorted by length and cut into
    batches, and the batch order shuffled (less padding for mixed 1 s clips
    and multi-second sequences).  Deterministic for the generator."""
    order = torch.randperm(len(lengths), generator=gen).tolist()
    out = []
    for p in range(0, len(order), pool * batch):
        chunk = sorted(order[p:p + pool * batch], key=lambda j: lengths[j])
        out.extend(chunk[i:i + batch] for i in range(0, len(chunk), batch))
    perm = torch.randperm(len(out), generator=gen).tolist()
    return [out[k] for k in perm]


def time_shift(it, gen, max_shift):
    """Random shift of a clip by up to ±max_shift frames (edge frames repeated)."""
    if max_shift <= 0:
        return it
    s = int(torch.randint(-max_shift, max_shift + 1, (1,), generator=gen))
    if s == 0:
        return it
    f = it["feats"]
    if s > 0:
        f = np.concatenate([np.repeat(f[:1], s, 0), f[:-s]], 0)
    else:
        f = np.concatenate([f[-s:], np.repeat(f[-1:], -s, 0)], 0)
    d = dict(it)
    d["feats"] = f
    return d


class MelWarp:
    """Vocal tract length perturbation (Jaitly & Hinton 2013) applied to
    log-mel features: a speaker whose formants sit at alpha times the
    frequency.  The warp is VTLP's piecewise-linear one (f -> alpha f up to
    a boundary, then straight to fmax so the band edges stay put); the
    warped feature of bin i is the unwarped log-mel curve read, by linear
    interpolation between bin centres, at the mel position of w^-1(c_i)
    for the bin's centre frequency c_i.  The scale is the front end's (HTK
    mel, corners equally spaced between fmin and fmax, bin i centred on
    corner i + 1).  alpha is drawn uniformly from [1 - max_warp,
    1 + max_warp] per item from a seeded generator; p is the chance that an
    item is warped at all."""

    def __init__(self, gen, n_mels=40, fmin=20.0, fmax=7600.0, max_warp=0.1, p=0.5,
                 boundary_hz=4800.0):
        self.g, self.max_warp, self.p = gen, max_warp, p
        self.n_mels, self.fmin, self.fmax, self.boundary = n_mels, fmin, fmax, boundary_hz
        self.mlo, self.mhi = self.mel(fmin), self.mel(fmax)
        self.step = (self.mhi - self.mlo) / (n_mels + 1)
        self.centres = self.hz(self.mlo + self.step * np.arange(1, n_mels + 1))

    @staticmethod
    def mel(hz):
        return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)

    @staticmethod
    def hz(mel):
        return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)

    def warp_hz(self, f, alpha):
        """VTLP's forward warp w(f) on [fmin, fmax]: alpha f below
        boundary * min(alpha, 1) / alpha, then linear to w(fmax) = fmax."""
        f = np.asarray(f, dtype=np.float64)
        f0 = self.boundary * min(alpha, 1.0) / alpha
        hi = self.fmax - (self.fmax - self.boundary * min(alpha, 1.0)) / (self.fmax - f0) * (self.fmax - f)
        return np.where(f <= f0, alpha * f, hi)

    def positions(self, alpha):
        """Fractional bin index (0 = the first bin's centre) each output bin
        reads: the bin position of w^-1(c_i)."""
        grid = np.linspace(0.0, self.fmax, 4096)
        src = np.interp(self.centres, self.warp_hz(grid, alpha), grid)   # w is increasing
        return (self.mel(src) - self.mlo) / self.step - 1.0

    def apply(self, feats, alpha):
        f = np.asarray(feats, dtype=np.float32)
        if f.shape[1] != self.n_mels:
            raise ValueError("MelWarp: %d mel bins, built for %d" % (f.shape[1], self.n_mels))
        pos = np.clip(self.positions(alpha), 0.0, self.n_mels - 1.0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, self.n_mels - 1)
        w = (pos - lo).astype(np.float32)
        return f[:, lo] * (1.0 - w) + f[:, hi] * w

    def __call__(self, it):
        if self.max_warp <= 0 or float(torch.rand(1, generator=self.g)) >= self.p:
            return it
        alpha = 1.0 + self.max_warp * (2.0 * float(torch.rand(1, generator=self.g)) - 1.0)
        d = dict(it)
        d["feats"] = self.apply(it["feats"], alpha)
        return d


def make_melwarp(gen, n_mels, max_warp, p=0.5):
    """A MelWarp on the C front end's default mel scale (its library gives
    fmin/fmax; HTK is the only scale it has)."""
    from . import frontend
    fp = frontend.default_params()
    if fp.mel_scale != 0:
        raise ValueError("--vtlp needs the HTK mel scale, front end has %d" % fp.mel_scale)
    return MelWarp(gen, n_mels, fp.fmin_hz, fp.fmax_hz, max_warp, p)


# ---------------------------------------------------------------------------
# model construction


def build_model(args, train_items, log):
    cfg = {"quant": args.quant, "bits": args.bits, "hidden": args.hidden,
           "c1": args.c1, "c2": args.c2,
           "n_mels": train_items[0]["feats"].shape[1] if train_items else 40}
    if args.init_from:
        src = init_source(args.init_from, train_items, args.seed)
        for k in ("hidden", "c1", "c2", "n_mels"):
            cfg[k] = src.cfg[k]
        model = CRNN(src.cfg, quant=args.quant, bits=args.bits)
        model.load_state_dict(_float_state_for(src, model), strict=False)
        for name, qz in model.quantizers().items():
            w = dict(src.quantizers())[name]().detach()
            setattr(model, _attr_of(name), quant.make_weight(args.quant, w, args.bits))
        log("init from %s (its quantiser: %s)" % (args.init_from, getattr(
            src, "file_quant", (src.cfg["quant"],))[0]))
    else:
        model = CRNN(cfg)
        mean, std = feature_stats(train_items)
        model.set_norm(mean, std)
    return model


def init_source(path, train_items, seed=1, n_stats=512):
    """The model --init-from starts from: a train/train.py checkpoint, or a
    model file (.svxm, train/svximport.py), whose BatchNorm statistics are
    measured on n_stats training items drawn with seed (none given: exact in
    eval mode only)."""
    if path.endswith(".svxm"):
        from . import svximport
        g = np.random.default_rng(seed)
        n = min(n_stats, len(train_items))
        pick = g.choice(len(train_items), n, replace=False) if n else []
        return svximport.model_from_file(path, [train_items[int(i)]["feats"] for i in pick])
    return load_checkpoint_model(path)[0]


def _attr_of(name):
    return {"conv2": "conv2_w", "gru.w_ih": "w_ih", "gru.w_hh": "w_hh"}[name]


def _float_state_for(src, dst):
    """Every tensor of src that is not a quantiser's parameter (norm, BN,
    float layers, biases), for loading into dst with another quantiser."""
    q_prefixes = tuple(_attr_of(n) + "." for n in src.quantizers())
    dst_keys = set(dst.state_dict().keys())
    return {k: v for k, v in src.state_dict().items()
            if not k.startswith(q_prefixes) and k in dst_keys}


def param_groups(model, wd):
    decay, no_decay = [], []
    q_params = set()
    for qz in model.quantizers().values():
        if not isinstance(qz, quant.FloatWeight):
            q_params.update(id(p) for p in qz.parameters())
    for n, p in model.named_parameters():
        # latents of the shift quantisers, alphas, biases and BN: no decay
        # (decay would drag DenseShift latents onto their thresholds)
        if id(p) in q_params or p.dim() < 2:
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]


# ---------------------------------------------------------------------------
# training


def ctc_step(model, batch, specaug=None, word_ce=None, cand=None, weight=0.0, has_text=None):
    """CTC loss (the mean over items of each item's loss per target
    character, as F.ctc_loss's "mean") plus weight * word_ce.  has_text: a
    bool per item; items without a transcript (--unknown-ce) are left out of
    the CTC term and only enter the word term."""
    x, lens, tg, tlen = batch
    logp = model(x, specaug=specaug)                    # B, T', V
    olen = model.out_lengths(lens)
    per = F.ctc_loss(logp.transpose(0, 1), tg, olen, tlen, blank=0,
                     reduction="none", zero_infinity=True) / tlen.clamp(min=1).to(logp.dtype)
    if has_text is None:
        loss = per.mean()
    else:
        loss = (per * has_text.to(per.dtype)).sum() / has_text.sum().clamp(min=1)
    if word_ce is not None and weight > 0:
        loss = loss + weight * word_ce(logp, olen, cand)
    return loss


class WordCE:
    """A discriminative term over the closed set of the 12-class rule's
    candidates (the 35 Speech Commands words and the empty transcript): for
    each single-word item of a batch, the CTC log-likelihoods of every
    candidate are the logits of a softmax, and the loss is the cross-entropy
    of the item's own word (MMI over a closed word set).  CTC alone trains
    each item towards its own transcript, never away from the words it is
    confused with ("off" -> "up", "down" -> "no"); this term does.  Items
    whose text is not a candidate (sequences) add nothing.

    unknown=True: an `_unknown_` clip whose word is not known (text None: the
    shared data's 545 training clips of unrecorded words) has the set of the
    25 non-command words as its target: the loss is -log of the softmax mass
    of that set, which is what the 12-class rule needs (any of them means
    `_unknown_`), without naming the word.  Without it those clips add
    nothing."""

    UNKNOWN_SET = -2

    def __init__(self, unknown=False):
        from .evaluate import CANDIDATES, candidate_targets
        self.cands = list(CANDIDATES)
        self.index = {c: k for k, c in enumerate(self.cands)}
        self.tg, self.tlen = candidate_targets(self.cands)
        # fewest frames a CTC path for each candidate needs (a blank between repeats)
        self.need = torch.tensor([len(t) + sum(a == b for a, b in zip(t, t[1:]))
                                  for t in map(text_to_ids, self.cands)])
        self.unknown = unknown
        self.others = torch.tensor([c != "" and c not in KEYWORDS10 for c in self.cands])

    def targets(self, texts, labels=None):
        """A candidate index per item; -1: adds nothing; UNKNOWN_SET: an
        unknown clip without a transcript (only with unknown=True)."""
        labels = labels if labels is not None else [None] * len(texts)
        out = []
        for t, lab in zip(texts, labels):
            if t is not None:
                out.append(self.index.get(t, -1))
            elif self.unknown and lab == UNKNOWN:
                out.append(self.UNKNOWN_SET)
            else:
                out.append(-1)
        return torch.tensor(out)

    def __call__(self, logp, olen, cand):
        sel = (cand != -1).nonzero().flatten()
        if len(sel) == 0:
            return logp.sum() * 0.0
        K, b = len(self.cands), len(sel)
        lp = logp[sel].transpose(0, 1)                       # T', b, V
        x = lp.repeat_interleave(K, dim=1)                   # T', b*K, V (item-major)
        il = olen[sel].repeat_interleave(K)
        nll = F.ctc_loss(x, self.tg.repeat(b), il, self.tlen.repeat(b), blank=0,
                         reduction="none", zero_infinity=True).view(b, K)
        feasible = self.need[None, :] <= olen[sel][:, None]
        logits = torch.where(feasible, -nll, torch.full_like(nll, -1e4))
        lsm = torch.log_softmax(logits, dim=1)
        c = cand[sel]
        word = c >= 0
        own = lsm.gather(1, c.clamp(min=0)[:, None])[:, 0]
        other = torch.logsumexp(lsm.masked_fill(~self.others[None, :], -1e4), dim=1)
        # an unknown clip too short for every other word: nothing to learn
        valid = word | (feasible & self.others[None, :]).any(dim=1)
        nll_row = -torch.where(word, own, other)
        return (nll_row * valid).sum() / valid.sum().clamp(min=1)


def make_schedule(opt, total_steps, warmup):
    def f(step):
        if step < warmup:
            return (step + 1) / warmup
        p = (step - warmup) / max(1, total_steps - warmup)
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, p)))
    return torch.optim.lr_scheduler.LambdaLR(opt, f)


def save_checkpoint(path, model, opt, sched, epoch, args, history):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "config": model.cfg, "opt": opt.state_dict(),
                "sched": sched.state_dict(), "epoch": epoch, "args": vars(args),
                "history": history}, tmp)
    os.replace(tmp, path)


def train(args, train_items=None, dev_items=None, log=None):
    """Runs the recipe; returns (model, history).  train_items/dev_items may be
    given directly (tests)."""
    os.makedirs(args.out, exist_ok=True)
    log = log or Log(os.path.join(args.out, "train.log"), quiet=args.quiet)
    seed_everything(args.seed)
    if train_items is None:
        train_items, dev_items, info = load_datasets(args, log)
        log("data: %d train items, %d dev items %s" % (len(train_items), len(dev_items or []),
                                                       json.dumps(info, default=str)[:400]))
    unknown_ce = args.unknown_ce and args.word_ce > 0
    train_items = [it for it in train_items if it.get("text") is not None or
                   (unknown_ce and it.get("label12") == UNKNOWN)]
    dev_items = list(dev_items) if dev_items is not None else None
    lengths = [it["feats"].shape[0] for it in train_items]
    ckpt_path = os.path.join(args.out, "last.pt")
    resume = args.resume and os.path.exists(ckpt_path)
    if resume:
        ck = torch.load(ckpt_path, map_location="cpu")
        model = CRNN(ck["config"])
    else:
        model = build_model(args, train_items, log)
    log("model: %s, %d weights" % (json.dumps(model.cfg), model.n_weights()))
    opt = torch.optim.AdamW(param_groups(model, args.wd), lr=args.lr)
    steps_per_epoch = len(make_batches(lengths, args.batch, torch.Generator().manual_seed(0)))
    if args.max_batches:
        steps_per_epoch = min(steps_per_epoch, args.max_batches)
    sched = make_schedule(opt, args.epochs * steps_per_epoch, min(args.warmup, steps_per_epoch * 2))
    start_epoch, history = 0, []
    if resume:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        start_epoch, history = ck["epoch"] + 1, ck.get("history", [])
        log("resumed from %s after epoch %d" % (ckpt_path, ck["epoch"]))

    last_epoch = min(args.epochs, args.stop_after) if args.stop_after else args.epochs
    wce = WordCE(unknown=unknown_ce) if args.word_ce > 0 else None
    for epoch in range(start_epoch, last_epoch):
        model.train()
        g = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        batches = make_batches(lengths, args.batch, g)[:steps_per_epoch]
        sa = SpecAugment(g, max_f=args.specaug_f, max_t=args.specaug_t) if args.specaug else None
        mw = make_melwarp(g, train_items[0]["feats"].shape[1], args.vtlp) if args.vtlp > 0 else None
        bar = Progress(steps_per_epoch, "epoch %d/%d" % (epoch + 1, args.epochs))
        tot, n, t0 = 0.0, 0, time.time()
        for i, idx in enumerate(batches):
            its = [time_shift(train_items[j], g, args.shift) for j in idx]
            batch = collate([mw(it) for it in its] if mw else its)
            cand = wce.targets([train_items[j]["text"] for j in idx],
                               [train_items[j].get("label12") for j in idx]) if wce else None
            has_text = torch.tensor([train_items[j]["text"] is not None for j in idx])
            loss = ctc_step(model, batch, sa, wce, cand, args.word_ce, has_text)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            tot += float(loss) * len(idx)
            n += len(idx)
            bar.update(i, tot / n)
        bar.close()
        rec = {"epoch": epoch, "train_loss": tot / max(1, n), "seconds": time.time() - t0,
               "lr": sched.get_last_lr()[0]}
        if dev_items and not args.no_eval:
            from .evaluate import accuracy12
            rec["dev_acc12"] = accuracy12(model, dev_items)["accuracy"]
        history.append(rec)
        log("epoch %d: %s" % (epoch + 1, json.dumps(rec)))
        save_checkpoint(ckpt_path, model, opt, sched, epoch, args, history)
    return model, history


def add_args(p):
    p.add_argument("--quant", default="float", choices=quant.QUANT_KINDS)
    p.add_argument("--bits", type=int, default=3, choices=(2, 3, 4))
    p.add_argument("--out", default="train/runs/default")
    p.add_argument("--data", default=DEFAULT_DATA, help="data root (../shared/data or a "
                   "Speech Commands folder)")
    p.add_argument("--cache", default=os.path.join(REPO, "train", "cache"),
                   help="feature cache folder (train.data)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--stop-after", type=int, default=0,
                   help="stop after this many epochs of an --epochs schedule (0: run it all)")
    p.add_argument("--max-batches", type=int, default=0,
                   help="cap on batches per epoch (0: all), for budget-matched comparisons")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--wd", type=float, default=1e-2)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--c1", type=int, default=16)
    p.add_argument("--c2", type=int, default=32)
    p.add_argument("--unknown-ce", action="store_true",
                   help="with --word-ce: also train on the _unknown_ clips without a "
                   "transcript, their target being any of the 25 non-command words "
                   "(train.train.WordCE)")
    p.add_argument("--word-ce", type=float, default=0.0,
                   help="weight of the closed-set word cross-entropy (WordCE) added to CTC")
    p.add_argument("--shift", type=int, default=10, help="max time shift in frames")
    p.add_argument("--no-specaug", dest="specaug", action="store_false")
    p.add_argument("--specaug-f", type=int, default=6,
                   help="widest SpecAugment frequency mask, in mel bins (2 per item)")
    p.add_argument("--specaug-t", type=int, default=8,
                   help="widest SpecAugment time mask, in frames (2 per item)")
    p.add_argument("--vtlp", type=float, default=0.0,
                   help="vocal tract length perturbation of half the items: warp factor "
                        "drawn from [1 - VTLP, 1 + VTLP] (0: off; 0.1 is usual)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--real-fraction", type=float, default=1.0,
                   help="train on the real clips of this share of the training speakers "
                   "(a learning curve; train.data.speaker_in_fraction; default 1: all)")
    p.add_argument("--exclude-clips", default=None, metavar="FILE",
                   help="leave out the training clips listed in FILE (one path per line, "
                        "relative to the Speech Commands folder; python3 -m train.audit "
                        "writes one) with their augmented copies and sequences")
    p.add_argument("--init-from", default=None, help="checkpoint or model file (.svxm) to "
                   "start from (its float or dequantised weights initialise the quantisers)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--quick", action="store_true", help="tiny data and 1 epoch (smoke test)")
    p.add_argument("--no-synth", action="store_true")
    p.add_argument("--no-eval", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--export", default=None, help="write the model file here when done")
    return p
