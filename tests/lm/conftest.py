"""Fixtures for the LM tests: a seeded tiny LM over 4 x 16 codes and random code factories."""

from __future__ import annotations

import pytest
import torch

from dolphin.lm import SoundLM, lm_preset

K, N = 4, 16  # codebooks and codes per codebook of the test token stream


def make_codes(*, batch: int = 1, frames: int = 12, seed: int = 0, k: int = K, n: int = N):
    """Uniform random codes ``[B, K, T]`` int64."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, (batch, k, frames), generator=gen)


def tiny_lm(*, pattern: str = "delay", seed: int = 0, **overrides) -> SoundLM:
    """A seeded tiny LM (eval mode) bound to a K x N token stream."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        cfg = lm_preset("tiny", n_codebooks=K, codebook_size=N, pattern=pattern, **overrides)
        return SoundLM(cfg).eval()


@pytest.fixture(scope="module")
def lm() -> SoundLM:
    """One tiny delay-pattern LM shared by a module's tests (do not train it in place)."""
    return tiny_lm()
