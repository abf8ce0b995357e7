"""The ``dolphin`` console script: dispatches to one subcommand module each."""

from __future__ import annotations

import argparse
import sys

from dolphin import __version__
from dolphin.errors import DolphinError

#: Subcommand modules in ``dolphin.cli``; each defines ``add_parser(subparsers)``.
SUBCOMMANDS = ("synth", "info", "codec", "whistles", "train", "detect", "lm", "chat", "demo")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand registered."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="dolphin", description="Open research tools for dolphin sound."
    )
    parser.add_argument("--version", action="version", version=f"dolphin {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"dolphin.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 2 bad input or config)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # ``KEY=VALUE`` overrides may come after options (``detect IN --out X a=b``); argparse
    # stops filling a positional list at the first option, so collect the rest here.
    if extra:
        stray = [item for item in extra if item.startswith("-") or "=" not in item]
        if stray or not hasattr(args, "overrides"):
            parser.error(f"unrecognized arguments: {' '.join(stray or extra)}")
        args.overrides = [*args.overrides, *extra]
    try:
        return int(args.func(args) or 0)
    except DolphinError as err:
        print(f"dolphin {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dolphin {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
