"""Pure signal processing on sample arrays: resampling, filters, spectrograms, PCEN and SNR.

No file I/O here. Every function works along the last axis, so ``[T]``, ``[C, T]`` and
``[B, C, T]`` arrays all work; float32 in gives float32 out. Inputs holding NaN or infinity and
sample rates that are not positive integers raise ``ValueError``.
"""

from __future__ import annotations

import numbers
from math import gcd

import numpy as np
import scipy.fft
import scipy.signal

# Anti-aliasing filter of `resample`: Kaiser beta 10 gives ~100 dB stop-band rejection;
# _RESAMPLE_HALF_TAPS taps per polyphase branch on each side give a transition band of about
# 10 % of the lower Nyquist frequency, which we place just below it (pass band flat to 0.9 of
# the lower Nyquist, stop band from the Nyquist frequency on, so nothing aliases).
_RESAMPLE_BETA = 10.0
_RESAMPLE_HALF_TAPS = 64
_RESAMPLE_CUTOFF = 0.95  # of the lower Nyquist frequency: the middle of the transition band


def _check_sample_rate(value: object, name: str = "sample_rate") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive int (Hz), got {value!r}")
    return int(value)


def _as_float_array(x: np.ndarray, name: str = "x") -> np.ndarray:
    """``x`` as a float32/float64 array, refusing NaN, infinity and empty input."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    elif x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one sample along the last axis")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def resample(x: np.ndarray, *, orig_sr: int, target_sr: int) -> np.ndarray:
    """Change the sample rate with a long linear-phase anti-aliasing filter.

    Polyphase resampling (:func:`scipy.signal.resample_poly`) by the reduced ratio
    ``target_sr / orig_sr`` with a Kaiser-windowed sinc (beta 10) of ``128 * max(up, down) + 1``
    taps: flat to 0.9 of the lower Nyquist frequency and about 100 dB down from the Nyquist
    frequency on. Works for any pair of integer rates (48, 96, 192, 288, 384 kHz, 44.1 kHz...).

    Parameters
    ----------
    x : np.ndarray, shape [..., T]
        Signal, resampled along the last axis.
    orig_sr, target_sr : int
        Sample rates in Hz.

    Returns
    -------
    np.ndarray, shape [..., ceil(T * target_sr / orig_sr)]
        Resampled signal, same dtype as ``x`` (float32 for non-float input).
    """
    orig_sr = _check_sample_rate(orig_sr, "orig_sr")
    target_sr = _check_sample_rate(target_sr, "target_sr")
    x = _as_float_array(x)
    if orig_sr == target_sr:
        return x.copy()
    common = gcd(orig_sr, target_sr)
    up, down = target_sr // common, orig_sr // common
    factor = max(up, down)
    taps = scipy.signal.firwin(
        2 * _RESAMPLE_HALF_TAPS * factor + 1,
        _RESAMPLE_CUTOFF / factor,
        window=("kaiser", _RESAMPLE_BETA),
    )
    # resample_poly multiplies the taps by `up` itself, keeping the pass-band gain at 1.
    y = scipy.signal.resample_poly(x, up, down, axis=-1, window=taps)
    return y.astype(x.dtype, copy=False)


# --- filters ----------------------------------------------------------------------------------


def design_filter(
    *,
    sample_rate: int,
    low_hz: float | None = None,
    high_hz: float | None = None,
    order: int = 4,
) -> np.ndarray:
    """Butterworth filter as second-order sections.

    ``low_hz`` alone gives a high-pass, ``high_hz`` alone a low-pass, both a band-pass.

    Parameters
    ----------
    sample_rate : int
        Sample rate in Hz.
    low_hz, high_hz : float, optional
        Lower and upper -3 dB edges in Hz, with ``0 < low_hz < high_hz < sample_rate / 2``.
    order : int
        Filter order (a band-pass has twice as many poles).

    Returns
    -------
    np.ndarray, shape [n_sections, 6]
        Second-order sections for :func:`scipy.signal.sosfilt` / ``sosfiltfilt``.
    """
    sample_rate = _check_sample_rate(sample_rate)
    nyquist = sample_rate / 2
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    edges = [edge for edge in (low_hz, high_hz) if edge is not None]
    if not edges:
        raise ValueError("give low_hz (high-pass), high_hz (low-pass) or both (band-pass)")
    for edge in edges:
        if not 0 < edge < nyquist:
            raise ValueError(
                f"cutoff {edge} Hz must lie between 0 and the Nyquist frequency {nyquist:g} Hz"
            )
    if low_hz is not None and high_hz is not None:
        if low_hz >= high_hz:
            raise ValueError(f"low_hz {low_hz} must be below high_hz {high_hz}")
        btype, wn = "bandpass", [low_hz, high_hz]
    else:
        btype, wn = ("highpass", low_hz) if low_hz is not None else ("lowpass", high_hz)
    return scipy.signal.butter(order, wn, btype=btype, fs=sample_rate, output="sos")


def _filtfilt(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    x = _as_float_array(x)
    return scipy.signal.sosfiltfilt(sos, x, axis=-1).astype(x.dtype, copy=False)


def highpass(x: np.ndarray, *, sample_rate: int, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth high-pass (forward-backward, so offline only).

    Parameters
    ----------
    x : np.ndarray, shape [..., T]
        Signal.
    sample_rate : int
        Sample rate in Hz.
    cutoff_hz : float
        -3 dB edge of each pass in Hz (forward-backward makes it -6 dB overall).
    order : int
        Butterworth order of each pass.

    Returns
    -------
    np.ndarray, shape [..., T]
        Filtered signal, same dtype.
    """
    return _filtfilt(x, design_filter(sample_rate=sample_rate, low_hz=cutoff_hz, order=order))


def lowpass(x: np.ndarray, *, sample_rate: int, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass; parameters as :func:`highpass`."""
    return _filtfilt(x, design_filter(sample_rate=sample_rate, high_hz=cutoff_hz, order=order))


def bandpass(
    x: np.ndarray, *, sample_rate: int, low_hz: float, high_hz: float, order: int = 4
) -> np.ndarray:
    """Zero-phase Butterworth band-pass (forward-backward, so offline only).

    Parameters
    ----------
    x : np.ndarray, shape [..., T]
        Signal.
    sample_rate : int
        Sample rate in Hz.
    low_hz, high_hz : float
        Band edges in Hz, ``0 < low_hz < high_hz < sample_rate / 2``.
    order : int
        Butterworth order of each pass.

    Returns
    -------
    np.ndarray, shape [..., T]
        Filtered signal, same dtype.
    """
    sos = design_filter(sample_rate=sample_rate, low_hz=low_hz, high_hz=high_hz, order=order)
    return _filtfilt(x, sos)


class StreamingFilter:
    """Causal IIR filter that keeps its state between blocks, one state per channel.

    Feeding a signal block by block, in blocks of any size, gives the same output as
    ``scipy.signal.sosfilt(sos, x)`` on the whole signal (the state starts at rest, zeros).

    Parameters
    ----------
    sos : np.ndarray, shape [n_sections, 6]
        Second-order sections, e.g. from :func:`design_filter`.
    n_channels : int
        Number of channels ``C`` of the blocks.
    """

    def __init__(self, sos: np.ndarray, *, n_channels: int) -> None:
        self.sos = np.asarray(sos, dtype=np.float64)
        if self.sos.ndim != 2 or self.sos.shape[1] != 6:
            raise ValueError(f"sos must have shape [n_sections, 6], got {self.sos.shape}")
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        self.n_channels = int(n_channels)
        self.reset()

    @classmethod
    def design(
        cls,
        *,
        sample_rate: int,
        n_channels: int,
        low_hz: float | None = None,
        high_hz: float | None = None,
        order: int = 4,
    ) -> StreamingFilter:
        """Butterworth streaming filter; arguments as :func:`design_filter`."""
        sos = design_filter(sample_rate=sample_rate, low_hz=low_hz, high_hz=high_hz, order=order)
        return cls(sos, n_channels=n_channels)

    def reset(self) -> None:
        """Return the filter to rest (zero state), e.g. after a gap in the input."""
        self._zi = np.zeros((self.sos.shape[0], self.n_channels, 2))

    def process(self, block: np.ndarray) -> np.ndarray:
        """Filter the next block.

        Parameters
        ----------
        block : np.ndarray, shape [C, N]
            Next ``N`` frames (``N`` may be 0).

        Returns
        -------
        np.ndarray, shape [C, N]
            Filtered frames, same dtype as ``block``.
        """
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[0] != self.n_channels:
            raise ValueError(f"block must be [{self.n_channels}, N], got shape {block.shape}")
        if block.shape[1] == 0:
            return block.copy()
        if not np.isfinite(block).all():
            raise ValueError("block contains NaN or infinite values")
        out, self._zi = scipy.signal.sosfilt(self.sos, block, axis=-1, zi=self._zi)
        dtype = block.dtype if np.issubdtype(block.dtype, np.floating) else np.float32
        return out.astype(dtype, copy=False)


# --- signal-to-noise ratio --------------------------------------------------------------------


def estimate_snr_db(
    x: np.ndarray,
    *,
    sample_rate: int,
    band_hz: tuple[float, float] | None = None,
    frame_s: float = 0.01,
    noise_percentile: float = 20.0,
    signal_percentile: float = 97.0,
) -> float:
    """Blind estimate of the signal-to-noise ratio of intermittent sounds, in dB.

    The signal (band-passed to ``band_hz`` when given) is cut into frames of ``frame_s``; the
    ``noise_percentile``-th percentile of the frame powers is taken as the noise power ``N``,
    the ``signal_percentile``-th as signal plus noise ``S + N``, and the SNR is
    ``10 * log10((S + N - N) / N)``. No reference is needed, but it assumes the sounds fill more
    than ``100 - signal_percentile`` % and the noise more than ``noise_percentile`` % of the
    frames, and stationary noise; treat it as a rough (few dB) figure. Channels are averaged.

    Parameters
    ----------
    x : np.ndarray, shape [T] or [C, T]
        Signal.
    sample_rate : int
        Sample rate in Hz.
    band_hz : (float, float), optional
        Analysis band in Hz; a lower edge <= 0 means a low-pass, an upper edge at or above the
        Nyquist frequency a high-pass.
    frame_s : float
        Frame length in seconds.
    noise_percentile, signal_percentile : float
        Percentiles of the frame powers taken as noise and as signal plus noise.

    Returns
    -------
    float
        SNR in dB; ``-inf`` when no frame stands out of the noise, ``inf`` for a noise floor of
        exactly zero.
    """
    sample_rate = _check_sample_rate(sample_rate)
    x = _as_float_array(x).astype(np.float64)
    if x.ndim > 2:
        raise ValueError(f"x must be [T] or [C, T], got shape {x.shape}")
    if band_hz is not None:
        low, high = band_hz
        low = low if low > 0 else None
        high = high if high < sample_rate / 2 else None
        if low is not None or high is not None:
            sos = design_filter(sample_rate=sample_rate, low_hz=low, high_hz=high)
            x = scipy.signal.sosfiltfilt(sos, x, axis=-1)
    frame = max(1, round(frame_s * sample_rate))
    n_frames = x.shape[-1] // frame
    if n_frames < 10:
        raise ValueError(f"need at least 10 frames of {frame_s} s, got {n_frames}")
    frames = x[..., : n_frames * frame].reshape(*x.shape[:-1], n_frames, frame)
    frame_power = np.mean(frames**2, axis=-1)
    if frame_power.ndim == 2:
        frame_power = frame_power.mean(axis=0)
    noise = float(np.percentile(frame_power, noise_percentile))
    signal = float(np.percentile(frame_power, signal_percentile)) - noise
    if signal <= 0:
        return float("-inf")
    if noise == 0:
        return float("inf")
    return float(10.0 * np.log10(signal / noise))
