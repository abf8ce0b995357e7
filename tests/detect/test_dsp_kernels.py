"""The compiled detector loops give bit for bit what the numpy formulations give."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import uniform_filter1d

from dolphin.detect.dsp_kernels import (
    band_pool,
    lagged_window_means,
    prediction_error,
    teager_envelope,
)
from dolphin.detect.features import _window_mean_at


def test_prediction_error_equals_the_numpy_filter() -> None:
    rng = np.random.default_rng(0)
    order, chunk, m = 10, 96, 7
    seg = rng.standard_normal(order + m * chunk).astype(np.float32)
    coef = (0.2 * rng.standard_normal((m, order + 1))).astype(np.float32)
    expected = seg[order:].reshape(m, chunk).copy()
    for k in range(1, order + 1):  # terms in order k = 1..p, each product rounded first
        lagged = seg[order - k : order - k + m * chunk].reshape(m, chunk)
        expected += coef[:, k : k + 1] * lagged
    np.testing.assert_array_equal(prediction_error(seg, coef, order, chunk), expected.ravel())


def test_teager_envelope_equals_the_numpy_sum() -> None:
    rng = np.random.default_rng(1)
    span, n = 5, 1000
    seg = rng.standard_normal(n + span + 1).astype(np.float32)
    psi = np.square(seg[1:-1])
    psi -= seg[:-2] * seg[2:]
    expected = psi[:n].copy()
    for k in range(1, span):
        expected += psi[k : k + n]
    got = teager_envelope(seg, span)
    np.testing.assert_array_equal(got, np.maximum(expected, 0))
    assert got.dtype == np.float32 and (got == 0).any()  # the clipping did something


def test_lagged_window_means_equal_the_moving_means() -> None:
    rng = np.random.default_rng(2)
    n, window = 500, 32
    dev = rng.standard_normal(n)
    centres = np.arange(0, n, 16, dtype=np.int64)
    power = rng.uniform(0.5, 2.0, centres.size)
    lags = np.array([1, 3, 17, 499, 500, 600], np.int64)  # the last two reach past the end
    got = lagged_window_means(dev, lags, window, centres, power)
    for k, lag in enumerate(lags[:4]):
        product = np.zeros(n)
        product[:-lag] = dev[:-lag] * dev[lag:]
        at = np.maximum(centres - lag // 2, 0)
        expected = (_window_mean_at(product, window, at) / power).astype(np.float32)
        np.testing.assert_array_equal(got[k], expected)
        moving = uniform_filter1d(product, window, mode="nearest")[at] / power
        np.testing.assert_allclose(got[k], moving, rtol=1e-5, atol=1e-6)
    assert not got[4:].any()


def test_band_pool_equals_the_numpy_reduction() -> None:
    rng = np.random.default_rng(3)
    spec = (rng.standard_normal((40, 30)) + 1j * rng.standard_normal((40, 30))).astype(np.complex64)
    starts, widths = np.array([0, 3, 4, 10], np.int64), np.array([3, 1, 6, 20], np.int64)
    power = spec.real**2 + spec.imag**2
    for take_max in (True, False):
        expected = np.stack(
            [
                power[:, s : s + w].max(axis=1) if take_max else _left_to_right(power[:, s : s + w])
                for s, w in zip(starts, widths, strict=True)
            ]
        )
        np.testing.assert_array_equal(band_pool(spec, starts, widths, take_max), expected)


def _left_to_right(columns: np.ndarray) -> np.ndarray:
    total = columns[:, 0].copy()
    for k in range(1, columns.shape[1]):
        total += columns[:, k]
    return total
