"""A CHAT session: record everything, match mimics, emit whistles, log and tell - losing nothing.

One loop reads the input block by block and, for each block: writes it to the rotating recording
(:mod:`dolphin.chat.recorder`, readable after ``kill -9``), feeds the chosen channel to the mimic
matcher, logs and announces its detections, emits due whistles (schedule, key presses) and logs
their exact times, logs every overrun or device error, and refreshes the view. The matcher sees
every frame, zero blocks standing in for lost ones included, so its stream time is the
recording's time.

A session folder ``<root>/<YYYYMMDDTHHMMSSZ>/`` holds ``config.json``, ``events.jsonl``,
``audio/`` and, after a clean stop, ``session.json`` (:mod:`dolphin.chat.session_files`, which
also defines :class:`~dolphin.chat.session_files.SessionResult`).

Stop a running session with ``stop_event.set()``, key ``q``, Ctrl-C (``KeyboardInterrupt``) or
``duration_s``; each closes the files and logs ``session_stop``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from dolphin.chat.devices import InputDevice, OutputDevice
from dolphin.chat.emitter import EmissionError, EmissionSchedule, Emitter
from dolphin.chat.eventlog import EventLog, to_jsonable
from dolphin.chat.feedback import Feedback
from dolphin.chat.recorder import RecordedFile, RotatingRecorder
from dolphin.chat.session_files import (  # noqa: F401  (SessionResult re-exported)
    SessionResult,
    make_session_folder,
    session_summary,
    write_json,
)
from dolphin.chat.view import KeyReader, TerminalView
from dolphin.errors import DolphinError

#: Matcher failures after which the session goes on recording without it.
MAX_MATCHER_ERRORS = 10


class Matcher(Protocol):
    """The part of :class:`dolphin.chat.matcher.MimicMatcher` a session uses."""

    def process(self, block: np.ndarray) -> list: ...  # noqa: D102  [T] float32 -> detections

    def flush(self) -> list: ...  # noqa: D102  detections still pending at the end

    def mute(self, start_s: float, end_s: float) -> None: ...  # noqa: D102  self-hearing gate


class ChatSession:
    """Run one session (see the module docstring).

    Parameters
    ----------
    root : str or Path
        Folder of sessions; this one goes into a new subfolder.
    input : InputDevice
        The hydrophone (or a replay or the simulator); the session starts and stops it.
    matcher : Matcher, optional
        Mimic matcher fed with channel ``match_channel``; None records without matching.
    emitter : Emitter, optional
        Plays whistles (its output is in ``outputs``); its ``mute`` should be the matcher's.
    outputs : sequence of OutputDevice
        Output devices the session starts and stops (emitter, cues).
    feedback : Feedback, optional
        Told of every detection.
    view : TerminalView, optional
        Live view.
    keys : KeyReader, optional
        Key presses: ``1``-``9`` emit vocabulary entries, ``q`` stops.
    schedule : EmissionSchedule, optional
        Whistles emitted at fixed stream times.
    config : object, optional
        Saved as ``config.json`` (a dataclass or a dict).
    rotate_s : float, optional
        Seconds per recording file (None: one file).
    audio_format : str
        ``"w64"``, ``"flac"``, ``"wav"`` or ``"rf64"``.
    match_channel : int
        Row of the input blocks fed to the matcher.
    status_every_s : float
        Seconds between ``status`` records (a heartbeat showing how far the session got).
    """

    def __init__(
        self,
        root: str | Path,
        input: InputDevice,
        *,
        matcher: Matcher | None = None,
        emitter: Emitter | None = None,
        outputs: Sequence[OutputDevice] = (),
        feedback: Feedback | None = None,
        view: TerminalView | None = None,
        keys: KeyReader | None = None,
        schedule: EmissionSchedule | None = None,
        config: Any = None,
        rotate_s: float | None = 300.0,
        audio_format: str = "w64",
        match_channel: int = 0,
        status_every_s: float = 1.0,
    ) -> None:
        if not 0 <= match_channel < input.n_channels:
            raise ValueError(f"match_channel {match_channel} out of range for {input.n_channels}")
        if schedule is not None and len(schedule) and emitter is None:
            raise EmissionError("a schedule of emissions needs an emitter (an output device)")
        self.root = Path(root)
        self.input = input
        self.matcher = matcher
        self.emitter = emitter
        self.outputs = list(outputs)
        self.feedback = feedback
        self.view = view
        self.keys = keys
        self.schedule = schedule
        self.config = config
        self.rotate_s = rotate_s
        self.audio_format = audio_format
        self.match_channel = match_channel
        self.status_every_s = status_every_s
        self.folder: Path | None = None
        self.log: EventLog | None = None
        self.recorder: RotatingRecorder | None = None
        self.detections: list = []
        self._n_ui_errors = 0
        self._n_matcher_errors = 0
        self._device_error = False
        self._end_frame: int | None = None

    # --- the loop -----------------------------------------------------------------------------
    def run(
        self, *, duration_s: float | None = None, stop_event: threading.Event | None = None
    ) -> SessionResult:
        """Run until ``duration_s`` of audio, the end of the input, a stop request or an error."""
        self.folder = make_session_folder(self.root)
        write_json(self.folder / "config.json", self.config if self.config is not None else {})
        self.log = EventLog(self.folder / "events.jsonl")
        sr = self.input.sample_rate
        end_frame = None if duration_s is None else int(round(duration_s * sr))
        stop_event = stop_event or threading.Event()
        self.log.log(
            "session_start",
            input=self.input.name,
            outputs=[o.name for o in self.outputs],
            sample_rate=sr,
            n_channels=self.input.n_channels,
            match_channel=self.match_channel,
            rotate_s=self.rotate_s,
            audio_format=self.audio_format,
            duration_s=duration_s,
            labels=self.emitter.labels if self.emitter else [],
            pid=os.getpid(),
        )
        with contextlib.ExitStack() as stack:
            if hasattr(self.matcher, "streaming"):  # MimicMatcher keeps its state in a context
                stack.enter_context(self.matcher.streaming())
            return self._loop(end_frame, stop_event)

    def _warm_up(self) -> None:
        """Run the matcher once on noise, off the session's stream, before the devices start.

        The first call compiles or loads numba kernels; during a live stream that pause would
        fill the input queue.
        """
        new_stream = getattr(self.matcher, "new_stream", None)
        if new_stream is None:
            return
        t0 = time.monotonic()
        noise = np.random.default_rng(0).standard_normal(self.input.sample_rate // 2)
        try:
            self.matcher.process((1e-3 * noise).astype(np.float32), state=new_stream())
            vocab = getattr(self.matcher, "vocab", None)
            if vocab is not None and hasattr(self.matcher, "match"):
                self.matcher.match(vocab.entries[0].contour)
        except Exception as err:  # noqa: BLE001 - the session's own calls will report it
            self.log.log("error", detail=f"matcher warm-up: {type(err).__name__}: {err}")
        self.log.log("warm_up", seconds=round(time.monotonic() - t0, 3))

    def _loop(self, end_frame: int | None, stop_event: threading.Event) -> SessionResult:
        sr = self.input.sample_rate
        self._end_frame = end_frame
        stopped_by = "error"
        try:
            self._warm_up()
            self.input.start()
            for output in self.outputs:
                output.start()
            next_sync = next_status = time.monotonic()
            while True:
                if stop_event.is_set():
                    stopped_by = "stop"
                    break
                if end_frame is not None and self.input.next_frame >= end_frame:
                    stopped_by = "duration"
                    break
                block = self.input.read(0.05)
                self._device_events()
                if block is None and self.input.finished:
                    stopped_by = "device_error" if self._device_error else "end_of_input"
                    break
                if block is not None:
                    samples = block.samples
                    if end_frame is not None and block.end_frame > end_frame:
                        samples = samples[:, : end_frame - block.start_frame]
                    self._record(samples)
                    self._match(samples[self.match_channel])
                    if self.view is not None:
                        self._safe(self.view.levels, samples)
                if self._emissions() == "quit":
                    stopped_by = "key"
                    break
                if self.feedback is not None:
                    self._safe(self.feedback.poll)
                now = time.monotonic()
                if now >= next_sync:
                    next_sync = now + 0.5
                    if self.recorder is not None:
                        self.recorder.sync()
                if now >= next_status:
                    next_status = now + self.status_every_s
                    self._status()
                if self.view is not None:
                    self._safe(self.view.refresh, self.input.next_frame / sr)
        except KeyboardInterrupt:
            stopped_by = "interrupt"
        except BaseException as err:
            self.log.log("error", detail=f"{type(err).__name__}: {err}")
            raise
        finally:
            result = self._finish(stopped_by)
        return result

    def _record_drained(self) -> None:
        """Record what the input captured before it stopped (and before ``duration_s`` ends)."""
        for block in self.input.drain():
            samples = block.samples
            if self._end_frame is not None:
                samples = samples[:, : max(self._end_frame - block.start_frame, 0)]
            if samples.shape[1]:
                self._record(samples)

    def _safe(self, call: Any, *args: Any) -> None:
        """Call a view or feedback method; a failure there is logged, never ends the session."""
        try:
            call(*args)
        except Exception as err:  # noqa: BLE001 - the recording matters more than the display
            self._n_ui_errors += 1
            if self._n_ui_errors <= 10:  # the first few are enough to debug
                self.log.log("error", detail=f"view/feedback: {type(err).__name__}: {err}")

    def _record(self, samples: np.ndarray) -> None:
        if self.recorder is None:
            start_time = self.input.clock.start_time or datetime.now(timezone.utc)
            self.recorder = RotatingRecorder(
                self.folder / "audio",
                sample_rate=self.input.sample_rate,
                n_channels=self.input.n_channels,
                start_time=start_time,
                rotate_s=self.rotate_s,
                audio_format=self.audio_format,
                on_event=lambda kind, fields: self.log.log(kind, **fields),
            )
        self.recorder.write(samples)

    def _match(self, x: np.ndarray, *, final: bool = False) -> None:
        if self.matcher is None:
            return
        try:
            found = self.matcher.flush() if final else self.matcher.process(x)
        except Exception as err:  # noqa: BLE001 - a matcher bug must not stop the recording
            self._n_matcher_errors += 1
            self.log.log("error", detail=f"matcher: {type(err).__name__}: {err}")
            if self._n_matcher_errors >= MAX_MATCHER_ERRORS:
                self.log.log("note", detail="matcher disabled after repeated errors; recording on")
                self.matcher = None
            return
        for det in found:
            self.detections.append(det)
            fields = det.to_dict() if hasattr(det, "to_dict") else to_jsonable(det)
            record = self.log.log("detection", **fields)
            if self.view is not None:
                self._safe(self.view.detection, record)
            if self.feedback is not None:
                label = det.label or getattr(det, "nearest_label", None) or "unknown"
                accepted = bool(getattr(det, "accepted", True))
                self._safe(partial(self.feedback.announce, label, accepted=accepted))

    def _device_events(self) -> None:
        events = self.input.events()
        for output in self.outputs:  # outputs do not know input frames: time them on arrival
            events += [replace(ev, frame=self.input.next_frame) for ev in output.events()]
        for ev in events:
            self._device_error |= ev.kind == "device_error"
            record = self.log.log(
                ev.kind,
                frame=ev.frame,
                stream_s=ev.frame / self.input.sample_rate,
                n_frames=ev.n_frames,
                detail=ev.detail,
            )
            if self.view is not None:
                self._safe(self.view.problem, record)

    def _emissions(self) -> str | None:
        """Emit due and requested whistles, log the timed ones; ``"quit"`` on key ``q``."""
        wanted = []
        if self.schedule is not None:
            wanted += [(label, "schedule") for label in self.schedule.due(self._stream_s())]
        quit = False
        for key in self.keys.poll() if self.keys is not None else []:
            quit = quit or key in "qQ"
            label = self.emitter.label_for_key(key) if self.emitter is not None else None
            if label is not None:
                wanted.append((label, "key"))
        for label, trigger in wanted:
            try:
                self.emitter.emit(label, trigger=trigger)
            except DolphinError as err:  # unknown label, clipping, a failed output device
                self.log.log("error", detail=str(err), label=label, trigger=trigger)
        self._log_emissions()
        return "quit" if quit else None

    def _log_emissions(self) -> None:
        for emission in self.emitter.poll() if self.emitter is not None else []:
            record = self.log.log(
                "emission", **to_jsonable(emission), start_s=emission.start_s, end_s=emission.end_s
            )
            if self.view is not None:
                self._safe(self.view.emission, record)

    def _stream_s(self) -> float:
        return self.input.next_frame / self.input.sample_rate

    def _status(self) -> None:
        stats = self.input.stats
        self.log.log(
            "status",
            stream_s=self._stream_s(),
            frames_recorded=self.recorder.n_frames if self.recorder else 0,
            n_overruns=stats.n_overruns,
            n_dropped_frames=stats.n_dropped_frames,
            n_detections=len(self.detections),
        )

    def _finish(self, stopped_by: str) -> SessionResult:
        """Flush the matcher, close devices and files, log the stop, write the summary."""
        problems = []
        steps = [
            self.input.stop,
            self._record_drained,
            lambda: self._match(np.zeros(0, np.float32), final=True),
            *[output.stop for output in self.outputs],
            self._log_emissions,
            self._device_events,
            lambda: self.feedback.close() if self.feedback is not None else None,
        ]
        for step in steps:  # every step runs, even when one fails
            try:
                step()
            except Exception as err:  # noqa: BLE001 - logged, the files still get closed
                problems.append(f"{type(err).__name__}: {err}")
        files: list[RecordedFile] = []
        if self.recorder is not None:
            try:
                files = self.recorder.close()
            except Exception as err:  # noqa: BLE001
                problems.append(f"{type(err).__name__}: {err}")
                files = self.recorder.files
        for problem in problems:
            self.log.log("error", detail=problem)
        result = SessionResult(
            folder=self.folder,
            sample_rate=self.input.sample_rate,
            n_frames=self.recorder.n_frames if self.recorder else 0,
            files=files,
            detections=list(self.detections),
            emissions=list(self.emitter.emissions) if self.emitter else [],
            stats=self.input.stats,
            stopped_by=stopped_by,
        )
        summary = session_summary(result)
        self.log.log("session_stop", **summary)
        self.log.close()
        write_json(self.folder / "session.json", summary)
        if self.view is not None:
            self._safe(partial(self.view.refresh, result.duration_s, force=True))
        return result
