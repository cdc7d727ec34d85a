"""Speech Commands as users have it: three layouts, one clip list.

Every loader returns a list of Clip records:
    path     absolute path of the audio file (WAV or FLAC)
    label12  yes no up down left right on off stop go, _unknown_ or _silence_
    word     the spoken word, '_silence_' for noise-only clips, None when unknown
    text     the transcript for CTC ('' for silence, None when unknown)
    speaker  Speech Commands speaker id (hex before _nohash_), '' if none
    split    'train', 'dev' or 'test'

Layouts (detect_layout picks one):
  manifest  ../shared/data/speech_commands: manifest.tsv with columns
            path label12 word speaker split source ('-' = word not kept).
  full      the released dataset v0.01 / v0.02: ROOT/<word>/<speaker>_nohash_<n>.wav
            with testing_list.txt (-> 'test') and validation_list.txt (-> 'dev');
            every other clip is 'train'. _background_noise_/ is not a word: silence
            is cut from it by train.augment.
  testset   the official test-set archive: ROOT/<label12>/... with _unknown_/ holding
            files named <word>_<speaker>_nohash_<n>.wav and _silence_/ noise clips.
            Everything is given split='test' unless a split is passed.
"""
import collections
import os

from . import vocab

Clip = collections.namedtuple("Clip", "path label12 word text speaker split")

AUDIO_EXT = (".wav", ".flac")
NOISE_DIR = "_background_noise_"


def _text_for(word):
    if word is None:
        return None
    if word == vocab.SILENCE:
        return ""
    return vocab.normalize_text(word)


def _speaker_of(name):
    base = os.path.splitext(os.path.basename(name))[0]
    if "_nohash_" not in base:
        return ""
    head = base.split("_nohash_")[0]
    return head.split("_")[-1]


def _make(path, word, split, speaker=None, label=None):
    return Clip(path=path, label12=label or vocab.label12(word), word=word,
                text=_text_for(word), speaker=_speaker_of(path) if speaker is None else speaker,
                split=split)


def detect_layout(root):
    if os.path.isfile(os.path.join(root, "manifest.tsv")):
        return "manifest"
    if os.path.isfile(os.path.join(root, "testing_list.txt")) or \
       os.path.isfile(os.path.join(root, "validation_list.txt")):
        return "full"
    if os.path.isdir(os.path.join(root, vocab.UNKNOWN)):
        return "testset"
    raise ValueError("%s: not a Speech Commands folder (expected manifest.tsv, "
                     "testing_list.txt/validation_list.txt, or an _unknown_ folder)" % root)


def load_manifest(root, manifest="manifest.tsv"):
    clips = []
    with open(os.path.join(root, manifest), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        for need in ("path", "label12", "word", "split"):
            if need not in col:
                raise ValueError("%s: manifest lacks column %r" % (root, need))
        for line_no, line in enumerate(f, 2):
            line = line.rstrip("\n")
            if not line:
                continue
            row = line.split("\t")
            if len(row) != len(header):
                raise ValueError("%s line %d: %d fields, expected %d" % (manifest, line_no,
                                                                           len(row), len(header)))
            word = row[col["word"]]
            word = None if word in ("-", "") else word
            label = row[col["label12"]]
            if label not in vocab.LABELS12:
                raise ValueError("%s line %d: unknown label %r" % (manifest, line_no, label))
            spk = row[col["speaker"]] if "speaker" in col else ""
            clips.append(_make(os.path.join(root, row[col["path"]]), word, row[col["split"]],
                               speaker="" if spk == "-" else spk, label=label))
    return clips


def _read_list(path):
    if not os.path.isfile(path):
        return set()
    with open(path, encoding="utf-8") as f:
        return {os.path.normpath(l.strip()) for l in f if l.strip()}


def load_full(root):
    test = _read_list(os.path.join(root, "testing_list.txt"))
    dev = _read_list(os.path.join(root, "validation_list.txt"))
    clips = []
    for word in sorted(os.listdir(root)):
        d = os.path.join(root, word)
        if not os.path.isdir(d) or word.startswith("_"):
            continue        # _background_noise_ and anything private
        for name in sorted(os.listdir(d)):
            if not name.lower().endswith(AUDIO_EXT):
                continue
            rel = os.path.normpath(os.path.join(word, name))
            split = "test" if rel in test else "dev" if rel in dev else "train"
            clips.append(_make(os.path.join(d, name), word, split))
    return clips


def load_testset(root, split="test"):
    clips = []
    for label in sorted(os.listdir(root)):
        d = os.path.join(root, label)
        if not os.path.isdir(d) or label == NOISE_DIR:
            continue
        for name in sorted(os.listdir(d)):
            if not name.lower().endswith(AUDIO_EXT):
                continue
            path = os.path.join(d, name)
            if label == vocab.SILENCE:
                clips.append(_make(path, vocab.SILENCE, split, speaker=""))
            elif label == vocab.UNKNOWN:
                # Official test set: <word>_<speaker>_nohash_<n>.wav
                prefix = name.split("_")[0]
                word = prefix if prefix in vocab.SC_WORDS else None
                clips.append(_make(path, word, split, label=vocab.UNKNOWN))
            else:
                # A folder per word (keyword or not): the folder names the word.
                clips.append(_make(path, label, split))
    return clips


def load(root):
    """Clips of any layout under root, and the layout's name."""
    layout = detect_layout(root)
    loader = {"manifest": load_manifest, "full": load_full, "testset": load_testset}[layout]
    return loader(root), layout


def noise_files(root):
    """Background-noise recordings of a Speech Commands folder (may be empty)."""
    d = os.path.join(root, NOISE_DIR)
    if not os.path.isdir(d):
        return []
    return [os.path.join(d, n) for n in sorted(os.listdir(d)) if n.lower().endswith(AUDIO_EXT)]
