"""Weight quantisers for quantisation-aware training, one per `--quant` flag.

Every quantiser is an ``nn.Module`` that owns the trainable parameters of one
weight matrix and returns, on ``forward()``, the weight tensor the layer uses
(already quantised, with straight-through gradients).  ``export()`` returns
what the model file stores, with the exact encodings of ``model/ARCH.md``:

* ``float``          -> ("f32", values [rows, cols], None)
* ``denseshift`` b   -> ("denseshift-b", codes [rows, cols] uint8, alpha [rows])
                       value = alpha[o] * s * 2^p, code = (neg << (b-1)) | p,
                       p in {0 .. 2^(b-1)-1}, never zero.
* ``deepshift-q`` b,
  ``deepshift-ps`` b -> ("deepshift-b", codes, alpha)
                       value = alpha[o] * s * 2^(k-1) for k >= 1, k = 0 is zero.

Rows are output channels (conv: C_out; the columns are c, kt, kf in that
order, i.e. ``weight.reshape(C_out, -1)``); alpha is one float32 per row.

Methods (papers cited; the code is our own):

* DenseShift — X. Li et al., "DenseShift: Towards Accurate and Efficient
  Low-Bit Power-of-Two Quantization", ICCV 2023 (arXiv:2208.09708):
  zero-free shifting (weights ±2^p, no zero); *sign-scale decomposition*:
  the sign and the power-of-two scale come from separate latent tensors, each
  binarised with a straight-through estimator, the exponent p being the
  number of active thermometer bits; *low-variance initialisation* of the
  latents.  Our reading of the last point: latents start tightly clustered
  around the binarisation threshold (|latent| = eps, small noise), so that the
  initial discrete weight reproduces the nearest zero-free power of two of the
  float weight it starts from (or a random sign/exponent), yet any bit can
  flip after a few optimiser steps.
* DeepShift-Q and DeepShift-PS — M. Elhoushi et al., "DeepShift: Towards
  Multiplication-Less Neural Networks", CVPRW 2021 (arXiv:1905.13298):
  Q rounds a latent float weight to a signed power of two (zero allowed) with
  a straight-through gradient; PS trains the shift P and the sign S directly
  (P rounded, S rounded to {-1, 0, +1}).  Here both carry a per-row alpha so
  that the result fits ARCH.md's ``deepshift-b`` encoding with non-negative
  field exponents.
"""

import torch
import torch.nn as nn

QUANT_KINDS = ("float", "denseshift", "deepshift-q", "deepshift-ps")


# Straight-through estimators are written hard + (soft - soft.detach()), so
# that the forward value is *exactly* the hard value (soft + (hard - soft) is
# not always bit-exact in floating point).


def _ste_binary(x):
    """{0, 1} = (x > 0) forward; gradient of clamp((x+1)/2, 0, 1) backward
    (identity/2 inside |x| <= 1, zero outside), the usual clipped STE."""
    hard = (x > 0).to(x.dtype)
    soft = torch.clamp((x + 1.0) * 0.5, 0.0, 1.0)
    return hard + (soft - soft.detach())


def _ste_sign(x):
    """±1 forward (0 maps to +1: zero-free); clipped identity backward."""
    hard = torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    soft = torch.clamp(x, -1.0, 1.0)
    return hard + (soft - soft.detach())


def _ste_round(x):
    return torch.round(x).detach() + (x - x.detach())


def _rows(w):
    return w.reshape(w.shape[0], -1)


def best_pow2_alpha(w, p_lo, p_hi, allow_zero):
    """Per-row alpha minimising the squared error of rounding |w|/alpha to
    2^p, p in [p_lo, p_hi] (or to zero when allow_zero), by a grid search over
    alpha = max|w_row| * 2^(-p_hi - t), t in [0, 2] (41 steps).  Returns a
    tensor [rows]."""
    r = _rows(w).detach().abs()
    amax = r.max(dim=1).values.clamp_min(1e-8)
    best_err = torch.full_like(amax, float("inf"))
    best = amax * 2.0 ** (-p_hi)
    for t in torch.linspace(0.0, 2.0, 41):
        a = amax * 2.0 ** (-p_hi - float(t))
        q = pow2_round(r / a[:, None], p_lo, p_hi, allow_zero) * a[:, None]
        err = ((q - r) ** 2).sum(dim=1)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best = torch.where(better, a, best)
    return best


def pow2_round(m, p_lo, p_hi, allow_zero):
    """Rounds non-negative magnitudes m to 2^p, p integer in [p_lo, p_hi],
    rounding in the log domain (the geometric midpoint 2^(p+1/2) is the
    boundary).  With allow_zero, m below 2^(p_lo - 1/2) becomes 0."""
    p = torch.round(torch.log2(m.clamp_min(1e-30)))
    q = 2.0 ** p.clamp(p_lo, p_hi)
    if allow_zero:
        q = torch.where(p < p_lo, torch.zeros_like(q), q)
    return q


class FloatWeight(nn.Module):
    """float32 baseline: the weight is a plain parameter."""

    kind = "float"

    def __init__(self, w_init, bits=32):
        super().__init__()
        self.bits = 32
        self.weight = nn.Parameter(w_init.detach().clone())

    def forward(self):
        return self.weight

    def export(self):
        return "f32", _rows(self.weight.detach()).float().numpy().copy(), None


class DenseShiftWeight(nn.Module):
    """Zero-free ±alpha·2^p, sign-scale decomposition with thermometer bits.

    Latents: ``sign_latent`` (shape of the weight) and ``exp_latent``
    [n_bits, *shape], n_bits = 2^(b-1) - 1.  Forward:
        s = STE-sign(sign_latent)            in {-1, +1}
        p = sum_k STE-binary(exp_latent[k])  in {0 .. n_bits}
        w = alpha[o] * s * 2^p
    alpha is a trainable per-row (output channel) parameter, kept positive
    by storing log(alpha).

    The exponent is the *number* of active bits, so the ordering of the bits
    does not matter and every bit gets a gradient d w / d bit_k = w * ln 2
    (through 2^p), whatever its current value.
    """

    kind = "denseshift"

    def __init__(self, w_init, bits=3, eps=1e-2, noise=1e-3, from_random=False):
        super().__init__()
        if bits not in (2, 3, 4):
            raise ValueError("denseshift bits must be 2, 3 or 4")
        self.bits = bits
        self.n_bits = 2 ** (bits - 1) - 1
        self.p_max = self.n_bits
        shape = w_init.shape
        w = w_init.detach().float()
        alpha = best_pow2_alpha(w, 0, self.p_max, allow_zero=False)
        self.log_alpha = nn.Parameter(torch.log(alpha))
        g = torch.Generator().manual_seed(1234 + int(w.numel()))
        if from_random:
            s_sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
            p = torch.randint(0, self.p_max + 1, shape, generator=g).float()
        else:
            ar = alpha.reshape(-1, *([1] * (len(shape) - 1)))
            s_sign = torch.where(w < 0, -1.0, 1.0)
            p = torch.log2(pow2_round(w.abs() / ar, 0, self.p_max, False))
        # Low-variance initialisation: every latent at ±eps from its threshold.
        sign_latent = s_sign * eps + noise * torch.randn(shape, generator=g)
        sign_latent = torch.where(sign_latent.sign() == s_sign, sign_latent, s_sign * eps)
        k = torch.arange(self.n_bits, dtype=torch.float32).reshape(-1, *([1] * len(shape)))
        on = (k < p.unsqueeze(0)).float() * 2 - 1          # thermometer: first p bits on
        exp_latent = on * eps + noise * torch.randn((self.n_bits,) + tuple(shape), generator=g)
        exp_latent = torch.where(exp_latent.sign() == on, exp_latent, on * eps)
        self.sign_latent = nn.Parameter(sign_latent)
        self.exp_latent = nn.Parameter(exp_latent)

    def _parts(self):
        s = _ste_sign(self.sign_latent)
        p = _ste_binary(self.exp_latent).sum(dim=0)
        return s, p

    def forward(self):
        s, p = self._parts()
        alpha = torch.exp(self.log_alpha).reshape(-1, *([1] * (s.dim() - 1)))
        return alpha * s * torch.pow(2.0, p)

    @torch.no_grad()
    def codes(self):
        neg = (self.sign_latent < 0).to(torch.int64)
        p = (self.exp_latent > 0).to(torch.int64).sum(dim=0)
        return (neg << (self.bits - 1)) | p

    def export(self):
        c = _rows(self.codes()).numpy().astype("uint8")
        alpha = torch.exp(self.log_alpha.detach()).float().numpy().copy()
        return "denseshift-%d" % self.bits, c, alpha


class DeepShiftQWeight(nn.Module):
    """DeepShift-Q: a float latent weight rounded to ±alpha·2^(k-1) or 0.

    alpha per row is fixed at initialisation (best fit of the initial weight);
    k - 1 in {0 .. 2^(b-1) - 2}; magnitudes below alpha·2^(-1/2) round to zero.
    Straight-through: d w_q / d w = 1."""

    kind = "deepshift-q"

    def __init__(self, w_init, bits=3):
        super().__init__()
        if bits not in (2, 3, 4):
            raise ValueError("deepshift bits must be 2, 3 or 4")
        self.bits = bits
        self.p_max = 2 ** (bits - 1) - 2
        w = w_init.detach().float()
        self.weight = nn.Parameter(w.clone())
        self.register_buffer("alpha", best_pow2_alpha(w, 0, self.p_max, allow_zero=True))

    def _q(self, w):
        a = self.alpha.reshape(-1, *([1] * (w.dim() - 1)))
        return torch.sign(w) * pow2_round(w.abs() / a, 0, self.p_max, True) * a

    def forward(self):
        w = self.weight
        return self._q(w).detach() + (w - w.detach())

    @torch.no_grad()
    def codes(self):
        w = self.weight
        a = self.alpha.reshape(-1, *([1] * (w.dim() - 1)))
        m = pow2_round(w.abs() / a, 0, self.p_max, True)
        k = torch.where(m > 0, torch.log2(m.clamp_min(1e-30)).round() + 1, torch.zeros_like(m))
        k = k.to(torch.int64)
        neg = ((w < 0) & (k > 0)).to(torch.int64)
        return (neg << (self.bits - 1)) | k

    def export(self):
        return ("deepshift-%d" % self.bits, _rows(self.codes()).numpy().astype("uint8"),
                self.alpha.float().numpy().copy())


class DeepShiftPSWeight(nn.Module):
    """DeepShift-PS: trains the shift P and the sign S directly.

    w = alpha[o] * round(clamp(S, -1, 1)) * 2^round(clamp(P, 0, p_max)),
    both roundings straight-through; S rounds to {-1, 0, +1} (zero allowed).
    Initialised from a float weight by its nearest deepshift value."""

    kind = "deepshift-ps"

    def __init__(self, w_init, bits=3):
        super().__init__()
        if bits not in (2, 3, 4):
            raise ValueError("deepshift bits must be 2, 3 or 4")
        self.bits = bits
        self.p_max = 2 ** (bits - 1) - 2
        w = w_init.detach().float()
        alpha = best_pow2_alpha(w, 0, self.p_max, allow_zero=True)
        self.register_buffer("alpha", alpha)
        a = alpha.reshape(-1, *([1] * (w.dim() - 1)))
        m = pow2_round(w.abs() / a, 0, self.p_max, True)
        sign = torch.where(m > 0, torch.sign(w), torch.zeros_like(w))
        # Keep the latents near the middle of their rounding cells, so the
        # first steps reproduce the rounded float weight.
        self.shift = nn.Parameter(torch.log2(m.clamp_min(1.0)))
        self.sign = nn.Parameter(sign * 0.75)

    def _parts(self):
        s = _ste_round(torch.clamp(self.sign, -1.0, 1.0))
        p = _ste_round(torch.clamp(self.shift, 0.0, float(self.p_max)))
        return s, p

    def forward(self):
        s, p = self._parts()
        a = self.alpha.reshape(-1, *([1] * (s.dim() - 1)))
        return a * s * torch.pow(2.0, p)

    @torch.no_grad()
    def codes(self):
        s = torch.round(torch.clamp(self.sign, -1.0, 1.0)).to(torch.int64)
        p = torch.round(torch.clamp(self.shift, 0.0, float(self.p_max))).to(torch.int64)
        k = torch.where(s != 0, p + 1, torch.zeros_like(p))
        neg = (s < 0).to(torch.int64)
        return (neg << (self.bits - 1)) | k

    def export(self):
        return ("deepshift-%d" % self.bits, _rows(self.codes()).numpy().astype("uint8"),
                self.alpha.float().numpy().copy())


def make_weight(kind, w_init, bits=3, **kw):
    """The quantiser named by `--quant` (see QUANT_KINDS) for an initial weight."""
    if kind == "float":
        return FloatWeight(w_init)
    if kind == "denseshift":
        return DenseShiftWeight(w_init, bits, **kw)
    if kind == "deepshift-q":
        return DeepShiftQWeight(w_init, bits)
    if kind == "deepshift-ps":
        return DeepShiftPSWeight(w_init, bits)
    raise ValueError("unknown quantiser %r (choose from %s)" % (kind, ", ".join(QUANT_KINDS)))


def decode(encoding, codes, alpha):
    """Dequantises exported codes exactly as model/ARCH.md defines them
    (numpy in, numpy float64 out); the reference the tests and the exporter
    use."""
    import numpy as np
    if encoding == "f32":
        return np.asarray(codes, dtype=np.float64)
    name, b = encoding.rsplit("-", 1)
    b = int(b)
    c = np.asarray(codes, dtype=np.int64)
    neg = (c >> (b - 1)) & 1
    field = c & ((1 << (b - 1)) - 1)
    s = np.where(neg == 1, -1.0, 1.0)
    a = np.asarray(alpha, dtype=np.float64)[:, None]
    if name == "denseshift":
        return a * s * np.ldexp(1.0, field)
    if name == "deepshift":
        return np.where(field == 0, 0.0, a * s * np.ldexp(1.0, np.maximum(field - 1, 0)))
    raise ValueError("unknown encoding %r" % encoding)


def bits_of(encoding):
    return 32 if encoding == "f32" else int(encoding.rsplit("-", 1)[1])

