"""Input and output devices: simulator, file replay, PortAudio callbacks without a sound card."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest

from dolphin.audio import write_audio
from dolphin.chat.devices import (
    DeviceError,
    NullOutput,
    StreamClock,
    list_devices,
    open_input,
    open_output,
    parse_device,
)
from dolphin.chat.portaudio import SoundDeviceInput, SoundDeviceOutput
from dolphin.chat.sources import FileReplayInput, LoopbackOutput, SimulatedInput

SR = 48000


def read_all(device, limit_s: float = 10.0):
    """Every block of a finite input, checking that they are contiguous."""
    blocks, deadline = [], time.monotonic() + limit_s
    while not device.finished and time.monotonic() < deadline:
        block = device.read(0.05)
        if block is not None:
            assert block.start_frame == (blocks[-1].end_frame if blocks else 0)
            blocks.append(block)
    return blocks


def test_simulator_places_sounds_at_exact_frames():
    sim = SimulatedInput(
        sample_rate=SR, block_s=0.01, noise_dbfs=-300, duration_s=0.2, realtime=False
    )
    sound = np.linspace(0.1, 0.5, 1000, dtype=np.float32)
    start = sim.add_sound(sound, start_s=0.05, gain_db=-6.0)
    with sim:
        x = np.concatenate([b.samples for b in read_all(sim)], axis=1)
    assert start == 2400 and x.shape == (1, 9600)
    np.testing.assert_allclose(x[0, 2400:3400], sound * 10 ** (-6 / 20), rtol=1e-5)
    assert np.abs(x[0, :2400]).max() < 1e-9 and np.abs(x[0, 3400:]).max() < 1e-9


def test_simulator_runs_at_real_time_pace_and_maps_its_clock():
    sim = SimulatedInput(sample_rate=SR, block_s=0.02, duration_s=0.2, realtime=True)
    t0 = time.monotonic()
    with sim:
        blocks = read_all(sim)
    elapsed = time.monotonic() - t0
    assert sum(b.n_frames for b in blocks) == 9600
    assert 0.18 <= elapsed < 1.0
    last = blocks[-1]
    assert sim.clock.frame_at(last.mono_time_s + 0.01) == last.start_frame + 480
    assert sim.clock.start_time is not None


def test_simulator_refuses_sounds_in_the_past():
    sim = SimulatedInput(sample_rate=SR, block_s=0.01, realtime=False)
    sim.read()
    with pytest.raises(DeviceError, match="already generated"):
        sim.add_sound(np.ones(10, np.float32), start_frame=0)


def test_loopback_plays_back_into_the_input_with_delay_and_gain():
    sim = SimulatedInput(
        sample_rate=SR, block_s=0.01, noise_dbfs=-300, duration_s=0.1, realtime=False
    )
    out = sim.loopback(delay_s=0.002, gain_db=-20.0)
    assert isinstance(out, LoopbackOutput) and open_output(None, input=sim).simulator is sim
    sim.read()  # frames 0..480 generated
    first = out.play(np.full(100, 0.5, np.float32), label="a")
    second = out.play(np.full(50, 0.5, np.float32), label="b")
    assert (first.start_frame, second.start_frame) == (480, 580)
    x = np.concatenate([sim.read().samples for _ in range(9)], axis=1)[0]  # frames 480..4800
    lit = np.flatnonzero(np.abs(x) > 0.01)
    assert lit[0] == 96 and lit.size == 150  # heard 96 frames (2 ms) after it was played
    np.testing.assert_allclose(x[lit], 0.05, rtol=1e-5)


def test_overrun_injection_is_counted_and_zero_filled():
    sim = SimulatedInput(sample_rate=SR, block_s=0.01, duration_s=0.1, realtime=False)
    sim.read()
    sim.inject_overrun(2)
    blocks = [sim.read() for _ in range(3)]
    assert [b.filled for b in blocks] == [True, False, False]
    assert blocks[0].n_frames == 960 and not blocks[0].samples.any()
    kinds = [e.kind for e in sim.events()]
    assert kinds == ["input_overflow", "dropped", "input_overflow", "dropped"]
    assert sim.stats.n_overruns == 4 and sim.stats.n_dropped_frames == 960


def test_replay_gives_the_file_back_fast_and_at_real_time_pace(tmp_path, rng):
    data = (0.1 * rng.standard_normal((2, 7200))).astype(np.float32)
    path = write_audio(tmp_path / "in.wav", data, SR, subtype="FLOAT")
    fast = FileReplayInput(path, channels=(1,), block_s=0.01, realtime=False)
    with fast:
        got = np.concatenate([b.samples for b in read_all(fast)], axis=1)
    np.testing.assert_array_equal(got, data[1:2])
    t0 = time.monotonic()
    with open_input(replay=str(path), block_s=0.02) as paced:
        assert paced.sample_rate == SR
        read_all(paced)
    assert time.monotonic() - t0 >= 0.14


def test_replay_and_open_input_name_their_problems(tmp_path):
    path = write_audio(tmp_path / "in.wav", np.zeros((1, 100), np.float32), SR)
    with pytest.raises(DeviceError, match="out of range for a 1-channel file"):
        FileReplayInput(path, channels=(3,))
    with pytest.raises(DeviceError, match="not both"):
        open_input(replay=str(path), simulate=True)
    assert parse_device("3") == 3 and parse_device(" Focusrite ") == "Focusrite"
    assert parse_device("") is None


def _time_info(adc: float = 0.0, dac: float = 0.0, now: float = 0.0):
    return SimpleNamespace(inputBufferAdcTime=adc, outputBufferDacTime=dac, currentTime=now)


def _status(**flags):
    return SimpleNamespace(**{"input_overflow": False, "output_underflow": False, **flags})


def test_portaudio_input_callback_counts_overflows_and_queue_drops():
    dev = SoundDeviceInput(None, channels=(1,), sample_rate=SR, block_s=0.01, max_queue_s=0.02)
    frames = 480
    block = np.stack([np.zeros(frames), np.arange(frames)], axis=1).astype(np.float32)
    dev._callback(block, frames, _time_info(adc=10.0, now=10.02), _status())
    dev._callback(block, frames, _time_info(adc=10.01, now=10.03), _status(input_overflow=True))
    dev._callback(block, frames, _time_info(), _status())  # queue full (2 blocks): dropped
    dev._callback(block, frames, _time_info(), _status())
    assert dev.stats.n_overflows == 1 and dev.stats.n_dropped_blocks == 2
    first, second = dev.read(0), dev.read(0)
    np.testing.assert_array_equal(first.samples[0], np.arange(frames))
    assert second.start_frame == frames
    assert 0.0 < first.mono_time_s <= time.monotonic() - 0.019
    dev._callback(block, frames, _time_info(), _status())  # room again after two reads
    fill = dev.read(0)
    assert fill.filled and fill.start_frame == 2 * frames and fill.n_frames == 2 * frames
    assert dev.read(0).start_frame == 4 * frames and dev.read(0) is None
    kinds = [e.kind for e in dev.events()]
    assert kinds == ["input_overflow", "dropped", "dropped"]


def test_portaudio_output_callback_times_each_sound_at_the_dac():
    out = SoundDeviceOutput(None, channels=(0, 1), sample_rate=SR, block_s=0.01)
    out._stream = object()  # pretend it is open
    a = out.play(np.full(700, 0.25, np.float32), label="a")
    b = out.play(np.full(100, 0.5, np.float32), label="b")
    buf = np.ones((480, 2), np.float32)
    before = time.monotonic()
    out._callback(buf, 480, _time_info(dac=5.05, now=5.0), _status())
    assert a.start_mono_s == pytest.approx(before + 0.05, abs=0.01) and not a.done.is_set()
    np.testing.assert_array_equal(buf, 0.25)
    before = time.monotonic()
    out._callback(buf, 480, _time_info(dac=5.06, now=5.01), _status(output_underflow=True))
    assert a.done.is_set() and b.done.is_set()
    assert b.start_mono_s == pytest.approx(before + 0.05 + 220 / SR, abs=0.005)
    assert (buf[:220] == 0.25).all() and (buf[220:320] == 0.5).all() and not buf[320:].any()
    assert [e.kind for e in out.events()] == ["output_underflow"]


def test_stream_clock_and_null_output_time_emissions():
    clock = StreamClock(SR)
    assert clock.frame_at(1.0) is None and clock.wall_time(0) is None
    now = time.monotonic()
    clock.update(4800, now - 0.1)
    assert clock.frame_at(now) == 9600
    out = NullOutput(clock)
    first = out.play(np.zeros(480, np.float32))
    second = out.play(np.zeros(10, np.float32))
    assert abs(first.start_frame - 9600) < 480 and second.start_frame == first.start_frame + 480
    assert first.frame_in(clock) == first.start_frame and first.done.is_set()


def test_list_devices_returns_device_infos():
    try:
        devices = list_devices()
    except DeviceError as err:  # no PortAudio library on this machine
        pytest.skip(str(err))
    for dev in devices:
        assert dev.index >= 0 and dev.line()


def test_cli_devices_prints_a_table_or_says_there_is_none(capsys):
    from dolphin.cli import chat_devices

    assert chat_devices.run(None) == 0
    out = capsys.readouterr().out.strip()
    assert out and ("Hz" in out or "no audio device" in out or "finds no" in out)


def test_a_portaudio_stream_that_stops_by_itself_is_a_device_error_and_drains():
    dev = SoundDeviceInput(None, sample_rate=SR, block_s=0.01)
    block = np.ones((480, 1), np.float32)
    for _ in range(2):
        dev._callback(block, 480, _time_info(), _status())
    dev._stream = object()  # running; PortAudio now ends it (device unplugged)
    dev._finished()
    assert [e.kind for e in dev.events()] == ["device_error"]
    assert not dev.finished and dev.n_queued == 2  # what was captured is still there
    assert [b.start_frame for b in dev.drain()] == [0, 480]
    assert dev.finished and dev.drain() == []
