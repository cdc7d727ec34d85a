#!/usr/bin/python3
"""Writes tests/data/models/det_int.svxm: a small integer graph (model/FORMAT.md
1.1) whose numbers come from formulas; tests/test_model_file.c rebuilds it
with svx_model_serialize and requires identical bytes (C writer == Python
writer for the int8/int32 encodings and layer types 16..19).

    /usr/bin/python3 tests/data/models/make_int_golden.py   (from the repository root)
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
from train import intq, svxmodel  # noqa: E402
from make_golden import FRONTEND, SYMBOLS  # noqa: E402


def det(n, mul, mod, off):
    return (np.arange(n) * mul) % mod - off


def layers():
    i32 = lambda v: np.asarray(v, dtype=np.int32)  # noqa: E731
    i8 = lambda v, r, c: np.asarray(v, dtype=np.int8).reshape(r, c)  # noqa: E731
    xs, ys = intq.default_sigmoid_knots()
    return [
        {"type": "int_input", "name": "in", "n": 8, "frac_bits": 5,
         "mean": (0.25 * np.arange(8) - 1).astype(np.float32), "inv_std": np.full(8, 0.5, np.float32)},
        {"type": "int_conv2d", "name": "conv", "c_in": 1, "f_in": 8, "c_out": 2, "f_out": 8, "k_t": 2,
         "k_f": 3, "s_t": 1, "s_f": 1, "p_f": 1, "relu": 1, "w_kind": 1,
         "weight": i8(det(12, 37, 255, 127), 2, 6), "m": i32(16384 + 1000 * np.arange(2)),
         "k": i32([20, 20]), "b": i32(5 * np.arange(2) - 3)},
        {"type": "int_gru", "name": "gru", "input": 16, "hidden": 4, "out_frac": 7,
         "w_ih": i8(det(192, 7, 9, 4), 12, 16), "w_hh": i8(det(48, 5, 9, 4), 12, 4),
         "m_ih": i32(20000 + np.arange(12)), "k_ih": i32(np.full(12, 14)),
         "b_ih": i32(100 * np.arange(12) - 600), "m_hh": i32(18000 + np.arange(12)),
         "k_hh": i32(np.full(12, 19)), "b_hh": i32(50 - 10 * np.arange(12)),
         "knots": i32([xs, ys])},
        {"type": "int_linear", "name": "out", "in": 4, "out": 29, "relu": 0, "w_kind": 0, "out_frac": 8,
         "weight": i8(det(116, 3, 7, 3), 29, 4), "m": i32(17000 + 3 * np.arange(29)),
         "k": i32(np.full(29, 18)), "b": i32(7 * np.arange(29) - 100)},
    ]


def main():
    path = os.path.join(HERE, "det_int.svxm")
    svxmodel.write_model(path, dict(FRONTEND, n_mels=8), SYMBOLS, layers(), meta={"test": "det_int"})
    print("%s: %d bytes (byte-compared with the C writer)" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
