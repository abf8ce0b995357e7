#!/usr/bin/env python3
"""List the audio devices PortAudio sees: the same as ``dolphin chat devices``.

python field_tools/list_devices.py
"""

from __future__ import annotations

import sys

from dolphin.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["chat", "devices", *sys.argv[1:]]))
