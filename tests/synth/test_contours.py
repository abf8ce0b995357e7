"""Whistle contour models: shapes, renditions, loops and populations."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.annotations import Contour
from dolphin.synth.contours import (
    MAX_LOOP_GAP_S,
    MIN_LOOP_GAP_S,
    SHAPES,
    WhistleType,
    contour_distance,
    make_population,
    random_contour,
    render_rendition,
    split_loops,
)


@pytest.mark.parametrize("shape", SHAPES)
def test_random_contour_shapes_stay_in_range(shape):
    rng = np.random.default_rng(0)
    for _ in range(5):
        c = random_contour(rng=rng, shape=shape, fmin_hz=4000, fmax_hz=20000)
        assert c.times_s[0] == 0.0
        assert np.allclose(np.diff(c.times_s), 1e-3)
        assert 0.2 - 1e-3 <= c.duration_s <= 1.5 + 1e-3
        assert c.freqs_hz.min() >= 4000 * (1 - 1e-9) and c.freqs_hz.max() <= 20000 * (1 + 1e-9)


def test_shape_directions():
    rng = np.random.default_rng(1)
    up = random_contour(rng=rng, shape="upsweep")
    down = random_contour(rng=rng, shape="downsweep")
    convex = random_contour(rng=rng, shape="convex")
    assert up.freqs_hz[-1] > up.freqs_hz[0] and down.freqs_hz[-1] < down.freqs_hz[0]
    inner = convex.freqs_hz[len(convex) // 4 : 3 * len(convex) // 4].max()
    assert inner > max(convex.freqs_hz[0], convex.freqs_hz[-1])


def test_rendition_jitter_and_loops():
    rng = np.random.default_rng(2)
    base = random_contour(rng=rng, shape="sine", duration_s=0.6, fmin_hz=5000, fmax_hz=15000)
    kind = WhistleType("t", base, min_loops=1, max_loops=4, loop_gap_s=0.1)
    seen = set()
    for _ in range(30):
        r = render_rendition(kind, rng=rng)
        loops = split_loops(r)
        seen.add(len(loops))
        assert 1 <= len(loops) <= 4 and r.times_s[0] == 0.0
        for a, b in zip(loops, loops[1:], strict=False):
            assert MIN_LOOP_GAP_S - 1e-9 <= b.times_s[0] - a.times_s[-1] <= MAX_LOOP_GAP_S + 1e-9
        for loop in loops:
            assert 0.6 * 0.88 <= loop.duration_s <= 0.6 * 1.12
            assert contour_distance(loop, base) < 0.06  # same shape within a few per cent
            ratio = np.median(loop.freqs_hz) / np.median(base.freqs_hz)
            assert 0.95 < ratio < 1.05
    assert seen == {1, 2, 3, 4}


def test_split_loops_of_single_contour():
    c = Contour(np.arange(10) * 0.01, np.full(10, 8000.0))  # 10 ms steps, SIGWI style
    assert len(split_loops(c)) == 1


def test_population_has_distinct_signatures_and_shared_types():
    pop = make_population(6, rng=np.random.default_rng(3), n_shared_types=3)
    assert [p.individual_id for p in pop] == [f"ind{i:02d}" for i in range(1, 7)]
    sigs = [p.signature_type for p in pop]
    assert all(s.signature and s.owner == p.individual_id for s, p in zip(sigs, pop, strict=True))
    assert len({s.type_id for s in sigs}) == 6
    assert all(p.shared_types is pop[0].shared_types for p in pop)
    assert all(not t.signature and t.owner is None for t in pop[0].shared_types)
    types = sigs + pop[0].shared_types
    for i, a in enumerate(types):
        for b in types[i + 1 :]:
            assert contour_distance(a.base, b.base) >= 0.1


def test_population_is_deterministic():
    a = make_population(3, rng=np.random.default_rng(5))
    b = make_population(3, rng=np.random.default_rng(5))
    assert all(x.signature_type.base == y.signature_type.base for x, y in zip(a, b, strict=True))
