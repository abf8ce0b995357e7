#!/usr/bin/env python3
"""Play a recording (one channel) into an output device, streaming it from disk.

python field_tools/replay.py session/audio/chat_20240501T093000.000000Z.flac --output 3
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dolphin.chat.live import play_file
from dolphin.errors import DolphinError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="audio file (WAV, W64, RF64, FLAC)")
    parser.add_argument("--output", help="output device: index or name (default output)")
    parser.add_argument("--channel", type=int, default=0, help="0-based channel of the file")
    parser.add_argument("--out-channel", type=int, default=0, help="0-based output channel")
    parser.add_argument("--gain-db", type=float, default=0.0, help="gain applied, dB")
    args = parser.parse_args(argv)
    try:
        seconds = play_file(
            args.file,
            device=args.output,
            channel=args.channel,
            out_channel=args.out_channel,
            gain_db=args.gain_db,
        )
    except DolphinError as err:
        print(f"replay: error: {err}", file=sys.stderr)
        return 2
    print(f"played {seconds:.1f} s of {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
