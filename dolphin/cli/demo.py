"""``dolphin demo``: run the whole package on a short scene (or a recording), write a report."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="one short tour of the package, ending in a Markdown report",
        description="Build a labelled synthetic scene (or take --input), round-trip it through "
        "the codec and continue it with the LM when those ship, detect and tag events, find "
        "whistle types and signature whistles, rehearse a CHAT session, and write "
        "OUT/RUN/report.md with figures. Extra KEY=VALUE arguments are Hydra overrides of "
        "conf/demo.yaml (e.g. synth.duration_s=10 demo.codec=none).",
    )
    parser.add_argument("--input", help="your own recording instead of the scene (demo.input)")
    parser.add_argument("--channel", type=int, help="0-based channel of --input")
    parser.add_argument("--out", help="parent of the run folders (demo.out_root)")
    parser.add_argument("--name", help="run folder name (demo.run_name; default: UTC time)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Hydra overrides")
    parser.set_defaults(func=run)


def overrides_from_args(args: argparse.Namespace) -> list[str]:
    """Translate the named flags into Hydra overrides; explicit KEY=VALUE ones come last."""
    flags = {
        "demo.input": args.input,
        "demo.input_channel": args.channel,
        "demo.out_root": args.out,
        "demo.run_name": args.name,
    }
    # quoted so that paths with '=' or ',' survive Hydra's override grammar
    overrides = [f"{k}={_quote(v)}" for k, v in flags.items() if v is not None]
    if args.no_progress:
        overrides.append("progress=false")
    return overrides + list(args.overrides)


def _quote(value: object) -> str:
    text = str(value)
    if isinstance(value, str) and "'" not in text:
        return f"'{text}'"
    return text


def run(args: argparse.Namespace) -> int:
    """Compose the config, run the demo and say where the report is."""
    from dolphin.demo import load_demo_config, run_demo

    if args.input is not None and not args.input.strip():
        from dolphin.errors import DolphinError

        raise DolphinError("--input is empty; give the path of a recording")
    result = run_demo(load_demo_config(overrides_from_args(args)))
    print(f"report: {result.report}")
    return 0
