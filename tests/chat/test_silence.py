"""Digital silence: whistles right after a stretch of exact zeros are still recognised."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.chat.matcher import MatcherConfig, MimicMatcher
from dolphin.chat.silence import SilenceGate
from dolphin.synth.background import ocean_noise

from .conftest import SR, run


def after_zeros(vocab, *, zeros_s: float, delay_s: float, seed: int = 0) -> tuple:
    """3 s of noise, ``zeros_s`` of exact zeros, noise with "bow" ``delay_s`` in; its start."""
    rng = np.random.default_rng(seed)
    whistle = vocab.render(SR, peak=0.1)["bow"]
    pre = ocean_noise(n_samples=3 * SR, sample_rate=SR, rng=rng, rms=0.01)
    post = ocean_noise(n_samples=int((delay_s + 2.5) * SR), sample_rate=SR, rng=rng, rms=0.01)
    i = int(delay_s * SR)
    post[i : i + whistle.size] += whistle
    x = np.concatenate([pre, np.zeros(int(zeros_s * SR), np.float32), post])
    return x, 3.0 + zeros_s + delay_s, whistle.size / SR


@pytest.mark.parametrize("delay_s", [0.0, 0.5])
def test_whistle_just_after_digital_silence_is_recognised(vocab, delay_s):
    # 3 s of zeros fill the tracker's 2.5 s noise memory with -200 dB: without the silence gate
    # the noise level collapses and the whistle is missed (it was, up to ~1.25 s after the zeros)
    x, start_s, dur_s = after_zeros(vocab, zeros_s=3.0, delay_s=delay_s)
    found = run(MimicMatcher(vocab, sample_rate=SR), x, int(0.02 * SR))
    accepted = [d for d in found if d.accepted]
    assert [d.label for d in accepted] == ["bow"]
    # times are stream times: the zeros cut before the detectors are put back
    assert accepted[0].start_s == pytest.approx(start_s, abs=0.03)
    assert accepted[0].end_s == pytest.approx(start_s + dur_s, abs=0.03)


def test_without_the_gate_the_whistle_is_missed(vocab):
    """The failure the gate fixes (a detect-stage noise memory that takes in zeros)."""
    x, _, _ = after_zeros(vocab, zeros_s=3.0, delay_s=0.0)
    off = MimicMatcher(vocab, MatcherConfig(max_zeros_s=float("inf")), sample_rate=SR)
    assert not [d for d in run(off, x, int(0.02 * SR)) if d.accepted]


def test_gate_cuts_long_runs_only_and_is_block_size_invariant():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(10_000).astype(np.float32)
    x[1000:1050] = 0  # a short dropout: passed on
    x[3000:6000] = 0  # a long run: all but 100 zeros cut
    whole = SilenceGate(sample_rate=1000, max_zeros_s=0.1)
    y = whole.process(x)
    assert y.size == x.size - 2900 and whole.cut_samples == 2900
    assert np.array_equal(y[:3100], x[:3100]) and np.array_equal(y[3100:], x[6000:])
    blocks = SilenceGate(sample_rate=1000, max_zeros_s=0.1)
    pieces = [blocks.process(x[i : i + 37]) for i in range(0, x.size, 37)]
    assert np.array_equal(np.concatenate(pieces), y)
    # detector time of the first sample after the cut maps back to its stream time
    assert blocks.to_stream_s(3.1) == pytest.approx(6.0)
    assert blocks.to_stream_s(3.0) == pytest.approx(3.0)
    assert np.allclose(blocks.to_stream_s(np.array([0.5, 4.0])), [0.5, 6.9])


def test_gate_settings_are_checked():
    with pytest.raises(ValueError, match="max_zeros_s"):
        SilenceGate(sample_rate=SR, max_zeros_s=-1.0)
