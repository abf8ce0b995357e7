"""End to end through real PortAudio streams on a JACK dummy server, looped back with jack_connect.

A private ``jackd --no-realtime -d dummy -r 96000`` is started (the test is skipped when jackd,
jack_connect or PortAudio are missing). After a loopback calibration, the session records from
JACK's ``system`` device while the test plays two vocabulary imitations (the "dolphin") and the
session's emitter plays one whistle (key ``3``) on PortAudio output streams; ``jack_connect``
loops every PortAudio output port to the input port. The session must detect both imitations,
not its own whistle, and log the whistle's start within a JACK period of where it appears in
the recording.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from dolphin.annotations import Contour
from dolphin.audio import read_audio
from dolphin.chat.calibrate import measure_loopback
from dolphin.chat.devices import DeviceError
from dolphin.chat.emitter import Emitter
from dolphin.chat.eventlog import read_events
from dolphin.chat.live import REALTIME_SWITCH_INTERVAL_S
from dolphin.chat.session import ChatSession
from dolphin.chat.view import KeyReader

pytestmark = pytest.mark.realtime

SR = 96000
PERIOD = 2048  # JACK frames per cycle (21 ms: Python callbacks under load still make it)


def _jack(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=10)


@pytest.fixture(scope="module")
def jack():
    """A private JACK dummy server, with PortAudio re-initialised to see it."""
    if not all(shutil.which(p) for p in ("jackd", "jack_connect", "jack_lsp", "jack_disconnect")):
        pytest.skip("jackd / jack_connect not installed (apt-get install jackd2)")
    from dolphin.chat.portaudio import import_sounddevice

    try:
        sd = import_sounddevice()
    except DeviceError as err:
        pytest.skip(str(err))
    name = f"dolphin_test_{os.getpid()}"
    env = {**os.environ, "JACK_DEFAULT_SERVER": name, "JACK_NO_AUDIO_RESERVATION": "1"}
    server = subprocess.Popen(
        ["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", str(SR), "-p", str(PERIOD)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    patch = pytest.MonkeyPatch()
    try:
        deadline = time.monotonic() + 10
        while _jack("jack_lsp", env=env).returncode != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.skip("jackd did not start")
            time.sleep(0.1)
        patch.setenv("JACK_DEFAULT_SERVER", name)
        sd._terminate()
        sd._initialize()
        if not any("JACK" in api["name"] for api in sd.query_hostapis()):
            pytest.skip("this PortAudio has no JACK host API")
        yield env
    finally:
        sd._terminate()
        server.terminate()
        server.wait(10)
        patch.undo()
        sd._initialize()


def _loop_back(env: dict, n_outputs: int, timeout_s: float = 10.0) -> None:
    """Wait for the session's ports, then feed every PortAudio output into its input."""
    deadline = time.monotonic() + timeout_s
    while True:
        ports = _jack("jack_lsp", env=env).stdout.split()
        ins = [p for p in ports if p.startswith("PortAudio:in_")]
        outs = [p for p in ports if p.startswith("PortAudio:out_")]
        if ins and len(outs) >= n_outputs:
            break
        assert time.monotonic() < deadline, f"PortAudio ports did not appear: {ports}"
        time.sleep(0.05)
    for port in ins:
        _jack("jack_disconnect", "system:capture_1", port, env=env)
    for port in outs:
        _jack("jack_disconnect", port, "system:playback_1", env=env)
        for in_port in ins:
            assert _jack("jack_connect", port, in_port, env=env).returncode == 0


def test_session_detects_mimics_played_through_a_jack_loopback(jack, tmp_path):
    from dolphin.chat.matcher import MimicMatcher
    from dolphin.chat.portaudio import SoundDeviceInput, SoundDeviceOutput
    from dolphin.chat.vocab import VocabEntry, Vocabulary
    from dolphin.synth.sounds import render_whistle

    t = np.linspace(0.0, 0.6, 61)
    vocab = Vocabulary(
        [
            VocabEntry("up", Contour(t, 6000 + 8000 * t / 0.6)),
            VocabEntry("down", Contour(t, 14000 - 8000 * t / 0.6)),
            VocabEntry("hump", Contour(t, 7000 + 6000 * np.sin(np.pi * t / 0.6))),
        ]
    )

    def mimic(label: str, scale: float) -> np.ndarray:
        c = vocab[label].contour
        x = render_whistle(Contour(c.times_s * 1.1, c.freqs_hz * scale), sample_rate=SR)
        return 0.1 * x / np.abs(x).max()

    # The "dolphin": -60 dBFS noise (the tracker needs a noise floor; JACK gives exact zeros
    # until the scene starts) with an imitation of "up" 2.0 s in, once the noise fills most of
    # the tracker's 2.5 s noise memory, and of "down" 4.4 s in. The session's own whistle is
    # emitted (key "3") 3.0 s into the scene, between the two; times are relative to the start
    # of the scene, which comes later on a loaded machine.
    scene = 1e-3 * np.random.default_rng(0).standard_normal(int(6.0 * SR))
    for label, scale, at_s in (("up", 1.1, 2.0), ("down", 0.9, 4.4)):
        x = mimic(label, scale)
        scene[int(at_s * SR) : int(at_s * SR) + x.size] += x

    # Calibrate the loopback first (level and delay), on streams of its own.
    mic, speaker = (
        SoundDeviceInput("system", sample_rate=SR),
        SoundDeviceOutput("system", sample_rate=SR),
    )
    mic.start()
    speaker.start()
    try:
        _loop_back(jack, n_outputs=1)
        cal = measure_loopback(mic, speaker, duration_s=0.4, settle_s=0.2)
    finally:
        mic.stop()
        speaker.stop()
    assert abs(cal.offset_db) < 0.5  # a digital loopback: no gain

    mic = SoundDeviceInput("system", channels=(0,), sample_rate=SR, block_s=0.05)
    speaker = SoundDeviceOutput("system", sample_rate=SR)
    dolphin = SoundDeviceOutput("system", sample_rate=SR)
    matcher = MimicMatcher(vocab, sample_rate=SR)
    emitter = Emitter(
        speaker, vocab.render(SR), input=mic, level_dbfs=-25, mute=matcher.mute, calibration=cal
    )
    keys = KeyReader(io.StringIO())
    session = ChatSession(
        tmp_path,
        mic,
        matcher=matcher,
        emitter=emitter,
        outputs=[speaker, dolphin],
        keys=keys,
        rotate_s=None,
    )
    stop, results = threading.Event(), []
    switch = sys.getswitchinterval()
    sys.setswitchinterval(REALTIME_SWITCH_INTERVAL_S)  # as run_session does
    runner = threading.Thread(target=lambda: results.append(session.run(stop_event=stop)))
    runner.start()
    try:
        _loop_back(jack, n_outputs=2)
        playing = dolphin.play(scene.astype(np.float32), label="dolphin")

        def wait_for(scene_s: float) -> None:
            deadline = time.monotonic() + 30
            while (start := playing.frame_in(mic.clock)) is None or (
                mic.next_frame < start + scene_s * SR
            ):
                assert time.monotonic() < deadline and runner.is_alive(), "session stalled"
                time.sleep(0.01)

        wait_for(3.0)
        keys.push("3")  # emit "hump"
        wait_for(5.6)
    finally:
        stop.set()
        runner.join(30)
        sys.setswitchinterval(switch)
    (result,) = results
    assert result.stopped_by == "stop"
    accepted = [(d.label, round(d.start_s, 2)) for d in result.detections if d.accepted]
    assert [label for label, _ in accepted] == ["up", "down"], accepted
    (emission,) = result.emissions
    assert emission.label == "hump" and emission.trigger == "key"
    assert not any(d.start_s < emission.end_s + 0.1 and d.end_s > emission.start_s
                   for d in result.detections)  # fmt: skip
    # Where the whistle really is in the recording: cross-correlate with what was played.
    played, _ = emitter.prepare("hump")
    audio = read_audio(result.files[0].path).samples[0]
    a = emission.start_frame - 4 * PERIOD
    segment = audio[a : a + played.size + 8 * PERIOD]
    lag = int(np.argmax(np.correlate(segment, played, mode="valid"))) + a
    print(f"JACK loopback: delay {cal.delay_s * 1e3:.2f} ms, emission logged at frame "
          f"{emission.start_frame}, heard at {lag}; {result.stats.n_overruns} overrun(s)")  # fmt: skip
    assert abs(lag - emission.start_frame) <= PERIOD, (lag, emission.start_frame, cal)
    logged = read_events(result.events_path, events=["emission"])
    assert logged[0]["start_frame"] == emission.start_frame


def test_play_file_streams_a_recording_to_a_jack_output(jack, tmp_path):
    from dolphin.audio import write_audio
    from dolphin.chat.live import describe_devices, play_file

    assert "JACK" in describe_devices()
    x = 0.1 * np.random.default_rng(0).standard_normal((2, int(0.6 * SR)))
    path = write_audio(tmp_path / "x.wav", x.astype(np.float32), SR)
    t0 = time.monotonic()
    assert play_file(path, device="system", channel=1, block_s=0.1) == pytest.approx(0.6)
    assert 0.5 < time.monotonic() - t0 < 10
