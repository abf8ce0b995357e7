"""The mimic matcher: imitations recognised, non-mimics rejected, gate, streaming == offline."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.chat.matcher import (
    MatcherConfig,
    MimicMatcher,
    pulse_rate_contour,
)
from dolphin.chat.mimics import pulse_times
from dolphin.errors import ConfigError

from .conftest import SR, run


@pytest.fixture(scope="module")
def matcher(vocab):
    return MimicMatcher(vocab, MatcherConfig(), sample_rate=SR)


def hits(found, truth):
    return [d for d in found if d.start_s <= truth.end_s and d.end_s >= truth.start_s]


def test_shifted_warped_mimic_is_recognised_with_its_label(found, scene):
    mimic = scene.truth[0]
    accepted = [d for d in hits(found, mimic) if d.accepted]
    assert [d.label for d in accepted] == ["scarf"]
    d = accepted[0]
    assert d.kind == "whistle" and 0.5 < d.confidence <= 1.0 and d.margin > 0
    assert d.end_s - d.start_s > 0.8 * (mimic.end_s - mimic.start_s)
    # decided within a tracker gap, a chunk and a block of the whistle's end
    assert 0 < d.latency_s < 0.1 and d.detected_at_s == pytest.approx(d.end_s + d.latency_s)


def test_natural_whistle_is_reported_but_rejected(found, scene):
    judged = hits(found, scene.truth[1])
    assert judged and all(not d.accepted and d.label is None for d in judged)
    assert all(d.nearest_label is not None and d.distance > 1.0 for d in judged)
    assert all(d.confidence < 0.5 for d in judged)


@pytest.mark.parametrize(
    "index, kind, label", [(2, "click_train", "rope"), (3, "burst_pulse", "sargassum")]
)
def test_pulsed_renditions_are_recognised(found, scene, index, kind, label):
    accepted = [d for d in hits(found, scene.truth[index]) if d.accepted]
    assert [(d.kind, d.label) for d in accepted] == [(kind, label)]
    assert accepted[0].latency_s < 1.0  # released in the quiet after it, not at the next click


def test_no_false_acceptance_in_the_scene(found, scene):
    for d in found:
        if d.accepted:
            assert any(
                t.label == d.label
                for t in [t for t in scene.truth if t.end_s >= d.start_s and t.start_s <= d.end_s]
            )


def test_streaming_equals_whole_file(matcher, scene, found):
    state = matcher.new_stream()  # explicit state, uneven blocks
    whole = matcher.process(scene.samples, state=state) + matcher.flush(state=state)

    def key(ds):
        return [
            (d.label, d.kind, d.start_s, d.end_s, d.distance, d.accepted, d.contour) for d in ds
        ]

    assert key(found) == key(whole)  # found: 20 ms blocks
    assert all(d.detected_at_s == pytest.approx(scene.duration_s) for d in whole)


def test_self_hearing_gate_ignores_our_own_emission(vocab):
    from dolphin.synth.background import ocean_noise

    rng = np.random.default_rng(1)
    x = ocean_noise(n_samples=int(3.0 * SR), sample_rate=SR, rng=rng, rms=0.01)
    ours = vocab.render(SR, peak=0.1)["bow"]
    start = int(1.0 * SR)
    x[start : start + ours.size] += ours
    matcher = MimicMatcher(vocab, sample_rate=SR)
    heard = run(matcher, x, int(0.02 * SR))
    assert [d.label for d in heard if d.accepted] == ["bow"]
    with matcher.streaming():
        matcher.mute(1.0, 1.0 + ours.size / SR)  # announced before it is played
        gated = matcher.process(x) + matcher.flush()
    assert gated == []


def test_pulse_rate_contour_follows_the_rate_and_drops_missed_clicks(vocab):
    contour = vocab["rope"].contour
    times = pulse_times(contour, divisor=20.0)
    traced = pulse_rate_contour(np.delete(times, [30, 60]), divisor=20.0)
    f = np.interp(traced.times_s, contour.times_s, contour.freqs_hz)
    assert np.median(np.abs(traced.freqs_hz / f - 1)) < 0.02
    rng = np.random.default_rng(0)
    random_clicks = np.sort(rng.uniform(0, 2.0, 40))
    assert pulse_rate_contour(random_clicks, divisor=20.0, min_regular=0.8) is None


def test_bad_settings_and_misuse_fail_clearly(vocab):
    with pytest.raises(ConfigError, match="freq_tolerance"):
        MatcherConfig(freq_tolerance=0.1)
    with pytest.raises(ConfigError, match="threshold"):
        MatcherConfig(threshold=0)
    with pytest.raises(ConfigError, match="sample rate"):
        MimicMatcher(vocab, sample_rate=8000)
    matcher = MimicMatcher(vocab, sample_rate=SR)
    with pytest.raises(RuntimeError, match="streaming"):
        matcher.process(np.zeros(100, np.float32))
    with matcher.streaming(), pytest.raises(ValueError, match="one channel"):
        matcher.process(np.zeros((2, 100), np.float32))
    with matcher.streaming(), pytest.raises(ValueError, match="ends before"):
        matcher.mute(2.0, 1.0)


def test_detection_serialises_to_json(found):
    import json

    d = json.loads(json.dumps(found[0].to_dict()))
    assert d["type"] == "mimic" and set(d) >= {"label", "accepted", "latency_s", "contour"}


def test_a_whistle_closer_to_a_known_natural_whistle_is_rejected(vocab):
    from dolphin.chat.mimics import imitate
    from dolphin.synth.background import ocean_noise
    from dolphin.synth.sounds import render_whistle

    rng = np.random.default_rng(1)
    heard = imitate(vocab["rope"].contour, rng=rng, shift=(0.05, 0.1), wobble_semitones=0.4)
    # a known natural whistle (say a local animal's signature whistle) much like what is heard,
    # but transposed well beyond the free 20 % from "rope" itself
    natural = imitate(heard, rng=rng, shift=(0.15, 0.2), stretch=0.0, wobble_semitones=0.3)
    x = ocean_noise(n_samples=3 * SR, sample_rate=SR, rng=rng, rms=0.01)
    w = render_whistle(heard, sample_rate=SR)
    x[SR : SR + w.size] += 0.1 * w / np.abs(w).max()
    plain = run(MimicMatcher(vocab, sample_rate=SR, naturals=[]), x, int(0.02 * SR))
    assert [d.label for d in plain if d.accepted] == ["rope"]
    assert plain[0].natural_distance == np.inf
    known = run(MimicMatcher(vocab, sample_rate=SR, naturals=[natural]), x, int(0.02 * SR))
    assert known and not any(d.accepted for d in known)
    assert known[0].nearest_label == "rope"
    assert known[0].natural_distance < known[0].distance + MatcherConfig().natural_margin
    # a natural whistle that is itself a copy of an entry is no evidence against it: an entry
    # that looks natural (a hand-made sweep) must still be recognised
    copy = run(MimicMatcher(vocab, sample_rate=SR, naturals=[heard]), x, int(0.02 * SR))
    assert [d.label for d in copy if d.accepted] == ["rope"]
    # the shipped SIGWI references are the default ones
    default = MimicMatcher(vocab, sample_rate=SR)
    assert default.naturals is not None and len(default.naturals) == 1500
    off = MimicMatcher(vocab, MatcherConfig(natural_references=False), sample_rate=SR)
    assert off.naturals is None
