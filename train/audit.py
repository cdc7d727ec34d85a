"""Checks Speech Commands clips for missing or cut words, by their levels.

    /usr/bin/python3 -m train.audit --out train/runs/audit [--model models/default.svxm]

For every clip of the training set (the train split and the dev speakers
trained on, train.data.split_clips) and of the held-out dev set, the level of
each 10 ms frame (mean square, dB re full scale) gives:

  quiet      the loudest frame is under QUIET_DB: nothing audible (a word
             recorded this quietly is below the noise of any real microphone)
  flat       the loudest frame is less than FLAT_DB over the clip's own floor
             (10th percentile of the frames): no event stands out of the noise
  cut_start  a frame of the first EDGE_FRAMES is within EDGE_DB of the loudest
  cut_end    the same at the end: the word (or a noise) runs past the edge
             (neither for a flat clip)
  short      under 1 s (Speech Commands pads nothing: the recording stopped)
  unreadable the file could not be read (the message is kept)

Writes OUT/audit.tsv (one row per clip), OUT/exclude.txt (the training clips
with any of --exclude-flags, default quiet, flat and unreadable: clips with no
audible word, whose transcript would teach the model to hear words in noise;
train --exclude-clips reads it) and OUT/summary.json (counts per split and
flag). With --model, `shiftvox eval` scores the training clips too
(OUT/train-manifest.tsv, OUT/eval-train.json) and the summary gives the
model's error rate on the clips with each flag: a flag that marks bad
clips has a far higher error rate than the unflagged ones.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

from . import augment, data, sc_layout, vocab

HOP = 160                 # 10 ms at 16 kHz
QUIET_DB = -50.0          # loudest 10 ms frame, dB re full scale
FLAT_DB = 10.0            # loudest frame over the clip's 10th-percentile frame
EDGE_FRAMES = 3           # 30 ms at each end
EDGE_DB = 3.0             # an edge frame this close to the loudest: cut
FULL_SECONDS = 1.0 - 1.0 / 1000
FLAGS = ("quiet", "flat", "cut_start", "cut_end", "short", "unreadable")
DEFAULT_EXCLUDE = ("quiet", "flat", "unreadable")


def frame_levels(x, hop=HOP):
    """dB re full scale of the mean square of each whole hop-sample frame
    (a floor of -100 dB for digital silence)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size // hop
    if n == 0:
        return np.zeros(0)
    f = x[:n * hop].reshape(n, hop)
    return 10.0 * np.log10(np.mean(f * f, axis=1) + 1e-10)


def clip_flags(x, sr=augment.SR):
    """(flags, peak_db, floor_db) of one clip's samples."""
    lv = frame_levels(x)
    if lv.size == 0:
        return ["quiet", "flat", "short"], -100.0, -100.0
    peak, floor = float(lv.max()), float(np.percentile(lv, 10))
    flags = []
    if peak < QUIET_DB:
        flags.append("quiet")
    if peak - floor < FLAT_DB:
        flags.append("flat")            # no event, so nothing to be cut
    else:
        if lv[:EDGE_FRAMES].max() > peak - EDGE_DB:
            flags.append("cut_start")
        if lv[-EDGE_FRAMES:].max() > peak - EDGE_DB:
            flags.append("cut_end")
    if x.size < FULL_SECONDS * sr:
        flags.append("short")
    return flags, peak, floor


def audit_clips(clips, root):
    """One row per clip: path (relative to root), label12, word, speaker,
    set, seconds, peak_db, floor_db, flags (list), error (unreadable only)."""
    rows = []
    for c, which in clips:
        row = {"path": os.path.relpath(c.path, root), "label12": c.label12,
               "word": c.word or "-", "speaker": c.speaker or "-", "set": which,
               "seconds": 0.0, "peak_db": None, "floor_db": None, "flags": [], "error": ""}
        try:
            x = augment.load_audio(c.path)
        except Exception as e:      # noqa: BLE001 -- hostile files: report, go on
            row["flags"], row["error"] = ["unreadable"], "%s: %s" % (c.path, e)
            rows.append(row)
            continue
        row["seconds"] = x.size / augment.SR
        row["flags"], row["peak_db"], row["floor_db"] = clip_flags(x)
        rows.append(row)
    return rows


def summarize(rows, eval_files=None, exclude_flags=DEFAULT_EXCLUDE):
    """{set: {"clips": n, flag: {"n", "share"[, "model_errors", "error_rate"]}}}
    with "any", "none" and "excluded" (any of exclude_flags) as flags too;
    eval_files: `shiftvox eval --report`'s per-file list for (some of) the
    clips, their paths relative to the same folder as the rows'."""
    by_path = {os.path.normpath(f["path"]): f for f in eval_files or ()}
    out = {}
    for r in rows:
        s = out.setdefault(r["set"], {"clips": 0})
        s["clips"] += 1
        keys = list(r["flags"]) + (["any"] if r["flags"] else ["none"])
        if set(r["flags"]) & set(exclude_flags):
            keys.append("excluded")
        f = by_path.get(os.path.normpath(r["path"]))
        for k in keys:
            e = s.setdefault(k, {"n": 0})
            e["n"] += 1
            if f is not None and f.get("status") == "ok":
                e["scored"] = e.get("scored", 0) + 1
                e["model_errors"] = e.get("model_errors", 0) + (not f["correct"])
    for s in out.values():
        for k, e in s.items():
            if k == "clips":
                continue
            e["share"] = e["n"] / s["clips"]
            if e.get("scored"):
                e["error_rate"] = e["model_errors"] / e["scored"]
    return out


def write_tsv(rows, path):
    with open(path, "w", encoding="utf-8") as f:
        f.write("path\tlabel12\tword\tspeaker\tset\tseconds\tpeak_db\tfloor_db\tflags\n")
        for r in rows:
            f.write("%s\t%s\t%s\t%s\t%s\t%.3f\t%s\t%s\t%s\n" % (
                r["path"], r["label12"], r["word"], r["speaker"], r["set"], r["seconds"],
                "-" if r["peak_db"] is None else "%.1f" % r["peak_db"],
                "-" if r["floor_db"] is None else "%.1f" % r["floor_db"],
                ",".join(r["flags"]) or "-"))


def write_exclude(rows, flags, path):
    """The training clips with any of `flags`; returns how many."""
    picked = [r for r in rows if r["set"] == "train" and set(r["flags"]) & set(flags)]
    with open(path, "w", encoding="utf-8") as f:
        f.write("# training clips with %s (python3 -m train.audit); paths relative to the "
                "Speech Commands folder\n" % " or ".join(flags))
        for r in picked:
            f.write("%s\t%s\t%s\n" % (r["path"], r["label12"], ",".join(r["flags"])))
    return len(picked)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check Speech Commands clips for missing or cut "
                                             "words (levels per 10 ms frame).")
    ap.add_argument("--data", default=data.DEFAULT_DATA_ROOT)
    ap.add_argument("--out", required=True, help="folder for audit.tsv, exclude.txt, "
                                                 "summary.json")
    ap.add_argument("--exclude-flags", default=",".join(DEFAULT_EXCLUDE),
                    help="flags that put a training clip on exclude.txt (default %(default)s)")
    ap.add_argument("--model", default=None, help="also score the training clips with this "
                    "model through shiftvox eval (SVX_BIN, default build/shiftvox)")
    a = ap.parse_args(argv)
    flags = [f for f in a.exclude_flags.split(",") if f]
    bad = [f for f in flags if f not in FLAGS]
    if bad:
        ap.error("unknown flag(s) %s (known: %s)" % (",".join(bad), ",".join(FLAGS)))
    if not os.path.isdir(a.data):
        ap.error("data root %s does not exist (see ../shared/data/README.md)" % a.data)
    sc_root = data._data_paths(a.data)[0]
    clips, _ = sc_layout.load(sc_root)
    train_clips, dev_clips, _, _ = data.split_clips(clips)
    listed = [(c, "train") for c in train_clips] + [
        (c, "dev") for c in dev_clips if c.label12 != vocab.SILENCE]
    rows = audit_clips(listed, sc_root)
    os.makedirs(a.out, exist_ok=True)
    write_tsv(rows, os.path.join(a.out, "audit.tsv"))
    n_ex = write_exclude(rows, flags, os.path.join(a.out, "exclude.txt"))
    eval_files = None
    if a.model:
        manifest = os.path.join(a.out, "train-manifest.tsv")
        with open(manifest, "w", encoding="utf-8") as f:
            f.write("path\tlabel12\tword\tsplit\n")
            for r in rows:
                if r["set"] == "train" and "unreadable" not in r["flags"]:
                    f.write("%s\t%s\t%s\ttrain\n" % (os.path.join(sc_root, r["path"]),
                                                     r["label12"], r["word"]))
        report = os.path.join(a.out, "eval-train.json")
        svx = os.environ.get("SVX_BIN", os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), "build", "shiftvox"))
        cmd = [svx, "eval", "-m", a.model, "--split", "train", "--include-trained", "-q",
               "-j", "2", "--report", report, manifest]
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("train.audit: %s failed (%d): %s" % (" ".join(cmd), r.returncode,
                                                           r.stderr.strip()[-500:]))
        with open(report, encoding="utf-8") as f:
            eval_files = [dict(e, path=os.path.relpath(e["path"], sc_root))
                          for e in json.load(f)["files"]]
    summary = summarize(rows, eval_files, flags)
    with open(os.path.join(a.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump({"exclude_flags": flags, "excluded": n_ex, "thresholds": {
            "quiet_db": QUIET_DB, "flat_db": FLAT_DB, "edge_frames": EDGE_FRAMES,
            "edge_db": EDGE_DB}, "sets": summary}, f, indent=1)
    for which, s in summary.items():
        print("%s: %d clips" % (which, s["clips"]))
        for k in FLAGS + ("any", "none", "excluded"):
            e = s.get(k)
            if not e:
                continue
            extra = (", model wrong on %.1f %%" % (100 * e["error_rate"])
                     if "error_rate" in e else "")
            print("  %-10s %5d  %5.2f %%%s" % (k, e["n"], 100 * e["share"], extra))
    print("%d training clips with %s -> %s" % (n_ex, "/".join(flags),
                                                os.path.join(a.out, "exclude.txt")))


if __name__ == "__main__":
    main()
