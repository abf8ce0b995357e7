"""The detection pipeline: labels recovered, pulse classes, streaming == whole file, files."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.annotations import BURST_PULSE, CLICK_TRAIN, WHISTLE
from dolphin.audio.io import read_audio, write_audio
from dolphin.detect.clicks import detect_clicks
from dolphin.detect.contours import track_whistles, whistle_events
from dolphin.detect.evaluate import score_events
from dolphin.detect.pipeline import Detections, Detector, DetectorConfig, detect_file
from dolphin.detect.pulses import group_clicks, train_events
from dolphin.errors import AudioFileError, ConfigError
from dolphin.synth.scene import SceneConfig, make_scene
from dolphin.synth.sounds import render_burst_pulse, render_click_train

from .conftest import SR, add_at, background, whistle, whistle_contour


@pytest.fixture(scope="module")
def scene():
    """8 s at 96 kHz: whistles, burst pulses and click trains at 15-25 dB SNR."""
    cfg = SceneConfig(
        sample_rate=SR,
        duration_s=8.0,
        snr_db_min=15.0,
        snr_db_max=25.0,
        whistle_rate_per_min=20.0,
        sigwi_whistle_rate_per_min=0.0,
        signature_bout_rate_per_min=0.0,
        burst_pulse_rate_per_min=10.0,
        click_train_rate_per_min=10.0,
        buzz_rate_per_min=0.0,
        vessel_prob=0.0,
    )
    return make_scene(cfg, seed=2)


def _key(e):
    """Everything an event carries, comparable."""
    contour = None if e.contour is None else (tuple(e.contour.times_s), tuple(e.contour.freqs_hz))
    return (e.start_s, e.end_s, e.low_hz, e.high_hz, e.label, e.channel, e.score, e.snr_db,
            contour, tuple(sorted(e.extra.items())))  # fmt: skip


def _stream(detector: Detector, x: np.ndarray, sizes) -> Detections:
    found, i = Detections(), 0
    with detector.streaming():
        for n in sizes:
            found.extend(detector.process(x[..., i : i + n]))
            i += n
        found.extend(detector.process(x[..., i:]))
        found.n_before_flush = len(found.events)
        found.extend(detector.flush())
    return found


def test_scene_detections_match_the_labels(scene):
    found = Detector(sample_rate=SR).detect(scene.samples)
    labels = (WHISTLE, BURST_PULSE, CLICK_TRAIN)
    scores = score_events(found.events, scene.events, labels=labels)
    tp = sum(s.tp for s in scores.values())
    assert tp >= 0.8 * sum(s.n_true for s in scores.values())
    assert tp >= 0.6 * sum(s.n_pred for s in scores.values())
    assert scores[WHISTLE].recall == 1.0
    for e in found.events:
        assert e.end_s >= e.start_s and e.high_hz > e.low_hz and 0.0 <= e.score <= 1.0
    whistles = [e for e in found.events if e.label == WHISTLE]
    assert [c.contour_id for c in found.contours] == list(range(1, len(whistles) + 1))
    assert sorted(int(e.extra["Contour ID"]) for e in whistles) == list(range(1, len(whistles) + 1))
    assert found.duration_s == pytest.approx(scene.duration_s)


@pytest.mark.parametrize(
    ("spacing_s", "label"), [(2e-3, BURST_PULSE), (50e-3, CLICK_TRAIN)], ids=["2ms", "50ms"]
)
def test_click_spacing_decides_burst_pulse_or_click_train(spacing_s, label, rng):
    if label == BURST_PULSE:
        train = render_burst_pulse(
            sample_rate=SR, rng=rng, duration_s=0.3, ipi_range_s=(spacing_s,) * 2, centre_hz=40e3
        )
    else:
        train = render_click_train(
            sample_rate=SR, rng=rng, duration_s=1.0, ici_range_s=(spacing_s,) * 2, centre_hz=40e3
        )
    x = background(train.samples.size / SR + 0.4, rng)
    add_at(x, train.samples.astype(float), 0.2, 0.1)
    (event,) = Detector(sample_rate=SR).detect(x).events
    assert event.label == label
    assert float(event.extra["median_ici_ms"]) == pytest.approx(1e3 * spacing_s, rel=0.05)
    assert event.start_s == pytest.approx(0.2 + train.pulse_times_s[0], abs=1e-3)


def test_streaming_equals_whole_file_and_the_offline_detectors(scene):
    x = scene.samples[0]
    detector = Detector(sample_rate=SR)
    whole = detector.detect(x)
    offline = whistle_events(track_whistles(x, sample_rate=SR)) + train_events(
        group_clicks(detect_clicks(x, sample_rate=SR))
    )
    strip = lambda e: _key(e)[:-1]  # noqa: E731  (the offline events have no contour id)
    assert sorted(map(strip, offline)) == [strip(e) for e in whole.events]
    rng = np.random.default_rng(0)
    for sizes in ([1, 7, 4095, 48000], rng.integers(1, 60000, 40), [x.size // 3] * 2):
        found = _stream(detector, x, sizes)
        assert [_key(e) for e in found.events] == [_key(e) for e in whole.events]
        assert found.n_before_flush >= len(whole.events) // 2  # events come out as they end
        assert [(c.contour_id, c.contour, c.score) for c in found.contours] == [
            (c.contour_id, c.contour, c.score) for c in whole.contours
        ]


def test_file_detection_reads_a_chosen_channel_in_blocks(tmp_path, rng):
    x = np.stack([background(2.0, rng), background(2.0, rng)])
    add_at(x[1], whistle(whistle_contour("convex", duration_s=0.5)), 0.7)
    path = write_audio(tmp_path / "two.wav", x.astype(np.float32), SR, subtype="FLOAT")
    cfg = DetectorConfig(channel=1, block_s=0.37)
    found = detect_file(path, cfg)
    ref = Detector(sample_rate=SR, config=cfg).detect(read_audio(path).samples)
    assert [_key(e) for e in found.events] == [_key(e) for e in ref.events]
    (event,) = [e for e in found.events if e.label == WHISTLE]
    assert event.channel == 2 and abs(event.start_s - 0.7) < 0.03
    assert not [
        e for e in detect_file(path, DetectorConfig(channel=0)).events if e.label == WHISTLE
    ]
    with pytest.raises(AudioFileError, match="channel index 2 out of range"):
        detect_file(path, DetectorConfig(channel=2))


@pytest.mark.parametrize("sample_rate", [48000, 384000])
def test_other_sample_rates(sample_rate):
    rng = np.random.default_rng(3)
    n = int(1.5 * sample_rate)
    from dolphin.synth.background import ocean_noise
    from dolphin.synth.sounds import render_whistle

    x = ocean_noise(n_samples=n, sample_rate=sample_rate, rng=rng, rms=0.01).astype(float)
    tone = 0.05 * render_whistle(whistle_contour("up"), sample_rate=sample_rate)
    i = int(0.4 * sample_rate)
    x[i : i + tone.size] += tone[: n - i]
    found = Detector(sample_rate=sample_rate).detect(x)
    (event,) = found.events
    assert event.label == WHISTLE and abs(event.start_s - 0.4) < 0.03
    assert [
        _key(e) for e in _stream(Detector(sample_rate=sample_rate), x, [12345] * 20).events
    ] == [_key(event)]


def test_bad_settings_and_misuse_raise_clear_errors():
    with pytest.raises(ConfigError, match="sample rate 8000 Hz"):
        Detector(sample_rate=8000)
    with pytest.raises(ConfigError, match="block_s"):
        DetectorConfig(block_s=0)
    with pytest.raises(ConfigError, match="channel"):
        DetectorConfig(channel=-1)
    with pytest.raises(RuntimeError, match="streaming"):
        Detector(sample_rate=SR).process(np.zeros(100))
    with pytest.raises(ValueError, match="channel 3 out of range"):
        Detector(sample_rate=SR, config=DetectorConfig(channel=3)).detect(np.zeros((2, 100)))
