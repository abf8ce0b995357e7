"""Detection files: a Raven selection table, optional CSV / JSON, and a contour JSONL file.

For a table ``<base>.Table.1.selections.txt`` (or any ``<base>[.selections].txt``):

* the Raven table: Raven's columns, then ``Class, Individual, Whistle Type, Signature, Score,
  SNR (dB)`` (Individual and Whistle Type stay empty until a signature catalogue labels the
  whistles), then the fixed columns :data:`EXTRA_COLUMNS` (empty where they do not apply);
* ``<base>.detections.csv`` / ``<base>.detections.json``: the same rows for scripts;
* ``<base>.contours.jsonl``: one line per whistle contour,
  ``{"id", "time" [s], "frequency" [Hz], "score", "snr_db", "loops"}``, ``id`` being the
  table's ``Contour ID``;
* ``<base>.done``: the resume marker, written last (see :mod:`dolphin.detect.batch`).

Every file is written to a temporary name and renamed into place, so a killed run never leaves a
half-written file under a final name.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from dolphin.annotations import (
    FREQ_DECIMALS,
    TIME_DECIMALS,
    VALUE_DECIMALS,
    Contour,
    Event,
    _atomic_write_text,
    read_raven,
    write_raven,
)
from dolphin.detect.grouping import CONTOUR_ID
from dolphin.detect.pipeline import Detections
from dolphin.errors import AnnotationError

#: Output formats besides the Raven table, which is always written.
FORMATS = ("raven", "csv", "json")
#: Detector columns after the label columns, always present and in this order.
EXTRA_COLUMNS = (CONTOUR_ID, "Loops", "n_clicks", "median_ici_ms", "ici_ratio")
_CSV_FIELDS = (
    "selection",
    "class",
    "channel",
    "begin_s",
    "end_s",
    "low_hz",
    "high_hz",
    "score",
    "snr_db",
    "individual",
    "whistle_type",
    "signature",
    "contour_id",
    "loops",
    "n_clicks",
    "median_ici_ms",
    "ici_ratio",
)


@dataclass(frozen=True)
class OutputPaths:
    """The files of one recording's detections (see the module docstring)."""

    table: Path
    csv: Path
    json: Path
    contours: Path
    done: Path

    @classmethod
    def for_table(cls, table: str | Path) -> OutputPaths:
        """Paths beside a Raven table ``<base>.Table.1.selections.txt`` (suffixes optional)."""
        table = Path(table)
        base = table.name
        for suffix in (".txt", ".selections", ".Table.1"):
            base = base[: -len(suffix)] if base.endswith(suffix) else base
        stem = table.with_name(base or "detections")
        return cls(
            table=table,
            csv=stem.with_name(stem.name + ".detections.csv"),
            json=stem.with_name(stem.name + ".detections.json"),
            contours=stem.with_name(stem.name + ".contours.jsonl"),
            done=stem.with_name(stem.name + ".done"),
        )

    @classmethod
    def for_recording(cls, out_dir: str | Path, stem: str) -> OutputPaths:
        """Paths for recording ``<stem>.wav`` in folder ``out_dir``."""
        return cls.for_table(Path(out_dir) / f"{stem}.Table.1.selections.txt")


def _round(value: float | None, decimals: int) -> float | None:
    return None if value is None else round(float(value), decimals)


def _rows(events: list[Event]) -> list[dict]:
    """One plain dict per event, keys :data:`_CSV_FIELDS`, selections numbered from 1."""
    rows = []
    for number, e in enumerate(events, start=1):
        extra = e.extra
        rows.append(
            {
                "selection": number,
                "class": e.label,
                "channel": e.channel,
                "begin_s": _round(e.start_s, TIME_DECIMALS),
                "end_s": _round(e.end_s, TIME_DECIMALS),
                "low_hz": _round(e.low_hz, FREQ_DECIMALS),
                "high_hz": _round(e.high_hz, FREQ_DECIMALS),
                "score": _round(e.score, VALUE_DECIMALS),
                "snr_db": _round(e.snr_db, VALUE_DECIMALS),
                "individual": e.individual,
                "whistle_type": e.whistle_type,
                "signature": e.signature,
                "contour_id": int(extra[CONTOUR_ID]) if extra.get(CONTOUR_ID) else None,
                "loops": int(extra["Loops"]) if extra.get("Loops") else None,
                "n_clicks": int(extra["n_clicks"]) if extra.get("n_clicks") else None,
                "median_ici_ms": float(extra["median_ici_ms"])
                if extra.get("median_ici_ms")
                else None,
                "ici_ratio": float(extra["ici_ratio"]) if extra.get("ici_ratio") else None,
            }
        )
    return rows


def write_detections(
    paths: OutputPaths,
    found: Detections,
    *,
    formats: tuple[str, ...] = ("raven",),
    source: str | Path | None = None,
) -> list[Path]:
    """Write one recording's detections (table, contours, and CSV / JSON when asked).

    Parameters
    ----------
    paths : OutputPaths
        Where to write; the folder must exist.
    found : Detections
        Detector output.
    formats : tuple of str
        Any of :data:`FORMATS`; the Raven table and the contour file are always written.
    source : str or Path, optional
        The recording, named in the JSON file.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    AnnotationError
        Unknown format, or a file cannot be written.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise AnnotationError(paths.table, f"unknown output format(s) {unknown}; use {FORMATS}")
    events = [_with_columns(e) for e in found.events]  # same columns whatever the first row
    written = [write_raven(paths.table, events, contours_sidecar=False)]
    lines = [
        json.dumps(
            {
                "id": c.contour_id,
                "time": np.round(c.contour.times_s, TIME_DECIMALS).tolist(),
                "frequency": np.round(c.contour.freqs_hz, FREQ_DECIMALS).tolist(),
                "score": round(c.score, VALUE_DECIMALS),
                "snr_db": round(c.snr_db, VALUE_DECIMALS),
                "loops": c.n_loops,
            }
        )
        for c in found.contours
    ]
    _atomic_write_text(paths.contours, "".join(line + "\n" for line in lines))
    written.append(paths.contours)
    rows = _rows(found.events)
    if "csv" in formats:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=_CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        _atomic_write_text(paths.csv, text.getvalue())
        written.append(paths.csv)
    if "json" in formats:
        doc = {
            "source": None if source is None else str(source),
            "sample_rate": found.sample_rate,
            "duration_s": found.duration_s,
            "events": rows,
        }
        _atomic_write_text(paths.json, json.dumps(doc, indent=1) + "\n")
        written.append(paths.json)
    return written


def _with_columns(event: Event) -> Event:
    """A copy of ``event`` whose ``extra`` has every :data:`EXTRA_COLUMNS` key (empty if none)."""
    extra = {key: event.extra.get(key, "") for key in EXTRA_COLUMNS}
    extra.update({k: v for k, v in event.extra.items() if k not in extra})
    return replace(event, extra=extra)


def read_detections(table: str | Path) -> list[Event]:
    """Read a detection table with its contours (the inverse of :func:`write_detections`).

    Parameters
    ----------
    table : str or Path
        The Raven table; its contour file is found by :class:`OutputPaths`.

    Returns
    -------
    list of Event
        Whistle events get their :class:`~dolphin.annotations.Contour` back by contour id.

    Raises
    ------
    AnnotationError
        Unreadable table or malformed contour file.
    """
    events = read_raven(table)
    sidecar = OutputPaths.for_table(table).contours
    if not sidecar.is_file():
        return events
    contours: dict[str, Contour] = {}
    for line_no, line in enumerate(sidecar.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            contours[str(record["id"])] = Contour(record["time"], record["frequency"])
        except (ValueError, KeyError, TypeError) as err:
            raise AnnotationError(sidecar, f"line {line_no}: bad contour record ({err})") from err
    for event in events:
        key = event.extra.get(CONTOUR_ID)
        if key in contours:
            event.contour = contours[key]
    return events
