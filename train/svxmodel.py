"""The shiftvox model file (``.svxm``), Python half: writer, reader, code packing.

The byte layout is documented in ``model/FORMAT.md`` and read by the C engine
(``model/model_file.c``); the weight semantics are those of ``model/ARCH.md``.
Dependencies: numpy, struct, json, zlib (CRC32) only.

API
---
``write_model(path, frontend, symbols, layers, meta=None) -> int`` (bytes written)
    frontend: dict with every field of ``svx_frontend_params``
        (sample_rate_hz, win_length, hop_length, n_fft, n_mels, fmin_hz,
        fmax_hz, log_floor, window, mel_scale).
    symbols: list of str, blank first ("" , " ", "'", "a" .. "z").
    layers: list of dicts, in order, each with ``type`` and ``name``:
        {"type": "norm", "n", "mean": f32[n], "inv_std": f32[n]}
        {"type": "conv2d", "c_in", "f_in", "c_out", "f_out", "k_t", "k_f",
         "s_t", "s_f", "p_f", "relu", "weight": W, "bias": f32[c_out]}
        {"type": "gru", "input", "hidden", "w_ih": W, "w_hh": W,
         "b_ih": f32[3H], "b_hh": f32[3H]}
        {"type": "linear", "in", "out", "relu", "weight": W, "bias": f32[out]}
        {"type": "logsoftmax", "n"}
    A weight W is a dict {"encoding", "data", "alpha"} (``rows``/``cols`` are
    optional and checked against ``data.shape``):
        "f32"           data float32 [rows, cols], alpha None
        "i8"            data int8 [rows, cols] in [-127, 127], alpha f32[rows]
        "denseshift-b"  data codes [rows, cols] in [0, 2^b), alpha f32[rows]
        "deepshift-b"   same, ARCH.md's deepshift rule (field 0 = zero)
    meta: optional JSON-serialisable dict stored as text (training facts).
    Integer graph (format 1.1, model/FORMAT.md; after the float layers, if any):
        {"type": "int_input", "n", "frac_bits", "mean": f32[n], "inv_std": f32[n]}
        {"type": "int_conv2d", conv2d's parameters, "w_kind" (0 codes, 1 int8),
         "weight": int8 [c_out, cols], "m", "k", "b": int32 [c_out]}
        {"type": "int_gru", "input", "hidden", "out_frac", "w_ih", "w_hh": int8
         codes, "m_ih", "k_ih", "b_ih", "m_hh", "k_hh", "b_hh": int32 [3H],
         "knots": int32 [2, n] (x row, y row; Q.12)}
        {"type": "int_linear", "in", "out", "relu", "w_kind", "out_frac",
         "weight": int8 [out, in], "m", "k", "b": int32 [out]}
    Their tensors are numpy arrays; the dtype picks the encoding (int8 -> 4,
    int32 -> 5). The file is version 1.1 when it has an integer graph, else 1.0.

``read_model(path) -> dict`` with keys version, frontend, symbols, meta,
    layers (the same dicts as written; weights' ``data`` unpacked to arrays,
    plus ``rows``/``cols``).
``pack_codes(codes, bits) -> bytes`` / ``unpack_codes(buf, bits, n) -> uint8[n]``
    ARCH.md's LSB-first bit stream: weight j occupies bits [j*b, j*b + b).
``dequantise(weight) -> float64 [rows, cols]`` ARCH.md's value rule.
"""

import json
import struct
import zlib

import numpy as np

MAGIC = b"SVXM"
VERSION_MAJOR = 1
VERSION_MINOR = 1  # 1.1: integer graph; float-only files are still written as 1.0
ALIGN = 32

FRONTEND_FIELDS = [("sample_rate_hz", "i"), ("win_length", "i"), ("hop_length", "i"),
                   ("n_fft", "i"), ("n_mels", "i"), ("fmin_hz", "f"), ("fmax_hz", "f"),
                   ("log_floor", "f"), ("window", "i"), ("mel_scale", "i")]

ENC_F32, ENC_I8, ENC_DENSESHIFT, ENC_DEEPSHIFT, ENC_INT8, ENC_INT32 = 0, 1, 2, 3, 4, 5
ENC_NAMES = {ENC_F32: "f32", ENC_I8: "i8", ENC_DENSESHIFT: "denseshift",
             ENC_DEEPSHIFT: "deepshift", ENC_INT8: "int8", ENC_INT32: "int32"}

LT_NORM, LT_CONV2D, LT_GRU, LT_LINEAR, LT_LOGSOFTMAX = 1, 2, 3, 4, 5
# type -> (id, integer parameters in file order, tensor slots in file order)
LAYER_TYPES = {
    "norm": (LT_NORM, ["n"], ["mean", "inv_std"]),
    "conv2d": (LT_CONV2D, ["c_in", "f_in", "c_out", "f_out", "k_t", "k_f", "s_t", "s_f",
                           "p_f", "relu"], ["weight", "bias"]),
    "gru": (LT_GRU, ["input", "hidden"], ["w_ih", "w_hh", "b_ih", "b_hh"]),
    "linear": (LT_LINEAR, ["in", "out", "relu"], ["weight", "bias"]),
    "logsoftmax": (LT_LOGSOFTMAX, ["n"], []),
    "int_input": (16, ["n", "frac_bits"], ["mean", "inv_std"]),
    "int_conv2d": (17, ["c_in", "f_in", "c_out", "f_out", "k_t", "k_f", "s_t", "s_f", "p_f",
                        "relu", "w_kind"], ["weight", "m", "k", "b"]),
    "int_gru": (18, ["input", "hidden", "out_frac"],
                ["w_ih", "w_hh", "m_ih", "k_ih", "b_ih", "m_hh", "k_hh", "b_hh", "knots"]),
    "int_linear": (19, ["in", "out", "relu", "w_kind", "out_frac"], ["weight", "m", "k", "b"]),
}
INT_TYPES = {"int_input", "int_conv2d", "int_gru", "int_linear"}
LAYER_BY_ID = {v[0]: k for k, v in LAYER_TYPES.items()}
MATRIX_SLOTS = {"weight", "w_ih", "w_hh"}


def parse_encoding(enc):
    """"denseshift-3" -> (ENC_DENSESHIFT, 3); "f32" -> (ENC_F32, 32); "i8" -> (ENC_I8, 8)."""
    if enc == "f32":
        return ENC_F32, 32
    if enc == "i8":
        return ENC_I8, 8
    name, _, b = enc.rpartition("-")
    if name in ("denseshift", "deepshift") and b in ("2", "3", "4"):
        return (ENC_DENSESHIFT if name == "denseshift" else ENC_DEEPSHIFT), int(b)
    raise ValueError("unknown weight encoding %r (f32, i8, denseshift-2/3/4, deepshift-2/3/4)"
                     % (enc,))


def encoding_name(enc_id, bits):
    if enc_id in (ENC_F32, ENC_I8):
        return ENC_NAMES[enc_id]
    return "%s-%d" % (ENC_NAMES[enc_id], bits)


def pack_codes(codes, bits):
    """Packs integer codes (any shape, row-major order) LSB-first, b bits each."""
    c = np.asarray(codes).reshape(-1).astype(np.int64)
    if c.size and (c.min() < 0 or c.max() >= (1 << bits)):
        raise ValueError("codes must be in [0, %d)" % (1 << bits))
    bitplanes = ((c[:, None] >> np.arange(bits)) & 1).astype(np.uint8).reshape(-1)
    return np.packbits(bitplanes, bitorder="little").tobytes()


def unpack_codes(buf, bits, n):
    """Inverse of pack_codes: the first n codes of buf as uint8."""
    raw = np.frombuffer(bytes(buf), dtype=np.uint8)
    need = (n * bits + 7) // 8
    if raw.size < need:
        raise ValueError("%d codes of %d bits need %d bytes, got %d" % (n, bits, need, raw.size))
    bitplanes = np.unpackbits(raw[:need], bitorder="little")[:n * bits].reshape(n, bits)
    return (bitplanes.astype(np.uint8) << np.arange(bits, dtype=np.uint8)).sum(1).astype(np.uint8)


def dequantise(w):
    """float64 [rows, cols] value of a weight dict (model/ARCH.md)."""
    enc, b = parse_encoding(w["encoding"])
    d = np.asarray(w["data"])
    if enc == ENC_F32:
        return d.astype(np.float64)
    a = np.asarray(w["alpha"], dtype=np.float64)[:, None]
    if enc == ENC_I8:
        return a * d.astype(np.float64)
    c = d.astype(np.int64)
    s = np.where((c >> (b - 1)) & 1, -1.0, 1.0)
    field = c & ((1 << (b - 1)) - 1)
    if enc == ENC_DENSESHIFT:
        return a * s * np.ldexp(1.0, field)
    return np.where(field == 0, 0.0, a * s * np.ldexp(1.0, np.maximum(field - 1, 0)))


def _tensor_blob(name, spec, matrix):
    """(name, enc_id, bits, dims, bytes) of one tensor."""
    if isinstance(spec, np.ndarray) and spec.dtype in (np.int8, np.int32):
        enc, bits, dt = ((ENC_INT8, 8, "<i1") if spec.dtype == np.int8 else (ENC_INT32, 32, "<i4"))
        if spec.ndim not in (1, 2):
            raise ValueError("%s: integer tensors are 1-D or 2-D, got %s" % (name, spec.shape))
        return name, enc, bits, list(spec.shape), np.ascontiguousarray(spec, dtype=dt).tobytes()
    if not matrix:
        v = np.ascontiguousarray(spec, dtype="<f4").reshape(-1)
        return name, ENC_F32, 32, [v.size], v.tobytes()
    enc, bits = parse_encoding(spec["encoding"])
    data = np.asarray(spec["data"])
    if data.ndim != 2:
        raise ValueError("%s: weight data must be 2-D [rows, cols], got %s" % (name, data.shape))
    rows, cols = data.shape
    if spec.get("rows", rows) != rows or spec.get("cols", cols) != cols:
        raise ValueError("%s: rows/cols %s x %s disagree with data shape %s"
                         % (name, spec.get("rows"), spec.get("cols"), data.shape))
    if enc == ENC_F32:
        return name, enc, bits, [rows, cols], np.ascontiguousarray(data, dtype="<f4").tobytes()
    alpha = np.ascontiguousarray(spec["alpha"], dtype="<f4").reshape(-1)
    if alpha.size != rows:
        raise ValueError("%s: alpha has %d values for %d rows" % (name, alpha.size, rows))
    if enc == ENC_I8:
        q = np.asarray(data)
        if q.size and (q.min() < -127 or q.max() > 127):
            raise ValueError("%s: i8 weights must be in [-127, 127]" % name)
        body = np.ascontiguousarray(q, dtype=np.int8).tobytes()
    else:
        body = pack_codes(data, bits)
    return name, enc, bits, [rows, cols], alpha.tobytes() + body


def _name(s):
    b = s.encode("utf-8")
    if len(b) > 63:
        raise ValueError("name %r longer than 63 bytes" % s)
    return struct.pack("<B", len(b)) + b


def model_bytes(frontend, symbols, layers, meta=None):
    """The whole file as bytes (see write_model)."""
    head = bytearray()
    for field, t in FRONTEND_FIELDS:
        head += struct.pack("<" + t, frontend[field])
    head += struct.pack("<I", len(symbols))
    for s in symbols:
        b = s.encode("utf-8")
        if len(b) > 15:
            raise ValueError("symbol %r longer than 15 bytes" % s)
        head += struct.pack("<B", len(b)) + b
    mtext = json.dumps(meta or {}, sort_keys=True, default=str).encode("utf-8")
    head += struct.pack("<I", len(mtext)) + mtext

    tensors = []
    head += struct.pack("<I", len(layers))
    for ly in layers:
        t = ly["type"]
        if t not in LAYER_TYPES:
            raise ValueError("unknown layer type %r" % t)
        tid, params, slots = LAYER_TYPES[t]
        head += struct.pack("<I", tid) + _name(ly.get("name", t))
        head += struct.pack("<I", len(params))
        for p in params:
            head += struct.pack("<i", int(ly[p]))
        head += struct.pack("<I", len(slots))
        for slot in slots:
            head += struct.pack("<I", len(tensors))
            tensors.append(_tensor_blob("%s.%s" % (ly.get("name", t), slot), ly[slot],
                                        slot in MATRIX_SLOTS and t not in INT_TYPES))

    # Directory entries have a fixed size given the names and dims, so the
    # data offsets can be computed before writing it.
    dir_size = 4 + sum(1 + len(n.encode()) + 12 + 4 * len(d) + 16 for n, _, _, d, _ in tensors)
    pos = 16 + len(head) + dir_size
    pos = -(-pos // ALIGN) * ALIGN
    offsets = []
    for _, _, _, _, blob in tensors:
        offsets.append(pos)
        pos = -(-(pos + len(blob)) // ALIGN) * ALIGN
    data_end = offsets[-1] + len(tensors[-1][4]) if tensors else pos
    file_bytes = data_end + 4

    dirb = bytearray(struct.pack("<I", len(tensors)))
    for (n, enc, bits, dims, blob), off in zip(tensors, offsets):
        dirb += _name(n) + struct.pack("<III", enc, bits, len(dims))
        dirb += struct.pack("<%dI" % len(dims), *dims)
        dirb += struct.pack("<QQ", off, len(blob))
    assert len(dirb) == dir_size

    minor = VERSION_MINOR if any(ly["type"] in INT_TYPES for ly in layers) else 0
    out = bytearray(MAGIC + struct.pack("<HHQ", VERSION_MAJOR, minor, file_bytes))
    out += head + dirb
    for (_, _, _, _, blob), off in zip(tensors, offsets):
        out += b"\0" * (off - len(out))
        out += blob
    out += b"\0" * (data_end - len(out))
    out += struct.pack("<I", zlib.crc32(bytes(out)) & 0xFFFFFFFF)
    assert len(out) == file_bytes
    return bytes(out)


def write_model(path, frontend, symbols, layers, meta=None):
    """Writes the model file; returns the number of bytes written."""
    data = model_bytes(frontend, symbols, layers, meta)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


class _Reader:
    def __init__(self, buf, pos):
        self.buf, self.pos = buf, pos

    def take(self, fmt):
        n = struct.calcsize(fmt)
        if self.pos + n > len(self.buf):
            raise ValueError("truncated at byte %d" % self.pos)
        v = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return v

    def name(self):
        (n,) = self.take("<B")
        return bytes(self.take("<%ds" % n)[0]).decode("utf-8")


def read_model(path):
    """Reads a model file written by write_model (checks magic, version, CRC)."""
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:4] != MAGIC:
        raise ValueError("bad magic %r" % buf[:4])
    major, minor, file_bytes = struct.unpack_from("<HHQ", buf, 4)
    if major > VERSION_MAJOR:
        raise ValueError("file is version %d.%d, this reader supports %d"
                         % (major, minor, VERSION_MAJOR))
    if file_bytes != len(buf):
        raise ValueError("file declares %d bytes, has %d" % (file_bytes, len(buf)))
    (crc,) = struct.unpack_from("<I", buf, len(buf) - 4)
    if zlib.crc32(buf[:-4]) & 0xFFFFFFFF != crc:
        raise ValueError("CRC32 mismatch")
    r = _Reader(buf, 16)
    fe = {}
    for field, t in FRONTEND_FIELDS:
        (fe[field],) = r.take("<" + t)
    (n_sym,) = r.take("<I")
    symbols = []
    for _ in range(n_sym):
        (n,) = r.take("<B")
        symbols.append(bytes(r.take("<%ds" % n)[0]).decode("utf-8"))
    (n_meta,) = r.take("<I")
    meta = json.loads(bytes(r.take("<%ds" % n_meta)[0]).decode("utf-8") or "{}")
    (n_layers,) = r.take("<I")
    raw_layers = []
    for _ in range(n_layers):
        (tid,) = r.take("<I")
        name = r.name()
        (n_p,) = r.take("<I")
        params = r.take("<%di" % n_p)
        (n_t,) = r.take("<I")
        tids = r.take("<%dI" % n_t)
        raw_layers.append((tid, name, params, tids))
    (n_tensors,) = r.take("<I")
    tensors = []
    for _ in range(n_tensors):
        name = r.name()
        enc, bits, ndim = r.take("<III")
        dims = r.take("<%dI" % ndim)
        off, nb = r.take("<QQ")
        tensors.append((name, enc, bits, dims, buf[off:off + nb]))

    def tensor(i, matrix):
        name, enc, bits, dims, blob = tensors[i]
        if enc in (ENC_INT8, ENC_INT32):
            dt = "<i1" if enc == ENC_INT8 else "<i4"
            return np.frombuffer(blob, dtype=dt).reshape(dims).astype(
                np.int8 if enc == ENC_INT8 else np.int32)
        if not matrix:
            return np.frombuffer(blob, dtype="<f4").astype(np.float32)
        rows, cols = dims
        w = {"encoding": encoding_name(enc, bits), "rows": rows, "cols": cols, "alpha": None}
        if enc == ENC_F32:
            w["data"] = np.frombuffer(blob, dtype="<f4").reshape(rows, cols).astype(np.float32)
            return w
        w["alpha"] = np.frombuffer(blob[:4 * rows], dtype="<f4").astype(np.float32)
        body = blob[4 * rows:]
        if enc == ENC_I8:
            w["data"] = np.frombuffer(body, dtype=np.int8).reshape(rows, cols).copy()
        else:
            w["data"] = unpack_codes(body, bits, rows * cols).reshape(rows, cols)
        return w

    layers = []
    for tid, name, params, tids in raw_layers:
        t = LAYER_BY_ID[tid]
        _, pnames, slots = LAYER_TYPES[t]
        ly = {"type": t, "name": name}
        ly.update(dict(zip(pnames, params)))
        for slot, i in zip(slots, tids):
            ly[slot] = tensor(i, slot in MATRIX_SLOTS)
        if "relu" in ly and t not in INT_TYPES:
            ly["relu"] = bool(ly["relu"])
        layers.append(ly)
    return {"version": (major, minor), "frontend": fe, "symbols": symbols, "meta": meta,
            "layers": layers}
