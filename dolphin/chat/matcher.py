"""Streaming recognition of imitations of vocabulary whistles: whistled, clicked or burst-pulsed.

Pipeline
--------
The matcher runs the detection chain of :mod:`dolphin.detect.pipeline` on one channel: the
components of a :class:`~dolphin.detect.pipeline.Detector` stream (whistle tracker, click
detector, click-train tracker), called directly so that each whistle contour is judged the moment
the tracker finishes it (the whistle event grouper would add its 60-300 ms reach; set
``group_whistles`` to use it and join fragments and loops) and so that the click times of pulse
trains are at hand. The detector settings default to a low-latency variant of the detect stage
(:func:`low_latency_detector`): 20 ms tracker chunks instead of 0.5 s (the same 2.5 s noise
memory), a 20 ms track gap instead of 30 ms, a 30 % click-interval tolerance instead of 15 %.

* A whistle contour lasting ``min_duration_s`` or more is compared with every entry by
  :func:`dolphin.chat.vocab.mimic_distances`: DTW of pitch shapes in semitones inside a band of
  ``warp_band`` (uneven time warping), free up to a frequency scaling of ``freq_tolerance``
  (+-20 %) and a time stretch of ``stretch_tolerance``, a linear penalty beyond, and compared
  with parts of each entry as well (partial imitations, ``partial_penalty`` per missing share).
* A click train or burst pulse of ``pulse_min_clicks`` or more clicks is a *pulsed rendition*
  when its pulse repetition rate traces an entry's contour. Its contour is the instantaneous
  repetition rate ``1 / ICI`` at the midpoint of each interval (intervals more than 30 % off the
  median of the 5 around them, i.e. missed or extra clicks, dropped; median-smoothed over 3,
  which still follows a contour cycle traced by a handful of clicks), reported
  in "whistle Hz" as ``rate x divisor`` (``burst_rate_divisor``, ``click_rate_divisor``, the
  convention of :mod:`dolphin.chat.mimics`). Rate and tempo are the animal's choice, so pulsed
  renditions are compared by pitch shape alone: any scaling and stretch are free, but with whole
  entries only (a flat natural train would otherwise match the plateau of some entry).

The best entry is accepted when its distance is at most ``threshold`` (``pulse_threshold``) and
beats the second-best entry by ``min_margin``; otherwise the detection is reported with
``accepted=False``, ``label=None`` and the nearest entry in ``nearest_label``. Confidence is
``2 ** -(distance / threshold) ** 2``: 1 for a perfect copy, 0.5 at the threshold.

Self-hearing gate: :meth:`MimicMatcher.mute` marks a span of stream time when we emit; whistles
and pulse trains overlapping it (plus ``mute_margin_s`` for echoes) are dropped silently.

Streaming
---------
``with matcher.streaming():`` then :meth:`MimicMatcher.process` / :meth:`MimicMatcher.flush`, or an
explicit :class:`MatcherState` from :meth:`MimicMatcher.new_stream` passed as ``state=``. The
detection chain is block-size invariant, so any split of a recording gives the same detections
as the whole file (only ``detected_at_s`` and ``latency_s`` depend on when the samples arrived).
Whistle latency: the tracker's ``max_gap_s`` (20 ms) plus up to one chunk (20 ms) plus the block;
pulse trains are released once overdue and unlinkable (``dolphin.detect.pulses``), seconds later.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import scipy.ndimage

from dolphin.annotations import CLICK_TRAIN, Contour
from dolphin.chat.vocab import CROPS, Vocabulary, mimic_distances, tolerant_dtw
from dolphin.detect.contours import WhistleTrackerConfig
from dolphin.detect.dtw import DTWConfig
from dolphin.detect.pipeline import Detector, DetectorConfig, DetectorState
from dolphin.detect.pulses import ClickTrainConfig, ClickTrainTracker
from dolphin.errors import ConfigError

KINDS = ("whistle", "click_train", "burst_pulse")


def low_latency_detector() -> DetectorConfig:
    """The detect stage tuned for CHAT (see the module docstring).

    Tracker chunks of 20 ms instead of 0.5 s (x125 = the same 2.5 s noise memory) and tracks
    ended after 20 ms without a peak instead of 30 ms, so a whistle is released ~50 ms after it
    ends (p95 ~70 ms in 20 ms blocks, ``benchmarks/chat.py``); a click-train ICI tolerance of
    30 % instead of 15 %, so trains whose rate sweeps along a contour are followed.
    """
    return DetectorConfig(
        whistles=WhistleTrackerConfig(noise_window_s=0.02, noise_chunks=125, max_gap_s=0.02),
        trains=ClickTrainConfig(ici_tolerance=0.3),
    )


@dataclass
class MatcherConfig:
    """Settings of the mimic matcher (``conf/chat/default.yaml``, ``matcher``)."""

    threshold: float = 0.8  # largest whistle distance accepted, semitones (benchmarks/chat.py)
    min_margin: float = 0.15  # the best entry must beat the next one by this, semitones
    freq_tolerance: float = 0.2  # frequency scaling that costs nothing (>= 20 %: animals transpose)
    stretch_tolerance: float = 0.3  # duration change that costs nothing (imitations are looser)
    warp_band: float = 0.15  # DTW band, share of the contour: uneven tempo inside a whistle
    partial_penalty: float = 1.0  # semitones per share of an entry left out by a partial copy
    min_duration_s: float = 0.2  # shorter whistles carry too little shape and are not judged
    pulsed: bool = True  # also judge click trains and burst pulses (pulse-rate contours)
    pulse_threshold: float = 0.6  # largest pulsed distance accepted, semitones
    pulse_min_clicks: int = 12  # fewer clicks trace too little of a contour
    pulse_min_regular: float = 0.8  # share of intervals near the local median (shrimp are random)
    burst_rate_divisor: float = 20.0  # whistle Hz per pulse/s of a burst-pulse rendition
    click_rate_divisor: float = 400.0  # ... of a click-train rendition
    mute_margin_s: float = 0.1  # after our own emission, echoes and reverberation still arrive
    group_whistles: bool = False  # join fragments and loops first (+60-300 ms latency)
    detect: DetectorConfig = field(default_factory=low_latency_detector)  # detection chain

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            return ConfigError(f"MatcherConfig.{name} {rule}, got {getattr(self, name)!r}")

        for name in ("threshold", "pulse_threshold", "burst_rate_divisor", "click_rate_divisor"):
            if not getattr(self, name) > 0:
                raise bad(name, "must be > 0")
        if not 0.2 <= self.freq_tolerance < 1:
            raise bad("freq_tolerance", "must be in [0.2, 1) (imitations transpose by 20 %)")
        for name in ("min_margin", "stretch_tolerance", "partial_penalty", "mute_margin_s"):
            if getattr(self, name) < 0:
                raise bad(name, "must be >= 0")
        if not 0 < self.warp_band <= 1:
            raise bad("warp_band", "must be in (0, 1]")
        if not self.min_duration_s > 0:
            raise bad("min_duration_s", "must be > 0")
        if self.pulse_min_clicks < 5:
            raise bad("pulse_min_clicks", "must be >= 5")
        if not 0 <= self.pulse_min_regular <= 1:
            raise bad("pulse_min_regular", "must be in [0, 1]")

    def whistle_dtw(self) -> DTWConfig:
        """DTW settings of whistle matching."""
        return tolerant_dtw(
            freq_tolerance=self.freq_tolerance,
            stretch_tolerance=self.stretch_tolerance,
            band=self.warp_band,
        )

    def pulse_dtw(self) -> DTWConfig:
        """DTW settings of pulsed renditions: pitch shape only, any scaling and stretch free."""
        return DTWConfig(band=self.warp_band, shift_weight=0.0, stretch_weight=0.0)


@dataclass
class MimicDetection:
    """One judged sound.

    Attributes
    ----------
    label : str or None
        The vocabulary entry imitated; None when rejected.
    confidence : float
        In [0, 1]: ``2 ** -(distance / threshold) ** 2`` (0.5 at the threshold).
    distance : float
        Distance to the nearest entry, semitones.
    kind : str
        ``whistle``, ``click_train`` or ``burst_pulse``.
    start_s, end_s : float
        Span of the sound, stream seconds.
    detected_at_s : float
        Stream time at which it was decided (end of the block that completed it), seconds.
    latency_s : float
        ``detected_at_s - end_s``, seconds.
    contour : Contour
        The whistle contour, or the pulse-rate contour in whistle Hz (stream seconds).
    accepted : bool
        True when the sound is taken for an imitation of ``label``.
    nearest_label : str or None
        The nearest entry, accepted or not.
    margin : float
        Distance of the second-nearest entry minus ``distance``, semitones (inf for one entry).
    """

    label: str | None
    confidence: float
    distance: float
    kind: str
    start_s: float
    end_s: float
    detected_at_s: float
    latency_s: float
    contour: Contour
    accepted: bool
    nearest_label: str | None = None
    margin: float = float("inf")

    def to_dict(self) -> dict:
        """JSON-ready form (one event-log line)."""
        return {
            "type": "mimic",
            "label": self.label,
            "accepted": self.accepted,
            "confidence": round(self.confidence, 4),
            "distance": round(self.distance, 4),
            "nearest_label": self.nearest_label,
            "margin": round(self.margin, 4) if np.isfinite(self.margin) else None,
            "kind": self.kind,
            "start_s": round(self.start_s, 5),
            "end_s": round(self.end_s, 5),
            "detected_at_s": round(self.detected_at_s, 5),
            "latency_s": round(self.latency_s, 5),
            "contour": {
                "time": np.round(self.contour.times_s, 5).tolist(),
                "frequency": np.round(self.contour.freqs_hz, 1).tolist(),
            },
        }


@dataclass
class MatcherState:
    """Explicit streaming state of a :class:`MimicMatcher` (one stream, one channel)."""

    detector: DetectorState
    n_samples: int = 0  # samples consumed so far
    mutes: list[tuple[float, float]] = field(default_factory=list)  # our emissions, stream s


class TimedTrainTracker(ClickTrainTracker):
    """A :class:`~dolphin.detect.pulses.ClickTrainTracker` that can be told time has passed.

    The tracker ends chains and releases trains only when a later click arrives, so after the
    last click of a quiet spell a finished train would wait for the next click (seconds).
    :meth:`advance` does, at a time before which no click is still to come, what that next
    click would do: end the overdue chains, forget seeds too old to pair with it, and release
    the trains no chain starting from then on could link with (horizon ``min(time, live chain
    and seed starts)``). The trains and their order are those of the plain tracker; only the
    moment of release moves earlier. (It uses the tracker's internals: its place is in
    :mod:`dolphin.detect.pulses`.)
    """

    def advance(self, time_s: float) -> list:
        """No click earlier than ``time_s`` (seconds) is still to come; return final trains."""
        self._expire(time_s)
        self._seeds = [s for s in self._seeds if time_s - s.time_s <= self.config.max_ici_s]
        self._seeds.append(_Moment(time_s))  # holds the release horizon at time_s
        try:
            return self._release(final=False)
        finally:
            self._seeds.pop()


@dataclass
class _Moment:
    """A point in time standing in for a seed click (only ``time_s`` is read)."""

    time_s: float


def pulse_rate_contour(
    times_s: np.ndarray, *, divisor: float, min_regular: float = 0.0
) -> Contour | None:
    """Pulse-rate contour of a pulse train, in whistle Hz (see the module docstring).

    Parameters
    ----------
    times_s : np.ndarray, shape [K]
        Pulse times, increasing, seconds.
    divisor : float
        Whistle Hz per pulse per second.
    min_regular : float
        Share of the intervals that must lie within 30 % of their local median (a rhythm that
        glides, not random clicks); None below it.

    Returns
    -------
    Contour or None
        ``rate x divisor`` at interval midpoints; None when fewer than 4 intervals survive or
        the train is not regular enough.
    """
    t = np.asarray(times_s, dtype=np.float64)
    dt = np.diff(t)
    if dt.size < 4:
        return None
    local = scipy.ndimage.median_filter(dt, size=5, mode="nearest")
    keep = (np.abs(dt / local - 1.0) <= 0.3) & (dt > 0)
    if np.count_nonzero(keep) < max(4, min_regular * dt.size):
        return None
    mid = 0.5 * (t[1:] + t[:-1])[keep]
    log_rate = scipy.ndimage.median_filter(-np.log(dt[keep]), size=3, mode="nearest")
    return Contour(mid, divisor * np.exp(log_rate))


class MimicMatcher:
    """Recognises imitations of vocabulary whistles in a stream of one channel.

    Parameters
    ----------
    vocab : Vocabulary
        The entries to recognise.
    config : MatcherConfig, optional
        Settings; defaults when omitted.
    sample_rate : int
        Hz (32-512 kHz, the detection chain's range).

    Raises
    ------
    ConfigError
        Sample rate out of range, or detector bands that do not fit it.

    Examples
    --------
    >>> matcher = MimicMatcher(vocab, sample_rate=96000)  # doctest: +SKIP
    >>> with matcher.streaming():  # doctest: +SKIP
    ...     for block in blocks:
    ...         for d in matcher.process(block):
    ...             print(d.label, d.confidence)
    ...     tail = matcher.flush()
    """

    def __init__(
        self, vocab: Vocabulary, config: MatcherConfig | None = None, *, sample_rate: int
    ) -> None:
        self.vocab = vocab
        self.config = config or MatcherConfig()
        self.sample_rate = int(sample_rate)
        self.detector = Detector(sample_rate=self.sample_rate, config=self.config.detect)
        self._refs = [e.contour for e in vocab.entries]
        self._dtw = {"whistle": self.config.whistle_dtw(), "pulsed": self.config.pulse_dtw()}
        self._stream: MatcherState | None = None

    # --- streaming ------------------------------------------------------------------------------

    def new_stream(self) -> MatcherState:
        """Fresh explicit state (what ``with matcher.streaming()`` yields); time 0 is now."""
        det = self.detector.new_stream()
        det.trains = TimedTrainTracker(config=self.config.detect.trains)
        return MatcherState(detector=det)

    @contextlib.contextmanager
    def streaming(self) -> Iterator[MatcherState]:
        """Context in which :meth:`process`, :meth:`flush` and :meth:`mute` carry state."""
        previous = self._stream
        self._stream = self.new_stream()
        try:
            yield self._stream
        finally:
            self._stream = previous

    def process(
        self, block: np.ndarray, *, state: MatcherState | None = None
    ) -> list[MimicDetection]:
        """Feed the next samples; return the sounds judged so far.

        Parameters
        ----------
        block : np.ndarray, shape [T]
            Next samples of the channel, full scale 1 (float32 preferred).
        state : MatcherState, optional
            Explicit state; that of the enclosing ``with matcher.streaming()`` by default.

        Returns
        -------
        list of MimicDetection
            Accepted and rejected sounds finished by this block, sorted by end time.
        """
        st = self._state(state)
        x = np.asarray(block)
        if x.ndim != 1:
            raise ValueError(f"block must be one channel [T], got shape {x.shape}")
        det = st.detector
        st.n_samples += x.size
        det.n_samples = st.n_samples
        found = det.tracker.process(x)
        if self.config.group_whistles:
            events = det.grouper.process(found, horizon_s=det.tracker.horizon_s)
            contours = [e.contour for e in events]
        else:
            contours = [w.contour for w in found]
        trains = []
        if self.config.pulsed:
            trains = det.trains.process(det.clicks.process(x))
            # every click before this time has been found (the click detector searches whole
            # chunks once two more have arrived), so overdue trains can be released in silence
            settled = st.n_samples / self.sample_rate - 2 * self.config.detect.clicks.chunk_s
            trains += det.trains.advance(settled - 1e-3)
        return self._judge(st, contours, trains)

    def flush(self, *, state: MatcherState | None = None) -> list[MimicDetection]:
        """End of the stream: judge what remains and reset the state (time starts again at 0)."""
        st = self._state(state)
        det = st.detector
        found = det.tracker.flush()
        if self.config.group_whistles:
            contours = [e.contour for e in det.grouper.flush(found)]
        else:
            contours = [w.contour for w in found]
        trains = []
        if self.config.pulsed:
            trains = det.trains.process(det.clicks.flush()) + det.trains.flush()
        out = self._judge(st, contours, trains)
        fresh = self.new_stream()
        st.detector, st.n_samples, st.mutes = fresh.detector, 0, []
        return out

    def mute(self, start_s: float, end_s: float, *, state: MatcherState | None = None) -> None:
        """Ignore sounds overlapping ``[start_s, end_s + mute_margin_s]`` (our own emission).

        Parameters
        ----------
        start_s, end_s : float
            Span of the emission in stream seconds (may lie ahead of the samples consumed).
        """
        if end_s < start_s:
            raise ValueError(f"mute span ends before it starts: {start_s} > {end_s}")
        self._state(state).mutes.append((float(start_s), float(end_s)))

    def match(self, contour: Contour, *, kind: str = "whistle") -> tuple[np.ndarray, bool]:
        """Distances of one contour to every entry.

        Parameters
        ----------
        contour : Contour
            A whistle contour, or a pulse-rate contour.
        kind : str
            ``whistle``, or ``click_train`` / ``burst_pulse`` (shape-only comparison).

        Returns
        -------
        distances : np.ndarray, shape [n_entries]
            Semitones.
        ok : bool
            False when the contour cannot be compared (too few points).
        """
        whistle = kind == "whistle"
        try:
            d = mimic_distances(
                [contour],
                self._refs,
                dtw=self._dtw["whistle" if whistle else "pulsed"],
                partial_penalty=self.config.partial_penalty,
                crops=CROPS if whistle else ((0.0, 1.0),),
            )
        except ValueError:
            return np.full(len(self._refs), np.inf), False
        return d[0], True

    # --- internals ------------------------------------------------------------------------------

    def _state(self, state: MatcherState | None) -> MatcherState:
        state = state or self._stream
        if state is None:
            raise RuntimeError("no stream: use `with matcher.streaming():` or pass state=")
        return state

    def _muted(self, st: MatcherState, start_s: float, end_s: float) -> bool:
        margin = self.config.mute_margin_s
        return any(start_s <= b + margin and end_s >= a for a, b in st.mutes)

    def _judge(self, st: MatcherState, contours, trains) -> list[MimicDetection]:
        cfg, now = self.config, st.n_samples / self.sample_rate
        out = []
        for c in contours:
            if c.duration_s >= cfg.min_duration_s:
                out.append(self._decide(c, "whistle", cfg.threshold, now))
        for train in trains:
            if len(train.clicks) < cfg.pulse_min_clicks:
                continue
            kind = CLICK_TRAIN if train.label == CLICK_TRAIN else "burst_pulse"
            divisor = cfg.click_rate_divisor if kind == CLICK_TRAIN else cfg.burst_rate_divisor
            times = np.array([k.time_s for k in train.clicks])
            contour = pulse_rate_contour(times, divisor=divisor, min_regular=cfg.pulse_min_regular)
            if contour is not None and contour.duration_s > 0:
                out.append(self._decide(contour, kind, cfg.pulse_threshold, now))
        out = [d for d in out if d is not None and not self._muted(st, d.start_s, d.end_s)]
        keep_s = 30.0  # pulse trains are released up to seconds after they end
        st.mutes = [(a, b) for a, b in st.mutes if b + cfg.mute_margin_s + keep_s >= now]
        return sorted(out, key=lambda d: (d.end_s, d.start_s))

    def _decide(self, contour: Contour, kind: str, threshold: float, now: float):
        d, ok = self.match(contour, kind=kind)
        if not ok:
            return None
        order = np.argsort(d)
        best = float(d[order[0]])
        second = float(d[order[1]]) if d.size > 1 else np.inf
        accepted = best <= threshold and second - best >= self.config.min_margin
        nearest = self.vocab.entries[int(order[0])].label
        start, end = float(contour.times_s[0]), float(contour.times_s[-1])
        return MimicDetection(
            label=nearest if accepted else None,
            confidence=float(2.0 ** (-((best / threshold) ** 2))),
            distance=best,
            kind=kind,
            start_s=start,
            end_s=end,
            detected_at_s=now,
            latency_s=now - end,
            contour=contour,
            accepted=bool(accepted),
            nearest_label=nearest,
            margin=second - best,
        )
