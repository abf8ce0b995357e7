"""``dolphin detect``: whistles, burst pulses, buzzes and click trains into Raven tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from dolphin.errors import DolphinError

#: ``--precision`` choices: dolphin.detect.classifier.PRECISIONS (which imports torch).
PRECISIONS = ("float32", "bfloat16", "auto")

if TYPE_CHECKING:
    pass


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``detect`` subcommand."""
    parser = subparsers.add_parser(
        "detect",
        help="detect whistles and pulsed sounds, write Raven selection tables",
        description="Run the whistle tracker, click detector and click-train grouping over a "
        "recording (or every recording of a folder) block by block, and write a Raven "
        "selection table, a contour JSONL file and optionally CSV / JSON. At 88.2 kHz and "
        "above the CNN event classifier then keeps, relabels or rejects the events and adds "
        "pulsed sounds the detectors missed (--classifier). Folder runs skip recordings "
        "already done, so a killed run resumes. Extra KEY=VALUE arguments are Hydra "
        "overrides of conf/config.yaml (e.g. detect.clicks.threshold_db=15); give them right "
        "after INPUT or put the options first.",
    )
    parser.add_argument("input", type=Path, help="audio file, or a folder of them")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        help="selection table (file input) or output folder (folder input)",
    )
    parser.add_argument(
        "--format",
        nargs="+",
        choices=("raven", "csv", "json"),
        default=["raven"],
        help="also write <base>.detections.csv / .json (the Raven table is always written)",
    )
    parser.add_argument("--channel", type=int, help="0-based channel analysed (detect.channel)")
    parser.add_argument("--block-s", type=float, help="seconds read per block (detect.block_s)")
    parser.add_argument(
        "--shard",
        help="I/N: process every N-th recording from the I-th (default: RANK/WORLD_SIZE)",
    )
    parser.add_argument(
        "--catalogue",
        type=Path,
        help="signature catalogue labelling whistles with animals (needs dolphin.detect.catalogue)",
    )
    parser.add_argument(
        "--classifier",
        help="second-stage event classifier: a shipped name (default), a model folder, or none "
        "(default: the shipped 'default' when it ships, else none)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="classifier inference precision (default: the model's, float32); bfloat16 or auto "
        "run ~10 %% faster on CPUs with AMX or AVX512-BF16, probabilities within ~0.01",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Hydra overrides")
    parser.set_defaults(func=run)


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """Translate the named flags into Hydra overrides; explicit KEY=VALUE ones come last."""
    flags = {"detect.channel": args.channel, "detect.block_s": args.block_s}
    overrides = [f"{key}={value}" for key, value in flags.items() if value is not None]
    if args.no_progress:
        overrides.append("progress=false")
    return overrides + list(args.overrides)


def run(args: argparse.Namespace) -> int:
    """Compose the config, detect, write the files and print a summary."""
    from dolphin.config import load_config
    from dolphin.detect.batch import (
        catalogue_labeller,
        detect_recording,
        parse_shard,
        run_folder,
        shard_from_env,
    )
    from dolphin.detect.outputs import OutputPaths

    cfg = load_config(overrides_from_args(args))
    formats = tuple(args.format)
    from dolphin.hub import select_classifier

    classifier, classifier_id = select_classifier(args.classifier)
    if classifier is not None and args.precision:
        classifier.config.precision = args.precision
        classifier_id += f" precision={args.precision}"  # part of the done-markers' digest
    labeller = catalogue_labeller(args.catalogue) if args.catalogue else None
    if args.input.is_dir():
        shard = parse_shard(args.shard) if args.shard else shard_from_env()
        report = run_folder(
            args.input,
            args.out,
            cfg.detect,
            formats=formats,
            shard=shard,
            labeller=labeller,
            labeller_id=str(args.catalogue or ""),
            progress=cfg.progress,
            classifier=classifier,
            classifier_id=classifier_id,
        )
        print(
            f"{report.n_done} recording(s) done ({report.n_events} events), "
            f"{report.n_skipped} already done, {len(report.failed)} failed "
            f"[shard {shard[0]}/{shard[1]}: {report.n_files} of the folder's recordings]"
        )
        for _, reason in report.failed:
            print(f"dolphin detect: failed: {reason}", file=sys.stderr)
        if report.failed:
            raise DolphinError(f"{len(report.failed)} of {report.n_files} recording(s) failed")
        return 0
    if args.out.is_dir():
        raise DolphinError(f"{args.out}: is a folder; give a table file for a single recording")
    if args.shard:
        raise DolphinError("--shard applies to folder input only")
    found = detect_recording(
        args.input,
        OutputPaths.for_table(args.out),
        cfg.detect,
        formats=formats,
        labeller=labeller,
        progress=cfg.progress,
        classifier=classifier,
    )
    print(f"{len(found.events)} events in {found.duration_s:.1f} s written to {args.out}")
    return 0
