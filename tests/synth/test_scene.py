"""Scene mixing and labels: SNR measured from the mixture, placement, determinism, config."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from dolphin.annotations import EVENT_CLASSES, WHISTLE
from dolphin.errors import ConfigError
from dolphin.synth.scene import WHISTLE_MARGIN_HZ, SceneConfig, derive_seed, make_scene
from dolphin.synth.snr import band_power

from .conftest import measure_contour, small_config, whistle_config


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sample_rate", 8000),
        ("sample_rate", 1_000_000),
        ("duration_s", 0.0),
        ("n_channels", 0),
        ("noise_rms", -1.0),
        ("buzz_rate_per_min", -1.0),
        ("vessel_prob", 1.5),
        ("subtype", "MP3"),
        ("start_utc", "yesterday"),
    ],
)
def test_config_validation_names_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        SceneConfig(**{field: value})


def test_snr_range_must_be_ordered():
    with pytest.raises(ConfigError, match="snr_db_min"):
        SceneConfig(snr_db_min=10.0, snr_db_max=5.0)


def test_same_seed_same_scene_and_different_seeds_differ():
    cfg = small_config(sample_rate=48000, duration_s=1.5, shrimp_rate_hz=5.0, vessel_prob=1.0)
    a, b, c = make_scene(cfg), make_scene(cfg), make_scene(cfg, seed=cfg.seed + 1)
    assert a.samples.dtype == np.float32 and a.samples.shape == (1, 72000)
    assert np.array_equal(a.samples, b.samples) and a.events == b.events
    assert not np.array_equal(a.samples, c.samples)
    assert derive_seed(0, 1) == derive_seed(0, 1) != derive_seed(0, 2) != derive_seed(1, 1)


def test_population_is_shared_across_scene_seeds():
    cfg = small_config(sample_rate=48000, duration_s=1.0)
    a, b = make_scene(cfg, seed=1), make_scene(cfg, seed=2)
    assert [i.signature_type.base for i in a.individuals] == [
        i.signature_type.base for i in b.individuals
    ]


@pytest.mark.parametrize("name", ["whistle_scene", "pulse_scene"])
def test_labels_are_consistent(name, request):
    scene = request.getfixturevalue(name)
    nyquist = scene.sample_rate / 2
    counts = collections.Counter(e.label for e in scene.events)
    assert counts[WHISTLE] >= 5 if name == "whistle_scene" else sum(counts.values()) >= 3
    for e, pulses in zip(scene.events, scene.pulse_times_s, strict=True):
        assert e.label in EVENT_CLASSES and e.snr_db is not None and e.individual != ""
        assert 0 <= e.start_s < e.end_s <= scene.duration_s and 0 <= e.low_hz < e.high_hz <= nyquist
        if e.label == WHISTLE:
            c = e.contour
            assert pulses is None and e.start_s == pytest.approx(c.times_s[0], abs=1e-9)
            assert e.end_s - 0.016 <= c.times_s[-1] <= e.end_s
            assert e.low_hz == pytest.approx(c.freqs_hz.min() - WHISTLE_MARGIN_HZ)
            assert e.high_hz == pytest.approx(c.freqs_hz.max() + WHISTLE_MARGIN_HZ)
            assert e.signature == e.whistle_type.startswith("sig-")
            if e.signature:
                assert e.whistle_type == f"sig-{e.individual}"
        else:
            assert e.contour is None and e.start_s < pulses[0] < pulses[-1] < e.end_s


def _reaches(other, event) -> bool:
    """Whether ``other`` puts energy in ``event``'s band (whistles: 3 harmonics; pulses: all)."""
    bands = [(0.0, np.inf)]
    if other.label == WHISTLE:
        bands = [(k * other.low_hz, k * other.high_hz) for k in (1, 2, 3)]
    return any(lo < event.high_hz and event.low_hz < hi for lo, hi in bands)


def _free_noise_power(scene, event) -> float:
    """Band power of the mixture where no event shares the band (the SNR reference)."""
    sr, x = scene.sample_rate, scene.samples[0]
    taken = np.zeros(x.size, bool)
    for other in scene.events:
        if _reaches(other, event):
            taken[max(int((other.start_s - 0.03) * sr), 0) : int((other.end_s + 0.03) * sr)] = True
    edges = np.flatnonzero(np.diff(np.concatenate([[1], taken.astype(int), [1]])))
    powers, weights = [], []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a > 0.05 * sr:
            kw = dict(sample_rate=sr, low_hz=event.low_hz, high_hz=event.high_hz)
            powers.append(band_power(x, start_s=a / sr, end_s=b / sr, **kw))
            weights.append(b - a)
    assert sum(weights) > 0.3 * sr, "not enough noise-only mixture to estimate the noise"
    return float(np.average(powers, weights=weights))


def _measured_snr_db(scene, event, pulses, p_noise) -> float:
    kw = dict(sample_rate=scene.sample_rate, low_hz=event.low_hz, high_hz=event.high_hz)
    p_mix = band_power(
        scene.samples[0], start_s=event.start_s, end_s=event.end_s, pulse_times_s=pulses, **kw
    )
    return 10 * np.log10(max(p_mix - p_noise, 1e-30) / p_noise)


def test_whistle_snr_measured_from_the_mixture_alone(whistle_scene):
    """The SNR refers to the noise inside the event; estimated from noise-only stretches of the
    mixture, a short narrow-band event's local noise differs by chance (relative std of the power
    is 1 / sqrt(bandwidth x duration)), so those get 2 dB instead of 1 dB."""
    checked = 0
    for e in whistle_scene.events:
        if e.label == WHISTLE:
            measured = _measured_snr_db(whistle_scene, e, None, _free_noise_power(whistle_scene, e))
            tolerance = 1.0 if (e.high_hz - e.low_hz) * e.duration_s >= 400 else 2.0
            assert measured == pytest.approx(e.snr_db, abs=tolerance)
            checked += 1
    assert checked >= 5


def test_pulsed_snr_measured_from_the_mixture(pulse_scene):
    scene, checked = pulse_scene, 0
    for e, pulses in zip(scene.events, scene.pulse_times_s, strict=True):
        if pulses is not None:
            kw = dict(sample_rate=scene.sample_rate, low_hz=e.low_hz, high_hz=e.high_hz)
            p_noise = band_power(scene.noise[0], start_s=e.start_s, end_s=e.end_s, **kw)
            assert _measured_snr_db(scene, e, pulses, p_noise) == pytest.approx(e.snr_db, abs=1.5)
            checked += 1
    assert checked >= 3


@pytest.mark.parametrize("name", ["whistle_scene", "pulse_scene"])
def test_events_are_inside_their_labels(name, request):
    """In-box energy stands out; the same band just before and after the box is only noise."""
    scene = request.getfixturevalue(name)
    sr = scene.sample_rate
    for e in scene.events:
        p_noise = _free_noise_power(scene, e)
        kw = dict(sample_rate=sr, low_hz=e.low_hz, high_hz=e.high_hz)
        inside = band_power(scene.samples[0], start_s=e.start_s, end_s=e.end_s, **kw)
        if e.label == WHISTLE:
            assert inside > p_noise * (1 + 0.7 * 10 ** (e.snr_db / 10))
        for a, b in ((e.start_s - 0.1, e.start_s - 0.005), (e.end_s + 0.005, e.end_s + 0.1)):
            clear = all(
                o.end_s + 0.03 < a or o.start_s - 0.03 > b or not _reaches(o, e)
                for o in scene.events
                if o is not e
            )
            if clear and a > 0 and b < scene.duration_s:
                outside = band_power(scene.samples[0], start_s=a, end_s=b, **kw)
                assert outside < 1.6 * p_noise


def test_whistle_contour_readable_from_the_mixture(whistle_scene):
    scene, sr, checked = whistle_scene, whistle_scene.sample_rate, 0
    for e in scene.events:
        if e.label == WHISTLE and e.snr_db >= 10:
            a, b = int(e.start_s * sr), int(e.end_s * sr)
            errors = measure_contour(
                scene.samples[0, a:b],
                sample_rate=sr,
                contour=e.contour,
                t0_s=a / sr,
                low_hz=e.low_hz,
                high_hz=e.high_hz,
            )
            assert np.median(errors) < 0.015
            checked += 1
    assert checked >= 3


def test_realistic_background_snr_against_the_noise_stem():
    cfg = whistle_config(shrimp_rate_hz=20.0, vessel_prob=1.0, seed=3, duration_s=6.0)
    scene, checked = make_scene(cfg), 0
    for e in scene.events:
        if e.label == WHISTLE:
            kw = dict(sample_rate=scene.sample_rate, low_hz=e.low_hz, high_hz=e.high_hz)
            p_noise = band_power(scene.noise[0], start_s=e.start_s, end_s=e.end_s, **kw)
            assert _measured_snr_db(scene, e, None, p_noise) == pytest.approx(e.snr_db, abs=1.0)
            checked += 1
    assert checked >= 4


def test_loud_scene_is_scaled_not_clipped():
    cfg = small_config(
        sample_rate=48000, duration_s=2.0, snr_db_min=60, snr_db_max=60, noise_rms=0.05
    )
    scene = make_scene(cfg)
    assert scene.gain < 1.0 and np.abs(scene.samples).max() <= 10 ** (-1 / 20) + 1e-6
    assert scene.events and all(e.snr_db == 60 for e in scene.events)


def test_low_rate_and_multichannel_scene():
    cfg = small_config(sample_rate=48000, duration_s=3.0, n_channels=2)
    scene = make_scene(cfg)
    assert scene.samples.shape == scene.noise.shape == (2, 144000)
    assert not np.array_equal(scene.samples[0], scene.samples[1])
    for e in scene.events:
        limit = 0.40 * 48000 + WHISTLE_MARGIN_HZ if e.label == WHISTLE else 0.49 * 48000
        assert e.high_hz <= limit


def test_16k_scene_drops_pulses_openly():
    scene = make_scene(small_config(sample_rate=16000, duration_s=2.0))
    assert scene.samples.shape == (1, 32000)
    assert all(e.high_hz <= 8000 for e in scene.events)


def test_signature_whistles_come_in_bouts():
    cfg = small_config(
        sample_rate=48000,
        duration_s=40.0,
        signature_bout_rate_per_min=6.0,
        whistle_rate_per_min=0.0,
        sigwi_whistle_rate_per_min=0.0,
        burst_pulse_rate_per_min=0.0,
        click_train_rate_per_min=0.0,
        buzz_rate_per_min=0.0,
        seed=5,
    )
    scene = make_scene(cfg)
    bouts = collections.defaultdict(list)
    for e in scene.events:
        assert e.signature and e.label == WHISTLE
        bouts[e.extra["Bout"]].append(e)
    assert any(len(b) >= 2 for b in bouts.values())
    for bout in bouts.values():
        assert len({(e.individual, e.whistle_type) for e in bout}) == 1
        for a, b in zip(bout, bout[1:], strict=False):
            assert 1.0 - 1e-6 <= b.start_s - a.end_s <= 10.0 + 1e-6
