"""SIGID bout rule: bout-repeated types are signature types, scattered ones are not."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.detect.sigid import SigidConfig, identify_signature_types


def whistles(starts: list[float], label, duration_s: float = 0.8):
    """(start_s, end_s, labels) of whistles of one type."""
    s = np.asarray(starts, dtype=float)
    return s, s + duration_s, [label] * s.size


def combine(*parts):
    """Concatenate whistle lists and sort them by start time, as a recording would give them."""
    start = np.concatenate([p[0] for p in parts])
    end = np.concatenate([p[1] for p in parts])
    labels = [x for p in parts for x in p[2]]
    order = np.argsort(start)
    return start[order], end[order], [labels[i] for i in order]


def test_bout_repeated_type_is_signature_and_scattered_is_not():
    bout = whistles([10.0, 13.0, 16.5, 19.0, 23.0], "A")  # IWIs 2.2-3.2 s
    scattered = whistles([5.0, 60.0, 130.0, 200.0, 280.0], "B")
    start, end, labels = combine(bout, scattered)
    result = identify_signature_types(start, labels, end_s=end)
    assert result.signature_types == ["A"]
    a, b = result.evidence("A"), result.evidence("B")
    assert a.is_signature and a.longest_bout == 5 and a.fraction_near == 1.0
    assert len(a.bouts) == 1 and a.bouts[0].n_renditions == 5
    assert a.bouts[0].start_s == 10.0 and a.bouts[0].end_s == pytest.approx(23.8)
    assert not b.is_signature and b.n_near == 0 and b.longest_bout == 1
    assert "signature" in a.describe() and "not signature" in b.describe()


def test_short_bouts_or_mostly_scattered_renditions_fail():
    three = whistles([0.0, 3.0, 6.0], "short")  # only 3 in a bout
    mostly_alone = whistles([100.0, 103.0, 106.0, 109.0, 200.0, 300.0, 400.0, 500.0], "mixed")
    start, end, labels = combine(three, mostly_alone)
    result = identify_signature_types(start, labels, end_s=end)
    assert result.signature_types == []
    mixed = result.evidence("mixed")
    assert mixed.longest_bout == 4 and mixed.fraction_near == pytest.approx(0.5)


def test_intervals_run_from_end_to_start():
    # starts 1.5 s apart, but each whistle lasts 1.0 s: the silences are only 0.5 s
    start, end, labels = whistles([0.0, 1.5, 3.0, 4.5, 6.0], 7, duration_s=1.0)
    assert identify_signature_types(start, labels, end_s=end).signature_types == []
    assert identify_signature_types(start, labels).signature_types == [7]  # start to start


def test_groups_are_separate_time_axes_and_noise_is_ignored():
    start = np.array([0.0, 3.0, 6.0, 9.0, 2.0, 5.0, 8.0, 11.0])
    labels = [1] * 8
    groups = ["rec1"] * 4 + ["rec2"] * 4
    result = identify_signature_types(start, labels, groups=groups)
    assert result.evidence(1).longest_bout == 4 and len(result.evidence(1).bouts) == 2
    merged = identify_signature_types(start, labels)  # one axis: one chain, gaps 1-2 s
    assert merged.evidence(1).longest_bout == 8
    noisy = identify_signature_types([0.0, 3.0, 6.0], [-1, -1, -1])
    assert noisy.types == []
    with pytest.raises(KeyError):
        noisy.evidence(-1)


def test_config_thresholds_apply_and_bad_input_is_rejected():
    start, end, labels = whistles([0.0, 3.0, 6.0], "A")
    loose = SigidConfig(min_bout_renditions=3)
    assert identify_signature_types(start, labels, end_s=end, config=loose).signature_types == ["A"]
    with pytest.raises(ValueError, match="one entry per whistle"):
        identify_signature_types([0.0, 1.0], ["A"])
    with pytest.raises(ValueError, match="end_s >= start_s"):
        identify_signature_types([1.0], ["A"], end_s=[0.5])
    with pytest.raises(ValueError, match="max_interval_s"):
        SigidConfig(min_interval_s=5.0, max_interval_s=2.0)
