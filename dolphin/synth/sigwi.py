"""Real whistle contours from SIGWI, shipped with the package.

SIGWI (https://github.com/Loic-lhf/SIGWI, MIT licence, Copyright (c) 2025 Loic-lhf) holds 13,584
smoothed whistle contours of short-beaked common dolphins (*Delphinus delphis*, DOLPHINFREE
project) at a 10 ms step, and a DTW + HDBSCAN clustering of 11,575 of them into whistle contour
types (WCT, categories 1-216; 0 = unclustered). :func:`build_sigwi_subset` picks a few hundred of
them, and the result ships as ``dolphin/synth/data/sigwi_contours.jsonl.gz`` (one line
``{"id", "time", "frequency", "category"}`` per contour, times from 0 s rounded to 1 ms,
frequencies rounded to 1 Hz). :func:`load_sigwi_contours` reads it back. See
``data/SIGWI_SOURCE.md`` for provenance.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dolphin.annotations import Contour
from dolphin.errors import AnnotationError

#: The shipped subset.
DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "sigwi_contours.jsonl.gz"
#: The shipped natural references, disjoint from the subset (see build_sigwi_references).
REFERENCES_PATH = DEFAULT_PATH.with_name("sigwi_references.jsonl.gz")
#: Paths inside a SIGWI checkout.
CONTOURS_FILE = Path("resources/DF-whistles/contours.jsonl.gz")
CATEGORIES_FILE = Path("resources/dtw_resources/contours_with_category.csv")


@dataclass(eq=False)
class RealContour:
    """One real whistle contour.

    Attributes
    ----------
    id : int
        SIGWI ``whistle_ID``.
    category : int
        SIGWI DTW+HDBSCAN whistle contour type; 0 = unclustered.
    contour : Contour
        The contour, times from 0 s at a 10 ms step, frequencies in Hz.
    """

    id: int
    category: int
    contour: Contour


def _usable(times: np.ndarray, freqs: np.ndarray) -> bool:
    """Drop degenerate contours: short, non-finite, non-monotonic or outside 1.5-35 kHz."""
    return bool(
        times.size >= 10
        and np.all(np.isfinite(times))
        and np.all(np.isfinite(freqs))
        and times[-1] - times[0] >= 0.1
        and np.all(np.diff(times) > 0)
        and freqs.min() >= 1500.0
        and freqs.max() <= 35000.0
        and np.ptp(freqs) >= 200.0
    )


def read_sigwi_checkout(src_dir: str | Path) -> list[RealContour]:
    """Read every usable, categorised contour of a SIGWI checkout (about 11,500).

    Usable: at least 10 points and 0.1 s, finite, increasing times, 1.5-35 kHz, 200 Hz or more
    of frequency modulation. For evaluation from a local checkout (e.g. the 13,584 contours in
    ``../shared/data/real/sigwi``); only the small subset of :func:`build_sigwi_subset` ships.

    Parameters
    ----------
    src_dir : str or Path
        Root of a SIGWI checkout (holding ``resources/``).

    Returns
    -------
    list of RealContour
        Sorted by id, times from 0 s, frequencies in Hz.

    Raises
    ------
    AnnotationError
        A needed file of the checkout is missing.
    """
    src_dir = Path(src_dir)
    for needed in (CATEGORIES_FILE, CONTOURS_FILE):
        if not (src_dir / needed).is_file():
            raise AnnotationError(src_dir / needed, "SIGWI checkout file not found")
    category = {}
    with open(src_dir / CATEGORIES_FILE, newline="") as handle:
        for row in csv.DictReader(handle):
            category[int(row[""].split(".")[0])] = int(row["category"])
    out = []
    with gzip.open(src_dir / CONTOURS_FILE, "rt") as handle:
        for line in handle:
            item = json.loads(line)
            t, f = np.asarray(item["time"], float), np.asarray(item["frequency"], float)
            wid = int(item["whistle_ID"])
            if wid in category and _usable(t, f):
                out.append(RealContour(wid, category[wid], Contour(t - t[0], f)))
    return sorted(out, key=lambda r: r.id)


def build_sigwi_subset(
    src_dir: str | Path,
    out_path: str | Path,
    *,
    n: int = 300,
    seed: int = 0,
    n_categories: int = 12,
    per_category: int = 8,
) -> Path:
    """Select a subset of SIGWI contours and write it compactly.

    Usable contours (at least 10 points and 0.1 s, finite, increasing times, 1.5-35 kHz, some
    frequency modulation) are drawn with a seeded generator: ``n_categories`` random whistle
    contour types among those with at least 5 usable members, up to ``per_category`` members each,
    then unclustered contours (category 0) up to ``n`` in all.

    Parameters
    ----------
    src_dir : str or Path
        Root of a SIGWI checkout (holding ``resources/``).
    out_path : str or Path
        Output ``.jsonl.gz`` file; written to a temporary file and renamed into place.
    n : int
        Total number of contours.
    seed : int
        Seed of the selection.
    n_categories, per_category : int
        Number of whistle contour types, and members kept per type.

    Returns
    -------
    Path
        The written file; lines ``{"id", "time", "frequency", "category"}`` sorted by id.
    """
    out_path = Path(out_path)
    contours = {
        r.id: (r.contour.times_s, r.contour.freqs_hz, r.category)
        for r in read_sigwi_checkout(src_dir)
    }
    category = {wid: item[2] for wid, item in contours.items()}
    members = defaultdict(list)
    for wid in sorted(contours):
        members[category[wid]].append(wid)
    rng = np.random.default_rng(seed)
    eligible = sorted(c for c, ids in members.items() if c != 0 and len(ids) >= 5)
    chosen = rng.choice(eligible, size=min(n_categories, len(eligible)), replace=False)
    picked = []
    for cat in sorted(int(c) for c in chosen):
        ids = members[cat]
        picked += [int(i) for i in rng.choice(ids, size=min(per_category, len(ids)), replace=False)]
    rest = max(n - len(picked), 0)
    picked += [
        int(i) for i in rng.choice(members[0], size=min(rest, len(members[0])), replace=False)
    ]
    return _write_contours([contours[wid] + (wid,) for wid in sorted(picked)], out_path)


def build_sigwi_references(
    src_dir: str | Path,
    out_path: str | Path,
    *,
    n: int = 1500,
    seed: int = 1,
    exclude: str | Path = DEFAULT_PATH,
) -> Path:
    """Draw ``n`` usable SIGWI contours, none of them in ``exclude``, and write them compactly.

    These are the natural whistles that vocabularies are designed away from and that the CHAT
    matcher weighs a whistle against (:func:`dolphin.chat.distance.natural_references`); the
    shipped subset (:data:`DEFAULT_PATH`) is left out so that it stays unseen natural whistles
    for ``benchmarks/chat.py``.

    Parameters
    ----------
    src_dir : str or Path
        Root of a SIGWI checkout (holding ``resources/``).
    out_path : str or Path
        Output ``.jsonl.gz`` file.
    n : int
        Contours drawn (uniformly, with ``numpy.random.default_rng(seed)``).
    seed : int
        Seed of the draw.
    exclude : str or Path
        A contour file (:func:`load_sigwi_contours` format) whose ids are not drawn.

    Returns
    -------
    Path
        The written file, same format as :func:`build_sigwi_subset`'s.
    """
    skip = {r.id for r in load_sigwi_contours(exclude)}
    pool = [r for r in read_sigwi_checkout(src_dir) if r.id not in skip]
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(pool), size=min(n, len(pool)), replace=False))
    records = [
        (pool[k].contour.times_s, pool[k].contour.freqs_hz, pool[k].category, pool[k].id)
        for k in picked
    ]
    return _write_contours(records, out_path)


def _write_contours(records, out_path: str | Path) -> Path:
    """Write ``(times, freqs, category, id)`` records as gzipped JSON lines, reproducibly."""
    out_path = Path(out_path)
    lines = []
    for t, f, cat, wid in records:
        t = np.round(t, 3)
        keep = np.concatenate([[True], np.diff(t) > 0])  # rounding can merge a short last step
        record = {
            "id": int(wid),
            "time": [float(x) for x in t[keep]],
            "frequency": [int(round(float(x))) for x in f[keep]],
            "category": int(cat),
        }
        lines.append(json.dumps(record, separators=(",", ":")))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    # No name and mtime=0 in the gzip header keep the bytes reproducible.
    with (
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as handle,
    ):
        handle.write(("\n".join(lines) + "\n").encode())
    os.replace(tmp, out_path)
    return out_path


def load_sigwi_references() -> list[RealContour]:
    """The shipped natural-reference contours (:func:`build_sigwi_references`, 1,500)."""
    return load_sigwi_contours(REFERENCES_PATH)


def load_sigwi_contours(path: str | Path | None = None) -> list[RealContour]:
    """Read real whistle contours written by :func:`build_sigwi_subset`.

    Parameters
    ----------
    path : str or Path, optional
        A ``.jsonl.gz`` (or plain ``.jsonl``) file; the subset shipped with the package by default.

    Returns
    -------
    list of RealContour
        In file order (sorted by id for the shipped file).

    Raises
    ------
    AnnotationError
        The file is missing or a line is malformed.
    """
    path = Path(path) if path is not None else DEFAULT_PATH
    if not path.is_file():
        raise AnnotationError(path, "SIGWI contour file not found")
    opener = gzip.open if path.suffix == ".gz" else open
    out = []
    with opener(path, "rt") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                contour = Contour(item["time"], item["frequency"])
                out.append(RealContour(int(item["id"]), int(item["category"]), contour))
            except (ValueError, KeyError, TypeError) as err:
                raise AnnotationError(path, f"line {number}: malformed contour ({err})") from err
    return out
