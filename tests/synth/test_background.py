"""Background sounds: ocean noise level and slope, shrimp snaps, vessel noise, echoes."""

from __future__ import annotations

import numpy as np
from scipy.signal import welch

from dolphin.synth import background


def test_ocean_noise_level_and_slope():
    x = background.ocean_noise(
        n_samples=96000,
        sample_rate=96000,
        rng=np.random.default_rng(3),
        rms=0.01,
        spectral_slope=1.7,
    )
    assert x.dtype == np.float32 and abs(np.std(x) / 0.01 - 1) < 0.05
    f, p = welch(x, fs=96000, nperseg=4096)
    ratio_db = 10 * np.log10(p[np.argmin(np.abs(f - 8000))] / p[np.argmin(np.abs(f - 2000))])
    assert abs(ratio_db - 10 * np.log10(4**-1.7)) < 2.0


def test_shrimp_and_vessel():
    rng = np.random.default_rng(4)
    shrimp = background.snapping_shrimp(n_samples=96000, sample_rate=96000, rng=rng, rate_hz=50)
    loud = np.flatnonzero(np.abs(shrimp) > 0.2)
    n_snaps = 1 + np.sum(np.diff(loud) > 96)  # clusters more than 1 ms apart
    assert shrimp.size == 96000 and 30 < n_snaps < 75  # Poisson(50), a few below 0.2 or merged
    vessel = background.vessel_noise(n_samples=96000, sample_rate=96000, rng=rng, passby=False)
    f, p = welch(vessel, fs=96000, nperseg=8192)
    assert abs(np.std(vessel) - 1.0) < 0.1
    assert np.sum(p[f < 2000]) > 0.9 * np.sum(p)


def test_echoes_add_delayed_copies():
    x = np.zeros(100, np.float32)
    x[0] = 1.0
    y = background.add_echoes(x, sample_rate=1000, delays_s=[0.01, 0.03], gains=[-0.5, 0.2])
    assert y.size == 130 and y[0] == 1 and y[10] == -0.5 and np.isclose(y[30], 0.2)
