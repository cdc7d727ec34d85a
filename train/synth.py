"""Synthetic speech from Debian's TTS engines: espeak-ng, flite, festival.

All 35 Speech Commands words, one word per clip, and sequences of 2-6
different words with pauses, with voice, rate, pitch and volume varied. The
plan (which engine/voice/settings makes which text) is drawn from a seed, so
the same seed gives the same clips; each clip is resampled to 16 kHz mono
16-bit and written to CACHE/synth/<plan hash>/NNNNN.wav with a manifest.tsv
naming engine, voice and settings per clip. Runs with a pool of processes;
clips already on disk are kept (an interrupted run resumes).

    /usr/bin/python3 -m train.synth --cache train/cache --seed 1 [--quick]
"""
import argparse
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf

from . import augment, vocab

SR = augment.SR
MANIFEST_COLS = ["file", "text", "engine", "voice", "rate", "pitch", "volume", "gain_db", "n_samples"]

# Voices that need software Debian does not ship with espeak-ng (MBROLA) are skipped.
ESPEAK_FALLBACK = ["en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
                   "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]


def _run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=False, **kw)


def espeak_voices():
    """English espeak-ng voices (own formant voices, not MBROLA) and variants."""
    if not shutil.which("espeak-ng"):
        return [], []
    voices, variants = [], []
    for line in _run(["espeak-ng", "--voices=en"]).stdout.splitlines()[1:]:
        f = line.split()
        if len(f) >= 5 and f[4].startswith("gmw/"):
            voices.append(f[1])
    for line in _run(["espeak-ng", "--voices=variant"]).stdout.splitlines()[1:]:
        f = line.split()
        if len(f) >= 5 and f[4].startswith("!v/"):
            variants.append(f[4][3:])
    # Whispered variants carry no voicing: keep them out of a word recogniser's
    # training set (users do not whisper commands at a microphone).
    variants = [v for v in variants if "whisper" not in v.lower()]
    return sorted(set(voices)) or list(ESPEAK_FALLBACK), sorted(set(variants))


def flite_voices():
    if not shutil.which("flite"):
        return []
    out = _run(["flite", "-lv"]).stdout
    m = re.search(r"Voices available:(.*)", out)
    # *_time voices are limited-domain: they can only say clock times.
    return sorted(v for v in m.group(1).split() if not v.endswith("_time")) if m else []


def festival_voices():
    if not shutil.which("festival"):
        return []
    names = []
    for root in ("/usr/share/festival/voices",):
        if os.path.isdir(root):
            for lang in sorted(os.listdir(root)):
                d = os.path.join(root, lang)
                if os.path.isdir(d):
                    names += [v for v in sorted(os.listdir(d)) if os.path.isdir(os.path.join(d, v))]
    return names


def available_voices():
    es, variants = espeak_voices()
    return {"espeak": es, "espeak_variants": variants, "flite": flite_voices(),
            "festival": festival_voices()}


# --------------------------------------------------------------------------- the plan

def _job(rng, voices, engine, words):
    j = {"engine": engine, "words": list(words), "text": " ".join(words),
         "gain_db": round(float(rng.uniform(-12.0, 0.0)), 2)}
    if engine == "espeak":
        v = voices["espeak"][rng.integers(len(voices["espeak"]))]
        if voices["espeak_variants"] and rng.random() < 0.8:
            v += "+" + voices["espeak_variants"][rng.integers(len(voices["espeak_variants"]))]
        j.update(voice=v, rate=int(rng.integers(95, 201)), pitch=int(rng.integers(15, 86)),
                 volume=int(rng.integers(60, 181)))
    elif engine == "flite":
        j.update(voice=voices["flite"][rng.integers(len(voices["flite"]))],
                 rate=round(float(rng.uniform(0.75, 1.4)), 3),        # duration stretch
                 pitch=int(rng.integers(80, 201)), volume=1)          # f0 target mean, Hz
    else:
        j.update(voice=voices["festival"][rng.integers(len(voices["festival"]))],
                 rate=round(float(rng.uniform(0.75, 1.4)), 3),
                 pitch=int(rng.integers(80, 181)), volume=1)
    # Pauses between the words of a sequence, in ms.
    j["pauses_ms"] = [int(rng.integers(50, 600)) for _ in range(len(words) - 1)]
    return j


def make_plan(seed, n_per_word=70, n_seq=600, words=None, voices=None,
              weights=(("espeak", 0.72), ("flite", 0.2), ("festival", 0.08))):
    """Jobs for n_per_word clips of each word and n_seq sequences of 2-6
    different words. Engines with no voice installed are left out."""
    words = list(words or vocab.SC_WORDS)
    voices = voices or available_voices()
    engines = [(e, w) for e, w in weights if voices.get(e)]
    if not engines:
        raise RuntimeError("no TTS engine found (install espeak-ng, flite or festival)")
    names = [e for e, _ in engines]
    p = np.array([w for _, w in engines], dtype=float)
    p /= p.sum()
    rng = np.random.default_rng([seed, 7001])
    jobs = []
    for w in words:
        for _ in range(n_per_word):
            jobs.append(_job(rng, voices, names[rng.choice(len(names), p=p)], [w]))
    for _ in range(n_seq):
        k = int(rng.integers(2, 7))
        seq = [words[i] for i in rng.choice(len(words), size=min(k, len(words)), replace=False)]
        jobs.append(_job(rng, voices, names[rng.choice(len(names), p=p)], seq))
    for i, j in enumerate(jobs):
        j["id"] = i
        j["file"] = "%05d.wav" % i
    return jobs


def plan_hash(jobs):
    return hashlib.sha1(json.dumps(jobs, sort_keys=True).encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- engines

def _espeak_cmd(job, path):
    parts = []
    for i, w in enumerate(job["words"]):
        if i:
            parts.append('<break time="%dms"/>' % job["pauses_ms"][i - 1])
        parts.append(w)
    ssml = "<speak>" + " ".join(parts) + "</speak>"
    return ["espeak-ng", "-m", "-v", job["voice"], "-s", str(job["rate"]), "-p", str(job["pitch"]),
            "-a", str(job["volume"]), "-w", path, ssml]


def _flite_cmd(job, path):
    # flite has no SSML: commas give phrase pauses between the words.
    return ["flite", "-voice", job["voice"], "--setf", "duration_stretch=%g" % job["rate"],
            "--setf", "int_f0_target_mean=%d" % job["pitch"], "-t", ", ".join(job["words"]),
            "-o", path]


def _festival_script(jobs, paths):
    lines = []
    for job, path in zip(jobs, paths):
        lines += ["(voice_%s)" % job["voice"],
                  "(Parameter.set 'Duration_Stretch %g)" % job["rate"],
                  "(set! int_lr_params '((target_f0_mean %d) (target_f0_std %d) "
                  "(model_f0_mean 170) (model_f0_std 34)))" % (job["pitch"], job["pitch"] // 8),
                  '(utt.save.wave (utt.synth (Utterance Text "%s")) "%s" \'riff)'
                  % (", ".join(job["words"]), path)]
    return "\n".join(lines) + "\n"


def _finish(raw_path, job, out_path):
    """Engine output -> 16 kHz mono int16 WAV with the job's gain, trimmed of
    long silences at the ends (keeps 100 ms)."""
    x, sr = sf.read(raw_path, dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if sr != SR:
        x = augment.resample(x, sr, SR)
    if x.size == 0 or not np.any(x):
        raise RuntimeError("%s produced no audio for %r" % (job["engine"], job["text"]))
    x = augment.trim_energy(x, threshold_db=-50.0, margin_s=0.1)
    peak = float(np.max(np.abs(x)))
    x = x / peak * 0.9 * 10.0 ** (job["gain_db"] / 20.0)
    tmp = out_path + ".tmp.wav"
    sf.write(tmp, x.astype(np.float32), SR, subtype="PCM_16")
    os.replace(tmp, out_path)
    return x.size


def run_jobs(batch, out_dir):
    """Runs one batch of jobs (one engine). Returns [(job id, n_samples or error text)]."""
    results = []
    with tempfile.TemporaryDirectory(prefix="svx-synth-") as tmp:
        raws = [os.path.join(tmp, "%05d.wav" % j["id"]) for j in batch]
        if batch[0]["engine"] == "festival":
            script = os.path.join(tmp, "batch.scm")
            with open(script, "w") as f:
                f.write(_festival_script(batch, raws))
            r = _run(["festival", "--batch", script])
            err = r.stderr.strip()[-300:]
        for job, raw in zip(batch, raws):
            try:
                if job["engine"] != "festival":
                    cmd = _espeak_cmd(job, raw) if job["engine"] == "espeak" else _flite_cmd(job, raw)
                    r = _run(cmd)
                    err = r.stderr.strip()[-300:]
                if not os.path.exists(raw):
                    raise RuntimeError("%s wrote nothing: %s" % (job["engine"], err))
                results.append((job["id"], _finish(raw, job, os.path.join(out_dir, job["file"]))))
            except Exception as e:      # one bad clip must not stop the batch
                results.append((job["id"], "error: %s" % e))
    return results


def _run_jobs_star(args):
    return run_jobs(*args)


def generate(cache_dir, seed=1, n_per_word=70, n_seq=600, workers=2, words=None, log=print):
    """Makes (or reuses) the synthetic set. Returns (directory, manifest rows)."""
    jobs = make_plan(seed, n_per_word, n_seq, words)
    out_dir = os.path.join(cache_dir, "synth", plan_hash(jobs))
    manifest = os.path.join(out_dir, "manifest.tsv")
    if os.path.exists(manifest):
        return out_dir, read_manifest(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    todo = [j for j in jobs if not os.path.exists(os.path.join(out_dir, j["file"]))]
    batches, per = [], {"espeak": 20, "flite": 20, "festival": 40}
    for engine in ("espeak", "flite", "festival"):
        ej = [j for j in todo if j["engine"] == engine]
        batches += [ej[i:i + per[engine]] for i in range(0, len(ej), per[engine])]
    log("synth: %d clips planned, %d to make in %d batches, %d workers -> %s"
        % (len(jobs), len(todo), len(batches), workers, out_dir))
    n_samples, errors = {}, []
    if batches:
        with multiprocessing.Pool(workers) as pool:
            done = 0
            for res in pool.imap_unordered(_run_jobs_star, [(b, out_dir) for b in batches]):
                for jid, r in res:
                    if isinstance(r, str):
                        errors.append((jid, r))
                    else:
                        n_samples[jid] = r
                done += 1
                _progress("synth", done, len(batches))
        sys.stderr.write("\n")
    rows = []
    for j in jobs:
        path = os.path.join(out_dir, j["file"])
        if not os.path.exists(path):
            continue
        n = n_samples.get(j["id"]) or sf.info(path).frames
        rows.append({"file": j["file"], "text": j["text"], "engine": j["engine"], "voice": j["voice"],
                     "rate": j["rate"], "pitch": j["pitch"], "volume": j["volume"],
                     "gain_db": j["gain_db"], "n_samples": n})
    for jid, e in errors[:10]:
        log("synth: job %d failed: %s" % (jid, e))
    if errors:
        log("synth: %d of %d clips failed" % (len(errors), len(jobs)))
    with open(manifest + ".tmp", "w", encoding="utf-8") as f:
        f.write("\t".join(MANIFEST_COLS) + "\n")
        for r in rows:
            f.write("\t".join(str(r[c]) for c in MANIFEST_COLS) + "\n")
    os.replace(manifest + ".tmp", manifest)
    log("synth: %d clips in %s" % (len(rows), out_dir))
    return out_dir, rows


def read_manifest(out_dir):
    rows = []
    with open(os.path.join(out_dir, "manifest.tsv"), encoding="utf-8") as f:
        cols = f.readline().rstrip("\n").split("\t")
        for line in f:
            rows.append(dict(zip(cols, line.rstrip("\n").split("\t"))))
    return rows


def _progress(what, done, total):
    if sys.stderr.isatty():
        width = 30
        k = done * width // max(total, 1)
        sys.stderr.write("\r%s [%s%s] %d/%d" % (what, "#" * k, "." * (width - k), done, total))
        sys.stderr.flush()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=os.path.join(os.path.dirname(__file__), "cache"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-word", type=int, default=70)
    ap.add_argument("--seq", type=int, default=600)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="2 clips per word, 10 sequences")
    a = ap.parse_args(argv)
    if a.quick:
        a.per_word, a.seq = 2, 10
    out_dir, rows = generate(a.cache, a.seed, a.per_word, a.seq, a.workers)
    by_engine = {}
    for r in rows:
        by_engine[r["engine"]] = by_engine.get(r["engine"], 0) + 1
    print(out_dir, len(rows), by_engine)


if __name__ == "__main__":
    main()
