"""Count baselines: uniform data costs log2(N) bits; structure is found; distributions sum to 1."""

from __future__ import annotations

import math

import numpy as np

from dolphin.lm.ngram import CodebookNGrams, KneserNeyModel


def test_uniform_codes_cost_about_log2_n_bits() -> None:
    rng = np.random.default_rng(0)
    n = 8  # few contexts, so the trigram's estimates are not too noisy
    train = [rng.integers(0, n, (2, 4000)) for _ in range(3)]
    test = [rng.integers(0, n, (2, 2000))]
    for order in (1, 2, 3):
        score = CodebookNGrams(2, n, order=order).fit(train).score(test)
        assert score.n_tokens == 4000
        assert abs(score.bits_per_token - math.log2(n)) < 0.1, order


def test_kneser_ney_finds_a_repeating_pattern_the_unigram_cannot() -> None:
    n = 32
    cycle = np.tile(np.arange(n), 60)[None]  # each code predicts the next exactly
    uni = CodebookNGrams(1, n, order=1).fit([cycle]).score([cycle[:, :500]])
    tri = CodebookNGrams(1, n, order=3).fit([cycle]).score([cycle[:, :500]])
    assert abs(uni.bits_per_token - math.log2(n)) < 0.05
    assert tri.bits_per_token < 0.5


def test_kneser_ney_distributions_sum_to_one() -> None:
    rng = np.random.default_rng(1)
    model = KneserNeyModel(8, order=3).fit([rng.integers(0, 8, 300), rng.integers(0, 4, 100)])
    for context in [(1, 2), (7, 7), (-1, -1), (0, 5)]:
        total = sum(model.prob(context, w) for w in range(8))
        assert abs(total - 1.0) < 1e-9
