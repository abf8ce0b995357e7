"""Pulse trains for the mimic matcher: released in the quiet after them, and their rate contours.

:class:`TimedTrainTracker` wraps a :class:`~dolphin.detect.pulses.ClickTrainTracker`, which ends
chains and releases trains only when a later click arrives: after the last click of a quiet
spell, a finished train would wait seconds for the next click. :meth:`TimedTrainTracker.advance`
tells it that no click earlier than some time is still to come, using the tracker's public API
only:

* a *probe*: a copy of the tracker is given a phantom click at that time, one that fits no chain
  (level -inf dB), which does what a real click there would do: end the overdue chains and
  release the trains no chain from then on could link with. The copy is thrown away; the trains
  it releases are returned at once and remembered, and dropped when the real tracker releases
  them again at its next click (it releases exactly those trains, since nothing it is still to
  see can link with them: their reach ends before every live chain and seed);
* after :attr:`TimedTrainTracker.quiet_s` without a click, every chain is overdue and no later
  train can link with a finished one, so the real tracker is flushed (the same trains again).

Probes run at most every ``probe_every_s`` and only while clicks are pending, so a quiet stream
costs nothing. The trains and their order are those of the plain tracker; only the moment of
release moves earlier.

:func:`pulse_rate_contour` turns the click times of a train into its pulse-rate contour.
"""

from __future__ import annotations

import copy

import numpy as np
import scipy.ndimage

from dolphin.annotations import Contour
from dolphin.detect.clicks import Click
from dolphin.detect.pulses import ClickTrain, ClickTrainConfig, ClickTrainTracker


def _phantom(time_s: float) -> Click:
    """A click at ``time_s`` that fits no chain (level and SNR -inf)."""
    return Click(
        time_s=float(time_s),
        peak_hz=0.0,
        centroid_hz=0.0,
        bandwidth_3db_hz=0.0,
        bandwidth_10db_hz=0.0,
        low_hz=0.0,
        high_hz=0.0,
        duration_s=0.0,
        amplitude_db=-np.inf,
        snr_db=-np.inf,
    )


def _key(train: ClickTrain) -> tuple[float, float, int]:
    return (train.start_s, train.end_s, len(train.clicks))


def quiet_time_s(cfg: ClickTrainConfig) -> float:
    """Seconds after the last click by which every chain is overdue and no train can link on.

    A chain of interval ``ici`` ends ``(missed + 1) x ici x (1 + ici_tolerance) + jitter_s``
    after its last click (``missed`` = ``max_missed``, or ``max_missed_fast`` below
    ``click_train_min_ici_s``); finished trains link over at most ``merge_max_gap_s``.

    Parameters
    ----------
    cfg : ClickTrainConfig
        The tracker's settings.

    Returns
    -------
    float
        Seconds (0.75 s with the CHAT settings: 2 x 0.25 s x 1.3 + 0.1 s).
    """
    slow = (cfg.max_missed + 1) * cfg.max_ici_s
    fast = (cfg.max_missed_fast + 1) * min(cfg.click_train_min_ici_s, cfg.max_ici_s)
    return max(slow, fast) * (1 + cfg.ici_tolerance) + cfg.jitter_s + cfg.merge_max_gap_s


class TimedTrainTracker:
    """A click-train tracker that can be told time has passed (see the module docstring).

    Parameters
    ----------
    config : ClickTrainConfig, optional
        Settings of the wrapped tracker.
    probe_every_s : float
        Least stream time between two probes, seconds (release latency grows by up to this).
    """

    def __init__(
        self, *, config: ClickTrainConfig | None = None, probe_every_s: float = 0.04
    ) -> None:
        self.tracker = ClickTrainTracker(config=config)
        self.config = self.tracker.config
        self.probe_every_s = float(probe_every_s)
        self.quiet_s = quiet_time_s(self.config)
        self._last_click_s: float | None = None  # None: nothing pending in the tracker
        self._last_probe_s = -np.inf
        self._released: set[tuple[float, float, int]] = set()  # released early by a probe

    def process(self, clicks: list[Click]) -> list[ClickTrain]:
        """Add clicks (time order, after all earlier ones); return trains not yet returned.

        Parameters
        ----------
        clicks : list of Click

        Returns
        -------
        list of ClickTrain
            Finished trains, in time order.
        """
        if clicks:
            self._last_click_s = clicks[-1].time_s
        return self._new(self.tracker.process(clicks))

    def advance(self, time_s: float) -> list[ClickTrain]:
        """No click earlier than ``time_s`` (seconds) is still to come; return final trains.

        Parameters
        ----------
        time_s : float
            Stream seconds; every click before it has been given to :meth:`process`.

        Returns
        -------
        list of ClickTrain
            Trains released by the passing of time, in time order.
        """
        if self._last_click_s is None or time_s <= self._last_click_s:
            return []
        if time_s - self._last_click_s > self.quiet_s:
            self._last_click_s = None  # every chain is over: the tracker can be emptied
            return self._new(self.tracker.flush())
        if time_s - self._last_probe_s < self.probe_every_s:
            return []
        self._last_probe_s = time_s
        probe = copy.deepcopy(self.tracker)
        out = [t for t in probe.process([_phantom(time_s)]) if _key(t) not in self._released]
        self._released.update(_key(t) for t in out)
        return out

    def flush(self) -> list[ClickTrain]:
        """End every chain; return the remaining trains and reset the state."""
        out = self._new(self.tracker.flush())
        self._last_click_s, self._last_probe_s = None, -np.inf
        self._released.clear()
        return out

    def _new(self, trains: list[ClickTrain]) -> list[ClickTrain]:
        """Drop trains a probe returned already (each comes back once from the tracker)."""
        out = []
        for t in trains:
            key = _key(t)
            if key in self._released:
                self._released.discard(key)
            else:
                out.append(t)
        return out


def pulse_rate_contour(
    times_s: np.ndarray, *, divisor: float, min_regular: float = 0.0
) -> Contour | None:
    """Pulse-rate contour of a pulse train, in whistle Hz.

    The instantaneous repetition rate ``1 / ICI`` at the midpoint of each interval; intervals
    more than 30 % off the median of the 5 around them (missed or extra clicks) are dropped, the
    log rate is median-smoothed over 3 (still following a contour cycle traced by a handful of
    clicks), and reported as ``rate x divisor``.

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
