"""`dolphin demo`: end to end on a 10 s scene, the skip lines of missing models, and bad input."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dolphin import hub
from dolphin.annotations import read_raven
from dolphin.cli.main import main
from dolphin.demo.config import load_demo_config
from dolphin.demo.models import codec_step, lm_step, load_codec_or_none
from dolphin.demo.recording import DemoRecording

#: Overrides that shrink the demo to a few seconds of work.
SHORT = [
    "synth.duration_s=10",
    "synth.whistle_rate_per_min=12",
    "demo.chat_labels=[scarf,rope,bow]",
    "demo.chat_repeats=1",
    "demo.chat_naturals=1",
    "chat.vocab.n_candidates=12",
    "demo.codec_clip_s=2",
    "demo.lm_prompt_s=1",
    "demo.lm_continue_s=0.5",
]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def codec_dir(tmp_path_factory):
    """Folder of a tiny random 48 kHz codec (exercises the codec step, not its quality)."""
    from dolphin.codec import build_debug_codec

    folder = tmp_path_factory.mktemp("models") / "codec"
    build_debug_codec().save(folder)
    return folder


def _table_row(report: str, first_cell: str) -> list[str]:
    """Cells of the first Markdown table row starting with ``first_cell``."""
    match = re.search(rf"^\| {re.escape(first_cell)} \|(.*)\|$", report, flags=re.MULTILINE)
    assert match, f"no table row {first_cell!r} in the report"
    return [c.strip() for c in match.group(1).split("|")]


def test_demo_end_to_end_on_a_short_scene(tmp_path, capsys, codec_dir):
    args = ["demo", "--out", str(tmp_path), "--name", "short", "--no-progress", *SHORT]
    code = main([*args, f"demo.codec={codec_dir}", "demo.lm=none"])
    out = capsys.readouterr().out
    assert code == 0
    folder = tmp_path / "short"
    report_path = folder / "report.md"
    assert f"report: {report_path}" in out
    report = report_path.read_text()

    events = read_raven(folder / "detections.Table.1.selections.txt")
    assert len(events) > 0  # the scene holds events, the detectors find some
    labelled, detected, matched, *scores = _table_row(report, "all")
    assert int(labelled) > 0 and int(detected) == len(events) and int(matched) > 0
    assert all(0.0 <= float(s) <= 1.0 for s in scores) and float(scores[-1]) > 0.5

    for name in ("scene.png", "contours_by_type.png", "chat_timeline.png"):
        assert (folder / name).read_bytes()[:8] == PNG_MAGIC
        assert f"]({name})" in report

    assert int(_table_row(report, "imitations placed")[0]) == 3
    recall = float(
        re.search(r"recall ([0-9.]+)", _table_row(report, "recognised (right label)")[0])[1]
    )
    assert 0.0 <= recall <= 1.0
    assert int(_table_row(report, "false alarms")[0]) >= 0
    assert (folder / "chat" / "vocab.json").is_file()
    assert list((folder / "chat" / "session").glob("*/events.jsonl"))

    # the codec ran (a 48 kHz codec on a 96 kHz scene: resampled), the LM was turned off
    assert re.search(r"\*\*codec\*\*: [0-9.]+ kbit/s, SI-SNR -?[0-9.]+ dB", report)
    assert (folder / "codec_decoded.wav").is_file()
    assert "LM: skipped: turned off (demo.lm=none)" in out
    assert "[6/6] CHAT rehearsal" in out


@pytest.mark.slow
def test_lm_step_continues_the_recording_with_a_saved_lm(tmp_path, codec_dir):
    from dolphin.codec import Codec
    from dolphin.lm import SoundLM, lm_preset

    codec = Codec.from_pretrained(str(codec_dir))
    cfg = lm_preset("tiny", n_codebooks=codec.n_q, codebook_size=codec.config.codebook_size)
    SoundLM(cfg).eval().save_pretrained(tmp_path / "lm")
    x = (0.1 * np.random.default_rng(0).standard_normal(96000)).astype(np.float32)
    recording = DemoRecording(tmp_path / "x.wav", 96000, 1.0, 0, x)
    step = lm_step(
        recording, str(tmp_path / "lm"), codec, prompt_s=0.5, continue_s=0.3, folder=tmp_path
    )
    assert step.status == "done" and step.audio_path.is_file()


def test_missing_default_models_are_skipped_not_errors(tmp_path):
    recording = DemoRecording(tmp_path / "x.wav", 96000, 1.0, 0, np.zeros(96000, np.float32))
    codec, reason = load_codec_or_none("default")
    if not hub.available_models("codec"):
        assert codec is None
        step = codec_step(recording, codec, skip_reason=reason, clip_s=1.0, folder=tmp_path)
        assert step.line == "codec: skipped: no default codec ships yet"
    if not (hub.WEIGHTS_ROOT / "lm" / "default").is_dir():
        step = lm_step(recording, "default", None, prompt_s=1, continue_s=1, folder=tmp_path)
        assert step.line == "LM: skipped: no default LM ships yet"
    assert load_codec_or_none("none") == (None, "turned off (demo.codec=none)")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "does not exist"),
        (b"", "empty"),
        (
            b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(256)) * 8,
            "not an audio file|corrupt|cannot",
        ),
    ],
)
def test_bad_input_names_the_problem(tmp_path, capsys, content, problem):
    path = tmp_path / "recording.wav"
    if content is not None:
        path.write_bytes(content)
    code = main(["demo", "--input", str(path), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err and re.search(problem, err), err
    assert not (tmp_path / "out").exists()  # nothing written for a bad input


def test_empty_input_argument_and_misspelt_key_fail_clearly(tmp_path, capsys):
    assert main(["demo", "--input", " "]) == 2
    assert "--input is empty" in capsys.readouterr().err
    with pytest.raises(Exception, match="inptu"):
        load_demo_config(["demo.inptu=x"])
