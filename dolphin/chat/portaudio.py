"""PortAudio input and output streams (via ``sounddevice``) behind the CHAT device interface.

The input callback runs on PortAudio's audio thread and must never block: it copies the block,
stamps it with its stream frame and ADC time (mapped to ``time.monotonic()``) and appends it to a
bounded deque (appends and pops of a deque are atomic in CPython, no lock is taken). When the
reader falls behind and the deque holds ``max_queue_s`` of audio, the block is dropped and
counted; PortAudio's own ``input_overflow`` flag (samples lost by the driver) is counted too.

``sounddevice`` is imported lazily so that the package works without PortAudio; a missing library
raises :class:`~dolphin.chat.devices.DeviceError` saying what to install.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from dolphin.chat.devices import DeviceError, DeviceEvent, InputDevice, OutputDevice, Playback

#: Sample rates checked by :func:`list_devices`, Hz.
CHECKED_RATES = (96000, 192000)


def import_sounddevice() -> Any:
    """The ``sounddevice`` module, or a :class:`DeviceError` naming what is missing."""
    try:
        import sounddevice
    except ImportError as err:
        raise DeviceError("sounddevice is not installed: pip install 'dolphin[realtime]'") from err
    except OSError as err:  # sounddevice raises OSError when libportaudio is absent
        raise DeviceError(
            f"the PortAudio library is missing ({err}): apt-get install libportaudio2"
        ) from err
    return sounddevice


@dataclass(frozen=True)
class DeviceInfo:
    """A PortAudio device.

    Attributes
    ----------
    index : int
        PortAudio index (what ``--input`` / ``--output`` take, or a name substring).
    name : str
        Device name.
    host_api : str
        ALSA, JACK Audio Connection Kit, Core Audio, ...
    max_input_channels, max_output_channels : int
        Channels.
    default_sample_rate : float
        Hz.
    input_rates : tuple of int
        Rates of :data:`CHECKED_RATES` the device accepts for input.
    is_default_input, is_default_output : bool
        Whether PortAudio uses it by default.
    """

    index: int
    name: str
    host_api: str
    max_input_channels: int
    max_output_channels: int
    default_sample_rate: float
    input_rates: tuple[int, ...]
    is_default_input: bool
    is_default_output: bool

    def line(self) -> str:
        """One line for a device table."""
        default = ("<" if self.is_default_input else " ") + (">" if self.is_default_output else " ")
        rates = ",".join(f"{r // 1000}k" for r in self.input_rates) or "-"
        return (
            f"{default} {self.index:3d}  {self.name[:40]:40s}  {self.host_api[:12]:12s}  "
            f"in {self.max_input_channels:2d}  out {self.max_output_channels:2d}  "
            f"{self.default_sample_rate:8.0f} Hz  input at {rates}"
        )


def list_devices() -> list[DeviceInfo]:
    """All PortAudio devices (see :func:`dolphin.chat.devices.list_devices`)."""
    sd = import_sounddevice()
    default_in, default_out = (int(x) for x in sd.default.device)
    out = []
    for dev in sd.query_devices():
        rates = []
        for rate in CHECKED_RATES if dev["max_input_channels"] > 0 else ():
            try:
                sd.check_input_settings(device=dev["index"], channels=1, samplerate=rate)
                rates.append(rate)
            except Exception:  # PortAudioError or ValueError: rate not supported
                pass
        out.append(
            DeviceInfo(
                index=int(dev["index"]),
                name=str(dev["name"]),
                host_api=str(sd.query_hostapis(dev["hostapi"])["name"]),
                max_input_channels=int(dev["max_input_channels"]),
                max_output_channels=int(dev["max_output_channels"]),
                default_sample_rate=float(dev["default_samplerate"]),
                input_rates=tuple(rates),
                is_default_input=dev["index"] == default_in,
                is_default_output=dev["index"] == default_out,
            )
        )
    return out


class _TimeBase:
    """Converts a stream's own clock (PortAudio stream time, or frames counted) to monotonic.

    A callback runs some time after the driver stamped its buffer (thread wake-up, the GIL), so
    ``now - currentTime`` overestimates the offset between the two clocks by that delay. The
    smallest value seen is the best estimate; it may creep up by ``creep`` seconds per second so
    that a slow drift between the clocks cannot freeze it.
    """

    def __init__(self, creep: float = 1e-4) -> None:
        self.creep = creep
        self.offset: float | None = None
        self._last = 0.0

    def to_mono(self, stream_time: float, current_time: float, now: float) -> float:
        """``time.monotonic()`` of ``stream_time``, given the callback's ``current_time``."""
        raw = now - current_time
        if self.offset is None:
            self.offset = raw
        else:
            self.offset = min(self.offset + self.creep * (now - self._last), raw)
        self._last = now
        return stream_time + self.offset


class SoundDeviceInput(InputDevice):
    """A PortAudio input stream on one device, keeping some of its channels.

    Parameters
    ----------
    device : int or str, optional
        PortAudio index or name substring; None for the default input.
    channels : sequence of int
        0-based channels kept, in order (the stream opens ``max(channels) + 1`` channels).
    sample_rate : int
        Hz (96000 or 192000 for hydrophones).
    block_s : float
        Seconds per callback block.
    max_queue_s : float
        Audio the queue holds before blocks are dropped (and counted) when the reader stalls.
    latency : str or float
        PortAudio latency hint (``"high"`` is safest against overflows).
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        channels: Sequence[int] = (0,),
        sample_rate: int = 96000,
        block_s: float = 0.05,
        max_queue_s: float = 10.0,
        latency: str | float = "high",
    ) -> None:
        self.name = f"portaudio input {device if device is not None else '(default)'}"
        self.channels = [int(c) for c in channels]
        if not self.channels or min(self.channels) < 0:
            raise DeviceError(f"{self.name}: channels must be 0-based indices, got {channels}")
        super().__init__(sample_rate=sample_rate, n_channels=len(self.channels))
        self.device = device
        self.block_frames = max(1, int(round(block_s * self.sample_rate)))
        self.max_blocks = max(2, int(np.ceil(max_queue_s / block_s)))
        self.latency = latency
        self._queue: deque[tuple[int, np.ndarray, float]] = deque()
        self._ready = threading.Event()
        self._frames_seen = 0
        self._time = _TimeBase()
        self._stream: Any = None

    def start(self) -> None:
        """Open and start the stream (checks the device, channels and rate first)."""
        sd = import_sounddevice()
        n_open = max(self.channels) + 1
        try:
            sd.check_input_settings(
                device=self.device, channels=n_open, dtype="float32", samplerate=self.sample_rate
            )
            self._stream = sd.InputStream(
                device=self.device,
                channels=n_open,
                samplerate=self.sample_rate,
                blocksize=self.block_frames,
                dtype="float32",
                latency=self.latency,
                callback=self._callback,
                finished_callback=self._finished,
            )
            self._stream.start()
        except Exception as err:  # PortAudioError, ValueError: unknown device, bad rate
            raise DeviceError(
                f"{self.name}: cannot record {n_open} channel(s) at {self.sample_rate} Hz ({err}); "
                "see `dolphin chat devices`"
            ) from err

    def stop(self) -> None:
        """Stop and close the stream."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()

    @property
    def n_queued(self) -> int:
        """Blocks waiting in the queue."""
        return len(self._queue)

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's audio thread: stamp, copy and queue the block; never block or raise."""
        now = time.monotonic()
        start = self._frames_seen
        self._frames_seen += frames
        if time_info.inputBufferAdcTime > 0 and time_info.currentTime > 0:
            mono = self._time.to_mono(time_info.inputBufferAdcTime, time_info.currentTime, now)
        else:  # the driver gives no times: the last frame was sampled just before now
            mono = self._time.to_mono(
                start / self.sample_rate, self._frames_seen / self.sample_rate, now
            )
        if status.input_overflow:
            self.stats.n_overflows += 1
            self.report(
                DeviceEvent(
                    "input_overflow", start, 0, "PortAudio input overflow: driver lost samples"
                )
            )
        if len(self._queue) >= self.max_blocks:
            self._drop(start, frames, f"reader fell behind: queue full ({self.max_blocks} blocks)")
            return
        self._queue.append((start, np.ascontiguousarray(indata[:, self.channels].T), mono))
        self._ready.set()

    def _finished(self) -> None:
        if self._stream is not None:  # stopped by PortAudio, not by us: the device went away
            self._exhausted = True
            self.report(DeviceEvent("device_error", self._frames_seen, 0, "input stream stopped"))

    def _fetch(self, timeout_s: float) -> tuple[int, np.ndarray, float] | None:
        deadline = time.monotonic() + timeout_s
        while True:
            self._ready.clear()  # clear before looking, so no wake-up is missed
            try:
                return self._queue.popleft()
            except IndexError:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._exhausted:
                return None
            self._ready.wait(remaining)


class SoundDeviceOutput(OutputDevice):
    """A PortAudio output stream playing queued sounds one after another.

    Parameters
    ----------
    device : int or str, optional
        PortAudio index or name substring; None for the default output.
    channels : sequence of int
        0-based channels the (mono) sound goes to.
    sample_rate : int
        Hz; the same as the input so that emission times map onto input frames.
    block_s : float, optional
        Seconds per callback block; None (default) uses the driver's own buffer size, whose DAC
        times PortAudio reports best (an adapted size blurs them by up to one driver buffer).
    latency : str or float
        PortAudio latency hint.
    """

    def __init__(
        self,
        device: int | str | None = None,
        *,
        channels: Sequence[int] = (0,),
        sample_rate: int = 96000,
        block_s: float | None = None,
        latency: str | float = "low",
    ) -> None:
        self.name = f"portaudio output {device if device is not None else '(default)'}"
        self.device = device
        self.channels = [int(c) for c in channels]
        self.sample_rate = int(sample_rate)
        self.block_frames = 0 if block_s is None else max(1, int(round(block_s * self.sample_rate)))
        self.latency = latency
        self.latency_s = 0.0
        self._queue: deque[tuple[Playback, np.ndarray]] = deque()
        self._current: tuple[Playback, np.ndarray, int] | None = None
        self._events: deque[DeviceEvent] = deque()
        self._frames_played = 0
        self._time = _TimeBase()
        self._stream: Any = None

    def start(self) -> None:
        """Open and start the stream, playing silence until something is queued."""
        sd = import_sounddevice()
        try:
            self._stream = sd.OutputStream(
                device=self.device,
                channels=max(self.channels) + 1,
                samplerate=self.sample_rate,
                blocksize=self.block_frames,
                dtype="float32",
                latency=self.latency,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as err:
            raise DeviceError(
                f"{self.name}: cannot play at {self.sample_rate} Hz ({err}); "
                "see `dolphin chat devices`"
            ) from err
        block = self.block_frames or int(self._stream.blocksize) or 1024  # 0: driver-chosen
        self.latency_s = float(self._stream.latency) + block / self.sample_rate

    def stop(self) -> None:
        """Stop and close the stream."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
            stream.close()

    def play(self, samples: np.ndarray, *, label: str = "") -> Playback:
        """Queue a sound; its DAC start time is filled in by the callback."""
        if self._stream is None:
            raise DeviceError(f"{self.name}: not started")
        data = np.asarray(samples, dtype=np.float32).reshape(-1)
        playback = Playback(label, int(data.size), self.sample_rate)
        self._queue.append((playback, data))
        return playback

    def events(self) -> list[DeviceEvent]:
        """Underflows since the last call."""
        out = []
        while self._events:
            out.append(self._events.popleft())
        return out

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's audio thread: copy queued sounds into the buffer and time their start."""
        now = time.monotonic()
        outdata.fill(0)
        if status.output_underflow:
            self._events.append(
                DeviceEvent("output_underflow", -1, 0, f"{self.name}: output underflow")
            )
        if time_info.outputBufferDacTime > 0 and time_info.currentTime > 0:
            dac = self._time.to_mono(time_info.outputBufferDacTime, time_info.currentTime, now)
        else:  # the driver gives no times: assume the buffer is heard one latency from now
            played = self._frames_played / self.sample_rate
            dac = self._time.to_mono(played + self.latency_s, played, now)
        self._frames_played += frames
        pos = 0
        while pos < frames:
            if self._current is None:
                try:
                    playback, data = self._queue.popleft()
                except IndexError:
                    break
                playback.start_mono_s = dac + pos / self.sample_rate
                self._current = (playback, data, 0)
            playback, data, offset = self._current
            n = min(frames - pos, data.size - offset)
            outdata[pos : pos + n, self.channels] = data[offset : offset + n, None]
            pos += n
            if offset + n >= data.size:
                playback.done.set()
                self._current = None
            else:
                self._current = (playback, data, offset + n)
