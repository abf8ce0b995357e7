"""CHAT sessions: detection through the matcher, gapless rotation, overruns, kill -9, keys, view."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dolphin.annotations import Contour
from dolphin.audio import audio_info, parse_start_time, read_audio, write_audio
from dolphin.chat.emitter import EmissionError, EmissionSchedule, Emitter
from dolphin.chat.eventlog import read_events
from dolphin.chat.session import ChatSession
from dolphin.chat.sources import FileReplayInput, SimulatedInput
from dolphin.chat.view import KeyReader, TerminalView, meter

SR = 48000


@pytest.fixture(scope="module")
def vocab():
    from dolphin.chat.vocab import VocabEntry, Vocabulary

    t = np.linspace(0.0, 0.6, 61)
    return Vocabulary(
        [
            VocabEntry("up", Contour(t, 6000 + 8000 * t / 0.6)),
            VocabEntry("down", Contour(t, 14000 - 8000 * t / 0.6)),
            VocabEntry("hump", Contour(t, 7000 + 6000 * np.sin(np.pi * t / 0.6))),
        ]
    )


def imitation(vocab, label: str, scale: float) -> np.ndarray:
    """A copy of an entry transposed by ``scale`` and 10 % slower, peak 0.1."""
    from dolphin.synth.sounds import render_whistle

    c = vocab[label].contour
    x = render_whistle(Contour(c.times_s * 1.1, c.freqs_hz * scale), sample_rate=SR)
    return (0.1 * x / np.abs(x).max()).astype(np.float32)


def test_simulated_session_detects_scheduled_mimics_and_not_its_own_emission(tmp_path, vocab):
    from dolphin.chat.matcher import MimicMatcher

    sim = SimulatedInput(sample_rate=SR, block_s=0.05, noise_dbfs=-50, duration_s=7, realtime=False)
    plan = [("up", 1.0, 1.1), ("hump", 2.5, 0.9), ("down", 4.0, 1.05)]
    for label, at, scale in plan:
        sim.add_sound(imitation(vocab, label, scale), start_s=at)
    matcher = MimicMatcher(vocab, sample_rate=SR)
    emitter = Emitter(
        sim.loopback(delay_s=0.005),
        vocab.render(SR, peak=0.5),
        input=sim,
        level_dbfs=-25,
        mute=matcher.mute,
    )
    session = ChatSession(
        tmp_path,
        sim,
        matcher=matcher,
        emitter=emitter,
        schedule=EmissionSchedule.parse("5.5=up"),
        config={"note": "test"},
        rotate_s=2.0,
    )
    result = session.run()
    assert result.stopped_by == "end_of_input" and result.n_frames == 7 * SR
    found = [(d.label, d.start_s) for d in result.detections if d.accepted]
    assert [x[0] for x in found] == [p[0] for p in plan]
    for (_, start_s), (_, at, _) in zip(found, plan, strict=True):
        assert abs(start_s - at) < 0.05
    (emission,) = result.emissions
    assert emission.start_frame == emission.requested_frame == int(5.5 * SR)
    assert emission.end_frame - emission.start_frame == vocab.render(SR)["up"].size
    assert not any(5.4 < d.start_s < 6.5 for d in result.detections)  # muted: self-hearing
    events = read_events(result.events_path)
    names = [r["event"] for r in events]
    assert names[0] == "session_start" and names[-1] == "session_stop"
    assert names.count("detection") == len(result.detections) and names.count("emission") == 1
    (logged,) = read_events(result.events_path, events=["emission"])
    assert logged["start_frame"] == emission.start_frame and logged["start_s"] == 5.5
    assert (result.folder / "config.json").read_text().strip().startswith("{")
    assert (result.folder / "session.json").is_file()
    assert sum(audio_info(f.path).n_frames for f in result.files) == 7 * SR


@pytest.mark.parametrize("audio_format", ["w64", "flac"])
def test_rotation_is_gapless_and_names_carry_exact_start_times(tmp_path, rng, audio_format):
    x = np.round(rng.uniform(-0.5, 0.5, (2, int(3.3 * SR))) * 2**23) / 2**23
    source = write_audio(tmp_path / "in.wav", x.astype(np.float32), SR, subtype="PCM_24")
    replay = FileReplayInput(source, channels=(0, 1), block_s=0.037, realtime=False)
    result = ChatSession(tmp_path / "s", replay, rotate_s=1.0, audio_format=audio_format).run()
    assert [f.n_frames for f in result.files] == [SR, SR, SR, int(0.3 * SR)]
    assert all(f.path.suffix == f".{audio_format}" and f.path.exists() for f in result.files)
    assert not list((result.folder / "audio").glob("*.w64" if audio_format == "flac" else "*.x"))
    joined = np.concatenate([read_audio(f.path).samples for f in result.files], axis=1)
    np.testing.assert_array_equal(joined, x.astype(np.float32))
    starts = [parse_start_time(f.path.name) for f in result.files]
    assert starts == [f.start_time for f in result.files]
    assert np.diff(starts).tolist() == [timedelta(seconds=1)] * 3
    if audio_format == "flac":
        assert f"start_frame={2 * SR};" in sf.SoundFile(result.files[2].path).comment
        assert len(read_events(result.events_path, events=["file_compressed"])) == 4


def test_an_injected_overrun_is_logged_counted_and_keeps_time(tmp_path):
    sim = SimulatedInput(sample_rate=SR, block_s=0.05, duration_s=1.0, realtime=False)
    session = ChatSession(tmp_path, sim, rotate_s=None)
    sim.inject_overrun(3)  # the first three blocks are lost
    result = session.run()
    assert result.stats.n_overruns == 6 and result.stats.n_dropped_frames == int(0.15 * SR)
    assert result.n_frames == SR  # zeros stand in for the lost frames: the timeline holds
    audio = read_audio(result.files[0].path).samples[0]
    assert not audio[: int(0.15 * SR)].any() and audio[int(0.15 * SR) :].any()
    dropped = read_events(result.events_path, events=["dropped"])
    assert [r["frame"] for r in dropped] == [0, 2400, 4800]
    assert len(read_events(result.events_path, events=["input_overflow"])) == 3
    stop = read_events(result.events_path, events=["session_stop"])[0]
    assert stop["stats"]["n_dropped_blocks"] == 3


_KILLED_SESSION = """
import sys
from dolphin.chat.session import ChatSession
from dolphin.chat.sources import SimulatedInput
sim = SimulatedInput(sample_rate=48000, block_s=0.05, noise_dbfs=-20, realtime=True)
ChatSession(sys.argv[1], sim, rotate_s=1.0, status_every_s=0.2).run()
"""


def test_kill_9_mid_session_leaves_readable_audio_and_log_losing_under_a_second(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_SESSION, str(tmp_path)])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            logs = list(tmp_path.glob("*/events.jsonl"))
            status = read_events(logs[0], events=["status"]) if logs else []
            if status and status[-1]["stream_s"] >= 1.6:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the session did not get going within 60 s")
        os.kill(proc.pid, signal.SIGKILL)
        killed_at = datetime.now().astimezone()
    finally:
        proc.kill()
        proc.wait()
    (folder,) = tmp_path.iterdir()
    events = read_events(folder / "events.jsonl")
    assert events[0]["event"] == "session_start" and events[-1]["event"] != "session_stop"
    assert not (folder / "session.json").exists()
    files = sorted((folder / "audio").glob("*.w64"))
    lengths = [audio_info(f).n_frames for f in files]
    assert len(files) >= 2 and lengths[:-1] == [SR] * (len(files) - 1) and lengths[-1] > 0
    joined = np.concatenate([read_audio(f).samples for f in files], axis=1)
    assert joined.shape[1] == sum(lengths) and np.abs(joined[:, -1000:]).max() > 0
    first = datetime.fromisoformat(
        read_events(folder / "events.jsonl", events=["file_open"])[0]["start_time"]
    )
    should_have_s = (killed_at - first).total_seconds()
    assert 0 <= should_have_s - sum(lengths) / SR < 1.0
    last_status = [r for r in events if r["event"] == "status"][-1]
    assert sum(lengths) / SR - last_status["stream_s"] < 1.0


def test_keys_emit_entries_and_q_stops(tmp_path, vocab):
    sim = SimulatedInput(sample_rate=SR, block_s=0.05, realtime=False)
    emitter = Emitter(sim.loopback(), vocab.render(SR), input=sim, level_dbfs=-30)
    keys = KeyReader(io.StringIO())
    keys.push("2xq")  # "x" means nothing; the emission is still made before quitting
    session = ChatSession(tmp_path, sim, emitter=emitter, keys=keys, rotate_s=None)
    result = session.run()
    assert result.stopped_by == "key"
    assert [(e.label, e.trigger) for e in result.emissions] == [("down", "key")]
    assert emitter.label_for_key("3") == "hump" and emitter.label_for_key("9") is None


def test_a_schedule_without_an_emitter_is_refused(tmp_path):
    sim = SimulatedInput(sample_rate=SR, realtime=False)
    with pytest.raises(EmissionError, match="needs an emitter"):
        ChatSession(tmp_path, sim, schedule=EmissionSchedule([(1.0, "up")]))


def test_view_draws_in_place_on_a_terminal_and_prints_lines_elsewhere():
    plain = io.StringIO()
    view = TerminalView(plain, tty=False, status_every_s=0.0)
    view.levels(np.full((1, 100), 0.1, np.float32))
    view.detection({"label": "up", "confidence": 0.9, "accepted": True, "start_s": 1.5})
    view.emission({"label": "down", "level_dbfs": -20.0, "start_s": 3.0, "trigger": "key"})
    view.problem({"event": "dropped", "detail": "queue full"})
    view.refresh(4.0)
    lines = plain.getvalue().splitlines()
    assert lines[0].startswith("detection") and "up" in lines[0] and "ACCEPTED" in lines[0]
    assert lines[1].startswith("emission") and lines[2].startswith("PROBLEM")
    assert "overruns 1" in lines[3] and "-20.0 dBFS" in lines[3]
    screen = io.StringIO()
    live = TerminalView(screen, tty=True, keys={"1": "up"}, title="session x")
    live.detection({"label": "up", "confidence": 0.9, "accepted": False, "start_s": 1.5})
    assert screen.getvalue() == ""  # nothing printed until a refresh
    live.refresh(61.0)
    text = screen.getvalue()
    assert text.startswith("\x1b[H\x1b[J") and "session x" in text and "1=up" in text
    assert "1:01.00" in text and "rejected" in text
    assert meter(0.0, 10) == "#" * 10 and meter(-200.0, 10) == "." * 10


def test_cli_session_runs_a_simulated_session_with_imitations(tmp_path, vocab, capsys):
    from dolphin.cli.main import main

    path = vocab.save(tmp_path / "vocab.json")
    argv = ["chat", "session", "--vocab", str(path), "--simulate", "--fast", "--no-view"]
    argv += ["--duration-s", "6", "--sample-rate", "48000", "--session-dir", str(tmp_path / "s")]
    argv += ["--simulate-every-s", "1", "--feedback", "print", "--schedule", "4.5=up"]
    assert main(argv + ["chat.rotate_s=2", "chat.audio_format=W64"]) == 0
    out = capsys.readouterr()
    assert "6.0 s recorded in 3 file(s)" in out.out and "1 emission(s)" in out.out
    assert "MIMIC" in out.out  # --feedback print: plain lines on stdout
    (folder,) = (tmp_path / "s").iterdir()
    config = json.loads((folder / "config.json").read_text())
    assert config["chat"]["sample_rate"] == 48000 and config["simulated_imitations"]
    labels = [label for _, label in config["simulated_imitations"]]
    found = [r["label"] for r in read_events(folder / "events.jsonl", events=["detection"])]
    assert found and set(found) <= set(labels) | {None}


def test_field_tool_record_makes_a_plain_recording(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        "record_tool", Path(__file__).parents[2] / "field_tools" / "record.py"
    )
    record = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(record)
    argv = ["--simulate", "--fast", "--no-view", "--duration-s", "1.5", "--sample-rate", "48000"]
    assert record.main(argv + ["--session-dir", str(tmp_path), "--format", "WAV"]) == 0
    (folder,) = tmp_path.iterdir()
    (wav,) = (folder / "audio").glob("*.wav")
    assert audio_info(wav).n_frames == int(1.5 * SR)
    assert "0 imitation(s) of 0 sounds" in capsys.readouterr().out


class _BrokenMatcher:
    def process(self, block):
        raise RuntimeError("bug in the matcher")

    def flush(self):
        return []

    def mute(self, start_s, end_s):
        pass


class _BrokenView(TerminalView):
    def levels(self, samples):
        raise ValueError("bug in the view")


def test_matcher_and_view_failures_never_stop_the_recording(tmp_path):
    sim = SimulatedInput(sample_rate=SR, block_s=0.05, duration_s=1.0, realtime=False)
    view = _BrokenView(io.StringIO(), tty=False)
    result = ChatSession(tmp_path, sim, matcher=_BrokenMatcher(), view=view, rotate_s=None).run()
    assert result.stopped_by == "end_of_input" and result.n_frames == SR
    errors = [r["detail"] for r in read_events(result.events_path, events=["error"])]
    assert sum("bug in the matcher" in e for e in errors) == 10  # then the matcher is dropped
    assert 1 <= sum("bug in the view" in e for e in errors) <= 10
