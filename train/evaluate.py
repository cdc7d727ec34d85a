"""Evaluation: 12-class Speech Commands accuracy by CTC word scores, and
greedy character / word error rates on sequences.

12-class rule (shared with `shiftvox eval`): for each clip, score every one
of the 35 Speech Commands words w by its exact CTC log-likelihood
log P(w | clip) (the CTC forward algorithm: ``F.ctc_loss`` with
reduction='none', negated), and the empty transcript (only blanks) for
silence; add the per-candidate bias (0 unless a calibration set on training
data says otherwise); take the argmax; map the winner to the 12 classes:
the ten keywords to themselves, the other 25 words to _unknown_, the empty
transcript to _silence_.
"""

import numpy as np
import torch
import torch.nn.functional as F

from .model import greedy_decode, text_to_ids
from .vocab import KEYWORDS10, LABELS12, SC_WORDS, SILENCE, UNKNOWN

CANDIDATES = list(SC_WORDS) + [""]          # "" = silence (all blanks)


def candidate_label12(c):
    if c == "":
        return SILENCE
    return c if c in KEYWORDS10 else UNKNOWN


@torch.no_grad()
def logprobs(model, items, batch=128):
    """Per-item log-probabilities [T', V] (list of tensors), eval mode."""
    from .train import collate
    model.eval()
    out = []
    for i in range(0, len(items), batch):
        chunk = [dict(it, text=it.get("text") or "") for it in items[i:i + batch]]
        x, lens, _, _ = collate(chunk)
        lp = model(x)
        olen = model.out_lengths(lens)
        for b in range(len(chunk)):
            out.append(lp[b, :int(olen[b])].clone())
    return out


def candidate_targets(candidates=CANDIDATES):
    """CTC targets of the candidates, concatenated, and their lengths."""
    ids = [text_to_ids(c) for c in candidates]
    return (torch.tensor([i for t in ids for i in t], dtype=torch.long),
            torch.tensor([len(t) for t in ids]))


@torch.no_grad()
def word_scores(lps, candidates=CANDIDATES):
    """[N, n_candidates] CTC log-likelihoods log P(candidate | clip)."""
    K = len(candidates)
    scores = np.zeros((len(lps), K))
    tg, tlen = candidate_targets(candidates)
    for n, lp in enumerate(lps):
        T = lp.shape[0]
        x = lp.unsqueeze(1).expand(T, K, lp.shape[1])
        nll = F.ctc_loss(x, tg, torch.full((K,), T, dtype=torch.long), tlen, blank=0,
                         reduction="none", zero_infinity=False)
        scores[n] = -nll.double().numpy()
    return scores


def classify12(scores, bias=None, candidates=CANDIDATES):
    s = scores + (0 if bias is None else np.asarray(bias)[None, :])
    best = s.argmax(1)
    return [candidate_label12(candidates[k]) for k in best]


def bias_vector(char_bonus=0.0, silence=0.0, candidates=CANDIDATES):
    """Per-candidate score offsets: char_bonus per character of a word (a
    CTC length prior: without it short words win on weak emissions) and a
    constant for the empty transcript."""
    return np.array([silence if c == "" else char_bonus * len(c.replace(" ", ""))
                     for c in candidates])


def calibrate_bias(model, items, char_bonuses=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
                   silences=(-4.0, -2.0, 0.0, 2.0)):
    """Chooses (char_bonus, silence) maximising 12-class accuracy on `items`
    (calibration_items: training data, never dev).  Returns (params dict, acc)."""
    sc = word_scores(logprobs(model, items))
    return best_bias(sc, [it["label12"] for it in items], char_bonuses, silences)


def best_bias(scores, truth, char_bonuses=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
              silences=(-4.0, -2.0, 0.0, 2.0)):
    """The (char_bonus, silence) of the grid that maximises 12-class accuracy
    of word_scores `scores` against the labels `truth` (first best on ties).
    Returns (params dict, acc)."""
    best = None
    for cb in char_bonuses:
        for sb in silences:
            pred = classify12(scores, bias_vector(cb, sb))
            acc = float(np.mean([p == t for p, t in zip(pred, truth)]))
            if best is None or acc > best[1]:
                best = ({"char_bonus": cb, "silence": sb}, acc)
    return best


def accuracy12(model, items, bias=None, scores=None):
    """12-class accuracy, per-class recall and the confusion matrix.  scores:
    word_scores of exactly these items, if already computed (model unused)."""
    items = [it for it in items if it.get("label12") in LABELS12]
    if scores is None:
        scores = word_scores(logprobs(model, items))
    pred = classify12(scores, bias)
    truth = [it["label12"] for it in items]
    idx = {l: i for i, l in enumerate(LABELS12)}
    conf = np.zeros((12, 12), dtype=np.int64)
    for t, p in zip(truth, pred):
        conf[idx[t], idx[p]] += 1
    acc = float(np.trace(conf)) / max(1, conf.sum())
    recall = {l: float(conf[i, i]) / max(1, conf[i].sum()) for l, i in idx.items()}
    return {"accuracy": acc, "n": int(conf.sum()), "recall": recall,
            "confusion": conf.tolist(), "labels": LABELS12}


def dev_report(dev, scores, bias_params):
    """The dev figures of word_scores `scores` of the 12-class items `dev`:
    accuracy raw and with the bias (char_bonus, silence) params, the latter
    also on the clips whose speaker is not in training, with its recall and
    confusion matrix."""
    bv = bias_vector(**bias_params)
    raw = accuracy12(None, dev, None, scores)
    cal = accuracy12(None, dev, bv, scores)
    keep = [i for i, it in enumerate(dev) if not it.get("seen_speaker")]
    unseen = accuracy12(None, [dev[i] for i in keep], bv, scores[keep])
    return {"dev_acc12_raw": raw["accuracy"], "dev_acc12": cal["accuracy"],
            "dev_acc12_unseen_speakers": unseen["accuracy"], "n_dev": cal["n"],
            "n_dev_unseen": unseen["n"], "recall": cal["recall"], "confusion": cal["confusion"],
            "bias": bias_params}


def calibration_items(train_items, max_items=2000):
    """The training items the score bias is chosen on: the real and silence
    clips of the 12 classes, every step-th of them so that about max_items
    remain."""
    items = [it for it in train_items
             if it.get("source") in ("real", "silence") and it.get("label12") in LABELS12]
    return items[::max(1, len(items) // max_items)]


def _edit(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def greedy_error_rates(model, items):
    """Character and word error rates of greedy CTC decoding on items with a
    transcript (use multi-word sequences)."""
    items = [it for it in items if it.get("text")]
    lps = logprobs(model, items)
    ce = cn = we = wn = 0
    for it, lp in zip(items, lps):
        hyp = greedy_decode(lp)
        ref = " ".join(it["text"].split())
        ce += _edit(list(ref), list(hyp))
        cn += len(ref)
        we += _edit(ref.split(), hyp.split())
        wn += len(ref.split())
    return {"cer": ce / max(1, cn), "wer": we / max(1, wn), "n": len(items)}


# The stream's pause thresholds (decoder/stream.c): a frame is silent when its
# blank probability is >= enter_blank, and 0.5 s of silent frames is a pause
# (the keyword search restarts; at its end the model state is rebuilt from the
# last 0.4 s of input); a pause ends at a frame below exit_blank. How
# sure of blank a model is in silence depends on its training (the third
# default model had 0.99 of blank in 98 % of its noise frames, a model with one
# more QAT epoch only 0.984), so the trainer measures it: the non-blank mass of
# the silence frames (training _silence_ items and digital zero) at its 98th
# percentile, doubled for margin, is 1 - enter_blank, at least 0.01 (the fixed
# threshold before) and at most 0.1; the exit's non-blank mass is ten times
# that (0.99 / 0.9 for the smallest, as before), at most 0.5.
PAUSE_PERCENTILE = 98.0
PAUSE_MARGIN = 2.0
PAUSE_ENTER_RANGE = (0.01, 0.1)
PAUSE_EXIT_RATIO = 10.0


@torch.no_grad()
def pause_thresholds(model, silence_feats, skip_frames=4):
    """{"enter_blank", "exit_blank", "silence_nonblank_p98", "n_frames"} from
    silence feature arrays [T, n_mels] (the first skip_frames outputs of each,
    computed on the convolution's zero padding, are left out)."""
    items = [{"feats": np.asarray(f, np.float32), "text": ""} for f in silence_feats]
    nb = [1.0 - np.exp(lp[skip_frames:, 0].double().numpy()) for lp in logprobs(model, items)]
    nb = np.concatenate(nb) if nb else np.zeros(0)
    if not len(nb):
        raise ValueError("pause_thresholds: no silence frames")
    p = float(np.percentile(nb, PAUSE_PERCENTILE))
    enter_nb = min(max(PAUSE_MARGIN * p, PAUSE_ENTER_RANGE[0]), PAUSE_ENTER_RANGE[1])
    exit_nb = min(PAUSE_EXIT_RATIO * enter_nb, 0.5)
    return {"enter_blank": round(1.0 - enter_nb, 6), "exit_blank": round(1.0 - exit_nb, 6),
            "silence_nonblank_p98": round(p, 6), "n_frames": int(len(nb))}


def clean_and_augmented(sources, n_aug):
    """(clean, augmented) indices of the real training clips of a feature set
    built by train.data.build_datasets: each real clip is 1 + n_aug items in
    a row, the clean one first. Raises ValueError when the real items do not
    come in such runs."""
    real = [i for i, s in enumerate(sources) if s == "real"]
    k = 1 + int(n_aug)
    if len(real) % k or any(real[j + k - 1] - real[j] != k - 1 for j in range(0, len(real), k)):
        raise ValueError("the real items are not runs of 1 + %d copies" % n_aug)
    return real[::k], [i for j in range(0, len(real), k) for i in real[j + 1:j + k]]


def train_fit(model, train_set, bias=None, every=4):
    """How well a model fits its own training speech: 12-class accuracy and
    per-class recall on every `every`-th clean real training clip and on the
    same share of their augmented copies (train.data's recipe). A model
    whose clean training accuracy is far below 100 % underfits (capacity or
    training length); one near 100 % with a low dev accuracy is limited by
    the speakers it has seen."""
    n_aug = (getattr(train_set, "recipe", None) or {}).get("n_aug", 2)
    clean, aug = clean_and_augmented(train_set.sources, n_aug)
    out = {}
    for name, idx in (("clean", clean[::every]), ("augmented", aug[::every])):
        items = [train_set[i] for i in idx if train_set.labels12[i] in LABELS12]
        r = accuracy12(model, items, bias)
        present = {it["label12"] for it in items}      # (no real _silence_ clips)
        out[name] = {"accuracy": r["accuracy"], "n": r["n"],
                     "recall": {l: v for l, v in r["recall"].items() if l in present}}
    return out
