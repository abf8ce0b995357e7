"""Band power, the measure behind every SNR label of :mod:`dolphin.synth.scene`.

``snr_db = 10 log10(P_event / P_noise)``, both mean powers inside the event's band over its time
span: the span, with 10 ms raised-cosine tapered margins on each side, is band-passed by an FFT
brick wall and the power averaged over the span. For pulsed events (click trains, burst pulses,
buzzes) the event power is averaged only over windows of :data:`PULSE_WINDOW_S` centred on the
pulses, so the SNR describes each pulse rather than the sparse train.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft, rfftfreq

#: Window around each pulse over which a pulsed event's power is measured, in seconds.
PULSE_WINDOW_S = 0.4e-3
#: Tapered margin on each side of a measured span, in seconds.
MEASURE_MARGIN_S = 0.01


def band_passed(
    x: np.ndarray, *, sample_rate: int, i0: int, i1: int, low_hz: float, high_hz: float
) -> np.ndarray:
    """Band-pass one span of a signal.

    Parameters
    ----------
    x : np.ndarray, shape [T]
        Signal; samples outside it count as zeros.
    sample_rate : int
        Hz.
    i0, i1 : int
        Span ``[i0, i1)`` in samples.
    low_hz, high_hz : float
        Pass band in Hz.

    Returns
    -------
    np.ndarray, shape [i1 - i0], float64
        The span after an FFT brick-wall band-pass of the span plus :data:`MEASURE_MARGIN_S` on
        each side, the margins raised-cosine tapered so the span's edges do not leak.
    """
    m = max(int(round(MEASURE_MARGIN_S * sample_rate)), 1)
    a, b = i0 - m, i1 + m
    seg = np.zeros(b - a)
    lo, hi = max(a, 0), min(b, x.shape[-1])
    if hi > lo:
        seg[lo - a : hi - a] = x[lo:hi]
    ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(m) + 0.5) / m)
    seg[:m] *= ramp
    seg[-m:] *= ramp[::-1]
    n = next_fast_len(seg.size, real=True)
    spec = rfft(seg, n)
    f = rfftfreq(n, 1.0 / sample_rate)
    spec[(f < low_hz) | (f > high_hz)] = 0.0
    return irfft(spec, n)[m : m + i1 - i0]


def window_mask(n: int, centres: np.ndarray, half: int) -> np.ndarray:
    """Boolean mask, shape [n], true within ``half`` samples of any of ``centres``."""
    mask = np.zeros(n, bool)
    for c in centres:
        mask[max(c - half, 0) : max(c + half + 1, 0)] = True
    return mask


def band_power(
    x: np.ndarray,
    *,
    sample_rate: int,
    start_s: float,
    end_s: float,
    low_hz: float,
    high_hz: float,
    pulse_times_s: np.ndarray | None = None,
) -> float:
    """Mean power of a signal inside a band and time span (the SNR measure).

    Parameters
    ----------
    x : np.ndarray, shape [T]
        One channel; sample 0 is time 0.
    sample_rate : int
        Hz.
    start_s, end_s : float
        Time span in seconds.
    low_hz, high_hz : float
        Band in Hz.
    pulse_times_s : np.ndarray, shape [K], optional
        When given, the power is averaged over :data:`PULSE_WINDOW_S` windows centred on these
        times only (pulsed events) instead of the whole span.

    Returns
    -------
    float
        Mean squared amplitude of the band-passed span (full-scale units squared).
    """
    i0, i1 = int(round(start_s * sample_rate)), int(round(end_s * sample_rate))
    y = band_passed(
        np.asarray(x, np.float64),
        sample_rate=sample_rate,
        i0=i0,
        i1=max(i1, i0 + 1),
        low_hz=low_hz,
        high_hz=high_hz,
    )
    if pulse_times_s is None:
        return float(np.mean(y**2))
    centres = np.round(np.asarray(pulse_times_s) * sample_rate).astype(int) - i0
    mask = window_mask(y.size, centres, int(round(PULSE_WINDOW_S * sample_rate / 2)))
    return float(np.mean(y[mask] ** 2)) if mask.any() else 0.0
