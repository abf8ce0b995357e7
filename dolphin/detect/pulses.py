"""Pulse trains: clicks grouped by inter-click interval (ICI) and classified by their rhythm.

Grouping
--------
Clicks are read in time order. A *chain* predicts its next click one ICI after its last one.
A click of the same type (amplitude within ``max_amplitude_change_db``, centroid within
``max_centroid_change_hz`` of the chain's running values) within ``ici_tolerance`` of that
prediction (relative, plus ``jitter_s``; also after up to ``max_missed`` missed clicks, or
``max_missed_fast`` in trains faster than ``click_train_min_ici_s``) joins the confirmed chain
(3+ clicks) under which its timing is most likely (Gaussian error of standard deviation
``ici_tolerance / 3`` x ICI + ``jitter_s``, so dense trains keep their clicks), or replaces the
chain's last click when it fits that slot better. A click no confirmed chain takes extends
candidate chains (2 clicks) and pairs with each of the ``max_seeds`` latest clicks
``min_ici_s``-``max_ici_s`` before it. A chain ends when its next click is overdue. It becomes a
train if it has ``min_clicks`` clicks and is not a sub-sampled denser train: more clicks of its
type (within 3 dB of its median level, not within ``echo_window_s`` after a member, as echoes
are) lie between its clicks than in it.

Finished trains are linked when they overlap by ``min_overlap`` of the shorter span (a chain on
the direct clicks and one on their echoes), or when one follows the other within
``merge_missed`` + 1 ICIs (and ``merge_max_gap_s``) with a compatible ICI and click type (a
train broken by missed clicks).
A linked group becomes one train: all clicks, the span of all, and the rhythm of its largest
non-overlapping members; it is kept if it lasts at least ``min_duration_s``.

Classes (ANCHORS.md: 4.9 ms and 15.5 ms separate clicks, burst pulses and buzzes)
------------------------------------------------------------------------------
* median ICI >= ``click_train_min_ici_s`` (15.5 ms): ``click_train`` (echolocation, 20-200 ms);
* else ``buzz`` when the ICI falls: the median ICI of the first third of the train is
  >= ``buzz_min_ratio`` (1.25) times that of the last third, and the first third's median ICI is
  >= ``buzz_min_start_ici_s`` (4.9 ms; a buzz starts at echolocation-like rates and speeds up);
* else ``burst_pulse`` (a steady, fast pulse rate: IPI 0.5-10 ms, hundreds per second).

:class:`ClickTrainTracker` is the streaming form (clicks in, finished trains out, explicit
state); :func:`group_clicks` feeds it all clicks at once and flushes.
"""

from __future__ import annotations

import bisect
import math
import statistics
from dataclasses import dataclass, field

import numpy as np

from dolphin.annotations import BURST_PULSE, BUZZ, CLICK_TRAIN, Event
from dolphin.detect.clicks import Click


@dataclass
class ClickTrainConfig:
    """Settings of click-train grouping and classification."""

    min_clicks: int = 5  # fewer clicks are not a train (random snaps rarely line up 5 times)
    min_duration_s: float = 0.05  # shorter trains are fragments (burst pulses last 0.1-1 s)
    min_ici_s: float = 0.4e-3  # shortest interval: burst-pulse IPIs start at ~0.5 ms
    max_ici_s: float = 0.25  # longest interval: echolocation ICIs reach ~200 ms
    ici_tolerance: float = 0.15  # relative deviation from the predicted ICI (jitter, buzz speed-up)
    jitter_s: float = 0.1e-3  # absolute timing slack (click time picking, sampling)
    max_missed: int = 1  # missed clicks bridged inside an echolocation chain
    max_missed_fast: int = 3  # ... inside a burst pulse or buzz (ICI < 15.5 ms: many clicks)
    max_seeds: int = 3  # earlier clicks a stray click pairs with to start candidate chains
    max_amplitude_change_db: float = 8.0  # a train's clicks keep their level (+-3 dB drift)
    max_centroid_change_hz: float = 8000.0  # ... and their spectrum (one click type per train)
    echo_window_s: float = 0.015  # clicks this soon after a member may be its echoes
    min_overlap: float = 0.5  # trains sharing this much of the shorter span are one train
    merge_missed: int = 20  # trains this many ICIs apart with the same rhythm are one train
    merge_max_gap_s: float = 0.1  # ... if the gap is also at most this long
    click_train_min_ici_s: float = 0.0155  # median ICI from which a train is echolocation
    buzz_min_start_ici_s: float = 0.0049  # a buzz starts at an ICI of at least this
    buzz_min_ratio: float = 1.25  # start/end ICI ratio of a buzz (steady burst pulses stay < 1.2)


@dataclass
class ClickTrain:
    """A group of clicks with a consistent rhythm.

    Attributes
    ----------
    clicks : list of Click
        Members in time order (echoes followed by a parallel chain included).
    label : str
        ``click_train``, ``burst_pulse`` or ``buzz``.
    intervals_s : np.ndarray, shape [M]
        Inter-click intervals of the rhythm, seconds (an interval bridging k - 1 missed clicks
        counts as k intervals of 1/k its length).
    """

    clicks: list[Click]
    label: str
    intervals_s: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def start_s(self) -> float:
        """Time of the first click, seconds."""
        return self.clicks[0].time_s

    @property
    def end_s(self) -> float:
        """Time of the last click, seconds."""
        return self.clicks[-1].time_s

    @property
    def median_ici_s(self) -> float:
        """Median inter-click interval, seconds."""
        return float(np.median(self.intervals_s))

    @property
    def ici_ratio(self) -> float:
        """Median ICI of the first third over that of the last third (> 1: speeding up)."""
        return _trend(self.intervals_s)[1]

    def to_event(self, *, channel: int = 1) -> Event:
        """The train as an :class:`~dolphin.annotations.Event`.

        The band is the median -10 dB band of the clicks; ``extra`` holds ``n_clicks``,
        ``median_ici_ms`` and ``ici_ratio``; ``score`` grows with the number of clicks and
        their SNR; ``snr_db`` is the clicks' median SNR.
        """
        snr = float(np.median([c.snr_db for c in self.clicks]))
        logit = 0.3 * (len(self.clicks) - 5) + 0.3 * (snr - 18.0)
        return Event(
            start_s=self.start_s,
            end_s=self.end_s,
            low_hz=float(np.median([c.low_hz for c in self.clicks])),
            high_hz=float(np.median([c.high_hz for c in self.clicks])),
            label=self.label,
            channel=channel,
            score=float(1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30)))),
            snr_db=snr,
            extra={
                "n_clicks": str(len(self.clicks)),
                "median_ici_ms": f"{1e3 * self.median_ici_s:.3f}",
                "ici_ratio": f"{self.ici_ratio:.3f}",
            },
        )


def classify_intervals(intervals_s: np.ndarray, *, config: ClickTrainConfig | None = None) -> str:
    """Class of a train from its inter-click intervals (rule of the module docstring).

    Parameters
    ----------
    intervals_s : np.ndarray, shape [M]
        Intervals between consecutive clicks, seconds (M >= 1).
    config : ClickTrainConfig, optional
        Thresholds.

    Returns
    -------
    str
        ``click_train``, ``buzz`` or ``burst_pulse``.
    """
    cfg = config or ClickTrainConfig()
    ici = np.asarray(intervals_s, dtype=np.float64)
    if np.median(ici) >= cfg.click_train_min_ici_s:
        return CLICK_TRAIN
    start, ratio = _trend(ici)
    if ratio >= cfg.buzz_min_ratio and start >= cfg.buzz_min_start_ici_s:
        return BUZZ
    return BURST_PULSE


def _missed(ici: float, cfg: ClickTrainConfig) -> int:
    """Missed clicks a chain of this ICI may bridge."""
    return cfg.max_missed_fast if ici < cfg.click_train_min_ici_s else cfg.max_missed


def _median(clicks: list[Click], name: str) -> float:
    # statistics.median: numpy's value (the middle one or the mean of two), 20x less overhead
    return float(statistics.median([getattr(c, name) for c in clicks]))


def _trend(ici: np.ndarray) -> tuple[float, float]:
    """(median ICI of the first third, first-third over last-third median ICI)."""
    if ici.size == 0:
        return 0.0, 1.0
    third = max(1, ici.size // 3)
    start, end = float(np.median(ici[:third])), float(np.median(ici[-third:]))
    return start, start / end if end > 0 else 1.0


class _Chain:
    """A chain under construction.

    ``last_s`` (time of the last click) and ``deadline_s`` (how long after it the next click
    may come, :meth:`ClickTrainTracker._expire`) are kept up to date with the clicks, since
    every new click reads them for every chain.
    """

    __slots__ = (
        "clicks",
        "intervals",
        "ici",
        "prev_ici",
        "err",
        "amp_db",
        "centroid_hz",
        "last_s",
        "deadline_s",
    )

    def __init__(self, first: Click, second: Click, cfg: ClickTrainConfig) -> None:
        self.clicks = [first, second]
        self.ici = self.prev_ici = second.time_s - first.time_s
        self.intervals = [self.ici]
        self.err = 0.0  # relative timing error of the last click
        self.amp_db = 0.5 * (first.amplitude_db + second.amplitude_db)
        self.centroid_hz = 0.5 * (first.centroid_hz + second.centroid_hz)
        self._timing(cfg)

    def _timing(self, cfg: ClickTrainConfig) -> None:
        self.last_s = self.clicks[-1].time_s
        missed = _missed(self.ici, cfg)
        self.deadline_s = (missed + 1) * self.ici * (1 + cfg.ici_tolerance) + cfg.jitter_s

    def fits(self, click: Click, cfg: ClickTrainConfig) -> bool:
        return (
            abs(click.amplitude_db - self.amp_db) <= cfg.max_amplitude_change_db
            and abs(click.centroid_hz - self.centroid_hz) <= cfg.max_centroid_change_hz
        )

    @staticmethod
    def slot(t: float, ref: float, ici: float, cfg: ClickTrainConfig) -> tuple[int, float]:
        """(k, relative error) of time ``t`` as the k-th click after ``ref``; (0, inf) if none."""
        dt = t - ref
        tolerance = cfg.ici_tolerance * ici + cfg.jitter_s
        for k in range(1, _missed(ici, cfg) + 2):
            err = abs(dt - k * ici)
            if err <= tolerance:
                return k, err / ici
        return 0, math.inf

    def append(self, click: Click, k: int, err: float, cfg: ClickTrainConfig) -> None:
        self.prev_ici = self.ici
        self.ici = (click.time_s - self.last_s) / k
        self.intervals += [self.ici] * k
        self.clicks.append(click)
        self.err = err
        self.amp_db += 0.3 * (click.amplitude_db - self.amp_db)
        self.centroid_hz += 0.3 * (click.centroid_hz - self.centroid_hz)
        self._timing(cfg)

    def replace_last(self, click: Click, k: int, err: float, cfg: ClickTrainConfig) -> None:
        n_old = int(round((self.clicks[-1].time_s - self.clicks[-2].time_s) / self.ici))
        del self.intervals[len(self.intervals) - max(n_old, 1) :]
        self.clicks[-1] = click
        self.ici = (click.time_s - self.clicks[-2].time_s) / k
        self.intervals += [self.ici] * k
        self.err = err
        self._timing(cfg)


class ClickTrainTracker:
    """Streaming grouping of clicks into trains, with explicit state.

    Parameters
    ----------
    config : ClickTrainConfig, optional
        Settings; defaults when omitted.
    """

    def __init__(self, *, config: ClickTrainConfig | None = None) -> None:
        self.config = config or ClickTrainConfig()
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        self._chains: list[_Chain] = []
        self._seeds: list[Click] = []  # recent clicks free to start chains
        self._history: list[Click] = []  # clicks since the oldest live chain or pending train
        self._history_s: list[float] = []  # their times
        self._done: list[ClickTrain] = []  # finished trains waiting for possible links

    def process(self, clicks: list[Click]) -> list[ClickTrain]:
        """Add clicks (in time order, after all earlier ones); return finished trains.

        Parameters
        ----------
        clicks : list of Click

        Returns
        -------
        list of ClickTrain
            Trains no later click can change, in time order.
        """
        cfg = self.config
        third = cfg.ici_tolerance / 3
        for click in clicks:
            t = click.time_s
            self._expire(t)
            self._history.append(click)
            self._history_s.append(t)
            best = None
            for chain in self._chains:
                if len(chain.clicks) < 3 or not chain.fits(click, cfg):
                    continue
                ici = chain.ici
                k, err = chain.slot(t, chain.last_s, ici, cfg)
                replace = False
                if not k:
                    k, err = chain.slot(t, chain.clicks[-2].time_s, chain.prev_ici, cfg)
                    replace = bool(k) and err < chain.err
                    if not replace:
                        continue
                # Timing likelihood: a dense train predicts far more sharply than a sparse one.
                sigma = third * ici + cfg.jitter_s
                cost = 0.5 * (err * ici / sigma) ** 2 + math.log(sigma)
                if best is None or cost < best[0]:
                    best = (cost, chain, k, replace, err)
            if best is not None:
                _, chain, k, replace, err = best
                (chain.replace_last if replace else chain.append)(click, k, err, cfg)
                continue
            for chain in self._chains:
                if len(chain.clicks) == 2 and chain.fits(click, cfg):
                    k, err = chain.slot(t, chain.last_s, chain.ici, cfg)
                    if k:
                        chain.append(click, k, err, cfg)
            self._seeds = [s for s in self._seeds if t - s.time_s <= cfg.max_ici_s]
            near = [s for s in self._seeds if t - s.time_s >= cfg.min_ici_s]
            for seed in near[-cfg.max_seeds :]:
                self._chains.append(_Chain(seed, click, cfg))
            self._seeds.append(click)
        return self._release(final=False)

    def flush(self) -> list[ClickTrain]:
        """End every chain, return the remaining trains and reset the state."""
        self._expire(np.inf)
        out = self._release(final=True)
        self.reset()
        return out

    # --- internals ----------------------------------------------------------------------------

    def _expire(self, t: float) -> None:
        cfg, alive = self.config, []
        for chain in self._chains:
            if t - chain.last_s <= chain.deadline_s:
                alive.append(chain)
            elif len(chain.clicks) >= cfg.min_clicks and not self._subsampled(chain):
                label = classify_intervals(np.asarray(chain.intervals), config=cfg)
                self._done.append(ClickTrain(chain.clicks, label, np.asarray(chain.intervals)))
        self._chains = alive

    def _subsampled(self, chain: _Chain) -> bool:
        """True when more clicks of the chain's type lie between its clicks than in it."""
        times = np.array([c.time_s for c in chain.clicks])
        level = float(np.median([c.amplitude_db for c in chain.clicks])) - 3.0
        members = {id(c) for c in chain.clicks}
        i0 = bisect.bisect_right(self._history_s, times[0])
        i1 = bisect.bisect_left(self._history_s, times[-1])
        others = [
            c.time_s
            for c in self._history[i0:i1]
            if id(c) not in members and c.amplitude_db >= level
        ]
        if not others:
            return False
        before = times[np.searchsorted(times, others) - 1]
        echoes = np.asarray(others) - before <= self.config.echo_window_s
        return int(np.count_nonzero(~echoes)) > times.size

    def _linked(self, a: ClickTrain, b: ClickTrain) -> bool:
        """True when ``b`` (starting no earlier than ``a``) belongs to the same train as ``a``."""
        cfg = self.config
        inter = min(a.end_s, b.end_s) - b.start_s
        shorter = min(a.end_s - a.start_s, b.end_s - b.start_s)
        if inter >= cfg.min_overlap * shorter:
            return True
        ici_a = float(statistics.median(a.intervals_s[-3:].tolist()))
        ici_b = float(statistics.median(b.intervals_s[:3].tolist()))
        if not 1 / 1.6 <= ici_a / ici_b <= 1.6:
            return False
        amp = abs(_median(a.clicks[-3:], "amplitude_db") - _median(b.clicks[:3], "amplitude_db"))
        cen = abs(_median(a.clicks[-3:], "centroid_hz") - _median(b.clicks[:3], "centroid_hz"))
        gap = b.start_s - a.end_s
        return (
            gap <= min((cfg.merge_missed + 1) * min(ici_a, ici_b), cfg.merge_max_gap_s)
            and amp <= cfg.max_amplitude_change_db
            and cen <= cfg.max_centroid_change_hz
        )

    def _release(self, *, final: bool) -> list[ClickTrain]:
        """Link finished trains; emit linked groups no future train can join."""
        cfg = self.config
        starts = [c.clicks[0].time_s for c in self._chains] + [s.time_s for s in self._seeds]
        horizon = np.inf if final else min(starts, default=np.inf)
        trains = sorted(self._done, key=lambda tr: (tr.start_s, tr.end_s))
        groups: list[list[ClickTrain]] = []
        for train in trains:
            hits = [g for g in groups if any(self._linked(m, train) for m in g)]
            merged = [train] + [m for g in hits for m in g]
            groups = [g for g in groups if all(g is not h for h in hits)] + [merged]
        out, self._done = [], []
        for group in groups:
            reach = cfg.merge_max_gap_s
            if max(t.end_s for t in group) + reach < horizon:
                train = self._combine(group)
                if train.end_s - train.start_s >= cfg.min_duration_s:
                    out.append(train)
            else:
                self._done += group
        oldest = min([t.start_s for t in self._done] + [horizon])
        cut = bisect.bisect_left(self._history_s, oldest)
        self._history, self._history_s = self._history[cut:], self._history_s[cut:]
        return sorted(out, key=lambda tr: tr.start_s)

    def _combine(self, group: list[ClickTrain]) -> ClickTrain:
        """One train from linked trains: all clicks; rhythm of the largest disjoint members."""
        backbone: list[ClickTrain] = []
        for train in sorted(group, key=lambda tr: (-len(tr.clicks), tr.start_s)):
            if all(train.start_s > b.end_s or train.end_s < b.start_s for b in backbone):
                backbone.append(train)
        backbone.sort(key=lambda tr: tr.start_s)
        intervals = np.concatenate([b.intervals_s for b in backbone])
        clicks = sorted(
            {id(c): c for t in group for c in t.clicks}.values(), key=lambda c: c.time_s
        )
        return ClickTrain(clicks, classify_intervals(intervals, config=self.config), intervals)


def group_clicks(
    clicks: list[Click], *, config: ClickTrainConfig | None = None
) -> list[ClickTrain]:
    """Group clicks into click trains, burst pulses and buzzes (offline).

    Parameters
    ----------
    clicks : list of Click
        Detections in time order (e.g. from :func:`dolphin.detect.clicks.detect_clicks`).
    config : ClickTrainConfig, optional
        Settings (see the module docstring).

    Returns
    -------
    list of ClickTrain
        In time order; identical to :class:`ClickTrainTracker` fed the clicks in any batches.
    """
    tracker = ClickTrainTracker(config=config)
    return tracker.process(clicks) + tracker.flush()


def train_events(trains: list[ClickTrain], *, channel: int = 1) -> list[Event]:
    """Events of trains (see :meth:`ClickTrain.to_event`), in time order."""
    return [t.to_event(channel=channel) for t in trains]
