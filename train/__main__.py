"""`python3 -m train ...` — train (and optionally export) a model.

    /usr/bin/python3 -m train --quant float --epochs 20 --out train/runs/float
    /usr/bin/python3 -m train --quant denseshift --bits 3 \
        --init-from train/runs/float/last.pt --out train/runs/ds3 --export models/default.svxm
    /usr/bin/python3 -m train recipe          # the default model's full recipe (make train)
    /usr/bin/python3 -m train eval CKPT       # 12-class accuracy on dev
    /usr/bin/python3 -m train export CKPT OUT # write a model file
"""
import argparse
import json
import sys

import torch


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(2)
    if argv and argv[0] == "export":
        from .export import export_checkpoint
        p = argparse.ArgumentParser(prog="python3 -m train export")
        p.add_argument("checkpoint")
        p.add_argument("out")
        a = p.parse_args(argv[1:])
        n = export_checkpoint(a.checkpoint, a.out)
        print("%s: %d bytes" % (a.out, n))
        return 0
    if argv and argv[0] == "eval":
        from .model import load_checkpoint_model
        from .train import Log, add_args, load_datasets
        from .evaluate import accuracy12
        p = add_args(argparse.ArgumentParser(prog="python3 -m train eval"))
        p.add_argument("checkpoint")
        a = p.parse_args(argv[1:])
        model, _ = load_checkpoint_model(a.checkpoint)
        _, dev, _ = load_datasets(a, Log(None))
        r = accuracy12(model, dev)
        print(json.dumps({k: r[k] for k in ("accuracy", "n", "recall")}, indent=1))
        return 0
    if argv and argv[0] == "recipe":
        from .recipe import run_recipe
        return run_recipe(argv[1:])
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
