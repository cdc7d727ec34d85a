"""`python3 -m train ...` — train (and optionally export) a model.

    /usr/bin/python3 -m train --quant float --epochs 20 --out train/runs/float
    /usr/bin/python3 -m train --quant denseshift --bits 3 \
        --init-from train/runs/float/last.pt --out train/runs/ds3 --export models/default.svxm
    /usr/bin/python3 -m train recipe          # the default model's full recipe (make train)
    /usr/bin/python3 -m train eval CKPT       # 12-class accuracy on dev (CKPT or .svxm)
    /usr/bin/python3 -m train export CKPT OUT # write a model file
"""
import argparse
import json
import sys

import torch


def _wordce(epochs, lr, seed, weight):
    """A DenseShift 3-bit stage with the word cross-entropy (100-step warm-up)."""
    return ["--quant", "denseshift", "--bits", "3", "--epochs", str(epochs), "--lr", lr,
            "--warmup", "100", "--seed", str(seed), "--word-ce", str(weight)]


# The default model's recipe (make train).  Numbers were sized by measurement
# on 2 cores (see models/README.md): float32 pre-training, then DenseShift
# 3-bit quantisation-aware fine-tuning initialised from the float weights.
RECIPE = {
    # a 10-epoch cosine schedule, then 8 epochs of 3-bit DenseShift QAT from it.
    # The first model stopped a 5-epoch schedule after 3 epochs, the second ran
    # all 5, the third stopped this one after 5 (cores shared with benchmarks);
    # the fourth ran it to the end (resumed from the third's epoch-5 checkpoint:
    # each epoch's batches and augmentation come from a seed of its own, so a
    # resumed run is the same as an unbroken one) with 2 QAT epochs; the fifth
    # is the fourth's float checkpoint with 4 QAT epochs (raw dev accuracy
    # 88.7 -> 89.5 %, keyword stream FRR at 100 FA/h 27.7 -> 22.4 %), the
    # sixth the same with 8 (raw 90.8 %, calibrated 91.6 %; FRR at 100 FA/h
    # 24.8 %).
    "float": ["--quant", "float", "--hidden", "128", "--epochs", "10", "--lr", "2e-3"],
    "denseshift3": ["--quant", "denseshift", "--bits", "3", "--epochs", "8", "--lr", "1e-3",
                    "--warmup", "100"],
    # the seventh: 6 + 5 more DenseShift epochs with the closed-set word
    # cross-entropy (train.train.WordCE) beside CTC, on the data seed 2
    # cache (other augmented copies of the same clips).
    "wordce": _wordce(6, "4e-4", 2, 1),
    # then 5 epochs with the term's weight 2 on the seed 1 features again
    "wordce2": _wordce(5, "3e-4", 1, 2),
    # the eighth: 8 more on the data seed 3 cache, then 6 at lr 2e-4 on seed 4
    # (session 8 started the first of these from the seventh's model file,
    # --init-from models/default.svxm, its checkpoint being gone)
    "wordce3": _wordce(8, "3e-4", 3, 2),
    "wordce4": _wordce(6, "2e-4", 4, 2),
    # the ninth (session 10): 6 more at lr 2e-4 on the seed 5 cache with
    # stronger regularisation: vocal tract length perturbation (+-10 %, half
    # the items) and wider SpecAugment masks (10 mel bins, 15 frames).  The
    # same stage without them (session 8's control) gave 92.24 %, with them
    # 93.27 %; run again on data seeds 1 and 2 (session 11) 92.67 and 92.79 %:
    # the three average the eighth's 92.85 %, so the ninth is the top of a
    # spread, not a systematic gain (held-out dev, models/README.md)
    "wordreg5": _wordce(6, "2e-4", 5, 2) + ["--vtlp", "0.1", "--specaug-f", "10",
                                           "--specaug-t", "15"],
}
# the stages after "wordce", in order; the last one is the shipped model
STAGES = ("wordce2", "wordce3", "wordce4", "wordreg5")
# The comparison table: every quantiser fine-tuned from the same float
# checkpoint with the same budget as each other (--max-batches per epoch).
COMPARE = [("float", 32), ("denseshift", 3), ("denseshift", 2), ("denseshift", 4),
           ("deepshift-q", 3), ("deepshift-q", 4),
           ("deepshift-ps", 3), ("deepshift-ps", 4)]


def evaluate_all(model, train_items, dev):
    """Dev 12-class accuracy raw and with the score bias calibrated on the
    training set's real and silence items (never on dev), overall and on the
    dev clips whose speaker never occurs in training."""
    from .evaluate import calibrate_bias, calibration_items, dev_report, logprobs, word_scores
    from .vocab import LABELS12
    bias, train_acc = calibrate_bias(model, calibration_items(train_items))
    dev = [it for it in dev if it.get("label12") in LABELS12]
    return dict(dev_report(dev, word_scores(logprobs(model, dev)), bias),
                calibration_train_acc=train_acc)


def recipe_pause_thresholds(ckpt, train_items, max_items=500):
    """The exported model's stream pause thresholds (train/evaluate.py
    pause_thresholds), measured on the training set's _silence_ items and on
    digital zero (a muted microphone), never on dev."""
    import numpy as np
    from .evaluate import pause_thresholds
    from .frontend import Frontend
    from .model import load_checkpoint_model
    model, _ = load_checkpoint_model(ckpt)
    sil = [it["feats"] for it in train_items if it.get("source") == "silence"][:max_items]
    sil.append(Frontend().compute(np.zeros(16000, np.float32)))
    return pause_thresholds(model.eval(), sil)


def recipe_data(common, log):
    """The recipe's training and dev items (data seed 1) and the ids of the dev
    speakers trained on."""
    from .train import add_args, load_datasets
    data_args = add_args(argparse.ArgumentParser()).parse_args(common)
    tr, dev, _ = load_datasets(data_args, log)
    dev_trained = list(getattr(tr, "recipe", {}).get("dev_trained_speakers", []))
    return data_args, list(tr), list(dev), dev_trained


def recipe_meta(ckpt, bias, train_items, dev_trained):
    """The exported model's metadata: the 12-class score bias, the stream pause
    thresholds (both measured on training data) and the dev speakers trained on."""
    return {"eval_bias": bias, "pause": recipe_pause_thresholds(ckpt, train_items),
            "dev_trained_speakers": dev_trained}


def run_recipe(what, argv):
    import os
    from .export import export_checkpoint
    from .train import Log, add_args, load_datasets, train
    p = argparse.ArgumentParser(prog="python3 -m train " + what)
    p.add_argument("--runs", default="train/runs/recipe")
    p.add_argument("--model", default="models/default.svxm")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--float-epochs", type=int, default=None)
    p.add_argument("--qat-epochs", type=int, default=None)
    p.add_argument("--wordce-epochs", type=int, default=None,
                   help="epochs of each word cross-entropy stage (default: the recipe's "
                   "%s)" % ", ".join(RECIPE[st][RECIPE[st].index("--epochs") + 1]
                                     for st in ("wordce",) + STAGES))
    p.add_argument("--max-batches", type=int, default=0,
                   help="compare: batches per fine-tuning epoch (0: all)")
    a = p.parse_args(argv)
    os.makedirs(a.runs, exist_ok=True)
    log = Log(os.path.join(a.runs, "recipe.log"))
    common = ["--quiet"] + (["--quick"] if a.quick else [])
    data_args, tr, dev, dev_trained = recipe_data(common, log)
    log("dev speakers trained on: %d (their clips left the dev set)" % len(dev_trained))
    results_path = os.path.join(a.runs, "results.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}

    def run(name, extra, epochs_override):
        args = list(extra) + common + ["--out", os.path.join(a.runs, name), "--resume"]
        if epochs_override is not None:
            args += ["--epochs", str(epochs_override)]
        if a.quick:
            args += ["--epochs", "1"]
        targs = add_args(argparse.ArgumentParser()).parse_args(args)
        log("== %s: %s" % (name, " ".join(args)))
        items = tr
        if targs.seed != data_args.seed:     # a stage on another seed's augmented copies
            items = list(load_datasets(targs, log)[0])
        model, hist = train(targs, items, dev, log)
        results[name] = dict(evaluate_all(model, tr, dev), args=args, history=hist,
                             weights=model.n_weights())
        with open(results_path, "w") as f:
            json.dump(results, f, indent=1)
        log("%s: dev 12-class accuracy %.4f raw, %.4f with the training-set bias %s, "
            "%.4f on speaker-disjoint dev" % (name, results[name]["dev_acc12_raw"],
                                              results[name]["dev_acc12"], results[name]["bias"],
                                              results[name]["dev_acc12_unseen_speakers"]))
        return os.path.join(a.runs, name, "last.pt")

    float_ck = run("float", RECIPE["float"], a.float_epochs)
    init = ["--init-from", float_ck]
    if what == "recipe":
        ck = run("denseshift3", RECIPE["denseshift3"] + init, a.qat_epochs)
        ck = run("wordce", RECIPE["wordce"] + ["--init-from", ck], a.wordce_epochs)
        for stage in STAGES:
            ck = run(stage, RECIPE[stage] + ["--init-from", ck], a.wordce_epochs)
        meta = recipe_meta(ck, results[STAGES[-1]]["bias"], tr, dev_trained)
        log("stream pause thresholds: %s" % json.dumps(meta["pause"]))
        n = export_checkpoint(ck, a.model, meta)
        log("exported %s: %d bytes" % (a.model, n))
    else:
        for q, b in COMPARE:
            extra = list(RECIPE["denseshift3"])
            extra[1], extra[3] = q, str(b if q != "float" else 3)
            if a.max_batches:
                extra += ["--max-batches", str(a.max_batches)]
            extra += ["--no-eval"]      # evaluated once at the end (evaluate_all)
            run("cmp-float" if q == "float" else "cmp-%s%d" % (q, b), extra + init,
                a.qat_epochs)
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(2)
    if argv and argv[0] == "export":
        from .export import export_checkpoint
        p = argparse.ArgumentParser(prog="python3 -m train export")
        p.add_argument("checkpoint")
        p.add_argument("out")
        p.add_argument("--meta", action="store_true",
                       help="also write the recipe's metadata, measured on the training set "
                       "(never dev): the 12-class score bias, the stream pause thresholds and "
                       "the dev speakers trained on")
        a = p.parse_args(argv[1:])
        meta = None
        if a.meta:
            from .model import load_checkpoint_model
            from .train import Log
            log = Log(None)
            _, tr, dev, dev_trained = recipe_data(["--quiet"], log)
            model, _ = load_checkpoint_model(a.checkpoint)
            r = evaluate_all(model.eval(), tr, dev)
            meta = recipe_meta(a.checkpoint, r["bias"], tr, dev_trained)
            log("dev 12-class accuracy %.4f raw, %.4f with the training-set bias %s; "
                "pause %s" % (r["dev_acc12_raw"], r["dev_acc12"], r["bias"],
                              json.dumps(meta["pause"])))
        n = export_checkpoint(a.checkpoint, a.out, meta)
        print("%s: %d bytes" % (a.out, n))
        return 0
    if argv and argv[0] == "eval":
        from .train import Log, add_args, init_source, load_datasets
        p = add_args(argparse.ArgumentParser(prog="python3 -m train eval"))
        p.add_argument("checkpoint", help="train/train.py checkpoint or model file (.svxm)")
        p.add_argument("--json", default=None, help="write the full report here")
        p.add_argument("--train-fit", action="store_true",
                       help="also the accuracy on a quarter of the clean training clips and "
                       "of their augmented copies (train.evaluate.train_fit)")
        a = p.parse_args(argv[1:])
        model = init_source(a.checkpoint, [])
        tr, dev, _ = load_datasets(a, Log(None))
        r = evaluate_all(model.eval(), list(tr), list(dev))
        if a.train_fit:
            from .evaluate import bias_vector, train_fit
            r["train_fit"] = train_fit(model, tr, bias_vector(**r["bias"]))
        if a.json:
            with open(a.json, "w") as f:
                json.dump(r, f, indent=1)
        print(json.dumps({k: v for k, v in r.items() if k != "confusion"}, indent=1))
        return 0
    if argv and argv[0] in ("recipe", "compare"):
        return run_recipe(argv[0], argv[1:])
    from .train import add_args, train
    p = add_args(argparse.ArgumentParser(prog="python3 -m train"))
    a = p.parse_args(argv)
    if a.quick:
        a.epochs = min(a.epochs, 1)
    model, hist = train(a)
    if a.export:
        from .export import export_checkpoint
        import os
        n = export_checkpoint(os.path.join(a.out, "last.pt"), a.export)
        print("%s: %d bytes" % (a.export, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
