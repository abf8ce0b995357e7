"""Audio inputs and outputs of CHAT sessions: PortAudio, file replay and a simulator, one interface.

An :class:`InputDevice` delivers contiguous blocks ``[C, N]`` float32 stamped with their stream
time: ``start_frame`` counts frames from the first frame of the stream, so times are exact to the
sample. Nothing is lost silently: frames that never reached the reader (a full queue, a block the
simulator was told to drop) are replaced by zeros so that the timeline stays sample-accurate, and
every such gap and every PortAudio ``input_overflow`` flag becomes a :class:`DeviceEvent` and a
count in :class:`DeviceStats`.

A :class:`StreamClock` ties stream frames to ``time.monotonic()`` (from PortAudio's ADC time of
each block when the driver gives it) and to the wall clock of frame 0, so that an output device
that only knows when its DAC plays a sample can say which input frame that was.

Devices:

* ``SoundDeviceInput`` / ``SoundDeviceOutput``: PortAudio streams via ``sounddevice``
  (the ``realtime`` extra); the input callback only copies the block into a bounded deque.
* ``FileReplayInput``: a recording replayed at real-time pace, or as fast as it can be read.
* ``SimulatedInput``: clocked noise plus scheduled sounds; its ``loopback()``
  output mixes what is played back into the input (with a delay and gain), sample-exact.
* :class:`NullOutput`: plays nothing, but still times emissions (dry runs, replays).

:func:`list_devices` lists PortAudio devices. The PortAudio classes live in
:mod:`dolphin.chat.portaudio`, the replay and the simulator in :mod:`dolphin.chat.sources`; this
module holds the interface and :func:`open_input` / :func:`open_output`, which pick one.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from dolphin.errors import DolphinError

if TYPE_CHECKING:
    from dolphin.chat.portaudio import DeviceInfo

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


class InputDevice(ABC):
    """Common part of every input: contiguity, zero-filling of gaps, counters and the clock.

    Subclasses implement :meth:`_fetch` (the next raw block or None) and may override
    :meth:`start` / :meth:`stop`.
    """

    name: str = "input"

    def __init__(self, *, sample_rate: int, n_channels: int) -> None:
        if sample_rate <= 0:
            raise DeviceError(f"{self.name}: sample_rate must be positive, got {sample_rate}")
        self.sample_rate = int(sample_rate)
        self.n_channels = int(n_channels)
        self.clock = StreamClock(self.sample_rate)
        self.stats = DeviceStats()
        self._events: deque[DeviceEvent] = deque()
        self._next_frame = 0
        self._pending: tuple[int, np.ndarray, float] | None = None
        self._exhausted = False

    # --- to implement -------------------------------------------------------------------------
    @abstractmethod
    def _fetch(self, timeout_s: float) -> tuple[int, np.ndarray, float] | None:
        """Next raw ``(start_frame, samples [C, N], mono_time_s)``, or None if none is ready.

        Set ``self._exhausted`` when a finite source has nothing more to give.
        """

    def start(self) -> None:
        """Start delivering blocks."""
        return None  # nothing to do unless the device holds resources

    def stop(self) -> None:
        """Stop and release the device; blocks already queued can still be read."""
        return None  # nothing to do unless the device holds resources

    # --- common -------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        """True when a finite source (a file, a simulation) has delivered everything."""
        return self._exhausted and self._pending is None and not self.n_queued

    @property
    def n_queued(self) -> int:
        """Blocks captured but not read yet (devices with a queue)."""
        return 0

    def drain(self) -> list[InputBlock]:
        """After :meth:`stop`: the blocks still queued, so that nothing captured is lost."""
        out = []
        while self.n_queued or self._pending is not None:
            block = self.read(0.0)
            if block is None:
                break
            out.append(block)
        return out

    @property
    def next_frame(self) -> int:
        """Stream frame of the next block :meth:`read` will return."""
        return self._next_frame

    def report(self, event: DeviceEvent) -> None:
        """Record an event (thread-safe: deque appends are atomic)."""
        self._events.append(event)

    def events(self) -> list[DeviceEvent]:
        """Events since the last call, oldest first."""
        out = []
        while True:
            try:
                out.append(self._events.popleft())
            except IndexError:
                return out

    def read(self, timeout_s: float = 0.1) -> InputBlock | None:
        """Next contiguous block, or None when none arrived within ``timeout_s``.

        Frames lost upstream come back as zero blocks (``filled=True``, at most one second
        each), so that ``start_frame`` of each block is the previous block's ``end_frame``.
        """
        if self._pending is None:
            self._pending = self._fetch(timeout_s)
            if self._pending is None:
                return None
        start, samples, mono = self._pending
        if start < self._next_frame:
            raise DeviceError(
                f"{self.name}: block at frame {start} overlaps frame {self._next_frame}"
            )
        if start > self._next_frame:
            n = min(start - self._next_frame, self.sample_rate)
            gap_mono = mono - (start - self._next_frame) / self.sample_rate
            zeros = np.zeros((self.n_channels, n), dtype=np.float32)
            block = InputBlock(zeros, self._next_frame, self.sample_rate, gap_mono, filled=True)
        else:
            block = InputBlock(samples, start, self.sample_rate, mono)
            self._pending = None
        self._next_frame = block.end_frame
        self.stats.n_blocks += 1
        self.stats.n_frames += block.n_frames
        self.clock.update(block.start_frame, block.mono_time_s)
        return block

    def _drop(self, start_frame: int, n_frames: int, detail: str) -> None:
        """Count and report frames that will be replaced by zeros."""
        self.stats.n_dropped_blocks += 1
        self.stats.n_dropped_frames += n_frames
        self.report(DeviceEvent("dropped", start_frame, n_frames, detail))

    def __enter__(self) -> InputDevice:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class Playback:
    """A sound handed to an output device, and when it was (or will be) played.

    Attributes
    ----------
    label : str
        What is played.
    n_frames : int
        Length in frames.
    sample_rate : int
        Hz.
    start_frame : int or None
        Input stream frame of the first sample, when the output knows it (loopback, null).
    start_mono_s : float or None
        ``time.monotonic()`` when the first sample leaves the DAC (PortAudio outputs).
    done : threading.Event
        Set once the last sample has been handed to the driver.
    """

    label: str
    n_frames: int
    sample_rate: int
    start_frame: int | None = None
    start_mono_s: float | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def frame_in(self, clock: StreamClock) -> int | None:
        """Input stream frame of the first sample (None while unknown)."""
        if self.start_frame is not None:
            return self.start_frame
        if self.start_mono_s is None:
            return None
        return clock.frame_at(self.start_mono_s)


class OutputDevice(ABC):
    """Plays sounds one after another; each :meth:`play` returns a :class:`Playback`."""

    name: str = "output"
    sample_rate: int
    latency_s: float = 0.0  # time from play() to the DAC, roughly (for muting ahead)

    @abstractmethod
    def play(self, samples: np.ndarray, *, label: str = "") -> Playback:
        """Queue ``samples`` (float32 ``[N]``, full scale 1) after anything already queued."""

    def start(self) -> None:
        """Open the device."""
        return None  # nothing to do unless the device holds resources

    def stop(self) -> None:
        """Close the device (queued sounds may be cut)."""
        return None  # nothing to do unless the device holds resources

    def events(self) -> list[DeviceEvent]:
        """Underflows and errors since the last call."""
        return []


class NullOutput(OutputDevice):
    """Plays nothing; emissions are timed at the input's current frame (dry runs, replays).

    Parameters
    ----------
    clock : StreamClock
        The input's clock.
    """

    name = "null"

    def __init__(self, clock: StreamClock) -> None:
        self.clock = clock
        self.sample_rate = clock.sample_rate
        self._busy_until = 0

    def play(self, samples: np.ndarray, *, label: str = "") -> Playback:
        n = int(np.asarray(samples).shape[-1])
        start = max(self.clock.frame_at(time.monotonic()) or 0, self._busy_until)
        self._busy_until = start + n
        playback = Playback(label, n, self.sample_rate, start_frame=start)
        playback.done.set()
        return playback


def list_devices() -> list[DeviceInfo]:
    """PortAudio devices, with whether they take 96 and 192 kHz input.

    Returns
    -------
    list of DeviceInfo
        Empty when PortAudio finds no device (no sound card, no JACK server).

    Raises
    ------
    DeviceError
        When ``sounddevice`` or the PortAudio library is missing.
    """
    from dolphin.chat.portaudio import list_devices as _list

    return _list()


def parse_device(spec: str | int | None) -> str | int | None:
    """A device given on the command line: an index (``"3"``), a name substring, or None."""
    if spec is None or isinstance(spec, int):
        return spec
    spec = spec.strip()
    return int(spec) if spec.isdigit() else (spec or None)


def open_input(
    *,
    device: str | int | None = None,
    replay: str | None = None,
    simulate: bool = False,
    channels: tuple[int, ...] = (0,),
    sample_rate: int = 96000,
    block_s: float = 0.05,
    realtime: bool = True,
    seed: int = 0,
) -> InputDevice:
    """Pick an input: a PortAudio device, a file replay or the simulator (exactly one).

    Parameters
    ----------
    device : str or int, optional
        PortAudio device index or name substring (``None``: the default input).
    replay : str, optional
        Audio file to replay instead of a device.
    simulate : bool
        Use the simulator (noise only; schedule sounds on it, or play into its loopback).
    channels : tuple of int
        0-based input channels kept, in order.
    sample_rate : int
        Hz (96000 or 192000 for hydrophones; a replayed file keeps its own rate).
    block_s : float
        Seconds per block.
    realtime : bool
        Replay and simulate at real-time pace (False: as fast as possible).
    seed : int
        Seed of the simulated noise.

    Returns
    -------
    InputDevice
        Not started yet.
    """
    if replay is not None and simulate:
        raise DeviceError("give either a file to replay or the simulator as input, not both")
    if replay is not None:
        from dolphin.chat.sources import FileReplayInput

        return FileReplayInput(replay, channels=channels, block_s=block_s, realtime=realtime)
    if simulate:
        from dolphin.chat.sources import SimulatedInput

        return SimulatedInput(
            sample_rate=sample_rate,
            block_s=block_s,
            n_channels=len(channels),
            realtime=realtime,
            seed=seed,
        )
    from dolphin.chat.portaudio import SoundDeviceInput

    return SoundDeviceInput(
        parse_device(device), channels=channels, sample_rate=sample_rate, block_s=block_s
    )


def open_output(
    device: str | int | None, *, input: InputDevice, channels: tuple[int, ...] = (0,)
) -> OutputDevice:
    """Pick the output matching an input: a PortAudio device, or the input's own loopback.

    Parameters
    ----------
    device : str or int, optional
        PortAudio device index or name substring; None plays into the simulator's loopback
        (simulated input) or nowhere (:class:`NullOutput`, emissions still timed and logged).
    input : InputDevice
        The session's input, whose clock times the emissions.
    channels : tuple of int
        0-based output channels the sound goes to.

    Returns
    -------
    OutputDevice
        Not started yet.
    """
    if device is None:
        loopback = getattr(input, "loopback", None)
        return loopback() if callable(loopback) else NullOutput(input.clock)
    from dolphin.chat.portaudio import SoundDeviceOutput

    return SoundDeviceOutput(parse_device(device), channels=channels, sample_rate=input.sample_rate)
