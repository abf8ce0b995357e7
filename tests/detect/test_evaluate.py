"""Metrics on hand-made cases: event matching per class and silbido-style contour scores."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.annotations import BURST_PULSE, CLICK_TRAIN, WHISTLE, Contour, Event
from dolphin.detect.evaluate import (
    contour_snr_db,
    match_events,
    score_contours,
    score_events,
    split_loops,
    temporal_iou,
)


def ev(start, end, label=WHISTLE):
    return Event(start, end, 1000.0, 2000.0, label)


def sweep(t0, t1, f0, f1, step=0.002):
    t = np.arange(t0, t1 + 1e-9, step)
    return Contour(t, np.interp(t, [t0, t1], [f0, f1]))


TRUTH = [ev(0.0, 1.0), ev(2.0, 3.0), ev(5.0, 5.5, CLICK_TRAIN), ev(7.0, 7.2, BURST_PULSE)]


def test_perfect_events_score_one():
    scores = score_events(TRUTH, TRUTH)
    assert set(scores) == {WHISTLE, CLICK_TRAIN, BURST_PULSE}
    for s in scores.values():
        assert s.precision == s.recall == s.f1 == 1.0 and s.tp == s.n_true == s.n_pred


def test_empty_detections_have_zero_recall():
    scores = score_events([], TRUTH, labels=(WHISTLE, CLICK_TRAIN))
    assert scores[WHISTLE].recall == 0.0 and scores[WHISTLE].precision == 0.0
    assert scores[CLICK_TRAIN].f1 == 0.0 and scores[CLICK_TRAIN].n_true == 1


def test_matching_is_one_to_one_per_class_with_an_iou_floor():
    pred = [ev(0.1, 0.9), ev(0.0, 0.95), ev(2.8, 4.0), ev(5.0, 5.5, WHISTLE)]
    assert temporal_iou(pred[2], TRUTH[1]) == pytest.approx(0.2 / 2.0)
    pairs = match_events(pred, TRUTH, min_iou=0.3)
    assert pairs == [(1, 0)]  # the better of two overlapping detections; the rest too weak or
    scores = score_events(pred, TRUTH, labels=(WHISTLE, CLICK_TRAIN))  # of the wrong class
    assert scores[WHISTLE].tp == 1 and scores[WHISTLE].precision == pytest.approx(0.25)
    assert scores[WHISTLE].recall == pytest.approx(0.5) and scores[CLICK_TRAIN].tp == 0


def test_perfect_contours_score_one():
    truth = [sweep(0.0, 0.5, 5000, 9000), sweep(1.0, 1.3, 12000, 8000)]
    s = score_contours(truth, truth)
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    assert s.deviation_hz == 0.0 and s.coverage == 1.0 and s.fragmentation == 1.0


def test_empty_contour_detections_have_zero_recall():
    s = score_contours([], [sweep(0.0, 0.5, 5000, 9000)])
    assert s.recall == 0.0 and s.precision == 0.0 and s.n_scored == 1
    assert np.isnan(s.deviation_hz)


def test_contour_matching_tolerance_and_coverage():
    truth = [sweep(0.0, 1.0, 5000, 9000)]
    near = sweep(0.0, 0.5, 5200, 7200)  # 200 Hz off, half the whistle
    far = sweep(0.5, 1.0, 7500, 9500)  # 500 Hz off: no match
    s = score_contours([near, far], truth)
    assert s.n_valid == 1 and s.precision == pytest.approx(0.5) and s.recall == 1.0
    assert s.deviation_hz == pytest.approx(200.0, abs=1.0)
    assert s.coverage == pytest.approx(0.5, abs=0.01)
    short = score_contours([sweep(0.0, 0.2, 5000, 5800)], truth)  # covers 20 % < 30 %
    assert short.n_valid == 1 and short.recall == 0.0


def test_ground_truth_criteria_length_snr_and_loops():
    loops = Contour(
        np.concatenate([np.arange(0, 0.3, 0.001), np.arange(0.4, 0.5, 0.001)]),
        np.full(400, 8000.0),
    )
    assert [len(c) for c in split_loops(loops)] == [300, 100]
    quiet = sweep(2.0, 2.5, 5000, 9000)
    snr = [np.full(400, 20.0), np.full(len(quiet), 5.0)]
    s = score_contours([loops], [loops, quiet], truth_snr_db=snr)
    assert s.n_scored == 1  # the 100 ms loop is too short, the quiet whistle too weak
    assert s.recall == 1.0 and s.precision == 1.0


def test_contour_snr_from_signal_and_noise():
    sr = 96000
    t = np.arange(sr) / sr
    rng = np.random.default_rng(0)
    noise = 0.01 * rng.standard_normal(sr)
    signal = 0.1 * np.sin(2 * np.pi * 10000 * t) * ((t > 0.3) & (t < 0.7))
    contour = Contour(np.array([0.5, 0.9]), np.array([10000.0, 10000.0]))
    inside, outside = contour_snr_db([contour], signal=signal, noise=noise, sample_rate=sr)[0]
    assert inside > 25 and outside < 0
