"""Synthetic signal factories for the audio tests (small, seeded, float32 ``[C, T]``)."""

from __future__ import annotations

import numpy as np
import pytest


def make_tone(
    freq_hz: float,
    *,
    sample_rate: int,
    duration_s: float,
    amplitude: float = 0.5,
    n_channels: int = 1,
) -> np.ndarray:
    """Sine tone ``[C, T]``; channel ``c`` is shifted in phase by ``c`` radians."""
    t = np.arange(round(duration_s * sample_rate)) / sample_rate
    phases = np.arange(n_channels)[:, None]
    return (amplitude * np.sin(2 * np.pi * freq_hz * t + phases)).astype(np.float32)


def make_noise(
    *, sample_rate: int, duration_s: float, n_channels: int = 1, std: float = 0.1, seed: int = 0
) -> np.ndarray:
    """White Gaussian noise ``[C, T]``."""
    rng = np.random.default_rng(seed)
    n_frames = round(duration_s * sample_rate)
    return (std * rng.standard_normal((n_channels, n_frames))).astype(np.float32)


@pytest.fixture
def ramp_signal() -> np.ndarray:
    """4-channel signal with distinct, exactly representable values per channel and frame.

    Values are multiples of 2**-15, so they survive 16-bit and wider PCM round trips exactly.
    """
    frames = np.arange(1001)
    data = np.stack([((frames * 7 + 1000 * c) % 4096 - 2048) for c in range(4)])
    return (data * 2.0**-15).astype(np.float32)
