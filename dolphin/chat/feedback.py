"""Tell the researcher at once that a mimic was heard: a spoken label, a cue sound or a line.

* :class:`SpeechFeedback` speaks the label with ``espeak-ng`` in a child process, never waiting
  for it: while one label is being spoken, only the latest new one is kept and spoken next.
  Given an output device (``ChatConfig.cue_device``: headphones), espeak writes the speech to a
  temporary WAV file instead, which is played on that device once ready; otherwise espeak
  speaks on the system's default output.
* :class:`CueFeedback` plays a short tone on a chosen output (headphones, not the underwater
  speaker), its pitch telling the label apart (entry ``k`` is ``2k`` semitones above ``base_hz``).
* :class:`PrintFeedback` writes a plain line: ``print`` to standard output and silent (for
  logging terminals and scripts), ``beep`` without a cue device to standard error with a
  terminal bell.

:func:`build_feedback` picks one by name (:data:`FEEDBACK_KINDS`): ``speech``, ``beep`` (cues on
an output given for them, else the terminal bell: never the underwater speaker by default),
``print`` or ``none``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Protocol

import numpy as np

from dolphin.chat.calibrate import make_tone
from dolphin.chat.devices import OutputDevice
from dolphin.errors import DolphinError

#: What ``ChatConfig.feedback`` and ``--feedback`` accept.
FEEDBACK_KINDS = ("speech", "beep", "print", "none")


class FeedbackError(DolphinError, ValueError):
    """A feedback channel cannot be set up (missing program, no output device)."""


class Feedback(Protocol):
    """What the session calls; every method returns at once."""

    def announce(self, label: str, *, accepted: bool = True) -> None:
        """A mimic of ``label`` was heard (``accepted=False``: heard but rejected)."""

    def poll(self) -> None:
        """Advance anything queued (called by the session loop)."""

    def close(self) -> None:
        """Stop and release resources."""


class NullFeedback:
    """Says nothing."""

    def announce(self, label: str, *, accepted: bool = True) -> None:
        pass

    def poll(self) -> None:
        pass

    def close(self) -> None:
        pass


class PrintFeedback(NullFeedback):
    """Writes ``MIMIC <label>`` (with a terminal bell) to a stream.

    Parameters
    ----------
    stream : file, optional
        Where to write; standard error by default (the view owns standard output).
    bell : bool
        Ring the terminal bell too.
    """

    def __init__(self, stream: IO[str] | None = None, *, bell: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.bell = bell

    def announce(self, label: str, *, accepted: bool = True) -> None:
        """Write the line for accepted mimics."""
        if accepted:
            self.stream.write(f"{chr(7) if self.bell else ''}MIMIC {label}\n")
            self.stream.flush()


class SpeechFeedback(NullFeedback):
    """Speak labels with espeak-ng, without ever blocking the session.

    Parameters
    ----------
    command : str
        The speech program (``espeak-ng``; ``espeak`` works too).
    rate_wpm : int
        Words per minute (fast: the researcher wants the label now).
    voice : str, optional
        espeak voice (``"en"``, ``"fr"``...).
    announce_rejected : bool
        Also speak rejected detections (``"<label>, rejected"``).
    output : OutputDevice, optional
        Where the speech plays (headphones, started by the caller; never the underwater
        speaker); espeak's own default output when omitted.

    Raises
    ------
    FeedbackError
        When the program is not installed.
    """

    def __init__(
        self,
        *,
        command: str = "espeak-ng",
        rate_wpm: int = 230,
        voice: str | None = None,
        announce_rejected: bool = False,
        output: OutputDevice | None = None,
    ) -> None:
        exe = shutil.which(command)
        if exe is None:
            raise FeedbackError(
                f"{command} not found: install it (apt-get install espeak-ng) or choose "
                f"another feedback ({', '.join(k for k in FEEDBACK_KINDS if k != 'speech')})"
            )
        self.argv = [exe, "-s", str(int(rate_wpm))] + (["-v", voice] if voice else [])
        self.announce_rejected = announce_rejected
        self.output = output
        self.spoken: list[str] = []  # everything handed to the program, in order
        self._proc: subprocess.Popen | None = None
        self._wav: Path | None = None  # speech being written for the output device
        self._next: str | None = None

    @property
    def busy(self) -> bool:
        """True while a label is being spoken (or synthesised for the output device)."""
        return self._proc is not None and self._proc.poll() is None

    def say(self, text: str) -> None:
        """Speak ``text`` now, or right after the current one (only the latest is kept)."""
        if self.busy:
            self._next = text
            return
        self._play_ready()
        self._next = None
        self.spoken.append(text)
        argv = [*self.argv, text]
        if self.output is not None:
            fd, name = tempfile.mkstemp(prefix="dolphin-speech-", suffix=".wav")
            os.close(fd)
            self._wav = Path(name)
            argv = [*self.argv, "-w", name, text]
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _play_ready(self) -> None:
        """Play the speech file once espeak has finished writing it (output device only)."""
        if self._wav is None or self.busy:
            return
        path, self._wav = self._wav, None
        try:
            import soundfile

            x, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
        except Exception:  # espeak failed: say nothing rather than stop the session
            x, sr = np.zeros((0, 1), np.float32), self.output.sample_rate
        finally:
            path.unlink(missing_ok=True)
        if x.size:
            self.output.play(_resampled(x[:, 0], sr, self.output.sample_rate), label="speech")

    def announce(self, label: str, *, accepted: bool = True) -> None:
        """Speak the label (rejected ones only with ``announce_rejected``)."""
        if accepted:
            self.say(label)
        elif self.announce_rejected:
            self.say(f"{label}, rejected")

    def poll(self) -> None:
        """Play finished speech; start the queued label once the previous one is done."""
        self._play_ready()
        if self._next is not None and not self.busy:
            self.say(self._next)

    def close(self, timeout_s: float = 2.0) -> None:
        """Let the current label finish (up to ``timeout_s``), then stop."""
        if self._proc is not None:
            try:
                self._proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._wav is not None:  # speech never played: remove its file
            self._wav.unlink(missing_ok=True)
            self._wav = None


def _resampled(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """``x`` [T] at ``rate_in`` Hz resampled to ``rate_out`` Hz, float32."""
    if rate_in == rate_out:
        return x.astype(np.float32)
    import scipy.signal

    g = np.gcd(int(rate_in), int(rate_out))
    return scipy.signal.resample_poly(x, rate_out // g, rate_in // g).astype(np.float32)


class CueFeedback(NullFeedback):
    """A short tone per label on an output device (started by the caller).

    Parameters
    ----------
    output : OutputDevice
        Where cues play: headphones or a monitor speaker, never the underwater speaker.
    labels : sequence of str
        Vocabulary labels; entry ``k`` gets the pitch ``base_hz * 2 ** (2k / 12)``.
    base_hz : float
        Pitch of the first label, Hz.
    level_dbfs : float
        RMS level of the cues, dB re full scale.
    duration_s : float
        Cue length, seconds.
    """

    def __init__(
        self,
        output: OutputDevice,
        labels: Sequence[str],
        *,
        base_hz: float = 880.0,
        level_dbfs: float = -20.0,
        duration_s: float = 0.15,
    ) -> None:
        self.output = output
        sr = output.sample_rate
        self.cues = {
            label: make_tone(
                freq_hz=base_hz * 2.0 ** (2 * k / 12),
                duration_s=duration_s,
                level_dbfs=level_dbfs,
                sample_rate=sr,
            )
            for k, label in enumerate(labels)
        }
        self._rejected = make_tone(
            freq_hz=base_hz / 4, duration_s=duration_s, level_dbfs=level_dbfs - 6, sample_rate=sr
        )

    def announce(self, label: str, *, accepted: bool = True) -> None:
        """Play the label's cue (a low blip for rejected or unknown labels)."""
        cue = self.cues.get(label) if accepted else None
        self.output.play(cue if cue is not None else self._rejected, label=f"cue {label}")


def build_feedback(
    kind: str,
    *,
    labels: Sequence[str] = (),
    output: OutputDevice | None = None,
    stream: IO[str] | None = None,
) -> Feedback:
    """The feedback named ``kind`` (one of :data:`FEEDBACK_KINDS`).

    Parameters
    ----------
    kind : str
        ``"speech"`` (espeak-ng), ``"beep"`` (cue tones on ``output``; the terminal bell and a
        line without one), ``"print"`` or ``"none"``.
    labels : sequence of str
        Vocabulary labels (cue pitches).
    output : OutputDevice, optional
        Where cues (``beep``) and speech (``speech``) play, started by the caller (headphones,
        not the underwater speaker); speech uses the system's default output without it.
    stream : file, optional
        Where ``"print"`` (standard output by default, no bell) and ``"beep"`` without an
        output (standard error by default, with the terminal bell) write.

    Raises
    ------
    FeedbackError
        Unknown kind, or espeak-ng missing for ``"speech"``.
    """
    if kind == "none":
        return NullFeedback()
    if kind == "print":
        return PrintFeedback(stream or sys.stdout, bell=False)
    if kind == "beep" and output is None:
        return PrintFeedback(stream)
    if kind == "speech":
        return SpeechFeedback(output=output)
    if kind == "beep":
        return CueFeedback(output, labels)
    raise FeedbackError(f"feedback must be one of {', '.join(FEEDBACK_KINDS)}, got {kind!r}")
