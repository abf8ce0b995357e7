"""Synthetic imitations of vocabulary whistles and natural non-mimics, for tests and benchmarks.

An imitation (:func:`imitate`) of a contour is what a dolphin copying it might produce: the whole
contour scaled in frequency by 5-20 % (either way), stretched in time by up to +-15 % and warped
unevenly (some parts faster than others), with a smooth pitch wobble and a little fast jitter,
and optionally only part of it (the first or last 70-90 %).

Pulsed renditions (:func:`pulsed_rendition`) follow the convention the matcher recognises
(:mod:`dolphin.chat.matcher`): the pulse repetition rate traces the contour, ``f(t) / divisor``
pulses per second. A burst-pulse rendition uses ``divisor`` 20 at the contour's own tempo
(a 4-20 kHz contour gives 200-1000 pulses/s, 1-5 ms apart); a click-train rendition uses 400 and
is played 4 times slower, so that a 4-20 kHz contour gives 10-50 clicks/s (20-100 ms apart,
echolocation rates), still holds tens of clicks, and its interval changes by at most ~10 % from
one click to the next (what a click-train tracker can follow).

:func:`make_scene` mixes sounds into coloured ocean noise, each at a given SNR measured as in
:mod:`dolphin.synth.snr` (band power over the sound's span; pulsed sounds over their pulses), and
returns the truth. :func:`natural_whistles` picks SIGWI contours, the look-alikes closest to a
vocabulary first; :func:`natural_variant` is another rendition of a natural whistle by its owner
(a signature whistle is never repeated exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dolphin.annotations import Contour
from dolphin.synth.background import ocean_noise
from dolphin.synth.contours import _smooth_wobble
from dolphin.synth.snr import PULSE_WINDOW_S, band_passed, window_mask
from dolphin.synth.sounds import place_kernel, render_click, render_whistle

#: Pulse-rate divisor and time scale of each pulsed rendition (module docstring).
PULSED_STYLES = {"burst_pulse": (20.0, 1.0), "click_train": (400.0, 4.0)}


def imitate(
    contour: Contour,
    *,
    rng: np.random.Generator,
    shift: tuple[float, float] = (0.05, 0.2),
    stretch: float = 0.15,
    warp: float = 0.3,
    wobble_semitones: float = 0.25,
    jitter_semitones: float = 0.1,
    partial: tuple[float, float] | None = None,
    step_s: float = 1e-3,
) -> Contour:
    """An imperfect imitation of a contour.

    Parameters
    ----------
    contour : Contour
        The model (one loop).
    rng : np.random.Generator
        Source of randomness.
    shift : tuple of float
        Range of the relative frequency scaling; its sign is random (0.1: 10 % up or down).
    stretch : float
        Largest relative change of the overall duration.
    warp : float
        Unevenness of the time warping: the local speed varies by about ``exp(+-warp)``.
    wobble_semitones : float
        RMS of a smooth pitch wobble, semitones.
    jitter_semitones : float
        RMS of a fast pitch jitter (smoothed over ~10 ms), semitones.
    partial : tuple of float, optional
        When given, only a fraction in this range of the imitation is kept, from its start or
        its end (random).
    step_s : float
        Time step of the result, seconds.

    Returns
    -------
    Contour
        Times from 0 s.
    """
    t, f = contour.times_s - contour.times_s[0], contour.freqs_hz
    duration = t[-1] * (1.0 + rng.uniform(-stretch, stretch))
    n = max(int(round(duration / step_s)) + 1, 4)
    u = np.linspace(0.0, 1.0, n)
    speed = np.exp(warp * _smooth_wobble(u, rng))  # local playback speed of the model
    position = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]))])
    position /= position[-1]
    pitch = np.log2(np.interp(position * t[-1], t, f))
    scale = rng.uniform(*shift) * rng.choice([-1.0, 1.0])
    pitch += np.log2(1.0 + scale) + wobble_semitones / 12.0 * _smooth_wobble(u, rng)
    if jitter_semitones > 0:
        k = max(int(round(0.01 / step_s)), 1)
        fast = np.convolve(rng.standard_normal(n + k), np.ones(k) / np.sqrt(k), mode="same")[:n]
        pitch += jitter_semitones / 12.0 * fast
    times = u * (n - 1) * step_s
    if partial is not None:
        keep = rng.uniform(*partial)
        m = max(int(round(keep * n)), 4)
        sl = slice(0, m) if rng.random() < 0.5 else slice(n - m, n)
        times, pitch = times[sl] - times[sl][0], pitch[sl]
    return Contour(times, 2.0**pitch)


def natural_variant(contour: Contour, *, rng: np.random.Generator) -> Contour:
    """Another rendition of a natural whistle by the same animal (not an imitation).

    Repetitions of a signature whistle vary a little: up to 5 % in frequency, +-10 % in duration,
    mildly uneven tempo, a small wobble and jitter (half an imitation's, :func:`imitate`).

    Parameters
    ----------
    contour : Contour
        The whistle (one loop).
    rng : np.random.Generator
        Source of randomness.

    Returns
    -------
    Contour
        Times from 0 s, 1 ms steps.
    """
    return imitate(
        contour,
        rng=rng,
        shift=(0.0, 0.05),
        stretch=0.1,
        warp=0.15,
        wobble_semitones=0.12,
        jitter_semitones=0.05,
    )


def pulse_times(
    contour: Contour,
    *,
    divisor: float,
    time_scale: float = 1.0,
    rng: np.random.Generator | None = None,
    jitter: float = 0.01,
) -> np.ndarray:
    """Pulse times whose repetition rate traces ``contour``: ``f(t / time_scale) / divisor``.

    Returns
    -------
    np.ndarray, shape [K]
        Seconds from the first pulse (at 0), with relative timing jitter ``jitter`` x IPI.
    """
    t = contour.times_s - contour.times_s[0]
    grid = np.arange(0.0, t[-1] * time_scale, 1e-4)
    rate = np.interp(grid / time_scale, t, contour.freqs_hz) / divisor
    cycles = np.concatenate([[0.0], np.cumsum(rate[:-1] * 1e-4)])
    times = np.interp(np.arange(0.0, cycles[-1]), cycles, grid)
    if rng is not None and jitter > 0 and times.size > 1:
        ipi = np.gradient(times)
        times = times + jitter * ipi * rng.standard_normal(times.size)
        times = np.sort(times - times[0])
    return times


def pulsed_rendition(
    contour: Contour,
    *,
    kind: str,
    sample_rate: int,
    rng: np.random.Generator,
    centre_hz: float | None = None,
    click_duration_s: float = 30e-6,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Render a contour as a burst pulse or a click train (see the module docstring).

    Parameters
    ----------
    contour : Contour
        The contour whose shape the pulse rate follows.
    kind : str
        ``"burst_pulse"`` or ``"click_train"`` (:data:`PULSED_STYLES`).
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Timing jitter and level fluctuation.
    centre_hz : float, optional
        Click centre frequency; 0.37 x the sample rate (at most 60 kHz) by default, inside the
        click detector's band.
    click_duration_s : float
        Click length (+-2 sigma), seconds.

    Returns
    -------
    samples : np.ndarray, shape [T], float32
        Sample 0 is the start of the first pulse's kernel.
    pulse_times_s : np.ndarray, shape [K]
        Centre of each pulse, seconds from sample 0.
    band_hz : tuple of float
        -10 dB band of the clicks, Hz (the band the SNR is measured in).
    """
    if kind not in PULSED_STYLES:
        raise ValueError(f"kind must be one of {tuple(PULSED_STYLES)}, got {kind!r}")
    divisor, time_scale = PULSED_STYLES[kind]
    centre = centre_hz if centre_hz is not None else min(0.37 * sample_rate, 60e3)
    click = render_click(sample_rate=sample_rate, centre_hz=centre, duration_s=click_duration_s)
    times = pulse_times(contour, divisor=divisor, time_scale=time_scale, rng=rng)
    times = times + click.samples.size / 2 / sample_rate
    gains = 10 ** (rng.normal(0.0, 1.0, times.size) / 20)
    samples, times = place_kernel(
        click.samples, times_s=times, amplitudes=gains, sample_rate=sample_rate
    )
    return samples, times, (click.low_hz, click.high_hz)


@dataclass
class SceneSound:
    """A sound to place in a scene, with what it is.

    Attributes
    ----------
    samples : np.ndarray, shape [T]
        The sound, any level (it is scaled to the scene's SNR).
    band_hz : tuple of float
        Band the SNR is measured in, Hz.
    kind : str
        ``whistle``, ``burst_pulse`` or ``click_train``.
    label : str or None
        Vocabulary label it imitates; None for a non-mimic.
    pulse_times_s : np.ndarray, optional
        Pulse centres in seconds from sample 0 (pulsed sounds: SNR over the pulses).
    note : str
        Free text (``"lookalike"``, ``"sigwi:123"``).
    """

    samples: np.ndarray
    band_hz: tuple[float, float]
    kind: str
    label: str | None = None
    pulse_times_s: np.ndarray | None = None
    note: str = ""


def whistle_sound(
    contour: Contour,
    *,
    sample_rate: int,
    rng: np.random.Generator,
    label: str | None = None,
    note: str = "",
) -> SceneSound:
    """A rendered whistle (random weak harmonics, slight amplitude modulation) for a scene."""
    harmonics = (1.0, float(rng.uniform(0.0, 0.4)), float(rng.uniform(0.0, 0.15)))
    x = render_whistle(contour, sample_rate=sample_rate, harmonics=harmonics, am_depth=0.3, rng=rng)
    band = (max(float(contour.freqs_hz.min()) - 300.0, 0.0), float(contour.freqs_hz.max()) + 300.0)
    return SceneSound(x, band, "whistle", label, None, note)


@dataclass
class TruthEvent:
    """One sound placed in a scene.

    Attributes
    ----------
    start_s, end_s : float
        Span in the scene, seconds (whistles: the contour; pulsed: first to last pulse).
    kind, label, note : str, str or None, str
        As in :class:`SceneSound`.
    snr_db : float
        SNR it was mixed at, dB.
    """

    start_s: float
    end_s: float
    kind: str
    label: str | None
    snr_db: float
    note: str = ""


@dataclass
class MimicScene:
    """A mixed scene: samples and the truth.

    Attributes
    ----------
    samples : np.ndarray, shape [T], float32
        Noise plus sounds, full scale 1.
    sample_rate : int
        Hz.
    truth : list of TruthEvent
        In time order.
    """

    samples: np.ndarray
    sample_rate: int
    truth: list[TruthEvent] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Length, seconds."""
        return self.samples.size / self.sample_rate


def make_scene(
    sounds: Sequence[SceneSound],
    *,
    sample_rate: int,
    rng: np.random.Generator,
    snr_db: float,
    gap_s: tuple[float, float] = (0.8, 1.6),
    lead_s: float = 1.0,
    noise_rms: float = 0.01,
) -> MimicScene:
    """Mix sounds one after another into ocean noise, each at ``snr_db``.

    Parameters
    ----------
    sounds : sequence of SceneSound
        In order of appearance.
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Noise and gaps.
    snr_db : float
        SNR of every sound (band power over its span, or over its pulses), dB.
    gap_s : tuple of float
        Range of the silence between consecutive sounds, seconds.
    lead_s : float
        Noise before the first sound and after the last (lets the noise estimates settle).
    noise_rms : float
        Broadband RMS of the ocean noise.

    Returns
    -------
    MimicScene
    """
    offsets, t = [], lead_s
    for s in sounds:
        offsets.append(int(round(t * sample_rate)))
        t += s.samples.size / sample_rate + rng.uniform(*gap_s)
    n = int(round((t - gap_s[0] + lead_s) * sample_rate)) if sounds else int(lead_s * sample_rate)
    noise = ocean_noise(n_samples=n, sample_rate=sample_rate, rng=rng, rms=noise_rms)
    mix = noise.astype(np.float64)
    truth = []
    for s, a in zip(sounds, offsets, strict=True):
        b = a + s.samples.size
        band = dict(sample_rate=sample_rate, low_hz=s.band_hz[0], high_hz=s.band_hz[1])
        p_noise = float(np.mean(band_passed(noise, i0=a, i1=b, **band) ** 2))
        y = band_passed(s.samples, i0=0, i1=s.samples.size, **band)
        if s.pulse_times_s is None:
            p_event = float(np.mean(y**2))
            start, end = a / sample_rate, b / sample_rate
        else:
            centres = np.round(s.pulse_times_s * sample_rate).astype(int)
            half = int(round(PULSE_WINDOW_S * sample_rate / 2))
            p_event = float(np.mean(y[window_mask(y.size, centres, half)] ** 2))
            start = a / sample_rate + float(s.pulse_times_s[0])
            end = a / sample_rate + float(s.pulse_times_s[-1])
        gain = np.sqrt(10 ** (snr_db / 10) * p_noise / max(p_event, 1e-30))
        mix[a:b] += gain * s.samples[: max(min(b, n) - a, 0)]
        truth.append(TruthEvent(start, end, s.kind, s.label, snr_db, s.note))
    return MimicScene(mix.astype(np.float32), sample_rate, truth)


def natural_whistles(
    n: int,
    *,
    rng: np.random.Generator,
    vocab=None,
    n_lookalikes: int = 0,
    exclude_ids: Sequence[int] = (),
    dtw=None,
    pool=None,
) -> list[tuple[Contour, str]]:
    """Natural (non-mimic) whistle contours from the shipped SIGWI set (or ``pool``).

    Parameters
    ----------
    n : int
        Contours wanted (at most the number available).
    rng : np.random.Generator
        Picks the non-look-alikes.
    vocab : Vocabulary, optional
        With ``n_lookalikes > 0``: that many of the contours are the ones closest to any entry
        (by :func:`dolphin.chat.vocab.mimic_distances`).
    n_lookalikes : int
        Look-alikes among the ``n``.
    exclude_ids : sequence of int
        SIGWI ids not to use (e.g. those the vocabulary was designed against).
    dtw : DTWConfig, optional
        Distance settings of the look-alike ranking.
    pool : list of RealContour, optional
        Contours to draw from instead of the shipped set (e.g.
        :func:`dolphin.synth.sigwi.read_sigwi_checkout` of a full SIGWI checkout).

    Returns
    -------
    list of (Contour, str)
        Contours (times from 0) and notes ``"sigwi:<id>"`` or ``"lookalike sigwi:<id>"``.
    """
    from dolphin.chat.vocab import mimic_distances, tolerant_dtw
    from dolphin.synth.sigwi import load_sigwi_contours

    excluded = set(int(i) for i in exclude_ids)
    pool = [r for r in (load_sigwi_contours() if pool is None else pool) if r.id not in excluded]
    picked: list[int] = []
    if vocab is not None and n_lookalikes > 0:
        d = mimic_distances(
            [r.contour for r in pool],
            [e.contour for e in vocab.entries],
            dtw=dtw or tolerant_dtw(),
        ).min(axis=1)
        picked = [int(k) for k in np.argsort(d)[:n_lookalikes]]
    rest = [k for k in range(len(pool)) if k not in set(picked)]
    picked += [int(k) for k in rng.permutation(rest)[: max(n - len(picked), 0)]]
    out = []
    for rank, k in enumerate(picked[:n]):
        c = pool[k].contour
        note = (
            "lookalike " if rank < n_lookalikes and vocab is not None else ""
        ) + f"sigwi:{pool[k].id}"
        out.append((Contour(c.times_s - c.times_s[0], c.freqs_hz), note))
    return out
