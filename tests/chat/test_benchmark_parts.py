"""The benchmark's parts in the package: streamed noise-only audio and the template baseline."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.chat.baseline import TemplateMatcher
from dolphin.chat.noise import noise_blocks

from .conftest import SR


def test_noise_blocks_are_one_stream_without_seams():
    sr = 48000
    rng = np.random.default_rng(0)
    pieces = list(noise_blocks(duration_s=5.5, sample_rate=sr, rng=rng, block_s=2.0))
    assert [p.size for p in pieces] == [2 * sr, 2 * sr, int(1.5 * sr)]
    assert all(p.dtype == np.float32 for p in pieces)
    x = np.concatenate(pieces)
    quiet = noise_blocks(duration_s=4.0, sample_rate=sr, rng=rng, shrimp_amplitude=0.0)
    y = np.concatenate(list(quiet))
    # the crossfade keeps the level: RMS over each 50 ms around a seam as elsewhere
    rms = np.sqrt(np.mean(y[: y.size // 2400 * 2400].reshape(-1, 2400) ** 2, axis=1))
    assert np.all(np.abs(20 * np.log10(rms / np.median(rms))) < 3.0)
    assert x.size == int(5.5 * sr)
    with pytest.raises(ValueError, match="crossfade_s"):
        next(noise_blocks(duration_s=1.0, sample_rate=sr, rng=rng, block_s=0.5, crossfade_s=0.5))


def test_template_baseline_finds_a_clean_entry_and_ignores_noise(vocab):
    from dolphin.synth.background import ocean_noise

    rng = np.random.default_rng(0)
    x = ocean_noise(n_samples=3 * SR, sample_rate=SR, rng=rng, rms=0.003)
    w = vocab.render(SR, peak=0.2)["scarf"]
    x[SR : SR + w.size] += w
    found = TemplateMatcher(vocab, SR).detect(x)
    assert [d.label for d in found if d.accepted] == ["scarf"]
    assert found[0].start_s == pytest.approx(1.0, abs=0.05)
    assert TemplateMatcher(vocab, SR).detect(x[: SR // 2]) == []
    with pytest.raises(ValueError, match="one channel"):
        TemplateMatcher(vocab, SR).detect(np.zeros((2, 100)))
