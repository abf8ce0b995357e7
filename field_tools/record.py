#!/usr/bin/env python3
"""Record the hydrophone gaplessly into rotated files with an event log; no matching, no emission.

    python field_tools/record.py --input "Fireface" --channel 0 --sample-rate 192000 \
        --session-dir recordings --rotate-s 300 --format FLAC

Stop with q, Ctrl-C or SIGTERM (files are closed cleanly); even kill -9 leaves readable files.
"""

from __future__ import annotations

import argparse
import sys

from dolphin.chat.live import build_session, run_session
from dolphin.cli.chat_session import add_session_arguments, chat_config, print_summary
from dolphin.errors import DolphinError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_session_arguments(parser)
    args = parser.parse_args(argv)
    try:
        session = build_session(
            chat_config(args),
            vocab=None,
            replay=args.replay,
            simulate=args.simulate,
            realtime=not args.fast,
            match=False,
            view=not args.no_view,
        )
        print_summary(run_session(session, duration_s=args.duration_s))
    except DolphinError as err:
        print(f"record: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
