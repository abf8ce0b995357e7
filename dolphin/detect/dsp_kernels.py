"""Compiled sample loops of the click detector and the classifier's features.

Each kernel does the arithmetic of the numpy code it replaced in the same precision and order,
one product rounded before each addition (numba contracts no multiply-add), so results are bit
for bit the same; only the passes over memory go.

* :func:`prediction_error`: the chunked linear-prediction residual of the click detector's
  whitening (step 2 of :mod:`.clicks`), ``r[n] = y[n] + sum_k a_k y[n - k]`` with terms added
  for ``k = 1 .. p`` in float32; ~6x faster, the loop over a chunk's samples in SIMD lanes.
* :func:`teager_envelope`: the click detector's smoothed Teager-Kaiser energy (step 3), float32,
  the terms of each sum added left to right.
* :func:`band_pool`: band powers of STFT frames (:mod:`.features`), largest or summed power of
  each band's bins, bins taken left to right, without the power array.
* :func:`lagged_window_means`: the interval rows of :mod:`.features`, moving means of lagged
  envelope products read at the columns from one running float64 sum per lag (numpy's
  ``cumsum`` order), without the product and sum arrays.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def prediction_error(seg: np.ndarray, coef: np.ndarray, order: int, chunk: int) -> np.ndarray:
    """Prediction-error residual of chunked filters.

    Parameters
    ----------
    seg : np.ndarray, shape [order + M * chunk], float32
        ``order`` samples of history, then ``M`` chunks of ``chunk`` samples.
    coef : np.ndarray, shape [M, order + 1], float32
        Filter of each chunk, ``coef[:, 0] == 1`` (not read).
    order, chunk : int
        ``p`` and ``c``.

    Returns
    -------
    np.ndarray, shape [M * chunk], float32
        Residual of every chunk sample.
    """
    m = coef.shape[0]
    out = np.empty(m * chunk, np.float32)
    for j in range(m):
        # Slices rather than offset indices: numba then drops the negative-index wraparound
        # and vectorises the inner loops.
        res = out[j * chunk : (j + 1) * chunk]
        now = seg[order + j * chunk : order + (j + 1) * chunk]
        for i in range(chunk):
            res[i] = now[i]
        for k in range(1, order + 1):
            w = coef[j, k]
            lagged = seg[order + j * chunk - k : order + (j + 1) * chunk - k]
            for i in range(chunk):
                res[i] += w * lagged[i]
    return out


@numba.njit(cache=True, nogil=True)
def lagged_window_means(
    dev: np.ndarray, lags: np.ndarray, window: int, centres: np.ndarray, power: np.ndarray
) -> np.ndarray:
    """Normalised autocovariance rows of an envelope deviation.

    Row ``k``, column ``j``: the mean of ``a[i] = dev[i] * dev[i + lag_k]`` (0 past the end)
    over ``window`` values around ``max(centres[j] - lag_k // 2, 0)``, the ends of ``a``
    repeated beyond it (``uniform_filter1d(a, window, mode="nearest")`` there, computed from
    a running sum), divided by ``power[j]``.

    Parameters
    ----------
    dev : np.ndarray, shape [N], float64
    lags : np.ndarray, shape [K], int64
        Lags in envelope values, >= 1; rows from the first lag >= N on stay 0.
    window : int
        Moving-mean length, values.
    centres : np.ndarray, shape [J], int64
        Column positions in ``dev``.
    power : np.ndarray, shape [J], float64
        Divisor of each column.

    Returns
    -------
    np.ndarray, shape [K, J], float32
    """
    n = dev.size
    before = window // 2
    out = np.zeros((lags.size, centres.size), np.float32)
    total = np.empty(n + window)  # running sum over [0, edge a[0] x before, a, edge a[-1] ...]
    for k in range(lags.size):
        lag = lags[k]
        if lag >= n:
            break
        first = dev[0] * dev[lag]
        s = 0.0
        total[0] = s
        for i in range(1, 1 + before):
            s += first
            total[i] = s
        for i in range(n - lag):
            s += dev[i] * dev[i + lag]
            total[1 + before + i] = s
        for i in range(1 + before + n - lag, n + window):
            s += 0.0  # the zeros after the last product, then the last (zero) value repeated
            total[i] = s
        half = lag // 2
        for j in range(centres.size):
            at = max(centres[j] - half, 0)
            out[k, j] = (total[at + window] - total[at]) / window / power[j]
    return out


@numba.njit(cache=True, nogil=True)
def teager_envelope(seg: np.ndarray, span: int) -> np.ndarray:
    """Teager-Kaiser energy summed over ``span`` values, clipped at 0.

    Parameters
    ----------
    seg : np.ndarray, shape [n + span + 1], float32
        Residual with one sample of context before and ``span`` after the ``n`` outputs.
    span : int
        Energy values summed per output (``2 * half + 1``).

    Returns
    -------
    np.ndarray, shape [n], float32
        ``max(sum_{k < span} psi[i + k], 0)`` with ``psi[j] = seg[j + 1]^2 - seg[j] seg[j + 2]``.
    """
    n = seg.size - span - 1
    psi = np.empty(n + span - 1, np.float32)
    for j in range(psi.size):
        psi[j] = seg[j + 1] * seg[j + 1] - seg[j] * seg[j + 2]
    env = np.empty(n, np.float32)
    for i in range(n):
        env[i] = psi[i]
    for k in range(1, span):
        lagged = psi[k : k + n]
        for i in range(n):
            env[i] += lagged[i]
    for i in range(n):
        env[i] = max(env[i], np.float32(0.0))
    return env


@numba.njit(cache=True, nogil=True)
def band_pool(
    spec: np.ndarray, starts: np.ndarray, widths: np.ndarray, take_max: bool
) -> np.ndarray:
    """Largest or summed power ``re^2 + im^2`` of each band's bins, band-major.

    Parameters
    ----------
    spec : np.ndarray, shape [M, B], complex64
        Spectra of ``M`` frames (the bins the bands cover).
    starts, widths : np.ndarray, shape [K], int64
        First bin (index into ``spec``'s columns) and number of bins of each band, >= 1.
    take_max : bool
        Largest power (else the sum, bins added left to right).

    Returns
    -------
    np.ndarray, shape [K, M], float32
    """
    m_frames, n_bands = spec.shape[0], starts.size
    out = np.empty((n_bands, m_frames), np.float32)
    for m in range(m_frames):
        row = spec[m]
        for k in range(n_bands):
            b = row[starts[k]]
            acc = b.real * b.real + b.imag * b.imag
            for j in range(1, widths[k]):
                b = row[starts[k] + j]
                power = b.real * b.real + b.imag * b.imag
                if take_max:
                    acc = max(acc, power)
                else:
                    acc += power
            out[k, m] = acc
    return out
