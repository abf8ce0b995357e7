"""Factories for the synth tests: small scene configs and measurement helpers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import stft

from dolphin.annotations import Contour
from dolphin.synth.scene import SceneConfig, make_scene


def small_config(**overrides) -> SceneConfig:
    """A few seconds at 96 kHz with stationary noise only (no shrimp, no vessel)."""
    base = dict(
        sample_rate=96000,
        duration_s=4.0,
        shrimp_rate_hz=0.0,
        vessel_prob=0.0,
        signature_bout_rate_per_min=10.0,
        whistle_rate_per_min=40.0,
        sigwi_whistle_rate_per_min=40.0,
        burst_pulse_rate_per_min=15.0,
        click_train_rate_per_min=15.0,
        buzz_rate_per_min=15.0,
        snr_db_min=3.0,
        snr_db_max=25.0,
        overlap_tonal_pulsed=False,
    )
    base.update(overrides)
    return SceneConfig(**base)


def measure_contour(
    samples: np.ndarray,
    *,
    sample_rate: int,
    contour: Contour,
    t0_s: float,
    low_hz: float,
    high_hz: float,
) -> np.ndarray:
    """Relative error per frame of the STFT in-band peak against ``contour``.

    ``samples[0]`` is at time ``t0_s``. Frames whose centre is more than 5 ms from a contour point
    (loop gaps, ends) are skipped.
    """
    nper, hop = 2048, 256
    f, t, z = stft(
        samples,
        fs=sample_rate,
        nperseg=nper,
        noverlap=nper - hop,
        nfft=8 * nper,
        boundary=None,
        padded=False,
    )
    t = t + t0_s
    inside = (t >= contour.times_s[0] + 0.01) & (t <= contour.times_s[-1] - 0.01)
    near = np.min(np.abs(t[:, None] - contour.times_s[None, :]), axis=1) < 0.005
    band = (f >= low_hz) & (f <= high_hz)
    errors = []
    for k in np.flatnonzero(inside & near):
        peak = f[band][np.argmax(np.abs(z[band, k]))]
        truth = np.interp(t[k], contour.times_s, contour.freqs_hz)
        errors.append(abs(peak - truth) / truth)
    return np.asarray(errors)


def whistle_config(**overrides) -> SceneConfig:
    """10 s at 96 kHz crowded with whistles (signature bouts, shared types, SIGWI) only."""
    base = dict(
        duration_s=10.0,
        whistle_rate_per_min=60.0,
        sigwi_whistle_rate_per_min=60.0,
        burst_pulse_rate_per_min=0.0,
        click_train_rate_per_min=0.0,
        buzz_rate_per_min=0.0,
    )
    base.update(overrides)
    return small_config(**base)


def pulse_config(**overrides) -> SceneConfig:
    """8 s at 96 kHz with click trains, burst pulses and buzzes only."""
    base = dict(
        duration_s=8.0,
        signature_bout_rate_per_min=0.0,
        whistle_rate_per_min=0.0,
        sigwi_whistle_rate_per_min=0.0,
        burst_pulse_rate_per_min=15.0,
        click_train_rate_per_min=8.0,
        buzz_rate_per_min=15.0,
    )
    base.update(overrides)
    return small_config(**base)


@pytest.fixture(scope="session")
def whistle_scene():
    """The :func:`whistle_config` scene."""
    return make_scene(whistle_config())


@pytest.fixture(scope="session")
def pulse_scene():
    """The :func:`pulse_config` scene."""
    return make_scene(pulse_config())
