"""Labelled sound events and Raven Pro selection tables.

An :class:`Event` is one labelled sound (a whistle, a burst pulse, a click train, a buzz or noise)
with its time and frequency extent, optional identity labels and, for whistles, its contour.
Selection tables are read and written in the tab-separated format of Raven Pro; whistle contours
travel beside a table in a JSONL sidecar (``{"id", "time", "frequency"}`` per line, the packing
SIGWI uses).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dolphin.errors import AnnotationError

#: Event classes used across the package (synthesis labels, detector and classifier outputs).
WHISTLE = "whistle"
BURST_PULSE = "burst_pulse"
CLICK_TRAIN = "click_train"
BUZZ = "buzz"
NOISE = "noise"
EVENT_CLASSES = (WHISTLE, BURST_PULSE, CLICK_TRAIN, BUZZ, NOISE)


@dataclass
class Contour:
    """A whistle's fundamental frequency over time.

    Attributes
    ----------
    times_s : np.ndarray, shape [N]
        Times in seconds, increasing, relative to the start of the recording.
    freqs_hz : np.ndarray, shape [N]
        Fundamental frequency in Hz at each time.
    """

    times_s: np.ndarray
    freqs_hz: np.ndarray

    def __post_init__(self) -> None:
        self.times_s = np.asarray(self.times_s, dtype=np.float64)
        self.freqs_hz = np.asarray(self.freqs_hz, dtype=np.float64)
        if self.times_s.shape != self.freqs_hz.shape or self.times_s.ndim != 1:
            raise ValueError(
                f"contour times and frequencies must be 1-D and equally long, got "
                f"{self.times_s.shape} and {self.freqs_hz.shape}"
            )

    def __len__(self) -> int:
        return int(self.times_s.size)

    @property
    def duration_s(self) -> float:
        """Time from first to last point, in seconds."""
        return float(self.times_s[-1] - self.times_s[0]) if len(self) else 0.0

    def shifted(self, offset_s: float) -> Contour:
        """Return the same contour moved ``offset_s`` seconds later."""
        return Contour(self.times_s + offset_s, self.freqs_hz.copy())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Contour):
            return NotImplemented
        return np.array_equal(self.times_s, other.times_s) and np.array_equal(
            self.freqs_hz, other.freqs_hz
        )


@dataclass
class Event:
    """One labelled sound event.

    Attributes
    ----------
    start_s, end_s : float
        Begin and end time in seconds from the start of the recording.
    low_hz, high_hz : float
        Lower and upper frequency bound in Hz.
    label : str
        Event class, one of :data:`EVENT_CLASSES`.
    channel : int
        1-based channel number, as Raven counts.
    individual : str or None
        Identity of the emitting animal when known (synthetic scenes always know it).
    whistle_type : str or None
        Whistle contour type id (a signature type id for signature whistles).
    signature : bool
        True when this whistle is a rendition of its emitter's signature whistle.
    score : float or None
        Detector or classifier confidence in [0, 1]; None for ground truth.
    snr_db : float or None
        Signal-to-noise ratio in dB (requested for synthetic events, estimated for detections).
    contour : Contour or None
        Fundamental-frequency contour, for whistles.
    extra : dict[str, str]
        Further columns, kept as text so tables from other tools round trip.
    """

    start_s: float
    end_s: float
    low_hz: float
    high_hz: float
    label: str
    channel: int = 1
    individual: str | None = None
    whistle_type: str | None = None
    signature: bool = False
    score: float | None = None
    snr_db: float | None = None
    contour: Contour | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Event length in seconds."""
        return self.end_s - self.start_s


# --- Raven Pro selection tables ------------------------------------------------------------------

#: The columns every Raven Pro selection table starts with, in Raven's order.
RAVEN_COLUMNS = (
    "Selection",
    "View",
    "Channel",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
)
#: Label columns written after Raven's own.
LABEL_COLUMNS = ("Class", "Individual", "Whistle Type", "Signature", "Score", "SNR (dB)")
#: Columns a table must have to be read.
REQUIRED_COLUMNS = (
    "Selection",
    "Begin Time (s)",
    "End Time (s)",
    "Low Freq (Hz)",
    "High Freq (Hz)",
)
#: Columns read as the event class, first match wins (case-insensitive).
CLASS_COLUMNS = ("Class", "Annotation", "Species", "Label")
DEFAULT_VIEW = "Spectrogram 1"
_TRUE, _FALSE = {"1", "true", "yes", "y", "t"}, {"", "0", "false", "no", "n", "f"}


def contours_path(table_path: str | Path) -> Path:
    """Return the contour sidecar path of a selection table.

    ``x.Table.1.selections.txt`` -> ``x.Table.1.selections.contours.jsonl`` (a name without
    ``.txt`` just gets ``.contours.jsonl`` appended).
    """
    path = Path(table_path)
    stem = path.name[:-4] if path.name.lower().endswith(".txt") else path.name
    return path.with_name(stem + ".contours.jsonl")


# Decimals kept in tables and sidecars: 1 us in time (under a sample period at 384 kHz), 0.01 Hz in
# frequency, 1e-4 for scores and dB; finer digits are noise and make tables unreadable.
TIME_DECIMALS = 6
FREQ_DECIMALS = 2
VALUE_DECIMALS = 4


def _number(value: float | None, decimals: int) -> str:
    """``value`` rounded to ``decimals`` and written without trailing zeros; empty for None."""
    if value is None:
        return ""
    return np.format_float_positional(round(float(value), decimals), trim="-")


def _atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise AnnotationError(path, f"cannot write ({err})") from err


def write_raven(path: str | Path, events: list[Event], *, contours_sidecar: bool = True) -> Path:
    """Write events as a Raven Pro selection table (tab-separated), atomically.

    Columns: Raven's ``Selection, View, Channel, Begin Time (s), End Time (s), Low Freq (Hz),
    High Freq (Hz)`` (View is always ``Spectrogram 1``; selections are numbered 1.. in the given
    order), then ``Class, Individual, Whistle Type, Signature (1/0), Score, SNR (dB)``, then every
    ``extra`` key in order of first appearance. Numbers are written with the shortest text that
    reads back exactly; None is an empty cell.

    Parameters
    ----------
    path : str or Path
        Table file, conventionally ``<recording stem>.Table.1.selections.txt``; its directory must
        exist.
    events : list of Event
        Events to write.
    contours_sidecar : bool
        Write the contours of events that have one to :func:`contours_path` (one JSON line
        ``{"id": selection, "time": [s], "frequency": [Hz]}`` each). When no event has a contour
        a stale sidecar is removed.

    Returns
    -------
    Path
        The table file.

    Raises
    ------
    AnnotationError
        A text field holds a tab or a line break, an extra key repeats a standard column, or the
        file cannot be written.
    """
    path = Path(path)
    extras: dict[str, None] = {}
    for event in events:
        extras.update(dict.fromkeys(event.extra))
    clash = [key for key in extras if key in RAVEN_COLUMNS + LABEL_COLUMNS]
    if clash:
        raise AnnotationError(path, f"extra keys repeat standard columns: {clash}")
    header = [*RAVEN_COLUMNS, *LABEL_COLUMNS, *extras]
    lines = ["\t".join(header)]
    for number, event in enumerate(events, start=1):
        cells = [str(number), DEFAULT_VIEW, str(event.channel)]
        cells += [_number(v, TIME_DECIMALS) for v in (event.start_s, event.end_s)]
        cells += [_number(v, FREQ_DECIMALS) for v in (event.low_hz, event.high_hz)]
        cells += [event.label, event.individual or "", event.whistle_type or ""]
        cells += ["1" if event.signature else "0", _number(event.score, VALUE_DECIMALS)]
        cells += [_number(event.snr_db, VALUE_DECIMALS)]
        cells += [str(event.extra.get(key, "")) for key in extras]
        if any(ch in cell for cell in cells for ch in "\t\r\n"):
            raise AnnotationError(path, f"selection {number}: a field holds a tab or line break")
        lines.append("\t".join(cells))
    if contours_sidecar:
        sidecar = contours_path(path)
        records = [
            json.dumps(
                {
                    "id": number,
                    "time": np.round(e.contour.times_s, TIME_DECIMALS).tolist(),
                    "frequency": np.round(e.contour.freqs_hz, FREQ_DECIMALS).tolist(),
                }
            )
            for number, e in enumerate(events, start=1)
            if e.contour is not None
        ]
        if records:
            _atomic_write_text(sidecar, "\n".join(records) + "\n")
        else:
            sidecar.unlink(missing_ok=True)
    _atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise AnnotationError(path, "file not found")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Raven on Windows writes the ANSI page


def _parse_float(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AnnotationError(
            path, f"line {line}: column {column!r} is not a number: {text!r}"
        ) from None
    if not np.isfinite(value):
        raise AnnotationError(path, f"line {line}: column {column!r} is not finite: {text!r}")
    return value


def read_raven(path: str | Path) -> list[Event]:
    """Read a Raven Pro selection table written by Raven or by :func:`write_raven`.

    Raven writes one row per view of a selection (``Waveform 1``, ``Spectrogram 1``); one event
    is kept per selection number, from its spectrogram row when there is one. The class comes from
    the first of ``Class``, ``Annotation``, ``Species``, ``Label`` present (case-insensitive;
    empty when none). ``Individual``, ``Whistle Type``, ``Signature``, ``Score`` and ``SNR (dB)``
    fill their fields; every other non-empty cell goes to ``extra`` under its column name
    (``View`` is dropped). Windows line endings, a UTF-8 byte-order mark and ANSI (cp1252) text
    are accepted. The contour sidecar (:func:`contours_path`) is loaded when present.

    Parameters
    ----------
    path : str or Path
        The table.

    Returns
    -------
    list of Event
        In order of first appearance of each selection.

    Raises
    ------
    AnnotationError
        Missing file, missing required columns (named), a row with too many cells, a
        non-numeric or non-finite number (row and column named), an end before its begin, a high
        frequency below the low one, or a malformed sidecar.
    """
    path = Path(path)
    rows = [line for line in _read_text(path).splitlines() if line.strip()]
    if not rows:
        raise AnnotationError(path, "empty selection table (no header)")
    header = [name.strip() for name in rows[0].split("\t")]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise AnnotationError(path, f"missing required column(s): {', '.join(missing)}")
    lower = {name.lower(): name for name in header}
    class_col = next((lower[c.lower()] for c in CLASS_COLUMNS if c.lower() in lower), None)
    used = {*REQUIRED_COLUMNS, "View", "Channel", *LABEL_COLUMNS[1:], class_col}
    chosen: dict[int, tuple[bool, Event]] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in row.split("\t")]
        if len(cells) > len(header) and any(cells[len(header) :]):
            raise AnnotationError(
                path, f"line {line_no}: {len(cells)} cells, header has {len(header)}"
            )
        cells = cells[: len(header)] + [""] * (len(header) - len(cells))
        cell = dict(zip(header, cells, strict=True))
        num = {c: _parse_float(path, line_no, c, cell[c]) for c in REQUIRED_COLUMNS}
        if num["End Time (s)"] < num["Begin Time (s)"]:
            raise AnnotationError(path, f"line {line_no}: End Time (s) is before Begin Time (s)")
        if num["High Freq (Hz)"] < num["Low Freq (Hz)"]:
            raise AnnotationError(path, f"line {line_no}: High Freq (Hz) is below Low Freq (Hz)")
        signature = cell.get("Signature", "").lower()
        if signature not in _TRUE | _FALSE:
            raise AnnotationError(path, f"line {line_no}: column 'Signature' is not a boolean")
        optional = {
            c: _parse_float(path, line_no, c, cell[c]) if cell.get(c) else None
            for c in ("Score", "SNR (dB)")
        }
        channel = (
            int(_parse_float(path, line_no, "Channel", cell["Channel"]))
            if cell.get("Channel")
            else 1
        )
        event = Event(
            start_s=num["Begin Time (s)"],
            end_s=num["End Time (s)"],
            low_hz=num["Low Freq (Hz)"],
            high_hz=num["High Freq (Hz)"],
            label=cell[class_col] if class_col else "",
            channel=channel,
            individual=cell.get("Individual") or None,
            whistle_type=cell.get("Whistle Type") or None,
            signature=signature in _TRUE,
            score=optional["Score"],
            snr_db=optional["SNR (dB)"],
            extra={k: v for k, v in cell.items() if k not in used and v},
        )
        selection = int(num["Selection"])
        is_spectrogram = cell.get("View", "").lower().startswith("spectrogram")
        if selection not in chosen or (is_spectrogram and not chosen[selection][0]):
            chosen[selection] = (is_spectrogram, event)
    events = {selection: event for selection, (_, event) in chosen.items()}
    _attach_contours(contours_path(path), events)
    return list(events.values())


def _attach_contours(sidecar: Path, events: dict[int, Event]) -> None:
    """Load a contour sidecar, if there is one, onto the events with matching selection ids."""
    if not sidecar.is_file():
        return
    for line_no, line in enumerate(_read_text(sidecar).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            selection, contour = int(item["id"]), Contour(item["time"], item["frequency"])
        except (ValueError, KeyError, TypeError) as err:
            raise AnnotationError(sidecar, f"line {line_no}: malformed contour ({err})") from err
        if selection not in events:
            raise AnnotationError(sidecar, f"line {line_no}: no selection {selection} in the table")
        events[selection].contour = contour
