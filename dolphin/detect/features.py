"""Classifier input: PCEN spectrograms and pulse-interval rows on fixed grids; frame targets.

The event classifier (:mod:`dolphin.detect.classifier`) sees every recording through the same
``[F, N]`` image whatever its sample rate (tuned at 96 kHz, usable from 88.2 to 384 kHz), one
column per ``hop_s`` (2 ms):

* **tonal rows** (``n_tonal_bins``, 48): a 4 ms STFT (250 Hz bins at any rate), each output band
  of a linear grid from ``fmin_hz`` to ``tonal_fmax_hz`` (2-32 kHz) taking the *largest* power
  of the STFT bins inside it, so a narrowband whistle keeps its peak, then PCEN;
* **pulse rows** (``n_pulse_bins``, 16): a 1 ms STFT every ``hop_s / 4`` (0.5 ms), each band of a
  linear grid from ``pulse_fmin_hz`` to ``pulse_fmax_hz`` (10-48 kHz) taking the *mean* power
  of its bins (clicks are broadband), then PCEN, then the largest value of the sub-frames of each
  2 ms column. Short frames keep a click's energy concentrated: a 0 dB click (its power in a
  0.4 ms window equal to the noise's, see :mod:`dolphin.synth.scene`) stands about 0 dB above
  the noise of a 1 ms frame but 6-10 dB below it in the 4-8 ms frames whistles need;
* **interval rows** (``n_ici_bins``, 16): the normalised autocovariance of the pulse band's
  envelope (band-pass ``pulse_fmin_hz`` to ``pulse_fmax_hz``, amplitude every ``hop_s / 16``,
  0.125 ms) over ``ici_window_s`` (32 ms) around each column, at lags log-spaced from
  ``ici_min_s`` to ``ici_max_s`` (0.5-12 ms), in [-1, 1]. A burst pulse draws a steady line at
  its inter-pulse interval, a buzz a line falling from ~8 to ~3 ms: the rate pattern that the
  2 ms columns cannot resolve, integrated over many pulses (gain at low SNR).

Bands above Nyquist hold zeros. Rows are stacked tonal, pulse, interval. PCEN's smoother
(``time_constant_s``, 0.4 s) is long enough that a sustained burst pulse is not normalised away
within its own length.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.signal
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, sosfilt

from dolphin.annotations import Event
from dolphin.audio.spectral import pcen
from dolphin.detect.dsp_kernels import band_pool, lagged_window_means
from dolphin.errors import ConfigError

#: Sub-frames of the pulse spectrogram per output column.
PULSE_SUBFRAMES = 4
#: Envelope samples per column of the interval rows.
ICI_SUBBINS = 16
#: STFT frames computed and pooled at a time (a few hundred kB: the spectra stay in cache).
STFT_BLOCK = 512


@dataclass
class FeatureConfig:
    """Spectrogram front end of the classifier (``classifier.features``)."""

    hop_s: float = 0.002  # column spacing, seconds (the model halves the rate once more)
    fmin_hz: float = 2000.0  # lowest tonal band edge (below: vessels and flow noise)
    tonal_fmax_hz: float = 32000.0  # highest tonal band edge (fundamentals reach ~30 kHz)
    n_tonal_bins: int = 48  # linear tonal bands (~625 Hz each)
    tonal_frame_s: float = 0.004  # tonal STFT window: 250 Hz bins, sweeps barely smeared
    pulse_fmin_hz: float = 10000.0  # lowest pulse band edge (clicks are 20-130 kHz)
    pulse_fmax_hz: float = 48000.0  # highest pulse band edge: the same image at 96-384 kHz
    n_pulse_bins: int = 16  # linear pulse bands (~2.4 kHz each)
    pulse_frame_s: float = 0.001  # pulse STFT window: a click's energy stays concentrated
    time_constant_s: float = 0.4  # PCEN smoother, seconds (longer than most burst pulses)
    n_ici_bins: int = 16  # interval rows (envelope autocovariance lags)
    ici_min_s: float = 0.0005  # shortest lag: burst-pulse intervals start at 0.5 ms
    ici_max_s: float = 0.012  # longest lag: buzzes start at 6-10 ms
    ici_window_s: float = 0.032  # autocovariance window around each column, seconds

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> ConfigError:
            return ConfigError(f"FeatureConfig.{name} {rule}, got {getattr(self, name)!r}")

        positive = ("hop_s", "tonal_frame_s", "pulse_frame_s", "time_constant_s", "ici_window_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise bad(name, "must be > 0")
        for name in ("n_tonal_bins", "n_pulse_bins", "n_ici_bins"):
            if getattr(self, name) < 1:
                raise bad(name, "must be >= 1")
        if not 0 <= self.fmin_hz < self.tonal_fmax_hz:
            raise bad("tonal_fmax_hz", f"must be above fmin_hz ({self.fmin_hz})")
        if not 0 <= self.pulse_fmin_hz < self.pulse_fmax_hz:
            raise bad("pulse_fmax_hz", f"must be above pulse_fmin_hz ({self.pulse_fmin_hz})")
        if not 0 < self.ici_min_s < self.ici_max_s:
            raise bad("ici_max_s", f"must be above ici_min_s ({self.ici_min_s}) > 0")

    @property
    def n_bins(self) -> int:
        """Rows of the feature image, ``F``."""
        return self.n_tonal_bins + self.n_pulse_bins + self.n_ici_bins

    def hop_length(self, sample_rate: int) -> int:
        """Samples between columns at ``sample_rate``."""
        return max(1, int(round(self.hop_s * sample_rate)))


def _band_index(freqs_hz: np.ndarray, edges_hz: np.ndarray) -> list[tuple[int, int]]:
    """``[start, stop)`` STFT bins of each band (the nearest bin when a band holds none, an empty
    range above Nyquist)."""
    out = []
    for lo, hi in zip(edges_hz[:-1], edges_hz[1:], strict=True):
        start, stop = np.searchsorted(freqs_hz, [lo, hi])
        if start == stop and lo < freqs_hz[-1]:
            start = int(np.argmin(np.abs(freqs_hz - (lo + hi) / 2)))
            stop = start + 1
        out.append((int(start), int(stop)))
    return out


def _frames(x: np.ndarray, m0: int, m1: int, *, n_fft: int, hop: int) -> np.ndarray:
    """Frames ``[m0, m1)`` of ``x`` zero-padded by ``n_fft // 2`` at both ends, ``[m1 - m0,
    n_fft]``: a view of ``x`` inside it, a padded copy of the few samples needed at its edges."""
    start, stop = m0 * hop - n_fft // 2, (m1 - 1) * hop - n_fft // 2 + n_fft
    if start >= 0 and stop <= x.size:
        seg = x[start:stop]
    else:
        seg = np.pad(x[max(start, 0) : min(stop, x.size)], (max(-start, 0), max(stop - x.size, 0)))
    return np.lib.stride_tricks.sliding_window_view(seg, n_fft)[::hop]


def _band_spectrogram(
    x: np.ndarray, *, sample_rate: int, n_fft: int, hop: int, edges_hz: np.ndarray, how: str
) -> np.ndarray:
    """Band powers of a centred Hann STFT, ``[n_bands, M]`` float32.

    Frame ``m`` is centred on sample ``m * hop`` (``n_fft // 2`` zeros padded at both ends, as
    :func:`~dolphin.audio.spectral.power_spectrogram` with ``center=True``, whose values these
    are); each band of ``edges_hz`` takes the ``how`` (``"max"`` or ``"mean"``) of the power
    of its bins (:func:`_band_index`), zero for bands above Nyquist. Frames go through the FFT
    and the pooling (:func:`~dolphin.detect.dsp_kernels.band_pool`) :data:`STFT_BLOCK` at a
    time, so the spectra stay in the CPU cache.
    """
    half = n_fft // 2
    n_frames = (x.size + 2 * half - n_fft) // hop + 1
    bands = _band_index(np.fft.rfftfreq(n_fft, d=1.0 / sample_rate), edges_hz)
    out = np.zeros((len(bands), n_frames), np.float32)
    full = np.array([k for k, (start, stop) in enumerate(bands) if stop > start], np.intp)
    if full.size == 0:
        return out
    starts = np.array([bands[k][0] for k in full], np.int64)
    widths = np.array([bands[k][1] - bands[k][0] for k in full], np.int64)
    lo, hi = int(starts.min()), int((starts + widths).max())
    starts -= lo
    window = scipy.signal.get_window("hann", n_fft, fftbins=True).astype(np.float32)
    for m0 in range(0, n_frames, STFT_BLOCK):
        frames = _frames(x, m0, min(m0 + STFT_BLOCK, n_frames), n_fft=n_fft, hop=hop)
        spec = scipy.fft.rfft(frames * window, axis=-1, overwrite_x=True)[:, lo:hi]
        out[full, m0 : m0 + STFT_BLOCK] = band_pool(spec, starts, widths, how == "max")
    if how != "max":
        out[full] /= widths[:, None].astype(np.float32)
    return out


@lru_cache(maxsize=16)
def _pulse_band(low_hz: float, high_hz: float, sample_rate: int) -> np.ndarray:
    high = min(high_hz, 0.45 * sample_rate)
    return butter(
        4, [min(low_hz, 0.5 * high), high], btype="bandpass", fs=sample_rate, output="sos"
    )


def _window_mean_at(a: np.ndarray, window: int, at: np.ndarray) -> np.ndarray:
    """``uniform_filter1d(a, window, mode="nearest")[at]`` from a cumulative sum: the rows need
    the moving mean at one envelope value in 16 only (the lagged rows:
    :func:`~dolphin.detect.dsp_kernels.lagged_window_means`, the same sums)."""
    before = window // 2
    padded = np.empty(a.size + window)
    padded[1 + before : 1 + before + a.size] = a
    padded[0] = 0.0
    padded[1 : 1 + before] = a[0]
    padded[1 + before + a.size :] = a[-1]
    total = np.cumsum(padded, out=padded)
    return (total[at + window] - total[at]) / window


def _interval_rows(x: np.ndarray, sr: int, hop: int, n_cols: int, cfg: FeatureConfig) -> np.ndarray:
    """``[n_ici_bins, n_cols]`` envelope autocovariance of the pulse band (module docstring)."""
    width = max(1, hop // ICI_SUBBINS)  # samples per envelope value
    n_env = x.size // width
    if n_env < 4:
        return np.zeros((cfg.n_ici_bins, n_cols), np.float32)
    # float32 filter and envelope (a third faster); the windowed sums below need float64.
    sos = _pulse_band(cfg.pulse_fmin_hz, cfg.pulse_fmax_hz, sr).astype(np.float32)
    blocks = sosfilt(sos, np.asarray(x, np.float32))[: n_env * width].reshape(n_env, width)
    env = np.sqrt(np.einsum("ij,ij->i", blocks, blocks) / width, dtype=np.float64)
    env = np.convolve(env, [0.25, 0.5, 0.25], mode="same")  # a click spans 3 values: lag slack
    window = max(2, int(round(cfg.ici_window_s * sr / width)))
    dev = env - uniform_filter1d(env, window, mode="nearest")
    centres = np.minimum(np.round(np.arange(n_cols) * hop / width).astype(int), n_env - 1)
    power = np.maximum(_window_mean_at(dev * dev, window, centres), 1e-30)
    lags = np.geomspace(cfg.ici_min_s, cfg.ici_max_s, cfg.n_ici_bins) * sr / width
    lags = np.maximum(1, np.round(lags).astype(np.int64))
    out = lagged_window_means(dev, lags, window, centres.astype(np.int64), power)
    return np.clip(out, -1.0, 1.0, out=out)


def _n_fft(frame_s: float, sample_rate: int) -> int:
    return max(8, 2 * int(round(frame_s * sample_rate / 2)))


def compute_features(x: np.ndarray, *, sample_rate: int, config: FeatureConfig) -> np.ndarray:
    """The classifier's input image of a signal.

    Parameters
    ----------
    x : np.ndarray, shape [T]
        One channel, full scale 1.
    sample_rate : int
        Hz.
    config : FeatureConfig
        Front-end settings.

    Returns
    -------
    np.ndarray, shape [F, N], float32
        ``F = config.n_bins`` rows (tonal, pulse, interval); column ``n`` is centred on sample
        ``n * config.hop_length(sample_rate)``, ``N = T // hop + 1``.

    Raises
    ------
    ValueError
        ``x`` is not 1-D or is empty.
    """
    x = np.asarray(x, np.float32)  # float32 halves the STFT and filter costs
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"x must be a non-empty 1-D signal, got shape {x.shape}")
    sr, cfg = int(sample_rate), config
    hop = cfg.hop_length(sr)
    n_cols = x.size // hop + 1
    n_fft = _n_fft(cfg.tonal_frame_s, sr)
    padded = x if x.size >= n_fft else np.pad(x, (0, n_fft - x.size))
    edges = np.linspace(cfg.fmin_hz, cfg.tonal_fmax_hz, cfg.n_tonal_bins + 1)
    tonal = _band_spectrogram(
        padded, sample_rate=sr, n_fft=n_fft, hop=hop, edges_hz=edges, how="max"
    )
    tonal = pcen(tonal, sample_rate=sr, hop_length=hop, time_constant_s=cfg.time_constant_s)
    sub_hop = max(1, int(round(hop / PULSE_SUBFRAMES)))
    n_fft = _n_fft(cfg.pulse_frame_s, sr)
    padded = x if x.size >= n_fft else np.pad(x, (0, n_fft - x.size))
    edges = np.linspace(cfg.pulse_fmin_hz, cfg.pulse_fmax_hz, cfg.n_pulse_bins + 1)
    pulse = _band_spectrogram(
        padded, sample_rate=sr, n_fft=n_fft, hop=sub_hop, edges_hz=edges, how="mean"
    )
    pulse = pcen(pulse, sample_rate=sr, hop_length=sub_hop, time_constant_s=cfg.time_constant_s)
    # Each sub-frame goes to the column nearest its centre; the column keeps the largest value.
    column = np.minimum(np.round(np.arange(pulse.shape[1]) * sub_hop / hop).astype(int), n_cols - 1)
    starts = np.flatnonzero(np.r_[True, np.diff(column) > 0])
    pooled = np.zeros((cfg.n_pulse_bins, n_cols), np.float32)
    pooled[:, column[starts]] = np.maximum.reduceat(pulse, starts, axis=1)
    tonal = tonal[:, :n_cols]
    if tonal.shape[1] < n_cols:  # a signal shorter than one tonal frame
        tonal = np.pad(tonal, ((0, 0), (0, n_cols - tonal.shape[1])))
    intervals = _interval_rows(x, sr, hop, n_cols, cfg)
    return np.concatenate([tonal, pooled, intervals], axis=0, dtype=np.float32)


def frame_targets(
    events: list[Event],
    labels: tuple[str, ...],
    *,
    n_frames: int,
    hop_s: float,
    start_s: float = 0.0,
) -> np.ndarray:
    """Multi-label frame targets: 1 where an event of a class covers the frame's centre.

    Parameters
    ----------
    events : list of Event
        Ground truth, times in seconds from the recording's start.
    labels : tuple of str
        Classes, one row each (other labels are ignored).
    n_frames : int
        Frames ``N``.
    hop_s : float
        Frame spacing in seconds; frame ``n`` is centred at ``start_s + n * hop_s``.
    start_s : float
        Time of frame 0, seconds.

    Returns
    -------
    np.ndarray, shape [K, N], float32
        ``K = len(labels)``; 0 or 1.
    """
    out = np.zeros((len(labels), n_frames), np.float32)
    for e in events:
        if e.label not in labels:
            continue
        lo = int(np.ceil((e.start_s - start_s) / hop_s))
        hi = int(np.floor((e.end_s - start_s) / hop_s)) + 1
        out[labels.index(e.label), max(lo, 0) : max(min(hi, n_frames), 0)] = 1.0
    return out
