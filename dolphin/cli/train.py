"""``dolphin train``: train a model from the Hydra config (``task=codec``), resuming when killed."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train a model (task=codec, lm or classifier)",
        description="Train a model. Arguments are Hydra overrides of conf/config.yaml, e.g. "
        "`dolphin train task=codec codec=tiny train=debug train.run_dir=runs/x` or "
        "`dolphin train task=lm lm=tiny lm_train.codec=runs/x/model`. "
        "A run killed at any point resumes from the newest checkpoint in train.run_dir. "
        "For sweeps and cluster launchers use `python -m dolphin.train.app -m ...`; for "
        "several GPUs `torchrun --nproc_per_node=N -m dolphin.train.app ...`.",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Hydra overrides")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compose the config and run the task's training loop."""
    from dolphin.config import compose
    from dolphin.train.app import run_task

    overrides = list(args.overrides) + (["progress=false"] if args.no_progress else [])
    out = run_task(compose(overrides))
    print(f"model written to {out}")
    return 0
