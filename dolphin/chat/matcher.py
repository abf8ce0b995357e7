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

Known natural whistles are negative evidence: a whistle is also compared with a set of natural
whistles (the 1,500 shipped SIGWI references by default, :func:`~dolphin.chat.distance.natural_references`;
a signature catalogue's whistles can be given too) and is taken for an imitation only when its
best entry is closer than the nearest of them by ``natural_margin``. The vocabulary is designed
>= ~1.2 semitones from those whistles, so imitations rarely come near them, while natural
whistles that happen to resemble an entry usually resemble some known natural whistle even more
(``benchmarks/chat.py``, held-out SIGWI whistles: this removes the false alarms that a threshold
alone leaves at a recall the threshold cannot keep). Natural whistles within ``threshold +
natural_margin`` of an entry are not used against it: an entry that itself looks natural (a
hand-made sweep, an entry taken from a recording) would otherwise never be accepted.

The best entry is accepted when its distance is at most ``threshold`` (``pulse_threshold``),
beats the second-best entry by ``min_margin`` and (whistles) beats the nearest known natural
whistle by ``natural_margin``; otherwise the detection is reported with
``accepted=False``, ``label=None`` and the nearest entry in ``nearest_label``. Confidence is
``2 ** -(distance / threshold) ** 2``: 1 for a perfect copy, 0.5 at the threshold.

Self-hearing gate: :meth:`MimicMatcher.mute` marks a span of stream time when we emit; whistles
and pulse trains overlapping it (plus ``mute_margin_s`` for echoes) are dropped silently.

Digital silence: runs of exact zeros longer than ``max_zeros_s`` are cut before the detectors
(:class:`~dolphin.chat.silence.SilenceGate`), which would otherwise fill their noise memory with
-200 dB and miss whistles for up to 1.25 s after the zeros; times are mapped back to the stream.

Pulse trains are released once overdue (:class:`~dolphin.chat.trains.TimedTrainTracker`), and
judged by their pulse-rate contour (:func:`~dolphin.chat.trains.pulse_rate_contour`). What the
matcher reports is a :class:`~dolphin.chat.detection.MimicDetection`.

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
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from dolphin.annotations import CLICK_TRAIN, Contour
from dolphin.chat.detection import KINDS, MimicDetection
from dolphin.chat.distance import (
    CROPS,
    CroppedReferences,
    mimic_distances,
    natural_references,
)
from dolphin.chat.matcher_config import MatcherConfig, low_latency_detector
from dolphin.chat.silence import SilenceGate
from dolphin.chat.trains import TimedTrainTracker, pulse_rate_contour
from dolphin.chat.vocab import Vocabulary
from dolphin.detect.dtw import DTWConfig
from dolphin.detect.pipeline import Detector, DetectorState

__all__ = [
    "KINDS",
    "MatcherConfig",
    "MatcherState",
    "MimicDetection",
    "MimicMatcher",
    "TimedTrainTracker",
    "low_latency_detector",
    "pulse_rate_contour",
]


@dataclass
class MatcherState:
    """Explicit streaming state of a :class:`MimicMatcher` (one stream, one channel)."""

    detector: DetectorState  # whistle tracker, grouper and click detector (detector clock)
    trains: TimedTrainTracker  # click trains, released once overdue (detector clock)
    gate: SilenceGate  # long runs of zeros cut before the detectors; maps times back
    n_samples: int = 0  # stream samples consumed so far
    mutes: list[tuple[float, float]] = field(default_factory=list)  # our emissions, stream s


@functools.lru_cache(maxsize=4)
def _shipped_naturals(dtw: DTWConfig, partial_penalty: float) -> CroppedReferences:
    """The shipped SIGWI whistles, cropped and shaped once per setting (shared by matchers)."""
    return CroppedReferences(natural_references()[0], dtw=dtw, partial_penalty=partial_penalty)


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
    naturals : sequence of Contour, optional
        Known natural whistles (negative evidence, see the module docstring); the shipped SIGWI
        contours by default when ``config.natural_references`` is set. Give a catalogue's
        whistles plus :func:`~dolphin.chat.distance.natural_references` to add local animals.

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
        self,
        vocab: Vocabulary,
        config: MatcherConfig | None = None,
        *,
        sample_rate: int,
        naturals: Sequence[Contour] | None = None,
    ) -> None:
        self.vocab = vocab
        self.config = cfg = config or MatcherConfig()
        self.sample_rate = int(sample_rate)
        self.detector = Detector(sample_rate=self.sample_rate, config=cfg.detect)
        self._refs = [e.contour for e in vocab.entries]
        self._dtw = {"whistle": cfg.whistle_dtw(), "pulsed": cfg.pulse_dtw()}
        self.naturals: CroppedReferences | None = None
        if naturals is not None:
            self.naturals = CroppedReferences(
                naturals, dtw=self._dtw["whistle"], partial_penalty=cfg.partial_penalty
            )
        elif cfg.natural_references:
            self.naturals = _shipped_naturals(self._dtw["whistle"], cfg.partial_penalty)
        self._natural_ok = self._usable_naturals()
        self._stream: MatcherState | None = None

    # --- streaming ------------------------------------------------------------------------------

    def new_stream(self) -> MatcherState:
        """Fresh explicit state (what ``with matcher.streaming()`` yields); time 0 is now."""
        return MatcherState(
            detector=self.detector.new_stream(),
            trains=TimedTrainTracker(config=self.config.detect.trains),
            gate=SilenceGate(sample_rate=self.sample_rate, max_zeros_s=self.config.max_zeros_s),
        )

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
        x = st.gate.process(x)
        det.n_samples = st.gate.n_out
        found = det.tracker.process(x)
        if self.config.group_whistles:
            events = det.grouper.process(found, horizon_s=det.tracker.horizon_s)
            contours = [e.contour for e in events]
        else:
            contours = [w.contour for w in found]
        trains = []
        if self.config.pulsed:
            trains = st.trains.process(det.clicks.process(x))
            # every click before this time has been found (the click detector searches whole
            # chunks once two more have arrived), so overdue trains can be released in silence
            settled = det.n_samples / self.sample_rate - 2 * self.config.detect.clicks.chunk_s
            trains += st.trains.advance(settled - 1e-3)
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
            trains = st.trains.process(det.clicks.flush()) + st.trains.flush()
        out = self._judge(st, contours, trains)
        fresh = self.new_stream()
        st.detector, st.trains, st.gate = fresh.detector, fresh.trains, fresh.gate
        st.n_samples, st.mutes = 0, []
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

    def natural_distance(self, contour: Contour, *, entry: int | None = None) -> float:
        """Distance of a whistle contour to the nearest known natural whistle, semitones.

        Parameters
        ----------
        contour : Contour
            A whistle contour.
        entry : int, optional
            Index of the entry it is judged against: natural whistles that are themselves
            within ``threshold + natural_margin`` of that entry are left out (they would reject
            every imitation of it: the entry looks natural, as hand-made up- and down-sweeps
            do). All natural whistles when omitted.

        Returns
        -------
        float
            Semitones; inf without natural references or for a contour too short to compare.
        """
        if self.naturals is None or not len(self.naturals):
            return float("inf")
        try:
            d = self.naturals.distances([contour])[0]
        except ValueError:
            return float("inf")
        if entry is not None:
            d = d[self._natural_ok[entry]]
        return float(d.min()) if d.size else float("inf")

    def _usable_naturals(self) -> np.ndarray:
        """[n_entries, n_naturals] bool: natural whistles usable as evidence against each entry."""
        if self.naturals is None or not len(self.naturals):
            return np.ones((len(self._refs), 0), bool)
        forward = self.naturals.distances(self._refs)  # an entry as a (partial) natural whistle
        backward = mimic_distances(  # a natural whistle as a (partial) copy of an entry
            self.naturals.references,
            self._refs,
            dtw=self._dtw["whistle"],
            partial_penalty=self.config.partial_penalty,
        ).T
        return np.minimum(forward, backward) >= self.config.threshold + self.config.natural_margin

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
        to_stream = st.gate.to_stream_s
        out = []
        for c in contours:
            if c.duration_s >= cfg.min_duration_s:
                c = Contour(to_stream(c.times_s), c.freqs_hz)
                out.append(self._decide(c, "whistle", cfg.threshold, now))
        for train in trains:
            if len(train.clicks) < cfg.pulse_min_clicks:
                continue
            kind = CLICK_TRAIN if train.label == CLICK_TRAIN else "burst_pulse"
            divisor = cfg.click_rate_divisor if kind == CLICK_TRAIN else cfg.burst_rate_divisor
            times = to_stream(np.array([k.time_s for k in train.clicks]))
            contour = pulse_rate_contour(times, divisor=divisor, min_regular=cfg.pulse_min_regular)
            if contour is not None and contour.duration_s > 0:
                out.append(self._decide(contour, kind, cfg.pulse_threshold, now))
        out = [d for d in out if d is not None and not self._muted(st, d.start_s, d.end_s)]
        keep_s = 30.0  # pulse trains are released up to seconds after they end
        st.mutes = [(a, b) for a, b in st.mutes if b + cfg.mute_margin_s + keep_s >= now]
        st.gate.prune(st.gate.n_out / self.sample_rate - keep_s)
        return sorted(out, key=lambda d: (d.end_s, d.start_s))

    def _decide(self, contour: Contour, kind: str, threshold: float, now: float):
        d, ok = self.match(contour, kind=kind)
        if not ok:
            return None
        order = np.argsort(d)
        best = float(d[order[0]])
        second = float(d[order[1]]) if d.size > 1 else np.inf
        natural = np.inf
        if kind == "whistle":
            natural = self.natural_distance(contour, entry=int(order[0]))
        accepted = (
            best <= threshold
            and second - best >= self.config.min_margin
            and natural - best >= self.config.natural_margin
        )
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
            natural_distance=natural,
        )
