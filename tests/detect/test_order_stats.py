"""The fast row medians and percentiles equal numpy's bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.detect.order_stats import row_median, row_percentiles


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equal_to_numpy_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 500))
        x = rng.standard_cauchy((int(rng.integers(1, 20)), n)) * 10.0 ** rng.uniform(-6, 6)
        x = np.round(x).astype(dtype) if trial % 5 == 0 else x.astype(dtype)  # ties too
        q = (20.0, 50.0) if trial % 2 else tuple(rng.uniform(0, 100, 3).tolist()) + (0.0, 100.0)
        expected = np.percentile(x, q, axis=1)
        got = row_percentiles(x, q)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)
        median = np.median(x, axis=1)
        assert row_median(x).dtype == median.dtype and np.array_equal(row_median(x), median)


def test_presorted_rows_skip_the_sort():
    x = np.random.default_rng(1).standard_normal((7, 99)).astype(np.float32)
    rows = np.sort(x, axis=1).astype(np.float64)
    expected = np.percentile(x.astype(np.float64), (20.0, 50.0), axis=1)
    assert np.array_equal(row_percentiles(rows, (20.0, 50.0), presorted=True), expected)
