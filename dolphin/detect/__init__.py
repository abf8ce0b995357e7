"""Signal-processing detectors: whistle contours, clicks, pulse trains, and their evaluation.

* :mod:`dolphin.detect.contours`: :func:`track_whistles` / :class:`WhistleTracker` (a
  silbido-style spectral peak tracker) and :func:`whistle_events`.
* :mod:`dolphin.detect.clicks`: :func:`detect_clicks` / :class:`ClickDetector` (whitened
  Teager-Kaiser energy, adaptive threshold, per-click spectral features).
* :mod:`dolphin.detect.pulses`: :func:`group_clicks` / :class:`ClickTrainTracker` (clicks to
  echolocation click trains, burst pulses and buzzes by inter-click interval) and
  :func:`train_events`.
* :mod:`dolphin.detect.evaluate`: event matching and per-class P/R/F1, whistle contour scores
  as silbido computes them.
* :mod:`dolphin.detect.pipeline`: :class:`Detector` chains them over files of any length, block
  by block (:func:`detect_file`); :mod:`dolphin.detect.batch` runs folders, resumable.
* Whistle types (imported on demand, they load numba / scikit-learn):
  :mod:`dolphin.detect.dtw` (shift- and stretch-tolerant contour DTW),
  :mod:`dolphin.detect.clustering` (DTW + HDBSCAN), :mod:`dolphin.detect.sigid` (SIGID bout
  rule), :mod:`dolphin.detect.catalogue` (known animals' signature whistles).

Every detector has one streaming form with explicit state (``process(block)`` returns what is
finished, ``flush()`` ends the stream) and an offline function that is that stream fed the
whole signal, so both give identical results.
"""

from dolphin.detect.clicks import Click, ClickDetector, ClickDetectorConfig, detect_clicks
from dolphin.detect.contours import (
    WhistleContour,
    WhistleTracker,
    WhistleTrackerConfig,
    track_whistles,
    whistle_events,
)
from dolphin.detect.evaluate import ClassScores, ContourScores, score_contours, score_events
from dolphin.detect.pipeline import Detections, Detector, DetectorConfig, detect_file
from dolphin.detect.pulses import (
    ClickTrain,
    ClickTrainConfig,
    ClickTrainTracker,
    classify_intervals,
    group_clicks,
    train_events,
)

__all__ = [
    "ClassScores",
    "Click",
    "ClickDetector",
    "ClickDetectorConfig",
    "ClickTrain",
    "ClickTrainConfig",
    "ClickTrainTracker",
    "ContourScores",
    "Detections",
    "Detector",
    "DetectorConfig",
    "WhistleContour",
    "WhistleTracker",
    "WhistleTrackerConfig",
    "classify_intervals",
    "detect_clicks",
    "detect_file",
    "group_clicks",
    "score_contours",
    "score_events",
    "track_whistles",
    "train_events",
    "whistle_events",
]
