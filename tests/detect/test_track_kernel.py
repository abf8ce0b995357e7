"""The compiled peak-to-track association of the whistle tracker."""

from __future__ import annotations

import numpy as np

from dolphin.detect.track_kernel import AssociationRule, TrackState, associate

RULE = AssociationRule(
    max_gap=3, max_jump_hz=400.0, jump_per_gap_hz=100.0, gap_cost_hz=50.0, start_snr_db=12.0
)


def _peaks(points: list[tuple[int, float, float]]):
    frames, freqs, snrs = (np.array(v) for v in zip(*points, strict=True))
    return frames.astype(np.int64), freqs.astype(np.float64), snrs.astype(np.float64)


def test_a_sweep_is_one_track_that_ends_after_its_gap() -> None:
    state = TrackState.empty(history=6)
    frames, freqs, snrs = _peaks([(k, 5000.0 + 100.0 * k, 15.0) for k in range(10)])
    owner, ended = associate(state, frames, freqs, snrs, snrs >= 12.0, 11, RULE)
    assert owner.tolist() == [0] * 10 and ended.size == 0 and state.n == 1
    assert state.slope[0] == 100.0  # Hz per frame over the last 6 points
    owner, ended = associate(state, *_peaks([(14, 9000.0, 5.0)]), np.array([False]), 20, RULE)
    assert owner.tolist() == [-1] and ended.tolist() == [0] and state.n == 0


def test_crossing_tracks_keep_their_slopes_and_weak_peaks_start_nothing() -> None:
    state = TrackState.empty(history=6)
    up = [(k, 5000.0 + 200.0 * k, 15.0) for k in range(8)]
    down = [(k, 6400.0 - 200.0 * k, 15.0) for k in range(8)]
    points = sorted(up + down, key=lambda p: (p[0], p[1]))
    frames, freqs, snrs = _peaks(points)
    owner, _ = associate(state, frames, freqs, snrs, snrs >= 12.0, 7, RULE)
    rising = {owner[i] for i, p in enumerate(points) if p in up}
    falling = {owner[i] for i, p in enumerate(points) if p in down}
    assert len(rising) == 1 and len(falling) == 1 and rising != falling
    quiet = TrackState.empty(history=6)
    frames, freqs, snrs = _peaks([(0, 5000.0, 13.0), (1, 5100.0, 13.0)])
    owner, _ = associate(quiet, frames, freqs, snrs, np.zeros(2, bool), 1, RULE)
    assert owner.tolist() == [-1, -1] and quiet.n == 0  # gated frames start no track


def test_capacity_grows_with_many_tracks() -> None:
    state = TrackState.empty(history=6, capacity=4)
    points = [(0, 2000.0 + 1000.0 * i, 20.0) for i in range(50)]
    frames, freqs, snrs = _peaks(points)
    owner, _ = associate(state, frames, freqs, snrs, snrs >= 12.0, 0, RULE)
    assert owner.tolist() == list(range(50)) and state.n == 50 and state.next_id == 50
