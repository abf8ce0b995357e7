"""Extra calls laid over codec training scenes: pulsed calls and short, low whistles.

The labelled scene generator (:mod:`dolphin.synth.scene`) makes dolphin whistles of 0.2-1.5 s
at 3-28 kHz and broadband pulsed sounds. Real recordings also hold short whistle fragments,
whistles down to 2 kHz and pulsed calls whose repetition rate (250-2500 Hz) is heard as a
gliding stack of harmonics in 1-12 kHz (orcas, pilot whales, dolphin burst pulses at low rates).
A codec trained without them drops them: on the shipped default codec 0 of 4 synthetic pulsed
calls and 5 of 9 short low whistles tracked on the original were tracked again after the round
trip. These renderings carry no labels; they only widen what the codec learns to reconstruct.
"""

from __future__ import annotations

import numpy as np

from dolphin.annotations import Contour
from dolphin.synth.contours import random_contour
from dolphin.synth.scene import WHISTLE_MARGIN_HZ
from dolphin.synth.snr import band_passed
from dolphin.synth.sounds import render_pulsed_call, render_whistle


def _repetition_contour(rng: np.random.Generator, duration_s: float) -> Contour:
    """A smooth repetition-rate contour between 250 and 2500 Hz (rise/fall ratio 1.05-2)."""
    shape = random_contour(rng=rng, duration_s=duration_s)
    y = np.log(shape.freqs_hz / shape.freqs_hz.min())
    y /= max(float(y.max()), 1e-9)
    ratio = rng.uniform(1.05, 2.0)
    low = np.exp(rng.uniform(np.log(250.0), np.log(2500.0 / ratio)))
    return Contour(shape.times_s, low * ratio**y)


def render_call(
    rng: np.random.Generator, sample_rate: int
) -> tuple[np.ndarray, tuple[float, float]]:
    """One random call: a pulsed call (half of them, a third of those with a whistle-like upper
    component) or a short whistle (0.05-0.4 s, fundamental 2-16 kHz).

    Returns
    -------
    stem : np.ndarray, shape [L], float32
        The call, peak about 1.
    band : tuple of float
        The band (Hz) in which its SNR is set.
    """
    if rng.random() < 0.5:
        duration = float(np.exp(rng.uniform(np.log(0.2), np.log(1.5))))
        centre = float(np.exp(rng.uniform(np.log(1500.0), np.log(10000.0))))
        width = rng.uniform(1.0, 3.0)
        stem = render_pulsed_call(
            _repetition_contour(rng, duration),
            sample_rate=sample_rate,
            centre_hz=centre,
            width_octaves=width,
            rng=rng,
        )
        band = (centre * 2 ** (-width / 2), min(centre * 2 ** (width / 2), 0.45 * sample_rate))
        if rng.random() < 1 / 3:  # biphonic: a whistle-like high-frequency component on top
            upper = random_contour(rng=rng, duration_s=duration, fmin_hz=5000.0, fmax_hz=16000.0)
            tone = render_whistle(upper, sample_rate=sample_rate, rng=rng)[: stem.size]
            stem[: tone.size] += rng.uniform(0.2, 0.7) * tone
        return stem, band
    duration = float(np.exp(rng.uniform(np.log(0.05), np.log(0.4))))
    contour = random_contour(rng=rng, duration_s=duration, fmin_hz=2000.0, fmax_hz=16000.0)
    harmonics = (1.0, rng.uniform(0.0, 0.5), rng.uniform(0.0, 0.2))
    stem = render_whistle(contour, sample_rate=sample_rate, harmonics=harmonics, rng=rng)
    margin = WHISTLE_MARGIN_HZ  # the band a scene's whistle label gets
    band = (float(contour.freqs_hz.min()) - margin, float(contour.freqs_hz.max()) + margin)
    return stem, band


def add_calls(
    x: np.ndarray,
    *,
    sample_rate: int,
    rng: np.random.Generator,
    n_calls: int,
    snr_db: tuple[float, float],
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Lay ``n_calls`` random calls (:func:`render_call`) over ``x`` at random times.

    Parameters
    ----------
    x : np.ndarray, shape [T]
        Scene audio, full scale 1.
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Source of every draw.
    n_calls : int
        Calls to add (a call longer than the scene is cut).
    snr_db : tuple of float
        Range of each call's SNR in dB: its mean power against ``x``'s over the same span, both
        in the call's band (:func:`dolphin.synth.snr.band_passed`).

    Returns
    -------
    y : np.ndarray, shape [T], float32
        ``x`` plus the calls.
    spans : list of tuple of float
        (start, end) of each call, seconds.
    """
    y, spans = x.astype(np.float64), []
    for _ in range(n_calls):
        stem, (low, high) = render_call(rng, sample_rate)
        stem = stem[: y.size]
        start = int(rng.integers(0, y.size - stem.size + 1))
        band = dict(sample_rate=sample_rate, low_hz=low, high_hz=high)
        p_event = float(np.mean(band_passed(stem, i0=0, i1=stem.size, **band) ** 2))
        p_noise = float(np.mean(band_passed(x, i0=start, i1=start + stem.size, **band) ** 2))
        gain = np.sqrt(10 ** (rng.uniform(*snr_db) / 10) * p_noise / max(p_event, 1e-30))
        y[start : start + stem.size] += gain * stem
        spans.append((start / sample_rate, (start + stem.size) / sample_rate))
    return y.astype(np.float32), spans
