"""Continuous-speech test audio from the dev speakers, and its word error rate.

Writes the dev sequences of `train.data.build_dev_sequences` (the same plan
and seeds: 2-6 different Speech Commands words from dev clips only, joined
with 0.05-0.6 s pauses, background noise at 5-30 dB SNR from the held-out part
of each noise file) as 16 kHz WAV files plus a reference list, so that the
C command line can be scored on them:

    /usr/bin/python3 -m train.devseq write build/devseq --n 300
    build/shiftvox transcribe -j 2 build/devseq/*.wav > build/devseq/hyp.tsv
    /usr/bin/python3 -m train.devseq score build/devseq/refs.tsv build/devseq/hyp.tsv

`score` prints the word error rate (substitutions + deletions + insertions
over reference words, Levenshtein alignment on words), the sentence error
rate, and the commonest word confusions. The audio is never committed
(it is made from ../shared/data).
"""
import argparse
import collections
import os
import sys

import numpy as np

from . import augment, data, sc_layout


def write(out_dir, n_seq=300, seed=1, data_root=data.DEFAULT_DATA_ROOT, dev_split="dev",
          words=None, dev_train=True):
    """words: only these words (default: all 35; the plan then differs from
    build_dev_sequences'). dev_train: leave out the dev speakers the recipe
    trains on (train.data.dev_train_speaker), as build_datasets does."""
    import soundfile as sf
    sc_root, noise_files, _ = data._data_paths(data_root)
    clips, _ = sc_layout.load(sc_root)
    dev_clips = [c for c in clips if c.split == dev_split and c.text
                 and not data.dev_train_speaker(c.speaker, dev_train)]
    by_word = collections.defaultdict(list)
    for c in dev_clips:
        if words is None or c.word in words:
            by_word[c.word].append(c.path)
    # the plan and per-item seeds of build_dev_sequences
    jobs = data._plan_sequences(n_seq, seed + 1000, by_word, {}, p_real=1.0, perturb=False)
    noise = augment.NoiseBank(noise_files, part="heldout")
    os.makedirs(out_dir, exist_ok=True)
    refs = []
    for _, idx, paths, words, _ in jobs:
        rng = np.random.default_rng([seed + 1000, 5, idx])
        pcm, text = augment.make_sequence([augment.load_audio(p) for p in paths], words, rng,
                                          noise=noise)
        name = "seq%04d.wav" % idx
        sf.write(os.path.join(out_dir, name), pcm, augment.SR, subtype="PCM_16")
        refs.append((name, text))
    with open(os.path.join(out_dir, "refs.tsv"), "w") as f:
        f.write("file\ttext\n")
        for name, text in refs:
            f.write("%s\t%s\n" % (name, text))
    return len(refs)


def align(ref, hyp):
    """(substitutions, deletions, insertions, pairs) of a minimum-edit word
    alignment; pairs lists (ref word or None, hyp word or None)."""
    n, m = len(ref), len(hyp)
    d = np.zeros((n + 1, m + 1), dtype=np.int64)
    d[:, 0] = np.arange(n + 1)
    d[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]), d[i - 1, j] + 1,
                          d[i, j - 1] + 1)
    i, j, s, dl, ins, pairs = n, m, 0, 0, 0, []
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i, j] == d[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            s += ref[i - 1] != hyp[j - 1]
            pairs.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and d[i, j] == d[i - 1, j] + 1:
            dl += 1
            pairs.append((ref[i - 1], None))
            i -= 1
        else:
            ins += 1
            pairs.append((None, hyp[j - 1]))
            j -= 1
    return s, dl, ins, pairs[::-1]


def read_tsv(path, skip_header=True):
    out = {}
    with open(path) as f:
        for k, line in enumerate(f):
            parts = line.rstrip("\n").split("\t")
            if skip_header and k == 0 and parts[0] == "file":
                continue
            if parts and parts[0]:
                out[os.path.basename(parts[0])] = parts[1] if len(parts) > 1 else ""
    return out


def score(refs_path, hyp_path, show=10):
    refs = read_tsv(refs_path)
    hyps = read_tsv(hyp_path, skip_header=False)
    S = D = I = N = sent_err = missing = 0
    conf = collections.Counter()
    for name, ref in sorted(refs.items()):
        if name not in hyps:
            missing += 1
        r, h = ref.split(), hyps.get(name, "").split()
        s, dl, ins, pairs = align(r, h)
        S, D, I, N = S + s, D + dl, I + ins, N + len(r)
        sent_err += (s + dl + ins) > 0
        for a, b in pairs:
            if a != b:
                conf[(a or "-", b or "-")] += 1
    wer = (S + D + I) / max(N, 1)
    print("%d sequences, %d reference words: WER %.2f%% (%d substitutions, %d deletions, "
          "%d insertions), sentence error rate %.1f%%%s"
          % (len(refs), N, 100 * wer, S, D, I, 100.0 * sent_err / max(len(refs), 1),
             ", %d without a transcript line" % missing if missing else ""))
    if show:
        print("commonest errors (reference -> transcript): " +
              ", ".join("%s->%s %d" % (a, b, c) for (a, b), c in conf.most_common(show)))
    return wer


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m train.devseq", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write", help="write the dev sequences as WAV files + refs.tsv")
    w.add_argument("out_dir")
    w.add_argument("--n", type=int, default=300)
    w.add_argument("--seed", type=int, default=1)
    w.add_argument("--data", default=data.DEFAULT_DATA_ROOT)
    w.add_argument("--words", default=None,
                   help="comma-separated words to draw from (default: all 35 words)")
    s = sub.add_parser("score", help="word error rate of transcribe output against refs.tsv")
    s.add_argument("refs")
    s.add_argument("hyp")
    a = ap.parse_args(argv)
    if a.cmd == "write":
        n = write(a.out_dir, a.n, a.seed, a.data,
                  words=set(a.words.split(",")) if a.words else None)
        print("wrote %d sequences and refs.tsv to %s" % (n, a.out_dir))
    else:
        score(a.refs, a.hyp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
