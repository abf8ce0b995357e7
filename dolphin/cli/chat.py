"""``dolphin chat``: the CHAT vocabulary, mimic scans and (part B) live sessions.

Each action is a module ``dolphin.cli.chat_<name>`` listed in :data:`CHAT_COMMANDS` that defines
``add_parser(subparsers)``; this module only gathers them under ``dolphin chat``.
"""

from __future__ import annotations

import argparse
import importlib

#: Actions of ``dolphin chat``, one module ``dolphin.cli.chat_<name>`` each.
CHAT_COMMANDS = ("vocab", "scan", "session", "devices")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``chat`` subcommand and its actions."""
    parser = subparsers.add_parser(
        "chat",
        help="CHAT: whistle vocabulary, mimic detection, sessions",
        description="Design a whistle vocabulary, recognise dolphins' imitations of it in "
        "recordings and live streams (whistled, clicked or burst-pulsed).",
    )
    actions = parser.add_subparsers(dest="chat_command", required=True, metavar="ACTION")
    for name in CHAT_COMMANDS:
        importlib.import_module(f"dolphin.cli.chat_{name}").add_parser(actions)
