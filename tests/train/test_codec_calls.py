"""Extra calls laid over codec training scenes: SNR, spans, determinism, config wiring."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.errors import ConfigError
from dolphin.synth.snr import band_passed
from dolphin.train.codec_calls import add_calls, render_call
from dolphin.train.codec_data import CodecCrops, CodecDataConfig

SR = 48000


def test_calls_are_pulsed_stacks_or_short_low_whistles() -> None:
    rng = np.random.default_rng(0)
    bands = [render_call(rng, SR)[1] for _ in range(40)]
    assert all(0 < low < high <= 0.45 * SR for low, high in bands)
    assert min(low for low, _ in bands) < 2000  # reaches below the scene generator's whistles


def test_add_calls_sets_each_band_snr_and_reports_spans() -> None:
    rng = np.random.default_rng(1)
    noise = (0.01 * rng.standard_normal(2 * SR)).astype(np.float32)
    y, spans = add_calls(
        noise, sample_rate=SR, rng=np.random.default_rng(2), n_calls=1, snr_db=(20.0, 20.0)
    )
    assert y.dtype == np.float32 and y.shape == noise.shape and len(spans) == 1
    ((start_s, end_s),) = spans
    i0, i1 = int(round(start_s * SR)), int(round(end_s * SR))
    assert np.array_equal(y[:i0], noise[:i0]) and np.array_equal(y[i1:], noise[i1:])
    _, (low, high) = render_call(np.random.default_rng(2), SR)
    band = dict(sample_rate=SR, i0=i0, i1=i1, low_hz=low, high_hz=high)
    p_call = np.mean(band_passed(y - noise, **band) ** 2)
    p_noise = np.mean(band_passed(noise, **band) ** 2)
    assert 10 * np.log10(p_call / p_noise) == pytest.approx(20.0, abs=0.5)


def test_crops_carry_calls_only_when_asked_and_stay_deterministic() -> None:
    kw = dict(scene_s=1.0, crop_s=0.5, crops_per_scene=2, event_rate_scale=0.0)
    plain = CodecCrops(CodecDataConfig(**kw), sample_rate=SR)
    calls = CodecCrops(CodecDataConfig(call_rate_per_s=4.0, **kw), sample_rate=SR)
    assert plain._scene(0)[1] == []  # no events at all without calls
    samples, spans = calls._scene(0)
    assert len(spans) > 0 and not np.array_equal(samples, plain._scene(0)[0])
    again = CodecCrops(CodecDataConfig(call_rate_per_s=4.0, **kw), sample_rate=SR)
    assert np.array_equal(again[1].numpy(), calls[1].numpy())
    with pytest.raises(ConfigError, match="call_rate_per_s"):
        CodecDataConfig(call_rate_per_s=-1.0)
