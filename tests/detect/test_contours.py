"""Whistle contour tracker: accuracy, crossings, harmonics, streaming == offline, noise."""

from __future__ import annotations

import numpy as np

from dolphin.annotations import WHISTLE, Contour
from dolphin.detect.contours import (
    WhistleTracker,
    WhistleTrackerConfig,
    track_whistles,
    whistle_events,
)

from .conftest import SR, add_at, background, whistle, whistle_contour


def _relative_error(found: Contour, truth: Contour) -> np.ndarray:
    inside = (found.times_s >= truth.times_s[0]) & (found.times_s <= truth.times_s[-1])
    ref = np.interp(found.times_s[inside], truth.times_s, truth.freqs_hz)
    return np.abs(found.freqs_hz[inside] - ref) / ref


def test_rendered_whistle_is_traced(rng):
    truth = whistle_contour("convex").shifted(0.3)
    x = background(1.2, rng)
    add_at(x, whistle(truth.shifted(-0.3)), 0.3)
    found = track_whistles(x, sample_rate=SR)
    assert len(found) == 1
    w = found[0]
    assert np.median(_relative_error(w.contour, truth)) < 0.02
    assert abs(w.start_s - 0.3) < 0.03 and abs(w.end_s - 0.9) < 0.03
    assert 0.5 < w.score <= 1.0 and w.mean_snr_db > 15


def test_crossing_whistles_give_two_contours(rng):
    up, down = whistle_contour("up"), whistle_contour("down")
    x = background(1.2, rng)
    add_at(x, whistle(up, harmonics=(1.0,)), 0.3)
    add_at(x, whistle(down, harmonics=(1.0,)), 0.3)
    found = track_whistles(x, sample_rate=SR)
    assert len(found) == 2
    for truth in (up.shifted(0.3), down.shifted(0.3)):
        errors = [np.median(_relative_error(w.contour, truth)) for w in found]
        best = found[int(np.argmin(errors))]
        assert min(errors) < 0.02
        assert best.contour.duration_s > 0.5  # followed through the crossing, not cut there


def test_harmonics_do_not_add_contours(rng):
    truth = whistle_contour("convex", f0_hz=5000.0, f1_hz=9000.0)
    x = background(1.2, rng)
    add_at(x, whistle(truth, harmonics=(1.0, 0.6, 0.4)), 0.3)
    found = track_whistles(x, sample_rate=SR)
    assert len(found) == 1
    assert np.median(_relative_error(found[0].contour, truth.shifted(0.3))) < 0.02


def test_streaming_equals_offline(rng):
    x = background(2.0, rng)
    add_at(x, whistle(whistle_contour("convex")), 0.2)
    add_at(x, whistle(whistle_contour("up", f0_hz=4000.0, f1_hz=9000.0)), 1.1)
    offline = track_whistles(x, sample_rate=SR)
    tracker = WhistleTracker(sample_rate=SR)
    streamed, i = [], 0
    sizes = [1001, 777, 24001, 13, 5000]  # none divides the 240-sample hop
    while i < x.size:
        n = sizes[len(streamed) % len(sizes)]
        streamed += tracker.process(x[None, i : i + n])  # [C, N] blocks work too
        i += n
    streamed += tracker.flush()
    assert len(offline) == 2
    assert sorted(streamed, key=lambda w: w.start_s) == offline


def test_reused_block_buffer_does_not_change_contours(rng):
    # A reader may refill one buffer for every block: the tracker must keep no view of it.
    x = background(2.0, rng).astype(np.float32)
    add_at(x, whistle(whistle_contour("convex")), 0.2)
    offline = track_whistles(x, sample_rate=SR)
    tracker, buffer, streamed = WhistleTracker(sample_rate=SR), np.empty(30001, np.float32), []
    for i in range(0, x.size, buffer.size):
        n = min(buffer.size, x.size - i)
        buffer[:n] = x[i : i + n]
        streamed += tracker.process(buffer[:n])
        buffer[:] = np.nan  # the reader moves on
    streamed += tracker.flush()
    assert len(offline) == 1 and streamed == offline


def test_noise_only_gives_no_contours(rng):
    x = background(3.0, rng, rms=0.05)
    assert track_whistles(x, sample_rate=SR) == []


def test_loops_become_one_event(rng):
    loop = whistle_contour("up", duration_s=0.3)
    x = background(1.5, rng)
    for start in (0.2, 0.6, 1.0):  # three loops 100 ms apart
        add_at(x, whistle(loop), start)
    found = track_whistles(x, sample_rate=SR)
    assert len(found) == 3
    events = whistle_events(found)
    assert len(events) == 1
    event = events[0]
    assert event.label == WHISTLE and event.extra["Loops"] == "3"
    assert abs(event.start_s - 0.2) < 0.03 and abs(event.end_s - 1.3) < 0.03
    assert event.low_hz < 8000 < 16000 < event.high_hz


def test_config_band_and_rate_are_respected():
    config = WhistleTrackerConfig(fmin_hz=3000.0, fmax_hz=60000.0)
    tracker = WhistleTracker(sample_rate=48000, config=config)
    assert tracker.n_fft == 384 and tracker.hop == 120  # 8 ms and 2.5 ms at 48 kHz
    x = np.zeros(4800)
    assert tracker.process(x) == [] and tracker.flush() == []


def _dense_peaks(tracker: WhistleTracker, snr: np.ndarray) -> np.ndarray:
    """Step 3 of the tracker cell by cell (its earlier dense form), ``[n_frames, F]`` bool."""
    cfg, snr = tracker.config, snr.T  # [F + 2, n_frames]
    centre = snr[1:-1]
    above = centre >= cfg.peak_snr_db
    is_peak = above & (centre > snr[:-2]) & (centre >= snr[2:])
    n_bins, width, n = centre.shape[0], tracker._broadband_bins, snr.shape[1]
    padded = np.zeros((-(-n_bins // width) * width, n), bool)
    padded[:n_bins] = above
    count = np.count_nonzero(padded.reshape(-1, width, n), axis=1)
    is_peak &= ~np.repeat(count / width > cfg.broadband_fraction, width, axis=0)[:n_bins]
    comb = tracker._comb_bins
    counts = np.cumsum(np.pad(is_peak, ((comb + 1, comb), (0, 0))), axis=0)
    is_peak &= ~(counts[2 * comb + 1 :] - counts[:n_bins] >= cfg.comb_peaks)
    strong = np.full((n_bins + 2, n), -np.inf, np.float32)
    strong[1:-1] = np.where(is_peak, centre, -np.inf)
    strong = np.maximum(np.maximum(strong[:-2], strong[1:-1]), strong[2:])
    for lo, fund in tracker._harmonics:
        is_peak[lo:] &= strong[fund] < centre[lo:] - cfg.harmonic_snr_db
    return is_peak.T


def test_sparse_peak_tests_equal_dense_ones(rng):
    tracker = WhistleTracker(sample_rate=SR)
    n_bins = tracker._b1 - tracker._b0 + 1
    for _ in range(5):
        snr = (rng.standard_normal((200, n_bins + 2)) * 6).astype(np.float32)
        snr[20:40, 30:90:3] += 25.0  # pulse combs, broadband columns, harmonic stacks
        snr[50:60, :] += 20.0
        fund = rng.integers(tracker._b0 + 5, (n_bins + tracker._b0) // 3, 40)  # absolute bins
        for k in (1, 2, 3):  # harmonics, some strong enough to pass as fundamentals
            snr[np.arange(100, 140), k * fund - tracker._b0 + 1] += 30.0 - 2.0 * k
        frames, bins = tracker._peaks(snr)
        expected = _dense_peaks(tracker, snr)
        got = np.zeros_like(expected)
        got[frames, bins] = True
        assert np.array_equal(got, expected) and expected.any()
        assert np.all(np.diff(frames * (n_bins + 1) + bins) > 0)  # frame-major order
