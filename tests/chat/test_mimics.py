"""Synthetic imitations: transposed, warped, partial; pulsed renditions; scenes at an SNR."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.chat.mimics import (
    PULSED_STYLES,
    imitate,
    make_scene,
    natural_whistles,
    pulse_times,
    whistle_sound,
)
from dolphin.synth.snr import band_power

from .conftest import SR


def test_imitation_is_transposed_warped_and_optionally_partial(vocab):
    model = vocab["rope"].contour
    rng = np.random.default_rng(0)
    for _ in range(5):
        copy = imitate(model, rng=rng, shift=(0.1, 0.1), wobble_semitones=0.0, jitter_semitones=0.0)
        ratio = np.exp(np.mean(np.log(copy.freqs_hz)) - np.mean(np.log(model.freqs_hz)))
        assert abs(abs(ratio - 1) - 0.1) < 0.03  # 10 % up or down (warping moves the mean a bit)
        assert 0.85 * model.duration_s <= copy.duration_s <= 1.15 * model.duration_s
    part = imitate(model, rng=rng, partial=(0.7, 0.7))
    assert part.duration_s < 0.8 * model.duration_s and part.times_s[0] == 0.0


def test_pulse_rate_traces_the_contour(vocab):
    model = vocab["bow"].contour
    divisor, scale = PULSED_STYLES["click_train"]
    times = pulse_times(model, divisor=divisor, time_scale=scale)
    rate = 1 / np.diff(times)
    mid = 0.5 * (times[1:] + times[:-1]) / scale
    expected = np.interp(mid, model.times_s, model.freqs_hz) / divisor
    assert np.allclose(rate, expected, rtol=0.05)
    assert times[-1] == pytest.approx(scale * model.duration_s, abs=2 / rate.min())


def test_scene_mixes_at_the_requested_snr(vocab):
    rng = np.random.default_rng(2)
    sound = whistle_sound(vocab["scarf"].contour, sample_rate=SR, rng=rng, label="scarf")
    scene = make_scene([sound], sample_rate=SR, rng=rng, snr_db=10.0, noise_rms=0.01)
    t = scene.truth[0]
    assert t.label == "scarf" and t.end_s - t.start_s == pytest.approx(sound.samples.size / SR)
    quiet = make_scene([], sample_rate=SR, rng=np.random.default_rng(9), snr_db=10.0)
    band = dict(sample_rate=SR, low_hz=sound.band_hz[0], high_hz=sound.band_hz[1])
    total = band_power(scene.samples, start_s=t.start_s, end_s=t.end_s, **band)
    noise = band_power(quiet.samples, start_s=0.1, end_s=0.9, **band)
    assert 10 * np.log10(total / noise - 1) == pytest.approx(10.0, abs=1.5)


def test_natural_whistles_put_lookalikes_first(vocab):
    picked = natural_whistles(6, rng=np.random.default_rng(0), vocab=vocab, n_lookalikes=2)
    assert len(picked) == 6
    assert [n.startswith("lookalike") for _, n in picked] == [True, True] + [False] * 4
    assert all(c.times_s[0] == 0.0 for c, _ in picked)
