#!/usr/bin/env python3
"""Writes the hostile-input corpus of tests/data/bad/ (run from anywhere).

Every file here is broken on purpose; expected.tsv says which error code and
message fragment each one must give (tests/test_bad_corpus.c checks it, and
tests/test_cli_transcribe.c feeds the whole corpus to `shiftvox transcribe`).
Model files are cut from tests/data/models/tiny_ds3.svxm, parsed here with
the layout of model/FORMAT.md (independently of train/svxmodel.py). Files that
must not be committed (a 2 GB sparse file, a directory, an unreadable file, a
missing path) are made by the test itself: see the '@' rows of expected.tsv.
Only the standard library is used, so the corpus is reproducible anywhere.
"""
import os
import random
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
MODEL = os.path.join(ROOT, "tests", "data", "models", "tiny_ds3.svxm")


def put(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- audio
def wav(fmt_tag=1, channels=1, rate=16000, bits=16, data=b"", riff_size=None, data_size=None,
        wave=b"WAVE"):
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate, rate * block, block, bits)
    ds = len(data) if data_size is None else data_size
    body = wave + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", ds) + data
    rs = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", rs) + body


def tone_s16(n, rate=16000):
    import math
    return b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                    for i in range(n))


def audio_files():
    good = wav(data=tone_s16(1600))
    put("audio_empty.wav", b"")
    put("audio_riff_only.wav", b"RIFF")
    put("audio_header_cut_20.wav", good[:20])          # inside the 'fmt ' chunk
    put("audio_header_cut_36.wav", good[:36])          # 'fmt ' complete, no 'data' chunk
    put("audio_zero_rate.wav", wav(rate=0, data=tone_s16(160)))
    put("audio_zero_channels.wav", wav(channels=0, data=tone_s16(160)))
    put("audio_1000_channels.wav", wav(channels=1000, data=tone_s16(2000)))
    put("audio_not_wave.wav", wav(wave=b"AVI ", data=tone_s16(160)))
    put("audio_bad_format_tag.wav", wav(fmt_tag=0x1234, data=tone_s16(160)))
    put("audio_bits_0.wav", wav(bits=0, data=tone_s16(160)))
    rnd = random.Random(6)
    put("audio_random_bytes.wav", bytes(rnd.randrange(256) for _ in range(2048)))
    put("audio_text.wav", b"this is not audio, it is a text file named .wav\n" * 10)
    put("audio_flac_cut.flac", b"fLaC\x00\x00\x00\x22" + bytes(10))
    # Float samples that are not numbers: the reader must refuse them, not
    # pass them into the front end.
    f32 = lambda xs: b"".join(struct.pack("<f", x) for x in xs)
    put("audio_nan.wav", wav(fmt_tag=3, bits=32, data=f32([0.1] * 100 + [float("nan")] + [0.1] * 100)))
    put("audio_inf.wav", wav(fmt_tag=3, bits=32, data=f32([0.1] * 3000 + [float("-inf")] + [0.1] * 10)))
    # A data chunk declaring 4 GiB with 200 samples behind it: libsndfile
    # clamps to the file; the reader must return the 200 samples and stop.
    put("audio_huge_data_size.wav", wav(data=tone_s16(200), data_size=0xFFFFFFF0,
                                        riff_size=0xFFFFFFF8))
    # A model file given as audio.
    with open(MODEL, "rb") as f:
        put("audio_is_model.wav", f.read())


# ---------------------------------------------------------------- model
def le32(b, o):
    return struct.unpack_from("<I", b, o)[0]


def section_bounds(m):
    """Offsets where each section of the model file starts (FORMAT.md order),
    plus per-field offsets the corruptions below need."""
    at = {"header": 0, "frontend": 16}
    o = 16 + 40
    at["symbols"] = o
    n_sym = le32(m, o)
    o += 4
    for _ in range(n_sym):
        o += 1 + m[o]
    at["meta"] = o
    o += 4 + le32(m, o)
    at["layers"] = o
    n_layers = le32(m, o)
    o += 4
    at["layer0_type"] = o
    for _ in range(n_layers):
        o += 4
        o += 1 + m[o]
        np_ = le32(m, o)
        o += 4 + 4 * np_
        nt = le32(m, o)
        o += 4 + 4 * nt
    at["directory"] = o
    n_t = le32(m, o)
    o += 4
    tensors = []
    for _ in range(n_t):
        t = {"start": o}
        ln = m[o]
        t["name"] = m[o + 1:o + 1 + ln].decode()
        o += 1 + ln
        t["enc_at"] = o
        t["enc"], t["bits"], t["ndim"] = struct.unpack_from("<III", m, o)
        o += 12
        t["dims_at"] = o
        o += 4 * t["ndim"]
        t["offset_at"] = o
        t["offset"], t["n_bytes"] = struct.unpack_from("<QQ", m, o)
        o += 16
        tensors.append(t)
    at["data"] = o
    at["crc"] = len(m) - 4
    return at, tensors


def repair(body):
    """Sets the header's size field and appends the CRC32 of everything, so
    the corruption is seen by the section parser, not the checksum."""
    b = bytearray(body)
    total = len(b) + 4
    struct.pack_into("<Q", b, 8, total)
    return bytes(b) + struct.pack("<I", zlib.crc32(bytes(b)) & 0xFFFFFFFF)


def model_files():
    with open(MODEL, "rb") as f:
        m = f.read()
    at, tensors = section_bounds(m)
    body = m[:-4]
    # Raw truncation at every section boundary: the header's size field
    # catches it first.
    for sec in ("header", "frontend", "symbols", "meta", "layers", "directory", "data", "crc"):
        cut = at[sec]
        if sec == "header":
            cut = 3                                 # shorter than the magic
        put("model_cut_%s.svxm" % sec, m[:cut])
    # Truncation at every section boundary with size and CRC repaired: the
    # parser must notice the missing section itself.
    for sec in ("frontend", "symbols", "meta", "layers", "directory"):
        put("model_repaired_cut_%s.svxm" % sec, repair(body[:at[sec]]))
    # Header fields.
    b = bytearray(m); b[0:4] = b"GGUF"; put("model_bad_magic.svxm", bytes(b))
    b = bytearray(m); struct.pack_into("<H", b, 4, 2); put("model_version_2.svxm", bytes(b))
    b = bytearray(m); struct.pack_into("<Q", b, 8, 1 << 62); put("model_huge_size.svxm", bytes(b))
    put("model_trailing.svxm", m + b"\0" * 32)
    # Flipped bytes: the CRC catches them.
    b = bytearray(m); b[len(m) // 2] ^= 0x5A; put("model_flipped_body.svxm", bytes(b))
    b = bytearray(m); b[-1] ^= 0x01; put("model_flipped_crc.svxm", bytes(b))
    # Corrupt fields behind a valid CRC.
    b = bytearray(body); struct.pack_into("<I", b, at["symbols"], 100000)
    put("model_huge_symbols.svxm", repair(b))
    b = bytearray(body); struct.pack_into("<I", b, at["meta"], 0xFFFFFFFF)
    put("model_huge_meta.svxm", repair(b))
    b = bytearray(body); struct.pack_into("<I", b, at["layers"], 1 << 30)
    put("model_huge_layers.svxm", repair(b))
    b = bytearray(body); struct.pack_into("<I", b, at["layer0_type"], 99)
    put("model_unknown_layer.svxm", repair(b))
    b = bytearray(body); struct.pack_into("<I", b, at["frontend"], 0)      # sample rate 0
    put("model_zero_rate.svxm", repair(b))
    w = next(t for t in tensors if t["ndim"] == 2)
    b = bytearray(body); struct.pack_into("<I", b, w["enc_at"], 77)
    put("model_unknown_encoding.svxm", repair(b))
    b = bytearray(body); struct.pack_into("<Q", b, w["offset_at"] + 8, (1 << 64) - 32)
    put("model_huge_tensor_bytes.svxm", repair(b))
    b = bytearray(body); struct.pack_into("<I", b, w["dims_at"], 0x7FFFFFFF)
    put("model_huge_dim.svxm", repair(b))
    b = bytearray(body); struct.pack_into("<Q", b, w["offset_at"], w["offset"] + 4)
    put("model_misaligned.svxm", repair(b))
    b = bytearray(body); struct.pack_into("<Q", b, w["offset_at"], (1 << 64) - 32)
    put("model_offset_wraps.svxm", repair(b))
    f = next(t for t in tensors if t["enc"] == 0)
    b = bytearray(body); struct.pack_into("<f", b, f["offset"] + 4, float("nan"))
    put("model_nan_weight.svxm", repair(b))
    b = bytearray(body); struct.pack_into("<f", b, f["offset"], float("inf"))
    put("model_inf_weight.svxm", repair(b))
    put("model_empty.svxm", b"")
    with open(os.path.join(ROOT, "samples", "yes.wav"), "rb") as fh:
        put("model_is_wav.svxm", fh.read(4096))


# ---------------------------------------------------------------- keywords
def keyword_files():
    put("kw_empty.kw", b"")
    put("kw_comments_only.kw", b"# nothing here\n\n   \n# still nothing\n")
    put("kw_nul_byte.kw", b"yes\nno\0\nstop\n")
    put("kw_bad_sensitivity.kw", b"yes 0.5\nno 1.5\n")
    put("kw_overflow_sensitivity.kw", b"yes 1e999\n")
    put("kw_negative_sensitivity.kw", b"stop -0.25\n")
    # "nan" is not numeric-looking, so it is part of the phrase: accepted.
    put("kw_nan_word.kw", b"yes nan\n")
    put("kw_too_many.kw", b"".join(b"word%c%c\n" % (97 + i // 26, 97 + i % 26) for i in range(65)))
    put("kw_too_long.kw", b"a" * 64 + b"\n")
    put("kw_duplicate.kw", b"yes\nno\nYES\n")
    put("kw_no_letters.kw", b"1234\n")
    put("kw_control_char.kw", b"ye\x01s\n")
    put("kw_binary.kw", bytes(range(1, 256)) * 4)


def main():
    audio_files()
    model_files()
    keyword_files()


if __name__ == "__main__":
    sys.exit(main())
