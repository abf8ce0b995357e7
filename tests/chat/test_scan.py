"""Scanning a recording: the live matcher over a file, a flushed JSONL event log."""

from __future__ import annotations

import json

import pytest

from dolphin.audio.io import write_audio
from dolphin.chat.config import ChatConfig
from dolphin.chat.scan import scan_file
from dolphin.errors import AudioFileError, ConfigError

from .conftest import SR


@pytest.fixture(scope="module")
def recording(scene, tmp_path_factory):
    path = tmp_path_factory.mktemp("scan") / "scene.wav"
    write_audio(path, scene.samples, SR, subtype="FLOAT")
    return path


def test_scan_writes_one_json_line_per_detection(recording, vocab, found, tmp_path):
    log = tmp_path / "logs" / "events.jsonl"
    result = scan_file(recording, vocab, ChatConfig(), log)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == len(result.detections) > 0
    assert all(x["file"] == str(recording) and x["type"] == "mimic" for x in lines)
    assert sorted(x["label"] for x in lines if x["accepted"]) == ["rope", "sargassum", "scarf"]
    # the very same streaming matcher, in the live block length: identical decisions and times
    assert [d.to_dict() for d in result.detections] == [d.to_dict() for d in found]
    assert result.speed > 1  # faster than real time


def test_scan_refuses_bad_input_clearly(recording, vocab, tmp_path):
    with pytest.raises(AudioFileError, match="channel 1 requested"):
        scan_file(recording, vocab, ChatConfig(input_channel=1))
    with pytest.raises(AudioFileError, match="not found|No such|does not exist"):
        scan_file(tmp_path / "missing.wav", vocab)
    low = tmp_path / "low.wav"
    write_audio(low, [0.0] * 800, 8000)
    with pytest.raises(AudioFileError, match="low.wav.*8000 Hz"):
        scan_file(low, vocab)
    with pytest.raises(ConfigError, match="block_s"):
        ChatConfig(block_s=0)
