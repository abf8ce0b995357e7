"""Reconstruction quality of decoded audio: SI-SNR, spectral distance, whistle contour error.

The demo's codec line; SI-SNR and the spectral distance are those of ``benchmarks/codec.py``
(:mod:`dolphin.codec.metrics`):

* **SI-SNR** (dB): scale-invariant signal-to-noise ratio of the decoded signal against the
  original; higher is better, 0 dB means as much error as signal.
* **Spectral distance** (dB): mean absolute difference of log-magnitude STFTs at 2.5-40 ms
  windows; 0 for identical spectra.
* **Contour error** (Hz): mean absolute frequency difference between whistle contours tracked in
  the original and in the decoded audio (:func:`dolphin.detect.evaluate.score_contours`'s
  ``deviation_hz``), with the share of original contours found again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dolphin.codec.metrics import si_snr_db, spectral_distance_db
from dolphin.detect.pipeline import DetectorConfig


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
