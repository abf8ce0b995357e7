"""Reconstruction quality of decoded audio: SI-SNR, spectral distance, whistle contour error.

Simple, self-contained measures for the demo's codec line (the codec benchmark keeps its own,
fuller set outside the package):

* **SI-SNR** (dB): scale-invariant signal-to-noise ratio of the decoded signal against the
  original; higher is better, 0 dB means as much error as signal.
* **Spectral distance** (dB): mean absolute difference of log-magnitude STFTs (~10 ms windows)
  over the band up to ``fmax_hz``; 0 for identical spectra.
* **Contour error** (Hz): mean absolute frequency difference between whistle contours tracked in
  the original and in the decoded audio (:func:`dolphin.detect.evaluate.score_contours`'s
  ``deviation_hz``), with the share of original contours found again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dolphin.detect.pipeline import DetectorConfig

#: Floor added to magnitudes before the log, full scale 1 (-200 dB).
MAG_FLOOR = 1e-10


@dataclass
class ReconstructionQuality:
    """How close decoded audio is to the original.

    Attributes
    ----------
    si_snr_db : float
        Scale-invariant SNR, dB.
    spectral_distance_db : float
        Mean absolute log-spectral difference, dB.
    contour_error_hz : float
        Mean absolute whistle contour frequency error, Hz (NaN without whistles).
    contour_recall : float
        Share of the original's whistle contours tracked again in the decoded audio, in [0, 1]
        (NaN without whistles).
    """

    si_snr_db: float
    spectral_distance_db: float
    contour_error_hz: float
    contour_recall: float


def si_snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SNR of ``estimate`` against ``reference``.

    Parameters
    ----------
    reference, estimate : np.ndarray, shape [T]
        Equally long signals (the longer one is cut).

    Returns
    -------
    float
        dB; large for near-identical signals.
    """
    n = min(reference.size, estimate.size)
    ref = reference[:n].astype(np.float64) - reference[:n].mean()
    est = estimate[:n].astype(np.float64) - estimate[:n].mean()
    target = (est @ ref) / max(ref @ ref, 1e-20) * ref
    noise = est - target
    return float(10 * np.log10(max(target @ target, 1e-20) / max(noise @ noise, 1e-20)))


def spectral_distance_db(
    reference: np.ndarray,
    estimate: np.ndarray,
    *,
    sample_rate: int,
    window_s: float = 0.01,
    fmax_hz: float | None = None,
) -> float:
    """Mean absolute difference of log-magnitude spectrograms.

    Parameters
    ----------
    reference, estimate : np.ndarray, shape [T]
        Signals at ``sample_rate`` (the longer one is cut).
    sample_rate : int
        Hz.
    window_s : float
        STFT window, seconds (Hann, 75 % overlap).
    fmax_hz : float, optional
        Highest frequency compared, Hz (default: Nyquist).

    Returns
    -------
    float
        dB.
    """
    n = min(reference.size, estimate.size)
    n_fft = max(16, int(2 ** round(np.log2(window_s * sample_rate))))
    if n < n_fft:
        return float("nan")
    window = np.hanning(n_fft + 1)[:-1]
    hop = n_fft // 4
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    keep = freqs <= (fmax_hz if fmax_hz is not None else sample_rate / 2)

    def log_mag(x: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(x[:n].astype(np.float64), n_fft)[::hop]
        mag = np.abs(np.fft.rfft(frames * window, axis=-1))[:, keep] / window.sum()
        return 20 * np.log10(np.maximum(mag, MAG_FLOOR))

    return float(np.mean(np.abs(log_mag(reference) - log_mag(estimate))))


def reconstruction_quality(
    reference: np.ndarray,
    decoded: np.ndarray,
    *,
    sample_rate: int,
    detect: DetectorConfig | None = None,
) -> ReconstructionQuality:
    """SI-SNR, spectral distance and whistle contour error of a decoded signal.

    Parameters
    ----------
    reference, decoded : np.ndarray, shape [T]
        Original and decoded audio at ``sample_rate``.
    sample_rate : int
        Hz.
    detect : DetectorConfig, optional
        Settings of the whistle tracker run on both signals.

    Returns
    -------
    ReconstructionQuality
    """
    from dolphin.detect.evaluate import score_contours
    from dolphin.detect.pipeline import Detector

    n = min(reference.size, decoded.size)
    ref, dec = reference[:n].astype(np.float32), decoded[:n].astype(np.float32)
    cfg = detect or DetectorConfig()
    tracked = [
        [c.contour for c in Detector(sample_rate=sample_rate, config=cfg).detect(x).contours]
        for x in (ref, dec)
    ]
    if tracked[0]:
        scores = score_contours(tracked[1], tracked[0])
        error, recall = float(scores.deviation_hz), float(scores.recall)
    else:
        error = recall = float("nan")
    return ReconstructionQuality(
        si_snr_db=si_snr_db(ref, dec),
        spectral_distance_db=spectral_distance_db(ref, dec, sample_rate=sample_rate),
        contour_error_hz=error,
        contour_recall=recall,
    )
