"""The session fields of ChatConfig reach the parts they set: level, calibration, cue device,
self-hearing tail, input queue and the plain "print" feedback; misspelt keys fail by name."""

from __future__ import annotations

import dataclasses
import io
import stat
import sys
import textwrap

import numpy as np
import pytest

import dolphin.chat.live as live
from dolphin.chat.calibrate import Calibration
from dolphin.chat.config import ChatConfig
from dolphin.chat.devices import open_input
from dolphin.chat.feedback import PrintFeedback, SpeechFeedback
from dolphin.chat.sources import SimulatedInput
from dolphin.config import compose, load_config
from dolphin.errors import ConfigError

SR = 48000


def cal_file(tmp_path, offset_db: float = -12.0):
    return Calibration(
        offset_db=offset_db,
        tone_hz=10000.0,
        output_dbfs=-20.0,
        measured_dbfs=-20.0 + offset_db,
        noise_dbfs=-80.0,
        sample_rate=SR,
    ).save(tmp_path / "cal.json")


def test_new_fields_compose_and_bad_or_misspelt_ones_fail_by_name():
    cfg = load_config(
        [
            "chat.emit_level_dbfs=-30",
            "chat.calibration=cal.json",
            "chat.cue_device=headphones",
            "chat.mute_tail_s=0.4",
            "chat.max_queue_s=3",
            "chat.feedback=print",
        ]
    ).chat
    assert (cfg.emit_level_dbfs, cfg.calibration, cfg.cue_device) == (-30, "cal.json", "headphones")
    assert (cfg.mute_tail_s, cfg.max_queue_s, cfg.feedback) == (0.4, 3.0, "print")
    for key in ("emit_level_dbf", "cue_devise", "mute_tail", "max_queue", "calibraton"):
        with pytest.raises(ConfigError, match=key):
            compose([f"chat.{key}=1"])
    for name, value in (
        ("emit_level_dbfs", 3.0),
        ("mute_tail_s", -0.1),
        ("max_queue_s", 0.01),
        ("feedback", "morse"),
    ):
        with pytest.raises(ConfigError, match=name):
            ChatConfig(**{name: value})


def test_build_session_applies_level_calibration_tail_and_queue(tmp_path, vocab, monkeypatch):
    seen = {}

    def spy_open_input(**kwargs):
        seen.update(kwargs)
        return SimulatedInput(sample_rate=SR, block_s=kwargs["block_s"], realtime=False)

    monkeypatch.setattr(live, "open_input", spy_open_input)
    cfg = dataclasses.replace(
        ChatConfig(),
        sample_rate=SR,
        session_dir=str(tmp_path / "s"),
        emit_level_dbfs=-33.0,
        calibration=str(cal_file(tmp_path, offset_db=-12.0)),
        mute_tail_s=0.05,
        max_queue_s=2.5,
        feedback="print",
    )
    stream = io.StringIO()
    session = live.build_session(cfg, vocab=vocab, simulate=True, view=False, stream=stream)
    assert seen["max_queue_s"] == 2.5
    emitter = session.emitter
    assert emitter.level_dbfs == -33.0 and emitter.mute_tail_s == 0.05
    assert emitter.calibration.offset_db == -12.0
    _, out_db = emitter.prepare(vocab.labels[0])
    assert out_db == pytest.approx(-33.0 + 12.0)  # -33 dBFS at the hydrophone: -21 out
    assert isinstance(session.feedback, PrintFeedback) and session.feedback.stream is stream
    session.feedback.announce("rope")
    assert "MIMIC rope" in stream.getvalue()
    # an explicit argument still overrides the config
    louder = live.build_session(cfg, vocab=vocab, simulate=True, view=False, level_dbfs=-25.0)
    assert louder.emitter.level_dbfs == -25.0


def test_cue_device_carries_cues_and_speech_never_the_speaker(tmp_path, vocab, monkeypatch):
    opened = []
    real_open_output = live.open_output

    def spy_open_output(device, *, input, channels=(0,)):
        opened.append(device)
        return real_open_output(None, input=input)  # the simulator's loopback stands in

    monkeypatch.setattr(live, "open_output", spy_open_output)
    monkeypatch.setattr(live, "build_feedback", lambda kind, **kw: (kind, kw["output"]))
    cfg = dataclasses.replace(
        ChatConfig(), sample_rate=SR, session_dir=str(tmp_path), cue_device="phones"
    )
    for kind in ("beep", "speech"):
        opened.clear()
        session = live.build_session(
            dataclasses.replace(cfg, feedback=kind), vocab=vocab, simulate=True, view=False
        )
        assert opened == [None, "phones"]  # the speaker ("" -> default), then the cue device
        assert session.feedback == (kind, session.outputs[1])
    opened.clear()
    live.build_session(
        dataclasses.replace(cfg, feedback="print"), vocab=vocab, simulate=True, view=False
    )
    assert opened == [None]  # no audio feedback: the cue device stays closed


def fake_espeak(tmp_path):
    """A stand-in for espeak-ng that writes a 1 kHz tone to the file after ``-w``."""
    script = tmp_path / "fake-espeak"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import sys
            import numpy as np
            import soundfile
            path = sys.argv[sys.argv.index("-w") + 1]
            t = np.arange(2205) / 22050
            soundfile.write(path, 0.5 * np.sin(2 * np.pi * 1000 * t), 22050)
            """
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_speech_plays_on_the_cue_device(tmp_path):
    sim = SimulatedInput(sample_rate=SR, noise_dbfs=-300, realtime=False)
    speech = SpeechFeedback(command=str(fake_espeak(tmp_path)), output=sim.loopback())
    speech.announce("rope")
    speech._proc.wait(10)
    speech.poll()  # the speech is ready: played on the output, file removed
    x = sim.read().samples[0]
    spectrum = np.abs(np.fft.rfft(x))
    assert np.fft.rfftfreq(x.size, 1 / SR)[spectrum.argmax()] == pytest.approx(1000, abs=60)
    assert speech.spoken == ["rope"] and speech._wav is None
    speech.close()


def test_open_input_bounds_the_portaudio_queue():
    dev = open_input(device="3", sample_rate=SR, block_s=0.05, max_queue_s=1.0)
    assert dev.max_blocks == 20


def test_session_flags_set_the_config_fields_and_keys_override_them():
    import argparse

    from dolphin.cli import chat_session

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    chat_session.add_parser(sub)
    argv = ["session", "--vocab", "v.json", "--level-dbfs", "-31", "--calibration", "c.json"]
    argv += ["--cue-device", "phones", "--feedback", "print", "chat.mute_tail_s=0.5"]
    cfg = chat_session.chat_config(parser.parse_args(argv))
    assert (cfg.emit_level_dbfs, cfg.calibration, cfg.cue_device) == (-31.0, "c.json", "phones")
    assert (cfg.feedback, cfg.mute_tail_s) == ("print", 0.5)
    with pytest.raises(ConfigError, match="emit_level_dbfs"):
        chat_session.chat_config(
            parser.parse_args(["session", "--vocab", "v", "--level-dbfs", "3"])
        )
