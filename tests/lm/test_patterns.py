"""Codebook patterns: exact round trips, step counts, padding of missing codes."""

from __future__ import annotations

import pytest
import torch

from dolphin.errors import ConfigError
from dolphin.lm.patterns import PATTERNS, get_pattern

from .conftest import make_codes


@pytest.mark.parametrize("name", sorted(PATTERNS))
@pytest.mark.parametrize("k", [1, 4])
@pytest.mark.parametrize("frames", [0, 1, 9])
def test_build_then_revert_gives_the_codes_back(name: str, k: int, frames: int) -> None:
    pattern = get_pattern(name, k)
    codes = make_codes(batch=3, frames=frames, k=k, n=50, seed=frames)
    seq = pattern.build(codes, pad_id=50)
    assert seq.tokens.shape == (3, k, pattern.n_steps(frames))
    assert int(seq.valid.sum()) == codes.numel()  # every code placed once, nothing else valid
    assert torch.equal(pattern.revert(seq.tokens, frames), codes)
    assert torch.equal(pattern.revert(seq.tokens), codes)  # T inferred from S


def test_delay_pattern_shifts_codebook_k_by_k_steps() -> None:
    pattern = get_pattern("delay", 3)
    codes = torch.arange(12).view(1, 3, 4)
    seq = pattern.build(codes, pad_id=99)
    assert seq.tokens.shape[-1] == 4 + 3 - 1
    assert seq.tokens[0, 0].tolist() == [0, 1, 2, 3, 99, 99]
    assert seq.tokens[0, 2].tolist() == [99, 99, 8, 9, 10, 11]
    assert pattern.lag_frames == 2
    assert pattern.frame_at(3, 2) == 1 and pattern.frame_at(1, 2) is None


def test_flatten_pattern_puts_one_code_per_step() -> None:
    pattern = get_pattern("flatten", 3)
    seq = pattern.build(make_codes(frames=5, k=3), pad_id=16)
    assert seq.tokens.shape[-1] == 15
    assert seq.valid.sum(dim=1).eq(1).all()
    assert pattern.lag_frames == 0 and pattern.steps_ready(2) == 6


def test_missing_codes_become_padding_and_are_not_valid() -> None:
    pattern = get_pattern("delay", 2)
    codes = make_codes(frames=6, k=2)
    codes[0, 1, 2] = -1
    seq = pattern.build(codes, pad_id=16)
    assert int(seq.valid.sum()) == codes.numel() - 1
    assert seq.tokens[0, 1, 3] == 16 and not seq.valid[0, 1, 3]


def test_unknown_pattern_and_bad_shapes_are_refused() -> None:
    with pytest.raises(ConfigError, match="lm.pattern"):
        get_pattern("zigzag", 4)
    with pytest.raises(ValueError, match="K=4"):
        get_pattern("delay", 4).build(make_codes(k=3), pad_id=16)
