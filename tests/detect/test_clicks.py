"""Click detector: timing, spectral features, streaming == offline, noise, tones."""

from __future__ import annotations

import numpy as np

from dolphin.detect.clicks import ClickDetector, ClickDetectorConfig, detect_clicks
from dolphin.synth.sounds import click_spectrum, render_click

from .conftest import SR, add_at, background, whistle, whistle_contour


def _click_train(rng, *, centre_hz=40e3, duration_s=40e-6, gain=0.05, n=10, ici_s=0.05):
    click = render_click(sample_rate=SR, centre_hz=centre_hz, duration_s=duration_s)
    x = background(0.2 + n * ici_s, rng)
    times = 0.1 + ici_s * np.arange(n)
    for t in times:
        add_at(x, click.samples.astype(float), t - click.samples.size // 2 / SR, gain)
    return x, times, click


def test_clicks_are_found_on_time(rng):
    x, times, _ = _click_train(rng)
    found = detect_clicks(x, sample_rate=SR)
    assert len(found) == times.size
    assert np.max(np.abs([c.time_s for c in found] - times)) < 50e-6


def test_click_features_match_the_rendered_click(rng):
    x, _, click = _click_train(rng, centre_hz=35e3, duration_s=50e-6)
    found = detect_clicks(x, sample_rate=SR)
    detector = ClickDetector(sample_rate=SR)
    f = np.linspace(detector.low_hz, detector.high_hz, 2000)
    power = click_spectrum(f, centre_hz=35e3, duration_s=50e-6, sample_rate=SR) ** 2
    centroid = np.sum(f * power) / np.sum(power)
    peak = np.median([c.peak_hz for c in found])
    assert abs(peak - click.peak_hz) < 3000
    assert abs(np.median([c.centroid_hz for c in found]) - centroid) < 3000
    for c in found:
        assert c.low_hz <= c.peak_hz <= c.high_hz
        assert 0 < c.bandwidth_3db_hz <= c.bandwidth_10db_hz
        assert 10e-6 < c.duration_s < 200e-6
        assert -45 < c.amplitude_db < -20 and c.snr_db > 13


def test_streaming_equals_offline(rng):
    x, _, _ = _click_train(rng, n=30, ici_s=0.01)
    offline = detect_clicks(x, sample_rate=SR)
    detector = ClickDetector(sample_rate=SR)
    streamed, sizes, i = [], [333, 4097, 1, 960, 12345], 0
    for k in range(10_000):
        n = sizes[k % len(sizes)]
        streamed += detector.process(x[i : i + n])
        i += n
        if i >= x.size:
            break
    streamed += detector.flush()
    assert len(offline) == 30
    assert streamed == offline


def test_noise_only_gives_almost_no_clicks(rng):
    x = background(5.0, rng, rms=0.05)
    assert len(detect_clicks(x, sample_rate=SR)) <= 3  # < 1 false click per second


def test_whistle_harmonics_do_not_trigger(rng):
    x = background(1.0, rng)
    loud = whistle(whistle_contour("up", f0_hz=12000.0, f1_hz=24000.0), amplitude=0.3)
    add_at(x, loud, 0.2)  # fundamental and harmonics sweep through the click band
    assert len(detect_clicks(x, sample_rate=SR)) <= 1


def test_band_shrinks_at_low_sample_rates():
    detector = ClickDetector(sample_rate=48000, config=ClickDetectorConfig(low_hz=20000.0))
    assert detector.low_hz == 12000.0 and detector.high_hz == 0.48 * 48000
    assert detector.process(np.zeros(1000)) == [] and detector.flush() == []
