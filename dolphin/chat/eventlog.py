"""The JSONL event log of a CHAT session: one JSON object per line, safe against kill -9.

Each :meth:`EventLog.log` writes its line and flushes it to the operating system at once, so a
killed process (``kill -9``) loses nothing it logged; a background thread fsyncs the file every
``sync_interval_s`` (0.5 s) so that a power cut loses at most that much. :func:`read_events`
reads a log back and tolerates the torn last line a crash can leave.

Every record has ``event`` (what happened) and ``wall_time`` (UTC, ISO 8601, microseconds); records about audio
also carry ``stream_s`` / ``frame`` (stream time, exact to the sample). Events written by
:class:`dolphin.chat.session.ChatSession`:

``session_start``, ``session_stop``, ``file_open``, ``file_close``, ``file_compressed``,
``emission``, ``detection``, ``input_overflow``, ``dropped``, ``output_underflow``,
``device_error``, ``status`` (a heartbeat), ``warm_up``, ``error``, ``note``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from dolphin.errors import DolphinError


class EventLogError(DolphinError, ValueError):
    """An event log cannot be written or read (names the file, line and problem)."""


def to_jsonable(obj: Any) -> Any:
    """``obj`` as plain JSON data: numpy values and arrays, dataclasses, paths, datetimes.

    Non-finite floats become None (JSON has no NaN); unknown objects become their ``str``.
    """
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.integer | np.bool_):
        return obj.item()
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind == "f":
            obj = np.round(obj.astype(np.float64), 6)
            return [to_jsonable(v) for v in obj.tolist()] if obj.ndim else to_jsonable(obj.item())
        return obj.tolist()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.isoformat()
    return str(obj)


def utc_now() -> str:
    """The current UTC time as ISO 8601 with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class EventLog:
    """Append-only JSONL log, flushed per line and fsynced in the background.

    Parameters
    ----------
    path : str or Path
        Log file; appended to when it exists (a resumed session keeps its history).
    sync_interval_s : float
        Longest time between fsyncs while lines are waiting, seconds.

    Examples
    --------
    >>> with EventLog(tmp_path / "events.jsonl") as log:  # doctest: +SKIP
    ...     log.log("note", text="hydrophone at 3 m")
    """

    def __init__(self, path: str | Path, *, sync_interval_s: float = 0.5) -> None:
        if not 0 < sync_interval_s <= 1.0:
            raise EventLogError(f"sync_interval_s must be in (0, 1] s, got {sync_interval_s}")
        self.path = Path(path)
        try:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        except OSError as err:
            raise EventLogError(f"{self.path}: cannot open the event log ({err})") from err
        self.sync_interval_s = sync_interval_s
        self.n_records = 0
        self._lock = threading.Lock()
        self._dirty = False
        self._closing = threading.Event()
        self._syncer = threading.Thread(target=self._sync_loop, name="eventlog-fsync", daemon=True)
        self._syncer.start()

    def log(self, event: str, /, **fields: Any) -> dict:
        """Write one record and flush it; returns the record as written.

        Parameters
        ----------
        event : str
            What happened (see the module docstring).
        **fields
            Anything :func:`to_jsonable` handles; not ``event`` or ``wall_time``.
        """
        if "event" in fields or "wall_time" in fields:
            raise EventLogError(f"{self.path}: 'event' and 'wall_time' are set by the log")
        record = {"event": event, "wall_time": utc_now(), **to_jsonable(fields)}
        line = json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"
        with self._lock:
            if self._file.closed:
                raise EventLogError(f"{self.path}: event log is closed; cannot log {event!r}")
            self._file.write(line)
            self._file.flush()  # in the kernel now: survives kill -9 of this process
            self._dirty = True
            self.n_records += 1
        return record

    def sync(self) -> None:
        """Flush and fsync now."""
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._dirty = False

    def _sync_loop(self) -> None:
        while not self._closing.wait(self.sync_interval_s):
            if self._dirty:
                try:
                    self.sync()
                except OSError:  # a full disk must not kill the session; close() raises it
                    pass

    def close(self) -> None:
        """Stop the fsync thread, fsync and close (idempotent)."""
        self._closing.set()
        if self._syncer.is_alive() and threading.current_thread() is not self._syncer:
            self._syncer.join()
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def read_events(path: str | Path, *, events: Iterable[str] | None = None) -> list[dict]:
    """Read an event log, skipping a torn last line (what a crash mid-write leaves).

    Parameters
    ----------
    path : str or Path
        JSONL log written by :class:`EventLog`.
    events : iterable of str, optional
        Keep only records of these events.

    Returns
    -------
    list of dict
        Records in file order.

    Raises
    ------
    EventLogError
        Missing file, or a corrupt line that is not the last one.
    """
    path = Path(path)
    if not path.is_file():
        raise EventLogError(f"{path}: event log not found")
    wanted = set(events) if events is not None else None
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            if number == len(lines):  # no newline after it: torn while being written
                break
            raise EventLogError(f"{path}: line {number} is not valid JSON ({err})") from err
        if wanted is None or record.get("event") in wanted:
            records.append(record)
    return records
