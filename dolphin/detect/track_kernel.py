"""Compiled peak-to-track association of the whistle tracker (step 4 of :mod:`.contours`).

:func:`associate` runs one chunk's frames in a numba kernel over flat arrays of track state, the
per-frame loop that used to cost a Python call per frame with peaks. It makes the same choices
as the rule it replaces, in the same float64 arithmetic and order, so contours are unchanged:

* a track predicts ``last_freq + slope * gap`` and accepts peaks within
  ``max_jump + jump_per_gap * (gap - 1)`` Hz (``gap`` frames since its last peak);
* candidate pairs are taken greedily by ``distance + gap_cost * (gap - 1)``, ties in track then
  peak order (a stable sort of pairs generated in that order);
* unclaimed peaks of at least ``start_snr`` start tracks, appended in frequency order; a frame
  is skipped altogether while no track is active unless one of its peaks ``may_start`` (its
  centre bin, before interpolation, reaches ``start_snr``);
* a track whose last peak is more than ``max_gap`` frames old ends at the next frame with peaks
  and at the chunk's last frame, in track order;
* the slope is ``(f_new - f_back) / (n_new - n_back)`` over the oldest of the last
  ``slope_frames + 1`` points (fewer at a track's start).

State of the active tracks lives in :class:`TrackState` (capacity grows as needed); each track
has an integer id so that the caller can keep its point lists outside the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@dataclass
class TrackState:
    """Active tracks in kernel form: row ``a < n`` is the ``a``-th active track, in order."""

    frames: np.ndarray  # [cap, H] int64: frame of the last H points, oldest first
    freqs: np.ndarray  # [cap, H] float64: their frequencies, Hz
    length: np.ndarray  # [cap] int64: points held (at most H)
    slope: np.ndarray  # [cap] float64: Hz per frame
    ids: np.ndarray  # [cap] int64: the caller's id of each track
    n: int = 0  # active tracks
    next_id: int = 0  # id the next new track gets

    @classmethod
    def empty(cls, history: int, capacity: int = 64) -> TrackState:
        """No track; ``history`` = ``slope_frames + 1`` points kept per track."""
        return cls(
            frames=np.zeros((capacity, history), np.int64),
            freqs=np.zeros((capacity, history)),
            length=np.zeros(capacity, np.int64),
            slope=np.zeros(capacity),
            ids=np.zeros(capacity, np.int64),
        )

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more tracks than are active now."""
        need = self.n + extra
        if need <= self.ids.size:
            return
        cap = max(need, 2 * self.ids.size)
        for name in ("frames", "freqs", "length", "slope", "ids"):
            old = getattr(self, name)
            new = np.zeros((cap, *old.shape[1:]), old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)


@dataclass(frozen=True)
class AssociationRule:
    """The tracker's association settings in frames and Hz (from ``WhistleTrackerConfig``)."""

    max_gap: int  # frames a track survives without a peak
    max_jump_hz: float
    jump_per_gap_hz: float
    gap_cost_hz: float
    start_snr_db: float


def associate(
    state: TrackState,
    frames: np.ndarray,
    freqs: np.ndarray,
    snrs: np.ndarray,
    may_start: np.ndarray,
    last_frame: int,
    rule: AssociationRule,
) -> tuple[np.ndarray, np.ndarray]:
    """Assign one chunk's peaks to tracks, start and end tracks; updates ``state`` in place.

    Parameters
    ----------
    state : TrackState
        Active tracks before the chunk; after it on return.
    frames : np.ndarray, shape [P], int64
        Absolute frame of each peak, non-decreasing.
    freqs : np.ndarray, shape [P], float64
        Peak frequencies in Hz, ascending within a frame.
    snrs : np.ndarray, shape [P], float64
        Peak SNRs in dB.
    may_start : np.ndarray, shape [P], bool
        Peaks whose frame is examined even when no track is active.
    last_frame : int
        The chunk's last frame: tracks older than ``max_gap`` frames by then end.
    rule : AssociationRule
        Association settings.

    Returns
    -------
    owner : np.ndarray, shape [P], int64
        Id of the track each peak went to (a new id where it started one), -1 for none.
    ended : np.ndarray, shape [E], int64
        Ids of the tracks that ended, in the order they ended.
    """
    state.reserve(frames.size)
    owner = np.full(frames.size, -1, np.int64)
    ended = np.zeros(state.n + frames.size, np.int64)
    n, next_id, n_ended = _associate(
        frames,
        freqs,
        snrs,
        may_start,
        int(last_frame),
        state.frames,
        state.freqs,
        state.length,
        state.slope,
        state.ids,
        state.n,
        state.next_id,
        int(rule.max_gap),
        float(rule.max_jump_hz),
        float(rule.jump_per_gap_hz),
        float(rule.gap_cost_hz),
        float(rule.start_snr_db),
        owner,
        ended,
    )
    state.n, state.next_id = int(n), int(next_id)
    return owner, ended[:n_ended]


@numba.njit(cache=True, nogil=True)
def _expire(frame, max_gap, t_frames, t_freqs, length, slope, ids, n, ended, n_ended):
    """Drop (in order) the tracks whose last point is more than ``max_gap`` frames before
    ``frame``; returns the new counts."""
    keep = 0
    for a in range(n):
        if frame - t_frames[a, length[a] - 1] > max_gap:
            ended[n_ended] = ids[a]
            n_ended += 1
        else:
            if keep != a:
                t_frames[keep] = t_frames[a]
                t_freqs[keep] = t_freqs[a]
                length[keep] = length[a]
                slope[keep] = slope[a]
                ids[keep] = ids[a]
            keep += 1
    return keep, n_ended


@numba.njit(cache=True, nogil=True)
def _add(a, frame, freq, t_frames, t_freqs, length, slope):
    """Append a point to track ``a`` and refresh its slope."""
    h = t_frames.shape[1]
    m = length[a]
    if m == h:  # keep the last h points: shift out the oldest
        for k in range(h - 1):
            t_frames[a, k] = t_frames[a, k + 1]
            t_freqs[a, k] = t_freqs[a, k + 1]
        m -= 1
    t_frames[a, m] = frame
    t_freqs[a, m] = freq
    length[a] = m + 1
    span = frame - t_frames[a, 0]
    slope[a] = (freq - t_freqs[a, 0]) / span if span else 0.0


@numba.njit(cache=True, nogil=True)
def _associate(
    frames,
    freqs,
    snrs,
    may_start,
    last_frame,
    t_frames,
    t_freqs,
    length,
    slope,
    ids,
    n,
    next_id,
    max_gap,
    jump,
    per_gap,
    gap_cost,
    start_snr,
    owner,
    ended,
):
    n_ended = 0
    n_peaks = frames.size
    cap = t_frames.shape[0]
    cost = np.empty(cap * 4 + 16)
    pair_t = np.empty(cap * 4 + 16, np.int64)
    pair_p = np.empty(cap * 4 + 16, np.int64)
    i = 0
    while i < n_peaks:
        frame = frames[i]
        j = i
        gate = n > 0
        while j < n_peaks and frames[j] == frame:
            gate = gate or may_start[j]
            j += 1
        if not gate:
            i = j
            continue
        n, n_ended = _expire(
            frame, max_gap, t_frames, t_freqs, length, slope, ids, n, ended, n_ended
        )
        m = 0
        for a in range(n):
            gap = frame - t_frames[a, length[a] - 1]
            pred = t_freqs[a, length[a] - 1] + slope[a] * gap
            tol = jump + per_gap * (gap - 1)
            lo = i + np.searchsorted(freqs[i:j], pred - tol - 1.0)
            for p in range(lo, j):
                f = freqs[p]
                if f > pred + tol + 1.0:
                    break
                d = abs(f - pred)
                if d <= tol:
                    if m == cost.size:  # grow the pair buffers (rare: dense peaks)
                        cost = np.concatenate((cost, np.empty(cost.size)))
                        pair_t = np.concatenate((pair_t, np.empty(pair_t.size, np.int64)))
                        pair_p = np.concatenate((pair_p, np.empty(pair_p.size, np.int64)))
                    cost[m] = d + gap_cost * (gap - 1)
                    pair_t[m] = a
                    pair_p[m] = p
                    m += 1
        used_p = np.zeros(j - i, np.bool_)
        if m:
            used_t = np.zeros(n, np.bool_)
            for q in np.argsort(cost[:m], kind="mergesort"):
                a, p = pair_t[q], pair_p[q]
                if not used_t[a] and not used_p[p - i]:
                    used_t[a] = True
                    used_p[p - i] = True
                    _add(a, frame, freqs[p], t_frames, t_freqs, length, slope)
                    owner[p] = ids[a]
        for p in range(i, j):
            if snrs[p] >= start_snr and not used_p[p - i]:
                t_frames[n, 0] = frame
                t_freqs[n, 0] = freqs[p]
                length[n] = 1
                slope[n] = 0.0
                ids[n] = next_id
                owner[p] = next_id
                next_id += 1
                n += 1
        i = j
    n, n_ended = _expire(
        last_frame, max_gap, t_frames, t_freqs, length, slope, ids, n, ended, n_ended
    )
    return n, next_id, n_ended
