"""Whole-model bit-exact parity of the integer path: models/default.svxm
converted by train/export_int.py and written as an SVXM 1.1 file
(train/svxmodel.py), loaded by the C engine (model/model_file.c) and run frame
by frame by its integer runner (model/int_runner.c, through
svx_model_state_push_scores), must give the same int16 scores on every frame as
the Python integer reference (export_int.int_forward, train/intq.py).  Also:
the file round-trips through the Python reader, the C engine picks the path
from the file (integer-only file -> integer, both forms -> float unless
force_integer) and refuses force_integer on a float-only file.  Clips:
synthetic log-mel-like frames always, plus real dev clips of the data set when
../shared/data is present."""
import ctypes
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from train import export_int, intq, svxmodel  # noqa: E402

MANIFEST = os.path.join(ROOT, "..", "shared", "data", "speech_commands", "manifest.tsv")


class Opts(ctypes.Structure):
    _fields_ = [("kernel", ctypes.c_int), ("force_integer", ctypes.c_int)]


def _lib():
    path = os.environ.get("SVX_LIB") or os.path.join(ROOT, "build", "libshiftvox.so")
    if not os.path.exists(path):
        pytest.skip("libshiftvox.so not built (%s)" % path)
    lib = ctypes.CDLL(path)
    if not hasattr(lib, "svx_model_state_push_scores"):
        pytest.skip("this libshiftvox.so has no integer runner")
    vp = ctypes.c_void_p
    lib.svx_model_load_ex.argtypes = [ctypes.c_char_p, ctypes.POINTER(Opts), ctypes.POINTER(vp)]
    lib.svx_model_state_create.argtypes = [vp, ctypes.POINTER(vp)]
    lib.svx_model_state_push_scores.argtypes = [vp, ctypes.POINTER(ctypes.c_float),
                                                ctypes.POINTER(ctypes.c_int16)]
    lib.svx_model_state_reset.argtypes = [vp]
    lib.svx_model_state_reset.restype = None
    lib.svx_model_state_destroy.argtypes = [vp]
    lib.svx_model_state_destroy.restype = None
    lib.svx_model_destroy.argtypes = [vp]
    lib.svx_model_destroy.restype = None
    lib.svx_model_is_integer.argtypes = [vp]
    lib.svx_model_forms.argtypes = [vp]
    return lib


def _load(lib, path, force_integer=0):
    m = ctypes.c_void_p()
    rc = lib.svx_model_load_ex(path.encode(), ctypes.byref(Opts(0, force_integer)), ctypes.byref(m))
    return rc, m


def _c_scores(lib, st, n_sym, feats):
    lib.svx_model_state_reset(st)
    out = []
    row = np.zeros(n_sym, dtype=np.int16)
    for fr in np.ascontiguousarray(feats, dtype=np.float32):
        rc = lib.svx_model_state_push_scores(st, fr.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                             row.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)))
        assert rc in (0, 1)
        if rc == 1:
            out.append(row.astype(np.int64))
    return np.array(out)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    path = os.path.join(ROOT, "models", "default.svxm")
    if not os.path.exists(path):
        pytest.skip("models/default.svxm absent")
    model = svxmodel.read_model(path)
    model["layers"] = export_int.float_layers_of(model)
    rng = np.random.default_rng(3)
    mean = model["layers"][0]["mean"]
    std = 1.0 / model["layers"][0]["inv_std"]

    def clip(T):
        slow = np.cumsum(rng.normal(0, 0.3, (T, len(mean))), 0) * 0.3
        return (mean + std * (slow + rng.normal(0, 0.7, (T, len(mean))))).astype(np.float32)

    il = export_int.convert(model, [clip(60) for _ in range(3)])
    d = tmp_path_factory.mktemp("intmodel")
    both, only = str(d / "both.svxm"), str(d / "int.svxm")
    export_int.write(both, model, il, both=True)
    export_int.write(only, model, il, both=False)
    clips = [clip(T) for T in (98, 37, 150, 1)]
    if os.path.exists(MANIFEST):
        import soundfile as sf
        from train.frontend import Frontend
        fe = Frontend()
        root = os.path.dirname(MANIFEST)
        rows = [ln.rstrip("\n").split("\t") for ln in open(MANIFEST)][1:]
        dev = [r for r in rows if r[4] == "dev"][:200:40]
        for r in dev:
            pcm, _ = sf.read(os.path.join(root, r[0]), dtype="float32")
            clips.append(fe.compute(pcm if pcm.ndim == 1 else pcm[:, 0]))
    return model, il, both, only, clips


def test_file_round_trip(converted):
    model, il, both, only, _ = converted
    back = svxmodel.read_model(both)
    assert back["version"] == (1, 1)
    assert [ly["type"] for ly in back["layers"]] == \
        [ly["type"] for ly in model["layers"]] + [ly["type"] for ly in il]
    bil = export_int.int_layers_of(back)
    for a, b in zip(il, bil):
        for k, v in a.items():
            if isinstance(v, np.ndarray):
                assert np.array_equal(np.asarray(v), np.asarray(b[k])), (a["name"], k)
                assert np.asarray(b[k]).dtype == v.dtype, (a["name"], k)
            else:
                assert b[k] == v, (a["name"], k)
    assert svxmodel.read_model(only)["layers"][0]["type"] == "int_input"


def test_path_choice(converted):
    lib = _lib()
    _, _, both, only, _ = converted
    rc, m = _load(lib, both)
    assert rc == 0 and lib.svx_model_forms(m) == 3 and lib.svx_model_is_integer(m) == 0
    lib.svx_model_destroy(m)
    rc, m = _load(lib, both, 1)
    assert rc == 0 and lib.svx_model_is_integer(m) == 1
    lib.svx_model_destroy(m)
    rc, m = _load(lib, only)
    assert rc == 0 and lib.svx_model_forms(m) == 2 and lib.svx_model_is_integer(m) == 1
    lib.svx_model_destroy(m)
    rc, m = _load(lib, os.path.join(ROOT, "models", "default.svxm"), 1)
    if svxmodel.read_model(os.path.join(ROOT, "models", "default.svxm"))["version"] == (1, 0):
        assert rc == -10  # SVX_ERR_ENCODING: no integer graph to force


def test_whole_model_parity(converted):
    """C runner == Python reference on every int16 score of every clip."""
    lib = _lib()
    model, il, both, only, clips = converted
    n_sym = len(model["symbols"])
    for path in (both, only):
        rc, m = _load(lib, path, 1)
        assert rc == 0
        st = ctypes.c_void_p()
        assert lib.svx_model_state_create(m, ctypes.byref(st)) == 0
        total = 0
        for f in clips:
            py = export_int.int_forward(il, f)
            c = _c_scores(lib, st, n_sym, f)
            assert c.shape == py.shape and py.shape[0] == (len(f) - 1) // 2 + 1
            if len(py):
                first = np.argwhere(c != py)
                assert first.size == 0, "first mismatch at frame, symbol %s" % (first[0],)
            total += py.size
        # the synthetic inputs alone give 4176 scores (no ../shared/data on a
        # fresh machine); the dev clips add about 4,000 per clip
        assert total > 4000
        assert np.abs(py).max() > 50  # non-trivial scores
        lib.svx_model_state_destroy(st)
        lib.svx_model_destroy(m)
