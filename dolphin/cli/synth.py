"""``dolphin synth``: write labelled synthetic dolphin scenes (audio, Raven tables, manifest)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``synth`` subcommand."""
    parser = subparsers.add_parser(
        "synth",
        help="write labelled synthetic scenes",
        description="Write synthetic dolphin scenes with Raven selection tables and a manifest. "
        "Extra KEY=VALUE arguments are Hydra overrides of conf/config.yaml "
        "(e.g. synth.burst_pulse_rate_per_min=4 experiment=tiny).",
    )
    parser.add_argument("--out", help="output folder (config: out_dir)")
    parser.add_argument("--duration-s", type=float, help="seconds per file (synth.duration_s)")
    parser.add_argument(
        "--sample-rate",
        type=int,
        help="Hz, 16000-500000; hydrophone work uses 48000-384000 (synth.sample_rate)",
    )
    parser.add_argument("--seed", type=int, help="random seed (synth.seed)")
    parser.add_argument("--n-files", type=int, help="number of files (n_files)")
    parser.add_argument("--channels", type=int, help="channels per file (synth.n_channels)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Hydra overrides")
    parser.set_defaults(func=run)


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """Translate the named flags into Hydra overrides; explicit KEY=VALUE ones come last."""
    flags = {
        "out_dir": args.out,
        "synth.duration_s": args.duration_s,
        "synth.sample_rate": args.sample_rate,
        "synth.seed": args.seed,
        "n_files": args.n_files,
        "synth.n_channels": args.channels,
    }
    overrides = [f"{key}={value}" for key, value in flags.items() if value is not None]
    if args.no_progress:
        overrides.append("progress=false")
    return overrides + list(args.overrides)


def run(args: argparse.Namespace) -> int:
    """Compose the config, write the dataset and print a summary."""
    from dolphin.config import load_config
    from dolphin.synth.dataset import write_dataset

    cfg = load_config(overrides_from_args(args))
    manifest = write_dataset(cfg.out_dir, cfg.synth, n_files=cfg.n_files, progress=cfg.progress)
    print(f"wrote {len(manifest.files)} file(s) to {cfg.out_dir}")
    return 0
