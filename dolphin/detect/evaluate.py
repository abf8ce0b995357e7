"""Detector metrics: event matching per class, and whistle contours scored as silbido does.

Events
------
Detections and ground truth are matched one to one per class by the Hungarian algorithm on
their temporal intersection over union (IoU); a pair counts only when its IoU is at least
``min_iou`` (0.3 by default). Per class: ``precision = TP / n_predicted``,
``recall = TP / n_true``, ``F1`` their harmonic mean (0 when both are 0). Frequency bands are
not used: pulsed events are broadband and a whistle's time span identifies it.

Whistle contours (after Roch et al. 2011, JASA 130(4):2212, and silbido's scorer)
-------------------------------------------------------------------------------
* Ground-truth contours are split into loops (a time jump > ``loop_gap_s``, 20 ms, starts a new
  one): each loop is one tonal, as an analyst would trace it.
* A detection *matches* a ground-truth tonal when they overlap in time and the mean absolute
  frequency difference over the detection's points inside the tonal's time span is at most
  ``max_deviation_hz`` (350 Hz).
* A ground-truth tonal is *scored* (counts towards recall) when it lasts at least
  ``min_length_s`` (150 ms) and at least ``min_snr_fraction`` (30 %) of its points have an SNR
  of at least ``min_snr_db`` (10 dB) -- silbido's ``GroundTruthCriteria [10, .3]``. Point SNRs
  come from :func:`contour_snr_db` (signal and noise spectrogram power at the contour).
* *Coverage* of a tonal: share of its points with a matching detection within
  ``max_deviation_hz`` at the same time. A scored tonal is *detected* when it is matched and its
  coverage is at least ``min_coverage`` (30 %; silbido itself asks only for a match, i.e. 0).
* ``recall = detected scored tonals / scored tonals``; ``precision = detections matching any
  ground-truth tonal (scored or not, as silbido does not count those as false) / detections``.
* ``deviation_hz``: mean absolute frequency difference over all matched detection points;
  ``coverage``: mean coverage of the detected scored tonals; ``fragmentation``: mean number
  of matching detections per detected scored tonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.optimize import linear_sum_assignment

from dolphin.annotations import Contour, Event
from dolphin.audio.spectral import power_spectrogram


@dataclass
class ClassScores:
    """Event-level scores of one class.

    Attributes
    ----------
    label : str
        Event class.
    n_true, n_pred, tp : int
        Ground-truth events, detections and matched pairs.
    precision, recall, f1 : float
        In [0, 1]; precision is 0 without detections, recall 0 without ground truth.
    """

    label: str
    n_true: int
    n_pred: int
    tp: int
    precision: float
    recall: float
    f1: float


@dataclass
class ContourScores:
    """Whistle contour scores (definitions in the module docstring).

    Attributes
    ----------
    n_detected : int
        Detected contours.
    n_valid : int
        Detected contours matching a ground-truth tonal.
    n_scored : int
        Ground-truth tonals meeting the length and SNR criteria.
    n_found : int
        Scored tonals detected.
    precision, recall, f1 : float
        In [0, 1].
    deviation_hz : float
        Mean absolute frequency error of matched detection points, Hz (NaN if none).
    coverage : float
        Mean share of a detected scored tonal covered by detections (NaN if none).
    fragmentation : float
        Mean number of detections per detected scored tonal (NaN if none).
    """

    n_detected: int
    n_valid: int
    n_scored: int
    n_found: int
    precision: float
    recall: float
    f1: float
    deviation_hz: float
    coverage: float
    fragmentation: float


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def temporal_iou(a: Event, b: Event) -> float:
    """Intersection over union of two events' time spans, in [0, 1]."""
    inter = min(a.end_s, b.end_s) - max(a.start_s, b.start_s)
    union = max(a.end_s, b.end_s) - min(a.start_s, b.start_s)
    return max(inter, 0.0) / union if union > 0 else float(inter >= 0)


def match_events(
    predicted: list[Event], truth: list[Event], *, min_iou: float = 0.3
) -> list[tuple[int, int]]:
    """One-to-one matching of same-class events maximising the summed temporal IoU.

    Parameters
    ----------
    predicted, truth : list of Event
        Detections and ground truth (any classes; only equal labels are paired).
    min_iou : float
        Smallest IoU of a valid pair.

    Returns
    -------
    list of (int, int)
        ``(predicted index, truth index)`` pairs, sorted.
    """
    pairs = []
    for label in {e.label for e in predicted} & {e.label for e in truth}:
        pi = [i for i, e in enumerate(predicted) if e.label == label]
        ti = [j for j, e in enumerate(truth) if e.label == label]
        iou = np.array([[temporal_iou(predicted[i], truth[j]) for j in ti] for i in pi])
        rows, cols = linear_sum_assignment(np.where(iou >= min_iou, iou, 0.0), maximize=True)
        pairs += [(pi[r], ti[c]) for r, c in zip(rows, cols, strict=True) if iou[r, c] >= min_iou]
    return sorted(pairs)


def score_events(
    predicted: list[Event],
    truth: list[Event],
    *,
    labels: tuple[str, ...] | None = None,
    min_iou: float = 0.3,
) -> dict[str, ClassScores]:
    """Per-class precision, recall and F1 of detected events.

    Parameters
    ----------
    predicted, truth : list of Event
        Detections and ground truth.
    labels : tuple of str, optional
        Classes to report; all classes present in either list by default.
    min_iou : float
        Smallest temporal IoU of a match.

    Returns
    -------
    dict of str to ClassScores
    """
    pairs = match_events(predicted, truth, min_iou=min_iou)
    if labels is None:
        labels = tuple(sorted({e.label for e in predicted} | {e.label for e in truth}))
    out = {}
    for label in labels:
        n_pred = sum(e.label == label for e in predicted)
        n_true = sum(e.label == label for e in truth)
        tp = sum(predicted[i].label == label for i, _ in pairs)
        p = tp / n_pred if n_pred else 0.0
        r = tp / n_true if n_true else 0.0
        out[label] = ClassScores(label, n_true, n_pred, tp, p, r, _f1(p, r))
    return out


def split_loops(contour: Contour, *, loop_gap_s: float = 0.02) -> list[Contour]:
    """Cut a contour where its time jumps by more than ``loop_gap_s`` seconds."""
    if len(contour) == 0:
        return []
    cuts = np.flatnonzero(np.diff(contour.times_s) > loop_gap_s) + 1
    return [
        Contour(t, f)
        for t, f in zip(
            np.split(contour.times_s, cuts), np.split(contour.freqs_hz, cuts), strict=True
        )
    ]


def contour_snr_db(
    contours: list[Contour],
    *,
    signal: np.ndarray,
    noise: np.ndarray,
    sample_rate: int,
    frame_s: float = 0.008,
    hop_s: float = 0.002,
    noise_window_s: float = 0.5,
) -> list[np.ndarray]:
    """SNR of every point of ground-truth contours, from separate signal and noise tracks.

    The signal power of a point is the largest spectrogram power of ``signal`` within one bin of
    its frequency at the nearest frame; the noise power is the mean power of ``noise`` in the
    same bins over ``noise_window_s`` around it.

    Parameters
    ----------
    contours : list of Contour
        Ground-truth contours (times in seconds from sample 0).
    signal, noise : np.ndarray, shape [T]
        The sounds without background, and the background alone.
    sample_rate : int
        Hz.
    frame_s, hop_s : float
        Spectrogram window and hop in seconds.
    noise_window_s : float
        Time span over which the noise power is averaged, seconds.

    Returns
    -------
    list of np.ndarray, shape [N_i]
        SNR in dB of each contour's points.
    """
    n_fft, hop = int(round(frame_s * sample_rate)), int(round(hop_s * sample_rate))
    sig = power_spectrogram(
        np.asarray(signal, np.float64), sample_rate=sample_rate, n_fft=n_fft, hop_length=hop
    ).power
    noi = power_spectrogram(
        np.asarray(noise, np.float64), sample_rate=sample_rate, n_fft=n_fft, hop_length=hop
    ).power
    noi = uniform_filter1d(noi, max(1, int(round(noise_window_s / hop_s))), axis=1, mode="nearest")
    out = []
    for c in contours:
        k = np.clip(np.round(c.times_s * sample_rate / hop).astype(int), 0, sig.shape[1] - 1)
        b = np.clip(np.round(c.freqs_hz * n_fft / sample_rate).astype(int), 1, sig.shape[0] - 2)
        s = np.max([sig[b + d, k] for d in (-1, 0, 1)], axis=0)
        n = np.mean([noi[b + d, k] for d in (-1, 0, 1)], axis=0)
        out.append(10 * np.log10(np.maximum(s, 1e-30) / np.maximum(n, 1e-30)))
    return out


def _deviation(det: Contour, gt: Contour) -> np.ndarray:
    """|f_det - f_gt| (Hz) at the detection's points inside the tonal's time span."""
    inside = (det.times_s >= gt.times_s[0]) & (det.times_s <= gt.times_s[-1])
    return np.abs(det.freqs_hz[inside] - np.interp(det.times_s[inside], gt.times_s, gt.freqs_hz))


def score_contours(
    detected: list[Contour],
    truth: list[Contour],
    *,
    truth_snr_db: list[np.ndarray] | None = None,
    max_deviation_hz: float = 350.0,
    min_length_s: float = 0.15,
    min_snr_db: float = 10.0,
    min_snr_fraction: float = 0.3,
    min_coverage: float = 0.3,
    loop_gap_s: float = 0.02,
) -> ContourScores:
    """Whistle contour precision, recall, F1, deviation, coverage and fragmentation.

    Parameters
    ----------
    detected : list of Contour
        Extracted contours.
    truth : list of Contour
        Ground-truth contours (multi-loop contours are split into loops).
    truth_snr_db : list of np.ndarray, optional
        Per-point SNR in dB of each ``truth`` contour (same order and lengths); without it every
        tonal long enough is scored.
    max_deviation_hz, min_length_s, min_snr_db, min_snr_fraction, min_coverage, loop_gap_s
        Criteria of the module docstring.

    Returns
    -------
    ContourScores
    """
    tonals, scored = [], []
    for i, c in enumerate(truth):
        snr = truth_snr_db[i] if truth_snr_db is not None else np.full(len(c), np.inf)
        cuts = np.flatnonzero(np.diff(c.times_s) > loop_gap_s) + 1
        for loop, s in zip(split_loops(c, loop_gap_s=loop_gap_s), np.split(snr, cuts), strict=True):
            tonals.append(loop)
            strong = np.mean(s >= min_snr_db) >= min_snr_fraction if s.size else False
            scored.append(loop.duration_s >= min_length_s and bool(strong))
    valid = np.zeros(len(detected), bool)
    covered = [np.zeros(len(t), bool) for t in tonals]
    n_match = np.zeros(len(tonals), int)
    errors = []
    for i, d in enumerate(detected):
        if len(d) == 0:
            continue
        for j, g in enumerate(tonals):
            if d.times_s[0] > g.times_s[-1] or d.times_s[-1] < g.times_s[0]:
                continue
            dev = _deviation(d, g)
            if dev.size == 0 or dev.mean() > max_deviation_hz:
                continue
            valid[i] = True
            n_match[j] += 1
            errors.append(dev)
            inside = (g.times_s >= d.times_s[0]) & (g.times_s <= d.times_s[-1])
            f_det = np.interp(g.times_s[inside], d.times_s, d.freqs_hz)
            covered[j][inside] |= np.abs(f_det - g.freqs_hz[inside]) <= max_deviation_hz
    coverage = np.array([c.mean() if c.size else 0.0 for c in covered])
    found = np.array(scored, bool) & (n_match > 0) & (coverage >= min_coverage)
    n_scored, n_found = int(np.sum(scored)), int(found.sum())
    precision = float(valid.mean()) if len(detected) else 0.0
    recall = n_found / n_scored if n_scored else 0.0
    return ContourScores(
        n_detected=len(detected),
        n_valid=int(valid.sum()),
        n_scored=n_scored,
        n_found=n_found,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        deviation_hz=float(np.concatenate(errors).mean()) if errors else float("nan"),
        coverage=float(coverage[found].mean()) if n_found else float("nan"),
        fragmentation=float(n_match[found].mean()) if n_found else float("nan"),
    )
