"""Training and dev sets as log-mel features from the C front end, cached on disk.

    from train.data import build_datasets
    train_set, dev_set = build_datasets("train/cache", seed=1)
    item = train_set[0]
    # {"feats": float16 [T, 40], "text": "left right" | "" | None, "label12": "left",
    #  "word": "left", "source": "real" | "synth" | "seq" | "silence", ...}

Command line (builds the cache, prints counts and sizes):

    nice -n 10 /usr/bin/python3 -m train.data --cache train/cache --seed 1 [--quick]

What the training set holds (default budget):
  real     every train clip of the Speech Commands folder, clean and n_aug augmented
           copies (speed 0.9-1.1, time shift, RIR, gain, noise at 0-25 dB SNR), 1 s each.
           545 _unknown_ clips have no known word: text None (skip them for CTC,
           use them for the 12-class head if there is one).
  silence  n_silence 1 s windows of background noise (train part of each noise file,
           see train/augment.py), text "".
  synth    espeak-ng / flite / festival words (train/synth.py), each placed in a 1 s
           window (longer for the ~6 % of slow TTS words over 0.8 s, never cropped)
           clean and once augmented; word = the word, label12 from it.
  seq      synthetic TTS sequences (2-6 words, noise added) and n_seq sequences made
           from real clips of 2-6 different words (words with no real clip here use
           TTS clips) joined with pauses and noise. label12 is "" for sequences;
           word is the text.
Dev is the folder's dev split, clean, never augmented (build_dev_sequences
adds continuous speech made from dev clips, for word error rates); dev items also carry
"speaker" and "seen_speaker" (True when that speaker also occurs in train: the
shared manifest has 185 such dev clips, from its v0.01 extras).

Items are dicts; for batching, FeatureSet also exposes the concatenated arrays
(feats, offsets) and per-item lists (texts, labels12, words, sources).
The cache file name carries a hash of the recipe, the data listing and the C
front-end parameters: change any of them and the set is rebuilt.
"""
import argparse
import collections
import hashlib
import json
import logging
import multiprocessing
import os
import sys
import time

import numpy as np

from . import augment, sc_layout, vocab
from . import synth as tts
from .frontend import Frontend

CACHE_VERSION = 3
DEFAULT_DATA_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "shared", "data")
DEFAULT_CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cache")
SOURCES = ("real", "synth", "seq", "silence")

_log = logging.getLogger("train.data")


# --------------------------------------------------------------------------- the dataset

class FeatureSet:
    """Variable-length feature sequences with their labels, all in memory."""

    def __init__(self, feats, offsets, meta):
        self.feats = feats                    # [total_frames, n_mels], float16
        self.offsets = offsets                # [n + 1], int64
        self.texts = list(meta["text"])
        self.labels12 = list(meta["label12"])
        self.words = list(meta["word"])
        self.sources = list(meta["source"])
        self.speakers = list(meta.get("speaker", [""] * len(self.texts)))
        self.seen_speaker = list(meta.get("seen_speaker", [False] * len(self.texts)))
        self.frontend_params = meta.get("frontend_params", {})
        self.recipe = meta.get("recipe", {})

    def __len__(self):
        return len(self.texts)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("item %d of %d" % (i, len(self)))
        return {"feats": self.feats[self.offsets[i]:self.offsets[i + 1]], "text": self.texts[i],
                "label12": self.labels12[i], "word": self.words[i], "source": self.sources[i],
                "speaker": self.speakers[i], "seen_speaker": self.seen_speaker[i]}

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def subset(self, indices):
        """A new FeatureSet of the items at `indices`, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        lens = np.diff(self.offsets)[idx] if idx.size else np.zeros(0, np.int64)
        offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        feats = (np.concatenate([self.feats[self.offsets[i]:self.offsets[i + 1]] for i in idx])
                 if idx.size else self.feats[:0])
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        return FeatureSet(feats, offsets, {
            "text": pick(self.texts), "label12": pick(self.labels12), "word": pick(self.words),
            "source": pick(self.sources), "speaker": pick(self.speakers),
            "seen_speaker": pick(self.seen_speaker), "frontend_params": self.frontend_params,
            "recipe": self.recipe})

    def lengths(self):
        """Frames per item."""
        return np.diff(self.offsets)

    def counts(self):
        """{source: {label12: n}}, sequences under label ''."""
        out = collections.defaultdict(collections.Counter)
        for s, l in zip(self.sources, self.labels12):
            out[s][l] += 1
        return {s: dict(c) for s, c in out.items()}

    def save(self, path):
        meta = {"text": self.texts, "label12": self.labels12, "word": self.words,
                "source": self.sources, "speaker": self.speakers,
                "seen_speaker": self.seen_speaker, "frontend_params": self.frontend_params,
                "recipe": self.recipe}
        tmp = path + ".tmp.npz"
        np.savez(tmp, feats=self.feats, offsets=self.offsets,
                 meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path):
        with np.load(path) as z:
            meta = json.loads(z["meta"].tobytes().decode())
            return cls(z["feats"], z["offsets"], meta)


def _summary(name, ds):
    lines = ["%s: %d items, %d frames (%.1f h), %.1f MB" % (
        name, len(ds), int(ds.offsets[-1]), ds.offsets[-1] / 100.0 / 3600.0, ds.feats.nbytes / 1e6)]
    for src, c in sorted(ds.counts().items()):
        lines.append("  %-8s %6d  %s" % (src, sum(c.values()),
                                         " ".join("%s=%d" % (k or "seq", v) for k, v in sorted(c.items()))))
    return "\n".join(lines)


# --------------------------------------------------------------------------- worker side

_W = {}


def _worker_init(cfg):
    _W.clear()
    _W["cfg"] = cfg
    _W["fe"] = Frontend(**cfg["frontend_overrides"])
    noise = augment.NoiseBank(cfg["noise_files"], part=cfg.get("noise_part", "train"))
    rirs = augment.load_rirs(cfg["rir_files"])
    _W["aug"] = augment.Augmenter(noise, rirs, **cfg["aug_params"])
    _W["noise"] = noise


def _feats(x):
    return _W["fe"].compute(x).astype(np.float16)


def _make_item(job):
    """One job -> list of (feats, text, label12, word, source, speaker)."""
    kind, idx = job[0], job[1]
    cfg, aug = _W["cfg"], _W["aug"]
    out = []
    if kind == "real":                     # clean + n_aug augmented copies of one clip
        _, _, path, text, label, word, speaker, n_aug, dev = job
        x = augment.load_audio(path)
        out.append((_feats(x), text, label, word, "real" if not dev else "dev", speaker))
        for k in range(n_aug):
            rng = np.random.default_rng([cfg["seed"], 1, idx, k])
            out.append((_feats(aug.clip(x, rng)), text, label, word, "real", speaker))
    elif kind == "silence":
        rng = np.random.default_rng([cfg["seed"], 2, idx])
        out.append((_feats(aug.silence(rng)), "", vocab.SILENCE, vocab.SILENCE, "silence", ""))
    elif kind == "synth":                  # a TTS word: clean in a 1 s window + augmented
        _, _, path, word = job
        rng = np.random.default_rng([cfg["seed"], 3, idx])
        x = augment.load_audio(path)
        # 1 s, or longer for a slow voice (never crop the word the text names),
        # with room for the augmenter's slow-down and shift.
        n_out = augment.SR if x.size <= augment.SR * 4 // 5 else x.size + augment.SR // 5
        pad = n_out - x.size                # random placement inside the window
        left = int(rng.integers(0, pad + 1))
        clean = np.pad(x, (left, pad - left))
        lab = vocab.label12(word)
        out.append((_feats(clean), word, lab, word, "synth", ""))
        out.append((_feats(aug.clip(x, rng, n_out)), word, lab, word, "synth", ""))
    elif kind == "synth_seq":              # a TTS sentence with noise, variable length
        _, _, path, text = job
        rng = np.random.default_rng([cfg["seed"], 4, idx])
        x = augment.load_audio(path)
        lead = np.zeros(int(rng.uniform(0.05, 0.3) * augment.SR), np.float32)
        x = np.concatenate([lead, x, lead[: len(lead) // 2]])
        if len(_W["noise"]) and rng.random() < 0.7:
            x = augment.add_noise(x, _W["noise"].segment(rng, x.size), rng.uniform(5.0, 30.0))
        out.append((_feats(x), text, "", text, "seq", ""))
    elif kind == "seq":                    # real (and TTS) words joined into a sentence
        _, _, paths, words, perturb = job
        rng = np.random.default_rng([cfg["seed"], 5, idx])
        clips = []
        for p in paths:
            x = augment.load_audio(p)
            if perturb and rng.random() < 0.5:
                x = augment.speed(x, rng.uniform(0.9, 1.1))
            clips.append(x)
        pcm, text = augment.make_sequence(clips, words, rng, noise=_W["noise"])
        if perturb and aug.rirs and rng.random() < 0.2:
            pcm = augment.apply_rir(pcm, aug.rirs[rng.integers(len(aug.rirs))])
        out.append((_feats(pcm), text, "", text, "seq", ""))
    else:
        raise ValueError(kind)
    return out


# --------------------------------------------------------------------------- planning

def _data_paths(data_root):
    """(speech commands folder, noise files, rir files) under data_root, which
    is either ../shared/data (speech_commands/ + noise/) or a Speech Commands
    folder itself."""
    sc = os.path.join(data_root, "speech_commands")
    if not os.path.isdir(sc):
        sc = data_root
    noise = sc_layout.noise_files(sc)
    extra = os.path.join(data_root, "noise", "noise")
    if os.path.isdir(extra):
        noise += [os.path.join(extra, n) for n in sorted(os.listdir(extra))
                  if n.lower().endswith(sc_layout.AUDIO_EXT)]
    rdir = os.path.join(data_root, "noise", "rirs")
    rirs = [os.path.join(rdir, n) for n in sorted(os.listdir(rdir))
            if n.lower().endswith(sc_layout.AUDIO_EXT)] if os.path.isdir(rdir) else []
    return sc, noise, rirs


def _quick_subset(clips, per_label, seed):
    rng = np.random.default_rng([seed, 99])
    by = collections.defaultdict(list)
    for c in clips:
        by[c.label12].append(c)
    out = []
    for lab in sorted(by):
        group = by[lab]
        pick = rng.choice(len(group), size=min(per_label, len(group)), replace=False)
        out += [group[i] for i in sorted(pick)]
    return out


def _plan_sequences(n_seq, seed, real_by_word, synth_by_word, p_real=0.8, perturb=True):
    """n_seq jobs of 2-6 different words from the 35; a word uses a real clip
    (when it has any) with probability p_real, else a TTS clip."""
    words = [w for w in vocab.SC_WORDS if real_by_word.get(w) or synth_by_word.get(w)]
    if len(words) < 2:
        return []
    rng = np.random.default_rng([seed, 6])
    jobs = []
    for i in range(n_seq):
        k = int(rng.integers(2, 7))
        chosen = [words[j] for j in rng.choice(len(words), size=min(k, len(words)), replace=False)]
        paths = []
        for w in chosen:
            real, tts = real_by_word.get(w, []), synth_by_word.get(w, [])
            pool = real if real and (not tts or rng.random() < p_real) else tts
            paths.append(pool[rng.integers(len(pool))])
        jobs.append(("seq", i, paths, chosen, perturb))
    return jobs


def dev_train_speaker(speaker, enabled=True):
    """True for the dev speakers whose clips are trained on: the first byte of
    the SHA-1 of the speaker id is even (about half; fixed, so every run and
    every tool agrees). Clips with no speaker (_silence_) stay in dev."""
    if not enabled or not speaker or speaker == "-":
        return False
    return hashlib.sha1(speaker.encode()).digest()[0] % 2 == 0


def speaker_in_fraction(speaker, fraction):
    """True when the speaker falls in the given share of speakers: a uniform
    number from the SHA-1 of "fraction:" + the id (independent of
    dev_train_speaker's byte) is below fraction, so the speakers of a smaller
    fraction are a subset of a larger one's (nested learning curves)."""
    if fraction >= 1.0:
        return True
    h = hashlib.sha1(("fraction:" + speaker).encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0 ** 64 < fraction


def _listing_digest(clips, root):
    """Hash of the clip list, by paths relative to the data folder (so the
    same data reached by another path hits the same cache)."""
    h = hashlib.sha1()
    for c in clips:
        h.update(("%s|%s|%s|%s\n" % (os.path.relpath(c.path, root), c.label12, c.word,
                                      c.split)).encode())
    return h.hexdigest()[:12]


def split_clips(clips, train_split="train", dev_split="dev", dev_train=True, real_fraction=1.0):
    """(train_clips, dev_clips, dev_trained_speakers, train_split_speakers) as
    build_datasets uses them: the train split's speech clips plus those of the
    dev speakers dev_train_speaker() picks (their clips are the only real
    speech of most _unknown_ words here; the dev set keeps the other half and
    the list travels in the model file), then only the speakers of
    real_fraction (speaker_in_fraction) among them."""
    if not 0.0 < real_fraction <= 1.0:
        raise ValueError("real_fraction must be in (0, 1], not %r" % (real_fraction,))
    train_clips = [c for c in clips if c.split == train_split and c.label12 != vocab.SILENCE]
    train_speakers = {c.speaker for c in train_clips if c.speaker}
    dev_clips = [c for c in clips if c.split == dev_split]
    dev_trained = sorted({c.speaker for c in dev_clips if dev_train_speaker(c.speaker, dev_train)})
    if dev_trained:
        moved = [c for c in dev_clips if c.speaker in dev_trained and c.label12 != vocab.SILENCE]
        dev_clips = [c for c in dev_clips if c.speaker not in dev_trained]
        train_clips = train_clips + moved
    if real_fraction < 1.0:
        train_clips = [c for c in train_clips if speaker_in_fraction(c.speaker or c.path,
                                                                     real_fraction)]
    return train_clips, dev_clips, dev_trained, train_speakers


def build_datasets(cache_dir=DEFAULT_CACHE, seed=1, n_aug=2, n_seq=5000, synth=True,
                   data_root=DEFAULT_DATA_ROOT, n_silence=None, synth_per_word=70, synth_seq=600,
                   quick=False, workers=2, train_split="train", dev_split="dev",
                   aug_params=None, frontend_overrides=None, rebuild=False, log=None,
                   dev_train=True, real_fraction=1.0, exclude=None):
    """Builds (or loads from cache) the train and dev FeatureSets.

    quick=True: 12 real clips per label, 8 per dev label, n_aug=1, 40 sequences,
    2 TTS clips per word and 8 TTS sequences: a few seconds, for tests.
    n_silence: generated _silence_ examples (default: 10 % of the real items).
    dev_train: train on the dev clips of the speakers dev_train_speaker() picks
    (half of them) and keep only the others in the dev set; the train set's
    recipe lists them ("dev_trained_speakers").
    real_fraction: keep only the real training clips (train split and the
    dev speakers trained on) of a fixed share of their speakers
    (speaker_in_fraction): for learning curves. Silence examples scale with
    the real clips (10 %); TTS clips and the dev set stay the same.
    exclude: paths of training clips to leave out (relative to the Speech
    Commands folder, or absolute; e.g. train.audit's list of clips with no
    audible word): their clean and augmented items and every generated
    sequence made with them are dropped after the cache is loaded, so the
    cache is the same with or without it (exclude_items).
    log: optional callable(str) that also receives the log lines (they always
    go to CACHE/data.log and standard output).
    """
    if log is not None:
        _add_log_callback(log)
    t0 = time.time()
    data_root = data_root or DEFAULT_DATA_ROOT
    cache_dir = cache_dir or DEFAULT_CACHE
    if not os.path.isdir(data_root):
        raise FileNotFoundError("data root %s does not exist (see ../shared/data/README.md)"
                                % data_root)
    os.makedirs(cache_dir, exist_ok=True)
    _setup_log(cache_dir)
    sc_root, noise_files, rir_files = _data_paths(data_root)
    clips, layout = sc_layout.load(sc_root)
    train_clips, dev_clips, dev_trained, train_speakers = split_clips(
        clips, train_split, dev_split, dev_train, real_fraction)
    if quick:
        n_aug, n_seq, synth_per_word, synth_seq = 1, 40, 2, 8
        train_clips = _quick_subset(train_clips, 12, seed)
        dev_clips = _quick_subset(dev_clips, 8, seed)
    if n_silence is None:
        n_silence = max(1, len(train_clips) * (1 + n_aug) // 10)
    aug_params = dict(aug_params or {})
    frontend_overrides = dict(frontend_overrides or {})
    fe = Frontend(**frontend_overrides)
    recipe = {"version": CACHE_VERSION, "seed": seed, "n_aug": n_aug, "n_seq": n_seq,
              "synth": bool(synth), "n_silence": n_silence, "synth_per_word": synth_per_word,
              "synth_seq": synth_seq, "quick": quick, "layout": layout,
              "dev_trained_speakers": dev_trained,
              **({"real_fraction": real_fraction} if real_fraction < 1.0 else {}),
              "train": _listing_digest(train_clips, sc_root), "dev": _listing_digest(dev_clips, sc_root),
              "noise": [os.path.basename(p) for p in noise_files],
              "rirs": [os.path.basename(p) for p in rir_files],
              "augment": augment.Augmenter(augment.NoiseBank([]), [], **aug_params).recipe(),
              "frontend": fe.params_dict()}
    key = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    train_path = os.path.join(cache_dir, "feats-%s-train.npz" % key)
    dev_path = os.path.join(cache_dir, "feats-%s-dev.npz" % key)
    exclude = {os.path.abspath(os.path.join(sc_root, p)) for p in (exclude or ())}

    def plan():
        synth_words, synth_seqs = [], []
        if synth:
            sdir, rows = tts.generate(cache_dir, seed, synth_per_word, synth_seq, workers,
                                      log=_log.info)
            for r in rows:
                (synth_words if " " not in r["text"] else synth_seqs).append(
                    (os.path.join(sdir, r["file"]), r["text"]))
        return _train_jobs(train_clips, n_aug, n_silence, synth_words, synth_seqs, n_seq, seed)

    if not rebuild and os.path.exists(train_path) and os.path.exists(dev_path):
        _log.info("loading cached features %s", train_path)
        train_set, dev_set = FeatureSet.load(train_path), FeatureSet.load(dev_path)
        if exclude:
            train_set = exclude_items(train_set, plan(), exclude)
        return train_set, dev_set

    _log.info("building features (key %s, layout %s, %d train clips, %d dev clips) -> %s",
             key, layout, len(train_clips), len(dev_clips), cache_dir)
    jobs = plan()
    dev_jobs = [("real", i, c.path, c.text, c.label12, c.word or "-", c.speaker, 0, True)
                for i, c in enumerate(dev_clips)]

    cfg = {"seed": seed, "noise_files": noise_files, "rir_files": rir_files,
           "aug_params": aug_params, "frontend_overrides": frontend_overrides}
    params = fe.params_dict()
    train_set = _run(jobs, cfg, workers, "train", recipe, params)
    dev_set = _run(dev_jobs, cfg, workers, "dev", recipe, params)
    dev_set.seen_speaker = [bool(s) and s in train_speakers for s in dev_set.speakers]
    train_set.save(train_path)
    dev_set.save(dev_path)
    _log.info(_summary("train", train_set))
    _log.info(_summary("dev", dev_set))
    _log.info("dev clips whose speaker is also in train: %d", sum(dev_set.seen_speaker))
    _log.info("built in %.1f s: %s (%.1f MB), %s (%.1f MB)", time.time() - t0, train_path,
             os.path.getsize(train_path) / 1e6, dev_path, os.path.getsize(dev_path) / 1e6)
    if exclude:
        train_set = exclude_items(train_set, jobs, exclude)
    return train_set, dev_set


def _train_jobs(train_clips, n_aug, n_silence, synth_words, synth_seqs, n_seq, seed):
    """The training set's jobs, in the order of its items (_make_item)."""
    jobs = [("real", i, c.path, c.text, c.label12, c.word or "-", c.speaker, n_aug, False)
            for i, c in enumerate(train_clips)]
    jobs += [("silence", i) for i in range(n_silence)]
    jobs += [("synth", i, p, w) for i, (p, w) in enumerate(synth_words)]
    jobs += [("synth_seq", i, p, t) for i, (p, t) in enumerate(synth_seqs)]
    real_by_word = collections.defaultdict(list)
    for c in train_clips:
        if c.text:
            real_by_word[c.word].append(c.path)
    synth_by_word = collections.defaultdict(list)
    for p, w in synth_words:
        synth_by_word[w].append(p)
    return jobs + _plan_sequences(n_seq, seed, real_by_word, synth_by_word)


def _job_items(job):
    """(number of items _make_item makes of the job, clip paths it reads)."""
    kind = job[0]
    if kind == "real":
        return 1 + job[7], [job[2]]
    if kind == "seq":
        return 1, list(job[2])
    return (2 if kind == "synth" else 1), []


def read_clip_list(path):
    """Clip paths from a list file (train.audit's exclude list): one per line,
    the first tab-separated field; blank lines and '#' comments skipped.
    OSError / ValueError name the file."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            field = line.split("\t")[0].strip()
            if not field.lower().endswith(sc_layout.AUDIO_EXT):
                raise ValueError("%s:%d: %r is not an audio file path" % (path, n, field))
            out.append(field)
    return out


def exclude_items(train_set, jobs, exclude):
    """train_set without the items made from any clip path in `exclude` (a
    set of absolute paths, os.path.abspath): a real clip's clean and augmented items, and each
    generated sequence that uses it. `jobs` are the set's jobs (_train_jobs);
    ValueError when they do not account for exactly its items (the cache was
    made by another plan)."""
    keep, start, clips, seqs = [], 0, 0, 0
    for job in jobs:
        n, paths = _job_items(job)
        if not any(os.path.abspath(p) in exclude for p in paths):
            keep.extend(range(start, start + n))
        elif job[0] == "real":
            clips += 1
        else:
            seqs += 1
        start += n
    if start != len(train_set):
        raise ValueError("the training plan has %d items, the feature set %d"
                         % (start, len(train_set)))
    _log.info("excluded %d of %d listed clips (%d items) and %d sequences made with them",
              clips, len(exclude), start - len(keep) - seqs, seqs)
    return train_set.subset(keep)


def build_dev_sequences(cache_dir=DEFAULT_CACHE, seed=1, n_seq=300, data_root=DEFAULT_DATA_ROOT,
                        dev_split="dev", workers=2, quick=False):
    """A dev set of continuous speech for word error rates: n_seq sequences of
    2-6 different words made from dev clips only (speakers never in train;
    all 35 words occur in dev's _unknown_), no speed or RIR perturbation,
    background noise at 5-30 dB SNR from the held-out part of each noise file
    (never used in training). Items as in build_datasets, source 'seq',
    label12 ''."""
    data_root = data_root or DEFAULT_DATA_ROOT
    cache_dir = cache_dir or DEFAULT_CACHE
    if not os.path.isdir(data_root):
        raise FileNotFoundError("data root %s does not exist" % data_root)
    os.makedirs(cache_dir, exist_ok=True)
    _setup_log(cache_dir)
    sc_root, noise_files, rir_files = _data_paths(data_root)
    clips, layout = sc_layout.load(sc_root)
    dev_clips = [c for c in clips if c.split == dev_split and c.text
                 and not dev_train_speaker(c.speaker)]
    if quick:
        n_seq = min(n_seq, 10)
    fe = Frontend()
    recipe = {"version": CACHE_VERSION, "kind": "devseq", "seed": seed, "n_seq": n_seq,
              "dev": _listing_digest(dev_clips, sc_root),
              "noise": [os.path.basename(p) for p in noise_files], "frontend": fe.params_dict()}
    key = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    path = os.path.join(cache_dir, "feats-%s-devseq.npz" % key)
    if os.path.exists(path):
        return FeatureSet.load(path)
    by_word = collections.defaultdict(list)
    for c in dev_clips:
        by_word[c.word].append(c.path)
    jobs = _plan_sequences(n_seq, seed + 1000, by_word, {}, p_real=1.0, perturb=False)
    cfg = {"seed": seed + 1000, "noise_files": noise_files, "rir_files": [], "aug_params": {},
           "frontend_overrides": {}, "noise_part": "heldout"}
    ds = _run(jobs, cfg, workers, "devseq", recipe, fe.params_dict())
    ds.save(path)
    _log.info(_summary("devseq", ds))
    return ds


def _run(jobs, cfg, workers, name, recipe, params):
    feats, meta = [], collections.defaultdict(list)
    t0 = time.time()
    chunk = max(1, min(64, len(jobs) // (workers * 20) if jobs else 1))
    if workers > 1:
        pool = multiprocessing.Pool(workers, initializer=_worker_init, initargs=(cfg,))
        it = pool.imap(_make_item, jobs, chunksize=chunk)
    else:
        _worker_init(cfg)
        pool, it = None, map(_make_item, jobs)
    try:
        for n, items in enumerate(it, 1):
            for f, text, lab, word, src, spk in items:
                feats.append(f)
                meta["text"].append(text)
                meta["label12"].append(lab)
                meta["word"].append(word)
                meta["source"].append("real" if src == "dev" else src)
                meta["speaker"].append(spk)
            if n % 200 == 0 or n == len(jobs):
                _progress(name, n, len(jobs), time.time() - t0)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    sys.stderr.write("\n") if sys.stderr.isatty() else None
    n_mels = params["n_mels"]
    lengths = np.array([f.shape[0] for f in feats], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    allf = np.concatenate(feats, axis=0) if feats else np.zeros((0, n_mels), np.float16)
    meta["frontend_params"] = params
    meta["recipe"] = recipe
    _log.info("%s: %d jobs -> %d items in %.1f s", name, len(jobs), len(lengths), time.time() - t0)
    return FeatureSet(allf, offsets, meta)


def _progress(name, done, total, elapsed):
    eta = elapsed / done * (total - done) if done else 0
    if sys.stderr.isatty():
        width = 30
        k = done * width // max(total, 1)
        sys.stderr.write("\r%-5s [%s%s] %d/%d  %.0fs, eta %.0fs " % (
            name, "#" * k, "." * (width - k), done, total, elapsed, eta))
        sys.stderr.flush()
    elif done == total or done % 2000 == 0:
        _log.info("%s: %d/%d jobs, %.0f s, eta %.0f s", name, done, total, elapsed, eta)


class _CallbackHandler(logging.Handler):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def emit(self, record):
        self.fn(record.getMessage())


def _add_log_callback(fn):
    for h in list(_log.handlers):
        if isinstance(h, _CallbackHandler):
            _log.removeHandler(h)
    _log.addHandler(_CallbackHandler(fn))


def _setup_log(cache_dir):
    """Log lines go to CACHE/data.log (the file of the latest cache used) and
    standard output."""
    _log.setLevel(logging.INFO)
    _log.propagate = False
    fmt = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    path = os.path.abspath(os.path.join(cache_dir, "data.log"))
    for h in list(_log.handlers):
        if isinstance(h, logging.FileHandler):
            if h.baseFilename == path:
                return
            _log.removeHandler(h)
            h.close()
    fh = logging.FileHandler(path)
    fh.setFormatter(fmt)
    _log.addHandler(fh)
    if not any(type(h) is logging.StreamHandler for h in _log.handlers):
        sh = logging.StreamHandler(sys.stdout)
        sh.setFormatter(fmt)
        _log.addHandler(sh)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build the feature cache for training.")
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--data", default=DEFAULT_DATA_ROOT,
                    help="../shared/data, or any Speech Commands folder (full dataset, "
                         "test-set layout or manifest)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--n-aug", type=int, default=2)
    ap.add_argument("--n-seq", type=int, default=5000)
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--synth-per-word", type=int, default=70)
    ap.add_argument("--synth-seq", type=int, default=600)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--real-fraction", type=float, default=1.0,
                    help="keep the real training clips of this share of the speakers "
                         "(learning curves; default 1: all)")
    ap.add_argument("--dev-seq", type=int, default=300,
                    help="also build N dev sequences for word error rates (0: none)")
    a = ap.parse_args(argv)
    tr, dev = build_datasets(a.cache, a.seed, a.n_aug, a.n_seq, not a.no_synth, a.data,
                             synth_per_word=a.synth_per_word, synth_seq=a.synth_seq,
                             quick=a.quick, workers=a.workers, rebuild=a.rebuild,
                             real_fraction=a.real_fraction)
    print(_summary("train", tr))
    print(_summary("dev", dev))
    if a.dev_seq:
        print(_summary("devseq", build_dev_sequences(a.cache, a.seed, a.dev_seq, a.data,
                                                     workers=a.workers, quick=a.quick)))


if __name__ == "__main__":
    main()
