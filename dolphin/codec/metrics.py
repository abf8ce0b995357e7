"""Reconstruction quality of decoded audio (SI-SNR, multi-resolution spectral distance) and
codebook usage of codes.

Shared by ``benchmarks/codec.py``, ``dolphin demo`` and the notebooks so that all report the same
numbers.
"""

from __future__ import annotations

import math

import numpy as np

#: STFT windows of :func:`spectral_distance_db`, seconds (2.5 to 40 ms: clicks to whistles).
WINDOWS_S = (0.0025, 0.005, 0.01, 0.02, 0.04)
#: Magnitude floor: -100 dB re a full-scale sinusoid (window-normalised STFT).
FLOOR = 0.5e-5


def si_snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SNR of ``estimate`` against ``reference``.

    Parameters
    ----------
    reference, estimate : np.ndarray, shape [T]
        Signals; the longer one is cut to the shorter.

    Returns
    -------
    float
        dB; large for near-identical signals, about -inf for unrelated ones.
    """
    n = min(reference.size, estimate.size)
    ref = reference[:n].astype(np.float64)
    est = estimate[:n].astype(np.float64)
    ref, est = ref - ref.mean(), est - est.mean()
    target = (est @ ref) / max(ref @ ref, 1e-20) * ref
    noise = est - target
    return float(10 * np.log10(max(target @ target, 1e-20) / max(noise @ noise, 1e-20)))


def _log_stft(x: np.ndarray, n_fft: int, keep: np.ndarray) -> np.ndarray:
    window = np.hanning(n_fft + 1)[:-1]
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[:: n_fft // 4]
    mag = np.abs(np.fft.rfft(frames * window, axis=-1))[:, keep] / window.sum()
    return 20 * np.log10(np.maximum(mag, FLOOR))


def spectral_distance_db(
    reference: np.ndarray,
    estimate: np.ndarray,
    *,
    sample_rate: int,
    windows_s: tuple[float, ...] = WINDOWS_S,
    fmax_hz: float | None = None,
) -> float:
    """Mean absolute log-magnitude difference over several STFT resolutions.

    Parameters
    ----------
    reference, estimate : np.ndarray, shape [T]
        Signals at ``sample_rate``; the longer one is cut to the shorter.
    sample_rate : int
        Hz.
    windows_s : tuple of float
        STFT windows in seconds (rounded to powers of two samples; Hann, 75 % overlap); those
        longer than the signal are skipped.
    fmax_hz : float, optional
        Highest frequency compared, Hz (default: Nyquist), e.g. to compare with a codec that
        ran at a lower rate.

    Returns
    -------
    float
        dB (mean over resolutions, frames and bins), NaN if the signal is shorter than every
        window.
    """
    n = min(reference.size, estimate.size)
    ref = reference[:n].astype(np.float64)
    est = estimate[:n].astype(np.float64)
    out = []
    for window_s in windows_s:
        n_fft = max(16, 2 ** round(math.log2(window_s * sample_rate)))
        if n < n_fft:
            continue
        freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
        keep = freqs <= (fmax_hz if fmax_hz is not None else sample_rate / 2)
        out.append(np.mean(np.abs(_log_stft(ref, n_fft, keep) - _log_stft(est, n_fft, keep))))
    return float(np.mean(out)) if out else float("nan")


def codebook_usage(codes: np.ndarray, codebook_size: int) -> tuple[np.ndarray, np.ndarray]:
    """How evenly codes use each codebook.

    Parameters
    ----------
    codes : np.ndarray or torch.Tensor, shape [K, T]
        Integer codes in ``[0, codebook_size)`` (``-1`` = missing, ignored).
    codebook_size : int
        Codes per codebook, ``N``.

    Returns
    -------
    counts : np.ndarray, shape [K, N], int64
        How often each code occurs.
    perplexity : np.ndarray, shape [K], float64
        ``2 ** entropy`` of each codebook's code distribution, in codes: ``N`` when every code
        is equally frequent, 1 when one code is always chosen (0 for a codebook with no codes).
    """
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must be [K, T], got shape {codes.shape}")
    counts = np.zeros((codes.shape[0], codebook_size), np.int64)
    for k, row in enumerate(codes):
        row = row[row >= 0]
        if row.size and row.max() >= codebook_size:
            raise ValueError(f"codebook {k} holds code {row.max()} >= {codebook_size}")
        counts[k] = np.bincount(row, minlength=codebook_size)
    perplexity = np.zeros(codes.shape[0])
    for k, c in enumerate(counts):
        if c.sum():
            p = c[c > 0] / c.sum()
            perplexity[k] = float(2.0 ** -(p * np.log2(p)).sum())
    return counts, perplexity
