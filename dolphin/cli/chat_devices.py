"""``dolphin chat devices``: list the audio devices PortAudio sees (for --input / --output)."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``chat devices``."""
    parser = subparsers.add_parser(
        "devices",
        help="list audio input and output devices",
        description="List PortAudio devices with their channels, default rate and whether they "
        "record at 96 and 192 kHz; '<' marks the default input, '>' the default output. Give "
        "the index or a part of the name to --input / --output.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the device table."""
    from dolphin.chat.live import describe_devices

    print(describe_devices())
    return 0
