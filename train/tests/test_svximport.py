"""Model file -> trainable CRNN (train/svximport.py).

The import is checked against the model that was exported: same
log-probabilities in eval mode, the same codes after re-quantisation, and
BatchNorm statistics equal to an independent NumPy computation of both
convolutions' output moments.  Hostile files give errors that name the file.
"""
import argparse
import os
import sys

import numpy as np
import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from train import export, quant, svximport, svxmodel  # noqa: E402
from train.tests.test_parity import tiny_model  # noqa: E402
from train.train import add_args, build_model  # noqa: E402

# float32 PyTorch before export vs float32 PyTorch after the round trip
# (BatchNorm folded then unfolded: a few float32 roundings per layer).
ROUNDTRIP_ATOL = 1e-4
# running statistics vs the float64 NumPy moments
STATS_RTOL = 1e-4


def _feats(n, seed=0, lo=30, hi=60):
    g = np.random.default_rng(seed)
    return [g.normal(0.0, 2.0, size=(int(g.integers(lo, hi)), 40)).astype(np.float32) - 5.0
            for _ in range(n)]


def _export(tmp_path, q, bits):
    m = tiny_model(q, bits)
    path = str(tmp_path / ("m-%s%d.svxm" % (q, bits)))
    export.export_model(m, path)
    return m, path


@pytest.mark.parametrize("q,bits", [("denseshift", 3), ("denseshift", 2), ("float", 3)])
def test_roundtrip_same_function_and_codes(tmp_path, q, bits):
    m, path = _export(tmp_path, q, bits)
    got = svximport.model_from_file(path, _feats(6))
    assert got.file_quant == ((q, bits) if q != "float" else ("float", 32))
    assert got.cfg["hidden"] == 40 and got.cfg["c1"] == 6 and got.cfg["c2"] == 8
    with torch.no_grad():
        for f in _feats(3, seed=1):
            x = torch.from_numpy(f)[None]
            d = (m(x) - got(x)).abs().max().item()
            assert d < ROUNDTRIP_ATOL, d
    if q == "float":
        return
    for name, qz in m.quantizers().items():
        w = dict(got.quantizers())[name]().detach()
        again = quant.make_weight(q, w, bits)
        # the file's codes, up to the sign flips BatchNorm folding made in conv2
        want = qz.codes() if name != "conv2" else None
        if want is not None:
            assert torch.equal(again.codes(), want), name
        assert torch.allclose(again(), w, rtol=1e-6, atol=0), name


def test_bn_statistics_match_numpy_moments(tmp_path):
    _, path = _export(tmp_path, "denseshift", 3)
    feats = _feats(5, seed=2)
    got = svximport.model_from_file(path, feats)
    L = [ly for ly in svxmodel.read_model(path)["layers"]
         if ly["type"] not in svxmodel.INT_TYPES]
    # independent: conv outputs from the float64 reference layer list, the
    # ReLU and bias removed again (pre-BatchNorm = conv + 0, as imported)
    outs = {1: [], 2: []}
    for f in feats:
        x = (f.astype(np.float64) - L[0]["mean"]) * L[0]["inv_std"]
        T = x.shape[0]
        a = x[None]                                          # [C=1, T, F]
        for k, ly in ((1, L[1]), (2, L[2])):
            W = export.dense(ly["weight"]).reshape(ly["c_out"], ly["c_in"], ly["k_t"], ly["k_f"])
            ap = np.pad(a, ((0, 0), (ly["k_t"] - 1, 0), (ly["p_f"], ly["p_f"])))
            T_out = (T - 1) // ly["s_t"] + 1
            y = np.zeros((ly["c_out"], T_out, ly["f_out"]))
            for j in range(T_out):
                for g in range(ly["f_out"]):
                    win = ap[:, j * ly["s_t"]:j * ly["s_t"] + ly["k_t"],
                             g * ly["s_f"]:g * ly["s_f"] + ly["k_f"]]
                    y[:, j, g] = np.tensordot(W, win, axes=([1, 2, 3], [0, 1, 2]))
            outs[k].append(y.reshape(ly["c_out"], -1))
            a = np.maximum(y + ly["bias"][:, None, None], 0.0)
            T = T_out
    for k, bn, ly in ((1, got.bn1, L[1]), (2, got.bn2, L[2])):
        y = np.concatenate(outs[k], axis=1)
        mu, var = y.mean(axis=1), y.var(axis=1)
        np.testing.assert_allclose(bn.running_mean.numpy(), mu, rtol=STATS_RTOL, atol=1e-5)
        np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=STATS_RTOL, atol=1e-5)
        np.testing.assert_allclose(bn.weight.detach().numpy(), np.sqrt(var + bn.eps),
                                   rtol=STATS_RTOL)
        np.testing.assert_allclose(bn.bias.detach().numpy(), mu + ly["bias"],
                                   rtol=STATS_RTOL, atol=1e-5)


def test_training_mode_starts_near_the_file(tmp_path):
    """With statistics from the same features, batch-statistics BatchNorm
    (training mode) gives nearly the file's function; identity statistics
    (no features) do not."""
    _, path = _export(tmp_path, "denseshift", 3)
    feats = [f[:40] for f in _feats(16, seed=3, lo=40, hi=41)]
    batch = torch.from_numpy(np.stack(feats))
    dev = {}
    for name, fl in (("measured", feats), ("identity", None)):
        m = svximport.model_from_file(path, fl)
        with torch.no_grad():
            want = m(batch)
            m.train()
            dev[name] = (m(batch) - want).abs().max().item()
    assert dev["measured"] < 1e-3, dev
    assert dev["identity"] > 10 * dev["measured"], dev


def test_init_from_model_file_keeps_codes(tmp_path):
    m, path = _export(tmp_path, "denseshift", 3)
    args = add_args(argparse.ArgumentParser()).parse_args(
        ["--quant", "denseshift", "--bits", "3", "--init-from", path])
    items = [{"feats": f} for f in _feats(8)]
    got = build_model(args, items, lambda s: None)
    assert got.cfg["hidden"] == 40
    for name in ("gru.w_ih", "gru.w_hh"):
        assert torch.equal(dict(got.quantizers())[name].codes(), dict(m.quantizers())[name].codes())


def test_hostile_files_name_the_file(tmp_path):
    _, path = _export(tmp_path, "denseshift", 3)
    buf = open(path, "rb").read()
    bad = tmp_path / "truncated.svxm"
    bad.write_bytes(buf[:len(buf) // 2])
    with pytest.raises(svximport.ModelFileError, match="truncated.svxm"):
        svximport.model_from_file(str(bad))
    # declared size and CRC right, the content cut after the header
    import struct
    import zlib
    cut = bytearray(buf[:40])
    struct.pack_into("<Q", cut, 8, len(cut) + 4)
    cut += struct.pack("<I", zlib.crc32(bytes(cut)) & 0xFFFFFFFF)
    (tmp_path / "cut.svxm").write_bytes(bytes(cut))
    with pytest.raises(svximport.ModelFileError, match="cut.svxm"):
        svximport.model_from_file(str(tmp_path / "cut.svxm"))
    with pytest.raises(svximport.ModelFileError, match="missing.svxm"):
        svximport.model_from_file(str(tmp_path / "missing.svxm"))
    # a valid file whose layers are not the CRNN's: no second convolution
    doc = svxmodel.read_model(path)
    L = [ly for ly in doc["layers"] if ly["name"] != "conv2"]
    other = tmp_path / "other.svxm"
    svxmodel.write_model(str(other), doc["frontend"], doc["symbols"], L, doc["meta"])
    with pytest.raises(svximport.ModelFileError, match="other.svxm.*layer sequence"):
        svximport.model_from_file(str(other))
