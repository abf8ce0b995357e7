"""Output devices of CHAT sessions: the interface, what a played sound reports, a null output.

An :class:`OutputDevice` plays sounds one after another; each :meth:`~OutputDevice.play` returns
a :class:`Playback` that learns when its first sample reached the DAC (PortAudio outputs) or
which input frame it coincides with (the simulator's loopback, :class:`NullOutput`), so that
emissions are logged in stream time. The PortAudio output is
:class:`dolphin.chat.portaudio.SoundDeviceOutput`; the simulator's loopback is in
:mod:`dolphin.chat.sources`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from dolphin.chat.stream import DeviceEvent, StreamClock


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
