"""What a CHAT session leaves behind: its folder, its JSON files and its result.

A session folder ``<root>/<YYYYMMDDTHHMMSSZ>/`` (:func:`make_session_folder`) holds::

    config.json     the session configuration, saved before anything else
    events.jsonl    the event log (:mod:`dolphin.chat.eventlog`), fsynced every 0.5 s
    audio/          chat_<UTC start of first frame>.w64 (or .flac, .wav), rotated every rotate_s
    session.json    a summary (:func:`session_summary`), written at a clean stop only

:class:`SessionResult` is what :meth:`dolphin.chat.session.ChatSession.run` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dolphin import jsonfiles
from dolphin.chat.emitter import Emission
from dolphin.chat.eventlog import to_jsonable
from dolphin.chat.recorder import RecordedFile
from dolphin.chat.stream import DeviceStats


@dataclass
class SessionResult:
    """What a session did.

    Attributes
    ----------
    folder : Path
        The session folder.
    sample_rate : int
        Hz.
    n_frames : int
        Frames recorded (the stream length).
    files : list of RecordedFile
        The recording, in order.
    detections : list
        Every detection the matcher reported (``MimicDetection``), accepted or not.
    emissions : list of Emission
        Whistles played, with exact stream times.
    stats : DeviceStats
        Input counters (overruns, dropped frames).
    stopped_by : str
        ``"duration"``, ``"end_of_input"``, ``"device_error"``, ``"stop"``, ``"key"``,
        ``"interrupt"`` or ``"error"``.
    """

    folder: Path
    sample_rate: int
    n_frames: int
    files: list[RecordedFile] = field(default_factory=list)
    detections: list = field(default_factory=list)
    emissions: list[Emission] = field(default_factory=list)
    stats: DeviceStats = field(default_factory=DeviceStats)
    stopped_by: str = ""

    @property
    def duration_s(self) -> float:
        """Seconds recorded."""
        return self.n_frames / self.sample_rate

    @property
    def events_path(self) -> Path:
        """The event log."""
        return self.folder / "events.jsonl"


def make_session_folder(root: str | Path, when: datetime | None = None) -> Path:
    """Create ``root/<YYYYMMDDTHHMMSSZ>`` (``_2``, ``_3``... when taken) and its ``audio/``."""
    stamp = (when or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    root = Path(root)
    for k in range(1, 1000):
        folder = root / (stamp if k == 1 else f"{stamp}_{k}")
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue
        (folder / "audio").mkdir()
        return folder
    raise FileExistsError(f"{root}: too many sessions named {stamp}")


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically (temporary file, then rename)."""
    jsonfiles.write_json(path, to_jsonable(data))


def session_summary(result: SessionResult) -> dict:
    """The ``session.json`` summary (and ``session_stop`` record) of a finished session.

    Parameters
    ----------
    result : SessionResult
        What the session did.

    Returns
    -------
    dict
        ``stopped_by``, ``n_frames``, ``duration_s`` (s), ``files`` (name, first frame, frames),
        ``n_detections``, ``n_accepted``, ``n_emissions`` and the input ``stats``.
    """
    return {
        "stopped_by": result.stopped_by,
        "n_frames": result.n_frames,
        "duration_s": result.duration_s,
        "files": [
            {"path": f.path.name, "start_frame": f.start_frame, "n_frames": f.n_frames}
            for f in result.files
        ],
        "n_detections": len(result.detections),
        "n_accepted": sum(bool(getattr(d, "accepted", True)) for d in result.detections),
        "n_emissions": len(result.emissions),
        "stats": result.stats,
    }
