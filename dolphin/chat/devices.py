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
:mod:`dolphin.chat.portaudio`, the replay and the simulator in :mod:`dolphin.chat.sources`, the
blocks, events and clock in :mod:`dolphin.chat.stream`, the output interface in
:mod:`dolphin.chat.outputs`; this module holds :class:`InputDevice` and :func:`open_input` /
:func:`open_output`, which pick a device (and re-exports the rest).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from dolphin.chat.outputs import NullOutput, OutputDevice, Playback
from dolphin.chat.stream import (
    EVENT_KINDS,
    DeviceError,
    DeviceEvent,
    DeviceStats,
    InputBlock,
    StreamClock,
)

if TYPE_CHECKING:
    from dolphin.chat.portaudio import DeviceInfo

__all__ = [
    "EVENT_KINDS",
    "DeviceError",
    "DeviceEvent",
    "DeviceStats",
    "InputBlock",
    "InputDevice",
    "NullOutput",
    "OutputDevice",
    "Playback",
    "StreamClock",
    "list_devices",
    "open_input",
    "open_output",
    "parse_device",
]


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
    max_queue_s: float = 10.0,
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
    max_queue_s : float
        Seconds of audio a PortAudio input queues for a reader that falls behind; beyond it
        blocks are dropped, replaced by zeros and reported (an overrun in the event log).
        Replays and the simulator produce blocks when read and queue nothing.

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
        parse_device(device),
        channels=channels,
        sample_rate=sample_rate,
        block_s=block_s,
        max_queue_s=max_queue_s,
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
