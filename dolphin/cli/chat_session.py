"""``dolphin chat session``: a live CHAT session (record, recognise mimics, emit, log, tell).

    dolphin chat session --vocab V.json [--input DEVICE | --replay FILE | --simulate]
        [--output DEVICE] [--channel N] [--sample-rate HZ] [--duration-s S] [--session-dir DIR]
        [--schedule 5=scarf,12=rope] [--level-dbfs L] [--calibration CAL.json]
        [--feedback speech|beep|print|none] [--cue-output DEVICE] [KEY=VALUE ...]

Extra KEY=VALUE arguments are Hydra overrides of conf/config.yaml (``chat.rotate_s=300``,
``chat.mute_tail_s=0.3``, ``chat.max_queue_s=5``); each flag overrides its ``chat.`` field.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from dolphin.chat.feedback import FEEDBACK_KINDS


def add_session_arguments(parser: argparse.ArgumentParser) -> None:
    """Input, output and recording options shared with ``field_tools/record.py``."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", help="input device: index or name (chat.input_device)")
    source.add_argument("--replay", type=Path, help="replay an audio file instead of a device")
    source.add_argument("--simulate", action="store_true", help="simulated input (no hardware)")
    parser.add_argument("--output", help="output device: index or name (chat.output_device)")
    parser.add_argument("--channel", type=int, help="0-based input channel (chat.input_channel)")
    parser.add_argument("--sample-rate", type=int, help="Hz, 96000 or 192000 (chat.sample_rate)")
    parser.add_argument("--duration-s", type=float, help="stop after this much audio")
    parser.add_argument("--session-dir", help="folder of sessions (chat.session_dir)")
    parser.add_argument("--rotate-s", type=float, help="seconds per audio file (chat.rotate_s)")
    parser.add_argument(
        "--format", choices=("FLAC", "W64", "WAV", "RF64"), help="audio files (chat.audio_format)"
    )
    parser.add_argument(
        "--fast", action="store_true", help="replay / simulate as fast as possible, not real time"
    )
    parser.add_argument("--no-view", action="store_true", help="no live view")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Hydra overrides")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``chat session``."""
    parser = subparsers.add_parser(
        "session",
        help="run a live session: record, recognise mimics, emit whistles, log",
        description="Record the hydrophone gaplessly into rotated files, recognise imitations "
        "of the vocabulary, emit vocabulary whistles on keys 1-9 or a schedule, log everything "
        "to events.jsonl (safe against kill -9) and announce detections. q, Ctrl-C or SIGTERM "
        "stop it cleanly.",
    )
    parser.add_argument("--vocab", type=Path, required=True, help="vocabulary JSON")
    add_session_arguments(parser)
    parser.add_argument("--schedule", help="emissions at stream times: 5=scarf,12.5=rope")
    parser.add_argument(
        "--level-dbfs",
        type=float,
        help="emission RMS level, dB re full scale (chat.emit_level_dbfs)",
    )
    parser.add_argument(
        "--calibration", type=Path, help="loopback calibration JSON (chat.calibration)"
    )
    parser.add_argument("--feedback", choices=FEEDBACK_KINDS, help="(chat.feedback)")
    parser.add_argument(
        "--cue-output",
        "--cue-device",
        dest="cue_output",
        help="headphones for cues and speech, never the underwater speaker (chat.cue_device)",
    )
    parser.add_argument(
        "--simulate-every-s",
        type=float,
        help="with --simulate: an imitation of a random entry every so many seconds",
    )
    parser.set_defaults(func=run)


def chat_config(args: argparse.Namespace):
    """``cfg.chat`` with the Hydra overrides, then the named flags, applied."""
    from dolphin.config import load_config

    cfg = load_config(list(args.overrides)).chat
    flags = {
        "input_device": args.input,
        "output_device": args.output,
        "input_channel": args.channel,
        "sample_rate": args.sample_rate,
        "session_dir": args.session_dir,
        "rotate_s": args.rotate_s,
        "audio_format": args.format,
    }
    session_flags = {  # absent from field_tools/record.py
        "feedback": "feedback",
        "emit_level_dbfs": "level_dbfs",
        "calibration": "calibration",
        "cue_device": "cue_output",
    }
    for name, flag in session_flags.items():
        value = getattr(args, flag, None)
        flags[name] = str(value) if isinstance(value, Path) else value
    return dataclasses.replace(cfg, **{k: v for k, v in flags.items() if v is not None})


def print_summary(result) -> None:
    """What a session did, in a few lines."""
    accepted = [d for d in result.detections if getattr(d, "accepted", True)]
    print(
        f"{result.duration_s:.1f} s recorded in {len(result.files)} file(s), "
        f"{len(accepted)} imitation(s) of {len(result.detections)} sounds judged, "
        f"{len(result.emissions)} emission(s), {result.stats.n_overruns} overrun(s); "
        f"stopped by {result.stopped_by}; session: {result.folder}"
    )


def run(args: argparse.Namespace) -> int:
    """Build the session, run it, print a summary."""
    from dolphin.chat.live import build_session, run_session
    from dolphin.chat.vocab import Vocabulary

    cfg = chat_config(args)
    session = build_session(
        cfg,
        vocab=Vocabulary.load(args.vocab),
        replay=args.replay,
        simulate=args.simulate,
        realtime=not args.fast,
        schedule=args.schedule,
        view=not args.no_view,
        simulate_every_s=args.simulate_every_s,
        duration_s=args.duration_s,
    )
    print_summary(run_session(session, duration_s=args.duration_s))
    return 0
