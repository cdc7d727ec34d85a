"""Quantisers: exact encodings of model/ARCH.md and straight-through gradients."""
import os
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from train import quant  # noqa: E402


def _w(shape=(24, 40), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * 0.1


@pytest.mark.parametrize("bits", [2, 3, 4])
@pytest.mark.parametrize("from_random", [False, True])
def test_denseshift_values_are_exact_zero_free_powers_of_two(bits, from_random):
    q = quant.DenseShiftWeight(_w((24, 4, 3, 3)), bits, from_random=from_random)
    w = q().detach().double().reshape(24, -1).numpy()
    enc, codes, alpha = q.export()
    assert enc == "denseshift-%d" % bits
    assert codes.shape == w.shape and codes.max() < 2 ** bits
    assert np.all(w != 0.0)
    # value / alpha must be exactly ±2^p, p in {0 .. 2^(b-1)-1}
    r = w / alpha.astype(np.float64)[:, None]
    m, e = np.frexp(np.abs(r))
    assert np.all(m == 0.5), "not a power of two"
    p = e - 1
    assert p.min() >= 0 and p.max() <= 2 ** (bits - 1) - 1
    # the exported codes decode to exactly the forward weight (float32 alpha)
    np.testing.assert_array_equal(quant.decode(enc, codes, alpha), w)
    # every code value is reachable in principle; with from_random all appear
    if from_random:
        assert len(np.unique(codes)) == 2 ** bits


@pytest.mark.parametrize("bits", [2, 3, 4])
@pytest.mark.parametrize("kind", ["deepshift-q", "deepshift-ps"])
def test_deepshift_codes_include_zero_and_decode_exactly(kind, bits):
    w0 = _w()
    w0[0, :5] = 1e-6        # tiny weights must round to zero
    q = quant.make_weight(kind, w0, bits)
    w = q().detach().double().numpy()
    enc, codes, alpha = q.export()
    assert enc == "deepshift-%d" % bits
    field = codes & ((1 << (bits - 1)) - 1)
    assert np.any(field == 0) and np.all(w[field == 0] == 0.0)
    np.testing.assert_array_equal(quant.decode(enc, codes, alpha), w)
    nz = w != 0
    m, e = np.frexp(np.abs(w[nz] / np.broadcast_to(alpha[:, None], w.shape)[nz]))
    assert np.all(m == 0.5)
    assert (e - 1).min() >= 0 and (e - 1).max() <= 2 ** (bits - 1) - 2


def test_denseshift_init_is_nearest_power_of_two_of_float_weight():
    w0 = _w((16, 50), seed=3)
    q = quant.DenseShiftWeight(w0, 3)
    wq = q().detach()
    a = torch.exp(q.log_alpha.detach())[:, None]
    # log-domain nearest: |log2(|wq|/|w0|)| <= 1/2 unless clipped at the ends
    r = torch.log2(wq.abs() / w0.abs())
    clipped = (w0.abs() / a < 2 ** -0.5) | (w0.abs() / a > 2 ** 3.5)
    assert torch.all(r[~clipped].abs() <= 0.5 + 1e-6)
    assert torch.all(torch.sign(wq) == torch.sign(w0))
    # low variance: all latents sit close to their threshold
    assert q.sign_latent.abs().max() < 0.05 and q.exp_latent.abs().max() < 0.05


@pytest.mark.parametrize("bits", [2, 3, 4])
def test_denseshift_straight_through_reaches_every_latent(bits):
    q = quant.DenseShiftWeight(_w((8, 16)), bits)
    g = torch.Generator().manual_seed(1)
    target = torch.randn(8, 16, generator=g)
    loss = (q() * target).sum()
    loss.backward()
    assert q.sign_latent.grad is not None and q.exp_latent.grad is not None
    assert torch.all(q.sign_latent.grad != 0), "a sign latent got no gradient"
    assert q.exp_latent.grad.shape[0] == 2 ** (bits - 1) - 1
    for k in range(q.exp_latent.shape[0]):
        assert torch.all(q.exp_latent.grad[k] != 0), "thermometer bit %d got no gradient" % k
    assert torch.all(q.log_alpha.grad != 0)


def test_denseshift_exponent_is_number_of_active_bits():
    q = quant.DenseShiftWeight(torch.ones(1, 4), 3)
    with torch.no_grad():
        q.log_alpha.zero_()
        q.sign_latent.copy_(torch.tensor([[0.1, -0.1, 0.1, -0.1]]))
        # bits (k, weight): weight j has j active bits, in scrambled positions
        lat = -0.1 * torch.ones(3, 1, 4)
        lat[2, 0, 1] = 0.1
        lat[0, 0, 2] = lat[2, 0, 2] = 0.1
        lat[:, 0, 3] = 0.1
        q.exp_latent.copy_(lat)
    np.testing.assert_array_equal(q().detach().numpy(), [[1.0, -2.0, 4.0, -8.0]])
    _, codes, _ = q.export()
    np.testing.assert_array_equal(codes, [[0, 0b101, 0b010, 0b111]])


@pytest.mark.parametrize("kind", ["deepshift-q", "deepshift-ps"])
def test_deepshift_straight_through_gradients(kind):
    q = quant.make_weight(kind, _w((8, 16)), 3)
    (q() * torch.randn(8, 16)).sum().backward()
    grads = [p.grad for p in q.parameters()]
    assert grads and all(gr is not None and torch.count_nonzero(gr) > 0 for gr in grads)


def test_float_export_is_identity():
    w0 = _w((4, 2, 3, 3))
    enc, vals, alpha = quant.FloatWeight(w0).export()
    assert enc == "f32" and alpha is None
    np.testing.assert_array_equal(vals, w0.reshape(4, -1).numpy())
