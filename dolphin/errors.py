"""Exceptions raised by dolphin, each naming the file or key and the problem."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any


class DolphinError(Exception):
    """Base class of all errors raised on purpose by the package."""


class AudioFileError(DolphinError, ValueError):
    """An audio file is missing, empty, truncated, corrupt or holds unusable samples.

    Parameters
    ----------
    path : str or Path
        The offending file.
    problem : str
        What is wrong, in a few words (``"file is empty (0 bytes)"``).
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class AnnotationError(DolphinError, ValueError):
    """A selection table or contour file cannot be read or written."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(DolphinError, ValueError):
    """A configuration key or value is wrong (misspelt key, value out of range)."""


def unknown_keys(kind: type, data: dict[str, Any]) -> list[str]:
    """Sorted keys of ``data`` that are not fields of the dataclass ``kind`` (misspelt keys)."""
    return sorted(set(data) - {f.name for f in fields(kind)})
