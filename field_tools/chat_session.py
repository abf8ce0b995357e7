#!/usr/bin/env python3
"""Run a live CHAT session: the same as ``dolphin chat session`` (see ``--help``).

    python field_tools/chat_session.py --vocab vocab.json --input "Fireface" --output "Fireface" \
        --sample-rate 96000 --calibration calibration.json --session-dir sessions
"""

from __future__ import annotations

import sys

from dolphin.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["chat", "session", *sys.argv[1:]]))
