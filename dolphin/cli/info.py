"""``dolphin info FILE...``: print an audio file's metadata."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``info`` subcommand."""
    parser = subparsers.add_parser("info", help="show sample rate, channels, duration, format")
    parser.add_argument(
        "files", nargs="+", metavar="FILE", help="audio files (WAV, RF64, W64, FLAC)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one block (or JSON line) of metadata per file."""
    from dolphin.audio.io import audio_info

    for path in args.files:
        info = audio_info(path)
        fields = {
            "path": str(info.path),
            "format": info.format,
            "subtype": info.subtype,
            "bit_depth": info.bit_depth,
            "sample_rate": info.sample_rate,
            "channels": info.n_channels,
            "frames": info.n_frames,
            "duration_s": round(info.duration_s, 6),
            "start_time": info.start_time.isoformat() if info.start_time else None,
        }
        if args.json:
            print(json.dumps(fields))
        else:
            width = max(len(key) for key in fields)
            print("\n".join(f"{key:<{width}}  {value}" for key, value in fields.items()))
            print()
    return 0
