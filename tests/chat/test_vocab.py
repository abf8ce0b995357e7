"""The vocabulary: design distances, JSON round trip, rendering, entries from recordings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dolphin.annotations import Contour
from dolphin.audio.io import write_audio
from dolphin.chat.vocab import (
    VocabConfig,
    VocabEntry,
    Vocabulary,
    VocabularyError,
    design_vocabulary,
    mimic_distances,
    tolerant_dtw,
    vocabulary_from_recordings,
)
from dolphin.detect.dtw import dtw_distance
from dolphin.synth.background import ocean_noise

from .conftest import LABELS, SR


def test_design_keeps_entries_apart_and_reports_the_distances(vocab, natural):
    assert vocab.labels == list(LABELS)
    cfg = VocabConfig()
    for e in vocab.entries:
        f = e.contour.freqs_hz
        assert cfg.fmin_hz <= f.min() and f.max() <= cfg.fmax_hz
        assert cfg.min_duration_s <= e.duration_s <= cfg.max_duration_s
        assert 12 * np.log2(f.max() / f.min()) >= cfg.min_range_semitones
    r = vocab.report
    contours = [e.contour for e in vocab.entries]
    d = mimic_distances(contours, contours, dtw=tolerant_dtw())
    d = np.minimum(d, d.T)[~np.eye(len(contours), dtype=bool)]
    assert r.min_pairwise_semitones == pytest.approx(d.min(), abs=1e-9)
    assert r.min_pairwise_semitones > 1.0  # an imitation (<~0.5) cannot be confused
    nat = mimic_distances(contours, natural, dtw=tolerant_dtw())
    assert r.min_natural_semitones <= nat.min() + 1e-9 and r.min_natural_semitones > 1.0
    assert r.n_natural == len(natural) and len(r.nearest_natural) == len(contours)


def test_design_beats_random_picks(natural):
    cfg = VocabConfig(n_candidates=40)
    designed = design_vocabulary(4, natural=natural, config=cfg)
    random = design_vocabulary(4, natural=natural, config=VocabConfig(n=4, n_candidates=4))
    assert designed.report.min_pairwise_semitones >= random.report.min_pairwise_semitones
    assert designed.labels == ["w1", "w2", "w3", "w4"]


def test_design_rejects_bad_requests(natural):
    with pytest.raises(VocabularyError, match="2 labels for 3"):
        design_vocabulary(3, ["a", "b"], natural=natural)
    with pytest.raises(VocabularyError, match="2-12"):
        design_vocabulary(20, natural=natural)
    with pytest.raises(VocabularyError, match="semitones"):
        design_vocabulary(3, natural=natural, band_hz=(9000, 10000))
    with pytest.raises(VocabularyError, match="durations"):
        design_vocabulary(3, natural=natural, duration_s=(1.0, 0.5))
    with pytest.raises(VocabularyError, match="unique"):
        design_vocabulary(2, ["a", "a"], natural=natural, config=VocabConfig(n=2, n_candidates=5))


def test_json_round_trip_is_exact_and_atomic(vocab, tmp_path):
    path = vocab.save(tmp_path / "v" / "vocab.json")
    back = Vocabulary.load(path)
    assert back.labels == vocab.labels
    for a, b in zip(back.entries, vocab.entries, strict=True):
        assert np.allclose(a.contour.times_s, b.contour.times_s, atol=1e-6)
        assert np.allclose(a.contour.freqs_hz, b.contour.freqs_hz, atol=0.01)
    assert back.report == vocab.report
    assert [p.name for p in path.parent.iterdir()] == ["vocab.json"]  # no temporary left
    data = json.loads(path.read_text())
    assert data["format"] == "dolphin-chat-vocabulary" and data["entries"][0]["duration_s"] > 0


def test_bad_files_name_the_file_and_the_problem(tmp_path):
    with pytest.raises(VocabularyError, match="not found"):
        Vocabulary.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(VocabularyError, match="bad.json: corrupt"):
        Vocabulary.load(bad)
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(VocabularyError, match="not a vocabulary"):
        Vocabulary.load(bad)
    bad.write_text(json.dumps({"format": "dolphin-chat-vocabulary", "version": 1, "entries": [{}]}))
    with pytest.raises(VocabularyError, match="malformed"):
        Vocabulary.load(bad)


def test_render_gives_one_tone_per_entry(vocab):
    sounds = vocab.render(SR, peak=0.25)
    assert list(sounds) == vocab.labels
    for e in vocab.entries:
        x = sounds[e.label]
        assert x.dtype == np.float32 and np.abs(x).max() == pytest.approx(0.25, rel=1e-4)
        assert x.size == pytest.approx(e.duration_s * SR, abs=2)
    with pytest.raises(VocabularyError, match="too high"):
        vocab.render(12000)  # Nyquist 6 kHz: below every entry's top (>= 6.35 kHz)
    with pytest.raises(VocabularyError, match="no entry"):
        vocab["kelp"]


def _recording(path, contours, rng) -> None:
    """One WAV: 0.6 s of noise, then the whistles 0.5 s apart, then 0.6 s of noise."""
    from dolphin.synth.sounds import render_whistle

    sounds = [0.1 * render_whistle(c, sample_rate=SR) for c in contours]
    n = int((1.2 + sum(w.size / SR + 0.5 for w in sounds)) * SR)
    x = ocean_noise(n_samples=n, sample_rate=SR, rng=rng, rms=0.01)
    i = int(0.6 * SR)
    for w in sounds:
        x[i : i + w.size] += w
        i += w.size + SR // 2
    write_audio(path, x, SR)


def test_vocabulary_from_recordings(tmp_path, vocab):
    rng = np.random.default_rng(5)
    a, b = vocab.entries[0].contour, vocab.entries[1].contour
    _recording(tmp_path / "a.wav", [a], rng)
    _recording(tmp_path / "b.wav", [b], rng)
    got = vocabulary_from_recordings([tmp_path / "a.wav", tmp_path / "b.wav"], ["ball", "fish"])
    assert got.labels == ["ball", "fish"] and got.report.min_pairwise_semitones > 0
    for entry, truth in zip(got.entries, (a, b), strict=True):
        assert entry.contour.times_s[0] == 0.0
        assert dtw_distance(entry.contour, truth) < 0.3
    _recording(tmp_path / "none.wav", [], rng)
    with pytest.raises(VocabularyError, match="none.wav: no whistle"):
        vocabulary_from_recordings([tmp_path / "none.wav"], ["x"])
    _recording(tmp_path / "two.wav", [a, b], rng)
    with pytest.raises(VocabularyError, match="two.wav: 2 whistles"):
        vocabulary_from_recordings([tmp_path / "two.wav"], ["x"])
    with pytest.raises(VocabularyError, match="1 labels for 2"):
        vocabulary_from_recordings([tmp_path / "a.wav", tmp_path / "b.wav"], ["x"])


def test_entries_are_validated():
    with pytest.raises(VocabularyError, match="increasing"):
        Vocabulary([VocabEntry("a", Contour([0.0, 0.0], [5000.0, 6000.0]))])
    with pytest.raises(VocabularyError, match="at least one"):
        Vocabulary([])
