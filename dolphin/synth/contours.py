"""Whistle contour models: random parametric contours, whistle types, renditions and individuals.

A whistle *type* is a stereotyped frequency contour (one loop, times from 0). Every time an
animal produces it, the rendition differs a little: it is stretched in time (about +-8 %),
scaled in frequency (about +-3 %), carries a small smooth wobble, and may repeat the loop 1-4
times with short silent gaps (30-250 ms) between loops, as bottlenose dolphin signature whistles
do.

Multi-loop convention: a rendition is ONE :class:`~dolphin.annotations.Contour` holding all its
loops. Inside a loop the points are ``step_s`` apart (1 ms by default); between loops the time
jumps by the gap, with no points inside it. :func:`split_loops` recovers the loops as separate
contour segments (a jump longer than ``min_gap_s`` starts a new loop), and the renderer in
:mod:`dolphin.synth.sounds` keeps the gaps silent. A scene labels one event per whistle, all loops
included.

Each :class:`Individual` owns one signature whistle type; the population also shares a few
non-signature types that any individual may produce.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import PchipInterpolator

from dolphin.annotations import Contour

#: Contour shapes that :func:`random_contour` can draw.
SHAPES = ("upsweep", "downsweep", "convex", "concave", "sine", "multi")
#: Fundamental-frequency limits of every generated contour, in Hz.
FMIN_HZ = 2000.0
FMAX_HZ = 30000.0
#: Inter-loop gap limits, in seconds.
MIN_LOOP_GAP_S = 0.03
MAX_LOOP_GAP_S = 0.25


@dataclass(eq=False)
class WhistleType:
    """A stereotyped whistle contour that renditions vary around.

    Attributes
    ----------
    type_id : str
        Unique id (``"sig-ind01"`` for a signature type, ``"nsw-03"`` for a shared one).
    base : Contour
        One loop of the type, times from 0 s.
    owner : str or None
        Individual that owns the type (signature types); None for shared types.
    signature : bool
        True for an individual's signature whistle type.
    min_loops, max_loops : int
        Range of the number of loops in one rendition (1-4).
    loop_gap_s : float
        Typical silent gap between loops, in seconds (renditions vary it by +-40 %).
    """

    type_id: str
    base: Contour
    owner: str | None = None
    signature: bool = False
    min_loops: int = 1
    max_loops: int = 1
    loop_gap_s: float = 0.1


@dataclass(eq=False)
class Individual:
    """One synthetic animal.

    Attributes
    ----------
    individual_id : str
        Id used in event labels (``"ind01"``).
    signature_type : WhistleType
        The animal's own signature whistle type.
    shared_types : list of WhistleType
        Non-signature types the whole population shares (the same list object for everyone).
    """

    individual_id: str
    signature_type: WhistleType
    shared_types: list[WhistleType] = field(default_factory=list)


def random_contour(
    *,
    rng: np.random.Generator,
    shape: str | None = None,
    duration_s: float | None = None,
    fmin_hz: float = 3000.0,
    fmax_hz: float = 28000.0,
    step_s: float = 1e-3,
) -> Contour:
    """Draw a smooth random whistle contour.

    The contour is built on a log-frequency axis between a random lower and upper frequency
    (bandwidth ratio 1.3-3) from a few control points joined by a monotone cubic (PCHIP) spline,
    or from a trend plus 1-3 sinusoidal cycles for ``"sine"``.

    Parameters
    ----------
    rng : np.random.Generator
        Source of randomness.
    shape : str, optional
        One of :data:`SHAPES`; random when omitted.
    duration_s : float, optional
        Length in seconds; log-uniform in [0.2, 1.5] when omitted.
    fmin_hz, fmax_hz : float
        Frequency limits of the contour, in Hz (clipped to [2, 30] kHz).
    step_s : float
        Time step between contour points, in seconds.

    Returns
    -------
    Contour
        Points ``step_s`` apart, times from 0 s, frequencies in [fmin_hz, fmax_hz].
    """
    shape = shape if shape is not None else SHAPES[int(rng.integers(len(SHAPES)))]
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    fmin_hz, fmax_hz = max(fmin_hz, FMIN_HZ), min(fmax_hz, FMAX_HZ)
    if fmax_hz <= fmin_hz * 1.05:
        raise ValueError(f"frequency range too narrow: [{fmin_hz}, {fmax_hz}] Hz")
    if duration_s is None:
        duration_s = float(np.exp(rng.uniform(np.log(0.2), np.log(1.5))))
    n = max(int(round(duration_s / step_s)) + 1, 2)
    u = np.linspace(0.0, 1.0, n)
    log_lo, log_hi = np.log(fmin_hz), np.log(fmax_hz)
    width = min(np.log(rng.uniform(1.3, 3.0)), log_hi - log_lo)
    bottom = rng.uniform(log_lo, log_hi - width)
    y = _shape_curve(shape, u, rng)
    y = (y - y.min()) / max(float(np.ptp(y)), 1e-9)
    return Contour(u * (n - 1) * step_s, np.exp(bottom + width * y))


def _shape_curve(shape: str, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An unscaled curve of the given shape over normalised time ``u`` in [0, 1]."""
    if shape == "sine":
        cycles = rng.uniform(1.0, 3.0)
        trend = rng.uniform(-1.0, 1.0)
        return trend * u + 0.6 * np.sin(2 * np.pi * cycles * u + rng.uniform(0, 2 * np.pi))
    if shape == "upsweep":
        knots = np.sort(rng.uniform(0, 1, 2))
        x, y = [0.0, *knots, 1.0], [0.0, *np.sort(rng.uniform(0.1, 0.9, 2)), 1.0]
    elif shape == "downsweep":
        knots = np.sort(rng.uniform(0, 1, 2))
        x, y = [0.0, *knots, 1.0], [1.0, *np.sort(rng.uniform(0.1, 0.9, 2))[::-1], 0.0]
    elif shape in ("convex", "concave"):
        peak = rng.uniform(0.3, 0.7)
        ends = rng.uniform(0.0, 0.5, 2)
        y = [ends[0], 1.0, ends[1]] if shape == "convex" else [1 - ends[0], 0.0, 1 - ends[1]]
        x = [0.0, peak, 1.0]
    else:  # "multi": several random turning points
        k = int(rng.integers(4, 7))
        x = [0.0, *np.sort(rng.uniform(0.05, 0.95, k - 2)), 1.0]
        y = list(rng.uniform(0, 1, k))
    x = np.asarray(x)
    x = np.maximum.accumulate(x + np.arange(x.size) * 1e-6)  # strictly increasing knots
    return PchipInterpolator(x / x[-1], np.asarray(y))(u)


def render_rendition(
    whistle_type: WhistleType,
    *,
    rng: np.random.Generator,
    n_loops: int | None = None,
    step_s: float = 1e-3,
    time_jitter: float = 0.08,
    freq_jitter: float = 0.03,
    wobble: float = 0.006,
) -> Contour:
    """Produce one rendition of a whistle type with natural variation.

    Parameters
    ----------
    whistle_type : WhistleType
        The type to render.
    rng : np.random.Generator
        Source of randomness.
    n_loops : int, optional
        Loops in this rendition; drawn from ``[min_loops, max_loops]`` when omitted.
    step_s : float
        Time step of the returned contour, in seconds.
    time_jitter : float
        Maximum relative time stretch of the whole rendition (each loop adds a third of it).
    freq_jitter : float
        Maximum relative frequency scaling of the whole rendition (each loop adds a third).
    wobble : float
        RMS of the smooth relative frequency wobble.

    Returns
    -------
    Contour
        Times from 0 s; all loops in one contour, the gaps between them without points (see the
        module docstring). Frequencies are clipped to [2, 30] kHz.
    """
    if n_loops is None:
        n_loops = int(rng.integers(whistle_type.min_loops, whistle_type.max_loops + 1))
    base = whistle_type.base
    t0 = base.times_s - base.times_s[0]
    stretch = 1.0 + rng.uniform(-time_jitter, time_jitter)
    scale = 1.0 + rng.uniform(-freq_jitter, freq_jitter)
    times, freqs, start = [], [], 0.0
    for _ in range(n_loops):
        s = stretch * (1.0 + rng.uniform(-time_jitter, time_jitter) / 3)
        f = scale * (1.0 + rng.uniform(-freq_jitter, freq_jitter) / 3)
        duration = t0[-1] * s
        t = np.arange(0.0, duration + 0.5 * step_s, step_s)
        u = t / max(duration, 1e-9)
        wob = _smooth_wobble(u, rng) * wobble
        times.append(start + t)
        freqs.append(np.interp(u * t0[-1], t0, base.freqs_hz) * f * (1.0 + wob))
        gap = whistle_type.loop_gap_s * rng.uniform(0.6, 1.4)
        start = times[-1][-1] + float(np.clip(gap, MIN_LOOP_GAP_S, MAX_LOOP_GAP_S))
    return Contour(np.concatenate(times), np.clip(np.concatenate(freqs), FMIN_HZ, FMAX_HZ))


def _smooth_wobble(u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A smooth zero-mean random curve with unit RMS over normalised time ``u``."""
    curve = np.zeros_like(u)
    for k in range(1, 4):
        curve += (
            rng.normal() / k * np.sin(np.pi * k * rng.uniform(0.5, 2.0) * u + rng.uniform(0, 6))
        )
    rms = float(np.sqrt(np.mean(curve**2))) if curve.size else 0.0
    return curve / rms if rms > 0 else curve


def split_loops(contour: Contour, *, min_gap_s: float = 0.02) -> list[Contour]:
    """Split a contour into its loops at time jumps longer than ``min_gap_s``.

    Parameters
    ----------
    contour : Contour
        A (possibly multi-loop) contour.
    min_gap_s : float
        A step between consecutive points longer than this, in seconds, separates two loops.
        The default suits 1 ms synthetic and 10 ms SIGWI contours.

    Returns
    -------
    list of Contour
        The loops in time order, each with its absolute times.
    """
    if len(contour) == 0:
        return []
    cuts = np.flatnonzero(np.diff(contour.times_s) > min_gap_s) + 1
    return [
        Contour(t, f)
        for t, f in zip(
            np.split(contour.times_s, cuts), np.split(contour.freqs_hz, cuts), strict=True
        )
    ]


def contour_distance(a: Contour, b: Contour, *, n_points: int = 64) -> float:
    """Shape distance of two contours: mean absolute log-frequency difference after resampling.

    Parameters
    ----------
    a, b : Contour
        Contours to compare (durations are normalised away).
    n_points : int
        Points each contour is resampled to.

    Returns
    -------
    float
        Mean ``|log(fa / fb)|``; 0.03 is about a 3 % frequency difference.
    """
    u = np.linspace(0.0, 1.0, n_points)

    def resample(c: Contour) -> np.ndarray:
        x = (c.times_s - c.times_s[0]) / max(c.duration_s, 1e-9)
        return np.log(np.interp(u, x, c.freqs_hz))

    return float(np.mean(np.abs(resample(a) - resample(b))))


def make_population(
    n_individuals: int,
    *,
    rng: np.random.Generator,
    n_shared_types: int = 4,
    fmin_hz: float = 3000.0,
    fmax_hz: float = 28000.0,
    min_distance: float = 0.1,
) -> list[Individual]:
    """Create individuals, each with a distinct signature whistle type, plus shared types.

    Parameters
    ----------
    n_individuals : int
        Number of animals (ids ``ind01``, ``ind02``, ...).
    rng : np.random.Generator
        Source of randomness.
    n_shared_types : int
        Number of non-signature whistle types shared by the population (``nsw-01``, ...).
    fmin_hz, fmax_hz : float
        Frequency limits of every type, in Hz; keep ``fmax_hz`` below ~0.42 x the sample rate
        the whistles will be rendered at, so that jittered renditions stay representable.
    min_distance : float
        Minimum :func:`contour_distance` between any two types (redrawn up to 50 times).

    Returns
    -------
    list of Individual
        Signature types have 1-4 loops per rendition, shared types 1-2; a loop lasts 0.25 s to
        min(1.5, 2.4 / max_loops) s, so a rendition stays within about 2.5 s.
    """
    types: list[WhistleType] = []

    def draw(type_id: str, owner: str | None, index: int) -> WhistleType:
        max_loops = int(rng.integers(1, 5)) if owner else int(rng.integers(1, 3))
        longest = min(1.5, 2.4 / max_loops)  # keeps a whole rendition within ~2.5 s
        for _ in range(50):
            duration = float(np.exp(rng.uniform(np.log(0.25), np.log(longest))))
            shape = SHAPES[index % len(SHAPES)]
            base = random_contour(
                rng=rng, shape=shape, fmin_hz=fmin_hz, fmax_hz=fmax_hz, duration_s=duration
            )
            if all(contour_distance(base, t.base) >= min_distance for t in types):
                break
        kind = WhistleType(
            type_id=type_id,
            base=base,
            owner=owner,
            signature=owner is not None,
            min_loops=1 if max_loops < 3 else 2,
            max_loops=max_loops,
            loop_gap_s=float(rng.uniform(0.05, 0.2)),
        )
        types.append(kind)
        return kind

    shared = [draw(f"nsw-{k + 1:02d}", None, k + 3) for k in range(n_shared_types)]
    individuals = []
    for i in range(n_individuals):
        ind_id = f"ind{i + 1:02d}"
        individuals.append(Individual(ind_id, draw(f"sig-{ind_id}", ind_id, i), shared))
    return individuals
