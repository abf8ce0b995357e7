"""Pulse trains: rendered trains are grouped and classified by inter-click interval."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.annotations import BURST_PULSE, BUZZ, CLICK_TRAIN
from dolphin.detect.clicks import detect_clicks
from dolphin.detect.pulses import (
    ClickTrainTracker,
    classify_intervals,
    group_clicks,
    train_events,
)
from dolphin.synth.sounds import render_burst_pulse, render_buzz, render_click_train

from .conftest import SR, add_at, background


def _detect(train, rng, *, gain=0.1):
    x = background(train.samples.size / SR + 0.4, rng)
    add_at(x, train.samples.astype(float), 0.2, gain)
    clicks = detect_clicks(x, sample_rate=SR)
    return clicks, group_clicks(clicks)


def test_2ms_train_is_a_burst_pulse(rng):
    train = render_burst_pulse(
        sample_rate=SR, rng=rng, duration_s=0.3, ipi_range_s=(2e-3, 2e-3), centre_hz=40e3
    )
    _, trains = _detect(train, rng)
    assert [t.label for t in trains] == [BURST_PULSE]
    assert abs(trains[0].median_ici_s - 2e-3) < 0.1e-3


def test_50ms_train_is_an_echolocation_click_train(rng):
    train = render_click_train(
        sample_rate=SR, rng=rng, duration_s=1.0, ici_range_s=(0.05, 0.05), centre_hz=40e3
    )
    _, trains = _detect(train, rng)
    assert [t.label for t in trains] == [CLICK_TRAIN]
    assert abs(trains[0].median_ici_s - 0.05) < 2e-3
    assert len(trains[0].clicks) >= train.pulse_times_s.size - 1


def test_falling_ici_is_a_buzz(rng):
    train = render_buzz(
        sample_rate=SR, rng=rng, duration_s=0.4, ici_start_s=10e-3, ici_end_s=2e-3, centre_hz=40e3
    )
    _, trains = _detect(train, rng)
    assert [t.label for t in trains] == [BUZZ]
    assert trains[0].ici_ratio > 2


def test_events_carry_band_and_rhythm(rng):
    train = render_click_train(
        sample_rate=SR, rng=rng, duration_s=0.5, ici_range_s=(0.05, 0.05), centre_hz=40e3
    )
    _, trains = _detect(train, rng)
    (event,) = train_events(trains)
    assert event.label == CLICK_TRAIN
    assert abs(event.start_s - (0.2 + train.pulse_times_s[0])) < 1e-3
    assert abs(event.end_s - (0.2 + train.pulse_times_s[-1])) < 1e-3
    assert 20e3 <= event.low_hz < event.high_hz <= 48e3
    assert int(event.extra["n_clicks"]) >= 10
    assert float(event.extra["median_ici_ms"]) == pytest.approx(50, abs=2)
    assert 0 < event.score <= 1


@pytest.mark.parametrize(
    ("intervals_ms", "label"),
    [
        ([2.0] * 20, BURST_PULSE),
        ([8.0] * 20, BURST_PULSE),  # fast but steady
        (list(np.linspace(10, 2, 40)), BUZZ),
        (list(np.linspace(4, 2, 40)), BURST_PULSE),  # speeds up, but starts too fast
        ([50.0] * 10, CLICK_TRAIN),
        ([150.0] * 10, CLICK_TRAIN),
    ],
)
def test_classification_rule(intervals_ms, label):
    assert classify_intervals(np.asarray(intervals_ms) * 1e-3) == label


def test_streaming_grouping_equals_offline(rng):
    burst = render_burst_pulse(
        sample_rate=SR, rng=rng, duration_s=0.2, ipi_range_s=(3e-3, 3e-3), centre_hz=40e3
    )
    echo = render_click_train(
        sample_rate=SR, rng=rng, duration_s=0.6, ici_range_s=(0.04, 0.04), centre_hz=35e3
    )
    x = background(1.5, rng)
    add_at(x, burst.samples.astype(float), 0.1, 0.1)
    add_at(x, echo.samples.astype(float), 0.6, 0.1)
    clicks = detect_clicks(x, sample_rate=SR)
    offline = group_clicks(clicks)
    tracker = ClickTrainTracker()
    streamed = []
    for i in range(0, len(clicks), 7):
        streamed += tracker.process(clicks[i : i + 7])
    streamed += tracker.flush()
    assert [t.label for t in offline] == [BURST_PULSE, CLICK_TRAIN]
    assert [(t.label, t.clicks) for t in streamed] == [(t.label, t.clicks) for t in offline]


def test_noise_only_gives_no_trains(rng):
    x = background(5.0, rng, rms=0.05)
    assert group_clicks(detect_clicks(x, sample_rate=SR)) == []
