"""The detection pipeline: whistle contours, clicks and click trains over a whole recording.

One :class:`Detector` chains the signal-processing detectors of this subpackage on one channel:

* :class:`~dolphin.detect.contours.WhistleTracker` -> contours, grouped into whistle events
  (loops and fragments joined) by :class:`~dolphin.detect.grouping.WhistleEventGrouper`;
* :class:`~dolphin.detect.clicks.ClickDetector` -> clicks ->
  :class:`~dolphin.detect.pulses.ClickTrainTracker` -> burst pulses, buzzes and echolocation
  click trains.

Streaming
---------
Every stage keeps explicit state and gives the same output for any split of the signal into
blocks, so streaming detection equals whole-file detection exactly (same events, same times,
same scores, same contour ids). Use ``with detector.streaming():`` and :meth:`Detector.process`
/ :meth:`Detector.flush`, or hold a :class:`DetectorState` from :meth:`Detector.new_stream` and
pass it as ``state=``. :meth:`Detector.detect` (an array) and :func:`detect_file` (a file of any
length, read block by block with bounded memory) are that stream fed whole and flushed.
Latency: about one tracker noise chunk (0.5 s) plus the grouping reach (0.3 s) for whistles,
the ICI-based deadlines of the train tracker for pulsed sounds.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dolphin.annotations import Contour, Event
from dolphin.detect.clicks import ClickDetector, ClickDetectorConfig
from dolphin.detect.contours import WhistleTracker, WhistleTrackerConfig
from dolphin.detect.grouping import CONTOUR_ID, WhistleEventGrouper
from dolphin.detect.pulses import ClickTrainConfig, ClickTrainTracker
from dolphin.errors import AudioFileError, ConfigError

#: Sample rates the detectors are tuned and tested for, in Hz (others raise).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 32000, 512000


@dataclass
class DetectorConfig:
    """Settings of the whole detection chain (a Hydra structured config, ``conf/detect/``)."""

    channel: int = 0  # 0-based channel analysed in multi-channel files
    block_s: float = 10.0  # seconds read per block: memory stays ~ one block, any file length
    max_loop_gap_s: float = 0.3  # longest silence between loops of one whistle event, seconds
    margin_hz: float = 300.0  # added below and above a whistle contour to give its event band
    whistles: WhistleTrackerConfig = field(default_factory=WhistleTrackerConfig)  # tracker
    clicks: ClickDetectorConfig = field(default_factory=ClickDetectorConfig)  # click detector
    trains: ClickTrainConfig = field(default_factory=ClickTrainConfig)  # trains and classes

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            return ConfigError(f"DetectorConfig.{name} {rule}, got {getattr(self, name)!r}")

        if self.channel < 0:
            raise bad("channel", "must be >= 0 (0-based)")
        if not self.block_s > 0:
            raise bad("block_s", "must be > 0")
        if self.max_loop_gap_s < 0 or self.margin_hz < 0:
            raise bad("max_loop_gap_s" if self.max_loop_gap_s < 0 else "margin_hz", "must be >= 0")


@dataclass
class DetectedContour:
    """The contour of one whistle event (all its loops).

    Attributes
    ----------
    contour_id : int
        Id shared with the event (``Event.extra["Contour ID"]``); 1, 2, ... per recording.
    contour : Contour
        Fundamental frequency (Hz) over time (s), every tracker hop.
    score : float
        Confidence in [0, 1] (the best loop's).
    snr_db : float
        Mean SNR of the observed points, dB.
    n_loops : int
        Tracker contours joined (loops and fragments).
    """

    contour_id: int
    contour: Contour
    score: float
    snr_db: float
    n_loops: int


@dataclass
class Detections:
    """What the detector found in (part of) a recording.

    Attributes
    ----------
    events : list of Event
        Whistles, burst pulses, buzzes and click trains, sorted by start time; ``score`` in
        [0, 1]; whistle events carry their contour and ``extra["Contour ID"]``, pulsed ones
        ``extra`` ``n_clicks``, ``median_ici_ms`` and ``ici_ratio``.
    contours : list of DetectedContour
        One per whistle event, in contour id order.
    sample_rate : int
        Hz.
    duration_s : float
        Audio consumed so far, seconds.
    """

    events: list[Event] = field(default_factory=list)
    contours: list[DetectedContour] = field(default_factory=list)
    sample_rate: int = 0
    duration_s: float = 0.0

    def extend(self, other: Detections) -> None:
        """Append a later part's detections (in place), keeping both lists sorted."""
        self.events = sorted(self.events + other.events, key=_event_order)
        self.contours = sorted(self.contours + other.contours, key=lambda c: c.contour_id)
        self.sample_rate = other.sample_rate or self.sample_rate
        self.duration_s = max(self.duration_s, other.duration_s)


def _event_order(e: Event) -> tuple[float, float, str, float, float]:
    return e.start_s, e.end_s, e.label, e.low_hz, e.high_hz


@dataclass
class DetectorState:
    """Explicit streaming state of a :class:`Detector` (one recording, one channel)."""

    tracker: WhistleTracker
    grouper: WhistleEventGrouper
    clicks: ClickDetector
    trains: ClickTrainTracker
    n_samples: int = 0  # samples consumed so far


class Detector:
    """Whistle, click and click-train detection on one channel, offline or streaming.

    Parameters
    ----------
    sample_rate : int
        Hz, 32-512 kHz (tuned at 96 kHz, tested 48-384 kHz).
    config : DetectorConfig, optional
        Settings; defaults when omitted.

    Raises
    ------
    ConfigError
        Sample rate out of range, or a band that does not fit it.

    Examples
    --------
    >>> detector = Detector(sample_rate=96000)  # doctest: +SKIP
    >>> with detector.streaming():  # doctest: +SKIP
    ...     for block in blocks:
    ...         found = detector.process(block)
    ...     found = detector.flush()
    """

    def __init__(self, *, sample_rate: int, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        self.sample_rate = int(sample_rate)
        if not MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE:
            raise ConfigError(
                f"sample rate {self.sample_rate} Hz is outside the detector's range "
                f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
            )
        self._stream: DetectorState | None = None
        self.new_stream()  # fail now, not at the first block, on a band that does not fit

    # --- streaming ------------------------------------------------------------------------------

    def new_stream(self) -> DetectorState:
        """Fresh explicit streaming state (what ``with detector.streaming()`` yields)."""
        cfg, sr = self.config, self.sample_rate
        try:
            return DetectorState(
                # The detectors get one channel from process(); they index channel 0 of it.
                tracker=WhistleTracker(sample_rate=sr, config=cfg.whistles),
                grouper=WhistleEventGrouper(
                    max_loop_gap_s=cfg.max_loop_gap_s,
                    margin_hz=cfg.margin_hz,
                    channel=cfg.channel + 1,
                ),
                clicks=ClickDetector(sample_rate=sr, config=cfg.clicks),
                trains=ClickTrainTracker(config=cfg.trains),
            )
        except ValueError as err:
            raise ConfigError(f"detector settings do not fit {sr} Hz: {err}") from err

    @contextlib.contextmanager
    def streaming(self) -> Iterator[DetectorState]:
        """Context in which :meth:`process` / :meth:`flush` carry state; yields the state."""
        previous = self._stream
        self._stream = self.new_stream()
        try:
            yield self._stream
        finally:
            self._stream = previous

    def process(self, block, *, state: DetectorState | None = None) -> Detections:
        """Feed the next samples; return the detections they complete.

        Parameters
        ----------
        block : np.ndarray, shape [T] or [C, T], or dolphin.audio.Block
            Next samples, full scale 1 (a Block contributes its ``new_samples``); with several
            channels, ``config.channel`` is analysed.
        state : DetectorState, optional
            Explicit state; the one of the enclosing ``with detector.streaming()`` by default.

        Returns
        -------
        Detections
            Events and contours that no later sample can change (events sorted by start).
        """
        st = self._state(state)
        x = self._channel(block)
        st.n_samples += x.size
        events = st.grouper.process(st.tracker.process(x), horizon_s=st.tracker.horizon_s)
        events += [
            t.to_event(channel=self.config.channel + 1)
            for t in st.trains.process(st.clicks.process(x))
        ]
        return self._result(events, st)

    def flush(self, *, state: DetectorState | None = None) -> Detections:
        """End of the recording: return the remaining detections and reset the state."""
        st = self._state(state)
        events = st.grouper.flush(st.tracker.flush())
        trains = st.trains.process(st.clicks.flush()) + st.trains.flush()
        events += [t.to_event(channel=self.config.channel + 1) for t in trains]
        out = self._result(events, st)
        st.n_samples = 0
        return out

    # --- offline --------------------------------------------------------------------------------

    def detect(self, x: np.ndarray) -> Detections:
        """Detect in a whole signal ``[T]`` or ``[C, T]`` (the stream fed once and flushed)."""
        state = self.new_stream()
        found = self.process(x, state=state)
        found.extend(self.flush(state=state))
        return found

    # --- internals ------------------------------------------------------------------------------

    def _state(self, state: DetectorState | None) -> DetectorState:
        state = state or self._stream
        if state is None:
            raise RuntimeError("no stream: use `with detector.streaming():` or pass state=")
        return state

    def _channel(self, block) -> np.ndarray:
        x = np.asarray(getattr(block, "new_samples", block))
        if x.ndim == 2:
            if not 0 <= self.config.channel < x.shape[0]:
                raise ValueError(
                    f"channel {self.config.channel} out of range for a {x.shape[0]}-channel block"
                )
            x = x[self.config.channel]
        if x.ndim != 1:
            raise ValueError(f"block must be [T] or [C, T], got shape {x.shape}")
        return x

    def _result(self, events: list[Event], st: DetectorState) -> Detections:
        contours = [
            DetectedContour(
                contour_id=int(e.extra[CONTOUR_ID]),
                contour=e.contour,
                score=float(e.score),
                snr_db=float(e.snr_db),
                n_loops=int(e.extra.get("Loops", "1")),
            )
            for e in events
            if CONTOUR_ID in e.extra
        ]
        return Detections(
            events=sorted(events, key=_event_order),
            contours=sorted(contours, key=lambda c: c.contour_id),
            sample_rate=self.sample_rate,
            duration_s=st.n_samples / self.sample_rate,
        )


def detect_file(
    path: str | Path,
    config: DetectorConfig | None = None,
    *,
    on_block: Callable[[float, float], None] | None = None,
) -> Detections:
    """Detect in an audio file of any length, block by block (memory ~ one block).

    Parameters
    ----------
    path : str or Path
        Audio file (WAV, RF64, W64, FLAC), any number of channels.
    config : DetectorConfig, optional
        Settings; ``channel`` picks the channel, ``block_s`` the block length.
    on_block : callable, optional
        Called after every block with (seconds done, total seconds), e.g. for progress.

    Returns
    -------
    Detections
        Identical to :meth:`Detector.detect` on the whole channel.

    Raises
    ------
    AudioFileError
        Missing, empty, corrupt or truncated file; channel out of range; NaN samples; a
        sample rate out of the detector's range.
    """
    from dolphin.audio.io import audio_info
    from dolphin.audio.stream import BlockReader

    cfg = config or DetectorConfig()
    info = audio_info(path)
    sample_rate, total = info.sample_rate, info.n_frames
    try:
        detector = Detector(sample_rate=sample_rate, config=cfg)
    except ConfigError as err:  # name the file: in a folder run the rate is the file's fault
        raise AudioFileError(path, str(err)) from err
    block_frames = max(1, int(round(cfg.block_s * sample_rate)))
    state, found = detector.new_stream(), Detections(sample_rate=sample_rate)
    with BlockReader(path, block_frames=block_frames, channels=[cfg.channel]) as reader:
        for block in reader:
            # One channel was read, so the block is [1, N]: hand the detector that row.
            found.extend(detector.process(block.new_samples[0], state=state))
            if on_block is not None:
                on_block(state.n_samples / sample_rate, total / sample_rate)
    found.extend(detector.flush(state=state))
    return found
