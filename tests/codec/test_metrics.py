"""Reconstruction metrics shared by the codec benchmark and the demo."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.codec.metrics import si_snr_db, spectral_distance_db


def test_metrics_separate_good_from_bad_reconstructions() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(9600) / 48000
    x = 0.1 * np.sin(2 * np.pi * 9000 * t) + 0.003 * rng.standard_normal(t.size)
    close = 0.5 * x + 1e-4 * rng.standard_normal(t.size)  # scaled copy, tiny error
    other = 0.1 * np.sin(2 * np.pi * 15000 * t)
    assert si_snr_db(x, close) > 30 and si_snr_db(x, other) < -20
    assert spectral_distance_db(x, x, sample_rate=48000) == 0.0
    near = spectral_distance_db(x, x + 1e-4 * rng.standard_normal(t.size), sample_rate=48000)
    assert 0.0 < near < spectral_distance_db(x, other, sample_rate=48000)
    assert np.isnan(spectral_distance_db(x[:8], x[:8], sample_rate=48000))


def test_codebook_usage_counts_codes_and_measures_evenness() -> None:
    from dolphin.codec.metrics import codebook_usage

    codes = np.array([[0, 1, 2, 3, 0, 1, 2, 3], [5, 5, 5, 5, 5, 5, -1, -1]])
    counts, perplexity = codebook_usage(codes, 8)
    assert counts.shape == (2, 8) and counts[0, :4].tolist() == [2, 2, 2, 2] and counts[1, 5] == 6
    assert perplexity[0] == pytest.approx(4.0) and perplexity[1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="holds code 9"):
        codebook_usage(np.array([[9]]), 8)
