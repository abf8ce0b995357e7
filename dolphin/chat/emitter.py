"""Emit vocabulary whistles on a key press or a schedule, at a calibrated level, timed to the sample.

An :class:`Emitter` scales a rendered vocabulary whistle to a requested RMS level, plays it on an
:class:`~dolphin.chat.devices.OutputDevice` and, once the device says when the first sample left
(PortAudio reports the DAC time; the loopback and null outputs know the frame at once), turns
that into an :class:`Emission` with exact start and end frames in the *input* stream's time.
Each emission is passed to the matcher's ``mute(start_s, end_s)`` so the session does not take
its own whistle for a dolphin's imitation: at once over a predicted interval when the exact one
is not known yet, and again over the exact interval plus ``mute_tail_s`` (echoes).

Levels are RMS in dB re full scale. Without a calibration the level is that of the samples sent
to the output; with a :class:`~dolphin.chat.calibrate.Calibration` (``offset_db``: loopback gain
measured by :func:`~dolphin.chat.calibrate.measure_loopback`) it is the level expected at the
input, i.e. what the hydrophone will record. A calibration's ``delay_s`` is added to the
emission times, which then say when the whistle reaches the hydrophone rather than when the
driver says it left the DAC (PortAudio latencies are often off by a few milliseconds).

:class:`EmissionSchedule` gives whistles at fixed stream times (``"5=scarf,12.5=rope"``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from dolphin.chat.calibrate import Calibration, rms_dbfs
from dolphin.chat.devices import InputDevice, OutputDevice, Playback
from dolphin.errors import DolphinError

#: Keys that trigger the vocabulary entries, in order.
EMIT_KEYS = "123456789"


class EmissionError(DolphinError, ValueError):
    """An emission cannot be made (unknown label, a level that would clip, a bad schedule)."""


@dataclass(frozen=True)
class Emission:
    """A whistle played, with its exact place in the input stream.

    Attributes
    ----------
    label : str
        Vocabulary entry played.
    trigger : str
        ``"key"``, ``"schedule"`` or ``"api"``.
    level_dbfs : float
        Requested RMS level, dB re full scale (at the input when ``calibrated``).
    output_dbfs : float
        RMS level of the samples sent to the output, dB re full scale.
    calibrated : bool
        Whether ``level_dbfs`` went through a calibration offset.
    requested_frame : int
        Input stream frame read when the emission was asked for.
    start_frame, end_frame : int
        Input stream frames of the first sample and one past the last, as played (plus the
        calibration's ``delay_s``: as heard at the input).
    sample_rate : int
        Hz.
    """

    label: str
    trigger: str
    level_dbfs: float
    output_dbfs: float
    calibrated: bool
    requested_frame: int
    start_frame: int
    end_frame: int
    sample_rate: int

    @property
    def start_s(self) -> float:
        """Stream time of the first sample, seconds."""
        return self.start_frame / self.sample_rate

    @property
    def end_s(self) -> float:
        """Stream time just after the last sample, seconds."""
        return self.end_frame / self.sample_rate

    @property
    def latency_s(self) -> float:
        """From the request to the first sample, seconds."""
        return (self.start_frame - self.requested_frame) / self.sample_rate


class EmissionSchedule:
    """Whistles to emit at given stream times.

    Parameters
    ----------
    items : sequence of (float, str)
        ``(stream time in seconds, label)`` pairs, in any order.
    """

    def __init__(self, items: Sequence[tuple[float, str]]) -> None:
        self.items = sorted((float(t), str(label)) for t, label in items)

    @classmethod
    def parse(cls, text: str) -> EmissionSchedule:
        """Read ``"5=scarf,12.5=rope"`` (seconds=label, comma separated)."""
        items = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            when, sep, label = part.partition("=")
            try:
                items.append((float(when), label.strip()))
            except ValueError:
                sep = ""
            if not sep or not label.strip():
                raise EmissionError(f"schedule item {part!r} is not SECONDS=LABEL (e.g. 5=scarf)")
        return cls(items)

    def due(self, stream_s: float) -> list[str]:
        """Labels whose time has come (each is given once)."""
        out = []
        while self.items and self.items[0][0] <= stream_s:
            out.append(self.items.pop(0)[1])
        return out

    def __len__(self) -> int:
        return len(self.items)


class Emitter:
    """Plays vocabulary whistles and reports exactly when they were played.

    Parameters
    ----------
    output : OutputDevice
        Where the whistles go (started by the caller).
    sounds : mapping of str to np.ndarray
        Label -> float32 samples ``[T]`` (:meth:`dolphin.chat.vocab.Vocabulary.render`).
    input : InputDevice
        The session's input: its clock converts DAC times into input frames.
    level_dbfs : float
        Default RMS level, dB re full scale (see the module docstring).
    calibration : Calibration, optional
        Loopback gain; makes ``level_dbfs`` the level expected at the input.
    mute : callable, optional
        ``mute(start_s, end_s)`` of the matcher, called for every emission.
    mute_tail_s : float
        Seconds muted after each emission's end (echoes, loopback delay).
    """

    def __init__(
        self,
        output: OutputDevice,
        sounds: Mapping[str, np.ndarray],
        *,
        input: InputDevice,
        level_dbfs: float = -20.0,
        calibration: Calibration | None = None,
        mute: Callable[[float, float], None] | None = None,
        mute_tail_s: float = 0.2,
    ) -> None:
        if not sounds:
            raise EmissionError("the emitter needs at least one sound")
        if output.sample_rate != input.sample_rate:
            raise EmissionError(
                f"output runs at {output.sample_rate} Hz but the input at {input.sample_rate} Hz"
            )
        self.output = output
        self.sounds = {k: np.asarray(v, dtype=np.float32).reshape(-1) for k, v in sounds.items()}
        self.input = input
        self.level_dbfs = float(level_dbfs)
        self.calibration = calibration
        self.mute = mute
        self.mute_tail_s = float(mute_tail_s)
        self.emissions: list[Emission] = []
        self.delay_frames = (
            int(round(calibration.delay_s * input.sample_rate)) if calibration else 0
        )
        self._pending: list[tuple[Playback, dict]] = []

    @property
    def labels(self) -> list[str]:
        """Labels that can be emitted, in order (key ``1`` is the first)."""
        return list(self.sounds)

    def label_for_key(self, key: str) -> str | None:
        """The label key ``1``..``9`` emits, or None."""
        index = EMIT_KEYS.find(key) if len(key) == 1 else -1
        return self.labels[index] if 0 <= index < len(self.sounds) else None

    def prepare(self, label: str, level_dbfs: float | None = None) -> tuple[np.ndarray, float]:
        """The samples for ``label`` at ``level_dbfs`` and their output RMS level (dBFS).

        Raises
        ------
        EmissionError
            Unknown label, or a level at which the whistle would clip.
        """
        if label not in self.sounds:
            raise EmissionError(f"no sound {label!r} to emit (have {self.labels})")
        level = self.level_dbfs if level_dbfs is None else float(level_dbfs)
        out_db = level - (self.calibration.offset_db if self.calibration else 0.0)
        sound = self.sounds[label]
        gain = 10.0 ** ((out_db - rms_dbfs(sound)) / 20.0)
        peak = float(np.abs(sound).max()) * gain
        if peak > 1.0:
            raise EmissionError(
                f"{label!r} at {level:.1f} dBFS would clip (peak {20 * np.log10(peak):+.1f} dBFS "
                f"at the output); lower the level by {20 * np.log10(peak):.1f} dB or more"
            )
        return (sound * gain).astype(np.float32), out_db

    def emit(
        self, label: str, *, level_dbfs: float | None = None, trigger: str = "api"
    ) -> Playback:
        """Play ``label``; the exact :class:`Emission` comes out of :meth:`poll`.

        The matcher is muted at once: over the exact interval when the output knows it, else
        over the predicted one (from the output's latency).
        """
        samples, out_db = self.prepare(label, level_dbfs)
        meta = {
            "label": label,
            "trigger": trigger,
            "level_dbfs": self.level_dbfs if level_dbfs is None else float(level_dbfs),
            "output_dbfs": out_db,
            "calibrated": self.calibration is not None,
            "requested_frame": self.input.next_frame,
        }
        playback = self.output.play(samples, label=label)
        self._pending.append((playback, meta))
        if playback.frame_in(self.input.clock) is None and self.mute is not None:
            predicted = self.input.clock.frame_at(time.monotonic() + self.output.latency_s)
            start = (
                self.input.next_frame if predicted is None else predicted
            ) / self.input.sample_rate
            end = start + samples.size / self.input.sample_rate + self.mute_tail_s
            self.mute(start - 0.05, end + 0.05)
        return playback

    def poll(self) -> list[Emission]:
        """Emissions whose start is now known, in order; each is muted and kept in ``emissions``."""
        done, waiting = [], []
        for playback, meta in self._pending:
            start = playback.frame_in(self.input.clock)
            if start is None:
                waiting.append((playback, meta))
                continue
            start += self.delay_frames
            emission = Emission(
                **meta,
                start_frame=start,
                end_frame=start + playback.n_frames,
                sample_rate=self.input.sample_rate,
            )
            if self.mute is not None:
                self.mute(emission.start_s, emission.end_s + self.mute_tail_s)
            done.append(emission)
        self._pending = waiting
        self.emissions.extend(done)
        return done

    @property
    def n_pending(self) -> int:
        """Emissions played but not yet timed."""
        return len(self._pending)
