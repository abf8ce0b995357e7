"""Sound renderers: whistle contours, band-limiting, pulse intervals, background."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from dolphin.annotations import Contour
from dolphin.synth import sounds
from dolphin.synth.contours import random_contour

from .conftest import measure_contour


def _spectrum_db(x: np.ndarray, sample_rate: int, n_fft: int = 4096):
    spec = np.abs(np.fft.rfft(x, n_fft)) ** 2
    return np.fft.rfftfreq(n_fft, 1 / sample_rate), 10 * np.log10(spec + 1e-30)


@pytest.mark.parametrize("shape", ["upsweep", "convex", "sine"])
def test_rendered_whistle_follows_its_contour(shape):
    rng = np.random.default_rng(0)
    contour = random_contour(rng=rng, shape=shape, duration_s=0.5, fmin_hz=5000, fmax_hz=20000)
    x = sounds.render_whistle(contour, sample_rate=96000, am_depth=0.3, rng=rng)
    assert x.dtype == np.float32 and x.size == int(0.5 * 96000) + 1
    errors = measure_contour(
        x, sample_rate=96000, contour=contour, t0_s=0.0, low_hz=4000, high_hz=21000
    )
    assert errors.size > 50 and np.median(errors) < 0.01


def test_whistle_loops_are_separated_by_silence():
    loop = np.arange(0, 0.2, 1e-3)
    contour = Contour(np.concatenate([loop, loop + 0.3]), np.full(2 * loop.size, 9000.0))
    x = sounds.render_whistle(contour, sample_rate=48000)
    gap = x[int(0.21 * 48000) : int(0.29 * 48000)]
    assert np.all(gap == 0) and np.abs(x[: int(0.2 * 48000)]).max() > 0.9


def test_harmonics_do_not_fold_at_48k():
    contour = Contour(np.arange(301) * 1e-3, np.full(301, 15000.0))
    x = sounds.render_whistle(contour, sample_rate=48000, harmonics=(1.0, 0.5, 0.3))
    f, db = _spectrum_db(x, 48000, 16384)
    ref = db[np.argmin(np.abs(f - 15000))]
    for alias in (18000.0, 3000.0):  # 30 kHz and 45 kHz folded about 24 kHz
        assert db[np.argmin(np.abs(f - alias))] < ref - 80
    y = sounds.render_whistle(contour, sample_rate=96000, harmonics=(1.0, 0.5, 0.3))
    f, db = _spectrum_db(y, 96000, 32768)
    assert db[np.argmin(np.abs(f - 30000))] > db[np.argmin(np.abs(f - 15000))] - 10


def test_click_band_limited_like_oversampled_then_resampled():
    low = sounds.render_click(sample_rate=48000, centre_hz=100e3, duration_s=20e-6)
    high = sounds.render_click(sample_rate=384000, centre_hz=100e3, duration_s=20e-6)
    ref = resample_poly(high.samples.astype(np.float64), 1, 8)
    f, db_low = _spectrum_db(low.samples, 48000)
    _, db_ref = _spectrum_db(ref, 48000)
    passband = (f > 3000) & (f < 0.40 * 48000)
    assert np.max(np.abs(db_low[passband] - db_ref[passband])) < 0.5
    assert np.all(db_low[f > 0.49 * 48000] < db_low.max() - 70)
    # Naive sampling of the continuous click aliases: its spectrum is far from the reference.
    t = (np.arange(low.samples.size) - low.samples.size // 2) / 48000
    naive = np.exp(-0.5 * (t / 5e-6) ** 2) * np.cos(2 * np.pi * 100e3 * t)
    _, db_naive = _spectrum_db(naive, 48000)
    assert np.max(np.abs(db_naive[passband] - db_ref[passband])) > 6
    assert high.in_band_db > -0.1 and low.in_band_db < -20
    assert 40e3 < high.low_hz < 100e3 < high.high_hz and high.high_hz < 0.49 * 384000
    assert low.high_hz <= 0.49 * 48000


def test_click_shape_at_high_rate():
    click = sounds.render_click(sample_rate=500000, centre_hz=60e3, duration_s=40e-6)
    x = click.samples.astype(np.float64)
    energy = np.cumsum(x**2) / np.sum(x**2)
    span = (np.searchsorted(energy, 0.99) - np.searchsorted(energy, 0.01)) / 500000
    assert 20e-6 < span < 72e-6
    f, db = _spectrum_db(x, 500000, 8192)
    centroid = np.sum(f * 10 ** (db / 10)) / np.sum(10 ** (db / 10))
    assert 50e3 < centroid < 70e3


def test_click_train_intervals():
    rng = np.random.default_rng(1)
    for _ in range(5):
        train = sounds.render_click_train(sample_rate=96000, rng=rng, duration_s=2.0)
        assert train.intervals_s.min() >= 0.02 - 1e-4 and train.intervals_s.max() <= 0.2 + 1e-4
        assert train.pulse_times_s[-1] - train.pulse_times_s[0] >= 2.0
        idx = np.round(train.pulse_times_s * 96000).astype(int)
        peaks = [np.abs(train.samples[i - 3 : i + 4]).max() for i in idx]
        assert min(peaks) > 10 * np.abs(train.samples[idx[0] + 200 : idx[1] - 200]).max()


def test_burst_pulse_and_buzz_intervals():
    rng = np.random.default_rng(2)
    for _ in range(5):
        bp = sounds.render_burst_pulse(sample_rate=96000, rng=rng, duration_s=0.3)
        assert bp.intervals_s.min() >= 0.5e-3 - 2e-5 and bp.intervals_s.max() <= 10e-3 + 2e-5
    buzz = sounds.render_buzz(sample_rate=96000, rng=rng, duration_s=0.5)
    ici = buzz.intervals_s
    assert ici[0] > ici[-1] and 2e-3 - 2e-5 <= ici.min() and ici.max() <= 10e-3
    assert np.mean(np.diff(ici) <= 1.1e-5) > 0.95  # decreasing up to rounding to samples


def test_pulsed_call_is_a_harmonic_stack_of_its_repetition_rate():
    sr, rate = 96000, 800.0
    contour = Contour(np.array([0.0, 0.5]), np.array([rate, rate]))
    x = sounds.render_pulsed_call(contour, sample_rate=sr, centre_hz=4000.0, width_octaves=1.0)
    assert x.dtype == np.float32 and x.size == int(0.5 * sr) + 1
    assert np.isclose(np.abs(x).max(), 1.0)
    freqs, db = _spectrum_db(x[10000:30000], sr, n_fft=32768)
    peaks = [
        freqs[np.argmax(np.where(np.abs(freqs - k * rate) < 100, db, -np.inf))] for k in (4, 5, 6)
    ]
    assert np.allclose(peaks, [3200.0, 4000.0, 4800.0], atol=10.0)
    between = db[np.abs(freqs - 4400.0) < 50].max()
    assert db[np.abs(freqs - 4000.0) < 50].max() - between > 40  # lines, not a band
    far = db[np.abs(freqs - 16000.0) < 400].max()
    assert db.max() - far > 40  # the envelope confines the stack around its centre
    with pytest.raises(ValueError, match="centre_hz"):
        sounds.render_pulsed_call(contour, sample_rate=sr, centre_hz=0.0)


def test_pulsed_call_harmonics_glide_with_the_rate_and_do_not_fold():
    sr = 48000
    contour = Contour(np.array([0.0, 0.4]), np.array([400.0, 800.0]))
    x = sounds.render_pulsed_call(contour, sample_rate=sr, centre_hz=15000.0, width_octaves=3.0)
    freqs, db = _spectrum_db(x, sr, n_fft=len(x))
    assert db[freqs > 0.46 * sr].max() < db.max() - 60  # nothing at or above 0.45 x the rate

    def period_s(seg: np.ndarray) -> float:  # strongest autocorrelation lag in 1-3.3 ms
        ac = np.correlate(seg, seg, "full")[seg.size - 1 :]
        lags = np.arange(sr // 1000, sr // 300)
        return lags[np.argmax(ac[lags])] / sr

    rate_early, rate_late = 1 / period_s(x[1000:3000]), 1 / period_s(x[-3000:-1000])
    assert rate_early == pytest.approx(442.0, rel=0.05)  # the repetition rate, not a harmonic
    assert rate_late == pytest.approx(758.0, rel=0.05)
