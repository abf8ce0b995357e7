"""Factories for the CHAT tests: a small designed vocabulary and short scenes at 96 kHz."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.chat.mimics import SceneSound, imitate, make_scene, pulsed_rendition, whistle_sound
from dolphin.chat.vocab import VocabConfig, design_vocabulary, mimic_distances, tolerant_dtw
from dolphin.synth.sigwi import load_sigwi_contours

SR = 96000
LABELS = ("scarf", "rope", "sargassum", "bow")


@pytest.fixture(scope="session")
def natural():
    """A few real SIGWI contours (the design's natural references, kept small for speed)."""
    return [r.contour for r in load_sigwi_contours()[:40]]


@pytest.fixture(scope="session")
def vocab(natural):
    """A 4-entry designed vocabulary (40 candidates: quick, still well separated)."""
    return design_vocabulary(4, LABELS, natural=natural, config=VocabConfig(n_candidates=40))


@pytest.fixture(scope="session")
def far_natural(vocab):
    """The shipped SIGWI contour farthest from every entry: a whistle that is no imitation."""
    real = load_sigwi_contours()
    d = mimic_distances(
        [r.contour for r in real], [e.contour for e in vocab.entries], dtw=tolerant_dtw()
    )
    c = real[int(np.argmax(d.min(axis=1)))].contour
    return c


@pytest.fixture(scope="session")
def scene(vocab, far_natural):
    """Noise with: a 10 %-shifted, warped imitation of "scarf"; a natural whistle; a click-train
    rendition of "rope"; a burst-pulse rendition of "sargassum" (all at 15 dB)."""
    rng = np.random.default_rng(3)
    mimic = imitate(vocab["scarf"].contour, rng=rng, shift=(0.1, 0.1), warp=0.3)
    sounds = [
        whistle_sound(mimic, sample_rate=SR, rng=rng, label="scarf"),
        whistle_sound(far_natural, sample_rate=SR, rng=rng, note="natural"),
    ]
    for label, kind in (("rope", "click_train"), ("sargassum", "burst_pulse")):
        x, times, band = pulsed_rendition(vocab[label].contour, kind=kind, sample_rate=SR, rng=rng)
        sounds.append(SceneSound(x, band, kind, label, times))
    return make_scene(sounds, sample_rate=SR, rng=rng, snr_db=15.0, gap_s=(0.6, 0.8))


def run(matcher, x: np.ndarray, block: int) -> list:
    """Stream ``x`` through ``matcher`` in blocks of ``block`` samples, flushed."""
    out = []
    with matcher.streaming():
        for i in range(0, x.size, block):
            out += matcher.process(x[i : i + block])
        out += matcher.flush()
    return out


@pytest.fixture(scope="session")
def found(vocab, scene):
    """The scene's detections by the default matcher in 20 ms blocks (a live session's)."""
    from dolphin.chat.matcher import MimicMatcher

    return run(MimicMatcher(vocab, sample_rate=SR), scene.samples, int(0.02 * SR))
