"""Factories for the detector tests: short synthetic signals with known truth (96 kHz)."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.annotations import Contour
from dolphin.synth.background import ocean_noise
from dolphin.synth.sounds import render_whistle

SR = 96000


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator so every test is deterministic."""
    return np.random.default_rng(7)


def background(duration_s: float, rng: np.random.Generator, *, rms: float = 0.01) -> np.ndarray:
    """Coloured ocean noise (Wenz-like slope), float64 ``[T]``."""
    n = int(round(duration_s * SR))
    return ocean_noise(n_samples=n, sample_rate=SR, rng=rng, rms=rms).astype(np.float64)


def add_at(x: np.ndarray, sound: np.ndarray, start_s: float, gain: float = 1.0) -> None:
    """Add ``gain * sound`` into ``x`` from ``start_s`` on (in place)."""
    i = int(round(start_s * SR))
    x[i : i + sound.size] += gain * sound[: x.size - i]


def whistle_contour(
    shape: str = "convex", *, duration_s: float = 0.6, f0_hz: float = 8000.0, f1_hz: float = 16000.0
) -> Contour:
    """A whistle contour from time 0: ``up`` / ``down`` sweeps or a ``convex`` arch, 1 ms steps."""
    t = np.arange(0.0, duration_s + 1e-9, 0.001)
    u = t / duration_s
    if shape == "up":
        f = f0_hz + (f1_hz - f0_hz) * u
    elif shape == "down":
        f = f1_hz - (f1_hz - f0_hz) * u
    else:
        f = f0_hz + (f1_hz - f0_hz) * np.sin(np.pi * u)
    return Contour(t, f)


def whistle(contour: Contour, *, harmonics=(1.0, 0.3, 0.1), amplitude: float = 0.05) -> np.ndarray:
    """The rendered whistle (no echo), float64 ``[T]``."""
    return amplitude * render_whistle(contour, sample_rate=SR, harmonics=harmonics).astype(float)
