"""Atomic JSON files: the one writer behind vocabularies, catalogues, calibrations and sessions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_json(path: str | Path, data: Any, *, indent: int = 1) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically (temporary file, then rename).

    A reader sees either the old file or the complete new one, never a partial file.

    Parameters
    ----------
    path : str or Path
        Destination; its folder is created if missing.
    data : Any
        JSON-serialisable value.
    indent : int
        Indentation of the JSON text.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=indent) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
