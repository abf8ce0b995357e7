"""Event classifier: feature and output shapes, chunking, save/load, the shipped model, refine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dolphin import hub
from dolphin.annotations import BURST_PULSE, BUZZ, CLICK_TRAIN, NOISE, WHISTLE, Event
from dolphin.detect.classifier import (
    CLASSES,
    ClassifierConfig,
    DecisionConfig,
    EventClassifier,
    FrameProbs,
)
from dolphin.detect.features import FeatureConfig, compute_features, frame_targets
from dolphin.detect.refine import refine_events
from dolphin.errors import ConfigError
from dolphin.synth.sounds import render_burst_pulse, render_buzz, render_click_train

from .conftest import SR, add_at, background, whistle, whistle_contour


def _tiny() -> EventClassifier:
    torch.manual_seed(0)
    cfg = ClassifierConfig(conv_channels=[4], freq_pools=[8], hidden=8, dilations=[1, 2])
    return EventClassifier(cfg).eval()


@pytest.fixture(scope="module")
def shipped() -> EventClassifier:
    return hub.load_classifier("default")


@pytest.mark.parametrize("sample_rate", [96000, 192000, 384000])
def test_features_have_one_shape_at_every_rate(sample_rate) -> None:
    cfg = FeatureConfig()
    x = np.random.default_rng(0).standard_normal(int(0.5 * sample_rate)) * 0.01
    feats = compute_features(x, sample_rate=sample_rate, config=cfg)
    assert feats.shape == (80, x.size // cfg.hop_length(sample_rate) + 1) == (80, 251)
    assert np.abs(feats[64:]).max() <= 1.0  # interval rows are normalised autocovariances
    assert feats.dtype == np.float32 and np.isfinite(feats).all()


def test_a_whistle_lands_on_the_same_rows_at_96_and_192_khz(rng) -> None:
    from dolphin.synth.sounds import render_whistle

    contour = whistle_contour("up", f0_hz=6000.0, f1_hz=20000.0)
    rows = []
    for sr in (96000, 192000):
        x = 0.05 * render_whistle(contour, sample_rate=sr, harmonics=(1.0,))
        feats = compute_features(x, sample_rate=sr, config=FeatureConfig())
        rows.append(np.argmax(feats[:48, 20:-20], axis=0))
    assert np.mean(np.abs(rows[0] - rows[1]) <= 1) > 0.95


def test_frame_targets_cover_event_spans() -> None:
    events = [Event(0.1, 0.3, 0, 1, WHISTLE), Event(0.2, 0.25, 0, 1, BUZZ), Event(0, 1, 0, 1, "x")]
    y = frame_targets(events, CLASSES, n_frames=100, hop_s=0.004)
    assert y.shape == (4, 100)
    assert y[0].nonzero()[0][[0, -1]].tolist() == [25, 75]
    assert y[3].sum() == 13 and y[1:3].sum() == 0


def test_network_output_shape_and_config_errors() -> None:
    torch.manual_seed(0)
    model = EventClassifier(ClassifierConfig(precision="float32")).eval()
    for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        norm.running_var.uniform_(0.5, 2.0)  # make the folded inference path do some work
        norm.weight.data.uniform_(-1.0, 1.0)
    x = torch.randn(2, 1, 80, 201)
    logits = model(x)
    assert logits.shape == (2, 4, 100)
    with torch.no_grad():  # the fast inference front end computes the same
        torch.testing.assert_close(model(x), logits, atol=1e-5, rtol=1e-5)
    assert sum(p.numel() for p in model.parameters()) < 200_000
    with pytest.raises(ConfigError, match="freq_pools"):
        ClassifierConfig(conv_channels=[8], freq_pools=[128])
    with pytest.raises(ConfigError, match="hop_s"):
        FeatureConfig(hop_s=0.0)


def test_chunked_and_block_streamed_probabilities(rng) -> None:
    model = _tiny()
    x = background(3.0, rng)
    add_at(x, whistle(whistle_contour()), 1.0)
    whole = model.frame_probabilities(x, sample_rate=SR)
    assert whole.probs.shape == (4, (x.size // 192 + 1) // 2) and whole.hop_s == 0.004
    blocks = np.split(x, [1000, 70000, 70001, 200000])
    streamed = model.stream_probabilities(blocks, sample_rate=SR)
    np.testing.assert_array_equal(streamed.probs, whole.probs)  # block sizes do not matter
    model.config.chunk_s, model.config.context_s = 0.7, 1.0
    chunked = model.frame_probabilities(x, sample_rate=SR)
    assert chunked.probs.shape == whole.probs.shape
    assert np.abs(chunked.probs - whole.probs).max() < 0.02  # PCEN start-up only


def test_save_load_gives_identical_outputs(tmp_path) -> None:
    model = _tiny()
    model.config.decision.keep_pulsed = 0.7
    folder = model.save(tmp_path / "clf")
    loaded = EventClassifier.load(folder)
    assert loaded.config.to_dict() == model.config.to_dict()
    x = torch.randn(1, 1, 80, 100)
    assert torch.equal(loaded(x), model(x))
    assert hub.load_classifier(folder).config.decision.keep_pulsed == 0.7
    (folder / "config.json").write_text('{"format": "other"}')
    with pytest.raises(Exception, match="not a dolphin-classifier-1"):
        EventClassifier.load(folder)


def _patch(kind: str, rng: np.random.Generator) -> np.ndarray:
    """1.5 s of ocean noise at 96 kHz with one sound from 0.3 s (noise only for 'noise')."""
    x = background(1.5, rng)
    kw = dict(sample_rate=SR, rng=rng, centre_hz=45000.0)
    if kind == WHISTLE:
        add_at(x, whistle(whistle_contour("convex", duration_s=0.8)), 0.3)
    elif kind == CLICK_TRAIN:
        add_at(
            x, render_click_train(duration_s=1.0, ici_range_s=(0.05, 0.08), **kw).samples, 0.3, 0.3
        )
    elif kind == BURST_PULSE:
        add_at(
            x, render_burst_pulse(duration_s=0.8, ipi_range_s=(1e-3, 2e-3), **kw).samples, 0.3, 0.3
        )
    elif kind == BUZZ:
        add_at(x, render_buzz(duration_s=0.8, **kw).samples, 0.3, 0.3)
    return x


@pytest.mark.parametrize("kind", [WHISTLE, CLICK_TRAIN, BURST_PULSE, BUZZ, NOISE])
def test_shipped_model_labels_synthetic_sounds(shipped, kind) -> None:
    verdict = shipped.classify_patch(_patch(kind, np.random.default_rng(3)), sample_rate=SR)
    assert verdict.label == kind, verdict.scores
    assert 0.5 <= verdict.score <= 1.0


def test_refine_keeps_relabels_rejects_and_adds() -> None:
    probs = np.zeros((4, 500), np.float32)  # 2 s at 4 ms
    probs[0, 25:100] = 0.9  # a whistle at 0.1-0.4 s
    probs[3, 150:200] = 0.8  # the SP click train at 0.6-0.8 s is a buzz
    probs[2, 300:400] = 0.9  # a click train at 1.2-1.6 s, found in two SP fragments
    probs[1, 430:480] = 0.9  # a burst pulse at 1.72-1.92 s the SP stage missed
    fp = FrameProbs(probs, 0.004)
    sp = [
        Event(0.1, 0.4, 5e3, 9e3, WHISTLE, score=0.6),
        Event(0.5, 0.55, 5e3, 9e3, WHISTLE, score=0.9),  # no CNN support: rejected
        Event(0.6, 0.8, 2e4, 4e4, CLICK_TRAIN, score=0.7),
        Event(1.21, 1.35, 2e4, 4e4, CLICK_TRAIN),
        Event(1.45, 1.59, 2e4, 4e4, CLICK_TRAIN),
    ]
    cfg = ClassifierConfig(decision=DecisionConfig())
    out = refine_events(sp, fp, cfg, sample_rate=SR)
    assert [e.label for e in out] == [WHISTLE, BUZZ, CLICK_TRAIN, BURST_PULSE]
    assert out[0].score == pytest.approx(0.9, abs=0.02) and out[0].extra["SP Score"] == "0.600"
    assert (out[1].start_s, out[1].end_s) == (0.6, 0.8)  # SP times kept
    assert out[2].start_s == pytest.approx(1.198) and out[2].end_s == pytest.approx(1.598)
    assert out[3].extra["Source"] == "classifier" and out[3].high_hz == 48000.0
    sp[2].label = BURST_PULSE  # burst pulse vs buzz: the CNN decides by default
    assert refine_events(sp, fp, cfg, sample_rate=SR)[1].label == BUZZ
    cfg.decision.sp_rate_label = True  # ... or the SP label stands
    assert refine_events(sp, fp, cfg, sample_rate=SR)[1].label == BURST_PULSE
    sp[2].label, sp[2].end_s = BUZZ, 0.65  # the SP stage found a fragment of the buzz
    cfg.decision.extend_s = float("inf")
    assert refine_events(sp, fp, cfg, sample_rate=SR)[1].end_s == 0.65
    cfg.decision.extend_s = 0.1
    grown = refine_events(sp, fp, cfg, sample_rate=SR)[1]
    assert (grown.start_s, grown.end_s) == (0.6, pytest.approx(0.798))
    cfg.decision.add_missed = False
    assert [e.label for e in refine_events(sp, fp, cfg, sample_rate=SR)] == [
        WHISTLE,
        BUZZ,
        CLICK_TRAIN,
        CLICK_TRAIN,
    ]


def test_detect_cli_runs_the_classifier_stage(tmp_path, capsys) -> None:
    from dolphin.annotations import read_raven
    from dolphin.audio.io import write_audio
    from dolphin.cli.main import main

    x = _patch(WHISTLE, np.random.default_rng(4))
    wav = write_audio(tmp_path / "rec.wav", x.astype(np.float32), SR)
    tables = {}
    for choice in ("none", "default"):
        tables[choice] = tmp_path / f"{choice}.selections.txt"
        argv = ["detect", "--no-progress", str(wav), "--out", str(tables[choice])]
        assert main([*argv, "--classifier", choice]) == 0
    plain, refined = (read_raven(tables[c]) for c in ("none", "default"))
    assert [e.label for e in refined] == [WHISTLE] == [e.label for e in plain]
    assert "SP Score" in refined[0].extra and "SP Score" not in plain[0].extra
    argv = ["detect", "--no-progress", str(wav), "--out", str(tmp_path / "t.txt")]
    assert main([*argv, "--classifier", "nosuchmodel"]) == 2
    assert "no shipped classifier named 'nosuchmodel'" in capsys.readouterr().err
    assert main([*argv, "--precision", "bfloat16"]) == 0  # the inference precision, opt-in
    assert [e.label for e in read_raven(tmp_path / "t.txt")] == [WHISTLE]
    with pytest.raises(SystemExit):
        main([*argv, "--precision", "float16"])


def test_cli_precisions_are_the_classifiers() -> None:
    from dolphin.cli.detect import PRECISIONS as CLI_PRECISIONS
    from dolphin.detect.classifier import PRECISIONS

    assert CLI_PRECISIONS == PRECISIONS
    assert ClassifierConfig().precision == "float32"  # results alike on every CPU by default


def test_tiled_front_end_equals_the_plain_one_across_tiles() -> None:
    torch.manual_seed(1)
    model = EventClassifier(ClassifierConfig(precision="float32")).eval()
    for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        norm.running_var.uniform_(0.5, 2.0)
        norm.running_mean.uniform_(-1.0, 1.0)
    for n_cols in (3, 511, 512, 513, 1537):  # around the 256-column output tiles
        x = torch.randn(1, 1, 80, n_cols)
        with torch.inference_mode():
            tiled = model(x)
        plain = model(x).detach()  # with gradients on, forward takes the plain nn.Sequential
        torch.testing.assert_close(tiled, plain, atol=1e-5, rtol=1e-5)


def test_band_spectrogram_pools_the_stft_power() -> None:
    from dolphin.audio.spectral import power_spectrogram
    from dolphin.detect.features import _band_index, _band_spectrogram

    x = np.random.default_rng(2).standard_normal(20000).astype(np.float32)
    for sr, n_fft, hop, edges, how in (
        (96000, 384, 192, np.linspace(2000, 32000, 49), "max"),
        (96000, 96, 48, np.linspace(10000, 48000, 17), "mean"),
        (48000, 48, 24, np.linspace(10000, 48000, 17), "mean"),  # bands above Nyquist
    ):
        spec = power_spectrogram(x, sample_rate=sr, n_fft=n_fft, hop_length=hop)
        expected = np.zeros((len(edges) - 1, spec.power.shape[1]), np.float32)
        for k, (start, stop) in enumerate(_band_index(spec.freqs_hz, edges)):
            if stop > start:
                rows = spec.power[start:stop]
                expected[k] = rows.max(axis=0) if how == "max" else rows.mean(axis=0)
        got = _band_spectrogram(x, sample_rate=sr, n_fft=n_fft, hop=hop, edges_hz=edges, how=how)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)


def test_window_mean_at_equals_the_uniform_filter() -> None:
    from scipy.ndimage import uniform_filter1d

    from dolphin.detect.features import _window_mean_at

    rng = np.random.default_rng(3)
    for n, window in ((1000, 256), (10, 256), (500, 7), (300, 2)):
        a = rng.standard_normal(n)
        at = rng.integers(0, n, 40)
        expected = uniform_filter1d(a, window, mode="nearest")[at]
        np.testing.assert_allclose(_window_mean_at(a, window, at), expected, atol=1e-12)


def test_config_from_dict_names_unknown_keys() -> None:
    data = ClassifierConfig().to_dict()
    assert ClassifierConfig.from_dict(data) == ClassifierConfig()
    with pytest.raises(ConfigError, match=r"classifier\.decision: unknown keys \['thresh'\]"):
        ClassifierConfig.from_dict({**data, "decision": {**data["decision"], "thresh": 0.5}})
    with pytest.raises(ConfigError, match=r"classifier: unknown keys \['width'\]"):
        ClassifierConfig.from_dict({**data, "width": 3})


def test_bfloat16_inference_stays_close_to_float32(shipped, monkeypatch) -> None:
    import dolphin.detect.classifier as classifier

    x = _patch(BURST_PULSE, np.random.default_rng(5))
    model = EventClassifier(ClassifierConfig.from_dict(shipped.config.to_dict()))
    model.load_state_dict(shipped.state_dict())
    model.eval().config.precision = "float32"
    exact = model.frame_probabilities(x, sample_rate=SR).probs
    model.config.precision = "bfloat16"
    half = model.frame_probabilities(x, sample_rate=SR).probs
    assert 0 < np.abs(half - exact).max() < 0.03  # really bfloat16, and close
    assert model.classify_patch(x, sample_rate=SR).label == BURST_PULSE
    features = torch.randn(1, 1, 80, 300)
    model.config.precision = "float32"
    reference = model(features)  # gradients on: the float32 training path
    model.config.precision = "bfloat16"
    assert torch.equal(model(features), reference)  # precision is for inference only
    model.config.precision = "auto"  # bfloat16 only where the CPU computes it natively
    for native in (False, True):
        monkeypatch.setattr(classifier, "_native_bfloat16", lambda native=native: native)
        assert model._bfloat16(torch.device("cpu")) is native
    assert not model._bfloat16(torch.device("meta"))
    with pytest.raises(ConfigError, match="precision"):
        ClassifierConfig(precision="float16")
