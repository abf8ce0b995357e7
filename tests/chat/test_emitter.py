"""Emitter levels and timing, loopback calibration, schedules and researcher feedback."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

from dolphin.chat.calibrate import (
    Calibration,
    CalibrationError,
    make_tone,
    measure_loopback,
    rms_dbfs,
)
from dolphin.chat.devices import NullOutput, OutputDevice, Playback
from dolphin.chat.emitter import EmissionError, EmissionSchedule, Emitter
from dolphin.chat.feedback import (
    CueFeedback,
    FeedbackError,
    PrintFeedback,
    SpeechFeedback,
    build_feedback,
)
from dolphin.chat.sources import SimulatedInput

SR = 48000


def sweep(n: int = 4800, peak: float = 0.5) -> np.ndarray:
    t = np.arange(n) / SR
    return (peak * np.sin(2 * np.pi * (5000 + 20000 * t) * t)).astype(np.float32)


class Mutes:
    def __init__(self):
        self.spans = []

    def __call__(self, start_s, end_s):
        self.spans.append((start_s, end_s))


def test_levels_are_rms_dbfs_at_the_output_or_through_the_calibration():
    sim = SimulatedInput(sample_rate=SR, realtime=False)
    plain = Emitter(sim.loopback(), {"a": sweep()}, input=sim, level_dbfs=-30)
    x, out_db = plain.prepare("a")
    assert rms_dbfs(x) == pytest.approx(-30, abs=0.01) and out_db == -30
    cal = Calibration(offset_db=-12.0, tone_hz=1e4, output_dbfs=-20, measured_dbfs=-32,
                      noise_dbfs=-80, sample_rate=SR)  # fmt: skip
    calibrated = Emitter(sim.loopback(), {"a": sweep()}, input=sim, calibration=cal)
    x, out_db = calibrated.prepare("a", level_dbfs=-40)  # -40 at the hydrophone: -28 out
    assert rms_dbfs(x) == pytest.approx(-28, abs=0.01) and out_db == -28
    cal.delay_s = 0.002  # emissions are logged when heard: 96 frames after they are played
    heard = Emitter(sim.loopback(), {"a": sweep()}, input=sim, calibration=cal)
    heard.emit("a")
    (emission,) = heard.poll()
    assert emission.start_frame == 96 and emission.calibrated
    with pytest.raises(EmissionError, match="would clip"):
        plain.prepare("a", level_dbfs=0.0)
    with pytest.raises(EmissionError, match=r"no sound 'b' to emit \(have \['a'\]\)"):
        plain.emit("b")


def test_loopback_emissions_are_timed_to_the_frame_and_muted():
    sim = SimulatedInput(sample_rate=SR, block_s=0.01, noise_dbfs=-300, realtime=False)
    mutes = Mutes()
    emitter = Emitter(
        sim.loopback(delay_s=0.001), {"a": sweep(960)}, input=sim, level_dbfs=-20, mute=mutes,
        mute_tail_s=0.1,
    )  # fmt: skip
    for _ in range(3):
        sim.read()
    emitter.emit("a", trigger="key")
    emitter.emit("a")
    first, second = emitter.poll()
    assert (first.requested_frame, first.start_frame, first.end_frame) == (1440, 1440, 2400)
    assert second.start_frame == 2400 and first.trigger == "key" and second.trigger == "api"
    assert mutes.spans == [(0.03, pytest.approx(0.15)), (0.05, pytest.approx(0.17))]
    heard = np.concatenate([sim.read().samples[0] for _ in range(6)])  # frames 1440..4320
    played, _ = emitter.prepare("a")
    np.testing.assert_allclose(heard[48:1968], np.concatenate([played, played]), atol=1e-6)
    assert np.abs(heard[:48]).max() < 1e-9 and np.abs(heard[1968:]).max() < 1e-9  # 1 ms later
    assert rms_dbfs(heard[48 : 48 + 960]) == pytest.approx(-20, abs=0.05)
    assert emitter.poll() == [] and emitter.n_pending == 0


class DacOutput(OutputDevice):
    """An output that, like PortAudio, only learns the DAC time of a sound later."""

    name = "dac"
    latency_s = 0.02

    def __init__(self):
        self.sample_rate = SR
        self.played: list[Playback] = []

    def play(self, samples, *, label=""):
        self.played.append(Playback(label, len(samples), SR))
        return self.played[-1]


def test_dac_timed_emissions_are_muted_ahead_then_exactly():
    sim = SimulatedInput(sample_rate=SR, block_s=0.01, realtime=False)
    sim.clock.update(4800, time.monotonic())  # frame 4800 is being sampled now
    out, mutes = DacOutput(), Mutes()
    emitter = Emitter(out, {"a": sweep(480)}, input=sim, mute=mutes, mute_tail_s=0.0)
    emitter.emit("a")
    assert emitter.poll() == [] and emitter.n_pending == 1
    (ahead,) = mutes.spans
    assert 0.069 <= ahead[0] < 0.2  # 20 ms latency, 50 ms guard (later if this test is slow)
    out.played[0].start_mono_s = time.monotonic() + 0.5
    (emission,) = emitter.poll()
    assert emission.start_frame == pytest.approx(4800 + 0.5 * SR, abs=0.01 * SR)
    assert mutes.spans[1] == (emission.start_s, emission.end_s)


def test_the_null_output_times_emissions_at_the_current_input_frame():
    sim = SimulatedInput(sample_rate=SR, block_s=0.01, realtime=True)
    sim.start()
    sim.read(1.0)
    emitter = Emitter(NullOutput(sim.clock), {"a": sweep(100)}, input=sim)
    emitter.emit("a")
    (emission,) = emitter.poll()
    assert abs(emission.start_frame - sim.next_frame) < 0.05 * SR


def test_emitter_refuses_a_rate_mismatch_and_no_sounds():
    sim = SimulatedInput(sample_rate=SR, realtime=False)
    other = SimulatedInput(sample_rate=96000, realtime=False)
    with pytest.raises(EmissionError, match="96000 Hz but the input at 48000 Hz"):
        Emitter(other.loopback(), {"a": sweep()}, input=sim)
    with pytest.raises(EmissionError, match="at least one sound"):
        Emitter(sim.loopback(), {}, input=sim)


def test_schedule_parses_and_hands_out_each_item_once():
    schedule = EmissionSchedule.parse(" 5=scarf, 1.5=rope ,")
    assert len(schedule) == 2
    assert schedule.due(1.0) == [] and schedule.due(6.0) == ["rope", "scarf"]
    assert schedule.due(100.0) == []
    for bad in ("5", "x=rope", "5="):
        with pytest.raises(EmissionError, match="SECONDS=LABEL"):
            EmissionSchedule.parse(bad)


def test_measure_loopback_finds_the_loopback_gain(tmp_path):
    sim = SimulatedInput(sample_rate=SR, block_s=0.02, noise_dbfs=-70, realtime=False)
    with sim:
        cal = measure_loopback(sim, sim.loopback(delay_s=0.01, gain_db=-12.0), duration_s=0.5)
    assert cal.offset_db == pytest.approx(-12.0, abs=0.3)
    assert cal.delay_s == pytest.approx(0.01, abs=1.01 / SR)  # the loopback's 10 ms
    assert cal.measured_dbfs == pytest.approx(-32.0, abs=0.3) and cal.noise_dbfs < -60
    assert Calibration.load(cal.save(tmp_path / "cal.json")) == cal
    with pytest.raises(CalibrationError, match="not found"):
        Calibration.load(tmp_path / "missing.json")
    deaf = SimulatedInput(sample_rate=SR, block_s=0.02, noise_dbfs=-70, realtime=False)
    with pytest.raises(CalibrationError, match="tone not heard"):
        measure_loopback(deaf, deaf.loopback(gain_db=-80.0), duration_s=0.3)


def test_make_tone_has_its_rms_level_and_ramps():
    x = make_tone(freq_hz=1000, duration_s=0.5, level_dbfs=-20, sample_rate=SR)
    assert rms_dbfs(x[480:-480]) == pytest.approx(-20, abs=0.05) and abs(x[0]) < 1e-6


def test_speech_is_non_blocking_and_keeps_only_the_latest_pending_label(tmp_path):
    slow = tmp_path / "slow-speaker"
    slow.write_text("#!/bin/sh\nsleep 0.3\n")
    slow.chmod(0o755)
    speech = SpeechFeedback(command=str(slow))
    t0 = time.monotonic()
    speech.announce("scarf")
    speech.announce("rope")
    speech.announce("ball")
    speech.announce("hoop", accepted=False)  # rejected: not spoken
    assert time.monotonic() - t0 < 0.2 and speech.busy
    assert speech.spoken == ["scarf"]
    while speech.busy:
        time.sleep(0.02)
    speech.poll()
    assert speech.spoken == ["scarf", "ball"]
    speech.close()
    with pytest.raises(FeedbackError, match="apt-get install espeak-ng"):
        SpeechFeedback(command="no-such-speaker-program")


def test_cue_and_print_feedback():
    sim = SimulatedInput(sample_rate=SR, noise_dbfs=-300, realtime=False)
    cues = build_feedback("beep", labels=["a", "b"], output=sim.loopback())
    assert isinstance(cues, CueFeedback)
    cues.announce("b")
    x = sim.read().samples[0]
    spectrum = np.abs(np.fft.rfft(x))
    assert np.fft.rfftfreq(x.size, 1 / SR)[spectrum.argmax()] == pytest.approx(988, abs=25)
    stream = io.StringIO()
    printed = build_feedback("print", stream=stream)
    assert isinstance(printed, PrintFeedback)
    printed.announce("rope")
    printed.announce("ball", accepted=False)
    assert stream.getvalue() == "MIMIC rope\n"  # plain and silent: no bell
    assert isinstance(build_feedback("beep"), PrintFeedback)  # no cue output: the bell
    with pytest.raises(FeedbackError, match="must be one of"):
        build_feedback("shout")
