"""Inputs without a sound card: a recording replayed, and a clocked simulator with a loopback.

:class:`FileReplayInput` hands out a file block by block, either at real-time pace (each block
becomes available when its last frame would have been sampled) or as fast as it can be read.

:class:`SimulatedInput` generates Gaussian noise plus sounds scheduled at exact frames, clocked
like a sound card (or as fast as possible). Its :meth:`SimulatedInput.loopback` output mixes what
an emitter plays into the input after ``delay_s``, so a whole session - emission, self-hearing
gate, recording, detection - runs sample-exact with no hardware. :meth:`SimulatedInput.inject_overrun`
makes it lose blocks the way a stalled reader does, to test that losses are logged and counted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dolphin.audio.io import audio_info
from dolphin.audio.stream import BlockReader
from dolphin.chat.devices import DeviceError, DeviceEvent, InputDevice, OutputDevice, Playback

_Raw = tuple[int, np.ndarray, float]


def _wait_until(due: float, timeout_s: float) -> bool:
    """Sleep until ``due`` (monotonic) if that is within ``timeout_s``; True when it is reached."""
    wait = due - time.monotonic()
    if wait > timeout_s:
        time.sleep(max(timeout_s, 0.0))
        return False
    if wait > 0:
        time.sleep(wait)
    return True


class FileReplayInput(InputDevice):
    """A recording replayed as an input.

    Parameters
    ----------
    path : str or Path
        Audio file (any format :func:`dolphin.audio.read_audio` reads); its rate is the stream's.
    channels : sequence of int
        0-based channels kept, in order.
    block_s : float
        Seconds per block.
    realtime : bool
        Deliver at real-time pace (True) or as fast as possible.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        channels: Sequence[int] = (0,),
        block_s: float = 0.05,
        realtime: bool = True,
    ) -> None:
        self.path = Path(path)
        self.name = f"replay {self.path.name}"
        info = audio_info(self.path)
        self.channels = [int(c) for c in channels]
        bad = [c for c in self.channels if not 0 <= c < info.n_channels]
        if bad or not self.channels:
            raise DeviceError(
                f"{self.path}: channel(s) {bad or channels} out of range for a "
                f"{info.n_channels}-channel file"
            )
        super().__init__(sample_rate=info.sample_rate, n_channels=len(self.channels))
        self.duration_s = info.duration_s
        self.block_frames = max(1, int(round(block_s * self.sample_rate)))
        self.realtime = realtime
        self._reader: BlockReader | None = None
        self._iter = None
        self._raw = None
        self._t0 = 0.0

    def start(self) -> None:
        """Open the file; the replay clock starts now."""
        self._reader = BlockReader(
            self.path, block_frames=self.block_frames, channels=self.channels
        )
        self._iter = iter(self._reader)
        self._t0 = time.monotonic()

    def stop(self) -> None:
        """Close the file."""
        if self._reader is not None:
            self._reader.close()

    def _fetch(self, timeout_s: float) -> _Raw | None:
        if self._iter is None:
            raise DeviceError(f"{self.name}: read before start()")
        if self._raw is None:
            try:
                self._raw = next(self._iter)
            except StopIteration:
                self._exhausted = True
                return None
        block = self._raw
        start_mono = self._t0 + block.start_frame / self.sample_rate
        if self.realtime and not _wait_until(
            start_mono + block.n_frames / self.sample_rate, timeout_s
        ):
            return None
        self._raw = None
        return block.start_frame, block.samples, start_mono


@dataclass
class _Sound:
    start_frame: int
    samples: np.ndarray  # [N] float32, already scaled
    label: str


class SimulatedInput(InputDevice):
    """Clocked noise plus scheduled sounds, as if from a hydrophone.

    Parameters
    ----------
    sample_rate : int
        Hz.
    block_s : float
        Seconds per block.
    n_channels : int
        Channels (every channel gets the same sounds and independent noise).
    noise_dbfs : float
        RMS level of the white noise, dB re full scale.
    duration_s : float, optional
        Stop after this much audio (None: run until stopped).
    realtime : bool
        Deliver blocks at real-time pace (True) or as fast as possible.
    seed : int
        Seed of the noise.
    """

    name = "simulator"

    def __init__(
        self,
        *,
        sample_rate: int = 96000,
        block_s: float = 0.05,
        n_channels: int = 1,
        noise_dbfs: float = -60.0,
        duration_s: float | None = None,
        realtime: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(sample_rate=sample_rate, n_channels=n_channels)
        self.block_frames = max(1, int(round(block_s * self.sample_rate)))
        self.noise_rms = 10.0 ** (noise_dbfs / 20.0)
        self.end_frame = None if duration_s is None else int(round(duration_s * self.sample_rate))
        self.realtime = realtime
        self._rng = np.random.default_rng(seed)
        self._sounds: list[_Sound] = []
        self._gen_frame = 0  # next frame to generate
        self._to_drop = 0
        self._flag_overflow = False
        self._t0 = time.monotonic()

    @property
    def generated_frame(self) -> int:
        """Next frame the simulator will generate: the earliest a new sound can start."""
        return self._gen_frame

    def add_sound(
        self,
        samples: np.ndarray,
        *,
        start_s: float | None = None,
        start_frame: int | None = None,
        gain_db: float = 0.0,
        label: str = "",
    ) -> int:
        """Schedule a sound; returns its start frame.

        Parameters
        ----------
        samples : np.ndarray, shape [N]
            The sound, full scale 1.
        start_s, start_frame : float or int
            When it starts (give one); a start already generated is refused.
        gain_db : float
            Gain applied, dB.
        label : str
            Name, for debugging.
        """
        if (start_s is None) == (start_frame is None):
            raise DeviceError("add_sound needs exactly one of start_s and start_frame")
        start = int(round(start_s * self.sample_rate)) if start_frame is None else int(start_frame)
        if start < self._gen_frame:
            raise DeviceError(
                f"simulator: cannot schedule {label or 'a sound'} at frame {start}, "
                f"frames up to {self._gen_frame} are already generated"
            )
        scaled = np.asarray(samples, dtype=np.float32).reshape(-1) * 10.0 ** (gain_db / 20.0)
        self._sounds.append(_Sound(start, scaled.astype(np.float32), label))
        return start

    def loopback(self, *, delay_s: float = 0.0, gain_db: float = 0.0) -> LoopbackOutput:
        """An output whose sounds come back into this input after ``delay_s`` at ``gain_db``."""
        return LoopbackOutput(self, delay_s=delay_s, gain_db=gain_db)

    def inject_overrun(self, n_blocks: int = 1, *, overflow: bool = True) -> None:
        """Lose the next ``n_blocks`` blocks as a stalled reader would (and flag an overflow)."""
        self._to_drop += int(n_blocks)
        self._flag_overflow = overflow

    def start(self) -> None:
        """Start the clock."""
        self._t0 = time.monotonic()

    def _fetch(self, timeout_s: float) -> _Raw | None:
        while True:
            start = self._gen_frame
            n = self.block_frames
            if self.end_frame is not None:
                n = min(n, self.end_frame - start)
                if n <= 0:
                    self._exhausted = True
                    return None
            start_mono = self._t0 + start / self.sample_rate
            if self.realtime and not _wait_until(start_mono + n / self.sample_rate, timeout_s):
                return None
            samples = self._generate(start, n)
            self._gen_frame = start + n
            if self._to_drop <= 0:
                return start, samples, start_mono
            self._to_drop -= 1
            if self._flag_overflow:
                self.stats.n_overflows += 1
                self.report(DeviceEvent("input_overflow", start, 0, "injected overflow"))
            self._drop(start, n, "injected overrun")

    def _generate(self, start: int, n: int) -> np.ndarray:
        """Noise plus every scheduled sound overlapping frames ``[start, start + n)``."""
        out = self._rng.standard_normal((self.n_channels, n)).astype(np.float32) * self.noise_rms
        keep = []
        for sound in self._sounds:
            a = max(start, sound.start_frame)
            b = min(start + n, sound.start_frame + sound.samples.size)
            if a < b:
                out[:, a - start : b - start] += sound.samples[
                    a - sound.start_frame : b - sound.start_frame
                ]
            if sound.start_frame + sound.samples.size > start + n:
                keep.append(sound)
        self._sounds = keep
        return out


class LoopbackOutput(OutputDevice):
    """Plays into a :class:`SimulatedInput`: a sound played at frame F is heard at F + delay.

    Parameters
    ----------
    simulator : SimulatedInput
        The input the sounds come back into.
    delay_s : float
        Speaker-to-hydrophone delay, seconds.
    gain_db : float
        Loopback gain, dB (the calibration offset a loopback measurement should find).
    """

    name = "loopback"

    def __init__(self, simulator: SimulatedInput, *, delay_s: float = 0.0, gain_db: float = 0.0):
        self.simulator = simulator
        self.sample_rate = simulator.sample_rate
        self.delay_frames = int(round(delay_s * self.sample_rate))
        self.gain_db = float(gain_db)
        self._busy_until = 0

    def play(self, samples: np.ndarray, *, label: str = "") -> Playback:
        """Play from the next frame the simulator generates (after anything still playing)."""
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        start = max(self.simulator.generated_frame, self._busy_until)
        self.simulator.add_sound(
            data, start_frame=start + self.delay_frames, gain_db=self.gain_db, label=label
        )
        self._busy_until = start + data.size
        playback = Playback(label, int(data.size), self.sample_rate, start_frame=start)
        playback.done.set()
        return playback
