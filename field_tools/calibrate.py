#!/usr/bin/env python3
"""Measure the loopback level and delay of a test tone and save them as a calibration JSON.

Connect the output to the input (a cable with an attenuator, or speaker and hydrophone in the
water), then:

    python field_tools/calibrate.py --input "Fireface" --output "Fireface" --sample-rate 96000 \
        --out calibration.json

and give ``--calibration calibration.json`` to chat_session.py: emission levels then mean the
level the hydrophone records, and emission times the moment the whistle reaches it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from dolphin.chat.live import calibrate_loopback
from dolphin.config import load_config
from dolphin.errors import DolphinError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="calibration JSON to write")
    parser.add_argument("--input", help="input device: index or name (chat.input_device)")
    parser.add_argument("--output", help="output device: index or name (chat.output_device)")
    parser.add_argument("--channel", type=int, help="0-based input channel")
    parser.add_argument("--sample-rate", type=int, help="Hz (the rate sessions will use)")
    parser.add_argument("--tone-hz", type=float, default=10000.0, help="test tone, Hz")
    parser.add_argument("--level-dbfs", type=float, default=-20.0, help="tone RMS level, dBFS")
    parser.add_argument("--duration-s", type=float, default=1.0, help="tone length, s")
    args = parser.parse_args(argv)
    flags = {
        "input_device": args.input,
        "output_device": args.output,
        "input_channel": args.channel,
        "sample_rate": args.sample_rate,
    }
    try:
        cfg = load_config().chat
        cfg = dataclasses.replace(cfg, **{k: v for k, v in flags.items() if v is not None})
        cal = calibrate_loopback(
            cfg,
            args.out,
            tone_hz=args.tone_hz,
            level_dbfs=args.level_dbfs,
            duration_s=args.duration_s,
        )
    except DolphinError as err:
        print(f"calibrate: error: {err}", file=sys.stderr)
        return 2
    print(
        f"loopback gain {cal.offset_db:+.1f} dB (tone {cal.output_dbfs:.1f} dBFS out, "
        f"{cal.measured_dbfs:.1f} dBFS in, noise {cal.noise_dbfs:.1f} dBFS), delay "
        f"{cal.delay_s * 1e3:+.2f} ms; saved to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
