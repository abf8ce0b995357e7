"""Shared test fixtures: a headless matplotlib, tiny configs and synthetic signal factories."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator so every test is deterministic."""
    return np.random.default_rng(1234)


def generate_tone(
    freq_hz: float, *, sample_rate: int = 96000, duration_s: float = 0.5, amplitude: float = 0.5
) -> np.ndarray:
    """A sine tone, float32 ``[T]``."""
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def generate_whistle(
    *,
    sample_rate: int = 96000,
    duration_s: float = 0.6,
    f0_hz: float = 8000.0,
    f1_hz: float = 16000.0,
    amplitude: float = 0.5,
) -> np.ndarray:
    """A linear up-sweep standing in for a whistle, float32 ``[T]``."""
    t = np.arange(int(round(duration_s * sample_rate))) / sample_rate
    freq = f0_hz + (f1_hz - f0_hz) * t / duration_s
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    return (amplitude * np.sin(phase)).astype(np.float32)
