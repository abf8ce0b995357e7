"""DTW contour distance: invariances, bounded tolerance, agreement with a plain reference."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.annotations import Contour
from dolphin.detect.dtw import (
    DTWConfig,
    contour_shapes,
    cross_dtw,
    dtw_distance,
    pairwise_dtw,
)
from dolphin.synth.contours import WhistleType, random_contour, render_rendition


def arch(duration_s: float = 0.6, f0_hz: float = 8000.0, f1_hz: float = 16000.0) -> Contour:
    """A convex whistle from f0 up to f1 and back, 1 ms steps."""
    t = np.arange(0.0, duration_s + 1e-9, 1e-3)
    return Contour(t, f0_hz + (f1_hz - f0_hz) * np.sin(np.pi * t / duration_s))


def reference_dtw(x: np.ndarray, y: np.ndarray, w: int) -> float:
    """Textbook symmetric-step DTW in a Sakoe-Chiba band, normalised by 2n."""
    n = x.size
    d = np.full((n, n), np.inf)
    for i in range(n):
        for j in range(max(0, i - w), min(n, i + w + 1)):
            c = abs(x[i] - y[j])
            if i == j == 0:
                d[i, j] = 2 * c
                continue
            options = [d[i - 1, j - 1] + 2 * c if i and j else np.inf]
            options += [d[i - 1, j] + c if i else np.inf, d[i, j - 1] + c if j else np.inf]
            d[i, j] = min(options)
    return d[-1, -1] / (2 * n)


def test_kernel_matches_reference(rng):
    contours = [random_contour(rng=rng) for _ in range(5)]
    config = DTWConfig(n_points=20, shift_weight=0.0, stretch_weight=0.0)
    shapes = contour_shapes(contours, config=config)
    d = pairwise_dtw(shapes)
    for i in range(5):
        for j in range(5):
            expected = 0.0 if i == j else reference_dtw(*shapes.shapes[[i, j]], config.band_points)
            assert d[i, j] == pytest.approx(expected, abs=1e-12)
    assert np.allclose(cross_dtw(shapes, shapes), d + np.diag(np.diag(cross_dtw(shapes, shapes))))


def test_pairwise_symmetric_and_equal_to_cross(rng):
    contours = [random_contour(rng=rng) for _ in range(7)]
    d = pairwise_dtw(contours)
    assert d.shape == (7, 7) and np.allclose(d, d.T) and np.all(np.diag(d) == 0)
    assert np.allclose(
        cross_dtw(contours, contours)[~np.eye(7, dtype=bool)], d[~np.eye(7, dtype=bool)]
    )
    assert pairwise_dtw(contours[:1]).shape == (1, 1) and pairwise_dtw([]).shape == (0, 0)


def test_moderate_shift_and_stretch_are_free():
    base = arch()
    shifted = Contour(base.times_s, base.freqs_hz * 1.04)  # ~0.68 semitones
    stretched = Contour(base.times_s * 1.15, base.freqs_hz)
    assert dtw_distance(base, shifted) == pytest.approx(0.0, abs=1e-9)
    assert dtw_distance(base, stretched) == pytest.approx(0.0, abs=1e-9)
    assert dtw_distance(base, base.shifted(3.0)) == pytest.approx(0.0, abs=1e-9)


def test_large_shift_and_stretch_are_penalised():
    base = arch()
    cfg = DTWConfig()
    octave = Contour(base.times_s, base.freqs_hz * 2.0)  # 12 semitones
    beyond = 12.0 - cfg.free_shift_semitones
    assert dtw_distance(base, octave) == pytest.approx(cfg.shift_weight * beyond, rel=1e-6)
    long = Contour(base.times_s * 3.0, base.freqs_hz)
    excess = np.log(3.0) - np.log1p(cfg.free_stretch)
    assert dtw_distance(base, long) == pytest.approx(cfg.stretch_weight * excess, rel=1e-6)


def test_without_shift_tolerance_the_shift_counts():
    base = arch()
    shifted = Contour(base.times_s, base.freqs_hz * 1.04)
    plain = DTWConfig(normalise_shift=False)
    # warping can absorb part of the 0.68-semitone offset, but not all of it
    assert 0.1 < dtw_distance(base, shifted, config=plain) <= 12 * np.log2(1.04) + 1e-9
    assert dtw_distance(base, shifted) == pytest.approx(0.0, abs=1e-9)


def test_warping_beats_shape_change():
    base = arch()
    u = base.times_s / base.duration_s
    warped = Contour(base.times_s, np.interp(u**1.15, u, base.freqs_hz))  # peak moved earlier
    t = base.times_s
    upsweep = Contour(t, 8000.0 + 8000.0 * t / t[-1])
    d_warp = dtw_distance(base, warped)
    assert d_warp < 0.3 < 2.0 < dtw_distance(base, upsweep)
    rigid = DTWConfig(band=0.0)
    assert dtw_distance(base, warped, config=rigid) > d_warp


def test_loops_of_a_rendition_compared_by_first_loop(rng):
    kind = WhistleType("sig-x", arch(0.4), min_loops=1, max_loops=3, loop_gap_s=0.1)
    one = render_rendition(kind, rng=rng, n_loops=1)
    three = render_rendition(kind, rng=rng, n_loops=3)
    assert dtw_distance(one, three) < 0.3
    assert dtw_distance(one, three, config=DTWConfig(loop="whole")) > 1.0


def test_shapes_record_mean_and_duration():
    shapes = contour_shapes([arch(0.5, 4000.0, 4000.5)])
    assert shapes.shapes.shape == (1, 48)
    assert shapes.mean_semitones[0] == pytest.approx(24, abs=0.01)  # 4 kHz: 2 octaves above 1 kHz
    assert shapes.duration_s[0] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "contour, problem",
    [
        (Contour([0.0], [8000.0]), "at least 2"),
        (Contour([0.0, 0.1, 0.1], [8000.0, 9000.0, 9500.0]), "increase"),
        (Contour([0.0, 0.1], [8000.0, -1.0]), "> 0 Hz"),
    ],
)
def test_bad_contours_are_named(contour, problem):
    with pytest.raises(ValueError, match=problem) as info:
        pairwise_dtw([arch(), contour])
    assert "contour 1" in str(info.value)


def test_bad_config_and_mismatched_shapes():
    with pytest.raises(ValueError, match="loop"):
        DTWConfig(loop="middle")
    with pytest.raises(ValueError, match="band"):
        DTWConfig(band=2.0)
    shapes = contour_shapes([arch()])
    with pytest.raises(ValueError, match="different DTWConfig"):
        pairwise_dtw(shapes, config=DTWConfig(n_points=10))
