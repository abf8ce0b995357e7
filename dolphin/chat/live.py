"""Field entry points: build and run a session, a plain recording, a file replay, a calibration.

``dolphin chat session`` / ``dolphin chat devices`` and the scripts in ``field_tools/`` only parse
their arguments and call these functions, which turn a :class:`~dolphin.chat.config.ChatConfig`
into devices, a matcher, an emitter, feedback and a view (:func:`build_session`), run the session
so that Ctrl-C and SIGTERM close it cleanly (:func:`run_session`), play a file into an output
(:func:`play_file`), measure the loopback (:func:`calibrate_loopback`) and list the devices
(:func:`describe_devices`).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO

import numpy as np

from dolphin.chat.calibrate import Calibration, CalibrationError, measure_loopback, rms_dbfs
from dolphin.chat.config import ChatConfig
from dolphin.chat.devices import DeviceError, list_devices, open_input, open_output, parse_device
from dolphin.chat.emitter import EMIT_KEYS, EmissionSchedule, Emitter
from dolphin.chat.feedback import build_feedback
from dolphin.chat.session import ChatSession, SessionResult
from dolphin.chat.sources import SimulatedInput
from dolphin.chat.view import KeyReader, TerminalView
from dolphin.chat.vocab import Vocabulary


def simulate_imitations(
    sim: SimulatedInput,
    vocab: Vocabulary,
    *,
    every_s: float,
    until_s: float,
    first_s: float = 2.0,
    level_dbfs: float = -30.0,
    seed: int = 0,
) -> list[tuple[float, str]]:
    """Schedule imperfect imitations of random entries on the simulator (a demo "dolphin").

    Returns
    -------
    list of (float, str)
        ``(start_s, label)`` of each imitation.
    """
    from dolphin.chat.mimics import imitate
    from dolphin.synth.sounds import render_whistle

    rng = np.random.default_rng(seed)
    plan, t = [], first_s
    while t < until_s:
        label = str(rng.choice(vocab.labels))
        x = render_whistle(imitate(vocab[label].contour, rng=rng), sample_rate=sim.sample_rate)
        if t + x.size / sim.sample_rate > until_s:
            break
        sim.add_sound(x, start_s=t, gain_db=level_dbfs - rms_dbfs(x), label=label)
        plan.append((round(t, 6), label))
        t += x.size / sim.sample_rate + every_s
    return plan


def build_session(
    cfg: ChatConfig,
    *,
    vocab: Vocabulary | None,
    replay: str | Path | None = None,
    simulate: bool = False,
    realtime: bool = True,
    match: bool = True,
    schedule: str | None = None,
    level_dbfs: float | None = None,
    calibration: str | Path | None = None,
    feedback: str | None = None,
    cue_output: str | None = None,
    view: bool = True,
    keys: bool = True,
    simulate_every_s: float | None = None,
    duration_s: float | None = None,
    stream: IO[str] | None = None,
) -> ChatSession:
    """A ready-to-run :class:`ChatSession` from the CHAT config and a few choices.

    Parameters
    ----------
    cfg : ChatConfig
        Devices (``input_device``, ``output_device``, ``input_channel``, ``cue_device``),
        ``sample_rate``, ``block_s``, ``max_queue_s``, ``session_dir``, ``rotate_s``,
        ``audio_format``, ``feedback``, ``emit_level_dbfs``, ``calibration``, ``mute_tail_s``,
        matcher. The keyword arguments below override the matching fields when given.
    vocab : Vocabulary, optional
        Entries to recognise and emit; None records only.
    replay : str or Path, optional
        Replay this file instead of the input device (its own sample rate).
    simulate : bool
        Use the simulator instead of the input device (emissions loop back into it).
    realtime : bool
        Replay / simulate at real-time pace (False: as fast as possible).
    match : bool
        Run the mimic matcher (False: plain recording, still with emissions if any).
    schedule : str, optional
        Emissions at stream times, ``"5=scarf,12.5=rope"``.
    level_dbfs : float, optional
        Emission level, RMS dB re full scale (at the hydrophone with a calibration);
        ``cfg.emit_level_dbfs`` by default.
    calibration : str or Path, optional
        Calibration JSON from ``field_tools/calibrate.py``; ``cfg.calibration`` by default.
    feedback : str, optional
        ``speech``, ``beep``, ``print`` or ``none``; ``cfg.feedback`` by default.
    cue_output : str, optional
        Output device for ``beep`` cues and ``speech`` (headphones, never the underwater
        speaker); ``cfg.cue_device`` by default; without one, the terminal bell (``beep``) or
        espeak's default output (``speech``).
    view : bool
        Show the live view (log lines when standard output is not a terminal).
    keys : bool
        Read key presses (1-9 emit, q quits) when standard input is a terminal.
    simulate_every_s : float, optional
        With ``simulate``: an imitation of a random entry every so many seconds.
    duration_s : float, optional
        Planned length (bounds the simulated imitations; :func:`run_session` takes it too).
    stream : file, optional
        Where the view and printed feedback write (standard output).

    Returns
    -------
    ChatSession
    """
    source = open_input(
        device=cfg.input_device or None,
        replay=str(replay) if replay is not None else None,
        simulate=simulate,
        channels=(cfg.input_channel,),
        sample_rate=cfg.sample_rate,
        block_s=cfg.block_s,
        realtime=realtime,
        max_queue_s=cfg.max_queue_s,
    )
    sr = source.sample_rate
    level_dbfs = cfg.emit_level_dbfs if level_dbfs is None else float(level_dbfs)
    calibration = calibration or cfg.calibration or None
    cue_output = cue_output or cfg.cue_device or None
    plan = []
    if simulate and vocab is not None and simulate_every_s:
        plan = simulate_imitations(
            source, vocab, every_s=simulate_every_s, until_s=duration_s or 3600.0
        )
    matcher = None
    if match and vocab is not None:
        from dolphin.chat.matcher import MimicMatcher

        matcher = MimicMatcher(vocab, cfg.matcher, sample_rate=sr)
    cal = Calibration.load(calibration) if calibration else None
    if cal is not None and cal.sample_rate != sr:
        raise CalibrationError(
            f"{calibration}: measured at {cal.sample_rate} Hz, the session runs at {sr} Hz"
        )
    outputs, emitter = [], None
    if vocab is not None:
        if replay is None and not simulate:  # live: "" is the system's default output
            from dolphin.chat.portaudio import SoundDeviceOutput

            output = SoundDeviceOutput(parse_device(cfg.output_device), sample_rate=sr)
        else:  # the simulator's loopback, or nowhere for a replay, unless a device is given
            output = open_output(cfg.output_device or None, input=source)
        outputs.append(output)
        emitter = Emitter(
            output,
            vocab.render(sr, peak=cfg.vocab.peak),
            input=source,
            level_dbfs=level_dbfs,
            calibration=cal,
            mute=matcher.mute if matcher is not None else None,
            mute_tail_s=cfg.mute_tail_s,
        )
    kind = feedback or cfg.feedback
    cue = None
    if kind in ("beep", "speech") and cue_output and matcher is not None:
        cue = open_output(cue_output, input=source)
        outputs.append(cue)
    labels = vocab.labels if vocab is not None else []
    say = build_feedback(kind, labels=labels, output=cue, stream=stream) if matcher else None
    key_map = {k: v for k, v in zip(EMIT_KEYS, labels, strict=False)}
    title = f"dolphin chat session: {source.name}" + (
        f" -> {outputs[0].name}" if outputs else " (recording only)"
    )
    return ChatSession(
        cfg.session_dir,
        source,
        matcher=matcher,
        emitter=emitter,
        outputs=outputs,
        feedback=say,
        view=TerminalView(stream, keys=key_map, title=title) if view else None,
        keys=KeyReader() if keys and sys.stdin.isatty() else None,
        schedule=EmissionSchedule.parse(schedule) if schedule else None,
        config={
            "chat": asdict(cfg),
            "replay": str(replay) if replay is not None else None,
            "simulate": simulate,
            "simulated_imitations": plan,
            "realtime": realtime,
            "schedule": schedule,
            "level_dbfs": level_dbfs,
            "calibration": asdict(cal) if cal is not None else None,
            "calibration_path": str(calibration) if calibration else None,
            "feedback": kind,
            "cue_output": cue_output,
            "vocabulary": vocab.to_dict() if vocab is not None else None,
        },
        rotate_s=cfg.rotate_s,
        audio_format=cfg.audio_format,
    )


#: GIL switch interval during sessions, seconds (Python's default is 5 ms): audio callbacks wait
#: at most this long for the main loop to let go of the interpreter.
REALTIME_SWITCH_INTERVAL_S = 0.0005


def run_session(session: ChatSession, *, duration_s: float | None = None) -> SessionResult:
    """Run a session; SIGTERM and Ctrl-C stop it cleanly (files closed, ``session_stop`` logged).

    The interpreter's switch interval is lowered to :data:`REALTIME_SWITCH_INTERVAL_S` meanwhile,
    so that PortAudio callbacks (JACK's in particular, which must answer within one period) are
    not kept waiting by the main loop.
    """
    stop = threading.Event()
    switch = sys.getswitchinterval()
    sys.setswitchinterval(REALTIME_SWITCH_INTERVAL_S)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    if session.keys is not None:
        session.keys.start()
    try:
        return session.run(duration_s=duration_s, stop_event=stop)
    finally:
        if session.keys is not None:
            session.keys.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        sys.setswitchinterval(switch)


def play_file(
    path: str | Path,
    *,
    device: str | int | None = None,
    channel: int = 0,
    out_channel: int = 0,
    gain_db: float = 0.0,
    block_s: float = 0.25,
) -> float:
    """Play one channel of an audio file on an output device; returns the seconds played.

    Blocks are queued about one second ahead, so files of any length stream from disk.
    """
    from dolphin.audio.stream import BlockReader
    from dolphin.chat.portaudio import SoundDeviceOutput

    with BlockReader(path, block_frames=1, channels=channel) as probe:
        sr = probe.sample_rate
    out = SoundDeviceOutput(parse_device(device), channels=(out_channel,), sample_rate=sr)
    gain = 10.0 ** (gain_db / 20.0)
    played, pending = 0, []
    out.start()
    try:
        with BlockReader(path, block_frames=int(block_s * sr), channels=channel) as reader:
            for block in reader:
                while sum(not p.done.is_set() for p in pending) * block_s > 1.0:
                    time.sleep(block_s / 4)
                pending = [p for p in pending if not p.done.is_set()]
                x = np.clip(block.samples[0] * gain, -1.0, 1.0)
                pending.append(out.play(x, label=Path(path).name))
                played += block.n_frames
        for p in pending:
            p.done.wait()
        time.sleep(out.latency_s)
    finally:
        out.stop()
    return played / sr


def calibrate_loopback(
    cfg: ChatConfig,
    path: str | Path,
    *,
    tone_hz: float = 10000.0,
    level_dbfs: float = -20.0,
    duration_s: float = 1.0,
) -> Calibration:
    """Measure the output -> input loopback of ``cfg``'s devices and save it to ``path``."""
    from dolphin.chat.portaudio import SoundDeviceOutput

    source = open_input(
        device=cfg.input_device or None,
        channels=(cfg.input_channel,),
        sample_rate=cfg.sample_rate,
        block_s=cfg.block_s,
    )
    output = SoundDeviceOutput(parse_device(cfg.output_device), sample_rate=cfg.sample_rate)
    source.start()
    try:
        output.start()
        try:
            cal = measure_loopback(
                source, output, tone_hz=tone_hz, level_dbfs=level_dbfs, duration_s=duration_s
            )
        finally:
            output.stop()
    finally:
        source.stop()
    cal.save(path)
    return cal


def describe_devices() -> str:
    """A table of the PortAudio devices (``<`` default input, ``>`` default output)."""
    try:
        devices = list_devices()
    except DeviceError as err:
        return f"no audio devices: {err}"
    if not devices:
        return "PortAudio finds no audio device (no sound card, no JACK server running)"
    return "\n".join(d.line() for d in devices)
