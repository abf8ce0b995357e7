"""The CHAT vocabulary: a few synthetic whistles, each standing for an object (scarf, rope, ...).

A :class:`Vocabulary` holds labelled whistle contours and reads and writes them as JSON
(:meth:`Vocabulary.save`, :meth:`Vocabulary.load`); :class:`VocabConfig` says how one is designed
and where it lives. The design itself (:func:`design_vocabulary`, :func:`vocabulary_report`,
:func:`vocabulary_from_recordings`) is in :mod:`dolphin.chat.design`, and the mimic distance it
uses (:func:`mimic_distances`, :func:`tolerant_dtw`, :func:`partial_crops`, :data:`CROPS`) in
:mod:`dolphin.chat.distance`; both stay importable from here.

File format (UTF-8 JSON, written to a temporary file and renamed into place)::

    {"format": "dolphin-chat-vocabulary", "version": 1,
     "entries": [{"label": "scarf", "duration_s": 0.8, "time": [s], "frequency": [Hz]}, ...],
     "report": {"min_pairwise_semitones": ..., "min_natural_semitones": ..., ...} or null}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dolphin.annotations import Contour
from dolphin.chat.distance import (  # noqa: F401  (re-exported: the vocabulary's distance)
    CROPS,
    mimic_distances,
    natural_references,
    partial_crops,
    tolerant_dtw,
)
from dolphin.errors import DolphinError
from dolphin.jsonfiles import write_json

FORMAT = "dolphin-chat-vocabulary"
VERSION = 1
#: Functions of :mod:`dolphin.chat.design`, importable from here as before.
_DESIGN = ("design_vocabulary", "vocabulary_from_recordings", "vocabulary_report")


class VocabularyError(DolphinError, ValueError):
    """A vocabulary file or request is invalid (names the file or the problem)."""


@dataclass
class VocabConfig:
    """How a vocabulary is designed and where it lives (``conf/chat/default.yaml``, ``vocab``)."""

    path: str = ""  # vocabulary JSON used by sessions and scans ("" = give it on the command line)
    n: int = 6  # entries; 4-8 keeps the set learnable and the entries far apart
    fmin_hz: float = 4000.0  # band of the designed whistles: loud on small speakers, below 20 kHz
    fmax_hz: float = 20000.0  # ... and within the hearing and whistle range of the dolphins
    min_duration_s: float = 0.5  # shorter whistles carry too little shape to tell apart
    max_duration_s: float = 1.5  # longer ones are hard to imitate in one breath
    min_range_semitones: float = 8.0  # flatter contours look like pulse-rate drifts and tonals
    max_slope_hz_per_s: float = 60000.0  # a copy 20 % higher, 35 % faster stays trackable (160k)
    # Contour shapes drawn (dolphin.synth.contours.SHAPES); plain up/down sweeps are left out:
    # natural click trains and buzzes glide like them, and so do many natural whistles.
    shapes: list[str] = field(default_factory=lambda: ["convex", "concave", "sine", "multi"])
    n_candidates: int = 1000  # random contours drawn; the best n are kept (~1 min design)
    natural_weight: float = 1.35  # set score min(pairwise, weight x natural): > 1 favours pairwise
    seed: int = 0  # seed of the design
    peak: float = 0.5  # peak amplitude of rendered entries (full scale 1)

    def __post_init__(self) -> None:
        if not 2 <= self.n <= 12:
            raise VocabularyError(f"VocabConfig.n must be 2-12 entries, got {self.n}")
        if not 0 < self.fmin_hz < self.fmax_hz:
            raise VocabularyError(
                f"VocabConfig band must satisfy 0 < fmin_hz < fmax_hz, got "
                f"{self.fmin_hz}-{self.fmax_hz} Hz"
            )
        if not 0.1 <= self.min_duration_s <= self.max_duration_s:
            raise VocabularyError(
                f"VocabConfig durations must satisfy 0.1 <= min_duration_s <= max_duration_s, got "
                f"{self.min_duration_s}-{self.max_duration_s} s"
            )
        from dolphin.synth.contours import SHAPES

        if not self.shapes or any(s not in SHAPES for s in self.shapes):
            raise VocabularyError(f"VocabConfig.shapes must be some of {SHAPES}, got {self.shapes}")
        if not self.natural_weight > 0:
            raise VocabularyError(
                f"VocabConfig.natural_weight must be > 0, got {self.natural_weight}"
            )
        if self.n_candidates < self.n:
            raise VocabularyError(f"VocabConfig.n_candidates must be >= n ({self.n})")
        if not 0 < self.peak <= 1:
            raise VocabularyError(f"VocabConfig.peak must be in (0, 1], got {self.peak}")


@dataclass
class VocabEntry:
    """One vocabulary whistle.

    Attributes
    ----------
    label : str
        The object it names (``"scarf"``).
    contour : Contour
        Fundamental frequency (Hz) over time (s), times from 0.
    """

    label: str
    contour: Contour

    @property
    def duration_s(self) -> float:
        """Length of the whistle, seconds."""
        return self.contour.duration_s


@dataclass
class VocabReport:
    """How well separated a vocabulary is (distances in semitones, see :func:`mimic_distances`).

    Attributes
    ----------
    min_pairwise_semitones : float
        Smallest distance between two entries (inf for a single entry).
    min_natural_semitones : float
        Smallest distance between an entry and a natural whistle (inf without references).
    pairwise : list of list of float
        [n, n] entry-to-entry distances (0 on the diagonal).
    nearest_natural : list of str
        Per entry, the closest natural whistle (``"sigwi:<id>"`` or ``"catalogue:<animal>"``).
    natural_semitones : list of float
        Per entry, the distance to that whistle.
    n_natural : int
        Natural whistles compared with.
    """

    min_pairwise_semitones: float
    min_natural_semitones: float
    pairwise: list[list[float]] = field(default_factory=list)
    nearest_natural: list[str] = field(default_factory=list)
    natural_semitones: list[float] = field(default_factory=list)
    n_natural: int = 0


@dataclass
class Vocabulary:
    """Labelled whistles, saved as JSON (see the module docstring)."""

    entries: list[VocabEntry]
    report: VocabReport | None = None

    def __post_init__(self) -> None:
        labels = self.labels
        if not labels:
            raise VocabularyError("a vocabulary needs at least one entry")
        if any(not isinstance(x, str) or not x.strip() or x != x.strip() for x in labels):
            raise VocabularyError(f"labels must be non-empty words, got {labels}")
        if len(set(labels)) != len(labels):
            raise VocabularyError(f"labels must be unique, got {labels}")
        for e in self.entries:
            c = e.contour
            if len(c) < 2 or np.any(np.diff(c.times_s) <= 0) or np.any(c.freqs_hz <= 0):
                raise VocabularyError(
                    f"entry {e.label!r}: contour needs 2+ points, increasing times, positive Hz"
                )

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def labels(self) -> list[str]:
        """Entry labels in order."""
        return [e.label for e in self.entries]

    def __getitem__(self, label: str) -> VocabEntry:
        for e in self.entries:
            if e.label == label:
                return e
        raise VocabularyError(f"no entry {label!r} in the vocabulary (have {self.labels})")

    def render(self, sample_rate: int, *, peak: float = 0.5) -> dict[str, np.ndarray]:
        """Render every entry as a pure tone following its contour (what the speaker plays).

        Parameters
        ----------
        sample_rate : int
            Hz; the highest contour frequency must stay below 0.4 x this.
        peak : float
            Peak amplitude, full scale 1.

        Returns
        -------
        dict of str to np.ndarray
            Label -> float32 samples ``[T]`` (10 ms raised-cosine ramps).
        """
        from dolphin.synth.sounds import render_whistle

        out = {}
        for e in self.entries:
            top = float(e.contour.freqs_hz.max())
            if top >= 0.4 * sample_rate:
                raise VocabularyError(
                    f"entry {e.label!r} reaches {top:.0f} Hz, too high for {sample_rate} Hz "
                    f"(needs a rate above {2.5 * top:.0f} Hz)"
                )
            x = render_whistle(e.contour, sample_rate=sample_rate, harmonics=(1.0,))
            out[e.label] = (peak * x / max(float(np.abs(x).max()), 1e-12)).astype(np.float32)
        return out

    def to_dict(self) -> dict:
        """The vocabulary as JSON-ready data (the file format)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "entries": [
                {
                    "label": e.label,
                    "duration_s": round(e.duration_s, 6),
                    "time": np.round(e.contour.times_s, 6).tolist(),
                    "frequency": np.round(e.contour.freqs_hz, 2).tolist(),
                }
                for e in self.entries
            ],
            "report": asdict(self.report) if self.report is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict, *, path: str | Path | None = None) -> Vocabulary:
        """Rebuild a vocabulary from :meth:`to_dict` data; errors name ``path``."""
        where = f"{path}: " if path is not None else ""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise VocabularyError(f"{where}not a vocabulary (expected format {FORMAT!r})")
        if data.get("version") != VERSION:
            raise VocabularyError(f"{where}unsupported vocabulary version {data.get('version')!r}")
        try:
            entries = [
                VocabEntry(str(e["label"]), Contour(e["time"], e["frequency"]))
                for e in data["entries"]
            ]
            report = VocabReport(**data["report"]) if data.get("report") else None
            return cls(entries, report)
        except VocabularyError as err:
            raise VocabularyError(f"{where}{err}") from err
        except (KeyError, TypeError, ValueError) as err:
            raise VocabularyError(f"{where}malformed vocabulary ({err!r})") from err

    def save(self, path: str | Path) -> Path:
        """Write the vocabulary as JSON, atomically (temporary file, then rename)."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary written by :meth:`save` (missing or corrupt files raise clearly)."""
        path = Path(path)
        if not path.is_file():
            raise VocabularyError(f"{path}: vocabulary file not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise VocabularyError(f"{path}: corrupt vocabulary, not valid JSON ({err})") from err
        return cls.from_dict(data, path=path)


def __getattr__(name: str):
    """``design_vocabulary`` and friends live in :mod:`dolphin.chat.design` (which imports this
    module), and are still importable from here."""
    if name in _DESIGN:
        from dolphin.chat import design

        return getattr(design, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
