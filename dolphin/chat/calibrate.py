"""Loopback calibration: how loud, and how late, an emitted whistle arrives at the input.

:func:`measure_loopback` plays a test tone at a known RMS level (dB re full scale), records it
through the loopback path (output -> amplifier -> speaker -> water -> hydrophone -> input, or a
cable), and measures its level at the input in a narrow band around the tone, against the noise
in the same band just before. The difference is the :class:`Calibration` ``offset_db``; the
:class:`~dolphin.chat.emitter.Emitter` subtracts it so that a requested level is the level the
hydrophone records. A short sweep played next is found in the recording by cross-correlation:
how much later it arrives than the output's clock says (``delay_s``) is added by the emitter to
the logged emission times, which then mark the arrival at the hydrophone to within a sample or
two, whatever latencies the drivers report. One tone frequency is measured: the speaker's frequency response across the
whistle band is not corrected.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.signal import correlate

from dolphin.audio.dsp import bandpass
from dolphin.chat.devices import InputDevice, OutputDevice
from dolphin.chat.eventlog import utc_now
from dolphin.errors import DolphinError
from dolphin.jsonfiles import write_json

#: Smallest tone-to-noise ratio accepted, dB.
MIN_SNR_DB = 10.0
#: Length of the timing sweep played after the tone, seconds.
SWEEP_S = 0.1


class CalibrationError(DolphinError, ValueError):
    """The tone was not heard, or a calibration file is unusable."""


def rms_dbfs(x: np.ndarray) -> float:
    """RMS level of ``x`` in dB re full scale (-inf dB floors at -300)."""
    rms = float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64))))) if np.size(x) else 0
    return 20.0 * np.log10(max(rms, 1e-15))


def make_tone(
    *, freq_hz: float, duration_s: float, level_dbfs: float, sample_rate: int, ramp_s: float = 0.01
) -> np.ndarray:
    """A sine at ``level_dbfs`` RMS with raised-cosine ramps, float32 ``[T]``."""
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    x = np.sqrt(2.0) * 10.0 ** (level_dbfs / 20.0) * np.sin(2 * np.pi * freq_hz * t)
    ramp = min(int(round(ramp_s * sample_rate)), n // 2)
    if ramp:
        window = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        x[:ramp] *= window
        x[n - ramp :] *= window[::-1]
    return x.astype(np.float32)


@dataclass
class Calibration:
    """Loopback gain of a device pair, saved as JSON by ``field_tools/calibrate.py``.

    Attributes
    ----------
    offset_db : float
        Tone level at the input minus its level at the output, dB.
    tone_hz : float
        Test tone frequency, Hz.
    output_dbfs, measured_dbfs, noise_dbfs : float
        RMS levels of the tone sent, the tone received and the noise in its band, dB re FS.
    sample_rate : int
        Hz.
    delay_s : float
        How much later a sound reaches the input than the output's clock says it was played,
        seconds (driver latencies, the speaker-to-hydrophone path); the emitter adds it so that
        logged emission times are when the whistle arrives.
    input, output : str
        Devices measured.
    created : str
        UTC time of the measurement, ISO 8601.
    """

    offset_db: float
    tone_hz: float
    output_dbfs: float
    measured_dbfs: float
    noise_dbfs: float
    sample_rate: int
    delay_s: float = 0.0
    input: str = ""
    output: str = ""
    created: str = ""

    def save(self, path: str | Path) -> Path:
        """Write as JSON, atomically."""
        return write_json(path, asdict(self))

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        """Read a file written by :meth:`save`."""
        path = Path(path)
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError as err:
            raise CalibrationError(f"{path}: calibration file not found") from err
        except (json.JSONDecodeError, TypeError) as err:
            raise CalibrationError(f"{path}: not a calibration file ({err})") from err


def make_sweep(*, duration_s: float, level_dbfs: float, sample_rate: int) -> np.ndarray:
    """A linear sweep from 0.05 to 0.4 x the sample rate at ``level_dbfs`` RMS, float32 ``[T]``."""
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    f0, f1 = 0.05 * sample_rate, 0.4 * sample_rate
    phase = 2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / duration_s * t**2)
    x = np.sqrt(2.0) * 10.0 ** (level_dbfs / 20.0) * np.sin(phase) * np.hanning(n) ** 0.25
    return x.astype(np.float32)


def band_level_dbfs(
    x: np.ndarray, *, sample_rate: int, freq_hz: float, window_s: float = 0.05
) -> np.ndarray:
    """RMS level in a +-5 % band around ``freq_hz``, per ``window_s`` window, dB re FS, ``[W]``."""
    y = bandpass(
        np.asarray(x, dtype=np.float64),
        sample_rate=sample_rate,
        low_hz=0.95 * freq_hz,
        high_hz=1.05 * freq_hz,
    )
    n = max(1, int(round(window_s * sample_rate)))
    w = y[: y.size // n * n].reshape(-1, n)
    return 10.0 * np.log10(np.maximum(np.mean(w**2, axis=1), 1e-30))


def measure_loopback(
    input: InputDevice,
    output: OutputDevice,
    *,
    tone_hz: float = 10000.0,
    level_dbfs: float = -20.0,
    duration_s: float = 1.0,
    settle_s: float = 0.5,
    timeout_s: float = 10.0,
) -> Calibration:
    """Play a tone on ``output``, record it on ``input`` (both started), return the gain.

    Parameters
    ----------
    input, output : InputDevice, OutputDevice
        The loopback path; the first input channel is measured.
    tone_hz : float
        Test tone, Hz (in the whistle band; below 0.45 x the sample rate).
    level_dbfs : float
        RMS level of the tone sent, dB re full scale.
    duration_s : float
        Tone length, seconds.
    settle_s : float
        Noise recorded before the tone, seconds.
    timeout_s : float
        Give up when the tone has not been recorded by then, seconds.

    Returns
    -------
    Calibration

    Raises
    ------
    CalibrationError
        The tone was not heard ``MIN_SNR_DB`` above the noise, or the input stalled.
    """
    sr = input.sample_rate
    if not 0 < tone_hz < 0.45 * sr:
        raise CalibrationError(f"tone_hz must be in (0, {0.45 * sr:.0f}) Hz, got {tone_hz}")
    chunks: list[np.ndarray] = []
    first = input.next_frame
    deadline = time.monotonic() + timeout_s

    def record_until(frame: int) -> None:
        while input.next_frame < frame:
            if time.monotonic() > deadline or input.finished:
                raise CalibrationError(f"{input.name}: input stalled during calibration")
            block = input.read(0.1)
            if block is not None:
                chunks.append(block.samples[0])

    record_until(first + int(settle_s * sr))
    tone_frame = input.next_frame
    tone = make_tone(freq_hz=tone_hz, duration_s=duration_s, level_dbfs=level_dbfs, sample_rate=sr)
    sweep = make_sweep(duration_s=SWEEP_S, level_dbfs=level_dbfs, sample_rate=sr)
    gap = int(0.2 * sr)
    output.play(tone, label="calibration tone")
    timed = output.play(np.concatenate([np.zeros(gap, np.float32), sweep]), label="sweep")
    while timed.frame_in(input.clock) is None:
        record_until(input.next_frame + 1)
    expected = timed.frame_in(input.clock) + gap  # where the sweep should start, by the clocks
    record_until(expected + sweep.size + int((0.5 + output.latency_s) * sr))
    audio = np.concatenate(chunks)
    levels = band_level_dbfs(
        audio[tone_frame - first : expected - first], sample_rate=sr, freq_hz=tone_hz
    )
    noise = float(
        np.median(band_level_dbfs(audio[: tone_frame - first], sample_rate=sr, freq_hz=tone_hz))
    )
    plateau = levels[levels >= levels.max() - 3.0]
    measured = float(np.median(plateau))
    if measured - noise < MIN_SNR_DB:
        raise CalibrationError(
            f"tone not heard: {measured:.1f} dBFS against {noise:.1f} dBFS of noise at "
            f"{tone_hz:.0f} Hz; check the loopback connection and the output volume"
        )
    delay = find_delay(audio, sweep, expected - first, max_delay=int(0.5 * sr))
    return Calibration(
        offset_db=round(measured - level_dbfs, 2),
        tone_hz=tone_hz,
        output_dbfs=level_dbfs,
        measured_dbfs=round(measured, 2),
        noise_dbfs=round(noise, 2),
        sample_rate=sr,
        delay_s=round(delay / sr, 6),
        input=input.name,
        output=output.name,
        created=utc_now(),
    )


def find_delay(audio: np.ndarray, probe: np.ndarray, expected: int, *, max_delay: int) -> int:
    """Frames by which ``probe`` arrives in ``audio`` after index ``expected``.

    Parameters
    ----------
    audio : np.ndarray, shape [T]
        Recording.
    probe : np.ndarray, shape [P]
        Played sound (a sweep: its autocorrelation has one sharp peak).
    expected : int
        Index at which the clocks say it starts.
    max_delay : int
        Largest delay searched, either way, frames.

    Raises
    ------
    CalibrationError
        When the probe is not clearly in the window.
    """
    a = max(expected - max_delay, 0)
    window = np.asarray(audio[a : expected + max_delay + probe.size], dtype=np.float64)
    if window.size < probe.size:
        raise CalibrationError("recording too short to find the sweep")
    corr = correlate(window, probe.astype(np.float64), mode="valid", method="fft")
    energy = np.sqrt(np.maximum(np.convolve(window**2, np.ones(probe.size), mode="valid"), 0))
    # Floor the energy: in digital silence (a cable or JACK loopback) any rounding noise would
    # otherwise give a perfect normalised match.
    floor = 1e-3 * max(float(energy.max()), 1e-12)
    score = corr / (np.maximum(energy, floor) * np.linalg.norm(probe))
    best = int(np.argmax(score))
    if score[best] < 0.5:
        raise CalibrationError(
            f"timing sweep not found (best match {score[best]:.2f}); check the loopback connection"
        )
    return a + best - expected
