"""What audio devices hand to a CHAT session: stamped blocks, events, counters and the clock.

* :class:`InputBlock`: contiguous samples ``[C, N]`` stamped with their stream frame and the
  ``time.monotonic()`` at which they were sampled (``filled`` when zeros stand in for lost ones).
* :class:`DeviceEvent` / :class:`DeviceStats`: overruns, drops, underflows and errors, and their
  counts, which the session logs.
* :class:`StreamClock`: ``time.monotonic()`` to input stream frames, and frame 0 to the wall
  clock, so that an output that only knows when its DAC plays a sample can say which input
  frame that was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from dolphin.errors import DolphinError

#: Event kinds a device reports.
EVENT_KINDS = ("input_overflow", "dropped", "output_underflow", "device_error")


class DeviceError(DolphinError, RuntimeError):
    """An audio device cannot be opened or failed while running (names the device and why)."""


@dataclass(frozen=True)
class InputBlock:
    """One block of input.

    Attributes
    ----------
    samples : np.ndarray, shape [C, N], float32
        Samples, channels first.
    start_frame : int
        Stream frame of ``samples[:, 0]``, counted from the first frame of the stream.
    sample_rate : int
        Hz.
    mono_time_s : float
        ``time.monotonic()`` at which ``samples[:, 0]`` was sampled (ADC time when known).
    filled : bool
        True when the block is zeros standing in for frames that were lost.
    """

    samples: np.ndarray
    start_frame: int
    sample_rate: int
    mono_time_s: float
    filled: bool = False

    @property
    def n_frames(self) -> int:
        """Frames ``N``."""
        return int(self.samples.shape[1])

    @property
    def end_frame(self) -> int:
        """Stream frame one past the last one."""
        return self.start_frame + self.n_frames

    @property
    def start_s(self) -> float:
        """Stream time of the first frame, seconds."""
        return self.start_frame / self.sample_rate


@dataclass(frozen=True)
class DeviceEvent:
    """Something the researcher must know about: an overrun, a drop, an underflow, an error.

    Attributes
    ----------
    kind : str
        One of :data:`EVENT_KINDS`.
    frame : int
        Input stream frame where it happened (-1 from outputs, which cannot tell; the session
        then logs the input frame at which it noticed).
    n_frames : int
        Frames lost or replaced by zeros (0 when unknown, e.g. PortAudio overflows).
    detail : str
        Human-readable detail.
    """

    kind: str
    frame: int
    n_frames: int = 0
    detail: str = ""


@dataclass
class DeviceStats:
    """Counters of a device since it started."""

    n_blocks: int = 0  # blocks delivered to the reader (filled ones included)
    n_frames: int = 0  # frames delivered (filled ones included)
    n_overflows: int = 0  # PortAudio input_overflow flags: the driver lost samples
    n_dropped_blocks: int = 0  # blocks discarded because the reader fell behind (queue full)
    n_dropped_frames: int = 0  # frames replaced by zeros
    n_underflows: int = 0  # output_underflow flags of output streams

    @property
    def n_overruns(self) -> int:
        """Overflows plus dropped blocks: every time input was lost."""
        return self.n_overflows + self.n_dropped_blocks


class StreamClock:
    """Maps ``time.monotonic()`` to input stream frames (and frame 0 to the wall clock).

    Parameters
    ----------
    sample_rate : int
        Hz of the stream.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = int(sample_rate)
        self._anchor: tuple[int, float] | None = None
        self.start_time: datetime | None = None  # UTC wall clock of frame 0

    def update(self, frame: int, mono_time_s: float) -> None:
        """Record that stream frame ``frame`` was sampled at ``mono_time_s``."""
        if self.start_time is None:
            wall = time.time() - (time.monotonic() - mono_time_s) - frame / self.sample_rate
            self.start_time = datetime.fromtimestamp(wall, tz=timezone.utc)
        self._anchor = (int(frame), float(mono_time_s))

    @property
    def ready(self) -> bool:
        """True once a block has been seen."""
        return self._anchor is not None

    def frame_at(self, mono_time_s: float) -> int | None:
        """Stream frame sampled at ``mono_time_s`` (None before the first block)."""
        if self._anchor is None:
            return None
        frame, mono = self._anchor
        return frame + int(round((mono_time_s - mono) * self.sample_rate))

    def wall_time(self, frame: int) -> datetime | None:
        """UTC wall clock of stream frame ``frame`` (None before the first block)."""
        if self.start_time is None:
            return None
        return self.start_time + timedelta(seconds=frame / self.sample_rate)
