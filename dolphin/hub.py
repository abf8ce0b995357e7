"""Shipped default weights: where they live, which exist, and loading them by name or folder.

Weights ship as package data under ``dolphin/weights/<kind>/<name>/``; a codec folder holds
``config.json`` and ``model.safetensors`` (written by :meth:`dolphin.codec.Codec.save`, no
pickle) and a ``MODEL_CARD.md`` saying what it was trained on and how well it does::

    dolphin/weights/codec/default/config.json
    dolphin/weights/codec/default/model.safetensors
    dolphin/weights/codec/default/MODEL_CARD.md

The event classifier ships the same way (``dolphin/weights/classifier/default/``, written by
:meth:`dolphin.detect.classifier.EventClassifier.save`; :func:`load_classifier`), and so does the
sound-token LM (``dolphin/weights/lm/default/``, written by
:meth:`dolphin.lm.SoundLM.save_pretrained`, loaded by :meth:`dolphin.lm.SoundLM.from_pretrained`).

Every loader takes either a shipped *name* (``"default"``) or a *folder* on disk, so
``Codec.from_pretrained("default")`` and ``Codec.from_pretrained("runs/codec/final")`` both
work. A string without a path separator is a name first; it is taken as a folder only when no
shipped model has that name and the folder exists. A missing model raises
:class:`ModelNotFoundError` naming the folder and the files it looked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dolphin.errors import DolphinError

if TYPE_CHECKING:
    from dolphin.codec.model import Codec
    from dolphin.detect.classifier import EventClassifier

#: Root of the shipped weights (read at call time, so tests can point it elsewhere).
WEIGHTS_ROOT = Path(__file__).resolve().parent / "weights"
#: Files a model folder of each kind must hold.
REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "codec": ("config.json", "model.safetensors"),
    "classifier": ("config.json", "model.safetensors"),
    "lm": ("config.json", "model.safetensors"),
}
MODEL_CARD = "MODEL_CARD.md"
DEFAULT_NAME = "default"


class ModelNotFoundError(DolphinError, LookupError):
    """A shipped model name or a model folder does not exist or lacks files."""


@dataclass(frozen=True)
class ModelInfo:
    """One shipped model.

    Attributes
    ----------
    kind : str
        Model family (``"codec"``).
    name : str
        Name to pass to the loader (``"default"``).
    path : Path
        Folder holding the files.
    summary : str
        First non-heading line of ``MODEL_CARD.md`` ("" without a card).
    """

    kind: str
    name: str
    path: Path
    summary: str = ""


def _check_kind(kind: str) -> tuple[str, ...]:
    if kind not in REQUIRED_FILES:
        known = ", ".join(sorted(REQUIRED_FILES))
        raise ModelNotFoundError(f"unknown model kind {kind!r}; known kinds: {known}")
    return REQUIRED_FILES[kind]


def _missing(folder: Path, required: tuple[str, ...]) -> list[str]:
    return [name for name in required if not (folder / name).is_file()]


def _summary(folder: Path) -> str:
    card = folder / MODEL_CARD
    if not card.is_file():
        return ""
    for line in card.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return line
    return ""


def available_models(kind: str | None = None) -> list[ModelInfo]:
    """Shipped models whose folders hold every required file.

    Parameters
    ----------
    kind : str, optional
        Only this family (``"codec"``); all families by default.

    Returns
    -------
    list of ModelInfo
        Sorted by kind, then name; empty when no weights ship with this checkout.
    """
    kinds = [kind] if kind is not None else sorted(REQUIRED_FILES)
    found = []
    for k in kinds:
        required = _check_kind(k)
        root = Path(WEIGHTS_ROOT) / k
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            if not _missing(folder, required):
                found.append(ModelInfo(k, folder.name, folder, _summary(folder)))
    return found


def _is_name(value: str | os.PathLike) -> bool:
    """A plain string without path separators or a leading ``.``/``~`` names a shipped model."""
    if not isinstance(value, str) or not value:
        return False
    return not any(sep in value for sep in ("/", "\\", os.sep)) and value[0] not in ".~"


def _checked_folder(folder: Path, kind: str, required: tuple[str, ...]) -> Path:
    if not folder.exists():
        raise ModelNotFoundError(f"{folder}: no such {kind} folder")
    if not folder.is_dir():
        raise ModelNotFoundError(f"{folder}: is a file; give the folder holding {kind} weights")
    missing = _missing(folder, required)
    if missing:
        raise ModelNotFoundError(
            f"{folder}: not a saved {kind} (missing {', '.join(missing)}; "
            f"a {kind} folder holds {', '.join(required)})"
        )
    return folder


def model_dir(kind: str, name_or_path: str | os.PathLike = DEFAULT_NAME) -> Path:
    """Folder of a shipped model (by name) or of a saved model (by path), checked.

    Parameters
    ----------
    kind : str
        Model family (``"codec"``).
    name_or_path : str or PathLike
        Shipped name (``"default"``) or a folder written by the model's ``save``.

    Returns
    -------
    Path
        A folder holding every file :data:`REQUIRED_FILES` lists for ``kind``.

    Raises
    ------
    ModelNotFoundError
        Unknown kind, no shipped model of that name, or a folder missing or lacking files.
    """
    required = _check_kind(kind)
    if not _is_name(name_or_path):
        return _checked_folder(Path(name_or_path).expanduser(), kind, required)
    name = str(name_or_path)
    shipped = Path(WEIGHTS_ROOT) / kind / name
    if shipped.is_dir():
        return _checked_folder(shipped, kind, required)
    if Path(name).is_dir():  # a folder in the working directory that shadows no shipped name
        return _checked_folder(Path(name), kind, required)
    if name == DEFAULT_NAME:
        raise ModelNotFoundError(
            f"the default {kind} weights are not shipped in this checkout (looked for "
            f"{shipped}/{{{', '.join(required)}}}); pass the folder of a trained {kind} "
            "instead (written by save())"
        )
    names = [m.name for m in available_models(kind)]
    raise ModelNotFoundError(
        f"no shipped {kind} named {name!r} and no folder of that name; shipped {kind}s: "
        f"{', '.join(names) if names else 'none'}"
    )


def model_card(kind: str, name_or_path: str | os.PathLike = DEFAULT_NAME) -> str | None:
    """Text of a model's ``MODEL_CARD.md``, or None when it has none.

    Parameters
    ----------
    kind : str
        Model family (``"codec"``).
    name_or_path : str or PathLike
        Shipped name or folder, as for :func:`model_dir`.

    Returns
    -------
    str or None
    """
    card = model_dir(kind, name_or_path) / MODEL_CARD
    return card.read_text(encoding="utf-8") if card.is_file() else None


def load_codec(
    name_or_path: str | os.PathLike = DEFAULT_NAME, *, map_location: str = "cpu"
) -> Codec:
    """Load a shipped codec by name or a saved codec from its folder, in eval mode.

    Parameters
    ----------
    name_or_path : str or PathLike
        ``"default"`` (the shipped codec), another shipped name, or a folder written by
        :meth:`dolphin.codec.Codec.save`.
    map_location : str
        Device of the loaded weights.

    Returns
    -------
    Codec

    Raises
    ------
    ModelNotFoundError
        The model does not exist or its folder lacks files.
    """
    from dolphin.codec.model import Codec

    return Codec.load(model_dir("codec", name_or_path), map_location=map_location)


def load_classifier(
    name_or_path: str | os.PathLike = DEFAULT_NAME, *, map_location: str = "cpu"
) -> EventClassifier:
    """Load the shipped event classifier by name or a saved one from its folder, in eval mode.

    Parameters
    ----------
    name_or_path : str or PathLike
        ``"default"`` (the shipped classifier), another shipped name, or a folder written by
        :meth:`dolphin.detect.classifier.EventClassifier.save`.
    map_location : str
        Device of the loaded weights.

    Returns
    -------
    EventClassifier

    Raises
    ------
    ModelNotFoundError
        The model does not exist or its folder lacks files.
    """
    from dolphin.detect.classifier import EventClassifier

    return EventClassifier.load(model_dir("classifier", name_or_path), map_location=map_location)


def select_classifier(choice: str | None) -> tuple[EventClassifier | None, str]:
    """The event classifier of a ``--classifier`` choice, and the id it is recorded under.

    Parameters
    ----------
    choice : str or None
        None: the shipped default when one ships, else no classifier; ``"none"``: no
        classifier; otherwise a shipped name or a saved model folder (loaded, checked).

    Returns
    -------
    (EventClassifier or None, str)
        The model in eval mode, and its name (shipped) or resolved folder; ``""`` for none.
    """
    if choice is None:
        choice = DEFAULT_NAME if available_models("classifier") else "none"
    if choice.lower() == "none":
        return None, ""
    model = load_classifier(choice)
    return model, choice if _is_name(choice) else str(model_dir("classifier", choice))
