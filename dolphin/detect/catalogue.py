"""A catalogue of known animals' signature whistles, kept as JSON on disk, and contour files.

Each animal has a few exemplar renditions of its signature whistle. A new contour matches the
animal whose closest exemplar is nearest by DTW distance (:mod:`dolphin.detect.dtw`), provided
that distance is below a threshold (in semitones); otherwise it matches no one. The catalogue
stores its DTW settings and threshold, so a file gives the same matches wherever it is loaded.

File format (UTF-8 JSON, written to a temporary file and renamed into place)::

    {"format": "dolphin-signature-catalogue", "version": 1,
     "threshold": 1.0, "dtw": {...DTWConfig fields...},
     "animals": {"ind01": {"note": "", "whistles": [{"time": [s], "frequency": [Hz]}, ...]}}}

Contour files (:func:`read_contour_jsonl`) hold one JSON object per line,
``{"id", "time": [s], "frequency": [Hz]}`` (SIGWI's ``whistle_ID`` is accepted for ``id``), as
plain text or gzip; this is also the Raven contour sidecar of :mod:`dolphin.annotations`.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dolphin.annotations import Contour
from dolphin.detect.dtw import DTWConfig, contour_shapes, cross_dtw
from dolphin.errors import AnnotationError, DolphinError
from dolphin.jsonfiles import write_json

FORMAT = "dolphin-signature-catalogue"
VERSION = 1
#: Default match threshold: mean pitch difference along the DTW path, semitones (~6 %).
DEFAULT_THRESHOLD = 1.0


class CatalogueError(DolphinError, ValueError):
    """A catalogue file is missing, corrupt or inconsistent, or an operation on it is invalid."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = Path(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


@dataclass
class ContourRecord:
    """One contour read from a contour file.

    Attributes
    ----------
    id : Hashable
        The ``id`` of its line (int or str, as written).
    contour : Contour
        Times in seconds, frequencies in Hz.
    """

    id: Hashable
    contour: Contour


@dataclass
class CatalogueEntry:
    """One animal: id, exemplar renditions of its signature whistle, and a free note."""

    animal_id: str
    whistles: list[Contour]
    note: str = ""


@dataclass
class CatalogueMatch:
    """The best catalogue match of a contour.

    Attributes
    ----------
    animal_id : str
        Matched animal.
    distance : float
        DTW distance to its closest exemplar, semitones.
    exemplar : int
        Index of that exemplar in the animal's ``whistles``.
    """

    animal_id: str
    distance: float
    exemplar: int


class SignatureCatalogue:
    """Known animals' signature whistles, matched by DTW distance.

    Parameters
    ----------
    dtw : DTWConfig, optional
        Contour distance settings.
    threshold : float
        Largest distance, in semitones, that still counts as a match.
    """

    def __init__(self, *, dtw: DTWConfig | None = None, threshold: float = DEFAULT_THRESHOLD):
        if not threshold > 0:
            raise CatalogueError(None, f"threshold must be > 0 semitones, got {threshold}")
        self.dtw = dtw or DTWConfig()
        self.threshold = float(threshold)
        self.entries: dict[str, CatalogueEntry] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, animal_id: object) -> bool:
        return animal_id in self.entries

    def __getitem__(self, animal_id: str) -> CatalogueEntry:
        if animal_id not in self.entries:
            raise CatalogueError(None, f"no animal {animal_id!r} in the catalogue")
        return self.entries[animal_id]

    def animals(self) -> list[str]:
        """Animal ids, sorted."""
        return sorted(self.entries)

    def add(
        self, animal_id: str, whistles: Sequence[Contour], *, note: str | None = None
    ) -> CatalogueEntry:
        """Add exemplar whistles of an animal (appended when the animal is already known).

        Raises
        ------
        CatalogueError
            Empty id, no whistles, or a whistle the DTW cannot use (too short, bad values).
        """
        if not isinstance(animal_id, str) or not animal_id.strip():
            raise CatalogueError(None, f"animal id must be a non-empty string, got {animal_id!r}")
        if not whistles:
            raise CatalogueError(None, f"no whistles given for animal {animal_id!r}")
        try:
            contour_shapes(whistles, config=self.dtw)
        except ValueError as err:
            raise CatalogueError(None, f"animal {animal_id!r}: unusable whistle ({err})") from err
        whistles = [Contour(c.times_s - c.times_s[0], c.freqs_hz) for c in whistles]
        entry = self.entries.setdefault(animal_id, CatalogueEntry(animal_id, []))
        entry.whistles.extend(whistles)
        if note is not None:
            entry.note = note
        return entry

    def remove(self, animal_id: str) -> CatalogueEntry:
        """Remove an animal and return its entry."""
        entry = self[animal_id]
        del self.entries[animal_id]
        return entry

    def distances(self, contours: Sequence[Contour]) -> np.ndarray:
        """Distance of each contour to each animal's closest exemplar.

        Returns
        -------
        np.ndarray, shape [Q, n_animals]
            Semitones; columns follow :meth:`animals`.
        """
        return self._closest(contours)[0]

    def _closest(self, contours: Sequence[Contour]) -> tuple[np.ndarray, np.ndarray]:
        """Per-animal minimum distances [Q, A] and the index of the closest exemplar [Q, A]."""
        animals = self.animals()
        refs = [c for a in animals for c in self.entries[a].whistles]
        owner = np.repeat(np.arange(len(animals)), [len(self.entries[a].whistles) for a in animals])
        d = cross_dtw(list(contours), refs, config=self.dtw)
        best = np.full((len(contours), len(animals)), np.inf)
        which = np.zeros((len(contours), len(animals)), dtype=int)
        for k in range(len(animals)):
            cols = np.flatnonzero(owner == k)
            if cols.size and len(contours):
                which[:, k] = np.argmin(d[:, cols], axis=1)
                best[:, k] = d[:, cols][np.arange(len(contours)), which[:, k]]
        return best, which

    def match_many(
        self, contours: Sequence[Contour], *, threshold: float | None = None
    ) -> list[CatalogueMatch | None]:
        """Best match of each contour, or None where no animal is within the threshold."""
        limit = self.threshold if threshold is None else float(threshold)
        if not self.entries:
            return [None] * len(contours)
        best, which = self._closest(contours)
        animals = self.animals()
        out: list[CatalogueMatch | None] = []
        for q in range(len(contours)):
            k = int(np.argmin(best[q]))
            hit = best[q, k] <= limit
            out.append(
                CatalogueMatch(animals[k], float(best[q, k]), int(which[q, k])) if hit else None
            )
        return out

    def match(self, contour: Contour, *, threshold: float | None = None) -> CatalogueMatch | None:
        """Best-matching animal of one contour, or None when none is within the threshold."""
        return self.match_many([contour], threshold=threshold)[0]

    def to_dict(self) -> dict:
        """The catalogue as JSON-ready data (the file format above)."""
        animals = {
            a: {
                "note": e.note,
                "whistles": [
                    {
                        "time": np.round(c.times_s, 6).tolist(),
                        "frequency": np.round(c.freqs_hz, 2).tolist(),
                    }
                    for c in e.whistles
                ],
            }
            for a, e in sorted(self.entries.items())
        }
        return {
            "format": FORMAT,
            "version": VERSION,
            "threshold": self.threshold,
            "dtw": dataclasses.asdict(self.dtw),
            "animals": animals,
        }

    @classmethod
    def from_dict(cls, data: dict, *, path: str | Path | None = None) -> SignatureCatalogue:
        """Rebuild a catalogue from :meth:`to_dict` data; errors name ``path``."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise CatalogueError(path, f"not a signature catalogue (expected format {FORMAT!r})")
        if data.get("version") != VERSION:
            raise CatalogueError(path, f"unsupported catalogue version {data.get('version')!r}")
        try:
            dtw = DTWConfig(**data.get("dtw", {}))
            catalogue = cls(dtw=dtw, threshold=float(data.get("threshold", DEFAULT_THRESHOLD)))
        except (TypeError, ValueError) as err:
            raise CatalogueError(path, f"bad settings ({err})") from err
        animals = data.get("animals")
        if not isinstance(animals, dict):
            raise CatalogueError(path, "'animals' must be an object mapping ids to entries")
        for animal_id, entry in animals.items():
            try:
                whistles = [Contour(w["time"], w["frequency"]) for w in entry["whistles"]]
                catalogue.add(animal_id, whistles, note=str(entry.get("note", "")))
            except CatalogueError as err:
                raise CatalogueError(path, err.problem) from err
            except (KeyError, TypeError, ValueError, IndexError) as err:
                raise CatalogueError(
                    path, f"animal {animal_id!r}: malformed entry ({err})"
                ) from err
        return catalogue

    def save(self, path: str | Path) -> Path:
        """Write the catalogue as JSON, atomically (temporary file, then rename)."""
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> SignatureCatalogue:
        """Read a catalogue written by :meth:`save`.

        Raises
        ------
        CatalogueError
            The file is missing, is not JSON, or does not hold a valid catalogue.
        """
        path = Path(path)
        if not path.is_file():
            raise CatalogueError(path, "catalogue file not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CatalogueError(path, f"corrupt catalogue, not valid JSON ({err})") from err
        return cls.from_dict(data, path=path)


def read_contour_jsonl(path: str | Path) -> list[ContourRecord]:
    """Read a contour file: one ``{"id", "time", "frequency"}`` JSON object per line.

    Parameters
    ----------
    path : str or Path
        Plain or gzip-compressed (detected from the content) JSON-lines file; blank lines are
        skipped. ``whistle_ID`` (SIGWI) is accepted instead of ``id``.

    Returns
    -------
    list of ContourRecord
        In file order.

    Raises
    ------
    AnnotationError
        Missing file, no contours, duplicate ids, or a malformed line (its number is given):
        invalid JSON, missing keys, lengths that differ, fewer than 2 points, times not increasing,
        or frequencies not finite and positive.
    """
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(path, "contour file not found")
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    opener = gzip.open if compressed else open
    records, seen = [], set()
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    record = _parse_line(path, number, line)
                    if record.id in seen:
                        raise AnnotationError(path, f"line {number}: duplicate id {record.id!r}")
                    seen.add(record.id)
                    records.append(record)
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise AnnotationError(path, f"cannot read contour file ({err})") from err
    if not records:
        raise AnnotationError(path, "no contours in file")
    return records


def _parse_line(path: Path, number: int, line: str) -> ContourRecord:
    """One contour line; any problem becomes an AnnotationError naming the line."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as err:
        raise AnnotationError(path, f"line {number}: not valid JSON ({err.msg})") from err
    if not isinstance(item, dict):
        raise AnnotationError(path, f"line {number}: expected a JSON object")
    key = "id" if "id" in item else "whistle_ID"
    missing = [k for k in (key, "time", "frequency") if k not in item]
    if missing:
        raise AnnotationError(path, f"line {number}: missing key(s) {', '.join(missing)}")
    try:
        contour = Contour(item["time"], item["frequency"])
    except (TypeError, ValueError) as err:
        raise AnnotationError(path, f"line {number}: bad time/frequency arrays ({err})") from err
    t, f = contour.times_s, contour.freqs_hz
    if len(contour) < 2:
        raise AnnotationError(path, f"line {number}: contour needs at least 2 points")
    if not (np.all(np.isfinite(t)) and np.all(np.diff(t) > 0)):
        raise AnnotationError(path, f"line {number}: times must be finite and increasing")
    if not (np.all(np.isfinite(f)) and np.all(f > 0)):
        raise AnnotationError(path, f"line {number}: frequencies must be finite and > 0 Hz")
    ident = item[key]
    if not isinstance(ident, int | str) or isinstance(ident, bool):
        raise AnnotationError(path, f"line {number}: id must be an integer or a string")
    return ContourRecord(ident, contour)
