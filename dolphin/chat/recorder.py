"""Gapless, crash-safe recording of a session into files rotated every ``rotate_s`` seconds.

:class:`LiveWriter` writes W64, WAV or RF64 under the file's final name and has libsndfile
rewrite the header after every block, so the file on disk is always a complete, readable
recording of everything written so far: after ``kill -9`` nothing written is lost, and
:meth:`LiveWriter.sync` (fsync) bounds what a power cut can take.

:class:`RotatingRecorder` splits the stream at exact multiples of ``rotate_s`` from frame 0: file
``k`` holds frames ``[k * R, (k + 1) * R)``, so concatenating the files gives the stream back with
no sample lost or repeated. Names carry the wall-clock start of their first frame
(``chat_20240501T093000.123456Z.w64``, read by :func:`dolphin.audio.parse_start_time`); the exact
start frame is in the file's comment (WAV, RF64, FLAC) and in the session's event log.

FLAC cannot be read back after a crash (its STREAMINFO is written last), so ``audio_format="flac"``
records each file as W64 and compresses it losslessly in a background thread once it is closed,
deleting the W64 only after the FLAC is verified. A crash leaves the open file as W64.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import soundfile as sf

from dolphin.audio.io import prepare_samples
from dolphin.errors import DolphinError

#: audio_format -> (libsndfile container written live, suffix of the final file).
FORMATS = {"w64": ("W64", ".w64"), "wav": ("WAV", ".wav"), "rf64": ("RF64", ".rf64")}
FORMATS["flac"] = ("W64", ".flac")
_STRINGS = ("WAV", "RF64", "FLAC")  # containers that hold a comment
_SFC_SET_UPDATE_HEADER_AUTO = 0x1061  # sndfile.h: rewrite the header after every write


class RecorderError(DolphinError, OSError):
    """A recording file cannot be created, written or compressed (names the file)."""


class LiveWriter:
    """Append blocks to a W64 / WAV / RF64 file that stays readable if the process dies.

    Parameters
    ----------
    path : str or Path
        File to create; an existing file is never overwritten.
    sample_rate : int
        Hz.
    n_channels : int
        Channels per block.
    format : str
        ``"W64"`` (default, no size limit), ``"WAV"`` (4 GiB at most) or ``"RF64"``.
    subtype : str
        ``"PCM_24"`` (default), ``"PCM_16"``, ``"PCM_32"`` or ``"FLOAT"``.
    comment : str, optional
        Stored in the header where the container allows it (WAV, RF64).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        sample_rate: int,
        n_channels: int,
        format: str = "W64",
        subtype: str = "PCM_24",
        comment: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.subtype = subtype
        self.n_channels = int(n_channels)
        self.n_frames = 0
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError as err:
            raise RecorderError(f"{self.path}: already exists; refusing to overwrite") from err
        except OSError as err:
            raise RecorderError(f"{self.path}: cannot create ({err})") from err
        try:
            self._file = sf.SoundFile(
                self._fd,
                "w",
                samplerate=int(sample_rate),
                channels=self.n_channels,
                subtype=subtype,
                format=format,
                closefd=False,
            )
            if comment and format in _STRINGS:
                self._file.comment = comment
        except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as err:
            os.close(self._fd)
            raise RecorderError(f"{self.path}: cannot open as {format}/{subtype} ({err})") from err
        try:  # soundfile does not expose sf_command's header flag; without it readers still cope
            sf._snd.sf_command(self._file._file, _SFC_SET_UPDATE_HEADER_AUTO, sf._ffi.NULL, 1)
        except AttributeError:  # pragma: no cover - other soundfile internals
            pass

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (float ``[C, N]``); samples beyond full scale are clipped."""
        block = np.atleast_2d(np.asarray(block, dtype=np.float32))
        if block.shape[0] != self.n_channels:
            raise RecorderError(
                f"{self.path}: block has {block.shape[0]} channels, file has {self.n_channels}"
            )
        if block.shape[1] == 0:
            return
        try:
            self._file.write(prepare_samples(self.path, block, self.subtype, clip=True))
        except (sf.LibsndfileError, RuntimeError, OSError) as err:
            raise RecorderError(f"{self.path}: write failed ({err})") from err
        self.n_frames += block.shape[1]

    def sync(self) -> None:
        """fsync the file (the header is already up to date)."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._fd)

    def close(self) -> None:
        """Finish the header, fsync and close (idempotent)."""
        if self._file.closed:
            return
        self._file.close()
        os.fsync(self._fd)
        os.close(self._fd)


@dataclass
class RecordedFile:
    """One file of a session's recording.

    Attributes
    ----------
    path : Path
        The file (``.flac`` once compressed; ``.w64`` before and after a crash).
    start_frame : int
        Stream frame of its first frame.
    n_frames : int
        Frames in it.
    sample_rate : int
        Hz.
    start_time : datetime
        UTC wall clock of its first frame.
    """

    path: Path
    start_frame: int
    n_frames: int
    sample_rate: int
    start_time: datetime

    @property
    def start_s(self) -> float:
        """Stream time of its first frame, seconds."""
        return self.start_frame / self.sample_rate


def file_stamp(time: datetime) -> str:
    """``YYYYMMDDTHHMMSS.ffffffZ`` of a UTC time (the form :func:`parse_start_time` reads)."""
    return time.strftime("%Y%m%dT%H%M%S.%fZ")


class RotatingRecorder:
    """Record a stream into consecutive files of ``rotate_s`` seconds each.

    Parameters
    ----------
    folder : str or Path
        Where the files go (created if missing).
    sample_rate : int
        Hz.
    n_channels : int
        Channels per block.
    start_time : datetime
        UTC wall clock of stream frame 0.
    rotate_s : float, optional
        Seconds per file (at least 1); None records one file.
    audio_format : str
        ``"w64"``, ``"wav"``, ``"rf64"`` or ``"flac"`` (recorded as W64, compressed when closed);
        any case.
    subtype : str
        Sample encoding, ``"PCM_24"`` by default.
    prefix : str
        File name prefix.
    on_event : callable, optional
        Called as ``on_event(kind, fields)`` for ``file_open``, ``file_close`` and
        ``file_compressed`` (the session logs them).
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        sample_rate: int,
        n_channels: int,
        start_time: datetime,
        rotate_s: float | None = 300.0,
        audio_format: str = "w64",
        subtype: str = "PCM_24",
        prefix: str = "chat",
        on_event: Callable[[str, dict], None] | None = None,
    ) -> None:
        audio_format = audio_format.lower()  # ChatConfig spells them "FLAC", "W64"
        if audio_format not in FORMATS:
            raise RecorderError(
                f"audio_format must be one of {sorted(FORMATS)}, got {audio_format!r}"
            )
        if rotate_s is not None and rotate_s < 1.0:
            raise RecorderError(f"rotate_s must be at least 1 s (or None), got {rotate_s}")
        if audio_format == "flac" and subtype not in ("PCM_16", "PCM_24"):
            raise RecorderError(f"FLAC holds PCM_16 or PCM_24 samples, not {subtype}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sample_rate = int(sample_rate)
        self.n_channels = int(n_channels)
        self.start_time = start_time
        self.rotate_frames = None if rotate_s is None else int(round(rotate_s * self.sample_rate))
        self.audio_format = audio_format
        self.subtype = subtype
        self.prefix = prefix
        self.on_event = on_event or (lambda kind, fields: None)
        self.files: list[RecordedFile] = []
        self.n_frames = 0
        self._writer: LiveWriter | None = None
        self._pool = (
            ThreadPoolExecutor(1, thread_name_prefix="flac") if audio_format == "flac" else None
        )
        self._jobs: list[Future] = []

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (float ``[C, N]``), starting new files at the rotation frames."""
        block = np.atleast_2d(block)
        pos = 0
        while pos < block.shape[1]:
            if self._writer is None:
                self._open()
            room = block.shape[1] - pos
            if self.rotate_frames is not None:
                room = min(room, self.files[-1].start_frame + self.rotate_frames - self.n_frames)
            self._writer.write(block[:, pos : pos + room])
            self.files[-1].n_frames += room
            self.n_frames += room
            pos += room
            if self.rotate_frames is not None and self.files[-1].n_frames >= self.rotate_frames:
                self._close_current()

    def sync(self) -> None:
        """fsync the open file."""
        if self._writer is not None:
            self._writer.sync()

    def close(self) -> list[RecordedFile]:
        """Close the open file, wait for compressions; returns every file of the recording."""
        self._close_current()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            for job in self._jobs:
                job.result()  # re-raise a failed compression
        return list(self.files)

    def _comment(self, rec: RecordedFile) -> str:
        return (
            f"dolphin chat recording; start_frame={rec.start_frame}; sample_rate={rec.sample_rate}; "
            f"start_time={rec.start_time.isoformat(timespec='microseconds')}"
        )

    def _open(self) -> None:
        start = self.n_frames
        when = self.start_time + timedelta(seconds=start / self.sample_rate)
        container, suffix = FORMATS[self.audio_format]
        live_suffix = ".w64" if self.audio_format == "flac" else suffix
        path = self.folder / f"{self.prefix}_{file_stamp(when)}{live_suffix}"
        rec = RecordedFile(path, start, 0, self.sample_rate, when)
        self._writer = LiveWriter(
            path,
            sample_rate=self.sample_rate,
            n_channels=self.n_channels,
            format=container,
            subtype=self.subtype,
            comment=self._comment(rec),
        )
        self.files.append(rec)
        self.on_event("file_open", {"path": path.name, "frame": start, "start_time": when})

    def _close_current(self) -> None:
        if self._writer is None:
            return
        self._writer.close()
        self._writer = None
        rec = self.files[-1]
        self.on_event(
            "file_close",
            {"path": rec.path.name, "frame": rec.start_frame, "n_frames": rec.n_frames},
        )
        if self._pool is not None:
            self._jobs.append(self._pool.submit(self._compress, rec))

    def _compress(self, rec: RecordedFile) -> None:
        """W64 -> FLAC, verified frame for frame, then the W64 is removed."""
        flac = rec.path.with_suffix(".flac")
        partial = flac.with_name(f".{flac.name}.partial")
        block = 1 << 16
        try:
            with (
                sf.SoundFile(rec.path) as src,
                sf.SoundFile(
                    partial, "w", rec.sample_rate, src.channels, self.subtype, format="FLAC"
                ) as dst,
            ):
                dst.comment = self._comment(rec)
                while (chunk := src.read(block, dtype="int32", always_2d=True)).shape[0]:
                    dst.write(chunk)
            with sf.SoundFile(partial) as check, sf.SoundFile(rec.path) as src:
                same = check.frames == src.frames == rec.n_frames
                while same and (a := src.read(block, dtype="int32")).size:
                    same = np.array_equal(a, check.read(block, dtype="int32"))
            if not same:
                raise RecorderError(f"{flac}: FLAC differs from {rec.path.name}; W64 kept")
            os.replace(partial, flac)
        except (sf.LibsndfileError, RuntimeError, OSError) as err:
            partial.unlink(missing_ok=True)
            raise RecorderError(f"{rec.path}: FLAC compression failed ({err}); W64 kept") from err
        rec.path.unlink()
        old, rec.path = rec.path.name, flac
        self.on_event("file_compressed", {"path": flac.name, "from": old, "n_frames": rec.n_frames})
