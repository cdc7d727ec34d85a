"""The streaming CRNN of model/ARCH.md, in PyTorch.

    norm (per-feature mean / inv_std from the training features)
    conv2d 1 -> c1, kernel (3, 5), stride (1, 2), freq pad 2, BatchNorm, ReLU
    conv2d c1 -> c2, kernel (3, 3), stride (2, 2), freq pad 1, BatchNorm, ReLU
    gru    c2 * F2 -> hidden (unidirectional, PyTorch gate order r, z, n)
    linear hidden -> 29 symbols
    logsoftmax

Convolutions are causal in time: left padding K_t - 1, time stride S_t, so
output j sees input frames j*S_t - (K_t - 1) .. j*S_t, which is ARCH.md's
"output at input frame n = j*S_t".  A conv output [C][F] is flattened
channel-major (c*F + f) before the GRU.  BatchNorm is folded into the
convolution at export (train/export.py).

Precision choice (recorded in models/README.md): the first convolution (240
weights, sees raw features) and the output linear layer stay float32; conv2
and both GRU matrices (> 95 % of the weights) use the selected quantiser.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import quant

try:  # the data helper's symbol table, if present
    from .vocab import SYMBOLS as _SYMBOLS
except Exception:  # pragma: no cover - fallback with the same ARCH.md order
    _SYMBOLS = ["", " ", "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]

SYMBOLS = list(_SYMBOLS)
N_SYMBOLS = len(SYMBOLS)
assert N_SYMBOLS == 29 and SYMBOLS[3] == "a"
_CHAR_TO_ID = {c: i for i, c in enumerate(SYMBOLS) if i > 0}


def text_to_ids(text):
    """Lower-cased text to symbol ids (1..28); other characters dropped,
    runs of spaces collapsed, leading/trailing spaces removed."""
    t = " ".join(text.lower().split())
    return [_CHAR_TO_ID[c] for c in t if c in _CHAR_TO_ID]


def ids_to_text(ids):
    return "".join(SYMBOLS[i] for i in ids if i > 0)


def greedy_decode(logp_row):
    """CTC best path of one [T, V] tensor: collapse repeats, drop blanks."""
    best = logp_row.argmax(dim=-1).tolist()
    out, prev = [], 0
    for b in best:
        if b != prev and b != 0:
            out.append(b)
        prev = b
    return ids_to_text(out)


DEFAULT_CONFIG = {
    "n_mels": 40,
    "c1": 16, "k1": (3, 5), "s1": (1, 2), "p1": 2,
    "c2": 32, "k2": (3, 3), "s2": (2, 2), "p2": 1,
    "hidden": 128,
    "quant": "float",
    "bits": 3,
}


def _out_f(f_in, k, s, p):
    return (f_in + 2 * p - k) // s + 1


class CRNN(nn.Module):
    def __init__(self, cfg=None, **over):
        super().__init__()
        c = dict(DEFAULT_CONFIG)
        c.update(cfg or {})
        c.update(over)
        c["k1"], c["s1"] = tuple(c["k1"]), tuple(c["s1"])
        c["k2"], c["s2"] = tuple(c["k2"]), tuple(c["s2"])
        self.cfg = c
        nm = c["n_mels"]
        self.register_buffer("mean", torch.zeros(nm))
        self.register_buffer("inv_std", torch.ones(nm))
        self.f1 = _out_f(nm, c["k1"][1], c["s1"][1], c["p1"])
        self.f2 = _out_f(self.f1, c["k2"][1], c["s2"][1], c["p2"])
        self.gru_in = c["c2"] * self.f2
        H = c["hidden"]

        g = torch.Generator().manual_seed(0)

        def kaiming(shape, fan_in):
            return torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5

        def uniform(shape, bound):
            return (torch.rand(shape, generator=g) * 2 - 1) * bound

        k1, k2 = c["k1"], c["k2"]
        # Layer 1 and the output layer: float32 (recorded precision choice).
        self.conv1_w = quant.FloatWeight(kaiming((c["c1"], 1, k1[0], k1[1]), k1[0] * k1[1]))
        self.bn1 = nn.BatchNorm2d(c["c1"])
        fan2 = c["c1"] * k2[0] * k2[1]
        qk, qb = c["quant"], c["bits"]
        self.conv2_w = quant.make_weight(qk, kaiming((c["c2"], c["c1"], k2[0], k2[1]), fan2), qb)
        self.bn2 = nn.BatchNorm2d(c["c2"])
        bound = 1.0 / H ** 0.5
        self.w_ih = quant.make_weight(qk, uniform((3 * H, self.gru_in), bound), qb)
        self.w_hh = quant.make_weight(qk, uniform((3 * H, H), bound), qb)
        self.b_ih = nn.Parameter(uniform((3 * H,), bound))
        self.b_hh = nn.Parameter(uniform((3 * H,), bound))
        self.out_w = quant.FloatWeight(uniform((N_SYMBOLS, H), bound))
        self.out_b = nn.Parameter(torch.zeros(N_SYMBOLS))

    # -- helpers -------------------------------------------------------------
    @property
    def time_stride(self):
        return self.cfg["s1"][0] * self.cfg["s2"][0]

    def out_lengths(self, n_frames):
        """Output frames for input lengths (ARCH.md: floor((T-1)/S)+1 per layer)."""
        t = torch.as_tensor(n_frames)
        for s in (self.cfg["s1"][0], self.cfg["s2"][0]):
            t = torch.div(t - 1, s, rounding_mode="floor") + 1
        return t

    def n_weights(self):
        """Weights of the exported layers (matrices only, no biases/BN/norm)."""
        c = self.cfg
        H = c["hidden"]
        return (c["c1"] * c["k1"][0] * c["k1"][1]
                + c["c2"] * c["c1"] * c["k2"][0] * c["k2"][1]
                + 3 * H * self.gru_in + 3 * H * H + N_SYMBOLS * H)

    def set_norm(self, mean, std):
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.inv_std.copy_(1.0 / torch.as_tensor(std, dtype=torch.float32).clamp_min(1e-3))

    def quantizers(self):
        return {"conv2": self.conv2_w, "gru.w_ih": self.w_ih, "gru.w_hh": self.w_hh}

    # -- forward -------------------------------------------------------------
    def _conv(self, x, w, k, s, p, bn):
        x = F.pad(x, (p, p, k[0] - 1, 0))  # (f_left, f_right, t_left, t_right)
        x = F.conv2d(x, w, None, stride=s)
        return F.relu(bn(x))

    def forward(self, feats, specaug=None):
        """feats [B, T, n_mels] log-mel -> log-probabilities [B, T', 29]."""
        c = self.cfg
        x = (feats - self.mean) * self.inv_std
        if specaug is not None:
            x = specaug(x)
        x = x.unsqueeze(1)                                  # B, 1, T, F
        x = self._conv(x, self.conv1_w(), c["k1"], c["s1"], c["p1"], self.bn1)
        x = self._conv(x, self.conv2_w(), c["k2"], c["s2"], c["p2"], self.bn2)
        B, C, T, Fq = x.shape
        x = x.permute(0, 2, 1, 3).reshape(B, T, C * Fq)
        h0 = torch.zeros(1, B, c["hidden"], dtype=x.dtype)
        params = [self.w_ih(), self.w_hh(), self.b_ih, self.b_hh]
        y, _ = torch._VF.gru(x, h0, params, True, 1, 0.0, self.training, False, True)
        y = F.linear(y, self.out_w(), self.out_b)
        return F.log_softmax(y, dim=-1)


def load_checkpoint_model(path, map_location="cpu"):
    """Rebuilds the CRNN stored in a checkpoint written by train/train.py."""
    ck = torch.load(path, map_location=map_location)
    m = CRNN(ck["config"])
    m.load_state_dict(ck["model"])
    return m, ck
