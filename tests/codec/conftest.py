"""Fixtures for the codec tests: a seeded tiny codec and synthetic signals at 48 kHz."""

from __future__ import annotations

import math
import random

import pytest
import torch

from dolphin.codec import Codec, build_debug_codec

SAMPLE_RATE = 48000


def make_chirp(
    *,
    sample_rate: int = SAMPLE_RATE,
    duration_s: float = 0.3,
    f0_hz: float = 6000.0,
    f1_hz: float = 14000.0,
    amplitude: float = 0.5,
) -> torch.Tensor:
    """A linear up-sweep standing in for a whistle, ``[1, 1, T]`` float32."""
    n = int(round(duration_s * sample_rate))
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    phase = 2 * math.pi * (f0_hz * t + 0.5 * (f1_hz - f0_hz) / duration_s * t * t)
    return (amplitude * torch.sin(phase)).float()[None, None]


def make_noise(*, n_samples: int, batch: int = 1, std: float = 0.1, seed: int = 0) -> torch.Tensor:
    """White noise ``[B, 1, T]`` float32."""
    gen = torch.Generator().manual_seed(seed)
    return std * torch.randn(batch, 1, n_samples, generator=gen)


@pytest.fixture(autouse=True)
def _seed() -> None:
    """Every test starts from the same random state (k-means, restarts, quantizer dropout)."""
    torch.manual_seed(0)
    random.seed(0)


@pytest.fixture
def codec() -> Codec:
    """A fresh tiny 48 kHz codec (seeded weights), codebooks initialised on a noise batch."""
    model = build_debug_codec()
    with torch.random.fork_rng():
        torch.manual_seed(1)
        model.train()
        model(make_noise(n_samples=9600, batch=2) + make_chirp(duration_s=0.2))
    return model.eval()


@pytest.fixture
def chirp() -> torch.Tensor:
    """0.3 s whistle-like sweep 6 -> 14 kHz at 48 kHz, ``[1, 1, 14400]``."""
    return make_chirp()
