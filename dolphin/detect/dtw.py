"""Whistle contour similarity by dynamic time warping, tolerant to moderate shift and stretch.

Each contour becomes a fixed-length shape: its fundamental frequency in semitones
(``12 log2(f / 1 kHz)``) resampled to ``n_points`` points spread evenly over its duration, so
a uniform time stretch changes nothing, and (by default) minus its own mean, so a uniform
frequency shift changes nothing either. Two shapes are compared by DTW inside a Sakoe-Chiba band
with the symmetric step pattern (diagonal steps weigh 2, others 1), normalised by ``2 n_points``;
the result is the mean absolute difference along the best path, in semitones (0.5 means the
contours are half a semitone, about 3 %, apart on average).

Shift and stretch are tolerated only up to a bound: a mean-frequency difference beyond
``free_shift_semitones`` and a duration ratio beyond ``1 + free_stretch`` add a linear penalty,
so a 10 kHz upsweep and a 20 kHz upsweep, or a 0.3 s and a 1.2 s version of one shape, stay
apart. The defaults (0.75 semitone, about 4.4 %, and 20 % free) are a compromise found with
``benchmarks/whistle_types.py``: renditions of synthetic signature types shifted by up to 6 % and
stretched by up to 20 % must group, while SIGWI's real contour types are tight in frequency and
a loose tolerance lets unclustered contours bridge them.

Multi-loop renditions (see :mod:`dolphin.synth.contours`) are compared by their first loop by
default (the first with two or more points), because the loops of a signature whistle repeat one
contour and the number of loops varies between renditions.

The pairwise kernel is compiled with numba (a dependency of librosa) and runs in parallel over
pairs; a few thousand contours take seconds. The [N, N] float64 result needs 8 N^2 bytes
(1.5 GB for 13,584 contours).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from dolphin.annotations import Contour

#: Reference frequency of the semitone scale, in Hz.
REFERENCE_HZ = 1000.0
LOOP_MODES = ("first", "whole")


@dataclass(frozen=True)
class DTWConfig:
    """Settings of the contour distance (all distances are in semitones)."""

    n_points: int = 48  # points per contour after resampling over its duration
    band: float = 0.1  # Sakoe-Chiba half-width, fraction of n_points (non-uniform warping)
    normalise_shift: bool = True  # remove each contour's mean pitch before DTW
    free_shift_semitones: float = 0.75  # mean-pitch difference that costs nothing (~4.4 %)
    shift_weight: float = 1.0  # distance added per semitone of shift beyond the free one
    free_stretch: float = 0.2  # duration ratios up to 1.2 cost nothing
    stretch_weight: float = 2.0  # distance added per unit of |ln duration ratio| beyond it
    loop: str = "first"  # "first": compare first loops; "whole": all loops, gaps closed
    min_gap_s: float = 0.02  # a time step longer than this separates two loops, seconds

    def __post_init__(self) -> None:
        if self.n_points < 4:
            raise ValueError(f"n_points must be at least 4, got {self.n_points}")
        if not 0.0 <= self.band <= 1.0:
            raise ValueError(f"band must be a fraction in [0, 1], got {self.band}")
        if self.loop not in LOOP_MODES:
            raise ValueError(f"loop must be one of {LOOP_MODES}, got {self.loop!r}")
        for name in ("free_shift_semitones", "shift_weight", "free_stretch", "stretch_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def band_points(self) -> int:
        """Sakoe-Chiba half-width in points."""
        return int(np.ceil(self.band * self.n_points))


@dataclass
class ContourShapes:
    """Contours reduced to what the distance needs.

    Attributes
    ----------
    shapes : np.ndarray, shape [N, n_points], float64
        Pitch in semitones re 1 kHz at evenly spaced times, minus ``mean_semitones`` when the
        config normalises shift.
    mean_semitones : np.ndarray, shape [N]
        Mean pitch of each contour, semitones re 1 kHz.
    duration_s : np.ndarray, shape [N]
        Duration of the compared part (first loop or all loops without gaps), seconds.
    config : DTWConfig
        The settings the shapes were made with.
    """

    shapes: np.ndarray
    mean_semitones: np.ndarray
    duration_s: np.ndarray
    config: DTWConfig

    def __len__(self) -> int:
        return int(self.shapes.shape[0])


def _compared_part(contour: Contour, config: DTWConfig) -> tuple[np.ndarray, np.ndarray]:
    """Times (gaps closed) and frequencies of the part of ``contour`` that is compared."""
    t, f = contour.times_s, contour.freqs_hz
    steps = np.diff(t)
    # a loop gap is a jump both long in seconds and long against the contour's own time step,
    # so coarsely sampled contours (e.g. 50 ms hops) are not cut into single points
    gaps = (
        (steps > config.min_gap_s) & (steps > 2.5 * np.median(steps)) if steps.size else steps > 0
    )
    if config.loop == "first" and gaps.any():
        bounds = [0, *(np.flatnonzero(gaps) + 1).tolist(), t.size]
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            if b - a >= 2:  # the first loop of 2+ points (a lone stray point is no loop)
                return t[a:b], f[a:b]
    if gaps.any():  # close the gaps: one typical step instead of each silent jump
        typical = float(np.median(steps[~gaps])) if (~gaps).any() else config.min_gap_s
        t = np.concatenate([[t[0]], t[0] + np.cumsum(np.where(gaps, typical, steps))])
    return t, f


def contour_shapes(
    contours: Sequence[Contour], *, config: DTWConfig | None = None
) -> ContourShapes:
    """Resample contours to fixed-length pitch shapes.

    Parameters
    ----------
    contours : sequence of Contour
        Whistle contours (anything with ``times_s`` and ``freqs_hz``), at least 2 points and a
        positive duration in the compared part, frequencies > 0 Hz.
    config : DTWConfig, optional
        Distance settings; defaults when omitted.

    Returns
    -------
    ContourShapes
        One row per contour, in input order.

    Raises
    ------
    ValueError
        A contour is too short, not increasing in time, or holds non-positive or non-finite
        values (the message gives its index).
    """
    config = config or DTWConfig()
    n = len(contours)
    shapes = np.empty((n, config.n_points))
    means, durations = np.empty(n), np.empty(n)
    u = np.linspace(0.0, 1.0, config.n_points)
    for k, contour in enumerate(contours):
        t, f = contour.times_s, contour.freqs_hz
        if t.size < 2 or not np.all(np.isfinite(t)) or not np.all(np.isfinite(f)):
            raise ValueError(f"contour {k}: needs at least 2 points, all finite, got {t.size}")
        if np.any(np.diff(t) <= 0):
            raise ValueError(f"contour {k}: times must increase strictly")
        if np.any(f <= 0):
            raise ValueError(f"contour {k}: frequencies must be > 0 Hz")
        t, f = _compared_part(contour, config)
        durations[k] = t[-1] - t[0]
        pitch = 12.0 * np.log2(np.interp(t[0] + u * durations[k], t, f) / REFERENCE_HZ)
        means[k] = pitch.mean()
        shapes[k] = pitch - means[k] if config.normalise_shift else pitch
    return ContourShapes(shapes, means, durations, config)


def _as_shapes(contours: Sequence[Contour] | ContourShapes, config: DTWConfig | None):
    """Shapes of ``contours``, reusing precomputed ones when their config matches."""
    if isinstance(contours, ContourShapes):
        if config is not None and config != contours.config:
            raise ValueError("precomputed ContourShapes were made with a different DTWConfig")
        return contours
    return contour_shapes(contours, config=config)


@numba.njit(cache=True, nogil=True)
def _dtw(x, y, w, prev, cur):  # pragma: no cover - compiled
    """Symmetric-step DTW of equal-length x, y in a band of half-width w, normalised by 2L."""
    n = x.size
    inf = np.inf
    for i in range(n):
        lo = max(0, i - w)
        hi = min(n - 1, i + w)
        if lo > 0:
            cur[lo - 1] = inf
        if hi + 1 < n:
            cur[hi + 1] = inf
        for j in range(lo, hi + 1):
            c = abs(x[i] - y[j])
            if i == 0 and j == 0:
                best = 2.0 * c
            else:
                best = inf
                if i > 0 and j > 0:
                    best = prev[j - 1] + 2.0 * c
                if i > 0 and prev[j] + c < best:
                    best = prev[j] + c
                if j > 0 and cur[j - 1] + c < best:
                    best = cur[j - 1] + c
            cur[j] = best
        prev, cur = cur, prev
    return prev[n - 1] / (2.0 * n)


@numba.njit(cache=True, nogil=True)
def _fill_row(x, i, w, out, prev, cur):  # pragma: no cover - compiled
    """Distances of row i to every later row, written to both triangles of ``out``."""
    for j in range(i + 1, x.shape[0]):
        d = _dtw(x[i], x[j], w, prev, cur)
        out[i, j] = d
        out[j, i] = d


@numba.njit(parallel=True, cache=True)
def _pairwise_kernel(x, w, out):  # pragma: no cover - compiled
    """Fill the symmetric matrix ``out`` [N, N]; rows k and N-1-k share a task for balance."""
    n, length = x.shape
    for k in numba.prange((n + 1) // 2):
        prev = np.empty(length)
        cur = np.empty(length)
        _fill_row(x, k, w, out, prev, cur)
        if n - 1 - k != k:
            _fill_row(x, n - 1 - k, w, out, prev, cur)


@numba.njit(parallel=True, cache=True)
def _cross_kernel(x, y, w, out):  # pragma: no cover - compiled
    """Fill ``out`` [Q, R] with the DTW of every row of x against every row of y."""
    length = x.shape[1]
    for i in numba.prange(x.shape[0]):
        prev = np.empty(length)
        cur = np.empty(length)
        for j in range(y.shape[0]):
            out[i, j] = _dtw(x[i], y[j], w, prev, cur)


def _penalty(a: ContourShapes, b: ContourShapes) -> np.ndarray:
    """Bounded shift and stretch penalties [len(a), len(b)], semitones."""
    cfg = a.config
    out = np.zeros((len(a), len(b)))
    if cfg.normalise_shift and cfg.shift_weight > 0:
        shift = np.abs(a.mean_semitones[:, None] - b.mean_semitones[None, :])
        out += cfg.shift_weight * np.maximum(shift - cfg.free_shift_semitones, 0.0)
    if cfg.stretch_weight > 0:
        ratio = np.abs(np.log(a.duration_s[:, None] / b.duration_s[None, :]))
        out += cfg.stretch_weight * np.maximum(ratio - np.log1p(cfg.free_stretch), 0.0)
    return out


def pairwise_dtw(
    contours: Sequence[Contour] | ContourShapes, *, config: DTWConfig | None = None
) -> np.ndarray:
    """Distance between every pair of contours.

    Parameters
    ----------
    contours : sequence of Contour or ContourShapes
        N contours, or their shapes from :func:`contour_shapes`.
    config : DTWConfig, optional
        Distance settings (must match precomputed shapes).

    Returns
    -------
    np.ndarray, shape [N, N], float64
        Symmetric, zero diagonal, in semitones (DTW mean difference plus penalties).
    """
    shapes = _as_shapes(contours, config)
    n = len(shapes)
    out = np.zeros((n, n))
    if n > 1:
        _pairwise_kernel(np.ascontiguousarray(shapes.shapes), shapes.config.band_points, out)
        out += _penalty(shapes, shapes)
        np.fill_diagonal(out, 0.0)
    return out


def cross_dtw(
    queries: Sequence[Contour] | ContourShapes,
    references: Sequence[Contour] | ContourShapes,
    *,
    config: DTWConfig | None = None,
) -> np.ndarray:
    """Distance from every query contour to every reference contour.

    Parameters
    ----------
    queries, references : sequence of Contour or ContourShapes
        Q and R contours (or shapes made with the same config).
    config : DTWConfig, optional
        Distance settings.

    Returns
    -------
    np.ndarray, shape [Q, R], float64
        Distances in semitones.
    """
    q = _as_shapes(queries, config)
    r = _as_shapes(references, config or q.config)
    if q.config != r.config:
        raise ValueError("queries and references were shaped with different DTWConfigs")
    out = np.zeros((len(q), len(r)))
    if len(q) and len(r):
        _cross_kernel(
            np.ascontiguousarray(q.shapes),
            np.ascontiguousarray(r.shapes),
            q.config.band_points,
            out,
        )
        out += _penalty(q, r)
    return out


def dtw_distance(a: Contour, b: Contour, *, config: DTWConfig | None = None) -> float:
    """Distance between two contours, in semitones (see the module docstring)."""
    return float(cross_dtw([a], [b], config=config)[0, 0])
