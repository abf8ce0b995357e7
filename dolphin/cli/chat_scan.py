"""``dolphin chat scan``: find imitations of the vocabulary in a recording, log them as JSONL.

    dolphin chat scan FILE --vocab VOCAB.json --log EVENTS.jsonl [--all] [KEY=VALUE ...]

Extra KEY=VALUE arguments are Hydra overrides of conf/config.yaml (``chat.matcher.threshold=0.8``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``chat scan``."""
    parser = subparsers.add_parser(
        "scan",
        help="run the mimic matcher over a recording, write a JSONL event log",
        description="Feed a recording block by block to the same streaming matcher a live "
        "session uses, as fast as possible, and log every judged whistle or pulse train.",
    )
    parser.add_argument("input", type=Path, help="audio file (WAV, RF64, W64, FLAC)")
    parser.add_argument("--vocab", type=Path, required=True, help="vocabulary JSON")
    parser.add_argument("--log", type=Path, required=True, help="JSONL event log to write")
    parser.add_argument("--channel", type=int, help="0-based channel (chat.input_channel)")
    parser.add_argument("--all", action="store_true", help="also print rejected sounds")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Hydra overrides")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Scan the file and print the imitations found."""
    from dolphin.chat.scan import scan_file
    from dolphin.chat.vocab import Vocabulary
    from dolphin.config import load_config

    overrides = list(args.overrides)
    if args.channel is not None:
        overrides.insert(0, f"chat.input_channel={args.channel}")
    cfg = load_config(overrides).chat
    vocab = Vocabulary.load(args.vocab)
    result = scan_file(args.input, vocab, cfg, args.log)
    for d in result.detections:
        if d.accepted or args.all:
            name = d.label if d.accepted else f"(rejected, nearest {d.nearest_label})"
            print(
                f"{d.start_s:9.3f}-{d.end_s:9.3f} s  {d.kind:<11} {name:<24} "
                f"distance {d.distance:.2f}  confidence {d.confidence:.2f}"
            )
    print(
        f"{len(result.accepted)} imitation(s) among {len(result.detections)} sounds in "
        f"{result.duration_s:.1f} s ({result.speed:.0f}x real time); log: {args.log}"
    )
    return 0
