"""Log-mel features through the C front end (libshiftvox via ctypes).

Training must see exactly the features the engine computes, so this module
never re-implements the front end: it calls svx_features_compute() from
libshiftvox.so. The library is found, in order, at $SVX_LIB, at
build/libshiftvox.so (built with `make build/libshiftvox.so` when missing).

    fe = Frontend()                      # default parameters (40 mels, 10 ms hop)
    feats = fe.compute(pcm)              # float32 [n_frames, n_mels]
    fe.params_dict()                     # what travels inside the model file
"""
import ctypes
import os
import subprocess
import threading

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class FrontendParams(ctypes.Structure):
    """Mirror of svx_frontend_params in include/shiftvox.h (field order and
    types must match it exactly)."""
    _fields_ = [
        ("sample_rate_hz", ctypes.c_int32),
        ("win_length", ctypes.c_int32),
        ("hop_length", ctypes.c_int32),
        ("n_fft", ctypes.c_int32),
        ("n_mels", ctypes.c_int32),
        ("fmin_hz", ctypes.c_float),
        ("fmax_hz", ctypes.c_float),
        ("log_floor", ctypes.c_float),
        ("window", ctypes.c_int32),
        ("mel_scale", ctypes.c_int32),
    ]

    def as_dict(self):
        return {name: getattr(self, name) for name, _ in self._fields_}


_lib = None
_lib_lock = threading.Lock()


def library_path():
    env = os.environ.get("SVX_LIB")
    if env:
        return env
    return os.path.join(REPO, "build", "libshiftvox.so")


def load_library():
    """Loads (building if needed) libshiftvox.so and declares the prototypes."""
    global _lib
    with _lib_lock:
        if _lib is not None:
            return _lib
        path = library_path()
        if not os.path.exists(path):
            if os.environ.get("SVX_LIB"):
                raise FileNotFoundError("SVX_LIB=%s does not exist" % path)
            subprocess.run(["make", "-C", REPO, "build/libshiftvox.so"], check=True,
                           stdout=subprocess.DEVNULL)
        lib = ctypes.CDLL(path)
        P = ctypes.POINTER(FrontendParams)
        fp = ctypes.POINTER(ctypes.c_float)
        lib.svx_frontend_params_default.argtypes = [P]
        lib.svx_frontend_params_default.restype = None
        lib.svx_frontend_params_check.argtypes = [P]
        lib.svx_frontend_params_check.restype = ctypes.c_int
        lib.svx_frontend_n_frames.argtypes = [P, ctypes.c_size_t]
        lib.svx_frontend_n_frames.restype = ctypes.c_size_t
        lib.svx_features_compute.argtypes = [P, fp, ctypes.c_size_t, fp, ctypes.c_size_t]
        lib.svx_features_compute.restype = ctypes.c_int
        lib.svx_last_error_message.argtypes = []
        lib.svx_last_error_message.restype = ctypes.c_char_p
        lib.svx_strerror.argtypes = [ctypes.c_int]
        lib.svx_strerror.restype = ctypes.c_char_p
        _lib = lib
        return lib


def default_params():
    p = FrontendParams()
    load_library().svx_frontend_params_default(ctypes.byref(p))
    return p


class Frontend:
    """Whole-signal log-mel features from the C front end. `overrides` may
    change any field of the defaults (checked by svx_frontend_params_check)."""

    def __init__(self, **overrides):
        self.lib = load_library()
        self.params = default_params()
        for k, v in overrides.items():
            if k not in dict(FrontendParams._fields_):
                raise KeyError("unknown front-end parameter %r" % k)
            setattr(self.params, k, v)
        rc = self.lib.svx_frontend_params_check(ctypes.byref(self.params))
        if rc < 0:
            raise ValueError(self._error(rc))

    @property
    def sample_rate(self):
        return self.params.sample_rate_hz

    @property
    def n_mels(self):
        return self.params.n_mels

    def params_dict(self):
        return self.params.as_dict()

    def n_frames(self, n_samples):
        return int(self.lib.svx_frontend_n_frames(ctypes.byref(self.params), n_samples))

    def _error(self, rc):
        msg = self.lib.svx_last_error_message().decode("utf-8", "replace")
        return "%s: %s" % (self.lib.svx_strerror(rc).decode(), msg)

    def compute(self, pcm):
        """pcm: 1-D float array in [-1, 1] at sample_rate. Returns float32
        [n_frames, n_mels]; n_frames = 1 + (len - win) // hop (98 for 1 s)."""
        x = np.ascontiguousarray(pcm, dtype=np.float32)
        if x.ndim != 1:
            raise ValueError("pcm must be 1-D, got shape %s" % (x.shape,))
        n = self.n_frames(x.size)
        out = np.empty((n, self.params.n_mels), dtype=np.float32)
        if n == 0:
            return out
        fp = ctypes.POINTER(ctypes.c_float)
        rc = self.lib.svx_features_compute(ctypes.byref(self.params), x.ctypes.data_as(fp), x.size,
                                           out.ctypes.data_as(fp), n)
        if rc < 0:
            raise ValueError(self._error(rc))
        if rc != n:
            raise RuntimeError("front end wrote %d frames, expected %d" % (rc, n))
        return out
